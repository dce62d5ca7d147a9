/* explain.h — a lead's score taken apart into parts that add up to it.
 *
 * Scoring (services/scoring/apply.lua) stores a lead's score as fit + model
 * points + engagement, engagement as a value at a time that halves every
 * half-life (common/decay.h), and the last EXPLAIN_ACTS_MAX activities in
 * <lead>:acts. This module recomputes the score at a given time from those
 * stored parts and says where each part came from: the fit rules matched,
 * each kept activity with its points decayed to that time, what earlier (or
 * merged-in) activities still add, and the model's top contributions.
 *
 * Invariants of the explanation (in doubles, to 1e-9):
 *   total == fit.points + engagement.points + (model ? model.points : 0)
 *   engagement.points == sum(engagement.activities[].decayed) + engagement.earlier
 *
 * Pure functions: no I/O, inputs borrowed, results owned by the caller. */
#ifndef LEADOPS_EXPLAIN_H
#define LEADOPS_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* How many activities scoring keeps per lead in <lead>:acts (apply.lua). */
#define EXPLAIN_ACTS_MAX 100

/* What the explanation is computed with. */
typedef struct {
    int64_t now_ms;      /* the time the score is explained at (Unix ms) */
    int half_life_s;     /* cfg->scoring_half_life_s; 0: no decay */
    double model_weight; /* cfg->model_points: a model adds its probability times this */
} explain_opts_t;

/* The stored fields of one lead hash, as text; NULL when a field is absent.
 * All borrowed. */
typedef struct {
    const char *fit;
    const char *grade;
    const char *reasons; /* JSON array: rule objects, or strings in old data */
    const char *engagement;
    const char *eng_at; /* ms; absent: engagement does not decay */
    const char *model_points;
    const char *model_p;
    const char *model_top;              /* JSON array of {feature, contribution} */
    const char *model;                  /* the model's description */
    const char *acts[EXPLAIN_ACTS_MAX]; /* <lead>:acts entries (JSON), newest first */
    size_t act_count;
} explain_lead_t;

/* The fit rules of REASONS (the stored JSON text, may be NULL) as an array
 * of objects {"rule", "condition", "points"}. Old data holding strings gives
 * {"rule": string} without points; text that is not a JSON array gives one
 * such rule holding the text, so a bad writer stays visible. Never NULL. */
json_t *explain_reasons(const char *reasons);

/* The explanation of LEAD's score at OPTS->now_ms:
 *   {"as_of": ms, "total": score,
 *    "fit": {"points", "grade", "rules": [...]},
 *    "engagement": {"points", "half_life_s",
 *                   "activities": [{"id", "type", "at", "points", "base", "capped",
 *                                   "outcome", "decayed"}, ...] (newest first),
 *                   "earlier"},
 *    "model": {"points", "probability", "weight", "model", "top": [...]} or null}.
 * An activity entry that does not parse is left out, so its points count in
 * "earlier". "model" is null when the lead holds no model probability and no
 * model points. Never NULL. */
json_t *explain_score(const explain_lead_t *lead, const explain_opts_t *opts);

#endif
