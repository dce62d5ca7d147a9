#include "lead.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FIELD_STR, FIELD_UINT, FIELD_DOUBLE, FIELD_INT64 } s_field_kind_t;

typedef struct {
    const char *name;
    s_field_kind_t kind;
    size_t offset;
} s_field_t;

#define STR_FIELD(f)                                                                               \
    {                                                                                              \
#f, FIELD_STR, offsetof(Leadops__Lead, f)                                                  \
    }
static const s_field_t s_fields[] = {
    STR_FIELD(lead_id),
    STR_FIELD(email),
    STR_FIELD(first_name),
    STR_FIELD(last_name),
    STR_FIELD(phone),
    STR_FIELD(company),
    STR_FIELD(domain),
    STR_FIELD(title),
    STR_FIELD(industry),
    {"company_size", FIELD_UINT, offsetof(Leadops__Lead, company_size)},
    {"annual_revenue", FIELD_DOUBLE, offsetof(Leadops__Lead, annual_revenue)},
    STR_FIELD(country),
    STR_FIELD(region),
    STR_FIELD(city),
    STR_FIELD(postal_code),
    STR_FIELD(source),
    STR_FIELD(campaign),
    STR_FIELD(source_system),
    STR_FIELD(source_id),
    STR_FIELD(language),
    {"created_at_ms", FIELD_INT64, offsetof(Leadops__Lead, created_at_ms)},
};
#define FIELD_COUNT (sizeof s_fields / sizeof s_fields[0])

static const s_field_t *s_field(const char *name)
{
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (strcmp(s_fields[i].name, name) == 0)
            return &s_fields[i];
    return NULL;
}

bool lead_field_is_known(const char *field)
{
    return s_field(field) || (strncmp(field, "attributes.", 11) == 0 && field[11]);
}

static const char *s_attribute(const Leadops__Lead *lead, const char *key)
{
    for (size_t i = 0; i < lead->n_attributes; i++)
        if (lead->attributes[i]->key && strcmp(lead->attributes[i]->key, key) == 0)
            return lead->attributes[i]->value ? lead->attributes[i]->value : "";
    return "";
}

const char *lead_field_text(const Leadops__Lead *lead, const char *field, char *buf, size_t size)
{
    if (strncmp(field, "attributes.", 11) == 0)
        return s_attribute(lead, field + 11);
    const s_field_t *f = s_field(field);
    if (!f)
        return NULL;
    const char *base = (const char *)lead;
    switch (f->kind) {
    case FIELD_STR: {
        const char *s = *(char *const *)(base + f->offset);
        return s ? s : "";
    }
    case FIELD_UINT:
        snprintf(buf, size, "%u", *(const uint32_t *)(base + f->offset));
        return buf;
    case FIELD_DOUBLE:
        snprintf(buf, size, "%g", *(const double *)(base + f->offset));
        return buf;
    case FIELD_INT64:
        snprintf(buf, size, "%lld", (long long)*(const int64_t *)(base + f->offset));
        return buf;
    }
    return NULL;
}

bool lead_field_number(const Leadops__Lead *lead, const char *field, double *value)
{
    const s_field_t *f = s_field(field);
    const char *base = (const char *)lead;
    if (f && f->kind == FIELD_UINT) {
        *value = *(const uint32_t *)(base + f->offset);
        return true;
    }
    if (f && f->kind == FIELD_DOUBLE) {
        *value = *(const double *)(base + f->offset);
        return true;
    }
    if (f && f->kind == FIELD_INT64) {
        *value = (double)*(const int64_t *)(base + f->offset);
        return true;
    }
    char buf[64];
    const char *text = lead_field_text(lead, field, buf, sizeof buf);
    if (!text || !*text)
        return false;
    char *end;
    *value = strtod(text, &end);
    return *end == '\0';
}

static void s_set_attribute(Leadops__Lead *lead, const char *key, const char *value)
{
    for (size_t i = 0; i < lead->n_attributes; i++)
        if (strcmp(lead->attributes[i]->key, key) == 0) {
            lead_set_str(&lead->attributes[i]->value, value);
            return;
        }
    Leadops__Lead__AttributesEntry *entry = malloc(sizeof *entry);
    Leadops__Lead__AttributesEntry **grown =
        realloc(lead->attributes, (lead->n_attributes + 1) * sizeof *lead->attributes);
    if (!entry || !grown)
        abort();
    leadops__lead__attributes_entry__init(entry);
    entry->key = strdup(key);
    entry->value = strdup(value);
    if (!entry->key || !entry->value)
        abort();
    lead->attributes = grown;
    lead->attributes[lead->n_attributes++] = entry;
}

static void s_note_change(json_t *changes, const char *field, const char *old, const char *new)
{
    if (changes)
        json_object_set_new(changes, field, json_pack("[ss]", old, new));
}

size_t lead_merge(Leadops__Lead *base, const Leadops__Lead *incoming, bool incoming_is_newer,
                  json_t *changes)
{
    size_t changed = 0;
    char old_buf[64], new_buf[64];
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const s_field_t *f = &s_fields[i];
        if (strcmp(f->name, "lead_id") == 0)
            continue;
        const char *old = lead_field_text(base, f->name, old_buf, sizeof old_buf);
        const char *new = lead_field_text(incoming, f->name, new_buf, sizeof new_buf);
        bool old_empty = !*old || (f->kind != FIELD_STR && strcmp(old, "0") == 0);
        bool new_empty = !*new || (f->kind != FIELD_STR && strcmp(new, "0") == 0);
        if (new_empty || strcmp(old, new) == 0 || (!old_empty && !incoming_is_newer))
            continue;
        s_note_change(changes, f->name, old, new);
        changed++;
        char *base_field = (char *)base + f->offset;
        const char *incoming_field = (const char *)incoming + f->offset;
        switch (f->kind) {
        case FIELD_STR:
            lead_set_str((char **)base_field, *(char *const *)incoming_field);
            break;
        case FIELD_UINT:
            *(uint32_t *)base_field = *(const uint32_t *)incoming_field;
            break;
        case FIELD_DOUBLE:
            *(double *)base_field = *(const double *)incoming_field;
            break;
        case FIELD_INT64:
            *(int64_t *)base_field = *(const int64_t *)incoming_field;
            break;
        }
    }
    for (size_t i = 0; i < incoming->n_attributes; i++) {
        const char *key = incoming->attributes[i]->key, *new = incoming->attributes[i]->value;
        const char *old = s_attribute(base, key);
        if (!new || !*new || strcmp(old, new) == 0 || (*old && !incoming_is_newer))
            continue;
        char field[128];
        snprintf(field, sizeof field, "attributes.%s", key);
        s_note_change(changes, field, old, new);
        s_set_attribute(base, key, new);
        changed++;
    }
    return changed;
}

void lead_set_str(char **slot, const char *value)
{
    /* protobuf-c points empty proto3 strings at its shared protobuf_c_empty_string,
     * which must not be freed; everything else in a heap message is malloc'ed. */
    if (*slot && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = strdup(value ? value : "");
    if (!*slot)
        abort();
}

/* Trims leading and trailing white space in place. */
static void s_trim(char *s)
{
    if (!s || s == protobuf_c_empty_string || !*s)
        return;
    char *start = s;
    while (isspace((unsigned char)*start))
        start++;
    size_t len = strlen(start);
    while (len && isspace((unsigned char)start[len - 1]))
        len--;
    memmove(s, start, len);
    s[len] = '\0';
}

static void s_lower(char *s)
{
    if (!s || s == protobuf_c_empty_string)
        return;
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void s_upper(char *s)
{
    if (!s || s == protobuf_c_empty_string)
        return;
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

void lead_normalize(Leadops__Lead *lead)
{
    char **strings[] = {&lead->lead_id,     &lead->email,   &lead->first_name, &lead->last_name,
                        &lead->phone,       &lead->company, &lead->domain,     &lead->title,
                        &lead->industry,    &lead->country, &lead->region,     &lead->city,
                        &lead->postal_code, &lead->source,  &lead->campaign,   &lead->source_system,
                        &lead->source_id,   &lead->language};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        s_trim(*strings[i]);
    s_lower(lead->email);
    s_lower(lead->domain);
    s_lower(lead->industry);
    s_lower(lead->source);
    s_upper(lead->country);
    if ((!lead->domain || !*lead->domain) && lead->email) {
        const char *at = strrchr(lead->email, '@');
        if (at && at[1])
            lead_set_str(&lead->domain, at + 1);
    }
    if (lead->domain && strncmp(lead->domain, "www.", 4) == 0)
        memmove(lead->domain, lead->domain + 4, strlen(lead->domain + 4) + 1);
}

static bool s_is_printable_id(const char *id, size_t max)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > max)
        return false;
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p == 127)
            return false;
    return true;
}

static bool s_is_plausible_email(const char *email)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || strchr(at + 1, '@'))
        return false;
    const char *dot = strrchr(at + 1, '.');
    if (!dot || dot == at + 1 || !dot[1])
        return false;
    for (const char *p = email; *p; p++)
        if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
            return false;
    return strlen(email) <= 254;
}

int lead_validate(const Leadops__Lead *lead, err_t *err)
{
    if (!s_is_printable_id(lead->lead_id, LEAD_ID_MAX))
        return err_set(err, ERR_INPUT,
                       "lead_id is required: 1..%d printable characters without spaces",
                       LEAD_ID_MAX);
    bool has_email = lead->email && *lead->email;
    bool has_company = lead->company && *lead->company;
    /* A CRM record without contact data (an exported MQL, say) is still a
     * lead when its source names it. */
    bool has_source_id =
        lead->source_system && *lead->source_system && lead->source_id && *lead->source_id;
    if (!has_email && !has_company && !has_source_id)
        return err_set(err, ERR_INPUT,
                       "a lead needs an identity: an email, a company, or a source_system "
                       "with a source_id");
    if (has_email && !s_is_plausible_email(lead->email))
        return err_set(err, ERR_INPUT, "email is not a valid address");
    if (lead->country && *lead->country &&
        (strlen(lead->country) != 2 || !isalpha((unsigned char)lead->country[0]) ||
         !isalpha((unsigned char)lead->country[1])))
        return err_set(err, ERR_INPUT, "country must be an ISO 3166-1 alpha-2 code such as DE");
    if (lead->annual_revenue < 0)
        return err_set(err, ERR_INPUT, "annual_revenue must not be negative");
    return 0;
}

int activity_check(Leadops__Activity *activity, const config_t *cfg, err_t *err)
{
    s_trim(activity->lead_id);
    s_trim(activity->type);
    s_lower(activity->type);
    if (!s_is_printable_id(activity->lead_id, LEAD_ID_MAX))
        return err_set(err, ERR_INPUT,
                       "lead_id is required: 1..%d printable characters without spaces",
                       LEAD_ID_MAX);
    if (!activity->type || !*activity->type)
        return err_set(err, ERR_INPUT, "type is required");
    if (activity->value < 0)
        return err_set(err, ERR_INPUT, "value must not be negative (a deal or opportunity amount)");
    if (!config_is_activity_type(cfg, activity->type))
        return err_set(err, ERR_INPUT, "unknown activity type '%.40s' (see ingest.activity_types)",
                       activity->type);
    return 0;
}
