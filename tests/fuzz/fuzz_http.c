/*
 * libFuzzer target for the HTTP feed's request handling. The input is a
 * raw HTTP/1.1 request. It goes twice through the feed:
 *
 *  - piece by piece through the pure parsers (feed_route.h, feed_auth.h,
 *    feed_request.h, the stream IDs of feed_json.h): the path, every
 *    query-string value as a time, duration, limit and stream ID, the
 *    Authorization header and session cookie, and the body as an ack and
 *    as a silence, checking what each promises;
 *  - whole, over one end of a socketpair handed to a started feed
 *    (vigil_feed_add_connection): libmicrohttpd's parser, the size
 *    limits, auth, routing and every handler, with tokens configured, a
 *    pager stub that accepts everything and no Redis (reads of Redis
 *    answer 503). The stream endpoint is left out (it never ends).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "feed_auth.h"
#include "feed_json.h"
#include "feed_request.h"
#include "feed_route.h"
#include "feed_server.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define READ_TOKEN "fuzz-read-token"
#define ADMIN_TOKEN "fuzz-admin-token"
#define NOW_MS 1700000000000LL

static const char indicators_yaml[] =
    "indicators:\n"
    "  - id: KPI-1\n"
    "    name: One\n"
    "    information_need: n\n"
    "    kind: performance\n"
    "    entity: e\n"
    "    owner: o\n"
    "    data_source: d\n"
    "    frequency: 1m\n"
    "    value: count(c, 5m)\n"
    "    unit: u\n"
    "    target: \"< 1\"\n"
    "    decision: { breach: \">= 1\", ok: \"< 1\" }\n";

static int ack(void *ctx, const char *id, const char *author,
               const char *comment, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    if (!id[0] || strlen(author) > 128 || strlen(comment) > 1024)
        abort();
    return 0;
}

static int silence_add(void *ctx, const struct vigil_feed_silence *s,
                       char *id_out, size_t id_len, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    if (s->matcher->n == 0 || s->matcher->n > VIGIL_FEED_MATCHER_MAX ||
        s->until_ms <= s->created_ms)
        abort();
    snprintf(id_out, id_len, "f1");
    return 0;
}

static int silence_list(void *ctx, vigil_feed_silence_emit_fn emit, void *ectx,
                        char *err, size_t errlen)
{
    (void)ctx;
    (void)emit;
    (void)ectx;
    (void)err;
    (void)errlen;
    return 0;
}

static int silence_expire(void *ctx, const char *id, const char *author,
                          char *err, size_t errlen)
{
    (void)ctx;
    (void)id;
    (void)author;
    snprintf(err, errlen, "not found: %s", id);
    return -1;
}

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return NOW_MS;
}

static struct vigil_feed *feed;
static struct vigil_indicator_set *set;
static struct vigil_feed_sessions *sessions;
static char session_id[VIGIL_FEED_SESSION_ID_LEN + 1];

static void setup(void)
{
    vigil_log_setup(VIGIL_LOG_ERROR, VIGIL_LOG_TEXT);
    struct vigil_indicator_source src = {"fuzz.yaml", indicators_yaml,
                                         strlen(indicators_yaml)};
    struct vigil_diags d;
    vigil_diags_init(&d);
    set = vigil_indicator_set_load_sources(&src, 1, NULL, &d);
    vigil_diags_fini(&d);
    sessions = vigil_feed_sessions_create();
    if (!set || !sessions ||
        vigil_feed_session_new(sessions, NOW_MS, session_id) < 0)
        abort();
    struct vigil_feed_config c = {
        .host = "127.0.0.1",
        .read_token = READ_TOKEN,
        .admin_token = ADMIN_TOKEN,
        .ns = "fuzz",
        .indicators = set,
        .pager = {.ack = ack,
                  .silence_add = silence_add,
                  .silence_list = silence_list,
                  .silence_expire = silence_expire},
        .now_ms = fixed_now,
    };
    char err[256];
    feed = vigil_feed_create(&c, err, sizeof(err));
    if (!feed || vigil_feed_start(feed, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        abort();
    }
}

/* ---- the pure parsers ---- */

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new NUL-terminated string. */
static char *decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 &&
            hex(s[i + 2]) >= 0) {
            out[k++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[k] = '\0';
    return out;
}

static void query_value(const char *v)
{
    int64_t t, d;
    unsigned limit;
    struct vigil_feed_sid sid;
    if (vigil_feed_parse_time(v, NOW_MS, &t) && v[0] == '-' && t > NOW_MS)
        abort();
    if (vigil_feed_parse_duration(v, &d) &&
        (d < 0 || d > 10LL * 365 * 24 * 3600 * 1000))
        abort();
    if (vigil_feed_parse_limit(v, 100, 1000, &limit) &&
        (limit == 0 || limit > 1000))
        abort();
    if (vigil_feed_sid_parse(v, strlen(v), &sid)) {
        char buf[48];
        vigil_feed_sid_format(sid, buf, sizeof(buf));
        struct vigil_feed_sid again;
        if (!vigil_feed_sid_parse(buf, strlen(buf), &again) ||
            vigil_feed_sid_cmp(sid, again) != 0)
            abort();
    }
}

static void parse_pieces(const char *req, size_t n)
{
    const char *eol = memchr(req, '\n', n);
    size_t line = eol ? (size_t)(eol - req) : n;
    const char *sp1 = memchr(req, ' ', line);
    if (!sp1)
        return;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', line - (size_t)(target - req));
    size_t tlen = sp2 ? (size_t)(sp2 - target) : line - (size_t)(target - req);
    char *method = decode(req, (size_t)(sp1 - req));
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    char *path = decode(target, plen);
    struct vigil_feed_route r;
    vigil_feed_route(method, path, &r);
    if (r.arg && (r.arg_len == 0 || r.arg_len > strlen(path)))
        abort();
    /* Query: k=v&k=v. */
    for (const char *p = q ? q + 1 : NULL; p && p < target + tlen;) {
        const char *amp = memchr(p, '&', (size_t)(target + tlen - p));
        size_t len = amp ? (size_t)(amp - p) : (size_t)(target + tlen - p);
        const char *eq = memchr(p, '=', len);
        if (eq) {
            char *v = decode(eq + 1, len - (size_t)(eq + 1 - p));
            query_value(v);
            free(v);
        }
        p = amp ? amp + 1 : NULL;
    }
    /* Headers, then the body. */
    const char *auth = NULL;
    bool session = false;
    char *owned_auth = NULL;
    const char *p = eol ? eol + 1 : req + n;
    while (p < req + n) {
        const char *e = memchr(p, '\n', (size_t)(req + n - p));
        size_t len = e ? (size_t)(e - p) : (size_t)(req + n - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) {
            p = e ? e + 1 : req + n;
            break;
        }
        if (len > 14 && strncasecmp(p, "Authorization:", 14) == 0) {
            free(owned_auth);
            owned_auth = decode(p + 14, len - 14);
            auth = owned_auth;
            while (*auth == ' ')
                auth++;
        } else if (len > 7 && strncasecmp(p, "Cookie:", 7) == 0) {
            const char *v = memmem(p, len, "vigil_session=", 14);
            if (v) {
                v += 14;
                size_t vl = strcspn(v, ";\r\n");
                if (vl > (size_t)(p + len - v))
                    vl = (size_t)(p + len - v);
                session = vigil_feed_session_check(sessions, v, vl, NOW_MS);
            }
        }
        p = e ? e + 1 : req + n;
    }
    int rc =
        vigil_feed_authorize(READ_TOKEN, ADMIN_TOKEN, r.access, auth, session);
    if (rc != 0 && rc != 401)
        abort();
    if (r.access == VIGIL_FEED_ADMIN && rc == 0) {
        const char *tok;
        size_t tl;
        if (!vigil_feed_bearer(auth, &tok, &tl) ||
            !vigil_feed_token_equal(ADMIN_TOKEN, tok, tl))
            abort();
    }
    const char *body = p;
    size_t blen = (size_t)(req + n - p);
    struct vigil_feed_ack_req a;
    if (vigil_feed_ack_parse(body, blen, &a) == 0) {
        if (!a.author || strlen(a.author) > 128 || !a.comment ||
            strlen(a.comment) > 1024)
            abort();
        vigil_feed_ack_req_fini(&a);
    }
    struct vigil_feed_silence_req s;
    const char *why;
    if (vigil_feed_silence_parse(body, blen, NOW_MS, &s, &why) == 0) {
        if (s.matcher.n == 0 || s.matcher.n > VIGIL_FEED_MATCHER_MAX ||
            s.until_ms <= NOW_MS || !s.author || !s.reason)
            abort();
        vigil_feed_silence_req_fini(&s);
    } else if (!why) {
        abort();
    }
    free(owned_auth);
    free(path);
    free(method);
}

/* ---- the whole request through the feed ---- */

static void serve_whole(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (vigil_feed_add_connection(feed, sv[1]) < 0) {
        close(sv[0]);
        return;
    }
    size_t off = 0;
    struct pollfd pfd = {.fd = sv[0]};
    char buf[65536];
    bool closed_write = false;
    /* Write the request while draining the answer (either may block). */
    for (int idle = 0; idle < 100;) {
        pfd.events = POLLIN | (closed_write ? 0 : POLLOUT);
        if (poll(&pfd, 1, 50) <= 0) {
            idle++;
            continue;
        }
        if (pfd.revents & POLLIN) {
            ssize_t k = recv(sv[0], buf, sizeof(buf), 0);
            if (k <= 0)
                break;
        } else if (pfd.revents & (POLLHUP | POLLERR)) {
            break;
        }
        if (!closed_write && (pfd.revents & POLLOUT)) {
            ssize_t k = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
            if (k > 0)
                off += (size_t)k;
            if (k < 0 && errno != EAGAIN && errno != EINTR)
                off = size;
            if (off >= size) {
                shutdown(sv[0], SHUT_WR);
                closed_write = true;
            }
        }
    }
    close(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!feed)
        setup();
    if (size > 64 * 1024)
        return 0;
    char *req = malloc(size + 1);
    if (!req)
        return 0;
    memcpy(req, data, size);
    req[size] = '\0';
    parse_pieces(req, size);
    struct vigil_feed_route r;
    char method[16] = "", path[4096] = "";
    if (sscanf(req, "%15s %4095[^? ]", method, path) == 2)
        vigil_feed_route(method, path, &r);
    else
        r.endpoint = VIGIL_FEED_NOT_FOUND;
    if (r.endpoint != VIGIL_FEED_STREAM && !strstr(req, "/api/v1/stream"))
        serve_whole(data, size);
    free(req);
    return 0;
}
