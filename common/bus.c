#include "bus.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"

struct bus {
    void *pub;                      /* borrowed; NULL: no bus */
    int delay_ms;                   /* the longest an event is held; 0: none */
    char *bytes;                    /* owned: the held envelopes, end to end */
    size_t used;                    /* bytes of it in use */
    size_t sizes[BUS_BURST_EVENTS]; /* each held envelope's size, in order */
    size_t count;                   /* events held */
    int64_t first_ms;               /* when the oldest held event came (clock_mono_ms) */
};

bus_t *bus_new(void *pub, int delay_ms, err_t *err)
{
    bus_t *self = calloc(1, sizeof *self);
    if (self && delay_ms > 0)
        self->bytes = malloc(BUS_BURST_BYTES);
    if (!self || (delay_ms > 0 && !self->bytes)) {
        free(self);
        err_set(err, ERR_NOMEM, "out of memory for the event bus");
        return NULL;
    }
    self->pub = pub;
    self->delay_ms = delay_ms > 0 ? delay_ms : 0;
    return self;
}

void bus_destroy(bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bus_t *self = *self_p;
    bus_flush(self);
    free(self->bytes);
    free(self);
    *self_p = NULL;
}

static void s_send(bus_t *self, const void *bytes, size_t size)
{
    /* PUB never blocks; DONTWAIT only makes that explicit. */
    if (self->pub)
        zmq_send(self->pub, bytes, size, ZMQ_DONTWAIT);
}

void bus_flush(bus_t *self)
{
    /* Sent back to back, the burst finds the I/O thread still awake after
     * the first: one wake-up and one write to the subscriber for all. */
    size_t at = 0;
    for (size_t i = 0; i < self->count; i++) {
        s_send(self, self->bytes + at, self->sizes[i]);
        at += self->sizes[i];
    }
    self->count = 0;
    self->used = 0;
}

void bus_publish(bus_t *self, const void *bytes, size_t size)
{
    if (self->delay_ms == 0 || size > BUS_BURST_BYTES) {
        bus_flush(self); /* what was held goes first: the order stays */
        s_send(self, bytes, size);
        return;
    }
    if (self->count == BUS_BURST_EVENTS || self->used + size > BUS_BURST_BYTES)
        bus_flush(self);
    if (self->count == 0)
        self->first_ms = clock_mono_ms();
    memcpy(self->bytes + self->used, bytes, size);
    self->used += size;
    self->sizes[self->count++] = size;
}

void bus_tick(bus_t *self, int64_t now_ms)
{
    if (self->count > 0 && now_ms - self->first_ms >= self->delay_ms)
        bus_flush(self);
}

long bus_timeout_ms(const bus_t *self, int64_t now_ms, long timeout_ms)
{
    if (self->count == 0)
        return timeout_ms;
    int64_t left = self->first_ms + self->delay_ms - now_ms;
    if (left < 0)
        left = 0;
    return (timeout_ms < 0 || left < timeout_ms) ? (long)left : timeout_ms;
}

size_t bus_pending(const bus_t *self)
{
    return self->count;
}
