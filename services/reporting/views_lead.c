/* views_lead.c — one lead as the reporting API and leadopsctl show it: its
 * fields, state and score explained (explain.h), aliases resolved, and its
 * routing decisions (the audit list). See views.h. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "explain.h"
#include "keys.h"
#include "leadops.pb-c.h"
#include "views.h"
#include "views_internal.h"

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
        views_set_str(view, strings[i].name, strings[i].value);
    json_object_set_new(view, "company_size", json_integer(lead->company_size));
    json_object_set_new(view, "annual_revenue", json_real(lead->annual_revenue));
    json_t *attributes = json_object();
    /* A key that is not UTF-8 cannot be a JSON key; jansson skips it. */
    for (size_t i = 0; i < lead->n_attributes; i++)
        json_object_set_new(attributes, lead->attributes[i]->key,
                            views_json_text(lead->attributes[i]->value));
    json_object_set_new(view, "attributes", attributes);
}

static void s_lead_timestamp(json_t *view, const store_value_t *hash, const char *name)
{
    long long ms = store_value_int(views_hash_get(hash, name), 0);
    char iso_name[48];
    snprintf(iso_name, sizeof iso_name, "%s_iso", name);
    if (ms <= 0) {
        json_object_set_new(view, name, json_null());
        json_object_set_new(view, iso_name, json_null());
        return;
    }
    char iso[40];
    views_iso8601(ms, iso, sizeof iso);
    json_object_set_new(view, name, json_integer(ms));
    json_object_set_new(view, iso_name, json_string(iso));
}

/* The stored parts of the score in HASH and the kept activities in ACTS
 * (an LRANGE reply), borrowed from both, for explain_score. */
static void s_explain_input(const store_value_t *hash, const store_value_t *acts,
                            explain_lead_t *lead)
{
    *lead = (explain_lead_t){
        .fit = store_value_str(views_hash_get(hash, "fit"), NULL),
        .grade = store_value_str(views_hash_get(hash, "grade"), NULL),
        .reasons = store_value_str(views_hash_get(hash, "reasons"), NULL),
        .engagement = store_value_str(views_hash_get(hash, "engagement"), NULL),
        .eng_at = store_value_str(views_hash_get(hash, "eng_at"), NULL),
        .model_points = store_value_str(views_hash_get(hash, "model_points"), NULL),
        .model_p = store_value_str(views_hash_get(hash, "model_p"), NULL),
        .model_top = store_value_str(views_hash_get(hash, "model_top"), NULL),
        .model = store_value_str(views_hash_get(hash, "model"), NULL),
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
    const store_value_t *stored = views_hash_get(hash, "score");
    json_object_set_new(view, "score_at_last_event",
                        stored ? json_real(store_value_double(stored, 0)) : json_null());
    if (!stored && !views_hash_get(hash, "fit") && !views_hash_get(hash, "engagement") &&
        !views_hash_get(hash, "model_points")) {
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
        views_set_str(view, strings[i], store_value_str(views_hash_get(hash, strings[i]), NULL));
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        const store_value_t *value = views_hash_get(hash, numbers[i]);
        json_object_set_new(view, numbers[i],
                            value ? json_real(store_value_double(value, 0)) : json_null());
    }
    json_object_set_new(view, "qualified",
                        json_boolean(store_value_int(views_hash_get(hash, "qualified"), 0) != 0));
    json_object_set_new(view, "reasons",
                        explain_reasons(store_value_str(views_hash_get(hash, "reasons"), NULL)));
    json_object_set_new(view, "activities",
                        json_integer(store_value_int(views_hash_get(hash, "activities"), 0)));

    static const char *const stamps[] = {"ingested_at",  "scored_at", "eng_at",      "stage_at",
                                         "qualified_at", "queued_at", "assigned_at", "closed_at"};
    for (size_t i = 0; i < sizeof stamps / sizeof *stamps; i++)
        s_lead_timestamp(view, hash, stamps[i]);
    /* As routing.lua records it: from the moment the lead was ready for
     * sales (intake, or the activity that qualified it) to its assignment. */
    long long ready = store_value_int(views_hash_get(hash, "ingested_at"), 0);
    long long qualified = store_value_int(views_hash_get(hash, "qualified_at"), 0);
    if (qualified > ready)
        ready = qualified;
    long long assigned = store_value_int(views_hash_get(hash, "assigned_at"), 0);
    json_object_set_new(view, "speed_to_lead_ms",
                        ready > 0 && assigned > 0 ? json_integer(assigned - ready) : json_null());
}

/* Queues the reads of lead ID on BATCH: its hash, then its kept activities.
 * Returns -1 when the id makes a key too long. */
static int s_lead_reads(store_batch_t *batch, const char *prefix, const char *lead_id)
{
    char key[KEY_MAX], acts_key[KEY_MAX], last[16];
    if (views_keyf(key, prefix, "lead:%s", lead_id) < 0 ||
        views_keyf(acts_key, prefix, "lead:%s:acts", lead_id) < 0)
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
    views_set_str(view, "lead_id", lead_id);
    if (strcmp(asked, lead_id) != 0)
        views_set_str(view, "merged_from", asked);
    const store_value_t *packed = views_hash_get(hash, "lead");
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
    if (!lead_id || !*lead_id || views_keyf(alias_key, prefix, "alias:%s", lead_id) < 0)
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
 * exists, then its audit list (routing.lua keeps the last 50). */
static int s_audit_reads(store_batch_t *batch, const char *prefix, const char *lead_id)
{
    char key[KEY_MAX], audit_key[KEY_MAX];
    if (views_keyf(key, prefix, "lead:%s", lead_id) < 0 ||
        views_keyf(audit_key, prefix, "lead:%s:audit", lead_id) < 0)
        return -1;
    store_batch_command(batch, 2, (const char *[]){"EXISTS", key}, NULL);
    store_batch_command(batch, 4, (const char *[]){"LRANGE", audit_key, "0", "-1"}, NULL);
    return 0;
}

/* One audit record (a JSON object) as a decision, with "entry" (its
 * place in the kept list, from 1) and "at_iso" added, or {"entry",
 * "unreadable"} when it is not a JSON object. */
static json_t *s_audit_decision(const store_value_t *text, size_t index)
{
    char id[24];
    snprintf(id, sizeof id, "%zu", index + 1);
    json_t *decision = NULL;
    if (text && text->type == STORE_STR)
        decision = json_loadb(text->str, text->len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(decision)) {
        json_decref(decision);
        decision = json_object();
        views_set_str(decision, "unreadable", store_value_str(text, ""));
    }
    views_set_str(decision, "entry", id);
    json_t *at = json_object_get(decision, "at");
    if (json_is_number(at) && json_number_value(at) > 0) {
        char iso[40];
        views_iso8601((long long)json_number_value(at), iso, sizeof iso);
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
        store_reply_check(entries, "LRANGE audit", err) < 0)
        goto done;
    if (store_value_int(exists, 0) == 0 && (entries->type != STORE_ARRAY || !entries->count)) {
        err_set(err, ERR_NOTFOUND, "lead %s not found", resolved.shown);
        goto done;
    }
    view = json_object();
    views_set_str(view, "lead_id", resolved.shown);
    if (strcmp(resolved.shown, lead_id) != 0)
        views_set_str(view, "merged_from", lead_id);
    json_t *decisions = json_array();
    for (size_t i = 0; entries->type == STORE_ARRAY && i < entries->count; i++)
        json_array_append_new(decisions, s_audit_decision(entries->elements[i], i));
    json_object_set_new(view, "decisions", decisions);
done:
    s_resolved_clear(&resolved);
    return view;
}
