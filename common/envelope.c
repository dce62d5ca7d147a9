#include "envelope.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void envelope_new_id(char out[33])
{
    unsigned char raw[16];
    /* getrandom never blocks once the pool is initialised, which it is long
     * before any service starts; a short read would only weaken uniqueness. */
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t mix = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
        for (size_t i = 0; i < sizeof raw; i++) {
            mix = mix * 6364136223846793005ULL + 1442695040888963407ULL;
            raw[i] = (unsigned char)(mix >> 56);
        }
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
}

uint8_t *envelope_pack_raw(const Leadops__Envelope *env, size_t *len, err_t *err)
{
    size_t size = leadops__envelope__get_packed_size(env);
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) {
        err_set(err, ERR_NOMEM, "out of memory packing an envelope of %zu bytes", size);
        return NULL;
    }
    leadops__envelope__pack(env, bytes);
    *len = size;
    return bytes;
}

uint8_t *envelope_pack(Leadops__EventType type, const char *event_id, const char *producer,
                       int64_t occurred_at_ms, int64_t ingested_at_ms, const ProtobufCMessage *msg,
                       size_t *len, err_t *err)
{
    char new_id[33];
    if (!event_id) {
        envelope_new_id(new_id);
        event_id = new_id;
    }
    size_t payload_size = protobuf_c_message_get_packed_size(msg);
    uint8_t *payload = malloc(payload_size ? payload_size : 1);
    if (!payload) {
        err_set(err, ERR_NOMEM, "out of memory packing a payload of %zu bytes", payload_size);
        return NULL;
    }
    protobuf_c_message_pack(msg, payload);

    Leadops__Envelope env = LEADOPS__ENVELOPE__INIT;
    env.event_id = (char *)event_id;
    env.type = type;
    env.schema_version = ENVELOPE_SCHEMA_VERSION;
    env.producer = (char *)(producer ? producer : "");
    env.occurred_at_ms = occurred_at_ms;
    env.ingested_at_ms = ingested_at_ms;
    env.sent_at_ms = clock_now_ms();
    env.payload.data = payload;
    env.payload.len = payload_size;
    uint8_t *bytes = envelope_pack_raw(&env, len, err);
    free(payload);
    return bytes;
}

bool envelope_id_is_valid(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len >= EVENT_ID_MAX)
        return false;
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127)
            return false;
    return true;
}

Leadops__Envelope *envelope_decode(const uint8_t *bytes, size_t len, err_t *err)
{
    Leadops__Envelope *env = leadops__envelope__unpack(NULL, len, bytes);
    if (!env) {
        err_set(err, ERR_INPUT, "malformed envelope: not a leadops.Envelope protobuf");
        return NULL;
    }
    const char *problem = NULL;
    if (!envelope_id_is_valid(env->event_id))
        problem = "event_id must be 1..63 printable characters without spaces";
    else if (env->schema_version < 1 || env->schema_version > ENVELOPE_SCHEMA_VERSION)
        problem = "unsupported schema_version (this build speaks 1)";
    else if (!protobuf_c_enum_descriptor_get_value(&leadops__event_type__descriptor,
                                                   (int)env->type) ||
             env->type == LEADOPS__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED)
        problem = "unknown event type";
    if (problem) {
        err_set(err, ERR_INPUT, "%s", problem);
        leadops__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    return env;
}

#define ENVELOPE_PAYLOAD_DECODER(fn, Type, lower, TYPE_CONST, label)                               \
    Type *fn(const Leadops__Envelope *env, err_t *err)                                             \
    {                                                                                              \
        if (env->type != TYPE_CONST) {                                                             \
            err_set(err, ERR_INPUT, "expected a %s event, got %s", label,                          \
                    envelope_type_name(env->type));                                                \
            return NULL;                                                                           \
        }                                                                                          \
        Type *msg = lower##__unpack(NULL, env->payload.len, env->payload.data);                    \
        if (!msg)                                                                                  \
            err_set(err, ERR_INPUT, "malformed %s payload", label);                                \
        return msg;                                                                                \
    }

ENVELOPE_PAYLOAD_DECODER(envelope_lead, Leadops__Lead, leadops__lead,
                         LEADOPS__EVENT_TYPE__EVENT_LEAD, "lead")
ENVELOPE_PAYLOAD_DECODER(envelope_activity, Leadops__Activity, leadops__activity,
                         LEADOPS__EVENT_TYPE__EVENT_ACTIVITY, "activity")
ENVELOPE_PAYLOAD_DECODER(envelope_scored_lead, Leadops__ScoredLead, leadops__scored_lead,
                         LEADOPS__EVENT_TYPE__EVENT_SCORED_LEAD, "scored lead")
ENVELOPE_PAYLOAD_DECODER(envelope_rep_command, Leadops__RepCommand, leadops__rep_command,
                         LEADOPS__EVENT_TYPE__EVENT_REP_COMMAND, "rep command")
ENVELOPE_PAYLOAD_DECODER(envelope_ack, Leadops__Ack, leadops__ack, LEADOPS__EVENT_TYPE__EVENT_ACK,
                         "ack")

const char *envelope_type_name(Leadops__EventType type)
{
    switch (type) {
    case LEADOPS__EVENT_TYPE__EVENT_LEAD:
        return "lead";
    case LEADOPS__EVENT_TYPE__EVENT_ACTIVITY:
        return "activity";
    case LEADOPS__EVENT_TYPE__EVENT_SCORED_LEAD:
        return "scored_lead";
    case LEADOPS__EVENT_TYPE__EVENT_ASSIGNMENT:
        return "assignment";
    case LEADOPS__EVENT_TYPE__EVENT_LEAD_QUEUED:
        return "lead_queued";
    case LEADOPS__EVENT_TYPE__EVENT_REP_COMMAND:
        return "rep_command";
    case LEADOPS__EVENT_TYPE__EVENT_ACK:
        return "ack";
    case LEADOPS__EVENT_TYPE__EVENT_LEAD_CLOSED:
        return "lead_closed";
    case LEADOPS__EVENT_TYPE__EVENT_REJECTED:
        return "rejected";
    case LEADOPS__EVENT_TYPE__EVENT_REP_CHANGED:
        return "rep_changed";
    case LEADOPS__EVENT_TYPE__EVENT_STAGE_CHANGED:
        return "stage_changed";
    default:
        return "unknown";
    }
}
