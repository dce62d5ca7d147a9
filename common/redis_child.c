/* redis_child.c — see redis_child.h. */
#include "redis_child.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_ATTEMPTS   5
#define READY_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS  2000

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* PROGRAM's path: itself when it holds a '/', else the first executable of
 * that name on PATH. Returns false when there is none. */
static bool s_find_program(const char *program, char *out, size_t size)
{
    if (strchr(program, '/')) {
        snprintf(out, size, "%s", program);
        return access(out, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(out, size, "%.*s/%s", (int)len, len ? path : ".", program);
        if (access(out, X_OK) == 0)
            return true;
        path = end ? end + 1 : NULL;
    }
    return false;
}

int redis_child_free_port(void)
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

static pid_t s_spawn(const char *program, const char *dir, int port)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child: its own process group (a ^C is for leadopsctl, which stops
     * it in order), and it dies with leadopsctl. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    char port_arg[16], logfile[PATH_MAX + 16];
    snprintf(port_arg, sizeof port_arg, "%d", port);
    snprintf(logfile, sizeof logfile, "%s/redis.log", dir);
    execl(program, program, "--port", port_arg, "--bind", "127.0.0.1", "--save", "", "--appendonly",
          "no", "--dir", dir, "--logfile", logfile, "--loglevel", "warning", (char *)NULL);
    _exit(127);
}

static bool s_answers_ping(int port)
{
    store_options_t opts = {.host = "127.0.0.1", .port = port, .timeout_ms = 200};
    store_t *store = store_new(&opts, true, NULL);
    store_value_t *reply = store ? store_command(store, NULL, "PING") : NULL;
    bool ok = reply && reply->type == STORE_STR && strcmp(reply->str, "PONG") == 0;
    store_value_free(&reply);
    store_destroy(&store);
    return ok;
}

/* Starts the server on PORT: 0 once it answers, -1 when it exited (most
 * likely the port was taken meanwhile) or hung. */
static int s_start_on(redis_child_t *self, const char *program, int port)
{
    pid_t pid = s_spawn(program, self->dir, port);
    if (pid < 0)
        return -1;
    for (int waited = 0; waited < READY_TIMEOUT_MS; waited += 20) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        if (s_answers_ping(port)) {
            self->pid = pid;
            self->port = port;
            return 0;
        }
        s_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void s_remove_dir(char *dir)
{
    if (!*dir)
        return;
    DIR *d = opendir(dir);
    struct dirent *entry;
    while (d && (entry = readdir(d))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    *dir = '\0';
}

/* The last line redis-server logged in DIR, "" when none: why it would not start. */
static void s_last_log_line(const char *dir, char *out, size_t size)
{
    char path[PATH_MAX + 16], line[256];
    snprintf(path, sizeof path, "%s/redis.log", dir);
    out[0] = '\0';
    FILE *log = fopen(path, "r");
    while (log && fgets(line, sizeof line, log)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line)
            snprintf(out, size, "%s", line);
    }
    if (log)
        fclose(log);
}

/* A fresh temp dir for the server's files, unless it has one. */
static int s_make_dir(redis_child_t *self, err_t *err)
{
    if (self->dir[0])
        return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(self->dir, sizeof self->dir, "%s/leadops-redis.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(self->dir)) {
        err_set(err, ERR_IO, "temp dir %s: %s", self->dir, strerror(errno));
        self->dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* The program to run: $LEADOPS_REDIS_SERVER or redis-server, found on PATH. */
static int s_program(char *path, size_t size, err_t *err)
{
    const char *program = getenv("LEADOPS_REDIS_SERVER");
    if (!program || !*program)
        program = "redis-server";
    if (!s_find_program(program, path, size))
        return err_set(err, ERR_CONFIG,
                       "%s not found on PATH (install redis, or set LEADOPS_REDIS_SERVER to its "
                       "path)",
                       program);
    return 0;
}

int redis_child_start(redis_child_t *self, err_t *err)
{
    memset(self, 0, sizeof *self);
    char path[PATH_MAX];
    if (s_program(path, sizeof path, err) < 0)
        return -1;
    if (s_make_dir(self, err) < 0)
        return -1;
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        int port = redis_child_free_port();
        if (port > 0 && s_start_on(self, path, port) == 0)
            return 0;
    }
    char last[256];
    s_last_log_line(self->dir, last, sizeof last);
    err_set(err, ERR_IO, "%s would not start on a free 127.0.0.1 port (%d tries)%s%s", path,
            START_ATTEMPTS, *last ? ": " : "", last);
    redis_child_stop(self);
    return -1;
}

/* SIGTERM (or SIGKILL when HARD) to the server, SIGKILL after STOP_TIMEOUT_MS. */
static void s_kill(redis_child_t *self, bool hard)
{
    if (self->pid <= 0)
        return;
    kill(self->pid, hard ? SIGKILL : SIGTERM);
    for (int waited = 0; waitpid(self->pid, NULL, WNOHANG) != self->pid; waited += 10) {
        if (waited >= STOP_TIMEOUT_MS) {
            kill(self->pid, SIGKILL);
            waitpid(self->pid, NULL, 0);
            break;
        }
        s_sleep_ms(10);
    }
    self->pid = 0;
}

int redis_child_restart(redis_child_t *self, err_t *err)
{
    char path[PATH_MAX];
    if (s_program(path, sizeof path, err) < 0)
        return -1;
    s_kill(self, true);
    if (s_make_dir(self, err) < 0) /* stopped before: its dir is gone */
        return -1;
    /* The old socket may linger briefly: the same port, again for a while. */
    for (int attempt = 0; attempt < START_ATTEMPTS * 4; attempt++) {
        if (s_start_on(self, path, self->port) == 0)
            return 0;
        s_sleep_ms(100);
    }
    return err_set(err, ERR_IO, "%s would not start again on port %d", path, self->port);
}

void redis_child_stop(redis_child_t *self)
{
    if (!self)
        return;
    s_kill(self, false);
    s_remove_dir(self->dir);
}

store_options_t redis_child_options(const redis_child_t *self, int timeout_ms)
{
    return (store_options_t){.host = "127.0.0.1", .port = self->port, .timeout_ms = timeout_ms};
}
