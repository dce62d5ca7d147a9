#include "zutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Makes SOCK a CURVE server (BIND) or client before it binds or connects:
 * the mechanism is fixed at the handshake, so it must be set first. */
static int s_set_curve(void *sock, bool bind, const zutil_security_t *security, err_t *err)
{
    const size_t key_size = ZUTIL_Z85_KEY_LEN + 1; /* Z85 text with its NUL */
    int rc;
    if (bind) {
        int server = 1;
        rc = zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &server, sizeof server);
        if (rc == 0)
            rc = zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, security->secret_key, key_size);
        if (rc == 0)
            rc = zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZUTIL_ZAP_DOMAIN, strlen(ZUTIL_ZAP_DOMAIN));
    } else {
        rc = zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, security->server_public, key_size);
        if (rc == 0)
            rc = zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, security->public_key, key_size);
        if (rc == 0)
            rc = zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, security->secret_key, key_size);
    }
    if (rc != 0)
        return err_set(err, ERR_CONFIG, "zmq curve %s keys: %s", bind ? "server" : "client",
                       errno == EINVAL ? "not valid Z85 keys" : zmq_strerror(errno));
    return 0;
}

void *zutil_socket(void *ctx, int type, const char *endpoint, bool bind, int hwm, err_t *err)
{
    return zutil_socket_secure(ctx, type, endpoint, bind, hwm, NULL, err);
}

void *zutil_socket_secure(void *ctx, int type, const char *endpoint, bool bind, int hwm,
                          const zutil_security_t *security, err_t *err)
{
    if (endpoint[0] == '>') {
        endpoint++;
        bind = !bind;
    }
    void *sock = zmq_socket(ctx, type);
    if (!sock) {
        err_set(err, ERR_IO, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    /* A stopping service gets half a second to flush what it sent, then
     * drops the rest: anything unsent is still in Redis' in-flight set and
     * will be redelivered, so waiting longer buys nothing. */
    int linger = 500;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (security && security->curve && s_set_curve(sock, bind, security, err) < 0) {
        err_wrap(err, "%s", endpoint);
        zmq_close(sock);
        return NULL;
    }
    /* A list "tcp://a,tcp://b": each one bound, or connected to. */
    for (const char *at = endpoint; *at;) {
        size_t len = strcspn(at, ",");
        char one[256];
        if (len == 0 || len >= sizeof one) {
            err_set(err, ERR_CONFIG, "zmq endpoint list %s: an empty or too long endpoint",
                    endpoint);
            zmq_close(sock);
            return NULL;
        }
        memcpy(one, at, len);
        one[len] = '\0';
        int rc = bind ? zmq_bind(sock, one) : zmq_connect(sock, one);
        if (rc != 0) {
            err_set(err, ERR_IO, "zmq %s %s: %s", bind ? "bind" : "connect", one,
                    zmq_strerror(errno));
            zmq_close(sock);
            return NULL;
        }
        at += len + (at[len] == ',');
    }
    return sock;
}

void zutil_close(void **sock_p)
{
    if (sock_p && *sock_p) {
        zmq_close(*sock_p);
        *sock_p = NULL;
    }
}

void zutil_frames_clear(zutil_frames_t *frames)
{
    for (size_t i = 0; i < frames->count; i++)
        free(frames->data[i]);
    memset(frames, 0, sizeof *frames);
}

int zutil_recv_frames(void *sock, zutil_frames_t *frames, size_t max_frame, int flags)
{
    memset(frames, 0, sizeof *frames);
    int more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, frames->count ? 0 : flags) < 0) {
            int saved = errno;
            zmq_msg_close(&msg);
            zutil_frames_clear(frames);
            errno = saved;
            return -1;
        }
        more = zmq_msg_more(&msg);
        size_t size = zmq_msg_size(&msg);
        if (frames->count < ZUTIL_MAX_FRAMES) {
            size_t i = frames->count++;
            frames->size[i] = size;
            if (size <= max_frame) {
                frames->data[i] = malloc(size ? size : 1);
                if (!frames->data[i])
                    abort();
                memcpy(frames->data[i], zmq_msg_data(&msg), size);
            }
        } else {
            frames->truncated = true;
        }
        zmq_msg_close(&msg);
    }
    return 0;
}

int zutil_send_routed(void *sock, const zutil_frames_t *route, const void *body, size_t size,
                      int flags)
{
    for (size_t i = 0; i + 1 < route->count; i++) {
        const void *frame = route->data[i] ? route->data[i] : "";
        if (zmq_send(sock, frame, route->data[i] ? route->size[i] : 0, flags | ZMQ_SNDMORE) < 0)
            return -1;
    }
    return zmq_send(sock, body, size, flags) < 0 ? -1 : 0;
}

int zutil_send(void *sock, const void *body, size_t size, int flags)
{
    return zmq_send(sock, body, size, flags) < 0 ? -1 : 0;
}
