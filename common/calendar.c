#include "calendar.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MS_PER_DAY      86400000LL
#define MINUTES_PER_DAY 1440
#define TZ_NAME_MAX     255
/* Instants beyond year 9999 either way are input errors, which also keeps
 * FROM_MS + CAL_DAYS_MAX days and the seconds in a struct tm far from overflow. */
#define INSTANT_MS_MAX 253402300800000LL

/* The TZ value in force before a call switched it, to put back afterwards. */
typedef struct {
    char *previous; /* owned; NULL when TZ was unset */
} tz_saved_t;

/* One UTC interval [from_ms, to_ms). */
typedef struct {
    int64_t from_ms;
    int64_t to_ms;
} interval_t;

bool cal_tz_valid(const char *tz)
{
    if (!tz || !*tz || strlen(tz) > TZ_NAME_MAX)
        return false;
    if (strcmp(tz, "UTC") == 0)
        return true;
    /* The charset keeps out "..", absolute paths, glibc's ":" prefix and POSIX
     * rule strings ("CET-1CEST,M3.5.0"), which glibc would take silently. */
    if (!isalpha((unsigned char)tz[0]))
        return false;
    for (const char *c = tz; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
            return false;
    if (strstr(tz, "..") || strstr(tz, "//"))
        return false;
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, tz) >= sizeof path)
        return false;
    /* Reading the magic also rejects directories and the zone.tab-style files
     * that sit beside the zones. */
    FILE *file = fopen(path, "rb");
    if (!file)
        return false;
    char magic[4];
    bool is_tzif = fread(magic, 1, sizeof magic, file) == sizeof magic &&
                   memcmp(magic, "TZif", sizeof magic) == 0;
    fclose(file);
    return is_tzif;
}

/* Switches the process to TZ after checking it, since glibc falls back to
 * UTC without a word for a zone it cannot load. */
static int s_tz_enter(const char *tz, tz_saved_t *saved, err_t *err)
{
    saved->previous = NULL;
    if (!cal_tz_valid(tz))
        return err_set(err, ERR_INPUT, "unknown time zone \"%s\"", tz ? tz : "(null)");
    const char *previous = getenv("TZ");
    /* Copy: setenv may free the string getenv returned. */
    if (previous && !(saved->previous = strdup(previous)))
        return err_set(err, ERR_NOMEM, "time zone: out of memory");
    if (setenv("TZ", tz, 1) != 0) {
        free(saved->previous);
        saved->previous = NULL;
        return err_set(err, ERR_NOMEM, "time zone: setenv: %s", strerror(errno));
    }
    tzset();
    return 0;
}

static void s_tz_leave(tz_saved_t *saved)
{
    if (saved->previous)
        setenv("TZ", saved->previous, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved->previous);
    saved->previous = NULL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's
 * algorithms). Date arithmetic stays in plain integers, away from mktime's
 * DST guessing. */
static int64_t s_days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void s_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    *day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    *month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

/* Monday = 0; 1970-01-01 was a Thursday. */
static int s_weekday(int64_t days)
{
    return (int)(((days + 3) % 7 + 7) % 7);
}

static bool s_is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int s_days_in_month(int64_t year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && s_is_leap(year) ? 29 : days[month - 1];
}

/* The local date (days since epoch) of the instant MS in the current TZ. */
static int s_local_day(int64_t ms, int64_t *day, err_t *err)
{
    if (ms < -INSTANT_MS_MAX || ms > INSTANT_MS_MAX)
        return err_set(err, ERR_INPUT, "instant %lld ms out of range", (long long)ms);
    int64_t floor_ms = ms - ((ms % 1000) + 1000) % 1000;
    time_t seconds = (time_t)(floor_ms / 1000);
    struct tm local;
    if (!localtime_r(&seconds, &local))
        return err_set(err, ERR_INPUT, "instant %lld ms out of range", (long long)ms);
    *day = s_days_from_civil(local.tm_year + 1900LL, local.tm_mon + 1, local.tm_mday);
    return 0;
}

/* The UTC ms of local wall time MINUTE (0..1440) on local date DAY in the
 * current TZ. mktime with tm_isdst = -1 alone may pick either side of a
 * fall-back hour, so each reading (-1, standard, DST) is tried and the
 * earliest that maps back to the same wall time wins. A wall time that no
 * reading maps back to lies in a spring-forward gap: mktime's normalization
 * for tm_isdst = -1 stands (forward by the gap). */
static int s_local_to_ms(int64_t day, int minute, int64_t *ms, err_t *err)
{
    if (minute == MINUTES_PER_DAY) {
        day++;
        minute = 0;
    }
    int64_t year;
    int month, mday;
    s_civil_from_days(day, &year, &month, &mday);
    struct tm wall = {
        .tm_year = (int)(year - 1900),
        .tm_mon = month - 1,
        .tm_mday = mday,
        .tm_hour = minute / 60,
        .tm_min = minute % 60,
    };
    static const int readings[] = {-1, 0, 1};
    bool found = false, have_normalized = false;
    time_t best = 0, normalized = 0;
    for (size_t i = 0; i < sizeof readings / sizeof readings[0]; i++) {
        struct tm guess = wall;
        guess.tm_isdst = readings[i];
        errno = 0;
        time_t seconds = mktime(&guess);
        if (seconds == (time_t)-1 && errno != 0)
            continue;
        if (readings[i] == -1) {
            normalized = seconds;
            have_normalized = true;
        }
        struct tm back;
        if (!localtime_r(&seconds, &back))
            continue;
        bool same_wall = back.tm_year == wall.tm_year && back.tm_mon == wall.tm_mon &&
                         back.tm_mday == wall.tm_mday && back.tm_hour == wall.tm_hour &&
                         back.tm_min == wall.tm_min;
        if (same_wall && (!found || seconds < best)) {
            best = seconds;
            found = true;
        }
    }
    if (!found && !have_normalized)
        return err_set(err, ERR_INPUT, "local time %04lld-%02d-%02d %02d:%02d out of range",
                       (long long)year, month, mday, minute / 60, minute % 60);
    *ms = (int64_t)(found ? best : normalized) * 1000;
    return 0;
}

/* Reads "H:MM" or "HH:MM" at *CURSOR into minutes after midnight, allowing
 * 24:00 only when AS_END. Returns 0, 1 on bad syntax, 2 when the hour or
 * minute is out of range, 3 for 24:00 as a start. */
static int s_parse_clock(const char **cursor, bool as_end, int *minutes)
{
    const char *c = *cursor;
    if (!isdigit((unsigned char)c[0]))
        return 1;
    int hour = c[0] - '0';
    c++;
    if (isdigit((unsigned char)c[0]))
        hour = hour * 10 + (*c++ - '0');
    if (c[0] != ':' || !isdigit((unsigned char)c[1]) || !isdigit((unsigned char)c[2]) ||
        isdigit((unsigned char)c[3]))
        return 1;
    int minute = (c[1] - '0') * 10 + (c[2] - '0');
    *cursor = c + 3;
    if (hour > 24 || minute > 59 || (hour == 24 && minute != 0))
        return 2;
    if (hour == 24 && !as_end)
        return 3;
    *minutes = hour * 60 + minute;
    return 0;
}

static const char *s_skip_blanks(const char *c)
{
    while (*c == ' ' || *c == '\t')
        c++;
    return c;
}

int cal_parse_day(const char *text, cal_span_t *spans, int *count, err_t *err)
{
    assert(text && spans && count);
    *count = 0;
    const char *c = s_skip_blanks(text);
    if (*c == '\0')
        return 0;
    if (strncasecmp(c, "off", 3) == 0 && *s_skip_blanks(c + 3) == '\0')
        return 0;
    int parsed = 0;
    for (int number = 1;; number++) {
        const char *part = s_skip_blanks(c);
        const char *part_end = strchr(part, ',');
        if (!part_end)
            part_end = part + strlen(part);
        int part_len = (int)(part_end - part);
        while (part_len > 0 && (part[part_len - 1] == ' ' || part[part_len - 1] == '\t'))
            part_len--;
        if (part_len == 0)
            return err_set(err, ERR_INPUT, "span %d is empty", number);
        if (parsed == CAL_SPANS_PER_DAY)
            return err_set(err, ERR_INPUT, "span %d \"%.*s\": more than %d spans in a day", number,
                           part_len, part, CAL_SPANS_PER_DAY);
        int start = 0, end = 0;
        const char *cursor = part;
        int bad = s_parse_clock(&cursor, false, &start);
        if (bad == 0) {
            cursor = s_skip_blanks(cursor);
            if (*cursor++ != '-')
                bad = 1;
        }
        if (bad == 0) {
            cursor = s_skip_blanks(cursor);
            bad = s_parse_clock(&cursor, true, &end);
        }
        if (bad == 0 && s_skip_blanks(cursor) != part_end)
            bad = 1;
        switch (bad) {
        case 1:
            return err_set(err, ERR_INPUT, "span %d \"%.*s\": expected HH:MM-HH:MM", number,
                           part_len, part);
        case 2:
            return err_set(err, ERR_INPUT,
                           "span %d \"%.*s\": hour above 24 or minute above 59 (24:00 at most)",
                           number, part_len, part);
        case 3:
            return err_set(err, ERR_INPUT, "span %d \"%.*s\": 24:00 is allowed only as an end",
                           number, part_len, part);
        }
        if (end <= start)
            return err_set(err, ERR_INPUT,
                           "span %d \"%.*s\": ends at or before its start (split overnight hours: "
                           "22:00-24:00, then 00:00-02:00 on the next day)",
                           number, part_len, part);
        if (parsed > 0 && start <= spans[parsed - 1].end_min)
            return err_set(err, ERR_INPUT,
                           "span %d \"%.*s\": must start after span %d ends (spans in order, "
                           "neither overlapping nor touching)",
                           number, part_len, part, number - 1);
        spans[parsed].start_min = start;
        spans[parsed].end_min = end;
        parsed++;
        if (*part_end == '\0')
            break;
        c = part_end + 1;
    }
    *count = parsed;
    return 0;
}

/* Reads exactly DIGITS decimal digits at TEXT. */
static bool s_read_digits(const char *text, int digits, int *value)
{
    *value = 0;
    for (int i = 0; i < digits; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        *value = *value * 10 + (text[i] - '0');
    }
    return true;
}

int cal_parse_local(const char *tz, const char *text, bool end_of_day, int64_t *ms, err_t *err)
{
    assert(text && ms);
    int year, month, day, hour = 0, minute = 0;
    size_t len = strlen(text);
    bool date_only = len == 10;
    bool shape_ok = (len == 10 || len == 16) && s_read_digits(text, 4, &year) && text[4] == '-' &&
                    s_read_digits(text + 5, 2, &month) && text[7] == '-' &&
                    s_read_digits(text + 8, 2, &day);
    if (shape_ok && !date_only)
        shape_ok = (text[10] == 'T' || text[10] == ' ') && s_read_digits(text + 11, 2, &hour) &&
                   text[13] == ':' && s_read_digits(text + 14, 2, &minute);
    if (!shape_ok)
        return err_set(err, ERR_INPUT,
                       "local time \"%.40s\": expected YYYY-MM-DD or YYYY-MM-DDTHH:MM", text);
    if (month < 1 || month > 12 || day < 1 || day > s_days_in_month(year, month))
        return err_set(err, ERR_INPUT, "local time \"%s\": no such date", text);
    if (hour > 23 || minute > 59)
        return err_set(err, ERR_INPUT, "local time \"%s\": no such time of day", text);
    int64_t local_day = s_days_from_civil(year, month, day);
    int local_minute = hour * 60 + minute;
    if (date_only && end_of_day)
        local_minute = MINUTES_PER_DAY;
    tz_saved_t saved;
    if (s_tz_enter(tz, &saved, err) != 0)
        return -1;
    int rc = s_local_to_ms(local_day, local_minute, ms, err);
    s_tz_leave(&saved);
    return rc;
}

int cal_day_starts(const char *tz, int64_t from_ms, int days, int64_t *starts, err_t *err)
{
    assert(starts);
    if (days < 1 || days > CAL_DAYS_MAX)
        return err_set(err, ERR_INPUT, "day count %d outside 1..%d", days, CAL_DAYS_MAX);
    tz_saved_t saved;
    if (s_tz_enter(tz, &saved, err) != 0)
        return -1;
    int64_t first_day;
    int rc = s_local_day(from_ms, &first_day, err);
    for (int i = 0; rc == 0 && i < days; i++)
        rc = s_local_to_ms(first_day + i, 0, &starts[i], err);
    s_tz_leave(&saved);
    return rc;
}

int cal_week_starts(const char *tz, int64_t from_ms, int weeks, int64_t *starts, err_t *err)
{
    assert(starts);
    if (weeks < 1 || weeks > CAL_WEEKS_MAX)
        return err_set(err, ERR_INPUT, "week count %d outside 1..%d", weeks, CAL_WEEKS_MAX);
    tz_saved_t saved;
    if (s_tz_enter(tz, &saved, err) != 0)
        return -1;
    int64_t day;
    int rc = s_local_day(from_ms, &day, err);
    int64_t monday = day - s_weekday(day);
    for (int i = 0; rc == 0 && i < weeks; i++)
        rc = s_local_to_ms(monday + 7LL * i, 0, &starts[i], err);
    s_tz_leave(&saved);
    return rc;
}

static int s_interval_compare(const void *a, const void *b)
{
    const interval_t *left = a, *right = b;
    if (left->from_ms != right->from_ms)
        return left->from_ms < right->from_ms ? -1 : 1;
    return (left->to_ms > right->to_ms) - (left->to_ms < right->to_ms);
}

/* Sorts LIST and joins intervals that overlap or touch: 22:00-24:00 and the
 * next day's 00:00-02:00 are one window. Returns the new count. */
static size_t s_merge(interval_t *list, size_t count)
{
    if (count == 0)
        return 0;
    qsort(list, count, sizeof *list, s_interval_compare);
    size_t kept = 0;
    for (size_t i = 1; i < count; i++) {
        if (list[i].from_ms <= list[kept].to_ms) {
            if (list[i].to_ms > list[kept].to_ms)
                list[kept].to_ms = list[i].to_ms;
        } else {
            list[++kept] = list[i];
        }
    }
    return kept + 1;
}

/* Removes PERIOD from each interval of FROM into TO (room for one more
 * interval than FROM holds: a period inside one interval splits it). */
static size_t s_subtract(const interval_t *from, size_t count, cal_period_t period, interval_t *to)
{
    size_t out = 0;
    for (size_t i = 0; i < count; i++) {
        if (period.to_ms <= from[i].from_ms || period.from_ms >= from[i].to_ms) {
            to[out++] = from[i];
            continue;
        }
        if (period.from_ms > from[i].from_ms)
            to[out++] = (interval_t){from[i].from_ms, period.from_ms};
        if (period.to_ms < from[i].to_ms)
            to[out++] = (interval_t){period.to_ms, from[i].to_ms};
    }
    return out;
}

/* Appends the UTC intervals of WEEK's spans on the local days touched by
 * [FROM_MS, END_MS), clipped to it, to LIST; *COUNT says how many. Returns 0 or -1. */
static int s_week_intervals(const cal_week_t *week, int64_t from_ms, int64_t end_ms,
                            interval_t *list, size_t capacity, size_t *count, err_t *err)
{
    int64_t first_day, last_day;
    if (s_local_day(from_ms, &first_day, err) != 0 || s_local_day(end_ms - 1, &last_day, err) != 0)
        return -1;
    *count = 0;
    for (int64_t day = first_day; day <= last_day; day++) {
        int weekday = s_weekday(day);
        for (int i = 0; i < week->count[weekday]; i++) {
            const cal_span_t *span = &week->spans[weekday][i];
            interval_t interval;
            if (s_local_to_ms(day, span->start_min, &interval.from_ms, err) != 0 ||
                s_local_to_ms(day, span->end_min, &interval.to_ms, err) != 0)
                return -1;
            if (interval.from_ms < from_ms)
                interval.from_ms = from_ms;
            if (interval.to_ms > end_ms)
                interval.to_ms = end_ms;
            if (interval.from_ms >= interval.to_ms)
                continue;
            assert(*count < capacity);
            list[(*count)++] = interval;
        }
    }
    return 0;
}

/* Writes LIST as "s-e,s-e" into OUT, or says how much room it needs. */
static int s_write_windows(const interval_t *list, size_t count, char *out, size_t size, err_t *err)
{
    size_t needed = 0;
    for (size_t i = 0; i < count; i++) {
        char *at = needed < size ? out + needed : NULL;
        size_t room = needed < size ? size - needed : 0;
        int written = snprintf(at, room, "%s%lld-%lld", i ? "," : "", (long long)list[i].from_ms,
                               (long long)list[i].to_ms);
        needed += (size_t)written;
    }
    if (needed + 1 > size) {
        if (size > 0)
            out[0] = '\0';
        return err_set(err, ERR_INPUT, "windows need %zu bytes, the buffer holds %zu", needed + 1,
                       size);
    }
    out[needed] = '\0';
    return 0;
}

int cal_windows(const char *tz, const cal_week_t *week, const cal_period_t *ooo, size_t ooo_count,
                int64_t from_ms, int days, char *out, size_t size, err_t *err)
{
    assert(week && (ooo || ooo_count == 0) && (out || size == 0));
    if (days < 1 || days > CAL_DAYS_MAX)
        return err_set(err, ERR_INPUT, "day count %d outside 1..%d", days, CAL_DAYS_MAX);
    if (from_ms < -INSTANT_MS_MAX || from_ms > INSTANT_MS_MAX)
        return err_set(err, ERR_INPUT, "instant %lld ms out of range", (long long)from_ms);
    if (!cal_tz_valid(tz))
        return err_set(err, ERR_INPUT, "unknown time zone \"%s\"", tz ? tz : "(null)");
    int64_t end_ms = from_ms + days * MS_PER_DAY;

    bool ooo_in_range = false;
    for (size_t i = 0; i < ooo_count; i++)
        if (ooo[i].from_ms < ooo[i].to_ms && ooo[i].from_ms < end_ms && ooo[i].to_ms > from_ms)
            ooo_in_range = true;
    if (!week->any && !ooo_in_range) {
        if (size < 2)
            return err_set(err, ERR_INPUT, "windows need 2 bytes, the buffer holds %zu", size);
        memcpy(out, "*", 2);
        return 0;
    }

    /* A UTC range of DAYS days touches at most DAYS + 2 local days (a 23-hour
     * day can sit wholly inside with parts of its neighbours at both ends);
     * each OOO period splits at most one interval in two. */
    size_t base_capacity = week->any ? (size_t)(days + 2) * CAL_SPANS_PER_DAY : 1;
    size_t capacity = base_capacity + ooo_count;
    interval_t *block = malloc(2 * capacity * sizeof *block);
    if (!block)
        return err_set(err, ERR_NOMEM, "windows: out of memory");
    interval_t *list = block, *spare = block + capacity;
    size_t count = 0;
    int rc = 0;
    if (week->any) {
        tz_saved_t saved;
        rc = s_tz_enter(tz, &saved, err);
        if (rc == 0) {
            rc = s_week_intervals(week, from_ms, end_ms, list, base_capacity, &count, err);
            s_tz_leave(&saved);
        }
    } else {
        list[count++] = (interval_t){from_ms, end_ms};
    }
    if (rc == 0) {
        count = s_merge(list, count);
        for (size_t i = 0; i < ooo_count; i++) {
            if (ooo[i].from_ms >= ooo[i].to_ms)
                continue;
            count = s_subtract(list, count, ooo[i], spare);
            interval_t *swap = list;
            list = spare;
            spare = swap;
        }
        rc = s_write_windows(list, count, out, size, err);
    }
    free(block);
    return rc;
}

bool cal_windows_contain(const char *windows, int64_t t)
{
    assert(windows);
    if (strcmp(windows, "*") == 0)
        return true;
    const char *c = windows;
    while (*c) {
        char *end;
        errno = 0;
        long long from_ms = strtoll(c, &end, 10);
        if (end == c || *end != '-' || errno)
            return false;
        c = end + 1;
        long long to_ms = strtoll(c, &end, 10);
        if (end == c || (*end != ',' && *end != '\0') || errno)
            return false;
        if (t >= from_ms && t < to_ms)
            return true;
        c = *end ? end + 1 : end;
    }
    return false;
}
