/* engine_fixture.h — what the routing engine's tests share (test_routing_engine.c,
 * test_routing_strategies.c): a real Redis (engine_redis, started by each test
 * program), a context per test with routing.lua registered on a flushed
 * store and next week's local midnights in Los Angeles, and helpers that run
 * routing.lua's operations and assert on their outcome. */
#ifndef LEADOPS_ENGINE_FIXTURE_H
#define LEADOPS_ENGINE_FIXTURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "redis_fixture.h"
#include "routing_fixture.h"
#include "store.h"

#define ENGINE_LA   "America/Los_Angeles"
#define ENGINE_DAYS 8

extern redis_fixture_t engine_redis;
extern const char routing_script_routing[]; /* routing.lua, embedded */

typedef struct {
    store_t *store;
    int script;
    int next_lead;            /* engine_expect_sequence names its leads L<next_lead> */
    int64_t day[ENGINE_DAYS]; /* local midnights in LA from next week's Monday on */
} engine_ctx_t;

/* cmocka setup and teardown of one test: *state is an engine_ctx_t. */
int engine_setup(void **state);
int engine_teardown(void **state);

/* Day DAY (0: a Monday) at HOUR:MINUTE in Los Angeles. */
int64_t engine_at(const engine_ctx_t *ctx, int day, int hour, int minute);

/* Writes REP ('sync') and QUEUE ('queue_sync'), as the config would. */
void engine_rep(engine_ctx_t *ctx, routing_fixture_rep_t rep);

void engine_queue(engine_ctx_t *ctx, routing_fixture_queue_t queue);

/* Runs routing.lua's OP at NOW with ARGC string arguments; the reply is the caller's. */
store_value_t *engine_op(engine_ctx_t *ctx, int64_t now, const char *op, int argc, ...);

/* Sets REP_ID's FIELD by command ('rep' operation); returns how many
 * waiting leads it pulled. */
size_t engine_set_rep(engine_ctx_t *ctx, int64_t now, const char *rep_id, const char *field,
                      const char *value);

/* Routes LEAD into QUEUE; the outcome, the rep or reason in OUT. */
long long engine_route(engine_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                       const char *skills, const char *domains, char *out);

/* Routes LEAD (no skills, no domains) and asserts it went to WANT_REP. */
void engine_expect_rep(engine_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                       const char *want_rep);

/* Routes COUNT new leads into QUEUE and asserts the reps they went to. */
void engine_expect_sequence(engine_ctx_t *ctx, int64_t now, const char *queue,
                            const char *const *want, size_t count);

/* Routes LEAD with SKILLS and asserts it waits with REASON. */
void engine_expect_waiting(engine_ctx_t *ctx, int64_t now, const char *lead, const char *queue,
                           const char *skills, const char *reason);

/* FIELD of hash KEY as a number, -1 when missing. */
long long engine_int(engine_ctx_t *ctx, const char *key, const char *field);

/* Asserts FIELD of hash KEY is WANT. */
void engine_assert_field(engine_ctx_t *ctx, const char *key, const char *field, const char *want);

/* The integer reply of COMMAND KEY (ZCARD, SCARD, ...). */
long long engine_count(engine_ctx_t *ctx, const char *command, const char *key);

/* Asserts that A, an assignment {lead, queue, rep, ingested_at, queued_at,
 * score, attempt, why}, gave LEAD of QUEUE to REP as try ATTEMPT. */
void engine_assert_assignment(const store_value_t *a, const char *lead, const char *queue,
                              const char *rep, long long attempt);

/* Runs 'drain' for QUEUE at NOW and asserts the leads it assigned, in order. */
void engine_expect_drain(engine_ctx_t *ctx, int64_t now, const char *queue,
                         const char *const *leads, size_t count);

/* The string KEY of OBJ; fails the test when it has none. */
const char *engine_json_str(const json_t *obj, const char *key);

/* Asserts the audit's candidates: REPS in round-robin order, each excluded
 * for the reason in EXCLUDED (NULL: eligible, recorded as false). */
void engine_assert_candidates(const json_t *audit, const char *const *reps,
                              const char *const *excluded, size_t count);

/* Reps with any hours in Los Angeles (their caps count LA days), at NOW. */
void engine_any_hours(engine_ctx_t *ctx, int64_t now, const char *rep_id);

#endif
