/* ingest.h — the leadops-ingest service as a library.
 *
 * Producers send Envelopes (Lead or Activity) to a ROUTER socket and get an
 * Envelope(Ack) back; web forms and webhooks POST JSON to /v1/leads and
 * /v1/activities. Every accepted event is in the Redis journal and in flight
 * to scoring before its ack leaves. One zmq_poll loop drives both doors and
 * the redelivery timer. An ingest_t borrows the config and the ZeroMQ
 * context and owns everything else. */
#ifndef LEADOPS_INGEST_H
#define LEADOPS_INGEST_H

#include <signal.h>

#include "config.h"
#include "err.h"

/* Largest number of ZeroMQ messages handled in one pipeline round trip. */
#define INGEST_BATCH_MAX 512

typedef struct ingest ingest_t;

ingest_t *ingest_new(const config_t *cfg, void *zmq_ctx, err_t *err);
void ingest_destroy(ingest_t **self_p);

/* Runs until *STOP is set. Returns 0. */
int ingest_run(ingest_t *self, volatile sig_atomic_t *stop);

/* The HTTP port actually bound (useful when the config says port 0). */
int ingest_http_port(const ingest_t *self);

#endif
