/* The queues' webhooks (services/routing/routing_notify.c) against a real
 * Redis and a real HTTP server (libmicrohttpd on a free loopback port, its
 * own threads): notices appended to <prefix>:notify reach the webhook as
 * JSON and are acknowledged; a 500 is retried with back-off, a 404 is not;
 * notices left by a dead consumer are taken over; stop is prompt even in
 * the middle of a slow post; and the log never shows a webhook's path or a
 * notice's text. LEADOPS_NOTIFY_BACKOFF_MS shortens the back-off to 100 ms.
 * stderr is captured from the group setup to the last test, which checks it
 * and then replays it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
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
#include "log.h"
#include "redis_fixture.h"
#include "routing_internal.h"

#define PREFIX         "nt"
#define STREAM         PREFIX ":notify"
#define GROUP          "notify" /* routing_notify.c's consumer group */
#define HOOK_PATH      "/hook/T0SECRET/B0SECRET"
#define PATH_SECRET    "0SECRET"
#define TEXT_SECRET    "PRIVATE-REASON"
#define BACKOFF_MS     100
#define WAIT_MS        5000
#define REQUESTS_MAX   32
#define BODY_MAX       4096
#define SLOW_HOLD_MS   3000
#define STOP_PROMPT_MS 1500

/* One request the server received. */
typedef struct {
    char path[128];
    char body[BODY_MAX];
    char content_type[64];
    int64_t at_ms; /* monotonic */
} s_request_t;

static redis_fixture_t s_redis;
static store_t *s_store;
static config_t *s_cfg;
static struct MHD_Daemon *s_httpd;
static int s_http_port;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_request_t s_requests[REQUESTS_MAX];
static int s_request_count;
static int s_flaky_count;
static volatile int s_release_slow;
static char s_log_path[] = "/tmp/leadops-test-notify-XXXXXX";
static int s_saved_stderr = -1;
static routing_notify_t *s_notify; /* the test's, stopped by s_teardown if it fails */

/* ---- the webhook server ------------------------------------------------- */

typedef struct {
    char body[BODY_MAX];
    size_t len;
} s_upload_t;

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* /hook/...: 200. /flaky: 500 twice, then 200. /gone: 404. /slow: holds
 * the answer up to SLOW_HOLD_MS (the client should give up first). */
static unsigned s_status_for(const char *path)
{
    if (strcmp(path, "/flaky") == 0) {
        pthread_mutex_lock(&s_lock);
        int n = ++s_flaky_count;
        pthread_mutex_unlock(&s_lock);
        return n <= 2 ? 500 : 200;
    }
    if (strcmp(path, "/gone") == 0)
        return 404;
    if (strcmp(path, "/slow") == 0)
        for (int waited = 0; waited < SLOW_HOLD_MS && !s_release_slow; waited += 20)
            s_sleep_ms(20);
    return 200;
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)cls;
    (void)method;
    (void)version;
    s_upload_t *upload = *con_cls;
    if (!upload) {
        *con_cls = calloc(1, sizeof *upload);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        size_t room = sizeof upload->body - 1 - upload->len;
        size_t n = *upload_data_size < room ? *upload_data_size : room;
        memcpy(upload->body + upload->len, upload_data, n);
        upload->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *content_type =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    pthread_mutex_lock(&s_lock);
    if (s_request_count < REQUESTS_MAX) {
        s_request_t *r = &s_requests[s_request_count++];
        snprintf(r->path, sizeof r->path, "%s", url);
        snprintf(r->body, sizeof r->body, "%s", upload->body);
        snprintf(r->content_type, sizeof r->content_type, "%s", content_type ? content_type : "");
        r->at_ms = clock_mono_ms();
    }
    pthread_mutex_unlock(&s_lock);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(conn, s_status_for(url), response);
    MHD_destroy_response(response);
    return rc;
}

static void s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    free(*con_cls);
    *con_cls = NULL;
}

/* Requests received for PATH so far; copies the I-th into OUT if not NULL. */
static int s_received(const char *path, int i, s_request_t *out)
{
    int n = 0;
    pthread_mutex_lock(&s_lock);
    for (int k = 0; k < s_request_count; k++) {
        if (strcmp(s_requests[k].path, path) != 0)
            continue;
        if (n == i && out)
            *out = s_requests[k];
        n++;
    }
    pthread_mutex_unlock(&s_lock);
    return n;
}

/* Waits up to WAIT_MS for COUNT requests to PATH; returns how many came. */
static int s_wait_received(const char *path, int count)
{
    int64_t until = clock_mono_ms() + WAIT_MS;
    int n;
    while ((n = s_received(path, 0, NULL)) < count && clock_mono_ms() < until)
        s_sleep_ms(10);
    return n;
}

/* ---- Redis helpers ------------------------------------------------------ */

#define CMD(...) redis_fixture_cmd(s_store, __VA_ARGS__, (const char *)NULL)

/* Appends a notice as routing.lua does; writes its entry id into ID. */
static void s_notice(const char *queue, const char *kind, const char *lead, const char *text,
                     char id[64])
{
    store_value_t *r = CMD("XADD", STREAM, "*", "queue", queue, "kind", kind, "lead", lead, "rep",
                           "rep-ann", "text", text, "at", "1700000000123");
    snprintf(id, 64, "%s", store_value_str(r, ""));
    store_value_free(&r);
}

/* Notices read by the group and not acknowledged. */
static long long s_pending(void)
{
    store_value_t *r = CMD("XPENDING", STREAM, GROUP);
    long long n = store_value_int(store_value_at(r, 0), -1);
    store_value_free(&r);
    return n;
}

/* Waits up to WAIT_MS for the pending count to reach WANT. */
static long long s_wait_pending(long long want)
{
    int64_t until = clock_mono_ms() + WAIT_MS;
    long long n;
    while ((n = s_pending()) != want && clock_mono_ms() < until)
        s_sleep_ms(10);
    return n;
}

static void s_start(void)
{
    err_t err = {0};
    s_notify = routing_notify_start(s_cfg, &err);
    if (!s_notify)
        fail_msg("routing_notify_start: %s", err.msg);
}

/* Stops the test's sender and returns how long that took (ms). */
static int64_t s_stop(void)
{
    int64_t start = clock_mono_ms();
    routing_notify_stop(&s_notify);
    assert_null(s_notify);
    return clock_mono_ms() - start;
}

/* ---- fixtures ----------------------------------------------------------- */

static config_t *s_load_config(const char *yaml)
{
    char dir[] = "/tmp/leadops-notify-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return NULL;
    snprintf(path, sizeof path, "%s/leadops.yaml", dir);
    FILE *file = fopen(path, "w");
    config_t *cfg = NULL;
    if (file) {
        fputs(yaml, file);
        fclose(file);
        err_t err = {0};
        if (!(cfg = config_load(path, &err)))
            fprintf(stderr, "config: %s\n", err.msg);
    }
    unlink(path);
    rmdir(dir);
    return cfg;
}

/* A config of queues with webhooks at 127.0.0.1:HTTP_PORT when WEBHOOKS,
 * none otherwise, and one rep. */
static config_t *s_config(bool webhooks)
{
    char yaml[2048], hook[128];
    int n = snprintf(yaml, sizeof yaml,
                     "redis:\n"
                     "  port: %d\n"
                     "  prefix: " PREFIX "\n"
                     "routing:\n"
                     "  fallback_queue: quiet\n"
                     "  queues:\n"
                     "    - name: quiet\n",
                     s_redis.port);
    const char *hooked[][2] = {
        {"hooked", HOOK_PATH}, {"flaky", "/flaky"}, {"gone", "/gone"}, {"slow", "/slow"}};
    for (size_t i = 0; i < sizeof hooked / sizeof hooked[0]; i++) {
        snprintf(hook, sizeof hook, "      webhook: http://127.0.0.1:%d%s\n", s_http_port,
                 hooked[i][1]);
        n += snprintf(yaml + n, sizeof yaml - (size_t)n, "    - name: %s\n%s", hooked[i][0],
                      webhooks ? hook : "");
    }
    snprintf(yaml + n, sizeof yaml - (size_t)n,
             "  reps:\n"
             "    - { id: rep-ann, name: Ann, capacity: 5, "
             "queues: [quiet, hooked, flaky, gone, slow], status: online }\n");
    return s_load_config(yaml);
}

static int s_group_setup(void **state)
{
    (void)state;
    int log_fd = mkstemp(s_log_path);
    if (log_fd < 0)
        return -1;
    fflush(stderr);
    s_saved_stderr = dup(STDERR_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close(log_fd);
    log_init("routing", LOG_DEBUG, false);
    setenv("LEADOPS_NOTIFY_BACKOFF_MS", "100", 1);

    for (int attempt = 0; attempt < 5 && !s_httpd; attempt++) {
        s_http_port = fixture_free_port();
        s_httpd =
            MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                             (uint16_t)s_http_port, NULL, NULL, s_on_request, NULL,
                             MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, NULL, MHD_OPTION_END);
    }
    if (!s_httpd || redis_fixture_start_store(&s_redis, &s_store) < 0)
        return -1;
    return (s_cfg = s_config(true)) ? 0 : -1;
}

static void s_restore_stderr(void)
{
    if (s_saved_stderr < 0)
        return;
    fflush(stderr);
    dup2(s_saved_stderr, STDERR_FILENO);
    close(s_saved_stderr);
    s_saved_stderr = -1;
}

static int s_group_teardown(void **state)
{
    (void)state;
    s_restore_stderr();
    s_release_slow = 1;
    if (s_httpd)
        MHD_stop_daemon(s_httpd);
    config_destroy(&s_cfg);
    redis_fixture_stop_store(&s_redis, &s_store);
    unlink(s_log_path);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    routing_notify_stop(&s_notify);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_no_webhook_no_thread(void **state)
{
    (void)state;
    config_t *cfg = s_config(false);
    assert_non_null(cfg);
    err_t err = {.code = ERR_IO};
    assert_null(routing_notify_start(cfg, &err));
    assert_int_equal(err.code, ERR_NONE);
    config_destroy(&cfg);
}

static void test_delivers_json_and_acks(void **state)
{
    (void)state;
    s_start();
    char id[64];
    s_notice("hooked", "assignment", "lead-1001", "assigned to rep-ann (account owner)", id);
    s_notice("hooked", "rejected", "lead-1002", "rejected by rep-ann: <!channel> " TEXT_SECRET, id);
    assert_int_equal(s_wait_received(HOOK_PATH, 2), 2);

    const char *leads[] = {"lead-1001", "lead-1002"};
    const char *kinds[] = {"assignment", "rejected"};
    for (int i = 0; i < 2; i++) {
        s_request_t r;
        s_received(HOOK_PATH, i, &r);
        assert_string_equal(r.content_type, "application/json");
        json_error_t error;
        json_t *body = json_loads(r.body, 0, &error);
        assert_non_null(body);
        const char *text = json_string_value(json_object_get(body, "text"));
        assert_non_null(text);
        assert_non_null(strstr(text, leads[i]));
        assert_string_equal(json_string_value(json_object_get(body, "lead_id")), leads[i]);
        assert_string_equal(json_string_value(json_object_get(body, "queue")), "hooked");
        assert_string_equal(json_string_value(json_object_get(body, "kind")), kinds[i]);
        assert_string_equal(json_string_value(json_object_get(body, "rep_id")), "rep-ann");
        assert_int_equal(json_integer_value(json_object_get(body, "at")), 1700000000123LL);
        if (i == 1) /* Slack mrkdwn: a rep's words cannot ping a channel */
            assert_non_null(strstr(text, "&lt;!channel&gt;"));
        json_decref(body);
    }
    assert_int_equal(s_wait_pending(0), 0);
    assert_true(s_stop() < STOP_PROMPT_MS);
}

static void test_retries_5xx_with_backoff(void **state)
{
    (void)state;
    s_start();
    char id[64];
    s_notice("flaky", "sla_breach", "lead-2001", "not accepted within 300 s", id);
    assert_int_equal(s_wait_received("/flaky", 3), 3);
    assert_int_equal(s_wait_pending(0), 0);
    s_request_t first = {0}, second = {0}, third = {0};
    s_received("/flaky", 0, &first);
    s_received("/flaky", 1, &second);
    s_received("/flaky", 2, &third);
    /* 1 base, then 2 bases (a little slack for the clock) */
    assert_true(second.at_ms - first.at_ms >= BACKOFF_MS - 10);
    assert_true(third.at_ms - second.at_ms >= 2 * BACKOFF_MS - 10);
    assert_non_null(strstr(third.body, "lead-2001"));
    s_sleep_ms(8 * BACKOFF_MS); /* delivered: no fourth try */
    assert_int_equal(s_received("/flaky", 0, NULL), 3);
    s_stop();
}

static void test_drops_404_without_retry(void **state)
{
    (void)state;
    s_start();
    char id[64];
    s_notice("gone", "escalation", "lead-3001", "3 tries in gone: escalated to quiet", id);
    assert_int_equal(s_wait_received("/gone", 1), 1);
    assert_int_equal(s_wait_pending(0), 0);
    s_sleep_ms(10 * BACKOFF_MS); /* retries, had there been any, would have come by now */
    assert_int_equal(s_received("/gone", 0, NULL), 1);
    s_stop();
}

static void test_takes_over_a_dead_consumer(void **state)
{
    (void)state;
    char id[64];
    s_notice("hooked", "assignment", "lead-4001", "assigned to rep-ann (round robin)", id);
    /* A consumer read it and died 60 s ago. */
    store_value_t *r =
        CMD("XREADGROUP", "GROUP", GROUP, "deadhost:1", "COUNT", "10", "STREAMS", STREAM, ">");
    store_value_free(&r);
    r = CMD("XCLAIM", STREAM, GROUP, "deadhost:1", "0", id, "IDLE", "60000", "JUSTID");
    store_value_free(&r);
    assert_int_equal(s_pending(), 1);

    int before = s_received(HOOK_PATH, 0, NULL);
    s_start();
    assert_int_equal(s_wait_received(HOOK_PATH, before + 1), before + 1);
    s_request_t last;
    s_received(HOOK_PATH, before, &last);
    assert_non_null(strstr(last.body, "lead-4001"));
    assert_int_equal(s_wait_pending(0), 0);
    s_stop();
}

static void test_stop_is_prompt_mid_post(void **state)
{
    (void)state;
    s_start();
    char id[64];
    s_notice("slow", "assignment", "lead-5001", "assigned to rep-ann (least loaded)", id);
    assert_int_equal(s_wait_received("/slow", 1), 1);
    s_sleep_ms(50); /* the post is in progress: the server holds its answer */
    assert_true(s_stop() < STOP_PROMPT_MS);
    s_release_slow = 1;
    /* Not acknowledged: another instance takes it over (at least once). */
    assert_int_equal(s_pending(), 1);
}

static void test_log_keeps_secrets(void **state)
{
    (void)state;
    s_restore_stderr();
    FILE *file = fopen(s_log_path, "r");
    assert_non_null(file);
    static char log[1 << 16];
    size_t len = fread(log, 1, sizeof log - 1, file);
    log[len] = '\0';
    fclose(file);
    fputs(log, stderr);                       /* the captured log, for whoever reads a failure */
    assert_non_null(strstr(log, "HTTP 404")); /* the refusal is logged with its status */
    assert_non_null(strstr(log, "127.0.0.1"));
    assert_null(strstr(log, PATH_SECRET));
    assert_null(strstr(log, TEXT_SECRET));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_no_webhook_no_thread, s_teardown),
        cmocka_unit_test_teardown(test_delivers_json_and_acks, s_teardown),
        cmocka_unit_test_teardown(test_retries_5xx_with_backoff, s_teardown),
        cmocka_unit_test_teardown(test_drops_404_without_retry, s_teardown),
        cmocka_unit_test_teardown(test_takes_over_a_dead_consumer, s_teardown),
        cmocka_unit_test_teardown(test_stop_is_prompt_mid_post, s_teardown),
        cmocka_unit_test_teardown(test_log_keeps_secrets, s_teardown),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
