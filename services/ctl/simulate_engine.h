/* simulate_engine.h — one what-if run: a history replayed through the real
 * routing engine (routing.lua, the script leadops-routing runs) on a
 * simulated clock, on a private Redis.
 *
 * The run writes the config into Redis as leadops-routing does (queues,
 * reps, each rep's working windows computed in its time zone for the
 * simulated day, refreshed every simulated day) and then plays events in
 * time order: a lead arrives and is routed at the route stage to the queue
 * the config's rules pick; its rep accepts it after a seeded delay (mostly
 * minutes, sometimes past the SLA); it closes on its history close date,
 * which frees capacity; the engine's timers run when something is due: the
 * SLA and overflow sweeps at the deadlines Redis holds, the drain of
 * waiting leads whenever a rep's working window or local day begins. Each
 * call carries the simulated time as routing.lua's "now". Calls are
 * pipelined (store_batch): every event closer than the shortest delay an
 * event can cause (a minute, or a shorter SLA) goes in one round trip.
 *
 * The simulated clock runs whole 28-year cycles after the history (same
 * dates, weekdays and time-zone rules, for years 1901-2099) so that it lies
 * after today: Redis expires the cap counters at instants after their day,
 * which must not be in the past of Redis' own clock. Figures are given in
 * history time. */
#ifndef LEADOPS_SIMULATE_ENGINE_H
#define LEADOPS_SIMULATE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "simulate_history.h"
#include "store.h"

typedef struct {
    uint64_t seed;     /* fixes the reps' accept delays */
    const char *label; /* "A" or "B", for progress */
    /* Called after each round trip (may be NULL): leads arrived so far of TOTAL,
     * and the history time reached. */
    void (*progress)(void *arg, const char *label, size_t arrived, size_t total,
                     int64_t history_ms);
    void *progress_arg;
    bool (*interrupted)(void); /* polled between round trips; may be NULL */
} sim_engine_options_t;

/* Replays HISTORY under CFG on STORE, which must be a private server: the
 * run empties it first (FLUSHALL). Returns the run's figures (see
 * simulate_stats.h; caller owns), or NULL with *err: ERR_CONFIG (a rule or
 * the fallback names no configured queue), ERR_IO (Redis, or a routing.lua
 * error), ERR_BUSY (interrupted), ERR_NOMEM. All borrowed. */
json_t *sim_engine_run(const config_t *cfg, const sim_history_t *history, store_t *store,
                       const sim_engine_options_t *opts, err_t *err);

#endif
