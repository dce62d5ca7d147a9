#include "route_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lead.h"

static bool s_scored_cond(const cond_t *cond, const Leadops__ScoredLead *scored)
{
    if (strcmp(cond->field, "score") == 0) {
        char text[32];
        snprintf(text, sizeof text, "%g", scored->score);
        return cond_matches_value(cond, text, &scored->score);
    }
    if (strcmp(cond->field, "grade") == 0)
        return cond_matches_value(cond, scored->grade ? scored->grade : "", NULL);
    if (strcmp(cond->field, "stage") == 0)
        return cond_matches_value(cond, scored->stage ? scored->stage : "", NULL);
    return cond_matches(cond, scored->lead);
}

/* TEXT upper-cased without blanks into OUT. */
static void s_normalize(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (; text && *text && n + 1 < size; text++)
        if (!isspace((unsigned char)*text))
            out[n++] = (char)toupper((unsigned char)*text);
    out[n] = '\0';
}

bool route_rules_in_territory(const territory_t *territory, const Leadops__Lead *lead)
{
    char country[16], region[64], postal[32], both[96];
    s_normalize(lead->country, country, sizeof country);
    s_normalize(lead->region, region, sizeof region);
    s_normalize(lead->postal_code, postal, sizeof postal);
    snprintf(both, sizeof both, "%s-%s", country, region);
    for (size_t i = 0; *country && i < territory->country_count; i++)
        if (strcmp(territory->countries[i], country) == 0)
            return true;
    for (size_t i = 0; *region && i < territory->region_count; i++)
        if (strcmp(territory->regions[i], region) == 0 || strcmp(territory->regions[i], both) == 0)
            return true;
    for (size_t i = 0; *postal && i < territory->postal_count; i++) {
        const char *spec = territory->postal[i], *dash = strchr(spec, '-');
        if (!dash) {
            if (strncmp(postal, spec, strlen(spec)) == 0)
                return true;
            continue;
        }
        size_t len = (size_t)(dash - spec);
        if (strlen(postal) < len)
            continue;
        if (strncmp(postal, spec, len) >= 0 && strncmp(postal, dash + 1, len) <= 0)
            return true;
    }
    return false;
}

const char *route_rules_match(const config_t *cfg, const Leadops__ScoredLead *scored,
                              const route_rule_t **rule)
{
    for (size_t i = 0; scored->lead && i < cfg->route_rule_count; i++) {
        const route_rule_t *r = &cfg->route_rules[i];
        bool all = !r->territory ||
                   route_rules_in_territory(&cfg->territories[r->territory - 1], scored->lead);
        for (size_t c = 0; c < r->cond_count && all; c++)
            all = s_scored_cond(&r->conds[c], scored);
        if (all) {
            *rule = r;
            return r->queue;
        }
    }
    *rule = NULL;
    return cfg->fallback_queue;
}

const char *route_rules_skills(const route_rule_t *rule, const Leadops__Lead *lead, char *out,
                               size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; rule && i < rule->skill_count; i++) {
        char skill[128], field[64], buf[64];
        const char *template = rule->skills[i], *open = strchr(template, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (open && close && (size_t)(close - open - 1) < sizeof field) {
            snprintf(field, sizeof field, "%.*s", (int)(close - open - 1), open + 1);
            const char *value = lead_field_text(lead, field, buf, sizeof buf);
            if (!value || !*value)
                continue;
            snprintf(skill, sizeof skill, "%.*s%s%s", (int)(open - template), template, value,
                     close + 1);
        } else {
            snprintf(skill, sizeof skill, "%s", template);
        }
        for (char *c = skill; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        int w = snprintf(out + n, size - n, "%s%s", n ? "," : "", skill);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return out;
}
