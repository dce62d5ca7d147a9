/* bus.h — a service's side of the event bus (PUB to reporting), with its
 * events sent in bursts.
 *
 * Each event on the bus is one envelope in one single-frame message, as
 * before; what a bus_t adds is when they leave. Sent one by one at a few
 * thousand leads a second, every event wakes the sender's ZeroMQ I/O
 * thread, the subscriber's I/O thread and the subscriber itself, two or
 * three context switches per event on machines where the cores are shared
 * with Redis and the latency-critical hops. Held for at most DELAY_MS and
 * then sent together, a burst costs those wake-ups once. The bus is best
 * effort (reporting rebuilds from Redis): what a killed process still holds
 * is lost, as a message in a full queue would be; a clean stop sends it
 * (bus_destroy).
 *
 * A bus_t borrows its PUB socket and belongs to the socket's thread. The
 * loop that owns it bounds its poll timeout by bus_timeout_ms and calls
 * bus_tick after each wake-up. */
#ifndef LEADOPS_BUS_H
#define LEADOPS_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A burst goes at once when it holds this many events or bytes. */
#define BUS_BURST_EVENTS 512
#define BUS_BURST_BYTES  (256 * 1024)

typedef struct bus bus_t;

/* A bus over PUB (borrowed; NULL: events are dropped, as with no
 * subscriber) holding events at most DELAY_MS (0: each is sent at once).
 * Returns NULL with *err set when out of memory. */
bus_t *bus_new(void *pub, int delay_ms, err_t *err);
/* Sends what it holds, then frees it; *SELF_P becomes NULL. */
void bus_destroy(bus_t **self_p);

/* Queues a copy of the envelope BYTES (SIZE bytes) for the bus; sends the
 * burst when it is full, or at once without a delay. */
void bus_publish(bus_t *self, const void *bytes, size_t size);

/* Sends every held event now (without blocking: an event the socket
 * refuses is dropped, as a PUB drops for a slow subscriber). */
void bus_flush(bus_t *self);

/* Sends the held events when the oldest has waited DELAY_MS by NOW_MS
 * (clock_mono_ms). */
void bus_tick(bus_t *self, int64_t now_ms);

/* TIMEOUT_MS (a zmq_poll timeout, -1: none) shortened to when the held
 * events are due at NOW_MS. */
long bus_timeout_ms(const bus_t *self, int64_t now_ms, long timeout_ms);

/* Events held now (for tests). */
size_t bus_pending(const bus_t *self);

#endif
