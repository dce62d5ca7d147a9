/* service.h — what every service's main.c shares: command line, config,
 * logging and signals. A main.c is then: service_start(...), NAME_new(cfg),
 * NAME_run(self, &stop), NAME_destroy, service_finish.
 *
 * The stop flag is set by SIGTERM and SIGINT; loops check it after each
 * zmq_poll (which returns EINTR on a signal). */
#ifndef LEADOPS_SERVICE_H
#define LEADOPS_SERVICE_H

#include <signal.h>

#include "config.h"
#include "store.h"

#define LEADOPS_VERSION "0.1.0"

/* Parses --config FILE (default: $LEADOPS_CONFIG, else built-in defaults),
 * --help and --version; loads the config (printing "file:line: reason" and
 * exiting 2 when it is broken), initialises logging and installs the signal
 * handlers on STOP. SUMMARY is one line for --help. Returns the config
 * (owned by the caller) or exits. */
config_t *service_start(int argc, char **argv, const char *name, const char *summary,
                        volatile sig_atomic_t *stop);

/* A store for the Redis the config names (see store_new). */
store_t *service_store_new(const config_t *cfg, bool connect_now, err_t *err);

#endif
