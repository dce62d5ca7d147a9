/* test_metrics.c — reporting's /metrics text against a real redis-server:
 * the bus counters survive a restart of reporting (they live in <p>:bus),
 * survive Redis going away for a while (kept pending, added once it is
 * back, never twice), rejection reasons stay bounded and valid UTF-8, the
 * families printed are exactly metrics_family_names (what the Grafana
 * dashboard may name), and `promtool check metrics` accepts the page when
 * promtool is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "envelope.h"
#include "leadops.pb-c.h"
#include "metrics.h"
#include "redis_fixture.h"
#include "store.h"

#define PREFIX "t"

typedef redis_fixture_world_t s_world_t;

/* Runs one command that must succeed; its reply is dropped. */
#define s_cmd(...)                                                                                 \
    do {                                                                                           \
        store_value_t *reply_ = redis_fixture_cmd(__VA_ARGS__);                                    \
        store_value_free(&reply_);                                                                 \
    } while (0)

/* ---- events ------------------------------------------------------------- */

static void s_feed(metrics_t *metrics, Leadops__EventType type, const ProtobufCMessage *msg)
{
    err_t err = {0};
    size_t len = 0;
    uint8_t *bytes = envelope_pack(type, NULL, "test", 1000, 1000, msg, &len, &err);
    assert_non_null(bytes);
    assert_int_equal(metrics_on_event(metrics, bytes, len, &err), 0);
    free(bytes);
}

static void s_feed_lead(metrics_t *metrics)
{
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = "L1";
    s_feed(metrics, LEADOPS__EVENT_TYPE__EVENT_LEAD, &lead.base);
}

static void s_feed_assignment(metrics_t *metrics, int64_t speed_ms, uint32_t attempt)
{
    Leadops__Assignment assignment = LEADOPS__ASSIGNMENT__INIT;
    assignment.lead_id = "L1";
    assignment.ingested_at_ms = 1000000;
    assignment.assigned_at_ms = 1000000 + speed_ms;
    assignment.attempt = attempt;
    s_feed(metrics, LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT, &assignment.base);
}

static void s_feed_rejection(metrics_t *metrics, const char *reason)
{
    Leadops__Rejection rejection = LEADOPS__REJECTION__INIT;
    rejection.reason = (char *)reason;
    s_feed(metrics, LEADOPS__EVENT_TYPE__EVENT_REJECTED, &rejection.base);
}

/* ---- reading the page --------------------------------------------------- */

static char *s_render(metrics_t *metrics, store_t *store, int *redis_ok)
{
    err_t err = {0};
    size_t len = 0;
    char *text = metrics_render(metrics, store, PREFIX, &len, &err);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    if (redis_ok)
        *redis_ok = err.code == ERR_NONE;
    return text;
}

/* The value of the sample line that starts with SERIES and a space, or -1. */
static double s_sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    return -1;
}

static int s_count_lines(const char *text, const char *start)
{
    int count = 0;
    size_t n = strlen(start);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        count += strncmp(line, start, n) == 0;
    return count;
}

static bool s_is_utf8(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        size_t len = *p < 0x80             ? 1
                     : (*p & 0xe0) == 0xc0 ? 2
                     : (*p & 0xf0) == 0xe0 ? 3
                     : (*p & 0xf8) == 0xf0 ? 4
                                           : 0;
        if (len == 0 || (len == 2 && *p < 0xc2))
            return false;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += len;
    }
    return true;
}

/* ---- tests -------------------------------------------------------------- */

/* What one reporting process counted is there for the next one. */
static void test_bus_counts_survive_a_restart_of_reporting(void **state)
{
    s_world_t *world = *state;
    err_t err = {0};
    metrics_t *metrics = metrics_new(&err);
    for (int i = 0; i < 3; i++)
        s_feed_lead(metrics);
    s_feed_assignment(metrics, 40, 1);
    s_feed_assignment(metrics, 700, 1);
    s_feed_assignment(metrics, 90, 2); /* a reassignment: not a speed to lead */
    s_feed_rejection(metrics, "a lead needs an identity");
    metrics_count_malformed(metrics);
    assert_true(metrics_has_pending(metrics));
    assert_int_equal(metrics_flush(metrics, world->store, PREFIX, &err), 0);
    assert_false(metrics_has_pending(metrics));
    metrics_destroy(&metrics);
    assert_null(metrics);

    store_value_t *field =
        redis_fixture_cmd(world->store, "HGET", PREFIX ":bus", "event:lead", NULL);
    assert_string_equal(store_value_str(field, ""), "3");
    store_value_free(&field);

    metrics = metrics_new(&err); /* the restarted process */
    s_feed_lead(metrics);        /* one more, not flushed yet: rendering flushes it */
    int redis_ok = 0;
    char *text = s_render(metrics, world->store, &redis_ok);
    assert_true(redis_ok);
    assert_true(s_sample(text, "leadops_events_total{type=\"lead\"}") == 4);
    assert_true(s_sample(text, "leadops_events_total{type=\"assignment\"}") == 3);
    assert_true(s_sample(text, "leadops_events_total{type=\"rejected\"}") == 1);
    assert_true(s_sample(text, "leadops_bus_malformed_total") == 1);
    assert_true(s_sample(text, "leadops_rejected_total{reason=\"a lead needs an identity\"}") == 1);
    assert_true(s_sample(text, "leadops_bus_speed_to_lead_seconds_count") == 2);
    assert_true(s_sample(text, "leadops_bus_speed_to_lead_seconds_bucket{le=\"0.05\"}") == 1);
    assert_true(s_sample(text, "leadops_bus_speed_to_lead_seconds_bucket{le=\"1\"}") == 2);
    assert_true(s_sample(text, "leadops_bus_speed_to_lead_seconds_sum") == 0.74);
    assert_true(s_sample(text, "leadops_redis_up") == 1);
    free(text);
    /* A render with nothing new counts nothing twice. */
    text = s_render(metrics, world->store, NULL);
    assert_true(s_sample(text, "leadops_events_total{type=\"lead\"}") == 4);
    free(text);
    metrics_destroy(&metrics);
}

/* Events counted while Redis is away are added once it is back. */
static void test_counts_wait_for_redis_and_are_added_once(void **state)
{
    s_world_t *world = *state;
    err_t err = {0};
    metrics_t *metrics = metrics_new(&err);
    s_feed_lead(metrics);
    assert_int_equal(metrics_flush(metrics, world->store, PREFIX, &err), 0);

    redis_fixture_stop(&world->redis);
    s_feed_lead(metrics);
    s_feed_lead(metrics);
    err = (err_t){0};
    assert_int_equal(metrics_flush(metrics, world->store, PREFIX, &err), -1);
    assert_int_equal(err.code, ERR_IO);
    assert_true(metrics_has_pending(metrics));
    int redis_ok = 1;
    char *text = s_render(metrics, world->store, &redis_ok);
    assert_false(redis_ok);
    /* The last totals read plus what is pending; the Redis families are out. */
    assert_true(s_sample(text, "leadops_events_total{type=\"lead\"}") == 3);
    assert_true(s_sample(text, "leadops_redis_up") == 0);
    assert_int_equal(s_count_lines(text, "# TYPE leadops_queue_depth "), 0);
    free(text);

    /* Back, empty (no persistence in the fixture): the pending two land. */
    assert_int_equal(redis_fixture_restart(&world->redis), 0);
    /* The store reconnects at most every STORE_RECONNECT_MS. */
    int rc = -1;
    for (int attempt = 0; attempt < 50 && rc < 0; attempt++) {
        err = (err_t){0};
        rc = metrics_flush(metrics, world->store, PREFIX, &err);
        if (rc < 0)
            nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    assert_int_equal(rc, 0);
    assert_false(metrics_has_pending(metrics));
    assert_int_equal(metrics_flush(metrics, world->store, PREFIX, &err), 0);
    store_value_t *field =
        redis_fixture_cmd(world->store, "HGET", PREFIX ":bus", "event:lead", NULL);
    assert_string_equal(store_value_str(field, ""), "2");
    store_value_free(&field);
    metrics_destroy(&metrics);
}

/* Reasons: cut on a character boundary, invalid bytes replaced, at most
 * METRICS_MAX_REASONS label values over restarts, the rest "other". */
static void test_reasons_are_bounded_and_valid_utf8(void **state)
{
    s_world_t *world = *state;
    err_t err = {0};
    metrics_t *metrics = metrics_new(&err);
    char long_reason[256] = "x";
    for (int i = 0; i < 60; i++)
        strcat(long_reason, "\xc3\xa9"); /* é: 1 + 120 bytes, cut at 96 */
    s_feed_rejection(metrics, long_reason);
    s_feed_rejection(metrics, "bad byte \xff here");
    s_feed_rejection(metrics, "line\nbreak \"quoted\" back\\slash");
    s_feed_rejection(metrics, METRICS_OTHER_REASON);
    for (int i = 0; i < METRICS_MAX_REASONS; i++) {
        char reason[32];
        snprintf(reason, sizeof reason, "reason %02d", i);
        s_feed_rejection(metrics, reason);
    }
    assert_int_equal(metrics_flush(metrics, world->store, PREFIX, &err), 0);
    metrics_destroy(&metrics);

    metrics = metrics_new(&err); /* restarted: the cap holds over the hash */
    s_feed_rejection(metrics, "a brand new reason");
    s_feed_rejection(metrics, "reason 00");
    char *text = s_render(metrics, world->store, NULL);
    assert_true(s_is_utf8(text));
    assert_int_equal(s_count_lines(text, "leadops_rejected_total{"), METRICS_MAX_REASONS + 1);
    /* 3 + "other" itself + 29 numbered take the 32 slots with the long one... */
    double other = s_sample(text, "leadops_rejected_total{reason=\"other\"}");
    double total = 0;
    for (const char *line = strstr(text, "\nleadops_rejected_total{"); line;
         line = strstr(line + 1, "\nleadops_rejected_total{"))
        total += strtod(strchr(line, '}') + 2, NULL);
    assert_true(total == 4 + METRICS_MAX_REASONS + 2);
    assert_true(other >= 3); /* "other" as sent, and the reasons past the cap */
    assert_true(s_sample(text, "leadops_rejected_total{reason=\"reason 00\"}") == 2);
    assert_true(s_sample(text, "leadops_rejected_total{reason=\"bad byte ? here\"}") == 1);
    assert_true(
        s_sample(text,
                 "leadops_rejected_total{reason=\"line\\nbreak \\\"quoted\\\" back\\\\slash\"}") ==
        1);
    const char *cut = strstr(text, "leadops_rejected_total{reason=\"x\xc3\xa9");
    assert_non_null(cut);
    size_t label_len =
        (size_t)(strstr(cut, "\"}") - (cut + strlen("leadops_rejected_total{reason=\"")));
    assert_true(label_len <= METRICS_REASON_MAX && label_len >= METRICS_REASON_MAX - 1);
    free(text);
    metrics_destroy(&metrics);
}

/* Every family printed is listed in metrics_family_names, and the other
 * way round: the Grafana check trusts that list. */
static void test_families_are_the_listed_ones(void **state)
{
    s_world_t *world = *state;
    s_cmd(world->store, "SADD", PREFIX ":queues", "emea", NULL);
    s_cmd(world->store, "SADD", PREFIX ":reps", "rep-ann", NULL);
    s_cmd(world->store, "HSET", PREFIX ":rep:rep-ann", "capacity", "4", "open", "1", "status",
          "online", NULL);
    s_cmd(world->store, "SADD", PREFIX ":rep:rep-ann:queues", "emea", NULL);
    s_cmd(world->store, "ZADD", PREFIX ":queue:emea:rr", "1", "rep-ann", NULL);
    err_t err = {0};
    metrics_t *metrics = metrics_new(&err);
    s_feed_rejection(metrics, "no");
    char *text = s_render(metrics, world->store, NULL);
    int listed = 0;
    for (const char *const *name = metrics_family_names; *name; name++, listed++) {
        char type_line[128];
        snprintf(type_line, sizeof type_line, "# TYPE %s ", *name);
        if (s_count_lines(text, type_line) != 1)
            fail_msg("family %s is listed but printed %d times", *name,
                     s_count_lines(text, type_line));
    }
    assert_int_equal(s_count_lines(text, "# TYPE "), listed);
    assert_true(s_sample(text, "leadops_rep_utilization_ratio{rep=\"rep-ann\"}") == 0.25);
    assert_true(s_sample(text, "leadops_queue_reps_online{queue=\"emea\"}") == 1);

    /* promtool, when installed, is the judge of the format. */
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[] = "/tmp/leadops-test-metrics-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fputs(text, f);
        fclose(f);
        char command[128];
        snprintf(command, sizeof command, "promtool check metrics < %s", path);
        int rc = system(command);
        unlink(path);
        assert_int_equal(rc, 0);
    } else {
        fprintf(stderr, "promtool not installed: format not checked by it\n");
    }
    free(text);
    metrics_destroy(&metrics);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bus_counts_survive_a_restart_of_reporting, redis_fixture_flush),
        cmocka_unit_test_setup(test_counts_wait_for_redis_and_are_added_once, redis_fixture_flush),
        cmocka_unit_test_setup(test_reasons_are_bounded_and_valid_utf8, redis_fixture_flush),
        cmocka_unit_test_setup(test_families_are_the_listed_ones, redis_fixture_flush),
    };
    return cmocka_run_group_tests(tests, redis_fixture_group_setup, redis_fixture_group_teardown);
}
