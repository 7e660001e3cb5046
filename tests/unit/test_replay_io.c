#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay_io.h"
#include "support.h"

static char *tmp;

static void setup(void)
{
    tmp = vigil_test_tmpdir("vigil-replay-io");
    cr_assert_not_null(tmp);
}

static void teardown(void)
{
    vigil_test_rm_rf(tmp);
    free(tmp);
}

TestSuite(replay_io, .init = setup, .fini = teardown);

static int open_with(const char *text, size_t len)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/in", tmp) > 0);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    int fd = open(path, O_RDONLY);
    free(path);
    cr_assert_geq(fd, 0);
    return fd;
}

static void expect_line(struct vigil_line_reader *lr, const char *want)
{
    const char *line;
    size_t len;
    cr_assert_eq(vigil_line_reader_next(lr, &line, &len), 1);
    cr_assert_eq(len, strlen(want));
    cr_assert(memcmp(line, want, len) == 0);
}

Test(replay_io, splits_lines_and_strips_crlf)
{
    const char text[] = "one\r\n\ntwo\nlast";
    int fd = open_with(text, sizeof(text) - 1);
    struct vigil_line_reader lr;
    cr_assert_eq(vigil_line_reader_init(&lr, fd), 0);
    expect_line(&lr, "one");
    expect_line(&lr, "");
    expect_line(&lr, "two");
    expect_line(&lr, "last");
    const char *line;
    size_t len;
    cr_assert_eq(vigil_line_reader_next(&lr, &line, &len), 0);
    cr_assert_eq(vigil_line_reader_next(&lr, &line, &len), 0);
    vigil_line_reader_fini(&lr);
    close(fd);
}

Test(replay_io, grows_for_long_lines_and_skips_overlong_ones)
{
    size_t big = 3u << 20, huge = VIGIL_LINE_MAX + 10;
    size_t total = big + 1 + huge + 1 + 4;
    char *text = malloc(total);
    memset(text, 'a', big);
    text[big] = '\n';
    memset(text + big + 1, 'b', huge);
    memcpy(text + big + 1 + huge, "\nend\n", 5);
    int fd = open_with(text, total);
    struct vigil_line_reader lr;
    cr_assert_eq(vigil_line_reader_init(&lr, fd), 0);
    const char *line;
    size_t len;
    cr_assert_eq(vigil_line_reader_next(&lr, &line, &len), 1);
    cr_assert_eq(len, big);
    cr_assert_eq(line[big - 1], 'a');
    cr_assert_eq(vigil_line_reader_next(&lr, &line, &len), VIGIL_LINE_TOO_LONG);
    expect_line(&lr, "end");
    cr_assert_eq(vigil_line_reader_next(&lr, &line, &len), 0);
    vigil_line_reader_fini(&lr);
    close(fd);
    free(text);
}

static char *escaped(const char *s, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct vigil_out o;
    cr_assert_eq(vigil_out_init(&o, f), 0);
    vigil_out_json_string(&o, s, n);
    cr_assert_eq(vigil_out_flush(&o), 0);
    vigil_out_fini(&o);
    fclose(f);
    return buf;
}

Test(replay_io, escapes_json_strings_and_replaces_broken_utf8)
{
    const char in[] = "a\"b\\c\n\t\x01\x7f \xc3\xa9 \xff \xc3 \xed\xa0\x80 "
                      "\xf0\x9f\x98\x80";
    char *out = escaped(in, sizeof(in) - 1);
    cr_assert_str_eq(out, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f \xc3\xa9 \\ufffd "
                          "\\ufffd \\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80\"");
    free(out);
    out = escaped("", 0);
    cr_assert_str_eq(out, "\"\"");
    free(out);
}

Test(replay_io, buffers_output_larger_than_its_buffer)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct vigil_out o;
    cr_assert_eq(vigil_out_init(&o, f), 0);
    size_t n = 200000;
    char *big = malloc(n);
    memset(big, 'z', n);
    vigil_out_put(&o, "[", 1);
    vigil_out_put(&o, big, n);
    vigil_out_printf(&o, "]%d", 42);
    cr_assert_eq(vigil_out_flush(&o), 0);
    vigil_out_fini(&o);
    fclose(f);
    cr_assert_eq(len, n + 4);
    cr_assert_eq(buf[0], '[');
    cr_assert_str_eq(buf + n + 1, "]42");
    free(buf);
    free(big);
}
