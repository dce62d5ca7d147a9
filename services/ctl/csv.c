#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE (64 * 1024)
#define REASON_MAX 160

struct csv_reader {
    FILE *file;            /* borrowed; NULL when reading a buffer */
    const uint8_t *in;     /* borrowed: the caller's buffer, or chunk */
    size_t in_len, in_pos; /* bytes at IN, next one to read */
    uint8_t *chunk;        /* owned; CHUNK_SIZE bytes read from FILE */
    bool started;          /* the byte order mark check is done */
    bool io_failed;        /* FILE reported an error */
    int io_errno;          /* its errno */
    uint64_t line;         /* the line of the next byte, 1-based */
    uint64_t record_line;  /* the line the last record starts on */
    size_t field_max;      /* limits */
    size_t record_max;     /* ... */
    char *text;            /* owned; the record's fields, each NUL-terminated */
    size_t text_len, text_cap;
    size_t *starts;          /* owned; offset of each field in TEXT */
    const char **fields;     /* owned array; pointers into TEXT */
    size_t count, cap;       /* fields in the record, slots in STARTS and FIELDS */
    size_t field_len;        /* bytes of the field being read */
    size_t raw_len;          /* input bytes of the record being read */
    uint64_t fail_line;      /* 0, or the line of the record's first problem */
    char reason[REASON_MAX]; /* what that problem is */
};

static csv_reader_t *s_new(FILE *file, const void *bytes, size_t size)
{
    csv_reader_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->file = file;
    if (file) {
        self->chunk = malloc(CHUNK_SIZE);
        if (!self->chunk) {
            free(self);
            return NULL;
        }
        self->in = self->chunk;
    } else {
        self->in = bytes;
        self->in_len = size;
    }
    self->line = 1;
    self->field_max = CSV_FIELD_MAX_DEFAULT;
    self->record_max = CSV_RECORD_MAX_DEFAULT;
    return self;
}

csv_reader_t *csv_reader_new(FILE *file)
{
    return s_new(file, NULL, 0);
}

csv_reader_t *csv_reader_new_buffer(const void *bytes, size_t size)
{
    return s_new(NULL, bytes, size);
}

void csv_reader_destroy(csv_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csv_reader_t *self = *self_p;
    free(self->chunk);
    free(self->text);
    free(self->starts);
    free(self->fields);
    free(self);
    *self_p = NULL;
}

void csv_reader_set_limits(csv_reader_t *self, size_t field_max, size_t record_max)
{
    if (field_max)
        self->field_max = field_max;
    if (record_max)
        self->record_max = record_max;
}

/* The next input byte without taking it, or -1 at the end (or on an I/O
 * error, which csv_read reports once the record in hand is done). */
static int s_peek(csv_reader_t *self)
{
    if (self->in_pos < self->in_len)
        return self->in[self->in_pos];
    if (!self->file || self->io_failed)
        return -1;
    self->in_len = fread(self->chunk, 1, CHUNK_SIZE, self->file);
    self->in_pos = 0;
    if (self->in_len == 0) {
        if (ferror(self->file)) {
            self->io_failed = true;
            self->io_errno = errno;
        }
        return -1;
    }
    return self->in[0];
}

/* Takes the next byte. Counts lines here, so that every byte, quoted or
 * not, has its line: LF ends one, and so does a CR not followed by LF. */
static int s_get(csv_reader_t *self)
{
    int c = s_peek(self);
    if (c < 0)
        return c;
    self->in_pos++;
    self->raw_len++;
    if (c == '\n' || (c == '\r' && s_peek(self) != '\n'))
        self->line++;
    return c;
}

/* Records the record's first problem; later ones add nothing useful. */
static void s_fail(csv_reader_t *self, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fail(csv_reader_t *self, uint64_t line, const char *fmt, ...)
{
    if (self->fail_line)
        return;
    self->fail_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->reason, sizeof self->reason, fmt, ap);
    va_end(ap);
}

/* "64 KiB", "1 MiB" or "1000 bytes", as a limit reads best. */
static const char *s_size_text(size_t limit, char *buf, size_t size)
{
    if (limit % (1024 * 1024) == 0)
        snprintf(buf, size, "%zu MiB", limit / (1024 * 1024));
    else if (limit % 1024 == 0)
        snprintf(buf, size, "%zu KiB", limit / 1024);
    else
        snprintf(buf, size, "%zu bytes", limit);
    return buf;
}

static void s_grow_text(csv_reader_t *self, size_t more)
{
    if (self->text_len + more <= self->text_cap)
        return;
    size_t cap = self->text_cap ? self->text_cap * 2 : 1024;
    while (cap < self->text_len + more)
        cap *= 2;
    self->text = realloc(self->text, cap);
    if (!self->text)
        abort();
    self->text_cap = cap;
}

static void s_append(csv_reader_t *self, int c)
{
    if (self->fail_line)
        return; /* the record is lost: keep parsing its shape, not its bytes */
    s_grow_text(self, 1);
    self->text[self->text_len++] = (char)c;
    self->field_len++;
}

static void s_field_begin(csv_reader_t *self)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->starts = realloc(self->starts, self->cap * sizeof *self->starts);
        self->fields = realloc(self->fields, self->cap * sizeof *self->fields);
        if (!self->starts || !self->fields)
            abort();
    }
    self->starts[self->count++] = self->text_len;
    self->field_len = 0;
}

static void s_field_end(csv_reader_t *self)
{
    s_grow_text(self, 1);
    self->text[self->text_len++] = '\0';
}

/* True when the field or the record has just gone over its limit (then the
 * problem is recorded). */
static bool s_over_limit(csv_reader_t *self, uint64_t field_line)
{
    char size[32];
    if (self->field_len >= self->field_max) {
        s_fail(self, field_line, "field %zu longer than %s", self->count,
               s_size_text(self->field_max, size, sizeof size));
        return true;
    }
    if (self->raw_len > self->record_max) {
        s_fail(self, self->record_line, "record longer than %s",
               s_size_text(self->record_max, size, sizeof size));
        return true;
    }
    return false;
}

static bool s_is_end(int c)
{
    return c < 0 || c == ',' || c == '\n' || c == '\r';
}

/* Reads one field's bytes (the first byte, C, already taken) up to the
 * byte that ends it, which it returns: ',', '\n', '\r' or -1. Returns -2
 * when a limit was crossed: the caller skips to the next line end. */
static int s_field(csv_reader_t *self, int c)
{
    uint64_t field_line = self->line;
    if (c == '"') {
        for (;;) {
            c = s_get(self);
            if (c < 0) {
                s_fail(self, field_line, "field %zu: quote not closed at the end of the input",
                       self->count);
                return c;
            }
            if (c == '"') {
                if (s_peek(self) != '"')
                    break;
                s_get(self); /* a doubled quote is one quote */
            }
            if (c == '\0')
                s_fail(self, self->line, "field %zu contains a NUL byte", self->count);
            if (s_over_limit(self, field_line))
                return c == '\n' || c == '\r' ? c : -2; /* at a line end: resume there */
            s_append(self, c);
        }
        c = s_get(self);
        if (!s_is_end(c))
            s_fail(self, self->line, "field %zu: a character after its closing quote", self->count);
    }
    /* Unquoted bytes (or, after the error above, the rest of a bad field).
     * A quote in the middle of an unquoted field is kept as a character:
     * that is what exporters that do not quote mean by it. */
    while (!s_is_end(c)) {
        if (c == '\0')
            s_fail(self, self->line, "field %zu contains a NUL byte", self->count);
        if (s_over_limit(self, field_line))
            return -2;
        s_append(self, c);
        c = s_get(self);
    }
    return c;
}

int csv_read(csv_reader_t *self, err_t *err)
{
    self->text_len = 0;
    self->count = 0;
    self->raw_len = 0;
    self->fail_line = 0;
    if (!self->started) {
        self->started = true;
        if (s_peek(self) == 0xEF && self->in_len - self->in_pos >= 3 &&
            memcmp(self->in + self->in_pos, "\xEF\xBB\xBF", 3) == 0)
            self->in_pos += 3;
    }
    int c;
    while ((c = s_peek(self)) == '\n' || c == '\r')
        s_get(self); /* empty lines */
    if (c < 0) {
        if (self->io_failed)
            return err_set(err, ERR_IO, "line %llu: read error: %s", (unsigned long long)self->line,
                           strerror(self->io_errno));
        return 0;
    }
    self->record_line = self->line;
    self->raw_len = 0;
    do {
        s_field_begin(self);
        c = s_field(self, s_get(self));
        s_field_end(self);
    } while (c == ',');
    if (c == -2) {
        while ((c = s_get(self)) >= 0 && c != '\n' && c != '\r')
            ;
    }
    if (c == '\r' && s_peek(self) == '\n')
        s_get(self);
    if (self->fail_line)
        return err_set(err, ERR_INPUT, "line %llu: %s", (unsigned long long)self->fail_line,
                       self->reason);
    if (self->io_failed)
        return err_set(err, ERR_IO, "line %llu: read error: %s", (unsigned long long)self->line,
                       strerror(self->io_errno));
    for (size_t i = 0; i < self->count; i++)
        self->fields[i] = self->text + self->starts[i];
    return 1;
}

const char *const *csv_fields(const csv_reader_t *self, size_t *count)
{
    *count = self->count;
    return self->fields;
}

uint64_t csv_record_line(const csv_reader_t *self)
{
    return self->record_line;
}
