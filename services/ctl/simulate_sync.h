/* simulate_sync.h — a config written into a simulation's Redis the way
 * leadops-routing writes it (routing_sync.c): the queues' settings, the
 * reps, and each rep's working windows, out-of-office periods and local day
 * and week starts computed in the rep's time zone — here for the simulated
 * clock instead of the wall clock, and refreshed by the engine every
 * simulated day.
 *
 * The simulated clock is the history's plus SHIFT_MS (simulate_engine.h);
 * the instants this module takes and gives are history times, and the
 * out-of-office dates of the config (history dates) are shifted with them.
 * A sim_sync_t borrows the config. */
#ifndef LEADOPS_SIMULATE_SYNC_H
#define LEADOPS_SIMULATE_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "routing_args.h" /* routing_script_routing */
#include "store.h"

/* The key prefix of a simulation's private Redis. */
#define SIM_PREFIX "sim"

typedef struct sim_sync sim_sync_t;

/* A moment at which a rep may take waiting leads again. */
typedef struct {
    int64_t t;    /* history ms */
    uint32_t rep; /* index in the config */
} sim_drain_t;

/* Returns a syncer for CFG (borrowed) calling routing.lua as SCRIPT, or
 * NULL with *err (ERR_NOMEM). */
sim_sync_t *sim_sync_new(const config_t *cfg, int script, int64_t shift_ms, err_t *err);
void sim_sync_destroy(sim_sync_t **self_p); /* NULL-safe, idempotent */

/* Empties STORE (FLUSHALL: it must be the simulation's own server) and
 * writes the queues, settings and reps at history time T. Returns 0, or -1
 * with *err (ERR_IO). */
int sim_sync_config(sim_sync_t *self, store_t *store, int64_t t, err_t *err);

/* Adds to BATCH one `avail` call per rep (in config order) with its
 * windows from the local day holding history time T on. Sets *DRAINS
 * (borrowed until the next call) and *COUNT to the moments in [T, T + 1
 * day) at which a rep's working window begins, or its local day or week
 * begins while it works (its caps reset): when waiting leads may find it,
 * in time order. Returns 0, or -1 with *err (ERR_INPUT: a time-zone
 * computation failed). */
int sim_sync_avail(sim_sync_t *self, store_batch_t *batch, int64_t t, const sim_drain_t **drains,
                   size_t *count, err_t *err);

#endif
