/* metrics.h — what the reporting service exposes on /metrics, in the
 * Prometheus text format 0.0.4.
 *
 * Two sources: counters of the event bus kept in memory since the process
 * started (events by type, rejections by reason, malformed messages, and a
 * speed-to-lead histogram of the assignments seen), and the live Redis state
 * read at each scrape through the views (stats, queue depths, rep load and
 * the speed-to-lead histogram routing maintains, which survives restarts).
 * Memory is bounded: the label sets are fixed, except rejection reasons,
 * which are capped at METRICS_MAX_REASONS distinct values (the rest are
 * counted as "other"). A metrics_t belongs to one thread. */
#ifndef LEADOPS_METRICS_H
#define LEADOPS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define METRICS_MAX_REASONS 32
#define METRICS_REASON_MAX  96 /* longer reasons are cut to this many bytes */

typedef struct metrics metrics_t;

metrics_t *metrics_new(err_t *err);
void metrics_destroy(metrics_t **self_p); /* NULL-safe, idempotent */

/* Accounts one single-frame message from the bus (BYTES borrowed). Returns
 * 0 when it was a well-formed envelope, or -1 with *err (ERR_INPUT) when it
 * was malformed, in which case it is counted as such and otherwise ignored. */
int metrics_on_event(metrics_t *self, const void *bytes, size_t len, err_t *err);

/* Counts a bus message refused before decoding (oversized, multi-frame). */
void metrics_count_malformed(metrics_t *self);

/* Takes this process's refusal counters (they live in httpd and the ZAP
 * handler) for the next render: HTTP requests refused 401 and CurveZMQ
 * handshakes denied. */
void metrics_set_auth_counts(metrics_t *self, uint64_t http_unauthorized, uint64_t curve_denied);

/* Renders every metric. The Redis-backed families are read through STORE
 * (borrowed) under PREFIX; when Redis fails they are left out, the
 * leadops_redis_up gauge reads 0 and *err says why (the in-memory families
 * are still worth scraping). Returns the malloc'ed NUL-terminated text, its
 * length in *LEN; the caller frees it. Never NULL. */
char *metrics_render(const metrics_t *self, store_t *store, const char *prefix, size_t *len,
                     err_t *err);

#endif
