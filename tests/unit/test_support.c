/*
 * The parts of tests/support that need no network: the clear error when
 * redis-server is missing, temporary folders. Starting real servers is
 * tested in tests/integration/test_kafka_redis.c.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "redis_server.h"
#include "support.h"

Test(support, redis_start_says_how_to_install_a_missing_redis_server,
     .init = cr_redirect_stderr)
{
    /* Criterion runs each test in its own process: PATH stays changed
     * only here. An empty folder is a PATH without redis-server. */
    char *empty = vigil_test_tmpdir("vigil-empty-path");
    cr_assert_not_null(empty);
    cr_assert_eq(setenv("PATH", empty, 1), 0);
    struct vigil_test_redis *r = vigil_test_redis_start(NULL);
    vigil_test_rm_rf(empty);
    free(empty);
    cr_assert_null(r);
    fflush(stderr);
    cr_assert_stderr_eq_str(
        "redis-server not found: run deploy/install-deps.sh --test\n");
}

Test(support, rm_rf_removes_a_folder_with_its_content)
{
    char *dir = vigil_test_tmpdir("vigil-rm");
    cr_assert_not_null(dir);
    char *file = vigil_test_write_file(dir, "f", "text");
    cr_assert_not_null(file);
    cr_assert_eq(vigil_test_rm_rf(dir), 0);
    struct stat st;
    cr_assert_neq(stat(dir, &st), 0);
    cr_assert_eq(vigil_test_rm_rf(dir), 0, "a missing path is fine");
    free(file);
    free(dir);
}
