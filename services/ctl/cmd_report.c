/* leadopsctl report: the reporting views as terminal tables (or --json):
 * ops (live operations), reps (rep and team KPIs), plan (demand against
 * capacity, revenue forecast) and commissions. Each subcommand lives in its
 * own file; this one only dispatches. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv, const config_t *cfg);
    const char *summary;
} s_report_t;

static const s_report_t s_reports[] = {
    {"ops", ctl_report_ops, "live operations: intake, queues, waiting and why, SLA, reps"},
    {"reps", ctl_report_reps, "rep and team KPIs for a period, leaderboard, quartiles"},
    {"plan", ctl_report_plan, "demand forecast per queue against capacity (MAPE), revenue"},
    {"commissions", ctl_report_commissions, "commission per rep for a period, with its deals"},
};
#define REPORT_COUNT (sizeof s_reports / sizeof s_reports[0])

static int s_usage(FILE *out)
{
    fprintf(out, "usage: leadopsctl report ops|reps|plan|commissions [OPTIONS] [--json]\n\n");
    for (size_t i = 0; i < REPORT_COUNT; i++)
        fprintf(out, "  %-12s %s\n", s_reports[i].name, s_reports[i].summary);
    fprintf(out, "\n`leadopsctl report NAME --help` tells the options (periods: --from/--to\n"
                 "YYYY-MM-DD or --period, e.g. 30d, this-month). The same figures are served\n"
                 "by the reporting API and its dashboard.\n");
    return out == stdout ? 0 : 2;
}

int ctl_report(int argc, char **argv, const config_t *cfg)
{
    if (argc < 2)
        return s_usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return s_usage(stdout);
    for (size_t i = 0; i < REPORT_COUNT; i++)
        if (strcmp(argv[1], s_reports[i].name) == 0)
            return s_reports[i].run(argc - 1, argv + 1, cfg);
    fprintf(stderr, "leadopsctl report: unknown report '%s'\n\n", argv[1]);
    return s_usage(stderr);
}
