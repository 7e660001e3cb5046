#include "exec_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct vigil_exec {
    struct ev_loop *loop;
    pid_t pid;
    int in_fd, out_fd, pid_fd;
    ev_io in_w, out_w, pid_w;
    ev_timer timeout, poll;
    char *input;
    size_t input_len, input_off;
    char output[VIGIL_EXEC_OUTPUT_KEEP + 1];
    size_t output_len;
    bool timed_out, reaped;
    int wstatus;
    char error[256];
    vigil_exec_done_fn done;
    void *ctx;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void stop_all(struct vigil_exec *e)
{
    ev_io_stop(e->loop, &e->in_w);
    ev_io_stop(e->loop, &e->out_w);
    ev_io_stop(e->loop, &e->pid_w);
    ev_timer_stop(e->loop, &e->timeout);
    ev_timer_stop(e->loop, &e->poll);
    close_fd(&e->in_fd);
    close_fd(&e->out_fd);
    close_fd(&e->pid_fd);
}

static void drain(struct vigil_exec *e)
{
    char buf[4096];
    while (e->out_fd >= 0) {
        ssize_t n = read(e->out_fd, buf, sizeof(buf));
        if (n > 0) {
            size_t room = VIGIL_EXEC_OUTPUT_KEEP - e->output_len;
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(e->output + e->output_len, buf, take);
            e->output_len += take;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            ev_io_stop(e->loop, &e->out_w);
            close_fd(&e->out_fd);
        }
        break;
    }
}

static void finish(struct vigil_exec *e)
{
    drain(e);
    stop_all(e);
    e->output[e->output_len] = '\0';
    struct vigil_exec_result r = {
        .started = e->pid > 0,
        .exited = e->reaped && WIFEXITED(e->wstatus),
        .status =
            e->reaped && WIFEXITED(e->wstatus) ? WEXITSTATUS(e->wstatus) : -1,
        .signal =
            e->reaped && WIFSIGNALED(e->wstatus) ? WTERMSIG(e->wstatus) : 0,
        .timed_out = e->timed_out,
        .output = e->output,
        .output_len = e->output_len,
        .error = e->error,
    };
    e->done(e->ctx, &r);
    free(e->input);
    free(e);
}

static void try_reap(struct vigil_exec *e)
{
    pid_t r = waitpid(e->pid, &e->wstatus, WNOHANG);
    if (r == e->pid) {
        e->reaped = true;
        finish(e);
    } else if (r < 0 && errno != EINTR) {
        /* Someone else reaped it: report it as killed. */
        e->reaped = true;
        e->wstatus = SIGKILL;
        finish(e);
    }
}

static void on_pidfd(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    try_reap(w->data);
}

static void on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    try_reap(w->data);
}

static void on_output(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    drain(w->data);
}

static void on_input(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct vigil_exec *e = w->data;
    while (e->input_off < e->input_len) {
        ssize_t n = write(e->in_fd, e->input + e->input_off,
                          e->input_len - e->input_off);
        if (n > 0) {
            e->input_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break; /* EPIPE: the program does not read its stdin */
    }
    ev_io_stop(loop, &e->in_w);
    close_fd(&e->in_fd);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_exec *e = w->data;
    e->timed_out = true;
    kill(-e->pid, SIGKILL);
    kill(e->pid, SIGKILL);
}

static void on_failed(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    finish(w->data);
}

static int spawn(struct vigil_exec *e, char *const argv[], int child_in,
                 int child_out)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                  "/sbin:/bin";
    char *envp[] = {path, NULL};
    if (!(rc = posix_spawn_file_actions_adddup2(&fa, child_in, 0)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, child_out, 1)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, child_out, 2)) &&
        !(rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) &&
        !(rc = posix_spawnattr_setsigmask(&attr, &none)) &&
        !(rc = posix_spawnattr_setsigdefault(&attr, &all)) &&
        !(rc = posix_spawnattr_setpgroup(&attr, 0)) &&
        !(rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                                   POSIX_SPAWN_SETSIGDEF |
                                                   POSIX_SPAWN_SETPGROUP))) {
        if (strchr(argv[0], '/'))
            rc = posix_spawn(&e->pid, argv[0], &fa, &attr, argv, envp);
        else
            rc = posix_spawnp(&e->pid, argv[0], &fa, &attr, argv, envp);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

struct vigil_exec *vigil_exec_start(struct ev_loop *loop, char *const argv[],
                                    const char *input, size_t len,
                                    uint64_t timeout_ms,
                                    vigil_exec_done_fn done, void *ctx)
{
    struct vigil_exec *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->loop = loop;
    e->done = done;
    e->ctx = ctx;
    e->in_fd = e->out_fd = e->pid_fd = -1;
    e->pid = -1;
    e->input = malloc(len + 1);
    if (!e->input)
        goto err_free;
    if (len)
        memcpy(e->input, input, len); /* input may be NULL when len is 0 */
    e->input_len = len;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        goto err_free_input;
    if (pipe2(out, O_CLOEXEC) < 0)
        goto err_close_in;
    ev_timer_init(&e->timeout, on_timeout,
                  (double)(timeout_ms ? timeout_ms : 10000) / 1000., 0.);
    ev_timer_init(&e->poll, on_poll, 0.05, 0.05);
    ev_io_init(&e->in_w, on_input, in[1], EV_WRITE);
    ev_io_init(&e->out_w, on_output, out[0], EV_READ);
    e->timeout.data = e->poll.data = e->in_w.data = e->out_w.data = e;
    int rc = spawn(e, argv, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    e->in_fd = in[1];
    e->out_fd = out[0];
    if (rc != 0) {
        e->pid = -1;
        snprintf(e->error, sizeof(e->error), "cannot run %s: %s", argv[0],
                 strerror(rc));
        ev_timer_init(&e->poll, on_failed, 0., 0.);
        ev_timer_start(loop, &e->poll);
        return e;
    }
    fcntl(e->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(e->out_fd, F_SETFL, O_NONBLOCK);
    ev_io_start(loop, &e->in_w);
    ev_io_start(loop, &e->out_w);
    ev_timer_start(loop, &e->timeout);
#ifdef SYS_pidfd_open
    e->pid_fd = (int)syscall(SYS_pidfd_open, e->pid, 0);
#endif
    if (e->pid_fd >= 0) {
        fcntl(e->pid_fd, F_SETFD, FD_CLOEXEC);
        ev_io_init(&e->pid_w, on_pidfd, e->pid_fd, EV_READ);
        e->pid_w.data = e;
        ev_io_start(loop, &e->pid_w);
    } else {
        ev_timer_start(loop, &e->poll);
    }
    return e;

err_close_in:
    close(in[0]);
    close(in[1]);
err_free_input:
    free(e->input);
err_free:
    free(e);
    return NULL;
}

void vigil_exec_cancel(struct vigil_exec *e)
{
    if (!e)
        return;
    if (e->pid > 0 && !e->reaped) {
        kill(-e->pid, SIGKILL);
        kill(e->pid, SIGKILL);
        while (waitpid(e->pid, &e->wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    stop_all(e);
    free(e->input);
    free(e);
}
