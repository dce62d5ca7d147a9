/* simulate_engine.c — the event loop of a what-if run (simulate_engine.h):
 * events in time order (simulate_events.h), each turned into routing.lua calls in a
 * pipelined batch, each reply turned back into the leads' state, new events
 * and the run's figures (simulate_stats.h). The config and the reps'
 * working windows are written by simulate_sync.c.
 *
 * The engine mirrors what routing.lua decides only where a reply does not
 * say it: which leads an SLA sweep took back (Redis lists the due ones just
 * before the sweep, in the same pipeline), where they went (the queue's
 * max_attempts and escalate_to), and which waiting leads an overflow sweep
 * moved. routing.lua's own counters come back with the figures, so that a
 * disagreement would show. */
#include "simulate_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "route_rules.h"
#include "simulate_events.h"
#include "simulate_stats.h"
#include "simulate_sync.h"

#define MINUTE_MS       60000LL
#define HOUR_MS         (60 * MINUTE_MS)
#define DAY_MS          (24 * HOUR_MS)
#define ACCEPT_MIN_MS   MINUTE_MS        /* the quickest a rep accepts */
#define CLOSE_RETRY_MS  MINUTE_MS        /* a close that met a lead just moved */
#define CLOSE_AFTER_MS  (30 * MINUTE_MS) /* a lead past its close date closes this after accept */
#define SETTLE_MS       (7 * DAY_MS)     /* after the last lead event, drains go on this long */
#define SWEEP_MAX       1000             /* leads one SLA or overflow call handles */
#define DRAIN_MAX       50               /* waiting leads of a queue one drain looks at */
#define PULL_MAX        "1000"           /* waiting leads a close may pull for the rep */
#define BATCH_CALLS_MAX 4096
#define NO_TIME         INT64_MAX

typedef enum { LEAD_NEW = 0, LEAD_WAITING, LEAD_ASSIGNED, LEAD_CLOSED, LEAD_NURTURE } s_status_t;

typedef struct {
    uint8_t status;
    bool accepted, close_pending, ever_assigned;
    int32_t queue, rep; /* config indexes; -1 none */
    uint32_t attempt;   /* the lead's tries in its queue, as routing.lua counts them */
    uint32_t assignments;
} s_lead_t;

/* What a command of the batch was, to read its reply. */
typedef enum {
    CALL_PLAIN, /* a reply that only has to be no error */
    CALL_ROUTE,
    CALL_ACCEPT,
    CALL_CLOSE,
    CALL_SLA_DUE,
    CALL_SLA,
    CALL_OVERFLOW_DUE,
    CALL_OVERFLOW,
    CALL_DRAIN,
    CALL_NEXT_DUE,
} s_call_kind_t;

typedef struct {
    s_call_kind_t kind;
    int64_t t;
    uint32_t lead;
    int32_t rep, queue;
} s_call_t;

typedef struct {
    const config_t *cfg;          /* borrowed */
    const sim_history_t *history; /* borrowed */
    store_t *store;               /* borrowed */
    const sim_engine_options_t *opts;
    sim_sync_t *sync;     /* owned */
    sim_stats_t *stats;   /* owned */
    store_batch_t *batch; /* owned */
    int script;
    int64_t shift_ms;     /* simulated = history + shift */
    int64_t horizon_ms;   /* events closer than this share a round trip */
    sim_events_t *events; /* owned */
    s_lead_t *leads;      /* owned, one per history lead */
    json_t *lead_index;   /* owned: lead id -> index */
    s_call_t *calls;      /* owned: the batch's commands */
    size_t call_count;
    int64_t sweep_at;    /* the earliest sweep queued, NO_TIME: none */
    int64_t *drained_at; /* owned, per queue: when it was last drained */
    size_t lead_events;  /* arrivals, accepts and closes queued */
    size_t arrived, waiting, closed;
    int64_t last_lead_event_ms, now_ms;
    bool failed;
    err_t *err;
} s_run_t;

/* --- events -------------------------------------------------------------------------- */

static bool s_is_lead_event(uint8_t kind)
{
    return kind == SIM_EV_ARRIVE || kind == SIM_EV_ACCEPT || kind == SIM_EV_CLOSE;
}

static void s_push(s_run_t *run, int64_t t, sim_kind_t kind, uint32_t lead, int32_t rep)
{
    if (sim_events_push(run->events, t, kind, lead, rep) < 0) {
        run->failed = true;
        err_set(run->err, ERR_NOMEM, "out of memory");
        return;
    }
    run->lead_events += s_is_lead_event((uint8_t)kind);
}

static sim_event_t s_pop(s_run_t *run)
{
    sim_event_t ev = sim_events_pop(run->events);
    run->lead_events -= s_is_lead_event(ev.kind);
    return ev;
}

/* --- commands ------------------------------------------------------------------------ */

static int32_t s_queue_index(const config_t *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->queue_count; i++)
        if (strcmp(cfg->queues[i].name, name) == 0)
            return (int32_t)i;
    return -1;
}

static void s_call(s_run_t *run, s_call_kind_t kind, int64_t t, uint32_t lead, int32_t rep,
                   int32_t queue)
{
    run->calls[run->call_count++] = (s_call_t){kind, t, lead, rep, queue};
}

/* Queues routing.lua's OP at history time T with ARGC more ARGS. */
static void s_script(s_run_t *run, int64_t t, const char *op, int argc, const char **args)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)(t + run->shift_ms));
    const char *argv[20] = {op, SIM_PREFIX, now};
    for (int i = 0; i < argc && i < 17; i++)
        argv[3 + i] = args[i];
    store_batch_script(run->batch, run->script, 0, 3 + argc, argv, NULL);
}

static void s_command(s_run_t *run, int argc, const char **argv)
{
    store_batch_command(run->batch, argc, argv, NULL);
}

/* A rep's accept delay for the lead's Nth assignment: 80% within 1-20
 * minutes, 14% 20-60 minutes, 6% 1.5-8 hours (past a one-hour SLA). */
static int64_t s_accept_delay(const s_run_t *run, uint32_t lead, uint32_t nth)
{
    uint64_t h = sim_hash(run->opts->seed, lead, 0x100000000ULL + nth);
    uint64_t pick = h % 1000, spread = h >> 10;
    if (pick < 800)
        return ACCEPT_MIN_MS + (int64_t)(spread % (19 * 60)) * 1000;
    if (pick < 940)
        return 20 * MINUTE_MS + (int64_t)(spread % (40 * 60)) * 1000;
    return 90 * MINUTE_MS + (int64_t)(spread % (390 * 60)) * 1000;
}

static void s_route(s_run_t *run, int64_t t, uint32_t index)
{
    const config_t *cfg = run->cfg;
    const sim_lead_t *h = sim_history_lead(run->history, index);
    /* The lead as rules see it (lead.h): the CRM's facts, attributes.KEY. */
    const char *keys[] = {"product", "series", "account", "office", "manager", "agent"};
    const char *values[] = {h->product, h->series, h->company, h->office, h->manager, h->agent};
    Leadops__Lead__AttributesEntry entries[6], *attributes[6];
    for (size_t i = 0; i < 6; i++) {
        leadops__lead__attributes_entry__init(&entries[i]);
        entries[i].key = (char *)keys[i];
        entries[i].value = (char *)values[i];
        attributes[i] = &entries[i];
    }
    Leadops__Lead lead;
    leadops__lead__init(&lead);
    lead.lead_id = (char *)h->id;
    lead.company = (char *)h->company;
    lead.industry = (char *)h->industry;
    lead.country = (char *)h->country;
    lead.source_system = "maven";
    lead.n_attributes = 6;
    lead.attributes = attributes;
    Leadops__ScoredLead scored;
    leadops__scored_lead__init(&scored);
    scored.lead = &lead;
    /* Every lead is routed at the route stage, with the score that enters it. */
    const stage_t *stage = &cfg->stages[cfg->route_stage];
    scored.score = stage->enter;
    scored.stage = (char *)stage->name;
    scored.grade = "";
    scored.qualified = true;
    const route_rule_t *rule = NULL;
    const char *queue_name = route_rules_match(cfg, &scored, &rule);
    const queue_config_t *queue = config_queue(cfg, queue_name);
    char score[32], skills[512];
    snprintf(score, sizeof score, "%.17g", scored.score);
    route_rules_skills(rule, &lead, skills, sizeof skills);
    bool stage_ok = cfg->route_stage >= queue->stage;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)(t + run->shift_ms));
    char inflight[64], lead_key[192];
    snprintf(inflight, sizeof inflight, "%s:inflight:routing", SIM_PREFIX);
    snprintf(lead_key, sizeof lead_key, "%s:lead:%s", SIM_PREFIX, h->id);
    /* What scoring leaves for routing: the lead in flight, its intake time. */
    const char *zadd[] = {"ZADD", inflight, now, h->id};
    const char *hset[] = {"HSET", lead_key, "ingested_at", now, "score", score};
    s_command(run, 4, zadd);
    s_call(run, CALL_PLAIN, t, index, -1, -1);
    s_command(run, 6, hset);
    s_call(run, CALL_PLAIN, t, index, -1, -1);
    const char *args[] = {h->id,
                          queue->name,
                          rule ? rule->name : "fallback",
                          score,
                          stage_ok ? "1" : "0",
                          cfg->stages[queue->stage].name,
                          skills,
                          ""};
    s_script(run, t, "route", 8, args);
    s_call(run, CALL_ROUTE, t, index, -1, (int32_t)(queue - cfg->queues));
    run->arrived++;
}

static void s_sweep(s_run_t *run, int64_t t)
{
    char key[64], now[24], max[16];
    snprintf(now, sizeof now, "%lld", (long long)(t + run->shift_ms));
    snprintf(max, sizeof max, "%d", SWEEP_MAX);
    const char *args[] = {max};
    /* The due leads, read in the same pipeline just before each sweep:
     * exactly the ones it looks at. */
    snprintf(key, sizeof key, "%s:sla", SIM_PREFIX);
    const char *sla_due[] = {"ZRANGEBYSCORE", key, "-inf", now, "LIMIT", "0", max};
    s_command(run, 7, sla_due);
    s_call(run, CALL_SLA_DUE, t, 0, -1, -1);
    s_script(run, t, "sla", 1, args);
    s_call(run, CALL_SLA, t, 0, -1, -1);
    snprintf(key, sizeof key, "%s:overflow", SIM_PREFIX);
    const char *overflow_due[] = {"ZRANGEBYSCORE", key, "-inf", now, "LIMIT", "0", max};
    s_command(run, 7, overflow_due);
    s_call(run, CALL_OVERFLOW_DUE, t, 0, -1, -1);
    s_script(run, t, "overflow", 1, args);
    s_call(run, CALL_OVERFLOW, t, 0, -1, -1);
}

/* Offers the waiting leads of REP's queues to the reps that can take them
 * now; a queue already offered at T is not offered again. */
static void s_drain(s_run_t *run, int64_t t, size_t rep)
{
    char max[16];
    snprintf(max, sizeof max, "%d", DRAIN_MAX);
    const rep_config_t *r = &run->cfg->reps[rep];
    for (size_t k = 0; k < r->queue_count; k++) {
        int32_t q = s_queue_index(run->cfg, r->queues[k]);
        if (q < 0 || run->drained_at[q] == t)
            continue;
        run->drained_at[q] = t;
        const char *args[] = {run->cfg->queues[q].name, max};
        s_script(run, t, "drain", 2, args);
        s_call(run, CALL_DRAIN, t, 0, -1, q);
    }
}

/* Appends the commands of event EV; false when EV must wait for the next
 * batch (a close needs to know who holds the lead after what came before). */
static bool s_add_event(s_run_t *run, const sim_event_t *ev)
{
    s_lead_t *lead = &run->leads[ev->lead];
    const sim_lead_t *h = sim_history_lead(run->history, ev->lead);
    switch ((sim_kind_t)ev->kind) {
    case SIM_EV_AVAIL: {
        const sim_drain_t *drains;
        size_t count = 0;
        if (sim_sync_avail(run->sync, run->batch, ev->t, &drains, &count, run->err) < 0) {
            run->failed = true;
            return true;
        }
        for (size_t i = 0; i < run->cfg->rep_count; i++)
            s_call(run, CALL_PLAIN, ev->t, 0, (int32_t)i, -1);
        for (size_t i = 0; i < count; i++)
            s_push(run, drains[i].t, SIM_EV_DRAIN, 0, (int32_t)drains[i].rep);
        s_push(run, ev->t + DAY_MS, SIM_EV_AVAIL, 0, -1);
        break;
    }
    case SIM_EV_CLOSE:
        if (run->call_count > 0)
            return false;
        if (lead->status == LEAD_ASSIGNED) {
            const char *args[] = {run->cfg->reps[lead->rep].id, h->id, h->outcome, PULL_MAX};
            s_script(run, ev->t, "close", 4, args);
            s_call(run, CALL_CLOSE, ev->t, ev->lead, lead->rep, lead->queue);
        } else if (lead->status != LEAD_CLOSED) {
            lead->close_pending = true; /* closes once a rep has it */
        }
        break;
    case SIM_EV_ACCEPT: {
        const char *args[] = {run->cfg->reps[ev->rep].id, h->id};
        s_script(run, ev->t, "accept", 2, args);
        s_call(run, CALL_ACCEPT, ev->t, ev->lead, ev->rep, -1);
        break;
    }
    case SIM_EV_SWEEP:
        if (ev->t == run->sweep_at)
            run->sweep_at = NO_TIME;
        s_sweep(run, ev->t);
        break;
    case SIM_EV_DRAIN:
        s_drain(run, ev->t, (size_t)ev->rep);
        break;
    case SIM_EV_ARRIVE:
        s_route(run, ev->t, ev->lead);
        break;
    }
    if (ev->kind == SIM_EV_ARRIVE || ev->kind == SIM_EV_ACCEPT || ev->kind == SIM_EV_CLOSE)
        run->last_lead_event_ms = ev->t;
    return true;
}

/* --- replies ------------------------------------------------------------------------- */

static int32_t s_rep_index(const config_t *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->rep_count; i++)
        if (strcmp(cfg->reps[i].id, id) == 0)
            return (int32_t)i;
    return -1;
}

static int64_t s_lead_of(const s_run_t *run, const char *id)
{
    json_t *index = id ? json_object_get(run->lead_index, id) : NULL;
    return index ? (int64_t)json_integer_value(index) : -1;
}

static void s_set_status(s_run_t *run, s_lead_t *lead, s_status_t status)
{
    if (lead->status == LEAD_WAITING)
        run->waiting--;
    if (status == LEAD_WAITING)
        run->waiting++;
    lead->status = (uint8_t)status;
}

/* The lead gives its rep back at T (closed, or taken back). */
static void s_release(s_run_t *run, s_lead_t *lead, int64_t t)
{
    if (lead->status == LEAD_ASSIGNED && lead->rep >= 0)
        sim_stats_released(run->stats, (size_t)lead->queue, (size_t)lead->rep, t);
    lead->rep = -1;
}

static void s_assigned(s_run_t *run, uint32_t index, int32_t queue, int32_t rep, uint32_t attempt,
                       int64_t t)
{
    s_lead_t *lead = &run->leads[index];
    if (queue < 0 || rep < 0)
        return;
    s_release(run, lead, t);
    int64_t wait = -1;
    if (!lead->ever_assigned)
        wait = t - sim_history_lead(run->history, index)->arrive_ms;
    sim_stats_assigned(run->stats, (size_t)queue, (size_t)rep, t, wait);
    s_set_status(run, lead, LEAD_ASSIGNED);
    lead->ever_assigned = true;
    lead->queue = queue, lead->rep = rep, lead->attempt = attempt, lead->accepted = false;
    lead->assignments++;
    s_push(run, t + s_accept_delay(run, index, lead->assignments), SIM_EV_ACCEPT, index, rep);
}

/* The assignments of a reply from element FIRST on: {lead_id, queue,
 * rep_id, ingested_at, queued_at, score, attempt, why}. */
static void s_assignments(s_run_t *run, const store_value_t *reply, size_t first, int64_t t)
{
    for (size_t i = first; reply && reply->type == STORE_ARRAY && i < reply->count; i++) {
        const store_value_t *a = reply->elements[i];
        int64_t index = s_lead_of(run, store_value_str(store_value_at(a, 0), NULL));
        if (index < 0)
            continue;
        s_assigned(run, (uint32_t)index,
                   s_queue_index(run->cfg, store_value_str(store_value_at(a, 1), NULL)),
                   s_rep_index(run->cfg, store_value_str(store_value_at(a, 2), NULL)),
                   (uint32_t)store_value_int(store_value_at(a, 6), 1), t);
    }
}

/* An SLA sweep took back the leads of LIST that were assigned and not
 * accepted (sla.lua's breach): each is waiting in its queue, or in the
 * queue it escalates to, until the sweep's own assignments say otherwise. */
static void s_breaches(s_run_t *run, const store_value_t *list, int64_t t)
{
    for (size_t i = 0; list && list->type == STORE_ARRAY && i < list->count; i++) {
        int64_t index = s_lead_of(run, list->elements[i]->str);
        if (index < 0)
            continue;
        s_lead_t *lead = &run->leads[index];
        if (lead->status != LEAD_ASSIGNED || lead->accepted)
            continue;
        const queue_config_t *queue = &run->cfg->queues[lead->queue];
        sim_stats_breach(run->stats, (size_t)lead->queue, (size_t)lead->rep);
        s_release(run, lead, t);
        s_set_status(run, lead, LEAD_WAITING);
        if (lead->attempt >= (uint32_t)queue->max_attempts) {
            sim_stats_escalated(run->stats, (size_t)lead->queue);
            int32_t to = s_queue_index(run->cfg, queue->escalate_to);
            if (to >= 0 && to != lead->queue)
                lead->queue = to, lead->attempt = 0;
        }
    }
}

/* An overflow sweep moved the leads of LIST that waited in a queue with an
 * overflow queue (sla.lua's overflow_sweep). */
static void s_overflows(s_run_t *run, const store_value_t *list)
{
    for (size_t i = 0; list && list->type == STORE_ARRAY && i < list->count; i++) {
        int64_t index = s_lead_of(run, list->elements[i]->str);
        if (index < 0)
            continue;
        s_lead_t *lead = &run->leads[index];
        if (lead->status != LEAD_WAITING)
            continue;
        int32_t to = s_queue_index(run->cfg, run->cfg->queues[lead->queue].overflow_to);
        if (to < 0)
            continue;
        sim_stats_overflowed(run->stats, (size_t)lead->queue);
        lead->queue = to, lead->attempt = 0;
    }
}

static void s_schedule_sweep(s_run_t *run, const store_value_t *reply, int64_t t)
{
    const store_value_t *score = store_value_at(reply, 1);
    if (!score)
        return;
    int64_t due = (int64_t)store_value_double(score, 0) - run->shift_ms;
    if (due < t)
        due = t; /* a sweep that had more than it takes: go on at once */
    if (due < run->sweep_at) {
        run->sweep_at = due;
        s_push(run, due, SIM_EV_SWEEP, 0, -1);
    }
}

static void s_reply(s_run_t *run, const s_call_t *call, const store_value_t *reply,
                    const store_value_t **due_list)
{
    s_lead_t *lead = &run->leads[call->lead];
    long long status = store_value_int(store_value_at(reply, 0), -1);
    switch (call->kind) {
    case CALL_PLAIN:
        break;
    case CALL_ROUTE:
        if (status == 1) {
            s_assigned(run, call->lead, call->queue,
                       s_rep_index(run->cfg, store_value_str(store_value_at(reply, 1), NULL)), 1,
                       call->t);
        } else if (status == 2) {
            s_set_status(run, lead, LEAD_WAITING);
            lead->queue = call->queue;
        } else if (status == 3 || status == 5) {
            s_set_status(run, lead, LEAD_NURTURE);
        }
        break;
    case CALL_ACCEPT:
        if (status == 1 && lead->status == LEAD_ASSIGNED && lead->rep == call->rep) {
            lead->accepted = true;
            if (lead->close_pending) {
                lead->close_pending = false;
                s_push(run, call->t + CLOSE_AFTER_MS, SIM_EV_CLOSE, call->lead, -1);
            }
        }
        break;
    case CALL_CLOSE:
        if (status == 1) {
            s_release(run, lead, call->t);
            s_set_status(run, lead, LEAD_CLOSED);
            run->closed++;
            s_assignments(run, reply, 2, call->t);
        } else if (lead->status == LEAD_ASSIGNED) {
            s_push(run, call->t + CLOSE_RETRY_MS, SIM_EV_CLOSE, call->lead, -1);
        } else if (lead->status != LEAD_CLOSED) {
            lead->close_pending = true;
        }
        break;
    case CALL_SLA_DUE:
    case CALL_OVERFLOW_DUE:
        *due_list = reply;
        break;
    case CALL_SLA:
        s_breaches(run, *due_list, call->t);
        s_assignments(run, reply, 1, call->t);
        break;
    case CALL_OVERFLOW:
        s_overflows(run, *due_list);
        s_assignments(run, reply, 1, call->t);
        break;
    case CALL_DRAIN:
        s_assignments(run, reply, 0, call->t);
        break;
    case CALL_NEXT_DUE:
        s_schedule_sweep(run, reply, call->t);
        break;
    }
}

/* --- the loop ------------------------------------------------------------------------ */

/* Runs the batch built and reads every reply in order. */
static int s_exec(s_run_t *run, int64_t last_t)
{
    /* When the next SLA and overflow deadlines fall, for the next sweep. */
    char sla[64], overflow[64];
    snprintf(sla, sizeof sla, "%s:sla", SIM_PREFIX);
    snprintf(overflow, sizeof overflow, "%s:overflow", SIM_PREFIX);
    const char *next_sla[] = {"ZRANGE", sla, "0", "0", "WITHSCORES"};
    const char *next_overflow[] = {"ZRANGE", overflow, "0", "0", "WITHSCORES"};
    s_command(run, 5, next_sla);
    s_call(run, CALL_NEXT_DUE, last_t, 0, -1, -1);
    s_command(run, 5, next_overflow);
    s_call(run, CALL_NEXT_DUE, last_t, 0, -1, -1);
    if (store_batch_exec(run->store, run->batch, run->err) < 0)
        return -1;
    const store_value_t *due_list = NULL;
    for (size_t i = 0; i < run->call_count; i++) {
        const store_value_t *reply = store_batch_reply(run->batch, i);
        if (reply && reply->type == STORE_ERROR)
            return err_set(run->err, ERR_IO, "Redis: %s", reply->str);
        s_reply(run, &run->calls[i], reply, &due_list);
    }
    store_batch_reset(run->batch);
    run->call_count = 0;
    return run->failed ? -1 : 0;
}

/* True when the run is over: no lead event left, and no lead waiting that
 * a drain could still place within the settling time. */
static bool s_is_done(const s_run_t *run)
{
    const sim_event_t *next = sim_events_peek(run->events);
    if (!next)
        return true;
    if (run->lead_events > 0)
        return false;
    return run->waiting == 0 || next->t > run->last_lead_event_ms + SETTLE_MS;
}

static int s_loop(s_run_t *run)
{
    size_t total = sim_history_count(run->history);
    while (!s_is_done(run)) {
        if (run->opts->interrupted && run->opts->interrupted())
            return err_set(run->err, ERR_BUSY, "interrupted");
        int64_t first = sim_events_peek(run->events)->t, last = first;
        /* Nothing an event causes happens sooner than the horizon after it,
         * so the events before it cannot depend on each other's replies. */
        const sim_event_t *next;
        while ((next = sim_events_peek(run->events)) && next->t < first + run->horizon_ms &&
               run->call_count + 32 + run->cfg->rep_count + run->cfg->queue_count <
                   BATCH_CALLS_MAX) {
            sim_event_t ev = s_pop(run);
            if (!s_add_event(run, &ev)) {
                s_push(run, ev.t, (sim_kind_t)ev.kind, ev.lead, ev.rep);
                break;
            }
            last = ev.t;
            if (run->failed)
                return -1;
        }
        run->now_ms = last;
        if (s_exec(run, last) < 0)
            return -1;
        if (run->opts->progress)
            run->opts->progress(run->opts->progress_arg, run->opts->label, run->arrived, total,
                                last);
    }
    return 0;
}

/* Whole 28-year cycles: the Gregorian calendar repeats its dates and
 * weekdays after 28 years between 1901 and 2099. */
static int64_t s_shift(int64_t first_ms)
{
    const int64_t cycle = 10227 * DAY_MS;
    int64_t shift = 0;
    while (first_ms + shift < clock_now_ms() + DAY_MS)
        shift += cycle;
    return shift;
}

static int s_check_queues(const config_t *cfg, err_t *err)
{
    if (!config_queue(cfg, cfg->fallback_queue))
        return err_set(err, ERR_CONFIG, "%s: routing.fallback_queue \"%s\" is not a queue",
                       cfg->path ? cfg->path : "config", cfg->fallback_queue);
    if (cfg->queue_count == 0 || cfg->rep_count == 0)
        return err_set(err, ERR_CONFIG, "%s: no queues or no reps to simulate",
                       cfg->path ? cfg->path : "config");
    return 0;
}

/* Reads what a run leaves in Redis: its counters, the leads still waiting per queue. */
static json_t *s_finish(s_run_t *run, const sim_totals_t *base)
{
    for (size_t q = 0; q < run->cfg->queue_count; q++) {
        char key[128];
        snprintf(key, sizeof key, "%s:queue:%s:waiting", SIM_PREFIX, run->cfg->queues[q].name);
        const char *zcard[] = {"ZCARD", key};
        s_command(run, 2, zcard);
    }
    char stats_key[64];
    snprintf(stats_key, sizeof stats_key, "%s:stats", SIM_PREFIX);
    const char *hgetall[] = {"HGETALL", stats_key};
    s_command(run, 2, hgetall);
    if (store_batch_exec(run->store, run->batch, run->err) < 0)
        return NULL;
    for (size_t q = 0; q < run->cfg->queue_count; q++)
        sim_stats_waiting_at_end(run->stats, q,
                                 (uint64_t)store_value_int(store_batch_reply(run->batch, q), 0));
    json_t *engine = json_object();
    const store_value_t *pairs = store_batch_reply(run->batch, run->cfg->queue_count);
    for (size_t i = 0; pairs && pairs->type == STORE_ARRAY && i + 1 < pairs->count; i += 2)
        json_object_set_new(engine, pairs->elements[i]->str,
                            json_integer(store_value_int(pairs->elements[i + 1], 0)));
    store_batch_reset(run->batch);
    sim_totals_t totals = *base;
    totals.engine = engine;
    for (size_t i = 0; i < sim_history_count(run->history); i++) {
        const s_lead_t *lead = &run->leads[i];
        totals.assigned += lead->ever_assigned;
        totals.waiting += !lead->ever_assigned && lead->status != LEAD_NURTURE;
        totals.not_routed += !lead->ever_assigned && lead->status == LEAD_NURTURE;
    }
    totals.closed = run->closed;
    totals.end_ms = run->now_ms;
    json_t *out = sim_stats_json(run->stats, &totals, run->history);
    json_decref(engine);
    if (!out)
        err_set(run->err, ERR_NOMEM, "out of memory");
    return out;
}

static void s_run_free(s_run_t *run)
{
    sim_sync_destroy(&run->sync);
    sim_stats_destroy(&run->stats);
    store_batch_destroy(&run->batch);
    sim_events_destroy(&run->events);
    free(run->leads);
    free(run->calls);
    free(run->drained_at);
    json_decref(run->lead_index);
}

json_t *sim_engine_run(const config_t *cfg, const sim_history_t *history, store_t *store,
                       const sim_engine_options_t *opts, err_t *err)
{
    size_t count = sim_history_count(history);
    if (s_check_queues(cfg, err) < 0)
        return NULL;
    if (count == 0) {
        err_set(err, ERR_INPUT, "the history has no lead with an engage_date");
        return NULL;
    }
    int64_t wall_start = clock_mono_ms();
    int64_t start = sim_history_lead(history, 0)->arrive_ms;
    start -= start % DAY_MS; /* the first refresh of working windows: that UTC midnight */
    s_run_t run = {.cfg = cfg,
                   .history = history,
                   .store = store,
                   .opts = opts,
                   .sweep_at = NO_TIME,
                   .err = err};
    run.shift_ms = s_shift(start);
    run.horizon_ms = ACCEPT_MIN_MS;
    for (size_t q = 0; q < cfg->queue_count; q++) {
        int64_t sla = 1000LL * cfg->queues[q].sla_s,
                overflow = 1000LL * cfg->queues[q].overflow_after_s;
        if (sla > 0 && sla < run.horizon_ms)
            run.horizon_ms = sla;
        if (overflow > 0 && overflow < run.horizon_ms)
            run.horizon_ms = overflow;
    }
    json_t *out = NULL;
    run.batch = store_batch_new();
    run.leads = calloc(count, sizeof *run.leads);
    run.calls = calloc(BATCH_CALLS_MAX, sizeof *run.calls);
    run.lead_index = json_object();
    run.stats = sim_stats_new(cfg, start);
    run.drained_at = calloc(cfg->queue_count, sizeof *run.drained_at);
    run.events = sim_events_new();
    if (!run.leads || !run.calls || !run.lead_index || !run.stats || !run.drained_at ||
        !run.events) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((run.script = store_script_register(store, "routing", routing_script_routing, err)) < 0 ||
        !(run.sync = sim_sync_new(cfg, run.script, run.shift_ms, err)))
        goto done;
    for (size_t i = 0; i < count; i++) {
        run.leads[i] = (s_lead_t){.queue = -1, .rep = -1};
        json_object_set_new(run.lead_index, sim_history_lead(history, i)->id,
                            json_integer((json_int_t)i));
        s_push(&run, sim_history_lead(history, i)->arrive_ms, SIM_EV_ARRIVE, (uint32_t)i, -1);
        s_push(&run, sim_history_lead(history, i)->close_ms, SIM_EV_CLOSE, (uint32_t)i, -1);
    }
    s_push(&run, start, SIM_EV_AVAIL, 0, -1);
    if (run.failed || sim_sync_config(run.sync, store, start, err) < 0 || s_loop(&run) < 0)
        goto done;
    sim_totals_t totals = {.rows = sim_history_rows(history),
                           .skipped = sim_history_skipped(history),
                           .start_ms = start,
                           .wall_s = (double)(clock_mono_ms() - wall_start) / 1000.0};
    out = s_finish(&run, &totals);
done:
    s_run_free(&run);
    return out;
}
