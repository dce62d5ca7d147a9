/* test_httpd_stream.c — httpd's event streams and open paths over real
 * loopback sockets, driven the way a service drives it (poll prepare, poll,
 * run) on this one thread: the stream opens with the handler's body, gets
 * every httpd_stream_send, is dropped once its client goes away, and a
 * server with a parked (suspended) stream still stops cleanly. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "envelope.h"
#include "httpd.h"

#define TOKEN "stream-test-token"

static void s_handler(void *arg, const httpd_request_t *req, httpd_response_t *res)
{
    (void)arg;
    if (strcmp(req->path, "/stream") == 0) {
        httpd_respond(res, 200, "text/event-stream", "event: hello\ndata: 1\n\n");
        res->event_stream = true;
    } else if (strcmp(req->path, "/page") == 0) {
        httpd_respond(res, 200, "text/html", "<p>page</p>");
    } else {
        httpd_respond_error(res, 404, "no such resource");
    }
}

/* Runs the server for MS milliseconds as a service loop would. */
static void s_pump(httpd_t *httpd, int ms)
{
    int64_t end = clock_mono_ms() + ms;
    zmq_pollitem_t items[64];
    while (clock_mono_ms() < end) {
        int count = 0;
        long timeout_ms = 10;
        httpd_poll_prepare(httpd, items, &count, 64, &timeout_ms);
        zmq_poll(items, count, timeout_ms < 0 ? 0 : timeout_ms);
        httpd_run(httpd);
    }
}

static int s_connect(int port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Appends what FD has now to BUF (SIZE bytes, NUL-terminated). */
static void s_read_available(int fd, char *buf, size_t size)
{
    size_t len = strlen(buf);
    for (;;) {
        ssize_t n = read(fd, buf + len, size - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
}

static httpd_t *s_server(void)
{
    err_t err = {0};
    httpd_t *httpd = httpd_new("127.0.0.1", 0, 4096, s_handler, NULL, &err);
    assert_non_null(httpd);
    return httpd;
}

static void test_stream_opens_with_the_body_and_gets_every_send(void **state)
{
    (void)state;
    httpd_t *httpd = s_server();
    int fd = s_connect(httpd_port(httpd), "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    char seen[8192] = "";
    s_pump(httpd, 200);
    s_read_available(fd, seen, sizeof seen);
    assert_non_null(strstr(seen, "HTTP/1.1 200"));
    assert_non_null(strstr(seen, "text/event-stream"));
    assert_non_null(strstr(seen, "data: 1\n\n"));
    assert_int_equal(httpd_stream_count(httpd), 1);

    /* Parked in between: nothing to send wakes nobody (no busy loop). */
    zmq_pollitem_t items[64];
    int count = 0;
    long timeout_ms = 300;
    httpd_poll_prepare(httpd, items, &count, 64, &timeout_ms);
    int64_t start = clock_mono_ms();
    assert_int_equal(zmq_poll(items, count, timeout_ms), 0);
    assert_true(clock_mono_ms() - start >= 250);
    httpd_run(httpd);
    httpd_stream_send(httpd, "data: 2\n\n", 9);
    httpd_stream_send(httpd, "data: 3\n\n", 9);
    s_pump(httpd, 200);
    s_read_available(fd, seen, sizeof seen);
    assert_non_null(strstr(seen, "data: 2\n\n"));
    assert_non_null(strstr(seen, "data: 3\n\n"));
    assert_true(strstr(seen, "data: 2") < strstr(seen, "data: 3"));

    /* The client goes away: the next sends find out and drop the stream. */
    close(fd);
    for (int i = 0; i < 20 && httpd_stream_count(httpd) > 0; i++) {
        httpd_stream_send(httpd, "data: 4\n\n", 9);
        s_pump(httpd, 50);
    }
    assert_int_equal(httpd_stream_count(httpd), 0);
    httpd_destroy(&httpd);
    assert_null(httpd);
}

static void test_stop_with_a_parked_stream(void **state)
{
    (void)state;
    httpd_t *httpd = s_server();
    int fd = s_connect(httpd_port(httpd), "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    s_pump(httpd, 200);
    assert_int_equal(httpd_stream_count(httpd), 1);
    httpd_destroy(&httpd); /* MHD aborts on a suspended connection left behind */
    close(fd);
}

static void test_open_paths_need_no_token(void **state)
{
    (void)state;
    httpd_t *httpd = s_server();
    const char *tokens[] = {TOKEN};
    static const char *const open_paths[] = {"/page"};
    httpd_set_tokens(httpd, tokens, 1);
    httpd_set_open_paths(httpd, open_paths, 1);
    struct {
        const char *request;
        const char *status;
    } cases[] = {
        {"GET /page HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 200"},
        {"POST /page HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
         "HTTP/1.1 401"},
        {"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 401"},
        {"GET /page/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 401"},
        {"GET /stream HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " TOKEN "\r\n\r\n",
         "HTTP/1.1 200"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = s_connect(httpd_port(httpd), cases[i].request);
        char seen[4096] = "";
        s_pump(httpd, 150);
        s_read_available(fd, seen, sizeof seen);
        if (strncmp(seen, cases[i].status, strlen(cases[i].status)) != 0)
            fail_msg("case %zu: expected %s, got: %.60s", i, cases[i].status, seen);
        close(fd);
    }
    httpd_destroy(&httpd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_opens_with_the_body_and_gets_every_send),
        cmocka_unit_test(test_stop_with_a_parked_stream),
        cmocka_unit_test(test_open_paths_need_no_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
