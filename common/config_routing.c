/* config_routing.c — the readers of routing's structured keys: territories,
 * queues, rules, reps (with time zones, working hours and out-of-office
 * periods) and account domain aliases. Private to the config loader (see
 * config_read.h). */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_read.h"

static void s_upper(char **items, size_t count, bool drop_blanks)
{
    for (size_t i = 0; i < count; i++) {
        char *out = items[i];
        for (const char *c = items[i]; *c; c++) {
            if (drop_blanks && isspace((unsigned char)*c))
                continue;
            *out++ = (char)toupper((unsigned char)*c);
        }
        *out = '\0';
    }
}

/* Optional keys of an item: absent gives the default. */
static int s_opt_string(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                        const char *name, const char *choices, const char *fallback, char **out,
                        scalar_t *where)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *node = yaml_tree_get(map, name);
    if (!node) {
        if (!(*out = strdup(fallback)))
            return config_read_nomem(loader);
        if (where)
            memset(where, 0, sizeof *where);
        return 0;
    }
    return config_read_string(loader, node, config_read_join(path, key, name), choices, true, out,
                              where);
}

static int s_opt_int(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                     const char *name, long long lo, long long hi, long long fallback, int *out)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *node = yaml_tree_get(map, name);
    long long value = fallback;
    if (node &&
        config_read_integer(loader, node, config_read_join(path, key, name), lo, hi, &value) != 0)
        return -1;
    *out = (int)value;
    return 0;
}

static int s_opt_bool(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                      const char *name, bool *out)
{
    char *text = NULL;
    if (s_opt_string(loader, map, key, name, "true, false", *out ? "true" : "false", &text, NULL) !=
        0)
        return -1;
    *out = strcmp(text, "true") == 0;
    free(text);
    return 0;
}

static int s_opt_list(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                      const char *name, bool lower, char ***out, size_t *count)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *node = yaml_tree_get(map, name);
    if (!node)
        return 0;
    return config_read_string_list(loader, node, config_read_join(path, key, name), lower, NULL,
                                   out, count, NULL);
}

const char *const config_territory_keys[] = {"name", "countries", "regions", "postal", NULL};

int config_read_territory(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                          void *array, size_t index)
{
    (void)index;
    territory_t *territory = (territory_t *)array + index;
    char path[KEY_PATH_MAX];
    scalar_t where;
    if (config_read_item_string(loader, map, key, "name", NULL, &territory->name, &where) != 0)
        return -1;
    for (const territory_t *other = array; other < territory; other++)
        if (strcmp(other->name, territory->name) == 0)
            return config_read_fail(loader, &where, 0, config_read_join(path, key, "name"),
                                    "duplicate territory \"%s\"", territory->name);
    if (s_opt_list(loader, map, key, "countries", false, &territory->countries,
                   &territory->country_count) != 0 ||
        s_opt_list(loader, map, key, "regions", false, &territory->regions,
                   &territory->region_count) != 0 ||
        s_opt_list(loader, map, key, "postal", false, &territory->postal,
                   &territory->postal_count) != 0)
        return -1;
    s_upper(territory->countries, territory->country_count, false);
    s_upper(territory->regions, territory->region_count, false);
    s_upper(territory->postal, territory->postal_count, true);
    for (size_t i = 0; i < territory->postal_count; i++) {
        const char *range = territory->postal[i], *dash = strchr(range, '-');
        if (dash && (dash == range || strlen(dash + 1) != (size_t)(dash - range) ||
                     strncmp(range, dash + 1, (size_t)(dash - range)) > 0))
            return config_read_fail(loader, NULL, map->line, config_read_join(path, key, "postal"),
                                    "\"%s\": a range is LOW-HIGH, both of one length, LOW <= HIGH",
                                    range);
    }
    if (!territory->country_count && !territory->region_count && !territory->postal_count)
        return config_read_fail(loader, NULL, map->line, key,
                                "a territory needs countries, regions or postal codes");
    return 0;
}

const char *const config_queue_keys[] = {"name",
                                         "strategy",
                                         "stage",
                                         "owner_first",
                                         "owner_fallback",
                                         "catch_up",
                                         "sla_s",
                                         "sla_business_hours",
                                         "max_attempts",
                                         "escalate_to",
                                         "overflow_after_s",
                                         "overflow_to",
                                         "webhook",
                                         NULL};

int config_read_queue(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                      size_t index)
{
    (void)index;
    queue_config_t *queue = (queue_config_t *)array + index;
    const config_t *config = loader->config;
    char path[KEY_PATH_MAX], *text = NULL;
    scalar_t where;
    queue->line = map->line;
    if (config_read_item_string(loader, map, key, "name", NULL, &queue->name, &where) != 0)
        return -1;
    /* Queue names become parts of Redis keys and of routing.lua's lists. */
    if (strpbrk(queue->name, ",: \t") || strlen(queue->name) > 64)
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "name"),
                                "a queue name has at most 64 characters and no ',', ':' or "
                                "spaces");
    for (const queue_config_t *other = array; other < queue; other++) {
        if (strcmp(other->name, queue->name) == 0)
            return config_read_fail(loader, &where, 0, config_read_join(path, key, "name"),
                                    "duplicate queue \"%s\"", queue->name);
    }
    if (s_opt_string(loader, map, key, "strategy", "round_robin, weighted, least_loaded",
                     "round_robin", &text, NULL) != 0)
        return -1;
    queue->strategy = strcmp(text, "weighted") == 0       ? STRATEGY_WEIGHTED
                      : strcmp(text, "least_loaded") == 0 ? STRATEGY_LEAST_LOADED
                                                          : STRATEGY_ROUND_ROBIN;
    free(text);
    text = NULL;
    if (s_opt_string(loader, map, key, "owner_fallback", "queue, team", "queue", &text, NULL) != 0)
        return -1;
    queue->owner_fallback = strcmp(text, "team") == 0 ? OWNER_FALLBACK_TEAM : OWNER_FALLBACK_QUEUE;
    free(text);
    queue->max_attempts = 3;
    if (s_opt_bool(loader, map, key, "owner_first", &queue->owner_first) != 0 ||
        s_opt_bool(loader, map, key, "catch_up", &queue->catch_up) != 0 ||
        s_opt_int(loader, map, key, "sla_s", 0, 30 * 86400, 0, &queue->sla_s) != 0 ||
        s_opt_bool(loader, map, key, "sla_business_hours", &queue->sla_business_hours) != 0 ||
        s_opt_int(loader, map, key, "max_attempts", 1, 100, 3, &queue->max_attempts) != 0 ||
        s_opt_string(loader, map, key, "escalate_to", NULL, "", &queue->escalate_to, NULL) != 0 ||
        s_opt_int(loader, map, key, "overflow_after_s", 0, 30 * 86400, 0,
                  &queue->overflow_after_s) != 0 ||
        s_opt_string(loader, map, key, "overflow_to", NULL, "", &queue->overflow_to, NULL) != 0 ||
        s_opt_string(loader, map, key, "webhook", NULL, "", &queue->webhook, &where) != 0)
        return -1;
    if (queue->webhook[0] && strncmp(queue->webhook, "http://", 7) != 0 &&
        strncmp(queue->webhook, "https://", 8) != 0)
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "webhook"),
                                "expected an http:// or https:// URL");
    if (queue->overflow_after_s > 0 && !queue->overflow_to[0])
        return config_read_fail(loader, NULL, map->line, config_read_join(path, key, "overflow_to"),
                                "overflow_after_s needs the queue to overflow to");
    /* Without "stage" a queue takes leads from the second stage on (mql in
     * the sample): the first is where every lead starts. */
    queue->stage = config->stage_count > 1 ? 1 : 0;
    if (!yaml_tree_get(map, "stage"))
        return 0;
    char *stage = NULL;
    if (config_read_item_string(loader, map, key, "stage", NULL, &stage, &where) != 0)
        return -1;
    int found = config_stage_index(config, stage);
    if (found < 0)
        config_read_fail(loader, &where, 0, config_read_join(path, key, "stage"),
                         "\"%s\" is not a configured stage (see scoring.stages)", stage);
    free(stage);
    if (found < 0)
        return -1;
    queue->stage = (size_t)found;
    return 0;
}

const char *const config_rule_keys[] = {"name", "queue", "when", "territory", "skills", NULL};

int config_read_route_rule(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                           void *array, size_t index)
{
    (void)index;
    route_rule_t *rule = (route_rule_t *)array + index;
    const config_t *config = loader->config;
    char path[KEY_PATH_MAX];
    scalar_t where;
    int rc = 0;
    if (config_read_item_string(loader, map, key, "name", NULL, &rule->name, NULL) != 0 ||
        config_read_item_string(loader, map, key, "queue", NULL, &rule->queue, &where) != 0 ||
        config_read_check_queue(loader, &where, config_read_join(path, key, "queue"),
                                rule->queue) != 0)
        return -1;
    if (yaml_tree_get(map, "territory")) {
        char *name = NULL;
        if (config_read_item_string(loader, map, key, "territory", NULL, &name, &where) != 0)
            return -1;
        const territory_t *territory = config_territory(config, name);
        if (!territory)
            config_read_fail(loader, &where, 0, config_read_join(path, key, "territory"),
                             "\"%s\" is not a configured territory (see routing.territories)",
                             name);
        free(name);
        if (!territory)
            return -1;
        rule->territory = (size_t)(territory - config->territories) + 1;
    }
    if (s_opt_list(loader, map, key, "skills", true, &rule->skills, &rule->skill_count) != 0)
        return -1;
    /* A rule without "when" catches every lead (in its territory). */
    const yaml_tree_node_t *when = yaml_tree_get(map, "when");
    if (when)
        rule->conds =
            config_read_items(loader, when, config_read_join(path, key, "when"), config_cond_keys,
                              sizeof *rule->conds, config_read_route_cond, &rule->cond_count, &rc);
    return rc;
}

static const char *const s_day_names[8] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

/* hours: {mon: "09:00-17:00", ..., sun: off}; days not listed: no hours. */
static int s_read_hours(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                        cal_week_t *week)
{
    char path[KEY_PATH_MAX];
    if (node->kind != YAML_TREE_MAP)
        return config_read_fail(loader, NULL, node->line, key,
                                "expected a mapping of weekday (mon..sun) to hours, got %s",
                                yaml_tree_kind_name(node->kind));
    if (config_read_check_map(loader, node, key, s_day_names) != 0)
        return -1;
    week->any = true;
    for (int day = 0; day < 7; day++) {
        const yaml_tree_node_t *value = yaml_tree_get(node, s_day_names[day]);
        if (!value)
            continue;
        char *text = NULL;
        scalar_t where;
        config_read_join(path, key, s_day_names[day]);
        if (config_read_string(loader, value, path, NULL, true, &text, &where) != 0)
            return -1;
        err_t why = {0};
        int rc = cal_parse_day(text, week->spans[day], &week->count[day], &why);
        free(text);
        if (rc != 0)
            return config_read_fail(loader, &where, 0, path, "%s", why.msg);
    }
    return 0;
}

static const char *const s_ooo_keys[] = {"from", "to", NULL};

static int s_read_out_of_office(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                                rep_config_t *rep)
{
    if (node->kind != YAML_TREE_LIST)
        return config_read_fail(loader, NULL, node->line, key,
                                "expected a list of {from, to}, got %s",
                                yaml_tree_kind_name(node->kind));
    if (!(rep->out_of_office = calloc(node->count ? node->count : 1, sizeof *rep->out_of_office)))
        return config_read_nomem(loader);
    for (size_t i = 0; i < node->count; i++) {
        const yaml_tree_node_t *item = node->items[i];
        char item_key[KEY_PATH_MAX], path[KEY_PATH_MAX];
        snprintf(item_key, sizeof item_key, "%s[%zu]", key, i);
        if (config_read_check_map(loader, item, item_key, s_ooo_keys) != 0)
            return -1;
        cal_period_t *period = &rep->out_of_office[rep->out_of_office_count++];
        static const char *const ends[2] = {"from", "to"};
        for (int e = 0; e < 2; e++) {
            char *text = NULL;
            scalar_t where;
            err_t why = {0};
            if (config_read_item_string(loader, item, item_key, ends[e], NULL, &text, &where) != 0)
                return -1;
            int64_t *ms = e ? &period->to_ms : &period->from_ms;
            int rc = cal_parse_local(rep->timezone, text, e == 1, ms, &why);
            free(text);
            if (rc != 0)
                return config_read_fail(loader, &where, 0,
                                        config_read_join(path, item_key, ends[e]), "%s", why.msg);
        }
        if (period->to_ms <= period->from_ms)
            return config_read_fail(loader, NULL, item->line, item_key,
                                    "the period ends before it begins");
    }
    return 0;
}

const char *const config_rep_keys[] = {
    "id",     "name", "capacity", "daily_cap", "weekly_cap", "queues",        "status",
    "weight", "team", "skills",   "timezone",  "hours",      "out_of_office", NULL};

int config_read_rep(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                    size_t index)
{
    (void)index;
    rep_config_t *rep = (rep_config_t *)array + index;
    const yaml_tree_node_t *field;
    char path[KEY_PATH_MAX];
    scalar_t where;
    long long capacity;
    if (config_read_item_string(loader, map, key, "id", NULL, &rep->id, &where) != 0)
        return -1;
    if (strpbrk(rep->id, ",: \t"))
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "id"),
                                "a rep id has no ',', ':' or spaces");
    for (const rep_config_t *other = array; other < rep; other++) {
        if (strcmp(other->id, rep->id) == 0)
            return config_read_fail(loader, &where, 0, config_read_join(path, key, "id"),
                                    "duplicate rep id \"%s\"", rep->id);
    }
    int daily = 0, weekly = 0;
    if (config_read_item_string(loader, map, key, "name", NULL, &rep->name, NULL) != 0 ||
        !(field = config_read_field(loader, map, key, "capacity", path)) ||
        config_read_integer(loader, field, path, 0, 100000, &capacity) != 0 ||
        s_opt_int(loader, map, key, "daily_cap", 0, 100000, 0, &daily) != 0 ||
        s_opt_int(loader, map, key, "weekly_cap", 0, 1000000, 0, &weekly) != 0 ||
        !(field = config_read_field(loader, map, key, "queues", path)) ||
        config_read_string_list(loader, field, path, false, config_read_check_queue, &rep->queues,
                                &rep->queue_count, NULL) != 0 ||
        config_read_item_string(loader, map, key, "status", "online, away, offline", &rep->status,
                                NULL) != 0 ||
        s_opt_string(loader, map, key, "team", NULL, "", &rep->team, NULL) != 0 ||
        s_opt_list(loader, map, key, "skills", true, &rep->skills, &rep->skill_count) != 0 ||
        s_opt_string(loader, map, key, "timezone", NULL, "UTC", &rep->timezone, &where) != 0)
        return -1;
    rep->capacity = (unsigned)capacity;
    rep->daily_cap = (unsigned)daily;
    rep->weekly_cap = (unsigned)weekly;
    if (!cal_tz_valid(rep->timezone))
        return config_read_fail(loader, where.line ? &where : NULL, where.line ? 0 : map->line,
                                config_read_join(path, key, "timezone"),
                                "\"%s\" is not a time zone this machine knows (an IANA name like "
                                "Europe/Berlin or America/New_York)",
                                rep->timezone);
    rep->weight = 1;
    if ((field = yaml_tree_get(map, "weight"))) {
        if (config_read_number(loader, field, config_read_join(path, key, "weight"), &rep->weight,
                               &where) != 0)
            return -1;
        if (!(rep->weight > 0 && rep->weight <= 1000))
            return config_read_fail_value(loader, &where, path, "a weight above 0, at most 1000");
    }
    if ((field = yaml_tree_get(map, "hours")) &&
        s_read_hours(loader, field, config_read_join(path, key, "hours"), &rep->hours) != 0)
        return -1;
    if ((field = yaml_tree_get(map, "out_of_office")) &&
        s_read_out_of_office(loader, field, config_read_join(path, key, "out_of_office"), rep) != 0)
        return -1;
    return 0;
}

int config_read_domain_aliases(loader_t *loader, const yaml_tree_node_t *node, const char *key)
{
    config_t *config = loader->config;
    if (yaml_tree_is_null(node))
        return 0;
    if (node->kind != YAML_TREE_MAP)
        return config_read_fail(loader, NULL, node->line, key,
                                "expected a mapping of domain to account domain, got %s",
                                yaml_tree_kind_name(node->kind));
    size_t n = node->count ? node->count : 1;
    if (!(config->domain_alias_from = calloc(n, sizeof *config->domain_alias_from)) ||
        !(config->domain_alias_to = calloc(n, sizeof *config->domain_alias_to)))
        return config_read_nomem(loader);
    for (size_t i = 0; i < node->count; i++) {
        char path[KEY_PATH_MAX];
        config->domain_alias_count++;
        if (!(config->domain_alias_from[i] = strdup(node->pairs[i].key)))
            return config_read_nomem(loader);
        if (config_read_string(loader, node->pairs[i].value,
                               config_read_join(path, key, node->pairs[i].key), NULL, false,
                               &config->domain_alias_to[i], NULL) != 0)
            return -1;
        for (char *c = config->domain_alias_from[i]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        for (char *c = config->domain_alias_to[i]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    return 0;
}

/* "FILE:LINE: routing.queues[I].KEY: reason" for a queue read earlier. */
static int s_queue_fail(loader_t *loader, size_t i, const char *name, const char *reason,
                        const char *value)
{
    char path[KEY_PATH_MAX];
    snprintf(path, sizeof path, "routing.queues[%zu].%s", i, name);
    return config_read_fail(loader, NULL, loader->in_defaults ? 0 : loader->config->queues[i].line,
                            path, reason, value);
}

int config_check_routing(loader_t *loader)
{
    const config_t *config = loader->config;
    for (size_t i = 0; i < config->queue_count; i++) {
        const queue_config_t *queue = &config->queues[i];
        if (queue->escalate_to[0] && !config_queue(config, queue->escalate_to))
            return s_queue_fail(loader, i, "escalate_to", "\"%s\" is not a configured queue",
                                queue->escalate_to);
        if (queue->overflow_to[0] && !config_queue(config, queue->overflow_to))
            return s_queue_fail(loader, i, "overflow_to", "\"%s\" is not a configured queue",
                                queue->overflow_to);
        if (strcmp(queue->overflow_to, queue->name) == 0)
            return s_queue_fail(loader, i, "overflow_to", "\"%s\" overflows into itself",
                                queue->overflow_to);
        bool staffed = config->rep_count == 0;
        for (size_t r = 0; r < config->rep_count && !staffed; r++)
            for (size_t q = 0; q < config->reps[r].queue_count && !staffed; q++)
                staffed = strcmp(config->reps[r].queues[q], queue->name) == 0;
        if (!staffed)
            return s_queue_fail(loader, i, "name",
                                "queue \"%s\" has no rep: list it in some rep's queues",
                                queue->name);
    }
    return 0;
}
