#include "rules_score.h"

#include <stdlib.h>
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
            json_error_t jerr;
            json_array_append_new(reasons, json_loads(rule->reason, 0, &jerr));
        }
    }
    return fit;
}

double rules_fit_text(const config_t *cfg, const Leadops__Lead *lead, char **reasons)
{
    /* The matching rules' reasons, made at config load, joined: room for
     * every rule's, then a pass over the rules. */
    size_t size = 3;
    for (size_t i = 0; i < cfg->fit_rule_count; i++)
        size += strlen(cfg->fit_rules[i].reason) + 1;
    char *text = malloc(size);
    if (!text)
        abort();
    double fit = 0;
    size_t used = 0;
    text[used++] = '[';
    for (size_t i = 0; i < cfg->fit_rule_count; i++) {
        const fit_rule_t *rule = &cfg->fit_rules[i];
        if (!cond_matches(&rule->cond, lead))
            continue;
        fit += rule->points;
        if (used > 1)
            text[used++] = ',';
        size_t len = strlen(rule->reason);
        memcpy(text + used, rule->reason, len);
        used += len;
    }
    text[used++] = ']';
    text[used] = '\0';
    *reasons = text;
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
