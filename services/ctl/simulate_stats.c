/* simulate_stats.c — see simulate_stats.h. */
#include "simulate_stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MONTHS_MAX 240 /* twenty years of history; later months count in the last */

/* Open leads over time: the integral of the count, for the mean. */
typedef struct {
    uint64_t now, peak;
    double lead_ms; /* sum of open * time */
    int64_t since;  /* when NOW last changed */
} s_load_t;

/* A growing list of waits (ms). */
typedef struct {
    int64_t *ms; /* owned */
    size_t count, room;
} s_waits_t;

/* What is counted for a queue, a rep, and the whole run alike. */
typedef struct {
    uint64_t assigned, breaches, overflowed, escalations, waiting_end;
    uint64_t monthly[MONTHS_MAX];
    s_load_t load;
    s_waits_t waits;
} s_tally_t;

struct sim_stats {
    const config_t *cfg; /* borrowed */
    int64_t start_ms;
    int start_month;      /* year * 12 + month - 1 of START_MS */
    int last_month;       /* the latest month index with an assignment */
    s_tally_t *queues;    /* owned, one per configured queue */
    s_tally_t *reps;      /* owned, one per configured rep */
    uint64_t *queue_reps; /* owned: queues x reps assignments, for fairness */
    s_tally_t all;
};

static int s_month_of(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

sim_stats_t *sim_stats_new(const config_t *cfg, int64_t start_ms)
{
    sim_stats_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->start_ms = start_ms;
    self->start_month = s_month_of(start_ms);
    self->queues = calloc(cfg->queue_count ? cfg->queue_count : 1, sizeof *self->queues);
    self->reps = calloc(cfg->rep_count ? cfg->rep_count : 1, sizeof *self->reps);
    self->queue_reps =
        calloc((cfg->queue_count ? cfg->queue_count : 1) * (cfg->rep_count ? cfg->rep_count : 1),
               sizeof *self->queue_reps);
    if (!self->queues || !self->reps || !self->queue_reps) {
        sim_stats_destroy(&self);
        return NULL;
    }
    return self;
}

void sim_stats_destroy(sim_stats_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sim_stats_t *self = *self_p;
    for (size_t i = 0; self->queues && i < self->cfg->queue_count; i++)
        free(self->queues[i].waits.ms);
    for (size_t i = 0; self->reps && i < self->cfg->rep_count; i++)
        free(self->reps[i].waits.ms);
    free(self->all.waits.ms);
    free(self->queues);
    free(self->reps);
    free(self->queue_reps);
    free(self);
    *self_p = NULL;
}

static void s_load_change(s_load_t *load, int64_t t, int delta)
{
    if (load->since && t > load->since)
        load->lead_ms += (double)load->now * (double)(t - load->since);
    load->since = t;
    if (delta < 0 && load->now == 0)
        return; /* a release the stats never saw taken: keep the count sane */
    load->now = (uint64_t)((int64_t)load->now + delta);
    if (load->now > load->peak)
        load->peak = load->now;
}

static void s_wait_add(s_waits_t *waits, int64_t ms)
{
    if (waits->count == waits->room) {
        size_t room = waits->room ? 2 * waits->room : 256;
        int64_t *grown = realloc(waits->ms, room * sizeof *grown);
        if (!grown)
            return; /* a figure short rather than a failed run */
        waits->ms = grown, waits->room = room;
    }
    waits->ms[waits->count++] = ms;
}

static void s_tally_assigned(s_tally_t *tally, int month, int64_t t, int64_t wait_ms)
{
    tally->assigned++;
    tally->monthly[month]++;
    s_load_change(&tally->load, t, +1);
    if (wait_ms >= 0)
        s_wait_add(&tally->waits, wait_ms);
}

void sim_stats_assigned(sim_stats_t *self, size_t queue, size_t rep, int64_t t, int64_t wait_ms)
{
    int month = s_month_of(t) - self->start_month;
    month = month < 0 ? 0 : month >= MONTHS_MAX ? MONTHS_MAX - 1 : month;
    if (month > self->last_month)
        self->last_month = month;
    s_tally_assigned(&self->queues[queue], month, t, wait_ms);
    s_tally_assigned(&self->reps[rep], month, t, wait_ms);
    s_tally_assigned(&self->all, month, t, wait_ms);
    self->queue_reps[queue * self->cfg->rep_count + rep]++;
}

void sim_stats_released(sim_stats_t *self, size_t queue, size_t rep, int64_t t)
{
    s_load_change(&self->queues[queue].load, t, -1);
    s_load_change(&self->reps[rep].load, t, -1);
    s_load_change(&self->all.load, t, -1);
}

void sim_stats_breach(sim_stats_t *self, size_t queue, size_t rep)
{
    self->queues[queue].breaches++;
    self->reps[rep].breaches++;
    self->all.breaches++;
}

void sim_stats_escalated(sim_stats_t *self, size_t queue)
{
    self->queues[queue].escalations++;
    self->all.escalations++;
}

void sim_stats_overflowed(sim_stats_t *self, size_t queue)
{
    self->queues[queue].overflowed++;
    self->all.overflowed++;
}

void sim_stats_waiting_at_end(sim_stats_t *self, size_t queue, uint64_t count)
{
    self->queues[queue].waiting_end = count;
    self->all.waiting_end += count;
}

double sim_gini(const uint64_t *values, size_t count)
{
    /* Mean absolute difference over twice the mean: sum_ij |xi - xj| / (2 n^2 mean). */
    double sum = 0, diff = 0;
    for (size_t i = 0; i < count; i++) {
        sum += (double)values[i];
        for (size_t j = 0; j < count; j++)
            diff += values[i] > values[j] ? (double)(values[i] - values[j])
                                          : (double)(values[j] - values[i]);
    }
    if (sum <= 0)
        return 0;
    return diff / (2.0 * (double)count * sum);
}

static int s_by_ms(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* {p50, p90, p99} in seconds (nearest rank), nulls when there is no wait. */
static json_t *s_percentiles(const s_waits_t *waits)
{
    json_t *out = json_object();
    static const struct {
        const char *name;
        double rank;
    } ranks[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}};
    int64_t *sorted = waits->count ? malloc(waits->count * sizeof *sorted) : NULL;
    if (sorted) {
        memcpy(sorted, waits->ms, waits->count * sizeof *sorted);
        qsort(sorted, waits->count, sizeof *sorted, s_by_ms);
    }
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++) {
        if (!sorted) {
            json_object_set_new(out, ranks[i].name, json_null());
            continue;
        }
        size_t rank = (size_t)(ranks[i].rank * (double)waits->count + 0.999999);
        rank = rank < 1 ? 1 : rank > waits->count ? waits->count : rank;
        json_object_set_new(out, ranks[i].name, json_real((double)sorted[rank - 1] / 1000.0));
    }
    free(sorted);
    return out;
}

/* The figures every tally has. */
static json_t *s_tally_json(const s_tally_t *tally, int months, const sim_totals_t *totals)
{
    s_load_t load = tally->load;
    s_load_change(&load, totals->end_ms, 0);
    double span = (double)(totals->end_ms - totals->start_ms);
    json_t *monthly = json_array();
    for (int m = 0; m < months; m++)
        json_array_append_new(monthly, json_integer((json_int_t)tally->monthly[m]));
    return json_pack("{s:I, s:I, s:f, s:o, s:I, s:o}", "assigned", (json_int_t)tally->assigned,
                     "open_peak", (json_int_t)load.peak, "open_mean",
                     span > 0 ? load.lead_ms / span : 0.0, "monthly", monthly, "sla_breaches",
                     (json_int_t)tally->breaches, "wait_s", s_percentiles(&tally->waits));
}

static json_t *s_queue_json(const sim_stats_t *self, size_t q, int months,
                            const sim_totals_t *totals)
{
    static const char *const strategies[] = {"round_robin", "weighted", "least_loaded"};
    const config_t *cfg = self->cfg;
    const queue_config_t *queue = &cfg->queues[q];
    const s_tally_t *tally = &self->queues[q];
    json_t *out = s_tally_json(tally, months, totals);
    /* Fairness among the reps who work the queue. */
    uint64_t *counts = calloc(cfg->rep_count ? cfg->rep_count : 1, sizeof *counts);
    size_t members = 0;
    uint64_t lo = 0, hi = 0;
    for (size_t r = 0; r < cfg->rep_count; r++) {
        bool member = false;
        for (size_t k = 0; k < cfg->reps[r].queue_count; k++)
            member = member || strcmp(cfg->reps[r].queues[k], queue->name) == 0;
        if (!member)
            continue;
        uint64_t n = self->queue_reps[q * cfg->rep_count + r];
        lo = members == 0 || n < lo ? n : lo;
        hi = members == 0 || n > hi ? n : hi;
        if (counts)
            counts[members] = n;
        members++;
    }
    json_object_set_new(out, "name", json_string(queue->name));
    json_object_set_new(out, "strategy", json_string(strategies[queue->strategy]));
    json_object_set_new(out, "reps", json_integer((json_int_t)members));
    json_object_set_new(out, "spread", json_integer((json_int_t)(hi - lo)));
    json_object_set_new(out, "gini", json_real(counts ? sim_gini(counts, members) : 0.0));
    free(counts);
    json_object_set_new(out, "overflowed", json_integer((json_int_t)tally->overflowed));
    json_object_set_new(out, "escalations", json_integer((json_int_t)tally->escalations));
    json_object_set_new(out, "waiting_end", json_integer((json_int_t)tally->waiting_end));
    return out;
}

static json_t *s_rep_json(const sim_stats_t *self, size_t r, int months, const sim_totals_t *totals,
                          const sim_history_t *history)
{
    const rep_config_t *rep = &self->cfg->reps[r];
    json_t *out = s_tally_json(&self->reps[r], months, totals);
    json_t *queues = json_array();
    for (size_t k = 0; k < rep->queue_count; k++)
        json_array_append_new(queues, json_string(rep->queues[k]));
    json_object_set_new(out, "id", json_string(rep->id));
    json_object_set_new(out, "name", json_string(rep->name ? rep->name : rep->id));
    json_object_set_new(out, "team", json_string(rep->team));
    json_object_set_new(out, "queues", queues);
    json_object_set_new(out, "capacity", json_integer(rep->capacity));
    json_object_set_new(out, "daily_cap", json_integer(rep->daily_cap));
    json_object_set_new(out, "history_deals",
                        json_integer((json_int_t)sim_history_agent_deals(history, rep->id)));
    return out;
}

json_t *sim_stats_json(const sim_stats_t *self, const sim_totals_t *totals,
                       const sim_history_t *history)
{
    int months = self->last_month + 1;
    json_t *labels = json_array();
    for (int m = 0; m < months; m++) {
        char label[16];
        int month = self->start_month + m;
        snprintf(label, sizeof label, "%04d-%02d", month / 12, month % 12 + 1);
        json_array_append_new(labels, json_string(label));
    }
    json_t *queues = json_array(), *reps = json_array();
    for (size_t q = 0; q < self->cfg->queue_count; q++)
        json_array_append_new(queues, s_queue_json(self, q, months, totals));
    for (size_t r = 0; r < self->cfg->rep_count; r++)
        json_array_append_new(reps, s_rep_json(self, r, months, totals, history));
    json_t *all = s_tally_json(&self->all, months, totals);
    json_object_set_new(all, "overflowed", json_integer((json_int_t)self->all.overflowed));
    json_object_set_new(all, "escalations", json_integer((json_int_t)self->all.escalations));
    json_object_set_new(all, "waiting_end", json_integer((json_int_t)self->all.waiting_end));
    char start[32], end[32];
    time_t t0 = (time_t)(totals->start_ms / 1000), t1 = (time_t)(totals->end_ms / 1000);
    struct tm tm;
    strftime(start, sizeof start, "%Y-%m-%dT%H:%MZ", gmtime_r(&t0, &tm));
    strftime(end, sizeof end, "%Y-%m-%dT%H:%MZ", gmtime_r(&t1, &tm));
    json_t *leads =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "rows", (json_int_t)totals->rows, "skipped",
                  (json_int_t)totals->skipped, "assigned", (json_int_t)totals->assigned, "waiting",
                  (json_int_t)totals->waiting, "not_routed", (json_int_t)totals->not_routed,
                  "closed", (json_int_t)totals->closed);
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:O, s:{s:s, s:s, s:f}}", "config",
                     self->cfg->path ? self->cfg->path : "", "leads", leads, "months", labels,
                     "all", all, "queues", queues, "reps", reps, "engine",
                     totals->engine ? totals->engine : json_null(), "span", "from", start, "to",
                     end, "wall_s", totals->wall_s);
}
