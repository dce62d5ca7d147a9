/* envelope.h — packing events into the one Envelope every hop carries.
 *
 * Ownership: envelope_decode returns a protobuf-c message the caller frees
 * with leadops__envelope__free_unpacked; envelope_pack returns malloc'ed
 * bytes the caller frees. Payload decode helpers likewise return messages
 * the caller frees with the matching *_free_unpacked. */
#ifndef LEADOPS_ENVELOPE_H
#define LEADOPS_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "leadops.pb-c.h"

#define ENVELOPE_SCHEMA_VERSION 1
#define EVENT_ID_MAX            64 /* bytes including NUL; longer ids are rejected */

/* Milliseconds since the Unix epoch (wall clock) and a monotonic clock. */
int64_t clock_now_ms(void);
int64_t clock_mono_ms(void);
/* Microseconds of the monotonic clock, for latency measurements. */
int64_t clock_mono_us(void);

/* True when ID is a usable event id: 1..EVENT_ID_MAX-1 printable
 * characters, no spaces. */
bool envelope_id_is_valid(const char *id);

/* Writes a new unique 128-bit id as 32 lower-case hex chars + NUL: a
 * random half per thread, then a permuted counter (envelope.c). */
void envelope_new_id(char out[33]);

/* The producer name `leadopsctl import` stamps on its envelopes: ingest
 * counts their leads under the channel "import" (else "zmq" or "http"). */
#define ENVELOPE_PRODUCER_IMPORT "leadopsctl-import"

/* Packs MSG (any protobuf-c message) as the payload of a new envelope of
 * TYPE. EVENT_ID NULL means a new random id. Returns malloc'ed bytes with
 * their length in *LEN, or NULL with *err set. */
uint8_t *envelope_pack(Leadops__EventType type, const char *event_id, const char *producer,
                       int64_t occurred_at_ms, int64_t ingested_at_ms, const ProtobufCMessage *msg,
                       size_t *len, err_t *err);

/* Packs ENV as is (sent_at_ms is not touched). Same ownership. */
uint8_t *envelope_pack_raw(const Leadops__Envelope *env, size_t *len, err_t *err);

/* Decodes and checks an envelope: known type, schema version 1..current,
 * an event id of 1..EVENT_ID_MAX-1 printable chars. Returns the envelope or
 * NULL with *err (ERR_INPUT) saying what is wrong. */
Leadops__Envelope *envelope_decode(const uint8_t *bytes, size_t len, err_t *err);

/* Decodes ENV's payload as the message its type names. NULL + ERR_INPUT when
 * the type does not match or the payload is malformed. */
Leadops__Lead *envelope_lead(const Leadops__Envelope *env, err_t *err);
Leadops__Activity *envelope_activity(const Leadops__Envelope *env, err_t *err);
Leadops__ScoredLead *envelope_scored_lead(const Leadops__Envelope *env, err_t *err);
Leadops__RepCommand *envelope_rep_command(const Leadops__Envelope *env, err_t *err);
Leadops__Ack *envelope_ack(const Leadops__Envelope *env, err_t *err);

/* "lead", "activity", ... for logs and metrics labels. */
const char *envelope_type_name(Leadops__EventType type);

#endif
