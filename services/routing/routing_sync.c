/* routing_sync.c — the config into Redis: the queues' settings, the reps
 * (a value the config changed since it was last applied is taken; run-time
 * changes made by command otherwise survive restarts), reps the config no
 * longer lists retired, and each rep's working windows computed in its time
 * zone for routing.lua, which has no time zones. */
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "routing_internal.h"

/* Days of working windows written ahead; routing_timers.c refreshes them
 * long before they run out. */
#define AVAIL_DAYS 8

static const char *const s_strategy_names[] = {"round_robin", "weighted", "least_loaded"};

/* ITEMS joined by ',' into OUT; -1 when OUT is too small. */
static int s_join(char *const *items, size_t count, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        int n = snprintf(out + used, size - used, "%s%s", i ? "," : "", items[i]);
        if (n < 0 || (size_t)n >= size - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}

static int s_sync_queues(routing_t *self, err_t *err)
{
    const config_t *cfg = self->cfg;
    for (size_t i = 0; i < cfg->queue_count; i++) {
        const queue_config_t *q = &cfg->queues[i];
        char sla[16], attempts[16], overflow[16];
        snprintf(sla, sizeof sla, "%d", q->sla_s);
        snprintf(attempts, sizeof attempts, "%d", q->max_attempts);
        snprintf(overflow, sizeof overflow, "%d", q->overflow_after_s);
        const char *args[] = {q->name,
                              s_strategy_names[q->strategy],
                              sla,
                              q->sla_business_hours ? "1" : "0",
                              attempts,
                              q->escalate_to,
                              overflow,
                              q->overflow_to,
                              q->owner_first ? "1" : "0",
                              q->owner_fallback == OWNER_FALLBACK_TEAM ? "team" : "queue",
                              q->catch_up ? "1" : "0",
                              q->webhook};
        store_value_t *r = routing_call(self, "queue_sync", 12, args, err);
        if (!r)
            return -1;
        store_value_free(&r);
    }
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", 1000LL * cfg->routing_audit_ttl_s);
    const char *args[] = {ttl};
    store_value_t *r = routing_call(self, "settings", 1, args, err);
    int rc = r ? 0 : -1;
    store_value_free(&r);
    return rc;
}

/* Retires the reps Redis knows that the config no longer lists, so that a
 * rep removed from the config gets no new lead. */
static int s_retire_removed_reps(routing_t *self, err_t *err)
{
    char key[KEY_MAX];
    keys_format(key, sizeof key, self->cfg->redis_prefix, "reps");
    store_value_t *known = store_command(self->store, err, "SMEMBERS %s", key);
    if (!known)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && known->type == STORE_ARRAY && i < known->count; i++) {
        const char *rep_id = known->elements[i]->str;
        bool configured = false;
        for (size_t r = 0; r < self->cfg->rep_count && !configured; r++)
            configured = strcmp(self->cfg->reps[r].id, rep_id) == 0;
        if (configured)
            continue;
        const char *args[] = {rep_id};
        store_value_t *reply = routing_call(self, "retire", 1, args, err);
        rc = reply ? 0 : -1;
        if (reply)
            log_info("rep %s is not in the config any more: retired (no new leads)", rep_id);
        store_value_free(&reply);
    }
    store_value_free(&known);
    return rc;
}

static int s_sync_rep(routing_t *self, const rep_config_t *rep, err_t *err)
{
    char capacity[16], daily[16], weekly[16], weight[32], queues[1024], skills[1024];
    snprintf(capacity, sizeof capacity, "%u", rep->capacity);
    snprintf(daily, sizeof daily, "%u", rep->daily_cap);
    snprintf(weekly, sizeof weekly, "%u", rep->weekly_cap);
    snprintf(weight, sizeof weight, "%g", rep->weight);
    if (s_join(rep->queues, rep->queue_count, queues, sizeof queues) < 0 ||
        s_join(rep->skills, rep->skill_count, skills, sizeof skills) < 0)
        return err_set(err, ERR_CONFIG, "rep %s: queue or skill names too long in all", rep->id);
    const char *args[] = {rep->id,   rep->name ? rep->name : rep->id,
                          capacity,  rep->status,
                          queues,    daily,
                          weekly,    weight,
                          rep->team, skills};
    store_value_t *r = routing_call(self, "sync", 10, args, err);
    int rc = r ? 0 : -1;
    store_value_free(&r);
    return rc;
}

/* "t0,t1,..." into OUT. */
static void s_times(const int64_t *times, int count, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < count && used < size; i++)
        used +=
            (size_t)snprintf(out + used, size - used, "%s%lld", i ? "," : "", (long long)times[i]);
}

int routing_sync_availability(routing_t *self, err_t *err)
{
    const config_t *cfg = self->cfg;
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < cfg->rep_count; i++) {
        const rep_config_t *rep = &cfg->reps[i];
        /* Windows start at the beginning of today, so that "now" is inside
         * the range whatever the rep's offset. */
        int64_t days[AVAIL_DAYS + 1], weeks[3];
        char windows[4096], ooo[4096], days_text[512], weeks_text[128];
        if (cal_day_starts(rep->timezone, now, AVAIL_DAYS + 1, days, err) < 0 ||
            cal_week_starts(rep->timezone, now, 3, weeks, err) < 0 ||
            cal_windows(rep->timezone, &rep->hours, rep->out_of_office, rep->out_of_office_count,
                        days[0], AVAIL_DAYS, windows, sizeof windows, err) < 0)
            return -1;
        /* The out-of-office periods alone, to tell "out of office" from
         * "out of hours" in the audit. */
        ooo[0] = '\0';
        size_t used = 0;
        for (size_t p = 0; p < rep->out_of_office_count && used < sizeof ooo; p++) {
            const cal_period_t *period = &rep->out_of_office[p];
            if (period->to_ms <= now)
                continue;
            used += (size_t)snprintf(ooo + used, sizeof ooo - used, "%s%lld-%lld", used ? "," : "",
                                     (long long)period->from_ms, (long long)period->to_ms);
        }
        s_times(days, AVAIL_DAYS + 1, days_text, sizeof days_text);
        s_times(weeks, 3, weeks_text, sizeof weeks_text);
        const char *args[] = {rep->id, windows, ooo, days_text, weeks_text};
        store_value_t *r = routing_call(self, "avail", 5, args, err);
        if (!r)
            return -1;
        store_value_free(&r);
    }
    return 0;
}

int routing_sync_config(routing_t *self, err_t *err)
{
    const config_t *cfg = self->cfg;
    if (s_sync_queues(self, err) < 0)
        return -1;
    for (size_t i = 0; i < cfg->rep_count; i++)
        if (s_sync_rep(self, &cfg->reps[i], err) < 0)
            return -1;
    if (routing_sync_availability(self, err) < 0 || s_retire_removed_reps(self, err) < 0)
        return -1;
    /* Reps that can take leads now take the best waiting ones. */
    char max[16];
    snprintf(max, sizeof max, "%d", ROUTING_PULL_MAX);
    for (size_t i = 0; i < cfg->rep_count; i++) {
        const char *pull_args[] = {cfg->reps[i].id, max};
        store_value_t *r = routing_call(self, "pull", 2, pull_args, err);
        if (!r)
            return -1;
        size_t pulled = routing_publish_assignments(self, r, 0);
        if (pulled)
            log_info("rep %s took %zu waiting leads at start", cfg->reps[i].id, pulled);
        store_value_free(&r);
    }
    return 0;
}
