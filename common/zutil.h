/* zutil.h — small ZeroMQ helpers shared by every service.
 *
 * Sockets are created with LINGER set (so a stopping process does not hang
 * on unsent messages but still flushes for a moment), explicit high-water
 * marks, and either bound or connected. A socket belongs to one thread.
 *
 * With a zutil_security_t whose curve flag is set, a bound socket is a
 * CurveZMQ server (its handshakes go to the ZAP handler of the context,
 * domain ZUTIL_ZAP_DOMAIN: see auth.h, which must be running before the
 * bind) and a connected one is a CurveZMQ client of the server key. Without
 * it (NULL, or curve false) the socket speaks plain ZMTP. */
#ifndef LEADOPS_ZUTIL_H
#define LEADOPS_ZUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define ZUTIL_MAX_FRAMES 8

/* Send and receive high-water marks, in messages. Work queues (PUSH/PULL)
 * are sized so that a burst of a few seconds fits while memory stays bounded;
 * the real buffer of work in flight is Redis' in-flight set, so a full queue
 * never loses anything: senders see EAGAIN and leave the entry for
 * redelivery. */
#define ZUTIL_HWM_WORK   50000
#define ZUTIL_HWM_EVENTS 100000
#define ZUTIL_HWM_REPLY  10000

/* Length of a CurveZMQ key in Z85 text (a 32-byte key). */
#define ZUTIL_Z85_KEY_LEN 40
/* The ZAP domain of every LeadOps CURVE server socket. */
#define ZUTIL_ZAP_DOMAIN "leadops"

/* How a process's sockets authenticate; built once from the config
 * (auth_security_from_config). The secret key is a secret: never logged. */
typedef struct {
    bool curve;                                /* false: plain ZMTP, the keys are unused */
    char public_key[ZUTIL_Z85_KEY_LEN + 1];    /* Z85: this process's key pair */
    char secret_key[ZUTIL_Z85_KEY_LEN + 1];    /* Z85: server key when binding, client when not */
    char server_public[ZUTIL_Z85_KEY_LEN + 1]; /* Z85: the servers it connects to */
} zutil_security_t;

/* Creates a socket of TYPE (ZMQ_PUSH, ...), binds it to ENDPOINT when BIND,
 * else connects, with the CurveZMQ role SECURITY asks for (NULL: plain; the
 * side that binds is the CURVE server). An ENDPOINT written ">tcp://..."
 * turns the sides round: the side that would bind connects and the other
 * binds. For a work hop that means the sender binds and each of several
 * receivers connects, and ZeroMQ shares the messages between them (several
 * scoring or routing instances). ENDPOINT may be a comma-separated list:
 * each is bound or connected to (a routing instance connects to the PUSH of
 * each scoring instance). Returns the socket or NULL with *err set (never
 * quoting a key). */
void *zutil_socket_secure(void *ctx, int type, const char *endpoint, bool bind, int hwm,
                          const zutil_security_t *security, err_t *err);

/* zutil_socket_secure without security: plain ZMTP. For inproc sockets and
 * tests; a service passes its security to zutil_socket_secure. */
void *zutil_socket(void *ctx, int type, const char *endpoint, bool bind, int hwm, err_t *err);

/* Closes *SOCK_P if not NULL and sets it to NULL. */
void zutil_close(void **sock_p);

/* One multipart message: up to ZUTIL_MAX_FRAMES frames, the last being the
 * body. Frames are copied into memory the struct owns. */
typedef struct {
    size_t count;
    void *data[ZUTIL_MAX_FRAMES]; /* owned */
    size_t size[ZUTIL_MAX_FRAMES];
    bool truncated; /* more frames than ZUTIL_MAX_FRAMES arrived (dropped) */
} zutil_frames_t;

/* Receives one whole multipart message. FLAGS as zmq_recv (ZMQ_DONTWAIT).
 * Returns 0, or -1 with errno (EAGAIN when nothing waits). Frames bigger than
 * MAX_FRAME are received but flagged by size only (data NULL) so the caller
 * can refuse them without holding them. */
int zutil_recv_frames(void *sock, zutil_frames_t *frames, size_t max_frame, int flags);
void zutil_frames_clear(zutil_frames_t *frames);

/* Sends the first COUNT-1 frames of ROUTE (routing identity and delimiter)
 * followed by BODY. Returns 0 or -1 with errno. */
int zutil_send_routed(void *sock, const zutil_frames_t *route, const void *body, size_t size,
                      int flags);

/* Sends one single-frame message. Returns 0 or -1 with errno. */
int zutil_send(void *sock, const void *body, size_t size, int flags);

#endif
