/* apply_fixture.c — see apply_fixture.h. */
#include "apply_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

config_t *apply_fixture_sample_config(void)
{
    const char *root = getenv("LEADOPS_TEST_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/leadops.yaml", root ? root : ".");
    err_t err = {0};
    config_t *cfg = config_load(path, &err);
    if (!cfg) {
        fprintf(stderr, "config: %s\n", err.msg);
        return NULL;
    }
    free(cfg->redis_prefix);
    cfg->redis_prefix = strdup("t");
    return cfg;
}

apply_call_t *apply_fixture_call(const config_t *cfg)
{
    err_t err = {0};
    apply_call_t *call = apply_call_new(cfg, "t:inflight:scoring", "t:inflight:scoring:msg",
                                        "t:inflight:routing", &err);
    if (!call)
        fprintf(stderr, "apply_call: %s\n", err.msg);
    return call;
}

apply_event_t apply_fixture_event(const char *kind, const char *event_id, const char *lead_id,
                                  int64_t now_ms)
{
    return (apply_event_t){
        .kind = kind, .event_id = event_id, .lead_id = lead_id, .now_ms = now_ms, .model_p = -1};
}

long long apply_fixture_run(store_t *store, int script, const apply_call_t *call,
                            const apply_event_t *event, apply_reply_t *reply)
{
    store_batch_t *batch = store_batch_new();
    apply_call_queue(call, batch, script, event);
    err_t err = {0};
    long long outcome = -1;
    if (store_batch_exec(store, batch, &err) < 0) {
        fprintf(stderr, "apply.lua: %s\n", err.msg);
    } else {
        const store_value_t *r = store_batch_reply(batch, 0);
        if (!r || r->type != STORE_ARRAY)
            fprintf(stderr, "apply.lua: %s\n", store_value_str(r, "not an array"));
        else
            outcome = store_value_int(store_value_at(r, 0), -1);
        if (outcome == 1 && reply) {
            *reply = (apply_reply_t){.outcome = outcome};
            reply->score = store_value_double(store_value_at(r, 1), 0);
            snprintf(reply->stage, sizeof reply->stage, "%s",
                     store_value_str(store_value_at(r, 2), ""));
            snprintf(reply->previous_stage, sizeof reply->previous_stage, "%s",
                     store_value_str(store_value_at(r, 3), ""));
            reply->to_routing = store_value_int(store_value_at(r, 4), 0) == 1;
            reply->fit = store_value_double(store_value_at(r, 7), 0);
            reply->engagement = store_value_double(store_value_at(r, 8), 0);
            snprintf(reply->grade, sizeof reply->grade, "%s",
                     store_value_str(store_value_at(r, 9), ""));
            reply->model_points = store_value_double(store_value_at(r, 10), 0);
        } else if (reply) {
            *reply = (apply_reply_t){.outcome = outcome};
        }
    }
    store_batch_destroy(&batch);
    return outcome;
}
