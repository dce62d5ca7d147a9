#include "routing.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "route_rules.h"
#include "routing_internal.h"
#include "service.h"
#include "zutil.h"

/* The stages, lowest first, comma-separated, for the route op. */
static void s_stage_names(const config_t *cfg, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cfg->stage_count && used < size; i++)
        used +=
            (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", cfg->stages[i].name);
}

routing_t *routing_new(const config_t *cfg, void *zmq_ctx, err_t *err)
{
    routing_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    s_stage_names(cfg, self->stage_names, sizeof self->stage_names);
    self->reprioritize_queue = cfg->queue_count; /* the first pass starts on its timer */
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
    self->notify = routing_notify_start(cfg, err);
    if (!self->notify && err && err->code != ERR_NONE)
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
    routing_notify_stop(&self->notify);
    store_batch_destroy(&self->batch);
    zutil_close(&self->pull);
    zutil_close(&self->commands);
    zutil_close(&self->events_pub);
    auth_zap_stop(&self->zap); /* after the sockets it guards */
    store_destroy(&self->store);
    config_destroy(&self->own_cfg);
    free(self);
    *self_p = NULL;
}

const routing_stats_t *routing_stats(const routing_t *self)
{
    return &self->stats;
}

void routing_publish(routing_t *self, Leadops__EventType type, const ProtobufCMessage *msg,
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

void routing_assignment_from(const store_value_t *v, Leadops__Assignment *a, int64_t now_ms)
{
    leadops__assignment__init(a);
    a->lead_id = (char *)store_value_str(store_value_at(v, 0), "");
    a->queue = (char *)store_value_str(store_value_at(v, 1), "");
    a->rep_id = (char *)store_value_str(store_value_at(v, 2), "");
    a->ingested_at_ms = store_value_int(store_value_at(v, 3), 0);
    a->queued_at_ms = store_value_int(store_value_at(v, 4), 0);
    a->score = store_value_double(store_value_at(v, 5), 0);
    a->attempt = (uint32_t)store_value_int(store_value_at(v, 6), 1);
    a->reason = (char *)store_value_str(store_value_at(v, 7), "");
    a->assigned_at_ms = now_ms;
    a->strategy = "";
}

store_value_t *routing_call(routing_t *self, const char *op, int argc, const char **args,
                            err_t *err)
{
    return routing_script_call(self->store, self->script, op, self->cfg->redis_prefix,
                               clock_now_ms(), argc, args, err);
}

size_t routing_publish_assignments(routing_t *self, const store_value_t *reply, size_t first)
{
    size_t n = 0;
    int64_t now = clock_now_ms();
    for (size_t i = first; reply && reply->type == STORE_ARRAY && i < reply->count; i++) {
        Leadops__Assignment a;
        routing_assignment_from(reply->elements[i], &a, now);
        routing_publish(self, LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT, &a.base, a.ingested_at_ms);
        n++;
    }
    self->stats.pulled += n;
    return n;
}

/* The domains an account may be found under, most specific first: the
 * lead's domain (lower case, without "www.") after the configured aliases,
 * then each parent domain with at least two labels ("eu.acme.com" →
 * "eu.acme.com,acme.com"). */
static void s_account_domains(const config_t *cfg, const char *domain, char *out, size_t size)
{
    char d[256];
    size_t n = 0;
    for (; domain && *domain && n + 1 < sizeof d; domain++)
        d[n++] = (char)tolower((unsigned char)*domain);
    d[n] = '\0';
    const char *name = strncmp(d, "www.", 4) == 0 ? d + 4 : d;
    for (size_t i = 0; i < cfg->domain_alias_count; i++)
        if (strcmp(cfg->domain_alias_from[i], name) == 0)
            name = cfg->domain_alias_to[i];
    size_t used = 0;
    out[0] = '\0';
    while (*name && strchr(name, '.')) {
        int w = snprintf(out + used, size - used, "%s%s", used ? "," : "", name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
        name = strchr(name, '.') + 1;
    }
}

static bool s_queue_lead(routing_t *self, Leadops__ScoredLead *scored, routing_pending_t *pending)
{
    if (!scored->lead || !scored->lead->lead_id || !*scored->lead->lead_id)
        return false;
    const config_t *cfg = self->cfg;
    pending->scored = scored;
    const route_rule_t *rule = NULL;
    pending->queue = route_rules_match(cfg, scored, &rule);
    pending->rule = rule ? rule->name : "fallback";
    /* The queue takes leads from its stage on; a lead below it waits in
     * nurture (and leaves the queue when it falls below while waiting). */
    const queue_config_t *queue = config_queue(cfg, pending->queue);
    int stage = config_stage_index(cfg, scored->stage ? scored->stage : "");
    bool stage_ok = !queue || (stage >= 0 && (size_t)stage >= queue->stage);
    const char *queue_stage = queue ? cfg->stages[queue->stage].name : "";
    char score[32], skills[512], domains[512];
    snprintf(score, sizeof score, "%.17g", scored->score);
    route_rules_skills(rule, scored->lead, skills, sizeof skills);
    s_account_domains(cfg, scored->lead->domain, domains, sizeof domains);
    char now[24], audit_ttl[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    snprintf(audit_ttl, sizeof audit_ttl, "%lld", 1000LL * cfg->routing_audit_ttl_s);
    const char *argv[] = {"route",
                          cfg->redis_prefix,
                          now,
                          scored->lead->lead_id,
                          pending->queue,
                          pending->rule,
                          score,
                          stage_ok ? "1" : "0",
                          queue_stage,
                          skills,
                          domains,
                          self->stage_names,
                          audit_ttl};
    store_batch_script(self->batch, self->script, 0, 13, argv, NULL);
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
        const routing_pending_t *p = &self->pending[i];
        const store_value_t *reply = store_batch_reply(self->batch, i);
        long long outcome = store_value_int(store_value_at(reply, 0), -1);
        if (outcome == 1) {
            self->stats.assigned++;
            Leadops__Assignment a = LEADOPS__ASSIGNMENT__INIT;
            a.lead_id = p->scored->lead->lead_id;
            a.queue = (char *)p->queue;
            a.rule = (char *)p->rule;
            a.rep_id = (char *)store_value_str(store_value_at(reply, 1), "");
            a.reason = (char *)store_value_str(store_value_at(reply, 3), "");
            a.assigned_at_ms = now;
            a.ingested_at_ms = store_value_int(store_value_at(reply, 2), 0);
            a.score = p->scored->score;
            a.attempt = 1;
            routing_publish(self, LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT, &a.base, a.ingested_at_ms);
        } else if (outcome == 2) {
            self->stats.queued++;
            Leadops__LeadQueued q = LEADOPS__LEAD_QUEUED__INIT;
            q.lead_id = p->scored->lead->lead_id;
            q.queue = (char *)p->queue;
            q.rule = (char *)p->rule;
            q.reason = (char *)store_value_str(store_value_at(reply, 2), "");
            q.score = p->scored->score;
            q.queued_at_ms = now;
            q.ingested_at_ms = store_value_int(store_value_at(reply, 1), 0);
            routing_publish(self, LEADOPS__EVENT_TYPE__EVENT_LEAD_QUEUED, &q.base,
                            q.ingested_at_ms);
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

/* After a SIGHUP: a config that loads takes effect at once (queues, rules,
 * reps and their settings, written to Redis); a broken one is refused with
 * its reason and the running config stays. */
static void s_reload(routing_t *self)
{
    config_t *fresh = service_reload(self->cfg->path);
    if (!fresh)
        return;
    service_apply_security(fresh, NULL, self->zap);
    const config_t *before = self->cfg;
    config_t *before_owned = self->own_cfg;
    self->cfg = fresh;
    self->own_cfg = fresh;
    s_stage_names(fresh, self->stage_names, sizeof self->stage_names);
    err_t err = {0};
    if (routing_sync_config(self, &err) < 0) {
        log_error("reload: the new config could not be written to Redis, keeping the running "
                  "one: %s",
                  err.msg);
        self->cfg = before;
        self->own_cfg = before_owned;
        s_stage_names(before, self->stage_names, sizeof self->stage_names);
        config_destroy(&fresh);
        return;
    }
    config_destroy(&before_owned);
    self->reprioritize_queue = self->cfg->queue_count;
    log_info("reload: %zu queues, %zu rules, %zu reps in force", self->cfg->queue_count,
             self->cfg->route_rule_count, self->cfg->rep_count);
}

int routing_run(routing_t *self, volatile sig_atomic_t *stop)
{
    log_info("routing: leads on %s, rep commands on %s, %zu queues, %zu reps",
             self->cfg->ep_routing, self->cfg->ep_commands, self->cfg->queue_count,
             self->cfg->rep_count);
    bool synced = false;
    int64_t next_sync_ms = 0;
    service_beat_t beat = {0};
    while (!*stop) {
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
        if (synced && service_reload_requested())
            s_reload(self);
        if (synced)
            routing_timers_run(self, now);
        service_heartbeat(&beat, self->store, self->cfg, "routing", NULL);
        zmq_pollitem_t items[] = {{.socket = self->pull, .events = synced ? ZMQ_POLLIN : 0},
                                  {.socket = self->commands, .events = ZMQ_POLLIN}};
        long timeout = !synced                     ? 200
                       : routing_timers_busy(self) ? ROUTING_REPRIORITIZE_EVERY_MS
                                                   : 250;
        if (zmq_poll(items, 2, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_handle_batch(self);
        if (items[1].revents & ZMQ_POLLIN)
            routing_handle_command(self);
    }
    log_info("stopping: assigned %llu, queued %llu, pulled %llu, commands %llu, SLA breaches "
             "%llu, overflowed %llu",
             (unsigned long long)self->stats.assigned, (unsigned long long)self->stats.queued,
             (unsigned long long)self->stats.pulled, (unsigned long long)self->stats.commands,
             (unsigned long long)self->stats.sla_breaches,
             (unsigned long long)self->stats.overflowed);
    return 0;
}
