#include "producer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "envelope.h"
#include "zutil.h"

/* Give up when ingest has not answered anything for this long. */
#define PRODUCER_GIVE_UP_MS 60000

typedef struct {
    bool used;
    char event_id[EVENT_ID_MAX];
    uint8_t *bytes; /* owned */
    size_t size;
    int64_t resend_at_ms; /* when to send again if no final ack came */
} s_slot_t;

struct producer {
    void *sock; /* owned */
    producer_ack_fn on_ack;
    void *arg;
    s_slot_t slots[PRODUCER_WINDOW];
    size_t outstanding;
    producer_stats_t stats;
    int64_t last_ack_ms;
};

producer_t *producer_new(void *zmq_ctx, const char *endpoint, const config_t *cfg,
                         producer_ack_fn on_ack, void *arg, err_t *err)
{
    producer_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    zutil_security_t security = {0};
    if (!cfg || auth_security_from_config(cfg, &security, err) == 0)
        self->sock = zutil_socket_secure(zmq_ctx, ZMQ_DEALER, endpoint, false, PRODUCER_WINDOW * 2,
                                         &security, err);
    if (!self->sock) {
        free(self);
        return NULL;
    }
    self->on_ack = on_ack;
    self->arg = arg;
    self->last_ack_ms = clock_mono_ms();
    return self;
}

void producer_destroy(producer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    producer_t *self = *self_p;
    for (size_t i = 0; i < PRODUCER_WINDOW; i++)
        free(self->slots[i].bytes);
    zutil_close(&self->sock);
    free(self);
    *self_p = NULL;
}

static void s_transmit(producer_t *self, s_slot_t *slot)
{
    /* DEALER to ROUTER: an empty delimiter first, as a REQ socket would. */
    zmq_send(self->sock, "", 0, ZMQ_SNDMORE);
    zmq_send(self->sock, slot->bytes, slot->size, 0);
    slot->resend_at_ms = clock_mono_ms() + PRODUCER_TIMEOUT_MS;
}

static s_slot_t *s_find(producer_t *self, const char *event_id)
{
    for (size_t i = 0; i < PRODUCER_WINDOW; i++)
        if (self->slots[i].used && strcmp(self->slots[i].event_id, event_id) == 0)
            return &self->slots[i];
    return NULL;
}

static void s_release(producer_t *self, s_slot_t *slot)
{
    free(slot->bytes);
    memset(slot, 0, sizeof *slot);
    self->outstanding--;
}

static void s_handle_ack(producer_t *self, const void *data, size_t size)
{
    Leadops__Envelope *env = envelope_decode(data, size, NULL);
    Leadops__Ack *ack = env ? envelope_ack(env, NULL) : NULL;
    if (ack) {
        s_slot_t *slot = ack->event_id ? s_find(self, ack->event_id) : NULL;
        self->last_ack_ms = clock_mono_ms();
        if (slot) {
            switch (ack->status) {
            case LEADOPS__ACK__STATUS__BUSY:
                self->stats.busy_retries++;
                slot->resend_at_ms =
                    clock_mono_ms() + (ack->retry_after_ms ? ack->retry_after_ms : 1000);
                break;
            default:
                if (ack->status == LEADOPS__ACK__STATUS__ACCEPTED)
                    self->stats.accepted++;
                else if (ack->status == LEADOPS__ACK__STATUS__DUPLICATE)
                    self->stats.duplicates++;
                else
                    self->stats.rejected++;
                if (self->on_ack)
                    self->on_ack(self->arg, ack);
                s_release(self, slot);
            }
        }
        leadops__ack__free_unpacked(ack, NULL);
    }
    if (env)
        leadops__envelope__free_unpacked(env, NULL);
}

void producer_poll(producer_t *self, int timeout_ms)
{
    zmq_pollitem_t item = {.socket = self->sock, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, timeout_ms) > 0) {
        zutil_frames_t frames;
        while (zutil_recv_frames(self->sock, &frames, 1 << 20, ZMQ_DONTWAIT) == 0) {
            if (frames.count >= 1 && frames.data[frames.count - 1])
                s_handle_ack(self, frames.data[frames.count - 1], frames.size[frames.count - 1]);
            zutil_frames_clear(&frames);
        }
    }
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < PRODUCER_WINDOW; i++) {
        s_slot_t *slot = &self->slots[i];
        if (slot->used && now >= slot->resend_at_ms) {
            self->stats.resends++;
            s_transmit(self, slot);
        }
    }
}

int producer_send(producer_t *self, const char *event_id, const void *bytes, size_t size,
                  err_t *err)
{
    while (self->outstanding >= PRODUCER_WINDOW) {
        producer_poll(self, 100);
        if (clock_mono_ms() - self->last_ack_ms > PRODUCER_GIVE_UP_MS)
            return err_set(err, ERR_IO,
                           "no answer from ingest for %d s; is leadops-ingest running?",
                           PRODUCER_GIVE_UP_MS / 1000);
    }
    producer_poll(self, 0);
    s_slot_t *slot = NULL;
    for (size_t i = 0; i < PRODUCER_WINDOW && !slot; i++)
        if (!self->slots[i].used)
            slot = &self->slots[i];
    slot->used = true;
    snprintf(slot->event_id, sizeof slot->event_id, "%s", event_id);
    slot->bytes = malloc(size);
    if (!slot->bytes)
        abort();
    memcpy(slot->bytes, bytes, size);
    slot->size = size;
    self->outstanding++;
    self->stats.sent++;
    s_transmit(self, slot);
    return 0;
}

int producer_flush(producer_t *self, int timeout_ms, err_t *err)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (self->outstanding && clock_mono_ms() < deadline)
        producer_poll(self, 50);
    if (self->outstanding)
        return err_set(err, ERR_IO, "%zu events not acknowledged by ingest", self->outstanding);
    return 0;
}

size_t producer_outstanding(const producer_t *self)
{
    return self->outstanding;
}

const producer_stats_t *producer_stats(const producer_t *self)
{
    return &self->stats;
}
