#include "scoring.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"
#include "hop.h"
#include "keys.h"
#include "log.h"
#include "rules_score.h"
#include "service.h"
#include "store.h"
#include "zutil.h"

extern const char scoring_script_apply[];

#define REDELIVERY_TICK_MS   250
#define REDELIVERY_CLAIM_MAX 1000

/* One event of the batch in hand, kept until its script reply is read. */
typedef struct {
    Leadops__Envelope *env; /* owned */
    char lead_id[160];
} s_pending_t;

struct scoring {
    const config_t *cfg; /* borrowed */
    store_t *store;      /* owned */
    void *pull;          /* owned: work from ingest */
    void *routing_push;  /* owned */
    void *events_pub;    /* owned */
    hop_t *ingest_hop;   /* owned: we are its receiver */
    hop_t *routing_hop;  /* owned: we are its sender */
    int apply_script;
    store_batch_t *batch; /* owned */
    s_pending_t pending[SCORING_BATCH_MAX];
    size_t pending_count;
    scoring_stats_t stats;
    char key_stats[KEY_MAX], key_leads[KEY_MAX];
    int64_t next_redelivery_ms;
    bool store_down_logged;
    char claimed_ids[REDELIVERY_CLAIM_MAX][160]; /* lead ids of the redelivery in hand */
};

scoring_t *scoring_new(const config_t *cfg, void *zmq_ctx, err_t *err)
{
    scoring_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = service_store_new(cfg, false, err);
    if (!self->store)
        goto fail;
    self->batch = store_batch_new();
    self->ingest_hop =
        hop_new(self->store, cfg->redis_prefix, "scoring", true, cfg->ingest_redelivery_ms, err);
    self->routing_hop =
        hop_new(self->store, cfg->redis_prefix, "routing", false, cfg->scoring_redelivery_ms, err);
    if (!self->ingest_hop || !self->routing_hop)
        goto fail;
    self->apply_script = store_script_register(self->store, "apply", scoring_script_apply, err);
    if (self->apply_script < 0)
        goto fail;
    self->pull = zutil_socket(zmq_ctx, ZMQ_PULL, cfg->ep_scoring, true, ZUTIL_HWM_WORK, err);
    if (!self->pull)
        goto fail;
    self->routing_push =
        zutil_socket(zmq_ctx, ZMQ_PUSH, cfg->ep_routing, false, ZUTIL_HWM_WORK, err);
    if (!self->routing_push)
        goto fail;
    self->events_pub = zutil_socket(zmq_ctx, ZMQ_PUB, cfg->ep_events, false, ZUTIL_HWM_EVENTS, err);
    if (!self->events_pub)
        goto fail;
    keys_format(self->key_stats, KEY_MAX, cfg->redis_prefix, "stats");
    keys_format(self->key_leads, KEY_MAX, cfg->redis_prefix, "leads");
    return self;
fail:
    scoring_destroy(&self);
    return NULL;
}

static void s_clear_pending(scoring_t *self)
{
    for (size_t i = 0; i < self->pending_count; i++)
        leadops__envelope__free_unpacked(self->pending[i].env, NULL);
    self->pending_count = 0;
}

void scoring_destroy(scoring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scoring_t *self = *self_p;
    s_clear_pending(self);
    store_batch_destroy(&self->batch);
    hop_destroy(&self->ingest_hop);
    hop_destroy(&self->routing_hop);
    zutil_close(&self->pull);
    zutil_close(&self->routing_push);
    zutil_close(&self->events_pub);
    store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

const scoring_stats_t *scoring_stats(const scoring_t *self)
{
    return &self->stats;
}

/* Sends a ScoredLead for LEAD_ID: to routing when QUALIFIED (the lead is in
 * flight to routing), and always on the event bus. LEAD_PB may be NULL (an
 * activity for a lead not yet qualified: only its id is sent). */
static void s_send_scored(scoring_t *self, const char *lead_id, const store_value_t *lead_pb,
                          double score, double fit, double engagement, const char *grade,
                          int64_t ingested_at_ms, bool qualified)
{
    Leadops__Lead *lead = NULL;
    Leadops__Lead id_only = LEADOPS__LEAD__INIT;
    if (lead_pb && lead_pb->type == STORE_STR)
        lead = leadops__lead__unpack(NULL, lead_pb->len, (const uint8_t *)lead_pb->str);
    if (!lead)
        id_only.lead_id = (char *)lead_id;

    Leadops__ScoredLead scored = LEADOPS__SCORED_LEAD__INIT;
    scored.lead = lead ? lead : &id_only;
    scored.score = score;
    scored.fit_score = fit;
    scored.engagement_score = engagement;
    scored.grade = (char *)(grade ? grade : "");
    scored.stage = (char *)(qualified ? "mql" : "lead");
    scored.qualified = qualified;
    scored.scored_at_ms = clock_now_ms();
    scored.ingested_at_ms = ingested_at_ms;
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_SCORED_LEAD, NULL, "leadops-scoring",
                                   0, ingested_at_ms, &scored.base, &len, NULL);
    if (bytes) {
        /* A full queue to routing leaves the lead in flight: redelivery
         * sends it later. */
        if (qualified && lead)
            zmq_send(self->routing_push, bytes, len, ZMQ_DONTWAIT);
        zmq_send(self->events_pub, bytes, len, ZMQ_DONTWAIT);
        free(bytes);
    }
    if (lead)
        leadops__lead__free_unpacked(lead, NULL);
}

/* Queues the apply script for one event; returns false (and drops the
 * event) when it is malformed, which only a bug or a foreign sender causes. */
static bool s_queue_event(scoring_t *self, Leadops__Envelope *env, char *lead_id, size_t size)
{
    const char *p = self->cfg->redis_prefix;
    char k_in[KEY_MAX], k_in_msg[KEY_MAX], k_lead[KEY_MAX], k_route[KEY_MAX];
    char now[24], ingested[24], threshold[32], deadline[24], fit_text[32], points_text[32];
    snprintf(k_in, sizeof k_in, "%s", hop_key(self->ingest_hop));
    snprintf(k_in_msg, sizeof k_in_msg, "%s", hop_message_key(self->ingest_hop));
    snprintf(k_route, sizeof k_route, "%s", hop_key(self->routing_hop));
    int64_t now_ms = clock_now_ms();
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(ingested, sizeof ingested, "%lld",
             (long long)(env->ingested_at_ms ? env->ingested_at_ms : now_ms));
    snprintf(threshold, sizeof threshold, "%.17g", self->cfg->scoring_qualify_threshold);
    snprintf(deadline, sizeof deadline, "%lld",
             (long long)(now_ms + self->cfg->scoring_redelivery_ms));

    err_t err = {0};
    if (env->type == LEADOPS__EVENT_TYPE__EVENT_LEAD) {
        Leadops__Lead *lead = envelope_lead(env, &err);
        if (!lead)
            return false;
        snprintf(lead_id, size, "%s", lead->lead_id);
        json_t *reasons = json_array();
        double fit = rules_fit(self->cfg, lead, reasons);
        char *reasons_text = json_dumps(reasons, JSON_COMPACT);
        json_decref(reasons);
        snprintf(fit_text, sizeof fit_text, "%.17g", fit);
        snprintf(k_lead, sizeof k_lead, "%s:lead:%s", p, lead->lead_id);
        const char *argv[] = {k_in,
                              k_in_msg,
                              k_lead,
                              k_route,
                              self->key_stats,
                              self->key_leads,
                              env->event_id,
                              "lead",
                              lead->lead_id,
                              now,
                              ingested,
                              threshold,
                              deadline,
                              (const char *)env->payload.data,
                              fit_text,
                              rules_grade(self->cfg, fit),
                              reasons_text ? reasons_text : "[]"};
        size_t lens[17];
        for (int i = 0; i < 17; i++)
            lens[i] = i == 13 ? env->payload.len : strlen(argv[i]);
        store_batch_script(self->batch, self->apply_script, 6, 17, argv, lens);
        free(reasons_text);
        leadops__lead__free_unpacked(lead, NULL);
        return true;
    }
    if (env->type == LEADOPS__EVENT_TYPE__EVENT_ACTIVITY) {
        Leadops__Activity *activity = envelope_activity(env, &err);
        if (!activity)
            return false;
        snprintf(lead_id, size, "%s", activity->lead_id);
        snprintf(points_text, sizeof points_text, "%.17g",
                 rules_activity_points(self->cfg, activity->type));
        snprintf(k_lead, sizeof k_lead, "%s:lead:%s", p, activity->lead_id);
        const char *argv[] = {k_in,          k_in_msg,        k_lead,
                              k_route,       self->key_stats, self->key_leads,
                              env->event_id, "activity",      activity->lead_id,
                              now,           ingested,        threshold,
                              deadline,      activity->type,  points_text};
        store_batch_script(self->batch, self->apply_script, 6, 15, argv, NULL);
        leadops__activity__free_unpacked(activity, NULL);
        return true;
    }
    return false;
}

static void s_handle_batch(scoring_t *self)
{
    store_batch_reset(self->batch);
    s_clear_pending(self);
    while (self->pending_count < SCORING_BATCH_MAX) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->pull, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        Leadops__Envelope *env = envelope_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), NULL);
        zmq_msg_close(&msg);
        s_pending_t *pending = &self->pending[self->pending_count];
        if (!env || !s_queue_event(self, env, pending->lead_id, sizeof pending->lead_id)) {
            self->stats.malformed++;
            log_warn("dropped a malformed event from the scoring queue");
            if (env)
                leadops__envelope__free_unpacked(env, NULL);
            continue;
        }
        pending->env = env;
        self->pending_count++;
    }
    if (self->pending_count == 0)
        return;
    err_t err = {0};
    if (store_batch_exec(self->store, self->batch, &err) < 0) {
        /* The events stay in flight in Redis; ingest re-sends them. */
        if (!self->store_down_logged)
            log_error("store unavailable, %zu events left for redelivery: %s", self->pending_count,
                      err.msg);
        self->store_down_logged = true;
        s_clear_pending(self);
        return;
    }
    self->store_down_logged = false;
    for (size_t i = 0; i < self->pending_count; i++) {
        const store_value_t *reply = store_batch_reply(self->batch, i);
        long long outcome = store_value_int(store_value_at(reply, 0), -1);
        if (outcome < 0) {
            log_error("apply script failed: %s",
                      reply && reply->type == STORE_ERROR ? reply->str : "unexpected reply");
            continue;
        }
        if (outcome == 0) {
            self->stats.redeliveries_ignored++;
            continue;
        }
        self->stats.applied++;
        double score = store_value_double(store_value_at(reply, 1), 0);
        if (outcome == 2) {
            self->stats.qualified++;
            s_send_scored(self, self->pending[i].lead_id, store_value_at(reply, 2), score,
                          store_value_double(store_value_at(reply, 4), 0),
                          store_value_double(store_value_at(reply, 5), 0),
                          store_value_str(store_value_at(reply, 6), ""),
                          store_value_int(store_value_at(reply, 3), 0), true);
        } else {
            s_send_scored(self, self->pending[i].lead_id, NULL, score, 0, 0, NULL,
                          self->pending[i].env->ingested_at_ms, false);
        }
    }
    s_clear_pending(self);
}

typedef struct {
    char (*ids)[160];
    size_t count;
} s_claimed_t;

static void s_collect(void *arg, const char *member, const void *message, size_t size)
{
    (void)message;
    (void)size;
    s_claimed_t *claimed = arg;
    if (claimed->count < REDELIVERY_CLAIM_MAX)
        snprintf(claimed->ids[claimed->count++], 160, "%s", member);
}

/* Re-sends to routing the qualified leads routing has not taken yet,
 * rebuilt from their state in Redis. */
static void s_redeliver(scoring_t *self)
{
    char(*ids)[160] = self->claimed_ids;
    s_claimed_t claimed = {ids, 0};
    err_t err = {0};
    if (hop_claim(self->routing_hop, clock_now_ms(), REDELIVERY_CLAIM_MAX, s_collect, &claimed,
                  &err) < 0) {
        if (!self->store_down_logged)
            log_warn("redelivery to routing: %s", err.msg);
        return;
    }
    if (claimed.count == 0)
        return;
    store_batch_reset(self->batch);
    for (size_t i = 0; i < claimed.count; i++) {
        char key[KEY_MAX];
        snprintf(key, sizeof key, "%s:lead:%s", self->cfg->redis_prefix, ids[i]);
        const char *argv[] = {"HMGET", key,          "lead",  "score",
                              "fit",   "engagement", "grade", "ingested_at"};
        store_batch_command(self->batch, 8, argv, NULL);
    }
    if (store_batch_exec(self->store, self->batch, &err) < 0) {
        log_warn("redelivery to routing: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < claimed.count; i++) {
        const store_value_t *r = store_batch_reply(self->batch, i);
        s_send_scored(
            self, ids[i], store_value_at(r, 0), store_value_double(store_value_at(r, 1), 0),
            store_value_double(store_value_at(r, 2), 0),
            store_value_double(store_value_at(r, 3), 0), store_value_str(store_value_at(r, 4), ""),
            store_value_int(store_value_at(r, 5), 0), true);
    }
    self->stats.resent_to_routing += claimed.count;
    log_info("re-sent %zu qualified leads to routing", claimed.count);
}

int scoring_run(scoring_t *self, volatile sig_atomic_t *stop)
{
    log_info("scoring: work on %s, qualify threshold %g", self->cfg->ep_scoring,
             self->cfg->scoring_qualify_threshold);
    while (!*stop) {
        int64_t now = clock_mono_ms();
        if (now >= self->next_redelivery_ms) {
            s_redeliver(self);
            self->next_redelivery_ms = now + REDELIVERY_TICK_MS;
        }
        zmq_pollitem_t items[] = {{.socket = self->pull, .events = ZMQ_POLLIN}};
        if (zmq_poll(items, 1, (long)(self->next_redelivery_ms - now)) < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_handle_batch(self);
    }
    log_info("stopping: applied %llu, qualified %llu, redeliveries ignored %llu",
             (unsigned long long)self->stats.applied, (unsigned long long)self->stats.qualified,
             (unsigned long long)self->stats.redeliveries_ignored);
    return 0;
}
