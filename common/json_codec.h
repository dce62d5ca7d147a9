/* json_codec.h — JSON objects (HTTP intake, leadopsctl files) to and from
 * Lead and Activity messages. Field names are the proto field names; times
 * are Unix ms numbers (`created_at_ms`) or ISO-8601 strings (`created_at`).
 * Unknown scalar keys of a lead land in its attributes; "kind" and
 * "event_id" are envelope matters and are skipped.
 *
 * Returned messages are heap messages the caller frees with
 * leadops__lead__free_unpacked / leadops__activity__free_unpacked. */
#ifndef LEADOPS_JSON_CODEC_H
#define LEADOPS_JSON_CODEC_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "leadops.pb-c.h"

/* Returns the lead, or NULL with *err (ERR_INPUT) naming the bad key. */
Leadops__Lead *json_to_lead(const json_t *obj, err_t *err);
Leadops__Activity *json_to_activity(const json_t *obj, err_t *err);

/* A new JSON object with every non-empty field of LEAD (caller owns). */
json_t *json_from_lead(const Leadops__Lead *lead);

/* Parses "2024-05-01", "2024-05-01 12:00:00", "2024-05-01T12:00:00Z" or
 * "...+02:00" into Unix ms; -1 when it is none of these. */
int64_t json_parse_time(const char *text);

/* Writes MS as "2024-05-01T12:00:00.000Z". */
void json_format_time(int64_t ms, char *out, size_t size);

#endif
