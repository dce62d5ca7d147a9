#include "routing_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

store_value_t *routing_script_call(store_t *store, int script, const char *op, const char *prefix,
                                   int64_t now_ms, int argc, const char **args, err_t *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *argv[20] = {op, prefix, now};
    for (int i = 0; i < argc && i < 17; i++)
        argv[3 + i] = args[i];
    store_value_t *reply = store_script(store, script, 0, 3 + argc, argv, NULL, err);
    if (reply && reply->type == STORE_ERROR) {
        err_set(err, ERR_IO, "routing.lua %s: %s", op, reply->str);
        store_value_free(&reply);
    }
    return reply;
}

static const char *const s_strategy_names[] = {"round_robin", "weighted", "least_loaded"};

void routing_queue_args(const queue_config_t *q, bool with_webhook, routing_queue_args_t *out)
{
    snprintf(out->sla, sizeof out->sla, "%d", q->sla_s);
    snprintf(out->attempts, sizeof out->attempts, "%d", q->max_attempts);
    snprintf(out->overflow, sizeof out->overflow, "%d", q->overflow_after_s);
    const char *argv[] = {q->name,
                          s_strategy_names[q->strategy],
                          out->sla,
                          q->sla_business_hours ? "1" : "0",
                          out->attempts,
                          q->escalate_to,
                          out->overflow,
                          q->overflow_to,
                          q->owner_first ? "1" : "0",
                          q->owner_fallback == OWNER_FALLBACK_TEAM ? "team" : "queue",
                          q->catch_up ? "1" : "0",
                          with_webhook ? q->webhook : ""};
    memcpy(out->argv, argv, sizeof argv);
}

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

int routing_rep_args(const rep_config_t *rep, routing_rep_args_t *out, err_t *err)
{
    snprintf(out->capacity, sizeof out->capacity, "%u", rep->capacity);
    snprintf(out->daily, sizeof out->daily, "%u", rep->daily_cap);
    snprintf(out->weekly, sizeof out->weekly, "%u", rep->weekly_cap);
    snprintf(out->weight, sizeof out->weight, "%g", rep->weight);
    if (s_join(rep->queues, rep->queue_count, out->queues, sizeof out->queues) < 0 ||
        s_join(rep->skills, rep->skill_count, out->skills, sizeof out->skills) < 0)
        return err_set(err, ERR_CONFIG, "rep %s: queue or skill names too long in all", rep->id);
    const char *argv[] = {rep->id,       rep->name ? rep->name : rep->id,
                          out->capacity, rep->status,
                          out->queues,   out->daily,
                          out->weekly,   out->weight,
                          rep->team,     out->skills};
    memcpy(out->argv, argv, sizeof argv);
    return 0;
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

int routing_avail_args(const rep_config_t *rep, const cal_period_t *ooo, size_t ooo_count,
                       int64_t now_ms, routing_avail_args_t *out, err_t *err)
{
    size_t size = CAL_WINDOWS_SIZE(ROUTING_AVAIL_DAYS, ooo_count);
    if (out->windows_size < size) {
        char *grown = realloc(out->windows, size);
        if (!grown)
            return err_set(err, ERR_NOMEM, "out of memory");
        out->windows = grown;
        out->windows_size = size;
    }
    /* Windows start at the beginning of the rep's local day, so that NOW is
     * inside the range whatever its offset. */
    int64_t days[ROUTING_AVAIL_DAYS + 1], weeks[3];
    if (cal_day_starts(rep->timezone, now_ms, ROUTING_AVAIL_DAYS + 1, days, err) < 0 ||
        cal_week_starts(rep->timezone, now_ms, 3, weeks, err) < 0 ||
        cal_windows(rep->timezone, &rep->hours, ooo, ooo_count, days[0], ROUTING_AVAIL_DAYS,
                    out->windows, out->windows_size, err) < 0)
        return err_wrap(err, "rep %s", rep->id);
    /* The out-of-office periods alone, to tell "out of office" from "out
     * of hours" in the audit. */
    size_t used = 0;
    out->ooo[0] = '\0';
    for (size_t p = 0; p < ooo_count && used < sizeof out->ooo; p++) {
        if (ooo[p].to_ms <= now_ms)
            continue;
        used +=
            (size_t)snprintf(out->ooo + used, sizeof out->ooo - used, "%s%lld-%lld",
                             used ? "," : "", (long long)ooo[p].from_ms, (long long)ooo[p].to_ms);
    }
    s_times(days, ROUTING_AVAIL_DAYS + 1, out->days, sizeof out->days);
    s_times(weeks, 3, out->weeks, sizeof out->weeks);
    const char *argv[] = {rep->id, out->windows, out->ooo, out->days, out->weeks};
    memcpy(out->argv, argv, sizeof argv);
    return 0;
}

void routing_avail_args_clear(routing_avail_args_t *args)
{
    free(args->windows);
    memset(args, 0, sizeof *args);
}
