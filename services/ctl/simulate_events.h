/* simulate_events.h — the event queue of a simulation: events by simulated
 * time (history ms), and at one instant by kind (the order of sim_kind_t),
 * then in the order they were pushed, so that a run is the same every time.
 * A binary heap; a sim_events_t owns its events. */
#ifndef LEADOPS_SIMULATE_EVENTS_H
#define LEADOPS_SIMULATE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

/* What happens; at one instant, in this order. */
typedef enum {
    SIM_EV_AVAIL,  /* refresh the reps' working windows (every simulated day) */
    SIM_EV_CLOSE,  /* the lead's rep closes it */
    SIM_EV_ACCEPT, /* the rep accepts the lead it was given */
    SIM_EV_SWEEP,  /* SLA and overflow deadlines are due */
    SIM_EV_DRAIN,  /* a rep may take waiting leads again */
    SIM_EV_ARRIVE, /* the lead arrives and is routed */
} sim_kind_t;

typedef struct {
    int64_t t;     /* history ms */
    uint32_t seq;  /* push order */
    uint8_t kind;  /* sim_kind_t */
    uint32_t lead; /* index in the history */
    int32_t rep;   /* index in the config; -1: none */
} sim_event_t;

typedef struct sim_events sim_events_t;

/* An empty queue, or NULL when out of memory. */
sim_events_t *sim_events_new(void);
void sim_events_destroy(sim_events_t **self_p); /* NULL-safe, idempotent */

/* Adds an event; -1 when out of memory (the queue is unchanged). */
int sim_events_push(sim_events_t *self, int64_t t, sim_kind_t kind, uint32_t lead, int32_t rep);

/* The next event (borrowed until the next push or pop), or NULL when empty. */
const sim_event_t *sim_events_peek(const sim_events_t *self);

/* Removes and returns the next event; the queue must not be empty. */
sim_event_t sim_events_pop(sim_events_t *self);

size_t sim_events_count(const sim_events_t *self);

#endif
