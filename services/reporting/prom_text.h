/* prom_text.h — writing the Prometheus text exposition format (0.0.4): a
 * growing page of families ("# HELP", "# TYPE") and their samples, with
 * label values escaped and made valid UTF-8 whatever their source (a
 * parser refuses a whole page over one byte that is not). metrics.c
 * composes /metrics with it. A page that cannot grow aborts: a scrape page
 * is a few KB, and no memory there is fatal anyway. */
#ifndef LEADOPS_PROM_TEXT_H
#define LEADOPS_PROM_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "stl.h"

typedef struct {
    char *text; /* owned: NUL-terminated */
    size_t len, capacity;
} prom_text_t;

/* An empty page. */
void prom_text_init(prom_text_t *out);

/* Appends printf-style text. */
void prom_append(prom_text_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The "# HELP" and "# TYPE" lines of family NAME of TYPE (counter, gauge,
 * histogram). */
void prom_family(prom_text_t *out, const char *name, const char *type, const char *help);

/* One sample NAME{LABEL="VALUE"} NUMBER; LABEL NULL for none. */
void prom_sample(prom_text_t *out, const char *name, const char *label, const char *value,
                 double number);

/* A histogram family in seconds from a histogram in ms; buckets cumulative. */
void prom_histogram(prom_text_t *out, const char *name, const char *help,
                    const stl_histogram_t *hist);

/* A gauge family with a sample per element of ARRAY (a view's list): label
 * LABEL from string member KEY, value from numeric member FIELD, scaled by
 * SCALE. */
void prom_gauges(prom_text_t *out, const char *name, const char *help, json_t *array,
                 const char *label, const char *key, const char *field, double scale);

/* The length of the valid UTF-8 character at P (at most LEFT bytes), or 0
 * when the bytes there are not one (overlong forms, surrogates and code
 * points past Unicode included). */
size_t prom_utf8_char_len(const unsigned char *p, size_t left);

#endif
