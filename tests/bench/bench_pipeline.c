/* bench_pipeline — leads through the whole stack: ingest, scoring, routing
 * and reporting as child processes on a private redis-server, driven over
 * ZeroMQ as `leadopsctl send` drives ingest, measured from the Assignment
 * events themselves. A program that prints figures, not a timed test.
 *
 * The stack: one round-robin queue ("bench", from stage mql on), K online
 * reps with room for every lead, the sample fit rules; every lead scores 55
 * (software, 800 employees, CTO, referral, a company) and so enters mql and
 * is routed at once. Every service publishes its events to reporting, as in
 * any deployment, and routing to a SUB the bench binds as well, where the
 * bench timestamps each Assignment.
 *
 * Measured, in one run against one Redis:
 *  - redis-benchmark -P 16 -c 4 calling routing.lua's 'route' (with the lead
 *    put in flight by the same call, as bench_routing does): the Redis-only
 *    reference, first, before this process has ZeroMQ's threads;
 *  - full speed: N leads sent as fast as ingest acknowledges them (window
 *    PRODUCER_WINDOW); leads/s from the first send to the last Assignment,
 *    CPU seconds per 1,000 leads of each process from /proc/PID/stat, their
 *    VmRSS after it, and Redis used_memory growth per lead;
 *  - paced: RATE_SECONDS of leads at 1,000/s, 5,000/s (or --rate R) and at
 *    half the full speed; latency p50/p99/p99.9 from the send to the
 *    Assignment's arrival at the bench (what a producer and a listener see:
 *    two hops and this process's own scheduling more), and from intake to
 *    assignment by the Assignment event's own times (assigned_at_ms -
 *    ingested_at_ms: the pipeline's part, in whole ms).
 * With --queued Q, Q leads wait in a second queue, "backlog", before the
 * stack starts: leads of score 55 at stage mql whose only rep is away, as
 * a team with a backlog has them. Routing keeps them (its re-ordering pass
 * reads every one of them each routing.reprioritize_s) while the bench
 * queue's leads are assigned: what a million waiting leads cost the rest.
 *
 * The services, and this process's own sending and listening, run at nice
 * 5 (--nice N) and under the batch scheduling policy, Redis at 0 and the
 * normal policy: as deploy/stack.sh runs them. On a machine whose cores
 * they share, Redis, which every lead passes three times, goes first; at 0
 * the tail at 5,000/s doubles on two cores (README).
 *
 * Children are stopped by pid on every way out and die with the bench.
 *
 * With --instances 2, a second scoring and a second routing instance share
 * the work (the senders bind their PUSH, ">tcp://"; see zutil.h).
 *
 * usage: bench_pipeline [--leads N] [--rate R] [--reps K] [--queued Q]
 *                       [--instances 1|2] [--nice N] [--json FILE] [--bin DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_stack.h"
#include "envelope.h"
#include "leadops.pb-c.h"
#include "pipeline_stack.h"
#include "producer.h"
#include "store.h"

#define SCORE            "55"
#define RATE_SECONDS     5     /* each paced run */
#define START_TIMEOUT_MS 20000 /* redis-server answering, the stack assigning */
#define STALL_TIMEOUT_MS 15000 /* no Assignment for this long: the stack is stuck */
#define MAX_RATES        3
#define REFERENCE_CALLS  100000 /* redis-benchmark's calls: about ten seconds */
#define TOP_COMMANDS     12     /* Redis commands printed, the costliest first */

/* One paced (or the full-speed) run through the stack. */
typedef struct {
    char what[64];
    long count;
    double target_rate; /* 0: full speed */
    double seconds, per_second;
    double p50_ms, p99_ms, p999_ms; /* send -> Assignment received, as the bench saw them */
    double intake_ms[3];            /* intake -> assignment by the events' own times:
                                     * p50, p99, p99.9 (whole ms) */
} run_t;

/* Per process: CPU over the full-speed run and memory after it. */
typedef struct {
    const char *name;
    double cpu_s_per_1000;
    long rss_kb;
} usage_t;

/* What the bench is doing, on stderr when it is a terminal. */
static void s_progress(const char *fmt, ...)
{
    if (!isatty(STDERR_FILENO))
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_pipeline: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* Sends lead KIND-INDEX to ingest: a Lead that scores 55, so mql at once. */
static int s_send_lead(producer_t *producer, const char *kind, long index, err_t *err)
{
    char lead_id[32], event_id[48];
    snprintf(lead_id, sizeof lead_id, "%s-%ld", kind, index);
    snprintf(event_id, sizeof event_id, "ev-%s", lead_id);
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = lead_id;
    lead.company = "Bench Co";
    lead.domain = "bench.example";
    lead.title = "CTO";
    lead.industry = "software";
    lead.company_size = 800;
    lead.country = "US";
    lead.source = "referral";
    int64_t now = clock_now_ms();
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, event_id, "bench_pipeline", now,
                                   0, &lead.base, &len, err);
    if (!bytes)
        return -1;
    int rc = producer_send(producer, event_id, bytes, len, err);
    free(bytes);
    return rc;
}

/* bench_wait_assigned's check: every service still runs. */
static int s_check(void *children, err_t *err)
{
    return pipeline_check(children, err);
}

/* Fills OUT from the leads FIRST..FIRST+COUNT-1, timed from send to
 * Assignment and from intake to assignment (INTAKE_MS). */
static int s_run_result(const int64_t *sent_us, const int64_t *assigned_us,
                        const int32_t *intake_ms, long first, long count, run_t *out, err_t *err)
{
    bench_latency_t latency;
    if (bench_latency(sent_us, assigned_us, first, count, &latency, err) < 0 ||
        bench_percentiles_ms(intake_ms, first, count, out->intake_ms, err) < 0)
        return -1;
    out->count = count;
    out->seconds = latency.seconds;
    out->per_second = latency.per_second;
    out->p50_ms = latency.p50_ms;
    out->p99_ms = latency.p99_ms;
    out->p999_ms = latency.p999_ms;
    return 0;
}

/* Sends COUNT leads from index FIRST, at RATE per second (0: full speed),
 * and waits for all their Assignments. */
static int s_drive(producer_t *producer, bench_listener_t *listener, children_t *children,
                   int64_t *sent_us, long first, long count, double rate, err_t *err)
{
    int64_t interval_ns = rate > 0 ? (int64_t)(1e9 / rate) : 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long i = first; i < first + count; i++) {
        if (interval_ns)
            bench_sleep_until(&next, interval_ns);
        sent_us[i] = clock_mono_us();
        if (s_send_lead(producer, "lead", i, err) < 0)
            return -1;
    }
    if (producer_flush(producer, STALL_TIMEOUT_MS, err) < 0)
        return -1;
    return bench_wait_assigned(listener, first + count, STALL_TIMEOUT_MS, s_check, children, err);
}

/* Sends a warm-up lead every 200 ms until one is assigned: the whole
 * stack is up, has its config in Redis, and every PUB reaches the SUB. */
static int s_warm_up(producer_t *producer, bench_listener_t *listener, children_t *children,
                     err_t *err)
{
    for (long sent = 0; atomic_load(&listener->warmed_up) == 0; sent++) {
        if (sent * 200 > START_TIMEOUT_MS)
            return err_set(err, ERR_IO, "the stack assigned no lead in %d s",
                           START_TIMEOUT_MS / 1000);
        if (pipeline_check(children, err) < 0 || s_send_lead(producer, "warm", sent, err) < 0)
            return -1;
        for (int i = 0; i < 4; i++)
            producer_poll(producer, 50);
    }
    return 0;
}

typedef struct {
    run_t full;
    run_t paced[MAX_RATES];
    int paced_count;
    usage_t usage[PROCESS_MAX + 1];
    int usage_count; /* the services, then Redis */
    double redis_bytes_per_lead;
    bench_command_stat_t commands[BENCH_COMMAND_STATS]; /* Redis, over the full-speed run */
    int command_count;
} stack_result_t;

static int s_bench_stack(children_t *children, const options_t *opts, store_t *store,
                         const char *prefix, stack_result_t *out, err_t *err)
{
    char ingest_ep[64], bench_events_ep[64], reporting_events_ep[64];
    bench_free_endpoint(ingest_ep, sizeof ingest_ep);
    bench_free_endpoint(bench_events_ep, sizeof bench_events_ep);
    bench_free_endpoint(reporting_events_ep, sizeof reporting_events_ep);
    if (opts->queued > 0) {
        s_progress("putting %ld leads in the backlog queue", opts->queued);
        if (pipeline_prequeue(store, prefix, opts->queued, err) < 0)
            return -1;
    }
    s_progress("starting the stack: ingest, scoring, routing, reporting");
    /* Started before this process has ZeroMQ's threads: each fork copies one thread. */
    if (pipeline_start(children, opts, prefix, ingest_ep, bench_events_ep, reporting_events_ep,
                       err) < 0)
        return -1;
    double rates[MAX_RATES] = {1000, 5000, 0}; /* the last: half the full speed */
    int rate_count = 3;
    if (opts->rate > 0) {
        rates[0] = (double)opts->rate;
        rates[1] = 0;
        rate_count = 2;
    }
    /* Leads per paced run are known once the full speed is: allocate for the
     * most the paced runs can take (each at most RATE_SECONDS at 5x N/s). */
    long most = opts->leads * (1 + rate_count * RATE_SECONDS) + 1000000;
    int64_t *sent_us = calloc((size_t)most, sizeof *sent_us);
    int64_t *assigned_us = calloc((size_t)most, sizeof *assigned_us);
    int32_t *intake_ms = calloc((size_t)most, sizeof *intake_ms);
    bench_listener_t listener;
    bench_listener_init(&listener, most, assigned_us);
    listener.intake_ms = intake_ms;
    void *ctx = zmq_ctx_new();
    listener.sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(listener.sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(listener.sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(listener.sub, ZMQ_SUBSCRIBE, "", 0);
    producer_t *producer = NULL;
    pthread_t listener_thread;
    bool listening = false;
    int rc = -1;
    if (!sent_us || !assigned_us || !intake_ms) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    if (zmq_bind(listener.sub, bench_events_ep) < 0) {
        err_set(err, ERR_IO, "events SUB on %s: %s", bench_events_ep, zmq_strerror(errno));
        goto done;
    }
    if (!(producer = producer_new(ctx, ingest_ep, NULL, NULL, NULL, err)))
        goto done;
    if (pthread_create(&listener_thread, NULL, bench_listen, &listener) != 0) {
        err_set(err, ERR_IO, "pthread_create failed");
        goto done;
    }
    listening = true;
    if (s_warm_up(producer, &listener, children, err) < 0)
        goto done;
    bench_sleep_us(500000); /* the warm-up's other leads settle */

    /* Full speed, with CPU and memory around it. */
    s_progress("full speed: %ld leads", opts->leads);
    int processes = children->count;
    pid_t pids[PROCESS_MAX + 1];
    double cpu_before[PROCESS_MAX + 1];
    for (int s = 0; s < processes; s++)
        pids[s] = children->services[s];
    pids[processes] = children->redis.pid;
    out->usage_count = processes + 1;
    for (int s = 0; s <= processes; s++)
        cpu_before[s] = bench_cpu_seconds(pids[s]);
    long long memory_before = bench_redis_used_memory(store, err);
    if (memory_before < 0 || bench_redis_reset_stats(store, err) < 0 ||
        s_drive(producer, &listener, children, sent_us, 0, opts->leads, 0, err) < 0 ||
        s_run_result(sent_us, assigned_us, intake_ms, 0, opts->leads, &out->full, err) < 0)
        goto done;
    for (int s = 0; s <= processes; s++) {
        out->usage[s].name = s < processes ? pipeline_labels[s] : "redis-server";
        out->usage[s].cpu_s_per_1000 =
            (bench_cpu_seconds(pids[s]) - cpu_before[s]) * 1000.0 / (double)opts->leads;
        out->usage[s].rss_kb = bench_rss_kb(pids[s]);
    }
    long long memory_after = bench_redis_used_memory(store, err);
    if (memory_after < 0 ||
        (out->command_count = bench_redis_command_stats(store, out->commands, err)) < 0)
        goto done;
    out->redis_bytes_per_lead = (double)(memory_after - memory_before) / (double)opts->leads;
    snprintf(out->full.what, sizeof out->full.what, "full speed");

    /* Paced runs. */
    long next_index = opts->leads;
    for (int r = 0; r < rate_count; r++) {
        run_t *run = &out->paced[r];
        run->target_rate = rates[r] > 0 ? rates[r] : out->full.per_second / 2;
        long count = (long)(run->target_rate * RATE_SECONDS);
        if (count < 1)
            count = 1;
        if (next_index + count > most) {
            err_set(err, ERR_INPUT, "too many leads for the paced runs");
            goto done;
        }
        if (rates[r] > 0)
            snprintf(run->what, sizeof run->what, "paced %.0f/s", run->target_rate);
        else
            snprintf(run->what, sizeof run->what, "paced %.0f/s (half full)", run->target_rate);
        s_progress("%s: %ld leads", run->what, count);
        if (s_drive(producer, &listener, children, sent_us, next_index, count, run->target_rate,
                    err) < 0 ||
            s_run_result(sent_us, assigned_us, intake_ms, next_index, count, run, err) < 0)
            goto done;
        next_index += count;
        out->paced_count = r + 1;
    }
    rc = 0;
done:
    for (int s = 0; s < PROCESS_MAX; s++)
        bench_stop_child(&children->services[s], STOP_TIMEOUT_MS);
    producer_destroy(&producer);
    if (listening) {
        atomic_store(&listener.stop, true);
        pthread_join(listener_thread, NULL);
    } else {
        zmq_close(listener.sub);
    }
    zmq_ctx_term(ctx);
    free(sent_us);
    free(assigned_us);
    free(intake_ms);
    return rc;
}

static void s_print_run(const run_t *run)
{
    printf("  %-26s %6ld %7.2f %8.0f   %8.2f %8.2f %8.2f   %6.0f %6.0f %6.0f\n", run->what,
           run->count, run->seconds, run->per_second, run->p50_ms, run->p99_ms, run->p999_ms,
           run->intake_ms[0], run->intake_ms[1], run->intake_ms[2]);
}

static void s_json_run(FILE *f, const run_t *run, const char *tail)
{
    fprintf(f,
            "    {\"what\": \"%s\", \"target_rate\": %.0f, \"leads\": %ld, \"seconds\": %.3f, "
            "\"per_second\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, "
            "\"intake_p50_ms\": %.0f, \"intake_p99_ms\": %.0f, \"intake_p999_ms\": %.0f}%s\n",
            run->what, run->target_rate, run->count, run->seconds, run->per_second, run->p50_ms,
            run->p99_ms, run->p999_ms, run->intake_ms[0], run->intake_ms[1], run->intake_ms[2],
            tail);
}

static int s_write_json(const char *path, const options_t *opts, const stack_result_t *stack,
                        const bench_result_t *reference, err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"leads\": %ld, \"reps\": %d, \"queued\": %ld, \"instances\": %d,\n",
            opts->leads, opts->reps, opts->queued, opts->instances);
    fprintf(f, "  \"strategy\": \"%s\", \"nice\": %d,\n", opts->strategy, opts->nice);
    fprintf(f, "  \"runs\": [\n");
    s_json_run(f, &stack->full, stack->paced_count ? "," : "");
    for (int r = 0; r < stack->paced_count; r++)
        s_json_run(f, &stack->paced[r], r + 1 < stack->paced_count ? "," : "");
    fprintf(f, "  ],\n  \"processes\": [\n");
    for (int s = 0; s < stack->usage_count; s++)
        fprintf(f, "    {\"name\": \"%s\", \"cpu_s_per_1000_leads\": %.4f, \"rss_kb\": %ld}%s\n",
                stack->usage[s].name, stack->usage[s].cpu_s_per_1000, stack->usage[s].rss_kb,
                s + 1 < stack->usage_count ? "," : "");
    fprintf(f, "  ],\n  \"redis_commands\": [\n");
    for (int c = 0; c < stack->command_count; c++)
        fprintf(f, "    {\"name\": \"%s\", \"calls\": %lld, \"usec\": %lld}%s\n",
                stack->commands[c].name, stack->commands[c].calls, stack->commands[c].usec,
                c + 1 < stack->command_count ? "," : "");
    fprintf(f,
            "  ],\n  \"redis_bytes_per_lead\": %.1f,\n"
            "  \"redis_benchmark_route_per_second\": %.1f,\n"
            "  \"end_to_end_over_redis_benchmark\": %.4f\n}\n",
            stack->redis_bytes_per_lead, reference->per_second,
            stack->full.per_second / reference->per_second);
    if (fclose(f) != 0)
        return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    return 0;
}

static int s_usage(FILE *out, int rc)
{
    fprintf(out,
            "usage: bench_pipeline [--leads N] [--rate R] [--reps K] [--queued Q]\n"
            "                      [--strategy S] [--instances 1|2] [--nice N] [--json FILE]\n"
            "                      [--bin DIR]\n"
            "Leads through ingest, scoring, routing and reporting (child processes on a private\n"
            "redis-server), measured from the Assignment events, next to redis-benchmark\n"
            "calling routing.lua's 'route' pipelined in the same run.\n"
            "  --leads N    leads of the full-speed run (default 20000)\n"
            "  --rate R     one paced run at R/s instead of 1,000/s and 5,000/s; a paced run\n"
            "               at half the full speed follows either way (%d s each)\n"
            "  --reps K     reps of the one queue (default 10)\n"
            "  --strategy S the queue's: round_robin (default), weighted or least_loaded\n"
            "  --queued Q   Q leads waiting in a second queue (its one rep away) all along\n"
            "  --instances 2  two scoring and two routing instances sharing the work\n"
            "  --nice N     the services' and the load's CPU priority, under the batch policy,\n"
            "               Redis at 0 (default 5, as deploy/stack.sh runs the services; 0: all\n"
            "               alike)\n"
            "  --json FILE  write the figures as JSON too\n"
            "  --bin DIR    where the leadops-* programs are (default: next to this one)\n",
            RATE_SECONDS);
    return rc;
}

int main(int argc, char **argv)
{
    options_t opts = {
        .leads = 20000, .reps = 10, .instances = 1, .strategy = "round_robin", .nice = 5};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--leads") == 0 && i + 1 < argc)
            opts.leads = atol(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            opts.rate = atol(argv[++i]);
        else if (strcmp(argv[i], "--instances") == 0 && i + 1 < argc)
            opts.instances = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            opts.reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--strategy") == 0 && i + 1 < argc)
            opts.strategy = argv[++i];
        else if (strcmp(argv[i], "--nice") == 0 && i + 1 < argc)
            opts.nice = atoi(argv[++i]);
        else if (strcmp(argv[i], "--queued") == 0 && i + 1 < argc)
            opts.queued = atol(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            snprintf(opts.json_path, sizeof opts.json_path, "%s", argv[++i]);
        else if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc)
            snprintf(opts.bin_dir, sizeof opts.bin_dir, "%s", argv[++i]);
        else {
            bool help = strcmp(argv[i], "--help") == 0;
            return s_usage(help ? stdout : stderr, help ? 0 : 2);
        }
    }
    if (strcmp(opts.strategy, "round_robin") != 0 && strcmp(opts.strategy, "weighted") != 0 &&
        strcmp(opts.strategy, "least_loaded") != 0) {
        fprintf(stderr, "bench_pipeline: --strategy round_robin, weighted or least_loaded\n");
        return 2;
    }
    if (opts.instances < 1 || opts.instances > 2) {
        fprintf(stderr, "bench_pipeline: --instances 1 or 2\n");
        return 2;
    }
    if (opts.reps < 1 || opts.reps > 10000 || opts.leads < 1 || opts.leads > 10000000 ||
        opts.rate < 0 || opts.queued < 0 || opts.nice < 0 || opts.nice > 19) {
        fprintf(stderr, "bench_pipeline: --reps 1..10000, --leads 1..10^7, --rate and "
                        "--queued >= 0, --nice 0..19\n");
        return 2;
    }
    if (!opts.bin_dir[0])
        bench_program_dir(opts.bin_dir, sizeof opts.bin_dir);
    children_t children = {0};
    store_t *store = NULL;
    err_t err = {0};
    int rc = 1;
    char prefix_stack[64], prefix_benchmark[64];
    snprintf(prefix_stack, sizeof prefix_stack, "bench_pipeline.%d.stack", (int)getpid());
    snprintf(prefix_benchmark, sizeof prefix_benchmark, "bench_pipeline.%d.redis_benchmark",
             (int)getpid());
    bench_result_t reference = {0};
    stack_result_t stack = {0};
    if (redis_child_start(&children.redis, &err) < 0)
        goto done;
    opts.redis_port = children.redis.port;
    snprintf(opts.redis_host, sizeof opts.redis_host, "127.0.0.1");
    int script, in_flight_script;
    if (bench_open_store(opts.redis_host, opts.redis_port, &store, &script, &in_flight_script,
                         &err) < 0)
        goto done;
    /* redis-benchmark first: nothing forks once ZeroMQ's threads run. */
    s_progress("redis-benchmark: %d calls of routing.lua's route", REFERENCE_CALLS);
    bench_redis_benchmark_t reference_run = {.program = "bench_pipeline",
                                             .host = opts.redis_host,
                                             .port = opts.redis_port,
                                             .prefix = prefix_benchmark,
                                             .function =
                                                 store_script_function(store, in_flight_script),
                                             .score = SCORE,
                                             .calls = REFERENCE_CALLS,
                                             .reps = opts.reps,
                                             .strategy = opts.strategy};
    if (bench_redis_benchmark(&reference_run, store, script, &children.benchmark, &reference,
                              &err) < 0)
        goto done;
    /* From here on this thread, the threads it starts (ZeroMQ's, the
     * listener) and the services it forks run at opts.nice and under the
     * batch policy (a thread waking up does not preempt Redis); Redis,
     * started before, keeps its priority and policy. */
    if (opts.nice && setpriority(PRIO_PROCESS, 0, opts.nice) < 0) {
        err_set(&err, ERR_IO, "setpriority(%d): %s", opts.nice, strerror(errno));
        goto done;
    }
    if (opts.nice) {
        struct sched_param param = {0};
        if (sched_setscheduler(0, SCHED_BATCH, &param) < 0) {
            err_set(&err, ERR_IO, "sched_setscheduler(SCHED_BATCH): %s", strerror(errno));
            goto done;
        }
    }
    if (s_bench_stack(&children, &opts, store, prefix_stack, &stack, &err) < 0)
        goto done;

    printf("pipeline: %ld leads at full speed, %d reps of one %s queue, %ld leads "
           "waiting in another, %d scoring and %d routing instance(s) at nice %d%s, private Redis "
           "%s:%d (nice 0, no persistence)\n",
           opts.leads, opts.reps, opts.strategy, opts.queued, opts.instances, opts.instances,
           opts.nice, opts.nice ? " (batch policy)" : "", opts.redis_host, opts.redis_port);
    printf("  %-26s %6s %7s %8s   %-26s   %-20s\n", "", "", "", "", "send -> Assignment, ms",
           "intake -> assigned");
    printf("  %-26s %6s %7s %8s   %8s %8s %8s   %6s %6s %6s\n", "run", "leads", "seconds",
           "leads/s", "p50", "p99", "p99.9", "p50", "p99", "p99.9");
    s_print_run(&stack.full);
    for (int r = 0; r < stack.paced_count; r++)
        s_print_run(&stack.paced[r]);
    printf("  %-30s %14s %10s\n", "process", "CPU s/1k leads", "RSS MiB");
    for (int s = 0; s < stack.usage_count; s++)
        printf("  %-30s %14.3f %10.1f\n", stack.usage[s].name, stack.usage[s].cpu_s_per_1000,
               stack.usage[s].rss_kb / 1024.0);
    printf("  Redis used_memory per lead: %.0f bytes\n", stack.redis_bytes_per_lead);
    printf("  %-30s %14s %10s\n", "Redis command (full speed)", "µs per lead", "per lead");
    for (int c = 0; c < stack.command_count && c < TOP_COMMANDS; c++)
        printf("  %-30s %14.1f %10.2f\n", stack.commands[c].name,
               (double)stack.commands[c].usec / (double)opts.leads,
               (double)stack.commands[c].calls / (double)opts.leads);
    printf("  redis-benchmark FCALL route -P 16 -c 4: %.0f calls/s (%ld calls, %ld assigned)\n",
           reference.per_second, reference.count, reference.assigned);
    printf("  end-to-end / redis-benchmark: %.3f\n", stack.full.per_second / reference.per_second);
    if (opts.json_path[0] && s_write_json(opts.json_path, &opts, &stack, &reference, &err) < 0)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "bench_pipeline: %s\n", err.msg);
    pipeline_stop(&children);
    store_destroy(&store);
    return rc;
}
