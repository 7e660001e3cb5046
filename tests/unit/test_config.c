#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "support.h"

#define GOOD VIGIL_TESTS_DIR "/config/good"
#define BAD VIGIL_TESTS_DIR "/config/bad"

/* Every diag as "file:line:col: message\n", in order. */
static char *joined(const struct vigil_diags *d)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    vigil_diags_print(d, f);
    fclose(f);
    return out;
}

/* tmpl with every "{F}" replaced by file and every "{D}" by dir. */
static char *expand(const char *tmpl, const char *file, const char *dir)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    for (const char *p = tmpl; *p; p++) {
        if (strncmp(p, "{F}", 3) == 0) {
            fputs(file, f);
            p += 2;
        } else if (strncmp(p, "{D}", 3) == 0) {
            fputs(dir, f);
            p += 2;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
    return out;
}

/* Loads tests/config/bad/<name>; its errors must be exactly expected. */
static void assert_fixture_errors(const char *name, const char *expected)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/%s", BAD, name) > 0);
    struct vigil_diags d = {0};
    struct vigil_config *cfg = vigil_config_load(path, &d);
    cr_assert_null(cfg, "%s loaded", name);
    char *got = joined(&d);
    char *want = expand(expected, path, BAD);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    vigil_diags_fini(&d);
    free(path);
}

/* Loads text as "inline.yaml" with relative paths under tests/config/good. */
static struct vigil_config *load_inline(const char *text, struct vigil_diags *d)
{
    return vigil_config_load_string("inline.yaml", text, strlen(text), GOOD, d);
}

static void assert_inline_errors(const char *text, const char *expected)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = load_inline(text, &d);
    cr_assert_null(cfg);
    char *got = joined(&d);
    char *want = expand(expected, "inline.yaml", GOOD);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    vigil_diags_fini(&d);
}

static struct vigil_config *load_inline_ok(const char *text)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = load_inline(text, &d);
    char *got = joined(&d);
    cr_assert_not_null(cfg, "errors:\n%s", got);
    cr_assert_eq(d.n, 0, "errors:\n%s", got);
    free(got);
    vigil_diags_fini(&d);
    return cfg;
}

#define BASE                                                                   \
    "redis: { url: \"redis://127.0.0.1:6379/0\" }\n"                           \
    "rules: [\"rules/*.yaml\"]\n"

/* ---- bad configs: fixtures ---- */

Test(config, reports_yaml_syntax_errors)
{
    assert_fixture_errors("syntax_error.yaml",
                          "{F}:4:1: flow sequence without a closing bracket\n");
}

Test(config, rejects_unknown_top_level_key)
{
    assert_fixture_errors("unknown_top_level_key.yaml",
                          "{F}:4:1: config: unknown key 'rule'\n");
}

Test(config, rejects_unknown_nested_key)
{
    assert_fixture_errors("unknown_nested_key.yaml",
                          "{F}:4:3: kafka: unknown key 'broker'\n");
}

Test(config, rejects_list_where_a_string_is_expected)
{
    assert_fixture_errors("wrong_type.yaml",
                          "{F}:3:8: redis.url must be a single value\n");
}

Test(config, requires_rules)
{
    assert_fixture_errors("missing_rules.yaml",
                          "{F}:2:1: config: missing required key 'rules'\n");
}

Test(config, requires_redis)
{
    assert_fixture_errors("missing_redis.yaml",
                          "{F}:2:1: config: missing required key 'redis'\n");
}

Test(config, rejects_bad_duration)
{
    assert_fixture_errors("bad_duration.yaml",
                          "{F}:4:20: redis.connect_timeout must be a duration "
                          "such as 10s, 5m, 4h or 7d, not '10 seconds'\n");
}

Test(config, rejects_workers_out_of_range)
{
    assert_fixture_errors("workers_out_of_range.yaml",
                          "{F}:5:12: kafka.workers must be between 1 and 64\n");
}

Test(config, rejects_bad_redis_url)
{
    assert_fixture_errors("bad_redis_url.yaml",
                          "{F}:3:8: redis.url must look like "
                          "redis://[:PASSWORD@]HOST[:PORT][/DB] or "
                          "unix:///PATH[?db=DB]\n");
}

Test(config, rejects_undefined_environment_variable)
{
    unsetenv("VIGIL_TEST_UNDEFINED_VARIABLE");
    assert_fixture_errors("undefined_env.yaml",
                          "{F}:4:13: redis.password: environment variable "
                          "'VIGIL_TEST_UNDEFINED_VARIABLE' is not set\n");
}

Test(config, rejects_unreadable_at_file)
{
    assert_fixture_errors(
        "unreadable_file.yaml",
        "{F}:5:16: http.admin_token: cannot read '{D}/secrets/no-such.token': "
        "No such file or directory\n");
}

Test(config, rejects_glob_that_matches_nothing)
{
    assert_fixture_errors(
        "glob_matches_nothing.yaml",
        "{F}:5:5: rules: no file matches '{D}/no-such-folder/*.yaml'\n");
}

Test(config, rejects_duplicate_notifier_names)
{
    assert_fixture_errors("duplicate_notifier.yaml",
                          "{F}:7:11: notifiers[1].name: duplicate notifier "
                          "name 'oncall' (first defined at line 5)\n");
}

Test(config, rejects_route_to_unknown_notifier)
{
    assert_fixture_errors(
        "route_unknown_notifier.yaml",
        "{F}:9:22: route[0].notify: no notifier named 'pager'\n");
}

Test(config, rejects_key_of_another_notifier_type)
{
    assert_fixture_errors(
        "notifier_key_of_other_type.yaml",
        "{F}:8:5: notifiers[0] (webhook): unknown key 'routing_key'\n");
}

Test(config, rejects_listen_without_port)
{
    assert_fixture_errors("bad_listen.yaml",
                          "{F}:5:11: http.listen must be HOST:PORT such as "
                          "127.0.0.1:8089 or [::1]:0, not '127.0.0.1'\n");
}

Test(config, rejects_duplicate_yaml_key)
{
    assert_fixture_errors("duplicate_key.yaml", "{F}:4:3: duplicate key\n");
}

Test(config, reports_every_error_in_file_order)
{
    assert_fixture_errors(
        "several_errors.yaml",
        "{F}:5:12: kafka.workers must be between 1 and 64\n"
        "{F}:6:22: kafka.max_message_bytes must be an integer, not 'lots'\n"
        "{F}:9:14: redis.namespace may only contain letters, digits, '_', "
        "'.' and '-' (1 to 64), not 'prod/eu'\n"
        "{F}:11:15: events.resolution must be a whole number of seconds, at "
        "least 1s\n"
        "{F}:12:33: rules: no file matches '{D}/none/*.yaml'\n"
        "{F}:14:11: http.listen must be HOST:PORT such as 127.0.0.1:8089 or "
        "[::1]:0, not 'localhost'\n"
        "{F}:16:5: notifiers[0] (pagerduty): missing required key "
        "'routing_key'\n"
        "{F}:19:14: route[0].notify: no notifier named 'nobody'\n"
        "{F}:20:13: route[0].repeat must be a duration such as 10s, 5m, 4h "
        "or 7d, not 'often'\n"
        "{F}:21:1: config: unknown key 'colour'\n");
}

/* ---- bad configs: inline ---- */

Test(config, reports_missing_file)
{
    struct vigil_diags d = {0};
    cr_assert_null(vigil_config_load(BAD "/no-such-file.yaml", &d));
    char *got = joined(&d);
    cr_assert_str_eq(got, BAD "/no-such-file.yaml: cannot open: No such file "
                              "or directory\n");
    free(got);
    vigil_diags_fini(&d);
}

Test(config, rejects_empty_config)
{
    assert_inline_errors("# nothing but a comment\n",
                         "{F}:1:1: the configuration is empty; 'rules' and "
                         "'redis' are required\n");
}

Test(config, rejects_second_yaml_document)
{
    assert_inline_errors(BASE "---\nkafka: {}\n",
                         "{F}:4:1: only one YAML document is allowed per "
                         "file\n");
}

Test(config, rejects_sections_of_wrong_type)
{
    assert_inline_errors(BASE "notifiers: {name: x}\nroute: x\nkafka: [a]\n",
                         "{F}:3:12: notifiers must be a list\n"
                         "{F}:4:8: route must be a list\n"
                         "{F}:5:8: kafka must be a mapping\n");
}

Test(config, rejects_dead_letter_topic_among_topics)
{
    assert_inline_errors(
        BASE "kafka:\n  brokers: k:9092\n  topics: [a, 'b c']\n"
             "  dead_letter_topic: a\n",
        "{F}:5:15: kafka.topics: 'b c' is not a topic name (letters, "
        "digits, '.', '_', '-'; at most 249)\n"
        "{F}:6:22: kafka.dead_letter_topic must not be one of kafka.topics\n");
}

Test(config, rejects_kafka_properties_that_have_their_own_key)
{
    assert_inline_errors(
        BASE "kafka:\n  brokers: k:9092\n  topics: [a]\n"
             "  properties: {group.id: x, acks: all}\n",
        "{F}:6:16: kafka.properties: set 'group.id' with kafka.group "
        "instead\n");
}

Test(config, rejects_malformed_environment_references)
{
    assert_inline_errors(
        "redis:\n  url: \"redis://h/0\"\n  password: \"a${NOPE\"\n"
        "  namespace: \"${1BAD}\"\nrules: [\"rules/*.yaml\"]\n",
        "{F}:3:13: redis.password: unterminated '${' (write '$${' for a "
        "literal '${')\n"
        "{F}:4:14: redis.namespace: '${1BAD}' is not a valid environment "
        "variable name\n");
}

Test(config, reports_every_unset_variable_of_a_value)
{
    unsetenv("VIGIL_TEST_UNSET_A");
    unsetenv("VIGIL_TEST_UNSET_B");
    assert_inline_errors(BASE "http:\n  read_token: \"${VIGIL_TEST_UNSET_A}:"
                              "${VIGIL_TEST_UNSET_B}\"\n",
                         "{F}:4:15: http.read_token: environment variable "
                         "'VIGIL_TEST_UNSET_A' is not set\n"
                         "{F}:4:15: http.read_token: environment variable "
                         "'VIGIL_TEST_UNSET_B' is not set\n");
}

Test(config, rejects_unknown_format_without_plugins)
{
    assert_inline_errors(BASE "events:\n  format: jsno\n",
                         "{F}:4:11: events.format: 'jsno' is not json, "
                         "syslog, raw or auto, and no plugins are configured "
                         "to provide it\n");
}

Test(config, rejects_resolution_out_of_range)
{
    assert_inline_errors(BASE "events:\n  resolution: 2d\n",
                         "{F}:4:15: events.resolution must be at most 1d\n");
}

Test(config, rejects_password_in_url_and_key)
{
    assert_inline_errors(
        "redis:\n  url: \"redis://:a@h:6379/0\"\n  password: b\n"
        "rules: [\"rules/*.yaml\"]\n",
        "{F}:3:13: redis.password: redis.url has a password too\n");
}

Test(config, rejects_header_injection)
{
    assert_inline_errors(BASE "notifiers:\n"
                              "  - name: hook\n"
                              "    type: webhook\n"
                              "    url: https://example.com/\n"
                              "    headers: {X-A: \"1\\r\\nX-B: 2\", "
                              "\"Bad Name\": x}\n",
                         "{F}:7:15: notifiers[0].headers.X-A must not "
                         "contain a line break\n"
                         "{F}:7:35: notifiers[0].headers: 'Bad Name' is not "
                         "a valid header name\n");
}

Test(config, rejects_notifiers_missing_type_specific_keys)
{
    assert_inline_errors(BASE "notifiers:\n"
                              "  - name: a\n    type: exec\n"
                              "  - name: b\n    type: slack\n"
                              "  - name: c\n    type: webhook\n"
                              "    url: ftp://example.com/\n"
                              "  - type: log\n",
                         "{F}:4:5: notifiers[0] (exec): missing required key "
                         "'argv'\n"
                         "{F}:6:5: notifiers[1] (slack): missing required key "
                         "'url'\n"
                         "{F}:10:10: notifiers[2].url must be an http:// or "
                         "https:// URL\n"
                         "{F}:11:5: notifiers[3] (log): missing required key "
                         "'name'\n");
}

Test(config, rejects_empty_and_directory_at_files)
{
    char *dir = vigil_test_tmpdir("vigil-config");
    cr_assert_not_null(dir);
    char *empty = vigil_test_write_file(dir, "empty.token", "\n");
    cr_assert_not_null(empty);
    char *text = NULL;
    cr_assert(asprintf(&text, "redis: { url: \"redis://127.0.0.1:6379/0\" }\n"
                              "rules: [\"" GOOD "/rules/*.yaml\"]\n"
                              "http:\n  read_token: \"@empty.token\"\n"
                              "  admin_token: \"@.\"\n") > 0);
    struct vigil_diags d = {0};
    cr_assert_null(
        vigil_config_load_string("inline.yaml", text, strlen(text), dir, &d));
    char *got = joined(&d);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "inline.yaml:4:15: http.read_token: '%s/empty.token' "
                       "is empty\n"
                       "inline.yaml:5:16: http.admin_token: cannot read "
                       "'%s/.': Is a directory\n",
                       dir, dir) > 0);
    cr_assert_str_eq(got, want);
    free(want);
    free(got);
    vigil_diags_fini(&d);
    free(text);
    free(empty);
    vigil_test_rm_rf(dir);
    free(dir);
}

Test(config, require_kafka_reports_at_the_root)
{
    struct vigil_config *cfg = load_inline_ok("\n" BASE);
    struct vigil_diags d = {0};
    cr_assert_eq(vigil_config_require_kafka(cfg, &d), -1);
    char *got = joined(&d);
    cr_assert_str_eq(got, "inline.yaml:2:1: config: missing required key "
                          "'kafka' (vigild run consumes from Kafka)\n");
    free(got);
    vigil_diags_fini(&d);
    vigil_config_destroy(cfg);

    cfg = load_inline_ok(BASE "kafka: {brokers: k:9092, topics: [a]}\n");
    cr_assert_eq(vigil_config_require_kafka(cfg, &d), 0);
    cr_assert_eq(d.n, 0);
    vigil_config_destroy(cfg);
}

/* ---- good configs ---- */

Test(config, fills_every_default)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = vigil_config_load(GOOD "/minimal.yaml", &d);
    cr_assert_not_null(cfg);
    cr_assert_eq(d.n, 0);
    cr_assert_not(cfg->kafka.present);
    cr_assert_eq(cfg->redis.transport, VIGIL_REDIS_TCP);
    cr_assert_str_eq(cfg->redis.host, "127.0.0.1");
    cr_assert_eq(cfg->redis.port, 6379);
    cr_assert_eq(cfg->redis.db, 0);
    cr_assert_null(cfg->redis.password);
    cr_assert_str_eq(cfg->redis.ns, "default");
    cr_assert_eq(cfg->redis.connect_timeout_ms, 2000);
    cr_assert_eq(cfg->redis.command_timeout_ms, 5000);
    cr_assert_str_eq(cfg->events.format_name, "auto");
    cr_assert_eq(cfg->events.format, VIGIL_FORMAT_AUTO);
    cr_assert_not(cfg->events.format_plugin);
    cr_assert_str_eq(cfg->events.time_field, "@timestamp");
    cr_assert_eq(cfg->events.resolution_ms, 10000);
    cr_assert_eq(cfg->n_indicator_files, 0);
    cr_assert_str_eq(cfg->http.listen, "127.0.0.1:8089");
    cr_assert_str_eq(cfg->http.host, "127.0.0.1");
    cr_assert_eq(cfg->http.port, 8089);
    cr_assert_null(cfg->http.read_token);
    cr_assert_null(cfg->http.admin_token);
    cr_assert_eq(cfg->n_notifiers, 0);
    cr_assert_eq(cfg->n_routes, 0);
    cr_assert_eq(cfg->n_plugins, 0);
    cr_assert_eq(cfg->matching.match_limit, 100000);
    cr_assert_eq(cfg->matching.depth_limit, 10000);
    cr_assert(cfg->matching.vectorscan);
    vigil_config_destroy(cfg);

    cfg = load_inline_ok(BASE "kafka: {brokers: k:9092, topics: [a]}\n");
    cr_assert(cfg->kafka.present);
    cr_assert_str_eq(cfg->kafka.group, "vigil");
    cr_assert_eq(cfg->kafka.workers, 1);
    cr_assert_eq(cfg->kafka.max_message_bytes, 1048576);
    cr_assert_null(cfg->kafka.dead_letter_topic);
    cr_assert_eq(cfg->kafka.properties.n, 0);
    vigil_config_destroy(cfg);
}

Test(config, reads_every_key)
{
    struct vigil_config *cfg = load_inline_ok(
        "kafka:\n"
        "  brokers: [k1:9092, k2:9092]\n"
        "  topics: security-events\n"
        "  group: soc\n"
        "  workers: 64\n"
        "  dead_letter_topic: dlq\n"
        "  max_message_bytes: 2048\n"
        "  properties: {security.protocol: SASL_SSL, acks: 1}\n"
        "redis:\n"
        "  url: \"unix://redis.sock?db=3\"\n"
        "  namespace: prod.eu-1\n"
        "  password: pw\n"
        "  connect_timeout: 250ms\n"
        "  command_timeout: 1m\n"
        "events: {format: syslog, time_field: \"\", resolution: 1h30m}\n"
        "rules: [\"rules/*.yaml\"]\n"
        "indicators: \"indicators/*.yaml\"\n"
        "http: {listen: \"[::1]:0\", read_token: r, admin_token: a}\n"
        "route:\n"
        "  - notify: [log]\n"
        "    repeat: 0s\n"
        "    group_wait: 30s\n"
        "    continue: yes\n"
        "notifiers:\n"
        "  - {name: log, type: log}\n"
        "matching: {match_limit: 5, depth_limit: 6, vectorscan: false}\n");
    cr_assert_str_eq(cfg->kafka.brokers, "k1:9092,k2:9092");
    cr_assert_eq(cfg->kafka.n_topics, 1);
    cr_assert_str_eq(cfg->kafka.topics[0], "security-events");
    cr_assert_null(cfg->kafka.topics[1]);
    cr_assert_str_eq(cfg->kafka.group, "soc");
    cr_assert_eq(cfg->kafka.workers, 64);
    cr_assert_str_eq(cfg->kafka.dead_letter_topic, "dlq");
    cr_assert_eq(cfg->kafka.max_message_bytes, 2048);
    cr_assert_eq(cfg->kafka.properties.n, 2);
    cr_assert_str_eq(
        vigil_config_map_get(&cfg->kafka.properties, "security.protocol"),
        "SASL_SSL");
    cr_assert_str_eq(vigil_config_map_get(&cfg->kafka.properties, "acks"), "1");
    cr_assert_eq(cfg->redis.transport, VIGIL_REDIS_UNIX);
    cr_assert_str_eq(cfg->redis.socket_path, GOOD "/redis.sock");
    cr_assert_eq(cfg->redis.db, 3);
    cr_assert_str_eq(cfg->redis.password, "pw");
    cr_assert_str_eq(cfg->redis.ns, "prod.eu-1");
    cr_assert_eq(cfg->redis.connect_timeout_ms, 250);
    cr_assert_eq(cfg->redis.command_timeout_ms, 60000);
    cr_assert_eq(cfg->events.format, VIGIL_FORMAT_SYSLOG);
    cr_assert_str_eq(cfg->events.time_field, "");
    cr_assert_eq(cfg->events.resolution_ms, 5400000);
    cr_assert_eq(cfg->n_indicator_files, 1);
    cr_assert_str_eq(cfg->indicator_files[0], GOOD "/indicators/auth.yaml");
    cr_assert_str_eq(cfg->http.host, "::1");
    cr_assert_eq(cfg->http.port, 0);
    cr_assert_str_eq(cfg->http.read_token, "r");
    cr_assert_str_eq(cfg->http.admin_token, "a");
    cr_assert_eq(cfg->n_routes, 1);
    cr_assert_eq(cfg->routes[0].repeat_ms, 0);
    cr_assert_eq(cfg->routes[0].group_wait_ms, 30000);
    cr_assert(cfg->routes[0].cont);
    cr_assert_eq(cfg->routes[0].match.n, 0);
    cr_assert_eq(cfg->routes[0].notify_index[0], 0);
    cr_assert_eq(cfg->matching.match_limit, 5);
    cr_assert_eq(cfg->matching.depth_limit, 6);
    cr_assert_not(cfg->matching.vectorscan);
    vigil_config_destroy(cfg);
}

Test(config, parses_redis_urls)
{
    struct vigil_config *cfg =
        load_inline_ok("redis: {url: \"redis://:p%40ss:w@[::1]:6380/2\"}\n"
                       "rules: [\"rules/*.yaml\"]\n");
    cr_assert_str_eq(cfg->redis.host, "::1");
    cr_assert_eq(cfg->redis.port, 6380);
    cr_assert_eq(cfg->redis.db, 2);
    cr_assert_null(cfg->redis.username);
    cr_assert_str_eq(cfg->redis.password, "p@ss:w");
    vigil_config_destroy(cfg);

    cfg = load_inline_ok("redis: {url: \"redis://vigil:pw@cache.local\"}\n"
                         "rules: [\"rules/*.yaml\"]\n");
    cr_assert_str_eq(cfg->redis.host, "cache.local");
    cr_assert_eq(cfg->redis.port, 6379);
    cr_assert_eq(cfg->redis.db, 0);
    cr_assert_str_eq(cfg->redis.username, "vigil");
    cr_assert_str_eq(cfg->redis.password, "pw");
    vigil_config_destroy(cfg);

    cfg = load_inline_ok("redis: {url: \"unix:///run/redis.sock\"}\n"
                         "rules: [\"rules/*.yaml\"]\n");
    cr_assert_eq(cfg->redis.transport, VIGIL_REDIS_UNIX);
    cr_assert_str_eq(cfg->redis.socket_path, "/run/redis.sock");
    vigil_config_destroy(cfg);
}

Test(config, rejects_malformed_redis_urls)
{
    assert_inline_errors("redis: {url: \"redis://host:99999\"}\n"
                         "rules: [\"rules/*.yaml\"]\n",
                         "{F}:1:14: redis.url must look like "
                         "redis://[:PASSWORD@]HOST[:PORT][/DB] or "
                         "unix:///PATH[?db=DB]\n");
    assert_inline_errors("redis: {url: \"redis://pw@host\"}\n"
                         "rules: [\"rules/*.yaml\"]\n",
                         "{F}:1:14: redis.url: write the password after a "
                         "colon, as in redis://:PASSWORD@HOST\n");
    assert_inline_errors("redis: {url: \"redis://host/zero\"}\n"
                         "rules: [\"rules/*.yaml\"]\n",
                         "{F}:1:14: redis.url: the database must be a "
                         "number, as in /0\n");
    assert_inline_errors("redis: {url: \"rediss://host\"}\n"
                         "rules: [\"rules/*.yaml\"]\n",
                         "{F}:1:14: redis.url: TLS (rediss://) is not "
                         "supported\n");
}

Test(config, expands_environment_variables)
{
    setenv("VIGIL_TEST_NS", "prod", 1);
    setenv("VIGIL_TEST_HOST", "cache", 1);
    setenv("VIGIL_TEST_EMPTY", "", 1);
    struct vigil_config *cfg = load_inline_ok(
        "redis:\n"
        "  url: \"redis://${VIGIL_TEST_HOST}:6379/0\"\n"
        "  namespace: \"${VIGIL_TEST_NS}${VIGIL_TEST_EMPTY}\"\n"
        "rules: [\"rules/*.yaml\"]\n"
        "http: {read_token: \"a$b$${VIGIL_TEST_NS}-${VIGIL_TEST_NS}$\"}\n");
    cr_assert_str_eq(cfg->redis.host, "cache");
    cr_assert_str_eq(cfg->redis.ns, "prod");
    cr_assert_str_eq(cfg->http.read_token, "a$b${VIGIL_TEST_NS}-prod$");
    vigil_config_destroy(cfg);
}

Test(config, reads_at_files_relative_to_the_config)
{
    setenv("VIGIL_TEST_SECRETS", "secrets", 1);
    struct vigil_config *cfg =
        load_inline_ok(BASE "http:\n"
                            "  read_token: \"@secrets/read.token\"\n"
                            "  admin_token: \"@${VIGIL_TEST_SECRETS}/"
                            "read.token\"\n"
                            "notifiers:\n"
                            "  - {name: a, type: slack, url: "
                            "\"https://x.example/\", channel: \"@@soc\"}\n");
    cr_assert_str_eq(cfg->http.read_token, "tok-from-file");
    cr_assert_str_eq(cfg->http.admin_token, "tok-from-file");
    cr_assert_str_eq(cfg->notifiers[0].channel, "@soc");
    vigil_config_destroy(cfg);

    char *abs = NULL;
    cr_assert(asprintf(&abs, BASE "http: {read_token: \"@" GOOD
                                  "/secrets/read.token\"}\n") > 0);
    struct vigil_diags d = {0};
    cfg = vigil_config_load_string("x.yaml", abs, strlen(abs), "/nonexistent",
                                   &d);
    /* The rules glob is relative to /nonexistent: only it fails. */
    cr_assert_null(cfg);
    cr_assert_eq(d.n, 1);
    cr_assert_str_eq(d.v[0].msg,
                     "rules: no file matches '/nonexistent/rules/*.yaml'");
    vigil_diags_fini(&d);
    free(abs);
}

Test(config, resolves_relative_paths_against_the_config_folder)
{
    struct vigil_diags d = {0};
    struct vigil_config *cfg = vigil_config_load(GOOD "/minimal.yaml", &d);
    cr_assert_not_null(cfg);
    cr_assert_str_eq(cfg->base_dir, GOOD);
    cr_assert_eq(cfg->n_rule_files, 2);
    cr_assert_str_eq(cfg->rule_files[0], GOOD "/rules/sshd.yaml");
    cr_assert_str_eq(cfg->rule_files[1], GOOD "/rules/web.yaml");
    cr_assert_null(cfg->rule_files[2]);
    vigil_config_destroy(cfg);

    cfg = load_inline_ok(
        "redis: {url: \"redis://h\"}\n"
        "rules: [\"rules/w*.yaml\", \"" GOOD "/rules/*.yaml\"]\n"
        "plugins:\n"
        "  - path: plugins/decoder_fake.plugin\n"
        "    config: {mode: strict}\n"
        "notifiers:\n"
        "  - {name: run, type: exec, argv: [bin/notify, \"--x\"]}\n"
        "  - {name: sh, type: exec, argv: [logger]}\n");
    /* Sorted per glob; a file matched twice is listed once. */
    cr_assert_eq(cfg->n_rule_files, 2);
    cr_assert_str_eq(cfg->rule_files[0], GOOD "/rules/web.yaml");
    cr_assert_str_eq(cfg->rule_files[1], GOOD "/rules/sshd.yaml");
    cr_assert_eq(cfg->n_plugins, 1);
    cr_assert_str_eq(cfg->plugins[0].path, GOOD "/plugins/decoder_fake.plugin");
    cr_assert_str_eq(vigil_config_map_get(&cfg->plugins[0].config, "mode"),
                     "strict");
    cr_assert_eq(cfg->plugins[0].pos.line, 4);
    cr_assert_eq(cfg->plugins[0].pos.col, 11);
    cr_assert_str_eq(cfg->notifiers[0].argv[0], GOOD "/bin/notify");
    cr_assert_str_eq(cfg->notifiers[0].argv[1], "--x");
    cr_assert_eq(cfg->notifiers[0].argc, 2);
    cr_assert_str_eq(cfg->notifiers[1].argv[0], "logger");
    vigil_config_destroy(cfg);
}

Test(config, accepts_plugin_formats_and_notifier_types_when_plugins_exist)
{
    struct vigil_config *cfg =
        load_inline_ok(BASE "plugins: [{path: plugins/decoder_fake.plugin}]\n"
                            "events: {format: cef}\n"
                            "notifiers:\n"
                            "  - name: t\n"
                            "    type: teams\n"
                            "    url: https://teams.example/\n"
                            "    config: {channel: soc}\n");
    cr_assert(cfg->events.format_plugin);
    cr_assert_str_eq(cfg->events.format_name, "cef");
    cr_assert_eq(cfg->events.format_pos.line, 4);
    cr_assert_eq(cfg->events.format_pos.col, 18);
    cr_assert_eq(cfg->notifiers[0].type, VIGIL_NOTIFIER_PLUGIN);
    cr_assert_str_eq(cfg->notifiers[0].type_name, "teams");
    cr_assert_eq(cfg->notifiers[0].type_pos.line, 7);
    cr_assert_str_eq(vigil_config_map_get(&cfg->notifiers[0].config, "channel"),
                     "soc");
    vigil_config_destroy(cfg);
}

Test(config, reads_notifier_types)
{
    struct vigil_config *cfg = load_inline_ok(
        BASE "notifiers:\n"
             "  - {name: pd, type: pagerduty, routing_key: rk}\n"
             "  - {name: am, type: alertmanager, url: \"http://am:9093\",\n"
             "     headers: {X-Scope-OrgID: soc}, timeout: 3s}\n"
             "  - {name: sl, type: slack, url: \"https://hooks.example/x\"}\n"
             "  - {name: wh, type: webhook, url: \"https://h.example/\"}\n"
             "route:\n"
             "  - {match: {severity: critical}, notify: [pd, sl]}\n"
             "  - {notify: wh}\n");
    cr_assert_eq(cfg->n_notifiers, 4);
    cr_assert_eq(cfg->notifiers[0].type, VIGIL_NOTIFIER_PAGERDUTY);
    cr_assert_str_eq(cfg->notifiers[0].url,
                     "https://events.pagerduty.com/v2/enqueue");
    cr_assert_str_eq(cfg->notifiers[0].routing_key, "rk");
    cr_assert_eq(cfg->notifiers[0].timeout_ms, 10000);
    cr_assert_eq(cfg->notifiers[1].type, VIGIL_NOTIFIER_ALERTMANAGER);
    cr_assert_eq(cfg->notifiers[1].timeout_ms, 3000);
    cr_assert_str_eq(
        vigil_config_map_get(&cfg->notifiers[1].headers, "X-Scope-OrgID"),
        "soc");
    cr_assert_eq(cfg->notifiers[2].type, VIGIL_NOTIFIER_SLACK);
    cr_assert_null(cfg->notifiers[2].channel);
    cr_assert_eq(cfg->notifiers[3].type, VIGIL_NOTIFIER_WEBHOOK);
    cr_assert_str_eq(vigil_notifier_type_name(cfg->notifiers[3].type),
                     "webhook");
    cr_assert_eq(cfg->n_routes, 2);
    cr_assert_str_eq(vigil_config_map_get(&cfg->routes[0].match, "severity"),
                     "critical");
    cr_assert_eq(cfg->routes[0].n_notify, 2);
    cr_assert_eq(cfg->routes[0].notify_index[0], 0);
    cr_assert_eq(cfg->routes[0].notify_index[1], 2);
    cr_assert_eq(cfg->routes[0].repeat_ms, 4 * 3600000ULL);
    cr_assert_not(cfg->routes[0].cont);
    cr_assert_eq(cfg->routes[1].notify_index[0], 3);
    vigil_config_destroy(cfg);
}

/* Prints cfg into a heap string. */
static char *printed(const struct vigil_config *cfg)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    cr_assert_eq(vigil_config_print(cfg, f), 0);
    fclose(f);
    return out;
}

Test(config, print_redacts_secrets)
{
    setenv("VIGIL_TEST_PD_KEY", "pd-key-value", 1);
    struct vigil_config *cfg = load_inline_ok(
        "kafka:\n"
        "  brokers: k:9092\n"
        "  topics: [a]\n"
        "  properties: {sasl.password: kafka-pw-value, client.id: vigil}\n"
        "redis: {url: \"redis://:url-pw-value@h:6379/1\"}\n"
        "rules: [\"rules/*.yaml\"]\n"
        "http: {read_token: \"@secrets/read.token\", admin_token: "
        "admin-value}\n"
        "notifiers:\n"
        "  - {name: pd, type: pagerduty, routing_key: "
        "\"${VIGIL_TEST_PD_KEY}\"}\n"
        "  - {name: sl, type: slack, url: \"https://hooks.example/T/B/X\"}\n"
        "  - {name: wh, type: webhook, url: \"https://h.example/\",\n"
        "     headers: {Authorization: auth-value, X-Team: soc}}\n"
        "  - {name: ex, type: exec, argv: [/bin/true, \"@secrets/"
        "read.token\"]}\n");
    char *out = printed(cfg);
    const char *secrets[] = {"kafka-pw-value", "url-pw-value", "tok-from-file",
                             "admin-value",    "pd-key-value", "hooks.example",
                             "auth-value"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++)
        cr_assert_null(strstr(out, secrets[i]), "%s leaked:\n%s", secrets[i],
                       out);
    cr_assert_not_null(strstr(out, "\"client.id\": \"vigil\""));
    cr_assert_not_null(strstr(out, "url: \"redis://:<redacted>@h:6379/1\"\n"));
    cr_assert_not_null(strstr(out, "read_token: \"<redacted>\"\n"));
    cr_assert_not_null(strstr(out, "\"X-Team\": \"soc\""));
    cr_assert_not_null(strstr(out, "argv: [\"/bin/true\", \"<redacted>\"]\n"),
                       "%s", out);
    free(out);
    vigil_config_destroy(cfg);
}

Test(config, printed_config_loads_again_with_the_same_values)
{
    struct vigil_config *cfg = load_inline_ok(
        "kafka: {brokers: \"k:1\", topics: [a, b], workers: 3}\n"
        "redis: {url: \"redis://h:7/1\", namespace: n1, "
        "connect_timeout: 1h30m}\n"
        "events: {format: json, resolution: 2m}\n"
        "rules: [\"rules/*.yaml\"]\n"
        "indicators: [\"indicators/*.yaml\"]\n"
        "http: {listen: \"0.0.0.0:0\"}\n"
        "notifiers: [{name: l, type: log}, {name: ex, type: exec, "
        "argv: [\"a b\", \"c\\td\"]}]\n"
        "route: [{match: {k: \"v\\\"q\"}, notify: [l], continue: true}]\n"
        "matching: {vectorscan: false}\n");
    char *out = printed(cfg);
    struct vigil_diags d = {0};
    struct vigil_config *again =
        vigil_config_load_string("printed.yaml", out, strlen(out), NULL, &d);
    char *errs = joined(&d);
    cr_assert_not_null(again, "%s\n%s", out, errs);
    char *out2 = printed(again);
    /* Only the header line names the file. */
    cr_assert_str_eq(strchr(out, '\n'), strchr(out2, '\n'));
    cr_assert_str_eq(vigil_config_map_get(&again->routes[0].match, "k"),
                     "v\"q");
    cr_assert_str_eq(again->notifiers[1].argv[1], "c\td");
    cr_assert_eq(again->redis.connect_timeout_ms, 5400000);
    free(out2);
    free(errs);
    vigil_diags_fini(&d);
    vigil_config_destroy(again);
    free(out);
    vigil_config_destroy(cfg);
}

/* Copies tests/config/good/<from> to <dir>/<to>. */
static void copy_fixture(const char *from, const char *dir, const char *to)
{
    char *src = NULL;
    cr_assert(asprintf(&src, "%s/%s", GOOD, from) > 0);
    char *text = vigil_test_read_file(src, NULL);
    cr_assert_not_null(text, "%s", src);
    char *path = vigil_test_write_file(dir, to, text);
    cr_assert_not_null(path);
    free(path);
    free(text);
    free(src);
}

/*
 * The shipped example must pass. Its globs point at ../rules/packs and
 * ../rules/indicators, which may be empty in a checkout, so it is checked
 * from a copy of the same layout with one rule pack and one indicator file.
 */
Test(config, example_config_is_valid)
{
    char *root = vigil_test_tmpdir("vigil-example");
    cr_assert_not_null(root);
    const char *dirs[] = {"deploy", "rules", "rules/packs", "rules/indicators"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
        char *p = NULL;
        cr_assert(asprintf(&p, "%s/%s", root, dirs[i]) > 0);
        cr_assert_eq(mkdir(p, 0700), 0);
        free(p);
    }
    char *example =
        vigil_test_read_file(VIGIL_SOURCE_DIR "/deploy/vigil.example.yaml", 0);
    cr_assert_not_null(example);
    char *path = vigil_test_write_file(root, "deploy/vigil.yaml", example);
    cr_assert_not_null(path);
    copy_fixture("rules/sshd.yaml", root, "rules/packs/sshd.yaml");
    copy_fixture("indicators/auth.yaml", root, "rules/indicators/auth.yaml");
    setenv("REDIS_PASSWORD", "redis-secret", 1);
    setenv("VIGIL_READ_TOKEN", "read-secret", 1);
    setenv("VIGIL_ADMIN_TOKEN", "admin-secret", 1);
    setenv("PD_ROUTING_KEY", "pd-secret", 1);
    setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/X", 1);

    struct vigil_diags d = {0};
    struct vigil_config *cfg = vigil_config_load(path, &d);
    char *errs = joined(&d);
    cr_assert_not_null(cfg, "%s", errs);
    cr_assert_eq(d.n, 0, "%s", errs);
    cr_assert(cfg->kafka.present);
    cr_assert_eq(cfg->n_rule_files, 1);
    cr_assert_eq(cfg->n_indicator_files, 1);
    cr_assert_eq(cfg->n_notifiers, 6);
    cr_assert_eq(cfg->n_routes, 3);
    cr_assert_str_eq(cfg->redis.password, "redis-secret");
    cr_assert_str_eq(cfg->events.time_field, "@timestamp");
    free(errs);
    vigil_diags_fini(&d);
    vigil_config_destroy(cfg);
    free(path);
    free(example);
    vigil_test_rm_rf(root);
    free(root);
}

Test(config, null_values_take_the_default)
{
    struct vigil_config *cfg = load_inline_ok(
        BASE "kafka:\n  brokers: k:9092\n  topics: [a]\n"
             "  group: ~\n  dead_letter_topic: null\n  workers:\n"
             "events: {time_field: ~}\n");
    cr_assert_str_eq(cfg->kafka.group, "vigil");
    cr_assert_null(cfg->kafka.dead_letter_topic);
    cr_assert_eq(cfg->kafka.workers, 1);
    cr_assert_str_eq(cfg->events.time_field, "@timestamp");
    vigil_config_destroy(cfg);
}

Test(config, required_keys_must_have_a_value)
{
    assert_inline_errors("redis: {url: ~}\nrules:\n",
                         "{F}:1:14: redis: 'url' has no value\n"
                         "{F}:2:1: config: 'rules' has no value\n");
}
