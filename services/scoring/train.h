/* train.h — fitting an L2-regularized logistic regression and measuring
 * it: the numeric half of `leadopsctl train` / `evaluate`, kept free of
 * files and CSV so tests and the scoring service can use it.
 *
 * The data is a sparse row matrix (most features of an encoded lead are 0)
 * with a 0/1 label per row. The fit minimizes
 *   sum_i logloss(y_i, sigmoid(b + w.x_i)) + lambda/2 * |w|^2
 * (the intercept b is not penalized) by Newton's method with step halving:
 * the Hessian is small (features^2) and a handful of steps converge.
 * All arrays are borrowed from the caller. */
#ifndef LEADOPS_TRAIN_H
#define LEADOPS_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct {
    size_t row_count, feature_count;
    const size_t *row_start;    /* row_count + 1 offsets into index/value */
    const uint32_t *index;      /* feature of each non-zero */
    const double *value;        /* its value */
    const unsigned char *label; /* row_count labels, 0 or 1 */
} train_data_t;

/* Fits on the rows listed in ROWS (ROW_COUNT of them; NULL: all rows of
 * DATA) with penalty LAMBDA. Writes the intercept and feature_count WEIGHTS.
 * Returns the number of Newton steps, or -1 with *err (ERR_INPUT: no rows or
 * one class only; ERR_NOMEM; the Hessian not positive definite). */
int train_fit(const train_data_t *data, const size_t *rows, size_t row_count, double lambda,
              double *intercept, double *weights, err_t *err);

/* Chooses lambda from CANDIDATES (COUNT of them) by FOLDS-fold cross
 * validation on ROWS (NULL: all), by mean held-out log loss; folds are drawn
 * from SEED. Returns the best lambda, or a negative value with *err. */
double train_choose_lambda(const train_data_t *data, const size_t *rows, size_t row_count,
                           const double *candidates, size_t count, int folds, uint64_t seed,
                           err_t *err);

/* Area under the ROC curve of SCORES against 0/1 LABELS (ties count half).
 * NAN when one class is absent. */
double train_auc(const double *scores, const unsigned char *labels, size_t n);
/* Mean negative log likelihood of probabilities P (clamped to 1e-15). */
double train_log_loss(const double *p, const unsigned char *labels, size_t n);
/* The cut-off t (a lead is positive when p >= t) that maximizes Youden's
 * J = sensitivity + specificity - 1; writes both at t. NAN if a class is absent. */
double train_youden(const double *p, const unsigned char *labels, size_t n, double *sensitivity,
                    double *specificity);

/* A 64-bit mix of TEXT and SEED, uniform in [0, 1): a row is in the first
 * SHARE of a split when train_split_point(id, seed) < share. */
double train_split_point(const char *text, uint64_t seed);

#endif
