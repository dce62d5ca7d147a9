/* route_rules.h — matching a scored lead to a queue: the ordered rules of
 * the config, first match wins, else the fallback queue; and the skills the
 * matching rule asks of a rep. Pure; no I/O. */
#ifndef LEADOPS_ROUTE_RULES_H
#define LEADOPS_ROUTE_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "leadops.pb-c.h"

/* Returns the queue for SCORED (borrowed from CFG) and sets *RULE to the
 * matching rule, or to NULL when none matched (the fallback queue). A rule
 * matches when the lead is in its territory (if it names one) and every
 * condition holds; conditions may name any lead field, or score, grade and
 * stage of the scored lead. */
const char *route_rules_match(const config_t *cfg, const Leadops__ScoredLead *scored,
                              const route_rule_t **rule);

/* True when LEAD is in TERRITORY: its country, its region ("CA" or
 * "US-CA"), or its postal code (a range on the code's first characters, or
 * a prefix). */
bool route_rules_in_territory(const territory_t *territory, const Leadops__Lead *lead);

/* The skills RULE (may be NULL) asks of a rep for LEAD, comma-separated and
 * lower case, "{field}" in a skill replaced by the lead's value (a skill
 * whose field is empty is left out): "lang:es,product:cloud". Returns OUT. */
const char *route_rules_skills(const route_rule_t *rule, const Leadops__Lead *lead, char *out,
                               size_t size);

#endif
