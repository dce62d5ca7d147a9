/* leadopsctl: the command line of LeadOps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "service.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv, const config_t *cfg);
    const char *summary;
} s_command_t;

static const s_command_t s_commands[] = {
    {"send", ctl_send, "send leads/activities from a JSON or JSON-lines file to ingest"},
    {"gen", ctl_gen, "generate a realistic synthetic stream (print or --send)"},
    {"rep", ctl_rep, "list reps; status, capacity, caps; accept/reject/reassign/close a lead"},
    {"queue", ctl_queue, "list queues with waiting leads and free capacity"},
    {"lead", ctl_lead, "show one lead: score, reasons, queue, rep, status"},
    {"summary", ctl_summary, "pipeline counters and speed-to-lead percentiles"},
    {"import", ctl_import, "replay a CRM export (CSV) into ingest through a mapping file"},
    {"keygen", ctl_keygen, "print a new CurveZMQ key pair (YAML lines for the config)"},
    {"train", ctl_train, "learn a scoring model from a history export (CSV)"},
    {"evaluate", ctl_evaluate, "measure a scoring model on a labelled CSV (AUC, calibration)"},
    {"account", ctl_account, "import, list and show accounts (domain, name, owner rep)"},
    {"explain", ctl_explain, "why a lead went where it did: its routing decisions"},
    {"report", ctl_report, "ops, rep KPIs, planning and commissions as tables (or --json)"},
    {"simulate", ctl_simulate, "replay a CRM history through the routing engine (what-if)"},
};
#define COMMAND_COUNT (sizeof s_commands / sizeof s_commands[0])

static int s_usage(FILE *out)
{
    fprintf(out, "usage: leadopsctl [--config FILE] COMMAND [ARGS...]\n\nCommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-9s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out, "\n`leadopsctl COMMAND --help` tells more. The config (default: $LEADOPS_CONFIG,\n"
                 "else built-in defaults) names Redis and the endpoints; LEADOPS_* variables\n"
                 "override it, e.g. LEADOPS_REDIS_PORT=6380.\n");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *path = getenv("LEADOPS_CONFIG");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return s_usage(stdout);
        else if (strcmp(argv[i], "--version") == 0) {
            printf("leadopsctl %s\n", LEADOPS_VERSION);
            return 0;
        } else
            return s_usage(stderr);
    }
    if (i >= argc)
        return s_usage(stderr);
    const s_command_t *command = NULL;
    for (size_t c = 0; c < COMMAND_COUNT; c++)
        if (strcmp(argv[i], s_commands[c].name) == 0)
            command = &s_commands[c];
    if (!command) {
        fprintf(stderr, "leadopsctl: unknown command '%s'\n\n", argv[i]);
        return s_usage(stderr);
    }
    err_t err = {0};
    config_t *cfg = config_load(path && *path ? path : NULL, &err);
    if (!cfg) {
        fprintf(stderr, "leadopsctl: configuration error: %s\n", err.msg);
        return 2;
    }
    log_init("leadopsctl", LOG_WARN, false);
    int rc = command->run(argc - i, argv + i, cfg);
    config_destroy(&cfg);
    return rc;
}
