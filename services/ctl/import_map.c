#include "import_map.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_codec.h"
#include "yaml_tree.h"

#define COLUMNS_MAX 8    /* columns one field may fall back through */
#define VALUE_MAX   1024 /* json_codec refuses longer strings anyway: say so per row */
#define AFFIX_MAX   128  /* prefix, suffix */
#define KEY_MAX     160

typedef enum { T_STRING = 0, T_INTEGER, T_NUMBER, T_BOOLEAN, T_TIME } s_type_t;
static const char *const s_type_names[] = {"string", "integer", "number", "boolean", "time"};

typedef enum { CASE_KEEP = 0, CASE_LOWER, CASE_UPPER } s_case_t;

typedef struct {
    char *from, *to; /* owned */
} s_rename_t;

/* Where one target field's value comes from and how it changes on the way. */
typedef struct {
    char *target;               /* owned; proto field name or "attributes.KEY"; NULL for id */
    char key[KEY_MAX];          /* the mapping key, for messages: "fields.source" */
    int line;                   /* of that key in the mapping file */
    char *columns[COLUMNS_MAX]; /* owned; the first non-empty cell wins */
    int index[COLUMNS_MAX];     /* their positions in the header, once bound */
    size_t n_columns;           /* 0 when VALUE is set */
    char *value;                /* owned; a constant, or NULL */
    char *prefix, *suffix;      /* owned; added to a non-empty value */
    char *fallback;             /* owned; `default:`, for an empty cell; or NULL */
    char *other;                /* owned; for a value RENAMES lacks; NULL keeps it */
    s_rename_t *renames;        /* owned */
    size_t n_renames;           /* ... */
    s_type_t type;              /* what the text must be */
    char *format;               /* owned; time: "iso", "unix", "unix_ms" or strptime */
    s_case_t letter_case;       /* ... */
    bool slug;                  /* lower-case ASCII letters, digits and '-' only */
    bool required;              /* an empty value makes the row bad */
} s_field_t;

struct import_map {
    char *name;          /* owned; the mapping file, for messages */
    import_kind_t kind;  /* ... */
    char *source_system; /* owned */
    s_field_t id;        /* the record's id */
    s_field_t *fields;   /* owned */
    size_t n_fields;     /* ... */
    bool bound;          /* import_map_bind succeeded */
};

/* The target fields of each kind that take text; the typed ones are in
 * s_target_type. */
static const char s_lead_texts[] = " lead_id email first_name last_name phone company domain title "
                                   "industry country region city postal_code source campaign "
                                   "source_system source_id language ";
static const char s_activity_texts[] = " activity_id lead_id type rep_id channel outcome ";

/* The type of TARGET, a proto field of KIND's message; false when unknown. */
static bool s_target_type(import_kind_t kind, const char *target, s_type_t *type)
{
    char word[KEY_MAX + 2];
    snprintf(word, sizeof word, " %s ", target);
    bool lead = kind == IMPORT_LEAD;
    if (strstr(lead ? s_lead_texts : s_activity_texts, word))
        *type = T_STRING;
    else if (lead && strcmp(target, "company_size") == 0)
        *type = T_INTEGER;
    else if (strcmp(target, lead ? "annual_revenue" : "value") == 0)
        *type = T_NUMBER;
    else if (strcmp(target, lead ? "created_at_ms" : "occurred_at_ms") == 0)
        *type = T_TIME;
    else
        return false;
    return true;
}

static const char *s_time_target(import_kind_t kind)
{
    return kind == IMPORT_LEAD ? "created_at_ms" : "occurred_at_ms";
}

static int s_fail(err_t *err, const import_map_t *self, int line, const char *key, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

static int s_fail(err_t *err, const import_map_t *self, int line, const char *key, const char *fmt,
                  ...)
{
    char reason[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return err_set(err, ERR_CONFIG, "%s:%d: %s: %s", self->name, line, key, reason);
}

static char *s_strdup(const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        abort();
    return copy;
}

static void s_field_free(s_field_t *field)
{
    free(field->target);
    for (size_t i = 0; i < field->n_columns; i++)
        free(field->columns[i]);
    free(field->value);
    free(field->prefix);
    free(field->suffix);
    free(field->fallback);
    free(field->other);
    for (size_t i = 0; i < field->n_renames; i++) {
        free(field->renames[i].from);
        free(field->renames[i].to);
    }
    free(field->renames);
    free(field->format);
}

void import_map_destroy(import_map_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    import_map_t *self = *self_p;
    s_field_free(&self->id);
    for (size_t i = 0; i < self->n_fields; i++)
        s_field_free(&self->fields[i]);
    free(self->fields);
    free(self->source_system);
    free(self->name);
    free(self);
    *self_p = NULL;
}

import_kind_t import_map_kind(const import_map_t *self)
{
    return self->kind;
}

/* Copies NODE's text into *OUT (a YAML null is ""), or fails: not a scalar. */
static int s_scalar(const import_map_t *self, const yaml_tree_node_t *node, const char *key,
                    char **out, err_t *err)
{
    if (node->kind != YAML_TREE_SCALAR)
        return s_fail(err, self, node->line, key, "expected a scalar, got %s",
                      yaml_tree_kind_name(node->kind));
    free(*out);
    *out = s_strdup(yaml_tree_is_null(node) ? "" : node->text);
    return 0;
}

static int s_bool(const import_map_t *self, const yaml_tree_node_t *node, const char *key,
                  bool *out, err_t *err)
{
    const char *text = node->kind == YAML_TREE_SCALAR ? node->text : "";
    if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0)
        *out = true;
    else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0)
        *out = false;
    else
        return s_fail(err, self, node->line, key, "expected true or false");
    return 0;
}

/* Reads `column:` (a name or a list of names). */
static int s_columns(const import_map_t *self, const yaml_tree_node_t *node, const char *key,
                     s_field_t *field, err_t *err)
{
    size_t n = node->kind == YAML_TREE_LIST ? node->count : 1;
    if (n == 0 || n > COLUMNS_MAX)
        return s_fail(err, self, node->line, key, "expected 1 to %d column names", COLUMNS_MAX);
    for (size_t i = 0; i < n; i++) {
        const yaml_tree_node_t *item = node->kind == YAML_TREE_LIST ? node->items[i] : node;
        if (s_scalar(self, item, key, &field->columns[i], err) < 0)
            return -1;
        field->n_columns = i + 1;
        if (!*field->columns[i])
            return s_fail(err, self, item->line, key, "empty column name");
    }
    return 0;
}

static int s_renames(const import_map_t *self, const yaml_tree_node_t *node, const char *key,
                     s_field_t *field, err_t *err)
{
    if (node->kind != YAML_TREE_MAP)
        return s_fail(err, self, node->line, key, "expected a mapping of value: new value");
    field->renames = calloc(node->count ? node->count : 1, sizeof *field->renames);
    if (!field->renames)
        abort();
    for (size_t i = 0; i < node->count; i++) {
        field->renames[i].from = s_strdup(node->pairs[i].key);
        field->n_renames = i + 1;
        if (s_scalar(self, node->pairs[i].value, key, &field->renames[i].to, err) < 0)
            return -1;
    }
    return 0;
}

static int s_option(const import_map_t *self, const yaml_tree_pair_t *pair, s_field_t *field,
                    err_t *err)
{
    char key[KEY_MAX + 64];
    snprintf(key, sizeof key, "%s.%.60s", field->key, pair->key);
    const yaml_tree_node_t *v = pair->value;
    const char *name = pair->key;
    if (strcmp(name, "column") == 0)
        return s_columns(self, v, key, field, err);
    if (strcmp(name, "rename") == 0)
        return s_renames(self, v, key, field, err);
    if (strcmp(name, "slug") == 0)
        return s_bool(self, v, key, &field->slug, err);
    if (strcmp(name, "required") == 0)
        return s_bool(self, v, key, &field->required, err);
    char *text = NULL;
    if (s_scalar(self, v, key, &text, err) < 0)
        return -1;
    char **slot = strcmp(name, "value") == 0     ? &field->value
                  : strcmp(name, "prefix") == 0  ? &field->prefix
                  : strcmp(name, "suffix") == 0  ? &field->suffix
                  : strcmp(name, "default") == 0 ? &field->fallback
                  : strcmp(name, "other") == 0   ? &field->other
                  : strcmp(name, "format") == 0  ? &field->format
                                                 : NULL;
    if (slot) {
        free(*slot);
        *slot = text;
        if ((slot == &field->prefix || slot == &field->suffix) && strlen(text) > AFFIX_MAX)
            return s_fail(err, self, v->line, key, "longer than %d bytes", AFFIX_MAX);
        return 0;
    }
    int rc = 0;
    if (strcmp(name, "case") == 0) {
        if (strcmp(text, "lower") == 0 || strcmp(text, "upper") == 0 || strcmp(text, "keep") == 0)
            field->letter_case = text[0] == 'l' ? CASE_LOWER : text[0] == 'u' ? CASE_UPPER : 0;
        else
            rc = s_fail(err, self, v->line, key, "expected lower, upper or keep");
    } else if (strcmp(name, "type") == 0) {
        size_t t = 0;
        while (t < 5 && strcmp(text, s_type_names[t]) != 0)
            t++;
        if (t == 5)
            rc = s_fail(err, self, v->line, key,
                        "expected string, integer, number, boolean or time, got '%s'", text);
        else
            field->type = (s_type_t)t;
    } else {
        rc = s_fail(err, self, pair->key_line, key,
                    "unknown key (known: column, value, rename, other, default, type, format, "
                    "case, slug, prefix, suffix, required)");
    }
    free(text);
    return rc;
}

/* Reads one field spec: a column name, or a mapping of options. TYPE is
 * the target's type; SETTABLE says whether `type:` may change it. */
static int s_spec(const import_map_t *self, const yaml_tree_node_t *node, s_field_t *field,
                  s_type_t type, bool settable, err_t *err)
{
    field->type = type;
    if (node->kind != YAML_TREE_MAP) /* in short: a column name, or a list of them */
        return s_columns(self, node, field->key, field, err);
    for (size_t i = 0; i < node->count; i++)
        if (s_option(self, &node->pairs[i], field, err) < 0)
            return -1;
    if (!settable && field->type != type)
        return s_fail(err, self, field->line, field->key, "this field is of type %s, not %s",
                      s_type_names[type], s_type_names[field->type]);
    if ((field->n_columns > 0) == (field->value != NULL))
        return s_fail(err, self, field->line, field->key, "needs either column or value");
    if (field->format && field->type != T_TIME)
        return s_fail(err, self, field->line, field->key, "format is for type time");
    if (field->type == T_TIME && !field->format)
        field->format = s_strdup("iso");
    if (field->type == T_TIME && !strchr(field->format, '%') && strcmp(field->format, "iso") != 0 &&
        strcmp(field->format, "unix") != 0 && strcmp(field->format, "unix_ms") != 0)
        return s_fail(err, self, field->line, field->key,
                      "format: expected iso, unix, unix_ms or a strptime format like %%Y-%%m-%%d");
    return 0;
}

static s_field_t *s_add_field(import_map_t *self, const char *target, const char *key, int line)
{
    for (size_t i = 0; i < self->n_fields; i++)
        if (strcmp(self->fields[i].target, target) == 0)
            return NULL;
    self->fields = realloc(self->fields, (self->n_fields + 1) * sizeof *self->fields);
    if (!self->fields)
        abort();
    s_field_t *field = &self->fields[self->n_fields++];
    memset(field, 0, sizeof *field);
    field->target = s_strdup(target);
    snprintf(field->key, sizeof field->key, "%s", key);
    field->line = line;
    return field;
}

static int s_target_field(import_map_t *self, const yaml_tree_pair_t *pair, err_t *err)
{
    char key[KEY_MAX];
    snprintf(key, sizeof key, "fields.%.140s", pair->key);
    const char *target = pair->key;
    if (strcmp(target, "created_at") == 0 || strcmp(target, "occurred_at") == 0)
        target = s_time_target(self->kind); /* the JSON aliases: one field */
    s_type_t type = T_STRING;
    bool known = s_target_type(self->kind, target, &type);
    bool attribute = strncmp(target, "attributes.", 11) == 0 && target[11] && strlen(target) <= 75;
    if (!known && !attribute)
        return s_fail(err, self, pair->key_line, key,
                      "not a field of %s (a proto field name or "
                      "attributes.KEY)",
                      self->kind == IMPORT_LEAD ? "a Lead" : "an Activity");
    s_field_t *field = s_add_field(self, target, key, pair->key_line);
    if (!field)
        return s_fail(err, self, pair->key_line, key, "%s is mapped twice", target);
    return s_spec(self, pair->value, field, known ? type : T_STRING, attribute, err);
}

static int s_load(import_map_t *self, const yaml_tree_node_t *root, err_t *err)
{
    if (root->kind != YAML_TREE_MAP)
        return s_fail(err, self, root->line, "(top)", "expected a mapping");
    const char *missing = !yaml_tree_get(root, "kind")            ? "kind"
                          : !yaml_tree_get(root, "source_system") ? "source_system"
                          : !yaml_tree_get(root, "id")            ? "id"
                                                                  : NULL;
    if (missing)
        return s_fail(err, self, root->line, missing, "required");
    const yaml_tree_node_t *kind = yaml_tree_get(root, "kind");
    if (kind->kind != YAML_TREE_SCALAR ||
        (strcmp(kind->text, "lead") != 0 && strcmp(kind->text, "activity") != 0))
        return s_fail(err, self, kind->line, "kind", "expected lead or activity");
    self->kind = strcmp(kind->text, "lead") == 0 ? IMPORT_LEAD : IMPORT_ACTIVITY;
    for (size_t i = 0; i < root->count; i++) {
        const yaml_tree_pair_t *pair = &root->pairs[i];
        const yaml_tree_node_t *v = pair->value;
        int rc = 0;
        if (strcmp(pair->key, "kind") == 0) {
            continue;
        } else if (strcmp(pair->key, "source_system") == 0) {
            rc = s_scalar(self, v, pair->key, &self->source_system, err);
            const char *s = rc == 0 ? self->source_system : "x";
            bool bad = !*s || strlen(s) > 64;
            for (; *s; s++)
                bad = bad || !isgraph((unsigned char)*s);
            if (rc == 0 && bad)
                rc = s_fail(err, self, v->line, pair->key, "expected 1..64 characters, no spaces");
        } else if (strcmp(pair->key, "id") == 0) {
            snprintf(self->id.key, sizeof self->id.key, "id");
            self->id.line = pair->key_line;
            rc = s_spec(self, v, &self->id, T_STRING, false, err);
            if (rc == 0 && self->id.value)
                rc = s_fail(err, self, v->line, "id", "must name a column, not a value");
        } else if (strcmp(pair->key, "time") == 0) {
            s_field_t *field = s_add_field(self, s_time_target(self->kind), "time", pair->key_line);
            rc = field ? s_spec(self, v, field, T_TIME, false, err) : -1;
        } else if (strcmp(pair->key, "fields") == 0) {
            if (v->kind != YAML_TREE_MAP)
                rc = s_fail(err, self, v->line, "fields", "expected a mapping of target: column");
            for (size_t k = 0; rc == 0 && k < v->count; k++)
                rc = s_target_field(self, &v->pairs[k], err);
        } else {
            rc = s_fail(err, self, pair->key_line, pair->key,
                        "unknown key (known: kind, source_system, id, time, fields)");
        }
        if (rc < 0)
            return -1;
    }
    if (self->kind == IMPORT_ACTIVITY) {
        bool has_type = false, has_lead = false;
        for (size_t i = 0; i < self->n_fields; i++) {
            has_type = has_type || strcmp(self->fields[i].target, "type") == 0;
            has_lead = has_lead || strcmp(self->fields[i].target, "lead_id") == 0;
        }
        if (!has_type || !has_lead)
            return s_fail(err, self, root->line, "fields",
                          "an activity needs %s (a column or a value)",
                          has_type ? "lead_id" : "type");
    }
    return 0;
}

/* Builds the map from ROOT (owned: freed here), or NULL with *err. */
static import_map_t *s_build(yaml_tree_node_t *root, const char *name, err_t *err)
{
    if (!root) {
        if (err && err->code == ERR_INPUT)
            err->code = ERR_CONFIG;
        return NULL;
    }
    import_map_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    self->name = s_strdup(name);
    if (s_load(self, root, err) < 0)
        import_map_destroy(&self);
    yaml_tree_destroy(&root);
    return self;
}

import_map_t *import_map_parse(const char *text, size_t size, const char *name, err_t *err)
{
    return s_build(yaml_tree_parse(text, size, name, err), name, err);
}

import_map_t *import_map_load(const char *path, err_t *err)
{
    return s_build(yaml_tree_load(path, err), path, err);
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
                return s_fail(err, self, field->line, field->key,
                              "column '%s' is not in the header (%s)", field->columns[c], names);
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
    json_t *when = json_object_get(obj, s_time_target(self->kind));
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
