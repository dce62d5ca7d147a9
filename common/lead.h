/* lead.h — what every service knows about a Lead and an Activity: reading a
 * field by name (for rules), normalizing, validating.
 *
 * Leads and activities here are heap protobuf-c messages (from *_unpack or
 * json_codec), freed with leadops__lead__free_unpacked; lead_set_str replaces
 * a string field of such a message. */
#ifndef LEADOPS_LEAD_H
#define LEADOPS_LEAD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "leadops.pb-c.h"

#define LEAD_ID_MAX 128 /* bytes, without the NUL */

/* True when FIELD names a Lead field rules can use: a proto field name, or
 * "attributes.KEY". */
bool lead_field_is_known(const char *field);

/* The value of FIELD as text (numbers formatted into BUF), "" when empty, or
 * NULL when FIELD is unknown. The result is borrowed from LEAD or BUF. */
const char *lead_field_text(const Leadops__Lead *lead, const char *field, char *buf, size_t size);

/* The value of FIELD as a number in *VALUE; false when it is not numeric. */
bool lead_field_number(const Leadops__Lead *lead, const char *field, double *value);

/* Replaces *SLOT (a string field of a heap message) with a copy of VALUE. */
void lead_set_str(char **slot, const char *value);

/* Merges INCOMING into BASE (heap messages): for every field, a non-empty
 * incoming value replaces BASE's when INCOMING_IS_NEWER or BASE's is empty
 * ("newer non-empty value wins"); attributes merge key by key. lead_id stays
 * BASE's. When CHANGES (a JSON object) is given, each changed field is added
 * as "field": [old, new]. Returns the number of fields changed. */
size_t lead_merge(Leadops__Lead *base, const Leadops__Lead *incoming, bool incoming_is_newer,
                  json_t *changes);

/* Normalizes in place: trims spaces, lower-cases email and domain, derives
 * the domain from the email when empty, strips "www.", upper-cases country. */
void lead_normalize(Leadops__Lead *lead);

/* Checks a normalized lead: an id of 1..LEAD_ID_MAX printable characters,
 * an email, a company or a source_system + source_id, a plausible email, a
 * two-letter country. Returns 0,
 * or -1 with *err (ERR_INPUT) naming the field and the problem. */
int lead_validate(const Leadops__Lead *lead, err_t *err);

/* Normalizes (trim, lower-case type) and checks an activity: a lead id, a
 * type the config knows. Returns 0 or -1 with *err (ERR_INPUT). */
int activity_check(Leadops__Activity *activity, const config_t *cfg, err_t *err);

#endif
