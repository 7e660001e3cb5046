/*
 * Periodic reports in the real daemon: `vigild run` processes with a
 * weekly `reports:` section against a real redis-server and librdkafka's
 * mock cluster. Two daemons write the last week's report exactly once;
 * a report directory that cannot be created is logged and counted while
 * the daemon keeps evaluating.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"

static struct {
    struct vigil_test_redis *redis;
    struct vigil_test_kafka *kafka;
    redisContext *rc;
    char *dir;
    char *config;
} fx;

static const char rules_yaml[] = "pack: t\n"
                                 "rules:\n"
                                 "  - id: t.beat\n"
                                 "    title: heartbeat\n"
                                 "    severity: info\n"
                                 "    match: 'beat'\n"
                                 "    count:\n"
                                 "      - counter: beats\n";

static const char kpi_yaml[] = "indicators:\n"
                               "  - id: KPI-BEAT\n"
                               "    name: Heartbeats\n"
                               "    information_need: Do sources report?\n"
                               "    kind: performance\n"
                               "    entity: Sources\n"
                               "    owner: soc\n"
                               "    data_source: events\n"
                               "    frequency: 1s\n"
                               "    value: count(beats, 1h)\n"
                               "    unit: beats per hour\n"
                               "    target: \">= 0\"\n"
                               "    decision: { ok: \">= 0\" }\n";

static void write_config(const char *directory)
{
    char *cfg = NULL;
    cr_assert(asprintf(&cfg,
                       "kafka:\n"
                       "  brokers: \"%s\"\n"
                       "  topics: [\"events\"]\n"
                       "  group: \"vigil-report\"\n"
                       "  workers: 1\n"
                       "redis:\n"
                       "  url: \"%s\"\n"
                       "  namespace: \"rd\"\n"
                       "rules: [\"rules.yaml\"]\n"
                       "indicators: [\"kpi.yaml\"]\n"
                       "http:\n"
                       "  listen: \"127.0.0.1:0\"\n"
                       "reports:\n"
                       "  period: weekly\n"
                       "  formats: [md, html, json]\n"
                       "  directory: \"%s\"\n",
                       vigil_test_kafka_bootstraps(fx.kafka),
                       vigil_test_redis_url(fx.redis), directory) > 0);
    free(fx.config);
    fx.config = vigil_test_write_file(fx.dir, "vigil.yaml", cfg);
    free(cfg);
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.kafka = vigil_test_kafka_start(1, "events", 2);
    cr_assert_not_null(fx.kafka);
    fx.rc = vigil_test_redis_connect(fx.redis, 5000);
    cr_assert_not_null(fx.rc);
    fx.dir = vigil_test_tmpdir("vigil-report-daemon");
    cr_assert_not_null(fx.dir);
    free(vigil_test_write_file(fx.dir, "rules.yaml", rules_yaml));
    free(vigil_test_write_file(fx.dir, "kpi.yaml", kpi_yaml));
}

static void teardown(void)
{
    if (fx.rc)
        redisFree(fx.rc);
    vigil_test_kafka_stop(fx.kafka);
    vigil_test_redis_stop(fx.redis);
    if (fx.dir)
        vigil_test_rm_rf(fx.dir);
    free(fx.dir);
    free(fx.config);
}

TestSuite(report_daemon, .init = setup, .fini = teardown, .timeout = 240);

/* Whether pid still runs after waiting up to ms; prints its log if not. */
static bool running(pid_t pid, const char *log, int ms)
{
    if (vigil_test_wait(pid, ms) == -2)
        return true;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", fx.dir, log);
    char *text = vigil_test_read_file(path, NULL);
    fprintf(stderr, "%s:\n%s\n", log, text ? text : "(no log)");
    free(text);
    return false;
}

static pid_t start(const char *log)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", fx.dir, log);
    char *argv[] = {VIGILD_PATH, "run", "-c", fx.config, NULL};
    pid_t pid = vigil_test_spawn(argv, path);
    cr_assert_gt(pid, 0);
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    int status = vigil_test_wait(pid, 15000);
    if (status == -2)
        kill(pid, SIGKILL);
    cr_assert_eq(status, 0, "vigild did not exit 0 on SIGTERM");
}

static long long integer(const char *fmt)
{
    redisReply *r = redisCommand(fx.rc, fmt);
    cr_assert_not_null(r);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static bool log_has(const char *log, const char *needle)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", fx.dir, log);
    char *text = vigil_test_read_file(path, NULL);
    bool has = text && strstr(text, needle);
    free(text);
    return has;
}

static int files_in(const char *sub)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", fx.dir, sub);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

Test(report_daemon, two_daemons_write_the_last_week_once)
{
    write_config("reports");
    pid_t a = start("a.log"), b = start("b.log");
    for (int i = 0; i < 300 && integer("HLEN vigil:{rd}:reports") < 1; i++) {
        cr_assert(running(a, "a.log", 50), "daemon a exited");
        cr_assert(running(b, "b.log", 50), "daemon b exited");
    }
    cr_assert_eq(integer("HLEN vigil:{rd}:reports"), 1);
    /* Both have checked at least once more by now (every minute, and once
     * at start): still one report, three files, one writer. */
    usleep(1500 * 1000);
    cr_assert(running(a, "a.log", 0));
    cr_assert(running(b, "b.log", 0));
    stop(a);
    stop(b);
    cr_assert_eq(integer("HLEN vigil:{rd}:reports"), 1);
    cr_assert_eq(files_in("reports"), 3);
    cr_assert_neq(log_has("a.log", "reports: wrote"),
                  log_has("b.log", "reports: wrote"),
                  "exactly one daemon wrote the report");
}

Test(report_daemon, unwritable_directory_is_logged_and_the_daemon_keeps_running)
{
    free(vigil_test_write_file(fx.dir, "blocker", "a file, not a folder\n"));
    write_config("blocker/reports");
    pid_t a = start("a.log");
    for (int i = 0; i < 300 && !log_has("a.log", "Not a directory"); i++)
        cr_assert(running(a, "a.log", 50), "vigild exited");
    cr_assert(log_has("a.log", "cannot create the report directory"));
    cr_assert(log_has("a.log", "blocker/reports: Not a directory (1 failures "
                               "so far"));
    cr_assert_eq(integer("HLEN vigil:{rd}:reports"), 0);
    /* Still evaluating: the history keeps growing after the failure. */
    long long before = integer("XLEN vigil:{rd}:hist:KPI-BEAT");
    for (int i = 0;
         i < 100 && integer("XLEN vigil:{rd}:hist:KPI-BEAT") <= before + 1; i++)
        cr_assert(running(a, "a.log", 50), "vigild exited");
    cr_assert_gt(integer("XLEN vigil:{rd}:hist:KPI-BEAT"), before + 1);
    stop(a);
}

/*
 * A full disk: the report directory is on a tmpfs of 32 KiB, filled up,
 * mounted in a private mount namespace of the daemon (unshare -m; the
 * test is skipped where that is not permitted). Writing fails with
 * ENOSPC: logged and counted, no partial file left, nothing recorded as
 * written (so it is tried again), and the daemon keeps evaluating.
 */
Test(report_daemon, full_disk_is_logged_and_leaves_no_partial_report)
{
    char full[4096];
    snprintf(full, sizeof(full), "%s/full", fx.dir);
    cr_assert_eq(mkdir(full, 0755), 0);
    static const char script[] =
        "mount -t tmpfs -o size=32k tmpfs \"$1\" || exit 97\n"
        "dd if=/dev/zero of=\"$1/fill\" bs=4k 2>/dev/null\n"
        "exec \"$2\" run -c \"$3\"\n";
    char *probe[] = {"/usr/bin/unshare",
                     "-m",
                     "/bin/sh",
                     "-c",
                     "mount -t tmpfs tmpfs \"$0\"",
                     full,
                     NULL};
    pid_t p = vigil_test_spawn(probe, "/dev/null");
    cr_assert_gt(p, 0);
    if (vigil_test_wait(p, 10000) != 0)
        cr_skip_test("needs a private mount namespace (unshare -m, "
                     "CAP_SYS_ADMIN) for a real full filesystem");

    write_config("full/reports");
    char path[4096];
    snprintf(path, sizeof(path), "%s/a.log", fx.dir);
    char *argv[] = {"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                    (char *)script,     "sh", full,      VIGILD_PATH,
                    fx.config,          NULL};
    pid_t a = vigil_test_spawn(argv, path);
    cr_assert_gt(a, 0);
    for (int i = 0; i < 300 && !log_has("a.log", "No space left on device");
         i++)
        cr_assert(running(a, "a.log", 50), "vigild exited");
    cr_assert(log_has("a.log", "No space left on device (1 failures so far"));
    cr_assert_eq(integer("HLEN vigil:{rd}:reports"), 0);
    /* The daemon's view of the directory (its mount namespace): the
     * filler only, no report and no temporary file. */
    char seen[4200];
    snprintf(seen, sizeof(seen), "/proc/%d/root%s/reports", (int)a, full);
    DIR *d = opendir(seen);
    cr_assert_not_null(d, "%s: the directory was not created", seen);
    struct dirent *e;
    while ((e = readdir(d)))
        cr_assert(e->d_name[0] == '.', "left behind: %s", e->d_name);
    closedir(d);
    cr_assert(log_has("a.log", "cannot write"), "the file write failed");
    long long before = integer("XLEN vigil:{rd}:hist:KPI-BEAT");
    for (int i = 0;
         i < 100 && integer("XLEN vigil:{rd}:hist:KPI-BEAT") <= before + 1; i++)
        cr_assert(running(a, "a.log", 50), "vigild exited");
    cr_assert_gt(integer("XLEN vigil:{rd}:hist:KPI-BEAT"), before + 1);
    stop(a);
}
