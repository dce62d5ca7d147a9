/* test_model.c — the scoring model and its fit: metrics on hand-computed
 * examples (AUC with ties, log loss, Youden's cut-off), a fit on synthetic
 * data with a known logistic relation, save/load round trips, score
 * explanations that add up to the logit, and bad model files refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "train.h"

static void test_auc_with_ties(void **state)
{
    (void)state;
    const double perfect[] = {0.9, 0.8, 0.2, 0.1};
    const unsigned char labels[] = {1, 1, 0, 0};
    assert_float_equal(train_auc(perfect, labels, 4), 1.0, 1e-12);
    const double reversed[] = {0.1, 0.2, 0.8, 0.9};
    assert_float_equal(train_auc(reversed, labels, 4), 0.0, 1e-12);
    /* Pairs (pos, neg): (0.8,0.8) tie = 0.5, (0.8,0.3) = 1, (0.4,0.8) = 0, (0.4,0.3) = 1. */
    const double tied[] = {0.8, 0.4, 0.8, 0.3};
    assert_float_equal(train_auc(tied, labels, 4), 2.5 / 4, 1e-12);
    const double all_same[] = {0.5, 0.5, 0.5, 0.5};
    assert_float_equal(train_auc(all_same, labels, 4), 0.5, 1e-12);
    const unsigned char one_class[] = {1, 1, 1, 1};
    assert_true(isnan(train_auc(perfect, one_class, 4)));
}

static void test_log_loss(void **state)
{
    (void)state;
    const double p[] = {0.8, 0.4};
    const unsigned char labels[] = {1, 0};
    assert_float_equal(train_log_loss(p, labels, 2), -(log(0.8) + log(0.6)) / 2, 1e-12);
    const double certain_wrong[] = {0.0};
    const unsigned char one[] = {1};
    double loss = train_log_loss(certain_wrong, one, 1);
    assert_true(isfinite(loss) && loss > 30); /* clamped, not infinite */
}

static void test_youden_cutoff(void **state)
{
    (void)state;
    const double p[] = {0.9, 0.7, 0.6, 0.65, 0.3, 0.2, 0.1};
    const unsigned char labels[] = {1, 0, 1, 1, 1, 0, 0};
    double sens = 0, spec = 0;
    double cutoff = train_youden(p, labels, 7, &sens, &spec);
    /* sorted: .9(1) .7(0) .65(1) .6(1) .3(1) .2(0) .1(0); at .3: sens 1, spec 2/3 -> J .667;
     * at .6: sens .75, spec 2/3 -> .417. Best is .3. */
    assert_float_equal(cutoff, 0.3, 1e-12);
    assert_float_equal(sens, 1.0, 1e-12);
    assert_float_equal(spec, 2.0 / 3, 1e-12);
}

/* A uniform in [0, 1) from a tiny LCG, so the test data is the same everywhere. */
static double s_uniform(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*seed >> 11) * 0x1.0p-53;
}

#define SYN_ROWS 3000
#define SYN_COLS 3

static const char *const s_names[SYN_COLS] = {"score", "channel", "noise"};

/* Synthetic leads: logit = -0.5 + 2 * score - 1.5 * [channel = phone] +
 * 1 * [channel = web]; noise is unrelated. CELLS gets strdup'd strings. */
static void s_synthetic(char **cells, unsigned char *labels)
{
    uint64_t seed = 42;
    static const char *const channels[] = {"phone", "web", "email"};
    for (size_t r = 0; r < SYN_ROWS; r++) {
        double score = s_uniform(&seed) * 4 - 2;
        size_t channel = (size_t)(s_uniform(&seed) * 3);
        double logit = -0.5 + 2 * score - 1.5 * (channel == 0) + 1.0 * (channel == 1);
        labels[r] = s_uniform(&seed) < model_sigmoid(logit);
        char text[32];
        snprintf(text, sizeof text, "%.4f", score);
        cells[r * SYN_COLS] = r % 50 == 7 ? strdup("") : strdup(text); /* some missing */
        cells[r * SYN_COLS + 1] = strdup(channels[channel]);
        snprintf(text, sizeof text, "%d", (int)(s_uniform(&seed) * 1000));
        cells[r * SYN_COLS + 2] = strdup(text);
    }
}

typedef struct {
    char *cells[SYN_ROWS * SYN_COLS];
    unsigned char labels[SYN_ROWS];
    model_t *model;
    char path[64];
} s_fixture_t;

/* Trains on the synthetic data the way leadopsctl train does. */
static int s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    s_synthetic(fx->cells, fx->labels);
    err_t err = {0};
    fx->model =
        model_new_from_rows(s_names, SYN_COLS, (const char *const *)fx->cells, SYN_ROWS, &err);
    assert_non_null(fx->model);
    size_t p = model_feature_count(fx->model);
    size_t *row_start = malloc((SYN_ROWS + 1) * sizeof *row_start);
    uint32_t *index = malloc(SYN_ROWS * p * sizeof *index);
    double *value = malloc(SYN_ROWS * p * sizeof *value), *x = malloc(p * sizeof *x);
    size_t nonzero = 0;
    for (size_t r = 0; r < SYN_ROWS; r++) {
        model_encode(fx->model, s_names, (const char *const *)fx->cells + r * SYN_COLS, SYN_COLS,
                     x);
        row_start[r] = nonzero;
        for (size_t j = 0; j < p; j++)
            if (x[j] != 0)
                index[nonzero] = (uint32_t)j, value[nonzero++] = x[j];
    }
    row_start[SYN_ROWS] = nonzero;
    train_data_t data = {SYN_ROWS, p, row_start, index, value, fx->labels};
    const double lambdas[] = {0.1, 1, 10};
    double lambda = train_choose_lambda(&data, NULL, 0, lambdas, 3, 3, 7, &err);
    assert_true(lambda > 0);
    double intercept, *weights = malloc(p * sizeof *weights);
    assert_true(train_fit(&data, NULL, 0, lambda, &intercept, weights, &err) > 0);
    model_set_weights(fx->model, intercept, weights);
    model_set_training(fx->model, "converted", lambda, SYN_ROWS);
    free(weights), free(x), free(row_start), free(index), free(value);
    snprintf(fx->path, sizeof fx->path, "/tmp/test_model_%d.json", (int)getpid());
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    for (size_t i = 0; i < SYN_ROWS * SYN_COLS; i++)
        free(fx->cells[i]);
    model_destroy(&fx->model);
    unlink(fx->path);
    free(fx);
    return 0;
}

/* Weight of the feature named NAME. */
static double s_weight(const model_t *model, const char *name)
{
    char feature[128];
    for (size_t i = 0; i < model_feature_count(model); i++) {
        model_feature_name(model, i, feature, sizeof feature);
        if (strcmp(feature, name) == 0)
            return model_weights(model)[i];
    }
    fail_msg("no feature %s", name);
    return 0;
}

static void test_fit_recovers_relation(void **state)
{
    s_fixture_t *fx = *state;
    assert_true(model_column_is_numeric(fx->model, 0));  /* score */
    assert_false(model_column_is_numeric(fx->model, 1)); /* channel: 3 levels */
    assert_true(s_weight(fx->model, "score") > 0.5);
    assert_true(s_weight(fx->model, "channel=web") > s_weight(fx->model, "channel=email"));
    assert_true(s_weight(fx->model, "channel=email") > s_weight(fx->model, "channel=phone"));
    assert_true(fabs(s_weight(fx->model, "noise")) < 0.2);
    double p[SYN_ROWS];
    for (size_t r = 0; r < SYN_ROWS; r++)
        p[r] = model_predict(fx->model, s_names, (const char *const *)fx->cells + r * SYN_COLS,
                             SYN_COLS, NULL);
    assert_true(train_auc(p, fx->labels, SYN_ROWS) > 0.9);
}

static void test_contributions_sum_to_logit(void **state)
{
    s_fixture_t *fx = *state;
    size_t p = model_feature_count(fx->model);
    double *contributions = malloc(p * sizeof *contributions);
    const char *names[] = {"channel", "score", "unknown column"};
    const char *values[] = {"web", "1.25", "x"};
    double prob = model_predict(fx->model, names, values, 3, contributions);
    double logit = model_intercept(fx->model);
    for (size_t i = 0; i < p; i++)
        logit += contributions[i];
    assert_float_equal(model_sigmoid(logit), prob, 1e-12);
    /* A level never seen counts as "other"; an absent column as missing. */
    const char *unseen[] = {"fax"};
    const char *channel[] = {"channel"};
    model_predict(fx->model, channel, unseen, 1, contributions);
    char name[128];
    for (size_t i = 0; i < p; i++) {
        model_feature_name(fx->model, i, name, sizeof name);
        bool expected = strcmp(name, "channel:other") == 0 || strcmp(name, "score:missing") == 0 ||
                        strcmp(name, "noise:missing") == 0;
        if (!expected)
            assert_float_equal(contributions[i], 0, 0);
    }
    free(contributions);
}

static void test_save_load_round_trip(void **state)
{
    s_fixture_t *fx = *state;
    err_t err = {0};
    assert_int_equal(model_save(fx->model, fx->path, &err), 0);
    model_t *loaded = model_load(fx->path, &err);
    assert_non_null(loaded);
    assert_string_equal(model_label(loaded), "converted");
    assert_int_equal(model_feature_count(loaded), model_feature_count(fx->model));
    for (size_t r = 0; r < SYN_ROWS; r += 7) {
        const char *const *row = (const char *const *)fx->cells + r * SYN_COLS;
        double a = model_predict(fx->model, s_names, row, SYN_COLS, NULL);
        double b = model_predict(loaded, s_names, row, SYN_COLS, NULL);
        assert_true(a == b); /* bit for bit: 17 digits round-trip a double */
    }
    model_destroy(&loaded);
    model_destroy(&loaded); /* idempotent */
}

/* Writes TEXT to PATH and expects model_load to refuse it with MESSAGE in the error. */
static void s_expect_refused(const char *path, const char *text, const char *message)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    err_t err = {0};
    assert_null(model_load(path, &err));
    assert_int_equal(err.code, ERR_INPUT);
    if (!strstr(err.msg, message))
        fail_msg("error '%s' lacks '%s'", err.msg, message);
}

static void test_bad_model_files_refused(void **state)
{
    s_fixture_t *fx = *state;
    s_expect_refused(fx->path, "{\"version\": 1, \"columns\": [", "line");
    s_expect_refused(fx->path, "[1, 2]", "not a model file");
    s_expect_refused(fx->path,
                     "{\"version\": 2, \"kind\": \"logistic_regression\", \"intercept\": 0,"
                     " \"columns\": []}",
                     "version 2 is newer");
    s_expect_refused(fx->path,
                     "{\"version\": 1, \"kind\": \"logistic_regression\", \"intercept\": 0,"
                     " \"columns\": [{\"name\": \"a\", \"type\": \"categorical\","
                     " \"levels\": [\"x\"], \"weights\": [1, 2]}]}",
                     "expected 3 weights");
    s_expect_refused(fx->path,
                     "{\"version\": 1, \"kind\": \"logistic_regression\", \"intercept\": 0,"
                     " \"columns\": [{\"name\": \"a\", \"type\": \"date\", \"weights\": []}]}",
                     "unknown type 'date'");
    err_t err = {0};
    assert_null(model_load("/nonexistent/model.json", &err));
    assert_int_equal(err.code, ERR_IO);
}

static void test_no_usable_column(void **state)
{
    (void)state;
    const char *names[] = {"a", NULL};
    const char *cells[] = {"", "1", " ", "0"};
    err_t err = {0};
    assert_null(model_new_from_rows(names, 2, cells, 2, &err));
    assert_int_equal(err.code, ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc_with_ties),
        cmocka_unit_test(test_log_loss),
        cmocka_unit_test(test_youden_cutoff),
        cmocka_unit_test(test_no_usable_column),
        cmocka_unit_test_setup_teardown(test_fit_recovers_relation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_contributions_sum_to_logit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_save_load_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_model_files_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
