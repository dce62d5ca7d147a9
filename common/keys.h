/* keys.h — the Redis key layout, in one place. Every key starts with the
 * configured prefix <p> ("leadops" by default) and a colon.
 *
 * <p>:journal              stream  every accepted event: type, event_id, lead_id, envelope
 * <p>:eventid:<event_id>   string  dedup marker = lead id, TTL ingest.dedup_window_s
 * <p>:inflight:<hop>       zset    sent, not yet applied, by redelivery deadline (ms):
 *                                  event ids (hop "scoring"), lead ids (hop "routing")
 * <p>:inflight:<hop>:msg   hash    member -> encoded Envelope, for re-sending
 * <p>:lead:<lead_id>       hash    lead state: lead (Lead protobuf), status
 *                                  (scored|queued|assigned|closed), score, fit, engagement,
 *                                  grade, stage, qualified (0|1), reasons (JSON array),
 *                                  activities, act:<type> counts, queue, rule, rep, outcome,
 *                                  ingested_at, scored_at, qualified_at, queued_at,
 *                                  assigned_at, closed_at, updated_at (Unix ms)
 * <p>:leads                zset    lead ids by first ingest time (ms)
 * <p>:lead:<id>:history    stream  merges into the lead: event_id, at, changes (JSON)
 * <p>:alias:<lead_id>      string  the lead a merged lead id stands for
 * <p>:identity:email:<e>   string  the lead that first used an email
 * <p>:identity:source:<s>:<id> string the lead that first used a source system's id
 * <p>:identity:leads       set     every lead id a lead event was accepted for
 * <p>:orphans              zset    lead ids with activities but no lead yet, by deadline
 * <p>:stats                hash    counters: ingested_leads, ingested_activities, duplicates,
 *                                  rejected, scored, qualified, assigned, queued, closed
 * <p>:rejects              hash    reject reason class -> count
 * <p>:deadletter           stream  rejected input: reason class, channel, kind, size
 *                                  (never the input itself)
 * <p>:stl                  hash    speed-to-lead histogram: le_<bound ms> -> count, count,
 *                                  sum_ms (bounds: services/reporting/stl.c)
 * <p>:reps                 set     every rep id
 * <p>:rep:<rep_id>         hash    name, status (online|offline), capacity, open,
 *                                  assigned_total, cfg_capacity, cfg_status
 * <p>:rep:<rep_id>:leads   set     the rep's open lead ids
 * <p>:rep:<rep_id>:queues  set     the queues the rep works
 * <p>:queues               set     every queue name
 * <p>:queue:<q>:rr         zset    the queue's reps by the sequence of their last assignment
 * <p>:queue:<q>:waiting    zset    waiting lead ids by (1000 - score) * 1e10 + arrival sequence
 * <p>:seq                  string  arrival and assignment sequence counter
 */
#ifndef LEADOPS_KEYS_H
#define LEADOPS_KEYS_H

#include <stddef.h>

/* Writes "<prefix>:<suffix>" into OUT; returns OUT. */
const char *keys_format(char *out, size_t size, const char *prefix, const char *suffix);

#define KEY_MAX 320

#endif
