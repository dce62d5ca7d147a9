/* bench_stack — see bench_stack.h. */
#include "bench_stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "leadops.pb-c.h"
#include "routing_args.h"

extern char **environ;

/* The line put where routing.lua's per-call part starts ("--#run", see
 * store.c), for redis-benchmark: the lead is put in flight by the same call
 * that routes it. */
static const char s_in_flight_line[] =
    "redis.call('ZADD', ARGV[2] .. ':inflight:routing', 0, ARGV[4])\n";

void bench_sleep_us(int64_t us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void bench_sleep_until(struct timespec *next, int64_t interval_ns)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
        ;
    next->tv_nsec += interval_ns;
    next->tv_sec += next->tv_nsec / 1000000000;
    next->tv_nsec %= 1000000000;
}

void bench_free_endpoint(char *endpoint, size_t size)
{
    snprintf(endpoint, size, "tcp://127.0.0.1:%d", redis_child_free_port());
}

void bench_program_dir(char *dir, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", dir, size - 1);
    dir[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, size, ".");
}

pid_t bench_spawn(const char *program, const char *file, const char *const argv[],
                  char *const envp[], int stdout_fd, err_t *err)
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
    fprintf(stderr, "%s: cannot run %s: %s\n", program, file, strerror(errno));
    _exit(127);
}

void bench_stop_child(pid_t *pid_p, int timeout_ms)
{
    if (*pid_p <= 0)
        return;
    kill(*pid_p, SIGTERM);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(*pid_p, NULL, WNOHANG) == *pid_p) {
            *pid_p = 0;
            return;
        }
        bench_sleep_us(10000);
    }
    kill(*pid_p, SIGKILL);
    waitpid(*pid_p, NULL, 0);
    *pid_p = 0;
}

bool bench_child_is_running(pid_t *pid_p)
{
    if (*pid_p > 0 && waitpid(*pid_p, NULL, WNOHANG) == *pid_p)
        *pid_p = 0;
    return *pid_p > 0;
}

int bench_register_routing(store_t *store, int *script, int *in_flight_script, err_t *err)
{
    const char *run = strstr(routing_script_routing, "\n--#run\n");
    if (!run)
        return err_set(err, ERR_INPUT, "routing.lua has no --#run line");
    size_t head = (size_t)(run - routing_script_routing) + strlen("\n--#run\n");
    size_t source_len = strlen(routing_script_routing);
    char *in_flight_source = malloc(sizeof s_in_flight_line + source_len);
    if (!in_flight_source)
        return err_set(err, ERR_NOMEM, "out of memory");
    memcpy(in_flight_source, routing_script_routing, head);
    memcpy(in_flight_source + head, s_in_flight_line, sizeof s_in_flight_line - 1);
    memcpy(in_flight_source + head + sizeof s_in_flight_line - 1, routing_script_routing + head,
           source_len - head + 1);
    *script = store_script_register(store, "routing", routing_script_routing, err);
    *in_flight_script =
        *script < 0 ? -1 : store_script_register(store, "routing_in_flight", in_flight_source, err);
    free(in_flight_source);
    return *in_flight_script < 0 ? -1 : 0;
}

int bench_open_store(const char *host, int port, store_t **store, int *script,
                     int *in_flight_script, err_t *err)
{
    store_options_t opts = {.host = host, .port = port, .timeout_ms = 30000};
    if (!(*store = store_new(&opts, true, err)))
        return -1;
    return bench_register_routing(*store, script, in_flight_script, err);
}

int bench_script_call(store_t *store, int script, const char *op, const char *prefix, int argc,
                      const char **args, err_t *err)
{
    store_value_t *reply =
        routing_script_call(store, script, op, prefix, clock_now_ms(), argc, args, err);
    int rc = reply ? 0 : -1;
    store_value_free(&reply);
    return rc;
}

int bench_setup_prefix(store_t *store, int script, const char *prefix, int reps,
                       const char *strategy, err_t *err)
{
    const char *queue[] = {BENCH_QUEUE, strategy, "0", "0",     "3", "",
                           "0",         "",       "0", "queue", "0", ""};
    if (bench_script_call(store, script, "queue_sync", prefix, 12, queue, err) < 0)
        return -1;
    /* The day and week starts are what the service writes for a rep in UTC
     * (weeks here from the epoch's: the cost is the same), so that each
     * assignment counts against the rep's day and week as it does there. */
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
        const char *sync[] = {rep_id, rep_id, "1000000000", "online", BENCH_QUEUE,
                              "0",    "0",    "1",          "",       ""};
        const char *avail[] = {rep_id, "*", "", days, weeks};
        if (bench_script_call(store, script, "sync", prefix, 10, sync, err) < 0 ||
            bench_script_call(store, script, "avail", prefix, 5, avail, err) < 0)
            return -1;
    }
    return 0;
}

long bench_stats_assigned(store_t *store, const char *prefix, err_t *err)
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

int bench_parse_benchmark_csv(char *text, bench_result_t *out, err_t *err)
{
    /* The --csv line: "name","rps","avg","min","p50","p95","p99","max". */
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

int bench_redis_benchmark(const bench_redis_benchmark_t *run, store_t *store, int script,
                          pid_t *pid_p, bench_result_t *out, err_t *err)
{
    if (bench_setup_prefix(store, script, run->prefix, run->reps,
                           run->strategy ? run->strategy : "round_robin", err) < 0)
        return -1;
    /* redis-benchmark sends whole pipelines: N rounded up to them is what it runs. */
    long calls = (run->calls + 15) / 16 * 16;
    char port[16], count[24], now[24];
    snprintf(port, sizeof port, "%d", run->port);
    snprintf(count, sizeof count, "%ld", calls);
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *argv[] = {"redis-benchmark",
                          "-h",
                          run->host,
                          "-p",
                          port,
                          "-n",
                          count,
                          "-P",
                          "16",
                          "-c",
                          "4",
                          "-r",
                          BENCH_RAND_IDS,
                          "--csv",
                          "FCALL",
                          run->function,
                          "0",
                          "route",
                          run->prefix,
                          now,
                          "lead-__rand_int__",
                          BENCH_QUEUE,
                          BENCH_RULE,
                          run->score,
                          "1",
                          "mql",
                          "",
                          "",
                          NULL};
    int pipe_fds[2];
    if (pipe(pipe_fds) < 0)
        return err_set(err, ERR_IO, "pipe: %s", strerror(errno));
    *pid_p = bench_spawn(run->program, "redis-benchmark", argv, NULL, pipe_fds[1], err);
    close(pipe_fds[1]);
    if (*pid_p < 0) {
        *pid_p = 0;
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
    waitpid(*pid_p, &status, 0);
    *pid_p = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        bench_parse_benchmark_csv(text, out, err) < 0) {
        fputs(text, stderr);
        return err_set(err, ERR_IO, "redis-benchmark failed (exit %d, output above)",
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    out->count = calls;
    out->seconds = calls / out->per_second;
    out->assigned = bench_stats_assigned(store, run->prefix, err);
    return out->assigned < 0 ? -1 : 0;
}

FILE *bench_config_create(const char *program, char *path, size_t size, err_t *err)
{
    snprintf(path, size, "/tmp/%s_XXXXXX.yaml", program);
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        path[0] = '\0';
        err_set(err, ERR_IO, "mkstemps: %s", strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    }
    return f;
}

void bench_config_write_reps(FILE *f, int reps)
{
    for (int r = 0; r < reps; r++)
        fprintf(f,
                "    - { id: rep-%d, name: rep-%d, capacity: %d, queues: [" BENCH_QUEUE
                "], status: online }\n",
                r, r, BENCH_REP_CAPACITY);
}

int bench_config_close(FILE *f, const char *path, err_t *err)
{
    if (fclose(f) != 0)
        return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    return 0;
}

char **bench_service_env(char *const vars[], int count, err_t *err)
{
    size_t inherited = 0;
    while (environ[inherited])
        inherited++;
    char **envp = calloc((size_t)count + inherited + 1, sizeof *envp);
    if (!envp) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (int i = 0; i < count; i++)
        envp[n++] = vars[i];
    for (size_t i = 0; i < inherited; i++)
        if (strncmp(environ[i], "LEADOPS_", 8) != 0)
            envp[n++] = environ[i];
    return envp;
}

void bench_listener_init(bench_listener_t *self, long lead_count, int64_t *assigned_us)
{
    self->sub = NULL;
    self->lead_count = lead_count;
    self->assigned_us = assigned_us;
    self->intake_ms = NULL;
    atomic_init(&self->received, 0);
    atomic_init(&self->warmed_up, 0);
    atomic_init(&self->stop, false);
}

/* Notes one event: the arrival of an Assignment. */
static void s_listener_take(bench_listener_t *self, const void *bytes, size_t size, int64_t at_us)
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
        if (self->intake_ms) {
            int64_t ms = a->ingested_at_ms > 0 ? a->assigned_at_ms - a->ingested_at_ms : 0;
            self->intake_ms[index] = (int32_t)(ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : ms);
        }
        atomic_fetch_add(&self->received, 1); /* publishes assigned_us[index] */
    }
    leadops__assignment__free_unpacked(a, NULL);
}

void *bench_listen(void *arg)
{
    bench_listener_t *self = arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (!atomic_load(&self->stop)) {
        zmq_pollitem_t item = {.socket = self->sub, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        while (zmq_msg_recv(&msg, self->sub, ZMQ_DONTWAIT) >= 0) {
            s_listener_take(self, zmq_msg_data(&msg), zmq_msg_size(&msg), clock_mono_us());
        }
    }
    zmq_msg_close(&msg);
    zmq_close(self->sub);
    self->sub = NULL;
    return NULL;
}

static int s_compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int bench_latency(const int64_t *sent_us, const int64_t *assigned_us, long first, long count,
                  bench_latency_t *out, err_t *err)
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
    out->seconds = (last_us - sent_us[first]) / 1e6;
    out->per_second = count / out->seconds;
    out->p50_ms = latency[(count - 1) * 500 / 1000] / 1e3;
    out->p99_ms = latency[(count - 1) * 990 / 1000] / 1e3;
    out->p999_ms = latency[(count - 1) * 999 / 1000] / 1e3;
    free(latency);
    return 0;
}

static int s_compare_int32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int bench_percentiles_ms(const int32_t *values, long first, long count, double out[3], err_t *err)
{
    int32_t *sorted = malloc((size_t)(count > 0 ? count : 1) * sizeof *sorted);
    if (!sorted)
        return err_set(err, ERR_NOMEM, "out of memory");
    memcpy(sorted, values + first, (size_t)count * sizeof *sorted);
    qsort(sorted, (size_t)count, sizeof *sorted, s_compare_int32);
    const long per_mille[3] = {500, 990, 999};
    for (int i = 0; i < 3; i++)
        out[i] = count > 0 ? sorted[(count - 1) * per_mille[i] / 1000] : -1;
    free(sorted);
    return 0;
}

double bench_cpu_seconds(pid_t pid)
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

long bench_rss_kb(pid_t pid)
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

long long bench_redis_used_memory(store_t *store, err_t *err)
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

int bench_redis_reset_stats(store_t *store, err_t *err)
{
    store_value_t *reply = store_command(store, err, "CONFIG RESETSTAT");
    if (!reply)
        return -1;
    int rc =
        reply->type == STORE_ERROR ? err_set(err, ERR_IO, "CONFIG RESETSTAT: %s", reply->str) : 0;
    store_value_free(&reply);
    return rc;
}

static int s_by_usec(const void *a, const void *b)
{
    const bench_command_stat_t *x = a, *y = b;
    return (x->usec < y->usec) - (x->usec > y->usec);
}

int bench_redis_command_stats(store_t *store, bench_command_stat_t *out, err_t *err)
{
    store_value_t *reply = store_command(store, err, "INFO commandstats");
    if (!reply)
        return -1;
    int count = 0;
    /* cmdstat_fcall:calls=20001,usec=3052164,usec_per_call=152.60,... */
    for (const char *at = strstr(store_value_str(reply, ""), "cmdstat_");
         at && count < BENCH_COMMAND_STATS; at = strstr(at + 1, "cmdstat_")) {
        const char *name = at + 8, *colon = strchr(name, ':');
        const char *calls = colon ? strstr(colon, "calls=") : NULL;
        const char *usec = colon ? strstr(colon, "usec=") : NULL;
        if (!colon || !calls || !usec)
            break;
        bench_command_stat_t *stat = &out[count++];
        snprintf(stat->name, sizeof stat->name, "%.*s", (int)(colon - name), name);
        stat->calls = atoll(calls + 6);
        stat->usec = atoll(usec + 5);
    }
    store_value_free(&reply);
    qsort(out, (size_t)count, sizeof *out, s_by_usec);
    return count;
}

int bench_wait_assigned(bench_listener_t *listener, long target, int stall_ms, bench_check_fn check,
                        void *arg, err_t *err)
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
        } else if (now - last_change_us > stall_ms * 1000LL) {
            return err_set(err, ERR_IO, "stalled: %ld of %ld Assignment events in %d s", received,
                           target, stall_ms / 1000);
        }
        if (check(arg, err) < 0)
            return -1;
        bench_sleep_us(1000);
    }
}
