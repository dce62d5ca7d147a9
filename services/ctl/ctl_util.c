#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "envelope.h"
#include "json_codec.h"
#include "service.h"

uint8_t *ctl_envelope_from_json(const json_t *obj, const char *producer, char event_id[64],
                                size_t *size, err_t *err)
{
    if (!json_is_object(obj)) {
        err_set(err, ERR_INPUT, "expected a JSON object");
        return NULL;
    }
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    bool is_activity = kind ? strcmp(kind, "activity") == 0 : json_object_get(obj, "type") != NULL;
    if (kind && !is_activity && strcmp(kind, "lead") != 0) {
        err_set(err, ERR_INPUT, "kind must be \"lead\" or \"activity\"");
        return NULL;
    }
    const char *given = json_string_value(json_object_get(obj, "event_id"));
    if (given && strlen(given) < 64)
        snprintf(event_id, 64, "%s", given);
    else
        envelope_new_id(event_id);

    uint8_t *bytes = NULL;
    if (is_activity) {
        Leadops__Activity *activity = json_to_activity(obj, err);
        if (!activity)
            return NULL;
        bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_ACTIVITY, event_id, producer,
                              activity->occurred_at_ms, 0, &activity->base, size, err);
        leadops__activity__free_unpacked(activity, NULL);
    } else {
        Leadops__Lead *lead = json_to_lead(obj, err);
        if (!lead)
            return NULL;
        bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_LEAD, event_id, producer,
                              lead->created_at_ms, 0, &lead->base, size, err);
        leadops__lead__free_unpacked(lead, NULL);
    }
    return bytes;
}

store_t *ctl_store_open(const config_t *cfg)
{
    err_t err = {0};
    store_t *store = service_store_new(cfg, true, &err);
    if (!store)
        fprintf(stderr,
                "leadopsctl: %s\n"
                "leadopsctl: is Redis running? Point --config (or LEADOPS_REDIS_HOST/PORT) at it\n",
                err.msg);
    return store;
}

void ctl_progress_start(ctl_progress_t *progress)
{
    progress->tty = isatty(STDERR_FILENO);
    progress->start_ms = clock_mono_ms();
    progress->last_draw_ms = 0;
}

void ctl_progress_draw(ctl_progress_t *progress, const char *fmt, ...)
{
    int64_t now = clock_mono_ms();
    if (!progress->tty || now - progress->last_draw_ms < 200)
        return;
    progress->last_draw_ms = now;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

double ctl_progress_end(ctl_progress_t *progress)
{
    if (progress->tty)
        fprintf(stderr, "\r\033[K");
    return (double)(clock_mono_ms() - progress->start_ms) / 1000.0;
}

void ctl_print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text) {
        puts(text);
        free(text);
    }
    json_decref(value);
}

void ctl_problem(ctl_problems_t *problems, uint64_t line, const char *fmt, ...)
{
    if (problems->shown >= CTL_PROBLEMS_SHOWN) {
        problems->hidden++;
        return;
    }
    problems->shown++;
    fprintf(problems->out, "%s%s:", problems->tty ? "\r\033[K" : "", problems->path);
    if (line)
        fprintf(problems->out, "%llu:", (unsigned long long)line);
    fputc(' ', problems->out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(problems->out, fmt, ap);
    va_end(ap);
    fputc('\n', problems->out);
}

void ctl_problems_end(const ctl_problems_t *problems)
{
    if (problems->hidden)
        fprintf(problems->out, "%s: %llu more problems not shown\n", problems->path,
                (unsigned long long)problems->hidden);
}
