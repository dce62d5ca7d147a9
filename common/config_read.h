/* config_read.h — the key readers behind config_load, private to config.c
 * and config_read.c. Not part of the public API: nothing outside those two
 * files includes it, and nothing here is promised to stay (config.h is the
 * interface). config.c holds the key table and the order of loading;
 * config_read.c reads the values.
 *
 * Every reader resolves a scalar through LEADOPS_<PATH> first, so an override
 * reaches list items and defaults alike, and fails with *loader->err set to
 * "WHERE: KEY: reason" (WHERE: the variable, file:line, or just the file for
 * a default). The int functions return 0, or -1 with the error set; a string
 * read replaces the *OUT it was given, which the config_t then owns. */
#ifndef LEADOPS_CONFIG_READ_H
#define LEADOPS_CONFIG_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "yaml_tree.h"

#define KEY_PATH_MAX 256
#define ENV_NAME_MAX (sizeof "LEADOPS_" + KEY_PATH_MAX)

typedef struct {
    config_t *config; /* borrowed: being filled */
    const char *file; /* borrowed: named in messages ("defaults" without a file) */
    bool in_defaults; /* decoding a parsed default, whose line numbers mean nothing */
    err_t *err;       /* borrowed: may be NULL */
} loader_t;

/* A scalar as read, and where it came from: a variable, a file line, or a default. */
typedef struct {
    const char *text;            /* borrowed: from the tree, the environment or s_keys */
    bool quoted;                 /* a quoted scalar is a string, never a number or null */
    int line;                    /* 1-based file line; 0 when not from the file */
    char env_name[ENV_NAME_MAX]; /* the overriding variable, or "" */
} scalar_t;

/* Fills *err with "WHERE: KEY: reason". WHERE is the variable or file line a
 * scalar came from when WHERE_FROM is set, else file:LINE (just the file for
 * line 0 or a default). Returns -1. */
int config_read_fail(loader_t *loader, const scalar_t *where_from, int line, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "KEY: expected EXPECTED, got <VALUE>", located where VALUE came from. Returns -1. */
int config_read_fail_value(loader_t *loader, const scalar_t *value, const char *key,
                           const char *expected);

/* ERR_NOMEM naming the file. Returns -1. */
int config_read_nomem(loader_t *loader);

/* "PARENT.NAME" into OUT, for messages and variable names; returns OUT. A
 * path too long for OUT (only an absurd file has one) ends in "...". */
const char *config_read_join(char out[KEY_PATH_MAX], const char *parent, const char *name);

/* Field NAME of the list item or mapping MAP at KEY, its path in PATH; a
 * missing one is an error at MAP's line ("required key is missing"). */
const yaml_tree_node_t *config_read_field(loader_t *loader, const yaml_tree_node_t *map,
                                          const char *key, const char *name,
                                          char path[KEY_PATH_MAX]);
/* Required field NAME of MAP as a string (CHOICES as for config_read_string)
 * or as a number. */
int config_read_item_string(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                            const char *name, const char *choices, char **out, scalar_t *where);
int config_read_item_number(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                            const char *name, double *out, scalar_t *where);

/* Checks that ITEM at KEY is a mapping whose keys are all in KNOWN (a
 * NULL-terminated list): "unknown key" at the first other one. */
int config_read_check_map(loader_t *loader, const yaml_tree_node_t *item, const char *key,
                          const char *const *known);

/* A base-10 integer, all of TEXT, into *OUT. */
bool config_read_parse_integer(const char *text, long long *out);

/* Reads the scalar NODE at KEY as a string into *OUT, replacing it. CHOICES,
 * when not NULL, lists the accepted values (", " separated). WHERE, when not
 * NULL, gets the value's origin. */
int config_read_string(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                       const char *choices, bool may_be_empty, char **out, scalar_t *where);

/* Reads the scalar NODE at KEY as an integer in LO..HI. */
int config_read_integer(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                        long long lo, long long hi, long long *out);

/* Reads the scalar NODE at KEY as a finite number. WHERE as for config_read_string. */
int config_read_number(loader_t *loader, const yaml_tree_node_t *node, const char *key, double *out,
                       scalar_t *where);

/* Checks that NAME, read at KEY from WHERE, is one of routing.queues (read
 * before every key that names a queue). */
int config_read_check_queue(loader_t *loader, const scalar_t *where, const char *key,
                            const char *name);

/* Reads the list NODE at KEY of non-empty strings into *OUT / *COUNT (empty
 * on entry). LEADOPS_<KEY> replaces the whole list, comma-separated;
 * LEADOPS_<KEY>_<i> one item. LOWER folds case; CHECK, if set, vets each item. */
int config_read_string_list(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                            bool lower,
                            int (*check)(loader_t *, const scalar_t *, const char *, const char *),
                            char ***out, size_t *count, scalar_t *where);

/* Decodes the list NODE at KEY into a new array of SIZE-byte elements, each
 * from a mapping with the keys KNOWN, read by READ_ITEM (which sees the items
 * before it, for duplicates and ordering). An element counts in
 * *COUNT before it is read, so config_destroy frees a half-read one. Returns
 * the array (half-filled on failure), with *RC 0 or -1. */
void *config_read_items(loader_t *loader, const yaml_tree_node_t *node, const char *key,
                        const char *const *known, size_t size,
                        int (*read_item)(loader_t *, const yaml_tree_node_t *, const char *, void *,
                                         size_t),
                        size_t *count, int *rc);

/* The READ_ITEM functions for config_read_items: each reads the mapping MAP
 * at KEY into element INDEX of ARRAY, one of config_t's arrays. Their known
 * keys are listed beside the decoders in config.c. */
int config_read_grade(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                      size_t index); /* grade_band_t: strictly descending min */
int config_read_fit_rule(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                         void *array, size_t index); /* fit_rule_t: name, condition, points */
int config_read_cond(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                     size_t index); /* cond_t on a lead field */
int config_read_route_cond(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                           void *array, size_t index); /* cond_t, also on score/grade/stage */
extern const char *const config_cond_keys[];           /* the keys of a condition */

/* Routing's sections (config_routing.c), with the keys of their items. */
extern const char *const config_territory_keys[],
    *const config_queue_keys[], *const config_rule_keys[], *const config_rep_keys[];
int config_read_territory(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                          void *array, size_t index); /* territory_t: unique name */
int config_read_queue(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                      size_t index); /* queue_config_t: unique name, a configured stage */
int config_read_route_rule(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                           void *array, size_t index); /* route_rule_t: conditions in "when" */
int config_read_rep(loader_t *loader, const yaml_tree_node_t *map, const char *key, void *array,
                    size_t index); /* rep_config_t: unique id, hours, time zone */
int config_read_domain_aliases(loader_t *loader, const yaml_tree_node_t *node, const char *key);
/* After every key is read: queues named by queues (escalate_to, overflow_to)
 * exist, and each queue has a rep when the config lists reps. */
int config_check_routing(loader_t *loader);

/* Scoring's sections (config_scoring.c), decoders for KEY_LIST entries of
 * the key table: scoring.activity_points, scoring.outcome_points,
 * scoring.stages, scoring.model. NODE is the key's value at KEY. */
int config_read_activity_points(loader_t *loader, const yaml_tree_node_t *node, const char *key);
int config_read_outcome_points(loader_t *loader, const yaml_tree_node_t *node, const char *key);
int config_read_stages(loader_t *loader, const yaml_tree_node_t *node, const char *key);
int config_read_model(loader_t *loader, const yaml_tree_node_t *node, const char *key);

/* Commissions (config_commissions.c): the READ_ITEM of commissions.plans
 * (commission_plan_t: unique name, rate, quota, ascending accelerators,
 * products, teams) with its keys, and the plans' release for config_destroy. */
extern const char *const config_commission_plan_keys[];
int config_read_commission_plan(loader_t *loader, const yaml_tree_node_t *map, const char *key,
                                void *array, size_t index);
void config_free_commission_plans(config_t *config);

#endif
