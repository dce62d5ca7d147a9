/* rules_score.h — the rule-based part of a lead's score: fit (ideal
 * customer profile rules on lead fields) and points per activity type, both
 * from the config. Pure functions: no I/O, microseconds per call. */
#ifndef LEADOPS_RULES_SCORE_H
#define LEADOPS_RULES_SCORE_H

#include <jansson.h>

#include "config.h"
#include "leadops.pb-c.h"

/* The fit score of LEAD: the sum of the points of every matching fit rule.
 * When REASONS (a JSON array) is not NULL, appends one object per matching
 * rule: {"rule": "target industry", "condition": "industry in [software]",
 * "points": 15}. */
double rules_fit(const config_t *cfg, const Leadops__Lead *lead, json_t *reasons);

/* rules_fit with the reasons as the JSON text of that array, compact
 * (*REASONS: the caller frees): what scoring stores on the lead, made from
 * each rule's reason text without building JSON objects per lead. */
double rules_fit_text(const config_t *cfg, const Leadops__Lead *lead, char **reasons);

/* The fit grade for FIT: the first configured band whose min it reaches,
 * or "D" when no band matches. Borrowed from CFG. */
const char *rules_grade(const config_t *cfg, double fit);

/* Points for one activity of TYPE (0 for a type with no points), before
 * caps and outcome points (config_activity_points has those). */
double rules_activity_points(const config_t *cfg, const char *type);

#endif
