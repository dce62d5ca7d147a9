#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(err_t *err, err_code_t code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int err_wrap(err_t *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Build "prefix: old" in a buffer large enough for both, then cut. */
    char joined[2 * ERR_MSG_MAX + 3];
    snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg);
    size_t len = strlen(joined);
    if (len >= sizeof err->msg)
        len = sizeof err->msg - 1;
    memcpy(err->msg, joined, len);
    err->msg[len] = '\0';
    return -1;
}

void err_clear(err_t *err)
{
    if (err) {
        err->code = ERR_NONE;
        err->msg[0] = '\0';
    }
}

const char *err_code_name(err_code_t code)
{
    switch (code) {
    case ERR_NONE:
        return "none";
    case ERR_IO:
        return "io";
    case ERR_INPUT:
        return "input";
    case ERR_CONFIG:
        return "config";
    case ERR_NOMEM:
        return "nomem";
    case ERR_BUSY:
        return "busy";
    case ERR_NOTFOUND:
        return "notfound";
    }
    return "unknown";
}
