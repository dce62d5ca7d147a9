/* leadopsctl simulate: a what-if. Replays a CRM history through the real
 * routing engine under one config (and, with --compare, under another) on
 * a simulated clock and a private redis-server that lives only as long as
 * the command, and prints what each config would have done. It never opens
 * the Redis the configs name: live state is never read nor written.
 *
 * The pieces: simulate_history (the CSV files), redis_child (common/: the
 * private Redis), simulate_engine and simulate_sync (the replay), simulate_stats (the
 * figures) and simulate_report (the tables). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "pace.h"
#include "redis_child.h"
#include "simulate_engine.h"
#include "simulate_history.h"
#include "simulate_report.h"

#define OPEN_DAYS_DEFAULT 60

typedef struct {
    const char *config, *compare, *history, *accounts, *teams;
    bool json;
    uint64_t seed;
    int open_days;
} s_options_t;

static const char s_synopsis[] =
    "usage: leadopsctl simulate --config FILE --history FILE [--compare OTHER_CONFIG]\n"
    "                           [--accounts FILE] [--teams FILE] [--json] [--seed N]\n"
    "                           [--open-days N]\n";

/* The synopsis on stderr (a usage error: exit status 2), or all the help on stdout. */
static int s_usage(FILE *out)
{
    fputs(s_synopsis, out);
    if (out != stdout) {
        fputs("`leadopsctl simulate --help` tells more.\n", out);
        return 2;
    }
    fprintf(out,
            "\n"
            "Replays a CRM pipeline history through the routing engine (the same routing.lua\n"
            "leadops-routing runs) on a simulated clock, and reports what the config would have\n"
            "done; --compare runs a second config on the same history and prints both side by\n"
            "side (each figure reads A | B). Live state is never touched: the replay runs on a\n"
            "private redis-server (which must be on PATH, or named by LEADOPS_REDIS_SERVER)\n"
            "started on a free 127.0.0.1 port without persistence in a temp dir, and stopped at\n"
            "the end, also on an error or ^C.\n"
            "\n"
            "  --config FILE     the routing config to try (queues, rules, reps, hours, caps)\n"
            "  --history FILE    the pipeline export: opportunity_id, sales_agent, product,\n"
            "                    account, deal_stage, engage_date, close_date (the Maven CRM\n"
            "                    sales_pipeline.csv); extra columns are ignored\n"
            "  --compare FILE    a second config, B, run on the same history\n"
            "  --accounts FILE   account, sector, office_location: a lead's industry (sector)\n"
            "                    and country (office_location), for rules\n"
            "  --teams FILE      sales_agent, manager, regional_office: attributes.office and\n"
            "                    attributes.manager of the agent the history names\n"
            "  --json            the figures as JSON on stdout ({\"a\": ..., \"b\": ...})\n"
            "  --seed N          fixes every draw: arrival and close times, accept delays (1)\n"
            "  --open-days N     an opportunity still open in the history closes N days after\n"
            "                    it arrived (%d)\n"
            "\n"
            "How the replay works. Each opportunity is a lead arriving on its engage_date at a\n"
            "time of day drawn from 08:00-18:00 America/Chicago; rows without an engage_date\n"
            "are skipped and counted. Every lead is routed at the route stage (the lowest\n"
            "stage a queue takes) to the queue the config's rules pick, matching industry,\n"
            "country, company and attributes.product, .series (GTX, MG, GTK), .account,\n"
            ".office, .manager and .agent (the history's agent, slugged). Simulated reps\n"
            "accept an assignment after a seeded delay (mostly minutes, some past the SLA,\n"
            "which makes the engine re-route them) and close the lead at its close_date,\n"
            "which frees capacity. Working windows, caps and SLAs run on the simulated clock\n"
            "in each rep's time zone; the SLA and overflow sweeps run when a deadline falls,\n"
            "waiting leads are offered to reps whenever a working window or a local day\n"
            "begins.\n"
            "\n"
            "The report. How the rows ended up (assigned + waiting + not routed + skipped =\n"
            "rows), then per queue and per rep: leads assigned (re-assignments included),\n"
            "open leads over time (peak / time-weighted mean), SLA breaches, the wait from\n"
            "intake to first assignment (p50/p90/p99, simulated time), and a sparkline of\n"
            "assignments per month; per queue also its strategy, its fairness (the spread,\n"
            "most minus fewest assignments among its reps, and their Gini coefficient: 0\n"
            "even, towards 1 one rep has them all), leads overflowed to another queue,\n"
            "escalations and leads still waiting at the end; per rep its capacity/daily cap\n"
            "and its deals in the history. A one-line summary ends it. Progress goes to\n"
            "stderr when it is a terminal.\n"
            "\n"
            "Exit status: 0 done, 1 a bad history row (named FILE:LINE), a failed Redis or\n"
            "an interrupted run, 2 a usage or configuration error.\n",
            OPEN_DAYS_DEFAULT);
    return 0;
}

/* Returns 0, 1 (--help printed) or 2 (usage error, printed). */
static int s_parse(int argc, char **argv, s_options_t *opt)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return s_usage(stdout), 1;
        if (strcmp(arg, "--json") == 0) {
            opt->json = true;
            continue;
        }
        if (!value) {
            fprintf(stderr, "leadopsctl simulate: %s needs a value\n", arg);
            return s_usage(stderr);
        }
        char *end = NULL;
        errno = 0;
        if (strcmp(arg, "--config") == 0) {
            opt->config = value;
        } else if (strcmp(arg, "--compare") == 0) {
            opt->compare = value;
        } else if (strcmp(arg, "--history") == 0) {
            opt->history = value;
        } else if (strcmp(arg, "--accounts") == 0) {
            opt->accounts = value;
        } else if (strcmp(arg, "--teams") == 0) {
            opt->teams = value;
        } else if (strcmp(arg, "--seed") == 0) {
            opt->seed = strtoull(value, &end, 10);
            if (*end || errno || *value == '-') {
                fprintf(stderr, "leadopsctl simulate: --seed %s: expected a number\n", value);
                return 2;
            }
        } else if (strcmp(arg, "--open-days") == 0) {
            long days = strtol(value, &end, 10);
            if (*end || errno || days < 1 || days > 3650) {
                fprintf(stderr, "leadopsctl simulate: --open-days %s: expected 1..3650\n", value);
                return 2;
            }
            opt->open_days = (int)days;
        } else {
            fprintf(stderr, "leadopsctl simulate: unknown option %s\n", arg);
            return s_usage(stderr);
        }
        i++;
    }
    if (!opt->config || !opt->history) {
        fprintf(stderr, "leadopsctl simulate: --config and --history are required\n");
        return s_usage(stderr);
    }
    return 0;
}

static void s_progress(void *arg, const char *label, size_t arrived, size_t total,
                       int64_t history_ms)
{
    char day[16];
    time_t t = (time_t)(history_ms / 1000);
    struct tm tm;
    strftime(day, sizeof day, "%Y-%m-%d", gmtime_r(&t, &tm));
    ctl_progress_draw(arg, "simulate %s: %zu/%zu leads arrived, simulated %s", label, arrived,
                      total, day);
}

/* Runs CFG on the server's store; the figures, or NULL (printed). */
static json_t *s_run(const config_t *cfg, const char *label, const sim_history_t *history,
                     store_t *store, const s_options_t *opt)
{
    ctl_progress_t progress;
    ctl_progress_start(&progress);
    sim_engine_options_t engine = {.seed = opt->seed,
                                   .label = label,
                                   .progress = s_progress,
                                   .progress_arg = &progress,
                                   .interrupted = pace_interrupted};
    err_t err = {0};
    json_t *figures = sim_engine_run(cfg, history, store, &engine, &err);
    ctl_progress_end(&progress);
    if (!figures && err.code != ERR_BUSY) /* interrupted: said once, at the end */
        fprintf(stderr, "leadopsctl simulate: %s (%s): %s\n", label, cfg->path, err.msg);
    return figures;
}

static config_t *s_load_config(const char *path)
{
    err_t err = {0};
    config_t *cfg = config_load(path, &err);
    if (!cfg)
        fprintf(stderr, "leadopsctl simulate: configuration error: %s\n", err.msg);
    return cfg;
}

int ctl_simulate(int argc, char **argv, const config_t *base)
{
    (void)base; /* its Redis is live state: never used here */
    s_options_t opt = {.seed = 1, .open_days = OPEN_DAYS_DEFAULT};
    int rc = s_parse(argc, argv, &opt);
    if (rc)
        return rc == 1 ? 0 : rc;
    config_t *cfg_a = s_load_config(opt.config), *cfg_b = NULL;
    if (!cfg_a || (opt.compare && !(cfg_b = s_load_config(opt.compare)))) {
        config_destroy(&cfg_a);
        return 2;
    }
    err_t err = {0};
    sim_history_options_t history_opts = {.pipeline_path = opt.history,
                                          .accounts_path = opt.accounts,
                                          .teams_path = opt.teams,
                                          .seed = opt.seed,
                                          .open_days = opt.open_days};
    sim_history_t *history = sim_history_load(&history_opts, &err);
    redis_child_t server = {0};
    store_t *store = NULL;
    json_t *a = NULL, *b = NULL;
    rc = 1;
    if (!history) {
        fprintf(stderr, "leadopsctl simulate: %s\n", err.msg);
        goto done;
    }
    pace_catch_signals();
    /* A private redis-server: a what-if never touches live state. */
    if (redis_child_start(&server, &err) < 0) {
        fprintf(stderr, "leadopsctl simulate: a private redis-server of its own: %s\n", err.msg);
        goto done;
    }
    store_options_t store_opts = redis_child_options(&server, 10000);
    if (!(store = store_new(&store_opts, true, &err))) {
        fprintf(stderr, "leadopsctl simulate: private Redis: %s\n", err.msg);
        goto done;
    }
    if (!(a = s_run(cfg_a, "A", history, store, &opt)) ||
        (cfg_b && !(b = s_run(cfg_b, "B", history, store, &opt))))
        goto done;
    rc = 0;
done:
    /* The private Redis goes first: nothing below needs it. */
    store_destroy(&store);
    redis_child_stop(&server);
    if (rc == 0) {
        if (opt.json) {
            json_t *out = json_pack("{s:O, s:I, s:s}", "a", a, "seed", (json_int_t)opt.seed,
                                    "history", opt.history);
            if (b)
                json_object_set(out, "b", b);
            ctl_print_json(out);
            sim_report_summary(stderr, a, b);
        } else {
            sim_report_print(stdout, a, b);
            putchar('\n');
            sim_report_summary(stdout, a, b);
        }
    } else if (pace_interrupted()) {
        fprintf(stderr, "leadopsctl simulate: interrupted; the private Redis is stopped\n");
        rc = 130;
    }
    json_decref(a);
    json_decref(b);
    sim_history_destroy(&history);
    config_destroy(&cfg_a);
    config_destroy(&cfg_b);
    return rc;
}
