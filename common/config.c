#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lead.h"
#include "yaml_tree.h"

/* How loading works: the file becomes a yaml_tree; its sections and their
 * keys must all be in s_keys (checked before any value is read); then each
 * entry of s_keys is decoded, in table order, from the file's node or, when
 * the file lacks the key, from the entry's default parsed the same way. Every
 * scalar is read through s_scalar, which gives LEADOPS_<PATH> the last word,
 * so overrides reach list items and defaults alike. The first error stops
 * the load. */

#define KEY_PATH_MAX 256
#define ENV_NAME_MAX (sizeof "LEADOPS_" + KEY_PATH_MAX)

typedef struct {
    config_t *config; /* borrowed: being filled */
    const char *file; /* borrowed: named in messages ("defaults" without a file) */
    bool in_defaults; /* decoding a parsed default, whose line numbers mean nothing */
    err_t *err;       /* borrowed: may be NULL */
} loader_t;

/* A scalar as read, and where it came from: a variable, a file line, or a default. */
typedef struct {
    const char *text;            /* borrowed: from the tree, the environment or s_keys */
    bool quoted;                 /* a quoted scalar is a string, never a number or null */
    int line;                    /* 1-based file line; 0 when not from the file */
    char env_name[ENV_NAME_MAX]; /* the overriding variable, or "" */
} scalar_t;

typedef enum {
    KEY_STRING,
    KEY_ENDPOINT,
    KEY_LISTEN,
    KEY_QUEUE,
    KEY_FORMAT,
    KEY_INT,
    KEY_LONG,
    KEY_SIZE,
    KEY_NUMBER,
    KEY_LIST
} key_type_t;

typedef struct key_spec key_spec_t;

struct key_spec {
    const char *path; /* "section.key" */
    key_type_t type;
    size_t offset;        /* of the field in config_t (scalars) */
    long long lo, hi;     /* integers: the accepted range */
    const char *choices;  /* strings: accepted values, ", " separated; NULL for any */
    bool may_be_empty;    /* strings: "" is a valid value */
    const char *fallback; /* the default: a scalar, or YAML flow text for KEY_LIST */
    int (*decode_list)(loader_t *loader, const key_spec_t *spec,
                       const yaml_tree_node_t *node); /* KEY_LIST */
};

/* Fills *err with "WHERE: KEY: reason". WHERE is the variable or file line a
 * scalar came from when WHERE_FROM is set, else file:LINE (just the file for
 * line 0 or a default). Returns -1. */
static int s_fail(loader_t *loader, const scalar_t *where_from, int line, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int s_fail(loader_t *loader, const scalar_t *where_from, int line, const char *key,
                  const char *fmt, ...)
{
    char reason[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (where_from && where_from->env_name[0])
        return err_set(loader->err, ERR_CONFIG, "%s: %s: %s", where_from->env_name, key, reason);
    line = where_from ? where_from->line : line;
    if (line > 0 && !loader->in_defaults)
        return err_set(loader->err, ERR_CONFIG, "%s:%d: %s: %s", loader->file, line, key, reason);
    return err_set(loader->err, ERR_CONFIG, "%s: %s: %s", loader->file, key, reason);
}

static int s_nomem(loader_t *loader)
{
    return err_set(loader->err, ERR_NOMEM, "%s: out of memory", loader->file);
}

/* Key paths for messages and variable names; both return OUT. A path too
 * long for OUT (only an absurd file has one) ends in "..." to show it. */
static const char *s_join(char out[KEY_PATH_MAX], const char *parent, const char *name)
{
    if (snprintf(out, KEY_PATH_MAX, "%s.%s", parent, name) >= KEY_PATH_MAX)
        strcpy(out + KEY_PATH_MAX - 4, "...");
    return out;
}

static const char *s_index(char out[KEY_PATH_MAX], const char *parent, size_t index)
{
    if (snprintf(out, KEY_PATH_MAX, "%s[%zu]", parent, index) >= KEY_PATH_MAX)
        strcpy(out + KEY_PATH_MAX - 4, "...");
    return out;
}

/* "routing.reps[0].capacity" -> "LEADOPS_ROUTING_REPS_0_CAPACITY". Anything
 * but a letter or digit becomes '_', so a map key like "page-view" still
 * makes a valid variable name; a closing ']' adds nothing. */
static void s_env_name(char out[ENV_NAME_MAX], const char *key)
{
    size_t n = strlen(strcpy(out, "LEADOPS_"));
    for (const char *c = key; *c && n + 1 < ENV_NAME_MAX; c++) {
        if (*c != ']')
            out[n++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
    }
    out[n] = '\0';
}

static void s_lower(char *text)
{
    for (; *text; text++)
        *text = (char)tolower((unsigned char)*text);
}

/* Resolves the scalar NODE at KEY: the LEADOPS_<KEY> variable when set, else
 * NODE's text. NODE is from the file or the defaults: an override needs
 * something to override. */
static int s_scalar(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                    const char *expected, scalar_t *out)
{
    *out = (scalar_t){.line = node->line};
    s_env_name(out->env_name, key);
    if ((out->text = getenv(out->env_name)))
        return 0;
    out->env_name[0] = '\0';
    if (node->kind != YAML_TREE_SCALAR)
        return s_fail(loader, NULL, node->line, key, "expected %s, got %s", expected,
                      yaml_tree_kind_name(node->kind));
    out->text = node->text;
    out->quoted = node->quoted;
    return 0;
}

static bool s_is_null(const scalar_t *value)
{
    return !value->quoted && yaml_tree_text_is_null(value->text);
}

static int s_fail_value(loader_t *loader, const scalar_t *value, const char *key,
                        const char *expected)
{
    if (s_is_null(value))
        return s_fail(loader, value, 0, key, "expected %s, got nothing", expected);
    return s_fail(loader, value, 0, key, "expected %s, got %s\"%s\"", expected,
                  value->quoted ? "the string " : "", value->text);
}

static bool s_is_choice(const char *choices, const char *text)
{
    size_t length = strlen(text);
    for (const char *c = choices; length && c; c = strchr(c, ',') ? strchr(c, ',') + 2 : NULL) {
        if (strncmp(c, text, length) == 0 && (c[length] == ',' || c[length] == '\0'))
            return true;
    }
    return false;
}

/* Reads a string into *OUT, replacing it. WHERE, when not NULL, gets its origin. */
static int s_read_string(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                         const char *choices, bool may_be_empty, char **out, scalar_t *where)
{
    char expected[128];
    snprintf(expected, sizeof expected, "%s%s",
             choices        ? "one of "
             : may_be_empty ? "a string"
                            : "a non-empty string",
             choices ? choices : "");
    scalar_t value;
    if (s_scalar(loader, node, key, expected, &value) != 0)
        return -1;
    const char *text = s_is_null(&value) ? "" : value.text;
    if ((!may_be_empty && !*text) || (choices && !s_is_choice(choices, text)))
        return s_fail_value(loader, &value, key, expected);
    char *copy = strdup(text);
    if (!copy)
        return s_nomem(loader);
    free(*out);
    *out = copy;
    if (where)
        *where = value;
    return 0;
}

/* Base 10 and nothing else: "0x10" or "1e3" in a port is more likely a slip than intent. */
static bool s_parse_integer(const char *text, long long *out)
{
    const char *digits = (text[0] == '-' || text[0] == '+') ? text + 1 : text;
    char *end;
    errno = 0;
    *out = isdigit((unsigned char)digits[0]) ? strtoll(text, &end, 10) : 0;
    return isdigit((unsigned char)digits[0]) && errno == 0 && *end == '\0';
}

static int s_read_integer(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                          long long lo, long long hi, long long *out)
{
    char expected[96];
    if (hi >= INT_MAX && (lo == 0 || lo == 1))
        snprintf(expected, sizeof expected, "a %s integer", lo ? "positive" : "non-negative");
    else
        snprintf(expected, sizeof expected, "an integer %lld..%lld", lo, hi);
    scalar_t value;
    if (s_scalar(loader, node, key, expected, &value) != 0)
        return -1;
    if (value.quoted || !s_parse_integer(value.text, out) || *out < lo || *out > hi)
        return s_fail_value(loader, &value, key, expected);
    return 0;
}

static int s_read_number(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                         double *out, scalar_t *where)
{
    scalar_t value;
    if (s_scalar(loader, node, key, "a number", &value) != 0)
        return -1;
    const char *text = value.text;
    char *end = NULL;
    if (!value.quoted && (isdigit((unsigned char)text[0]) || (text[0] && strchr("+-.", text[0]))))
        *out = strtod(text, &end);
    if (!end || *end != '\0' || !isfinite(*out))
        return s_fail_value(loader, &value, key, "a number");
    if (where)
        *where = value;
    return 0;
}

/* Checks that ITEM at KEY is a mapping whose keys are all in KNOWN. */
static int s_check_map(loader_t *loader, const yaml_tree_node_t *item, const char *key,
                       const char *const *known)
{
    if (item->kind != YAML_TREE_MAP)
        return s_fail(loader, NULL, item->line, key, "expected a mapping, got %s",
                      yaml_tree_kind_name(item->kind));
    for (size_t i = 0; i < item->count; i++) {
        const char *const *name = known;
        while (*name && strcmp(*name, item->pairs[i].key) != 0)
            name++;
        char path[KEY_PATH_MAX];
        if (!*name)
            return s_fail(loader, NULL, item->pairs[i].key_line,
                          s_join(path, key, item->pairs[i].key), "unknown key");
    }
    return 0;
}

/* The number of items of the list NODE at KEY; null counts as an empty list. */
static int s_list_count(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                        size_t *count)
{
    *count = 0;
    if (yaml_tree_is_null(node))
        return 0;
    if (node->kind != YAML_TREE_LIST)
        return s_fail(loader, NULL, node->line, key, "expected a list, got %s",
                      yaml_tree_kind_name(node->kind));
    *count = node->count;
    return 0;
}

/* Field NAME of the list item MAP at KEY, its path in PATH; a missing one is an error at the item's
 * line. */
static const yaml_tree_node_t *s_field(loader_t *loader, const yaml_tree_node_t *map,
                                       const char *key, const char *name, char path[KEY_PATH_MAX])
{
    s_join(path, key, name);
    const yaml_tree_node_t *node = yaml_tree_get(map, name);
    if (!node)
        s_fail(loader, NULL, map->line, path, "required key is missing");
    return node;
}

static int s_item_string(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                         const char *name, const char *choices, char **out, scalar_t *where)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *node = s_field(loader, map, key, name, path);
    return node ? s_read_string(loader, node, path, choices, false, out, where) : -1;
}

static int s_item_number(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                         const char *name, double *out, scalar_t *where)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *node = s_field(loader, map, key, name, path);
    return node ? s_read_number(loader, node, path, out, where) : -1;
}

static int s_check_queue(loader_t *loader, const scalar_t *where, const char *key, const char *name)
{
    if (config_queue(loader->config, name))
        return 0;
    return s_fail(loader, where, 0, key, "\"%s\" is not a configured queue (see routing.queues)",
                  name);
}

/* Splits a LEADOPS_ override like "a, b,c" into *OUT; "" is an empty list. */
static int s_split_env(loader_t *loader, const scalar_t *where, const char *key, char ***out,
                       size_t *count)
{
    size_t pieces = 1;
    for (const char *c = where->text; *c; c++)
        pieces += *c == ',';
    if (!(*out = calloc(pieces, sizeof **out)))
        return s_nomem(loader);
    for (const char *c = where->text; *where->text; c++) {
        while (isspace((unsigned char)*c))
            c++;
        size_t length = strcspn(c, ",");
        while (length && isspace((unsigned char)c[length - 1]))
            length--;
        if (!length)
            return s_fail_value(loader, where, key, "a comma-separated list of non-empty values");
        if (!((*out)[(*count)++] = strndup(c, length)))
            return s_nomem(loader);
        if (!(c = strchr(c, ',')))
            break;
    }
    return 0;
}

/* Reads the list NODE at KEY of non-empty strings into *OUT / *COUNT (empty
 * on entry). LEADOPS_<KEY> replaces the whole list, comma-separated;
 * LEADOPS_<KEY>_<i> one item. LOWER folds case; CHECK, if set, vets each item. */
static int
s_read_string_list(loader_t *loader, const yaml_tree_node_t *node, const char *key, bool lower,
                   int (*check)(loader_t *, const scalar_t *, const char *, const char *),
                   char ***out, size_t *count, scalar_t *where)
{
    scalar_t list = {.line = node->line}, item;
    char path[KEY_PATH_MAX];
    size_t items = 0;
    s_env_name(list.env_name, key);
    if ((list.text = getenv(list.env_name))) {
        if (s_split_env(loader, &list, key, out, count) != 0)
            return -1;
        for (size_t i = 0; check && i < *count; i++) {
            if (check(loader, &list, s_index(path, key, i), (*out)[i]) != 0)
                return -1;
        }
    } else {
        list.env_name[0] = '\0';
        if (s_list_count(loader, node, key, &items) != 0)
            return -1;
        if (!(*out = calloc(items ? items : 1, sizeof **out)))
            return s_nomem(loader);
    }
    for (size_t i = 0; i < items; i++) {
        if (s_read_string(loader, node->items[i], s_index(path, key, i), NULL, false, &(*out)[i],
                          &item) != 0)
            return -1;
        (*count)++;
        if (check && check(loader, &item, path, (*out)[i]) != 0)
            return -1;
    }
    for (size_t i = 0; lower && i < *count; i++)
        s_lower((*out)[i]);
    if (where)
        *where = list;
    return 0;
}

/* Decodes the list NODE at KEY into a new array of SIZE-byte elements, each
 * from a mapping with the keys KNOWN, read by READ_ITEM (which sees the items
 * before it, for duplicates and ordering). An element counts in
 * *COUNT before it is read, so config_destroy frees a half-read one. Returns
 * the array (half-filled on failure), with *RC 0 or -1. */
static void *s_read_items(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                          const char *const *known, size_t size,
                          int (*read_item)(loader_t *, const yaml_tree_node_t *, const char *,
                                           void *, size_t),
                          size_t *count, int *rc)
{
    size_t items;
    char *array = NULL;
    if ((*rc = s_list_count(loader, node, key, &items)) != 0)
        return NULL;
    if (!(array = calloc(items ? items : 1, size))) {
        *rc = s_nomem(loader);
        return NULL;
    }
    for (size_t i = 0; i < items && *rc == 0; i++) {
        char item_key[KEY_PATH_MAX];
        s_index(item_key, key, i);
        (*count)++;
        if (s_check_map(loader, node->items[i], item_key, known) != 0 ||
            read_item(loader, node->items[i], item_key, array, i) != 0)
            *rc = -1;
    }
    return array;
}

static const char *const s_cond_keys[] = {"field", "op", "value", "values", "min", "max", NULL};

/* Fills a cond_t from MAP: field, op, then value or values (lower-cased), or min and max for range.
 */
static int s_read_cond(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                       size_t index)
{
    static const char *const operands[] = {"value", "values", "min", "max"};
    cond_t *cond = (cond_t *)array + index;
    char path[KEY_PATH_MAX], *op_name = NULL;
    scalar_t where;
    if (s_item_string(loader, map, key, "field", NULL, &cond->field, &where) != 0)
        return -1;
    if (!lead_field_is_known(cond->field))
        return s_fail(loader, &where, 0, s_join(path, key, "field"), "unknown lead field \"%s\"",
                      cond->field);
    if (s_item_string(loader, map, key, "op", NULL, &op_name, &where) != 0)
        return -1;
    int rc = cond_op_parse(op_name, &cond->op);
    if (rc != 0)
        s_fail(loader, &where, 0, s_join(path, key, "op"),
               "unknown op \"%s\" (expected equals, in, range, prefix, suffix, contains or exists)",
               op_name);
    free(op_name);
    if (rc != 0)
        return -1;
    bool is_range = cond->op == COND_RANGE, takes_values = !is_range && cond->op != COND_EXISTS;
    for (size_t i = 0; i < sizeof operands / sizeof operands[0]; i++) {
        const yaml_tree_node_t *operand = yaml_tree_get(map, operands[i]);
        bool wanted = i >= 2 ? is_range : takes_values && !(i == 0 && cond->op == COND_IN);
        if (operand && !wanted)
            return s_fail(loader, NULL, operand->line, s_join(path, key, operands[i]),
                          "not used by op %s", cond_op_name(cond->op));
    }
    const yaml_tree_node_t *value = yaml_tree_get(map, "value"),
                           *values = yaml_tree_get(map, "values");
    if (is_range) {
        if (s_item_number(loader, map, key, "min", &cond->min, NULL) != 0 ||
            s_item_number(loader, map, key, "max", &cond->max, &where) != 0)
            return -1;
        if (cond->max < cond->min)
            return s_fail(loader, &where, 0, s_join(path, key, "max"), "%g is below min %g",
                          cond->max, cond->min);
    } else if (value && values) {
        return s_fail(loader, NULL, value->line, s_join(path, key, "value"),
                      "give either value or values");
    } else if (value) {
        if (!(cond->values = calloc(1, sizeof *cond->values)))
            return s_nomem(loader);
        if (s_read_string(loader, value, s_join(path, key, "value"), NULL, false, cond->values,
                          NULL) != 0)
            return -1;
        s_lower(cond->values[cond->value_count++]);
    } else if (takes_values) {
        if (!(values = s_field(loader, map, key, "values", path)) ||
            s_read_string_list(loader, values, path, true, NULL, &cond->values, &cond->value_count,
                               &where) != 0)
            return -1;
        if (cond->value_count == 0)
            return s_fail(loader, &where, 0, path, "expected at least one value");
        if (cond->op == COND_EQUALS && cond->value_count > 1)
            return s_fail(loader, &where, 0, path,
                          "op equals takes one value (op in takes several)");
    }
    return 0;
}

static int s_read_grade(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                        size_t index)
{
    grade_band_t *band = (grade_band_t *)array + index;
    char path[KEY_PATH_MAX], *grade = NULL;
    scalar_t where;
    if (s_item_string(loader, map, key, "grade", NULL, &grade, &where) != 0)
        return -1;
    size_t length = strlen(grade);
    if (length < sizeof band->grade)
        memcpy(band->grade, grade, length + 1);
    free(grade);
    if (length >= sizeof band->grade)
        return s_fail(loader, &where, 0, s_join(path, key, "grade"), "longer than %zu characters",
                      sizeof band->grade - 1);
    if (s_item_number(loader, map, key, "min", &band->min, &where) != 0)
        return -1;
    /* Scoring gives the first band whose min the score reaches. */
    if (index > 0 && !(band->min < band[-1].min))
        return s_fail(loader, &where, 0, s_join(path, key, "min"),
                      "grade bands must be strictly descending: %g is not below %g", band->min,
                      band[-1].min);
    return 0;
}

static int s_read_fit_rule(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                           void *array, size_t index)
{
    fit_rule_t *rule = (fit_rule_t *)array + index;
    if (s_item_string(loader, map, key, "name", NULL, &rule->name, NULL) != 0 ||
        s_read_cond(loader, map, key, &rule->cond, 0) != 0)
        return -1;
    return s_item_number(loader, map, key, "points", &rule->points, NULL);
}

static int s_read_queue(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                        size_t index)
{
    queue_config_t *queue = (queue_config_t *)array + index;
    char path[KEY_PATH_MAX], *strategy = NULL;
    scalar_t where;
    if (s_item_string(loader, map, key, "name", NULL, &queue->name, &where) != 0)
        return -1;
    for (const queue_config_t *other = array; other < queue; other++) {
        if (strcmp(other->name, queue->name) == 0)
            return s_fail(loader, &where, 0, s_join(path, key, "name"), "duplicate queue \"%s\"",
                          queue->name);
    }
    /* One strategy so far: checking its name is all there is to do. */
    if (s_item_string(loader, map, key, "strategy", "round_robin", &strategy, NULL) != 0)
        return -1;
    free(strategy);
    queue->strategy = STRATEGY_ROUND_ROBIN;
    return 0;
}

static int s_read_route_rule(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                             void *array, size_t index)
{
    route_rule_t *rule = (route_rule_t *)array + index;
    char path[KEY_PATH_MAX];
    scalar_t where;
    int rc;
    if (s_item_string(loader, map, key, "name", NULL, &rule->name, NULL) != 0 ||
        s_item_string(loader, map, key, "queue", NULL, &rule->queue, &where) != 0 ||
        s_check_queue(loader, &where, s_join(path, key, "queue"), rule->queue) != 0)
        return -1;
    /* A rule without "when" catches every lead. */
    const yaml_tree_node_t *when = yaml_tree_get(map, "when");
    if (when)
        rule->conds = s_read_items(loader, when, s_join(path, key, "when"), s_cond_keys,
                                   sizeof *rule->conds, s_read_cond, &rule->cond_count, &rc);
    return when ? rc : 0;
}

static int s_read_rep(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                      size_t index)
{
    rep_config_t *rep = (rep_config_t *)array + index;
    const yaml_tree_node_t *field;
    char path[KEY_PATH_MAX], *status = NULL;
    scalar_t where;
    long long capacity;
    if (s_item_string(loader, map, key, "id", NULL, &rep->id, &where) != 0)
        return -1;
    for (const rep_config_t *other = array; other < rep; other++) {
        if (strcmp(other->id, rep->id) == 0)
            return s_fail(loader, &where, 0, s_join(path, key, "id"), "duplicate rep id \"%s\"",
                          rep->id);
    }
    if (s_item_string(loader, map, key, "name", NULL, &rep->name, NULL) != 0 ||
        !(field = s_field(loader, map, key, "capacity", path)) ||
        s_read_integer(loader, field, path, 0, 100000, &capacity) != 0 ||
        !(field = s_field(loader, map, key, "queues", path)) ||
        s_read_string_list(loader, field, path, false, s_check_queue, &rep->queues,
                           &rep->queue_count, NULL) != 0 ||
        s_item_string(loader, map, key, "status", "online, offline", &status, NULL) != 0)
        return -1;
    rep->capacity = (unsigned)capacity;
    rep->online = strcmp(status, "online") == 0;
    free(status);
    return 0;
}

static int s_decode_activity_types(loader_t *loader, const key_spec_t *spec,
                                   const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    return s_read_string_list(loader, node, spec->path, false, NULL, &config->activity_types,
                              &config->activity_type_count, NULL);
}

static int s_decode_activity_points(loader_t *loader, const key_spec_t *spec,
                                    const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    if (yaml_tree_is_null(node))
        return 0;
    if (node->kind != YAML_TREE_MAP)
        return s_fail(loader, NULL, node->line, spec->path,
                      "expected a mapping of activity type to points, got %s",
                      yaml_tree_kind_name(node->kind));
    if (!(config->activity_points =
              calloc(node->count ? node->count : 1, sizeof *config->activity_points)))
        return s_nomem(loader);
    for (size_t i = 0; i < node->count; i++) {
        activity_points_t *entry = &config->activity_points[i];
        char key[KEY_PATH_MAX];
        if (s_read_number(loader, node->pairs[i].value, s_join(key, spec->path, node->pairs[i].key),
                          &entry->points, NULL) != 0)
            return -1;
        if (!(entry->type = strdup(node->pairs[i].key)))
            return s_nomem(loader);
        config->activity_points_count++;
    }
    return 0;
}

static const char *const s_grade_keys[] = {"grade", "min", NULL};
static const char *const s_fit_keys[] = {"name", "field", "op",     "value", "values",
                                         "min",  "max",   "points", NULL};
static const char *const s_queue_keys[] = {"name", "strategy", NULL};
static const char *const s_rule_keys[] = {"name", "queue", "when", NULL};
static const char *const s_rep_keys[] = {"id", "name", "capacity", "queues", "status", NULL};

static int s_decode_grades(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->grades = s_read_items(loader, node, spec->path, s_grade_keys, sizeof *config->grades,
                                  s_read_grade, &config->grade_count, &rc);
    return rc;
}

static int s_decode_fit_rules(loader_t *loader, const key_spec_t *spec,
                              const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->fit_rules =
        s_read_items(loader, node, spec->path, s_fit_keys, sizeof *config->fit_rules,
                     s_read_fit_rule, &config->fit_rule_count, &rc);
    return rc;
}

static int s_decode_queues(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->queues = s_read_items(loader, node, spec->path, s_queue_keys, sizeof *config->queues,
                                  s_read_queue, &config->queue_count, &rc);
    return rc;
}

static int s_decode_route_rules(loader_t *loader, const key_spec_t *spec,
                                const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->route_rules =
        s_read_items(loader, node, spec->path, s_rule_keys, sizeof *config->route_rules,
                     s_read_route_rule, &config->route_rule_count, &rc);
    return rc;
}

static int s_decode_reps(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->reps = s_read_items(loader, node, spec->path, s_rep_keys, sizeof *config->reps,
                                s_read_rep, &config->rep_count, &rc);
    return rc;
}

/* One decoder for every scalar key; its type says how to read and check it. */
static int s_decode_scalar(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    void *field = (char *)loader->config + spec->offset;
    char host[256], *format = NULL;
    long long integer;
    scalar_t where;
    int port;
    err_t why;
    switch (spec->type) {
    case KEY_INT:
    case KEY_LONG:
    case KEY_SIZE:
        if (s_read_integer(loader, node, spec->path, spec->lo, spec->hi, &integer) != 0)
            return -1;
        if (spec->type == KEY_INT)
            *(int *)field = (int)integer;
        else if (spec->type == KEY_LONG)
            *(long *)field = (long)integer;
        else
            *(size_t *)field = (size_t)integer;
        return 0;
    case KEY_NUMBER:
        return s_read_number(loader, node, spec->path, field, NULL);
    case KEY_FORMAT:
        if (s_read_string(loader, node, spec->path, spec->choices, false, &format, NULL) != 0)
            return -1;
        *(bool *)field = strcmp(format, "json") == 0;
        free(format);
        return 0;
    default:
        break;
    }
    char **text = field;
    if (s_read_string(loader, node, spec->path, spec->choices, spec->may_be_empty, text, &where) !=
        0)
        return -1;
    if (spec->type == KEY_ENDPOINT && !strstr(*text, "://"))
        return s_fail_value(loader, &where, spec->path, "a ZeroMQ endpoint like tcp://host:port");
    if (spec->type == KEY_LISTEN && config_split_listen(*text, host, sizeof host, &port, &why) != 0)
        return s_fail(loader, &where, 0, spec->path, "%s", why.msg);
    if (spec->type == KEY_QUEUE)
        return s_check_queue(loader, &where, spec->path, *text);
    return 0;
}

#define SCALAR(p, t, f, def, ...)                                                                  \
    {                                                                                              \
        .path = p, .type = t, .offset = offsetof(config_t, f), .fallback = def, __VA_ARGS__        \
    }
#define STRING(p, f, def)               SCALAR(p, KEY_STRING, f, def)
#define INTEGER(p, t, f, min, max, def) SCALAR(p, t, f, def, .lo = min, .hi = max)
#define LIST(p, decode, def)                                                                       \
    {                                                                                              \
        .path = p, .type = KEY_LIST, .decode_list = decode, .fallback = def                        \
    }

/* Every key the file may have, with its default: the values of the sample
 * deploy/leadops.yaml, except that there are no fit rules, route rules or
 * reps, and one queue, "general". Decoded in this order, which matters where
 * a key is checked against another: routing.queues comes before the keys
 * that name queues. */
static const key_spec_t s_keys[] = {
    SCALAR("log.level", KEY_STRING, log_level, "info", .choices = "error, warn, info, debug"),
    SCALAR("log.format", KEY_FORMAT, log_json, "text", .choices = "text, json"),
    STRING("redis.host", redis_host, "127.0.0.1"),
    INTEGER("redis.port", KEY_INT, redis_port, 1, 65535, "6379"),
    SCALAR("redis.password", KEY_STRING, redis_password, "", .may_be_empty = true),
    SCALAR("redis.user", KEY_STRING, redis_user, "", .may_be_empty = true),
    INTEGER("redis.db", KEY_INT, redis_db, 0, INT_MAX, "0"),
    STRING("redis.prefix", redis_prefix, "leadops"),
    INTEGER("redis.timeout_ms", KEY_INT, redis_timeout_ms, 1, INT_MAX, "2000"),
    SCALAR("endpoints.ingest", KEY_ENDPOINT, ep_ingest, "tcp://127.0.0.1:5555"),
    SCALAR("endpoints.scoring", KEY_ENDPOINT, ep_scoring, "tcp://127.0.0.1:5556"),
    SCALAR("endpoints.routing", KEY_ENDPOINT, ep_routing, "tcp://127.0.0.1:5557"),
    SCALAR("endpoints.commands", KEY_ENDPOINT, ep_commands, "tcp://127.0.0.1:5558"),
    SCALAR("endpoints.events", KEY_ENDPOINT, ep_events, "tcp://127.0.0.1:5559"),
    SCALAR("http.ingest_listen", KEY_LISTEN, http_ingest_listen, "127.0.0.1:8080"),
    SCALAR("http.reporting_listen", KEY_LISTEN, http_reporting_listen, "127.0.0.1:8081"),
    /* A body or frame above 1 GiB is a mistake, not a lead. */
    INTEGER("ingest.max_body_bytes", KEY_SIZE, ingest_max_body_bytes, 1, 1LL << 30, "1048576"),
    INTEGER("ingest.dedup_window_s", KEY_INT, ingest_dedup_window_s, 1, INT_MAX, "86400"),
    INTEGER("ingest.journal_max_len", KEY_LONG, ingest_journal_max_len, 1, LONG_MAX, "1000000"),
    INTEGER("ingest.redelivery_ms", KEY_INT, ingest_redelivery_ms, 1, INT_MAX, "3000"),
    LIST("ingest.activity_types", s_decode_activity_types,
         "[page_view, email_open, email_click, form_fill, content_download, webinar, demo_request, "
         "pricing_view,"
         " call, email_sent, meeting, demo_completed, proposal_sent, opportunity_created, "
         "deal_won, deal_lost,"
         " unsubscribe, email_bounce]"),
    SCALAR("scoring.qualify_threshold", KEY_NUMBER, scoring_qualify_threshold, "20"),
    INTEGER("scoring.redelivery_ms", KEY_INT, scoring_redelivery_ms, 1, INT_MAX, "3000"),
    LIST("scoring.grades", s_decode_grades,
         "[{grade: A, min: 45}, {grade: B, min: 30}, {grade: C, min: 15}, {grade: D, min: -1000}]"),
    LIST("scoring.fit", s_decode_fit_rules, "[]"),
    LIST("scoring.activity_points", s_decode_activity_points,
         "{page_view: 1, email_open: 1, email_click: 3, form_fill: 10, content_download: 5, "
         "webinar: 8,"
         " demo_request: 25, pricing_view: 5, unsubscribe: -20, email_bounce: -10}"),
    INTEGER("routing.redelivery_ms", KEY_INT, routing_redelivery_ms, 1, INT_MAX, "3000"),
    LIST("routing.queues", s_decode_queues, "[{name: general, strategy: round_robin}]"),
    SCALAR("routing.fallback_queue", KEY_QUEUE, fallback_queue, "general"),
    LIST("routing.rules", s_decode_route_rules, "[]"),
    LIST("routing.reps", s_decode_reps, "[]"),
};

#define KEY_COUNT (sizeof s_keys / sizeof s_keys[0])

/* The s_keys entry for SECTION.NAME, or the first of SECTION when NAME is NULL. */
static const key_spec_t *s_find_key(const char *section, const char *name)
{
    size_t length = strlen(section);
    for (const key_spec_t *spec = s_keys; spec < s_keys + KEY_COUNT; spec++) {
        if (strncmp(spec->path, section, length) == 0 && spec->path[length] == '.' &&
            (!name || strcmp(spec->path + length + 1, name) == 0))
            return spec;
    }
    return NULL;
}

/* Unknown keys are looked for before any value is read: a misspelt key is
 * the likelier mistake, and would otherwise hide behind its neighbours'. */
static int s_check_keys(loader_t *loader, const yaml_tree_node_t *root)
{
    char path[KEY_PATH_MAX];
    if (!root || yaml_tree_is_null(root))
        return 0;
    if (root->kind != YAML_TREE_MAP)
        return s_fail(loader, NULL, root->line, "(top level)", "expected a mapping, got %s",
                      yaml_tree_kind_name(root->kind));
    for (const yaml_tree_pair_t *section = root->pairs; section < root->pairs + root->count;
         section++) {
        const yaml_tree_node_t *keys = section->value;
        if (!s_find_key(section->key, NULL))
            return s_fail(loader, NULL, section->key_line, section->key, "unknown key");
        if (!yaml_tree_is_null(keys) && keys->kind != YAML_TREE_MAP)
            return s_fail(loader, NULL, keys->line, section->key, "expected a mapping, got %s",
                          yaml_tree_kind_name(keys->kind));
        for (size_t i = 0; keys->kind == YAML_TREE_MAP && i < keys->count; i++) {
            if (!s_find_key(section->key, keys->pairs[i].key))
                return s_fail(loader, NULL, keys->pairs[i].key_line,
                              s_join(path, section->key, keys->pairs[i].key), "unknown key");
        }
    }
    return 0;
}

/* Decodes SPEC from ROOT's node or, when ROOT lacks it, from its default,
 * parsed like the file so that both take the same path. */
static int s_decode_key(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *root)
{
    char section[KEY_PATH_MAX];
    const char *dot = strchr(spec->path, '.');
    snprintf(section, sizeof section, "%.*s", (int)(dot - spec->path), spec->path);
    const yaml_tree_node_t *node = yaml_tree_get(yaml_tree_get(root, section), dot + 1);
    yaml_tree_node_t *fallback = NULL;
    if (!node && !(node = fallback = yaml_tree_parse(spec->fallback, strlen(spec->fallback),
                                                     "defaults", loader->err)))
        return -1; /* out of memory: the unit tests load every default */
    loader->in_defaults = fallback != NULL;
    int rc = spec->type == KEY_LIST ? spec->decode_list(loader, spec, node)
                                    : s_decode_scalar(loader, spec, node);
    loader->in_defaults = false;
    yaml_tree_destroy(&fallback);
    return rc;
}

config_t *config_load(const char *path, err_t *err)
{
    config_t *config = calloc(1, sizeof *config);
    if (!config) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    loader_t loader = {.config = config, .file = path ? path : "defaults", .err = err};
    yaml_tree_node_t *root = NULL;
    int rc = 0;
    if (path && !(config->path = strdup(path)))
        rc = s_nomem(&loader);
    else if (path && !(root = yaml_tree_load(path, err)))
        rc = -1;
    else
        rc = s_check_keys(&loader, root);
    for (size_t i = 0; rc == 0 && i < KEY_COUNT; i++)
        rc = s_decode_key(&loader, &s_keys[i], root);
    yaml_tree_destroy(&root);
    if (rc != 0) {
        if (err && err->code == ERR_INPUT) /* the file is not YAML we accept */
            err->code = ERR_CONFIG;
        config_destroy(&config);
    }
    return config;
}

static void s_free_strings(char **strings, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

void config_destroy(config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *self = *self_p;
    for (const key_spec_t *spec = s_keys; spec < s_keys + KEY_COUNT; spec++) {
        if (spec->type <= KEY_QUEUE) /* the string types */
            free(*(char **)((char *)self + spec->offset));
    }
    free(self->path);
    s_free_strings(self->activity_types, self->activity_type_count);
    free(self->grades);
    for (size_t i = 0; i < self->fit_rule_count; i++) {
        free(self->fit_rules[i].name);
        cond_clear(&self->fit_rules[i].cond);
    }
    free(self->fit_rules);
    for (size_t i = 0; i < self->activity_points_count; i++)
        free(self->activity_points[i].type);
    free(self->activity_points);
    for (size_t i = 0; i < self->queue_count; i++)
        free(self->queues[i].name);
    free(self->queues);
    for (size_t i = 0; i < self->route_rule_count; i++) {
        free(self->route_rules[i].name);
        free(self->route_rules[i].queue);
        for (size_t j = 0; j < self->route_rules[i].cond_count; j++)
            cond_clear(&self->route_rules[i].conds[j]);
        free(self->route_rules[i].conds);
    }
    free(self->route_rules);
    for (size_t i = 0; i < self->rep_count; i++) {
        free(self->reps[i].id);
        free(self->reps[i].name);
        s_free_strings(self->reps[i].queues, self->reps[i].queue_count);
    }
    free(self->reps);
    free(self);
    *self_p = NULL;
}

bool config_is_activity_type(const config_t *self, const char *type)
{
    for (size_t i = 0; i < self->activity_type_count; i++) {
        if (strcmp(self->activity_types[i], type) == 0)
            return true;
    }
    return false;
}

const queue_config_t *config_queue(const config_t *self, const char *name)
{
    for (size_t i = 0; i < self->queue_count; i++) {
        if (strcmp(self->queues[i].name, name) == 0)
            return &self->queues[i];
    }
    return NULL;
}

/* The port follows the last ':'. An IPv6 host must be bracketed ("[::1]:80"),
 * since its own colons would make the split ambiguous. */
int config_split_listen(const char *listen, char *host, size_t host_size, int *port, err_t *err)
{
    const char *colon = strrchr(listen, ':'), *start = listen;
    size_t length = colon ? (size_t)(colon - listen) : 0;
    long long number = 0;
    if (length >= 2 && listen[0] == '[' && colon[-1] == ']') {
        start++;
        length -= 2;
    } else if (memchr(listen, ':', length) || memchr(listen, '[', length)) {
        length = 0;
    }
    /* Port 0 asks the kernel for any free port (tests, side-by-side stacks). */
    if (length == 0 || length >= host_size || !s_parse_integer(colon + 1, &number) || number < 0 ||
        number > 65535)
        return err_set(err, ERR_CONFIG,
                       "expected host:port with a port 0..65535 (0: any free port), got \"%s\"",
                       listen);
    memcpy(host, start, length);
    host[length] = '\0';
    *port = (int)number;
    return 0;
}
