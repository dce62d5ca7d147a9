/* forecast: the least-squares demand model recovers series whose trend,
 * weekday pattern and yearly season are known, never predicts below 0, and
 * its error measures give the answers worked out by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "forecast.h"

/* cmocka's assert_float_equal compares floats; these are doubles. */
#define assert_near(actual, expected, tolerance)                                                   \
    s_assert_near((actual), (expected), (tolerance), #actual, __FILE__, __LINE__)

static void s_assert_near(double actual, double expected, double tolerance, const char *what,
                          const char *file, int line)
{
    if (!(fabs(actual - expected) <= tolerance))
        fail_msg("%s:%d: %s = %.12g, expected %.12g (within %g)", file, line, what, actual,
                 expected, tolerance);
}

/* 2024-01-01, a Monday, as a UTC day number. */
#define MON_2024_01_01 19723

/* A weekday pattern that sums to 0, Monday first: the level is the mean. */
static const double s_pattern[7] = {6, 4, 2, 0, -1, -5, -6};

static double s_truth(int64_t i)
{
    return 20 + 0.1 * (double)i + s_pattern[forecast_weekday(MON_2024_01_01 + i)];
}

static void test_weekdays(void **state)
{
    (void)state;
    assert_int_equal(forecast_weekday(0), 3); /* 1970-01-01, a Thursday */
    assert_int_equal(forecast_weekday(-1), 2);
    assert_int_equal(forecast_weekday(MON_2024_01_01), 0);
    assert_int_equal(forecast_weekday(MON_2024_01_01 + 6), 6);
    assert_int_equal(forecast_week_start(MON_2024_01_01 + 6), MON_2024_01_01);
    assert_int_equal(forecast_week_start(MON_2024_01_01 + 7), MON_2024_01_01 + 7);
    assert_int_equal(forecast_week_start(0), -3);
}

/* 20 weeks of 20 + 0.1 per day + the weekday pattern, no noise: the fit is exact. */
static void test_trend_and_week_recovered(void **state)
{
    (void)state;
    double counts[140];
    for (int i = 0; i < 140; i++)
        counts[i] = s_truth(i);
    forecast_model_t model;
    err_t err = {0};
    assert_int_equal(forecast_fit(counts, 140, MON_2024_01_01, &model, &err), 0);
    assert_int_equal(model.harmonics, 0);
    assert_near(model.coef[0], 20 + 6, 1e-9);       /* Monday's level */
    assert_near(model.coef[1], 0.1 * 365.25, 1e-7); /* trend per year */
    assert_near(model.coef[2], 4 - 6, 1e-9);        /* Tuesday against Monday */
    assert_near(model.coef[7], -6 - 6, 1e-9);       /* Sunday against Monday */
    for (int i = 140; i < 140 + 56; i++)
        assert_near(forecast_day(&model, MON_2024_01_01 + i), s_truth(i), 1e-7);
    /* The week after the history: 7 x 20 + 0.1 x (140 + ... + 146) = 140 + 100.1. */
    assert_near(forecast_week(&model, MON_2024_01_01 + 140), 240.1, 1e-6);
}

/* The same series with noise of +-3 around it: the forecast stays close. */
static void test_noisy_series_close(void **state)
{
    (void)state;
    double counts[280];
    unsigned seed = 12345;
    for (int i = 0; i < 280; i++) {
        seed = seed * 1103515245u + 12345u;
        double noise = ((double)((seed >> 16) % 601) / 100.0) - 3.0;
        counts[i] = fmax(0, s_truth(i) + noise);
    }
    forecast_model_t model;
    assert_int_equal(forecast_fit(counts, 280, MON_2024_01_01, &model, NULL), 0);
    for (int w = 0; w < 8; w++) {
        int64_t first = 280 + 7 * w;
        double want = 0;
        for (int d = 0; d < 7; d++)
            want += s_truth(first + d);
        double got = forecast_week(&model, MON_2024_01_01 + first);
        if (fabs(got - want) > 0.03 * want)
            fail_msg("week %d: forecast %.2f, truth %.2f", w, got, want);
    }
}

/* Three years with a yearly season of amplitude 10: recovered a year ahead. */
static void test_yearly_season_recovered(void **state)
{
    (void)state;
    enum { DAYS = 3 * 365 + 1 };
    static double counts[DAYS];
    for (int i = 0; i < DAYS; i++) {
        int64_t day = MON_2024_01_01 + i;
        counts[i] =
            50 + 10 * sin(2 * M_PI * (double)day / 365.25) + s_pattern[forecast_weekday(day)];
    }
    forecast_model_t model;
    assert_int_equal(forecast_fit(counts, DAYS, MON_2024_01_01, &model, NULL), 0);
    assert_int_equal(model.harmonics, FORECAST_HARMONICS);
    for (int i = DAYS; i < DAYS + 365; i += 5) {
        int64_t day = MON_2024_01_01 + i;
        double want =
            50 + 10 * sin(2 * M_PI * (double)day / 365.25) + s_pattern[forecast_weekday(day)];
        assert_near(forecast_day(&model, day), want, 1e-6);
    }
    /* A year and a bit has the season with fewer harmonics; a year or less none. */
    assert_int_equal(forecast_fit(counts, 400, MON_2024_01_01, &model, NULL), 0);
    assert_int_equal(model.harmonics, 2);
    assert_int_equal(forecast_fit(counts, 365, MON_2024_01_01, &model, NULL), 0);
    assert_int_equal(model.harmonics, 0);
}

/* A falling series is not extrapolated below zero. */
static void test_never_negative(void **state)
{
    (void)state;
    double counts[42];
    for (int i = 0; i < 42; i++)
        counts[i] = 84 - 2 * i;
    forecast_model_t model;
    assert_int_equal(forecast_fit(counts, 42, MON_2024_01_01, &model, NULL), 0);
    assert_near(forecast_day(&model, MON_2024_01_01 + 41), 2, 1e-9);
    assert_near(forecast_day(&model, MON_2024_01_01 + 42), 0, 1e-9); /* 0, not -0 */
    assert_near(forecast_day(&model, MON_2024_01_01 + 100), 0, 0);
    assert_near(forecast_week(&model, MON_2024_01_01 + 70), 0, 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    double counts[40] = {0};
    forecast_model_t model;
    err_t err = {0};
    assert_int_equal(forecast_fit(counts, FORECAST_MIN_DAYS - 1, 0, &model, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    counts[5] = -1;
    assert_int_equal(forecast_fit(counts, 40, 0, &model, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    counts[5] = NAN;
    assert_int_equal(forecast_fit(counts, 40, 0, &model, &err), -1);
    /* All zero is a valid history: it forecasts zero. */
    counts[5] = 0;
    assert_int_equal(forecast_fit(counts, 40, 0, &model, &err), 0);
    assert_near(forecast_week(&model, 50), 0, 0);
}

static void test_mape(void **state)
{
    (void)state;
    double actual[] = {100, 200, 0, 50};
    size_t used = 99;
    assert_near(forecast_mape(actual, actual, 4, &used), 0, 0);
    assert_int_equal(used, 3); /* the week with no actual is skipped */
    double predicted[] = {110, 180, 7, 50};
    /* (10/100 + 20/200 + 0/50) / 3 */
    assert_near(forecast_mape(actual, predicted, 4, &used), 0.2 / 3, 1e-12);
    assert_int_equal(used, 3);
    double zeros[] = {0, 0};
    assert_true(isnan(forecast_mape(zeros, predicted, 2, &used)));
    assert_int_equal(used, 0);
    assert_true(isnan(forecast_mape(actual, predicted, 0, NULL)));
}

static void test_backtest(void **state)
{
    (void)state;
    double counts[143];
    for (int i = 0; i < 143; i++)
        counts[i] = s_truth(i);
    forecast_backtest_t test;
    err_t err = {0};
    /* 143 days end on a Wednesday: the held-out weeks end on the Sunday before. */
    assert_int_equal(forecast_backtest(counts, 143, MON_2024_01_01, 8, &test, &err), 0);
    assert_int_equal(test.weeks, 8);
    assert_int_equal(test.first, MON_2024_01_01 + 140 - 56);
    assert_int_equal(test.used, 8);
    assert_near(test.mape, 0, 1e-9); /* an exact model forecasts perfectly */
    assert_near(test.actual[7], 7 * 20 + 0.1 * (133 + 134 + 135 + 136 + 137 + 138 + 139), 1e-9);

    /* A history that is not linear: a level that jumps up by 7 a day after
     * the held-out weeks start is missed by exactly that. */
    for (int i = 84; i < 143; i++)
        counts[i] += 7;
    assert_int_equal(forecast_backtest(counts, 143, MON_2024_01_01, 8, &test, &err), 0);
    double want = 0;
    for (int w = 0; w < 8; w++)
        want += 49 / test.actual[w];
    assert_near(test.mape, want / 8, 1e-9);

    /* 35 days: only one week can be held out with 28 left to fit. */
    assert_int_equal(forecast_backtest(counts, 35, MON_2024_01_01, 8, &test, &err), 0);
    assert_int_equal(test.weeks, 1);
    assert_int_equal(test.first, MON_2024_01_01 + 28);
    assert_int_equal(forecast_backtest(counts, 30, MON_2024_01_01, 8, &test, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    assert_int_equal(forecast_backtest(counts, 143, MON_2024_01_01, 0, &test, &err), -1);

    /* Held-out weeks without any actual are skipped, and none left is NAN. */
    double quiet[70] = {0};
    for (int i = 0; i < 42; i++)
        quiet[i] = 3;
    assert_int_equal(forecast_backtest(quiet, 70, MON_2024_01_01, 4, &test, &err), 0);
    assert_int_equal(test.weeks, 4);
    assert_int_equal(test.used, 0);
    assert_true(isnan(test.mape));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weekdays),
        cmocka_unit_test(test_trend_and_week_recovered),
        cmocka_unit_test(test_noisy_series_close),
        cmocka_unit_test(test_yearly_season_recovered),
        cmocka_unit_test(test_never_negative),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_mape),
        cmocka_unit_test(test_backtest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
