/* config_read.c — the readers behind config_load: LEADOPS_<PATH> overrides,
 * scalar decoding and the lists of conditions, rules, reps and grades. See
 * config_read.h (private to config*.c) and, for the order of loading, config.c. */
#include "config_read.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lead.h"

int config_read_fail(loader_t *loader, const scalar_t *where_from, int line, const char *key,
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

int config_read_nomem(loader_t *loader)
{
    return err_set(loader->err, ERR_NOMEM, "%s: out of memory", loader->file);
}

/* Key paths for messages and variable names; both return OUT. A path too
 * long for OUT (only an absurd file has one) ends in "..." to show it. */
const char *config_read_join(char out[KEY_PATH_MAX], const char *parent, const char *name)
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
        return config_read_fail(loader, NULL, node->line, key, "expected %s, got %s", expected,
                                yaml_tree_kind_name(node->kind));
    out->text = node->text;
    out->quoted = node->quoted;
    return 0;
}

static bool s_is_null(const scalar_t *value)
{
    return !value->quoted && yaml_tree_text_is_null(value->text);
}

int config_read_fail_value(loader_t *loader, const scalar_t *value, const char *key,
                           const char *expected)
{
    if (s_is_null(value))
        return config_read_fail(loader, value, 0, key, "expected %s, got nothing", expected);
    return config_read_fail(loader, value, 0, key, "expected %s, got %s\"%s\"", expected,
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

int config_read_string(loader_t *loader, const yaml_tree_node_t *node, const char *key,
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
        return config_read_fail_value(loader, &value, key, expected);
    char *copy = strdup(text);
    if (!copy)
        return config_read_nomem(loader);
    free(*out);
    *out = copy;
    if (where)
        *where = value;
    return 0;
}

/* Base 10 and nothing else: "0x10" or "1e3" in a port is more likely a slip than intent. */
bool config_read_parse_integer(const char *text, long long *out)
{
    const char *digits = (text[0] == '-' || text[0] == '+') ? text + 1 : text;
    char *end;
    errno = 0;
    *out = isdigit((unsigned char)digits[0]) ? strtoll(text, &end, 10) : 0;
    return isdigit((unsigned char)digits[0]) && errno == 0 && *end == '\0';
}

int config_read_integer(loader_t *loader, const yaml_tree_node_t *node, const char *key,
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
    if (value.quoted || !config_read_parse_integer(value.text, out) || *out < lo || *out > hi)
        return config_read_fail_value(loader, &value, key, expected);
    return 0;
}

int config_read_number(loader_t *loader, const yaml_tree_node_t *node, const char *key, double *out,
                       scalar_t *where)
{
    scalar_t value;
    if (s_scalar(loader, node, key, "a number", &value) != 0)
        return -1;
    const char *text = value.text;
    char *end = NULL;
    if (!value.quoted && (isdigit((unsigned char)text[0]) || (text[0] && strchr("+-.", text[0]))))
        *out = strtod(text, &end);
    if (!end || *end != '\0' || !isfinite(*out))
        return config_read_fail_value(loader, &value, key, "a number");
    if (where)
        *where = value;
    return 0;
}

int config_read_check_map(loader_t *loader, const yaml_tree_node_t *item, const char *key,
                          const char *const *known)
{
    if (item->kind != YAML_TREE_MAP)
        return config_read_fail(loader, NULL, item->line, key, "expected a mapping, got %s",
                                yaml_tree_kind_name(item->kind));
    for (size_t i = 0; i < item->count; i++) {
        const char *const *name = known;
        while (*name && strcmp(*name, item->pairs[i].key) != 0)
            name++;
        char path[KEY_PATH_MAX];
        if (!*name)
            return config_read_fail(loader, NULL, item->pairs[i].key_line,
                                    config_read_join(path, key, item->pairs[i].key), "unknown key");
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
        return config_read_fail(loader, NULL, node->line, key, "expected a list, got %s",
                                yaml_tree_kind_name(node->kind));
    *count = node->count;
    return 0;
}

/* Field NAME of the list item MAP at KEY, its path in PATH; a missing one is an error at the item's
 * line. */
const yaml_tree_node_t *config_read_field(loader_t *loader, const yaml_tree_node_t *map,
                                          const char *key, const char *name,
                                          char path[KEY_PATH_MAX])
{
    config_read_join(path, key, name);
    const yaml_tree_node_t *node = yaml_tree_get(map, name);
    if (!node)
        config_read_fail(loader, NULL, map->line, path, "required key is missing");
    return node;
}

int config_read_item_string(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                            const char *name, const char *choices, char **out, scalar_t *where)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *node = config_read_field(loader, map, key, name, path);
    return node ? config_read_string(loader, node, path, choices, false, out, where) : -1;
}

int config_read_item_number(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                            const char *name, double *out, scalar_t *where)
{
    char path[KEY_PATH_MAX];
    const yaml_tree_node_t *node = config_read_field(loader, map, key, name, path);
    return node ? config_read_number(loader, node, path, out, where) : -1;
}

int config_read_check_queue(loader_t *loader, const scalar_t *where, const char *key,
                            const char *name)
{
    if (config_queue(loader->config, name))
        return 0;
    return config_read_fail(loader, where, 0, key,
                            "\"%s\" is not a configured queue (see routing.queues)", name);
}

/* Splits a LEADOPS_ override like "a, b,c" into *OUT; "" is an empty list. */
static int s_split_env(loader_t *loader, const scalar_t *where, const char *key, char ***out,
                       size_t *count)
{
    size_t pieces = 1;
    for (const char *c = where->text; *c; c++)
        pieces += *c == ',';
    if (!(*out = calloc(pieces, sizeof **out)))
        return config_read_nomem(loader);
    for (const char *c = where->text; *where->text; c++) {
        while (isspace((unsigned char)*c))
            c++;
        size_t length = strcspn(c, ",");
        while (length && isspace((unsigned char)c[length - 1]))
            length--;
        if (!length)
            return config_read_fail_value(loader, where, key,
                                          "a comma-separated list of non-empty values");
        if (!((*out)[(*count)++] = strndup(c, length)))
            return config_read_nomem(loader);
        if (!(c = strchr(c, ',')))
            break;
    }
    return 0;
}

int config_read_string_list(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                            bool lower,
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
            return config_read_nomem(loader);
    }
    for (size_t i = 0; i < items; i++) {
        if (config_read_string(loader, node->items[i], s_index(path, key, i), NULL, false,
                               &(*out)[i], &item) != 0)
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

void *config_read_items(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                        const char *const *known, size_t size,
                        int (*read_item)(loader_t *, const yaml_tree_node_t *, const char *, void *,
                                         size_t),
                        size_t *count, int *rc)
{
    size_t items;
    char *array = NULL;
    if ((*rc = s_list_count(loader, node, key, &items)) != 0)
        return NULL;
    if (!(array = calloc(items ? items : 1, size))) {
        *rc = config_read_nomem(loader);
        return NULL;
    }
    for (size_t i = 0; i < items && *rc == 0; i++) {
        char item_key[KEY_PATH_MAX];
        s_index(item_key, key, i);
        (*count)++;
        if (config_read_check_map(loader, node->items[i], item_key, known) != 0 ||
            read_item(loader, node->items[i], item_key, array, i) != 0)
            *rc = -1;
    }
    return array;
}

const char *const config_cond_keys[] = {"field", "op", "value", "values", "min", "max", NULL};

/* Fills a cond_t from MAP: field, op, then value or values (lower-cased),
 * or min and max for range. SCORED also accepts the fields score, grade and
 * stage (routing rules see the scored lead). */
static int s_read_cond(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                       size_t index, bool scored)
{
    static const char *const operands[] = {"value", "values", "min", "max"};
    cond_t *cond = (cond_t *)array + index;
    char path[KEY_PATH_MAX], *op_name = NULL;
    scalar_t where;
    if (config_read_item_string(loader, map, key, "field", NULL, &cond->field, &where) != 0)
        return -1;
    bool pseudo =
        scored && (strcmp(cond->field, "score") == 0 || strcmp(cond->field, "grade") == 0 ||
                   strcmp(cond->field, "stage") == 0);
    if (!pseudo && !lead_field_is_known(cond->field))
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "field"),
                                "unknown lead field \"%s\"%s", cond->field,
                                scored ? " (or score, grade, stage)" : "");
    if (config_read_item_string(loader, map, key, "op", NULL, &op_name, &where) != 0)
        return -1;
    int rc = cond_op_parse(op_name, &cond->op);
    if (rc != 0)
        config_read_fail(
            loader, &where, 0, config_read_join(path, key, "op"),
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
            return config_read_fail(loader, NULL, operand->line,
                                    config_read_join(path, key, operands[i]), "not used by op %s",
                                    cond_op_name(cond->op));
    }
    const yaml_tree_node_t *value = yaml_tree_get(map, "value"),
                           *values = yaml_tree_get(map, "values");
    if (is_range) {
        if (config_read_item_number(loader, map, key, "min", &cond->min, NULL) != 0 ||
            config_read_item_number(loader, map, key, "max", &cond->max, &where) != 0)
            return -1;
        if (cond->max < cond->min)
            return config_read_fail(loader, &where, 0, config_read_join(path, key, "max"),
                                    "%g is below min %g", cond->max, cond->min);
    } else if (value && values) {
        return config_read_fail(loader, NULL, value->line, config_read_join(path, key, "value"),
                                "give either value or values");
    } else if (value) {
        if (!(cond->values = calloc(1, sizeof *cond->values)))
            return config_read_nomem(loader);
        if (config_read_string(loader, value, config_read_join(path, key, "value"), NULL, false,
                               cond->values, NULL) != 0)
            return -1;
        s_lower(cond->values[cond->value_count++]);
    } else if (takes_values) {
        if (!(values = config_read_field(loader, map, key, "values", path)) ||
            config_read_string_list(loader, values, path, true, NULL, &cond->values,
                                    &cond->value_count, &where) != 0)
            return -1;
        if (cond->value_count == 0)
            return config_read_fail(loader, &where, 0, path, "expected at least one value");
        if (cond->op == COND_EQUALS && cond->value_count > 1)
            return config_read_fail(loader, &where, 0, path,
                                    "op equals takes one value (op in takes several)");
    }
    return 0;
}

int config_read_grade(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                      size_t index)
{
    grade_band_t *band = (grade_band_t *)array + index;
    char path[KEY_PATH_MAX], *grade = NULL;
    scalar_t where;
    if (config_read_item_string(loader, map, key, "grade", NULL, &grade, &where) != 0)
        return -1;
    size_t length = strlen(grade);
    if (length < sizeof band->grade)
        memcpy(band->grade, grade, length + 1);
    free(grade);
    if (length >= sizeof band->grade)
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "grade"),
                                "longer than %zu characters", sizeof band->grade - 1);
    if (config_read_item_number(loader, map, key, "min", &band->min, &where) != 0)
        return -1;
    /* Scoring gives the first band whose min the score reaches. */
    if (index > 0 && !(band->min < band[-1].min))
        return config_read_fail(loader, &where, 0, config_read_join(path, key, "min"),
                                "grade bands must be strictly descending: %g is not below %g",
                                band->min, band[-1].min);
    return 0;
}

int config_read_cond(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                     size_t index)
{
    return s_read_cond(loader, map, key, array, index, false);
}

int config_read_route_cond(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                           void *array, size_t index)
{
    return s_read_cond(loader, map, key, array, index, true);
}

int config_read_fit_rule(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                         void *array, size_t index)
{
    fit_rule_t *rule = (fit_rule_t *)array + index;
    if (config_read_item_string(loader, map, key, "name", NULL, &rule->name, NULL) != 0 ||
        s_read_cond(loader, map, key, &rule->cond, 0, false) != 0 ||
        config_read_item_number(loader, map, key, "points", &rule->points, NULL) != 0)
        return -1;
    /* Its score reason, made once: every lead it matches carries it. */
    char described[256];
    cond_describe(&rule->cond, described, sizeof described);
    json_t *reason = json_pack("{s:s, s:s, s:f}", "rule", rule->name, "condition", described,
                               "points", rule->points);
    rule->reason = reason ? json_dumps(reason, JSON_COMPACT) : NULL;
    json_decref(reason);
    if (!rule->reason)
        abort(); /* out of memory (the name and condition are valid UTF-8: read from YAML) */
    return 0;
}
