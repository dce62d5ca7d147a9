/* routing_notify.c — the queues' webhooks.
 *
 * routing.lua appends a notice to the stream <prefix>:notify (fields queue,
 * kind, lead, rep, text, at) for each assignment, SLA breach, rejection and
 * escalation of a queue that has a webhook. This file posts them, on a thread
 * of its own with its own Redis connection, so a slow or dead webhook never
 * holds up routing.
 *
 * Delivery is at least once. Every routing instance reads the stream through
 * the consumer group "notify" under a consumer name of its own
 * (hostname:pid), so instances side by side share the work and each notice
 * goes to one of them. A notice is XACKed when the webhook answers 2xx, when
 * it refuses it for good (a 4xx other than 429), or when it is dropped after
 * NOTIFY_TRIES failed tries. Until then it stays pending in the group: the
 * holder re-claims its notices every NOTIFY_TOUCH_MS (XCLAIM resets their idle
 * time), and whatever stays idle NOTIFY_CLAIM_IDLE_MS (its holder died, or
 * stopped in the middle of a post) is taken over by another instance with
 * XAUTOCLAIM. The group starts at the stream's end when it is first created
 * (at start when Redis is up, before routing writes anything): notices
 * written before any instance ever sent one are old news.
 *
 * Retries: connect errors, timeouts, 429 and 5xx are tried again after
 * 1 s, 2 s, 4 s ... (at most 60 s, or Retry-After when longer). While a
 * webhook is failing, the other notices for it that come due are counted a
 * failed try without a request, so a dead webhook costs one request (and at
 * most WEBHOOK_TIMEOUT_MS) per back-off step, not one per notice, and every
 * notice is settled within about two minutes. Notices for other webhooks go
 * on meanwhile.
 *
 * LEADOPS_NOTIFY_BACKOFF_MS (an environment variable for tests, not a config
 * key) replaces the back-off base of 1000 ms; the ceiling stays 60 times the
 * base.
 *
 * The webhooks are copied from the config at start. A reload does not reach
 * them: a changed, added or removed webhook takes a restart of routing. A
 * notice for a queue that has no webhook here (another instance's newer
 * config) is acknowledged and skipped with a warning.
 *
 * Logs name the queue, the stream entry id and the webhook's host, never the
 * URL's path (a Slack webhook's path is its secret) and never the text, which
 * can carry a rep's free-text rejection reason. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "routing_internal.h"
#include "routing_webhook.h"
#include "service.h"

#define NOTIFY_GROUP           "notify"
#define NOTIFY_BLOCK_MS        1000  /* XREADGROUP BLOCK: how soon a stop is seen */
#define NOTIFY_TRIES           8     /* posts of one notice before it is dropped */
#define NOTIFY_BACKOFF_MS      1000  /* the first retry's wait; doubles after each */
#define NOTIFY_BACKOFF_CEILING 60    /* the longest wait, in back-off bases */
#define NOTIFY_CLAIM_IDLE_MS   30000 /* pending this long: its holder is gone */
#define NOTIFY_CLAIM_EVERY_MS  10000 /* how often XAUTOCLAIM runs */
#define NOTIFY_TOUCH_MS        10000 /* how often held notices are re-claimed */
#define NOTIFY_HELD_MAX        1000  /* notices in hand; beyond, reading pauses */
#define NOTIFY_READ_COUNT      100   /* entries per XREADGROUP / XAUTOCLAIM */
#define NOTIFY_DOWN_RETRY_MS   1000  /* wait after a Redis failure */
#define NOTIFY_ENTRY_ID_MAX    48    /* "<ms>-<seq>": two 64-bit numbers */
#define NOTIFY_CONSUMER_MAX    320

/* A queue's webhook. */
typedef struct {
    char *queue;           /* owned */
    char *url;             /* owned: a secret, never logged */
    char *host;            /* owned: what logs show */
    int64_t failing_until; /* monotonic ms: failing, so no request before this; 0: fine */
} notify_hook_t;

/* A notice in hand: read from the stream, not yet acknowledged. */
typedef struct {
    char id[NOTIFY_ENTRY_ID_MAX]; /* stream entry id */
    size_t hook;                  /* index in hooks */
    char *body;                   /* owned: the JSON posted */
    int tries;                    /* failed tries so far */
    int64_t due;                  /* monotonic ms of the next try */
} notify_notice_t;

struct routing_notify {
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock; /* with WAKE: interrupts the thread's waits */
    pthread_cond_t wake;
    /* Everything below belongs to the thread once it runs. */
    store_t *store;     /* owned */
    webhook_t *webhook; /* owned: the HTTP client */
    char stream[KEY_MAX];
    char consumer[NOTIFY_CONSUMER_MAX]; /* hostname:pid */
    notify_hook_t *hooks;               /* owned */
    size_t hook_count;
    notify_notice_t held[NOTIFY_HELD_MAX]; /* oldest first */
    size_t held_count;
    int block_ms;       /* XREADGROUP BLOCK, below the Redis read timeout */
    int64_t backoff_ms; /* the first retry's wait */
    bool group_ready;
    bool redis_down_logged;
    int64_t next_claim, next_touch; /* monotonic ms */
    uint64_t delivered, dropped, refused, skipped;
};

/* ---- set up ------------------------------------------------------------ */

static void s_hooks_free(routing_notify_t *self)
{
    for (size_t i = 0; i < self->hook_count; i++) {
        free(self->hooks[i].queue);
        free(self->hooks[i].url);
        free(self->hooks[i].host);
    }
    free(self->hooks);
    self->hooks = NULL;
    self->hook_count = 0;
}

/* The host of URL (owned), or NULL when curl cannot parse it. */
static char *s_url_host(const char *url)
{
    CURLU *parsed = curl_url();
    char *host = NULL, *copy = NULL;
    if (parsed && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        copy = strdup(host);
    curl_free(host);
    curl_url_cleanup(parsed);
    return copy;
}

static int s_hooks_copy(routing_notify_t *self, const config_t *cfg, err_t *err)
{
    self->hooks = calloc(cfg->queue_count ? cfg->queue_count : 1, sizeof *self->hooks);
    if (!self->hooks)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cfg->queue_count; i++) {
        const queue_config_t *q = &cfg->queues[i];
        if (!q->webhook || !q->webhook[0])
            continue;
        notify_hook_t *hook = &self->hooks[self->hook_count++];
        hook->queue = strdup(q->name);
        hook->url = strdup(q->webhook);
        if (!hook->queue || !hook->url)
            return err_set(err, ERR_NOMEM, "out of memory");
        /* The URL itself stays out of the message: its path is a secret. */
        if (!(hook->host = s_url_host(q->webhook)))
            return err_set(err, ERR_CONFIG, "routing.queues: %s: webhook is not a valid URL",
                           q->name);
    }
    return 0;
}

static int64_t s_backoff_base(void)
{
    const char *text = getenv("LEADOPS_NOTIFY_BACKOFF_MS");
    char *end = NULL;
    long long ms = text ? strtoll(text, &end, 10) : 0;
    if (!text || end == text || *end || ms < 1 || ms > 3600000)
        return NOTIFY_BACKOFF_MS;
    return ms;
}

static void s_consumer_name(char *out, size_t size)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(out, size, "%s:%ld", host, (long)getpid());
}

/* ---- waiting ----------------------------------------------------------- */

static bool s_stopping(routing_notify_t *self)
{
    return atomic_load(&self->stop);
}

/* Sleeps MS, or less when stop is asked. */
static void s_wait(routing_notify_t *self, int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&self->lock);
    while (!s_stopping(self) &&
           pthread_cond_timedwait(&self->wake, &self->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&self->lock);
}

/* ---- Redis ------------------------------------------------------------- */

static bool s_is_error(const store_value_t *reply, const char *prefix)
{
    return reply && reply->type == STORE_ERROR && reply->str &&
           strncmp(reply->str, prefix, strlen(prefix)) == 0;
}

/* Logs a failed Redis call once until Redis answers again. */
static void s_redis_failed(routing_notify_t *self, const char *what, const err_t *err)
{
    if (!self->redis_down_logged)
        log_warn("webhooks: %s: %s; retrying", what, err->msg);
    self->redis_down_logged = true;
}

static void s_redis_answered(routing_notify_t *self)
{
    if (self->redis_down_logged)
        log_info("webhooks: redis answers again");
    self->redis_down_logged = false;
}

/* Runs ARGC words of ARGV; a connection failure is logged once and gives
 * NULL. An error reply is the caller's to read. */
static store_value_t *s_command(routing_notify_t *self, const char *what, int argc,
                                const char **argv)
{
    err_t err = {0};
    store_value_t *reply = store_commandv(self->store, argc, argv, NULL, &err);
    if (!reply)
        s_redis_failed(self, what, &err);
    else
        s_redis_answered(self);
    return reply;
}

/* Creates the group (and the stream) unless it exists. */
static int s_group_create(routing_notify_t *self)
{
    const char *argv[] = {"XGROUP", "CREATE", self->stream, NOTIFY_GROUP, "$", "MKSTREAM"};
    store_value_t *reply = s_command(self, "XGROUP CREATE", 6, argv);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type == STORE_ERROR && !s_is_error(reply, "BUSYGROUP")) {
        log_warn("webhooks: XGROUP CREATE %s: %s", self->stream, reply->str);
        rc = -1;
    }
    store_value_free(&reply);
    if (rc == 0)
        self->group_ready = true;
    return rc;
}

/* Acknowledges ID. A failure leaves it pending: after NOTIFY_CLAIM_IDLE_MS
 * some instance sends it again (at least once, not exactly once). */
static void s_ack(routing_notify_t *self, const char *id)
{
    const char *argv[] = {"XACK", self->stream, NOTIFY_GROUP, id};
    store_value_t *reply = s_command(self, "XACK", 4, argv);
    store_value_free(&reply);
}

/* ---- notices ----------------------------------------------------------- */

static const char *s_field(const store_value_t *fields, const char *name)
{
    for (size_t i = 0; fields && i + 1 < fields->count; i += 2)
        if (strcmp(store_value_str(fields->elements[i], ""), name) == 0)
            return store_value_str(fields->elements[i + 1], NULL);
    return NULL;
}

static ssize_t s_hook_of(const routing_notify_t *self, const char *queue)
{
    for (size_t i = 0; i < self->hook_count; i++)
        if (strcmp(self->hooks[i].queue, queue) == 0)
            return (ssize_t)i;
    return -1;
}

static bool s_is_held(const routing_notify_t *self, const char *id)
{
    for (size_t i = 0; i < self->held_count; i++)
        if (strcmp(self->held[i].id, id) == 0)
            return true;
    return false;
}

/* Takes one stream entry [id, [field, value, ...]] in hand, due now. An
 * entry that cannot be sent (trimmed away, malformed, no webhook here) is
 * acknowledged and skipped. */
static void s_take(routing_notify_t *self, const store_value_t *entry)
{
    const char *id = store_value_str(store_value_at(entry, 0), NULL);
    if (!id || strlen(id) >= NOTIFY_ENTRY_ID_MAX || s_is_held(self, id))
        return;
    const store_value_t *fields = store_value_at(entry, 1);
    const char *queue = s_field(fields, "queue"), *kind = s_field(fields, "kind");
    const char *lead = s_field(fields, "lead"), *rep = s_field(fields, "rep");
    const char *text = s_field(fields, "text"), *at = s_field(fields, "at");
    if (!queue || !kind || !lead || !text) {
        log_warn("webhooks: notice %s is incomplete (trimmed from the stream?): skipped", id);
        self->skipped++;
        s_ack(self, id);
        return;
    }
    ssize_t hook = s_hook_of(self, queue);
    if (hook < 0) {
        log_warn("webhooks: notice %s: queue %s has no webhook in this instance's config "
                 "(a webhook added since start needs a restart): skipped",
                 id, queue);
        self->skipped++;
        s_ack(self, id);
        return;
    }
    char *body =
        webhook_body(queue, kind, lead, rep ? rep : "", text, at ? strtoll(at, NULL, 10) : 0);
    if (!body)
        return; /* out of memory: stays pending, claimed again later */
    notify_notice_t *notice = &self->held[self->held_count++];
    snprintf(notice->id, sizeof notice->id, "%s", id);
    notice->hook = (size_t)hook;
    notice->body = body;
    notice->tries = 0;
    notice->due = clock_mono_ms();
}

static void s_take_all(routing_notify_t *self, const store_value_t *entries)
{
    for (size_t i = 0; entries && i < entries->count && self->held_count < NOTIFY_HELD_MAX; i++)
        s_take(self, entries->elements[i]);
}

/* Settles held notice I: acknowledged and let go. */
static void s_release(routing_notify_t *self, size_t i)
{
    s_ack(self, self->held[i].id);
    free(self->held[i].body);
    memmove(&self->held[i], &self->held[i + 1], (self->held_count - i - 1) * sizeof self->held[0]);
    self->held_count--;
}

/* Reads new entries, waiting at most BLOCK_MS for one. */
static void s_read(routing_notify_t *self, int64_t block_ms)
{
    char count[24], block[24];
    snprintf(count, sizeof count, "%zu",
             NOTIFY_HELD_MAX - self->held_count < NOTIFY_READ_COUNT
                 ? NOTIFY_HELD_MAX - self->held_count
                 : (size_t)NOTIFY_READ_COUNT);
    snprintf(block, sizeof block, "%lld", (long long)(block_ms < 1 ? 1 : block_ms));
    const char *argv[] = {"XREADGROUP", "GROUP", NOTIFY_GROUP, self->consumer, "COUNT", count,
                          "BLOCK",      block,   "STREAMS",    self->stream,   ">"};
    store_value_t *reply = s_command(self, "XREADGROUP", 11, argv);
    if (!reply) {
        s_wait(self, NOTIFY_DOWN_RETRY_MS);
        return;
    }
    if (reply->type == STORE_ERROR) {
        /* NOGROUP: Redis restarted empty, or someone deleted the stream. */
        if (s_is_error(reply, "NOGROUP"))
            self->group_ready = false;
        else
            log_warn("webhooks: XREADGROUP %s: %s", self->stream, reply->str);
        s_wait(self, NOTIFY_DOWN_RETRY_MS);
    } else {
        /* [[stream, [entry, ...]]], or nil when BLOCK ran out. */
        s_take_all(self, store_value_at(store_value_at(reply, 0), 1));
    }
    store_value_free(&reply);
}

/* Takes over the notices that another consumer left pending for
 * NOTIFY_CLAIM_IDLE_MS: its instance died or stopped mid-post. */
static void s_claim(routing_notify_t *self)
{
    char cursor[NOTIFY_ENTRY_ID_MAX] = "0-0", idle[16], count[16];
    snprintf(idle, sizeof idle, "%d", NOTIFY_CLAIM_IDLE_MS);
    snprintf(count, sizeof count, "%d", NOTIFY_READ_COUNT);
    do {
        if (self->held_count >= NOTIFY_HELD_MAX || s_stopping(self))
            return;
        const char *argv[] = {"XAUTOCLAIM", self->stream, NOTIFY_GROUP, self->consumer,
                              idle,         cursor,       "COUNT",      count};
        store_value_t *reply = s_command(self, "XAUTOCLAIM", 8, argv);
        if (!reply)
            return;
        if (reply->type == STORE_ERROR) {
            if (s_is_error(reply, "NOGROUP"))
                self->group_ready = false;
            else
                log_warn("webhooks: XAUTOCLAIM %s: %s", self->stream, reply->str);
            store_value_free(&reply);
            return;
        }
        const store_value_t *entries = store_value_at(reply, 1);
        if (entries && entries->count)
            log_info("webhooks: took over %zu notices left by a stopped instance", entries->count);
        /* Redis 7 drops trimmed entries from the pending list itself and
         * lists them third; Redis 6.2 hands them over with nil fields, which
         * s_take acknowledges. */
        s_take_all(self, entries);
        snprintf(cursor, sizeof cursor, "%s", store_value_str(store_value_at(reply, 0), "0-0"));
        store_value_free(&reply);
    } while (strcmp(cursor, "0-0") != 0);
}

/* Claims the notices in hand again, which resets their idle time, so that
 * no other instance takes one over while it waits for a retry. */
static void s_touch(routing_notify_t *self)
{
    if (!self->held_count)
        return;
    const char *argv[6 + NOTIFY_HELD_MAX + 1];
    int argc = 0;
    argv[argc++] = "XCLAIM";
    argv[argc++] = self->stream;
    argv[argc++] = NOTIFY_GROUP;
    argv[argc++] = self->consumer;
    argv[argc++] = "0";
    for (size_t i = 0; i < self->held_count; i++)
        argv[argc++] = self->held[i].id;
    argv[argc++] = "JUSTID";
    store_value_t *reply = s_command(self, "XCLAIM", argc, argv);
    store_value_free(&reply);
}

/* ---- HTTP -------------------------------------------------------------- */

/* Posts NOTICE; *RETRY_AFTER_MS gets a 429's or 503's Retry-After. Logs
 * the outcome by queue, entry id and host (never the URL or the text). */
static notify_outcome_t s_post(routing_notify_t *self, const notify_notice_t *notice,
                               int64_t *retry_after_ms)
{
    const notify_hook_t *hook = &self->hooks[notice->hook];
    long status = 0;
    const char *failure = NULL;
    notify_outcome_t outcome =
        webhook_post(self->webhook, hook->url, notice->body, &status, &failure, retry_after_ms);
    if (outcome == NOTIFY_RETRY && failure)
        log_info("webhooks: notice %s of queue %s to %s: %s (try %d of %d)", notice->id,
                 hook->queue, hook->host, failure, notice->tries + 1, NOTIFY_TRIES);
    else if (outcome == NOTIFY_RETRY)
        log_info("webhooks: notice %s of queue %s to %s: HTTP %ld (try %d of %d)", notice->id,
                 hook->queue, hook->host, status, notice->tries + 1, NOTIFY_TRIES);
    else if (outcome == NOTIFY_REFUSED) {
        self->refused++;
        log_warn("webhooks: notice %s of queue %s to %s: HTTP %ld: dropped without retry "
                 "(%" PRIu64 " so far)",
                 notice->id, hook->queue, hook->host, status, self->refused);
    }
    return outcome;
}

/* ---- the loop ---------------------------------------------------------- */

static int64_t s_backoff(const routing_notify_t *self, int tries, int64_t retry_after_ms)
{
    int64_t ceiling = self->backoff_ms * NOTIFY_BACKOFF_CEILING, wait = self->backoff_ms;
    for (int i = 1; i < tries && wait < ceiling; i++)
        wait *= 2;
    if (retry_after_ms > wait)
        wait = retry_after_ms;
    return wait < ceiling ? wait : ceiling;
}

/* Notice I failed a try: scheduled again, or dropped after the last. Only
 * a real request (POSTED) marks its webhook failing: a try counted while
 * the webhook was already failing must not push the next probe away. */
static void s_failed(routing_notify_t *self, size_t i, bool posted, int64_t retry_after_ms,
                     int64_t now)
{
    notify_notice_t *notice = &self->held[i];
    notify_hook_t *hook = &self->hooks[notice->hook];
    if (++notice->tries >= NOTIFY_TRIES) {
        self->dropped++;
        log_warn("webhooks: notice %s of queue %s to %s: dropped after %d failed tries "
                 "(%" PRIu64 " so far)",
                 notice->id, hook->queue, hook->host, NOTIFY_TRIES, self->dropped);
        s_release(self, i);
        return;
    }
    notice->due = now + s_backoff(self, notice->tries, retry_after_ms);
    if (posted && hook->failing_until < notice->due)
        hook->failing_until = notice->due;
}

/* Sends the notices that are due. Returns when all are sent or stop is
 * asked; re-claims held notices on the way if that takes long. */
static void s_send_due(routing_notify_t *self)
{
    size_t i = 0;
    while (i < self->held_count && !s_stopping(self)) {
        int64_t now = clock_mono_ms();
        if (now >= self->next_touch) {
            s_touch(self);
            self->next_touch = now + NOTIFY_TOUCH_MS;
        }
        notify_notice_t *notice = &self->held[i];
        notify_hook_t *hook = &self->hooks[notice->hook];
        if (notice->due > now) {
            i++;
            continue;
        }
        size_t held_before = self->held_count;
        if (hook->failing_until > now) {
            /* Its webhook failed the last request: this counts as a try. */
            s_failed(self, i, false, 0, now);
        } else {
            int64_t retry_after_ms = 0;
            switch (s_post(self, notice, &retry_after_ms)) {
            case NOTIFY_DELIVERED:
                self->delivered++;
                hook->failing_until = 0;
                s_release(self, i);
                break;
            case NOTIFY_REFUSED:
                s_release(self, i);
                break;
            case NOTIFY_RETRY:
                s_failed(self, i, true, retry_after_ms, clock_mono_ms());
                break;
            case NOTIFY_ABORTED:
                return;
            }
        }
        /* A notice let go moved the next one to I; one rescheduled stays. */
        if (self->held_count == held_before)
            i++;
    }
}

/* Milliseconds to the next due notice, at most LIMIT. */
static int64_t s_time_to_due(const routing_notify_t *self, int64_t limit)
{
    int64_t now = clock_mono_ms(), wait = limit;
    for (size_t i = 0; i < self->held_count; i++)
        if (self->held[i].due - now < wait)
            wait = self->held[i].due - now;
    return wait < 0 ? 0 : wait;
}

static void *s_run(void *arg)
{
    routing_notify_t *self = arg;
    while (!s_stopping(self)) {
        if (!self->group_ready && s_group_create(self) < 0) {
            s_wait(self, NOTIFY_DOWN_RETRY_MS);
            continue;
        }
        int64_t now = clock_mono_ms();
        if (now >= self->next_claim) {
            s_claim(self);
            self->next_claim = now + NOTIFY_CLAIM_EVERY_MS;
        }
        s_send_due(self);
        if (s_stopping(self))
            break;
        int64_t wait = s_time_to_due(self, self->block_ms);
        if (self->held_count < NOTIFY_HELD_MAX)
            s_read(self, wait);
        else
            s_wait(self, wait);
    }
    /* Nothing in hand: this consumer's name dies with the process, so it
     * leaves the group (everything it read was sent or acknowledged). */
    if (!self->held_count && store_is_connected(self->store)) {
        const char *argv[] = {"XGROUP", "DELCONSUMER", self->stream, NOTIFY_GROUP, self->consumer};
        store_value_t *reply = s_command(self, "XGROUP DELCONSUMER", 5, argv);
        store_value_free(&reply);
    }
    return NULL;
}

/* ---- start and stop ---------------------------------------------------- */

static void s_free(routing_notify_t *self)
{
    for (size_t i = 0; i < self->held_count; i++)
        free(self->held[i].body);
    s_hooks_free(self);
    webhook_destroy(&self->webhook);
    store_destroy(&self->store);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    curl_global_cleanup();
}

routing_notify_t *routing_notify_start(const config_t *cfg, err_t *err)
{
    err_clear(err);
    bool any = false;
    for (size_t i = 0; i < cfg->queue_count && !any; i++)
        any = cfg->queues[i].webhook && cfg->queues[i].webhook[0];
    if (!any)
        return NULL;

    /* Called before the thread exists: curl_global_init is not thread-safe
     * in every libcurl. Reference-counted with curl_global_cleanup. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        err_set(err, ERR_IO, "webhooks: libcurl initialisation failed");
        return NULL;
    }
    routing_notify_t *self = calloc(1, sizeof *self);
    if (!self) {
        curl_global_cleanup();
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&self->stop, false);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);

    keys_format(self->stream, sizeof self->stream, cfg->redis_prefix, "notify");
    s_consumer_name(self->consumer, sizeof self->consumer);
    self->backoff_ms = s_backoff_base();
    /* BLOCK must end before the Redis read timeout, or a quiet stream would
     * look like a dead connection. */
    self->block_ms =
        cfg->redis_timeout_ms > 2 * NOTIFY_BLOCK_MS ? NOTIFY_BLOCK_MS : cfg->redis_timeout_ms / 2;
    if (self->block_ms < 1)
        self->block_ms = 1;
    /* The store is made here, used by the thread alone once it runs. */
    if (s_hooks_copy(self, cfg, err) < 0 || !(self->webhook = webhook_new(&self->stop, err)) ||
        !(self->store = service_store_new(cfg, false, err))) {
        s_free(self);
        return NULL;
    }
    /* The group is made before routing runs when Redis is up, so that the
     * first notices ever written are not behind its "$"; otherwise the
     * thread makes it once Redis answers. */
    s_group_create(self);
    int rc = pthread_create(&self->thread, NULL, s_run, self);
    if (rc != 0) {
        err_set(err, ERR_IO, "webhooks: cannot start a thread: %s", strerror(rc));
        s_free(self);
        return NULL;
    }
    log_info("webhooks: %zu queue(s) notified, as consumer %s of %s", self->hook_count,
             self->consumer, self->stream);
    return self;
}

void routing_notify_stop(routing_notify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    routing_notify_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    atomic_store(&self->stop, true);
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    log_info("webhooks: %" PRIu64 " delivered, %" PRIu64 " dropped after retries, %" PRIu64
             " refused, %" PRIu64 " skipped; %zu left pending for another instance",
             self->delivered, self->dropped, self->refused, self->skipped, self->held_count);
    s_free(self);
    *self_p = NULL;
}
