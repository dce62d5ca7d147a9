/* leadopsctl report plan / report commissions: the planning and commission
 * views of the reporting API (plan.h, commission.h) as terminal tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commission.h"
#include "ctl.h"
#include "envelope.h"
#include "forecast.h"
#include "plan.h"

/* Width of the forecast-against-capacity bars. */
#define CHART_WIDTH 40

static double s_num(const json_t *object, const char *name)
{
    return json_number_value(json_object_get(object, name));
}

static const char *s_str(const json_t *object, const char *name)
{
    const char *text = json_string_value(json_object_get(object, name));
    return text ? text : "-";
}

static bool s_is_num(const json_t *object, const char *name)
{
    return json_is_number(json_object_get(object, name));
}

/* NAME of OBJECT as "%.*f", or "-" when it is null. */
static const char *s_fmt(char out[static 32], const json_t *object, const char *name, int digits)
{
    if (!s_is_num(object, name))
        return "-";
    snprintf(out, 32, "%.*f", digits, s_num(object, name));
    return out;
}

/* "23.4%" for a fraction, "n/a" for null. */
static const char *s_percent(char out[static 32], const json_t *object, const char *name)
{
    if (!s_is_num(object, name))
        return "n/a";
    snprintf(out, 32, "%.1f%%", s_num(object, name) * 100);
    return out;
}

/* Parses the common options: --json, --help, and VALUED options named in
 * NAMES whose values land in VALUES. Returns 0, 1 for --help, -1 on a bad
 * argument (printed). argv[0] is the subcommand; a repeat of it is skipped. */
static int s_options(int argc, char **argv, const char *const *names, const char **values,
                     bool *json)
{
    int i = 1;
    if (argc > 1 && strcmp(argv[1], argv[0]) == 0)
        i = 2;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            *json = true;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        bool known = false;
        for (size_t n = 0; names[n] && !known; n++) {
            if (strcmp(argv[i], names[n]) != 0)
                continue;
            if (i + 1 >= argc) {
                fprintf(stderr, "leadopsctl report %s: %s needs a value\n", argv[0], argv[i]);
                return -1;
            }
            values[n] = argv[++i];
            known = true;
        }
        if (!known) {
            fprintf(stderr, "leadopsctl report %s: unknown argument '%s'\n", argv[0], argv[i]);
            return -1;
        }
    }
    return 0;
}

static int s_positive(const char *text, const char *what, int max, int *out)
{
    char *end = NULL;
    long value = text ? strtol(text, &end, 10) : 0;
    if (!text || end == text || *end || value < 1 || value > max) {
        fprintf(stderr, "leadopsctl report plan: %s: a whole number from 1 to %d, not '%s'\n", what,
                max, text ? text : "");
        return -1;
    }
    *out = (int)value;
    return 0;
}

/* ---- report plan ----------------------------------------------------- */

/* One bar: '#' forecast within capacity, '!' forecast beyond it, '.' spare
 * capacity, '|' the capacity itself. */
static void s_bar(char out[static CHART_WIDTH + 2], double forecast, double capacity, double scale)
{
    int f = scale > 0 ? (int)lround(forecast / scale * CHART_WIDTH) : 0;
    int c = scale > 0 && isfinite(capacity) ? (int)lround(capacity / scale * CHART_WIDTH) : -1;
    for (int i = 0; i <= CHART_WIDTH; i++)
        out[i] = i < f && i < c ? '#' : i < f ? '!' : i < c ? '.' : ' ';
    if (c >= 0 && c <= CHART_WIDTH)
        out[c] = '|';
    int end = CHART_WIDTH + 1;
    while (end > 0 && out[end - 1] == ' ')
        end--;
    out[end] = '\0';
}

static void s_print_queue(const json_t *queue)
{
    char a[32], b[32], c[32];
    const json_t *test = json_object_get(queue, "backtest");
    const json_t *model = json_object_get(queue, "model");
    printf("\nqueue %s: %s\n", s_str(queue, "queue"), s_str(queue, "series_note"));
    printf("  %lld reps (%lld shared with other queues); %s %s in the history\n",
           (long long)json_integer_value(json_object_get(queue, "reps")),
           (long long)json_integer_value(json_object_get(queue, "shared_reps")),
           s_fmt(a, queue, "history_total", 0), s_str(queue, "series"));
    if (!json_is_object(model)) {
        printf("  no forecast: %s\n", s_str(queue, "model_note"));
    } else {
        int harmonics = (int)json_integer_value(json_object_get(model, "harmonics"));
        if (strcmp(s_str(model, "kind"), "recent level") == 0)
            printf("  model: recent level (each weekday's mean over the last %d days), the "
                   "nearer in the back-test\n",
                   FORECAST_RECENT_DAYS);
        else
            printf("  model: level + trend + weekday effects%s, least squares on %lld days\n",
                   harmonics ? " + yearly season" : "",
                   (long long)json_integer_value(json_object_get(model, "days")));
    }
    if (json_is_object(test)) {
        long long skipped = (long long)json_integer_value(json_object_get(test, "skipped"));
        printf("  back-test: refitted without the last %lld weeks (from %s): MAPE %s over %lld "
               "weeks",
               (long long)json_integer_value(json_object_get(test, "weeks")),
               s_str(test, "first_week"), s_percent(a, test, "mape"),
               (long long)json_integer_value(json_object_get(test, "used")));
        if (skipped)
            printf(" (%lld week%s with no actual skipped)", skipped, skipped == 1 ? "" : "s");
        printf("; trend and seasons %s, recent level %s\n",
               s_percent(b, test, "mape_trend_and_seasons"),
               s_percent(c, test, "mape_recent_level"));
    }
    printf("  %-10s %10s %10s %10s\n", "WEEK", "FORECAST", "CAPACITY", "GAP");
    const json_t *weekly = json_object_get(queue, "weekly");
    double scale = 0;
    size_t i;
    const json_t *week;
    json_array_foreach(weekly, i, week)
    {
        printf("  %-10s %10s %10s %10s\n", s_str(week, "week"), s_fmt(a, week, "forecast", 1),
               s_is_num(week, "capacity") ? s_fmt(b, week, "capacity", 1) : "unbounded",
               s_fmt(c, week, "gap", 1));
        scale = fmax(scale, fmax(s_num(week, "forecast"), s_num(week, "capacity")));
    }
    if (json_is_object(model) && scale > 0) {
        printf("  forecast against capacity (# within, ! beyond, . spare, | capacity):\n");
        json_array_foreach(weekly, i, week)
        {
            char bar[CHART_WIDTH + 2];
            s_bar(bar, s_num(week, "forecast"),
                  s_is_num(week, "capacity") ? s_num(week, "capacity") : INFINITY, scale);
            printf("  %-10s %s\n", s_str(week, "week"), bar);
        }
    }
    printf("  advice: %s\n", s_str(json_object_get(queue, "advice"), "text"));
}

static void s_print_revenue(const json_t *revenue)
{
    char a[32], b[32], c[32], d[32], e[32];
    printf("\nrevenue: %lld won, %lld lost: win rate %s, average won deal %s\n",
           (long long)json_integer_value(json_object_get(revenue, "won")),
           (long long)json_integer_value(json_object_get(revenue, "lost")),
           s_percent(a, revenue, "win_rate"), s_fmt(b, revenue, "avg_won_value", 2));
    printf("  (%s)\n", s_str(revenue, "weighting"));
    printf("  %-8s %8s %14s %14s %14s %8s\n", "MONTH", "OPEN", "WEIGHTED", "FORECAST", "WON",
           "ERROR");
    size_t i;
    const json_t *month;
    json_array_foreach(json_object_get(revenue, "months"), i, month)
    {
        printf("  %-8s %8s %14s %14s %14s %8s%s\n", s_str(month, "month"),
               s_fmt(a, month, "open_at_start", 0), s_fmt(b, month, "weighted_pipeline", 0),
               s_fmt(c, month, "forecast", 0), s_fmt(d, month, "actual", 0),
               s_is_num(month, "error") ? s_percent(e, month, "error") : "-",
               json_is_true(json_object_get(month, "partial")) ? "  (not over)" : "");
    }
    long long skipped = (long long)json_integer_value(json_object_get(revenue, "mape_skipped"));
    printf("  forecast error: MAPE %s over %lld months, each forecast from the months before it",
           s_percent(a, revenue, "mape"),
           (long long)json_integer_value(json_object_get(revenue, "mape_months")));
    if (skipped)
        printf(" (%lld with nothing won skipped)", skipped);
    printf("\n");
    const json_t *next = json_object_get(revenue, "next_month");
    printf("  %s: %s open opportunities, weighted %s; forecast won %s (%s of the open pipeline "
           "closes in a month)\n",
           s_str(next, "month"), s_fmt(a, next, "open_pipeline", 0),
           s_fmt(b, next, "weighted_pipeline", 0), s_fmt(c, next, "forecast", 0),
           s_percent(d, next, "close_rate"));
    printf("  %-24s %6s %6s %9s %12s\n", "PRODUCT", "WON", "LOST", "WIN RATE", "AVG WON");
    const json_t *product;
    json_array_foreach(json_object_get(revenue, "products"), i, product)
    {
        printf("  %-24.24s %6lld %6lld %9s %12s\n", s_str(product, "product"),
               (long long)json_integer_value(json_object_get(product, "won")),
               (long long)json_integer_value(json_object_get(product, "lost")),
               s_percent(a, product, "win_rate"), s_fmt(b, product, "avg_won_value", 2));
    }
}

static void s_print_plan(const json_t *plan)
{
    const json_t *history = json_object_get(plan, "history");
    printf("demand against capacity, %lld weeks from %s\n",
           (long long)json_integer_value(json_object_get(plan, "weeks")),
           s_str(plan, "first_week"));
    printf("history: %s .. %s (%lld days)\n", s_str(history, "first_day"),
           s_str(history, "last_day"),
           (long long)json_integer_value(json_object_get(history, "days")));
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(history, "left_out"), i, item)
    {
        long long days = (long long)json_integer_value(json_object_get(item, "days_with_data"));
        printf("  left out: %s .. %s (%lld day%s with data, apart from the history)\n",
               s_str(item, "from"), s_str(item, "to"), days, days == 1 ? "" : "s");
    }
    const json_t *opportunities = json_object_get(plan, "opportunities");
    printf("opportunities: %s; %.0f created, %lld closed deals with an open date\n",
           s_str(opportunities, "source"), s_num(opportunities, "created"),
           (long long)json_integer_value(json_object_get(opportunities, "closed_with_open_date")));
    json_array_foreach(json_object_get(plan, "notes"), i, item)
    {
        printf("note: %s\n", json_string_value(item));
    }
    json_array_foreach(json_object_get(plan, "queues"), i, item)
    {
        s_print_queue(item);
    }
    s_print_revenue(json_object_get(plan, "revenue"));
}

int ctl_report_plan(int argc, char **argv, const config_t *cfg)
{
    static const char *const names[] = {"--weeks", "--backtest", NULL};
    const char *values[2] = {NULL, NULL};
    bool json = false;
    int rc = s_options(argc, argv, names, values, &json);
    if (rc != 0) {
        fprintf(rc > 0 ? stdout : stderr,
                "usage: leadopsctl report plan [--weeks N] [--backtest K] [--json]\n"
                "Forecasts demand per queue for the next N weeks (default %d) from the KPI\n"
                "history (qualified leads per queue, else the opportunities of its reps) with\n"
                "trend, weekday and yearly season; its error (MAPE) from a refit without the\n"
                "last K weeks (default %d); the reps' capacity from their caps, hours and\n"
                "absences; the gap and the reps or cap change that close it; and won revenue\n"
                "forecast from the open pipeline against what was won, month by month.\n",
                PLAN_WEEKS_DEFAULT, PLAN_WEEKS_DEFAULT);
        return rc > 0 ? 0 : 2;
    }
    plan_opts_t opts = {.weeks = PLAN_WEEKS_DEFAULT,
                        .backtest_weeks = PLAN_WEEKS_DEFAULT,
                        .now_ms = clock_now_ms()};
    if ((values[0] && s_positive(values[0], "--weeks", PLAN_WEEKS_MAX, &opts.weeks) != 0) ||
        (values[1] &&
         s_positive(values[1], "--backtest", FORECAST_BACKTEST_MAX, &opts.backtest_weeks) != 0))
        return 2;
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    json_t *plan = plan_view(store, cfg, &opts, &err);
    store_destroy(&store);
    if (!plan) {
        fprintf(stderr, "leadopsctl: report plan: %s\n", err.msg);
        return 1;
    }
    if (json) {
        ctl_print_json(plan);
        return 0;
    }
    s_print_plan(plan);
    json_decref(plan);
    return 0;
}

/* ---- report commissions ---------------------------------------------- */

static void s_print_commissions(const json_t *report, const config_t *cfg, bool with_deals)
{
    char a[32], b[32], c[32], d[32];
    printf("commissions %s .. %s (quota per %s)\n", s_str(report, "from"), s_str(report, "to"),
           s_str(report, "period"));
    if (cfg->commission_plan_count == 0)
        printf("no commission plans in the config (commissions.plans): nothing is paid\n");
    printf("%-24s %-20s %6s %14s %12s\n", "REP", "TEAM", "DEALS", "WON VALUE", "COMMISSION");
    size_t i;
    const json_t *rep;
    json_array_foreach(json_object_get(report, "reps"), i, rep)
    {
        printf("%-24.24s %-20.20s %6lld %14s %12s\n", s_str(rep, "rep"), s_str(rep, "team"),
               (long long)json_integer_value(json_object_get(rep, "deals")),
               s_fmt(a, rep, "won_value", 2), s_fmt(b, rep, "commission", 2));
        size_t j;
        const json_t *line;
        json_array_foreach(json_object_get(rep, "lines"), j, line)
        {
            long long deals = (long long)json_integer_value(json_object_get(line, "deals"));
            printf("    plan %s, %s: %lld deal%s, %s won", s_str(line, "plan"),
                   s_str(line, "period"), deals, deals == 1 ? "" : "s",
                   s_fmt(a, line, "won_value", 2));
            if (s_is_num(line, "attainment"))
                printf(" of quota %s (%s)", s_fmt(b, line, "quota", 2),
                       s_percent(c, line, "attainment"));
            printf(": %s\n", s_fmt(d, line, "commission", 2));
            size_t k;
            const json_t *deal;
            json_array_foreach(with_deals ? json_object_get(line, "deal_list") : NULL, k, deal)
            {
                printf("      %s  %-28.28s %-16.16s %12s  %10s\n", s_str(deal, "day"),
                       s_str(deal, "lead"), s_str(deal, "product"), s_fmt(a, deal, "value", 2),
                       s_fmt(b, deal, "commission", 2));
            }
        }
    }
    const json_t *totals = json_object_get(report, "totals");
    printf("%-24s %-20s %6lld %14s %12s\n", "TOTAL", "",
           (long long)json_integer_value(json_object_get(totals, "deals")),
           s_fmt(a, totals, "won_value", 2), s_fmt(b, totals, "commission", 2));
    const json_t *unmatched = json_object_get(report, "unmatched");
    if (json_integer_value(json_object_get(unmatched, "deals")) > 0)
        printf("%lld won deals (%s) fall under no plan\n",
               (long long)json_integer_value(json_object_get(unmatched, "deals")),
               s_fmt(a, unmatched, "won_value", 2));
}

int ctl_report_commissions(int argc, char **argv, const config_t *cfg)
{
    static const char *const names[] = {"--from", "--to", NULL};
    const char *values[2] = {NULL, NULL};
    bool json = false, with_deals = true;
    /* --summary is a flag of this command alone: take it out first. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return 1;
    int kept = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--summary") == 0)
            with_deals = false;
        else
            rest[kept++] = argv[i];
    }
    int rc = s_options(kept, rest, names, values, &json);
    free(rest);
    if (rc != 0) {
        fprintf(rc > 0 ? stdout : stderr,
                "usage: leadopsctl report commissions [--from D] [--to D] [--summary] [--json]\n"
                "Commission per rep from the won deals closed from D to D (days 2017-03-01 or\n"
                "months 2017-03, UTC, both inclusive; default: the latest %s with a won deal),\n"
                "by the plans of the config (commissions.plans): the rate up to the quota of\n"
                "each %s, accelerators above it, with each deal and what it earned\n"
                "(--summary: without the deals).\n",
                cfg->commission_period, cfg->commission_period);
        return rc > 0 ? 0 : 2;
    }
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    json_t *report = commission_view(store, cfg, values[0], values[1], &err);
    store_destroy(&store);
    if (!report) {
        fprintf(stderr, "leadopsctl: report commissions: %s\n", err.msg);
        return err.code == ERR_INPUT ? 2 : 1;
    }
    if (json) {
        ctl_print_json(report);
        return 0;
    }
    s_print_commissions(report, cfg, with_deals);
    json_decref(report);
    return 0;
}
