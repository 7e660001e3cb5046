/*
 * vigild run end to end: a real redis-server, librdkafka's mock cluster
 * over TCP, and the vigild binary as a child process. Counts must be
 * exact, whatever happens to the daemon.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"

#define TOPIC "events"
#define PARTITIONS 8
#define SOURCES 7

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
    "    match: 'login failed user=(?<user>\\S+) src=(?<src>\\S+)'\n"
    "    count:\n"
    "      - counter: fails\n"
    "      - counter: fails_by_src\n"
    "        by: src\n"
    "      - counter: failed_users\n"
    "        distinct: user\n";

/* Breaches once a thousand failures were counted in the last hour. */
static const char kpi_yaml[] = "indicators:\n"
                               "  - id: KPI-TEST-01\n"
                               "    name: Login failures\n"
                               "    information_need: Are logins failing?\n"
                               "    kind: effectiveness\n"
                               "    entity: Test hosts\n"
                               "    owner: soc\n"
                               "    data_source: events\n"
                               "    frequency: 1s\n"
                               "    value: count(fails, 1h)\n"
                               "    unit: failures per hour\n"
                               "    target: \"< 1000\"\n"
                               "    decision:\n"
                               "      breach: \">= 1000\"\n"
                               "      ok: \"< 1000\"\n";

static void write_config(const char *extra_kafka)
{
    char *cfg = NULL;
    cr_assert(asprintf(&cfg,
                       "kafka:\n"
                       "  brokers: \"%s\"\n"
                       "  topics: [\"" TOPIC "\"]\n"
                       "  group: \"vigil-test\"\n"
                       "  workers: 2\n"
                       "  batch_events: 500\n"
                       "%s"
                       "  properties:\n"
                       "    session.timeout.ms: \"3000\"\n"
                       "    heartbeat.interval.ms: \"300\"\n"
                       "    max.poll.interval.ms: \"10000\"\n"
                       "redis:\n"
                       "  url: \"%s\"\n"
                       "  namespace: \"t\"\n"
                       "  command_timeout: 1s\n"
                       "events:\n"
                       "  format: json\n"
                       "http:\n"
                       "  listen: \"127.0.0.1:0\"\n"
                       "rules: [\"rules.yaml\"]\n"
                       "indicators: [\"kpi.yaml\"]\n",
                       vigil_test_kafka_bootstraps(kafka), extra_kafka,
                       vigil_test_redis_url(redis)) > 0);
    free(cfg_path);
    cfg_path = vigil_test_write_file(dir, "vigil.yaml", cfg);
    free(cfg);
}

static void setup(void)
{
    redis =
        vigil_test_redis_start(&(struct vigil_test_redis_options){.aof = true});
    cr_assert_not_null(redis);
    kafka = vigil_test_kafka_start(1, TOPIC, PARTITIONS);
    cr_assert_not_null(kafka);
    dir = vigil_test_tmpdir("vigil-run");
    cr_assert_not_null(dir);
    free(vigil_test_write_file(dir, "rules.yaml", rules_yaml));
    free(vigil_test_write_file(dir, "kpi.yaml", kpi_yaml));
    write_config("");
    cr_assert(asprintf(&log_path, "%s/vigild.log", dir) > 0);
    rc = vigil_test_redis_connect(redis, 5000);
    cr_assert_not_null(rc);
}

static void teardown(void)
{
    if (rc)
        redisFree(rc);
    if (log_path && getenv("VIGIL_TEST_SHOW_LOG")) {
        char *log = vigil_test_read_file(log_path, NULL);
        fprintf(stderr, "%s", log ? log : "");
        free(log);
    }
    vigil_test_kafka_stop(kafka);
    vigil_test_redis_stop(redis);
    vigil_test_rm_rf(dir);
    free(dir);
    free(cfg_path);
    free(log_path);
}

struct expect {
    long long fails;
    long long by_src[SOURCES];
    int users;
    bool seen[50];
    size_t produced;
};

/*
 * Produces n more events, a third of them failures (every
 * malformed_every-th one broken JSON), and adds them to what e expects.
 */
static void produce(struct expect *e, size_t n, int malformed_every)
{
    struct vigil_test_kafka_msg *msgs = calloc(n, sizeof(*msgs));
    char **bufs = calloc(n, sizeof(*bufs));
    for (size_t j = 0; j < n; j++) {
        size_t i = e->produced + j;
        if (malformed_every && i % (size_t)malformed_every == 0) {
            cr_assert(asprintf(&bufs[j], "{\"message\": \"broken %zu", i) > 0);
        } else if (i % 3 == 0) {
            int src = (int)(i % SOURCES), user = (int)(i % 50);
            cr_assert(asprintf(&bufs[j],
                               "{\"message\":\"login failed user=u%d "
                               "src=10.0.0.%d\"}",
                               user, src) > 0);
            e->fails++;
            e->by_src[src]++;
            if (!e->seen[user]) {
                e->seen[user] = true;
                e->users++;
            }
        } else {
            cr_assert(asprintf(&bufs[j], "{\"message\":\"login ok user=u%zu\"}",
                               i % 50) > 0);
        }
        msgs[j] = (struct vigil_test_kafka_msg){.partition =
                                                    (int32_t)(i % PARTITIONS),
                                                .payload = bufs[j],
                                                .len = strlen(bufs[j])};
    }
    cr_assert_eq(vigil_test_kafka_produce_batch(kafka, TOPIC, msgs, n), 0);
    e->produced += n;
    for (size_t j = 0; j < n; j++)
        free(bufs[j]);
    free(bufs);
    free(msgs);
}

static long long reply_ll(redisReply *r)
{
    if (!r)
        return 0;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

/* Sum of the offsets stored for the group: messages fully accounted. */
static long long stored_offsets(void)
{
    redisReply *r = redisCommand(rc, "HVALS vigil:{t}:offsets:vigil-test");
    long long sum = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++)
        sum += reply_ll(r->element[i]);
    freeReplyObject(r);
    return sum;
}

/* Calls fn(key) for every key matching pattern. */
static void scan(const char *pattern, void (*fn)(const char *, void *),
                 void *user)
{
    char cursor[32] = "0";
    do {
        redisReply *r =
            redisCommand(rc, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            fn(r->element[1]->element[i]->str, user);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
}

static void add_plain(const char *key, void *user)
{
    redisReply *r = redisCommand(rc, "GET %s", key);
    *(long long *)user += reply_ll(r);
    freeReplyObject(r);
}

static void add_by_src(const char *key, void *user)
{
    long long *by = user;
    for (int s = 0; s < SOURCES; s++) {
        redisReply *r = redisCommand(rc, "HGET %s 10.0.0.%d", key, s);
        by[s] += reply_ll(r);
        freeReplyObject(r);
    }
}

static void assert_counts(const struct expect *e)
{
    long long fails = 0, by[SOURCES] = {0};
    scan("vigil:{t}:c:fails:*", add_plain, &fails);
    scan("vigil:{t}:c:fails_by_src:*", add_by_src, by);
    cr_assert_eq(fails, e->fails, "fails: %lld, expected %lld", fails,
                 e->fails);
    for (int s = 0; s < SOURCES; s++)
        cr_assert_eq(by[s], e->by_src[s], "src %d: %lld, expected %lld", s,
                     by[s], e->by_src[s]);
}

static pid_t start_vigild_logging_to(const char *log)
{
    char *argv[] = {VIGILD_PATH, "run", "-c", cfg_path, NULL};
    pid_t pid = vigil_test_spawn(argv, log);
    cr_assert_gt(pid, 0);
    return pid;
}

static pid_t start_vigild(void)
{
    return start_vigild_logging_to(log_path);
}

/* Waits until this run has written at least one batch (bounded). */
static void wait_for_progress(long long before, pid_t pid)
{
    for (int i = 0; i < 300 && stored_offsets() == before; i++)
        cr_assert_eq(vigil_test_wait(pid, 100), -2,
                     "vigild exited early; see %s", log_path);
    cr_assert_gt(stored_offsets(), before);
}

/* Waits until the stored offsets account for n messages (bounded). */
static void wait_for_offsets(long long n, pid_t pid)
{
    for (int i = 0; i < 1200 && stored_offsets() < n; i++) {
        cr_assert_eq(vigil_test_wait(pid, 100), -2,
                     "vigild exited early; see %s", log_path);
    }
    cr_assert_eq(stored_offsets(), n, "stored offsets %lld of %lld",
                 stored_offsets(), n);
}

static void stop_vigild(pid_t pid)
{
    kill(pid, SIGTERM);
    int status = vigil_test_wait(pid, 10000);
    if (status == -2)
        kill(pid, SIGKILL);
    cr_assert_eq(status, 0, "vigild did not exit 0 within 10 s on SIGTERM");
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 280);

Test(run, counts_every_event_exactly_once_and_stops_on_sigterm)
{
    struct expect e = {0};
    produce(&e, 20000, 0);
    pid_t pid = start_vigild();
    wait_for_offsets(20000, pid);
    stop_vigild(pid);
    assert_counts(&e);
    long long users = 0;
    redisReply *r = redisCommand(rc, "KEYS vigil:{t}:d:failed_users:*");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *c = redisCommand(rc, "PFCOUNT %s", r->element[i]->str);
        users = reply_ll(c) > users ? reply_ll(c) : users;
        freeReplyObject(c);
    }
    freeReplyObject(r);
    /* All events fall into one or two buckets; each holds every user. */
    cr_assert_eq(users, e.users);
}

/* kill -9 at random points of a 200 k-event stream is the fault test
 * faults::twenty_kill_9_restarts_lose_no_count_and_no_page
 * (test_faults.c), which also checks the page. */

Test(run, malformed_events_are_counted_and_skipped_not_stalling)
{
    struct expect e = {0};
    produce(&e, 3000, 10);
    pid_t pid = start_vigild();
    wait_for_offsets(3000, pid);
    stop_vigild(pid);
    /* Malformed ones replaced every tenth event, failures included. */
    assert_counts(&e);
    char *log = vigil_test_read_file(log_path, NULL);
    cr_assert_not_null(strstr(log, "decode errors 300"), "%s", log);
    free(log);
}

/* Redis killed and restarted from its AOF mid-stream is the fault test
 * faults::redis_killed_and_restarted_is_not_ready_then_resumes_without_loss
 * (test_faults.c), which also checks /readyz. */

static bool log_has(const char *path, const char *needle)
{
    char *log = vigil_test_read_file(path, NULL);
    bool found = log && strstr(log, needle);
    free(log);
    return found;
}

Test(run, two_processes_share_the_partitions_and_one_takes_over)
{
    struct expect e = {0};
    produce(&e, 20000, 0);
    char *log_b = NULL;
    cr_assert(asprintf(&log_b, "%s/vigild-b.log", dir) > 0);
    pid_t a = start_vigild();
    wait_for_progress(0, a);
    pid_t b = start_vigild_logging_to(log_b);
    /* Four members for eight partitions: B's workers get some. */
    for (int i = 0; i < 300 && !(log_has(log_b, "assigned 2 partitions") ||
                                 log_has(log_b, "assigned 3 partitions") ||
                                 log_has(log_b, "assigned 1 partitions"));
         i++)
        cr_assert_eq(vigil_test_wait(b, 100), -2);
    cr_assert(log_has(log_b, "assigned 2 partitions") ||
                  log_has(log_b, "assigned 1 partitions") ||
                  log_has(log_b, "assigned 3 partitions"),
              "the second process got no partitions");
    produce(&e, 20000, 0);
    kill(a, SIGKILL);
    cr_assert_eq(vigil_test_wait(a, 5000), 128 + SIGKILL);
    produce(&e, 20000, 0);
    wait_for_offsets((long long)e.produced, b);
    cr_assert(log_has(log_b, "assigned 4 partitions"),
              "the survivor did not take over every partition");
    stop_vigild(b);
    assert_counts(&e);
    free(log_b);
}

/* What a dead-lettered message carried. */
struct dlq_msg {
    size_t len;
    char error[128];
    char topic[64];
    char partition[16];
    char offset[32];
};

static void header(rd_kafka_message_t *m, const char *name, char *buf,
                   size_t size)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    buf[0] = '\0';
    if (rd_kafka_message_headers(m, &h) ||
        rd_kafka_header_get_last(h, name, &v, &n) || n >= size)
        return;
    memcpy(buf, v, n);
    buf[n] = '\0';
}

/* Reads up to want messages of topic from the start; returns how many. */
static int consume_dlq(const char *topic, struct dlq_msg *out, int want)
{
    rd_kafka_conf_t *conf = vigil_test_kafka_consumer_conf(kafka, "check");
    char err[256];
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    cr_assert_eq(rd_kafka_subscribe(c, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    int got = 0;
    for (int i = 0; i < 300 && got < want; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (!m->err) {
            struct dlq_msg *d = &out[got++];
            d->len = m->len;
            header(m, "vigil-error", d->error, sizeof(d->error));
            header(m, "vigil-source-topic", d->topic, sizeof(d->topic));
            header(m, "vigil-source-partition", d->partition,
                   sizeof(d->partition));
            header(m, "vigil-source-offset", d->offset, sizeof(d->offset));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return got;
}

Test(run, dead_letters_malformed_oversized_and_invalid_utf8_messages)
{
    cr_assert_eq(vigil_test_kafka_create_topic(kafka, "events.dlq", 1), 0);
    write_config("  dead_letter_topic: \"events.dlq\"\n");
    struct expect e = {0};
    produce(&e, 300, 0);
    size_t big_len = 2u << 20;
    char *big = malloc(big_len);
    memset(big, 'a', big_len);
    memcpy(big, "{\"message\":\"", 12);
    memcpy(big + big_len - 2, "\"}", 2);
    static const char bad_json[] = "{\"message\": \"login failed user=";
    static const char bad_utf8[] = "{\"message\":\"login failed \xff\xfe\"}";
    struct vigil_test_kafka_msg bad[] = {
        {.partition = 0, .payload = bad_json, .len = sizeof(bad_json) - 1},
        {.partition = 1, .payload = big, .len = big_len},
        {.partition = 2, .payload = bad_utf8, .len = sizeof(bad_utf8) - 1},
    };
    cr_assert_eq(vigil_test_kafka_produce_batch(kafka, TOPIC, bad, 3), 0);
    e.produced += 3;
    free(big);
    produce(&e, 300, 0);

    pid_t pid = start_vigild();
    wait_for_offsets((long long)e.produced, pid);
    stop_vigild(pid);
    assert_counts(&e);
    cr_assert(log_has(log_path, "decode errors 3,"));

    struct dlq_msg msgs[4];
    int n = consume_dlq("events.dlq", msgs, 3);
    cr_assert_eq(n, 3);
    bool seen_big = false;
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(msgs[i].topic, TOPIC);
        cr_assert_neq(msgs[i].error[0], '\0');
        cr_assert_neq(msgs[i].offset[0], '\0');
        if (msgs[i].len == big_len) {
            seen_big = true;
            cr_assert_str_eq(msgs[i].error, "message too large");
            cr_assert_str_eq(msgs[i].partition, "1");
        }
    }
    cr_assert(seen_big, "the original 2 MiB payload is in the dead-letter "
                        "topic");
}

Test(run, evaluates_indicators_from_the_counts_and_records_the_breach)
{
    struct expect e = {0};
    produce(&e, 3000, 0);
    cr_assert_eq(e.fails, 1000);
    pid_t pid = start_vigild();
    wait_for_offsets(3000, pid);
    char *argv[] = {VIGILD_PATH, "status", "-c", cfg_path, "--json", NULL};
    char *out = NULL;
    bool breached = false;
    for (int i = 0; i < 200 && !breached; i++) {
        free(out);
        out = NULL;
        cr_assert_eq(vigil_test_run(argv, NULL, &out, NULL), 0);
        breached = strstr(out, "\"state\":\"breach\"") != NULL;
        if (!breached)
            cr_assert_eq(vigil_test_wait(pid, 100), -2);
    }
    cr_assert(breached, "no breach: %s", out);
    cr_assert_not_null(strstr(out, "\"value\":1000"), "%s", out);
    free(out);
    stop_vigild(pid);
    redisReply *r = redisCommand(rc, "XLEN vigil:{t}:breaches");
    cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1);
    freeReplyObject(r);
    r = redisCommand(rc, "XLEN vigil:{t}:outbox");
    cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
              "one page for one breach");
    freeReplyObject(r);
}

static void wait_for_log(const char *needle, int count, pid_t pid)
{
    for (int i = 0; i < 300; i++) {
        char *log = vigil_test_read_file(log_path, NULL);
        int seen = 0;
        for (char *p = log; p && (p = strstr(p, needle)); p++)
            seen++;
        free(log);
        if (seen >= count)
            return;
        cr_assert_eq(vigil_test_wait(pid, 100), -2);
    }
    cr_assert_fail("'%s' not logged %d times", needle, count);
}

Test(run, sighup_swaps_rules_without_loss_and_keeps_them_on_error)
{
    struct expect e = {0};
    produce(&e, 3000, 0);
    pid_t pid = start_vigild();
    wait_for_offsets(3000, pid);

    /* A broken rule file: the running rules stay in effect. */
    free(vigil_test_write_file(dir, "rules.yaml",
                               "pack: test\nrules:\n  - id: broken\n"
                               "    title: t\n    severity: low\n"
                               "    match: 'login (failed'\n"));
    kill(pid, SIGHUP);
    wait_for_log("reload failed", 1, pid);
    cr_assert(log_has(log_path, "rules.yaml:6:"), "the error names the file");
    produce(&e, 3000, 0);
    wait_for_offsets(6000, pid);
    assert_counts(&e);

    /* A good change: a second rule counts "ok" logins from now on. */
    char *more = NULL;
    cr_assert(asprintf(&more,
                       "%s"
                       "  - id: test.ok\n"
                       "    title: login ok\n"
                       "    severity: info\n"
                       "    match: 'login ok'\n"
                       "    count:\n"
                       "      - counter: oks\n",
                       rules_yaml) > 0);
    free(vigil_test_write_file(dir, "rules.yaml", more));
    free(more);
    kill(pid, SIGHUP);
    wait_for_log("now matching with 2 rules", 2, pid);
    produce(&e, 3000, 0);
    wait_for_offsets(9000, pid);
    stop_vigild(pid);
    /* Failures counted exactly once across both swaps... */
    assert_counts(&e);
    /* ...and the new rule saw exactly the events after the swap. */
    long long oks = 0;
    scan("vigil:{t}:c:oks:*", add_plain, &oks);
    cr_assert_eq(oks, 2000);
}
