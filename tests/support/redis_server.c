#include "redis_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#define REDIS_HOST "127.0.0.1"
#define START_ATTEMPTS 5            /* ports tried when the bind races */
#define DEFAULT_START_TIMEOUT 10000 /* ms */
#define STOP_TIMEOUT 5000           /* ms between SIGTERM and SIGKILL */
#define POLL_INTERVAL 10            /* ms between readiness probes */

struct vigil_test_redis {
    char *binary;   /* absolute path of redis-server */
    char *dir;      /* mkdtemp folder: AOF, log */
    char *password; /* NULL: none */
    bool aof;
    unsigned start_timeout_ms;
    int port;
    pid_t pid; /* 0 when not running */
    char url[64];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* The absolute path of name in $PATH, or NULL. free() it. */
static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char *candidate = NULL;
        if (n > 0 && asprintf(&candidate, "%.*s/%s", (int)n, p, name) >= 0) {
            if (access(candidate, X_OK) == 0)
                return candidate;
            free(candidate);
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return NULL;
}

/* Prints the end of the server's log after a failure. */
static void print_log(const struct vigil_test_redis *r)
{
    char *path = NULL;
    if (asprintf(&path, "%s/redis.log", r->dir) < 0)
        return;
    size_t len = 0;
    char *text = vigil_test_read_file(path, &len);
    free(path);
    if (!text)
        return;
    size_t from = len > 2000 ? len - 2000 : 0;
    fprintf(stderr, "vigil_test_redis: redis-server log (%s):\n%s\n", r->dir,
            text + from);
    free(text);
}

/*
 * Forks and execs redis-server on r->port. Everything the child does
 * between fork and exec is async-signal-safe: argv is built before.
 */
static int spawn(struct vigil_test_redis *r)
{
    char port[16], logfile[4096];
    snprintf(port, sizeof(port), "%d", r->port);
    if (snprintf(logfile, sizeof(logfile), "%s/redis.log", r->dir) >=
        (int)sizeof(logfile))
        return -1;
    const char *argv[32];
    int n = 0;
    argv[n++] = r->binary;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = REDIS_HOST;
    argv[n++] = "--protected-mode";
    argv[n++] = "no";
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--dir";
    argv[n++] = r->dir;
    argv[n++] = "--logfile";
    argv[n++] = logfile;
    argv[n++] = "--appendonly";
    argv[n++] = r->aof ? "yes" : "no";
    if (r->aof) {
        argv[n++] = "--appendfsync";
        argv[n++] = "always";
    }
    if (r->password) {
        argv[n++] = "--requirepass";
        argv[n++] = r->password;
    }
    argv[n] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "vigil_test_redis: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Die with the thread that started us, even if it crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        close_range(3, ~0U, 0);
        execv(r->binary, (char *const *)argv);
        _exit(127);
    }
    r->pid = pid;
    return 0;
}

/* Reaps the child if it has exited; true when it is gone. */
static bool reap_if_exited(struct vigil_test_redis *r, int *status)
{
    if (r->pid <= 0)
        return true;
    pid_t w = waitpid(r->pid, status, WNOHANG);
    if (w == r->pid || (w < 0 && errno == ECHILD)) {
        r->pid = 0;
        return true;
    }
    return false;
}

/* True when a fresh connection gets PONG (after AUTH when needed). */
static bool answers_ping(const struct vigil_test_redis *r)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = 250000};
    redisContext *c = redisConnectWithTimeout(REDIS_HOST, r->port, tv);
    if (!c)
        return false;
    bool ok = false;
    if (c->err)
        goto out_free;
    redisSetTimeout(c, tv);
    if (r->password) {
        redisReply *a = redisCommand(c, "AUTH %s", r->password);
        bool authed = a && a->type == REDIS_REPLY_STATUS;
        freeReplyObject(a);
        if (!authed)
            goto out_free;
    }
    redisReply *reply = redisCommand(c, "PING");
    ok = reply && reply->type == REDIS_REPLY_STATUS &&
         strcmp(reply->str, "PONG") == 0;
    freeReplyObject(reply);
out_free:
    redisFree(c);
    return ok;
}

/*
 * Waits until the server answers PING. Returns 0, -1 on timeout (the
 * child is killed), or -2 when the child exited (e.g. the port was
 * taken).
 */
static int wait_ready(struct vigil_test_redis *r)
{
    uint64_t deadline = now_ms() + r->start_timeout_ms;
    for (;;) {
        int status = 0;
        if (reap_if_exited(r, &status)) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                fprintf(stderr, "vigil_test_redis: cannot execute %s\n",
                        r->binary);
            return -2;
        }
        if (answers_ping(r))
            return 0;
        if (now_ms() >= deadline)
            break;
        sleep_ms(POLL_INTERVAL);
    }
    fprintf(stderr,
            "vigil_test_redis: redis-server on port %d did not answer PING "
            "within %u ms\n",
            r->port, r->start_timeout_ms);
    vigil_test_redis_kill(r);
    return -1;
}

struct vigil_test_redis *
vigil_test_redis_start(const struct vigil_test_redis_options *opts)
{
    struct vigil_test_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->aof = opts && opts->aof;
    r->start_timeout_ms = opts && opts->start_timeout_ms
                              ? opts->start_timeout_ms
                              : DEFAULT_START_TIMEOUT;
    r->binary = find_in_path("redis-server");
    if (!r->binary) {
        fprintf(stderr, "redis-server not found: run "
                        "deploy/install-deps.sh --test\n");
        goto err_free;
    }
    if (opts && opts->password) {
        r->password = strdup(opts->password);
        if (!r->password)
            goto err_free_binary;
    }
    r->dir = vigil_test_tmpdir("vigil-redis");
    if (!r->dir) {
        fprintf(stderr, "vigil_test_redis: mkdtemp: %s\n", strerror(errno));
        goto err_free_password;
    }
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        r->port = vigil_test_free_port();
        if (r->port <= 0) {
            fprintf(stderr, "vigil_test_redis: no free port\n");
            goto err_rm_dir;
        }
        if (spawn(r) < 0)
            goto err_rm_dir;
        int rc = wait_ready(r);
        if (rc == 0) {
            snprintf(r->url, sizeof(r->url), "redis://%s:%d/0", REDIS_HOST,
                     r->port);
            return r;
        }
        if (rc == -1)
            goto err_rm_dir;
        /* Exited: most likely someone took the port; try another. */
    }
    fprintf(stderr, "vigil_test_redis: redis-server exited at start %d times\n",
            START_ATTEMPTS);
    print_log(r);
err_rm_dir:
    vigil_test_rm_rf(r->dir);
    free(r->dir);
err_free_password:
    free(r->password);
err_free_binary:
    free(r->binary);
err_free:
    free(r);
    return NULL;
}

int vigil_test_redis_stop(struct vigil_test_redis *r)
{
    if (!r)
        return 0;
    int rc = 0;
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        kill(r->pid, SIGCONT); /* a paused server must see the SIGTERM */
        uint64_t deadline = now_ms() + STOP_TIMEOUT;
        int status;
        while (!reap_if_exited(r, &status) && now_ms() < deadline)
            sleep_ms(5);
        if (r->pid > 0) {
            fprintf(stderr,
                    "vigil_test_redis: redis-server %d ignored SIGTERM for "
                    "%d ms; killing it\n",
                    (int)r->pid, STOP_TIMEOUT);
            vigil_test_redis_kill(r);
            rc = -1;
        }
    }
    vigil_test_rm_rf(r->dir);
    free(r->dir);
    free(r->password);
    free(r->binary);
    free(r);
    return rc;
}

int vigil_test_redis_kill(struct vigil_test_redis *r)
{
    if (!r || r->pid <= 0)
        return -1;
    kill(r->pid, SIGKILL);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    r->pid = 0;
    return 0;
}

int vigil_test_redis_restart(struct vigil_test_redis *r)
{
    if (!r)
        return -1;
    if (r->pid > 0)
        vigil_test_redis_kill(r);
    if (spawn(r) < 0)
        return -1;
    int rc = wait_ready(r);
    if (rc == -2) {
        fprintf(stderr,
                "vigil_test_redis: redis-server exited on restart "
                "(port %d)\n",
                r->port);
        print_log(r);
    }
    return rc == 0 ? 0 : -1;
}

int vigil_test_redis_pause(struct vigil_test_redis *r)
{
    if (!r || r->pid <= 0)
        return -1;
    return kill(r->pid, SIGSTOP) == 0 ? 0 : -1;
}

int vigil_test_redis_resume(struct vigil_test_redis *r)
{
    if (!r || r->pid <= 0)
        return -1;
    return kill(r->pid, SIGCONT) == 0 ? 0 : -1;
}

const char *vigil_test_redis_host(const struct vigil_test_redis *r)
{
    (void)r;
    return REDIS_HOST;
}

int vigil_test_redis_port(const struct vigil_test_redis *r)
{
    return r->port;
}

const char *vigil_test_redis_url(const struct vigil_test_redis *r)
{
    return r->url;
}

const char *vigil_test_redis_dir(const struct vigil_test_redis *r)
{
    return r->dir;
}

pid_t vigil_test_redis_pid(const struct vigil_test_redis *r)
{
    return r->pid;
}

bool vigil_test_redis_is_running(const struct vigil_test_redis *r)
{
    return r && r->pid > 0;
}

redisContext *vigil_test_redis_connect(const struct vigil_test_redis *r,
                                       unsigned timeout_ms)
{
    if (timeout_ms == 0)
        timeout_ms = 2000;
    struct timeval tv = {.tv_sec = timeout_ms / 1000,
                         .tv_usec = (long)(timeout_ms % 1000) * 1000L};
    redisContext *c = redisConnectWithTimeout(REDIS_HOST, r->port, tv);
    if (!c) {
        fprintf(stderr, "vigil_test_redis: out of memory\n");
        return NULL;
    }
    if (c->err) {
        fprintf(stderr, "vigil_test_redis: connect %s:%d: %s\n", REDIS_HOST,
                r->port, c->errstr);
        goto err_free;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        fprintf(stderr, "vigil_test_redis: set timeout: %s\n", c->errstr);
        goto err_free;
    }
    if (r->password) {
        redisReply *a = redisCommand(c, "AUTH %s", r->password);
        bool ok = a && a->type == REDIS_REPLY_STATUS;
        if (!ok)
            fprintf(stderr, "vigil_test_redis: AUTH failed: %s\n",
                    a && a->type == REDIS_REPLY_ERROR ? a->str : c->errstr);
        freeReplyObject(a);
        if (!ok)
            goto err_free;
    }
    return c;
err_free:
    redisFree(c);
    return NULL;
}
