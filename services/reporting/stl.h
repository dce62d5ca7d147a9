/* stl.h — the speed-to-lead histogram: its bucket bounds, the Redis field
 * name of each bucket, and an in-memory histogram with quantiles. Pure
 * arithmetic: no Redis, no JSON (views.h reads the hash, metrics.c prints it).
 *
 * The same buckets are written by routing's Lua script into <p>:stl, a hash:
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
#ifndef LEADOPS_STL_H
#define LEADOPS_STL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
