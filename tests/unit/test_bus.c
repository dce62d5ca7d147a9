/* test_bus.c — the event bus's bursts over a real PUB/SUB pair (inproc):
 * without a delay each event goes at once; with one, events are held until
 * the oldest has waited the delay (and the poll timeout says when that
 * is), a full burst or an oversized event goes at once, the order is
 * always the order of publishing, and destroying the bus sends what it
 * holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

#include "bus.h"
#include "envelope.h"

typedef struct {
    void *ctx, *pub, *sub;
} pair_t;

static int s_setup(void **state)
{
    static int n;
    pair_t *p = calloc(1, sizeof *p);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://test-bus-%d", n++);
    p->ctx = zmq_ctx_new();
    p->sub = zmq_socket(p->ctx, ZMQ_SUB);
    p->pub = zmq_socket(p->ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(p->sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p->pub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p->sub, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal(zmq_bind(p->sub, endpoint), 0);
    assert_int_equal(zmq_connect(p->pub, endpoint), 0);
    /* A PUB drops what it sends before the subscription reaches it: wait
     * until a probe gets through. */
    char probe[8];
    for (int i = 0; i < 200; i++) {
        zmq_send(p->pub, "probe", 5, 0);
        zmq_pollitem_t item = {.socket = p->sub, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 10) == 1)
            break;
    }
    while (zmq_recv(p->sub, probe, sizeof probe, ZMQ_DONTWAIT) >= 0)
        ;
    *state = p;
    return 0;
}

static int s_teardown(void **state)
{
    pair_t *p = *state;
    zmq_close(p->pub);
    zmq_close(p->sub);
    zmq_ctx_term(p->ctx);
    free(p);
    return 0;
}

/* Receives what the SUB has within WAIT_MS into OUT (each event a string
 * "e<n>"): the number received. */
static int s_received(pair_t *p, int wait_ms, char out[][16], int most)
{
    int n = 0;
    zmq_pollitem_t item = {.socket = p->sub, .events = ZMQ_POLLIN};
    while (n < most && zmq_poll(&item, 1, wait_ms) == 1) {
        int size = zmq_recv(p->sub, out[n], 15, 0);
        assert_true(size >= 0);
        out[n][size < 15 ? size : 15] = '\0';
        n++;
        wait_ms = 20; /* the rest of a burst is there already */
    }
    return n;
}

static void s_publish_n(bus_t *bus, int from, int count)
{
    for (int i = from; i < from + count; i++) {
        char text[16];
        int size = snprintf(text, sizeof text, "e%d", i);
        bus_publish(bus, text, (size_t)size);
    }
}

static void test_without_a_delay_each_event_goes_at_once(void **state)
{
    pair_t *p = *state;
    err_t err = {0};
    bus_t *bus = bus_new(p->pub, 0, &err);
    assert_non_null(bus);
    s_publish_n(bus, 0, 3);
    assert_int_equal(bus_pending(bus), 0);
    assert_int_equal(bus_timeout_ms(bus, clock_mono_ms(), 500), 500);
    char got[4][16];
    assert_int_equal(s_received(p, 500, got, 4), 3);
    assert_string_equal(got[0], "e0");
    assert_string_equal(got[2], "e2");
    bus_destroy(&bus);
    assert_null(bus);
}

static void test_events_wait_for_the_delay_then_go_in_order(void **state)
{
    pair_t *p = *state;
    err_t err = {0};
    bus_t *bus = bus_new(p->pub, 200, &err);
    int64_t start = clock_mono_ms();
    s_publish_n(bus, 0, 5);
    assert_int_equal(bus_pending(bus), 5);
    /* The poll timeout is cut to when they are due, never longer. */
    long timeout = bus_timeout_ms(bus, clock_mono_ms(), 3000);
    assert_true(timeout <= 200 && timeout >= 150);
    assert_int_equal(bus_timeout_ms(bus, start + 500, 3000), 0);
    long from_start = bus_timeout_ms(bus, start, -1); /* the first came at start or just after */
    assert_true(from_start >= 200 && from_start <= 210);
    char got[8][16];
    bus_tick(bus, start + 100); /* not yet due */
    assert_int_equal(s_received(p, 50, got, 8), 0);
    assert_int_equal(bus_pending(bus), 5);
    bus_tick(bus, start + 250);
    assert_int_equal(bus_pending(bus), 0);
    assert_int_equal(s_received(p, 500, got, 8), 5);
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof want, "e%d", i);
        assert_string_equal(got[i], want);
    }
    bus_destroy(&bus);
}

static void test_a_full_burst_goes_at_once(void **state)
{
    pair_t *p = *state;
    err_t err = {0};
    bus_t *bus = bus_new(p->pub, 1000, &err);
    s_publish_n(bus, 0, BUS_BURST_EVENTS + 1);
    /* The first BUS_BURST_EVENTS went when the next one came; it waits. */
    assert_int_equal(bus_pending(bus), 1);
    static char got[BUS_BURST_EVENTS + 2][16];
    assert_int_equal(s_received(p, 500, got, BUS_BURST_EVENTS + 2), BUS_BURST_EVENTS);
    assert_string_equal(got[BUS_BURST_EVENTS - 1], "e511");
    bus_destroy(&bus); /* sends the last one */
    assert_int_equal(s_received(p, 500, got, 2), 1);
    assert_string_equal(got[0], "e512");
}

static void test_an_oversized_event_goes_at_once_after_the_held_ones(void **state)
{
    pair_t *p = *state;
    err_t err = {0};
    bus_t *bus = bus_new(p->pub, 1000, &err);
    s_publish_n(bus, 0, 2);
    size_t big_size = BUS_BURST_BYTES + 1;
    char *big = calloc(1, big_size);
    memcpy(big, "big", 3);
    bus_publish(bus, big, big_size);
    free(big);
    assert_int_equal(bus_pending(bus), 0);
    char got[4][16];
    assert_int_equal(s_received(p, 500, got, 4), 3);
    assert_string_equal(got[0], "e0");
    assert_string_equal(got[1], "e1");
    assert_string_equal(got[2], "big");
    bus_destroy(&bus);
}

static void test_without_a_socket_events_are_dropped(void **state)
{
    (void)state;
    err_t err = {0};
    bus_t *bus = bus_new(NULL, 10, &err);
    assert_non_null(bus);
    s_publish_n(bus, 0, 3);
    bus_flush(bus);
    assert_int_equal(bus_pending(bus), 0);
    bus_destroy(&bus);
    bus_destroy(&bus); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_without_a_delay_each_event_goes_at_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_events_wait_for_the_delay_then_go_in_order, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_full_burst_goes_at_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_an_oversized_event_goes_at_once_after_the_held_ones,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_without_a_socket_events_are_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
