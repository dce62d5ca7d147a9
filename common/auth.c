/* auth.c — CurveZMQ settings and the ZAP handler; see auth.h. */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"
#include "log.h"

#define AUTH_KEY_BYTES 32
/* A denied client reconnects every 100 ms or so: one log line per this
 * interval (with the count) is enough to see it without drowning the log. */
#define AUTH_DENIED_LOG_INTERVAL_MS 10000

typedef uint8_t s_key_t[AUTH_KEY_BYTES];

struct auth_zap {
    bool active;          /* false: no CurveZMQ configured, nothing runs */
    s_key_t server_key;   /* the deployment public key the sockets serve with */
    pthread_t thread;     /* runs s_serve while active */
    void *control;        /* owned: PAIR, our end of the stop pipe */
    void *control_peer;   /* owned by the thread: the other end */
    void *handler;        /* owned by the thread: REP bound to AUTH_ZAP_ENDPOINT */
    pthread_mutex_t lock; /* guards allowed and allowed_count */
    s_key_t *allowed;     /* owned: the deployment key first, then the client keys */
    size_t allowed_count;
    atomic_uint_fast64_t denied; /* handshakes refused since the start */
    int64_t next_log_ms;         /* thread only: when the next denial may be logged */
    uint64_t denied_logged;      /* thread only: the count at the last log line */
};

/* Decodes the Z85 text KEY (40 characters) into OUT. The error names KEY_NAME,
 * never the key. */
static int s_decode_key(const char *key, s_key_t out, const char *key_name, err_t *err)
{
    if (strlen(key) != ZUTIL_Z85_KEY_LEN || !zmq_z85_decode(out, key))
        return err_set(err, ERR_CONFIG, "%s: not a Z85 CurveZMQ key of %d characters", key_name,
                       ZUTIL_Z85_KEY_LEN);
    return 0;
}

int auth_security_from_config(const config_t *cfg, zutil_security_t *security, err_t *err)
{
    memset(security, 0, sizeof *security);
    if (!cfg->curve_public_key || !cfg->curve_public_key[0])
        return 0;
    if (!zmq_has("curve"))
        return err_set(err, ERR_CONFIG,
                       "security.curve_public_key: this libzmq was built without CURVE");
    s_key_t public_key, secret_key;
    if (s_decode_key(cfg->curve_public_key, public_key, "security.curve_public_key", err) < 0 ||
        s_decode_key(cfg->curve_secret_key, secret_key, "security.curve_secret_key", err) < 0) {
        sodium_memzero(secret_key, sizeof secret_key);
        return -1;
    }
    sodium_memzero(secret_key, sizeof secret_key);
    /* A public key that does not belong to the secret key would make every
     * handshake fail with nothing in the log: refuse it here instead. */
    char derived[ZUTIL_Z85_KEY_LEN + 1];
    if (zmq_curve_public(derived, cfg->curve_secret_key) != 0 ||
        strcmp(derived, cfg->curve_public_key) != 0)
        return err_set(err, ERR_CONFIG,
                       "security.curve_public_key is not the public half of "
                       "security.curve_secret_key (leadopsctl keygen makes a pair)");
    security->curve = true;
    memcpy(security->public_key, cfg->curve_public_key, ZUTIL_Z85_KEY_LEN + 1);
    memcpy(security->secret_key, cfg->curve_secret_key, ZUTIL_Z85_KEY_LEN + 1);
    memcpy(security->server_public, cfg->curve_public_key, ZUTIL_Z85_KEY_LEN + 1);
    return 0;
}

/* The keys CFG allows: the deployment key, then every client key. Returns
 * the array (caller frees) and its length in *COUNT, or NULL with *err. */
static s_key_t *s_allowed_keys(const config_t *cfg, size_t *count, err_t *err)
{
    s_key_t *keys = calloc(cfg->curve_client_key_count + 1, sizeof *keys);
    if (!keys) {
        err_set(err, ERR_NOMEM, "out of memory for the allowed CurveZMQ keys");
        return NULL;
    }
    int rc = s_decode_key(cfg->curve_public_key, keys[0], "security.curve_public_key", err);
    for (size_t i = 0; rc == 0 && i < cfg->curve_client_key_count; i++) {
        char key_name[64];
        snprintf(key_name, sizeof key_name, "security.curve_client_keys[%zu]", i);
        rc = s_decode_key(cfg->curve_client_keys[i], keys[i + 1], key_name, err);
    }
    if (rc != 0) {
        free(keys);
        return NULL;
    }
    *count = cfg->curve_client_key_count + 1;
    return keys;
}

static bool s_is_allowed(auth_zap_t *self, const void *key)
{
    bool allowed = false;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->allowed_count && !allowed; i++)
        allowed = memcmp(self->allowed[i], key, AUTH_KEY_BYTES) == 0;
    pthread_mutex_unlock(&self->lock);
    return allowed;
}

static bool s_frame_is(const zutil_frames_t *frames, size_t i, const char *text)
{
    return i < frames->count && frames->data[i] && frames->size[i] == strlen(text) &&
           memcmp(frames->data[i], text, frames->size[i]) == 0;
}

/* Logs denials at most once per AUTH_DENIED_LOG_INTERVAL_MS, with the
 * count since the last line. ADDRESS is the peer's IP; the key is not
 * logged (a stranger's key is noise, a misplaced secret would be a leak). */
static void s_note_denied(auth_zap_t *self, const zutil_frames_t *request, const char *why)
{
    uint64_t denied = atomic_fetch_add(&self->denied, 1) + 1;
    int64_t now = clock_mono_ms();
    if (now < self->next_log_ms)
        return;
    char address[64] = "unknown";
    if (request->count > 3 && request->data[3]) {
        size_t len = request->size[3] < sizeof address - 1 ? request->size[3] : sizeof address - 1;
        memcpy(address, request->data[3], len);
        address[len] = '\0';
    }
    log_warn("CurveZMQ: denied %llu handshake(s) since the last report, the latest from %s: %s",
             (unsigned long long)(denied - self->denied_logged), address, why);
    self->denied_logged = denied;
    self->next_log_ms = now + AUTH_DENIED_LOG_INTERVAL_MS;
}

/* Answers one ZAP request (RFC 27: version, request id, domain, address,
 * identity, mechanism, credentials...). A REP socket must answer every
 * request it takes, malformed or not, or it stops receiving. */
static void s_answer(auth_zap_t *self)
{
    zutil_frames_t request;
    if (zutil_recv_frames(self->handler, &request, 256, 0) < 0)
        return;
    const char *status = "400", *text = "denied", *why = NULL;
    if (request.count < 6 || !s_frame_is(&request, 0, "1.0")) {
        status = "500";
        text = "malformed ZAP request";
        why = "malformed ZAP request";
    } else if (!s_frame_is(&request, 2, ZUTIL_ZAP_DOMAIN) || !s_frame_is(&request, 5, "CURVE")) {
        why = "not a CURVE handshake of domain " ZUTIL_ZAP_DOMAIN;
    } else if (request.count < 7 || request.size[6] != AUTH_KEY_BYTES || !request.data[6]) {
        why = "no client key";
    } else if (!s_is_allowed(self, request.data[6])) {
        why = "client key not in security.curve_client_keys";
    } else {
        status = "200";
        text = "OK";
    }
    if (why)
        s_note_denied(self, &request, why);
    const void *request_id = request.count > 1 && request.data[1] ? request.data[1] : "";
    size_t request_id_size = request.count > 1 && request.data[1] ? request.size[1] : 0;
    zmq_send(self->handler, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(self->handler, request_id, request_id_size, ZMQ_SNDMORE);
    zmq_send(self->handler, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(self->handler, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(self->handler, "", 0, ZMQ_SNDMORE); /* user id */
    zmq_send(self->handler, "", 0, 0);           /* metadata */
    zutil_frames_clear(&request);
}

/* The handler thread: answers ZAP requests until the control pipe speaks
 * (or the context is terminated), then closes its own sockets, so that
 * zmq_ctx_term never waits for them. */
static void *s_serve(void *arg)
{
    auth_zap_t *self = arg;
    zmq_pollitem_t items[] = {{.socket = self->handler, .events = ZMQ_POLLIN},
                              {.socket = self->control_peer, .events = ZMQ_POLLIN}};
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: the context is going away */
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            s_answer(self);
    }
    zutil_close(&self->handler);
    zutil_close(&self->control_peer);
    return NULL;
}

auth_zap_t *auth_zap_start(void *zmq_ctx, const config_t *cfg, err_t *err)
{
    auth_zap_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    atomic_init(&self->denied, 0);
    if (!cfg->curve_public_key || !cfg->curve_public_key[0])
        return self; /* plain ZMTP: nothing to authenticate */
    if (s_decode_key(cfg->curve_public_key, self->server_key, "security.curve_public_key", err) <
            0 ||
        !(self->allowed = s_allowed_keys(cfg, &self->allowed_count, err)))
        goto fail;

    /* Bound here, before the thread runs, so that the service's sockets
     * never bind while no handler listens (libzmq would then let every
     * client in) and a second handler in the context is an error now. */
    self->handler = zutil_socket(zmq_ctx, ZMQ_REP, AUTH_ZAP_ENDPOINT, true, 1000, err);
    if (!self->handler) {
        err_wrap(err, "ZAP handler (is another one running in this ZeroMQ context?)");
        goto fail;
    }
    char control_endpoint[64];
    snprintf(control_endpoint, sizeof control_endpoint, "inproc://leadops-zap-control-%p",
             (void *)self);
    self->control_peer = zutil_socket(zmq_ctx, ZMQ_PAIR, control_endpoint, true, 10, err);
    self->control = self->control_peer
                        ? zutil_socket(zmq_ctx, ZMQ_PAIR, control_endpoint, false, 10, err)
                        : NULL;
    if (!self->control)
        goto fail;
    int rc = pthread_create(&self->thread, NULL, s_serve, self);
    if (rc != 0) {
        err_set(err, ERR_IO, "ZAP handler thread: %s", strerror(rc));
        goto fail;
    }
    self->active = true;
    return self;
fail:
    zutil_close(&self->handler);
    zutil_close(&self->control_peer);
    zutil_close(&self->control);
    auth_zap_stop(&self);
    return NULL;
}

void auth_zap_stop(auth_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    auth_zap_t *self = *self_p;
    if (self->active) {
        /* A blocking send on an inproc PAIR whose peer is connected cannot
         * be lost; the thread closes its sockets and ends. */
        zmq_send(self->control, "STOP", 4, 0);
        pthread_join(self->thread, NULL);
        zutil_close(&self->control);
    }
    pthread_mutex_destroy(&self->lock);
    free(self->allowed);
    free(self);
    *self_p = NULL;
}

int auth_zap_allow(auth_zap_t *self, const config_t *cfg, err_t *err)
{
    bool curve = cfg->curve_public_key && cfg->curve_public_key[0];
    if (!self->active || !curve)
        return self->active != curve ? 1 : 0;
    s_key_t server_key;
    if (s_decode_key(cfg->curve_public_key, server_key, "security.curve_public_key", err) < 0)
        return -1;
    size_t count = 0;
    s_key_t *keys = s_allowed_keys(cfg, &count, err);
    if (!keys)
        return -1;
    /* The running sockets serve with the old pair until a restart: keep
     * allowing the old deployment key beside the new one, so that neither
     * the services still on it nor those restarted with the new pair are
     * locked out meanwhile. */
    bool pair_changed = memcmp(server_key, self->server_key, AUTH_KEY_BYTES) != 0;
    if (pair_changed) {
        s_key_t *grown = realloc(keys, (count + 1) * sizeof *keys);
        if (!grown) {
            free(keys);
            return err_set(err, ERR_NOMEM, "out of memory for the allowed CurveZMQ keys");
        }
        keys = grown;
        memcpy(keys[count++], self->server_key, AUTH_KEY_BYTES);
    }
    pthread_mutex_lock(&self->lock);
    s_key_t *old = self->allowed;
    self->allowed = keys;
    self->allowed_count = count;
    pthread_mutex_unlock(&self->lock);
    free(old);
    return pair_changed ? 1 : 0;
}

uint64_t auth_zap_denied_count(const auth_zap_t *self)
{
    return atomic_load(&self->denied);
}
