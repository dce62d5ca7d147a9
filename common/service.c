#include "service.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "keys.h"
#include "log.h"

static volatile sig_atomic_t *s_stop_flag;
/* Set by SIGHUP, taken by the service loop, possibly on another thread (in
 * tests): a lock-free atomic is safe in a handler and across threads. */
static atomic_int s_reload_flag;

static void s_on_signal(int signum)
{
    if (signum == SIGHUP)
        atomic_store(&s_reload_flag, 1);
    else if (s_stop_flag)
        *s_stop_flag = 1;
}

static void s_usage(FILE *out, const char *name, const char *summary)
{
    fprintf(out,
            "usage: %s [--config FILE]\n"
            "%s\n\n"
            "  --config FILE  the LeadOps YAML configuration (default: $LEADOPS_CONFIG,\n"
            "                 else built-in defaults); any value can be overridden by\n"
            "                 LEADOPS_<PATH> environment variables, e.g. LEADOPS_REDIS_PORT\n"
            "  --help         this text\n"
            "  --version      the version\n"
            "Stops cleanly on SIGTERM or SIGINT. SIGHUP reloads the config file and\n"
            "applies the HTTP bearer tokens and CurveZMQ client keys in it.\n",
            name, summary);
}

/* Says which doors are locked (never with what), and warns about the
 * secured sample's placeholders left in place. */
static void s_log_security(const config_t *cfg)
{
    bool placeholder = cfg->redis_password && strstr(cfg->redis_password, "replace-me");
    for (size_t i = 0; i < cfg->http_token_count; i++)
        placeholder = placeholder || strstr(cfg->http_tokens[i], "replace-me");
    log_info("security: HTTP %s (%zu bearer token(s)), ZeroMQ %s (%zu client key(s)), Redis %s",
             cfg->http_token_count ? "needs a token" : "open", cfg->http_token_count,
             cfg->curve_public_key && cfg->curve_public_key[0] ? "CurveZMQ" : "plain",
             cfg->curve_client_key_count,
             cfg->redis_user && cfg->redis_user[0]           ? "ACL user"
             : cfg->redis_password && cfg->redis_password[0] ? "password"
                                                             : "no AUTH");
    if (placeholder)
        log_warn("security: a token or password still holds a \"replace-me\" placeholder of "
                 "the sample profile: replace it");
}

config_t *service_start(int argc, char **argv, const char *name, const char *summary,
                        volatile sig_atomic_t *stop)
{
    const char *path = getenv("LEADOPS_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout, name, summary);
            exit(0);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", name, LEADOPS_VERSION);
            exit(0);
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", name, argv[i]);
            s_usage(stderr, name, summary);
            exit(2);
        }
    }
    if (path && !*path)
        path = NULL;

    err_t err = {0};
    config_t *cfg = config_load(path, &err);
    if (!cfg) {
        fprintf(stderr, "%s: configuration error: %s\n", name, err.msg);
        fprintf(stderr, "%s: fix the file (or the LEADOPS_* variable) and start again\n", name);
        exit(2);
    }
    log_level_t level = LOG_INFO;
    log_level_parse(cfg->log_level, &level);
    log_init(name, level, cfg->log_json);

    service_install_signals(stop);
    log_info("%s %s starting with %s", name, LEADOPS_VERSION, path ? path : "built-in defaults");
    s_log_security(cfg);
    return cfg;
}

void service_install_signals(volatile sig_atomic_t *stop)
{
    s_stop_flag = stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool service_reload_requested(void)
{
    return atomic_exchange(&s_reload_flag, 0) != 0;
}

config_t *service_reload(const char *path)
{
    err_t err = {0};
    config_t *cfg = config_load(path, &err);
    if (!cfg)
        log_error("reload refused, the running configuration stays: %s", err.msg);
    return cfg;
}

void service_apply_security(const config_t *cfg, httpd_t *httpd, auth_zap_t *zap)
{
    if (httpd)
        httpd_set_tokens(httpd, (const char *const *)cfg->http_tokens, cfg->http_token_count);
    int zap_rc = 0;
    if (zap) {
        err_t err = {0};
        zap_rc = auth_zap_allow(zap, cfg, &err);
        if (zap_rc < 0)
            log_error("reload: CurveZMQ client keys not changed: %s", err.msg);
        else if (zap_rc > 0)
            log_warn("reload: the CurveZMQ key pair changed or CurveZMQ was turned on or off; "
                     "that takes a restart");
    }
    log_info("reloaded %s: %zu bearer token(s)%s, %zu CurveZMQ client key(s)%s; other changes "
             "take a restart",
             cfg->path ? cfg->path : "built-in defaults", cfg->http_token_count,
             httpd ? "" : " (no HTTP here)", cfg->curve_client_key_count,
             zap && zap_rc >= 0 ? "" : " (not applied)");
}

void service_reload_if_requested(const char *path, httpd_t *httpd, auth_zap_t *zap)
{
    if (!service_reload_requested())
        return;
    config_t *cfg = service_reload(path);
    if (!cfg)
        return;
    service_apply_security(cfg, httpd, zap);
    config_destroy(&cfg);
}

store_t *service_store_new(const config_t *cfg, bool connect_now, err_t *err)
{
    store_options_t opts = {.host = cfg->redis_host,
                            .port = cfg->redis_port,
                            .user = cfg->redis_user,
                            .password = cfg->redis_password,
                            .db = cfg->redis_db,
                            .timeout_ms = cfg->redis_timeout_ms};
    return store_new(&opts, connect_now, err);
}

/* Beats are a second apart; a member silent for a day is dropped (its hash
 * expires with it). */
#define BEAT_EVERY_MS 1000
#define BEAT_KEEP_MS  86400000LL

int service_heartbeat(service_beat_t *beat, store_t *store, const config_t *cfg, const char *name,
                      err_t *err)
{
    int64_t now = clock_now_ms();
    if (now < beat->next_beat_ms)
        return 0;
    beat->next_beat_ms = now + BEAT_EVERY_MS;
    if (!beat->started_at_ms)
        beat->started_at_ms = now;
    char host[64] = "unknown";
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    char member[160], suffix[KEY_MAX], key_services[KEY_MAX], key_service[KEY_MAX];
    snprintf(member, sizeof member, "%s|%s|%ld", name, host, (long)getpid());
    snprintf(suffix, sizeof suffix, "service:%s", member);
    keys_format(key_services, KEY_MAX, cfg->redis_prefix, "services");
    keys_format(key_service, KEY_MAX, cfg->redis_prefix, suffix);
    char seen[24], started[24], keep[24], cutoff[24];
    snprintf(seen, sizeof seen, "%lld", (long long)now);
    snprintf(started, sizeof started, "%lld", (long long)beat->started_at_ms);
    snprintf(keep, sizeof keep, "%lld", BEAT_KEEP_MS);
    snprintf(cutoff, sizeof cutoff, "(%lld", (long long)(now - BEAT_KEEP_MS));

    store_batch_t *batch = store_batch_new();
    store_batch_command(batch, 4, (const char *[]){"ZADD", key_services, seen, member}, NULL);
    store_batch_command(batch, 8,
                        (const char *[]){"HSET", key_service, "version", LEADOPS_VERSION,
                                         "started_at", started, "seen_at", seen},
                        NULL);
    store_batch_command(batch, 3, (const char *[]){"PEXPIRE", key_service, keep}, NULL);
    store_batch_command(batch, 4,
                        (const char *[]){"ZREMRANGEBYSCORE", key_services, "-inf", cutoff}, NULL);
    int rc = store_batch_exec(store, batch, err);
    store_batch_destroy(&batch);
    return rc;
}
