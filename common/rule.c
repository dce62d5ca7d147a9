#include "rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lead.h"

static const char *s_op_names[] = {"equals", "in",       "range", "prefix",
                                   "suffix", "contains", "exists"};

int cond_op_parse(const char *name, cond_op_t *op)
{
    for (size_t i = 0; i < sizeof s_op_names / sizeof s_op_names[0]; i++)
        if (strcmp(name, s_op_names[i]) == 0) {
            *op = (cond_op_t)i;
            return 0;
        }
    return -1;
}

const char *cond_op_name(cond_op_t op)
{
    return (size_t)op < sizeof s_op_names / sizeof s_op_names[0] ? s_op_names[op] : "?";
}

static bool s_has_suffix(const char *text, const char *suffix)
{
    size_t t = strlen(text), s = strlen(suffix);
    return s <= t && strcasecmp(text + t - s, suffix) == 0;
}

bool cond_matches_value(const cond_t *cond, const char *text, const double *number)
{
    if (cond->op == COND_RANGE)
        return number && *number >= cond->min && *number <= cond->max;
    if (!text)
        return false;
    if (cond->op == COND_EXISTS)
        return number ? *number != 0 : *text != '\0';
    for (size_t i = 0; i < cond->value_count; i++) {
        const char *value = cond->values[i];
        switch (cond->op) {
        case COND_EQUALS:
        case COND_IN:
            if (strcasecmp(text, value) == 0)
                return true;
            break;
        case COND_PREFIX:
            if (strncasecmp(text, value, strlen(value)) == 0)
                return true;
            break;
        case COND_SUFFIX:
            if (s_has_suffix(text, value))
                return true;
            break;
        case COND_CONTAINS:
            if (strcasestr(text, value))
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

bool cond_matches(const cond_t *cond, const Leadops__Lead *lead)
{
    char buf[64];
    double number;
    bool numeric = lead_field_number(lead, cond->field, &number);
    const char *text =
        cond->op == COND_RANGE ? "" : lead_field_text(lead, cond->field, buf, sizeof buf);
    /* An attribute that reads as a number exists when it is not empty, even "0". */
    bool number_exists = numeric && strncmp(cond->field, "attributes.", 11) != 0;
    if (cond->op == COND_EXISTS)
        return cond_matches_value(cond, text, number_exists ? &number : NULL);
    return cond_matches_value(cond, text, numeric ? &number : NULL);
}

void cond_clear(cond_t *cond)
{
    free(cond->field);
    for (size_t i = 0; i < cond->value_count; i++)
        free(cond->values[i]);
    free(cond->values);
    memset(cond, 0, sizeof *cond);
}

void cond_describe(const cond_t *cond, char *out, size_t size)
{
    size_t o;
    if (cond->op == COND_RANGE) {
        snprintf(out, size, "%s in %g..%g", cond->field, cond->min, cond->max);
        return;
    }
    if (cond->op == COND_EXISTS) {
        snprintf(out, size, "%s exists", cond->field);
        return;
    }
    o = (size_t)snprintf(out, size, "%s %s [", cond->field, cond_op_name(cond->op));
    for (size_t i = 0; i < cond->value_count && o < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", cond->values[i]);
    if (o < size)
        snprintf(out + o, size - o, "]");
}
