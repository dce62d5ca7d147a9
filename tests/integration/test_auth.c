/* Who may talk to LeadOps, against a real Redis (an ACL user, as the secured
 * profile suggests) and real sockets: bearer tokens on ingest's HTTP door and
 * reporting's API, CurveZMQ with the ZAP handler on ingest's ROUTER, reload
 * on SIGHUP, and no secret in the log. The services run in threads of this
 * test (their sockets and Redis contexts stay in those threads); stderr is
 * captured from the first service start to the last test, which reads it. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "auth.h"
#include "envelope.h"
#include "ingest.h"
#include "log.h"
#include "producer.h"
#include "redis_fixture.h"
#include "reporting.h"
#include "service.h"
#include "zutil.h"

#define TOKEN_ALPHA    "tok-alpha-7f3a9c1e5b2d4f60"
#define TOKEN_BETA     "tok-beta-0c8e2a4b6d1f3e5a"
#define TOKEN_GAMMA    "tok-gamma-91d7b3f5a2c4e6b8"
#define TOKEN_WRONG    "tok-wrong-5e5e5e5e5e5e5e5e"
#define REDIS_USER     "leadops-test"
#define REDIS_PASSWORD "redis-pw-3b1d9f7e2a6c"
#define LEAD_EMAIL     "ann.secret@example.org"
#define NO_ACK_WAIT_MS 1500
#define RELOAD_WAIT_MS 5000
#define KEY_TEXT       (ZUTIL_Z85_KEY_LEN + 1)

static redis_fixture_t s_redis;
static char s_config_path[64] = "/tmp/leadops-test-auth-XXXXXX.yaml";
static char s_log_path[64] = "/tmp/leadops-test-auth-XXXXXX.log";
static int s_saved_stderr = -1;

/* Key pairs: the deployment's, a producer's (in curve_client_keys) and a
 * stranger's (not allowed until a reload adds it). */
static char s_deploy_public[KEY_TEXT], s_deploy_secret[KEY_TEXT];
static char s_client_public[KEY_TEXT], s_client_secret[KEY_TEXT];
static char s_stranger_public[KEY_TEXT], s_stranger_secret[KEY_TEXT];

typedef struct {
    config_t *cfg;
    void *zmq_ctx;
    ingest_t *ingest;
    reporting_t *reporting;
    pthread_t thread;
    volatile sig_atomic_t stop;
    int http_port;
} s_ctx_t;

/* ---- helpers ------------------------------------------------------------ */

/* Writes the test config: TOKENS and CLIENT_KEYS are YAML flow lists. A
 * BROKEN file has a key config_load refuses. */
static void s_write_config(const char *tokens, const char *client_keys, bool broken)
{
    FILE *f = fopen(s_config_path, "w");
    assert_non_null(f);
    fprintf(f,
            "redis:\n"
            "  user: %s\n"
            "  password: \"%s\"\n"
            "security:\n"
            "  http_tokens: %s\n"
            "  curve_public_key: \"%s\"\n"
            "  curve_secret_key: \"%s\"\n"
            "  curve_client_keys: %s\n"
            "%s",
            REDIS_USER, REDIS_PASSWORD, tokens, s_deploy_public, s_deploy_secret, client_keys,
            broken ? "  no_such_key: 1\n" : "");
    fclose(f);
}

static void s_default_config(void)
{
    char client_keys[64];
    snprintf(client_keys, sizeof client_keys, "[\"%s\"]", s_client_public);
    s_write_config("[\"" TOKEN_ALPHA "\", \"" TOKEN_BETA "\"]", client_keys, false);
}

static void s_setenv_port(const char *name, const char *fmt, int port)
{
    char value[64];
    snprintf(value, sizeof value, fmt, port);
    setenv(name, value, 1);
}

static void s_sleep_ms(int ms)
{
    zmq_poll(NULL, 0, ms);
}

/* Sends one HTTP/1.1 request to 127.0.0.1:PORT and reads the whole answer
 * (headers and body) into RESPONSE. AUTHORIZATION is the header's value or
 * NULL. Returns the status code, or -1. */
static int s_http(int port, const char *method, const char *path, const char *authorization,
                  const char *body, char *response, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    char request[2048];
    int len = snprintf(request, sizeof request,
                       "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                       method, path, body ? strlen(body) : 0);
    if (authorization)
        len += snprintf(request + len, sizeof request - (size_t)len, "Authorization: %s\r\n",
                        authorization);
    len += snprintf(request + len, sizeof request - (size_t)len, "\r\n%s", body ? body : "");
    if (write(fd, request, (size_t)len) != len) {
        close(fd);
        return -1;
    }
    size_t used = 0;
    ssize_t n;
    while (used + 1 < size && (n = read(fd, response + used, size - used - 1)) > 0)
        used += (size_t)n;
    response[used] = '\0';
    close(fd);
    int status = -1;
    if (sscanf(response, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

static int s_post_lead(int port, const char *authorization, const char *lead_id, char *response,
                       size_t size)
{
    char body[256];
    snprintf(body, sizeof body, "{\"lead_id\":\"%s\",\"email\":\"%s\"}", lead_id, LEAD_EMAIL);
    return s_http(port, "POST", "/v1/leads", authorization, body, response, size);
}

/* Case-insensitive header lookup in a raw answer; NULL when absent. */
static const char *s_header(const char *response, const char *name)
{
    size_t len = strlen(name);
    for (const char *line = strstr(response, "\r\n"); line && line[2] != '\r';
         line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, name, len) == 0 && line[2 + len] == ':')
            return line + 2 + len + 1;
    return NULL;
}

/* Reads everything captured from stderr so far (caller frees). */
static char *s_captured_log(void)
{
    fflush(stderr);
    FILE *f = fopen(s_log_path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    return text;
}

/* A DEALER to ingest: a CURVE client with PUBLIC/SECRET when given, else
 * plain. With MONITOR, handshake failures are reported on a PAIR socket
 * (returned in *MONITOR) from before the connection starts. */
static void *s_dealer(s_ctx_t *ctx, const char *public_key, const char *secret_key, void **monitor)
{
    void *sock = zmq_socket(ctx->zmq_ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (public_key) {
        assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, s_deploy_public, KEY_TEXT), 0);
        assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, KEY_TEXT), 0);
        assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, KEY_TEXT), 0);
    }
    if (monitor) {
        char endpoint[64];
        snprintf(endpoint, sizeof endpoint, "inproc://test-auth-monitor-%p", sock);
        assert_int_equal(zmq_socket_monitor(sock, endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
        *monitor = zmq_socket(ctx->zmq_ctx, ZMQ_PAIR);
        zmq_setsockopt(*monitor, ZMQ_LINGER, &linger, sizeof linger);
        assert_int_equal(zmq_connect(*monitor, endpoint), 0);
    }
    assert_int_equal(zmq_connect(sock, ctx->cfg->ep_ingest), 0);
    return sock;
}

static void s_send_lead(void *dealer, const char *event_id, const char *lead_id)
{
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = (char *)lead_id;
    lead.email = LEAD_EMAIL;
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, event_id, "test", 0, 0,
                                   &lead.base, &len, NULL);
    zmq_send(dealer, "", 0, ZMQ_SNDMORE);
    zmq_send(dealer, bytes, len, 0);
    free(bytes);
}

/* The next ack on DEALER within TIMEOUT_MS (caller frees), or NULL. */
static Leadops__Ack *s_ack(void *dealer, int timeout_ms)
{
    zmq_pollitem_t item = {.socket = dealer, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, timeout_ms) != 1)
        return NULL;
    zutil_frames_t frames;
    assert_int_equal(zutil_recv_frames(dealer, &frames, 1 << 20, 0), 0);
    Leadops__Envelope *env =
        envelope_decode(frames.data[frames.count - 1], frames.size[frames.count - 1], NULL);
    assert_non_null(env);
    Leadops__Ack *ack = envelope_ack(env, NULL);
    assert_non_null(ack);
    leadops__envelope__free_unpacked(env, NULL);
    zutil_frames_clear(&frames);
    return ack;
}

static void s_expect_accepted(void *dealer, const char *event_id, int timeout_ms)
{
    Leadops__Ack *ack = s_ack(dealer, timeout_ms);
    if (!ack)
        fail_msg("no ack for %s within %d ms", event_id, timeout_ms);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    assert_string_equal(ack->event_id, event_id);
    leadops__ack__free_unpacked(ack, NULL);
}

/* Path of FILE in the repository (LEADOPS_TEST_SOURCE_DIR, which CTest sets). */
static const char *s_repo_path(const char *file, char *path, size_t size)
{
    const char *root = getenv("LEADOPS_TEST_SOURCE_DIR");
    snprintf(path, size, "%s/%s", root ? root : ".", file);
    return path;
}

/* Runs the ACL SETUSER line of deploy/leadops-secure.yaml, as REDIS_USER
 * with REDIS_PASSWORD, so that the services here run with exactly the
 * rights the secured profile documents. Returns 0 or -1 (said why). */
static int s_create_acl_user(void)
{
    char path[1024], line[1024];
    FILE *f = fopen(s_repo_path("deploy/leadops-secure.yaml", path, sizeof path), "r");
    const char *marker = "ACL SETUSER leadops on >replace-me-redis-password ";
    char *rules = NULL;
    while (f && !rules && fgets(line, sizeof line, f))
        if ((rules = strstr(line, marker)))
            rules += strlen(marker);
    if (f)
        fclose(f);
    if (!rules) {
        fprintf(stderr, "test_auth: no '%s' line in %s\n", marker, path);
        return -1;
    }
    const char *argv[32] = {"ACL", "SETUSER", REDIS_USER, "on", ">" REDIS_PASSWORD};
    int argc = 5;
    for (char *rule = strtok(rules, " \n"); rule && argc < 32; rule = strtok(NULL, " \n"))
        argv[argc++] = rule;
    store_options_t opts = redis_fixture_options(&s_redis);
    err_t err = {0};
    store_t *store = store_new(&opts, true, &err);
    store_value_t *r = store ? store_commandv(store, argc, argv, NULL, &err) : NULL;
    int rc = r && store_value_str(r, NULL) ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "test_auth: ACL SETUSER from %s failed: %s\n", path,
                r && r->str ? r->str : err.msg);
    store_value_free(&r);
    store_destroy(&store);
    return rc;
}

/* ---- fixtures ----------------------------------------------------------- */

static void *s_run_ingest(void *arg)
{
    s_ctx_t *ctx = arg;
    ingest_run(ctx->ingest, &ctx->stop);
    return NULL;
}

static void *s_run_reporting(void *arg)
{
    s_ctx_t *ctx = arg;
    reporting_run(ctx->reporting, &ctx->stop);
    return NULL;
}

static s_ctx_t *s_ctx_new(void)
{
    s_ctx_t *ctx = calloc(1, sizeof *ctx);
    s_default_config();
    err_t err = {0};
    ctx->cfg = config_load(s_config_path, &err);
    if (!ctx->cfg)
        fail_msg("config: %s", err.msg);
    ctx->zmq_ctx = zmq_ctx_new();
    service_install_signals(&ctx->stop);
    service_reload_requested(); /* forget a SIGHUP of an earlier test */
    return ctx;
}

static int s_setup_ingest(void **state)
{
    s_ctx_t *ctx = s_ctx_new();
    err_t err = {0};
    ctx->ingest = ingest_new(ctx->cfg, ctx->zmq_ctx, &err);
    if (!ctx->ingest)
        fail_msg("ingest_new: %s", err.msg);
    ctx->http_port = ingest_http_port(ctx->ingest);
    pthread_create(&ctx->thread, NULL, s_run_ingest, ctx);
    *state = ctx;
    return 0;
}

static int s_setup_reporting(void **state)
{
    s_ctx_t *ctx = s_ctx_new();
    err_t err = {0};
    ctx->reporting = reporting_new(ctx->cfg, ctx->zmq_ctx, &err);
    if (!ctx->reporting)
        fail_msg("reporting_new: %s", err.msg);
    ctx->http_port = reporting_http_port(ctx->reporting);
    pthread_create(&ctx->thread, NULL, s_run_reporting, ctx);
    *state = ctx;
    return 0;
}

static int s_teardown(void **state)
{
    s_ctx_t *ctx = *state;
    ctx->stop = 1;
    pthread_join(ctx->thread, NULL);
    ingest_destroy(&ctx->ingest);
    reporting_destroy(&ctx->reporting);
    /* Returns only if every socket, the ZAP handler's included, is closed. */
    zmq_ctx_term(ctx->zmq_ctx);
    config_destroy(&ctx->cfg);
    free(ctx);
    return 0;
}

/* ---- HTTP --------------------------------------------------------------- */

static void test_http_needs_a_bearer_token(void **state)
{
    s_ctx_t *ctx = *state;
    char response[8192];
    assert_int_equal(
        s_http(ctx->http_port, "GET", "/healthz", NULL, NULL, response, sizeof response), 200);

    assert_int_equal(s_post_lead(ctx->http_port, NULL, "L-1", response, sizeof response), 401);
    assert_non_null(strstr(response, "{\"error\":\"missing bearer token\"}"));
    const char *challenge = s_header(response, "WWW-Authenticate");
    assert_non_null(challenge);
    assert_non_null(strstr(challenge, "Bearer"));

    assert_int_equal(
        s_post_lead(ctx->http_port, "Basic dXNlcjpwYXNz", "L-1", response, sizeof response), 401);
    assert_non_null(strstr(response, "missing bearer token"));

    assert_int_equal(
        s_post_lead(ctx->http_port, "Bearer " TOKEN_WRONG, "L-1", response, sizeof response), 401);
    assert_non_null(strstr(response, "{\"error\":\"invalid bearer token\"}"));
    assert_non_null(strstr(s_header(response, "WWW-Authenticate"), "error=\"invalid_token\""));
    assert_null(strstr(response, TOKEN_WRONG));
    /* A prefix of a good token is no good token. */
    assert_int_equal(
        s_post_lead(ctx->http_port, "Bearer tok-alpha", "L-1", response, sizeof response), 401);
    assert_int_equal(s_http(ctx->http_port, "GET", "/healthz?x=1", "Bearer nope", NULL, response,
                            sizeof response),
                     200);

    /* Refused requests were answered and the door still serves. */
    assert_int_equal(
        s_post_lead(ctx->http_port, "Bearer " TOKEN_ALPHA, "L-1", response, sizeof response), 202);
    assert_non_null(strstr(response, "\"accepted\""));
    assert_int_equal(
        s_post_lead(ctx->http_port, "bearer  " TOKEN_BETA " ", "L-2", response, sizeof response),
        202);
}

/* Polls until a request with AUTHORIZATION gets STATUS (a reload is seen at
 * the loop's next turn). */
static void s_wait_status(s_ctx_t *ctx, const char *authorization, int status)
{
    char response[8192];
    int got = -1;
    for (int waited = 0; waited < RELOAD_WAIT_MS && got != status; waited += 50) {
        got = s_post_lead(ctx->http_port, authorization, "L-reload", response, sizeof response);
        if (got != status)
            s_sleep_ms(50);
    }
    assert_int_equal(got, status);
}

static void test_sighup_reload_replaces_tokens(void **state)
{
    s_ctx_t *ctx = *state;
    char response[8192];
    char client_keys[64];
    snprintf(client_keys, sizeof client_keys, "[\"%s\"]", s_client_public);
    s_write_config("[\"" TOKEN_GAMMA "\"]", client_keys, false);
    raise(SIGHUP);
    s_wait_status(ctx, "Bearer " TOKEN_ALPHA, 401);
    assert_int_equal(
        s_post_lead(ctx->http_port, "Bearer " TOKEN_BETA, "L-3", response, sizeof response), 401);
    assert_int_equal(
        s_post_lead(ctx->http_port, "Bearer " TOKEN_GAMMA, "L-3", response, sizeof response), 202);

    /* A broken file is refused, logged with file:line, and the tokens in
     * force stay. */
    s_write_config("[\"" TOKEN_ALPHA "\"]", client_keys, true);
    raise(SIGHUP);
    char expected[128];
    snprintf(expected, sizeof expected,
             "reload refused, the running configuration stays: %s:", s_config_path);
    char *log = NULL;
    for (int waited = 0; waited < RELOAD_WAIT_MS; waited += 50) {
        free(log);
        log = s_captured_log();
        if (strstr(log, expected))
            break;
        s_sleep_ms(50);
    }
    assert_non_null(strstr(log, expected));
    free(log);
    assert_int_equal(
        s_post_lead(ctx->http_port, "Bearer " TOKEN_GAMMA, "L-4", response, sizeof response), 202);
    assert_int_equal(
        s_post_lead(ctx->http_port, "Bearer " TOKEN_ALPHA, "L-4", response, sizeof response), 401);
}

static void test_reporting_counts_refusals_in_metrics(void **state)
{
    s_ctx_t *ctx = *state;
    char response[16384];
    assert_int_equal(
        s_http(ctx->http_port, "GET", "/v1/summary", NULL, NULL, response, sizeof response), 401);
    assert_int_equal(s_http(ctx->http_port, "GET", "/metrics", "Bearer " TOKEN_WRONG, NULL,
                            response, sizeof response),
                     401);
    assert_int_equal(
        s_http(ctx->http_port, "GET", "/healthz", NULL, NULL, response, sizeof response), 200);
    assert_int_equal(s_http(ctx->http_port, "GET", "/metrics", "Bearer " TOKEN_BETA, NULL, response,
                            sizeof response),
                     200);
    assert_non_null(strstr(response, "\nleadops_http_unauthorized_total 2\n"));
    assert_non_null(strstr(response, "\nleadops_curve_denied_total 0\n"));
}

/* ---- CurveZMQ ----------------------------------------------------------- */

static void test_curve_allows_configured_keys_only(void **state)
{
    s_ctx_t *ctx = *state;
    err_t err = {0};
    /* Scoring's stand-in, a CURVE server in ingest's context: ingest's PUSH
     * must pass the same ZAP handler with the deployment pair. */
    zutil_security_t security;
    assert_int_equal(auth_security_from_config(ctx->cfg, &security, &err), 0);
    assert_true(security.curve);
    void *scoring = zutil_socket_secure(ctx->zmq_ctx, ZMQ_PULL, ctx->cfg->ep_scoring, true, 1000,
                                        &security, &err);
    assert_non_null(scoring);

    /* A producer with its own pair, listed in curve_client_keys. */
    void *client = s_dealer(ctx, s_client_public, s_client_secret, NULL);
    s_send_lead(client, "ev-client", "L-10");
    s_expect_accepted(client, "ev-client", 5000);
    zmq_pollitem_t item = {.socket = scoring, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&item, 1, 5000), 1);

    /* leadopsctl's producer: the deployment pair from the config. */
    producer_t *producer =
        producer_new(ctx->zmq_ctx, ctx->cfg->ep_ingest, ctx->cfg, NULL, NULL, &err);
    assert_non_null(producer);
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = "L-11";
    lead.company = "Acme";
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, "ev-ctl", "test", 0, 0,
                                   &lead.base, &len, NULL);
    assert_int_equal(producer_send(producer, "ev-ctl", bytes, len, &err), 0);
    free(bytes);
    assert_int_equal(producer_flush(producer, 5000, &err), 0);
    assert_int_equal(producer_stats(producer)->accepted, 1);
    producer_destroy(&producer);

    /* A stranger's pair: the ZAP handler denies the handshake (400). */
    void *monitor = NULL;
    void *stranger = s_dealer(ctx, s_stranger_public, s_stranger_secret, &monitor);
    s_send_lead(stranger, "ev-stranger", "L-12");
    zmq_pollitem_t event = {.socket = monitor, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&event, 1, 5000), 1);
    zutil_frames_t frames;
    assert_int_equal(zutil_recv_frames(monitor, &frames, 1024, 0), 0);
    uint16_t event_id;
    uint32_t event_value;
    memcpy(&event_id, frames.data[0], sizeof event_id);
    memcpy(&event_value, (char *)frames.data[0] + 2, sizeof event_value);
    assert_int_equal(event_id, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    assert_int_equal(event_value, 400);
    zutil_frames_clear(&frames);
    assert_null(s_ack(stranger, NO_ACK_WAIT_MS));

    /* No CURVE at all: the handshake cannot even start. */
    void *plain = s_dealer(ctx, NULL, NULL, NULL);
    s_send_lead(plain, "ev-plain", "L-13");
    assert_null(s_ack(plain, NO_ACK_WAIT_MS));

    /* A denied handshake ends that connection for good (libzmq does not
     * retry after a ZAP 400). Once a reload adds the stranger's key, a new
     * connection with it is let in, without a restart. */
    char client_keys[128];
    snprintf(client_keys, sizeof client_keys, "[\"%s\", \"%s\"]", s_client_public,
             s_stranger_public);
    s_write_config("[\"" TOKEN_ALPHA "\"]", client_keys, false);
    raise(SIGHUP);
    Leadops__Ack *ack = NULL;
    for (int attempt = 0; !ack && attempt < RELOAD_WAIT_MS / 250; attempt++) {
        char attempt_id[32];
        snprintf(attempt_id, sizeof attempt_id, "ev-stranger-%d", attempt);
        void *again = s_dealer(ctx, s_stranger_public, s_stranger_secret, NULL);
        s_send_lead(again, attempt_id, "L-14");
        ack = s_ack(again, 250);
        zutil_close(&again);
    }
    assert_non_null(ack);
    assert_int_equal(ack->status, LEADOPS__ACK__STATUS__ACCEPTED);
    leadops__ack__free_unpacked(ack, NULL);
    assert_null(s_ack(stranger, 100));
    assert_null(s_ack(plain, 100));

    zutil_close(&client);
    zutil_close(&stranger);
    zutil_close(&monitor);
    zutil_close(&plain);
    zutil_close(&scoring);
}

/* ---- the sample profile and the log ---------------------------------- */

static void test_secure_sample_config_loads(void **state)
{
    (void)state;
    char path[1024];
    err_t err = {0};
    config_t *cfg = config_load(s_repo_path("deploy/leadops-secure.yaml", path, sizeof path), &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_true(cfg->http_token_count >= 2);
    assert_true(cfg->redis_user[0] && cfg->redis_password[0]);
    assert_true(cfg->curve_client_key_count >= 1);
    zutil_security_t security;
    if (auth_security_from_config(cfg, &security, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(security.curve);
    /* Its client keys decode, and a ZAP handler starts and stops cleanly. */
    void *zmq_ctx = zmq_ctx_new();
    auth_zap_t *zap = auth_zap_start(zmq_ctx, cfg, &err);
    if (!zap)
        fail_msg("%s", err.msg);
    /* One handler per context: a second one is an error, not a hang. */
    assert_null(auth_zap_start(zmq_ctx, cfg, &err));
    assert_non_null(strstr(err.msg, "ZAP handler"));
    assert_int_equal(auth_zap_allow(zap, cfg, &err), 0);
    auth_zap_stop(&zap);
    auth_zap_stop(&zap);
    zmq_ctx_term(zmq_ctx);
    config_destroy(&cfg);

    /* Its ACL line (s_create_acl_user) lets scripts work on the prefix's
     * keys, and nothing outside the prefix. */
    store_options_t opts = redis_fixture_options(&s_redis);
    opts.user = REDIS_USER;
    opts.password = REDIS_PASSWORD;
    store_t *store = store_new(&opts, true, &err);
    assert_non_null(store);
    store_value_t *r = store_command(store, &err, "EVAL %s 1 %s",
                                     "return redis.call('ZCARD', KEYS[1])", "leadops:x");
    assert_int_equal(store_value_int(r, -1), 0);
    store_value_free(&r);
    r = store_command(store, &err, "GET %s", "elsewhere:x");
    assert_non_null(r);
    assert_int_equal(r->type, STORE_ERROR);
    assert_non_null(strstr(r->str, "NOPERM"));
    store_value_free(&r);
    store_destroy(&store);
}

static void test_log_holds_no_secret(void **state)
{
    (void)state;
    char *log = s_captured_log();
    /* The log said what happened... */
    assert_non_null(strstr(log, "CurveZMQ: denied"));
    assert_non_null(strstr(log, "reloaded"));
    /* ...and nothing secret or personal. */
    const char *secrets[] = {TOKEN_ALPHA,       TOKEN_BETA,      TOKEN_GAMMA,     TOKEN_WRONG,
                             REDIS_PASSWORD,    LEAD_EMAIL,      s_deploy_secret, s_client_secret,
                             s_stranger_secret, s_deploy_public, s_client_public, s_stranger_public,
                             "tok-alpha"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(log, secrets[i]))
            fail_msg("the log holds secret #%zu", i);
    free(log);
}

/* ---- main --------------------------------------------------------------- */

static int s_prepare(void)
{
    if (zmq_curve_keypair(s_deploy_public, s_deploy_secret) != 0 ||
        zmq_curve_keypair(s_client_public, s_client_secret) != 0 ||
        zmq_curve_keypair(s_stranger_public, s_stranger_secret) != 0) {
        fprintf(stderr, "test_auth: this libzmq has no CURVE\n");
        return -1;
    }
    int fd = mkstemps(s_config_path, 5);
    if (fd < 0)
        return -1;
    close(fd);
    if ((fd = mkstemps(s_log_path, 4)) < 0)
        return -1;
    close(fd);

    /* The ACL user the secured profile suggests, with our name and password. */
    if (s_create_acl_user() < 0)
        return -1;

    s_setenv_port("LEADOPS_REDIS_PORT", "%d", s_redis.port);
    s_setenv_port("LEADOPS_ENDPOINTS_INGEST", "tcp://127.0.0.1:%d", fixture_free_port());
    s_setenv_port("LEADOPS_ENDPOINTS_SCORING", "tcp://127.0.0.1:%d", fixture_free_port());
    s_setenv_port("LEADOPS_ENDPOINTS_EVENTS", "tcp://127.0.0.1:%d", fixture_free_port());
    setenv("LEADOPS_HTTP_INGEST_LISTEN", "127.0.0.1:0", 1);
    setenv("LEADOPS_HTTP_REPORTING_LISTEN", "127.0.0.1:0", 1);

    /* Everything the services log from here on goes to the capture, at the
     * most talkative level. */
    fflush(stderr);
    s_saved_stderr = dup(STDERR_FILENO);
    fd = open(s_log_path, O_WRONLY | O_APPEND);
    dup2(fd, STDERR_FILENO);
    close(fd);
    log_init("leadops-test", LOG_DEBUG, false);
    return 0;
}

/* Gives stderr back and shows what the services logged. */
static void s_restore_stderr(void)
{
    if (s_saved_stderr < 0)
        return;
    fflush(stderr);
    dup2(s_saved_stderr, STDERR_FILENO);
    close(s_saved_stderr);
    s_saved_stderr = -1;
    FILE *f = fopen(s_log_path, "r");
    char line[4096];
    fprintf(stderr, "---- what the services logged ----\n");
    while (f && fgets(line, sizeof line, f))
        fputs(line, stderr);
    if (f)
        fclose(f);
}

int main(void)
{
    if (redis_fixture_start(&s_redis) < 0)
        return 1;
    if (s_prepare() < 0) {
        s_restore_stderr();
        unlink(s_config_path);
        unlink(s_log_path);
        redis_fixture_stop(&s_redis);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_needs_a_bearer_token, s_setup_ingest, s_teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reload_replaces_tokens, s_setup_ingest,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reporting_counts_refusals_in_metrics,
                                        s_setup_reporting, s_teardown),
        cmocka_unit_test_setup_teardown(test_curve_allows_configured_keys_only, s_setup_ingest,
                                        s_teardown),
        cmocka_unit_test(test_secure_sample_config_loads),
        cmocka_unit_test(test_log_holds_no_secret),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    s_restore_stderr();
    unlink(s_config_path);
    unlink(s_log_path);
    redis_fixture_stop(&s_redis);
    return failed;
}
