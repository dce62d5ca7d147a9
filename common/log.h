/* log.h — one line per entry on stderr:
 *   <UTC time> <level> <service>: <message>
 * or one JSON object per line when the format is json. Formatting is skipped
 * when the level is filtered. Never pass a lead's personal data (email, names,
 * phone) or a secret to these macros. The level, format and service name are
 * mutable globals, set once at start (like the signal flags of service.c and
 * of leadopsctl's long commands). */
#ifndef LEADOPS_LOG_H
#define LEADOPS_LOG_H

#include <stdbool.h>

typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level_t;

extern log_level_t log_threshold;

void log_init(const char *service, log_level_t level, bool json);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int log_level_parse(const char *name, log_level_t *level);
void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= log_threshold)                                                              \
            log_write((level), __VA_ARGS__);                                                       \
    } while (0)
#define log_error(...) LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

#endif
