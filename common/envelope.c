#include "envelope.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
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

/* Ids come from a per-thread generator seeded once from getrandom (a
 * system call per id cost more than the rest of making an event): a random
 * 64-bit stream per thread and a splitmix64 permutation of a counter, so
 * ids of one stream never repeat and streams differ by their random half.
 * A forked child seeds its own (s_id_generation moves on in the child). */
static unsigned long s_id_generation;
static pthread_once_t s_id_atfork_once = PTHREAD_ONCE_INIT;

static void s_id_after_fork(void)
{
    s_id_generation++;
}

static void s_id_register_atfork(void)
{
    pthread_atfork(NULL, NULL, s_id_after_fork);
}

static uint64_t s_splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void s_id_seed(uint64_t seed[2])
{
    if (getrandom(seed, 2 * sizeof *seed, 0) == (ssize_t)(2 * sizeof *seed))
        return;
    /* No entropy to be had: time, pid and address make streams differ. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed[0] = s_splitmix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                           ((uint64_t)getpid() << 40));
    seed[1] = s_splitmix64(seed[0] ^ (uint64_t)(uintptr_t)seed);
}

void envelope_new_id(char out[33])
{
    static _Thread_local uint64_t stream, key, counter;
    static _Thread_local unsigned long generation;
    static _Thread_local bool seeded;
    pthread_once(&s_id_atfork_once, s_id_register_atfork);
    if (!seeded || generation != s_id_generation) {
        uint64_t seed[2];
        s_id_seed(seed);
        stream = seed[0];
        key = seed[1];
        counter = 0;
        generation = s_id_generation;
        seeded = true;
    }
    uint64_t halves[2] = {stream, s_splitmix64(key + counter++)};
    static const char hex[] = "0123456789abcdef";
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 16; i++)
            out[16 * h + i] = hex[(halves[h] >> (60 - 4 * i)) & 15];
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
