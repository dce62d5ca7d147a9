/* zutil.h — small ZeroMQ helpers shared by every service.
 *
 * Sockets are created with LINGER set (so a stopping process does not hang
 * on unsent messages but still flushes for a moment), explicit high-water
 * marks, and either bound or connected. A socket belongs to one thread. */
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

/* Creates a socket of TYPE (ZMQ_PUSH, ...), binds it to ENDPOINT when BIND,
 * else connects. Returns the socket or NULL with *err set. */
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
