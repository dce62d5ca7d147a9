/* decay.h — the one formula by which engagement fades, shared by the views
 * and anything else in C that needs a score "as of now".
 *
 * Scoring (services/scoring/apply.lua) stores engagement as a value at a
 * time; its value at a later time T is value * decay_factor(at, T, half-life).
 * The Lua scripts compute the same factor; keep the two in step. */
#ifndef LEADOPS_DECAY_H
#define LEADOPS_DECAY_H

#include <stdint.h>

/* The factor by which points decay from FROM_MS to TO_MS (Unix ms) with a
 * half-life of HALF_LIFE_S seconds: 2^(-(TO_MS - FROM_MS) / (1000 *
 * HALF_LIFE_S)), in (0, 1]. It is 1 when HALF_LIFE_S <= 0 (no decay) and
 * when TO_MS <= FROM_MS (points never grow by going back in time). */
double decay_factor(int64_t from_ms, int64_t to_ms, int half_life_s);

#endif
