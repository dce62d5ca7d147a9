#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static volatile sig_atomic_t *s_stop_flag;

static void s_on_signal(int signum)
{
    (void)signum;
    if (s_stop_flag)
        *s_stop_flag = 1;
}

static void s_usage(FILE *out, const char *name, const char *summary)
{
    fprintf(out,
            "usage: %s [--config FILE]\n"
            "%s\n\n"
            "  --config FILE  the LeadOps YAML configuration (default: $LEADOPS_CONFIG,\n"
            "                 else built-in defaults); any value can be overridden by\n"
            "                 LEADOPS_<PATH> environment variables, e.g. LEADOPS_REDIS_PORT\n"
            "  --help         this text\n"
            "  --version      the version\n"
            "Stops cleanly on SIGTERM or SIGINT.\n",
            name, summary);
}

config_t *service_start(int argc, char **argv, const char *name, const char *summary,
                        volatile sig_atomic_t *stop)
{
    const char *path = getenv("LEADOPS_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout, name, summary);
            exit(0);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", name, LEADOPS_VERSION);
            exit(0);
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", name, argv[i]);
            s_usage(stderr, name, summary);
            exit(2);
        }
    }
    if (path && !*path)
        path = NULL;

    err_t err = {0};
    config_t *cfg = config_load(path, &err);
    if (!cfg) {
        fprintf(stderr, "%s: configuration error: %s\n", name, err.msg);
        fprintf(stderr, "%s: fix the file (or the LEADOPS_* variable) and start again\n", name);
        exit(2);
    }
    log_level_t level = LOG_INFO;
    log_level_parse(cfg->log_level, &level);
    log_init(name, level, cfg->log_json);

    s_stop_flag = stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_info("%s %s starting with %s", name, LEADOPS_VERSION, path ? path : "built-in defaults");
    return cfg;
}

store_t *service_store_new(const config_t *cfg, bool connect_now, err_t *err)
{
    store_options_t opts = {.host = cfg->redis_host,
                            .port = cfg->redis_port,
                            .user = cfg->redis_user,
                            .password = cfg->redis_password,
                            .db = cfg->redis_db,
                            .timeout_ms = cfg->redis_timeout_ms};
    return store_new(&opts, connect_now, err);
}
