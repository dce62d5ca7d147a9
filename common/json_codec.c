#include "json_codec.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lead.h"

/* A string field of a message: its JSON key and where it lives. */
typedef struct {
    const char *key;
    size_t offset;
} s_str_field_t;

#define LEAD_STR(f)                                                                                \
    {                                                                                              \
#f, offsetof(Leadops__Lead, f)                                                             \
    }
static const s_str_field_t s_lead_strings[] = {
    LEAD_STR(lead_id),     LEAD_STR(email),    LEAD_STR(first_name), LEAD_STR(last_name),
    LEAD_STR(phone),       LEAD_STR(company),  LEAD_STR(domain),     LEAD_STR(title),
    LEAD_STR(industry),    LEAD_STR(country),  LEAD_STR(region),     LEAD_STR(city),
    LEAD_STR(postal_code), LEAD_STR(source),   LEAD_STR(campaign),   LEAD_STR(source_system),
    LEAD_STR(source_id),   LEAD_STR(language),
};
#define ACT_STR(f)                                                                                 \
    {                                                                                              \
#f, offsetof(Leadops__Activity, f)                                                         \
    }
static const s_str_field_t s_activity_strings[] = {
    ACT_STR(activity_id), ACT_STR(lead_id), ACT_STR(type),
    ACT_STR(rep_id),      ACT_STR(channel), ACT_STR(outcome),
};

#define STR_MAX 1024 /* a longer text field is refused: nothing legitimate needs it */

static const s_str_field_t *s_find(const s_str_field_t *fields, size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(fields[i].key, key) == 0)
            return &fields[i];
    return NULL;
}

/* Reads exactly N digits at *P into *VALUE and advances *P; false if any
 * of them is not a digit (the NUL included, so it never reads past it). */
static bool s_digits(const char **p, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *value = v;
    return true;
}

int64_t json_parse_time(const char *text)
{
    /* Strict ISO-8601 subset, fixed widths, no sscanf/strtod: what arrives
     * here is untrusted input from webhooks and files. */
    const char *p = text;
    int year, mon, day, hour = 0, min = 0, sec = 0, millis = 0;
    if (!s_digits(&p, 4, &year) || *p++ != '-' || !s_digits(&p, 2, &mon) || *p++ != '-' ||
        !s_digits(&p, 2, &day))
        return -1;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!s_digits(&p, 2, &hour) || *p++ != ':' || !s_digits(&p, 2, &min) || *p++ != ':' ||
            !s_digits(&p, 2, &sec))
            return -1;
        if (*p == '.') {
            p++;
            int digits = 0, scale = 100;
            for (; *p >= '0' && *p <= '9'; p++, digits++) {
                millis += (*p - '0') * scale;
                scale /= 10;
            }
            if (digits == 0 || digits > 9)
                return -1;
        }
    }
    long offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!s_digits(&p, 2, &oh) || *p++ != ':' || !s_digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_s = sign * (oh * 3600L + om * 60L);
    }
    if (*p || year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
        sec > 60)
        return -1;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec};
    int64_t seconds = (int64_t)timegm(&tm) - offset_s;
    return seconds < 0 ? -1 : seconds * 1000 + millis;
}

void json_format_time(int64_t ms, char *out, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03dZ", (int)(ms % 1000));
}

/* Reads a time from KEY_ms (number) or KEY (string). 0 when absent. */
static int s_time(const char *key, const json_t *value, int64_t *out, err_t *err)
{
    if (json_is_integer(value) || json_is_real(value)) {
        double n = json_number_value(value);
        if (n < 0 || n > 9e15)
            return err_set(err, ERR_INPUT, "%s: out of range", key);
        *out = (int64_t)n;
        return 0;
    }
    if (json_is_string(value)) {
        int64_t ms = json_parse_time(json_string_value(value));
        if (ms < 0)
            return err_set(err, ERR_INPUT, "%s: expected ISO-8601 time like 2024-05-01T12:00:00Z",
                           key);
        *out = ms;
        return 0;
    }
    return err_set(err, ERR_INPUT, "%s: expected a time", key);
}

static int s_string(const char *key, const json_t *value, char **slot, err_t *err)
{
    if (json_is_null(value))
        return 0;
    if (!json_is_string(value))
        return err_set(err, ERR_INPUT, "%s: expected a string", key);
    if (json_string_length(value) > STR_MAX)
        return err_set(err, ERR_INPUT, "%s: longer than %d bytes", key, STR_MAX);
    if (strlen(json_string_value(value)) != json_string_length(value))
        return err_set(err, ERR_INPUT, "%s: contains a NUL byte", key);
    lead_set_str(slot, json_string_value(value));
    return 0;
}

static int s_number(const char *key, const json_t *value, double min, double max, double *out,
                    err_t *err)
{
    if (!json_is_number(value))
        return err_set(err, ERR_INPUT, "%s: expected a number", key);
    double n = json_number_value(value);
    if (!(n >= min && n <= max))
        return err_set(err, ERR_INPUT, "%s: out of range %g..%g", key, min, max);
    *out = n;
    return 0;
}

static void s_add_attribute(Leadops__Lead *lead, const char *key, const char *value)
{
    Leadops__Lead__AttributesEntry *entry = malloc(sizeof *entry);
    if (!entry)
        abort();
    leadops__lead__attributes_entry__init(entry);
    entry->key = strdup(key);
    entry->value = strdup(value);
    lead->attributes =
        realloc(lead->attributes, (lead->n_attributes + 1) * sizeof *lead->attributes);
    if (!lead->attributes || !entry->key || !entry->value)
        abort();
    lead->attributes[lead->n_attributes++] = entry;
}

/* Adds scalar VALUE as attribute KEY; objects and arrays are refused. */
static int s_attribute(Leadops__Lead *lead, const char *key, const json_t *value, err_t *err)
{
    char text[64];
    const char *str = text;
    if (lead->n_attributes >= 64)
        return err_set(err, ERR_INPUT, "too many attributes (at most 64)");
    if (strlen(key) > 64)
        return err_set(err, ERR_INPUT, "attribute name longer than 64 bytes");
    /* KEY is the sender's text: quoted, so that stored reason classes
     * (intake.c) never carry it. */
    if (json_is_string(value)) {
        if (json_string_length(value) > STR_MAX)
            return err_set(err, ERR_INPUT, "attribute '%.64s' longer than %d bytes", key, STR_MAX);
        str = json_string_value(value);
    } else if (json_is_integer(value)) {
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(value));
    } else if (json_is_real(value)) {
        snprintf(text, sizeof text, "%g", json_real_value(value));
    } else if (json_is_boolean(value)) {
        str = json_is_true(value) ? "true" : "false";
    } else if (json_is_null(value)) {
        return 0;
    } else {
        return err_set(err, ERR_INPUT, "attribute '%.64s' must be a string, number or boolean",
                       key);
    }
    s_add_attribute(lead, key, str);
    return 0;
}

static int s_lead_key(Leadops__Lead *lead, const char *key, const json_t *value, err_t *err)
{
    const s_str_field_t *f =
        s_find(s_lead_strings, sizeof s_lead_strings / sizeof s_lead_strings[0], key);
    if (f)
        return s_string(key, value, (char **)((char *)lead + f->offset), err);
    double n = 0;
    if (strcmp(key, "company_size") == 0) {
        if (s_number(key, value, 0, 1e9, &n, err) < 0)
            return -1;
        lead->company_size = (uint32_t)n;
        return 0;
    }
    if (strcmp(key, "annual_revenue") == 0) {
        if (s_number(key, value, 0, 1e15, &n, err) < 0)
            return -1;
        lead->annual_revenue = n;
        return 0;
    }
    if (strcmp(key, "created_at_ms") == 0 || strcmp(key, "created_at") == 0)
        return s_time(key, value, &lead->created_at_ms, err);
    if (strcmp(key, "attributes") == 0) {
        if (!json_is_object(value))
            return err_set(err, ERR_INPUT, "attributes: expected an object");
        const char *akey;
        json_t *avalue;
        json_object_foreach((json_t *)value, akey, avalue)
        {
            if (s_attribute(lead, akey, avalue, err) < 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(key, "kind") == 0 || strcmp(key, "event_id") == 0)
        return 0;
    return s_attribute(lead, key, value, err);
}

Leadops__Lead *json_to_lead(const json_t *obj, err_t *err)
{
    if (!json_is_object(obj)) {
        err_set(err, ERR_INPUT, "a lead must be a JSON object");
        return NULL;
    }
    Leadops__Lead *lead = malloc(sizeof *lead);
    if (!lead)
        abort();
    leadops__lead__init(lead);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (s_lead_key(lead, key, value, err) < 0) {
            leadops__lead__free_unpacked(lead, NULL);
            return NULL;
        }
    }
    return lead;
}

static int s_activity_key(Leadops__Activity *activity, const char *key, const json_t *value,
                          err_t *err)
{
    const s_str_field_t *f =
        s_find(s_activity_strings, sizeof s_activity_strings / sizeof s_activity_strings[0], key);
    if (f)
        return s_string(key, value, (char **)((char *)activity + f->offset), err);
    if (strcmp(key, "value") == 0)
        return s_number(key, value, -1e15, 1e15, &activity->value, err);
    if (strcmp(key, "occurred_at_ms") == 0 || strcmp(key, "occurred_at") == 0)
        return s_time(key, value, &activity->occurred_at_ms, err);
    if (strcmp(key, "kind") == 0 || strcmp(key, "event_id") == 0)
        return 0;
    if (strcmp(key, "attributes") == 0 && json_is_object(value)) {
        const char *akey;
        json_t *avalue;
        json_object_foreach((json_t *)value, akey, avalue)
        {
            if (!json_is_string(avalue) || activity->n_attributes >= 64)
                return err_set(err, ERR_INPUT, "attribute '%.64s' must be a string", akey);
            Leadops__Activity__AttributesEntry *entry = malloc(sizeof *entry);
            if (!entry)
                abort();
            leadops__activity__attributes_entry__init(entry);
            entry->key = strdup(akey);
            entry->value = strdup(json_string_value(avalue));
            activity->attributes = realloc(activity->attributes, (activity->n_attributes + 1) *
                                                                     sizeof *activity->attributes);
            if (!activity->attributes)
                abort();
            activity->attributes[activity->n_attributes++] = entry;
        }
        return 0;
    }
    return err_set(err, ERR_INPUT, "unknown activity field '%.40s'", key);
}

Leadops__Activity *json_to_activity(const json_t *obj, err_t *err)
{
    if (!json_is_object(obj)) {
        err_set(err, ERR_INPUT, "an activity must be a JSON object");
        return NULL;
    }
    Leadops__Activity *activity = malloc(sizeof *activity);
    if (!activity)
        abort();
    leadops__activity__init(activity);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (s_activity_key(activity, key, value, err) < 0) {
            leadops__activity__free_unpacked(activity, NULL);
            return NULL;
        }
    }
    return activity;
}

json_t *json_from_lead(const Leadops__Lead *lead)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < sizeof s_lead_strings / sizeof s_lead_strings[0]; i++) {
        const char *s = *(char *const *)((const char *)lead + s_lead_strings[i].offset);
        if (s && *s)
            json_object_set_new(obj, s_lead_strings[i].key, json_string(s));
    }
    if (lead->company_size)
        json_object_set_new(obj, "company_size", json_integer(lead->company_size));
    if (lead->annual_revenue)
        json_object_set_new(obj, "annual_revenue", json_real(lead->annual_revenue));
    if (lead->created_at_ms)
        json_object_set_new(obj, "created_at_ms", json_integer(lead->created_at_ms));
    if (lead->n_attributes) {
        json_t *attributes = json_object();
        for (size_t i = 0; i < lead->n_attributes; i++)
            json_object_set_new(attributes, lead->attributes[i]->key,
                                json_string(lead->attributes[i]->value));
        json_object_set_new(obj, "attributes", attributes);
    }
    return obj;
}
