/* scoring_send.c — what a scored lead sends: the ScoredLead to routing (when
 * apply.lua put it in flight there) and on the event bus, and a StageChange
 * on the bus when the lead moved between stages. */
#include <stdlib.h>
#include <zmq.h>

#include "envelope.h"
#include "scoring_internal.h"

/* Reads apply.lua's reply {1, score, stage, previous stage, to routing,
 * lead, ingested at, fit, engagement, grade, model points}. */
scoring_scored_t scoring_scored_from_reply(const char *lead_id, const store_value_t *reply)
{
    return (scoring_scored_t){
        .lead_id = lead_id,
        .score = store_value_double(store_value_at(reply, 1), 0),
        .stage = store_value_str(store_value_at(reply, 2), ""),
        .previous_stage = store_value_str(store_value_at(reply, 3), ""),
        .to_routing = store_value_int(store_value_at(reply, 4), 0) == 1,
        .lead_pb = store_value_at(reply, 5),
        .ingested_at_ms = store_value_int(store_value_at(reply, 6), 0),
        .fit = store_value_double(store_value_at(reply, 7), 0),
        .engagement = store_value_double(store_value_at(reply, 8), 0),
        .grade = store_value_str(store_value_at(reply, 9), ""),
        .model = store_value_double(store_value_at(reply, 10), 0),
    };
}

static void s_publish(scoring_t *self, Leadops__EventType type, const ProtobufCMessage *message,
                      int64_t ingested_at_ms, bool to_routing)
{
    size_t len;
    uint8_t *bytes =
        envelope_pack(type, NULL, "leadops-scoring", 0, ingested_at_ms, message, &len, NULL);
    if (!bytes)
        return;
    /* A full queue to routing leaves the lead in flight: redelivery sends it later. */
    if (to_routing)
        zmq_send(self->routing_push, bytes, len, ZMQ_DONTWAIT);
    bus_publish(self->bus, bytes, len);
    free(bytes);
}

/* Sends a ScoredLead for R: to routing when R says so (the lead is in flight
 * to routing), and always on the event bus (with the lead's fields only when
 * routing gets it too: the bus carries no more personal data than it must);
 * and a StageChange on the bus when the lead moved. CAUSE: "lead",
 * "activity" or "decay". */
void scoring_send_scored(scoring_t *self, const scoring_scored_t *r, const char *cause)
{
    Leadops__Lead *lead = NULL;
    Leadops__Lead id_only = LEADOPS__LEAD__INIT;
    if (r->to_routing && r->lead_pb && r->lead_pb->type == STORE_STR && r->lead_pb->len)
        lead = leadops__lead__unpack(NULL, r->lead_pb->len, (const uint8_t *)r->lead_pb->str);
    if (!lead)
        id_only.lead_id = (char *)r->lead_id;
    int64_t now = clock_now_ms();

    Leadops__ScoredLead scored = LEADOPS__SCORED_LEAD__INIT;
    scored.lead = lead ? lead : &id_only;
    scored.score = r->score;
    scored.fit_score = r->fit;
    scored.engagement_score = r->engagement;
    scored.model_score = r->model;
    scored.grade = (char *)(r->grade ? r->grade : "");
    scored.stage = (char *)(r->stage ? r->stage : "");
    scored.previous_stage = (char *)(r->previous_stage ? r->previous_stage : "");
    scored.qualified = r->to_routing;
    scored.scored_at_ms = now;
    scored.ingested_at_ms = r->ingested_at_ms;
    s_publish(self, LEADOPS__EVENT_TYPE__EVENT_SCORED_LEAD, &scored.base, r->ingested_at_ms,
              r->to_routing && lead);
    if (r->previous_stage && r->previous_stage[0]) {
        Leadops__StageChange change = LEADOPS__STAGE_CHANGE__INIT;
        change.lead_id = (char *)r->lead_id;
        change.from_stage = (char *)r->previous_stage;
        change.to_stage = (char *)r->stage;
        change.score = r->score;
        change.changed_at_ms = now;
        change.cause = (char *)cause;
        s_publish(self, LEADOPS__EVENT_TYPE__EVENT_STAGE_CHANGED, &change.base, r->ingested_at_ms,
                  false);
        self->stats.stage_changes++;
    }
    if (lead)
        leadops__lead__free_unpacked(lead, NULL);
}
