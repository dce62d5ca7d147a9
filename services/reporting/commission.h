/* commission.h — commissions per rep from won deals, by the plans of the
 * config (commissions.plans, commissions.period), and the deal records both
 * commissions and planning read.
 *
 * Deals are the entries of <p>:deals (common/keys.h), one per won or lost
 * deal, written by scoring's apply.lua. A won deal counts under the first
 * plan whose teams include its rep's team (routing.reps) and whose products
 * include its product (case ignored; an empty list matches any). Each
 * (rep, plan) earns per period: the plan's rate on value up to the first
 * accelerator's threshold (above x quota), each accelerator's rate on value
 * from its threshold to the next, the last one's on everything beyond. The
 * quota resets every period; a period only partly inside the asked range
 * keeps its whole quota. Each deal is credited with what it added at its
 * place in the period (deals in time order), so a rep's deal commissions
 * add up to the rep's commission.
 *
 * Views return a new jansson object the caller owns, or NULL with *err set
 * (ERR_IO: Redis; ERR_INPUT: a bad date). */
#ifndef LEADOPS_COMMISSION_H
#define LEADOPS_COMMISSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

typedef struct {
    char *rep;     /* owned; "" when the deal had none */
    char *lead;    /* owned */
    char *product; /* owned; "" when unknown */
    bool won;
    double value;
    int64_t at_ms;        /* when it closed */
    int64_t opened_at_ms; /* when it opened; 0: unknown */
} commission_deal_t;

/* Reads every entry of <PREFIX>:deals into a new array (*DEALS, *COUNT; the
 * caller frees it with commission_deals_free), in stream order. Entries
 * without a close time are skipped. Returns 0, or -1 with *err (ERR_IO). */
int commission_deals_read(store_t *store, const char *prefix, commission_deal_t **deals,
                          size_t *count, err_t *err);
void commission_deals_free(commission_deal_t **deals_p, size_t count); /* NULL-safe */

/* The commission PLAN pays on VALUE won in one period (tiers as above). */
double commission_tiered(const commission_plan_t *plan, double value);

/* The plan a won deal of a rep of TEAM ("" none) for PRODUCT ("" unknown)
 * counts under, or NULL when none covers it. */
const commission_plan_t *commission_plan_for(const config_t *cfg, const char *team,
                                             const char *product);

/* Periods: PERIOD is "week" (from Monday), "month", "quarter" or "year", in UTC. */
/* The start (ms) of the period that holds MS. */
int64_t commission_period_start(const char *period, int64_t ms);
/* The start of the period after the one starting at START_MS. */
int64_t commission_period_next(const char *period, int64_t start_ms);
/* Its label: a week its Monday "2017-02-27", a month "2017-03", a quarter
 * "2017-Q1", a year "2017". */
void commission_period_label(const char *period, int64_t start_ms, char out[static 16]);

/* The commissions of the won DEALS (borrowed, COUNT of them) that closed in
 * [FROM_MS, TO_MS) under CFG's plans: {from, to (inclusive day), period,
 * plans: [...], reps: [{rep, name, team, deals, won_value, commission,
 * lines: [{plan, period, deals, won_value, quota, attainment (null without
 * quota), commission, deal_list: [{lead, product, value, at, commission}]}]}]
 * (by commission, highest first), unmatched: {deals, won_value} (won deals
 * no plan covers), totals: {deals, won_value, commission}}. NULL only when
 * out of memory. */
json_t *commission_report(const config_t *cfg, const commission_deal_t *deals, size_t count,
                          int64_t from_ms, int64_t to_ms);

/* Parses a day "2017-03-01" or a month "2017-03" (its first day; with
 * END_OF_RANGE its last day's end, or the day's end) as UTC into *MS.
 * Returns 0, or -1 with ERR_INPUT. */
int commission_parse_date(const char *text, bool end_of_range, int64_t *ms, err_t *err);

/* commission_report over <PREFIX>:deals for FROM .. TO (dates as
 * commission_parse_date takes them, TO inclusive); either NULL: the latest
 * period that has a won deal, whole. */
json_t *commission_view(store_t *store, const config_t *cfg, const char *from, const char *to,
                        err_t *err);

#endif
