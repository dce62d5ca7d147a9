#include "routing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "route_rules.h"
#include "service.h"
#include "store.h"
#include "zutil.h"

extern const char routing_script_routing[];

typedef struct {
    Leadops__ScoredLead *scored; /* owned */
    const char *queue;           /* borrowed from the config */
    const char *rule;            /* borrowed from the config */
} s_pending_t;

struct routing {
    const config_t *cfg; /* borrowed */
    store_t *store;      /* owned */
    void *pull;          /* owned: scored leads */
    void *commands;      /* owned: ROUTER for rep commands */
    void *events_pub;    /* owned */
    auth_zap_t *zap;     /* owned: CurveZMQ handshakes (inert without) */
    int script;
    store_batch_t *batch; /* owned */
    s_pending_t pending[ROUTING_BATCH_MAX];
    size_t pending_count;
    routing_stats_t stats;
    char reason[ERR_MSG_MAX]; /* the reason of the last command's ack */
    bool store_down_logged;
    /* Re-ordering waiting leads as their scores decay: a pass over every
     * queue each routing.reprioritize_s, one slice per loop turn. */
    int64_t next_reprioritize_ms;
    size_t reprioritize_queue; /* the queue being re-ordered; queue_count: no pass running */
    long reprioritize_start;
};

routing_t *routing_new(const config_t *cfg, void *zmq_ctx, err_t *err)
{
    routing_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = service_store_new(cfg, false, err);
    if (!self->store)
        goto fail;
    self->batch = store_batch_new();
    self->script = store_script_register(self->store, "routing", routing_script_routing, err);
    if (self->script < 0)
        goto fail;
    zutil_security_t security;
    if (auth_security_from_config(cfg, &security, err) < 0 ||
        !(self->zap = auth_zap_start(zmq_ctx, cfg, err)))
        goto fail;
    self->pull = zutil_socket_secure(zmq_ctx, ZMQ_PULL, cfg->ep_routing, true, ZUTIL_HWM_WORK,
                                     &security, err);
    if (!self->pull)
        goto fail;
    self->commands = zutil_socket_secure(zmq_ctx, ZMQ_ROUTER, cfg->ep_commands, true,
                                         ZUTIL_HWM_REPLY, &security, err);
    if (!self->commands)
        goto fail;
    self->events_pub = zutil_socket_secure(zmq_ctx, ZMQ_PUB, cfg->ep_events, false,
                                           ZUTIL_HWM_EVENTS, &security, err);
    if (!self->events_pub)
        goto fail;
    return self;
fail:
    routing_destroy(&self);
    return NULL;
}

static void s_clear_pending(routing_t *self)
{
    for (size_t i = 0; i < self->pending_count; i++)
        leadops__scored_lead__free_unpacked(self->pending[i].scored, NULL);
    self->pending_count = 0;
}

void routing_destroy(routing_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    routing_t *self = *self_p;
    s_clear_pending(self);
    store_batch_destroy(&self->batch);
    zutil_close(&self->pull);
    zutil_close(&self->commands);
    zutil_close(&self->events_pub);
    auth_zap_stop(&self->zap); /* after the sockets it guards */
    store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

const routing_stats_t *routing_stats(const routing_t *self)
{
    return &self->stats;
}

static void s_publish(routing_t *self, Leadops__EventType type, const ProtobufCMessage *msg,
                      int64_t ingested_at_ms)
{
    size_t len;
    uint8_t *bytes =
        envelope_pack(type, NULL, "leadops-routing", 0, ingested_at_ms, msg, &len, NULL);
    if (bytes) {
        zmq_send(self->events_pub, bytes, len, ZMQ_DONTWAIT);
        free(bytes);
    }
}

/* Fills A from one assignment array of routing.lua:
 * {lead_id, queue, rep_id, ingested_at, queued_at, score}. Strings are
 * borrowed from V. */
static void s_assignment_from(const store_value_t *v, Leadops__Assignment *a, int64_t now_ms)
{
    leadops__assignment__init(a);
    a->lead_id = (char *)store_value_str(store_value_at(v, 0), "");
    a->queue = (char *)store_value_str(store_value_at(v, 1), "");
    a->rep_id = (char *)store_value_str(store_value_at(v, 2), "");
    a->ingested_at_ms = store_value_int(store_value_at(v, 3), 0);
    a->queued_at_ms = store_value_int(store_value_at(v, 4), 0);
    a->score = store_value_double(store_value_at(v, 5), 0);
    a->assigned_at_ms = now_ms;
    a->strategy = "round_robin";
    a->reason = "next free rep of the queue in round-robin order";
    a->attempt = 1;
}

/* Calls routing.lua synchronously: OP, then ARGC more ARGV. */
static store_value_t *s_call(routing_t *self, const char *op, int argc, const char **args,
                             err_t *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *argv[12] = {op, self->cfg->redis_prefix, now};
    for (int i = 0; i < argc && i < 9; i++)
        argv[3 + i] = args[i];
    store_value_t *reply = store_script(self->store, self->script, 0, 3 + argc, argv, NULL, err);
    if (reply && reply->type == STORE_ERROR) {
        err_set(err, ERR_IO, "routing.lua %s: %s", op, reply->str);
        store_value_free(&reply);
    }
    return reply;
}

/* Publishes the assignments listed in REPLY from index FIRST on. */
static size_t s_publish_assignments(routing_t *self, const store_value_t *reply, size_t first)
{
    size_t n = 0;
    int64_t now = clock_now_ms();
    for (size_t i = first; reply && i < reply->count; i++) {
        Leadops__Assignment a;
        s_assignment_from(reply->elements[i], &a, now);
        a.reason = "rep had free capacity: next waiting lead (best score, then oldest)";
        s_publish(self, LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT, &a.base, a.ingested_at_ms);
        n++;
    }
    self->stats.pulled += n;
    return n;
}

/* Retires the reps Redis knows that the config no longer lists, so that a
 * rep removed from the config gets no new lead. */
static int s_retire_removed_reps(routing_t *self, err_t *err)
{
    char key[KEY_MAX];
    keys_format(key, sizeof key, self->cfg->redis_prefix, "reps");
    store_value_t *known = store_command(self->store, err, "SMEMBERS %s", key);
    if (!known)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && known->type == STORE_ARRAY && i < known->count; i++) {
        const char *rep_id = known->elements[i]->str;
        bool configured = false;
        for (size_t r = 0; r < self->cfg->rep_count && !configured; r++)
            configured = strcmp(self->cfg->reps[r].id, rep_id) == 0;
        if (configured)
            continue;
        const char *args[] = {rep_id};
        store_value_t *reply = s_call(self, "retire", 1, args, err);
        rc = reply ? 0 : -1;
        if (reply)
            log_info("rep %s is not in the config any more: retired (no new leads)", rep_id);
        store_value_free(&reply);
    }
    store_value_free(&known);
    return rc;
}

int routing_sync_config(routing_t *self, err_t *err)
{
    const config_t *cfg = self->cfg;
    char key[KEY_MAX];
    keys_format(key, sizeof key, cfg->redis_prefix, "queues");
    for (size_t i = 0; i < cfg->queue_count; i++) {
        store_value_t *r = store_command(self->store, err, "SADD %s %s", key, cfg->queues[i].name);
        if (!r)
            return -1;
        store_value_free(&r);
    }
    for (size_t i = 0; i < cfg->rep_count; i++) {
        const rep_config_t *rep = &cfg->reps[i];
        char capacity[16], queues[1024];
        snprintf(capacity, sizeof capacity, "%u", rep->capacity);
        size_t used = 0;
        for (size_t q = 0; q < rep->queue_count; q++) {
            int n = snprintf(queues + used, sizeof queues - used, "%s,", rep->queues[q]);
            if (n < 0 || (size_t)n >= sizeof queues - used)
                return err_set(err, ERR_CONFIG, "rep %s: queue names longer than %zu bytes in all",
                               rep->id, sizeof queues - 1);
            used += (size_t)n;
        }
        queues[used] = '\0';
        const char *args[] = {rep->id, rep->name ? rep->name : rep->id, capacity,
                              rep->online ? "online" : "offline", queues};
        store_value_t *r = s_call(self, "sync", 5, args, err);
        if (!r)
            return -1;
        store_value_free(&r);
        char max[16];
        snprintf(max, sizeof max, "%d", ROUTING_PULL_MAX);
        const char *pull_args[] = {rep->id, max};
        r = s_call(self, "pull", 2, pull_args, err);
        if (!r)
            return -1;
        size_t pulled = s_publish_assignments(self, r, 0);
        if (pulled)
            log_info("rep %s took %zu waiting leads at start", rep->id, pulled);
        store_value_free(&r);
    }
    return s_retire_removed_reps(self, err);
}

static bool s_queue_lead(routing_t *self, Leadops__ScoredLead *scored, s_pending_t *pending)
{
    if (!scored->lead || !scored->lead->lead_id || !*scored->lead->lead_id)
        return false;
    pending->scored = scored;
    pending->queue = route_rules_match(self->cfg, scored->lead, &pending->rule);
    /* The queue takes leads from its stage on; a lead below it waits in
     * nurture (and leaves the queue when it falls below while waiting). */
    const queue_config_t *queue = config_queue(self->cfg, pending->queue);
    int stage = config_stage_index(self->cfg, scored->stage ? scored->stage : "");
    bool stage_ok = !queue || (stage >= 0 && (size_t)stage >= queue->stage);
    const char *queue_stage = queue ? self->cfg->stages[queue->stage].name : "";
    char now[24], score[32];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    snprintf(score, sizeof score, "%.17g", scored->score);
    const char *argv[] = {"route",
                          self->cfg->redis_prefix,
                          now,
                          scored->lead->lead_id,
                          pending->queue,
                          pending->rule,
                          score,
                          "round_robin",
                          stage_ok ? "1" : "0",
                          queue_stage};
    store_batch_script(self->batch, self->script, 0, 10, argv, NULL);
    return true;
}

static void s_handle_batch(routing_t *self)
{
    store_batch_reset(self->batch);
    s_clear_pending(self);
    while (self->pending_count < ROUTING_BATCH_MAX) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->pull, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        Leadops__Envelope *env = envelope_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), NULL);
        zmq_msg_close(&msg);
        Leadops__ScoredLead *scored = env ? envelope_scored_lead(env, NULL) : NULL;
        if (env)
            leadops__envelope__free_unpacked(env, NULL);
        if (!scored || !s_queue_lead(self, scored, &self->pending[self->pending_count])) {
            self->stats.malformed++;
            log_warn("dropped a malformed message from the routing queue");
            if (scored)
                leadops__scored_lead__free_unpacked(scored, NULL);
            continue;
        }
        self->pending_count++;
    }
    if (self->pending_count == 0)
        return;
    err_t err = {0};
    if (store_batch_exec(self->store, self->batch, &err) < 0) {
        /* The leads stay in flight in Redis; scoring re-sends them. */
        if (!self->store_down_logged)
            log_error("store unavailable, %zu leads left for redelivery: %s", self->pending_count,
                      err.msg);
        self->store_down_logged = true;
        s_clear_pending(self);
        return;
    }
    self->store_down_logged = false;
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < self->pending_count; i++) {
        const s_pending_t *p = &self->pending[i];
        const store_value_t *reply = store_batch_reply(self->batch, i);
        long long outcome = store_value_int(store_value_at(reply, 0), -1);
        if (outcome == 1) {
            self->stats.assigned++;
            Leadops__Assignment a = LEADOPS__ASSIGNMENT__INIT;
            a.lead_id = p->scored->lead->lead_id;
            a.queue = (char *)p->queue;
            a.rule = (char *)p->rule;
            a.rep_id = (char *)store_value_str(store_value_at(reply, 1), "");
            a.strategy = "round_robin";
            a.reason = "next free rep of the queue in round-robin order";
            a.assigned_at_ms = now;
            a.ingested_at_ms = store_value_int(store_value_at(reply, 2), 0);
            a.score = p->scored->score;
            a.attempt = 1;
            s_publish(self, LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT, &a.base, a.ingested_at_ms);
        } else if (outcome == 2) {
            self->stats.queued++;
            Leadops__LeadQueued q = LEADOPS__LEAD_QUEUED__INIT;
            q.lead_id = p->scored->lead->lead_id;
            q.queue = (char *)p->queue;
            q.rule = (char *)p->rule;
            q.reason = "no rep of the queue is online with free capacity";
            q.score = p->scored->score;
            q.queued_at_ms = now;
            q.ingested_at_ms = store_value_int(store_value_at(reply, 1), 0);
            s_publish(self, LEADOPS__EVENT_TYPE__EVENT_LEAD_QUEUED, &q.base, q.ingested_at_ms);
        } else if (outcome == 3) {
            self->stats.nurtured++;
        } else if (outcome == 4) {
            self->stats.reprioritized++;
        } else if (outcome == 5) {
            self->stats.unqueued++;
        } else if (outcome == 0) {
            self->stats.redeliveries_ignored++;
        } else {
            log_error("route script failed: %s",
                      reply && reply->type == STORE_ERROR ? reply->str : "unexpected reply");
        }
    }
    s_clear_pending(self);
}

void routing_ack_clear(Leadops__Ack *ack)
{
    for (size_t i = 0; i < ack->n_assignments; i++) {
        free(ack->assignments[i]->lead_id);
        free(ack->assignments[i]->queue);
        free(ack->assignments[i]->rep_id);
        free(ack->assignments[i]);
    }
    free(ack->assignments);
    for (size_t i = 0; i < ack->n_reps; i++) {
        Leadops__RepState *rep = ack->reps[i];
        free(rep->rep_id);
        free(rep->name);
        free(rep->status);
        for (size_t q = 0; q < rep->n_queues; q++)
            free(rep->queues[q]);
        free(rep->queues);
        free(rep);
    }
    free(ack->reps);
    ack->assignments = NULL;
    ack->n_assignments = 0;
    ack->reps = NULL;
    ack->n_reps = 0;
}

/* Copies the assignments of REPLY (from FIRST) into ACK and publishes them. */
static void s_ack_assignments(routing_t *self, const store_value_t *reply, size_t first,
                              Leadops__Ack *ack)
{
    s_publish_assignments(self, reply, first);
    size_t n = reply->count > first ? reply->count - first : 0;
    if (!n)
        return;
    ack->assignments = calloc(n, sizeof *ack->assignments);
    if (!ack->assignments)
        abort();
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < n; i++) {
        Leadops__Assignment view, *a = malloc(sizeof *a);
        if (!a)
            abort();
        s_assignment_from(reply->elements[first + i], &view, now);
        *a = view;
        a->lead_id = strdup(view.lead_id);
        a->queue = strdup(view.queue);
        a->rep_id = strdup(view.rep_id);
        a->strategy = "round_robin";
        a->reason = "";
        ack->assignments[ack->n_assignments++] = a;
    }
}

static void s_list_reps(routing_t *self, Leadops__Ack *ack, err_t *err)
{
    char key[KEY_MAX];
    keys_format(key, sizeof key, self->cfg->redis_prefix, "reps");
    store_value_t *ids = store_command(self->store, err, "SMEMBERS %s", key);
    if (ids && ids->type != STORE_ARRAY)
        err_set(err, ERR_IO, "SMEMBERS %s: %s", key,
                ids->type == STORE_ERROR ? ids->str : "unexpected reply");
    if (!ids || ids->type != STORE_ARRAY) {
        store_value_free(&ids);
        return;
    }
    store_batch_reset(self->batch);
    for (size_t i = 0; i < ids->count; i++) {
        char rep_key[KEY_MAX], queues_key[KEY_MAX + 16];
        snprintf(rep_key, sizeof rep_key, "%s:rep:%s", self->cfg->redis_prefix,
                 ids->elements[i]->str);
        snprintf(queues_key, sizeof queues_key, "%s:queues", rep_key);
        const char *hmget[] = {"HMGET",    rep_key, "name",          "status",
                               "capacity", "open",  "assigned_total"};
        store_batch_command(self->batch, 7, hmget, NULL);
        const char *smembers[] = {"SMEMBERS", queues_key};
        store_batch_command(self->batch, 2, smembers, NULL);
    }
    if (store_batch_exec(self->store, self->batch, err) == 0 && ids->count) {
        ack->reps = calloc(ids->count, sizeof *ack->reps);
        if (!ack->reps)
            abort();
        for (size_t i = 0; i < ids->count; i++) {
            const store_value_t *h = store_batch_reply(self->batch, 2 * i);
            const store_value_t *q = store_batch_reply(self->batch, 2 * i + 1);
            Leadops__RepState *rep = malloc(sizeof *rep);
            if (!rep)
                abort();
            leadops__rep_state__init(rep);
            rep->rep_id = strdup(ids->elements[i]->str);
            rep->name = strdup(store_value_str(store_value_at(h, 0), ""));
            rep->status = strdup(store_value_str(store_value_at(h, 1), "offline"));
            rep->capacity = (uint32_t)store_value_int(store_value_at(h, 2), 0);
            rep->open_leads = (uint32_t)store_value_int(store_value_at(h, 3), 0);
            rep->assigned_total = (uint64_t)store_value_int(store_value_at(h, 4), 0);
            size_t nq = q && q->type == STORE_ARRAY ? q->count : 0;
            rep->queues = calloc(nq ? nq : 1, sizeof *rep->queues);
            for (size_t k = 0; k < nq; k++)
                rep->queues[rep->n_queues++] = strdup(q->elements[k]->str);
            ack->reps[ack->n_reps++] = rep;
        }
    }
    store_value_free(&ids);
}

void routing_command(routing_t *self, const Leadops__RepCommand *cmd, Leadops__Ack *ack)
{
    self->stats.commands++;
    err_t err = {0};
    char max[16], value[32];
    snprintf(max, sizeof max, "%d", ROUTING_PULL_MAX);
    store_value_t *reply = NULL;
    ack->status = LEADOPS__ACK__STATUS__FAILED;
    ack->reason = self->reason;
    self->reason[0] = '\0';
    const char *rep_id = cmd->rep_id ? cmd->rep_id : "";

    switch (cmd->action) {
    case LEADOPS__REP_COMMAND__ACTION__LIST_REPS:
        s_list_reps(self, ack, &err);
        if (err.code == ERR_NONE) {
            ack->status = LEADOPS__ACK__STATUS__OK;
            snprintf(self->reason, sizeof self->reason, "%zu reps", ack->n_reps);
        }
        break;
    case LEADOPS__REP_COMMAND__ACTION__SET_CAPACITY:
    case LEADOPS__REP_COMMAND__ACTION__GO_ONLINE:
    case LEADOPS__REP_COMMAND__ACTION__GO_OFFLINE: {
        const char *field = "status";
        if (cmd->action == LEADOPS__REP_COMMAND__ACTION__SET_CAPACITY) {
            if (cmd->capacity > 100000) {
                snprintf(self->reason, sizeof self->reason, "capacity must be 0..100000");
                return;
            }
            field = "capacity";
            snprintf(value, sizeof value, "%u", cmd->capacity);
        } else {
            snprintf(value, sizeof value, "%s",
                     cmd->action == LEADOPS__REP_COMMAND__ACTION__GO_ONLINE ? "online" : "offline");
        }
        const char *args[] = {rep_id, field, value, max};
        reply = s_call(self, "rep", 4, args, &err);
        break;
    }
    case LEADOPS__REP_COMMAND__ACTION__CLOSE_LEAD: {
        const char *outcome = cmd->outcome && *cmd->outcome ? cmd->outcome : "closed";
        const char *args[] = {rep_id, cmd->lead_id ? cmd->lead_id : "", outcome, max};
        reply = s_call(self, "close", 4, args, &err);
        if (reply && store_value_int(store_value_at(reply, 0), 0) == 1) {
            Leadops__LeadClosed closed = LEADOPS__LEAD_CLOSED__INIT;
            closed.lead_id = cmd->lead_id;
            closed.rep_id = (char *)rep_id;
            closed.outcome = (char *)outcome;
            closed.closed_at_ms = clock_now_ms();
            s_publish(self, LEADOPS__EVENT_TYPE__EVENT_LEAD_CLOSED, &closed.base, 0);
        }
        break;
    }
    default:
        snprintf(self->reason, sizeof self->reason, "unknown rep command action %d",
                 (int)cmd->action);
        return;
    }
    if (err.code != ERR_NONE) {
        snprintf(self->reason, sizeof self->reason, "%s", err.msg);
        ack->status = LEADOPS__ACK__STATUS__BUSY;
        ack->retry_after_ms = 1000;
    } else if (reply) {
        bool ok = store_value_int(store_value_at(reply, 0), 0) == 1;
        ack->status = ok ? LEADOPS__ACK__STATUS__OK : LEADOPS__ACK__STATUS__FAILED;
        snprintf(self->reason, sizeof self->reason, "%s",
                 store_value_str(store_value_at(reply, 1), ""));
        if (ok)
            s_ack_assignments(self, reply, 2, ack);
    }
    store_value_free(&reply);
}

static void s_handle_command(routing_t *self)
{
    zutil_frames_t frames;
    if (zutil_recv_frames(self->commands, &frames, 65536, ZMQ_DONTWAIT) < 0)
        return;
    Leadops__Ack ack = LEADOPS__ACK__INIT;
    size_t body = frames.count - 1;
    Leadops__Envelope *env = NULL;
    Leadops__RepCommand *cmd = NULL;
    err_t err = {0};
    if (frames.count >= 2 && frames.data[body])
        env = envelope_decode(frames.data[body], frames.size[body], &err);
    else
        err_set(&err, ERR_INPUT, "expected [identity, (empty,) envelope] frames of <= 64 KiB");
    if (env)
        cmd = envelope_rep_command(env, &err);
    if (cmd) {
        routing_command(self, cmd, &ack);
        ack.event_id = env->event_id;
    } else {
        self->stats.malformed++;
        snprintf(self->reason, sizeof self->reason, "%s", err.msg);
        ack.status = LEADOPS__ACK__STATUS__REJECTED;
        ack.reason = self->reason;
    }
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_ACK, NULL, "leadops-routing", 0, 0,
                                   &ack.base, &len, NULL);
    if (bytes && frames.count >= 1)
        zutil_send_routed(self->commands, &frames, bytes, len, ZMQ_DONTWAIT);
    free(bytes);
    routing_ack_clear(&ack);
    if (cmd)
        leadops__rep_command__free_unpacked(cmd, NULL);
    if (env)
        leadops__envelope__free_unpacked(env, NULL);
    zutil_frames_clear(&frames);
}

#define REPRIORITIZE_SLICE 500

/* One slice of the re-ordering pass: REPRIORITIZE_SLICE waiting leads of
 * the queue in hand get a priority from their score decayed to now. */
static void s_reprioritize_step(routing_t *self, int64_t now_mono)
{
    const config_t *cfg = self->cfg;
    if (self->reprioritize_queue >= cfg->queue_count) {
        if (now_mono < self->next_reprioritize_ms)
            return;
        self->next_reprioritize_ms = now_mono + 1000LL * cfg->routing_reprioritize_s;
        self->reprioritize_queue = 0;
        self->reprioritize_start = 0;
    }
    char start[24], count[16], half_life[16];
    snprintf(start, sizeof start, "%ld", self->reprioritize_start);
    snprintf(count, sizeof count, "%d", REPRIORITIZE_SLICE);
    snprintf(half_life, sizeof half_life, "%d", cfg->scoring_half_life_s);
    const char *args[] = {cfg->queues[self->reprioritize_queue].name, start, count, half_life};
    err_t err = {0};
    store_value_t *reply = s_call(self, "reprioritize", 4, args, &err);
    long long next = reply ? store_value_int(store_value_at(reply, 0), 0) : 0;
    self->stats.reprioritized += reply ? (uint64_t)store_value_int(store_value_at(reply, 1), 0) : 0;
    store_value_free(&reply);
    if (next > 0) {
        self->reprioritize_start = (long)next;
    } else {
        self->reprioritize_queue++;
        self->reprioritize_start = 0;
    }
}

int routing_run(routing_t *self, volatile sig_atomic_t *stop)
{
    log_info("routing: leads on %s, rep commands on %s, %zu queues, %zu reps",
             self->cfg->ep_routing, self->cfg->ep_commands, self->cfg->queue_count,
             self->cfg->rep_count);
    bool synced = false;
    int64_t next_sync_ms = 0;
    while (!*stop) {
        service_reload_if_requested(self->cfg->path, NULL, self->zap);
        /* Reps and queues must be in Redis before the first lead is routed:
         * until Redis answers, retry the sync every second and leave leads
         * waiting in the socket. */
        int64_t now = clock_mono_ms();
        if (!synced && now >= next_sync_ms) {
            err_t err = {0};
            synced = routing_sync_config(self, &err) == 0;
            if (!synced)
                log_error("cannot write reps and queues to Redis, retrying: %s", err.msg);
            next_sync_ms = now + 1000;
        }
        bool reordering = synced && self->reprioritize_queue < self->cfg->queue_count;
        if (synced)
            s_reprioritize_step(self, now);
        zmq_pollitem_t items[] = {{.socket = self->pull, .events = synced ? ZMQ_POLLIN : 0},
                                  {.socket = self->commands, .events = ZMQ_POLLIN}};
        if (zmq_poll(items, 2, reordering ? 0 : synced ? 1000 : 200) < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_handle_batch(self);
        if (items[1].revents & ZMQ_POLLIN)
            s_handle_command(self);
    }
    log_info("stopping: assigned %llu, queued %llu, pulled %llu, commands %llu",
             (unsigned long long)self->stats.assigned, (unsigned long long)self->stats.queued,
             (unsigned long long)self->stats.pulled, (unsigned long long)self->stats.commands);
    return 0;
}
