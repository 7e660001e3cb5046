/*
 * The dashboard in a real browser: vigild run (real redis-server,
 * librdkafka's mock cluster) serves GET /, headless Chromium opens it
 * and is driven over the DevTools protocol. Tiles must appear, and one
 * must turn to breach, live, when a burst of failed logins arrives. A
 * screenshot is kept under the build tree (tests/artifacts/).
 *
 * When Chromium cannot start at all, the test is skipped (never passed)
 * with the reason.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "feed_fixture.h"
#include "support.h"

#define READ "dashboard-read-token-1"
#define ADMIN "dashboard-admin-token-2"

static struct vigil_test_feed_daemon d;
static struct vigil_test_browser *browser;

static void setup(void)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d, NULL), 0);
}

static void setup_with_tokens(void)
{
    cr_assert_eq(vigil_test_feed_daemon_init(&d,
                                             "  read_token: \"" READ "\"\n"
                                             "  admin_token: \"" ADMIN "\"\n"),
                 0);
}

static void teardown(void)
{
    vigil_test_browser_stop(browser);
    browser = NULL;
    vigil_test_feed_daemon_fini(&d);
}

TestSuite(dashboard, .init = setup, .fini = teardown, .timeout = 240);

/* Evaluates expr until it yields the string want (bounded); returns the
 * last value seen (free()). */
static char *wait_for(const char *expr, const char *want, int tries)
{
    char *last = NULL;
    for (int i = 0; i < tries; i++) {
        cJSON *v = vigil_test_browser_eval(browser, expr);
        free(last);
        last = v ? cJSON_PrintUnformatted(v) : strdup("(error)");
        cJSON_Delete(v);
        if (strcmp(last, want) == 0)
            return last;
        vigil_test_wait(d.pid, 250);
    }
    return last;
}

/* Tiles on the page right now. */
static int document_tiles_now(void)
{
    cJSON *v = vigil_test_browser_eval(
        browser, "document.querySelectorAll('.tile').length");
    int n = v ? (int)cJSON_GetNumberValue(v) : -1;
    cJSON_Delete(v);
    return n;
}

static void start_browser(void)
{
    char why[512] = "";
    browser = vigil_test_browser_start(why, sizeof(why));
    if (!browser) {
        /* Criterion prints nothing for a skip at its default verbosity:
         * say it where tests/run.sh shows it. */
        fprintf(stderr, "SKIPPED dashboard test: Chromium cannot start: %s\n",
                why);
        cr_skip_test("Chromium cannot start, the dashboard is not tested: %s",
                     why);
    }
}

Test(dashboard, shows_a_tile_per_indicator_and_turns_one_to_breach_live)
{
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 5, 3), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    start_browser();
    char url[128];
    cr_assert_eq(
        vigil_test_browser_navigate(
            browser, vigil_test_feed_daemon_url(&d, "/", url, sizeof(url))),
        0);
    char *got = wait_for("document.querySelectorAll('.tile').length", "3", 120);
    cr_assert_str_eq(got, "3", "tiles: %s", got);
    free(got);
    /* Grouped by kind and entity. */
    got = wait_for("Array.from(document.querySelectorAll('.group h2'))"
                   ".map(function(h){return h.textContent}).join('|')",
                   "\"effectiveness · Test hosts|performance · Log pipeline\"",
                   40);
    cr_assert_str_eq(
        got, "\"effectiveness · Test hosts|performance · Log pipeline\"");
    free(got);
    const char *state_of =
        "(function(){var t=document.querySelector("
        "'.tile[data-indicator=\"KPI-FAIL\"]');return t?t.dataset.state:''})()";
    got = wait_for(state_of, "\"ok\"", 120);
    cr_assert_str_eq(got, "\"ok\"", "KPI-FAIL before the burst: %s", got);
    free(got);
    got =
        wait_for("document.getElementById('conn').textContent", "\"live\"", 40);
    cr_assert_str_eq(got, "\"live\"", "stream: %s", got);
    free(got);

    /* The burst: the page is not reloaded, the stream must carry it. */
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 80, 0), 0);
    got = wait_for(state_of, "\"breach\"", 160);
    cr_assert_str_eq(got, "\"breach\"", "KPI-FAIL after the burst: %s", got);
    free(got);
    got = wait_for("document.querySelectorAll('#open-breaches "
                   "li[data-breach=\"KPI-FAIL\"]').length > 0",
                   "true", 40);
    cr_assert_str_eq(got, "true", "breach list: %s", got);
    free(got);
    /* Top offenders of the top() indicator. */
    got =
        wait_for("document.querySelectorAll('.tile[data-indicator=\"KPI-TOP\"] "
                 ".top li').length > 0",
                 "true", 40);
    cr_assert_str_eq(got, "true");
    free(got);

    mkdir("artifacts", 0755);
    cr_assert_eq(
        vigil_test_browser_screenshot(browser, "artifacts/dashboard.png"), 0);
    char *png = vigil_test_read_file("artifacts/dashboard.png", NULL);
    cr_assert_not_null(png);
    cr_assert_eq(memcmp(png, "\x89PNG", 4), 0);
    free(png);
    cr_log_info("screenshot: tests/artifacts/dashboard.png in the build tree");
}

Test(dashboard, shows_a_disconnected_banner_when_the_stream_drops)
{
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    start_browser();
    char url[128];
    cr_assert_eq(
        vigil_test_browser_navigate(
            browser, vigil_test_feed_daemon_url(&d, "/", url, sizeof(url))),
        0);
    char *got = wait_for("document.getElementById('conn').textContent",
                         "\"live\"", 120);
    cr_assert_str_eq(got, "\"live\"");
    free(got);
    cr_assert_eq(vigil_test_feed_daemon_stop(&d), 0);
    got = wait_for("document.getElementById('banner').hidden", "false", 80);
    cr_assert_str_eq(got, "false", "banner hidden: %s", got);
    free(got);
}

TestSuite(dashboard_tokens, .init = setup_with_tokens, .fini = teardown,
          .timeout = 240);

Test(dashboard_tokens, logs_in_once_with_the_read_token_and_acks_with_admin)
{
    cr_assert_eq(vigil_test_feed_daemon_produce(&d, 60, 1), 0);
    cr_assert_eq(vigil_test_feed_daemon_start(&d), 0);
    start_browser();
    char url[128];
    cr_assert_eq(
        vigil_test_browser_navigate(
            browser, vigil_test_feed_daemon_url(&d, "/", url, sizeof(url))),
        0);
    char *got =
        wait_for("document.getElementById('login').hidden", "false", 120);
    cr_assert_str_eq(got, "false", "login form hidden: %s", got);
    free(got);
    cr_assert_eq(document_tiles_now(), 0);
    /* A wrong token is refused on the page. */
    cJSON_Delete(vigil_test_browser_eval(
        browser, "document.getElementById('login-token').value='nope';"
                 "document.getElementById('login').requestSubmit()"));
    got = wait_for("document.getElementById('login-error').textContent",
                   "\"That token is not valid.\"", 40);
    cr_assert_str_eq(got, "\"That token is not valid.\"");
    free(got);
    cJSON_Delete(vigil_test_browser_eval(
        browser, "document.getElementById('login-token').value='" READ "';"
                 "document.getElementById('login').requestSubmit()"));
    got = wait_for("document.querySelectorAll('.tile').length", "3", 120);
    cr_assert_str_eq(got, "3", "tiles after login: %s", got);
    free(got);
    /* The stream runs on the session cookie. */
    got =
        wait_for("document.getElementById('conn').textContent", "\"live\"", 80);
    cr_assert_str_eq(got, "\"live\"");
    free(got);
    /* (KPI-HB may breach too until its first heartbeats are counted.) */
    got = wait_for("document.querySelectorAll('#open-breaches "
                   "li[data-breach=\"KPI-FAIL\"] button.ack').length",
                   "1", 160);
    cr_assert_str_eq(got, "1", "ack buttons: %s", got);
    free(got);
    cJSON_Delete(vigil_test_browser_eval(
        browser,
        "document.querySelector('#open-breaches li[data-breach=\"KPI-FAIL\"] "
        "button.ack').click();"
        "document.getElementById('ack-token').value='" ADMIN "';"
        "document.getElementById('ack-author').value='alice';"
        "document.getElementById('ack-form').requestSubmit()"));
    got = wait_for("document.getElementById('ack-dialog').open", "false", 80);
    cr_assert_str_eq(got, "false", "the ack dialog stayed open: %s", got);
    free(got);
    redisReply *r = redisCommand(d.rc, "HGET vigil:{" VIGIL_TEST_FEED_DAEMON_NS
                                       "}:state:KPI-FAIL acked_by");
    char *err = wait_for("document.getElementById('ack-error').textContent + "
                         "' / ' + document.getElementById('open-breaches')"
                         ".innerHTML",
                         "", 1);
    cr_assert(r && r->type == REDIS_REPLY_STRING, "not acked: %s", err);
    free(err);
    cr_assert_str_eq(r->str, "alice");
    freeReplyObject(r);
    mkdir("artifacts", 0755);
    cr_assert_eq(
        vigil_test_browser_screenshot(browser, "artifacts/dashboard-acked.png"),
        0);
}
