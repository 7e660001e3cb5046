/*
 * The HTTP feed (feed_server.h, docs/API.md) over a real redis-server:
 * health, metrics (checked by promtool), the JSON API, the SSE stream
 * with ids, heartbeats and Last-Event-ID replay, the Redis feed channel,
 * auth with tokens and the dashboard's session cookie, and the request
 * limits. The write side runs through a recording pager stub here; the
 * daemon's own pager wiring is tested in test_feed_daemon.c.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_fixture.h"
#include "http_client.h"
#include "support.h"

#define READ_TOKEN "read-token-0123456789"
#define ADMIN_TOKEN "admin-token-9876543210"

static struct vigil_test_feed fx;

static void setup(void)
{
    cr_assert_eq(vigil_test_feed_init(&fx), 0);
}

static void teardown(void)
{
    vigil_test_feed_fini(&fx);
}

TestSuite(feed, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---- */

static struct vigil_test_http req(const char *method, const char *path,
                                  const char *const *headers, const char *body)
{
    char url[4096];
    struct vigil_test_http r;
    vigil_test_feed_url(&fx, path, url, sizeof(url));
    cr_assert_eq(vigil_test_http_request(method, url, headers, body, &r), 0,
                 "%s %s: no response", method, path);
    return r;
}

static struct vigil_test_http get(const char *path)
{
    return req("GET", path, NULL, NULL);
}

static cJSON *json_of(const struct vigil_test_http *r)
{
    cJSON *j = cJSON_Parse(r->body);
    cr_assert_not_null(j, "not JSON: %s", r->body);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

/* The indicator object of id in a /api/v1/indicators answer. */
static const cJSON *find_indicator(const cJSON *root, const char *id)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "indicators"))
    {
        if (strcmp(jstr(e, "id"), id) == 0)
            return e;
    }
    return NULL;
}

static void start_open(void)
{
    cr_assert_eq(vigil_test_feed_start(&fx, NULL), 0);
}

/* The newest entry ID of a stream key under vigil:{test}:. */
static void newest_id(const char *key, char *buf, size_t n)
{
    redisReply *r =
        redisCommand(fx.rc, "XREVRANGE vigil:{test}:%s + - COUNT 1", key);
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    snprintf(buf, n, "%s", r->element[0]->element[0]->str);
    freeReplyObject(r);
}

static struct vigil_test_sse *open_stream(const char *const *headers)
{
    char url[256];
    struct vigil_test_sse *s = vigil_test_sse_open(
        vigil_test_feed_url(&fx, "/api/v1/stream", url, sizeof(url)), headers);
    cr_assert_not_null(s);
    /* The server took the connection once its greeting arrived. */
    cr_assert(vigil_test_sse_wait(s, ": vigil feed\n", 10000),
              "no stream greeting: %s", vigil_test_sse_text(s));
    return s;
}

/* ---- health ---- */

Test(feed, healthz_answers_without_a_token_even_when_reads_need_one)
{
    struct vigil_feed_config c = {.read_token = READ_TOKEN};
    cr_assert_eq(vigil_test_feed_start(&fx, &c), 0);
    struct vigil_test_http r = get("/healthz");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ok\n");
    vigil_test_http_free(&r);
}

Test(feed, readyz_is_ready_with_redis_and_not_ready_when_redis_is_down)
{
    start_open();
    struct vigil_test_http r = get("/readyz");
    cr_assert_eq(r.status, 200, "%s", r.body);
    vigil_test_http_free(&r);
    cr_assert_eq(vigil_test_redis_kill(fx.redis), 0);
    r = get("/readyz");
    cr_assert_eq(r.status, 503);
    cr_assert_not_null(strstr(r.body, "redis"), "%s", r.body);
    vigil_test_http_free(&r);
}

static bool workers_ready;

static bool fake_ready(void *ctx, char *why, size_t len)
{
    (void)ctx;
    if (!workers_ready)
        snprintf(why, len, "no kafka partitions assigned");
    return workers_ready;
}

Test(feed, readyz_reports_why_the_workers_are_not_ready)
{
    struct vigil_feed_config c = {.ready = fake_ready};
    cr_assert_eq(vigil_test_feed_start(&fx, &c), 0);
    workers_ready = false;
    struct vigil_test_http r = get("/readyz");
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(r.body, "not ready: no kafka partitions assigned\n");
    vigil_test_http_free(&r);
    workers_ready = true;
    r = get("/readyz");
    cr_assert_eq(r.status, 200);
    vigil_test_http_free(&r);
}

/* ---- metrics ---- */

static void lags(void *ctx, vigil_feed_lag_emit_fn emit, void *ectx)
{
    (void)ctx;
    emit(ectx, "security-events", 0, 12);
    emit(ectx, "security-events", 1, 0);
}

static void notes(void *ctx, vigil_feed_notification_emit_fn emit, void *ectx)
{
    (void)ctx;
    emit(ectx, "oncall", "sent", 2);
    emit(ectx, "oncall", "failed", 0);
}

Test(feed, metrics_pass_promtool_and_carry_every_family)
{
    struct vigil_pipeline_stats ps = {0};
    atomic_store(&ps.events, 1234);
    struct vigil_feed_histogram h = {0};
    vigil_feed_histogram_observe(&h, 0.002);
    struct vigil_feed_config c = {.pipeline_stats = &ps,
                                  .flush_seconds = &h,
                                  .kafka_lag = lags,
                                  .notifications = notes};
    cr_assert_eq(vigil_test_feed_start(&fx, &c), 0);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 61, VIGIL_STATE_BREACH,
                                         true, VIGIL_STATE_OK),
                 0);
    struct vigil_test_http r = get("/metrics");
    cr_assert_eq(r.status, 200);
    char ct[128];
    cr_assert_str_eq(vigil_test_http_header(&r, "Content-Type", ct, sizeof(ct)),
                     "text/plain; version=0.0.4; charset=utf-8");
    const char *want[] = {
        "vigil_events_total 1234\n",
        "vigil_kafka_lag{topic=\"security-events\",partition=\"0\"} 12\n",
        "vigil_redis_flush_seconds_count 1\n",
        "vigil_indicator_value{indicator=\"KPI-BF\"} 61\n",
        "vigil_indicator_state{indicator=\"KPI-BF\",state=\"breach\"} 1\n",
        "vigil_notifications_total{notifier=\"oncall\",result=\"sent\"} 2\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_not_null(strstr(r.body, want[i]), "no %s in\n%s", want[i],
                           r.body);
    cr_assert_eq(access("/usr/bin/promtool", X_OK), 0,
                 "promtool missing: deploy/install-deps.sh --test installs "
                 "the prometheus package");
    char *argv[] = {"/usr/bin/promtool", "check", "metrics", NULL};
    char *out = NULL, *err = NULL;
    int rc = vigil_test_run(argv, r.body, &out, &err);
    cr_assert_eq(rc, 0, "promtool check metrics: %s%s\n%s", out, err, r.body);
    free(out);
    free(err);
    vigil_test_http_free(&r);
}

/* ---- indicators and history ---- */

Test(feed, indicators_list_every_indicator_with_its_newest_evaluation)
{
    start_open();
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 10, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 25, VIGIL_STATE_WARN,
                                         true, VIGIL_STATE_OK),
                 0);
    struct vigil_test_http r = get("/api/v1/indicators");
    cr_assert_eq(r.status, 200);
    cJSON *j = json_of(&r);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "indicators")), 2);
    const cJSON *bf = find_indicator(j, "KPI-BF");
    cr_assert_not_null(bf);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(bf, "value")), 25);
    cr_assert_str_eq(jstr(bf, "state"), "warn");
    cr_assert_str_eq(jstr(bf, "owner"), "soc-lead");
    cr_assert_str_eq(jstr(bf, "target"), "< 20");
    cr_assert_not_null(jstr(bf, "since"));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(bf, "top")), 2);
    const cJSON *log = find_indicator(j, "KPI-LOG");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(log, "state")));
    cJSON_Delete(j);
    vigil_test_http_free(&r);
}

Test(feed, one_indicator_by_id_and_an_unknown_id_is_404)
{
    start_open();
    struct vigil_test_http r = get("/api/v1/indicators/KPI-LOG");
    cr_assert_eq(r.status, 200);
    cJSON *j = json_of(&r);
    cr_assert_str_eq(jstr(j, "name"), "Log-source silence");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    r = get("/api/v1/indicators/KPI-NOPE");
    cr_assert_eq(r.status, 404);
    vigil_test_http_free(&r);
}

Test(feed, history_returns_the_samples_oldest_first_and_checks_its_range)
{
    start_open();
    double values[] = {5, 25, 55};
    enum vigil_state states[] = {VIGIL_STATE_OK, VIGIL_STATE_WARN,
                                 VIGIL_STATE_BREACH};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", values[i],
                                             states[i], false, VIGIL_STATE_OK),
                     0);
    struct vigil_test_http r = get("/api/v1/indicators/KPI-BF/history?from=0");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *j = json_of(&r);
    cJSON *samples = cJSON_GetObjectItem(j, "samples");
    cr_assert_eq(cJSON_GetArraySize(samples), 3);
    for (int i = 0; i < 3; i++) {
        cJSON *s = cJSON_GetArrayItem(samples, i);
        cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "value")),
                     values[i]);
        cr_assert_str_eq(jstr(s, "state"), vigil_state_name(states[i]));
    }
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "truncated")));
    cJSON_Delete(j);
    vigil_test_http_free(&r);

    r = get("/api/v1/indicators/KPI-BF/history?from=0&limit=2");
    j = json_of(&r);
    samples = cJSON_GetObjectItem(j, "samples");
    cr_assert_eq(cJSON_GetArraySize(samples), 2);
    /* A truncated answer keeps the newest samples. */
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(
                     cJSON_GetArrayItem(samples, 1), "value")),
                 55);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
    cJSON_Delete(j);
    vigil_test_http_free(&r);

    r = get("/api/v1/indicators/KPI-BF/history?from=2000-01-01T00:00:00Z&to="
            "1999-01-01T00:00:00Z");
    cr_assert_eq(r.status, 400);
    vigil_test_http_free(&r);
    r = get("/api/v1/indicators/KPI-BF/history?from=yesterday");
    cr_assert_eq(r.status, 400);
    vigil_test_http_free(&r);
}

/* ---- SSE ---- */

Test(feed, stream_sends_indicator_events_with_their_history_ids)
{
    start_open();
    struct vigil_test_sse *s = open_stream(NULL);
    cr_assert_eq(vigil_test_sse_status(s), 200);
    vigil_test_sse_consume(s);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-LOG", 3, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    cr_assert(vigil_test_sse_wait(s, "\n\n", 10000), "%s",
              vigil_test_sse_text(s));
    char id[64], line[128];
    newest_id("hist:KPI-LOG", id, sizeof(id));
    snprintf(line, sizeof(line), "event: indicator\nid: %s\ndata: {", id);
    cr_assert_not_null(strstr(vigil_test_sse_text(s), line), "want %s in %s",
                       line, vigil_test_sse_text(s));
    cr_assert_not_null(strstr(vigil_test_sse_text(s), "\"id\":\"KPI-LOG\""));
    vigil_test_sse_close(s);
}

Test(feed, stream_sends_a_breach_event_on_a_transition)
{
    start_open();
    struct vigil_test_sse *s = open_stream(NULL);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 70, VIGIL_STATE_BREACH,
                                         true, VIGIL_STATE_OK),
                 0);
    cr_assert(vigil_test_sse_wait(s, "event: breach\n", 10000), "%s",
              vigil_test_sse_text(s));
    cr_assert(vigil_test_sse_wait(s, "\"event\":\"opened\"", 10000));
    char id[64], line[128];
    newest_id("breaches", id, sizeof(id));
    snprintf(line, sizeof(line), "event: breach\nid: %s\n", id);
    cr_assert_not_null(strstr(vigil_test_sse_text(s), line), "want %s in %s",
                       line, vigil_test_sse_text(s));
    vigil_test_sse_close(s);
}

Test(feed, stream_sends_heartbeat_comments_while_idle)
{
    struct vigil_feed_config c = {.heartbeat_ms = 200};
    cr_assert_eq(vigil_test_feed_start(&fx, &c), 0);
    struct vigil_test_sse *s = open_stream(NULL);
    cr_assert(vigil_test_sse_wait(s, ": heartbeat\n\n", 10000), "%s",
              vigil_test_sse_text(s));
    cr_assert_not(vigil_test_sse_ended(s));
    vigil_test_sse_close(s);
}

Test(feed, stream_replays_what_was_missed_after_last_event_id)
{
    start_open();
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 1, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    char seen[64];
    newest_id("hist:KPI-BF", seen, sizeof(seen));
    /* Missed while disconnected: */
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 2, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 99, VIGIL_STATE_BREACH,
                                         true, VIGIL_STATE_OK),
                 0);
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s", seen);
    const char *headers[] = {hdr, NULL};
    struct vigil_test_sse *s = open_stream(headers);
    cr_assert(vigil_test_sse_wait(s, "\"event\":\"opened\"", 10000), "%s",
              vigil_test_sse_text(s));
    const char *t = vigil_test_sse_text(s);
    char line[128];
    snprintf(line, sizeof(line), "id: %s\n", seen);
    cr_assert_null(strstr(t, line), "the seen event came again: %s", t);
    const char *two = strstr(t, "\"value\":2,");
    const char *ninety_nine = strstr(t, "\"value\":99,");
    cr_assert(two && ninety_nine && two < ninety_nine, "%s", t);
    cr_assert_not_null(strstr(t, "\"replayed\":true"));
    vigil_test_sse_close(s);
}

Test(feed, stream_asks_for_a_reset_when_it_cannot_replay)
{
    start_open();
    cr_assert_eq(vigil_test_redis_kill(fx.redis), 0);
    const char *headers[] = {"Last-Event-ID: 1700000000000-0", NULL};
    struct vigil_test_sse *s = open_stream(headers);
    cr_assert(vigil_test_sse_wait(s, "event: reset\n", 10000), "%s",
              vigil_test_sse_text(s));
    vigil_test_sse_close(s);
}

Test(feed, evaluations_are_published_on_the_redis_feed_channel)
{
    start_open();
    redisContext *sub = vigil_test_redis_connect(fx.redis, 5000);
    cr_assert_not_null(sub);
    struct timeval tv = {10, 0};
    redisSetTimeout(sub, tv);
    redisReply *r = redisCommand(sub, "SUBSCRIBE vigil:{test}:feed");
    cr_assert_not_null(r);
    freeReplyObject(r);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-LOG", 7, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    void *msg = NULL;
    cr_assert_eq(redisGetReply(sub, &msg), REDIS_OK, "%s", sub->errstr);
    r = msg;
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    cr_assert_str_eq(r->element[0]->str, "message");
    cr_assert_str_eq(r->element[1]->str, "vigil:{test}:feed");
    cJSON *j = cJSON_Parse(r->element[2]->str);
    cr_assert_str_eq(jstr(j, "id"), "KPI-LOG");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "value")), 7);
    cJSON_Delete(j);
    freeReplyObject(r);
    redisFree(sub);
}

/* ---- breaches, findings ---- */

Test(feed, breaches_are_listed_newest_first_with_the_open_ones)
{
    start_open();
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-LOG", 0, VIGIL_STATE_BREACH,
                                         true, VIGIL_STATE_OK),
                 0);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 70, VIGIL_STATE_BREACH,
                                         true, VIGIL_STATE_OK),
                 0);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-LOG", 3, VIGIL_STATE_OK,
                                         true, VIGIL_STATE_BREACH),
                 0);
    struct vigil_test_http r = get("/api/v1/breaches");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *j = json_of(&r);
    cJSON *b = cJSON_GetObjectItem(j, "breaches");
    cr_assert_eq(cJSON_GetArraySize(b), 3);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(b, 0), "event"), "resolved");
    cJSON *open = cJSON_GetObjectItem(j, "open");
    cr_assert_eq(cJSON_GetArraySize(open), 1);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(open, 0), "indicator"), "KPI-BF");
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(open, 0), "dedup"),
                     "KPI-BF:1700000000000");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
}

Test(feed, findings_are_listed_and_continue_after_a_stream_id)
{
    start_open();
    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        redisReply *x = redisCommand(
            fx.rc,
            "XADD vigil:{test}:findings * rule sshd.fail src_ip 10.0.0.%d", i);
        cr_assert(x && x->type == REDIS_REPLY_STRING);
        snprintf(ids[i], sizeof(ids[i]), "%s", x->str);
        freeReplyObject(x);
    }
    struct vigil_test_http r = get("/api/v1/findings?limit=2");
    cJSON *j = json_of(&r);
    cJSON *f = cJSON_GetObjectItem(j, "findings");
    cr_assert_eq(cJSON_GetArraySize(f), 2);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(f, 0), "src_ip"), "10.0.0.2");
    cr_assert_str_eq(jstr(j, "order"), "newest first");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/findings?since=%s", ids[0]);
    r = get(path);
    j = json_of(&r);
    f = cJSON_GetObjectItem(j, "findings");
    cr_assert_eq(cJSON_GetArraySize(f), 2);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(f, 0), "id"), ids[1]);
    cr_assert_str_eq(jstr(j, "order"), "oldest first");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    r = get("/api/v1/findings?since=garbage");
    cr_assert_eq(r.status, 400);
    vigil_test_http_free(&r);
}

/* ---- writes through a recording pager ---- */

struct stub {
    char acked[300];
    char author[200];
    int silences;
    char expired[300];
};
static struct stub stub;

static int stub_ack(void *ctx, const char *id, const char *author,
                    const char *comment, char *err, size_t errlen)
{
    (void)ctx;
    (void)comment;
    if (strncmp(id, "KPI-NOPE", 8) == 0) {
        snprintf(err, errlen, "not found: no open breach");
        return -1;
    }
    snprintf(stub.acked, sizeof(stub.acked), "%s", id);
    snprintf(stub.author, sizeof(stub.author), "%s", author);
    return 0;
}

static int stub_silence_add(void *ctx, const struct vigil_feed_silence *s,
                            char *id_out, size_t id_len, char *err,
                            size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    cr_assert_eq(s->matcher->n, 1);
    cr_assert_str_eq(s->matcher->v[0].key, "indicator");
    cr_assert_str_eq(s->matcher->v[0].value, "KPI-BF");
    cr_assert_eq(s->until_ms, fx.now_ms + 2 * 3600 * 1000);
    stub.silences++;
    snprintf(id_out, id_len, "s%d", stub.silences);
    return 0;
}

static int stub_silence_list(void *ctx, vigil_feed_silence_emit_fn emit,
                             void *ectx, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    struct vigil_config_kv kv[] = {{"severity", "high"}};
    struct vigil_config_map m = {kv, 1};
    struct vigil_feed_silence s = {"s1", &m,    fx.now_ms + 1000,
                                   0,    "bob", "maintenance"};
    for (int i = 0; i < stub.silences; i++)
        emit(ectx, &s);
    return 0;
}

static int stub_silence_expire(void *ctx, const char *id, const char *author,
                               char *err, size_t errlen)
{
    (void)ctx;
    (void)author;
    if (strcmp(id, "s1") != 0) {
        snprintf(err, errlen, "not found: no silence %s", id);
        return -1;
    }
    snprintf(stub.expired, sizeof(stub.expired), "%s", id);
    return 0;
}

static void start_with_pager(const char *read_token, const char *admin_token)
{
    memset(&stub, 0, sizeof(stub));
    struct vigil_feed_config c = {
        .read_token = read_token,
        .admin_token = admin_token,
        .pager = {.ack = stub_ack,
                  .silence_add = stub_silence_add,
                  .silence_list = stub_silence_list,
                  .silence_expire = stub_silence_expire},
    };
    cr_assert_eq(vigil_test_feed_start(&fx, &c), 0);
}

static const char *const as_admin[] = {"Authorization: Bearer " ADMIN_TOKEN,
                                       NULL};
static const char *const as_reader[] = {"Authorization: Bearer " READ_TOKEN,
                                        NULL};

Test(feed, ack_needs_the_admin_token)
{
    start_with_pager(READ_TOKEN, ADMIN_TOKEN);
    const char *path = "/api/v1/breaches/KPI-BF:1700000000000/ack";
    struct vigil_test_http r = req("POST", path, NULL, "{}");
    cr_assert_eq(r.status, 401);
    char buf[128];
    cr_assert_not_null(
        vigil_test_http_header(&r, "WWW-Authenticate", buf, sizeof(buf)));
    vigil_test_http_free(&r);
    r = req("POST", path, as_reader, "{}");
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    cr_assert_str_eq(stub.acked, "");
    r = req("POST", path, as_admin,
            "{\"author\":\"alice\",\"comment\":\"on it\"}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(stub.acked, "KPI-BF:1700000000000");
    cr_assert_str_eq(stub.author, "alice");
    vigil_test_http_free(&r);
    r = req("POST", "/api/v1/breaches/KPI-NOPE/ack", as_admin, NULL);
    cr_assert_eq(r.status, 404, "%s", r.body);
    vigil_test_http_free(&r);
    r = req("POST", path, as_admin, "[1,2]");
    cr_assert_eq(r.status, 400);
    vigil_test_http_free(&r);
}

Test(feed, writes_are_forbidden_without_an_admin_token_configured)
{
    start_with_pager(NULL, NULL);
    struct vigil_test_http r =
        req("POST", "/api/v1/breaches/KPI-BF/ack", as_admin, "{}");
    cr_assert_eq(r.status, 403);
    vigil_test_http_free(&r);
    cr_assert_str_eq(stub.acked, "");
}

Test(feed, silences_are_added_listed_and_expired_by_the_admin)
{
    start_with_pager(NULL, ADMIN_TOKEN);
    const char *body = "{\"matcher\":{\"indicator\":\"KPI-BF\"},\"duration\":"
                       "\"2h\",\"author\":\"bob\",\"reason\":\"maintenance\"}";
    struct vigil_test_http r = req("POST", "/api/v1/silences", NULL, body);
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    r = req("POST", "/api/v1/silences", as_admin, body);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *j = json_of(&r);
    cr_assert_str_eq(jstr(j, "id"), "s1");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    r = get("/api/v1/silences");
    cr_assert_eq(r.status, 200);
    j = json_of(&r);
    cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "silences"), 0);
    cr_assert_str_eq(jstr(s, "id"), "s1");
    cr_assert_str_eq(jstr(cJSON_GetObjectItem(s, "matcher"), "severity"),
                     "high");
    cr_assert_str_eq(jstr(s, "author"), "bob");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    r = req("POST", "/api/v1/silences", as_admin,
            "{\"matcher\":{},\"duration\":\"2h\"}");
    cr_assert_eq(r.status, 400);
    vigil_test_http_free(&r);
    r = req("POST", "/api/v1/silences", as_admin,
            "{\"matcher\":{\"a\":\"b\"},\"until\":\"2001-01-01T00:00:00Z\"}");
    cr_assert_eq(r.status, 400);
    vigil_test_http_free(&r);
    r = req("DELETE", "/api/v1/silences/s1", NULL, NULL);
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    r = req("DELETE", "/api/v1/silences/s1", as_admin, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(stub.expired, "s1");
    vigil_test_http_free(&r);
    r = req("DELETE", "/api/v1/silences/s9", as_admin, NULL);
    cr_assert_eq(r.status, 404);
    vigil_test_http_free(&r);
}

Test(feed, writes_without_a_pager_are_not_implemented)
{
    struct vigil_feed_config c = {.admin_token = ADMIN_TOKEN};
    cr_assert_eq(vigil_test_feed_start(&fx, &c), 0);
    struct vigil_test_http r =
        req("POST", "/api/v1/breaches/KPI-BF/ack", as_admin, "{}");
    cr_assert_eq(r.status, 501);
    vigil_test_http_free(&r);
}

/* ---- auth ---- */

Test(feed, reads_need_the_read_token_when_one_is_configured)
{
    start_with_pager(READ_TOKEN, ADMIN_TOKEN);
    const char *paths[] = {"/api/v1/indicators", "/metrics",
                           "/api/v1/breaches",   "/api/v1/silences",
                           "/api/v1/findings",   "/api/v1/indicators/KPI-BF"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct vigil_test_http r = get(paths[i]);
        cr_assert_eq(r.status, 401, "%s: %ld", paths[i], r.status);
        vigil_test_http_free(&r);
        const char *wrong[] = {"Authorization: Bearer " READ_TOKEN "x", NULL};
        r = req("GET", paths[i], wrong, NULL);
        cr_assert_eq(r.status, 401, "%s: %ld", paths[i], r.status);
        vigil_test_http_free(&r);
        r = req("GET", paths[i], as_reader, NULL);
        cr_assert_eq(r.status, 200, "%s: %ld %s", paths[i], r.status, r.body);
        vigil_test_http_free(&r);
        r = req("GET", paths[i], as_admin, NULL);
        cr_assert_eq(r.status, 200, "%s: %ld", paths[i], r.status);
        vigil_test_http_free(&r);
    }
    /* The dashboard's page itself is public: it asks for the token. */
    struct vigil_test_http r = get("/");
    cr_assert_eq(r.status, 200);
    vigil_test_http_free(&r);
    char url[256];
    struct vigil_test_sse *s = vigil_test_sse_open(
        vigil_test_feed_url(&fx, "/api/v1/stream", url, sizeof(url)), NULL);
    vigil_test_sse_wait(s, "never", 1000);
    cr_assert_eq(vigil_test_sse_status(s), 401);
    vigil_test_sse_close(s);
}

/* The value of the session cookie in a Set-Cookie header. */
static void session_cookie(const struct vigil_test_http *r, char *cookie,
                           size_t n)
{
    char set[512];
    cr_assert_not_null(
        vigil_test_http_header(r, "Set-Cookie", set, sizeof(set)));
    cr_assert_not_null(strstr(set, "HttpOnly"), "%s", set);
    cr_assert_not_null(strstr(set, "SameSite=Strict"), "%s", set);
    cr_assert_not_null(strstr(set, "Path=/"), "%s", set);
    size_t len = strcspn(set, ";");
    cr_assert_lt(len, n);
    snprintf(cookie, n, "Cookie: %.*s", (int)len, set);
}

Test(feed, the_token_is_exchanged_for_a_session_cookie_that_allows_reads)
{
    start_with_pager(READ_TOKEN, ADMIN_TOKEN);
    struct vigil_test_http r = req("POST", "/api/v1/session", NULL, NULL);
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    r = req("POST", "/api/v1/session", as_reader, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    char cookie[300];
    session_cookie(&r, cookie, sizeof(cookie));
    vigil_test_http_free(&r);

    const char *with_cookie[] = {cookie, NULL};
    r = req("GET", "/api/v1/indicators", with_cookie, NULL);
    cr_assert_eq(r.status, 200);
    vigil_test_http_free(&r);
    struct vigil_test_sse *s = open_stream(with_cookie);
    cr_assert_eq(vigil_test_sse_status(s), 200);
    vigil_test_sse_close(s);
    /* A cookie never grants writes. */
    r = req("POST", "/api/v1/breaches/KPI-BF/ack", with_cookie, "{}");
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    /* A forged cookie is refused. */
    const char *forged[] = {"Cookie: vigil_session=00000000000000000000000000"
                            "00000000000000000000000000000000000000",
                            NULL};
    r = req("GET", "/api/v1/indicators", forged, NULL);
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    /* Logging out ends the session. */
    r = req("DELETE", "/api/v1/session", with_cookie, NULL);
    cr_assert_eq(r.status, 204);
    vigil_test_http_free(&r);
    r = req("GET", "/api/v1/indicators", with_cookie, NULL);
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
}

Test(feed, without_a_read_token_the_session_endpoint_says_reads_are_open)
{
    start_open();
    struct vigil_test_http r = req("POST", "/api/v1/session", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cJSON *j = json_of(&r);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "open")));
    cJSON_Delete(j);
    vigil_test_http_free(&r);
}

Test(feed, refuses_to_listen_beyond_loopback_without_a_read_token)
{
    struct vigil_feed_config c = {
        .host = "0.0.0.0", .ns = "test", .indicators = fx.set};
    char err[256];
    cr_assert_null(vigil_feed_create(&c, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "read_token"), "%s", err);
    c.read_token = READ_TOKEN;
    struct vigil_feed *f = vigil_feed_create(&c, err, sizeof(err));
    cr_assert_not_null(f, "%s", err);
    vigil_feed_destroy(f);
    cr_assert(vigil_feed_host_is_loopback("127.0.0.1"));
    cr_assert(vigil_feed_host_is_loopback("::1"));
    cr_assert_not(vigil_feed_host_is_loopback("0.0.0.0"));
}

/* ---- limits and headers ---- */

Test(feed, oversized_bodies_and_paths_are_refused)
{
    start_with_pager(NULL, ADMIN_TOKEN);
    size_t n = 20000;
    char *body = malloc(n + 1);
    memset(body, ' ', n);
    memcpy(body, "{\"matcher\":", 11);
    body[n] = '\0';
    struct vigil_test_http r = req("POST", "/api/v1/silences", as_admin, body);
    cr_assert_eq(r.status, 413, "%ld %s", r.status, r.body);
    vigil_test_http_free(&r);
    free(body);
    cr_assert_eq(stub.silences, 0);
    char path[3100] = "/api/v1/indicators/";
    memset(path + strlen(path), 'a', 3000);
    path[3000] = '\0';
    r = get(path);
    cr_assert(r.status == 414 || r.status == 404, "%ld", r.status);
    vigil_test_http_free(&r);
    char big[2100] = "/";
    memset(big + 1, 'b', 2060);
    big[2061] = '\0';
    r = get(big);
    cr_assert_eq(r.status, 414, "%ld", r.status);
    vigil_test_http_free(&r);
}

Test(feed, responses_carry_security_headers_and_no_cors)
{
    start_open();
    const char *origin[] = {"Origin: https://evil.example", NULL};
    struct vigil_test_http r = req("GET", "/api/v1/indicators", origin, NULL);
    cr_assert_eq(r.status, 200);
    char buf[256];
    cr_assert_null(vigil_test_http_header(&r, "Access-Control-Allow-Origin",
                                          buf, sizeof(buf)));
    cr_assert_str_eq(
        vigil_test_http_header(&r, "X-Content-Type-Options", buf, sizeof(buf)),
        "nosniff");
    cr_assert_str_eq(
        vigil_test_http_header(&r, "Cache-Control", buf, sizeof(buf)),
        "no-store");
    vigil_test_http_free(&r);
    r = req("PUT", "/api/v1/indicators", NULL, "{}");
    cr_assert_eq(r.status, 405);
    cr_assert_str_eq(vigil_test_http_header(&r, "Allow", buf, sizeof(buf)),
                     "GET, HEAD");
    vigil_test_http_free(&r);
}

Test(feed, the_dashboard_and_its_assets_are_served_self_contained)
{
    start_open();
    struct vigil_test_http r = get("/");
    cr_assert_eq(r.status, 200);
    char buf[512];
    cr_assert_not_null(strstr(
        vigil_test_http_header(&r, "Content-Type", buf, sizeof(buf)), "html"));
    cr_assert_not_null(strstr(
        vigil_test_http_header(&r, "Content-Security-Policy", buf, sizeof(buf)),
        "default-src 'none'"));
    cr_assert_null(strstr(r.body, "http://"), "fetches from outside");
    cr_assert_null(strstr(r.body, "https://"), "fetches from outside");
    vigil_test_http_free(&r);
    r = get("/dashboard.js");
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "EventSource"));
    vigil_test_http_free(&r);
    r = get("/dashboard.css");
    cr_assert_eq(r.status, 200);
    vigil_test_http_free(&r);
}

/* ---- reload ---- */

static const char reloaded_yaml[] =
    "indicators:\n"
    "  - id: KPI-LOG\n"
    "    name: Log-source silence (reloaded)\n"
    "    information_need: Are the log sources reporting?\n"
    "    kind: performance\n"
    "    entity: Log pipeline\n"
    "    owner: platform\n"
    "    data_source: heartbeats\n"
    "    frequency: 1m\n"
    "    value: count(heartbeats, 10m)\n"
    "    unit: heartbeats per 10m\n"
    "    target: \">= 1\"\n"
    "    decision: { breach: \"< 1\", ok: \">= 1\" }\n"
    "  - id: KPI-NEW\n"
    "    name: A new indicator\n"
    "    information_need: New?\n"
    "    kind: performance\n"
    "    entity: Log pipeline\n"
    "    owner: platform\n"
    "    data_source: heartbeats\n"
    "    frequency: 1m\n"
    "    value: count(heartbeats, 10m)\n"
    "    unit: heartbeats per 10m\n"
    "    target: \">= 1\"\n"
    "    decision: { breach: \"< 1\", ok: \">= 1\" }\n";

Test(feed, a_reload_swaps_the_indicators_and_keeps_known_states)
{
    start_open();
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-LOG", 4, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-BF", 4, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    struct vigil_indicator_source src = {"reloaded.yaml", reloaded_yaml,
                                         strlen(reloaded_yaml)};
    struct vigil_diags d;
    vigil_diags_init(&d);
    struct vigil_indicator_set *next =
        vigil_indicator_set_load_sources(&src, 1, NULL, &d);
    vigil_diags_fini(&d);
    cr_assert_not_null(next);
    vigil_feed_swap(fx.feed, NULL, next);
    /* The old set may go at once, as daemon.c's reload does. */
    vigil_indicator_set_destroy(fx.set);
    fx.set = next;
    struct vigil_test_http r = get("/api/v1/indicators");
    cJSON *j = json_of(&r);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "indicators")), 2);
    cr_assert_null(find_indicator(j, "KPI-BF"));
    const cJSON *log = find_indicator(j, "KPI-LOG");
    cr_assert_str_eq(jstr(log, "name"), "Log-source silence (reloaded)");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(log, "value")), 4);
    cr_assert(cJSON_IsNull(
        cJSON_GetObjectItem(find_indicator(j, "KPI-NEW"), "state")));
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    r = get("/metrics");
    cr_assert_not_null(
        strstr(r.body, "vigil_indicator_value{indicator=\"KPI-LOG\"} 4\n"));
    cr_assert_null(strstr(r.body, "KPI-BF"));
    vigil_test_http_free(&r);
    cr_assert_eq(vigil_test_feed_publish(&fx, "KPI-NEW", 1, VIGIL_STATE_OK,
                                         false, VIGIL_STATE_OK),
                 0);
    r = get("/api/v1/indicators/KPI-NEW");
    j = json_of(&r);
    cr_assert_str_eq(jstr(j, "state"), "ok");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
}
