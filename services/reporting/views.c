/* views.c — read-only JSON views over the Redis state; see views.h. */
#include "views.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "explain.h"
#include "keys.h"
#include "leadops.pb-c.h"
#include "views_internal.h"

const char *const views_stat_names[VIEWS_STAT_COUNT] = {
    "ingested_leads", "ingested_activities",
    "duplicates",     "rejected",
    "scored",         "qualified",
    "assigned",       "queued",
    "closed",         "capped",
    "stage_up",       "stage_down",
    "unqueued",
};

/* How many waiting leads per queue oldest_wait_ms looks at: the waiting set
 * is ordered by priority, not age, so this bounds the cost of the view at
 * the price of missing an old low-priority lead deep in a long queue. */
#define OLDEST_WAIT_SAMPLE 100

/* ---- small helpers ---------------------------------------------------- */

/* Formats "<prefix>:<suffix...>" into OUT. Returns -1 when it does not fit,
 * so an over-long lead id never silently reads a truncated key. */
int views_keyf(char out[static KEY_MAX], const char *prefix, const char *fmt, ...)
{
    char suffix[KEY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof suffix || strlen(prefix) + 1 + (size_t)n >= KEY_MAX)
        return -1;
    keys_format(out, KEY_MAX, prefix, suffix);
    return 0;
}

/* The value of FIELD in an HGETALL reply (a flat field, value, ... array), or NULL. */
const store_value_t *views_hash_get(const store_value_t *hash, const char *field)
{
    if (!hash || hash->type != STORE_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < hash->count; i += 2) {
        const store_value_t *name = hash->elements[i];
        if (name && name->type == STORE_STR && strcmp(name->str, field) == 0)
            return hash->elements[i + 1];
    }
    return NULL;
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The string members of a set/zset reply, sorted, as an array pointing into
 * REPLY (which must outlive it). Returns NULL with *COUNT 0 when empty. */
static const char **s_sorted_members(const store_value_t *reply, size_t *count)
{
    *count = 0;
    if (!reply || reply->type != STORE_ARRAY || reply->count == 0)
        return NULL;
    const char **names = calloc(reply->count, sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < reply->count; i++)
        if (store_value_str(reply->elements[i], NULL))
            names[(*count)++] = reply->elements[i]->str;
    qsort(names, *count, sizeof *names, s_strcmp_p);
    return names;
}

void views_iso8601(long long ms, char *out, size_t size)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03dZ", (int)(ms % 1000));
}

/* A JSON string of TEXT. Nothing on the way (protobuf-c, Redis) checks
 * UTF-8, and jansson refuses invalid UTF-8, so such bytes become '?' rather
 * than the whole field silently vanishing. */
json_t *views_json_text(const char *text)
{
    json_t *string = json_string(text);
    if (string)
        return string;
    char *ascii = strdup(text);
    if (!ascii)
        return NULL;
    for (char *p = ascii; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    string = json_string(ascii);
    free(ascii);
    return string;
}

/* Sets NAME to a string, or to null when VALUE is NULL. */
void views_set_str(json_t *obj, const char *name, const char *value)
{
    json_object_set_new(obj, name, value ? views_json_text(value) : json_null());
}

/* ---- speed-to-lead hash (layout in stl.h) ------------------------------ */

/* Fills HIST from an HGETALL reply of <p>:stl. "count" is authoritative for
 * the total, so the +Inf bucket is what it has beyond the le_ fields. */
static void s_stl_from_hash(const store_value_t *hash, stl_histogram_t *hist)
{
    memset(hist, 0, sizeof *hist);
    uint64_t finite = 0;
    for (size_t i = 0; i < STL_BUCKET_COUNT; i++) {
        char field[STL_FIELD_MAX];
        stl_bucket_field(i, field);
        long long n = store_value_int(views_hash_get(hash, field), 0);
        hist->counts[i] = n > 0 ? (uint64_t)n : 0;
        finite += hist->counts[i];
    }
    long long total = store_value_int(views_hash_get(hash, "count"), -1);
    hist->count = total > 0 && (uint64_t)total > finite ? (uint64_t)total : finite;
    hist->counts[STL_BUCKET_COUNT] = hist->count - finite;
    const store_value_t *sum = views_hash_get(hash, "sum_ms");
    hist->sum_ms = store_value_double(sum ? sum : views_hash_get(hash, "sum"), 0);
}

int views_stl_read(store_t *store, const char *prefix, stl_histogram_t *hist, err_t *err)
{
    char key[KEY_MAX];
    if (views_keyf(key, prefix, "stl") < 0)
        return err_set(err, ERR_CONFIG, "redis prefix too long");
    store_value_t *reply = store_command(store, err, "HGETALL %s", key);
    if (!reply)
        return -1;
    int rc = store_reply_check(reply, "HGETALL stl", err);
    if (rc == 0)
        s_stl_from_hash(reply, hist);
    store_value_free(&reply);
    return rc;
}

/* ---- queues ----------------------------------------------------------- */

/* The per-queue facts gathered over the stages of views_queues. */
typedef struct {
    const char *name;            /* borrowed from the SMEMBERS reply */
    const store_value_t *sample; /* borrowed: ZRANGE of the first waiting leads */
    const store_value_t *reps;   /* borrowed: ZRANGE of the :rr set */
    size_t first_reply;          /* its first reply in stage 3 */
} s_queue_row_t;

/* Stage 3 of views_queues, one round trip: per queue, each sampled lead's
 * queued_at, then each of its reps' status, capacity and open count. A rep
 * in two queues is read twice, which costs less than the bookkeeping. */
static int s_queue_stage3(store_t *store, const char *prefix, s_queue_row_t *rows, size_t row_count,
                          store_batch_t *batch, err_t *err)
{
    char key[KEY_MAX];
    for (size_t q = 0; q < row_count; q++) {
        rows[q].first_reply = store_batch_count(batch);
        /* One command per member, even for a bad id, keeps indexes aligned. */
        for (size_t i = 0; i < rows[q].sample->count; i++) {
            const char *lead_id = store_value_str(rows[q].sample->elements[i], "");
            if (views_keyf(key, prefix, "lead:%s", lead_id) < 0)
                key[0] = '\0';
            store_batch_command(batch, 3, (const char *[]){"HGET", key, "queued_at"}, NULL);
        }
        for (size_t i = 0; i < rows[q].reps->count; i++) {
            const char *rep_id = store_value_str(rows[q].reps->elements[i], "");
            if (views_keyf(key, prefix, "rep:%s", rep_id) < 0)
                key[0] = '\0';
            store_batch_command(batch, 5,
                                (const char *[]){"HMGET", key, "status", "capacity", "open"}, NULL);
        }
    }
    if (store_batch_count(batch) == 0)
        return 0;
    if (store_batch_exec(store, batch, err) < 0)
        return -1;
    for (size_t i = 0; i < store_batch_count(batch); i++)
        if (store_reply_check(store_batch_reply(batch, i), "queue leads and reps", err) < 0)
            return -1;
    return 0;
}

static json_t *s_queue_json(const s_queue_row_t *row, const store_value_t *waiting,
                            const store_batch_t *batch, long long now_ms)
{
    size_t reply = row->first_reply;
    long long oldest = 0;
    for (size_t i = 0; i < row->sample->count; i++) {
        long long queued_at = store_value_int(store_batch_reply(batch, reply++), 0);
        if (queued_at > 0 && (oldest == 0 || queued_at < oldest))
            oldest = queued_at;
    }
    long long online = 0, free_capacity = 0;
    for (size_t i = 0; i < row->reps->count; i++) {
        const store_value_t *rep = store_batch_reply(batch, reply++);
        const char *status = store_value_str(store_value_at(rep, 0), "");
        if (strcmp(status, "online") != 0)
            continue;
        online++;
        long long spare =
            store_value_int(store_value_at(rep, 1), 0) - store_value_int(store_value_at(rep, 2), 0);
        free_capacity += spare > 0 ? spare : 0;
    }
    json_t *queue = json_object();
    views_set_str(queue, "name", row->name);
    json_object_set_new(queue, "waiting", json_integer(store_value_int(waiting, 0)));
    json_object_set_new(queue, "oldest_wait_ms",
                        json_integer(oldest > 0 && now_ms > oldest ? now_ms - oldest : 0));
    json_object_set_new(queue, "reps", json_integer((json_int_t)row->reps->count));
    json_object_set_new(queue, "reps_online", json_integer(online));
    json_object_set_new(queue, "free_capacity", json_integer(free_capacity));
    return queue;
}

json_t *views_queues(store_t *store, const char *prefix, err_t *err)
{
    char key[KEY_MAX];
    if (views_keyf(key, prefix, "queues") < 0) {
        err_set(err, ERR_CONFIG, "redis prefix too long");
        return NULL;
    }
    store_value_t *names_reply = store_command(store, err, "SMEMBERS %s", key);
    if (!names_reply)
        return NULL;
    json_t *view = NULL;
    size_t queue_count = 0;
    const char **names = NULL;
    s_queue_row_t *rows = NULL;
    store_batch_t *stage2 = store_batch_new(), *stage3 = store_batch_new();
    if (store_reply_check(names_reply, "SMEMBERS queues", err) < 0)
        goto done;
    names = s_sorted_members(names_reply, &queue_count);
    rows = calloc(queue_count ? queue_count : 1, sizeof *rows);
    if (!rows || (queue_count && !names)) {
        err_set(err, ERR_NOMEM, "out of memory building the queues view");
        goto done;
    }

    /* Stage 2: per queue, its depth, a sample of waiting leads and its reps. */
    char last[16];
    snprintf(last, sizeof last, "%d", OLDEST_WAIT_SAMPLE - 1);
    for (size_t q = 0; q < queue_count; q++) {
        char waiting[KEY_MAX], rr[KEY_MAX];
        if (views_keyf(waiting, prefix, "queue:%s:waiting", names[q]) < 0 ||
            views_keyf(rr, prefix, "queue:%s:rr", names[q]) < 0)
            waiting[0] = rr[0] = '\0';
        store_batch_command(stage2, 2, (const char *[]){"ZCARD", waiting}, NULL);
        store_batch_command(stage2, 4, (const char *[]){"ZRANGE", waiting, "0", last}, NULL);
        store_batch_command(stage2, 4, (const char *[]){"ZRANGE", rr, "0", "-1"}, NULL);
    }
    if (queue_count && store_batch_exec(store, stage2, err) < 0)
        goto done;
    for (size_t q = 0; q < queue_count; q++) {
        for (size_t k = 0; k < 3; k++)
            if (store_reply_check(store_batch_reply(stage2, 3 * q + k), "queue state", err) < 0)
                goto done;
        rows[q].name = names[q];
        rows[q].sample = store_batch_reply(stage2, 3 * q + 1);
        rows[q].reps = store_batch_reply(stage2, 3 * q + 2);
    }
    if (s_queue_stage3(store, prefix, rows, queue_count, stage3, err) < 0)
        goto done;

    long long now_ms = (long long)clock_now_ms();
    json_t *list = json_array();
    for (size_t q = 0; q < queue_count; q++)
        json_array_append_new(
            list, s_queue_json(&rows[q], store_batch_reply(stage2, 3 * q), stage3, now_ms));
    view = json_object();
    json_object_set_new(view, "queues", list);
done:
    store_batch_destroy(&stage2);
    store_batch_destroy(&stage3);
    free(rows);
    free(names);
    store_value_free(&names_reply);
    return view;
}

/* ---- reps ------------------------------------------------------------- */

static json_t *s_rep_json(const char *rep_id, const store_value_t *fields,
                          const store_value_t *queues_reply)
{
    long long capacity = store_value_int(store_value_at(fields, 2), 0);
    long long open = store_value_int(store_value_at(fields, 3), 0);
    json_t *rep = json_object();
    views_set_str(rep, "id", rep_id);
    views_set_str(rep, "name", store_value_str(store_value_at(fields, 0), NULL));
    views_set_str(rep, "status", store_value_str(store_value_at(fields, 1), NULL));
    json_object_set_new(rep, "capacity", json_integer(capacity));
    json_object_set_new(rep, "open", json_integer(open));
    json_object_set_new(rep, "assigned_total",
                        json_integer(store_value_int(store_value_at(fields, 4), 0)));
    json_object_set_new(rep, "utilization",
                        json_real(capacity > 0 ? (double)open / (double)capacity : 0));
    size_t queue_count = 0;
    const char **queues = s_sorted_members(queues_reply, &queue_count);
    json_t *list = json_array();
    for (size_t i = 0; i < queue_count; i++)
        json_array_append_new(list, views_json_text(queues[i]));
    free(queues);
    json_object_set_new(rep, "queues", list);
    return rep;
}

json_t *views_reps(store_t *store, const char *prefix, err_t *err)
{
    char key[KEY_MAX];
    if (views_keyf(key, prefix, "reps") < 0) {
        err_set(err, ERR_CONFIG, "redis prefix too long");
        return NULL;
    }
    store_value_t *ids_reply = store_command(store, err, "SMEMBERS %s", key);
    if (!ids_reply)
        return NULL;
    json_t *view = NULL;
    size_t rep_count = 0;
    const char **ids = NULL;
    store_batch_t *batch = store_batch_new();
    if (store_reply_check(ids_reply, "SMEMBERS reps", err) < 0)
        goto done;
    ids = s_sorted_members(ids_reply, &rep_count);
    if (rep_count && !ids) {
        err_set(err, ERR_NOMEM, "out of memory building the reps view");
        goto done;
    }
    for (size_t r = 0; r < rep_count; r++) {
        char rep_key[KEY_MAX], queues_key[KEY_MAX];
        if (views_keyf(rep_key, prefix, "rep:%s", ids[r]) < 0 ||
            views_keyf(queues_key, prefix, "rep:%s:queues", ids[r]) < 0)
            rep_key[0] = queues_key[0] = '\0';
        store_batch_command(batch, 7,
                            (const char *[]){"HMGET", rep_key, "name", "status", "capacity", "open",
                                             "assigned_total"},
                            NULL);
        store_batch_command(batch, 2, (const char *[]){"SMEMBERS", queues_key}, NULL);
    }
    if (rep_count && store_batch_exec(store, batch, err) < 0)
        goto done;
    json_t *list = json_array();
    for (size_t r = 0; r < rep_count; r++) {
        const store_value_t *fields = store_batch_reply(batch, 2 * r);
        const store_value_t *queues = store_batch_reply(batch, 2 * r + 1);
        if (store_reply_check(fields, "rep state", err) < 0 ||
            store_reply_check(queues, "rep queues", err) < 0) {
            json_decref(list);
            goto done;
        }
        json_array_append_new(list, s_rep_json(ids[r], fields, queues));
    }
    view = json_object();
    json_object_set_new(view, "reps", list);
done:
    store_batch_destroy(&batch);
    free(ids);
    store_value_free(&ids_reply);
    return view;
}

/* ---- summary ---------------------------------------------------------- */

static json_t *s_stl_json(const stl_histogram_t *hist)
{
    json_t *stl = json_object();
    json_object_set_new(stl, "count", json_integer((json_int_t)hist->count));
    bool empty = hist->count == 0;
    static const struct {
        const char *name;
        double q;
    } quantiles[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}};
    for (size_t i = 0; i < sizeof quantiles / sizeof *quantiles; i++)
        json_object_set_new(stl, quantiles[i].name,
                            empty ? json_null()
                                  : json_real(stl_histogram_quantile(hist, quantiles[i].q)));
    json_object_set_new(stl, "mean",
                        empty ? json_null() : json_real(hist->sum_ms / (double)hist->count));
    return stl;
}

json_t *views_stl_json(const store_value_t *hash)
{
    stl_histogram_t hist;
    s_stl_from_hash(hash, &hist);
    return s_stl_json(&hist);
}

json_t *views_summary(store_t *store, const char *prefix, err_t *err)
{
    char stats_key[KEY_MAX], stl_key[KEY_MAX], queues_key[KEY_MAX];
    if (views_keyf(stats_key, prefix, "stats") < 0 || views_keyf(stl_key, prefix, "stl") < 0 ||
        views_keyf(queues_key, prefix, "queues") < 0) {
        err_set(err, ERR_CONFIG, "redis prefix too long");
        return NULL;
    }
    json_t *view = NULL;
    store_batch_t *first = store_batch_new(), *depths = store_batch_new();
    store_batch_command(first, 2, (const char *[]){"HGETALL", stats_key}, NULL);
    store_batch_command(first, 2, (const char *[]){"HGETALL", stl_key}, NULL);
    store_batch_command(first, 2, (const char *[]){"SMEMBERS", queues_key}, NULL);
    if (store_batch_exec(store, first, err) < 0)
        goto done;
    const store_value_t *stats = store_batch_reply(first, 0);
    const store_value_t *stl = store_batch_reply(first, 1);
    const store_value_t *queues = store_batch_reply(first, 2);
    if (store_reply_check(stats, "HGETALL stats", err) < 0 ||
        store_reply_check(stl, "HGETALL stl", err) < 0 ||
        store_reply_check(queues, "SMEMBERS queues", err) < 0)
        goto done;

    for (size_t q = 0; queues->type == STORE_ARRAY && q < queues->count; q++) {
        const char *name = store_value_str(queues->elements[q], NULL);
        char waiting[KEY_MAX];
        if (!name || views_keyf(waiting, prefix, "queue:%s:waiting", name) < 0)
            continue;
        store_batch_command(depths, 2, (const char *[]){"ZCARD", waiting}, NULL);
    }
    long long waiting_total = 0;
    if (store_batch_count(depths) > 0) {
        if (store_batch_exec(store, depths, err) < 0)
            goto done;
        for (size_t i = 0; i < store_batch_count(depths); i++) {
            if (store_reply_check(store_batch_reply(depths, i), "ZCARD waiting", err) < 0)
                goto done;
            waiting_total += store_value_int(store_batch_reply(depths, i), 0);
        }
    }

    view = json_object();
    for (size_t i = 0; i < VIEWS_STAT_COUNT; i++)
        json_object_set_new(
            view, views_stat_names[i],
            json_integer(store_value_int(views_hash_get(stats, views_stat_names[i]), 0)));
    json_object_set_new(view, "waiting", json_integer(waiting_total));
    stl_histogram_t hist;
    s_stl_from_hash(stl, &hist);
    json_object_set_new(view, "speed_to_lead_ms", s_stl_json(&hist));
done:
    store_batch_destroy(&first);
    store_batch_destroy(&depths);
    return view;
}

json_t *views_waiting_reason_samples(store_t *store, const char *prefix, const json_t *queues,
                                     int sample, err_t *err)
{
    size_t count = json_array_size(queues);
    store_batch_t *ranges = store_batch_new(), *reasons = store_batch_new();
    char key[KEY_MAX], suffix[KEY_MAX], last[16];
    snprintf(last, sizeof last, "%d", sample - 1);
    for (size_t q = 0; q < count; q++) {
        snprintf(suffix, sizeof suffix, "queue:%s:waiting",
                 json_string_value(json_object_get(json_array_get(queues, q), "name")));
        keys_format(key, sizeof key, prefix, suffix);
        store_batch_command(ranges, 4, (const char *[]){"ZRANGE", key, "0", last}, NULL);
    }
    json_t *out = NULL;
    if (count && store_batch_exec(store, ranges, err) < 0)
        goto done;
    for (size_t q = 0; q < count; q++) {
        const store_value_t *ids = store_batch_reply(ranges, q);
        if (store_reply_check(ids, "ZRANGE waiting", err) < 0)
            goto done;
        for (size_t i = 0; i < ids->count; i++) {
            snprintf(suffix, sizeof suffix, "lead:%s", store_value_str(ids->elements[i], ""));
            keys_format(key, sizeof key, prefix, suffix);
            store_batch_command(reasons, 3, (const char *[]){"HGET", key, "waiting_reason"}, NULL);
        }
    }
    if (store_batch_count(reasons) && store_batch_exec(store, reasons, err) < 0)
        goto done;
    /* The replies of the second batch follow the queues in order. */
    out = json_array();
    size_t next = 0;
    for (size_t q = 0; q < count; q++) {
        json_t *list = json_array();
        for (size_t i = 0; i < store_batch_reply(ranges, q)->count; i++)
            json_array_append_new(
                list, json_string_nocheck(store_value_str(store_batch_reply(reasons, next++), "")));
        json_array_append_new(out, list);
    }
done:
    store_batch_destroy(&ranges);
    store_batch_destroy(&reasons);
    return out;
}
