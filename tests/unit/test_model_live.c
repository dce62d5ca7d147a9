/* test_model_live.c — the scoring service's live model on real files in a
 * temporary directory: predictions read through the mapping with
 * explanations that add up to the logit, mappings that do not fit refused
 * with the column named, and reloads: a good new file replaces the model, a
 * bad one (not JSON, a newer version, columns that do not fit, a deleted
 * file) is refused once and the old model keeps scoring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "model_live.h"

#define ROWS 60

static const char *const s_columns[] = {"Lead Source", "Country", "Total Visits"};
static const char *const s_fields[] = {"source", "country", "attributes.total_visits"};
#define PAIRS 3

typedef struct {
    char dir[64];
    char path[96];     /* DIR/model.json */
    char tmp_path[96]; /* DIR/model.json.tmp, renamed over PATH */
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_model_live_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/model.json", fx->dir);
    snprintf(fx->tmp_path, sizeof fx->tmp_path, "%s/model.json.tmp", fx->dir);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    unlink(fx->path);
    unlink(fx->tmp_path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* A model over the named columns (any of "Lead Source", "Country", "Total
 * Visits", "Industry") learned from ROWS synthetic rows: two or three levels
 * of 20+ rows each, and a numeric column of 20 distinct values. Weight i is
 * SCALE * +-(0.1 + 0.07 i), so no two contributions tie in size. */
static model_t *s_model(const char *const *names, size_t count, double scale, double intercept)
{
    static const char *const sources[] = {"web_form", "paid_search", "organic_search"};
    static const char *const countries[] = {"US", "DE"};
    static const char *const industries[] = {"software", "retail"};
    static char visits[ROWS][8];
    const char **cells = calloc(ROWS * count, sizeof *cells);
    for (size_t r = 0; r < ROWS; r++) {
        snprintf(visits[r], sizeof visits[r], "%zu", r % 20);
        for (size_t c = 0; c < count; c++) {
            const char **cell = &cells[r * count + c];
            if (strcmp(names[c], "Lead Source") == 0)
                *cell = sources[r % 3];
            else if (strcmp(names[c], "Country") == 0)
                *cell = countries[r % 2];
            else if (strcmp(names[c], "Industry") == 0)
                *cell = industries[r % 2];
            else
                *cell = visits[r];
        }
    }
    err_t err = {0};
    model_t *model = model_new_from_rows(names, count, cells, ROWS, &err);
    free(cells);
    assert_non_null(model);
    size_t features = model_feature_count(model);
    double *weights = malloc(features * sizeof *weights);
    for (size_t i = 0; i < features; i++)
        weights[i] = scale * (i % 2 ? -1 : 1) * (0.1 + 0.07 * (double)i);
    model_set_weights(model, intercept, weights);
    free(weights);
    return model;
}

/* Saves MODEL to the fixture's file the way a deploy should: a new file
 * renamed over the old one (a new inode, so a poll sees it whatever the
 * mtime granularity). */
static void s_install(const s_fixture_t *fx, const model_t *model)
{
    err_t err = {0};
    assert_int_equal(model_save(model, fx->tmp_path, &err), 0);
    assert_int_equal(rename(fx->tmp_path, fx->path), 0);
}

static void s_install_text(const s_fixture_t *fx, const char *text)
{
    FILE *file = fopen(fx->tmp_path, "w");
    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(rename(fx->tmp_path, fx->path), 0);
}

/* Rewrites the file in place (same inode) and sets its mtime to a time it
 * never had, so the change is seen even within one mtime tick. */
static void s_rewrite_in_place(const s_fixture_t *fx, const char *text)
{
    FILE *file = fopen(fx->path, "w");
    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
    const struct timespec times[2] = {{1000000000, 123}, {1000000000, 123}};
    assert_int_equal(utimensat(AT_FDCWD, fx->path, times, 0), 0);
}

static void s_expect_message(const err_t *err, const char *part)
{
    if (!strstr(err->msg, part))
        fail_msg("error '%s' lacks '%s'", err->msg, part);
}

/* A lead whose mapped fields are SOURCE, COUNTRY and attributes.total_visits
 * = VISITS; the strings stay the caller's. */
typedef struct {
    Leadops__Lead lead;
    Leadops__Lead__AttributesEntry visits;
    Leadops__Lead__AttributesEntry *attributes[1];
} s_lead_t;

static void s_lead_init(s_lead_t *lead, const char *source, const char *country, const char *visits)
{
    leadops__lead__init(&lead->lead);
    leadops__lead__attributes_entry__init(&lead->visits);
    lead->lead.lead_id = (char *)"lead-1";
    lead->lead.source = (char *)source;
    lead->lead.country = (char *)country;
    lead->visits.key = (char *)"total_visits";
    lead->visits.value = (char *)visits;
    lead->attributes[0] = &lead->visits;
    lead->lead.attributes = lead->attributes;
    lead->lead.n_attributes = 1;
}

/* What MODEL itself says about the lead (SOURCE, COUNTRY, VISITS). */
static double s_expected(const model_t *model, const char *source, const char *country,
                         const char *visits, double *contributions)
{
    const char *values[] = {source, country, visits};
    return model_predict(model, s_columns, values, PAIRS, contributions);
}

static model_live_t *s_live_new(const s_fixture_t *fx)
{
    err_t err = {0};
    model_live_t *live = model_live_new(fx->path, s_columns, s_fields, PAIRS, &err);
    if (!live)
        fail_msg("model_live_new: %s", err.msg);
    return live;
}

static void test_predict_with_contributions(void **state)
{
    s_fixture_t *fx = *state;
    model_t *model = s_model(s_columns, PAIRS, 1, -0.3);
    s_install(fx, model);
    model_live_t *live = s_live_new(fx);
    char description[128];
    snprintf(description, sizeof description, "model.json (%zu features, 3 columns)",
             model_feature_count(model));
    assert_string_equal(model_live_describe(live), description);

    s_lead_t lead;
    s_lead_init(&lead, "paid_search", "DE", "7");
    json_t *top = json_array();
    double logit = NAN;
    double p = model_live_predict(live, &lead.lead, top, 1000, &logit);
    double *contributions = malloc(model_feature_count(model) * sizeof *contributions);
    assert_float_equal(p, s_expected(model, "paid_search", "DE", "7", contributions), 1e-12);
    assert_float_equal(model_sigmoid(logit), p, 1e-15);

    /* Every non-zero contribution is listed, largest first, and with the
     * intercept they add up to the logit. */
    size_t nonzero = 0;
    for (size_t i = 0; i < model_feature_count(model); i++)
        nonzero += contributions[i] != 0;
    assert_int_equal(json_array_size(top), nonzero);
    double sum = model_intercept(model), previous = INFINITY;
    bool saw_source = false, saw_country = false;
    size_t i;
    json_t *entry;
    json_array_foreach(top, i, entry)
    {
        double contribution = json_real_value(json_object_get(entry, "contribution"));
        const char *feature = json_string_value(json_object_get(entry, "feature"));
        assert_non_null(feature);
        assert_true(contribution != 0);
        assert_true(fabs(contribution) <= previous);
        previous = fabs(contribution);
        sum += contribution;
        saw_source |= strcmp(feature, "Lead Source=paid_search") == 0;
        saw_country |= strcmp(feature, "Country=DE") == 0;
    }
    assert_true(saw_source && saw_country);
    assert_float_equal(sum, logit, 1e-12);

    /* Empty fields are missing, not an unknown level. */
    s_lead_init(&lead, "", NULL, "");
    json_array_clear(top);
    p = model_live_predict(live, &lead.lead, top, 1000, NULL);
    assert_float_equal(p, s_expected(model, NULL, NULL, NULL, NULL), 1e-12);
    bool saw_missing = false;
    json_array_foreach(top, i, entry)
    {
        saw_missing |= strcmp(json_string_value(json_object_get(entry, "feature")),
                              "Lead Source:missing") == 0;
    }
    assert_true(saw_missing);

    json_decref(top);
    free(contributions);
    model_destroy(&model);
    model_live_destroy(&live);
    model_live_destroy(&live); /* idempotent */
}

static void test_top_n_ordering(void **state)
{
    s_fixture_t *fx = *state;
    model_t *model = s_model(s_columns, PAIRS, 1, 0.2);
    s_install(fx, model);
    model_live_t *live = s_live_new(fx);
    s_lead_t lead;
    s_lead_init(&lead, "organic_search", "US", "15");
    json_t *all = json_array(), *two = json_array(), *none = json_array();
    double p_all = model_live_predict(live, &lead.lead, all, 1000, NULL);
    double p_two = model_live_predict(live, &lead.lead, two, 2, NULL);
    double p_none = model_live_predict(live, &lead.lead, none, 0, NULL);
    assert_true(p_all == p_two && p_two == p_none);
    assert_true(json_array_size(all) > 2);
    assert_int_equal(json_array_size(two), 2);
    assert_int_equal(json_array_size(none), 0);
    /* The two are the two largest of all, in order. */
    for (size_t k = 0; k < 2; k++)
        assert_true(json_equal(json_array_get(two, k), json_array_get(all, k)));
    double first = fabs(json_real_value(json_object_get(json_array_get(two, 0), "contribution")));
    double second = fabs(json_real_value(json_object_get(json_array_get(two, 1), "contribution")));
    assert_true(first > second);
    for (size_t k = 2; k < json_array_size(all); k++)
        assert_true(fabs(json_real_value(json_object_get(json_array_get(all, k), "contribution"))) <
                    second);
    json_decref(all);
    json_decref(two);
    json_decref(none);
    model_destroy(&model);
    model_live_destroy(&live);
}

/* A number field of the Lead message reads as its number, and 0 as missing. */
static void test_numeric_lead_field(void **state)
{
    s_fixture_t *fx = *state;
    model_t *model = s_model(s_columns, PAIRS, 1, 0.1);
    s_install(fx, model);
    const char *const fields[] = {"source", "country", "company_size"};
    err_t err = {0};
    model_live_t *live = model_live_new(fx->path, s_columns, fields, PAIRS, &err);
    assert_non_null(live);
    s_lead_t lead;
    s_lead_init(&lead, "web_form", "US", "ignored");
    lead.lead.company_size = 12;
    assert_float_equal(model_live_predict(live, &lead.lead, NULL, 0, NULL),
                       s_expected(model, "web_form", "US", "12", NULL), 1e-12);
    lead.lead.company_size = 0;
    assert_float_equal(model_live_predict(live, &lead.lead, NULL, 0, NULL),
                       s_expected(model, "web_form", "US", NULL, NULL), 1e-12);
    model_destroy(&model);
    model_live_destroy(&live);
}

/* Expects model_live_new to refuse the mapping with every part in the message. */
static void s_expect_refused(const s_fixture_t *fx, const char *const *columns,
                             const char *const *fields, size_t count, err_code_t code,
                             const char *part, const char *other_part)
{
    err_t err = {0};
    assert_null(model_live_new(fx->path, columns, fields, count, &err));
    assert_int_equal(err.code, code);
    s_expect_message(&err, part);
    s_expect_message(&err, other_part);
}

static void test_mapping_errors(void **state)
{
    s_fixture_t *fx = *state;
    model_t *model = s_model(s_columns, PAIRS, 1, 0);
    s_install(fx, model);
    const char *const no_country[] = {"Lead Source", "Total Visits"};
    const char *const no_country_fields[] = {"source", "attributes.total_visits"};
    s_expect_refused(fx, no_country, no_country_fields, 2, ERR_INPUT,
                     "model.json: column \"Country\" of the model has no mapping", "mapping");
    const char *const extra[] = {"Lead Source", "Country", "Total Visits", "Foo"};
    const char *const extra_fields[] = {"source", "country", "attributes.total_visits", "title"};
    s_expect_refused(fx, extra, extra_fields, 4, ERR_INPUT, "model.json",
                     "names column \"Foo\" the model does not have");
    const char *const bad_field[] = {"source", "nation", "attributes.total_visits"};
    s_expect_refused(fx, s_columns, bad_field, PAIRS, ERR_INPUT, "column \"Country\"",
                     "\"nation\", which is not a lead field");
    const char *const twice[] = {"Lead Source", "Country", "Total Visits", "Country"};
    const char *const twice_fields[] = {"source", "country", "attributes.total_visits", "region"};
    s_expect_refused(fx, twice, twice_fields, 4, ERR_INPUT, "column \"Country\"", "twice");
    unlink(fx->path);
    s_expect_refused(fx, s_columns, s_fields, PAIRS, ERR_IO, "model.json", "No such file");
    model_destroy(&model);
}

/* Polls once expecting -1 with PART in the message, then 0 for the same
 * file, with the model still scoring LEAD as EXPECTED. */
static void s_expect_reload_refused(model_live_t *live, const Leadops__Lead *lead, double expected,
                                    const char *part)
{
    err_t err = {0};
    assert_int_equal(model_live_poll(live, &err), -1);
    s_expect_message(&err, "model.json");
    s_expect_message(&err, part);
    assert_true(model_live_predict(live, lead, NULL, 0, NULL) == expected);
    err_clear(&err);
    assert_int_equal(model_live_poll(live, &err), 0);
    assert_int_equal(err.code, ERR_NONE);
    assert_true(model_live_predict(live, lead, NULL, 0, NULL) == expected);
}

static void test_reload(void **state)
{
    s_fixture_t *fx = *state;
    model_t *first = s_model(s_columns, PAIRS, 1, -0.3);
    model_t *second = s_model(s_columns, PAIRS, -2, 0.5);
    s_install(fx, first);
    model_live_t *live = s_live_new(fx);
    s_lead_t lead;
    s_lead_init(&lead, "paid_search", "DE", "7");
    double p_first = model_live_predict(live, &lead.lead, NULL, 0, NULL);
    assert_float_equal(p_first, s_expected(first, "paid_search", "DE", "7", NULL), 1e-12);
    err_t err = {0};
    assert_int_equal(model_live_poll(live, &err), 0);

    s_install(fx, second);
    assert_int_equal(model_live_poll(live, &err), 1);
    double p_second = model_live_predict(live, &lead.lead, NULL, 0, NULL);
    assert_true(fabs(p_second - p_first) > 0.01);
    assert_float_equal(p_second, s_expected(second, "paid_search", "DE", "7", NULL), 1e-12);
    assert_int_equal(model_live_poll(live, &err), 0);

    s_rewrite_in_place(fx, "this is not JSON {");
    s_expect_reload_refused(live, &lead.lead, p_second, "line 1");
    s_install_text(fx, "{\"version\": 999, \"kind\": \"logistic_regression\", \"intercept\": 0,"
                       " \"columns\": []}");
    s_expect_reload_refused(live, &lead.lead, p_second, "version 999");
    const char *const with_industry[] = {"Lead Source", "Country", "Total Visits", "Industry"};
    model_t *unmapped = s_model(with_industry, 4, 1, 0);
    s_install(fx, unmapped);
    s_expect_reload_refused(live, &lead.lead, p_second, "column \"Industry\" of the model");
    model_t *lacking = s_model(s_columns, 2, 1, 0);
    s_install(fx, lacking);
    s_expect_reload_refused(live, &lead.lead, p_second,
                            "names column \"Total Visits\" the model does not have");

    /* A good file after bad ones is taken. */
    s_install(fx, first);
    assert_int_equal(model_live_poll(live, &err), 1);
    assert_true(model_live_predict(live, &lead.lead, NULL, 0, NULL) == p_first);

    /* A deleted file is reported once; the model stays until a file is back. */
    assert_int_equal(unlink(fx->path), 0);
    assert_int_equal(model_live_poll(live, &err), -1);
    assert_int_equal(err.code, ERR_IO);
    s_expect_message(&err, "model.json: the file is gone");
    assert_int_equal(model_live_poll(live, &err), 0);
    assert_int_equal(model_live_poll(live, &err), 0);
    assert_true(model_live_predict(live, &lead.lead, NULL, 0, NULL) == p_first);
    s_install(fx, second);
    assert_int_equal(model_live_poll(live, &err), 1);
    assert_true(model_live_predict(live, &lead.lead, NULL, 0, NULL) == p_second);

    model_destroy(&first);
    model_destroy(&second);
    model_destroy(&unmapped);
    model_destroy(&lacking);
    model_live_destroy(&live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_predict_with_contributions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_top_n_ordering, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_numeric_lead_field, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_mapping_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reload, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
