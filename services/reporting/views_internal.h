/* views_internal.h — helpers the files of the views share (views.c: queues,
 * reps, summary, speed to lead; views_lead.c: one lead and its routing
 * decisions). Private to services/reporting: views.h is the interface. */
#ifndef LEADOPS_VIEWS_INTERNAL_H
#define LEADOPS_VIEWS_INTERNAL_H

#include <jansson.h>

#include "keys.h"
#include "store.h"

/* Formats "<prefix>:<suffix...>" into OUT. Returns -1 when it does not fit,
 * so an over-long lead id never silently reads a truncated key. */
int views_keyf(char out[static KEY_MAX], const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of FIELD in an HGETALL reply (a flat field, value, ... array), or NULL. */
const store_value_t *views_hash_get(const store_value_t *hash, const char *field);

/* MS (Unix ms) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into OUT. */
void views_iso8601(long long ms, char *out, size_t size);

/* A JSON string of TEXT, with bytes that are not UTF-8 as '?' (jansson
 * refuses them, and nothing on the way checks). */
json_t *views_json_text(const char *text);

/* Sets NAME to a string, or to null when VALUE is NULL. */
void views_set_str(json_t *obj, const char *name, const char *value);

#endif
