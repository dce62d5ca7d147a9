/* model_live.c — the live model: load, check against the mapping, reload on
 * change, predict (model_live.h). */
#include "model_live.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lead.h"
#include "model.h"

#define NUMBER_TEXT_MAX 32 /* "%.17g" of a double, with room to spare */
#define NAME_LIST_MAX   256
#define MAPPING_KEY     "scoring.model.mapping"

typedef struct {
    char *column; /* owned; a model input column */
    char *field;  /* owned; the lead field it reads */
    bool numeric; /* FIELD is a number of the Lead message, not a string */
} s_pair_t;

/* What one stat says about the file; two equal identities mean "unchanged". */
typedef struct {
    int stat_errno; /* 0 when the stat succeeded; then the rest is set */
    dev_t device;
    ino_t inode;
    off_t size;
    struct timespec mtime;
} s_identity_t;

/* One loaded model with everything prediction needs, built whole before it
 * replaces the current one so a refused file never leaves a half state. */
typedef struct {
    model_t *model; /* owned */
    size_t column_count;
    size_t feature_count;
    const s_pair_t **pair_of_column; /* owned array; pairs borrowed from model_live_t */
    const char **column_names;       /* owned array; names borrowed from MODEL */
    const char **values;             /* owned; scratch, one per column */
    char *number_text;               /* owned; scratch, NUMBER_TEXT_MAX per column */
    double *x;                       /* owned; scratch, one per feature */
    double *contributions;           /* owned; scratch, one per feature */
    size_t *order;                   /* owned; scratch, one per feature */
    char **feature_names;            /* owned, and each name */
    char description[256];
} s_version_t;

struct model_live {
    char *path; /* owned */
    size_t pair_count;
    s_pair_t *pairs;      /* owned */
    s_version_t *current; /* owned; never NULL */
    s_identity_t seen;    /* of the file at the last load attempt, good or refused */
};

/* calloc that never asks for 0 bytes, so NULL always means out of memory. */
static void *s_calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size);
}

static void s_identity_read(const char *path, s_identity_t *identity)
{
    struct stat st;
    memset(identity, 0, sizeof *identity);
    if (stat(path, &st) < 0) {
        identity->stat_errno = errno;
        return;
    }
    identity->device = st.st_dev;
    identity->inode = st.st_ino;
    identity->size = st.st_size;
    identity->mtime = st.st_mtim;
}

static bool s_identity_equal(const s_identity_t *a, const s_identity_t *b)
{
    if (a->stat_errno || b->stat_errno)
        return a->stat_errno == b->stat_errno;
    return a->device == b->device && a->inode == b->inode && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Appends "NAME" to the comma-separated LIST; a list too long is cut. */
static void s_list_append(char *list, size_t size, const char *name)
{
    size_t len = strlen(list);
    if (len + 1 < size)
        snprintf(list + len, size - len, "%s\"%s\"", len ? ", " : "", name);
}

static const s_pair_t *s_pair_find(const model_live_t *self, const char *column)
{
    for (size_t i = 0; i < self->pair_count; i++)
        if (strcmp(self->pairs[i].column, column) == 0)
            return &self->pairs[i];
    return NULL;
}

static bool s_model_has_column(const model_t *model, const char *column)
{
    for (size_t c = 0; c < model_column_count(model); c++)
        if (strcmp(model_column_name(model, c), column) == 0)
            return true;
    return false;
}

static void s_version_destroy(s_version_t **version_p)
{
    s_version_t *version = *version_p;
    if (!version)
        return;
    if (version->feature_names)
        for (size_t i = 0; i < version->feature_count; i++)
            free(version->feature_names[i]);
    free(version->feature_names);
    free(version->pair_of_column);
    free(version->column_names);
    free(version->values);
    free(version->number_text);
    free(version->x);
    free(version->contributions);
    free(version->order);
    model_destroy(&version->model);
    free(version);
    *version_p = NULL;
}

/* Refuses MODEL unless it fits the mapping, naming every offending column. */
static int s_check_fit(const model_live_t *self, const model_t *model, err_t *err)
{
    char unmapped[NAME_LIST_MAX] = "", unknown[NAME_LIST_MAX] = "";
    size_t unmapped_count = 0, unknown_count = 0;
    for (size_t c = 0; c < model_column_count(model); c++)
        if (!s_pair_find(self, model_column_name(model, c))) {
            s_list_append(unmapped, sizeof unmapped, model_column_name(model, c));
            unmapped_count++;
        }
    for (size_t i = 0; i < self->pair_count; i++)
        if (!s_model_has_column(model, self->pairs[i].column)) {
            s_list_append(unknown, sizeof unknown, self->pairs[i].column);
            unknown_count++;
        }
    if (unmapped_count)
        return err_set(err, ERR_INPUT, "model %s: column%s %s of the model %s no mapping in %s",
                       self->path, unmapped_count > 1 ? "s" : "", unmapped,
                       unmapped_count > 1 ? "have" : "has", MAPPING_KEY);
    if (unknown_count)
        return err_set(err, ERR_INPUT, "model %s: %s names column%s %s the model does not have",
                       self->path, MAPPING_KEY, unknown_count > 1 ? "s" : "", unknown);
    return 0;
}

/* Loads the file and builds a version that fits the mapping, or NULL with *err. */
static s_version_t *s_version_load(const model_live_t *self, err_t *err)
{
    model_t *model = model_load(self->path, err);
    if (!model)
        return NULL;
    if (s_check_fit(self, model, err) < 0) {
        model_destroy(&model);
        return NULL;
    }
    s_version_t *version = calloc(1, sizeof *version);
    if (!version) {
        model_destroy(&model);
        err_set(err, ERR_NOMEM, "model %s: out of memory", self->path);
        return NULL;
    }
    version->model = model;
    version->column_count = model_column_count(model);
    version->feature_count = model_feature_count(model);
    size_t columns = version->column_count, features = version->feature_count;
    version->pair_of_column = s_calloc(columns, sizeof *version->pair_of_column);
    version->column_names = s_calloc(columns, sizeof *version->column_names);
    version->values = s_calloc(columns, sizeof *version->values);
    version->number_text = s_calloc(columns, NUMBER_TEXT_MAX);
    version->x = s_calloc(features, sizeof *version->x);
    version->contributions = s_calloc(features, sizeof *version->contributions);
    version->order = s_calloc(features, sizeof *version->order);
    version->feature_names = s_calloc(features, sizeof *version->feature_names);
    if (!version->pair_of_column || !version->column_names || !version->values ||
        !version->number_text || !version->x || !version->contributions || !version->order ||
        !version->feature_names)
        goto nomem;
    for (size_t c = 0; c < columns; c++) {
        version->column_names[c] = model_column_name(model, c);
        version->pair_of_column[c] = s_pair_find(self, version->column_names[c]);
    }
    /* Names are made once here so an explanation costs no formatting. */
    char name[512];
    for (size_t i = 0; i < features; i++) {
        model_feature_name(model, i, name, sizeof name);
        if (!(version->feature_names[i] = strdup(name)))
            goto nomem;
    }
    const char *slash = strrchr(self->path, '/');
    snprintf(version->description, sizeof version->description, "%s (%zu features, %zu columns)",
             slash ? slash + 1 : self->path, features, columns);
    return version;
nomem:
    s_version_destroy(&version);
    err_set(err, ERR_NOMEM, "model %s: out of memory", self->path);
    return NULL;
}

/* Copies the mapping and checks what does not depend on the file. */
static int s_mapping_copy(model_live_t *self, const char *const *columns, const char *const *fields,
                          size_t count, err_t *err)
{
    if (!(self->pairs = s_calloc(count, sizeof *self->pairs)))
        return err_set(err, ERR_NOMEM, "model %s: out of memory", self->path);
    Leadops__Lead empty = LEADOPS__LEAD__INIT;
    for (size_t i = 0; i < count; i++) {
        assert(columns[i] && fields[i]);
        if (s_pair_find(self, columns[i]))
            return err_set(err, ERR_INPUT, "model %s: %s maps column \"%s\" twice", self->path,
                           MAPPING_KEY, columns[i]);
        if (!lead_field_is_known(fields[i]))
            return err_set(err, ERR_INPUT,
                           "model %s: %s maps column \"%s\" to \"%s\", which is not a lead field "
                           "(a Lead field name or attributes.KEY)",
                           self->path, MAPPING_KEY, columns[i], fields[i]);
        s_pair_t *pair = &self->pairs[self->pair_count++];
        if (!(pair->column = strdup(columns[i])) || !(pair->field = strdup(fields[i])))
            return err_set(err, ERR_NOMEM, "model %s: out of memory", self->path);
        /* lead_field_text formats numbers into the caller's buffer and
         * returns strings from the lead: that tells the two kinds apart. */
        char buf[NUMBER_TEXT_MAX];
        pair->numeric = lead_field_text(&empty, pair->field, buf, sizeof buf) == buf;
    }
    return 0;
}

model_live_t *model_live_new(const char *path, const char *const *columns,
                             const char *const *fields, size_t count, err_t *err)
{
    assert(path);
    assert(count == 0 || (columns && fields));
    model_live_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        free(self);
        err_set(err, ERR_NOMEM, "model %s: out of memory", path);
        return NULL;
    }
    if (s_mapping_copy(self, columns, fields, count, err) < 0) {
        model_live_destroy(&self);
        return NULL;
    }
    /* Stat before reading: if the file changes while it is read, the next
     * poll sees a newer identity and reads it again. */
    s_identity_read(path, &self->seen);
    if (self->seen.stat_errno) {
        err_set(err, ERR_IO, "cannot read model %s: %s", path, strerror(self->seen.stat_errno));
        model_live_destroy(&self);
        return NULL;
    }
    if (!(self->current = s_version_load(self, err)))
        model_live_destroy(&self);
    return self;
}

void model_live_destroy(model_live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    model_live_t *self = *self_p;
    s_version_destroy(&self->current);
    for (size_t i = 0; i < self->pair_count; i++) {
        free(self->pairs[i].column);
        free(self->pairs[i].field);
    }
    free(self->pairs);
    free(self->path);
    free(self);
    *self_p = NULL;
}

int model_live_poll(model_live_t *self, err_t *err)
{
    s_identity_t now;
    s_identity_read(self->path, &now);
    if (s_identity_equal(&now, &self->seen))
        return 0;
    /* Recorded before the load, good or bad: a refused version is tried
     * once, and a file rewritten during the load differs from NOW. */
    self->seen = now;
    if (now.stat_errno)
        return err_set(err, ERR_IO, "model %s: %s; still scoring with %s", self->path,
                       now.stat_errno == ENOENT ? "the file is gone" : strerror(now.stat_errno),
                       self->current->description);
    s_version_t *next = s_version_load(self, err);
    if (!next)
        return err_wrap(err, "model reload refused, still scoring with %s",
                        self->current->description);
    s_version_destroy(&self->current);
    self->current = next;
    return 1;
}

/* The text of the field PAIR reads, NULL when missing; numbers go to BUF. */
static const char *s_field_value(const Leadops__Lead *lead, const s_pair_t *pair, char *buf)
{
    if (!pair->numeric)
        return lead_field_text(lead, pair->field, buf, NUMBER_TEXT_MAX);
    /* Full precision, not lead_field_text's "%g": a value near a bin cut
     * must land in the bin training put it in. */
    double number = 0;
    if (!lead_field_number(lead, pair->field, &number) || number == 0)
        return NULL;
    snprintf(buf, NUMBER_TEXT_MAX, "%.17g", number);
    return buf;
}

/* Appends the TOP_N largest |contributions| of VERSION to TOP, by partial
 * selection in the preallocated ORDER: TOP_N is small, and qsort may allocate. */
static void s_append_top(s_version_t *version, json_t *top, size_t top_n)
{
    const double *contributions = version->contributions;
    size_t *order = version->order, count = 0;
    for (size_t i = 0; i < version->feature_count; i++)
        if (contributions[i] != 0)
            order[count++] = i;
    for (size_t k = 0; k < top_n && k < count; k++) {
        size_t best = k;
        for (size_t j = k + 1; j < count; j++)
            if (fabs(contributions[order[j]]) > fabs(contributions[order[best]]))
                best = j;
        size_t chosen = order[best];
        order[best] = order[k];
        order[k] = chosen;
        json_array_append_new(top,
                              json_pack("{s:s, s:f}", "feature", version->feature_names[chosen],
                                        "contribution", contributions[chosen]));
    }
}

double model_live_predict(model_live_t *self, const Leadops__Lead *lead, json_t *top, size_t top_n,
                          double *logit)
{
    assert(lead);
    s_version_t *version = self->current;
    for (size_t c = 0; c < version->column_count; c++)
        version->values[c] = s_field_value(lead, version->pair_of_column[c],
                                           version->number_text + c * NUMBER_TEXT_MAX);
    /* Encoded here rather than through model_predict, which may allocate. */
    model_encode(version->model, version->column_names, version->values, version->column_count,
                 version->x);
    const double *weights = model_weights(version->model);
    double sum = model_intercept(version->model);
    for (size_t i = 0; i < version->feature_count; i++) {
        version->contributions[i] = weights[i] * version->x[i];
        sum += version->contributions[i];
    }
    if (top)
        s_append_top(version, top, top_n);
    if (logit)
        *logit = sum;
    return model_sigmoid(sum);
}

const char *model_live_describe(const model_live_t *self)
{
    return self->current->description;
}
