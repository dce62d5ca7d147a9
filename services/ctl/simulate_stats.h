/* simulate_stats.h — what one simulation run measures, per queue and per
 * rep of its config: assignments (in all, and per month), open leads over
 * time (peak, and the mean weighted by time), SLA breaches, overflows and
 * escalations, and the wait from intake to a lead's first assignment.
 * The engine reports each event as it learns it from routing.lua's replies;
 * sim_stats_json turns the tallies into the figures the report prints
 * (fairness: the max-min spread and the Gini coefficient of the
 * assignments among a queue's reps; wait percentiles).
 *
 * Times are history times (Unix ms); queues and reps are indexes into the
 * config, which the stats borrow and which must outlive them. */
#ifndef LEADOPS_SIMULATE_STATS_H
#define LEADOPS_SIMULATE_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "simulate_history.h"

typedef struct sim_stats sim_stats_t;

/* How the leads of the history ended up; assigned + waiting + not_routed
 * + skipped = rows. */
typedef struct {
    uint64_t rows;            /* data rows of the history */
    uint64_t skipped;         /* rows without an engage_date: never arrived */
    uint64_t assigned;        /* leads a rep got at least once */
    uint64_t waiting;         /* leads that arrived and never got a rep */
    uint64_t not_routed;      /* leads below their queue's stage (nurture) */
    uint64_t closed;          /* leads closed by their rep */
    int64_t start_ms, end_ms; /* the simulated span (history times) */
    double wall_s;            /* how long the run took */
    json_t *engine;           /* borrowed: routing.lua's own counters (its stats hash) */
} sim_totals_t;

/* Returns empty stats for CFG (borrowed), months counted from the month of
 * START_MS; NULL when out of memory. */
sim_stats_t *sim_stats_new(const config_t *cfg, int64_t start_ms);
void sim_stats_destroy(sim_stats_t **self_p); /* NULL-safe, idempotent */

/* At T, rep REP got a lead from queue QUEUE; WAIT_MS is the lead's wait
 * from intake when this is its first assignment, -1 otherwise. */
void sim_stats_assigned(sim_stats_t *self, size_t queue, size_t rep, int64_t t, int64_t wait_ms);
/* At T, rep REP gave up a lead of QUEUE: closed, or taken back (a breach). */
void sim_stats_released(sim_stats_t *self, size_t queue, size_t rep, int64_t t);
/* Rep REP did not accept a lead of QUEUE within the SLA. */
void sim_stats_breach(sim_stats_t *self, size_t queue, size_t rep);
/* A lead of QUEUE escalated (its tries there ran out). */
void sim_stats_escalated(sim_stats_t *self, size_t queue);
/* A lead left QUEUE for its overflow queue. */
void sim_stats_overflowed(sim_stats_t *self, size_t queue);
/* COUNT leads waited in QUEUE when the run ended. */
void sim_stats_waiting_at_end(sim_stats_t *self, size_t queue, uint64_t count);

/* The run as JSON (caller owns): totals, months, and per queue and per rep
 * every figure; HISTORY (borrowed) gives each rep its deals in the
 * history. NULL when out of memory. */
json_t *sim_stats_json(const sim_stats_t *self, const sim_totals_t *totals,
                       const sim_history_t *history);

/* The Gini coefficient of COUNT values (0: all equal, towards 1: one has
 * all); 0 when they sum to 0. */
double sim_gini(const uint64_t *values, size_t count);

#endif
