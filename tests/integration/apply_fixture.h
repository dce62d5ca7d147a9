/* apply_fixture.h — runs scoring's apply.lua the way scoring does, for the
 * integration tests of scores, stages and merges. The script's keys and
 * arguments come from apply_call (the service's own builder), so a test
 * cannot drift from what the service passes; this fixture only runs the
 * call and unpacks its reply. */
#ifndef LEADOPS_APPLY_FIXTURE_H
#define LEADOPS_APPLY_FIXTURE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "apply_call.h"
#include "config.h"
#include "store.h"

/* apply.lua's reply, unpacked. */
typedef struct {
    long long outcome; /* 1 applied, 0 ignored (redelivery, restage not due), 3 merge again */
    double score;
    char stage[CONFIG_NAME_MAX];
    char previous_stage[CONFIG_NAME_MAX]; /* "" when the stage did not change */
    bool to_routing;
    double fit, engagement, model_points;
    char grade[8];
} apply_reply_t;

/* The sample config (deploy/leadops.yaml under LEADOPS_TEST_SOURCE_DIR, else
 * the current directory) with the key prefix "t", or NULL with the reason on
 * stderr. */
config_t *apply_fixture_sample_config(void);

/* apply_call for CFG with the hops scoring uses under the prefix "t", or NULL
 * with the reason on stderr. */
apply_call_t *apply_fixture_call(const config_t *cfg);

/* An event of KIND ("lead", "activity", "restage") for LEAD_ID at NOW_MS
 * without a model (model_p -1); every other field zero. */
apply_event_t apply_fixture_event(const char *kind, const char *event_id, const char *lead_id,
                                  int64_t now_ms);

/* Runs the registered apply script SCRIPT on STORE for EVENT, with the
 * arguments CALL builds. Returns the outcome (1, 0 or 3) and fills *REPLY
 * (may be NULL) when it is 1; -1 on a Redis or script error, with the
 * reason on stderr. */
long long apply_fixture_run(store_t *store, int script, const apply_call_t *call,
                            const apply_event_t *event, apply_reply_t *reply);

/* Fails the test (cmocka.h included first) unless ACTUAL is within
 * TOLERANCE of EXPECTED; scores are doubles, often decayed. */
#define ASSERT_NEAR(actual, expected, tolerance)                                                   \
    do {                                                                                           \
        double actual_ = (actual), expected_ = (expected);                                         \
        if (!(fabs(actual_ - expected_) <= (tolerance)))                                           \
            fail_msg("%s is %.17g, expected %.17g (within %g)", #actual, actual_, expected_,       \
                     (double)(tolerance));                                                         \
    } while (0)

#endif
