/* prom_text.c — the Prometheus text exposition writer; see prom_text.h. */
#include "prom_text.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_text_init(prom_text_t *out)
{
    out->capacity = 8192;
    out->len = 0;
    out->text = malloc(out->capacity);
    if (!out->text)
        abort();
    out->text[0] = '\0';
}

size_t prom_utf8_char_len(const unsigned char *p, size_t left)
{
    size_t len;
    unsigned min;
    unsigned code;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, code = p[0] & 0x1f, min = 0x80;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, code = p[0] & 0x0f, min = 0x800;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, code = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > left)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past Unicode are invalid. */
    if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
        return 0;
    return len;
}

void prom_append(prom_text_t *out, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(out->text + out->len, out->capacity - out->len, fmt, ap);
        va_end(ap);
        assert(n >= 0);
        if ((size_t)n < out->capacity - out->len) {
            out->len += (size_t)n;
            return;
        }
        size_t capacity = out->capacity * 2 + (size_t)n;
        char *grown = realloc(out->text, capacity);
        if (!grown)
            abort(); /* a scrape page is a few KB; no memory here is fatal anyway */
        out->text = grown;
        out->capacity = capacity;
    }
}

/* Writes VALUE as a label value: the format escapes \, " and newline, and
 * a parser refuses the whole page over one byte that is not UTF-8 (queue and
 * rep names come from the config, reasons from other processes). */
static void s_append_label(prom_text_t *out, const char *value)
{
    const unsigned char *p = (const unsigned char *)(value ? value : "");
    size_t left = strlen((const char *)p);
    while (left) {
        size_t n = prom_utf8_char_len(p, left);
        if (n == 0)
            prom_append(out, "?");
        else if (*p == '\\')
            prom_append(out, "\\\\");
        else if (*p == '"')
            prom_append(out, "\\\"");
        else if (*p == '\n')
            prom_append(out, "\\n");
        else
            prom_append(out, "%.*s", (int)n, (const char *)p);
        n = n ? n : 1;
        p += n;
        left -= n;
    }
}

void prom_family(prom_text_t *out, const char *name, const char *type, const char *help)
{
    prom_append(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(prom_text_t *out, const char *name, const char *label, const char *value,
                 double number)
{
    prom_append(out, "%s", name);
    if (label) {
        prom_append(out, "{%s=\"", label);
        s_append_label(out, value);
        prom_append(out, "\"}");
    }
    prom_append(out, " %.15g\n", number);
}

void prom_histogram(prom_text_t *out, const char *name, const char *help,
                    const stl_histogram_t *hist)
{
    prom_family(out, name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < STL_BUCKET_COUNT; i++) {
        cumulative += hist->counts[i];
        prom_append(out, "%s_bucket{le=\"%g\"} %llu\n", name, stl_buckets_ms[i] / 1000.0,
                    (unsigned long long)cumulative);
    }
    prom_append(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)hist->count);
    prom_append(out, "%s_sum %.15g\n", name, hist->sum_ms / 1000.0);
    prom_append(out, "%s_count %llu\n", name, (unsigned long long)hist->count);
}

void prom_gauges(prom_text_t *out, const char *name, const char *help, json_t *array,
                 const char *label, const char *key, const char *field, double scale)
{
    prom_family(out, name, "gauge", help);
    size_t i;
    json_t *row;
    json_array_foreach(array, i, row)
    {
        prom_sample(out, name, label, json_string_value(json_object_get(row, key)),
                    json_number_value(json_object_get(row, field)) * scale);
    }
}
