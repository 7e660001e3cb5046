#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "yaml_doc.h"

/* Parses text as "t.yaml"; the test owns y and d. */
static void load(struct vigil_yaml *y, struct vigil_diags *d, const char *text)
{
    vigil_diags_init(d);
    cr_assert_eq(vigil_yaml_load_string(y, "t.yaml", text, strlen(text), d), 0,
                 "%s", d->n ? d->v[0].msg : "");
}

static struct fy_node *at(struct vigil_yaml *y, const char *path)
{
    struct fy_node *n =
        fy_node_by_path(vigil_yaml_root(y), path, FY_NT, FYNWF_DONT_FOLLOW);
    cr_assert_not_null(n, "%s", path);
    return n;
}

static void assert_mark(struct fy_node *n, int line, int col)
{
    int l, c;
    vigil_yaml_mark(n, &l, &c);
    cr_assert_eq(l, line, "line %d, expected %d", l, line);
    cr_assert_eq(c, col, "col %d, expected %d", c, col);
}

/* The only diag, formatted. */
static void assert_one_diag(const struct vigil_diags *d, const char *expected)
{
    char buf[512];
    cr_assert_eq(d->n, 1, "%zu diags", d->n);
    vigil_diag_format(&d->v[0], buf, sizeof(buf));
    cr_assert_str_eq(buf, expected);
}

static uint64_t dur(const char *s)
{
    uint64_t ms = 0;
    cr_assert_eq(vigil_parse_duration(s, strlen(s), &ms), 0, "%s", s);
    return ms;
}

static bool dur_fails(const char *s)
{
    uint64_t ms = 42;
    return vigil_parse_duration(s, strlen(s), &ms) == -1 && ms == 42;
}

Test(yaml_doc, parses_every_duration_unit)
{
    cr_assert_eq(dur("250ms"), 250);
    cr_assert_eq(dur("10s"), 10000);
    cr_assert_eq(dur("5m"), 300000);
    cr_assert_eq(dur("4h"), 14400000);
    cr_assert_eq(dur("7d"), 604800000);
    cr_assert_eq(dur("1w"), 604800000);
    cr_assert_eq(dur("0s"), 0);
}

Test(yaml_doc, parses_combined_durations)
{
    cr_assert_eq(dur("1h30m"), 5400000);
    cr_assert_eq(dur("1m30s500ms"), 90500);
    cr_assert_eq(dur("1d12h"), 129600000);
}

Test(yaml_doc, rejects_malformed_durations)
{
    cr_assert(dur_fails(""));
    cr_assert(dur_fails("10"));
    cr_assert(dur_fails("s"));
    cr_assert(dur_fails("10x"));
    cr_assert(dur_fails("-5s"));
    cr_assert(dur_fails("1h 30m"));
    cr_assert(dur_fails("1.5h"));
    cr_assert(dur_fails("10s5"));
    cr_assert(dur_fails("10S"));
}

Test(yaml_doc, rejects_durations_that_overflow)
{
    cr_assert(dur_fails("99999999999999999999ms"));
    cr_assert(dur_fails("40000000000w"));
    cr_assert(dur_fails("18446744073709552s"));
    cr_assert_eq(dur("18446744073709551s"), 18446744073709551000ULL);
    /* Each part fits, the sum does not. */
    cr_assert_eq(dur("20000000000w"), 20000000000ULL * 604800000ULL);
    cr_assert(dur_fails("20000000000w20000000000w"));
}

Test(yaml_doc, reports_duration_errors_at_the_value)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "a: 1\nfor: \"soon\"\n");
    uint64_t ms;
    cr_assert_eq(vigil_yaml_duration(&y, at(&y, "/for"), "for", &ms), -1);
    assert_one_diag(&d, "t.yaml:2:6: for must be a duration such as 10s, 5m, "
                        "4h or 7d, not 'soon'");
    cr_assert_eq(y.errors, 1);
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, marks_scalars_and_collections)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d,
         "\n"
         "plain: x\n"
         "quoted: 'y'\n"
         "block:\n"
         "  inner: 1\n"
         "flow: {a: 1}\n"
         "seq:\n"
         "  - one\n"
         "  - two\n"
         "flowseq: [1, \"2\"]\n"
         "empty:\n");
    assert_mark(vigil_yaml_root(&y), 2, 1);
    assert_mark(at(&y, "/plain"), 2, 8);
    assert_mark(at(&y, "/quoted"), 3, 9);
    assert_mark(at(&y, "/block"), 5, 3);
    assert_mark(at(&y, "/block/inner"), 5, 10);
    assert_mark(at(&y, "/flow"), 6, 7);
    assert_mark(at(&y, "/seq"), 8, 3);
    assert_mark(at(&y, "/seq/1"), 9, 5);
    assert_mark(at(&y, "/flowseq"), 10, 10);
    assert_mark(at(&y, "/flowseq/1"), 10, 14);
    /* An empty value has no text: it is marked at its key. */
    assert_mark(at(&y, "/empty"), 11, 1);
    assert_mark(NULL, 0, 0);
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, marks_a_mapping_that_ends_in_an_empty_value)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "top:\n  a: 1\n  b:\n");
    assert_mark(vigil_yaml_root(&y), 1, 1);
    assert_mark(at(&y, "/top"), 2, 3);
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, reports_syntax_errors_with_position)
{
    struct vigil_yaml y;
    struct vigil_diags d = {0};
    const char *text = "a: 1\nb: \"open\n";
    cr_assert_eq(vigil_yaml_load_string(&y, "t.yaml", text, strlen(text), &d),
                 -1);
    cr_assert_null(y.doc);
    cr_assert_geq(d.n, 1);
    cr_assert_str_eq(d.v[0].file, "t.yaml");
    cr_assert_eq(d.v[0].line, 2);
    cr_assert_gt(d.v[0].col, 0);
    vigil_diags_fini(&d);
}

Test(yaml_doc, reports_duplicate_keys)
{
    struct vigil_yaml y;
    struct vigil_diags d = {0};
    const char *text = "a: 1\nb: 2\na: 3\n";
    cr_assert_eq(vigil_yaml_load_string(&y, "t.yaml", text, strlen(text), &d),
                 -1);
    assert_one_diag(&d, "t.yaml:3:1: duplicate key");
    vigil_diags_fini(&d);
}

Test(yaml_doc, empty_input_is_an_empty_document)
{
    const char *texts[] = {"", "# only a comment\n", "---\n", "\n\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        struct vigil_yaml y;
        struct vigil_diags d = {0};
        cr_assert_eq(vigil_yaml_load_string(&y, "t.yaml", texts[i],
                                            strlen(texts[i]), &d),
                     0, "text %zu", i);
        cr_assert_null(vigil_yaml_root(&y), "text %zu", i);
        cr_assert_eq(d.n, 0);
        vigil_yaml_fini(&y);
    }
}

Test(yaml_doc, rejects_a_second_document)
{
    struct vigil_yaml y;
    struct vigil_diags d = {0};
    const char *text = "a: 1\n---\nb: 2\n";
    cr_assert_eq(vigil_yaml_load_string(&y, "t.yaml", text, strlen(text), &d),
                 -1);
    assert_one_diag(&d, "t.yaml:3:1: only one YAML document is allowed per "
                        "file");
    vigil_diags_fini(&d);

    /* A trailing "---" with nothing after it is harmless. */
    text = "a: 1\n---\n";
    cr_assert_eq(vigil_yaml_load_string(&y, "t.yaml", text, strlen(text), &d),
                 0);
    cr_assert_eq(d.n, 0);
    vigil_yaml_fini(&y);
}

Test(yaml_doc, loads_files_and_reports_missing_ones)
{
    char *dir = vigil_test_tmpdir("vigil-yaml");
    cr_assert_not_null(dir);
    char *path = vigil_test_write_file(dir, "x.yaml", "k: [1, 2]\n");
    struct vigil_yaml y;
    struct vigil_diags d = {0};
    cr_assert_eq(vigil_yaml_load_file(&y, path, &d), 0);
    cr_assert_str_eq(y.file, path);
    assert_mark(at(&y, "/k/1"), 1, 8);
    vigil_yaml_fini(&y);

    char *missing = NULL;
    cr_assert(asprintf(&missing, "%s/none.yaml", dir) > 0);
    cr_assert_eq(vigil_yaml_load_file(&y, missing, &d), -1);
    char buf[512], want[512];
    vigil_diag_format(&d.v[0], buf, sizeof(buf));
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory",
             missing);
    cr_assert_str_eq(buf, want);
    vigil_diags_fini(&d);
    free(missing);
    free(path);
    vigil_test_rm_rf(dir);
    free(dir);
}

Test(yaml_doc, map_reports_unknown_and_missing_keys)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "rule:\n  id: x\n  titel: y\n  [a]: 1\n");
    struct fy_node *id, *title;
    const struct vigil_yaml_key keys[] = {
        {"id", &id, true},
        {"title", &title, true},
        {NULL, NULL, false},
    };
    cr_assert_eq(vigil_yaml_map(&y, at(&y, "/rule"), "rule", keys), -1);
    cr_assert_not_null(id);
    cr_assert_null(title);
    cr_assert_eq(d.n, 3);
    char buf[256];
    vigil_diag_format(&d.v[0], buf, sizeof(buf));
    cr_assert_str_eq(buf, "t.yaml:3:3: rule: unknown key 'titel'");
    vigil_diag_format(&d.v[1], buf, sizeof(buf));
    cr_assert_str_eq(buf, "t.yaml:4:3: rule: keys must be plain strings");
    vigil_diag_format(&d.v[2], buf, sizeof(buf));
    cr_assert_str_eq(buf, "t.yaml:2:3: rule: missing required key 'title'");
    cr_assert_eq(y.errors, 3);
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, map_rejects_a_non_mapping)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "rule: [1]\n");
    struct fy_node *id = (struct fy_node *)&id;
    const struct vigil_yaml_key keys[] = {{"id", &id, true},
                                          {NULL, NULL, false}};
    cr_assert_eq(vigil_yaml_map(&y, at(&y, "/rule"), "rule", keys), -1);
    cr_assert_null(id);
    assert_one_diag(&d, "t.yaml:1:7: rule must be a mapping");
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, strv_takes_a_string_or_a_list)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "one: a\nmany: [a, 'b c', \"\"]\nnone: []\n");
    char **v;
    size_t n;
    cr_assert_eq(vigil_yaml_strv(&y, at(&y, "/one"), "one", &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0], "a");
    cr_assert_null(v[1]);
    vigil_strv_free(v);
    cr_assert_eq(vigil_yaml_strv(&y, at(&y, "/many"), "many", &v, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(v[1], "b c");
    cr_assert_str_eq(v[2], "");
    cr_assert_null(v[3]);
    vigil_strv_free(v);
    cr_assert_eq(vigil_yaml_strv(&y, at(&y, "/none"), "none", &v, NULL), 0);
    cr_assert_null(v[0]);
    vigil_strv_free(v);
    cr_assert_eq(d.n, 0);
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, strv_reports_an_item_that_is_not_a_string)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "tags:\n  - a\n  - {b: 1}\n");
    char **v = NULL;
    cr_assert_eq(vigil_yaml_strv(&y, at(&y, "/tags"), "tags", &v, NULL), -1);
    assert_one_diag(&d, "t.yaml:3:5: tags must be a single value");
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, converts_scalars)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "i: -12\nbig: 99999\nf: 2.5\nyes: on\nno: False\nbad: x\n");
    long long i;
    double f;
    bool b;
    cr_assert_eq(vigil_yaml_int(&y, at(&y, "/i"), "i", -100, 100, &i), 0);
    cr_assert_eq(i, -12);
    cr_assert_eq(vigil_yaml_double(&y, at(&y, "/f"), "f", &f), 0);
    cr_assert_float_eq(f, 2.5, 1e-9);
    cr_assert_eq(vigil_yaml_bool(&y, at(&y, "/yes"), "yes", &b), 0);
    cr_assert(b);
    cr_assert_eq(vigil_yaml_bool(&y, at(&y, "/no"), "no", &b), 0);
    cr_assert_not(b);
    cr_assert_eq(d.n, 0);

    cr_assert_eq(vigil_yaml_int(&y, at(&y, "/big"), "big", 0, 100, &i), -1);
    cr_assert_eq(vigil_yaml_int(&y, at(&y, "/bad"), "bad", 0, 100, &i), -1);
    cr_assert_eq(vigil_yaml_bool(&y, at(&y, "/bad"), "bad", &b), -1);
    cr_assert_eq(vigil_yaml_double(&y, at(&y, "/bad"), "bad", &f), -1);
    cr_assert_eq(d.n, 4);
    cr_assert_str_eq(d.v[0].msg, "big must be between 0 and 100");
    cr_assert_str_eq(d.v[1].msg, "bad must be an integer, not 'x'");
    cr_assert_str_eq(d.v[2].msg, "bad must be true or false, not 'x'");
    cr_assert_str_eq(d.v[3].msg, "bad must be a number, not 'x'");
    cr_assert_eq(d.v[3].line, 6);
    cr_assert_eq(d.v[3].col, 6);
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, str_copies_and_scalar_rejects_collections)
{
    struct vigil_yaml y;
    struct vigil_diags d;
    load(&y, &d, "s: \"a\\tb\"\nm: {x: 1}\n");
    char *s;
    cr_assert_eq(vigil_yaml_str(&y, at(&y, "/s"), "s", &s), 0);
    cr_assert_str_eq(s, "a\tb");
    free(s);
    size_t len;
    cr_assert_null(vigil_yaml_scalar(&y, at(&y, "/m"), "m", &len));
    assert_one_diag(&d, "t.yaml:2:4: m must be a single value");
    vigil_yaml_fini(&y);
    vigil_diags_fini(&d);
}

Test(yaml_doc, rejects_nul_bytes_and_invalid_utf8_instead_of_truncating)
{
    struct vigil_yaml y;
    struct vigil_diags d = {0};
    const char nul[] = "a: 1\nb: x\0c: 3\n";
    cr_assert_eq(vigil_yaml_load_string(&y, "t.yaml", nul, sizeof(nul) - 1, &d),
                 -1);
    assert_one_diag(&d, "t.yaml:2:5: NUL byte in YAML");
    vigil_diags_fini(&d);

    const char *bad[] = {"a: 1\n# \xff\nb: 2\n", "a: \xc3\n",
                         "a: \xed\xa0\x80\n", "a: \xc0\xaf\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        cr_assert_eq(
            vigil_yaml_load_string(&y, "t.yaml", bad[i], strlen(bad[i]), &d),
            -1, "text %zu", i);
        cr_assert_eq(d.n, 1, "text %zu", i);
        cr_assert_str_eq(d.v[0].msg, "invalid UTF-8");
        vigil_diags_fini(&d);
    }

    const char *good = "a: \"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\"\n";
    cr_assert_eq(vigil_yaml_load_string(&y, "t.yaml", good, strlen(good), &d),
                 0);
    vigil_yaml_fini(&y);
}

Test(yaml_doc, reports_a_folder_given_as_a_file)
{
    char *dir = vigil_test_tmpdir("vigil-yaml");
    cr_assert_not_null(dir);
    struct vigil_yaml y;
    struct vigil_diags d = {0};
    cr_assert_eq(vigil_yaml_load_file(&y, dir, &d), -1);
    cr_assert_eq(d.n, 1);
    cr_assert_str_eq(d.v[0].msg, "cannot open: Is a directory");
    vigil_diags_fini(&d);
    vigil_test_rm_rf(dir);
    free(dir);
}
