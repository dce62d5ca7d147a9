/* service.h — what every service's main.c shares: command line, config,
 * logging and signals. A main.c is then: service_start(...), NAME_new(cfg),
 * NAME_run(self, &stop), NAME_destroy, service_finish.
 *
 * The stop flag is set by SIGTERM and SIGINT; loops check it after each
 * zmq_poll (which returns EINTR on a signal). SIGHUP asks for a reload:
 * each loop calls service_reload_if_requested once per turn, which reads the
 * config file again and applies what can change without a restart (HTTP
 * bearer tokens, allowed CurveZMQ client keys). A broken file is logged once
 * and the running configuration stays in force. */
#ifndef LEADOPS_SERVICE_H
#define LEADOPS_SERVICE_H

#include <signal.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "httpd.h"
#include "store.h"

#define LEADOPS_VERSION "0.1.0"

/* Parses --config FILE (default: $LEADOPS_CONFIG, else built-in defaults),
 * --help and --version; loads the config (printing "file:line: reason" and
 * exiting 2 when it is broken), initialises logging and installs the signal
 * handlers on STOP. SUMMARY is one line for --help. Returns the config
 * (owned by the caller) or exits. */
config_t *service_start(int argc, char **argv, const char *name, const char *summary,
                        volatile sig_atomic_t *stop);

/* Installs the handlers: SIGTERM and SIGINT set *STOP, SIGHUP requests a
 * reload, SIGPIPE is ignored. service_start calls it; tests that run a
 * service in a thread may too. */
void service_install_signals(volatile sig_atomic_t *stop);

/* True once for each SIGHUP received since the last call (any thread). The
 * flag is per process: one service loop per process takes it. */
bool service_reload_requested(void);

/* Loads PATH again (NULL: defaults and LEADOPS_* variables, as at start).
 * Returns the new config, owned by the caller, or NULL after logging once
 * why it was refused ("file:line: key: reason"): the caller keeps running
 * with the config it has. */
config_t *service_reload(const char *path);

/* Applies what of CFG takes effect without a restart: the bearer tokens to
 * HTTPD and the allowed client keys to ZAP (either may be NULL). Logs what
 * was applied (counts, never a token or a key) and what takes a restart. */
void service_apply_security(const config_t *cfg, httpd_t *httpd, auth_zap_t *zap);

/* What a service loop calls once per turn: after a SIGHUP, reloads PATH
 * and applies it (service_reload, service_apply_security); else nothing. */
void service_reload_if_requested(const char *path, httpd_t *httpd, auth_zap_t *zap);

/* A service process's liveness record in Redis (layout: common/keys.h):
 * <p>:services, a zset of "name|host|pid" by when it was last seen (ms),
 * and <p>:service:<name|host|pid>, a hash {version, started_at, seen_at}.
 * Members not seen for a day are dropped. Reporting calls a service up when
 * it was seen within a few seconds. Zero-initialise one per process. */
typedef struct {
    int64_t started_at_ms; /* wall clock of the first beat */
    int64_t next_beat_ms;  /* wall clock: no write before it */
} service_beat_t;

/* Writes the heartbeat of service NAME to STORE, at most once a second
 * (BEAT holds the schedule); one round trip when due, none otherwise.
 * Returns 0 (also when not due), or -1 with *err set when Redis failed: the
 * loop may ignore it, its own work reports a Redis outage. */
int service_heartbeat(service_beat_t *beat, store_t *store, const config_t *cfg, const char *name,
                      err_t *err);

/* A store for the Redis the config names (see store_new). */
store_t *service_store_new(const config_t *cfg, bool connect_now, err_t *err);

#endif
