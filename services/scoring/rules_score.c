#include "rules_score.h"

double rules_fit(const config_t *cfg, const Leadops__Lead *lead, json_t *reasons)
{
    double fit = 0;
    for (size_t i = 0; i < cfg->fit_rule_count; i++) {
        const fit_rule_t *rule = &cfg->fit_rules[i];
        if (!cond_matches(&rule->cond, lead))
            continue;
        fit += rule->points;
        if (reasons) {
            char described[256];
            cond_describe(&rule->cond, described, sizeof described);
            json_array_append_new(reasons,
                                  json_pack("{s:s, s:s, s:f}", "rule", rule->name, "condition",
                                            described, "points", rule->points));
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
    double cap;
    int period_s;
    return config_activity_points(cfg, type, NULL, &cap, &period_s);
}
