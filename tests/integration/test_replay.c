/*
 * The real vigild binary: `vigild replay --dry-run` and `vigild test`,
 * their output contracts (DESIGN.md section 2) and exit codes.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_server.h"
#include "support.h"

static char *tmp;

static void setup(void)
{
    tmp = vigil_test_tmpdir("vigil-replay");
    cr_assert_not_null(tmp);
}

static void teardown(void)
{
    vigil_test_rm_rf(tmp);
    free(tmp);
}

TestSuite(replay, .init = setup, .fini = teardown);
TestSuite(test_command, .init = setup, .fini = teardown);

static char *fixture(const char *name)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/rules/%s", VIGIL_TESTS_DIR, name) > 0);
    return p;
}

/* Runs vigild with up to 12 arguments; returns the exit status. */
static int vigild(const char *stdin_text, char **out, char **err,
                  const char *const *args)
{
    char *argv[16] = {(char *)VIGILD_PATH};
    int n = 1;
    while (args[n - 1] && n < 15) {
        argv[n] = (char *)args[n - 1];
        n++;
    }
    argv[n] = NULL;
    return vigil_test_run(argv, stdin_text, out, err);
}

static const char *const events =
    "Feb 25 14:34:10 belka sshd[31602]: Failed password for invalid user "
    "ROOT from 194.117.26.69 port 50273 ssh2\n"
    "\n"
    "{\"message\": \"fw1 DENY tcp 1.2.3.4 bytes=512\", \"user\": \"bob\"}\n"
    "{not json\n"
    "Feb 25 14:35:00 belka sshd[31603]: Accepted publickey for bob from "
    "1.2.3.4 port 22 ssh2\r\n"
    "Feb 25 14:36:00 bastion-1 sshd[1]: Failed password for root from "
    "5.6.7.8 port 22 ssh2";

Test(replay, dry_run_prints_one_json_line_per_match)
{
    char *sshd = fixture("good/sshd.yaml"),
         *inc = fixture("good/incidents.yaml");
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay",  "--dry-run", "--rules", sshd,
                          "--rules", inc,         "-",       NULL};
    cr_assert_eq(vigild(events, &out, &err, args), 0, "%s", err);
    cr_assert_str_eq(
        out,
        "{\"n\":1,\"rule\":\"sshd.auth_failure\",\"fields\":{\"user\":"
        "\"ROOT\",\"src_ip\":\"194.117.26.69\"}}\n"
        "{\"n\":3,\"rule\":\"firewall.denied_bytes\",\"fields\":{\"bytes\":"
        "\"512\"}}\n"
        "{\"n\":5,\"rule\":\"sshd.accepted\",\"fields\":{\"method\":"
        "\"publickey\",\"user\":\"bob\",\"src_ip\":\"1.2.3.4\"}}\n"
        "{\"n\":6,\"rule\":\"sshd.auth_failure\",\"fields\":{\"user\":"
        "\"root\",\"src_ip\":\"5.6.7.8\"}}\n"
        "{\"n\":6,\"rule\":\"sshd.bastion_root\",\"fields\":{\"src_ip\":"
        "\"5.6.7.8\"}}\n");
    free(out);
    free(err);
    free(sshd);
    free(inc);
}

Test(replay, stats_count_events_matches_rules_and_decode_errors)
{
    char *sshd = fixture("good/sshd.yaml");
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay",  "--dry-run", "--quiet", "--stats",
                          "--rules", sshd,        "-",       NULL};
    cr_assert_eq(vigild(events, &out, &err, args), 0, "%s", err);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
    cJSON *s = cJSON_Parse(out);
    cr_assert_not_null(s, "%s", out);
    cr_assert_eq(cJSON_GetObjectItem(s, "events")->valuedouble, 4);
    cr_assert_eq(cJSON_GetObjectItem(s, "matched_events")->valuedouble, 3);
    cr_assert_eq(cJSON_GetObjectItem(s, "decode_errors")->valuedouble, 1);
    cJSON *rules = cJSON_GetObjectItem(s, "rules");
    cr_assert_eq(cJSON_GetArraySize(rules), 3);
    cr_assert_eq(cJSON_GetObjectItem(rules, "sshd.auth_failure")->valuedouble,
                 2);
    cr_assert_eq(cJSON_GetObjectItem(rules, "sshd.accepted")->valuedouble, 1);
    cr_assert_eq(cJSON_GetObjectItem(rules, "sshd.bastion_root")->valuedouble,
                 1);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(s, "seconds")));
    /* The stats line ends the output, in the contract's key order. */
    cr_assert(strncmp(out, "{\"events\":4,\"matched_events\":3,", 31) == 0);
    cJSON_Delete(s);
    free(out);
    free(err);
    free(sshd);
}

Test(replay, numbers_lines_across_inputs)
{
    char *sshd = fixture("good/sshd.yaml");
    const char *line = "Feb 25 14:35:00 h sshd[3]: Accepted password for bob "
                       "from 1.2.3.4 port 22 ssh2\n";
    char *a = vigil_test_write_file(tmp, "a.log", line);
    char *b = vigil_test_write_file(tmp, "b.log", line);
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay", "--dry-run", "--rules", sshd, a, b, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 0, "%s", err);
    cr_assert(strstr(out, "{\"n\":1,\"rule\":\"sshd.accepted\""));
    cr_assert(strstr(out, "{\"n\":2,\"rule\":\"sshd.accepted\""));
    free(out);
    free(err);
    free(a);
    free(b);
    free(sshd);
}

Test(replay, writes_valid_json_for_hostile_values)
{
    const char *rules = "pack: p\nrules:\n  - id: r\n    title: t\n"
                        "    severity: low\n    match: 'say (?<what>.*)$'\n";
    char *path = vigil_test_write_file(tmp, "r.yaml", rules);
    const char *input = "{\"message\": \"say \\\"q\\\" \\\\ "
                        "\\u0001\\t\\u00e9\\ud83d\\ude00\"}\n";
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay", "--dry-run", "--rules", path, "-", NULL};
    cr_assert_eq(vigild(input, &out, &err, args), 0, "%s", err);
    cJSON *m = cJSON_Parse(out);
    cr_assert_not_null(m, "%s", out);
    const char *what = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(m, "fields"), "what"));
    cr_assert_str_eq(what, "\"q\" \\ \x01\t\xc3\xa9\xf0\x9f\x98\x80");
    cJSON_Delete(m);
    free(out);
    free(err);
    free(path);
}

Test(replay, reads_lines_longer_than_its_buffer)
{
    size_t n = 3u << 20;
    char *big = malloc(n + 64);
    memcpy(big, "say ", 4);
    memset(big + 4, 'x', n);
    memcpy(big + 4 + n, "\nsay y\n", 8);
    const char *rules = "pack: p\nrules:\n  - id: r\n    title: t\n"
                        "    severity: low\n    match: 'say (?<c>x|y)'\n";
    char *path = vigil_test_write_file(tmp, "r.yaml", rules);
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay", "--dry-run", "--rules", path, "-", NULL};
    cr_assert_eq(vigild(big, &out, &err, args), 0, "%s", err);
    cr_assert_str_eq(out,
                     "{\"n\":1,\"rule\":\"r\",\"fields\":{\"c\":\"x\"}}\n"
                     "{\"n\":2,\"rule\":\"r\",\"fields\":{\"c\":\"y\"}}\n");
    free(out);
    free(err);
    free(path);
    free(big);
}

Test(replay, needs_a_config_to_replay_into_redis)
{
    char *sshd = fixture("good/sshd.yaml");
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay", "--rules", sshd, "-", NULL};
    cr_assert_eq(vigild("x\n", &out, &err, args), 2);
    cr_assert_str_eq(out, "");
    cr_assert(strstr(err, "-c vigil.yaml is needed"), "%s", err);
    free(out);
    free(err);
    free(sshd);
}

Test(replay, fails_on_rule_errors_and_missing_inputs)
{
    char *bad = fixture("bad/errors.yaml"), *sshd = fixture("good/sshd.yaml");
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay", "--dry-run", "--rules", bad, "-", NULL};
    cr_assert_eq(vigild("x\n", &out, &err, args), 1);
    cr_assert(strstr(err, "errors.yaml:10:15: unknown severity 'urgent'"));
    free(out);
    free(err);
    const char *args2[] = {
        "replay", "--dry-run", "--rules", sshd, "/nonexistent/events.log",
        NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args2), 1);
    cr_assert(strstr(err, "/nonexistent/events.log"));
    free(out);
    free(err);
    free(bad);
    free(sshd);
}

Test(test_command, passes_good_rule_files)
{
    char *sshd = fixture("good/sshd.yaml"),
         *inc = fixture("good/incidents.yaml");
    char *out = NULL, *err = NULL;
    const char *args[] = {"test", sshd, inc, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 0, "%s%s", out, err);
    cr_assert_str_eq(out, "11 tests, 0 failed\n");
    free(out);
    free(err);
    free(sshd);
    free(inc);
}

Test(test_command, prints_failures_and_exits_1)
{
    char *failing = fixture("failing/failing.yaml");
    char *out = NULL, *err = NULL;
    const char *args[] = {"test", failing, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 1);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "%s:11: rule f.login: expected user=alice, got "
                       "user=bob\n",
                       failing) > 0);
    cr_assert(strncmp(out, want, strlen(want)) == 0, "%s", out);
    cr_assert(strstr(out, "\n7 tests, 5 failed\n"));
    free(want);
    free(out);
    free(err);
    free(failing);
}

Test(test_command, reports_load_errors_and_exits_1)
{
    char *bad = fixture("bad/errors.yaml");
    char *out = NULL, *err = NULL;
    const char *args[] = {"test", bad, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 1);
    cr_assert(strstr(err, "errors.yaml:7:31: match: pattern does not "
                          "compile: missing closing parenthesis"));
    cr_assert(strstr(err, "errors.yaml:24:9: duplicate rule id"));
    free(out);
    free(err);
    free(bad);
}

Test(test_command, runs_indicator_tests_and_needs_files)
{
    const char *ind = VIGIL_TESTS_DIR "/indicators/design_example.yaml";
    char *out = NULL, *err = NULL;
    const char *args[] = {"test", ind, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 0, "%s", err);
    cr_assert_str_eq(out, "1 tests, 0 failed\n");
    free(out);
    free(err);
    /* The same indicator expecting the wrong state fails the run. */
    char *text = vigil_test_read_file(ind, NULL);
    char *at = strstr(text, "state: breach }");
    cr_assert_not_null(at);
    memcpy(at, "state: ok     }", 15);
    char *bad = vigil_test_write_file(tmp, "kpi.yaml", text);
    const char *bad_args[] = {"test", bad, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, bad_args), 1);
    cr_assert_str_eq(strstr(out, "1 tests, 1 failed\n"), "1 tests, 1 failed\n");
    free(out);
    free(err);
    free(bad);
    free(text);
    const char *none[] = {"test", NULL};
    cr_assert_eq(vigild(NULL, &out, &err, none), 2);
    free(out);
    free(err);
}

/* Replays the shipped packs' sample corpus, with or without prefilter. */
static void replay_corpus(const char *extra)
{
    char *cfg_text = NULL;
    cr_assert(asprintf(&cfg_text,
                       "redis:\n  url: \"redis://127.0.0.1:1/0\"\n"
                       "rules: [\"%s/rules/packs/*.yaml\"]\n",
                       VIGIL_SOURCE_DIR) > 0);
    char *cfg = vigil_test_write_file(tmp, "vigil.yaml", cfg_text);
    char *sample = NULL, *want_path = NULL;
    cr_assert(asprintf(&sample, "%s/rules_corpus/sample.log", VIGIL_TESTS_DIR) >
              0);
    cr_assert(asprintf(&want_path, "%s/rules_corpus/expected.json",
                       VIGIL_TESTS_DIR) > 0);
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay",  "-c",   cfg,   "--dry-run", "--quiet",
                          "--stats", sample, extra, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 0, "%s", err);
    cJSON *got = cJSON_Parse(out);
    char *want_text = vigil_test_read_file(want_path, NULL);
    cJSON *want = cJSON_Parse(want_text);
    cr_assert_not_null(got, "%s", out);
    cr_assert_not_null(want);
    const char *keys[] = {"events", "matched_events", "rules"};
    for (int i = 0; i < 3; i++)
        cr_assert(cJSON_Compare(cJSON_GetObjectItem(got, keys[i]),
                                cJSON_GetObjectItem(want, keys[i]), true),
                  "%s differs: %s", keys[i], out);
    cr_assert_eq(cJSON_GetObjectItem(got, "decode_errors")->valuedouble, 0);
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(want_text);
    free(out);
    free(err);
    free(sample);
    free(want_path);
    free(cfg);
    free(cfg_text);
}

Test(replay, matches_the_rule_pack_corpus_with_the_config)
{
    replay_corpus(NULL);
}

Test(replay, matches_the_rule_pack_corpus_without_prefilter)
{
    replay_corpus("--no-prefilter");
}

Test(test_command, runs_the_tests_of_the_config_rule_files)
{
    char *cfg_text = NULL;
    cr_assert(asprintf(&cfg_text,
                       "redis:\n  url: \"redis://127.0.0.1:1/0\"\n"
                       "rules: [\"%s/rules/good/*.yaml\"]\n",
                       VIGIL_TESTS_DIR) > 0);
    char *cfg = vigil_test_write_file(tmp, "vigil.yaml", cfg_text);
    char *out = NULL, *err = NULL;
    const char *args[] = {"test", "-c", cfg, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, args), 0, "%s%s", out, err);
    cr_assert_str_eq(out, "11 tests, 0 failed\n");
    free(out);
    free(err);
    free(cfg);
    free(cfg_text);
}

/* Replay into a real redis-server (tests/support/redis_server.h). */
static struct {
    struct vigil_test_redis *redis;
    redisContext *rc;
    char *tmp;
} fx;

static void redis_setup(void)
{
    fx.tmp = vigil_test_tmpdir("vigil-replay");
    cr_assert_not_null(fx.tmp);
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.rc = vigil_test_redis_connect(fx.redis, 0);
    cr_assert_not_null(fx.rc);
}

static void redis_teardown(void)
{
    if (fx.rc)
        redisFree(fx.rc);
    vigil_test_redis_stop(fx.redis);
    vigil_test_rm_rf(fx.tmp);
    free(fx.tmp);
}

TestSuite(replay_redis, .init = redis_setup, .fini = redis_teardown);

static const char *const counting_rules =
    "pack: t\n"
    "rules:\n"
    "  - id: t.login_failed\n"
    "    title: Failed login\n"
    "    severity: medium\n"
    "    match: 'login failed user=(?<user>\\S+) src=(?<src>\\S+)'\n"
    "    count:\n"
    "      - counter: failures\n"
    "      - counter: failures_by_src\n"
    "        by: src\n"
    "      - counter: failed_users\n"
    "        distinct: user\n"
    "  - id: t.transfer\n"
    "    title: Transfer\n"
    "    severity: low\n"
    "    match: 'transfer bytes=(?<bytes>\\d+)'\n"
    "    count:\n"
    "      - counter: bytes_sent\n"
    "        sum: bytes\n";

/* A config in fx.tmp with the counting rules, 60 s buckets, namespace t. */
static char *write_config(const char *url)
{
    char *rules = vigil_test_write_file(fx.tmp, "t.yaml", counting_rules);
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "redis:\n  url: \"%s\"\n  namespace: t\n"
                       "events:\n  resolution: 60s\n"
                       "rules: [\"%s\"]\n",
                       url, rules) > 0);
    char *cfg = vigil_test_write_file(fx.tmp, "vigil.yaml", text);
    free(text);
    free(rules);
    return cfg;
}

static void iso_time(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void append(char **buf, size_t *len, size_t *cap, const char *line)
{
    size_t n = strlen(line);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        cr_assert_not_null(*buf);
    }
    memcpy(*buf + *len, line, n + 1);
    *len += n;
}

static long long get_int(const char *key)
{
    redisReply *r = redisCommand(fx.rc, "GET %s", key);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s is missing", key);
    long long v = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return v;
}

static long long command_int(const char *fmt, const char *key)
{
    redisReply *r = redisCommand(fx.rc, fmt, key);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s: %s", fmt, key);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static cJSON *stats_of(const char *out)
{
    cJSON *s = cJSON_Parse(out);
    cr_assert_not_null(s, "%s", out);
    return s;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    cr_assert(cJSON_IsNumber(v), "no number %s", key);
    return v->valuedouble;
}

/*
 * 25502 events in two minutes' buckets (more than one batch of 20000
 * lines), one event older than the retention, one line that is not JSON,
 * one empty line: the dry run writes nothing, the replay writes exactly
 * the counts, and neither counts the late event.
 */
Test(replay_redis, writes_exact_counters_and_drops_late_events)
{
    char *cfg = write_config(vigil_test_redis_url(fx.redis));
    time_t now = time(NULL);
    long long b0 = (long long)(now / 60 * 60 - 600), b1 = b0 + 60;
    long long late_bucket = (long long)((now - 30 * 86400) / 60 * 60);
    char t0[32], t1[32], tl[32], line[256];
    iso_time((time_t)b0 + 5, t0, sizeof(t0));
    iso_time((time_t)b1 + 7, t1, sizeof(t1));
    iso_time(now - 30 * 86400, tl, sizeof(tl));

    char *lines = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < 12000; i++) {
        snprintf(line, sizeof(line),
                 "{\"@timestamp\":\"%s\",\"message\":\"login failed "
                 "user=u%d src=10.0.0.%d\"}\n",
                 t0, i % 50, i % 3);
        append(&lines, &len, &cap, line);
    }
    for (int i = 0; i < 13000; i++) {
        snprintf(line, sizeof(line),
                 "{\"@timestamp\":\"%s\",\"message\":\"transfer "
                 "bytes=%d\"}\n",
                 t1, i % 10);
        append(&lines, &len, &cap, line);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(line, sizeof(line),
                 "{\"@timestamp\":\"%s\",\"message\":\"login failed "
                 "user=x src=192.0.2.1\"}\n",
                 t1);
        append(&lines, &len, &cap, line);
    }
    snprintf(line, sizeof(line),
             "{\"@timestamp\":\"%s\",\"message\":\"login failed "
             "user=old src=192.0.2.9\"}\n\n{not json\n",
             tl);
    append(&lines, &len, &cap, line);
    char *path = vigil_test_write_file(fx.tmp, "events.log", lines);

    char *out = NULL, *err = NULL;
    const char *dry[] = {"replay",  "-c",      cfg,  "--dry-run",
                         "--quiet", "--stats", path, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, dry), 0, "%s", err);
    cJSON *s = stats_of(out);
    cr_assert_eq(num(s, "events"), 25501);
    cr_assert_eq(num(s, "matched_events"), 25501);
    cr_assert_eq(num(s, "decode_errors"), 1);
    cr_assert_eq(num(s, "late"), 1);
    cJSON_Delete(s);
    free(out);
    free(err);
    redisReply *r = redisCommand(fx.rc, "DBSIZE");
    cr_assert_eq(r->integer, 0, "the dry run wrote to Redis");
    freeReplyObject(r);

    const char *real[] = {"replay",  "-c", cfg, "--quiet",
                          "--stats", path, NULL};
    cr_assert_eq(vigild(NULL, &out, &err, real), 0, "%s", err);
    s = stats_of(out);
    cr_assert_eq(num(s, "events"), 25501);
    cr_assert_eq(num(s, "matched_events"), 25501);
    cr_assert_eq(num(s, "decode_errors"), 1);
    cr_assert_eq(num(s, "late"), 1);
    const cJSON *rules = cJSON_GetObjectItem(s, "rules");
    cr_assert_eq(num(rules, "t.login_failed"), 12501);
    cr_assert_eq(num(rules, "t.transfer"), 13000);
    cJSON_Delete(s);
    free(out);
    free(err);

    char key[128];
    snprintf(key, sizeof(key), "vigil:{t}:c:failures:%lld", b0);
    cr_assert_eq(get_int(key), 12000);
    long long ttl = command_int("TTL %s", key);
    cr_assert(ttl > 0 && ttl <= 26 * 3600 + 3600, "ttl %lld", ttl);
    snprintf(key, sizeof(key), "vigil:{t}:c:failures:%lld", b1);
    cr_assert_eq(get_int(key), 500);
    snprintf(key, sizeof(key), "vigil:{t}:c:failures:%lld", late_bucket);
    cr_assert_eq(command_int("EXISTS %s", key), 0);

    snprintf(key, sizeof(key), "vigil:{t}:c:failures_by_src:%lld", b0);
    r = redisCommand(fx.rc, "HGETALL %s", key);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 6);
    for (size_t i = 0; i < r->elements; i += 2) {
        cr_assert(strncmp(r->element[i]->str, "10.0.0.", 7) == 0);
        cr_assert_str_eq(r->element[i + 1]->str, "4000");
    }
    freeReplyObject(r);
    snprintf(key, sizeof(key), "vigil:{t}:c:failures_by_src:%lld", b1);
    r = redisCommand(fx.rc, "HGET %s 192.0.2.1", key);
    cr_assert_str_eq(r->str, "500");
    freeReplyObject(r);

    snprintf(key, sizeof(key), "vigil:{t}:d:failed_users:%lld", b0);
    cr_assert_eq(command_int("PFCOUNT %s", key), 50);
    snprintf(key, sizeof(key), "vigil:{t}:c:bytes_sent:%lld", b1);
    cr_assert_eq(get_int(key), 58500); /* 1300 times 0 + 1 + ... + 9 */
    snprintf(key, sizeof(key), "vigil:{t}:n:bytes_sent:%lld", b1);
    cr_assert_eq(get_int(key), 13000);

    snprintf(key, sizeof(key), "vigil:{t}:d:failed_users:%lld", b1);
    cr_assert_eq(command_int("PFCOUNT %s", key), 1);
    /* Nothing else: both buckets of the three login counters, the sum's
     * two keys in the second. */
    r = redisCommand(fx.rc, "DBSIZE");
    cr_assert_eq(r->integer, 8, "%lld keys", r->integer);
    freeReplyObject(r);
    free(path);
    free(lines);
    free(cfg);
}

Test(replay_redis, prints_matches_like_the_dry_run)
{
    char *cfg = write_config(vigil_test_redis_url(fx.redis));
    const char *input = "login failed user=bob src=192.0.2.7\n"
                        "transfer bytes=12\n";
    char *out = NULL, *err = NULL, *dry_out = NULL;
    const char *dry[] = {"replay", "-c", cfg, "--dry-run", "-", NULL};
    cr_assert_eq(vigild(input, &dry_out, &err, dry), 0, "%s", err);
    free(err);
    const char *real[] = {"replay", "-c", cfg, "-", NULL};
    cr_assert_eq(vigild(input, &out, &err, real), 0, "%s", err);
    cr_assert_str_eq(out, dry_out);
    cr_assert_str_eq(out, "{\"n\":1,\"rule\":\"t.login_failed\","
                          "\"fields\":{\"user\":\"bob\",\"src\":"
                          "\"192.0.2.7\"}}\n"
                          "{\"n\":2,\"rule\":\"t.transfer\",\"fields\":"
                          "{\"bytes\":\"12\"}}\n");
    free(out);
    free(dry_out);
    free(err);
    free(cfg);
}

Test(replay_redis, fails_clearly_when_redis_is_down)
{
    int port = vigil_test_free_port();
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    char *cfg = write_config(url);
    char *out = NULL, *err = NULL;
    const char *args[] = {"replay", "-c", cfg, "--stats", "-", NULL};
    cr_assert_eq(vigild("login failed user=a src=b\n", &out, &err, args), 1);
    cr_assert_str_eq(out, "");
    char want[96];
    snprintf(want, sizeof(want),
             "vigild replay: redis at 127.0.0.1:%d: ", port);
    cr_assert(strstr(err, want), "%s", err);
    cr_assert(strstr(err, "refused"), "%s", err);
    free(out);
    free(err);
    free(cfg);
}

/*
 * A record: true rule's matches become findings with the file and line
 * they came from, in the same script as the counters; a burst of more
 * findings than one batch holds is split over batches, none dropped.
 */
Test(replay_redis, records_findings_with_file_and_line_and_drops_none)
{
    char *rules = vigil_test_write_file(
        fx.tmp, "f.yaml",
        "pack: f\n"
        "rules:\n"
        "  - id: f.malware\n"
        "    title: Malware found\n"
        "    severity: high\n"
        "    match: '(?<path>\\S+): (?<signature>\\S+) FOUND'\n"
        "    count: [{counter: detections}]\n"
        "    record: true\n"
        "    tags: [attack.t1204]\n");
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "redis:\n  url: \"%s\"\n  namespace: t\n"
                       "  findings_max_len: 100000\n"
                       "rules: [\"%s\"]\n",
                       vigil_test_redis_url(fx.redis), rules) > 0);
    char *cfg = vigil_test_write_file(fx.tmp, "vigil.yaml", text);
    free(text);
    char *input = NULL;
    size_t len = 0, cap = 0;
    append(&input, &len, &cap, "nothing to see\n");
    for (int i = 0; i < 2500; i++) {
        char line[96];
        snprintf(line, sizeof(line), "/home/u%d/x.doc: Eicar-Signature FOUND\n",
                 i);
        append(&input, &len, &cap, line);
    }
    char *out = NULL, *err = NULL;
    const char *argv[] = {"replay", "-c", cfg, "--quiet", "-", NULL};
    cr_assert_eq(vigild(input, &out, &err, argv), 0, "%s", err);
    cr_assert_str_eq(err, "", "nothing dropped, nothing refused");
    cr_assert_eq(command_int("XLEN %s", "vigil:{t}:findings"), 2500);

    redisReply *r =
        redisCommand(fx.rc, "XRANGE vigil:{t}:findings - + COUNT 1");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    const redisReply *kv = r->element[0]->element[1];
    const char *want[] = {"rule",      "f.malware",
                          "title",     "Malware found",
                          "severity",  "high",
                          "at",        NULL,
                          "path",      "/home/u0/x.doc",
                          "signature", "Eicar-Signature",
                          "tags",      "attack.t1204",
                          "file",      "-",
                          "line",      "2"};
    cr_assert_eq(kv->elements, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < kv->elements; i++)
        if (want[i])
            cr_assert_str_eq(kv->element[i]->str, want[i], "field %zu", i);
    freeReplyObject(r);
    free(input);
    free(out);
    free(err);
    free(cfg);
    free(rules);
}
