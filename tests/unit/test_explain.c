/* The score explanation without Redis: decay_factor, explain_score on
 * stored fields as scoring leaves them (and as old or damaged data holds
 * them), and the terminal breakdown of leadopsctl lead adding up. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "decay.h"
#include "explain.h"

#define HOUR_MS   3600000LL
#define DAY_MS    (24 * HOUR_MS)
#define NOW_MS    1795000000000LL
#define HALF_LIFE (7 * 86400)

static const explain_opts_t s_opts = {
    .now_ms = NOW_MS, .half_life_s = HALF_LIFE, .model_weight = 40};

static double s_num(const json_t *object, const char *name)
{
    const json_t *value = json_object_get(object, name);
    assert_true(json_is_number(value));
    return json_number_value(value);
}

static const json_t *s_engagement(const json_t *explanation)
{
    return json_object_get(explanation, "engagement");
}

static void s_assert_adds_up(const json_t *explanation)
{
    const json_t *engagement = s_engagement(explanation);
    const json_t *model = json_object_get(explanation, "model");
    double listed = 0;
    size_t i;
    json_t *activity;
    json_array_foreach(json_object_get(engagement, "activities"), i, activity) listed +=
        s_num(activity, "decayed");
    assert_float_equal(s_num(engagement, "points"), listed + s_num(engagement, "earlier"), 1e-9);
    assert_float_equal(s_num(explanation, "total"),
                       s_num(json_object_get(explanation, "fit"), "points") +
                           s_num(engagement, "points") +
                           (json_is_null(model) ? 0 : s_num(model, "points")),
                       1e-9);
}

static void test_decay_factor(void **state)
{
    (void)state;
    assert_float_equal(decay_factor(0, 7 * DAY_MS, HALF_LIFE), 0.5, 1e-15);
    assert_float_equal(decay_factor(DAY_MS, 15 * DAY_MS, HALF_LIFE), 0.25, 1e-15);
    assert_float_equal(decay_factor(0, DAY_MS, HALF_LIFE), pow(2, -1.0 / 7), 1e-15);
    /* No decay without a half-life, and none backwards in time. */
    assert_float_equal(decay_factor(0, 365 * DAY_MS, 0), 1, 0);
    assert_float_equal(decay_factor(5 * DAY_MS, DAY_MS, HALF_LIFE), 1, 0);
    assert_float_equal(decay_factor(DAY_MS, DAY_MS, HALF_LIFE), 1, 0);
}

/* Activities as apply.lua leaves them, each added decayed to the time of the
 * last event: the listed ones are the whole engagement and "earlier" is 0
 * exactly, even where the running sum rounded differently. */
static void test_consistent_engagement_has_nothing_earlier(void **state)
{
    (void)state;
    const long long at[3] = {NOW_MS - 10 * DAY_MS, NOW_MS - 4 * DAY_MS, NOW_MS - 2 * HOUR_MS};
    const double points[3] = {25, 3.3, 1.1};
    long long eng_at = at[2];
    double engagement = 0;
    for (size_t i = 0; i < 3; i++) /* the running sum, event by event */
        engagement = engagement * decay_factor(i ? at[i - 1] : at[0], at[i], HALF_LIFE) + points[i];
    char entries[3][160], engagement_text[40], eng_at_text[24];
    explain_lead_t lead = {.fit = "12.5", .engagement = engagement_text, .eng_at = eng_at_text};
    snprintf(engagement_text, sizeof engagement_text, "%.17g", engagement);
    snprintf(eng_at_text, sizeof eng_at_text, "%lld", eng_at);
    for (size_t i = 0; i < 3; i++) {
        snprintf(entries[2 - i], sizeof entries[2 - i],
                 "{\"id\":\"e%zu\",\"type\":\"web\",\"at\":%lld,\"points\":%.17g,\"base\":%.17g}",
                 i, at[i], points[i], points[i]);
        lead.acts[lead.act_count++] = entries[2 - i];
    }
    json_t *explanation = explain_score(&lead, &s_opts);
    s_assert_adds_up(explanation);
    assert_true(json_real_value(json_object_get(s_engagement(explanation), "earlier")) == 0);
    assert_float_equal(s_num(s_engagement(explanation), "points"),
                       engagement * decay_factor(eng_at, NOW_MS, HALF_LIFE), 1e-9);
    assert_true(json_is_null(json_object_get(explanation, "model")));
    json_decref(explanation);
}

/* After a merge the merged lead's activities follow the lead's own in the
 * list; an entry that does not parse counts in "earlier". */
static void test_merged_and_broken_entries(void **state)
{
    (void)state;
    explain_lead_t lead = {
        .fit = "0",
        .engagement = "10",
        .acts = {"{\"id\":\"own\",\"type\":\"call\",\"at\":1794900000000,\"points\":4}", "not json",
                 "{\"type\":\"call\",\"points\":1}",
                 "{\"id\":\"merged\",\"type\":\"demo\",\"at\":1794950000000,\"points\":5,"
                 "\"base\":5}"},
        .act_count = 4,
    };
    json_t *explanation = explain_score(&lead, &s_opts);
    const json_t *activities = json_object_get(s_engagement(explanation), "activities");
    assert_int_equal(json_array_size(activities), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(activities, 0), "id")),
                        "merged");
    const json_t *own = json_array_get(activities, 1);
    assert_float_equal(s_num(own, "base"), 4, 0); /* no base: the points */
    assert_true(json_is_false(json_object_get(own, "capped")));
    /* No eng_at: the stored 10 is taken as of now. */
    assert_float_equal(s_num(s_engagement(explanation), "points"), 10, 0);
    assert_float_equal(s_num(s_engagement(explanation), "earlier"),
                       10 - 4 * decay_factor(1794900000000LL, NOW_MS, HALF_LIFE) -
                           5 * decay_factor(1794950000000LL, NOW_MS, HALF_LIFE),
                       1e-12);
    s_assert_adds_up(explanation);
    json_decref(explanation);
}

static void test_damaged_numbers_and_model_points_without_probability(void **state)
{
    (void)state;
    explain_lead_t lead = {
        .fit = "nan",
        .engagement = "lots",
        .model_points = "6",
        .model_top = "{\"not\":\"an array\"}",
        .reasons = "[\"old style: +5\", 7, {\"rule\":\"new\",\"points\":5}]",
    };
    json_t *explanation = explain_score(&lead, &s_opts);
    assert_float_equal(s_num(json_object_get(explanation, "fit"), "points"), 0, 0);
    assert_float_equal(s_num(explanation, "total"), 6, 0);
    const json_t *model = json_object_get(explanation, "model");
    assert_true(json_is_object(model));
    assert_true(json_is_null(json_object_get(model, "probability")));
    assert_int_equal(json_array_size(json_object_get(model, "top")), 0);
    const json_t *rules = json_object_get(json_object_get(explanation, "fit"), "rules");
    assert_int_equal(json_array_size(rules), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "rule")),
                        "old style: +5");
    s_assert_adds_up(explanation);
    json_decref(explanation);

    json_t *reasons = explain_reasons("caf\xe9 rule");
    assert_string_equal(json_string_value(json_object_get(json_array_get(reasons, 0), "rule")),
                        "caf? rule");
    json_decref(reasons);
    reasons = explain_reasons(NULL);
    assert_int_equal(json_array_size(reasons), 0);
    json_decref(reasons);
}

/* Three activities of a third of a point each: rounded one by one they
 * print 0.99, so one of them prints 0.34 and the lines add up to 1.00. */
static void test_print_rounds_so_lines_add_up(void **state)
{
    (void)state;
    json_t *view = json_pack(
        "{s:s, s:s, s:{s:I, s:f, s:{s:f, s:n, s:[]}, s:{s:f, s:i, s:[{s:s, s:s, s:I, s:f, s:f, "
        "s:b, s:n, s:f}, {s:s, s:s, s:I, s:f, s:f, s:b, s:n, s:f}, {s:s, s:s, s:I, s:f, s:f, "
        "s:b, s:n, s:f}], s:f}, s:n}}",
        "lead_id", "L-7", "stage", "lead", "explanation", "as_of", (json_int_t)NOW_MS, "total",
        31.0, "fit", "points", 30.0, "grade", "rules", "engagement", "points", 1.0, "half_life_s",
        0, "activities", "id", "a", "type", "web", "at", (json_int_t)(NOW_MS - HOUR_MS), "points",
        1.0 / 3, "base", 1.0 / 3, "capped", 0, "outcome", "decayed", 1.0 / 3, "id", "b", "type",
        "web", "at", (json_int_t)(NOW_MS - 2 * HOUR_MS), "points", 1.0 / 3, "base", 1.0 / 3,
        "capped", 0, "outcome", "decayed", 1.0 / 3, "id", "c", "type", "web", "at",
        (json_int_t)(NOW_MS - 3 * DAY_MS), "points", 1.0 / 3, "base", 1.0 / 3, "capped", 0,
        "outcome", "decayed", 1.0 / 3, "earlier", 0.0, "model");
    assert_non_null(view);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    ctl_lead_print(out, view);
    fclose(out);
    json_decref(view);
    assert_non_null(strstr(text, "score 31.00 (now) = fit 30 + engagement 1.00      stage lead\n"));
    assert_non_null(strstr(text, "(no decay)"));
    assert_non_null(strstr(text, "3.0 days ago"));
    assert_null(strstr(text, "earlier activities"));
    assert_null(strstr(text, "model"));
    int thirds = 0, extra = 0;
    for (const char *p = text; (p = strstr(p, "+0.3")); p += 4) {
        thirds++;
        extra += p[4] == '4';
    }
    assert_int_equal(thirds, 3);
    assert_int_equal(extra, 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decay_factor),
        cmocka_unit_test(test_consistent_engagement_has_nothing_earlier),
        cmocka_unit_test(test_merged_and_broken_entries),
        cmocka_unit_test(test_damaged_numbers_and_model_points_without_probability),
        cmocka_unit_test(test_print_rounds_so_lines_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
