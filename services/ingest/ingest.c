#include "ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "bus.h"
#include "envelope.h"
#include "http_intake.h"
#include "httpd.h"
#include "intake.h"
#include "log.h"
#include "service.h"
#include "store.h"
#include "zutil.h"

#define REDELIVERY_TICK_MS 250
#define POLL_ITEMS_MAX     1024

struct ingest {
    const config_t *cfg;                     /* borrowed */
    store_t *store;                          /* owned */
    void *router;                            /* owned: producers */
    void *scoring_push;                      /* owned */
    void *events_pub;                        /* owned */
    bus_t *bus;                              /* owned: events_pub's bursts */
    httpd_t *httpd;                          /* owned */
    auth_zap_t *zap;                         /* owned: CurveZMQ handshakes (inert without) */
    intake_t *intake;                        /* owned */
    zutil_frames_t routes[INGEST_BATCH_MAX]; /* reply routes of the batch in hand */
    int64_t next_redelivery_ms;
    bool store_down_logged;
};

ingest_t *ingest_new(const config_t *cfg, void *zmq_ctx, err_t *err)
{
    ingest_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = service_store_new(cfg, false, err);
    if (!self->store)
        goto fail;
    zutil_security_t security;
    if (auth_security_from_config(cfg, &security, err) < 0 ||
        !(self->zap = auth_zap_start(zmq_ctx, cfg, err)))
        goto fail;
    self->router = zutil_socket_secure(zmq_ctx, ZMQ_ROUTER, cfg->ep_ingest, true, ZUTIL_HWM_REPLY,
                                       &security, err);
    if (!self->router)
        goto fail;
    self->scoring_push = zutil_socket_secure(zmq_ctx, ZMQ_PUSH, cfg->ep_scoring, false,
                                             ZUTIL_HWM_WORK, &security, err);
    if (!self->scoring_push)
        goto fail;
    self->events_pub = zutil_socket_secure(zmq_ctx, ZMQ_PUB, cfg->ep_events, false,
                                           ZUTIL_HWM_EVENTS, &security, err);
    if (!self->events_pub)
        goto fail;
    self->bus = bus_new(self->events_pub, cfg->events_delay_ms, err);
    if (!self->bus)
        goto fail;
    self->intake = intake_new(cfg, self->store, self->scoring_push, self->bus, err);
    if (!self->intake)
        goto fail;

    char host[256];
    int port;
    if (config_split_listen(cfg->http_ingest_listen, host, sizeof host, &port, err) < 0)
        goto fail;
    self->httpd =
        httpd_new(host, port, cfg->ingest_max_body_bytes, http_intake_handle, self->intake, err);
    if (!self->httpd)
        goto fail;
    httpd_set_tokens(self->httpd, (const char *const *)cfg->http_tokens, cfg->http_token_count);
    return self;
fail:
    ingest_destroy(&self);
    return NULL;
}

void ingest_destroy(ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_t *self = *self_p;
    httpd_destroy(&self->httpd);
    intake_destroy(&self->intake);
    bus_destroy(&self->bus); /* sends what it holds: before its socket closes */
    zutil_close(&self->router);
    zutil_close(&self->scoring_push);
    zutil_close(&self->events_pub);
    auth_zap_stop(&self->zap); /* after the sockets it guards */
    store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

int ingest_http_port(const ingest_t *self)
{
    return httpd_port(self->httpd);
}

static void s_send_ack(ingest_t *self, const zutil_frames_t *route, const intake_result_t *result)
{
    Leadops__Ack ack = LEADOPS__ACK__INIT;
    ack.event_id = (char *)result->event_id;
    ack.status = result->status;
    ack.reason = (char *)result->reason;
    ack.lead_id = (char *)result->lead_id;
    ack.lead_outcome = (char *)result->outcome;
    if (result->status == LEADOPS__ACK__STATUS__BUSY)
        ack.retry_after_ms = 1000;
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_ACK, NULL, "leadops-ingest", 0, 0,
                                   &ack.base, &len, NULL);
    if (!bytes)
        return;
    /* A ROUTER drops replies to peers that left; it never blocks. */
    zutil_send_routed(self->router, route, bytes, len, ZMQ_DONTWAIT);
    free(bytes);
}

/* Drains up to INGEST_BATCH_MAX waiting messages and handles them in one
 * pipeline round trip. */
static void s_handle_producers(ingest_t *self)
{
    size_t count = 0;
    intake_reset(self->intake);
    while (count < INGEST_BATCH_MAX) {
        zutil_frames_t *frames = &self->routes[count];
        if (zutil_recv_frames(self->router, frames, self->cfg->ingest_max_body_bytes,
                              ZMQ_DONTWAIT) < 0)
            break;
        count++;
        size_t body = frames->count - 1;
        if (frames->count < 2 || frames->truncated) {
            intake_add_reject(self->intake, "expected [identity, (empty,) envelope] frames", "zmq",
                              0);
        } else if (!frames->data[body]) {
            char reason[96];
            snprintf(reason, sizeof reason, "frame of %zu bytes exceeds ingest.max_body_bytes",
                     frames->size[body]);
            intake_add_reject(self->intake, reason, "zmq", frames->size[body]);
        } else {
            intake_add_envelope(self->intake, frames->data[body], frames->size[body], "zmq");
        }
    }
    if (count == 0)
        return;
    err_t err = {0};
    if (intake_flush(self->intake, &err) < 0) {
        if (!self->store_down_logged)
            log_error("journal unavailable, answering BUSY: %s", err.msg);
        self->store_down_logged = true;
    } else if (self->store_down_logged) {
        log_info("journal available again");
        self->store_down_logged = false;
    }
    for (size_t i = 0; i < count; i++) {
        s_send_ack(self, &self->routes[i], intake_result(self->intake, i));
        zutil_frames_clear(&self->routes[i]);
    }
    intake_reset(self->intake);
}

static void s_redeliver(ingest_t *self)
{
    err_t err = {0};
    int resent = intake_redeliver(self->intake, clock_now_ms(), &err);
    if (resent < 0 && !self->store_down_logged)
        log_warn("redelivery to scoring: %s", err.msg);
    else if (resent > 0)
        log_info("re-sent %d events to scoring", resent);
}

int ingest_run(ingest_t *self, volatile sig_atomic_t *stop)
{
    log_info("ingest: producers on %s, HTTP on %s (port %d)", self->cfg->ep_ingest,
             self->cfg->http_ingest_listen, httpd_port(self->httpd));
    zmq_pollitem_t items[POLL_ITEMS_MAX];
    service_beat_t beat = {0};
    while (!*stop) {
        service_reload_if_requested(self->cfg->path, self->httpd, self->zap);
        service_heartbeat(&beat, self->store, self->cfg, "ingest", NULL);
        int64_t now = clock_mono_ms();
        if (now >= self->next_redelivery_ms) {
            s_redeliver(self);
            self->next_redelivery_ms = now + REDELIVERY_TICK_MS;
        }
        long timeout =
            bus_timeout_ms(self->bus, clock_mono_ms(), (long)(self->next_redelivery_ms - now));
        int count = 0;
        items[count++] = (zmq_pollitem_t){.socket = self->router, .events = ZMQ_POLLIN};
        httpd_poll_prepare(self->httpd, items, &count, POLL_ITEMS_MAX, &timeout);
        if (zmq_poll(items, count, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_handle_producers(self);
        httpd_run(self->httpd);
        bus_tick(self->bus, clock_mono_ms());
    }
    const intake_stats_t *stats = intake_stats(self->intake);
    log_info("stopping: accepted %llu, duplicates %llu, rejected %llu, busy %llu",
             (unsigned long long)stats->accepted, (unsigned long long)stats->duplicates,
             (unsigned long long)stats->rejected, (unsigned long long)stats->busy);
    return 0;
}
