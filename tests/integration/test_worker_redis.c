/*
 * The worker's Redis traffic (kafka_source.c): batches go over hiredis'
 * async API with one batch in flight while the next is built. These
 * tests stress what that adds to test_run.c's: NOSCRIPT in the middle of
 * a stream of pipelined batches, and the worker's idle-time report.
 * Real redis-server, librdkafka's mock cluster, vigild as a child.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"

#define TOPIC "events"
#define PARTITIONS 8
#define EVENTS 60000

static struct vigil_test_redis *redis;
static struct vigil_test_kafka *kafka;
static char *dir;
static char *cfg_path;
static char *log_path;
static redisContext *rc;

static const char rules_yaml[] =
    "pack: test\n"
    "rules:\n"
    "  - id: test.fail\n"
    "    title: login failure\n"
    "    severity: low\n"
    "    match: 'login failed user=(?<user>\\S+)'\n"
    "    count:\n"
    "      - counter: fails\n"
    "      - counter: fails_by_user\n"
    "        by: user\n";

static void setup(void)
{
    redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(redis);
    kafka = vigil_test_kafka_start(1, TOPIC, PARTITIONS);
    cr_assert_not_null(kafka);
    dir = vigil_test_tmpdir("vigil-wr");
    cr_assert_not_null(dir);
    free(vigil_test_write_file(dir, "rules.yaml", rules_yaml));
    char *cfg = NULL;
    cr_assert(asprintf(&cfg,
                       "kafka:\n"
                       "  brokers: \"%s\"\n"
                       "  topics: [\"" TOPIC "\"]\n"
                       "  group: \"wr\"\n"
                       "  workers: 1\n"
                       "  batch_events: 200\n"
                       "redis:\n"
                       "  url: \"%s\"\n"
                       "  namespace: \"wr\"\n"
                       "  command_timeout: 2s\n"
                       "events:\n"
                       "  format: json\n"
                       "http:\n"
                       "  listen: \"127.0.0.1:0\"\n"
                       "rules: [\"rules.yaml\"]\n",
                       vigil_test_kafka_bootstraps(kafka),
                       vigil_test_redis_url(redis)) > 0);
    cfg_path = vigil_test_write_file(dir, "vigil.yaml", cfg);
    free(cfg);
    cr_assert(asprintf(&log_path, "%s/vigild.log", dir) > 0);
    rc = vigil_test_redis_connect(redis, 5000);
    cr_assert_not_null(rc);
}

static void teardown(void)
{
    if (rc)
        redisFree(rc);
    vigil_test_kafka_stop(kafka);
    vigil_test_redis_stop(redis);
    vigil_test_rm_rf(dir);
    free(dir);
    free(cfg_path);
    free(log_path);
}

TestSuite(worker_redis, .init = setup, .fini = teardown, .timeout = 200);

/* Produces EVENTS events, every second one a failure of user u<i % 10>. */
static long long produce(long long by_user[10])
{
    struct vigil_test_kafka_msg *msgs = calloc(EVENTS, sizeof(*msgs));
    char **bufs = calloc(EVENTS, sizeof(*bufs));
    long long fails = 0;
    for (size_t i = 0; i < EVENTS; i++) {
        if (i % 2 == 0) {
            cr_assert(asprintf(&bufs[i],
                               "{\"message\":\"login failed user=u%zu\"}",
                               i % 10) > 0);
            fails++;
            by_user[i % 10]++;
        } else {
            cr_assert(asprintf(&bufs[i], "{\"message\":\"login ok\"}") > 0);
        }
        msgs[i] = (struct vigil_test_kafka_msg){.partition =
                                                    (int32_t)(i % PARTITIONS),
                                                .payload = bufs[i],
                                                .len = strlen(bufs[i])};
    }
    cr_assert_eq(vigil_test_kafka_produce_batch(kafka, TOPIC, msgs, EVENTS), 0);
    for (size_t i = 0; i < EVENTS; i++)
        free(bufs[i]);
    free(bufs);
    free(msgs);
    return fails;
}

static long long ll(redisReply *r)
{
    long long v = 0;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return v;
}

static long long stored_offsets(void)
{
    redisReply *r = redisCommand(rc, "HVALS vigil:{wr}:offsets:wr");
    long long sum = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++)
        sum += strtoll(r->element[i]->str, NULL, 10);
    freeReplyObject(r);
    return sum;
}

/* Sum over the keys matching pattern of GET, or of HGET field. */
static long long sum_keys(const char *pattern, const char *field)
{
    redisReply *keys = redisCommand(rc, "KEYS %s", pattern);
    cr_assert(keys && keys->type == REDIS_REPLY_ARRAY);
    long long sum = 0;
    for (size_t i = 0; i < keys->elements; i++)
        sum += field ? ll(redisCommand(rc, "HGET %s %s", keys->element[i]->str,
                                       field))
                     : ll(redisCommand(rc, "GET %s", keys->element[i]->str));
    freeReplyObject(keys);
    return sum;
}

Test(worker_redis, reloads_the_script_after_script_flush_mid_stream)
{
    long long by_user[10] = {0};
    long long fails = produce(by_user);
    char *argv[] = {VIGILD_PATH, "run", "-c", cfg_path, NULL};
    pid_t pid = vigil_test_spawn(argv, log_path);
    cr_assert_gt(pid, 0);
    /* Flush the script cache again and again while batches of 200 are
     * in flight: every NOSCRIPT must load it and send the batch again. */
    int flushes_while_moving = 0;
    for (int i = 0; i < 1500 && stored_offsets() < EVENTS; i++) {
        long long before = stored_offsets();
        freeReplyObject(redisCommand(rc, "SCRIPT FLUSH"));
        cr_assert_eq(vigil_test_wait(pid, 20), -2, "vigild exited; see %s",
                     log_path);
        if (before > 0 && stored_offsets() > before)
            flushes_while_moving++;
    }
    cr_assert_eq(stored_offsets(), EVENTS);
    cr_assert_gt(flushes_while_moving, 3, "the flushes missed the stream");
    kill(pid, SIGTERM);
    cr_assert_eq(vigil_test_wait(pid, 10000), 0);

    cr_assert_eq(sum_keys("vigil:{wr}:c:fails:*", NULL), fails);
    for (int u = 0; u < 10; u++) {
        char f[8];
        snprintf(f, sizeof(f), "u%d", u);
        cr_assert_eq(sum_keys("vigil:{wr}:c:fails_by_user:*", f), by_user[u],
                     "user %s", f);
    }
    char *log = vigil_test_read_file(log_path, NULL);
    cr_assert(log && strstr(log, "(NOSCRIPT); loaded it again"), "%s",
              log ? log : "");
    /* The worker reports where its time went when it stops. */
    cr_assert(strstr(log, "worker 0: idle "), "%s", log);
    free(log);
}
