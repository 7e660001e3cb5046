/*
 * bench_soak_feed: the event source of tests/bench/soak.sh. Starts
 * librdkafka's mock cluster (one broker, one topic) in this process,
 * writes its bootstrap address to a file, then produces a steady mix of
 * login events (a third of them failures from seven sources) at a fixed
 * rate, keeping the number of acknowledged events in a second file.
 * SIGUSR1 stops producing (the cluster stays up so that the consumer can
 * catch up); SIGTERM or SIGINT ends the process and the cluster. Not a
 * benchmark: a helper that lives here because tests/bench/ builds every
 * bench_*.c against the test support.
 *
 * usage: bench_soak_feed --out DIR [--rate N] [--partitions P]
 *   DIR/bootstraps  "127.0.0.1:PORT", written once the cluster runs
 *   DIR/produced    events acknowledged so far (rewritten every tick)
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_cluster.h"

#define TOPIC "events"
#define TICK_MS 100
#define SOURCES 7

/* Writes text to dir/name atomically (a temp file renamed). */
static int write_atomic(const char *dir, const char *name, const char *text)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    return rc;
}

/* Produces n events numbered from first; 0 or -1. */
static int produce(struct vigil_test_kafka *k, unsigned long long first,
                   size_t n, int partitions, char (*bufs)[128],
                   struct vigil_test_kafka_msg *msgs)
{
    for (size_t j = 0; j < n; j++) {
        unsigned long long i = first + j;
        int len;
        if (i % 3 == 0)
            len = snprintf(bufs[j], sizeof(bufs[j]),
                           "{\"message\":\"login failed user=u%llu "
                           "src=10.0.0.%llu\"}",
                           i % 50, i % SOURCES);
        else
            len = snprintf(bufs[j], sizeof(bufs[j]),
                           "{\"message\":\"login ok user=u%llu\"}", i % 50);
        msgs[j] = (struct vigil_test_kafka_msg){
            .partition = (int32_t)(i % (unsigned long long)partitions),
            .payload = bufs[j],
            .len = (size_t)len,
        };
    }
    return vigil_test_kafka_produce_batch(k, TOPIC, msgs, n);
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    unsigned long rate = 2000;
    int partitions = 4;
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"rate", required_argument, NULL, 'r'},
        {"partitions", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    int c;
    bool bad = false;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'r':
            rate = strtoul(optarg, &end, 10);
            bad |= *end || rate == 0 || rate > 100000;
            break;
        case 'p':
            partitions = (int)strtol(optarg, &end, 10);
            bad |= *end || partitions < 1 || partitions > 64;
            break;
        default:
            bad = true;
            break;
        }
    }
    if (bad || !out || optind != argc) {
        fprintf(stderr, "usage: bench_soak_feed --out DIR [--rate 1..100000] "
                        "[--partitions 1..64]\n");
        return 2;
    }

    /* Signals are taken by sigtimedwait(), which also paces the ticks. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    sigprocmask(SIG_BLOCK, &sigs, NULL);

    struct vigil_test_kafka *k = vigil_test_kafka_start(1, TOPIC, partitions);
    if (!k)
        return 1;
    int rc = 1;
    size_t per_tick = (rate * TICK_MS + 999) / 1000;
    char(*bufs)[128] = calloc(per_tick, sizeof(*bufs));
    struct vigil_test_kafka_msg *msgs = calloc(per_tick, sizeof(*msgs));
    if (!bufs || !msgs ||
        write_atomic(out, "bootstraps", vigil_test_kafka_bootstraps(k)) < 0) {
        fprintf(stderr, "bench_soak_feed: cannot write to %s\n", out);
        goto out_free;
    }

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned long long produced = 0;
    bool producing = true;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - start.tv_sec) +
                         (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        unsigned long long due = (unsigned long long)(elapsed * (double)rate);
        while (producing && produced < due) {
            size_t n =
                due - produced < per_tick ? (size_t)(due - produced) : per_tick;
            if (produce(k, produced, n, partitions, bufs, msgs) < 0) {
                fprintf(stderr, "bench_soak_feed: produce failed\n");
                goto out_free;
            }
            produced += n;
        }
        char count[32];
        snprintf(count, sizeof(count), "%llu\n", produced);
        if (write_atomic(out, "produced", count) < 0)
            goto out_free;
        struct timespec tick = {0, TICK_MS * 1000000L};
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGUSR1)
            producing = false;
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            goto out_free;
    }
    printf("%llu\n", produced);
    rc = 0;

out_free:
    free(bufs);
    free(msgs);
    vigil_test_kafka_stop(k);
    return rc;
}
