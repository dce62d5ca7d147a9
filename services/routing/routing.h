/* routing.h — the leadops-routing service as a library.
 *
 * Takes leads from scoring, matches each to a queue by the config's rules
 * and, when the lead's lifecycle stage is one the queue takes, gives it to a
 * rep of that queue by round robin among reps that are online and below
 * capacity, or keeps it waiting in the queue by score then arrival (re-ordered
 * as scores change or decay; a lead whose stage falls below the queue's
 * leaves it). Rep commands (capacity, online/offline, close a lead) come on
 * a ROUTER socket and are answered with an Ack; freed capacity pulls the next
 * waiting lead at once. All state is in Redis and every change is one call
 * of routing.lua, so several instances can run side by side.
 * A routing_t borrows the config and the ZeroMQ context. */
#ifndef LEADOPS_ROUTING_H
#define LEADOPS_ROUTING_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "leadops.pb-c.h"

#define ROUTING_BATCH_MAX 512
/* Most waiting leads one command may pull for a rep. */
#define ROUTING_PULL_MAX 1000

typedef struct routing routing_t;

typedef struct {
    uint64_t assigned, queued, redeliveries_ignored, malformed, commands, pulled;
    uint64_t nurtured, reprioritized, unqueued; /* stages and decaying scores */
    uint64_t sla_breaches, overflowed;
} routing_stats_t;

routing_t *routing_new(const config_t *cfg, void *zmq_ctx, err_t *err);
void routing_destroy(routing_t **self_p);
int routing_run(routing_t *self, volatile sig_atomic_t *stop);
const routing_stats_t *routing_stats(const routing_t *self);

/* Writes the config's queues and reps into Redis (see the sync operation of
 * routing.lua) and pulls waiting leads for reps that are free. */
int routing_sync_config(routing_t *self, err_t *err);

/* Carries out one rep command and fills ACK (whose strings point into
 * SELF's buffers until the next command; its arrays are malloc'ed: free
 * them with routing_ack_clear). */
void routing_command(routing_t *self, const Leadops__RepCommand *cmd, Leadops__Ack *ack);
void routing_ack_clear(Leadops__Ack *ack);

#endif
