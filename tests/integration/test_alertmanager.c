/*
 * The alertmanager notifier against a real Alertmanager (Debian package
 * prometheus-alertmanager, gossip off, its own temp folder and free
 * port): a breach posted through the outbox and the pager is listed by
 * `amtool alert query`, and gone once resolved. Every wait is bounded;
 * Alertmanager is always stopped.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "pager.h"
#include "redis_server.h"
#include "support.h"

#define OUTBOX "vigil:{t}:outbox"

static struct {
    struct vigil_test_redis *redis;
    redisContext *rc;
    char *dir;
    pid_t am;
    int port;
    char url[64];
    char amtool[256];
    struct ev_loop *loop;
    ev_timer wake;
    struct vigil_config *cfg;
    struct vigil_pager *pager;
} fx;

/* The full path of a program in PATH, or false. */
static bool which(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(out, n, "%.*s/%s", (int)len, path, name);
        if (len && access(out, X_OK) == 0)
            return true;
        path += len + (end ? 1 : 0);
    }
    return false;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static long get_status(const char *url)
{
    CURL *c = curl_easy_init();
    long code = 0;
    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void start_alertmanager(void)
{
    char bin[256];
    cr_assert(which("prometheus-alertmanager", bin, sizeof(bin)),
              "prometheus-alertmanager not found: run deploy/install-deps.sh "
              "--test");
    cr_assert(which("amtool", fx.amtool, sizeof(fx.amtool)),
              "amtool not found: run deploy/install-deps.sh --test");
    char *conf = vigil_test_write_file(fx.dir, "alertmanager.yml",
                                       "route:\n  receiver: \"null\"\n"
                                       "receivers:\n  - name: \"null\"\n");
    cr_assert_not_null(conf);
    char a_conf[512], a_store[512], a_listen[64], logp[512];
    snprintf(a_conf, sizeof(a_conf), "--config.file=%s", conf);
    snprintf(a_store, sizeof(a_store), "--storage.path=%s/data", fx.dir);
    snprintf(logp, sizeof(logp), "%s/alertmanager.log", fx.dir);
    free(conf);
    for (int attempt = 0; attempt < 3 && fx.am <= 0; attempt++) {
        fx.port = vigil_test_free_port();
        snprintf(a_listen, sizeof(a_listen),
                 "--web.listen-address=127.0.0.1:%d", fx.port);
        snprintf(fx.url, sizeof(fx.url), "http://127.0.0.1:%d", fx.port);
        char *argv[] = {
            bin, a_conf, a_store, a_listen, "--cluster.listen-address=", NULL};
        fx.am = vigil_test_spawn(argv, logp);
        cr_assert_gt(fx.am, 0);
        char ready[128];
        snprintf(ready, sizeof(ready), "%s/-/ready", fx.url);
        bool up = false;
        for (int i = 0; i < 150 && !up; i++) {
            up = get_status(ready) == 200;
            if (!up && vigil_test_wait(fx.am, 100) != -2) {
                fx.am = 0; /* exited (port taken?): try another port */
                break;
            }
        }
        if (!up && fx.am > 0) {
            kill(fx.am, SIGKILL);
            vigil_test_wait(fx.am, 5000);
            fx.am = 0;
        }
    }
    cr_assert_gt(fx.am, 0, "alertmanager did not become ready (see its log)");
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
    fx.dir = vigil_test_tmpdir("vigil-am");
    cr_assert_not_null(fx.dir);
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.rc = vigil_test_redis_connect(fx.redis, 2000);
    cr_assert_not_null(fx.rc);
    fx.loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer_init(&fx.wake, on_wake, 0.02, 0.02);
    ev_timer_start(fx.loop, &fx.wake);
    start_alertmanager();
}

static void teardown(void)
{
    vigil_pager_destroy(fx.pager);
    if (fx.loop) {
        ev_timer_stop(fx.loop, &fx.wake);
        ev_loop_destroy(fx.loop);
    }
    vigil_config_destroy(fx.cfg);
    if (fx.am > 0) {
        kill(fx.am, SIGTERM);
        if (vigil_test_wait(fx.am, 5000) == -2) {
            kill(fx.am, SIGKILL);
            vigil_test_wait(fx.am, 5000);
        }
    }
    if (fx.rc)
        redisFree(fx.rc);
    vigil_test_redis_stop(fx.redis);
    if (fx.dir) {
        vigil_test_rm_rf(fx.dir);
        free(fx.dir);
    }
    curl_global_cleanup();
}

TestSuite(alertmanager, .init = setup, .fini = teardown, .timeout = 120);

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void xadd(const char *action, const char *state, const char *previous,
                 long long episode)
{
    char ep[32], dedup[64];
    snprintf(ep, sizeof(ep), "%lld", episode);
    snprintf(dedup, sizeof(dedup), "KPI-AM:%lld", episode);
    const char *argv[] = {
        "XADD",    OUTBOX,      "*",        "indicator",  "KPI-AM",  "event",
        "opened",  "state",     state,      "previous",   previous,  "value",
        "61",      "since",     ep,         "severity",   "high",    "episode",
        ep,        "action",    action,     "dedup",      dedup,     "name",
        "AM test", "unit",      "failures", "target",     "< 20",    "owner",
        "soc",     "offenders", "[]",       "label.team", "identity"};
    redisReply *r = redisCommandArgv(
        fx.rc, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
    cr_assert_not_null(r);
    freeReplyObject(r);
}

static long long pending(void)
{
    redisReply *r = redisCommand(fx.rc, "XPENDING " OUTBOX " notifiers");
    long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0
                      ? r->element[0]->integer
                      : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

static uint64_t sent(void)
{
    struct vigil_pager_count c[16];
    size_t n = vigil_pager_counts(fx.pager, c, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        if (strcmp(c[i].notifier, "am") == 0 &&
            strcmp(c[i].result, "sent") == 0)
            return c[i].value;
    return 0;
}

/* Runs the loop until `want` notifications were accepted and acked. */
static bool deliver(uint64_t want)
{
    for (int i = 0; i < 5000; i++) {
        if (sent() >= want && pending() == 0)
            return true;
        ev_run(fx.loop, EVRUN_ONCE);
    }
    return false;
}

/* `amtool alert query -o json`: the alert KPI-AM (heap cJSON) or NULL. */
static cJSON *query(void)
{
    char arg[128];
    snprintf(arg, sizeof(arg), "--alertmanager.url=%s", fx.url);
    char *argv[] = {fx.amtool, arg, "alert", "query", "-o", "json", NULL};
    char *out = NULL, *err = NULL;
    int rc = vigil_test_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "amtool: %s", err ? err : "");
    cJSON *all = cJSON_Parse(out);
    cr_assert(cJSON_IsArray(all), "%s", out);
    free(out);
    free(err);
    cJSON *found = NULL, *a;
    cJSON_ArrayForEach(a, all)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(a, "labels"), "alertname");
        if (cJSON_IsString(name) && strcmp(name->valuestring, "KPI-AM") == 0)
            found = cJSON_Duplicate(a, true);
    }
    cJSON_Delete(all);
    return found;
}

static const char *label(const cJSON *alert, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(alert, "labels"), name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

Test(alertmanager, a_breach_is_listed_by_amtool_and_gone_when_resolved)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "redis:\n  url: \"%s\"\n  namespace: t\n"
             "rules: [\"rules/*.yaml\"]\n"
             "notifiers:\n"
             "  - name: am\n"
             "    type: alertmanager\n"
             "    url: \"%s\"\n"
             "    timeout: 2s\n"
             "route:\n"
             "  - notify: [am]\n",
             vigil_test_redis_url(fx.redis), fx.url);
    struct vigil_diags d = {0};
    fx.cfg = vigil_config_load_string("am.yaml", text, strlen(text),
                                      VIGIL_TESTS_DIR "/config/good", &d);
    vigil_diags_fini(&d);
    cr_assert_not_null(fx.cfg);
    struct vigil_pager_config pc = {
        .cfg = fx.cfg,
        .connect = connect_redis,
        .consumer = "am-test",
        .dashboard_url = "http://127.0.0.1:8089",
        .poll_ms = 20,
        .backoff_base_ms = 100,
        .backoff_cap_ms = 500,
    };
    fx.pager = vigil_pager_create(&pc);
    cr_assert_not_null(fx.pager);
    cr_assert_eq(vigil_pager_start(fx.pager, fx.loop), 0);

    long long episode = wall_ms() - 60000;
    xadd("trigger", "breach", "ok", episode);
    cr_assert(deliver(1), "the trigger was not delivered");
    cJSON *alert = NULL;
    for (int i = 0; i < 50 && !alert; i++) {
        alert = query();
        if (!alert)
            usleep(100000);
    }
    cr_assert_not_null(alert, "amtool does not list KPI-AM");
    cr_expect_str_eq(label(alert, "severity"), "high");
    cr_expect_str_eq(label(alert, "state"), "breach");
    cr_expect_str_eq(label(alert, "team"), "identity");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(alert, "status"), "state");
    cr_expect_str_eq(cJSON_IsString(st) ? st->valuestring : "", "active");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(alert, "generatorURL");
    cr_expect_str_eq(cJSON_IsString(gen) ? gen->valuestring : "",
                     "http://127.0.0.1:8089/?indicator=KPI-AM");
    cJSON_Delete(alert);

    xadd("resolve", "ok", "breach", episode);
    cr_assert(deliver(2), "the resolve was not delivered");
    bool gone = false;
    for (int i = 0; i < 50 && !gone; i++) {
        alert = query();
        gone = alert == NULL;
        cJSON_Delete(alert);
        if (!gone)
            usleep(100000);
    }
    cr_expect(gone, "KPI-AM is still listed after its resolve");
    cr_expect_eq(sent(), 2);
}
