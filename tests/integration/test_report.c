/*
 * vigild report and vigild schedule against a real redis-server seeded
 * with two weeks of records (evaluations, breaches, acks, notifications;
 * see seed()), compared with the goldens in tests/golden/report/. The
 * report is generated at a fixed time (--now), so it is byte-for-byte
 * stable. VIGIL_UPDATE_GOLDEN=1 rewrites the goldens instead of
 * comparing. The HTML report is also rendered to PNG with headless
 * Chromium. And the periodic writer: two racing writers produce one
 * report; an unwritable directory is an error that is counted and
 * retried.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "redis_server.h"
#include "report_calendar.h"
#include "report_writer.h"
#include "support.h"

#define HOUR 3600000LL
#define MIN 60000LL

static struct {
    struct vigil_test_redis *redis;
    redisContext *rc;
    char *dir;
    char *config;
} fx;

static int64_t at(unsigned m, unsigned d, unsigned h, unsigned mi)
{
    return vigil_report_day_from_civil(2024, m, d) * VIGIL_DAY_MS +
           (int64_t)h * HOUR + (int64_t)mi * MIN;
}

static void cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(fx.rc, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r, "%s", fx.rc->errstr);
    cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s: %s", fmt, r->str);
    freeReplyObject(r);
}

static const char *state_of(double v, double breach_below, double warn_below,
                            bool lower_bad)
{
    if (lower_bad)
        return v < breach_below ? "breach" : v < warn_below ? "warn" : "ok";
    return v >= breach_below ? "breach" : v >= warn_below ? "warn" : "ok";
}

static void hist(const char *id, int64_t t, double v, const char *state)
{
    cmd("XADD vigil:{test}:hist:%s %" PRId64 "-0 value %.17g state %s", id, t,
        v, state);
}

/*
 * Two weeks (2024-04-29 to 2024-05-14 08:00): KPI-T-01 hourly, warn the
 * week before, ok in the week of 05-06 with a 3 h breach on 05-08
 * (acked) and no evaluation on 05-11 00:00-06:00; KPI-T-02 every 15 min,
 * no data on 05-07 03:00-04:00, a breach on 05-10 02:00-03:30 (a failed
 * notification, the resolve still pending) and one from 05-12 22:00 still open;
 * KPI-T-03 never evaluated.
 */
static void seed(void)
{
    int64_t start = at(4, 29, 0, 0), now = at(5, 14, 8, 0);
    int64_t week = at(5, 6, 0, 0);
    for (int64_t t = start; t < now; t += HOUR) {
        double v;
        if (t < week)
            v = 88 + (double)((t / HOUR) % 7);
        else if (t >= at(5, 8, 10, 0) && t < at(5, 8, 13, 0))
            v = t == at(5, 8, 10, 0) ? 75 : t == at(5, 8, 11, 0) ? 72 : 78;
        else
            v = 96 + 0.5 * (double)((t / HOUR) % 4);
        if (t >= at(5, 11, 0, 0) && t < at(5, 11, 6, 0))
            continue;
        hist("KPI-T-01", t, v, state_of(v, 80, 95, true));
    }
    for (int64_t t = start; t < now; t += 15 * MIN) {
        int64_t i = t / (15 * MIN);
        double v = t < week ? 8 + (double)(i % 5) : 5 + (double)(i % 3);
        if (t >= at(5, 10, 1, 30) && t < at(5, 10, 2, 0))
            v = t == at(5, 10, 1, 30) ? 25 : 30;
        static const double burst[] = {55, 70, 80, 65, 52, 50};
        if (t >= at(5, 10, 2, 0) && t < at(5, 10, 3, 30))
            v = burst[(t - at(5, 10, 2, 0)) / (15 * MIN)];
        if (t >= at(5, 12, 22, 0))
            v = 60 + 5 * (double)(i % 4);
        if (t >= at(5, 7, 3, 0) && t < at(5, 7, 4, 0)) {
            /* The sshd logs stopped for an hour: no value. */
            cmd("XADD vigil:{test}:hist:KPI-T-02 %" PRId64
                "-0 value \"\" state no_data",
                t);
            continue;
        }
        hist("KPI-T-02", t, v, state_of(v, 50, 20, false));
    }

    int64_t e1 = at(5, 8, 10, 0), e2 = at(5, 10, 2, 0), e3 = at(5, 12, 22, 0);
    const char *b = "vigil:{test}:breaches";
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-01 event changed state ok "
        "previous warn value 96 since %" PRId64 " previous_since %" PRId64
        " duration_ms 604800000 severity medium",
        b, week, week, start);
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-01 event opened state breach "
        "previous ok value 75 since %" PRId64 " previous_since %" PRId64
        " duration_ms 1 severity medium episode %" PRId64,
        b, e1, e1, week, e1);
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-01 event acked state breach "
        "episode %" PRId64 " dedup KPI-T-01:%" PRId64 " by alice at %" PRId64
        " comment %s",
        b, e1 + 20 * MIN, e1, e1, e1 + 20 * MIN, "patch window booked");
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-01 event resolved state ok "
        "previous breach value 96 since %" PRId64 " previous_since %" PRId64
        " duration_ms 10800000 severity medium episode %" PRId64,
        b, e1 + 3 * HOUR, e1 + 3 * HOUR, e1, e1);
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-02 event changed state warn "
        "previous ok value 25 since %" PRId64 " previous_since %" PRId64
        " duration_ms 1 severity high",
        b, at(5, 10, 1, 30), at(5, 10, 1, 30), week);
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-02 event opened state breach "
        "previous warn value 55 since %" PRId64 " previous_since %" PRId64
        " duration_ms 1800000 severity high episode %" PRId64,
        b, e2, e2, at(5, 10, 1, 30), e2);
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-02 event notification_failed "
        "action trigger dedup KPI-T-02:%" PRId64 " notifier slack status 400 "
        "detail %s at %" PRId64,
        b, e2 + MIN, e2, "invalid_payload", e2 + MIN);
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-02 event resolved state ok "
        "previous breach value 12 since %" PRId64 " previous_since %" PRId64
        " duration_ms 5400000 severity high episode %" PRId64,
        b, at(5, 10, 3, 30), at(5, 10, 3, 30), e2, e2);
    cmd("XADD %s %" PRId64 "-0 indicator KPI-T-02 event opened state breach "
        "previous ok value 60 since %" PRId64 " previous_since %" PRId64
        " duration_ms 1 severity high episode %" PRId64,
        b, e3, e3, at(5, 10, 3, 30), e3);

    const char *o = "vigil:{test}:outbox";
    cmd("XADD %s %" PRId64 "-0 action trigger dedup KPI-T-01:%" PRId64
        " indicator KPI-T-01 state breach",
        o, e1, e1);
    cmd("XADD %s %" PRId64 "-0 action resolve dedup KPI-T-01:%" PRId64
        " indicator KPI-T-01 state ok",
        o, e1 + 3 * HOUR, e1);
    cmd("XADD %s %" PRId64 "-0 action trigger dedup KPI-T-02:%" PRId64
        " indicator KPI-T-02 state breach",
        o, e2, e2);
    cmd("XADD %s %" PRId64 "-0 action resolve dedup KPI-T-02:%" PRId64
        " indicator KPI-T-02 state ok",
        o, at(5, 10, 3, 30), e2);
    cmd("XADD %s %" PRId64 "-0 action trigger dedup KPI-T-02:%" PRId64
        " indicator KPI-T-02 state breach",
        o, e3, e3);
    cmd("XADD %s %" PRId64 "-0 action trigger dedup KPI-T-02:%" PRId64
        " indicator KPI-T-02 state breach repeat 1 route 0",
        o, e3 + 90 * MIN, e3);
    cmd("XGROUP CREATE %s notifiers 0", o);
    cmd("XREADGROUP GROUP notifiers pager1 COUNT 100 STREAMS %s >", o);
    cmd("XACK %s notifiers %" PRId64 "-0 %" PRId64 "-0 %" PRId64 "-0 %" PRId64
        "-0 %" PRId64 "-0",
        o, e1, e1 + 3 * HOUR, e2, e3, e3 + 90 * MIN);

    cmd("HSET vigil:{test}:reports MR-test-2024-04-29-2024-05-05 "
        "{\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64
        ",\"definitions\":\"0000\"}",
        start, week);
}

/* The config from tests/reports/vigil.yaml.in; periodic: the periodic
 * lines (or ""). */
static char *write_config(const char *periodic)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/reports/vigil.yaml.in", VIGIL_TESTS_DIR);
    char *in = vigil_test_read_file(path, NULL);
    cr_assert_not_null(in);
    size_t n = strlen(in) + 8192;
    char *text = malloc(n);
    cr_assert_not_null(text);
    size_t off = 0;
    for (const char *p = in; *p;) {
        if (strncmp(p, "@REDIS_URL@", 11) == 0) {
            off += (size_t)snprintf(text + off, n - off, "%s",
                                    vigil_test_redis_url(fx.redis));
            p += 11;
        } else if (strncmp(p, "@PERIODIC@", 10) == 0) {
            off += (size_t)snprintf(text + off, n - off, "%s", periodic);
            p += 10;
        } else {
            text[off++] = *p++;
        }
    }
    text[off] = '\0';
    char *cfg = vigil_test_write_file(fx.dir, "vigil.yaml", text);
    cr_assert_not_null(cfg);
    free(in);
    free(text);
    return cfg;
}

static void copy_fixture(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/reports/%s", VIGIL_TESTS_DIR, name);
    char *text = vigil_test_read_file(path, NULL);
    cr_assert_not_null(text, "%s", path);
    free(vigil_test_write_file(fx.dir, name, text));
    free(text);
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.rc = vigil_test_redis_connect(fx.redis, 5000);
    cr_assert_not_null(fx.rc);
    fx.dir = vigil_test_tmpdir("vigil-report");
    cr_assert_not_null(fx.dir);
    copy_fixture("indicators.yaml");
    copy_fixture("rules.yaml");
    fx.config = write_config("");
    seed();
}

static void teardown(void)
{
    if (fx.rc)
        redisFree(fx.rc);
    vigil_test_redis_stop(fx.redis);
    if (fx.dir)
        vigil_test_rm_rf(fx.dir);
    free(fx.dir);
    free(fx.config);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 240);

/* Runs vigild with args (NULL-terminated); stdout into *out. */
static int vigild(char **out, char **err, ...)
{
    char *argv[32] = {VIGILD_PATH};
    int n = 1;
    va_list ap;
    va_start(ap, err);
    char *a;
    while (n < 31 && (a = va_arg(ap, char *)))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return vigil_test_run(argv, NULL, out, err);
}

/* Compares text with tests/golden/report/<name>, or rewrites it. */
static void golden(const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/golden/report/%s", VIGIL_TESTS_DIR, name);
    const char *update = getenv("VIGIL_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f, "%s", path);
        fputs(text, f);
        fclose(f);
        return;
    }
    char *want = vigil_test_read_file(path, NULL);
    cr_assert_not_null(want, "%s missing: run with VIGIL_UPDATE_GOLDEN=1",
                       path);
    if (strcmp(want, text) != 0) {
        char got[4096];
        snprintf(got, sizeof(got), "%s/%s.got", fx.dir, name);
        FILE *f = fopen(got, "w");
        if (f) {
            fputs(text, f);
            fclose(f);
        }
        /* Keep the output for a diff; the folder is removed after. */
        char keep[4096];
        snprintf(keep, sizeof(keep), "%s.got", name);
        free(vigil_test_write_file(".", keep, text));
    }
    cr_assert_str_eq(text, want,
                     "%s differs from the golden (output kept "
                     "in the test's working folder as %s.got)",
                     name, name);
    free(want);
}

static void report_golden(const char *format, const char *name)
{
    char *out = NULL, *err = NULL;
    int rc = vigild(&out, &err, "report", "-c", fx.config, "--from",
                    "2024-05-06", "--to", "2024-05-13", "--format", format,
                    "--now", "2024-05-14T08:00:00Z", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    golden(name, out);
    free(out);
    free(err);
}

Test(report, markdown_matches_golden)
{
    report_golden("md", "report.md");
}

Test(report, html_matches_golden)
{
    report_golden("html", "report.html");
}

Test(report, json_matches_golden)
{
    report_golden("json", "report.json");
}

Test(report, schedule_matches_goldens_in_every_format)
{
    free(fx.config);
    fx.config = write_config("  period: weekly\n  directory: out\n");
    static const char *const formats[][2] = {{"md", "schedule.md"},
                                             {"csv", "schedule.csv"},
                                             {"json", "schedule.json"}};
    for (size_t i = 0; i < 3; i++) {
        char *out = NULL, *err = NULL;
        int rc = vigild(&out, &err, "schedule", "-c", fx.config, "--format",
                        formats[i][0], "--now", "2024-05-08T12:00:00Z", NULL);
        cr_assert_eq(rc, 0, "%s", err);
        golden(formats[i][1], out);
        free(out);
        free(err);
    }
}

Test(report, out_writes_the_file_and_bad_arguments_exit_2)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/r.json", fx.dir);
    char *out = NULL, *err = NULL;
    int rc =
        vigild(&out, &err, "report", "-c", fx.config, "--from", "2024-05-06",
               "--to", "2024-05-13", "--format", "json", "--out", path, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "");
    char *text = vigil_test_read_file(path, NULL);
    cr_assert_not_null(text);
    cr_assert_not_null(strstr(text, "\"report_id\":\t\"MR-test-2024-05-06-"
                                    "2024-05-12\""));
    free(text);
    free(out);
    free(err);

    rc = vigild(&out, &err, "report", "-c", fx.config, "--from", "2024-05-13",
                "--to", "2024-05-06", NULL);
    cr_assert_eq(rc, 2);
    cr_assert_not_null(strstr(err, "--to must be after --from"), "%s", err);
    free(out);
    free(err);
    rc = vigild(&out, &err, "report", "-c", fx.config, "--from", "yesterday",
                "--to", "2024-05-06", NULL);
    cr_assert_eq(rc, 2);
    cr_assert_not_null(strstr(err, "'yesterday' is not a time"), "%s", err);
    free(out);
    free(err);
}

/* Reads a big-endian 32-bit number. */
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

Test(report, html_report_renders_to_png_in_headless_chromium)
{
    const char *chromium = NULL;
    static const char *const candidates[] = {"/usr/bin/chromium",
                                             "/usr/bin/chromium-browser"};
    for (size_t i = 0; i < 2 && !chromium; i++)
        if (access(candidates[i], X_OK) == 0)
            chromium = candidates[i];
    cr_assert_not_null(chromium, "chromium not found: run "
                                 "deploy/install-deps.sh --test");
    char html[4096], png[4096], profile[4096], shot[4200], url[4200];
    snprintf(html, sizeof(html), "%s/report.html", fx.dir);
    snprintf(png, sizeof(png), "%s/report.png", fx.dir);
    snprintf(profile, sizeof(profile), "--user-data-dir=%s/chromium", fx.dir);
    snprintf(shot, sizeof(shot), "--screenshot=%s", png);
    snprintf(url, sizeof(url), "file://%s", html);
    char *out = NULL, *err = NULL;
    int rc = vigild(&out, &err, "report", "-c", fx.config, "--from",
                    "2024-05-06", "--to", "2024-05-13", "--format", "html",
                    "--now", "2024-05-14T08:00:00Z", "--out", html, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    free(out);
    free(err);
    char *argv[] = {"/usr/bin/timeout",
                    "120",
                    (char *)chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    "--no-first-run",
                    profile,
                    "--window-size=1280,2400",
                    shot,
                    url,
                    NULL};
    rc = vigil_test_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "chromium failed (%d): %s", rc, err);
    size_t len = 0;
    char *img = vigil_test_read_file(png, &len);
    cr_assert_not_null(img, "no screenshot: %s", err);
    const unsigned char *p = (const unsigned char *)img;
    cr_assert(len > 33 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0 &&
                  memcmp(p + 12, "IHDR", 4) == 0,
              "not a PNG");
    cr_assert_eq(be32(p + 16), 1280);
    cr_assert_eq(be32(p + 20), 2400);
    /* A blank page of that size compresses to a few KiB; tables, text
     * and charts make it far larger. */
    cr_assert_gt(len, 60000, "the screenshot looks blank (%zu bytes)", len);
    free(img);
    free(out);
    free(err);
}

/* ---- the periodic writer ---- */

static redisContext *writer_connect(void *ctx)
{
    (void)ctx;
    return vigil_test_redis_connect(fx.redis, 5000);
}

struct racer {
    const struct vigil_config *cfg;
    const char *owner;
    pthread_barrier_t *barrier;
    enum vigil_report_tick result;
    struct vigil_report_writer_stats stats;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct vigil_report_writer_config wc = {
        .cfg = r->cfg,
        .connect = writer_connect,
        .owner = r->owner,
    };
    struct vigil_report_writer *w = vigil_report_writer_create(&wc);
    if (!w)
        return NULL;
    pthread_barrier_wait(r->barrier);
    r->result = vigil_report_writer_tick(w, at(5, 14, 8, 0));
    vigil_report_writer_stats(w, &r->stats);
    vigil_report_writer_destroy(w);
    return NULL;
}

static struct vigil_config *load_config(const char *path)
{
    struct vigil_diags diags = {0};
    struct vigil_config *cfg = vigil_config_load(path, &diags);
    if (!cfg)
        vigil_diags_print(&diags, stderr);
    vigil_diags_fini(&diags);
    cr_assert_not_null(cfg);
    return cfg;
}

static long long hlen_reports(void)
{
    redisReply *r = redisCommand(fx.rc, "HLEN vigil:{test}:reports");
    cr_assert_not_null(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

Test(report, racing_writers_write_one_report)
{
    free(fx.config);
    fx.config =
        write_config("  period: weekly\n  formats: [md, json]\n  directory: "
                     "out\n");
    struct vigil_config *cfg = load_config(fx.config);
    enum { N = 4 };
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, N);
    struct racer racers[N];
    pthread_t threads[N];
    static const char *const owners[N] = {"a:1", "b:2", "c:3", "d:4"};
    for (int i = 0; i < N; i++) {
        racers[i] = (struct racer){.cfg = cfg,
                                   .owner = owners[i],
                                   .barrier = &barrier,
                                   .result = VIGIL_REPORT_TICK_FAILED};
        pthread_create(&threads[i], NULL, race, &racers[i]);
    }
    int written = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_neq(racers[i].result, VIGIL_REPORT_TICK_FAILED, "%s",
                      racers[i].stats.last_error);
        written += racers[i].result == VIGIL_REPORT_TICK_WRITTEN;
    }
    pthread_barrier_destroy(&barrier);
    cr_assert_eq(written, 1);
    cr_assert_eq(hlen_reports(), 2); /* the seeded one and this one */
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/out/MR-test-2024-05-06-2024-05-12.md",
             fx.dir);
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    snprintf(path, sizeof(path), "%s/out/MR-test-2024-05-06-2024-05-12.json",
             fx.dir);
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    snprintf(path, sizeof(path), "%s/out/MR-test-2024-05-06-2024-05-12.html",
             fx.dir);
    cr_assert_neq(stat(path, &st), 0, "html was not asked for");
    redisReply *r = redisCommand(
        fx.rc, "HGET vigil:{test}:reports MR-test-2024-05-06-2024-05-12");
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert_not_null(strstr(r->str, "\"due\":\"2024-05-16\""), "%s", r->str);
    freeReplyObject(r);
    r = redisCommand(fx.rc,
                     "EXISTS vigil:{test}:reports:lock:MR-test-2024-05-06-"
                     "2024-05-12");
    cr_assert_eq(r->integer, 0, "the lock is released");
    freeReplyObject(r);

    /* A second round: every writer sees the report and does nothing. */
    pthread_barrier_init(&barrier, NULL, N);
    for (int i = 0; i < N; i++)
        pthread_create(&threads[i], NULL, race, &racers[i]);
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(racers[i].result, VIGIL_REPORT_TICK_IDLE);
    }
    pthread_barrier_destroy(&barrier);
    cr_assert_eq(hlen_reports(), 2);
    vigil_config_destroy(cfg);
}

Test(report, unwritable_directory_is_counted_and_retried)
{
    free(fx.config);
    /* "blocker" is a file, so blocker/reports cannot be created. */
    free(vigil_test_write_file(fx.dir, "blocker", "not a folder\n"));
    fx.config = write_config("  period: weekly\n  formats: [html]\n  "
                             "directory: blocker/reports\n");
    struct vigil_config *cfg = load_config(fx.config);
    struct vigil_report_writer_config wc = {
        .cfg = cfg,
        .connect = writer_connect,
        .owner = "solo:1",
    };
    struct vigil_report_writer *w = vigil_report_writer_create(&wc);
    cr_assert_not_null(w);
    int64_t now = at(5, 14, 8, 0);
    cr_assert_eq(vigil_report_writer_tick(w, now), VIGIL_REPORT_TICK_FAILED);
    struct vigil_report_writer_stats st;
    vigil_report_writer_stats(w, &st);
    cr_assert_eq(st.failures, 1);
    cr_assert_eq(st.write_errors, 1);
    cr_assert_not_null(strstr(st.last_error, "blocker/reports"), "%s",
                       st.last_error);
    cr_assert_not_null(strstr(st.last_error, "Not a directory"), "%s",
                       st.last_error);
    cr_assert_eq(hlen_reports(), 1, "nothing recorded");
    redisReply *r = redisCommand(fx.rc, "KEYS vigil:{test}:reports:lock:*");
    cr_assert_eq(r->elements, 0, "the lock is released for another daemon");
    freeReplyObject(r);

    /* Backing off: the next minute does not retry. */
    cr_assert_eq(vigil_report_writer_tick(w, now + 30000),
                 VIGIL_REPORT_TICK_IDLE);
    /* The operator fixes the folder; the retry after the backoff works. */
    char path[4096];
    snprintf(path, sizeof(path), "%s/blocker", fx.dir);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_assert_eq(vigil_report_writer_tick(w, now + 61000),
                 VIGIL_REPORT_TICK_WRITTEN);
    snprintf(path, sizeof(path),
             "%s/blocker/reports/MR-test-2024-05-06-2024-05-12.html", fx.dir);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s", path);
    vigil_report_writer_stats(w, &st);
    cr_assert_eq(st.written, 1);
    cr_assert_eq(st.failures, 1);
    vigil_report_writer_destroy(w);
    vigil_config_destroy(cfg);
}
