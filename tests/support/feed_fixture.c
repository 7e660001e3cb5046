#include "feed_fixture.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"
#include "support.h"

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

/* ---- vigild run with its feed ---- */

static const char daemon_rules[] =
    "pack: feedtest\n"
    "rules:\n"
    "  - id: feedtest.fail\n"
    "    title: login failure\n"
    "    severity: low\n"
    "    match: 'login failed user=(?<user>\\S+) src=(?<src>\\S+)'\n"
    "    record: true\n"
    "    count:\n"
    "      - counter: fails\n"
    "      - counter: fails_by_src\n"
    "        by: src\n"
    "      - counter: failed_users\n"
    "        distinct: user\n"
    "  - id: feedtest.heartbeat\n"
    "    title: log source heartbeat\n"
    "    severity: info\n"
    "    match: '^heartbeat'\n"
    "    count:\n"
    "      - counter: heartbeats\n";

static const char daemon_indicators[] =
    "indicators:\n"
    "  - id: KPI-FAIL\n"
    "    name: Failed logins\n"
    "    information_need: Are passwords being guessed?\n"
    "    kind: effectiveness\n"
    "    entity: Test hosts\n"
    "    owner: soc-lead\n"
    "    data_source: events\n"
    "    frequency: 1s\n"
    "    value: count(fails, 1h)\n"
    "    unit: failures per hour\n"
    "    target: \"< 20\"\n"
    "    decision: { breach: \">= 50\", warn: \">= 20\", ok: \"< 20\" }\n"
    "    page: [breach]\n"
    "    severity: high\n"
    "  - id: KPI-TOP\n"
    "    name: Top source of failures\n"
    "    information_need: Is one source guessing?\n"
    "    kind: effectiveness\n"
    "    entity: Test hosts\n"
    "    owner: soc-lead\n"
    "    data_source: events\n"
    "    frequency: 1s\n"
    "    value: top(fails_by_src, 1h)\n"
    "    unit: failures per source per hour\n"
    "    target: \"< 1000\"\n"
    "    decision: { breach: \">= 1000\", ok: \"< 1000\" }\n"
    "  - id: KPI-HB\n"
    "    name: Log-source heartbeats\n"
    "    information_need: Are the log sources reporting?\n"
    "    kind: performance\n"
    "    entity: Log pipeline\n"
    "    owner: platform\n"
    "    data_source: heartbeats\n"
    "    frequency: 1s\n"
    "    value: count(heartbeats, 10m)\n"
    "    unit: heartbeats per 10m\n"
    "    target: \">= 1\"\n"
    "    decision: { breach: \"< 1\", ok: \">= 1\" }\n";

int vigil_test_feed_daemon_init(struct vigil_test_feed_daemon *d,
                                const char *http_extra)
{
    memset(d, 0, sizeof(*d));
    d->redis = vigil_test_redis_start(NULL);
    d->kafka = d->redis
                   ? vigil_test_kafka_start(1, VIGIL_TEST_FEED_DAEMON_TOPIC, 2)
                   : NULL;
    d->dir = d->kafka ? vigil_test_tmpdir("vigil-feed") : NULL;
    if (!d->dir)
        return -1;
    d->rc = vigil_test_redis_connect(d->redis, 5000);
    d->http_port = vigil_test_free_port();
    snprintf(d->base, sizeof(d->base), "http://127.0.0.1:%d", d->http_port);
    char *cfg = NULL;
    if (asprintf(&cfg,
                 "kafka:\n"
                 "  brokers: \"%s\"\n"
                 "  topics: [\"" VIGIL_TEST_FEED_DAEMON_TOPIC "\"]\n"
                 "  group: \"vigil-feed\"\n"
                 "  workers: 1\n"
                 "  properties:\n"
                 "    session.timeout.ms: \"3000\"\n"
                 "    heartbeat.interval.ms: \"300\"\n"
                 "redis:\n"
                 "  url: \"%s\"\n"
                 "  namespace: \"" VIGIL_TEST_FEED_DAEMON_NS "\"\n"
                 "  command_timeout: 1s\n"
                 "events:\n"
                 "  format: json\n"
                 "rules: [\"rules.yaml\"]\n"
                 "indicators: [\"kpi.yaml\"]\n"
                 "http:\n"
                 "  listen: \"127.0.0.1:%d\"\n"
                 "%s",
                 vigil_test_kafka_bootstraps(d->kafka),
                 vigil_test_redis_url(d->redis), d->http_port,
                 http_extra ? http_extra : "") < 0)
        return -1;
    char *rules = vigil_test_write_file(d->dir, "rules.yaml", daemon_rules);
    char *kpi = vigil_test_write_file(d->dir, "kpi.yaml", daemon_indicators);
    d->cfg_path = vigil_test_write_file(d->dir, "vigil.yaml", cfg);
    free(cfg);
    bool ok = rules && kpi && d->cfg_path && d->rc && d->http_port > 0 &&
              asprintf(&d->log_path, "%s/vigild.log", d->dir) > 0;
    free(rules);
    free(kpi);
    return ok ? 0 : -1;
}

const char *vigil_test_feed_daemon_url(const struct vigil_test_feed_daemon *d,
                                       const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", d->base, path);
    return buf;
}

int vigil_test_feed_daemon_start(struct vigil_test_feed_daemon *d)
{
    char *argv[] = {VIGILD_PATH, "run", "-c", d->cfg_path, NULL};
    d->pid = vigil_test_spawn(argv, d->log_path);
    if (d->pid <= 0) {
        d->pid = 0;
        return -1;
    }
    char url[128];
    vigil_test_feed_daemon_url(d, "/healthz", url, sizeof(url));
    for (int i = 0; i < 300; i++) {
        struct vigil_test_http r;
        int rc = vigil_test_http_request("GET", url, NULL, NULL, &r);
        long status = r.status;
        vigil_test_http_free(&r);
        if (rc == 0 && status == 200)
            return 0;
        if (vigil_test_wait(d->pid, 100) != -2) {
            fprintf(stderr, "vigild exited early; see %s\n", d->log_path);
            d->pid = 0;
            return -1;
        }
    }
    fprintf(stderr, "vigild's feed did not answer; see %s\n", d->log_path);
    return -1;
}

int vigil_test_feed_daemon_produce(struct vigil_test_feed_daemon *d,
                                   unsigned fails, unsigned heartbeats)
{
    size_t n = (size_t)fails + heartbeats;
    struct vigil_test_kafka_msg *msgs = calloc(n + 1, sizeof(*msgs));
    char **payloads = calloc(n + 1, sizeof(*payloads));
    int rc = msgs && payloads ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned k = d->produced++;
        int len = i < fails ? asprintf(&payloads[i],
                                       "{\"message\":\"login failed user=u%u "
                                       "src=10.0.0.%u\"}",
                                       k % 7, k % 5 + 1)
                            : asprintf(&payloads[i],
                                       "{\"message\":\"heartbeat %u\"}", k);
        if (len < 0) {
            payloads[i] = NULL;
            rc = -1;
            break;
        }
        msgs[i] =
            (struct vigil_test_kafka_msg){-1, NULL, payloads[i], (size_t)len};
    }
    if (rc == 0)
        rc = vigil_test_kafka_produce_batch(
            d->kafka, VIGIL_TEST_FEED_DAEMON_TOPIC, msgs, n);
    for (size_t i = 0; payloads && i < n; i++)
        free(payloads[i]);
    free(payloads);
    free(msgs);
    return rc;
}

int vigil_test_feed_daemon_stop(struct vigil_test_feed_daemon *d)
{
    if (d->pid <= 0)
        return 0;
    kill(d->pid, SIGTERM);
    int status = vigil_test_wait(d->pid, 15000);
    if (status == -2) {
        kill(d->pid, SIGKILL);
        vigil_test_wait(d->pid, 5000);
    }
    d->pid = 0;
    return status;
}

void vigil_test_feed_daemon_fini(struct vigil_test_feed_daemon *d)
{
    vigil_test_feed_daemon_stop(d);
    if (d->log_path && getenv("VIGIL_TEST_SHOW_LOG")) {
        char *log = vigil_test_read_file(d->log_path, NULL);
        fprintf(stderr, "%s", log ? log : "");
        free(log);
    }
    if (d->rc)
        redisFree(d->rc);
    vigil_test_kafka_stop(d->kafka);
    vigil_test_redis_stop(d->redis);
    if (d->dir)
        vigil_test_rm_rf(d->dir);
    free(d->dir);
    free(d->cfg_path);
    free(d->log_path);
    memset(d, 0, sizeof(*d));
}

/* ---- headless Chromium ---- */

#define CHROMIUM "/usr/bin/chromium"

struct vigil_test_browser {
    char *dir; /* profile folder */
    pid_t pid;
    struct vigil_test_ws *ws;
    int next_id;
};

/* The first line of dir/DevToolsActivePort: the port, once written. */
static int devtools_port(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/DevToolsActivePort", dir);
    char *text = vigil_test_read_file(path, NULL);
    int port = 0;
    if (text && sscanf(text, "%d", &port) != 1)
        port = 0;
    free(text);
    return port;
}

struct vigil_test_browser *vigil_test_browser_start(char *why, size_t n)
{
    /* VIGIL_TEST_CHROMIUM: another binary (or a missing one, to see the
     * skip). */
    const char *exe = getenv("VIGIL_TEST_CHROMIUM");
    if (!exe || !exe[0])
        exe = CHROMIUM;
    if (access(exe, X_OK) != 0) {
        snprintf(why, n, "%s is not installed (deploy/install-deps.sh --test)",
                 exe);
        return NULL;
    }
    struct vigil_test_browser *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->dir = vigil_test_tmpdir("vigil-chromium");
    char *profile = NULL, *log = NULL;
    if (!b->dir || asprintf(&profile, "--user-data-dir=%s", b->dir) < 0 ||
        asprintf(&log, "%s/chromium.log", b->dir) < 0) {
        snprintf(why, n, "out of memory");
        goto err_stop;
    }
    char *argv[] = {(char *)exe,
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--window-size=1600,1000",
                    "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0",
                    profile,
                    "about:blank",
                    NULL};
    b->pid = vigil_test_spawn(argv, log);
    if (b->pid <= 0) {
        b->pid = 0;
        snprintf(why, n, "cannot start %s", exe);
        goto err_stop;
    }
    int port = 0;
    for (int i = 0; i < 300 && !port; i++) {
        port = devtools_port(b->dir);
        if (!port && vigil_test_wait(b->pid, 100) != -2) {
            b->pid = 0;
            char *text = vigil_test_read_file(log, NULL);
            snprintf(why, n, "%s exited at start: %.300s", exe,
                     text ? text : "");
            free(text);
            goto err_stop;
        }
    }
    if (!port) {
        snprintf(why, n, "%s opened no DevTools port within 30 s", exe);
        goto err_stop;
    }
    /* The blank page's target. */
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/json/list", port);
    char *ws_url = NULL;
    for (int i = 0; i < 100 && !ws_url; i++) {
        struct vigil_test_http r;
        if (vigil_test_http_request("GET", url, NULL, NULL, &r) == 0 &&
            r.status == 200) {
            cJSON *list = cJSON_Parse(r.body), *t;
            cJSON_ArrayForEach(t, list)
            {
                const char *type =
                    cJSON_GetStringValue(cJSON_GetObjectItem(t, "type"));
                const char *ws = cJSON_GetStringValue(
                    cJSON_GetObjectItem(t, "webSocketDebuggerUrl"));
                if (type && ws && strcmp(type, "page") == 0) {
                    ws_url = strdup(ws);
                    break;
                }
            }
            cJSON_Delete(list);
        }
        vigil_test_http_free(&r);
        if (!ws_url)
            vigil_test_wait(b->pid, 100);
    }
    b->ws = ws_url ? vigil_test_ws_connect(ws_url) : NULL;
    free(ws_url);
    if (!b->ws) {
        snprintf(why, n, "no DevTools page target on port %d", port);
        goto err_stop;
    }
    free(profile);
    free(log);
    return b;

err_stop:
    free(profile);
    free(log);
    vigil_test_browser_stop(b);
    return NULL;
}

/* Sends one DevTools command and returns its "result" (cJSON_Delete the
 * returned root, *result points into it), skipping events. */
static cJSON *cdp_call(struct vigil_test_browser *b, const char *method,
                       cJSON *params, cJSON **result)
{
    cJSON *msg = cJSON_CreateObject();
    int id = ++b->next_id;
    cJSON_AddNumberToObject(msg, "id", id);
    cJSON_AddStringToObject(msg, "method", method);
    cJSON_AddItemToObject(msg, "params",
                          params ? params : cJSON_CreateObject());
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    int rc = text ? vigil_test_ws_send(b->ws, text, strlen(text)) : -1;
    free(text);
    if (rc < 0)
        return NULL;
    for (;;) {
        char *in = vigil_test_ws_recv(b->ws, 30000);
        if (!in) {
            fprintf(stderr, "devtools: no answer to %s\n", method);
            return NULL;
        }
        cJSON *root = cJSON_Parse(in);
        free(in);
        cJSON *rid = cJSON_GetObjectItem(root, "id");
        if (!cJSON_IsNumber(rid) || (int)rid->valuedouble != id) {
            cJSON_Delete(root);
            continue;
        }
        cJSON *err = cJSON_GetObjectItem(root, "error");
        if (err) {
            char *e = cJSON_PrintUnformatted(err);
            fprintf(stderr, "devtools: %s: %s\n", method, e ? e : "error");
            free(e);
            cJSON_Delete(root);
            return NULL;
        }
        *result = cJSON_GetObjectItem(root, "result");
        return root;
    }
}

int vigil_test_browser_navigate(struct vigil_test_browser *b, const char *url)
{
    cJSON *p = cJSON_CreateObject(), *result;
    cJSON_AddStringToObject(p, "url", url);
    cJSON *root = cdp_call(b, "Page.navigate", p, &result);
    int rc = root && !cJSON_GetObjectItem(result, "errorText") ? 0 : -1;
    cJSON_Delete(root);
    return rc;
}

cJSON *vigil_test_browser_eval(struct vigil_test_browser *b, const char *expr)
{
    cJSON *p = cJSON_CreateObject(), *result;
    cJSON_AddStringToObject(p, "expression", expr);
    cJSON_AddBoolToObject(p, "returnByValue", true);
    cJSON *root = cdp_call(b, "Runtime.evaluate", p, &result);
    if (!root)
        return NULL;
    cJSON *value = NULL;
    if (!cJSON_GetObjectItem(result, "exceptionDetails")) {
        cJSON *r = cJSON_GetObjectItem(result, "result");
        cJSON *v = cJSON_GetObjectItem(r, "value");
        value = v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
    }
    cJSON_Delete(root);
    return value;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int vigil_test_browser_screenshot(struct vigil_test_browser *b,
                                  const char *path)
{
    cJSON *p = cJSON_CreateObject(), *result;
    cJSON_AddStringToObject(p, "format", "png");
    cJSON *root = cdp_call(b, "Page.captureScreenshot", p, &result);
    const char *data =
        root ? cJSON_GetStringValue(cJSON_GetObjectItem(result, "data")) : NULL;
    int rc = -1;
    size_t len = data ? strlen(data) : 0;
    unsigned char *png = data ? malloc(len / 4 * 3 + 3) : NULL;
    FILE *f = png ? fopen(path, "wb") : NULL;
    if (f) {
        size_t n = 0;
        unsigned acc = 0;
        int bits = 0;
        for (size_t i = 0; i < len; i++) {
            int v = b64_value(data[i]);
            if (v < 0)
                continue;
            acc = acc << 6 | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                png[n++] = (unsigned char)(acc >> bits);
            }
        }
        rc = fwrite(png, 1, n, f) == n && n > 8 ? 0 : -1;
        if (fclose(f) != 0)
            rc = -1;
    }
    free(png);
    cJSON_Delete(root);
    return rc;
}

void vigil_test_browser_stop(struct vigil_test_browser *b)
{
    if (!b)
        return;
    vigil_test_ws_close(b->ws);
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        if (vigil_test_wait(b->pid, 10000) == -2) {
            kill(b->pid, SIGKILL);
            vigil_test_wait(b->pid, 5000);
        }
    }
    if (b->dir)
        vigil_test_rm_rf(b->dir);
    free(b->dir);
    free(b);
}
