/*
 * Paging end to end: three `vigild run` processes in one consumer group
 * evaluate the same indicator from the same counters and deliver the
 * same outbox to a PagerDuty notifier (a loopback receiver). Every
 * transition pages once; a page held by a daemon killed with kill -9 is
 * delivered by another one.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_receiver.h"
#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"

#define TOPIC "events"
#define PARTITIONS 6
#define DAEMONS 3

static struct {
    struct vigil_test_redis *redis;
    struct vigil_test_kafka *kafka;
    struct vigil_test_http_receiver *recv;
    redisContext *rc;
    char *dir;
    char *cfg_path;
    pid_t pids[DAEMONS];
} fx;

static const char rules_yaml[] =
    "pack: test\n"
    "rules:\n"
    "  - id: test.fail\n"
    "    title: login failure\n"
    "    severity: low\n"
    "    match: 'login failed user=(?<user>\\S+)'\n"
    "    count:\n"
    "      - counter: fails\n";

/* In breach while 300 or more failures fall in the last 20 s. */
static const char kpi_yaml[] = "indicators:\n"
                               "  - id: KPI-E2E-01\n"
                               "    name: Login failures\n"
                               "    information_need: Are logins failing?\n"
                               "    kind: effectiveness\n"
                               "    entity: Test hosts\n"
                               "    owner: soc\n"
                               "    data_source: events\n"
                               "    frequency: 1s\n"
                               "    value: count(fails, 20s)\n"
                               "    unit: failures per 20 s\n"
                               "    target: \"< 300\"\n"
                               "    decision:\n"
                               "      breach: \">= 300\"\n"
                               "      ok: \"< 300\"\n";

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.kafka = vigil_test_kafka_start(1, TOPIC, PARTITIONS);
    cr_assert_not_null(fx.kafka);
    fx.recv = vigil_test_http_receiver_start();
    cr_assert_not_null(fx.recv);
    fx.rc = vigil_test_redis_connect(fx.redis, 5000);
    cr_assert_not_null(fx.rc);
    fx.dir = vigil_test_tmpdir("vigil-paging");
    cr_assert_not_null(fx.dir);
    free(vigil_test_write_file(fx.dir, "rules.yaml", rules_yaml));
    free(vigil_test_write_file(fx.dir, "kpi.yaml", kpi_yaml));
    char *cfg = NULL;
    cr_assert(asprintf(&cfg,
                       "kafka:\n"
                       "  brokers: \"%s\"\n"
                       "  topics: [\"" TOPIC "\"]\n"
                       "  group: \"vigil-e2e\"\n"
                       "  workers: 1\n"
                       "  batch_events: 200\n"
                       "  properties:\n"
                       "    session.timeout.ms: \"3000\"\n"
                       "    heartbeat.interval.ms: \"300\"\n"
                       "redis:\n"
                       "  url: \"%s\"\n"
                       "  namespace: \"e2e\"\n"
                       "events:\n"
                       "  format: json\n"
                       "  resolution: 1s\n"
                       "http:\n"
                       "  listen: \"127.0.0.1:0\"\n"
                       "rules: [\"rules.yaml\"]\n"
                       "indicators: [\"kpi.yaml\"]\n"
                       "notifiers:\n"
                       "  - name: pd\n"
                       "    type: pagerduty\n"
                       "    url: \"%s/v2/enqueue\"\n"
                       "    routing_key: R0UT1NG\n"
                       "route:\n"
                       "  - notify: [pd]\n",
                       vigil_test_kafka_bootstraps(fx.kafka),
                       vigil_test_redis_url(fx.redis),
                       vigil_test_http_receiver_url(fx.recv)) > 0);
    fx.cfg_path = vigil_test_write_file(fx.dir, "vigil.yaml", cfg);
    free(cfg);
}

static void teardown(void)
{
    for (int i = 0; i < DAEMONS; i++) {
        if (fx.pids[i] > 0) {
            kill(fx.pids[i], SIGKILL);
            vigil_test_wait(fx.pids[i], 5000);
        }
    }
    if (fx.rc)
        redisFree(fx.rc);
    vigil_test_http_receiver_stop(fx.recv);
    vigil_test_kafka_stop(fx.kafka);
    vigil_test_redis_stop(fx.redis);
    if (fx.dir && getenv("VIGIL_TEST_SHOW_LOG")) {
        for (int i = 0; i < DAEMONS; i++) {
            char *path = NULL, *log = NULL;
            if (asprintf(&path, "%s/vigild-%d.log", fx.dir, i) > 0)
                log = vigil_test_read_file(path, NULL);
            fprintf(stderr, "== vigild %d\n%s", i, log ? log : "");
            free(log);
            free(path);
        }
    }
    if (fx.dir)
        vigil_test_rm_rf(fx.dir);
    free(fx.dir);
    free(fx.cfg_path);
}

TestSuite(paging_e2e, .init = setup, .fini = teardown, .timeout = 180);

static bool daemons_alive(int ms);

/* Starts the daemons and waits until each holds partitions (bounded). */
static void start_daemons(void)
{
    char *logs[DAEMONS];
    for (int i = 0; i < DAEMONS; i++) {
        cr_assert(asprintf(&logs[i], "%s/vigild-%d.log", fx.dir, i) > 0);
        char *argv[] = {VIGILD_PATH, "run", "-c", fx.cfg_path, NULL};
        fx.pids[i] = vigil_test_spawn(argv, logs[i]);
        cr_assert_gt(fx.pids[i], 0);
    }
    int assigned = 0;
    for (int t = 0; t < 300 && assigned < DAEMONS; t++) {
        assigned = 0;
        for (int i = 0; i < DAEMONS; i++) {
            char *log = vigil_test_read_file(logs[i], NULL);
            assigned += log && strstr(log, "assigned") != NULL;
            free(log);
        }
        if (assigned < DAEMONS)
            cr_assert(daemons_alive(100), "a vigild exited");
    }
    cr_assert_eq(assigned, DAEMONS, "not every daemon got partitions");
    for (int i = 0; i < DAEMONS; i++)
        free(logs[i]);
}

/* n login failures now, spread over the partitions. */
static void produce_failures(size_t n)
{
    struct vigil_test_kafka_msg *msgs = calloc(n, sizeof(*msgs));
    char **bufs = calloc(n, sizeof(*bufs));
    cr_assert(msgs && bufs);
    for (size_t i = 0; i < n; i++) {
        cr_assert(asprintf(&bufs[i], "{\"message\":\"login failed user=u%zu\"}",
                           i % 40) > 0);
        msgs[i] = (struct vigil_test_kafka_msg){
            .partition = (int32_t)(i % PARTITIONS),
            .payload = bufs[i],
            .len = strlen(bufs[i]),
        };
    }
    cr_assert_eq(vigil_test_kafka_produce_batch(fx.kafka, TOPIC, msgs, n), 0);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(msgs);
}

static long long redis_int(const char *cmd)
{
    redisReply *r = redisCommand(fx.rc, cmd);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* Entries of the outbox not yet acked by any pager (0 without a group). */
static long long outbox_pending(void)
{
    redisReply *r =
        redisCommand(fx.rc, "XPENDING vigil:{e2e}:outbox notifiers");
    long long v = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER)
        v = r->element[0]->integer;
    freeReplyObject(r);
    return v;
}

/* Undelivered entries: pending, or not yet read by the group. */
static bool outbox_delivered(long long entries)
{
    redisReply *r = redisCommand(fx.rc, "XINFO GROUPS vigil:{e2e}:outbox");
    bool read_all = false;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        const redisReply *g = r->element[0];
        for (size_t i = 0; i + 1 < g->elements; i += 2)
            if (strcmp(g->element[i]->str, "last-delivered-id") == 0) {
                redisReply *last =
                    redisCommand(fx.rc, "XREVRANGE vigil:{e2e}:outbox + - "
                                        "COUNT 1");
                read_all = last && last->type == REDIS_REPLY_ARRAY &&
                           last->elements == 1 &&
                           strcmp(last->element[0]->element[0]->str,
                                  g->element[i + 1]->str) == 0;
                freeReplyObject(last);
            }
    }
    freeReplyObject(r);
    return read_all && outbox_pending() == 0 &&
           redis_int("XLEN vigil:{e2e}:outbox") == entries;
}

/* Sleeps in steps while watching the daemons; false when one exited. */
static bool daemons_alive(int ms)
{
    for (int i = 0; i < DAEMONS; i++) {
        if (fx.pids[i] > 0 && vigil_test_wait(fx.pids[i], ms / DAEMONS) != -2) {
            fx.pids[i] = 0;
            return false;
        }
    }
    return true;
}

static cJSON *request_json(size_t i)
{
    char *body = vigil_test_http_receiver_body(fx.recv, i);
    cr_assert_not_null(body);
    cJSON *j = cJSON_Parse(body);
    cr_assert_not_null(j, "not JSON: %s", body);
    free(body);
    return j;
}

static const char *field(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    cr_assert(cJSON_IsString(v), "no %s", name);
    return v->valuestring;
}

Test(paging_e2e, three_daemons_page_each_transition_once)
{
    start_daemons();
    produce_failures(400);
    /* Breach, then recovery once the failures leave the 20 s window: a
     * trigger and a resolve in the outbox, both delivered. */
    bool done = false;
    for (int i = 0; i < 600 && !done; i++) {
        done = redis_int("XLEN vigil:{e2e}:outbox") >= 2 &&
               outbox_delivered(2) &&
               vigil_test_http_receiver_count(fx.recv) >= 2;
        if (!done)
            cr_assert(daemons_alive(100), "a vigild exited");
    }
    cr_assert(done, "no trigger and resolve delivered; outbox %lld, sent %zu",
              redis_int("XLEN vigil:{e2e}:outbox"),
              vigil_test_http_receiver_count(fx.recv));
    cr_assert_eq(redis_int("XLEN vigil:{e2e}:outbox"), 2,
                 "one outbox entry per transition");
    cr_assert_eq(vigil_test_http_receiver_count(fx.recv), 2,
                 "one page per transition, whichever daemon sends it");
    cJSON *t = request_json(0), *r = request_json(1);
    cr_expect_str_eq(field(t, "event_action"), "trigger");
    cr_expect_str_eq(field(r, "event_action"), "resolve");
    cr_expect_str_eq(field(t, "dedup_key"), field(r, "dedup_key"));
    cr_expect_eq(strncmp(field(t, "dedup_key"), "KPI-E2E-01:", 11), 0);
    cJSON_Delete(t);
    cJSON_Delete(r);
}

Test(paging_e2e, a_page_held_by_a_killed_daemon_is_delivered_by_another)
{
    /* The first delivery gets no answer for 4 s: its daemon is killed
     * meanwhile, holding the entry. */
    vigil_test_http_receiver_script(fx.recv, 0, 0, NULL, 4000);
    start_daemons();
    produce_failures(400);
    for (int i = 0; i < 600 && vigil_test_http_receiver_count(fx.recv) == 0;
         i++)
        cr_assert(daemons_alive(100), "a vigild exited");
    cr_assert_eq(vigil_test_http_receiver_count(fx.recv), 1);

    /* The holder is the consumer with the pending entry: "<host>:<pid>". */
    redisReply *p =
        redisCommand(fx.rc, "XPENDING vigil:{e2e}:outbox notifiers - + 10");
    cr_assert(p && p->type == REDIS_REPLY_ARRAY && p->elements == 1,
              "one pending entry");
    const char *consumer = p->element[0]->element[1]->str;
    const char *colon = strrchr(consumer, ':');
    cr_assert_not_null(colon, "%s", consumer);
    pid_t holder = (pid_t)strtol(colon + 1, NULL, 10);
    freeReplyObject(p);
    int k = -1;
    for (int i = 0; i < DAEMONS; i++)
        if (fx.pids[i] == holder)
            k = i;
    cr_assert_geq(k, 0, "pending on %s, not one of ours", consumer);
    kill(holder, SIGKILL);
    vigil_test_wait(holder, 5000);
    fx.pids[k] = 0;

    /* Another daemon takes the entry over once the lease ran out and the
     * receiver accepts it; the resolve follows. */
    bool done = false;
    for (int i = 0; i < 900 && !done; i++) {
        done = outbox_delivered(2);
        if (!done)
            cr_assert(daemons_alive(100), "a vigild exited");
    }
    cr_assert(done, "outbox not delivered: %lld entries, %lld pending",
              redis_int("XLEN vigil:{e2e}:outbox"), outbox_pending());
    size_t n = vigil_test_http_receiver_count(fx.recv);
    cr_assert_eq(n, 3, "the unanswered trigger, its redelivery, the resolve");
    int accepted_triggers = 0, accepted_resolves = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *j = request_json(i);
        bool ok = vigil_test_http_receiver_status(fx.recv, i) == 202;
        if (ok && strcmp(field(j, "event_action"), "trigger") == 0)
            accepted_triggers++;
        if (ok && strcmp(field(j, "event_action"), "resolve") == 0)
            accepted_resolves++;
        cJSON_Delete(j);
    }
    cr_expect_eq(vigil_test_http_receiver_status(fx.recv, 0), 0,
                 "the first delivery was never answered");
    cr_expect_eq(accepted_triggers, 1, "one trigger accepted");
    cr_expect_eq(accepted_resolves, 1, "one resolve accepted");
}
