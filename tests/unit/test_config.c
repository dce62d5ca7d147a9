/* test_config.c — the configuration loader: the sample deploy/leadops.yaml
 * loads with its values, LEADOPS_<PATH> variables override them (list items
 * too), built-in defaults stand in for a missing file, and every kind of
 * mistake is refused with the file, line and key a user needs to fix it.
 * Also covers yaml_tree, the parser underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "yaml_tree.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
/* snprintf into an array, failing the test if it does not fit. */
#define FORMAT(array, ...)                                                                         \
    assert_true((size_t)snprintf((array), sizeof(array), __VA_ARGS__) < sizeof(array))

/* Every variable a test sets; the teardown clears them all so that a failed
 * test cannot leak an override into the next one. */
static const char *const s_env_names[] = {
    "LEADOPS_REDIS_PORT",
    "LEADOPS_REDIS_HOST",
    "LEADOPS_ENDPOINTS_INGEST",
    "LEADOPS_ENDPOINTS_EVENTS_DELAY_MS",
    "LEADOPS_HTTP_REPORTING_LISTEN",
    "LEADOPS_ROUTING_REPS_0_CAPACITY",
    "LEADOPS_ROUTING_REPS_0_QUEUES",
    "LEADOPS_ROUTING_REPS_1_QUEUES_0",
    "LEADOPS_ROUTING_REPS_9_CAPACITY",
    "LEADOPS_SCORING_STAGES_1_ENTER",
    "LEADOPS_SCORING_FIT_0_VALUES_1",
    "LEADOPS_SCORING_ACTIVITY_POINTS_DEMO_REQUEST",
    "LEADOPS_SCORING_GRADES_1_MIN",
    "LEADOPS_LOG_LEVEL",
    "LEADOPS_LOG_FORMAT",
    "LEADOPS_INGEST_ACTIVITY_TYPES",
    "LEADOPS_ROUTING_FALLBACK_QUEUE",
};

typedef struct {
    char dir[PATH_MAX];    /* a fresh temporary directory for YAML files */
    char sample[PATH_MAX]; /* deploy/leadops.yaml of the source tree */
} fixture_t;

static int s_group_setup(void **state)
{
    static fixture_t fixture;
    const char *source_dir = getenv("LEADOPS_TEST_SOURCE_DIR");
    if (!source_dir) {
        fprintf(stderr, "LEADOPS_TEST_SOURCE_DIR must name the repository root\n");
        return -1;
    }
    snprintf(fixture.sample, sizeof fixture.sample, "%s/deploy/leadops.yaml", source_dir);
    snprintf(fixture.dir, sizeof fixture.dir, "%s/leadops-config-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(fixture.dir))
        return -1;
    *state = &fixture;
    return 0;
}

static int s_group_teardown(void **state)
{
    fixture_t *fixture = *state;
    return rmdir(fixture->dir);
}

static int s_clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(s_env_names); i++)
        unsetenv(s_env_names[i]);
    return 0;
}

/* Writes TEXT to a new file in the fixture's directory; its path goes to PATH. */
static void s_write(const fixture_t *fixture, const char *text, char path[PATH_MAX])
{
    assert_true(snprintf(path, PATH_MAX, "%s/config-XXXXXX", fixture->dir) < PATH_MAX);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t length = strlen(text);
    assert_int_equal(write(fd, text, length), (ssize_t)length);
    assert_int_equal(close(fd), 0);
}

/* Loads TEXT and checks that it is refused with "<file>:LINE: KEY: REASON"
 * (no ":LINE" when LINE is 0). */
static void s_expect_error(void **state, const char *text, int line, const char *key,
                           const char *reason)
{
    char path[PATH_MAX], expected[ERR_MSG_MAX];
    err_t err;
    err_clear(&err);
    s_write(*state, text, path);
    config_t *config = config_load(path, &err);
    unlink(path);
    if (line > 0)
        FORMAT(expected, "%s:%d: %s: %s", path, line, key, reason);
    else
        FORMAT(expected, "%s: %s: %s", path, key, reason);
    assert_null(config);
    assert_string_equal(err.msg, expected);
    assert_int_equal(err.code, ERR_CONFIG);
}

/* Loads TEXT, which must be valid. */
static config_t *s_load_text(void **state, const char *text)
{
    char path[PATH_MAX];
    err_t err;
    err_clear(&err);
    s_write(*state, text, path);
    config_t *config = config_load(path, &err);
    unlink(path);
    if (!config)
        fail_msg("unexpected error: %s", err.msg);
    return config;
}

static const char *s_sample(void **state)
{
    return ((fixture_t *)*state)->sample;
}

static void test_sample_loads(void **state)
{
    err_t err;
    err_clear(&err);
    config_t *config = config_load(s_sample(state), &err);
    if (!config)
        fail_msg("sample: %s", err.msg);
    assert_string_equal(config->path, s_sample(state));
    assert_string_equal(config->log_level, "info");
    assert_false(config->log_json);
    assert_string_equal(config->redis_host, "127.0.0.1");
    assert_int_equal(config->redis_port, 6379);
    assert_string_equal(config->redis_password, "");
    assert_string_equal(config->redis_user, "");
    assert_int_equal(config->redis_db, 0);
    assert_string_equal(config->redis_prefix, "leadops");
    assert_int_equal(config->redis_timeout_ms, 2000);
    assert_string_equal(config->ep_ingest, "tcp://127.0.0.1:5555");
    assert_string_equal(config->ep_scoring, "tcp://127.0.0.1:5556");
    assert_string_equal(config->ep_routing, "tcp://127.0.0.1:5557");
    assert_string_equal(config->ep_commands, "tcp://127.0.0.1:5558");
    assert_string_equal(config->ep_events, "tcp://127.0.0.1:5559");
    assert_int_equal(config->events_delay_ms, 10);
    assert_string_equal(config->http_ingest_listen, "127.0.0.1:8080");
    assert_string_equal(config->http_reporting_listen, "127.0.0.1:8081");
    assert_int_equal(config->ingest_max_body_bytes, 1048576);
    assert_int_equal(config->ingest_dedup_window_s, 86400);
    assert_int_equal(config->ingest_journal_max_len, 1000000);
    assert_int_equal(config->ingest_redelivery_ms, 3000);
    assert_int_equal(config->activity_type_count, 18);
    assert_string_equal(config->activity_types[0], "page_view");
    assert_string_equal(config->activity_types[17], "email_bounce");
    assert_true(config_is_activity_type(config, "demo_request"));
    assert_false(config_is_activity_type(config, "carrier_pigeon"));

    assert_int_equal(config->stage_count, 3);
    assert_string_equal(config->stages[0].name, "lead");
    assert_string_equal(config->stages[1].name, "mql");
    assert_true(config->stages[1].enter == 20.0 && config->stages[1].exit == 15.0);
    assert_true(config->stages[2].enter == 60.0 && config->stages[2].exit == 50.0);
    assert_int_equal(config->route_stage, 1);
    assert_int_equal(config->queues[0].stage, 1);
    assert_int_equal(config->scoring_half_life_s, 1209600);
    assert_string_equal(config->model_file, "");
    assert_int_equal(config->scoring_redelivery_ms, 3000);
    assert_int_equal(config->grade_count, 4);
    assert_string_equal(config->grades[0].grade, "A");
    assert_true(config->grades[0].min == 45.0);
    assert_string_equal(config->grades[3].grade, "D");
    assert_true(config->grades[3].min == -1000.0);

    assert_int_equal(config->fit_rule_count, 8);
    const fit_rule_t *industry = &config->fit_rules[0];
    assert_string_equal(industry->name, "target industry");
    assert_string_equal(industry->cond.field, "industry");
    assert_int_equal(industry->cond.op, COND_IN);
    assert_int_equal(industry->cond.value_count, 5);
    assert_string_equal(industry->cond.values[4], "finance");
    assert_true(industry->points == 15.0);
    const fit_rule_t *size = &config->fit_rules[1];
    assert_int_equal(size->cond.op, COND_RANGE);
    assert_true(size->cond.min == 50.0 && size->cond.max == 100000.0);
    assert_int_equal(size->cond.value_count, 0);
    assert_string_equal(config->fit_rules[2].cond.values[3], "chief");
    assert_true(config->fit_rules[3].points == -10.0);
    assert_int_equal(config->fit_rules[7].cond.op, COND_EXISTS);
    assert_string_equal(config->fit_rules[7].cond.field, "company");

    assert_int_equal(config->activity_points_count, 11);
    assert_string_equal(config->activity_points[6].type, "demo_request");
    assert_true(config->activity_points[6].points == 25.0);
    assert_true(config->activity_points[9].points == -20.0);

    assert_string_equal(config->fallback_queue, "general");
    assert_int_equal(config->queue_count, 3);
    assert_non_null(config_queue(config, "emea"));
    assert_int_equal(config_queue(config, "americas")->strategy, STRATEGY_ROUND_ROBIN);
    assert_null(config_queue(config, "apac"));
    assert_int_equal(config->route_rule_count, 2);
    const route_rule_t *emea = &config->route_rules[0];
    assert_string_equal(emea->name, "emea territory");
    assert_string_equal(emea->queue, "emea");
    assert_int_equal(emea->cond_count, 0);
    assert_int_equal(config->territory_count, 2);
    const territory_t *territory = &config->territories[emea->territory - 1];
    assert_string_equal(territory->name, "emea");
    assert_int_equal(territory->country_count, 13);
    assert_string_equal(territory->countries[0], "DE"); /* upper case, as leads carry them */
    assert_string_equal(config->route_rules[1].queue, "americas");
    assert_true(config_queue(config, "emea")->owner_first);
    assert_int_equal(config_queue(config, "emea")->max_attempts, 3);
    assert_int_equal(config->routing_audit_ttl_s, 2592000);

    assert_int_equal(config->rep_count, 5);
    const rep_config_t *anna = &config->reps[0];
    assert_string_equal(anna->id, "rep-anna");
    assert_string_equal(anna->name, "Anna Snelling");
    assert_int_equal(anna->capacity, 40);
    assert_int_equal(anna->queue_count, 2);
    assert_string_equal(anna->queues[1], "general");
    assert_string_equal(anna->status, "online");
    assert_string_equal(anna->timezone, "Europe/Berlin");
    assert_string_equal(anna->team, "emea");
    assert_int_equal(anna->skill_count, 2);
    assert_string_equal(anna->skills[0], "lang:de");
    assert_false(anna->hours.any);
    assert_true(anna->weight == 1);
    assert_int_equal(config->reps[4].capacity, 30);
    assert_string_equal(config->reps[4].queues[0], "general");
    config_destroy(&config);
    assert_null(config);
    config_destroy(&config); /* idempotent */
}

/* The defaults table carries the sample's scalars: a service started without
 * a file behaves like one started with the sample, minus rules and reps. */
static void test_defaults_without_a_file(void **state)
{
    err_t err;
    err_clear(&err);
    config_t *sample = config_load(s_sample(state), &err);
    config_t *config = config_load(NULL, &err);
    assert_non_null(sample);
    if (!config)
        fail_msg("defaults: %s", err.msg);
    assert_null(config->path);
    assert_string_equal(config->log_level, sample->log_level);
    assert_int_equal(config->log_json, sample->log_json);
    assert_string_equal(config->redis_host, sample->redis_host);
    assert_int_equal(config->redis_port, sample->redis_port);
    assert_string_equal(config->redis_password, "");
    assert_int_equal(config->redis_db, sample->redis_db);
    assert_string_equal(config->redis_prefix, sample->redis_prefix);
    assert_int_equal(config->redis_timeout_ms, sample->redis_timeout_ms);
    assert_string_equal(config->ep_ingest, sample->ep_ingest);
    assert_string_equal(config->ep_events, sample->ep_events);
    assert_string_equal(config->http_ingest_listen, sample->http_ingest_listen);
    assert_string_equal(config->http_reporting_listen, sample->http_reporting_listen);
    assert_int_equal(config->ingest_max_body_bytes, sample->ingest_max_body_bytes);
    assert_int_equal(config->ingest_dedup_window_s, sample->ingest_dedup_window_s);
    assert_int_equal(config->ingest_journal_max_len, sample->ingest_journal_max_len);
    assert_int_equal(config->ingest_redelivery_ms, sample->ingest_redelivery_ms);
    assert_int_equal(config->activity_type_count, sample->activity_type_count);
    for (size_t i = 0; i < config->activity_type_count; i++)
        assert_string_equal(config->activity_types[i], sample->activity_types[i]);
    assert_int_equal(config->stage_count, sample->stage_count);
    for (size_t i = 0; i < config->stage_count; i++) {
        assert_string_equal(config->stages[i].name, sample->stages[i].name);
        assert_true(i == 0 || config->stages[i].enter == sample->stages[i].enter);
        assert_true(i == 0 || config->stages[i].exit == sample->stages[i].exit);
    }
    assert_int_equal(config->outcome_points_count, sample->outcome_points_count);
    assert_int_equal(config->scoring_half_life_s, sample->scoring_half_life_s);
    assert_int_equal(config->scoring_redelivery_ms, sample->scoring_redelivery_ms);
    assert_int_equal(config->grade_count, sample->grade_count);
    for (size_t i = 0; i < config->grade_count; i++) {
        assert_string_equal(config->grades[i].grade, sample->grades[i].grade);
        assert_true(config->grades[i].min == sample->grades[i].min);
    }
    assert_int_equal(config->activity_points_count, sample->activity_points_count);
    for (size_t i = 0; i < config->activity_points_count; i++) {
        assert_string_equal(config->activity_points[i].type, sample->activity_points[i].type);
        assert_true(config->activity_points[i].points == sample->activity_points[i].points);
        assert_true(config->activity_points[i].cap == sample->activity_points[i].cap);
        assert_int_equal(config->activity_points[i].period_s, sample->activity_points[i].period_s);
    }
    assert_int_equal(config->fit_rule_count, 0);
    assert_int_equal(config->route_rule_count, 0);
    assert_int_equal(config->rep_count, 0);
    assert_int_equal(config->queue_count, 1);
    assert_string_equal(config->queues[0].name, "general");
    assert_string_equal(config->fallback_queue, "general");
    config_destroy(&sample);
    config_destroy(&config);
}

/* A file that sets a few keys takes the rest from the defaults. */
static void test_partial_file_keeps_defaults(void **state)
{
    config_t *config = s_load_text(state, "redis:\n  port: 7000\nrouting:\n  rules:\n");
    assert_int_equal(config->redis_port, 7000);
    assert_string_equal(config->redis_host, "127.0.0.1");
    assert_int_equal(config->route_rule_count, 0);
    assert_int_equal(config->grade_count, 4);
    config_destroy(&config);
    config = s_load_text(state, "# only a comment\n");
    assert_int_equal(config->redis_port, 6379);
    config_destroy(&config);
}

static void test_env_overrides(void **state)
{
    setenv("LEADOPS_REDIS_PORT", "6380", 1);
    setenv("LEADOPS_ENDPOINTS_INGEST", "tcp://0.0.0.0:5555", 1);
    setenv("LEADOPS_HTTP_REPORTING_LISTEN", "0.0.0.0:9091", 1);
    setenv("LEADOPS_ROUTING_REPS_0_CAPACITY", "8", 1);
    setenv("LEADOPS_ROUTING_REPS_1_QUEUES_0", "general", 1);
    setenv("LEADOPS_SCORING_STAGES_1_ENTER", "25.5", 1);
    setenv("LEADOPS_SCORING_FIT_0_VALUES_1", "Banking", 1);
    setenv("LEADOPS_SCORING_ACTIVITY_POINTS_DEMO_REQUEST", "30", 1);
    setenv("LEADOPS_LOG_LEVEL", "debug", 1);
    setenv("LEADOPS_LOG_FORMAT", "json", 1);
    setenv("LEADOPS_INGEST_ACTIVITY_TYPES", "page_view, call,deal_won", 1);
    /* No rep 9 in the file: nothing to override, and no error either. */
    setenv("LEADOPS_ROUTING_REPS_9_CAPACITY", "1", 1);
    err_t err;
    err_clear(&err);
    config_t *config = config_load(s_sample(state), &err);
    if (!config)
        fail_msg("overrides: %s", err.msg);
    assert_int_equal(config->redis_port, 6380);
    assert_string_equal(config->ep_ingest, "tcp://0.0.0.0:5555");
    assert_string_equal(config->http_reporting_listen, "0.0.0.0:9091");
    assert_int_equal(config->reps[0].capacity, 8);
    assert_int_equal(config->reps[1].capacity, 40);
    assert_string_equal(config->reps[1].queues[0], "general");
    assert_true(config->stages[1].enter == 25.5);
    assert_string_equal(config->fit_rules[0].cond.values[1], "banking");
    assert_true(config->activity_points[6].points == 30.0);
    assert_string_equal(config->log_level, "debug");
    assert_true(config->log_json);
    assert_int_equal(config->activity_type_count, 3);
    assert_string_equal(config->activity_types[1], "call");
    assert_string_equal(config->activity_types[2], "deal_won");
    assert_false(config_is_activity_type(config, "page_view, call"));
    assert_int_equal(config->rep_count, 5);
    config_destroy(&config);
}

static void test_env_overrides_defaults(void **state)
{
    (void)state;
    setenv("LEADOPS_REDIS_HOST", "redis.internal", 1);
    setenv("LEADOPS_SCORING_GRADES_1_MIN", "35", 1);
    setenv("LEADOPS_INGEST_ACTIVITY_TYPES", "", 1);
    setenv("LEADOPS_ENDPOINTS_EVENTS_DELAY_MS", "0", 1);
    err_t err;
    config_t *config = config_load(NULL, &err);
    if (!config)
        fail_msg("defaults: %s", err.msg);
    assert_string_equal(config->redis_host, "redis.internal");
    assert_int_equal(config->events_delay_ms, 0);
    assert_true(config->grades[1].min == 35.0);
    assert_int_equal(config->activity_type_count, 0);
    config_destroy(&config);
}

/* A bad override names the variable, since no file line is to blame. */
static void test_env_errors(void **state)
{
    err_t err;
    setenv("LEADOPS_REDIS_PORT", "abc", 1);
    assert_null(config_load(s_sample(state), &err));
    assert_string_equal(
        err.msg, "LEADOPS_REDIS_PORT: redis.port: expected an integer 1..65535, got \"abc\"");
    assert_int_equal(err.code, ERR_CONFIG);
    assert_null(config_load(NULL, &err));
    assert_string_equal(
        err.msg, "LEADOPS_REDIS_PORT: redis.port: expected an integer 1..65535, got \"abc\"");
    unsetenv("LEADOPS_REDIS_PORT");

    setenv("LEADOPS_ROUTING_REPS_0_CAPACITY", "lots", 1);
    assert_null(config_load(s_sample(state), &err));
    assert_string_equal(err.msg, "LEADOPS_ROUTING_REPS_0_CAPACITY: routing.reps[0].capacity: "
                                 "expected an integer 0..100000, got \"lots\"");
    unsetenv("LEADOPS_ROUTING_REPS_0_CAPACITY");

    setenv("LEADOPS_ROUTING_REPS_0_QUEUES", "emea, nowhere", 1);
    assert_null(config_load(s_sample(state), &err));
    assert_string_equal(err.msg, "LEADOPS_ROUTING_REPS_0_QUEUES: routing.reps[0].queues[1]: "
                                 "\"nowhere\" is not a configured queue (see routing.queues)");
    unsetenv("LEADOPS_ROUTING_REPS_0_QUEUES");

    setenv("LEADOPS_INGEST_ACTIVITY_TYPES", "call,,meeting", 1);
    assert_null(config_load(s_sample(state), &err));
    assert_string_equal(err.msg, "LEADOPS_INGEST_ACTIVITY_TYPES: ingest.activity_types: expected a "
                                 "comma-separated list of non-empty values, got \"call,,meeting\"");
    unsetenv("LEADOPS_INGEST_ACTIVITY_TYPES");

    setenv("LEADOPS_LOG_LEVEL", "loud", 1);
    assert_null(config_load(NULL, &err));
    assert_string_equal(
        err.msg,
        "LEADOPS_LOG_LEVEL: log.level: expected one of error, warn, info, debug, got \"loud\"");
}

static void test_unknown_keys(void **state)
{
    s_expect_error(state, "log:\n  level: info\nlogging:\n  level: info\n", 3, "logging",
                   "unknown key");
    s_expect_error(state, "redis:\n  host: localhost\n  prot: 6380\n", 3, "redis.prot",
                   "unknown key");
    s_expect_error(
        state,
        "routing:\n  reps:\n"
        "    - { id: a, name: A, capacity: 1, queues: [general], status: online, squad: x }\n",
        3, "routing.reps[0].squad", "unknown key");
    s_expect_error(
        state,
        "scoring:\n  fit:\n    - name: x\n      field: title\n      op: exists\n      points: 1\n"
        "      weight: 2\n",
        7, "scoring.fit[0].weight", "unknown key");
    /* Keys are checked before values: the misspelt key is reported, not the bad port above it. */
    s_expect_error(state, "redis:\n  port: abc\n  hots: x\n", 3, "redis.hots", "unknown key");
}

static void test_wrong_types(void **state)
{
    s_expect_error(state, "redis:\n  port: { a: 1 }\n", 2, "redis.port",
                   "expected an integer 1..65535, got a mapping");
    s_expect_error(state, "redis:\n  port: abc\n", 2, "redis.port",
                   "expected an integer 1..65535, got \"abc\"");
    s_expect_error(state, "redis:\n  port: \"6379\"\n", 2, "redis.port",
                   "expected an integer 1..65535, got the string \"6379\"");
    s_expect_error(state, "redis:\n  port:\n", 2, "redis.port",
                   "expected an integer 1..65535, got nothing");
    s_expect_error(state, "redis:\n  host: [a, b]\n", 2, "redis.host",
                   "expected a non-empty string, got a list");
    s_expect_error(state, "redis: 6379\n", 1, "redis", "expected a mapping, got a scalar");
    s_expect_error(state, "- redis\n", 1, "(top level)", "expected a mapping, got a list");
    s_expect_error(state,
                   "scoring:\n  stages:\n    - {name: lead}\n    - {name: mql, enter: high}\n", 4,
                   "scoring.stages[1].enter", "expected a number, got \"high\"");
    s_expect_error(state, "scoring:\n  stages:\n    - {name: lead, enter: 3}\n", 3,
                   "scoring.stages[0].enter",
                   "the first stage is where every lead starts: it has no thresholds");
    s_expect_error(state,
                   "scoring:\n  stages:\n    - {name: lead}\n    - {name: mql, enter: 20}\n"
                   "    - {name: sql, enter: 10}\n",
                   5, "scoring.stages[2].enter",
                   "stages must be listed lowest first: 10 is not above 20");
    s_expect_error(
        state, "scoring:\n  stages:\n    - {name: lead}\n    - {name: mql, enter: 20, exit: 30}\n",
        4, "scoring.stages[1].exit",
        "a lead leaves a stage at or below where it enters: 30 is above 20");
    s_expect_error(state, "scoring:\n  stages: []\n", 2, "scoring.stages",
                   "at least one stage is needed");
    s_expect_error(state, "scoring:\n  activity_points:\n    page_view: {points: 1, cap: 0}\n", 3,
                   "scoring.activity_points.page_view.cap", "expected a cap above 0, got \"0\"");
    s_expect_error(state, "scoring:\n  activity_points:\n    page_view: {points: 1, limit: 3}\n", 3,
                   "scoring.activity_points.page_view.limit", "unknown key");
    s_expect_error(state, "scoring:\n  model:\n    file: m.json\n    mapping: {Country: nation}\n",
                   4, "scoring.model.mapping.Country", "unknown lead field \"nation\"");
    s_expect_error(
        state, "routing:\n  queues:\n    - {name: general, strategy: round_robin, stage: hot}\n", 3,
        "routing.queues[0].stage", "\"hot\" is not a configured stage (see scoring.stages)");
    /* Routing: what a demanding operator gets wrong. */
    const char *rep = "    - { id: a, name: A, capacity: 1, queues: [general], status: online";
    char text[1024];
    FORMAT(text, "routing:\n  reps:\n%s, timezone: Mars/Olympus }\n", rep);
    s_expect_error(state, text, 3, "routing.reps[0].timezone",
                   "\"Mars/Olympus\" is not a time zone this machine knows (an IANA name like "
                   "Europe/Berlin or America/New_York)");
    FORMAT(text, "routing:\n  reps:\n%s,\n        hours: { mon: \"09:00-12:00, 11:00-17:00\" } }\n",
           rep);
    s_expect_error(state, text, 4, "routing.reps[0].hours.mon",
                   "span 2 \"11:00-17:00\": must start after span 1 ends (spans in order, neither "
                   "overlapping nor touching)");
    s_expect_error(state,
                   "routing:\n  reps:\n    - { id: a, name: A, capacity: -1, queues: [general], "
                   "status: online }\n",
                   3, "routing.reps[0].capacity", "expected an integer 0..100000, got \"-1\"");
    s_expect_error(state,
                   "routing:\n  queues:\n    - { name: general }\n    - { name: spare }\n  reps:\n"
                   "    - { id: a, name: A, capacity: 1, queues: [general], status: online }\n",
                   4, "routing.queues[1].name",
                   "queue \"spare\" has no rep: list it in some rep's queues");
    s_expect_error(state, "routing:\n  queues:\n    - { name: general, escalate_to: managers }\n",
                   3, "routing.queues[0].escalate_to", "\"managers\" is not a configured queue");
    s_expect_error(state,
                   "routing:\n  rules:\n    - { name: r, queue: general, territory: apac }\n", 3,
                   "routing.rules[0].territory",
                   "\"apac\" is not a configured territory (see routing.territories)");
    s_expect_error(state, "routing:\n  rules:\n    - { name: r, queue: vip }\n", 3,
                   "routing.rules[0].queue",
                   "\"vip\" is not a configured queue (see routing.queues)");
    s_expect_error(state, "ingest:\n  activity_types: call\n", 2, "ingest.activity_types",
                   "expected a list, got a scalar");
    s_expect_error(state, "routing:\n  reps:\n    - rep-anna\n", 3, "routing.reps[0]",
                   "expected a mapping, got a scalar");
    s_expect_error(state, "endpoints:\n  events: 127.0.0.1:5559\n", 2, "endpoints.events",
                   "expected a ZeroMQ endpoint like tcp://host:port, got \"127.0.0.1:5559\"");
    s_expect_error(state, "http:\n  ingest_listen: localhost\n", 2, "http.ingest_listen",
                   "expected host:port with a port 0..65535 (0: any free port), got \"localhost\"");
}

static void test_out_of_range(void **state)
{
    s_expect_error(state, "redis:\n  port: 0\n", 2, "redis.port",
                   "expected an integer 1..65535, got \"0\"");
    s_expect_error(state, "redis:\n  port: 65536\n", 2, "redis.port",
                   "expected an integer 1..65535, got \"65536\"");
    s_expect_error(state, "redis:\n  timeout_ms: 0\n", 2, "redis.timeout_ms",
                   "expected a positive integer, got \"0\"");
    s_expect_error(state, "scoring:\n  redelivery_ms: -5\n", 2, "scoring.redelivery_ms",
                   "expected a positive integer, got \"-5\"");
    s_expect_error(state, "endpoints:\n  events_delay_ms: 1001\n", 2, "endpoints.events_delay_ms",
                   "expected an integer 0..1000, got \"1001\"");
    s_expect_error(state, "log:\n  level: verbose\n", 2, "log.level",
                   "expected one of error, warn, info, debug, got \"verbose\"");
    s_expect_error(state, "log:\n  format: xml\n", 2, "log.format",
                   "expected one of text, json, got \"xml\"");
    s_expect_error(state,
                   "routing:\n  reps:\n"
                   "    - { id: a, name: A, capacity: 5, queues: [general], status: online }\n"
                   "    - id: b\n      name: B\n      capacity: lots\n      queues: [general]\n    "
                   "  status: online\n",
                   6, "routing.reps[1].capacity", "expected an integer 0..100000, got \"lots\"");
    s_expect_error(state,
                   "routing:\n  reps:\n    - { id: a, name: A, capacity: 100001, queues: [], "
                   "status: online }\n",
                   3, "routing.reps[0].capacity", "expected an integer 0..100000, got \"100001\"");
    s_expect_error(
        state,
        "routing:\n  reps:\n    - { id: a, name: A, capacity: 1, queues: [], status: busy }\n", 3,
        "routing.reps[0].status", "expected one of online, away, offline, got \"busy\"");
    s_expect_error(state, "routing:\n  queues:\n    - { name: general, strategy: random }\n", 3,
                   "routing.queues[0].strategy",
                   "expected one of round_robin, weighted, least_loaded, got \"random\"");
}

static void test_conditions(void **state)
{
    s_expect_error(
        state,
        "scoring:\n  fit:\n    - name: x\n      field: title\n      op: like\n      points: 1\n", 5,
        "scoring.fit[0].op",
        "unknown op \"like\" (expected equals, in, range, prefix, suffix, contains or exists)");
    s_expect_error(state,
                   "scoring:\n  fit:\n    - name: big\n      field: company_size\n      op: range\n"
                   "      min: 50\n      points: 1\n",
                   3, "scoring.fit[0].max", "required key is missing");
    s_expect_error(state,
                   "routing:\n  rules:\n    - name: small\n      queue: general\n      when:\n"
                   "        - { field: company_size, op: range, max: 10 }\n",
                   6, "routing.rules[0].when[0].min", "required key is missing");
    s_expect_error(state, "scoring:\n  fit:\n    - { name: x, field: title, op: in, points: 1 }\n",
                   3, "scoring.fit[0].values", "required key is missing");
    s_expect_error(
        state, "scoring:\n  fit:\n    - { name: x, field: title, op: in, value: ceo, points: 1 }\n",
        3, "scoring.fit[0].value", "not used by op in");
    s_expect_error(
        state,
        "scoring:\n  fit:\n    - { name: x, field: title, op: exists, values: [a], points: 1 }\n",
        3, "scoring.fit[0].values", "not used by op exists");
    s_expect_error(state,
                   "scoring:\n  fit:\n    - { name: x, field: title, op: equals, values: [a, b], "
                   "points: 1 }\n",
                   3, "scoring.fit[0].values", "op equals takes one value (op in takes several)");
    s_expect_error(
        state, "scoring:\n  fit:\n    - { name: x, field: title, op: in, values: [], points: 1 }\n",
        3, "scoring.fit[0].values", "expected at least one value");
    s_expect_error(state,
                   "scoring:\n  fit:\n    - { name: x, field: titel, op: exists, points: 1 }\n", 3,
                   "scoring.fit[0].field", "unknown lead field \"titel\"");
    s_expect_error(
        state,
        "scoring:\n  fit:\n    - { name: x, field: company_size, op: range, min: 9, max: 1,\n"
        "        points: 1 }\n",
        3, "scoring.fit[0].max", "1 is below min 9");

    config_t *config =
        s_load_text(state, "scoring:\n  fit:\n"
                           "    - { name: vp, field: title, op: prefix, value: VP, points: 3 }\n"
                           "    - { name: tag, field: attributes.tier, op: equals, values: [Gold],"
                           " points: 2 }\n"
                           "routing:\n  rules:\n    - { name: catch all, queue: general }\n");
    assert_int_equal(config->fit_rules[0].cond.op, COND_PREFIX);
    assert_int_equal(config->fit_rules[0].cond.value_count, 1);
    assert_string_equal(config->fit_rules[0].cond.values[0], "vp");
    assert_string_equal(config->fit_rules[1].cond.values[0], "gold");
    assert_int_equal(config->route_rules[0].cond_count, 0);
    config_destroy(&config);
}

static void test_consistency(void **state)
{
    s_expect_error(
        state, "scoring:\n  grades:\n    - { grade: A, min: 45 }\n    - { grade: B, min: 50 }\n", 4,
        "scoring.grades[1].min", "grade bands must be strictly descending: 50 is not below 45");
    s_expect_error(
        state, "scoring:\n  grades:\n    - { grade: A, min: 45 }\n    - { grade: B, min: 45 }\n", 4,
        "scoring.grades[1].min", "grade bands must be strictly descending: 45 is not below 45");
    s_expect_error(state, "routing:\n  rules:\n    - name: r\n      queue: apac\n", 4,
                   "routing.rules[0].queue",
                   "\"apac\" is not a configured queue (see routing.queues)");
    s_expect_error(state,
                   "routing:\n  reps:\n    - id: a\n      name: A\n      capacity: 1\n"
                   "      queues: [general,\n               apac]\n      status: online\n",
                   7, "routing.reps[0].queues[1]",
                   "\"apac\" is not a configured queue (see routing.queues)");
    s_expect_error(state, "routing:\n  fallback_queue: nowhere\n", 2, "routing.fallback_queue",
                   "\"nowhere\" is not a configured queue (see routing.queues)");
    /* The default fallback names "general"; a file that drops that queue must name another. */
    s_expect_error(state, "routing:\n  queues:\n    - { name: emea, strategy: round_robin }\n", 0,
                   "routing.fallback_queue",
                   "\"general\" is not a configured queue (see routing.queues)");
    s_expect_error(
        state,
        "routing:\n  reps:\n    - { id: a, name: A, capacity: 1, queues: [], status: online }\n"
        "    - { id: a, name: B, capacity: 1, queues: [], status: online }\n",
        4, "routing.reps[1].id", "duplicate rep id \"a\"");
    s_expect_error(state,
                   "routing:\n  queues:\n    - { name: general, strategy: round_robin }\n"
                   "    - { name: general, strategy: round_robin }\n",
                   4, "routing.queues[1].name", "duplicate queue \"general\"");
    s_expect_error(
        state,
        "routing:\n  reps:\n    - { id: \"\", name: A, capacity: 1, queues: [], status: online }\n",
        3, "routing.reps[0].id", "expected a non-empty string, got the string \"\"");
    s_expect_error(
        state, "routing:\n  reps:\n    - { name: A, capacity: 1, queues: [], status: online }\n", 3,
        "routing.reps[0].id", "required key is missing");
}

/* The first error in decoding order is the one reported. */
static void test_first_error_wins(void **state)
{
    s_expect_error(state, "redis:\n  port: abc\n  timeout_ms: 0\nlog:\n  level: loud\n", 5,
                   "log.level", "expected one of error, warn, info, debug, got \"loud\"");
    s_expect_error(state, "redis:\n  port: abc\n  timeout_ms: 0\n", 2, "redis.port",
                   "expected an integer 1..65535, got \"abc\"");
}

static void test_yaml_errors(void **state)
{
    char path[PATH_MAX], expected[ERR_MSG_MAX];
    err_t err;
    const struct {
        const char *text;
        int line;
        const char *reason;
    } cases[] = {
        {"redis:\n  port: 1\n  host: [a, b\n", 4,
         "did not find expected ',' or ']' while parsing a flow sequence"},
        {"redis:\n  port: 1\n  port: 2\n", 3, "duplicate key \"port\" (first on line 2)"},
        {"a: &x 1\nb: *x\n", 2, "aliases are not supported (*x)"},
        {"log: {}\n---\nlog: {}\n", 2, "expected a single YAML document"},
        {"redis:\n\tport: 1\n", 2,
         "found character that cannot start any token while scanning for the next token"},
        {"redis:\n  host: caf\xe9\n", 2, "incomplete UTF-8 octet sequence"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        s_write(*state, cases[i].text, path);
        assert_null(config_load(path, &err));
        unlink(path);
        FORMAT(expected, "%s:%d: %s", path, cases[i].line, cases[i].reason);
        assert_string_equal(err.msg, expected);
        assert_int_equal(err.code, ERR_CONFIG);
    }
    FORMAT(path, "%s/missing.yaml", ((fixture_t *)*state)->dir);
    assert_null(config_load(path, &err));
    FORMAT(expected, "%s: No such file or directory", path);
    assert_string_equal(err.msg, expected);
    assert_int_equal(err.code, ERR_IO);
    assert_null(config_load(path, NULL)); /* a caller may not care why */
    assert_null(config_load(((fixture_t *)*state)->dir, &err));
    FORMAT(expected, "%s: Is a directory", ((fixture_t *)*state)->dir);
    assert_string_equal(err.msg, expected);
    assert_int_equal(err.code, ERR_IO);
}

/* yaml_tree itself: lines, quoting and flow style, which the messages above rely on. */
static void test_yaml_tree(void **state)
{
    (void)state;
    const char *text = "# comment\n"
                       "name: \"42\"\n"
                       "count: 42\n"
                       "list: [a, 'b',\n"
                       "       {k: v}]\n"
                       "block:\n"
                       "  - x\n"
                       "  - ~\n";
    err_t err;
    yaml_tree_node_t *root = yaml_tree_parse(text, strlen(text), "inline", &err);
    assert_non_null(root);
    assert_int_equal(root->kind, YAML_TREE_MAP);
    assert_int_equal(root->count, 4);
    assert_int_equal(root->pairs[1].key_line, 3);
    const yaml_tree_node_t *name = yaml_tree_get(root, "name");
    assert_true(name->quoted);
    assert_string_equal(name->text, "42");
    assert_false(yaml_tree_get(root, "count")->quoted);
    const yaml_tree_node_t *list = yaml_tree_get(root, "list");
    assert_int_equal(list->kind, YAML_TREE_LIST);
    assert_int_equal(list->count, 3);
    assert_true(list->items[1]->quoted);
    assert_int_equal(list->items[2]->kind, YAML_TREE_MAP);
    assert_int_equal(list->items[2]->line, 5);
    const yaml_tree_node_t *block = yaml_tree_get(root, "block");
    assert_int_equal(block->items[1]->line, 8);
    assert_true(yaml_tree_is_null(block->items[1]));
    assert_false(yaml_tree_is_null(name));
    assert_null(yaml_tree_get(root, "missing"));
    yaml_tree_destroy(&root);
    assert_null(root);
    yaml_tree_destroy(&root);

    char deep[2 * YAML_TREE_DEPTH_MAX + 8];
    memset(deep, '[', YAML_TREE_DEPTH_MAX + 1);
    memset(deep + YAML_TREE_DEPTH_MAX + 1, ']', YAML_TREE_DEPTH_MAX + 1);
    assert_null(yaml_tree_parse(deep, 2 * (YAML_TREE_DEPTH_MAX + 1), "deep", &err));
    assert_int_equal(err.code, ERR_INPUT);
    assert_string_equal(err.msg, "deep:1: nested deeper than 64 levels");
}

static void test_split_listen(void **state)
{
    (void)state;
    char host[64];
    int port = 0;
    err_t err;
    assert_int_equal(config_split_listen("127.0.0.1:8080", host, sizeof host, &port, &err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(config_split_listen("[::1]:9000", host, sizeof host, &port, &err), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9000);
    /* Port 0 is allowed: it asks the kernel for any free port. */
    assert_int_equal(config_split_listen("127.0.0.1:0", host, sizeof host, &port, &err), 0);
    assert_int_equal(port, 0);
    const char *bad[] = {"localhost",  ":8080",    "host:",  "host:-1",
                         "host:65536", "host:80x", "::1:80", "[]:80"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        assert_int_equal(config_split_listen(bad[i], host, sizeof host, &port, &err), -1);
        assert_int_equal(err.code, ERR_CONFIG);
    }
    assert_int_equal(config_split_listen("a-rather-long-host-name:80", host, 8, &port, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sample_loads, s_clear_env),
        cmocka_unit_test_teardown(test_defaults_without_a_file, s_clear_env),
        cmocka_unit_test_teardown(test_partial_file_keeps_defaults, s_clear_env),
        cmocka_unit_test_teardown(test_env_overrides, s_clear_env),
        cmocka_unit_test_teardown(test_env_overrides_defaults, s_clear_env),
        cmocka_unit_test_teardown(test_env_errors, s_clear_env),
        cmocka_unit_test_teardown(test_unknown_keys, s_clear_env),
        cmocka_unit_test_teardown(test_wrong_types, s_clear_env),
        cmocka_unit_test_teardown(test_out_of_range, s_clear_env),
        cmocka_unit_test_teardown(test_conditions, s_clear_env),
        cmocka_unit_test_teardown(test_consistency, s_clear_env),
        cmocka_unit_test_teardown(test_first_error_wins, s_clear_env),
        cmocka_unit_test_teardown(test_yaml_errors, s_clear_env),
        cmocka_unit_test_teardown(test_yaml_tree, s_clear_env),
        cmocka_unit_test_teardown(test_split_listen, s_clear_env),
    };
    s_clear_env(NULL);
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
