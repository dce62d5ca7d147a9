/* gen.h — a synthetic lead and activity stream for `leadopsctl gen`.
 *
 * The generator makes events that look like real inbound B2B demand: its
 * channel mix, firmographics, activity mix, sales funnel and arrival curve are
 * tables calibrated once on public sales data sets (see gen_tables.h for each
 * table's origin). Nothing is read from disk at run time, and the names,
 * companies, emails and phones are synthetic: no real person's data appears.
 *
 * Invariants:
 * - The stream is a pure function of the seed and the sequence of
 *   ACTIVITY_RATIO arguments: the same seed gives the same events, ids
 *   included. NOW_MS only stamps times, it never changes what is drawn.
 * - Lead ids embed the seed ("L-<seed hex>-<n>"), so streams of different
 *   seeds never share a lead id; activity ids do the same ("A-<seed hex>-<n>").
 * - An activity always names a lead this generator emitted earlier, and mostly
 *   a recent one (the last GEN_RECENT_LEADS leads), so engagement clusters.
 * - The sales funnel keeps its order per lead: opportunity_created, then
 *   proposal_sent, then one of deal_won / deal_lost, then nothing more of it.
 *
 * A gen_t is not thread safe and holds no global state; use one per thread. */
#ifndef LEADOPS_GEN_H
#define LEADOPS_GEN_H

#include <jansson.h>
#include <stdint.h>

/* How many of the latest leads activities are drawn from. */
#define GEN_RECENT_LEADS 4096

typedef struct gen gen_t; /* opaque */

/* Returns a generator whose stream is fully determined by SEED, or NULL when
 * out of memory. */
gen_t *gen_new(uint64_t seed);

/* Frees the generator and sets *SELF_P to NULL. NULL-safe and idempotent. */
void gen_destroy(gen_t **self_p);

/* Returns the next event as a new JSON object (the caller owns it and frees
 * it with json_decref), stamped with the simulated time NOW_MS (Unix ms):
 *
 *   lead:     {"kind":"lead", "event_id", "lead_id", "email", "first_name",
 *              "last_name", "phone", "company", "title", "industry",
 *              "company_size" (integer), "annual_revenue" (real, USD),
 *              "country" (ISO alpha-2), "region", "city", "source",
 *              "campaign" (may be ""), "language", "created_at_ms"}
 *   activity: {"kind":"activity", "event_id", "activity_id", "lead_id",
 *              "type", "occurred_at_ms", "channel", and where they apply
 *              "rep_id" (sales activities), "value" (real: opportunity,
 *              proposal and won-deal amounts), "outcome" (calls, deals)}
 *
 * event_id is 32 lower-case hex digits. The field names are those of the Lead
 * and Activity messages in proto/leadops.proto.
 *
 * ACTIVITY_RATIO is the share of events that are activities, in [0, 1); a
 * value outside is clamped (NaN counts as 0). The first event is always a
 * lead, since an activity needs one. gen_calibrated_activity_ratio() gives
 * the share the calibrated tables imply over a lead's whole life.
 *
 * Returns NULL when out of memory; the stream stays usable but is no longer
 * the one the seed alone determines. */
json_t *gen_next(gen_t *self, int64_t now_ms, double activity_ratio);

/* Relative lead arrival rate in local hour HOUR (0..23); the 24 values
 * average 1.0. Returns 0 for an hour out of range. Measured on real arrival
 * times: quiet at night, a late-morning rise and an evening peak. */
double gen_hour_weight(int hour);

/* Relative lead arrival rate on WEEKDAY (0 = Monday .. 6 = Sunday); the seven
 * values average 1.0. Returns 0 for a weekday out of range. */
double gen_weekday_weight(int weekday);

/* Relative arrival rate at NOW_MS seen from a time zone UTC_OFFSET_MIN
 * minutes east of UTC: gen_hour_weight * gen_weekday_weight of that local
 * time. Averages 1.0 over a week, so a producer pacing at a mean of R events
 * per second sends R * gen_rate_factor(now) at each moment. */
double gen_rate_factor(int64_t now_ms, int utc_offset_min);

/* The activity share the calibrated tables imply when every lead lives its
 * whole life in the stream: activities per lead / (activities per lead + 1),
 * about 0.87. */
double gen_calibrated_activity_ratio(void);

#endif
