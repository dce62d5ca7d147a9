/* model_live.h — the scoring service's live model: a model file named in the
 * config, read through a mapping from each model input column ("Lead Source")
 * to a lead field ("source", "attributes.total_visits"), and reloaded without
 * a restart when the file changes.
 *
 * Invariants: there is always a current model, and it fits the mapping (every
 * model column is mapped, every mapped column is a model column, every field
 * is a lead field). A changed file that cannot be read or does not fit is
 * refused once and the current model stays; a file is only tried again when
 * it changes again. Prediction reads the lead through the mapping and uses
 * scratch buffers sized at load, so it does not allocate (jansson aside) and a
 * model_live_t belongs to one thread.
 *
 * A model_live_t owns its model, its copy of the mapping and its buffers; the
 * strings it returns are borrowed and valid until the next successful poll. */
#ifndef LEADOPS_MODEL_LIVE_H
#define LEADOPS_MODEL_LIVE_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "leadops.pb-c.h"

typedef struct model_live model_live_t;

/* Loads the model file PATH and checks it fits the mapping: COUNT pairs
 * COLUMNS[i] (a model input column) -> FIELDS[i] (a lead field, as
 * lead_field_is_known). Every model column must be mapped, every mapped column
 * must be a column of the model, every field must be a lead field, and no
 * column may be mapped twice. Copies PATH and the mapping. Returns the live
 * model, or NULL with *err naming the file and the offending columns or
 * fields: ERR_IO (cannot read the file), ERR_INPUT (not a model, a version
 * newer than this build reads, a model that does not fit the mapping, a bad
 * mapping), ERR_NOMEM. */
model_live_t *model_live_new(const char *path, const char *const *columns,
                             const char *const *fields, size_t count, err_t *err);
void model_live_destroy(model_live_t **self_p); /* NULL-safe, idempotent */

/* Checks whether the file changed since the last load attempt (one stat:
 * device, inode, size and mtime with nanoseconds) and if so loads and checks
 * it as model_live_new does. Returns 1 when the new model replaced the current
 * one; 0 when nothing changed, including a changed file that was already
 * refused (a refused version is neither retried nor reported twice); -1 when
 * the changed file was refused: the current model stays and *err names the
 * file and the reason. A file that disappeared (or cannot be stat'ed) is -1
 * once, ERR_IO, and 0 until it comes back. */
int model_live_poll(model_live_t *self, err_t *err);

/* Returns the probability of conversion for LEAD, its fields read through
 * the mapping. An empty field is missing, and so is a numeric lead field
 * (company_size, annual_revenue, created_at_ms) at 0: proto3 cannot tell 0
 * from unset. When TOP (a JSON array) is not NULL, appends up to TOP_N
 * objects {"feature": "Lead Origin=API", "contribution": -0.42}, largest
 * |contribution| first, features contributing 0 left out. When LOGIT is not
 * NULL it receives the intercept plus the sum of all contributions, so
 * model_sigmoid(*LOGIT) is the return value. */
double model_live_predict(model_live_t *self, const Leadops__Lead *lead, json_t *top, size_t top_n,
                          double *logit);

/* A short description of the current model for logs and explanations:
 * "<file basename> (<features> features, <columns> columns)". Borrowed. */
const char *model_live_describe(const model_live_t *self);

#endif
