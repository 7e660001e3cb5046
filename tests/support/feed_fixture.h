/*
 * feed_fixture: the HTTP feed (feed_server.h) on a free loopback port
 * over a real redis-server, with two test indicators and a fake snapshot
 * publisher that writes what the evaluator would (hist:<id> samples,
 * breaches records) and then publishes the snapshot, as daemon.c does.
 * No Kafka, no evaluator. Everything runs on the test's thread except the
 * feed's own threads.
 */
#ifndef VIGIL_TEST_FEED_FIXTURE_H
#define VIGIL_TEST_FEED_FIXTURE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "feed_server.h"
#include "redis_server.h"

#define VIGIL_TEST_FEED_NS "test"

/* KPI-BF (effectiveness, "Bastion hosts", top() with offenders) and
 * KPI-LOG (performance, "Log pipeline"). */
extern const char vigil_test_feed_indicators[];

struct vigil_test_feed {
    struct vigil_test_redis *redis;
    char redis_host[64];
    int redis_port;
    redisContext *rc; /* the test's own connection */
    struct vigil_indicator_set *set;
    struct vigil_feed *feed;
    char base[64];  /* "http://127.0.0.1:<port>" */
    int64_t now_ms; /* the feed's clock (sessions, relative times) */
};

/* Starts redis-server and loads the indicators. 0 or -1 (printed). */
int vigil_test_feed_init(struct vigil_test_feed *fx);

/*
 * Creates and starts the feed with cfg (NULL: defaults) completed by the
 * fixture: host 127.0.0.1, port 0, namespace "test", the indicator set,
 * the Redis connector and the clock unless cfg sets them. 0 or -1.
 */
int vigil_test_feed_start(struct vigil_test_feed *fx,
                          const struct vigil_feed_config *cfg);

/* The URL of path on the feed, written into buf. */
const char *vigil_test_feed_url(const struct vigil_test_feed *fx,
                                const char *path, char *buf, size_t n);

/*
 * Records one evaluation of indicator id like the evaluator does (XADD
 * hist:<id> value state; with a transition from `previous`, XADD
 * breaches ...), then calls vigil_feed_publish(). has_prev false: no
 * transition. Returns 0 or -1.
 */
int vigil_test_feed_publish(struct vigil_test_feed *fx, const char *id,
                            double value, enum vigil_state state, bool has_prev,
                            enum vigil_state previous);

/* Destroys the feed, the set, the connection and redis-server. */
void vigil_test_feed_fini(struct vigil_test_feed *fx);

#endif
