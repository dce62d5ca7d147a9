/* kpi.c — rep and team KPIs, conversion and ops figures; see kpi.h. */
#include "kpi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_codec.h"
#include "keys.h"
#include "kpi_internal.h"
#include "views.h"

/* ---- metrics ---------------------------------------------------------- */

/* The per-rep metrics of a day hash ("<rep>|<metric>"), in the order of
 * s_metric_names. The inputs come first: mix and "inputs" add them up. */
typedef enum {
    M_CALLS,
    M_EMAILS,
    M_MEETINGS,
    M_DEMOS,
    M_PROPOSALS,
    M_OPPORTUNITIES,
    M_WON,
    M_LOST,
    M_WON_VALUE,
    M_LOST_VALUE,
    M_CLOSE_DAYS_SUM,
    M_CLOSE_DAYS_N,
    M_STL_MS_SUM,
    M_STL_N,
    M_TOUCH_MS_SUM,
    M_TOUCH_N,
    M_COUNT
} s_metric_t;

#define INPUT_COUNT (M_OPPORTUNITIES + 1)

static const char *const s_metric_names[M_COUNT] = {
    "calls",      "emails", "meetings",     "demos",      "proposals",      "opportunities",
    "won",        "lost",   "won_value",    "lost_value", "close_days_sum", "close_days_n",
    "stl_ms_sum", "stl_n",  "touch_ms_sum", "touch_n",
};

/* Whether a metric is money or days (printed as a real) or a count. */
static bool s_metric_is_real(s_metric_t m)
{
    return m == M_WON_VALUE || m == M_LOST_VALUE || m == M_CLOSE_DAYS_SUM;
}

static int s_metric_find(const char *name)
{
    for (int m = 0; m < M_COUNT; m++)
        if (strcmp(s_metric_names[m], name) == 0)
            return m;
    return -1;
}

typedef struct {
    double now[M_COUNT];    /* the period */
    double before[M_COUNT]; /* the period of the same length just before */
} s_sums_t;

typedef struct {
    char *id;         /* owned */
    const char *name; /* borrowed from the config, or id */
    const char *team; /* borrowed from the config, or "" */
    s_sums_t sums;
} s_rep_t;

/* Reps by id: an open-addressing table over a growing array, because a
 * long period reads every rep's fields of every day. */
typedef struct {
    s_rep_t *reps; /* owned */
    size_t count, capacity;
    size_t *slots; /* owned: index + 1 into reps, 0 empty */
    size_t slot_count;
} s_rep_table_t;

static uint64_t s_hash(const char *text, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
    return h;
}

static void s_table_destroy(s_rep_table_t *table)
{
    for (size_t i = 0; i < table->count; i++)
        free(table->reps[i].id);
    free(table->reps);
    free(table->slots);
    *table = (s_rep_table_t){0};
}

static int s_table_rehash(s_rep_table_t *table, size_t slot_count)
{
    size_t *slots = calloc(slot_count, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < table->count; i++) {
        const char *id = table->reps[i].id;
        size_t s = s_hash(id, strlen(id)) & (slot_count - 1);
        while (slots[s])
            s = (s + 1) & (slot_count - 1);
        slots[s] = i + 1;
    }
    free(table->slots);
    table->slots = slots;
    table->slot_count = slot_count;
    return 0;
}

/* The rep with id ID (LEN bytes), added when missing; NULL when out of memory. */
static s_rep_t *s_table_get(s_rep_table_t *table, const char *id, size_t len)
{
    if (table->slot_count) {
        size_t s = s_hash(id, len) & (table->slot_count - 1);
        for (; table->slots[s]; s = (s + 1) & (table->slot_count - 1)) {
            s_rep_t *rep = &table->reps[table->slots[s] - 1];
            if (strlen(rep->id) == len && memcmp(rep->id, id, len) == 0)
                return rep;
        }
    }
    if (table->count == table->capacity) {
        size_t capacity = table->capacity ? 2 * table->capacity : 64;
        s_rep_t *reps = realloc(table->reps, capacity * sizeof *reps);
        if (!reps)
            return NULL;
        table->reps = reps;
        table->capacity = capacity;
    }
    s_rep_t *rep = &table->reps[table->count];
    *rep = (s_rep_t){.id = strndup(id, len)};
    if (!rep->id)
        return NULL;
    rep->name = rep->id;
    rep->team = "";
    table->count++;
    /* Kept at most half full: probing stays short and always ends. */
    if (2 * table->count > table->slot_count)
        return s_table_rehash(table, table->slot_count ? 2 * table->slot_count : 128) < 0 ? NULL
                                                                                          : rep;
    size_t s = s_hash(id, len) & (table->slot_count - 1);
    while (table->slots[s])
        s = (s + 1) & (table->slot_count - 1);
    table->slots[s] = table->count;
    return rep;
}

/* ---- small helpers ---------------------------------------------------- */

json_t *kpi_ratio(double part, double whole)
{
    return whole > 0 ? json_real(part / whole) : json_null();
}

/* (NOW - BEFORE) / BEFORE, null when BEFORE is 0. */
static json_t *s_growth(double now, double before)
{
    return before > 0 ? json_real((now - before) / before) : json_null();
}

static json_t *s_number(double value, bool real)
{
    return real ? json_real(value) : json_integer((json_int_t)llround(value));
}

void kpi_day_format(int64_t day, char out[static 16])
{
    time_t seconds = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static int64_t s_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- the period -------------------------------------------------------- */

/* The day of the first of month MONTH (0-based, may be out of 0..11) of YEAR. */
static int64_t s_month_start(int year, int month)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month, .tm_mday = 1};
    return s_floor_div((int64_t)timegm(&tm), 86400);
}

/* Parses DATE ("2024-05-01", or any time json_parse_time takes) into its day. */
static int s_parse_day(const char *name, const char *date, int64_t *day, err_t *err)
{
    int64_t ms = json_parse_time(date);
    if (ms < 0)
        return err_set(err, ERR_INPUT, "%s: '%.40s' is not a date (YYYY-MM-DD)", name, date);
    *day = ms / KPI_DAY_MS;
    return 0;
}

int kpi_period_parse(const char *period, const char *from, const char *to, int64_t now_ms,
                     kpi_period_t *out, err_t *err)
{
    int64_t today = s_floor_div(now_ms, KPI_DAY_MS);
    *out = (kpi_period_t){.from_day = today - KPI_DEFAULT_DAYS + 1, .to_day = today + 1};
    bool has_period = period && *period, has_from = from && *from, has_to = to && *to;
    if (has_period && (has_from || has_to))
        return err_set(err, ERR_INPUT, "give a period or from/to, not both");
    if (has_from || has_to) {
        int64_t first = 0, last = today;
        if (has_to && s_parse_day("to", to, &last, err) < 0)
            return -1;
        if (has_from && s_parse_day("from", from, &first, err) < 0)
            return -1;
        if (!has_from)
            first = last - KPI_DEFAULT_DAYS + 1;
        if (last < first)
            return err_set(err, ERR_INPUT, "to (%s) is before from (%s)", has_to ? to : "today",
                           from);
        out->from_day = first;
        out->to_day = last + 1;
        return 0;
    }
    if (!has_period)
        return 0;
    time_t seconds = (time_t)(now_ms / 1000);
    struct tm now_tm;
    gmtime_r(&seconds, &now_tm);
    int year = now_tm.tm_year + 1900, month = now_tm.tm_mon, quarter = month / 3 * 3;
    char *end = NULL;
    long days = strtol(period, &end, 10);
    if (end != period && strcmp(end, "d") == 0) {
        if (days < 1 || days > 36600)
            return err_set(err, ERR_INPUT, "period %.40s: days must be 1..36600", period);
        out->from_day = today - days + 1;
    } else if (strcmp(period, "this-month") == 0) {
        out->from_day = s_month_start(year, month);
    } else if (strcmp(period, "last-month") == 0) {
        *out = (kpi_period_t){s_month_start(year, month - 1), s_month_start(year, month), false};
    } else if (strcmp(period, "this-quarter") == 0) {
        out->from_day = s_month_start(year, quarter);
    } else if (strcmp(period, "last-quarter") == 0) {
        *out =
            (kpi_period_t){s_month_start(year, quarter - 3), s_month_start(year, quarter), false};
    } else if (strcmp(period, "this-year") == 0) {
        out->from_day = s_month_start(year, 0);
    } else if (strcmp(period, "last-year") == 0) {
        *out = (kpi_period_t){s_month_start(year - 1, 0), s_month_start(year, 0), false};
    } else if (strcmp(period, "all") == 0) {
        out->all = true;
    } else {
        return err_set(err, ERR_INPUT,
                       "period '%.40s': expected Nd (e.g. 30d), this-month, last-month, "
                       "this-quarter, last-quarter, this-year, last-year or all",
                       period);
    }
    return 0;
}

/* ---- reading the day hashes ------------------------------------------- */

/* Leads per source or queue over the period ("src:<s>|leads", "queue:<q>|leads"). */
typedef struct {
    json_t *by_source; /* owned: {source: n} */
    json_t *by_queue;  /* owned: {queue: n} */
} s_leads_t;

void kpi_count_add(json_t *object, const char *name, size_t len, double n)
{
    char *key = strndup(name, len);
    if (!key)
        return;
    json_t *old = json_object_get(object, key);
    json_object_set_new(object, key,
                        json_integer(json_integer_value(old) + (json_int_t)llround(n)));
    free(key);
}

/* Adds the day hash HASH (an HGETALL reply) to TABLE (the period, or the
 * one before when BEFORE) and to LEADS (the period only). */
static int s_add_day(s_rep_table_t *table, s_leads_t *leads, const store_value_t *hash, bool before,
                     err_t *err)
{
    for (size_t i = 0; i + 1 < hash->count; i += 2) {
        const store_value_t *field = hash->elements[i];
        if (!field || field->type != STORE_STR)
            continue;
        double n = store_value_double(hash->elements[i + 1], 0);
        /* "<who>|<metric>": the metric has no '|', a rep id might. */
        const char *bar = strrchr(field->str, '|');
        if (!bar)
            continue;
        size_t who_len = (size_t)(bar - field->str);
        if (strncmp(field->str, "src:", 4) == 0 || strncmp(field->str, "queue:", 6) == 0) {
            if (!before && strcmp(bar + 1, "leads") == 0) {
                bool source = field->str[0] == 's';
                size_t skip = source ? 4 : 6;
                kpi_count_add(source ? leads->by_source : leads->by_queue, field->str + skip,
                              who_len - skip, n);
            }
            continue;
        }
        int m = s_metric_find(bar + 1);
        if (m < 0 || who_len == 0)
            continue; /* a metric a newer writer added: not ours to add up */
        s_rep_t *rep = s_table_get(table, field->str, who_len);
        if (!rep)
            return err_set(err, ERR_NOMEM, "out of memory adding up the KPIs");
        (before ? rep->sums.before : rep->sums.now)[m] += n;
    }
    return 0;
}

/* Reads the days of [FROM, TO) that have data (<p>:kpi:days), then their
 * hashes, in two round trips, into TABLE and LEADS; days before
 * PERIOD_FROM count as the previous period. */
static int s_read_days(store_t *store, const char *prefix, int64_t from, int64_t to,
                       int64_t period_from, s_rep_table_t *table, s_leads_t *leads, err_t *err)
{
    char key_days[KEY_MAX], low[24], high[24];
    keys_format(key_days, KEY_MAX, prefix, "kpi:days");
    snprintf(low, sizeof low, "%lld", (long long)from);
    snprintf(high, sizeof high, "(%lld", (long long)to);
    store_value_t *days = store_command(store, err, "ZRANGEBYSCORE %s %s %s", key_days, low, high);
    if (!days)
        return -1;
    int rc = -1;
    store_batch_t *batch = store_batch_new();
    if (store_reply_check(days, "ZRANGEBYSCORE kpi:days", err) < 0)
        goto done;
    for (size_t i = 0; i < days->count; i++) {
        char key_day[KEY_MAX], suffix[64];
        snprintf(suffix, sizeof suffix, "kpi:d:%s", store_value_str(days->elements[i], ""));
        keys_format(key_day, KEY_MAX, prefix, suffix);
        store_batch_command(batch, 2, (const char *[]){"HGETALL", key_day}, NULL);
    }
    if (days->count && store_batch_exec(store, batch, err) < 0)
        goto done;
    for (size_t i = 0; i < days->count; i++) {
        const store_value_t *hash = store_batch_reply(batch, i);
        if (store_reply_check(hash, "HGETALL kpi:d", err) < 0)
            goto done;
        int64_t day = store_value_int(days->elements[i], 0);
        if (s_add_day(table, leads, hash, day < period_from, err) < 0)
            goto done;
    }
    rc = 0;
done:
    store_batch_destroy(&batch);
    store_value_free(&days);
    return rc;
}

/* Resolves an "all" period from the first and last day with data. */
static int s_resolve_all(store_t *store, const char *prefix, kpi_period_t *period, err_t *err)
{
    char key_days[KEY_MAX];
    keys_format(key_days, KEY_MAX, prefix, "kpi:days");
    store_batch_t *batch = store_batch_new();
    store_batch_command(batch, 4, (const char *[]){"ZRANGE", key_days, "0", "0"}, NULL);
    store_batch_command(batch, 4, (const char *[]){"ZRANGE", key_days, "-1", "-1"}, NULL);
    int rc = store_batch_exec(store, batch, err);
    if (rc == 0 && (store_reply_check(store_batch_reply(batch, 0), "ZRANGE kpi:days", err) < 0 ||
                    store_reply_check(store_batch_reply(batch, 1), "ZRANGE kpi:days", err) < 0))
        rc = -1;
    if (rc == 0) {
        const store_value_t *first = store_value_at(store_batch_reply(batch, 0), 0);
        const store_value_t *last = store_value_at(store_batch_reply(batch, 1), 0);
        if (first && last) {
            period->from_day = store_value_int(first, 0);
            period->to_day = store_value_int(last, 0) + 1;
        }
    }
    store_batch_destroy(&batch);
    return rc;
}

/* ---- the JSON --------------------------------------------------------- */

static double s_inputs(const double *m)
{
    double sum = 0;
    for (int i = 0; i < INPUT_COUNT; i++)
        sum += m[i];
    return sum;
}

/* The figures of one set of sums: a rep's, a team's, everyone's. */
static void s_figures(json_t *object, const s_sums_t *sums)
{
    const double *m = sums->now, *b = sums->before;
    for (int i = 0; i < M_COUNT; i++) {
        if (i == M_CLOSE_DAYS_SUM || i == M_STL_MS_SUM || i == M_TOUCH_MS_SUM)
            continue; /* shown as their means */
        json_object_set_new(object, s_metric_names[i], s_number(m[i], s_metric_is_real(i)));
    }
    json_object_set_new(object, "inputs", s_number(s_inputs(m), false));
    json_object_set_new(object, "win_rate", kpi_ratio(m[M_WON], m[M_WON] + m[M_LOST]));
    json_object_set_new(object, "avg_deal_size", kpi_ratio(m[M_WON_VALUE], m[M_WON]));
    json_object_set_new(object, "avg_days_to_close",
                        kpi_ratio(m[M_CLOSE_DAYS_SUM], m[M_CLOSE_DAYS_N]));
    json_object_set_new(object, "speed_to_lead_ms", kpi_ratio(m[M_STL_MS_SUM], m[M_STL_N]));
    json_object_set_new(object, "first_touch_ms", kpi_ratio(m[M_TOUCH_MS_SUM], m[M_TOUCH_N]));
    json_object_set_new(object, "previous",
                        json_pack("{s:o, s:f, s:o}", "won", s_number(b[M_WON], false), "won_value",
                                  b[M_WON_VALUE], "inputs", s_number(s_inputs(b), false)));
    json_object_set_new(object, "growth",
                        json_pack("{s:o, s:o, s:o}", "won", s_growth(m[M_WON], b[M_WON]),
                                  "won_value", s_growth(m[M_WON_VALUE], b[M_WON_VALUE]), "inputs",
                                  s_growth(s_inputs(m), s_inputs(b))));
}

static void s_sums_add(s_sums_t *to, const s_sums_t *from)
{
    for (int i = 0; i < M_COUNT; i++) {
        to->now[i] += from->now[i];
        to->before[i] += from->before[i];
    }
}

static bool s_is_active(const s_rep_t *rep)
{
    for (int i = 0; i < M_COUNT; i++)
        if (rep->sums.now[i] != 0)
            return true;
    return false;
}

/* Leaderboard order: won value, then deals won, then id. */
static int s_by_revenue(const void *a, const void *b)
{
    const s_rep_t *x = *(const s_rep_t *const *)a, *y = *(const s_rep_t *const *)b;
    if (x->sums.now[M_WON_VALUE] != y->sums.now[M_WON_VALUE])
        return x->sums.now[M_WON_VALUE] > y->sums.now[M_WON_VALUE] ? -1 : 1;
    if (x->sums.now[M_WON] != y->sums.now[M_WON])
        return x->sums.now[M_WON] > y->sums.now[M_WON] ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int s_by_id(const void *a, const void *b)
{
    return strcmp(((const s_rep_t *)a)->id, ((const s_rep_t *)b)->id);
}

/* One quartile: the reps RANKED[0..COUNT) side by side with the other. */
static json_t *s_quartile(s_rep_t *const *ranked, size_t count)
{
    s_sums_t sums = {0};
    json_t *ids = json_array();
    for (size_t i = 0; i < count; i++) {
        s_sums_add(&sums, &ranked[i]->sums);
        json_array_append_new(ids, json_string(ranked[i]->id));
    }
    const double *m = sums.now;
    double inputs = s_inputs(m);
    json_t *mix = json_object();
    for (int i = 0; i < INPUT_COUNT; i++)
        json_object_set_new(mix, s_metric_names[i], kpi_ratio(m[i], inputs));
    return json_pack("{s:o, s:I, s:f, s:f, s:I, s:o, s:o, s:o, s:f, s:o, s:o, s:o}", "reps", ids,
                     "count", (json_int_t)count, "won_value", m[M_WON_VALUE], "won_value_per_rep",
                     count ? m[M_WON_VALUE] / (double)count : 0.0, "won",
                     (json_int_t)llround(m[M_WON]), "win_rate",
                     kpi_ratio(m[M_WON], m[M_WON] + m[M_LOST]), "avg_deal_size",
                     kpi_ratio(m[M_WON_VALUE], m[M_WON]), "avg_days_to_close",
                     kpi_ratio(m[M_CLOSE_DAYS_SUM], m[M_CLOSE_DAYS_N]), "inputs_per_rep",
                     count ? inputs / (double)count : 0.0, "mix", mix, "speed_to_lead_ms",
                     kpi_ratio(m[M_STL_MS_SUM], m[M_STL_N]), "first_touch_ms",
                     kpi_ratio(m[M_TOUCH_MS_SUM], m[M_TOUCH_N]));
}

static json_t *s_period_json(int64_t from, int64_t to)
{
    char first[16], last[16];
    kpi_day_format(from, first);
    kpi_day_format(to - 1, last);
    return json_pack("{s:s, s:s, s:I}", "from", first, "to", last, "days", (json_int_t)(to - from));
}

/* Builds the view from the reps in TABLE (sorted here) and LEADS. */
static json_t *s_reps_view(s_rep_table_t *table, const config_t *cfg, s_leads_t *leads,
                           const kpi_period_t *period)
{
    qsort(table->reps, table->count, sizeof *table->reps, s_by_id);
    /* Sorting moved the reps: the id table is stale from here on. */
    free(table->slots);
    table->slots = NULL;
    table->slot_count = 0;

    json_t *view = s_period_json(period->from_day, period->to_day);
    int64_t length = period->to_day - period->from_day;
    json_object_set_new(view, "previous",
                        s_period_json(period->from_day - length, period->from_day));
    json_t *reps = json_array(), *teams = json_array(), *leaderboard = json_array();
    s_sums_t totals = {0};
    s_rep_t **ranked = calloc(table->count ? table->count : 1, sizeof *ranked);
    size_t active = 0;
    for (size_t i = 0; i < table->count; i++) {
        s_rep_t *rep = &table->reps[i];
        json_t *row =
            json_pack("{s:s, s:s, s:s}", "rep", rep->id, "name", rep->name, "team", rep->team);
        s_figures(row, &rep->sums);
        json_array_append_new(reps, row);
        s_sums_add(&totals, &rep->sums);
        if (ranked && s_is_active(rep))
            ranked[active++] = rep;
    }
    /* Teams, in the order the config first names them. */
    for (size_t r = 0; r < cfg->rep_count; r++) {
        const char *team = cfg->reps[r].team;
        bool seen = !team || !*team;
        for (size_t e = 0; e < r && !seen; e++)
            seen = cfg->reps[e].team && strcmp(cfg->reps[e].team, team) == 0;
        if (seen)
            continue;
        s_sums_t sums = {0};
        json_int_t members = 0;
        for (size_t i = 0; i < table->count; i++)
            if (strcmp(table->reps[i].team, team) == 0) {
                s_sums_add(&sums, &table->reps[i].sums);
                members++;
            }
        json_t *row = json_pack("{s:s, s:I}", "team", team, "reps", members);
        s_figures(row, &sums);
        json_array_append_new(teams, row);
    }
    json_t *total = json_object();
    s_figures(total, &totals);

    json_t *quartiles = json_null();
    if (ranked) {
        qsort(ranked, active, sizeof *ranked, s_by_revenue);
        for (size_t i = 0; i < active; i++)
            json_array_append_new(
                leaderboard,
                json_pack("{s:I, s:s, s:s, s:s, s:f, s:I, s:o}", "rank", (json_int_t)(i + 1), "rep",
                          ranked[i]->id, "name", ranked[i]->name, "team", ranked[i]->team,
                          "won_value", ranked[i]->sums.now[M_WON_VALUE], "won",
                          (json_int_t)llround(ranked[i]->sums.now[M_WON]), "win_rate",
                          kpi_ratio(ranked[i]->sums.now[M_WON],
                                    ranked[i]->sums.now[M_WON] + ranked[i]->sums.now[M_LOST])));
        if (active >= 2) {
            size_t quarter = (active + 3) / 4;
            json_decref(quartiles);
            quartiles = json_pack("{s:o, s:o}", "top", s_quartile(ranked, quarter), "bottom",
                                  s_quartile(ranked + active - quarter, quarter));
        }
    }
    free(ranked);
    json_object_set_new(view, "reps", reps);
    json_object_set_new(view, "teams", teams);
    json_object_set_new(view, "totals", total);
    json_object_set_new(view, "leaderboard", leaderboard);
    json_object_set_new(view, "quartiles", quartiles);
    json_object_set_new(
        view, "leads",
        json_pack("{s:O, s:O}", "by_source", leads->by_source, "by_queue", leads->by_queue));
    return view;
}

json_t *kpi_reps(store_t *store, const config_t *cfg, const kpi_period_t *period_in, err_t *err)
{
    kpi_period_t period = *period_in;
    if (period.all && s_resolve_all(store, cfg->redis_prefix, &period, err) < 0)
        return NULL;
    if (period.to_day <= period.from_day)
        period.to_day = period.from_day + 1;
    s_rep_table_t table = {0};
    s_leads_t leads = {json_object(), json_object()};
    json_t *view = NULL;
    /* The config's reps first, so that a rep with nothing counted still shows. */
    for (size_t r = 0; r < cfg->rep_count; r++)
        if (!s_table_get(&table, cfg->reps[r].id, strlen(cfg->reps[r].id))) {
            err_set(err, ERR_NOMEM, "out of memory adding up the KPIs");
            goto done;
        }
    int64_t length = period.to_day - period.from_day;
    if (s_read_days(store, cfg->redis_prefix, period.from_day - length, period.to_day,
                    period.from_day, &table, &leads, err) < 0)
        goto done;
    for (size_t i = 0; i < table.count; i++)
        for (size_t r = 0; r < cfg->rep_count; r++)
            if (strcmp(table.reps[i].id, cfg->reps[r].id) == 0) {
                table.reps[i].name =
                    cfg->reps[r].name && *cfg->reps[r].name ? cfg->reps[r].name : table.reps[i].id;
                table.reps[i].team = cfg->reps[r].team ? cfg->reps[r].team : "";
            }
    view = s_reps_view(&table, cfg, &leads, &period);
done:
    json_decref(leads.by_source);
    json_decref(leads.by_queue);
    s_table_destroy(&table);
    return view;
}
