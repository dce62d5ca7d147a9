/* accept_fixture.h — runs ingest's accept.lua the way ingest does, for the
 * integration tests that need leads and activities journaled without a
 * running ingest (scoring, merges). Keys use the prefix "t"; the envelope is
 * a placeholder (nothing in these tests re-sends it). */
#ifndef LEADOPS_ACCEPT_FIXTURE_H
#define LEADOPS_ACCEPT_FIXTURE_H

#include "store.h"

/* Journals EVENT_ID for LEAD_ID (KIND "lead" or "activity"), with EMAIL and
 * SOURCE ("system:id") as a lead's identities (NULL: none), through the
 * registered accept script SCRIPT. Returns 1 accepted, 0 duplicate, -1 on
 * failure; the lead it went to (64 bytes) and the outcome (16 bytes) go to
 * LEAD_OUT / OUTCOME_OUT when not NULL. */
long long accept_fixture_event(store_t *store, int script, const char *event_id,
                               const char *lead_id, const char *kind, const char *email,
                               const char *source, char *lead_out, char *outcome_out);

#endif
