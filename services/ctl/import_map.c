#include "import_map.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_row.h"
#include "yaml_tree.h"

static const char *const s_type_names[] = {"string", "integer", "number", "boolean", "time"};

/* The target fields of each kind that take text; the typed ones are in
 * s_target_type. */
static const char s_lead_texts[] = " lead_id email first_name last_name phone company domain title "
                                   "industry country region city postal_code source campaign "
                                   "source_system source_id language ";
static const char s_activity_texts[] = " activity_id lead_id type rep_id channel outcome ";

/* The type of TARGET, a proto field of KIND's message; false when unknown. */
static bool s_target_type(import_kind_t kind, const char *target, s_type_t *type)
{
    char word[MAP_KEY_MAX + 2];
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
    char key[MAP_KEY_MAX + 64];
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
    char key[MAP_KEY_MAX];
    snprintf(key, sizeof key, "fields.%.140s", pair->key);
    const char *target = pair->key;
    if (strcmp(target, "created_at") == 0 || strcmp(target, "occurred_at") == 0)
        target = import_row_time_target(self->kind); /* the JSON aliases: one field */
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
            s_field_t *field =
                s_add_field(self, import_row_time_target(self->kind), "time", pair->key_line);
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
