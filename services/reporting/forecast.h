/* forecast.h — demand forecasting on a history of daily counts, and the
 * error measures that say how far to trust it. Pure arithmetic: no Redis,
 * no JSON, no allocation the caller must free (plan.c feeds it and prints).
 *
 * The model is an ordinary least-squares fit of
 *     count(day) = level + trend * years + weekday effect
 *                  + sum_k (a_k sin(2 pi k day / 365.25) + b_k cos(...))
 * with one effect for each weekday but Monday (Monday is the level) and
 * yearly Fourier terms only when the history is longer than a year (a
 * shorter one cannot tell a season from a trend): 2 pairs, FORECAST_HARMONICS
 * with two years or more. A prediction is never negative: counts are not.
 *
 * A second, simpler model is the recent level: each weekday's mean over the
 * last FORECAST_RECENT_DAYS days, flat ahead. A history whose level moved
 * lately (a team that shrank, an export cut short) is often better served
 * by it; forecast_backtest scores both on the same held-out weeks and says
 * which was nearer, and plan.c forecasts with that one.
 *
 * Days are UTC day numbers, days since 1970-01-01 (a Thursday); weeks start
 * on Monday. A series is COUNTS[0..DAYS) for the days FIRST_DAY onwards,
 * with every day present (a day without data is a 0). */
#ifndef LEADOPS_FORECAST_H
#define LEADOPS_FORECAST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Fewer days than this cannot separate a weekday effect from noise. */
#define FORECAST_MIN_DAYS  28
#define FORECAST_HARMONICS 3 /* yearly Fourier pairs, with two years or more */
#define FORECAST_PARAM_MAX (2 + 6 + 2 * FORECAST_HARMONICS)
/* A back-test holds out at most this many weeks. */
#define FORECAST_BACKTEST_MAX 26

#define FORECAST_RECENT_DAYS 28

typedef enum {
    FORECAST_SEASONAL = 0, /* level, trend, weekdays, yearly season: the least-squares fit */
    FORECAST_RECENT,       /* each weekday's mean over the last FORECAST_RECENT_DAYS */
} forecast_kind_t;

typedef struct {
    forecast_kind_t kind;
    double recent[7];  /* FORECAST_RECENT: the mean count of each weekday (Monday first) */
    int64_t first_day; /* of the fitted history */
    size_t days;       /* fitted */
    int harmonics;     /* yearly Fourier pairs used: 0 for a year of history or less */
    size_t param_count;
    double coef[FORECAST_PARAM_MAX]; /* level, trend per year, Tue..Sun, sin/cos pairs */
} forecast_model_t;

/* The weekday of DAY, 0 = Monday .. 6 = Sunday. */
int forecast_weekday(int64_t day);

/* The Monday on or before DAY. */
int64_t forecast_week_start(int64_t day);

/* Fits the seasonal model to COUNTS[0..DAYS) starting at FIRST_DAY.
 * Returns 0, or -1 with ERR_INPUT when DAYS < FORECAST_MIN_DAYS or a count
 * is not a finite number >= 0. */
int forecast_fit(const double *counts, size_t days, int64_t first_day, forecast_model_t *model,
                 err_t *err);

/* Fits a model of KIND (forecast_fit for FORECAST_SEASONAL); same errors. */
int forecast_fit_kind(const double *counts, size_t days, int64_t first_day, forecast_kind_t kind,
                      forecast_model_t *model, err_t *err);

/* "trend and seasons" or "recent level". */
const char *forecast_kind_name(forecast_kind_t kind);

/* The predicted count of DAY (any day, past or future), at least 0. */
double forecast_day(const forecast_model_t *model, int64_t day);

/* The predicted count of the 7 days from MONDAY. */
double forecast_week(const forecast_model_t *model, int64_t monday);

/* Mean absolute percentage error of PREDICTED against ACTUAL over COUNT
 * pairs, as a fraction (0.1 is 10%). A pair whose actual is 0 has no
 * percentage error and is skipped; *USED (may be NULL) gets the pairs
 * counted. Returns NAN when none is. */
double forecast_mape(const double *actual, const double *predicted, size_t count, size_t *used);

/* A back-test: the model refitted without the last weeks of the history
 * and scored on them. */
typedef struct {
    forecast_kind_t kind; /* the model nearer the held-out weeks (lower MAPE); the figures
                             below are its; a tie or no MAPE keeps the seasonal one */
    double mape_seasonal, mape_recent; /* both models' MAPE (NAN when none) */
    int weeks;                         /* held out */
    int64_t first;                     /* Monday of the first held-out week */
    size_t used;                       /* weeks the MAPE counts: those with an actual above 0 */
    double mape;                       /* of the weekly totals, a fraction; NAN when used == 0 */
    double actual[FORECAST_BACKTEST_MAX];
    double predicted[FORECAST_BACKTEST_MAX];
} forecast_backtest_t;

/* Holds out the last WEEKS whole weeks (Monday to Sunday) that end within
 * the history, fits on the days before them and predicts each. When the
 * history is too short to keep FORECAST_MIN_DAYS for the fit, fewer weeks
 * are held out (out->weeks says how many). Returns 0, or -1 with ERR_INPUT
 * when not even one week can be (or WEEKS is outside 1..FORECAST_BACKTEST_MAX). */
int forecast_backtest(const double *counts, size_t days, int64_t first_day, int weeks,
                      forecast_backtest_t *out, err_t *err);

#endif
