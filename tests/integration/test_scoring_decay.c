/* apply.lua's engagement model against a real Redis: decay without writes,
 * per-period caps, negative signals, lifecycle stages with hysteresis, the
 * stage_due schedule and its restage, re-routing of a waiting lead, and the
 * activity log. The config is this file's own (S_CONFIG), so every number
 * below follows from it; the script's arguments are built by apply_call, as
 * the scoring service builds them. Time is the events' now_ms, never the
 * clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "accept_fixture.h"
#include "apply_fixture.h"
#include "config.h"
#include "redis_fixture.h"
#include "store.h"

extern const char scoring_script_apply[];
extern const char ingest_script_accept[];

#define HOUR_MS      3600000LL
#define DAY_MS       (24 * HOUR_MS)
#define HALF_LIFE_MS HOUR_MS
/* 01:00 UTC on 2023-11-14: page views are capped per UTC day. */
#define T0 (19675 * DAY_MS + HOUR_MS)
/* Scores are sums of whole and halved points: exact in a double, but the
 * decay factor goes through pow, so compare within this. */
#define EPSILON 1e-9

static const char S_CONFIG[] = "redis:\n"
                               "  prefix: t\n"
                               "scoring:\n"
                               "  half_life_s: 3600\n"
                               "  stages:\n"
                               "    - { name: lead }\n"
                               "    - { name: mql, enter: 20, exit: 15 }\n"
                               "    - { name: sql, enter: 60, exit: 50 }\n"
                               "  activity_points:\n"
                               "    page_view: { points: 1, cap: 10, period_s: 86400 }\n"
                               "    form_fill: 10\n"
                               "    demo_request: 25\n"
                               "    call: 2\n"
                               "    unsubscribe: -20\n"
                               "    email_bounce: -5\n"
                               "  outcome_points:\n"
                               "    - { type: call, outcome: not_interested, points: -25 }\n"
                               "routing:\n"
                               "  queues:\n"
                               "    - { name: general, strategy: round_robin, stage: mql }\n";

static redis_fixture_t s_redis;
static store_t *s_store;
static config_t *s_cfg;
static apply_call_t *s_call;
static int s_apply, s_accept;
static int s_seq; /* event ids */

/* ---- helpers ------------------------------------------------------------ */

/* One command of NULL-terminated words; the reply is the caller's. */
#define CMD(...) redis_fixture_cmd(s_store, __VA_ARGS__, (const char *)NULL)

/* An integer reply or string field; -1 for nil. */
static long long s_int(const char *cmd, const char *key, const char *arg)
{
    store_value_t *r = arg ? CMD(cmd, key, arg) : CMD(cmd, key);
    long long n = r->type == STORE_STR ? strtoll(r->str, NULL, 10) : store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

/* HGET/GET as text into BUF ("" for nil). */
static const char *s_str(char *buf, size_t size, const char *cmd, const char *key,
                         const char *field)
{
    store_value_t *r = field ? CMD(cmd, key, field) : CMD(cmd, key);
    snprintf(buf, size, "%s", r->type == STORE_STR ? r->str : "");
    store_value_free(&r);
    return buf;
}

static long long s_stat(const char *name)
{
    long long n = s_int("HGET", "t:stats", name);
    return n < 0 ? 0 : n;
}

/* Journals an event as ingest does; returns its id (static until the next call). */
static const char *s_accept_event(const char *lead_id, const char *kind)
{
    static char event_id[32];
    snprintf(event_id, sizeof event_id, "e%d", ++s_seq);
    assert_int_equal(
        accept_fixture_event(s_store, s_accept, event_id, lead_id, kind, NULL, NULL, NULL, NULL),
        1);
    return event_id;
}

/* A lead event for LEAD_ID with FIT at NOW; fails unless applied. */
static void s_lead(const char *lead_id, double fit, long long now, apply_reply_t *reply)
{
    const char *event_id = s_accept_event(lead_id, "lead");
    char key[128], rev[32];
    snprintf(key, sizeof key, "t:lead:%s", lead_id);
    long long stored = s_int("HGET", key, "rev");
    snprintf(rev, sizeof rev, "%lld", stored < 0 ? 0 : stored);
    apply_event_t event = apply_fixture_event("lead", event_id, lead_id, now);
    event.lead_pb = (const uint8_t *)"LEADPB";
    event.lead_pb_len = 6;
    event.fit = fit;
    event.grade = "B";
    event.rev = rev;
    event.event_time_ms = now;
    assert_int_equal(apply_fixture_run(s_store, s_apply, s_call, &event, reply), 1);
}

/* An activity of TYPE with OUTCOME (NULL: none) for LEAD_ID, applied at NOW,
 * having happened at OCCURRED (0: now); fails unless applied. */
static void s_activity_at(const char *lead_id, const char *type, const char *outcome, long long now,
                          long long occurred, apply_reply_t *reply)
{
    const char *event_id = s_accept_event(lead_id, "activity");
    apply_event_t event = apply_fixture_event("activity", event_id, lead_id, now);
    event.activity_type = type;
    event.outcome = outcome;
    event.occurred_at_ms = occurred;
    assert_int_equal(apply_fixture_run(s_store, s_apply, s_call, &event, reply), 1);
}

static void s_activity(const char *lead_id, const char *type, long long now, apply_reply_t *reply)
{
    s_activity_at(lead_id, type, NULL, now, 0, reply);
}

/* The restage of LEAD_ID at NOW, as scoring's sweep runs it; returns the outcome. */
static long long s_restage(const char *lead_id, long long now, apply_reply_t *reply)
{
    apply_event_t event = apply_fixture_event("restage", NULL, lead_id, now);
    long long outcome = apply_fixture_run(s_store, s_apply, s_call, &event, reply);
    assert_int_not_equal(outcome, -1);
    return outcome;
}

/* Field FIELD of the newest entry of LEAD_ID's history list, into BUF:
 * a string as it is, anything else as compact JSON. */
static const char *s_last_history(char *buf, size_t size, const char *lead_id, const char *field)
{
    char key[128];
    snprintf(key, sizeof key, "t:lead:%s:history", lead_id);
    store_value_t *r = CMD("LINDEX", key, "-1");
    json_t *entry = r->type == STORE_STR ? json_loads(r->str, 0, NULL) : NULL;
    json_t *value = json_object_get(entry, field);
    buf[0] = '\0';
    if (json_is_string(value)) {
        snprintf(buf, size, "%s", json_string_value(value));
    } else if (value) {
        char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, size, "%s", text ? text : "");
        free(text);
    }
    json_decref(entry);
    store_value_free(&r);
    return buf;
}

/* Entry INDEX (0: newest) of LEAD_ID's activity log, decoded (caller decrefs). */
static json_t *s_act(const char *lead_id, long long index)
{
    char key[128], at[24];
    snprintf(key, sizeof key, "t:lead:%s:acts", lead_id);
    snprintf(at, sizeof at, "%lld", index);
    store_value_t *r = CMD("LINDEX", key, at);
    assert_int_equal(r->type, STORE_STR);
    json_t *entry = json_loads(r->str, 0, NULL);
    store_value_free(&r);
    assert_non_null(entry);
    return entry;
}

static double s_number(const json_t *entry, const char *name)
{
    const json_t *value = json_object_get(entry, name);
    assert_true(json_is_number(value));
    return json_number_value(value);
}

static const char *s_text(const json_t *entry, const char *name)
{
    const char *text = json_string_value(json_object_get(entry, name));
    assert_non_null(text);
    return text;
}

/* Every field and value of a hash, in one string. */
static char *s_hash_dump(const char *key)
{
    store_value_t *r = CMD("HGETALL", key);
    size_t size = 1;
    for (size_t i = 0; i < r->count; i++)
        size += r->elements[i]->len + 1;
    char *dump = calloc(1, size);
    assert_non_null(dump);
    for (size_t i = 0; i < r->count; i++) {
        strcat(dump, r->elements[i]->str);
        strcat(dump, "\n");
    }
    store_value_free(&r);
    return dump;
}

/* ---- fixtures ----------------------------------------------------------- */

static config_t *s_load_config(void)
{
    char dir[] = "/tmp/leadops-decay-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return NULL;
    snprintf(path, sizeof path, "%s/leadops.yaml", dir);
    FILE *file = fopen(path, "w");
    config_t *cfg = NULL;
    if (file) {
        fputs(S_CONFIG, file);
        fclose(file);
        err_t err = {0};
        if (!(cfg = config_load(path, &err)))
            fprintf(stderr, "config: %s\n", err.msg);
    }
    unlink(path);
    rmdir(dir);
    return cfg;
}

static int s_group_setup(void **state)
{
    (void)state;
    if (!(s_cfg = s_load_config()))
        return -1;
    err_t err = {0};
    if (!(s_call = apply_fixture_call(s_cfg)) || redis_fixture_start_store(&s_redis, &s_store) < 0)
        return -1;
    s_apply = store_script_register(s_store, "apply", scoring_script_apply, &err);
    s_accept = store_script_register(s_store, "accept", ingest_script_accept, &err);
    return s_apply < 0 || s_accept < 0 ? -1 : 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    redis_fixture_stop_store(&s_redis, &s_store);
    apply_call_destroy(&s_call);
    config_destroy(&s_cfg);
    return 0;
}

static int s_flush(void **state)
{
    (void)state;
    store_value_t *r = CMD("FLUSHALL");
    store_value_free(&r);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_config_is_the_one_these_numbers_follow_from(void **state)
{
    (void)state;
    assert_string_equal(apply_call_stages(s_call), "lead;mql:20:15;sql:60:50");
    assert_int_equal(s_cfg->scoring_half_life_s * 1000LL, HALF_LIFE_MS);
    assert_int_equal(s_cfg->route_stage, 1);
}

/* Engagement halves in a half-life with no write in between; an activity
 * that happened a half-life before it is applied counts half. */
static void test_engagement_decays_without_a_write(void **state)
{
    (void)state;
    apply_reply_t reply;
    char buf[64];
    s_lead("D", 0, T0, &reply);
    s_activity("D", "demo_request", T0, &reply);
    ASSERT_NEAR(reply.engagement, 25, EPSILON);
    ASSERT_NEAR(reply.score, 25, EPSILON);
    char *before = s_hash_dump("t:lead:D");

    /* One half-life later, right before the next event: nothing was
     * written, the stored value is still 25 as of T0. */
    char *after = s_hash_dump("t:lead:D");
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:D", "engagement"), "25");
    assert_int_equal(s_int("HGET", "t:lead:D", "eng_at"), T0);

    /* The next event (worth nothing itself) sees half. */
    s_activity("D", "email_sent", T0 + HALF_LIFE_MS, &reply);
    ASSERT_NEAR(reply.engagement, 12.5, EPSILON);
    ASSERT_NEAR(reply.score, 12.5, EPSILON);
    assert_int_equal(s_int("HGET", "t:lead:D", "eng_at"), T0 + HALF_LIFE_MS);

    /* A form fill (10) that happened a half-life ago adds 5. */
    s_activity_at("D", "form_fill", NULL, T0 + HALF_LIFE_MS, T0, &reply);
    ASSERT_NEAR(reply.engagement, 17.5, EPSILON);
    json_t *entry = s_act("D", 0);
    assert_true(s_number(entry, "at") == (double)T0);
    assert_true(s_number(entry, "points") == 10); /* points before decay */
    json_decref(entry);

    /* Two more half-lives: a quarter. */
    s_activity("D", "email_sent", T0 + 3 * HALF_LIFE_MS, &reply);
    ASSERT_NEAR(reply.engagement, 17.5 / 4, EPSILON);
}

/* 30 page views in a day count their cap of 10 points; the next day's
 * window counts again; a type without a cap is not capped. */
static void test_caps_hold_per_period(void **state)
{
    (void)state;
    apply_reply_t reply;
    s_lead("C", 0, T0, &reply);
    for (int i = 0; i < 30; i++)
        s_activity("C", "page_view", T0, &reply);
    ASSERT_NEAR(reply.engagement, 10, EPSILON);
    ASSERT_NEAR(reply.score, 10, EPSILON);
    assert_int_equal(s_stat("capped"), 20);
    assert_int_equal(s_int("HGET", "t:lead:C", "act:page_view"), 30);
    json_t *entry = s_act("C", 0); /* the 30th: nothing counted */
    assert_true(s_number(entry, "points") == 0);
    assert_true(s_number(entry, "base") == 1);
    json_decref(entry);
    entry = s_act("C", 20); /* the 10th: the last counted */
    assert_true(s_number(entry, "points") == 1);
    json_decref(entry);

    /* Later the same day (20 hours, so 10 decayed 2^20-fold): still capped. */
    long long late = T0 + 20 * HOUR_MS;
    s_activity("C", "page_view", late, &reply);
    ASSERT_NEAR(reply.engagement, 10.0 / (1 << 20), EPSILON);
    assert_int_equal(s_stat("capped"), 21);

    /* The next day: a new window. */
    long long next_day = T0 + DAY_MS;
    s_activity("C", "page_view", next_day, &reply);
    ASSERT_NEAR(reply.engagement, 1 + 10.0 / (1 << 24), EPSILON);
    assert_int_equal(s_stat("capped"), 21);
    for (int i = 0; i < 9; i++)
        s_activity("C", "page_view", next_day, &reply);
    s_activity("C", "page_view", next_day, &reply);
    ASSERT_NEAR(reply.engagement, 10 + 10.0 / (1 << 24), EPSILON);
    assert_int_equal(s_stat("capped"), 22);

    /* Form fills have no cap: 5 of them add 50. */
    for (int i = 0; i < 5; i++)
        s_activity("C", "form_fill", next_day, &reply);
    ASSERT_NEAR(reply.engagement, 60 + 10.0 / (1 << 24), EPSILON);
    assert_int_equal(s_stat("capped"), 22);
}

/* An unsubscribe takes 20; a call with outcome not_interested takes 25
 * less the call's own 2; both are in the activity log with their points. */
static void test_negative_signals_subtract(void **state)
{
    (void)state;
    apply_reply_t reply;
    s_lead("N", 40, T0, &reply);
    assert_string_equal(reply.stage, "mql");
    s_activity("N", "unsubscribe", T0, &reply);
    ASSERT_NEAR(reply.engagement, -20, EPSILON);
    ASSERT_NEAR(reply.score, 20, EPSILON);
    s_activity_at("N", "call", "not_interested", T0, 0, &reply);
    ASSERT_NEAR(reply.engagement, -43, EPSILON);
    ASSERT_NEAR(reply.score, -3, EPSILON);
    assert_string_equal(reply.stage, "lead");
    assert_string_equal(reply.previous_stage, "mql");
    /* A call with no outcome is worth its own points. */
    s_activity("N", "call", T0, &reply);
    ASSERT_NEAR(reply.engagement, -41, EPSILON);

    assert_int_equal(s_int("LLEN", "t:lead:N:acts", NULL), 3);
    json_t *entry = s_act("N", 1);
    assert_string_equal(s_text(entry, "type"), "call");
    assert_string_equal(s_text(entry, "outcome"), "not_interested");
    assert_true(s_number(entry, "points") == -23);
    assert_true(s_number(entry, "base") == -23);
    json_decref(entry);
    entry = s_act("N", 2);
    assert_string_equal(s_text(entry, "type"), "unsubscribe");
    assert_true(s_number(entry, "points") == -20);
    json_decref(entry);
}

/* Up lead -> mql at 20 and mql -> sql at 60, down sql -> mql below 50 and
 * mql -> lead below 15; between exit and enter a lead stays where it is. */
static void test_stages_move_both_ways_with_hysteresis(void **state)
{
    (void)state;
    apply_reply_t reply;
    char buf[128];
    s_lead("S", 0, T0, &reply);
    assert_string_equal(reply.stage, "lead");
    assert_string_equal(reply.previous_stage, "");
    assert_false(reply.to_routing);
    s_activity("S", "form_fill", T0, &reply);
    assert_string_equal(reply.stage, "lead");

    /* 20: mql, qualified, to routing. */
    s_activity("S", "form_fill", T0, &reply);
    ASSERT_NEAR(reply.score, 20, EPSILON);
    assert_string_equal(reply.stage, "mql");
    assert_string_equal(reply.previous_stage, "lead");
    assert_true(reply.to_routing);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:S", "qualified"), "1");
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:S", "stage"), "mql");
    assert_int_equal(s_stat("stage_up"), 1);
    assert_string_equal(s_last_history(buf, sizeof buf, "S", "changes"),
                        "{\"stage\":[\"lead\",\"mql\"]}");
    assert_string_equal(s_last_history(buf, sizeof buf, "S", "cause"), "activity");

    /* 45 and 55: below sql's 60, still mql, nothing for routing. */
    s_activity("S", "demo_request", T0, &reply);
    s_activity("S", "form_fill", T0, &reply);
    ASSERT_NEAR(reply.score, 55, EPSILON);
    assert_string_equal(reply.stage, "mql");
    assert_false(reply.to_routing);

    /* 65: sql; routing hears of the move. */
    s_activity("S", "form_fill", T0, &reply);
    assert_string_equal(reply.stage, "sql");
    assert_string_equal(reply.previous_stage, "mql");
    assert_true(reply.to_routing);
    assert_int_equal(s_stat("stage_up"), 2);

    /* 55, then exactly 50: below sql's entry, not below its exit. */
    s_activity("S", "email_bounce", T0, &reply);
    s_activity("S", "email_bounce", T0, &reply);
    assert_string_equal(reply.stage, "sql");
    s_activity("S", "email_bounce", T0, &reply);
    ASSERT_NEAR(reply.score, 50, EPSILON);
    assert_string_equal(reply.stage, "sql");
    assert_string_equal(reply.previous_stage, "");
    assert_int_equal(s_stat("stage_down"), 0);

    /* 45: back to mql. */
    s_activity("S", "email_bounce", T0, &reply);
    assert_string_equal(reply.stage, "mql");
    assert_string_equal(reply.previous_stage, "sql");
    assert_true(reply.to_routing);
    assert_int_equal(s_stat("stage_down"), 1);
    assert_string_equal(s_last_history(buf, sizeof buf, "S", "changes"),
                        "{\"stage\":[\"sql\",\"mql\"]}");

    /* 25, 20, 15: mql holds down to its exit. */
    s_activity("S", "unsubscribe", T0, &reply);
    s_activity("S", "email_bounce", T0, &reply);
    s_activity("S", "email_bounce", T0, &reply);
    ASSERT_NEAR(reply.score, 15, EPSILON);
    assert_string_equal(reply.stage, "mql");

    /* 10: lead; below the route stage, routing has nothing to do. */
    s_activity("S", "email_bounce", T0, &reply);
    assert_string_equal(reply.stage, "lead");
    assert_string_equal(reply.previous_stage, "mql");
    assert_false(reply.to_routing);
    assert_int_equal(s_stat("stage_down"), 2);

    /* 19: above mql's exit, below its entry: still lead. 20: mql again. */
    for (int i = 0; i < 9; i++)
        s_activity("S", "page_view", T0, &reply);
    ASSERT_NEAR(reply.score, 19, EPSILON);
    assert_string_equal(reply.stage, "lead");
    s_activity("S", "page_view", T0, &reply);
    assert_string_equal(reply.stage, "mql");
    assert_true(reply.to_routing);
    assert_int_equal(s_stat("stage_up"), 3);
    assert_int_equal(s_stat("stage_down"), 2);
    assert_int_equal(s_int("LLEN", "t:lead:S:history", NULL), 5);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:S", "stage"), "mql");
}

/* A lead in mql on engagement alone falls below the exit when its
 * engagement decays: stage_due holds when, and a restage then moves it. */
static void test_decay_moves_a_stage_when_due(void **state)
{
    (void)state;
    apply_reply_t reply;
    char buf[128];
    s_lead("M", 5, T0, &reply);
    assert_int_equal(s_int("ZSCORE", "t:stage_due", "M"), -1); /* nothing decays */
    s_activity("M", "demo_request", T0, &reply);
    assert_string_equal(reply.stage, "mql");

    /* 5 + 25 * 2^(-t / half-life) = 15 */
    double expected = T0 + HALF_LIFE_MS * log2(25.0 / (15 - 5));
    long long due = s_int("ZSCORE", "t:stage_due", "M");
    ASSERT_NEAR((double)due, expected, 2);

    /* Before then: nothing. */
    assert_int_equal(s_restage("M", due - 1, NULL), 0);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:M", "stage"), "mql");
    assert_int_equal(s_stat("stage_down"), 0);

    /* At it: down to lead, caused by decay. */
    assert_int_equal(s_restage("M", due, &reply), 1);
    assert_string_equal(reply.stage, "lead");
    assert_string_equal(reply.previous_stage, "mql");
    assert_true(reply.score < 15);
    ASSERT_NEAR(reply.score, 15, 1e-3);
    assert_false(reply.to_routing);
    assert_int_equal(s_stat("stage_down"), 1);
    assert_string_equal(s_last_history(buf, sizeof buf, "M", "cause"), "decay");
    assert_string_equal(s_last_history(buf, sizeof buf, "M", "changes"),
                        "{\"stage\":[\"mql\",\"lead\"]}");
    assert_int_equal(s_int("ZSCORE", "t:stage_due", "M"), -1);
    /* Once done, a restage again is a no-op. */
    assert_int_equal(s_restage("M", due + HOUR_MS, NULL), 0);
}

/* After an unsubscribe, negative engagement decays toward zero: the score
 * rises back across mql's entry, and that is scheduled too. */
static void test_negative_engagement_rises_back_when_due(void **state)
{
    (void)state;
    apply_reply_t reply;
    char buf[128];
    s_lead("U", 30, T0, &reply);
    assert_string_equal(reply.stage, "mql");
    s_activity("U", "unsubscribe", T0, &reply);
    assert_string_equal(reply.stage, "lead");

    /* 30 - 20 * 2^(-t / half-life) = 20: one half-life. */
    double expected = T0 + HALF_LIFE_MS * log2(-20.0 / (20 - 30));
    long long due = s_int("ZSCORE", "t:stage_due", "U");
    ASSERT_NEAR((double)due, expected, 2);
    assert_int_equal(s_restage("U", due - 1, NULL), 0);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:U", "stage"), "lead");
    assert_int_equal(s_restage("U", due, &reply), 1);
    assert_string_equal(reply.stage, "mql");
    assert_string_equal(reply.previous_stage, "lead");
    ASSERT_NEAR(reply.score, 20, 1e-3);
    assert_true(reply.to_routing);
    assert_string_equal(s_last_history(buf, sizeof buf, "U", "cause"), "decay");
    assert_int_equal(s_int("ZSCORE", "t:stage_due", "U"), -1);
}

/* A lead waiting in a queue goes to routing whenever its score changes (the
 * queue re-orders it); a lead a rep holds never goes again. */
static void test_waiting_lead_is_rerouted_assigned_is_not(void **state)
{
    (void)state;
    apply_reply_t reply;
    s_lead("Q", 25, T0, &reply);
    assert_true(reply.to_routing);
    /* Routing took it and queued it. */
    store_value_t *r = CMD("ZREM", "t:inflight:routing", "Q");
    store_value_free(&r);
    r = CMD("HSET", "t:lead:Q", "status", "queued", "queue", "general");
    store_value_free(&r);

    s_activity("Q", "page_view", T0, &reply);
    ASSERT_NEAR(reply.score, 26, EPSILON);
    assert_true(reply.to_routing);
    assert_true(s_int("ZSCORE", "t:inflight:routing", "Q") > 0);
    r = CMD("ZREM", "t:inflight:routing", "Q");
    store_value_free(&r);
    /* The same score: nothing to re-order. */
    s_activity("Q", "email_sent", T0, &reply);
    assert_false(reply.to_routing);
    assert_int_equal(s_int("ZSCORE", "t:inflight:routing", "Q"), -1);
    /* Decay changed it: re-ordered. */
    s_activity("Q", "email_sent", T0 + HALF_LIFE_MS, &reply);
    ASSERT_NEAR(reply.score, 25.5, EPSILON);
    assert_true(reply.to_routing);
    r = CMD("ZREM", "t:inflight:routing", "Q");
    store_value_free(&r);

    /* A rep holds it: up to sql and down again, routing hears nothing. */
    r = CMD("HSET", "t:lead:Q", "status", "assigned", "rep", "r1");
    store_value_free(&r);
    long long now = T0 + HALF_LIFE_MS;
    s_activity("Q", "demo_request", now, &reply);
    assert_false(reply.to_routing);
    s_activity("Q", "demo_request", now, &reply);
    assert_string_equal(reply.stage, "sql");
    assert_false(reply.to_routing);
    s_activity("Q", "unsubscribe", now, &reply);
    s_activity("Q", "unsubscribe", now, &reply);
    ASSERT_NEAR(reply.score, 35.5, EPSILON);
    assert_string_equal(reply.stage, "mql");
    assert_false(reply.to_routing);
    assert_int_equal(s_int("ZSCORE", "t:inflight:routing", "Q"), -1);
}

/* The activity log keeps the newest 100, newest first. */
static void test_activity_log_keeps_the_newest_100(void **state)
{
    (void)state;
    char first_kept[32] = "", newest[32] = "";
    s_lead("A", 0, T0, NULL);
    for (int i = 1; i <= 105; i++) {
        const char *type = i % 2 ? "form_fill" : "page_view";
        s_activity_at("A", type, NULL, T0 + 1000, T0 + i, NULL);
        if (i == 6)
            snprintf(first_kept, sizeof first_kept, "e%d", s_seq);
        snprintf(newest, sizeof newest, "e%d", s_seq);
    }
    assert_int_equal(s_int("LLEN", "t:lead:A:acts", NULL), 100);
    assert_int_equal(s_int("HGET", "t:lead:A", "activities"), 105);
    json_t *entry = s_act("A", 0);
    assert_string_equal(s_text(entry, "id"), newest);
    assert_true(s_number(entry, "at") == (double)(T0 + 105));
    assert_string_equal(s_text(entry, "type"), "form_fill");
    json_decref(entry);
    entry = s_act("A", 99);
    assert_string_equal(s_text(entry, "id"), first_kept);
    assert_true(s_number(entry, "at") == (double)(T0 + 6));
    json_decref(entry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_is_the_one_these_numbers_follow_from, s_flush),
        cmocka_unit_test_setup(test_engagement_decays_without_a_write, s_flush),
        cmocka_unit_test_setup(test_caps_hold_per_period, s_flush),
        cmocka_unit_test_setup(test_negative_signals_subtract, s_flush),
        cmocka_unit_test_setup(test_stages_move_both_ways_with_hysteresis, s_flush),
        cmocka_unit_test_setup(test_decay_moves_a_stage_when_due, s_flush),
        cmocka_unit_test_setup(test_negative_engagement_rises_back_when_due, s_flush),
        cmocka_unit_test_setup(test_waiting_lead_is_rerouted_assigned_is_not, s_flush),
        cmocka_unit_test_setup(test_activity_log_keeps_the_newest_100, s_flush),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
