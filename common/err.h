/* err.h — one line of error context, filled where the facts are known.
 *
 * A call that can fail for outside reasons takes `err_t *err` last, returns
 * -1 (or NULL) and fills *err with a code and one human line. ERR may be
 * NULL when the caller does not care. Libraries never log; the service loop
 * logs each error once. */
#ifndef LEADOPS_ERR_H
#define LEADOPS_ERR_H

#include <stddef.h>

typedef enum {
    ERR_NONE = 0,
    ERR_IO,     /* network, file or Redis failure: may succeed on retry */
    ERR_INPUT,  /* bad input from outside: answer the sender, do not retry */
    ERR_CONFIG, /* bad configuration: refuse to start */
    ERR_NOMEM,
    ERR_BUSY, /* backpressure: try again later */
    ERR_NOTFOUND,
} err_code_t;

#define ERR_MSG_MAX 512

typedef struct {
    err_code_t code;
    char msg[ERR_MSG_MAX];
} err_t;

/* Fills ERR (if not NULL) and returns -1, so `return err_set(...)` reads well. */
int err_set(err_t *err, err_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes ERR's message with more context: "context: old message". Returns -1. */
int err_wrap(err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void err_clear(err_t *err);
const char *err_code_name(err_code_t code);

#endif
