#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_set.h"
#include "yaml_doc.h"

static struct vigil_diags diags;

static void setup(void)
{
    vigil_diags_init(&diags);
}

static void teardown(void)
{
    vigil_diags_fini(&diags);
}

TestSuite(rule_set, .init = setup, .fini = teardown);

static struct vigil_rule_set *load2(const char *a, const char *b)
{
    struct vigil_rule_source src[2] = {
        {"a.yaml", a, strlen(a)}, {"b.yaml", b ? b : "", b ? strlen(b) : 0}};
    return vigil_rule_set_load_sources(src, b ? 2 : 1, NULL, &diags);
}

static struct vigil_rule_set *load(const char *text)
{
    return load2(text, NULL);
}

static void print_diags(void)
{
    vigil_diags_print(&diags, stderr);
}

/* Asserts that one diagnostic reads "<where>: ...<msg>...". */
static void assert_diag(const char *where, const char *msg)
{
    char buf[1024];
    size_t wl = strlen(where);
    for (size_t i = 0; i < diags.n; i++) {
        vigil_diag_format(&diags.v[i], buf, sizeof(buf));
        if (strncmp(buf, where, wl) == 0 && buf[wl] == ':' &&
            strstr(buf + wl, msg))
            return;
    }
    print_diags();
    cr_assert_fail("no diagnostic '%s: ...%s...'", where, msg);
}

#define RULE_HEAD(id)                                                          \
    "  - id: " id "\n"                                                         \
    "    title: t\n"                                                           \
    "    severity: low\n"

Test(rule_set, loads_the_design_example_with_every_field)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/rules/good/sshd.yaml", VIGIL_TESTS_DIR) > 0);
    const char *paths[] = {path};
    struct vigil_rule_set *set = vigil_rule_set_load(paths, 1, NULL, &diags);
    if (!set)
        print_diags();
    cr_assert_not_null(set);
    cr_assert_eq(diags.n, 0);
    cr_assert_eq(vigil_rule_set_size(set), 3);

    const struct vigil_rule *r = vigil_rule_set_find(set, "sshd.auth_failure");
    cr_assert_not_null(r);
    cr_assert_eq(r->index, 0);
    cr_assert_str_eq(r->title, "SSH authentication failure");
    cr_assert_str_eq(r->pack, "sshd");
    cr_assert_eq(r->severity, VIGIL_SEVERITY_MEDIUM);
    cr_assert_str_eq(r->field, "message");
    cr_assert(r->record);
    cr_assert_eq(r->n_tags, 2);
    cr_assert_str_eq(r->tags[1], "iso27001:A.8.5");
    cr_assert_eq(r->line, 5);
    cr_assert_eq(r->col, 5);
    /* Captures in pattern order. */
    cr_assert_eq(r->n_captures, 2);
    cr_assert_str_eq(r->captures[0].name, "user");
    cr_assert_str_eq(r->captures[1].name, "src_ip");
    cr_assert_eq(r->n_unless, 1);
    cr_assert_eq(r->unless[0].ref.kind, VIGIL_REF_CAPTURE);
    cr_assert_eq(r->unless[0].ref.capture, 1);
    cr_assert_not_null(r->unless[0].re);

    cr_assert_eq(r->n_counts, 3);
    cr_assert_str_eq(r->counts[0].counter->name, "auth_failures");
    cr_assert_eq(r->counts[0].counter->kind, VIGIL_COUNT_PLAIN);
    cr_assert_eq(r->counts[0].ref.kind, VIGIL_REF_NONE);
    cr_assert_eq(r->counts[1].counter->kind, VIGIL_COUNT_BY);
    cr_assert_eq(r->counts[1].ref.kind, VIGIL_REF_CAPTURE);
    cr_assert_str_eq(r->counts[1].ref.name.ptr, "src_ip");
    cr_assert_eq(r->counts[2].counter->kind, VIGIL_COUNT_DISTINCT);
    cr_assert_eq(r->counts[2].ref.capture, 0);

    cr_assert_eq(r->n_tests, 3);
    cr_assert_eq(r->tests[0].line, 20);
    cr_assert(r->tests[0].expect_match);
    cr_assert_eq(r->tests[0].n_expects, 2);
    cr_assert_str_eq(r->tests[0].expects[0].ref.name.ptr, "src_ip");
    cr_assert_str_eq(r->tests[0].expects[0].value, "194.117.26.69");
    cr_assert_not(r->tests[1].expect_match);

    /* Two rules feed one counter. */
    const struct vigil_counter *c =
        vigil_rule_set_find_counter(set, "auth_failures_by_src");
    cr_assert_not_null(c);
    const struct vigil_rule *acc = vigil_rule_set_find(set, "sshd.accepted");
    cr_assert_eq(acc->counts[1].counter, c);
    cr_assert_eq(vigil_rule_set_counter_count(set), 5);

    const struct vigil_rule *b = vigil_rule_set_find(set, "sshd.bastion_root");
    cr_assert_eq(b->when[0].ref.kind, VIGIL_REF_FIELD);
    cr_assert_str_eq(b->when[0].ref.name.ptr, "host.name");
    cr_assert_eq(b->counts[0].ref.kind, VIGIL_REF_FIELD);
    vigil_rule_set_unref(set);
    free(path);
}

Test(rule_set, links_pair_counters_to_their_start_and_end_rules)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/rules/good/incidents.yaml", VIGIL_TESTS_DIR) >
              0);
    const char *paths[] = {path};
    struct vigil_rule_set *set = vigil_rule_set_load(paths, 1, NULL, &diags);
    if (!set)
        print_diags();
    cr_assert_not_null(set);
    const struct vigil_counter *c =
        vigil_rule_set_find_counter(set, "containment_time");
    const struct vigil_rule *start =
        vigil_rule_set_find(set, "incident.opened");
    const struct vigil_rule *end =
        vigil_rule_set_find(set, "incident.contained");
    cr_assert_eq(c->kind, VIGIL_COUNT_PAIR);
    cr_assert_eq(c->start, start);
    cr_assert_eq(c->end, end);
    cr_assert_eq(c->within_ms, 4 * 3600 * 1000);
    /* Start rule: its own by counter, then the pair. */
    cr_assert_eq(start->n_counts, 2);
    cr_assert_eq(start->counts[0].ref.kind, VIGIL_REF_FIELD);
    cr_assert_str_eq(start->counts[0].ref.name.ptr, "severity");
    cr_assert_eq(start->counts[1].counter, c);
    cr_assert_eq(start->counts[1].role, VIGIL_PAIR_START);
    cr_assert_str_eq(start->counts[1].ref.name.ptr, "incident.id");
    cr_assert_eq(end->n_counts, 1);
    cr_assert_eq(end->counts[0].role, VIGIL_PAIR_END);
    cr_assert_eq(end->counts[0].ref.kind, VIGIL_REF_FIELD);
    /* field: prefix and = prefix. */
    const struct vigil_rule *fw =
        vigil_rule_set_find(set, "firewall.denied_bytes");
    cr_assert_str_eq(fw->unless[0].ref.name.ptr, "user");
    cr_assert_str_eq(fw->unless[0].exact, "~svc");
    cr_assert_null(fw->unless[0].re);
    cr_assert_eq(fw->counts[0].counter->kind, VIGIL_COUNT_SUM);
    vigil_rule_set_unref(set);
    free(path);
}

Test(rule_set, reports_every_error_of_a_broken_file)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/rules/bad/errors.yaml", VIGIL_TESTS_DIR) > 0);
    const char *paths[] = {path};
    cr_assert_null(vigil_rule_set_load(paths, 1, NULL, &diags));
    char where[512];
#define AT(l, c) (snprintf(where, sizeof(where), "%s:%d:%d", path, l, c), where)
    assert_diag(AT(7, 31), "missing closing parenthesis");
    assert_diag(AT(10, 15), "unknown severity 'urgent'");
    assert_diag(AT(18, 9), "unknown count kind 'average'");
    assert_diag(AT(21, 9), "has both 'by' and 'sum'");
    assert_diag(AT(23, 13), "'srcip' is not a named capture");
    assert_diag(AT(24, 9), "duplicate rule id 'broken.regex'");
    assert_diag(AT(28, 5), "unknown key 'colour'");
#undef AT
    cr_assert_eq(diags.n, 7);
    free(path);
}

Test(rule_set, rejects_duplicate_ids_across_files)
{
    const char *a = "pack: a\nrules:\n" RULE_HEAD("x.one") "    match: a\n";
    const char *b = "pack: b\nrules:\n" RULE_HEAD(
        "x.two") "    match: b\n" RULE_HEAD("x.one") "    match: c\n";
    cr_assert_null(load2(a, b));
    assert_diag("b.yaml:7:9",
                "duplicate rule id 'x.one' (first defined at a.yaml:3:5)");
    cr_assert_eq(diags.n, 1);
}

Test(rule_set, maps_regex_errors_into_plain_scalars)
{
    cr_assert_null(
        load("pack: p\nrules:\n" RULE_HEAD("r") "    match: ab[z-a]\n"));
    assert_diag("a.yaml:6:17", "match: pattern does not compile: range out "
                               "of order");
}

Test(rule_set, maps_regex_errors_into_single_quoted_scalars)
{
    /* '' is one quote in the value: the column must count both. */
    cr_assert_null(
        load("pack: p\nrules:\n" RULE_HEAD("r") "    match: 'it''s [z-a]'\n"));
    assert_diag("a.yaml:6:22", "range out of order");
}

Test(rule_set, maps_regex_errors_into_double_quoted_scalars)
{
    /* "\\d" is two bytes of YAML for one backslash of the pattern. */
    cr_assert_null(load("pack: p\nrules:\n" RULE_HEAD(
        "r") "    match: \"\\\\d+ \\x41 [z-a]\"\n"));
    assert_diag("a.yaml:6:26", "range out of order");
}

Test(rule_set, maps_regex_errors_into_block_scalars)
{
    cr_assert_null(load("pack: p\nrules:\n" RULE_HEAD(
        "r") "    match: |\n      abc\n      d[z-a]\n"));
    assert_diag("a.yaml:8:11", "range out of order");
}

Test(rule_set, maps_regex_errors_into_folded_plain_scalars)
{
    cr_assert_null(load(
        "pack: p\nrules:\n" RULE_HEAD("r") "    match: abc\n      d[z-a]\n"));
    assert_diag("a.yaml:7:11", "range out of order");
}

Test(rule_set, maps_condition_regex_errors_past_the_tilde)
{
    cr_assert_null(load("pack: p\nrules:\n" RULE_HEAD(
        "r") "    match: x\n"
             "    when: { host.name: \"~^a[z-a]\" }\n"));
    assert_diag("a.yaml:7:31", "when: pattern does not compile");
}

Test(rule_set, error_at_end_of_pattern_points_at_its_end)
{
    cr_assert_null(
        load("pack: p\nrules:\n" RULE_HEAD("r") "    match: \"(abc\"\n"));
    assert_diag("a.yaml:6:17", "missing closing parenthesis");
}

Test(rule_set, rejects_unknown_severity)
{
    cr_assert_null(load("pack: p\nrules:\n  - id: r\n    title: t\n"
                        "    severity: severe\n    match: x\n"));
    assert_diag("a.yaml:5:15", "unknown severity 'severe'");
}

Test(rule_set, rejects_unknown_keys_everywhere)
{
    cr_assert_null(load("pack: p\nversion: 2\nrules:\n" RULE_HEAD(
        "r") "    match: x\n    tests:\n      - line: x\n"
             "        expected: no-match\n"));
    assert_diag("a.yaml:2:1", "unknown key 'version'");
    assert_diag("a.yaml:10:9", "unknown key 'expected'");
}

Test(rule_set, rejects_missing_required_keys)
{
    cr_assert_null(load("pack: p\nrules:\n  - id: r\n    match: x\n"));
    assert_diag("a.yaml:3:5", "missing required key 'title'");
    assert_diag("a.yaml:3:5", "missing required key 'severity'");
    cr_assert_null(load("rules: []\n"));
    assert_diag("a.yaml:1:1", "missing required key 'pack'");
}

Test(rule_set, references_name_captures_or_fields)
{
    struct vigil_rule_set *set = load("pack: p\nrules:\n" RULE_HEAD(
        "r") "    match: 'from (?<src_ip>\\S+)'\n"
             "    count:\n"
             "      - { counter: a, by: src_ip }\n"
             "      - { counter: b, by: source.ip }\n"
             "      - { counter: c, by: '@timestamp' }\n"
             "      - { counter: d, by: 'field:user' }\n"
             "      - { counter: e, by: 'field:src_ip' }\n");
    if (!set)
        print_diags();
    cr_assert_not_null(set);
    const struct vigil_rule *r = vigil_rule_set_rule(set, 0);
    cr_assert_eq(r->counts[0].ref.kind, VIGIL_REF_CAPTURE);
    const char *fields[] = {"source.ip", "@timestamp", "user", "src_ip"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(r->counts[i + 1].ref.kind, VIGIL_REF_FIELD);
        cr_assert_str_eq(r->counts[i + 1].ref.name.ptr, fields[i]);
    }
    vigil_rule_set_unref(set);
}

Test(rule_set, rejects_undotted_names_that_are_not_captures)
{
    cr_assert_null(load(
        "pack: p\nrules:\n" RULE_HEAD("r") "    match: 'from (?<src_ip>\\S+)'\n"
                                           "    unless: { user: root }\n"
                                           "    tests:\n      - line: x\n"
                                           "        expect: { src: 1 }\n"));
    assert_diag("a.yaml:7:15", "'user' is not a named capture of the pattern "
                               "of rule 'r' (an event field without a dot is "
                               "written 'field:user')");
    assert_diag("a.yaml:10:19", "'src' is not a named capture");
}

Test(rule_set, rejects_a_counter_with_two_kinds)
{
    const char *a = "pack: a\nrules:\n" RULE_HEAD(
        "one") "    match: '(?<u>x)'\n    count: [{ counter: n }]\n";
    const char *b = "pack: b\nrules:\n" RULE_HEAD(
        "two") "    match: '(?<u>x)'\n    count: [{ counter: n, "
               "distinct: u }]\n";
    cr_assert_null(load2(a, b));
    assert_diag("b.yaml:7:24", "counter 'n' is a distinct counter here but a "
                               "plain counter in rule 'one' at a.yaml:7:24");
}

Test(rule_set, rejects_a_rule_feeding_a_counter_twice)
{
    cr_assert_null(load("pack: p\nrules:\n" RULE_HEAD(
        "r") "    match: x\n    count:\n"
             "      - counter: n\n      - counter: n\n"));
    assert_diag("a.yaml:9:18", "rule 'r' feeds counter 'n' twice");
}

Test(rule_set, rejects_pairs_with_unknown_rules_or_keys)
{
    cr_assert_null(load("pack: p\nrules:\n" RULE_HEAD(
        "open") "    match: 'open "
                "(?<id>\\d+)'\n" RULE_HEAD("close") "    match: 'close "
                                                    "(?<ticket>\\d+)'\n"
                                                    "    count:\n"
                                                    "      - counter: "
                                                    "t\n"
                                                    "        pair: { "
                                                    "start: open, end: "
                                                    "shut, key: id, "
                                                    "within: 1h }\n"
                                                    "      - counter: "
                                                    "u\n"
                                                    "        pair: { "
                                                    "start: open, end: "
                                                    "close, key: id, "
                                                    "within: 1h }\n"
                                                    "      - counter: "
                                                    "v\n"
                                                    "        pair: { "
                                                    "start: open, end: "
                                                    "open, key: id, "
                                                    "within: soon }\n"));
    assert_diag("a.yaml:13:35", "pair end: no rule with id 'shut'");
    assert_diag("a.yaml:15:47", "'id' is not a named capture of the pattern "
                                "of rule 'close'");
    assert_diag("a.yaml:17:58", "pair within must be a duration");
    assert_diag("a.yaml:17:35", "pair start and end must be different");
    cr_assert_eq(diags.n, 4);
}

Test(rule_set, rejects_a_pair_whose_start_is_its_end)
{
    cr_assert_null(load("pack: p\nrules:\n" RULE_HEAD(
        "open") "    match: 'open (?<id>\\d+)'\n    count:\n"
                "      - counter: t\n"
                "        pair: { start: open, end: open, key: id, "
                "within: 1h }\n"));
    assert_diag("a.yaml:9:35", "pair start and end must be different rules");
}

Test(rule_set, rejects_a_pair_defined_twice_differently)
{
    const char *rules = "pack: p\nrules:\n" RULE_HEAD(
        "a") "    match: 'a (?<id>\\d+)'\n    count:\n"
             "      - counter: t\n"
             "        pair: { start: a, end: b, key: id, within: 1h "
             "}\n" RULE_HEAD("b") "    match: 'b (?<id>\\d+)'\n    count:\n"
                                  "      - counter: t\n"
                                  "        pair: { start: a, end: b, key: id, "
                                  "within: 2h }\n";
    cr_assert_null(load(rules));
    assert_diag("a.yaml:15:18", "pair counter 't' is already defined with "
                                "another start, end, key or within at "
                                "a.yaml:8:18");
}

Test(rule_set, accepts_the_same_pair_declared_by_both_rules)
{
    const char *rules = "pack: p\nrules:\n" RULE_HEAD(
        "a") "    match: 'a (?<id>\\d+)'\n    count:\n"
             "      - counter: t\n"
             "        pair: { start: a, end: b, key: id, within: 1h "
             "}\n" RULE_HEAD("b") "    match: 'b (?<id>\\d+)'\n    count:\n"
                                  "      - counter: t\n"
                                  "        pair: { start: a, end: b, key: id, "
                                  "within: 1h }\n";
    struct vigil_rule_set *set = load(rules);
    cr_assert_not_null(set);
    cr_assert_eq(vigil_rule_set_rule(set, 0)->n_counts, 1);
    cr_assert_eq(vigil_rule_set_rule(set, 1)->n_counts, 1);
    cr_assert_eq(vigil_rule_set_rule(set, 1)->counts[0].role, VIGIL_PAIR_END);
    vigil_rule_set_unref(set);
}

Test(rule_set, rejects_bad_names_and_expectations)
{
    cr_assert_null(load("pack: p\nrules:\n" RULE_HEAD(
        "has space") "    match: x\n    count: [{ counter: 'a:b' }]\n"
                     "    tests: [{ line: x, expect: nothing }]\n"));
    assert_diag("a.yaml:3:9", "rule id 'has space' must be");
    assert_diag("a.yaml:7:24", "counter name 'a:b' must be");
    assert_diag("a.yaml:8:32", "expect must be no-match or a mapping");
}

Test(rule_set, reports_empty_and_missing_files)
{
    cr_assert_null(load("# nothing here\n"));
    assert_diag("a.yaml:1:1", "empty rule file");
    const char *paths[] = {"/nonexistent/rules.yaml"};
    cr_assert_null(vigil_rule_set_load(paths, 1, NULL, &diags));
    assert_diag("/nonexistent/rules.yaml", "cannot read rule file");
}

Test(rule_set, refuses_files_that_are_not_utf8)
{
    /* libfyaml 0.7.12 would loop forever on this one. */
    cr_assert_null(load("pack: p\n% x\xff\nrules: []\n"));
    assert_diag("a.yaml:2:4", "not valid UTF-8 (byte 0xff)");
}

Test(rule_set, refuses_explicit_keys)
{
    /* libfyaml 0.7.12 would crash on this one. */
    cr_assert_null(load("pack: p\nrules:\n  - ? b:\t? :\n"));
    assert_diag("a.yaml:3:5", "explicit keys ('? key') are not supported");
    cr_assert_null(load("? b:\t- :\n"));
    assert_diag("a.yaml:1:1", "explicit keys");
    /* A '?' elsewhere is just text. */
    struct vigil_rule_set *set = load("pack: p\nrules:\n" RULE_HEAD(
        "r") "    match: 'a? b'\n"
             "    tests:\n      - line: '? x'\n        expect: no-match\n");
    cr_assert_not_null(set);
    vigil_rule_set_unref(set);
}

Test(rule_set, reports_yaml_syntax_errors)
{
    cr_assert_null(load("pack: p\nrules: [\n"));
    cr_assert_geq(diags.n, 1);
    cr_assert_eq(strcmp(diags.v[0].file, "a.yaml"), 0);
}

Test(rule_set, an_empty_set_is_valid)
{
    struct vigil_rule_set *set = vigil_rule_set_load(NULL, 0, NULL, &diags);
    cr_assert_not_null(set);
    cr_assert_eq(vigil_rule_set_size(set), 0);
    vigil_rule_set_unref(set);
}

Test(rule_set, is_reference_counted)
{
    struct vigil_rule_set *set =
        load("pack: p\nrules:\n" RULE_HEAD("r") "    match: x\n");
    cr_assert_eq(vigil_rule_set_ref(set), set);
    vigil_rule_set_unref(set);
    cr_assert_str_eq(vigil_rule_set_rule(set, 0)->id, "r");
    vigil_rule_set_unref(set);
    vigil_rule_set_unref(NULL);
}

Test(rule_set, lists_patterns_vectorscan_cannot_prefilter)
{
    /* "u=" is too short for a required literal, and Vectorscan's prefilter
     * mode refuses \K. */
    const char *text = "pack: p\nrules:\n" RULE_HEAD(
        "plain") "    match: 'Failed "
                 "password'\n" RULE_HEAD("keep_out") "    match: "
                                                     "'u=\\K\\w+'"
                                                     "\n";
    struct vigil_rule_set *set = load(text);
    cr_assert_not_null(set);
    struct vigil_diags notes;
    vigil_diags_init(&notes);
    size_t n = vigil_rule_set_unfiltered(set, &notes);
#ifdef VIGIL_HAVE_VECTORSCAN
    cr_assert(vigil_rule_set_has_prefilter(set));
    cr_assert_eq(n, 1);
    cr_assert_null(vigil_rule_set_rule(set, 0)->unfiltered);
    cr_assert_not_null(vigil_rule_set_rule(set, 1)->unfiltered);
    cr_assert_eq(notes.n, 1);
    cr_assert_eq(notes.v[0].line, 7);
    cr_assert(strstr(notes.v[0].msg, "rule keep_out: PCRE2 confirms"));
#else
    cr_assert_eq(n, 2);
    cr_assert_eq(notes.n, 1);
#endif
    vigil_diags_fini(&notes);
    vigil_rule_set_unref(set);

    struct vigil_rule_set_options opts = {.no_prefilter = true};
    struct vigil_rule_source src = {"a.yaml", text, strlen(text)};
    set = vigil_rule_set_load_sources(&src, 1, &opts, &diags);
    cr_assert_not(vigil_rule_set_has_prefilter(set));
    vigil_diags_init(&notes);
    cr_assert_eq(vigil_rule_set_unfiltered(set, &notes), 2);
    cr_assert(strstr(notes.v[0].msg, "PCRE2 alone (disabled by option)"));
    vigil_diags_fini(&notes);
    vigil_rule_set_unref(set);
}

Test(rule_set, expands_globs_relative_to_a_folder)
{
    const char *globs[] = {"rules/good/*.yaml", "rules/good/sshd.yaml"};
    char **paths = NULL;
    cr_assert_eq(
        vigil_rule_paths_expand(globs, 2, VIGIL_TESTS_DIR, &paths, &diags), 0);
    cr_assert_not_null(paths[0]);
    cr_assert(strstr(paths[0], "/rules/good/incidents.yaml"));
    cr_assert(strstr(paths[1], "/rules/good/sshd.yaml"));
    cr_assert_null(paths[2]);
    vigil_strv_free(paths);

    const char *none[] = {"rules/good/*.nothing"};
    cr_assert_eq(
        vigil_rule_paths_expand(none, 1, VIGIL_TESTS_DIR, &paths, &diags), -1);
    cr_assert_eq(diags.n, 1);
    cr_assert(strstr(diags.v[0].msg, "no rule file matches '"));
    cr_assert(strstr(diags.v[0].msg, "rules/good/*.nothing'"));
}

Test(rule_set, names_severities_and_kinds)
{
    enum vigil_severity s;
    cr_assert_eq(vigil_severity_parse("critical", 8, &s), 0);
    cr_assert_eq(s, VIGIL_SEVERITY_CRITICAL);
    cr_assert_str_eq(vigil_severity_name(VIGIL_SEVERITY_INFO), "info");
    cr_assert_eq(vigil_severity_parse("crit", 4, &s), -1);
    cr_assert_str_eq(vigil_count_kind_name(VIGIL_COUNT_PAIR), "pair");
}
