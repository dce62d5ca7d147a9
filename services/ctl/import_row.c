/* import_row.c — the row half of import_map.h: binds a map's columns to a
 * CSV header, maps each row to a JSON lead or activity (type conversion,
 * dates, defaults) and derives the row's event id. The map itself is built
 * and checked in import_map.c. */
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import_map.h"
#include "import_row.h"
#include "json_codec.h"

const char *import_row_time_target(import_kind_t kind)
{
    return kind == IMPORT_LEAD ? "created_at_ms" : "occurred_at_ms";
}

static bool s_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The cell TEXT without its surrounding spaces: start in *S, length in *N. */
static void s_trim(const char *text, const char **s, size_t *n)
{
    size_t len = strlen(text);
    while (len && s_is_space(*text))
        text++, len--;
    while (len && s_is_space(text[len - 1]))
        len--;
    *s = text;
    *n = len;
}

int import_map_bind(import_map_t *self, const char *const *header, size_t count, err_t *err)
{
    for (size_t f = 0; f <= self->n_fields; f++) {
        s_field_t *field = f < self->n_fields ? &self->fields[f] : &self->id;
        for (size_t c = 0; c < field->n_columns; c++) {
            int found = -1;
            for (size_t h = 0; h < count && found < 0; h++) {
                const char *name;
                size_t n;
                s_trim(header[h], &name, &n);
                if (n == strlen(field->columns[c]) && memcmp(name, field->columns[c], n) == 0)
                    found = (int)h;
            }
            if (found < 0) {
                char names[200] = "";
                size_t used = 0;
                for (size_t h = 0; h < count && used < sizeof names - 1; h++)
                    used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                             h ? ", " : "", header[h]);
                if (used >= sizeof names - 1)
                    memcpy(names + sizeof names - 5, "...", 4);
                return err_set(err, ERR_CONFIG, "%s:%d: %s: column '%s' is not in the header (%s)",
                               self->name, field->line, field->key, field->columns[c], names);
            }
            field->index[c] = found;
        }
    }
    self->bound = true;
    return 0;
}

/* Writes FIELD's value for ROW into OUT (at least VALUE_MAX + 2 * AFFIX_MAX
 * + 1 bytes): the constant or the first non-empty cell, else the default;
 * renamed; cased or slugged; with prefix and suffix. Returns its length (0:
 * nothing), or -1 with *err. *COLUMN names the column it came from. */
static int s_text(const s_field_t *field, const char *const *row, size_t count, char *out,
                  const char **column, err_t *err)
{
    const char *src = field->value;
    size_t n = src ? strlen(src) : 0;
    *column = NULL;
    for (size_t c = 0; c < field->n_columns && !n; c++) {
        if ((size_t)field->index[c] >= count)
            return err_set(err, ERR_INPUT, "%s: the row has no column %s", field->key,
                           field->columns[c]);
        *column = field->columns[c];
        s_trim(row[field->index[c]], &src, &n);
    }
    if (!n && field->fallback)
        src = field->fallback, n = strlen(src);
    const char *to = NULL;
    for (size_t r = 0; n && r < field->n_renames && !to; r++)
        if (strlen(field->renames[r].from) == n && memcmp(field->renames[r].from, src, n) == 0)
            to = field->renames[r].to;
    if (n && field->n_renames && (to || field->other))
        src = to ? to : field->other, n = strlen(src);
    if (n > VALUE_MAX)
        return err_set(err, ERR_INPUT, "%s: longer than %d bytes", field->key, VALUE_MAX);
    size_t len = field->prefix ? strlen(field->prefix) : 0, start = len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (field->slug && !isalnum(c) && c < 0x80) {
            if (len > start && out[len - 1] != '-')
                out[len++] = '-'; /* any run of other characters is one '-' */
            continue;
        }
        if (field->slug && c >= 0x80)
            continue; /* non-ASCII letters: dropped, ids stay plain ASCII */
        out[len++] = (char)(field->slug || field->letter_case == CASE_LOWER ? tolower(c)
                            : field->letter_case == CASE_UPPER              ? toupper(c)
                                                                            : c);
    }
    while (field->slug && len > start && out[len - 1] == '-')
        len--;
    if (len == start) {
        out[0] = '\0';
        return 0;
    }
    if (field->prefix)
        memcpy(out, field->prefix, start);
    if (field->suffix)
        len += (size_t)sprintf(out + len, "%s", field->suffix);
    out[len] = '\0';
    return (int)len;
}

/* Parses TEXT as a number: all of it, finite. */
static bool s_number(const char *text, double *out)
{
    char *end;
    *out = strtod(text, &end);
    return end != text && *end == '\0' && isfinite(*out);
}

/* TEXT as Unix ms per FORMAT, or -1. Times without a zone are UTC. */
static int64_t s_parse_time(const char *format, const char *text)
{
    double v;
    if (strcmp(format, "iso") == 0)
        return json_parse_time(text);
    if (strcmp(format, "unix") == 0 || strcmp(format, "unix_ms") == 0) {
        if (!s_number(text, &v) || v < 0)
            return -1;
        v = format[4] ? v : v * 1000;
        return v < 9e15 ? (int64_t)v : -1;
    }
    struct tm tm = {.tm_mday = 1}, check;
    const char *end = strptime(text, format, &tm);
    if (!end || *end)
        return -1;
    /* timegm normalizes 2018-02-30 to March 2: a date that changes is not one. */
    check = tm;
    int64_t seconds = (int64_t)timegm(&check) - tm.tm_gmtoff;
    if (check.tm_year != tm.tm_year || check.tm_mon != tm.tm_mon || check.tm_mday != tm.tm_mday ||
        check.tm_hour != tm.tm_hour || check.tm_min != tm.tm_min || seconds < 0)
        return -1;
    return seconds * 1000;
}

/* TEXT as FIELD's type: a JSON value for a Lead/Activity field, or, for an
 * attribute (AS_TEXT), its canonical text. NULL with *err when it is not. */
static json_t *s_typed(const s_field_t *field, const char *text, bool as_text, err_t *err)
{
    char buf[64];
    double v;
    switch (field->type) {
    case T_STRING:
        break;
    case T_INTEGER:
        if (!s_number(text, &v) || v != floor(v) || fabs(v) > 9e15)
            break;
        if (!as_text)
            return json_integer((json_int_t)v);
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        return json_string(buf);
    case T_NUMBER:
        if (!s_number(text, &v))
            break;
        if (!as_text)
            return json_real(v);
        snprintf(buf, sizeof buf, "%.15g", v);
        return json_string(buf);
    case T_BOOLEAN:
        snprintf(buf, sizeof buf, " %.8s ", text);
        for (char *p = buf; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!strchr(text, ' ') && strstr(" true yes y t 1 false no n f 0 ", buf))
            return json_string(strstr(" true yes y t 1 ", buf) ? "true" : "false");
        break;
    case T_TIME: {
        int64_t ms = s_parse_time(field->format, text);
        if (ms < 0)
            break;
        if (!as_text)
            return json_integer(ms);
        json_format_time(ms, buf, sizeof buf);
        return json_string(buf);
    }
    }
    if (field->type == T_STRING) {
        json_t *value = json_string(text);
        if (!value)
            err_set(err, ERR_INPUT, "not valid UTF-8 text");
        return value;
    }
    static const char *const what[] = {"", "an integer", "a number", "true or false", "a time"};
    err_set(err, ERR_INPUT, "'%.40s' is not %s%s%s", text, what[field->type],
            field->type == T_TIME ? " of format " : "", field->type == T_TIME ? field->format : "");
    return NULL;
}

/* Sets KEY of OBJ to the string TEXT unless the map already set it. */
static int s_default(json_t *obj, const char *key, const char *text, err_t *err)
{
    if (json_object_get(obj, key))
        return 0;
    json_t *value = json_string(text);
    if (!value)
        return err_set(err, ERR_INPUT, "id: not valid UTF-8 text");
    json_object_set_new(obj, key, value);
    return 0;
}

json_t *import_map_row(const import_map_t *self, const char *const *row, size_t count,
                       int64_t *time_ms, err_t *err)
{
    assert(self->bound);
    char text[VALUE_MAX + 2 * AFFIX_MAX + 1], id[sizeof text];
    const char *column;
    *time_ms = -1;
    int n = s_text(&self->id, row, count, id, &column, err);
    if (n <= 0) {
        if (n == 0)
            err_set(err, ERR_INPUT, "id (column %s) is empty", column);
        return NULL;
    }
    json_t *obj = json_object(), *attributes = NULL;
    json_object_set_new(obj, "kind", json_string(self->kind == IMPORT_LEAD ? "lead" : "activity"));
    for (size_t f = 0; f < self->n_fields; f++) {
        const s_field_t *field = &self->fields[f];
        if ((n = s_text(field, row, count, text, &column, err)) < 0)
            goto fail;
        if (n == 0 && field->required) {
            err_set(err, ERR_INPUT, "%s (column %s) is empty", field->key,
                    column ? column : "(value)");
            goto fail;
        }
        if (n == 0)
            continue;
        bool attribute = strncmp(field->target, "attributes.", 11) == 0;
        json_t *value = s_typed(field, text, attribute, err);
        if (!value) {
            if (column)
                err_wrap(err, "%s (column %s)", field->key, column);
            else
                err_wrap(err, "%s", field->key);
            goto fail;
        }
        if (attribute && !attributes)
            attributes = json_object();
        json_object_set_new(attribute ? attributes : obj, field->target + (attribute ? 11 : 0),
                            value);
    }
    if (attributes)
        json_object_set_new(obj, "attributes", attributes);
    attributes = NULL;
    int rc = self->kind == IMPORT_LEAD
                 ? s_default(obj, "lead_id", id, err) | s_default(obj, "source_id", id, err) |
                       s_default(obj, "source_system", self->source_system, err)
                 : s_default(obj, "activity_id", id, err);
    if (rc < 0)
        goto fail;
    char event_id[IMPORT_EVENT_ID_SIZE];
    import_map_event_id(self->source_system, self->kind, id,
                        json_string_value(json_object_get(obj, "type")), event_id);
    json_object_set_new(obj, "event_id", json_string(event_id));
    json_t *when = json_object_get(obj, import_row_time_target(self->kind));
    if (json_is_integer(when))
        *time_ms = json_integer_value(when);
    return obj;
fail:
    json_decref(attributes);
    json_decref(obj);
    return NULL;
}

/* The splitmix64 finalizer: spreads every input bit over the output. */
static uint64_t s_mix(uint64_t h)
{
    h = (h ^ (h >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    h = (h ^ (h >> 27)) * UINT64_C(0x94d049bb133111eb);
    return h ^ (h >> 31);
}

void import_map_event_id(const char *source_system, import_kind_t kind, const char *id,
                         const char *type, char out[IMPORT_EVENT_ID_SIZE])
{
    /* Two FNV-1a-style hashes over the parts, each with its NUL, so that
     * ("ab", "c") and ("a", "bc") differ. Not cryptographic: ids only need
     * to be stable and not collide by accident. */
    const char *parts[4] = {source_system, kind == IMPORT_LEAD ? "lead" : "activity", id,
                            type ? type : ""};
    uint64_t a = UINT64_C(0xcbf29ce484222325), b = UINT64_C(0x6c62272e07bb0142);
    for (size_t i = 0; i < 4; i++) {
        const unsigned char *p = (const unsigned char *)parts[i];
        do {
            a = (a ^ *p) * UINT64_C(0x100000001b3);
            b = (b ^ *p) * UINT64_C(0x9e3779b97f4a7c15);
        } while (*p++);
    }
    snprintf(out, IMPORT_EVENT_ID_SIZE, "imp-%016llx%016llx", (unsigned long long)s_mix(a),
             (unsigned long long)s_mix(b));
}
