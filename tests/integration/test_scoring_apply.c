/* apply.lua (scoring) and accept.lua (ingest) against a real Redis: an
 * event is journaled once, applied once however often it is redelivered,
 * and a lead goes to routing the first time it qualifies, not again. The
 * script's arguments are built by apply_call from deploy/leadops.yaml, as
 * the scoring service builds them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "accept_fixture.h"
#include "apply_fixture.h"
#include "config.h"
#include "redis_fixture.h"
#include "store.h"

extern const char scoring_script_apply[];
extern const char ingest_script_accept[];
extern const char scoring_script_orphans[];

/* Every event is applied at this time (ms), so nothing decays between them. */
#define S_NOW 2000

static redis_fixture_t s_redis;
static store_t *s_store;
static config_t *s_cfg;      /* deploy/leadops.yaml with the prefix "t" */
static apply_call_t *s_call; /* apply.lua's arguments, as scoring builds them */
static int s_apply, s_accept, s_orphans;

static long long s_query_int(const char *fmt, const char *arg)
{
    err_t err = {0};
    store_value_t *r = store_command(s_store, &err, fmt, arg);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

static const char *s_query_str(char *buf, size_t size, const char *fmt, const char *arg)
{
    err_t err = {0};
    store_value_t *r = store_command(s_store, &err, fmt, arg);
    snprintf(buf, size, "%s", store_value_str(r, ""));
    store_value_free(&r);
    return buf;
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

/* Applies a lead event with FIT as scoring does, computed from revision REV
 * (NULL: the stored one, as scoring reads it), the lead having come as
 * CAME_AS (NULL: LEAD_ID). Returns apply.lua's outcome; *REPLY may be NULL. */
static long long s_apply_lead_graded(const char *event_id, const char *lead_id, double fit,
                                     const char *grade, const char *came_as, const char *rev,
                                     apply_reply_t *reply)
{
    char lead_key[128], stored_rev[32];
    snprintf(lead_key, sizeof lead_key, "t:lead:%s", lead_id);
    long long current = s_query_int("HGET %s rev", lead_key);
    snprintf(stored_rev, sizeof stored_rev, "%lld", current < 0 ? 0 : current);
    apply_event_t event = apply_fixture_event("lead", event_id, lead_id, S_NOW);
    event.ingested_at_ms = 1500;
    event.lead_pb = (const uint8_t *)"LEADPB";
    event.lead_pb_len = 6;
    event.fit = fit;
    event.grade = grade;
    event.rev = rev ? rev : stored_rev;
    event.event_time_ms = 1500;
    event.came_as = came_as;
    long long outcome = apply_fixture_run(s_store, s_apply, s_call, &event, reply);
    assert_int_not_equal(outcome, -1);
    return outcome;
}

static long long s_apply_lead_as(const char *event_id, const char *lead_id, double fit,
                                 const char *came_as, const char *rev, apply_reply_t *reply)
{
    return s_apply_lead_graded(event_id, lead_id, fit, "B", came_as, rev, reply);
}

static long long s_apply_lead(const char *event_id, const char *lead_id, double fit,
                              apply_reply_t *reply)
{
    return s_apply_lead_as(event_id, lead_id, fit, NULL, NULL, reply);
}

/* Applies an activity of TYPE as scoring does: its points from the config. */
static long long s_apply_activity(const char *event_id, const char *lead_id, const char *type,
                                  apply_reply_t *reply)
{
    apply_event_t event = apply_fixture_event("activity", event_id, lead_id, S_NOW);
    event.ingested_at_ms = 1500;
    event.activity_type = type;
    long long outcome = apply_fixture_run(s_store, s_apply, s_call, &event, reply);
    assert_int_not_equal(outcome, -1);
    return outcome;
}

/* A field of a counter hash, 0 when missing. */
static long long s_count(const char *key, const char *field)
{
    err_t err = {0};
    store_value_t *r = store_command(s_store, &err, "HGET %s %s", key, field);
    long long n = store_value_int(r, 0);
    store_value_free(&r);
    return n;
}

/* The grade and score distributions count each lead once, where it was
 * last scored: a lead moves out of its old grade and bucket, and a
 * redelivered event moves nothing. */
static void test_grades_and_score_buckets_follow_the_lead(void **state)
{
    (void)state;
    long long grade_a = s_count("t:grades", "A"), grade_c = s_count("t:grades", "C");
    long long in_30 = s_count("t:score_hist", "30-40"), in_50 = s_count("t:score_hist", "50-60");
    s_accept_event("g1", "LG", "lead");
    assert_int_equal(s_apply_lead_graded("g1", "LG", 35, "A", NULL, NULL, NULL), 1);
    assert_int_equal(s_count("t:grades", "A"), grade_a + 1);
    assert_int_equal(s_count("t:score_hist", "30-40"), in_30 + 1);
    /* Redelivered: counted once. */
    assert_int_equal(s_apply_lead_graded("g1", "LG", 35, "A", NULL, NULL, NULL), 0);
    assert_int_equal(s_count("t:grades", "A"), grade_a + 1);
    assert_int_equal(s_count("t:score_hist", "30-40"), in_30 + 1);
    /* The lead changes: grade C, fit 55. It leaves A and 30-40. */
    s_accept_event("g2", "LG", "lead");
    assert_int_equal(s_apply_lead_graded("g2", "LG", 55, "C", NULL, NULL, NULL), 1);
    assert_int_equal(s_count("t:grades", "A"), grade_a);
    assert_int_equal(s_count("t:grades", "C"), grade_c + 1);
    assert_int_equal(s_count("t:score_hist", "30-40"), in_30);
    assert_int_equal(s_count("t:score_hist", "50-60"), in_50 + 1);
    /* An activity moves the score (a demo request: 25 points) to 80-90. */
    long long in_80 = s_count("t:score_hist", "80-90");
    s_accept_event("g3", "LG", "activity");
    assert_int_equal(s_apply_activity("g3", "LG", "demo_request", NULL), 1);
    assert_int_equal(s_count("t:score_hist", "50-60"), in_50);
    assert_int_equal(s_count("t:score_hist", "80-90"), in_80 + 1);
    assert_int_equal(s_count("t:grades", "C"), grade_c + 1);
}

/* The first call or email to a lead, timed from the lead's first time, goes
 * into <p>:stl_touch once: neither a redelivery nor a second call counts. */
static void test_first_touch_histogram_counts_once(void **state)
{
    (void)state;
    s_accept_event("t1", "LT", "lead");
    assert_int_equal(s_apply_lead("t1", "LT", 10, NULL), 1); /* first_at 1500 */
    long long before = s_count("t:stl_touch", "count");
    long long in_500 = s_count("t:stl_touch", "le_500");
    apply_event_t call = apply_fixture_event("activity", "t2", "LT", S_NOW);
    call.ingested_at_ms = 1500;
    call.activity_type = "call";
    call.rep_id = "rep-1";
    call.occurred_at_ms = 2000; /* 500 ms after the lead */
    s_accept_event("t2", "LT", "activity");
    assert_int_equal(apply_fixture_run(s_store, s_apply, s_call, &call, NULL), 1);
    assert_int_equal(apply_fixture_run(s_store, s_apply, s_call, &call, NULL), 0);
    call.event_id = "t3";
    s_accept_event("t3", "LT", "activity");
    assert_int_equal(apply_fixture_run(s_store, s_apply, s_call, &call, NULL), 1);
    assert_int_equal(s_count("t:stl_touch", "count"), before + 1);
    assert_int_equal(s_count("t:stl_touch", "le_500"), in_500 + 1);
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
    apply_reply_t reply;
    char buf[64];
    double enter = s_cfg->stages[s_cfg->route_stage].enter;
    assert_true(enter == 20); /* the numbers below are chosen around it */
    /* A lead with fit 10: below the route stage's threshold of 20. */
    s_accept_event("e2", "L2", "lead");
    assert_int_equal(s_apply_lead("e2", "L2", 10, &reply), 1);
    assert_true(reply.score == 10);
    assert_string_equal(reply.stage, "lead");
    assert_false(reply.to_routing);
    /* Redelivered: nothing happens. */
    assert_int_equal(s_apply_lead("e2", "L2", 10, NULL), 0);
    /* A content download (5 points), applied twice (a redelivery): counted once. */
    s_accept_event("e3", "L2", "activity");
    assert_int_equal(s_apply_activity("e3", "L2", "content_download", &reply), 1);
    assert_true(reply.score == 15);
    assert_false(reply.to_routing);
    assert_int_equal(s_apply_activity("e3", "L2", "content_download", NULL), 0);
    assert_int_equal(s_query_int("HGET %s activities", "t:lead:L2"), 1);
    /* Another 5 reaches 20: qualifies, in flight to routing. */
    long long qualified_before = s_query_int("HGET t:stats %s", "qualified");
    s_accept_event("e4", "L2", "activity");
    assert_int_equal(s_apply_activity("e4", "L2", "content_download", &reply), 1);
    assert_true(reply.score == 20);
    assert_true(reply.to_routing);
    assert_string_equal(reply.stage, "mql");
    assert_string_equal(reply.previous_stage, "lead");
    assert_string_equal(s_query_str(buf, sizeof buf, "HGET t:lead:L2 %s", "qualified"), "1");
    assert_true(s_query_int("ZSCORE t:inflight:routing %s", "L2") > 0);
    long long qualified = s_query_int("HGET t:stats %s", "qualified");
    assert_int_equal(qualified, (qualified_before < 0 ? 0 : qualified_before) + 1);
    /* More engagement does not send it to routing again. */
    s_accept_event("e5", "L2", "activity");
    assert_int_equal(s_apply_activity("e5", "L2", "demo_request", &reply), 1);
    assert_true(reply.score == 45);
    assert_false(reply.to_routing);
    assert_int_equal(s_query_int("HGET t:stats %s", "qualified"), qualified);
    /* Applied events left the in-flight set. */
    const char *applied[] = {"e2", "e3", "e4", "e5"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s_query_int("ZSCORE t:inflight:scoring %s", applied[i]), -1);
}

static void test_activity_before_lead_counts_when_lead_arrives(void **state)
{
    (void)state;
    apply_reply_t reply;
    char buf[64];
    s_accept_event("e6", "L3", "activity");
    /* No lead fields yet: scored, but not qualified whatever the points. */
    assert_int_equal(s_apply_activity("e6", "L3", "demo_request", &reply), 1);
    assert_true(reply.score == 25);
    assert_false(reply.to_routing);
    assert_string_equal(s_query_str(buf, sizeof buf, "HGET t:lead:L3 %s", "qualified"), "");
    s_accept_event("e7", "L3", "lead");
    assert_int_equal(s_apply_lead("e7", "L3", 0, &reply), 1);
    assert_true(reply.score == 25);
    assert_true(reply.to_routing);
    assert_string_equal(s_query_str(buf, sizeof buf, "HGET t:lead:L3 %s", "qualified"), "1");
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
    apply_reply_t reply;
    assert_int_equal(s_accept_identity("f1", "FA", "lead", "fold@x.example", lead, outcome), 1);
    assert_int_equal(s_apply_lead("f1", "FA", 5, NULL), 1);
    assert_int_equal(s_accept_identity("f2", "FB", "activity", NULL, lead, outcome), 1);
    assert_string_equal(lead, "FB"); /* no alias yet */
    assert_int_equal(s_apply_activity("f2", "FB", "demo_request", NULL), 1);
    assert_int_equal(s_accept_identity("f3", "FB", "lead", "fold@x.example", lead, outcome), 1);
    assert_string_equal(lead, "FA");
    /* Scoring applies f3 to FA, the lead it came as being FB. */
    assert_int_equal(s_apply_lead_as("f3", "FA", 5, "FB", NULL, &reply), 1);
    /* fit 5 + the 25 points scored under FB: qualifies now */
    assert_true(reply.to_routing);
    assert_true(reply.score == 30);
    assert_true(reply.engagement == 25);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:FB"), 0);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:FB:acts"), 0);
    assert_int_equal(s_query_int("ZSCORE t:orphans %s", "FB"), -1);
    assert_int_equal(s_query_int("HGET t:lead:FA %s", "act:demo_request"), 1);
    assert_int_equal(s_query_int("LLEN %s", "t:lead:FA:acts"), 1);
}

static void test_stale_merge_is_refused(void **state)
{
    (void)state;
    s_accept_event("m1", "M", "lead");
    assert_int_equal(s_apply_lead("m1", "M", 10, NULL), 1);
    s_accept_event("m2", "M", "lead");
    /* Computed from revision 0 while the lead is at 1: merge again. */
    assert_int_equal(s_apply_lead_as("m2", "M", 10, NULL, "0", NULL), 3);
    /* Nothing was consumed: the event is still in flight. */
    assert_true(s_query_int("ZSCORE t:inflight:scoring %s", "m2") > 0);
    assert_int_equal(s_apply_lead("m2", "M", 10, NULL), 1);
    assert_int_equal(s_query_int("HGET %s rev", "t:lead:M"), 2);
}

/* Scoring applies first without looking the lead id up (unresolved): an
 * activity of a lead id that is an alias is refused ({3}) and stays in
 * flight; looked up, it applies to the lead the alias names. */
static void test_unresolved_alias_is_refused_until_looked_up(void **state)
{
    (void)state;
    s_accept_event("u1", "U", "lead");
    assert_int_equal(s_apply_lead("u1", "U", 10, NULL), 1);
    err_t err = {0};
    store_value_t *r = store_command(s_store, &err, "SET t:alias:U2 U");
    store_value_free(&r);
    s_accept_event("u2", "U2", "activity");
    apply_event_t event = apply_fixture_event("activity", "u2", "U2", S_NOW);
    event.ingested_at_ms = 1500;
    event.activity_type = "content_download";
    event.unresolved = true;
    assert_int_equal(apply_fixture_run(s_store, s_apply, s_call, &event, NULL), 3);
    assert_true(s_query_int("ZSCORE t:inflight:scoring %s", "u2") > 0);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:U2"), 0);
    /* An unresolved id that is no alias applies at once. */
    s_accept_event("u3", "U", "activity");
    event = apply_fixture_event("activity", "u3", "U", S_NOW);
    event.ingested_at_ms = 1500;
    event.activity_type = "content_download";
    event.unresolved = true;
    assert_int_equal(apply_fixture_run(s_store, s_apply, s_call, &event, NULL), 1);
    /* Looked up (as fetch.lua resolves it), the refused one applies to U. */
    assert_int_equal(s_apply_activity("u2", "U", "content_download", NULL), 1);
    assert_int_equal(s_count("t:lead:U", "activities"), 2);
}

static long long s_sweep(long long now_ms)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", now_ms);
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
    assert_int_equal(s_apply_activity("o1", "O", "page_view", NULL), 1);
    assert_true(s_query_int("ZSCORE t:orphans %s", "O") > 0);
    s_accept_event("o2", "O", "lead");
    assert_int_equal(s_apply_lead("o2", "O", 5, NULL), 1);
    assert_int_equal(s_query_int("ZSCORE t:orphans %s", "O"), -1);
    /* An activity for N, whose lead never comes: dead-lettered when the
     * window (scoring.orphan_window_s from S_NOW) ends, not before. */
    s_accept_event("n1", "N", "activity");
    assert_int_equal(s_apply_activity("n1", "N", "page_view", NULL), 1);
    long long window_end = S_NOW + 1000LL * s_cfg->scoring_orphan_window_s;
    assert_int_equal(s_sweep(window_end - 1), 0);
    assert_int_equal(s_sweep(window_end), 1);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:N"), 0);
    assert_int_equal(s_query_int("XLEN %s", "t:deadletter"), 1);
    assert_int_equal(s_query_int("HGET t:stats %s", "orphans_dropped"), 1);
    assert_int_equal(s_query_int("EXISTS %s", "t:lead:O"), 1);
}

int main(void)
{
    err_t err = {0};
    if (!(s_cfg = apply_fixture_sample_config()) || !(s_call = apply_fixture_call(s_cfg)) ||
        redis_fixture_start_store(&s_redis, &s_store) < 0)
        return 1;
    s_apply = store_script_register(s_store, "apply", scoring_script_apply, &err);
    s_accept = store_script_register(s_store, "accept", ingest_script_accept, &err);
    s_orphans = store_script_register(s_store, "orphans", scoring_script_orphans, &err);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_dedups_by_event_id),
        cmocka_unit_test(test_identity_by_email_merges_into_the_first_lead),
        cmocka_unit_test(test_two_alias_hops_are_followed),
        cmocka_unit_test(test_orphan_activities_follow_a_merge),
        cmocka_unit_test(test_stale_merge_is_refused),
        cmocka_unit_test(test_unresolved_alias_is_refused_until_looked_up),
        cmocka_unit_test(test_orphan_activities_wait_then_are_dead_lettered),
        cmocka_unit_test(test_apply_once_and_qualify_once),
        cmocka_unit_test(test_activity_before_lead_counts_when_lead_arrives),
        cmocka_unit_test(test_grades_and_score_buckets_follow_the_lead),
        cmocka_unit_test(test_first_touch_histogram_counts_once),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop_store(&s_redis, &s_store);
    apply_call_destroy(&s_call);
    config_destroy(&s_cfg);
    return failed;
}
