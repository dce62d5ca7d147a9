/* The pure parts of scoring and routing on the sample configuration: fit
 * points and reasons, grades, activity points, and which queue a lead's
 * territory sends it to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "json_codec.h"
#include "lead.h"
#include "route_rules.h"
#include "rules_score.h"

static int s_load(void **state)
{
    const char *root = getenv("LEADOPS_TEST_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/leadops.yaml", root ? root : ".");
    err_t err = {0};
    config_t *cfg = config_load(path, &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    *state = cfg;
    return 0;
}

static int s_free(void **state)
{
    config_t *cfg = *state;
    config_destroy(&cfg);
    return 0;
}

static Leadops__Lead *s_lead(const char *json)
{
    json_error_t jerr;
    json_t *obj = json_loads(json, 0, &jerr);
    assert_non_null(obj);
    Leadops__Lead *lead = json_to_lead(obj, NULL);
    json_decref(obj);
    assert_non_null(lead);
    lead_normalize(lead);
    return lead;
}

static void test_fit_points_and_reasons(void **state)
{
    const config_t *cfg = *state;
    Leadops__Lead *lead = s_lead("{\"lead_id\":\"a\",\"email\":\"cto@bigco.example\","
                                 "\"company\":\"BigCo\",\"industry\":\"Software\","
                                 "\"company_size\":800,\"title\":\"CTO\",\"source\":\"referral\"}");
    json_t *reasons = json_array();
    /* industry 15 + size 15 + title 10 + source 10 + company 5 */
    assert_true(rules_fit(cfg, lead, reasons) == 55);
    assert_int_equal(json_array_size(reasons), 5);
    /* The text scoring stores is the same array as JSON. */
    char *text = NULL, *dumped = json_dumps(reasons, JSON_COMPACT);
    assert_true(rules_fit_text(cfg, lead, &text) == 55);
    assert_string_equal(text, dumped);
    free(text);
    free(dumped);
    json_t *first = json_array_get(reasons, 0);
    assert_string_equal(json_string_value(json_object_get(first, "rule")), "target industry");
    assert_non_null(strstr(json_string_value(json_object_get(first, "condition")), "software"));
    assert_true(json_real_value(json_object_get(first, "points")) == 15);
    assert_string_equal(rules_grade(cfg, 55), "A");
    json_decref(reasons);
    leadops__lead__free_unpacked(lead, NULL);

    lead = s_lead("{\"lead_id\":\"b\",\"email\":\"someone@gmail.com\",\"company_size\":3}");
    /* free mail: -10, nothing else */
    assert_true(rules_fit(cfg, lead, NULL) == -10);
    assert_true(rules_fit_text(cfg, lead, &text) == -10);
    assert_non_null(strstr(text, "\"points\":-10"));
    free(text);
    leadops__lead__free_unpacked(lead, NULL);
    lead = s_lead("{\"lead_id\":\"c\"}"); /* no rule matches: an empty array */
    assert_true(rules_fit_text(cfg, lead, &text) == 0);
    assert_string_equal(text, "[]");
    free(text);
    assert_string_equal(rules_grade(cfg, -10), "D");
    leadops__lead__free_unpacked(lead, NULL);
    assert_string_equal(rules_grade(cfg, 30), "B");
    assert_string_equal(rules_grade(cfg, 29.9), "C");
}

static void test_activity_points(void **state)
{
    const config_t *cfg = *state;
    assert_true(rules_activity_points(cfg, "demo_request") == 25);
    assert_true(rules_activity_points(cfg, "unsubscribe") == -20);
    assert_true(rules_activity_points(cfg, "call") == 0);
}

/* The queue SCORED's lead goes to, and the matching rule's name ("fallback"). */
static const char *s_route(const config_t *cfg, Leadops__Lead *lead, const char **rule_name)
{
    Leadops__ScoredLead scored = LEADOPS__SCORED_LEAD__INIT;
    scored.lead = lead;
    scored.score = 30;
    scored.grade = "B";
    scored.stage = "mql";
    const route_rule_t *rule;
    const char *queue = route_rules_match(cfg, &scored, &rule);
    *rule_name = rule ? rule->name : "fallback";
    return queue;
}

static void test_territories(void **state)
{
    const config_t *cfg = *state;
    const char *rule;
    Leadops__Lead *lead = s_lead("{\"lead_id\":\"c\",\"company\":\"X\",\"country\":\"de\"}");
    assert_string_equal(s_route(cfg, lead, &rule), "emea");
    assert_string_equal(rule, "emea territory");
    leadops__lead__free_unpacked(lead, NULL);
    lead = s_lead("{\"lead_id\":\"d\",\"company\":\"X\",\"country\":\"BR\"}");
    assert_string_equal(s_route(cfg, lead, &rule), "americas");
    leadops__lead__free_unpacked(lead, NULL);
    lead = s_lead("{\"lead_id\":\"e\",\"company\":\"X\",\"country\":\"JP\"}");
    assert_string_equal(s_route(cfg, lead, &rule), "general");
    assert_string_equal(rule, "fallback");
    leadops__lead__free_unpacked(lead, NULL);
    lead = s_lead("{\"lead_id\":\"f\",\"company\":\"X\"}");
    assert_string_equal(s_route(cfg, lead, &rule), "general");
    leadops__lead__free_unpacked(lead, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_points_and_reasons),
        cmocka_unit_test(test_activity_points),
        cmocka_unit_test(test_territories),
    };
    return cmocka_run_group_tests(tests, s_load, s_free);
}
