/* redis_child — a private redis-server as a child process: for a what-if
 * that must not touch live state (leadopsctl simulate), the integration
 * tests and the benchmarks.
 *
 * It starts `redis-server` (found on PATH, or $LEADOPS_REDIS_SERVER) on a
 * free 127.0.0.1 port, without persistence (no RDB, no AOF), its working
 * directory (and redis.log) a fresh temp dir, in its own process group (a
 * ^C at the terminal reaches the parent, which then stops it), and set to
 * die with the parent (PR_SET_PDEATHSIG). The caller stops it with
 * redis_child_stop, also on every error path. */
#ifndef LEADOPS_REDIS_CHILD_H
#define LEADOPS_REDIS_CHILD_H

#include <limits.h>
#include <sys/types.h>

#include "err.h"
#include "store.h"

typedef struct {
    pid_t pid;          /* the redis-server child; 0 when not running */
    int port;           /* on 127.0.0.1; kept across redis_child_restart */
    char dir[PATH_MAX]; /* its temp dir; "" when removed */
} redis_child_t;

/* Starts a server into *SELF and waits until it answers PING. 0, or -1
 * with *err: ERR_CONFIG when redis-server is not on PATH, ERR_IO when it
 * would not start (with the last line it logged). */
int redis_child_start(redis_child_t *self, err_t *err);

/* Kills the server with SIGKILL (a crash, not a clean shutdown), if it
 * runs, and starts it again on the same port (also after redis_child_stop),
 * its data gone. 0, or -1 with *err set. */
int redis_child_restart(redis_child_t *self, err_t *err);

/* Stops the server (SIGTERM, SIGKILL after 2 s) and removes its temp dir.
 * Does nothing the second time. */
void redis_child_stop(redis_child_t *self);

/* Store options that point at the server. */
store_options_t redis_child_options(const redis_child_t *self, int timeout_ms);

/* A loopback TCP port the kernel says is free now (another process may
 * take it before it is bound: callers retry), or -1. */
int redis_child_free_port(void);

#endif
