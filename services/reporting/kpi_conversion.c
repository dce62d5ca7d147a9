/* kpi_conversion.c — conversion by origin; see kpi.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"
#include "keys.h"
#include "kpi.h"
#include "kpi_internal.h"
#include "views.h"

/* ---- conversion ------------------------------------------------------- */

typedef struct {
    char *origin; /* owned */
    double leads, won, won_value;
} s_origin_t;

static int s_by_leads(const void *a, const void *b)
{
    const s_origin_t *x = a, *y = b;
    if (x->leads != y->leads)
        return x->leads > y->leads ? -1 : 1;
    return strcmp(x->origin, y->origin);
}

static json_t *s_origin_json(const char *name, double leads, double won, double won_value)
{
    json_t *row =
        json_pack("{s:I, s:I, s:o, s:f}", "leads", (json_int_t)llround(leads), "won",
                  (json_int_t)llround(won), "rate", kpi_ratio(won, leads), "won_value", won_value);
    if (name)
        json_object_set_new(row, "origin", json_string(name));
    return row;
}

json_t *kpi_conversion(store_t *store, const char *prefix, err_t *err)
{
    char key[KEY_MAX];
    keys_format(key, KEY_MAX, prefix, "kpi:origin");
    store_value_t *hash = store_command(store, err, "HGETALL %s", key);
    if (!hash)
        return NULL;
    if (store_reply_check(hash, "HGETALL kpi:origin", err) < 0) {
        store_value_free(&hash);
        return NULL;
    }
    size_t count = 0;
    s_origin_t *origins = calloc(hash->count / 2 + 1, sizeof *origins);
    if (!origins) {
        store_value_free(&hash);
        err_set(err, ERR_NOMEM, "out of memory reading conversion");
        return NULL;
    }
    for (size_t i = 0; i + 1 < hash->count; i += 2) {
        const char *field = store_value_str(hash->elements[i], "");
        const char *colon = strchr(field, ':');
        if (!colon)
            continue;
        size_t kind_len = (size_t)(colon - field);
        const char *name = colon + 1;
        s_origin_t *o = NULL;
        for (size_t k = 0; k < count && !o; k++)
            if (strcmp(origins[k].origin, name) == 0)
                o = &origins[k];
        if (!o) {
            o = &origins[count];
            o->origin = strdup(name);
            if (!o->origin)
                continue;
            count++;
        }
        double n = store_value_double(hash->elements[i + 1], 0);
        if (kind_len == 5 && strncmp(field, "leads", 5) == 0)
            o->leads += n;
        else if (kind_len == 3 && strncmp(field, "won", 3) == 0)
            o->won += n;
        else if (kind_len == 9 && strncmp(field, "won_value", 9) == 0)
            o->won_value += n;
    }
    store_value_free(&hash);
    qsort(origins, count, sizeof *origins, s_by_leads);
    json_t *list = json_array();
    double leads = 0, won = 0, won_value = 0;
    for (size_t k = 0; k < count; k++) {
        json_array_append_new(list, s_origin_json(origins[k].origin, origins[k].leads,
                                                  origins[k].won, origins[k].won_value));
        leads += origins[k].leads;
        won += origins[k].won;
        won_value += origins[k].won_value;
        free(origins[k].origin);
    }
    free(origins);
    return json_pack("{s:o, s:o}", "origins", list, "overall",
                     s_origin_json(NULL, leads, won, won_value));
}
