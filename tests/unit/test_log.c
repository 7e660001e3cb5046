#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "support.h"

/*
 * Captures what is written to fd 2 (log.c writes there directly) into a
 * temp file for the length of one test.
 */
struct capture {
    char *dir;
    char *path;
    int saved;
};

static void capture_start(struct capture *c)
{
    c->dir = vigil_test_tmpdir("vigil-log");
    cr_assert_not_null(c->dir);
    cr_assert(asprintf(&c->path, "%s/stderr", c->dir) > 0);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    c->saved = dup(2);
    cr_assert_geq(c->saved, 0);
    cr_assert_eq(dup2(fd, 2), 2);
    close(fd);
}

/* Restores fd 2 and returns what was written (heap). */
static char *capture_stop(struct capture *c)
{
    cr_assert_eq(dup2(c->saved, 2), 2);
    close(c->saved);
    char *text = vigil_test_read_file(c->path, NULL);
    cr_assert_not_null(text);
    vigil_test_rm_rf(c->dir);
    free(c->path);
    free(c->dir);
    return text;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(log, parses_levels)
{
    const char *names[] = {"debug", "info", "warn", "error"};
    enum vigil_log_level want[] = {VIGIL_LOG_DEBUG, VIGIL_LOG_INFO,
                                   VIGIL_LOG_WARN, VIGIL_LOG_ERROR};
    for (size_t i = 0; i < 4; i++) {
        enum vigil_log_level l = VIGIL_LOG_ERROR + 1;
        cr_assert_eq(vigil_log_level_parse(names[i], &l), 0, "%s", names[i]);
        cr_assert_eq(l, want[i]);
    }
    enum vigil_log_level l = VIGIL_LOG_INFO;
    cr_assert_eq(vigil_log_level_parse("warning", &l), -1);
    cr_assert_eq(vigil_log_level_parse("INFO", &l), -1);
    cr_assert_eq(vigil_log_level_parse("", &l), -1);
    cr_assert_eq(l, VIGIL_LOG_INFO);
}

Test(log, parses_formats)
{
    enum vigil_log_format f = VIGIL_LOG_JSON;
    cr_assert_eq(vigil_log_format_parse("text", &f), 0);
    cr_assert_eq(f, VIGIL_LOG_TEXT);
    cr_assert_eq(vigil_log_format_parse("json", &f), 0);
    cr_assert_eq(f, VIGIL_LOG_JSON);
    cr_assert_eq(vigil_log_format_parse("logfmt", &f), -1);
    cr_assert_eq(f, VIGIL_LOG_JSON);
}

Test(log, filters_below_the_minimum_level)
{
    vigil_log_setup(VIGIL_LOG_WARN, VIGIL_LOG_TEXT);
    cr_assert_not(vigil_log_enabled(VIGIL_LOG_DEBUG));
    cr_assert_not(vigil_log_enabled(VIGIL_LOG_INFO));
    cr_assert(vigil_log_enabled(VIGIL_LOG_WARN));
    cr_assert(vigil_log_enabled(VIGIL_LOG_ERROR));

    struct capture c;
    capture_start(&c);
    vigil_info("not shown");
    vigil_warn("shown %d", 1);
    char *out = capture_stop(&c);
    cr_assert_eq(count_lines(out), 1, "%s", out);
    cr_assert_not_null(strstr(out, " warn  shown 1\n"), "%s", out);
    cr_assert_null(strstr(out, "not shown"));
    free(out);
}

Test(log, writes_json_lines_with_escapes)
{
    vigil_log_setup(VIGIL_LOG_DEBUG, VIGIL_LOG_JSON);
    struct capture c;
    capture_start(&c);
    vigil_error("say \"hi\"\\\tnow");
    char *out = capture_stop(&c);
    cr_assert_eq(strncmp(out, "{\"ts\":\"", 7), 0, "%s", out);
    cr_assert_not_null(
        strstr(out, "\",\"level\":\"error\",\"msg\":\"say \\\"hi\\\"\\\\"
                    "\\u0009now\"}\n"),
        "%s", out);
    cr_assert_eq(count_lines(out), 1);
    free(out);
}

/*
 * The window never ends (interval UINT64_MAX), so only the burst decides:
 * nothing here depends on the clock.
 */
Test(log, rate_limiter_lets_a_burst_through_then_suppresses)
{
    vigil_log_setup(VIGIL_LOG_INFO, VIGIL_LOG_TEXT);
    struct vigil_ratelimit rl = VIGIL_RATELIMIT_INIT(UINT64_MAX, 3);
    struct capture c;
    capture_start(&c);
    for (int i = 0; i < 10; i++)
        vigil_log_rl(&rl, VIGIL_LOG_WARN, "bad event %d", i);
    char *out = capture_stop(&c);
    cr_assert_eq(count_lines(out), 3, "%s", out);
    cr_assert_not_null(strstr(out, "bad event 0\n"));
    cr_assert_not_null(strstr(out, "bad event 2\n"));
    cr_assert_null(strstr(out, "bad event 3\n"));
    cr_assert_eq(atomic_load(&rl.suppressed), 7);
    free(out);
}

Test(log, rate_limiter_ignores_messages_below_the_level)
{
    vigil_log_setup(VIGIL_LOG_ERROR, VIGIL_LOG_TEXT);
    struct vigil_ratelimit rl = VIGIL_RATELIMIT_INIT(UINT64_MAX, 2);
    struct capture c;
    capture_start(&c);
    for (int i = 0; i < 5; i++)
        vigil_log_rl(&rl, VIGIL_LOG_INFO, "quiet %d", i);
    vigil_log_rl(&rl, VIGIL_LOG_ERROR, "loud");
    char *out = capture_stop(&c);
    /* Filtered messages spend no budget. */
    cr_assert_eq(count_lines(out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "loud\n"));
    cr_assert_eq(atomic_load(&rl.suppressed), 0);
    free(out);
}
