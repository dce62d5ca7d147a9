/* scoring_sweeps.c — the timers of the scoring service: leads routing has
 * not taken in time are sent again, activities whose lead never came are
 * dead-lettered, leads whose decaying score crosses a stage threshold are
 * re-scored, and a changed model file is taken (or refused). */
#include <stdio.h>

#include "envelope.h"
#include "log.h"
#include "scoring_internal.h"

typedef struct {
    char (*ids)[160];
    size_t count;
} s_claimed_t;

static void s_collect(void *arg, const char *member, const void *message, size_t size)
{
    (void)message;
    (void)size;
    s_claimed_t *claimed = arg;
    if (claimed->count < REDELIVERY_CLAIM_MAX)
        snprintf(claimed->ids[claimed->count++], 160, "%s", member);
}

/* Re-sends to routing the qualified leads routing has not taken yet,
 * rebuilt from their state in Redis. */
void scoring_redeliver(scoring_t *self)
{
    char(*ids)[160] = self->claimed_ids;
    s_claimed_t claimed = {ids, 0};
    err_t err = {0};
    if (hop_claim(self->routing_hop, clock_now_ms(), REDELIVERY_CLAIM_MAX, s_collect, &claimed,
                  &err) < 0) {
        if (!self->store_down_logged)
            log_warn("redelivery to routing: %s", err.msg);
        return;
    }
    if (claimed.count == 0)
        return;
    store_batch_reset(self->batch);
    for (size_t i = 0; i < claimed.count; i++) {
        char key[KEY_MAX];
        snprintf(key, sizeof key, "%s:lead:%s", self->cfg->redis_prefix, ids[i]);
        const char *argv[] = {"HMGET",      key,     "lead",        "score", "fit",
                              "engagement", "grade", "ingested_at", "stage", "model_points"};
        store_batch_command(self->batch, 10, argv, NULL);
    }
    if (store_batch_exec(self->store, self->batch, &err) < 0) {
        log_warn("redelivery to routing: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < claimed.count; i++) {
        const store_value_t *r = store_batch_reply(self->batch, i);
        scoring_scored_t scored = {
            .lead_id = ids[i],
            .lead_pb = store_value_at(r, 0),
            .score = store_value_double(store_value_at(r, 1), 0),
            .fit = store_value_double(store_value_at(r, 2), 0),
            .engagement = store_value_double(store_value_at(r, 3), 0),
            .grade = store_value_str(store_value_at(r, 4), ""),
            .ingested_at_ms = store_value_int(store_value_at(r, 5), 0),
            .stage = store_value_str(store_value_at(r, 6), ""),
            .model = store_value_double(store_value_at(r, 7), 0),
            .previous_stage = "",
            .to_routing = true,
        };
        scoring_send_scored(self, &scored, "redelivery");
    }
    self->stats.resent_to_routing += claimed.count;
    log_info("re-sent %zu leads to routing", claimed.count);
}

/* Dead-letters the activities of leads that never arrived (orphans.lua). */
void scoring_sweep_orphans(scoring_t *self)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *argv[] = {self->key_orphans,
                          self->key_deadletter,
                          self->key_stats,
                          self->cfg->redis_prefix,
                          now,
                          "1000"};
    err_t err = {0};
    store_value_t *reply = store_script(self->store, self->orphans_script, 3, 6, argv, NULL, &err);
    long long dropped = store_value_int(reply, 0);
    if (dropped > 0)
        log_info("dead-lettered the activities of %lld leads that never arrived", dropped);
    store_value_free(&reply);
}

/* Re-scores the leads whose decaying score crosses a stage threshold by now
 * (apply.lua keeps when in <p>:stage_due): they move a stage, as an event. */
void scoring_restage(scoring_t *self)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    const char *range[] = {"ZRANGEBYSCORE", self->key_stage_due, "-inf", now, "LIMIT", "0", "512"};
    err_t err = {0};
    store_value_t *due = store_commandv(self->store, 7, range, NULL, &err);
    size_t count = due && due->type == STORE_ARRAY ? due->count : 0;
    if (count > RESTAGE_MAX)
        count = RESTAGE_MAX;
    store_batch_reset(self->batch);
    for (size_t i = 0; i < count; i++) {
        apply_event_t event = {
            .kind = "restage",
            .lead_id = store_value_str(store_value_at(due, i), ""),
            .now_ms = clock_now_ms(),
        };
        apply_call_queue(self->apply, self->batch, self->apply_script, &event);
    }
    if (count && store_batch_exec(self->store, self->batch, &err) == 0) {
        for (size_t i = 0; i < count; i++) {
            const store_value_t *reply = store_batch_reply(self->batch, i);
            if (store_value_int(store_value_at(reply, 0), -1) != 1)
                continue;
            scoring_scored_t scored =
                scoring_scored_from_reply(store_value_str(store_value_at(due, i), ""), reply);
            self->stats.to_routing += scored.to_routing;
            scoring_send_scored(self, &scored, "decay");
        }
    } else if (count && !self->store_down_logged) {
        log_warn("restage: %s", err.msg);
    }
    store_value_free(&due);
}

/* Takes a changed model file, or says why not and keeps the current one. */
void scoring_poll_model(scoring_t *self)
{
    err_t err = {0};
    int rc = model_live_poll(self->model, &err);
    if (rc > 0) {
        self->stats.models_loaded++;
        log_info("model reloaded: %s (leads take it at their next lead event)",
                 model_live_describe(self->model));
    } else if (rc < 0) {
        self->stats.models_refused++;
        log_error("%s", err.msg); /* the file, the reason, and the model that stays */
    }
}
