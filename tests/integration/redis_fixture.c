/* redis_fixture.c — see redis_fixture.h. */
#include "redis_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

int fixture_free_port(void)
{
    return redis_child_free_port();
}

int redis_fixture_start(redis_fixture_t *f)
{
    err_t err = {0};
    if (redis_child_start(f, &err) == 0)
        return 0;
    fprintf(stderr, "redis_fixture: %s\n", err.msg);
    return -1;
}

void redis_fixture_stop(redis_fixture_t *f)
{
    redis_child_stop(f);
}

int redis_fixture_restart(redis_fixture_t *f)
{
    err_t err = {0};
    if (redis_child_restart(f, &err) == 0)
        return 0;
    fprintf(stderr, "redis_fixture: %s\n", err.msg);
    return -1;
}

store_options_t redis_fixture_options(const redis_fixture_t *f)
{
    return redis_child_options(f, 2000);
}

int redis_fixture_start_store(redis_fixture_t *f, store_t **store)
{
    if (redis_fixture_start(f) < 0)
        return -1;
    store_options_t opts = redis_fixture_options(f);
    err_t err = {0};
    if (!(*store = store_new(&opts, true, &err))) {
        fprintf(stderr, "redis_fixture: store_new: %s\n", err.msg);
        redis_fixture_stop(f);
        return -1;
    }
    return 0;
}

void redis_fixture_stop_store(redis_fixture_t *f, store_t **store)
{
    store_destroy(store);
    redis_fixture_stop(f);
}

int redis_fixture_flushall(store_t *store)
{
    store_value_t *reply = store_command(store, NULL, "FLUSHALL");
    int rc = reply && reply->type == STORE_STR ? 0 : -1;
    store_value_free(&reply);
    return rc;
}

store_value_t *redis_fixture_cmd(store_t *store, const char *first, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *arg = first; arg && argc < 16; arg = va_arg(ap, const char *))
        argv[argc++] = arg;
    va_end(ap);
    err_t err = {0};
    store_value_t *r = store_commandv(store, argc, argv, NULL, &err);
    if (!r)
        fail_msg("%s: %s", first, err.msg);
    if (r->type == STORE_ERROR)
        fail_msg("%s: %s", first, r->str);
    return r;
}

int redis_fixture_group_setup(void **state)
{
    static redis_fixture_world_t world;
    if (redis_fixture_start_store(&world.redis, &world.store) < 0)
        return -1;
    *state = &world;
    return 0;
}

int redis_fixture_group_teardown(void **state)
{
    redis_fixture_world_t *world = *state;
    redis_fixture_stop_store(&world->redis, &world->store);
    return 0;
}

int redis_fixture_flush(void **state)
{
    redis_fixture_world_t *world = *state;
    return redis_fixture_flushall(world->store);
}
