/* apply.lua (scoring) and accept.lua (ingest) against a real Redis: an
 * event is journaled once, applied once however often it is redelivered,
 * and a lead goes to routing the first time it qualifies, not again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redis_fixture.h"
#include "store.h"

extern const char scoring_script_apply[];
extern const char ingest_script_accept[];

static redis_fixture_t s_redis;
static store_t *s_store;
static int s_apply, s_accept;

static long long s_query_int(const char *fmt, const char *arg)
{
    err_t err = {0};
    store_value_t *r = store_command(s_store, &err, fmt, arg);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

/* Journals an event as ingest does; returns 1 accepted, 0 duplicate. */
static long long s_accept_event(const char *event_id, const char *lead_id, const char *kind)
{
    char eventid_key[128];
    snprintf(eventid_key, sizeof eventid_key, "t:eventid:%s", event_id);
    const char *argv[] = {eventid_key,
                          "t:journal",
                          "t:inflight:scoring",
                          "t:inflight:scoring:msg",
                          "t:stats",
                          event_id,
                          lead_id,
                          kind,
                          "ENVELOPE",
                          "99999999999999",
                          "60",
                          "1000"};
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_accept, 5, 12, argv, NULL, &err);
    assert_non_null(r);
    long long outcome = store_value_int(store_value_at(r, 0), -1);
    store_value_free(&r);
    return outcome;
}

/* Applies an event as scoring does; returns the script's first value. */
static long long s_apply_event(const char *event_id, const char *kind, const char *lead_id,
                               const char *value, const char *points, double *score)
{
    char lead_key[128];
    snprintf(lead_key, sizeof lead_key, "t:lead:%s", lead_id);
    const char *keys[] = {"t:inflight:scoring",
                          "t:inflight:scoring:msg",
                          lead_key,
                          "t:inflight:routing",
                          "t:stats",
                          "t:leads"};
    const char *argv[17];
    memcpy(argv, keys, sizeof keys);
    const char *common[] = {event_id, kind, lead_id, "2000", "1500", "20", "5000"};
    memcpy(argv + 6, common, sizeof common);
    int argc = 13;
    if (strcmp(kind, "lead") == 0) {
        const char *lead_args[] = {"LEADPB", points, "B", "[]"};
        memcpy(argv + 13, lead_args, sizeof lead_args);
        argc = 17;
    } else {
        argv[13] = value;
        argv[14] = points;
        argc = 15;
    }
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_apply, 6, argc, argv, NULL, &err);
    assert_non_null(r);
    if (r->type == STORE_ERROR)
        fail_msg("apply.lua: %s", r->str);
    long long outcome = store_value_int(store_value_at(r, 0), -1);
    if (score)
        *score = store_value_double(store_value_at(r, 1), -1);
    store_value_free(&r);
    return outcome;
}

static void test_accept_dedups_by_event_id(void **state)
{
    (void)state;
    assert_int_equal(s_accept_event("e1", "L1", "lead"), 1);
    assert_int_equal(s_accept_event("e1", "L1", "lead"), 0);
    assert_int_equal(s_query_int("XLEN %s", "t:journal"), 1);
    assert_int_equal(s_query_int("ZCARD %s", "t:inflight:scoring"), 1);
    assert_int_equal(s_query_int("HGET t:stats %s", "duplicates"), 1);
    assert_int_equal(s_query_int("HGET t:stats %s", "ingested_leads"), 1);
}

static void test_apply_once_and_qualify_once(void **state)
{
    (void)state;
    double score;
    /* A lead with fit 10: below the threshold of 20. */
    s_accept_event("e2", "L2", "lead");
    assert_int_equal(s_apply_event("e2", "lead", "L2", NULL, "10", &score), 1);
    assert_true(score == 10);
    /* Redelivered: nothing happens. */
    assert_int_equal(s_apply_event("e2", "lead", "L2", NULL, "10", NULL), 0);
    /* An activity of 5 points, applied twice (a redelivery): counted once. */
    s_accept_event("e3", "L2", "activity");
    assert_int_equal(s_apply_event("e3", "activity", "L2", "form_fill", "5", &score), 1);
    assert_true(score == 15);
    assert_int_equal(s_apply_event("e3", "activity", "L2", "form_fill", "5", NULL), 0);
    assert_int_equal(s_query_int("HGET %s activities", "t:lead:L2"), 1);
    /* Another 5 reaches 20: qualifies, in flight to routing. */
    s_accept_event("e4", "L2", "activity");
    assert_int_equal(s_apply_event("e4", "activity", "L2", "form_fill", "5", &score), 2);
    assert_true(score == 20);
    assert_int_equal(s_query_int("ZCARD %s", "t:inflight:routing"), 1);
    /* More engagement does not send it to routing again. */
    s_accept_event("e5", "L2", "activity");
    assert_int_equal(s_apply_event("e5", "activity", "L2", "demo_request", "25", &score), 1);
    assert_int_equal(s_query_int("HGET t:stats %s", "qualified"), 1);
    /* Applied events left the in-flight set (e1 of the first test was never applied). */
    assert_int_equal(s_query_int("ZCARD %s", "t:inflight:scoring"), 1);
    assert_int_equal(s_query_int("ZSCORE t:inflight:scoring %s", "e5"), -1);
}

static void test_activity_before_lead_counts_when_lead_arrives(void **state)
{
    (void)state;
    double score;
    s_accept_event("e6", "L3", "activity");
    /* No lead fields yet: scored, but not qualified whatever the points. */
    assert_int_equal(s_apply_event("e6", "activity", "L3", "demo_request", "25", &score), 1);
    s_accept_event("e7", "L3", "lead");
    assert_int_equal(s_apply_event("e7", "lead", "L3", NULL, "0", &score), 2);
    assert_true(score == 25);
}

int main(void)
{
    if (redis_fixture_start(&s_redis) < 0)
        return 1;
    store_options_t opts = redis_fixture_options(&s_redis);
    err_t err = {0};
    s_store = store_new(&opts, true, &err);
    s_apply = store_script_register(s_store, "apply", scoring_script_apply, &err);
    s_accept = store_script_register(s_store, "accept", ingest_script_accept, &err);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_dedups_by_event_id),
        cmocka_unit_test(test_apply_once_and_qualify_once),
        cmocka_unit_test(test_activity_before_lead_counts_when_lead_arrives),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    store_destroy(&s_store);
    redis_fixture_stop(&s_redis);
    return failed;
}
