/* plan.h — sales-ops planning: demand per queue against the reps' capacity,
 * the gap and what closes it, and won revenue forecast from the open
 * pipeline against what was won. The numbers come from the KPI day hashes
 * and the deal stream in Redis (common/keys.h) and the reps of the config;
 * the arithmetic of the forecast is forecast.h's.
 *
 * Demand: per queue, the qualified leads first placed in it per day
 * ("queue:<q>|leads"). A queue without any is planned on the opportunities
 * of its reps instead (a CRM history has opportunities, not routed leads),
 * each rep's split evenly over the queues it works. Opportunities are the
 * opportunity_created activities; when closed deals that carry their open
 * date outnumber them, the history is a CRM snapshot (each opportunity
 * exported once, in its latest stage) and the closed deals count too, on
 * the day they opened. The history is the latest stretch of days without a
 * gap of more than PLAN_GAP_DAYS (days apart from it, such as untimed rows
 * imported today, are left out and named), without a day not yet over.
 * Forecast weeks are whole weeks from the Monday on or after its end.
 *
 * Supply: per rep and week, min(daily_cap x working days, weekly_cap x the
 * share of its usual working days it works that week); working days are
 * the local days with working hours left after out-of-office periods (the
 * rep's time zone, common/calendar.h). A rep working several queues gives
 * each an equal share. A rep with neither cap makes its queues' supply
 * unbounded (null).
 *
 * Revenue, per calendar month (UTC): the open pipeline at the month's start
 * x the share of the open pipeline that closed in a month x the win rate x
 * the average won deal, each learnt from the months before it; its MAPE
 * against the won value of the months that had two before them. */
#ifndef LEADOPS_PLAN_H
#define LEADOPS_PLAN_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "forecast.h" /* FORECAST_BACKTEST_MAX bounds plan_opts_t.backtest_weeks */
#include "store.h"

#define PLAN_WEEKS_DEFAULT 8
#define PLAN_WEEKS_MAX     26
#define PLAN_GAP_DAYS      56

typedef struct {
    int weeks;          /* forecast weeks, 1..PLAN_WEEKS_MAX */
    int backtest_weeks; /* weeks held out to measure the error, 1..FORECAST_BACKTEST_MAX */
    int64_t now_ms;     /* the clock: today is not over, so not history */
} plan_opts_t;

/* The plan as JSON (the caller owns it): {weeks, history: {first_day,
 * last_day, days, left_out: [...]}, opportunities: {source, created,
 * closed_with_open_date}, notes: [...], queues: [{queue, series, series_note,
 * reps, history_total, model: {harmonics, days} | null, backtest: {weeks,
 * first_week, used, skipped, mape, actual, predicted} | null, weekly:
 * [{week, forecast, capacity, gap}], advice: {...}}], revenue: {...}}.
 * Returns NULL with *err: ERR_INPUT (bad OPTS), ERR_IO (Redis). */
json_t *plan_view(store_t *store, const config_t *cfg, const plan_opts_t *opts, err_t *err);

#endif
