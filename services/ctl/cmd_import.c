/* leadopsctl import: replays a CRM export (CSV) into ingest, each row mapped
 * to a lead or an activity by a mapping file (import_map.h). Rows go out in
 * file order through the reliable producer; a row that cannot be read,
 * mapped or validated is reported with its line and skipped, and so is a
 * row ingest rejects (its ack is traced back to the line): bad rows never
 * stop an import. Re-importing a file is a no-op at ingest, since a row's
 * event id is derived from its source, kind and id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "csv.h"
#include "ctl.h"
#include "envelope.h"
#include "import_map.h"
#include "json_codec.h"
#include "lead.h"
#include "pace.h"
#include "producer.h"

#define FLUSH_MS 30000 /* for the last window's acks; longer means ingest is stuck */

typedef struct {
    ctl_problems_t problems; /* on stderr, of the CSV */
    uint64_t bad;            /* rows not sent: unreadable, unmapped or invalid */
    uint64_t out_of_order;   /* --speed: rows timed before the row before them */
    json_t *lines;           /* owned; event id -> the row's line, until its ack */
} s_import_t;

typedef struct {
    const char *csv_path, *map_path, *endpoint;
    double rate;  /* --rate: rows per second; 0: not set */
    double speed; /* --speed: times faster than the file's clock; 0: not set */
    bool dry_run;
} s_options_t;

/* A CSV error reads "line N: reason" (csv.h): report it as FILE:N: reason. */
static void s_csv_problem(s_import_t *state, uint64_t line, const char *msg)
{
    const char *reason = strncmp(msg, "line ", 5) == 0 ? strstr(msg, ": ") : NULL;
    if (reason)
        line = strtoull(msg + 5, NULL, 10), reason += 2;
    ctl_problem(&state->problems, line, "%s", reason ? reason : msg);
}

static void s_on_ack(void *arg, const Leadops__Ack *ack)
{
    s_import_t *state = arg;
    const char *event_id = ack->event_id ? ack->event_id : "";
    json_t *line = json_object_get(state->lines, event_id);
    if (ack->status == LEADOPS__ACK__STATUS__REJECTED)
        ctl_problem(&state->problems, line ? (uint64_t)json_integer_value(line) : 0,
                    "rejected by ingest: %s%s%s", ack->reason ? ack->reason : "",
                    line ? "" : " (event ", line ? "" : event_id);
    json_object_del(state->lines, event_id);
}

/* What ingest would check, checked here so that the report names the line. */
static int s_validate(const json_t *obj, import_kind_t kind, const config_t *cfg, err_t *err)
{
    int rc = -1;
    if (kind == IMPORT_LEAD) {
        Leadops__Lead *lead = json_to_lead(obj, err);
        if (lead) {
            lead_normalize(lead);
            rc = lead_validate(lead, err);
            leadops__lead__free_unpacked(lead, NULL);
        }
    } else {
        Leadops__Activity *activity = json_to_activity(obj, err);
        if (activity) {
            rc = activity_check(activity, cfg, err);
            leadops__activity__free_unpacked(activity, NULL);
        }
    }
    return rc;
}

/* Waits until the monotonic DUE_MS, handling acks meanwhile; returns
 * early on SIGINT/SIGTERM. */
static void s_wait_until(producer_t *producer, int64_t due_ms)
{
    int64_t now;
    while (!pace_interrupted() && (now = clock_mono_ms()) < due_ms) {
        int64_t left = due_ms - now;
        producer_poll(producer, (int)(left < 200 ? left : 200));
    }
}

/* --speed: the row at TIME_MS is due SPEED times sooner after the first
 * timed row than in the file. A row without a time, or earlier than the
 * latest time so far (reported), goes at once. */
typedef struct {
    int64_t start_mono_ms, first_ms, latest_ms; /* first_ms -1: no timed row yet */
} s_clock_t;

static void s_pace_speed(s_import_t *state, s_clock_t *clock, producer_t *producer, double speed,
                         uint64_t line, int64_t time_ms)
{
    if (time_ms < 0)
        return;
    if (clock->first_ms < 0) {
        clock->first_ms = clock->latest_ms = time_ms;
        clock->start_mono_ms = clock_mono_ms();
        return;
    }
    if (time_ms < clock->latest_ms) {
        char at[40], latest[40];
        json_format_time(time_ms, at, sizeof at);
        json_format_time(clock->latest_ms, latest, sizeof latest);
        state->out_of_order++;
        ctl_problem(&state->problems, line,
                    "out of time order (%s is before %s): sent without waiting", at, latest);
        return;
    }
    clock->latest_ms = time_ms;
    s_wait_until(producer,
                 clock->start_mono_ms + (int64_t)((double)(time_ms - clock->first_ms) / speed));
}

static int s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: leadopsctl import FILE.csv|- --map MAPPING.yaml [--rate N | --speed Kx | --max]\n"
        "                         [--dry-run] [--endpoint ENDPOINT]\n"
        "Imports a CRM export: each CSV row becomes a lead or an activity as the mapping\n"
        "file says (column names, types, date formats, value renames; examples in\n"
        "deploy/mappings/), sent to ingest over ZeroMQ. A row's event id comes from its\n"
        "source, kind and id, so importing a file again changes nothing. Bad rows are\n"
        "reported as FILE:LINE: reason (the first %d, then counted) and skipped.\n"
        "  --map FILE     the mapping file (required)\n"
        "  --rate N       at most N rows per second\n"
        "  --speed Kx     replay by the file's own timestamps, K times faster than they\n"
        "                 happened (60x: an hour in a minute); rows must be in time order\n"
        "  --max          as fast as ingest acknowledges (the default)\n"
        "  --dry-run      read, map and validate every row; print the JSON lines that\n"
        "                 would be sent (`leadopsctl send -` takes them) instead\n"
        "  --endpoint E   ingest's ZeroMQ endpoint (default: endpoints.ingest)\n"
        "Exit status: 0 when every row was sent and accepted (or a duplicate), 1 when\n"
        "some were bad or rejected, 2 for a usage or mapping error.\n",
        CTL_PROBLEMS_SHOWN);
    return out == stdout ? 0 : 2;
}

/* Returns 0, 1 (--help printed) or 2 (usage error, printed). */
static int s_parse(int argc, char **argv, const config_t *cfg, s_options_t *opt)
{
    int pacings = 0;
    memset(opt, 0, sizeof *opt);
    opt->endpoint = cfg->ep_ingest;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return s_usage(stdout) + 1;
        if (strcmp(arg, "--dry-run") == 0) {
            opt->dry_run = true;
        } else if (strcmp(arg, "--max") == 0) {
            pacings++;
        } else if (next && strcmp(arg, "--map") == 0) {
            opt->map_path = argv[++i];
        } else if (next && strcmp(arg, "--endpoint") == 0) {
            opt->endpoint = argv[++i];
        } else if (next && strcmp(arg, "--rate") == 0) {
            opt->rate = strtod(argv[++i], &end);
            pacings++;
            if (*end || !(opt->rate > 0)) {
                fprintf(stderr, "leadopsctl import: --rate takes rows per second, e.g. 200\n");
                return 2;
            }
        } else if (next && strcmp(arg, "--speed") == 0) {
            opt->speed = strtod(argv[++i], &end);
            pacings++;
            if ((*end && strcmp(end, "x") != 0) || !(opt->speed > 0)) {
                fprintf(stderr, "leadopsctl import: --speed takes a factor, e.g. 60x\n");
                return 2;
            }
        } else if ((arg[0] != '-' || strcmp(arg, "-") == 0) && !opt->csv_path) {
            opt->csv_path = arg;
        } else {
            return s_usage(stderr);
        }
    }
    if (!opt->csv_path || !opt->map_path)
        return s_usage(stderr);
    if (pacings > 1) {
        fprintf(stderr, "leadopsctl import: --rate, --speed and --max exclude each other\n");
        return 2;
    }
    return 0;
}

/* Maps, validates and (unless a dry run) sends every row after the header.
 * Returns 0, or -1 when sending failed for good (ingest gone; printed). */
static int s_rows(s_import_t *state, const s_options_t *opt, csv_reader_t *csv,
                  const import_map_t *map, size_t columns, const config_t *cfg,
                  producer_t *producer, ctl_progress_t *progress, uint64_t *rows)
{
    s_clock_t clock = {.first_ms = -1};
    err_t err = {0};
    int read;
    while (!pace_interrupted() && (read = csv_read(csv, &err)) != 0) {
        if (read < 0 && err.code == ERR_IO) {
            fprintf(stderr, "leadopsctl import: %s: %s\n", opt->csv_path, err.msg);
            return -1;
        }
        (*rows)++;
        uint64_t line = csv_record_line(csv);
        size_t count;
        const char *const *cells = csv_fields(csv, &count);
        int64_t time_ms = -1;
        json_t *obj = NULL;
        if (read < 0) {
            s_csv_problem(state, line, err.msg);
        } else if (count != columns) {
            ctl_problem(&state->problems, line, "%zu fields, the header has %zu", count, columns);
        } else if (!(obj = import_map_row(map, cells, count, &time_ms, &err)) ||
                   s_validate(obj, import_map_kind(map), cfg, &err) < 0) {
            ctl_problem(&state->problems, line, "%s", err.msg);
            json_decref(obj);
            obj = NULL;
        }
        if (!obj) {
            state->bad++;
            continue;
        }
        if (opt->dry_run) {
            json_dumpf(obj, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(obj);
            continue;
        }
        char event_id[64];
        size_t size;
        uint8_t *bytes =
            ctl_envelope_from_json(obj, ENVELOPE_PRODUCER_IMPORT, event_id, &size, &err);
        json_decref(obj);
        if (!bytes) {
            ctl_problem(&state->problems, line, "%s", err.msg);
            state->bad++;
            continue;
        }
        if (opt->speed > 0)
            s_pace_speed(state, &clock, producer, opt->speed, line, time_ms);
        else
            pace_rate(progress->start_ms, producer_stats(producer)->sent, opt->rate);
        json_object_set_new(state->lines, event_id, json_integer((json_int_t)line));
        int rc = producer_send(producer, event_id, bytes, size, &err);
        free(bytes);
        if (rc < 0) {
            fprintf(stderr, "%sleadopsctl import: %s\n", state->problems.tty ? "\r\033[K" : "",
                    err.msg);
            return -1;
        }
        const producer_stats_t *s = producer_stats(producer);
        ctl_progress_draw(progress, "line %llu: %llu sent, %llu accepted, %llu rejected, %llu bad",
                          (unsigned long long)line, (unsigned long long)s->sent,
                          (unsigned long long)s->accepted, (unsigned long long)s->rejected,
                          (unsigned long long)state->bad);
    }
    return 0;
}

static void s_summary(const s_import_t *state, const s_options_t *opt, producer_t *producer,
                      uint64_t rows, double seconds)
{
    ctl_problems_end(&state->problems);
    double per_s = seconds > 0 ? (double)rows / seconds : 0;
    if (!producer) {
        fprintf(
            stderr,
            "import %s (dry run): %llu rows, %llu valid, %llu bad rows in %.2f s (%.0f rows/s)\n",
            opt->csv_path, (unsigned long long)rows, (unsigned long long)(rows - state->bad),
            (unsigned long long)state->bad, seconds, per_s);
        return;
    }
    const producer_stats_t *s = producer_stats(producer);
    fprintf(stderr,
            "import %s: %llu rows, %llu sent, %llu accepted, %llu duplicates, %llu rejected, "
            "%llu bad rows in %.2f s (%.0f rows/s)",
            opt->csv_path, (unsigned long long)rows, (unsigned long long)s->sent,
            (unsigned long long)s->accepted, (unsigned long long)s->duplicates,
            (unsigned long long)s->rejected, (unsigned long long)state->bad, seconds, per_s);
    if (state->out_of_order)
        fprintf(stderr, ", %llu out of time order", (unsigned long long)state->out_of_order);
    if (s->resends)
        fprintf(stderr, ", %llu resends", (unsigned long long)s->resends);
    fputc('\n', stderr);
}

int ctl_import(int argc, char **argv, const config_t *cfg)
{
    s_options_t opt;
    int rc = s_parse(argc, argv, cfg, &opt);
    if (rc)
        return rc == 1 ? 0 : rc; /* 1: --help printed */
    err_t err = {0};
    import_map_t *map = import_map_load(opt.map_path, &err);
    if (!map) {
        fprintf(stderr, "leadopsctl import: %s\n", err.msg);
        return 2;
    }
    FILE *in = strcmp(opt.csv_path, "-") == 0 ? stdin : fopen(opt.csv_path, "rb");
    csv_reader_t *csv = in ? csv_reader_new(in) : NULL;
    int header = csv ? csv_read(csv, &err) : -1;
    size_t columns = 0;
    const char *const *names = header == 1 ? csv_fields(csv, &columns) : NULL;
    if (header <= 0 || import_map_bind(map, names, columns, &err) < 0) {
        if (!in)
            fprintf(stderr, "leadopsctl import: cannot open %s\n", opt.csv_path);
        else if (header == 1) /* the mapping names a column the file lacks */
            fprintf(stderr, "leadopsctl import: %s\n", err.msg);
        else
            fprintf(stderr, "leadopsctl import: %s: %s\n", opt.csv_path,
                    header == 0 ? "no header line" : err.msg);
        csv_reader_destroy(&csv);
        if (in && in != stdin)
            fclose(in);
        import_map_destroy(&map);
        return header == 1 ? 2 : 1;
    }
    s_import_t state = {.problems = {.out = stderr, .path = opt.csv_path}, .lines = json_object()};
    void *ctx = NULL;
    producer_t *producer = NULL;
    if (!opt.dry_run) {
        ctx = zmq_ctx_new();
        producer = producer_new(ctx, opt.endpoint, cfg, s_on_ack, &state, &err);
        if (!producer)
            fprintf(stderr, "leadopsctl import: %s\n", err.msg);
    }
    rc = 1;
    if (opt.dry_run || producer) {
        ctl_progress_t progress;
        ctl_progress_start(&progress);
        state.problems.tty = progress.tty;
        uint64_t rows = 0;
        pace_catch_signals();
        bool sent_all =
            s_rows(&state, &opt, csv, map, columns, cfg, producer, &progress, &rows) == 0;
        bool ingest_gone = producer && !sent_all; /* waiting for acks would be in vain */
        if (pace_interrupted()) {
            fprintf(stderr, "%sleadopsctl import: interrupted after %llu rows\n",
                    state.problems.tty ? "\r\033[K" : "", (unsigned long long)rows);
            sent_all = false;
        }
        if (producer && !ingest_gone && producer_flush(producer, FLUSH_MS, &err) < 0) {
            fprintf(stderr, "leadopsctl import: %s\n", err.msg);
            sent_all = false;
        }
        s_summary(&state, &opt, producer, rows, ctl_progress_end(&progress));
        bool rejected = producer && producer_stats(producer)->rejected;
        rc = sent_all && !state.bad && !rejected ? 0 : 1;
    }
    producer_destroy(&producer);
    if (ctx)
        zmq_ctx_term(ctx);
    json_decref(state.lines);
    csv_reader_destroy(&csv);
    if (in != stdin)
        fclose(in);
    import_map_destroy(&map);
    return rc;
}
