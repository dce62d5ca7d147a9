/* config_scoring.c — the readers of scoring's structured keys: activity
 * points with caps, outcome points, lifecycle stages and the model. Private
 * to the config loader (see config_read.h). */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config_read.h"
#include "lead.h"

static const char *const s_cap_keys[] = {"points", "cap", "period_s", NULL};

/* One entry of scoring.activity_points: a number, or {points, cap, period_s}. */
static int s_read_points(loader_t *loader, const yaml_tree_node_t *value, const char *key,
                         activity_points_t *entry)
{
    char path[KEY_PATH_MAX];
    entry->period_s = 86400;
    if (value->kind != YAML_TREE_MAP)
        return config_read_number(loader, value, key, &entry->points, NULL);
    if (config_read_check_map(loader, value, key, s_cap_keys) != 0 ||
        config_read_item_number(loader, value, key, "points", &entry->points, NULL) != 0)
        return -1;
    const yaml_tree_node_t *cap = yaml_tree_get(value, "cap");
    if (cap) {
        scalar_t where;
        if (config_read_number(loader, cap, config_read_join(path, key, "cap"), &entry->cap,
                               &where) != 0)
            return -1;
        if (entry->cap <= 0)
            return config_read_fail_value(loader, &where, path, "a cap above 0");
    }
    const yaml_tree_node_t *period = yaml_tree_get(value, "period_s");
    long long seconds = entry->period_s;
    if (period && config_read_integer(loader, period, config_read_join(path, key, "period_s"), 1,
                                      INT_MAX, &seconds) != 0)
        return -1;
    entry->period_s = (int)seconds;
    return 0;
}

int config_read_activity_points(loader_t *loader, const yaml_tree_node_t *node, const char *key)
{
    config_t *config = loader->config;
    if (yaml_tree_is_null(node))
        return 0;
    if (node->kind != YAML_TREE_MAP)
        return config_read_fail(loader, NULL, node->line, key,
                                "expected a mapping of activity type to points, got %s",
                                yaml_tree_kind_name(node->kind));
    if (!(config->activity_points =
              calloc(node->count ? node->count : 1, sizeof *config->activity_points)))
        return config_read_nomem(loader);
    for (size_t i = 0; i < node->count; i++) {
        activity_points_t *entry = &config->activity_points[i];
        char path[KEY_PATH_MAX];
        config->activity_points_count++;
        if (!(entry->type = strdup(node->pairs[i].key)))
            return config_read_nomem(loader);
        if (s_read_points(loader, node->pairs[i].value,
                          config_read_join(path, key, node->pairs[i].key), entry) != 0)
            return -1;
    }
    return 0;
}

static const char *const s_outcome_keys[] = {"type", "outcome", "points", NULL};

static int s_read_outcome(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                          void *array, size_t index)
{
    outcome_points_t *entry = (outcome_points_t *)array + index;
    if (config_read_item_string(loader, map, key, "type", NULL, &entry->type, NULL) != 0 ||
        config_read_item_string(loader, map, key, "outcome", NULL, &entry->outcome, NULL) != 0)
        return -1;
    for (char *c = entry->outcome; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return config_read_item_number(loader, map, key, "points", &entry->points, NULL);
}

int config_read_outcome_points(loader_t *loader, const yaml_tree_node_t *node, const char *key)
{
    config_t *config = loader->config;
    int rc;
    config->outcome_points =
        config_read_items(loader, node, key, s_outcome_keys, sizeof *config->outcome_points,
                          s_read_outcome, &config->outcome_points_count, &rc);
    return rc;
}

static const char *const s_stage_keys[] = {"name", "enter", "exit", NULL};

/* A stage: the first has no thresholds; each later one enters above the one
 * before it and exits at or below where it enters. */
static int s_read_stage(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                        size_t index)
{
    stage_t *stage = (stage_t *)array + index;
    char path[KEY_PATH_MAX], *name = NULL;
    scalar_t where;
    if (config_read_item_string(loader, map, key, "name", NULL, &name, &where) != 0)
        return -1;
    size_t length = strlen(name);
    bool fits = length < sizeof stage->name && !strpbrk(name, ",;: \t");
    if (fits)
        memcpy(stage->name, name, length + 1);
    free(name);
    if (!fits)
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "name"),
                                "a stage name has at most %zu characters and no ',', ';', ':' or "
                                "spaces",
                                sizeof stage->name - 1);
    for (const stage_t *other = array; other < stage; other++)
        if (strcmp(other->name, stage->name) == 0)
            return config_read_fail(loader, &where, 0, config_read_join(path, key, "name"),
                                    "duplicate stage \"%s\"", stage->name);
    const yaml_tree_node_t *enter = yaml_tree_get(map, "enter"), *exit = yaml_tree_get(map, "exit");
    if (index == 0) {
        if (enter || exit)
            return config_read_fail(loader, NULL, (enter ? enter : exit)->line,
                                    config_read_join(path, key, enter ? "enter" : "exit"),
                                    "the first stage is where every lead starts: it has no "
                                    "thresholds");
        stage->enter = stage->exit = -INFINITY;
        return 0;
    }
    if (config_read_item_number(loader, map, key, "enter", &stage->enter, &where) != 0)
        return -1;
    if (index > 1 && !(stage->enter > stage[-1].enter))
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "enter"),
                                "stages must be listed lowest first: %g is not above %g",
                                stage->enter, stage[-1].enter);
    stage->exit = stage->enter;
    if (exit) {
        if (config_read_number(loader, exit, config_read_join(path, key, "exit"), &stage->exit,
                               &where) != 0)
            return -1;
        if (stage->exit > stage->enter)
            return config_read_fail(loader, &where, 0, path,
                                    "a lead leaves a stage at or below where it enters: %g is "
                                    "above %g",
                                    stage->exit, stage->enter);
    }
    return 0;
}

int config_read_stages(loader_t *loader, const yaml_tree_node_t *node, const char *key)
{
    config_t *config = loader->config;
    int rc;
    config->stages = config_read_items(loader, node, key, s_stage_keys, sizeof *config->stages,
                                       s_read_stage, &config->stage_count, &rc);
    if (rc == 0 && config->stage_count == 0)
        return config_read_fail(loader, NULL, node ? node->line : 0, key,
                                "at least one stage is needed");
    return rc;
}

static const char *const s_model_keys[] = {"file", "points", "top_features", "mapping", NULL};

int config_read_model(loader_t *loader, const yaml_tree_node_t *node, const char *key)
{
    config_t *config = loader->config;
    char path[KEY_PATH_MAX];
    if (yaml_tree_is_null(node) || node->kind != YAML_TREE_MAP)
        return config_read_fail(loader, NULL, node ? node->line : 0, key,
                                "expected a mapping with file, points, top_features, mapping");
    if (config_read_check_map(loader, node, key, s_model_keys) != 0)
        return -1;
    const yaml_tree_node_t *field = yaml_tree_get(node, "file");
    config->model_file = strdup("");
    if (!config->model_file)
        return config_read_nomem(loader);
    if (field && config_read_string(loader, field, config_read_join(path, key, "file"), NULL, true,
                                    &config->model_file, NULL) != 0)
        return -1;
    config->model_points = 40;
    if ((field = yaml_tree_get(node, "points")) &&
        config_read_number(loader, field, config_read_join(path, key, "points"),
                           &config->model_points, NULL) != 0)
        return -1;
    long long top = 5;
    if ((field = yaml_tree_get(node, "top_features")) &&
        config_read_integer(loader, field, config_read_join(path, key, "top_features"), 0, 50,
                            &top) != 0)
        return -1;
    config->model_top_features = (int)top;
    const yaml_tree_node_t *mapping = yaml_tree_get(node, "mapping");
    if (!mapping || yaml_tree_is_null(mapping))
        return 0;
    config_read_join(path, key, "mapping");
    if (mapping->kind != YAML_TREE_MAP)
        return config_read_fail(loader, NULL, mapping->line, path,
                                "expected a mapping of model column to lead field, got %s",
                                yaml_tree_kind_name(mapping->kind));
    size_t n = mapping->count ? mapping->count : 1;
    if (!(config->model_columns = calloc(n, sizeof *config->model_columns)) ||
        !(config->model_fields = calloc(n, sizeof *config->model_fields)))
        return config_read_nomem(loader);
    for (size_t i = 0; i < mapping->count; i++) {
        char item[KEY_PATH_MAX];
        scalar_t where;
        config->model_mapping_count++;
        if (!(config->model_columns[i] = strdup(mapping->pairs[i].key)))
            return config_read_nomem(loader);
        if (config_read_string(loader, mapping->pairs[i].value,
                               config_read_join(item, path, mapping->pairs[i].key), NULL, false,
                               &config->model_fields[i], &where) != 0)
            return -1;
        if (!lead_field_is_known(config->model_fields[i]))
            return config_read_fail(loader, &where, 0, item, "unknown lead field \"%s\"",
                                    config->model_fields[i]);
    }
    return 0;
}
