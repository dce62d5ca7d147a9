/* leadopsctl send / gen: streams leads and activities to ingest over ZeroMQ. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ctl.h"
#include "envelope.h"
#include "gen.h"
#include "pace.h"
#include "producer.h"

#define REJECTS_SHOWN 5

typedef struct {
    uint64_t rejects_shown;
} s_send_state_t;

static void s_on_ack(void *arg, const Leadops__Ack *ack)
{
    s_send_state_t *state = arg;
    if (ack->status == LEADOPS__ACK__STATUS__REJECTED && state->rejects_shown++ < REJECTS_SHOWN)
        fprintf(stderr, "\r\033[Krejected %s: %s\n", ack->event_id, ack->reason);
}

static void s_summary(const char *what, const producer_stats_t *s, double seconds, uint64_t bad)
{
    fprintf(stderr,
            "%s: %llu sent in %.1f s (%.0f/s): %llu accepted, %llu duplicates, %llu rejected, "
            "%llu unreadable lines, %llu resends\n",
            what, (unsigned long long)s->sent, seconds, seconds > 0 ? (double)s->sent / seconds : 0,
            (unsigned long long)s->accepted, (unsigned long long)s->duplicates,
            (unsigned long long)s->rejected, (unsigned long long)bad,
            (unsigned long long)s->resends);
}

static int s_usage_send(FILE *out)
{
    fprintf(out, "usage: leadopsctl send [--endpoint ENDPOINT] [--rate N] FILE|-\n"
                 "Sends a JSON object (a lead or an activity) or a JSON-lines file to ingest\n"
                 "over ZeroMQ and waits for every ack. \"kind\": \"lead\"|\"activity\" says\n"
                 "which (default: an object with \"type\" is an activity).\n"
                 "  --endpoint E  ingest's ZeroMQ endpoint (default: endpoints.ingest)\n"
                 "  --rate N      at most N events per second (default: as fast as acked)\n");
    return out == stdout ? 0 : 2;
}

/* Sends DOC (an object, or an array of objects). Returns 0 or 1. */
static int s_send_document(producer_t *producer, ctl_progress_t *progress, const json_t *doc,
                           const char *path, uint64_t line_no, double rate, uint64_t *bad)
{
    size_t n = json_is_array(doc) ? json_array_size(doc) : 1;
    for (size_t k = 0; k < n; k++) {
        const json_t *item = json_is_array(doc) ? json_array_get(doc, k) : doc;
        char event_id[64];
        size_t size;
        err_t err = {0};
        uint8_t *bytes = ctl_envelope_from_json(item, "leadopsctl", event_id, &size, &err);
        if (!bytes) {
            fprintf(stderr, "%s:%llu: %s\n", path, (unsigned long long)line_no, err.msg);
            (*bad)++;
            continue;
        }
        pace_rate(progress->start_ms, producer_stats(producer)->sent, rate);
        int rc = producer_send(producer, event_id, bytes, size, &err);
        free(bytes);
        if (rc < 0) {
            fprintf(stderr, "leadopsctl send: %s\n", err.msg);
            return 1;
        }
        const producer_stats_t *s = producer_stats(producer);
        ctl_progress_draw(progress, "sent %llu, accepted %llu, rejected %llu",
                          (unsigned long long)s->sent, (unsigned long long)s->accepted,
                          (unsigned long long)s->rejected);
    }
    return 0;
}

int ctl_send(int argc, char **argv, const config_t *cfg)
{
    const char *endpoint = cfg->ep_ingest, *path = NULL;
    double rate = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return s_usage_send(stdout);
        else if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc)
            endpoint = argv[++i];
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (!path)
            path = argv[i];
        else
            return s_usage_send(stderr);
    }
    if (!path)
        return s_usage_send(stderr);
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "leadopsctl send: cannot open %s\n", path);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    err_t err = {0};
    s_send_state_t state = {0};
    producer_t *producer = producer_new(ctx, endpoint, cfg, s_on_ack, &state, &err);
    if (!producer) {
        fprintf(stderr, "leadopsctl send: %s\n", err.msg);
        zmq_ctx_term(ctx);
        return 1;
    }
    ctl_progress_t progress;
    ctl_progress_start(&progress);
    /* A file holding one JSON document (an object or an array) is sent
     * whole; anything else is read as JSON lines. */
    json_error_t jerr;
    uint64_t line_no = 0, bad = 0;
    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    json_t *whole = json_loadf(in, 0, &jerr);
    if (!whole)
        rewind(in);
    while (rc == 0) {
        json_t *doc = whole;
        whole = NULL;
        if (!doc) {
            if (line_no && !line)
                break; /* the whole file was one document, already sent */
            if ((len = getline(&line, &cap, in)) < 0)
                break;
            line_no++;
            if (len <= 1)
                continue;
            doc = json_loads(line, 0, &jerr);
            if (!doc) {
                fprintf(stderr, "%s:%llu: invalid JSON: %s\n", path, (unsigned long long)line_no,
                        jerr.text);
                bad++;
                continue;
            }
        } else {
            line_no = 1;
        }
        rc = s_send_document(producer, &progress, doc, path, line_no, rate, &bad);
        json_decref(doc);
    }
    free(line);
    if (in != stdin)
        fclose(in);
    if (rc == 0 && producer_flush(producer, 30000, &err) < 0) {
        fprintf(stderr, "leadopsctl send: %s\n", err.msg);
        rc = 1;
    }
    s_summary("send", producer_stats(producer), ctl_progress_end(&progress), bad);
    if (producer_stats(producer)->rejected || bad)
        rc = rc ? rc : 1;
    producer_destroy(&producer);
    zmq_ctx_term(ctx);
    return rc;
}

static int s_usage_gen(FILE *out)
{
    fprintf(out, "usage: leadopsctl gen [--count N | --duration SECONDS] [--rate N] [--seed S]\n"
                 "                      [--activity-ratio X] [--send [ENDPOINT]]\n"
                 "Generates a realistic stream of leads and activities (sources, industries,\n"
                 "sizes, countries and activity mix calibrated on real CRM data). Without\n"
                 "--send it prints JSON lines on stdout; with --send it sends them to ingest.\n"
                 "  --count N           events to generate (default 1000)\n"
                 "  --duration S        generate for S seconds instead of a count (0: until\n"
                 "                      SIGTERM or Ctrl-C)\n"
                 "  --rate N            events per second (default: as fast as possible)\n"
                 "  --seed S            random seed (default: new each run, printed): the same\n"
                 "                      seed gives the same stream, event ids included\n"
                 "  --activity-ratio X  share of events that are activities (default: calibrated)\n"
                 "  --send [ENDPOINT]   send to ingest (default endpoint: endpoints.ingest)\n");
    return out == stdout ? 0 : 2;
}

int ctl_gen(int argc, char **argv, const config_t *cfg)
{
    /* A fixed seed repeats event ids, which ingest rightly drops as
     * duplicates: default to a new seed per run, and print it. */
    uint64_t count = 1000, seed = (uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 32);
    double duration = -1, rate = 0, ratio = gen_calibrated_activity_ratio();
    const char *endpoint = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return s_usage_gen(stdout);
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc)
            duration = atof(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--activity-ratio") == 0 && i + 1 < argc)
            ratio = atof(argv[++i]);
        else if (strcmp(argv[i], "--send") == 0)
            endpoint =
                (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) ? argv[++i] : cfg->ep_ingest;
        else
            return s_usage_gen(stderr);
    }
    if (ratio < 0 || ratio >= 1) {
        fprintf(stderr, "leadopsctl gen: --activity-ratio must be in [0, 1)\n");
        return 2;
    }
    gen_t *gen = gen_new(seed);
    void *ctx = NULL;
    producer_t *producer = NULL;
    s_send_state_t state = {0};
    err_t err = {0};
    if (endpoint) {
        ctx = zmq_ctx_new();
        producer = producer_new(ctx, endpoint, cfg, s_on_ack, &state, &err);
        if (!producer) {
            fprintf(stderr, "leadopsctl gen: %s\n", err.msg);
            gen_destroy(&gen);
            zmq_ctx_term(ctx);
            return 1;
        }
    }
    ctl_progress_t progress;
    ctl_progress_start(&progress);
    int rc = 0;
    uint64_t made = 0;
    pace_catch_signals();
    while (rc == 0 && !pace_interrupted()) {
        bool done = duration > 0 ? (double)(clock_mono_ms() - progress.start_ms) >= duration * 1000
                    : duration == 0 ? false
                                    : made >= count;
        if (done)
            break;
        pace_rate(progress.start_ms, made, rate);
        json_t *obj = gen_next(gen, clock_now_ms(), ratio);
        made++;
        if (!producer) {
            char *text = json_dumps(obj, JSON_COMPACT);
            puts(text);
            free(text);
        } else {
            char event_id[64];
            size_t size;
            uint8_t *bytes = ctl_envelope_from_json(obj, "leadopsctl", event_id, &size, &err);
            if (!bytes || producer_send(producer, event_id, bytes, size, &err) < 0) {
                fprintf(stderr, "leadopsctl gen: %s\n", err.msg);
                rc = 1;
            }
            free(bytes);
            const producer_stats_t *s = producer_stats(producer);
            ctl_progress_draw(&progress, "sent %llu, accepted %llu, rejected %llu",
                              (unsigned long long)s->sent, (unsigned long long)s->accepted,
                              (unsigned long long)s->rejected);
        }
        json_decref(obj);
    }
    if (producer) {
        if (rc == 0 && producer_flush(producer, 30000, &err) < 0) {
            fprintf(stderr, "leadopsctl gen: %s\n", err.msg);
            rc = 1;
        }
        s_summary("gen", producer_stats(producer), ctl_progress_end(&progress), 0);
        fprintf(stderr, "gen: seed %llu\n", (unsigned long long)seed);
        producer_destroy(&producer);
        zmq_ctx_term(ctx);
    } else {
        ctl_progress_end(&progress);
    }
    gen_destroy(&gen);
    return rc;
}
