/* leadopsctl lead: show one lead (the reporting view), or merge two leads by
 * hand with the rule scoring merges by (`lead merge KEEP OTHER`).
 *
 * A merge is computed here and written by one script (merge.lua): the fields
 * are merged with lead_merge from both leads as read, fit/grade/reasons
 * recomputed with scoring's rules, and the script refuses when either lead's
 * revision moved meanwhile, like scoring's apply.lua. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "envelope.h"
#include "keys.h"
#include "lead.h"
#include "rules_score.h"
#include "views.h"

extern const char ctl_script_merge[];

void (*ctl_lead_merge_before_write)(void *arg);
void *ctl_lead_merge_before_write_arg;

/* Aliases are followed this far: one hop is what accept.lua and fetch.lua
 * follow; a second covers an alias of a lead merged by hand since. */
#define ALIAS_HOPS 2

/* One lead as read for a merge. */
typedef struct {
    char id[LEAD_ID_MAX + 1];
    store_value_t *hash; /* owned: HGETALL */
    Leadops__Lead *lead; /* owned */
    char rev[32];
    long long lead_time;
} s_side_t;

static void s_side_clear(s_side_t *side)
{
    store_value_free(&side->hash);
    if (side->lead)
        leadops__lead__free_unpacked(side->lead, NULL);
    side->lead = NULL;
}

/* The value of FIELD in an HGETALL reply, or NULL. */
static const store_value_t *s_hash_get(const store_value_t *hash, const char *field)
{
    for (size_t i = 0; hash && hash->type == STORE_ARRAY && i + 1 < hash->count; i += 2)
        if (hash->elements[i]->type == STORE_STR && strcmp(hash->elements[i]->str, field) == 0)
            return hash->elements[i + 1];
    return NULL;
}

static const char *s_hash_str(const store_value_t *hash, const char *field, const char *fallback)
{
    return store_value_str(s_hash_get(hash, field), fallback);
}

/* Follows ID's aliases (at most ALIAS_HOPS) into OUT. Returns the number of
 * hops taken, or -1 with *err set. */
static int s_resolve(store_t *store, const char *prefix, const char *id, char out[LEAD_ID_MAX + 1],
                     err_t *err)
{
    snprintf(out, LEAD_ID_MAX + 1, "%s", id);
    int hops = 0;
    for (; hops < ALIAS_HOPS; hops++) {
        char key[KEY_MAX];
        snprintf(key, sizeof key, "%s:alias:%s", prefix, out);
        store_value_t *alias = store_command(store, err, "GET %s", key);
        if (!alias)
            return -1;
        bool found = alias->type == STORE_STR && alias->len && alias->len <= LEAD_ID_MAX;
        if (found)
            snprintf(out, LEAD_ID_MAX + 1, "%s", alias->str);
        store_value_free(&alias);
        if (!found)
            break;
    }
    return hops;
}

/* Reads lead ID into SIDE. Returns 0, or -1 with *err saying what to do. */
static int s_read(store_t *store, const char *prefix, const char *id, s_side_t *side, err_t *err)
{
    snprintf(side->id, sizeof side->id, "%s", id);
    char key[KEY_MAX];
    snprintf(key, sizeof key, "%s:lead:%s", prefix, id);
    side->hash = store_command(store, err, "HGETALL %s", key);
    if (!side->hash)
        return -1;
    if (side->hash->type == STORE_ERROR)
        return err_set(err, ERR_IO, "HGETALL %s: %s", key, side->hash->str);
    if (side->hash->type != STORE_ARRAY || side->hash->count == 0)
        return err_set(err, ERR_NOTFOUND,
                       "lead %s not found (neither a lead nor an alias of one); check the id "
                       "with `leadopsctl lead %s`",
                       id, id);
    const store_value_t *packed = s_hash_get(side->hash, "lead");
    if (strcmp(s_hash_str(side->hash, "has_lead", "0"), "1") != 0 || !packed ||
        packed->type != STORE_STR)
        return err_set(err, ERR_NOTFOUND,
                       "lead %s has activities but no lead event yet: nothing to merge; merge "
                       "it once its lead has arrived",
                       id);
    side->lead = leadops__lead__unpack(NULL, packed->len, (const uint8_t *)packed->str);
    if (!side->lead)
        return err_set(err, ERR_IO,
                       "lead %s: the stored lead does not decode; not merging (see "
                       "`leadopsctl lead %s`)",
                       id, id);
    snprintf(side->rev, sizeof side->rev, "%s", s_hash_str(side->hash, "rev", "0"));
    const char *text = s_hash_str(side->hash, "lead_time", NULL);
    if (text)
        side->lead_time = strtoll(text, NULL, 10);
    return 0;
}

/* Prints the changes object {"field": [old, new]} one field a line. */
static void s_print_changes(FILE *out, const json_t *changes)
{
    if (json_object_size(changes) == 0) {
        fprintf(out, "    (none: the kept lead already has every value)\n");
        return;
    }
    const char *field;
    json_t *pair;
    json_object_foreach((json_t *)changes, field, pair)
    {
        char *old = json_dumps(json_array_get(pair, 0), JSON_ENCODE_ANY);
        char *new = json_dumps(json_array_get(pair, 1), JSON_ENCODE_ANY);
        fprintf(out, "    %-22s %s -> %s\n", field, old ? old : "?", new ? new : "?");
        free(old);
        free(new);
    }
}

/* Prints OTHER's act:<type> counts, e.g. " (demo_request 1, form_fill 2)". */
static void s_print_activity_types(FILE *out, const store_value_t *hash)
{
    const char *sep = " (";
    for (size_t i = 0; hash && i + 1 < hash->count; i += 2) {
        const char *field = store_value_str(hash->elements[i], "");
        if (strncmp(field, "act:", 4) == 0) {
            fprintf(out, "%s%s %s", sep, field + 4, store_value_str(hash->elements[i + 1], "?"));
            sep = ", ";
        }
    }
    if (strcmp(sep, ", ") == 0)
        fputc(')', out);
}

int ctl_lead_merge_run(store_t *store, const config_t *cfg, const char *keep_arg,
                       const char *other_arg, bool dry_run, FILE *out, err_t *err)
{
    const char *prefix = cfg->redis_prefix;
    if (!keep_arg || !*keep_arg || !other_arg || !*other_arg || strlen(keep_arg) > LEAD_ID_MAX ||
        strlen(other_arg) > LEAD_ID_MAX)
        return err_set(err, ERR_INPUT, "give two lead ids of 1..%d characters", LEAD_ID_MAX);
    if (strcmp(keep_arg, other_arg) == 0)
        return err_set(err, ERR_INPUT, "KEEP and OTHER are the same id (%s): give two leads",
                       keep_arg);
    int script = store_script_register(store, "ctl_merge", ctl_script_merge, err);
    if (script < 0)
        return -1;

    /* Ids as the services see them: an alias stands for the lead it names. */
    char keep[LEAD_ID_MAX + 1], other[LEAD_ID_MAX + 1];
    int keep_hops = s_resolve(store, prefix, keep_arg, keep, err);
    int other_hops = keep_hops < 0 ? -1 : s_resolve(store, prefix, other_arg, other, err);
    if (keep_hops < 0 || other_hops < 0)
        return -1;
    if (strcmp(keep, other) == 0) {
        fprintf(out, "%s is already merged into %s: nothing to do\n", other_arg, keep_arg);
        return 0;
    }
    if (keep_hops)
        fprintf(out, "note: %s was merged into %s: merging into %s\n", keep_arg, keep, keep);
    if (other_hops)
        fprintf(out, "note: %s was merged into %s: merging %s\n", other_arg, other, other);

    s_side_t k = {0}, o = {0};
    json_t *changes = json_object(), *reasons = json_array();
    uint8_t *packed = NULL;
    char *changes_text = NULL, *reasons_text = NULL, *source = NULL;
    store_value_t *reply = NULL;
    int rc = -1;
    if (s_read(store, prefix, keep, &k, err) < 0 || s_read(store, prefix, other, &o, err) < 0)
        goto done;

    /* The merge rule scoring applies, into KEEP's lead as read, OTHER's lead
     * as the incoming one: its non-empty values win when it is the newer
     * lead, else they only fill gaps. */
    bool other_is_newer = o.lead_time > k.lead_time;
    size_t changed = lead_merge(k.lead, o.lead, other_is_newer, changes);
    double fit = rules_fit(cfg, k.lead, reasons);
    const char *grade = rules_grade(cfg, fit);
    size_t packed_size = leadops__lead__get_packed_size(k.lead);
    packed = malloc(packed_size ? packed_size : 1);
    if (!packed)
        abort();
    leadops__lead__pack(k.lead, packed);
    changes_text = json_dumps(changes, JSON_COMPACT);
    reasons_text = json_dumps(reasons, JSON_COMPACT);

    /* The identity key ingest wrote for OTHER's source id: "system:id". */
    if (o.lead->source_system && *o.lead->source_system && o.lead->source_id &&
        *o.lead->source_id) {
        size_t size = strlen(o.lead->source_system) + strlen(o.lead->source_id) + 2;
        if (!(source = malloc(size)))
            abort();
        snprintf(source, size, "%s:%s", o.lead->source_system, o.lead->source_id);
    }
    char now[24], fit_text[32], threshold[32], half_life[16];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    snprintf(fit_text, sizeof fit_text, "%.17g", fit);
    const stage_t *route_stage = &cfg->stages[cfg->route_stage];
    snprintf(threshold, sizeof threshold, "%.17g", cfg->route_stage ? route_stage->enter : -1e300);
    snprintf(half_life, sizeof half_life, "%d", cfg->scoring_half_life_s);
    const char *argv[] = {prefix,
                          keep,
                          other,
                          k.rev,
                          o.rev,
                          now,
                          (const char *)packed,
                          fit_text,
                          grade,
                          reasons_text ? reasons_text : "[]",
                          changes_text ? changes_text : "{}",
                          o.lead->email ? o.lead->email : "",
                          source ? source : "",
                          threshold,
                          dry_run ? "1" : "0",
                          half_life,
                          route_stage->name};
    size_t lens[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        lens[i] = i == 6 ? packed_size : strlen(argv[i]);

    /* Tests make a concurrent change here, between the read and the write. */
    if (ctl_lead_merge_before_write)
        ctl_lead_merge_before_write(ctl_lead_merge_before_write_arg);
    reply = store_script(store, script, 0, (int)(sizeof argv / sizeof argv[0]), argv, lens, err);
    if (!reply)
        goto done;
    if (reply->type == STORE_ERROR) {
        err_set(err, ERR_IO, "merge script failed: %s", reply->str);
        goto done;
    }
    if (store_value_int(store_value_at(reply, 0), 0) != 1) {
        err_set(err, ERR_BUSY,
                "refused, nothing was written: %s. Run the command again: it reads both leads "
                "afresh",
                store_value_str(store_value_at(reply, 1), "unexpected reply"));
        goto done;
    }

    const char *routing = store_value_str(store_value_at(reply, 1), "");
    const char *engagement = store_value_str(store_value_at(reply, 2), "0");
    long long activities = store_value_int(store_value_at(reply, 3), 0);
    const char *score = store_value_str(store_value_at(reply, 4), "0");
    bool qualified = store_value_int(store_value_at(reply, 5), 0) == 1;
    long long identities = store_value_int(store_value_at(reply, 6), 0);
    const char *old_score = store_value_str(store_value_at(reply, 7), "0");

    fprintf(out, "merge lead %s into lead %s%s\n", other, keep,
            dry_run ? " (dry run: nothing written)" : "");
    fprintf(out, "  fields (%s's lead is %s: %s):\n", other, other_is_newer ? "newer" : "not newer",
            other_is_newer ? "its non-empty values win" : "it only fills empty fields");
    s_print_changes(out, changes);
    fprintf(out, "  fit:        %s -> %g   grade: %s -> %s\n", s_hash_str(k.hash, "fit", "0"), fit,
            s_hash_str(k.hash, "grade", "-"), grade);
    fprintf(out, "  engagement: +%s from %s   score: %s -> %s\n", engagement, other, old_score,
            score);
    fprintf(out, "  activities: +%lld from %s", activities, other);
    s_print_activity_types(out, o.hash);
    fputc('\n', out);
    fprintf(out, "  qualified:  %s\n", qualified ? "yes" : "no");
    fprintf(out, "  routing:    %s\n", routing);
    fprintf(out,
            "  identity:   %s -> %s (alias); %lld identity key(s) of %s %s %s; history entry "
            "merge:%s\n",
            other, keep, identities, other, dry_run ? "would name" : "now name", keep, other);
    fprintf(out, "%s %s into %s: %zu field(s) changed, %lld activities moved, score %s%s\n",
            dry_run ? "dry run: would merge" : "merged", other, keep, changed, activities, score,
            dry_run ? "; run without --dry-run to do it" : "");
    rc = 0;
done:
    store_value_free(&reply);
    free(changes_text);
    free(reasons_text);
    free(source);
    free(packed);
    json_decref(changes);
    json_decref(reasons);
    s_side_clear(&k);
    s_side_clear(&o);
    return rc;
}

static int s_usage(FILE *out)
{
    fprintf(out, "usage: leadopsctl lead LEAD_ID [--json]\n"
                 "       leadopsctl lead merge KEEP OTHER [--dry-run]\n"
                 "The first prints a lead's state and its score now taken apart: fit rules,\n"
                 "activities decayed to now, model; --json prints the whole view (fields,\n"
                 "reasons, queue, rep, status, times) as the reporting API serves it. The\n"
                 "second merges lead OTHER into lead KEEP by hand, by the rule\n"
                 "scoring merges by (the newer lead's non-empty values win; history kept):\n"
                 "OTHER's activities and engagement move to KEEP, OTHER's id becomes an alias of\n"
                 "KEEP, a lead assigned to a rep stays with its rep. --dry-run prints what would\n"
                 "change and writes nothing.\n");
    return out == stdout ? 0 : 2;
}

static int s_merge_command(int argc, char **argv, const config_t *cfg)
{
    const char *ids[2] = {NULL, NULL};
    int count = 0;
    bool dry_run = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0)
            dry_run = true;
        else if (strcmp(argv[i], "--help") == 0)
            return s_usage(stdout);
        else if (argv[i][0] == '-' || count == 2)
            return s_usage(stderr);
        else
            ids[count++] = argv[i];
    }
    if (count != 2)
        return s_usage(stderr);
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    int rc = ctl_lead_merge_run(store, cfg, ids[0], ids[1], dry_run, stdout, &err);
    store_destroy(&store);
    if (rc < 0) {
        fprintf(stderr, "leadopsctl lead merge: %s\n", err.msg);
        return err.code == ERR_INPUT ? 2 : 1;
    }
    return 0;
}

int ctl_lead(int argc, char **argv, const config_t *cfg)
{
    if (argc >= 2 && strcmp(argv[1], "merge") == 0)
        return s_merge_command(argc, argv, cfg);
    if (argc == 2 && strcmp(argv[1], "--help") == 0)
        return s_usage(stdout);
    bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
    if ((argc != 2 && !json) || argv[1][0] == '-')
        return s_usage(stderr);
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    explain_opts_t opts = {.now_ms = clock_now_ms(),
                           .half_life_s = cfg->scoring_half_life_s,
                           .model_weight = cfg->model_points};
    json_t *lead = views_lead(store, cfg->redis_prefix, argv[1], &opts, &err);
    store_destroy(&store);
    if (!lead) {
        fprintf(stderr, "leadopsctl lead: %s\n", err.msg);
        return 1;
    }
    if (json) {
        ctl_print_json(lead);
        return 0;
    }
    ctl_lead_print(stdout, lead);
    json_decref(lead);
    return 0;
}
