/* The routing engine (routing.lua) against a real Redis, as a sales-ops
 * team would see it: each strategy and how it breaks ties, fairness over
 * 10,000 leads, capacity and daily/weekly caps counted in a rep's local
 * days, working hours in another time zone, out of office, away and
 * offline, required skills, waiting with a reason and overflow, SLA breach,
 * rejection and escalation with notifications, SLA in business hours,
 * manual reassignment, account owners first, the audit of a decision, and
 * two routing instances at once never breaking capacity, caps or "assigned
 * once". Times of day are simulated through the script's `now`. */
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
#include "redis_fixture.h"
#include "routing_fixture.h"
#include "store.h"

extern const char routing_script_routing[];

#define S_LA   "America/Los_Angeles"
#define S_DAYS 8

static redis_fixture_t s_redis;

typedef struct {
    store_t *store;
    int script;
    int next_lead;       /* s_expect_sequence names its leads L<next_lead> */
    int64_t day[S_DAYS]; /* local midnights in LA from next week's Monday on */
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
    store_value_free(&(store_value_t *){redis_fixture_cmd(ctx->store, "FLUSHALL", NULL)});
    ctx->next_lead = 1;
    routing_fixture_next_week(S_LA, S_DAYS, ctx->day);
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

/* ---------------------------------------------------------------- helpers */

/* Day DAY (0: a Monday) at HOUR:MINUTE in Los Angeles. */
static int64_t s_at(const s_ctx_t *ctx, int day, int hour, int minute)
{
    assert_true(day >= 0 && day < S_DAYS);
    return ctx->day[day] + (hour * 60 + minute) * 60000LL;
}

static void s_rep(s_ctx_t *ctx, routing_fixture_rep_t rep)
{
    routing_fixture_rep(ctx->store, ctx->script, &rep);
}

static void s_queue(s_ctx_t *ctx, routing_fixture_queue_t queue)
{
    routing_fixture_queue(ctx->store, ctx->script, &queue);
}

static store_value_t *s_op(s_ctx_t *ctx, int64_t now, const char *op, int argc, ...)
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
static size_t s_set_rep(s_ctx_t *ctx, int64_t now, const char *rep_id, const char *field,
                        const char *value)
{
    store_value_t *r = s_op(ctx, now, "rep", 4, rep_id, field, value, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    size_t pulled = r->count - 2;
    store_value_free(&r);
    return pulled;
}

static long long s_route(s_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                         const char *skills, const char *domains, char *out)
{
    return routing_fixture_route(ctx->store, ctx->script, now, lead, queue, skills, domains, out);
}

/* Routes LEAD (no skills, no domains) and asserts it went to WANT_REP. */
static void s_expect_rep(s_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                         const char *want_rep)
{
    char got[ROUTING_FIXTURE_TEXT_MAX];
    long long outcome = s_route(ctx, now, lead, queue, "", "", got);
    if (outcome != 1)
        fail_msg("%s: outcome %lld (%s), wanted %s", lead, outcome, got, want_rep);
    assert_string_equal(got, want_rep);
}

/* Routes COUNT new leads into QUEUE and asserts the reps they went to. */
static void s_expect_sequence(s_ctx_t *ctx, int64_t now, const char *queue, const char *const *want,
                              size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char lead[32];
        snprintf(lead, sizeof lead, "L%d", ctx->next_lead++);
        s_expect_rep(ctx, now, lead, queue, want[i]);
    }
}

/* Routes LEAD with SKILLS and asserts it waits with REASON. */
static void s_expect_waiting(s_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                             const char *skills, const char *reason)
{
    char got[ROUTING_FIXTURE_TEXT_MAX];
    long long outcome = s_route(ctx, now, lead, queue, skills, "", got);
    if (outcome != 2)
        fail_msg("%s: outcome %lld (%s), wanted waiting: %s", lead, outcome, got, reason);
    assert_string_equal(got, reason);
}

static long long s_int(s_ctx_t *ctx, const char *key, const char *field)
{
    return routing_fixture_hget_int(ctx->store, key, field);
}

static void s_assert_field(s_ctx_t *ctx, const char *key, const char *field, const char *want)
{
    char got[512];
    routing_fixture_hget(ctx->store, key, field, got, sizeof got);
    assert_string_equal(got, want);
}

static long long s_count(s_ctx_t *ctx, const char *command, const char *key)
{
    store_value_t *r = redis_fixture_cmd(ctx->store, command, key, NULL);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

/* Asserts that A, an assignment {lead, queue, rep, ingested_at, queued_at,
 * score, attempt, why}, gave LEAD of QUEUE to REP as try ATTEMPT. */
static void s_assert_assignment(const store_value_t *a, const char *lead, const char *queue,
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
static void s_expect_drain(s_ctx_t *ctx, int64_t now, const char *queue, const char *const *leads,
                           size_t count)
{
    store_value_t *r = s_op(ctx, now, "drain", 2, queue, "100");
    assert_int_equal(r->count, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(store_value_str(store_value_at(store_value_at(r, i), 0), ""), leads[i]);
    store_value_free(&r);
}

static const char *s_json_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        fail_msg("audit: no string \"%s\"", key);
    return s;
}

/* Asserts the audit's candidates: REPS in round-robin order, each excluded
 * for the reason in EXCLUDED (NULL: eligible, recorded as false). */
static void s_assert_candidates(const json_t *audit, const char *const *reps,
                                const char *const *excluded, size_t count)
{
    const json_t *candidates = json_object_get(audit, "candidates");
    assert_true(json_is_array(candidates));
    assert_int_equal(json_array_size(candidates), count);
    for (size_t i = 0; i < count; i++) {
        const json_t *c = json_array_get(candidates, i);
        assert_string_equal(s_json_str(c, "rep"), reps[i]);
        const json_t *why = json_object_get(c, "excluded");
        if (excluded[i])
            assert_string_equal(json_string_value(why), excluded[i]);
        else
            assert_true(json_is_false(why));
    }
}

/* Reps with any hours in Los Angeles (their caps count LA days), at NOW. */
static void s_any_hours(s_ctx_t *ctx, int64_t now, const char *rep_id)
{
    routing_fixture_hours(ctx->store, ctx->script, now, rep_id, S_LA, NULL, NULL, 0);
}

/* ------------------------------------------------------------- strategies */

/* Round robin: least recently assigned first, ties at the start by rep id;
 * a rep new to the queue joins at the back, behind the rep served last
 * even when its id sorts before that rep's. */
static void test_round_robin_least_recently_assigned(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "cy"});
    const char *first[] = {"ana", "ben", "cy", "ana", "ben", "cy"};
    s_expect_sequence(ctx, now, "q", first, 6);
    s_assert_field(ctx, "t:lead:L1", "why", "next in round robin");

    s_rep(ctx, (routing_fixture_rep_t){.id = "al"}); /* "al" < "cy", served last */
    const char *then[] = {"ana", "ben", "cy", "al", "ana"};
    s_expect_sequence(ctx, now, "q", then, 5);
}

/* A rep back from offline is first in line, gets one lead and goes to the
 * back: no burst to make up for the time away. */
static void test_round_robin_rep_back_from_offline_gets_one_lead(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "cy"});
    assert_int_equal(s_set_rep(ctx, now, "ana", "status", "offline"), 0);
    const char *away[] = {"ben", "cy", "ben", "cy"};
    s_expect_sequence(ctx, now, "q", away, 4);
    assert_int_equal(s_set_rep(ctx, now, "ana", "status", "online"), 0);
    const char *back[] = {"ana", "ben", "cy", "ana", "ben", "cy"};
    s_expect_sequence(ctx, now, "q", back, 6);
}

/* With catch_up the queue counts leads per rep: a rep back from an absence
 * gets leads until it has as many as the others, ties by round robin. */
static void test_round_robin_catch_up(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q", .catch_up = "1"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "cy"});
    s_set_rep(ctx, now, "ana", "status", "offline");
    const char *away[] = {"ben", "cy", "ben", "cy"};
    s_expect_sequence(ctx, now, "q", away, 4);
    s_set_rep(ctx, now, "ana", "status", "online");
    const char *back[] = {"ana", "ana", "ben", "cy", "ana", "ben"};
    s_expect_sequence(ctx, now, "q", back, 6);
    s_assert_field(ctx, "t:lead:L10", "why", "fewest leads of the queue (3), 3 eligible");
    assert_int_equal(s_int(ctx, "t:queue:q:count", "ana"), 3);
    assert_int_equal(s_int(ctx, "t:queue:q:count", "ben"), 4);
    assert_int_equal(s_int(ctx, "t:queue:q:count", "cy"), 3);
}

/* Weighted round robin (stride scheduling), weights 3:1 over 400 leads:
 * exactly 300 and 100, and every four leads in a row hold exactly one of the
 * light rep's. */
static void test_weighted_three_to_one(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "w", .strategy = "weighted"});
    s_rep(ctx,
          (routing_fixture_rep_t){.id = "ana", .capacity = "1000", .queues = "w", .weight = "3"});
    s_rep(ctx,
          (routing_fixture_rep_t){.id = "ben", .capacity = "1000", .queues = "w", .weight = "1"});
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
    assert_int_equal(s_int(ctx, "t:rep:ben", "open"), 100);
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
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "w", .strategy = "weighted"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "100", .queues = "w"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "100", .queues = "w"});
    assert_int_equal(s_set_rep(ctx, now, "ben", "status", "away"), 0);
    const char *away[] = {"ana", "ana", "ana", "ana", "ana", "ana"};
    s_expect_sequence(ctx, now, "w", away, 6);
    s_assert_field(ctx, "t:lead:L6", "why", "weighted round robin, weight 1, after 1 excluded");
    assert_int_equal(s_set_rep(ctx, now, "ben", "status", "online"), 0);
    const char *back[] = {"ben", "ana", "ben", "ana", "ben", "ana"};
    s_expect_sequence(ctx, now, "w", back, 6);
    /* A rep new to the queue starts at its virtual time too (ties by id). */
    s_rep(ctx, (routing_fixture_rep_t){.id = "cy", .capacity = "100", .queues = "w"});
    const char *joined[] = {"ben", "cy", "ana", "ben", "cy", "ana"};
    s_expect_sequence(ctx, now, "w", joined, 6);
}

/* Least loaded by open / capacity, ties to the least recently assigned. */
static void test_least_loaded(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q", .strategy = "least_loaded"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "10"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "2"});
    /* ana 0/10 = ben 0/2: by id; then ben 0/2; ana below 1/2 up to 5/10;
     * 5/10 = 1/2: ben, served less recently; ben full: ana to 10/10. */
    const char *want[] = {"ana", "ben", "ana", "ana", "ana", "ana",
                          "ben", "ana", "ana", "ana", "ana", "ana"};
    s_expect_sequence(ctx, now, "q", want, 12);
    s_assert_field(ctx, "t:lead:L1", "why", "least loaded: 0 of 10 open");
    s_assert_field(ctx, "t:lead:L4", "why", "least loaded: 2 of 10 open");
    s_expect_waiting(ctx, now, "L13", "q", "", "no eligible rep: 2 at_capacity");
    assert_int_equal(s_int(ctx, "t:rep:ana", "open"), 10);
    assert_int_equal(s_int(ctx, "t:rep:ben", "open"), 2);
}

/* A least_loaded queue keeps its reps ordered by load (its index), and the
 * order follows what changes a load: an assignment, a close, a capacity
 * set by command, a rep leaving the queue. */
static void test_least_loaded_index_follows_the_loads(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q", .strategy = "least_loaded"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "4"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "4"});
    const char *first[] = {"ana", "ben", "ana", "ben"}; /* L1..L4 */
    s_expect_sequence(ctx, now, "q", first, 4);
    /* ana closes L1: 1 of 4 against ben's 2 of 4. */
    store_value_t *r = s_op(ctx, now, "close", 4, "ana", "L1", "won", "0");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    store_value_free(&r);
    const char *after_close[] = {"ana", "ben"}; /* then 2/4 each: ben served less recently */
    s_expect_sequence(ctx, now, "q", after_close, 2);
    /* ben 3 of 8 now, below ana's 2 of 4. */
    assert_int_equal(s_set_rep(ctx, now, "ben", "capacity", "8"), 0);
    const char *after_capacity[] = {"ben", "ana", "ben"}; /* 4/8 = 2/4: ana's turn */
    s_expect_sequence(ctx, now, "q", after_capacity, 3);
    assert_int_equal(s_count(ctx, "ZCARD", "t:queue:q:load"), 2);
    /* ben leaves the queue: out of its index; ana takes what she can. */
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "8", .queues = "other"});
    assert_int_equal(s_count(ctx, "ZCARD", "t:queue:q:load"), 1);
    const char *alone[] = {"ana"};
    s_expect_sequence(ctx, now, "q", alone, 1);
    s_expect_waiting(ctx, now, "L99", "q", "", "no eligible rep: 1 at_capacity");
    /* The queue's index is built again from its members by queue_sync. */
    r = redis_fixture_cmd(ctx->store, "DEL", "t:queue:q:load", NULL);
    store_value_free(&r);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q", .strategy = "least_loaded"});
    assert_int_equal(s_count(ctx, "ZCARD", "t:queue:q:load"), 1);
}

/* Round robin over 10,000 leads with every rep eligible: equal within one. */
static void test_round_robin_even_over_10000_leads(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    enum { REPS = 7, LEADS = 10000, BATCH = 500 };
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    for (int r = 0; r < REPS; r++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", r);
        s_rep(ctx, (routing_fixture_rep_t){.id = id, .capacity = "100000"});
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
        long long n = s_int(ctx, key, "assigned_total");
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
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0); /* a Monday */
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){
                   .id = "la", .capacity = "100", .daily_cap = "3", .weekly_cap = "5"});
    s_any_hours(ctx, now, "la");
    const char *mon[] = {"la", "la", "la"};
    s_expect_sequence(ctx, now, "q", mon, 3);
    s_expect_waiting(ctx, now, "L4", "q", "", "no eligible rep: 1 daily_cap");
    s_expect_waiting(ctx, now, "L5", "q", "", "no eligible rep: 1 daily_cap");
    s_assert_field(ctx, "t:lead:L4", "waiting_reason", "no eligible rep: 1 daily_cap");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L4");
    s_assert_candidates(audit, (const char *[]){"la"}, (const char *[]){"daily_cap"}, 1);
    assert_string_equal(s_json_str(audit, "outcome"), "waiting");
    json_decref(audit);

    int64_t tuesday = ctx->day[1];
    /* Midnight UTC is still Monday afternoon in Los Angeles. */
    int64_t utc_midnight = (ctx->day[0] / 86400000 + 1) * 86400000;
    assert_true(utc_midnight < tuesday);
    s_expect_drain(ctx, utc_midnight, "q", NULL, 0);
    s_expect_drain(ctx, tuesday - 1, "q", NULL, 0);
    s_expect_drain(ctx, tuesday, "q", (const char *[]){"L4", "L5"}, 2);
    s_expect_waiting(ctx, tuesday, "L6", "q", "", "no eligible rep: 1 weekly_cap");

    int64_t next_monday = ctx->day[7];
    s_expect_drain(ctx, next_monday - 1, "q", NULL, 0);
    s_expect_drain(ctx, next_monday, "q", (const char *[]){"L6"}, 1);

    /* The counters behind it, one per local day and week. */
    char key[64];
    snprintf(key, sizeof key, "t:rep:la:day:%" PRId64, ctx->day[0]);
    assert_int_equal(s_count(ctx, "GET", key), 3);
    snprintf(key, sizeof key, "t:rep:la:day:%" PRId64, tuesday);
    assert_int_equal(s_count(ctx, "GET", key), 2);
    snprintf(key, sizeof key, "t:rep:la:week:%" PRId64, ctx->day[0]);
    assert_int_equal(s_count(ctx, "GET", key), 5);
    assert_int_equal(s_int(ctx, "t:rep:la", "open"), 6);
}

/* 200 leads at once into reps limited by capacity or by daily cap: each
 * takes exactly its limit; then, closing every lead they hold until none
 * is left, the capped reps stop at their caps and the uncapped rep takes
 * the rest. */
static void test_caps_hold_under_bulk_load(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    enum { REPS = 4, LEADS = 200 };
    const char *ids[REPS] = {"b0", "b1", "b2", "b3"};
    const char *capacity[REPS] = {"3", "50", "7", "100"};
    const char *daily[REPS] = {"10", "4", "0", "6"};
    const long long first[REPS] = {3, 4, 7, 6}, total[REPS] = {10, 4, 180, 6};
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    for (int r = 0; r < REPS; r++) {
        s_rep(ctx, (routing_fixture_rep_t){
                       .id = ids[r], .capacity = capacity[r], .daily_cap = daily[r]});
        s_any_hours(ctx, now, ids[r]);
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
        assert_int_equal(s_int(ctx, key, "open"), first[r]);
    }
    assert_int_equal(s_count(ctx, "ZCARD", "t:queue:q:waiting"), LEADS - 20);

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
                    s_op(ctx, now, "close", 4, ids[r], leads->elements[i]->str, "won", "1");
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
        assert_int_equal(s_int(ctx, key, "assigned_total"), total[r]);
        assert_int_equal(s_int(ctx, key, "open"), 0);
    }
    assert_int_equal(s_int(ctx, "t:stats", "closed"), LEADS);
    assert_int_equal(s_count(ctx, "ZCARD", "t:queue:q:waiting"), 0);
}

/* --------------------------------------------------- hours and availability */

/* A rep in Los Angeles working 09:00-17:00 Monday to Friday: excluded
 * (out_of_hours) before 09:00 and from 17:00 local time and at weekends,
 * taking leads in between. */
static void test_working_hours_in_another_time_zone(void **state)
{
    s_ctx_t *ctx = *state;
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "la"});
    routing_fixture_hours(ctx->store, ctx->script, s_at(ctx, 0, 0, 30), "la", S_LA, "09:00-17:00",
                          NULL, 0);
    /* 09:00 in Los Angeles is 16:00 or 17:00 UTC (PDT or PST). */
    int64_t nine = s_at(ctx, 0, 9, 0);
    assert_true(nine / 3600000 % 24 == 16 || nine / 3600000 % 24 == 17);

    s_expect_waiting(ctx, nine - 1, "L1", "q", "", "no eligible rep: 1 out_of_hours");
    s_assert_field(ctx, "t:lead:L1", "waiting_reason", "no eligible rep: 1 out_of_hours");
    s_assert_field(ctx, "t:lead:L1", "status", "queued");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    s_assert_candidates(audit, (const char *[]){"la"}, (const char *[]){"out_of_hours"}, 1);
    json_decref(audit);

    s_expect_drain(ctx, nine - 1, "q", NULL, 0);
    s_expect_drain(ctx, nine, "q", (const char *[]){"L1"}, 1);
    s_expect_rep(ctx, s_at(ctx, 0, 16, 59), "L2", "q", "la");
    s_expect_waiting(ctx, s_at(ctx, 0, 17, 0), "L3", "q", "", "no eligible rep: 1 out_of_hours");
    s_expect_drain(ctx, s_at(ctx, 5, 12, 0), "q", NULL, 0); /* Saturday */
    s_expect_drain(ctx, s_at(ctx, 7, 9, 0), "q", (const char *[]){"L3"}, 1);
    assert_int_equal(s_int(ctx, "t:rep:la", "open"), 3);
}

/* Out of office (all of Tuesday, local), away and offline: each excluded
 * with its own reason, in and out of working hours. */
static void test_out_of_office_away_offline(void **state)
{
    s_ctx_t *ctx = *state;
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "aw", .status = "away"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "off", .status = "offline"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "oo"});
    cal_period_t tuesday = {ctx->day[1], ctx->day[2]};
    routing_fixture_hours(ctx->store, ctx->script, s_at(ctx, 0, 0, 30), "oo", S_LA, "09:00-17:00",
                          &tuesday, 1);

    s_expect_rep(ctx, s_at(ctx, 0, 10, 0), "L1", "q", "oo");
    const char *reason = "no eligible rep: 1 away, 1 offline, 1 out_of_office";
    s_expect_waiting(ctx, s_at(ctx, 1, 10, 0), "L2", "q", "", reason);
    json_t *audit = routing_fixture_last_audit(ctx->store, "L2");
    s_assert_candidates(audit, (const char *[]){"aw", "off", "oo"},
                        (const char *[]){"away", "offline", "out_of_office"}, 3);
    json_decref(audit);
    /* Out of office wins over out of hours while it lasts. */
    s_expect_waiting(ctx, s_at(ctx, 1, 20, 0), "L3", "q", "", reason);
    s_expect_waiting(ctx, s_at(ctx, 2, 8, 0), "L4", "q", "",
                     "no eligible rep: 1 away, 1 offline, 1 out_of_hours");
    s_expect_drain(ctx, s_at(ctx, 2, 9, 0), "q", (const char *[]){"L2", "L3", "L4"}, 3);
    /* Back from away: takes leads again. */
    s_set_rep(ctx, s_at(ctx, 2, 9, 0), "aw", "status", "online");
    s_expect_rep(ctx, s_at(ctx, 2, 9, 0), "L5", "q", "aw");
}

/* A lead that needs lang:es goes only to a rep with it; the others are
 * excluded with "missing_skill lang:es"; it waits for that rep rather than
 * going to another. */
static void test_required_skills(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "en", .capacity = "2", .skills = "lang:en"});
    s_rep(ctx,
          (routing_fixture_rep_t){.id = "es", .capacity = "1", .skills = "lang:es,product:crm"});
    char got[ROUTING_FIXTURE_TEXT_MAX];
    assert_int_equal(s_route(ctx, now, "L1", "q", "lang:es", "", got), 1);
    assert_string_equal(got, "es");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    s_assert_candidates(audit, (const char *[]){"en", "es"},
                        (const char *[]){"missing_skill lang:es", NULL}, 2);
    assert_string_equal(s_json_str(audit, "chosen"), "es");
    json_decref(audit);
    s_assert_field(ctx, "t:lead:L1", "skills", "lang:es");

    s_expect_rep(ctx, now, "L2", "q", "en");
    s_expect_waiting(ctx, now, "L3", "q", "lang:es",
                     "no eligible rep: 1 at_capacity, 1 missing_skill");
    /* en has room but not the skill: closing its lead pulls nothing. */
    store_value_t *r = s_op(ctx, now, "close", 4, "en", "L2", "won", "10");
    assert_int_equal(r->count, 2);
    store_value_free(&r);
    r = s_op(ctx, now, "close", 4, "es", "L1", "won", "10");
    assert_int_equal(r->count, 3);
    s_assert_assignment(store_value_at(r, 2), "L3", "q", "es", 1);
    store_value_free(&r);
}

/* ------------------------------------------------------ waiting, overflow */

/* Nobody eligible: the lead waits with the reason; after overflow_after_s
 * it moves to the overflow queue and is assigned there. */
static void test_waiting_then_overflow(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){
                     .name = "q1", .overflow_after_s = "300", .overflow_to = "q2"});
    s_queue(ctx, (routing_fixture_queue_t){.name = "q2"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "a1", .queues = "q1", .status = "offline"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "b2", .queues = "q2"});
    s_expect_waiting(ctx, now, "L1", "q1", "", "no eligible rep: 1 offline");
    s_assert_field(ctx, "t:lead:L1", "status", "queued");
    s_assert_field(ctx, "t:lead:L1", "waiting_reason", "no eligible rep: 1 offline");

    store_value_t *r = s_op(ctx, now + 299999, "overflow", 1, "10");
    assert_int_equal(r->count, 1);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    r = s_op(ctx, now + 300000, "overflow", 1, "10");
    assert_int_equal(r->count, 2);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    s_assert_assignment(store_value_at(r, 1), "L1", "q2", "b2", 1);
    store_value_free(&r);

    s_assert_field(ctx, "t:lead:L1", "status", "assigned");
    s_assert_field(ctx, "t:lead:L1", "queue", "q2");
    s_assert_field(ctx, "t:lead:L1", "overflowed_from", "q1");
    s_assert_field(ctx, "t:lead:L1", "waiting_reason", "");
    assert_int_equal(s_count(ctx, "ZCARD", "t:queue:q1:waiting"), 0);
    assert_int_equal(s_int(ctx, "t:stats", "overflowed"), 1);
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(s_json_str(audit, "op"), "overflow");
    assert_string_equal(s_json_str(audit, "from_queue"), "q1");
    assert_string_equal(s_json_str(audit, "reason"),
                        "waited 300 s in q1: no eligible rep: 1 offline");
    json_decref(audit);
}

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
    s_ctx_t *ctx = *state;
    int64_t t0 = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "qs",
                                           .sla_s = "60",
                                           .max_attempts = "3",
                                           .escalate_to = "qe",
                                           .webhook = "https://hooks.example.com/qs"});
    s_queue(ctx, (routing_fixture_queue_t){.name = "qe"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ann", .queues = "qs"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "bob", .queues = "qs"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "cat", .queues = "qs"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "eve", .queues = "qe"});
    s_expect_rep(ctx, t0, "L1", "qs", "ann");
    s_expect_rep(ctx, t0, "L2", "qs", "bob");
    s_expect_rep(ctx, t0, "L3", "qs", "cat");
    char due[32];
    snprintf(due, sizeof due, "%" PRId64, t0 + 60000);
    s_assert_field(ctx, "t:lead:L1", "sla_due", due);

    /* Accepting stops the clock. */
    store_value_t *r = s_op(ctx, t0 + 1000, "accept", 2, "bob", "L2");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""), "accepted");
    store_value_free(&r);
    r = s_op(ctx, t0 + 1000, "accept", 2, "cat", "L3");
    store_value_free(&r);
    assert_int_equal(s_count(ctx, "ZCARD", "t:sla"), 1);

    r = s_op(ctx, t0 + 59999, "sla", 1, "10");
    assert_int_equal(r->count, 1);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    /* ann is first in line again, but had L1: bob gets it. */
    r = s_op(ctx, t0 + 60000, "sla", 1, "10");
    assert_int_equal(r->count, 2);
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    s_assert_assignment(store_value_at(r, 1), "L1", "qs", "bob", 2);
    store_value_free(&r);
    assert_int_equal(s_int(ctx, "t:rep:ann", "open"), 0);
    assert_int_equal(s_int(ctx, "t:rep:bob", "open"), 2);
    s_assert_field(ctx, "t:lead:L2", "rep", "bob"); /* accepted: kept */
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(s_json_str(audit, "op"), "sla");
    assert_string_equal(s_json_str(audit, "from_rep"), "ann");
    s_assert_candidates(audit, (const char *[]){"ann", "bob"},
                        (const char *[]){"already_tried", NULL}, 2);
    json_decref(audit);

    /* Only the holder may reject; a rejection re-routes at once. */
    r = s_op(ctx, t0 + 61000, "reject", 3, "ann", "L1", "no");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    r = s_op(ctx, t0 + 61000, "reject", 3, "bob", "L1", "wrong territory");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_int_equal(r->count, 3);
    s_assert_assignment(store_value_at(r, 2), "L1", "qs", "cat", 3);
    store_value_free(&r);
    audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(s_json_str(audit, "reason"), "rejected by bob: wrong territory");
    json_decref(audit);

    /* Third try not accepted either: escalated to qe. */
    r = s_op(ctx, t0 + 120999, "sla", 1, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    store_value_free(&r);
    r = s_op(ctx, t0 + 121000, "sla", 1, "10");
    assert_int_equal(r->count, 2);
    s_assert_assignment(store_value_at(r, 1), "L1", "qe", "eve", 1);
    store_value_free(&r);
    s_assert_field(ctx, "t:lead:L1", "escalated", "1");
    s_assert_field(ctx, "t:lead:L1", "queue", "qe");
    assert_int_equal(s_count(ctx, "SCARD", "t:lead:L1:tried"), 3);
    assert_int_equal(s_int(ctx, "t:stats", "sla_breaches"), 2);
    assert_int_equal(s_int(ctx, "t:stats", "rejected_by_rep"), 1);
    assert_int_equal(s_int(ctx, "t:stats", "escalations"), 1);
    assert_int_equal(s_int(ctx, "t:stats", "assigned"), 3);
    assert_int_equal(s_int(ctx, "t:stats", "reassigned"), 3);
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
    s_ctx_t *ctx = *state;
    s_queue(ctx, (routing_fixture_queue_t){.name = "qb", .sla_s = "3600", .sla_bh = "1"});
    s_queue(ctx, (routing_fixture_queue_t){.name = "qw", .sla_s = "3600"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "la", .queues = "qb,qw"});
    routing_fixture_hours(ctx->store, ctx->script, s_at(ctx, 0, 0, 30), "la", S_LA, "09:00-17:00",
                          NULL, 0);
    char due[32];
    s_expect_rep(ctx, s_at(ctx, 0, 16, 30), "L1", "qb", "la");
    snprintf(due, sizeof due, "%" PRId64, s_at(ctx, 1, 9, 30));
    s_assert_field(ctx, "t:lead:L1", "sla_due", due);
    s_expect_rep(ctx, s_at(ctx, 0, 16, 30), "L2", "qw", "la"); /* wall clock */
    snprintf(due, sizeof due, "%" PRId64, s_at(ctx, 0, 17, 30));
    s_assert_field(ctx, "t:lead:L2", "sla_due", due);
    store_value_t *r = s_op(ctx, s_at(ctx, 1, 9, 30) - 1, "sla", 1, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1); /* L2 only */
    store_value_free(&r);
    s_assert_field(ctx, "t:lead:L1", "rep", "la");
    r = s_op(ctx, s_at(ctx, 1, 9, 30), "sla", 1, "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1); /* L1 */
    store_value_free(&r);
    /* The only rep had them both: they wait. */
    s_assert_field(ctx, "t:lead:L1", "waiting_reason", "no eligible rep: 1 already_tried");
    s_assert_field(ctx, "t:lead:L2", "waiting_reason", "no eligible rep: 1 already_tried");

    s_expect_rep(ctx, s_at(ctx, 4, 16, 45), "L3", "qb", "la");
    snprintf(due, sizeof due, "%" PRId64, s_at(ctx, 7, 9, 45));
    s_assert_field(ctx, "t:lead:L3", "sla_due", due);
}

/* ------------------------------------------------------- reassign, owners */

/* A manager moves a lead to an eligible rep: the old rep's open count
 * drops (and it takes the best waiting lead it may); never to an offline
 * rep, with the reason. */
static void test_manual_reassign(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana", .capacity = "1", .skills = "lang:fr"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ben", .capacity = "5"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "cy", .status = "offline"});
    s_expect_rep(ctx, now, "L1", "q", "ana");
    s_expect_waiting(ctx, now, "L2", "q", "lang:fr",
                     "no eligible rep: 1 at_capacity, 1 missing_skill, 1 offline");

    store_value_t *r = s_op(ctx, now, "reassign", 4, "L1", "cy", "mgr", "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 0);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""),
                        "rep cy cannot take it: offline");
    store_value_free(&r);
    s_assert_field(ctx, "t:lead:L1", "rep", "ana");
    assert_int_equal(s_int(ctx, "t:rep:ana", "open"), 1);

    r = s_op(ctx, now, "reassign", 4, "L1", "ben", "mgr", "10");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""), "reassigned to ben");
    assert_int_equal(r->count, 4);
    s_assert_assignment(store_value_at(r, 2), "L1", "q", "ben", 2);
    s_assert_assignment(store_value_at(r, 3), "L2", "q", "ana", 1); /* ana freed up */
    store_value_free(&r);
    assert_int_equal(s_int(ctx, "t:rep:ben", "open"), 1);
    assert_int_equal(s_int(ctx, "t:rep:ana", "open"), 1);
    assert_int_equal(s_count(ctx, "SCARD", "t:rep:ana:leads"), 1);
    s_assert_field(ctx, "t:lead:L1", "why", "reassigned by mgr");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(s_json_str(audit, "op"), "reassign");
    assert_string_equal(s_json_str(audit, "from_rep"), "ana");
    assert_string_equal(s_json_str(audit, "chosen"), "ben");
    json_decref(audit);

    r = s_op(ctx, now, "reassign", 4, "L1", "ben", "mgr", "10");
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
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx,
            (routing_fixture_queue_t){.name = "qa", .owner_first = "1", .owner_fallback = "team"});
    s_queue(ctx,
            (routing_fixture_queue_t){.name = "qq", .owner_first = "1", .owner_fallback = "queue"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "ana", .queues = "qa,qq", .team = "east"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "olga", .queues = "qa,qq", .team = "west"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "wes", .queues = "qa,qq", .team = "west"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "zed", .queues = "qa,qq", .team = "east"});
    store_value_free(&(store_value_t *){redis_fixture_cmd(
        ctx->store, "HSET", "t:account:acme.com", "name", "Acme Corp", "owner", "olga", NULL)});
    const char *acme = "eu.acme.com,acme.com";
    char got[ROUTING_FIXTURE_TEXT_MAX];

    assert_int_equal(s_route(ctx, now, "L1", "qa", "", acme, got), 1);
    assert_string_equal(got, "olga"); /* round robin would give it to ana */
    s_assert_field(ctx, "t:lead:L1", "why", "account owner");
    s_assert_field(ctx, "t:lead:L1", "owner", "olga");
    s_assert_field(ctx, "t:lead:L1", "account", "Acme Corp");
    assert_int_equal(s_route(ctx, now, "L2", "qa", "", "other.com", got), 1);
    assert_string_equal(got, "ana");
    s_assert_field(ctx, "t:lead:L2", "owner", "");

    s_set_rep(ctx, now, "olga", "status", "away");
    assert_int_equal(s_route(ctx, now, "L3", "qa", "", acme, got), 1);
    assert_string_equal(got, "wes");
    s_assert_field(ctx, "t:lead:L3", "why",
                   "account owner olga away; owner's team west: next in round robin");
    s_set_rep(ctx, now, "wes", "status", "offline");
    assert_int_equal(s_route(ctx, now, "L4", "qa", "", acme, got), 1);
    assert_string_equal(got, "zed"); /* no one of west: the queue's round robin */

    s_assert_field(ctx, "t:lead:L4", "why", "account owner olga away; next in round robin");
    /* The audit names the owner first, with why it could not take the lead. */
    json_t *audit = routing_fixture_last_audit(ctx->store, "L4");
    const json_t *owner = json_array_get(json_object_get(audit, "candidates"), 0);
    assert_string_equal(s_json_str(owner, "rep"), "olga");
    assert_string_equal(s_json_str(owner, "excluded"), "away");
    assert_true(json_is_true(json_object_get(owner, "owner")));
    json_decref(audit);

    s_set_rep(ctx, now, "wes", "status", "online");
    assert_int_equal(s_route(ctx, now, "L5", "qq", "", acme, got), 1);
    assert_string_equal(got, "ana"); /* fallback queue: not wes, the team's */
    s_assert_field(ctx, "t:lead:L5", "why",
                   "account owner olga away; next in round robin after 1 excluded");
    s_set_rep(ctx, now, "olga", "status", "online");
    assert_int_equal(s_route(ctx, now, "L6", "qq", "", acme, got), 1);
    assert_string_equal(got, "olga");
}

/* The audit of a decision lists every rep of the queue in round-robin
 * order, each with why it was excluded (or false), and the one chosen. */
static void test_audit_lists_excluded_reps(void **state)
{
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 6, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "amy", .status = "offline", .skills = "lang:de"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "bea", .status = "away", .skills = "lang:de"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "cal", .capacity = "1", .skills = "lang:de"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "dan", .skills = "lang:en"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "eli", .skills = "lang:de"});
    s_rep(ctx, (routing_fixture_rep_t){.id = "fay", .capacity = "1", .skills = "lang:de"});
    routing_fixture_hours(ctx->store, ctx->script, now, "eli", S_LA, "09:00-17:00", NULL, 0);
    s_expect_rep(ctx, now, "L0", "q", "cal");

    char got[ROUTING_FIXTURE_TEXT_MAX];
    assert_int_equal(s_route(ctx, now, "L1", "q", "lang:de", "", got), 1);
    assert_string_equal(got, "fay");
    json_t *audit = routing_fixture_last_audit(ctx->store, "L1");
    assert_string_equal(s_json_str(audit, "op"), "route");
    assert_string_equal(s_json_str(audit, "queue"), "q");
    assert_string_equal(s_json_str(audit, "rule"), "r1");
    assert_string_equal(s_json_str(audit, "strategy"), "round_robin");
    assert_string_equal(s_json_str(audit, "chosen"), "fay");
    assert_string_equal(s_json_str(audit, "why"), "next in round robin after 4 excluded");
    /* Round robin lists the reps it passed over, then the one it chose. */
    const char *reps[] = {"amy", "bea", "dan", "eli", "fay"};
    const char *excluded[] = {"offline", "away", "missing_skill lang:de", "out_of_hours", NULL};
    s_assert_candidates(audit, reps, excluded, 5);
    json_decref(audit);

    s_expect_waiting(ctx, now, "L2", "q", "lang:de",
                     "no eligible rep: 1 away, 1 missing_skill, 1 offline, 1 out_of_hours, 2 "
                     "at_capacity");
    /* Nobody eligible: every rep, each with its reason. */
    audit = routing_fixture_last_audit(ctx->store, "L2");
    assert_string_equal(s_json_str(audit, "outcome"), "waiting");
    assert_true(json_object_get(audit, "chosen") == NULL);
    const char *all[] = {"amy", "bea", "dan", "eli", "cal", "fay"};
    const char *why[] = {"offline",      "away",        "missing_skill lang:de",
                         "out_of_hours", "at_capacity", "at_capacity"};
    s_assert_candidates(audit, all, why, 6);
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
    store_options_t opts = redis_fixture_options(&s_redis);
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
    s_ctx_t *ctx = *state;
    int64_t now = s_at(ctx, 0, 10, 0);
    s_queue(ctx, (routing_fixture_queue_t){.name = "q"});
    long long limits = 0;
    for (int r = 0; r < S_REPS; r++) {
        char cap[16], day[16];
        snprintf(cap, sizeof cap, "%d", s_capacity[r]);
        snprintf(day, sizeof day, "%d", s_daily_cap[r]);
        s_rep(ctx, (routing_fixture_rep_t){.id = s_rep_ids[r], .capacity = cap, .daily_cap = day});
        s_any_hours(ctx, now, s_rep_ids[r]);
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
        long long open = s_int(ctx, key, "open");
        assert_int_equal(open, s_count(ctx, "SCARD", leads_key));
        if (s_daily_cap[r]) {
            assert_true(open <= s_capacity[r]);
            assert_int_equal(s_int(ctx, key, "assigned_total"), s_daily_cap[r]);
        } else {
            assert_int_equal(open, s_capacity[r]);
            assert_int_equal(s_int(ctx, key, "assigned_total"), s_capacity[r]);
        }
        store_value_t *leads = redis_fixture_cmd(ctx->store, "SMEMBERS", leads_key, NULL);
        for (size_t i = 0; i < leads->count; i++) {
            char lead_key[64];
            snprintf(lead_key, sizeof lead_key, "t:lead:%s", leads->elements[i]->str);
            s_assert_field(ctx, lead_key, "status", "assigned");
            s_assert_field(ctx, lead_key, "rep", s_rep_ids[r]);
        }
        store_value_free(&leads);
        held_total += open;
    }
    /* No lead in two reps' sets: the union is as large as the sets. */
    store_value_free(&(store_value_t *){redis_fixture_cmd(
        ctx->store, "SUNIONSTORE", "t:check:held", "t:rep:c0:leads", "t:rep:c1:leads",
        "t:rep:c2:leads", "t:rep:c3:leads", "t:rep:k0:leads", "t:rep:k1:leads", NULL)});
    assert_int_equal(s_count(ctx, "SCARD", "t:check:held"), held_total);
    assert_int_equal(s_int(ctx, "t:stats", "assigned"), limits);
    assert_int_equal(s_int(ctx, "t:stats", "closed"), limits - held_total);
    assert_int_equal(s_count(ctx, "ZCARD", "t:queue:q:waiting"), 2 * S_INSTANCE_LEADS - limits);
    assert_int_equal(s_count(ctx, "ZCARD", "t:inflight:routing"), 0);
}

int main(void)
{
    if (redis_fixture_start(&s_redis) < 0)
        return 1;
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
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
        S_TEST(test_sla_breach_reject_escalate),
        S_TEST(test_sla_in_business_hours),
        S_TEST(test_manual_reassign),
        S_TEST(test_account_owner_routing),
        S_TEST(test_audit_lists_excluded_reps),
        S_TEST(test_two_instances_hold_capacity_caps_and_assigned_once),
    };
#undef S_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop(&s_redis);
    return failed;
}
