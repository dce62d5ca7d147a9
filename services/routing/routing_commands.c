/* routing_commands.c — rep commands on the ROUTER socket: status (online,
 * away, offline), capacity and caps, accept, reject, close and reassign a
 * lead, list the reps. Each is one call of routing.lua; freed capacity pulls
 * the next waiting lead at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"
#include "keys.h"
#include "routing_internal.h"
#include "zutil.h"

void routing_ack_clear(Leadops__Ack *ack)
{
    for (size_t i = 0; i < ack->n_assignments; i++) {
        free(ack->assignments[i]->lead_id);
        free(ack->assignments[i]->queue);
        free(ack->assignments[i]->rep_id);
        free(ack->assignments[i]->reason);
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
    routing_publish_assignments(self, reply, first);
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
        routing_assignment_from(reply->elements[first + i], &view, now);
        *a = view;
        a->lead_id = strdup(view.lead_id);
        a->queue = strdup(view.queue);
        a->rep_id = strdup(view.rep_id);
        a->strategy = "";
        a->reason = strdup(view.reason);
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

/* A close's outcome: won, lost or disqualified ("closed" when none is given). */
static bool s_outcome_known(const char *outcome)
{
    static const char *const known[] = {"won", "lost", "disqualified", "closed", NULL};
    for (const char *const *k = known; *k; k++)
        if (strcmp(*k, outcome) == 0)
            return true;
    return false;
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
    const char *lead_id = cmd->lead_id ? cmd->lead_id : "";
    const char *reason = cmd->reason ? cmd->reason : "";

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
    case LEADOPS__REP_COMMAND__ACTION__GO_AWAY:
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
                     cmd->action == LEADOPS__REP_COMMAND__ACTION__GO_ONLINE ? "online"
                     : cmd->action == LEADOPS__REP_COMMAND__ACTION__GO_AWAY ? "away"
                                                                            : "offline");
        }
        const char *args[] = {rep_id, field, value, max};
        reply = routing_call(self, "rep", 4, args, &err);
        break;
    }
    case LEADOPS__REP_COMMAND__ACTION__SET_CAPS: {
        char weekly[16];
        snprintf(value, sizeof value, "%u", cmd->daily_cap);
        snprintf(weekly, sizeof weekly, "%u", cmd->weekly_cap);
        const char *daily_args[] = {rep_id, "daily_cap", value, max};
        reply = routing_call(self, "rep", 4, daily_args, &err);
        if (reply && store_value_int(store_value_at(reply, 0), 0) == 1) {
            store_value_free(&reply);
            const char *weekly_args[] = {rep_id, "weekly_cap", weekly, max};
            reply = routing_call(self, "rep", 4, weekly_args, &err);
        }
        break;
    }
    case LEADOPS__REP_COMMAND__ACTION__CLOSE_LEAD: {
        const char *outcome = cmd->outcome && *cmd->outcome ? cmd->outcome : "closed";
        if (!s_outcome_known(outcome)) {
            snprintf(self->reason, sizeof self->reason,
                     "unknown outcome \"%.40s\": use won, lost or disqualified", outcome);
            return;
        }
        const char *args[] = {rep_id, lead_id, outcome, max};
        reply = routing_call(self, "close", 4, args, &err);
        if (reply && store_value_int(store_value_at(reply, 0), 0) == 1) {
            Leadops__LeadClosed closed = LEADOPS__LEAD_CLOSED__INIT;
            closed.lead_id = (char *)lead_id;
            closed.rep_id = (char *)rep_id;
            closed.outcome = (char *)outcome;
            closed.closed_at_ms = clock_now_ms();
            routing_publish(self, LEADOPS__EVENT_TYPE__EVENT_LEAD_CLOSED, &closed.base, 0);
        }
        break;
    }
    case LEADOPS__REP_COMMAND__ACTION__ACCEPT_LEAD: {
        const char *args[] = {rep_id, lead_id};
        reply = routing_call(self, "accept", 2, args, &err);
        break;
    }
    case LEADOPS__REP_COMMAND__ACTION__REJECT_LEAD: {
        const char *args[] = {rep_id, lead_id, reason};
        reply = routing_call(self, "reject", 3, args, &err);
        break;
    }
    case LEADOPS__REP_COMMAND__ACTION__REASSIGN_LEAD: {
        const char *to = cmd->to_rep_id ? cmd->to_rep_id : "";
        if (!*to) {
            snprintf(self->reason, sizeof self->reason, "reassign needs the rep to move it to");
            return;
        }
        const char *args[] = {lead_id, to, *reason ? reason : "a manager", max};
        reply = routing_call(self, "reassign", 4, args, &err);
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

void routing_handle_command(routing_t *self)
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
