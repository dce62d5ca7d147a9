#include "apply_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"
#include "keys.h"

struct apply_call {
    const config_t *cfg; /* borrowed */
    char key_in[KEY_MAX], key_in_msg[KEY_MAX], key_route[KEY_MAX];
    char key_stats[KEY_MAX], key_leads[KEY_MAX], key_orphans[KEY_MAX], key_stage_due[KEY_MAX];
    char key_kpi_day[KEY_MAX], key_kpi_days[KEY_MAX], key_kpi_origin[KEY_MAX], key_deals[KEY_MAX];
    char key_grades[KEY_MAX], key_score_hist[KEY_MAX], key_stl_touch[KEY_MAX];
    char stages[1024], route_stage[16], half_life[16], orphan_window[16];
};

static int s_stages(const config_t *cfg, char *out, size_t size, err_t *err)
{
    size_t used = 0;
    for (size_t i = 0; i < cfg->stage_count; i++) {
        const stage_t *stage = &cfg->stages[i];
        int n = i == 0 ? snprintf(out + used, size - used, "%s", stage->name)
                       : snprintf(out + used, size - used, ";%s:%.17g:%.17g", stage->name,
                                  stage->enter, stage->exit);
        if (n < 0 || (size_t)n >= size - used)
            return err_set(err, ERR_CONFIG, "scoring.stages: too many stages");
        used += (size_t)n;
    }
    return 0;
}

apply_call_t *apply_call_new(const config_t *cfg, const char *ingest_hop_key,
                             const char *ingest_hop_message_key, const char *routing_hop_key,
                             err_t *err)
{
    apply_call_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    if (s_stages(cfg, self->stages, sizeof self->stages, err) < 0) {
        free(self);
        return NULL;
    }
    snprintf(self->key_in, KEY_MAX, "%s", ingest_hop_key);
    snprintf(self->key_in_msg, KEY_MAX, "%s", ingest_hop_message_key);
    snprintf(self->key_route, KEY_MAX, "%s", routing_hop_key);
    keys_format(self->key_stats, KEY_MAX, cfg->redis_prefix, "stats");
    keys_format(self->key_leads, KEY_MAX, cfg->redis_prefix, "leads");
    keys_format(self->key_orphans, KEY_MAX, cfg->redis_prefix, "orphans");
    keys_format(self->key_stage_due, KEY_MAX, cfg->redis_prefix, "stage_due");
    keys_format(self->key_kpi_day, KEY_MAX, cfg->redis_prefix, "kpi:d:");
    keys_format(self->key_kpi_days, KEY_MAX, cfg->redis_prefix, "kpi:days");
    keys_format(self->key_kpi_origin, KEY_MAX, cfg->redis_prefix, "kpi:origin");
    keys_format(self->key_deals, KEY_MAX, cfg->redis_prefix, "deals");
    keys_format(self->key_grades, KEY_MAX, cfg->redis_prefix, "grades");
    keys_format(self->key_score_hist, KEY_MAX, cfg->redis_prefix, "score_hist");
    keys_format(self->key_stl_touch, KEY_MAX, cfg->redis_prefix, "stl_touch");
    snprintf(self->route_stage, sizeof self->route_stage, "%zu", cfg->route_stage);
    snprintf(self->half_life, sizeof self->half_life, "%d", cfg->scoring_half_life_s);
    snprintf(self->orphan_window, sizeof self->orphan_window, "%d", cfg->scoring_orphan_window_s);
    return self;
}

void apply_call_destroy(apply_call_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

const char *apply_call_stages(const apply_call_t *self)
{
    return self->stages;
}

#define S(text) ((text) ? (text) : "")

/* The value of attribute NAME of ACTIVITY, or NULL. */
static const char *s_attribute(const Leadops__Activity *activity, const char *name)
{
    for (size_t i = 0; i < activity->n_attributes; i++)
        if (activity->attributes[i]->key && strcmp(activity->attributes[i]->key, name) == 0)
            return activity->attributes[i]->value;
    return NULL;
}

void apply_event_set_activity(apply_event_t *event, const Leadops__Activity *activity,
                              int64_t envelope_occurred_at_ms)
{
    event->activity_type = activity->type;
    event->outcome = activity->outcome;
    event->occurred_at_ms =
        activity->occurred_at_ms ? activity->occurred_at_ms : envelope_occurred_at_ms;
    event->rep_id = activity->rep_id;
    event->value = activity->value;
    event->product = s_attribute(activity, "product");
    const char *engaged = s_attribute(activity, "engage_date");
    int64_t opened = engaged && *engaged ? json_parse_time(engaged) : -1;
    event->opened_at_ms = opened > 0 ? opened : 0;
}

/* Queues the call of ARGC ARGV (the APPLY_KEYS keys first); an unresolved
 * lead id adds its alias key KEY_ALIAS as a sixteenth key. */
static void s_queue(store_batch_t *batch, int script, const apply_event_t *event,
                    const char *key_alias, int argc, const char **argv, size_t *lens)
{
    if (event->unresolved) {
        memmove(argv + APPLY_KEYS + 1, argv + APPLY_KEYS,
                (size_t)(argc - APPLY_KEYS) * sizeof *argv);
        memmove(lens + APPLY_KEYS + 1, lens + APPLY_KEYS,
                (size_t)(argc - APPLY_KEYS) * sizeof *lens);
        argv[APPLY_KEYS] = key_alias;
        lens[APPLY_KEYS] = strlen(key_alias);
        argc++;
    }
    store_batch_script(batch, script, APPLY_KEYS + (event->unresolved ? 1 : 0), argc, argv, lens);
}

void apply_call_queue(const apply_call_t *self, store_batch_t *batch, int script,
                      const apply_event_t *event)
{
    const config_t *cfg = self->cfg;
    char key_lead[KEY_MAX], key_alias[KEY_MAX], now[24], ingested[24], deadline[24];
    snprintf(key_lead, sizeof key_lead, "%s:lead:%s", cfg->redis_prefix, event->lead_id);
    snprintf(key_alias, sizeof key_alias, "%s:alias:%s", cfg->redis_prefix, event->lead_id);
    snprintf(now, sizeof now, "%lld", (long long)event->now_ms);
    snprintf(ingested, sizeof ingested, "%lld",
             (long long)(event->ingested_at_ms ? event->ingested_at_ms : event->now_ms));
    snprintf(deadline, sizeof deadline, "%lld",
             (long long)(event->now_ms + cfg->scoring_redelivery_ms));
    const char *argv[APPLY_KEYS + 24] = {self->key_in,
                                         self->key_in_msg,
                                         key_lead,
                                         self->key_route,
                                         self->key_stats,
                                         self->key_leads,
                                         self->key_orphans,
                                         self->key_stage_due,
                                         self->key_kpi_day,
                                         self->key_kpi_days,
                                         self->key_kpi_origin,
                                         self->key_deals,
                                         self->key_grades,
                                         self->key_score_hist,
                                         self->key_stl_touch,
                                         S(event->event_id),
                                         event->kind,
                                         event->lead_id,
                                         now,
                                         ingested,
                                         deadline,
                                         self->orphan_window,
                                         self->half_life,
                                         self->route_stage,
                                         self->stages};
    size_t lens[APPLY_KEYS + 24];
    int argc = APPLY_KEYS + 10;
    char a[6][32];
    if (strcmp(event->kind, "lead") == 0) {
        snprintf(a[0], sizeof a[0], "%.17g", event->fit);
        snprintf(a[1], sizeof a[1], "%lld", (long long)event->event_time_ms);
        snprintf(a[2], sizeof a[2], "%.17g",
                 event->model_p >= 0 ? event->model_p * cfg->model_points : 0);
        snprintf(a[3], sizeof a[3], "%.17g", event->model_p);
        int lead_arg = argc;
        argv[argc++] = (const char *)event->lead_pb;
        argv[argc++] = a[0];
        argv[argc++] = S(event->grade);
        argv[argc++] = event->fit_rules ? event->fit_rules : "[]";
        argv[argc++] = event->rev ? event->rev : "0";
        argv[argc++] = a[1];
        argv[argc++] = S(event->changes);
        argv[argc++] = event->came_as ? event->came_as : event->lead_id;
        argv[argc++] = a[2];
        argv[argc++] = event->model_p >= 0 ? a[3] : "";
        argv[argc++] = event->model_top ? event->model_top : "[]";
        argv[argc++] = S(event->model_name);
        argv[argc++] = S(event->source);
        for (int i = 0; i < argc; i++)
            lens[i] = i == lead_arg ? event->lead_pb_len : strlen(argv[i]);
        s_queue(batch, script, event, key_alias, argc, argv, lens);
        return;
    }
    if (strcmp(event->kind, "activity") == 0) {
        double cap;
        int period_s;
        snprintf(
            a[0], sizeof a[0], "%.17g",
            config_activity_points(cfg, event->activity_type, event->outcome, &cap, &period_s));
        snprintf(a[1], sizeof a[1], "%lld", (long long)event->occurred_at_ms);
        snprintf(a[2], sizeof a[2], "%.17g", cap);
        snprintf(a[3], sizeof a[3], "%d", period_s);
        argv[argc++] = event->activity_type;
        argv[argc++] = a[0];
        argv[argc++] = a[1];
        argv[argc++] = a[2];
        argv[argc++] = a[3];
        argv[argc++] = S(event->outcome);
        snprintf(a[4], sizeof a[4], "%.17g", event->value);
        snprintf(a[5], sizeof a[5], "%lld", (long long)event->opened_at_ms);
        argv[argc++] = S(event->rep_id);
        argv[argc++] = a[4];
        argv[argc++] = S(event->product);
        argv[argc++] = a[5];
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    s_queue(batch, script, event, key_alias, argc, argv, lens);
}
