/* leadops-ingest's ZeroMQ door against a real Redis and real sockets: the
 * service runs in a thread of this test (its sockets and Redis context stay
 * in that thread); the test is a producer on a DEALER socket. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

#include "envelope.h"
#include "ingest.h"
#include "redis_fixture.h"
#include "zutil.h"

static redis_fixture_t s_redis;

typedef struct {
    config_t *cfg;
    void *zmq_ctx;
    ingest_t *ingest;
    pthread_t thread;
    volatile sig_atomic_t stop;
    void *producer; /* DEALER */
    void *scoring;  /* PULL, standing in for scoring */
    char endpoint[64];
} s_ctx_t;

static void *s_run(void *arg)
{
    s_ctx_t *ctx = arg;
    ingest_run(ctx->ingest, &ctx->stop);
    return NULL;
}

static void s_setenv_port(const char *name, const char *fmt, int port)
{
    char value[64];
    snprintf(value, sizeof value, fmt, port);
    setenv(name, value, 1);
}

static int s_setup(void **state)
{
    s_ctx_t *ctx = calloc(1, sizeof *ctx);
    s_setenv_port("LEADOPS_REDIS_PORT", "%d", s_redis.port);
    int ingest_port = fixture_free_port(), scoring_port = fixture_free_port();
    s_setenv_port("LEADOPS_ENDPOINTS_INGEST", "tcp://127.0.0.1:%d", ingest_port);
    s_setenv_port("LEADOPS_ENDPOINTS_SCORING", "tcp://127.0.0.1:%d", scoring_port);
    s_setenv_port("LEADOPS_ENDPOINTS_EVENTS", "tcp://127.0.0.1:%d", fixture_free_port());
    setenv("LEADOPS_HTTP_INGEST_LISTEN", "127.0.0.1:0", 1);
    setenv("LEADOPS_INGEST_MAX_BODY_BYTES", "4096", 1);
    setenv("LEADOPS_INGEST_REDELIVERY_MS", "300", 1);
    err_t err = {0};
    ctx->cfg = config_load(NULL, &err);
    if (!ctx->cfg)
        fail_msg("config: %s", err.msg);
    ctx->zmq_ctx = zmq_ctx_new();
    /* scoring's PULL binds; ingest connects to it. */
    ctx->scoring = zutil_socket(ctx->zmq_ctx, ZMQ_PULL, ctx->cfg->ep_scoring, true, 1000, &err);
    assert_non_null(ctx->scoring);
    ctx->ingest = ingest_new(ctx->cfg, ctx->zmq_ctx, &err);
    if (!ctx->ingest)
        fail_msg("ingest_new: %s", err.msg);
    pthread_create(&ctx->thread, NULL, s_run, ctx);
    ctx->producer = zutil_socket(ctx->zmq_ctx, ZMQ_DEALER, ctx->cfg->ep_ingest, false, 1000, &err);
    assert_non_null(ctx->producer);
    store_options_t opts = redis_fixture_options(&s_redis);
    store_t *store = store_new(&opts, true, &err);
    store_value_t *r = store_command(store, &err, "FLUSHALL");
    store_value_free(&r);
    store_destroy(&store);
    *state = ctx;
    return 0;
}

static int s_teardown(void **state)
{
    s_ctx_t *ctx = *state;
    ctx->stop = 1;
    pthread_join(ctx->thread, NULL);
    ingest_destroy(&ctx->ingest);
    zutil_close(&ctx->producer);
    zutil_close(&ctx->scoring);
    zmq_ctx_term(ctx->zmq_ctx);
    config_destroy(&ctx->cfg);
    free(ctx);
    return 0;
}

/* Sends BYTES as one request and returns the Ack (caller frees). */
static Leadops__Ack *s_request(s_ctx_t *ctx, const void *bytes, size_t size)
{
    zmq_send(ctx->producer, "", 0, ZMQ_SNDMORE);
    zmq_send(ctx->producer, bytes, size, 0);
    zmq_pollitem_t item = {.socket = ctx->producer, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, 5000) != 1)
        fail_msg("no ack within 5 s");
    zutil_frames_t frames;
    assert_int_equal(zutil_recv_frames(ctx->producer, &frames, 1 << 20, 0), 0);
    err_t err = {0};
    Leadops__Envelope *env =
        envelope_decode(frames.data[frames.count - 1], frames.size[frames.count - 1], &err);
    assert_non_null(env);
    Leadops__Ack *ack = envelope_ack(env, &err);
    assert_non_null(ack);
    leadops__envelope__free_unpacked(env, NULL);
    zutil_frames_clear(&frames);
    return ack;
}

static Leadops__Ack *s_send_lead(s_ctx_t *ctx, const char *event_id, const char *lead_id,
                                 const char *email)
{
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = (char *)lead_id;
    lead.email = (char *)email;
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, event_id, "test", 0, 0,
                                   &lead.base, &len, NULL);
    Leadops__Ack *ack = s_request(ctx, bytes, len);
    free(bytes);
    return ack;
}

/* Receives one envelope forwarded to scoring, or NULL after TIMEOUT_MS. */
static Leadops__Envelope *s_forwarded(s_ctx_t *ctx, int timeout_ms)
{
    zmq_pollitem_t item = {.socket = ctx->scoring, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, timeout_ms) != 1)
        return NULL;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    zmq_msg_recv(&msg, ctx->scoring, 0);
    Leadops__Envelope *env = envelope_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), NULL);
    zmq_msg_close(&msg);
    return env;
}

static void test_accepts_normalizes_and_forwards(void **state)
{
    s_ctx_t *ctx = *state;
    Leadops__Ack *ack = s_send_lead(ctx, "ev-1", "L-1", "Ann@Example.ORG");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    assert_string_equal(ack->lead_id, "L-1");
    leadops__ack__free_unpacked(ack, NULL);

    Leadops__Envelope *env = s_forwarded(ctx, 2000);
    assert_non_null(env);
    assert_string_equal(env->event_id, "ev-1");
    assert_true(env->ingested_at_ms > 0);
    Leadops__Lead *lead = envelope_lead(env, NULL);
    assert_string_equal(lead->email, "ann@example.org");
    assert_string_equal(lead->domain, "example.org");
    leadops__lead__free_unpacked(lead, NULL);
    leadops__envelope__free_unpacked(env, NULL);
}

static void test_duplicate_event_is_acknowledged_once(void **state)
{
    s_ctx_t *ctx = *state;
    Leadops__Ack *ack = s_send_lead(ctx, "ev-dup", "L-2", "b@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    leadops__ack__free_unpacked(ack, NULL);
    ack = s_send_lead(ctx, "ev-dup", "L-2", "b@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__DUPLICATE);
    assert_string_equal(ack->lead_id, "L-2");
    leadops__ack__free_unpacked(ack, NULL);
    Leadops__Envelope *env = s_forwarded(ctx, 2000);
    assert_non_null(env);
    leadops__envelope__free_unpacked(env, NULL);
    /* The duplicate was not forwarded a second time (redelivery of the
     * first, unacknowledged by a scoring service, comes after 300 ms). */
    assert_null(s_forwarded(ctx, 100));
}

static void test_bad_input_gets_error_acks_and_service_goes_on(void **state)
{
    s_ctx_t *ctx = *state;
    const char garbage[] = "\xff\xff\xff\xff not protobuf";
    Leadops__Ack *ack = s_request(ctx, garbage, sizeof garbage);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "malformed envelope"));
    leadops__ack__free_unpacked(ack, NULL);

    /* A well-formed envelope of a type ingest does not take. */
    Leadops__Ack not_an_event = LEADOPS__ACK__INIT;
    size_t wrong_len;
    uint8_t *wrong = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_ACK, "ev-wrong", "test", 0, 0,
                                   &not_an_event.base, &wrong_len, NULL);
    ack = s_request(ctx, wrong, wrong_len);
    free(wrong);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "lead and activity events only"));
    leadops__ack__free_unpacked(ack, NULL);

    /* A valid envelope cut in half. */
    Leadops__Lead cut_lead = LEADOPS__LEAD__INIT;
    cut_lead.lead_id = "L-cut";
    cut_lead.company = "A company with a long enough name to cut";
    size_t cut_len;
    uint8_t *cut = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, "ev-cut", "test", 0, 0,
                                 &cut_lead.base, &cut_len, NULL);
    ack = s_request(ctx, cut, cut_len / 2);
    free(cut);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "malformed"));
    leadops__ack__free_unpacked(ack, NULL);

    char big[8192];
    memset(big, 'x', sizeof big);
    ack = s_request(ctx, big, sizeof big);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "exceeds ingest.max_body_bytes"));
    leadops__ack__free_unpacked(ack, NULL);

    ack = s_send_lead(ctx, "ev-3", "L-3", NULL);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "a lead needs an identity"));
    leadops__ack__free_unpacked(ack, NULL);

    Leadops__Activity activity = LEADOPS__ACTIVITY__INIT;
    activity.lead_id = "L-3";
    activity.type = "teleport";
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_ACTIVITY, "ev-4", "test", 0, 0,
                                   &activity.base, &len, NULL);
    ack = s_request(ctx, bytes, len);
    free(bytes);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "unknown activity type"));
    leadops__ack__free_unpacked(ack, NULL);

    /* Still serving; the rejects were counted and dead-lettered. */
    ack = s_send_lead(ctx, "ev-5", "L-5", "c@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    leadops__ack__free_unpacked(ack, NULL);
    store_options_t opts = redis_fixture_options(&s_redis);
    err_t err = {0};
    store_t *store = store_new(&opts, true, &err);
    store_value_t *r = store_command(store, &err, "HGET leadops:stats rejected");
    assert_int_equal(store_value_int(r, -1), 6);
    store_value_free(&r);
    r = store_command(store, &err, "XLEN leadops:deadletter");
    assert_int_equal(store_value_int(r, -1), 6);
    store_value_free(&r);
    /* Stored reasons are classes: the input ("teleport") is not kept. */
    r = store_command(store, &err, "HGET leadops:rejects %s",
                      "unknown activity type  (see ingest.activity_types)");
    assert_int_equal(store_value_int(r, -1), 1);
    store_value_free(&r);
    r = store_command(store, &err, "HGET leadops:rejects %s",
                      "frame of # bytes exceeds ingest.max_body_bytes");
    assert_int_equal(store_value_int(r, -1), 1);
    store_value_free(&r);
    store_destroy(&store);
}

static void test_unacknowledged_forward_is_redelivered(void **state)
{
    s_ctx_t *ctx = *state;
    Leadops__Ack *ack = s_send_lead(ctx, "ev-6", "L-6", "d@example.org");
    leadops__ack__free_unpacked(ack, NULL);
    Leadops__Envelope *first = s_forwarded(ctx, 2000);
    assert_non_null(first);
    /* Nobody applied it (no scoring here): it comes again, same event. */
    Leadops__Envelope *again = s_forwarded(ctx, 3000);
    assert_non_null(again);
    assert_string_equal(again->event_id, "ev-6");
    leadops__envelope__free_unpacked(first, NULL);
    leadops__envelope__free_unpacked(again, NULL);
}

static void test_store_down_answers_busy_then_recovers(void **state)
{
    s_ctx_t *ctx = *state;
    redis_fixture_stop(&s_redis);
    Leadops__Ack *ack = s_send_lead(ctx, "ev-7", "L-7", "e@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__BUSY);
    assert_true(ack->retry_after_ms > 0);
    leadops__ack__free_unpacked(ack, NULL);
    assert_int_equal(redis_fixture_restart(&s_redis), 0);
    /* The store reconnects by itself (at most every 200 ms). */
    Leadops__Ack__Status status = LEADOPS__ACK__STATUS__BUSY;
    for (int i = 0; i < 50 && status == LEADOPS__ACK__STATUS__BUSY; i++) {
        ack = s_send_lead(ctx, "ev-7", "L-7", "e@example.org");
        status = ack->status;
        leadops__ack__free_unpacked(ack, NULL);
        if (status == LEADOPS__ACK__STATUS__BUSY)
            zmq_poll(NULL, 0, 100);
    }
    assert_int_equal(status, LEADOPS__ACK__STATUS__ACCEPTED);
}

/* Redis forgets its functions (FUNCTION FLUSH, or a restart without
 * persistence the store did not notice): the store loads them again and the
 * event is accepted, once. */
static void test_lost_functions_are_loaded_again(void **state)
{
    s_ctx_t *ctx = *state;
    Leadops__Ack *ack = s_send_lead(ctx, "ev-f1", "L-f1", "f@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    leadops__ack__free_unpacked(ack, NULL);
    err_t err = {0};
    store_options_t opts = redis_fixture_options(&s_redis);
    store_t *store = store_new(&opts, true, &err);
    assert_non_null(store);
    store_value_t *r = store_command(store, &err, "FUNCTION FLUSH");
    assert_non_null(r);
    assert_int_not_equal(r->type, STORE_ERROR);
    store_value_free(&r);
    r = store_command(store, &err, "FUNCTION LIST");
    assert_int_equal(r->count, 0);
    store_value_free(&r);

    ack = s_send_lead(ctx, "ev-f2", "L-f2", "g@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    leadops__ack__free_unpacked(ack, NULL);
    r = store_command(store, &err, "FUNCTION LIST");
    assert_true(r->count >= 1);
    store_value_free(&r);
    r = store_command(store, &err, "HGET leadops:stats ingested_leads");
    assert_string_equal(store_value_str(r, ""), "2");
    store_value_free(&r);
    store_destroy(&store);
}

static int s_setup_small_limit(void **state)
{
    setenv("LEADOPS_INGEST_INFLIGHT_LIMIT", "2", 1);
    int rc = s_setup(state);
    unsetenv("LEADOPS_INGEST_INFLIGHT_LIMIT");
    return rc;
}

static void test_backpressure_refuses_without_losing(void **state)
{
    s_ctx_t *ctx = *state;
    Leadops__Ack *ack;
    const char *ids[] = {"bp-1", "bp-2"};
    for (int i = 0; i < 2; i++) {
        ack = s_send_lead(ctx, ids[i], ids[i], "x@example.org");
        assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
        leadops__ack__free_unpacked(ack, NULL);
    }
    /* Nobody scores here: two events wait, the limit is two. */
    ack = s_send_lead(ctx, "bp-3", "bp-3", "x@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__BUSY);
    assert_non_null(strstr(ack->reason, "downstream is behind"));
    assert_true(ack->retry_after_ms > 0);
    leadops__ack__free_unpacked(ack, NULL);
    /* Scoring catches up (as its apply script would): the retry is
     * accepted, not taken for a duplicate. */
    store_options_t opts = redis_fixture_options(&s_redis);
    err_t err = {0};
    store_t *store = store_new(&opts, true, &err);
    store_value_t *r = store_command(store, &err, "DEL leadops:inflight:scoring");
    store_value_free(&r);
    store_destroy(&store);
    ack = s_send_lead(ctx, "bp-3", "bp-3", "x@example.org");
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    leadops__ack__free_unpacked(ack, NULL);
}

static void test_future_times_and_negative_values_are_refused(void **state)
{
    s_ctx_t *ctx = *state;
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = "future-1";
    lead.company = "Acme";
    lead.created_at_ms = clock_now_ms() + 3LL * 86400 * 1000;
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, "ev-future", "test", 0, 0,
                                   &lead.base, &len, NULL);
    Leadops__Ack *ack = s_request(ctx, bytes, len);
    free(bytes);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "in the future"));
    leadops__ack__free_unpacked(ack, NULL);

    Leadops__Activity deal = LEADOPS__ACTIVITY__INIT;
    deal.lead_id = "L-1";
    deal.type = "deal_won";
    deal.value = -500;
    bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_ACTIVITY, "ev-negative", "test", 0, 0,
                          &deal.base, &len, NULL);
    ack = s_request(ctx, bytes, len);
    free(bytes);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__REJECTED);
    assert_non_null(strstr(ack->reason, "must not be negative"));
    leadops__ack__free_unpacked(ack, NULL);
}

int main(void)
{
    if (redis_fixture_start(&s_redis) < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accepts_normalizes_and_forwards, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_event_is_acknowledged_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_gets_error_acks_and_service_goes_on, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unacknowledged_forward_is_redelivered, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_store_down_answers_busy_then_recovers, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_lost_functions_are_loaded_again, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_refuses_without_losing,
                                        s_setup_small_limit, s_teardown),
        cmocka_unit_test_setup_teardown(test_future_times_and_negative_values_are_refused, s_setup,
                                        s_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    redis_fixture_stop(&s_redis);
    return failed;
}
