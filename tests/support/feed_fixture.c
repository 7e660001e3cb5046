#include "feed_fixture.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char vigil_test_feed_indicators[] =
    "indicators:\n"
    "  - id: KPI-BF\n"
    "    name: SSH brute-force pressure\n"
    "    information_need: Are passwords being guessed?\n"
    "    kind: effectiveness\n"
    "    entity: Bastion hosts\n"
    "    owner: soc-lead\n"
    "    data_source: sshd\n"
    "    frequency: 15s\n"
    "    value: top(fails_by_src, 5m)\n"
    "    unit: failures per source per 5m\n"
    "    target: \"< 20\"\n"
    "    decision: { breach: \">= 50\", warn: \">= 20\", ok: \"< 20\" }\n"
    "    severity: high\n"
    "    labels: { iso27001: \"A.8.5\" }\n"
    "  - id: KPI-LOG\n"
    "    name: Log-source silence\n"
    "    information_need: Are the log sources reporting?\n"
    "    kind: performance\n"
    "    entity: Log pipeline\n"
    "    owner: platform\n"
    "    data_source: heartbeats\n"
    "    frequency: 1m\n"
    "    value: count(heartbeats, 10m)\n"
    "    unit: heartbeats per 10m\n"
    "    target: \">= 1\"\n"
    "    decision: { breach: \"< 1\", ok: \">= 1\" }\n";

static redisContext *fixture_connect(void *ctx)
{
    const struct vigil_test_feed *fx = ctx;
    struct timeval tv = {2, 0};
    redisContext *c =
        redisConnectWithTimeout(fx->redis_host, fx->redis_port, tv);
    if (c && !c->err)
        redisSetTimeout(c, tv);
    return c;
}

static int64_t fixture_now(void *ctx)
{
    const struct vigil_test_feed *fx = ctx;
    return fx->now_ms;
}

int vigil_test_feed_init(struct vigil_test_feed *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->now_ms = 1700000000000LL;
    fx->redis = vigil_test_redis_start(NULL);
    if (!fx->redis)
        return -1;
    snprintf(fx->redis_host, sizeof(fx->redis_host), "%s",
             vigil_test_redis_host(fx->redis));
    fx->redis_port = vigil_test_redis_port(fx->redis);
    fx->rc = vigil_test_redis_connect(fx->redis, 2000);
    struct vigil_indicator_source src = {"test.yaml",
                                         vigil_test_feed_indicators,
                                         strlen(vigil_test_feed_indicators)};
    struct vigil_diags d;
    vigil_diags_init(&d);
    fx->set = vigil_indicator_set_load_sources(&src, 1, NULL, &d);
    if (!fx->set)
        vigil_diags_print(&d, stderr);
    vigil_diags_fini(&d);
    return fx->rc && fx->set ? 0 : -1;
}

int vigil_test_feed_start(struct vigil_test_feed *fx,
                          const struct vigil_feed_config *cfg)
{
    struct vigil_feed_config c = {0};
    if (cfg)
        c = *cfg;
    if (!c.host)
        c.host = "127.0.0.1";
    if (!c.ns)
        c.ns = VIGIL_TEST_FEED_NS;
    c.indicators = fx->set;
    if (!c.connect) {
        c.connect = fixture_connect;
        c.connect_ctx = fx;
    }
    if (!c.now_ms) {
        c.now_ms = fixture_now;
        c.now_ctx = fx;
    }
    char err[256];
    fx->feed = vigil_feed_create(&c, err, sizeof(err));
    if (!fx->feed || vigil_feed_start(fx->feed, err, sizeof(err)) < 0) {
        fprintf(stderr, "feed: %s\n", err);
        return -1;
    }
    snprintf(fx->base, sizeof(fx->base), "http://127.0.0.1:%d",
             vigil_feed_port(fx->feed));
    return 0;
}

const char *vigil_test_feed_url(const struct vigil_test_feed *fx,
                                const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", fx->base, path);
    return buf;
}

static int command_ok(redisContext *rc, redisReply *r)
{
    int ok = r && r->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (!r)
        fprintf(stderr, "redis: %s\n", rc->errstr);
    else if (ok < 0)
        fprintf(stderr, "redis: %s\n", r->str);
    if (r)
        freeReplyObject(r);
    return ok;
}

int vigil_test_feed_publish(struct vigil_test_feed *fx, const char *id,
                            double value, enum vigil_state state, bool has_prev,
                            enum vigil_state previous)
{
    const struct vigil_indicator *ind = vigil_indicator_set_find(fx->set, id);
    if (!ind)
        return -1;
    char v[64], since[32];
    snprintf(v, sizeof(v), "%.17g", value);
    snprintf(since, sizeof(since), "%" PRId64, fx->now_ms);
    if (command_ok(fx->rc, redisCommand(fx->rc,
                                        "XADD vigil:{%s}:hist:%s * value %s "
                                        "state %s",
                                        VIGIL_TEST_FEED_NS, id, v,
                                        vigil_state_name(state))) < 0)
        return -1;
    struct vigil_istate_event ev = {.kind = VIGIL_EVENT_NONE};
    if (has_prev) {
        ev.kind = state == VIGIL_STATE_BREACH      ? VIGIL_EVENT_OPENED
                  : previous == VIGIL_STATE_BREACH ? VIGIL_EVENT_RESOLVED
                                                   : VIGIL_EVENT_CHANGED;
        ev.state = state;
        ev.previous = previous;
        ev.since_ms = fx->now_ms;
        ev.previous_since_ms = fx->now_ms - 60000;
        ev.has_value = true;
        ev.value = value;
        ev.notify = state == VIGIL_STATE_BREACH;
        ev.episode_ms = fx->now_ms;
        if (command_ok(
                fx->rc,
                redisCommand(
                    fx->rc,
                    "XADD vigil:{%s}:breaches * indicator %s event %s state "
                    "%s previous %s value %s since %s previous_since %" PRId64
                    " duration_ms 60000 severity %s episode %s",
                    VIGIL_TEST_FEED_NS, id, vigil_event_kind_name(ev.kind),
                    vigil_state_name(state), vigil_state_name(previous), v,
                    since, fx->now_ms - 60000, ind->severity,
                    ev.notify ? since : "")) < 0)
            return -1;
    }
    struct vigil_expr_key_count top[2] = {{"203.0.113.7", 11, value},
                                          {"198.51.100.2", 12, value / 2}};
    struct vigil_istate_view view = {.raw = state};
    struct vigil_indicator_snapshot snap = {
        .ind = ind,
        .at_ms = fx->now_ms,
        .outcome = VIGIL_EVAL_RECORDED,
        .has_value = true,
        .value = value,
        .state = state,
        .since_ms = has_prev ? fx->now_ms : fx->now_ms - 3600000,
        .view = &view,
        .event = &ev,
        .top = strcmp(id, "KPI-BF") == 0 ? top : NULL,
        .n_top = strcmp(id, "KPI-BF") == 0 ? 2 : 0,
    };
    vigil_feed_publish(fx->feed, &snap);
    return 0;
}

void vigil_test_feed_fini(struct vigil_test_feed *fx)
{
    vigil_feed_destroy(fx->feed);
    fx->feed = NULL;
    vigil_indicator_set_destroy(fx->set);
    fx->set = NULL;
    if (fx->rc)
        redisFree(fx->rc);
    fx->rc = NULL;
    vigil_test_redis_stop(fx->redis);
    fx->redis = NULL;
}
