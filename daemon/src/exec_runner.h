/*
 * exec_runner: runs one program for the exec notifier without a shell:
 * posix_spawn(p) with argv as given, a scrubbed environment (only PATH),
 * default signal dispositions, an empty signal mask, its own process
 * group, every descriptor but 0-2 closed, the input on stdin, stdout and
 * stderr captured together (the first VIGIL_EXEC_OUTPUT_KEEP bytes kept,
 * the rest read and dropped), and a timeout after which the whole
 * process group is killed (SIGKILL). The exit is watched with a pidfd on
 * the libev loop (or a 50 ms waitpid poll where pidfd_open is missing).
 *
 * The caller must ignore SIGPIPE (vigild does): a program that does not
 * read its stdin must not kill the daemon. Loop thread only.
 */
#ifndef VIGIL_EXEC_RUNNER_H
#define VIGIL_EXEC_RUNNER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_EXEC_OUTPUT_KEEP 1024

struct vigil_exec_result {
    bool started;       /* false: spawn failed, see error */
    bool exited;        /* exited normally; status is its exit code */
    int status;         /* exit code when exited */
    int signal;         /* the signal that killed it, 0 when exited */
    bool timed_out;     /* killed because of the timeout */
    const char *output; /* stdout+stderr, NUL-ended, at most KEEP bytes */
    size_t output_len;
    const char *error; /* spawn error text, "" otherwise */
};

typedef void (*vigil_exec_done_fn)(void *ctx,
                                   const struct vigil_exec_result *r);

struct vigil_exec;

/*
 * Starts argv[0] (a path, or a bare name looked up in vigild's PATH)
 * with argv, writes input[0..len) (copied) to its stdin and calls
 * done(ctx, result) from the loop when it has ended (or failed to
 * start). Returns the handle (freed after done returns), or NULL when
 * out of memory or pipes are missing (done is not called then).
 */
struct vigil_exec *vigil_exec_start(struct ev_loop *loop, char *const argv[],
                                    const char *input, size_t len,
                                    uint64_t timeout_ms,
                                    vigil_exec_done_fn done, void *ctx);

/* Kills the process group, reaps the child and frees e; done is not
 * called. */
void vigil_exec_cancel(struct vigil_exec *e);

#endif
