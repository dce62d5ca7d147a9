/* calendar: working hours, out-of-office periods and local day/week starts
 * turned into UTC ms. Expected instants are fixed numbers worked out from
 * the IANA rules (Europe/Berlin: CET +1, CEST +2 from 2026-03-29 01:00Z to
 * 2026-10-25 01:00Z; America/Los_Angeles: PST -8, PDT -7 from 2026-03-08 to
 * 2026-11-01), never recomputed with the code under test. Every test runs
 * with TZ=Asia/Tokyo and checks afterwards that it is still in force. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "calendar.h"

#define HOUR_MS 3600000LL
#define DAY_MS  86400000LL

/* 2026-01-12 (Monday) 00:00 in Berlin = 2026-01-11T23:00Z. */
#define BERLIN_MON_2026_01_12 1768172400000LL
/* 2026-06-15 (Monday) 00:00 in Berlin = 2026-06-14T22:00Z. */
#define BERLIN_MON_2026_06_15 1781474400000LL

static int s_tokyo(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    return 0;
}

/* The caller's TZ must survive every call: Tokyo is UTC+9 without DST. */
static int s_still_tokyo(void **state)
{
    (void)state;
    const char *tz = getenv("TZ");
    assert_non_null(tz);
    assert_string_equal(tz, "Asia/Tokyo");
    time_t epoch = 0;
    struct tm local;
    assert_non_null(localtime_r(&epoch, &local));
    assert_int_equal(local.tm_hour, 9);
    return 0;
}

static void s_parse_fails(const char *text, const char *message_part)
{
    cal_span_t spans[CAL_SPANS_PER_DAY];
    int count = 99;
    err_t err = {0};
    assert_int_equal(cal_parse_day(text, spans, &count, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    assert_int_equal(count, 0);
    if (!strstr(err.msg, message_part))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, err.msg, message_part);
}

static void test_parse_day_good(void **state)
{
    (void)state;
    cal_span_t spans[CAL_SPANS_PER_DAY];
    int count = 0;
    err_t err = {0};
    assert_int_equal(cal_parse_day("09:00-12:00, 13:00-17:30", spans, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(spans[0].start_min, 540);
    assert_int_equal(spans[0].end_min, 720);
    assert_int_equal(spans[1].start_min, 780);
    assert_int_equal(spans[1].end_min, 1050);

    assert_int_equal(cal_parse_day("22:00-24:00", spans, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(spans[0].end_min, 1440);

    assert_int_equal(
        cal_parse_day(" 0:00 - 1:00,2:00-3:00,4:00-5:00 , 6:00-7:00 ", spans, &count, &err), 0);
    assert_int_equal(count, 4);
    assert_int_equal(spans[3].start_min, 360);

    count = 7;
    assert_int_equal(cal_parse_day("", spans, &count, &err), 0);
    assert_int_equal(count, 0);
    count = 7;
    assert_int_equal(cal_parse_day("off", spans, &count, &err), 0);
    assert_int_equal(count, 0);
    count = 7;
    assert_int_equal(cal_parse_day(" OFF ", spans, &count, &err), 0);
    assert_int_equal(count, 0);
}

static void test_parse_day_bad(void **state)
{
    (void)state;
    s_parse_fails("9-17", "span 1 \"9-17\": expected HH:MM-HH:MM");
    s_parse_fails("09:00-12:00, 13:00-17:3x", "span 2 \"13:00-17:3x\": expected HH:MM-HH:MM");
    s_parse_fails("09:00-12:00,", "span 2 is empty");
    s_parse_fails("09:00 12:00", "expected HH:MM-HH:MM");
    s_parse_fails("offf", "expected HH:MM-HH:MM");
    s_parse_fails("25:00-26:00", "span 1 \"25:00-26:00\": hour above 24 or minute above 59");
    s_parse_fails("09:60-10:00", "span 1 \"09:60-10:00\": hour above 24 or minute above 59");
    s_parse_fails("23:00-24:30", "hour above 24 or minute above 59");
    s_parse_fails("24:00-24:00", "span 1 \"24:00-24:00\": 24:00 is allowed only as an end");
    s_parse_fails("17:00-09:00", "span 1 \"17:00-09:00\": ends at or before its start");
    s_parse_fails("22:00-02:00", "split overnight hours");
    s_parse_fails("09:00-09:00", "ends at or before its start");
    s_parse_fails("09:00-12:00, 11:00-13:00", "span 2 \"11:00-13:00\": must start after span 1");
    s_parse_fails("09:00-12:00, 12:00-13:00", "span 2 \"12:00-13:00\": must start after span 1");
    s_parse_fails("13:00-14:00, 09:00-12:00", "span 2 \"09:00-12:00\": must start after span 1");
    s_parse_fails("01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00",
                  "span 5 \"09:00-10:00\": more than 4 spans");
}

static void test_tz_valid(void **state)
{
    (void)state;
    assert_true(cal_tz_valid("Europe/Berlin"));
    assert_true(cal_tz_valid("America/Los_Angeles"));
    assert_true(cal_tz_valid("UTC"));
    assert_false(cal_tz_valid("Mars/Olympus"));
    assert_false(cal_tz_valid("../etc/passwd"));
    assert_false(cal_tz_valid("Europe/../Europe/Berlin"));
    assert_false(cal_tz_valid("/usr/share/zoneinfo/Europe/Berlin"));
    assert_false(cal_tz_valid(":Europe/Berlin"));
    assert_false(cal_tz_valid("CET-1CEST,M3.5.0,M10.5.0/3"));
    assert_false(cal_tz_valid("Europe")); /* a directory */
    assert_false(cal_tz_valid(""));
    assert_false(cal_tz_valid(NULL));
}

static void test_day_starts_berlin_dst(void **state)
{
    (void)state;
    int64_t starts[3];
    err_t err = {0};
    /* From Saturday 2026-03-28 12:00 Berlin (11:00Z): spring forward on the 29th. */
    int64_t from = 1774652400000LL + 12 * HOUR_MS;
    assert_int_equal(cal_day_starts("Europe/Berlin", from, 3, starts, &err), 0);
    assert_true(starts[0] == 1774652400000LL); /* 2026-03-27T23:00Z */
    assert_true(starts[1] == 1774738800000LL); /* 2026-03-28T23:00Z */
    assert_true(starts[2] == 1774821600000LL); /* 2026-03-29T22:00Z */
    assert_true(starts[0] <= from && from < starts[1]);
    assert_true(starts[1] - starts[0] == 24 * HOUR_MS);
    assert_true(starts[2] - starts[1] == 23 * HOUR_MS);

    /* From the first instant of 2026-10-24: fall back on the 25th. */
    assert_int_equal(cal_day_starts("Europe/Berlin", 1792792800000LL, 3, starts, &err), 0);
    assert_true(starts[0] == 1792792800000LL); /* 2026-10-23T22:00Z */
    assert_true(starts[1] == 1792879200000LL); /* 2026-10-24T22:00Z */
    assert_true(starts[2] == 1792969200000LL); /* 2026-10-25T23:00Z */
    assert_true(starts[2] - starts[1] == 25 * HOUR_MS);

    /* One ms before a midnight still belongs to the day before. */
    assert_int_equal(cal_day_starts("Europe/Berlin", 1792879200000LL - 1, 1, starts, &err), 0);
    assert_true(starts[0] == 1792792800000LL);
}

static void test_day_starts_los_angeles_dst(void **state)
{
    (void)state;
    int64_t starts[3];
    err_t err = {0};
    /* From 2026-03-07 20:00 PST = 2026-03-08T04:00Z, already the 8th in UTC. */
    int64_t from = 1772870400000LL + 20 * HOUR_MS;
    assert_int_equal(cal_day_starts("America/Los_Angeles", from, 3, starts, &err), 0);
    assert_true(starts[0] == 1772870400000LL); /* 2026-03-07T08:00Z */
    assert_true(starts[1] == 1772956800000LL); /* 2026-03-08T08:00Z */
    assert_true(starts[2] == 1773039600000LL); /* 2026-03-09T07:00Z */
    assert_true(starts[2] - starts[1] == 23 * HOUR_MS);

    assert_int_equal(cal_day_starts("America/Los_Angeles", 1793430000000LL, 3, starts, &err), 0);
    assert_true(starts[0] == 1793430000000LL); /* 2026-10-31T07:00Z */
    assert_true(starts[1] == 1793516400000LL); /* 2026-11-01T07:00Z */
    assert_true(starts[2] == 1793606400000LL); /* 2026-11-02T08:00Z */
    assert_true(starts[2] - starts[1] == 25 * HOUR_MS);
}

static void test_day_starts_bad_input(void **state)
{
    (void)state;
    int64_t starts[1];
    err_t err = {0};
    assert_int_equal(cal_day_starts("Mars/Olympus", 0, 1, starts, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    assert_non_null(strstr(err.msg, "unknown time zone \"Mars/Olympus\""));
    assert_int_equal(cal_day_starts("UTC", 0, 0, starts, &err), -1);
    assert_non_null(strstr(err.msg, "day count 0"));
}

static void test_week_starts_are_mondays(void **state)
{
    (void)state;
    int64_t starts[3];
    err_t err = {0};
    /* Wednesday 2026-03-25 in Berlin: weeks of Mon 23 (CET), Mon 30 (CEST), Mon Apr 6. */
    int64_t from = 1774652400000LL - 3 * DAY_MS + 10 * HOUR_MS;
    assert_int_equal(cal_week_starts("Europe/Berlin", from, 3, starts, &err), 0);
    assert_true(starts[0] == 1774652400000LL - 5 * DAY_MS); /* 2026-03-22T23:00Z */
    assert_true(starts[1] == 1774821600000LL);              /* 2026-03-29T22:00Z */
    assert_true(starts[2] == starts[1] + 7 * DAY_MS);
    assert_true(starts[1] - starts[0] == 7 * DAY_MS - HOUR_MS);

    /* Monday midnight itself opens its week; Sunday 23:59 is the one before. */
    assert_int_equal(cal_week_starts("Europe/Berlin", BERLIN_MON_2026_01_12, 1, starts, &err), 0);
    assert_true(starts[0] == BERLIN_MON_2026_01_12);
    assert_int_equal(
        cal_week_starts("Europe/Berlin", BERLIN_MON_2026_01_12 - 60000, 1, starts, &err), 0);
    assert_true(starts[0] == BERLIN_MON_2026_01_12 - 7 * DAY_MS);

    /* Wednesday 2026-06-10 13:45Z is still Wednesday morning in Los Angeles:
     * the week began Monday 2026-06-08 00:00 PDT = 07:00Z. */
    assert_int_equal(cal_week_starts("America/Los_Angeles", 1781099100000LL, 1, starts, &err), 0);
    assert_true(starts[0] == 1781099100000LL - 2 * DAY_MS - 6 * HOUR_MS - 45 * 60000);
}

static void test_parse_local(void **state)
{
    (void)state;
    int64_t ms = 0;
    err_t err = {0};
    assert_int_equal(cal_parse_local("Europe/Berlin", "2026-12-24", false, &ms, &err), 0);
    assert_true(ms == 1798066800000LL); /* 2026-12-23T23:00Z */
    assert_int_equal(cal_parse_local("Europe/Berlin", "2026-12-24", true, &ms, &err), 0);
    assert_true(ms == 1798153200000LL); /* 2026-12-24T23:00Z */
    assert_int_equal(cal_parse_local("Europe/Berlin", "2026-12-24T13:30", false, &ms, &err), 0);
    assert_true(ms == 1798115400000LL); /* 12:30Z */
    assert_int_equal(cal_parse_local("Europe/Berlin", "2026-12-24 13:30", true, &ms, &err), 0);
    assert_true(ms == 1798115400000LL);
    /* Spring-forward gap: 02:30 does not exist, mktime moves it to 03:30 CEST. */
    assert_int_equal(cal_parse_local("Europe/Berlin", "2026-03-29T02:30", false, &ms, &err), 0);
    assert_true(ms == 1774747800000LL); /* 01:30Z */
    /* Fall-back hour: 02:30 happens twice, the earlier (CEST) is taken. */
    assert_int_equal(cal_parse_local("Europe/Berlin", "2026-10-25T02:30", false, &ms, &err), 0);
    assert_true(ms == 1792888200000LL); /* 00:30Z */

    static const char *const bad[] = {
        "2026-02-29",          "2026-13-01",       "2026-04-31",
        "2026-12-24T24:00",    "2026-12-24T12:60", "2026-12-24X13:30",
        "2026-12-24T1:30",     "24.12.2026",       "",
        "2026-12-24T13:30:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&err);
        if (cal_parse_local("Europe/Berlin", bad[i], false, &ms, &err) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(err.code, ERR_INPUT);
        assert_non_null(strstr(err.msg, "local time"));
    }
    assert_int_equal(cal_parse_local("Mars/Olympus", "2026-12-24", false, &ms, &err), -1);
    assert_non_null(strstr(err.msg, "unknown time zone"));
}

/* 09:00-17:00 Monday to Friday, weekends off. */
static cal_week_t s_office_week(void)
{
    cal_week_t week = {.any = true};
    err_t err = {0};
    for (int day = 0; day < 7; day++)
        assert_int_equal(
            cal_parse_day(day < 5 ? "09:00-17:00" : "off", week.spans[day], &week.count[day], &err),
            0);
    return week;
}

static void s_assert_windows(const char *tz, const cal_week_t *week, const cal_period_t *ooo,
                             size_t ooo_count, int64_t from_ms, int days, const char *expected)
{
    char out[CAL_WINDOWS_SIZE(CAL_DAYS_MAX, 4)];
    err_t err = {0};
    if (cal_windows(tz, week, ooo, ooo_count, from_ms, days, out, sizeof out, &err) != 0)
        fail_msg("cal_windows: %s", err.msg);
    assert_string_equal(out, expected);
}

static void test_windows_berlin_winter_and_summer(void **state)
{
    (void)state;
    cal_week_t week = s_office_week();
    /* Winter: 09:00-17:00 CET = 08:00-16:00Z, Monday 2026-01-12 to Friday. */
    s_assert_windows("Europe/Berlin", &week, NULL, 0, BERLIN_MON_2026_01_12, 7,
                     "1768204800000-1768233600000,1768291200000-1768320000000,"
                     "1768377600000-1768406400000,1768464000000-1768492800000,"
                     "1768550400000-1768579200000");
    /* Summer: 09:00-17:00 CEST = 07:00-15:00Z, Monday 2026-06-15 to Friday. */
    s_assert_windows("Europe/Berlin", &week, NULL, 0, BERLIN_MON_2026_06_15, 7,
                     "1781506800000-1781535600000,1781593200000-1781622000000,"
                     "1781679600000-1781708400000,1781766000000-1781794800000,"
                     "1781852400000-1781881200000");
    /* Friday 2026-03-27 to Monday 2026-03-30 across the change: Friday at
     * 08:00-16:00Z, nothing at the weekend, Monday at 07:00-15:00Z. */
    s_assert_windows("Europe/Berlin", &week, NULL, 0, 1774566000000LL, 4,
                     "1774598400000-1774627200000,1774854000000-1774882800000");
    /* A weekend alone: never works. */
    s_assert_windows("Europe/Berlin", &week, NULL, 0, BERLIN_MON_2026_01_12 + 5 * DAY_MS, 2, "");
}

static void test_windows_clip_at_range(void **state)
{
    (void)state;
    cal_week_t week = s_office_week();
    /* From Monday 2026-01-12 09:00Z for one day: Monday's rest, Tuesday cut at 09:00Z. */
    s_assert_windows("Europe/Berlin", &week, NULL, 0, 1768204800000LL + HOUR_MS, 1,
                     "1768208400000-1768233600000,1768291200000-1768294800000");
}

static void test_windows_out_of_office(void **state)
{
    (void)state;
    cal_week_t week = s_office_week();
    err_t err = {0};
    cal_period_t ooo;
    /* Away from Tuesday 12:00 through Wednesday: Tuesday ends at 11:00Z. */
    assert_int_equal(
        cal_parse_local("Europe/Berlin", "2026-01-13T12:00", false, &ooo.from_ms, &err), 0);
    assert_int_equal(cal_parse_local("Europe/Berlin", "2026-01-14", true, &ooo.to_ms, &err), 0);
    s_assert_windows("Europe/Berlin", &week, &ooo, 1, BERLIN_MON_2026_01_12, 7,
                     "1768204800000-1768233600000,1768291200000-1768302000000,"
                     "1768464000000-1768492800000,1768550400000-1768579200000");

    /* Away the whole week: never works. */
    cal_period_t away = {BERLIN_MON_2026_01_12 - DAY_MS, BERLIN_MON_2026_01_12 + 8 * DAY_MS};
    s_assert_windows("Europe/Berlin", &week, &away, 1, BERLIN_MON_2026_01_12, 7, "");

    /* An OOO period inside one window splits it; an empty period changes nothing. */
    cal_period_t split[2] = {
        {1768204800000LL + HOUR_MS, 1768204800000LL + 2 * HOUR_MS},
        {1768204800000LL + 5 * HOUR_MS, 1768204800000LL + 5 * HOUR_MS},
    };
    s_assert_windows("Europe/Berlin", &week, split, 2, BERLIN_MON_2026_01_12, 1,
                     "1768204800000-1768208400000,1768212000000-1768233600000");
}

static void test_windows_any_time(void **state)
{
    (void)state;
    cal_week_t anytime = {.any = false};
    s_assert_windows("Europe/Berlin", &anytime, NULL, 0, BERLIN_MON_2026_01_12, 7, "*");
    /* OOO periods outside the range, or ending where it starts, leave "*". */
    cal_period_t outside[2] = {
        {BERLIN_MON_2026_01_12 - DAY_MS, BERLIN_MON_2026_01_12},
        {BERLIN_MON_2026_01_12 + 7 * DAY_MS, BERLIN_MON_2026_01_12 + 8 * DAY_MS},
    };
    s_assert_windows("Europe/Berlin", &anytime, outside, 2, BERLIN_MON_2026_01_12, 7, "*");
    /* One inside cuts the whole range in two. */
    cal_period_t inside = {BERLIN_MON_2026_01_12 + DAY_MS, BERLIN_MON_2026_01_12 + 2 * DAY_MS};
    s_assert_windows("Europe/Berlin", &anytime, &inside, 1, BERLIN_MON_2026_01_12, 7,
                     "1768172400000-1768258800000,1768345200000-1768777200000");
    cal_period_t all = {0, INT64_MAX};
    s_assert_windows("Europe/Berlin", &anytime, &all, 1, BERLIN_MON_2026_01_12, 7, "");
}

static void test_windows_los_angeles_across_utc_midnight(void **state)
{
    (void)state;
    cal_week_t week = {.any = true};
    err_t err = {0};
    for (int day = 0; day < 5; day++)
        assert_int_equal(cal_parse_day("10:00-18:00", week.spans[day], &week.count[day], &err), 0);
    /* From Tuesday 2026-06-16T00:00Z for one day: Monday's 10:00-18:00 PDT
     * (17:00Z-01:00Z) spills into it, and Tuesday's window runs to its end. */
    s_assert_windows("America/Los_Angeles", &week, NULL, 0, 1781568000000LL, 1,
                     "1781568000000-1781571600000,1781629200000-1781654400000");
    /* Two days: Tuesday's window crosses UTC midnight whole. */
    s_assert_windows("America/Los_Angeles", &week, NULL, 0, 1781568000000LL, 2,
                     "1781568000000-1781571600000,1781629200000-1781658000000,"
                     "1781715600000-1781740800000");
}

static void test_windows_merge_overnight(void **state)
{
    (void)state;
    cal_week_t week = {.any = true};
    err_t err = {0};
    assert_int_equal(cal_parse_day("22:00-24:00", week.spans[0], &week.count[0], &err), 0);
    assert_int_equal(cal_parse_day("00:00-02:00", week.spans[1], &week.count[1], &err), 0);
    /* Monday 22:00 to Tuesday 02:00 CET is one window, 21:00Z-01:00Z. */
    s_assert_windows("Europe/Berlin", &week, NULL, 0, BERLIN_MON_2026_01_12, 7,
                     "1768251600000-1768266000000");
}

static void test_windows_small_buffer(void **state)
{
    (void)state;
    cal_week_t week = s_office_week();
    char out[40];
    err_t err = {0};
    assert_int_equal(cal_windows("Europe/Berlin", &week, NULL, 0, BERLIN_MON_2026_01_12, 7, out,
                                 sizeof out, &err),
                     -1);
    assert_int_equal(err.code, ERR_INPUT);
    assert_string_equal(err.msg, "windows need 140 bytes, the buffer holds 40");
    assert_string_equal(out, "");
    cal_week_t anytime = {.any = false};
    assert_int_equal(cal_windows("UTC", &anytime, NULL, 0, BERLIN_MON_2026_01_12, 7, out, 1, &err),
                     -1);
    assert_int_equal(cal_windows("UTC", &anytime, NULL, 0, BERLIN_MON_2026_01_12, 7, out, 2, &err),
                     0);
    assert_string_equal(out, "*");
    assert_int_equal(
        cal_windows("Mars/Olympus", &week, NULL, 0, BERLIN_MON_2026_01_12, 7, out, 40, &err), -1);
    assert_non_null(strstr(err.msg, "unknown time zone"));
}

static void test_windows_contain(void **state)
{
    (void)state;
    const char *windows = "1000-2000,3000-4000";
    assert_false(cal_windows_contain(windows, 999));
    assert_true(cal_windows_contain(windows, 1000));
    assert_true(cal_windows_contain(windows, 1999));
    assert_false(cal_windows_contain(windows, 2000));
    assert_false(cal_windows_contain(windows, 2999));
    assert_true(cal_windows_contain(windows, 3000));
    assert_false(cal_windows_contain(windows, 4000));
    assert_true(cal_windows_contain("*", INT64_MIN));
    assert_false(cal_windows_contain("", 1500));
    assert_false(cal_windows_contain("1000-x", 1500));
    assert_true(cal_windows_contain("1768204800000-1768233600000", 1768204800000LL));
    assert_false(cal_windows_contain("1768204800000-1768233600000", 1768233600000LL));
}

/* With TZ unset before, it is unset after (the teardown covers Tokyo). */
static void test_tz_unset_stays_unset(void **state)
{
    (void)state;
    unsetenv("TZ");
    tzset();
    int64_t starts[1];
    err_t err = {0};
    assert_int_equal(cal_day_starts("Europe/Berlin", 0, 1, starts, &err), 0);
    assert_null(getenv("TZ"));
    assert_int_equal(cal_day_starts("Mars/Olympus", 0, 1, starts, &err), -1);
    assert_null(getenv("TZ"));
    s_tokyo(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_day_good, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_parse_day_bad, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_tz_valid, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_day_starts_berlin_dst, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_day_starts_los_angeles_dst, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_day_starts_bad_input, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_week_starts_are_mondays, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_parse_local, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_berlin_winter_and_summer, s_tokyo,
                                        s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_clip_at_range, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_out_of_office, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_any_time, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_los_angeles_across_utc_midnight, s_tokyo,
                                        s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_merge_overnight, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_small_buffer, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_windows_contain, s_tokyo, s_still_tokyo),
        cmocka_unit_test_setup_teardown(test_tz_unset_stays_unset, s_tokyo, s_still_tokyo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
