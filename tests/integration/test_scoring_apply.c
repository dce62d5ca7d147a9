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

#include "accept_fixture.h"
#include "redis_fixture.h"
#include "store.h"

extern const char scoring_script_apply[];
extern const char ingest_script_accept[];
extern const char scoring_script_orphans[];

static redis_fixture_t s_redis;
static store_t *s_store;
static int s_apply, s_accept, s_orphans;

static long long s_query_int(const char *fmt, const char *arg)
{
    err_t err = {0};
    store_value_t *r = store_command(s_store, &err, fmt, arg);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

/* Journals an event as ingest does, with EMAIL as a lead's identity (NULL:
 * none); returns 1 accepted, 0 duplicate, and the lead it went to and the
 * outcome in LEAD_OUT / OUTCOME_OUT when not NULL. */
static long long s_accept_identity(const char *event_id, const char *lead_id, const char *kind,
                                   const char *email, char *lead_out, char *outcome_out)
{
    return accept_fixture_event(s_store, s_accept, event_id, lead_id, kind, email, NULL, lead_out,
                                outcome_out);
}

static long long s_accept_event(const char *event_id, const char *lead_id, const char *kind)
{
    return s_accept_identity(event_id, lead_id, kind, NULL, NULL, NULL);
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
                          "t:leads",
                          "t:orphans"};
    const char *argv[22];
    memcpy(argv, keys, sizeof keys);
    const char *common[] = {event_id, kind, lead_id, "2000", "1500", "20", "5000", "3600"};
    memcpy(argv + 7, common, sizeof common);
    int argc = 15;
    char rev[32];
    if (strcmp(kind, "lead") == 0) {
        /* As scoring does: the merge is computed from the stored revision. */
        long long current = s_query_int("HGET %s rev", lead_key);
        snprintf(rev, sizeof rev, "%lld", current < 0 ? 0 : current);
        const char *lead_args[] = {"LEADPB", points, "B", "[]", rev, "1500", ""};
        memcpy(argv + 15, lead_args, sizeof lead_args);
        argc = 22;
    } else {
        argv[15] = value;
        argv[16] = points;
        argc = 17;
    }
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_apply, 7, argc, argv, NULL, &err);
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
    assert_true(s_query_int("ZSCORE t:inflight:routing %s", "L2") > 0);
    long long qualified = s_query_int("HGET t:stats %s", "qualified");
    /* More engagement does not send it to routing again. */
    s_accept_event("e5", "L2", "activity");
    assert_int_equal(s_apply_event("e5", "activity", "L2", "demo_request", "25", &score), 1);
    assert_int_equal(s_query_int("HGET t:stats %s", "qualified"), qualified);
    /* Applied events left the in-flight set. */
    const char *applied[] = {"e2", "e3", "e4", "e5"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s_query_int("ZSCORE t:inflight:scoring %s", applied[i]), -1);
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

static void test_identity_by_email_merges_into_the_first_lead(void **state)
{
    (void)state;
    char lead[64], outcome[16];
    assert_int_equal(s_accept_identity("i1", "A", "lead", "ann@acme.example", lead, outcome), 1);
    assert_string_equal(lead, "A");
    assert_string_equal(outcome, "new");
    /* The same person through another form: another lead id, same email. */
    assert_int_equal(s_accept_identity("i2", "B", "lead", "ann@acme.example", lead, outcome), 1);
    assert_string_equal(lead, "A");
    assert_string_equal(outcome, "merged");
    /* Activities for either id land on the one lead. */
    assert_int_equal(s_accept_identity("i3", "B", "activity", NULL, lead, outcome), 1);
    assert_string_equal(lead, "A");
    assert_string_equal(outcome, "attached");
    /* A re-sent event answers with the lead it went to. */
    assert_int_equal(s_accept_identity("i2", "B", "lead", "ann@acme.example", lead, NULL), 0);
    assert_string_equal(lead, "A");
    /* The same lead id again is an update of that lead. */
    assert_int_equal(s_accept_identity("i4", "A", "lead", "ann@acme.example", lead, outcome), 1);
    assert_string_equal(outcome, "merged");
    assert_int_equal(s_query_int("HGET t:stats %s", "merged"), 2);
}

static void test_two_alias_hops_are_followed(void **state)
{
    (void)state;
    /* X was merged into Y by an email, then Y into Z by hand. */
    err_t err = {0};
    store_value_t *r = store_command(s_store, &err, "MSET t:alias:X Y t:alias:Y Z");
    store_value_free(&r);
    char lead[64], outcome[16];
    assert_int_equal(s_accept_identity("h1", "X", "activity", NULL, lead, outcome), 1);
    assert_string_equal(lead, "Z");
}

/* Activities scored under B before B's lead event merged into A move to A. */
static void test_orphan_activities_follow_a_merge(void **state)
{
    (void)state;
    char lead[64], outcome[16];
    assert_int_equal(s_accept_identity("f1", "FA", "lead", "fold@x.example", lead, outcome), 1);
    assert_int_equal(s_apply_event("f1", "lead", "FA", NULL, "5", NULL), 1);
    assert_int_equal(s_accept_identity("f2", "FB", "activity", NULL, lead, outcome), 1);
    assert_string_equal(lead, "FB"); /* no alias yet */
    assert_int_equal(s_apply_event("f2", "activity", "FB", "demo_request", "25", NULL), 1);
    assert_int_equal(s_accept_identity("f3", "FB", "lead", "fold@x.example", lead, outcome), 1);
    assert_string_equal(lead, "FA");
    /* Scoring applies f3 to FA, the lead it came as being FB. */
    long long rev = s_query_int("HGET %s rev", "t:lead:FA");
    char rev_text[16];
    snprintf(rev_text, sizeof rev_text, "%lld", rev);
    const char *argv[] = {"t:inflight:scoring",
                          "t:inflight:scoring:msg",
                          "t:lead:FA",
                          "t:inflight:routing",
                          "t:stats",
                          "t:leads",
                          "t:orphans",
                          "f3",
                          "lead",
                          "FA",
                          "2000",
                          "1500",
                          "20",
                          "5000",
                          "3600",
                          "LEADPB",
                          "5",
                          "B",
                          "[]",
                          rev_text,
                          "1600",
                          "",
                          "FB"};
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_apply, 7, 23, argv, NULL, &err);
    /* fit 5 + the 25 points scored under FB: qualifies now */
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 2);
    assert_true(store_value_double(store_value_at(r, 1), 0) == 30);
    store_value_free(&r);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:FB"), 0);
    assert_int_equal(s_query_int("ZSCORE t:orphans %s", "FB"), -1);
    assert_int_equal(s_query_int("HGET t:lead:FA %s", "act:demo_request"), 1);
}

static void test_stale_merge_is_refused(void **state)
{
    (void)state;
    s_accept_event("m1", "M", "lead");
    assert_int_equal(s_apply_event("m1", "lead", "M", NULL, "10", NULL), 1);
    s_accept_event("m2", "M", "lead");
    /* Computed from revision 0 while the lead is at 1: merge again. */
    const char *argv[] = {"t:inflight:scoring",
                          "t:inflight:scoring:msg",
                          "t:lead:M",
                          "t:inflight:routing",
                          "t:stats",
                          "t:leads",
                          "m2",
                          "lead",
                          "M",
                          "2000",
                          "1500",
                          "20",
                          "5000",
                          "3600",
                          "LEADPB",
                          "10",
                          "B",
                          "[]",
                          "0",
                          "1500",
                          ""};
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_apply, 6, 21, argv, NULL, &err);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 3);
    store_value_free(&r);
    /* Nothing was consumed: the event is still in flight. */
    assert_true(s_query_int("ZSCORE t:inflight:scoring %s", "m2") > 0);
    assert_int_equal(s_apply_event("m2", "lead", "M", NULL, "10", NULL), 1);
    assert_int_equal(s_query_int("HGET %s rev", "t:lead:M"), 2);
}

static long long s_sweep(const char *now)
{
    const char *argv[] = {"t:orphans", "t:deadletter", "t:stats", "t", now, "100"};
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_orphans, 3, 6, argv, NULL, &err);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

static void test_orphan_activities_wait_then_are_dead_lettered(void **state)
{
    (void)state;
    /* An activity for O, whose lead comes within the window: kept. */
    s_accept_event("o1", "O", "activity");
    assert_int_equal(s_apply_event("o1", "activity", "O", "page_view", "1", NULL), 1);
    assert_true(s_query_int("ZSCORE t:orphans %s", "O") > 0);
    s_accept_event("o2", "O", "lead");
    assert_int_equal(s_apply_event("o2", "lead", "O", NULL, "5", NULL), 1);
    assert_int_equal(s_query_int("ZSCORE t:orphans %s", "O"), -1);
    /* An activity for N, whose lead never comes: dead-lettered after the
     * window (the test's now is 2000 ms, the window 3600 s). */
    s_accept_event("n1", "N", "activity");
    assert_int_equal(s_apply_event("n1", "activity", "N", "page_view", "1", NULL), 1);
    assert_int_equal(s_sweep("3000"), 0);
    assert_int_equal(s_sweep("3602001"), 1);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:N"), 0);
    assert_int_equal(s_query_int("XLEN %s", "t:deadletter"), 1);
    assert_int_equal(s_query_int("HGET t:stats %s", "orphans_dropped"), 1);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:O"), 1);
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
    s_orphans = store_script_register(s_store, "orphans", scoring_script_orphans, &err);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_dedups_by_event_id),
        cmocka_unit_test(test_identity_by_email_merges_into_the_first_lead),
        cmocka_unit_test(test_two_alias_hops_are_followed),
        cmocka_unit_test(test_orphan_activities_follow_a_merge),
        cmocka_unit_test(test_stale_merge_is_refused),
        cmocka_unit_test(test_orphan_activities_wait_then_are_dead_lettered),
        cmocka_unit_test(test_apply_once_and_qualify_once),
        cmocka_unit_test(test_activity_before_lead_counts_when_lead_arrives),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    store_destroy(&s_store);
    redis_fixture_stop(&s_redis);
    return failed;
}
