/* dashboard.h — the live operations page the reporting service serves, and
 * the snapshots it is drawn from.
 *
 * The page is three files under services/reporting/web/ (index.html,
 * app.js, style.css), embedded into the binary at build time: nothing is
 * read from disk or fetched from a CDN at run time, and the charts are
 * plain SVG drawn by app.js. The page itself holds no data, so it is served
 * without a bearer token (dashboard_open_paths); it reads ?token=... from
 * its own address and sends it as `Authorization: Bearer` on every API call.
 *
 * It is live: GET /v1/stream is a Server-Sent Events stream that carries a
 * snapshot (dashboard_snapshot) as soon as it opens and then every second;
 * GET /v1/snapshot answers the same JSON once, for clients that poll. */
#ifndef LEADOPS_DASHBOARD_H
#define LEADOPS_DASHBOARD_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "store.h"

/* How often the stream carries a snapshot. */
#define DASHBOARD_INTERVAL_MS 1000
/* How many waiting leads per queue the waiting reasons are counted over
 * (the first by priority), which bounds a snapshot's cost. */
#define DASHBOARD_REASON_SAMPLE 100

typedef struct {
    const char *path;         /* "/dashboard/app.js" */
    const char *content_type; /* with its charset */
    const char *body;         /* NUL-terminated text, static */
} dashboard_asset_t;

/* The asset served at PATH ("/" and "/dashboard" are the page), or NULL.
 * Borrowed, static. */
const dashboard_asset_t *dashboard_asset(const char *path);

/* The paths of the assets, for httpd_set_open_paths (static). */
#define DASHBOARD_OPEN_PATH_COUNT 4
extern const char *const dashboard_open_paths[DASHBOARD_OPEN_PATH_COUNT];

/* One snapshot of live operations, read through STORE (borrowed) under
 * PREFIX: {"at_ms", "summary": views_summary, "queues": views_queues' list
 * with, per queue, "waiting_reasons": [{"reason", "leads"}] (most leads
 * first) counted over its first DASHBOARD_REASON_SAMPLE waiting leads and
 * "reasons_sampled" (how many leads that was), "reps": views_reps' list}.
 * The caller owns the result. NULL with *err set (ERR_IO) when Redis fails. */
json_t *dashboard_snapshot(store_t *store, const char *prefix, err_t *err);

/* Frames one Server-Sent Event: "event: NAME\ndata: <compact JSON>\n\n".
 * Returns the malloc'ed text (its length in *LEN) or NULL when out of
 * memory. */
char *dashboard_event(const char *name, const json_t *data, size_t *len);

#endif
