/* bench_stack — what the benchmarks under tests/bench share: a private
 * redis-server, child processes stopped by pid, free loopback ports, the
 * config file and environment a service is started with, routing.lua's
 * setup and redis-benchmark calling it, an Assignment listener, latency
 * percentiles and /proc readings.
 *
 * Children are forked before the bench has threads and die with it
 * (PR_SET_PDEATHSIG); the bench owns their pids and stops each with
 * bench_stop_child on every way out. Nothing here logs: errors go back in
 * err_t, with PROGRAM ("bench_routing") only where a forked child reports
 * its own failure on stderr.
 */
#ifndef LEADOPS_BENCH_STACK_H
#define LEADOPS_BENCH_STACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"
#include "redis_child.h"
#include "store.h"

#define BENCH_QUEUE        "bench"    /* the one round-robin queue, from stage mql on */
#define BENCH_RULE         "fallback" /* what the service calls a lead no rule matched */
#define BENCH_REP_CAPACITY 100000     /* the most a config allows a rep */
#define BENCH_RAND_IDS     "1000000000"

/* Figures of one measurement. */
typedef struct {
    long count;    /* leads routed, or calls made */
    long assigned; /* of them, assigned */
    double seconds;
    double per_second;
    double p50_ms, p99_ms; /* < 0: not measured */
} bench_result_t;

/* Rate and latency of leads timed from a send to their Assignment. */
typedef struct {
    double seconds, per_second;
    double p50_ms, p99_ms, p999_ms;
} bench_latency_t;

/* The SUB side of a measurement, on its own thread (bench_listen), so that
 * a lead's Assignment is timed when it arrives, not when sending is done. */
typedef struct {
    void *sub;             /* owned by the listening thread once it runs */
    long lead_count;       /* lead indexes 0..lead_count-1 are timed */
    int64_t *assigned_us;  /* borrowed: per lead, when its Assignment arrived (0: not yet) */
    int32_t *intake_ms;    /* borrowed, or NULL: per lead, its Assignment's assigned_at_ms -
                            * ingested_at_ms (intake to assignment by the event's own times) */
    atomic_long received;  /* Assignments of timed leads */
    atomic_long warmed_up; /* Assignments of warm-up leads */
    atomic_bool stop;
} bench_listener_t;

/* What bench_redis_benchmark runs: routing.lua 'route' with the in-flight
 * line, by FCALL, N calls of -P 16 -c 4 on PREFIX (set up here with REPS reps in
 * one queue of STRATEGY, round_robin when NULL). */
typedef struct {
    const char *program; /* borrowed: the bench's name, for a child's messages */
    const char *host;    /* borrowed */
    int port;
    const char *prefix;   /* borrowed */
    const char *function; /* borrowed: the function of the script with the in-flight line */
    const char *score;    /* the score each 'route' passes */
    long calls;           /* rounded up to whole pipelines of 16 */
    int reps;
    const char *strategy; /* borrowed, NULL: round_robin */
} bench_redis_benchmark_t;

/* Sleeps US microseconds, through signals. */
void bench_sleep_us(int64_t us);

/* Sleeps until *NEXT (CLOCK_MONOTONIC), then moves *NEXT INTERVAL_NS on. */
void bench_sleep_until(struct timespec *next, int64_t interval_ns);

/* Writes "tcp://127.0.0.1:<a free port>" into ENDPOINT. */
void bench_free_endpoint(char *endpoint, size_t size);

/* Fills DIR with the directory of this program ("." if unknown). */
void bench_program_dir(char *dir, size_t size);

/* Forks and runs FILE (searched in PATH when it has no '/') with ARGV and
 * ENVP (NULL: the bench's environment); the child's stdout goes to
 * STDOUT_FD, or /dev/null when -1. The child is killed when the bench dies;
 * if it cannot exec, it says so on stderr as PROGRAM. Returns its pid, or
 * -1 with *err set. Call before the bench has threads. */
pid_t bench_spawn(const char *program, const char *file, const char *const argv[],
                  char *const envp[], int stdout_fd, err_t *err);

/* Stops *PID_P (SIGTERM, SIGKILL after TIMEOUT_MS), waits for it and sets
 * *PID_P to 0. Does nothing when *PID_P is 0. */
void bench_stop_child(pid_t *pid_p, int timeout_ms);

/* Whether *PID_P is still running; reaps it (and clears *PID_P) if not. */
bool bench_child_is_running(pid_t *pid_p);

/* Registers routing.lua in STORE as *SCRIPT, and as *IN_FLIGHT_SCRIPT the
 * same script with a line where its per-call part starts that ZADDs the
 * lead into the in-flight set (redis-benchmark cannot put a lead in flight
 * per call). 0 or -1. */
int bench_register_routing(store_t *store, int *script, int *in_flight_script, err_t *err);

/* Connects a new *STORE to HOST:PORT (with a long timeout: a bench loads
 * Redis hard) and registers routing.lua in it as bench_register_routing
 * does. 0, or -1 with *err set (*STORE may be left for the caller to free). */
int bench_open_store(const char *host, int port, store_t **store, int *script,
                     int *in_flight_script, err_t *err);

/* Calls routing.lua OP for PREFIX with ARGC (at most 13) more ARGS; an
 * error reply is an error. */
int bench_script_call(store_t *store, int script, const char *op, const char *prefix, int argc,
                      const char **args, err_t *err);

/* The setup a config would write, through routing.lua's own operations:
 * BENCH_QUEUE (of STRATEGY), and REPS reps of it with room for every lead, working at any
 * time. 0, or -1 with *err set. */
int bench_setup_prefix(store_t *store, int script, const char *prefix, int reps,
                       const char *strategy, err_t *err);

/* HGET PREFIX:stats assigned, or -1 with *err set. */
long bench_stats_assigned(store_t *store, const char *prefix, err_t *err);

/* Reads redis-benchmark's --csv output in TEXT (changed): per_second, p50
 * and p99 of OUT. 0, or -1 with *err set. */
int bench_parse_benchmark_csv(char *text, bench_result_t *out, err_t *err);

/* Runs redis-benchmark as RUN says, its pid in *PID_P while it runs, and
 * fills OUT (assigned from PREFIX:stats). 0, or -1 with *err set (its
 * output then goes to stderr). */
int bench_redis_benchmark(const bench_redis_benchmark_t *run, store_t *store, int script,
                          pid_t *pid_p, bench_result_t *out, err_t *err);

/* Creates /tmp/PROGRAM_XXXXXX.yaml, its name in PATH, for writing. Returns
 * the stream (the caller closes it with bench_config_close), or NULL with
 * *err set and PATH "". */
FILE *bench_config_create(const char *program, char *path, size_t size, err_t *err);

/* Writes REPS reps of BENCH_QUEUE, online, under a config's "reps:". */
void bench_config_write_reps(FILE *f, int reps);

/* Closes F, written to PATH. 0, or -1 with *err set. */
int bench_config_close(FILE *f, const char *path, err_t *err);

/* The environment a service is started with: the COUNT VARS, then the
 * bench's own without LEADOPS_* (they would change what is measured).
 * Returns a NULL-terminated array the caller frees (its strings are
 * borrowed), or NULL with *err set. */
char **bench_service_env(char *const vars[], int count, err_t *err);

/* Sets up SELF for LEAD_COUNT timed leads; the caller creates the sockets. */
void bench_listener_init(bench_listener_t *self, long lead_count, int64_t *assigned_us);

/* The listening thread (ARG: a bench_listener_t): times Assignments of
 * lead-<index> and counts those of warm-<n>, and closes the socket once stop
 * is set. */
void *bench_listen(void *arg);

/* What bench_wait_assigned runs between its looks: 0 while the bench's
 * children run, else -1 with *err set. */
typedef int (*bench_check_fn)(void *arg, err_t *err);

/* Waits until LISTENER has the Assignments of the timed leads 0..TARGET-1.
 * -1 with *err set when CHECK fails or no Assignment came for STALL_MS. */
int bench_wait_assigned(bench_listener_t *listener, long target, int stall_ms, bench_check_fn check,
                        void *arg, err_t *err);

/* The rate (from the first send to the last Assignment) and latency
 * percentiles of leads FIRST..FIRST+COUNT-1. 0, or -1 with *err set. */
int bench_latency(const int64_t *sent_us, const int64_t *assigned_us, long first, long count,
                  bench_latency_t *out, err_t *err);

/* p50, p99 and p99.9 of VALUES[FIRST..FIRST+COUNT-1] (whole ms) into OUT[3]. */
int bench_percentiles_ms(const int32_t *values, long first, long count, double out[3], err_t *err);

/* utime + stime of PID in seconds, or -1. */
double bench_cpu_seconds(pid_t pid);

/* VmRSS of PID in kB, or -1. */
long bench_rss_kb(pid_t pid);

/* INFO memory used_memory, or -1 with *err set. */
long long bench_redis_used_memory(store_t *store, err_t *err);

/* One line of INFO commandstats: a command, its calls and microseconds
 * (a script's own commands are counted on their own lines too). */
typedef struct {
    char name[48];
    long long calls;
    long long usec;
} bench_command_stat_t;

#define BENCH_COMMAND_STATS 64

/* CONFIG RESETSTAT: the command counters start again from zero. */
int bench_redis_reset_stats(store_t *store, err_t *err);

/* INFO commandstats into OUT (at most BENCH_COMMAND_STATS), the most
 * microseconds first; the count, or -1 with *err set. */
int bench_redis_command_stats(store_t *store, bench_command_stat_t *out, err_t *err);

#endif
