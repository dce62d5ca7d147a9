/* routing_sync.c — the config into Redis: the queues' settings, the reps
 * (a value the config changed since it was last applied is taken; run-time
 * changes made by command otherwise survive restarts), reps the config no
 * longer lists retired, and each rep's working windows computed in its time
 * zone for routing.lua, which has no time zones. */
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "routing_args.h"
#include "routing_internal.h"

static int s_sync_queues(routing_t *self, err_t *err)
{
    const config_t *cfg = self->cfg;
    for (size_t i = 0; i < cfg->queue_count; i++) {
        routing_queue_args_t args;
        routing_queue_args(&cfg->queues[i], true, &args);
        store_value_t *r = routing_call(self, "queue_sync", 12, args.argv, err);
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
    routing_rep_args_t args;
    if (routing_rep_args(rep, &args, err) < 0)
        return -1;
    store_value_t *r = routing_call(self, "sync", 10, args.argv, err);
    int rc = r ? 0 : -1;
    store_value_free(&r);
    return rc;
}

int routing_sync_availability(routing_t *self, err_t *err)
{
    const config_t *cfg = self->cfg;
    int64_t now = clock_now_ms();
    routing_avail_args_t args = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->rep_count; i++) {
        const rep_config_t *rep = &cfg->reps[i];
        if (routing_avail_args(rep, rep->out_of_office, rep->out_of_office_count, now, &args, err) <
            0) {
            rc = -1;
            break;
        }
        store_value_t *r = routing_call(self, "avail", 5, args.argv, err);
        rc = r ? 0 : -1;
        store_value_free(&r);
    }
    routing_avail_args_clear(&args);
    return rc;
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
