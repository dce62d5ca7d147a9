/* pace.h — what the streaming commands of leadopsctl (send, gen, import)
 * share: pacing a stream to a rate, and stopping it cleanly on SIGINT or
 * SIGTERM (stop reading, wait for the acks of what was sent, summarize).
 *
 * The interrupted flag is the one piece of process state here; it is set
 * only by the handlers pace_catch_signals installs. */
#ifndef LEADOPS_PACE_H
#define LEADOPS_PACE_H

#include <stdbool.h>
#include <stdint.h>

/* Sleeps as needed so that SENT events take SENT / RATE seconds from
 * START_MS (clock_mono_ms). Does nothing when RATE <= 0. */
void pace_rate(int64_t start_ms, uint64_t sent, double rate);

/* Installs SIGINT and SIGTERM handlers that make pace_interrupted true. */
void pace_catch_signals(void);
bool pace_interrupted(void);

#endif
