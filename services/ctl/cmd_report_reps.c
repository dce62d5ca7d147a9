/* leadopsctl report reps / report ops: the rep and team KPIs of a period and
 * the live operations figures as terminal tables (or --json), from the same
 * views the reporting API serves (services/reporting/kpi.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "envelope.h"
#include "kpi.h"
#include "ops.h"

/* The options both subcommands take. */
typedef struct {
    const char *period, *from, *to; /* borrowed from argv; NULL when not given */
    bool json;
    bool help;
} s_options_t;

/* Parses ARGV[1..] (after the subcommand NAME, which may also come first
 * when the dispatcher passes "report NAME ..."). Returns 0, or 2 after
 * printing the problem and USAGE on stderr. */
static int s_parse(int argc, char **argv, const char *name, const char *usage, s_options_t *opts)
{
    *opts = (s_options_t){0};
    int i = 1;
    if (i < argc && strcmp(argv[i], name) == 0)
        i++;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        const char **value = strcmp(arg, "--period") == 0 ? &opts->period
                             : strcmp(arg, "--from") == 0 ? &opts->from
                             : strcmp(arg, "--to") == 0   ? &opts->to
                                                          : NULL;
        if (value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "leadopsctl report %s: %s needs a value\n%s", name, arg, usage);
                return 2;
            }
            *value = argv[++i];
        } else if (strcmp(arg, "--json") == 0) {
            opts->json = true;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            opts->help = true;
        } else {
            fprintf(stderr, "leadopsctl report %s: unknown argument '%s'\n%s", name, arg, usage);
            return 2;
        }
    }
    return 0;
}

/* ---- formatting -------------------------------------------------------- */

static const json_t *s_get(const json_t *object, const char *name)
{
    return json_object_get(object, name);
}

static double s_num(const json_t *object, const char *name)
{
    return json_number_value(json_object_get(object, name));
}

static const char *s_str(const json_t *object, const char *name, const char *fallback)
{
    const char *text = json_string_value(json_object_get(object, name));
    return text && *text ? text : fallback;
}

/* A share or rate as "42.1%", "-" when null. */
static const char *s_percent(char out[static 16], const json_t *value)
{
    if (!json_is_number(value))
        return "-";
    snprintf(out, 16, "%.1f%%", 100 * json_number_value(value));
    return out;
}

/* A growth as "+12%", "-" when null. */
static const char *s_growth(char out[static 16], const json_t *value)
{
    if (!json_is_number(value))
        return "-";
    snprintf(out, 16, "%+.0f%%", 100 * json_number_value(value));
    return out;
}

/* A duration in ms as "850ms", "12.3s", "4.5m", "2.1h", "3.2d"; "-" when null. */
static const char *s_duration(char out[static 16], const json_t *value)
{
    if (!json_is_number(value))
        return "-";
    double ms = json_number_value(value);
    if (ms < 1000)
        snprintf(out, 16, "%.0fms", ms);
    else if (ms < 60e3)
        snprintf(out, 16, "%.1fs", ms / 1e3);
    else if (ms < 3600e3)
        snprintf(out, 16, "%.1fm", ms / 60e3);
    else if (ms < 86400e3)
        snprintf(out, 16, "%.1fh", ms / 3600e3);
    else
        snprintf(out, 16, "%.1fd", ms / 86400e3);
    return out;
}

/* A number with one decimal, "-" when null. */
static const char *s_decimal(char out[static 24], const json_t *value)
{
    if (!json_is_number(value))
        return "-";
    snprintf(out, 24, "%.1f", json_number_value(value));
    return out;
}

/* Money without cents, "-" when null. */
static const char *s_money(char out[static 24], const json_t *value)
{
    if (!json_is_number(value))
        return "-";
    snprintf(out, 24, "%.0f", json_number_value(value));
    return out;
}

/* ---- report reps ------------------------------------------------------ */

#define KPI_HEADER "%-20s %-18s %6s %6s %5s %5s %5s %5s %5s %5s %6s %11s %9s %6s %7s %7s %7s\n"

static void s_print_header(const char *first, const char *second)
{
    printf(KPI_HEADER, first, second, "CALLS", "EMAILS", "MTGS", "DEMOS", "PROPS", "OPPS", "WON",
           "LOST", "WIN%", "WON VALUE", "AVG DEAL", "DAYS", "STL", "TOUCH", "GROWTH");
}

/* One row of figures (a rep, a team, the totals) under FIRST and SECOND. */
static void s_print_figures(const char *first, const char *second, const json_t *row)
{
    char win[16], value[24], deal[24], days[24], stl[16], touch[16], growth[16];
    printf("%-20.20s %-18.18s %6.0f %6.0f %5.0f %5.0f %5.0f %5.0f %5.0f %5.0f %6s %11s %9s %6s "
           "%7s %7s %7s\n",
           first, second, s_num(row, "calls"), s_num(row, "emails"), s_num(row, "meetings"),
           s_num(row, "demos"), s_num(row, "proposals"), s_num(row, "opportunities"),
           s_num(row, "won"), s_num(row, "lost"), s_percent(win, s_get(row, "win_rate")),
           s_money(value, s_get(row, "won_value")), s_money(deal, s_get(row, "avg_deal_size")),
           s_decimal(days, s_get(row, "avg_days_to_close")),
           s_duration(stl, s_get(row, "speed_to_lead_ms")),
           s_duration(touch, s_get(row, "first_touch_ms")),
           s_growth(growth, s_get(s_get(row, "growth"), "won_value")));
}

/* One line of the quartile comparison: LABEL, then the top and bottom values. */
static void s_print_side_by_side(const char *label, const char *top, const char *bottom)
{
    printf("  %-22s %18s %18s\n", label, top, bottom);
}

static void s_print_quartiles(const json_t *quartiles)
{
    const json_t *top = s_get(quartiles, "top"), *bottom = s_get(quartiles, "bottom");
    char a[24], b[24], head_top[32], head_bottom[32];
    snprintf(head_top, sizeof head_top, "TOP 25%% (%lld)",
             (long long)json_integer_value(s_get(top, "count")));
    snprintf(head_bottom, sizeof head_bottom, "BOTTOM 25%% (%lld)",
             (long long)json_integer_value(s_get(bottom, "count")));
    printf("\nTop quartile against bottom quartile (by won value)\n");
    s_print_side_by_side("", head_top, head_bottom);
    s_print_side_by_side("won value per rep", s_money(a, s_get(top, "won_value_per_rep")),
                         s_money(b, s_get(bottom, "won_value_per_rep")));
    s_print_side_by_side("win rate", s_percent(a, s_get(top, "win_rate")),
                         s_percent(b, s_get(bottom, "win_rate")));
    s_print_side_by_side("average deal", s_money(a, s_get(top, "avg_deal_size")),
                         s_money(b, s_get(bottom, "avg_deal_size")));
    s_print_side_by_side("days to close", s_decimal(a, s_get(top, "avg_days_to_close")),
                         s_decimal(b, s_get(bottom, "avg_days_to_close")));
    s_print_side_by_side("inputs per rep", s_decimal(a, s_get(top, "inputs_per_rep")),
                         s_decimal(b, s_get(bottom, "inputs_per_rep")));
    const json_t *top_mix = s_get(top, "mix"), *bottom_mix = s_get(bottom, "mix");
    const char *key;
    const json_t *share;
    json_object_foreach((json_t *)top_mix, key, share)
    {
        char label[40];
        snprintf(label, sizeof label, "  share of %s", key);
        s_print_side_by_side(label, s_percent(a, share), s_percent(b, s_get(bottom_mix, key)));
    }
    s_print_side_by_side("speed to lead", s_duration(a, s_get(top, "speed_to_lead_ms")),
                         s_duration(b, s_get(bottom, "speed_to_lead_ms")));
    s_print_side_by_side("first touch", s_duration(a, s_get(top, "first_touch_ms")),
                         s_duration(b, s_get(bottom, "first_touch_ms")));
}

static void s_print_reps(const json_t *view)
{
    const json_t *previous = s_get(view, "previous");
    printf("Rep KPIs %s .. %s (%lld days); growth against %s .. %s\n\n", s_str(view, "from", "?"),
           s_str(view, "to", "?"), (long long)json_integer_value(s_get(view, "days")),
           s_str(previous, "from", "?"), s_str(previous, "to", "?"));
    s_print_header("REP", "TEAM");
    size_t i;
    const json_t *row;
    json_array_foreach(s_get(view, "reps"), i, row)
        s_print_figures(s_str(row, "rep", "?"), s_str(row, "team", "-"), row);
    s_print_figures("TOTAL", "", s_get(view, "totals"));

    if (json_array_size(s_get(view, "teams"))) {
        printf("\n");
        s_print_header("TEAM", "REPS");
        json_array_foreach(s_get(view, "teams"), i, row)
        {
            char reps[16];
            snprintf(reps, sizeof reps, "%lld", (long long)json_integer_value(s_get(row, "reps")));
            s_print_figures(s_str(row, "team", "?"), reps, row);
        }
    }

    printf("\nLeaderboard (by won value)\n%4s  %-20s %-18s %11s %5s %6s\n", "RANK", "REP", "TEAM",
           "WON VALUE", "WON", "WIN%");
    json_array_foreach(s_get(view, "leaderboard"), i, row)
    {
        char value[24], win[16];
        printf("%4lld  %-20.20s %-18.18s %11s %5.0f %6s\n",
               (long long)json_integer_value(s_get(row, "rank")), s_str(row, "rep", "?"),
               s_str(row, "team", "-"), s_money(value, s_get(row, "won_value")), s_num(row, "won"),
               s_percent(win, s_get(row, "win_rate")));
    }
    if (json_array_size(s_get(view, "leaderboard")) == 0)
        printf("  no rep has activities or deals in this period\n");

    if (json_is_object(s_get(view, "quartiles")))
        s_print_quartiles(s_get(view, "quartiles"));
    printf("\nSTL: mean speed to lead (first assignments); TOUCH: mean time from the lead to its "
           "first call or email;\nDAYS: mean days to close; GROWTH: won value against the "
           "previous period.\n");
}

static const char s_reps_usage[] =
    "usage: leadopsctl report reps [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--period P] [--json]\n"
    "Rep and team KPIs of a period: inputs (calls, emails, meetings, demos, proposals,\n"
    "opportunities), deals won and lost, won value, win rate, average deal, days to close,\n"
    "speed to lead, time to first touch and growth against the period before; a leaderboard\n"
    "and the top quartile against the bottom one. --to is the last day counted. P: Nd (e.g.\n"
    "30d), this-month, last-month, this-quarter, last-quarter, this-year, last-year, all.\n"
    "Default: the last 30 days (UTC).\n";

int ctl_report_reps(int argc, char **argv, const config_t *cfg)
{
    s_options_t opts;
    int rc = s_parse(argc, argv, "reps", s_reps_usage, &opts);
    if (rc != 0)
        return rc;
    if (opts.help) {
        fputs(s_reps_usage, stdout);
        return 0;
    }
    err_t err = {0};
    kpi_period_t period;
    if (kpi_period_parse(opts.period, opts.from, opts.to, clock_now_ms(), &period, &err) < 0) {
        fprintf(stderr, "leadopsctl report reps: %s\n", err.msg);
        return 2;
    }
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    json_t *view = kpi_reps(store, cfg, &period, &err);
    store_destroy(&store);
    if (!view) {
        fprintf(stderr, "leadopsctl report reps: %s\n", err.msg);
        return 1;
    }
    if (opts.json) {
        ctl_print_json(view);
        return 0;
    }
    s_print_reps(view);
    json_decref(view);
    return 0;
}

/* ---- report ops ------------------------------------------------------- */

/* "a 3, b 2" from an object of counts, or "-" when empty. */
static void s_print_counts(const json_t *counts)
{
    const char *name;
    const json_t *count;
    bool first = true;
    json_object_foreach((json_t *)counts, name, count)
    {
        printf("%s%s %lld", first ? "" : ", ", name, (long long)json_integer_value(count));
        first = false;
    }
    printf("%s\n", first ? "-" : "");
}

/* One speed-to-lead line: LABEL, count and percentiles of STL. */
static void s_print_speed(const char *label, const json_t *stl)
{
    char p50[16], p90[16], p99[16];
    printf("  %-22s %6.0f  p50 %s, p90 %s, p99 %s\n", label, s_num(stl, "count"),
           s_duration(p50, s_get(stl, "p50")), s_duration(p90, s_get(stl, "p90")),
           s_duration(p99, s_get(stl, "p99")));
}

/* Intake by source and channel, distributions, rejects, services, lag. */
static void s_print_live(const json_t *view)
{
    static const char *const periods[][2] = {{"last_24h", "24 h"}, {"last_7d", "7 d"}};
    for (size_t i = 0; i < 2; i++) {
        const json_t *period = s_get(s_get(view, "intake"), periods[i][0]);
        printf("New leads (%s) %.0f\n  by source:  ", periods[i][1], s_num(period, "leads"));
        s_print_counts(s_get(period, "by_source"));
        printf("  by channel: ");
        s_print_counts(s_get(period, "by_channel"));
    }
    printf("Grades   ");
    s_print_counts(s_get(view, "grades"));
    printf("Scores  ");
    size_t i;
    const json_t *bucket;
    json_array_foreach(s_get(view, "score_buckets"), i, bucket)
        printf(" %s: %.0f", s_str(bucket, "bucket", "?"), s_num(bucket, "leads"));
    printf("\nSpeed to lead            count\n");
    const json_t *speed = s_get(view, "speed_to_lead");
    s_print_speed("intake to assignment", s_get(speed, "intake_to_assign"));
    s_print_speed("assignment to accept", s_get(speed, "assign_to_accept"));
    s_print_speed("intake to first touch", s_get(speed, "intake_to_touch"));
    printf("Rejects  ");
    s_print_counts(s_get(view, "rejects"));
    printf("Dead letters %.0f\n", s_num(view, "deadletter"));
    const json_t *lag = s_get(view, "lag");
    char scoring[16], routing[16];
    printf("Lag      to scoring %.0f in flight, oldest %s; to routing %.0f in flight, oldest %s\n",
           s_num(s_get(lag, "scoring"), "in_flight"),
           s_duration(scoring, s_get(s_get(lag, "scoring"), "oldest_ms")),
           s_num(s_get(lag, "routing"), "in_flight"),
           s_duration(routing, s_get(s_get(lag, "routing"), "oldest_ms")));

    printf("\n%-10s %-24s %8s %-5s %-10s %s\n", "SERVICE", "HOST", "PID", "STATE", "VERSION",
           "LAST SEEN");
    const json_t *service;
    json_array_foreach(s_get(view, "services"), i, service)
    {
        time_t seen = (time_t)(s_num(service, "seen_at") / 1000);
        struct tm tm;
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", gmtime_r(&seen, &tm));
        printf("%-10.10s %-24.24s %8.0f %-5s %-10.10s %s\n", s_str(service, "name", "?"),
               s_str(service, "host", "?"), s_num(service, "pid"),
               json_is_true(s_get(service, "up")) ? "up" : "down", s_str(service, "version", "?"),
               when);
    }
}

static void s_print_ops(const json_t *view)
{
    const json_t *summary = s_get(view, "summary"), *stl = s_get(summary, "speed_to_lead_ms");
    char p50[16], p90[16], p99[16];
    printf("Intake   leads %.0f, activities %.0f, duplicates %.0f, rejected %.0f\n",
           s_num(summary, "ingested_leads"), s_num(summary, "ingested_activities"),
           s_num(summary, "duplicates"), s_num(summary, "rejected"));
    printf("Pipeline scored %.0f, qualified %.0f, assigned %.0f, queued %.0f, waiting %.0f, "
           "closed %.0f\n",
           s_num(summary, "scored"), s_num(summary, "qualified"), s_num(summary, "assigned"),
           s_num(summary, "queued"), s_num(summary, "waiting"), s_num(summary, "closed"));
    printf("Speed to lead (%.0f assigned): p50 %s, p90 %s, p99 %s\n", s_num(stl, "count"),
           s_duration(p50, s_get(stl, "p50")), s_duration(p90, s_get(stl, "p90")),
           s_duration(p99, s_get(stl, "p99")));
    const json_t *sla = s_get(view, "sla");
    printf("SLA      clocks running %.0f, breaches %.0f, escalations %.0f, overflowed %.0f, "
           "reassigned %.0f, rejected by reps %.0f, accepted %.0f\n",
           s_num(sla, "pending"), s_num(sla, "sla_breaches"), s_num(sla, "escalations"),
           s_num(sla, "overflowed"), s_num(sla, "reassigned"), s_num(sla, "rejected_by_rep"),
           s_num(sla, "accepted"));

    printf("\n%-16s %8s %12s %6s %7s %9s  %s\n", "QUEUE", "WAITING", "OLDEST WAIT", "REPS",
           "ONLINE", "FREE CAP", "WHY THEY WAIT (first 100)");
    size_t i;
    const json_t *q;
    json_array_foreach(s_get(view, "queues"), i, q)
    {
        char oldest[16];
        printf("%-16.16s %8.0f %12s %6.0f %7.0f %9.0f  ", s_str(q, "name", "?"),
               s_num(q, "waiting"), s_duration(oldest, s_get(q, "oldest_wait_ms")),
               s_num(q, "reps"), s_num(q, "reps_online"), s_num(q, "free_capacity"));
        const char *reason;
        const json_t *count;
        bool first = true;
        json_object_foreach((json_t *)s_get(q, "waiting_reasons"), reason, count)
        {
            printf("%s%lld %s", first ? "" : "; ", (long long)json_integer_value(count), reason);
            first = false;
        }
        printf("%s\n", first ? "-" : "");
    }

    printf("\n%-20s %-8s %6s %9s %6s %9s\n", "REP", "STATUS", "OPEN", "CAPACITY", "UTIL",
           "ASSIGNED");
    const json_t *rep;
    json_array_foreach(s_get(view, "reps"), i, rep)
    {
        char util[16];
        printf("%-20.20s %-8.8s %6.0f %9.0f %6s %9.0f\n", s_str(rep, "id", "?"),
               s_str(rep, "status", "?"), s_num(rep, "open"), s_num(rep, "capacity"),
               s_percent(util, s_get(rep, "utilization")), s_num(rep, "assigned_total"));
    }
    printf("\n");
    s_print_live(view);
}

static const char s_ops_usage[] =
    "usage: leadopsctl report ops [--json]\n"
    "The live operations figures: intake, the pipeline's counters, speed-to-lead\n"
    "percentiles, SLA counts, per queue the leads waiting and why, per rep open leads\n"
    "against capacity; new leads by source and channel (24 h, 7 d), grades and scores\n"
    "of leads as last scored, speed from assignment to accept and from intake to the\n"
    "first call or email, rejects by reason, dead letters, each service up or down\n"
    "with its version, and the lag of the hops to scoring and routing. They are live:\n"
    "--period, --from and --to do not apply.\n";

int ctl_report_ops(int argc, char **argv, const config_t *cfg)
{
    s_options_t opts;
    int rc = s_parse(argc, argv, "ops", s_ops_usage, &opts);
    if (rc != 0)
        return rc;
    if (opts.help) {
        fputs(s_ops_usage, stdout);
        return 0;
    }
    if (opts.period || opts.from || opts.to) {
        fprintf(stderr, "leadopsctl report ops: the figures are live; a period does not apply "
                        "(see `report reps`)\n");
        return 2;
    }
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    json_t *view = ops_view(store, cfg, clock_now_ms(), &err);
    store_destroy(&store);
    if (!view) {
        fprintf(stderr, "leadopsctl report ops: %s\n", err.msg);
        return 1;
    }
    if (opts.json) {
        ctl_print_json(view);
        return 0;
    }
    s_print_ops(view);
    json_decref(view);
    return 0;
}
