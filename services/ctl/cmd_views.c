/* leadopsctl queue / summary, and the text of `leadopsctl lead ID`:
 * read-only views of the live state, the same ones the reporting API serves. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "views.h"

static bool s_has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return true;
    return false;
}

/* Runs VIEW and prints it as JSON, or with PRINT_TABLE when given and
 * --json was not asked for. */
static int s_show(const config_t *cfg, json_t *(*view)(store_t *, const char *, err_t *),
                  void (*print_table)(const json_t *), bool json)
{
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    json_t *value = view(store, cfg->redis_prefix, &err);
    store_destroy(&store);
    if (!value) {
        fprintf(stderr, "leadopsctl: %s\n", err.msg);
        return 1;
    }
    if (print_table && !json) {
        print_table(value);
        json_decref(value);
    } else {
        ctl_print_json(value);
    }
    return 0;
}

static void s_print_queues(const json_t *queues)
{
    printf("%-16s %8s %14s %6s %8s %14s\n", "QUEUE", "WAITING", "OLDEST WAIT s", "REPS", "ONLINE",
           "FREE CAPACITY");
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(queues, "queues"), i, q)
    {
        printf("%-16s %8lld %14.1f %6lld %8lld %14lld\n",
               json_string_value(json_object_get(q, "name")),
               (long long)json_integer_value(json_object_get(q, "waiting")),
               json_number_value(json_object_get(q, "oldest_wait_ms")) / 1000.0,
               (long long)json_integer_value(json_object_get(q, "reps")),
               (long long)json_integer_value(json_object_get(q, "reps_online")),
               (long long)json_integer_value(json_object_get(q, "free_capacity")));
    }
}

int ctl_queue(int argc, char **argv, const config_t *cfg)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "list") != 0) {
        fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: leadopsctl queue list [--json]\n"
                "Lists queues: leads waiting, the oldest wait, reps and their free capacity.\n");
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    json_t *(*view)(store_t *, const char *, err_t *) = views_queues;
    return s_show(cfg, view, s_print_queues, s_has_flag(argc, argv, "--json"));
}

int ctl_summary(int argc, char **argv, const config_t *cfg)
{
    if (s_has_flag(argc, argv, "--help")) {
        printf("usage: leadopsctl summary\n"
               "Prints the pipeline's counters and speed-to-lead percentiles as JSON.\n");
        return 0;
    }
    return s_show(cfg, views_summary, NULL, true);
}

/* ---- leadopsctl lead ID: the score explained ---------------------------- */

/* Rounds VALUES[0..COUNT) to cents in CENTS so that they add up to exactly
 * WANT cents (largest remainder: the values rounded furthest the wrong way
 * move by a cent each), so a printed breakdown adds up to its printed total.
 * VALUES must add up to WANT / 100 give or take rounding. */
static void s_round_parts(const double *values, size_t count, long long want, long long *cents)
{
    long long sum = 0;
    for (size_t i = 0; i < count; i++) {
        cents[i] = llround(values[i] * 100);
        sum += cents[i];
    }
    /* Each step fixes one cent; rounding leaves at most one per value. */
    for (size_t step = 0; sum != want && count > 0 && step <= count; step++) {
        long long way = want > sum ? 1 : -1;
        size_t pick = 0;
        for (size_t i = 1; i < count; i++)
            if ((values[i] * 100 - (double)cents[i]) * (double)way >
                (values[pick] * 100 - (double)cents[pick]) * (double)way)
                pick = i;
        cents[pick] += way;
        sum += way;
    }
}

/* CENTS as "12.31", "+12.31" with PLUS, "30" for 30.00 with WHOLE. */
static const char *s_cents(char out[static 32], long long cents, bool plus, bool whole)
{
    long long magnitude = cents < 0 ? -cents : cents;
    const char *sign = cents < 0 ? "-" : plus ? "+" : "";
    if (whole && magnitude % 100 == 0)
        snprintf(out, 32, "%s%lld", sign, magnitude / 100);
    else
        snprintf(out, 32, "%s%lld.%02lld", sign, magnitude / 100, magnitude % 100);
    return out;
}

static const char *s_str(const json_t *object, const char *name, const char *fallback)
{
    const char *text = json_string_value(json_object_get(object, name));
    return text && *text ? text : fallback;
}

static double s_num(const json_t *object, const char *name)
{
    return json_number_value(json_object_get(object, name));
}

/* "2026-11-20 10:00" (UTC) for Unix ms. */
static const char *s_minute(char out[static 32], json_int_t ms)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
    return out;
}

static const char *s_age(char out[static 32], json_int_t ms)
{
    double seconds = ms > 0 ? (double)ms / 1000 : 0;
    if (seconds < 60)
        snprintf(out, 32, "%.0f s ago", seconds);
    else if (seconds < 3600)
        snprintf(out, 32, "%.0f min ago", seconds / 60);
    else if (seconds < 86400)
        snprintf(out, 32, "%.1f hours ago", seconds / 3600);
    else
        snprintf(out, 32, "%.1f days ago", seconds / 86400);
    return out;
}

#define HALF_LIFE_TEXT_MAX 48

static const char *s_half_life(char out[static HALF_LIFE_TEXT_MAX], json_int_t seconds)
{
    const size_t size = HALF_LIFE_TEXT_MAX;
    if (seconds <= 0)
        snprintf(out, size, "no decay");
    else if (seconds % 86400 == 0)
        snprintf(out, size, "half-life %lld day%s", (long long)seconds / 86400,
                 seconds == 86400 ? "" : "s");
    else if (seconds % 3600 == 0)
        snprintf(out, size, "half-life %lld hours", (long long)seconds / 3600);
    else
        snprintf(out, size, "half-life %lld s", (long long)seconds);
    return out;
}

static void s_print_fit(FILE *out, const json_t *fit, long long fit_cents)
{
    char number[32];
    fprintf(out, "  fit %s, grade %s\n", s_cents(number, fit_cents, false, true),
            s_str(fit, "grade", "-"));
    const json_t *rules = json_object_get(fit, "rules");
    int name_width = 0;
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule)
    {
        int width = (int)strlen(s_str(rule, "rule", "?"));
        name_width = width > name_width ? width : name_width;
    }
    json_array_foreach(rules, i, rule)
    {
        const json_t *points = json_object_get(rule, "points");
        fprintf(out, "     %7s  %-*s   %s\n",
                json_is_number(points)
                    ? s_cents(number, llround(json_number_value(points) * 100), true, true)
                    : "",
                name_width, s_str(rule, "rule", "?"), s_str(rule, "condition", ""));
    }
}

static void s_print_activity(FILE *out, const json_t *activity, long long cents, int type_width,
                             json_int_t as_of)
{
    char number[32], when[32], age[32];
    json_int_t at = json_integer_value(json_object_get(activity, "at"));
    fprintf(out, "     %7s  %-*s  %s   ", s_cents(number, cents, true, false), type_width,
            s_str(activity, "type", "?"), s_minute(when, at));
    if (json_is_true(json_object_get(activity, "capped")))
        fprintf(out, "capped (%g of %g)", s_num(activity, "points"), s_num(activity, "base"));
    else
        fprintf(out, "%g points", s_num(activity, "points"));
    const char *outcome = s_str(activity, "outcome", NULL);
    if (outcome)
        fprintf(out, ", %s", outcome);
    fprintf(out, ", %s\n", s_age(age, as_of - at));
}

static void s_print_engagement(FILE *out, const json_t *engagement, long long engagement_cents,
                               json_int_t as_of)
{
    char number[32], half_life[HALF_LIFE_TEXT_MAX];
    fprintf(out, "  engagement %s (%s)\n", s_cents(number, engagement_cents, false, false),
            s_half_life(half_life, json_integer_value(json_object_get(engagement, "half_life_s"))));
    const json_t *activities = json_object_get(engagement, "activities");
    size_t count = json_array_size(activities);
    if (count > EXPLAIN_ACTS_MAX)
        count = EXPLAIN_ACTS_MAX;
    /* The listed activities, then what earlier ones still add. */
    double values[EXPLAIN_ACTS_MAX + 1];
    long long cents[EXPLAIN_ACTS_MAX + 1];
    int type_width = 0;
    for (size_t i = 0; i < count; i++) {
        const json_t *activity = json_array_get(activities, i);
        values[i] = s_num(activity, "decayed");
        int width = (int)strlen(s_str(activity, "type", "?"));
        type_width = width > type_width ? width : type_width;
    }
    double earlier = s_num(engagement, "earlier");
    values[count] = earlier;
    s_round_parts(values, count + 1, engagement_cents, cents);
    for (size_t i = 0; i < count; i++)
        s_print_activity(out, json_array_get(activities, i), cents[i], type_width, as_of);
    if (earlier != 0 || cents[count] != 0)
        fprintf(out, "     %7s  earlier activities\n", s_cents(number, cents[count], true, false));
    if (count == 0 && earlier == 0)
        fprintf(out, "     no activities\n");
}

static void s_print_model(FILE *out, const json_t *model, long long model_cents)
{
    char number[32];
    fprintf(out, "  model %s", s_cents(number, model_cents, true, false));
    const json_t *probability = json_object_get(model, "probability");
    double weight = s_num(model, "weight");
    /* "= p x weight" only while the configured weight is the one it was scored with. */
    if (json_is_number(probability) &&
        llround(json_number_value(probability) * weight * 100) == model_cents)
        fprintf(out, " = %.3g x %g", json_number_value(probability), weight);
    else if (json_is_number(probability))
        fprintf(out, " (probability %.3g)", json_number_value(probability));
    const char *name = s_str(model, "model", NULL);
    if (name)
        fprintf(out, " (%s)", name);
    fputc('\n', out);
    size_t i;
    json_t *feature;
    json_array_foreach(json_object_get(model, "top"), i, feature) fprintf(
        out, "     %+7.2f  %s\n", s_num(feature, "contribution"), s_str(feature, "feature", "?"));
}

void ctl_lead_print(FILE *out, const json_t *view)
{
    fprintf(out, "lead %s", s_str(view, "lead_id", "?"));
    if (s_str(view, "merged_from", NULL))
        fprintf(out, " (asked for %s, merged into it)", s_str(view, "merged_from", ""));
    static const char *const state[] = {"status", "queue", "rule", "rep", "outcome"};
    for (size_t i = 0; i < sizeof state / sizeof *state; i++)
        if (s_str(view, state[i], NULL))
            fprintf(out, "   %s %s", state[i], s_str(view, state[i], ""));
    fputc('\n', out);

    const json_t *explanation = json_object_get(view, "explanation");
    if (!json_is_object(explanation)) {
        fprintf(out, "score: not scored yet      stage %s\n", s_str(view, "stage", "-"));
        return;
    }
    const json_t *fit = json_object_get(explanation, "fit");
    const json_t *engagement = json_object_get(explanation, "engagement");
    const json_t *model = json_object_get(explanation, "model");
    bool has_model = json_is_object(model);
    double parts[3] = {s_num(fit, "points"), s_num(engagement, "points"),
                       has_model ? s_num(model, "points") : 0};
    long long cents[3];
    long long total = llround(s_num(explanation, "total") * 100);
    s_round_parts(parts, has_model ? 3 : 2, total, cents);
    char a[32], b[32], c[32], d[32];
    fprintf(out, "score %s (now) = fit %s + engagement %s", s_cents(a, total, false, false),
            s_cents(b, cents[0], false, true), s_cents(c, cents[1], false, false));
    if (has_model)
        fprintf(out, " + model %s", s_cents(d, cents[2], false, false));
    fprintf(out, "      stage %s\n", s_str(view, "stage", "-"));

    json_int_t as_of = json_integer_value(json_object_get(explanation, "as_of"));
    s_print_fit(out, fit, cents[0]);
    s_print_engagement(out, engagement, cents[1], as_of);
    if (has_model)
        s_print_model(out, model, cents[2]);
    const json_t *stored = json_object_get(view, "score_at_last_event");
    json_int_t scored_at = json_integer_value(json_object_get(view, "scored_at"));
    fprintf(out, "as of %s UTC", s_minute(a, as_of));
    if (json_is_number(stored))
        fprintf(out, "; %.2f at the last event", json_number_value(stored));
    if (json_is_number(stored) && scored_at > 0)
        fprintf(out, " (%s)", s_minute(b, scored_at));
    fputc('\n', out);
}
