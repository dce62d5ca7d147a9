/* leadopsctl queue / summary: read-only views of the live state, the
 * same ones the reporting API serves. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "views.h"

static bool s_has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return true;
    return false;
}

/* Runs VIEW and prints it as JSON, or with PRINT_TABLE when given and
 * --json was not asked for. */
static int s_show(const config_t *cfg, json_t *(*view)(store_t *, const char *, err_t *),
                  void (*print_table)(const json_t *), bool json)
{
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    json_t *value = view(store, cfg->redis_prefix, &err);
    store_destroy(&store);
    if (!value) {
        fprintf(stderr, "leadopsctl: %s\n", err.msg);
        return 1;
    }
    if (print_table && !json) {
        print_table(value);
        json_decref(value);
    } else {
        ctl_print_json(value);
    }
    return 0;
}

static void s_print_queues(const json_t *queues)
{
    printf("%-16s %8s %14s %6s %8s %14s\n", "QUEUE", "WAITING", "OLDEST WAIT s", "REPS", "ONLINE",
           "FREE CAPACITY");
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(queues, "queues"), i, q)
    {
        printf("%-16s %8lld %14.1f %6lld %8lld %14lld\n",
               json_string_value(json_object_get(q, "name")),
               (long long)json_integer_value(json_object_get(q, "waiting")),
               json_number_value(json_object_get(q, "oldest_wait_ms")) / 1000.0,
               (long long)json_integer_value(json_object_get(q, "reps")),
               (long long)json_integer_value(json_object_get(q, "reps_online")),
               (long long)json_integer_value(json_object_get(q, "free_capacity")));
    }
}

int ctl_queue(int argc, char **argv, const config_t *cfg)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "list") != 0) {
        fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: leadopsctl queue list [--json]\n"
                "Lists queues: leads waiting, the oldest wait, reps and their free capacity.\n");
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    json_t *(*view)(store_t *, const char *, err_t *) = views_queues;
    return s_show(cfg, view, s_print_queues, s_has_flag(argc, argv, "--json"));
}

int ctl_summary(int argc, char **argv, const config_t *cfg)
{
    if (s_has_flag(argc, argv, "--help")) {
        printf("usage: leadopsctl summary\n"
               "Prints the pipeline's counters and speed-to-lead percentiles as JSON.\n");
        return 0;
    }
    return s_show(cfg, views_summary, NULL, true);
}
