/* scoring_internal.h — what the files of the scoring service share: the
 * service's state, the batch in hand, and the functions each file gives the
 * others. Private to services/scoring (scoring.h is the interface):
 *   scoring.c         the service: sockets, the main loop, a batch of events
 *                     fetched, merged and applied (apply.lua)
 *   scoring_send.c    what a scored lead sends: to routing and on the bus
 *   scoring_sweeps.c  the timers: redelivery to routing, orphaned activities,
 *                     stage moves by decay, a changed model file */
#ifndef LEADOPS_SCORING_INTERNAL_H
#define LEADOPS_SCORING_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "apply_call.h"
#include "auth.h"
#include "bus.h"
#include "hop.h"
#include "keys.h"
#include "lead.h"
#include "leadops.pb-c.h"
#include "model_live.h"
#include "scoring.h"
#include "store.h"

#define REDELIVERY_TICK_MS    250
#define REDELIVERY_CLAIM_MAX  1000
#define ORPHAN_SWEEP_EVERY_MS 1000
#define RESTAGE_EVERY_MS      1000
#define RESTAGE_MAX           SCORING_BATCH_MAX
#define MODEL_POLL_EVERY_MS   1000

/* One event of the batch in hand, kept until it is applied. */
typedef struct {
    Leadops__Envelope *env;        /* owned */
    Leadops__Lead *lead;           /* owned: the payload of a lead event, else NULL */
    Leadops__Activity *activity;   /* owned: the payload of an activity, else NULL */
    char lead_id[LEAD_ID_MAX + 1]; /* the lead it applies to, aliases resolved */
    bool done;
} scoring_pending_t;

struct scoring {
    const config_t *cfg; /* borrowed */
    store_t *store;      /* owned */
    void *pull;          /* owned: work from ingest */
    void *routing_push;  /* owned */
    void *events_pub;    /* owned */
    bus_t *bus;          /* owned: events_pub's bursts */
    auth_zap_t *zap;     /* owned: CurveZMQ handshakes (inert without) */
    hop_t *ingest_hop;   /* owned: we are its receiver */
    hop_t *routing_hop;  /* owned: we are its sender */
    int apply_script, fetch_script;
    store_batch_t *batch;       /* owned: fetch round, redelivery */
    store_batch_t *apply_batch; /* owned: apply round */
    scoring_pending_t pending[SCORING_BATCH_MAX];
    size_t pending_count;
    scoring_stats_t stats;
    char key_stats[KEY_MAX], key_leads[KEY_MAX], key_orphans[KEY_MAX], key_deadletter[KEY_MAX];
    char key_stage_due[KEY_MAX];
    apply_call_t *apply; /* owned */
    model_live_t *model; /* owned; NULL without scoring.model.file */
    int orphans_script;
    int64_t next_orphan_sweep_ms, next_restage_ms, next_model_poll_ms;
    int64_t next_redelivery_ms;
    bool store_down_logged;
    char claimed_ids[REDELIVERY_CLAIM_MAX][160]; /* lead ids of the redelivery in hand */
};

/* A lead as apply.lua (or the redelivery) left it. */
typedef struct {
    const char *lead_id;
    const store_value_t *lead_pb; /* the stored Lead; may be NULL */
    double score, fit, engagement, model;
    const char *grade, *stage, *previous_stage; /* previous_stage: "" when it did not move */
    int64_t ingested_at_ms;
    bool to_routing;
} scoring_scored_t;

/* Reads apply.lua's reply {1, score, stage, previous stage, to routing,
 * lead, ingested at, fit, engagement, grade, model points}; the result
 * borrows from REPLY. */
scoring_scored_t scoring_scored_from_reply(const char *lead_id, const store_value_t *reply);

/* Sends a ScoredLead for R: to routing when R says so, and always on the
 * event bus; a StageChange on the bus when the lead moved. CAUSE: "lead",
 * "activity", "decay" or "redelivery". */
void scoring_send_scored(scoring_t *self, const scoring_scored_t *r, const char *cause);

/* The timers of the main loop (scoring_sweeps.c). */
void scoring_redeliver(scoring_t *self);     /* leads routing has not taken in time */
void scoring_sweep_orphans(scoring_t *self); /* activities whose lead never came */
void scoring_restage(scoring_t *self);       /* leads whose decaying score crosses a stage */
void scoring_poll_model(scoring_t *self);    /* a changed model file */

#endif
