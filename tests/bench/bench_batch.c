/*
 * bench_batch: how fast a worker folds counter updates into a batch, and
 * how many Redis operations per event the folded batch costs, for a SOC's
 * everyday mix of events (sshd failures by source and user, web requests
 * by status, firewall bytes, heartbeats by host, a few incidents).
 *
 *   bench_batch [EVENTS] [BATCH] [--redis]
 *
 * Prints events/s of the adds, the commands per event (one EVALSHA per
 * batch) and the redis.call()s per event inside the script, next to the
 * peer figure: one command per counter update without aggregation. With
 * --redis it also flushes every batch into a real redis-server (started
 * by tests/support) and prints the events/s of the whole flush.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "counter_store.h"
#include "redis_server.h"

enum {
    C_SSH,
    C_SSH_BY_SRC,
    C_SSH_USERS,
    C_WEB,
    C_WEB_BY_STATUS,
    C_FW_BYTES,
    C_HEARTBEAT_BY_HOST,
    C_CONTAIN,
};

static const struct vigil_counter_def defs[] = {
    {.name = "auth_failures", .kind = VIGIL_COUNTER_COUNT, .resolution_s = 10},
    {.name = "auth_failures_by_src",
     .kind = VIGIL_COUNTER_BY_KEY,
     .resolution_s = 10},
    {.name = "auth_failed_users",
     .kind = VIGIL_COUNTER_DISTINCT,
     .resolution_s = 10},
    {.name = "web_requests", .kind = VIGIL_COUNTER_COUNT, .resolution_s = 10},
    {.name = "web_by_status", .kind = VIGIL_COUNTER_BY_KEY, .resolution_s = 10},
    {.name = "bytes_denied", .kind = VIGIL_COUNTER_SUM, .resolution_s = 10},
    {.name = "heartbeat_by_host",
     .kind = VIGIL_COUNTER_BY_KEY,
     .resolution_s = 60},
    {.name = "containment_time",
     .kind = VIGIL_COUNTER_PAIR,
     .resolution_s = 60,
     .within_ms = 4 * 3600 * 1000},
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One event's counter updates; returns how many. */
static int add_event(struct vigil_batch *b, uint64_t *rng, int64_t ts,
                     uint64_t serial)
{
    char key[64];
    uint64_t r = rnd(rng);
    unsigned kind = (unsigned)(r % 100);
    int n;
    if (kind < 40) { /* sshd failure */
        /* Skewed sources: a few attackers, a long tail. */
        unsigned src = (unsigned)(r >> 8) % 100 < 60
                           ? (unsigned)(r >> 16) % 20
                           : (unsigned)(r >> 16) % 5000;
        n = snprintf(key, sizeof(key), "198.51.%u.%u", src / 256, src % 256);
        vigil_batch_count(b, C_SSH, ts, 1);
        vigil_batch_count_key(b, C_SSH_BY_SRC, ts,
                              (struct vigil_sv){key, (size_t)n}, 1);
        n = snprintf(key, sizeof(key), "user%u", (unsigned)(r >> 32) % 2000);
        vigil_batch_distinct(b, C_SSH_USERS, ts,
                             (struct vigil_sv){key, (size_t)n});
        return 3;
    }
    if (kind < 75) { /* web access */
        static const char *const status[] = {"200", "200", "200", "200", "301",
                                             "304", "401", "403", "404", "500"};
        const char *st = status[(r >> 8) % 10];
        vigil_batch_count(b, C_WEB, ts, 1);
        vigil_batch_count_key(b, C_WEB_BY_STATUS, ts, (struct vigil_sv){st, 3},
                              1);
        return 2;
    }
    if (kind < 85) { /* firewall deny */
        vigil_batch_sum(b, C_FW_BYTES, ts, (double)((r >> 8) % 1500 + 40));
        return 1;
    }
    if (kind < 99) { /* heartbeat */
        n = snprintf(key, sizeof(key), "host-%03u", (unsigned)(r >> 8) % 200);
        vigil_batch_count_key(b, C_HEARTBEAT_BY_HOST, ts,
                              (struct vigil_sv){key, (size_t)n}, 1);
        return 1;
    }
    /* Incidents: opened, and contained some events later. */
    n = snprintf(key, sizeof(key), "INC-%" PRIu64, serial / 200);
    if ((r >> 8) % 2)
        vigil_batch_pair_start(b, C_CONTAIN, ts,
                               (struct vigil_sv){key, (size_t)n});
    else
        vigil_batch_pair_end(b, C_CONTAIN, ts,
                             (struct vigil_sv){key, (size_t)n});
    return 1;
}

int main(int argc, char **argv)
{
    long events = 2000000, batch_size = 5000;
    bool with_redis = false;
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--redis") == 0)
            with_redis = true;
        else if (pos++ == 0)
            events = strtol(argv[i], NULL, 10);
        else
            batch_size = strtol(argv[i], NULL, 10);
    }
    if (events <= 0 || batch_size <= 0) {
        fprintf(stderr, "usage: bench_batch [EVENTS] [BATCH] [--redis]\n");
        return 2;
    }

    struct vigil_batch_config cfg = {
        .counters = defs,
        .n_counters = sizeof(defs) / sizeof(defs[0]),
        .retention_s = 8 * 86400,
    };
    struct vigil_batch *b = vigil_batch_create(&cfg, NULL);
    struct vigil_counter_store_config scfg = {.ns = "bench", .group = "vigil"};
    struct vigil_counter_store *store = vigil_counter_store_create(&scfg);
    if (!b || !store)
        return 1;
    struct vigil_test_redis *redis = NULL;
    redisContext *ctx = NULL;
    if (with_redis) {
        redis = vigil_test_redis_start(NULL);
        ctx = redis ? vigil_test_redis_connect(redis, 5000) : NULL;
        if (!ctx)
            return 1;
    }

    uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);
    int64_t t_start = (int64_t)time(NULL) * 1000 - 3600 * 1000;
    /* Event time: 2000 events per second of the feed. */
    int64_t now = t_start + events / 2;
    double add_s = 0, build_s = 0, flush_s = 0;
    uint64_t updates = 0, batches = 0, calls = 0, bytes = 0, keys = 0;
    int64_t offset = VIGIL_OFFSET_UNSET;
    struct vigil_flush_result res = {0};
    for (long done = 0; done < events; batches++) {
        long n = events - done < batch_size ? events - done : batch_size;
        vigil_batch_reset(b, now);
        double t = now_s();
        for (long i = 0; i < n; i++) {
            uint64_t serial = (uint64_t)(done + i);
            updates += (uint64_t)add_event(
                b, &rng, t_start + (int64_t)serial / 2, serial);
        }
        vigil_batch_offset(b, "security-events", 0, offset, done + n);
        add_s += now_s() - t;

        t = now_s();
        struct vigil_counter_store_cmd cmd;
        if (vigil_counter_store_build(store, b, &cmd) < 0)
            return 1;
        build_s += now_s() - t;
        calls += cmd.script_calls;
        bytes += cmd.bytes;
        keys += cmd.n_keys;

        if (ctx) {
            t = now_s();
            if (vigil_counter_store_flush(store, ctx, b, &res) < 0 ||
                !res.accepted) {
                fprintf(stderr, "flush: %s\n",
                        vigil_counter_store_error(store));
                return 1;
            }
            flush_s += now_s() - t;
        }
        offset = done + n;
        done += n;
    }

    printf("bench_batch: %ld events, batches of %ld, %.2f counter updates "
           "per event\n",
           events, batch_size, (double)updates / (double)events);
    printf("  aggregate: %.0f events/s (%.1f ns per event)\n",
           (double)events / add_s, add_s * 1e9 / (double)events);
    printf("  build EVALSHA: %.0f events/s, %.1f bytes and %.1f keys per "
           "batch per 1000 events\n",
           (double)events / build_s, (double)bytes * 1000.0 / (double)events,
           (double)keys * 1000.0 / (double)events);
    printf("  Redis commands per event: %.6f (1 EVALSHA per batch)\n",
           (double)batches / (double)events);
    printf("  redis.call()s in the script per event: %.4f (at most)\n",
           (double)calls / (double)events);
    printf("  peer, one command per update without aggregation: %.2f "
           "commands per event\n",
           (double)updates / (double)events);
    if (ctx)
        printf("  flush into redis-server: %.0f events/s (%.2f ms per "
               "batch)\n",
               (double)events / flush_s, flush_s * 1000.0 / (double)batches);

    vigil_flush_result_fini(&res);
    if (ctx)
        redisFree(ctx);
    vigil_test_redis_stop(redis);
    vigil_counter_store_destroy(store);
    vigil_batch_destroy(b);
    return 0;
}
