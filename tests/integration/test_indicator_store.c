/*
 * indicator_store against a real redis-server: window reads of every
 * query kind over the docs/REDIS.md layout, the state CAS with history,
 * breaches and outbox, three evaluators racing, resuming from Redis.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "counter_store.h"
#include "indicator.h"
#include "indicator_store.h"
#include "redis_server.h"

#define NS "t"
#define RES 10
/* A bucket boundary; windows end here. */
#define NOW_S 1700000000LL
#define NOW_MS (NOW_S * 1000)

static unsigned kind_of(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "fails") == 0)
        return VIGIL_EXPR_ON_PLAIN;
    if (strcmp(name, "by_src") == 0)
        return VIGIL_EXPR_ON_BY;
    if (strcmp(name, "users") == 0)
        return VIGIL_EXPR_ON_DISTINCT;
    if (strcmp(name, "bytes") == 0)
        return VIGIL_EXPR_ON_SUM;
    if (strcmp(name, "contain") == 0)
        return VIGIL_EXPR_ON_PAIR;
    return 0;
}

static int64_t res_of(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "contain") == 0 ? 60 : 0;
}

static struct {
    struct vigil_test_redis *redis;
    redisContext *ctx;
    struct vigil_indicator_store *store;
    struct vigil_indicator_set *set;
} fx;

static redisContext *connect_redis(void)
{
    redisContext *c = vigil_test_redis_connect(fx.redis, 5000);
    cr_assert_not_null(c);
    return c;
}

static struct vigil_indicator_store *new_store(uint64_t min_interval_ms)
{
    struct vigil_indicator_store_config cfg = {
        .ns = NS,
        .counter_kind = kind_of,
        .counter_resolution = res_of,
        .resolution_s = RES,
        .min_interval_ms = min_interval_ms,
    };
    struct vigil_indicator_store *s = vigil_indicator_store_create(&cfg);
    cr_assert_not_null(s);
    return s;
}

static void setup(void)
{
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.ctx = connect_redis();
    fx.store = new_store(0);
}

static void teardown(void)
{
    vigil_indicator_set_destroy(fx.set);
    vigil_indicator_store_destroy(fx.store);
    if (fx.ctx)
        redisFree(fx.ctx);
    vigil_test_redis_stop(fx.redis);
    memset(&fx, 0, sizeof(fx));
}

TestSuite(indicator_store, .init = setup, .fini = teardown);

static void cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(fx.ctx, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r);
    cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
    freeReplyObject(r);
}

static long long integer(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(fx.ctx, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* One indicator per value, frequency 15s, decision breach >= 50. */
static void load(const char *values[], size_t n, const char *extra)
{
    char text[16384];
    size_t off = snprintf(text, sizeof(text), "indicators:\n");
    for (size_t i = 0; i < n; i++)
        off += snprintf(text + off, sizeof(text) - off,
                        "  - id: I%zu\n"
                        "    name: Indicator %zu\n"
                        "    information_need: n\n"
                        "    kind: performance\n"
                        "    entity: e\n"
                        "    owner: o\n"
                        "    data_source: d\n"
                        "    frequency: 15s\n"
                        "    unit: u\n"
                        "    target: \"< 50\"\n"
                        "    decision: { breach: \">= 50\", ok: \"< 50\" }\n"
                        "    value: \"%s\"\n%s",
                        i, i, values[i], extra);
    struct vigil_diags d = {0};
    struct vigil_indicator_source src = {"t.yaml", text, off};
    fx.set = vigil_indicator_set_load_sources(&src, 1, NULL, &d);
    if (!fx.set)
        vigil_diags_print(&d, stderr);
    vigil_diags_fini(&d);
    cr_assert_not_null(fx.set);
}

static void evaluate(struct vigil_indicator_store *s, redisContext *c,
                     int64_t now, struct vigil_indicator_eval *out)
{
    const struct vigil_indicator *inds[32];
    for (size_t i = 0; i < fx.set->n; i++)
        inds[i] = &fx.set->v[i];
    int rc = vigil_indicator_store_evaluate(s, c, inds, fx.set->n, now, out);
    cr_assert_eq(rc, 0, "%s", vigil_indicator_store_error(s));
}

#define B(j) ((long long)(NOW_S - (j)*RES))

Test(indicator_store, reads_every_query_kind_over_a_window)
{
    /* 5m = 30 buckets of 10s: j = 0..29 are inside, 30 is not. */
    cmd("SET vigil:{t}:c:fails:%lld 3", B(0));
    cmd("SET vigil:{t}:c:fails:%lld 4", B(29));
    cmd("SET vigil:{t}:c:fails:%lld 100", B(30));
    cmd("HSET vigil:{t}:c:by_src:%lld a 5 b 1", B(0));
    cmd("HSET vigil:{t}:c:by_src:%lld a 2 c 9", B(3));
    cmd("PFADD vigil:{t}:d:users:%lld u1 u2 u3", B(0));
    cmd("PFADD vigil:{t}:d:users:%lld u3 u4", B(10));
    cmd("SET vigil:{t}:c:bytes:%lld 1.5", B(1));
    cmd("SET vigil:{t}:c:bytes:%lld 2.25", B(2));
    /* Pairs: 60s buckets; 1s, 2s, 10s and 100s durations. */
    long long p0 = NOW_S / 60 * 60, p1 = p0 - 60;
    cmd("HSET vigil:{t}:p:contain:%lld count 3 sum 13000 within 2 b%u 1 "
        "b%u 1 b%u 1",
        p0, vigil_batch_bin(1000), vigil_batch_bin(2000),
        vigil_batch_bin(10000));
    cmd("HSET vigil:{t}:p:contain:%lld count 1 sum 100000 within 0 b%u 1", p1,
        vigil_batch_bin(100000));
    cmd("HSET vigil:{t}:p:contain:open k1 1 k2 2");

    const char *values[] = {
        "count(fails, 5m)",
        "count(fails, 5m, offset=10s)",
        "top(by_src, 5m)",
        "count(by_src, 5m)",
        "distinct(users, 5m)",
        "sum(bytes, 5m)",
        "count(contain, 5m)",
        "avg(contain, 5m)",
        "within(contain, 5m)",
        "open(contain)",
        "pctl(contain, 5m, 50)",
        "pctl(contain, 5m, 100)",
        "avg(contain, 5m, offset=1h)",
        "count(nope, 5m)",
        "rate(fails, 5m) * 300",
    };
    size_t n = sizeof(values) / sizeof(values[0]);
    load(values, n, "");
    struct vigil_indicator_eval out[32];
    evaluate(fx.store, fx.ctx, NOW_MS, out);
    double want[] = {7, 104, 9, 17, 4, 3.75, 4, 28.25, 2, 2, 0, 0, 0, 0, 7};
    bool has[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1};
    for (size_t i = 0; i < n; i++) {
        if (i == 10 || i == 11)
            continue;
        cr_assert_eq(out[i].has_value, has[i], "%s", values[i]);
        if (has[i])
            cr_assert_float_eq(out[i].value, want[i], 1e-9, "%s: %g", values[i],
                               out[i].value);
    }
    /* Bin middles: 2s lies in the bin [1792, 2048) ms; 100s in
     * [98304, 114688). */
    cr_assert(out[10].value > 1.75 && out[10].value < 2.1, "%g", out[10].value);
    cr_assert(out[11].value > 98 && out[11].value < 115, "%g", out[11].value);
    /* Offenders: c 9, a 7 (5 + 2), b 1. */
    cr_assert_eq(out[2].n_top, 3);
    cr_assert_str_eq(out[2].top[0].key, "c");
    cr_assert_eq(out[2].top[0].count, 9);
    cr_assert_str_eq(out[2].top[1].key, "a");
    cr_assert_eq(out[2].top[1].count, 7);
    vigil_indicator_eval_fini(out, n);
}

Test(indicator_store, records_state_history_breach_and_outbox)
{
    const char *values[] = {"count(fails, 5m)"};
    load(values, 1, "    severity: high\n    labels: { team: soc }\n");
    struct vigil_indicator_eval out[1];
    cmd("SET vigil:{t}:c:fails:%lld 10", B(0));
    evaluate(fx.store, fx.ctx, NOW_MS, out);
    cr_assert_eq(out[0].outcome, VIGIL_EVAL_RECORDED);
    cr_assert_eq(out[0].state.state, VIGIL_STATE_OK);
    cr_assert_eq(out[0].state.version, 1);
    cmd("SET vigil:{t}:c:fails:%lld 60", B(0));
    evaluate(fx.store, fx.ctx, NOW_MS + 15000, out);
    cr_assert_eq(out[0].event.kind, VIGIL_EVENT_OPENED);
    cr_assert_eq(out[0].state.version, 2);
    vigil_indicator_eval_fini(out, 1);

    cr_assert_eq(integer("XLEN vigil:{t}:hist:I0"), 2);
    cr_assert_eq(integer("XLEN vigil:{t}:breaches"), 2, "changed + opened");
    cr_assert_eq(integer("XLEN vigil:{t}:outbox"), 1);
    redisReply *r = redisCommand(fx.ctx, "XRANGE vigil:{t}:outbox - +");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    redisReply *fields = r->element[0]->element[1];
    char want_dedup[64];
    snprintf(want_dedup, sizeof(want_dedup), "I0:%lld", NOW_MS + 15000);
    bool saw_dedup = false, saw_label = false, saw_action = false;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const char *f = fields->element[i]->str;
        const char *v = fields->element[i + 1]->str;
        if (strcmp(f, "dedup") == 0)
            saw_dedup = strcmp(v, want_dedup) == 0;
        if (strcmp(f, "label.team") == 0)
            saw_label = strcmp(v, "soc") == 0;
        if (strcmp(f, "action") == 0)
            saw_action = strcmp(v, "trigger") == 0;
        if (strcmp(f, "state") == 0)
            cr_assert_str_eq(v, "breach");
        if (strcmp(f, "previous") == 0)
            cr_assert_str_eq(v, "ok");
        if (strcmp(f, "severity") == 0)
            cr_assert_str_eq(v, "high");
    }
    cr_assert(saw_dedup && saw_label && saw_action);
    freeReplyObject(r);

    r = redisCommand(fx.ctx, "HGET vigil:{t}:state:I0 state");
    cr_assert_str_eq(r->str, "breach");
    freeReplyObject(r);
}

Test(indicator_store, a_breach_never_resolves_when_redis_has_no_data)
{
    const char *values[] = {"avg(contain, 5m)"};
    load(values, 1, "    no_data: ok\n");
    long long p0 = NOW_S / 60 * 60;
    cmd("HSET vigil:{t}:p:contain:%lld count 1 sum 100000", p0);
    struct vigil_indicator_eval out[1];
    evaluate(fx.store, fx.ctx, NOW_MS, out);
    cr_assert_eq(out[0].state.state, VIGIL_STATE_BREACH);
    cmd("DEL vigil:{t}:p:contain:%lld", p0);
    evaluate(fx.store, fx.ctx, NOW_MS + 15000, out);
    cr_assert_not(out[0].has_value);
    cr_assert_eq(out[0].state.state, VIGIL_STATE_BREACH);
    cr_assert_eq(out[0].event.kind, VIGIL_EVENT_NONE);
}

Test(indicator_store, a_new_evaluator_resumes_pending_from_redis)
{
    const char *values[] = {"count(fails, 5m)"};
    load(values, 1, "    for: 1m\n");
    cmd("SET vigil:{t}:c:fails:%lld 60", B(0));
    struct vigil_indicator_eval out[1];
    evaluate(fx.store, fx.ctx, NOW_MS, out);
    cr_assert(out[0].view.pending);
    cr_assert_eq(out[0].view.pending_since_ms, NOW_MS);
    /* A restart: a new store and connection, nothing kept in memory. */
    vigil_indicator_store_destroy(fx.store);
    redisFree(fx.ctx);
    fx.ctx = connect_redis();
    fx.store = new_store(0);
    evaluate(fx.store, fx.ctx, NOW_MS + 45000, out);
    cr_assert_eq(out[0].state.state, VIGIL_STATE_NO_DATA);
    cr_assert_eq(out[0].view.pending_since_ms, NOW_MS, "the start is kept");
    evaluate(fx.store, fx.ctx, NOW_MS + 60000, out);
    cr_assert_eq(out[0].event.kind, VIGIL_EVENT_OPENED);
    redisReply *r = redisCommand(fx.ctx, "HGET vigil:{t}:state:I0 "
                                         "breach_run");
    char want[32];
    snprintf(want, sizeof(want), "%lld", NOW_MS);
    cr_assert_str_eq(r->str, want);
    freeReplyObject(r);
}

Test(indicator_store, reloads_scripts_after_script_flush)
{
    const char *values[] = {"count(fails, 5m)"};
    load(values, 1, "");
    struct vigil_indicator_eval out[1];
    evaluate(fx.store, fx.ctx, NOW_MS, out);
    cmd("SCRIPT FLUSH");
    evaluate(fx.store, fx.ctx, NOW_MS + 15000, out);
    cr_assert_eq(out[0].outcome, VIGIL_EVAL_RECORDED);
}

Test(indicator_store, min_interval_skips_a_second_evaluation)
{
    vigil_indicator_store_destroy(fx.store);
    fx.store = new_store(7500);
    const char *values[] = {"count(fails, 5m)"};
    load(values, 1, "");
    struct vigil_indicator_eval out[1];
    evaluate(fx.store, fx.ctx, NOW_MS, out);
    cr_assert_eq(out[0].outcome, VIGIL_EVAL_RECORDED);
    evaluate(fx.store, fx.ctx, NOW_MS + 3000, out);
    cr_assert_eq(out[0].outcome, VIGIL_EVAL_SKIPPED);
    evaluate(fx.store, fx.ctx, NOW_MS + 15000, out);
    cr_assert_eq(out[0].outcome, VIGIL_EVAL_RECORDED);
    cr_assert_eq(integer("XLEN vigil:{t}:hist:I0"), 2);
}

/* ---- Three evaluators racing ---- */

struct racer {
    pthread_barrier_t *barrier;
    redisContext *ctx;
    struct vigil_indicator_store *store;
    struct vigil_indicator_eval out;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    const struct vigil_indicator *ind = &fx.set->v[0];
    pthread_barrier_wait(r->barrier);
    r->rc = vigil_indicator_store_evaluate(r->store, r->ctx, &ind, 1,
                                           NOW_MS + 15000, &r->out);
    return NULL;
}

Test(indicator_store, three_evaluators_racing_record_one_transition)
{
    const char *values[] = {"count(fails, 5m)"};
    load(values, 1, "");
    cmd("SET vigil:{t}:c:fails:%lld 1", B(0));
    struct vigil_indicator_eval out[1];
    evaluate(fx.store, fx.ctx, NOW_MS, out);
    cr_assert_eq(out[0].state.state, VIGIL_STATE_OK);
    cmd("SET vigil:{t}:c:fails:%lld 99", B(0));
    cmd("DEL vigil:{t}:breaches");

    for (int round = 0; round < 20; round++) {
        struct racer r[3];
        pthread_t th[3];
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, 3);
        /* Back to ok at the same version for every round. */
        cmd("HSET vigil:{t}:state:I0 state ok raw ok breach_run %s "
            "warn_run %s last_eval %lld",
            "", "", NOW_MS);
        cmd("DEL vigil:{t}:breaches vigil:{t}:outbox");
        for (int i = 0; i < 3; i++) {
            r[i] = (struct racer){.barrier = &barrier,
                                  .ctx = connect_redis(),
                                  .store = new_store(0)};
            pthread_create(&th[i], NULL, race, &r[i]);
        }
        int opened = 0, recorded = 0;
        for (int i = 0; i < 3; i++) {
            pthread_join(th[i], NULL);
            cr_assert_eq(r[i].rc, 0, "%s",
                         vigil_indicator_store_error(r[i].store));
            if (r[i].out.outcome == VIGIL_EVAL_RECORDED)
                recorded++;
            if (r[i].out.event.kind == VIGIL_EVENT_OPENED)
                opened++;
            vigil_indicator_eval_fini(&r[i].out, 1);
            vigil_indicator_store_destroy(r[i].store);
            redisFree(r[i].ctx);
        }
        pthread_barrier_destroy(&barrier);
        cr_assert_eq(opened, 1, "round %d: %d opened", round, opened);
        cr_assert_geq(recorded, 1);
        cr_assert_eq(integer("XLEN vigil:{t}:breaches"), 1, "round %d", round);
        cr_assert_eq(integer("XLEN vigil:{t}:outbox"), 1, "round %d", round);
    }
}
