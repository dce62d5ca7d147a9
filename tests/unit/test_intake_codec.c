/* Normalization, validation, rules and the JSON and envelope codecs: what
 * ingest does to every input before anything touches Redis. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "envelope.h"
#include "json_codec.h"
#include "lead.h"
#include "rule.h"

static Leadops__Lead *s_lead(const char *json)
{
    json_error_t jerr;
    json_t *obj = json_loads(json, 0, &jerr);
    assert_non_null(obj);
    err_t err = {0};
    Leadops__Lead *lead = json_to_lead(obj, &err);
    json_decref(obj);
    return lead;
}

static void test_normalize_derives_domain_and_cases(void **state)
{
    (void)state;
    Leadops__Lead *lead =
        s_lead("{\"lead_id\":\" L-1 \",\"email\":\" Anna.Smith@WWW.Example.COM \","
               "\"country\":\"de\",\"industry\":\"Software\"}");
    assert_non_null(lead);
    lead_normalize(lead);
    assert_string_equal(lead->lead_id, "L-1");
    assert_string_equal(lead->email, "anna.smith@www.example.com");
    assert_string_equal(lead->domain, "example.com");
    assert_string_equal(lead->country, "DE");
    assert_string_equal(lead->industry, "software");
    err_t err = {0};
    assert_int_equal(lead_validate(lead, &err), 0);
    leadops__lead__free_unpacked(lead, NULL);
}

static void test_validate_names_the_problem(void **state)
{
    (void)state;
    struct {
        const char *json, *reason;
    } cases[] = {
        {"{\"email\":\"a@b.co\"}", "lead_id is required"},
        {"{\"lead_id\":\"x\"}", "a lead needs an identity"},
        {"{\"lead_id\":\"x\",\"source_id\":\"42\"}", "a lead needs an identity"},
        {"{\"lead_id\":\"x\",\"email\":\"not-an-email\"}", "email is not a valid address"},
        {"{\"lead_id\":\"x\",\"company\":\"Acme\",\"country\":\"Germany\"}", "country must be"},
        {"{\"lead_id\":\"has space\",\"company\":\"Acme\"}", "lead_id is required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Leadops__Lead *lead = s_lead(cases[i].json);
        assert_non_null(lead);
        lead_normalize(lead);
        err_t err = {0};
        assert_int_equal(lead_validate(lead, &err), -1);
        assert_int_equal(err.code, ERR_INPUT);
        assert_non_null(strstr(err.msg, cases[i].reason));
        leadops__lead__free_unpacked(lead, NULL);
    }
}

static void test_json_types_are_checked(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *obj = json_loads("{\"lead_id\":\"x\",\"company_size\":\"big\"}", 0, &jerr);
    err_t err = {0};
    assert_null(json_to_lead(obj, &err));
    assert_non_null(strstr(err.msg, "company_size: expected a number"));
    json_decref(obj);

    obj = json_loads("{\"lead_id\":\"x\",\"company\":\"A\",\"utm\":\"spring\",\"nested\":{}}", 0,
                     &jerr);
    assert_null(json_to_lead(obj, &err));
    assert_non_null(strstr(err.msg, "nested"));
    json_decref(obj);

    obj = json_loads("{\"lead_id\":\"x\",\"company\":\"A\",\"utm\":\"spring\","
                     "\"created_at\":\"2024-05-01T12:00:00Z\"}",
                     0, &jerr);
    Leadops__Lead *lead = json_to_lead(obj, &err);
    assert_non_null(lead);
    assert_int_equal(lead->n_attributes, 1);
    assert_string_equal(lead->attributes[0]->key, "utm");
    assert_int_equal(lead->created_at_ms, 1714564800000LL);
    leadops__lead__free_unpacked(lead, NULL);
    json_decref(obj);

    obj = json_loads("{\"lead_id\":\"x\",\"type\":\"page_view\",\"color\":\"red\"}", 0, &jerr);
    assert_null(json_to_activity(obj, &err));
    assert_non_null(strstr(err.msg, "unknown activity field 'color'"));
    json_decref(obj);
}

static void test_time_parsing(void **state)
{
    (void)state;
    assert_int_equal(json_parse_time("2024-05-01"), 1714521600000LL);
    assert_int_equal(json_parse_time("2024-05-01 12:00:00"), 1714564800000LL);
    assert_int_equal(json_parse_time("2024-05-01T14:00:00+02:00"), 1714564800000LL);
    assert_int_equal(json_parse_time("2024-05-01T12:00:00.250Z"), 1714564800250LL);
    assert_int_equal(json_parse_time("yesterday"), -1);
    assert_int_equal(json_parse_time("2024-13-01"), -1);
    /* Found by fuzzing: short offsets, exponent fractions, signs inside fields. */
    assert_int_equal(json_parse_time("2024-05-01T12:00:00.125+0:3"), -1);
    assert_int_equal(json_parse_time("1900-01-01T00:00:00.5e300Z"), -1);
    assert_int_equal(json_parse_time("2024-05-01T-1:-1:-1Z"), -1);
    assert_int_equal(json_parse_time("2024-05-01T12:00:00+25:00"), -1);
    assert_int_equal(json_parse_time("1969-12-31T23:59:59Z"), -1);
}

static void test_conditions(void **state)
{
    (void)state;
    Leadops__Lead *lead =
        s_lead("{\"lead_id\":\"x\",\"company\":\"A\",\"title\":\"VP Sales EMEA\","
               "\"company_size\":250,\"country\":\"DE\",\"attributes\":{\"tier\":\"gold\"}}");
    char *in_values[] = {"fr", "de"};
    cond_t in = {.field = "country", .op = COND_IN, .values = in_values, .value_count = 2};
    assert_true(cond_matches(&in, lead));
    cond_t range = {.field = "company_size", .op = COND_RANGE, .min = 50, .max = 500};
    assert_true(cond_matches(&range, lead));
    range.min = 300;
    assert_false(cond_matches(&range, lead));
    char *prefix_values[] = {"vp "};
    cond_t prefix = {
        .field = "title", .op = COND_PREFIX, .values = prefix_values, .value_count = 1};
    assert_true(cond_matches(&prefix, lead));
    cond_t exists = {.field = "industry", .op = COND_EXISTS};
    assert_false(cond_matches(&exists, lead));
    char *gold[] = {"gold"};
    cond_t attr = {.field = "attributes.tier", .op = COND_EQUALS, .values = gold, .value_count = 1};
    assert_true(cond_matches(&attr, lead));
    leadops__lead__free_unpacked(lead, NULL);
}

static void test_envelope_round_trip_and_garbage(void **state)
{
    (void)state;
    Leadops__Lead lead = LEADOPS__LEAD__INIT;
    lead.lead_id = "L-9";
    lead.company = "Acme";
    size_t len;
    err_t err = {0};
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, "ev-1", "test", 5, 0,
                                   &lead.base, &len, &err);
    assert_non_null(bytes);
    Leadops__Envelope *env = envelope_decode(bytes, len, &err);
    assert_non_null(env);
    assert_string_equal(env->event_id, "ev-1");
    Leadops__Lead *back = envelope_lead(env, &err);
    assert_non_null(back);
    assert_string_equal(back->company, "Acme");
    assert_null(envelope_activity(env, &err));
    leadops__lead__free_unpacked(back, NULL);
    leadops__envelope__free_unpacked(env, NULL);
    free(bytes);

    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    assert_null(envelope_decode(garbage, sizeof garbage, &err));
    assert_int_equal(err.code, ERR_INPUT);

    Leadops__Envelope no_id = LEADOPS__ENVELOPE__INIT;
    no_id.type = LEADOPS__EVENT_TYPE__EVENT_LEAD;
    no_id.schema_version = 1;
    bytes = envelope_pack_raw(&no_id, &len, &err);
    assert_null(envelope_decode(bytes, len, &err));
    assert_non_null(strstr(err.msg, "event_id"));
    free(bytes);

    Leadops__Envelope unknown = LEADOPS__ENVELOPE__INIT;
    unknown.event_id = "e";
    unknown.type = 99;
    unknown.schema_version = 1;
    bytes = envelope_pack_raw(&unknown, &len, &err);
    assert_null(envelope_decode(bytes, len, &err));
    assert_non_null(strstr(err.msg, "unknown event type"));
    free(bytes);
}

/* Event ids: 32 lower-case hex chars, never the same twice, whether from
 * one thread, two threads or a forked child. */
#define ID_COUNT 20000

static int s_compare_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void *s_make_ids(void *out)
{
    for (int i = 0; i < ID_COUNT; i++)
        envelope_new_id((char *)out + 33 * i);
    return NULL;
}

static void test_event_ids_are_unique(void **state)
{
    (void)state;
    /* This thread, another thread, a child forked after both started and
     * this thread again after the fork. */
    char *ids = calloc(4 * ID_COUNT, 33);
    assert_non_null(ids);
    s_make_ids(ids);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_make_ids, ids + 33 * ID_COUNT), 0);
    pthread_join(thread, NULL);
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[33];
        for (int i = 0; i < ID_COUNT; i++) {
            envelope_new_id(id);
            if (write(pipe_fds[1], id, 33) != 33)
                _exit(1);
        }
        _exit(0);
    }
    close(pipe_fds[1]);
    s_make_ids(ids + 33 * 3 * ID_COUNT);
    size_t got = 0;
    for (ssize_t n; got < 33 * ID_COUNT && (n = read(pipe_fds[0], ids + 33 * 2 * ID_COUNT + got,
                                                     33 * ID_COUNT - got)) > 0;)
        got += (size_t)n;
    close(pipe_fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(got, 33 * ID_COUNT);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < 4 * ID_COUNT; i++) {
        const char *id = ids + 33 * i;
        assert_int_equal(strlen(id), 32);
        assert_int_equal(strspn(id, "0123456789abcdef"), 32);
        assert_true(envelope_id_is_valid(id));
    }
    qsort(ids, 4 * ID_COUNT, 33, s_compare_ids);
    for (int i = 1; i < 4 * ID_COUNT; i++)
        assert_string_not_equal(ids + 33 * (i - 1), ids + 33 * i);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_derives_domain_and_cases),
        cmocka_unit_test(test_validate_names_the_problem),
        cmocka_unit_test(test_json_types_are_checked),
        cmocka_unit_test(test_time_parsing),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_envelope_round_trip_and_garbage),
        cmocka_unit_test(test_event_ids_are_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
