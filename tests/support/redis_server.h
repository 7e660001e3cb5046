/*
 * redis_server: a real redis-server for tests, started as a child process
 * on a free 127.0.0.1 port in its own temporary folder. No mock of Redis:
 * tests talk RESP over TCP to the binary that production uses.
 *
 * The child gets PR_SET_PDEATHSIG=SIGKILL, so it dies with the thread that
 * started it even when a test crashes; still, stop every server you start
 * from the test's .fini (see tests/support/README.md). Start and stop a
 * server on the same thread, the one that lives as long as the server
 * (Criterion runs .init, the test and .fini on the same thread).
 *
 * Errors are printed on stderr with their cause; functions return NULL or
 * a negative value. Nothing here is thread-safe: one thread per server.
 */
#ifndef VIGIL_TEST_REDIS_SERVER_H
#define VIGIL_TEST_REDIS_SERVER_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/types.h>

struct vigil_test_redis_options {
    bool aof;                  /* appendonly yes, appendfsync always */
    const char *password;      /* requirepass; NULL: none. Copied. */
    unsigned start_timeout_ms; /* wait for PING; 0: 10000 */
};

struct vigil_test_redis;

/*
 * Starts redis-server (found in PATH) bound to 127.0.0.1 on a free port,
 * with --save "" (no RDB snapshots), protected mode off, its files in a
 * fresh mkdtemp folder, and waits until it answers PING. opts may be NULL
 * (defaults: no persistence, no password). A port taken by someone else
 * between picking and binding is retried with another port. Returns NULL
 * when redis-server is missing ("redis-server not found: run
 * deploy/install-deps.sh --test"), does not start, or does not answer in
 * time; everything it created is removed then. Free with _stop().
 */
struct vigil_test_redis *
vigil_test_redis_start(const struct vigil_test_redis_options *opts);

/*
 * Stops the server (SIGTERM, then SIGKILL after a bounded wait), removes
 * its folder and frees r. NULL is fine. Returns 0, or -1 when the child
 * had to be killed.
 */
int vigil_test_redis_stop(struct vigil_test_redis *r);

/*
 * Kills the server at once (SIGKILL, like a crash or power loss) and reaps
 * it; the folder stays, so _restart() finds the AOF. Returns 0 or -1 when
 * it is not running.
 */
int vigil_test_redis_kill(struct vigil_test_redis *r);

/*
 * Starts the server again on the same port and folder (after _kill(), or
 * kills it first when it is still running) and waits for PING. With
 * opts.aof the data written before the kill is back. 0 or -1.
 */
int vigil_test_redis_restart(struct vigil_test_redis *r);

/*
 * Freezes (SIGSTOP) and thaws (SIGCONT) the server: connections stay
 * open but nothing is answered, like a stalled or partitioned Redis.
 * 0 or -1 when it is not running.
 */
int vigil_test_redis_pause(struct vigil_test_redis *r);
int vigil_test_redis_resume(struct vigil_test_redis *r);

/* Accessors; strings are owned by r and valid until _stop(). */
const char *vigil_test_redis_host(const struct vigil_test_redis *r);
int vigil_test_redis_port(const struct vigil_test_redis *r);
const char *vigil_test_redis_url(const struct vigil_test_redis *r);
const char *vigil_test_redis_dir(const struct vigil_test_redis *r);
pid_t vigil_test_redis_pid(const struct vigil_test_redis *r);
bool vigil_test_redis_is_running(const struct vigil_test_redis *r);

/*
 * A synchronous hiredis connection to r (authenticated when r has a
 * password), with connect and command timeouts of timeout_ms (0: 2000) so
 * that a paused server makes commands fail instead of hanging the test.
 * NULL on error (printed). Free with redisFree().
 */
redisContext *vigil_test_redis_connect(const struct vigil_test_redis *r,
                                       unsigned timeout_ms);

#endif
