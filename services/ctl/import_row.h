/* import_row.h — private to import_map.c and import_row.c: the compiled
 * form of a mapping file. import_map.c builds it from the YAML and checks
 * it; import_row.c binds its columns to a CSV header and maps rows with it.
 * Nothing outside those two files includes this header; the public API is
 * import_map.h.
 *
 * An s_field_t owns every string it points to; import_map_destroy frees
 * them. After import_map_bind the map is only read. */
#ifndef LEADOPS_IMPORT_ROW_H
#define LEADOPS_IMPORT_ROW_H

#include <stdbool.h>
#include <stddef.h>

#include "import_map.h"

#define COLUMNS_MAX 8    /* columns one field may fall back through */
#define VALUE_MAX   1024 /* json_codec refuses longer strings anyway: say so per row */
#define AFFIX_MAX   128  /* prefix, suffix */
#define MAP_KEY_MAX 160

typedef enum { T_STRING = 0, T_INTEGER, T_NUMBER, T_BOOLEAN, T_TIME } s_type_t;

typedef enum { CASE_KEEP = 0, CASE_LOWER, CASE_UPPER } s_case_t;

typedef struct {
    char *from, *to; /* owned */
} s_rename_t;

/* Where one target field's value comes from and how it changes on the way. */
typedef struct {
    char *target;               /* owned; proto field name or "attributes.KEY"; NULL for id */
    char key[MAP_KEY_MAX];      /* the mapping key, for messages: "fields.source" */
    int line;                   /* of that key in the mapping file */
    char *columns[COLUMNS_MAX]; /* owned; the first non-empty cell wins */
    int index[COLUMNS_MAX];     /* their positions in the header, once bound */
    size_t n_columns;           /* 0 when VALUE is set */
    char *value;                /* owned; a constant, or NULL */
    char *prefix, *suffix;      /* owned; added to a non-empty value */
    char *fallback;             /* owned; `default:`, for an empty cell; or NULL */
    char *other;                /* owned; for a value RENAMES lacks; NULL keeps it */
    s_rename_t *renames;        /* owned */
    size_t n_renames;           /* ... */
    s_type_t type;              /* what the text must be */
    char *format;               /* owned; time: "iso", "unix", "unix_ms" or strptime */
    s_case_t letter_case;       /* ... */
    bool slug;                  /* lower-case ASCII letters, digits and '-' only */
    bool required;              /* an empty value makes the row bad */
} s_field_t;

struct import_map {
    char *name;          /* owned; the mapping file, for messages */
    import_kind_t kind;  /* ... */
    char *source_system; /* owned */
    s_field_t id;        /* the record's id */
    s_field_t *fields;   /* owned */
    size_t n_fields;     /* ... */
    bool bound;          /* import_map_bind succeeded */
};

/* The proto field that holds a row's time for KIND: "created_at_ms" for a
 * lead, "occurred_at_ms" for an activity. */
const char *import_row_time_target(import_kind_t kind);

#endif
