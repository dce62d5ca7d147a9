/* redis_fixture.h — a real, throw-away redis-server for integration tests:
 * common/redis_child.h's private server (a free 127.0.0.1 port, no
 * persistence, dies with the test process), with the reason on stderr when
 * it fails, and the tests' command helper. Stop it with redis_fixture_stop
 * (idempotent). Test helpers may print to stderr; libraries may not. */
#ifndef LEADOPS_REDIS_FIXTURE_H
#define LEADOPS_REDIS_FIXTURE_H

#include "redis_child.h"
#include "store.h"

typedef redis_child_t redis_fixture_t; /* .port: kept across redis_fixture_restart */

/* Starts a server on a free port and fills *F. Returns 0 when it answers
 * PING, -1 (with the reason on stderr) when it could not be started. */
int redis_fixture_start(redis_fixture_t *f);

/* Stops the server (SIGTERM, then SIGKILL after 2 s) and waits for it. */
void redis_fixture_stop(redis_fixture_t *f);

/* Kills the server with SIGKILL (a crash, not a clean shutdown) and starts
 * a new empty one on the same port, for tests of reconnection. Returns 0 or -1. */
int redis_fixture_restart(redis_fixture_t *f);

/* Asks the kernel for a free loopback port, or -1. Another process may
 * take it before the caller binds it; callers retry with a new one then. */
int fixture_free_port(void);

/* Runs one command of NULL-terminated words on STORE; the reply is the
 * caller's. Fails the running cmocka test on no reply or an error reply. */
store_value_t *redis_fixture_cmd(store_t *store, const char *first, ...);

/* Options for store_new that point at the fixture's server. */
store_options_t redis_fixture_options(const redis_fixture_t *f);

/* Starts a server into *F and connects *STORE to it: what most test groups
 * set up. 0, or -1 with the reason on stderr and nothing left running. */
int redis_fixture_start_store(redis_fixture_t *f, store_t **store);

/* Closes *STORE and stops the server. */
void redis_fixture_stop_store(redis_fixture_t *f, store_t **store);

/* FLUSHALL on STORE (a test's setup: each test starts empty): 0 or -1. */
int redis_fixture_flushall(store_t *store);

/* A test group's server and store, for groups that need no more: cmocka's
 * group setup redis_fixture_group_setup puts one in *STATE, the teardown
 * stops it, and redis_fixture_flush (a test's setup) empties it. */
typedef struct {
    redis_fixture_t redis;
    store_t *store;
} redis_fixture_world_t;
int redis_fixture_group_setup(void **state);
int redis_fixture_group_teardown(void **state);
int redis_fixture_flush(void **state);

#endif
