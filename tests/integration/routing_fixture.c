/* routing_fixture.c — see routing_fixture.h. */
#include "routing_fixture.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"

/* routing.c's AVAIL_DAYS: the days of working windows written ahead. */
#define S_AVAIL_DAYS 8
#define S_OOO_MAX    8

static const char *s_or(const char *value, const char *fallback)
{
    return value ? value : fallback;
}

store_value_t *routing_fixture_call(store_t *store, int script, int64_t now, const char *op,
                                    int argc, const char *const *args)
{
    const char *argv[24];
    char now_text[24];
    assert_true(argc <= 21);
    snprintf(now_text, sizeof now_text, "%" PRId64, now);
    argv[0] = op;
    argv[1] = "t";
    argv[2] = now_text;
    for (int i = 0; i < argc; i++)
        argv[3 + i] = args[i];
    err_t err = {0};
    store_value_t *reply = store_script(store, script, 0, 3 + argc, argv, NULL, &err);
    if (!reply)
        fail_msg("routing.lua %s: %s", op, err.msg);
    if (reply->type == STORE_ERROR)
        fail_msg("routing.lua %s: %s", op, reply->str);
    return reply;
}

/* Calls OP and checks that it answered {1}. */
static void s_call_ok(store_t *store, int script, int64_t now, const char *op, int argc,
                      const char *const *args)
{
    store_value_t *reply = routing_fixture_call(store, script, now, op, argc, args);
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 1);
    store_value_free(&reply);
}

void routing_fixture_rep(store_t *store, int script, const routing_fixture_rep_t *rep)
{
    const char *args[] = {rep->id,
                          rep->id,
                          s_or(rep->capacity, "10"),
                          s_or(rep->status, "online"),
                          s_or(rep->queues, "q"),
                          s_or(rep->daily_cap, "0"),
                          s_or(rep->weekly_cap, "0"),
                          s_or(rep->weight, "1"),
                          s_or(rep->team, ""),
                          s_or(rep->skills, "")};
    s_call_ok(store, script, 0, "sync", 10, args);
}

void routing_fixture_queue(store_t *store, int script, const routing_fixture_queue_t *queue)
{
    const char *args[] = {queue->name,
                          s_or(queue->strategy, "round_robin"),
                          s_or(queue->sla_s, "0"),
                          s_or(queue->sla_bh, "0"),
                          s_or(queue->max_attempts, "3"),
                          s_or(queue->escalate_to, ""),
                          s_or(queue->overflow_after_s, "0"),
                          s_or(queue->overflow_to, ""),
                          s_or(queue->owner_first, "0"),
                          s_or(queue->owner_fallback, "queue"),
                          s_or(queue->catch_up, "0"),
                          s_or(queue->webhook, "")};
    s_call_ok(store, script, 0, "queue_sync", 12, args);
}

/* "t0,t1,..." into OUT (large enough: the callers size it). */
static void s_join_times(const int64_t *times, int count, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < count; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%" PRId64, i ? "," : "", times[i]);
}

void routing_fixture_hours(store_t *store, int script, int64_t now, const char *rep_id,
                           const char *tz, const char *weekday_hours, const cal_period_t *ooo,
                           size_t ooo_count)
{
    cal_week_t week = {0};
    err_t err = {0};
    if (weekday_hours) {
        week.any = true;
        for (int day = 0; day < 5; day++)
            if (cal_parse_day(weekday_hours, week.spans[day], &week.count[day], &err) < 0)
                fail_msg("hours %s: %s", weekday_hours, err.msg);
    }
    assert_true(ooo_count <= S_OOO_MAX);
    /* As routing_sync_availability: windows from the start of the local day. */
    int64_t days[S_AVAIL_DAYS + 1], weeks[3];
    char windows[CAL_WINDOWS_SIZE(S_AVAIL_DAYS, S_OOO_MAX)], ooo_text[S_OOO_MAX * 42 + 1];
    char days_text[(S_AVAIL_DAYS + 1) * 21], weeks_text[3 * 21];
    if (cal_day_starts(tz, now, S_AVAIL_DAYS + 1, days, &err) < 0 ||
        cal_week_starts(tz, now, 3, weeks, &err) < 0 ||
        cal_windows(tz, &week, ooo, ooo_count, days[0], S_AVAIL_DAYS, windows, sizeof windows,
                    &err) < 0)
        fail_msg("rep %s in %s: %s", rep_id, tz, err.msg);
    size_t used = 0;
    ooo_text[0] = '\0';
    for (size_t p = 0; p < ooo_count; p++)
        if (ooo[p].to_ms > now)
            used +=
                (size_t)snprintf(ooo_text + used, sizeof ooo_text - used, "%s%" PRId64 "-%" PRId64,
                                 used ? "," : "", ooo[p].from_ms, ooo[p].to_ms);
    s_join_times(days, S_AVAIL_DAYS + 1, days_text, sizeof days_text);
    s_join_times(weeks, 3, weeks_text, sizeof weeks_text);
    const char *args[] = {rep_id, windows, ooo_text, days_text, weeks_text};
    s_call_ok(store, script, now, "avail", 5, args);
}

void routing_fixture_next_week(const char *tz, int count, int64_t *days)
{
    int64_t weeks[2];
    err_t err = {0};
    if (cal_week_starts(tz, clock_now_ms(), 2, weeks, &err) < 0 ||
        cal_day_starts(tz, weeks[1], count, days, &err) < 0)
        fail_msg("days in %s: %s", tz, err.msg);
}

/* The commands that put LEAD_ID in flight from scoring with SCORE, as
 * apply.lua leaves it: ZADD to the in-flight set, then the lead's fields. */
static void s_in_flight(store_t *store, int64_t now, const char *lead_id, const char *score)
{
    err_t err = {0};
    store_value_t *r = store_command(store, &err, "ZADD t:inflight:routing %lld %s",
                                     (long long)now + 30000, lead_id);
    assert_int_equal(store_value_int(r, -1), 1);
    store_value_free(&r);
    r = store_command(store, &err, "HSET t:lead:%s ingested_at %lld score %s", lead_id,
                      (long long)now, score);
    assert_non_null(r);
    store_value_free(&r);
}

long long routing_fixture_route(store_t *store, int script, int64_t now, const char *lead_id,
                                const char *queue, const char *skills, const char *domains,
                                char *out)
{
    s_in_flight(store, now, lead_id, "10");
    const char *args[] = {lead_id, queue, "r1", "10", "1", "lead", skills, domains};
    store_value_t *reply = routing_fixture_call(store, script, now, "route", 8, args);
    long long outcome = store_value_int(store_value_at(reply, 0), -1);
    if (out) {
        /* {1, rep, ingested_at, why} | {2, ingested_at, reason} */
        const store_value_t *text = outcome == 1   ? store_value_at(reply, 1)
                                    : outcome == 2 ? store_value_at(reply, 2)
                                                   : NULL;
        snprintf(out, ROUTING_FIXTURE_TEXT_MAX, "%s", store_value_str(text, ""));
    }
    store_value_free(&reply);
    return outcome;
}

void routing_fixture_route_batch(store_batch_t *batch, int script, int64_t now, const char *lead_id,
                                 const char *queue)
{
    char deadline[24], now_text[24];
    snprintf(deadline, sizeof deadline, "%" PRId64, now + 30000);
    snprintf(now_text, sizeof now_text, "%" PRId64, now);
    const char *zadd[] = {"ZADD", "t:inflight:routing", deadline, lead_id};
    store_batch_command(batch, 4, zadd, NULL);
    char lead_key[128];
    snprintf(lead_key, sizeof lead_key, "t:lead:%s", lead_id);
    const char *hset[] = {"HSET", lead_key, "ingested_at", now_text, "score", "10"};
    store_batch_command(batch, 6, hset, NULL);
    const char *route[] = {"route", "t", now_text, lead_id, queue, "r1", "10", "1", "lead", "", ""};
    store_batch_script(batch, script, 0, 11, route, NULL);
}

json_t *routing_fixture_last_audit(store_t *store, const char *lead_id)
{
    err_t err = {0};
    store_value_t *r = store_command(store, &err, "LINDEX t:lead:%s:audit -1", lead_id);
    json_error_t why;
    json_t *record = json_loads(store_value_str(r, ""), 0, &why);
    if (!record)
        fail_msg("audit of %s: %s", lead_id, why.text);
    store_value_free(&r);
    return record;
}

long long routing_fixture_hget_int(store_t *store, const char *key, const char *field)
{
    err_t err = {0};
    store_value_t *r = store_command(store, &err, "HGET %s %s", key, field);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

void routing_fixture_hget(store_t *store, const char *key, const char *field, char *out,
                          size_t size)
{
    err_t err = {0};
    store_value_t *r = store_command(store, &err, "HGET %s %s", key, field);
    snprintf(out, size, "%s", store_value_str(r, ""));
    store_value_free(&r);
}
