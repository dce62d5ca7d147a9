/* plan_internal.h — what plan.c (demand against capacity) and
 * plan_revenue.c (revenue against the pipeline) share: the history the plan
 * reads and the rounding of its figures. */
#ifndef LEADOPS_PLAN_INTERNAL_H
#define LEADOPS_PLAN_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commission.h"
#include "config.h"

#define DAY_MS 86400000LL

/* Opportunities created on one day, by every rep. */
typedef struct {
    int64_t day;
    double created;
} plan_day_total_t;

/* What the plan reads, arranged for the arithmetic. */
typedef struct {
    const config_t *cfg; /* borrowed */
    int64_t first, end;  /* the history: days [first, end) */
    size_t days;
    double *queue_leads;      /* owned: [queue * days + day - first], queue:<q>|leads */
    double *rep_opps;         /* owned: [rep * days + day - first], the opportunity series */
    plan_day_total_t *totals; /* owned: every day with opportunities, in or out of the history */
    size_t total_count;
    double created;           /* opportunity_created activities, all time */
    double unattributed;      /* opportunities in the history of reps the config does not list */
    commission_deal_t *deals; /* owned */
    size_t deal_count;
    size_t deals_with_open; /* closed deals that carry their open date */
    bool snapshot;          /* those count as opportunities too (see plan.h) */
    json_t *left_out;       /* owned: stretches of days apart from the history */
} plan_history_t;

/* Figures rounded for people (two decimals); fractions keep two more. */
json_t *plan_real(double value);
json_t *plan_ratio(double value);

/* The plan's "revenue": won revenue per month against what the pipeline
 * open at each month's start was forecast to bring (plan_revenue.c). */
json_t *plan_revenue(const plan_history_t *h);

#endif
