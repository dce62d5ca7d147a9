/* The routing engine (routing.lua) against a real Redis, what happens after
 * an assignment and around it: SLA breach, rejection and escalation with
 * notifications, SLA in business hours, manual reassignment, account owners
 * first, the audit of a decision, and two routing instances at once never
 * breaking capacity, caps or "assigned once" (test_routing_strategies.c has
 * the strategies, caps, hours and waiting). Times of day are simulated
 * through the script's `now`; the shared set-up and helpers are in
 * engine_fixture.h. */
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

/* -------------------------------------------------------------------- SLA */

/* Asserts notification I of the stream: KIND for LEAD and REP in queue qs. */
static void s_assert_notice(const store_value_t *entries, size_t i, const char *kind,
                            const char *lead, const char *rep)
{
    const store_value_t *f = store_value_at(store_value_at(entries, i), 1);
    /* queue, kind, lead, rep, text, at */
    assert_string_equal(store_value_str(store_value_at(f, 1), ""), "qs");
    assert_string_equal(store_value_str(store_value_at(f, 3), ""), kind);
    assert_string_equal(store_value_str(store_value_at(f, 5), ""), lead);
    assert_string_equal(store_value_str(store_value_at(f, 7), ""), rep);
}

/* Not accepted within sla_s: to another rep, never one that had it before;
 * accepted: the clock stops; rejected: at once to another rep; after
 * max_attempts: escalated; the queue's webhook gets every step. */
static void test_sla_breach_reject_escalate(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t t0 = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "qs",
                                                .sla_s = "60",
                                                .max_attempts = "3",
                                                .escalate_to = "qe",
                                                .webhook = "https://hooks.example.com/qs"});
    engine_queue(ctx, (routing_fixture_queue_t){.name = "qe"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ann", .queues = "qs"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "bob", .queues = "qs"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "cat", .queues = "qs"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "eve", .queues = "qe"});
    engine_expect_rep(ctx, t0, "L1", "qs", "ann");
    engine_expect_rep(ctx, t0, "L2", "qs", "bob");
    engine_expect_rep(ctx, t0, "L3", "qs", "cat");
    char due[32];
    snprintf(due, sizeof due, "%" PRId64, t0 + 60000);
    engine_assert_field(ctx, "t:lead:L1", "sla_due", due);

    /* Accepting stops the clock. */
    store_value_t *r = engine_op(ctx, t0 + 1000, "accept", 2, "bob", "L2");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""), "accepted");
    store_value_free(&r);
    r = engine_op(ctx, t0 + 1000, "accept", 2, "cat", "L3");
    store_value_free(&r);
    assert_int_equal(engine_count(ctx, "ZCARD", "t:sla"), 1);

    r = engine_op(ctx, t0 + 59999, "sla", 1, "10");
    assert_int_equal(r->count, 1);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    /* ann is first in line again, but had L1: bob gets it. */
    r = engine_op(ctx, t0 + 60000, "sla", 1, "10");
    assert_int_equal(r->count, 2);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    engine_assert_assignment(store_value_at(r, 1), "L1", "qs", "bob", 2);
    store_value_free(&r);
    assert_int_equal(engine_int(ctx, "t:rep:ann", "open"), 0);
    assert_int_equal(engine_int(ctx, "t:rep:bob", "open"), 2);
    engine_assert_field(ctx, "t:lead:L2", "rep", "bob"); /* accepted: kept */
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(engine_json_str(audit, "op"), "sla");
    assert_string_equal(engine_json_str(audit, "from_rep"), "ann");
    engine_assert_candidates(audit, (const char *[]){"ann", "bob"},
                             (const char *[]){"already_tried", NULL}, 2);
    json_decref(audit);

    /* Only the holder may reject; a rejection re-routes at once. */
    r = engine_op(ctx, t0 + 61000, "reject", 3, "ann", "L1", "no");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    r = engine_op(ctx, t0 + 61000, "reject", 3, "bob", "L1", "wrong territory");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_int_equal(r->count, 3);
    engine_assert_assignment(store_value_at(r, 2), "L1", "qs", "cat", 3);
    store_value_free(&r);
    audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(engine_json_str(audit, "reason"), "rejected by bob: wrong territory");
    json_decref(audit);

    /* Third try not accepted either: escalated to qe. */
    r = engine_op(ctx, t0 + 120999, "sla", 1, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    r = engine_op(ctx, t0 + 121000, "sla", 1, "10");
    assert_int_equal(r->count, 2);
    engine_assert_assignment(store_value_at(r, 1), "L1", "qe", "eve", 1);
    store_value_free(&r);
    engine_assert_field(ctx, "t:lead:L1", "escalated", "1");
    engine_assert_field(ctx, "t:lead:L1", "queue", "qe");
    assert_int_equal(engine_count(ctx, "SCARD", "t:lead:L1:tried"), 3);
    assert_int_equal(engine_int(ctx, "t:stats", "sla_breaches"), 2);
    assert_int_equal(engine_int(ctx, "t:stats", "rejected_by_rep"), 1);
    assert_int_equal(engine_int(ctx, "t:stats", "escalations"), 1);
    assert_int_equal(engine_int(ctx, "t:stats", "assigned"), 3);
    assert_int_equal(engine_int(ctx, "t:stats", "reassigned"), 3);
    /* Held once: by eve alone. */
    const char *reps[] = {"ann", "bob", "cat", "eve"};
    for (int i = 0; i < 4; i++) {
        char key[32];
        snprintf(key, sizeof key, "t:rep:%s:leads", reps[i]);
        r = redis_fixture_cmd(ctx->store, "SISMEMBER", key, "L1", NULL);
        assert_int_equal(store_value_int(r, -1), i == 3);
        store_value_free(&r);
    }

    /* qs has a webhook, qe none: every step in qs, nothing for qe. */
    r = redis_fixture_cmd(ctx->store, "XRANGE", "t:notify", "-", "+", NULL);
    assert_int_equal(r->count, 9);
    s_assert_notice(r, 0, "assignment", "L1", "ann");
    s_assert_notice(r, 1, "assignment", "L2", "bob");
    s_assert_notice(r, 2, "assignment", "L3", "cat");
    s_assert_notice(r, 3, "sla_breach", "L1", "ann");
    s_assert_notice(r, 4, "assignment", "L1", "bob");
    s_assert_notice(r, 5, "rejected", "L1", "bob");
    s_assert_notice(r, 6, "assignment", "L1", "cat");
    s_assert_notice(r, 7, "sla_breach", "L1", "cat");
    s_assert_notice(r, 8, "escalation", "L1", "cat");
    const store_value_t *f = store_value_at(store_value_at(r, 8), 1);
    assert_string_equal(store_value_str(store_value_at(f, 9), ""),
                        "3 tries in qs: escalated to qe");
    store_value_free(&r);
}

/* With sla_bh the SLA counts only the rep's working time: an hour from
 * 16:30 is 09:30 the next working day, from Friday 16:45 Monday 09:45. */
static void test_sla_in_business_hours(void **state)
{
    engine_ctx_t *ctx = *state;
    engine_queue(ctx, (routing_fixture_queue_t){.name = "qb", .sla_s = "3600", .sla_bh = "1"});
    engine_queue(ctx, (routing_fixture_queue_t){.name = "qw", .sla_s = "3600"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "la", .queues = "qb,qw"});
    routing_fixture_hours(ctx->store, ctx->script, engine_at(ctx, 0, 0, 30), "la", ENGINE_LA,
                          "09:00-17:00", NULL, 0);
    char due[32];
    engine_expect_rep(ctx, engine_at(ctx, 0, 16, 30), "L1", "qb", "la");
    snprintf(due, sizeof due, "%" PRId64, engine_at(ctx, 1, 9, 30));
    engine_assert_field(ctx, "t:lead:L1", "sla_due", due);
    engine_expect_rep(ctx, engine_at(ctx, 0, 16, 30), "L2", "qw", "la"); /* wall clock */
    snprintf(due, sizeof due, "%" PRId64, engine_at(ctx, 0, 17, 30));
    engine_assert_field(ctx, "t:lead:L2", "sla_due", due);
    store_value_t *r = engine_op(ctx, engine_at(ctx, 1, 9, 30) - 1, "sla", 1, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1); /* L2 only */
    store_value_free(&r);
    engine_assert_field(ctx, "t:lead:L1", "rep", "la");
    r = engine_op(ctx, engine_at(ctx, 1, 9, 30), "sla", 1, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1); /* L1 */
    store_value_free(&r);
    /* The only rep had them both: they wait. */
    engine_assert_field(ctx, "t:lead:L1", "waiting_reason", "no eligible rep: 1 already_tried");
    engine_assert_field(ctx, "t:lead:L2", "waiting_reason", "no eligible rep: 1 already_tried");

    engine_expect_rep(ctx, engine_at(ctx, 4, 16, 45), "L3", "qb", "la");
    snprintf(due, sizeof due, "%" PRId64, engine_at(ctx, 7, 9, 45));
    engine_assert_field(ctx, "t:lead:L3", "sla_due", due);
}

/* ------------------------------------------------------- reassign, owners */

/* A manager moves a lead to an eligible rep: the old rep's open count
 * drops (and it takes the best waiting lead it may); never to an offline
 * rep, with the reason. */
static void test_manual_reassign(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "1", .skills = "lang:fr"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "5"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "cy", .status = "offline"});
    engine_expect_rep(ctx, now, "L1", "q", "ana");
    engine_expect_waiting(ctx, now, "L2", "q", "lang:fr",
                          "no eligible rep: 1 at_capacity, 1 missing_skill, 1 offline");

    store_value_t *r = engine_op(ctx, now, "reassign", 4, "L1", "cy", "mgr", "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""),
                        "rep cy cannot take it: offline");
    store_value_free(&r);
    engine_assert_field(ctx, "t:lead:L1", "rep", "ana");
    assert_int_equal(engine_int(ctx, "t:rep:ana", "open"), 1);

    r = engine_op(ctx, now, "reassign", 4, "L1", "ben", "mgr", "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""), "reassigned to ben");
    assert_int_equal(r->count, 4);
    engine_assert_assignment(store_value_at(r, 2), "L1", "q", "ben", 2);
    engine_assert_assignment(store_value_at(r, 3), "L2", "q", "ana", 1); /* ana freed up */
    store_value_free(&r);
    assert_int_equal(engine_int(ctx, "t:rep:ben", "open"), 1);
    assert_int_equal(engine_int(ctx, "t:rep:ana", "open"), 1);
    assert_int_equal(engine_count(ctx, "SCARD", "t:rep:ana:leads"), 1);
    engine_assert_field(ctx, "t:lead:L1", "why", "reassigned by mgr");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(engine_json_str(audit, "op"), "reassign");
    assert_string_equal(engine_json_str(audit, "from_rep"), "ana");
    assert_string_equal(engine_json_str(audit, "chosen"), "ben");
    json_decref(audit);

    r = engine_op(ctx, now, "reassign", 4, "L1", "ben", "mgr", "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""), "lead L1 is already with ben");
    store_value_free(&r);
}

/* owner_first: a lead of a known account (by email domain, most specific
 * first) goes to the account's owner; when the owner cannot take it, with
 * owner_fallback team to a rep of the owner's team, and with queue (or no
 * team member eligible) by the queue's strategy. */
static void test_account_owner_routing(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(
        ctx, (routing_fixture_queue_t){.name = "qa", .owner_first = "1", .owner_fallback = "team"});
    engine_queue(ctx, (routing_fixture_queue_t){
                          .name = "qq", .owner_first = "1", .owner_fallback = "queue"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "ana", .queues = "qa,qq", .team = "east"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "olga", .queues = "qa,qq", .team = "west"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "wes", .queues = "qa,qq", .team = "west"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "zed", .queues = "qa,qq", .team = "east"});
    store_value_free(&(store_value_t *){redis_fixture_cmd(
        ctx->store, "HSET", "t:account:acme.com", "name", "Acme Corp", "owner", "olga", NULL)});
    const char *acme = "eu.acme.com,acme.com";
    char got[ROUTING_FIXTURE_TEXT_MAX];

    assert_int_equal(engine_route(ctx, now, "L1", "qa", "", acme, got), 1);
    assert_string_equal(got, "olga"); /* round robin would give it to ana */
    engine_assert_field(ctx, "t:lead:L1", "why", "account owner");
    engine_assert_field(ctx, "t:lead:L1", "owner", "olga");
    engine_assert_field(ctx, "t:lead:L1", "account", "Acme Corp");
    assert_int_equal(engine_route(ctx, now, "L2", "qa", "", "other.com", got), 1);
    assert_string_equal(got, "ana");
    engine_assert_field(ctx, "t:lead:L2", "owner", "");

    engine_set_rep(ctx, now, "olga", "status", "away");
    assert_int_equal(engine_route(ctx, now, "L3", "qa", "", acme, got), 1);
    assert_string_equal(got, "wes");
    engine_assert_field(ctx, "t:lead:L3", "why",
                        "account owner olga away; owner's team west: next in round robin");
    engine_set_rep(ctx, now, "wes", "status", "offline");
    assert_int_equal(engine_route(ctx, now, "L4", "qa", "", acme, got), 1);
    assert_string_equal(got, "zed"); /* no one of west: the queue's round robin */

    engine_assert_field(ctx, "t:lead:L4", "why", "account owner olga away; next in round robin");
    /* The audit names the owner first, with why it could not take the lead. */
    json_t *audit = routing_fixture_last_audit(ctx->store, "L4");
    const json_t *owner = json_array_get(json_object_get(audit, "candidates"), 0);
    assert_string_equal(engine_json_str(owner, "rep"), "olga");
    assert_string_equal(engine_json_str(owner, "excluded"), "away");
    assert_true(json_is_true(json_object_get(owner, "owner")));
    json_decref(audit);

    engine_set_rep(ctx, now, "wes", "status", "online");
    assert_int_equal(engine_route(ctx, now, "L5", "qq", "", acme, got), 1);
    assert_string_equal(got, "ana"); /* fallback queue: not wes, the team's */
    engine_assert_field(ctx, "t:lead:L5", "why",
                        "account owner olga away; next in round robin after 1 excluded");
    engine_set_rep(ctx, now, "olga", "status", "online");
    assert_int_equal(engine_route(ctx, now, "L6", "qq", "", acme, got), 1);
    assert_string_equal(got, "olga");
}

/* The audit of a decision lists every rep of the queue in round-robin
 * order, each with why it was excluded (or false), and the one chosen. */
static void test_audit_lists_excluded_reps(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 6, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "amy", .status = "offline", .skills = "lang:de"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "bea", .status = "away", .skills = "lang:de"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "cal", .capacity = "1", .skills = "lang:de"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "dan", .skills = "lang:en"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "eli", .skills = "lang:de"});
    engine_rep(ctx, (routing_fixture_rep_t){.id = "fay", .capacity = "1", .skills = "lang:de"});
    routing_fixture_hours(ctx->store, ctx->script, now, "eli", ENGINE_LA, "09:00-17:00", NULL, 0);
    engine_expect_rep(ctx, now, "L0", "q", "cal");

    char got[ROUTING_FIXTURE_TEXT_MAX];
    assert_int_equal(engine_route(ctx, now, "L1", "q", "lang:de", "", got), 1);
    assert_string_equal(got, "fay");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(engine_json_str(audit, "op"), "route");
    assert_string_equal(engine_json_str(audit, "queue"), "q");
    assert_string_equal(engine_json_str(audit, "rule"), "r1");
    assert_string_equal(engine_json_str(audit, "strategy"), "round_robin");
    assert_string_equal(engine_json_str(audit, "chosen"), "fay");
    assert_string_equal(engine_json_str(audit, "why"), "next in round robin after 4 excluded");
    /* Round robin lists the reps it passed over, then the one it chose. */
    const char *reps[] = {"amy", "bea", "dan", "eli", "fay"};
    const char *excluded[] = {"offline", "away", "missing_skill lang:de", "out_of_hours", NULL};
    engine_assert_candidates(audit, reps, excluded, 5);
    json_decref(audit);

    engine_expect_waiting(ctx, now, "L2", "q", "lang:de",
                          "no eligible rep: 1 away, 1 missing_skill, 1 offline, 1 out_of_hours, 2 "
                          "at_capacity");
    /* Nobody eligible: every rep, each with its reason. */
    audit = routing_fixture_last_audit(ctx->store, "L2");
    assert_string_equal(engine_json_str(audit, "outcome"), "waiting");
    assert_true(json_object_get(audit, "chosen") == NULL);
    const char *all[] = {"amy", "bea", "dan", "eli", "cal", "fay"};
    const char *why[] = {"offline",      "away",        "missing_skill lang:de",
                         "out_of_hours", "at_capacity", "at_capacity"};
    engine_assert_candidates(audit, all, why, 6);
    json_decref(audit);
}

/* ------------------------------------------------------------ concurrency */

#define S_INSTANCE_LEADS 2000
#define S_INSTANCE_BATCH 50

/* Reps "c*" are bound by their daily caps (the instances close their leads
 * as they go), reps "k*" by their capacity (nobody closes theirs). */
#define S_REPS 6
static const char *const s_rep_ids[S_REPS] = {"c0", "c1", "c2", "c3", "k0", "k1"};
static const int s_capacity[S_REPS] = {2, 1, 3, 2, 3, 4};
static const int s_daily_cap[S_REPS] = {7, 5, 12, 9, 0, 0};

typedef struct {
    char rep[16];
    char lead[32];
} s_held_t;

/* Adds REP's LEAD to HELD when it is a lead the instances close. */
static void s_hold(s_held_t *held, size_t *count, const char *rep, const char *lead)
{
    if (rep[0] != 'c' || *count == S_INSTANCE_LEADS)
        return;
    snprintf(held[*count].rep, sizeof held[0].rep, "%s", rep);
    snprintf(held[*count].lead, sizeof held[0].lead, "%s", lead);
    (*count)++;
}

/* One routing instance in a child process, with its own connection: routes
 * S_INSTANCE_LEADS leads in pipelined batches and, in the same batches,
 * closes the leads of capped reps it was given in the batch before (each
 * close pulls waiting leads, which it closes in turn). Exits 0, or 1 on any
 * failure (no cmocka in a child). */
static void s_instance(int id, int start_fd, int64_t now)
{
    store_options_t opts = redis_fixture_options(&engine_redis);
    err_t err = {0};
    store_t *store = store_new(&opts, true, &err);
    int script = store ? store_script_register(store, "routing", routing_script_routing, &err) : -1;
    store_batch_t *batch = store_batch_new();
    static s_held_t held[2][S_INSTANCE_LEADS]; /* to close now, and next time */
    size_t to_close = 0;
    char go;
    if (!store || script < 0 || !batch || read(start_fd, &go, 1) != 1)
        _exit(1);
    char now_text[24];
    snprintf(now_text, sizeof now_text, "%" PRId64, now);
    for (int start = 0, cur = 0; start < S_INSTANCE_LEADS; start += S_INSTANCE_BATCH, cur = !cur) {
        store_batch_reset(batch);
        for (int i = start; i < start + S_INSTANCE_BATCH; i++) {
            char lead[32];
            snprintf(lead, sizeof lead, "I%d-%d", id, i);
            routing_fixture_route_batch(batch, script, now, lead, "q");
        }
        for (size_t h = 0; h < to_close; h++) {
            const char *close[] = {"close",           "t",   now_text, held[cur][h].rep,
                                   held[cur][h].lead, "won", "1"};
            store_batch_script(batch, script, 0, 7, close, NULL);
        }
        if (store_batch_exec(store, batch, &err) < 0)
            _exit(1);
        s_held_t *next = held[!cur];
        size_t next_count = 0;
        for (int i = 0; i < S_INSTANCE_BATCH; i++) {
            /* {1, rep, ingested_at, why} assigned | {2, ingested_at, reason} waiting */
            const store_value_t *r = store_batch_reply(batch, 3 * (size_t)i + 2);
            long long outcome = store_value_int(store_value_at(r, 0), -1);
            char lead[32];
            snprintf(lead, sizeof lead, "I%d-%d", id, start + i);
            if (outcome == 1)
                s_hold(next, &next_count, store_value_str(store_value_at(r, 1), ""), lead);
            else if (outcome != 2)
                _exit(1);
        }
        for (size_t h = 0; h < to_close; h++) {
            /* {1, reason, pulled assignments...} */
            const store_value_t *r = store_batch_reply(batch, 3 * S_INSTANCE_BATCH + h);
            if (store_value_int(store_value_at(r, 0), -1) != 1)
                _exit(1);
            for (size_t a = 2; a < r->count; a++)
                s_hold(next, &next_count, store_value_str(store_value_at(r->elements[a], 2), ""),
                       store_value_str(store_value_at(r->elements[a], 0), ""));
        }
        to_close = next_count;
    }
    store_batch_destroy(&batch);
    store_destroy(&store);
    _exit(0);
}

/* Two routing instances route 2,000 leads each into one queue at the same
 * time, closing leads of capped reps as they go: afterwards every held lead is in
 * exactly one rep's set, the capped reps took exactly their daily caps and
 * the others hold exactly their capacity: no more, under contention. */
static void test_two_instances_hold_capacity_caps_and_assigned_once(void **state)
{
    engine_ctx_t *ctx = *state;
    int64_t now = engine_at(ctx, 0, 10, 0);
    engine_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    long long limits = 0;
    for (int r = 0; r < S_REPS; r++) {
        char cap[16], day[16];
        snprintf(cap, sizeof cap, "%d", s_capacity[r]);
        snprintf(day, sizeof day, "%d", s_daily_cap[r]);
        engine_rep(ctx,
                   (routing_fixture_rep_t){.id = s_rep_ids[r], .capacity = cap, .daily_cap = day});
        engine_any_hours(ctx, now, s_rep_ids[r]);
        limits += s_daily_cap[r] ? s_daily_cap[r] : s_capacity[r];
    }
    int start[2];
    assert_int_equal(pipe(start), 0);
    pid_t children[2];
    for (int c = 0; c < 2; c++) {
        children[c] = fork();
        assert_true(children[c] >= 0);
        if (children[c] == 0) {
            close(start[1]);
            s_instance(c, start[0], now);
        }
    }
    close(start[0]);
    assert_int_equal(write(start[1], "go", 2), 2); /* both start at once */
    close(start[1]);
    for (int c = 0; c < 2; c++) {
        int status;
        assert_int_equal(waitpid(children[c], &status, 0), children[c]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    long long held_total = 0;
    for (int r = 0; r < S_REPS; r++) {
        char key[32], leads_key[40];
        snprintf(key, sizeof key, "t:rep:%s", s_rep_ids[r]);
        snprintf(leads_key, sizeof leads_key, "t:rep:%s:leads", s_rep_ids[r]);
        long long open = engine_int(ctx, key, "open");
        assert_int_equal(open, engine_count(ctx, "SCARD", leads_key));
        if (s_daily_cap[r]) {
            assert_true(open <= s_capacity[r]);
            assert_int_equal(engine_int(ctx, key, "assigned_total"), s_daily_cap[r]);
        } else {
            assert_int_equal(open, s_capacity[r]);
            assert_int_equal(engine_int(ctx, key, "assigned_total"), s_capacity[r]);
        }
        store_value_t *leads = redis_fixture_cmd(ctx->store, "SMEMBERS", leads_key, NULL);
        for (size_t i = 0; i < leads->count; i++) {
            char lead_key[64];
            snprintf(lead_key, sizeof lead_key, "t:lead:%s", leads->elements[i]->str);
            engine_assert_field(ctx, lead_key, "status", "assigned");
            engine_assert_field(ctx, lead_key, "rep", s_rep_ids[r]);
        }
        store_value_free(&leads);
        held_total += open;
    }
    /* No lead in two reps' sets: the union is as large as the sets. */
    store_value_free(&(store_value_t *){redis_fixture_cmd(
        ctx->store, "SUNIONSTORE", "t:check:held", "t:rep:c0:leads", "t:rep:c1:leads",
        "t:rep:c2:leads", "t:rep:c3:leads", "t:rep:k0:leads", "t:rep:k1:leads", NULL)});
    assert_int_equal(engine_count(ctx, "SCARD", "t:check:held"), held_total);
    assert_int_equal(engine_int(ctx, "t:stats", "assigned"), limits);
    assert_int_equal(engine_int(ctx, "t:stats", "closed"), limits - held_total);
    assert_int_equal(engine_count(ctx, "ZCARD", "t:queue:q:waiting"),
                     2 * S_INSTANCE_LEADS - limits);
    assert_int_equal(engine_count(ctx, "ZCARD", "t:inflight:routing"), 0);
}

int main(void)
{
    if (redis_fixture_start(&engine_redis) < 0)
        return 1;
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, engine_setup, engine_teardown)
    const struct CMUnitTest tests[] = {
        S_TEST(test_sla_breach_reject_escalate),
        S_TEST(test_sla_in_business_hours),
        S_TEST(test_manual_reassign),
        S_TEST(test_account_owner_routing),
        S_TEST(test_audit_lists_excluded_reps),
        S_TEST(test_two_instances_hold_capacity_caps_and_assigned_once),
    };
#undef S_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop(&engine_redis);
    return failed;
}
