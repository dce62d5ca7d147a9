#include "rules_score.h"

#include <stdio.h>
#include <string.h>

double rules_fit(const config_t *cfg, const Leadops__Lead *lead, json_t *reasons)
{
    double fit = 0;
    for (size_t i = 0; i < cfg->fit_rule_count; i++) {
        const fit_rule_t *rule = &cfg->fit_rules[i];
        if (!cond_matches(&rule->cond, lead))
            continue;
        fit += rule->points;
        if (reasons) {
            char described[256], reason[400];
            cond_describe(&rule->cond, described, sizeof described);
            snprintf(reason, sizeof reason, "%s (%s): %+g", rule->name, described, rule->points);
            json_array_append_new(reasons, json_string(reason));
        }
    }
    return fit;
}

const char *rules_grade(const config_t *cfg, double fit)
{
    for (size_t i = 0; i < cfg->grade_count; i++)
        if (fit >= cfg->grades[i].min)
            return cfg->grades[i].grade;
    return "D";
}

double rules_activity_points(const config_t *cfg, const char *type)
{
    for (size_t i = 0; i < cfg->activity_points_count; i++)
        if (strcmp(cfg->activity_points[i].type, type) == 0)
            return cfg->activity_points[i].points;
    return 0;
}
