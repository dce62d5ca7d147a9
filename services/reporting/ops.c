/* ops.c — the live operations view; see ops.h. Two round trips: the
 * counters, histograms and hop sets in one batch, then the hash of each
 * service the heartbeat set names. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "kpi.h"
#include "views.h"

#define HOUR_MS        3600000LL
#define INTAKE_HOURS   168 /* 7 days; the first 24 are the last day */
#define INTAKE_DAY_HRS 24

/* The score buckets apply.lua counts leads in, in order. */
static const char *const s_score_buckets[] = {"<0",    "0-10",  "10-20",  "20-30",
                                              "30-40", "40-50", "50-60",  "60-70",
                                              "70-80", "80-90", "90-100", ">=100"};
#define SCORE_BUCKET_COUNT (sizeof s_score_buckets / sizeof s_score_buckets[0])

/* The replies of the first batch, by position after the intake hours. */
enum {
    R_GRADES,
    R_SCORE_HIST,
    R_STL_ACCEPT,
    R_STL_TOUCH,
    R_REJECTS,
    R_DEADLETTER,
    R_SERVICES,
    R_SCORING_COUNT,
    R_SCORING_OLDEST,
    R_ROUTING_COUNT,
    R_ROUTING_OLDEST,
    R_COUNT
};

/* {field: integer} from an HGETALL reply; fields whose count fell to 0 or
 * below (a distribution's emptied entries) are left out. */
static json_t *s_counts(const store_value_t *hash)
{
    json_t *out = json_object();
    for (size_t i = 0; hash && hash->type == STORE_ARRAY && i + 1 < hash->count; i += 2) {
        long long n = store_value_int(hash->elements[i + 1], 0);
        const char *field = store_value_str(hash->elements[i], NULL);
        if (field && n > 0)
            json_object_set_new(out, field, json_integer(n));
    }
    return out;
}

/* Adds the intake hash HOUR ("src:<source>" and "chan:<channel>" -> n) into
 * TOTALS: {leads, by_source, by_channel}. */
static void s_intake_add(json_t *totals, const store_value_t *hour)
{
    for (size_t i = 0; hour && hour->type == STORE_ARRAY && i + 1 < hour->count; i += 2) {
        const char *field = store_value_str(hour->elements[i], "");
        long long n = store_value_int(hour->elements[i + 1], 0);
        bool source = strncmp(field, "src:", 4) == 0;
        if (!source && strncmp(field, "chan:", 5) != 0)
            continue;
        json_t *by = json_object_get(totals, source ? "by_source" : "by_channel");
        const char *name = field + (source ? 4 : 5);
        json_object_set_new(by, name,
                            json_integer(json_integer_value(json_object_get(by, name)) + n));
        if (source)
            json_object_set_new(
                totals, "leads",
                json_integer(json_integer_value(json_object_get(totals, "leads")) + n));
    }
}

static json_t *s_intake_totals(void)
{
    return json_pack("{s:i, s:o, s:o}", "leads", 0, "by_source", json_object(), "by_channel",
                     json_object());
}

/* {in_flight, oldest_ms}: the oldest message's deadline was set to when it
 * was last sent plus the hop's redelivery time. */
static json_t *s_lag(const store_value_t *count, const store_value_t *oldest, int redelivery_ms,
                     int64_t now_ms)
{
    long long in_flight = store_value_int(count, 0);
    long long oldest_ms = 0;
    if (in_flight > 0 && oldest && oldest->type == STORE_ARRAY && oldest->count >= 2) {
        double deadline = store_value_double(oldest->elements[1], (double)now_ms);
        oldest_ms = (long long)((double)now_ms - (deadline - redelivery_ms));
        if (oldest_ms < 0)
            oldest_ms = 0;
    }
    return json_pack("{s:I, s:I}", "in_flight", in_flight, "oldest_ms", oldest_ms);
}

static int s_by_name(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

/* The services the heartbeat set names (MEMBERS: ZRANGE ... WITHSCORES),
 * each with its hash, sorted by "name|host|pid". */
static json_t *s_services(store_t *store, const char *prefix, const store_value_t *members,
                          int64_t now_ms, err_t *err)
{
    size_t count = members && members->type == STORE_ARRAY ? members->count / 2 : 0;
    store_batch_t *batch = store_batch_new();
    for (size_t i = 0; i < count; i++) {
        char key[KEY_MAX], suffix[KEY_MAX];
        snprintf(suffix, sizeof suffix, "service:%s",
                 store_value_str(members->elements[2 * i], ""));
        keys_format(key, KEY_MAX, prefix, suffix);
        store_batch_command(batch, 2, (const char *[]){"HGETALL", key}, NULL);
    }
    json_t *list = NULL;
    if (count && store_batch_exec(store, batch, err) < 0)
        goto done;
    json_t **items = calloc(count ? count : 1, sizeof *items);
    if (!items)
        abort();
    for (size_t i = 0; i < count; i++) {
        const char *id = store_value_str(members->elements[2 * i], "");
        int64_t seen = (int64_t)store_value_double(members->elements[2 * i + 1], 0);
        const store_value_t *hash = store_batch_reply(batch, i);
        json_t *fields = json_object();
        for (size_t f = 0; hash && hash->type == STORE_ARRAY && f + 1 < hash->count; f += 2)
            json_object_set_new(fields, store_value_str(hash->elements[f], "?"),
                                json_string(store_value_str(hash->elements[f + 1], "")));
        /* "name|host|pid": the name has no '|'; a host name cannot either. */
        char name[64] = "", host[128] = "";
        long pid = 0;
        sscanf(id, "%63[^|]|%127[^|]|%ld", name, host, &pid);
        const char *version = json_string_value(json_object_get(fields, "version"));
        const char *started = json_string_value(json_object_get(fields, "started_at"));
        items[i] = json_pack("{s:s, s:s, s:s, s:I, s:s?, s:I, s:I, s:b}", "id", id, "name", name,
                             "host", host, "pid", (json_int_t)pid, "version", version, "started_at",
                             (json_int_t)(started ? atoll(started) : 0), "seen_at",
                             (json_int_t)seen, "up", now_ms - seen <= OPS_SERVICE_UP_MS);
        json_decref(fields);
    }
    qsort(items, count, sizeof *items, s_by_name);
    list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, items[i]);
    free(items);
done:
    store_batch_destroy(&batch);
    return list;
}

json_t *ops_view(store_t *store, const config_t *cfg, int64_t now_ms, err_t *err)
{
    const char *prefix = cfg->redis_prefix;
    json_t *view = kpi_ops(store, prefix, err);
    if (!view)
        return NULL;

    store_batch_t *batch = store_batch_new();
    int64_t hour = now_ms / HOUR_MS;
    for (int i = 0; i < INTAKE_HOURS; i++) {
        char key[KEY_MAX], suffix[64];
        snprintf(suffix, sizeof suffix, "intake:h:%lld", (long long)(hour - i));
        keys_format(key, KEY_MAX, prefix, suffix);
        store_batch_command(batch, 2, (const char *[]){"HGETALL", key}, NULL);
    }
    static const char *const hashes[] = {"grades", "score_hist", "stl_accept", "stl_touch",
                                         "rejects"};
    for (size_t i = 0; i < sizeof hashes / sizeof *hashes; i++) {
        char key[KEY_MAX];
        keys_format(key, KEY_MAX, prefix, hashes[i]);
        store_batch_command(batch, 2, (const char *[]){"HGETALL", key}, NULL);
    }
    char key[KEY_MAX];
    store_batch_command(
        batch, 2, (const char *[]){"XLEN", keys_format(key, KEY_MAX, prefix, "deadletter")}, NULL);
    store_batch_command(batch, 5,
                        (const char *[]){"ZRANGE", keys_format(key, KEY_MAX, prefix, "services"),
                                         "0", "-1", "WITHSCORES"},
                        NULL);
    static const char *const hops[] = {"inflight:scoring", "inflight:routing"};
    for (size_t i = 0; i < 2; i++) {
        keys_format(key, KEY_MAX, prefix, hops[i]);
        store_batch_command(batch, 2, (const char *[]){"ZCARD", key}, NULL);
        store_batch_command(batch, 5, (const char *[]){"ZRANGE", key, "0", "0", "WITHSCORES"},
                            NULL);
    }

    json_t *services = NULL;
    if (store_batch_exec(store, batch, err) < 0)
        goto fail;
    for (size_t i = 0; i < store_batch_count(batch); i++)
        if (store_reply_check(store_batch_reply(batch, i), "ops", err) < 0)
            goto fail;
#define REPLY(k) store_batch_reply(batch, INTAKE_HOURS + (k))
    services = s_services(store, prefix, REPLY(R_SERVICES), now_ms, err);
    if (!services)
        goto fail;

    json_t *day = s_intake_totals(), *week = s_intake_totals();
    for (int i = 0; i < INTAKE_HOURS; i++) {
        if (i < INTAKE_DAY_HRS)
            s_intake_add(day, store_batch_reply(batch, (size_t)i));
        s_intake_add(week, store_batch_reply(batch, (size_t)i));
    }
    json_object_set_new(view, "intake", json_pack("{s:o, s:o}", "last_24h", day, "last_7d", week));

    json_object_set_new(view, "grades", s_counts(REPLY(R_GRADES)));
    json_t *hist = s_counts(REPLY(R_SCORE_HIST)), *buckets = json_array();
    for (size_t i = 0; i < SCORE_BUCKET_COUNT; i++)
        json_array_append_new(
            buckets, json_pack("{s:s, s:I}", "bucket", s_score_buckets[i], "leads",
                               json_integer_value(json_object_get(hist, s_score_buckets[i]))));
    json_decref(hist);
    json_object_set_new(view, "score_buckets", buckets);

    json_t *assign = json_object_get(json_object_get(view, "summary"), "speed_to_lead_ms");
    json_object_set_new(view, "speed_to_lead",
                        json_pack("{s:O, s:o, s:o}", "intake_to_assign", assign, "assign_to_accept",
                                  views_stl_json(REPLY(R_STL_ACCEPT)), "intake_to_touch",
                                  views_stl_json(REPLY(R_STL_TOUCH))));

    json_object_set_new(view, "rejects", s_counts(REPLY(R_REJECTS)));
    json_object_set_new(view, "deadletter", json_integer(store_value_int(REPLY(R_DEADLETTER), 0)));
    json_object_set_new(view, "services", services);
    json_object_set_new(view, "lag",
                        json_pack("{s:o, s:o}", "scoring",
                                  s_lag(REPLY(R_SCORING_COUNT), REPLY(R_SCORING_OLDEST),
                                        cfg->ingest_redelivery_ms, now_ms),
                                  "routing",
                                  s_lag(REPLY(R_ROUTING_COUNT), REPLY(R_ROUTING_OLDEST),
                                        cfg->scoring_redelivery_ms, now_ms)));
#undef REPLY
    store_batch_destroy(&batch);
    return view;
fail:
    store_batch_destroy(&batch);
    json_decref(view);
    return NULL;
}
