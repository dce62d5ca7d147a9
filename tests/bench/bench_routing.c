/* bench_routing — assignments per second through leadops-routing, next to
 * routing.lua alone and redis-benchmark calling the same script, in one run
 * against one Redis. A program that prints figures, not a timed test.
 *
 * Each measurement has its own key prefix and the same setup: one
 * round-robin queue ("bench", from stage mql on) and K online reps with room
 * for every lead, working at any time. Leads have no history, so each
 * 'route' is a first assignment with its audit record.
 *  1. The service: leadops-routing runs as a child process (found next to
 *     this program, or in --bin DIR) with a config file written here and
 *     LEADOPS_* variables for Redis, the prefix and free endpoints. As
 *     scoring does, the bench ZADDs each lead into <p>:inflight:routing
 *     (pipelined, before the clock starts), then pushes ScoredLead envelopes
 *     (stage mql) to the service's PULL socket and timestamps each
 *     Assignment event on a SUB bound where the service's PUB connects.
 *     First a burst of N leads: leads per second from the first push to the
 *     last Assignment, and latencies that include the queue a burst builds.
 *     Then N/4 leads paced at half the burst's rate: the latency of a lead
 *     when the service keeps up.
 *  2. routing.lua alone from C: 'route' in pipelined batches of 512, as the
 *     service sends them, without ZeroMQ, protobuf or rule matching.
 *  3. redis-benchmark -P 16 -c 4, N calls: FCALL of routing.lua with a
 *     line where its per-call part starts that ZADDs the lead into the
 *     in-flight set, because 'route' takes only a lead in flight and
 *     redis-benchmark cannot put one there per call. Lead ids are
 *     lead-__rand_int__ out of 10^9, so a
 *     repeated id (then 'route' is a cheap no-op) is rare; the assignments
 *     the calls made are counted from <p>:stats and printed.
 *
 * Children (a private redis-server, leadops-routing, redis-benchmark) are
 * stopped by pid on every way out, and die with the bench if it is killed.
 *
 * usage: bench_routing [--leads N] [--reps K] [--redis HOST:PORT] [--bin DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_stack.h"
#include "envelope.h"
#include "leadops.pb-c.h"
#include "store.h"

#define SCORE            "50"
#define SCRIPT_BATCH     512   /* ROUTING_BATCH_MAX: what the service pipelines */
#define ZADD_CHUNK       512   /* leads per ZADD into the in-flight set */
#define START_TIMEOUT_MS 15000 /* redis-server answering, the service routing */
#define STALL_TIMEOUT_MS 10000 /* no Assignment for this long: the service is stuck */
#define STOP_TIMEOUT_MS  2000  /* SIGTERM, then SIGKILL */

typedef struct {
    long leads;
    int reps;
    char redis_host[256];
    int redis_port;         /* 0: start a private redis-server */
    char bin_dir[PATH_MAX]; /* where leadops-routing is */
} options_t;

/* What the bench started and must stop on every way out. */
typedef struct {
    redis_child_t redis;        /* the private redis-server, if any */
    pid_t routing;              /* leadops-routing, or 0 */
    pid_t benchmark;            /* redis-benchmark, or 0 */
    char config_path[PATH_MAX]; /* the service's config file, "" once removed */
} children_t;

static void s_stop_children(children_t *children)
{
    bench_stop_child(&children->benchmark, STOP_TIMEOUT_MS);
    bench_stop_child(&children->routing, STOP_TIMEOUT_MS);
    redis_child_stop(&children->redis);
    if (children->config_path[0]) {
        unlink(children->config_path);
        children->config_path[0] = '\0';
    }
}

static void s_lead_id(char *out, size_t size, const char *kind, long index)
{
    snprintf(out, size, "%s-%ld", kind, index);
}

/* Puts leads KIND-FIRST .. KIND-(FIRST+COUNT-1) in PREFIX's in-flight set
 * for routing, as scoring does before sending them: ZADDs of ZADD_CHUNK. */
static int s_put_in_flight(store_t *store, const char *prefix, const char *kind, long first,
                           long count, err_t *err)
{
    char key[256], deadline[24];
    snprintf(key, sizeof key, "%s:inflight:routing", prefix);
    /* Far ahead: nothing here re-sends, the deadline only has to be a score. */
    snprintf(deadline, sizeof deadline, "%lld", (long long)clock_now_ms() + 3600000);
    static char ids[ZADD_CHUNK][32];
    const char *argv[2 + 2 * ZADD_CHUNK] = {"ZADD", key};
    for (long done = 0; done < count;) {
        int n = 0;
        for (; n < ZADD_CHUNK && done < count; n++, done++) {
            s_lead_id(ids[n], sizeof ids[n], kind, first + done);
            argv[2 + 2 * n] = deadline;
            argv[3 + 2 * n] = ids[n];
        }
        store_value_t *reply = store_commandv(store, 2 + 2 * n, argv, NULL, err);
        if (!reply)
            return -1;
        int rc = reply->type == STORE_ERROR ? err_set(err, ERR_IO, "ZADD: %s", reply->str) : 0;
        store_value_free(&reply);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* 2. routing.lua alone: 'route' for every lead, in pipelined batches. */
static int s_bench_script(store_t *store, int script, const char *prefix, const options_t *opts,
                          bench_result_t *out, err_t *err)
{
    if (bench_setup_prefix(store, script, prefix, opts->reps, "round_robin", err) < 0 ||
        s_put_in_flight(store, prefix, "lead", 0, opts->leads, err) < 0)
        return -1;
    store_batch_t *batch = store_batch_new();
    static char ids[SCRIPT_BATCH][32];
    long assigned = 0;
    int rc = 0;
    int64_t start = clock_mono_us();
    for (long first = 0; rc == 0 && first < opts->leads; first += SCRIPT_BATCH) {
        store_batch_reset(batch);
        char now[24];
        snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
        long n = opts->leads - first < SCRIPT_BATCH ? opts->leads - first : SCRIPT_BATCH;
        for (long i = 0; i < n; i++) {
            s_lead_id(ids[i], sizeof ids[i], "lead", first + i);
            const char *argv[] = {"route", prefix, now,   ids[i], BENCH_QUEUE, BENCH_RULE,
                                  SCORE,   "1",    "mql", "",     ""};
            store_batch_script(batch, script, 0, 11, argv, NULL);
        }
        rc = store_batch_exec(store, batch, err);
        for (long i = 0; rc == 0 && i < n; i++) {
            const store_value_t *reply = store_batch_reply(batch, (size_t)i);
            if (reply && reply->type == STORE_ERROR)
                rc = err_set(err, ERR_IO, "routing.lua route: %s", reply->str);
            else if (store_value_int(store_value_at(reply, 0), -1) == 1)
                assigned++;
        }
    }
    int64_t elapsed_us = clock_mono_us() - start;
    store_batch_destroy(&batch);
    if (rc < 0)
        return -1;
    *out = (bench_result_t){.count = opts->leads,
                            .assigned = assigned,
                            .seconds = elapsed_us / 1e6,
                            .per_second = opts->leads / (elapsed_us / 1e6),
                            .p50_ms = -1,
                            .p99_ms = -1};
    return 0;
}

/* 3. redis-benchmark calling SCRIPT's variant with the in-flight line, by its SHA. */
static int s_bench_redis_benchmark(children_t *children, store_t *store, int script,
                                   const char *function, const char *prefix, const options_t *opts,
                                   bench_result_t *out, err_t *err)
{
    bench_redis_benchmark_t run = {.program = "bench_routing",
                                   .host = opts->redis_host,
                                   .port = opts->redis_port,
                                   .prefix = prefix,
                                   .function = function,
                                   .score = SCORE,
                                   .calls = opts->leads,
                                   .reps = opts->reps};
    return bench_redis_benchmark(&run, store, script, &children->benchmark, out, err);
}

/* Pushes lead KIND-INDEX as a ScoredLead of stage mql to PUSH. */
static int s_push_lead(void *push, const char *kind, long index, err_t *err)
{
    char lead_id[32];
    s_lead_id(lead_id, sizeof lead_id, kind, index);
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = lead_id;
    Leadops__ScoredLead scored = LEADOPS__SCORED_LEAD__INIT;
    int64_t now = clock_now_ms();
    scored.lead = &lead;
    scored.score = atof(SCORE);
    scored.stage = "mql";
    scored.qualified = true;
    scored.scored_at_ms = now;
    scored.ingested_at_ms = now;
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_SCORED_LEAD, NULL, "bench_routing",
                                   now, now, &scored.base, &len, err);
    if (!bytes)
        return -1;
    int rc = zmq_send(push, bytes, len, 0);
    free(bytes);
    return rc < 0 ? err_set(err, ERR_IO, "push: %s", zmq_strerror(errno)) : 0;
}

/* Writes the service's config: the queue and REPS reps, as bench_setup_prefix does. */
static int s_write_config(children_t *children, int reps, err_t *err)
{
    FILE *f = bench_config_create("bench_routing", children->config_path,
                                  sizeof children->config_path, err);
    if (!f)
        return -1;
    fprintf(f,
            "# bench_routing: one round-robin queue, %d reps (removed after the run)\n"
            "log:\n  level: warn\n"
            "routing:\n  fallback_queue: " BENCH_QUEUE "\n"
            "  queues:\n    - { name: " BENCH_QUEUE ", strategy: round_robin, stage: mql }\n"
            "  reps:\n",
            reps);
    bench_config_write_reps(f, reps);
    return bench_config_close(f, children->config_path, err);
}

/* Starts leadops-routing on PREFIX with the endpoints given. Its environment
 * is the bench's without LEADOPS_* (they would change what is measured),
 * plus the variables that point it at this run. */
static int s_service_start(children_t *children, const options_t *opts, const char *prefix,
                           const char *pull_ep, const char *commands_ep, const char *events_ep,
                           err_t *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/leadops-routing", opts->bin_dir);
    if (access(path, X_OK) != 0)
        return err_set(err, ERR_NOTFOUND,
                       "%s: %s (build the target leadops-routing, or pass --bin DIR)", path,
                       strerror(errno));
    if (s_write_config(children, opts->reps, err) < 0)
        return -1;
    char vars[7][PATH_MAX], *var_list[7];
    snprintf(vars[0], sizeof vars[0], "LEADOPS_REDIS_HOST=%s", opts->redis_host);
    snprintf(vars[1], sizeof vars[1], "LEADOPS_REDIS_PORT=%d", opts->redis_port);
    snprintf(vars[2], sizeof vars[2], "LEADOPS_REDIS_PREFIX=%s", prefix);
    snprintf(vars[3], sizeof vars[3], "LEADOPS_ENDPOINTS_ROUTING=%s", pull_ep);
    snprintf(vars[4], sizeof vars[4], "LEADOPS_ENDPOINTS_COMMANDS=%s", commands_ep);
    snprintf(vars[5], sizeof vars[5], "LEADOPS_ENDPOINTS_EVENTS=%s", events_ep);
    snprintf(vars[6], sizeof vars[6], "LEADOPS_LOG_LEVEL=warn");
    for (int i = 0; i < 7; i++)
        var_list[i] = vars[i];
    char **envp = bench_service_env(var_list, 7, err);
    if (!envp)
        return -1;
    const char *argv[] = {path, "--config", children->config_path, NULL};
    children->routing = bench_spawn("bench_routing", path, argv, envp, -1, err);
    free(envp);
    return children->routing < 0 ? -1 : 0;
}

/* bench_wait_assigned's check: leadops-routing still runs. */
static int s_check(void *arg, err_t *err)
{
    children_t *children = arg;
    if (!bench_child_is_running(&children->routing))
        return err_set(err, ERR_IO, "leadops-routing exited (see its messages above)");
    return 0;
}

/* Waits until the Assignments of leads 0..TARGET-1 have all arrived; a
 * stall says what Redis counted. */
static int s_wait_assigned(bench_listener_t *listener, long target, children_t *children,
                           store_t *store, const char *prefix, err_t *err)
{
    if (bench_wait_assigned(listener, target, STALL_TIMEOUT_MS, s_check, children, err) == 0)
        return 0;
    if (bench_child_is_running(&children->routing))
        err_wrap(err, "%s:stats assigned: %ld", prefix, bench_stats_assigned(store, prefix, NULL));
    return -1;
}

/* Fills OUT from the leads FIRST..FIRST+COUNT-1: the rate from the first
 * push to the last Assignment, latency percentiles from push to Assignment. */
static int s_service_result(const int64_t *pushed_us, const int64_t *assigned_us, long first,
                            long count, bench_result_t *out, err_t *err)
{
    bench_latency_t latency;
    if (bench_latency(pushed_us, assigned_us, first, count, &latency, err) < 0)
        return -1;
    out->count = out->assigned = count;
    out->seconds = latency.seconds;
    out->per_second = latency.per_second;
    out->p50_ms = latency.p50_ms;
    out->p99_ms = latency.p99_ms;
    return 0;
}

/* Pushes a warm-up lead every 100 ms until one is assigned: then the
 * service has written its config to Redis and its PUB is connected to our
 * SUB (a PUB drops what it sends before that). */
static int s_warm_up(bench_listener_t *listener, void *push, children_t *children, store_t *store,
                     const char *prefix, err_t *err)
{
    for (long sent = 0; atomic_load(&listener->warmed_up) == 0; sent++) {
        if (sent * 100 > START_TIMEOUT_MS)
            return err_set(err, ERR_IO, "leadops-routing assigned no lead in %d s",
                           START_TIMEOUT_MS / 1000);
        if (!bench_child_is_running(&children->routing))
            return err_set(err, ERR_IO, "leadops-routing exited (see its messages above)");
        if (s_put_in_flight(store, prefix, "warm", sent, 1, err) < 0 ||
            s_push_lead(push, "warm", sent, err) < 0)
            return -1;
        bench_sleep_us(100000);
    }
    return 0;
}

/* 1. Through the service: a burst of every lead into BURST, then a quarter
 * as many, paced at half the burst's rate, into PACED. */
static int s_bench_service(children_t *children, const options_t *opts, store_t *store,
                           const char *prefix, bench_result_t *burst, bench_result_t *paced,
                           err_t *err)
{
    char pull_ep[64], commands_ep[64], events_ep[64];
    bench_free_endpoint(pull_ep, sizeof pull_ep);
    bench_free_endpoint(commands_ep, sizeof commands_ep);
    bench_free_endpoint(events_ep, sizeof events_ep);
    /* Started before this process has ZeroMQ's threads, so the fork copies
     * one thread; its PUB reconnects until the SUB below is bound. */
    if (s_service_start(children, opts, prefix, pull_ep, commands_ep, events_ep, err) < 0)
        return -1;
    long paced_count = (opts->leads + 3) / 4, total = opts->leads + paced_count;
    int64_t *pushed_us = calloc((size_t)total, sizeof *pushed_us);
    int64_t *assigned_us = calloc((size_t)total, sizeof *assigned_us);
    bench_listener_t listener;
    bench_listener_init(&listener, total, assigned_us);
    void *ctx = zmq_ctx_new();
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    listener.sub = zmq_socket(ctx, ZMQ_SUB);
    /* No high-water marks on our side: a burst must not block the pusher
     * nor drop an event the latencies need. */
    int zero = 0;
    zmq_setsockopt(push, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(push, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(listener.sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(listener.sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(listener.sub, ZMQ_SUBSCRIBE, "", 0);
    pthread_t listener_thread;
    bool listening = false;
    int rc = -1;
    if (!pushed_us || !assigned_us) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    if (zmq_bind(listener.sub, events_ep) < 0 || zmq_connect(push, pull_ep) < 0) {
        err_set(err, ERR_IO, "events SUB on %s, PUSH to %s: %s", events_ep, pull_ep,
                zmq_strerror(errno));
        goto done;
    }
    /* pthread_create is the full barrier ZeroMQ asks for when a socket
     * changes threads: from here on only the listener touches the SUB. */
    if (pthread_create(&listener_thread, NULL, bench_listen, &listener) != 0) {
        err_set(err, ERR_IO, "pthread_create failed");
        goto done;
    }
    listening = true;
    if (s_warm_up(&listener, push, children, store, prefix, err) < 0 ||
        s_put_in_flight(store, prefix, "lead", 0, total, err) < 0)
        goto done;
    /* The burst: every lead at once. */
    for (long i = 0; i < opts->leads; i++) {
        pushed_us[i] = clock_mono_us();
        if (s_push_lead(push, "lead", i, err) < 0)
            goto done;
    }
    if (s_wait_assigned(&listener, opts->leads, children, store, prefix, err) < 0 ||
        s_service_result(pushed_us, assigned_us, 0, opts->leads, burst, err) < 0)
        goto done;
    /* Paced: one lead every interval, at half the rate the burst reached. */
    int64_t interval_ns = (int64_t)(2e9 / burst->per_second);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long i = opts->leads; i < total; i++) {
        bench_sleep_until(&next, interval_ns);
        pushed_us[i] = clock_mono_us();
        if (s_push_lead(push, "lead", i, err) < 0)
            goto done;
    }
    if (s_wait_assigned(&listener, total, children, store, prefix, err) < 0 ||
        s_service_result(pushed_us, assigned_us, opts->leads, paced_count, paced, err) < 0)
        goto done;
    rc = 0;
done:
    bench_stop_child(&children->routing, STOP_TIMEOUT_MS);
    if (listening) {
        atomic_store(&listener.stop, true);
        pthread_join(listener_thread, NULL); /* it closes the SUB */
    } else {
        zmq_close(listener.sub);
    }
    zmq_close(push);
    zmq_ctx_term(ctx);
    free(pushed_us);
    free(assigned_us);
    return rc;
}

/* Deletes every key of PREFIX (on a Redis the bench did not start). */
static int s_delete_prefix(store_t *store, const char *prefix, err_t *err)
{
    char pattern[256], cursor[32] = "0";
    snprintf(pattern, sizeof pattern, "%s:*", prefix);
    do {
        store_value_t *reply =
            store_command(store, err, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!reply)
            return -1;
        snprintf(cursor, sizeof cursor, "%s", store_value_str(store_value_at(reply, 0), "0"));
        const store_value_t *keys = store_value_at(reply, 1);
        int rc = 0;
        if (keys && keys->type == STORE_ARRAY && keys->count > 0) {
            const char **argv = calloc(keys->count + 1, sizeof *argv);
            if (!argv) {
                store_value_free(&reply);
                return err_set(err, ERR_NOMEM, "out of memory");
            }
            argv[0] = "UNLINK";
            for (size_t i = 0; i < keys->count; i++)
                argv[1 + i] = store_value_str(keys->elements[i], "");
            store_value_t *unlinked = store_commandv(store, (int)keys->count + 1, argv, NULL, err);
            rc = unlinked ? 0 : -1;
            store_value_free(&unlinked);
            free(argv);
        }
        store_value_free(&reply);
        if (rc < 0)
            return -1;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

static void s_print_row(const char *what, const bench_result_t *r)
{
    printf("  %-46s %7ld %9.3f %11.0f", what, r->count, r->seconds, r->per_second);
    if (r->p50_ms >= 0)
        printf(" %8.2f %8.2f", r->p50_ms, r->p99_ms);
    printf("\n");
}

static int s_usage(FILE *out, int rc)
{
    fprintf(out, "usage: bench_routing [--leads N] [--reps K] [--redis HOST:PORT] [--bin DIR]\n"
                 "Assignments per second through leadops-routing (a child process; latency\n"
                 "p50/p99 from push to Assignment event), routing.lua alone pipelined by 512, and\n"
                 "redis-benchmark calling the same script, on one Redis in one run.\n"
                 "  --leads N          leads per measurement (default 20000)\n"
                 "  --reps K           reps of the one round-robin queue (default 10)\n"
                 "  --redis HOST:PORT  an existing Redis (this run's keys are deleted after);\n"
                 "                     default: a private redis-server ($LEADOPS_REDIS_SERVER)\n"
                 "                     on a free port, without persistence\n"
                 "  --bin DIR          where leadops-routing is (default: next to this program)\n");
    return rc;
}

int main(int argc, char **argv)
{
    options_t opts = {.leads = 20000, .reps = 10};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--leads") == 0 && i + 1 < argc) {
            opts.leads = atol(argv[++i]);
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            opts.reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc) {
            const char *address = argv[++i], *colon = strrchr(address, ':');
            if (!colon || colon == address || (opts.redis_port = atoi(colon + 1)) <= 0 ||
                (size_t)(colon - address) >= sizeof opts.redis_host)
                return s_usage(stderr, 2);
            snprintf(opts.redis_host, sizeof opts.redis_host, "%.*s", (int)(colon - address),
                     address);
        } else if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc) {
            snprintf(opts.bin_dir, sizeof opts.bin_dir, "%s", argv[++i]);
        } else {
            bool help = strcmp(argv[i], "--help") == 0;
            return s_usage(help ? stdout : stderr, help ? 0 : 2);
        }
    }
    /* The service's reps hold at most BENCH_REP_CAPACITY leads each and none is
     * closed: a lead that had to wait would never be assigned. The service
     * routes the leads, a quarter more paced, and the warm-up's. */
    long most_leads = ((long)opts.reps * BENCH_REP_CAPACITY - START_TIMEOUT_MS / 100) * 4 / 5;
    if (opts.reps < 1 || opts.reps > 1000 || opts.leads < 1 || opts.leads > most_leads) {
        fprintf(stderr, "bench_routing: --reps must be 1..1000, --leads 1..%ld for %d reps\n",
                opts.reps >= 1 ? most_leads : 0, opts.reps);
        return 2;
    }
    if (!opts.bin_dir[0])
        bench_program_dir(opts.bin_dir, sizeof opts.bin_dir);

    children_t children = {0};
    bool private_redis = opts.redis_port == 0;
    store_t *store = NULL;
    err_t err = {0};
    int rc = 1;
    char prefix_service[64], prefix_script[64], prefix_benchmark[64];
    snprintf(prefix_service, sizeof prefix_service, "bench_routing.%d.service", (int)getpid());
    snprintf(prefix_script, sizeof prefix_script, "bench_routing.%d.script", (int)getpid());
    snprintf(prefix_benchmark, sizeof prefix_benchmark, "bench_routing.%d.redis_benchmark",
             (int)getpid());
    bench_result_t script_result, benchmark_result, burst, paced;
    if (private_redis) {
        if (redis_child_start(&children.redis, &err) < 0)
            goto done;
        opts.redis_port = children.redis.port;
        snprintf(opts.redis_host, sizeof opts.redis_host, "127.0.0.1");
    }
    int script, in_flight_script;
    if (bench_open_store(opts.redis_host, opts.redis_port, &store, &script, &in_flight_script,
                         &err) < 0)
        goto done;

    /* The two without ZeroMQ first: the service's run starts ZeroMQ's
     * threads, and nothing forks after that. */
    if (s_bench_script(store, script, prefix_script, &opts, &script_result, &err) < 0 ||
        s_bench_redis_benchmark(&children, store, script,
                                store_script_function(store, in_flight_script), prefix_benchmark,
                                &opts, &benchmark_result, &err) < 0 ||
        s_bench_service(&children, &opts, store, prefix_service, &burst, &paced, &err) < 0)
        goto done;

    printf("routing: %ld leads per measurement, %d reps, one round_robin queue, Redis %s:%d%s\n",
           opts.leads, opts.reps, opts.redis_host, opts.redis_port,
           private_redis ? " (private, no persistence)" : "");
    printf("  %-46s %7s %9s %11s %8s %8s\n", "what", "count", "seconds", "per second", "p50 ms",
           "p99 ms");
    s_print_row("leadops-routing, burst: push -> Assignment", &burst);
    s_print_row("leadops-routing, paced at half the burst rate", &paced);
    s_print_row("routing.lua alone from C, pipelined by 512", &script_result);
    s_print_row("redis-benchmark FCALL route, -P 16 -c 4", &benchmark_result);
    printf("  service burst / redis-benchmark: %.2f\n",
           burst.per_second / benchmark_result.per_second);
    printf("service: ScoredLead envelopes pushed to its PULL socket, each lead already in\n"
           "  <p>:inflight:routing; leads/s from the first push to the last Assignment event,\n"
           "  latency from a push to its event on the bench's SUB (the burst's includes the\n"
           "  queue that pushing all at once builds).\n"
           "routing.lua alone: 'route' calls/s, the in-flight ZADDs done before the clock;\n"
           "  %ld of %ld calls assigned a lead.\n"
           "redis-benchmark: FCALL calls/s by its own clock (seconds = calls / rate) of\n"
           "  routing.lua with a ZADD of the lead into the in-flight set in front; lead ids\n"
           "  lead-__rand_int__ (-r %s): %ld of %ld calls assigned a lead, the others\n"
           "  met a repeated id; p50/p99 per request of a pipeline of 16.\n",
           script_result.assigned, script_result.count, BENCH_RAND_IDS, benchmark_result.assigned,
           benchmark_result.count);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "bench_routing: %s\n", err.msg);
    s_stop_children(&children);
    if (!private_redis && store) {
        const char *prefixes[] = {prefix_service, prefix_script, prefix_benchmark};
        for (int i = 0; i < 3; i++) {
            err_t cleanup_err = {0};
            if (s_delete_prefix(store, prefixes[i], &cleanup_err) < 0)
                fprintf(stderr, "bench_routing: deleting %s:*: %s\n", prefixes[i], cleanup_err.msg);
        }
    }
    store_destroy(&store);
    return rc;
}
