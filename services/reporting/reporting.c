/* reporting.c — the event bus listener and the HTTP API; see reporting.h. */
#include "reporting.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "commission.h"
#include "dashboard.h"
#include "envelope.h"
#include "httpd.h"
#include "kpi.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "plan.h"
#include "service.h"
#include "store.h"
#include "views.h"
#include "zutil.h"

/* The loop wakes at least this often, so a stop flag set outside a signal
 * handler is still seen. */
#define REPORTING_POLL_MS 1000
/* Room for the bus socket plus the HTTP listener and connections (httpd.c
 * caps connections at 800); a connection beyond this is still served, by
 * the httpd_run after the next wake-up. */
#define REPORTING_POLL_ITEMS 1024
/* Messages taken from the bus per wake-up, so a flood of events cannot
 * starve the HTTP clients. */
#define REPORTING_EVENT_BATCH 1000
/* The bus is read at most this often. Woken by every event, reporting would
 * compete for the cores with the hops a lead waits on, once per routing
 * event at least; meanwhile ZeroMQ's I/O thread queues what comes. */
#define REPORTING_DRAIN_MS 10
/* Bus counts are added to Redis at most this often (and when stopping, and
 * at each /metrics scrape): one round trip per interval, not per wake-up. */
#define REPORTING_FLUSH_MS 250
/* GET requests carry no body worth reading. */
#define REPORTING_MAX_BODY 4096
/* An envelope is at most an ingested lead plus a little framing. */
#define REPORTING_ENVELOPE_SLACK  (64 * 1024)
#define REPORTING_MIN_EVENT_BYTES (1024 * 1024)

struct reporting {
    const config_t *cfg;    /* borrowed */
    store_t *store;         /* owned */
    httpd_t *httpd;         /* owned */
    void *events;           /* owned: SUB socket bound to cfg->ep_events */
    auth_zap_t *zap;        /* owned: CurveZMQ handshakes (inert without) */
    metrics_t *metrics;     /* owned */
    int64_t next_tick_ms;   /* when the event streams get the next snapshot */
    int64_t next_flush_ms;  /* when bus counts may next be added to Redis */
    int64_t next_drain_ms;  /* when the bus may next be read (clock_mono_ms) */
    size_t max_event_bytes; /* larger bus frames are skipped unread */
    bool redis_down;        /* the last Redis read failed: log transitions only */
    zmq_pollitem_t items[REPORTING_POLL_ITEMS];
};

/* ---- HTTP ------------------------------------------------------------- */

/* Logs Redis going away and coming back once each, not on every request. */
static void s_note_redis(reporting_t *self, bool ok, const err_t *err)
{
    if (!ok && !self->redis_down)
        log_warn("redis unavailable, answering 503 until it is back: %s", err->msg);
    else if (ok && self->redis_down)
        log_info("redis reachable again");
    self->redis_down = !ok;
}

static void s_respond_json(httpd_response_t *res, json_t *view)
{
    char *body = json_dumps(view, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (!body) {
        httpd_respond_error(res, 500, "cannot serialise the view");
        return;
    }
    size_t len = strlen(body);
    char *with_newline = realloc(body, len + 2);
    if (with_newline) {
        body = with_newline;
        memcpy(body + len, "\n", 2);
    }
    httpd_respond(res, 200, "application/json", body);
    free(body);
}

/* Answers a view's result: the JSON, or the error mapped to a status. */
static void s_respond_view(reporting_t *self, httpd_response_t *res, json_t *view, const err_t *err)
{
    if (view) {
        s_note_redis(self, true, err);
        s_respond_json(res, view);
        json_decref(view);
        return;
    }
    if (err->code == ERR_NOTFOUND) {
        s_note_redis(self, true, err);
        httpd_respond_error(res, 404, err->msg);
    } else if (err->code == ERR_IO) {
        s_note_redis(self, false, err);
        char reason[ERR_MSG_MAX + 32];
        snprintf(reason, sizeof reason, "redis unavailable: %s", err->msg);
        httpd_respond_error(res, 503, reason);
        res->retry_after_s = 1;
    } else {
        httpd_respond_error(res, 500, err->msg);
    }
}

static void s_serve_metrics(reporting_t *self, httpd_response_t *res)
{
    err_t err = {0};
    size_t len = 0;
    metrics_set_auth_counts(self->metrics, httpd_unauthorized_count(self->httpd),
                            auth_zap_denied_count(self->zap));
    char *text = metrics_render(self->metrics, self->store, self->cfg->redis_prefix, &len, &err);
    /* Still 200 when Redis is down: the bus counters are worth scraping, and
     * leadops_redis_up 0 tells the alerting what is wrong. */
    s_note_redis(self, err.code == ERR_NONE, &err);
    free(res->body);
    res->status = 200;
    res->body = text;
    res->body_len = len;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- dashboard ------------------------------------------------------- */

static bool s_is_dashboard_path(const char *path)
{
    return dashboard_asset(path) || strcmp(path, "/v1/stream") == 0 ||
           strcmp(path, "/v1/snapshot") == 0;
}

/* A snapshot framed as a Server-Sent Event, or an "error" event saying why
 * there is none (Redis down): the page shows that instead of going stale.
 * NULL only when out of memory. */
static char *s_snapshot_event(reporting_t *self, size_t *len)
{
    err_t err = {0};
    json_t *snapshot = dashboard_snapshot(self->store, self->cfg->redis_prefix, &err);
    s_note_redis(self, snapshot != NULL, &err);
    char reason[ERR_MSG_MAX + 32];
    snprintf(reason, sizeof reason, "redis unavailable: %s", err.msg);
    json_t *data = snapshot ? snapshot : json_pack("{s:s}", "error", reason);
    char *event = dashboard_event(snapshot ? "snapshot" : "error", data, len);
    json_decref(data);
    return event;
}

/* GET /v1/stream: an event stream that opens with a snapshot and gets one
 * every DASHBOARD_INTERVAL_MS from s_tick_streams. */
static void s_serve_stream(reporting_t *self, httpd_response_t *res)
{
    size_t len = 0;
    char *event = s_snapshot_event(self, &len);
    /* The first stream starts the clock: its opening snapshot is fresh. */
    if (httpd_stream_count(self->httpd) == 0)
        self->next_tick_ms = clock_now_ms() + DASHBOARD_INTERVAL_MS;
    free(res->body);
    *res = (httpd_response_t){.status = 200,
                              .body = event,
                              .body_len = event ? len : 0,
                              .content_type = "text/event-stream",
                              .event_stream = true};
}

/* Sends the open event streams a snapshot when one is due. Nobody
 * watching: no Redis reads at all. */
static void s_tick_streams(reporting_t *self, int64_t now_ms)
{
    if (httpd_stream_count(self->httpd) == 0 || now_ms < self->next_tick_ms)
        return;
    self->next_tick_ms = now_ms + DASHBOARD_INTERVAL_MS;
    size_t len = 0;
    char *event = s_snapshot_event(self, &len);
    if (event)
        httpd_stream_send(self->httpd, event, len);
    free(event);
}

#define LEADS_PATH   "/v1/leads/"
#define AUDIT_SUFFIX "/audit"

/* The routing decisions of the lead whose id is the first ID_LEN bytes of ID. */
static void s_serve_audit(reporting_t *self, httpd_response_t *res, const char *id, size_t id_len)
{
    char *lead_id = strndup(id, id_len);
    if (!lead_id) {
        httpd_respond_error(res, 500, "out of memory");
        return;
    }
    err_t err = {0};
    s_respond_view(self, res, views_lead_audit(self->store, self->cfg->redis_prefix, lead_id, &err),
                   &err);
    free(lead_id);
}

/* /v1/kpi/reps?from=YYYY-MM-DD&to=YYYY-MM-DD (to inclusive) or ?period=30d|
 * this-month|...; the last 30 days without either. A bad period is a 400. */
static void s_serve_kpi_reps(reporting_t *self, const httpd_request_t *req, httpd_response_t *res)
{
    err_t err = {0};
    kpi_period_t period;
    if (kpi_period_parse(httpd_query(req, "period"), httpd_query(req, "from"),
                         httpd_query(req, "to"), clock_now_ms(), &period, &err) < 0) {
        httpd_respond_error(res, 400, err.msg);
        return;
    }
    s_respond_view(self, res, kpi_reps(self->store, self->cfg, &period, &err), &err);
}

/* A whole-number query parameter NAME in 1..MAX, or FALLBACK when absent.
 * Returns -1 (answered 400) when it is something else. */
static int s_query_count(const httpd_request_t *req, httpd_response_t *res, const char *name,
                         int max, int fallback, int *out)
{
    const char *text = httpd_query(req, name);
    char *end = NULL;
    long value = text ? strtol(text, &end, 10) : fallback;
    if (text && (end == text || *end || value < 1 || value > max)) {
        char reason[128];
        snprintf(reason, sizeof reason, "%s: a whole number from 1 to %d, not '%.32s'", name, max,
                 text);
        httpd_respond_error(res, 400, reason);
        return -1;
    }
    *out = (int)value;
    return 0;
}

/* /v1/plan?weeks=N&backtest=K: plan_view (defaults 8 and 8). */
static void s_serve_plan(reporting_t *self, const httpd_request_t *req, httpd_response_t *res)
{
    plan_opts_t opts = {.now_ms = clock_now_ms()};
    if (s_query_count(req, res, "weeks", PLAN_WEEKS_MAX, PLAN_WEEKS_DEFAULT, &opts.weeks) < 0 ||
        s_query_count(req, res, "backtest", FORECAST_BACKTEST_MAX, PLAN_WEEKS_DEFAULT,
                      &opts.backtest_weeks) < 0)
        return;
    err_t err = {0};
    s_respond_view(self, res, plan_view(self->store, self->cfg, &opts, &err), &err);
}

/* /v1/commissions?from=&to= (days or months, to inclusive; without them the
 * latest period with a won deal). A bad date is a 400. */
static void s_serve_commissions(reporting_t *self, const httpd_request_t *req,
                                httpd_response_t *res)
{
    err_t err = {0};
    json_t *view = commission_view(self->store, self->cfg, httpd_query(req, "from"),
                                   httpd_query(req, "to"), &err);
    if (!view && err.code == ERR_INPUT)
        httpd_respond_error(res, 400, err.msg);
    else
        s_respond_view(self, res, view, &err);
}

static void s_on_http(void *arg, const httpd_request_t *req, httpd_response_t *res)
{
    reporting_t *self = arg;
    const char *path = req->path;
    const char *prefix = self->cfg->redis_prefix;
    bool is_lead =
        strncmp(path, LEADS_PATH, strlen(LEADS_PATH)) == 0 && path[strlen(LEADS_PATH)] != '\0';
    /* /v1/leads/{id}/audit: the id is what lies between (a lead id is the
     * producer's, so it may hold a '/' of its own). */
    const char *lead_id = path + strlen(LEADS_PATH);
    size_t lead_id_len = is_lead ? strlen(lead_id) : 0;
    bool is_audit = lead_id_len > strlen(AUDIT_SUFFIX) &&
                    strcmp(lead_id + lead_id_len - strlen(AUDIT_SUFFIX), AUDIT_SUFFIX) == 0;
    bool known = is_lead || strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0 ||
                 strcmp(path, "/v1/queues") == 0 || strcmp(path, "/v1/reps") == 0 ||
                 strcmp(path, "/v1/summary") == 0 || strcmp(path, "/v1/kpi/reps") == 0 ||
                 strcmp(path, "/v1/conversion") == 0 || strcmp(path, "/v1/plan") == 0 ||
                 strcmp(path, "/v1/commissions") == 0 || strcmp(path, "/v1/ops") == 0;
    char reason[256];
    if (req->body_too_large) {
        httpd_respond_error(res, 413, "request body too large (the reporting API takes none)");
        return;
    }
    if (!known && !s_is_dashboard_path(path)) {
        snprintf(reason, sizeof reason, "no such resource: %.200s", path);
        httpd_respond_error(res, 404, reason);
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        snprintf(reason, sizeof reason, "method %.16s not allowed on %.200s; use GET", req->method,
                 path);
        httpd_respond_error(res, 405, reason);
        return;
    }

    err_t err = {0};
    if (strcmp(path, "/healthz") == 0)
        httpd_respond(res, 200, "text/plain; charset=utf-8", "ok\n");
    else if (strcmp(path, "/metrics") == 0)
        s_serve_metrics(self, res);
    else if (dashboard_asset(path))
        httpd_respond(res, 200, dashboard_asset(path)->content_type, dashboard_asset(path)->body);
    else if (strcmp(path, "/v1/stream") == 0)
        s_serve_stream(self, res);
    else if (strcmp(path, "/v1/snapshot") == 0)
        s_respond_view(self, res, dashboard_snapshot(self->store, prefix, &err), &err);
    else if (is_audit)
        s_serve_audit(self, res, lead_id, lead_id_len - strlen(AUDIT_SUFFIX));
    else if (is_lead)
        s_respond_view(self, res,
                       views_lead(self->store, prefix, lead_id,
                                  &(explain_opts_t){.now_ms = clock_now_ms(),
                                                    .half_life_s = self->cfg->scoring_half_life_s,
                                                    .model_weight = self->cfg->model_points},
                                  &err),
                       &err);
    else if (strcmp(path, "/v1/kpi/reps") == 0)
        s_serve_kpi_reps(self, req, res);
    else if (strcmp(path, "/v1/plan") == 0)
        s_serve_plan(self, req, res);
    else if (strcmp(path, "/v1/commissions") == 0)
        s_serve_commissions(self, req, res);
    else if (strcmp(path, "/v1/conversion") == 0)
        s_respond_view(self, res, kpi_conversion(self->store, prefix, &err), &err);
    else if (strcmp(path, "/v1/ops") == 0)
        s_respond_view(self, res, ops_view(self->store, self->cfg, clock_now_ms(), &err), &err);
    else if (strcmp(path, "/v1/queues") == 0)
        s_respond_view(self, res, views_queues(self->store, prefix, &err), &err);
    else if (strcmp(path, "/v1/reps") == 0)
        s_respond_view(self, res, views_reps(self->store, prefix, &err), &err);
    else
        s_respond_view(self, res, views_summary(self->store, prefix, &err), &err);
}

/* ---- event bus -------------------------------------------------------- */

/* Takes what the bus has (up to REPORTING_EVENT_BATCH messages) without
 * blocking. Returns -1 only when the context is being terminated. */
static int s_drain_events(reporting_t *self)
{
    for (int taken = 0; taken < REPORTING_EVENT_BATCH; taken++) {
        zutil_frames_t frames;
        if (zutil_recv_frames(self->events, &frames, self->max_event_bytes, ZMQ_DONTWAIT) < 0)
            return errno == ETERM ? -1 : 0;
        /* Publishers send one frame per envelope; anything else is a
         * broken or foreign publisher, counted and skipped. */
        if (frames.count != 1 || frames.truncated || !frames.data[0]) {
            metrics_count_malformed(self->metrics);
            log_debug("skipped a bus message of %zu frame(s), first %zu bytes", frames.count,
                      frames.size[0]);
        } else {
            err_t err = {0};
            if (metrics_on_event(self->metrics, frames.data[0], frames.size[0], &err) < 0)
                log_debug("skipped a malformed bus event (%zu bytes): %s", frames.size[0], err.msg);
        }
        zutil_frames_clear(&frames);
    }
    return 0;
}

/* Adds what the events since the last flush counted to <prefix>:bus (one
 * round trip), at most every REPORTING_FLUSH_MS unless FORCE; when Redis
 * is down the counts wait for the next flush. */
static void s_flush_bus_counts(reporting_t *self, bool force)
{
    if (!metrics_has_pending(self->metrics))
        return;
    int64_t now = clock_mono_ms();
    if (!force && now < self->next_flush_ms)
        return;
    self->next_flush_ms = now + REPORTING_FLUSH_MS;
    err_t err = {0};
    int rc = metrics_flush(self->metrics, self->store, self->cfg->redis_prefix, &err);
    s_note_redis(self, rc == 0, &err);
}

/* ---- life cycle ------------------------------------------------------- */

reporting_t *reporting_new(const config_t *cfg, void *zmq_ctx, err_t *err)
{
    char host[256];
    int port = 0;
    if (config_split_listen(cfg->http_reporting_listen, host, sizeof host, &port, err) < 0) {
        err_wrap(err, "http.reporting_listen");
        return NULL;
    }
    reporting_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->max_event_bytes =
        (cfg->ingest_max_body_bytes > REPORTING_MIN_EVENT_BYTES ? cfg->ingest_max_body_bytes
                                                                : REPORTING_MIN_EVENT_BYTES) +
        REPORTING_ENVELOPE_SLACK;

    /* Lazy connect: reporting starts (and serves /healthz and bus metrics)
     * while Redis is still coming up. */
    self->store = service_store_new(cfg, false, err);
    if (!self->store)
        goto failed;
    self->metrics = metrics_new(err);
    if (!self->metrics)
        goto failed;
    zutil_security_t security;
    if (auth_security_from_config(cfg, &security, err) < 0 ||
        !(self->zap = auth_zap_start(zmq_ctx, cfg, err)))
        goto failed;
    self->events = zutil_socket_secure(zmq_ctx, ZMQ_SUB, cfg->ep_events, true, ZUTIL_HWM_EVENTS,
                                       &security, err);
    if (!self->events) {
        err_wrap(err, "endpoints.events");
        goto failed;
    }
    if (zmq_setsockopt(self->events, ZMQ_SUBSCRIBE, "", 0) != 0) {
        err_set(err, ERR_IO, "zmq subscribe: %s", zmq_strerror(errno));
        goto failed;
    }
    self->httpd = httpd_new(host, port, REPORTING_MAX_BODY, s_on_http, self, err);
    if (!self->httpd) {
        err_wrap(err, "http.reporting_listen");
        goto failed;
    }
    httpd_set_tokens(self->httpd, (const char *const *)cfg->http_tokens, cfg->http_token_count);
    /* The page holds no data; it calls the API with the token itself. */
    httpd_set_open_paths(self->httpd, dashboard_open_paths, DASHBOARD_OPEN_PATH_COUNT);
    return self;
failed:
    reporting_destroy(&self);
    return NULL;
}

void reporting_destroy(reporting_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    reporting_t *self = *self_p;
    httpd_destroy(&self->httpd);
    zutil_close(&self->events);
    auth_zap_stop(&self->zap); /* after the socket it guards */
    metrics_destroy(&self->metrics);
    store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

int reporting_http_port(const reporting_t *self)
{
    return httpd_port(self->httpd);
}

int reporting_run(reporting_t *self, volatile sig_atomic_t *stop)
{
    service_beat_t beat = {0};
    while (!*stop) {
        service_reload_if_requested(self->cfg->path, self->httpd, self->zap);
        service_heartbeat(&beat, self->store, self->cfg, "reporting", NULL);
        int count = 0;
        long timeout_ms = REPORTING_POLL_MS;
        int64_t drain_in_ms = self->next_drain_ms - clock_mono_ms();
        bool drain = drain_in_ms <= 0;
        if (drain)
            self->items[count++] =
                (zmq_pollitem_t){.socket = self->events, .fd = 0, .events = ZMQ_POLLIN};
        else if (drain_in_ms < timeout_ms)
            timeout_ms = (long)drain_in_ms;
        if (httpd_stream_count(self->httpd) > 0) {
            int64_t due_ms = self->next_tick_ms - clock_now_ms();
            timeout_ms = due_ms < 0 ? 0 : due_ms < timeout_ms ? (long)due_ms : timeout_ms;
        }
        if (metrics_has_pending(self->metrics)) {
            int64_t due_ms = self->next_flush_ms - clock_mono_ms();
            timeout_ms = due_ms < 0 ? 0 : due_ms < timeout_ms ? (long)due_ms : timeout_ms;
        }
        httpd_poll_prepare(self->httpd, self->items, &count, REPORTING_POLL_ITEMS, &timeout_ms);
        if (zmq_poll(self->items, count, timeout_ms) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition re-checks the stop flag */
            log_error("zmq_poll: %s", zmq_strerror(errno));
            return -1;
        }
        if (drain && (self->items[0].revents & ZMQ_POLLIN)) {
            if (s_drain_events(self) < 0) {
                log_error("event bus: the ZeroMQ context was terminated");
                return -1;
            }
            self->next_drain_ms = clock_mono_ms() + REPORTING_DRAIN_MS;
        }
        s_flush_bus_counts(self, false);
        s_tick_streams(self, clock_now_ms());
        /* MHD_run checks its own sockets, so it also serves connections that
         * did not fit in the poll set and expires idle ones. */
        httpd_run(self->httpd);
    }
    s_flush_bus_counts(self, true); /* what is left, if Redis takes it */
    return 0;
}
