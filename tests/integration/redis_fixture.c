/* redis_fixture.c — see redis_fixture.h. */
#include "redis_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define FIXTURE_START_ATTEMPTS   5
#define FIXTURE_READY_TIMEOUT_MS 5000
#define FIXTURE_STOP_TIMEOUT_MS  2000

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int fixture_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static pid_t s_spawn(int port)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child: die with the test, keep the test's output clean. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    const char *server = getenv("LEADOPS_REDIS_SERVER");
    if (!server || !*server)
        server = "redis-server";
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%d", port);
    execlp(server, server, "--port", port_arg, "--bind", "127.0.0.1", "--save", "", "--appendonly",
           "no", "--dir", "/tmp", "--loglevel", "warning", (char *)NULL);
    fprintf(stderr, "redis_fixture: cannot run %s: %s\n", server, strerror(errno));
    _exit(127);
}

static bool s_answers_ping(int port)
{
    struct timeval timeout = {0, 200000};
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", port, timeout);
    bool ok = false;
    if (ctx && !ctx->err) {
        redisReply *reply = redisCommand(ctx, "PING");
        ok = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
        if (reply)
            freeReplyObject(reply);
    }
    if (ctx)
        redisFree(ctx);
    return ok;
}

/* Starts a server on PORT; 0 once it answers, -1 if it exited or hung. */
static int s_start_on(redis_fixture_t *f, int port)
{
    pid_t pid = s_spawn(port);
    if (pid < 0) {
        fprintf(stderr, "redis_fixture: fork: %s\n", strerror(errno));
        return -1;
    }
    for (int waited = 0; waited < FIXTURE_READY_TIMEOUT_MS; waited += 20) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1; /* exited: most likely the port was taken meanwhile */
        if (s_answers_ping(port)) {
            f->pid = pid;
            f->port = port;
            return 0;
        }
        s_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int redis_fixture_start(redis_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    for (int attempt = 0; attempt < FIXTURE_START_ATTEMPTS; attempt++) {
        int port = fixture_free_port();
        if (port > 0 && s_start_on(f, port) == 0)
            return 0;
    }
    fprintf(stderr,
            "redis_fixture: could not start redis-server after %d attempts "
            "(is it installed? set LEADOPS_REDIS_SERVER to its path)\n",
            FIXTURE_START_ATTEMPTS);
    return -1;
}

void redis_fixture_stop(redis_fixture_t *f)
{
    if (!f || f->pid <= 0)
        return;
    kill(f->pid, SIGTERM);
    for (int waited = 0; waited < FIXTURE_STOP_TIMEOUT_MS; waited += 20) {
        if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
            f->pid = 0;
            return;
        }
        s_sleep_ms(20);
    }
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
}

int redis_fixture_restart(redis_fixture_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
    /* The old socket may linger briefly; retry the same port for a while. */
    for (int attempt = 0; attempt < FIXTURE_START_ATTEMPTS * 4; attempt++) {
        if (s_start_on(f, f->port) == 0)
            return 0;
        s_sleep_ms(100);
    }
    fprintf(stderr, "redis_fixture: could not restart redis-server on port %d\n", f->port);
    return -1;
}

store_options_t redis_fixture_options(const redis_fixture_t *f)
{
    return (store_options_t){.host = "127.0.0.1", .port = f->port, .timeout_ms = 2000};
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
