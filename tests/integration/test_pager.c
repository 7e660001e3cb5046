/*
 * pager against a real redis-server and a local HTTP receiver: the outbox
 * consumer group, PagerDuty fields and dedup keys, retries after 500 and
 * 429 and a timeout, no retry after 400, the exec notifier's stdin,
 * reclaiming a dead consumer's entries, three pagers on one outbox,
 * silences, repeats until acked, group_wait and per-key ordering.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "ack.h"
#include "http_receiver.h"
#include "pager.h"
#include "plugin_loader.h"
#include "redis_server.h"
#include "silence.h"
#include "support.h"

#define OUTBOX "vigil:{t}:outbox"

static struct {
    struct vigil_test_redis *redis;
    struct vigil_test_http_receiver *recv;
    redisContext *rc;
    struct ev_loop *loop;
    ev_timer wake;
    struct vigil_config *cfg;
    struct vigil_pager *pagers[3];
    int64_t shift_ms;  /* added to the wall clock */
    uint64_t lease_ms; /* of the pagers started next; 0: the default */
    struct vigil_plugins *plugins; /* handed to the pagers started next */
    char *dir;
} fx;

static int64_t clock_ms(void *ctx)
{
    (void)ctx;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 + fx.shift_ms;
}

static redisContext *connect_redis(void *ctx)
{
    (void)ctx;
    return vigil_test_redis_connect(fx.redis, 2000);
}

static void on_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    signal(SIGPIPE, SIG_IGN);
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.rc = vigil_test_redis_connect(fx.redis, 2000);
    cr_assert_not_null(fx.rc);
    fx.recv = vigil_test_http_receiver_start();
    cr_assert_not_null(fx.recv);
    fx.loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_not_null(fx.loop);
    ev_timer_init(&fx.wake, on_wake, 0.02, 0.02);
    ev_timer_start(fx.loop, &fx.wake);
    fx.dir = vigil_test_tmpdir("vigil-pager");
    cr_assert_not_null(fx.dir);
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++)
        vigil_pager_destroy(fx.pagers[i]);
    if (fx.loop) {
        ev_timer_stop(fx.loop, &fx.wake);
        ev_loop_destroy(fx.loop);
    }
    vigil_plugins_destroy(fx.plugins);
    vigil_config_destroy(fx.cfg);
    vigil_test_http_receiver_stop(fx.recv);
    if (fx.rc)
        redisFree(fx.rc);
    vigil_test_redis_stop(fx.redis);
    if (fx.dir) {
        vigil_test_rm_rf(fx.dir);
        free(fx.dir);
    }
}

TestSuite(pager, .init = setup, .fini = teardown, .timeout = 120);

/* Loads a config whose notifiers and routes are `tail` (every "%s" is
 * the receiver's URL). */
static void load_config(const char *tail)
{
    char notif[4096], text[8192];
    const char *u = vigil_test_http_receiver_url(fx.recv);
    size_t o = 0;
    for (const char *p = tail; *p && o + 64 < sizeof(notif);) {
        if (p[0] == '%' && p[1] == 's') {
            o += (size_t)snprintf(notif + o, sizeof(notif) - o, "%s", u);
            p += 2;
        } else {
            notif[o++] = *p++;
        }
    }
    notif[o] = '\0';
    snprintf(text, sizeof(text),
             "redis:\n  url: \"%s\"\n  namespace: t\nrules: "
             "[\"rules/*.yaml\"]\n%s",
             vigil_test_redis_url(fx.redis), notif);
    struct vigil_diags d = {0};
    fx.cfg = vigil_config_load_string("pager.yaml", text, strlen(text),
                                      VIGIL_TESTS_DIR "/config/good", &d);
    char msg[512] = "";
    if (d.n)
        vigil_diag_format(&d.v[0], msg, sizeof(msg));
    vigil_diags_fini(&d);
    cr_assert_not_null(fx.cfg, "%s", msg);
}

static struct vigil_pager *start_pager(int i, uint64_t claim_idle_ms)
{
    char consumer[32];
    snprintf(consumer, sizeof(consumer), "pager-%d", i);
    struct vigil_pager_config pc = {
        .cfg = fx.cfg,
        .connect = connect_redis,
        .consumer = consumer,
        .dashboard_url = "http://127.0.0.1:8089",
        .now_ms = clock_ms,
        .poll_ms = 20,
        .claim_idle_ms = claim_idle_ms ? claim_idle_ms : 60000,
        .lease_ms = fx.lease_ms,
        .plugins = fx.plugins,
        .backoff_base_ms = 50,
        .backoff_cap_ms = 200,
        .seed = 1,
    };
    fx.pagers[i] = vigil_pager_create(&pc);
    cr_assert_not_null(fx.pagers[i]);
    cr_assert_eq(vigil_pager_start(fx.pagers[i], fx.loop), 0);
    return fx.pagers[i];
}

static const char pd_only[] = "notifiers:\n"
                              "  - name: pd\n"
                              "    type: pagerduty\n"
                              "    routing_key: R0UT1NG\n"
                              "    url: \"%s/pd\"\n"
                              "    timeout: 300ms\n"
                              "route:\n"
                              "  - notify: [pd]\n";

/* Appends an outbox entry like the indicator store writes. */
static void xadd(const char *action, const char *indicator, long long episode,
                 const char *state, const char *previous)
{
    char dedup[128], ep[32];
    snprintf(dedup, sizeof(dedup), "%s:%lld", indicator, episode);
    snprintf(ep, sizeof(ep), "%lld", episode);
    const char *argv[] = {"XADD",
                          OUTBOX,
                          "*",
                          "indicator",
                          indicator,
                          "event",
                          strcmp(action, "trigger") ? "resolved" : "opened",
                          "state",
                          state,
                          "previous",
                          previous,
                          "value",
                          "52",
                          "since",
                          ep,
                          "severity",
                          "high",
                          "episode",
                          ep,
                          "action",
                          action,
                          "dedup",
                          dedup,
                          "name",
                          "Test indicator",
                          "unit",
                          "failures",
                          "target",
                          "< 20",
                          "owner",
                          "soc",
                          "recommendation",
                          "Do it.",
                          "offenders",
                          "[]",
                          "label.team",
                          "identity"};
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    redisReply *r = redisCommandArgv(fx.rc, argc, argv, NULL);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
}

static long long pending(void)
{
    redisReply *r = redisCommand(fx.rc, "XPENDING " OUTBOX " notifiers");
    cr_assert_not_null(r);
    long long n = r->type == REDIS_REPLY_ARRAY && r->elements > 0
                      ? r->element[0]->integer
                      : -1;
    freeReplyObject(r);
    return n;
}

static long long stream_len(const char *key)
{
    redisReply *r = redisCommand(fx.rc, "XLEN %s", key);
    cr_assert_not_null(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* Runs the loop until cond() or about max_ms have passed. */
static bool run_until(bool (*cond)(void), int max_ms)
{
    struct timeval a, b;
    gettimeofday(&a, NULL);
    for (;;) {
        if (cond())
            return true;
        gettimeofday(&b, NULL);
        long el = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
        if (el > max_ms)
            return false;
        ev_run(fx.loop, EVRUN_ONCE);
    }
}

static bool never(void)
{
    return false;
}

static size_t want_requests;
static bool got_requests(void)
{
    return vigil_test_http_receiver_count(fx.recv) >= want_requests;
}

/* A field of an XINFO reply (a flat field/value array), or "". */
static void info_field(const redisReply *r, const char *name, char *out,
                       size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[i]->str, name) == 0 &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            snprintf(out, n, "%s", r->element[i + 1]->str);
}

/* Every entry of the outbox was read by the group and acked. */
static bool all_acked(void)
{
    if (pending() != 0 || stream_len(OUTBOX) == 0)
        return false;
    char last[64], delivered[64];
    redisReply *r = redisCommand(fx.rc, "XINFO STREAM " OUTBOX);
    info_field(r, "last-generated-id", last, sizeof(last));
    if (r)
        freeReplyObject(r);
    r = redisCommand(fx.rc, "XINFO GROUPS " OUTBOX);
    info_field(r && r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0]
                                                                : NULL,
               "last-delivered-id", delivered, sizeof(delivered));
    if (r)
        freeReplyObject(r);
    return last[0] && strcmp(last, delivered) == 0;
}

static bool requests_and_acked(void)
{
    return got_requests() && all_acked();
}

static cJSON *body_json(size_t i)
{
    char *b = vigil_test_http_receiver_body(fx.recv, i);
    cr_assert_not_null(b, "request %zu", i);
    cJSON *j = cJSON_Parse(b);
    cr_assert_not_null(j, "%s", b);
    free(b);
    return j;
}

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static uint64_t counter(struct vigil_pager *p, const char *notifier,
                        const char *result)
{
    struct vigil_pager_count c[64];
    size_t n = vigil_pager_counts(p, c, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        if (strcmp(c[i].notifier, notifier) == 0 &&
            strcmp(c[i].result, result) == 0)
            return c[i].value;
    return UINT64_MAX;
}

Test(pager, trigger_and_resolve_reach_pagerduty_with_one_dedup_key)
{
    load_config(pd_only);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-1", 1700000000000LL, "breach", "ok");
    xadd("resolve", "KPI-1", 1700000000000LL, "ok", "breach");
    want_requests = 2;
    cr_assert(run_until(requests_and_acked, 10000), "requests: %zu",
              vigil_test_http_receiver_count(fx.recv));
    char *line = vigil_test_http_receiver_request_line(fx.recv, 0);
    cr_expect_str_eq(line, "POST /pd");
    free(line);
    char *ct = vigil_test_http_receiver_header(fx.recv, 0, "content-type");
    cr_expect_str_eq(ct, "application/json");
    free(ct);
    cJSON *t = body_json(0), *r = body_json(1);
    cr_expect_str_eq(str_at(t, "routing_key", NULL), "R0UT1NG");
    cr_expect_str_eq(str_at(t, "event_action", NULL), "trigger");
    cr_expect_str_eq(str_at(r, "event_action", NULL), "resolve");
    cr_expect_str_eq(str_at(t, "dedup_key", NULL), "KPI-1:1700000000000");
    cr_expect_str_eq(str_at(r, "dedup_key", NULL), "KPI-1:1700000000000");
    cr_expect_str_eq(str_at(t, "payload", "severity"), "error");
    cr_expect_str_eq(str_at(t, "payload", "timestamp"),
                     "2023-11-14T22:13:20.000Z");
    cr_expect(strstr(str_at(t, "payload", "summary"), "[BREACH] KPI-1") !=
              NULL);
    cJSON_Delete(t);
    cJSON_Delete(r);
    cr_expect_eq(counter(p, "pd", "sent"), 2);
    cr_expect_eq(counter(p, "pd", "retry"), 0);
}

Test(pager, retries_after_500_and_429_until_accepted)
{
    load_config(pd_only);
    vigil_test_http_receiver_script(fx.recv, 500, 0, "oops", 0);
    vigil_test_http_receiver_script(fx.recv, 429, 1, "slow down", 0);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-2", 1700000000000LL, "breach", "ok");
    want_requests = 1;
    cr_assert(run_until(got_requests, 10000));
    cr_expect_eq(pending(), 1, "not acked while the receiver refuses");
    want_requests = 3;
    cr_assert(run_until(requests_and_acked, 15000), "requests: %zu",
              vigil_test_http_receiver_count(fx.recv));
    cr_expect_eq(vigil_test_http_receiver_status(fx.recv, 0), 500);
    cr_expect_eq(vigil_test_http_receiver_status(fx.recv, 1), 429);
    cr_expect_eq(vigil_test_http_receiver_status(fx.recv, 2), 202);
    for (size_t i = 0; i < 3; i++) {
        cJSON *j = body_json(i);
        cr_expect_str_eq(str_at(j, "dedup_key", NULL), "KPI-2:1700000000000");
        cJSON_Delete(j);
    }
    cr_expect_eq(counter(p, "pd", "retry"), 2);
    cr_expect_eq(counter(p, "pd", "sent"), 1);
}

Test(pager, a_timeout_is_retried)
{
    load_config(pd_only);
    /* No answer for longer than the notifier's 300 ms timeout. The
     * receiver serves one connection at a time, so a retry made while it
     * still hangs may time out too. */
    vigil_test_http_receiver_script(fx.recv, 0, 0, NULL, 600);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-3", 1700000000000LL, "breach", "ok");
    want_requests = 2;
    cr_assert(run_until(requests_and_acked, 15000));
    cr_expect_eq(vigil_test_http_receiver_status(fx.recv, 0), 0);
    cr_expect_geq(counter(p, "pd", "retry"), 1);
    cr_expect_eq(counter(p, "pd", "sent"), 1);
}

Test(pager, a_400_is_not_retried_and_is_recorded_as_failed)
{
    load_config(pd_only);
    vigil_test_http_receiver_script(fx.recv, 400, 0,
                                    "{\"message\":\"Invalid routing key\"}", 0);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-4", 1700000000000LL, "breach", "ok");
    cr_assert(run_until(all_acked, 10000));
    /* A few more polls: nothing is sent again. */
    run_until(never, 300);
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 1);
    cr_expect_eq(counter(p, "pd", "failed"), 1);
    redisReply *r = redisCommand(fx.rc, "XRANGE vigil:{t}:breaches - +");
    cr_assert_not_null(r);
    cr_assert_eq(r->elements, 1);
    const redisReply *f = r->element[0]->element[1];
    char flat[2048] = "";
    for (size_t i = 0; i < f->elements; i++) {
        strncat(flat, f->element[i]->str, sizeof(flat) - strlen(flat) - 2);
        strncat(flat, "|", sizeof(flat) - strlen(flat) - 1);
    }
    cr_expect(strstr(flat, "event|notification_failed|") != NULL, "%s", flat);
    cr_expect(strstr(flat, "status|400|") != NULL, "%s", flat);
    cr_expect(strstr(flat, "Invalid routing key") != NULL, "%s", flat);
    cr_expect(strstr(flat, "dedup|KPI-4:1700000000000|") != NULL, "%s", flat);
    freeReplyObject(r);
}

static char *out_path, *env_path;
static bool out_written(void)
{
    char *s = vigil_test_read_file(env_path, NULL);
    bool ok = s != NULL && all_acked();
    free(s);
    return ok;
}

Test(pager, exec_gets_the_json_on_stdin_with_a_scrubbed_environment)
{
    cr_assert(asprintf(&out_path, "%s/stdin.json", fx.dir) > 0);
    cr_assert(asprintf(&env_path, "%s/env.txt", fx.dir) > 0);
    char tail[2048];
    snprintf(tail, sizeof(tail),
             "notifiers:\n"
             "  - name: run\n"
             "    type: exec\n"
             "    argv: [/bin/sh, -c, 'cat > \"$1\"; env > \"$2.tmp\"; mv "
             "\"$2.tmp\" \"$2\"', sh, \"%s\", \"%s\"]\n"
             "    timeout: 5s\n"
             "route:\n"
             "  - notify: [run]\n",
             out_path, env_path);
    setenv("VIGIL_SECRET_FOR_TEST", "leak", 1);
    load_config(tail);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-5", 1700000000000LL, "breach", "ok");
    cr_assert(run_until(out_written, 10000));
    char *in = vigil_test_read_file(out_path, NULL);
    cr_assert_not_null(in);
    cJSON *j = cJSON_Parse(in);
    cr_assert_not_null(j, "%s", in);
    const cJSON *n0 = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(j, "notifications"), 0);
    cr_expect_str_eq(str_at(n0, "dedup_key", NULL), "KPI-5:1700000000000");
    cr_expect_str_eq(str_at(n0, "action", NULL), "trigger");
    cJSON_Delete(j);
    free(in);
    char *env = vigil_test_read_file(env_path, NULL);
    cr_assert_not_null(env);
    cr_expect(strstr(env, "PATH=") != NULL, "%s", env);
    cr_expect(strstr(env, "VIGIL_SECRET_FOR_TEST") == NULL, "%s", env);
    cr_expect(strstr(env, "HOME=") == NULL, "%s", env);
    free(env);
    cr_expect_eq(counter(p, "run", "sent"), 1);
    free(out_path);
    free(env_path);
}

Test(pager, exec_exit_codes_decide_retry_or_failure)
{
    /* Exit 1 the first time (retried), then 65: failed for good. */
    char tail[2048], *mark;
    cr_assert(asprintf(&mark, "%s/ran-once", fx.dir) > 0);
    snprintf(tail, sizeof(tail),
             "notifiers:\n"
             "  - name: run\n"
             "    type: exec\n"
             "    argv: [/bin/sh, -c, 'cat >/dev/null; if [ -e \"$1\" ]; then "
             "exit 65; fi; : > \"$1\"; exit 1', sh, \"%s\"]\n"
             "route:\n"
             "  - notify: [run]\n",
             mark);
    load_config(tail);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-6", 1700000000000LL, "breach", "ok");
    cr_assert(run_until(all_acked, 10000));
    cr_expect_eq(counter(p, "run", "retry"), 1);
    cr_expect_eq(counter(p, "run", "failed"), 1);
    cr_expect_eq(stream_len("vigil:{t}:breaches"), 1);
    free(mark);
}

Test(pager, a_dead_consumers_entry_is_reclaimed_and_delivered_once)
{
    load_config(pd_only);
    redisReply *r =
        redisCommand(fx.rc, "XGROUP CREATE " OUTBOX " notifiers 0 MKSTREAM");
    cr_assert_not_null(r);
    freeReplyObject(r);
    xadd("trigger", "KPI-7", 1700000000000LL, "breach", "ok");
    /* A pager that read the entry and died before delivering it. */
    r = redisCommand(fx.rc, "XREADGROUP GROUP notifiers dead COUNT 10 "
                            "STREAMS " OUTBOX " >");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    cr_assert_eq(pending(), 1);
    struct vigil_pager *p = start_pager(0, 300);
    want_requests = 1;
    cr_assert(run_until(requests_and_acked, 10000));
    run_until(never, 700); /* more claim rounds: nothing is sent again */
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 1);
    cJSON *j = body_json(0);
    cr_expect_str_eq(str_at(j, "dedup_key", NULL), "KPI-7:1700000000000");
    cJSON_Delete(j);
    cr_expect_eq(counter(p, "pd", "sent"), 1);
}

Test(pager, a_pagers_entries_are_taken_over_once_its_lease_is_gone)
{
    load_config(pd_only);
    redisReply *r =
        redisCommand(fx.rc, "XGROUP CREATE " OUTBOX " notifiers 0 MKSTREAM");
    cr_assert_not_null(r);
    freeReplyObject(r);
    xadd("trigger", "KPI-L", 1700000000000LL, "breach", "ok");
    /* A pager that read the entry and still holds its lease. */
    r = redisCommand(fx.rc, "XREADGROUP GROUP notifiers other COUNT 10 "
                            "STREAMS " OUTBOX " >");
    cr_assert_not_null(r);
    freeReplyObject(r);
    r = redisCommand(fx.rc, "SET vigil:{t}:pager:other 1");
    freeReplyObject(r);
    fx.lease_ms = 500; /* renewed and checked every 100 ms */
    struct vigil_pager *p = start_pager(0, 0); /* XAUTOCLAIM after 60 s */
    run_until(never, 1500);
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 0,
                 "taken from a pager whose lease is alive");
    r = redisCommand(fx.rc, "EXISTS vigil:{t}:pager:pager-0");
    cr_expect(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
              "the pager holds a lease");
    freeReplyObject(r);
    /* The other pager dies: its lease runs out. */
    r = redisCommand(fx.rc, "DEL vigil:{t}:pager:other");
    freeReplyObject(r);
    want_requests = 1;
    cr_assert(run_until(requests_and_acked, 10000));
    run_until(never, 500);
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 1);
    cr_expect_eq(counter(p, "pd", "sent"), 1);
    /* The dead consumer, with nothing pending, left the group. */
    r = redisCommand(fx.rc, "XINFO CONSUMERS " OUTBOX " notifiers");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY);
    cr_expect_eq(r->elements, 1, "only pager-0 is left");
    freeReplyObject(r);
}

Test(pager, a_notifier_plugin_delivers_and_its_failures_are_retried)
{
    load_config("notifiers:\n"
                "  - name: teams\n"
                "    type: teams\n"
                "    url: \"%s/teams\"\n"
                "route:\n"
                "  - notify: [teams]\n"
                "plugins:\n"
                "  - path: " VIGIL_PLUGIN_PATH_NOTIFIER_TEAMS "\n");
    struct vigil_diags d = {0};
    fx.plugins = vigil_plugins_load(fx.cfg, &d);
    cr_assert_eq(d.n, 0);
    vigil_diags_fini(&d);
    cr_assert_not_null(fx.plugins);
    vigil_test_http_receiver_script(fx.recv, 500, 0, "busy", 0);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-T", 1700000000000LL, "breach", "ok");
    want_requests = 2;
    cr_assert(run_until(requests_and_acked, 15000));
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 2);
    char *line = vigil_test_http_receiver_request_line(fx.recv, 1);
    cr_expect_str_eq(line, "POST /teams");
    free(line);
    char *body = vigil_test_http_receiver_body(fx.recv, 1);
    cr_expect_not_null(strstr(body, "KPI-T"), "%s", body);
    cr_expect_not_null(strstr(body, "AdaptiveCard"), "%s", body);
    cr_expect_not_null(strstr(body, "[BREACH] KPI-T"), "%s", body);
    free(body);
    cr_expect_eq(counter(p, "teams", "retry"), 1);
    cr_expect_eq(counter(p, "teams", "sent"), 1);
}

Test(pager, an_entry_held_while_backing_off_is_not_stolen)
{
    load_config(pd_only);
    for (int i = 0; i < 4; i++)
        vigil_test_http_receiver_script(fx.recv, 503, 0, NULL, 0);
    start_pager(0, 300);
    start_pager(1, 300);
    xadd("trigger", "KPI-8", 1700000000000LL, "breach", "ok");
    want_requests = 5;
    cr_assert(run_until(requests_and_acked, 15000));
    run_until(never, 500);
    /* Backoff (50..200 ms) spans several min-idle periods of 300 ms: the
     * holder keeps touching it, so only one pager ever sends it. */
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 5);
}

static bool thirty_delivered(void)
{
    return vigil_test_http_receiver_count(fx.recv) >= 30 && all_acked();
}

Test(pager, three_pagers_on_one_outbox_deliver_each_entry_once)
{
    load_config(pd_only);
    start_pager(0, 0);
    start_pager(1, 0);
    start_pager(2, 0);
    for (int i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof(id), "KPI-M%d", i);
        xadd("trigger", id, 1700000000000LL + i, "breach", "ok");
    }
    cr_assert(run_until(thirty_delivered, 20000));
    run_until(never, 300);
    size_t n = vigil_test_http_receiver_count(fx.recv);
    cr_assert_eq(n, 30);
    int seen[30] = {0};
    for (size_t i = 0; i < n; i++) {
        cJSON *j = body_json(i);
        int k = -1;
        sscanf(str_at(j, "dedup_key", NULL), "KPI-M%d:", &k);
        cr_assert(k >= 0 && k < 30);
        seen[k]++;
        cJSON_Delete(j);
    }
    for (int k = 0; k < 30; k++)
        cr_expect_eq(seen[k], 1, "KPI-M%d delivered %d times", k, seen[k]);
    uint64_t total = 0;
    for (int i = 0; i < 3; i++)
        total += counter(fx.pagers[i], "pd", "sent");
    cr_expect_eq(total, 30);
}

Test(pager, silenced_transitions_are_acked_without_notifying)
{
    load_config(pd_only);
    struct vigil_silence s = {0};
    cr_assert_eq(vigil_silence_add_matcher(&s, "indicator=KPI-S"), 0);
    s.starts_ms = clock_ms(NULL) - 1000;
    s.ends_ms = clock_ms(NULL) + 3600000;
    s.author = strdup("alice");
    s.reason = strdup("maintenance");
    char err[256];
    cr_assert_eq(
        vigil_silence_add(fx.rc, "t", &s, clock_ms(NULL), err, sizeof(err)), 0,
        "%s", err);
    vigil_silence_fini(&s);
    struct vigil_pager *p = start_pager(0, 0);
    xadd("trigger", "KPI-S", 1700000000000LL, "breach", "ok");
    xadd("trigger", "KPI-T", 1700000000000LL, "breach", "ok");
    want_requests = 1;
    cr_assert(run_until(requests_and_acked, 10000));
    run_until(never, 200);
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 1);
    cJSON *j = body_json(0);
    cr_expect_str_eq(str_at(j, "dedup_key", NULL), "KPI-T:1700000000000");
    cJSON_Delete(j);
    cr_expect_eq(counter(p, "pd", "silenced"), 1);
    cr_expect_eq(counter(p, "pd", "sent"), 1);
}

static bool repeats_empty(void)
{
    redisReply *r = redisCommand(fx.rc, "ZCARD vigil:{t}:repeats");
    bool empty = r && r->integer == 0;
    if (r)
        freeReplyObject(r);
    return empty;
}

Test(pager, repeats_while_open_and_stops_once_acked)
{
    load_config("notifiers:\n"
                "  - name: pd\n"
                "    type: pagerduty\n"
                "    routing_key: R0UT1NG\n"
                "    url: \"%s/pd\"\n"
                "route:\n"
                "  - notify: [pd]\n"
                "    repeat: 1h\n");
    redisReply *r =
        redisCommand(fx.rc, "HSET vigil:{t}:state:KPI-R state breach "
                            "episode 1700000000000 value 77");
    cr_assert_not_null(r);
    freeReplyObject(r);
    start_pager(0, 0);
    xadd("trigger", "KPI-R", 1700000000000LL, "breach", "ok");
    want_requests = 1;
    cr_assert(run_until(requests_and_acked, 10000));
    cr_expect_not(repeats_empty(), "a repeat is scheduled");
    fx.shift_ms += 3600000 + 1000;
    want_requests = 2;
    cr_assert(run_until(requests_and_acked, 10000));
    cJSON *j = body_json(1);
    cr_expect_str_eq(str_at(j, "dedup_key", NULL), "KPI-R:1700000000000");
    cr_expect(strstr(str_at(j, "payload", "summary"), "repeat 1") != NULL, "%s",
              str_at(j, "payload", "summary"));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "payload"), "custom_details"),
        "value");
    cr_expect(cJSON_IsNumber(v) && v->valuedouble == 77, "the current value");
    cJSON_Delete(j);

    struct vigil_ack_result ack;
    char err[256];
    cr_assert_eq(vigil_ack_breach(fx.rc, "t", "KPI-R", "bob", "on it",
                                  clock_ms(NULL), &ack, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_eq(ack.episode_ms, 1700000000000LL);
    fx.shift_ms += 3600000 + 1000;
    cr_assert(run_until(repeats_empty, 10000));
    run_until(never, 200);
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 2);
}

Test(pager, a_resolve_cancels_the_repeats)
{
    load_config("notifiers:\n"
                "  - name: pd\n"
                "    type: pagerduty\n"
                "    routing_key: R0UT1NG\n"
                "    url: \"%s/pd\"\n"
                "route:\n"
                "  - notify: [pd]\n"
                "    repeat: 1h\n");
    start_pager(0, 0);
    xadd("trigger", "KPI-C", 1700000000000LL, "breach", "ok");
    want_requests = 1;
    cr_assert(run_until(requests_and_acked, 10000));
    cr_expect_not(repeats_empty());
    xadd("resolve", "KPI-C", 1700000000000LL, "ok", "breach");
    want_requests = 2;
    cr_assert(run_until(requests_and_acked, 10000));
    cr_expect(repeats_empty());
}

static bool four_acked(void)
{
    return stream_len(OUTBOX) == 3 && all_acked() &&
           vigil_test_http_receiver_count(fx.recv) >= 4;
}

Test(pager, group_wait_groups_for_webhooks_but_not_for_pagerduty)
{
    load_config("notifiers:\n"
                "  - name: pd\n"
                "    type: pagerduty\n"
                "    routing_key: R0UT1NG\n"
                "    url: \"%s/pd\"\n"
                "  - name: hook\n"
                "    type: webhook\n"
                "    url: \"%s/hook\"\n"
                "route:\n"
                "  - notify: [hook, pd]\n"
                "    group_wait: 400ms\n");
    start_pager(0, 0);
    xadd("trigger", "KPI-G1", 1700000000000LL, "breach", "ok");
    xadd("trigger", "KPI-G2", 1700000000000LL, "breach", "ok");
    xadd("trigger", "KPI-G3", 1700000000000LL, "breach", "ok");
    cr_assert(run_until(four_acked, 10000));
    run_until(never, 200);
    size_t n = vigil_test_http_receiver_count(fx.recv), hooks = 0, pds = 0;
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        char *line = vigil_test_http_receiver_request_line(fx.recv, i);
        if (strcmp(line, "POST /hook") == 0) {
            hooks++;
            cJSON *j = body_json(i);
            cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                             j, "notifications")),
                         3);
            cr_expect(
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "grouped")));
            cJSON_Delete(j);
        } else {
            pds++;
        }
        free(line);
    }
    cr_expect_eq(hooks, 1);
    cr_expect_eq(pds, 3);
}

Test(pager, a_resolve_never_overtakes_its_trigger)
{
    load_config(pd_only);
    vigil_test_http_receiver_script(fx.recv, 502, 0, NULL, 0);
    vigil_test_http_receiver_script(fx.recv, 502, 0, NULL, 0);
    start_pager(0, 0);
    xadd("trigger", "KPI-O", 1700000000000LL, "breach", "ok");
    xadd("resolve", "KPI-O", 1700000000000LL, "ok", "breach");
    want_requests = 4;
    cr_assert(run_until(requests_and_acked, 10000));
    const char *want[] = {"trigger", "trigger", "trigger", "resolve"};
    for (size_t i = 0; i < 4; i++) {
        cJSON *j = body_json(i);
        cr_expect_str_eq(str_at(j, "event_action", NULL), want[i],
                         "request %zu", i);
        cJSON_Delete(j);
    }
}

Test(pager, unparsable_and_unrouted_entries_are_acked_and_counted)
{
    load_config("notifiers:\n"
                "  - name: pd\n"
                "    type: pagerduty\n"
                "    routing_key: R0UT1NG\n"
                "    url: \"%s/pd\"\n"
                "route:\n"
                "  - match: { severity: critical }\n"
                "    notify: [pd]\n");
    struct vigil_pager *p = start_pager(0, 0);
    redisReply *r = redisCommand(fx.rc, "XADD " OUTBOX " * junk 1");
    cr_assert_not_null(r);
    freeReplyObject(r);
    xadd("trigger", "KPI-U", 1700000000000LL, "breach", "ok"); /* high */
    cr_assert(run_until(all_acked, 10000));
    run_until(never, 100);
    cr_expect_eq(vigil_test_http_receiver_count(fx.recv), 0);
    cr_expect_eq(counter(p, "", "invalid"), 1);
    cr_expect_eq(counter(p, "", "unrouted"), 1);
}

static bool stopped_cleanly;
static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    (void)w;
    vigil_pager_stop(fx.pagers[0]);
    ev_timer_stop(loop, &fx.wake);
    stopped_cleanly = true;
}

Test(pager, stop_leaves_undelivered_entries_pending_and_the_loop_ends)
{
    load_config(pd_only);
    vigil_test_http_receiver_script(fx.recv, 0, 0, NULL, 3000);
    start_pager(0, 0);
    xadd("trigger", "KPI-Z", 1700000000000LL, "breach", "ok");
    want_requests = 1;
    cr_assert(run_until(got_requests, 10000));
    ev_timer stop;
    ev_timer_init(&stop, on_stop, 0.05, 0.);
    ev_timer_start(fx.loop, &stop);
    ev_run(fx.loop, 0); /* returns only when no watcher is left */
    cr_expect(stopped_cleanly);
    cr_expect_eq(pending(), 1, "the entry waits for another pager");
}
