/* store.h — LeadOps' one door to Redis (hiredis).
 *
 * A store_t owns one hiredis connection and the Lua scripts registered on it.
 * It connects lazily, reconnects by itself after Redis restarts (at most once
 * per STORE_RECONNECT_MS), loads every registered script as a Redis function
 * library (FUNCTION LOAD; Redis 7.0 or later) on each (re)connect and calls
 * them by FCALL, reloading when Redis lost them (see store.c).
 *
 * Replies are read as store_value_t trees (hiredis' reader makes them:
 * store_value.c), so no redisReply leaves the store. Batches encode their
 * commands as they are queued and pipeline them in one round trip: that is how
 * services keep far above the ~12k msgs/s that one synchronous round trip per
 * message allows. A store_t belongs to one thread. */
#ifndef LEADOPS_STORE_H
#define LEADOPS_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define STORE_RECONNECT_MS 200

typedef struct {
    const char *host; /* borrowed */
    int port;
    const char *user;     /* borrowed; NULL or "" for the default user */
    const char *password; /* borrowed; NULL or "" for none */
    int db;
    int timeout_ms;
} store_options_t;

typedef enum {
    STORE_NIL = 0,
    STORE_INT,
    STORE_STR, /* bulk or status string */
    STORE_ARRAY,
    STORE_ERROR, /* an error reply from Redis (e.g. a script's error) */
} store_type_t;

typedef struct store_value {
    store_type_t type;
    long long integer;
    char *str; /* owned, NUL-terminated; len excludes the NUL */
    size_t len;
    struct store_value **elements; /* owned */
    size_t count;
} store_value_t;

typedef struct store store_t;
typedef struct store_batch store_batch_t;

/* Returns a store bound to OPTS (strings copied). Does not connect yet
 * unless CONNECT_NOW, in which case a failed connect returns NULL. */
store_t *store_new(const store_options_t *opts, bool connect_now, err_t *err);
void store_destroy(store_t **self_p);

/* Registers a Lua script; returns its handle (>= 0) for store_batch_script /
 * store_script, or -1 with *err set. Loading happens on (re)connect. */
int store_script_register(store_t *self, const char *name, const char *source, err_t *err);

/* The Redis function a registered script is called by (FCALL), for benchmarks. */
const char *store_script_function(const store_t *self, int script);

/* Runs one command, hiredis-style format ("HGET %s %s", ...; %b takes
 * pointer and size_t). Returns an owned value (which may be STORE_ERROR),
 * or NULL with *err set on a connection failure. */
store_value_t *store_command(store_t *self, err_t *err, const char *fmt, ...);

/* Runs one command from an argument vector. Same ownership as store_command. */
store_value_t *store_commandv(store_t *self, int argc, const char **argv, const size_t *lens,
                              err_t *err);

/* Runs one registered script: NKEYS keys then the other args. */
store_value_t *store_script(store_t *self, int script, int nkeys, int argc, const char **argv,
                            const size_t *lens, err_t *err);

bool store_is_connected(const store_t *self);

void store_value_free(store_value_t **value_p);
/* Turns a missing reply or a Redis error reply into ERR_IO naming WHAT
 * ("WHAT: no reply", "WHAT: <the error>"). Returns 0 when VALUE is a
 * usable reply, else -1. */
int store_reply_check(const store_value_t *value, const char *what, err_t *err);

/* Accessors that tolerate NULL and wrong types. */
const store_value_t *store_value_at(const store_value_t *value, size_t index);
long long store_value_int(const store_value_t *value, long long fallback);
double store_value_double(const store_value_t *value, double fallback);
/* The string, or FALLBACK when VALUE is not a string. */
const char *store_value_str(const store_value_t *value, const char *fallback);

/* A batch of commands sent in one pipeline. It copies arguments, owns replies. */
store_batch_t *store_batch_new(void);
void store_batch_destroy(store_batch_t **self_p);
void store_batch_reset(store_batch_t *self);
size_t store_batch_count(const store_batch_t *self);
void store_batch_command(store_batch_t *self, int argc, const char **argv, const size_t *lens);
void store_batch_script(store_batch_t *self, int script, int nkeys, int argc, const char **argv,
                        const size_t *lens);
/* Sends every queued command in one write and reads every reply. Scripts
 * Redis lost are reloaded and their calls sent again. Returns 0, or -1 with *err set when the
 * connection failed (then no reply is valid and the caller should treat the
 * whole batch as not done: every LeadOps script is idempotent). */
int store_batch_exec(store_t *self, store_batch_t *self_batch, err_t *err);
/* The reply to command I of the last exec (borrowed; valid until reset). */
const store_value_t *store_batch_reply(const store_batch_t *self, size_t index);

#endif
