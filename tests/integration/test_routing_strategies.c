/* The routing engine (routing.lua) against a real Redis, its strategies
 * and who can take a lead: each strategy and how it breaks ties, fairness
 * over 10,000 leads, capacity and daily/weekly caps counted in a rep's local
 * days, working hours in another time zone, out of office, away and
 * offline, required skills, waiting with a reason and overflow. Times of
 * day are simulated through the script's `now`; the shared set-up and
 * helpers are in engine_fixture.h. */
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "calendar.h"
#include "engine_fixture.h"
#include "store.h"

/* ------------------------------------------------------------- strategies */

/* Round robin: least recently assigned first, ties at the start by rep id;
 * a rep new to the queue joins at the back, behind the rep served last
 * even when its id sorts before that rep's. */
static void test_round_robin_least_recently_assigned(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "cy"});
    const char *first[] = {"ana", "ben", "cy", "ana", "ben", "cy"};
    engine_expect_sequence(ctx, now, "q", first, 6);
    engine_assert_field(ctx, "t:lead:L1", "why", "next in round robin");

    engine_rep(ctx, (routing_fixture_rep_t){.id = "al"}); /* "al" < "cy", served last */
    const char *then[] = {"ana", "ben", "cy", "al", "ana"};
    engine_expect_sequence(ctx, now, "q", then, 5);
}

/* A rep back from offline is first in line, gets one lead and goes to the
 * back: no burst to make up for the time away. */
static void test_round_robin_rep_back_from_offline_gets_one_lead(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "cy"});
    assert_int_equal(engine_set_rep(ctx, now, "ana", "status", "offline"), 0);
    const char *away[] = {"ben", "cy", "ben", "cy"};
    engine_expect_sequence(ctx, now, "q", away, 4);
    assert_int_equal(engine_set_rep(ctx, now, "ana", "status", "online"), 0);
    const char *back[] = {"ana", "ben", "cy", "ana", "ben", "cy"};
    engine_expect_sequence(ctx, now, "q", back, 6);
}

/* With catch_up the queue counts leads per rep: a rep back from an absence
 * gets leads until it has as many as the others, ties by round robin. */
static void test_round_robin_catch_up(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q", .catch_up = "1"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "cy"});
    engine_set_rep(ctx, now, "ana", "status", "offline");
    const char *away[] = {"ben", "cy", "ben", "cy"};
    engine_expect_sequence(ctx, now, "q", away, 4);
    engine_set_rep(ctx, now, "ana", "status", "online");
    const char *back[] = {"ana", "ana", "ben", "cy", "ana", "ben"};
    engine_expect_sequence(ctx, now, "q", back, 6);
    engine_assert_field(ctx, "t:lead:L10", "why", "fewest leads of the queue (3), 3 eligible");
    assert_int_equal(engine_int(ctx, "t:queue:q:count", "ana"), 3);
    assert_int_equal(engine_int(ctx, "t:queue:q:count", "ben"), 4);
    assert_int_equal(engine_int(ctx, "t:queue:q:count", "cy"), 3);
}

/* Weighted round robin (stride scheduling), weights 3:1 over 400 leads:
 * exactly 300 and 100, and every four leads in a row hold exactly one of the
 * light rep's. */
static void test_weighted_three_to_one(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "w", .strategy = "weighted"});
    engine_rep(ctx, (routing_fixture_rep_t){
                        .id = "ana", .capacity = "1000", .queues = "w", .weight = "3"});
    engine_rep(ctx, (routing_fixture_rep_t){
                        .id = "ben", .capacity = "1000", .queues = "w", .weight = "1"});
    enum { LEADS = 400 };
    store_batch_t *batch = store_batch_new();
    for (int i = 0; i < LEADS; i++) {
        char lead[32];
        snprintf(lead, sizeof lead, "W%d", i);
        routing_fixture_route_batch(batch, ctx->script, now, lead, "w");
    }
    err_t err = {0};
    assert_int_equal(store_batch_exec(ctx->store, batch, &err), 0);
    bool heavy[LEADS];
    int heavy_count = 0;
    for (int i = 0; i < LEADS; i++) {
        const store_value_t *r = store_batch_reply(batch, 3 * (size_t)i + 2);
        assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
        const char *rep = store_value_str(store_value_at(r, 1), "");
        assert_true(strcmp(rep, "ana") == 0 || strcmp(rep, "ben") == 0);
        heavy[i] = strcmp(rep, "ana") == 0;
        heavy_count += heavy[i];
    }
    store_batch_destroy(&batch);
    assert_int_equal(heavy_count, 300);
    assert_int_equal(engine_int(ctx, "t:rep:ben", "open"), 100);
    /* Deterministic from the first lead: equal passes go to the first id. */
    const bool pattern[] = {true, false, true, true};
    for (int i = 0; i < 4; i++)
        assert_int_equal(heavy[i], pattern[i]);
    for (int i = 0; i + 4 <= LEADS; i++) {
        int light = !heavy[i] + !heavy[i + 1] + !heavy[i + 2] + !heavy[i + 3];
        if (light != 1)
            fail_msg("leads %d..%d: %d of ben's, not 1: not smooth", i, i + 3, light);
    }
    /* 300 strides of 720720 / 3 and 100 of 720720: the passes meet. */
    char want[32];
    snprintf(want, sizeof want, "%lld", 300LL * 240240);
    store_value_t *r = redis_fixture_cmd(ctx->store, "ZSCORE", "t:queue:w:pass", "ana", NULL);
    assert_string_equal(store_value_str(r, ""), want);
    store_value_free(&r);
    r = redis_fixture_cmd(ctx->store, "ZSCORE", "t:queue:w:pass", "ben", NULL);
    assert_string_equal(store_value_str(r, ""), want);
    store_value_free(&r);
}

/* A weighted rep back from an absence takes its share from then on, not
 * the turns it missed: one lead, then its turn again. */
static void test_weighted_rep_back_from_absence_gets_no_burst(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "w", .strategy = "weighted"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "100", .queues = "w"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "100", .queues = "w"});
    assert_int_equal(engine_set_rep(ctx, now, "ben", "status", "away"), 0);
    const char *away[] = {"ana", "ana", "ana", "ana", "ana", "ana"};
    engine_expect_sequence(ctx, now, "w", away, 6);
    engine_assert_field(ctx, "t:lead:L6", "why",
                        "weighted round robin, weight 1, after 1 excluded");
    assert_int_equal(engine_set_rep(ctx, now, "ben", "status", "online"), 0);
    const char *back[] = {"ben", "ana", "ben", "ana", "ben", "ana"};
    engine_expect_sequence(ctx, now, "w", back, 6);
    /* A rep new to the queue starts at its virtual time too (ties by id). */
    engine_rep(ctx, (routing_fixture_rep_t){.id = "cy", .capacity = "100", .queues = "w"});
    const char *joined[] = {"ben", "cy", "ana", "ben", "cy", "ana"};
    engine_expect_sequence(ctx, now, "w", joined, 6);
}

/* Least loaded by open / capacity, ties to the least recently assigned. */
static void test_least_loaded(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q", .strategy = "least_loaded"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "10"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "2"});
    /* ana 0/10 = ben 0/2: by id; then ben 0/2; ana below 1/2 up to 5/10;
     * 5/10 = 1/2: ben, served less recently; ben full: ana to 10/10. */
    const char *want[] = {"ana", "ben", "ana", "ana", "ana", "ana",
                          "ben", "ana", "ana", "ana", "ana", "ana"};
    engine_expect_sequence(ctx, now, "q", want, 12);
    engine_assert_field(ctx, "t:lead:L1", "why", "least loaded: 0 of 10 open");
    engine_assert_field(ctx, "t:lead:L4", "why", "least loaded: 2 of 10 open");
    engine_expect_waiting(ctx, now, "L13", "q", "", "no eligible rep: 2 at_capacity");
    assert_int_equal(engine_int(ctx, "t:rep:ana", "open"), 10);
    assert_int_equal(engine_int(ctx, "t:rep:ben", "open"), 2);
}

/* A least_loaded queue keeps its reps ordered by load (its index), and the
 * order follows what changes a load: an assignment, a close, a capacity
 * set by command, a rep leaving the queue. */
static void test_least_loaded_index_follows_the_loads(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q", .strategy = "least_loaded"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "4"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "4"});
    const char *first[] = {"ana", "ben", "ana", "ben"}; /* L1..L4 */
    engine_expect_sequence(ctx, now, "q", first, 4);
    /* ana closes L1: 1 of 4 against ben's 2 of 4. */
    store_value_t *r = engine_op(ctx, now, "close", 4, "ana", "L1", "won", "0");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    store_value_free(&r);
    const char *after_close[] = {"ana", "ben"}; /* then 2/4 each: ben served less recently */
    engine_expect_sequence(ctx, now, "q", after_close, 2);
    /* ben 3 of 8 now, below ana's 2 of 4. */
    assert_int_equal(engine_set_rep(ctx, now, "ben", "capacity", "8"), 0);
    const char *after_capacity[] = {"ben", "ana", "ben"}; /* 4/8 = 2/4: ana's turn */
    engine_expect_sequence(ctx, now, "q", after_capacity, 3);
    assert_int_equal(engine_count(ctx, "ZCARD", "t:queue:q:load"), 2);
    /* ben leaves the queue: out of its index; ana takes what she can. */
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "8", .queues = "other"});
    assert_int_equal(engine_count(ctx, "ZCARD", "t:queue:q:load"), 1);
    const char *alone[] = {"ana"};
    engine_expect_sequence(ctx, now, "q", alone, 1);
    engine_expect_waiting(ctx, now, "L99", "q", "", "no eligible rep: 1 at_capacity");
    /* The queue's index is built again from its members by queue_sync. */
    r = redis_fixture_cmd(ctx->store, "DEL", "t:queue:q:load", NULL);
    store_value_free(&r);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q", .strategy = "least_loaded"});
    assert_int_equal(engine_count(ctx, "ZCARD", "t:queue:q:load"), 1);
}

/* Round robin over 10,000 leads with every rep eligible: equal within one. */
static void test_round_robin_even_over_10000_leads(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    enum { REPS = 7, LEADS = 10000, BATCH = 500 };
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    for (int r = 0; r < REPS; r++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", r);
        engine_rep(ctx, (routing_fixture_rep_t){.id = id, .capacity = "100000"});
    }
    store_batch_t *batch = store_batch_new();
    err_t err = {0};
    for (int start = 0; start < LEADS; start += BATCH) {
        store_batch_reset(batch);
        for (int i = start; i < start + BATCH; i++) {
            char lead[32];
            snprintf(lead, sizeof lead, "E%d", i);
            routing_fixture_route_batch(batch, ctx->script, now, lead, "q");
        }
        assert_int_equal(store_batch_exec(ctx->store, batch, &err), 0);
        for (size_t i = 0; i < BATCH; i++)
            assert_int_equal(
                store_value_int(store_value_at(store_batch_reply(batch, 3 * i + 2), 0), -1), 1);
    }
    store_batch_destroy(&batch);
    long long least = LEADS, most = 0, total = 0;
    for (int r = 0; r < REPS; r++) {
        char key[32];
        snprintf(key, sizeof key, "t:rep:r%d", r);
        long long n = engine_int(ctx, key, "assigned_total");
        least = n < least ? n : least;
        most = n > most ? n : most;
        total += n;
    }
    assert_int_equal(total, LEADS);
    assert_int_equal(least, LEADS / REPS);    /* 1428 */
    assert_int_equal(most, LEADS / REPS + 1); /* 10,000 = 7 * 1428 + 4 */
}

/* ------------------------------------------------------ capacity and caps */

/* A rep at its daily cap gets nothing more until its next local day starts
 * (not UTC's), and nothing past its weekly cap until its next local week. */
static void test_daily_and_weekly_caps_reset_in_local_time(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0); /* a Monday */
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){
                        .id = "la", .capacity = "100", .daily_cap = "3", .weekly_cap = "5"});
    engine_any_hours(ctx, now, "la");
    const char *mon[] = {"la", "la", "la"};
    engine_expect_sequence(ctx, now, "q", mon, 3);
    engine_expect_waiting(ctx, now, "L4", "q", "", "no eligible rep: 1 daily_cap");
    engine_expect_waiting(ctx, now, "L5", "q", "", "no eligible rep: 1 daily_cap");
    engine_assert_field(ctx, "t:lead:L4", "waiting_reason", "no eligible rep: 1 daily_cap");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L4");
    engine_assert_candidates(audit, (const char *[]){"la"}, (const char *[]){"daily_cap"}, 1);
    assert_string_equal(engine_json_str(audit, "outcome"), "waiting");
    json_decref(audit);

    int64_t tuesday = ctx->day[1];
    /* Midnight UTC is still Monday afternoon in Los Angeles. */
    int64_t utc_midnight = (ctx->day[0] / 86400000 + 1) * 86400000;
    assert_true(utc_midnight < tuesday);
    engine_expect_drain(ctx, utc_midnight, "q", NULL, 0);
    engine_expect_drain(ctx, tuesday - 1, "q", NULL, 0);
    engine_expect_drain(ctx, tuesday, "q", (const char *[]){"L4", "L5"}, 2);
    engine_expect_waiting(ctx, tuesday, "L6", "q", "", "no eligible rep: 1 weekly_cap");

    int64_t next_monday = ctx->day[7];
    engine_expect_drain(ctx, next_monday - 1, "q", NULL, 0);
    engine_expect_drain(ctx, next_monday, "q", (const char *[]){"L6"}, 1);

    /* The counters behind it, one per local day and week. */
    char key[64];
    snprintf(key, sizeof key, "t:rep:la:day:%" PRId64, ctx->day[0]);
    assert_int_equal(engine_count(ctx, "GET", key), 3);
    snprintf(key, sizeof key, "t:rep:la:day:%" PRId64, tuesday);
    assert_int_equal(engine_count(ctx, "GET", key), 2);
    snprintf(key, sizeof key, "t:rep:la:week:%" PRId64, ctx->day[0]);
    assert_int_equal(engine_count(ctx, "GET", key), 5);
    assert_int_equal(engine_int(ctx, "t:rep:la", "open"), 6);
}

/* 200 leads at once into reps limited by capacity or by daily cap: each
 * takes exactly its limit; then, closing every lead they hold until none
 * is left, the capped reps stop at their caps and the uncapped rep takes
 * the rest. */
static void test_caps_hold_under_bulk_load(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    enum { REPS = 4, LEADS = 200 };
    const char *ids[REPS] = {"b0", "b1", "b2", "b3"};
    const char *capacity[REPS] = {"3", "50", "7", "100"};
    const char *daily[REPS] = {"10", "4", "0", "6"};
    const long long first[REPS] = {3, 4, 7, 6}, total[REPS] = {10, 4, 180, 6};
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    for (int r = 0; r < REPS; r++) {
        engine_rep(ctx, (routing_fixture_rep_t){
                            .id = ids[r], .capacity = capacity[r], .daily_cap = daily[r]});
        engine_any_hours(ctx, now, ids[r]);
    }
    store_batch_t *batch = store_batch_new();
    for (int i = 0; i < LEADS; i++) {
        char lead[32];
        snprintf(lead, sizeof lead, "B%d", i);
        routing_fixture_route_batch(batch, ctx->script, now, lead, "q");
    }
    err_t err = {0};
    assert_int_equal(store_batch_exec(ctx->store, batch, &err), 0);
    store_batch_destroy(&batch);
    for (int r = 0; r < REPS; r++) {
        char key[32];
        snprintf(key, sizeof key, "t:rep:%s", ids[r]);
        assert_int_equal(engine_int(ctx, key, "open"), first[r]);
    }
    assert_int_equal(engine_count(ctx, "ZCARD", "t:queue:q:waiting"), LEADS - 20);

    /* Close what each holds (each close pulls the best waiting lead the rep
     * may take) until nobody holds anything. */
    for (bool held = true; held;) {
        held = false;
        for (int r = 0; r < REPS; r++) {
            char key[32];
            snprintf(key, sizeof key, "t:rep:%s:leads", ids[r]);
            store_value_t *leads = redis_fixture_cmd(ctx->store, "SMEMBERS", key, NULL);
            for (size_t i = 0; i < leads->count; i++) {
                store_value_t *c =
                    engine_op(ctx, now, "close", 4, ids[r], leads->elements[i]->str, "won", "1");
                assert_int_equal(store_value_int(store_value_at(c, 0), -1), 1);
                store_value_free(&c);
                held = true;
            }
            store_value_free(&leads);
        }
    }
    for (int r = 0; r < REPS; r++) {
        char key[32];
        snprintf(key, sizeof key, "t:rep:%s", ids[r]);
        assert_int_equal(engine_int(ctx, key, "assigned_total"), total[r]);
        assert_int_equal(engine_int(ctx, key, "open"), 0);
    }
    assert_int_equal(engine_int(ctx, "t:stats", "closed"), LEADS);
    assert_int_equal(engine_count(ctx, "ZCARD", "t:queue:q:waiting"), 0);
}

/* --------------------------------------------------- hours and availability */

/* A rep in Los Angeles working 09:00-17:00 Monday to Friday: excluded
 * (out_of_hours) before 09:00 and from 17:00 local time and at weekends,
 * taking leads in between. */
static void test_working_hours_in_another_time_zone(void **state)
{
    engine_ctx_t *ctx = *state;
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "la"});
    routing_fixture_hours(ctx->store, ctx->script, engine_at(ctx, 0, 0, 30), "la", ENGINE_LA,
                          "09:00-17:00", NULL, 0);
    /* 09:00 in Los Angeles is 16:00 or 17:00 UTC (PDT or PST). */
    int64_t nine = engine_at(ctx, 0, 9, 0);
    assert_true(nine / 3600000 % 24 == 16 || nine / 3600000 % 24 == 17);

    engine_expect_waiting(ctx, nine - 1, "L1", "q", "", "no eligible rep: 1 out_of_hours");
    engine_assert_field(ctx, "t:lead:L1", "waiting_reason", "no eligible rep: 1 out_of_hours");
    engine_assert_field(ctx, "t:lead:L1", "status", "queued");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    engine_assert_candidates(audit, (const char *[]){"la"}, (const char *[]){"out_of_hours"}, 1);
    json_decref(audit);

    engine_expect_drain(ctx, nine - 1, "q", NULL, 0);
    engine_expect_drain(ctx, nine, "q", (const char *[]){"L1"}, 1);
    engine_expect_rep(ctx, engine_at(ctx, 0, 16, 59), "L2", "q", "la");
    engine_expect_waiting(ctx, engine_at(ctx, 0, 17, 0), "L3", "q", "",
                          "no eligible rep: 1 out_of_hours");
    engine_expect_drain(ctx, engine_at(ctx, 5, 12, 0), "q", NULL, 0); /* Saturday */
    engine_expect_drain(ctx, engine_at(ctx, 7, 9, 0), "q", (const char *[]){"L3"}, 1);
    assert_int_equal(engine_int(ctx, "t:rep:la", "open"), 3);
}

/* Out of office (all of Tuesday, local), away and offline: each excluded
 * with its own reason, in and out of working hours. */
static void test_out_of_office_away_offline(void **state)
{
    engine_ctx_t *ctx = *state;
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "aw", .status = "away"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "off", .status = "offline"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "oo"});
    cal_period_t tuesday = {ctx->day[1], ctx->day[2]};
    routing_fixture_hours(ctx->store, ctx->script, engine_at(ctx, 0, 0, 30), "oo", ENGINE_LA,
                          "09:00-17:00", &tuesday, 1);

    engine_expect_rep(ctx, engine_at(ctx, 0, 10, 0), "L1", "q", "oo");
    const char *reason = "no eligible rep: 1 away, 1 offline, 1 out_of_office";
    engine_expect_waiting(ctx, engine_at(ctx, 1, 10, 0), "L2", "q", "", reason);
    json_t *audit = routing_fixture_last_audit(ctx->store, "L2");
    engine_assert_candidates(audit, (const char *[]){"aw", "off", "oo"},
                             (const char *[]){"away", "offline", "out_of_office"}, 3);
    json_decref(audit);
    /* Out of office wins over out of hours while it lasts. */
    engine_expect_waiting(ctx, engine_at(ctx, 1, 20, 0), "L3", "q", "", reason);
    engine_expect_waiting(ctx, engine_at(ctx, 2, 8, 0), "L4", "q", "",
                          "no eligible rep: 1 away, 1 offline, 1 out_of_hours");
    engine_expect_drain(ctx, engine_at(ctx, 2, 9, 0), "q", (const char *[]){"L2", "L3", "L4"}, 3);
    /* Back from away: takes leads again. */
    engine_set_rep(ctx, engine_at(ctx, 2, 9, 0), "aw", "status", "online");
    engine_expect_rep(ctx, engine_at(ctx, 2, 9, 0), "L5", "q", "aw");
}

/* A lead that needs lang:es goes only to a rep with it; the others are
 * excluded with "missing_skill lang:es"; it waits for that rep rather than
 * going to another. */
static void test_required_skills(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "en", .capacity = "2", .skills = "lang:en"});
    engine_rep(
        ctx, (routing_fixture_rep_t){.id = "es", .capacity = "1", .skills = "lang:es,product:crm"});
    char got[ROUTING_FIXTURE_TEXT_MAX];
    assert_int_equal(engine_route(ctx, now, "L1", "q", "lang:es", "", got), 1);
    assert_string_equal(got, "es");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    engine_assert_candidates(audit, (const char *[]){"en", "es"},
                             (const char *[]){"missing_skill lang:es", NULL}, 2);
    assert_string_equal(engine_json_str(audit, "chosen"), "es");
    json_decref(audit);
    engine_assert_field(ctx, "t:lead:L1", "skills", "lang:es");

    engine_expect_rep(ctx, now, "L2", "q", "en");
    engine_expect_waiting(ctx, now, "L3", "q", "lang:es",
                          "no eligible rep: 1 at_capacity, 1 missing_skill");
    /* en has room but not the skill: closing its lead pulls nothing. */
    store_value_t *r = engine_op(ctx, now, "close", 4, "en", "L2", "won", "10");
    assert_int_equal(r->count, 2);
    store_value_free(&r);
    r = engine_op(ctx, now, "close", 4, "es", "L1", "won", "10");
    assert_int_equal(r->count, 3);
    engine_assert_assignment(store_value_at(r, 2), "L3", "q", "es", 1);
    store_value_free(&r);
}

/* ------------------------------------------------------ waiting, overflow */

/* Nobody eligible: the lead waits with the reason; after overflow_after_s
 * it moves to the overflow queue and is assigned there. */
static void test_waiting_then_overflow(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){
                          .name = "q1", .overflow_after_s = "300", .overflow_to = "q2"});
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q2"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "a1", .queues = "q1", .status = "offline"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "b2", .queues = "q2"});
    engine_expect_waiting(ctx, now, "L1", "q1", "", "no eligible rep: 1 offline");
    engine_assert_field(ctx, "t:lead:L1", "status", "queued");
    engine_assert_field(ctx, "t:lead:L1", "waiting_reason", "no eligible rep: 1 offline");

    store_value_t *r = engine_op(ctx, now + 299999, "overflow", 1, "10");
    assert_int_equal(r->count, 1);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    r = engine_op(ctx, now + 300000, "overflow", 1, "10");
    assert_int_equal(r->count, 2);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    engine_assert_assignment(store_value_at(r, 1), "L1", "q2", "b2", 1);
    store_value_free(&r);

    engine_assert_field(ctx, "t:lead:L1", "status", "assigned");
    engine_assert_field(ctx, "t:lead:L1", "queue", "q2");
    engine_assert_field(ctx, "t:lead:L1", "overflowed_from", "q1");
    engine_assert_field(ctx, "t:lead:L1", "waiting_reason", "");
    assert_int_equal(engine_count(ctx, "ZCARD", "t:queue:q1:waiting"), 0);
    assert_int_equal(engine_int(ctx, "t:stats", "overflowed"), 1);
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(engine_json_str(audit, "op"), "overflow");
    assert_string_equal(engine_json_str(audit, "from_queue"), "q1");
    assert_string_equal(engine_json_str(audit, "reason"),
                        "waited 300 s in q1: no eligible rep: 1 offline");
    json_decref(audit);
}

int main(void)
{
    if (redis_fixture_start(&engine_redis) < 0)
        return 1;
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, engine_setup, engine_teardown)
    const struct CMUnitTest tests[] = {
        S_TEST(test_round_robin_least_recently_assigned),
        S_TEST(test_round_robin_rep_back_from_offline_gets_one_lead),
        S_TEST(test_round_robin_catch_up),
        S_TEST(test_weighted_three_to_one),
        S_TEST(test_weighted_rep_back_from_absence_gets_no_burst),
        S_TEST(test_least_loaded),
        S_TEST(test_least_loaded_index_follows_the_loads),
        S_TEST(test_round_robin_even_over_10000_leads),
        S_TEST(test_daily_and_weekly_caps_reset_in_local_time),
        S_TEST(test_caps_hold_under_bulk_load),
        S_TEST(test_working_hours_in_another_time_zone),
        S_TEST(test_out_of_office_away_offline),
        S_TEST(test_required_skills),
        S_TEST(test_waiting_then_overflow),
    };
#undef S_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop(&engine_redis);
    return failed;
}
