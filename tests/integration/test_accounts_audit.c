/* test_accounts_audit.c — accounts and routing decisions against a real
 * redis-server: `leadopsctl account import` (domains normalized the way
 * routing looks them up, bad rows named by line, dry runs write nothing),
 * the route op finding an imported account's owner, views_lead_audit over
 * audit entries written by routing.lua and by hand, and what
 * `leadopsctl explain` prints of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "redis_fixture.h"
#include "store.h"
#include "views.h"

#define PREFIX "t"

extern const char routing_script_routing[];

typedef struct {
    redis_fixture_t redis;
    store_t *store;
    int routing; /* routing.lua's handle */
    char csv_path[64];
} s_world_t;

static int s_group_setup(void **state)
{
    static s_world_t world;
    if (redis_fixture_start_store(&world.redis, &world.store) < 0)
        return -1;
    err_t err = {0};
    world.routing = store_script_register(world.store, "routing", routing_script_routing, &err);
    if (world.routing < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        redis_fixture_stop_store(&world.redis, &world.store);
        return -1;
    }
    snprintf(world.csv_path, sizeof world.csv_path, "/tmp/test_accounts_XXXXXX");
    int fd = mkstemp(world.csv_path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = &world;
    return 0;
}

static int s_group_teardown(void **state)
{
    s_world_t *world = *state;
    unlink(world->csv_path);
    redis_fixture_stop_store(&world->redis, &world->store);
    return 0;
}

static int s_flush(void **state)
{
    s_world_t *world = *state;
    return redis_fixture_flushall(world->store);
}

#define REDIS(world, ...)                                                                          \
    store_value_free(                                                                              \
        &(store_value_t *){redis_fixture_cmd((world)->store, __VA_ARGS__, (const char *)NULL)})

/* HGET KEY FIELD as a new string ("" when missing). */
static char *s_hget(s_world_t *world, const char *key, const char *field)
{
    store_value_t *r = redis_fixture_cmd(world->store, "HGET", key, field, (const char *)NULL);
    char *value = strdup(store_value_str(r, ""));
    store_value_free(&r);
    return value;
}

static void s_assert_hget(s_world_t *world, const char *key, const char *field,
                          const char *expected)
{
    char *value = s_hget(world, key, field);
    if (strcmp(value, expected) != 0)
        fail_msg("HGET %s %s: \"%s\", expected \"%s\"", key, field, value, expected);
    free(value);
}

static long long s_int(s_world_t *world, const char *first, const char *second)
{
    store_value_t *r = redis_fixture_cmd(world->store, first, second, (const char *)NULL);
    long long n = store_value_int(r, -1);
    store_value_free(&r);
    return n;
}

static void s_write_csv(s_world_t *world, const char *text)
{
    FILE *f = fopen(world->csv_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs an import of the world's CSV; returns its result, the report in *REPORT (caller frees). */
static int s_import(s_world_t *world, const ctl_account_import_t *given, char **report, err_t *err)
{
    ctl_account_import_t opts = *given;
    opts.path = world->csv_path;
    size_t size;
    FILE *out = open_memstream(report, &size);
    assert_non_null(out);
    int rc = ctl_account_import_run(world->store, PREFIX, &opts, out, err);
    fclose(out);
    return rc;
}

static void s_assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, text);
}

/* ---- domains ------------------------------------------------------------ */

static void test_domain_normalize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } cases[] = {
        {"acme.com", "acme.com"},
        {"  Acme.COM ", "acme.com"},
        {"www.acme.com", "acme.com"},
        {"https://www.Acme.com/about?x=1#top", "acme.com"},
        {"http://user:pw@eu.acme.com:8080/", "eu.acme.com"},
        {"acme.com.", "acme.com"},
        {"ada@Example.org", "example.org"},
        {"wwwacme.com", "wwwacme.com"},
        {"xn--bcher-kva.de", "xn--bcher-kva.de"},
        {"", NULL},
        {"https://", NULL},
        {"localhost", NULL},
        {"acme..com", NULL},
        {"-acme.com", NULL},
        {"acme-.com", NULL},
        {"ac me.com", NULL},
        {"bücher.de", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[256] = "";
        err_t err = {0};
        int rc = ctl_domain_normalize(cases[i].in, out, sizeof out, &err);
        if (cases[i].out) {
            if (rc != 0 || strcmp(out, cases[i].out) != 0)
                fail_msg("\"%s\": got %d \"%s\" (%s), expected \"%s\"", cases[i].in, rc, out,
                         err.msg, cases[i].out);
        } else if (rc == 0) {
            fail_msg("\"%s\" was taken as \"%s\"", cases[i].in, out);
        } else {
            assert_int_equal(err.code, ERR_INPUT);
        }
    }
    err_t err = {0};
    char out[256];
    assert_int_equal(ctl_domain_normalize("  ", out, sizeof out, &err), -1);
    assert_string_equal(err.msg, "no domain");
    assert_int_equal(ctl_domain_normalize(" localhost ", out, sizeof out, &err), -1);
    assert_string_equal(err.msg, "\"localhost\" is not a domain: it has no dot");
    assert_int_equal(ctl_domain_normalize("bücher.de", out, sizeof out, &err), -1);
    s_assert_contains(err.msg, "punycode");
}

/* ---- import ------------------------------------------------------------- */

static const char s_accounts_csv[] = "Domain,Name,Owner\n"
                                     "https://www.Acme.com/about,Acme Corp,rep-a\n"
                                     "eu.acme.com,Acme EU,rep-ghost\n"
                                     ",No Domain,rep-a\n"
                                     "not a domain,Broken,rep-a\n"
                                     "Globex.COM.,Globex,\n"
                                     "\"initech.com:8080\",\"Initech, Inc.\",rep-b\n"
                                     "umbrella.org,Umbrella\n"
                                     "ACME.com,Acme Corporation,rep-b\n";

static void test_import_normalizes_and_names_bad_rows(void **state)
{
    s_world_t *world = *state;
    REDIS(world, "SADD", PREFIX ":reps", "rep-a", "rep-b");
    /* A stale owner a re-import without one must remove. */
    REDIS(world, "HSET", PREFIX ":account:globex.com", "name", "Old", "owner", "rep-a");
    s_write_csv(world, s_accounts_csv);
    char *report = NULL;
    err_t err = {0};
    int rc = s_import(world, &(ctl_account_import_t){0}, &report, &err);
    assert_int_equal(rc, 1); /* some rows skipped */
    char where[192];
    snprintf(where, sizeof where, "%s:4: skipped: no domain", world->csv_path);
    s_assert_contains(report, where);
    snprintf(where, sizeof where, "%s:5: skipped: \"not a domain\" is not a domain",
             world->csv_path);
    s_assert_contains(report, where);
    snprintf(where, sizeof where, "%s:8: skipped: 2 fields, the header has 3", world->csv_path);
    s_assert_contains(report, where);
    snprintf(where, sizeof where, "%s:3: warning: owner \"rep-ghost\"", world->csv_path);
    s_assert_contains(report, where);
    snprintf(where, sizeof where, "%s:9: warning: acme.com is also on line 2", world->csv_path);
    s_assert_contains(report, where);
    s_assert_contains(report, ": 8 rows, 5 imported, 3 skipped (1 with the wrong field count, 1 "
                              "without a domain, 1 not a domain), 1 owners not known reps, 1 "
                              "domains repeated");
    free(report);

    /* The later acme.com row wins; the domains are stored as routing asks. */
    s_assert_hget(world, PREFIX ":account:acme.com", "name", "Acme Corporation");
    s_assert_hget(world, PREFIX ":account:acme.com", "owner", "rep-b");
    s_assert_hget(world, PREFIX ":account:eu.acme.com", "owner", "rep-ghost");
    s_assert_hget(world, PREFIX ":account:globex.com", "name", "Globex");
    s_assert_hget(world, PREFIX ":account:globex.com", "owner", "");
    s_assert_hget(world, PREFIX ":account:initech.com", "name", "Initech, Inc.");
    assert_int_equal(s_int(world, "SCARD", PREFIX ":accounts"), 4);
    assert_int_equal(s_int(world, "EXISTS", PREFIX ":account:umbrella.org"), 0);
}

static void test_import_dry_run_writes_nothing(void **state)
{
    s_world_t *world = *state;
    REDIS(world, "SADD", PREFIX ":reps", "rep-a");
    s_write_csv(world, s_accounts_csv);
    char *report = NULL;
    err_t err = {0};
    int rc = s_import(world, &(ctl_account_import_t){.dry_run = true}, &report, &err);
    assert_int_equal(rc, 1);
    s_assert_contains(report, "(dry run: nothing written): 8 rows, 5 would be imported");
    s_assert_contains(report, "warning: owner \"rep-b\""); /* still checked */
    free(report);
    assert_int_equal(s_int(world, "DBSIZE", NULL), 1); /* the reps set alone */
}

static void test_import_columns_by_name(void **state)
{
    s_world_t *world = *state;
    s_write_csv(world, "Company,Website\nHooli,https://hooli.xyz/\n");
    char *report = NULL;
    err_t err = {0};
    /* The default domain column is missing: nothing is read, the columns are named. */
    assert_int_equal(s_import(world, &(ctl_account_import_t){0}, &report, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    s_assert_contains(err.msg, "no column \"domain\" in the header (it has: Company, Website)");
    free(report);
    report = NULL;
    ctl_account_import_t opts = {.domain_column = "website", .name_column = "COMPANY"};
    assert_int_equal(s_import(world, &opts, &report, &err), 0);
    /* No owner column: a warning; no reps in Redis: owners unchecked. */
    s_assert_contains(report, "no column \"owner\"");
    s_assert_contains(report, "1 rows, 1 imported, 0 skipped");
    free(report);
    s_assert_hget(world, PREFIX ":account:hooli.xyz", "name", "Hooli");
}

/* ---- routing finds the account; its decisions ---------------------------- */

/* Calls routing.lua OP at NOW with ARGC more arguments; the reply is the caller's. */
static store_value_t *s_route_op(s_world_t *world, const char *now, const char *op, int argc, ...)
{
    const char *argv[20] = {op, PREFIX, now};
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[3 + i] = va_arg(ap, const char *);
    va_end(ap);
    err_t err = {0};
    store_value_t *reply =
        store_script(world->store, world->routing, 0, 3 + argc, argv, NULL, &err);
    assert_non_null(reply);
    if (reply->type == STORE_ERROR)
        fail_msg("routing.lua %s: %s", op, reply->str);
    return reply;
}

/* Prints AUDIT as `leadopsctl explain` does; the caller frees the text. */
static char *s_explain(const json_t *audit)
{
    char *text = NULL;
    size_t size;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    ctl_explain_print(out, audit, 2592000);
    fclose(out);
    return text;
}

static void test_route_to_owner_then_reject(void **state)
{
    s_world_t *world = *state;
    store_value_t *r;
    for (int i = 0; i < 2; i++) {
        r = s_route_op(world, "1000", "sync", 10, i ? "rep-b" : "rep-a", i ? "B" : "A", "5",
                       "online", "q", "0", "0", "1", "", "");
        store_value_free(&r);
    }
    r = s_route_op(world, "1000", "queue_sync", 12, "q", "round_robin", "0", "0", "3", "", "0", "",
                   "1", "queue", "0", "");
    store_value_free(&r);
    s_write_csv(world, "domain,name,owner\nacme.com,Acme,rep-b\n");
    char *report = NULL;
    err_t err = {0};
    assert_int_equal(s_import(world, &(ctl_account_import_t){0}, &report, &err), 0);
    free(report);

    /* A lead of eu.acme.com: routing finds the parent domain's account and
     * gives the lead to its owner, though rep-a is first in rotation. */
    REDIS(world, "ZADD", PREFIX ":inflight:routing", "0", "L1");
    REDIS(world, "HSET", PREFIX ":lead:L1", "ingested_at", "900", "status", "scored");
    r = s_route_op(world, "1000", "route", 8, "L1", "q", "r1", "50", "1", "mql", "",
                   "eu.acme.com,acme.com");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    assert_string_equal(store_value_str(store_value_at(r, 1), ""), "rep-b");
    store_value_free(&r);
    s_assert_hget(world, PREFIX ":lead:L1", "account", "Acme");
    /* The owner rejects it: it goes to rep-a, never back to rep-b. */
    r = s_route_op(world, "2000", "reject", 3, "rep-b", "L1", "too small");
    assert_int_equal(store_value_int(store_value_at(r, 0), -1), 1);
    store_value_free(&r);
    s_assert_hget(world, PREFIX ":lead:L1", "rep", "rep-a");

    json_t *audit = views_lead_audit(world->store, PREFIX, "L1", &err);
    assert_non_null(audit);
    json_t *decisions = json_object_get(audit, "decisions");
    assert_int_equal(json_array_size(decisions), 2);
    json_t *route = json_array_get(decisions, 0), *rejected = json_array_get(decisions, 1);
    assert_string_equal(json_string_value(json_object_get(route, "op")), "route");
    assert_string_equal(json_string_value(json_object_get(route, "chosen")), "rep-b");
    assert_string_equal(json_string_value(json_object_get(route, "why")), "account owner");
    assert_string_equal(json_string_value(json_object_get(route, "at_iso")),
                        "1970-01-01T00:00:01.000Z");
    assert_string_equal(json_string_value(json_object_get(rejected, "op")), "rejected");
    assert_string_equal(json_string_value(json_object_get(rejected, "from_rep")), "rep-b");
    assert_string_equal(json_string_value(json_object_get(rejected, "chosen")), "rep-a");

    char *text = s_explain(audit);
    s_assert_contains(text, "lead L1: 2 routing decisions");
    s_assert_contains(text, "1970-01-01 00:00:01  route     queue q, rule \"r1\", round_robin");
    s_assert_contains(text, "\u2713 rep-b (account owner)");
    s_assert_contains(text, "\u2192 rep-b: account owner");
    s_assert_contains(text, "taken from rep-b: rejected by rep-b: too small");
    s_assert_contains(text, "\u2717 rep-b                already_tried (account owner)");
    s_assert_contains(text, "\u2713 rep-a");
    s_assert_contains(text, "\u2192 rep-a: account owner rep-b already_tried; ");
    free(text);
    json_decref(audit);
}

/* ---- audit entries as written, by hand ---------------------------------- */

static void test_audit_view_parses_entries(void **state)
{
    s_world_t *world = *state;
    const char *key = PREFIX ":lead:L2:audit";
    REDIS(world, "RPUSH", key,
          "{\"at\":1795000000000,\"op\":\"route\",\"rule\":\"emea\",\"queue\":\"emea\","
          "\"strategy\":\"round_robin\",\"candidates\":[{\"rep\":\"rep-a\",\"excluded\":"
          "\"offline\"},{\"rep\":\"rep-b\",\"excluded\":\"missing_skill lang:de\"},{\"rep\":"
          "\"rep-c\",\"excluded\":\"daily_cap\"}],\"outcome\":\"waiting\",\"why\":\"no "
          "eligible rep: 1 daily_cap, 1 missing_skill, 1 offline\"}");
    REDIS(world, "RPUSH", key,
          "{\"at\":1795000060000,\"op\":\"overflow\",\"from_queue\":\"emea\",\"reason\":"
          "\"waited 60 s in emea\",\"queue\":\"general\",\"strategy\":\"least_loaded\","
          "\"candidates\":{},\"outcome\":\"waiting\",\"why\":\"no eligible rep: the queue has "
          "no reps\"}");
    REDIS(world, "RPUSH", key, "not json");
    REDIS(world, "RPUSH", key,
          "{\"at\":1795000120000,\"op\":\"reassign\",\"from_rep\":false,\"chosen\":\"rep-d\","
          "\"why\":\"reassigned by ops\"}");
    REDIS(world, "RPUSH", key, "{\"at\":1795000180000,\"op\":\"accept\",\"rep\":\"rep-d\"}");
    REDIS(world, "SET", PREFIX ":alias:L2-old", "L2");

    err_t err = {0};
    json_t *audit = views_lead_audit(world->store, PREFIX, "L2-old", &err);
    assert_non_null(audit);
    assert_string_equal(json_string_value(json_object_get(audit, "lead_id")), "L2");
    assert_string_equal(json_string_value(json_object_get(audit, "merged_from")), "L2-old");
    json_t *decisions = json_object_get(audit, "decisions");
    assert_int_equal(json_array_size(decisions), 5);
    json_t *first = json_array_get(decisions, 0);
    json_t *candidate = json_array_get(json_object_get(first, "candidates"), 1);
    assert_string_equal(json_string_value(json_object_get(candidate, "excluded")),
                        "missing_skill lang:de");
    assert_string_equal(json_string_value(json_object_get(first, "at_iso")),
                        "2026-11-18T11:06:40.000Z");
    assert_string_equal(json_string_value(json_object_get(first, "entry")), "1");
    /* Redis' cjson writes an empty list as {}: the view makes it []. */
    assert_true(json_is_array(json_object_get(json_array_get(decisions, 1), "candidates")));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(decisions, 2), "unreadable")), "not json");

    char *text = s_explain(audit);
    s_assert_contains(text, "L2-old was merged into lead L2");
    s_assert_contains(text, "lead L2: 5 routing decisions, oldest first");
    s_assert_contains(text,
                      "2026-11-18 11:06:40  route     queue emea, rule \"emea\", round_robin");
    s_assert_contains(text, "\u2717 rep-a                offline");
    s_assert_contains(text, "\u2717 rep-b                missing_skill lang:de");
    s_assert_contains(text, "\u2717 rep-c                daily_cap");
    s_assert_contains(text,
                      "\u2192 waited: no eligible rep: 1 daily_cap, 1 missing_skill, 1 offline");
    s_assert_contains(text, "from queue emea: waited 60 s in emea");
    s_assert_contains(text, "candidates: none (the queue has no reps)");
    s_assert_contains(text, "is not a routing record: not json");
    s_assert_contains(text, "from the queue (it was waiting)");
    s_assert_contains(text, "\u2192 rep-d: reassigned by ops");
    s_assert_contains(text, "accepted by rep-d");
    free(text);
    json_decref(audit);
}

static void test_audit_view_missing_and_empty(void **state)
{
    s_world_t *world = *state;
    err_t err = {0};
    assert_null(views_lead_audit(world->store, PREFIX, "nobody", &err));
    assert_int_equal(err.code, ERR_NOTFOUND);
    s_assert_contains(err.msg, "lead nobody not found");

    /* A lead that was never routed (or whose decisions expired). */
    REDIS(world, "HSET", PREFIX ":lead:L3", "status", "nurture");
    json_t *audit = views_lead_audit(world->store, PREFIX, "L3", &err);
    assert_non_null(audit);
    assert_int_equal(json_array_size(json_object_get(audit, "decisions")), 0);
    char *text = s_explain(audit);
    s_assert_contains(text, "lead L3 has no routing decisions on record");
    s_assert_contains(text, "routing.audit_ttl_s (2592000 s, 30.0 days)");
    free(text);
    json_decref(audit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_normalize),
        cmocka_unit_test_setup(test_import_normalizes_and_names_bad_rows, s_flush),
        cmocka_unit_test_setup(test_import_dry_run_writes_nothing, s_flush),
        cmocka_unit_test_setup(test_import_columns_by_name, s_flush),
        cmocka_unit_test_setup(test_route_to_owner_then_reject, s_flush),
        cmocka_unit_test_setup(test_audit_view_parses_entries, s_flush),
        cmocka_unit_test_setup(test_audit_view_missing_and_empty, s_flush),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
