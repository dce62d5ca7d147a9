/* routing.lua against a real Redis: round robin, capacity, waiting by
 * priority, close pulls the next lead, redeliveries do nothing, two
 * processes routing at once never exceed any rep's capacity, leads below a
 * queue's stage wait in nurture, waiting leads are re-ordered as their
 * scores change or decay, and speed to lead runs from when a lead was ready. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "redis_fixture.h"
#include "stl.h"
#include "store.h"

extern const char routing_script_routing[];

static redis_fixture_t s_redis;

typedef struct {
    store_t *store;
    int script;
} s_ctx_t;

static int s_setup(void **state)
{
    s_ctx_t *ctx = calloc(1, sizeof *ctx);
    store_options_t opts = redis_fixture_options(&s_redis);
    err_t err = {0};
    ctx->store = store_new(&opts, true, &err);
    assert_non_null(ctx->store);
    ctx->script = store_script_register(ctx->store, "routing", routing_script_routing, &err);
    assert_true(ctx->script >= 0);
    store_value_t *r = store_command(ctx->store, &err, "FLUSHALL");
    store_value_free(&r);
    *state = ctx;
    return 0;
}

static int s_teardown(void **state)
{
    s_ctx_t *ctx = *state;
    store_destroy(&ctx->store);
    free(ctx);
    return 0;
}

/* Calls routing.lua OP with the prefix "t", now = NOW (ms), and ARGC ARGS. */
static store_value_t *s_vcall(s_ctx_t *ctx, const char *now, const char *op, int argc, va_list ap)
{
    const char *argv[16] = {op, "t", now};
    assert_true(argc <= 13);
    for (int i = 0; i < argc; i++)
        argv[3 + i] = va_arg(ap, const char *);
    err_t err = {0};
    store_value_t *reply = store_script(ctx->store, ctx->script, 0, 3 + argc, argv, NULL, &err);
    assert_non_null(reply);
    if (reply->type == STORE_ERROR)
        fail_msg("routing.lua %s: %s", op, reply->str);
    return reply;
}

/* Calls routing.lua OP with now = 1000. */
static store_value_t *s_call(s_ctx_t *ctx, const char *op, int argc, ...)
{
    va_list ap;
    va_start(ap, argc);
    store_value_t *reply = s_vcall(ctx, "1000", op, argc, ap);
    va_end(ap);
    return reply;
}

static store_value_t *s_call_at(s_ctx_t *ctx, const char *now, const char *op, int argc, ...)
{
    va_list ap;
    va_start(ap, argc);
    store_value_t *reply = s_vcall(ctx, now, op, argc, ap);
    va_end(ap);
    return reply;
}

static long long s_hget_int(s_ctx_t *ctx, const char *key, const char *field)
{
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "HGET %s %s", key, field);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

static char *s_hget(s_ctx_t *ctx, const char *key, const char *field)
{
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "HGET %s %s", key, field);
    char *s = strdup(store_value_str(r, ""));
    store_value_free(&r);
    return s;
}

/* The priority of LEAD in queue q's waiting set, or -1 when it is not there. */
static double s_waiting_priority(s_ctx_t *ctx, const char *lead)
{
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "ZSCORE t:queue:q:waiting %s", lead);
    double priority = store_value_double(r, -1);
    store_value_free(&r);
    return priority;
}

/* The arrival sequence part of a waiting priority (score part * 1e10 + sequence). */
static long long s_sequence_of(double priority)
{
    return (long long)priority % 10000000000LL;
}

static long long s_zcard(s_ctx_t *ctx, const char *key)
{
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "ZCARD %s", key);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

/* Marks LEAD in flight from scoring (as apply.lua does) and routes it to
 * queue q, which takes leads from the stage QUEUE_STAGE on; STAGE_OK is
 * "1" when the lead's stage is at or above it. Returns the reply (owned). */
static store_value_t *s_route_staged(s_ctx_t *ctx, const char *lead, const char *score,
                                     const char *stage_ok, const char *queue_stage)
{
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "ZADD t:inflight:routing 1 %s", lead);
    store_value_free(&r);
    r = store_command(ctx->store, &err, "HSET t:lead:%s ingested_at 900 score %s", lead, score);
    store_value_free(&r);
    return s_call(ctx, "route", 8, lead, "q", "rule", score, stage_ok, queue_stage, "", "");
}

/* Routes LEAD at a stage the queue takes; returns the outcome, and the rep
 * in REP_OUT (64 bytes) when one was assigned. */
static long long s_route(s_ctx_t *ctx, const char *lead, const char *score, char *rep_out)
{
    store_value_t *reply = s_route_staged(ctx, lead, score, "1", "lead");
    long long outcome = store_value_int(store_value_at(reply, 0), -1);
    if (rep_out)
        snprintf(rep_out, 64, "%s",
                 outcome == 1 ? store_value_str(store_value_at(reply, 1), "") : "");
    store_value_free(&reply);
    return outcome;
}

/* Syncs rep ID (named NAME) from the config: CAPACITY, online, in queue q,
 * no caps, weight 1, no team, no skills. */
static void s_sync(s_ctx_t *ctx, const char *id, const char *name, const char *capacity)
{
    store_value_t *r =
        s_call(ctx, "sync", 10, id, name, capacity, "online", "q", "0", "0", "1", "", "");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    store_value_free(&r);
}

static void s_two_reps(s_ctx_t *ctx)
{
    s_sync(ctx, "rep-a", "A", "2");
    s_sync(ctx, "rep-b", "B", "1");
}

static void test_round_robin_within_capacity(void **state)
{
    s_ctx_t *ctx = *state;
    s_two_reps(ctx);
    char rep[64];
    assert_int_equal(s_route(ctx, "L1", "10", rep), 1);
    assert_string_equal(rep, "rep-a"); /* tie at start: by rep id */
    assert_int_equal(s_route(ctx, "L2", "10", rep), 1);
    assert_string_equal(rep, "rep-b"); /* a was served last */
    assert_int_equal(s_route(ctx, "L3", "10", rep), 1);
    assert_string_equal(rep, "rep-a");
    /* Both full now (a: 2 of 2, b: 1 of 1): the next leads wait. */
    assert_int_equal(s_route(ctx, "L4", "10", rep), 2);
    assert_int_equal(s_route(ctx, "L5", "50", rep), 2);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 2);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-b", "open"), 1);
    char *status = s_hget(ctx, "t:lead:L4", "status");
    assert_string_equal(status, "queued");
    free(status);
    /* speed to lead was recorded for each assignment: now 1000 - 900 ms */
    assert_int_equal(s_hget_int(ctx, "t:stl", "count"), 3);
    assert_int_equal(s_hget_int(ctx, "t:stl", "le_100"), 3);
}

static void test_redelivery_does_nothing(void **state)
{
    s_ctx_t *ctx = *state;
    s_two_reps(ctx);
    assert_int_equal(s_route(ctx, "L1", "10", NULL), 1);
    /* Same lead again, not in flight any more: a redelivery. */
    store_value_t *reply = s_call(ctx, "route", 8, "L1", "q", "rule", "10", "1", "lead", "", "");
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 0);
    store_value_free(&reply);
    /* Even in flight again (a duplicate send), an assigned lead stays put. */
    assert_int_equal(s_route(ctx, "L1", "10", NULL), 0);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 1);
    assert_int_equal(s_hget_int(ctx, "t:stats", "assigned"), 1);
}

static void test_close_pulls_best_waiting_lead(void **state)
{
    s_ctx_t *ctx = *state;
    s_two_reps(ctx);
    char rep[64];
    for (int i = 1; i <= 3; i++) {
        char lead[8];
        snprintf(lead, sizeof lead, "L%d", i);
        assert_int_equal(s_route(ctx, lead, "10", rep), 1);
    }
    assert_int_equal(s_route(ctx, "L4", "10", NULL), 2); /* older, lower score */
    assert_int_equal(s_route(ctx, "L5", "50", NULL), 2); /* newer, higher score */
    assert_int_equal(s_route(ctx, "L6", "50", NULL), 2); /* same score, newer */

    /* Closing a lead that rep-b does not hold fails and changes nothing. */
    store_value_t *reply = s_call(ctx, "close", 4, "rep-b", "L1", "won", "10");
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 0);
    store_value_free(&reply);

    reply = s_call(ctx, "close", 4, "rep-a", "L1", "won", "10");
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 1);
    assert_int_equal(reply->count, 3); /* status, reason, one assignment */
    /* {lead, queue, rep, ingested_at, queued_at, score, attempt, why} */
    const store_value_t *a = store_value_at(reply, 2);
    assert_int_equal(a->count, 8);
    assert_string_equal(store_value_str(store_value_at(a, 0), ""), "L5");
    assert_string_equal(store_value_str(store_value_at(a, 1), ""), "q");
    assert_string_equal(store_value_str(store_value_at(a, 2), ""), "rep-a");
    assert_string_equal(store_value_str(store_value_at(a, 3), ""), "900");
    assert_string_equal(store_value_str(store_value_at(a, 5), ""), "50");
    assert_int_equal(store_value_int(store_value_at(a, 6), -1), 1);
    assert_string_equal(store_value_str(store_value_at(a, 7), ""),
                        "freed up: the best waiting lead it may take");
    store_value_free(&reply);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 2);
    char *outcome = s_hget(ctx, "t:lead:L1", "outcome");
    assert_string_equal(outcome, "won");
    free(outcome);

    /* More capacity pulls the rest in priority order: L6 then L4. */
    reply = s_call(ctx, "rep", 4, "rep-b", "capacity", "3", "10");
    assert_int_equal(reply->count, 4);
    assert_string_equal(store_value_str(store_value_at(store_value_at(reply, 2), 0), ""), "L6");
    assert_string_equal(store_value_str(store_value_at(store_value_at(reply, 3), 0), ""), "L4");
    store_value_free(&reply);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-b", "open"), 3);
}

static void test_offline_rep_gets_nothing(void **state)
{
    s_ctx_t *ctx = *state;
    s_two_reps(ctx);
    store_value_free(&(store_value_t *){s_call(ctx, "rep", 4, "rep-a", "status", "offline", "10")});
    char rep[64];
    for (int i = 0; i < 3; i++) {
        char lead[8];
        snprintf(lead, sizeof lead, "L%d", i);
        long long outcome = s_route(ctx, lead, "10", rep);
        if (i == 0) {
            assert_int_equal(outcome, 1);
            assert_string_equal(rep, "rep-b");
        } else {
            assert_int_equal(outcome, 2);
        }
    }
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 0);
    /* Back online: takes waiting leads up to its capacity. */
    store_value_t *reply = s_call(ctx, "rep", 4, "rep-a", "status", "online", "10");
    assert_int_equal(reply->count, 4);
    store_value_free(&reply);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 2);
}

static void test_sync_keeps_runtime_changes_until_config_changes(void **state)
{
    s_ctx_t *ctx = *state;
    s_two_reps(ctx);
    store_value_free(&(store_value_t *){s_call(ctx, "rep", 4, "rep-a", "capacity", "7", "10")});
    s_two_reps(ctx); /* a restart with the same config */
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "capacity"), 7);
    s_sync(ctx, "rep-a", "A", "4");
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "capacity"), 4);
}

/* Two processes route 300 leads each into one queue whose reps hold 25 in
 * all: exactly 25 are assigned, no rep above capacity, every lead once. */
static void test_concurrent_routers_hold_capacity(void **state)
{
    s_ctx_t *ctx = *state;
    const char *caps[] = {"10", "8", "5", "2"};
    for (int r = 0; r < 4; r++) {
        char id[16];
        snprintf(id, sizeof id, "rep-%d", r);
        s_sync(ctx, id, id, caps[r]);
    }
    pid_t children[2];
    for (int c = 0; c < 2; c++) {
        children[c] = fork();
        if (children[c] == 0) {
            s_ctx_t mine = {0};
            store_options_t opts = redis_fixture_options(&s_redis);
            err_t err = {0};
            mine.store = store_new(&opts, true, &err);
            mine.script =
                store_script_register(mine.store, "routing", routing_script_routing, &err);
            for (int i = 0; i < 300; i++) {
                char lead[32];
                snprintf(lead, sizeof lead, "C%d-%d", c, i);
                s_route(&mine, lead, "10", NULL);
            }
            store_destroy(&mine.store);
            _exit(0);
        }
    }
    for (int c = 0; c < 2; c++) {
        int status;
        waitpid(children[c], &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    long long open_total = 0;
    for (int r = 0; r < 4; r++) {
        char key[32];
        snprintf(key, sizeof key, "t:rep:rep-%d", r);
        long long open = s_hget_int(ctx, key, "open");
        assert_true(open <= atoll(caps[r]));
        open_total += open;
    }
    assert_int_equal(open_total, 25);
    assert_int_equal(s_hget_int(ctx, "t:stats", "assigned"), 25);
    assert_int_equal(s_hget_int(ctx, "t:stats", "queued"), 575);
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "ZCARD t:queue:q:waiting");
    assert_int_equal(store_value_int(r, -1), 575);
    store_value_free(&r);
}

static void test_retired_rep_gets_no_new_leads(void **state)
{
    s_ctx_t *ctx = *state;
    s_two_reps(ctx);
    store_value_free(&(store_value_t *){s_call(ctx, "retire", 1, "rep-a")});
    char rep[64];
    assert_int_equal(s_route(ctx, "R1", "10", rep), 1);
    assert_string_equal(rep, "rep-b");
    assert_int_equal(s_route(ctx, "R2", "10", rep), 2); /* b is full, a retired */
    char *status = s_hget(ctx, "t:rep:rep-a", "status");
    assert_string_equal(status, "offline");
    free(status);
    /* Back in the config: works again. */
    s_two_reps(ctx);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "retired"), -1);
}

/* Fails unless the STL_BUCKETS list in the Lua script at PATH (under the
 * source tree) is stl_buckets_ms, bound for bound: the part routing.lua and
 * apply.lua (for <p>:stl_touch) both include. */
static void s_assert_lua_buckets_agree(const char *path)
{
    const char *root = getenv("LEADOPS_TEST_SOURCE_DIR");
    char file[1024];
    snprintf(file, sizeof file, "%s/%s", root ? root : ".", path);
    FILE *in = fopen(file, "r");
    if (!in)
        fail_msg("cannot read %s (set LEADOPS_TEST_SOURCE_DIR)", file);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[len] = '\0';
    const char *list = strstr(text, "STL_BUCKETS = {");
    if (!list)
        fail_msg("%s has no STL_BUCKETS list", path);
    list += strlen("STL_BUCKETS = {");
    size_t count = 0;
    char *end;
    for (double bound = strtod(list, &end); end != list; bound = strtod(list, &end)) {
        assert_true(count < STL_BUCKET_COUNT);
        assert_true(bound == stl_buckets_ms[count]);
        count++;
        list = end + strspn(end, ", \n");
    }
    assert_int_equal(count, STL_BUCKET_COUNT);
}

/* routing.lua and reporting share the speed-to-lead buckets: a lead that
 * waited exactly a bucket's bound lands in that bucket's field. */
static void test_speed_to_lead_buckets_agree_with_reporting(void **state)
{
    s_ctx_t *ctx = *state;
    s_sync(ctx, "rep-a", "A", "100");
    err_t err = {0};
    for (size_t i = 0; i < STL_BUCKET_COUNT; i++) {
        char lead[32], ingested[32], field[STL_FIELD_MAX];
        snprintf(lead, sizeof lead, "B%zu", i);
        /* now is 1000 in s_call: ingested_at = now - bound */
        snprintf(ingested, sizeof ingested, "%.0f", 1000 - stl_buckets_ms[i]);
        store_value_t *r = store_command(ctx->store, &err, "ZADD t:inflight:routing 1 %s", lead);
        store_value_free(&r);
        r = store_command(ctx->store, &err, "HSET t:lead:%s ingested_at %s", lead, ingested);
        store_value_free(&r);
        r = s_call(ctx, "route", 8, lead, "q", "rule", "10", "1", "lead", "", "");
        assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
        store_value_free(&r);
        stl_bucket_field(i, field);
        assert_int_equal(s_hget_int(ctx, "t:stl", field), 1);
        /* Accepted a bucket's bound after the assignment: <p>:stl_accept,
         * once however often the rep accepts. */
        snprintf(ingested, sizeof ingested, "%.0f", 1000 - stl_buckets_ms[i]);
        r = store_command(ctx->store, &err, "HSET t:lead:%s assigned_at %s", lead, ingested);
        store_value_free(&r);
        for (int twice = 0; twice < 2; twice++) {
            r = s_call(ctx, "accept", 2, "rep-a", lead);
            assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
            store_value_free(&r);
        }
        assert_int_equal(s_hget_int(ctx, "t:stl_accept", field), 1);
    }
    assert_int_equal(s_hget_int(ctx, "t:stl", "count"), STL_BUCKET_COUNT);
    assert_int_equal(s_hget_int(ctx, "t:stl_accept", "count"), STL_BUCKET_COUNT);
    s_assert_lua_buckets_agree("common/scripts/parts/stl.lua");
}

/* Asserts that REPLY is {OUTCOME, "900"}: the outcome and the lead's ingested_at. */
static void s_assert_outcome(store_value_t **reply_p, long long outcome)
{
    store_value_t *reply = *reply_p;
    assert_int_equal(reply->count, 2);
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), outcome);
    assert_string_equal(store_value_str(store_value_at(reply, 1), ""), "900");
    store_value_free(reply_p);
}

static bool s_has_field(s_ctx_t *ctx, const char *key, const char *field)
{
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "HEXISTS %s %s", key, field);
    long long exists = store_value_int(r, -1);
    store_value_free(&r);
    assert_true(exists == 0 || exists == 1);
    return exists == 1;
}

static void s_assert_field(s_ctx_t *ctx, const char *key, const char *field, const char *want)
{
    char *value = s_hget(ctx, key, field);
    assert_string_equal(value, want);
    free(value);
}

/* A lead below the queue's stage waits in nurture and takes no capacity;
 * once its stage is reached it is routed like any other. */
/* Scoring sent two messages for one lead (its stage fell, then rose again);
 * only the first to arrive finds the lead in flight. Routing decides on the
 * lead's stage in its hash, the latest, not on the message's: the stale
 * "below the stage" message still routes a lead that is an mql again. */
static void test_route_reads_the_latest_stage(void **state)
{
    s_ctx_t *ctx = *state;
    s_sync(ctx, "rep-a", "A", "1");
    err_t err = {0};
    store_value_t *r =
        store_command(ctx->store, &err, "HSET t:lead:R1 ingested_at 900 score 30 stage mql");
    store_value_free(&r);
    r = store_command(ctx->store, &err, "ZADD t:inflight:routing 1 R1");
    store_value_free(&r);
    /* The message says "not at the queue's stage" (stage_ok 0): stale. */
    store_value_t *reply =
        s_call(ctx, "route", 9, "R1", "q", "rule", "10", "0", "mql", "", "", "lead,mql,sql");
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 1); /* assigned */
    store_value_free(&reply);
    s_assert_field(ctx, "t:lead:R1", "status", "assigned");
    /* And the other way: the hash says below the queue's stage. */
    r = store_command(ctx->store, &err, "HSET t:lead:R2 ingested_at 900 score 5 stage lead");
    store_value_free(&r);
    r = store_command(ctx->store, &err, "ZADD t:inflight:routing 1 R2");
    store_value_free(&r);
    reply = s_call(ctx, "route", 9, "R2", "q", "rule", "30", "1", "mql", "", "", "lead,mql,sql");
    s_assert_outcome(&reply, 3);
    s_assert_field(ctx, "t:lead:R2", "status", "nurture");
}

static void test_lead_below_queue_stage_waits_in_nurture(void **state)
{
    s_ctx_t *ctx = *state;
    s_sync(ctx, "rep-a", "A", "1");
    store_value_t *reply = s_route_staged(ctx, "N1", "10", "0", "mql");
    s_assert_outcome(&reply, 3);
    s_assert_field(ctx, "t:lead:N1", "status", "nurture");
    s_assert_field(ctx, "t:lead:N1", "waiting_for", "mql");
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 0);
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "assigned_total"), 0);
    assert_int_equal(s_zcard(ctx, "t:queue:q:waiting"), 0);
    assert_int_equal(s_zcard(ctx, "t:inflight:routing"), 0);
    assert_int_equal(s_hget_int(ctx, "t:stl", "count"), -1);

    /* Scoring raised it to the queue's stage and sends it again. */
    reply = s_route_staged(ctx, "N1", "30", "1", "mql");
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 1);
    assert_string_equal(store_value_str(store_value_at(reply, 1), ""), "rep-a");
    assert_string_equal(store_value_str(store_value_at(reply, 2), ""), "900");
    store_value_free(&reply);
    s_assert_field(ctx, "t:lead:N1", "status", "assigned");
    assert_false(s_has_field(ctx, "t:lead:N1", "waiting_for"));
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 1);

    /* The same way into the queue when no rep is free. */
    reply = s_route_staged(ctx, "N2", "10", "0", "mql");
    s_assert_outcome(&reply, 3);
    reply = s_route_staged(ctx, "N2", "30", "1", "mql");
    assert_int_equal(reply->count, 3); /* waiting: 2, ingested_at, the reason */
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 2);
    assert_string_equal(store_value_str(store_value_at(reply, 1), ""), "900");
    assert_string_equal(store_value_str(store_value_at(reply, 2), ""),
                        "no eligible rep: 1 at_capacity");
    store_value_free(&reply);
    s_assert_field(ctx, "t:lead:N2", "status", "queued");
    assert_false(s_has_field(ctx, "t:lead:N2", "waiting_for"));
    assert_true(s_waiting_priority(ctx, "N2") >= 0);
}

/* A waiting lead routed again is re-ordered by its new score and keeps its
 * place among equals; one whose stage fell below the queue's leaves it. */
static void test_waiting_lead_reordered_then_unqueued(void **state)
{
    s_ctx_t *ctx = *state;
    s_sync(ctx, "rep-a", "A", "1");
    assert_int_equal(s_route(ctx, "W1", "10", NULL), 1); /* sequence 1: rep-a's turn */
    assert_int_equal(s_route(ctx, "W2", "10", NULL), 2); /* sequence 2 */
    assert_int_equal(s_route(ctx, "W3", "10", NULL), 2); /* sequence 3 */
    assert_int_equal((long long)s_waiting_priority(ctx, "W3"), 990000000000003LL);

    store_value_t *reply = s_route_staged(ctx, "W3", "50", "1", "mql");
    s_assert_outcome(&reply, 4);
    /* round((1000 - 50) * 100) * 1e10 + its first sequence */
    double priority = s_waiting_priority(ctx, "W3");
    assert_int_equal((long long)priority, 950000000000003LL);
    assert_int_equal(s_sequence_of(priority), 3);
    assert_true(priority < s_waiting_priority(ctx, "W2")); /* ahead of the older lead */
    s_assert_field(ctx, "t:lead:W3", "status", "queued");
    assert_int_equal(s_hget_int(ctx, "t:stats", "queued"), 2);

    reply = s_route_staged(ctx, "W3", "12", "0", "mql");
    s_assert_outcome(&reply, 5);
    assert_true(s_waiting_priority(ctx, "W3") < 0);
    assert_int_equal(s_zcard(ctx, "t:queue:q:waiting"), 1);
    s_assert_field(ctx, "t:lead:W3", "status", "nurture");
    s_assert_field(ctx, "t:lead:W3", "waiting_for", "mql");
    assert_int_equal(s_hget_int(ctx, "t:stats", "unqueued"), 1);

    /* A freed rep pulls W2, the one lead still waiting, and not W3. */
    reply = s_call(ctx, "close", 4, "rep-a", "W1", "won", "10");
    assert_int_equal(reply->count, 3);
    assert_string_equal(store_value_str(store_value_at(store_value_at(reply, 2), 0), ""), "W2");
    store_value_free(&reply);
    reply = s_call(ctx, "rep", 4, "rep-a", "capacity", "5", "10");
    assert_int_equal(reply->count, 2); /* status, reason: nothing left to pull */
    store_value_free(&reply);
    s_assert_field(ctx, "t:lead:W3", "status", "nurture");
    assert_int_equal(s_hget_int(ctx, "t:rep:rep-a", "open"), 1);
}

/* Two half-lives of 1000 s before now = 10,000,000 ms. */
#define S_NOW         "10000000"
#define S_HALF_LIFE_S "1000"
#define S_ENG_AT      "8000000"

/* reprioritize re-orders waiting leads by fit + model points + engagement
 * decayed to now, a slice at a time, counting the leads it moved. */
static void test_reprioritize_orders_by_decayed_score(void **state)
{
    s_ctx_t *ctx = *state;
    /* No reps: both wait. A queued first with its undecayed score, 60. */
    assert_int_equal(s_route(ctx, "A", "60", NULL), 2); /* sequence 1 */
    assert_int_equal(s_route(ctx, "B", "25", NULL), 2); /* sequence 2 */
    err_t err = {0};
    store_value_t *r =
        store_command(ctx->store, &err, "HSET t:lead:A fit 10 engagement 50 eng_at " S_ENG_AT);
    store_value_free(&r);
    /* B: 20 + 5 + 0 = 25, what it was queued with. */
    r = store_command(ctx->store, &err, "HSET t:lead:B fit 20 model_points 5 engagement 0");
    store_value_free(&r);
    assert_true(s_waiting_priority(ctx, "A") < s_waiting_priority(ctx, "B"));

    /* A now: 10 + 50 * 2^-2 = 22.5, below B's 25. Only A moved. */
    store_value_t *reply = s_call_at(ctx, S_NOW, "reprioritize", 4, "q", "0", "10", S_HALF_LIFE_S);
    assert_int_equal(reply->count, 2);
    assert_int_equal(store_value_int(store_value_at(reply, 0), -1), 0); /* done */
    assert_int_equal(store_value_int(store_value_at(reply, 1), -1), 1);
    store_value_free(&reply);
    assert_int_equal((long long)s_waiting_priority(ctx, "A"), 977500000000001LL);
    assert_int_equal((long long)s_waiting_priority(ctx, "B"), 975000000000002LL);

    /* Again in slices of one, with half-life 0 (no decay): A is 60 again.
     * Slice 0 holds B (unchanged), slice 1 holds A, slice 2 is past the end. */
    const char *starts[] = {"0", "1", "2"};
    const long long next[] = {1, 2, 0}, moved[] = {0, 1, 0};
    for (int i = 0; i < 3; i++) {
        reply = s_call_at(ctx, S_NOW, "reprioritize", 4, "q", starts[i], "1", "0");
        assert_int_equal(store_value_int(store_value_at(reply, 0), -1), next[i]);
        assert_int_equal(store_value_int(store_value_at(reply, 1), -1), moved[i]);
        store_value_free(&reply);
    }
    assert_int_equal((long long)s_waiting_priority(ctx, "A"), 940000000000001LL);
    assert_int_equal((long long)s_waiting_priority(ctx, "B"), 975000000000002LL);

    /* The best waiting lead is the one a freed rep pulls. */
    s_sync(ctx, "rep-a", "A", "0");
    reply = s_call(ctx, "rep", 4, "rep-a", "capacity", "1", "10");
    assert_int_equal(reply->count, 3);
    assert_string_equal(store_value_str(store_value_at(store_value_at(reply, 2), 0), ""), "A");
    store_value_free(&reply);
}

/* Speed to lead runs from when a lead became ready for sales: ready_at (or
 * else qualified_at) when later than its intake, else its intake (900). */
static void test_speed_to_lead_from_ready_at(void **state)
{
    s_ctx_t *ctx = *state;
    s_sync(ctx, "rep-a", "A", "10");
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "HSET t:lead:S1 ready_at 980");
    store_value_free(&r);
    assert_int_equal(s_route(ctx, "S1", "10", NULL), 1);
    assert_int_equal(s_hget_int(ctx, "t:stl", "sum_ms"), 20); /* now 1000 - 980 */
    assert_int_equal(s_hget_int(ctx, "t:stl", "le_20"), 1);
    assert_int_equal(s_hget_int(ctx, "t:stl", "le_100"), -1);

    r = store_command(ctx->store, &err, "HSET t:lead:S2 qualified_at 995");
    store_value_free(&r);
    assert_int_equal(s_route(ctx, "S2", "10", NULL), 1);
    assert_int_equal(s_hget_int(ctx, "t:stl", "sum_ms"), 25);
    assert_int_equal(s_hget_int(ctx, "t:stl", "le_5"), 1);

    /* Ready before its intake (a merged lead's older history): from intake. */
    r = store_command(ctx->store, &err, "HSET t:lead:S3 ready_at 500");
    store_value_free(&r);
    assert_int_equal(s_route(ctx, "S3", "10", NULL), 1);
    assert_int_equal(s_hget_int(ctx, "t:stl", "sum_ms"), 125);
    assert_int_equal(s_hget_int(ctx, "t:stl", "le_100"), 1);
    assert_int_equal(s_hget_int(ctx, "t:stl", "count"), 3);
}

int main(void)
{
    if (redis_fixture_start(&s_redis) < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_robin_within_capacity, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_redelivery_does_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_close_pulls_best_waiting_lead, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_offline_rep_gets_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sync_keeps_runtime_changes_until_config_changes,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_routers_hold_capacity, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_retired_rep_gets_no_new_leads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_speed_to_lead_buckets_agree_with_reporting, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_lead_below_queue_stage_waits_in_nurture, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_route_reads_the_latest_stage, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_waiting_lead_reordered_then_unqueued, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reprioritize_orders_by_decayed_score, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_speed_to_lead_from_ready_at, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop(&s_redis);
    return failed;
}
