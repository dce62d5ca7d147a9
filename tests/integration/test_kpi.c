/* KPI counting against a real Redis: scoring's apply.lua counts a rep's
 * inputs and deals, a lead's first touch, new leads by source and
 * conversion by origin exactly once however often an event is redelivered;
 * routing's assign.lua counts each rep's speed to lead and each queue's
 * demand once per lead; kpi.c adds the day hashes up into rep, team,
 * leaderboard, quartile and conversion figures, and parses periods. The
 * script's arguments come from apply_call over deploy/leadops.yaml, as the
 * scoring service builds them. */
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
#include "dashboard.h"
#include "kpi.h"
#include "redis_fixture.h"
#include "routing_fixture.h"
#include "store.h"

extern const char scoring_script_apply[];
extern const char ingest_script_accept[];
extern const char routing_script_routing[];

#define DAY_MS 86400000LL
/* 2024-05-01T00:00Z, day 19844: the leads' time. Events apply at S_NOW, ten days on. */
#define S_T0      1714521600000LL
#define S_T0_DAY  19844
#define S_NOW     (S_T0 + 10 * DAY_MS + 12 * 3600000LL)
#define S_NOW_DAY (S_T0_DAY + 10)

static redis_fixture_t s_redis;
static store_t *s_store;
static config_t *s_cfg;      /* deploy/leadops.yaml with the prefix "t" */
static apply_call_t *s_call; /* apply.lua's arguments, as scoring builds them */
static int s_apply, s_accept, s_routing;

static int s_flush(void **state)
{
    (void)state;
    store_value_free(&(store_value_t *){redis_fixture_cmd(s_store, "FLUSHALL", NULL)});
    return 0;
}

/* HGET KEY FIELD as a number; -1 when absent. */
static double s_hget(const char *key, const char *field)
{
    store_value_t *r = redis_fixture_cmd(s_store, "HGET", key, field, NULL);
    double n = r->type == STORE_NIL ? -1 : store_value_double(r, -1);
    store_value_free(&r);
    return n;
}

/* HGET of the KPI day hash of DAY. */
static double s_day(long day, const char *field)
{
    char key[64];
    snprintf(key, sizeof key, "t:kpi:d:%ld", day);
    return s_hget(key, field);
}

/* Journals EVENT_ID (kind KIND of LEAD_ID) as ingest does, so it is in flight. */
static void s_journal(const char *event_id, const char *lead_id, const char *kind)
{
    assert_int_equal(
        accept_fixture_event(s_store, s_accept, event_id, lead_id, kind, NULL, NULL, NULL, NULL),
        1);
}

/* Applies lead event EVENT_ID of LEAD_ID from SOURCE at EVENT_TIME as
 * scoring does; returns apply.lua's outcome (1 applied, 0 a redelivery). */
static long long s_lead(const char *event_id, const char *lead_id, const char *source,
                        int64_t event_time)
{
    char key[64], rev[32];
    snprintf(key, sizeof key, "t:lead:%s", lead_id);
    double stored = s_hget(key, "rev");
    snprintf(rev, sizeof rev, "%.0f", stored < 0 ? 0 : stored);
    apply_event_t event = apply_fixture_event("lead", event_id, lead_id, S_NOW);
    event.ingested_at_ms = S_NOW;
    event.lead_pb = (const uint8_t *)"LEADPB";
    event.lead_pb_len = 6;
    event.grade = "B";
    event.rev = rev;
    event.event_time_ms = event_time;
    event.source = source;
    long long outcome = apply_fixture_run(s_store, s_apply, s_call, &event, NULL);
    assert_int_not_equal(outcome, -1);
    return outcome;
}

/* Journals and applies a new lead. */
static void s_new_lead(const char *event_id, const char *lead_id, const char *source)
{
    s_journal(event_id, lead_id, "lead");
    assert_int_equal(s_lead(event_id, lead_id, source, S_T0), 1);
}

typedef struct {
    const char *type, *rep, *product;
    double value;
    int64_t at, opened_at;
} s_activity_t;

/* Applies activity event EVENT_ID on LEAD_ID as scoring does. */
static long long s_activity(const char *event_id, const char *lead_id, const s_activity_t *a)
{
    apply_event_t event = apply_fixture_event("activity", event_id, lead_id, S_NOW);
    event.ingested_at_ms = S_NOW;
    event.activity_type = a->type;
    event.occurred_at_ms = a->at;
    event.rep_id = a->rep;
    event.value = a->value;
    event.product = a->product;
    event.opened_at_ms = a->opened_at;
    long long outcome = apply_fixture_run(s_store, s_apply, s_call, &event, NULL);
    assert_int_not_equal(outcome, -1);
    return outcome;
}

/* Journals and applies an activity, then applies it again (a redelivery,
 * which must do nothing). */
static void s_act_twice(const char *event_id, const char *lead_id, const s_activity_t *a)
{
    s_journal(event_id, lead_id, "activity");
    assert_int_equal(s_activity(event_id, lead_id, a), 1);
    assert_int_equal(s_activity(event_id, lead_id, a), 0);
}

static void test_new_leads_count_once_by_source(void **state)
{
    (void)state;
    s_journal("e-l1", "L1", "lead");
    assert_int_equal(s_lead("e-l1", "L1", "paid_search", S_T0), 1);
    assert_int_equal(s_lead("e-l1", "L1", "paid_search", S_T0), 0); /* redelivered */
    assert_int_equal((long long)s_hget("t:kpi:origin", "leads:paid_search"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY, "src:paid_search|leads"), 1);
    store_value_t *r = redis_fixture_cmd(s_store, "ZSCORE", "t:kpi:days", "19844", NULL);
    assert_int_equal(store_value_int(r, -1), S_T0_DAY);
    store_value_free(&r);

    /* An update of the same lead from another source is not a new lead. */
    s_journal("e-l1b", "L1", "lead");
    assert_int_equal(s_lead("e-l1b", "L1", "email", S_T0 + DAY_MS), 1);
    assert_int_equal((long long)s_hget("t:kpi:origin", "leads:paid_search"), 1);
    assert_int_equal((long long)s_hget("t:kpi:origin", "leads:email"), -1);
    assert_int_equal((long long)s_hget("t:lead:L1", "first_at"), S_T0);

    s_new_lead("e-l2", "L2", "");
    assert_int_equal((long long)s_hget("t:kpi:origin", "leads:unknown"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY, "src:unknown|leads"), 1);
}

static void test_deals_count_once(void **state)
{
    (void)state;
    s_new_lead("e-l1", "L1", "email");
    /* Opened two days before the lead's time, won ten days after it. */
    s_act_twice("e-d1", "L1",
                &(s_activity_t){.type = "deal_won",
                                .rep = "r1",
                                .value = 1000,
                                .product = "gtx",
                                .at = S_T0 + 10 * DAY_MS,
                                .opened_at = S_T0 - 2 * DAY_MS});
    assert_int_equal((long long)s_day(S_T0_DAY + 10, "r1|won"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY + 10, "r1|won_value"), 1000);
    assert_int_equal((long long)s_day(S_T0_DAY + 10, "r1|close_days_sum"), 12);
    assert_int_equal((long long)s_day(S_T0_DAY + 10, "r1|close_days_n"), 1);
    assert_int_equal((long long)s_hget("t:kpi:origin", "won:email"), 1);
    assert_int_equal((long long)s_hget("t:kpi:origin", "won_value:email"), 1000);

    store_value_t *r = redis_fixture_cmd(s_store, "XRANGE", "t:deals", "-", "+", NULL);
    assert_int_equal(r->count, 1);
    const store_value_t *fields = store_value_at(store_value_at(r, 0), 1);
    const char *want[] = {"rep",       "r1",           "lead",    "L1",  "outcome", "won",
                          "value",     "1000",         "product", "gtx", "at",      "1715385600000",
                          "opened_at", "1714348800000"};
    assert_int_equal(fields->count, 14);
    for (size_t i = 0; i < 14; i++)
        assert_string_equal(store_value_str(store_value_at(fields, i), ""), want[i]);
    store_value_free(&r);

    /* A second deal won on the lead: the rep's, not the lead's conversion
     * again; without engage_date it runs from the lead's time. */
    s_act_twice(
        "e-d2", "L1",
        &(s_activity_t){.type = "deal_won", .rep = "r1", .value = 500, .at = S_T0 + 5 * DAY_MS});
    assert_int_equal((long long)s_day(S_T0_DAY + 5, "r1|won"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY + 5, "r1|close_days_sum"), 5);
    assert_int_equal((long long)s_hget("t:kpi:origin", "won:email"), 1);
    assert_int_equal((long long)s_hget("t:kpi:origin", "won_value:email"), 1500);

    s_act_twice(
        "e-d3", "L1",
        &(s_activity_t){.type = "deal_lost", .rep = "r2", .value = 200, .at = S_T0 + 3 * DAY_MS});
    assert_int_equal((long long)s_day(S_T0_DAY + 3, "r2|lost"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY + 3, "r2|lost_value"), 200);
    assert_int_equal((long long)s_day(S_T0_DAY + 3, "r2|won"), -1);
    r = redis_fixture_cmd(s_store, "XLEN", "t:deals", NULL);
    assert_int_equal(store_value_int(r, -1), 3);
    store_value_free(&r);
}

static void test_a_deal_before_its_lead_converts_when_the_lead_comes(void **state)
{
    (void)state;
    s_act_twice(
        "e-d9", "L9",
        &(s_activity_t){.type = "deal_won", .rep = "r1", .value = 300, .at = S_T0 + DAY_MS});
    assert_int_equal((long long)s_day(S_T0_DAY + 1, "r1|won"), 1);
    store_value_t *r = redis_fixture_cmd(s_store, "HLEN", "t:kpi:origin", NULL);
    assert_int_equal(store_value_int(r, -1), 0); /* no lead yet: nothing converted */
    store_value_free(&r);
    s_new_lead("e-l9", "L9", "social");
    assert_int_equal((long long)s_hget("t:kpi:origin", "leads:social"), 1);
    assert_int_equal((long long)s_hget("t:kpi:origin", "won:social"), 1);
    assert_int_equal((long long)s_hget("t:kpi:origin", "won_value:social"), 300);
}

static void test_inputs_and_first_touch_count_once(void **state)
{
    (void)state;
    s_new_lead("e-l1", "L1", "web_form");
    s_act_twice("e-c1", "L1", &(s_activity_t){.type = "call", .rep = "r2", .at = S_T0 + 60000});
    s_act_twice("e-c2", "L1", &(s_activity_t){.type = "call", .rep = "r2", .at = S_T0 + 120000});
    assert_int_equal((long long)s_day(S_T0_DAY, "r2|calls"), 2);
    assert_int_equal((long long)s_day(S_T0_DAY, "r2|touch_ms_sum"),
                     60000); /* the first call only */
    assert_int_equal((long long)s_day(S_T0_DAY, "r2|touch_n"), 1);

    const char *types[] = {"meeting", "demo_completed", "proposal_sent", "opportunity_created",
                           "page_view"};
    const char *fields[] = {"r2|meetings", "r2|demos", "r2|proposals", "r2|opportunities",
                            "r2|page_view"};
    for (size_t i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "e-in%zu", i);
        s_act_twice(id, "L1", &(s_activity_t){.type = types[i], .rep = "r2", .at = S_T0 + DAY_MS});
        assert_int_equal((long long)s_day(S_T0_DAY + 1, fields[i]), i < 4 ? 1 : -1);
    }

    /* No rep on the activity: the rep holding the lead did it. */
    store_value_free(
        &(store_value_t *){redis_fixture_cmd(s_store, "HSET", "t:lead:L1", "rep", "r3", NULL)});
    s_act_twice("e-m1", "L1", &(s_activity_t){.type = "email_sent", .at = S_T0 + 2 * DAY_MS});
    assert_int_equal((long long)s_day(S_T0_DAY + 2, "r3|emails"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY + 2, "r3|touch_n"),
                     -1); /* the lead was touched already */
}

static void test_routing_counts_speed_to_lead_and_queue_demand(void **state)
{
    (void)state;
    routing_fixture_queue(s_store, s_routing, &(routing_fixture_queue_t){.name = "q"});
    routing_fixture_rep(s_store, s_routing, &(routing_fixture_rep_t){.id = "rep-a"});
    /* In flight from scoring, taken in 1.5 s after its intake; created ten days before. */
    int64_t now = S_T0 + 10 * DAY_MS + 1500;
    store_value_free(&(store_value_t *){
        redis_fixture_cmd(s_store, "ZADD", "t:inflight:routing", "9999999999999", "R1", NULL)});
    store_value_free(&(store_value_t *){redis_fixture_cmd(s_store, "HSET", "t:lead:R1", "first_at",
                                                          "1714521600000", "ingested_at",
                                                          "1715385600000", "score", "10", NULL)});
    const char *route[] = {"R1", "q", "r1", "10", "1", "lead", "", ""};
    store_value_t *r = routing_fixture_call(s_store, s_routing, now, "route", 8, route);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""), "rep-a");
    store_value_free(&r);
    assert_int_equal((long long)s_day(S_T0_DAY + 10, "rep-a|stl_n"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY + 10, "rep-a|stl_ms_sum"), 1500);
    assert_int_equal((long long)s_day(S_T0_DAY, "queue:q|leads"), 1); /* on the lead's own day */

    /* Rejected and placed again: neither its demand nor its speed counts twice. */
    const char *args[] = {"rep-a", "R1", "busy"};
    r = routing_fixture_call(s_store, s_routing, now + 1000, "reject", 3, args);
    store_value_free(&r);
    assert_int_equal((long long)s_day(S_T0_DAY, "queue:q|leads"), 1);
    assert_int_equal((long long)s_day(S_T0_DAY + 10, "rep-a|stl_n"), 1);

    /* A lead with no time of its own counts on the day of its intake. */
    assert_int_equal(routing_fixture_route(s_store, s_routing, S_NOW, "R2", "q", "", "", NULL), 1);
    assert_int_equal((long long)s_day(S_NOW_DAY, "queue:q|leads"), 1);
}

/* ---- kpi.c over day hashes written here ------------------------------- */

/* HINCRBYFLOAT on the day hash of DAY. */
static void s_put(long day, const char *field, const char *by)
{
    char key[64];
    snprintf(key, sizeof key, "t:kpi:d:%ld", day);
    store_value_free(
        &(store_value_t *){redis_fixture_cmd(s_store, "HINCRBYFLOAT", key, field, by, NULL)});
    char member[24];
    snprintf(member, sizeof member, "%ld", day);
    store_value_free(
        &(store_value_t *){redis_fixture_cmd(s_store, "ZADD", "t:kpi:days", member, member, NULL)});
}

/* The object of ARRAY whose KEY is VALUE. */
static json_t *s_find(json_t *array, const char *key, const char *value)
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, key)), value) == 0)
            return item;
    }
    fail_msg("no %s %s", key, value);
    return NULL;
}

static double s_num(const json_t *object, const char *path)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", path);
    const json_t *at = object;
    for (char *save = NULL, *part = strtok_r(copy, ".", &save); part;
         part = strtok_r(NULL, ".", &save))
        at = json_object_get(at, part);
    if (!json_is_number(at))
        fail_msg("%s is not a number", path);
    return json_number_value(at);
}

static void test_kpi_reps_adds_up_the_period(void **state)
{
    (void)state;
    /* Two reps of one team from the config, a rep the config does not know. */
    const char *r1 = s_cfg->reps[0].id, *r2 = s_cfg->reps[1].id;
    assert_string_equal(s_cfg->reps[0].team, s_cfg->reps[1].team);
    const long d = S_T0_DAY;
    char f[64];
#define PUT(day, rep, metric, by)                                                                  \
    do {                                                                                           \
        snprintf(f, sizeof f, "%s|%s", rep, metric);                                               \
        s_put(day, f, by);                                                                         \
    } while (0)
    PUT(d, r1, "won", "2");
    PUT(d, r1, "lost", "1");
    PUT(d, r1, "won_value", "3000");
    PUT(d, r1, "calls", "5");
    PUT(d, r1, "close_days_sum", "30");
    PUT(d, r1, "close_days_n", "3");
    PUT(d + 9, r1, "won", "1");
    PUT(d + 9, r1, "won_value", "1000");
    PUT(d + 9, r1, "emails", "5");
    PUT(d + 9, r1, "stl_ms_sum", "4000");
    PUT(d + 9, r1, "stl_n", "2");
    PUT(d - 3, r1, "won", "1"); /* the period before */
    PUT(d - 3, r1, "won_value", "2000");
    PUT(d - 3, r1, "calls", "4");
    PUT(d + 10, r1, "won", "7"); /* after the period */
    PUT(d + 1, r2, "lost", "2");
    PUT(d + 1, r2, "calls", "1");
    PUT(d + 1, "x|y", "won", "1"); /* a rep id with a bar in it */
    PUT(d + 1, "x|y", "won_value", "10");
    s_put(d, "src:web|leads", "3");
    s_put(d + 1, "queue:q1|leads", "2");
#undef PUT

    err_t err = {0};
    kpi_period_t period = {.from_day = d, .to_day = d + 10};
    json_t *view = kpi_reps(s_store, s_cfg, &period, &err);
    assert_non_null(view);
    assert_string_equal(json_string_value(json_object_get(view, "from")), "2024-05-01");
    assert_string_equal(json_string_value(json_object_get(view, "to")), "2024-05-10");
    assert_int_equal(s_num(view, "days"), 10);
    json_t *reps = json_object_get(view, "reps");
    assert_int_equal(json_array_size(reps), s_cfg->rep_count + 1);
    json_t *one = s_find(reps, "rep", r1);
    assert_int_equal(s_num(one, "won"), 3);
    assert_int_equal(s_num(one, "lost"), 1);
    assert_int_equal(s_num(one, "won_value"), 4000);
    assert_int_equal(s_num(one, "inputs"), 10);
    ASSERT_NEAR(s_num(one, "win_rate"), 0.75, 1e-12);
    ASSERT_NEAR(s_num(one, "avg_deal_size"), 4000.0 / 3, 1e-9);
    ASSERT_NEAR(s_num(one, "avg_days_to_close"), 10, 1e-12);
    ASSERT_NEAR(s_num(one, "speed_to_lead_ms"), 2000, 1e-12);
    assert_true(json_is_null(json_object_get(one, "first_touch_ms")));
    assert_int_equal(s_num(one, "previous.won_value"), 2000);
    ASSERT_NEAR(s_num(one, "growth.won_value"), 1.0, 1e-12);
    ASSERT_NEAR(s_num(one, "growth.inputs"), 1.5, 1e-12);
    assert_int_equal(s_num(s_find(reps, "rep", "x|y"), "won"), 1);

    json_t *team = s_find(json_object_get(view, "teams"), "team", s_cfg->reps[0].team);
    assert_int_equal(s_num(team, "won"), 3);
    assert_int_equal(s_num(team, "lost"), 3);
    ASSERT_NEAR(s_num(team, "win_rate"), 0.5, 1e-12);
    assert_int_equal(s_num(view, "totals.won"), 4);

    json_t *board = json_object_get(view, "leaderboard");
    assert_int_equal(json_array_size(board), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(board, 0), "rep")), r1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(board, 2), "rep")), r2);
    json_t *quartiles = json_object_get(view, "quartiles");
    assert_int_equal(s_num(quartiles, "top.count"), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(quartiles, "top"), "reps"), 0)),
                        r1);
    ASSERT_NEAR(s_num(quartiles, "top.mix.calls"), 0.5, 1e-12);
    ASSERT_NEAR(s_num(quartiles, "bottom.mix.calls"), 1.0, 1e-12);
    ASSERT_NEAR(s_num(quartiles, "bottom.win_rate"), 0, 1e-12);
    assert_int_equal(s_num(view, "leads.by_source.web"), 3);
    assert_int_equal(s_num(view, "leads.by_queue.q1"), 2);
    json_decref(view);

    /* "all": from the first to the last day with data. */
    period = (kpi_period_t){.all = true};
    view = kpi_reps(s_store, s_cfg, &period, &err);
    assert_non_null(view);
    assert_string_equal(json_string_value(json_object_get(view, "from")), "2024-04-28");
    assert_string_equal(json_string_value(json_object_get(view, "to")), "2024-05-11");
    assert_int_equal(s_num(s_find(json_object_get(view, "reps"), "rep", r1), "won"), 11);
    json_decref(view);
}

static void test_kpi_conversion_by_origin(void **state)
{
    (void)state;
    store_value_free(&(store_value_t *){redis_fixture_cmd(
        s_store, "HSET", "t:kpi:origin", "leads:a", "10", "won:a", "2", "won_value:a", "50.5",
        "leads:b", "30", "won:b", "1", "leads:unknown", "5", NULL)});
    err_t err = {0};
    json_t *view = kpi_conversion(s_store, "t", &err);
    assert_non_null(view);
    json_t *origins = json_object_get(view, "origins");
    assert_int_equal(json_array_size(origins), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(origins, 0), "origin")),
                        "b"); /* most leads first */
    ASSERT_NEAR(s_num(s_find(origins, "origin", "a"), "rate"), 0.2, 1e-12);
    ASSERT_NEAR(s_num(s_find(origins, "origin", "a"), "won_value"), 50.5, 1e-12);
    assert_true(json_is_number(json_object_get(s_find(origins, "origin", "unknown"), "rate")));
    assert_int_equal(s_num(view, "overall.leads"), 45);
    assert_int_equal(s_num(view, "overall.won"), 3);
    ASSERT_NEAR(s_num(view, "overall.rate"), 3.0 / 45, 1e-12);
    json_decref(view);
}

/* Why leads wait, per queue, over its first waiting leads: /v1/ops counts
 * them ({reason: leads}, "unknown" for none), the dashboard lists them
 * (most first, "no reason recorded" for none) with how many were sampled. */
static void test_waiting_reasons_in_ops_and_dashboard(void **state)
{
    (void)state;
    const char *reason = "no eligible rep: 2 offline";
    store_value_free(&(store_value_t *){redis_fixture_cmd(s_store, "SADD", "t:queues", "q", NULL)});
    store_value_free(&(store_value_t *){redis_fixture_cmd(s_store, "ZADD", "t:queue:q:waiting", "1",
                                                          "W1", "2", "W2", "3", "W3", NULL)});
    for (int i = 1; i <= 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "t:lead:W%d", i);
        store_value_free(&(store_value_t *){
            redis_fixture_cmd(s_store, "HSET", key, "status", "queued", "queue", "q",
                              "waiting_reason", i == 3 ? "" : reason, NULL)});
    }
    err_t err = {0};
    json_t *ops = kpi_ops(s_store, "t", &err);
    assert_non_null(ops);
    json_t *counted =
        json_object_get(json_array_get(json_object_get(ops, "queues"), 0), "waiting_reasons");
    assert_int_equal(json_integer_value(json_object_get(counted, reason)), 2);
    assert_int_equal(json_integer_value(json_object_get(counted, "unknown")), 1);
    assert_int_equal(json_object_size(counted), 2);
    json_decref(ops);

    json_t *snapshot = dashboard_snapshot(s_store, "t", &err);
    assert_non_null(snapshot);
    json_t *queue = json_array_get(json_object_get(snapshot, "queues"), 0);
    json_t *listed = json_object_get(queue, "waiting_reasons");
    assert_int_equal(json_array_size(listed), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(listed, 0), "reason")),
                        reason);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(listed, 0), "leads")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(listed, 1), "reason")),
                        "no reason recorded");
    assert_int_equal(json_integer_value(json_object_get(queue, "reasons_sampled")), 3);
    json_decref(snapshot);
}

static void test_period_parse(void **state)
{
    (void)state;
    kpi_period_t p;
    err_t err = {0};
    const int64_t jan15 = 1705320000000LL; /* 2024-01-15T12:00Z, day 19737 */
    assert_int_equal(kpi_period_parse(NULL, NULL, NULL, jan15, &p, &err), 0);
    assert_int_equal(p.to_day - p.from_day, 30);
    assert_int_equal(p.to_day, 19738);
    assert_int_equal(kpi_period_parse("7d", NULL, NULL, jan15, &p, &err), 0);
    assert_int_equal(p.from_day, 19731);
    assert_int_equal(kpi_period_parse(NULL, "2016-01-01", "2018-12-31", jan15, &p, &err), 0);
    assert_int_equal(p.from_day, 16801);
    assert_int_equal(p.to_day, 17897); /* the last day counts */
    assert_int_equal(kpi_period_parse("last-month", NULL, NULL, jan15, &p, &err), 0);
    assert_int_equal(p.from_day, 19692); /* 2023-12-01 */
    assert_int_equal(p.to_day, 19723);   /* 2024-01-01 */
    assert_int_equal(kpi_period_parse("this-quarter", NULL, NULL, jan15, &p, &err), 0);
    assert_int_equal(p.from_day, 19723);
    assert_int_equal(kpi_period_parse("last-quarter", NULL, NULL, jan15, &p, &err), 0);
    assert_int_equal(p.from_day, 19631); /* 2023-10-01 */
    assert_int_equal(kpi_period_parse("all", NULL, NULL, jan15, &p, &err), 0);
    assert_true(p.all);

    assert_int_equal(kpi_period_parse("fortnight", NULL, NULL, jan15, &p, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    assert_int_equal(kpi_period_parse("0d", NULL, NULL, jan15, &p, &err), -1);
    assert_int_equal(kpi_period_parse("30d", "2024-01-01", NULL, jan15, &p, &err), -1);
    assert_int_equal(kpi_period_parse(NULL, "2024-02-01", "2024-01-01", jan15, &p, &err), -1);
    assert_int_equal(kpi_period_parse(NULL, "2024-13-01", NULL, jan15, &p, &err), -1);
    assert_non_null(strstr(err.msg, "from: '2024-13-01' is not a date"));
}

int main(void)
{
    err_t err = {0};
    if (!(s_cfg = apply_fixture_sample_config()) || !(s_call = apply_fixture_call(s_cfg)) ||
        redis_fixture_start_store(&s_redis, &s_store) < 0)
        return 1;
    s_apply = store_script_register(s_store, "apply", scoring_script_apply, &err);
    s_accept = store_script_register(s_store, "accept", ingest_script_accept, &err);
    s_routing = store_script_register(s_store, "routing", routing_script_routing, &err);
    if (!s_store || s_apply < 0 || s_accept < 0 || s_routing < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_new_leads_count_once_by_source, s_flush),
        cmocka_unit_test_setup(test_deals_count_once, s_flush),
        cmocka_unit_test_setup(test_a_deal_before_its_lead_converts_when_the_lead_comes, s_flush),
        cmocka_unit_test_setup(test_inputs_and_first_touch_count_once, s_flush),
        cmocka_unit_test_setup(test_routing_counts_speed_to_lead_and_queue_demand, s_flush),
        cmocka_unit_test_setup(test_kpi_reps_adds_up_the_period, s_flush),
        cmocka_unit_test_setup(test_kpi_conversion_by_origin, s_flush),
        cmocka_unit_test_setup(test_waiting_reasons_in_ops_and_dashboard, s_flush),
        cmocka_unit_test_setup(test_period_parse, s_flush),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop_store(&s_redis, &s_store);
    apply_call_destroy(&s_call);
    config_destroy(&s_cfg);
    return failed;
}
