#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"

static struct vigil_regex *compile(const char *pat)
{
    struct vigil_regex_error e;
    struct vigil_regex *re = vigil_regex_compile(pat, strlen(pat), &e);
    cr_assert_not_null(re, "%s: %s", pat, e.msg);
    return re;
}

static void assert_group(struct vigil_regex_ctx *ctx, const char *subject,
                         uint32_t g, const char *want)
{
    size_t s, e;
    cr_assert(vigil_regex_group(ctx, g, &s, &e), "group %u unset", g);
    cr_assert_eq(e - s, strlen(want));
    cr_assert(memcmp(subject + s, want, e - s) == 0);
}

Test(regex, matches_and_extracts_named_groups)
{
    struct vigil_regex *re =
        compile("Failed password for (?<user>\\S+) from (?<src_ip>\\S+)");
    cr_assert_eq(vigil_regex_capture_count(re), 2);
    cr_assert_eq(vigil_regex_name_count(re), 2);
    uint32_t g;
    cr_assert_str_eq(vigil_regex_name(re, 0, &g), "src_ip");
    cr_assert_eq(g, 2);
    cr_assert_str_eq(vigil_regex_name(re, 1, &g), "user");
    cr_assert_eq(g, 1);
    cr_assert_null(vigil_regex_name(re, 2, &g));

    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(NULL, 0);
    const char *line = "sshd[1]: Failed password for root from 10.0.0.1 port 2";
    cr_assert_eq(vigil_regex_match(ctx, re, line, strlen(line)),
                 VIGIL_REGEX_MATCH);
    assert_group(ctx, line, 1, "root");
    assert_group(ctx, line, 2, "10.0.0.1");
    cr_assert_eq(vigil_regex_match(ctx, re, "nothing", 7), VIGIL_REGEX_NOMATCH);
    size_t s, e;
    cr_assert_not(vigil_regex_group(ctx, 1, &s, &e));
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);
}

Test(regex, reports_compile_error_with_offset)
{
    struct vigil_regex_error e;
    const char *pat = "abc(def";
    cr_assert_null(vigil_regex_compile(pat, strlen(pat), &e));
    cr_assert_eq(e.offset, 7);
    cr_assert(strstr(e.msg, "parenthesis") != NULL, "%s", e.msg);

    pat = "ab[z-a]";
    cr_assert_null(vigil_regex_compile(pat, strlen(pat), &e));
    cr_assert_eq(e.offset, 5, "offset %zu", e.offset);
}

Test(regex, catastrophic_pattern_stops_at_limit_instead_of_hanging)
{
    struct vigil_regex *re = compile("(a+)+$");
    size_t n = 30000;
    char *subject = malloc(n + 2);
    memset(subject, 'a', n);
    subject[n] = 'b';
    subject[n + 1] = '\0';
    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(NULL, 1);
    cr_assert_eq(vigil_regex_match(ctx, re, subject, n + 1), VIGIL_REGEX_LIMIT);
    cr_assert_eq(vigil_regex_ctx_limit_hits(ctx), 1);
    cr_assert_eq(vigil_regex_test(ctx, re, subject, n + 1), VIGIL_REGEX_LIMIT);
    cr_assert_eq(vigil_regex_ctx_limit_hits(ctx), 2);
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);
    free(subject);
}

Test(regex, small_match_limit_applies)
{
    struct vigil_regex *re = compile("^(\\w+\\s?)*y$");
    struct vigil_regex_limits lim = {.match_limit = 100};
    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(&lim, 1);
    const char *s = "aaa bbb ccc ddd y!";
    cr_assert_eq(vigil_regex_match(ctx, re, s, strlen(s)), VIGIL_REGEX_LIMIT);
    vigil_regex_ctx_destroy(ctx);
    /* With the default limits the same match completes. */
    ctx = vigil_regex_ctx_create(NULL, 1);
    cr_assert_eq(vigil_regex_match(ctx, re, s, strlen(s)), VIGIL_REGEX_NOMATCH);
    cr_assert_eq(vigil_regex_ctx_limit_hits(ctx), 0);
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);
}

Test(regex, invalid_utf8_in_subject_is_matched_around)
{
    struct vigil_regex *re = compile("user=(?<u>\\w+)");
    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(NULL, 1);
    const char s[] = "\xff\xfe user=bob \xc3";
    cr_assert_eq(vigil_regex_match(ctx, re, s, sizeof(s) - 1),
                 VIGIL_REGEX_MATCH);
    assert_group(ctx, s, 1, "bob");
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);
}

Test(regex, dot_matches_a_whole_character)
{
    struct vigil_regex *re = compile("^(?<c>.)$");
    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(NULL, 1);
    const char *s = "\xc3\xa9"; /* é */
    cr_assert_eq(vigil_regex_match(ctx, re, s, 2), VIGIL_REGEX_MATCH);
    assert_group(ctx, s, 1, "\xc3\xa9");
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);
}

Test(regex, test_keeps_groups_of_last_match)
{
    struct vigil_regex *a = compile("(?<x>b+)");
    struct vigil_regex *b = compile("(z)(y)(x)");
    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(NULL, 1);
    const char *s = "abbc";
    cr_assert_eq(vigil_regex_match(ctx, a, s, 4), VIGIL_REGEX_MATCH);
    cr_assert_eq(vigil_regex_test(ctx, b, "zyx", 3), VIGIL_REGEX_MATCH);
    assert_group(ctx, s, 1, "bb");
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(a);
    vigil_regex_destroy(b);
}

Test(regex, grows_match_data_for_patterns_with_more_groups)
{
    struct vigil_regex *re = compile("(a)(b)(c)(d)(e)");
    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(NULL, 1);
    const char *s = "xabcde";
    cr_assert_eq(vigil_regex_match(ctx, re, s, 6), VIGIL_REGEX_MATCH);
    assert_group(ctx, s, 5, "e");
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);
}

Test(regex, pattern_may_contain_nul_and_subject_may_be_empty)
{
    struct vigil_regex_error e;
    struct vigil_regex *re = vigil_regex_compile("a\0b", 3, &e);
    cr_assert_not_null(re);
    size_t len;
    vigil_regex_pattern(re, &len);
    cr_assert_eq(len, 3);
    struct vigil_regex_ctx *ctx = vigil_regex_ctx_create(NULL, 0);
    cr_assert_eq(vigil_regex_match(ctx, re, "xa\0b", 4), VIGIL_REGEX_MATCH);
    cr_assert_eq(vigil_regex_match(ctx, re, NULL, 0), VIGIL_REGEX_NOMATCH);
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);

    re = vigil_regex_compile("^$", 2, &e);
    ctx = vigil_regex_ctx_create(NULL, 0);
    cr_assert_eq(vigil_regex_match(ctx, re, "", 0), VIGIL_REGEX_MATCH);
    vigil_regex_ctx_destroy(ctx);
    vigil_regex_destroy(re);
}

Test(regex, refuses_backslash_c)
{
    struct vigil_regex_error e;
    cr_assert_null(vigil_regex_compile("a\\Cb", 4, &e));
}
