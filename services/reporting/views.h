/* views.h — read-only views over the live Redis state (see common/keys.h),
 * shared by the reporting HTTP API and leadopsctl so both print the same facts.
 *
 * Every view reads Redis through a borrowed store_t, never writes, and returns
 * a new jansson object the caller owns (json_decref), or NULL with *err set:
 * ERR_IO when Redis is unreachable or answers with an error, ERR_NOTFOUND for
 * a lead that does not exist. Multi-key views pipeline their reads with
 * store_batch, one round trip per stage, so their cost does not grow with
 * round trips per queue or rep.
 *
 * Speed-to-lead histogram, <p>:stl (a hash), written by routing's Lua script:
 *   "le_<B>"  one field per bound B of stl_buckets_ms, printed as an integer
 *             ("le_1", "le_86400000"); it counts the observations v with
 *             previous bound < v <= B. Buckets are NOT cumulative: one
 *             observation increments exactly one le_ field (the smallest B
 *             with v <= B). Above the last bound a writer may increment
 *             "le_+Inf" (routing.lua does); readers ignore that field.
 *   "count"   every observation, including those above the last bound (the
 *             implied +Inf bucket is count minus the finite le_ fields).
 *   "sum_ms"  the sum of every observed value, in ms.
 */
#ifndef LEADOPS_VIEWS_H
#define LEADOPS_VIEWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* Upper bounds (ms) of the speed-to-lead buckets, ascending; +Inf is implied. */
#define STL_BUCKET_COUNT 19
extern const double stl_buckets_ms[STL_BUCKET_COUNT];

/* Longest "le_<bound>" field name, with its NUL. */
#define STL_FIELD_MAX 32

/* Writes the hash field name of bucket INDEX (< STL_BUCKET_COUNT) into OUT. */
void stl_bucket_field(size_t index, char out[static STL_FIELD_MAX]);

/* A speed-to-lead histogram held in memory. counts[i] is the number of
 * observations in bucket i alone (not cumulative); counts[STL_BUCKET_COUNT]
 * is the +Inf bucket. */
typedef struct {
    uint64_t counts[STL_BUCKET_COUNT + 1];
    uint64_t count;
    double sum_ms;
} stl_histogram_t;

/* Adds one observation of MS milliseconds (negative values count as 0). */
void stl_histogram_observe(stl_histogram_t *hist, double ms);

/* The Q-quantile (0 < Q <= 1) by linear interpolation inside the bucket that
 * holds it (the first bucket starts at 0). A quantile that falls in the +Inf
 * bucket is reported as the last finite bound. Returns 0 when HIST is empty. */
double stl_histogram_quantile(const stl_histogram_t *hist, double q);

/* Reads <PREFIX>:stl into *HIST. Missing hash: an empty histogram.
 * Returns 0, or -1 with *err set (ERR_IO). */
int views_stl_read(store_t *store, const char *prefix, stl_histogram_t *hist, err_t *err);

/* The lead <PREFIX>:lead:<LEAD_ID>: the Lead fields decoded from the stored
 * protobuf (lead_id, email, company, domain, title, industry, company_size,
 * annual_revenue, country, region, city, source, campaign, language,
 * source_system, source_id, attributes), its state (status, score, fit,
 * engagement, grade, stage, qualified, reasons, activities, queue, rule, rep,
 * outcome), timestamps ingested_at, scored_at, queued_at, assigned_at,
 * closed_at (Unix ms, null when unset) each with an *_iso UTC string, and
 * speed_to_lead_ms once assigned (else null). A stored lead that does not
 * decode is reported with "lead_corrupt": true instead of the Lead fields.
 * NULL with ERR_NOTFOUND when no such lead. */
json_t *views_lead(store_t *store, const char *prefix, const char *lead_id, err_t *err);

/* {"queues": [{name, waiting, oldest_wait_ms, reps, reps_online,
 * free_capacity}, ...]} for every queue in <PREFIX>:queues, sorted by name.
 * oldest_wait_ms is now minus the smallest queued_at among the first 100
 * waiting leads (by priority), 0 when none waits. free_capacity sums
 * max(0, capacity - open) over the queue's online reps. */
json_t *views_queues(store_t *store, const char *prefix, err_t *err);

/* {"reps": [{id, name, status, capacity, open, assigned_total, utilization,
 * queues: [...]}, ...]} for every rep in <PREFIX>:reps, sorted by id.
 * utilization is open / capacity (0 when capacity is 0). */
json_t *views_reps(store_t *store, const char *prefix, err_t *err);

/* {ingested_leads, ingested_activities, duplicates, rejected, scored,
 * qualified, assigned, queued, closed (0 when missing), waiting (sum over
 * the queues' waiting sets), speed_to_lead_ms: {count, p50, p90, p99, mean}
 * (null statistics while count is 0)}. */
json_t *views_summary(store_t *store, const char *prefix, err_t *err);

/* The <PREFIX>:stats counters, in the order views_summary prints them. */
#define VIEWS_STAT_COUNT 9
extern const char *const views_stat_names[VIEWS_STAT_COUNT];

#endif
