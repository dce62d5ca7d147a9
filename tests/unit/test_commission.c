/* commission: the tiers of a plan (rate to the quota, accelerators above
 * multiples of it) on sums worked out by hand, the plan a deal counts
 * under, the per-period report with each deal's share, UTC periods and
 * dates, and the commissions config: loaded from YAML, and each mistake
 * refused with its file:line and key. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commission.h"
#include "config.h"

#define assert_near(actual, expected)                                                              \
    s_assert_near((actual), (expected), #actual, __FILE__, __LINE__)

static void s_assert_near(double actual, double expected, const char *what, const char *file,
                          int line)
{
    if (!(fabs(actual - expected) <= 1e-9 * fmax(1, fabs(expected))))
        fail_msg("%s:%d: %s = %.12g, expected %.12g", file, line, what, actual, expected);
}

/* 2017-03-01T00:00Z and friends, in ms. */
#define MAR_2017 1488326400000LL
#define APR_2017 1491004800000LL
#define MAY_2017 1493596800000LL
#define DAY_MS   86400000LL

/* Two reps of team East, one of West; three plans, the first for GTX
 * products of any team, the second for East, the third for West. */
static const char s_yaml[] =
    "routing:\n"
    "  reps:\n"
    "    - {id: ann, name: Ann A, capacity: 10, queues: [general], status: online, team: East}\n"
    "    - {id: bob, name: Bob B, capacity: 10, queues: [general], status: online, team: East}\n"
    "    - {id: cy, name: Cy C, capacity: 10, queues: [general], status: online, team: West}\n"
    "commissions:\n"
    "  period: month\n"
    "  plans:\n"
    "    - {name: gtx, rate: 0.05, products: [GTX Pro, GTX Basic]}\n"
    "    - name: east\n"
    "      rate: 0.10\n"
    "      quota: 1000\n"
    "      accelerators: [{above: 1.0, rate: 0.15}, {above: 1.5, rate: 0.20}]\n"
    "      teams: [East]\n"
    "    - {name: west, rate: 0.08, quota: 0, teams: [West], products: [MG Special]}\n";

typedef struct {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    config_t *cfg;
} fixture_t;

static int s_write(fixture_t *fixture, const char *text)
{
    snprintf(fixture->path, sizeof fixture->path, "%s/commissions.yaml", fixture->dir);
    FILE *file = fopen(fixture->path, "w");
    if (!file)
        return -1;
    fputs(text, file);
    return fclose(file);
}

static int s_setup(void **state)
{
    static fixture_t fixture;
    snprintf(fixture.dir, sizeof fixture.dir, "%s/leadops-commission-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(fixture.dir) || s_write(&fixture, s_yaml) != 0)
        return -1;
    err_t err = {0};
    fixture.cfg = config_load(fixture.path, &err);
    if (!fixture.cfg) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    *state = &fixture;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fixture = *state;
    config_destroy(&fixture->cfg);
    unlink(fixture->path);
    return rmdir(fixture->dir);
}

static const commission_plan_t *s_plan(const config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->commission_plan_count; i++)
        if (strcmp(cfg->commission_plans[i].name, name) == 0)
            return &cfg->commission_plans[i];
    fail_msg("no plan %s", name);
    return NULL;
}

static void test_config_loaded(void **state)
{
    const config_t *cfg = ((fixture_t *)*state)->cfg;
    assert_string_equal(cfg->commission_period, "month");
    assert_int_equal(cfg->commission_plan_count, 3);
    const commission_plan_t *east = s_plan(cfg, "east");
    assert_near(east->rate, 0.10);
    assert_near(east->quota, 1000);
    assert_int_equal(east->accelerator_count, 2);
    assert_near(east->accelerators[1].above, 1.5);
    assert_near(east->accelerators[1].rate, 0.20);
    assert_int_equal(east->team_count, 1);
    assert_int_equal(east->product_count, 0);
    assert_int_equal(s_plan(cfg, "gtx")->product_count, 2);

    /* Without the section: no plans, monthly. */
    config_t *defaults = config_load(NULL, NULL);
    assert_non_null(defaults);
    assert_int_equal(defaults->commission_plan_count, 0);
    assert_string_equal(defaults->commission_period, "month");
    config_destroy(&defaults);
}

/* Quota 1000, 10% to it, 15% from 1.0x to 1.5x, 20% beyond. */
static void test_tiers(void **state)
{
    const config_t *cfg = ((fixture_t *)*state)->cfg;
    const commission_plan_t *east = s_plan(cfg, "east");
    assert_near(commission_tiered(east, 0), 0);
    assert_near(commission_tiered(east, -50), 0);
    assert_near(commission_tiered(east, 500), 50);
    assert_near(commission_tiered(east, 1000), 100);
    assert_near(commission_tiered(east, 1200), 100 + 200 * 0.15);
    assert_near(commission_tiered(east, 1500), 100 + 75);
    assert_near(commission_tiered(east, 2000), 100 + 75 + 500 * 0.20);
    /* No quota: one rate on everything. */
    assert_near(commission_tiered(s_plan(cfg, "west"), 10000), 800);
    /* A single accelerator at 2x: 10% to 2000, then 30%. */
    accelerator_t at_double = {.above = 2, .rate = 0.3};
    commission_plan_t plan = {
        .rate = 0.1, .quota = 1000, .accelerators = &at_double, .accelerator_count = 1};
    assert_near(commission_tiered(&plan, 1999), 199.9);
    assert_near(commission_tiered(&plan, 2500), 200 + 150);
}

static void test_plan_for(void **state)
{
    const config_t *cfg = ((fixture_t *)*state)->cfg;
    assert_string_equal(commission_plan_for(cfg, "East", "gtx pro")->name, "gtx"); /* case */
    assert_string_equal(commission_plan_for(cfg, "West", "GTX Basic")->name, "gtx");
    assert_string_equal(commission_plan_for(cfg, "East", "MG Special")->name, "east");
    assert_string_equal(commission_plan_for(cfg, "West", "MG Special")->name, "west");
    assert_null(commission_plan_for(cfg, "West", "MG Advanced")); /* west covers MG Special only */
    assert_null(commission_plan_for(cfg, "", "MG Special"));      /* no team */
    assert_null(commission_plan_for(cfg, "east", "MG Special"));  /* teams keep their case */
}

static void test_periods_and_dates(void **state)
{
    (void)state;
    char label[16];
    int64_t mid_march = MAR_2017 + 14 * DAY_MS + 3600000;
    assert_int_equal(commission_period_start("month", mid_march), MAR_2017);
    assert_int_equal(commission_period_next("month", MAR_2017), APR_2017);
    commission_period_label("month", MAR_2017, label);
    assert_string_equal(label, "2017-03");
    assert_int_equal(commission_period_start("quarter", mid_march), 1483228800000LL);
    commission_period_label("quarter", mid_march, label);
    assert_string_equal(label, "2017-Q1");
    assert_int_equal(commission_period_next("quarter", 1483228800000LL), APR_2017);
    /* 2017-03-15 was a Wednesday: its week began on Monday the 13th. */
    assert_int_equal(commission_period_start("week", mid_march), MAR_2017 + 12 * DAY_MS);
    commission_period_label("week", MAR_2017 + 12 * DAY_MS, label);
    assert_string_equal(label, "2017-03-13");
    assert_int_equal(commission_period_next("year", 1483228800000LL), 1514764800000LL);
    /* December rolls into the next year. */
    assert_int_equal(commission_period_next("month", 1512086400000LL), 1514764800000LL);

    int64_t ms = 0;
    err_t err = {0};
    assert_int_equal(commission_parse_date("2017-03-01", false, &ms, &err), 0);
    assert_int_equal(ms, MAR_2017);
    assert_int_equal(commission_parse_date("2017-03-31", true, &ms, &err), 0);
    assert_int_equal(ms, APR_2017);
    assert_int_equal(commission_parse_date("2017-03", true, &ms, &err), 0);
    assert_int_equal(ms, APR_2017);
    assert_int_equal(commission_parse_date("2017-03", false, &ms, &err), 0);
    assert_int_equal(ms, MAR_2017);
    assert_int_equal(commission_parse_date("2017-02-30", false, &ms, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    assert_int_equal(commission_parse_date("March", false, &ms, &err), -1);
    assert_int_equal(commission_parse_date("2017-13", false, &ms, &err), -1);
    assert_int_equal(commission_parse_date("2017-03-01x", false, &ms, &err), -1);
}

static const json_t *s_rep(const json_t *report, const char *id)
{
    size_t i;
    const json_t *rep;
    json_array_foreach(json_object_get(report, "reps"), i, rep)
    {
        if (strcmp(json_string_value(json_object_get(rep, "rep")), id) == 0)
            return rep;
    }
    fail_msg("no rep %s in the report", id);
    return NULL;
}

static double s_num(const json_t *object, const char *name)
{
    return json_number_value(json_object_get(object, name));
}

static void test_report(void **state)
{
    const config_t *cfg = ((fixture_t *)*state)->cfg;
    commission_deal_t deals[] = {
        /* Ann, March: 600 then 700 under "east" (quota 1000): 100 + 300 x 15% = 145. */
        {"ann", "l1", "MG Special", true, 700, MAR_2017 + 9 * DAY_MS, 0},
        {"ann", "l2", "MG Special", true, 600, MAR_2017 + 2 * DAY_MS, 0},
        /* ... a GTX deal under "gtx" (5%): 40. */
        {"ann", "l3", "GTX Pro", true, 800, MAR_2017 + 20 * DAY_MS, 0},
        /* ... April: the quota resets, 400 at 10%: 40. */
        {"ann", "l4", "MG Special", true, 400, APR_2017 + 3 * DAY_MS, 0},
        /* ... a lost deal and one after the range earn nothing. */
        {"ann", "l5", "MG Special", false, 9000, MAR_2017 + 5 * DAY_MS, 0},
        {"ann", "l6", "MG Special", true, 9000, MAY_2017 + DAY_MS, 0},
        /* Bob, March: 2000 under east: 100 + 75 + 100 = 275. */
        {"bob", "l7", "", true, 2000, MAR_2017 + DAY_MS, 0},
        /* Cy (West) sells MG Advanced, which no plan covers; and MG Special at 8%. */
        {"cy", "l8", "MG Advanced", true, 300, MAR_2017 + DAY_MS, 0},
        {"cy", "l9", "MG Special", true, 100, MAR_2017 + DAY_MS, 0},
        /* A rep the config does not list has no team: only team-less plans. */
        {"zed", "l10", "GTX Basic", true, 1000, MAR_2017 + DAY_MS, 0},
        {"zed", "l11", "MG Special", true, 50, MAR_2017 + DAY_MS, 0},
    };
    json_t *report =
        commission_report(cfg, deals, sizeof deals / sizeof deals[0], MAR_2017, MAY_2017);
    assert_non_null(report);
    assert_string_equal(json_string_value(json_object_get(report, "from")), "2017-03-01");
    assert_string_equal(json_string_value(json_object_get(report, "to")), "2017-04-30");

    const json_t *ann = s_rep(report, "ann");
    assert_near(s_num(ann, "commission"), 145 + 40 + 40);
    assert_near(s_num(ann, "won_value"), 600 + 700 + 800 + 400);
    assert_int_equal(json_integer_value(json_object_get(ann, "deals")), 4);
    assert_string_equal(json_string_value(json_object_get(ann, "team")), "East");
    const json_t *lines = json_object_get(ann, "lines");
    assert_int_equal(json_array_size(lines), 3); /* gtx March, east March, east April */
    const json_t *march = NULL;
    size_t i;
    const json_t *line;
    json_array_foreach(lines, i, line)
    {
        if (strcmp(json_string_value(json_object_get(line, "plan")), "east") == 0 &&
            strcmp(json_string_value(json_object_get(line, "period")), "2017-03") == 0)
            march = line;
    }
    assert_non_null(march);
    assert_near(s_num(march, "commission"), 145);
    assert_near(s_num(march, "attainment"), 1.3);
    /* The deals in time order, each with what it added: 600 -> 60, 700 -> 85. */
    const json_t *deal_list = json_object_get(march, "deal_list");
    assert_int_equal(json_array_size(deal_list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(deal_list, 0), "lead")),
                        "l2");
    assert_near(s_num(json_array_get(deal_list, 0), "commission"), 60);
    assert_near(s_num(json_array_get(deal_list, 1), "commission"), 85);

    assert_near(s_num(s_rep(report, "bob"), "commission"), 275);
    assert_near(s_num(s_rep(report, "cy"), "commission"), 8);
    assert_near(s_num(s_rep(report, "zed"), "commission"), 50); /* GTX Basic at 5% */
    /* Highest commission first. */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(report, "reps"), 0), "rep")),
                        "bob");
    const json_t *unmatched = json_object_get(report, "unmatched");
    assert_int_equal(json_integer_value(json_object_get(unmatched, "deals")), 2);
    assert_near(s_num(unmatched, "won_value"), 350);
    const json_t *totals = json_object_get(report, "totals");
    assert_near(s_num(totals, "commission"), 225 + 275 + 8 + 50);
    assert_int_equal(json_integer_value(json_object_get(totals, "deals")), 7);
    json_decref(report);
}

/* Each YAML (a commissions section) must fail naming TEXT_PART. */
static void s_refused(fixture_t *fixture, const char *yaml, const char *text_part)
{
    assert_int_equal(s_write(fixture, yaml), 0);
    err_t err = {0};
    config_t *cfg = config_load(fixture->path, &err);
    if (cfg) {
        config_destroy(&cfg);
        fail_msg("loaded, expected an error with \"%s\":\n%s", text_part, yaml);
    }
    assert_int_equal(err.code, ERR_CONFIG);
    if (!strstr(err.msg, text_part))
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, text_part);
}

static void test_config_refused(void **state)
{
    fixture_t *fixture = *state;
    s_refused(fixture,
              "commissions:\n"
              "  plans:\n"
              "    - {name: a, rate: 8}\n",
              "commissions.yaml:3: commissions.plans[0].rate: expected a fraction from 0 to 1");
    s_refused(fixture,
              "commissions:\n"
              "  plans:\n"
              "    - name: a\n"
              "      rate: 0.1\n"
              "      quota: 100\n"
              "      accelerators:\n"
              "        - {above: 1.5, rate: 0.2}\n"
              "        - {above: 1.0, rate: 0.3}\n",
              "commissions.yaml:8: commissions.plans[0].accelerators[1].above: accelerators must "
              "be listed lowest first");
    s_refused(fixture,
              "commissions:\n"
              "  plans:\n"
              "    - {name: a, rate: 0.1, accelerators: [{above: 1, rate: 0.2}]}\n",
              "commissions.plans[0].accelerators: accelerators apply above multiples of the quota");
    s_refused(fixture,
              "commissions:\n"
              "  plans:\n"
              "    - {name: a, rate: 0.1}\n"
              "    - {name: a, rate: 0.2}\n",
              "commissions.yaml:4: commissions.plans[1].name: duplicate plan \"a\"");
    s_refused(fixture,
              "commissions:\n"
              "  plans:\n"
              "    - {name: a, rate: 0.1, quota: 10, bonus: 3}\n",
              "commissions.plans[0].bonus: unknown key");
    s_refused(fixture,
              "commissions:\n"
              "  period: fortnight\n",
              "commissions.yaml:2: commissions.period");
    s_refused(fixture,
              "commissions:\n"
              "  plans:\n"
              "    - {name: a, rate: 0.1, quota: -5}\n",
              "commissions.plans[0].quota");
    s_refused(fixture, "commissions:\n  plans:\n    - {rate: 0.1}\n",
              "commissions.plans[0].name: required key is missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_loaded), cmocka_unit_test(test_tiers),
        cmocka_unit_test(test_plan_for),      cmocka_unit_test(test_periods_and_dates),
        cmocka_unit_test(test_report),        cmocka_unit_test(test_config_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
