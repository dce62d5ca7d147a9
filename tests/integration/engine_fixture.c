/* engine_fixture.c — see engine_fixture.h. */
#include "engine_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

redis_fixture_t engine_redis;

int engine_setup(void **state)
{
    engine_ctx_t *ctx = calloc(1, sizeof *ctx);
    store_options_t opts = redis_fixture_options(&engine_redis);
    err_t err = {0};
    ctx->store = store_new(&opts, true, &err);
    assert_non_null(ctx->store);
    ctx->script = store_script_register(ctx->store, "routing", routing_script_routing, &err);
    assert_true(ctx->script >= 0);
    store_value_free(&(store_value_t *){redis_fixture_cmd(ctx->store, "FLUSHALL", NULL)});
    ctx->next_lead = 1;
    routing_fixture_next_week(ENGINE_LA, ENGINE_DAYS, ctx->day);
    *state = ctx;
    return 0;
}

int engine_teardown(void **state)
{
    engine_ctx_t *ctx = *state;
    store_destroy(&ctx->store);
    free(ctx);
    return 0;
}

/* Day DAY (0: a Monday) at HOUR:MINUTE in Los Angeles. */
int64_t engine_at(const engine_ctx_t *ctx, int day, int hour, int minute)
{
    assert_true(day >= 0 && day < ENGINE_DAYS);
    return ctx->day[day] + (hour * 60 + minute) * 60000LL;
}

void engine_rep(engine_ctx_t *ctx, routing_fixture_rep_t rep)
{
    routing_fixture_rep(ctx->store, ctx->script, &rep);
}

void engine_queue(engine_ctx_t *ctx, routing_fixture_queue_t queue)
{
    routing_fixture_queue(ctx->store, ctx->script, &queue);
}

store_value_t *engine_op(engine_ctx_t *ctx, int64_t now, const char *op, int argc, ...)
{
    const char *args[16];
    assert_true(argc <= 16);
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        args[i] = va_arg(ap, const char *);
    va_end(ap);
    return routing_fixture_call(ctx->store, ctx->script, now, op, argc, args);
}

/* Sets REP_ID's FIELD by command ('rep' operation); returns how many
 * waiting leads it pulled. */
size_t engine_set_rep(engine_ctx_t *ctx, int64_t now, const char *rep_id, const char *field,
                      const char *value)
{
    store_value_t *r = engine_op(ctx, now, "rep", 4, rep_id, field, value, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    size_t pulled = r->count - 2;
    store_value_free(&r);
    return pulled;
}

long long engine_route(engine_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                       const char *skills, const char *domains, char *out)
{
    return routing_fixture_route(ctx->store, ctx->script, now, lead, queue, skills, domains, out);
}

/* Routes LEAD (no skills, no domains) and asserts it went to WANT_REP. */
void engine_expect_rep(engine_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                       const char *want_rep)
{
    char got[ROUTING_FIXTURE_TEXT_MAX];
    long long outcome = engine_route(ctx, now, lead, queue, "", "", got);
    if (outcome != 1)
        fail_msg("%s: outcome %lld (%s), wanted %s", lead, outcome, got, want_rep);
    assert_string_equal(got, want_rep);
}

/* Routes COUNT new leads into QUEUE and asserts the reps they went to. */
void engine_expect_sequence(engine_ctx_t *ctx, int64_t now, const char *queue,
                            const char *const *want, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char lead[32];
        snprintf(lead, sizeof lead, "L%d", ctx->next_lead++);
        engine_expect_rep(ctx, now, lead, queue, want[i]);
    }
}

/* Routes LEAD with SKILLS and asserts it waits with REASON. */
void engine_expect_waiting(engine_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                           const char *skills, const char *reason)
{
    char got[ROUTING_FIXTURE_TEXT_MAX];
    long long outcome = engine_route(ctx, now, lead, queue, skills, "", got);
    if (outcome != 2)
        fail_msg("%s: outcome %lld (%s), wanted waiting: %s", lead, outcome, got, reason);
    assert_string_equal(got, reason);
}

long long engine_int(engine_ctx_t *ctx, const char *key, const char *field)
{
    return routing_fixture_hget_int(ctx->store, key, field);
}

void engine_assert_field(engine_ctx_t *ctx, const char *key, const char *field, const char *want)
{
    char got[512];
    routing_fixture_hget(ctx->store, key, field, got, sizeof got);
    assert_string_equal(got, want);
}

long long engine_count(engine_ctx_t *ctx, const char *command, const char *key)
{
    store_value_t *r = redis_fixture_cmd(ctx->store, command, key, NULL);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

/* Asserts that A, an assignment {lead, queue, rep, ingested_at, queued_at,
 * score, attempt, why}, gave LEAD of QUEUE to REP as try ATTEMPT. */
void engine_assert_assignment(const store_value_t *a, const char *lead, const char *queue,
                              const char *rep, long long attempt)
{
    assert_non_null(a);
    assert_int_equal(a->count, 8);
    assert_string_equal(store_value_str(store_value_at(a, 0), ""), lead);
    assert_string_equal(store_value_str(store_value_at(a, 1), ""), queue);
    assert_string_equal(store_value_str(store_value_at(a, 2), ""), rep);
    assert_int_equal(store_value_int(store_value_at(a, 6), -1), attempt);
}

/* Runs 'drain' for QUEUE at NOW and asserts the leads it assigned, in order. */
void engine_expect_drain(engine_ctx_t *ctx, int64_t now, const char *queue,
                         const char *const *leads, size_t count)
{
    store_value_t *r = engine_op(ctx, now, "drain", 2, queue, "100");
    assert_int_equal(r->count, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(store_value_str(store_value_at(store_value_at(r, i), 0), ""), leads[i]);
    store_value_free(&r);
}

const char *engine_json_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        fail_msg("audit: no string \"%s\"", key);
    return s;
}

/* Asserts the audit's candidates: REPS in round-robin order, each excluded
 * for the reason in EXCLUDED (NULL: eligible, recorded as false). */
void engine_assert_candidates(const json_t *audit, const char *const *reps,
                              const char *const *excluded, size_t count)
{
    const json_t *candidates = json_object_get(audit, "candidates");
    assert_true(json_is_array(candidates));
    assert_int_equal(json_array_size(candidates), count);
    for (size_t i = 0; i < count; i++) {
        const json_t *c = json_array_get(candidates, i);
        assert_string_equal(engine_json_str(c, "rep"), reps[i]);
        const json_t *why = json_object_get(c, "excluded");
        if (excluded[i])
            assert_string_equal(json_string_value(why), excluded[i]);
        else
            assert_true(json_is_false(why));
    }
}

/* Reps with any hours in Los Angeles (their caps count LA days), at NOW. */
void engine_any_hours(engine_ctx_t *ctx, int64_t now, const char *rep_id)
{
    routing_fixture_hours(ctx->store, ctx->script, now, rep_id, ENGINE_LA, NULL, NULL, 0);
}
