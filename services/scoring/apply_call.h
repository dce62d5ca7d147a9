/* apply_call.h — the call of apply.lua, built in one place: its keys and
 * arguments come from the config and one event. The scoring service queues
 * its calls in batches; tests run the script against a real Redis through
 * the same function, so that both always agree on the script's arguments.
 *
 * An apply_call_t holds what does not change between calls (key names, the
 * stages, the half-life); it borrows the config. */
#ifndef LEADOPS_APPLY_CALL_H
#define LEADOPS_APPLY_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "leadops.pb-c.h"
#include "store.h"

#define APPLY_KEYS 15

/* One event for apply.lua. Strings are borrowed; NULL reads as "". */
typedef struct {
    const char *kind;     /* "lead", "activity" or "restage" */
    const char *event_id; /* unused for restage */
    const char *lead_id;  /* aliases resolved, unless UNRESOLVED */
    bool unresolved;      /* LEAD_ID as the event came, not looked up: apply.lua
                             refuses it ({3}) when it is an alias */
    int64_t now_ms;
    int64_t ingested_at_ms; /* when ingest accepted the event (0: now) */

    /* lead */
    const uint8_t *lead_pb; /* the merged Lead, packed */
    size_t lead_pb_len;
    double fit;
    const char *grade;
    const char *fit_rules; /* JSON array of the fit rules matched */
    const char *rev;       /* the lead's revision the merge was computed from */
    int64_t event_time_ms;
    const char *changes;    /* JSON object of changed fields, "" for none */
    const char *came_as;    /* the lead id the event came with */
    double model_p;         /* the model's probability; < 0 without a model */
    const char *model_top;  /* JSON array of the top contributions */
    const char *model_name; /* model_live_describe */
    const char *source;     /* the lead's source as the event has it ("": unknown) */

    /* activity */
    const char *activity_type;
    const char *outcome;
    int64_t occurred_at_ms; /* 0: now */
    const char *rep_id;     /* who did it; NULL or "": the rep holding the lead */
    double value;           /* money, for deals */
    const char *product;    /* attributes.product */
    int64_t opened_at_ms;   /* when the deal opened (attributes.engage_date); 0: unknown */
} apply_event_t;

/* Fills EVENT's activity fields from ACTIVITY (borrowed: EVENT points into
 * it): type, outcome, time (ENVELOPE_OCCURRED_AT_MS when the activity has
 * none), rep, value, and the attributes product and engage_date (an ISO
 * date or time, see json_parse_time; one that does not parse is ignored). */
void apply_event_set_activity(apply_event_t *event, const Leadops__Activity *activity,
                              int64_t envelope_occurred_at_ms);

typedef struct apply_call apply_call_t;

apply_call_t *apply_call_new(const config_t *cfg, const char *ingest_hop_key,
                             const char *ingest_hop_message_key, const char *routing_hop_key,
                             err_t *err);
void apply_call_destroy(apply_call_t **self_p);

/* Queues apply.lua (registered as SCRIPT) for EVENT on BATCH. An activity's
 * points, cap and outcome points come from the config. */
void apply_call_queue(const apply_call_t *self, store_batch_t *batch, int script,
                      const apply_event_t *event);

/* The stages as apply.lua reads them: "lead;mql:20:15;sql:60:50". Borrowed. */
const char *apply_call_stages(const apply_call_t *self);

#endif
