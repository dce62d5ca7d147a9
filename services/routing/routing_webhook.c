#include "routing_webhook.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h" /* LEADOPS_VERSION */

struct webhook {
    CURL *curl;                 /* owned */
    struct curl_slist *headers; /* owned */
    atomic_bool *stop;          /* borrowed */
};

/* Appends SRC to OUT, escaped as Slack's mrkdwn asks (&, <, >). */
static void s_slack_escape(char *out, size_t size, const char *src)
{
    size_t len = strlen(out);
    for (; *src && len + 6 < size; src++) {
        const char *entity = *src == '&'   ? "&amp;"
                             : *src == '<' ? "&lt;"
                             : *src == '>' ? "&gt;"
                                           : NULL;
        if (entity) {
            memcpy(out + len, entity, strlen(entity));
            len += strlen(entity);
        } else {
            out[len++] = *src;
        }
    }
    out[len] = '\0';
}

char *webhook_body(const char *queue, const char *kind, const char *lead, const char *rep,
                   const char *text, long long at)
{
    char line[2048], plain[1024];
    snprintf(plain, sizeof plain, "lead %s (%s, %s): %s", lead, queue, kind, text);
    line[0] = '\0';
    s_slack_escape(line, sizeof line, plain);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "text", line, "lead_id", lead,
                             "queue", queue, "kind", kind, "rep_id", rep, "at", (json_int_t)at);
    char *dumped = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return dumped;
}

static size_t s_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb;
}

/* Aborts a post in progress when stop is asked (curl calls it at least
 * once a second, more often while bytes move). */
static int s_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                      curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const webhook_t *self = arg;
    return atomic_load(self->stop) ? 1 : 0;
}

webhook_t *webhook_new(atomic_bool *stop, err_t *err)
{
    webhook_t *self = calloc(1, sizeof *self);
    if (self) {
        self->stop = stop;
        self->curl = curl_easy_init();
        self->headers = curl_slist_append(NULL, "Content-Type: application/json");
    }
    if (!self || !self->curl || !self->headers) {
        webhook_destroy(&self);
        err_set(err, ERR_NOMEM, "webhooks: cannot set up libcurl");
        return NULL;
    }
    CURL *curl = self->curl;
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* a thread: no SIGALRM for DNS timeouts */
#if LIBCURL_VERSION_NUM >= 0x075500               /* 7.85 */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); /* never carry a notice elsewhere */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, self->headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "leadops-routing/" LEADOPS_VERSION);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, self);
    return self;
}

void webhook_destroy(webhook_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    webhook_t *self = *self_p;
    curl_slist_free_all(self->headers);
    if (self->curl)
        curl_easy_cleanup(self->curl);
    free(self);
    *self_p = NULL;
}

notify_outcome_t webhook_post(webhook_t *self, const char *url, const char *body, long *status,
                              const char **failure, int64_t *retry_after_ms)
{
    CURL *curl = self->curl;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    CURLcode rc = curl_easy_perform(curl);
    *status = 0;
    *failure = NULL;
    *retry_after_ms = 0;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return NOTIFY_ABORTED;
    if (rc != CURLE_OK) {
        *failure = curl_easy_strerror(rc); /* names the failure, never the URL */
        return NOTIFY_RETRY;
    }
    curl_off_t retry_after_s = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after_s);
    if (*status >= 200 && *status < 300)
        return NOTIFY_DELIVERED;
    if (*status == 429 || *status >= 500) {
        *retry_after_ms = (int64_t)retry_after_s * 1000;
        return NOTIFY_RETRY;
    }
    /* 4xx but 429 (and 1xx, 3xx: redirects are not followed): sending it
     * again will not help. */
    return NOTIFY_REFUSED;
}
