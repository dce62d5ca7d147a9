/* explain.c — a lead's score taken apart; see explain.h. */
#include "explain.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "decay.h"

/* One parsed entry of <lead>:acts. */
typedef struct {
    json_t *entry; /* owned: the parsed JSON object */
    int64_t at_ms;
    double points, base;
    size_t order; /* its place in the list, to keep ties in list order */
} s_act_t;

/* TEXT as a finite number, or FALLBACK when absent or not a number. */
static double s_number(const char *text, double fallback)
{
    if (!text || !*text)
        return fallback;
    char *end;
    double value = strtod(text, &end);
    return *end == '\0' && isfinite(value) ? value : fallback;
}

/* A JSON value as a finite number, or FALLBACK. */
static double s_json_number(const json_t *value, double fallback)
{
    if (!json_is_number(value))
        return fallback;
    double number = json_number_value(value);
    return isfinite(number) ? number : fallback;
}

/* A JSON string of TEXT, or null when TEXT is NULL. Nothing on the way
 * checks UTF-8 and jansson refuses invalid UTF-8, so such bytes become '?'
 * rather than the field silently vanishing. */
static json_t *s_text(const char *text)
{
    if (!text)
        return json_null();
    json_t *string = json_string(text);
    if (string)
        return string;
    char *ascii = strdup(text);
    if (!ascii)
        return json_null();
    for (char *p = ascii; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    string = json_string(ascii);
    free(ascii);
    return string ? string : json_null();
}

/* A string JSON value, or null for anything else and the empty string. */
static json_t *s_string_or_null(const json_t *value)
{
    const char *text = json_string_value(value);
    return text && *text ? json_string(text) : json_null();
}

json_t *explain_reasons(const char *reasons)
{
    json_t *rules = json_array();
    if (!reasons || !*reasons)
        return rules;
    json_t *parsed = json_loads(reasons, JSON_DECODE_ANY, NULL);
    if (!json_is_array(parsed)) {
        json_decref(parsed);
        json_t *rule = json_object();
        json_object_set_new(rule, "rule", s_text(reasons));
        json_array_append_new(rules, rule);
        return rules;
    }
    size_t i;
    json_t *reason;
    json_array_foreach(parsed, i, reason)
    {
        if (json_is_object(reason))
            json_array_append(rules, reason);
        else if (json_is_string(reason))
            json_array_append_new(rules, json_pack("{s:O}", "rule", reason));
    }
    json_decref(parsed);
    return rules;
}

static json_t *s_fit(const explain_lead_t *lead, double fit)
{
    json_t *part = json_object();
    json_object_set_new(part, "points", json_real(fit));
    json_object_set_new(part, "grade", s_text(lead->grade));
    json_object_set_new(part, "rules", explain_reasons(lead->reasons));
    return part;
}

/* Newest first; equal times keep their order in the list. */
static int s_act_cmp(const void *a, const void *b)
{
    const s_act_t *x = a, *y = b;
    if (x->at_ms != y->at_ms)
        return x->at_ms > y->at_ms ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Parses the entries of LEAD->acts into ACTS; returns how many parsed. An
 * entry needs numeric "at" and "points"; "base" defaults to "points". */
static size_t s_acts_parse(const explain_lead_t *lead, s_act_t acts[static EXPLAIN_ACTS_MAX])
{
    size_t count = 0;
    for (size_t i = 0; i < lead->act_count && i < EXPLAIN_ACTS_MAX; i++) {
        json_t *entry = lead->acts[i] ? json_loads(lead->acts[i], 0, NULL) : NULL;
        double at = s_json_number(json_object_get(entry, "at"), NAN);
        double points = s_json_number(json_object_get(entry, "points"), NAN);
        if (!json_is_object(entry) || isnan(at) || isnan(points)) {
            json_decref(entry);
            continue;
        }
        acts[count] = (s_act_t){
            .entry = entry,
            .at_ms = (int64_t)at,
            .points = points,
            .base = s_json_number(json_object_get(entry, "base"), points),
            .order = i,
        };
        count++;
    }
    qsort(acts, count, sizeof *acts, s_act_cmp);
    return count;
}

static json_t *s_engagement(const explain_lead_t *lead, const explain_opts_t *opts)
{
    double stored = s_number(lead->engagement, 0);
    /* Without eng_at the value is taken as of now: no decay. */
    int64_t eng_at = (int64_t)s_number(lead->eng_at, (double)opts->now_ms);
    double points = stored * decay_factor(eng_at, opts->now_ms, opts->half_life_s);

    s_act_t acts[EXPLAIN_ACTS_MAX];
    size_t count = s_acts_parse(lead, acts);
    json_t *list = json_array();
    double listed = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *entry = acts[i].entry;
        double decayed =
            acts[i].points * decay_factor(acts[i].at_ms, opts->now_ms, opts->half_life_s);
        listed += decayed;
        json_t *activity = json_object();
        json_object_set_new(activity, "id", s_string_or_null(json_object_get(entry, "id")));
        json_object_set_new(activity, "type", s_string_or_null(json_object_get(entry, "type")));
        json_object_set_new(activity, "at", json_integer(acts[i].at_ms));
        json_object_set_new(activity, "points", json_real(acts[i].points));
        json_object_set_new(activity, "base", json_real(acts[i].base));
        json_object_set_new(activity, "capped", json_boolean(acts[i].points < acts[i].base));
        json_object_set_new(activity, "outcome",
                            s_string_or_null(json_object_get(entry, "outcome")));
        json_object_set_new(activity, "decayed", json_real(decayed));
        json_array_append_new(list, activity);
        json_decref(entry);
    }
    /* Engagement is kept as one running sum, so what the listed activities
     * do not account for came from older ones or from a merged lead. When
     * that rest is only rounding, the listed activities are the whole of it. */
    double earlier = points - listed;
    if (fabs(earlier) < 1e-9 * fmax(1, fabs(points))) {
        earlier = 0;
        points = listed;
    }
    json_t *part = json_object();
    json_object_set_new(part, "points", json_real(points));
    json_object_set_new(part, "half_life_s", json_integer(opts->half_life_s));
    json_object_set_new(part, "activities", list);
    json_object_set_new(part, "earlier", json_real(earlier));
    return part;
}

/* The model's part, or null when the lead has none. */
static json_t *s_model(const explain_lead_t *lead, const explain_opts_t *opts, double points)
{
    if (!lead->model_p && points == 0)
        return json_null();
    json_t *part = json_object();
    json_object_set_new(part, "points", json_real(points));
    double probability = s_number(lead->model_p, NAN);
    json_object_set_new(part, "probability",
                        isnan(probability) ? json_null() : json_real(probability));
    json_object_set_new(part, "weight", json_real(opts->model_weight));
    json_object_set_new(part, "model", s_text(lead->model));
    json_t *top = lead->model_top ? json_loads(lead->model_top, 0, NULL) : NULL;
    json_object_set_new(part, "top", json_is_array(top) ? top : json_array());
    if (top && !json_is_array(top))
        json_decref(top);
    return part;
}

json_t *explain_score(const explain_lead_t *lead, const explain_opts_t *opts)
{
    double fit = s_number(lead->fit, 0);
    double model_points = s_number(lead->model_points, 0);
    json_t *engagement = s_engagement(lead, opts);
    double engagement_points = json_real_value(json_object_get(engagement, "points"));
    json_t *explanation = json_object();
    json_object_set_new(explanation, "as_of", json_integer(opts->now_ms));
    json_object_set_new(explanation, "total", json_real(fit + engagement_points + model_points));
    json_object_set_new(explanation, "fit", s_fit(lead, fit));
    json_object_set_new(explanation, "engagement", engagement);
    json_object_set_new(explanation, "model", s_model(lead, opts, model_points));
    return explanation;
}
