/* rule.h — one condition on a lead field, shared by scoring (fit rules) and
 * routing (queue rules).
 *
 * A condition names a field (see lead_field_get in lead.h: any Lead field by
 * its proto name, or attributes.KEY) and an operator. String comparisons are
 * case-insensitive. A condition owns its strings. */
#ifndef LEADOPS_RULE_H
#define LEADOPS_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "leadops.pb-c.h"

typedef enum {
    COND_EQUALS = 0, /* field == values[0] */
    COND_IN,         /* field is one of values */
    COND_RANGE,      /* min <= numeric field <= max */
    COND_PREFIX,     /* field starts with one of values */
    COND_SUFFIX,     /* field ends with one of values */
    COND_CONTAINS,   /* field contains one of values */
    COND_EXISTS,     /* field is not empty (numbers: not zero) */
} cond_op_t;

typedef struct {
    char *field; /* owned */
    cond_op_t op;
    char **values; /* owned, value_count strings, lower case */
    size_t value_count;
    double min, max;
} cond_t;

/* Parses "equals", "in", "range", "prefix", "suffix", "contains", "exists". */
int cond_op_parse(const char *name, cond_op_t *op);
const char *cond_op_name(cond_op_t op);

/* True when LEAD satisfies COND. */
bool cond_matches(const cond_t *cond, const Leadops__Lead *lead);

/* True when a value satisfies COND: TEXT (NULL: absent) for the string
 * operators and exists, NUMBER (NULL: not a number) for range, and for
 * exists a number must not be zero. */
bool cond_matches_value(const cond_t *cond, const char *text, const double *number);

/* Frees what COND owns (not COND itself). */
void cond_clear(cond_t *cond);

/* Writes a short human description, e.g. "industry in [software, fintech]". */
void cond_describe(const cond_t *cond, char *out, size_t size);

#endif
