/* routing_fixture.h — drives services/routing/routing.lua the way routing.c
 * does, for the integration tests of the routing engine: reps and queues
 * from a config, working windows computed with calendar.h in a rep's own
 * time zone, leads in flight from scoring, and the audit of a decision.
 *
 * Keys use the prefix "t". Every call takes `now` (Unix ms) explicitly, so
 * tests simulate times of day. A call that gets no reply or an error reply
 * fails the running cmocka test: these helpers are for the test's own
 * process only (a forked child must not use them). */
#ifndef LEADOPS_ROUTING_FIXTURE_H
#define LEADOPS_ROUTING_FIXTURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "store.h"

/* Room for a rep id or a waiting reason written by routing_fixture_route. */
#define ROUTING_FIXTURE_TEXT_MAX 256

/* A rep as the config gives it to the 'sync' operation. NULL fields take
 * the defaults in brackets. */
typedef struct {
    const char *id;         /* required */
    const char *capacity;   /* ["10"] */
    const char *status;     /* ["online"] */
    const char *queues;     /* comma-separated ["q"] */
    const char *daily_cap;  /* 0 = none ["0"] */
    const char *weekly_cap; /* 0 = none ["0"] */
    const char *weight;     /* ["1"] */
    const char *team;       /* [""] */
    const char *skills;     /* comma-separated [""] */
} routing_fixture_rep_t;

/* A queue's settings as 'queue_sync' takes them; NULL fields take the
 * defaults in brackets. */
typedef struct {
    const char *name;             /* required */
    const char *strategy;         /* round_robin|weighted|least_loaded ["round_robin"] */
    const char *sla_s;            /* 0 = no SLA ["0"] */
    const char *sla_bh;           /* "1": SLA counted in working hours ["0"] */
    const char *max_attempts;     /* ["3"] */
    const char *escalate_to;      /* [""] */
    const char *overflow_after_s; /* 0 = never ["0"] */
    const char *overflow_to;      /* [""] */
    const char *owner_first;      /* ["0"] */
    const char *owner_fallback;   /* queue|team ["queue"] */
    const char *catch_up;         /* ["0"] */
    const char *webhook;          /* [""] */
} routing_fixture_queue_t;

/* Runs routing.lua (registered on STORE as SCRIPT) operation OP at NOW with
 * ARGC ARGS after op, prefix and now. Returns the reply (owned). */
store_value_t *routing_fixture_call(store_t *store, int script, int64_t now, const char *op,
                                    int argc, const char *const *args);

/* Writes REP with 'sync' and QUEUE with 'queue_sync'. */
void routing_fixture_rep(store_t *store, int script, const routing_fixture_rep_t *rep);
void routing_fixture_queue(store_t *store, int script, const routing_fixture_queue_t *queue);

/* Writes REP_ID's working windows with 'avail' as routing.c computes them
 * at NOW: a rep in time zone TZ who works WEEKDAY_HOURS ("09:00-17:00")
 * Monday to Friday (NULL: any time), minus the OOO_COUNT out-of-office
 * periods OOO (borrowed), over the 8 days from the start of its local day,
 * with the starts of its local days and weeks (for its caps). */
void routing_fixture_hours(store_t *store, int script, int64_t now, const char *rep_id,
                           const char *tz, const char *weekday_hours, const cal_period_t *ooo,
                           size_t ooo_count);

/* Writes to DAYS the local midnights in TZ (UTC ms) of the COUNT days from
 * the Monday of next week (by this machine's clock) on. Tests simulate
 * times from there and not from a fixed date: the script's cap counters
 * expire at absolute times (PEXPIREAT) on Redis' clock, so simulated days
 * must lie ahead of the real one. */
void routing_fixture_next_week(const char *tz, int count, int64_t *days);

/* Routes LEAD_ID into QUEUE at NOW, as routing.c does for a scored lead:
 * marks it in flight from scoring, gives it SCORE and ingested_at = NOW,
 * then calls 'route' (rule "r1", at the queue's stage) with the SKILLS it
 * needs and its email DOMAINS ("" for none). Returns the outcome (1
 * assigned, 2 waiting, ...); OUT (ROUTING_FIXTURE_TEXT_MAX bytes, or NULL)
 * gets the rep when assigned, the reason when waiting, else "". */
long long routing_fixture_route(store_t *store, int script, int64_t now, const char *lead_id,
                                const char *queue, const char *skills, const char *domains,
                                char *out);

/* Queues in BATCH the three commands of routing_fixture_route (score 10, no
 * skills, no domains); the 'route' reply is the batch's third command from
 * the first one added here. */
void routing_fixture_route_batch(store_batch_t *batch, int script, int64_t now, const char *lead_id,
                                 const char *queue);

/* The last audit record of LEAD_ID, decoded (caller json_decref's it). */
json_t *routing_fixture_last_audit(store_t *store, const char *lead_id);

/* HGET KEY FIELD as a number (-1 when absent) or into OUT (SIZE bytes, ""
 * when absent). */
long long routing_fixture_hget_int(store_t *store, const char *key, const char *field);
void routing_fixture_hget(store_t *store, const char *key, const char *field, char *out,
                          size_t size);

#endif
