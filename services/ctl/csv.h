/* csv.h — an RFC 4180 reader for CRM exports: quoted fields, doubled quotes,
 * commas and line breaks inside quotes, CRLF or LF (or a lone CR) line ends,
 * a UTF-8 byte order mark at the start, a last line without a line end.
 *
 * The input is untrusted: the reader never aborts on it. A record that
 * breaks a rule (a field or record over its limit, a character after a
 * closing quote, a NUL byte, a quote left open at the end of the input) is
 * returned as an error naming its line, and reading goes on with the next
 * record. An over-long field is most often a stray quote that swallowed the
 * lines after it, so that error resumes at the next line end whatever the
 * quotes say: one bad record costs one record, not the rest of the file.
 *
 * Empty lines are skipped (they are not records of one empty field). The
 * reader does not compare field counts between records: ragged rows are
 * the caller's call.
 *
 * A csv_reader_t borrows its FILE (or buffer), which must outlive it. The
 * fields of a record are borrowed from the reader until the next csv_read. */
#ifndef LEADOPS_CSV_H
#define LEADOPS_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define CSV_FIELD_MAX_DEFAULT  (64 * 1024)   /* bytes of one field */
#define CSV_RECORD_MAX_DEFAULT (1024 * 1024) /* bytes of one record, separators included */

typedef struct csv_reader csv_reader_t;

/* A reader over FILE (borrowed) or over SIZE bytes at BYTES (borrowed, need
 * not be NUL-terminated). Returns NULL only when out of memory. */
csv_reader_t *csv_reader_new(FILE *file);
csv_reader_t *csv_reader_new_buffer(const void *bytes, size_t size);
void csv_reader_destroy(csv_reader_t **self_p); /* NULL-safe, idempotent */

/* Sets the limits (0 keeps the current one). The defaults are above. */
void csv_reader_set_limits(csv_reader_t *self, size_t field_max, size_t record_max);

/* Reads the next record. Returns 1 with a record (csv_fields), 0 at the end
 * of the input, or -1 with *err (ERR_INPUT "line N: reason", N the line
 * the bad field starts on; ERR_IO when the FILE fails) — after ERR_INPUT
 * the next call reads the record after the bad one. */
int csv_read(csv_reader_t *self, err_t *err);

/* The fields of the last record read: COUNT NUL-terminated strings (a
 * field holding a NUL byte is an error, so strlen is its length). */
const char *const *csv_fields(const csv_reader_t *self, size_t *count);

/* The 1-based line the last record (or failed record) starts on. */
uint64_t csv_record_line(const csv_reader_t *self);

#endif
