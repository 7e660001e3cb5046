/*
 * bench_decode: events per second of vigil_decode on a generated corpus of
 * JSON events (ECS-like, nested objects, arrays, an escape now and then)
 * and of syslog lines (RFC 3164 and RFC 5424 with structured data), and,
 * as the peer in the same run, of cJSON_ParseWithLength + cJSON_Delete on
 * the same JSON lines (and, for scale, of jsmn_parse alone, the floor
 * under the JSON figure). The corpus is deterministic (fixed seed), so runs
 * compare. Not part of the test suite; build with -DCMAKE_BUILD_TYPE=
 * Release and without sanitizers for meaningful figures.
 *
 *   bench_decode [events]      (default 200000 of each kind)
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define FALLBACK INT64_C(1717243200000)
#define ROUNDS 3

struct corpus {
    char *buf;
    size_t len, cap;
    size_t *off; /* line i is buf[off[i] .. off[i + 1]) */
    size_t n;
};

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void put(struct corpus *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct corpus *c, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(c->buf + c->len, c->cap - c->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < c->cap - c->len) {
            c->len += (size_t)n;
            return;
        }
        c->cap = c->cap * 2 + 4096;
        c->buf = realloc(c->buf, c->cap);
        if (!c->buf)
            abort();
    }
}

static const char *const users[] = {
    "root", "admin", "bob", "alice", "oracle", "svc-backup", "J\\u00fcrgen"};
static const char *const hosts[] = {"bastion-1", "bastion-2", "web-01", "db-03",
                                    "fw-edge"};
static const char *const actions[] = {"ssh_login", "logon", "file_access",
                                      "network_flow", "process_start"};

static void gen_json(struct corpus *c, size_t i)
{
    unsigned a = rnd(256), b = rnd(256), port = 1024 + rnd(60000);
    const char *user = users[rnd(7)];
    put(c,
        "{\"@timestamp\":\"2024-06-01T12:%02u:%02u.%03uZ\",\"message\":"
        "\"sshd[%u]: Failed password for invalid user %s from 194.117.%u.%u "
        "port %u ssh2\",\"host\":{\"name\":\"%s\",\"ip\":[\"10.0.%u.%u\"],"
        "\"os\":{\"family\":\"debian\",\"version\":\"12\"}},\"event\":{"
        "\"action\":\"%s\",\"outcome\":\"%s\",\"severity\":%u,\"sequence\":"
        "%zu},\"source\":{\"ip\":\"194.117.%u.%u\",\"port\":%u},\"user\":{"
        "\"name\":\"%s\"},\"process\":{\"name\":\"sshd\",\"pid\":%u},"
        "\"tags\":[\"sshd\",\"auth\"],\"labels\":{\"env\":\"prod\"},"
        "\"ok\":%s,\"note\":null}",
        rnd(60), rnd(60), rnd(1000), rnd(99999), user, a, b, port,
        hosts[rnd(5)], rnd(256), rnd(256), actions[rnd(5)],
        rnd(4) ? "failure" : "success", rnd(8), i, a, b, port, user, rnd(99999),
        rnd(2) ? "true" : "false");
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void gen_syslog(struct corpus *c, size_t i)
{
    switch (rnd(4)) {
    case 0:
        put(c,
            "%s %2u %02u:%02u:%02u %s sshd[%u]: Failed password for invalid "
            "user %s from 194.117.%u.%u port %u ssh2",
            months[rnd(12)], 1 + rnd(28), rnd(24), rnd(60), rnd(60),
            hosts[rnd(5)], rnd(99999), users[rnd(6)], rnd(256), rnd(256),
            1024 + rnd(60000));
        break;
    case 1:
        put(c,
            "<%u>%s %2u %02u:%02u:%02u %s kernel: [UFW BLOCK] IN=eth0 OUT= "
            "SRC=10.%u.%u.%u DST=10.0.0.1 LEN=60 PROTO=TCP SPT=%u DPT=22",
            rnd(192), months[rnd(12)], 1 + rnd(28), rnd(24), rnd(60), rnd(60),
            hosts[rnd(5)], rnd(256), rnd(256), rnd(256), 1024 + rnd(60000));
        break;
    case 2:
        put(c,
            "<%u>1 2024-06-01T12:%02u:%02u.%03u+02:00 %s.example.com sudo "
            "%u ID%zu [origin ip=\"10.0.%u.%u\"][meta sequenceId=\"%zu\"] "
            "bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/sh",
            rnd(192), rnd(60), rnd(60), rnd(1000), hosts[rnd(5)], rnd(99999),
            i % 100, rnd(256), rnd(256), i);
        break;
    default:
        put(c,
            "<%u>1 2024-06-01T12:%02u:%02uZ %s app - - - user %s logged in "
            "from 172.16.%u.%u",
            rnd(192), rnd(60), rnd(60), hosts[rnd(5)], users[rnd(6)], rnd(256),
            rnd(256));
        break;
    }
}

static void build(struct corpus *c, size_t n,
                  void (*gen)(struct corpus *, size_t))
{
    memset(c, 0, sizeof(*c));
    c->off = malloc((n + 1) * sizeof(*c->off));
    if (!c->off)
        abort();
    for (size_t i = 0; i < n; i++) {
        c->off[i] = c->len;
        gen(c, i);
    }
    c->off[n] = c->len;
    c->n = n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of ROUNDS: seconds for one pass of vigil_decode over c. */
static double time_vigil(const struct corpus *c, enum vigil_event_format f,
                         size_t *fields, size_t *errors)
{
    struct vigil_decode_options o = {f, "@timestamp", 0};
    struct vigil_decoder *d = vigil_decoder_create(&o);
    struct vigil_event ev;
    vigil_event_init(&ev);
    double best = 1e99;
    for (int r = 0; r < ROUNDS; r++) {
        size_t nf = 0, ne = 0;
        double t0 = now();
        for (size_t i = 0; i < c->n; i++) {
            const char *reason;
            if (vigil_decode(d, c->buf + c->off[i], c->off[i + 1] - c->off[i],
                             FALLBACK, &ev, &reason) < 0)
                ne++;
            nf += ev.n_fields;
        }
        double t = now() - t0;
        if (t < best)
            best = t;
        *fields = nf;
        *errors = ne;
    }
    vigil_event_fini(&ev);
    vigil_decoder_destroy(d);
    return best;
}

static double time_cjson(const struct corpus *c, size_t *errors)
{
    double best = 1e99;
    for (int r = 0; r < ROUNDS; r++) {
        size_t ne = 0;
        double t0 = now();
        for (size_t i = 0; i < c->n; i++) {
            cJSON *j = cJSON_ParseWithLength(c->buf + c->off[i],
                                             c->off[i + 1] - c->off[i]);
            if (!j)
                ne++;
            cJSON_Delete(j);
        }
        double t = now() - t0;
        if (t < best)
            best = t;
        *errors = ne;
    }
    return best;
}

/* The tokenizer alone: the floor under vigil_decode's JSON figure. */
static double time_jsmn(const struct corpus *c)
{
    static jsmntok_t toks[4096];
    double best = 1e99;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        for (size_t i = 0; i < c->n; i++) {
            jsmn_parser p;
            jsmn_init(&p);
            if (jsmn_parse(&p, c->buf + c->off[i], c->off[i + 1] - c->off[i],
                           toks, 4096) < 0)
                abort();
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

static void report(const char *what, const struct corpus *c, double s)
{
    printf("%-34s %10.0f events/s %8.1f MB/s  (%zu events, %.1f bytes avg)\n",
           what, (double)c->n / s, (double)c->len / s / 1e6, c->n,
           (double)c->len / (double)c->n);
}

int main(int argc, char **argv)
{
    size_t n = 200000;
    if (argc > 1) {
        char *end;
        unsigned long long v = strtoull(argv[1], &end, 10);
        if (*end || v == 0) {
            fprintf(stderr, "usage: %s [events]\n", argv[0]);
            return 2;
        }
        n = (size_t)v;
    }
#if !defined(__OPTIMIZE__) || defined(__SANITIZE_ADDRESS__)
    printf("note: unoptimized or sanitized build; figures are not "
           "representative\n");
#endif
    struct corpus json, sys;
    build(&json, n, gen_json);
    build(&sys, n, gen_syslog);

    size_t fields, errors, cerrors, sfields, serrors;
    double tj = time_vigil(&json, VIGIL_FORMAT_JSON, &fields, &errors);
    double tc = time_cjson(&json, &cerrors);
    double tt = time_jsmn(&json);
    double ts = time_vigil(&sys, VIGIL_FORMAT_SYSLOG, &sfields, &serrors);

    report("vigil_decode json", &json, tj);
    report("cJSON_ParseWithLength+Delete", &json, tc);
    report("(jsmn_parse alone)", &json, tt);
    report("vigil_decode syslog", &sys, ts);
    printf("json: vigil / cJSON = %.2fx; %.1f fields per event; errors: "
           "vigil %zu, cJSON %zu\n",
           tc / tj, (double)fields / (double)n, errors, cerrors);
    printf("syslog: %.1f fields per event; errors %zu\n",
           (double)sfields / (double)n, serrors);

    free(json.buf);
    free(json.off);
    free(sys.buf);
    free(sys.off);
    return errors || cerrors || serrors ? 1 : 0;
}
