#include "intake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hop.h"
#include "keys.h"

extern const char ingest_script_accept[];

#define DEADLETTER_MAX_LEN    "10000" /* approximate cap of the dead-letter stream */
#define JOURNAL_TRIM_EVERY_MS 5000

typedef struct {
    intake_result_t result;
    uint8_t *envelope; /* owned: the canonical envelope of a valid input */
    size_t envelope_len;
    size_t size;          /* bytes received, for dead letters */
    const char *channel;  /* borrowed static string */
    bool valid;           /* decoded and validated: goes to the accept script */
    char email[256];      /* a lead's identities, for the accept script */
    char source[300];     /* "system:source id" */
    char lead_source[96]; /* the lead's source (web_form, ...), for intake by source */
} s_item_t;

struct intake {
    const config_t *cfg; /* borrowed */
    store_t *store;      /* borrowed */
    void *scoring_push;  /* borrowed */
    bus_t *bus;          /* borrowed, may be NULL */
    hop_t *hop;          /* owned */
    int accept_script;
    store_batch_t *batch; /* owned */
    s_item_t *items;      /* owned */
    size_t count, capacity;
    intake_stats_t stats;
    int64_t next_trim_ms; /* when to trim the journal by age next */
    char key_journal[KEY_MAX], key_stats[KEY_MAX], key_deadletter[KEY_MAX], key_rejects[KEY_MAX];
};

intake_t *intake_new(const config_t *cfg, store_t *store, void *scoring_push, bus_t *bus,
                     err_t *err)
{
    intake_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->store = store;
    self->scoring_push = scoring_push;
    self->bus = bus;
    self->batch = store_batch_new();
    self->hop = hop_new(store, cfg->redis_prefix, "scoring", true, cfg->ingest_redelivery_ms, err);
    self->accept_script = store_script_register(store, "accept", ingest_script_accept, err);
    if (!self->hop || self->accept_script < 0) {
        intake_destroy(&self);
        return NULL;
    }
    const char *p = cfg->redis_prefix;
    keys_format(self->key_journal, KEY_MAX, p, "journal");
    keys_format(self->key_stats, KEY_MAX, p, "stats");
    keys_format(self->key_deadletter, KEY_MAX, p, "deadletter");
    keys_format(self->key_rejects, KEY_MAX, p, "rejects");
    return self;
}

void intake_destroy(intake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    intake_t *self = *self_p;
    intake_reset(self);
    free(self->items);
    store_batch_destroy(&self->batch);
    hop_destroy(&self->hop);
    free(self);
    *self_p = NULL;
}

static s_item_t *s_new_item(intake_t *self, const char *channel, size_t size)
{
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 64;
        self->items = realloc(self->items, self->capacity * sizeof *self->items);
        if (!self->items)
            abort();
    }
    s_item_t *item = &self->items[self->count++];
    memset(item, 0, sizeof *item);
    item->channel = channel;
    item->size = size;
    return item;
}

static void s_reject(s_item_t *item, const char *reason)
{
    item->valid = false;
    item->result.status = LEADOPS__ACK__STATUS__REJECTED;
    snprintf(item->result.reason, sizeof item->result.reason, "%s", reason);
}

size_t intake_add_reject(intake_t *self, const char *reason, const char *channel, size_t size)
{
    s_item_t *item = s_new_item(self, channel, size);
    s_reject(item, reason);
    return self->count - 1;
}

/* Packs the canonical envelope for a valid input. */
static void s_accept_input(intake_t *self, s_item_t *item, Leadops__EventType type,
                           const ProtobufCMessage *msg, const char *event_id, const char *producer,
                           int64_t occurred_at_ms)
{
    int64_t now = clock_now_ms();
    /* A clock far ahead at the source would make decay and SLAs nonsense. */
    int64_t ahead_ms = occurred_at_ms - now;
    if (ahead_ms > (int64_t)self->cfg->ingest_max_future_s * 1000) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "event time is %lld s in the future (at most ingest.max_future_s = %d)",
                 (long long)(ahead_ms / 1000), self->cfg->ingest_max_future_s);
        s_reject(item, reason);
        return;
    }
    if (event_id && *event_id && !envelope_id_is_valid(event_id)) {
        s_reject(item, "event_id must be 1..63 printable characters without spaces");
        return;
    }
    if (producer && strcmp(producer, ENVELOPE_PRODUCER_IMPORT) == 0)
        item->channel = "import";
    char new_id[33];
    if (!event_id || !*event_id) {
        envelope_new_id(new_id);
        event_id = new_id;
    }
    snprintf(item->result.event_id, sizeof item->result.event_id, "%s", event_id);
    err_t err = {0};
    item->envelope = envelope_pack(type, event_id, producer, occurred_at_ms ? occurred_at_ms : now,
                                   now, msg, &item->envelope_len, &err);
    if (!item->envelope) {
        s_reject(item, err.msg);
        return;
    }
    item->valid = true;
}

static size_t s_add_lead(intake_t *self, s_item_t *item, Leadops__Lead *lead, const char *event_id,
                         const char *producer, int64_t occurred_at_ms)
{
    snprintf(item->result.kind, sizeof item->result.kind, "lead");
    lead_normalize(lead);
    err_t err = {0};
    if (lead_validate(lead, &err) < 0) {
        s_reject(item, err.msg);
    } else {
        snprintf(item->result.lead_id, sizeof item->result.lead_id, "%s", lead->lead_id);
        snprintf(item->email, sizeof item->email, "%s", lead->email ? lead->email : "");
        if (lead->source_system && *lead->source_system && lead->source_id && *lead->source_id)
            snprintf(item->source, sizeof item->source, "%s:%s", lead->source_system,
                     lead->source_id);
        snprintf(item->lead_source, sizeof item->lead_source, "%s",
                 lead->source ? lead->source : "");
        s_accept_input(self, item, LEADOPS__EVENT_TYPE__EVENT_LEAD, &lead->base, event_id, producer,
                       occurred_at_ms ? occurred_at_ms : lead->created_at_ms);
    }
    leadops__lead__free_unpacked(lead, NULL);
    return (size_t)(item - self->items);
}

static size_t s_add_activity(intake_t *self, s_item_t *item, Leadops__Activity *activity,
                             const char *event_id, const char *producer, int64_t occurred_at_ms)
{
    snprintf(item->result.kind, sizeof item->result.kind, "activity");
    err_t err = {0};
    if (activity_check(activity, self->cfg, &err) < 0) {
        s_reject(item, err.msg);
    } else {
        snprintf(item->result.lead_id, sizeof item->result.lead_id, "%s", activity->lead_id);
        /* An activity's own id names a fact that happens once: without an
         * event id, it is the event id, so that a re-sent activity is a
         * duplicate rather than a second activity. */
        char derived[EVENT_ID_MAX];
        if ((!event_id || !*event_id) && activity->activity_id && *activity->activity_id &&
            (size_t)snprintf(derived, sizeof derived, "activity:%s", activity->activity_id) <
                sizeof derived &&
            envelope_id_is_valid(derived))
            event_id = derived;
        s_accept_input(self, item, LEADOPS__EVENT_TYPE__EVENT_ACTIVITY, &activity->base, event_id,
                       producer, occurred_at_ms ? occurred_at_ms : activity->occurred_at_ms);
    }
    leadops__activity__free_unpacked(activity, NULL);
    return (size_t)(item - self->items);
}

size_t intake_add_lead(intake_t *self, Leadops__Lead **lead_p, const char *event_id,
                       const char *producer, const char *channel)
{
    Leadops__Lead *lead = *lead_p;
    *lead_p = NULL;
    return s_add_lead(self, s_new_item(self, channel, 0), lead, event_id, producer, 0);
}

size_t intake_add_activity(intake_t *self, Leadops__Activity **activity_p, const char *event_id,
                           const char *producer, const char *channel)
{
    Leadops__Activity *activity = *activity_p;
    *activity_p = NULL;
    return s_add_activity(self, s_new_item(self, channel, 0), activity, event_id, producer, 0);
}

size_t intake_add_envelope(intake_t *self, const void *bytes, size_t size, const char *channel)
{
    s_item_t *item = s_new_item(self, channel, size);
    size_t index = self->count - 1;
    err_t err = {0};
    Leadops__Envelope *env = envelope_decode(bytes, size, &err);
    if (!env) {
        s_reject(item, err.msg);
        return index;
    }
    snprintf(item->result.event_id, sizeof item->result.event_id, "%s", env->event_id);
    if (env->type == LEADOPS__EVENT_TYPE__EVENT_LEAD) {
        Leadops__Lead *lead = envelope_lead(env, &err);
        if (lead)
            s_add_lead(self, item, lead, env->event_id, env->producer, env->occurred_at_ms);
        else
            s_reject(item, err.msg);
    } else if (env->type == LEADOPS__EVENT_TYPE__EVENT_ACTIVITY) {
        Leadops__Activity *activity = envelope_activity(env, &err);
        if (activity)
            s_add_activity(self, item, activity, env->event_id, env->producer, env->occurred_at_ms);
        else
            s_reject(item, err.msg);
    } else {
        s_reject(item, "ingest takes lead and activity events only");
    }
    leadops__envelope__free_unpacked(env, NULL);
    return index;
}

static void s_publish(intake_t *self, const void *bytes, size_t size)
{
    /* The bus is best effort: reporting rebuilds from Redis, so a full or
     * absent subscriber must never slow intake down. */
    if (self->bus)
        bus_publish(self->bus, bytes, size);
}

/* The class of a reject reason, for counters, dead letters and the bus:
 * the part before the first ':' with quoted text dropped and digits folded
 * to '#'. The sender gets the full reason; what is stored must neither grow
 * without bound with crafted input nor carry input (a JSON parser's "near
 * '...'" may quote an email). */
static void s_reason_class(const char *reason, char *out, size_t size)
{
    size_t o = 0;
    char quote = 0;
    for (const char *p = reason; *p && *p != ':' && o + 1 < size; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p >= '0' && *p <= '9') {
            if (o == 0 || out[o - 1] != '#')
                out[o++] = '#';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static void s_queue_reject(intake_t *self, const s_item_t *item)
{
    char reason[96];
    s_reason_class(item->result.reason, reason, sizeof reason);
    char size[24];
    snprintf(size, sizeof size, "%zu", item->size);
    const char *dead[] = {"XADD",
                          self->key_deadletter,
                          "MAXLEN",
                          "~",
                          DEADLETTER_MAX_LEN,
                          "*",
                          "reason",
                          reason,
                          "channel",
                          item->channel,
                          "kind",
                          item->result.kind[0] ? item->result.kind : "unknown",
                          "size",
                          size};
    store_batch_command(self->batch, 14, dead, NULL);
    const char *stat[] = {"HINCRBY", self->key_stats, "rejected", "1"};
    store_batch_command(self->batch, 4, stat, NULL);
    const char *by_reason[] = {"HINCRBY", self->key_rejects, reason, "1"};
    store_batch_command(self->batch, 4, by_reason, NULL);

    Leadops__Rejection rejection = LEADOPS__REJECTION__INIT;
    rejection.reason = reason;
    rejection.channel = (char *)item->channel;
    rejection.lead_id = (char *)item->result.lead_id;
    rejection.size = (uint32_t)item->size;
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_REJECTED, NULL, "leadops-ingest", 0,
                                   0, &rejection.base, &len, NULL);
    if (bytes) {
        s_publish(self, bytes, len);
        free(bytes);
    }
}

static void s_queue_accept(intake_t *self, const s_item_t *item)
{
    char eventid_key[KEY_MAX], inflight_msg[KEY_MAX], deadline[24], window[24], maxlen[24],
        limit[24];
    snprintf(eventid_key, sizeof eventid_key, "%s:eventid:%s", self->cfg->redis_prefix,
             item->result.event_id);
    snprintf(inflight_msg, sizeof inflight_msg, "%s", hop_message_key(self->hop));
    char now[24];
    int64_t now_ms = clock_now_ms();
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(deadline, sizeof deadline, "%lld",
             (long long)(now_ms + self->cfg->ingest_redelivery_ms));
    snprintf(window, sizeof window, "%d", self->cfg->ingest_dedup_window_s);
    snprintf(maxlen, sizeof maxlen, "%ld", self->cfg->ingest_journal_max_len);
    snprintf(limit, sizeof limit, "%ld", self->cfg->ingest_inflight_limit);
    const char *argv[] = {eventid_key,
                          self->key_journal,
                          hop_key(self->hop),
                          inflight_msg,
                          self->key_stats,
                          item->result.event_id,
                          item->result.lead_id,
                          item->result.kind,
                          (const char *)item->envelope,
                          deadline,
                          window,
                          maxlen,
                          limit,
                          self->cfg->redis_prefix,
                          item->email,
                          item->source,
                          item->channel,
                          item->lead_source,
                          now};
    size_t lens[19];
    for (int i = 0; i < 19; i++)
        lens[i] = i == 8 ? item->envelope_len : strlen(argv[i]); /* argv[8] is binary */
    store_batch_script(self->batch, self->accept_script, 5, 19, argv, lens);
}

int intake_flush(intake_t *self, err_t *err)
{
    store_batch_reset(self->batch);
    size_t first_reply[self->count ? self->count : 1];
    for (size_t i = 0; i < self->count; i++) {
        first_reply[i] = store_batch_count(self->batch);
        if (self->items[i].valid)
            s_queue_accept(self, &self->items[i]);
        else
            s_queue_reject(self, &self->items[i]);
    }
    if (store_batch_exec(self->store, self->batch, err) < 0) {
        /* Nothing is acknowledged: the producer keeps the event and retries,
         * and a retry of an event that did land is a harmless duplicate. */
        for (size_t i = 0; i < self->count; i++) {
            s_item_t *item = &self->items[i];
            if (item->valid) {
                item->result.status = LEADOPS__ACK__STATUS__BUSY;
                snprintf(item->result.reason, sizeof item->result.reason,
                         "store unavailable, retry later");
                self->stats.busy++;
            }
        }
        return -1;
    }
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = &self->items[i];
        if (!item->valid) {
            self->stats.rejected++;
            continue;
        }
        const store_value_t *reply = store_batch_reply(self->batch, first_reply[i]);
        if (!reply || reply->type != STORE_ARRAY) {
            item->result.status = LEADOPS__ACK__STATUS__BUSY;
            snprintf(item->result.reason, sizeof item->result.reason, "store error: %.200s",
                     reply && reply->type == STORE_ERROR ? reply->str : "unexpected reply");
            self->stats.busy++;
            continue;
        }
        long long outcome = store_value_int(store_value_at(reply, 0), 0);
        if (outcome == -1) {
            /* Backpressure: scoring is behind. The producer keeps the event
             * and retries; nothing was written. */
            item->result.status = LEADOPS__ACK__STATUS__BUSY;
            snprintf(item->result.reason, sizeof item->result.reason,
                     "downstream is behind (%lld events waiting for scoring), retry later",
                     store_value_int(store_value_at(reply, 1), 0));
            self->stats.busy++;
            self->stats.backpressure++;
        } else if (outcome == 1) {
            item->result.status = LEADOPS__ACK__STATUS__ACCEPTED;
            snprintf(item->result.lead_id, sizeof item->result.lead_id, "%s",
                     store_value_str(store_value_at(reply, 2), item->result.lead_id));
            snprintf(item->result.outcome, sizeof item->result.outcome, "%s",
                     store_value_str(store_value_at(reply, 3), ""));
            self->stats.accepted++;
            /* If the queue to scoring is full the message stays in flight and
             * the redelivery timer sends it later: nothing waits here. */
            zmq_send(self->scoring_push, item->envelope, item->envelope_len, ZMQ_DONTWAIT);
            s_publish(self, item->envelope, item->envelope_len);
        } else {
            item->result.status = LEADOPS__ACK__STATUS__DUPLICATE;
            self->stats.duplicates++;
            const char *lead_id = store_value_str(store_value_at(reply, 1), NULL);
            if (lead_id)
                snprintf(item->result.lead_id, sizeof item->result.lead_id, "%s", lead_id);
        }
    }
    return 0;
}

size_t intake_count(const intake_t *self)
{
    return self->count;
}

const intake_result_t *intake_result(const intake_t *self, size_t index)
{
    return index < self->count ? &self->items[index].result : NULL;
}

void intake_reset(intake_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->items[i].envelope);
    self->count = 0;
    store_batch_reset(self->batch);
}

/* Trims journal entries older than ingest.journal_max_age_s (stream ids
 * start with their time in ms), at most every JOURNAL_TRIM_EVERY_MS; the
 * length cap is applied by every XADD. */
static int s_trim_journal(intake_t *self, int64_t now_ms, err_t *err)
{
    if (self->cfg->ingest_journal_max_age_s <= 0 || now_ms < self->next_trim_ms)
        return 0;
    self->next_trim_ms = now_ms + JOURNAL_TRIM_EVERY_MS;
    char min_id[32];
    snprintf(min_id, sizeof min_id, "%lld-0",
             (long long)(now_ms - (int64_t)self->cfg->ingest_journal_max_age_s * 1000));
    store_value_t *reply =
        store_command(self->store, err, "XTRIM %s MINID ~ %s", self->key_journal, min_id);
    if (!reply)
        return -1;
    store_value_free(&reply);
    return 0;
}

static void s_resend(void *arg, const char *member, const void *message, size_t size)
{
    intake_t *self = arg;
    (void)member;
    if (message && zmq_send(self->scoring_push, message, size, ZMQ_DONTWAIT) >= 0)
        self->stats.redelivered++;
}

int intake_redeliver(intake_t *self, int64_t now_ms, err_t *err)
{
    if (s_trim_journal(self, now_ms, err) < 0)
        return -1;
    return hop_claim(self->hop, now_ms, 1000, s_resend, self, err);
}

const intake_stats_t *intake_stats(const intake_t *self)
{
    return &self->stats;
}

size_t intake_max_body(const intake_t *self)
{
    return self->cfg->ingest_max_body_bytes;
}
