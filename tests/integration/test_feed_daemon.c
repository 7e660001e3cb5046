/*
 * The feed of a running vigild (real redis-server, librdkafka's mock
 * cluster): /metrics with every provider plugged in (checked by
 * promtool), acks and silences through the daemon's pager wiring (ack.h,
 * silence.h), the feed following a SIGHUP reload, and the refusal to
 * listen beyond loopback without a read token.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_fixture.h"
#include "http_client.h"
#include "support.h"

#define ADMIN "admin-token-for-tests-0123"
#define READ "read-token-for-tests-4567"

static struct vigil_test_feed_daemon d;

static void teardown(void)
{
    vigil_test_feed_daemon_fini(&d);
}

TestSuite(feed_daemon, .fini = teardown, .timeout = 240);

static const char *const as_admin[] = {"Authorization: Bearer " ADMIN, NULL};
static const char *const as_reader[] = {"Authorization: Bearer " READ, NULL};

static struct vigil_test_http req(const char *method, const char *path,
                                  const char *const *headers, const char *body)
{
    char url[512];
    struct vigil_test_http r;
    vigil_test_feed_daemon_url(&d, path, url, sizeof(url));
    cr_assert_eq(vigil_test_http_request(method, url, headers, body, &r), 0,
                 "%s %s: no response", method, path);
    return r;
}

static const char *jstr(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

/* The state of indicator id as the feed says, "" when unknown. */
static void state_of(const char *id, const char *const *auth, char *buf,
                     size_t n)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/indicators/%s", id);
    struct vigil_test_http r = req("GET", path, auth, NULL);
    cJSON *j = cJSON_Parse(r.body);
    const char *s = jstr(j, "state");
    snprintf(buf, n, "%s", s ? s : "");
    cJSON_Delete(j);
    vigil_test_http_free(&r);
}

static void wait_for_state(const char *id, const char *want,
                           const char *const *auth)
{
    char got[32] = "";
    for (int i = 0; i < 200; i++) {
        state_of(id, auth, got, sizeof(got));
        if (strcmp(got, want) == 0)
            return;
        cr_assert_eq(vigil_test_wait(d.pid, 100), -2, "vigild exited; see %s",
                     d.log_path);
    }
    cr_assert_fail("%s is %s, not %s", id, got, want);
}

static bool has_line_prefix(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, prefix, n) == 0)
            return true;
    return false;
}

Test(feed_daemon, metrics_of_a_running_daemon_pass_promtool)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d, NULL), 0);
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 30, 2), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    wait_for_state("KPI-FAIL", "warn", NULL);
    struct vigil_test_http r = req("GET", "/metrics", NULL, NULL);
    cr_assert_eq(r.status, 200);
    const char *want[] = {
        "vigil_events_total 32",
        "vigil_rule_matches_total{rule=\"feedtest.fail\"} 30",
        "vigil_rule_matches_total{rule=\"feedtest.heartbeat\"} 2",
        "vigil_regex_limit_hits_total{rule=\"feedtest.fail\"} 0",
        "vigil_kafka_lag{topic=\"events\",partition=\"",
        "vigil_redis_flush_seconds_bucket{le=\"+Inf\"} ",
        "vigil_indicator_value{indicator=\"KPI-FAIL\"} 30",
        "vigil_indicator_state{indicator=\"KPI-FAIL\",state=\"warn\"} 1",
        "vigil_findings_total 30",
        "vigil_findings_dropped_total 0",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(has_line_prefix(r.body, want[i]), "no %s in\n%s", want[i],
                  r.body);
    cr_assert_not_null(strstr(r.body, "vigil_redis_flush_seconds_count "));
    cr_assert_null(strstr(r.body, "vigil_redis_flush_seconds_count 0\n"),
                   "no batch was timed:\n%s", r.body);
    char *argv[] = {"/usr/bin/promtool", "check", "metrics", NULL};
    char *out = NULL, *err = NULL;
    int rc = vigil_test_run(argv, r.body, &out, &err);
    cr_assert_eq(rc, 0, "promtool: %s%s\n%s", out, err, r.body);
    free(out);
    free(err);
    vigil_test_http_free(&r);
    r = req("GET", "/readyz", NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    vigil_test_http_free(&r);
}

Test(feed_daemon, a_breach_is_acked_with_the_admin_token_only)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d,
                                             "  read_token: \"" READ "\"\n"
                                             "  admin_token: \"" ADMIN "\"\n"),
                 0);
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 60, 1), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    wait_for_state("KPI-FAIL", "breach", as_reader);
    struct vigil_test_http r = req("GET", "/api/v1/breaches", as_reader, NULL);
    cJSON *j = cJSON_Parse(r.body);
    cJSON *open = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "open"), 0);
    cr_assert_not_null(open, "%s", r.body);
    char id[128], dedup[200];
    snprintf(id, sizeof(id), "%s", jstr(open, "id"));
    snprintf(dedup, sizeof(dedup), "%s", jstr(open, "dedup"));
    cJSON_Delete(j);
    vigil_test_http_free(&r);

    char path[300];
    snprintf(path, sizeof(path), "/api/v1/breaches/%s/ack", id);
    r = req("POST", path, NULL, "{}");
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    r = req("POST", path, as_reader, "{}");
    cr_assert_eq(r.status, 401);
    vigil_test_http_free(&r);
    /* By its breaches stream ID. */
    r = req("POST", path, as_admin,
            "{\"author\":\"alice\",\"comment\":\"blocking the source\"}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    vigil_test_http_free(&r);
    redisReply *h = redisCommand(d.rc, "HGET vigil:{feed}:state:KPI-FAIL "
                                       "acked_by");
    cr_assert(h && h->type == REDIS_REPLY_STRING);
    cr_assert_str_eq(h->str, "alice");
    freeReplyObject(h);
    /* By its dedup key, again: already acked is fine. */
    snprintf(path, sizeof(path), "/api/v1/breaches/%s/ack", dedup);
    r = req("POST", path, as_admin, "{\"author\":\"bob\"}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    vigil_test_http_free(&r);
    r = req("GET", "/api/v1/breaches", as_reader, NULL);
    cr_assert_not_null(strstr(r.body, "\"event\":\"acked\""), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "\"by\":\"alice\""), "%s", r.body);
    vigil_test_http_free(&r);
    /* No open breach on that indicator: 404. */
    r = req("POST", "/api/v1/breaches/KPI-HB/ack", as_admin, "{}");
    cr_assert_eq(r.status, 404, "%s", r.body);
    vigil_test_http_free(&r);
    r = req("POST", "/api/v1/breaches/1-0/ack", as_admin, "{}");
    cr_assert_eq(r.status, 404, "%s", r.body);
    vigil_test_http_free(&r);
}

Test(feed_daemon, silences_are_stored_listed_and_expired)
{
    cr_assert_eq(
        vigil_test_feed_daemon_init(&d, "  admin_token: \"" ADMIN "\"\n"), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    struct vigil_test_http r =
        req("POST", "/api/v1/silences", as_admin,
            "{\"matcher\":{\"indicator\":\"KPI-FAIL\"},\"duration\":\"2h\","
            "\"author\":\"carol\",\"reason\":\"pentest\"}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *j = cJSON_Parse(r.body);
    char id[64];
    snprintf(id, sizeof(id), "%s", jstr(j, "id"));
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    redisReply *h = redisCommand(d.rc, "HEXISTS vigil:{feed}:silences %s", id);
    cr_assert(h && h->type == REDIS_REPLY_INTEGER && h->integer == 1);
    freeReplyObject(h);

    r = req("GET", "/api/v1/silences", NULL, NULL);
    j = cJSON_Parse(r.body);
    cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "silences"), 0);
    cr_assert_str_eq(jstr(s, "id"), id);
    cr_assert_str_eq(jstr(cJSON_GetObjectItem(s, "matcher"), "indicator"),
                     "KPI-FAIL");
    cr_assert_str_eq(jstr(s, "author"), "carol");
    cr_assert_str_eq(jstr(s, "reason"), "pentest");
    cJSON_Delete(j);
    vigil_test_http_free(&r);

    char path[128];
    snprintf(path, sizeof(path), "/api/v1/silences/%s", id);
    r = req("DELETE", path, as_admin, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    vigil_test_http_free(&r);
    r = req("GET", "/api/v1/silences", NULL, NULL);
    j = cJSON_Parse(r.body);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "silences")), 0,
                 "%s", r.body);
    cJSON_Delete(j);
    vigil_test_http_free(&r);
    r = req("DELETE", "/api/v1/silences/00000000", as_admin, NULL);
    cr_assert_eq(r.status, 404, "%s", r.body);
    vigil_test_http_free(&r);
}

Test(feed_daemon, the_feed_follows_a_sighup_reload)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d, NULL), 0);
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 5, 1), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    wait_for_state("KPI-HB", "ok", NULL);
    /* KPI-TOP goes, KPI-NEW comes. */
    char kpi_path[512];
    snprintf(kpi_path, sizeof(kpi_path), "%s/kpi.yaml", d.dir);
    char *kpi = vigil_test_read_file(kpi_path, NULL);
    cr_assert_not_null(kpi);
    char *top = strstr(kpi, "  - id: KPI-TOP");
    char *hb = strstr(kpi, "  - id: KPI-HB");
    cr_assert(top && hb);
    memmove(top, hb, strlen(hb) + 1);
    char *next = NULL;
    cr_assert(asprintf(&next,
                       "%s"
                       "  - id: KPI-NEW\n"
                       "    name: Distinct failed users\n"
                       "    information_need: How many accounts?\n"
                       "    kind: effectiveness\n"
                       "    entity: Test hosts\n"
                       "    owner: soc-lead\n"
                       "    data_source: events\n"
                       "    frequency: 1s\n"
                       "    value: distinct(failed_users, 1h)\n"
                       "    unit: users per hour\n"
                       "    target: \"< 100\"\n"
                       "    decision: { breach: \">= 100\", ok: \"< 100\" }\n",
                       kpi) > 0);
    free(kpi);
    free(vigil_test_write_file(d.dir, "kpi.yaml", next));
    free(next);
    /* Several reloads while clients read, to shake out use-after-free. */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(kill(d.pid, SIGHUP), 0);
        struct vigil_test_http r = req("GET", "/api/v1/indicators", NULL, NULL);
        cr_assert_eq(r.status, 200);
        vigil_test_http_free(&r);
        r = req("GET", "/metrics", NULL, NULL);
        cr_assert_eq(r.status, 200);
        vigil_test_http_free(&r);
    }
    wait_for_state("KPI-NEW", "ok", NULL);
    struct vigil_test_http r = req("GET", "/api/v1/indicators", NULL, NULL);
    cr_assert_null(strstr(r.body, "KPI-TOP"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "KPI-FAIL"));
    vigil_test_http_free(&r);
    r = req("GET", "/api/v1/indicators/KPI-TOP", NULL, NULL);
    cr_assert_eq(r.status, 404);
    vigil_test_http_free(&r);
    cr_assert_eq(vigil_test_feed_daemon_stop(&d), 0, "see %s", d.log_path);
}

Test(feed_daemon, refuses_to_listen_beyond_loopback_without_a_read_token)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d, NULL), 0);
    /* Rewrite the listen line to every address. */
    char *cfg = vigil_test_read_file(d.cfg_path, NULL);
    cr_assert_not_null(cfg);
    char *l = strstr(cfg, "listen: \"127.0.0.1:");
    cr_assert_not_null(l);
    memcpy(l + 9, "0.0.0.0:0\"\n", 11);
    l[20] = '\0';
    char *fixed = NULL;
    cr_assert(asprintf(&fixed, "%s", cfg) > 0);
    free(cfg);
    free(vigil_test_write_file(d.dir, "vigil.yaml", fixed));
    free(fixed);
    char *argv[] = {VIGILD_PATH, "run", "-c", d.cfg_path, NULL};
    char *out = NULL, *err = NULL;
    int rc = vigil_test_run(argv, NULL, &out, &err);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(strstr(err, "read_token"), "stderr: %s", err);
    free(out);
    free(err);
}

/* ---- findings ---- */

/* GET /api/v1/findings?limit=1000 until it lists `want` findings (or
 * more); returns the parsed body (cJSON_Delete it). */
static cJSON *wait_for_findings(int want)
{
    int got = -1;
    for (int i = 0; i < 300; i++) {
        struct vigil_test_http r =
            req("GET", "/api/v1/findings?limit=1000", NULL, NULL);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cJSON *j = cJSON_Parse(r.body);
        vigil_test_http_free(&r);
        got = cJSON_GetArraySize(cJSON_GetObjectItem(j, "findings"));
        if (got >= want)
            return j;
        cJSON_Delete(j);
        cr_assert_eq(vigil_test_wait(d.pid, 100), -2, "vigild exited; see %s",
                     d.log_path);
    }
    cr_assert_fail("%d findings, not %d", got, want);
    return NULL;
}

/* Checks every finding's fields; marks seen[partition][offset]. */
static void check_findings(const cJSON *j, int n, bool seen[2][64])
{
    const cJSON *arr = cJSON_GetObjectItem(j, "findings");
    cr_assert_eq(cJSON_GetArraySize(arr), n, "%d findings",
                 cJSON_GetArraySize(arr));
    const cJSON *f;
    cJSON_ArrayForEach(f, arr)
    {
        cr_assert_str_eq(jstr(f, "rule"), "feedtest.fail");
        cr_assert_str_eq(jstr(f, "title"), "login failure");
        cr_assert_str_eq(jstr(f, "severity"), "low");
        cr_assert_str_eq(jstr(f, "topic"), VIGIL_TEST_FEED_DAEMON_TOPIC);
        cr_assert_eq(strncmp(jstr(f, "user"), "u", 1), 0);
        cr_assert_eq(strncmp(jstr(f, "src"), "10.0.0.", 7), 0);
        /* The event carried no time: the Kafka message's, ISO 8601. */
        const char *at = jstr(f, "at");
        cr_assert(at && strlen(at) == 20 && at[10] == 'T' && at[19] == 'Z',
                  "at %s", at ? at : "(none)");
        cr_assert_not_null(jstr(f, "recorded"));
        cr_assert_not_null(jstr(f, "id"));
        int part = atoi(jstr(f, "partition"));
        int off = atoi(jstr(f, "offset"));
        cr_assert(part >= 0 && part < 2 && off >= 0 && off < 64);
        cr_assert_not(seen[part][off], "partition %d offset %d twice", part,
                      off);
        seen[part][off] = true;
    }
}

Test(feed_daemon, findings_of_a_record_rule_are_listed_once_across_a_kill)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d, NULL), 0);
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 12, 3), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    bool seen[2][64] = {{false}};
    cJSON *j = wait_for_findings(12);
    check_findings(j, 12, seen);
    cJSON_Delete(j);

    /* kill -9 and start again: what was written is not read again. */
    kill(d.pid, SIGKILL);
    vigil_test_wait(d.pid, 10000);
    d.pid = 0;
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 8, 0), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    j = wait_for_findings(20);
    memset(seen, 0, sizeof(seen));
    check_findings(j, 20, seen);
    cJSON_Delete(j);
    /* And no more than that arrives later. */
    wait_for_state("KPI-FAIL", "warn", NULL);
    j = wait_for_findings(20);
    check_findings(j, 20, (bool[2][64]){{false}});
    cJSON_Delete(j);
    struct vigil_test_http r = req("GET", "/metrics", NULL, NULL);
    cr_assert(has_line_prefix(r.body, "vigil_findings_total 8"), "%s", r.body);
    vigil_test_http_free(&r);
}

/* ---- SSE replay ---- */

/* The `event: indicator` frames of an SSE text, in order, as an array of
 * [id, data] (ids are not unique: indicators evaluated in the same
 * millisecond have entries with the same id in their own streams). */
static cJSON *indicator_frames(const char *text)
{
    cJSON *out = cJSON_CreateArray();
    const char *p = text;
    while ((p = strstr(p, "event: indicator\nid: ")) != NULL) {
        p += strlen("event: indicator\nid: ");
        const char *nl = strchr(p, '\n');
        if (!nl || strncmp(nl, "\ndata: ", 7) != 0)
            break;
        const char *data = nl + 7;
        const char *end = strchr(data, '\n');
        if (!end)
            break;
        cJSON *j = cJSON_ParseWithLength(data, (size_t)(end - data));
        cr_assert_not_null(j, "%.*s", (int)(end - data), data);
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(""));
        char id[64];
        snprintf(id, sizeof(id), "%.*s", (int)(nl - p), p);
        cJSON_SetValuestring(cJSON_GetArrayItem(pair, 0), id);
        cJSON_AddItemToArray(pair, j);
        cJSON_AddItemToArray(out, pair);
        p = end;
    }
    return out;
}

/* Compares two stream ids "ms-seq". */
static int cmp_id(const char *a, const char *b)
{
    unsigned long long am = 0, as = 0, bm = 0, bs = 0;
    sscanf(a, "%llu-%llu", &am, &as);
    sscanf(b, "%llu-%llu", &bm, &bs);
    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs;
}

static const char *frame_id(const cJSON *pair)
{
    return cJSON_GetStringValue(cJSON_GetArrayItem(pair, 0));
}

static cJSON *frame_data(const cJSON *pair)
{
    return cJSON_GetArrayItem(pair, 1);
}

/*
 * The replayed frame of live frame lf: a live frame's id is its own
 * hist:<id> entry's or a later one (ids only grow over the stream), and an
 * indicator's evaluations are a second apart, so it is the indicator's
 * replayed frame with the largest id not after lf's. NULL when there is
 * none (lf's own entry was not after Last-Event-ID).
 */
static cJSON *replay_of(const cJSON *lf, const cJSON *replays)
{
    const char *ind =
        cJSON_GetStringValue(cJSON_GetObjectItem(frame_data(lf), "id"));
    cJSON *best = NULL;
    const char *best_id = NULL;
    const cJSON *rf;
    cJSON_ArrayForEach(rf, replays)
    {
        const char *rid = frame_id(rf);
        if (strcmp(
                cJSON_GetStringValue(cJSON_GetObjectItem(frame_data(rf), "id")),
                ind) != 0 ||
            cmp_id(rid, frame_id(lf)) > 0)
            continue;
        if (!best_id || cmp_id(rid, best_id) > 0) {
            best = frame_data(rf);
            best_id = rid;
        }
    }
    return best;
}

static struct vigil_test_sse *open_sse(const char *last_id)
{
    char url[256], hdr[128];
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s", last_id ? last_id : "");
    const char *headers[] = {hdr, NULL};
    struct vigil_test_sse *s = vigil_test_sse_open(
        vigil_test_feed_daemon_url(&d, "/api/v1/stream", url, sizeof(url)),
        last_id ? headers : NULL);
    cr_assert_not_null(s);
    cr_assert(vigil_test_sse_wait(s, ": vigil feed\n", 10000),
              "no stream greeting: %s", vigil_test_sse_text(s));
    return s;
}

/* Drops what may differ between a live frame and its replay: the marker,
 * the evaluation time (the daemon's clock live, the entry id's replayed)
 * and the transition's id (null live, the breaches entry's replayed). */
static void strip(cJSON *frame)
{
    cJSON_DeleteItemFromObject(frame, "replayed");
    cJSON_DeleteItemFromObject(frame, "evaluated_at");
    cJSON *tr = cJSON_GetObjectItem(frame, "transition");
    if (cJSON_IsObject(tr))
        cJSON_DeleteItemFromObject(tr, "id");
}

Test(feed_daemon, a_replayed_indicator_frame_equals_the_live_one)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d, NULL), 0);
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 0, 1), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    wait_for_state("KPI-HB", "ok", NULL);

    /* Live: failures arrive, KPI-FAIL goes to breach (a transition),
     * KPI-TOP names the sources (offenders). */
    struct vigil_test_sse *live = open_sse(NULL);
    cr_assert(vigil_test_sse_wait(live, "event: indicator\n", 10000));
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 60, 0), 0);
    cr_assert(vigil_test_sse_wait(live, "event: breach\n", 30000), "%s",
              vigil_test_sse_text(live));
    /* Gather another two seconds of evaluations. */
    vigil_test_sse_wait(live, "never sent", 2000);
    cJSON *lives = indicator_frames(vigil_test_sse_text(live));
    vigil_test_sse_close(live);
    int n = cJSON_GetArraySize(lives);
    cr_assert_geq(n, 4, "%d live frames", n);
    const char *first = frame_id(cJSON_GetArrayItem(lives, 0));
    const char *last = frame_id(cJSON_GetArrayItem(lives, n - 1));

    /* Reconnect after the first: everything after it is replayed. */
    struct vigil_test_sse *rs = open_sse(first);
    char want[96];
    snprintf(want, sizeof(want), "id: %s\n", last);
    cr_assert(vigil_test_sse_wait(rs, want, 10000), "%s",
              vigil_test_sse_text(rs));
    vigil_test_sse_wait(rs, "never sent", 500);
    cJSON *replays = indicator_frames(vigil_test_sse_text(rs));
    vigil_test_sse_close(rs);

    int compared = 0, transitions = 0, offenders = 0;
    const cJSON *lf;
    cJSON_ArrayForEach(lf, lives)
    {
        cJSON *rf = replay_of(lf, replays);
        if (!rf)
            continue;
        cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(rf, "replayed")));
        cJSON *a = cJSON_Duplicate(frame_data(lf), true);
        cJSON *b = cJSON_Duplicate(rf, true);
        strip(a);
        strip(b);
        char *as = cJSON_PrintUnformatted(a), *bs = cJSON_PrintUnformatted(b);
        cr_assert(cJSON_Compare(a, b, true), "live %s:\n%s\nreplayed:\n%s",
                  frame_id(lf), as, bs);
        free(as);
        free(bs);
        compared++;
        transitions += cJSON_IsObject(cJSON_GetObjectItem(a, "transition"));
        offenders += cJSON_GetArraySize(cJSON_GetObjectItem(a, "top")) > 0;
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    cr_assert_geq(compared, 3);
    cr_assert_geq(transitions, 1, "no transition among the frames compared");
    cr_assert_geq(offenders, 1, "no offenders among the frames compared");
    cJSON_Delete(lives);
    cJSON_Delete(replays);
}
