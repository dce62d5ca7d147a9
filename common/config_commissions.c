/* config_commissions.c — the reader of commissions.plans: named plans with a
 * rate, a quota per period, accelerators above multiples of the quota and
 * optional product and team filters. Private to the config loader (see
 * config_read.h); services/reporting/commission.c applies the plans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_read.h"

static const char *const s_accelerator_keys[] = {"above", "rate", NULL};

const char *const config_commission_plan_keys[] = {"name",     "rate",  "quota", "accelerators",
                                                   "products", "teams", NULL};

/* A rate is a fraction of won value: 0.08, not 8. */
static int s_read_rate(loader_t *loader, const yaml_tree_node_t *map, const char *key, double *rate)
{
    char path[KEY_PATH_MAX];
    scalar_t where;
    if (config_read_item_number(loader, map, key, "rate", rate, &where) != 0)
        return -1;
    if (*rate < 0 || *rate > 1)
        return config_read_fail_value(loader, &where, config_read_join(path, key, "rate"),
                                      "a fraction from 0 to 1 (0.08 is 8%)");
    return 0;
}

static int s_read_accelerator(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                              void *array, size_t index)
{
    accelerator_t *accelerator = (accelerator_t *)array + index;
    char path[KEY_PATH_MAX];
    scalar_t where;
    if (config_read_item_number(loader, map, key, "above", &accelerator->above, &where) != 0)
        return -1;
    if (!(accelerator->above > 0))
        return config_read_fail_value(loader, &where, config_read_join(path, key, "above"),
                                      "a multiple of the quota above 0 (1.0: the quota itself)");
    /* Ascending thresholds make the tiers a partition of the value won;
     * out of order, a tier would be empty or counted twice. */
    if (index > 0 && !(accelerator->above > accelerator[-1].above))
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "above"),
                                "accelerators must be listed lowest first: %g is not above %g",
                                accelerator->above, accelerator[-1].above);
    return s_read_rate(loader, map, key, &accelerator->rate);
}

/* An optional list of strings; absent is empty. */
static int s_opt_list(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                      const char *name, char ***out, size_t *count)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *field = yaml_tree_get(map, name);
    if (!field || yaml_tree_is_null(field))
        return 0;
    return config_read_string_list(loader, field, config_read_join(path, key, name), false, NULL,
                                   out, count, NULL);
}

int config_read_commission_plan(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                                void *array, size_t index)
{
    commission_plan_t *plan = (commission_plan_t *)array + index;
    char path[KEY_PATH_MAX];
    scalar_t where;
    if (config_read_item_string(loader, map, key, "name", NULL, &plan->name, &where) != 0)
        return -1;
    for (const commission_plan_t *other = array; other < plan; other++)
        if (strcmp(other->name, plan->name) == 0)
            return config_read_fail(loader, &where, 0, config_read_join(path, key, "name"),
                                    "duplicate plan \"%s\"", plan->name);
    if (s_read_rate(loader, map, key, &plan->rate) != 0)
        return -1;
    const yaml_tree_node_t *field = yaml_tree_get(map, "quota");
    if (field) {
        if (config_read_number(loader, field, config_read_join(path, key, "quota"), &plan->quota,
                               &where) != 0)
            return -1;
        if (plan->quota < 0)
            return config_read_fail_value(loader, &where, path,
                                          "won value per period, 0 or more (0: no quota)");
    }
    if ((field = yaml_tree_get(map, "accelerators")) && !yaml_tree_is_null(field)) {
        int rc;
        config_read_join(path, key, "accelerators");
        plan->accelerators =
            config_read_items(loader, field, path, s_accelerator_keys, sizeof *plan->accelerators,
                              s_read_accelerator, &plan->accelerator_count, &rc);
        if (rc != 0)
            return -1;
        if (plan->accelerator_count > 0 && plan->quota <= 0)
            return config_read_fail(loader, NULL, field->line, path,
                                    "accelerators apply above multiples of the quota: set a "
                                    "quota above 0");
    }
    return s_opt_list(loader, map, key, "products", &plan->products, &plan->product_count) != 0 ||
                   s_opt_list(loader, map, key, "teams", &plan->teams, &plan->team_count) != 0
               ? -1
               : 0;
}

static void s_free_strings(char **strings, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

void config_free_commission_plans(config_t *config)
{
    for (size_t i = 0; i < config->commission_plan_count; i++) {
        commission_plan_t *plan = &config->commission_plans[i];
        free(plan->name);
        free(plan->accelerators);
        s_free_strings(plan->products, plan->product_count);
        s_free_strings(plan->teams, plan->team_count);
    }
    free(config->commission_plans);
    config->commission_plans = NULL;
    config->commission_plan_count = 0;
}
