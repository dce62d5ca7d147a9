/* metrics.h — what the reporting service exposes on /metrics, in the
 * Prometheus text format 0.0.4 (checked by `promtool check metrics`).
 *
 * Two sources, both surviving a restart of reporting:
 *  - counters of the event bus (events by type, rejections by reason,
 *    malformed messages, and a speed-to-lead histogram of the assignments
 *    seen). They are counted in memory as events arrive and added to the
 *    Redis hash <prefix>:bus by metrics_flush, one MULTI/EXEC round trip per
 *    flush (the reporting service flushes at most four times a second, at
 *    each scrape and when it stops); the rendered value is the hash's total
 *    plus what is not flushed yet. Fields: "event:<type>", "malformed",
 *    "rejected:<reason>", "stl:le_<bound ms>", "stl:count", "stl:sum_ms".
 *    One reporting process counts per prefix: two would count every event
 *    twice. A connection lost in the middle of EXEC may count one batch
 *    twice (the batch is kept and sent again); nothing is lost while the
 *    process lives (a reporting process killed outright loses what it
 *    counted since its last flush: a quarter of a second of events at most).
 *  - the live Redis state read at each scrape through the views (stats,
 *    queue depths, rep load and the speed-to-lead histogram routing keeps).
 * Memory and label sets are bounded: rejection reasons are capped at
 * METRICS_MAX_REASONS distinct values over the hash and memory together (the
 * rest, and a reason spelled "other", count as reason="other"; a flush reads
 * the hash first when it has not yet, so a restarted process holds the cap
 * too, and reasons take their slots in the order of their names), cut to
 * METRICS_REASON_MAX bytes on a UTF-8 character boundary. Label values are
 * escaped and made valid UTF-8 whatever their source. A metrics_t belongs
 * to one thread. */
#ifndef LEADOPS_METRICS_H
#define LEADOPS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define METRICS_MAX_REASONS  32
#define METRICS_REASON_MAX   96      /* longer reasons are cut to at most this many bytes */
#define METRICS_OTHER_REASON "other" /* the reason label of the reasons past the cap */

typedef struct metrics metrics_t;

metrics_t *metrics_new(err_t *err);
void metrics_destroy(metrics_t **self_p); /* NULL-safe, idempotent */

/* Accounts one single-frame message from the bus (BYTES borrowed). Returns
 * 0 when it was a well-formed envelope, or -1 with *err (ERR_INPUT) when it
 * was malformed, in which case it is counted as such and otherwise ignored. */
int metrics_on_event(metrics_t *self, const void *bytes, size_t len, err_t *err);

/* Counts a bus message refused before decoding (oversized, multi-frame). */
void metrics_count_malformed(metrics_t *self);

/* True when events were counted since the last successful flush. */
bool metrics_has_pending(const metrics_t *self);

/* Adds the counts taken since the last successful flush to <PREFIX>:bus
 * through STORE (borrowed) and reads the totals back, in one round trip; a
 * no-op once the totals are known and nothing is pending. Returns 0, or -1
 * with *err set (ERR_IO) when Redis failed: the counts stay pending for the
 * next call. */
int metrics_flush(metrics_t *self, store_t *store, const char *prefix, err_t *err);

/* Takes this process's refusal counters (they live in httpd and the ZAP
 * handler) for the next render: HTTP requests refused 401 and CurveZMQ
 * handshakes denied. */
void metrics_set_auth_counts(metrics_t *self, uint64_t http_unauthorized, uint64_t curve_denied);

/* Flushes (metrics_flush) and renders every metric. The Redis-backed
 * families are read through STORE (borrowed) under PREFIX; when Redis fails
 * they are left out, the bus families show the last totals read plus what
 * is pending, the leadops_redis_up gauge reads 0 and *err says why.
 * Returns the malloc'ed NUL-terminated text, its length in *LEN; the caller
 * frees it. Never NULL. */
char *metrics_render(metrics_t *self, store_t *store, const char *prefix, size_t *len, err_t *err);

/* The names of every metric family metrics_render can print, NULL-ended
 * (a Grafana dashboard or alert rule may name only these). */
extern const char *const metrics_family_names[];

#endif
