/* model.h — a lead-scoring model: a feature encoder learned from a history
 * export plus the weights of a logistic regression over those features.
 *
 * Each source column becomes a block of features, chosen by the data:
 *   categorical: one 0/1 feature per frequent level, one for "other" (rare
 *     levels pooled, and levels never seen in training), one for "missing";
 *   numeric (more than 90% of the non-empty values parse as numbers and
 *     there are more than 10 distinct ones): a "missing" indicator, the value
 *     standardized (mean-imputed, clipped to +-5 sd) and one 0/1 feature per
 *     quantile bin, so a non-linear effect can be learned too.
 * A value is "missing" when it is NULL, empty or only blanks; a value in a
 * numeric column that does not parse as a number counts as missing.
 *
 * The logit is intercept + sum(w_i * x_i); model_predict can return each
 * w_i * x_i so a caller can explain a score. A model is saved as JSON with a
 * "version" field; a file from a newer version is refused, not guessed at.
 *
 * A model_t owns everything it holds; the strings it returns are borrowed. */
#ifndef LEADOPS_MODEL_H
#define LEADOPS_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define MODEL_VERSION 1 /* of the JSON file; load refuses anything newer */

typedef struct model model_t;

/* Learns the encoder from ROW_COUNT rows of COLUMN_COUNT cells (CELLS is
 * row-major: cell c of row r is CELLS[r * COLUMN_COUNT + c]; NULL or empty
 * means missing). A NULL entry in NAMES skips that column (label, id,
 * excluded); so does a column with no value in any row. The weights start
 * at 0. Returns the model, or NULL with *err (ERR_INPUT: no usable column;
 * ERR_NOMEM). */
model_t *model_new_from_rows(const char *const *names, size_t column_count,
                             const char *const *cells, size_t row_count, err_t *err);
void model_destroy(model_t **self_p); /* NULL-safe, idempotent */

/* Reads a model saved by model_save. Returns it, or NULL with *err: ERR_IO
 * (cannot read), ERR_INPUT (not JSON, a field missing or of the wrong type,
 * sizes that disagree, a version newer than MODEL_VERSION). */
model_t *model_load(const char *path, err_t *err);
/* Writes the model as JSON to PATH (replaced). Returns 0 or -1 with *err. */
int model_save(const model_t *self, const char *path, err_t *err);

size_t model_feature_count(const model_t *self);
size_t model_column_count(const model_t *self);
const char *model_column_name(const model_t *self, size_t column);
bool model_column_is_numeric(const model_t *self, size_t column);
/* Writes a readable name of feature I ("Lead Origin=API", "TotalVisits:missing",
 * "TotalVisits:bin2") into NAME. */
void model_feature_name(const model_t *self, size_t feature, char *name, size_t size);

/* Sets the fitted parameters: WEIGHTS has model_feature_count entries. */
void model_set_weights(model_t *self, double intercept, const double *weights);
double model_intercept(const model_t *self);
const double *model_weights(const model_t *self); /* borrowed */
/* Training facts kept in the file for the reader: label column, L2 penalty. */
void model_set_training(model_t *self, const char *label, double lambda, size_t rows);
const char *model_label(const model_t *self); /* "" when unknown */
double model_lambda(const model_t *self);

/* Fills X (model_feature_count doubles) with the features of one lead given
 * as COUNT pairs NAMES[i] = VALUES[i]; a model column absent from NAMES is
 * missing. */
void model_encode(const model_t *self, const char *const *names, const char *const *values,
                  size_t count, double *x);

/* Returns the probability of conversion for one lead (as model_encode).
 * When CONTRIBUTIONS is not NULL it receives model_feature_count values
 * w_i * x_i; model_intercept + their sum is the logit. */
double model_predict(const model_t *self, const char *const *names, const char *const *values,
                     size_t count, double *contributions);

/* The probability for an encoded X, and the logistic function itself. */
double model_predict_encoded(const model_t *self, const double *x);
double model_sigmoid(double logit);

#endif
