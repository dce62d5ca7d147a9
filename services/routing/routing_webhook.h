/* routing_webhook.h — the HTTP side of the queues' webhooks: the JSON a
 * Slack-style incoming webhook accepts, and one POST of it with libcurl,
 * classified for the retry policy of routing_notify.c. A webhook_t is used
 * by one thread (the notifier's). */
#ifndef LEADOPS_ROUTING_WEBHOOK_H
#define LEADOPS_ROUTING_WEBHOOK_H

#include <stdatomic.h>
#include <stdint.h>

#include "err.h"

#define WEBHOOK_TIMEOUT_MS 5000 /* one POST, connect included */

typedef enum {
    NOTIFY_DELIVERED,
    NOTIFY_RETRY,   /* connect error, timeout, 429, 5xx */
    NOTIFY_REFUSED, /* any other answer: the webhook will not take it */
    NOTIFY_ABORTED, /* stopping */
} notify_outcome_t;

typedef struct webhook webhook_t;

/* A client whose posts abort when *STOP becomes true. Returns NULL with
 * *err when libcurl cannot be set up (curl_global_init is the caller's). */
webhook_t *webhook_new(atomic_bool *stop, err_t *err);
void webhook_destroy(webhook_t **self_p); /* NULL-safe */

/* The JSON body of one notice (owned), or NULL when out of memory: "text"
 * (the lead id, queue and kind in front of TEXT, escaped as Slack's mrkdwn
 * asks so a rep's free text cannot ping a channel or forge a link) plus
 * lead_id, queue, kind, rep_id and at. */
char *webhook_body(const char *queue, const char *kind, const char *lead, const char *rep,
                   const char *text, long long at);

/* POSTs BODY to URL. *STATUS gets the HTTP status (0 without an answer),
 * *FAILURE curl's description of a failure without an answer (never the
 * URL; NULL otherwise), *RETRY_AFTER_MS a 429's or 503's Retry-After. */
notify_outcome_t webhook_post(webhook_t *self, const char *url, const char *body, long *status,
                              const char **failure, int64_t *retry_after_ms);

#endif
