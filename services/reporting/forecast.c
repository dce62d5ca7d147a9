/* forecast.c — least-squares demand forecasts and their errors; see forecast.h. */
#include "forecast.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define YEAR_DAYS 365.25

int forecast_weekday(int64_t day)
{
    /* Day 0, 1970-01-01, was a Thursday (3 with Monday 0). */
    int64_t weekday = (day + 3) % 7;
    return (int)(weekday < 0 ? weekday + 7 : weekday);
}

int64_t forecast_week_start(int64_t day)
{
    return day - forecast_weekday(day);
}

/* The model's regressors for DAY into ROW (PARAM_COUNT of them). The trend
 * runs in years from the first fitted day so that its coefficient reads as
 * "per year" and the normal equations stay well scaled. */
static void s_row(const forecast_model_t *model, int64_t day, double *row)
{
    size_t n = 0;
    row[n++] = 1;
    row[n++] = (double)(day - model->first_day) / YEAR_DAYS;
    int weekday = forecast_weekday(day);
    for (int d = 1; d < 7; d++)
        row[n++] = weekday == d ? 1 : 0;
    for (int k = 1; k <= model->harmonics; k++) {
        /* The phase runs on the absolute day, so a season means the same
         * dates whatever the history's first day. */
        double angle = 2 * M_PI * k * (double)day / YEAR_DAYS;
        row[n++] = sin(angle);
        row[n++] = cos(angle);
    }
}

/* Solves A x = B for the N x N system in place (Gaussian elimination with
 * partial pivoting). A pivot that vanishes (a regressor the data cannot
 * tell from the others) gets a 0 coefficient rather than a wild one. */
static void s_solve(double a[FORECAST_PARAM_MAX][FORECAST_PARAM_MAX], double *b, size_t n,
                    double *x)
{
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(a[i][i]));
    double tiny = scale * 1e-12;
    bool dead[FORECAST_PARAM_MAX] = {0};
    for (size_t col = 0; col < n; col++) {
        size_t pivot = col;
        for (size_t r = col + 1; r < n; r++)
            if (fabs(a[r][col]) > fabs(a[pivot][col]))
                pivot = r;
        if (fabs(a[pivot][col]) <= tiny) {
            dead[col] = true;
            continue;
        }
        if (pivot != col) {
            for (size_t c = 0; c < n; c++) {
                double swap = a[col][c];
                a[col][c] = a[pivot][c];
                a[pivot][c] = swap;
            }
            double swap = b[col];
            b[col] = b[pivot];
            b[pivot] = swap;
        }
        for (size_t r = col + 1; r < n; r++) {
            double factor = a[r][col] / a[col][col];
            if (factor == 0)
                continue;
            for (size_t c = col; c < n; c++)
                a[r][c] -= factor * a[col][c];
            b[r] -= factor * b[col];
        }
    }
    for (size_t i = n; i-- > 0;) {
        if (dead[i]) {
            x[i] = 0;
            continue;
        }
        double sum = b[i];
        for (size_t c = i + 1; c < n; c++)
            sum -= a[i][c] * x[c];
        x[i] = sum / a[i][i];
    }
}

int forecast_fit(const double *counts, size_t days, int64_t first_day, forecast_model_t *model,
                 err_t *err)
{
    if (days < FORECAST_MIN_DAYS)
        return err_set(err, ERR_INPUT, "%zu days of history; a forecast needs at least %d", days,
                       FORECAST_MIN_DAYS);
    for (size_t i = 0; i < days; i++)
        if (!isfinite(counts[i]) || counts[i] < 0)
            return err_set(err, ERR_INPUT, "day %zu: count %g is not a number >= 0", i, counts[i]);
    memset(model, 0, sizeof *model);
    model->first_day = first_day;
    model->days = days;
    model->harmonics = days >= 730 ? FORECAST_HARMONICS : days > 365 ? 2 : 0;
    model->param_count = 8 + 2 * (size_t)model->harmonics;

    size_t n = model->param_count;
    double normal[FORECAST_PARAM_MAX][FORECAST_PARAM_MAX] = {{0}};
    double rhs[FORECAST_PARAM_MAX] = {0}, row[FORECAST_PARAM_MAX];
    for (size_t i = 0; i < days; i++) {
        s_row(model, first_day + (int64_t)i, row);
        for (size_t r = 0; r < n; r++) {
            rhs[r] += row[r] * counts[i];
            for (size_t c = 0; c < n; c++)
                normal[r][c] += row[r] * row[c];
        }
    }
    s_solve(normal, rhs, n, model->coef);
    return 0;
}

int forecast_fit_kind(const double *counts, size_t days, int64_t first_day, forecast_kind_t kind,
                      forecast_model_t *model, err_t *err)
{
    if (forecast_fit(counts, days, first_day, model, err) != 0)
        return -1;
    model->kind = kind;
    if (kind == FORECAST_RECENT) {
        double sum[7] = {0}, n[7] = {0};
        size_t from = days > FORECAST_RECENT_DAYS ? days - FORECAST_RECENT_DAYS : 0;
        for (size_t i = from; i < days; i++) {
            int weekday = forecast_weekday(first_day + (int64_t)i);
            sum[weekday] += counts[i];
            n[weekday]++;
        }
        for (int d = 0; d < 7; d++)
            model->recent[d] = n[d] > 0 ? sum[d] / n[d] : 0;
    }
    return 0;
}

const char *forecast_kind_name(forecast_kind_t kind)
{
    return kind == FORECAST_RECENT ? "recent level" : "trend and seasons";
}

double forecast_day(const forecast_model_t *model, int64_t day)
{
    if (model->kind == FORECAST_RECENT)
        return model->recent[forecast_weekday(day)];
    double row[FORECAST_PARAM_MAX], sum = 0;
    s_row(model, day, row);
    for (size_t i = 0; i < model->param_count; i++)
        sum += model->coef[i] * row[i];
    return sum > 0 ? sum : 0;
}

double forecast_week(const forecast_model_t *model, int64_t monday)
{
    double sum = 0;
    for (int d = 0; d < 7; d++)
        sum += forecast_day(model, monday + d);
    return sum;
}

double forecast_mape(const double *actual, const double *predicted, size_t count, size_t *used)
{
    double sum = 0;
    size_t counted = 0;
    for (size_t i = 0; i < count; i++) {
        if (!(actual[i] > 0))
            continue;
        sum += fabs(actual[i] - predicted[i]) / actual[i];
        counted++;
    }
    if (used)
        *used = counted;
    return counted ? sum / (double)counted : NAN;
}

int forecast_backtest(const double *counts, size_t days, int64_t first_day, int weeks,
                      forecast_backtest_t *out, err_t *err)
{
    if (weeks < 1 || weeks > FORECAST_BACKTEST_MAX)
        return err_set(err, ERR_INPUT, "a back-test holds out 1 to %d weeks, not %d",
                       FORECAST_BACKTEST_MAX, weeks);
    memset(out, 0, sizeof *out);
    out->mape = NAN;
    /* Whole weeks only: the held-out weeks end on the last Sunday within
     * the history, so a week is never compared half-observed. */
    int64_t end = forecast_week_start(first_day + (int64_t)days);
    int64_t fit_days = end - 7 * (int64_t)weeks - first_day;
    while (weeks > 0 && fit_days < FORECAST_MIN_DAYS) {
        weeks--;
        fit_days += 7;
    }
    if (weeks == 0)
        return err_set(err, ERR_INPUT,
                       "%zu days of history: too short to hold out a week and still fit on %d",
                       days, FORECAST_MIN_DAYS);
    out->weeks = weeks;
    out->first = first_day + fit_days;
    for (int w = 0; w < weeks; w++)
        for (int d = 0; d < 7; d++)
            out->actual[w] += counts[out->first + 7 * w + d - first_day];
    /* Both models on the same weeks; the nearer one is kept. */
    double predicted[2][FORECAST_BACKTEST_MAX] = {{0}}, mape[2];
    size_t used[2];
    for (int kind = 0; kind < 2; kind++) {
        forecast_model_t model;
        if (forecast_fit_kind(counts, (size_t)fit_days, first_day, (forecast_kind_t)kind, &model,
                              err) != 0)
            return -1;
        for (int w = 0; w < weeks; w++)
            predicted[kind][w] = forecast_week(&model, out->first + 7 * w);
        mape[kind] = forecast_mape(out->actual, predicted[kind], (size_t)weeks, &used[kind]);
    }
    out->mape_seasonal = mape[FORECAST_SEASONAL];
    out->mape_recent = mape[FORECAST_RECENT];
    out->kind =
        isfinite(mape[FORECAST_RECENT]) && !(mape[FORECAST_RECENT] >= mape[FORECAST_SEASONAL])
            ? FORECAST_RECENT
            : FORECAST_SEASONAL;
    memcpy(out->predicted, predicted[out->kind], sizeof out->predicted);
    out->mape = forecast_mape(out->actual, out->predicted, (size_t)weeks, &out->used);
    return 0;
}
