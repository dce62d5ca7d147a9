/* keys.h — the Redis key layout, in one place. Every key starts with the
 * configured prefix <p> ("leadops" by default) and a colon.
 *
 * <p>:journal              stream  every accepted event: type, event_id, lead_id, envelope
 * <p>:eventid:<event_id>   string  dedup marker = lead id, TTL ingest.dedup_window_s
 * <p>:inflight:<hop>       zset    sent, not yet applied, by redelivery deadline (ms):
 *                                  event ids (hop "scoring"), lead ids (hop "routing")
 * <p>:inflight:<hop>:msg   hash    member -> encoded Envelope, for re-sending
 * <p>:lead:<lead_id>       hash    lead state: lead (Lead protobuf), status
 *                                  (scored|nurture|queued|assigned|closed), score (as of
 *                                  scored_at), fit, grade, reasons (JSON array of the fit
 *                                  rules matched), engagement (value as of eng_at: it decays
 *                                  by scoring.half_life_s), model_points, model_p, model_top
 *                                  (JSON), model, stage, stage_at, qualified (0|1), ready_at,
 *                                  waiting_for (the stage a nurtured lead needs), activities,
 *                                  act:<type> counts, capw:<type> / capu:<type> (cap window
 *                                  and points counted in it), queue, rule, rep, outcome,
 *                                  skills (a rep needs), owner / account, attempts, why,
 *                                  accepted, sla_due, waiting_reason, escalated,
 *                                  ingested_at, scored_at, qualified_at, queued_at,
 *                                  assigned_at, closed_at, updated_at (Unix ms); for the
 *                                  KPIs: first_at (its earliest lead event time, else intake),
 *                                  first_act_at, first_touch_at (its first call or email),
 *                                  origin (the source it was counted under), won_first (1
 *                                  once a deal_won applied), won_value (sum of its won
 *                                  deals), first_queue (the queue it was first placed in);
 *                                  score_bucket (its <p>:score_hist bucket), restage_at
 *                                  (its time in <p>:stage_due, '' or none when not there)
 * <p>:leads                zset    lead ids by first ingest time (ms)
 * <p>:lead:<id>:history    list    the last 100 changes to the lead, oldest first, JSON:
 *                                  event_id, at, changes (merged fields, or "stage": [from,
 *                                  to]), cause (stage changes), merged_from (merges)
 * <p>:lead:<id>:acts       list    the last 100 activities, newest first, JSON: id, type, at,
 *                                  points (counted), base (before the cap), outcome
 * <p>:stage_due            zset    lead ids by when their decaying score crosses a stage
 *                                  threshold (ms): scoring re-scores them then
 * <p>:alias:<lead_id>      string  the lead a merged lead id stands for
 * <p>:identity:email:<e>   string  the lead that first used an email
 * <p>:identity:source:<s>:<id> string the lead that first used a source system's id
 * <p>:identity:leads       set     every lead id a lead event was accepted for
 * <p>:orphans              zset    lead ids with activities but no lead yet, by deadline
 * <p>:stats                hash    counters: ingested_leads, ingested_activities, duplicates,
 *                                  rejected, scored, qualified, assigned, queued, closed,
 *                                  capped, stage_up, stage_down, unqueued, reassigned,
 *                                  accepted, sla_breaches, rejected_by_rep, escalations,
 *                                  overflowed
 * <p>:rejects              hash    reject reason class -> count
 * <p>:deadletter           stream  rejected input: reason class, channel, kind, size
 *                                  (never the input itself)
 * <p>:stl                  hash    speed-to-lead histogram: le_<bound ms> -> count, count,
 *                                  sum_ms (bounds: services/reporting/stl.c), intake (or
 *                                  ready) to first assignment; routing's assign.lua
 * <p>:stl_accept           hash    the same, assignment to accept (routing.lua 'accept')
 * <p>:stl_touch            hash    the same, the lead's first_at to its first call or email
 *                                  (scoring's apply.lua, with its own copy of the bounds)
 * <p>:grades               hash    grade ("none" when ungraded) -> leads with it as last
 *                                  scored (apply.lua moves a lead when its grade changes)
 * <p>:score_hist           hash    score bucket ("<0", "0-10", ..., "90-100", ">=100") ->
 *                                  leads in it as last scored; the lead's own bucket is
 *                                  its score_bucket field
 * <p>:intake:h:<hour>      hash    new leads accepted in the UTC hour (ms / 3600000):
 *                                  "src:<source>" ("unknown" without one), "chan:<channel>"
 *                                  (http | zmq | import); accept.lua; expires after 8 days
 * <p>:services             zset    "name|host|pid" of each service process by its last
 *                                  heartbeat (ms, once a second); dropped after a day
 * <p>:service:<name|host|pid> hash version, started_at, seen_at (ms); expires after a day
 * <p>:bus                  hash    reporting's counts of the event bus (metrics.h): event:<type>,
 *                                  malformed, rejected:<reason>, stl:le_<bound ms>, stl:count,
 *                                  stl:sum_ms; added to per batch of events (MULTI/EXEC)
 * <p>:reps                 set     every rep id
 * <p>:rep:<rep_id>         hash    name, status (online|away|offline), capacity, open,
 *                                  assigned_total, daily_cap, weekly_cap, weight, team,
 *                                  skills (",a,b,"), cfg_<field> (as the config last set
 *                                  it), retired, and from routing.c in the rep's time zone:
 *                                  avail (UTC windows "s-e,..." or "*"), ooo, days and weeks
 *                                  (UTC starts of its local days / weeks), avail_at
 * <p>:rep:<rep_id>:leads   set     the rep's open lead ids
 * <p>:rep:<rep_id>:queues  set     the queues the rep works
 * <p>:rep:<id>:day:<start> string  leads assigned in the local day starting at <start> (ms);
 *                                  :week:<start> the same per local week (caps)
 * <p>:queues               set     every queue name
 * <p>:queue:<q>            hash    the queue's settings (strategy, sla_s, sla_bh,
 *                                  max_attempts, escalate_to, overflow_after_s, overflow_to,
 *                                  owner_first, owner_fallback, catch_up, webhook)
 * <p>:queue:<q>:rr         zset    the queue's reps by the sequence of their last assignment
 * <p>:queue:<q>:load       zset    a least_loaded queue's reps by load (open / capacity in
 *                                  steps of 1e-4) * 1e10 + their rr sequence
 * <p>:queue:<q>:pass       zset    a weighted queue's reps by stride-scheduling pass (each
 *                                  lead moves a rep 720720 / weight on); the queue's hash
 *                                  keeps vt, the pass served last (routing/lua/index.lua)
 * <p>:queue:<q>:count      hash    rep -> leads assigned from the queue (catch_up)
 * <p>:sla                  zset    assigned, not accepted lead ids by SLA deadline (ms)
 * <p>:overflow             zset    waiting lead ids by when they overflow (ms)
 * <p>:lead:<id>:tried      set     reps that had the lead and lost it (SLA, reject)
 * <p>:lead:<id>:audit      list    the last 50 routing decisions, oldest first, JSON {at,
 *                                  op, rule, queue, strategy, candidates [{rep, excluded}],
 *                                  chosen, why, ...}; expires routing.audit_ttl_s after the
 *                                  last one
 * <p>:notify               stream  webhook notifications: queue, kind, lead, rep, text, at
 * <p>:account:<domain>     hash    an account: name, owner (rep id)
 * <p>:accounts             set     every account domain
 * <p>:settings             hash    audit_ttl_ms
 * <p>:queue:<q>:waiting    zset    waiting lead ids by round((1000 - score) * 100) * 1e10 +
 *                                  arrival sequence (re-ordered as scores change and decay)
 * <p>:seq                  string  arrival and assignment sequence counter
 * <p>:kpi:d:<day>          hash    KPI counts of one UTC day (days since 1970 of the fact's
 *                                  own time), written once per event by scoring's apply.lua
 *                                  and routing's assign.lua: "<rep>|<metric>" with metrics
 *                                  calls, emails, meetings, demos, proposals, opportunities,
 *                                  won, lost, won_value, lost_value, close_days_sum,
 *                                  close_days_n (a deal's days from engage_date, else the
 *                                  lead's first_at), stl_ms_sum, stl_n (first assignment,
 *                                  by its time), touch_ms_sum, touch_n (the lead's first_at
 *                                  to its first call or email); "src:<source>|leads" (new
 *                                  leads by the lead's time); "queue:<q>|leads" (leads first
 *                                  placed in q, by the lead's first_at, else its intake)
 * <p>:kpi:days             zset    the day numbers that have a kpi:d hash (score = day)
 * <p>:kpi:origin           hash    all time: leads:<source>, won:<source> (a lead's first
 *                                  deal_won), won_value:<source> (every won deal of leads
 *                                  that came); an empty source is "unknown"
 * <p>:deals                stream  one entry per won or lost deal: rep, lead, outcome
 *                                  (won|lost), value, product, at, opened_at (ms or "")
 */
#ifndef LEADOPS_KEYS_H
#define LEADOPS_KEYS_H

#include <stddef.h>

/* Writes "<prefix>:<suffix>" into OUT; returns OUT. */
const char *keys_format(char *out, size_t size, const char *prefix, const char *suffix);

#define KEY_MAX 320

#endif
