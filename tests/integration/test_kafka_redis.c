/*
 * The real-component harness end to end: a real redis-server and
 * librdkafka's mock cluster over TCP, real producers and consumer groups.
 * Everything a test starts lives in `fx` so that .fini tears it down also
 * when an assertion fails half-way.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"

#define TOPIC "security-events"
#define PARTITIONS 4
#define EVENTS 1000
#define POLL_MS 50
/* Waits are bounded by counting polls that returned nothing: 600 x 50 ms. */
#define MAX_IDLE_POLLS 600
#define KAFKA_API_PRODUCE 0

/* Criterion tests take no arguments: the fixture is file-scoped. */
static struct {
    struct vigil_test_redis *redis;
    struct vigil_test_kafka *kafka;
    redisContext *rc;
    rd_kafka_t *consumers[2];
} fx;

static void start_redis(void)
{
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis, "redis-server did not start");
    fx.rc = vigil_test_redis_connect(fx.redis, 0);
    cr_assert_not_null(fx.rc);
}

static void start_both(void)
{
    start_redis();
    fx.kafka = vigil_test_kafka_start(3, TOPIC, PARTITIONS);
    cr_assert_not_null(fx.kafka, "mock cluster did not start");
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++) {
        if (!fx.consumers[i])
            continue;
        rd_kafka_consumer_close(fx.consumers[i]);
        rd_kafka_destroy(fx.consumers[i]);
        fx.consumers[i] = NULL;
    }
    vigil_test_kafka_stop(fx.kafka);
    fx.kafka = NULL;
    if (fx.rc)
        redisFree(fx.rc);
    fx.rc = NULL;
    vigil_test_redis_stop(fx.redis);
    fx.redis = NULL;
}

static rd_kafka_t *subscribed_consumer(const char *group)
{
    rd_kafka_conf_t *conf = vigil_test_kafka_consumer_conf(fx.kafka, group);
    cr_assert_not_null(conf);
    char errstr[256];
    rd_kafka_t *c =
        rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    cr_assert_not_null(c, "rd_kafka_new: %s", errstr);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, TOPIC, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    cr_assert_eq(err, RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe: %s",
                 rd_kafka_err2str(err));
    return c;
}

/* The simple condition of the demo: a failed authentication. */
static bool is_failure(const void *payload, size_t len)
{
    static const char needle[] = "\"outcome\":\"failure\"";
    return payload && memmem(payload, len, needle, sizeof(needle) - 1);
}

/* Event n, as a SIEM would forward it; every third one is a failure. */
static size_t format_event(char *buf, size_t cap, int n)
{
    int w = snprintf(buf, cap,
                     "{\"@timestamp\":\"2024-02-25T14:34:%02d.000Z\","
                     "\"n\":%d,\"host\":{\"name\":\"bastion-%d\"},"
                     "\"event\":{\"outcome\":\"%s\"},"
                     "\"message\":\"sshd[%d]: %s password for root\"}",
                     n % 60, n, n % 10, n % 3 == 0 ? "failure" : "success",
                     1000 + n, n % 3 == 0 ? "Failed" : "Accepted");
    cr_assert(w > 0 && (size_t)w < cap);
    return (size_t)w;
}

static long long redis_incrby(const char *key, long long by)
{
    redisReply *r = redisCommand(fx.rc, "INCRBY %s %lld", key, by);
    cr_assert_not_null(r, "INCRBY: %s", fx.rc->errstr);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static long long redis_get_int(const char *key)
{
    redisReply *r = redisCommand(fx.rc, "GET %s", key);
    cr_assert_not_null(r, "GET: %s", fx.rc->errstr);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "GET %s: reply type %d", key,
                 r->type);
    char *end = NULL;
    long long v = strtoll(r->str, &end, 10);
    cr_assert(end && *end == '\0', "GET %s: not an integer: %s", key, r->str);
    freeReplyObject(r);
    return v;
}

TestSuite(kafka_redis, .init = start_both, .fini = teardown, .timeout = 60);

Test(kafka_redis, counts_matching_events_from_a_consumer_group_into_redis)
{
    static char bufs[EVENTS][256];
    static struct vigil_test_kafka_msg msgs[EVENTS];
    static const char *keys[10] = {
        "bastion-0", "bastion-1", "bastion-2", "bastion-3", "bastion-4",
        "bastion-5", "bastion-6", "bastion-7", "bastion-8", "bastion-9"};
    long long expected = 0;
    for (int i = 0; i < EVENTS; i++) {
        size_t len = format_event(bufs[i], sizeof(bufs[i]), i);
        msgs[i] = (struct vigil_test_kafka_msg){
            .partition = i % PARTITIONS,
            .key = keys[i % 10],
            .payload = bufs[i],
            .len = len,
        };
        expected += i % 3 == 0;
    }
    cr_assert_eq(vigil_test_kafka_produce_batch(fx.kafka, TOPIC, msgs, EVENTS),
                 0);

    fx.consumers[0] = subscribed_consumer("vigil-test-demo");
    const char *key = "vigil:{test}:c:demo:0";
    static bool seen[PARTITIONS][EVENTS];
    int received = 0, per_partition[PARTITIONS] = {0};
    long long pending = 0, stored = 0;
    for (int idle = 0; received < EVENTS && idle < MAX_IDLE_POLLS;) {
        rd_kafka_message_t *m =
            rd_kafka_consumer_poll(fx.consumers[0], POLL_MS);
        if (!m) {
            idle++;
            continue;
        }
        if (m->err) {
            idle++;
            /* Informational (e.g. partition EOF); the loop bound catches
             * a consumer that never gets anything. */
            cr_log_info("consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        cr_assert(m->partition >= 0 && m->partition < PARTITIONS);
        cr_assert(m->offset >= 0 && m->offset < EVENTS);
        cr_assert_not(seen[m->partition][m->offset],
                      "duplicate delivery of %d@%lld", (int)m->partition,
                      (long long)m->offset);
        seen[m->partition][m->offset] = true;
        per_partition[m->partition]++;
        received++;
        pending += is_failure(m->payload, m->len);
        rd_kafka_message_destroy(m);
        /* Counters are flushed in batches, as the daemon's workers do. */
        if (pending >= 100 || (received == EVENTS && pending > 0)) {
            stored = redis_incrby(key, pending);
            pending = 0;
        }
    }
    cr_assert_eq(received, EVENTS, "consumed %d of %d events", received,
                 EVENTS);
    for (int p = 0; p < PARTITIONS; p++)
        cr_assert_eq(per_partition[p], EVENTS / PARTITIONS,
                     "partition %d: %d events", p, per_partition[p]);
    cr_assert_eq(stored, expected);
    cr_assert_eq(redis_get_int(key), expected);
}

/* The partitions c owns right now, as a bit set; 0 while it has none. */
static unsigned assigned_partitions(rd_kafka_t *c)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(c, &a);
    cr_assert_eq(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    unsigned bits = 0;
    for (int i = 0; i < a->cnt; i++) {
        cr_assert_str_eq(a->elems[i].topic, TOPIC);
        cr_assert(a->elems[i].partition >= 0 &&
                  a->elems[i].partition < PARTITIONS);
        bits |= 1u << a->elems[i].partition;
    }
    rd_kafka_topic_partition_list_destroy(a);
    return bits;
}

Test(kafka_redis, two_consumers_in_one_group_share_the_partitions)
{
    /*
     * Both join before the group's first rebalance is decided, so one
     * rebalance hands out all the partitions.
     */
    fx.consumers[0] = subscribed_consumer("vigil-test-shared");
    fx.consumers[1] = subscribed_consumer("vigil-test-shared");

    unsigned owned[2] = {0, 0};
    int got[2] = {0, 0}, received = 0;
    const int want = 40;
    bool produced = false;
    /* Each round polls both for up to 50 ms together; at most `want`
     * rounds return early with a message. */
    for (int round = 0; received < want && round < MAX_IDLE_POLLS; round++) {
        for (int i = 0; i < 2; i++) {
            rd_kafka_message_t *m =
                rd_kafka_consumer_poll(fx.consumers[i], POLL_MS / 2);
            owned[i] = assigned_partitions(fx.consumers[i]);
            if (!m)
                continue;
            if (!m->err) {
                cr_assert(owned[i] & (1u << m->partition),
                          "consumer %d got partition %d it does not own", i,
                          (int)m->partition);
                got[i]++;
                received++;
            }
            rd_kafka_message_destroy(m);
        }
        if (!produced && owned[0] && owned[1]) {
            /* Assigned: now each partition gets want/PARTITIONS events. */
            for (int n = 0; n < want; n++) {
                char ev[256];
                size_t len = format_event(ev, sizeof(ev), n);
                cr_assert_eq(vigil_test_kafka_produce(fx.kafka, TOPIC,
                                                      n % PARTITIONS, NULL, ev,
                                                      len),
                             0);
            }
            produced = true;
        }
    }
    cr_assert(owned[0] != 0 && owned[1] != 0,
              "assignments: consumer 0 %#x, consumer 1 %#x", owned[0],
              owned[1]);
    cr_assert_eq(owned[0] & owned[1], 0u, "a partition is owned twice");
    cr_assert_eq(owned[0] | owned[1], (1u << PARTITIONS) - 1,
                 "not every partition is owned: %#x", owned[0] | owned[1]);
    cr_assert_eq(received, want);
    cr_assert(got[0] > 0 && got[1] > 0, "consumer 0 got %d, consumer 1 %d",
              got[0], got[1]);
}

/* The helpers themselves, against the same real components. */
TestSuite(redis_server, .fini = teardown, .timeout = 60);

static void set_key(const char *key, const char *value)
{
    redisReply *r = redisCommand(fx.rc, "SET %s %s", key, value);
    cr_assert_not_null(r, "SET: %s", fx.rc->errstr);
    cr_assert_eq(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

Test(redis_server, answers_on_its_url_and_stop_removes_its_folder)
{
    start_redis();
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0",
             vigil_test_redis_port(fx.redis));
    cr_assert_str_eq(vigil_test_redis_url(fx.redis), url);
    set_key("k", "v");
    char *dir = strdup(vigil_test_redis_dir(fx.redis));
    struct stat st;
    cr_assert_eq(stat(dir, &st), 0);
    redisFree(fx.rc);
    fx.rc = NULL;
    cr_assert_eq(vigil_test_redis_stop(fx.redis), 0);
    fx.redis = NULL;
    cr_assert_neq(stat(dir, &st), 0, "%s still exists", dir);
    free(dir);
}

Test(redis_server, keeps_aof_data_across_kill_and_restart)
{
    struct vigil_test_redis_options opts = {.aof = true};
    fx.redis = vigil_test_redis_start(&opts);
    cr_assert_not_null(fx.redis);
    fx.rc = vigil_test_redis_connect(fx.redis, 0);
    cr_assert_not_null(fx.rc);
    int port = vigil_test_redis_port(fx.redis);
    set_key("survivor", "42");
    redisFree(fx.rc);
    fx.rc = NULL;

    cr_assert_eq(vigil_test_redis_kill(fx.redis), 0);
    cr_assert_not(vigil_test_redis_is_running(fx.redis));
    cr_assert_eq(vigil_test_redis_restart(fx.redis), 0);
    cr_assert_eq(vigil_test_redis_port(fx.redis), port);
    fx.rc = vigil_test_redis_connect(fx.redis, 0);
    cr_assert_not_null(fx.rc);
    cr_assert_eq(redis_get_int("survivor"), 42);
}

Test(redis_server, loses_data_on_kill_without_aof)
{
    start_redis();
    set_key("ghost", "1");
    redisFree(fx.rc);
    fx.rc = NULL;
    cr_assert_eq(vigil_test_redis_kill(fx.redis), 0);
    cr_assert_eq(vigil_test_redis_restart(fx.redis), 0);
    fx.rc = vigil_test_redis_connect(fx.redis, 0);
    cr_assert_not_null(fx.rc);
    redisReply *r = redisCommand(fx.rc, "EXISTS ghost");
    cr_assert_not_null(r);
    cr_assert_eq(r->integer, 0);
    freeReplyObject(r);
}

Test(redis_server, paused_server_times_out_commands_until_resumed)
{
    start_redis();
    redisFree(fx.rc);
    fx.rc = vigil_test_redis_connect(fx.redis, 200);
    cr_assert_not_null(fx.rc);
    cr_assert_eq(vigil_test_redis_pause(fx.redis), 0);
    redisReply *r = redisCommand(fx.rc, "PING");
    cr_assert_null(r, "a paused redis-server answered");
    cr_assert_eq(fx.rc->err, REDIS_ERR_IO);
    redisFree(fx.rc);
    fx.rc = NULL;

    cr_assert_eq(vigil_test_redis_resume(fx.redis), 0);
    fx.rc = vigil_test_redis_connect(fx.redis, 0);
    cr_assert_not_null(fx.rc);
    r = redisCommand(fx.rc, "PING");
    cr_assert_not_null(r);
    cr_assert_str_eq(r->str, "PONG");
    freeReplyObject(r);
}

Test(redis_server, requires_the_password_it_was_started_with)
{
    struct vigil_test_redis_options opts = {.password = "s3cret"};
    fx.redis = vigil_test_redis_start(&opts);
    cr_assert_not_null(fx.redis);
    fx.rc = vigil_test_redis_connect(fx.redis, 0);
    cr_assert_not_null(fx.rc);
    set_key("k", "1");
    redisFree(fx.rc);

    struct timeval tv = {.tv_sec = 2};
    fx.rc = redisConnectWithTimeout("127.0.0.1",
                                    vigil_test_redis_port(fx.redis), tv);
    cr_assert_not_null(fx.rc);
    cr_assert_eq(fx.rc->err, 0);
    redisReply *r = redisCommand(fx.rc, "GET k");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strncmp(r->str, "NOAUTH", 6) == 0, "%s", r->str);
    freeReplyObject(r);
}

/* True once pid is gone or a zombie nobody reaped yet: not running. */
static bool process_is_dead(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *stat = vigil_test_read_file(path, NULL);
    if (!stat)
        return true;
    /* "pid (comm) S ...": the state follows the last ')'. */
    const char *paren = strrchr(stat, ')');
    bool dead =
        paren && (paren[1] == ' ') && (paren[2] == 'Z' || paren[2] == 'X');
    free(stat);
    return dead;
}

Test(redis_server, dies_with_the_process_that_started_it)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        /* A test that crashes before its .fini. */
        close(p[0]);
        struct vigil_test_redis *r = vigil_test_redis_start(NULL);
        char line[4200];
        int n = snprintf(line, sizeof(line), "%d %s\n",
                         r ? (int)vigil_test_redis_pid(r) : -1,
                         r ? vigil_test_redis_dir(r) : "-");
        if (write(p[1], line, (size_t)n) != n)
            _exit(1);
        raise(SIGKILL);
    }
    close(p[1]);
    char line[4200] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(line) - 1 &&
           (r = read(p[0], line + got, sizeof(line) - 1 - got)) > 0)
        got += (size_t)r;
    close(p[0]);
    waitpid(child, NULL, 0);
    char *dir = strchr(line, ' ');
    cr_assert_not_null(dir, "no report from the child: '%s'", line);
    *dir++ = '\0';
    dir[strcspn(dir, "\n")] = '\0';
    char *end = NULL;
    long pid = strtol(line, &end, 10);
    cr_assert(end && *end == '\0' && pid > 0, "redis did not start");
    /* The kernel delivers the SIGKILL at once; allow it 5 s to land. */
    bool dead = false;
    for (int i = 0; i < 500 && !dead; i++) {
        dead = process_is_dead((pid_t)pid);
        if (!dead)
            poll(NULL, 0, 10);
    }
    vigil_test_rm_rf(dir);
    cr_assert(dead, "redis-server %ld outlived the process that started it",
              pid);
}

TestSuite(kafka_cluster, .fini = teardown, .timeout = 60);

Test(kafka_cluster, produce_reports_an_injected_broker_error)
{
    fx.kafka = vigil_test_kafka_start(1, TOPIC, 1);
    cr_assert_not_null(fx.kafka);
    const char ok[] = "{\"n\":1}";
    cr_assert_eq(
        vigil_test_kafka_produce(fx.kafka, TOPIC, 0, NULL, ok, sizeof(ok) - 1),
        0);
    /* A non-retriable error: the producer gives up on the message. */
    rd_kafka_mock_push_request_errors(vigil_test_kafka_mock(fx.kafka),
                                      KAFKA_API_PRODUCE, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    cr_assert_eq(
        vigil_test_kafka_produce(fx.kafka, TOPIC, 0, NULL, ok, sizeof(ok) - 1),
        -1);
    /* The error was used up: the next message goes through again. */
    cr_assert_eq(
        vigil_test_kafka_produce(fx.kafka, TOPIC, 0, NULL, ok, sizeof(ok) - 1),
        0);
}

Test(kafka_cluster, creates_more_topics_with_their_partition_count)
{
    fx.kafka = vigil_test_kafka_start(2, NULL, 0);
    cr_assert_not_null(fx.kafka);
    cr_assert_eq(vigil_test_kafka_create_topic(fx.kafka, "dlq", 3), 0);
    const char ev[] = "x";
    cr_assert_eq(vigil_test_kafka_produce(fx.kafka, "dlq", 2, "k", ev, 1), 0);
    /* Partition 3 does not exist in a 3-partition topic. */
    cr_assert_eq(vigil_test_kafka_produce(fx.kafka, "dlq", 3, "k", ev, 1), -1);
    cr_assert(
        strncmp(vigil_test_kafka_bootstraps(fx.kafka), "127.0.0.1:", 10) == 0,
        "%s", vigil_test_kafka_bootstraps(fx.kafka));
}
