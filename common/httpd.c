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

struct httpd {
    struct MHD_Daemon *daemon;
    httpd_handler_fn handler;
    void *arg;
    size_t max_body;
    int port;
    fd_set read_fds, write_fds, except_fds; /* the sets of the last prepare */
    s_digest_t *token_digests;              /* owned: SHA-256 of each token; NULL: no tokens */
    size_t token_count;
    uint64_t unauthorized; /* requests refused 401 */
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
    if (self->token_count == 0 || (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0))
        return NULL;
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
     * belong to that thread). */
    self->daemon = MHD_start_daemon(
        MHD_NO_FLAG, (uint16_t)port, NULL, NULL, s_on_request, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONNECTION_LIMIT,
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
