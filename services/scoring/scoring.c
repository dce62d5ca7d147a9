#include "scoring.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "apply_call.h"
#include "auth.h"
#include "envelope.h"
#include "hop.h"
#include "keys.h"
#include "lead.h"
#include "log.h"
#include "model_live.h"
#include "rules_score.h"
#include "scoring_internal.h"
#include "service.h"
#include "store.h"
#include "zutil.h"

extern const char scoring_script_apply[];
extern const char scoring_script_fetch[];
extern const char scoring_script_orphans[];

/* A lead event merged from a revision that changed meanwhile (another event
 * of the same lead, maybe from another instance) is merged again; after this
 * many rounds it is left in flight for redelivery. */
#define MERGE_ROUNDS 5 /* the first without fetching */

scoring_t *scoring_new(const config_t *cfg, void *zmq_ctx, err_t *err)
{
    scoring_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    /* The model first: a bad one stops the start with its reason, before
     * anything is bound or connected. */
    if (cfg->model_file[0]) {
        self->model =
            model_live_new(cfg->model_file, (const char *const *)cfg->model_columns,
                           (const char *const *)cfg->model_fields, cfg->model_mapping_count, err);
        if (!self->model)
            goto fail;
        log_info("model %s loaded: up to %g points", model_live_describe(self->model),
                 cfg->model_points);
    }
    self->store = service_store_new(cfg, false, err);
    if (!self->store)
        goto fail;
    self->batch = store_batch_new();
    self->apply_batch = store_batch_new();
    self->ingest_hop =
        hop_new(self->store, cfg->redis_prefix, "scoring", true, cfg->ingest_redelivery_ms, err);
    self->routing_hop =
        hop_new(self->store, cfg->redis_prefix, "routing", false, cfg->scoring_redelivery_ms, err);
    if (!self->ingest_hop || !self->routing_hop)
        goto fail;
    self->apply_script = store_script_register(self->store, "apply", scoring_script_apply, err);
    self->fetch_script = store_script_register(self->store, "fetch", scoring_script_fetch, err);
    self->orphans_script =
        store_script_register(self->store, "orphans", scoring_script_orphans, err);
    if (self->apply_script < 0 || self->fetch_script < 0 || self->orphans_script < 0)
        goto fail;
    zutil_security_t security;
    if (auth_security_from_config(cfg, &security, err) < 0 ||
        !(self->zap = auth_zap_start(zmq_ctx, cfg, err)))
        goto fail;
    self->pull = zutil_socket_secure(zmq_ctx, ZMQ_PULL, cfg->ep_scoring, true, ZUTIL_HWM_WORK,
                                     &security, err);
    if (!self->pull)
        goto fail;
    self->routing_push = zutil_socket_secure(zmq_ctx, ZMQ_PUSH, cfg->ep_routing, false,
                                             ZUTIL_HWM_WORK, &security, err);
    if (!self->routing_push)
        goto fail;
    self->events_pub = zutil_socket_secure(zmq_ctx, ZMQ_PUB, cfg->ep_events, false,
                                           ZUTIL_HWM_EVENTS, &security, err);
    if (!self->events_pub || !(self->bus = bus_new(self->events_pub, cfg->events_delay_ms, err)))
        goto fail;
    keys_format(self->key_stats, KEY_MAX, cfg->redis_prefix, "stats");
    keys_format(self->key_leads, KEY_MAX, cfg->redis_prefix, "leads");
    keys_format(self->key_orphans, KEY_MAX, cfg->redis_prefix, "orphans");
    keys_format(self->key_deadletter, KEY_MAX, cfg->redis_prefix, "deadletter");
    keys_format(self->key_stage_due, KEY_MAX, cfg->redis_prefix, "stage_due");
    self->apply = apply_call_new(cfg, hop_key(self->ingest_hop), hop_message_key(self->ingest_hop),
                                 hop_key(self->routing_hop), err);
    if (!self->apply)
        goto fail;
    return self;
fail:
    scoring_destroy(&self);
    return NULL;
}

static void s_clear_pending(scoring_t *self)
{
    for (size_t i = 0; i < self->pending_count; i++) {
        scoring_pending_t *p = &self->pending[i];
        leadops__envelope__free_unpacked(p->env, NULL);
        if (p->lead)
            leadops__lead__free_unpacked(p->lead, NULL);
        if (p->activity)
            leadops__activity__free_unpacked(p->activity, NULL);
    }
    self->pending_count = 0;
}

void scoring_destroy(scoring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scoring_t *self = *self_p;
    s_clear_pending(self);
    store_batch_destroy(&self->batch);
    store_batch_destroy(&self->apply_batch);
    hop_destroy(&self->ingest_hop);
    hop_destroy(&self->routing_hop);
    zutil_close(&self->pull);
    zutil_close(&self->routing_push);
    bus_destroy(&self->bus); /* sends what it holds: before its socket closes */
    zutil_close(&self->events_pub);
    auth_zap_stop(&self->zap); /* after the sockets it guards */
    store_destroy(&self->store);
    model_live_destroy(&self->model);
    apply_call_destroy(&self->apply);
    free(self);
    *self_p = NULL;
}

const scoring_stats_t *scoring_stats(const scoring_t *self)
{
    return &self->stats;
}

/* Merges a lead event into the lead as FETCH (fetch.lua's reply) found it:
 * newer non-empty values win, the lead keeps its id. Returns the packed
 * merged lead (caller frees) with its size, and the changes as JSON text
 * (caller frees; NULL when nothing changed), or NULL when the stored lead
 * cannot be read. */
static uint8_t *s_merge(scoring_t *self, const scoring_pending_t *p, const store_value_t *fetch,
                        size_t *size, char **changes_text, double *fit, char **reasons,
                        double *model_p, json_t *model_top)
{
    const config_t *cfg = self->cfg;
    const store_value_t *stored = store_value_at(fetch, 1);
    int64_t lead_time = store_value_int(store_value_at(fetch, 3), 0);
    Leadops__Lead *base = NULL;
    json_t *changes = NULL;
    if (stored && stored->len) {
        base = leadops__lead__unpack(NULL, stored->len, (const uint8_t *)stored->str);
        if (!base)
            return NULL;
        changes = json_object();
        lead_merge(base, p->lead, p->env->occurred_at_ms >= lead_time, changes);
    } else {
        base = leadops__lead__unpack(NULL, p->env->payload.len, p->env->payload.data);
        if (!base)
            return NULL;
    }
    lead_set_str(&base->lead_id, p->lead_id);
    *fit = rules_fit_text(cfg, base, reasons);
    *model_p = self->model ? model_live_predict(self->model, base, model_top,
                                                (size_t)cfg->model_top_features, NULL)
                           : -1;
    *size = leadops__lead__get_packed_size(base);
    uint8_t *bytes = malloc(*size ? *size : 1);
    if (!bytes)
        abort();
    leadops__lead__pack(base, bytes);
    *changes_text = changes && json_object_size(changes) ? json_dumps(changes, JSON_COMPACT) : NULL;
    json_decref(changes);
    leadops__lead__free_unpacked(base, NULL);
    return bytes;
}

/* Queues apply.lua for P, given fetch.lua's reply FETCH, or without one
 * (NULL): the lead id as the event came and no stored lead, which apply.lua
 * takes when that is so (a new lead, an activity of a lead id that is no
 * alias) and refuses otherwise. Returns false when the event cannot be
 * applied (a stored lead that does not decode). */
static bool s_queue_apply(scoring_t *self, scoring_pending_t *p, const store_value_t *fetch)
{
    if (fetch)
        snprintf(p->lead_id, sizeof p->lead_id, "%s",
                 store_value_str(store_value_at(fetch, 0), p->lead_id));
    apply_event_t event = {
        .kind = p->lead ? "lead" : "activity",
        .event_id = p->env->event_id,
        .lead_id = p->lead_id,
        .unresolved = !fetch,
        .now_ms = clock_now_ms(),
        .ingested_at_ms = p->env->ingested_at_ms,
    };
    if (!p->lead) {
        apply_event_set_activity(&event, p->activity, p->env->occurred_at_ms);
        apply_call_queue(self->apply, self->apply_batch, self->apply_script, &event);
        return true;
    }
    char *changes = NULL, *reasons_text = NULL;
    /* The model's top contributions: only with a model. */
    json_t *top = self->model ? json_array() : NULL;
    uint8_t *merged = s_merge(self, p, fetch, &event.lead_pb_len, &changes, &event.fit,
                              &reasons_text, &event.model_p, top);
    if (!merged) {
        free(reasons_text);
        json_decref(top);
        return false;
    }
    char *top_text = top ? json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(top);
    event.lead_pb = merged;
    event.grade = rules_grade(self->cfg, event.fit);
    event.fit_rules = reasons_text;
    event.rev = store_value_str(store_value_at(fetch, 2), "0");
    event.event_time_ms = p->env->occurred_at_ms;
    event.changes = changes;
    event.came_as = p->lead->lead_id; /* as it came: an orphan under it folds in */
    event.source = p->lead->source;   /* counted only when the lead is new: as it came */
    event.model_top = top_text;
    event.model_name = self->model ? model_live_describe(self->model) : "";
    apply_call_queue(self->apply, self->apply_batch, self->apply_script, &event);
    free(merged);
    free(changes);
    free(reasons_text);
    free(top_text);
    return true;
}

/* Handles apply.lua's REPLY for P. Returns false when P must be merged again. */
static bool s_applied(scoring_t *self, scoring_pending_t *p, const store_value_t *reply)
{
    long long outcome = store_value_int(store_value_at(reply, 0), -1);
    if (outcome == 3)
        return false;
    if (outcome < 0) {
        log_error("apply script failed: %s",
                  reply && reply->type == STORE_ERROR ? reply->str : "unexpected reply");
    } else if (outcome == 0) {
        self->stats.redeliveries_ignored++;
    } else {
        self->stats.applied++;
        scoring_scored_t scored = scoring_scored_from_reply(p->lead_id, reply);
        self->stats.to_routing += scored.to_routing;
        scoring_send_scored(self, &scored, p->lead ? "lead" : "activity");
    }
    return true;
}

/* Decodes one received message into the next pending slot; false (and the
 * message dropped) when it is not a lead or activity event, which only a
 * bug or a foreign sender causes. */
static bool s_take(scoring_t *self, const void *data, size_t size)
{
    scoring_pending_t *p = &self->pending[self->pending_count];
    memset(p, 0, sizeof *p);
    p->env = envelope_decode(data, size, NULL);
    if (p->env && p->env->type == LEADOPS__EVENT_TYPE__EVENT_LEAD)
        p->lead = envelope_lead(p->env, NULL);
    else if (p->env && p->env->type == LEADOPS__EVENT_TYPE__EVENT_ACTIVITY)
        p->activity = envelope_activity(p->env, NULL);
    if (!p->lead && !p->activity) {
        if (p->env)
            leadops__envelope__free_unpacked(p->env, NULL);
        return false;
    }
    snprintf(p->lead_id, sizeof p->lead_id, "%s",
             p->lead ? p->lead->lead_id : p->activity->lead_id);
    self->pending_count++;
    return true;
}

/* One round: fetch every pending event's lead, merge, apply; or, when
 * OPTIMISTIC, apply without fetching (see s_queue_apply): most events are
 * of new leads or are activities, and this saves a round trip to Redis and
 * a script call each. Returns the number still to do (merge conflicts), or
 * -1 when Redis failed. */
static int s_round(scoring_t *self, bool optimistic)
{
    store_batch_reset(self->batch);
    store_batch_reset(self->apply_batch);
    size_t todo[SCORING_BATCH_MAX], count = 0;
    for (size_t i = 0; i < self->pending_count; i++) {
        scoring_pending_t *p = &self->pending[i];
        if (p->done)
            continue;
        const char *argv[] = {self->cfg->redis_prefix, p->lead_id};
        if (!optimistic)
            store_batch_script(self->batch, self->fetch_script, 0, 2, argv, NULL);
        todo[count++] = i;
    }
    err_t err = {0};
    if (!optimistic && store_batch_exec(self->store, self->batch, &err) < 0)
        goto store_down;
    size_t applied[SCORING_BATCH_MAX], queued = 0;
    for (size_t k = 0; k < count; k++) {
        scoring_pending_t *p = &self->pending[todo[k]];
        if (s_queue_apply(self, p, optimistic ? NULL : store_batch_reply(self->batch, k))) {
            applied[queued++] = todo[k];
        } else {
            log_error("lead %s: stored lead does not decode; event left for redelivery",
                      p->lead_id);
            p->done = true;
        }
    }
    if (store_batch_exec(self->store, self->apply_batch, &err) < 0)
        goto store_down;
    int remaining = 0;
    for (size_t k = 0; k < queued; k++) {
        scoring_pending_t *p = &self->pending[applied[k]];
        p->done = s_applied(self, p, store_batch_reply(self->apply_batch, k));
        remaining += !p->done;
    }
    self->store_down_logged = false;
    return remaining;
store_down:
    /* The events stay in flight in Redis; ingest re-sends them. */
    if (!self->store_down_logged)
        log_error("store unavailable, %zu events left for redelivery: %s", self->pending_count,
                  err.msg);
    self->store_down_logged = true;
    return -1;
}

static void s_handle_batch(scoring_t *self)
{
    s_clear_pending(self);
    while (self->pending_count < SCORING_BATCH_MAX) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->pull, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        if (!s_take(self, zmq_msg_data(&msg), zmq_msg_size(&msg))) {
            self->stats.malformed++;
            log_warn("dropped a malformed event from the scoring queue");
        }
        zmq_msg_close(&msg);
    }
    int remaining = self->pending_count ? 1 : 0;
    for (int round = 0; round < MERGE_ROUNDS && remaining > 0; round++)
        remaining = s_round(self, round == 0);
    if (remaining > 0)
        log_warn("%d lead events still conflict after %d merges: left for redelivery", remaining,
                 MERGE_ROUNDS);
    s_clear_pending(self);
}

int scoring_run(scoring_t *self, volatile sig_atomic_t *stop)
{
    log_info("scoring: work on %s, stages %s, routing from %s, half-life %d s",
             self->cfg->ep_scoring, apply_call_stages(self->apply),
             self->cfg->stages[self->cfg->route_stage].name, self->cfg->scoring_half_life_s);
    service_beat_t beat = {0};
    while (!*stop) {
        service_reload_if_requested(self->cfg->path, NULL, self->zap);
        service_heartbeat(&beat, self->store, self->cfg, "scoring", NULL);
        int64_t now = clock_mono_ms();
        if (now >= self->next_redelivery_ms) {
            scoring_redeliver(self);
            self->next_redelivery_ms = now + REDELIVERY_TICK_MS;
        }
        if (now >= self->next_orphan_sweep_ms) {
            scoring_sweep_orphans(self);
            self->next_orphan_sweep_ms = now + ORPHAN_SWEEP_EVERY_MS;
        }
        if (now >= self->next_restage_ms) {
            scoring_restage(self);
            self->next_restage_ms = now + RESTAGE_EVERY_MS;
        }
        if (self->model && now >= self->next_model_poll_ms) {
            scoring_poll_model(self);
            self->next_model_poll_ms = now + MODEL_POLL_EVERY_MS;
        }
        zmq_pollitem_t items[] = {{.socket = self->pull, .events = ZMQ_POLLIN}};
        /* The sweeps above may have published: the bus's deadline from now. */
        long timeout =
            bus_timeout_ms(self->bus, clock_mono_ms(), (long)(self->next_redelivery_ms - now));
        if (zmq_poll(items, 1, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_handle_batch(self);
        bus_tick(self->bus, clock_mono_ms());
    }
    log_info("stopping: applied %llu, sent to routing %llu, stage changes %llu, redeliveries "
             "ignored %llu",
             (unsigned long long)self->stats.applied, (unsigned long long)self->stats.to_routing,
             (unsigned long long)self->stats.stage_changes,
             (unsigned long long)self->stats.redeliveries_ignored);
    return 0;
}
