/* httpd.h — a small HTTP/1.1 server (libmicrohttpd) driven by the service's
 * own zmq_poll loop, so handlers run on the service thread and may use its
 * Redis store and sockets directly.
 *
 * The handler sees the whole request (body buffered up to max_body bytes)
 * and fills a response. A larger body is not kept: the handler is called
 * with body_too_large set and an empty body, so that it can count and
 * answer the refusal (413) like any other bad input.
 *
 * With bearer tokens set (httpd_set_tokens), every request but GET /healthz
 * needs `Authorization: Bearer <token>` naming one of them. A request without
 * one, or with another token, never reaches the handler: httpd answers 401
 * {"error":"missing bearer token"} or {"error":"invalid bearer token"} with
 * WWW-Authenticate, drops its body and counts it (httpd_unauthorized_count).
 * Only SHA-256 digests of the tokens are kept, compared in constant time;
 * no token is ever logged or quoted in an answer. Open paths
 * (httpd_set_open_paths) pass like /healthz: pages that hold no data and
 * fetch it with a token of their own.
 *
 * Event streams (Server-Sent Events): a handler that sets
 * res->event_stream keeps the connection open; httpd answers 200
 * text/event-stream with the body as the first chunk and sends whatever
 * httpd_stream_send queues later. An idle stream is suspended, so it costs
 * no wake-ups; a client that went away is noticed at the next send. */
#ifndef LEADOPS_HTTPD_H
#define LEADOPS_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct httpd httpd_t;

typedef struct {
    const char *method; /* borrowed: "GET", "POST" */
    const char *path;   /* borrowed: "/v1/leads" (no query string) */
    const char *body;   /* borrowed, NUL-terminated, may be "" */
    size_t body_len;
    bool body_too_large; /* the body exceeded max_body and was dropped */
    size_t body_seen;    /* body bytes announced or received, kept or not */
    void *conn;          /* borrowed: for httpd_query */
} httpd_request_t;

typedef struct {
    int status;
    char *body; /* owned by the response: malloc'ed */
    size_t body_len;
    const char *content_type;     /* borrowed static string */
    int retry_after_s;            /* > 0 adds Retry-After */
    const char *www_authenticate; /* borrowed static string; non-NULL adds WWW-Authenticate */
    bool event_stream; /* keep the connection open as an event stream (status 200 only) */
} httpd_response_t;

typedef void (*httpd_handler_fn)(void *arg, const httpd_request_t *req, httpd_response_t *res);

/* Starts listening on HOST:PORT (port 0: any free port; see httpd_port).
 * HANDLER is called on the thread that calls httpd_run. Returns NULL with
 * *err set when the port cannot be bound. */
httpd_t *httpd_new(const char *host, int port, size_t max_body, httpd_handler_fn handler, void *arg,
                   err_t *err);
void httpd_destroy(httpd_t **self_p);
int httpd_port(const httpd_t *self);

/* Requires one of the COUNT bearer TOKENS (secrets; digests are kept, not
 * the text) on every request but GET /healthz from now on, replacing the
 * previous set; COUNT 0 lets every request through. Empty tokens never
 * match, so a list of them still locks the door. Aborts on out of memory,
 * as httpd_respond does. */
void httpd_set_tokens(httpd_t *self, const char *const *tokens, size_t count);

/* Lets GET requests for exactly these COUNT PATHS through without a token,
 * as GET /healthz always is, replacing the previous set. PATHS and the
 * strings are borrowed and must outlive the server (static strings). */
void httpd_set_open_paths(httpd_t *self, const char *const *paths, size_t count);

/* Requests refused 401 since the server started. */
uint64_t httpd_unauthorized_count(const httpd_t *self);

/* Adds the server's sockets to ITEMS (zmq_pollitem_t array of CAPACITY,
 * starting at *COUNT, which it advances) and lowers *TIMEOUT_MS to the
 * server's own timeout. Call before zmq_poll. */
void httpd_poll_prepare(httpd_t *self, void *items, int *count, int capacity, long *timeout_ms);
/* Runs whatever is ready after zmq_poll. */
void httpd_run(httpd_t *self);

/* Event streams open now. At most HTTPD_STREAM_LIMIT are kept; a handler
 * asking for one more gets 503 instead. */
#define HTTPD_STREAM_LIMIT 64
size_t httpd_stream_count(const httpd_t *self);

/* Queues CHUNK (LEN bytes, copied; the caller frames it as Server-Sent
 * Events: "data: ...\n\n") on every open event stream and wakes them. A
 * stream whose client is more than HTTPD_STREAM_BACKLOG bytes behind is
 * closed instead: one slow reader must not grow the service's memory.
 * Aborts on out of memory, as httpd_respond does. */
#define HTTPD_STREAM_BACKLOG (1024 * 1024)
void httpd_stream_send(httpd_t *self, const char *chunk, size_t len);

/* A query-string value of the request, or NULL. */
const char *httpd_query(const httpd_request_t *req, const char *key);

/* Fills RES with a JSON body (copied) and STATUS. */
void httpd_respond(httpd_response_t *res, int status, const char *content_type, const char *body);
/* Fills RES with {"error": REASON} and STATUS. */
void httpd_respond_error(httpd_response_t *res, int status, const char *reason);

#endif
