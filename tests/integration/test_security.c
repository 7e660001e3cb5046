/*
 * Security properties of vigild run that only show end to end: no secret
 * of the configuration ever reaches the log, whatever happens (debug
 * logging, a page with retries, wrong and right tokens on the feed, a
 * failed reload, Redis dying), while every secret is in use. `vigild
 * check --print` redaction is tested in test_cli.c; the exec notifier's
 * sandbox in test_exec_runner.c; decoder limits in unit/test_decode.c.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"
#include "http_receiver.h"
#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"

#define TOPIC "events"

static const char *const secrets[] = {
    "redis-pw-5ecret", "read-tok-5ecret", "admin-tok-5ecret",
    "hook-hdr-5ecret", "pd-key-5ecret",   "sasl-pw-5ecret",
};

static struct {
    struct vigil_test_redis *redis;
    struct vigil_test_kafka *kafka;
    struct vigil_test_http_receiver *recv;
    char *dir;
    char *cfg_path;
    char *log_path;
    int http_port;
    pid_t pid;
} fx;

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    signal(SIGPIPE, SIG_IGN);
    fx.redis = vigil_test_redis_start(&(struct vigil_test_redis_options){
        .aof = true, .password = secrets[0]});
    cr_assert_not_null(fx.redis);
    fx.kafka = vigil_test_kafka_start(1, TOPIC, 2);
    cr_assert_not_null(fx.kafka);
    fx.recv = vigil_test_http_receiver_start();
    cr_assert_not_null(fx.recv);
    fx.dir = vigil_test_tmpdir("vigil-security");
    cr_assert_not_null(fx.dir);
    fx.http_port = vigil_test_free_port();
    cr_assert(asprintf(&fx.log_path, "%s/vigild.log", fx.dir) > 0);
}

static void teardown(void)
{
    if (fx.pid > 0) {
        kill(fx.pid, SIGKILL);
        vigil_test_wait(fx.pid, 5000);
    }
    if (fx.log_path && getenv("VIGIL_TEST_SHOW_LOG")) {
        char *log = vigil_test_read_file(fx.log_path, NULL);
        fprintf(stderr, "%s", log ? log : "");
        free(log);
    }
    vigil_test_http_receiver_stop(fx.recv);
    vigil_test_kafka_stop(fx.kafka);
    vigil_test_redis_stop(fx.redis);
    if (fx.dir)
        vigil_test_rm_rf(fx.dir);
    free(fx.dir);
    free(fx.cfg_path);
    free(fx.log_path);
}

TestSuite(security, .init = setup, .fini = teardown, .timeout = 120);

static const char rules_yaml[] = "pack: test\n"
                                 "rules:\n"
                                 "  - id: test.fail\n"
                                 "    title: login failure\n"
                                 "    severity: low\n"
                                 "    match: 'login failed'\n"
                                 "    count:\n"
                                 "      - counter: fails\n";

static const char kpi_yaml[] = "indicators:\n"
                               "  - id: KPI-SEC-01\n"
                               "    name: Login failures\n"
                               "    information_need: Are logins failing?\n"
                               "    kind: effectiveness\n"
                               "    entity: Test hosts\n"
                               "    owner: soc\n"
                               "    data_source: events\n"
                               "    frequency: 1s\n"
                               "    value: count(fails, 1h)\n"
                               "    unit: failures per hour\n"
                               "    target: \"< 10\"\n"
                               "    decision:\n"
                               "      breach: \">= 10\"\n"
                               "      ok: \"< 10\"\n";

static long get(const char *path, const char *token)
{
    char url[128], auth[128] = "";
    cr_assert_lt(
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fx.http_port, path),
        (int)sizeof(url));
    if (token)
        cr_assert_lt(
            snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token),
            (int)sizeof(auth));
    const char *headers[] = {auth, NULL};
    struct vigil_test_http r = {0};
    long status = vigil_test_http_request("GET", url, token ? headers : NULL,
                                          NULL, &r) == 0
                      ? r.status
                      : 0;
    vigil_test_http_free(&r);
    return status;
}

static size_t requests_to(const char *line)
{
    size_t n = 0, total = vigil_test_http_receiver_count(fx.recv);
    for (size_t i = 0; i < total; i++) {
        char *l = vigil_test_http_receiver_request_line(fx.recv, i);
        n += l && strcmp(l, line) == 0;
        free(l);
    }
    return n;
}

Test(security, no_secret_reaches_the_log_even_at_debug_level)
{
    free(vigil_test_write_file(fx.dir, "rules.yaml", rules_yaml));
    free(vigil_test_write_file(fx.dir, "kpi.yaml", kpi_yaml));
    const char *recv = vigil_test_http_receiver_url(fx.recv);
    char *cfg = NULL;
    cr_assert(asprintf(&cfg,
                       "kafka:\n"
                       "  brokers: \"%s\"\n"
                       "  topics: [\"" TOPIC "\"]\n"
                       "  group: \"vigil-security\"\n"
                       "  workers: 1\n"
                       "  properties:\n"
                       "    sasl.password: \"%s\"\n"
                       "redis:\n"
                       "  url: \"redis://:%s@127.0.0.1:%d\"\n"
                       "  namespace: \"t\"\n"
                       "  command_timeout: 1s\n"
                       "events:\n"
                       "  format: json\n"
                       "http:\n"
                       "  listen: \"127.0.0.1:%d\"\n"
                       "  read_token: \"%s\"\n"
                       "  admin_token: \"%s\"\n"
                       "rules: [\"rules.yaml\"]\n"
                       "indicators: [\"kpi.yaml\"]\n"
                       "notifiers:\n"
                       "  - name: hook\n"
                       "    type: webhook\n"
                       "    url: \"%s/hook\"\n"
                       "    headers:\n"
                       "      Authorization: \"Bearer %s\"\n"
                       "    timeout: 2s\n"
                       "  - name: pd\n"
                       "    type: pagerduty\n"
                       "    url: \"%s/pd\"\n"
                       "    routing_key: \"%s\"\n"
                       "    timeout: 2s\n"
                       "route:\n"
                       "  - notify: [hook, pd]\n",
                       vigil_test_kafka_bootstraps(fx.kafka), secrets[5],
                       secrets[0], vigil_test_redis_port(fx.redis),
                       fx.http_port, secrets[1], secrets[2], recv, secrets[3],
                       recv, secrets[4]) > 0);
    fx.cfg_path = vigil_test_write_file(fx.dir, "vigil.yaml", cfg);
    free(cfg);

    /* The first attempt of each notifier fails: retries are logged. */
    vigil_test_http_receiver_script(fx.recv, 500, 0, "no", 0);
    vigil_test_http_receiver_script(fx.recv, 503, 0, "no", 0);
    char *argv[] = {VIGILD_PATH,   "run",   "-c", fx.cfg_path,
                    "--log-level", "debug", NULL};
    fx.pid = vigil_test_spawn(argv, fx.log_path);
    cr_assert_gt(fx.pid, 0);
    for (int i = 0; i < 20; i++) {
        char ev[64];
        snprintf(ev, sizeof(ev), "{\"message\":\"login failed %d\"}", i);
        cr_assert_eq(vigil_test_kafka_produce(fx.kafka, TOPIC, i % 2, NULL, ev,
                                              strlen(ev)),
                     0);
    }
    /* The breach is paged through both notifiers, with their secrets. */
    for (int i = 0; i < 300 && (requests_to("POST /hook") < 2 ||
                                requests_to("POST /pd") < 2);
         i++)
        cr_assert_eq(vigil_test_wait(fx.pid, 100), -2);
    cr_assert_geq(requests_to("POST /hook"), 2, "webhook retried and sent");
    cr_assert_geq(requests_to("POST /pd"), 2, "pagerduty retried and sent");
    bool header_used = false;
    for (size_t i = 0; i < vigil_test_http_receiver_count(fx.recv); i++) {
        char *h = vigil_test_http_receiver_header(fx.recv, i, "authorization");
        header_used |= h && strstr(h, secrets[3]);
        free(h);
    }
    cr_assert(header_used, "the webhook's secret header was sent");

    /* Tokens: wrong, missing and right ones, read and admin. */
    cr_assert_eq(get("/api/v1/indicators", "wrong-token"), 401);
    cr_assert_eq(get("/api/v1/indicators", NULL), 401);
    cr_assert_eq(get("/api/v1/indicators", secrets[1]), 200);
    cr_assert_eq(get("/api/v1/indicators", secrets[2]), 200);

    /* A failed reload, and Redis dying and coming back. */
    free(vigil_test_write_file(fx.dir, "rules.yaml",
                               "pack: test\nrules:\n  - id: x\n"
                               "    match: '('\n"));
    kill(fx.pid, SIGHUP);
    cr_assert_eq(vigil_test_redis_kill(fx.redis), 0);
    cr_assert_eq(vigil_test_wait(fx.pid, 3000), -2);
    cr_assert_eq(vigil_test_redis_restart(fx.redis), 0);
    cr_assert_eq(vigil_test_wait(fx.pid, 2000), -2);

    kill(fx.pid, SIGTERM);
    cr_assert_eq(vigil_test_wait(fx.pid, 10000), 0);
    fx.pid = 0;
    char *log = vigil_test_read_file(fx.log_path, NULL);
    cr_assert_not_null(log);
    cr_assert_not_null(strstr(log, "reload failed"), "%s", log);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++)
        cr_assert_null(strstr(log, secrets[i]), "%s is in the log:\n%s",
                       secrets[i], log);
    free(log);
}
