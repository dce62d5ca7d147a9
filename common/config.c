/* config.c — the key table with its defaults, config_load / config_destroy
 * and the lookups of config.h; values are read in config_read.c. */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_read.h"
#include "yaml_tree.h"

/* How loading works: the file becomes a yaml_tree; its sections and their
 * keys must all be in s_keys (checked before any value is read); then each
 * entry of s_keys is decoded, in table order, from the file's node or, when
 * the file lacks the key, from the entry's default parsed the same way. Every
 * scalar is read through config_read.c, which gives LEADOPS_<PATH> the last
 * word, so overrides reach list items and defaults alike. The first error
 * stops the load. */

typedef enum {
    KEY_STRING,
    KEY_ENDPOINT,
    KEY_LISTEN,
    KEY_QUEUE,
    KEY_FORMAT,
    KEY_INT,
    KEY_LONG,
    KEY_SIZE,
    KEY_NUMBER,
    KEY_LIST
} key_type_t;

typedef struct key_spec key_spec_t;

struct key_spec {
    const char *path; /* "section.key" */
    key_type_t type;
    size_t offset;        /* of the field in config_t (scalars) */
    long long lo, hi;     /* integers: the accepted range */
    const char *choices;  /* strings: accepted values, ", " separated; NULL for any */
    bool may_be_empty;    /* strings: "" is a valid value */
    const char *fallback; /* the default: a scalar, or YAML flow text for KEY_LIST */
    int (*decode_list)(loader_t *loader, const key_spec_t *spec,
                       const yaml_tree_node_t *node); /* KEY_LIST */
};

static int s_decode_activity_types(loader_t *loader, const key_spec_t *spec,
                                   const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    return config_read_string_list(loader, node, spec->path, false, NULL, &config->activity_types,
                                   &config->activity_type_count, NULL);
}

static int s_decode_http_tokens(loader_t *loader, const key_spec_t *spec,
                                const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    return config_read_string_list(loader, node, spec->path, false, NULL, &config->http_tokens,
                                   &config->http_token_count, NULL);
}

static int s_decode_curve_client_keys(loader_t *loader, const key_spec_t *spec,
                                      const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    return config_read_string_list(loader, node, spec->path, false, NULL,
                                   &config->curve_client_keys, &config->curve_client_key_count,
                                   NULL);
}

static int s_decode_activity_points(loader_t *loader, const key_spec_t *spec,
                                    const yaml_tree_node_t *node)
{
    return config_read_activity_points(loader, node, spec->path);
}

static int s_decode_outcome_points(loader_t *loader, const key_spec_t *spec,
                                   const yaml_tree_node_t *node)
{
    return config_read_outcome_points(loader, node, spec->path);
}

static int s_decode_stages(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    return config_read_stages(loader, node, spec->path);
}

static int s_decode_model(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    return config_read_model(loader, node, spec->path);
}

static const char *const s_grade_keys[] = {"grade", "min", NULL};
static const char *const s_fit_keys[] = {"name", "field", "op",     "value", "values",
                                         "min",  "max",   "points", NULL};

static int s_decode_grades(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->grades =
        config_read_items(loader, node, spec->path, s_grade_keys, sizeof *config->grades,
                          config_read_grade, &config->grade_count, &rc);
    return rc;
}

static int s_decode_fit_rules(loader_t *loader, const key_spec_t *spec,
                              const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->fit_rules =
        config_read_items(loader, node, spec->path, s_fit_keys, sizeof *config->fit_rules,
                          config_read_fit_rule, &config->fit_rule_count, &rc);
    return rc;
}

static int s_decode_territories(loader_t *loader, const key_spec_t *spec,
                                const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->territories = config_read_items(loader, node, spec->path, config_territory_keys,
                                            sizeof *config->territories, config_read_territory,
                                            &config->territory_count, &rc);
    return rc;
}

static int s_decode_domain_aliases(loader_t *loader, const key_spec_t *spec,
                                   const yaml_tree_node_t *node)
{
    return config_read_domain_aliases(loader, node, spec->path);
}

static int s_decode_queues(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->queues =
        config_read_items(loader, node, spec->path, config_queue_keys, sizeof *config->queues,
                          config_read_queue, &config->queue_count, &rc);
    return rc;
}

static int s_decode_route_rules(loader_t *loader, const key_spec_t *spec,
                                const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->route_rules =
        config_read_items(loader, node, spec->path, config_rule_keys, sizeof *config->route_rules,
                          config_read_route_rule, &config->route_rule_count, &rc);
    return rc;
}

static int s_decode_reps(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->reps =
        config_read_items(loader, node, spec->path, config_rep_keys, sizeof *config->reps,
                          config_read_rep, &config->rep_count, &rc);
    return rc;
}

static int s_decode_commission_plans(loader_t *loader, const key_spec_t *spec,
                                     const yaml_tree_node_t *node)
{
    config_t *config = loader->config;
    int rc;
    config->commission_plans = config_read_items(
        loader, node, spec->path, config_commission_plan_keys, sizeof *config->commission_plans,
        config_read_commission_plan, &config->commission_plan_count, &rc);
    return rc;
}

/* One decoder for every scalar key; its type says how to read and check it. */
static int s_decode_scalar(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *node)
{
    void *field = (char *)loader->config + spec->offset;
    char host[256], *format = NULL;
    long long integer;
    scalar_t where;
    int port;
    err_t why;
    switch (spec->type) {
    case KEY_INT:
    case KEY_LONG:
    case KEY_SIZE:
        if (config_read_integer(loader, node, spec->path, spec->lo, spec->hi, &integer) != 0)
            return -1;
        if (spec->type == KEY_INT)
            *(int *)field = (int)integer;
        else if (spec->type == KEY_LONG)
            *(long *)field = (long)integer;
        else
            *(size_t *)field = (size_t)integer;
        return 0;
    case KEY_NUMBER:
        return config_read_number(loader, node, spec->path, field, NULL);
    case KEY_FORMAT:
        if (config_read_string(loader, node, spec->path, spec->choices, false, &format, NULL) != 0)
            return -1;
        *(bool *)field = strcmp(format, "json") == 0;
        free(format);
        return 0;
    default:
        break;
    }
    char **text = field;
    if (config_read_string(loader, node, spec->path, spec->choices, spec->may_be_empty, text,
                           &where) != 0)
        return -1;
    if (spec->type == KEY_ENDPOINT && !strstr(*text, "://"))
        return config_read_fail_value(loader, &where, spec->path,
                                      "a ZeroMQ endpoint like tcp://host:port");
    if (spec->type == KEY_LISTEN && config_split_listen(*text, host, sizeof host, &port, &why) != 0)
        return config_read_fail(loader, &where, 0, spec->path, "%s", why.msg);
    if (spec->type == KEY_QUEUE)
        return config_read_check_queue(loader, &where, spec->path, *text);
    return 0;
}

#define SCALAR(p, t, f, def, ...)                                                                  \
    {                                                                                              \
        .path = p, .type = t, .offset = offsetof(config_t, f), .fallback = def, __VA_ARGS__        \
    }
#define STRING(p, f, def)               SCALAR(p, KEY_STRING, f, def)
#define INTEGER(p, t, f, min, max, def) SCALAR(p, t, f, def, .lo = min, .hi = max)
#define LIST(p, decode, def)                                                                       \
    {                                                                                              \
        .path = p, .type = KEY_LIST, .decode_list = decode, .fallback = def                        \
    }

/* Every key the file may have, with its default: the values of the sample
 * deploy/leadops.yaml, except that there are no fit rules, route rules or
 * reps, and one queue, "general". Decoded in this order, which matters where
 * a key is checked against another: routing.queues comes before the keys
 * that name queues. */
static const key_spec_t s_keys[] = {
    SCALAR("log.level", KEY_STRING, log_level, "info", .choices = "error, warn, info, debug"),
    SCALAR("log.format", KEY_FORMAT, log_json, "text", .choices = "text, json"),
    STRING("redis.host", redis_host, "127.0.0.1"),
    INTEGER("redis.port", KEY_INT, redis_port, 1, 65535, "6379"),
    SCALAR("redis.password", KEY_STRING, redis_password, "", .may_be_empty = true),
    SCALAR("redis.user", KEY_STRING, redis_user, "", .may_be_empty = true),
    INTEGER("redis.db", KEY_INT, redis_db, 0, INT_MAX, "0"),
    STRING("redis.prefix", redis_prefix, "leadops"),
    INTEGER("redis.timeout_ms", KEY_INT, redis_timeout_ms, 1, INT_MAX, "2000"),
    SCALAR("endpoints.ingest", KEY_ENDPOINT, ep_ingest, "tcp://127.0.0.1:5555"),
    SCALAR("endpoints.scoring", KEY_ENDPOINT, ep_scoring, "tcp://127.0.0.1:5556"),
    SCALAR("endpoints.routing", KEY_ENDPOINT, ep_routing, "tcp://127.0.0.1:5557"),
    SCALAR("endpoints.commands", KEY_ENDPOINT, ep_commands, "tcp://127.0.0.1:5558"),
    SCALAR("endpoints.events", KEY_ENDPOINT, ep_events, "tcp://127.0.0.1:5559"),
    INTEGER("endpoints.events_delay_ms", KEY_INT, events_delay_ms, 0, 1000, "10"),
    SCALAR("http.ingest_listen", KEY_LISTEN, http_ingest_listen, "127.0.0.1:8080"),
    SCALAR("http.reporting_listen", KEY_LISTEN, http_reporting_listen, "127.0.0.1:8081"),
    /* A body or frame above 1 GiB is a mistake, not a lead. */
    INTEGER("ingest.max_body_bytes", KEY_SIZE, ingest_max_body_bytes, 1, 1LL << 30, "1048576"),
    INTEGER("ingest.dedup_window_s", KEY_INT, ingest_dedup_window_s, 1, INT_MAX, "86400"),
    INTEGER("ingest.journal_max_len", KEY_LONG, ingest_journal_max_len, 1, LONG_MAX, "1000000"),
    INTEGER("ingest.redelivery_ms", KEY_INT, ingest_redelivery_ms, 1, INT_MAX, "3000"),
    INTEGER("ingest.journal_max_age_s", KEY_INT, ingest_journal_max_age_s, 0, INT_MAX, "0"),
    INTEGER("ingest.inflight_limit", KEY_LONG, ingest_inflight_limit, 1, LONG_MAX, "200000"),
    INTEGER("ingest.max_future_s", KEY_INT, ingest_max_future_s, 0, INT_MAX, "86400"),
    LIST("ingest.activity_types", s_decode_activity_types,
         "[page_view, email_open, email_click, form_fill, content_download, webinar, demo_request, "
         "pricing_view,"
         " call, email_sent, meeting, demo_completed, proposal_sent, opportunity_created, "
         "deal_won, deal_lost,"
         " unsubscribe, email_bounce]"),
    INTEGER("scoring.redelivery_ms", KEY_INT, scoring_redelivery_ms, 1, INT_MAX, "3000"),
    INTEGER("scoring.orphan_window_s", KEY_INT, scoring_orphan_window_s, 1, INT_MAX, "604800"),
    LIST("scoring.grades", s_decode_grades,
         "[{grade: A, min: 45}, {grade: B, min: 30}, {grade: C, min: 15}, {grade: D, min: -1000}]"),
    LIST("scoring.fit", s_decode_fit_rules, "[]"),
    LIST("scoring.activity_points", s_decode_activity_points,
         "{page_view: {points: 1, cap: 10, period_s: 86400},"
         " email_open: {points: 1, cap: 5, period_s: 86400},"
         " email_click: {points: 3, cap: 15, period_s: 86400}, form_fill: 10,"
         " content_download: {points: 5, cap: 20, period_s: 604800}, webinar: 8,"
         " demo_request: 25, pricing_view: {points: 5, cap: 15, period_s: 86400}, meeting: 15,"
         " unsubscribe: -20, email_bounce: -10}"),
    LIST("scoring.outcome_points", s_decode_outcome_points,
         "[{type: call, outcome: not_interested, points: -25},"
         " {type: call, outcome: wrong_number, points: -10},"
         " {type: call, outcome: connected, points: 10},"
         " {type: meeting, outcome: no_show, points: -15}]"),
    INTEGER("scoring.half_life_s", KEY_INT, scoring_half_life_s, 0, INT_MAX, "1209600"),
    LIST("scoring.stages", s_decode_stages,
         "[{name: lead}, {name: mql, enter: 20, exit: 15}, {name: sql, enter: 60, exit: 50}]"),
    LIST("scoring.model", s_decode_model, "{file: '', points: 40, top_features: 5, mapping: {}}"),
    LIST("routing.territories", s_decode_territories, "[]"),
    LIST("routing.queues", s_decode_queues, "[{name: general, strategy: round_robin}]"),
    SCALAR("routing.fallback_queue", KEY_QUEUE, fallback_queue, "general"),
    LIST("routing.rules", s_decode_route_rules, "[]"),
    LIST("routing.reps", s_decode_reps, "[]"),
    INTEGER("routing.reprioritize_s", KEY_INT, routing_reprioritize_s, 1, INT_MAX, "60"),
    INTEGER("routing.audit_ttl_s", KEY_INT, routing_audit_ttl_s, 60, INT_MAX, "2592000"),
    LIST("routing.domain_aliases", s_decode_domain_aliases, "{}"),
    LIST("security.http_tokens", s_decode_http_tokens, "[]"),
    SCALAR("security.curve_public_key", KEY_STRING, curve_public_key, "", .may_be_empty = true),
    SCALAR("security.curve_secret_key", KEY_STRING, curve_secret_key, "", .may_be_empty = true),
    LIST("security.curve_client_keys", s_decode_curve_client_keys, "[]"),
    /* No plan by default: commissions are reported once a plan is configured. */
    LIST("commissions.plans", s_decode_commission_plans, "[]"),
    SCALAR("commissions.period", KEY_STRING, commission_period, "month",
           .choices = "week, month, quarter, year"),
};

#define KEY_COUNT (sizeof s_keys / sizeof s_keys[0])

/* The s_keys entry for SECTION.NAME, or the first of SECTION when NAME is NULL. */
static const key_spec_t *s_find_key(const char *section, const char *name)
{
    size_t length = strlen(section);
    for (const key_spec_t *spec = s_keys; spec < s_keys + KEY_COUNT; spec++) {
        if (strncmp(spec->path, section, length) == 0 && spec->path[length] == '.' &&
            (!name || strcmp(spec->path + length + 1, name) == 0))
            return spec;
    }
    return NULL;
}

/* Unknown keys are looked for before any value is read: a misspelt key is
 * the likelier mistake, and would otherwise hide behind its neighbours'. */
static int s_check_keys(loader_t *loader, const yaml_tree_node_t *root)
{
    char path[KEY_PATH_MAX];
    if (!root || yaml_tree_is_null(root))
        return 0;
    if (root->kind != YAML_TREE_MAP)
        return config_read_fail(loader, NULL, root->line, "(top level)",
                                "expected a mapping, got %s", yaml_tree_kind_name(root->kind));
    for (size_t s = 0; s < root->count; s++) {
        const yaml_tree_pair_t *section = &root->pairs[s];
        const yaml_tree_node_t *keys = section->value;
        if (!s_find_key(section->key, NULL))
            return config_read_fail(loader, NULL, section->key_line, section->key, "unknown key");
        if (!yaml_tree_is_null(keys) && keys->kind != YAML_TREE_MAP)
            return config_read_fail(loader, NULL, keys->line, section->key,
                                    "expected a mapping, got %s", yaml_tree_kind_name(keys->kind));
        for (size_t i = 0; keys->kind == YAML_TREE_MAP && i < keys->count; i++) {
            if (!s_find_key(section->key, keys->pairs[i].key))
                return config_read_fail(loader, NULL, keys->pairs[i].key_line,
                                        config_read_join(path, section->key, keys->pairs[i].key),
                                        "unknown key");
        }
    }
    return 0;
}

/* Decodes SPEC from ROOT's node or, when ROOT lacks it, from its default,
 * parsed like the file so that both take the same path. */
static int s_decode_key(loader_t *loader, const key_spec_t *spec, const yaml_tree_node_t *root)
{
    char section[KEY_PATH_MAX];
    const char *dot = strchr(spec->path, '.');
    snprintf(section, sizeof section, "%.*s", (int)(dot - spec->path), spec->path);
    const yaml_tree_node_t *node = yaml_tree_get(yaml_tree_get(root, section), dot + 1);
    yaml_tree_node_t *fallback = NULL;
    if (!node && !(node = fallback = yaml_tree_parse(spec->fallback, strlen(spec->fallback),
                                                     "defaults", loader->err)))
        return -1; /* out of memory: the unit tests load every default */
    loader->in_defaults = fallback != NULL;
    int rc = spec->type == KEY_LIST ? spec->decode_list(loader, spec, node)
                                    : s_decode_scalar(loader, spec, node);
    loader->in_defaults = false;
    yaml_tree_destroy(&fallback);
    return rc;
}

/* CurveZMQ keys are Z85 text of 40 characters; a server needs both halves. */
static int s_check_curve(loader_t *loader)
{
    const config_t *c = loader->config;
    bool has_public = c->curve_public_key[0], has_secret = c->curve_secret_key[0];
    if (has_public != has_secret)
        return err_set(loader->err, ERR_CONFIG,
                       "%s: security.curve_public_key and security.curve_secret_key: set both "
                       "(leadopsctl keygen makes a pair) or neither",
                       loader->file);
    if (has_public && (strlen(c->curve_public_key) != 40 || strlen(c->curve_secret_key) != 40))
        return err_set(loader->err, ERR_CONFIG,
                       "%s: security.curve_*_key: expected Z85 keys of 40 characters",
                       loader->file);
    for (size_t i = 0; i < c->curve_client_key_count; i++)
        if (strlen(c->curve_client_keys[i]) != 40)
            return err_set(loader->err, ERR_CONFIG,
                           "%s: security.curve_client_keys[%zu]: expected a Z85 public key of 40 "
                           "characters",
                           loader->file, i);
    return 0;
}

config_t *config_load(const char *path, err_t *err)
{
    config_t *config = calloc(1, sizeof *config);
    if (!config) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    loader_t loader = {.config = config, .file = path ? path : "defaults", .err = err};
    yaml_tree_node_t *root = NULL;
    int rc = 0;
    if (path && !(config->path = strdup(path)))
        rc = config_read_nomem(&loader);
    else if (path && !(root = yaml_tree_load(path, err)))
        rc = -1;
    else
        rc = s_check_keys(&loader, root);
    for (size_t i = 0; rc == 0 && i < KEY_COUNT; i++)
        rc = s_decode_key(&loader, &s_keys[i], root);
    if (rc == 0)
        rc = s_check_curve(&loader);
    if (rc == 0)
        rc = config_check_routing(&loader);
    /* Leads go to routing from the lowest stage any queue takes. */
    config->route_stage = config->stage_count > 1 ? config->stage_count - 1 : 0;
    for (size_t i = 0; rc == 0 && i < config->queue_count; i++)
        if (config->queues[i].stage < config->route_stage)
            config->route_stage = config->queues[i].stage;
    yaml_tree_destroy(&root);
    if (rc != 0) {
        if (err && err->code == ERR_INPUT) /* the file is not YAML we accept */
            err->code = ERR_CONFIG;
        config_destroy(&config);
    }
    return config;
}

static void s_free_strings(char **strings, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

void config_destroy(config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *self = *self_p;
    for (const key_spec_t *spec = s_keys; spec < s_keys + KEY_COUNT; spec++) {
        if (spec->type <= KEY_QUEUE) /* the string types */
            free(*(char **)((char *)self + spec->offset));
    }
    free(self->path);
    s_free_strings(self->activity_types, self->activity_type_count);
    s_free_strings(self->http_tokens, self->http_token_count);
    s_free_strings(self->curve_client_keys, self->curve_client_key_count);
    free(self->grades);
    for (size_t i = 0; i < self->fit_rule_count; i++) {
        free(self->fit_rules[i].name);
        free(self->fit_rules[i].reason);
        cond_clear(&self->fit_rules[i].cond);
    }
    free(self->fit_rules);
    for (size_t i = 0; i < self->activity_points_count; i++)
        free(self->activity_points[i].type);
    free(self->activity_points);
    for (size_t i = 0; i < self->outcome_points_count; i++) {
        free(self->outcome_points[i].type);
        free(self->outcome_points[i].outcome);
    }
    free(self->outcome_points);
    free(self->stages);
    free(self->model_file);
    s_free_strings(self->model_columns, self->model_mapping_count);
    s_free_strings(self->model_fields, self->model_mapping_count);
    for (size_t i = 0; i < self->queue_count; i++) {
        free(self->queues[i].name);
        free(self->queues[i].escalate_to);
        free(self->queues[i].overflow_to);
        free(self->queues[i].webhook);
    }
    free(self->queues);
    for (size_t i = 0; i < self->territory_count; i++) {
        free(self->territories[i].name);
        s_free_strings(self->territories[i].countries, self->territories[i].country_count);
        s_free_strings(self->territories[i].regions, self->territories[i].region_count);
        s_free_strings(self->territories[i].postal, self->territories[i].postal_count);
    }
    free(self->territories);
    s_free_strings(self->domain_alias_from, self->domain_alias_count);
    s_free_strings(self->domain_alias_to, self->domain_alias_count);
    for (size_t i = 0; i < self->route_rule_count; i++) {
        free(self->route_rules[i].name);
        free(self->route_rules[i].queue);
        for (size_t j = 0; j < self->route_rules[i].cond_count; j++)
            cond_clear(&self->route_rules[i].conds[j]);
        free(self->route_rules[i].conds);
        s_free_strings(self->route_rules[i].skills, self->route_rules[i].skill_count);
    }
    free(self->route_rules);
    for (size_t i = 0; i < self->rep_count; i++) {
        free(self->reps[i].id);
        free(self->reps[i].name);
        s_free_strings(self->reps[i].queues, self->reps[i].queue_count);
        free(self->reps[i].status);
        free(self->reps[i].team);
        s_free_strings(self->reps[i].skills, self->reps[i].skill_count);
        free(self->reps[i].timezone);
        free(self->reps[i].out_of_office);
    }
    free(self->reps);
    config_free_commission_plans(self);
    free(self);
    *self_p = NULL;
}

bool config_is_activity_type(const config_t *self, const char *type)
{
    for (size_t i = 0; i < self->activity_type_count; i++) {
        if (strcmp(self->activity_types[i], type) == 0)
            return true;
    }
    return false;
}

const queue_config_t *config_queue(const config_t *self, const char *name)
{
    for (size_t i = 0; i < self->queue_count; i++) {
        if (strcmp(self->queues[i].name, name) == 0)
            return &self->queues[i];
    }
    return NULL;
}

const territory_t *config_territory(const config_t *self, const char *name)
{
    for (size_t i = 0; i < self->territory_count; i++)
        if (strcmp(self->territories[i].name, name) == 0)
            return &self->territories[i];
    return NULL;
}

int config_stage_index(const config_t *self, const char *name)
{
    for (size_t i = 0; i < self->stage_count; i++)
        if (strcmp(self->stages[i].name, name) == 0)
            return (int)i;
    return -1;
}

double config_activity_points(const config_t *self, const char *type, const char *outcome,
                              double *cap, int *period_s)
{
    double points = 0;
    *cap = 0;
    *period_s = 0;
    for (size_t i = 0; i < self->activity_points_count; i++) {
        const activity_points_t *entry = &self->activity_points[i];
        if (strcmp(entry->type, type) == 0) {
            points = entry->points;
            *cap = entry->cap;
            *period_s = entry->period_s;
            break;
        }
    }
    for (size_t i = 0; outcome && *outcome && i < self->outcome_points_count; i++) {
        const outcome_points_t *entry = &self->outcome_points[i];
        if (strcmp(entry->type, type) == 0 && strcasecmp(entry->outcome, outcome) == 0)
            points += entry->points;
    }
    return points;
}

/* The port follows the last ':'. An IPv6 host must be bracketed ("[::1]:80"),
 * since its own colons would make the split ambiguous. */
int config_split_listen(const char *listen, char *host, size_t host_size, int *port, err_t *err)
{
    const char *colon = strrchr(listen, ':'), *start = listen;
    size_t length = colon ? (size_t)(colon - listen) : 0;
    long long number = 0;
    if (length >= 2 && listen[0] == '[' && colon[-1] == ']') {
        start++;
        length -= 2;
    } else if (memchr(listen, ':', length) || memchr(listen, '[', length)) {
        length = 0;
    }
    /* Port 0 asks the kernel for any free port (tests, side-by-side stacks). */
    if (length == 0 || length >= host_size || !config_read_parse_integer(colon + 1, &number) ||
        number < 0 || number > 65535)
        return err_set(err, ERR_CONFIG,
                       "expected host:port with a port 0..65535 (0: any free port), got \"%s\"",
                       listen);
    memcpy(host, start, length);
    host[length] = '\0';
    *port = (int)number;
    return 0;
}
