/* calendar.h — a rep's working hours, out-of-office periods and cap days,
 * turned into plain UTC numbers for the routing Lua script.
 *
 * A rep works, per weekday, up to CAL_SPANS_PER_DAY spans of local time in
 * the rep's own IANA time zone, minus out-of-office (OOO) periods; daily
 * and weekly caps reset at the rep's local midnight and local Monday
 * midnight. Lua inside Redis cannot do time-zone math, so this module
 * precomputes, per rep, the UTC intervals in which the rep works over the
 * next days and the UTC instants at which the rep's days and weeks start;
 * the script then only compares numbers. All instants are Unix ms (UTC);
 * intervals are half-open [from, to).
 *
 * The module is pure: no Redis, no allocation the caller must free, output
 * in caller buffers. It is NOT thread-safe: glibc has no per-call time zone,
 * so each function that takes TZ sets the process TZ, calls tzset() and
 * restores the previous TZ (or unsets it) before returning; callers see no
 * change, but another thread doing local-time work meanwhile would. The
 * routing process calls these from its one thread.
 *
 * Local times are resolved with mktime. A local time that falls twice (the
 * fall-back hour) means the earlier instant; one that does not exist (the
 * spring-forward gap) takes mktime's normalization, which moves it forward
 * by the gap (02:30 on a day that jumps from 02:00 to 03:00 is 03:30). */
#ifndef LEADOPS_CALENDAR_H
#define LEADOPS_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CAL_SPANS_PER_DAY 4
#define CAL_DAYS_MAX      366 /* longest range cal_windows and cal_day_starts take */
#define CAL_WEEKS_MAX     53
/* Room that always suffices for cal_windows' text over DAYS days with
 * OOO_COUNT periods: at most (DAYS + 2) * CAL_SPANS_PER_DAY + OOO_COUNT
 * intervals of at most 42 bytes ("-start-end,"), plus "*" or the NUL. */
#define CAL_WINDOWS_SIZE(days, ooo_count)                                                          \
    ((((size_t)(days) + 2) * CAL_SPANS_PER_DAY + (size_t)(ooo_count)) * 42 + 2)

/* One span of working time on a local day, in minutes after local midnight. */
typedef struct {
    int start_min; /* 0 <= start_min < end_min */
    int end_min;   /* <= 1440 (24:00) */
} cal_span_t;

/* A rep's working hours for each weekday, day 0 = Monday. */
typedef struct {
    cal_span_t spans[7][CAL_SPANS_PER_DAY]; /* sorted, neither overlapping nor touching */
    int count[7];                           /* spans used per day; 0 = off that day */
    bool any;                               /* false: no hours configured, the rep works any time */
} cal_week_t;

/* An out-of-office period. */
typedef struct {
    int64_t from_ms; /* UTC ms, inclusive */
    int64_t to_ms;   /* UTC ms, exclusive; a period with to_ms <= from_ms is empty */
} cal_period_t;

/* True when TZ names an IANA zone this machine knows: a readable TZif file
 * under $TZDIR (default /usr/share/zoneinfo). Names are letters, digits and
 * "/_+-", not empty, never absolute and never with "..". "UTC" is valid. */
bool cal_tz_valid(const char *tz);

/* Parses one weekday's hours, "09:00-12:00, 13:00-17:30", into SPANS
 * (room for CAL_SPANS_PER_DAY) and *COUNT. "", blanks only or "off" mean no
 * hours that day (*COUNT = 0). Spans must be in order, neither overlapping
 * nor touching, each ending after it starts: overnight hours are split over
 * two days (22:00-24:00, then 00:00-02:00 on the next). "24:00" is allowed
 * as an end only. Returns 0, or -1 with ERR_INPUT naming the bad span (bad
 * syntax, hour or minute out of range, end not after start, out of order,
 * more than CAL_SPANS_PER_DAY) and *COUNT = 0. */
int cal_parse_day(const char *text, cal_span_t *spans, int *count, err_t *err);

/* Converts a local date "2026-12-24" (local midnight) or date-time
 * "2026-12-24T13:30" / "2026-12-24 13:30" in TZ to UTC ms in *MS. With
 * END_OF_DAY a date-only TEXT means the end of that day, the next local
 * midnight (an OOO period "to" date is inclusive); a date-time is taken as
 * written either way. Returns 0, or -1 with ERR_INPUT on an unknown TZ, bad
 * text or an impossible date (2026-02-29, 25:00). */
int cal_parse_local(const char *tz, const char *text, bool end_of_day, int64_t *ms, err_t *err);

/* Writes to STARTS the local midnights in TZ (UTC ms) of the DAYS days
 * starting with the local day that contains FROM_MS, so starts[0] <= from_ms
 * < starts[1]. Days of 23 or 25 hours come out as such. Returns 0, or -1
 * with ERR_INPUT on an unknown TZ or DAYS outside 1..CAL_DAYS_MAX. */
int cal_day_starts(const char *tz, int64_t from_ms, int days, int64_t *starts, err_t *err);

/* Writes to STARTS the local Monday midnights in TZ (UTC ms) of the week
 * that contains FROM_MS and of the next WEEKS - 1 weeks. Returns 0, or -1
 * with ERR_INPUT on an unknown TZ or WEEKS outside 1..CAL_WEEKS_MAX. */
int cal_week_starts(const char *tz, int64_t from_ms, int weeks, int64_t *starts, err_t *err);

/* Writes to OUT (SIZE bytes, NUL-terminated) the UTC intervals within
 * [FROM_MS, FROM_MS + DAYS * 86400000) in which a rep in TZ with hours WEEK
 * works: WEEK's spans in TZ (the whole range when !week->any) minus the
 * OOO_COUNT periods OOO (borrowed, any order), merged where they touch and
 * sorted, as "start-end,start-end" in decimal ms. Writes "*" when
 * !week->any and no OOO period overlaps the range (works any time) and ""
 * when the rep never works in the range. Returns 0, or -1 with ERR_INPUT on
 * an unknown TZ, DAYS outside 1..CAL_DAYS_MAX or an OUT too small (the
 * message gives the size needed), ERR_NOMEM when out of memory. */
int cal_windows(const char *tz, const cal_week_t *week, const cal_period_t *ooo, size_t ooo_count,
                int64_t from_ms, int days, char *out, size_t size, err_t *err);

/* True when T lies in one of the [start, end) intervals of WINDOWS as
 * cal_windows writes them; "*" contains every T, "" none. Malformed text
 * contains nothing past the point where it stops parsing. */
bool cal_windows_contain(const char *windows, int64_t t);

#endif
