/*
 * exec_runner: what the exec notifier guarantees about the programs it
 * runs: argv passed verbatim (no shell), only PATH in the environment, no
 * inherited descriptors, at most VIGIL_EXEC_OUTPUT_KEEP bytes of output
 * kept however much the program writes, and the whole process group
 * killed after the timeout. Runs real programs from /bin and /usr/bin on
 * a private libev loop; no network.
 */
#include <criterion/criterion.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_runner.h"
#include "support.h"

struct outcome {
    bool done;
    struct vigil_exec_result r;
    char output[VIGIL_EXEC_OUTPUT_KEEP + 1];
    char error[256];
};

static void on_done(void *ctx, const struct vigil_exec_result *r)
{
    struct outcome *o = ctx;
    o->done = true;
    o->r = *r;
    memcpy(o->output, r->output, r->output_len);
    o->output[r->output_len] = '\0';
    snprintf(o->error, sizeof(o->error), "%s", r->error);
    o->r.output = o->output;
    o->r.error = o->error;
}

static void on_guard(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* Runs argv with input and timeout_ms to the end (at most 20 s). */
static void run(char *const argv[], const char *input, uint64_t timeout_ms,
                struct outcome *o)
{
    signal(SIGPIPE, SIG_IGN);
    memset(o, 0, sizeof(*o));
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_not_null(loop);
    ev_timer guard;
    ev_timer_init(&guard, on_guard, 20., 0.);
    ev_timer_start(loop, &guard);
    struct vigil_exec *e = vigil_exec_start(
        loop, argv, input, input ? strlen(input) : 0, timeout_ms, on_done, o);
    cr_assert_not_null(e);
    while (!o->done && ev_is_active(&guard))
        ev_run(loop, EVRUN_ONCE);
    if (!o->done)
        vigil_exec_cancel(e);
    ev_timer_stop(loop, &guard);
    ev_loop_destroy(loop);
    cr_assert(o->done, "the program did not end within 20 s");
}

Test(exec_runner, passes_argv_verbatim_without_a_shell)
{
    char *argv[] = {"printf",   "%s|",  "a b", "$(touch pwned)",
                    "; echo x", "`id`", NULL};
    struct outcome o;
    run(argv, NULL, 5000, &o);
    cr_assert(o.r.exited && o.r.status == 0, "%s", o.error);
    cr_assert_str_eq(o.output, "a b|$(touch pwned)|; echo x|`id`|");
}

Test(exec_runner, gives_the_program_only_path_in_its_environment)
{
    setenv("VIGIL_TEST_SECRET", "do-not-pass", 1);
    setenv("HOME", "/root", 1);
    char *argv[] = {"/usr/bin/env", NULL};
    struct outcome o;
    run(argv, NULL, 5000, &o);
    cr_assert(o.r.exited && o.r.status == 0);
    cr_assert_str_eq(o.output, "PATH=/usr/local/sbin:/usr/local/bin:/usr/"
                               "sbin:/usr/bin:/sbin:/bin\n");
}

Test(exec_runner, closes_every_inherited_descriptor)
{
    /* A descriptor the daemon holds without O_CLOEXEC, as number 42. */
    int fd = open("/dev/null", O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(dup2(fd, 42), 42);
    close(fd);
    char *argv[] = {"/bin/sh", "-c",
                    "for f in /proc/$$/fd/*; do echo \"${f##*/}\"; done", NULL};
    struct outcome o;
    run(argv, NULL, 5000, &o);
    close(42);
    cr_assert(o.r.exited && o.r.status == 0, "%s", o.output);
    /* 0, 1, 2, and the directory the glob is reading at that moment. */
    cr_assert(strcmp(o.output, "0\n1\n2\n") == 0 ||
                  strcmp(o.output, "0\n1\n2\n3\n") == 0,
              "%s", o.output);
}

Test(exec_runner, feeds_the_input_on_stdin)
{
    char *argv[] = {"/bin/cat", NULL};
    struct outcome o;
    run(argv, "{\"notifications\":[]}", 5000, &o);
    cr_assert(o.r.exited && o.r.status == 0);
    cr_assert_str_eq(o.output, "{\"notifications\":[]}");
}

Test(exec_runner, keeps_a_bounded_prefix_of_a_flood_of_output)
{
    /* 8 MiB on stdout and stderr: the runner keeps reading (the program
     * is never blocked on a full pipe) and keeps only the first bytes. */
    char *argv[] = {"/bin/sh", "-c",
                    "head -c 4194304 /dev/zero | tr '\\0' a; "
                    "head -c 4194304 /dev/zero | tr '\\0' b >&2; exit 3",
                    NULL};
    struct outcome o;
    run(argv, NULL, 15000, &o);
    cr_assert(o.r.exited, "killed by %d, timed out %d", o.r.signal,
              o.r.timed_out);
    cr_assert_eq(o.r.status, 3);
    cr_assert_eq(o.r.output_len, VIGIL_EXEC_OUTPUT_KEEP);
    for (size_t i = 0; i < o.r.output_len; i++)
        cr_assert_eq(o.output[i], 'a', "byte %zu", i);
}

/* Whether pid is gone (or a zombie nobody reaped yet). */
static bool gone(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *stat = vigil_test_read_file(path, NULL);
    if (!stat)
        return true;
    const char *end = strrchr(stat, ')');
    bool zombie = end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
    free(stat);
    return zombie;
}

Test(exec_runner, kills_the_whole_process_group_after_the_timeout)
{
    char *dir = vigil_test_tmpdir("vigil-exec");
    cr_assert_not_null(dir);
    char *pidfile = NULL;
    cr_assert(asprintf(&pidfile, "%s/child.pid", dir) > 0);
    /* A grandchild in the background, then the program hangs. */
    char *argv[] = {
        "/bin/sh", "-c",    "sleep 60 & echo $! > \"$1\"; exec sleep 60",
        "sh",      pidfile, NULL};
    struct outcome o;
    run(argv, NULL, 300, &o);
    cr_assert(o.r.timed_out);
    cr_assert_not(o.r.exited);
    cr_assert_eq(o.r.signal, SIGKILL);
    char *text = vigil_test_read_file(pidfile, NULL);
    cr_assert_not_null(text);
    pid_t grandchild = (pid_t)strtol(text, NULL, 10);
    free(text);
    cr_assert_gt(grandchild, 1);
    /* SIGKILL was sent to the group before done was called; the kernel
     * may take a moment to tear the process down. */
    for (int i = 0; i < 2000 && !gone(grandchild); i++)
        usleep(1000);
    cr_assert(gone(grandchild), "the background child %d survived",
              (int)grandchild);
    vigil_test_rm_rf(dir);
    free(dir);
    free(pidfile);
}

Test(exec_runner, reports_a_program_that_cannot_run)
{
    char *argv[] = {"/nonexistent/notify", NULL};
    struct outcome o;
    run(argv, "x", 5000, &o);
    cr_assert_not(o.r.started);
    cr_assert_not_null(strstr(o.error, "cannot run /nonexistent/notify"), "%s",
                       o.error);
}
