/* kpi_ops.c — live operations: queues, reps, waiting reasons, SLA; see kpi.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"
#include "keys.h"
#include "kpi.h"
#include "kpi_internal.h"
#include "views.h"

/* ---- live operations -------------------------------------------------- */

/* How many waiting leads per queue the reasons are counted over, as
 * views_queues samples them: the waiting set is ordered by priority. */
#define REASON_SAMPLE 100

static const char *const s_sla_stats[] = {"sla_breaches", "escalations",     "overflowed",
                                          "reassigned",   "rejected_by_rep", "accepted"};
#define SLA_STAT_COUNT (sizeof s_sla_stats / sizeof s_sla_stats[0])

/* Adds waiting_reasons to every queue of QUEUES (a views_queues view). */
static int s_waiting_reasons(store_t *store, const char *prefix, json_t *queues, err_t *err)
{
    json_t *list = json_object_get(queues, "queues");
    json_t *samples = views_waiting_reason_samples(store, prefix, list, REASON_SAMPLE, err);
    if (!samples)
        return -1;
    for (size_t q = 0; q < json_array_size(list); q++) {
        json_t *by_reason = json_object();
        size_t i;
        json_t *sampled;
        json_array_foreach(json_array_get(samples, q), i, sampled)
        {
            const char *reason = json_string_value(sampled);
            kpi_count_add(by_reason, *reason ? reason : "unknown",
                          strlen(*reason ? reason : "unknown"), 1);
        }
        json_object_set_new(json_array_get(list, q), "waiting_reasons", by_reason);
    }
    json_decref(samples);
    return 0;
}

/* The SLA figures: clocks running and the stats counters of s_sla_stats. */
static json_t *s_sla(store_t *store, const char *prefix, err_t *err)
{
    char key_stats[KEY_MAX], key_sla[KEY_MAX];
    keys_format(key_stats, KEY_MAX, prefix, "stats");
    keys_format(key_sla, KEY_MAX, prefix, "sla");
    const char *argv[2 + SLA_STAT_COUNT] = {"HMGET", key_stats};
    size_t lens[2 + SLA_STAT_COUNT];
    for (size_t i = 0; i < SLA_STAT_COUNT; i++)
        argv[2 + i] = s_sla_stats[i];
    for (size_t i = 0; i < 2 + SLA_STAT_COUNT; i++)
        lens[i] = strlen(argv[i]);
    store_batch_t *batch = store_batch_new();
    store_batch_command(batch, (int)(2 + SLA_STAT_COUNT), argv, lens);
    store_batch_command(batch, 2, (const char *[]){"ZCARD", key_sla}, NULL);
    json_t *sla = NULL;
    if (store_batch_exec(store, batch, err) == 0 &&
        store_reply_check(store_batch_reply(batch, 0), "HMGET stats", err) == 0 &&
        store_reply_check(store_batch_reply(batch, 1), "ZCARD sla", err) == 0) {
        sla = json_object();
        json_object_set_new(sla, "pending",
                            json_integer(store_value_int(store_batch_reply(batch, 1), 0)));
        const store_value_t *stats = store_batch_reply(batch, 0);
        for (size_t i = 0; i < SLA_STAT_COUNT; i++)
            json_object_set_new(sla, s_sla_stats[i],
                                json_integer(store_value_int(store_value_at(stats, i), 0)));
    }
    store_batch_destroy(&batch);
    return sla;
}

json_t *kpi_ops(store_t *store, const char *prefix, err_t *err)
{
    json_t *summary = views_summary(store, prefix, err);
    json_t *queues = summary ? views_queues(store, prefix, err) : NULL;
    json_t *reps = queues ? views_reps(store, prefix, err) : NULL;
    json_t *sla = reps && s_waiting_reasons(store, prefix, queues, err) == 0
                      ? s_sla(store, prefix, err)
                      : NULL;
    json_t *view = NULL;
    if (sla)
        view = json_pack("{s:O, s:O, s:O, s:o}", "summary", summary, "queues",
                         json_object_get(queues, "queues"), "reps", json_object_get(reps, "reps"),
                         "sla", sla);
    json_decref(summary);
    json_decref(queues);
    json_decref(reps);
    return view;
}
