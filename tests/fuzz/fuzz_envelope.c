/* fuzz_envelope.c — libFuzzer target for the bytes every ZeroMQ hop receives.
 *
 * Follows what the services do with a frame: envelope_decode, then the
 * payload decoder its type names (ingest, scoring, routing, leadopsctl), then
 * for a lead lead_normalize + lead_validate and the re-pack ingest does, for
 * an activity activity_check against the built-in default config. Everything
 * decoded is freed again, so a leak is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "envelope.h"
#include "fuzz_support.h"
#include "lead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Packs MSG again the way ingest does after validation; the bytes must decode. */
static void s_repack(Leadops__EventType type, const Leadops__Envelope *env,
                     const ProtobufCMessage *msg)
{
    size_t len = 0;
    uint8_t *bytes =
        envelope_pack(type, env->event_id, env->producer, env->occurred_at_ms, 1, msg, &len, NULL);
    if (!bytes)
        abort();
    Leadops__Envelope *again = envelope_decode(bytes, len, NULL);
    if (!again)
        abort(); /* what we packed ourselves must pass our own checks */
    leadops__envelope__free_unpacked(again, NULL);
    free(bytes);
}

static void s_lead(const Leadops__Envelope *env)
{
    Leadops__Lead *lead = envelope_lead(env, NULL);
    if (!lead)
        return;
    lead_normalize(lead);
    err_t err = {0};
    if (lead_validate(lead, &err) == 0)
        s_repack(LEADOPS__EVENT_TYPE__EVENT_LEAD, env, &lead->base);
    leadops__lead__free_unpacked(lead, NULL);
}

static void s_activity(const Leadops__Envelope *env)
{
    Leadops__Activity *activity = envelope_activity(env, NULL);
    if (!activity)
        return;
    err_t err = {0};
    if (activity_check(activity, fuzz_default_config(), &err) == 0)
        s_repack(LEADOPS__EVENT_TYPE__EVENT_ACTIVITY, env, &activity->base);
    leadops__activity__free_unpacked(activity, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_default_config();
    err_t err = {0};
    Leadops__Envelope *env = envelope_decode(data, size, &err);
    if (!env)
        return 0;
    (void)envelope_type_name(env->type);
    switch (env->type) {
    case LEADOPS__EVENT_TYPE__EVENT_LEAD:
        s_lead(env);
        break;
    case LEADOPS__EVENT_TYPE__EVENT_ACTIVITY:
        s_activity(env);
        break;
    case LEADOPS__EVENT_TYPE__EVENT_SCORED_LEAD: {
        Leadops__ScoredLead *scored = envelope_scored_lead(env, NULL);
        if (scored)
            leadops__scored_lead__free_unpacked(scored, NULL);
        break;
    }
    case LEADOPS__EVENT_TYPE__EVENT_REP_COMMAND: {
        Leadops__RepCommand *command = envelope_rep_command(env, NULL);
        if (command)
            leadops__rep_command__free_unpacked(command, NULL);
        break;
    }
    case LEADOPS__EVENT_TYPE__EVENT_ACK: {
        Leadops__Ack *ack = envelope_ack(env, NULL);
        if (ack)
            leadops__ack__free_unpacked(ack, NULL);
        break;
    }
    default:
        break;
    }
    /* A decoder must refuse a payload of the wrong type, whatever it holds. */
    Leadops__Ack *wrong =
        env->type == LEADOPS__EVENT_TYPE__EVENT_ACK ? NULL : envelope_ack(env, NULL);
    if (wrong)
        abort();
    leadops__envelope__free_unpacked(env, NULL);
    return 0;
}
