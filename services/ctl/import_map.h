/* import_map.h — how the rows of a CRM export become leads or activities:
 * a mapping file (YAML, read with yaml_tree) that names, for each target
 * field of a Lead or an Activity (proto field names, "attributes.KEY"),
 * where its value comes from (a column, the first non-empty of several
 * columns, or a constant) and how it is changed on the way (renamed values,
 * a default for empty cells, case, slug, prefix and suffix, a type: integer,
 * number, boolean or a time with its strptime format).
 *
 *   kind: lead | activity         what each row becomes
 *   source_system: olist          names the source; part of each event id
 *   id: mql_id                    the column holding the record's id
 *   time: {column: first_contact_date, format: "%Y-%m-%d"}
 *   fields:
 *     lead_id: {column: mql_id, prefix: "olist-"}
 *     source: {column: origin, rename: {unknown: ""}}
 *     attributes.landing_page: landing_page_id     (a column, in short)
 *
 * A row's event id is derived from (source_system, kind, id, activity type),
 * so that importing a file again is a no-op at ingest, which drops event ids
 * it has seen. A lead gets source_system, and lead_id and source_id from the
 * id column, unless fields sets them; an activity gets activity_id so.
 *
 * Errors in the mapping file read "FILE:LINE: key: reason" (ERR_CONFIG). An
 * import_map_t is immutable once bound; rows map with no shared state. */
#ifndef LEADOPS_IMPORT_MAP_H
#define LEADOPS_IMPORT_MAP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IMPORT_EVENT_ID_SIZE 37 /* "imp-" + 32 hex digits + NUL */

typedef enum {
    IMPORT_LEAD = 0,
    IMPORT_ACTIVITY,
} import_kind_t;

typedef struct import_map import_map_t;

/* Reads the mapping file at PATH (or SIZE bytes of TEXT, NAME standing for
 * the file in messages). Returns the map, or NULL with *err: ERR_IO when
 * the file cannot be read, ERR_CONFIG "FILE:LINE: key: reason" when it is
 * not a mapping we accept. */
import_map_t *import_map_load(const char *path, err_t *err);
import_map_t *import_map_parse(const char *text, size_t size, const char *name, err_t *err);
void import_map_destroy(import_map_t **self_p); /* NULL-safe, idempotent */

import_kind_t import_map_kind(const import_map_t *self);

/* Resolves every column the map names against a CSV header of COUNT names
 * (compared after trimming spaces; the first of equal names wins). Returns
 * 0, or -1 with *err (ERR_CONFIG "FILE:LINE: key: column 'x' is not in the
 * header (a, b, ...)"). A map must be bound before import_map_row. */
int import_map_bind(import_map_t *self, const char *const *header, size_t count, err_t *err);

/* Maps one row of COUNT cells (the header's count) to a new JSON object
 * for ctl_envelope_from_json: "kind", "event_id" and the mapped fields. The
 * row's time (Unix ms; -1 when the row has none) goes to *TIME_MS. Returns
 * the object (caller owns), or NULL with *err (ERR_INPUT, a reason naming
 * the field and its column) for a row that does not map. */
json_t *import_map_row(const import_map_t *self, const char *const *row, size_t count,
                       int64_t *time_ms, err_t *err);

/* Writes into OUT the event id of the record ID of KIND from SOURCE_SYSTEM
 * (TYPE: the activity type, "" or NULL for a lead): "imp-" and 32 hex
 * digits of a hash of the four, the same on every machine and run. */
void import_map_event_id(const char *source_system, import_kind_t kind, const char *id,
                         const char *type, char out[IMPORT_EVENT_ID_SIZE]);

#endif
