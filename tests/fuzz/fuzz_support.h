/* fuzz_support.h — what several fuzz targets share. */
#ifndef LEADOPS_FUZZ_SUPPORT_H
#define LEADOPS_FUZZ_SUPPORT_H

#include "config.h"

/* The built-in default config (activity types for activity_check), loaded on
 * first use as a service does at start and freed at exit. Aborts if it does
 * not load: that is a bug, not an input. */
const config_t *fuzz_default_config(void);

#endif
