/* pipeline_stack.c — the stack bench_pipeline measures; see pipeline_stack.h. */
#include "pipeline_stack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_stack.h"
#include "envelope.h"

const char *const pipeline_services[PROCESS_MAX] = {"leadops-ingest",  "leadops-scoring",
                                                    "leadops-routing", "leadops-reporting",
                                                    "leadops-scoring", "leadops-routing"};
const char *const pipeline_labels[PROCESS_MAX] = {"leadops-ingest",     "leadops-scoring",
                                                  "leadops-routing",    "leadops-reporting",
                                                  "leadops-scoring #2", "leadops-routing #2"};

void pipeline_stop(children_t *children)
{
    bench_stop_child(&children->benchmark, STOP_TIMEOUT_MS);
    for (int i = 0; i < PROCESS_MAX; i++)
        bench_stop_child(&children->services[i], STOP_TIMEOUT_MS);
    redis_child_stop(&children->redis);
    if (children->config_path[0]) {
        unlink(children->config_path);
        children->config_path[0] = '\0';
    }
}

/* The stack's config: the sample fit rules (every bench lead scores 55),
 * one queue and REPS reps with room for every lead, and the backlog queue
 * of --queued with its one rep away. */
static int s_write_config(children_t *children, int reps, const char *strategy, err_t *err)
{
    FILE *f = bench_config_create("bench_pipeline", children->config_path,
                                  sizeof children->config_path, err);
    if (!f)
        return -1;
    fprintf(
        f,
        "# bench_pipeline: %d reps of one %s queue (removed after the run)\n"
        "log:\n  level: warn\n"
        "scoring:\n  fit:\n"
        "    - { name: industry, field: industry, op: in, values: [software], points: 15 }\n"
        "    - { name: size, field: company_size, op: range, min: 50, max: 100000, points: 15 }\n"
        "    - { name: title, field: title, op: contains, values: [cto], points: 10 }\n"
        "    - { name: source, field: source, op: in, values: [referral], points: 10 }\n"
        "    - { name: company, field: company, op: exists, points: 5 }\n"
        "routing:\n  fallback_queue: " BENCH_QUEUE "\n"
        "  queues:\n    - { name: " BENCH_QUEUE ", strategy: %s, stage: mql }\n"
        "    - { name: " BACKLOG_QUEUE ", strategy: round_robin, stage: mql }\n"
        "  reps:\n"
        "    - { id: rep-backlog, name: rep-backlog, capacity: 1, queues: [" BACKLOG_QUEUE
        "], status: away }\n",
        reps, strategy, strategy);
    bench_config_write_reps(f, reps);
    return bench_config_close(f, children->config_path, err);
}

/* Starts the four services on PREFIX. Reporting binds REPORTING_EVENTS_EP
 * and every service publishes to it, as in any deployment; routing
 * publishes to BENCH_EVENTS_EP (the bench's SUB) too. */
int pipeline_start(children_t *children, const options_t *opts, const char *prefix,
                   const char *ingest_ep, const char *bench_events_ep,
                   const char *reporting_events_ep, err_t *err)
{
    if (s_write_config(children, opts->reps, opts->strategy, err) < 0)
        return -1;
    /* One instance of each: scoring and routing bind their PULL. Two: the
     * senders bind (">tcp://"): ingest one PUSH both scoring instances
     * connect to, each scoring instance its own PUSH both routing instances
     * connect to; the second routing has its own commands endpoint. */
    char scoring_ep[64], routing_ep[2][64], commands_ep[2][64];
    bench_free_endpoint(scoring_ep, sizeof scoring_ep);
    for (int i = 0; i < 2; i++) {
        bench_free_endpoint(routing_ep[i], sizeof routing_ep[i]);
        bench_free_endpoint(commands_ep[i], sizeof commands_ep[i]);
    }
    bool shared = opts->instances > 1;
    children->count = shared ? PROCESS_MAX : SERVICE_COUNT;
    int rc = 0;
    for (int s = 0; rc == 0 && s < children->count; s++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", opts->bin_dir, pipeline_services[s]);
        if (access(path, X_OK) != 0) {
            rc = err_set(err, ERR_NOTFOUND, "%s: %s (build it, or pass --bin DIR)", path,
                         strerror(errno));
            break;
        }
        bool second = s >= SERVICE_COUNT;
        bool scoring = strcmp(pipeline_services[s], "leadops-scoring") == 0;
        bool routing = strcmp(pipeline_services[s], "leadops-routing") == 0;
        char vars[11][PATH_MAX], *var_list[11];
        snprintf(vars[0], sizeof vars[0], "LEADOPS_REDIS_HOST=%s", opts->redis_host);
        snprintf(vars[1], sizeof vars[1], "LEADOPS_REDIS_PORT=%d", opts->redis_port);
        snprintf(vars[2], sizeof vars[2], "LEADOPS_REDIS_PREFIX=%s", prefix);
        snprintf(vars[3], sizeof vars[3], "LEADOPS_ENDPOINTS_INGEST=%s", ingest_ep);
        snprintf(vars[4], sizeof vars[4], "LEADOPS_ENDPOINTS_SCORING=%s%s", shared ? ">" : "",
                 scoring_ep);
        if (!shared)
            snprintf(vars[5], sizeof vars[5], "LEADOPS_ENDPOINTS_ROUTING=%s", routing_ep[0]);
        else if (scoring)
            snprintf(vars[5], sizeof vars[5], "LEADOPS_ENDPOINTS_ROUTING=>%s", routing_ep[second]);
        else
            snprintf(vars[5], sizeof vars[5], "LEADOPS_ENDPOINTS_ROUTING=>%s,%s", routing_ep[0],
                     routing_ep[1]);
        snprintf(vars[6], sizeof vars[6], "LEADOPS_ENDPOINTS_COMMANDS=%s", commands_ep[second]);
        if (routing)
            snprintf(vars[7], sizeof vars[7], "LEADOPS_ENDPOINTS_EVENTS=%s,%s", reporting_events_ep,
                     bench_events_ep);
        else
            snprintf(vars[7], sizeof vars[7], "LEADOPS_ENDPOINTS_EVENTS=%s", reporting_events_ep);
        snprintf(vars[8], sizeof vars[8], "LEADOPS_LOG_LEVEL=warn");
        snprintf(vars[9], sizeof vars[9], "LEADOPS_HTTP_INGEST_LISTEN=127.0.0.1:0");
        snprintf(vars[10], sizeof vars[10], "LEADOPS_HTTP_REPORTING_LISTEN=127.0.0.1:0");
        for (int i = 0; i < 11; i++)
            var_list[i] = vars[i];
        char **envp = bench_service_env(var_list, 11, err);
        if (!envp)
            return -1;
        const char *argv[] = {path, "--config", children->config_path, NULL};
        children->services[s] = bench_spawn("bench_pipeline", path, argv, envp, -1, err);
        free(envp);
        if (children->services[s] < 0) {
            children->services[s] = 0;
            rc = -1;
        }
    }
    return rc;
}

int pipeline_check(children_t *children, err_t *err)
{
    for (int s = 0; s < children->count; s++)
        if (!bench_child_is_running(&children->services[s]))
            return err_set(err, ERR_IO, "%s exited (see its messages above)", pipeline_labels[s]);
    return 0;
}

/* --queued: leads queued-FIRST..queued-LAST waiting in the backlog queue,
 * as routing.lua leaves a lead it could not place: score 55, priority
 * round((1000 - 55) * 100) * 1e10 + sequence (so that the re-ordering
 * pass finds each where it belongs and moves none). */
static const char s_prequeue_script[] =
    "local p, now = ARGV[1], ARGV[4]\n"
    "local waiting = p .. ':queue:" BACKLOG_QUEUE ":waiting'\n"
    "for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do\n"
    "  local id = 'queued-' .. i\n"
    "  redis.call('HSET', p .. ':lead:' .. id, 'status', 'queued', 'queue', '" BACKLOG_QUEUE "',\n"
    "             'fit', '55', 'score', '55', 'stage', 'mql', 'has_lead', '1', 'qualified', '1',\n"
    "             'ingested_at', now, 'queued_at', now, 'waiting_reason',\n"
    "             'no eligible rep: 1 away')\n"
    "  redis.call('ZADD', waiting, 94500 * 1e10 + i + 1, id)\n"
    "end\n"
    "return 1\n";

int pipeline_prequeue(store_t *store, const char *prefix, long queued, err_t *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    for (long first = 0; first < queued; first += PREQUEUE_CHUNK) {
        long last = first + PREQUEUE_CHUNK < queued ? first + PREQUEUE_CHUNK - 1 : queued - 1;
        char from[24], to[24];
        snprintf(from, sizeof from, "%ld", first);
        snprintf(to, sizeof to, "%ld", last);
        const char *argv[] = {"EVAL", s_prequeue_script, "0", prefix, from, to, now};
        store_value_t *reply = store_commandv(store, 7, argv, NULL, err);
        if (!reply)
            return -1;
        int rc = reply->type == STORE_ERROR ? err_set(err, ERR_IO, "--queued: %s", reply->str) : 0;
        store_value_free(&reply);
        if (rc < 0)
            return -1;
    }
    return 0;
}
