/* routing_internal.h — what the files of the routing service share: its
 * state and the helpers each file gives the others. Private to
 * services/routing (routing.h is the interface):
 *   routing.c           the service: sockets, the main loop, a batch of
 *                       scored leads matched to queues and routed
 *   routing_sync.c      the config into Redis: queues, reps, and each rep's
 *                       working windows computed in its time zone
 *   routing_commands.c  rep commands on the ROUTER socket
 *   routing_timers.c    SLA breaches, overflow, draining queues to reps who
 *                       became available, re-ordering waiting leads
 *   routing_notify.c    the queues' webhooks: reading the notify stream, retries
 *   routing_webhook.c   one webhook POST and the JSON it carries */
#ifndef LEADOPS_ROUTING_INTERNAL_H
#define LEADOPS_ROUTING_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "leadops.pb-c.h"
#include "routing.h"
#include "routing_args.h"
#include "store.h"

/* One scored lead of the batch in hand. */
typedef struct {
    Leadops__ScoredLead *scored; /* owned */
    const char *queue;           /* borrowed from the config */
    const char *rule;            /* borrowed from the config */
} routing_pending_t;

typedef struct routing_notify routing_notify_t;

struct routing {
    const config_t *cfg; /* the config in force: borrowed, or OWN_CFG after a reload */
    config_t *own_cfg;   /* owned: the last config reloaded, or NULL */
    store_t *store;      /* owned */
    void *pull;          /* owned: scored leads */
    void *commands;      /* owned: ROUTER for rep commands */
    void *events_pub;    /* owned */
    auth_zap_t *zap;     /* owned: CurveZMQ handshakes (inert without) */
    int script;
    store_batch_t *batch; /* owned */
    routing_pending_t pending[ROUTING_BATCH_MAX];
    size_t pending_count;
    routing_stats_t stats;
    char reason[ERR_MSG_MAX]; /* the reason of the last command's ack */
    bool store_down_logged;
    routing_notify_t *notify; /* owned: webhook sender; NULL when no queue has one */
    char stage_names[1024];   /* the config's stages, lowest first: "lead,mql,sql" */
    /* Timers (monotonic ms). */
    int64_t next_avail_ms, next_sla_ms, next_drain_ms;
    /* Re-ordering waiting leads as their scores decay: a pass over every
     * queue each routing.reprioritize_s, a slice at most each ROUTING_REPRIORITIZE_EVERY_MS. */
    int64_t next_reprioritize_ms;
    int64_t next_slice_ms;     /* a pass takes one slice at most each REPRIORITIZE_EVERY_MS */
    size_t reprioritize_queue; /* the queue being re-ordered; queue_count: no pass running */
    long reprioritize_start;
};

/* Calls routing.lua synchronously: OP, then ARGC more ARGV. An error reply
 * becomes NULL with *ERR set. */
store_value_t *routing_call(routing_t *self, const char *op, int argc, const char **args,
                            err_t *err);

void routing_publish(routing_t *self, Leadops__EventType type, const ProtobufCMessage *msg,
                     int64_t ingested_at_ms);

/* Fills A from one assignment of routing.lua {lead_id, queue, rep_id,
 * ingested_at, queued_at, score, attempt, why}; strings borrowed from V. */
void routing_assignment_from(const store_value_t *v, Leadops__Assignment *a, int64_t now_ms);

/* Publishes the assignments of REPLY from index FIRST on; returns how many. */
size_t routing_publish_assignments(routing_t *self, const store_value_t *reply, size_t first);

/* Writes each rep's working windows, out-of-office periods and local day
 * and week starts into Redis (routing_sync.c). */
int routing_sync_availability(routing_t *self, err_t *err);

/* A re-ordering pass takes one slice of waiting leads at most this often. */
#define ROUTING_REPRIORITIZE_EVERY_MS 15

/* The timers of the main loop (routing_timers.c): each does what is due. */
void routing_timers_run(routing_t *self, int64_t now_mono);
/* Whether a timer has more to do at once (a re-ordering pass in progress). */
bool routing_timers_busy(const routing_t *self);

/* Handles one command message on the ROUTER socket (routing_commands.c). */
void routing_handle_command(routing_t *self);

/* Webhooks (routing_notify.c): started when some queue has one. */
routing_notify_t *routing_notify_start(const config_t *cfg, err_t *err);
void routing_notify_stop(routing_notify_t **self_p);

#endif
