/* config.h — the one configuration of every LeadOps process.
 *
 * Loaded from one YAML file; every scalar can be overridden by an environment
 * variable LEADOPS_<PATH> (path upper case, joined by '_', list items by their
 * index: LEADOPS_REDIS_PORT, LEADOPS_ROUTING_REPS_0_CAPACITY). Defaults live in
 * one table in config.c. Unknown keys, wrong types and out-of-range values are
 * errors naming "file:line: key: reason"; the caller refuses to start.
 *
 * A config_t owns everything it points to; config_destroy frees it all. */
#ifndef LEADOPS_CONFIG_H
#define LEADOPS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "calendar.h"
#include "err.h"
#include "rule.h"

#define CONFIG_NAME_MAX 64

typedef struct {
    char *name; /* owned; shown in score reasons */
    cond_t cond;
    double points; /* positive or negative */
    char *reason;  /* owned; the rule as a score reason, compact JSON:
                    * {"rule":<name>,"condition":<cond described>,"points":<points>} */
} fit_rule_t;

typedef struct {
    char grade[8]; /* "A" */
    double min;    /* fit score at or above this earns the grade */
} grade_band_t;

typedef struct {
    char *type; /* owned; activity type */
    double points;
    double cap;   /* at most this many points of the type per period; 0: no cap */
    int period_s; /* the cap's period: fixed windows of this length */
} activity_points_t;

/* Points for an activity of TYPE whose outcome is OUTCOME (a negative signal
 * such as a call "not_interested"), added to the type's own points. */
typedef struct {
    char *type;    /* owned */
    char *outcome; /* owned, lower case */
    double points;
} outcome_points_t;

/* A lifecycle stage. A lead moves up into a stage when its score reaches
 * ENTER and back down out of it when its score falls below EXIT (EXIT <=
 * ENTER: the gap keeps a lead near a threshold from flapping). The first
 * stage has no thresholds: every lead starts there. */
typedef struct {
    char name[CONFIG_NAME_MAX];
    double enter, exit;
} stage_t;

/* A named territory: a lead is in it when its country is one of COUNTRIES,
 * or its region one of REGIONS ("CA", or "US-CA" with the country), or its
 * postal code in one of POSTAL ("90000-96199": a range compared on the
 * code's first characters; "SW1": a prefix). Any list may be empty. */
typedef struct {
    char *name;       /* owned */
    char **countries; /* owned, upper case */
    size_t country_count;
    char **regions; /* owned, upper case */
    size_t region_count;
    char **postal; /* owned, upper case, no blanks */
    size_t postal_count;
} territory_t;

typedef enum {
    STRATEGY_ROUND_ROBIN = 0, /* least recently assigned first */
    STRATEGY_WEIGHTED,        /* smooth weighted round robin by rep weight */
    STRATEGY_LEAST_LOADED,    /* fewest open leads relative to capacity */
} strategy_t;

typedef enum {
    OWNER_FALLBACK_QUEUE = 0, /* an account owner who cannot take it: the queue's strategy */
    OWNER_FALLBACK_TEAM,      /* the owner's team first, then the queue */
} owner_fallback_t;

typedef struct {
    char *name; /* owned */
    int line;   /* of its item in the file, for messages (0: a default) */
    strategy_t strategy;
    size_t stage;     /* index in stages: the lowest stage of the leads it takes */
    bool owner_first; /* a lead of a known account goes to its owner when eligible */
    owner_fallback_t owner_fallback;
    bool catch_up;           /* round robin: a rep back from absence catches up on missed leads */
    int sla_s;               /* an assignment not accepted within this is re-routed; 0: no SLA */
    bool sla_business_hours; /* the SLA clock runs only in the rep's working hours */
    int max_attempts;        /* assignments of a lead in this queue before it escalates */
    char *escalate_to;       /* owned; the queue an escalated lead goes to; "" stays */
    int overflow_after_s;    /* waiting this long with no eligible rep: to overflow_to; 0: never */
    char *overflow_to;       /* owned; a queue, or "" */
    char *webhook;           /* owned; URL notified of assignments, breaches, escalations; "" */
} queue_config_t;

typedef struct {
    char *name;    /* owned */
    char *queue;   /* owned; must name a configured queue */
    cond_t *conds; /* owned; all must match (fields: any lead field, score, grade, stage) */
    size_t cond_count;
    size_t territory; /* index + 1 in territories; 0: no territory condition */
    char **skills;    /* owned; skills a rep needs, "{field}" replaced by the lead's value */
    size_t skill_count;
} route_rule_t;

typedef struct {
    char *id;          /* owned */
    char *name;        /* owned */
    unsigned capacity; /* open leads at most */
    char **queues;     /* owned; names of configured queues */
    size_t queue_count;
    char *status;                   /* owned; initial status: online, away or offline */
    unsigned daily_cap, weekly_cap; /* leads per local day / week; 0: no cap */
    double weight;                  /* for the weighted strategy; default 1 */
    char *team;                     /* owned; "" for none */
    char **skills;                  /* owned, lower case */
    size_t skill_count;
    char *timezone;              /* owned; IANA zone of hours, caps and out-of-office dates */
    cal_week_t hours;            /* working hours; hours.any false: any time */
    cal_period_t *out_of_office; /* owned */
    size_t out_of_office_count;
} rep_config_t;

/* A commission accelerator: value won beyond ABOVE x quota in a period
 * earns RATE (until the next accelerator's threshold). */
typedef struct {
    double above; /* a multiple of the quota, > 0; ascending within a plan */
    double rate;  /* a fraction: 0.12 is 12% */
} accelerator_t;

/* A commission plan. A won deal counts under the first plan, in file order,
 * whose teams include its rep's team and whose products include its product
 * (an empty list matches any); value up to the first threshold earns RATE. */
typedef struct {
    char *name;                  /* owned, unique */
    double rate;                 /* a fraction of won value */
    double quota;                /* won value per period; 0: no quota (and no accelerators) */
    accelerator_t *accelerators; /* owned, ascending above */
    size_t accelerator_count;
    char **products; /* owned; compared without case */
    size_t product_count;
    char **teams; /* owned; rep teams as in routing.reps */
    size_t team_count;
} commission_plan_t;

typedef struct {
    char *path; /* owned: the file it came from */

    char *log_level; /* error|warn|info|debug */
    bool log_json;

    char *redis_host;
    int redis_port;
    char *redis_password; /* secret: never logged */
    char *redis_user;
    int redis_db;
    char *redis_prefix;
    int redis_timeout_ms;

    char *ep_ingest; /* ZeroMQ endpoints */
    char *ep_scoring;
    char *ep_routing;
    char *ep_commands;
    char *ep_events;
    int events_delay_ms; /* ingest and scoring hold bus events at most this long (bus.h) */

    char *http_ingest_listen; /* "host:port" */
    char *http_reporting_listen;

    size_t ingest_max_body_bytes;
    int ingest_dedup_window_s;
    long ingest_journal_max_len;
    int ingest_redelivery_ms;
    int ingest_journal_max_age_s; /* 0: trim the journal by length only */
    long ingest_inflight_limit;   /* events in flight to scoring before intake says busy */
    int ingest_max_future_s;      /* event times further ahead than this are refused */
    char **activity_types;        /* owned */
    size_t activity_type_count;

    int scoring_redelivery_ms;
    int scoring_orphan_window_s; /* how long activities wait for a lead that never came */
    grade_band_t *grades;        /* owned, highest min first */
    size_t grade_count;
    fit_rule_t *fit_rules; /* owned */
    size_t fit_rule_count;
    activity_points_t *activity_points; /* owned */
    size_t activity_points_count;
    outcome_points_t *outcome_points; /* owned */
    size_t outcome_points_count;
    int scoring_half_life_s; /* engagement halves in this time; 0: no decay */
    stage_t *stages;         /* owned, lowest first; at least one */
    size_t stage_count;
    size_t route_stage;  /* the lowest stage any queue takes: from it on a lead goes to routing */
    char *model_file;    /* owned; "" for no model */
    double model_points; /* a model adds this many points times its probability */
    int model_top_features; /* contributions kept for explanations */
    char **model_columns;   /* owned: model input column -> */
    char **model_fields;    /* owned:    lead field */
    size_t model_mapping_count;

    char *fallback_queue;
    queue_config_t *queues; /* owned */
    size_t queue_count;
    route_rule_t *route_rules; /* owned, in order: first match wins */
    size_t route_rule_count;
    rep_config_t *reps; /* owned */
    size_t rep_count;
    territory_t *territories; /* owned */
    size_t territory_count;
    int routing_audit_ttl_s;  /* how long a lead's routing decisions are kept */
    char **domain_alias_from; /* owned: account domain aliases, from -> */
    char **domain_alias_to;   /* owned:                           to */
    size_t domain_alias_count;
    int routing_reprioritize_s; /* waiting leads are re-ordered by their decayed score this often */

    char **http_tokens; /* owned; bearer tokens (secrets); none: HTTP needs no token */
    size_t http_token_count;
    char *curve_public_key;   /* Z85 (40 chars); empty: no CurveZMQ */
    char *curve_secret_key;   /* Z85; a secret: never logged */
    char **curve_client_keys; /* owned; Z85 public keys of producers allowed to connect */
    size_t curve_client_key_count;

    commission_plan_t *commission_plans; /* owned */
    size_t commission_plan_count;
    char *commission_period; /* owned: week, month, quarter or year: the quota's period */
} config_t;

/* Loads PATH (NULL: built-in defaults only, still with env overrides).
 * Returns the config, or NULL with *err set to "file:line: key: reason". */
config_t *config_load(const char *path, err_t *err);
void config_destroy(config_t **self_p);

/* Lookups; NULL / false when absent. */
bool config_is_activity_type(const config_t *self, const char *type);
const queue_config_t *config_queue(const config_t *self, const char *name);
/* The territory named NAME, or NULL. */
const territory_t *config_territory(const config_t *self, const char *name);

/* The index of stage NAME, or -1. */
int config_stage_index(const config_t *self, const char *name);
/* The points of one activity of TYPE with OUTCOME (may be NULL or ""):
 * the type's points plus any outcome points; *CAP and *PERIOD_S get the
 * type's cap (0: none). */
double config_activity_points(const config_t *self, const char *type, const char *outcome,
                              double *cap, int *period_s);

/* Splits "host:port"; returns -1 with *err set when malformed. */
int config_split_listen(const char *listen, char *host, size_t host_size, int *port, err_t *err);

#endif
