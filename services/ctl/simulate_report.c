/* simulate_report.c — see simulate_report.h. */
#include "simulate_report.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define COLS_MAX 16
#define CELL_MAX 192

typedef struct {
    char a[CELL_MAX], b[CELL_MAX]; /* b: the second run's figure, "" with one run */
} s_cell_t;

/* A table whose cells hold one figure, or two ("A | B"). */
typedef struct {
    const char *headers[COLS_MAX];
    bool left[COLS_MAX];   /* left-aligned (names) rather than right (figures) */
    bool single[COLS_MAX]; /* one value for both runs (names, the history's facts) */
    size_t cols;
    bool pair;
    s_cell_t *cells; /* owned, rows x cols */
    size_t rows, room;
} s_table_t;

/* Terminal columns TEXT takes: UTF-8 continuation bytes take none. */
static size_t s_width(const char *text)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        n += (*c & 0xC0) != 0x80;
    return n;
}

static void s_pad(FILE *out, const char *text, size_t width, bool left)
{
    size_t w = s_width(text);
    if (left)
        fputs(text, out);
    for (; w < width; w++)
        fputc(' ', out);
    if (!left)
        fputs(text, out);
}

static s_cell_t *s_row(s_table_t *table)
{
    if (table->rows == table->room) {
        size_t room = table->room ? 2 * table->room : 64;
        s_cell_t *grown = realloc(table->cells, room * table->cols * sizeof *grown);
        if (!grown)
            return NULL;
        table->cells = grown, table->room = room;
    }
    s_cell_t *row = &table->cells[table->rows++ * table->cols];
    memset(row, 0, table->cols * sizeof *row);
    return row;
}

static void s_table_print(FILE *out, const s_table_t *table)
{
    size_t wa[COLS_MAX] = {0}, wb[COLS_MAX] = {0}, width[COLS_MAX];
    for (size_t r = 0; r < table->rows; r++)
        for (size_t c = 0; c < table->cols; c++) {
            const s_cell_t *cell = &table->cells[r * table->cols + c];
            size_t a = s_width(cell->a), b = s_width(cell->b);
            wa[c] = a > wa[c] ? a : wa[c];
            wb[c] = b > wb[c] ? b : wb[c];
        }
    for (size_t c = 0; c < table->cols; c++) {
        bool pair = table->pair && !table->single[c];
        width[c] = pair ? wa[c] + 3 + wb[c] : wa[c];
        size_t header = s_width(table->headers[c]);
        if (header > width[c]) {
            wa[c] += header - width[c]; /* the figures stay right-aligned */
            width[c] = header;
        }
    }
    for (size_t c = 0; c < table->cols; c++) {
        s_pad(out, table->headers[c], width[c], table->left[c]);
        fputs(c + 1 < table->cols ? "  " : "\n", out);
    }
    for (size_t r = 0; r < table->rows; r++) {
        for (size_t c = 0; c < table->cols; c++) {
            const s_cell_t *cell = &table->cells[r * table->cols + c];
            if (table->pair && !table->single[c]) {
                s_pad(out, cell->a, wa[c], false);
                fputs(" | ", out);
                s_pad(out, cell->b, wb[c], true);
            } else {
                s_pad(out, cell->a, width[c], table->left[c]);
            }
            fputs(c + 1 < table->cols ? "  " : "\n", out);
        }
    }
}

/* --- figures as text ----------------------------------------------------------------- */

static void s_duration(char *out, size_t size, const json_t *seconds)
{
    if (!json_is_number(seconds)) {
        snprintf(out, size, "-");
        return;
    }
    double s = json_number_value(seconds);
    if (s < 60)
        snprintf(out, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(out, size, "%.0fm", s / 60);
    else if (s < 86400)
        snprintf(out, size, "%.1fh", s / 3600);
    else
        snprintf(out, size, "%.1fd", s / 86400);
}

/* "p50/p90/p99" of an object {p50, p90, p99}. */
static void s_waits(char *out, size_t size, const json_t *wait)
{
    char p50[16], p90[16], p99[16];
    s_duration(p50, sizeof p50, json_object_get(wait, "p50"));
    s_duration(p90, sizeof p90, json_object_get(wait, "p90"));
    s_duration(p99, sizeof p99, json_object_get(wait, "p99"));
    snprintf(out, size, "%s/%s/%s", p50, p90, p99);
}

static long long s_int(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

static double s_num(const json_t *obj, const char *key)
{
    return json_number_value(json_object_get(obj, key));
}

/* One figure of ENTITY, by NAME, as text. */
static void s_figure(char *out, size_t size, const json_t *entity, const char *name)
{
    if (!entity) {
        snprintf(out, size, "-");
    } else if (strcmp(name, "open") == 0) {
        snprintf(out, size, "%lld/%.1f", s_int(entity, "open_peak"), s_num(entity, "open_mean"));
    } else if (strcmp(name, "wait") == 0) {
        s_waits(out, size, json_object_get(entity, "wait_s"));
    } else if (strcmp(name, "gini") == 0) {
        snprintf(out, size, "%.3f", s_num(entity, "gini"));
    } else if (strcmp(name, "strategy") == 0 || strcmp(name, "team") == 0) {
        const char *s = json_string_value(json_object_get(entity, name));
        snprintf(out, size, "%s", s && *s ? s : "-");
    } else if (strcmp(name, "caps") == 0) {
        long long daily = s_int(entity, "daily_cap");
        if (daily)
            snprintf(out, size, "%lld/%lld", s_int(entity, "capacity"), daily);
        else
            snprintf(out, size, "%lld/-", s_int(entity, "capacity"));
    } else {
        snprintf(out, size, "%lld", s_int(entity, name));
    }
}

static const char *const s_bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

/* A sparkline of MONTHLY (MONTHS wide) scaled to PEAK; a month with none is a blank. */
static void s_sparkline(char *out, size_t size, const json_t *monthly, size_t months,
                        long long peak)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t m = 0; m < months && used + 4 < size; m++) {
        long long n = (long long)json_integer_value(json_array_get(monthly, m));
        const char *bar = " ";
        if (n > 0 && peak > 0)
            bar = s_bars[(n * 8 - 1) / peak > 7 ? 7 : (n * 8 - 1) / peak];
        used += (size_t)snprintf(out + used, size - used, "%s", bar);
    }
}

static long long s_peak(const json_t *monthly)
{
    long long peak = 0;
    size_t i;
    json_t *v;
    json_array_foreach(monthly, i, v) if (json_integer_value(v) > peak) peak =
        json_integer_value(v);
    return peak;
}

/* The entity of run RUN's list LIST named KEY = NAME, or NULL. */
static const json_t *s_find(const json_t *run, const char *list, const char *key, const char *name)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(run, list), i, item)
    {
        const char *v = json_string_value(json_object_get(item, key));
        if (v && strcmp(v, name) == 0)
            return item;
    }
    return NULL;
}

/* --- the tables ---------------------------------------------------------------------- */

typedef struct {
    const char *header;
    const char *figure; /* see s_figure */
    bool single;        /* the same in both runs: shown once */
} s_column_t;

static const s_column_t s_queue_columns[] = {{"strategy", "strategy", false},
                                             {"reps", "reps", false},
                                             {"assigned", "assigned", false},
                                             {"open pk/mean", "open", false},
                                             {"spread", "spread", false},
                                             {"Gini", "gini", false},
                                             {"SLA breach", "sla_breaches", false},
                                             {"overflowed", "overflowed", false},
                                             {"escalated", "escalations", false},
                                             {"wait p50/p90/p99", "wait", false},
                                             {"waiting at end", "waiting_end", false}};
#define QUEUE_COLUMNS (sizeof s_queue_columns / sizeof s_queue_columns[0])

static const s_column_t s_rep_columns[] = {{"team", "team", true},
                                           {"history", "history_deals", true},
                                           {"cap/daily", "caps", false},
                                           {"assigned", "assigned", false},
                                           {"open pk/mean", "open", false},
                                           {"SLA breach", "sla_breaches", false},
                                           {"wait p50/p90/p99", "wait", false}};
#define REP_COLUMNS (sizeof s_rep_columns / sizeof s_rep_columns[0])

static size_t s_months(const json_t *a, const json_t *b)
{
    size_t months = json_array_size(json_object_get(a, "months"));
    size_t other = b ? json_array_size(json_object_get(b, "months")) : 0;
    return other > months ? other : months;
}

/* The sparkline cells of one entity (A and B on one scale). */
static void s_spark_cells(s_cell_t *cell, const json_t *ea, const json_t *eb, size_t months)
{
    const json_t *ma = json_object_get(ea, "monthly"),
                 *mb = eb ? json_object_get(eb, "monthly") : NULL;
    long long peak = s_peak(ma), pb = mb ? s_peak(mb) : 0;
    peak = pb > peak ? pb : peak;
    s_sparkline(cell->a, sizeof cell->a, ma, months, peak);
    if (mb)
        s_sparkline(cell->b, sizeof cell->b, mb, months, peak);
}

/* A table of LIST ("queues" or "reps"), named by KEY, with COLUMNS; with a
 * sparkline column when INLINE_SPARK. */
static void s_entity_table(FILE *out, const json_t *a, const json_t *b, const char *list,
                           const char *key, const char *title, const s_column_t *columns,
                           size_t column_count, bool inline_spark)
{
    assert(column_count + 2 <= COLS_MAX);
    s_table_t table = {.pair = b != NULL};
    table.headers[table.cols] = title;
    table.left[table.cols] = table.single[table.cols] = true;
    table.cols++;
    for (size_t c = 0; c < column_count; c++) {
        table.headers[table.cols] = columns[c].header;
        table.left[table.cols] = strcmp(columns[c].figure, "team") == 0;
        table.single[table.cols++] = columns[c].single;
    }
    if (inline_spark) {
        table.headers[table.cols] = "by month";
        table.left[table.cols] = table.single[table.cols] = true;
        table.cols++;
    }
    size_t months = s_months(a, b);
    size_t i;
    json_t *ea;
    json_array_foreach(json_object_get(a, list), i, ea)
    {
        const char *name = json_string_value(json_object_get(ea, key));
        const json_t *eb = b ? s_find(b, list, key, name) : NULL;
        s_cell_t *row = s_row(&table);
        if (!row)
            break;
        snprintf(row[0].a, sizeof row[0].a, "%s", name);
        for (size_t c = 0; c < column_count; c++) {
            s_cell_t *cell = &row[c + 1];
            s_figure(cell->a, sizeof cell->a, ea, columns[c].figure);
            if (b && !columns[c].single)
                s_figure(cell->b, sizeof cell->b, eb, columns[c].figure);
        }
        if (inline_spark)
            s_spark_cells(&row[table.cols - 1], ea, NULL, months);
    }
    s_table_print(out, &table);
    free(table.cells);
}

/* With two runs: the sparklines of both, side by side, in a table of their own. */
static void s_month_table(FILE *out, const json_t *a, const json_t *b)
{
    size_t months = s_months(a, b);
    const json_t *labels =
        json_object_get(json_array_size(json_object_get(a, "months")) >= months ? a : b, "months");
    char title[96];
    snprintf(title, sizeof title, "assignments per month, %s .. %s",
             json_string_value(json_array_get(labels, 0)),
             json_string_value(json_array_get(labels, months ? months - 1 : 0)));
    s_table_t table = {.pair = false, .cols = 3};
    static const char *const headers[] = {"queue or rep", "A", "B"};
    for (size_t c = 0; c < 3; c++)
        table.headers[c] = headers[c], table.left[c] = table.single[c] = true;
    static const char *const lists[] = {"queues", "reps"};
    static const char *const keys[] = {"name", "id"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *ea;
        json_array_foreach(json_object_get(a, lists[l]), i, ea)
        {
            const char *name = json_string_value(json_object_get(ea, keys[l]));
            s_cell_t *row = s_row(&table);
            if (!row)
                break;
            snprintf(row[0].a, sizeof row[0].a, "%s", name);
            s_cell_t spark;
            s_spark_cells(&spark, ea, s_find(b, lists[l], keys[l], name), months);
            memcpy(row[1].a, spark.a, sizeof spark.a);
            memcpy(row[2].a, spark.b, sizeof spark.b);
        }
    }
    fprintf(out, "\n%s (A and B on one scale per line)\n", title);
    s_table_print(out, &table);
    free(table.cells);
}

static void s_leads_line(FILE *out, const char *label, const json_t *run)
{
    const json_t *leads = json_object_get(run, "leads");
    fprintf(out,
            "%s %s: rows %lld = assigned %lld + waiting %lld + not_routed %lld + skipped %lld "
            "(no engage_date); closed %lld\n",
            label, json_string_value(json_object_get(run, "config")), s_int(leads, "rows"),
            s_int(leads, "assigned"), s_int(leads, "waiting"), s_int(leads, "not_routed"),
            s_int(leads, "skipped"), s_int(leads, "closed"));
}

void sim_report_print(FILE *out, const json_t *a, const json_t *b)
{
    const json_t *span = json_object_get(a, "span");
    fprintf(out, "Simulated %s .. %s (history time)%s\n",
            json_string_value(json_object_get(span, "from")),
            json_string_value(json_object_get(span, "to")), b ? "; each figure reads A | B" : "");
    s_leads_line(out, b ? "A" : "config", a);
    if (b)
        s_leads_line(out, "B", b);
    fputc('\n', out);
    s_entity_table(out, a, b, "queues", "name", "queue", s_queue_columns, QUEUE_COLUMNS, !b);
    fputc('\n', out);
    s_entity_table(out, a, b, "reps", "id", "rep", s_rep_columns, REP_COLUMNS, !b);
    if (b)
        s_month_table(out, a, b);
    fprintf(out, "\nopen: leads held at once (peak/time-weighted mean); spread: most minus "
                 "fewest assignments among a queue's reps; Gini: 0 even .. 1 one rep has all; "
                 "wait: intake to first assignment; history: the agent's deals in the file\n");
}

static void s_run_summary(FILE *out, const json_t *run)
{
    const json_t *all = json_object_get(run, "all"), *leads = json_object_get(run, "leads");
    char waits[64];
    s_waits(waits, sizeof waits, json_object_get(all, "wait_s"));
    fprintf(out,
            "%s: %lld leads assigned, %lld waiting, %lld skipped; %lld SLA breaches, %lld "
            "overflowed, %lld escalated; wait p50/p90/p99 %s; %.1f s",
            json_string_value(json_object_get(run, "config")), s_int(leads, "assigned"),
            s_int(leads, "waiting"), s_int(leads, "skipped"), s_int(all, "sla_breaches"),
            s_int(all, "overflowed"), s_int(all, "escalations"), waits,
            s_num(json_object_get(run, "span"), "wall_s"));
}

void sim_report_summary(FILE *out, const json_t *a, const json_t *b)
{
    fputs(b ? "simulate: A " : "simulate: ", out);
    s_run_summary(out, a);
    if (b) {
        fputs(" | B ", out);
        s_run_summary(out, b);
    }
    fputc('\n', out);
}
