/* test_plan.c — plan_view against a real redis-server holding KPI day hashes
 * and deals as common/keys.h lays them out, on histories whose answers are
 * worked out by hand: a queue's leads (a linear trend and a weekday
 * pattern) forecast exactly with a back-test MAPE of 0; a queue without
 * leads planned on its reps' opportunities, a shared rep's split in two;
 * capacity from caps, working days in the rep's own time zone and an
 * absence; the reps and caps that close a gap; an uncapped rep's unbounded
 * queue; and the revenue forecast month by month from the open pipeline. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "forecast.h"
#include "plan.h"
#include "redis_fixture.h"
#include "store.h"

#define DAY_MS 86400000LL
/* 2024-01-01, a Monday; 140 days later, 2024-05-20, also a Monday. */
#define MON_2024_01_01 19723
#define HISTORY_DAYS   140

#define HOURS                                                                                      \
    "hours: {mon: \"09:00-17:00\", tue: \"09:00-17:00\", wed: \"09:00-17:00\", "                   \
    "thu: \"09:00-17:00\", fri: \"09:00-17:00\"}"

/* inbound: r1 (10 a day, 40 a week) and r2 (6 a day, Tokyo, shared with
 * outbound); outbound: r2 and r3 (8 a day, 30 a week, away Mon-Wed of the
 * second forecast week); partners: r4, without caps. */
static const char s_yaml[] =
    "redis: {prefix: t}\n"
    "routing:\n"
    "  fallback_queue: inbound\n"
    "  queues:\n"
    "    - {name: inbound, strategy: round_robin}\n"
    "    - {name: outbound, strategy: round_robin}\n"
    "    - {name: partners, strategy: round_robin}\n"
    "  reps:\n"
    "    - {id: r1, name: R1, capacity: 50, daily_cap: 10, weekly_cap: 40, queues: [inbound],\n"
    "       status: online, " HOURS "}\n"
    "    - {id: r2, name: R2, capacity: 50, daily_cap: 6, queues: [inbound, outbound],\n"
    "       status: online, timezone: Asia/Tokyo, " HOURS "}\n"
    "    - {id: r3, name: R3, capacity: 50, daily_cap: 8, weekly_cap: 30, queues: [outbound],\n"
    "       status: online, " HOURS ",\n"
    "       out_of_office: [{from: \"2024-05-27\", to: \"2024-05-29\"}]}\n"
    "    - {id: r4, name: R4, capacity: 50, queues: [partners], status: online}\n";

/* cmocka's assert_float_equal compares floats; these are doubles. */
#define assert_near(actual, expected, tolerance)                                                   \
    s_assert_near((actual), (expected), (tolerance), #actual, __LINE__)

static void s_assert_near(double actual, double expected, double tolerance, const char *what,
                          int line)
{
    if (!(fabs(actual - expected) <= tolerance))
        fail_msg("line %d: %s = %.12g, expected %.12g (within %g)", line, what, actual, expected,
                 tolerance);
}

static const double s_pattern[7] = {6, 4, 2, 0, -1, -5, -6}; /* Monday first, sums to 0 */

typedef struct {
    redis_fixture_t redis;
    store_t *store;
    config_t *cfg;
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
} s_world_t;

static int s_group_setup(void **state)
{
    static s_world_t world;
    snprintf(world.dir, sizeof world.dir, "%s/leadops-plan-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(world.dir))
        return -1;
    snprintf(world.path, sizeof world.path, "%s/plan.yaml", world.dir);
    FILE *file = fopen(world.path, "w");
    if (!file || fputs(s_yaml, file) < 0 || fclose(file) != 0)
        return -1;
    err_t err = {0};
    if (!(world.cfg = config_load(world.path, &err))) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    if (redis_fixture_start_store(&world.redis, &world.store) < 0)
        return -1;
    *state = &world;
    return 0;
}

static int s_group_teardown(void **state)
{
    s_world_t *world = *state;
    redis_fixture_stop_store(&world->redis, &world->store);
    config_destroy(&world->cfg);
    unlink(world->path);
    rmdir(world->dir);
    return 0;
}

static int s_flush(void **state)
{
    s_world_t *world = *state;
    return redis_fixture_flushall(world->store);
}

/* Adds BY to FIELD of the KPI hash of DAY, as apply.lua and assign.lua do. */
static void s_kpi(s_world_t *world, int64_t day, const char *field, double by)
{
    char key[64], member[32];
    snprintf(key, sizeof key, "t:kpi:d:%lld", (long long)day);
    snprintf(member, sizeof member, "%lld", (long long)day);
    store_value_t *reply =
        store_command(world->store, NULL, "HINCRBYFLOAT %s %s %f", key, field, by);
    assert_non_null(reply);
    assert_int_not_equal(reply->type, STORE_ERROR);
    store_value_free(&reply);
    reply = store_command(world->store, NULL, "ZADD t:kpi:days %s %s", member, member);
    assert_non_null(reply);
    store_value_free(&reply);
}

/* A won or lost deal of REP closed at AT_MS (no open date: a live stream). */
static void s_deal(s_world_t *world, const char *rep, bool won, double value, int64_t at_ms)
{
    char at[32], amount[32];
    snprintf(at, sizeof at, "%lld", (long long)at_ms);
    snprintf(amount, sizeof amount, "%g", value);
    store_value_t *reply =
        store_command(world->store, NULL,
                      "XADD t:deals * rep %s lead l outcome %s value %s product p at %s "
                      "opened_at %s",
                      rep, won ? "won" : "lost", amount, at, "");
    assert_non_null(reply);
    assert_int_not_equal(reply->type, STORE_ERROR);
    store_value_free(&reply);
}

static json_t *s_plan(s_world_t *world, int weeks, int64_t now_day)
{
    plan_opts_t opts = {.weeks = weeks, .backtest_weeks = 8, .now_ms = now_day * DAY_MS + 3600000};
    err_t err = {0};
    json_t *plan = plan_view(world->store, world->cfg, &opts, &err);
    if (!plan)
        fail_msg("plan_view: %s", err.msg);
    return plan;
}

static const json_t *s_queue(const json_t *plan, const char *name)
{
    size_t i;
    const json_t *queue;
    json_array_foreach(json_object_get(plan, "queues"), i, queue)
    {
        if (strcmp(json_string_value(json_object_get(queue, "queue")), name) == 0)
            return queue;
    }
    fail_msg("no queue %s", name);
    return NULL;
}

static double s_num(const json_t *object, const char *name)
{
    const json_t *value = json_object_get(object, name);
    if (!json_is_number(value))
        fail_msg("%s is not a number", name);
    return json_number_value(value);
}

static const json_t *s_week(const json_t *queue, size_t week)
{
    return json_array_get(json_object_get(queue, "weekly"), week);
}

static void s_history(s_world_t *world)
{
    for (int i = 0; i < HISTORY_DAYS; i++) {
        int64_t day = MON_2024_01_01 + i;
        int weekday = forecast_weekday(day);
        s_kpi(world, day, "queue:inbound|leads", 30 + i + s_pattern[weekday]);
        if (weekday < 5) {
            s_kpi(world, day, "r2|opportunities", 2);
            s_kpi(world, day, "r3|opportunities", 4);
        }
        s_kpi(world, day, "src:web|leads", 99); /* other KPIs are not demand */
    }
}

static void test_demand_and_supply(void **state)
{
    s_world_t *world = *state;
    s_history(world);
    /* Today is the Thursday after the history: no data yet, nothing left out. */
    json_t *plan = s_plan(world, 2, MON_2024_01_01 + HISTORY_DAYS + 3);
    const json_t *history = json_object_get(plan, "history");
    assert_string_equal(json_string_value(json_object_get(history, "first_day")), "2024-01-01");
    assert_string_equal(json_string_value(json_object_get(history, "last_day")), "2024-05-19");
    assert_int_equal(json_array_size(json_object_get(history, "left_out")), 0);
    assert_string_equal(json_string_value(json_object_get(plan, "first_week")), "2024-05-20");

    /* inbound: 30 + day + weekday pattern; a week from day k sums to 231 + 7k. */
    const json_t *inbound = s_queue(plan, "inbound");
    assert_string_equal(json_string_value(json_object_get(inbound, "series")), "leads");
    assert_near(s_num(s_week(inbound, 0), "forecast"), 231 + 7 * 140, 0.01);
    assert_near(s_num(s_week(inbound, 1), "forecast"), 231 + 7 * 147, 0.01);
    const json_t *test = json_object_get(inbound, "backtest");
    assert_int_equal(json_integer_value(json_object_get(test, "weeks")), 8);
    assert_int_equal(json_integer_value(json_object_get(test, "used")), 8);
    assert_near(s_num(test, "mape"), 0, 1e-9);
    /* r1: min(10 x 5, 40) = 40; r2: 6 x 5 Tokyo working days (Tue to the next
     * Mon start within the UTC week) = 30, half of it here. */
    assert_near(s_num(s_week(inbound, 0), "capacity"), 55, 1e-9);
    assert_near(s_num(s_week(inbound, 1), "gap"), 1260 - 55, 0.01);
    const json_t *advice = json_object_get(inbound, "advice");
    assert_true(json_is_false(json_object_get(advice, "covered")));
    assert_string_equal(json_string_value(json_object_get(advice, "peak_week")), "2024-05-27");
    /* A rep of inbound takes (40 + 30) / 2 = 35 a week: 1205 / 35 -> 35 reps. */
    assert_int_equal(json_integer_value(json_object_get(advice, "reps_needed")), 35);
    assert_near(s_num(json_object_get(advice, "caps"), "factor"), 1260.0 / 55, 0.01);
    assert_non_null(strstr(json_string_value(json_object_get(advice, "text")), "add 35 reps"));

    /* outbound has no leads: r2's opportunities halved (1 a weekday) plus r3's (4). */
    const json_t *outbound = s_queue(plan, "outbound");
    assert_string_equal(json_string_value(json_object_get(outbound, "series")), "opportunities");
    assert_near(s_num(outbound, "history_total"), 20 * 5 * (1 + 4), 1e-9);
    assert_near(s_num(s_week(outbound, 0), "forecast"), 25, 0.01);
    /* r3: min(8 x 5, 30) = 30, then away 3 days: min(8 x 2, 30 x 2 / 5) = 12. */
    assert_near(s_num(s_week(outbound, 0), "capacity"), 15 + 30, 1e-9);
    assert_near(s_num(s_week(outbound, 1), "capacity"), 15 + 12, 1e-9);
    advice = json_object_get(outbound, "advice");
    assert_true(json_is_true(json_object_get(advice, "covered")));
    assert_near(s_num(advice, "peak_gap"), 25 - 27, 0.01);

    /* partners: nothing to forecast, and r4's capacity has no bound. */
    const json_t *partners = s_queue(plan, "partners");
    assert_near(s_num(s_week(partners, 0), "forecast"), 0, 1e-9);
    assert_true(json_is_null(json_object_get(s_week(partners, 0), "capacity")));
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(partners, "advice"), "text")),
               "neither daily_cap nor weekly_cap"));
    json_decref(plan);
}

/* Data imported today, far from the history, is left out of it; today
 * itself is not history while it lasts. */
static void test_history_window(void **state)
{
    s_world_t *world = *state;
    s_history(world);
    int64_t today = MON_2024_01_01 + 400;
    s_kpi(world, today, "queue:inbound|leads", 500);
    json_t *plan = s_plan(world, 1, today);
    const json_t *history = json_object_get(plan, "history");
    assert_string_equal(json_string_value(json_object_get(history, "last_day")), "2024-05-19");
    const json_t *left_out = json_object_get(history, "left_out");
    assert_int_equal(json_array_size(left_out), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(left_out, 0), "from")),
                        "2025-02-04");
    assert_near(s_num(s_week(s_queue(plan, "inbound"), 0), "forecast"), 1211, 0.01);
    json_decref(plan);

    /* Data up to today, in one stretch: today is left out, yesterday is the last day. */
    s_flush(state);
    s_history(world);
    plan = s_plan(world, 1, MON_2024_01_01 + HISTORY_DAYS - 1);
    history = json_object_get(plan, "history");
    assert_string_equal(json_string_value(json_object_get(history, "last_day")), "2024-05-18");
    assert_int_equal(json_array_size(json_object_get(history, "left_out")), 0);
    /* The forecast starts on the Monday after: 2024-05-20, day 140 again. */
    assert_near(s_num(s_week(s_queue(plan, "inbound"), 0), "forecast"), 1211, 0.01);
    json_decref(plan);
}

static const json_t *s_month(const json_t *revenue, const char *label)
{
    size_t i;
    const json_t *month;
    json_array_foreach(json_object_get(revenue, "months"), i, month)
    {
        if (strcmp(json_string_value(json_object_get(month, "month")), label) == 0)
            return month;
    }
    fail_msg("no month %s", label);
    return NULL;
}

/* 30 opportunities on New Year's day; each month 3 won (100 each) and 3
 * lost, March 2 won (200) and 2 lost, and one won (50) on 2 April. */
static void test_revenue(void **state)
{
    s_world_t *world = *state;
    int64_t jan = MON_2024_01_01 * DAY_MS, feb = jan + 31 * DAY_MS, mar = feb + 29 * DAY_MS,
            apr = mar + 31 * DAY_MS;
    s_kpi(world, MON_2024_01_01, "r1|opportunities", 30);
    for (int i = 0; i < 3; i++) {
        s_deal(world, "r1", true, 100, jan + 14 * DAY_MS);
        s_deal(world, "r1", false, 0, jan + 14 * DAY_MS);
        s_deal(world, "r1", true, 100, feb + 14 * DAY_MS);
        s_deal(world, "r1", false, 0, feb + 14 * DAY_MS);
    }
    for (int i = 0; i < 2; i++) {
        s_deal(world, "r1", true, 200, mar + 14 * DAY_MS);
        s_deal(world, "r1", false, 0, mar + 14 * DAY_MS);
    }
    s_deal(world, "", true, 50, apr + DAY_MS); /* no rep: no KPI day, still a deal */
    json_t *plan = s_plan(world, 1, MON_2024_01_01 + 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(plan, "history"), "last_day")),
        "2024-04-02");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(plan, "opportunities"), "source")),
        "opportunity_created activities");
    const json_t *revenue = json_object_get(plan, "revenue");
    assert_int_equal(json_integer_value(json_object_get(revenue, "won")), 9);
    assert_int_equal(json_integer_value(json_object_get(revenue, "lost")), 8);
    /* Open at the start of each month: 30 created minus those closed before. */
    assert_near(s_num(s_month(revenue, "2024-02"), "open_at_start"), 24, 1e-9);
    assert_near(s_num(s_month(revenue, "2024-04"), "open_at_start"), 14, 1e-9);
    assert_true(json_is_null(json_object_get(s_month(revenue, "2024-02"), "forecast")));
    /* March from January and February: 18 open x 12/24 closing x 6/12 won x 100. */
    const json_t *march = s_month(revenue, "2024-03");
    assert_near(s_num(march, "forecast"), 450, 1e-9);
    assert_near(s_num(march, "actual"), 400, 1e-9);
    assert_near(s_num(march, "error"), 0.125, 1e-9);
    /* April: 14 x 16/42 x 8/16 x 125; not over, so not in the MAPE. */
    const json_t *april = s_month(revenue, "2024-04");
    assert_near(s_num(april, "forecast"), 333.33, 1e-9);
    assert_true(json_is_true(json_object_get(april, "partial")));
    assert_near(s_num(revenue, "mape"), 0.125, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(revenue, "mape_months")), 1);
    /* May: 13 open x 17/56 x 9/17 x 1050/9 = 13 x 1050 / 56. */
    const json_t *next = json_object_get(revenue, "next_month");
    assert_string_equal(json_string_value(json_object_get(next, "month")), "2024-05");
    assert_near(s_num(next, "open_pipeline"), 13, 1e-9);
    assert_near(s_num(next, "forecast"), 243.75, 1e-9);
    assert_near(s_num(next, "weighted_pipeline"), 802.94, 1e-9);
    json_decref(plan);
}

static void test_bad_options(void **state)
{
    s_world_t *world = *state;
    err_t err = {0};
    plan_opts_t opts = {.weeks = 0, .backtest_weeks = 8};
    assert_null(plan_view(world->store, world->cfg, &opts, &err));
    assert_int_equal(err.code, ERR_INPUT);
    opts = (plan_opts_t){.weeks = 8, .backtest_weeks = FORECAST_BACKTEST_MAX + 1};
    assert_null(plan_view(world->store, world->cfg, &opts, &err));
    assert_int_equal(err.code, ERR_INPUT);
    /* An empty Redis: a plan with no history and no forecast, not an error. */
    opts.backtest_weeks = 8;
    json_t *plan = plan_view(world->store, world->cfg, &opts, &err);
    assert_non_null(plan);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(plan, "history"), "days")),
                     0);
    assert_true(json_is_null(json_object_get(s_queue(plan, "inbound"), "model")));
    json_decref(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_demand_and_supply, s_flush),
        cmocka_unit_test_setup(test_history_window, s_flush),
        cmocka_unit_test_setup(test_revenue, s_flush),
        cmocka_unit_test_setup(test_bad_options, s_flush),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
