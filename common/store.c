#include "store.h"

#include <assert.h>
#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "store_value.h"

#define STORE_MAX_SCRIPTS 32

/* A script's source is loaded as a Redis function library (FUNCTION LOAD)
 * and called by FCALL: the library's top level runs once, when it loads, so
 * the constants and local functions a script defines cost nothing per call
 * (as an EVAL script's body they were built again on every call). A source
 * may mark with a line "--#run" where its definitions end and what runs on
 * each call starts: the definitions go to the library's top level, the rest
 * in a function called with the call's KEYS and ARGV. Without the mark the
 * whole source runs on each call. Either way the source is also a valid EVAL
 * script (the mark is a comment). */
#define STORE_RUN_MARK "\n--#run\n"

typedef struct {
    char *name;        /* owned */
    char *source;      /* owned */
    char *library;     /* owned: the source as a function library */
    char function[96]; /* leadops_<name>_<hash of the source>: one per version */
} store_script_t;

struct store {
    char *host; /* owned */
    int port;
    char *user;     /* owned, may be NULL */
    char *password; /* owned, may be NULL; a secret: never in error messages */
    int db;
    int timeout_ms;
    redisContext *ctx; /* NULL while disconnected */
    int64_t last_attempt_ms;
    store_script_t scripts[STORE_MAX_SCRIPTS];
    int script_count;
};

/* One queued command, encoded (RESP) when queued: callers may reuse their
 * buffers, and sending it is one copy. A script call's encoding starts at
 * its KEYS: "FCALL <function> <nkeys>" is put before it when it is sent,
 * from the store it runs on. */
typedef struct {
    size_t offset, length; /* of its encoding in the batch's buffer */
    int argc;              /* the arguments encoded */
    int script;            /* -1 for a plain command; else the script's slot */
    int nkeys;
} store_cmd_t;

struct store_batch {
    store_cmd_t *cmds;
    size_t count, capacity;
    char *buf; /* owned: every command's encoding */
    size_t used, size;
    store_value_t **replies; /* owned, count entries after exec */
};

static char *s_strdup_or_null(const char *s)
{
    return (s && *s) ? strdup(s) : NULL;
}

static void s_disconnect(store_t *self)
{
    if (self->ctx) {
        redisFree(self->ctx);
        self->ctx = NULL;
    }
}

/* Sends one command synchronously on a connected context. Returns the
 * reply (owned by the caller) or NULL on I/O failure. */
static store_value_t *s_raw(store_t *self, int argc, const char **argv, const size_t *lens)
{
    return redisCommandArgv(self->ctx, argc, argv, lens);
}

static int s_load_script(store_t *self, const store_script_t *script, err_t *err)
{
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", script->library};
    size_t lens[] = {8, 4, 7, strlen(script->library)};
    store_value_t *reply = s_raw(self, 4, argv, lens);
    if (!reply)
        return err_set(err, ERR_IO, "redis %s:%d: %s", self->host, self->port, self->ctx->errstr);
    if (reply->type != STORE_STR) {
        bool old = reply->type == STORE_ERROR && strstr(reply->str, "unknown command");
        err_set(err, ERR_IO, "redis: FUNCTION LOAD %s failed: %s%s", script->name,
                reply->type == STORE_ERROR ? reply->str : "unexpected reply",
                old ? " (LeadOps needs Redis 7.0 or later)" : "");
        store_value_free(&reply);
        return -1;
    }
    store_value_free(&reply);
    return 0;
}

static int s_load_scripts(store_t *self, err_t *err)
{
    for (int i = 0; i < self->script_count; i++)
        if (s_load_script(self, &self->scripts[i], err) < 0)
            return -1;
    return 0;
}

/* 64-bit FNV-1a: names a library by its source, so that two versions of a
 * script (services of different builds on one Redis) never replace each other. */
static uint64_t s_hash(const char *text)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

/* SOURCE as a function library registering FUNCTION (see STORE_RUN_MARK). */
static char *s_library(const char *function, const char *source)
{
    const char *mark = strstr(source, STORE_RUN_MARK);
    int defs_len = mark ? (int)(mark - source) : 0;
    const char *run = mark ? mark + strlen(STORE_RUN_MARK) : source;
    const char *fmt = "#!lua name=%s\n"
                      "local KEYS, ARGV\n"
                      "%.*s\n"
                      "local function leadops_run()\n"
                      "%s\n"
                      "end\n"
                      "redis.register_function('%s', function(keys, args)\n"
                      "  KEYS, ARGV = keys, args\n"
                      "  return leadops_run()\n"
                      "end)\n";
    int len = snprintf(NULL, 0, fmt, function, defs_len, source, run, function);
    char *library = malloc((size_t)len + 1);
    if (!library)
        abort();
    snprintf(library, (size_t)len + 1, fmt, function, defs_len, source, run, function);
    return library;
}

/* Connects (or reconnects), authenticates, selects the db and loads the
 * scripts. Attempts are spaced by STORE_RECONNECT_MS so that a Redis that is
 * down costs a service one failed connect per interval, not per message. */
static int s_connect(store_t *self, err_t *err)
{
    if (self->ctx)
        return 0;
    int64_t now = clock_mono_ms();
    if (self->last_attempt_ms && now - self->last_attempt_ms < STORE_RECONNECT_MS)
        return err_set(err, ERR_IO, "redis %s:%d: not connected (retrying)", self->host,
                       self->port);
    self->last_attempt_ms = now;

    struct timeval timeout = {self->timeout_ms / 1000, (self->timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(self->host, self->port, timeout);
    if (!ctx || ctx->err) {
        err_set(err, ERR_IO, "redis %s:%d: %s", self->host, self->port,
                ctx ? ctx->errstr : "cannot allocate a context");
        if (ctx)
            redisFree(ctx);
        return -1;
    }
    redisSetTimeout(ctx, timeout);
    ctx->reader->fn = store_value_reply_functions(); /* replies are store_value_t */
    self->ctx = ctx;

    if (self->password) {
        store_value_t *reply = self->user
                                   ? redisCommand(ctx, "AUTH %s %s", self->user, self->password)
                                   : redisCommand(ctx, "AUTH %s", self->password);
        bool ok = reply && reply->type != STORE_ERROR;
        store_value_free(&reply);
        if (!ok) {
            s_disconnect(self);
            return err_set(err, ERR_IO,
                           "redis %s:%d: authentication failed; check redis.password "
                           "and redis.user",
                           self->host, self->port);
        }
    }
    if (self->db) {
        store_value_t *reply = redisCommand(ctx, "SELECT %d", self->db);
        bool ok = reply && reply->type != STORE_ERROR;
        store_value_free(&reply);
        if (!ok) {
            s_disconnect(self);
            return err_set(err, ERR_IO, "redis %s:%d: SELECT %d failed", self->host, self->port,
                           self->db);
        }
    }
    if (s_load_scripts(self, err) < 0) {
        s_disconnect(self);
        return -1;
    }
    return 0;
}

store_t *store_new(const store_options_t *opts, bool connect_now, err_t *err)
{
    store_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->host = strdup(opts->host ? opts->host : "127.0.0.1");
    self->port = opts->port ? opts->port : 6379;
    self->user = s_strdup_or_null(opts->user);
    self->password = s_strdup_or_null(opts->password);
    self->db = opts->db;
    self->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 2000;
    if (connect_now && s_connect(self, err) < 0) {
        store_destroy(&self);
        return NULL;
    }
    return self;
}

void store_destroy(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    s_disconnect(self);
    for (int i = 0; i < self->script_count; i++) {
        free(self->scripts[i].name);
        free(self->scripts[i].source);
        free(self->scripts[i].library);
    }
    free(self->host);
    free(self->user);
    free(self->password);
    free(self);
    *self_p = NULL;
}

bool store_is_connected(const store_t *self)
{
    return self->ctx != NULL;
}

int store_script_register(store_t *self, const char *name, const char *source, err_t *err)
{
    /* Modules that share a script (two hops of one service) share its handle. */
    for (int i = 0; i < self->script_count; i++)
        if (strcmp(self->scripts[i].name, name) == 0 &&
            strcmp(self->scripts[i].source, source) == 0)
            return i;
    assert(self->script_count < STORE_MAX_SCRIPTS);
    store_script_t *script = &self->scripts[self->script_count];
    script->name = strdup(name);
    script->source = strdup(source);
    /* Function names are letters, digits and underscores. */
    int len = snprintf(script->function, sizeof script->function, "leadops_%.48s_%016llx", name,
                       (unsigned long long)s_hash(source));
    for (int i = 8; i < len; i++)
        if (!(isalnum((unsigned char)script->function[i]) || script->function[i] == '_'))
            script->function[i] = '_';
    script->library = s_library(script->function, source);
    int handle = self->script_count++;
    if (self->ctx) {
        /* Already connected: load the new script now (the others are). */
        if (s_load_script(self, script, err) < 0) {
            s_disconnect(self);
            return -1;
        }
    }
    return handle;
}

const char *store_script_function(const store_t *self, int script)
{
    assert(script >= 0 && script < self->script_count);
    return self->scripts[script].function;
}

store_value_t *store_commandv(store_t *self, int argc, const char **argv, const size_t *lens,
                              err_t *err)
{
    if (s_connect(self, err) < 0)
        return NULL;
    store_value_t *reply = s_raw(self, argc, argv, lens);
    if (!reply) {
        err_set(err, ERR_IO, "redis %s:%d: %s", self->host, self->port, self->ctx->errstr);
        s_disconnect(self);
    }
    return reply;
}

store_value_t *store_command(store_t *self, err_t *err, const char *fmt, ...)
{
    if (s_connect(self, err) < 0)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    store_value_t *reply = redisvCommand(self->ctx, fmt, ap);
    va_end(ap);
    if (!reply) {
        err_set(err, ERR_IO, "redis %s:%d: %s", self->host, self->port, self->ctx->errstr);
        s_disconnect(self);
    }
    return reply;
}

/* Redis no longer has the function (FUNCTION FLUSH, or a restart without
 * persistence that we did not notice). */
static bool s_is_function_lost(const store_value_t *value)
{
    return value && value->type == STORE_ERROR &&
           strncmp(value->str, "ERR Function not found", 22) == 0;
}

store_value_t *store_script(store_t *self, int script, int nkeys, int argc, const char **argv,
                            const size_t *lens, err_t *err)
{
    store_batch_t *batch = store_batch_new();
    store_batch_script(batch, script, nkeys, argc, argv, lens);
    store_value_t *value = NULL;
    if (store_batch_exec(self, batch, err) == 0) {
        value = batch->replies[0];
        batch->replies[0] = NULL;
    }
    store_batch_destroy(&batch);
    return value;
}

store_batch_t *store_batch_new(void)
{
    store_batch_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    return self;
}

static void s_batch_free_replies(store_batch_t *self)
{
    if (!self->replies)
        return;
    for (size_t i = 0; i < self->count; i++)
        store_value_free(&self->replies[i]);
    free(self->replies);
    self->replies = NULL;
}

void store_batch_reset(store_batch_t *self)
{
    s_batch_free_replies(self);
    self->count = 0;
    self->used = 0;
}

void store_batch_destroy(store_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_batch_reset(*self_p);
    free((*self_p)->cmds);
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

size_t store_batch_count(const store_batch_t *self)
{
    return self->count;
}

/* Writes "<MARK><N>\r\n" at OUT; returns its length. */
static size_t s_put_count(char *out, char mark, size_t n)
{
    char digits[24];
    size_t d = 0;
    do {
        digits[d++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    size_t len = 0;
    out[len++] = mark;
    while (d)
        out[len++] = digits[--d];
    out[len++] = '\r';
    out[len++] = '\n';
    return len;
}

static void s_reserve(store_batch_t *self, size_t more)
{
    if (self->used + more <= self->size)
        return;
    size_t size = self->size ? self->size : 4096;
    while (size < self->used + more)
        size *= 2;
    self->buf = realloc(self->buf, size);
    if (!self->buf)
        abort();
    self->size = size;
}

/* Appends a command: the "*<count>" header when COUNT > 0, then ARGC
 * arguments (as bulk strings). */
static store_cmd_t *s_batch_push(store_batch_t *self, size_t count, int argc, const char **argv,
                                 const size_t *lens)
{
    s_batch_free_replies(self);
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 64;
        self->cmds = realloc(self->cmds, self->capacity * sizeof *self->cmds);
        if (!self->cmds)
            abort();
    }
    store_cmd_t *cmd = &self->cmds[self->count++];
    cmd->offset = self->used;
    cmd->argc = argc;
    cmd->script = -1;
    cmd->nkeys = 0;
    if (count) {
        s_reserve(self, 24);
        self->used += s_put_count(self->buf + self->used, '*', count);
    }
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        s_reserve(self, len + 26);
        char *out = self->buf + self->used;
        size_t n = s_put_count(out, '$', len);
        memcpy(out + n, argv[i], len);
        n += len;
        out[n++] = '\r';
        out[n++] = '\n';
        self->used += n;
    }
    cmd->length = self->used - cmd->offset;
    return cmd;
}

void store_batch_command(store_batch_t *self, int argc, const char **argv, const size_t *lens)
{
    s_batch_push(self, (size_t)argc, argc, argv, lens);
}

void store_batch_script(store_batch_t *self, int script, int nkeys, int argc, const char **argv,
                        const size_t *lens)
{
    store_cmd_t *cmd = s_batch_push(self, 0, argc, argv, lens);
    cmd->script = script;
    cmd->nkeys = nkeys;
}

/* Appends CMD of BATCH to the connection's output: a script call behind
 * "FCALL <function> <nkeys>". */
static void s_append(store_t *self, const store_batch_t *batch, const store_cmd_t *cmd)
{
    if (cmd->script >= 0) {
        const char *function = self->scripts[cmd->script].function;
        size_t len = strlen(function);
        char head[sizeof self->scripts[0].function + 128];
        size_t n = s_put_count(head, '*', (size_t)cmd->argc + 3);
        memcpy(head + n, "$5\r\nFCALL\r\n", 11);
        n += 11;
        n += s_put_count(head + n, '$', len);
        memcpy(head + n, function, len);
        n += len;
        head[n++] = '\r';
        head[n++] = '\n';
        char nkeys[24];
        int nkeys_len = snprintf(nkeys, sizeof nkeys, "%d", cmd->nkeys);
        n += s_put_count(head + n, '$', (size_t)nkeys_len);
        memcpy(head + n, nkeys, (size_t)nkeys_len);
        n += (size_t)nkeys_len;
        head[n++] = '\r';
        head[n++] = '\n';
        redisAppendFormattedCommand(self->ctx, head, n);
    }
    redisAppendFormattedCommand(self->ctx, batch->buf + cmd->offset, cmd->length);
}

/* Pipelines every command of BATCH whose reply slot is still empty. */
static int s_batch_round(store_t *self, store_batch_t *batch, err_t *err)
{
    for (size_t i = 0; i < batch->count; i++)
        if (!batch->replies[i])
            s_append(self, batch, &batch->cmds[i]);
    for (size_t i = 0; i < batch->count; i++) {
        if (batch->replies[i])
            continue;
        store_value_t *reply = NULL;
        if (redisGetReply(self->ctx, (void **)&reply) != REDIS_OK || !reply) {
            err_set(err, ERR_IO, "redis %s:%d: %s", self->host, self->port,
                    self->ctx->errstr[0] ? self->ctx->errstr : "connection lost");
            s_disconnect(self);
            return -1;
        }
        batch->replies[i] = reply;
    }
    return 0;
}

int store_batch_exec(store_t *self, store_batch_t *batch, err_t *err)
{
    s_batch_free_replies(batch);
    if (batch->count == 0)
        return 0;
    if (s_connect(self, err) < 0)
        return -1;
    batch->replies = calloc(batch->count, sizeof *batch->replies);
    if (!batch->replies)
        abort();
    if (s_batch_round(self, batch, err) < 0) {
        s_batch_free_replies(batch);
        return -1;
    }
    /* "Function not found" means Redis lost its functions (FUNCTION FLUSH, or
     * a restart without persistence we did not notice): reload and send
     * exactly those commands again. Such a call did not run, so this cannot
     * apply anything twice. */
    bool retry = false;
    for (size_t i = 0; i < batch->count; i++)
        if (s_is_function_lost(batch->replies[i])) {
            store_value_free(&batch->replies[i]);
            retry = true;
        }
    if (retry) {
        if (s_load_scripts(self, err) < 0 || s_batch_round(self, batch, err) < 0) {
            s_disconnect(self);
            s_batch_free_replies(batch);
            return -1;
        }
    }
    return 0;
}

const store_value_t *store_batch_reply(const store_batch_t *self, size_t index)
{
    if (!self->replies || index >= self->count)
        return NULL;
    return self->replies[index];
}

int store_reply_check(const store_value_t *value, const char *what, err_t *err)
{
    if (!value)
        return err_set(err, ERR_IO, "%s: no reply", what);
    if (value->type == STORE_ERROR)
        return err_set(err, ERR_IO, "%s: %s", what, value->str ? value->str : "error reply");
    return 0;
}
