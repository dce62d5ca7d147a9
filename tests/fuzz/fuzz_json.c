/* fuzz_json.c — libFuzzer target for HTTP intake bodies (POST /v1/leads,
 * POST /v1/activities) and the JSON files leadopsctl sends.
 *
 * Does what http_intake does to a body: json_loadb with duplicate keys
 * refused, then each object (the body or each element of an array body)
 * through json_to_lead and json_to_activity — both, since the path that
 * chooses one is not part of the bytes — then lead_normalize + lead_validate
 * and activity_check, as intake does before it packs. The raw bytes also go
 * to json_parse_time as one NUL-terminated string, since times arrive as
 * JSON strings. Everything is freed, so a leak is a finding. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_support.h"
#include "json_codec.h"
#include "lead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ITEMS_MAX 1000 /* http_intake refuses larger arrays before decoding any */

static void s_item(const json_t *obj)
{
    err_t err = {0};
    Leadops__Lead *lead = json_to_lead(obj, &err);
    if (lead) {
        lead_normalize(lead);
        if (lead_validate(lead, &err) == 0) {
            /* The normalized lead goes back out as JSON in leadopsctl and views. */
            json_t *again = json_from_lead(lead);
            if (!again)
                abort();
            json_decref(again);
        }
        leadops__lead__free_unpacked(lead, NULL);
    }
    Leadops__Activity *activity = json_to_activity(obj, &err);
    if (activity) {
        (void)activity_check(activity, fuzz_default_config(), &err);
        leadops__activity__free_unpacked(activity, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_default_config();

    /* An exactly sized copy, so reading past the NUL is an ASan finding. */
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t ms = json_parse_time(text);
    if (ms >= 0) {
        char formatted[64];
        json_format_time(ms, formatted, sizeof formatted);
    }
    free(text);

    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return 0;
    if (json_is_array(root) && json_array_size(root) <= ITEMS_MAX) {
        size_t i;
        json_t *item;
        json_array_foreach(root, i, item)
        {
            s_item(item);
        }
    } else if (json_is_object(root)) {
        s_item(root);
    }
    json_decref(root);
    return 0;
}
