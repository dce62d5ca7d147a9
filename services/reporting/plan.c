/* plan.c — demand against capacity, and revenue against the pipeline; see plan.h. */
#include "plan.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "calendar.h"
#include "commission.h"
#include "forecast.h"
#include "keys.h"
#include "plan_internal.h"

/* Day hashes read per round trip. */
#define PLAN_BATCH_DAYS 200
/* Local days cal_windows looks at per rep week: the 7 that start in it,
 * the one before (a zone east of UTC starts its Monday on Sunday UTC) and
 * the end of the last. */
#define WEEK_SPAN_DAYS 9

static void s_history_clear(plan_history_t *h)
{
    free(h->queue_leads);
    free(h->rep_opps);
    free(h->totals);
    commission_deals_free(&h->deals, h->deal_count);
    json_decref(h->left_out);
    memset(h, 0, sizeof *h);
}

/* ---- small helpers ----------------------------------------------------- */

static json_t *s_day_json(int64_t day)
{
    time_t seconds = (time_t)(day * 86400);
    struct tm tm;
    char text[16];
    gmtime_r(&seconds, &tm);
    strftime(text, sizeof text, "%Y-%m-%d", &tm);
    return json_string(text);
}

static int64_t s_floor_day(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

static int s_int64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static ssize_t s_rep_index(const config_t *cfg, const char *id, size_t len)
{
    for (size_t i = 0; i < cfg->rep_count; i++)
        if (strlen(cfg->reps[i].id) == len && memcmp(cfg->reps[i].id, id, len) == 0)
            return (ssize_t)i;
    return -1;
}

static ssize_t s_queue_index(const config_t *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->queue_count; i++)
        if (strlen(cfg->queues[i].name) == len && memcmp(cfg->queues[i].name, name, len) == 0)
            return (ssize_t)i;
    return -1;
}

static bool s_rep_works(const rep_config_t *rep, const char *queue)
{
    for (size_t i = 0; i < rep->queue_count; i++)
        if (strcmp(rep->queues[i], queue) == 0)
            return true;
    return false;
}

/* ---- the history ------------------------------------------------------- */

/* Reads the day numbers of <p>:kpi:days, sorted, into a new array. */
static int64_t *s_read_days(store_t *store, const char *prefix, size_t *count, err_t *err)
{
    char key[KEY_MAX];
    keys_format(key, sizeof key, prefix, "kpi:days");
    store_value_t *reply = store_command(store, err, "ZRANGE %s 0 -1", key);
    *count = 0;
    if (!reply || store_reply_check(reply, "ZRANGE kpi:days", err) != 0) {
        store_value_free(&reply);
        return NULL;
    }
    int64_t *days = malloc((reply->count + 1) * sizeof *days);
    if (!days) {
        store_value_free(&reply);
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; reply->type == STORE_ARRAY && i < reply->count; i++) {
        char *end = NULL;
        const char *text = store_value_str(reply->elements[i], "");
        long long day = strtoll(text, &end, 10);
        if (end != text && *end == '\0')
            days[(*count)++] = day;
    }
    store_value_free(&reply);
    return days;
}

/* Picks the history among the sorted, distinct DAYS (see plan.h): the
 * latest stretch without a gap longer than PLAN_GAP_DAYS that is long
 * enough to fit and back-test, else the longest; TODAY is not over. */
static void s_choose_history(plan_history_t *h, const int64_t *days, size_t count, int64_t today)
{
    size_t best_start = 0, best_stop = 0; /* [start, stop) in DAYS */
    int64_t best_span = -1;
    bool settled = false;
    for (size_t stop = count; stop > 0 && !settled;) {
        size_t start = stop - 1;
        while (start > 0 && days[start] - days[start - 1] <= PLAN_GAP_DAYS)
            start--;
        int64_t last = days[stop - 1] >= today ? today - 1 : days[stop - 1];
        int64_t span = last - days[start] + 1;
        if (span >= FORECAST_MIN_DAYS + 7)
            settled = true; /* the latest long enough: take it */
        if (settled || span > best_span) {
            best_span = span;
            best_start = start;
            best_stop = stop;
        }
        stop = start;
    }
    h->left_out = json_array();
    if (best_span <= 0) {
        h->first = h->end = today;
        best_start = best_stop = count;
    } else {
        h->first = days[best_start];
        h->end = h->first + best_span;
    }
    /* Name what is left out, one stretch at a time. */
    for (size_t i = 0; i < count;) {
        if (i >= best_start && i < best_stop) {
            i = best_stop;
            continue;
        }
        size_t j = i + 1;
        while (j < count && days[j] - days[j - 1] <= PLAN_GAP_DAYS &&
               !(j >= best_start && j < best_stop))
            j++;
        json_t *stretch = json_object();
        json_object_set_new(stretch, "from", s_day_json(days[i]));
        json_object_set_new(stretch, "to", s_day_json(days[j - 1]));
        json_object_set_new(stretch, "days_with_data", json_integer((json_int_t)(j - i)));
        json_array_append_new(h->left_out, stretch);
        i = j;
    }
}

/* Adds one KPI day hash (an HGETALL reply) to the history. Returns -1
 * when out of memory. */
static int s_add_day(plan_history_t *h, int64_t day, const store_value_t *hash, size_t *total_room)
{
    bool inside = day >= h->first && day < h->end;
    size_t offset = inside ? (size_t)(day - h->first) : 0;
    double created = 0;
    for (size_t i = 0; hash && hash->type == STORE_ARRAY && i + 1 < hash->count; i += 2) {
        const char *field = store_value_str(hash->elements[i], "");
        const char *bar = strrchr(field, '|');
        if (!bar)
            continue;
        double value = strtod(store_value_str(hash->elements[i + 1], "0"), NULL);
        const char *metric = bar + 1;
        if (strcmp(metric, "leads") == 0 && strncmp(field, "queue:", 6) == 0) {
            ssize_t q = s_queue_index(h->cfg, field + 6, (size_t)(bar - field - 6));
            if (q >= 0 && inside)
                h->queue_leads[(size_t)q * h->days + offset] += value;
        } else if (strcmp(metric, "opportunities") == 0 && strncmp(field, "src:", 4) != 0) {
            created += value;
            ssize_t r = s_rep_index(h->cfg, field, (size_t)(bar - field));
            if (inside && r >= 0)
                h->rep_opps[(size_t)r * h->days + offset] += value;
            else if (inside)
                h->unattributed += value;
        }
    }
    if (created <= 0)
        return 0;
    h->created += created;
    if (h->total_count == *total_room) {
        size_t bigger = *total_room ? *total_room * 2 : 256;
        plan_day_total_t *grown = realloc(h->totals, bigger * sizeof *grown);
        if (!grown)
            return -1;
        h->totals = grown;
        *total_room = bigger;
    }
    h->totals[h->total_count++] = (plan_day_total_t){.day = day, .created = created};
    return 0;
}

/* Reads the deals, the KPI days and their hashes into H. */
static int s_read(plan_history_t *h, store_t *store, const config_t *cfg, int64_t today, err_t *err)
{
    h->cfg = cfg;
    if (commission_deals_read(store, cfg->redis_prefix, &h->deals, &h->deal_count, err) != 0)
        return -1;
    size_t day_count = 0;
    int64_t *kpi_days = s_read_days(store, cfg->redis_prefix, &day_count, err);
    if (!kpi_days)
        return -1;
    /* The history's days: those with KPIs and those deals opened and
     * closed on (a deal without a rep has no KPI day of its own). */
    int64_t *days = malloc((day_count + 2 * h->deal_count + 1) * sizeof *days);
    if (!days) {
        free(kpi_days);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    size_t count = day_count;
    memcpy(days, kpi_days, day_count * sizeof *days);
    for (size_t i = 0; i < h->deal_count; i++) {
        days[count++] = s_floor_day(h->deals[i].at_ms);
        if (h->deals[i].opened_at_ms > 0)
            days[count++] = s_floor_day(h->deals[i].opened_at_ms);
    }
    qsort(days, count, sizeof *days, s_int64_cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++)
        if (distinct == 0 || days[i] != days[distinct - 1])
            days[distinct++] = days[i];
    s_choose_history(h, days, distinct, today);
    free(days);

    h->days = (size_t)(h->end - h->first);
    size_t cells = h->days ? h->days : 1;
    h->queue_leads = calloc((cfg->queue_count ? cfg->queue_count : 1) * cells, sizeof(double));
    h->rep_opps = calloc((cfg->rep_count ? cfg->rep_count : 1) * cells, sizeof(double));
    if (!h->queue_leads || !h->rep_opps || !h->left_out) {
        free(kpi_days);
        return err_set(err, ERR_NOMEM, "out of memory");
    }

    char key[KEY_MAX], suffix[64];
    size_t total_room = 0;
    store_batch_t *batch = store_batch_new();
    if (!batch) {
        free(kpi_days);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    int rc = 0;
    for (size_t done = 0; done < day_count && rc == 0;) {
        size_t chunk = day_count - done < PLAN_BATCH_DAYS ? day_count - done : PLAN_BATCH_DAYS;
        store_batch_reset(batch);
        for (size_t i = 0; i < chunk; i++) {
            snprintf(suffix, sizeof suffix, "kpi:d:%lld", (long long)kpi_days[done + i]);
            keys_format(key, sizeof key, cfg->redis_prefix, suffix);
            const char *argv[] = {"HGETALL", key};
            size_t lens[] = {7, strlen(key)};
            store_batch_command(batch, 2, argv, lens);
        }
        if (store_batch_exec(store, batch, err) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < chunk && rc == 0; i++) {
            const store_value_t *hash = store_batch_reply(batch, i);
            rc = store_reply_check(hash, "HGETALL kpi:d", err);
            if (rc == 0 && s_add_day(h, kpi_days[done + i], hash, &total_room) != 0)
                rc = err_set(err, ERR_NOMEM, "out of memory");
        }
        done += chunk;
    }
    store_batch_destroy(&batch);
    free(kpi_days);
    if (rc != 0)
        return -1;

    /* A CRM snapshot exports a closed opportunity as its deal alone, so
     * its deal is the only trace of its opening. In a live stream the same
     * opportunity sends opportunity_created first, and counting its deal
     * again would double it. */
    for (size_t i = 0; i < h->deal_count; i++)
        if (h->deals[i].opened_at_ms > 0)
            h->deals_with_open++;
    h->snapshot = (double)h->deals_with_open > h->created;
    for (size_t i = 0; h->snapshot && i < h->deal_count; i++) {
        const commission_deal_t *deal = &h->deals[i];
        int64_t day = s_floor_day(deal->opened_at_ms);
        if (deal->opened_at_ms <= 0 || day < h->first || day >= h->end)
            continue;
        ssize_t r = s_rep_index(cfg, deal->rep, strlen(deal->rep));
        if (r >= 0)
            h->rep_opps[(size_t)r * h->days + (size_t)(day - h->first)] += 1;
        else
            h->unattributed += 1;
    }
    return 0;
}

/* ---- supply ------------------------------------------------------------ */

/* True when the UTC intervals of WINDOWS (cal_windows text) meet [FROM, TO). */
static bool s_windows_meet(const char *windows, int64_t from, int64_t to)
{
    if (strcmp(windows, "*") == 0)
        return true;
    for (const char *p = windows; *p;) {
        char *end = NULL;
        long long start = strtoll(p, &end, 10);
        if (end == p || *end != '-')
            return false;
        p = end + 1;
        long long stop = strtoll(p, &end, 10);
        if (end == p)
            return false;
        if (start < to && stop > from)
            return true;
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* Local days of REP that start within the week from MONDAY and on which it
 * works, with (OOO) and without its out-of-office periods. */
static int s_working_days(const rep_config_t *rep, int64_t monday, bool with_ooo, int *days,
                          err_t *err)
{
    int64_t from = monday * DAY_MS, to = from + 7 * DAY_MS, starts[WEEK_SPAN_DAYS];
    char windows[CAL_WINDOWS_SIZE(WEEK_SPAN_DAYS, 64)];
    const char *tz = rep->timezone && *rep->timezone ? rep->timezone : "UTC";
    size_t ooo_count = with_ooo ? rep->out_of_office_count : 0;
    char *text = windows;
    size_t size = sizeof windows;
    if (ooo_count > 64) {
        size = CAL_WINDOWS_SIZE(WEEK_SPAN_DAYS, ooo_count);
        if (!(text = malloc(size)))
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    int rc = cal_day_starts(tz, from, WEEK_SPAN_DAYS, starts, err);
    if (rc == 0)
        rc = cal_windows(tz, &rep->hours, rep->out_of_office, ooo_count, starts[0], WEEK_SPAN_DAYS,
                         text, size, err);
    *days = 0;
    for (int d = 0; rc == 0 && d + 1 < WEEK_SPAN_DAYS; d++)
        if (starts[d] >= from && starts[d] < to && s_windows_meet(text, starts[d], starts[d + 1]))
            (*days)++;
    if (text != windows)
        free(text);
    return rc;
}

/* The leads REP can take in the week from MONDAY (INFINITY without caps). */
static int s_rep_supply(const rep_config_t *rep, int64_t monday, double *supply, err_t *err)
{
    int working = 0, usual = 0;
    if (s_working_days(rep, monday, true, &working, err) != 0 ||
        s_working_days(rep, monday, false, &usual, err) != 0)
        return err_wrap(err, "rep %s", rep->id);
    double by_day = rep->daily_cap ? (double)rep->daily_cap * working : INFINITY;
    double by_week =
        rep->weekly_cap ? (usual ? (double)rep->weekly_cap * working / usual : 0) : INFINITY;
    *supply = fmin(by_day, by_week);
    return 0;
}

/* ---- one queue ---------------------------------------------------------- */

static json_t *s_backtest_json(const forecast_backtest_t *test)
{
    json_t *actual = json_array(), *predicted = json_array();
    for (int w = 0; w < test->weeks; w++) {
        json_array_append_new(actual, plan_real(test->actual[w]));
        json_array_append_new(predicted, plan_real(test->predicted[w]));
    }
    json_t *out = json_object();
    json_object_set_new(out, "weeks", json_integer(test->weeks));
    json_object_set_new(out, "first_week", s_day_json(test->first));
    json_object_set_new(out, "used", json_integer((json_int_t)test->used));
    json_object_set_new(out, "skipped", json_integer(test->weeks - (json_int_t)test->used));
    json_object_set_new(out, "mape", plan_ratio(test->mape));
    json_object_set_new(out, "model", json_string(forecast_kind_name(test->kind)));
    json_object_set_new(out, "mape_trend_and_seasons", plan_ratio(test->mape_seasonal));
    json_object_set_new(out, "mape_recent_level", plan_ratio(test->mape_recent));
    json_object_set_new(out, "actual", actual);
    json_object_set_new(out, "predicted", predicted);
    return out;
}

/* What closes the gap of queue Q (see plan.h): FORECAST and SUPPLY per
 * week, REP_WEEK the full weekly supply of every rep ([rep * weeks + w]). */
static json_t *s_advice(const plan_history_t *h, size_t q, const double *forecast,
                        const double *supply, const double *rep_week, int weeks, int64_t first_week)
{
    const config_t *cfg = h->cfg;
    const char *queue = cfg->queues[q].name;
    json_t *advice = json_object();
    char text[512];
    int peak = 0;
    for (int w = 1; w < weeks; w++)
        if (forecast[w] - supply[w] > forecast[peak] - supply[peak])
            peak = w;
    double gap = forecast[peak] - supply[peak];
    if (isinf(supply[peak])) {
        snprintf(text, sizeof text,
                 "a rep of %s has neither daily_cap nor weekly_cap: its capacity has no bound to "
                 "plan with",
                 queue);
        json_object_set_new(advice, "text", json_string(text));
        return advice;
    }
    size_t reps = 0;
    double full = 0, factor = 0;
    for (size_t r = 0; r < cfg->rep_count; r++)
        if (s_rep_works(&cfg->reps[r], queue)) {
            reps++;
            full += rep_week[r * (size_t)weeks + (size_t)peak];
        }
    for (int w = 0; w < weeks; w++)
        if (supply[w] > 0)
            factor = fmax(factor, forecast[w] / supply[w]);
    json_object_set_new(advice, "peak_week", s_day_json(first_week + 7 * peak));
    json_object_set_new(advice, "peak_gap", plan_real(gap));
    if (gap <= 0) {
        snprintf(text, sizeof text,
                 "capacity covers the forecast every week; the least spare is %.0f leads (week "
                 "of %s)",
                 -gap, json_string_value(json_object_get(advice, "peak_week")));
        json_object_set_new(advice, "covered", json_true());
        json_object_set_new(advice, "reps_needed", json_integer(0));
        json_object_set_new(advice, "text", json_string(text));
        return advice;
    }
    json_object_set_new(advice, "covered", json_false());
    double per_rep = reps ? full / (double)reps : 0;
    if (per_rep <= 0) { /* everyone away that week: a usual week's supply */
        for (size_t r = 0; r < cfg->rep_count; r++)
            for (int w = 0; w < weeks; w++)
                per_rep = fmax(per_rep, rep_week[r * (size_t)weeks + (size_t)w]);
    }
    json_int_t needed = per_rep > 0 ? (json_int_t)ceil(gap / per_rep - 1e-9) : -1;
    json_object_set_new(advice, "reps_needed", needed >= 0 ? json_integer(needed) : json_null());
    json_object_set_new(advice, "rep_week_supply", plan_real(per_rep));
    int length = snprintf(text, sizeof text, "short by %.0f leads in the week of %s: ", gap,
                          json_string_value(json_object_get(advice, "peak_week")));
    if (needed >= 0)
        length += snprintf(text + length, sizeof text - (size_t)length,
                           "add %lld rep%s working only %s (%.0f leads a week each)",
                           (long long)needed, needed == 1 ? "" : "s", queue, per_rep);
    /* Supply is linear in the caps (a minimum of two products), so raising
     * every cap of the queue's reps by FACTOR covers the worst week. */
    if (factor > 1 && reps > 0) {
        const rep_config_t *model = NULL;
        bool same = true;
        for (size_t r = 0; r < cfg->rep_count; r++) {
            const rep_config_t *rep = &cfg->reps[r];
            if (!s_rep_works(rep, queue))
                continue;
            if (!model)
                model = rep;
            else if (rep->daily_cap != model->daily_cap || rep->weekly_cap != model->weekly_cap)
                same = false;
        }
        json_t *caps = json_object();
        json_object_set_new(caps, "factor", plan_real(factor));
        length += snprintf(text + length, sizeof text - (size_t)length,
                           "%sraise the caps of its %zu reps by %.0f%%", needed >= 0 ? ", or " : "",
                           reps, (factor - 1) * 100);
        if (same) {
            unsigned daily = (unsigned)ceil(model->daily_cap * factor - 1e-9);
            unsigned weekly = (unsigned)ceil(model->weekly_cap * factor - 1e-9);
            if (model->daily_cap) {
                json_object_set_new(
                    caps, "daily_cap",
                    json_pack("[I, I]", (json_int_t)model->daily_cap, (json_int_t)daily));
                length += snprintf(text + length, sizeof text - (size_t)length,
                                   ": daily_cap %u -> %u", model->daily_cap, daily);
            }
            if (model->weekly_cap) {
                json_object_set_new(
                    caps, "weekly_cap",
                    json_pack("[I, I]", (json_int_t)model->weekly_cap, (json_int_t)weekly));
                length +=
                    snprintf(text + length, sizeof text - (size_t)length, "%s weekly_cap %u -> %u",
                             model->daily_cap ? "," : ":", model->weekly_cap, weekly);
            }
        }
        json_object_set_new(advice, "caps", caps);
    }
    (void)length;
    json_object_set_new(advice, "text", json_string(text));
    return advice;
}

/* The plan of queue Q. SERIES is scratch room for DAYS values. */
static json_t *s_queue(const plan_history_t *h, size_t q, const plan_opts_t *opts,
                       int64_t first_week, const double *rep_week, double *series)
{
    const config_t *cfg = h->cfg;
    const char *queue = cfg->queues[q].name;
    json_t *out = json_object();
    char note[256];
    double total = 0;
    size_t reps = 0, shared = 0;
    for (size_t i = 0; i < h->days; i++)
        total += series[i] = h->queue_leads[q * h->days + i];
    json_object_set_new(out, "queue", json_string(queue));
    if (total > 0) {
        json_object_set_new(out, "series", json_string("leads"));
        snprintf(note, sizeof note, "qualified leads first placed in %s", queue);
    } else {
        memset(series, 0, h->days * sizeof *series);
        for (size_t r = 0; r < cfg->rep_count; r++) {
            const rep_config_t *rep = &cfg->reps[r];
            if (!s_rep_works(rep, queue))
                continue;
            for (size_t i = 0; i < h->days; i++)
                series[i] += h->rep_opps[r * h->days + i] / (double)rep->queue_count;
        }
        for (size_t i = 0; i < h->days; i++)
            total += series[i];
        json_object_set_new(out, "series", json_string("opportunities"));
        snprintf(note, sizeof note,
                 "no lead history: opportunities of the reps who work %s, each rep's split "
                 "evenly over its queues",
                 queue);
    }
    for (size_t r = 0; r < cfg->rep_count; r++)
        if (s_rep_works(&cfg->reps[r], queue)) {
            reps++;
            shared += cfg->reps[r].queue_count > 1;
        }
    json_object_set_new(out, "series_note", json_string(note));
    json_object_set_new(out, "reps", json_integer((json_int_t)reps));
    json_object_set_new(out, "shared_reps", json_integer((json_int_t)shared));
    json_object_set_new(out, "history_total", plan_real(total));

    int weeks = opts->weeks;
    double forecast[PLAN_WEEKS_MAX] = {0}, supply[PLAN_WEEKS_MAX] = {0};
    forecast_model_t model;
    err_t why = {0};
    /* The back-test picks the model: the one nearer the held-out weeks
     * forecasts (the seasonal fit when there is too little to test). */
    forecast_backtest_t test;
    err_t test_why = {0};
    bool tested =
        forecast_backtest(series, h->days, h->first, opts->backtest_weeks, &test, &test_why) == 0;
    forecast_kind_t kind = tested ? test.kind : FORECAST_SEASONAL;
    bool fitted = forecast_fit_kind(series, h->days, h->first, kind, &model, &why) == 0;
    if (fitted) {
        json_object_set_new(out, "model",
                            json_pack("{s:s, s:i, s:I}", "kind", forecast_kind_name(kind),
                                      "harmonics", model.harmonics, "days",
                                      (json_int_t)model.days));
        for (int w = 0; w < weeks; w++)
            forecast[w] = forecast_week(&model, first_week + 7 * w);
        json_object_set_new(out, "backtest", tested ? s_backtest_json(&test) : json_null());
    } else {
        json_object_set_new(out, "model", json_null());
        json_object_set_new(out, "backtest", json_null());
        json_object_set_new(out, "model_note", json_string(why.msg));
    }
    json_t *weekly = json_array();
    for (int w = 0; w < weeks; w++) {
        for (size_t r = 0; r < cfg->rep_count; r++)
            if (s_rep_works(&cfg->reps[r], queue))
                supply[w] +=
                    rep_week[r * (size_t)weeks + (size_t)w] / (double)cfg->reps[r].queue_count;
        json_t *week = json_object();
        json_object_set_new(week, "week", s_day_json(first_week + 7 * w));
        json_object_set_new(week, "forecast", fitted ? plan_real(forecast[w]) : json_null());
        json_object_set_new(week, "capacity", plan_real(supply[w]));
        json_object_set_new(week, "gap", fitted ? plan_real(forecast[w] - supply[w]) : json_null());
        json_array_append_new(weekly, week);
    }
    json_object_set_new(out, "weekly", weekly);
    json_object_set_new(out, "advice",
                        fitted ? s_advice(h, q, forecast, supply, rep_week, weeks, first_week)
                               : json_pack("{s:s}", "text", "no forecast: too little history"));
    return out;
}

/* ---- the view ---------------------------------------------------------- */

json_t *plan_view(store_t *store, const config_t *cfg, const plan_opts_t *opts, err_t *err)
{
    if (opts->weeks < 1 || opts->weeks > PLAN_WEEKS_MAX) {
        err_set(err, ERR_INPUT, "weeks: 1 to %d, not %d", PLAN_WEEKS_MAX, opts->weeks);
        return NULL;
    }
    if (opts->backtest_weeks < 1 || opts->backtest_weeks > FORECAST_BACKTEST_MAX) {
        err_set(err, ERR_INPUT, "back-test weeks: 1 to %d, not %d", FORECAST_BACKTEST_MAX,
                opts->backtest_weeks);
        return NULL;
    }
    plan_history_t h = {0};
    int64_t today = s_floor_day(opts->now_ms);
    if (s_read(&h, store, cfg, today, err) != 0) {
        s_history_clear(&h);
        return NULL;
    }
    int weeks = opts->weeks;
    int64_t first_week = forecast_week_start(h.end + 6);

    /* Every rep's weekly supply, once: queues share reps. */
    double *rep_week =
        calloc((cfg->rep_count ? cfg->rep_count : 1) * (size_t)weeks, sizeof *rep_week);
    double *series = calloc(h.days ? h.days : 1, sizeof *series);
    if (!rep_week || !series) {
        free(rep_week);
        free(series);
        s_history_clear(&h);
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t r = 0; r < cfg->rep_count; r++)
        for (int w = 0; w < weeks; w++)
            if (s_rep_supply(&cfg->reps[r], first_week + 7 * w,
                             &rep_week[r * (size_t)weeks + (size_t)w], err) != 0) {
                free(rep_week);
                free(series);
                s_history_clear(&h);
                return NULL;
            }

    json_t *view = json_object();
    json_object_set_new(view, "weeks", json_integer(weeks));
    json_object_set_new(view, "first_week", s_day_json(first_week));
    json_t *history = json_object();
    json_object_set_new(history, "first_day", h.days ? s_day_json(h.first) : json_null());
    json_object_set_new(history, "last_day", h.days ? s_day_json(h.end - 1) : json_null());
    json_object_set_new(history, "days", json_integer((json_int_t)h.days));
    json_object_set_new(history, "left_out", json_incref(h.left_out));
    json_object_set_new(view, "history", history);

    json_t *opportunities = json_object();
    json_object_set_new(opportunities, "created", plan_real(h.created));
    json_object_set_new(opportunities, "closed_with_open_date",
                        json_integer((json_int_t)h.deals_with_open));
    json_object_set_new(opportunities, "source",
                        json_string(h.snapshot ? "opportunity_created activities plus closed "
                                                 "deals on the day they opened (a CRM snapshot: "
                                                 "closed deals outnumber created opportunities)"
                                               : "opportunity_created activities"));
    json_object_set_new(view, "opportunities", opportunities);

    json_t *notes = json_array();
    char note[256];
    size_t shared = 0;
    for (size_t r = 0; r < cfg->rep_count; r++)
        shared += cfg->reps[r].queue_count > 1;
    if (shared) {
        snprintf(note, sizeof note,
                 "%zu of %zu reps work more than one queue: each gives each of its queues an "
                 "equal share of its capacity (and of its opportunities)",
                 shared, cfg->rep_count);
        json_array_append_new(notes, json_string(note));
    }
    if (h.unattributed > 0) {
        snprintf(note, sizeof note,
                 "%.0f opportunities of reps the config does not list count in no queue",
                 h.unattributed);
        json_array_append_new(notes, json_string(note));
    }
    if (json_array_size(h.left_out) > 0) {
        snprintf(note, sizeof note,
                 "%zu stretch(es) of days more than %d days apart from the history are left "
                 "out (see history.left_out)",
                 json_array_size(h.left_out), PLAN_GAP_DAYS);
        json_array_append_new(notes, json_string(note));
    }
    json_object_set_new(view, "notes", notes);

    json_t *queues = json_array();
    for (size_t q = 0; q < cfg->queue_count; q++)
        json_array_append_new(queues, s_queue(&h, q, opts, first_week, rep_week, series));
    json_object_set_new(view, "queues", queues);
    json_object_set_new(view, "revenue", plan_revenue(&h));
    free(rep_week);
    free(series);
    s_history_clear(&h);
    return view;
}
