/* routing.lua against a real Redis: round robin, capacity, waiting by
 * priority, close pulls the next lead, redeliveries do nothing, and two
 * processes routing at once never exceed any rep's capacity. */
#include <setjmp.h>
#include <stdarg.h>
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

/* Calls routing.lua OP with the prefix "t", now = 1000, and ARGS. */
static store_value_t *s_call(s_ctx_t *ctx, const char *op, int argc, ...)
{
    const char *argv[16] = {op, "t", "1000"};
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[3 + i] = va_arg(ap, const char *);
    va_end(ap);
    err_t err = {0};
    store_value_t *reply = store_script(ctx->store, ctx->script, 0, 3 + argc, argv, NULL, &err);
    assert_non_null(reply);
    if (reply->type == STORE_ERROR)
        fail_msg("routing.lua %s: %s", op, reply->str);
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

/* Marks LEAD in flight from scoring (as apply.lua does) and routes it. */
static long long s_route(s_ctx_t *ctx, const char *lead, const char *score, char *rep_out)
{
    err_t err = {0};
    store_value_t *r = store_command(ctx->store, &err, "ZADD t:inflight:routing 1 %s", lead);
    store_value_free(&r);
    r = store_command(ctx->store, &err, "HSET t:lead:%s ingested_at 900 score %s", lead, score);
    store_value_free(&r);
    store_value_t *reply = s_call(ctx, "route", 5, lead, "q", "rule", score, "round_robin");
    long long outcome = store_value_int(store_value_at(reply, 0), -1);
    if (rep_out)
        snprintf(rep_out, 64, "%s",
                 outcome == 1 ? store_value_str(store_value_at(reply, 1), "") : "");
    store_value_free(&reply);
    return outcome;
}

static void s_two_reps(s_ctx_t *ctx)
{
    store_value_free(&(store_value_t *){s_call(ctx, "sync", 5, "rep-a", "A", "2", "online", "q,")});
    store_value_free(&(store_value_t *){s_call(ctx, "sync", 5, "rep-b", "B", "1", "online", "q,")});
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
    store_value_t *reply = s_call(ctx, "route", 5, "L1", "q", "rule", "10", "round_robin");
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
    const store_value_t *a = store_value_at(reply, 2);
    assert_string_equal(store_value_str(store_value_at(a, 0), ""), "L5");
    assert_string_equal(store_value_str(store_value_at(a, 2), ""), "rep-a");
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
    store_value_free(&(store_value_t *){s_call(ctx, "sync", 5, "rep-a", "A", "4", "online", "q,")});
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
        store_value_free(
            &(store_value_t *){s_call(ctx, "sync", 5, id, id, caps[r], "online", "q,")});
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

/* routing.lua and reporting share the speed-to-lead buckets: a lead that
 * waited exactly a bucket's bound lands in that bucket's field. */
static void test_speed_to_lead_buckets_agree_with_reporting(void **state)
{
    s_ctx_t *ctx = *state;
    store_value_free(
        &(store_value_t *){s_call(ctx, "sync", 5, "rep-a", "A", "100", "online", "q,")});
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
        r = s_call(ctx, "route", 5, lead, "q", "rule", "10", "round_robin");
        assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
        store_value_free(&r);
        stl_bucket_field(i, field);
        assert_int_equal(s_hget_int(ctx, "t:stl", field), 1);
    }
    assert_int_equal(s_hget_int(ctx, "t:stl", "count"), STL_BUCKET_COUNT);
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
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop(&s_redis);
    return failed;
}
