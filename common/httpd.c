#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <zmq.h>

/* select() limits descriptors to FD_SETSIZE; keep a margin for the service's
 * own sockets. */
#define HTTPD_CONNECTION_LIMIT     800
#define HTTPD_CONNECTION_TIMEOUT_S 30
#define HTTPD_TOKEN_DIGEST_BYTES   crypto_hash_sha256_BYTES
#define HTTPD_REALM                "Bearer realm=\"leadops\""

typedef uint8_t s_digest_t[HTTPD_TOKEN_DIGEST_BYTES];

/* One open event stream. It lives as long as its MHD response: created with
 * the response, freed by MHD's free callback (s_stream_free) once the
 * connection is done with it, whoever closed it. */
typedef struct s_stream {
    httpd_t *owner;               /* borrowed */
    struct MHD_Connection *conn;  /* borrowed: MHD's */
    char *pending;                /* owned: bytes not yet handed to MHD */
    size_t len, sent, capacity;   /* pending[sent..len) is still to go */
    bool suspended;               /* we suspended conn and owe it a resume */
    bool closing;                 /* end the stream at the next read */
    struct s_stream *prev, *next; /* the owner's list */
} s_stream_t;

struct httpd {
    struct MHD_Daemon *daemon;
    httpd_handler_fn handler;
    void *arg;
    size_t max_body;
    int port;
    fd_set read_fds, write_fds, except_fds; /* the sets of the last prepare */
    s_digest_t *token_digests;              /* owned: SHA-256 of each token; NULL: no tokens */
    size_t token_count;
    uint64_t unauthorized;         /* requests refused 401 */
    const char *const *open_paths; /* borrowed: GET passes without a token */
    size_t open_path_count;
    s_stream_t *streams; /* owned through MHD: the open event streams */
    size_t stream_count;
};

/* Per-request state while the body arrives. */
typedef struct {
    char *body; /* owned */
    size_t len, capacity;
    size_t announced; /* Content-Length, 0 when absent */
    size_t received;  /* body bytes received, kept or not */
    bool too_large;
    const char *refusal; /* static: why the request is refused 401; NULL when authorized */
} s_upload_t;

/* MHD asks for the next bytes of a stream. Nothing to send: suspend the
 * connection (MHD would otherwise poll it for writing in a busy loop) until
 * httpd_stream_send resumes it. */
static ssize_t s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_stream_t *stream = cls;
    if (stream->closing)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t available = stream->len - stream->sent;
    if (available == 0) {
        stream->len = stream->sent = 0;
        MHD_suspend_connection(stream->conn);
        stream->suspended = true;
        return 0;
    }
    size_t n = available < max ? available : max;
    memcpy(buf, stream->pending + stream->sent, n);
    stream->sent += n;
    return (ssize_t)n;
}

static void s_stream_free(void *cls)
{
    s_stream_t *stream = cls;
    httpd_t *owner = stream->owner;
    if (stream->prev)
        stream->prev->next = stream->next;
    else
        owner->streams = stream->next;
    if (stream->next)
        stream->next->prev = stream->prev;
    owner->stream_count--;
    free(stream->pending);
    free(stream);
}

/* Appends LEN bytes to STREAM's pending bytes. Returns false when that would
 * put the client more than HTTPD_STREAM_BACKLOG behind. */
static bool s_stream_append(s_stream_t *stream, const char *chunk, size_t len)
{
    if (len == 0)
        return true;
    size_t unsent = stream->len - stream->sent;
    if (unsent + len > HTTPD_STREAM_BACKLOG)
        return false;
    if (unsent && stream->sent)
        memmove(stream->pending, stream->pending + stream->sent, unsent);
    stream->len = unsent;
    stream->sent = 0;
    if (stream->len + len > stream->capacity) {
        size_t capacity = (stream->len + len) * 2;
        char *grown = realloc(stream->pending, capacity);
        if (!grown)
            abort();
        stream->pending = grown;
        stream->capacity = capacity;
    }
    memcpy(stream->pending + stream->len, chunk, len);
    stream->len += len;
    return true;
}

static void s_stream_wake(s_stream_t *stream)
{
    if (stream->suspended) {
        stream->suspended = false;
        MHD_resume_connection(stream->conn);
    }
}

/* Answers CONN with an event stream whose first chunk is RES's body. */
static enum MHD_Result s_open_stream(httpd_t *self, struct MHD_Connection *conn,
                                     httpd_response_t *res)
{
    s_stream_t *stream = calloc(1, sizeof *stream);
    if (!stream)
        return MHD_NO;
    *stream = (s_stream_t){.owner = self, .conn = conn, .next = self->streams};
    if (res->body_len && !s_stream_append(stream, res->body, res->body_len)) {
        free(stream->pending);
        free(stream);
        return MHD_NO;
    }
    free(res->body);
    res->body = NULL;
    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 16 * 1024, s_stream_read, stream, s_stream_free);
    if (!response) {
        free(stream->pending);
        free(stream);
        return MHD_NO;
    }
    /* Linked only now: from here on s_stream_free unlinks it. */
    if (self->streams)
        self->streams->prev = stream;
    self->streams = stream;
    self->stream_count++;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/event-stream; charset=utf-8");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response); /* the connection holds it; then s_stream_free */
    return rc;
}

static enum MHD_Result s_send(struct MHD_Connection *conn, httpd_response_t *res)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(res->body_len, res->body ? res->body : (void *)"",
                                        res->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    res->body = NULL; /* MHD frees it now */
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            res->content_type ? res->content_type : "application/json");
    if (res->retry_after_s > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", res->retry_after_s);
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    if (res->www_authenticate)
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, res->www_authenticate);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)res->status, response);
    MHD_destroy_response(response);
    return rc;
}

/* Why CONN may not make this request ("missing bearer token", "invalid
 * bearer token"), or NULL when it may. The presented token is hashed and
 * compared with every configured digest, without an early exit, so the
 * time taken says nothing about how much of a token was right. */
static const char *s_refusal(const httpd_t *self, struct MHD_Connection *conn, const char *url,
                             const char *method)
{
    if (self->token_count == 0)
        return NULL;
    if (strcmp(method, "GET") == 0) {
        if (strcmp(url, "/healthz") == 0)
            return NULL;
        for (size_t i = 0; i < self->open_path_count; i++)
            if (strcmp(url, self->open_paths[i]) == 0)
                return NULL;
    }
    const char *header =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!header)
        return "missing bearer token";
    while (*header == ' ' || *header == '\t')
        header++;
    /* The scheme is case-insensitive (RFC 7235); the token follows blanks. */
    if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
        return "missing bearer token";
    const char *token = header + 6;
    while (*token == ' ' || *token == '\t')
        token++;
    size_t len = strlen(token);
    while (len && (token[len - 1] == ' ' || token[len - 1] == '\t'))
        len--;
    s_digest_t digest;
    crypto_hash_sha256(digest, (const unsigned char *)token, len);
    int matched = 0;
    for (size_t i = 0; i < self->token_count; i++)
        matched |= sodium_memcmp(digest, self->token_digests[i], sizeof digest) == 0;
    /* An empty token is stored as an all-zero digest, which no SHA-256
     * output is expected to equal; refuse an empty presented token anyway. */
    return matched && len ? NULL : "invalid bearer token";
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)version;
    httpd_t *self = cls;
    s_upload_t *upload = *con_cls;
    if (!upload) {
        upload = calloc(1, sizeof *upload);
        if (!upload)
            return MHD_NO;
        *con_cls = upload;
        /* Refuse an announced oversized body before reading any of it. */
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        upload->announced = length ? (size_t)strtoull(length, NULL, 10) : 0;
        if (upload->announced > self->max_body)
            upload->too_large = true;
        /* A refused request's body is read (so the client sees the 401
         * rather than a reset) but never kept. */
        upload->refusal = s_refusal(self, conn, url, method);
        if (upload->refusal)
            upload->too_large = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        upload->received += *upload_data_size;
        if (!upload->too_large && upload->len + *upload_data_size <= self->max_body) {
            if (upload->len + *upload_data_size + 1 > upload->capacity) {
                size_t capacity = (upload->len + *upload_data_size + 1) * 2;
                char *grown = realloc(upload->body, capacity);
                if (!grown)
                    return MHD_NO;
                upload->body = grown;
                upload->capacity = capacity;
            }
            memcpy(upload->body + upload->len, upload_data, *upload_data_size);
            upload->len += *upload_data_size;
        } else {
            upload->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    httpd_response_t res = {0};
    if (upload->refusal) {
        self->unauthorized++;
        httpd_respond_error(&res, 401, upload->refusal);
        res.www_authenticate = strcmp(upload->refusal, "invalid bearer token") == 0 ? HTTPD_REALM
                                   ", error=\"invalid_token\""
                                                                                    : HTTPD_REALM;
        return s_send(conn, &res);
    }
    if (upload->body)
        upload->body[upload->len] = '\0';
    httpd_request_t req = {
        .method = method,
        .path = url,
        .body = upload->too_large || !upload->body ? "" : upload->body,
        .body_len = upload->too_large ? 0 : upload->len,
        .body_too_large = upload->too_large,
        .body_seen = upload->received > upload->announced ? upload->received : upload->announced,
        .conn = conn,
    };
    self->handler(self->arg, &req, &res);
    if (!res.status)
        httpd_respond_error(&res, 500, "handler produced no response");
    if (res.event_stream && res.status == 200) {
        if (self->stream_count < HTTPD_STREAM_LIMIT)
            return s_open_stream(self, conn, &res);
        httpd_respond_error(&res, 503, "too many event streams open; try again later");
        res.retry_after_s = 5;
    }
    return s_send(conn, &res);
}

static void s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_upload_t *upload = *con_cls;
    if (upload) {
        free(upload->body);
        free(upload);
        *con_cls = NULL;
    }
}

httpd_t *httpd_new(const char *host, int port, size_t max_body, httpd_handler_fn handler, void *arg,
                   err_t *err)
{
    httpd_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->handler = handler;
    self->arg = arg;
    self->max_body = max_body;

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        free(self);
        err_set(err, ERR_CONFIG, "http listen address '%s' is not an IPv4 address", host);
        return NULL;
    }
    /* No internal thread: the service's zmq_poll loop drives the daemon, so
     * handlers run on the service thread (its Redis context and sockets
     * belong to that thread). Suspend/resume parks idle event streams; its
     * wake-up pipe is one more descriptor in the poll set. */
    self->daemon =
        MHD_start_daemon(MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL, s_on_request, self,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONNECTION_LIMIT,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_CONNECTION_TIMEOUT_S,
                         MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, self, MHD_OPTION_END);
    if (!self->daemon) {
        free(self);
        err_set(err, ERR_IO, "http: cannot listen on %s:%d (port in use?)", host, port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return self;
}

void httpd_destroy(httpd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    /* MHD refuses to stop with suspended connections: wake every stream to
     * end it; stopping then frees them (s_stream_free). */
    for (s_stream_t *stream = (*self_p)->streams; stream; stream = stream->next) {
        stream->closing = true;
        s_stream_wake(stream);
    }
    MHD_stop_daemon((*self_p)->daemon);
    free((*self_p)->token_digests);
    free(*self_p);
    *self_p = NULL;
}

int httpd_port(const httpd_t *self)
{
    return self->port;
}

void httpd_set_tokens(httpd_t *self, const char *const *tokens, size_t count)
{
    s_digest_t *digests = NULL;
    if (count) {
        if (sodium_init() < 0 || !(digests = calloc(count, sizeof *digests)))
            abort();
        /* Empty tokens keep an all-zero digest and s_refusal refuses an
         * empty presented token: they lock the door without opening it. */
        for (size_t i = 0; i < count; i++)
            if (tokens[i][0])
                crypto_hash_sha256(digests[i], (const unsigned char *)tokens[i], strlen(tokens[i]));
    }
    free(self->token_digests);
    self->token_digests = digests;
    self->token_count = count;
}

uint64_t httpd_unauthorized_count(const httpd_t *self)
{
    return self->unauthorized;
}

void httpd_set_open_paths(httpd_t *self, const char *const *paths, size_t count)
{
    self->open_paths = paths;
    self->open_path_count = count;
}

size_t httpd_stream_count(const httpd_t *self)
{
    return self->stream_count;
}

void httpd_stream_send(httpd_t *self, const char *chunk, size_t len)
{
    for (s_stream_t *stream = self->streams; stream; stream = stream->next) {
        if (stream->closing)
            continue;
        /* A client that stopped reading is dropped; the read that follows
         * the wake-up ends its stream. */
        if (!s_stream_append(stream, chunk, len))
            stream->closing = true;
        s_stream_wake(stream);
    }
}

void httpd_poll_prepare(httpd_t *self, void *items_v, int *count, int capacity, long *timeout_ms)
{
    zmq_pollitem_t *items = items_v;
    FD_ZERO(&self->read_fds);
    FD_ZERO(&self->write_fds);
    FD_ZERO(&self->except_fds);
    MHD_socket max_fd = 0;
    if (MHD_get_fdset(self->daemon, &self->read_fds, &self->write_fds, &self->except_fds,
                      &max_fd) != MHD_YES)
        return;
    for (int fd = 0; fd <= max_fd && *count < capacity; fd++) {
        short events = 0;
        if (FD_ISSET(fd, &self->read_fds))
            events |= ZMQ_POLLIN;
        if (FD_ISSET(fd, &self->write_fds))
            events |= ZMQ_POLLOUT;
        if (!events)
            continue;
        items[*count] = (zmq_pollitem_t){.socket = NULL, .fd = fd, .events = events};
        (*count)++;
    }
    MHD_UNSIGNED_LONG_LONG mhd_timeout;
    if (MHD_get_timeout(self->daemon, &mhd_timeout) == MHD_YES && (long)mhd_timeout < *timeout_ms)
        *timeout_ms = (long)mhd_timeout;
}

void httpd_run(httpd_t *self)
{
    /* MHD_run does a zero-timeout select of its own over its sockets: simple,
     * and correct whatever subset of them zmq_poll reported. */
    MHD_run(self->daemon);
}

const char *httpd_query(const httpd_request_t *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

void httpd_respond(httpd_response_t *res, int status, const char *content_type, const char *body)
{
    free(res->body);
    res->status = status;
    res->content_type = content_type;
    res->body_len = strlen(body);
    res->body = malloc(res->body_len + 1);
    if (!res->body)
        abort();
    memcpy(res->body, body, res->body_len + 1);
}

void httpd_respond_error(httpd_response_t *res, int status, const char *reason)
{
    /* Reasons are ours, but may quote input: escape for JSON. */
    char body[1024];
    size_t o = (size_t)snprintf(body, sizeof body, "{\"error\":\"");
    for (const char *p = reason; *p && o + 8 < sizeof body; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(body + o, sizeof body - o, "\\%c", c);
        else if (c < 0x20)
            o += (size_t)snprintf(body + o, sizeof body - o, "\\u%04x", c);
        else
            body[o++] = (char)c;
    }
    snprintf(body + o, sizeof body - o, "\"}");
    httpd_respond(res, status, "application/json", body);
}
