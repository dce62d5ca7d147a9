/* simulate_sync.c — see simulate_sync.h. The arguments of each call are
 * those routing_sync.c gives the same operations of routing.lua. */
#include "simulate_sync.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "routing_args.h"

#define DAY_MS 86400000LL

/* One rep's avail arguments, kept for the reps after it that share its time
 * zone and hours (most of a team does): time-zone work is slow. */
typedef struct {
    routing_avail_args_t args;
    cal_period_t *ooo_shifted; /* owned: the config's periods on the simulated clock */
} s_rep_avail_t;

struct sim_sync {
    const config_t *cfg; /* borrowed */
    int script;
    int64_t shift_ms;
    s_rep_avail_t *reps; /* owned, one per rep */
    sim_drain_t *drains; /* owned: the last refresh's */
    size_t drain_count, drain_room;
};

sim_sync_t *sim_sync_new(const config_t *cfg, int script, int64_t shift_ms, err_t *err)
{
    sim_sync_t *self = calloc(1, sizeof *self);
    if (!self || !(self->reps = calloc(cfg->rep_count ? cfg->rep_count : 1, sizeof *self->reps)))
        goto nomem;
    self->cfg = cfg;
    self->script = script;
    self->shift_ms = shift_ms;
    for (size_t r = 0; r < cfg->rep_count; r++) {
        const rep_config_t *rep = &cfg->reps[r];
        s_rep_avail_t *avail = &self->reps[r];
        avail->ooo_shifted =
            calloc(rep->out_of_office_count ? rep->out_of_office_count : 1, sizeof(cal_period_t));
        if (!avail->ooo_shifted)
            goto nomem;
        for (size_t p = 0; p < rep->out_of_office_count; p++) {
            avail->ooo_shifted[p].from_ms = rep->out_of_office[p].from_ms + shift_ms;
            avail->ooo_shifted[p].to_ms = rep->out_of_office[p].to_ms + shift_ms;
        }
    }
    return self;
nomem:
    sim_sync_destroy(&self);
    err_set(err, ERR_NOMEM, "out of memory");
    return NULL;
}

void sim_sync_destroy(sim_sync_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sim_sync_t *self = *self_p;
    for (size_t r = 0; self->reps && r < self->cfg->rep_count; r++) {
        routing_avail_args_clear(&self->reps[r].args);
        free(self->reps[r].ooo_shifted);
    }
    free(self->reps);
    free(self->drains);
    free(self);
    *self_p = NULL;
}

/* Calls routing.lua's OP at history time T, synchronously. */
static int s_call(sim_sync_t *self, store_t *store, int64_t t, const char *op, int argc,
                  const char **args, err_t *err)
{
    store_value_t *reply = routing_script_call(store, self->script, op, SIM_PREFIX,
                                               t + self->shift_ms, argc, args, err);
    int rc = reply ? 0 : -1;
    store_value_free(&reply);
    return rc;
}

static int s_sync_queues(sim_sync_t *self, store_t *store, int64_t t, err_t *err)
{
    const config_t *cfg = self->cfg;
    for (size_t i = 0; i < cfg->queue_count; i++) {
        routing_queue_args_t args;
        routing_queue_args(&cfg->queues[i], false, &args); /* a what-if notifies nobody */
        if (s_call(self, store, t, "queue_sync", 12, args.argv, err) < 0)
            return -1;
    }
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", 1000LL * cfg->routing_audit_ttl_s);
    const char *args[] = {ttl};
    return s_call(self, store, t, "settings", 1, args, err);
}

static int s_sync_rep(sim_sync_t *self, store_t *store, int64_t t, const rep_config_t *rep,
                      err_t *err)
{
    routing_rep_args_t args;
    if (routing_rep_args(rep, &args, err) < 0)
        return -1;
    return s_call(self, store, t, "sync", 10, args.argv, err);
}

int sim_sync_config(sim_sync_t *self, store_t *store, int64_t t, err_t *err)
{
    store_value_t *reply = store_command(store, err, "FLUSHALL");
    if (!reply)
        return -1;
    store_value_free(&reply);
    if (s_sync_queues(self, store, t, err) < 0)
        return -1;
    for (size_t i = 0; i < self->cfg->rep_count; i++)
        if (s_sync_rep(self, store, t, &self->cfg->reps[i], err) < 0)
            return -1;
    return 0;
}

/* True when reps A and B work the same simulated hours. */
static bool s_same_hours(const rep_config_t *a, const rep_config_t *b)
{
    if (strcmp(a->timezone, b->timezone) != 0 || a->out_of_office_count || b->out_of_office_count ||
        a->hours.any != b->hours.any)
        return false;
    for (int day = 0; day < 7; day++) {
        if (a->hours.count[day] != b->hours.count[day])
            return false;
        for (int s = 0; s < a->hours.count[day]; s++)
            if (a->hours.spans[day][s].start_min != b->hours.spans[day][s].start_min ||
                a->hours.spans[day][s].end_min != b->hours.spans[day][s].end_min)
                return false;
    }
    return true;
}

/* Computes rep R's avail arguments for the simulated instant NOW. */
static int s_rep_avail(sim_sync_t *self, size_t r, int64_t now, err_t *err)
{
    const rep_config_t *rep = &self->cfg->reps[r];
    s_rep_avail_t *avail = &self->reps[r];
    for (size_t prior = 0; prior < r; prior++) {
        if (!s_same_hours(rep, &self->cfg->reps[prior]))
            continue;
        const routing_avail_args_t *same = &self->reps[prior].args;
        routing_avail_args_t *args = &avail->args;
        size_t length = strlen(same->windows) + 1;
        if (args->windows_size < length) {
            char *grown = realloc(args->windows, length);
            if (!grown)
                return err_set(err, ERR_NOMEM, "out of memory");
            args->windows = grown;
            args->windows_size = length;
        }
        memcpy(args->windows, same->windows, length);
        memcpy(args->ooo, same->ooo, sizeof args->ooo);
        memcpy(args->days, same->days, sizeof args->days);
        memcpy(args->weeks, same->weeks, sizeof args->weeks);
        const char *argv[] = {rep->id, args->windows, args->ooo, args->days, args->weeks};
        memcpy(args->argv, argv, sizeof argv);
        return 0;
    }
    return routing_avail_args(rep, avail->ooo_shifted, rep->out_of_office_count, now, &avail->args,
                              err);
}

/* Adds to the drains REP's instants of LIST ("a,b" or "a-b,c-d": the first
 * of each pair) within [FROM, TO) at which the rep works (WINDOWS; NULL:
 * always). */
static int s_collect(sim_sync_t *self, uint32_t rep, const char *list, const char *windows,
                     int64_t from, int64_t to)
{
    const char *p = list;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            break;
        if (v >= from && v < to && (!windows || cal_windows_contain(windows, v))) {
            if (self->drain_count == self->drain_room) {
                size_t room = self->drain_room ? 2 * self->drain_room : 256;
                sim_drain_t *grown = realloc(self->drains, room * sizeof *grown);
                if (!grown)
                    return -1;
                self->drains = grown, self->drain_room = room;
            }
            self->drains[self->drain_count++] = (sim_drain_t){v - self->shift_ms, rep};
        }
        p = end;
        if (*p == '-') { /* skip a window's end */
            strtoll(p + 1, &end, 10);
            p = end;
        }
        if (*p == ',')
            p++;
    }
    return 0;
}

static int s_by_time(const void *a, const void *b)
{
    const sim_drain_t *x = a, *y = b;
    if (x->t != y->t)
        return (x->t > y->t) - (x->t < y->t);
    return (x->rep > y->rep) - (x->rep < y->rep);
}

int sim_sync_avail(sim_sync_t *self, store_batch_t *batch, int64_t t, const sim_drain_t **drains,
                   size_t *count, err_t *err)
{
    int64_t now = t + self->shift_ms;
    char now_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    self->drain_count = 0;
    for (size_t r = 0; r < self->cfg->rep_count; r++) {
        if (s_rep_avail(self, r, now, err) < 0)
            return -1;
        const routing_avail_args_t *avail = &self->reps[r].args;
        const char *argv[] = {"avail",        SIM_PREFIX,     now_text,       avail->argv[0],
                              avail->argv[1], avail->argv[2], avail->argv[3], avail->argv[4]};
        store_batch_script(batch, self->script, 0, 8, argv, NULL);
        /* A rep can take leads again when its window opens, and when its
         * caps reset (a new local day or week) while it works. */
        if (s_collect(self, (uint32_t)r, avail->windows, NULL, now, now + DAY_MS) < 0 ||
            s_collect(self, (uint32_t)r, avail->days, avail->windows, now, now + DAY_MS) < 0 ||
            s_collect(self, (uint32_t)r, avail->weeks, avail->windows, now, now + DAY_MS) < 0)
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    qsort(self->drains, self->drain_count, sizeof *self->drains, s_by_time);
    size_t distinct = 0;
    for (size_t i = 0; i < self->drain_count; i++)
        if (distinct == 0 || s_by_time(&self->drains[i], &self->drains[distinct - 1]) != 0)
            self->drains[distinct++] = self->drains[i];
    self->drain_count = distinct;
    *drains = self->drains;
    *count = distinct;
    return 0;
}
