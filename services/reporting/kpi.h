/* kpi.h — rep and team KPIs, conversion by origin and the live ops figures,
 * read from what the pipeline keeps in Redis (common/keys.h): the per-day
 * counts <p>:kpi:d:<day> and <p>:kpi:days, and <p>:kpi:origin. Scoring's
 * apply.lua and routing's assign.lua write those counts once per event, in
 * the same script that applies it, so the figures survive any restart and
 * are never counted twice; this module only reads and adds them up.
 *
 * Shared by the reporting API (/v1/kpi/reps, /v1/conversion) and
 * `leadopsctl report`, so both print the same figures. Every function reads
 * through a borrowed store_t with pipelined reads (one round trip per
 * stage), never writes, and returns a new jansson object the caller owns,
 * or NULL with *err set (ERR_IO: Redis unreachable or an error reply).
 * Days are UTC days since 1970. */
#ifndef LEADOPS_KPI_H
#define LEADOPS_KPI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

#define KPI_DAY_MS       86400000LL
#define KPI_DEFAULT_DAYS 30

/* A period of whole UTC days, [from_day, to_day). */
typedef struct {
    int64_t from_day; /* the first day counted */
    int64_t to_day;   /* the first day not counted */
    bool all;         /* every day with data: kpi_reps resolves from/to from <p>:kpi:days */
} kpi_period_t;

/* Parses a period as the API and leadopsctl take it: either PERIOD ("30d"
 * (any 1..36600 days up to today), "this-month", "last-month",
 * "this-quarter", "last-quarter", "this-year", "last-year", "all") or FROM
 * and TO as dates ("2024-05-01"; TO is the last day counted, inclusive; FROM
 * alone runs to today, TO alone covers the 30 days up to it). All NULL: the
 * last 30 days. NOW_MS says what today is. Returns 0, or -1 with *err
 * (ERR_INPUT) saying what is wrong. */
int kpi_period_parse(const char *period, const char *from, const char *to, int64_t now_ms,
                     kpi_period_t *out, err_t *err);

/* KPIs of the period: {from, to (last day, inclusive), days, previous: {from,
 * to}, reps: [...], teams: [...], totals, leaderboard: [...], quartiles:
 * {top, bottom} or null, leads: {by_source: {...}, by_queue: {...}}}.
 * A rep (and a team, and totals) holds: rep, name, team, calls, emails,
 * meetings, demos, proposals, opportunities, inputs (their sum), won, lost,
 * won_value, lost_value, win_rate (won / (won + lost)), avg_deal_size (won
 * value / won), avg_days_to_close, speed_to_lead_ms (mean, first
 * assignments), first_touch_ms (mean, intake to the first call or email),
 * previous: {won, won_value, inputs} and growth: {won, won_value, inputs}
 * ((now - before) / before) for the period of the same length just before;
 * ratios and means are null when nothing is counted under them. reps lists
 * CFG's reps and any other rep with counts, by id; a rep's name and team
 * come from CFG (id and "" for others); teams list the named teams. The
 * leaderboard ranks reps with counts in the period by won value (then deals
 * won, then id). quartiles sets the top quarter of those reps (by the same
 * order, at least one) beside the bottom quarter: reps, their sums and
 * rates, inputs per rep, mix (each input's share of their inputs),
 * speed_to_lead_ms and first_touch_ms; null with fewer than 2 such reps.
 * CFG (borrowed) gives the prefix and the reps. */
json_t *kpi_reps(store_t *store, const config_t *cfg, const kpi_period_t *period, err_t *err);

/* Conversion by origin, all time, from <PREFIX>:kpi:origin: {origins:
 * [{origin, leads, won, rate, won_value}] (most leads first), overall:
 * {leads, won, rate, won_value}}. won counts leads with at least one deal
 * won; rate is won / leads (null without leads). */
json_t *kpi_conversion(store_t *store, const char *prefix, err_t *err);

/* The live operations figures: {summary: views_summary, queues:
 * views_queues with per queue waiting_reasons: {reason: count} over its
 * first 100 waiting leads, reps: views_reps, sla: {pending (clocks
 * running), breaches, escalations, overflowed, reassigned, rejected_by_rep,
 * accepted}}. */
json_t *kpi_ops(store_t *store, const char *prefix, err_t *err);

/* Writes DAY as "2024-05-01" into OUT. */
void kpi_day_format(int64_t day, char out[static 16]);

#endif
