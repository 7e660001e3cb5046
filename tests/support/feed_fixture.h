/*
 * feed_fixture: the HTTP feed (feed_server.h) on a free loopback port
 * over a real redis-server, with two test indicators and a fake snapshot
 * publisher that writes what the evaluator would (hist:<id> samples,
 * breaches records) and then publishes the snapshot, as daemon.c does.
 * No Kafka, no evaluator. Everything runs on the test's thread except the
 * feed's own threads.
 *
 * Also the whole daemon for end-to-end feed tests (vigild run as a child
 * process over a real redis-server and librdkafka's mock cluster), and a
 * headless Chromium driven over the DevTools protocol for the dashboard.
 */
#ifndef VIGIL_TEST_FEED_FIXTURE_H
#define VIGIL_TEST_FEED_FIXTURE_H

#include <cJSON.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "feed_server.h"
#include "kafka_cluster.h"
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

/* ---- vigild run with its feed ---- */

/*
 * The daemon's rules count `login failed user=U src=S` messages (JSON
 * events, field message) into fails, fails_by_src and failed_users, and
 * `heartbeat` messages into heartbeats. Its indicators, evaluated every
 * second: KPI-FAIL (count(fails, 1h): warn >= 20, breach >= 50, paged),
 * KPI-TOP (top(fails_by_src, 1h), breach >= 1000) and KPI-HB
 * (count(heartbeats, 10m), breach < 1).
 */
struct vigil_test_feed_daemon {
    struct vigil_test_redis *redis;
    struct vigil_test_kafka *kafka;
    redisContext *rc; /* the test's own connection */
    char *dir;
    char *cfg_path;
    char *log_path;
    int http_port;
    char base[64]; /* "http://127.0.0.1:<port>" */
    pid_t pid;     /* 0: not running */
    unsigned produced;
};

#define VIGIL_TEST_FEED_DAEMON_NS "feed"
#define VIGIL_TEST_FEED_DAEMON_TOPIC "events"

/*
 * Starts redis-server and the mock cluster and writes the config, with
 * http_extra (NULL: none) appended under `http:` after the listen line
 * (e.g. "  admin_token: \"x\"\n"). 0 or -1 (printed).
 */
int vigil_test_feed_daemon_init(struct vigil_test_feed_daemon *d,
                                const char *http_extra);

/* Spawns vigild run and waits until /healthz answers. 0, or -1 when it
 * exited or did not answer within 30 s (see d->log_path). */
int vigil_test_feed_daemon_start(struct vigil_test_feed_daemon *d);

/* Produces `fails` failed logins (sources cycling over 10.0.0.1..5) and
 * `heartbeats` heartbeat messages. 0 or -1. */
int vigil_test_feed_daemon_produce(struct vigil_test_feed_daemon *d,
                                   unsigned fails, unsigned heartbeats);

/* SIGTERM, then waits up to 15 s: the exit status, -2 when it had to be
 * killed. 0 when not running. */
int vigil_test_feed_daemon_stop(struct vigil_test_feed_daemon *d);

/* Stops the daemon (if running), the cluster, redis-server, removes the
 * folder (the log is printed first when VIGIL_TEST_SHOW_LOG is set). */
void vigil_test_feed_daemon_fini(struct vigil_test_feed_daemon *d);

/* The URL of path on the daemon's feed, into buf. */
const char *vigil_test_feed_daemon_url(const struct vigil_test_feed_daemon *d,
                                       const char *path, char *buf, size_t n);

/* ---- headless Chromium over the DevTools protocol ---- */

struct vigil_test_browser;

/*
 * Starts /usr/bin/chromium ($VIGIL_TEST_CHROMIUM when set) headless with a
 * fresh profile under a new temp
 * folder and connects to its blank page over the DevTools protocol. NULL
 * with the reason in why when Chromium is missing or does not start.
 */
struct vigil_test_browser *vigil_test_browser_start(char *why, size_t n);

/* Loads url in the page. 0 or -1. */
int vigil_test_browser_navigate(struct vigil_test_browser *b, const char *url);

/* Evaluates the JavaScript expression in the page: its value as JSON
 * (cJSON_Delete it), or NULL on error (printed). */
cJSON *vigil_test_browser_eval(struct vigil_test_browser *b, const char *expr);

/* Writes a PNG screenshot of the page to path. 0 or -1. */
int vigil_test_browser_screenshot(struct vigil_test_browser *b,
                                  const char *path);

/* Ends Chromium, removes its profile, frees b. NULL is fine. */
void vigil_test_browser_stop(struct vigil_test_browser *b);

#endif
