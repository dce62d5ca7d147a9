#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

log_level_t log_threshold = LOG_INFO;
static char s_service[64] = "leadops";
static bool s_json = false;

static const char *s_level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *service, log_level_t level, bool json)
{
    snprintf(s_service, sizeof s_service, "%s", service);
    log_threshold = level;
    s_json = json;
}

int log_level_parse(const char *name, log_level_t *level)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (strcmp(name, s_level_names[i]) == 0) {
            *level = (log_level_t)i;
            return 0;
        }
    return -1;
}

/* Escapes MSG as a JSON string body into OUT. */
static void s_json_escape(const char *msg, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = msg; *p && o + 7 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

void log_write(log_level_t level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[40];
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

    if (s_json) {
        char escaped[sizeof msg * 2];
        s_json_escape(msg, escaped, sizeof escaped);
        fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"msg\":\"%s\"}\n",
                stamp, s_level_names[level], s_service, escaped);
    } else {
        fprintf(stderr, "%s %s %s: %s\n", stamp, s_level_names[level], s_service, msg);
    }
}
