/* scoring.h — the leadops-scoring service as a library.
 *
 * Pulls lead and activity events from ingest, scores them (fit rules,
 * decaying activity points with caps, and a trained model, all from the
 * config), keeps each lead's state, score and lifecycle stage in Redis, and
 * hands a lead to routing when it reaches a stage queues take, moves between
 * stages, or changes score while it waits. Each event is applied exactly once, whatever the
 * redeliveries (see apply.lua). A scoring_t borrows the config and the
 * ZeroMQ context and owns everything else. Several instances may run. */
#ifndef LEADOPS_SCORING_H
#define LEADOPS_SCORING_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

#define SCORING_BATCH_MAX 512

typedef struct scoring scoring_t;

typedef struct {
    uint64_t applied, redeliveries_ignored, malformed, resent_to_routing;
    uint64_t to_routing, stage_changes, models_loaded, models_refused;
} scoring_stats_t;

scoring_t *scoring_new(const config_t *cfg, void *zmq_ctx, err_t *err);
void scoring_destroy(scoring_t **self_p);
int scoring_run(scoring_t *self, volatile sig_atomic_t *stop);
const scoring_stats_t *scoring_stats(const scoring_t *self);

#endif
