/* leadopsctl train / evaluate: learns a lead-scoring model (model.h) from a
 * history export (CSV with a 0/1 label column) and measures one on a file.
 *
 * The whole file is read into memory first (a history export is thousands
 * to a few hundred thousand rows): the encoder needs every value of a column
 * before it can choose its features. Any row that cannot be read (a CSV
 * error, a row with more or fewer fields than the header, a label that is
 * not 0/1) stops the command with the line named: a model silently trained
 * on part of a broken file is worse than none.
 *
 * --split S --seed N keeps the rows whose seeded hash of the --id column
 * (else of the row's data line number) is below S; evaluate --holdout keeps
 * the others, so train and evaluate agree on a fixed split without a file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "ctl.h"
#include "model.h"
#include "train.h"

#define TRAIN_MAX_FEATURES 3000

#define CV_FOLDS 5
static const double s_lambdas[] = {0.01, 0.1, 0.3, 1, 3, 10, 30, 100};
#define LAMBDA_COUNT (sizeof s_lambdas / sizeof s_lambdas[0])

typedef struct {
    const char *data, *label, *exclude, *id, *out, *model;
    double split; /* 0: no split */
    uint64_t seed;
    bool holdout;
} s_options_t;

typedef struct {
    size_t column_count;
    char **names; /* owned; column_count */
    size_t row_count;
    char **cells;          /* owned; row_count * column_count, row-major */
    uint64_t *lines;       /* owned; the line each row starts on */
    unsigned char *labels; /* owned; row_count */
    bool *selected;        /* owned; the row is in the part --split/--holdout asks for */
    size_t selected_count;
} s_table_t;

static void s_table_free(s_table_t *table)
{
    for (size_t c = 0; c < table->column_count; c++)
        free(table->names[c]);
    for (size_t i = 0; i < table->row_count * table->column_count; i++)
        free(table->cells[i]);
    free(table->names), free(table->cells), free(table->lines), free(table->labels);
    free(table->selected);
    memset(table, 0, sizeof *table);
}

/* Index of column NAME, or -1. */
static long s_column(const s_table_t *table, const char *name)
{
    for (size_t c = 0; c < table->column_count; c++)
        if (strcmp(table->names[c], name) == 0)
            return (long)c;
    return -1;
}

static int s_parse_label(const char *text, unsigned char *label)
{
    static const char *const yes[] = {"1", "yes", "true", "y"}, *const no[] = {"0", "no", "false",
                                                                               "n"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *label = 1, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *label = 0, 0;
    }
    return -1;
}

/* Appends one record's fields to TABLE; grows the arrays by doubling. */
static int s_table_append(s_table_t *table, size_t *capacity, const char *const *fields,
                          uint64_t line)
{
    if (table->row_count == *capacity) {
        *capacity = *capacity ? *capacity * 2 : 1024;
        char **cells = realloc(table->cells, *capacity * table->column_count * sizeof *cells);
        if (cells)
            table->cells = cells;
        uint64_t *lines = realloc(table->lines, *capacity * sizeof *lines);
        if (lines)
            table->lines = lines;
        if (!cells || !lines)
            return -1;
    }
    char **row = table->cells + table->row_count * table->column_count;
    for (size_t c = 0; c < table->column_count; c++)
        if (!(row[c] = strdup(fields[c]))) {
            while (c-- > 0)
                free(row[c]);
            return -1;
        }
    table->lines[table->row_count++] = line;
    return 0;
}

/* Reads OPT->data whole, checks the label column, and marks the selected
 * rows. Returns 0, or -1 with *err naming the file and line or column. */
static int s_table_load(s_table_t *table, const s_options_t *opt, ctl_progress_t *progress,
                        err_t *err)
{
    FILE *in = fopen(opt->data, "rb");
    if (!in)
        return err_set(err, ERR_IO, "cannot open %s", opt->data);
    csv_reader_t *csv = csv_reader_new(in);
    int rc = -1;
    size_t capacity = 0, count;
    if (!csv) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    int got = csv_read(csv, err);
    if (got <= 0) {
        if (got == 0)
            err_set(err, ERR_INPUT, "no header line");
        goto wrap;
    }
    const char *const *fields = csv_fields(csv, &count);
    if (!(table->names = calloc(count, sizeof *table->names)))
        goto nomem;
    for (; table->column_count < count; table->column_count++) {
        /* Columns are found by name: two of one name would be read as one. */
        for (size_t c = 0; c < table->column_count; c++)
            if (fields[table->column_count][0] &&
                strcmp(table->names[c], fields[table->column_count]) == 0) {
                err_set(err, ERR_INPUT,
                        "header: column '%.60s' appears twice (columns %zu and %zu)", fields[c],
                        c + 1, table->column_count + 1);
                goto wrap;
            }
        if (!(table->names[table->column_count] = strdup(fields[table->column_count])))
            goto nomem;
    }
    while ((got = csv_read(csv, err)) != 0) {
        if (got < 0)
            goto wrap;
        fields = csv_fields(csv, &count);
        if (count != table->column_count) {
            err_set(err, ERR_INPUT, "line %llu: %zu fields, the header has %zu",
                    (unsigned long long)csv_record_line(csv), count, table->column_count);
            goto wrap;
        }
        if (s_table_append(table, &capacity, fields, csv_record_line(csv)) < 0)
            goto nomem;
        ctl_progress_draw(progress, "reading %s: %zu rows", opt->data, table->row_count);
    }
    long label = s_column(table, opt->label);
    long id = opt->id ? s_column(table, opt->id) : -1;
    if (label < 0 || (opt->id && id < 0)) {
        err_set(err, ERR_INPUT, "no column '%s' in the header", label < 0 ? opt->label : opt->id);
        goto wrap;
    }
    table->labels = malloc(table->row_count + 1);
    table->selected = malloc((table->row_count + 1) * sizeof *table->selected);
    if (!table->labels || !table->selected)
        goto nomem;
    for (size_t r = 0; r < table->row_count; r++) {
        const char *value = table->cells[r * table->column_count + (size_t)label];
        if (s_parse_label(value, &table->labels[r]) < 0) {
            err_set(err, ERR_INPUT, "line %llu: label '%s' is '%.40s', not 0/1 or yes/no",
                    (unsigned long long)table->lines[r], opt->label, value);
            goto wrap;
        }
        char number[32];
        snprintf(number, sizeof number, "%zu", r + 1);
        const char *key = id >= 0 ? table->cells[r * table->column_count + (size_t)id] : number;
        bool first = opt->split <= 0 || train_split_point(key, opt->seed) < opt->split;
        table->selected[r] = opt->holdout ? !first : first;
        table->selected_count += table->selected[r];
    }
    rc = 0;
    goto done;
nomem:
    err_set(err, ERR_NOMEM, "out of memory");
wrap:
    err_wrap(err, "%s", opt->data);
done:
    csv_reader_destroy(&csv);
    fclose(in);
    return rc;
}

static int s_usage(FILE *out, bool evaluate)
{
    if (evaluate)
        fprintf(out,
                "usage: leadopsctl evaluate --model MODEL.json --data FILE.csv --label COLUMN\n"
                "                           [--id COLUMN --split SHARE --seed N [--holdout]]\n"
                "Scores every row of FILE.csv with the model and prints, one `name: value`\n"
                "per line: rows, auc, log_loss, then cutoff (the probability that maximizes\n"
                "Youden's J) with accuracy, sensitivity and specificity at it, accuracy_at_0.5,\n"
                "and a calibration table by decile of predicted probability.\n"
                "--split/--seed pick the rows `train` used with the same options; --holdout\n"
                "picks the others.\n");
    else
        fprintf(out,
                "usage: leadopsctl train --data FILE.csv --label COLUMN --out MODEL.json\n"
                "                        [--exclude COL1,COL2,...] [--id COLUMN]\n"
                "                        [--split SHARE --seed N]\n"
                "Learns an L2-regularized logistic regression from a history export. The label\n"
                "column holds 0/1 (or yes/no). Every other column except --id and --exclude is\n"
                "a feature: numeric columns become missing + standardized value + quantile\n"
                "bins, the others one-hot levels with rare ones pooled as \"other\". The penalty\n"
                "is chosen by %d-fold cross validation on the training rows (log loss).\n"
                "--split SHARE --seed N trains only on the rows whose seeded hash of --id (else\n"
                "of the row number) falls in the first SHARE; evaluate --holdout tests the rest.\n",
                CV_FOLDS);
    return out == stdout ? 0 : 2;
}

/* Returns 0, 1 (--help printed) or 2 (usage error, printed). */
static int s_parse(int argc, char **argv, bool evaluate, s_options_t *opt)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return s_usage(stdout, evaluate), 1;
        if (strcmp(arg, "--holdout") == 0 && evaluate) {
            opt->holdout = true;
            continue;
        }
        if (!value)
            return s_usage(stderr, evaluate);
        char *end = NULL;
        if (strcmp(arg, "--data") == 0)
            opt->data = value;
        else if (strcmp(arg, "--label") == 0)
            opt->label = value;
        else if (strcmp(arg, "--id") == 0)
            opt->id = value;
        else if (strcmp(arg, "--exclude") == 0 && !evaluate)
            opt->exclude = value;
        else if (strcmp(arg, "--out") == 0 && !evaluate)
            opt->out = value;
        else if (strcmp(arg, "--model") == 0 && evaluate)
            opt->model = value;
        else if (strcmp(arg, "--split") == 0) {
            opt->split = strtod(value, &end);
            if (*end || !(opt->split > 0 && opt->split < 1))
                return fprintf(stderr, "--split: a share between 0 and 1, not '%s'\n", value), 2;
        } else if (strcmp(arg, "--seed") == 0) {
            opt->seed = strtoull(value, &end, 10);
            if (*end || !*value)
                return fprintf(stderr, "--seed: a number, not '%s'\n", value), 2;
        } else
            return s_usage(stderr, evaluate);
        i++;
    }
    bool complete = opt->data && opt->label && (evaluate ? opt->model != NULL : opt->out != NULL);
    if (!complete || (opt->holdout && opt->split <= 0))
        return s_usage(stderr, evaluate);
    return 0;
}

/* The feature names of TABLE for the model: NULL for the label, the id, the
 * --exclude columns and columns empty in every selected row (noted on
 * stderr). Returns the array (caller frees) or NULL with *err. */
static const char **s_feature_columns(const s_table_t *table, const s_options_t *opt, err_t *err)
{
    const char **names = calloc(table->column_count, sizeof *names);
    char *exclude = strdup(opt->exclude ? opt->exclude : "");
    if (!names || !exclude) {
        free(names), free(exclude);
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t c = 0; c < table->column_count; c++)
        names[c] = table->names[c];
    names[s_column(table, opt->label)] = NULL;
    if (opt->id)
        names[s_column(table, opt->id)] = NULL;
    char *save = NULL;
    for (char *name = strtok_r(exclude, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        while (*name == ' ')
            name++;
        long c = s_column(table, name);
        if (c < 0) {
            err_set(err, ERR_INPUT, "--exclude: no column '%s' in the header of %s", name,
                    opt->data);
            free(exclude), free(names);
            return NULL;
        }
        names[c] = NULL;
    }
    free(exclude);
    for (size_t c = 0; c < table->column_count; c++) {
        bool empty = true;
        for (size_t r = 0; names[c] && empty && r < table->row_count; r++)
            if (table->selected[r])
                empty = strspn(table->cells[r * table->column_count + c], " \t") ==
                        strlen(table->cells[r * table->column_count + c]);
        if (names[c] && empty) {
            fprintf(stderr,
                    "leadopsctl train: note: column %zu '%s' is empty in every row: "
                    "skipped\n",
                    c + 1, names[c]);
            names[c] = NULL;
        }
    }
    return names;
}

/* Encodes the selected rows of TABLE into the sparse DATA (arrays owned by
 * the caller through DATA's pointers). Returns 0 or -1 when out of memory. */
static int s_encode(const model_t *model, const s_table_t *table, train_data_t *data)
{
    size_t p = model_feature_count(model), n = table->selected_count;
    /* A column sets at most 2 features (a level; or a value and its bin). */
    size_t max_nonzero = 2 * model_column_count(model) * (n ? n : 1);
    size_t *row_start = malloc((n + 1) * sizeof *row_start);
    uint32_t *index = malloc(max_nonzero * sizeof *index);
    double *value = malloc(max_nonzero * sizeof *value), *x = malloc(p * sizeof *x);
    unsigned char *label = malloc(n + 1);
    *data = (train_data_t){n, p, row_start, index, value, label};
    if (!row_start || !index || !value || !x || !label)
        return free(x), -1;
    size_t i = 0, nonzero = 0;
    for (size_t r = 0; r < table->row_count; r++) {
        if (!table->selected[r])
            continue;
        model_encode(model, (const char *const *)table->names,
                     (const char *const *)table->cells + r * table->column_count,
                     table->column_count, x);
        row_start[i] = nonzero;
        for (size_t j = 0; j < p; j++)
            if (x[j] != 0) {
                index[nonzero] = (uint32_t)j;
                value[nonzero++] = x[j];
            }
        label[i++] = table->labels[r];
    }
    row_start[n] = nonzero;
    free(x);
    return 0;
}

static void s_data_free(train_data_t *data)
{
    free((void *)data->row_start), free((void *)data->index), free((void *)data->value);
    free((void *)data->label);
}

/* Counts the positives among the selected rows; an error if a class is absent. */
static int s_check_classes(const s_table_t *table, const s_options_t *opt, err_t *err)
{
    size_t positives = 0;
    for (size_t r = 0; r < table->row_count; r++)
        positives += table->selected[r] && table->labels[r];
    if (!table->selected_count)
        return err_set(err, ERR_INPUT, "%s: no rows to use", opt->data);
    if (!positives || positives == table->selected_count)
        return err_set(err, ERR_INPUT, "%s: no %s rows (label '%s' %s) among the %zu used",
                       opt->data, positives ? "negative" : "positive", opt->label,
                       positives ? "0/no" : "1/yes", table->selected_count);
    return 0;
}

int ctl_train(int argc, char **argv, const config_t *cfg)
{
    (void)cfg;
    s_options_t opt = {0};
    int rc = s_parse(argc, argv, false, &opt);
    if (rc)
        return rc == 1 ? 0 : rc;
    ctl_progress_t progress;
    ctl_progress_start(&progress);
    s_table_t table = {0};
    train_data_t data = {0};
    err_t err = {0};
    const char **names = NULL, **cells = NULL;
    model_t *model = NULL;
    double *weights = NULL;
    rc = 1;
    if (s_table_load(&table, &opt, &progress, &err) < 0 ||
        s_check_classes(&table, &opt, &err) < 0 || !(names = s_feature_columns(&table, &opt, &err)))
        goto done;
    /* The encoder learns from the training rows only: the holdout stays unseen. */
    cells = malloc((table.selected_count * table.column_count + 1) * sizeof *cells);
    if (!cells)
        goto done;
    for (size_t r = 0, i = 0; r < table.row_count; r++)
        if (table.selected[r])
            for (size_t c = 0; c < table.column_count; c++)
                cells[i++] = table.cells[r * table.column_count + c];
    model = model_new_from_rows(names, table.column_count, cells, table.selected_count, &err);
    if (!model)
        goto done;
    /* Newton steps hold a dense (features + 1)^2 Hessian and solve it in
     * O(features^3): past this many features that is minutes and hundreds of
     * MB per step. */
    if (model_feature_count(model) > TRAIN_MAX_FEATURES) {
        err_set(&err, ERR_INPUT,
                "%zu features (more than %d): leave out wide text columns with --exclude",
                model_feature_count(model), TRAIN_MAX_FEATURES);
        goto done;
    }
    if (s_encode(model, &table, &data) < 0 ||
        !(weights = malloc((data.feature_count + 1) * sizeof *weights))) {
        err_set(&err, ERR_NOMEM, "out of memory encoding %zu rows", table.selected_count);
        goto done;
    }
    ctl_progress_draw(&progress, "cross validation over %zu penalties", LAMBDA_COUNT);
    double lambda =
        train_choose_lambda(&data, NULL, 0, s_lambdas, LAMBDA_COUNT, CV_FOLDS, opt.seed, &err);
    double intercept;
    if (lambda < 0 || train_fit(&data, NULL, 0, lambda, &intercept, weights, &err) < 0)
        goto done;
    model_set_weights(model, intercept, weights);
    model_set_training(model, opt.label, lambda, data.row_count);
    if (model_save(model, opt.out, &err) < 0)
        goto done;
    double *p = malloc((data.row_count + 1) * sizeof *p);
    double train_auc_value = NAN;
    if (p) {
        for (size_t i = 0; i < data.row_count; i++) {
            double logit = intercept;
            for (size_t k = data.row_start[i]; k < data.row_start[i + 1]; k++)
                logit += weights[data.index[k]] * data.value[k];
            p[i] = logit;
        }
        train_auc_value = train_auc(p, data.label, data.row_count);
        free(p);
    }
    size_t positives = 0;
    for (size_t i = 0; i < data.row_count; i++)
        positives += data.label[i];
    double seconds = ctl_progress_end(&progress);
    printf("leadopsctl train: %zu rows (%zu positive), %zu columns -> %zu features, lambda %g "
           "(%d-fold CV), training AUC %.4f, %.1f s -> %s\n",
           data.row_count, positives, model_column_count(model), data.feature_count, lambda,
           CV_FOLDS, train_auc_value, seconds, opt.out);
    rc = 0;
done:
    if (rc) {
        ctl_progress_end(&progress);
        fprintf(stderr, "leadopsctl train: %s\n", err.msg[0] ? err.msg : "out of memory");
    }
    free(weights);
    s_data_free(&data);
    model_destroy(&model);
    free(cells), free(names);
    s_table_free(&table);
    return rc;
}

typedef struct {
    double p;
    unsigned char label;
} s_prediction_t;

static int s_compare_prediction(const void *a, const void *b)
{
    double x = ((const s_prediction_t *)a)->p, y = ((const s_prediction_t *)b)->p;
    return (x > y) - (x < y);
}

/* Prints the metrics of P against LABELS (N rows) as `name: value` lines. */
static void s_print_metrics(const double *p, const unsigned char *labels, size_t n)
{
    double sensitivity = 0, specificity = 0;
    double cutoff = train_youden(p, labels, n, &sensitivity, &specificity);
    size_t right = 0, right_half = 0, positives = 0;
    for (size_t i = 0; i < n; i++) {
        right += (p[i] >= cutoff) == (labels[i] != 0);
        right_half += (p[i] >= 0.5) == (labels[i] != 0);
        positives += labels[i];
    }
    printf("rows: %zu\npositives: %zu\nauc: %.4f\nlog_loss: %.4f\ncutoff: %.4f\n"
           "accuracy: %.4f\nsensitivity: %.4f\nspecificity: %.4f\naccuracy_at_0.5: %.4f\n",
           n, positives, train_auc(p, labels, n), train_log_loss(p, labels, n), cutoff,
           (double)right / (double)n, sensitivity, specificity, (double)right_half / (double)n);
    s_prediction_t *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return;
    for (size_t i = 0; i < n; i++)
        sorted[i] = (s_prediction_t){p[i], labels[i]};
    qsort(sorted, n, sizeof *sorted, s_compare_prediction);
    for (size_t decile = 0; decile < 10; decile++) {
        size_t from = n * decile / 10, to = n * (decile + 1) / 10;
        double predicted = 0, observed = 0;
        for (size_t i = from; i < to; i++)
            predicted += sorted[i].p, observed += sorted[i].label;
        double rows = to > from ? (double)(to - from) : 1;
        printf("calibration_decile_%zu: rows=%zu predicted=%.4f observed=%.4f\n", decile + 1,
               to - from, predicted / rows, observed / rows);
    }
    free(sorted);
}

int ctl_evaluate(int argc, char **argv, const config_t *cfg)
{
    (void)cfg;
    s_options_t opt = {0};
    int rc = s_parse(argc, argv, true, &opt);
    if (rc)
        return rc == 1 ? 0 : rc;
    ctl_progress_t progress;
    ctl_progress_start(&progress);
    err_t err = {0};
    s_table_t table = {0};
    double *p = NULL;
    unsigned char *labels = NULL;
    model_t *model = model_load(opt.model, &err);
    rc = 1;
    if (!model || s_table_load(&table, &opt, &progress, &err) < 0 ||
        s_check_classes(&table, &opt, &err) < 0)
        goto done;
    for (size_t c = 0; c < model_column_count(model); c++)
        if (s_column(&table, model_column_name(model, c)) < 0)
            fprintf(stderr,
                    "leadopsctl evaluate: note: model column '%s' is not in %s: "
                    "scored as missing\n",
                    model_column_name(model, c), opt.data);
    p = malloc(table.selected_count * sizeof *p);
    labels = malloc(table.selected_count);
    if (!p || !labels) {
        err_set(&err, ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t n = 0;
    for (size_t r = 0; r < table.row_count; r++) {
        if (!table.selected[r])
            continue;
        p[n] = model_predict(model, (const char *const *)table.names,
                             (const char *const *)table.cells + r * table.column_count,
                             table.column_count, NULL);
        labels[n++] = table.labels[r];
        ctl_progress_draw(&progress, "scoring: %zu rows", n);
    }
    ctl_progress_end(&progress);
    s_print_metrics(p, labels, n);
    rc = 0;
done:
    if (rc) {
        ctl_progress_end(&progress);
        fprintf(stderr, "leadopsctl evaluate: %s\n", err.msg);
    }
    free(p), free(labels);
    s_table_free(&table);
    model_destroy(&model);
    return rc;
}
