/*
 * bench_pipeline: end-to-end throughput of `vigild run` with one worker.
 *
 * Starts a real redis-server and librdkafka's mock cluster (8 partitions),
 * produces N synthetic SIEM events (synth.h), runs `vigild run` with the
 * shipped rule packs and waits until Redis holds every partition's final
 * offset. Prints events/s (from the first batch written to the last, so
 * the consumer-group join is not counted), Redis commands per event, and,
 * as the peer in the same run, `vigild replay --dry-run --quiet` on the
 * same events (the decode + match ceiling without Kafka and Redis).
 *
 *   bench_pipeline [EVENTS [KEY=VALUE...]]    (default 1000000)
 *
 * KEY=VALUE pairs go to kafka.properties (librdkafka settings, to compare
 * fetch settings). VIGILD in the environment names another vigild binary
 * to run (before/after comparisons with one bench binary). The worker's
 * idle time, from its log, is printed too.
 */
#include <glob.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka_cluster.h"
#include "redis_server.h"
#include "support.h"
#include "synth.h"

#define PARTITIONS 8

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long info_field(redisContext *rc, const char *section,
                            const char *field)
{
    redisReply *r = redisCommand(rc, "INFO %s", section);
    long long v = -1;
    const char *p = r && r->str ? strstr(r->str, field) : NULL;
    if (p)
        v = strtoll(p + strlen(field), NULL, 10);
    freeReplyObject(r);
    return v;
}

/* Microseconds Redis spent in EVALSHA so far (INFO commandstats). */
static long long evalsha_usec(redisContext *rc)
{
    redisReply *r = redisCommand(rc, "INFO commandstats");
    long long v = 0;
    const char *p = r && r->str ? strstr(r->str, "cmdstat_evalsha:") : NULL;
    p = p ? strstr(p, "usec=") : NULL;
    if (p)
        v = strtoll(p + 5, NULL, 10);
    freeReplyObject(r);
    return v;
}

static long long stored_offsets(redisContext *rc)
{
    redisReply *r = redisCommand(rc, "HVALS vigil:{bench}:offsets:bench");
    long long sum = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++)
        sum += strtoll(r->element[i]->str, NULL, 10);
    freeReplyObject(r);
    return sum;
}

static int count_rules(void)
{
    glob_t g;
    int n = 0;
    if (glob(VIGIL_SOURCE_DIR "/rules/packs/*.yaml", 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *text = vigil_test_read_file(g.gl_pathv[i], NULL);
        for (char *p = text; p && (p = strstr(p, "\n  - id: ")); p++)
            n++;
        free(text);
    }
    globfree(&g);
    return n;
}

/* Prints the worker's idle-time line from the vigild log, if any. */
static void print_idle(const char *log_path)
{
    char *log = vigil_test_read_file(log_path, NULL);
    const char *p = log ? strstr(log, "worker 0: idle ") : NULL;
    if (p) {
        const char *e = strchr(p, '\n');
        printf("  %.*s\n", (int)(e ? e - p : (long)strlen(p)), p);
    }
    free(log);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char *vigild = getenv("VIGILD") ? getenv("VIGILD") : VIGILD_PATH;
    char props[2048] = "";
    size_t pl = 0;
    for (int i = 2; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq)
            continue;
        int w = snprintf(props + pl, sizeof(props) - pl, "%s    %.*s: \"%s\"\n",
                         pl ? "" : "  properties:\n", (int)(eq - argv[i]),
                         argv[i], eq + 1);
        if (w > 0 && (size_t)w < sizeof(props) - pl)
            pl += (size_t)w;
    }
    struct vigil_test_redis *redis = vigil_test_redis_start(NULL);
    struct vigil_test_kafka *kafka =
        vigil_test_kafka_start(1, "events", PARTITIONS);
    char *dir = vigil_test_tmpdir("vigil-bench");
    if (!redis || !kafka || !dir) {
        fprintf(stderr, "bench_pipeline: cannot start redis or kafka\n");
        return 1;
    }

    /* The same events go to Kafka and to a file for the replay peer. */
    char *events_path = NULL;
    if (asprintf(&events_path, "%s/events.log", dir) < 0)
        return 1;
    FILE *f = fopen(events_path, "w");
    struct vigil_synth s;
    vigil_synth_init(&s, 2026);
    int64_t t0 = (int64_t)time(NULL) * 1000;
    const size_t chunk = 20000;
    struct vigil_test_kafka_msg *msgs = calloc(chunk, sizeof(*msgs));
    char *bufs = malloc(chunk * 2048);
    double produce_start = now_s();
    for (size_t done = 0; done < n;) {
        size_t k = n - done < chunk ? n - done : chunk;
        for (size_t i = 0; i < k; i++) {
            char *b = bufs + i * 2048;
            size_t len =
                vigil_synth_next(&s, t0 + (int64_t)(done + i) / 1000, b, 2048);
            fwrite(b, 1, len, f);
            fputc('\n', f);
            msgs[i] = (struct vigil_test_kafka_msg){
                .partition = (int32_t)((done + i) % PARTITIONS),
                .payload = b,
                .len = len};
        }
        if (vigil_test_kafka_produce_batch(kafka, "events", msgs, k) < 0)
            return 1;
        done += k;
    }
    fclose(f);
    fprintf(stderr, "produced %zu events in %.1f s\n", n,
            now_s() - produce_start);

    char *cfg = NULL;
    if (asprintf(&cfg,
                 "kafka:\n"
                 "  brokers: \"%s\"\n"
                 "  topics: [events]\n"
                 "  group: bench\n"
                 "  workers: 1\n"
                 "%s"
                 "redis:\n"
                 "  url: \"%s\"\n"
                 "  namespace: bench\n"
                 "events:\n"
                 "  format: auto\n"
                 "http:\n"
                 "  listen: \"127.0.0.1:0\"\n"
                 "rules: [\"%s/rules/packs/*.yaml\"]\n",
                 vigil_test_kafka_bootstraps(kafka), props,
                 vigil_test_redis_url(redis), VIGIL_SOURCE_DIR) < 0)
        return 1;
    char *cfg_path = vigil_test_write_file(dir, "vigil.yaml", cfg);
    char *log_path = NULL;
    if (asprintf(&log_path, "%s/vigild.log", dir) < 0)
        return 1;

    redisContext *rc = vigil_test_redis_connect(redis, 5000);
    long long cmds0 = info_field(rc, "stats", "total_commands_processed:");
    long long evals0 = info_field(rc, "commandstats", "cmdstat_evalsha:calls=");
    long long usec0 = evalsha_usec(rc);
    char *run_argv[] = {vigild, "run", "-c", cfg_path, NULL};
    pid_t pid = vigil_test_spawn(run_argv, log_path);
    double first = 0, last = 0;
    long long first_done = 0;
    for (int i = 0; i < 60000; i++) {
        long long done = stored_offsets(rc);
        if (done > 0 && first == 0) {
            first = now_s();
            first_done = done;
        }
        if (done >= (long long)n) {
            last = now_s();
            break;
        }
        if (vigil_test_wait(pid, 5) != -2) {
            fprintf(stderr, "vigild exited; see its log\n");
            return 1;
        }
    }
    /* Redis counts the calls a script makes as commands too. */
    long long cmds =
        info_field(rc, "stats", "total_commands_processed:") - cmds0;
    long long evals = info_field(rc, "commandstats", "cmdstat_evalsha:calls=") -
                      (evals0 < 0 ? 0 : evals0);
    long long usec = evalsha_usec(rc) - usec0;
    kill(pid, SIGTERM);
    vigil_test_wait(pid, 10000);
    if (last == 0) {
        fprintf(stderr, "vigild did not finish\n");
        return 1;
    }

    char *replay_argv[] = {vigild,      "replay",  "-c",        cfg_path,
                           "--dry-run", "--quiet", events_path, NULL};
    double r0 = now_s();
    int rrc = vigil_test_run(replay_argv, NULL, NULL, NULL);
    double replay_s = now_s() - r0;

    double run_eps = (double)(n - (size_t)first_done) / (last - first);
    double replay_eps = (double)n / replay_s;
    printf("bench_pipeline: %zu events, %d rules, 1 worker, %d partitions\n", n,
           count_rules(), PARTITIONS);
    printf("  vigild run (Kafka -> Redis): %10.0f events/s\n", run_eps);
    printf("  redis commands per event:    %10.5f (EVALSHA batches)\n",
           (double)evals / (double)n);
    printf("  redis calls per event:       %10.5f (incl. inside scripts)\n",
           (double)cmds / (double)n);
    printf("  redis busy in EVALSHA:       %10.3f s (the wait a synchronous "
           "worker adds)\n",
           (double)usec / 1e6);
    printf("  vigild replay --dry-run:     %10.0f events/s%s\n", replay_eps,
           rrc == 0 ? "" : " (replay failed)");
    printf("  ratio run / replay:          %10.2f\n", run_eps / replay_eps);
    print_idle(log_path);

    redisFree(rc);
    vigil_test_kafka_stop(kafka);
    vigil_test_redis_stop(redis);
    vigil_test_rm_rf(dir);
    free(dir);
    free(cfg);
    free(cfg_path);
    free(log_path);
    free(events_path);
    free(msgs);
    free(bufs);
    return 0;
}
