/* accept_fixture.c — see accept_fixture.h. */
#include "accept_fixture.h"

#include <stdio.h>

long long accept_fixture_event(store_t *store, int script, const char *event_id,
                               const char *lead_id, const char *kind, const char *email,
                               const char *source, char *lead_out, char *outcome_out)
{
    char eventid_key[128];
    snprintf(eventid_key, sizeof eventid_key, "t:eventid:%s", event_id);
    /* ARGV as intake.c passes it: a deadline far ahead (no redelivery), a
     * 60 s dedup window, journal cap 1000, in-flight limit 1,000,000. */
    const char *argv[] = {eventid_key,
                          "t:journal",
                          "t:inflight:scoring",
                          "t:inflight:scoring:msg",
                          "t:stats",
                          event_id,
                          lead_id,
                          kind,
                          "ENVELOPE",
                          "99999999999999",
                          "60",
                          "1000",
                          "1000000",
                          "t",
                          email ? email : "",
                          source ? source : ""};
    err_t err = {0};
    store_value_t *reply = store_script(store, script, 5, 16, argv, NULL, &err);
    if (!reply)
        return -1;
    long long outcome = store_value_int(store_value_at(reply, 0), -1);
    if (lead_out)
        snprintf(lead_out, 64, "%s",
                 store_value_str(store_value_at(reply, outcome == 1 ? 2 : 1), ""));
    if (outcome_out)
        snprintf(outcome_out, 16, "%s", store_value_str(store_value_at(reply, 3), ""));
    store_value_free(&reply);
    return outcome;
}
