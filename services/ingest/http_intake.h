/* http_intake.h — the JSON door of ingest: POST /v1/leads and
 * POST /v1/activities with one object or an array of objects.
 *
 * Answers 202 when every item was accepted (or was a duplicate), 400 when
 * the body is not JSON or every item was rejected, 207 with per-item results
 * when some were rejected, 503 with Retry-After when Redis is unavailable or
 * scoring is too far behind (then per-item results say which items to resend).
 * Reasons are in the body; personal fields never are. */
#ifndef LEADOPS_HTTP_INTAKE_H
#define LEADOPS_HTTP_INTAKE_H

#include "httpd.h"
#include "intake.h"

/* Most items accepted in one request. */
#define HTTP_INTAKE_MAX_ITEMS 1000

/* The httpd handler; ARG is the intake_t. */
void http_intake_handle(void *arg, const httpd_request_t *req, httpd_response_t *res);

#endif
