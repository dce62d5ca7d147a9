/* store_value — Redis replies as store_value_t trees: hiredis' reader
 * builds them directly (store_value_reply_functions), so a reply is
 * allocated once, not as a redisReply and then again as a copy. */
#include "store_value.h"

#include <stdlib.h>
#include <string.h>

/* A new value of TYPE, put in its parent array (if any) at the task's index. */
static store_value_t *s_new(const redisReadTask *task, store_type_t type)
{
    store_value_t *value = calloc(1, sizeof *value);
    if (!value)
        return NULL; /* hiredis reports "out of memory" */
    value->type = type;
    if (task->parent) {
        store_value_t *parent = task->parent->obj;
        parent->elements[task->idx] = value;
    }
    return value;
}

static void *s_create_string(const redisReadTask *task, char *str, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, str, len);
    copy[len] = '\0';
    store_value_t *value = s_new(task, task->type == REDIS_REPLY_ERROR ? STORE_ERROR : STORE_STR);
    if (!value) {
        free(copy);
        return NULL;
    }
    value->str = copy;
    value->len = len;
    return value;
}

static void *s_create_array(const redisReadTask *task, int elements)
{
    size_t count = elements > 0 ? (size_t)elements : 0;
    store_value_t **slots = calloc(count ? count : 1, sizeof *slots);
    if (!slots)
        return NULL;
    store_value_t *value = s_new(task, STORE_ARRAY);
    if (!value) {
        free(slots);
        return NULL;
    }
    value->elements = slots;
    value->count = count;
    return value;
}

static void *s_create_integer(const redisReadTask *task, long long integer)
{
    store_value_t *value = s_new(task, STORE_INT);
    if (value)
        value->integer = integer;
    return value;
}

static void *s_create_nil(const redisReadTask *task)
{
    return s_new(task, STORE_NIL);
}

static void s_free_object(void *object)
{
    store_value_t *value = object;
    store_value_free(&value);
}

static redisReplyObjectFunctions s_functions = {
    .createString = s_create_string,
    .createArray = s_create_array,
    .createInteger = s_create_integer,
    .createNil = s_create_nil,
    .freeObject = s_free_object,
};

redisReplyObjectFunctions *store_value_reply_functions(void)
{
    return &s_functions;
}

void store_value_free(store_value_t **value_p)
{
    if (!value_p || !*value_p)
        return;
    store_value_t *value = *value_p;
    for (size_t i = 0; i < value->count; i++)
        store_value_free(&value->elements[i]);
    free(value->elements);
    free(value->str);
    free(value);
    *value_p = NULL;
}

const store_value_t *store_value_at(const store_value_t *value, size_t index)
{
    if (!value || value->type != STORE_ARRAY || index >= value->count)
        return NULL;
    return value->elements[index];
}

long long store_value_int(const store_value_t *value, long long fallback)
{
    if (!value)
        return fallback;
    if (value->type == STORE_INT)
        return value->integer;
    if (value->type == STORE_STR && value->len) {
        char *end;
        long long n = strtoll(value->str, &end, 10);
        return *end == '\0' ? n : fallback;
    }
    return fallback;
}

double store_value_double(const store_value_t *value, double fallback)
{
    if (!value)
        return fallback;
    if (value->type == STORE_INT)
        return (double)value->integer;
    if (value->type == STORE_STR && value->len) {
        char *end;
        double d = strtod(value->str, &end);
        return *end == '\0' ? d : fallback;
    }
    return fallback;
}

const char *store_value_str(const store_value_t *value, const char *fallback)
{
    return (value && value->type == STORE_STR) ? value->str : fallback;
}
