#include "http_intake.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"

static const char *s_status_name(Leadops__Ack__Status status)
{
    switch (status) {
    case LEADOPS__ACK__STATUS__ACCEPTED:
        return "accepted";
    case LEADOPS__ACK__STATUS__DUPLICATE:
        return "duplicate";
    case LEADOPS__ACK__STATUS__REJECTED:
        return "rejected";
    case LEADOPS__ACK__STATUS__BUSY:
        return "busy";
    default:
        return "error";
    }
}

static void s_add_item(intake_t *intake, const json_t *obj, bool is_lead)
{
    err_t err = {0};
    json_t *event_id = json_object_get(obj, "event_id");
    const char *id = json_is_string(event_id) ? json_string_value(event_id) : NULL;
    if (event_id && !json_is_string(event_id)) {
        intake_add_reject(intake, "event_id: expected a string", "http", 0);
        return;
    }
    if (is_lead) {
        Leadops__Lead *lead = json_to_lead(obj, &err);
        if (lead)
            intake_add_lead(intake, &lead, id, "http", "http");
        else
            intake_add_reject(intake, err.msg, "http", 0);
    } else {
        Leadops__Activity *activity = json_to_activity(obj, &err);
        if (activity)
            intake_add_activity(intake, &activity, id, "http", "http");
        else
            intake_add_reject(intake, err.msg, "http", 0);
    }
}

/* Refuses a whole request: counted and dead-lettered like any bad input,
 * answered with STATUS and the reason. */
static void s_refuse(intake_t *intake, httpd_response_t *res, int status, const char *reason,
                     size_t size)
{
    intake_reset(intake);
    intake_add_reject(intake, reason, "http", size);
    intake_flush(intake, NULL);
    intake_reset(intake);
    httpd_respond_error(res, status, reason);
}

static json_t *s_result_json(const intake_result_t *result)
{
    json_t *obj = json_pack("{s:s}", "status", s_status_name(result->status));
    if (result->event_id[0])
        json_object_set_new(obj, "event_id", json_string(result->event_id));
    if (result->lead_id[0])
        json_object_set_new(obj, "lead_id", json_string(result->lead_id));
    if (result->outcome[0])
        json_object_set_new(obj, "outcome", json_string(result->outcome));
    if (result->reason[0])
        json_object_set_new(obj, "reason", json_string(result->reason));
    return obj;
}

static void s_respond_json(httpd_response_t *res, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    httpd_respond(res, status, "application/json", text ? text : "{}");
    free(text);
    json_decref(body);
}

void http_intake_handle(void *arg, const httpd_request_t *req, httpd_response_t *res)
{
    intake_t *intake = arg;
    if (strcmp(req->path, "/healthz") == 0) {
        httpd_respond(res, 200, "text/plain", "ok\n");
        return;
    }
    bool is_lead = strcmp(req->path, "/v1/leads") == 0;
    if (!is_lead && strcmp(req->path, "/v1/activities") != 0) {
        httpd_respond_error(res, 404, "no such endpoint: POST /v1/leads or /v1/activities");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        httpd_respond_error(res, 405, "use POST");
        return;
    }
    if (req->body_too_large) {
        char reason[128];
        snprintf(reason, sizeof reason,
                 "request body larger than %zu bytes (ingest.max_body_bytes)",
                 intake_max_body(intake));
        s_refuse(intake, res, 413, reason, req->body_seen);
        return;
    }

    json_error_t jerr;
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !(json_is_object(root) || json_is_array(root))) {
        char reason[300];
        if (root)
            snprintf(reason, sizeof reason, "expected a JSON object or an array of objects");
        else
            snprintf(reason, sizeof reason, "invalid JSON at line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        json_decref(root);
        s_refuse(intake, res, 400, reason, req->body_len);
        return;
    }
    if (json_is_array(root) && json_array_size(root) > HTTP_INTAKE_MAX_ITEMS) {
        json_decref(root);
        char reason[100];
        snprintf(reason, sizeof reason, "at most %d items per request", HTTP_INTAKE_MAX_ITEMS);
        s_refuse(intake, res, 413, reason, req->body_len);
        return;
    }

    intake_reset(intake);
    bool is_array = json_is_array(root);
    if (is_array) {
        size_t i;
        json_t *item;
        json_array_foreach(root, i, item) s_add_item(intake, item, is_lead);
    } else {
        s_add_item(intake, root, is_lead);
    }
    json_decref(root);

    err_t err = {0};
    bool store_down = intake_flush(intake, &err) < 0;
    size_t count = intake_count(intake), rejected = 0, busy = 0;
    json_t *results = json_array();
    for (size_t i = 0; i < count; i++) {
        const intake_result_t *result = intake_result(intake, i);
        rejected += result->status == LEADOPS__ACK__STATUS__REJECTED;
        busy += result->status == LEADOPS__ACK__STATUS__BUSY;
        json_array_append_new(results, s_result_json(result));
    }
    intake_reset(intake);

    if (store_down) {
        json_decref(results);
        httpd_respond_error(res, 503, "storage unavailable: nothing was accepted, retry later");
        res->retry_after_s = 1;
        return;
    }
    if (busy) {
        /* Backpressure: some items (maybe all) were refused because scoring
         * is behind. The results say which; resend those after Retry-After. */
        s_respond_json(res, 503,
                       json_pack("{s:s,s:I,s:I,s:I,s:o}", "error",
                                 "downstream is behind: resend the items marked busy later",
                                 "accepted", (json_int_t)(count - rejected - busy), "busy",
                                 (json_int_t)busy, "rejected", (json_int_t)rejected, "results",
                                 results));
        res->retry_after_s = 1;
        return;
    }
    int status = rejected == 0 ? 202 : rejected == count ? 400 : 207;
    if (count == 1 && !is_array) {
        json_t *single = json_incref(json_array_get(results, 0));
        json_decref(results);
        s_respond_json(res, status, single);
        return;
    }
    s_respond_json(res, status,
                   json_pack("{s:I,s:I,s:o}", "accepted", (json_int_t)(count - rejected),
                             "rejected", (json_int_t)rejected, "results", results));
}
