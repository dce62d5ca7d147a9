/* pipeline_stack — the stack bench_pipeline measures: the config it
 * writes, the services it starts as child processes (one or two instances
 * of scoring and routing), the check that they still run, and the leads
 * --queued puts in a backlog queue before they start. */
#ifndef LEADOPS_PIPELINE_STACK_H
#define LEADOPS_PIPELINE_STACK_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "redis_child.h"
#include "store.h"

#define SERVICE_COUNT   4         /* one instance of each */
#define PROCESS_MAX     6         /* with --instances 2: a second scoring and routing */
#define BACKLOG_QUEUE   "backlog" /* where --queued leads wait */
#define PREQUEUE_CHUNK  5000      /* --queued leads written by one script call */
#define STOP_TIMEOUT_MS 3000      /* SIGTERM, then SIGKILL */

/* The program of each service process, and how the bench names it. */
extern const char *const pipeline_services[PROCESS_MAX];
extern const char *const pipeline_labels[PROCESS_MAX];

typedef struct {
    long leads;
    long rate; /* 0: the fixed rates 1,000 and 5,000 */
    int reps;
    const char *strategy; /* of the one queue: round_robin, weighted or least_loaded */
    int instances;        /* of scoring and of routing: 1 or 2 */
    long queued;
    int nice; /* of the services and of this process's load, Redis at its own (0 here) */
    char json_path[PATH_MAX]; /* "" : no JSON */
    char redis_host[256];
    int redis_port;
    char bin_dir[PATH_MAX];
} options_t;

typedef struct {
    redis_child_t redis;
    pid_t services[PROCESS_MAX];
    int count; /* services started: SERVICE_COUNT, or PROCESS_MAX with --instances 2 */
    pid_t benchmark;
    char config_path[PATH_MAX]; /* "" once removed */
} children_t;

/* Stops every child (SIGTERM, then SIGKILL) and removes the config file. */
void pipeline_stop(children_t *children);

/* Writes the config and starts the services on PREFIX: ingest on INGEST_EP;
 * routing publishes to BENCH_EVENTS_EP (the bench's SUB), ingest and
 * scoring to REPORTING_EVENTS_EP, which reporting binds. 0, or -1 with *err
 * set. */
int pipeline_start(children_t *children, const options_t *opts, const char *prefix,
                   const char *ingest_ep, const char *bench_events_ep,
                   const char *reporting_events_ep, err_t *err);

/* 0 while every service runs, else -1 naming the one that exited. */
int pipeline_check(children_t *children, err_t *err);

/* --queued: QUEUED leads waiting in the backlog queue. 0, or -1. */
int pipeline_prequeue(store_t *store, const char *prefix, long queued, err_t *err);

#endif
