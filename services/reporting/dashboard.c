/* dashboard.c — the embedded page and the live snapshots; see dashboard.h. */
#include "dashboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "keys.h"
#include "views.h"

/* Generated from web/ at build time (cmake/embed.cmake). */
extern const char reporting_web_index_html[];
extern const char reporting_web_app_js[];
extern const char reporting_web_style_css[];

#define HTML "text/html; charset=utf-8"

static const dashboard_asset_t s_assets[] = {
    {"/", HTML, reporting_web_index_html},
    {"/dashboard", HTML, reporting_web_index_html},
    {"/dashboard/app.js", "text/javascript; charset=utf-8", reporting_web_app_js},
    {"/dashboard/style.css", "text/css; charset=utf-8", reporting_web_style_css},
};

const char *const dashboard_open_paths[DASHBOARD_OPEN_PATH_COUNT] = {
    "/",
    "/dashboard",
    "/dashboard/app.js",
    "/dashboard/style.css",
};

const dashboard_asset_t *dashboard_asset(const char *path)
{
    for (size_t i = 0; i < sizeof s_assets / sizeof s_assets[0]; i++)
        if (strcmp(path, s_assets[i].path) == 0)
            return &s_assets[i];
    return NULL;
}

/* Adds one lead to the count of REASON in REASONS ({reason: leads}). */
static void s_count_reason(json_t *reasons, const char *reason)
{
    json_t *count = json_object_get(reasons, reason);
    json_object_set_new(reasons, reason, json_integer(count ? json_integer_value(count) + 1 : 1));
}

/* [{"reason", "leads"}] from {reason: leads}, most leads first. */
static json_t *s_reason_list(json_t *reasons)
{
    json_t *list = json_array();
    const char *reason;
    json_t *count;
    json_object_foreach(reasons, reason, count)
    {
        size_t at = 0;
        while (at < json_array_size(list) &&
               json_integer_value(json_object_get(json_array_get(list, at), "leads")) >=
                   json_integer_value(count))
            at++;
        json_array_insert_new(list, at,
                              json_pack("{s:s, s:I}", "reason", reason, "leads",
                                        (json_int_t)json_integer_value(count)));
    }
    return list;
}

/* Adds "waiting_reasons" and "reasons_sampled" to every queue of QUEUES
 * (views_queues' list): two round trips, whatever the number of queues. */
static int s_add_waiting_reasons(store_t *store, const char *prefix, json_t *queues, err_t *err)
{
    json_t *samples =
        views_waiting_reason_samples(store, prefix, queues, DASHBOARD_REASON_SAMPLE, err);
    if (!samples)
        return -1;
    size_t q;
    json_t *queue;
    json_array_foreach(queues, q, queue)
    {
        json_t *sample = json_array_get(samples, q), *by_reason = json_object();
        size_t i;
        json_t *sampled;
        json_array_foreach(sample, i, sampled)
        {
            const char *reason = json_string_value(sampled);
            s_count_reason(by_reason, *reason ? reason : "no reason recorded");
        }
        json_object_set_new(queue, "waiting_reasons", s_reason_list(by_reason));
        json_object_set_new(queue, "reasons_sampled",
                            json_integer((json_int_t)json_array_size(sample)));
        json_decref(by_reason);
    }
    json_decref(samples);
    return 0;
}

json_t *dashboard_snapshot(store_t *store, const char *prefix, err_t *err)
{
    json_t *summary = views_summary(store, prefix, err);
    json_t *queues = summary ? views_queues(store, prefix, err) : NULL;
    json_t *reps = queues ? views_reps(store, prefix, err) : NULL;
    json_t *snapshot = NULL;
    if (reps && s_add_waiting_reasons(store, prefix, json_object_get(queues, "queues"), err) == 0)
        snapshot = json_pack("{s:I, s:O, s:O, s:O}", "at_ms", (json_int_t)clock_now_ms(), "summary",
                             summary, "queues", json_object_get(queues, "queues"), "reps",
                             json_object_get(reps, "reps"));
    json_decref(summary);
    json_decref(queues);
    json_decref(reps);
    return snapshot;
}

char *dashboard_event(const char *name, const json_t *data, size_t *len)
{
    /* Compact JSON holds no newline, so one data: line carries it all. */
    char *json = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!json)
        return NULL;
    size_t size = strlen(name) + strlen(json) + 32;
    char *event = malloc(size);
    if (event)
        *len = (size_t)snprintf(event, size, "event: %s\ndata: %s\n\n", name, json);
    free(json);
    return event;
}
