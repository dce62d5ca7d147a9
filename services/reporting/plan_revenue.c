/* plan_revenue.c — the plan's revenue against the pipeline; see plan.h. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast.h"
#include "plan_internal.h"

/* Figures rounded for people: two decimals say all a plan can. */
json_t *plan_real(double value)
{
    return isfinite(value) ? json_real(round(value * 100) / 100) : json_null();
}

/* Fractions (rates, errors) keep two more digits: 0.1234 prints as 12.34%. */
json_t *plan_ratio(double value)
{
    return isfinite(value) ? json_real(round(value * 10000) / 10000) : json_null();
}

/* ---- revenue ----------------------------------------------------------- */

/* Opportunities created before day DAY (H's totals are in day order). */
static double s_created_before(const plan_history_t *h, int64_t day)
{
    double sum = 0;
    for (size_t i = 0; i < h->total_count && h->totals[i].day < day; i++)
        sum += h->totals[i].created;
    return sum;
}

/* Open opportunities at the start of day DAY. */
static double s_open_at(const plan_history_t *h, int64_t day)
{
    double created = s_created_before(h, day), open = 0, closed = 0;
    int64_t at = day * DAY_MS;
    for (size_t i = 0; i < h->deal_count; i++) {
        const commission_deal_t *deal = &h->deals[i];
        if (deal->at_ms < at)
            closed++;
        else if (deal->opened_at_ms > 0 && deal->opened_at_ms < at)
            open++;
    }
    return h->snapshot ? created + open : fmax(0, created - closed);
}

typedef struct {
    double won, lost, won_value;
} s_tally_t;

static int s_product_cmp(const void *a, const void *b)
{
    double x = json_number_value(json_object_get(*(json_t *const *)a, "won_value"));
    double y = json_number_value(json_object_get(*(json_t *const *)b, "won_value"));
    return x > y ? -1 : x < y;
}

/* Win rate and average won deal per product, from every closed deal. */
static json_t *s_products(const plan_history_t *h)
{
    json_t *seen = json_object();
    for (size_t i = 0; i < h->deal_count; i++) {
        const commission_deal_t *deal = &h->deals[i];
        const char *name = *deal->product ? deal->product : "(none)";
        json_t *tally = json_object_get(seen, name);
        if (!tally) {
            tally = json_pack("{s:s, s:f, s:f, s:f}", "product", name, "won", 0.0, "lost", 0.0,
                              "won_value", 0.0);
            json_object_set_new(seen, name, tally);
        }
        const char *field = deal->won ? "won" : "lost";
        json_object_set_new(tally, field,
                            json_real(json_number_value(json_object_get(tally, field)) + 1));
        if (deal->won)
            json_object_set_new(
                tally, "won_value",
                json_real(json_number_value(json_object_get(tally, "won_value")) + deal->value));
    }
    size_t count = json_object_size(seen), n = 0;
    json_t **items = calloc(count ? count : 1, sizeof *items);
    const char *name;
    json_t *tally;
    json_object_foreach(seen, name, tally)
    {
        double won = json_number_value(json_object_get(tally, "won"));
        double lost = json_number_value(json_object_get(tally, "lost"));
        double value = json_number_value(json_object_get(tally, "won_value"));
        json_object_set_new(tally, "win_rate",
                            plan_ratio(won + lost > 0 ? won / (won + lost) : NAN));
        json_object_set_new(tally, "avg_won_value", plan_real(won > 0 ? value / won : NAN));
        json_object_set_new(tally, "won", json_integer((json_int_t)won));
        json_object_set_new(tally, "lost", json_integer((json_int_t)lost));
        json_object_set_new(tally, "won_value", plan_real(value));
        if (items)
            items[n++] = json_incref(tally);
    }
    qsort(items, n, sizeof *items, s_product_cmp);
    json_t *products = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(products, items[i]);
    free(items);
    json_decref(seen);
    return products;
}

static json_t *s_month_label(int64_t start_ms)
{
    char label[16];
    commission_period_label("month", start_ms, label);
    return json_string(label);
}

json_t *plan_revenue(const plan_history_t *h)
{
    json_t *out = json_object();
    int64_t first_ms = INT64_MAX, end_ms = h->end * DAY_MS;
    for (size_t i = 0; i < h->deal_count; i++)
        if (h->deals[i].at_ms < first_ms)
            first_ms = h->deals[i].at_ms;
    s_tally_t all = {0};
    for (size_t i = 0; i < h->deal_count; i++) {
        if (h->deals[i].won) {
            all.won++;
            all.won_value += h->deals[i].value;
        } else {
            all.lost++;
        }
    }
    json_object_set_new(out, "won", json_integer((json_int_t)all.won));
    json_object_set_new(out, "lost", json_integer((json_int_t)all.lost));
    json_object_set_new(out, "win_rate",
                        plan_ratio(all.won + all.lost > 0 ? all.won / (all.won + all.lost) : NAN));
    json_object_set_new(out, "avg_won_value",
                        plan_real(all.won > 0 ? all.won_value / all.won : NAN));
    json_object_set_new(out, "products", s_products(h));
    json_object_set_new(out, "weighting",
                        json_string("open opportunities carry no product or stage in the KPIs: "
                                    "the pipeline is weighted by the overall win rate and "
                                    "average won deal"));

    /* Month by month: what the months before each predicted for it. */
    json_t *months = json_array();
    double actual[512], predicted[512];
    size_t scored = 0;
    s_tally_t before = {0};
    double closed_before = 0, open_before = 0;
    size_t months_before = 0;
    for (int64_t start = first_ms == INT64_MAX ? end_ms
                                               : commission_period_start("month", first_ms);
         start < end_ms; start = commission_period_next("month", start)) {
        int64_t stop = commission_period_next("month", start);
        double open = s_open_at(h, start / DAY_MS);
        s_tally_t month = {0};
        for (size_t i = 0; i < h->deal_count; i++) {
            const commission_deal_t *deal = &h->deals[i];
            if (deal->at_ms < start || deal->at_ms >= stop)
                continue;
            if (deal->won) {
                month.won++;
                month.won_value += deal->value;
            } else {
                month.lost++;
            }
        }
        bool partial = stop > end_ms;
        double close_rate = open_before > 0 ? closed_before / open_before : NAN;
        double win_rate =
            before.won + before.lost > 0 ? before.won / (before.won + before.lost) : NAN;
        double avg_won = before.won > 0 ? before.won_value / before.won : NAN;
        double forecast = months_before >= 2 ? open * close_rate * win_rate * avg_won : NAN;
        json_t *item = json_object();
        json_object_set_new(item, "month", s_month_label(start));
        json_object_set_new(item, "open_at_start", plan_real(open));
        json_object_set_new(item, "weighted_pipeline", plan_real(open * win_rate * avg_won));
        json_object_set_new(item, "forecast", plan_real(forecast));
        json_object_set_new(item, "actual", plan_real(month.won_value));
        json_object_set_new(item, "won", json_integer((json_int_t)month.won));
        json_object_set_new(item, "lost", json_integer((json_int_t)month.lost));
        json_object_set_new(item, "error",
                            plan_ratio(isfinite(forecast) && month.won_value > 0
                                           ? (forecast - month.won_value) / month.won_value
                                           : NAN));
        if (partial)
            json_object_set_new(item, "partial", json_true());
        json_array_append_new(months, item);
        if (isfinite(forecast) && !partial && scored < sizeof actual / sizeof actual[0]) {
            actual[scored] = month.won_value;
            predicted[scored++] = forecast;
        }
        closed_before += month.won + month.lost;
        open_before += open;
        before.won += month.won;
        before.lost += month.lost;
        before.won_value += month.won_value;
        months_before++;
    }
    size_t used = 0;
    double mape = forecast_mape(actual, predicted, scored, &used);
    json_object_set_new(out, "months", months);
    json_object_set_new(out, "mape", plan_ratio(mape));
    json_object_set_new(out, "mape_months", json_integer((json_int_t)used));
    json_object_set_new(out, "mape_skipped", json_integer((json_int_t)(scored - used)));

    /* The month after the history, from the pipeline open now. */
    double open_now = h->snapshot ? h->created : fmax(0, h->created - (all.won + all.lost));
    double close_rate = open_before > 0 ? closed_before / open_before : NAN;
    double win_rate = all.won + all.lost > 0 ? all.won / (all.won + all.lost) : NAN;
    double avg_won = all.won > 0 ? all.won_value / all.won : NAN;
    int64_t next = commission_period_start("month", end_ms) == end_ms
                       ? end_ms
                       : commission_period_next("month", commission_period_start("month", end_ms));
    json_t *ahead = json_object();
    json_object_set_new(ahead, "month", s_month_label(next));
    json_object_set_new(ahead, "open_pipeline", plan_real(open_now));
    json_object_set_new(ahead, "close_rate", plan_ratio(close_rate));
    json_object_set_new(ahead, "weighted_pipeline", plan_real(open_now * win_rate * avg_won));
    json_object_set_new(ahead, "forecast", plan_real(open_now * close_rate * win_rate * avg_won));
    json_object_set_new(out, "next_month", ahead);
    return out;
}
