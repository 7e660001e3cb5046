#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int vigil_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

char *vigil_test_tmpdir(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/%s.XXXXXX", base ? base : "/tmp", prefix) < 0)
        return NULL;
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int vigil_test_rm_rf(const char *path)
{
    if (!path || access(path, F_OK) != 0)
        return 0;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *vigil_test_write_file(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f) {
        free(path);
        return NULL;
    }
    fputs(text, f);
    fclose(f);
    return path;
}

char *vigil_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

struct sink {
    char *buf;
    size_t len, cap;
};

static void sink_add(struct sink *s, const char *data, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb)
            return;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

int vigil_test_run(char *const argv[], const char *stdin_text, char **out,
                   char **err)
{
    int in_p[2], out_p[2], err_p[2];
    if (pipe(in_p) < 0 || pipe(out_p) < 0 || pipe(err_p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in_p[0], 0);
        dup2(out_p[1], 1);
        dup2(err_p[1], 2);
        close(in_p[1]);
        close(out_p[0]);
        close(err_p[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in_p[0]);
    close(out_p[1]);
    close(err_p[1]);
    signal(SIGPIPE, SIG_IGN);

    const char *in = stdin_text ? stdin_text : "";
    size_t in_len = strlen(in), in_off = 0;
    if (in_len == 0) {
        close(in_p[1]);
        in_p[1] = -1;
    } else {
        fcntl(in_p[1], F_SETFL, O_NONBLOCK);
    }
    struct sink so = {0}, se = {0};
    int open_fds = 2;
    while (open_fds > 0 || in_p[1] >= 0) {
        struct pollfd p[3] = {{out_p[0], POLLIN, 0},
                              {err_p[0], POLLIN, 0},
                              {in_p[1], POLLOUT, 0}};
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[8192];
            ssize_t r = read(p[i].fd, buf, sizeof(buf));
            if (r <= 0) {
                close(p[i].fd);
                if (i == 0)
                    out_p[0] = -1;
                else
                    err_p[0] = -1;
                open_fds--;
            } else {
                sink_add(i == 0 ? &so : &se, buf, (size_t)r);
            }
        }
        if (in_p[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR))) {
            ssize_t w = write(in_p[1], in + in_off, in_len - in_off);
            if (w > 0)
                in_off += (size_t)w;
            if (w < 0 || in_off == in_len) {
                close(in_p[1]);
                in_p[1] = -1;
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!so.buf)
        sink_add(&so, "", 0);
    if (!se.buf)
        sink_add(&se, "", 0);
    if (out)
        *out = so.buf;
    else
        free(so.buf);
    if (err)
        *err = se.buf;
    else
        free(se.buf);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

pid_t vigil_test_spawn(char *const argv[], const char *log_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0)
        _exit(127);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv);
    _exit(127);
}

int vigil_test_wait(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 10) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
            return -1;
        }
        if (r < 0)
            return -1;
        if (waited >= timeout_ms)
            return -2;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
