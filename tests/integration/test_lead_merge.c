/* `leadopsctl lead merge` (ctl_lead_merge_run and merge.lua) against a real
 * Redis. The leads are set up as the services leave them: ingest's
 * accept.lua journals each event, scoring's apply.lua applies it (with the
 * Lead packed and its fit from the real rules), routing.lua assigns or
 * queues the qualified ones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "accept_fixture.h"
#include "apply_fixture.h"
#include "ctl.h"
#include "envelope.h"
#include "lead.h"
#include "leadops.pb-c.h"
#include "redis_fixture.h"
#include "rules_score.h"
#include "store.h"

extern const char ingest_script_accept[];
extern const char scoring_script_apply[];
extern const char scoring_script_fetch[];
extern const char routing_script_routing[];

static redis_fixture_t s_redis;
static store_t *s_store;
static config_t *s_cfg;
static apply_call_t *s_call; /* apply.lua's arguments, as scoring builds them */
static int s_accept, s_apply_script, s_fetch, s_routing;
static int s_seq; /* event ids */
/* Scoring applies events this long before the real time, to make history. */
static long long s_behind_ms;
/* When set, the next s_lead carries this source system and id. */
static const char *s_source_system, *s_source_id;

/* ---- helpers ------------------------------------------------------------ */

/* One command of NULL-terminated words; the reply is the caller's. */
#define CMD(...) redis_fixture_cmd(s_store, __VA_ARGS__, (const char *)NULL)

static long long s_int(const char *cmd, const char *key, const char *arg)
{
    store_value_t *r = arg ? CMD(cmd, key, arg) : CMD(cmd, key);
    long long n = r->type == STORE_STR ? strtoll(r->str, NULL, 10) : store_value_int(r, -1);
    if (r->type == STORE_NIL)
        n = -1;
    store_value_free(&r);
    return n;
}

static double s_double(const char *key, const char *field)
{
    store_value_t *r = CMD("HGET", key, field);
    double d = r->type == STORE_STR ? strtod(r->str, NULL) : -1;
    store_value_free(&r);
    return d;
}

/* HGET/GET as text into BUF ("" for nil). */
static const char *s_str(char *buf, size_t size, const char *cmd, const char *key,
                         const char *field)
{
    store_value_t *r = field ? CMD(cmd, key, field) : CMD(cmd, key);
    snprintf(buf, size, "%s", r->type == STORE_STR ? r->str : "");
    store_value_free(&r);
    return buf;
}

/* Journals an event as ingest does; returns the lead it went to in LEAD_OUT. */
static void s_accept_event(const char *event_id, const char *lead_id, const char *kind,
                           const char *email, const char *source, char lead_out[64])
{
    assert_int_equal(accept_fixture_event(s_store, s_accept, event_id, lead_id, kind, email, source,
                                          lead_out, NULL),
                     1);
}

/* Resolves LEAD_ID as scoring does (fetch.lua), into OUT; returns the rev. */
static long long s_fetch_lead(const char *lead_id, char out[64])
{
    const char *argv[] = {"t", lead_id};
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_fetch, 0, 2, argv, NULL, &err);
    assert_non_null(r);
    snprintf(out, 64, "%s", store_value_str(store_value_at(r, 0), ""));
    long long rev = strtoll(store_value_str(store_value_at(r, 2), "0"), NULL, 10);
    store_value_free(&r);
    return rev;
}

/* Applies EVENT as scoring does, at the real time less s_behind_ms (merges
 * decay engagement to the real time); returns apply.lua's outcome. */
static long long s_apply(apply_event_t *event)
{
    event->now_ms = clock_now_ms() - s_behind_ms;
    long long outcome = apply_fixture_run(s_store, s_apply_script, s_call, event, NULL);
    assert_int_not_equal(outcome, -1);
    return outcome;
}

/* A lead event through accept and apply: LEAD_ID with EMAIL, TITLE,
 * INDUSTRY, COMPANY and its time AT (ms). Its fit comes from the real rules. */
static void s_lead(const char *lead_id, const char *email, const char *company, const char *title,
                   const char *industry, long long at)
{
    char event_id[32], lead[64];
    snprintf(event_id, sizeof event_id, "e%d", ++s_seq);
    char source[64] = "";
    if (s_source_system)
        snprintf(source, sizeof source, "%s:%s", s_source_system, s_source_id);
    s_accept_event(event_id, lead_id, "lead", email, source, lead);
    long long rev = s_fetch_lead(lead, lead);
    Leadops__Lead pb = LEADOPS__LEAD__INIT;
    pb.lead_id = lead;
    pb.email = (char *)email;
    pb.company = (char *)company;
    pb.title = (char *)title;
    pb.industry = (char *)industry;
    pb.created_at_ms = at;
    pb.source_system = (char *)(s_source_system ? s_source_system : "");
    pb.source_id = (char *)(s_source_id ? s_source_id : "");
    s_source_system = s_source_id = NULL;
    json_t *reasons = json_array();
    double fit = rules_fit(s_cfg, &pb, reasons);
    char *reasons_text = json_dumps(reasons, JSON_COMPACT);
    json_decref(reasons);
    size_t size = leadops__lead__get_packed_size(&pb);
    uint8_t *bytes = malloc(size ? size : 1);
    leadops__lead__pack(&pb, bytes);
    char rev_text[32];
    snprintf(rev_text, sizeof rev_text, "%lld", rev);
    apply_event_t event = apply_fixture_event("lead", event_id, lead, 0);
    event.lead_pb = bytes;
    event.lead_pb_len = size;
    event.fit = fit;
    event.grade = rules_grade(s_cfg, fit);
    event.fit_rules = reasons_text;
    event.rev = rev_text;
    event.event_time_ms = at;
    assert_int_equal(s_apply(&event), 1);
    free(bytes);
    free(reasons_text);
}

/* An activity of TYPE for LEAD_ID through accept and apply, its points from
 * the config. */
static void s_activity(const char *lead_id, const char *type)
{
    char event_id[32], lead[64];
    snprintf(event_id, sizeof event_id, "e%d", ++s_seq);
    s_accept_event(event_id, lead_id, "activity", NULL, NULL, lead);
    s_fetch_lead(lead, lead);
    apply_event_t event = apply_fixture_event("activity", event_id, lead, 0);
    event.activity_type = type;
    assert_int_equal(s_apply(&event), 1);
}

/* routing.lua OP with ARGS (NULL-terminated); returns its first value. */
static long long s_routing_op(const char *op, ...)
{
    const char *argv[16] = {op, "t", "1000"};
    int argc = 3;
    va_list ap;
    va_start(ap, op);
    for (const char *arg = va_arg(ap, const char *); arg; arg = va_arg(ap, const char *))
        argv[argc++] = arg;
    va_end(ap);
    err_t err = {0};
    store_value_t *r = store_script(s_store, s_routing, 0, argc, argv, NULL, &err);
    assert_non_null(r);
    if (r->type == STORE_ERROR)
        fail_msg("routing.lua: %s", r->str);
    long long outcome = store_value_int(store_value_at(r, 0), -1);
    store_value_free(&r);
    return outcome;
}

static void s_rep(const char *rep, const char *capacity)
{
    assert_int_equal(s_routing_op("sync", rep, rep, capacity, "online", "q", (const char *)NULL),
                     1);
}

/* Routes LEAD (it must have qualified) to queue q, which takes leads from
 * the route stage on; returns 1 assigned, 2 queued. */
static long long s_route(const char *lead)
{
    /* score, stage ok, the queue's stage, no skills, no account domains */
    return s_routing_op("route", lead, "q", "rule", "50", "1",
                        s_cfg->stages[s_cfg->route_stage].name, "", "", (const char *)NULL);
}

/* Runs the merge, capturing what it prints into OUTPUT (caller frees). */
static int s_merge(const char *keep, const char *other, bool dry_run, char **output, err_t *err)
{
    size_t size;
    FILE *out = open_memstream(output, &size);
    assert_non_null(out);
    int rc = ctl_lead_merge_run(s_store, s_cfg, keep, other, dry_run, out, err);
    fclose(out);
    if (getenv("LEADOPS_TEST_VERBOSE")) /* to see what an operator sees */
        fprintf(stderr, "%s%s%s", *output, rc < 0 ? err->msg : "", rc < 0 ? "\n" : "");
    return rc;
}

/* The stored Lead of LEAD_ID (caller frees). */
static Leadops__Lead *s_stored_lead(const char *lead_id)
{
    char key[128];
    snprintf(key, sizeof key, "t:lead:%s", lead_id);
    store_value_t *r = CMD("HGET", key, "lead");
    assert_int_equal(r->type, STORE_STR);
    Leadops__Lead *lead = leadops__lead__unpack(NULL, r->len, (const uint8_t *)r->str);
    assert_non_null(lead);
    store_value_free(&r);
    return lead;
}

/* ENGAGEMENT stored at AT (ms), decayed to NOW (ms) as apply.lua decays it. */
static double s_decayed(double engagement, double at, double now)
{
    double half_life_ms = 1000.0 * s_cfg->scoring_half_life_s;
    return now > at ? engagement * exp2(-(now - at) / half_life_ms) : engagement;
}

/* The points of the fit reason for RULE in REASONS (rules_fit's JSON array),
 * whose condition must name FIELD; NAN when there is none. */
static double s_reason_points(const json_t *reasons, const char *rule, const char *field)
{
    size_t i;
    const json_t *reason;
    json_array_foreach(reasons, i, reason)
    {
        const char *name = json_string_value(json_object_get(reason, "rule"));
        const char *condition = json_string_value(json_object_get(reason, "condition"));
        if (name && strcmp(name, rule) == 0 && condition && strstr(condition, field))
            return json_number_value(json_object_get(reason, "points"));
    }
    return NAN;
}

/* ---- fixtures ----------------------------------------------------------- */

static int s_group_setup(void **state)
{
    (void)state;
    err_t err = {0};
    if (!(s_cfg = apply_fixture_sample_config()) || !(s_call = apply_fixture_call(s_cfg)) ||
        redis_fixture_start_store(&s_redis, &s_store) < 0)
        return -1;
    s_accept = store_script_register(s_store, "accept", ingest_script_accept, &err);
    s_apply_script = store_script_register(s_store, "apply", scoring_script_apply, &err);
    s_fetch = store_script_register(s_store, "fetch", scoring_script_fetch, &err);
    s_routing = store_script_register(s_store, "routing", routing_script_routing, &err);
    return s_accept < 0 || s_apply_script < 0 || s_fetch < 0 || s_routing < 0 ? -1 : 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    redis_fixture_stop_store(&s_redis, &s_store);
    apply_call_destroy(&s_call);
    config_destroy(&s_cfg);
    return 0;
}

static int s_flush(void **state)
{
    (void)state;
    store_value_t *r = CMD("FLUSHALL");
    store_value_free(&r);
    ctl_lead_merge_before_write = NULL;
    s_behind_ms = 0;
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_newer_values_win_and_activities_move(void **state)
{
    (void)state;
    char buf[256];
    /* A: older, a company but no title. B: newer, another company and a
     * senior title, different email (so ingest did not see a duplicate). */
    s_lead("A", "ann@acme.example", "Acme", "", "software", 1000);
    s_source_system = "crm";
    s_source_id = "42";
    s_lead("B", "ann.lee@acme.example", "Acme Corp", "cto", "", 2000);
    assert_string_equal(s_str(buf, sizeof buf, "GET", "t:identity:source:crm:42", NULL), "B");
    s_activity("A", "form_fill");
    s_activity("B", "demo_request");
    s_activity("B", "form_fill");
    double engagement_a = s_double("t:lead:A", "engagement");
    double engagement_b = s_double("t:lead:B", "engagement");
    double eng_at_a = s_double("t:lead:A", "eng_at"), eng_at_b = s_double("t:lead:B", "eng_at");
    long long rev_a = s_int("HGET", "t:lead:A", "rev");

    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    assert_non_null(strstr(output, "merged B into A"));
    assert_non_null(strstr(output, "company"));
    free(output);

    /* Newer non-empty values won; the older lead's only values stayed. */
    Leadops__Lead *lead = s_stored_lead("A");
    assert_string_equal(lead->lead_id, "A");
    assert_string_equal(lead->company, "Acme Corp");
    assert_string_equal(lead->title, "cto");
    assert_string_equal(lead->industry, "software");
    assert_string_equal(lead->email, "ann.lee@acme.example");
    double fit = rules_fit(s_cfg, lead, NULL);
    leadops__lead__free_unpacked(lead, NULL);
    /* Fit recomputed from the merged fields. */
    assert_true(s_double("t:lead:A", "fit") == fit);
    assert_true(fit == 30); /* software 15 + senior title 10 + a company 5 */
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "grade"),
                        rules_grade(s_cfg, fit));
    /* The reasons are the matched rules, each with its condition and points. */
    char reasons_text[4096];
    json_t *reasons = json_loads(
        s_str(reasons_text, sizeof reasons_text, "HGET", "t:lead:A", "reasons"), 0, NULL);
    assert_true(json_is_array(reasons));
    assert_int_equal(json_array_size(reasons), 3);
    assert_true(s_reason_points(reasons, "target industry", "industry") == 15);
    assert_true(s_reason_points(reasons, "senior title", "title") == 10);
    assert_true(s_reason_points(reasons, "any company", "company") == 5);
    json_decref(reasons);
    assert_int_equal(s_int("HGET", "t:lead:A", "rev"), rev_a + 1);
    assert_int_equal(s_int("HGET", "t:lead:A", "lead_time"), 2000);

    /* Counters added up, engagement each side's decayed to the merge (eng_at,
     * a few ms after the activities); score = fit + engagement. */
    double merged_at = s_double("t:lead:A", "eng_at");
    double engagement =
        s_decayed(engagement_a, eng_at_a, merged_at) + s_decayed(engagement_b, eng_at_b, merged_at);
    assert_true(fabs(engagement - 45) < 0.01); /* form_fill 10 + demo_request 25 + form_fill 10 */
    ASSERT_NEAR(s_double("t:lead:A", "engagement"), engagement, 1e-9);
    assert_int_equal(s_int("HGET", "t:lead:A", "activities"), 3);
    assert_int_equal(s_int("HGET", "t:lead:A", "act:form_fill"), 2);
    assert_int_equal(s_int("HGET", "t:lead:A", "act:demo_request"), 1);
    ASSERT_NEAR(s_double("t:lead:A", "score"), fit + engagement, 1e-9);

    /* History: the merge entry names what changed and where from. */
    store_value_t *h = CMD("LINDEX", "t:lead:A:history", "-1");
    json_t *entry = h->type == STORE_STR ? json_loads(h->str, 0, NULL) : NULL;
    json_t *title = json_object_get(json_object_get(entry, "changes"), "title");
    assert_string_equal(json_string_value(json_object_get(entry, "event_id")), "merge:B");
    assert_string_equal(json_string_value(json_object_get(entry, "merged_from")), "B");
    assert_string_equal(json_string_value(json_array_get(title, 0)), "");
    assert_string_equal(json_string_value(json_array_get(title, 1)), "cto");
    json_decref(entry);
    store_value_free(&h);

    /* B is gone; its id, email and the stats say where it went. */
    assert_int_equal(s_int("EXISTS", "t:lead:B", NULL), 0);
    assert_int_equal(s_int("ZSCORE", "t:leads", "B"), -1);
    assert_string_equal(s_str(buf, sizeof buf, "GET", "t:alias:B", NULL), "A");
    assert_string_equal(
        s_str(buf, sizeof buf, "GET", "t:identity:email:ann.lee@acme.example", NULL), "A");
    assert_string_equal(s_str(buf, sizeof buf, "GET", "t:identity:email:ann@acme.example", NULL),
                        "A");
    assert_string_equal(s_str(buf, sizeof buf, "GET", "t:identity:source:crm:42", NULL), "A");
    assert_int_equal(s_int("HGET", "t:stats", "merged_by_hand"), 1);

    /* Activities and leads for either id land on the one lead. */
    s_activity("B", "form_fill");
    assert_int_equal(s_int("HGET", "t:lead:A", "activities"), 4);
    assert_int_equal(s_int("EXISTS", "t:lead:B", NULL), 0);
    char lead_id[64];
    s_accept_event("again", "C", "lead", "ann.lee@acme.example", NULL, lead_id);
    assert_string_equal(lead_id, "A");

    /* Merging again: already done, nothing to do. */
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    assert_non_null(strstr(output, "already merged"));
    free(output);
}

static void test_dry_run_writes_nothing(void **state)
{
    (void)state;
    s_lead("A", "a@x.example", "Acme", "", "", 1000);
    s_lead("B", "b@x.example", "", "cto", "", 2000);
    s_activity("B", "demo_request");
    store_value_t *before = CMD("DBSIZE");
    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", true, &output, &err), 0);
    assert_non_null(strstr(output, "dry run"));
    assert_non_null(strstr(output, "title"));
    free(output);
    store_value_t *after = CMD("DBSIZE");
    assert_int_equal(before->integer, after->integer);
    store_value_free(&before);
    store_value_free(&after);
    assert_int_equal(s_int("EXISTS", "t:lead:B", NULL), 1);
    assert_int_equal(s_int("EXISTS", "t:alias:B", NULL), 0);
    assert_int_equal(s_int("HGET", "t:lead:A", "activities"), -1);
}

static void test_assigned_other_goes_on_with_keep(void **state)
{
    (void)state;
    char buf[64];
    s_rep("r1", "2");
    /* A: below the threshold, never routed. B: qualified, assigned to r1. */
    s_lead("A", "a@x.example", "Acme", "", "", 1000);
    s_lead("B", "b@x.example", "Acme", "cto", "software", 2000);
    assert_int_equal(s_route("B"), 1);
    assert_int_equal(s_int("HGET", "t:rep:r1", "open"), 1);

    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    assert_non_null(strstr(output, "takes B's assignment"));
    free(output);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "status"), "assigned");
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "rep"), "r1");
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "qualified"), "1");
    assert_int_equal(s_int("SISMEMBER", "t:rep:r1:leads", "A"), 1);
    assert_int_equal(s_int("SISMEMBER", "t:rep:r1:leads", "B"), 0);
    /* One lead out, one in: open unchanged, within capacity. */
    assert_int_equal(s_int("HGET", "t:rep:r1", "open"), 1);
    assert_int_equal(s_int("SCARD", "t:rep:r1:leads", NULL), 1);
    assert_true(s_int("HGET", "t:rep:r1", "open") <= s_int("HGET", "t:rep:r1", "capacity"));
    /* Closing it through routing works on the kept lead. */
    assert_int_equal(s_routing_op("close", "r1", "A", "won", "1", (const char *)NULL), 1);
    assert_int_equal(s_int("HGET", "t:rep:r1", "open"), 0);
}

static void test_both_assigned_releases_other_rep(void **state)
{
    (void)state;
    char buf[64];
    s_rep("r1", "1");
    s_rep("r2", "1");
    s_lead("A", "a@x.example", "Acme", "cto", "software", 1000);
    s_lead("B", "b@x.example", "Acme", "ceo", "software", 2000);
    assert_int_equal(s_route("A"), 1);
    assert_int_equal(s_route("B"), 1);
    char rep_a[64], rep_b[64], key_b[128], leads_b[128];
    s_str(rep_a, sizeof rep_a, "HGET", "t:lead:A", "rep");
    s_str(rep_b, sizeof rep_b, "HGET", "t:lead:B", "rep");
    assert_string_not_equal(rep_a, rep_b);
    snprintf(key_b, sizeof key_b, "t:rep:%s", rep_b);
    snprintf(leads_b, sizeof leads_b, "t:rep:%s:leads", rep_b);

    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    assert_non_null(strstr(output, "released B"));
    free(output);
    /* A stays with its rep; B's rep is free again. */
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "rep"), rep_a);
    assert_int_equal(s_int("HGET", key_b, "open"), 0);
    assert_int_equal(s_int("SCARD", leads_b, NULL), 0);
    Leadops__Lead *lead = s_stored_lead("A");
    assert_string_equal(lead->title, "ceo");
    leadops__lead__free_unpacked(lead, NULL);
}

static void test_queued_other_leaves_the_waiting_list(void **state)
{
    (void)state;
    char buf[64];
    s_rep("r1", "1");
    s_lead("A", "a@x.example", "Acme", "cto", "software", 1000);
    s_lead("B", "b@x.example", "Acme", "ceo", "software", 2000);
    assert_int_equal(s_route("A"), 1);
    assert_int_equal(s_route("B"), 2);
    assert_int_equal(s_int("ZCARD", "t:queue:q:waiting", NULL), 1);

    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    free(output);
    assert_int_equal(s_int("ZCARD", "t:queue:q:waiting", NULL), 0);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "status"), "assigned");
    assert_int_equal(s_int("HGET", "t:rep:r1", "open"), 1);
}

static void test_queued_other_place_taken_by_unrouted_keep(void **state)
{
    (void)state;
    char buf[64];
    s_rep("r1", "1");
    s_lead("C", "c@x.example", "Acme", "cto", "software", 500);
    assert_int_equal(s_route("C"), 1); /* r1 is full */
    s_lead("A", "a@x.example", "Acme", "", "", 1000);
    s_lead("B", "b@x.example", "Acme", "ceo", "software", 2000);
    assert_int_equal(s_route("B"), 2);
    store_value_t *r = CMD("ZSCORE", "t:queue:q:waiting", "B");
    char priority[64];
    snprintf(priority, sizeof priority, "%s", r->str);
    store_value_free(&r);

    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    free(output);
    /* A waits in B's place, with B's priority: it does not lose its turn. */
    r = CMD("ZSCORE", "t:queue:q:waiting", "A");
    assert_string_equal(r->str, priority);
    store_value_free(&r);
    assert_int_equal(s_int("ZSCORE", "t:queue:q:waiting", "B"), -1);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "status"), "queued");
    /* When r1 is free again, it pulls A. */
    assert_int_equal(s_routing_op("close", "r1", "C", "won", "1", (const char *)NULL), 1);
    assert_string_equal(s_str(buf, sizeof buf, "HGET", "t:lead:A", "rep"), "r1");
}

/* Between the read and the write: a lead event for KEEP lands (rev + 1). */
static void s_bump_rev(void *arg)
{
    store_value_t *r = CMD("HINCRBY", (const char *)arg, "rev", "1");
    store_value_free(&r);
}

static void test_concurrent_change_is_refused(void **state)
{
    (void)state;
    s_lead("A", "a@x.example", "Acme", "", "", 1000);
    s_lead("B", "b@x.example", "", "cto", "", 2000);
    s_activity("B", "demo_request");
    ctl_lead_merge_before_write = s_bump_rev;
    ctl_lead_merge_before_write_arg = (void *)"t:lead:A";
    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", false, &output, &err), -1);
    free(output);
    assert_int_equal(err.code, ERR_BUSY);
    assert_non_null(strstr(err.msg, "Run the command again"));
    /* Nothing was written. */
    assert_int_equal(s_int("EXISTS", "t:lead:B", NULL), 1);
    assert_int_equal(s_int("EXISTS", "t:alias:B", NULL), 0);
    assert_int_equal(s_int("HGET", "t:lead:A", "activities"), -1);
    /* The same for a change to OTHER. */
    ctl_lead_merge_before_write_arg = (void *)"t:lead:B";
    assert_int_equal(s_merge("A", "B", false, &output, &err), -1);
    free(output);
    assert_int_equal(err.code, ERR_BUSY);
    /* Run again without interference: done. */
    ctl_lead_merge_before_write = NULL;
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    free(output);
    assert_int_equal(s_int("HGET", "t:lead:A", "activities"), 1);
    /* B was on its way to routing (qualified by its demo request): A goes instead. */
    assert_int_not_equal(s_int("ZSCORE", "t:inflight:routing", "A"), -1);
    assert_int_equal(s_int("ZSCORE", "t:inflight:routing", "B"), -1);
}

/* A merge adds each side's engagement decayed to now: OTHER's activity two
 * half-lives ago counts a quarter. KEEP is then due for a restage, which
 * puts it in the stage its merged score earns. */
static void test_merge_decays_engagement_to_now(void **state)
{
    (void)state;
    long long half_life_ms = 1000LL * s_cfg->scoring_half_life_s;
    assert_true(half_life_ms > 0);
    s_lead("A", "a@x.example", "Acme", "", "", 1000);
    /* B and its demo request came two half-lives ago. */
    s_behind_ms = 2 * half_life_ms;
    s_lead("B", "b@x.example", "", "", "", 2000);
    s_activity("B", "demo_request");
    s_behind_ms = 0;
    assert_true(s_double("t:lead:B", "engagement") == 25);
    double eng_at_b = s_double("t:lead:B", "eng_at");
    assert_int_equal(s_int("HEXISTS", "t:lead:A", "engagement"), 0); /* A has no activities */

    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "B", false, &output, &err), 0);
    free(output);
    double merged_at = s_double("t:lead:A", "eng_at");
    assert_true(merged_at >= eng_at_b + 2 * half_life_ms);
    double engagement = s_decayed(25, eng_at_b, merged_at);
    assert_true(fabs(engagement - 6.25) < 0.001); /* 25 / 4 */
    ASSERT_NEAR(s_double("t:lead:A", "engagement"), engagement, 1e-9);
    double fit = s_double("t:lead:A", "fit");
    assert_true(fit == 5); /* a company */
    ASSERT_NEAR(s_double("t:lead:A", "score"), fit + engagement, 1e-9);
    /* B's activity explains A's engagement now. */
    assert_int_equal(s_int("LLEN", "t:lead:A:acts", NULL), 1);
    assert_int_equal(s_int("EXISTS", "t:lead:B:acts", NULL), 0);

    /* Due now: scoring's restage sets A's stage from 11.25, below the
     * route stage's exit. */
    long long due = s_int("ZSCORE", "t:stage_due", "A");
    assert_true(due > 0 && due <= clock_now_ms());
    apply_event_t event = apply_fixture_event("restage", NULL, "A", clock_now_ms());
    apply_reply_t reply;
    assert_int_equal(apply_fixture_run(s_store, s_apply_script, s_call, &event, &reply), 1);
    assert_true(reply.score < s_cfg->stages[s_cfg->route_stage].exit);
    ASSERT_NEAR(reply.score, fit + engagement, 0.001);
    assert_string_equal(reply.stage, s_cfg->stages[0].name);
    assert_int_equal(s_int("ZSCORE", "t:stage_due", "A"), -1);
}

static void test_bad_input_says_what_to_do(void **state)
{
    (void)state;
    s_lead("A", "a@x.example", "Acme", "", "", 1000);
    s_activity("X", "form_fill"); /* an orphan activity: no lead event yet */
    char *output = NULL;
    err_t err = {0};
    assert_int_equal(s_merge("A", "nope", false, &output, &err), -1);
    free(output);
    assert_int_equal(err.code, ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, "leadopsctl lead nope"));
    assert_int_equal(s_merge("A", "X", false, &output, &err), -1);
    free(output);
    assert_non_null(strstr(err.msg, "no lead event"));
    assert_int_equal(s_merge("A", "A", false, &output, &err), -1);
    free(output);
    assert_int_equal(err.code, ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_newer_values_win_and_activities_move, s_flush),
        cmocka_unit_test_setup(test_dry_run_writes_nothing, s_flush),
        cmocka_unit_test_setup(test_assigned_other_goes_on_with_keep, s_flush),
        cmocka_unit_test_setup(test_both_assigned_releases_other_rep, s_flush),
        cmocka_unit_test_setup(test_queued_other_leaves_the_waiting_list, s_flush),
        cmocka_unit_test_setup(test_queued_other_place_taken_by_unrouted_keep, s_flush),
        cmocka_unit_test_setup(test_concurrent_change_is_refused, s_flush),
        cmocka_unit_test_setup(test_merge_decays_engagement_to_now, s_flush),
        cmocka_unit_test_setup(test_bad_input_says_what_to_do, s_flush),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
