/* simulate_history.c — see simulate_history.h. */
#include "simulate_history.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "csv.h"

#define DAY_MS             86400000LL
#define HOUR_MS            3600000LL
#define BUSINESS_START_MIN (8 * 60)  /* 08:00 local */
#define BUSINESS_MINUTES   (10 * 60) /* to 18:00 */

/* Salts of the draws, so that a lead's arrival and close times differ. */
enum { SALT_ARRIVE = 1, SALT_CLOSE = 2 };

struct sim_history {
    sim_lead_t *leads; /* owned, count of them, in arrival order */
    size_t count, room;
    char **strings; /* owned: every string a lead points to */
    size_t string_count, string_room;
    uint64_t rows, skipped;
    json_t *agent_deals; /* owned: agent slug -> opportunities */
    json_t *id_lines;    /* owned while loading: opportunity_id -> its line */
};

/* One CSV file being read: its header, the columns wanted, the first
 * problem and how many rows had one. */
typedef struct {
    const char *path; /* borrowed */
    FILE *file;       /* owned */
    csv_reader_t *csv;
    size_t field_count; /* of the header */
    uint64_t bad_rows;
    err_t first; /* the first problem, "FILE:LINE: reason" */
} s_file_t;

uint64_t sim_hash(uint64_t seed, uint64_t a, uint64_t b)
{
    /* splitmix64's finalizer over a mix of the three: cheap and well spread. */
    uint64_t z = seed * 0x9E3779B97F4A7C15ULL ^
                 (a + 0xBF58476D1CE4E5B9ULL) * 0x94D049BB133111EBULL ^
                 (b + 0x2545F4914F6CDD1DULL) * 0xD6E8FEB86659FD93ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

const char *sim_slug(const char *name, char *out, size_t size)
{
    size_t len = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c && len + 1 < size; c++) {
        if (*c >= 0x80)
            continue;
        if (!isalnum(*c)) {
            if (len > 0 && out[len - 1] != '-')
                out[len++] = '-';
            continue;
        }
        out[len++] = (char)tolower(*c);
    }
    while (len > 0 && out[len - 1] == '-')
        len--;
    out[len] = '\0';
    return out;
}

static void s_problem(s_file_t *f, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a bad row: the first is kept as "FILE:LINE: reason", the others counted. */
static void s_problem(s_file_t *f, uint64_t line, const char *fmt, ...)
{
    if (f->bad_rows++ > 0)
        return;
    char reason[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    err_set(&f->first, ERR_INPUT, "%s:%llu: %s", f->path, (unsigned long long)line, reason);
}

/* A CSV error reads "line N: reason" (csv.h). */
static void s_csv_problem(s_file_t *f, const err_t *why)
{
    const char *reason = strncmp(why->msg, "line ", 5) == 0 ? strstr(why->msg, ": ") : NULL;
    uint64_t line = reason ? strtoull(why->msg + 5, NULL, 10) : csv_record_line(f->csv);
    s_problem(f, line, "%s", reason ? reason + 2 : why->msg);
}

static void s_file_close(s_file_t *f)
{
    csv_reader_destroy(&f->csv);
    if (f->file)
        fclose(f->file);
    f->file = NULL;
}

/* Opens PATH and reads its header; INDEX[i] gets the column of NAMES[i]
 * (-1 when absent: an error when REQUIRED[i]). */
static int s_file_open(s_file_t *f, const char *path, const char *const *names,
                       const bool *required, int *index, size_t count, err_t *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    if (!(f->file = fopen(path, "r")))
        return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    if (!(f->csv = csv_reader_new(f->file))) {
        s_file_close(f);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    err_t why = {0};
    int rc = csv_read(f->csv, &why);
    if (rc <= 0) {
        s_file_close(f);
        if (rc == 0)
            return err_set(err, ERR_INPUT, "%s:1: empty file, expected a header line", path);
        return err_set(err, why.code, "%s: %s", path, why.msg);
    }
    const char *const *header = csv_fields(f->csv, &f->field_count);
    for (size_t i = 0; i < count; i++) {
        index[i] = -1;
        for (size_t c = 0; c < f->field_count; c++)
            if (strcmp(header[c], names[i]) == 0)
                index[i] = (int)c;
        if (index[i] < 0 && required[i]) {
            uint64_t line = csv_record_line(f->csv);
            s_file_close(f);
            return err_set(err, ERR_INPUT, "%s:%llu: no column \"%s\" in the header", path,
                           (unsigned long long)line, names[i]);
        }
    }
    return 0;
}

/* Reads the next data row into *FIELDS: 1, or 0 at the end, or -1 on a
 * read error (ERR_IO, in *err). A bad row is recorded and skipped. */
static int s_file_row(s_file_t *f, const char *const **fields, err_t *err)
{
    for (;;) {
        err_t why = {0};
        int rc = csv_read(f->csv, &why);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            if (why.code == ERR_IO)
                return err_set(err, ERR_IO, "%s: %s", f->path, why.msg);
            s_csv_problem(f, &why);
            continue;
        }
        size_t count;
        *fields = csv_fields(f->csv, &count);
        if (count != f->field_count) {
            s_problem(f, csv_record_line(f->csv), "%zu fields, the header has %zu (a ragged row)",
                      count, f->field_count);
            continue;
        }
        return 1;
    }
}

/* The file's outcome: 0, or -1 with the first problem (and how many more). */
static int s_file_finish(s_file_t *f, err_t *err)
{
    s_file_close(f);
    if (!f->bad_rows)
        return 0;
    if (f->bad_rows == 1)
        return err_set(err, ERR_INPUT, "%s", f->first.msg);
    return err_set(err, ERR_INPUT, "%s (and %llu more bad rows)", f->first.msg,
                   (unsigned long long)(f->bad_rows - 1));
}

static const char *s_keep(sim_history_t *self, const char *text)
{
    if (self->string_count == self->string_room) {
        size_t room = self->string_room ? 2 * self->string_room : 1024;
        char **grown = realloc(self->strings, room * sizeof *grown);
        if (!grown)
            return NULL;
        self->strings = grown, self->string_room = room;
    }
    char *copy = strdup(text);
    if (copy)
        self->strings[self->string_count++] = copy;
    return copy;
}

/* "GTX Plus Pro" -> "GTX", "GTXPro" -> "GTX", "MG Special" -> "MG": the
 * leading capitals, less the one that starts the next word. */
static void s_series(const char *product, char *out, size_t size)
{
    size_t n = 0;
    while (product[n] && isupper((unsigned char)product[n]) && n + 1 < size)
        n++;
    if (n > 1 && islower((unsigned char)product[n]))
        n--;
    memcpy(out, product, n);
    out[n] = '\0';
}

/* DATE ("YYYY-MM-DD") at a time of business hours drawn for (SEED, LINE,
 * SALT), into *MS. Returns 0, or -1 with the reason in WHY. */
static int s_business_time(const char *date, uint64_t seed, uint64_t line, int salt, int64_t *ms,
                           char *why, size_t why_size)
{
    err_t err = {0};
    if (strlen(date) != 10 || cal_parse_local(SIM_INTAKE_TZ, date, false, ms, &err) < 0) {
        snprintf(why, why_size, "\"%.40s\" is not a date (YYYY-MM-DD)", date);
        return -1;
    }
    int minute =
        BUSINESS_START_MIN + (int)(sim_hash(seed, line, (uint64_t)salt) % BUSINESS_MINUTES);
    char text[32];
    snprintf(text, sizeof text, "%sT%02d:%02d", date, minute / 60, minute % 60);
    if (cal_parse_local(SIM_INTAKE_TZ, text, false, ms, &err) < 0) {
        snprintf(why, why_size, "%.200s", err.msg);
        return -1;
    }
    return 0;
}

/* A lookup file: KEY column -> an object of the VALUE columns' texts. */
static json_t *s_load_lookup(const char *path, const char *key, const char *const *values,
                             size_t value_count, err_t *err)
{
    const char *names[8];
    bool required[8];
    int index[8];
    names[0] = key;
    for (size_t i = 0; i < value_count; i++)
        names[i + 1] = values[i];
    for (size_t i = 0; i <= value_count; i++)
        required[i] = true;
    s_file_t f;
    if (s_file_open(&f, path, names, required, index, value_count + 1, err) < 0)
        return NULL;
    json_t *table = json_object();
    const char *const *fields;
    int rc;
    while ((rc = s_file_row(&f, &fields, err)) > 0) {
        json_t *row = json_object();
        for (size_t i = 0; i < value_count; i++)
            json_object_set_new(row, values[i], json_string(fields[index[i + 1]]));
        json_object_set_new(table, fields[index[0]], row);
    }
    if (rc < 0 || s_file_finish(&f, err) < 0) {
        s_file_close(&f);
        json_decref(table);
        return NULL;
    }
    return table;
}

static const char *s_lookup(const json_t *table, const char *key, const char *value)
{
    const char *text = json_string_value(json_object_get(json_object_get(table, key), value));
    return text ? text : "";
}

enum { COL_ID, COL_AGENT, COL_PRODUCT, COL_ACCOUNT, COL_STAGE, COL_ENGAGE, COL_CLOSE, COL_COUNT };

/* Turns one data row into a lead; 0, or -1 with the reason in WHY. */
static int s_add_row(sim_history_t *self, const sim_history_options_t *opts, const int *col,
                     const char *const *fields, uint64_t line, const json_t *accounts,
                     const json_t *teams, char *why, size_t why_size)
{
    const char *id = fields[col[COL_ID]], *engage = fields[col[COL_ENGAGE]];
    const char *close = fields[col[COL_CLOSE]];
    if (!*id) {
        snprintf(why, why_size, "no opportunity_id");
        return -1;
    }
    json_t *seen = json_object_get(self->id_lines, id);
    if (seen) {
        snprintf(why, why_size, "opportunity_id %.64s again (first on line %lld)", id,
                 (long long)json_integer_value(seen));
        return -1;
    }
    json_object_set_new(self->id_lines, id, json_integer((json_int_t)line));
    if (!*engage) {
        self->skipped++;
        return 0;
    }
    sim_lead_t lead = {.line = line};
    if (s_business_time(engage, opts->seed, line, SALT_ARRIVE, &lead.arrive_ms, why, why_size) <
        0) {
        size_t len = strlen(why);
        snprintf(why + len, why_size - len, " in engage_date");
        return -1;
    }
    if (*close) {
        if (s_business_time(close, opts->seed, line, SALT_CLOSE, &lead.close_ms, why, why_size) <
            0) {
            size_t len = strlen(why);
            snprintf(why + len, why_size - len, " in close_date");
            return -1;
        }
        if (strcmp(close, engage) < 0) {
            snprintf(why, why_size, "close_date %s is before engage_date %s", close, engage);
            return -1;
        }
        /* Closed the day it was engaged: an hour's work at least. */
        if (lead.close_ms < lead.arrive_ms + HOUR_MS)
            lead.close_ms = lead.arrive_ms + HOUR_MS;
    } else {
        lead.close_ms = lead.arrive_ms + (int64_t)opts->open_days * DAY_MS;
    }
    char text[256], slug[128];
    const char *agent = col[COL_AGENT] >= 0 ? fields[col[COL_AGENT]] : "";
    const char *product = col[COL_PRODUCT] >= 0 ? fields[col[COL_PRODUCT]] : "";
    const char *account = col[COL_ACCOUNT] >= 0 ? fields[col[COL_ACCOUNT]] : "";
    snprintf(text, sizeof text, "maven-%s", id);
    lead.id = s_keep(self, text);
    snprintf(text, sizeof text, "%s", fields[col[COL_STAGE]]);
    for (char *c = text; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    lead.outcome = s_keep(self, *text ? text : "open");
    lead.company = s_keep(self, account);
    lead.industry = s_keep(self, s_lookup(accounts, account, "sector"));
    lead.country = s_keep(self, s_lookup(accounts, account, "office_location"));
    lead.product = s_keep(self, product);
    s_series(product, text, sizeof text);
    lead.series = s_keep(self, text);
    lead.agent = s_keep(self, sim_slug(agent, slug, sizeof slug));
    lead.office = s_keep(self, s_lookup(teams, agent, "regional_office"));
    lead.manager = s_keep(self, s_lookup(teams, agent, "manager"));
    if (!lead.id || !lead.outcome || !lead.company || !lead.industry || !lead.country ||
        !lead.product || !lead.series || !lead.agent || !lead.office || !lead.manager) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    if (*slug) {
        json_t *n = json_object_get(self->agent_deals, slug);
        json_object_set_new(self->agent_deals, slug,
                            json_integer(n ? json_integer_value(n) + 1 : 1));
    }
    if (self->count == self->room) {
        size_t room = self->room ? 2 * self->room : 1024;
        sim_lead_t *grown = realloc(self->leads, room * sizeof *grown);
        if (!grown) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        self->leads = grown, self->room = room;
    }
    self->leads[self->count++] = lead;
    return 0;
}

static int s_by_arrival(const void *a, const void *b)
{
    const sim_lead_t *x = a, *y = b;
    if (x->arrive_ms != y->arrive_ms)
        return x->arrive_ms < y->arrive_ms ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int s_load_pipeline(sim_history_t *self, const sim_history_options_t *opts,
                           const json_t *accounts, const json_t *teams, err_t *err)
{
    static const char *const names[COL_COUNT] = {"opportunity_id", "sales_agent", "product",
                                                 "account",        "deal_stage",  "engage_date",
                                                 "close_date"};
    static const bool required[COL_COUNT] = {true, false, false, false, true, true, true};
    int col[COL_COUNT];
    s_file_t f;
    if (s_file_open(&f, opts->pipeline_path, names, required, col, COL_COUNT, err) < 0)
        return -1;
    const char *const *fields;
    int rc;
    while ((rc = s_file_row(&f, &fields, err)) > 0) {
        self->rows++;
        char why[ERR_MSG_MAX - 64];
        uint64_t line = csv_record_line(f.csv);
        if (s_add_row(self, opts, col, fields, line, accounts, teams, why, sizeof why) < 0)
            s_problem(&f, line, "%s", why);
    }
    if (rc < 0 || s_file_finish(&f, err) < 0) {
        s_file_close(&f);
        return -1;
    }
    qsort(self->leads, self->count, sizeof *self->leads, s_by_arrival);
    return 0;
}

sim_history_t *sim_history_load(const sim_history_options_t *opts, err_t *err)
{
    sim_history_t *self = calloc(1, sizeof *self);
    json_t *accounts = NULL, *teams = NULL;
    if (!self || !(self->agent_deals = json_object()) || !(self->id_lines = json_object())) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto fail;
    }
    static const char *const account_values[] = {"sector", "office_location"};
    static const char *const team_values[] = {"manager", "regional_office"};
    if (opts->accounts_path &&
        !(accounts = s_load_lookup(opts->accounts_path, "account", account_values, 2, err)))
        goto fail;
    if (opts->teams_path &&
        !(teams = s_load_lookup(opts->teams_path, "sales_agent", team_values, 2, err)))
        goto fail;
    if (s_load_pipeline(self, opts, accounts, teams, err) < 0)
        goto fail;
    json_decref(self->id_lines); /* only for loading */
    self->id_lines = NULL;
    json_decref(accounts);
    json_decref(teams);
    return self;
fail:
    json_decref(accounts);
    json_decref(teams);
    sim_history_destroy(&self);
    return NULL;
}

void sim_history_destroy(sim_history_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sim_history_t *self = *self_p;
    for (size_t i = 0; i < self->string_count; i++)
        free(self->strings[i]);
    free(self->strings);
    free(self->leads);
    json_decref(self->agent_deals);
    json_decref(self->id_lines);
    free(self);
    *self_p = NULL;
}

size_t sim_history_count(const sim_history_t *self)
{
    return self->count;
}

const sim_lead_t *sim_history_lead(const sim_history_t *self, size_t index)
{
    return index < self->count ? &self->leads[index] : NULL;
}

uint64_t sim_history_rows(const sim_history_t *self)
{
    return self->rows;
}

uint64_t sim_history_skipped(const sim_history_t *self)
{
    return self->skipped;
}

uint64_t sim_history_agent_deals(const sim_history_t *self, const char *agent)
{
    return (uint64_t)json_integer_value(json_object_get(self->agent_deals, agent));
}
