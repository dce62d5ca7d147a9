/* ops.h — the live operations view: kpi_ops (pipeline, queues, reps, SLA)
 * plus what the scripts count for it (layout: common/keys.h): intake by
 * source and channel over the last 24 hours and 7 days, the grade and score
 * distributions of leads as last scored, the three speed-to-lead
 * histograms, rejects by reason and dead letters, and each service's
 * heartbeat and the lag of the two in-flight hops. Read-only: every figure
 * comes from Redis, so it is the same after a restart of reporting. */
#ifndef LEADOPS_OPS_H
#define LEADOPS_OPS_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

/* A service is up when its last heartbeat is at most this old. */
#define OPS_SERVICE_UP_MS 3000

/* kpi_ops' object with, added:
 *   intake: {last_24h, last_7d: {leads, by_source: {source: n},
 *            by_channel: {channel: n}}}  (new leads by intake hour; the
 *            current hour and the 23 / 167 before it)
 *   grades: {grade: leads}, score_buckets: [{bucket, leads}] ("<0", "0-10",
 *            ..., "90-100", ">=100", every bucket)
 *   speed_to_lead: {intake_to_assign, assign_to_accept, intake_to_touch:
 *            {count, p50, p90, p99, mean} in ms}
 *   rejects: {reason class: n}, deadletter: entries in the stream
 *   services: [{name, host, pid, version, started_at, seen_at, up}] by name
 *   lag: {scoring, routing: {in_flight, oldest_ms}} (oldest_ms: NOW_MS minus
 *            when the oldest in-flight message was last sent, 0 when none)
 * CFG (borrowed) gives the prefix and the hops' redelivery times. Returns a
 * new object, or NULL with *err set (ERR_IO) when Redis failed. */
json_t *ops_view(store_t *store, const config_t *cfg, int64_t now_ms, err_t *err);

#endif
