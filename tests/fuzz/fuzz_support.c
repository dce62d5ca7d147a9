/* fuzz_support.c — see fuzz_support.h. */
#include "fuzz_support.h"

#include <stdio.h>
#include <stdlib.h>

static config_t *s_config;

static void s_config_free(void)
{
    config_destroy(&s_config);
}

const config_t *fuzz_default_config(void)
{
    if (!s_config) {
        err_t err = {0};
        s_config = config_load(NULL, &err);
        if (!s_config) {
            fprintf(stderr, "fuzz: config_load(NULL): %s\n", err.msg);
            abort();
        }
        atexit(s_config_free);
    }
    return s_config;
}
