/* simulate_events.c — see simulate_events.h. */
#include "simulate_events.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

struct sim_events {
    sim_event_t *heap; /* owned; heap[0] is the next */
    size_t count, room;
    uint32_t seq;
};

sim_events_t *sim_events_new(void)
{
    return calloc(1, sizeof(sim_events_t));
}

void sim_events_destroy(sim_events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->heap);
    free(*self_p);
    *self_p = NULL;
}

static bool s_before(const sim_event_t *a, const sim_event_t *b)
{
    if (a->t != b->t)
        return a->t < b->t;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    return a->seq < b->seq;
}

int sim_events_push(sim_events_t *self, int64_t t, sim_kind_t kind, uint32_t lead, int32_t rep)
{
    if (self->count == self->room) {
        size_t room = self->room ? 2 * self->room : 4096;
        sim_event_t *grown = realloc(self->heap, room * sizeof *grown);
        if (!grown)
            return -1;
        self->heap = grown, self->room = room;
    }
    sim_event_t ev = {.t = t, .seq = self->seq++, .kind = (uint8_t)kind, .lead = lead, .rep = rep};
    size_t i = self->count++;
    while (i > 0 && s_before(&ev, &self->heap[(i - 1) / 2])) {
        self->heap[i] = self->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    self->heap[i] = ev;
    return 0;
}

const sim_event_t *sim_events_peek(const sim_events_t *self)
{
    return self->count ? &self->heap[0] : NULL;
}

sim_event_t sim_events_pop(sim_events_t *self)
{
    assert(self->count > 0);
    sim_event_t top = self->heap[0], last = self->heap[--self->count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->count)
            break;
        if (child + 1 < self->count && s_before(&self->heap[child + 1], &self->heap[child]))
            child++;
        if (!s_before(&self->heap[child], &last))
            break;
        self->heap[i] = self->heap[child];
        i = child;
    }
    if (self->count)
        self->heap[i] = last;
    return top;
}

size_t sim_events_count(const sim_events_t *self)
{
    return self->count;
}
