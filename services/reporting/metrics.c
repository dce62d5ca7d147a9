/* metrics.c — bus counters and the /metrics page (written with prom_text.h);
 * see metrics.h. */
#include "metrics.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "keys.h"
#include "leadops.pb-c.h"
#include "prom_text.h"
#include "views.h"

/* Event types are small protobuf enum values; anything at or above this
 * slot count never passes envelope_decode. */
#define EVENT_TYPE_SLOTS 16
/* Longest <prefix>:bus field: "rejected:" and a cut reason. */
#define FIELD_MAX (16 + METRICS_REASON_MAX)

const char *const metrics_family_names[] = {
    "leadops_events_total",
    "leadops_bus_malformed_total",
    "leadops_rejected_total",
    "leadops_http_unauthorized_total",
    "leadops_curve_denied_total",
    "leadops_bus_speed_to_lead_seconds",
    "leadops_stats_total",
    "leadops_queue_depth",
    "leadops_queue_oldest_wait_seconds",
    "leadops_queue_free_capacity",
    "leadops_queue_reps_online",
    "leadops_rep_open_leads",
    "leadops_rep_capacity",
    "leadops_rep_utilization_ratio",
    "leadops_speed_to_lead_seconds",
    "leadops_redis_up",
    NULL,
};

typedef struct {
    char reason[METRICS_REASON_MAX + 1];
    uint64_t count;
} s_reason_count_t;

/* One set of bus counters: what is pending, or the totals in Redis. */
typedef struct {
    uint64_t events[EVENT_TYPE_SLOTS]; /* by Leadops__EventType */
    uint64_t malformed;
    s_reason_count_t reasons[METRICS_MAX_REASONS];
    size_t reason_count;
    uint64_t reasons_other;        /* past the cap, or spelled METRICS_OTHER_REASON */
    stl_histogram_t speed_to_lead; /* first assignments seen on the bus */
} s_counts_t;

struct metrics {
    s_counts_t pending; /* counted since the last successful flush */
    s_counts_t totals;  /* <prefix>:bus as last read */
    bool totals_known;  /* totals holds a read of the hash */
    bool has_pending;
    uint64_t http_unauthorized; /* HTTP requests refused 401 (from httpd) */
    uint64_t curve_denied;      /* CurveZMQ handshakes denied (from the ZAP handler) */
};

metrics_t *metrics_new(err_t *err)
{
    metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        err_set(err, ERR_NOMEM, "out of memory for metrics");
    return self;
}

void metrics_destroy(metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void metrics_count_malformed(metrics_t *self)
{
    self->pending.malformed++;
    self->has_pending = true;
}

bool metrics_has_pending(const metrics_t *self)
{
    return self->has_pending;
}

void metrics_set_auth_counts(metrics_t *self, uint64_t http_unauthorized, uint64_t curve_denied)
{
    self->http_unauthorized = http_unauthorized;
    self->curve_denied = curve_denied;
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Copies TEXT into OUT (SIZE bytes with the NUL) as valid UTF-8: invalid
 * bytes become '?', and a cut never splits a character. */
static void s_utf8_copy(char *out, size_t size, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t left = strlen(text), o = 0;
    while (left) {
        size_t n = prom_utf8_char_len(p, left);
        size_t take = n ? n : 1;
        if (o + take >= size)
            break;
        if (n)
            memcpy(out + o, p, n);
        else
            out[o] = '?';
        o += take;
        p += take;
        left -= take;
    }
    out[o] = '\0';
}

/* ---- counting ----------------------------------------------------------- */

static s_reason_count_t *s_find_reason(s_counts_t *counts, const char *reason)
{
    for (size_t i = 0; i < counts->reason_count; i++)
        if (strcmp(counts->reasons[i].reason, reason) == 0)
            return &counts->reasons[i];
    return NULL;
}

/* Adds N to REASON in COUNTS, or to the other reasons when COUNTS is full. */
static void s_add_reason(s_counts_t *counts, const char *reason, uint64_t n)
{
    s_reason_count_t *slot = s_find_reason(counts, reason);
    if (!slot && counts->reason_count < METRICS_MAX_REASONS &&
        strcmp(reason, METRICS_OTHER_REASON) != 0) {
        slot = &counts->reasons[counts->reason_count++];
        memcpy(slot->reason, reason, sizeof slot->reason);
        slot->count = 0;
    }
    if (slot)
        slot->count += n;
    else
        counts->reasons_other += n;
}

static void s_count_reason(metrics_t *self, const char *reason)
{
    char cut[METRICS_REASON_MAX + 1];
    s_utf8_copy(cut, sizeof cut, reason && *reason ? reason : "unknown");
    /* Reasons come from other processes; the cap, over the hash and the
     * pending counts together, keeps a chatty producer from growing the
     * label set (and Prometheus' memory) without end. */
    size_t known = self->totals.reason_count;
    for (size_t i = 0; i < self->pending.reason_count; i++)
        if (!s_find_reason(&self->totals, self->pending.reasons[i].reason))
            known++;
    bool is_known = s_find_reason(&self->totals, cut) || s_find_reason(&self->pending, cut);
    if (is_known || known < METRICS_MAX_REASONS)
        s_add_reason(&self->pending, cut, 1);
    else
        self->pending.reasons_other++;
}

int metrics_on_event(metrics_t *self, const void *bytes, size_t len, err_t *err)
{
    self->has_pending = true;
    Leadops__Envelope *env = envelope_decode(bytes, len, err);
    if (!env || (unsigned)env->type >= EVENT_TYPE_SLOTS) {
        if (env)
            leadops__envelope__free_unpacked(env, NULL);
        self->pending.malformed++;
        return env ? err_set(err, ERR_INPUT, "event type out of range") : -1;
    }
    int rc = 0;
    if (env->type == LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT) {
        Leadops__Assignment *assignment =
            leadops__assignment__unpack(NULL, env->payload.len, env->payload.data);
        if (!assignment) {
            rc = err_set(err, ERR_INPUT, "malformed assignment payload");
        } else {
            /* Speed to lead is about the first contact: a reassignment after
             * an SLA breach would count the same lead twice. */
            if (assignment->attempt <= 1 && assignment->assigned_at_ms > 0 &&
                assignment->ingested_at_ms > 0)
                stl_histogram_observe(
                    &self->pending.speed_to_lead,
                    (double)(assignment->assigned_at_ms - assignment->ingested_at_ms));
            leadops__assignment__free_unpacked(assignment, NULL);
        }
    } else if (env->type == LEADOPS__EVENT_TYPE__EVENT_REJECTED) {
        Leadops__Rejection *rejection =
            leadops__rejection__unpack(NULL, env->payload.len, env->payload.data);
        if (!rejection) {
            rc = err_set(err, ERR_INPUT, "malformed rejection payload");
        } else {
            s_count_reason(self, rejection->reason);
            leadops__rejection__free_unpacked(rejection, NULL);
        }
    }
    if (rc == 0)
        self->pending.events[env->type]++;
    else
        self->pending.malformed++;
    leadops__envelope__free_unpacked(env, NULL);
    return rc;
}

/* ---- the <prefix>:bus hash ---------------------------------------------- */

/* Queues HINCRBY KEY FIELD N on BATCH when N is not 0. */
static void s_batch_incr(store_batch_t *batch, const char *key, const char *field, uint64_t n)
{
    if (n == 0)
        return;
    char number[24];
    snprintf(number, sizeof number, "%llu", (unsigned long long)n);
    const char *argv[] = {"HINCRBY", key, field, number};
    size_t lens[] = {7, strlen(key), strlen(field), strlen(number)};
    store_batch_command(batch, 4, argv, lens);
}

static void s_batch_pending(store_batch_t *batch, const char *key, const s_counts_t *pending)
{
    char field[FIELD_MAX];
    for (int type = 1; type < EVENT_TYPE_SLOTS; type++) {
        const char *name = envelope_type_name((Leadops__EventType)type);
        if (!pending->events[type] || strcmp(name, "unknown") == 0)
            continue; /* the render leaves unnamed types out too */
        snprintf(field, sizeof field, "event:%s", name);
        s_batch_incr(batch, key, field, pending->events[type]);
    }
    s_batch_incr(batch, key, "malformed", pending->malformed);
    for (size_t i = 0; i < pending->reason_count; i++) {
        snprintf(field, sizeof field, "rejected:%s", pending->reasons[i].reason);
        s_batch_incr(batch, key, field, pending->reasons[i].count);
    }
    s_batch_incr(batch, key, "rejected:" METRICS_OTHER_REASON, pending->reasons_other);
    const stl_histogram_t *stl = &pending->speed_to_lead;
    if (!stl->count)
        return;
    for (size_t i = 0; i <= STL_BUCKET_COUNT; i++) {
        char bucket[STL_FIELD_MAX];
        if (i < STL_BUCKET_COUNT)
            stl_bucket_field(i, bucket);
        else
            snprintf(bucket, sizeof bucket, "le_+Inf");
        snprintf(field, sizeof field, "stl:%s", bucket);
        s_batch_incr(batch, key, field, stl->counts[i]);
    }
    s_batch_incr(batch, key, "stl:count", stl->count);
    char sum[40];
    snprintf(sum, sizeof sum, "%.17g", stl->sum_ms);
    const char *argv[] = {"HINCRBYFLOAT", key, "stl:sum_ms", sum};
    size_t lens[] = {12, strlen(key), 10, strlen(sum)};
    store_batch_command(batch, 4, argv, lens);
}

/* A "rejected:<reason>" field of the hash and its count, as text. */
typedef struct {
    const char *field, *count;
} s_reason_field_t;

static int s_compare_reason_fields(const void *a, const void *b)
{
    return strcmp(((const s_reason_field_t *)a)->field, ((const s_reason_field_t *)b)->field);
}

/* Fills TOTALS from an HGETALL reply of the hash; unknown fields are
 * ignored (a newer version may add some). Reasons take their slots in the
 * order of their names, not of the reply (which Redis does not keep for a
 * large hash): a hash with more than the cap reads the same every time. */
static void s_totals_from_hash(s_counts_t *totals, const store_value_t *hash)
{
    memset(totals, 0, sizeof *totals);
    size_t pairs = hash ? hash->count / 2 : 0, rejected = 0;
    s_reason_field_t *reasons = calloc(pairs ? pairs : 1, sizeof *reasons);
    if (!reasons)
        abort();
    for (size_t i = 0; i < pairs; i++) {
        const char *field = store_value_str(hash->elements[2 * i], "");
        if (strncmp(field, "rejected:", 9) == 0)
            reasons[rejected++] =
                (s_reason_field_t){field, store_value_str(hash->elements[2 * i + 1], "0")};
    }
    qsort(reasons, rejected, sizeof *reasons, s_compare_reason_fields);
    for (size_t r = 0; r < rejected; r++) {
        char reason[METRICS_REASON_MAX + 1];
        s_utf8_copy(reason, sizeof reason, reasons[r].field + 9);
        s_add_reason(totals, reason, strtoull(reasons[r].count, NULL, 10));
    }
    free(reasons);
    for (size_t i = 0; hash && i + 1 < hash->count; i += 2) {
        const char *field = store_value_str(hash->elements[i], "");
        const char *text = store_value_str(hash->elements[i + 1], "0");
        uint64_t n = strtoull(text, NULL, 10);
        if (strncmp(field, "event:", 6) == 0) {
            for (int type = 1; type < EVENT_TYPE_SLOTS; type++)
                if (strcmp(field + 6, envelope_type_name((Leadops__EventType)type)) == 0 &&
                    strcmp(field + 6, "unknown") != 0)
                    totals->events[type] = n;
        } else if (strcmp(field, "malformed") == 0) {
            totals->malformed = n;
        } else if (strncmp(field, "rejected:", 9) == 0) {
            continue; /* above */
        } else if (strcmp(field, "stl:count") == 0) {
            totals->speed_to_lead.count = n;
        } else if (strcmp(field, "stl:sum_ms") == 0) {
            totals->speed_to_lead.sum_ms = strtod(text, NULL);
        } else if (strcmp(field, "stl:le_+Inf") == 0) {
            totals->speed_to_lead.counts[STL_BUCKET_COUNT] = n;
        } else if (strncmp(field, "stl:", 4) == 0) {
            for (size_t b = 0; b < STL_BUCKET_COUNT; b++) {
                char bucket[STL_FIELD_MAX];
                stl_bucket_field(b, bucket);
                if (strcmp(field + 4, bucket) == 0)
                    totals->speed_to_lead.counts[b] = n;
            }
        }
    }
}

/* Holds the pending reasons to the cap over the hash (TOTALS) and memory
 * together: a reason the hash does not have, past the cap, counts as
 * "other". Counting can only check against the hash once it was read: a
 * restarted process counts before its first flush reads it. */
static void s_cap_pending_reasons(metrics_t *self)
{
    s_counts_t *pending = &self->pending;
    size_t known = self->totals.reason_count, kept = 0;
    for (size_t i = 0; i < pending->reason_count; i++) {
        s_reason_count_t *r = &pending->reasons[i];
        bool in_hash = s_find_reason(&self->totals, r->reason) != NULL;
        if (in_hash || known < METRICS_MAX_REASONS) {
            known += in_hash ? 0 : 1;
            pending->reasons[kept++] = *r;
        } else {
            pending->reasons_other += r->count;
        }
    }
    pending->reason_count = kept;
}

/* Reads the hash into TOTALS (HGETALL KEY). */
static int s_read_totals(metrics_t *self, store_t *store, const char *key, err_t *err)
{
    store_value_t *hash = store_command(store, err, "HGETALL %s", key);
    if (!hash)
        return -1;
    int rc = 0;
    if (hash->type != STORE_ARRAY) {
        rc = err_set(err, ERR_IO, "redis HGETALL %s: %s", key,
                     hash->str ? hash->str : "unexpected reply");
    } else {
        s_totals_from_hash(&self->totals, hash);
        self->totals_known = true;
    }
    store_value_free(&hash);
    return rc;
}

int metrics_flush(metrics_t *self, store_t *store, const char *prefix, err_t *err)
{
    if (self->totals_known && !self->has_pending)
        return 0;
    char key[KEY_MAX];
    if (strlen(prefix) + sizeof ":bus" > sizeof key)
        return err_set(err, ERR_CONFIG, "redis prefix too long");
    keys_format(key, sizeof key, prefix, "bus");
    if (self->has_pending) {
        /* The reasons' cap needs the hash's reasons first. */
        if (!self->totals_known && s_read_totals(self, store, key, err) < 0)
            return -1;
        s_cap_pending_reasons(self);
    }
    store_batch_t *batch = store_batch_new();
    /* MULTI/EXEC: a batch is added whole or not at all, so a failure
     * before EXEC can be retried without counting anything twice. */
    size_t exec_index = 0;
    if (self->has_pending) {
        store_batch_command(batch, 1, (const char *[]){"MULTI"}, (size_t[]){5});
        s_batch_pending(batch, key, &self->pending);
        store_batch_command(batch, 1, (const char *[]){"EXEC"}, (size_t[]){4});
        exec_index = store_batch_count(batch) - 1;
    }
    store_batch_command(batch, 2, (const char *[]){"HGETALL", key}, (size_t[]){7, strlen(key)});
    int rc = store_batch_exec(store, batch, err);
    if (rc == 0 && self->has_pending) {
        const store_value_t *exec = store_batch_reply(batch, exec_index);
        if (!exec || exec->type != STORE_ARRAY) {
            /* Discarded (or never reached): nothing was added; retry. */
            rc = err_set(err, ERR_IO, "redis %s: EXEC failed: %s", key,
                         exec && exec->str ? exec->str : "no reply");
        } else {
            /* Applied: never again, even when a command inside failed. */
            memset(&self->pending, 0, sizeof self->pending);
            self->has_pending = false;
            for (size_t i = 0; rc == 0 && i < exec->count; i++)
                if (exec->elements[i] && exec->elements[i]->type == STORE_ERROR)
                    rc = err_set(err, ERR_IO, "redis %s: %s", key, exec->elements[i]->str);
        }
    }
    if (rc == 0) {
        const store_value_t *hash = store_batch_reply(batch, store_batch_count(batch) - 1);
        if (!hash || hash->type != STORE_ARRAY) {
            rc = err_set(err, ERR_IO, "redis HGETALL %s: %s", key,
                         hash && hash->str ? hash->str : "no reply");
        } else {
            s_totals_from_hash(&self->totals, hash);
            self->totals_known = true;
        }
    }
    store_batch_destroy(&batch);
    return rc;
}

static void s_render_bus(const metrics_t *self, prom_text_t *out)
{
    const s_counts_t *totals = &self->totals, *pending = &self->pending;
    prom_family(out, "leadops_events_total", "counter",
                "Events seen on the event bus, by type (kept in Redis <prefix>:bus, across "
                "restarts).");
    for (int type = 1; type < EVENT_TYPE_SLOTS; type++) {
        const char *name = envelope_type_name((Leadops__EventType)type);
        if (strcmp(name, "unknown") != 0)
            prom_sample(out, "leadops_events_total", "type", name,
                        (double)(totals->events[type] + pending->events[type]));
    }
    prom_family(out, "leadops_bus_malformed_total", "counter",
                "Messages on the event bus that were not a valid envelope; skipped.");
    prom_sample(out, "leadops_bus_malformed_total", NULL, NULL,
                (double)(totals->malformed + pending->malformed));
    prom_family(out, "leadops_rejected_total", "counter",
                "Input refused by ingest, by reason, as seen on the event bus.");
    /* One sample per reason: the totals' reasons with what is pending for
     * them, then the pending reasons the hash does not know yet. */
    s_counts_t merged = *totals;
    for (size_t i = 0; i < pending->reason_count; i++)
        s_add_reason(&merged, pending->reasons[i].reason, pending->reasons[i].count);
    merged.reasons_other += pending->reasons_other;
    for (size_t i = 0; i < merged.reason_count; i++)
        prom_sample(out, "leadops_rejected_total", "reason", merged.reasons[i].reason,
                    (double)merged.reasons[i].count);
    if (merged.reasons_other)
        prom_sample(out, "leadops_rejected_total", "reason", METRICS_OTHER_REASON,
                    (double)merged.reasons_other);
    prom_family(out, "leadops_http_unauthorized_total", "counter",
                "Reporting API requests refused 401 (no or a wrong bearer token), since this "
                "process started.");
    prom_sample(out, "leadops_http_unauthorized_total", NULL, NULL,
                (double)self->http_unauthorized);
    prom_family(out, "leadops_curve_denied_total", "counter",
                "CurveZMQ handshakes on reporting's sockets denied (client key not allowed), since "
                "this process started.");
    prom_sample(out, "leadops_curve_denied_total", NULL, NULL, (double)self->curve_denied);
    stl_histogram_t stl = totals->speed_to_lead;
    for (size_t i = 0; i <= STL_BUCKET_COUNT; i++)
        stl.counts[i] += pending->speed_to_lead.counts[i];
    stl.count += pending->speed_to_lead.count;
    stl.sum_ms += pending->speed_to_lead.sum_ms;
    prom_histogram(out, "leadops_bus_speed_to_lead_seconds",
                   "Ingest to first assignment of the assignments seen on the event bus.", &stl);
}

/* The Redis-backed families. Returns 0, or -1 with *err set; on failure
 * nothing has been appended. */
static int s_render_redis(prom_text_t *out, store_t *store, const char *prefix, err_t *err)
{
    stl_histogram_t stl;
    json_t *summary = views_summary(store, prefix, err);
    json_t *queues = summary ? views_queues(store, prefix, err) : NULL;
    json_t *reps = queues ? views_reps(store, prefix, err) : NULL;
    int rc = reps && views_stl_read(store, prefix, &stl, err) == 0 ? 0 : -1;
    if (rc == 0) {
        prom_family(out, "leadops_stats_total", "counter",
                    "Pipeline counters kept in Redis (<prefix>:stats), across restarts.");
        for (size_t i = 0; i < VIEWS_STAT_COUNT; i++)
            prom_sample(out, "leadops_stats_total", "stat", views_stat_names[i],
                        json_number_value(json_object_get(summary, views_stat_names[i])));
        json_t *queue_list = json_object_get(queues, "queues");
        prom_gauges(out, "leadops_queue_depth", "Leads waiting in the queue.", queue_list, "queue",
                    "name", "waiting", 1);
        prom_gauges(out, "leadops_queue_oldest_wait_seconds",
                    "Age of the oldest waiting lead (among the first 100 by priority).", queue_list,
                    "queue", "name", "oldest_wait_ms", 0.001);
        prom_gauges(out, "leadops_queue_free_capacity", "Open slots of the queue's online reps.",
                    queue_list, "queue", "name", "free_capacity", 1);
        prom_gauges(out, "leadops_queue_reps_online", "Reps of the queue who are online.",
                    queue_list, "queue", "name", "reps_online", 1);
        json_t *rep_list = json_object_get(reps, "reps");
        prom_gauges(out, "leadops_rep_open_leads", "Leads the rep holds open.", rep_list, "rep",
                    "id", "open", 1);
        prom_gauges(out, "leadops_rep_capacity", "Open leads the rep may hold.", rep_list, "rep",
                    "id", "capacity", 1);
        prom_gauges(out, "leadops_rep_utilization_ratio",
                    "Open leads over capacity (0 when the capacity is 0).", rep_list, "rep", "id",
                    "utilization", 1);
        prom_histogram(out, "leadops_speed_to_lead_seconds",
                       "Ingest to first assignment, from Redis (<prefix>:stl).", &stl);
    }
    json_decref(summary);
    json_decref(queues);
    json_decref(reps);
    return rc;
}

char *metrics_render(metrics_t *self, store_t *store, const char *prefix, size_t *len, err_t *err)
{
    prom_text_t out;
    prom_text_init(&out);
    /* The bus totals first, so that the page shows what Redis holds. */
    int redis_rc = metrics_flush(self, store, prefix, err);
    s_render_bus(self, &out);
    if (redis_rc == 0)
        redis_rc = s_render_redis(&out, store, prefix, err);
    prom_family(&out, "leadops_redis_up", "gauge",
                "1 when this scrape could read Redis; the Redis-backed families are absent "
                "when 0.");
    prom_sample(&out, "leadops_redis_up", NULL, NULL, redis_rc == 0 ? 1 : 0);
    *len = out.len;
    return out.text;
}
