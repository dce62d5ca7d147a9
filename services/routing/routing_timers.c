/* routing_timers.c — what the routing loop does on time: assignments whose
 * SLA ran out go to another rep (and escalate), leads waiting too long
 * overflow to the next queue, waiting leads go to reps who became available
 * (back in their hours, caps reset, out of office over), each rep's working
 * windows are refreshed, and waiting leads are re-ordered as scores decay.
 * Every step is one call of routing.lua, safe with several instances. */
#include <stdio.h>

#include "log.h"
#include "routing_internal.h"

#define SLA_EVERY_MS   250  /* SLA breaches and overflow are checked this often */
#define DRAIN_EVERY_MS 2000 /* queues are offered to newly available reps this often */
#define AVAIL_EVERY_MS (15 * 60 * 1000)
#define SWEEP_MAX      200 /* leads one SLA or overflow call handles */
#define DRAIN_MAX      50  /* waiting leads of a queue one drain call looks at */

/* A pass costs Redis about 10 µs a waiting lead: paced at one slice of 100
 * each 15 ms (about 6,700 leads a second, 1 ms of Redis at a time and some
 * 7% of it while a pass runs), a million waiting leads take two and a half
 * minutes and do not crowd out routing's own work. */
#define REPRIORITIZE_SLICE 100

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
    if (now_mono < self->next_slice_ms)
        return;
    self->next_slice_ms = now_mono + ROUTING_REPRIORITIZE_EVERY_MS;
    char start[24], count[16], half_life[16];
    snprintf(start, sizeof start, "%ld", self->reprioritize_start);
    snprintf(count, sizeof count, "%d", REPRIORITIZE_SLICE);
    snprintf(half_life, sizeof half_life, "%d", cfg->scoring_half_life_s);
    const char *args[] = {cfg->queues[self->reprioritize_queue].name, start, count, half_life};
    err_t err = {0};
    store_value_t *reply = routing_call(self, "reprioritize", 4, args, &err);
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

/* Runs the sweep OP ("sla" or "overflow") until nothing is due; publishes
 * the assignments it made. Returns the leads it handled. */
static long long s_sweep(routing_t *self, const char *op)
{
    char max[16];
    snprintf(max, sizeof max, "%d", SWEEP_MAX);
    long long total = 0;
    for (int round = 0; round < 10; round++) {
        const char *args[] = {max};
        err_t err = {0};
        store_value_t *reply = routing_call(self, op, 1, args, &err);
        if (!reply) {
            if (!self->store_down_logged)
                log_warn("%s sweep: %s", op, err.msg);
            return total;
        }
        long long handled = store_value_int(store_value_at(reply, 0), 0);
        routing_publish_assignments(self, reply, 1);
        store_value_free(&reply);
        total += handled;
        if (handled < SWEEP_MAX)
            break;
    }
    return total;
}

static void s_drain(routing_t *self)
{
    char max[16];
    snprintf(max, sizeof max, "%d", DRAIN_MAX);
    for (size_t i = 0; i < self->cfg->queue_count; i++) {
        const char *args[] = {self->cfg->queues[i].name, max};
        err_t err = {0};
        store_value_t *reply = routing_call(self, "drain", 2, args, &err);
        size_t n = reply ? routing_publish_assignments(self, reply, 0) : 0;
        store_value_free(&reply);
        if (n)
            log_info("queue %s: %zu waiting leads went to reps who became available",
                     self->cfg->queues[i].name, n);
    }
}

void routing_timers_run(routing_t *self, int64_t now_mono)
{
    if (now_mono >= self->next_avail_ms) {
        err_t err = {0};
        if (routing_sync_availability(self, &err) < 0)
            log_warn("working windows not refreshed: %s", err.msg);
        self->next_avail_ms = now_mono + AVAIL_EVERY_MS;
    }
    if (now_mono >= self->next_sla_ms) {
        long long breaches = s_sweep(self, "sla");
        long long moved = s_sweep(self, "overflow");
        self->stats.sla_breaches += (uint64_t)breaches;
        self->stats.overflowed += (uint64_t)moved;
        if (breaches)
            log_info("%lld assignments not accepted in time went to other reps", breaches);
        if (moved)
            log_info("%lld leads waited too long and overflowed to the next queue", moved);
        self->next_sla_ms = now_mono + SLA_EVERY_MS;
    }
    if (now_mono >= self->next_drain_ms) {
        s_drain(self);
        self->next_drain_ms = now_mono + DRAIN_EVERY_MS;
    }
    s_reprioritize_step(self, now_mono);
}

bool routing_timers_busy(const routing_t *self)
{
    return self->reprioritize_queue < self->cfg->queue_count;
}
