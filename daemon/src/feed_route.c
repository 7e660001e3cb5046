#include "feed_route.h"

#include <stdbool.h>
#include <string.h>

static bool id_char(char c, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
           (colon && c == ':');
}

/* The id segment at p (up to '/' or the end): its length, or 0 when it
 * is empty, too long or holds a byte outside the id alphabet. */
static size_t id_segment(const char *p, bool colon)
{
    size_t n = 0;
    while (p[n] && p[n] != '/') {
        if (!id_char(p[n], colon) || n >= VIGIL_FEED_MAX_ID)
            return 0;
        n++;
    }
    /* "." and ".." are not ids. */
    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
        return 0;
    return n;
}

static bool prefix(const char *s, const char *p, const char **rest)
{
    size_t n = strlen(p);
    if (strncmp(s, p, n) != 0)
        return false;
    *rest = s + n;
    return true;
}

static void set(struct vigil_feed_route *out, enum vigil_feed_endpoint e,
                enum vigil_feed_access a)
{
    out->endpoint = e;
    out->access = a;
}

/* A path that takes one method: the endpoint, or BAD_METHOD. */
static void only(struct vigil_feed_route *out, bool ok, const char *allow,
                 enum vigil_feed_endpoint e, enum vigil_feed_access a)
{
    if (ok) {
        set(out, e, a);
    } else {
        set(out, VIGIL_FEED_BAD_METHOD, VIGIL_FEED_PUBLIC);
        out->allow = allow;
    }
}

static void route_indicators(const char *rest, bool get,
                             struct vigil_feed_route *out)
{
    if (*rest == '\0') {
        only(out, get, "GET, HEAD", VIGIL_FEED_INDICATORS, VIGIL_FEED_READ);
        return;
    }
    if (*rest != '/')
        return;
    rest++;
    size_t n = id_segment(rest, false);
    if (n == 0)
        return;
    out->arg = rest;
    out->arg_len = n;
    if (rest[n] == '\0')
        only(out, get, "GET, HEAD", VIGIL_FEED_INDICATOR, VIGIL_FEED_READ);
    else if (strcmp(rest + n, "/history") == 0)
        only(out, get, "GET, HEAD", VIGIL_FEED_HISTORY, VIGIL_FEED_READ);
}

static void route_breaches(const char *rest, bool get, bool post,
                           struct vigil_feed_route *out)
{
    if (*rest == '\0') {
        only(out, get, "GET, HEAD", VIGIL_FEED_BREACHES, VIGIL_FEED_READ);
        return;
    }
    if (*rest != '/')
        return;
    rest++;
    size_t n = id_segment(rest, true);
    if (n == 0 || strcmp(rest + n, "/ack") != 0)
        return;
    out->arg = rest;
    out->arg_len = n;
    only(out, post, "POST", VIGIL_FEED_ACK, VIGIL_FEED_ADMIN);
}

static void route_silences(const char *rest, bool get, bool post, bool del,
                           struct vigil_feed_route *out)
{
    if (*rest == '\0') {
        if (get)
            set(out, VIGIL_FEED_SILENCES, VIGIL_FEED_READ);
        else
            only(out, post, "GET, HEAD, POST", VIGIL_FEED_SILENCE_ADD,
                 VIGIL_FEED_ADMIN);
        return;
    }
    if (*rest != '/')
        return;
    rest++;
    size_t n = id_segment(rest, true);
    if (n == 0 || rest[n] != '\0')
        return;
    out->arg = rest;
    out->arg_len = n;
    only(out, del, "DELETE", VIGIL_FEED_SILENCE_DEL, VIGIL_FEED_ADMIN);
}

void vigil_feed_route(const char *method, const char *path,
                      struct vigil_feed_route *out)
{
    memset(out, 0, sizeof(*out));
    set(out, VIGIL_FEED_NOT_FOUND, VIGIL_FEED_PUBLIC);
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    bool del = strcmp(method, "DELETE") == 0;
    const char *rest;

    if (strcmp(path, "/") == 0) {
        only(out, get, "GET, HEAD", VIGIL_FEED_DASHBOARD, VIGIL_FEED_PUBLIC);
    } else if (strcmp(path, "/dashboard.js") == 0 ||
               strcmp(path, "/dashboard.css") == 0) {
        out->arg = path;
        out->arg_len = strlen(path);
        only(out, get, "GET, HEAD", VIGIL_FEED_ASSET, VIGIL_FEED_PUBLIC);
    } else if (strcmp(path, "/healthz") == 0) {
        only(out, get, "GET, HEAD", VIGIL_FEED_HEALTHZ, VIGIL_FEED_PUBLIC);
    } else if (strcmp(path, "/readyz") == 0) {
        only(out, get, "GET, HEAD", VIGIL_FEED_READYZ, VIGIL_FEED_PUBLIC);
    } else if (strcmp(path, "/metrics") == 0) {
        only(out, get, "GET, HEAD", VIGIL_FEED_METRICS, VIGIL_FEED_READ);
    } else if (prefix(path, "/api/v1/indicators", &rest)) {
        route_indicators(rest, get, out);
    } else if (strcmp(path, "/api/v1/stream") == 0) {
        only(out, get, "GET", VIGIL_FEED_STREAM, VIGIL_FEED_READ);
    } else if (prefix(path, "/api/v1/breaches", &rest)) {
        route_breaches(rest, get, post, out);
    } else if (prefix(path, "/api/v1/silences", &rest)) {
        route_silences(rest, get, post, del, out);
    } else if (strcmp(path, "/api/v1/findings") == 0) {
        only(out, get, "GET, HEAD", VIGIL_FEED_FINDINGS, VIGIL_FEED_READ);
    } else if (strcmp(path, "/api/v1/session") == 0) {
        if (post)
            set(out, VIGIL_FEED_SESSION_NEW, VIGIL_FEED_PUBLIC);
        else
            only(out, del, "POST, DELETE", VIGIL_FEED_SESSION_END,
                 VIGIL_FEED_PUBLIC);
    }
}
