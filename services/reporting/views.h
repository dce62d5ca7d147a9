/* views.h — read-only views over the live Redis state (see common/keys.h),
 * shared by the reporting HTTP API and leadopsctl so both print the same facts.
 *
 * Every view reads Redis through a borrowed store_t, never writes, and returns
 * a new jansson object the caller owns (json_decref), or NULL with *err set:
 * ERR_IO when Redis is unreachable or answers with an error, ERR_NOTFOUND for
 * a lead that does not exist. Multi-key views pipeline their reads with
 * store_batch, one round trip per stage, so their cost does not grow with
 * round trips per queue or rep.
 */
#ifndef LEADOPS_VIEWS_H
#define LEADOPS_VIEWS_H

#include <jansson.h>

#include "err.h"
#include "explain.h"
#include "stl.h" /* the histogram views_stl_read fills; includers of views.h use it too */
#include "store.h"

/* Reads <PREFIX>:stl (its layout: stl.h) into *HIST. Missing hash: an empty histogram.
 * Returns 0, or -1 with *err set (ERR_IO). */
int views_stl_read(store_t *store, const char *prefix, stl_histogram_t *hist, err_t *err);

/* The statistics of a speed-to-lead histogram hash (HASH: its HGETALL reply,
 * borrowed; layout: stl.h): {count, p50, p90, p99, mean}, null statistics
 * while count is 0. Returns a new reference. */
json_t *views_stl_json(const store_value_t *hash);

/* The lead <PREFIX>:lead:<LEAD_ID>: the Lead fields decoded from the stored
 * protobuf (lead_id, email, company, domain, title, industry, company_size,
 * annual_revenue, country, region, city, source, campaign, language,
 * source_system, source_id, attributes), its state (status, fit, engagement
 * (as stored at eng_at, before decay), grade, stage, qualified, reasons (the
 * fit rules: explain_reasons), activities, queue, rule, rep, outcome),
 * timestamps ingested_at, scored_at, eng_at, stage_at, qualified_at,
 * queued_at, assigned_at, closed_at (Unix ms, null when unset) each with an
 * *_iso UTC string, and speed_to_lead_ms once assigned (else null).
 * "score" is the score at OPTS->now_ms with engagement decayed to then, and
 * "explanation" takes it apart (explain_score, with the lead's kept
 * activities); "score_at_last_event" is the score scoring stored. All three
 * are null for a lead nothing has scored. A stored lead that does not
 * decode is reported with "lead_corrupt": true instead of the Lead fields.
 * A merged lead id shows the lead it merged into, with "merged_from".
 * Reads in one round trip (two for a merged id).
 * NULL with ERR_NOTFOUND when no such lead. */
json_t *views_lead(store_t *store, const char *prefix, const char *lead_id,
                   const explain_opts_t *opts, err_t *err);

/* {"lead_id", "merged_from" (when LEAD_ID is an alias), "decisions": [...]}:
 * the lead's routing decisions from <PREFIX>:lead:<id>:audit, oldest first,
 * each the record routing.lua wrote (at, op: route|drain|pull|sla|rejected|
 * overflow|reassign|accept|close, rule, queue, strategy, candidates: [{rep,
 * excluded: reason or false}], chosen, why, outcome, reason, from_rep,
 * escalated_to, ...) plus "entry" (its place in the kept list, from 1) and "at_iso"; a record
 * that is not a JSON object is {"entry", "unreadable": its text}.
 * "decisions" is empty for a lead never routed, or whose decisions expired
 * (routing.audit_ttl_s after the last one). Aliases resolve as in
 * views_lead. NULL with ERR_NOTFOUND when the id is neither a lead nor has
 * decisions on record. */
json_t *views_lead_audit(store_t *store, const char *prefix, const char *lead_id, err_t *err);

/* {"queues": [{name, waiting, oldest_wait_ms, reps, reps_online,
 * free_capacity}, ...]} for every queue in <PREFIX>:queues, sorted by name.
 * oldest_wait_ms is now minus the smallest queued_at among the first 100
 * waiting leads (by priority), 0 when none waits. free_capacity sums
 * max(0, capacity - open) over the queue's online reps. */
json_t *views_queues(store_t *store, const char *prefix, err_t *err);

/* The waiting_reason of the first SAMPLE waiting leads (by priority) of each
 * queue of QUEUES (views_queues' list), in two round trips whatever the
 * number of queues: per queue, in the same order, an array of the sampled
 * leads' reasons ("" for a lead that has none). NULL with *err set when
 * Redis fails. */
json_t *views_waiting_reason_samples(store_t *store, const char *prefix, const json_t *queues,
                                     int sample, err_t *err);

/* {"reps": [{id, name, status, capacity, open, assigned_total, utilization,
 * queues: [...]}, ...]} for every rep in <PREFIX>:reps, sorted by id.
 * utilization is open / capacity (0 when capacity is 0). */
json_t *views_reps(store_t *store, const char *prefix, err_t *err);

/* {ingested_leads, ingested_activities, duplicates, rejected, scored,
 * qualified, assigned, queued, closed, capped, stage_up, stage_down,
 * unqueued (0 when missing), waiting (sum over
 * the queues' waiting sets), speed_to_lead_ms: {count, p50, p90, p99, mean}
 * (null statistics while count is 0)}. */
json_t *views_summary(store_t *store, const char *prefix, err_t *err);

/* The <PREFIX>:stats counters, in the order views_summary prints them. */
#define VIEWS_STAT_COUNT 13
extern const char *const views_stat_names[VIEWS_STAT_COUNT];

#endif
