/*
 * The vigild binary from the outside: argv in, exit status and output out.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "support.h"
#include "version.h"

struct run {
    int status;
    char *out;
    char *err;
};

/* Runs vigild with the given arguments (NULL-terminated). */
static struct run vigild(const char *arg, ...)
{
    char *argv[16] = {(char *)VIGILD_PATH};
    size_t n = 1;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a; a = va_arg(ap, const char *)) {
        cr_assert_lt(n, 15);
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;
    struct run r = {0};
    r.status = vigil_test_run(argv, NULL, &r.out, &r.err);
    cr_assert_geq(r.status, 0);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

Test(cli, prints_its_version)
{
    struct run r = vigild("--version", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, "vigild " VIGIL_VERSION "\n");
    run_free(&r);
}

Test(cli, help_lists_every_command)
{
    struct run r = vigild("help", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert_eq(strncmp(r.out, "usage: vigild", 13), 0, "%s", r.out);
    for (const struct vigil_command *c = vigil_commands; c->name; c++)
        cr_assert_not_null(strstr(r.out, c->usage), "%s", c->name);
    run_free(&r);
}

Test(cli, unbuilt_command_exits_2_with_a_clear_message)
{
    const struct vigil_command *unbuilt = NULL;
    for (const struct vigil_command *c = vigil_commands; c->name; c++)
        if (!c->fn && strcmp(c->name, "run") != 0)
            unbuilt = c;
    if (!unbuilt)
        cr_skip_test("every command is built");
    struct run r = vigild(unbuilt->name, NULL);
    cr_assert_eq(r.status, 2);
    char want[256];
    snprintf(want, sizeof(want), "vigild: '%s' is not built yet in vigild %s\n",
             unbuilt->name, VIGIL_VERSION);
    cr_assert_str_eq(r.err, want);
    run_free(&r);
}

Test(cli, unknown_command_exits_2)
{
    struct run r = vigild("frobnicate", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert_eq(strncmp(r.err, "vigild: unknown command 'frobnicate'\n", 37),
                 0, "%s", r.err);
    run_free(&r);
}

/*
 * A copy of the repository's layout in a temp folder: deploy/vigil.yaml
 * (the shipped example), one rule pack in rules/packs and one indicator
 * file in rules/indicators, which the example's globs point at. The
 * checkout's own rules/ folders may still be empty; the copy does not
 * depend on them.
 */
struct tree {
    char *root;
    char *config;
};

static void copy_file(const char *src, const char *dir, const char *name)
{
    char *text = vigil_test_read_file(src, NULL);
    cr_assert_not_null(text, "%s", src);
    char *path = vigil_test_write_file(dir, name, text);
    cr_assert_not_null(path);
    free(path);
    free(text);
}

static void tree_make(struct tree *t)
{
    t->root = vigil_test_tmpdir("vigil-cli");
    cr_assert_not_null(t->root);
    const char *dirs[] = {"deploy", "rules", "rules/packs", "rules/indicators"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
        char *p = NULL;
        cr_assert(asprintf(&p, "%s/%s", t->root, dirs[i]) > 0);
        cr_assert_eq(mkdir(p, 0700), 0);
        free(p);
    }
    copy_file(VIGIL_SOURCE_DIR "/deploy/vigil.example.yaml", t->root,
              "deploy/vigil.yaml");
    copy_file(VIGIL_TESTS_DIR "/config/good/rules/sshd.yaml", t->root,
              "rules/packs/sshd.yaml");
    copy_file(VIGIL_TESTS_DIR "/config/good/indicators/auth.yaml", t->root,
              "rules/indicators/auth.yaml");
    cr_assert(asprintf(&t->config, "%s/deploy/vigil.yaml", t->root) > 0);
    /* The variables the example reads; vigild inherits them. */
    setenv("REDIS_PASSWORD", "redis-secret-1", 1);
    setenv("VIGIL_READ_TOKEN", "read-secret-2", 1);
    setenv("VIGIL_ADMIN_TOKEN", "admin-secret-3", 1);
    setenv("PD_ROUTING_KEY", "pd-secret-4", 1);
    setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/secret-5", 1);
}

static void tree_free(struct tree *t)
{
    vigil_test_rm_rf(t->root);
    free(t->root);
    free(t->config);
}

Test(cli, check_accepts_the_example_config)
{
    struct tree t;
    tree_make(&t);
    struct run r = vigild("check", "-c", t.config, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.err, "");
    char *want = NULL;
    cr_assert(asprintf(&want, "ok: %s: kafka 1 topic, 2 workers;", t.config) >
              0);
    cr_assert_eq(strncmp(r.out, want, strlen(want)), 0, "%s", r.out);
    cr_assert_not_null(strstr(r.out, " in 1 file, 1 indicator;"), "%s", r.out);
    free(want);
    run_free(&r);

    r = vigild("check", "--config", t.config, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    tree_free(&t);
}

Test(cli, check_reports_errors_as_file_line_col_and_exits_1)
{
    char *dir = vigil_test_tmpdir("vigil-cli");
    cr_assert_not_null(dir);
    char *path = vigil_test_write_file(dir, "vigil.yaml",
                                       "redis:\n"
                                       "  url: \"redis://127.0.0.1:6379/0\"\n"
                                       "  namespace: \"a b\"\n"
                                       "rules: [\"none/*.yaml\"]\n"
                                       "kafka:\n"
                                       "  brokers: k:9092\n"
                                       "  topics: [a]\n"
                                       "  workers: 99\n");
    cr_assert_not_null(path);
    struct run r = vigild("check", "-c", path, NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "");
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "%s:3:14: redis.namespace may only contain letters, "
                       "digits, '_', '.' and '-' (1 to 64), not 'a b'\n"
                       "%s:4:9: rules: no file matches '%s/none/*.yaml'\n"
                       "%s:8:12: kafka.workers must be between 1 and 64\n",
                       path, path, dir, path) > 0);
    cr_assert_str_eq(r.err, want);
    free(want);
    run_free(&r);
    free(path);
    vigil_test_rm_rf(dir);
    free(dir);
}

Test(cli, check_reports_a_missing_config_file)
{
    struct run r = vigild("check", "-c", "/nonexistent/vigil.yaml", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "/nonexistent/vigil.yaml: cannot open: No such "
                            "file or directory\n");
    run_free(&r);
}

Test(cli, check_rejects_unknown_options_with_2)
{
    struct run r = vigild("check", "--bogus", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert_eq(
        strncmp(r.err, "vigild check: unexpected argument '--bogus'\n", 44), 0,
        "%s", r.err);
    run_free(&r);
    r = vigild("check", "-c", NULL);
    cr_assert_eq(r.status, 2);
    run_free(&r);
    r = vigild("check", "--help", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert_eq(strncmp(r.out, "usage: vigild check", 19), 0);
    run_free(&r);
}

Test(cli, check_print_shows_the_config_with_secrets_redacted)
{
    struct tree t;
    tree_make(&t);
    /* An @file secret too, next to the config. */
    char *deploy = NULL;
    cr_assert(asprintf(&deploy, "%s/deploy", t.root) > 0);
    char *token = vigil_test_write_file(deploy, "kafka.pw", "file-secret-6\n");
    cr_assert_not_null(token);
    char *text = vigil_test_read_file(t.config, NULL);
    cr_assert_not_null(text);
    char *with_file = NULL;
    cr_assert(asprintf(&with_file, "%s", text) > 0);
    const char *anchor = "    client.id: \"vigil\"\n";
    char *at = strstr(with_file, anchor);
    cr_assert_not_null(at);
    char *patched = NULL;
    cr_assert(asprintf(&patched, "%.*s%s    sasl.password: \"@kafka.pw\"\n%s",
                       (int)(at - with_file), with_file, anchor,
                       at + strlen(anchor)) > 0);
    char *path = vigil_test_write_file(deploy, "vigil.yaml", patched);
    cr_assert_not_null(path);

    struct run r = vigild("check", "--print", "-c", t.config, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *secrets[] = {"redis-secret-1", "read-secret-2",
                             "admin-secret-3", "pd-secret-4",
                             "secret-5",       "file-secret-6"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++) {
        cr_assert_null(strstr(r.out, secrets[i]), "%s leaked", secrets[i]);
        cr_assert_null(strstr(r.err, secrets[i]), "%s leaked", secrets[i]);
    }
    cr_assert_not_null(strstr(r.out, "  password: \"<redacted>\"\n"));
    cr_assert_not_null(strstr(r.out, "  read_token: \"<redacted>\"\n"));
    cr_assert_not_null(strstr(r.out, "    routing_key: \"<redacted>\"\n"));
    cr_assert_not_null(strstr(r.out, "\"sasl.password\": \"<redacted>\"\n"));
    cr_assert_not_null(strstr(r.out, "  namespace: \"prod\"\n"));
    /* The summary moves to stderr so that stdout is only YAML. */
    cr_assert_eq(strncmp(r.err, "ok: ", 4), 0, "%s", r.err);
    run_free(&r);

    free(path);
    free(patched);
    free(with_file);
    free(text);
    free(token);
    free(deploy);
    tree_free(&t);
}

Test(cli, check_accepts_the_local_config_with_the_shipped_packs)
{
    struct run r = vigild("check", "-c",
                          VIGIL_SOURCE_DIR "/deploy/vigil.local.yaml", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(strncmp(r.out, "ok: ", 4), 0, "%s", r.out);
    cr_assert_not_null(strstr(r.out, " in 13 files, "), "%s", r.out);
    run_free(&r);
}

Test(cli, check_reports_rule_and_indicator_errors_with_positions)
{
    char *dir = vigil_test_tmpdir("vigil-check");
    free(vigil_test_write_file(dir, "rules.yaml",
                               "pack: p\n"
                               "rules:\n"
                               "  - id: a\n"
                               "    title: t\n"
                               "    severity: low\n"
                               "    match: 'x(y'\n"
                               "    count: [{counter: c}]\n"));
    free(vigil_test_write_file(
        dir, "kpi.yaml",
        "indicators:\n"
        "  - id: K\n"
        "    name: n\n"
        "    information_need: i\n"
        "    kind: performance\n"
        "    entity: e\n"
        "    owner: o\n"
        "    data_source: d\n"
        "    frequency: 1m\n"
        "    value: count(nope, 5m)\n"
        "    unit: u\n"
        "    target: \"< 1\"\n"
        "    decision: {breach: \">= 1\", ok: \"< 1\"}\n"));
    char *cfg =
        vigil_test_write_file(dir, "vigil.yaml",
                              "redis: {url: \"redis://127.0.0.1:1/0\"}\n"
                              "rules: [rules.yaml]\n"
                              "indicators: [kpi.yaml]\n");
    struct run r = vigild("check", "-c", cfg, NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_not_null(strstr(r.err, "rules.yaml:6:"), "%s", r.err);
    run_free(&r);
    /* With the rule fixed, the indicator's unknown counter is reported. */
    free(vigil_test_write_file(dir, "rules.yaml",
                               "pack: p\n"
                               "rules:\n"
                               "  - id: a\n"
                               "    title: t\n"
                               "    severity: low\n"
                               "    match: 'xy'\n"
                               "    count: [{counter: c}]\n"));
    r = vigild("check", "-c", cfg, NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_not_null(strstr(r.err, "kpi.yaml:10:"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "unknown counter 'nope'"), "%s", r.err);
    run_free(&r);
    free(cfg);
    vigil_test_rm_rf(dir);
    free(dir);
}
