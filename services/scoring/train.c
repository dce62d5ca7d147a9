/* train.c — logistic regression fit and metrics (train.h). */
#include "train.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define NEWTON_MAX_STEPS 50
#define NEWTON_TOLERANCE 1e-8 /* relative objective change that counts as converged */
#define INTERCEPT_RIDGE  1e-9 /* keeps the Hessian definite when a class is nearly absent */
#define P_CLAMP          1e-15

static uint64_t s_mix(uint64_t x)
{
    /* splitmix64 finalizer: every input bit moves every output bit. */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

double train_split_point(const char *text, uint64_t seed)
{
    uint64_t hash = 0xCBF29CE484222325ull; /* FNV-1a, then mixed with the seed */
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        hash = (hash ^ *c) * 0x100000001B3ull;
    return (double)(s_mix(hash ^ s_mix(seed)) >> 11) * 0x1.0p-53;
}

/* Logit of row R under (B, W). */
static double s_logit(const train_data_t *data, size_t r, double b, const double *w)
{
    double logit = b;
    for (size_t k = data->row_start[r]; k < data->row_start[r + 1]; k++)
        logit += w[data->index[k]] * data->value[k];
    return logit;
}

/* log(1 + e^z) without overflow. */
static double s_softplus(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double s_objective(const train_data_t *data, const size_t *rows, size_t n, double lambda,
                          double b, const double *w)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows ? rows[i] : i;
        double z = s_logit(data, r, b, w);
        sum += s_softplus(z) - (data->label[r] ? z : 0);
    }
    for (size_t j = 0; j < data->feature_count; j++)
        sum += 0.5 * lambda * w[j] * w[j];
    return sum;
}

/* Solves A x = B in place (B becomes x) for symmetric positive definite A
 * (Q x Q, lower triangle used, destroyed). Returns -1 if A is not definite. */
static int s_cholesky_solve(double *a, double *b, size_t q)
{
    for (size_t j = 0; j < q; j++) {
        double d = a[j * q + j];
        for (size_t k = 0; k < j; k++)
            d -= a[j * q + k] * a[j * q + k];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[j * q + j] = d;
        for (size_t i = j + 1; i < q; i++) {
            double s = a[i * q + j];
            for (size_t k = 0; k < j; k++)
                s -= a[i * q + k] * a[j * q + k];
            a[i * q + j] = s / d;
        }
    }
    for (size_t i = 0; i < q; i++) { /* L y = b */
        for (size_t k = 0; k < i; k++)
            b[i] -= a[i * q + k] * b[k];
        b[i] /= a[i * q + i];
    }
    for (size_t i = q; i-- > 0;) { /* L^T x = y */
        for (size_t k = i + 1; k < q; k++)
            b[i] -= a[k * q + i] * b[k];
        b[i] /= a[i * q + i];
    }
    return 0;
}

int train_fit(const train_data_t *data, const size_t *rows, size_t n, double lambda,
              double *intercept, double *weights, err_t *err)
{
    if (!rows)
        n = data->row_count;
    size_t positives = 0;
    for (size_t i = 0; i < n; i++)
        positives += data->label[rows ? rows[i] : i] != 0;
    if (!n || !positives || positives == n)
        return err_set(err, ERR_INPUT, "cannot fit: %zu rows, %zu positive: need both classes", n,
                       positives);
    size_t p = data->feature_count, q = p + 1; /* parameter 0 is the intercept */
    double *hessian = malloc(q * q * sizeof *hessian);
    double *step = malloc(q * sizeof *step), *trial = malloc(p ? p * sizeof *trial : 1);
    if (!hessian || !step || !trial) {
        free(hessian), free(step), free(trial);
        return err_set(err, ERR_NOMEM, "out of memory fitting %zu features", p);
    }
    /* Start at the base rate: the first step is then already small. */
    double b = log((double)positives / (double)(n - positives));
    memset(weights, 0, p * sizeof *weights);
    double objective = s_objective(data, rows, n, lambda, b, weights);
    int steps = 0, rc = 0;
    for (; steps < NEWTON_MAX_STEPS; steps++) {
        memset(hessian, 0, q * q * sizeof *hessian);
        memset(step, 0, q * sizeof *step);
        for (size_t i = 0; i < n; i++) {
            size_t r = rows ? rows[i] : i;
            double mu = model_sigmoid(s_logit(data, r, b, weights));
            double residual = mu - data->label[r], curvature = mu * (1 - mu);
            size_t from = data->row_start[r], to = data->row_start[r + 1];
            step[0] += residual;
            hessian[0] += curvature;
            for (size_t k = from; k < to; k++) {
                size_t a = data->index[k] + 1;
                double xa = data->value[k];
                step[a] += residual * xa;
                hessian[a * q] += curvature * xa;
                for (size_t m = from; m < to; m++) /* lower triangle only */
                    if (data->index[m] + 1 <= a)
                        hessian[a * q + data->index[m] + 1] += curvature * xa * data->value[m];
            }
        }
        hessian[0] += INTERCEPT_RIDGE;
        for (size_t j = 0; j < p; j++) {
            step[j + 1] += lambda * weights[j];
            hessian[(j + 1) * q + j + 1] += lambda + INTERCEPT_RIDGE;
        }
        if (s_cholesky_solve(hessian, step, q) < 0) {
            rc = err_set(err, ERR_INPUT, "cannot fit: Hessian not positive definite");
            break;
        }
        /* Halve the step until the objective does not rise: Newton can
         * overshoot far from the optimum. */
        double scale = 1, next = objective, next_b = b;
        for (int halvings = 0; halvings < 30; halvings++, scale /= 2) {
            next_b = b - scale * step[0];
            for (size_t j = 0; j < p; j++)
                trial[j] = weights[j] - scale * step[j + 1];
            next = s_objective(data, rows, n, lambda, next_b, trial);
            if (next <= objective)
                break;
        }
        if (!(next <= objective))
            break; /* no descent left: at the optimum within rounding */
        b = next_b;
        memcpy(weights, trial, p * sizeof *weights);
        bool converged = objective - next <= NEWTON_TOLERANCE * (1 + fabs(next));
        objective = next;
        if (converged) {
            steps++;
            break;
        }
    }
    *intercept = b;
    free(hessian), free(step), free(trial);
    return rc < 0 ? -1 : steps;
}

double train_choose_lambda(const train_data_t *data, const size_t *rows, size_t n,
                           const double *candidates, size_t count, int folds, uint64_t seed,
                           err_t *err)
{
    if (!rows)
        n = data->row_count;
    size_t *fit_rows = malloc((n ? n : 1) * sizeof *fit_rows);
    size_t *held_rows = malloc((n ? n : 1) * sizeof *held_rows);
    int *fold_of = malloc((n ? n : 1) * sizeof *fold_of);
    double *weights = malloc((data->feature_count + 1) * sizeof *weights);
    double *loss = calloc(count ? count : 1, sizeof *loss);
    double best = -1;
    if (!fit_rows || !held_rows || !fold_of || !weights || !loss) {
        err_set(err, ERR_NOMEM, "out of memory choosing lambda");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        fold_of[i] = (int)(s_mix(i ^ s_mix(seed)) % (uint64_t)folds);
    for (int fold = 0; fold < folds; fold++) {
        size_t fit_n = 0, held_n = 0;
        for (size_t i = 0; i < n; i++) {
            size_t r = rows ? rows[i] : i;
            if (fold_of[i] == fold)
                held_rows[held_n++] = r;
            else
                fit_rows[fit_n++] = r;
        }
        for (size_t c = 0; c < count; c++) {
            double b;
            if (train_fit(data, fit_rows, fit_n, candidates[c], &b, weights, err) < 0) {
                err_wrap(err, "cross validation fold %d", fold + 1);
                goto done;
            }
            for (size_t i = 0; i < held_n; i++) {
                double pr = model_sigmoid(s_logit(data, held_rows[i], b, weights));
                pr = fmin(1 - P_CLAMP, fmax(P_CLAMP, pr));
                loss[c] -= log(data->label[held_rows[i]] ? pr : 1 - pr);
            }
        }
    }
    best = candidates[0];
    for (size_t c = 1; c < count; c++)
        if (loss[c] < loss[0] - 1e-12) {
            loss[0] = loss[c];
            best = candidates[c];
        }
done:
    free(fit_rows), free(held_rows), free(fold_of), free(weights), free(loss);
    return best;
}

typedef struct {
    double score;
    unsigned char label;
} s_scored_t;

/* Highest score first. */
static int s_compare_scored(const void *a, const void *b)
{
    double x = ((const s_scored_t *)a)->score, y = ((const s_scored_t *)b)->score;
    return (x < y) - (x > y);
}

static s_scored_t *s_sorted(const double *scores, const unsigned char *labels, size_t n,
                            size_t *positives)
{
    s_scored_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    *positives = 0;
    if (!sorted)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        sorted[i] = (s_scored_t){scores[i], labels[i] != 0};
        *positives += sorted[i].label;
    }
    qsort(sorted, n, sizeof *sorted, s_compare_scored);
    return sorted;
}

double train_auc(const double *scores, const unsigned char *labels, size_t n)
{
    size_t positives;
    s_scored_t *sorted = s_sorted(scores, labels, n, &positives);
    if (!sorted || !positives || positives == n) {
        free(sorted);
        return NAN;
    }
    /* Walk groups of tied scores from the top: each negative in a group
     * ranks below every positive seen before it and ties half with the
     * positives in its own group. */
    double wins = 0;
    size_t positives_above = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, group_pos = 0, group_neg = 0;
        for (; j < n && sorted[j].score == sorted[i].score; j++)
            sorted[j].label ? group_pos++ : group_neg++;
        wins += (double)group_neg * ((double)positives_above + 0.5 * (double)group_pos);
        positives_above += group_pos;
        i = j;
    }
    free(sorted);
    return wins / ((double)positives * (double)(n - positives));
}

double train_log_loss(const double *p, const unsigned char *labels, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double pr = fmin(1 - P_CLAMP, fmax(P_CLAMP, p[i]));
        sum -= log(labels[i] ? pr : 1 - pr);
    }
    return n ? sum / (double)n : NAN;
}

double train_youden(const double *p, const unsigned char *labels, size_t n, double *sensitivity,
                    double *specificity)
{
    size_t positives;
    s_scored_t *sorted = s_sorted(p, labels, n, &positives);
    if (!sorted || !positives || positives == n) {
        free(sorted);
        return NAN;
    }
    size_t negatives = n - positives, true_pos = 0, false_pos = 0;
    double best_j = -2, cutoff = NAN;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        for (; j < n && sorted[j].score == sorted[i].score; j++)
            sorted[j].label ? true_pos++ : false_pos++;
        /* Cut-off sorted[i].score: everything down to this group is positive. */
        double sens = (double)true_pos / (double)positives;
        double spec = 1 - (double)false_pos / (double)negatives;
        if (sens + spec - 1 > best_j) {
            best_j = sens + spec - 1;
            cutoff = sorted[i].score;
            *sensitivity = sens;
            *specificity = spec;
        }
        i = j;
    }
    free(sorted);
    return cutoff;
}
