#include "keys.h"

#include <stdio.h>

const char *keys_format(char *out, size_t size, const char *prefix, const char *suffix)
{
    snprintf(out, size, "%s:%s", prefix, suffix);
    return out;
}
