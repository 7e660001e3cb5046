#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_test.h"

static struct vigil_rule_set *load_fixture(const char *name)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/rules/%s", VIGIL_TESTS_DIR, name) > 0);
    struct vigil_diags d;
    vigil_diags_init(&d);
    const char *paths[] = {path};
    struct vigil_rule_set *set = vigil_rule_set_load(paths, 1, NULL, &d);
    vigil_diags_print(&d, stderr);
    cr_assert_not_null(set);
    vigil_diags_fini(&d);
    free(path);
    return set;
}

/* Runs the tests of a fixture; returns what they printed. */
static char *run_tests(const char *name, int *rc,
                       struct vigil_rule_test_summary *sum)
{
    struct vigil_rule_set *set = load_fixture(name);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert_not_null(out);
    memset(sum, 0, sizeof(*sum));
    *rc = vigil_rule_test_run(set, out, sum);
    fclose(out);
    vigil_rule_set_unref(set);
    return buf;
}

Test(rule_test, passes_the_shipped_style_fixtures)
{
    const char *files[] = {"good/sshd.yaml", "good/incidents.yaml"};
    size_t want[] = {6, 5};
    for (int i = 0; i < 2; i++) {
        int rc;
        struct vigil_rule_test_summary sum;
        char *out = run_tests(files[i], &rc, &sum);
        cr_assert_str_eq(out, "", "%s", out);
        cr_assert_eq(rc, 0);
        cr_assert_eq(sum.tests, want[i]);
        cr_assert_eq(sum.failed, 0);
        free(out);
    }
}

Test(rule_test, reports_each_failure_with_file_line_and_values)
{
    int rc;
    struct vigil_rule_test_summary sum;
    char *out = run_tests("failing/failing.yaml", &rc, &sum);
    cr_assert_eq(rc, 1);
    cr_assert_eq(sum.tests, 7);
    cr_assert_eq(sum.failed, 5);
    char *path = NULL;
    cr_assert(
        asprintf(&path, "%s/rules/failing/failing.yaml", VIGIL_TESTS_DIR) > 0);
    const char *want[] = {
        ":11: rule f.login: expected user=alice, got user=bob",
        ":13: rule f.login: expected ip=1.2.3.4, got ip unset",
        ":15: rule f.login: expected a match with user=bob, got no match",
        ":17: rule f.login: expected no match, got a match (user=eve)",
        ":19: rule f.login: test line does not decode: ",
    };
    char *line = out;
    for (int i = 0; i < 5; i++) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "line %d missing in:\n%s", i, out);
        *nl = '\0';
        size_t pl = strlen(path);
        cr_assert(strncmp(line, path, pl) == 0, "%s", line);
        if (i < 4)
            cr_assert_str_eq(line + pl, want[i]);
        else
            cr_assert(strncmp(line + pl, want[i], strlen(want[i])) == 0 &&
                          strlen(line + pl) > strlen(want[i]),
                      "%s", line);
        line = nl + 1;
    }
    cr_assert_str_eq(line, "");
    free(path);
    free(out);
}
