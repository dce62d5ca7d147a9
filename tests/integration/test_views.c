/* test_views.c — the reporting views against a real redis-server, filled
 * the way common/keys.h lays the state out. */
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
#include "envelope.h"
#include "leadops.pb-c.h"
#include "redis_fixture.h"
#include "store.h"
#include "views.h"

#define PREFIX "t"

/* Engagement halves in 14 days, a model adds up to 40 points: the shipped defaults. */
#define HALF_LIFE_S  (14 * 86400)
#define MODEL_WEIGHT 40.0
#define DAY_MS       86400000LL
/* The time the explanation tests look at a lead: late 2026. */
#define NOW_MS 1795000000000LL

static const explain_opts_t s_opts = {
    .now_ms = NOW_MS, .half_life_s = HALF_LIFE_S, .model_weight = MODEL_WEIGHT};

typedef redis_fixture_world_t s_world_t;

/* Runs one command that must succeed. */
static void s_redis(s_world_t *world, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *argv[32];
    size_t lens[32];
    int argc = 0;
    for (const char *arg = fmt; arg; arg = va_arg(ap, const char *)) {
        assert_true(argc < 32);
        argv[argc] = arg;
        lens[argc++] = strlen(arg);
    }
    va_end(ap);
    err_t err = {0};
    store_value_t *reply = store_commandv(world->store, argc, argv, lens, &err);
    assert_non_null(reply);
    assert_int_not_equal(reply->type, STORE_ERROR);
    store_value_free(&reply);
}
#define REDIS(world, ...) s_redis((world), __VA_ARGS__, (const char *)NULL)

static void s_put_lead(s_world_t *world, const char *lead_id)
{
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = (char *)lead_id;
    lead.email = "ada@example.com";
    lead.company = "Example GmbH";
    lead.domain = "example.com";
    lead.title = "cto";
    lead.industry = "software";
    lead.company_size = 250;
    lead.annual_revenue = 12500000.5;
    lead.country = "DE";
    lead.source = "web_form";
    lead.language = "de";
    Leadops__Lead__AttributesEntry tier = LEADOPS__LEAD__ATTRIBUTES_ENTRY__INIT;
    tier.key = "tier";
    tier.value = "gold";
    Leadops__Lead__AttributesEntry *entries[] = {&tier};
    lead.n_attributes = 1;
    lead.attributes = entries;
    size_t len = leadops__lead__get_packed_size(&lead);
    uint8_t *packed = malloc(len);
    assert_non_null(packed);
    leadops__lead__pack(&lead, packed);

    char key[128];
    snprintf(key, sizeof key, PREFIX ":lead:%s", lead_id);
    store_value_t *reply = store_command(world->store, NULL, "HSET %s lead %b", key, packed, len);
    assert_non_null(reply);
    assert_int_equal(reply->type, STORE_INT);
    store_value_free(&reply);
    free(packed);
}

static void test_stl_bucket_fields(void **state)
{
    (void)state;
    char field[STL_FIELD_MAX];
    stl_bucket_field(0, field);
    assert_string_equal(field, "le_1");
    stl_bucket_field(STL_BUCKET_COUNT - 1, field);
    assert_string_equal(field, "le_86400000");
    stl_bucket_field(16, field);
    assert_string_equal(field, "le_1800000");
}

static void test_stl_quantiles_interpolate(void **state)
{
    (void)state;
    stl_histogram_t hist = {0};
    assert_true(stl_histogram_quantile(&hist, 0.5) == 0);
    stl_histogram_observe(&hist, 60);  /* (50, 100] */
    stl_histogram_observe(&hist, 100); /* (50, 100]: bounds are inclusive */
    stl_histogram_observe(&hist, 150); /* (100, 200] */
    stl_histogram_observe(&hist, 190);
    assert_int_equal(hist.counts[6], 2);
    assert_int_equal(hist.counts[7], 2);
    assert_int_equal(hist.count, 4);
    assert_float_equal(stl_histogram_quantile(&hist, 0.5), 100, 1e-9);
    assert_float_equal(stl_histogram_quantile(&hist, 0.9), 180, 1e-9);
    assert_float_equal(stl_histogram_quantile(&hist, 0.25), 75, 1e-9);
    stl_histogram_observe(&hist, 1e12); /* beyond the last bound */
    assert_int_equal(hist.counts[STL_BUCKET_COUNT], 1);
    assert_float_equal(stl_histogram_quantile(&hist, 0.99), 86400000, 1e-9);
}

static void test_lead_view_decodes_lead_and_state(void **state)
{
    s_world_t *world = *state;
    s_put_lead(world, "L-1");
    REDIS(world, "HSET", PREFIX ":lead:L-1", "status", "assigned", "score", "42.5", "fit", "25",
          "engagement", "17.5", "grade", "A", "stage", "mql", "qualified", "1", "reasons",
          "[{\"rule\":\"target industry\",\"condition\":\"industry in [software]\","
          "\"points\":15},{\"rule\":\"senior title\",\"condition\":\"title in [cto]\","
          "\"points\":10}]",
          "activities", "3");
    REDIS(world, "HSET", PREFIX ":lead:L-1", "queue", "emea", "rule", "emea territory", "rep",
          "rep-anna", "ingested_at", "1700000000000", "scored_at", "1700000000040", "queued_at",
          "1700000000100", "assigned_at", "1700000000250");

    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-1", &s_opts, &err);
    assert_non_null(view);
    assert_string_equal(json_string_value(json_object_get(view, "lead_id")), "L-1");
    assert_string_equal(json_string_value(json_object_get(view, "email")), "ada@example.com");
    assert_string_equal(json_string_value(json_object_get(view, "company")), "Example GmbH");
    assert_int_equal(json_integer_value(json_object_get(view, "company_size")), 250);
    assert_float_equal(json_number_value(json_object_get(view, "annual_revenue")), 12500000.5,
                       1e-6);
    assert_string_equal(json_string_value(json_object_get(view, "country")), "DE");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(view, "attributes"), "tier")), "gold");
    assert_string_equal(json_string_value(json_object_get(view, "status")), "assigned");
    /* No eng_at: the engagement does not decay, the score now is the stored one. */
    assert_float_equal(json_number_value(json_object_get(view, "score")), 42.5, 1e-9);
    assert_float_equal(json_number_value(json_object_get(view, "score_at_last_event")), 42.5, 1e-9);
    assert_float_equal(json_number_value(json_object_get(view, "engagement")), 17.5, 1e-9);
    assert_true(json_is_true(json_object_get(view, "qualified")));
    json_t *reasons = json_object_get(view, "reasons");
    assert_int_equal(json_array_size(reasons), 2);
    json_t *senior = json_array_get(reasons, 1);
    assert_string_equal(json_string_value(json_object_get(senior, "rule")), "senior title");
    assert_string_equal(json_string_value(json_object_get(senior, "condition")), "title in [cto]");
    assert_float_equal(json_number_value(json_object_get(senior, "points")), 10, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(view, "activities")), 3);
    assert_string_equal(json_string_value(json_object_get(view, "rep")), "rep-anna");
    assert_int_equal(json_integer_value(json_object_get(view, "assigned_at")), 1700000000250LL);
    assert_string_equal(json_string_value(json_object_get(view, "ingested_at_iso")),
                        "2023-11-14T22:13:20.000Z");
    assert_string_equal(json_string_value(json_object_get(view, "assigned_at_iso")),
                        "2023-11-14T22:13:20.250Z");
    assert_int_equal(json_integer_value(json_object_get(view, "speed_to_lead_ms")), 250);
    assert_true(json_is_null(json_object_get(view, "closed_at")));
    assert_true(json_is_null(json_object_get(view, "closed_at_iso")));
    assert_true(json_is_null(json_object_get(view, "outcome")));
    json_decref(view);
}

static void test_lead_view_unassigned_has_no_speed_to_lead(void **state)
{
    s_world_t *world = *state;
    s_put_lead(world, "L-2");
    REDIS(world, "HSET", PREFIX ":lead:L-2", "status", "scored", "qualified", "0", "ingested_at",
          "1700000000000");
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-2", &s_opts, &err);
    assert_non_null(view);
    assert_true(json_is_false(json_object_get(view, "qualified")));
    assert_true(json_is_null(json_object_get(view, "speed_to_lead_ms")));
    assert_true(json_is_null(json_object_get(view, "assigned_at")));
    assert_int_equal(json_array_size(json_object_get(view, "reasons")), 0);
    json_decref(view);
}

static void test_lead_view_missing_is_notfound(void **state)
{
    s_world_t *world = *state;
    err_t err = {0};
    assert_null(views_lead(world->store, PREFIX, "nobody", &s_opts, &err));
    assert_int_equal(err.code, ERR_NOTFOUND);
    assert_string_equal(err.msg, "lead nobody not found");
}

static void test_lead_view_corrupt_lead_still_shows_state(void **state)
{
    s_world_t *world = *state;
    REDIS(world, "HSET", PREFIX ":lead:L-3", "lead", "\xff\xff\xff not protobuf", "status", "new");
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-3", &s_opts, &err);
    assert_non_null(view);
    assert_true(json_is_true(json_object_get(view, "lead_corrupt")));
    assert_string_equal(json_string_value(json_object_get(view, "status")), "new");
    json_decref(view);
}

/* ---- the score explained ------------------------------------------------ */

static double s_decay(long long from_ms, long long to_ms)
{
    return to_ms <= from_ms ? 1 : pow(2.0, -(double)(to_ms - from_ms) / (1000.0 * HALF_LIFE_S));
}

static double s_num(const json_t *object, const char *name)
{
    const json_t *value = json_object_get(object, name);
    assert_true(json_is_number(value));
    return json_number_value(value);
}

/* Appends one activity to LEAD_ID's kept list the way apply.lua does (LPUSH:
 * the newest first). */
static void s_push_act(s_world_t *world, const char *lead_id, const char *event_id,
                       const char *type, long long at_ms, double points, double base,
                       const char *outcome)
{
    char key[128], entry[512];
    snprintf(key, sizeof key, PREFIX ":lead:%s:acts", lead_id);
    snprintf(entry, sizeof entry,
             "{\"id\":\"%s\",\"type\":\"%s\",\"at\":%lld,\"points\":%.17g,\"base\":%.17g,"
             "\"outcome\":\"%s\"}",
             event_id, type, at_ms, points, base, outcome);
    REDIS(world, "LPUSH", key, entry);
}

/* The last event three days before NOW_MS. */
#define ENG_AT_MS (NOW_MS - 3 * DAY_MS)
/* Points from activities no longer in the list (or merged in), as of ENG_AT_MS. */
#define EARLIER_AT_ENG 4.0

/* Lead L-10: two fit rules (30, grade B), three kept activities (one
 * capped to nothing, one capped in part) and older ones worth
 * EARLIER_AT_ENG, a model adding 0.125 x 40. Engagement is stored as
 * apply.lua would have left it at ENG_AT_MS. Returns the stored engagement. */
static double s_put_explained_lead(s_world_t *world)
{
    s_put_lead(world, "L-10");
    const long long demo_at = ENG_AT_MS - 6 * DAY_MS, view_at = ENG_AT_MS - 2 * DAY_MS,
                    click_at = ENG_AT_MS - 3600 * 1000LL;
    s_push_act(world, "L-10", "ev-1", "demo_request", demo_at, 25, 25, "");
    s_push_act(world, "L-10", "ev-2", "page_view", view_at, 0, 1, "");
    s_push_act(world, "L-10", "ev-3", "email_click", click_at, 2, 3, "opened");
    double engagement =
        25 * s_decay(demo_at, ENG_AT_MS) + 2 * s_decay(click_at, ENG_AT_MS) + EARLIER_AT_ENG;
    char engagement_text[40], eng_at[24], score[40];
    snprintf(engagement_text, sizeof engagement_text, "%.17g", engagement);
    snprintf(eng_at, sizeof eng_at, "%lld", ENG_AT_MS);
    snprintf(score, sizeof score, "%.17g", 30 + 5 + engagement);
    REDIS(world, "HSET", PREFIX ":lead:L-10", "status", "queued", "stage", "mql", "fit", "30",
          "grade", "B", "reasons",
          "[{\"rule\":\"target industry\",\"condition\":\"industry in [software, fintech]\","
          "\"points\":15},{\"rule\":\"mid-market or larger\","
          "\"condition\":\"company_size in 50..100000\",\"points\":15}]",
          "engagement", engagement_text, "eng_at", eng_at, "score", score, "scored_at", eng_at,
          "activities", "9", "model_points", "5", "model_p", "0.125", "model_top",
          "[{\"feature\":\"Lead Origin=API\",\"contribution\":0.42},"
          "{\"feature\":\"TotalVisits:bin2\",\"contribution\":-0.31}]",
          "model", "model.json (172 features, 16 columns)");
    return engagement;
}

/* The parts of an explanation add up: total = fit + engagement + model, and
 * engagement = the listed activities' decayed points + earlier. */
static void s_assert_adds_up(const json_t *explanation)
{
    const json_t *engagement = json_object_get(explanation, "engagement");
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

static void test_lead_view_explains_the_score(void **state)
{
    s_world_t *world = *state;
    double stored_engagement = s_put_explained_lead(world);
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-10", &s_opts, &err);
    assert_non_null(view);
    json_t *explanation = json_object_get(view, "explanation");
    assert_true(json_is_object(explanation));
    assert_int_equal(json_integer_value(json_object_get(explanation, "as_of")), NOW_MS);
    s_assert_adds_up(explanation);

    /* The score now, from the formula: engagement decayed from eng_at. */
    double engagement_now = stored_engagement * s_decay(ENG_AT_MS, NOW_MS);
    assert_true(engagement_now < stored_engagement - 1); /* three days of decay show */
    assert_float_equal(s_num(explanation, "total"), 30 + 5 + engagement_now, 1e-9);
    assert_float_equal(s_num(view, "score"), s_num(explanation, "total"), 0);
    assert_float_equal(s_num(view, "score_at_last_event"), 35 + stored_engagement, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(view, "scored_at")), ENG_AT_MS);

    json_t *fit = json_object_get(explanation, "fit");
    assert_float_equal(s_num(fit, "points"), 30, 0);
    assert_string_equal(json_string_value(json_object_get(fit, "grade")), "B");
    json_t *rules = json_object_get(fit, "rules");
    assert_int_equal(json_array_size(rules), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "rule")),
                        "target industry");
    assert_float_equal(s_num(json_array_get(rules, 0), "points") +
                           s_num(json_array_get(rules, 1), "points"),
                       s_num(fit, "points"), 0);

    json_t *engagement = json_object_get(explanation, "engagement");
    assert_float_equal(s_num(engagement, "points"), engagement_now, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(engagement, "half_life_s")), HALF_LIFE_S);
    json_t *activities = json_object_get(engagement, "activities");
    assert_int_equal(json_array_size(activities), 3);
    static const struct {
        const char *id, *type;
        long long at_ms;
        double points, base;
        bool capped;
    } expected[] = {
        /* Newest first. */
        {"ev-3", "email_click", ENG_AT_MS - 3600 * 1000LL, 2, 3, true},
        {"ev-2", "page_view", ENG_AT_MS - 2 * DAY_MS, 0, 1, true},
        {"ev-1", "demo_request", ENG_AT_MS - 6 * DAY_MS, 25, 25, false},
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *activity = json_array_get(activities, i);
        assert_string_equal(json_string_value(json_object_get(activity, "id")), expected[i].id);
        assert_string_equal(json_string_value(json_object_get(activity, "type")), expected[i].type);
        assert_int_equal(json_integer_value(json_object_get(activity, "at")), expected[i].at_ms);
        assert_float_equal(s_num(activity, "points"), expected[i].points, 0);
        assert_float_equal(s_num(activity, "base"), expected[i].base, 0);
        assert_int_equal(json_is_true(json_object_get(activity, "capped")), expected[i].capped);
        assert_float_equal(s_num(activity, "decayed"),
                           expected[i].points * s_decay(expected[i].at_ms, NOW_MS), 1e-12);
    }
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(activities, 0), "outcome")), "opened");
    assert_true(json_is_null(json_object_get(json_array_get(activities, 1), "outcome")));
    /* What the stored engagement holds beyond the listed activities, decayed too. */
    assert_float_equal(s_num(engagement, "earlier"), EARLIER_AT_ENG * s_decay(ENG_AT_MS, NOW_MS),
                       1e-9);

    json_t *model = json_object_get(explanation, "model");
    assert_true(json_is_object(model));
    assert_float_equal(s_num(model, "points"), 5, 0);
    assert_float_equal(s_num(model, "probability"), 0.125, 0);
    assert_float_equal(s_num(model, "weight"), MODEL_WEIGHT, 0);
    assert_string_equal(json_string_value(json_object_get(model, "model")),
                        "model.json (172 features, 16 columns)");
    json_t *top = json_object_get(model, "top");
    assert_int_equal(json_array_size(top), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(top, 1), "feature")),
                        "TotalVisits:bin2");
    assert_float_equal(s_num(json_array_get(top, 1), "contribution"), -0.31, 1e-12);
    json_decref(view);
}

static void test_lead_view_without_model_or_activities(void **state)
{
    s_world_t *world = *state;
    char eng_at[24];
    snprintf(eng_at, sizeof eng_at, "%lld", NOW_MS - 14LL * DAY_MS);
    REDIS(world, "HSET", PREFIX ":lead:L-11", "fit", "10", "grade", "C", "reasons", "[]",
          "engagement", "8", "eng_at", eng_at, "model_points", "0", "score", "18");
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-11", &s_opts, &err);
    assert_non_null(view);
    json_t *explanation = json_object_get(view, "explanation");
    assert_true(json_is_null(json_object_get(explanation, "model")));
    s_assert_adds_up(explanation);
    /* One half-life since the last event: half the engagement is left. */
    assert_float_equal(s_num(explanation, "total"), 10 + 4, 1e-9);
    json_t *engagement = json_object_get(explanation, "engagement");
    assert_int_equal(json_array_size(json_object_get(engagement, "activities")), 0);
    assert_float_equal(s_num(engagement, "earlier"), 4, 1e-9);
    assert_float_equal(s_num(view, "score_at_last_event"), 18, 0);
    json_decref(view);
}

static void test_lead_view_old_string_reasons(void **state)
{
    s_world_t *world = *state;
    REDIS(world, "HSET", PREFIX ":lead:L-12", "fit", "25", "reasons",
          "[\"industry in [software]: +15\",\"senior title: +10\"]", "engagement", "0");
    REDIS(world, "HSET", PREFIX ":lead:L-13", "fit", "5", "reasons", "not json at all");
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-12", &s_opts, &err);
    assert_non_null(view);
    json_t *rules =
        json_object_get(json_object_get(json_object_get(view, "explanation"), "fit"), "rules");
    assert_int_equal(json_array_size(rules), 2);
    json_t *senior = json_array_get(rules, 1);
    assert_string_equal(json_string_value(json_object_get(senior, "rule")), "senior title: +10");
    assert_null(json_object_get(senior, "points"));
    assert_true(json_equal(rules, json_object_get(view, "reasons")));
    assert_float_equal(s_num(view, "score"), 25, 0);
    json_decref(view);

    view = views_lead(world->store, PREFIX, "L-13", &s_opts, &err);
    assert_non_null(view);
    rules = json_object_get(view, "reasons");
    assert_int_equal(json_array_size(rules), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "rule")),
                        "not json at all");
    s_assert_adds_up(json_object_get(view, "explanation"));
    json_decref(view);
}

static void test_lead_view_merged_id_explains_the_lead_it_joined(void **state)
{
    s_world_t *world = *state;
    s_put_explained_lead(world);
    REDIS(world, "SET", PREFIX ":alias:L-OLD", "L-10");
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-OLD", &s_opts, &err);
    assert_non_null(view);
    assert_string_equal(json_string_value(json_object_get(view, "lead_id")), "L-10");
    assert_string_equal(json_string_value(json_object_get(view, "merged_from")), "L-OLD");
    json_t *explanation = json_object_get(view, "explanation");
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(explanation, "engagement"), "activities")),
        3);
    s_assert_adds_up(explanation);
    json_decref(view);
}

static void test_lead_view_not_scored_has_no_explanation(void **state)
{
    s_world_t *world = *state;
    s_put_lead(world, "L-14");
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-14", &s_opts, &err);
    assert_non_null(view);
    assert_true(json_is_null(json_object_get(view, "score")));
    assert_true(json_is_null(json_object_get(view, "score_at_last_event")));
    assert_true(json_is_null(json_object_get(view, "explanation")));
    json_decref(view);
}

/* Cents of a printed number such as "+8.54", "30" or "-0.31". */
static long long s_cents_of(const char *text)
{
    return llround(strtod(text, NULL) * 100);
}

static void test_ctl_lead_print_adds_up(void **state)
{
    s_world_t *world = *state;
    s_put_explained_lead(world);
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-10", &s_opts, &err);
    assert_non_null(view);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    ctl_lead_print(out, view);
    fclose(out);
    json_decref(view);

    /* The headline: the printed parts add up to the printed score. */
    double score, fit, engagement, model;
    const char *headline = strstr(text, "score ");
    assert_non_null(headline);
    assert_int_equal(sscanf(headline, "score %lf (now) = fit %lf + engagement %lf + model %lf",
                            &score, &fit, &engagement, &model),
                     4);
    assert_int_equal(s_cents_of(headline + 6),
                     llround(fit * 100) + llround(engagement * 100) + llround(model * 100));
    assert_float_equal(score,
                       35 + (25 * s_decay(ENG_AT_MS - 6 * DAY_MS, NOW_MS)) +
                           2 * s_decay(ENG_AT_MS - 3600 * 1000LL, NOW_MS) +
                           EARLIER_AT_ENG * s_decay(ENG_AT_MS, NOW_MS),
                       0.005);
    assert_non_null(strstr(headline, "stage mql"));
    assert_non_null(strstr(text, "\n  fit 30, grade B\n"));
    assert_non_null(strstr(text, "+15  target industry"));
    assert_non_null(strstr(text, "industry in [software, fintech]"));
    assert_non_null(strstr(text, "(half-life 14 days)"));
    assert_non_null(strstr(text, "capped (0 of 1)"));
    assert_non_null(strstr(text, "capped (2 of 3), opened"));
    assert_non_null(strstr(text, "25 points, 9.0 days ago"));
    assert_non_null(
        strstr(text, "model +5.00 = 0.125 x 40 (model.json (172 features, 16 columns))"));
    assert_non_null(strstr(text, "  +0.42  Lead Origin=API\n"));
    assert_non_null(strstr(text, "  -0.31  TotalVisits:bin2\n"));
    assert_null(strstr(text, "ada@example.com")); /* no personal data on the terminal */

    /* The engagement lines add up to the engagement in the headline. */
    const char *section = strstr(text, "\n  engagement ");
    const char *end = strstr(text, "\n  model ");
    assert_true(section && end && section < end);
    assert_int_equal(s_cents_of(section + strlen("\n  engagement ")), llround(engagement * 100));
    long long lines = 0, sum = 0;
    for (const char *line = strchr(section + 1, '\n'); line && line < end;
         line = strchr(line + 1, '\n')) {
        sum += s_cents_of(line + 1);
        lines++;
    }
    assert_int_equal(lines, 4); /* three activities and the earlier ones */
    assert_non_null(strstr(section, "earlier activities"));
    assert_int_equal(sum, llround(engagement * 100));
    free(text);
}

/* Two queues, three reps: anna online with spare capacity, boris offline,
 * cecily online but over capacity (capacity lowered while she held leads). */
static void s_put_floor(s_world_t *world, long long now_ms)
{
    REDIS(world, "SADD", PREFIX ":queues", "emea", "americas");
    REDIS(world, "SADD", PREFIX ":reps", "rep-anna", "rep-boris", "rep-cecily");
    REDIS(world, "HSET", PREFIX ":rep:rep-anna", "name", "Anna Snelling", "status", "online",
          "capacity", "10", "open", "4", "assigned_total", "17");
    REDIS(world, "HSET", PREFIX ":rep:rep-boris", "name", "Boris Faz", "status", "offline",
          "capacity", "10", "open", "0", "assigned_total", "0");
    REDIS(world, "HSET", PREFIX ":rep:rep-cecily", "name", "Cecily Lampkin", "status", "online",
          "capacity", "5", "open", "7", "assigned_total", "9");
    REDIS(world, "SADD", PREFIX ":rep:rep-anna:queues", "general", "emea");
    REDIS(world, "SADD", PREFIX ":rep:rep-boris:queues", "emea");
    REDIS(world, "SADD", PREFIX ":rep:rep-cecily:queues", "americas");
    REDIS(world, "ZADD", PREFIX ":queue:emea:rr", "1", "rep-anna", "2", "rep-boris");
    REDIS(world, "ZADD", PREFIX ":queue:americas:rr", "1", "rep-cecily");
    REDIS(world, "ZADD", PREFIX ":queue:emea:waiting", "9580000000001", "W-1", "9580000000002",
          "W-2", "9580000000003", "W-3");
    char older[32], newer[32];
    snprintf(older, sizeof older, "%lld", now_ms - 5000);
    snprintf(newer, sizeof newer, "%lld", now_ms - 2000);
    /* W-2 waits longest though it is not first by priority; W-3 has no hash. */
    REDIS(world, "HSET", PREFIX ":lead:W-1", "status", "queued", "queued_at", newer);
    REDIS(world, "HSET", PREFIX ":lead:W-2", "status", "queued", "queued_at", older);
}

static void test_queues_view(void **state)
{
    s_world_t *world = *state;
    s_put_floor(world, clock_now_ms());
    err_t err = {0};
    json_t *view = views_queues(world->store, PREFIX, &err);
    assert_non_null(view);
    json_t *queues = json_object_get(view, "queues");
    assert_int_equal(json_array_size(queues), 2);

    json_t *americas = json_array_get(queues, 0);
    assert_string_equal(json_string_value(json_object_get(americas, "name")), "americas");
    assert_int_equal(json_integer_value(json_object_get(americas, "waiting")), 0);
    assert_int_equal(json_integer_value(json_object_get(americas, "oldest_wait_ms")), 0);
    assert_int_equal(json_integer_value(json_object_get(americas, "reps")), 1);
    assert_int_equal(json_integer_value(json_object_get(americas, "reps_online")), 1);
    assert_int_equal(json_integer_value(json_object_get(americas, "free_capacity")), 0);

    json_t *emea = json_array_get(queues, 1);
    assert_string_equal(json_string_value(json_object_get(emea, "name")), "emea");
    assert_int_equal(json_integer_value(json_object_get(emea, "waiting")), 3);
    json_int_t oldest = json_integer_value(json_object_get(emea, "oldest_wait_ms"));
    assert_in_range(oldest, 5000, 5000 + 2000);
    assert_int_equal(json_integer_value(json_object_get(emea, "reps")), 2);
    assert_int_equal(json_integer_value(json_object_get(emea, "reps_online")), 1);
    assert_int_equal(json_integer_value(json_object_get(emea, "free_capacity")), 6);
    json_decref(view);
}

static void test_reps_view(void **state)
{
    s_world_t *world = *state;
    s_put_floor(world, clock_now_ms());
    err_t err = {0};
    json_t *view = views_reps(world->store, PREFIX, &err);
    assert_non_null(view);
    json_t *reps = json_object_get(view, "reps");
    assert_int_equal(json_array_size(reps), 3);
    json_t *anna = json_array_get(reps, 0);
    assert_string_equal(json_string_value(json_object_get(anna, "id")), "rep-anna");
    assert_string_equal(json_string_value(json_object_get(anna, "name")), "Anna Snelling");
    assert_string_equal(json_string_value(json_object_get(anna, "status")), "online");
    assert_int_equal(json_integer_value(json_object_get(anna, "capacity")), 10);
    assert_int_equal(json_integer_value(json_object_get(anna, "open")), 4);
    assert_int_equal(json_integer_value(json_object_get(anna, "assigned_total")), 17);
    assert_float_equal(json_number_value(json_object_get(anna, "utilization")), 0.4, 1e-9);
    json_t *queues = json_object_get(anna, "queues");
    assert_int_equal(json_array_size(queues), 2);
    assert_string_equal(json_string_value(json_array_get(queues, 0)), "emea");
    assert_string_equal(json_string_value(json_array_get(queues, 1)), "general");
    json_t *cecily = json_array_get(reps, 2);
    assert_float_equal(json_number_value(json_object_get(cecily, "utilization")), 1.4, 1e-9);
    json_decref(view);
}

static void test_summary_view(void **state)
{
    s_world_t *world = *state;
    s_put_floor(world, clock_now_ms());
    REDIS(world, "ZADD", PREFIX ":queue:americas:waiting", "1", "A-1");
    REDIS(world, "HSET", PREFIX ":stats", "ingested_leads", "10", "assigned", "5", "queued", "7");
    /* Four observations in (50,100] x2 and (100,200] x2, one above the last bound. */
    REDIS(world, "HSET", PREFIX ":stl", "le_100", "2", "le_200", "2", "count", "5", "sum_ms",
          "90000600");
    err_t err = {0};
    json_t *view = views_summary(world->store, PREFIX, &err);
    assert_non_null(view);
    assert_int_equal(json_integer_value(json_object_get(view, "ingested_leads")), 10);
    assert_int_equal(json_integer_value(json_object_get(view, "assigned")), 5);
    assert_int_equal(json_integer_value(json_object_get(view, "duplicates")), 0);
    assert_int_equal(json_integer_value(json_object_get(view, "closed")), 0);
    assert_int_equal(json_integer_value(json_object_get(view, "waiting")), 4);
    json_t *stl = json_object_get(view, "speed_to_lead_ms");
    assert_int_equal(json_integer_value(json_object_get(stl, "count")), 5);
    /* p50: rank 2.5 -> third observation, half-way into (100, 200]. */
    assert_float_equal(json_number_value(json_object_get(stl, "p50")), 125, 1e-9);
    /* p90: rank 4.5 falls in +Inf, reported as the last finite bound. */
    assert_float_equal(json_number_value(json_object_get(stl, "p90")), 86400000, 1e-9);
    assert_float_equal(json_number_value(json_object_get(stl, "mean")), 18000120, 1e-6);
    json_decref(view);
}

static void test_summary_view_empty(void **state)
{
    s_world_t *world = *state;
    err_t err = {0};
    json_t *view = views_summary(world->store, PREFIX, &err);
    assert_non_null(view);
    assert_int_equal(json_integer_value(json_object_get(view, "ingested_leads")), 0);
    assert_int_equal(json_integer_value(json_object_get(view, "waiting")), 0);
    json_t *stl = json_object_get(view, "speed_to_lead_ms");
    assert_int_equal(json_integer_value(json_object_get(stl, "count")), 0);
    assert_true(json_is_null(json_object_get(stl, "p50")));
    assert_true(json_is_null(json_object_get(stl, "mean")));
    json_decref(view);

    view = views_queues(world->store, PREFIX, &err);
    assert_non_null(view);
    assert_int_equal(json_array_size(json_object_get(view, "queues")), 0);
    json_decref(view);
    view = views_reps(world->store, PREFIX, &err);
    assert_non_null(view);
    assert_int_equal(json_array_size(json_object_get(view, "reps")), 0);
    json_decref(view);
}

static void test_stl_read_matches_summary(void **state)
{
    s_world_t *world = *state;
    REDIS(world, "HSET", PREFIX ":stl", "le_1", "1", "le_1000", "3", "count", "4", "sum_ms",
          "2401");
    err_t err = {0};
    stl_histogram_t hist;
    assert_int_equal(views_stl_read(world->store, PREFIX, &hist, &err), 0);
    assert_int_equal(hist.count, 4);
    assert_int_equal(hist.counts[0], 1);
    assert_int_equal(hist.counts[9], 3);
    assert_int_equal(hist.counts[STL_BUCKET_COUNT], 0);
    assert_float_equal(hist.sum_ms, 2401, 1e-9);
}

static void test_wrong_type_is_an_error_not_a_crash(void **state)
{
    s_world_t *world = *state;
    REDIS(world, "SET", PREFIX ":queues", "not a set");
    err_t err = {0};
    assert_null(views_queues(world->store, PREFIX, &err));
    assert_int_equal(err.code, ERR_IO);
    assert_non_null(strstr(err.msg, "WRONGTYPE"));
    assert_null(views_summary(world->store, PREFIX, &err));
    assert_int_equal(err.code, ERR_IO);
}

static void test_views_report_redis_down(void **state)
{
    (void)state;
    /* A port nothing listens on: what the views see while Redis restarts. */
    redis_fixture_t nobody = {0};
    store_options_t opts = redis_fixture_options(&nobody);
    opts.port = 1;
    err_t err = {0};
    store_t *store = store_new(&opts, false, &err);
    assert_non_null(store);
    assert_null(views_summary(store, PREFIX, &err));
    assert_int_equal(err.code, ERR_IO);
    err_clear(&err);
    assert_null(views_lead(store, PREFIX, "L-1", &s_opts, &err));
    assert_int_equal(err.code, ERR_IO);
    store_destroy(&store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stl_bucket_fields),
        cmocka_unit_test(test_stl_quantiles_interpolate),
        cmocka_unit_test_setup(test_lead_view_decodes_lead_and_state, redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_unassigned_has_no_speed_to_lead, redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_missing_is_notfound, redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_corrupt_lead_still_shows_state, redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_explains_the_score, redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_without_model_or_activities, redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_old_string_reasons, redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_merged_id_explains_the_lead_it_joined,
                               redis_fixture_flush),
        cmocka_unit_test_setup(test_lead_view_not_scored_has_no_explanation, redis_fixture_flush),
        cmocka_unit_test_setup(test_ctl_lead_print_adds_up, redis_fixture_flush),
        cmocka_unit_test_setup(test_queues_view, redis_fixture_flush),
        cmocka_unit_test_setup(test_reps_view, redis_fixture_flush),
        cmocka_unit_test_setup(test_summary_view, redis_fixture_flush),
        cmocka_unit_test_setup(test_summary_view_empty, redis_fixture_flush),
        cmocka_unit_test_setup(test_stl_read_matches_summary, redis_fixture_flush),
        cmocka_unit_test_setup(test_wrong_type_is_an_error_not_a_crash, redis_fixture_flush),
        cmocka_unit_test(test_views_report_redis_down),
    };
    return cmocka_run_group_tests(tests, redis_fixture_group_setup, redis_fixture_group_teardown);
}
