/*
 * evaluator on a real libev loop against a real redis-server: one timer
 * per frequency group, snapshots for the feed, resuming from Redis after
 * a restart, surviving a Redis outage, and a loop that ends cleanly once
 * the evaluator stops.
 */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluator.h"
#include "redis_server.h"
#include "support.h"

#define NOW_S 1700000000LL
#define NOW_MS (NOW_S * 1000)

static unsigned kind_of(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "fails") == 0 ? VIGIL_EXPR_ON_PLAIN : 0;
}

static const char indicators[] =
    "indicators:\n"
    "  - id: FAST\n"
    "    name: Fast one\n"
    "    information_need: n\n"
    "    kind: performance\n"
    "    entity: e\n"
    "    owner: alice\n"
    "    data_source: d\n"
    "    frequency: 1s\n"
    "    unit: failures\n"
    "    target: \"< 50\"\n"
    "    decision: { breach: \">= 50\", ok: \"< 50\" }\n"
    "    for: 1m\n"
    "    value: count(fails, 5m)\n"
    "  - id: SLOW\n"
    "    name: Slow one\n"
    "    information_need: n\n"
    "    kind: effectiveness\n"
    "    entity: e\n"
    "    owner: bob\n"
    "    data_source: d\n"
    "    frequency: 2s\n"
    "    unit: failures\n"
    "    target: \"< 50\"\n"
    "    decision: { breach: \">= 50\", ok: \"< 50\" }\n"
    "    value: count(fails, 10m)\n";

static struct {
    struct vigil_test_redis *redis;
    struct vigil_indicator_set *set;
    struct vigil_indicator_store *store;
    struct ev_loop *loop;
    int64_t now;
    int fast, slow;
    enum vigil_state last_fast;
    int64_t last_pending_since;
    struct vigil_evaluator *ev;
} fx;

static redisContext *connect_redis(void *ctx)
{
    (void)ctx;
    return vigil_test_redis_connect(fx.redis, 2000);
}

static int64_t clock_ms(void *ctx)
{
    (void)ctx;
    return fx.now;
}

static void on_snapshot(void *ctx, const struct vigil_indicator_snapshot *s)
{
    (void)ctx;
    if (strcmp(s->ind->id, "FAST") == 0) {
        fx.fast++;
        fx.last_fast = s->state;
        fx.last_pending_since =
            s->view->pending ? s->view->pending_since_ms : 0;
        cr_assert_str_eq(s->ind->owner, "alice");
        if (fx.fast == 3 && fx.ev)
            vigil_evaluator_stop(fx.ev);
    } else {
        fx.slow++;
    }
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    struct vigil_diags d = {0};
    struct vigil_indicator_source src = {"e.yaml", indicators,
                                         sizeof(indicators) - 1};
    fx.set = vigil_indicator_set_load_sources(&src, 1, NULL, &d);
    vigil_diags_fini(&d);
    cr_assert_not_null(fx.set);
    struct vigil_indicator_store_config sc = {
        .ns = "t", .counter_kind = kind_of, .resolution_s = 10};
    fx.store = vigil_indicator_store_create(&sc);
    cr_assert_not_null(fx.store);
    fx.loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_not_null(fx.loop);
    fx.now = NOW_MS;
}

static void teardown(void)
{
    vigil_evaluator_destroy(fx.ev);
    if (fx.loop)
        ev_loop_destroy(fx.loop);
    vigil_indicator_store_destroy(fx.store);
    vigil_indicator_set_destroy(fx.set);
    vigil_test_redis_stop(fx.redis);
}

TestSuite(evaluator, .init = setup, .fini = teardown);

static struct vigil_evaluator *new_evaluator(void)
{
    struct vigil_evaluator_config cfg = {
        .loop = fx.loop,
        .set = fx.set,
        .store = fx.store,
        .connect = connect_redis,
        .on_snapshot = on_snapshot,
        .now_ms = clock_ms,
    };
    struct vigil_evaluator *e = vigil_evaluator_create(&cfg);
    cr_assert_not_null(e);
    return e;
}

static void set_fails(int n)
{
    redisContext *c = vigil_test_redis_connect(fx.redis, 2000);
    cr_assert_not_null(c);
    redisReply *r = redisCommand(c, "SET vigil:{t}:c:fails:%lld %d", NOW_S, n);
    cr_assert_not_null(r);
    freeReplyObject(r);
    redisFree(c);
}

Test(evaluator, timers_per_frequency_feed_snapshots_and_the_loop_ends)
{
    set_fails(5);
    fx.ev = new_evaluator();
    cr_assert_eq(vigil_evaluator_groups(fx.ev), 2);
    vigil_evaluator_start(fx.ev);
    /* FAST stops the evaluator at its third tick (0s, 1s, 2s); ev_run
     * returns only when no watcher is left. */
    ev_run(fx.loop, 0);
    cr_assert_eq(fx.fast, 3);
    cr_assert_geq(fx.slow, 1);
    cr_assert_leq(fx.slow, 2);
    cr_assert_eq(fx.last_fast, VIGIL_STATE_OK);
}

Test(evaluator, a_restart_resumes_the_pending_start_from_redis)
{
    set_fails(60);
    fx.ev = new_evaluator();
    cr_assert_eq(vigil_evaluator_run_once(fx.ev), 0);
    cr_assert_eq(fx.last_fast, VIGIL_STATE_NO_DATA);
    cr_assert_eq(fx.last_pending_since, NOW_MS);
    vigil_evaluator_destroy(fx.ev);

    fx.ev = new_evaluator();
    fx.now = NOW_MS + 30000;
    cr_assert_eq(vigil_evaluator_run_once(fx.ev), 0);
    cr_assert_eq(fx.last_pending_since, NOW_MS);
    vigil_evaluator_destroy(fx.ev);

    fx.ev = new_evaluator();
    fx.now = NOW_MS + 60000;
    cr_assert_eq(vigil_evaluator_run_once(fx.ev), 0);
    cr_assert_eq(fx.last_fast, VIGIL_STATE_BREACH);
}

Test(evaluator, survives_a_redis_outage)
{
    set_fails(5);
    fx.ev = new_evaluator();
    cr_assert_eq(vigil_evaluator_run_once(fx.ev), 0);
    int before = fx.fast;
    cr_assert_eq(vigil_test_redis_kill(fx.redis), 0);
    fx.now += 15000;
    cr_assert_eq(vigil_evaluator_run_once(fx.ev), -1);
    cr_assert_eq(fx.fast, before, "no snapshot without a recorded state");
    cr_assert_eq(vigil_test_redis_restart(fx.redis), 0);
    set_fails(5);
    fx.now += 15000;
    cr_assert_eq(vigil_evaluator_run_once(fx.ev), 0);
    cr_assert_eq(fx.fast, before + 1);
}

/* vigild status reads what the evaluator stored. */
Test(evaluator, vigild_status_shows_the_stored_states)
{
    set_fails(60);
    fx.ev = new_evaluator();
    cr_assert_eq(vigil_evaluator_run_once(fx.ev), 0);

    char *dir = vigil_test_tmpdir("vigil-status");
    cr_assert_not_null(dir);
    char *rules = vigil_test_write_file(dir, "rules.yaml", "rules: []\n");
    char *inds = vigil_test_write_file(dir, "ind.yaml", indicators);
    char cfg_text[512];
    snprintf(cfg_text, sizeof(cfg_text),
             "redis:\n  url: \"%s\"\n  namespace: t\n"
             "rules: [\"rules.yaml\"]\nindicators: [\"ind.yaml\"]\n",
             vigil_test_redis_url(fx.redis));
    char *cfg = vigil_test_write_file(dir, "vigil.yaml", cfg_text);
    cr_assert(rules && inds && cfg);

    char *argv[] = {VIGILD_PATH, "status", "-c", cfg, "--json", NULL};
    char *out = NULL, *err = NULL;
    int rc = vigil_test_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    cJSON *root = cJSON_Parse(out);
    cr_assert_not_null(root, "%s", out);
    cJSON *arr = cJSON_GetObjectItem(root, "indicators");
    cr_assert_eq(cJSON_GetArraySize(arr), 2);
    cJSON *fast = cJSON_GetArrayItem(arr, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "id")->valuestring, "FAST");
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "name")->valuestring,
                     "Fast one");
    cr_assert_eq(cJSON_GetObjectItem(fast, "value")->valuedouble, 60);
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "unit")->valuestring,
                     "failures");
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "state")->valuestring,
                     "no_data");
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "pending")->valuestring,
                     "breach");
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "since")->valuestring,
                     "2023-11-14T22:13:20Z");
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "target")->valuestring, "< 50");
    cr_assert_str_eq(cJSON_GetObjectItem(fast, "owner")->valuestring, "alice");
    cJSON *slow = cJSON_GetArrayItem(arr, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(slow, "state")->valuestring, "breach");
    cJSON_Delete(root);
    free(out);
    free(err);

    char *targv[] = {VIGILD_PATH, "status", "-c", cfg, NULL};
    rc = vigil_test_run(targv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "ID "), "%s", out);
    cr_assert(strstr(out, "no_data (pending breach)"), "%s", out);
    cr_assert(strstr(out, "SLOW"), "%s", out);
    free(out);
    free(err);

    vigil_test_rm_rf(dir);
    free(dir);
    free(rules);
    free(inds);
    free(cfg);
}
