/*
 * counter_store against a real redis-server: what one EVALSHA per batch
 * writes, the offset fence, races, script reloads, expiry.
 */
#include <criterion/criterion.h>
#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "counter_store.h"
#include "redis_server.h"

#define NS "t"
#define GROUP "g"
#define RETENTION 3600

enum { C_PLAIN, C_BY_SRC, C_USERS, C_BYTES, C_CONTAIN, C_CONTAIN2 };

static const struct vigil_counter_def defs[] = {
    {.name = "auth_failures", .kind = VIGIL_COUNTER_COUNT, .resolution_s = 10},
    {.name = "by_src", .kind = VIGIL_COUNTER_BY_KEY, .resolution_s = 10},
    {.name = "users", .kind = VIGIL_COUNTER_DISTINCT, .resolution_s = 10},
    {.name = "bytes", .kind = VIGIL_COUNTER_SUM, .resolution_s = 10},
    {.name = "contain",
     .kind = VIGIL_COUNTER_PAIR,
     .resolution_s = 60,
     .within_ms = 1000},
    {.name = "contain2",
     .kind = VIGIL_COUNTER_PAIR,
     .resolution_s = 60,
     .within_ms = 1000},
};

/* The fixture: one redis-server per test, one connection, one store. */
static struct {
    struct vigil_test_redis *redis;
    redisContext *ctx;
    struct vigil_counter_store *store;
} fx;
static int64_t now_ms;
static int64_t t0; /* a minute boundary about an hour ago, in ms */

static redisContext *connect_redis(void)
{
    char err[256];
    redisContext *c = vigil_counter_store_connect(
        vigil_test_redis_host(fx.redis), vigil_test_redis_port(fx.redis), 2000,
        err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    return c;
}

static void setup(void)
{
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.ctx = connect_redis();
    struct vigil_counter_store_config cfg = {.ns = NS, .group = GROUP};
    fx.store = vigil_counter_store_create(&cfg);
    cr_assert_not_null(fx.store);
    now_ms = (int64_t)time(NULL) * 1000;
    t0 = (now_ms / 60000) * 60000 - 3600 * 1000 + 60000;
}

static void teardown(void)
{
    vigil_counter_store_destroy(fx.store);
    if (fx.ctx)
        redisFree(fx.ctx);
    vigil_test_redis_stop(fx.redis);
}

TestSuite(counter_store, .init = setup, .fini = teardown);

static struct vigil_batch *new_batch(void)
{
    const char *why = NULL;
    struct vigil_batch_config cfg = {
        .counters = defs,
        .n_counters = sizeof(defs) / sizeof(defs[0]),
        .retention_s = RETENTION,
    };
    struct vigil_batch *b = vigil_batch_create(&cfg, &why);
    cr_assert_not_null(b, "%s", why);
    vigil_batch_reset(b, now_ms);
    return b;
}

static struct vigil_sv sv(const char *s)
{
    return (struct vigil_sv){s, strlen(s)};
}

/* Runs a command, returns the reply (caller frees). */
static redisReply *cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(fx.ctx, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r, "%s", fx.ctx->errstr);
    return r;
}

/* A string or integer reply as int64; -999 for nil or a status. */
static int64_t cmd_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(fx.ctx, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r);
    int64_t v = -999;
    if (r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    else if (r->type != REDIS_REPLY_STATUS)
        cr_assert_eq(r->type, REDIS_REPLY_NIL, "reply type %d: %s", r->type,
                     r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
    return v;
}

static double cmd_double(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(fx.ctx, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    double v = strtod(r->str, NULL);
    freeReplyObject(r);
    return v;
}

static void flush_ok(struct vigil_batch *b)
{
    struct vigil_flush_result res = {0};
    int rc = vigil_counter_store_flush(fx.store, fx.ctx, b, &res);
    cr_assert_eq(rc, 0, "%s", vigil_counter_store_error(fx.store));
    cr_assert(res.accepted, "batch rejected");
    cr_assert_eq(res.failed_ops, 0, "%s", res.first_error);
    vigil_flush_result_fini(&res);
}

static int64_t bucket10(int64_t ts)
{
    return vigil_batch_bucket(ts, 10);
}

/* Every key of the namespace with its DUMP, sorted, as one string. */
static char *snapshot(void)
{
    redisReply *keys = cmd("KEYS vigil:*");
    size_t n = keys->elements;
    char **lines = calloc(n ? n : 1, sizeof(*lines));
    for (size_t i = 0; i < n; i++) {
        redisReply *d = cmd("DUMP %s", keys->element[i]->str);
        cr_assert_eq(d->type, REDIS_REPLY_STRING);
        size_t len = keys->element[i]->len + 2 + d->len * 2 + 1;
        lines[i] = malloc(len);
        size_t w =
            (size_t)snprintf(lines[i], len, "%s=", keys->element[i]->str);
        for (size_t j = 0; j < d->len; j++)
            w += (size_t)snprintf(lines[i] + w, len - w, "%02x",
                                  (unsigned char)d->str[j]);
        freeReplyObject(d);
    }
    freeReplyObject(keys);
    /* Insertion sort: few keys. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *t = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = t;
        }
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(lines[i]) + 1;
    char *out = malloc(total);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(out + w, lines[i], l);
        out[w + l] = '\n';
        w += l + 1;
        free(lines[i]);
    }
    out[w] = '\0';
    free(lines);
    return out;
}

Test(counter_store, loads_the_script_under_its_embedded_sha1)
{
    struct vigil_counter_store_cmd c;
    cr_assert_eq(vigil_counter_store_build_load(fx.store, &c), 0);
    redisReply *r = redisCommandArgv(fx.ctx, c.argc, c.argv, c.argvlen);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert_str_eq(r->str, vigil_counter_store_script_sha());
    cr_assert_eq(vigil_counter_store_parse_load(fx.store, r), 0);
    freeReplyObject(r);
}

Test(counter_store, applies_counts_by_key_counts_distinct_and_sums)
{
    struct vigil_batch *b = new_batch();
    int64_t t = t0 + 2000;
    for (int i = 0; i < 7; i++)
        cr_assert_eq(vigil_batch_count(b, C_PLAIN, t + i, 1), 0);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t + 10000, 2), 0);
    const char *ips[] = {"1.1.1.1", "2.2.2.2", "1.1.1.1", "1.1.1.1"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, t, sv(ips[i]), 1), 0);
    const char *users[] = {"root", "admin", "root", "bob", "alice", "bob"};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(vigil_batch_distinct(b, C_USERS, t, sv(users[i])), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, t, 100), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, t, 20.5), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 30), 0);
    flush_ok(b);

    int64_t bk = bucket10(t);
    cr_assert_eq(
        cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld", (long long)bk), 7);
    cr_assert_eq(
        cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld", (long long)bk + 10),
        2);
    cr_assert_eq(
        cmd_int("HGET vigil:{" NS "}:c:by_src:%lld 1.1.1.1", (long long)bk), 3);
    cr_assert_eq(
        cmd_int("HGET vigil:{" NS "}:c:by_src:%lld 2.2.2.2", (long long)bk), 1);
    cr_assert_eq(cmd_int("PFCOUNT vigil:{" NS "}:d:users:%lld", (long long)bk),
                 4);
    cr_assert_float_eq(
        cmd_double("GET vigil:{" NS "}:c:bytes:%lld", (long long)bk), 120.5,
        1e-9);
    cr_assert_eq(cmd_int("GET vigil:{" NS "}:n:bytes:%lld", (long long)bk), 2);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:offsets:" GROUP " events:0"), 30);

    /* A second batch adds to the same keys. */
    vigil_batch_reset(b, now_ms);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t, 5), 0);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, t, sv("1.1.1.1"), 2), 0);
    cr_assert_eq(vigil_batch_distinct(b, C_USERS, t, sv("root")), 0);
    cr_assert_eq(vigil_batch_distinct(b, C_USERS, t, sv("eve")), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, t, 0.25), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 30, 42), 0);
    flush_ok(b);
    cr_assert_eq(
        cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld", (long long)bk), 12);
    cr_assert_eq(
        cmd_int("HGET vigil:{" NS "}:c:by_src:%lld 1.1.1.1", (long long)bk), 5);
    cr_assert_eq(cmd_int("PFCOUNT vigil:{" NS "}:d:users:%lld", (long long)bk),
                 5);
    cr_assert_float_eq(
        cmd_double("GET vigil:{" NS "}:c:bytes:%lld", (long long)bk), 120.75,
        1e-9);
    cr_assert_eq(cmd_int("GET vigil:{" NS "}:n:bytes:%lld", (long long)bk), 3);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:offsets:" GROUP " events:0"), 42);
    vigil_batch_destroy(b);
}

Test(counter_store, sets_the_retention_as_expiry_on_every_key)
{
    struct vigil_batch *b = new_batch();
    int64_t t = t0 + 1000;
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t, 1), 0);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, t, sv("k"), 1), 0);
    cr_assert_eq(vigil_batch_distinct(b, C_USERS, t, sv("u")), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, t, 1), 0);
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t, sv("i")), 0);
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t, sv("j")), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, t + 10, sv("j")), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 1), 0);
    flush_ok(b);

    redisReply *keys = cmd("KEYS vigil:*");
    /* c, c(hash), d, c(sum), n, p:open, p:<bucket>, offsets */
    cr_assert_eq(keys->elements, 8);
    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        int64_t ttl = cmd_int("TTL %s", k);
        if (strstr(k, ":offsets:"))
            cr_assert_eq(ttl, -1, "%s", k);
        else
            cr_assert(ttl > RETENTION - 60 && ttl <= RETENTION, "%s: ttl %lld",
                      k, (long long)ttl);
    }
    freeReplyObject(keys);
    vigil_batch_destroy(b);
}

Test(counter_store, completes_pairs_within_and_beyond_within_and_counts_open)
{
    struct vigil_batch *b = new_batch();
    int64_t t = t0 + 5000;
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t, sv("a")), 0);
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t, sv("b")), 0);
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t, sv("c")), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 3), 0);
    flush_ok(b);
    cr_assert_eq(cmd_int("HLEN vigil:{" NS "}:p:contain:open"), 3);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:p:contain:open a"), t);

    vigil_batch_reset(b, now_ms);
    /* A later start does not move an open one. */
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t + 100, sv("c")), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, t + 500, sv("a")), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, t + 5000, sv("b")), 0);
    /* An end nobody started is ignored. */
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, t + 5000, sv("zzz")), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 3, 7), 0);
    flush_ok(b);

    int64_t bk = vigil_batch_bucket(t + 500, 60);
    cr_assert_eq(vigil_batch_bucket(t + 5000, 60), bk);
    cr_assert_eq(
        cmd_int("HGET vigil:{" NS "}:p:contain:%lld count", (long long)bk), 2);
    cr_assert_eq(
        cmd_int("HGET vigil:{" NS "}:p:contain:%lld sum", (long long)bk), 5500);
    cr_assert_eq(
        cmd_int("HGET vigil:{" NS "}:p:contain:%lld within", (long long)bk), 1);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:p:contain:%lld b%u",
                         (long long)bk, vigil_batch_bin(500)),
                 1);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:p:contain:%lld b%u",
                         (long long)bk, vigil_batch_bin(5000)),
                 1);
    cr_assert_eq(cmd_int("HLEN vigil:{" NS "}:p:contain:%lld", (long long)bk),
                 5);
    cr_assert_eq(cmd_int("HLEN vigil:{" NS "}:p:contain:open"), 1);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:p:contain:open c"), t);
    vigil_batch_destroy(b);
}

Test(counter_store, pairs_inside_one_batch_equal_pairs_across_batches)
{
    /* The same pairs: on counter 'contain' over two batches (resolved by the
     * script), on 'contain2' inside one batch (resolved in C). */
    static const int64_t durations[] = {0,    3,    17,    999,
                                        1000, 1001, 65432, 3600 * 1000};
    size_t n = sizeof(durations) / sizeof(durations[0]);
    int64_t t = t0;
    struct vigil_batch *b = new_batch();
    char key[16];
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t, sv(key)), 0);
    }
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 1), 0);
    flush_ok(b);
    vigil_batch_reset(b, now_ms);
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        cr_assert_eq(
            vigil_batch_pair_end(b, C_CONTAIN, t + durations[i], sv(key)), 0);
        /* In one batch, after an end of the same key, so C resolves it. */
        cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN2, t, sv(key)), 0);
        cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN2, t, sv(key)), 0);
        cr_assert_eq(
            vigil_batch_pair_end(b, C_CONTAIN2, t + durations[i], sv(key)), 0);
    }
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 1, 2), 0);
    flush_ok(b);

    int64_t first = vigil_batch_bucket(t, 60);
    int64_t last = vigil_batch_bucket(t + 3600 * 1000, 60);
    size_t fields = 0;
    for (int64_t bk = first; bk <= last; bk += 60) {
        redisReply *a =
            cmd("HGETALL vigil:{" NS "}:p:contain:%lld", (long long)bk);
        redisReply *c =
            cmd("HGETALL vigil:{" NS "}:p:contain2:%lld", (long long)bk);
        cr_assert_eq(a->elements, c->elements, "bucket %lld", (long long)bk);
        for (size_t i = 0; i < a->elements; i += 2) {
            redisReply *v = cmd("HGET vigil:{" NS "}:p:contain2:%lld %s",
                                (long long)bk, a->element[i]->str);
            cr_assert_eq(v->type, REDIS_REPLY_STRING);
            cr_assert_str_eq(v->str, a->element[i + 1]->str, "field %s",
                             a->element[i]->str);
            freeReplyObject(v);
        }
        fields += a->elements / 2;
        freeReplyObject(a);
        freeReplyObject(c);
    }
    cr_assert_gt(fields, 10);
    cr_assert_eq(cmd_int("HLEN vigil:{" NS "}:p:contain:open"), 0);
    cr_assert_eq(cmd_int("EXISTS vigil:{" NS "}:p:contain2:open"), 0);
    vigil_batch_destroy(b);
}

Test(counter_store, rejects_a_stale_batch_and_changes_nothing)
{
    struct vigil_batch *b = new_batch();
    int64_t t = t0;
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t, 4), 0);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, t, sv("x"), 1), 0);
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, t, sv("p")), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 10), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 1, VIGIL_OFFSET_UNSET, 5), 0);
    flush_ok(b);
    char *before = snapshot();

    /* Partition 0 continues correctly, partition 1 does not. */
    vigil_batch_reset(b, now_ms);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t, 100), 0);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t + 20000, 100), 0);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, t, sv("x"), 100), 0);
    cr_assert_eq(vigil_batch_distinct(b, C_USERS, t, sv("new")), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, t, 1), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, t + 1, sv("p")), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 10, 20), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 1, 3, 9), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 2, 0, 9), 0);
    struct vigil_flush_result res = {0};
    cr_assert_eq(vigil_counter_store_flush(fx.store, fx.ctx, b, &res), 0);
    cr_assert_not(res.accepted);
    cr_assert_eq(res.n_stored, 3);
    cr_assert_str_eq(res.stored[0].topic, "events");
    cr_assert_eq(res.stored[0].partition, 0);
    cr_assert_eq(res.stored[0].stored, 10);
    cr_assert_eq(res.stored[1].partition, 1);
    cr_assert_eq(res.stored[1].expected, 3);
    cr_assert_eq(res.stored[1].stored, 5);
    cr_assert_eq(res.stored[2].stored, VIGIL_OFFSET_UNSET);

    char *after = snapshot();
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    vigil_flush_result_fini(&res);
    vigil_batch_destroy(b);
}

Test(counter_store, rejects_a_retry_of_a_batch_that_already_landed)
{
    struct vigil_batch *b = new_batch();
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t0, 1), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 7, 12), 0);
    cr_assert_eq(cmd_int("HSET vigil:{" NS "}:offsets:" GROUP " events:0 7"),
                 1);
    flush_ok(b);
    struct vigil_flush_result res = {0};
    cr_assert_eq(vigil_counter_store_flush(fx.store, fx.ctx, b, &res), 0);
    cr_assert_not(res.accepted);
    cr_assert_eq(res.stored[0].stored, 12); /* = the batch's next: landed */
    cr_assert_eq(cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld",
                         (long long)bucket10(t0)),
                 1);
    vigil_flush_result_fini(&res);
    vigil_batch_destroy(b);
}

struct racer {
    struct vigil_batch *batch;
    struct vigil_counter_store *store;
    redisContext *ctx;
    pthread_barrier_t *go;
    int rc;
    struct vigil_flush_result res;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    r->rc = vigil_counter_store_flush(r->store, r->ctx, r->batch, &r->res);
    return NULL;
}

Test(counter_store, two_workers_with_the_same_expected_offset_exactly_one_wins)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct racer racers[2];
    struct vigil_counter_store_config cfg = {.ns = NS, .group = GROUP};
    for (int round = 0; round < 20; round++) {
        int64_t expected = round == 0 ? VIGIL_OFFSET_UNSET : round * 100;
        for (int i = 0; i < 2; i++) {
            racers[i] = (struct racer){.go = &go};
            racers[i].batch = new_batch();
            racers[i].store = vigil_counter_store_create(&cfg);
            racers[i].ctx = connect_redis();
            /* Worker 0 counts 1 per batch, worker 1 counts 1000. */
            cr_assert_eq(vigil_batch_count(racers[i].batch, C_PLAIN, t0,
                                           i == 0 ? 1 : 1000),
                         0);
            cr_assert_eq(vigil_batch_offset(racers[i].batch, "events", 0,
                                            expected, (round + 1) * 100),
                         0);
        }
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, race, &racers[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        cr_assert_eq(racers[0].rc, 0);
        cr_assert_eq(racers[1].rc, 0);
        cr_assert_neq(racers[0].res.accepted, racers[1].res.accepted,
                      "round %d: exactly one must win", round);
        for (int i = 0; i < 2; i++) {
            vigil_flush_result_fini(&racers[i].res);
            vigil_batch_destroy(racers[i].batch);
            vigil_counter_store_destroy(racers[i].store);
            redisFree(racers[i].ctx);
        }
    }
    pthread_barrier_destroy(&go);
    /* 20 batches applied, each 1 or 1000: the thousands and the ones add
     * up to exactly 20 wins. */
    int64_t total = cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld",
                            (long long)bucket10(t0));
    cr_assert_eq(total / 1000 + total % 1000, 20, "total %lld",
                 (long long)total);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:offsets:" GROUP " events:0"),
                 2000);
}

Test(counter_store, reloads_the_script_after_script_flush)
{
    struct vigil_batch *b = new_batch();
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t0, 1), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 1), 0);
    flush_ok(b);
    redisReply *r = cmd("SCRIPT FLUSH");
    freeReplyObject(r);
    r = cmd("SCRIPT EXISTS %s", vigil_counter_store_script_sha());
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->element[0]->integer, 0);
    freeReplyObject(r);
    vigil_batch_reset(b, now_ms);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t0, 2), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 1, 2), 0);
    flush_ok(b);
    cr_assert_eq(cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld",
                         (long long)bucket10(t0)),
                 3);
    vigil_batch_destroy(b);
}

Test(counter_store, drops_late_events_and_counts_them)
{
    struct vigil_batch *b = new_batch();
    int64_t late = now_ms - (RETENTION + 10) * 1000;
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, late, 1), VIGIL_BATCH_LATE);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, late, sv("x"), 1),
                 VIGIL_BATCH_LATE);
    cr_assert_eq(vigil_batch_distinct(b, C_USERS, late, sv("x")),
                 VIGIL_BATCH_LATE);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t0, 1), 0);
    cr_assert_eq(vigil_batch_stats(b).late, 3);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 4), 0);
    flush_ok(b);
    cr_assert_eq(cmd_int("EXISTS vigil:{" NS "}:c:auth_failures:%lld",
                         (long long)bucket10(late)),
                 0);
    cr_assert_eq(cmd_int("EXISTS vigil:{" NS "}:c:by_src:%lld",
                         (long long)bucket10(late)),
                 0);
    cr_assert_eq(cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld",
                         (long long)bucket10(t0)),
                 1);
    /* Offsets still advance past the late events. */
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:offsets:" GROUP " events:0"), 4);
    vigil_batch_destroy(b);
}

Test(counter_store, applies_a_batch_of_many_partitions_and_counters)
{
    enum { N_COUNTERS = 60, N_PARTS = 700, N_USERS = 1500 };
    struct vigil_counter_def many[N_COUNTERS];
    char names[N_COUNTERS][16];
    for (int i = 0; i < N_COUNTERS; i++) {
        snprintf(names[i], sizeof(names[i]), "c%d", i);
        many[i] = (struct vigil_counter_def){
            .name = names[i],
            .kind = i == 0 ? VIGIL_COUNTER_DISTINCT : VIGIL_COUNTER_BY_KEY,
            .resolution_s = 10,
        };
    }
    struct vigil_batch_config cfg = {
        .counters = many, .n_counters = N_COUNTERS, .retention_s = RETENTION};
    struct vigil_batch *b = vigil_batch_create(&cfg, NULL);
    cr_assert_not_null(b);
    vigil_batch_reset(b, now_ms);
    char key[32];
    for (int i = 0; i < N_USERS; i++) {
        int n = snprintf(key, sizeof(key), "user%d", i);
        cr_assert_eq(
            vigil_batch_distinct(b, 0, t0, (struct vigil_sv){key, (size_t)n}),
            0);
    }
    for (int c = 1; c < N_COUNTERS; c++)
        for (int bucket = 0; bucket < 3; bucket++)
            for (int k = 0; k < 5; k++) {
                int n = snprintf(key, sizeof(key), "k%d", k);
                cr_assert_eq(vigil_batch_count_key(
                                 b, (uint32_t)c, t0 + bucket * 10000,
                                 (struct vigil_sv){key, (size_t)n}, c + k),
                             0);
            }
    const char *topics[] = {"alpha", "beta", "gamma"};
    for (int p = 0; p < N_PARTS; p++)
        cr_assert_eq(vigil_batch_offset(b, topics[p % 3], p / 3,
                                        VIGIL_OFFSET_UNSET, p + 1),
                     0);
    flush_ok(b);

    int64_t users =
        cmd_int("PFCOUNT vigil:{" NS "}:d:c0:%lld", (long long)bucket10(t0));
    /* HyperLogLog: within its standard error of 0.81%, three sigma. */
    cr_assert(users > N_USERS * 0.97 && users < N_USERS * 1.03, "%lld",
              (long long)users);
    for (int c = 1; c < N_COUNTERS; c++)
        for (int bucket = 0; bucket < 3; bucket++)
            for (int k = 0; k < 5; k++)
                cr_assert_eq(cmd_int("HGET vigil:{" NS "}:c:c%d:%lld k%d", c,
                                     (long long)bucket10(t0 + bucket * 10000),
                                     k),
                             c + k);
    for (int t = 0; t < 3; t++) {
        int32_t parts[N_PARTS / 3 + 2];
        int64_t offs[N_PARTS / 3 + 2];
        size_t n = 0;
        for (int p = t; p < N_PARTS; p += 3)
            parts[n++] = p / 3;
        parts[n++] = 9999; /* never stored */
        cr_assert_eq(vigil_counter_store_get_offsets(fx.ctx, NS, GROUP,
                                                     topics[t], parts, n, offs),
                     0);
        for (size_t i = 0; i + 1 < n; i++)
            cr_assert_eq(offs[i], parts[i] * 3 + t + 1);
        cr_assert_eq(offs[n - 1], VIGIL_OFFSET_UNSET);
    }
    vigil_batch_destroy(b);
}

Test(counter_store, skips_and_reports_ops_redis_refuses_but_advances)
{
    int64_t bk = bucket10(t0);
    /* A key left over from when the counter was of another kind. */
    cr_assert_eq(
        cmd_int("HSET vigil:{" NS "}:c:auth_failures:%lld x 1", (long long)bk),
        1);
    cr_assert_eq(cmd_int("SET vigil:{" NS "}:p:contain:open 5"), -999);
    struct vigil_batch *b = new_batch();
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t0, 1), 0);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, t0, sv("k"), 2), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, t0, sv("i")), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 9), 0);
    struct vigil_flush_result res = {0};
    cr_assert_eq(vigil_counter_store_flush(fx.store, fx.ctx, b, &res), 0);
    cr_assert(res.accepted);
    /* INCRBY on the hash; HGET on the string (no start: nothing more). */
    cr_assert_eq(res.failed_ops, 2);
    cr_assert(strstr(res.first_error, "WRONGTYPE"), "%s", res.first_error);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:c:by_src:%lld k", (long long)bk),
                 2);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:offsets:" GROUP " events:0"), 9);
    vigil_flush_result_fini(&res);
    vigil_batch_destroy(b);
}

Test(counter_store, applies_a_batch_without_partitions_as_replay_does)
{
    struct vigil_batch *b = new_batch();
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t0, 3), 0);
    flush_ok(b);
    flush_ok(b); /* no fence: applied again */
    cr_assert_eq(cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld",
                         (long long)bucket10(t0)),
                 6);
    cr_assert_eq(cmd_int("EXISTS vigil:{" NS "}:offsets:" GROUP), 0);
    vigil_batch_destroy(b);
}

Test(counter_store, reads_stored_offsets_for_seeking)
{
    int32_t parts[] = {0, 1, 2};
    int64_t offs[3];
    cr_assert_eq(vigil_counter_store_get_offsets(fx.ctx, NS, GROUP, "events",
                                                 parts, 3, offs),
                 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(offs[i], VIGIL_OFFSET_UNSET);
    cr_assert_eq(cmd_int("HSET vigil:{" NS "}:offsets:" GROUP " events:1 77"),
                 1);
    cr_assert_eq(vigil_counter_store_get_offsets(fx.ctx, NS, GROUP, "events",
                                                 parts, 3, offs),
                 0);
    cr_assert_eq(offs[0], VIGIL_OFFSET_UNSET);
    cr_assert_eq(offs[1], 77);
    cr_assert_eq(offs[2], VIGIL_OFFSET_UNSET);
}

/* The same command and reply parser on hiredis' libev async adapter, as
 * the worker runs them. */
struct async_run {
    struct vigil_counter_store *store;
    struct vigil_batch *batch;
    struct vigil_flush_result res;
    int load_rc, flush_rc;
    int replies;
};

static void on_load(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    struct async_run *run = priv;
    run->load_rc = vigil_counter_store_parse_load(run->store, reply);
    run->replies++;
}

static void on_flush(redisAsyncContext *ac, void *reply, void *priv)
{
    struct async_run *run = priv;
    run->flush_rc = vigil_counter_store_parse_reply(run->store, run->batch,
                                                    reply, &run->res);
    run->replies++;
    redisAsyncDisconnect(ac);
}

Test(counter_store, runs_on_the_libev_async_adapter)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    redisAsyncContext *ac = redisAsyncConnect(vigil_test_redis_host(fx.redis),
                                              vigil_test_redis_port(fx.redis));
    cr_assert_not_null(ac);
    cr_assert_eq(ac->err, 0);
    cr_assert_eq(redisLibevAttach(loop, ac), REDIS_OK);

    struct async_run run = {.store = fx.store, .batch = new_batch()};
    cr_assert_eq(vigil_batch_count(run.batch, C_PLAIN, t0, 5), 0);
    cr_assert_eq(
        vigil_batch_offset(run.batch, "events", 3, VIGIL_OFFSET_UNSET, 50), 0);
    struct vigil_counter_store_cmd c;
    cr_assert_eq(vigil_counter_store_build_load(fx.store, &c), 0);
    cr_assert_eq(
        redisAsyncCommandArgv(ac, on_load, &run, c.argc, c.argv, c.argvlen),
        REDIS_OK);
    cr_assert_eq(vigil_counter_store_build(fx.store, run.batch, &c), 0);
    cr_assert_eq(
        redisAsyncCommandArgv(ac, on_flush, &run, c.argc, c.argv, c.argvlen),
        REDIS_OK);
    ev_run(loop, 0);
    ev_loop_destroy(loop);

    cr_assert_eq(run.replies, 2);
    cr_assert_eq(run.load_rc, 0, "%s", vigil_counter_store_error(fx.store));
    cr_assert_eq(run.flush_rc, 0, "%s", vigil_counter_store_error(fx.store));
    cr_assert(run.res.accepted);
    cr_assert_eq(cmd_int("GET vigil:{" NS "}:c:auth_failures:%lld",
                         (long long)bucket10(t0)),
                 5);
    cr_assert_eq(cmd_int("HGET vigil:{" NS "}:offsets:" GROUP " events:3"), 50);
    vigil_flush_result_fini(&run.res);
    vigil_batch_destroy(run.batch);
}

/* ---- findings ---- */

#define FINDINGS "vigil:{" NS "}:findings"

static struct vigil_batch *new_batch_findings(size_t max_findings)
{
    const char *why = NULL;
    struct vigil_batch_config cfg = {
        .counters = defs,
        .n_counters = sizeof(defs) / sizeof(defs[0]),
        .retention_s = RETENTION,
        .max_findings = max_findings,
    };
    struct vigil_batch *b = vigil_batch_create(&cfg, &why);
    cr_assert_not_null(b, "%s", why);
    vigil_batch_reset(b, now_ms);
    return b;
}

/* Adds a finding of rule `rule` with one capture, from events:0@offset. */
static void add_finding(struct vigil_batch *b, const char *rule,
                        const char *src_ip, int offset)
{
    char off[16];
    snprintf(off, sizeof(off), "%d", offset);
    struct vigil_batch_field f[] = {
        {sv("rule"), sv(rule)},
        {sv("severity"), sv("high")},
        {sv("at"), sv("2023-11-14T22:13:20Z")},
        {sv("src_ip"), sv(src_ip)},
        {sv("topic"), sv("events")},
        {sv("partition"), sv("0")},
        {sv("offset"), sv(off)},
    };
    cr_assert_eq(vigil_batch_finding(b, f, sizeof(f) / sizeof(f[0])), 0);
}

/* Field `name` of stream entry e, or NULL. */
static const char *entry_field(const redisReply *e, const char *name)
{
    const redisReply *kv = e->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1]->str;
    return NULL;
}

Test(counter_store, a_fenced_batch_writes_no_finding_an_accepted_one_each_once)
{
    struct vigil_batch *b = new_batch_findings(100);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, t0, 1), 0);
    add_finding(b, "sshd.fail", "203.0.113.7", 0);
    add_finding(b, "sshd.fail", "198.51.100.2", 1);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 2), 0);
    flush_ok(b);
    cr_assert_eq(cmd_int("XLEN " FINDINGS), 2);

    /* A retry of the same batch (its reply was lost) is fenced off. */
    struct vigil_flush_result res = {0};
    cr_assert_eq(vigil_counter_store_flush(fx.store, fx.ctx, b, &res), 0);
    cr_assert_not(res.accepted);
    cr_assert_eq(cmd_int("XLEN " FINDINGS), 2, "no finding twice");

    /* A zombie's batch that does not continue at 2: rejected, nothing. */
    vigil_batch_reset(b, now_ms);
    add_finding(b, "sshd.fail", "192.0.2.99", 1);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 1, 2), 0);
    cr_assert_eq(vigil_counter_store_flush(fx.store, fx.ctx, b, &res), 0);
    cr_assert_not(res.accepted);
    cr_assert_eq(cmd_int("XLEN " FINDINGS), 2);

    /* The batch that does continue lands, with its one finding. */
    vigil_batch_reset(b, now_ms);
    add_finding(b, "av.detection", "192.0.2.1", 2);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 2, 3), 0);
    flush_ok(b);

    redisReply *r = cmd("XRANGE " FINDINGS " - +");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 3);
    const char *ips[] = {"203.0.113.7", "198.51.100.2", "192.0.2.1"};
    const char *offs[] = {"0", "1", "2"};
    for (size_t i = 0; i < 3; i++) {
        const redisReply *e = r->element[i];
        cr_assert_eq(e->element[1]->elements, 14, "seven fields, in order");
        cr_assert_str_eq(e->element[1]->element[0]->str, "rule");
        cr_assert_str_eq(entry_field(e, "src_ip"), ips[i]);
        cr_assert_str_eq(entry_field(e, "offset"), offs[i]);
        cr_assert_str_eq(entry_field(e, "topic"), "events");
        cr_assert_str_eq(entry_field(e, "at"), "2023-11-14T22:13:20Z");
    }
    cr_assert_str_eq(entry_field(r->element[2], "rule"), "av.detection");
    freeReplyObject(r);
    /* Capped, not expiring like the counters. */
    cr_assert_eq(cmd_int("TTL " FINDINGS), -1);
    cr_assert_gt(cmd_int("TTL vigil:{" NS "}:c:auth_failures:%lld",
                         (long long)bucket10(t0)),
                 0);
    vigil_flush_result_fini(&res);
    vigil_batch_destroy(b);
}

Test(counter_store, caps_the_findings_stream_at_its_max_len)
{
    struct vigil_counter_store_config cfg = {
        .ns = NS, .group = GROUP, .findings_max_len = 10};
    struct vigil_counter_store *store = vigil_counter_store_create(&cfg);
    cr_assert_not_null(store);
    struct vigil_batch *b = new_batch_findings(1000);
    struct vigil_flush_result res = {0};
    for (int batch = 0; batch < 20; batch++) {
        vigil_batch_reset(b, now_ms);
        for (int i = 0; i < 50; i++)
            add_finding(b, "r", "x", batch * 50 + i);
        cr_assert_eq(vigil_counter_store_flush(store, fx.ctx, b, &res), 0);
        cr_assert(res.accepted);
    }
    /* MAXLEN ~ trims whole stream nodes (100 entries by default): the
     * stream stays near the cap, far below the 1000 written. */
    int64_t n = cmd_int("XLEN " FINDINGS);
    cr_assert_geq(n, 10);
    cr_assert_leq(n, 10 + 100 + 50, "XLEN %lld", (long long)n);
    vigil_flush_result_fini(&res);
    vigil_batch_destroy(b);
    vigil_counter_store_destroy(store);
}

Test(counter_store, a_batch_of_findings_alone_is_written_as_replay_does)
{
    struct vigil_batch *b = new_batch_findings(10);
    add_finding(b, "r", "1.2.3.4", 7);
    cr_assert_not(vigil_batch_is_empty(b));
    flush_ok(b);
    cr_assert_eq(cmd_int("XLEN " FINDINGS), 1);
    vigil_batch_destroy(b);
}
