/*
 * feed_route: maps a request's method and path onto the feed's endpoints
 * (DESIGN.md section 7, docs/API.md), with the access each needs. Pure;
 * any thread.
 */
#ifndef VIGIL_FEED_ROUTE_H
#define VIGIL_FEED_ROUTE_H

#include <stddef.h>

#include "feed_auth.h"

enum vigil_feed_endpoint {
    VIGIL_FEED_NOT_FOUND,   /* 404 */
    VIGIL_FEED_BAD_METHOD,  /* 405: the path exists; see allow */
    VIGIL_FEED_DASHBOARD,   /* GET / */
    VIGIL_FEED_ASSET,       /* GET /dashboard.js, /dashboard.css; arg: path */
    VIGIL_FEED_HEALTHZ,     /* GET /healthz */
    VIGIL_FEED_READYZ,      /* GET /readyz */
    VIGIL_FEED_METRICS,     /* GET /metrics */
    VIGIL_FEED_INDICATORS,  /* GET /api/v1/indicators */
    VIGIL_FEED_INDICATOR,   /* GET /api/v1/indicators/<id> */
    VIGIL_FEED_HISTORY,     /* GET /api/v1/indicators/<id>/history */
    VIGIL_FEED_STREAM,      /* GET /api/v1/stream */
    VIGIL_FEED_BREACHES,    /* GET /api/v1/breaches */
    VIGIL_FEED_ACK,         /* POST /api/v1/breaches/<id>/ack */
    VIGIL_FEED_SILENCES,    /* GET /api/v1/silences */
    VIGIL_FEED_SILENCE_ADD, /* POST /api/v1/silences */
    VIGIL_FEED_SILENCE_DEL, /* DELETE /api/v1/silences/<id> */
    VIGIL_FEED_FINDINGS,    /* GET /api/v1/findings */
    VIGIL_FEED_SESSION_NEW, /* POST /api/v1/session (checks the token) */
    VIGIL_FEED_SESSION_END, /* DELETE /api/v1/session */
};

/* Longest id accepted in a path segment. */
#define VIGIL_FEED_MAX_ID 256

struct vigil_feed_route {
    enum vigil_feed_endpoint endpoint;
    enum vigil_feed_access access;
    const char *arg; /* the <id> (or asset path), a view into path */
    size_t arg_len;
    const char *allow; /* for BAD_METHOD: the Allow header's value */
};

/*
 * Routes method ("GET", ...; HEAD counts as GET) and path (without the
 * query string). An <id> must be 1..VIGIL_FEED_MAX_ID bytes of
 * [A-Za-z0-9_.:-] (indicator ids: no ':'), else the path is NOT_FOUND.
 */
void vigil_feed_route(const char *method, const char *path,
                      struct vigil_feed_route *out);

#endif
