/*
 * Fault injection against vigild run: a real redis-server, librdkafka's
 * mock cluster over TCP, the vigild binary as a child process, its HTTP
 * feed on a free loopback port and a webhook notifier posting to a
 * loopback HTTP receiver. Each test injects one kind of fault while a
 * stream is consumed, then checks that every counter equals what the
 * input implies (no loss, no double count) and that the daemon recovered
 * by itself. docs/RELIABILITY.md lists the faults and the figures.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "http_receiver.h"
#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"

#define TOPIC "events"
#define PARTITIONS 8
#define SOURCES 7
#define GROUP "vigil-faults"
#define OFFSETS_KEY "vigil:{t}:offsets:" GROUP

static struct {
    struct vigil_test_redis *redis;
    struct vigil_test_kafka *kafka;
    struct vigil_test_http_receiver *recv;
    redisContext *rc;
    char *dir;
    char *cfg_path;
    char *log_path;
    int http_port;
    pid_t pid; /* the running vigild, 0: none */
} fx;

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
    "        by: src\n";

/* Breaches once a thousand failures were counted in the last hour: early
 * in every stream below, and for good (one episode, one page). */
static const char kpi_yaml[] = "indicators:\n"
                               "  - id: KPI-FAULT-01\n"
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

static void write_config(void)
{
    char *cfg = NULL;
    cr_assert(asprintf(&cfg,
                       "kafka:\n"
                       "  brokers: \"%s\"\n"
                       "  topics: [\"" TOPIC "\"]\n"
                       "  group: \"" GROUP "\"\n"
                       "  workers: 2\n"
                       "  batch_events: 500\n"
                       "  properties:\n"
                       "    session.timeout.ms: \"3000\"\n"
                       "    heartbeat.interval.ms: \"300\"\n"
                       "    max.poll.interval.ms: \"60000\"\n"
                       "redis:\n"
                       "  url: \"%s\"\n"
                       "  namespace: \"t\"\n"
                       "  command_timeout: 1s\n"
                       "events:\n"
                       "  format: json\n"
                       "http:\n"
                       "  listen: \"127.0.0.1:%d\"\n"
                       "rules: [\"rules.yaml\"]\n"
                       "indicators: [\"kpi.yaml\"]\n"
                       "notifiers:\n"
                       "  - name: hook\n"
                       "    type: webhook\n"
                       "    url: \"%s/hook\"\n"
                       "    timeout: 2s\n"
                       "route:\n"
                       "  - notify: [hook]\n",
                       vigil_test_kafka_bootstraps(fx.kafka),
                       vigil_test_redis_url(fx.redis), fx.http_port,
                       vigil_test_http_receiver_url(fx.recv)) > 0);
    free(fx.cfg_path);
    fx.cfg_path = vigil_test_write_file(fx.dir, "vigil.yaml", cfg);
    free(cfg);
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    signal(SIGPIPE, SIG_IGN);
    fx.redis =
        vigil_test_redis_start(&(struct vigil_test_redis_options){.aof = true});
    cr_assert_not_null(fx.redis);
    fx.kafka = vigil_test_kafka_start(1, TOPIC, PARTITIONS);
    cr_assert_not_null(fx.kafka);
    fx.recv = vigil_test_http_receiver_start();
    cr_assert_not_null(fx.recv);
    fx.dir = vigil_test_tmpdir("vigil-faults");
    cr_assert_not_null(fx.dir);
    fx.http_port = vigil_test_free_port();
    cr_assert_gt(fx.http_port, 0);
    free(vigil_test_write_file(fx.dir, "rules.yaml", rules_yaml));
    free(vigil_test_write_file(fx.dir, "kpi.yaml", kpi_yaml));
    write_config();
    cr_assert(asprintf(&fx.log_path, "%s/vigild.log", fx.dir) > 0);
    fx.rc = vigil_test_redis_connect(fx.redis, 5000);
    cr_assert_not_null(fx.rc);
}

static void teardown(void)
{
    if (fx.pid > 0) {
        kill(fx.pid, SIGKILL);
        vigil_test_wait(fx.pid, 5000);
    }
    if (fx.rc)
        redisFree(fx.rc);
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

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 290);

struct expect {
    long long fails;
    long long by_src[SOURCES];
    size_t produced;
};

/*
 * Sends msgs with a producer of its own, created for the call: after a
 * broker outage the fixture's producer may still be backing off its
 * reconnects, a new one connects at once. 0 or -1.
 */
static int produce_fresh(const struct vigil_test_kafka_msg *msgs, size_t n)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers",
                          vigil_test_kafka_bootstraps(fx.kafka), err,
                          sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!p) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    p, RD_KAFKA_V_TOPIC(TOPIC),
                    RD_KAFKA_V_PARTITION(msgs[i].partition),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_VALUE((void *)msgs[i].payload, msgs[i].len),
                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (e)
            rc = -1;
    }
    if (rd_kafka_flush(p, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_outq_len(p) != 0)
        rc = -1;
    rd_kafka_destroy(p);
    return rc;
}

/* Produces n more events, a third of them failures, and adds them to
 * what e expects; fresh: with produce_fresh(). */
static void produce_to(struct expect *e, size_t n, bool fresh)
{
    struct vigil_test_kafka_msg *msgs = calloc(n, sizeof(*msgs));
    char **bufs = calloc(n, sizeof(*bufs));
    cr_assert(msgs && bufs);
    for (size_t j = 0; j < n; j++) {
        size_t i = e->produced + j;
        if (i % 3 == 0) {
            int src = (int)(i % SOURCES);
            cr_assert(asprintf(&bufs[j],
                               "{\"message\":\"login failed user=u%zu "
                               "src=10.0.0.%d\"}",
                               i % 50, src) > 0);
            e->fails++;
            e->by_src[src]++;
        } else {
            cr_assert(asprintf(&bufs[j], "{\"message\":\"login ok user=u%zu\"}",
                               i % 50) > 0);
        }
        msgs[j] = (struct vigil_test_kafka_msg){
            .partition = (int32_t)(i % PARTITIONS),
            .payload = bufs[j],
            .len = strlen(bufs[j]),
        };
    }
    cr_assert_eq(fresh
                     ? produce_fresh(msgs, n)
                     : vigil_test_kafka_produce_batch(fx.kafka, TOPIC, msgs, n),
                 0);
    e->produced += n;
    for (size_t j = 0; j < n; j++)
        free(bufs[j]);
    free(bufs);
    free(msgs);
}

static void produce(struct expect *e, size_t n)
{
    produce_to(e, n, false);
}

static long long reply_ll(const redisReply *r)
{
    if (!r)
        return 0;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

/* The test's own Redis connection; reconnects after a fault broke it. */
static redisReply *command(const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!fx.rc || fx.rc->err) {
            if (fx.rc)
                redisFree(fx.rc);
            fx.rc = vigil_test_redis_connect(fx.redis, 5000);
            cr_assert_not_null(fx.rc);
        }
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(fx.rc, fmt, ap);
        va_end(ap);
        if (r)
            return r;
    }
    cr_assert_fail("redis: %s", fx.rc->errstr);
    return NULL;
}

/* Sum of the offsets stored for the group: messages fully accounted. */
static long long stored_offsets(void)
{
    redisReply *r = command("HVALS " OFFSETS_KEY);
    long long sum = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
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
        redisReply *r = command("SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            fn(r->element[1]->element[i]->str, user);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
}

static void add_plain(const char *key, void *user)
{
    redisReply *r = command("GET %s", key);
    *(long long *)user += reply_ll(r);
    freeReplyObject(r);
}

static void add_by_src(const char *key, void *user)
{
    long long *by = user;
    for (int s = 0; s < SOURCES; s++) {
        redisReply *r = command("HGET %s 10.0.0.%d", key, s);
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

static void start_vigild(void)
{
    char *argv[] = {VIGILD_PATH, "run", "-c", fx.cfg_path, NULL};
    fx.pid = vigil_test_spawn(argv, fx.log_path);
    cr_assert_gt(fx.pid, 0);
}

/* Waits up to ms for vigild; fails the test when it exited. */
static void keep_running(int ms)
{
    cr_assert_eq(vigil_test_wait(fx.pid, ms), -2, "vigild exited; see %s",
                 fx.log_path);
}

static void kill_vigild(void)
{
    kill(fx.pid, SIGKILL);
    cr_assert_eq(vigil_test_wait(fx.pid, 5000), 128 + SIGKILL);
    fx.pid = 0;
}

static void stop_vigild(void)
{
    kill(fx.pid, SIGTERM);
    int status = vigil_test_wait(fx.pid, 10000);
    if (status == -2)
        kill(fx.pid, SIGKILL);
    fx.pid = 0;
    cr_assert_eq(status, 0, "vigild did not exit 0 within 10 s on SIGTERM");
}

/* Waits until this run has written at least one batch (bounded). */
static void wait_for_progress(long long before)
{
    for (int i = 0; i < 300 && stored_offsets() == before; i++)
        keep_running(100);
    cr_assert_gt(stored_offsets(), before, "no progress in 30 s");
}

/* Waits until the stored offsets account for n messages (bounded). */
static void wait_for_offsets(long long n, int max_s)
{
    for (int i = 0; i < max_s * 10 && stored_offsets() < n; i++)
        keep_running(100);
    cr_assert_eq(stored_offsets(), n, "stored offsets %lld of %lld",
                 stored_offsets(), n);
}

/* The status of GET /readyz (0: no answer). */
static long readyz(void)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", fx.http_port);
    struct vigil_test_http r = {0};
    long status =
        vigil_test_http_request("GET", url, NULL, NULL, &r) == 0 ? r.status : 0;
    vigil_test_http_free(&r);
    return status;
}

/* Polls /readyz until it answers status, for at most max_s seconds. */
static bool wait_for_readyz(long status, int max_s)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (;;) {
        if (readyz() == status)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (b.tv_sec - a.tv_sec >= max_s)
            return false;
        keep_running(200);
    }
}

/* The body of GET /metrics (owned; "" when it does not answer). */
static char *metrics(void)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", fx.http_port);
    struct vigil_test_http r = {0};
    if (vigil_test_http_request("GET", url, NULL, NULL, &r) != 0 || !r.body) {
        vigil_test_http_free(&r);
        return strdup("");
    }
    char *body = strdup(r.body);
    vigil_test_http_free(&r);
    return body;
}

static int log_count(const char *needle)
{
    char *log = vigil_test_read_file(fx.log_path, NULL);
    int seen = 0;
    for (char *p = log; p && (p = strstr(p, needle)); p++)
        seen++;
    free(log);
    return seen;
}

static void wait_for_log(const char *needle, int count)
{
    for (int i = 0; i < 300 && log_count(needle) < count; i++)
        keep_running(100);
    cr_assert_geq(log_count(needle), count, "'%s' not logged %d times", needle,
                  count);
}

static long long xlen(const char *key)
{
    redisReply *r = command("XLEN %s", key);
    long long n = reply_ll(r);
    freeReplyObject(r);
    return n;
}

/* Whether every outbox entry was delivered and acknowledged. */
static bool outbox_done(void)
{
    redisReply *r = command("XPENDING vigil:{t}:outbox notifiers");
    bool none_pending = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                        r->element[0]->type == REDIS_REPLY_INTEGER &&
                        r->element[0]->integer == 0;
    freeReplyObject(r);
    if (!none_pending)
        return false;
    /* Nothing pending, and nothing left unread by the group. */
    r = command("XINFO GROUPS vigil:{t}:outbox");
    bool read_all = false;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *g = r->element[i];
        for (size_t k = 0; k + 1 < g->elements; k += 2)
            if (strcmp(g->element[k]->str, "lag") == 0)
                read_all = g->element[k + 1]->type == REDIS_REPLY_INTEGER &&
                           g->element[k + 1]->integer == 0;
    }
    freeReplyObject(r);
    return read_all;
}

struct pages {
    size_t deliveries; /* notifications received */
    size_t distinct;   /* distinct dedup_key + action */
    char keys[8][128]; /* the distinct ones */
};

/* What the receiver got: every notification of every request. */
static void read_pages(struct pages *p)
{
    memset(p, 0, sizeof(*p));
    size_t n = vigil_test_http_receiver_count(fx.recv);
    for (size_t i = 0; i < n; i++) {
        char *body = vigil_test_http_receiver_body(fx.recv, i);
        cJSON *j = cJSON_Parse(body ? body : "");
        cr_assert_not_null(j, "request %zu: %s", i, body);
        const cJSON *item;
        cJSON_ArrayForEach(item,
                           cJSON_GetObjectItemCaseSensitive(j, "notifications"))
        {
            const cJSON *d =
                cJSON_GetObjectItemCaseSensitive(item, "dedup_key");
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(item, "action");
            cr_assert(cJSON_IsString(d) && cJSON_IsString(a));
            char key[128];
            snprintf(key, sizeof(key), "%s/%s", d->valuestring, a->valuestring);
            p->deliveries++;
            size_t k = 0;
            while (k < p->distinct && strcmp(p->keys[k], key) != 0)
                k++;
            if (k == p->distinct && p->distinct < 8)
                snprintf(p->keys[p->distinct++], sizeof(p->keys[0]), "%s", key);
        }
        cJSON_Delete(j);
        free(body);
    }
}

/* Waits (polling every 2 ms, bounded) until this run wrote a batch. */
static void wait_for_first_batch(long long before)
{
    for (int i = 0; i < 15000 && stored_offsets() == before; i++)
        keep_running(2);
    cr_assert_gt(stored_offsets(), before, "no progress in 30 s");
}

/*
 * 200 000 events in 20 rounds of 10 000; in each round vigild is started
 * and killed with SIGKILL at a random point: in one round of four during
 * its first two seconds (start-up, group join, assignment), otherwise
 * 0..40 ms after its first batch landed, while it consumes the round's
 * backlog (kills in the middle of batches, flushes, evaluations and
 * deliveries). The indicator breaches in the first rounds and stays
 * breached: exactly one outbox entry, one page (one dedup key), never a
 * second episode because of a restart.
 */
Test(faults, twenty_kill_9_restarts_lose_no_count_and_no_page)
{
    struct expect e = {0};
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    long long done = 0;
    int mid_stream = 0, early = 0;
    for (int round = 0; round < 20; round++) {
        produce(&e, 10000);
        start_vigild();
        if (rand() % 4 == 0) {
            keep_running(rand() % 2000);
            early++;
        } else {
            wait_for_first_batch(done);
            keep_running(rand() % 40);
        }
        kill_vigild();
        done = stored_offsets();
        if (done < (long long)e.produced)
            mid_stream++;
    }
    cr_log_info("seed %u: %d of 20 kills landed before the stream was "
                "consumed (%d during start-up)",
                seed, mid_stream, early);
    cr_assert_geq(mid_stream, 10, "the stream ended too early to test kills");
    start_vigild();
    wait_for_offsets((long long)e.produced, 120);
    assert_counts(&e);

    /* The page: a pager killed while it held the entry leaves it pending
     * under its dead consumer name until that pager's lease (10 s) runs
     * out and a live pager takes it over. */
    struct pages p;
    for (int i = 0; i < 900 && !(outbox_done() && xlen("vigil:{t}:outbox"));
         i++)
        keep_running(100);
    cr_assert(outbox_done(), "the page was not delivered");
    stop_vigild();
    read_pages(&p);
    cr_assert_eq(xlen("vigil:{t}:outbox"), 1,
                 "one breach, one outbox entry, across 21 starts");
    cr_assert_eq(p.distinct, 1, "one dedup key and action, got %zu",
                 p.distinct);
    cr_assert_geq(p.deliveries, 1);
    cr_assert(strncmp(p.keys[0], "KPI-FAULT-01:", 13) == 0, "%s", p.keys[0]);
    cr_log_info("%zu deliveries of %s", p.deliveries, p.keys[0]);
}

/*
 * Redis frozen with SIGSTOP for 20 s mid-stream: connections stay open
 * and nothing answers. /readyz turns 503 during the outage and 200 after
 * it without any action, and nothing is lost or counted twice (the
 * script a worker sent before it timed out may run when Redis wakes up:
 * the offset fence rejects the retried batch then).
 */
Test(faults, redis_frozen_for_20_s_is_not_ready_then_resumes_without_loss)
{
    struct expect e = {0};
    produce(&e, 20000);
    start_vigild();
    wait_for_progress(0);
    cr_assert(wait_for_readyz(200, 30), "never ready");

    cr_assert_eq(vigil_test_redis_pause(fx.redis), 0);
    struct timespec paused, now;
    clock_gettime(CLOCK_MONOTONIC, &paused);
    redisFree(fx.rc); /* it would time out; reconnect afterwards */
    fx.rc = NULL;
    produce(&e, 20000);
    bool not_ready = wait_for_readyz(503, 15);
    /* Still not ready later in the outage. */
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
        keep_running(500);
    } while (now.tv_sec - paused.tv_sec < 18);
    long late = readyz();
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
        keep_running(100);
    } while (now.tv_sec - paused.tv_sec < 20);
    cr_assert_eq(vigil_test_redis_resume(fx.redis), 0);
    cr_assert(not_ready, "/readyz stayed 200 while Redis was frozen");
    cr_assert_eq(late, 503, "/readyz answered %ld 18 s into the outage", late);

    cr_assert(wait_for_readyz(200, 30), "not ready again after the outage");
    produce(&e, 10000);
    wait_for_offsets((long long)e.produced, 60);
    cr_assert_eq(readyz(), 200);
    stop_vigild();
    assert_counts(&e);
    cr_assert_geq(log_count("redis answers again"), 1);
}

/*
 * Redis killed with SIGKILL mid-stream and restarted from its AOF (what it
 * acknowledged is in the file, appendfsync always): /readyz turns 503
 * while it is gone and 200 once it is back, without any action, and
 * nothing is lost or counted twice.
 */
Test(faults, redis_killed_and_restarted_is_not_ready_then_resumes_without_loss)
{
    struct expect e = {0};
    produce(&e, 20000);
    start_vigild();
    wait_for_progress(0);
    cr_assert(wait_for_readyz(200, 30), "never ready");

    redisFree(fx.rc); /* reconnect once Redis is back */
    fx.rc = NULL;
    cr_assert_eq(vigil_test_redis_kill(fx.redis), 0);
    produce(&e, 20000);
    cr_assert(wait_for_readyz(503, 15), "/readyz stayed 200 without Redis");
    keep_running(3000);
    cr_assert_eq(readyz(), 503, "/readyz while Redis is still down");
    cr_assert_eq(vigil_test_redis_restart(fx.redis), 0);

    cr_assert(wait_for_readyz(200, 30), "not ready again after the restart");
    wait_for_offsets((long long)e.produced, 60);
    stop_vigild();
    assert_counts(&e);
    cr_assert_geq(log_count("redis answers again"), 1);
}

/*
 * Redis answering slowly: CLIENT PAUSE bursts, alternately shorter than
 * the daemon's 1 s command timeout (slow answers) and longer (timeouts,
 * retries, fenced re-sends), while 30 000 events stream through.
 */
Test(faults, slow_redis_answers_lose_and_double_nothing)
{
    struct expect e = {0};
    produce(&e, 10000);
    start_vigild();
    wait_for_progress(0);
    static const int pause_ms[] = {700, 1500, 400, 2500, 900, 1200};
    for (size_t i = 0; i < sizeof(pause_ms) / sizeof(*pause_ms); i++) {
        redisReply *r = command("CLIENT PAUSE %d ALL", pause_ms[i]);
        cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "");
        freeReplyObject(r);
        produce(&e, 3000);
        keep_running(pause_ms[i] + 300);
    }
    wait_for_offsets((long long)e.produced, 90);
    stop_vigild();
    assert_counts(&e);
}

/*
 * Kafka faults on the mock cluster: Fetch and OffsetCommit requests
 * failing (retriable errors), then the only broker down for 5 s (the
 * group coordinator with it: members time out and rejoin). Workers
 * recover by themselves and the counts stay exact.
 */
Test(faults, kafka_broker_down_and_request_errors_are_recovered_from)
{
    rd_kafka_mock_cluster_t *mock = vigil_test_kafka_mock(fx.kafka);
    struct expect e = {0};
    produce(&e, 10000);
    start_vigild();
    wait_for_progress(0);

    /* Retriable errors for the next fetches and offset commits. */
    rd_kafka_resp_err_t fetch_errs[12], commit_errs[12];
    for (int i = 0; i < 12; i++) {
        fetch_errs[i] = i % 2 ? RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION
                              : RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
        commit_errs[i] = i % 2 ? RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE
                               : RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
    }
    rd_kafka_mock_push_request_errors_array(mock, 1 /* Fetch */, 12,
                                            fetch_errs);
    rd_kafka_mock_push_request_errors_array(mock, 8 /* OffsetCommit */, 12,
                                            commit_errs);
    produce(&e, 10000);
    wait_for_offsets((long long)e.produced, 60);

    /* The only broker goes away for 5 s: connections refused, the
     * group coordinator gone, the members' sessions time out. */
    cr_assert_eq(rd_kafka_mock_broker_set_down(mock, 1), 0);
    keep_running(5000);
    cr_assert_eq(rd_kafka_mock_broker_set_up(mock, 1), 0);
    produce_to(&e, 20000, true);
    wait_for_offsets((long long)e.produced, 90);
    stop_vigild();
    assert_counts(&e);
}

/*
 * SIGHUP with a rule file that does not compile: the running rules keep
 * counting, the error is logged with file:line and counted (also in
 * /metrics), and /readyz stays 200; the good file back is reloaded.
 */
Test(faults, sighup_with_a_broken_rule_file_keeps_rules_and_readiness)
{
    struct expect e = {0};
    produce(&e, 3000);
    start_vigild();
    wait_for_offsets(3000, 60);
    cr_assert(wait_for_readyz(200, 30), "never ready");

    free(vigil_test_write_file(fx.dir, "rules.yaml",
                               "pack: test\nrules:\n  - id: broken\n"
                               "    title: t\n    severity: low\n"
                               "    match: 'login (failed'\n"));
    for (int n = 1; n <= 2; n++) {
        kill(fx.pid, SIGHUP);
        char counted[64];
        snprintf(counted, sizeof(counted), "reload failed (%d so far)", n);
        wait_for_log(counted, 1);
        cr_assert_eq(readyz(), 200, "/readyz after a failed reload");
    }
    cr_assert_geq(log_count("rules.yaml:6:"), 2, "the error names the file");
    char *m = metrics();
    cr_assert(strstr(m, "vigil_reloads_total{result=\"error\"} 2\n"),
              "failed reloads not counted in /metrics:\n%s", m);
    cr_assert(strstr(m, "vigil_reloads_total{result=\"ok\"} 0\n"));
    free(m);
    /* The good file back: the next reload takes effect and is counted. */
    free(vigil_test_write_file(fx.dir, "rules.yaml", rules_yaml));
    kill(fx.pid, SIGHUP);
    wait_for_log("reloaded:", 1);
    m = metrics();
    cr_assert(strstr(m, "vigil_reloads_total{result=\"ok\"} 1\n"),
              "the good reload not counted:\n%s", m);
    free(m);
    produce(&e, 3000);
    wait_for_offsets(6000, 60);
    cr_assert_eq(readyz(), 200);
    stop_vigild();
    assert_counts(&e);
}
