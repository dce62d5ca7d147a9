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
static int s_keyf(char out[static KEY_MAX], const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_keyf(char out[static KEY_MAX], const char *prefix, const char *fmt, ...)
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
static const store_value_t *s_hash_get(const store_value_t *hash, const char *field)
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

static void s_iso8601(long long ms, char *out, size_t size)
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
static json_t *s_json_text(const char *text)
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
static void s_set_str(json_t *obj, const char *name, const char *value)
{
    json_object_set_new(obj, name, value ? s_json_text(value) : json_null());
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
        long long n = store_value_int(s_hash_get(hash, field), 0);
        hist->counts[i] = n > 0 ? (uint64_t)n : 0;
        finite += hist->counts[i];
    }
    long long total = store_value_int(s_hash_get(hash, "count"), -1);
    hist->count = total > 0 && (uint64_t)total > finite ? (uint64_t)total : finite;
    hist->counts[STL_BUCKET_COUNT] = hist->count - finite;
    const store_value_t *sum = s_hash_get(hash, "sum_ms");
    hist->sum_ms = store_value_double(sum ? sum : s_hash_get(hash, "sum"), 0);
}

int views_stl_read(store_t *store, const char *prefix, stl_histogram_t *hist, err_t *err)
{
    char key[KEY_MAX];
    if (s_keyf(key, prefix, "stl") < 0)
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

/* ---- lead ------------------------------------------------------------- */

static void s_lead_fields(json_t *view, const Leadops__Lead *lead)
{
    const struct {
        const char *name, *value;
    } strings[] = {
        {"lead_id", lead->lead_id},
        {"email", lead->email},
        {"company", lead->company},
        {"domain", lead->domain},
        {"title", lead->title},
        {"industry", lead->industry},
        {"country", lead->country},
        {"region", lead->region},
        {"city", lead->city},
        {"source", lead->source},
        {"campaign", lead->campaign},
        {"language", lead->language},
        {"source_system", lead->source_system},
        {"source_id", lead->source_id},
    };
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        s_set_str(view, strings[i].name, strings[i].value);
    json_object_set_new(view, "company_size", json_integer(lead->company_size));
    json_object_set_new(view, "annual_revenue", json_real(lead->annual_revenue));
    json_t *attributes = json_object();
    /* A key that is not UTF-8 cannot be a JSON key; jansson skips it. */
    for (size_t i = 0; i < lead->n_attributes; i++)
        json_object_set_new(attributes, lead->attributes[i]->key,
                            s_json_text(lead->attributes[i]->value));
    json_object_set_new(view, "attributes", attributes);
}

static void s_lead_timestamp(json_t *view, const store_value_t *hash, const char *name)
{
    long long ms = store_value_int(s_hash_get(hash, name), 0);
    char iso_name[48];
    snprintf(iso_name, sizeof iso_name, "%s_iso", name);
    if (ms <= 0) {
        json_object_set_new(view, name, json_null());
        json_object_set_new(view, iso_name, json_null());
        return;
    }
    char iso[40];
    s_iso8601(ms, iso, sizeof iso);
    json_object_set_new(view, name, json_integer(ms));
    json_object_set_new(view, iso_name, json_string(iso));
}

/* The stored parts of the score in HASH and the kept activities in ACTS
 * (an LRANGE reply), borrowed from both, for explain_score. */
static void s_explain_input(const store_value_t *hash, const store_value_t *acts,
                            explain_lead_t *lead)
{
    *lead = (explain_lead_t){
        .fit = store_value_str(s_hash_get(hash, "fit"), NULL),
        .grade = store_value_str(s_hash_get(hash, "grade"), NULL),
        .reasons = store_value_str(s_hash_get(hash, "reasons"), NULL),
        .engagement = store_value_str(s_hash_get(hash, "engagement"), NULL),
        .eng_at = store_value_str(s_hash_get(hash, "eng_at"), NULL),
        .model_points = store_value_str(s_hash_get(hash, "model_points"), NULL),
        .model_p = store_value_str(s_hash_get(hash, "model_p"), NULL),
        .model_top = store_value_str(s_hash_get(hash, "model_top"), NULL),
        .model = store_value_str(s_hash_get(hash, "model"), NULL),
    };
    for (size_t i = 0; acts && acts->type == STORE_ARRAY && i < acts->count; i++)
        if (lead->act_count < EXPLAIN_ACTS_MAX)
            lead->acts[lead->act_count++] = store_value_str(acts->elements[i], NULL);
}

/* "score" is the score now, with its explanation; the stored one is the
 * score as of the lead's last event, before engagement decayed since. A
 * lead nothing has scored yet has neither. */
static void s_lead_score(json_t *view, const store_value_t *hash, const store_value_t *acts,
                         const explain_opts_t *opts)
{
    const store_value_t *stored = s_hash_get(hash, "score");
    json_object_set_new(view, "score_at_last_event",
                        stored ? json_real(store_value_double(stored, 0)) : json_null());
    if (!stored && !s_hash_get(hash, "fit") && !s_hash_get(hash, "engagement") &&
        !s_hash_get(hash, "model_points")) {
        json_object_set_new(view, "score", json_null());
        json_object_set_new(view, "explanation", json_null());
        return;
    }
    explain_lead_t lead;
    s_explain_input(hash, acts, &lead);
    json_t *explanation = explain_score(&lead, opts);
    json_object_set(view, "score", json_object_get(explanation, "total"));
    json_object_set_new(view, "explanation", explanation);
}

static void s_lead_state(json_t *view, const store_value_t *hash)
{
    static const char *const strings[] = {"status", "grade", "stage",  "queue",
                                          "rule",   "rep",   "outcome"};
    static const char *const numbers[] = {"fit", "engagement"};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        s_set_str(view, strings[i], store_value_str(s_hash_get(hash, strings[i]), NULL));
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        const store_value_t *value = s_hash_get(hash, numbers[i]);
        json_object_set_new(view, numbers[i],
                            value ? json_real(store_value_double(value, 0)) : json_null());
    }
    json_object_set_new(view, "qualified",
                        json_boolean(store_value_int(s_hash_get(hash, "qualified"), 0) != 0));
    json_object_set_new(view, "reasons",
                        explain_reasons(store_value_str(s_hash_get(hash, "reasons"), NULL)));
    json_object_set_new(view, "activities",
                        json_integer(store_value_int(s_hash_get(hash, "activities"), 0)));

    static const char *const stamps[] = {"ingested_at",  "scored_at", "eng_at",      "stage_at",
                                         "qualified_at", "queued_at", "assigned_at", "closed_at"};
    for (size_t i = 0; i < sizeof stamps / sizeof *stamps; i++)
        s_lead_timestamp(view, hash, stamps[i]);
    /* As routing.lua records it: from the moment the lead was ready for
     * sales (intake, or the activity that qualified it) to its assignment. */
    long long ready = store_value_int(s_hash_get(hash, "ingested_at"), 0);
    long long qualified = store_value_int(s_hash_get(hash, "qualified_at"), 0);
    if (qualified > ready)
        ready = qualified;
    long long assigned = store_value_int(s_hash_get(hash, "assigned_at"), 0);
    json_object_set_new(view, "speed_to_lead_ms",
                        ready > 0 && assigned > 0 ? json_integer(assigned - ready) : json_null());
}

/* Queues the reads of lead ID on BATCH: its hash, then its kept activities.
 * Returns -1 when the id makes a key too long. */
static int s_lead_reads(store_batch_t *batch, const char *prefix, const char *lead_id)
{
    char key[KEY_MAX], acts_key[KEY_MAX], last[16];
    if (s_keyf(key, prefix, "lead:%s", lead_id) < 0 ||
        s_keyf(acts_key, prefix, "lead:%s:acts", lead_id) < 0)
        return -1;
    snprintf(last, sizeof last, "%d", EXPLAIN_ACTS_MAX - 1);
    store_batch_command(batch, 2, (const char *[]){"HGETALL", key}, NULL);
    store_batch_command(batch, 4, (const char *[]){"LRANGE", acts_key, "0", last}, NULL);
    return 0;
}

static json_t *s_lead_view(const char *lead_id, const char *asked, const store_value_t *hash,
                           const store_value_t *acts, const explain_opts_t *opts)
{
    json_t *view = json_object();
    s_set_str(view, "lead_id", lead_id);
    if (strcmp(asked, lead_id) != 0)
        s_set_str(view, "merged_from", asked);
    const store_value_t *packed = s_hash_get(hash, "lead");
    if (packed && packed->type == STORE_STR) {
        Leadops__Lead *lead =
            leadops__lead__unpack(NULL, packed->len, (const uint8_t *)packed->str);
        if (lead) {
            s_lead_fields(view, lead);
            leadops__lead__free_unpacked(lead, NULL);
        } else {
            json_object_set_new(view, "lead_corrupt", json_true());
        }
    }
    s_lead_state(view, hash);
    s_lead_score(view, hash, acts, opts);
    return view;
}

/* Queues a lead's reads (READS) on a batch; -1 when the id makes a key too long. */
typedef int (*s_lead_reads_fn)(store_batch_t *batch, const char *prefix, const char *lead_id);

/* Where a lead's reads landed: the batch that holds them, from which reply,
 * and the id they are of (the id asked for, or the lead it merged into). */
typedef struct {
    store_batch_t *first;      /* owned: the alias and the reads of the id as asked for */
    store_batch_t *merged;     /* owned: the reads of the lead an alias names; NULL if none */
    const store_batch_t *read; /* borrowed: first or merged */
    size_t at;                 /* the first reply of READS in READ */
    const char *shown;         /* borrowed: the id the reads are of */
} s_resolved_t;

static void s_resolved_clear(s_resolved_t *resolved)
{
    store_batch_destroy(&resolved->first);
    store_batch_destroy(&resolved->merged);
}

/* Runs READS for LEAD_ID, or for the lead it is an alias of, into RESOLVED
 * (cleared by the caller, also on failure). One round trip: the alias and
 * the lead as asked for. A lead id merged into another lead (same email or
 * source id) stands for that lead, so only a merged id costs a second one.
 * Returns 0, or -1 with *err (ERR_NOTFOUND for an id no key can hold). */
static int s_read_resolved(store_t *store, const char *prefix, const char *lead_id,
                           s_lead_reads_fn reads, s_resolved_t *resolved, err_t *err)
{
    char alias_key[KEY_MAX];
    *resolved = (s_resolved_t){.first = store_batch_new(), .at = 1, .shown = lead_id};
    resolved->read = resolved->first;
    if (!lead_id || !*lead_id || s_keyf(alias_key, prefix, "alias:%s", lead_id) < 0)
        return err_set(err, ERR_NOTFOUND, "lead %s not found", lead_id ? lead_id : "");
    store_batch_command(resolved->first, 2, (const char *[]){"GET", alias_key}, NULL);
    if (reads(resolved->first, prefix, lead_id) < 0)
        return err_set(err, ERR_NOTFOUND, "lead %s not found", lead_id);
    if (store_batch_exec(store, resolved->first, err) < 0)
        return -1;
    const store_value_t *alias = store_batch_reply(resolved->first, 0);
    if (alias && alias->type == STORE_STR && alias->len > 0) {
        resolved->merged = store_batch_new();
        if (reads(resolved->merged, prefix, alias->str) == 0) {
            if (store_batch_exec(store, resolved->merged, err) < 0)
                return -1;
            resolved->read = resolved->merged;
            resolved->at = 0;
            resolved->shown = alias->str;
        }
    }
    return 0;
}

json_t *views_lead(store_t *store, const char *prefix, const char *lead_id,
                   const explain_opts_t *opts, err_t *err)
{
    assert(opts);
    s_resolved_t resolved;
    json_t *view = NULL;
    if (s_read_resolved(store, prefix, lead_id, s_lead_reads, &resolved, err) < 0)
        goto done;
    const store_value_t *hash = store_batch_reply(resolved.read, resolved.at);
    if (store_reply_check(hash, "HGETALL lead", err) < 0)
        goto done;
    if (hash->type != STORE_ARRAY || hash->count == 0) {
        err_set(err, ERR_NOTFOUND, "lead %s not found", resolved.shown);
        goto done;
    }
    /* A list that cannot be read leaves every activity in "earlier". */
    view = s_lead_view(resolved.shown, lead_id, hash,
                       store_batch_reply(resolved.read, resolved.at + 1), opts);
done:
    s_resolved_clear(&resolved);
    return view;
}

/* ---- lead audit ------------------------------------------------------- */

/* Queues the reads of lead ID's routing decisions: whether the lead
 * exists, then its audit stream (routing.lua trims it to about 50). */
static int s_audit_reads(store_batch_t *batch, const char *prefix, const char *lead_id)
{
    char key[KEY_MAX], audit_key[KEY_MAX];
    if (s_keyf(key, prefix, "lead:%s", lead_id) < 0 ||
        s_keyf(audit_key, prefix, "lead:%s:audit", lead_id) < 0)
        return -1;
    store_batch_command(batch, 2, (const char *[]){"EXISTS", key}, NULL);
    store_batch_command(batch, 6, (const char *[]){"XRANGE", audit_key, "-", "+", "COUNT", "1000"},
                        NULL);
    return 0;
}

/* One audit stream entry ([id, [field, value, ...]]) as a decision: the
 * record in field "d" with "entry" and "at_iso" added, or {"entry",
 * "unreadable"} when it is not a JSON object. */
static json_t *s_audit_decision(const store_value_t *entry)
{
    const char *id = store_value_str(store_value_at(entry, 0), "");
    const store_value_t *fields = store_value_at(entry, 1);
    const store_value_t *text = NULL;
    for (size_t i = 0; fields && fields->type == STORE_ARRAY && i + 1 < fields->count; i += 2)
        if (strcmp(store_value_str(fields->elements[i], ""), "d") == 0)
            text = fields->elements[i + 1];
    json_t *decision = NULL;
    if (text && text->type == STORE_STR)
        decision = json_loadb(text->str, text->len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(decision)) {
        json_decref(decision);
        decision = json_object();
        s_set_str(decision, "unreadable", store_value_str(text, ""));
    }
    s_set_str(decision, "entry", id);
    json_t *at = json_object_get(decision, "at");
    if (json_is_number(at) && json_number_value(at) > 0) {
        char iso[40];
        s_iso8601((long long)json_number_value(at), iso, sizeof iso);
        json_object_set_new(decision, "at_iso", json_string(iso));
    }
    /* Redis' cjson encodes an empty Lua table as {}: a queue without reps. */
    json_t *candidates = json_object_get(decision, "candidates");
    if (json_is_object(candidates) && json_object_size(candidates) == 0)
        json_object_set_new(decision, "candidates", json_array());
    return decision;
}

json_t *views_lead_audit(store_t *store, const char *prefix, const char *lead_id, err_t *err)
{
    s_resolved_t resolved;
    json_t *view = NULL;
    if (s_read_resolved(store, prefix, lead_id, s_audit_reads, &resolved, err) < 0)
        goto done;
    const store_value_t *exists = store_batch_reply(resolved.read, resolved.at);
    const store_value_t *entries = store_batch_reply(resolved.read, resolved.at + 1);
    if (store_reply_check(exists, "EXISTS lead", err) < 0 ||
        store_reply_check(entries, "XRANGE audit", err) < 0)
        goto done;
    if (store_value_int(exists, 0) == 0 && (entries->type != STORE_ARRAY || !entries->count)) {
        err_set(err, ERR_NOTFOUND, "lead %s not found", resolved.shown);
        goto done;
    }
    view = json_object();
    s_set_str(view, "lead_id", resolved.shown);
    if (strcmp(resolved.shown, lead_id) != 0)
        s_set_str(view, "merged_from", lead_id);
    json_t *decisions = json_array();
    for (size_t i = 0; entries->type == STORE_ARRAY && i < entries->count; i++)
        json_array_append_new(decisions, s_audit_decision(entries->elements[i]));
    json_object_set_new(view, "decisions", decisions);
done:
    s_resolved_clear(&resolved);
    return view;
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
            if (s_keyf(key, prefix, "lead:%s", lead_id) < 0)
                key[0] = '\0';
            store_batch_command(batch, 3, (const char *[]){"HGET", key, "queued_at"}, NULL);
        }
        for (size_t i = 0; i < rows[q].reps->count; i++) {
            const char *rep_id = store_value_str(rows[q].reps->elements[i], "");
            if (s_keyf(key, prefix, "rep:%s", rep_id) < 0)
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
    s_set_str(queue, "name", row->name);
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
    if (s_keyf(key, prefix, "queues") < 0) {
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
        if (s_keyf(waiting, prefix, "queue:%s:waiting", names[q]) < 0 ||
            s_keyf(rr, prefix, "queue:%s:rr", names[q]) < 0)
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
    s_set_str(rep, "id", rep_id);
    s_set_str(rep, "name", store_value_str(store_value_at(fields, 0), NULL));
    s_set_str(rep, "status", store_value_str(store_value_at(fields, 1), NULL));
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
        json_array_append_new(list, s_json_text(queues[i]));
    free(queues);
    json_object_set_new(rep, "queues", list);
    return rep;
}

json_t *views_reps(store_t *store, const char *prefix, err_t *err)
{
    char key[KEY_MAX];
    if (s_keyf(key, prefix, "reps") < 0) {
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
        if (s_keyf(rep_key, prefix, "rep:%s", ids[r]) < 0 ||
            s_keyf(queues_key, prefix, "rep:%s:queues", ids[r]) < 0)
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
    if (s_keyf(stats_key, prefix, "stats") < 0 || s_keyf(stl_key, prefix, "stl") < 0 ||
        s_keyf(queues_key, prefix, "queues") < 0) {
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
        if (!name || s_keyf(waiting, prefix, "queue:%s:waiting", name) < 0)
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
            json_integer(store_value_int(s_hash_get(stats, views_stat_names[i]), 0)));
    json_object_set_new(view, "waiting", json_integer(waiting_total));
    stl_histogram_t hist;
    s_stl_from_hash(stl, &hist);
    json_object_set_new(view, "speed_to_lead_ms", s_stl_json(&hist));
done:
    store_batch_destroy(&first);
    store_batch_destroy(&depths);
    return view;
}
