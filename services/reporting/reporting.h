/* reporting.h — the reporting service as a library: it listens to the event
 * bus and answers the HTTP API (JSON views over Redis, Prometheus /metrics).
 *
 * One thread, one zmq_poll loop: a SUB socket bound to cfg->ep_events (every
 * other service connects a PUB to it and sends single-frame Envelopes) and
 * the HTTP server on cfg->http_reporting_listen. HTTP routes, GET only
 * (other methods 405, unknown paths 404, errors as {"error": "..."}):
 *   /healthz          200 "ok"
 *   / and /dashboard  the live operations page (dashboard.h); it and /dashboard/app.js,
 *                     /dashboard/style.css need no token even when security.http_tokens
 *                     is set (they hold no data): open /dashboard?token=T and the page
 *                     sends T as `Authorization: Bearer T` on its API calls
 *   /v1/stream        Server-Sent Events: a dashboard_snapshot at once and every second
 *                     ("event: snapshot"), or "event: error" while Redis is down
 *   /v1/snapshot      dashboard_snapshot once (for clients that poll)
 *   /v1/leads/{id}    views_lead (404 when missing)
 *   /v1/leads/{id}/audit  views_lead_audit: its routing decisions (404 when missing)
 *   /v1/queues        views_queues
 *   /v1/reps          views_reps
 *   /v1/summary       views_summary
 *   /v1/kpi/reps      kpi_reps for ?from=&to= (dates, to inclusive) or ?period= (400 when bad)
 *   /v1/conversion    kpi_conversion
 *   /v1/ops           ops_view: live operations (intake by source and channel, grades and
 *                     scores, speed to lead, rejects, services up or down, hop lag)
 *   /v1/plan          plan_view for ?weeks=N&backtest=K (defaults 8; 400 when bad)
 *   /v1/commissions   commission_view for ?from=&to= (days or months; 400 when bad)
 *   /metrics          Prometheus text format 0.0.4 (see metrics.h)
 * When Redis is down the views answer 503 and the service keeps running;
 * the store reconnects by itself. Malformed bus messages are counted and
 * skipped. The bus counts go to Redis (<prefix>:bus) after every batch of
 * events, so /metrics shows the same totals after a restart. */
#ifndef LEADOPS_REPORTING_H
#define LEADOPS_REPORTING_H

#include <signal.h>

#include "config.h"
#include "err.h"

typedef struct reporting reporting_t;

/* Binds the event SUB socket and the HTTP listener. CFG and ZMQ_CTX are
 * borrowed and must outlive the service. Redis is connected lazily, so a
 * Redis that is down does not stop the start. Returns NULL with *err set
 * when an endpoint cannot be bound (e.g. the port is taken). */
reporting_t *reporting_new(const config_t *cfg, void *zmq_ctx, err_t *err);
void reporting_destroy(reporting_t **self_p); /* NULL-safe, idempotent */

/* Runs the loop until *STOP is set (checked at least once a second and after
 * every signal). Logs what goes wrong (Redis going away and coming back,
 * malformed events at debug level). Returns 0 when stopped, -1 when the
 * ZeroMQ context was terminated or polling failed for good. */
int reporting_run(reporting_t *self, volatile sig_atomic_t *stop);

/* The HTTP port actually bound (useful when the configured port is 0). */
int reporting_http_port(const reporting_t *self);

#endif
