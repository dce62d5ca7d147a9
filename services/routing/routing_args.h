/* routing_args.h — calling routing.lua, and the arguments of its config
 * operations (queue_sync, sync, avail) built from the config in one place:
 * for the routing service, for `leadopsctl simulate`, which runs the same
 * script on a simulated clock, and for the benchmarks. Each struct holds
 * the texts its argv points into; argv is valid while the struct lives. */
#ifndef LEADOPS_ROUTING_ARGS_H
#define LEADOPS_ROUTING_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "config.h"
#include "err.h"
#include "store.h"

/* routing.lua with its parts (lua/), as embedded at build time. */
extern const char routing_script_routing[];

/* Runs routing.lua's operation OP (the script registered as SCRIPT on
 * STORE) on key prefix PREFIX at NOW_MS, with ARGS (at most 17). Returns the
 * reply, or NULL with *err set; an error reply is "routing.lua OP: ...". */
store_value_t *routing_script_call(store_t *store, int script, const char *op, const char *prefix,
                                   int64_t now_ms, int argc, const char **args, err_t *err);

/* Days of working windows an avail call writes. */
#define ROUTING_AVAIL_DAYS 8

typedef struct {
    char sla[16], attempts[16], overflow[16];
    const char *argv[12]; /* queue strategy sla_s sla_bh max_attempts escalate_to
                             overflow_after_s overflow_to owner_first owner_fallback
                             catch_up webhook */
} routing_queue_args_t;

/* QUEUE's queue_sync arguments; WITH_WEBHOOK false leaves the webhook out
 * (a what-if notifies nobody). */
void routing_queue_args(const queue_config_t *queue, bool with_webhook, routing_queue_args_t *out);

typedef struct {
    char capacity[16], daily[16], weekly[16], weight[32], queues[1024], skills[1024];
    const char *argv[10]; /* rep_id name capacity status queues daily_cap weekly_cap
                             weight team skills */
} routing_rep_args_t;

/* REP's sync arguments. Returns 0, or -1 with *err when its queue or skill
 * names do not fit. */
int routing_rep_args(const rep_config_t *rep, routing_rep_args_t *out, err_t *err);

typedef struct {
    char *windows; /* owned: "s-e,..." or "*" */
    size_t windows_size;
    char ooo[4096];
    char days[512];
    char weeks[128];
    const char *argv[5]; /* rep_id windows ooo days weeks */
} routing_avail_args_t;

/* REP's avail arguments at NOW_MS (UTC ms): its working windows for
 * ROUTING_AVAIL_DAYS days from the start of its local day, minus OOO (its
 * out-of-office periods, OOO_COUNT of them; the config's, or shifted by a
 * simulation), the periods not over yet, and the UTC starts of its local
 * days and weeks. Returns 0, or -1 with *err. Release with
 * routing_avail_args_clear. */
int routing_avail_args(const rep_config_t *rep, const cal_period_t *ooo, size_t ooo_count,
                       int64_t now_ms, routing_avail_args_t *out, err_t *err);
void routing_avail_args_clear(routing_avail_args_t *args);

#endif
