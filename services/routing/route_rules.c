#include "route_rules.h"

const char *route_rules_match(const config_t *cfg, const Leadops__Lead *lead, const char **rule)
{
    for (size_t i = 0; i < cfg->route_rule_count; i++) {
        const route_rule_t *r = &cfg->route_rules[i];
        bool all = true;
        for (size_t c = 0; c < r->cond_count && all; c++)
            all = cond_matches(&r->conds[c], lead);
        if (all) {
            *rule = r->name;
            return r->queue;
        }
    }
    *rule = "fallback";
    return cfg->fallback_queue;
}
