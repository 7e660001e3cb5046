#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "event.h"
#include "matcher.h"
#include "prefilter.h"
#include "rule_set.h"

Test(prefilter, validates_utf8_strictly)
{
    cr_assert(vigil_utf8_valid("", 0));
    cr_assert(vigil_utf8_valid("plain ascii", 11));
    cr_assert(vigil_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    cr_assert(vigil_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    cr_assert_not(vigil_utf8_valid("\xff", 1));
    cr_assert_not(vigil_utf8_valid("\xc3", 1));             /* truncated */
    cr_assert_not(vigil_utf8_valid("\xc0\xaf", 2));         /* overlong */
    cr_assert_not(vigil_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    cr_assert_not(vigil_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    cr_assert_not(vigil_utf8_valid("\xf4\x90\x80\x80", 4)); /* too big */
    cr_assert_not(vigil_utf8_valid("\xe2\x82\x41", 3));     /* bad tail */
    cr_assert_not(vigil_utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

Test(prefilter, knows_whether_it_was_built_in)
{
#ifdef VIGIL_HAVE_VECTORSCAN
    cr_assert(vigil_prefilter_available());
#else
    cr_assert_not(vigil_prefilter_available());
#endif
}

/* The literals of pattern as "a|b|..." ("" when none). */
static char *literals(const char *pattern)
{
    size_t len = strlen(pattern);
    char *buf = malloc(len + 1);
    struct vigil_prefilter_literal lits[VIGIL_PREFILTER_MAX_LITERALS];
    size_t n = vigil_prefilter_literals(pattern, len, buf, len + 1, lits,
                                        VIGIL_PREFILTER_MAX_LITERALS);
    static char out[512];
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s%.*s",
                              i ? "|" : "", lits[i].caseless ? "(?i)" : "",
                              (int)lits[i].len, lits[i].ptr);
    out[o] = '\0';
    free(buf);
    return out;
}

Test(prefilter, finds_the_longest_literal_a_match_must_hold)
{
    cr_assert_str_eq(literals("sshd\\[\\d+\\]: Failed password for "
                              "(?:invalid user )?(?<user>\\S+) from"),
                     "]: Failed password for ");
    cr_assert_str_eq(literals("a\\.b\\[cd\\] x"), "a.b[cd] x");
    /* An optional character ends the run without itself, a repeated one
     * with itself. */
    cr_assert_str_eq(literals("abcdex?fg"), "abcde");
    cr_assert_str_eq(literals("abc+defgh"), "defgh");
    cr_assert_str_eq(literals("abcd+efg"), "abcd");
    cr_assert_str_eq(literals("ab{0,3}cdef"), "cdef");
    cr_assert_str_eq(literals("xy{2}zzzz"), "zzzz");
    /* A multi-byte character is optional as a whole. */
    cr_assert_str_eq(literals("wxyzcaf\xc3\xa9?"), "wxyzcaf");
    /* Escapes with arguments are not literals. */
    cr_assert_str_eq(literals("\\x41BCDE"), "BCDE");
    cr_assert_str_eq(literals("\\x{263a}wxyz\\p{L}"), "wxyz");
    cr_assert_str_eq(literals("[)(\\]]abcd[[:alpha:]]"), "abcd");
}

Test(prefilter, takes_one_literal_per_alternative)
{
    cr_assert_str_eq(literals("foo bar|baz qux"), "foo bar|baz qux");
    cr_assert_str_eq(literals("x(?:alpha|beta gamma)y"), "alpha|beta gamma");
    cr_assert_str_eq(literals("ab(?<n>cdefgh|ijklmn)"), "cdefgh|ijklmn");
    /* An optional group is no requirement; a shorter run beats a set
     * with a shorter member. */
    cr_assert_str_eq(literals("(?:longliteral)?abcd"), "abcd");
    cr_assert_str_eq(literals("abcdef(?:ghij|kl)"), "abcdef");
    /* Every alternative needs a literal. */
    cr_assert_str_eq(literals("abcdef|\\d+"), "");
    cr_assert_str_eq(literals("ab.cd"), "");
}

Test(prefilter, gives_up_where_the_subject_may_differ_from_the_pattern)
{
    cr_assert_str_eq(literals("(?i)abcdef"), "");
    cr_assert_str_eq(literals("abcdefgh(?-i)"), "");
    cr_assert_str_eq(literals("(?x) abcdef # comment"), "");
    cr_assert_str_eq(literals("\\Qab(cd\\E efgh"), "");
    cr_assert_str_eq(literals("(abcd)\\1"), "");
    cr_assert_str_eq(literals("(*UCP)abcdef"), "");
    cr_assert_str_eq(literals("abcd{x"), "");
    cr_assert_str_eq(literals("(?#a(b)abcdef"), "");
    /* Groups whose body is not in the subject as written stay opaque. */
    cr_assert_str_eq(literals("abcd(?-i:efghijkl)"), "abcd");
    cr_assert_str_eq(literals("abcd(?=efghijkl)"), "abcd");
    cr_assert_str_eq(literals("(?<!efghijkl)abcd"), "abcd");
}

Test(prefilter, reads_caseless_groups_as_caseless_literals)
{
    cr_assert_str_eq(literals("abcd(?i:efghijkl)"), "(?i)efghijkl");
    cr_assert_str_eq(literals("ab(?i:drop|block|deny)cd"),
                     "(?i)drop|(?i)block|(?i)deny");
    /* Nested groups stay caseless; other cases of non-ASCII letters are
     * not spelled out, so such runs are not taken. */
    cr_assert_str_eq(literals("(?i:x(?:abcdef)y)"), "(?i)abcdef");
    cr_assert_str_eq(literals("abcd(?i:\xc3\xa9t\xc3\xa9s)"), "abcd");
    cr_assert_str_eq(literals("abcd(?i:cafÃ© au lait)"), "abcd");
}

/* Rules sharing "kernel: " and " SRC=", told apart by caseless sets;
 * a status told apart by spelling out " (401|403) ". */
static const char caseless_rules[] =
    "pack: p\n"
    "rules:\n"
    "  - id: drop\n    title: t\n    severity: low\n"
    "    match: 'kernel: (?<p>[^=]*?(?i:drop|block|deny))[^=]*IN=\\S* "
    "SRC=(?<s>\\S+)'\n"
    "  - id: accept\n    title: t\n    severity: low\n"
    "    match: 'kernel: (?<p>[^=]*?(?i:accept|allow))[^=]*IN=\\S* "
    "SRC=(?<s>\\S+)'\n"
    "  - id: ks\n    title: t\n    severity: low\n"
    "    match: 'x(?i:risky task)y'\n"
    "  - id: st\n    title: t\n    severity: low\n"
    "    match: 'HTTP/[0-9.]+\" (?<s>401|403) '\n";

static int count_match(const struct vigil_match *m, void *user)
{
    char *out = user;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%s", n ? " " : "", m->rule->id);
    return 0;
}

/* The rules that match line, as "id id ..." (static storage). */
static const char *matches(struct vigil_rule_set *set, const char *line)
{
    static char out[256];
    out[0] = '\0';
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, line, strlen(line));
    vigil_event_add(&ev, (struct vigil_sv){"message", 7},
                    (struct vigil_sv){line, strlen(line)}, VIGIL_FIELD_STRING,
                    false);
    cr_assert_geq(vigil_matcher_run(m, &ev, count_match, out), 0);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    return out;
}

Test(prefilter, chosen_literals_miss_no_match_pcre2_finds)
{
    struct vigil_diags d;
    vigil_diags_init(&d);
    struct vigil_rule_source src = {"p.yaml", caseless_rules,
                                    strlen(caseless_rules)};
    struct vigil_rule_set_options no = {.no_prefilter = true};
    struct vigil_rule_set *with =
        vigil_rule_set_load_sources(&src, 1, NULL, &d);
    struct vigil_rule_set *without =
        vigil_rule_set_load_sources(&src, 1, &no, &d);
    vigil_diags_print(&d, stderr);
    cr_assert(with && without);
    static const char *const lines[] = {
        "kernel: [UFW BLOCK] IN=eth0 SRC=10.0.0.1 DST=10.0.0.2",
        "kernel: [UFW bLoCk] IN=eth0 SRC=10.0.0.1 DST=10.0.0.2",
        "kernel: DROPPED IN=eth0 SRC=10.0.0.1",
        "kernel: [UFW ALLOW] IN=eth0 SRC=10.0.0.1",
        "kernel: accept-all IN=eth0 SRC=10.0.0.1",
        "kernel: [UFW AUDIT] IN=eth0 SRC=10.0.0.1",
        /* The Kelvin sign and the long s are caseless k and s. */
        "kernel: bloc\xe2\x84\xaa IN=eth0 SRC=10.0.0.1",
        "xRI\xc5\xbfKY TA\xc5\xbfKy",
        "xrisky taskY",
        "xRISKY TASKy",
        /* " (401|403) " is spelled out as two literals. */
        "\"GET / HTTP/1.1\" 401 12",
        "\"GET / HTTP/1.1\" 403 12",
        "\"GET / HTTP/1.1\" 404 12",
        "\"GET / HTTP/1.1\" 4013 12",
    };
    static const char *const want[] = {
        "drop", "drop", "drop", "accept", "accept", "", "drop",
        "ks",   "",     "ks",   "st",     "st",     "", "",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char a[256];
        snprintf(a, sizeof(a), "%s", matches(with, lines[i]));
        cr_assert_str_eq(a, matches(without, lines[i]), "%s", lines[i]);
        cr_assert_str_eq(a, want[i], "%s: %s", lines[i], a);
    }
    vigil_rule_set_unref(with);
    vigil_rule_set_unref(without);
    vigil_diags_fini(&d);
}
