/* intake.h — the core of ingest, shared by the ZeroMQ and HTTP doors.
 *
 * Callers add inputs (envelopes, or leads and activities parsed from JSON);
 * each is decoded, normalized and validated at once. intake_flush then makes
 * every valid one durable in one Redis pipeline (journal + in flight to
 * scoring, by the accept script), forwards them to scoring, publishes them
 * on the event bus, and dead-letters the rejects. Results (accepted,
 * duplicate, rejected with a reason, busy) are read by index afterwards.
 * An intake_t borrows its config, store and sockets. */
#ifndef LEADOPS_INTAKE_H
#define LEADOPS_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "envelope.h"
#include "lead.h"
#include "store.h"

typedef struct intake intake_t;

typedef struct {
    Leadops__Ack__Status status;
    char reason[ERR_MSG_MAX]; /* for REJECTED and BUSY */
    char event_id[EVENT_ID_MAX];
    char lead_id[LEAD_ID_MAX + 1];
    char kind[16];    /* "lead" or "activity" */
    char outcome[16]; /* accepted: "new", "merged" or "attached" */
} intake_result_t;

typedef struct {
    uint64_t accepted, duplicates, rejected, busy, redelivered;
    uint64_t backpressure; /* of busy: refused because scoring is behind */
} intake_stats_t;

/* SCORING_PUSH and BUS are borrowed; BUS may be NULL (no event bus). */
intake_t *intake_new(const config_t *cfg, store_t *store, void *scoring_push, bus_t *bus,
                     err_t *err);
void intake_destroy(intake_t **self_p);

/* Each add returns the input's index for intake_result. CHANNEL is "zmq" or
 * "http" (for dead letters and counters). */
size_t intake_add_envelope(intake_t *self, const void *bytes, size_t size, const char *channel);
/* Takes ownership of *LEAD_P and clears it. EVENT_ID NULL: a new id. */
size_t intake_add_lead(intake_t *self, Leadops__Lead **lead_p, const char *event_id,
                       const char *producer, const char *channel);
size_t intake_add_activity(intake_t *self, Leadops__Activity **activity_p, const char *event_id,
                           const char *producer, const char *channel);
/* Records an input refused before it could be decoded (oversized, bad JSON). */
size_t intake_add_reject(intake_t *self, const char *reason, const char *channel, size_t size);

/* Journals, forwards and publishes everything added since the last reset.
 * When Redis is unreachable every valid input becomes BUSY (nothing was
 * acknowledged, the producer retries) and -1 is returned with *err set. */
int intake_flush(intake_t *self, err_t *err);

size_t intake_count(const intake_t *self);
const intake_result_t *intake_result(const intake_t *self, size_t index);
/* Forgets the inputs and results; keeps buffers for the next batch. */
void intake_reset(intake_t *self);

/* Re-sends to scoring what is overdue in the in-flight set. Returns the
 * number re-sent or -1 with *err set. */
int intake_redeliver(intake_t *self, int64_t now_ms, err_t *err);

const intake_stats_t *intake_stats(const intake_t *self);

/* The largest body or frame accepted (ingest.max_body_bytes). */
size_t intake_max_body(const intake_t *self);

#endif
