/* model.c — feature encoder, prediction and JSON persistence (model.h). */
#include "model.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUMERIC_SHARE    0.9   /* of non-empty values that parse, for a numeric column */
#define NUMERIC_DISTINCT 10    /* more distinct numbers than this, else categorical */
#define LEVEL_MIN_ROWS   10    /* a level seen in fewer rows is pooled into "other"... */
#define LEVEL_MIN_SHARE  0.002 /* ...or in fewer than this share of rows */
#define LEVEL_MAX        64    /* most frequent levels kept; the rest pooled */
#define BIN_COUNT        5     /* quantile bins of a numeric column */
#define Z_CLIP           5.0   /* standardized values clipped, so one outlier cannot dominate */

typedef struct {
    char *name;   /* owned */
    bool numeric; /* else categorical */
    size_t level_count;
    char **levels;   /* owned; categorical: the kept levels, most frequent first */
    double mean, sd; /* numeric: of the parsed training values */
    size_t cut_count;
    double *cuts; /* owned; numeric: bin k holds values in (cuts[k-1], cuts[k]] */
    size_t first; /* index of the column's first feature */
    size_t width; /* its feature count */
} s_column_t;

struct model {
    size_t column_count;
    s_column_t *columns; /* owned */
    size_t feature_count;
    double intercept;
    double *weights; /* owned; feature_count */
    char *label;     /* owned; the label column trained on, or NULL */
    double lambda;
    size_t train_rows;
};

/* Layout of a column's block: categorical levels..., other, missing;
 * numeric missing, value, bins (cut_count + 1). */
static size_t s_width(const s_column_t *column)
{
    return column->numeric ? 2 + column->cut_count + 1 : column->level_count + 2;
}

/* NULL for a missing value, else the value without surrounding blanks in BUF. */
static const char *s_trim(const char *value, char *buf, size_t size)
{
    if (!value)
        return NULL;
    while (isspace((unsigned char)*value))
        value++;
    size_t len = strlen(value);
    while (len && isspace((unsigned char)value[len - 1]))
        len--;
    if (!len)
        return NULL;
    if (len >= size)
        len = size - 1;
    memcpy(buf, value, len);
    buf[len] = '\0';
    return buf;
}

static bool s_parse_number(const char *text, double *number)
{
    char *end;
    errno = 0;
    double parsed = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(parsed))
        return false;
    *number = parsed;
    return true;
}

static int s_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int s_compare_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    const char *level;
    size_t rows;
} s_level_count_t;

/* Most frequent first; ties by name so the encoder does not depend on row order. */
static int s_compare_level(const void *a, const void *b)
{
    const s_level_count_t *x = a, *y = b;
    if (x->rows != y->rows)
        return x->rows < y->rows ? 1 : -1;
    return strcmp(x->level, y->level);
}

static void s_column_free(s_column_t *column)
{
    free(column->name);
    for (size_t i = 0; i < column->level_count; i++)
        free(column->levels[i]);
    free(column->levels);
    free(column->cuts);
}

/* Learns one column from its present values (trimmed copies, VALUES[0..N)). */
static int s_learn_column(s_column_t *column, char **values, size_t n, size_t row_count)
{
    double *numbers = malloc((n ? n : 1) * sizeof *numbers);
    if (!numbers)
        return -1;
    size_t parsed = 0;
    for (size_t i = 0; i < n; i++)
        if (s_parse_number(values[i], &numbers[parsed]))
            parsed++;
    qsort(numbers, parsed, sizeof *numbers, s_compare_double);
    size_t distinct = parsed ? 1 : 0;
    for (size_t i = 1; i < parsed; i++)
        distinct += numbers[i] != numbers[i - 1];
    if (parsed > NUMERIC_SHARE * (double)n && distinct > NUMERIC_DISTINCT) {
        column->numeric = true;
        double sum = 0, squares = 0;
        for (size_t i = 0; i < parsed; i++)
            sum += numbers[i];
        column->mean = sum / (double)parsed;
        for (size_t i = 0; i < parsed; i++)
            squares += (numbers[i] - column->mean) * (numbers[i] - column->mean);
        column->sd = sqrt(squares / (double)parsed);
        if (!(column->sd > 0))
            column->sd = 1;
        column->cuts = malloc((BIN_COUNT - 1) * sizeof *column->cuts);
        if (!column->cuts)
            return free(numbers), -1;
        for (size_t k = 1; k < BIN_COUNT; k++) {
            double cut = numbers[(size_t)((double)k / BIN_COUNT * (double)(parsed - 1))];
            /* Equal cuts would make empty bins: a heavy value gets one bin. */
            if (!column->cut_count || cut > column->cuts[column->cut_count - 1])
                column->cuts[column->cut_count++] = cut;
        }
        free(numbers);
        return 0;
    }
    free(numbers);
    qsort(values, n, sizeof *values, s_compare_string);
    s_level_count_t *counts = malloc((n ? n : 1) * sizeof *counts);
    if (!counts)
        return -1;
    size_t level_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (level_count && strcmp(counts[level_count - 1].level, values[i]) == 0)
            counts[level_count - 1].rows++;
        else
            counts[level_count++] = (s_level_count_t){values[i], 1};
    }
    qsort(counts, level_count, sizeof *counts, s_compare_level);
    double min_rows = fmax(LEVEL_MIN_ROWS, LEVEL_MIN_SHARE * (double)row_count);
    column->levels = malloc(LEVEL_MAX * sizeof *column->levels);
    if (!column->levels)
        return free(counts), -1;
    for (size_t i = 0; i < level_count && i < LEVEL_MAX && counts[i].rows >= min_rows; i++) {
        if (!(column->levels[column->level_count] = strdup(counts[i].level)))
            return free(counts), -1;
        column->level_count++;
    }
    free(counts);
    return 0;
}

static model_t *s_model_alloc(size_t column_count)
{
    model_t *self = calloc(1, sizeof *self);
    if (self && !(self->columns = calloc(column_count ? column_count : 1, sizeof *self->columns)))
        model_destroy(&self);
    return self;
}

/* Lays the features out and allocates zero weights. */
static int s_layout(model_t *self)
{
    self->feature_count = 0;
    for (size_t c = 0; c < self->column_count; c++) {
        self->columns[c].first = self->feature_count;
        self->columns[c].width = s_width(&self->columns[c]);
        self->feature_count += self->columns[c].width;
    }
    free(self->weights);
    self->weights = calloc(self->feature_count ? self->feature_count : 1, sizeof *self->weights);
    return self->weights ? 0 : -1;
}

model_t *model_new_from_rows(const char *const *names, size_t column_count,
                             const char *const *cells, size_t row_count, err_t *err)
{
    model_t *self = s_model_alloc(column_count);
    char **values = malloc((row_count ? row_count : 1) * sizeof *values);
    if (!self || !values)
        goto nomem;
    char buf[1024];
    for (size_t c = 0; c < column_count; c++) {
        if (!names[c])
            continue;
        size_t n = 0;
        for (size_t r = 0; r < row_count; r++) {
            const char *value = s_trim(cells[r * column_count + c], buf, sizeof buf);
            if (value && !(values[n++] = strdup(value)))
                goto nomem_values;
        }
        if (n) {
            s_column_t *column = &self->columns[self->column_count++];
            if (!(column->name = strdup(names[c])) ||
                s_learn_column(column, values, n, row_count) < 0)
                goto nomem_values;
        }
        for (size_t i = 0; i < n; i++)
            free(values[i]);
        continue;
    nomem_values:
        for (size_t i = 0; i < n; i++)
            free(values[i]);
        goto nomem;
    }
    free(values);
    if (!self->column_count) {
        model_destroy(&self);
        err_set(err, ERR_INPUT, "no column to learn from: every one is excluded or empty");
        return NULL;
    }
    if (s_layout(self) < 0)
        goto nomem;
    return self;
nomem:
    free(values);
    model_destroy(&self);
    err_set(err, ERR_NOMEM, "out of memory building the model");
    return NULL;
}

void model_destroy(model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    model_t *self = *self_p;
    for (size_t c = 0; c < self->column_count; c++)
        s_column_free(&self->columns[c]);
    free(self->columns);
    free(self->weights);
    free(self->label);
    free(self);
    *self_p = NULL;
}

size_t model_feature_count(const model_t *self)
{
    return self->feature_count;
}

size_t model_column_count(const model_t *self)
{
    return self->column_count;
}

const char *model_column_name(const model_t *self, size_t column)
{
    assert(column < self->column_count);
    return self->columns[column].name;
}

bool model_column_is_numeric(const model_t *self, size_t column)
{
    assert(column < self->column_count);
    return self->columns[column].numeric;
}

void model_feature_name(const model_t *self, size_t feature, char *name, size_t size)
{
    assert(feature < self->feature_count);
    const s_column_t *column = self->columns;
    while (feature >= column->first + column->width)
        column++;
    size_t k = feature - column->first;
    if (column->numeric) {
        if (k == 0)
            snprintf(name, size, "%s:missing", column->name);
        else if (k == 1)
            snprintf(name, size, "%s", column->name);
        else
            snprintf(name, size, "%s:bin%zu", column->name, k - 1);
    } else if (k < column->level_count)
        snprintf(name, size, "%s=%s", column->name, column->levels[k]);
    else
        snprintf(name, size, "%s:%s", column->name, k == column->level_count ? "other" : "missing");
}

void model_set_weights(model_t *self, double intercept, const double *weights)
{
    self->intercept = intercept;
    memcpy(self->weights, weights, self->feature_count * sizeof *weights);
}

double model_intercept(const model_t *self)
{
    return self->intercept;
}

const double *model_weights(const model_t *self)
{
    return self->weights;
}

void model_set_training(model_t *self, const char *label, double lambda, size_t rows)
{
    free(self->label);
    self->label = label ? strdup(label) : NULL;
    self->lambda = lambda;
    self->train_rows = rows;
}

const char *model_label(const model_t *self)
{
    return self->label ? self->label : "";
}

double model_lambda(const model_t *self)
{
    return self->lambda;
}

static void s_encode_column(const s_column_t *column, const char *raw, double *x)
{
    char buf[1024];
    const char *value = s_trim(raw, buf, sizeof buf);
    memset(x, 0, column->width * sizeof *x);
    if (column->numeric) {
        double number;
        if (!value || !s_parse_number(value, &number)) {
            x[0] = 1;
            return;
        }
        x[1] = fmax(-Z_CLIP, fmin(Z_CLIP, (number - column->mean) / column->sd));
        size_t bin = 0;
        while (bin < column->cut_count && number > column->cuts[bin])
            bin++;
        x[2 + bin] = 1;
        return;
    }
    if (!value) {
        x[column->level_count + 1] = 1;
        return;
    }
    for (size_t k = 0; k < column->level_count; k++)
        if (strcmp(column->levels[k], value) == 0) {
            x[k] = 1;
            return;
        }
    x[column->level_count] = 1;
}

void model_encode(const model_t *self, const char *const *names, const char *const *values,
                  size_t count, double *x)
{
    for (size_t c = 0; c < self->column_count; c++) {
        const s_column_t *column = &self->columns[c];
        const char *value = NULL;
        for (size_t i = 0; i < count; i++)
            if (names[i] && strcmp(names[i], column->name) == 0) {
                value = values[i];
                break;
            }
        s_encode_column(column, value, x + column->first);
    }
}

double model_sigmoid(double logit)
{
    /* Two forms so neither overflows exp(). */
    if (logit >= 0)
        return 1.0 / (1.0 + exp(-logit));
    double e = exp(logit);
    return e / (1.0 + e);
}

double model_predict_encoded(const model_t *self, const double *x)
{
    double logit = self->intercept;
    for (size_t i = 0; i < self->feature_count; i++)
        logit += self->weights[i] * x[i];
    return model_sigmoid(logit);
}

double model_predict(const model_t *self, const char *const *names, const char *const *values,
                     size_t count, double *contributions)
{
    double stack_x[256];
    double *x = self->feature_count <= 256 ? stack_x : malloc(self->feature_count * sizeof *x);
    if (!x)
        return NAN;
    model_encode(self, names, values, count, x);
    double p = model_predict_encoded(self, x);
    if (contributions)
        for (size_t i = 0; i < self->feature_count; i++)
            contributions[i] = self->weights[i] * x[i];
    if (x != stack_x)
        free(x);
    return p;
}

/* The file: {"version", "kind", "label", "lambda", "train_rows", "intercept",
 * "columns": [{"name", "type": "categorical", "levels": [...], "weights": [...]}
 *             | {"name", "type": "numeric", "mean", "sd", "cuts": [...], "weights": [...]}]}
 * with each column's weights in the layout of s_width. */
int model_save(const model_t *self, const char *path, err_t *err)
{
    json_t *columns = json_array();
    for (size_t c = 0; c < self->column_count; c++) {
        const s_column_t *column = &self->columns[c];
        json_t *weights = json_array(), *entry = json_object();
        for (size_t k = 0; k < column->width; k++)
            json_array_append_new(weights, json_real(self->weights[column->first + k]));
        json_object_set_new(entry, "name", json_string(column->name));
        json_object_set_new(entry, "type",
                            json_string(column->numeric ? "numeric" : "categorical"));
        if (column->numeric) {
            json_t *cuts = json_array();
            for (size_t k = 0; k < column->cut_count; k++)
                json_array_append_new(cuts, json_real(column->cuts[k]));
            json_object_set_new(entry, "mean", json_real(column->mean));
            json_object_set_new(entry, "sd", json_real(column->sd));
            json_object_set_new(entry, "cuts", cuts);
        } else {
            json_t *levels = json_array();
            for (size_t k = 0; k < column->level_count; k++)
                json_array_append_new(levels, json_string(column->levels[k]));
            json_object_set_new(entry, "levels", levels);
        }
        json_object_set_new(entry, "weights", weights);
        json_array_append_new(columns, entry);
    }
    json_t *root = json_pack("{s:i, s:s, s:s, s:f, s:I, s:f, s:o}", "version", MODEL_VERSION,
                             "kind", "logistic_regression", "label", model_label(self), "lambda",
                             self->lambda, "train_rows", (json_int_t)self->train_rows, "intercept",
                             self->intercept, "columns", columns);
    if (!root)
        return err_set(err, ERR_NOMEM, "cannot build the model JSON");
    int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (rc < 0)
        return err_set(err, ERR_IO, "cannot write model %s: %s", path, strerror(errno));
    return 0;
}

/* Fills one column from ENTRY (column C of the file). Returns 0 or -1 with *err. */
static int s_load_column(s_column_t *column, json_t *entry, size_t c, err_t *err)
{
    const char *name = NULL, *type = NULL;
    json_t *weights = NULL, *list = NULL;
    json_error_t jerr;
    if (json_unpack_ex(entry, &jerr, 0, "{s:s, s:s, s:o}", "name", &name, "type", &type, "weights",
                       &weights) < 0 ||
        !(column->name = strdup(name)))
        return err_set(err, ERR_INPUT, "column %zu: %s", c, jerr.text);
    if (strcmp(type, "numeric") == 0) {
        column->numeric = true;
        if (json_unpack_ex(entry, &jerr, 0, "{s:F, s:F, s:o}", "mean", &column->mean, "sd",
                           &column->sd, "cuts", &list) < 0)
            return err_set(err, ERR_INPUT, "column '%s': %s", name, jerr.text);
        if (!json_is_array(list) || !(column->sd > 0))
            return err_set(err, ERR_INPUT, "column '%s': bad cuts or sd", name);
        column->cuts = malloc((json_array_size(list) + 1) * sizeof *column->cuts);
        for (size_t k = 0; column->cuts && k < json_array_size(list); k++) {
            if (!json_is_number(json_array_get(list, k)))
                return err_set(err, ERR_INPUT, "column '%s': cut %zu is not a number", name, k);
            column->cuts[column->cut_count++] = json_number_value(json_array_get(list, k));
        }
    } else if (strcmp(type, "categorical") == 0) {
        if (json_unpack_ex(entry, &jerr, 0, "{s:o}", "levels", &list) < 0 || !json_is_array(list))
            return err_set(err, ERR_INPUT, "column '%s': no levels array", name);
        column->levels = malloc((json_array_size(list) + 1) * sizeof *column->levels);
        for (size_t k = 0; column->levels && k < json_array_size(list); k++) {
            const char *level = json_string_value(json_array_get(list, k));
            if (!level)
                return err_set(err, ERR_INPUT, "column '%s': level %zu is not a string", name, k);
            if (!(column->levels[column->level_count] = strdup(level)))
                return err_set(err, ERR_NOMEM, "out of memory");
            column->level_count++;
        }
    } else
        return err_set(err, ERR_INPUT, "column '%s': unknown type '%s'", name, type);
    if (!json_is_array(weights) || json_array_size(weights) != s_width(column))
        return err_set(err, ERR_INPUT, "column '%s': expected %zu weights", name, s_width(column));
    return 0;
}

model_t *model_load(const char *path, err_t *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        FILE *probe = fopen(path, "rb");
        if (!probe)
            err_set(err, ERR_IO, "cannot read model %s: %s", path, strerror(errno));
        else
            err_set(err, ERR_INPUT, "model %s: line %d: %s", path, jerr.line, jerr.text);
        if (probe)
            fclose(probe);
        return NULL;
    }
    model_t *self = NULL;
    json_int_t version = 0, train_rows = 0;
    const char *kind = NULL, *label = "";
    double lambda = 0, intercept = 0;
    json_t *columns = NULL;
    if (json_unpack_ex(root, &jerr, 0, "{s:I}", "version", &version) < 0) {
        err_set(err, ERR_INPUT, "model %s: not a model file (%s)", path, jerr.text);
        goto done;
    }
    if (version > MODEL_VERSION || version < 1) {
        err_set(
            err, ERR_INPUT,
            "model %s: version %lld %s; this build of LeadOps reads version %d: use a newer build",
            path, (long long)version, version < 1 ? "is invalid" : "is newer", MODEL_VERSION);
        goto done;
    }
    if (json_unpack_ex(root, &jerr, 0, "{s:s, s?s, s?F, s?I, s:F, s:o}", "kind", &kind, "label",
                       &label, "lambda", &lambda, "train_rows", &train_rows, "intercept",
                       &intercept, "columns", &columns) < 0 ||
        strcmp(kind, "logistic_regression") != 0 || !json_is_array(columns)) {
        err_set(err, ERR_INPUT, "model %s: %s", path,
                kind && strcmp(kind, "logistic_regression") ? "unknown kind" : jerr.text);
        goto done;
    }
    if (!(self = s_model_alloc(json_array_size(columns)))) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < json_array_size(columns); c++) {
        self->column_count++;
        if (s_load_column(&self->columns[c], json_array_get(columns, c), c, err) < 0) {
            err_wrap(err, "model %s", path);
            model_destroy(&self);
            goto done;
        }
    }
    if (s_layout(self) < 0) {
        err_set(err, ERR_NOMEM, "out of memory");
        model_destroy(&self);
        goto done;
    }
    for (size_t c = 0; c < self->column_count; c++) {
        json_t *weights = json_object_get(json_array_get(columns, c), "weights");
        for (size_t k = 0; k < self->columns[c].width; k++) {
            json_t *weight = json_array_get(weights, k);
            if (!json_is_number(weight)) {
                err_set(err, ERR_INPUT, "model %s: column '%s': weight %zu is not a number", path,
                        self->columns[c].name, k);
                model_destroy(&self);
                goto done;
            }
            self->weights[self->columns[c].first + k] = json_number_value(weight);
        }
    }
    self->intercept = intercept;
    model_set_training(self, label, lambda, (size_t)train_rows);
done:
    json_decref(root);
    return self;
}
