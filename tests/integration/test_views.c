/* test_views.c — the reporting views against a real redis-server, filled
 * the way common/keys.h lays the state out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "leadops.pb-c.h"
#include "redis_fixture.h"
#include "store.h"
#include "views.h"

#define PREFIX "t"

typedef struct {
    redis_fixture_t redis;
    store_t *store;
} s_world_t;

static int s_group_setup(void **state)
{
    static s_world_t world;
    if (redis_fixture_start(&world.redis) < 0)
        return -1;
    store_options_t opts = redis_fixture_options(&world.redis);
    err_t err = {0};
    world.store = store_new(&opts, true, &err);
    if (!world.store) {
        fprintf(stderr, "store_new: %s\n", err.msg);
        redis_fixture_stop(&world.redis);
        return -1;
    }
    *state = &world;
    return 0;
}

static int s_group_teardown(void **state)
{
    s_world_t *world = *state;
    store_destroy(&world->store);
    redis_fixture_stop(&world->redis);
    return 0;
}

static int s_flush(void **state)
{
    s_world_t *world = *state;
    store_value_t *reply = store_command(world->store, NULL, "FLUSHALL");
    int rc = reply && reply->type == STORE_STR ? 0 : -1;
    store_value_free(&reply);
    return rc;
}

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
    REDIS(world, "HSET", PREFIX ":lead:L-1", "status", "assigned", "score", "42.5", "fit", "30",
          "engagement", "12.5", "grade", "A", "stage", "mql", "qualified", "1", "reasons",
          "[\"industry in [software]: +15\",\"senior title: +10\"]", "activities", "3");
    REDIS(world, "HSET", PREFIX ":lead:L-1", "queue", "emea", "rule", "emea territory", "rep",
          "rep-anna", "ingested_at", "1700000000000", "scored_at", "1700000000040", "queued_at",
          "1700000000100", "assigned_at", "1700000000250");

    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-1", &err);
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
    assert_float_equal(json_number_value(json_object_get(view, "score")), 42.5, 1e-9);
    assert_float_equal(json_number_value(json_object_get(view, "engagement")), 12.5, 1e-9);
    assert_true(json_is_true(json_object_get(view, "qualified")));
    json_t *reasons = json_object_get(view, "reasons");
    assert_int_equal(json_array_size(reasons), 2);
    assert_string_equal(json_string_value(json_array_get(reasons, 1)), "senior title: +10");
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
    json_t *view = views_lead(world->store, PREFIX, "L-2", &err);
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
    assert_null(views_lead(world->store, PREFIX, "nobody", &err));
    assert_int_equal(err.code, ERR_NOTFOUND);
    assert_string_equal(err.msg, "lead nobody not found");
}

static void test_lead_view_corrupt_lead_still_shows_state(void **state)
{
    s_world_t *world = *state;
    REDIS(world, "HSET", PREFIX ":lead:L-3", "lead", "\xff\xff\xff not protobuf", "status", "new");
    err_t err = {0};
    json_t *view = views_lead(world->store, PREFIX, "L-3", &err);
    assert_non_null(view);
    assert_true(json_is_true(json_object_get(view, "lead_corrupt")));
    assert_string_equal(json_string_value(json_object_get(view, "status")), "new");
    json_decref(view);
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
    assert_null(views_lead(store, PREFIX, "L-1", &err));
    assert_int_equal(err.code, ERR_IO);
    store_destroy(&store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stl_bucket_fields),
        cmocka_unit_test(test_stl_quantiles_interpolate),
        cmocka_unit_test_setup(test_lead_view_decodes_lead_and_state, s_flush),
        cmocka_unit_test_setup(test_lead_view_unassigned_has_no_speed_to_lead, s_flush),
        cmocka_unit_test_setup(test_lead_view_missing_is_notfound, s_flush),
        cmocka_unit_test_setup(test_lead_view_corrupt_lead_still_shows_state, s_flush),
        cmocka_unit_test_setup(test_queues_view, s_flush),
        cmocka_unit_test_setup(test_reps_view, s_flush),
        cmocka_unit_test_setup(test_summary_view, s_flush),
        cmocka_unit_test_setup(test_summary_view_empty, s_flush),
        cmocka_unit_test_setup(test_stl_read_matches_summary, s_flush),
        cmocka_unit_test_setup(test_wrong_type_is_an_error_not_a_crash, s_flush),
        cmocka_unit_test(test_views_report_redis_down),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
