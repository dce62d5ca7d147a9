/* bench_pipeline — leads through the whole stack: ingest, scoring, routing
 * and reporting as child processes on a private redis-server, driven over
 * ZeroMQ as `leadopsctl send` drives ingest, measured from the Assignment
 * events themselves. A program that prints figures, not a timed test.
 *
 * The stack: one round-robin queue ("bench", from stage mql on), K online
 * reps with room for every lead, the sample fit rules; every lead scores 55
 * (software, 800 employees, CTO, referral, a company) and so enters mql and
 * is routed at once. Ingest, scoring and routing publish their events to a
 * SUB the bench binds; the bench timestamps each Assignment and forwards
 * every event to reporting's own events endpoint, so reporting does its
 * usual work (and costs its usual CPU) one hop later.
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
 *    half the full speed; latency send -> Assignment p50/p99/p99.9.
 * With --queued Q, Q synthetic ids are put in the queue's waiting zset
 * before the run, ranked behind any real lead.
 *
 * Children are stopped by pid on every way out and die with the bench.
 *
 * usage: bench_pipeline [--leads N] [--rate R] [--reps K] [--queued Q]
 *                       [--json FILE] [--bin DIR]
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

#include "envelope.h"
#include "leadops.pb-c.h"
#include "producer.h"
#include "store.h"

extern const char routing_script_routing[];
extern char **environ;

#define QUEUE            "bench"
#define RULE             "fallback"
#define SCORE            "55"
#define REP_CAPACITY     100000
#define RAND_IDS         "1000000000"
#define RATE_SECONDS     5     /* each paced run */
#define START_TIMEOUT_MS 20000 /* redis-server answering, the stack assigning */
#define STALL_TIMEOUT_MS 15000 /* no Assignment for this long: the stack is stuck */
#define STOP_TIMEOUT_MS  3000  /* SIGTERM, then SIGKILL */
#define SERVICE_COUNT    4
#define MAX_RATES        3

static const char *const s_services[SERVICE_COUNT] = {"leadops-ingest", "leadops-scoring",
                                                      "leadops-routing", "leadops-reporting"};

static const char s_in_flight_line[] =
    "redis.call('ZADD', ARGV[2] .. ':inflight:routing', 0, ARGV[4])\n";

typedef struct {
    long leads;
    long rate; /* 0: the fixed rates 1,000 and 5,000 */
    int reps;
    long queued;
    char json_path[PATH_MAX]; /* "" : no JSON */
    char redis_host[256];
    int redis_port;
    char bin_dir[PATH_MAX];
} options_t;

typedef struct {
    pid_t redis;
    pid_t services[SERVICE_COUNT];
    pid_t benchmark;
    char config_path[PATH_MAX]; /* "" once removed */
} children_t;

typedef struct {
    long count, assigned;
    double seconds, per_second;
    double p50_ms, p99_ms;
} result_t;

/* One paced (or the full-speed) run through the stack. */
typedef struct {
    char what[64];
    long count;
    double target_rate; /* 0: full speed */
    double seconds, per_second;
    double p50_ms, p99_ms, p999_ms;
} run_t;

/* Per process: CPU over the full-speed run and memory after it. */
typedef struct {
    const char *name;
    double cpu_s_per_1000;
    long rss_kb;
} usage_t;

/* The SUB side, on its own thread: times each Assignment as it arrives and
 * forwards every event to reporting. */
typedef struct {
    void *sub;     /* owned by the thread once it runs */
    void *forward; /* owned by the thread once it runs: PUB to reporting */
    long lead_count;
    int64_t *assigned_us; /* borrowed: per lead index, 0 until assigned */
    atomic_long received;
    atomic_long warmed_up;
    atomic_bool stop;
} listener_t;

static void s_sleep_us(int64_t us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A free loopback port, or -1. Another process may take it before it is
 * bound; the redis-server start retries with another one then. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

/* Forks and runs FILE (searched in PATH when it has no '/') with ARGV and
 * ENVP (NULL: the bench's environment); the child's stdout goes to
 * STDOUT_FD, or /dev/null when -1. The child is killed when the bench dies.
 * Returns its pid, or -1 with *err set. Called before the bench has threads. */
static pid_t s_spawn(const char *file, const char *const argv[], char *const envp[], int stdout_fd,
                     err_t *err)
{
    pid_t pid = fork();
    if (pid < 0) {
        err_set(err, ERR_IO, "fork for %s: %s", file, strerror(errno));
        return -1;
    }
    if (pid > 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int out = stdout_fd >= 0 ? stdout_fd : open("/dev/null", O_WRONLY);
    if (out >= 0 && out != STDOUT_FILENO) {
        dup2(out, STDOUT_FILENO);
        close(out);
    }
    execvpe(file, (char *const *)argv, envp ? envp : environ);
    fprintf(stderr, "bench_pipeline: cannot run %s: %s\n", file, strerror(errno));
    _exit(127);
}

/* Stops *PID_P (SIGTERM, SIGKILL after STOP_TIMEOUT_MS) and waits for it. */
static void s_stop_child(pid_t *pid_p)
{
    if (*pid_p <= 0)
        return;
    kill(*pid_p, SIGTERM);
    for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 10) {
        if (waitpid(*pid_p, NULL, WNOHANG) == *pid_p) {
            *pid_p = 0;
            return;
        }
        s_sleep_us(10000);
    }
    kill(*pid_p, SIGKILL);
    waitpid(*pid_p, NULL, 0);
    *pid_p = 0;
}

/* Whether *PID_P is still running; reaps it (and clears *PID_P) if not. */
static bool s_child_is_running(pid_t *pid_p)
{
    if (*pid_p > 0 && waitpid(*pid_p, NULL, WNOHANG) == *pid_p)
        *pid_p = 0;
    return *pid_p > 0;
}

/* Starts redis-server ($LEADOPS_REDIS_SERVER, else from PATH) on a free
 * port without persistence; fills OPTS' host and port once it answers. */
static int s_redis_start(children_t *children, options_t *opts, err_t *err)
{
    const char *server = getenv("LEADOPS_REDIS_SERVER");
    if (!server || !*server)
        server = "redis-server";
    for (int attempt = 0; attempt < 5; attempt++) {
        char port[16];
        snprintf(port, sizeof port, "%d", s_free_port());
        const char *argv[] = {server,   "--port",     port,      "--bind", "127.0.0.1",
                              "--save", "",           "--dir",   "/tmp",   "--appendonly",
                              "no",     "--loglevel", "warning", NULL};
        children->redis = s_spawn(server, argv, NULL, -1, err);
        if (children->redis < 0)
            return -1;
        store_options_t store_opts = {.host = "127.0.0.1", .port = atoi(port), .timeout_ms = 500};
        for (int waited = 0; waited < START_TIMEOUT_MS; waited += 20) {
            store_t *probe = store_new(&store_opts, true, NULL);
            if (probe) {
                store_destroy(&probe);
                snprintf(opts->redis_host, sizeof opts->redis_host, "127.0.0.1");
                opts->redis_port = store_opts.port;
                return 0;
            }
            if (!s_child_is_running(&children->redis))
                break; /* most likely the port was taken meanwhile: another one */
            s_sleep_us(20000);
        }
        s_stop_child(&children->redis);
    }
    return err_set(err, ERR_IO,
                   "could not start %s (is it installed? LEADOPS_REDIS_SERVER names another)",
                   server);
}

/* Calls routing.lua OP for PREFIX with ARGC more ARGS; an error reply is an error. */
static int s_script_call(store_t *store, int script, const char *op, const char *prefix, int argc,
                         const char **args, err_t *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *argv[16] = {op, prefix, now};
    for (int i = 0; i < argc && i < 13; i++)
        argv[3 + i] = args[i];
    store_value_t *reply = store_script(store, script, 0, 3 + argc, argv, NULL, err);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type == STORE_ERROR)
        rc = err_set(err, ERR_IO, "routing.lua %s: %s", op, reply->str);
    store_value_free(&reply);
    return rc;
}

/* The setup a config would write, through the script's own operations:
 * the queue, REPS reps of it with room for every lead, working at any time
 * ("*"). The day and week starts are what the service writes for a rep in
 * UTC (weeks here from the epoch's: the cost is the same), so that each
 * assignment counts against the rep's day and week as it does there. */
static int s_setup_prefix(store_t *store, int script, const char *prefix, int reps, err_t *err)
{
    const char *queue[] = {QUEUE, "round_robin", "0", "0", "3", "", "0", "", "0", "queue", "0", ""};
    if (s_script_call(store, script, "queue_sync", prefix, 12, queue, err) < 0)
        return -1;
    const long long day_ms = 86400000, today = clock_now_ms() / day_ms * day_ms;
    const long long week = today / (7 * day_ms) * (7 * day_ms);
    char days[256], weeks[64];
    size_t used = 0;
    for (int d = 0; d <= 8; d++)
        used += (size_t)snprintf(days + used, sizeof days - used, "%s%lld", d ? "," : "",
                                 today + d * day_ms);
    snprintf(weeks, sizeof weeks, "%lld,%lld,%lld", week, week + 7 * day_ms, week + 14 * day_ms);
    for (int r = 0; r < reps; r++) {
        char rep_id[32];
        snprintf(rep_id, sizeof rep_id, "rep-%d", r);
        const char *sync[] = {rep_id, rep_id, "1000000000", "online", QUEUE, "0", "0", "1", "", ""};
        const char *avail[] = {rep_id, "*", "", days, weeks};
        if (s_script_call(store, script, "sync", prefix, 10, sync, err) < 0 ||
            s_script_call(store, script, "avail", prefix, 5, avail, err) < 0)
            return -1;
    }
    return 0;
}

/* HGET PREFIX:stats assigned, or -1 with *err set. */
static long s_stats_assigned(store_t *store, const char *prefix, err_t *err)
{
    char key[256];
    snprintf(key, sizeof key, "%s:stats", prefix);
    store_value_t *reply = store_command(store, err, "HGET %s assigned", key);
    if (!reply)
        return -1;
    long assigned = (long)store_value_int(reply, 0);
    store_value_free(&reply);
    return assigned;
}

/* Reads redis-benchmark's --csv line: "name","rps","avg","min","p50","p95","p99","max". */
static int s_parse_benchmark_csv(char *text, result_t *out, err_t *err)
{
    char *line = NULL;
    for (char *l = strtok(text, "\r\n"); l; l = strtok(NULL, "\r\n"))
        if (strncmp(l, "\"test\"", 6) != 0 && strchr(l, ','))
            line = l;
    double field[7];
    int n = 0;
    /* From the end: the name may hold anything, the numbers are the last seven. */
    while (line && n < 7) {
        char *comma = strrchr(line, ',');
        if (!comma)
            break;
        field[6 - n++] = atof(comma + (comma[1] == '"' ? 2 : 1));
        *comma = '\0';
    }
    if (n < 7 || field[0] <= 0)
        return err_set(err, ERR_INPUT, "redis-benchmark printed no figures");
    out->per_second = field[0];
    out->p50_ms = field[3];
    out->p99_ms = field[5];
    return 0;
}

/* 3. redis-benchmark calling SCRIPT's variant with the in-flight line, by its SHA. */
static int s_bench_redis_benchmark(children_t *children, store_t *store, int script,
                                   const char *sha, const char *prefix, const options_t *opts,
                                   result_t *out, err_t *err)
{
    if (s_setup_prefix(store, script, prefix, opts->reps, err) < 0)
        return -1;
    /* redis-benchmark sends whole pipelines: N rounded up to them is what it runs. */
    long calls = (opts->leads + 15) / 16 * 16;
    char port[16], count[24], now[24];
    snprintf(port, sizeof port, "%d", opts->redis_port);
    snprintf(count, sizeof count, "%ld", calls);
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *argv[] = {"redis-benchmark",
                          "-h",
                          opts->redis_host,
                          "-p",
                          port,
                          "-n",
                          count,
                          "-P",
                          "16",
                          "-c",
                          "4",
                          "-r",
                          RAND_IDS,
                          "--csv",
                          "EVALSHA",
                          sha,
                          "0",
                          "route",
                          prefix,
                          now,
                          "lead-__rand_int__",
                          QUEUE,
                          RULE,
                          SCORE,
                          "1",
                          "mql",
                          "",
                          "",
                          NULL};
    int pipe_fds[2];
    if (pipe(pipe_fds) < 0)
        return err_set(err, ERR_IO, "pipe: %s", strerror(errno));
    children->benchmark = s_spawn("redis-benchmark", argv, NULL, pipe_fds[1], err);
    close(pipe_fds[1]);
    if (children->benchmark < 0) {
        close(pipe_fds[0]);
        return -1;
    }
    char text[8192];
    size_t used = 0;
    for (ssize_t n; (n = read(pipe_fds[0], text + used, sizeof text - 1 - used)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        used += (size_t)n;
        if (used == sizeof text - 1)
            used = 0; /* it printed more than expected: only the last lines matter */
    }
    text[used] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    waitpid(children->benchmark, &status, 0);
    children->benchmark = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        s_parse_benchmark_csv(text, out, err) < 0) {
        fputs(text, stderr);
        return err_set(err, ERR_IO, "redis-benchmark failed (exit %d, output above)",
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    out->count = calls;
    out->seconds = calls / out->per_second;
    out->assigned = s_stats_assigned(store, prefix, err);
    return out->assigned < 0 ? -1 : 0;
}

static int s_compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void s_stop_children(children_t *children)
{
    s_stop_child(&children->benchmark);
    for (int i = 0; i < SERVICE_COUNT; i++)
        s_stop_child(&children->services[i]);
    s_stop_child(&children->redis);
    if (children->config_path[0]) {
        unlink(children->config_path);
        children->config_path[0] = '\0';
    }
}

/* utime + stime of PID in seconds, or -1. */
static double s_cpu_seconds(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* The command may hold spaces: fields count from after its ')'. */
    char *p = strrchr(text, ')');
    unsigned long long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS of PID in kB, or -1. */
static long s_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* INFO memory used_memory, or -1. */
static long long s_redis_used_memory(store_t *store, err_t *err)
{
    store_value_t *reply = store_command(store, err, "INFO memory");
    if (!reply)
        return -1;
    const char *text = store_value_str(reply, ""), *at = strstr(text, "used_memory:");
    long long bytes = at ? atoll(at + 12) : -1;
    store_value_free(&reply);
    if (bytes < 0)
        err_set(err, ERR_IO, "INFO memory without used_memory");
    return bytes;
}

/* The stack's config: the sample fit rules (every bench lead scores 55),
 * one queue and REPS reps with room for every lead. */
static int s_write_config(children_t *children, int reps, err_t *err)
{
    snprintf(children->config_path, sizeof children->config_path,
             "/tmp/bench_pipeline_XXXXXX.yaml");
    int fd = mkstemps(children->config_path, 5);
    if (fd < 0) {
        children->config_path[0] = '\0';
        return err_set(err, ERR_IO, "mkstemps: %s", strerror(errno));
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return err_set(err, ERR_IO, "%s: %s", children->config_path, strerror(errno));
    }
    fprintf(
        f,
        "# bench_pipeline: %d reps of one round-robin queue (removed after the run)\n"
        "log:\n  level: warn\n"
        "scoring:\n  fit:\n"
        "    - { name: industry, field: industry, op: in, values: [software], points: 15 }\n"
        "    - { name: size, field: company_size, op: range, min: 50, max: 100000, points: 15 }\n"
        "    - { name: title, field: title, op: contains, values: [cto], points: 10 }\n"
        "    - { name: source, field: source, op: in, values: [referral], points: 10 }\n"
        "    - { name: company, field: company, op: exists, points: 5 }\n"
        "routing:\n  fallback_queue: " QUEUE "\n"
        "  queues:\n    - { name: " QUEUE ", strategy: round_robin, stage: mql }\n"
        "  reps:\n",
        reps);
    for (int r = 0; r < reps; r++)
        fprintf(f,
                "    - { id: rep-%d, name: rep-%d, capacity: %d, queues: [" QUEUE
                "], status: online }\n",
                r, r, REP_CAPACITY);
    if (fclose(f) != 0)
        return err_set(err, ERR_IO, "%s: %s", children->config_path, strerror(errno));
    return 0;
}

/* Starts the four services on PREFIX. Ingest, scoring and routing publish
 * to BENCH_EVENTS_EP (the bench's SUB), reporting binds REPORTING_EVENTS_EP. */
static int s_stack_start(children_t *children, const options_t *opts, const char *prefix,
                         const char *ingest_ep, const char *bench_events_ep,
                         const char *reporting_events_ep, err_t *err)
{
    if (s_write_config(children, opts->reps, err) < 0)
        return -1;
    char scoring_ep[64], routing_ep[64], commands_ep[64];
    snprintf(scoring_ep, sizeof scoring_ep, "tcp://127.0.0.1:%d", s_free_port());
    snprintf(routing_ep, sizeof routing_ep, "tcp://127.0.0.1:%d", s_free_port());
    snprintf(commands_ep, sizeof commands_ep, "tcp://127.0.0.1:%d", s_free_port());
    size_t inherited = 0;
    while (environ[inherited])
        inherited++;
    char **envp = calloc(inherited + 16, sizeof *envp);
    if (!envp)
        return err_set(err, ERR_NOMEM, "out of memory");
    int rc = 0;
    for (int s = 0; rc == 0 && s < SERVICE_COUNT; s++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", opts->bin_dir, s_services[s]);
        if (access(path, X_OK) != 0) {
            rc = err_set(err, ERR_NOTFOUND, "%s: %s (build it, or pass --bin DIR)", path,
                         strerror(errno));
            break;
        }
        bool reporting = s == SERVICE_COUNT - 1;
        char vars[11][PATH_MAX];
        snprintf(vars[0], sizeof vars[0], "LEADOPS_REDIS_HOST=%s", opts->redis_host);
        snprintf(vars[1], sizeof vars[1], "LEADOPS_REDIS_PORT=%d", opts->redis_port);
        snprintf(vars[2], sizeof vars[2], "LEADOPS_REDIS_PREFIX=%s", prefix);
        snprintf(vars[3], sizeof vars[3], "LEADOPS_ENDPOINTS_INGEST=%s", ingest_ep);
        snprintf(vars[4], sizeof vars[4], "LEADOPS_ENDPOINTS_SCORING=%s", scoring_ep);
        snprintf(vars[5], sizeof vars[5], "LEADOPS_ENDPOINTS_ROUTING=%s", routing_ep);
        snprintf(vars[6], sizeof vars[6], "LEADOPS_ENDPOINTS_COMMANDS=%s", commands_ep);
        snprintf(vars[7], sizeof vars[7], "LEADOPS_ENDPOINTS_EVENTS=%s",
                 reporting ? reporting_events_ep : bench_events_ep);
        snprintf(vars[8], sizeof vars[8], "LEADOPS_LOG_LEVEL=warn");
        snprintf(vars[9], sizeof vars[9], "LEADOPS_HTTP_INGEST_LISTEN=127.0.0.1:0");
        snprintf(vars[10], sizeof vars[10], "LEADOPS_HTTP_REPORTING_LISTEN=127.0.0.1:0");
        size_t n = 0;
        for (int i = 0; i < 11; i++)
            envp[n++] = vars[i];
        for (size_t i = 0; i < inherited; i++)
            if (strncmp(environ[i], "LEADOPS_", 8) != 0)
                envp[n++] = environ[i];
        envp[n] = NULL;
        const char *argv[] = {path, "--config", children->config_path, NULL};
        children->services[s] = s_spawn(path, argv, envp, -1, err);
        if (children->services[s] < 0) {
            children->services[s] = 0;
            rc = -1;
        }
    }
    free(envp);
    return rc;
}

static int s_stack_check(children_t *children, err_t *err)
{
    for (int s = 0; s < SERVICE_COUNT; s++)
        if (!s_child_is_running(&children->services[s]))
            return err_set(err, ERR_IO, "%s exited (see its messages above)", s_services[s]);
    return 0;
}

/* --queued: Q synthetic ids in the queue's waiting zset, ranked behind
 * every real lead (a waiting score grows as the lead's score falls). */
static int s_prequeue(store_t *store, const char *prefix, long queued, err_t *err)
{
    char key[256];
    snprintf(key, sizeof key, "%s:queue:" QUEUE ":waiting", prefix);
    static char ids[512][32], scores[512][32];
    const char *argv[2 + 2 * 512] = {"ZADD", key};
    for (long done = 0; done < queued;) {
        int n = 0;
        for (; n < 512 && done < queued; n++, done++) {
            snprintf(ids[n], sizeof ids[n], "queued-%ld", done);
            snprintf(scores[n], sizeof scores[n], "%.0f", 2e17 + (double)done);
            argv[2 + 2 * n] = scores[n];
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

static void s_listener_take(listener_t *self, const void *bytes, size_t size, int64_t at_us)
{
    Leadops__Envelope *env = envelope_decode(bytes, size, NULL);
    if (!env)
        return;
    Leadops__Assignment *a =
        env->type == LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT
            ? leadops__assignment__unpack(NULL, env->payload.len, env->payload.data)
            : NULL;
    leadops__envelope__free_unpacked(env, NULL);
    if (!a)
        return;
    long index = -1;
    if (strncmp(a->lead_id, "warm-", 5) == 0) {
        atomic_fetch_add(&self->warmed_up, 1);
    } else if (sscanf(a->lead_id, "lead-%ld", &index) == 1 && index >= 0 &&
               index < self->lead_count && self->assigned_us[index] == 0) {
        self->assigned_us[index] = at_us;
        atomic_fetch_add(&self->received, 1);
    }
    leadops__assignment__free_unpacked(a, NULL);
}

static void *s_listen(void *arg)
{
    listener_t *self = arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (!atomic_load(&self->stop)) {
        zmq_pollitem_t item = {.socket = self->sub, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        while (zmq_msg_recv(&msg, self->sub, ZMQ_DONTWAIT) >= 0) {
            int64_t now = clock_mono_us();
            s_listener_take(self, zmq_msg_data(&msg), zmq_msg_size(&msg), now);
            /* zmq_msg_send gives the message away; msg is empty again after. */
            if (zmq_msg_send(&msg, self->forward, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                zmq_msg_init(&msg);
            }
        }
    }
    zmq_msg_close(&msg);
    zmq_close(self->sub);
    zmq_close(self->forward);
    return NULL;
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

static int s_wait_assigned(listener_t *listener, long target, children_t *children, err_t *err)
{
    long last = -1;
    int64_t last_change_us = clock_mono_us();
    for (;;) {
        long received = atomic_load(&listener->received);
        if (received >= target)
            return 0;
        int64_t now = clock_mono_us();
        if (received != last) {
            last = received;
            last_change_us = now;
        } else if (now - last_change_us > STALL_TIMEOUT_MS * 1000LL) {
            return err_set(err, ERR_IO, "stalled: %ld of %ld Assignment events in %d s", received,
                           target, STALL_TIMEOUT_MS / 1000);
        }
        if (s_stack_check(children, err) < 0)
            return -1;
        s_sleep_us(1000);
    }
}

static int s_run_result(const int64_t *sent_us, const int64_t *assigned_us, long first, long count,
                        run_t *out, err_t *err)
{
    int64_t *latency = malloc((size_t)count * sizeof *latency);
    if (!latency)
        return err_set(err, ERR_NOMEM, "out of memory");
    int64_t last_us = 0;
    for (long i = 0; i < count; i++) {
        latency[i] = assigned_us[first + i] - sent_us[first + i];
        if (assigned_us[first + i] > last_us)
            last_us = assigned_us[first + i];
    }
    qsort(latency, (size_t)count, sizeof *latency, s_compare_int64);
    out->count = count;
    out->seconds = (last_us - sent_us[first]) / 1e6;
    out->per_second = count / out->seconds;
    out->p50_ms = latency[(count - 1) * 500 / 1000] / 1e3;
    out->p99_ms = latency[(count - 1) * 990 / 1000] / 1e3;
    out->p999_ms = latency[(count - 1) * 999 / 1000] / 1e3;
    free(latency);
    return 0;
}

/* Sends COUNT leads from index FIRST, at RATE per second (0: full speed),
 * and waits for all their Assignments. */
static int s_drive(producer_t *producer, listener_t *listener, children_t *children,
                   int64_t *sent_us, long first, long count, double rate, err_t *err)
{
    int64_t interval_ns = rate > 0 ? (int64_t)(1e9 / rate) : 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long i = first; i < first + count; i++) {
        if (interval_ns) {
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                ;
            next.tv_nsec += interval_ns;
            next.tv_sec += next.tv_nsec / 1000000000;
            next.tv_nsec %= 1000000000;
        }
        sent_us[i] = clock_mono_us();
        if (s_send_lead(producer, "lead", i, err) < 0)
            return -1;
    }
    if (producer_flush(producer, STALL_TIMEOUT_MS, err) < 0)
        return -1;
    return s_wait_assigned(listener, first + count, children, err);
}

/* Sends a warm-up lead every 200 ms until one is assigned: the whole
 * stack is up, has its config in Redis, and every PUB reaches the SUB. */
static int s_warm_up(producer_t *producer, listener_t *listener, children_t *children, err_t *err)
{
    for (long sent = 0; atomic_load(&listener->warmed_up) == 0; sent++) {
        if (sent * 200 > START_TIMEOUT_MS)
            return err_set(err, ERR_IO, "the stack assigned no lead in %d s",
                           START_TIMEOUT_MS / 1000);
        if (s_stack_check(children, err) < 0 || s_send_lead(producer, "warm", sent, err) < 0)
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
    usage_t usage[SERVICE_COUNT + 1];
    double redis_bytes_per_lead;
} stack_result_t;

static int s_bench_stack(children_t *children, const options_t *opts, store_t *store,
                         const char *prefix, stack_result_t *out, err_t *err)
{
    char ingest_ep[64], bench_events_ep[64], reporting_events_ep[64];
    snprintf(ingest_ep, sizeof ingest_ep, "tcp://127.0.0.1:%d", s_free_port());
    snprintf(bench_events_ep, sizeof bench_events_ep, "tcp://127.0.0.1:%d", s_free_port());
    snprintf(reporting_events_ep, sizeof reporting_events_ep, "tcp://127.0.0.1:%d", s_free_port());
    if (opts->queued > 0 && s_prequeue(store, prefix, opts->queued, err) < 0)
        return -1;
    /* Started before this process has ZeroMQ's threads: each fork copies one thread. */
    if (s_stack_start(children, opts, prefix, ingest_ep, bench_events_ep, reporting_events_ep,
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
    listener_t listener = {.lead_count = most, .assigned_us = assigned_us};
    atomic_init(&listener.received, 0);
    atomic_init(&listener.warmed_up, 0);
    atomic_init(&listener.stop, false);
    void *ctx = zmq_ctx_new();
    listener.sub = zmq_socket(ctx, ZMQ_SUB);
    listener.forward = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(listener.sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(listener.sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(listener.sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt(listener.forward, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(listener.forward, ZMQ_LINGER, &zero, sizeof zero);
    producer_t *producer = NULL;
    pthread_t listener_thread;
    bool listening = false;
    int rc = -1;
    if (!sent_us || !assigned_us) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    if (zmq_bind(listener.sub, bench_events_ep) < 0 ||
        zmq_connect(listener.forward, reporting_events_ep) < 0) {
        err_set(err, ERR_IO, "events SUB on %s, PUB to %s: %s", bench_events_ep,
                reporting_events_ep, zmq_strerror(errno));
        goto done;
    }
    if (!(producer = producer_new(ctx, ingest_ep, NULL, NULL, NULL, err)))
        goto done;
    if (pthread_create(&listener_thread, NULL, s_listen, &listener) != 0) {
        err_set(err, ERR_IO, "pthread_create failed");
        goto done;
    }
    listening = true;
    if (s_warm_up(producer, &listener, children, err) < 0)
        goto done;
    s_sleep_us(500000); /* the warm-up's other leads settle */

    /* Full speed, with CPU and memory around it. */
    pid_t pids[SERVICE_COUNT + 1];
    double cpu_before[SERVICE_COUNT + 1];
    for (int s = 0; s < SERVICE_COUNT; s++)
        pids[s] = children->services[s];
    pids[SERVICE_COUNT] = children->redis;
    for (int s = 0; s <= SERVICE_COUNT; s++)
        cpu_before[s] = s_cpu_seconds(pids[s]);
    long long memory_before = s_redis_used_memory(store, err);
    if (memory_before < 0 ||
        s_drive(producer, &listener, children, sent_us, 0, opts->leads, 0, err) < 0 ||
        s_run_result(sent_us, assigned_us, 0, opts->leads, &out->full, err) < 0)
        goto done;
    for (int s = 0; s <= SERVICE_COUNT; s++) {
        out->usage[s].name = s < SERVICE_COUNT ? s_services[s] : "redis-server";
        out->usage[s].cpu_s_per_1000 =
            (s_cpu_seconds(pids[s]) - cpu_before[s]) * 1000.0 / (double)opts->leads;
        out->usage[s].rss_kb = s_rss_kb(pids[s]);
    }
    long long memory_after = s_redis_used_memory(store, err);
    if (memory_after < 0)
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
        if (s_drive(producer, &listener, children, sent_us, next_index, count, run->target_rate,
                    err) < 0 ||
            s_run_result(sent_us, assigned_us, next_index, count, run, err) < 0)
            goto done;
        next_index += count;
        out->paced_count = r + 1;
    }
    rc = 0;
done:
    for (int s = 0; s < SERVICE_COUNT; s++)
        s_stop_child(&children->services[s]);
    producer_destroy(&producer);
    if (listening) {
        atomic_store(&listener.stop, true);
        pthread_join(listener_thread, NULL);
    } else {
        zmq_close(listener.sub);
        zmq_close(listener.forward);
    }
    zmq_ctx_term(ctx);
    free(sent_us);
    free(assigned_us);
    return rc;
}

static void s_print_run(const run_t *run)
{
    printf("  %-30s %8ld %8.2f %10.0f %8.2f %8.2f %8.2f\n", run->what, run->count, run->seconds,
           run->per_second, run->p50_ms, run->p99_ms, run->p999_ms);
}

static void s_json_run(FILE *f, const run_t *run, const char *tail)
{
    fprintf(f,
            "    {\"what\": \"%s\", \"target_rate\": %.0f, \"leads\": %ld, \"seconds\": %.3f, "
            "\"per_second\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f}%s\n",
            run->what, run->target_rate, run->count, run->seconds, run->per_second, run->p50_ms,
            run->p99_ms, run->p999_ms, tail);
}

static int s_write_json(const char *path, const options_t *opts, const stack_result_t *stack,
                        const result_t *reference, err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"leads\": %ld, \"reps\": %d, \"queued\": %ld,\n", opts->leads, opts->reps,
            opts->queued);
    fprintf(f, "  \"runs\": [\n");
    s_json_run(f, &stack->full, stack->paced_count ? "," : "");
    for (int r = 0; r < stack->paced_count; r++)
        s_json_run(f, &stack->paced[r], r + 1 < stack->paced_count ? "," : "");
    fprintf(f, "  ],\n  \"processes\": [\n");
    for (int s = 0; s <= SERVICE_COUNT; s++)
        fprintf(f, "    {\"name\": \"%s\", \"cpu_s_per_1000_leads\": %.4f, \"rss_kb\": %ld}%s\n",
                stack->usage[s].name, stack->usage[s].cpu_s_per_1000, stack->usage[s].rss_kb,
                s < SERVICE_COUNT ? "," : "");
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
            "usage: bench_pipeline [--leads N] [--rate R] [--reps K] [--queued Q] [--json FILE]\n"
            "                      [--bin DIR]\n"
            "Leads through ingest, scoring, routing and reporting (child processes on a private\n"
            "redis-server), measured from the Assignment events, next to redis-benchmark\n"
            "calling routing.lua's 'route' pipelined in the same run.\n"
            "  --leads N    leads of the full-speed run (default 20000)\n"
            "  --rate R     one paced run at R/s instead of 1,000/s and 5,000/s; a paced run\n"
            "               at half the full speed follows either way (%d s each)\n"
            "  --reps K     reps of the one round-robin queue (default 10)\n"
            "  --queued Q   Q synthetic leads waiting in the queue before the run\n"
            "  --json FILE  write the figures as JSON too\n"
            "  --bin DIR    where the leadops-* programs are (default: next to this one)\n",
            RATE_SECONDS);
    return rc;
}

int main(int argc, char **argv)
{
    options_t opts = {.leads = 20000, .reps = 10};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--leads") == 0 && i + 1 < argc)
            opts.leads = atol(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            opts.rate = atol(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            opts.reps = atoi(argv[++i]);
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
    if (opts.reps < 1 || opts.reps > 10000 || opts.leads < 1 || opts.leads > 10000000 ||
        opts.rate < 0 || opts.queued < 0) {
        fprintf(stderr, "bench_pipeline: --reps 1..10000, --leads 1..10^7, --rate and "
                        "--queued >= 0\n");
        return 2;
    }
    if (!opts.bin_dir[0]) {
        ssize_t n = readlink("/proc/self/exe", opts.bin_dir, sizeof opts.bin_dir - 1);
        opts.bin_dir[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(opts.bin_dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(opts.bin_dir, sizeof opts.bin_dir, ".");
    }
    children_t children = {0};
    store_t *store = NULL;
    err_t err = {0};
    int rc = 1;
    char prefix_stack[64], prefix_benchmark[64];
    snprintf(prefix_stack, sizeof prefix_stack, "bench_pipeline.%d.stack", (int)getpid());
    snprintf(prefix_benchmark, sizeof prefix_benchmark, "bench_pipeline.%d.redis_benchmark",
             (int)getpid());
    result_t reference = {0};
    stack_result_t stack = {0};
    if (s_redis_start(&children, &opts, &err) < 0)
        goto done;
    store_options_t store_opts = {
        .host = opts.redis_host, .port = opts.redis_port, .timeout_ms = 30000};
    if (!(store = store_new(&store_opts, true, &err)))
        goto done;
    size_t source_len = strlen(routing_script_routing);
    char *in_flight_source = malloc(sizeof s_in_flight_line + source_len);
    if (!in_flight_source) {
        err_set(&err, ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(in_flight_source, s_in_flight_line, sizeof s_in_flight_line - 1);
    memcpy(in_flight_source + sizeof s_in_flight_line - 1, routing_script_routing, source_len + 1);
    int script = store_script_register(store, "routing", routing_script_routing, &err);
    int in_flight_script =
        script < 0 ? -1 : store_script_register(store, "routing_in_flight", in_flight_source, &err);
    free(in_flight_source);
    if (in_flight_script < 0)
        goto done;
    /* redis-benchmark first: nothing forks once ZeroMQ's threads run. */
    options_t reference_opts = opts;
    reference_opts.leads = opts.leads * 5 > 100000 ? opts.leads * 5 : 100000;
    if (s_bench_redis_benchmark(&children, store, script, store_script_sha(store, in_flight_script),
                                prefix_benchmark, &reference_opts, &reference, &err) < 0 ||
        s_bench_stack(&children, &opts, store, prefix_stack, &stack, &err) < 0)
        goto done;

    printf("pipeline: %ld leads at full speed, %d reps of one round_robin queue, %ld queued, "
           "private Redis %s:%d\n",
           opts.leads, opts.reps, opts.queued, opts.redis_host, opts.redis_port);
    printf("  %-30s %8s %8s %10s %8s %8s %8s\n", "run (send -> Assignment)", "leads", "seconds",
           "leads/s", "p50 ms", "p99 ms", "p99.9 ms");
    s_print_run(&stack.full);
    for (int r = 0; r < stack.paced_count; r++)
        s_print_run(&stack.paced[r]);
    printf("  %-30s %14s %10s\n", "process", "CPU s/1k leads", "RSS MiB");
    for (int s = 0; s <= SERVICE_COUNT; s++)
        printf("  %-30s %14.3f %10.1f\n", stack.usage[s].name, stack.usage[s].cpu_s_per_1000,
               stack.usage[s].rss_kb / 1024.0);
    printf("  Redis used_memory per lead: %.0f bytes\n", stack.redis_bytes_per_lead);
    printf("  redis-benchmark EVALSHA route -P 16 -c 4: %.0f calls/s (%ld calls, %ld assigned)\n",
           reference.per_second, reference.count, reference.assigned);
    printf("  end-to-end / redis-benchmark: %.3f\n", stack.full.per_second / reference.per_second);
    if (opts.json_path[0] && s_write_json(opts.json_path, &opts, &stack, &reference, &err) < 0)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "bench_pipeline: %s\n", err.msg);
    s_stop_children(&children);
    store_destroy(&store);
    return rc;
}
