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
#include "service.h"
#include "store.h"
#include "zutil.h"

extern const char scoring_script_apply[];
extern const char scoring_script_fetch[];
extern const char scoring_script_orphans[];

#define REDELIVERY_TICK_MS   250
#define REDELIVERY_CLAIM_MAX 1000
/* A lead event merged from a revision that changed meanwhile (another event
 * of the same lead, maybe from another instance) is merged again; after this
 * many rounds it is left in flight for redelivery. */
#define MERGE_ROUNDS          4
#define ORPHAN_SWEEP_EVERY_MS 1000
#define RESTAGE_EVERY_MS      1000
#define RESTAGE_MAX           SCORING_BATCH_MAX
#define MODEL_POLL_EVERY_MS   1000

/* One event of the batch in hand, kept until it is applied. */
typedef struct {
    Leadops__Envelope *env;        /* owned */
    Leadops__Lead *lead;           /* owned: the payload of a lead event, else NULL */
    Leadops__Activity *activity;   /* owned: the payload of an activity, else NULL */
    char lead_id[LEAD_ID_MAX + 1]; /* the lead it applies to, aliases resolved */
    bool done;
} s_pending_t;

struct scoring {
    const config_t *cfg; /* borrowed */
    store_t *store;      /* owned */
    void *pull;          /* owned: work from ingest */
    void *routing_push;  /* owned */
    void *events_pub;    /* owned */
    auth_zap_t *zap;     /* owned: CurveZMQ handshakes (inert without) */
    hop_t *ingest_hop;   /* owned: we are its receiver */
    hop_t *routing_hop;  /* owned: we are its sender */
    int apply_script, fetch_script;
    store_batch_t *batch;       /* owned: fetch round, redelivery */
    store_batch_t *apply_batch; /* owned: apply round */
    s_pending_t pending[SCORING_BATCH_MAX];
    size_t pending_count;
    scoring_stats_t stats;
    char key_stats[KEY_MAX], key_leads[KEY_MAX], key_orphans[KEY_MAX], key_deadletter[KEY_MAX];
    char key_stage_due[KEY_MAX];
    apply_call_t *apply; /* owned */
    model_live_t *model; /* owned; NULL without scoring.model.file */
    int orphans_script;
    int64_t next_orphan_sweep_ms, next_restage_ms, next_model_poll_ms;
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
    if (!self->events_pub)
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
        s_pending_t *p = &self->pending[i];
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

/* A lead as apply.lua (or the redelivery) left it. */
typedef struct {
    const char *lead_id;
    const store_value_t *lead_pb; /* the stored Lead; may be NULL */
    double score, fit, engagement, model;
    const char *grade, *stage, *previous_stage; /* previous_stage: "" when it did not move */
    int64_t ingested_at_ms;
    bool to_routing;
} s_scored_t;

/* Reads apply.lua's reply {1, score, stage, previous stage, to routing,
 * lead, ingested at, fit, engagement, grade, model points}. */
static s_scored_t s_scored_from_reply(const char *lead_id, const store_value_t *reply)
{
    return (s_scored_t){
        .lead_id = lead_id,
        .score = store_value_double(store_value_at(reply, 1), 0),
        .stage = store_value_str(store_value_at(reply, 2), ""),
        .previous_stage = store_value_str(store_value_at(reply, 3), ""),
        .to_routing = store_value_int(store_value_at(reply, 4), 0) == 1,
        .lead_pb = store_value_at(reply, 5),
        .ingested_at_ms = store_value_int(store_value_at(reply, 6), 0),
        .fit = store_value_double(store_value_at(reply, 7), 0),
        .engagement = store_value_double(store_value_at(reply, 8), 0),
        .grade = store_value_str(store_value_at(reply, 9), ""),
        .model = store_value_double(store_value_at(reply, 10), 0),
    };
}

static void s_publish(scoring_t *self, Leadops__EventType type, const ProtobufCMessage *message,
                      int64_t ingested_at_ms, bool to_routing)
{
    size_t len;
    uint8_t *bytes =
        envelope_pack(type, NULL, "leadops-scoring", 0, ingested_at_ms, message, &len, NULL);
    if (!bytes)
        return;
    /* A full queue to routing leaves the lead in flight: redelivery sends it later. */
    if (to_routing)
        zmq_send(self->routing_push, bytes, len, ZMQ_DONTWAIT);
    zmq_send(self->events_pub, bytes, len, ZMQ_DONTWAIT);
    free(bytes);
}

/* Sends a ScoredLead for R: to routing when R says so (the lead is in flight
 * to routing), and always on the event bus (with the lead's fields only when
 * routing gets it too: the bus carries no more personal data than it must);
 * and a StageChange on the bus when the lead moved. CAUSE: "lead",
 * "activity" or "decay". */
static void s_send_scored(scoring_t *self, const s_scored_t *r, const char *cause)
{
    Leadops__Lead *lead = NULL;
    Leadops__Lead id_only = LEADOPS__LEAD__INIT;
    if (r->to_routing && r->lead_pb && r->lead_pb->type == STORE_STR && r->lead_pb->len)
        lead = leadops__lead__unpack(NULL, r->lead_pb->len, (const uint8_t *)r->lead_pb->str);
    if (!lead)
        id_only.lead_id = (char *)r->lead_id;
    int64_t now = clock_now_ms();

    Leadops__ScoredLead scored = LEADOPS__SCORED_LEAD__INIT;
    scored.lead = lead ? lead : &id_only;
    scored.score = r->score;
    scored.fit_score = r->fit;
    scored.engagement_score = r->engagement;
    scored.model_score = r->model;
    scored.grade = (char *)(r->grade ? r->grade : "");
    scored.stage = (char *)(r->stage ? r->stage : "");
    scored.previous_stage = (char *)(r->previous_stage ? r->previous_stage : "");
    scored.qualified = r->to_routing;
    scored.scored_at_ms = now;
    scored.ingested_at_ms = r->ingested_at_ms;
    s_publish(self, LEADOPS__EVENT_TYPE__EVENT_SCORED_LEAD, &scored.base, r->ingested_at_ms,
              r->to_routing && lead);
    if (r->previous_stage && r->previous_stage[0]) {
        Leadops__StageChange change = LEADOPS__STAGE_CHANGE__INIT;
        change.lead_id = (char *)r->lead_id;
        change.from_stage = (char *)r->previous_stage;
        change.to_stage = (char *)r->stage;
        change.score = r->score;
        change.changed_at_ms = now;
        change.cause = (char *)cause;
        s_publish(self, LEADOPS__EVENT_TYPE__EVENT_STAGE_CHANGED, &change.base, r->ingested_at_ms,
                  false);
        self->stats.stage_changes++;
    }
    if (lead)
        leadops__lead__free_unpacked(lead, NULL);
}

/* Merges a lead event into the lead as FETCH (fetch.lua's reply) found it:
 * newer non-empty values win, the lead keeps its id. Returns the packed
 * merged lead (caller frees) with its size, and the changes as JSON text
 * (caller frees; NULL when nothing changed), or NULL when the stored lead
 * cannot be read. */
static uint8_t *s_merge(scoring_t *self, const s_pending_t *p, const store_value_t *fetch,
                        size_t *size, char **changes_text, double *fit, json_t *reasons,
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
    *fit = rules_fit(cfg, base, reasons);
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

/* Queues apply.lua for P, given fetch.lua's reply FETCH. Returns false when
 * the event cannot be applied (a stored lead that does not decode). */
static bool s_queue_apply(scoring_t *self, s_pending_t *p, const store_value_t *fetch)
{
    snprintf(p->lead_id, sizeof p->lead_id, "%s",
             store_value_str(store_value_at(fetch, 0), p->lead_id));
    apply_event_t event = {
        .kind = p->lead ? "lead" : "activity",
        .event_id = p->env->event_id,
        .lead_id = p->lead_id,
        .now_ms = clock_now_ms(),
        .ingested_at_ms = p->env->ingested_at_ms,
    };
    if (!p->lead) {
        event.activity_type = p->activity->type;
        event.outcome = p->activity->outcome;
        event.occurred_at_ms =
            p->activity->occurred_at_ms ? p->activity->occurred_at_ms : p->env->occurred_at_ms;
        apply_call_queue(self->apply, self->apply_batch, self->apply_script, &event);
        return true;
    }
    char *changes = NULL;
    json_t *reasons = json_array(), *top = json_array();
    uint8_t *merged = s_merge(self, p, fetch, &event.lead_pb_len, &changes, &event.fit, reasons,
                              &event.model_p, top);
    if (!merged) {
        json_decref(reasons);
        json_decref(top);
        return false;
    }
    char *reasons_text = json_dumps(reasons, JSON_COMPACT);
    char *top_text = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(reasons);
    json_decref(top);
    event.lead_pb = merged;
    event.grade = rules_grade(self->cfg, event.fit);
    event.fit_rules = reasons_text;
    event.rev = store_value_str(store_value_at(fetch, 2), "0");
    event.event_time_ms = p->env->occurred_at_ms;
    event.changes = changes;
    event.came_as = p->lead->lead_id; /* as it came: an orphan under it folds in */
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
static bool s_applied(scoring_t *self, s_pending_t *p, const store_value_t *reply)
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
        s_scored_t scored = s_scored_from_reply(p->lead_id, reply);
        self->stats.to_routing += scored.to_routing;
        s_send_scored(self, &scored, p->lead ? "lead" : "activity");
    }
    return true;
}

/* Decodes one received message into the next pending slot; false (and the
 * message dropped) when it is not a lead or activity event, which only a
 * bug or a foreign sender causes. */
static bool s_take(scoring_t *self, const void *data, size_t size)
{
    s_pending_t *p = &self->pending[self->pending_count];
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

/* One round: fetch every pending event's lead, merge, apply. Returns the
 * number still to do (merge conflicts), or -1 when Redis failed. */
static int s_round(scoring_t *self)
{
    store_batch_reset(self->batch);
    store_batch_reset(self->apply_batch);
    size_t todo[SCORING_BATCH_MAX], count = 0;
    for (size_t i = 0; i < self->pending_count; i++) {
        s_pending_t *p = &self->pending[i];
        if (p->done)
            continue;
        const char *argv[] = {self->cfg->redis_prefix, p->lead_id};
        store_batch_script(self->batch, self->fetch_script, 0, 2, argv, NULL);
        todo[count++] = i;
    }
    err_t err = {0};
    if (store_batch_exec(self->store, self->batch, &err) < 0)
        goto store_down;
    size_t applied[SCORING_BATCH_MAX], queued = 0;
    for (size_t k = 0; k < count; k++) {
        s_pending_t *p = &self->pending[todo[k]];
        if (s_queue_apply(self, p, store_batch_reply(self->batch, k))) {
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
        s_pending_t *p = &self->pending[applied[k]];
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
        remaining = s_round(self);
    if (remaining > 0)
        log_warn("%d lead events still conflict after %d merges: left for redelivery", remaining,
                 MERGE_ROUNDS);
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
        const char *argv[] = {"HMGET",      key,     "lead",        "score", "fit",
                              "engagement", "grade", "ingested_at", "stage", "model_points"};
        store_batch_command(self->batch, 10, argv, NULL);
    }
    if (store_batch_exec(self->store, self->batch, &err) < 0) {
        log_warn("redelivery to routing: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < claimed.count; i++) {
        const store_value_t *r = store_batch_reply(self->batch, i);
        s_scored_t scored = {
            .lead_id = ids[i],
            .lead_pb = store_value_at(r, 0),
            .score = store_value_double(store_value_at(r, 1), 0),
            .fit = store_value_double(store_value_at(r, 2), 0),
            .engagement = store_value_double(store_value_at(r, 3), 0),
            .grade = store_value_str(store_value_at(r, 4), ""),
            .ingested_at_ms = store_value_int(store_value_at(r, 5), 0),
            .stage = store_value_str(store_value_at(r, 6), ""),
            .model = store_value_double(store_value_at(r, 7), 0),
            .previous_stage = "",
            .to_routing = true,
        };
        s_send_scored(self, &scored, "redelivery");
    }
    self->stats.resent_to_routing += claimed.count;
    log_info("re-sent %zu leads to routing", claimed.count);
}

/* Dead-letters the activities of leads that never arrived (orphans.lua). */
static void s_sweep_orphans(scoring_t *self)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *argv[] = {self->key_orphans,
                          self->key_deadletter,
                          self->key_stats,
                          self->cfg->redis_prefix,
                          now,
                          "1000"};
    err_t err = {0};
    store_value_t *reply = store_script(self->store, self->orphans_script, 3, 6, argv, NULL, &err);
    long long dropped = store_value_int(reply, 0);
    if (dropped > 0)
        log_info("dead-lettered the activities of %lld leads that never arrived", dropped);
    store_value_free(&reply);
}

/* Re-scores the leads whose decaying score crosses a stage threshold by now
 * (apply.lua keeps when in <p>:stage_due): they move a stage, as an event. */
static void s_restage(scoring_t *self)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *range[] = {"ZRANGEBYSCORE", self->key_stage_due, "-inf", now, "LIMIT", "0", "512"};
    err_t err = {0};
    store_value_t *due = store_commandv(self->store, 7, range, NULL, &err);
    size_t count = due && due->type == STORE_ARRAY ? due->count : 0;
    if (count > RESTAGE_MAX)
        count = RESTAGE_MAX;
    store_batch_reset(self->batch);
    for (size_t i = 0; i < count; i++) {
        apply_event_t event = {
            .kind = "restage",
            .lead_id = store_value_str(store_value_at(due, i), ""),
            .now_ms = clock_now_ms(),
        };
        apply_call_queue(self->apply, self->batch, self->apply_script, &event);
    }
    if (count && store_batch_exec(self->store, self->batch, &err) == 0) {
        for (size_t i = 0; i < count; i++) {
            const store_value_t *reply = store_batch_reply(self->batch, i);
            if (store_value_int(store_value_at(reply, 0), -1) != 1)
                continue;
            s_scored_t scored =
                s_scored_from_reply(store_value_str(store_value_at(due, i), ""), reply);
            self->stats.to_routing += scored.to_routing;
            s_send_scored(self, &scored, "decay");
        }
    } else if (count && !self->store_down_logged) {
        log_warn("restage: %s", err.msg);
    }
    store_value_free(&due);
}

/* Takes a changed model file, or says why not and keeps the current one. */
static void s_poll_model(scoring_t *self)
{
    err_t err = {0};
    int rc = model_live_poll(self->model, &err);
    if (rc > 0) {
        self->stats.models_loaded++;
        log_info("model reloaded: %s (leads take it at their next lead event)",
                 model_live_describe(self->model));
    } else if (rc < 0) {
        self->stats.models_refused++;
        log_error("%s", err.msg); /* the file, the reason, and the model that stays */
    }
}

int scoring_run(scoring_t *self, volatile sig_atomic_t *stop)
{
    log_info("scoring: work on %s, stages %s, routing from %s, half-life %d s",
             self->cfg->ep_scoring, apply_call_stages(self->apply),
             self->cfg->stages[self->cfg->route_stage].name, self->cfg->scoring_half_life_s);
    while (!*stop) {
        service_reload_if_requested(self->cfg->path, NULL, self->zap);
        int64_t now = clock_mono_ms();
        if (now >= self->next_redelivery_ms) {
            s_redeliver(self);
            self->next_redelivery_ms = now + REDELIVERY_TICK_MS;
        }
        if (now >= self->next_orphan_sweep_ms) {
            s_sweep_orphans(self);
            self->next_orphan_sweep_ms = now + ORPHAN_SWEEP_EVERY_MS;
        }
        if (now >= self->next_restage_ms) {
            s_restage(self);
            self->next_restage_ms = now + RESTAGE_EVERY_MS;
        }
        if (self->model && now >= self->next_model_poll_ms) {
            s_poll_model(self);
            self->next_model_poll_ms = now + MODEL_POLL_EVERY_MS;
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
    log_info("stopping: applied %llu, sent to routing %llu, stage changes %llu, redeliveries "
             "ignored %llu",
             (unsigned long long)self->stats.applied, (unsigned long long)self->stats.to_routing,
             (unsigned long long)self->stats.stage_changes,
             (unsigned long long)self->stats.redeliveries_ignored);
    return 0;
}
