/* fuzz_model.c — libFuzzer target for the model files `leadopsctl train`
 * writes and the scoring service will load. The bytes are written to an
 * in-memory file (memfd, as fuzz_config does, since model_load takes a path)
 * and loaded; a model that loads must predict finite probabilities whose
 * contributions add up to the logit, and save and load again. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("leadops-fuzz-model", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    err_t err = {0};
    model_t *model = model_load(path, &err);
    if (!model) {
        if (!err.msg[0])
            abort(); /* a refusal always says why */
        close(fd);
        return 0;
    }
    size_t columns = model_column_count(model), features = model_feature_count(model);
    const char *names[8], *values[8] = {"1", "", "x", "12.5", "-3", "API", "yes", "0"};
    size_t count = columns < 8 ? columns : 8;
    for (size_t i = 0; i < count; i++)
        names[i] = model_column_name(model, i);
    double *contributions = calloc(features ? features : 1, sizeof *contributions);
    if (!contributions)
        abort();
    double p = model_predict(model, names, values, count, contributions);
    double logit = model_intercept(model);
    for (size_t i = 0; i < features; i++)
        logit += contributions[i];
    if (isfinite(logit) && (!(p >= 0 && p <= 1) || fabs(model_sigmoid(logit) - p) > 1e-9))
        abort();
    free(contributions);
    if (model_save(model, path, &err) == 0) {
        model_t *again = model_load(path, &err);
        if (!again)
            abort(); /* what we save, we must load */
        model_destroy(&again);
    }
    model_destroy(&model);
    close(fd);
    return 0;
}
