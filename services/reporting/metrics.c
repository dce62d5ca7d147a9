/* metrics.c — bus counters and the Prometheus exposition; see metrics.h. */
#include "metrics.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "leadops.pb-c.h"
#include "views.h"

/* Event types are small protobuf enum values; anything at or above this
 * slot count never passes envelope_decode. */
#define EVENT_TYPE_SLOTS 16

typedef struct {
    char reason[METRICS_REASON_MAX + 1];
    uint64_t count;
} s_reason_count_t;

struct metrics {
    uint64_t events[EVENT_TYPE_SLOTS]; /* by Leadops__EventType */
    uint64_t malformed;
    s_reason_count_t reasons[METRICS_MAX_REASONS];
    size_t reason_count;
    uint64_t reasons_other;            /* rejections past the reason cap */
    stl_histogram_t bus_speed_to_lead; /* first assignments seen on the bus */
    uint64_t http_unauthorized;        /* HTTP requests refused 401 (from httpd) */
    uint64_t curve_denied;             /* CurveZMQ handshakes denied (from the ZAP handler) */
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
    self->malformed++;
}

void metrics_set_auth_counts(metrics_t *self, uint64_t http_unauthorized, uint64_t curve_denied)
{
    self->http_unauthorized = http_unauthorized;
    self->curve_denied = curve_denied;
}

static void s_count_reason(metrics_t *self, const char *reason)
{
    char cut[METRICS_REASON_MAX + 1];
    snprintf(cut, sizeof cut, "%s", reason && *reason ? reason : "unknown");
    for (size_t i = 0; i < self->reason_count; i++)
        if (strcmp(self->reasons[i].reason, cut) == 0) {
            self->reasons[i].count++;
            return;
        }
    /* Reasons come from other processes; the cap keeps a chatty producer
     * from growing the label set (and Prometheus' memory) without end. */
    if (self->reason_count == METRICS_MAX_REASONS) {
        self->reasons_other++;
        return;
    }
    s_reason_count_t *slot = &self->reasons[self->reason_count++];
    memcpy(slot->reason, cut, sizeof slot->reason);
    slot->count = 1;
}

int metrics_on_event(metrics_t *self, const void *bytes, size_t len, err_t *err)
{
    Leadops__Envelope *env = envelope_decode(bytes, len, err);
    if (!env || (unsigned)env->type >= EVENT_TYPE_SLOTS) {
        if (env)
            leadops__envelope__free_unpacked(env, NULL);
        self->malformed++;
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
                    &self->bus_speed_to_lead,
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
        self->events[env->type]++;
    else
        self->malformed++;
    leadops__envelope__free_unpacked(env, NULL);
    return rc;
}

/* ---- text exposition -------------------------------------------------- */

typedef struct {
    char *text; /* owned */
    size_t len, capacity;
} s_text_t;

static void s_append(s_text_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_append(s_text_t *out, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(out->text + out->len, out->capacity - out->len, fmt, ap);
        va_end(ap);
        assert(n >= 0);
        if ((size_t)n < out->capacity - out->len) {
            out->len += (size_t)n;
            return;
        }
        size_t capacity = out->capacity * 2 + (size_t)n;
        char *grown = realloc(out->text, capacity);
        if (!grown)
            abort(); /* a scrape page is a few KB; no memory here is fatal anyway */
        out->text = grown;
        out->capacity = capacity;
    }
}

/* Writes VALUE as a label value: the format escapes \, " and newline. */
static void s_append_label(s_text_t *out, const char *value)
{
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\')
            s_append(out, "\\\\");
        else if (*p == '"')
            s_append(out, "\\\"");
        else if (*p == '\n')
            s_append(out, "\\n");
        else
            s_append(out, "%c", *p);
    }
}

static void s_family(s_text_t *out, const char *name, const char *type, const char *help)
{
    s_append(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample NAME{LABEL="VALUE"} NUMBER; LABEL NULL for none. */
static void s_sample(s_text_t *out, const char *name, const char *label, const char *value,
                     double number)
{
    s_append(out, "%s", name);
    if (label) {
        s_append(out, "{%s=\"", label);
        s_append_label(out, value);
        s_append(out, "\"}");
    }
    s_append(out, " %.15g\n", number);
}

/* A histogram family in seconds from a histogram in ms; buckets cumulative. */
static void s_histogram(s_text_t *out, const char *name, const char *help,
                        const stl_histogram_t *hist)
{
    s_family(out, name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < STL_BUCKET_COUNT; i++) {
        cumulative += hist->counts[i];
        s_append(out, "%s_bucket{le=\"%g\"} %llu\n", name, stl_buckets_ms[i] / 1000.0,
                 (unsigned long long)cumulative);
    }
    s_append(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)hist->count);
    s_append(out, "%s_sum %.15g\n", name, hist->sum_ms / 1000.0);
    s_append(out, "%s_count %llu\n", name, (unsigned long long)hist->count);
}

static void s_render_bus(const metrics_t *self, s_text_t *out)
{
    s_family(out, "leadops_events_total", "counter",
             "Events seen on the event bus since this process started, by type.");
    for (int type = 1; type < EVENT_TYPE_SLOTS; type++) {
        const char *name = envelope_type_name((Leadops__EventType)type);
        if (strcmp(name, "unknown") != 0)
            s_sample(out, "leadops_events_total", "type", name, (double)self->events[type]);
    }
    s_family(out, "leadops_bus_malformed_total", "counter",
             "Messages on the event bus that were not a valid envelope; skipped.");
    s_sample(out, "leadops_bus_malformed_total", NULL, NULL, (double)self->malformed);
    s_family(out, "leadops_rejected_total", "counter",
             "Input refused by ingest, by reason, as seen on the event bus.");
    for (size_t i = 0; i < self->reason_count; i++)
        s_sample(out, "leadops_rejected_total", "reason", self->reasons[i].reason,
                 (double)self->reasons[i].count);
    if (self->reasons_other)
        s_sample(out, "leadops_rejected_total", "reason", "other", (double)self->reasons_other);
    s_family(out, "leadops_http_unauthorized_total", "counter",
             "Reporting API requests refused 401 (no or a wrong bearer token).");
    s_sample(out, "leadops_http_unauthorized_total", NULL, NULL, (double)self->http_unauthorized);
    s_family(out, "leadops_curve_denied_total", "counter",
             "CurveZMQ handshakes on reporting's sockets denied (client key not allowed).");
    s_sample(out, "leadops_curve_denied_total", NULL, NULL, (double)self->curve_denied);
    s_histogram(out, "leadops_bus_speed_to_lead_seconds",
                "Ingest to first assignment of the assignments seen on the bus since this "
                "process started.",
                &self->bus_speed_to_lead);
}

/* Appends one gauge family with a sample per element of ARRAY (a view's
 * list): label LABEL from string member KEY, value from numeric member FIELD,
 * scaled by SCALE. */
static void s_gauges(s_text_t *out, const char *name, const char *help, json_t *array,
                     const char *label, const char *key, const char *field, double scale)
{
    s_family(out, name, "gauge", help);
    size_t i;
    json_t *row;
    json_array_foreach(array, i, row)
    {
        s_sample(out, name, label, json_string_value(json_object_get(row, key)),
                 json_number_value(json_object_get(row, field)) * scale);
    }
}

/* The Redis-backed families. Returns 0, or -1 with *err set; on failure
 * nothing has been appended. */
static int s_render_redis(s_text_t *out, store_t *store, const char *prefix, err_t *err)
{
    stl_histogram_t stl;
    json_t *summary = views_summary(store, prefix, err);
    json_t *queues = summary ? views_queues(store, prefix, err) : NULL;
    json_t *reps = queues ? views_reps(store, prefix, err) : NULL;
    int rc = reps && views_stl_read(store, prefix, &stl, err) == 0 ? 0 : -1;
    if (rc == 0) {
        s_family(out, "leadops_stats_total", "counter",
                 "Pipeline counters kept in Redis (<prefix>:stats), across restarts.");
        for (size_t i = 0; i < VIEWS_STAT_COUNT; i++)
            s_sample(out, "leadops_stats_total", "stat", views_stat_names[i],
                     json_number_value(json_object_get(summary, views_stat_names[i])));
        json_t *queue_list = json_object_get(queues, "queues");
        s_gauges(out, "leadops_queue_depth", "Leads waiting in the queue.", queue_list, "queue",
                 "name", "waiting", 1);
        s_gauges(out, "leadops_queue_oldest_wait_seconds",
                 "Age of the oldest waiting lead (among the first 100 by priority).", queue_list,
                 "queue", "name", "oldest_wait_ms", 0.001);
        s_gauges(out, "leadops_queue_free_capacity", "Open slots of the queue's online reps.",
                 queue_list, "queue", "name", "free_capacity", 1);
        json_t *rep_list = json_object_get(reps, "reps");
        s_gauges(out, "leadops_rep_open_leads", "Leads the rep holds open.", rep_list, "rep", "id",
                 "open", 1);
        s_gauges(out, "leadops_rep_capacity", "Open leads the rep may hold.", rep_list, "rep", "id",
                 "capacity", 1);
        s_histogram(out, "leadops_speed_to_lead_seconds",
                    "Ingest to first assignment, from Redis (<prefix>:stl).", &stl);
    }
    json_decref(summary);
    json_decref(queues);
    json_decref(reps);
    return rc;
}

char *metrics_render(const metrics_t *self, store_t *store, const char *prefix, size_t *len,
                     err_t *err)
{
    s_text_t out = {.text = malloc(8192), .len = 0, .capacity = 8192};
    if (!out.text)
        abort();
    out.text[0] = '\0';
    s_render_bus(self, &out);
    int redis_rc = s_render_redis(&out, store, prefix, err);
    s_family(&out, "leadops_redis_up", "gauge",
             "1 when this scrape could read Redis; the Redis-backed families are absent "
             "when 0.");
    s_sample(&out, "leadops_redis_up", NULL, NULL, redis_rc == 0 ? 1 : 0);
    *len = out.len;
    return out.text;
}
