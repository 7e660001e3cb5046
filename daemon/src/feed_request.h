/*
 * feed_request: what the HTTP feed reads from a request besides its path
 * (feed_route.h): query-string values (times, durations, limits) and the
 * JSON bodies of the write endpoints (acks, silences). Pure functions over
 * hostile bytes with explicit lengths, so that they can be tested and
 * fuzzed without sockets (tests/fuzz/fuzz_http.c). Any thread.
 */
#ifndef VIGIL_FEED_REQUEST_H
#define VIGIL_FEED_REQUEST_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* A duration "90s", "15m", "1h30m", "7d", "2w" (up to ten years) in ms
 * into *out; false when malformed. */
bool vigil_feed_parse_duration(const char *s, int64_t *out);

/*
 * A time parameter into *out (epoch ms): epoch ms ("1700000000000"), ISO
 * 8601 UTC ("2023-11-14T22:13:20Z", optional ".mmm"), or relative to
 * now_ms ("-1h"). False when malformed.
 */
bool vigil_feed_parse_time(const char *s, int64_t now_ms, int64_t *out);

/* A ?limit= value: s NULL gives def; 1.. (values above max give max);
 * false when malformed or 0. */
bool vigil_feed_parse_limit(const char *s, unsigned def, unsigned max,
                            unsigned *out);

/* The body of POST /api/v1/breaches/<id>/ack. */
struct vigil_feed_ack_req {
    cJSON *json;         /* owned: the strings point into it */
    const char *author;  /* "api" when absent; at most 128 bytes */
    const char *comment; /* "" when absent; at most 1024 bytes */
};

/* Parses body[0..len) (empty: {}) into *out. 0, or -1 when it is not a
 * JSON object of those optional strings (nothing to free then). */
int vigil_feed_ack_parse(const char *body, size_t len,
                         struct vigil_feed_ack_req *out);
void vigil_feed_ack_req_fini(struct vigil_feed_ack_req *r);

#define VIGIL_FEED_MATCHER_MAX 32

/* The body of POST /api/v1/silences. Not to be copied (matcher.v points
 * at kv). */
struct vigil_feed_silence_req {
    cJSON *json; /* owned: the strings point into it */
    struct vigil_config_kv kv[VIGIL_FEED_MATCHER_MAX];
    struct vigil_config_map matcher; /* 1..VIGIL_FEED_MATCHER_MAX pairs */
    const char *author;              /* "api" when absent */
    const char *reason;              /* "" when absent */
    int64_t until_ms;                /* after now_ms */
};

/*
 * Parses {"matcher": {label: value, ...}, "until": time | "duration": d,
 * "author": s, "reason": s} from body[0..len) into *out, times relative
 * to now_ms. 0, or -1 with a static reason in *why (nothing to free).
 */
int vigil_feed_silence_parse(const char *body, size_t len, int64_t now_ms,
                             struct vigil_feed_silence_req *out,
                             const char **why);
void vigil_feed_silence_req_fini(struct vigil_feed_silence_req *r);

#endif
