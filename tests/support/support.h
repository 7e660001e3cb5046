/*
 * Test support: small helpers shared by unit and integration tests. Every
 * helper that creates something (a temp dir, a child process) has a
 * matching cleanup the test must call, also on failure paths (Criterion's
 * .fini).
 */
#ifndef VIGIL_TEST_SUPPORT_H
#define VIGIL_TEST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

/* A free TCP port on 127.0.0.1 (bound, read back and released). */
int vigil_test_free_port(void);

/* mkdtemp under $TMPDIR (or /tmp); free() the result. NULL on failure. */
char *vigil_test_tmpdir(const char *prefix);

/* Removes path recursively; missing paths are fine. */
int vigil_test_rm_rf(const char *path);

/* Writes text to dir/name; returns the heap path (free() it) or NULL. */
char *vigil_test_write_file(const char *dir, const char *name,
                            const char *text);

/* Reads a whole file into a NUL-terminated heap buffer; NULL on error. */
char *vigil_test_read_file(const char *path, size_t *len);

/*
 * Runs argv (argv[0] a path, never through a shell) to completion with
 * stdin_text on its stdin (NULL: empty), capturing stdout and stderr into
 * heap strings (free() them; either pointer may be NULL to discard).
 * Returns the exit status (0..255), 128+signal when killed, -1 on error.
 */
int vigil_test_run(char *const argv[], const char *stdin_text, char **out,
                   char **err);

/*
 * Starts argv (never through a shell) in the background with stdout and
 * stderr appended to log_path, and returns its pid (-1 on error). The
 * child is killed when the test process dies. Reap it with
 * vigil_test_wait().
 */
pid_t vigil_test_spawn(char *const argv[], const char *log_path);

/*
 * Waits up to timeout_ms for pid to exit; returns its exit status as
 * vigil_test_run() does, or -2 when it is still running.
 */
int vigil_test_wait(pid_t pid, int timeout_ms);

#endif
