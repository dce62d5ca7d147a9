/* simulate_server.h — the private redis-server a simulation runs on, so
 * that a what-if never touches live state.
 *
 * It starts `redis-server` (found on PATH, or $LEADOPS_REDIS_SERVER) as a
 * child on a free 127.0.0.1 port, without persistence (no RDB, no AOF),
 * its working directory a fresh temp dir, in its own process group (a ^C at
 * the terminal reaches leadopsctl, which then stops it), and set to die with
 * leadopsctl (PR_SET_PDEATHSIG) should leadopsctl be killed. The caller
 * owns the server and stops it with sim_server_stop, also on every error
 * path. */
#ifndef LEADOPS_SIMULATE_SERVER_H
#define LEADOPS_SIMULATE_SERVER_H

#include "err.h"
#include "store.h"

typedef struct sim_server sim_server_t;

/* Starts a server and waits until it answers PING. Returns it, or NULL with
 * *err: ERR_CONFIG when redis-server is not on PATH, ERR_IO when it would
 * not start. */
sim_server_t *sim_server_start(err_t *err);

/* Stops the server (SIGTERM, SIGKILL after 2 s), removes its temp dir.
 * NULL-safe, idempotent. */
void sim_server_stop(sim_server_t **self_p);

/* Store options that point at the server (borrowed strings). */
store_options_t sim_server_options(const sim_server_t *self);

#endif
