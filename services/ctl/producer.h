/* producer.h — a reliable ZeroMQ producer for ingest: sends Envelopes on a
 * DEALER socket with a window of unacknowledged events, re-sends on BUSY
 * (after the advised delay) and on timeout (same event id: ingest
 * de-duplicates), and counts the outcomes. Used by `leadopsctl send`, `gen`
 * and the tests. A producer_t owns its socket; it borrows the context. */
#ifndef LEADOPS_PRODUCER_H
#define LEADOPS_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "leadops.pb-c.h"

#define PRODUCER_WINDOW     512
#define PRODUCER_TIMEOUT_MS 5000

typedef struct producer producer_t;

typedef struct {
    uint64_t sent, accepted, duplicates, rejected;
    uint64_t busy_retries; /* BUSY acks: ingest asked us to wait */
    uint64_t resends;      /* transmissions after the first (after BUSY or a timeout) */
} producer_stats_t;

/* Called for each final ack (accepted, duplicate or rejected). */
typedef void (*producer_ack_fn)(void *arg, const Leadops__Ack *ack);

/* Connects a DEALER to ENDPOINT. CFG (borrowed for the call; NULL: plain
 * ZMTP) gives the CurveZMQ keys: with security.curve_* set the producer is
 * a CURVE client with the deployment key pair. Returns NULL with *err set
 * when the keys are unusable or the endpoint is malformed. */
producer_t *producer_new(void *zmq_ctx, const char *endpoint, const config_t *cfg,
                         producer_ack_fn on_ack, void *arg, err_t *err);
void producer_destroy(producer_t **self_p);

/* Sends one envelope (BYTES are copied; EVENT_ID is its id). Blocks while
 * the window is full, handling acks. Returns 0, or -1 with *err set when no
 * ack arrives for far too long (ingest down). */
int producer_send(producer_t *self, const char *event_id, const void *bytes, size_t size,
                  err_t *err);

/* Handles acks for up to TIMEOUT_MS (0: only what is waiting). */
void producer_poll(producer_t *self, int timeout_ms);

/* Waits until every sent event is acknowledged, up to TIMEOUT_MS. Returns
 * 0, or -1 with *err set naming how many are still unacknowledged. */
int producer_flush(producer_t *self, int timeout_ms, err_t *err);

size_t producer_outstanding(const producer_t *self);
const producer_stats_t *producer_stats(const producer_t *self);

#endif
