/* stl.c — the speed-to-lead histogram; see stl.h. */
#include "stl.h"

#include <stdio.h>

const double stl_buckets_ms[STL_BUCKET_COUNT] = {
    1,    2,    5,     10,    20,    50,     100,     200,     500,      1000,
    2000, 5000, 10000, 30000, 60000, 300000, 1800000, 3600000, 86400000,
};

void stl_bucket_field(size_t index, char out[static STL_FIELD_MAX])
{
    snprintf(out, STL_FIELD_MAX, "le_%.0f", stl_buckets_ms[index]);
}

void stl_histogram_observe(stl_histogram_t *hist, double ms)
{
    if (ms < 0)
        ms = 0; /* clocks of two hosts may disagree by a little */
    size_t bucket = 0;
    while (bucket < STL_BUCKET_COUNT && ms > stl_buckets_ms[bucket])
        bucket++;
    hist->counts[bucket]++;
    hist->count++;
    hist->sum_ms += ms;
}

double stl_histogram_quantile(const stl_histogram_t *hist, double q)
{
    if (hist->count == 0)
        return 0;
    double rank = q * (double)hist->count;
    double below = 0;
    for (size_t i = 0; i <= STL_BUCKET_COUNT; i++) {
        double in_bucket = (double)hist->counts[i];
        if (in_bucket == 0 || below + in_bucket < rank) {
            below += in_bucket;
            continue;
        }
        if (i == STL_BUCKET_COUNT)
            return stl_buckets_ms[STL_BUCKET_COUNT - 1];
        double lower = i == 0 ? 0 : stl_buckets_ms[i - 1];
        return lower + (stl_buckets_ms[i] - lower) * (rank - below) / in_bucket;
    }
    return stl_buckets_ms[STL_BUCKET_COUNT - 1];
}
