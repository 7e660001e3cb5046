/*
 * feed_auth: who may do what on the HTTP feed.
 *
 * Reads need the read token when one is configured (Authorization: Bearer
 * <read or admin token>, or the session cookie the dashboard got for it
 * from POST /api/v1/session); without a read token reads are open, and
 * the feed then refuses to listen anywhere but on loopback. Writes (acks,
 * silences) always need the admin token in the Authorization header,
 * never a cookie, so a page on another site cannot make a browser write.
 * Tokens are compared in constant time.
 */
#ifndef VIGIL_FEED_AUTH_H
#define VIGIL_FEED_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a request needs. */
enum vigil_feed_access {
    VIGIL_FEED_PUBLIC, /* liveness, the dashboard's static files */
    VIGIL_FEED_READ,   /* indicators, metrics, stream, ... */
    VIGIL_FEED_ADMIN,  /* acks, silences */
};

/* Session cookie limits. */
#define VIGIL_FEED_SESSION_COOKIE "vigil_session"
#define VIGIL_FEED_SESSION_ID_LEN 64 /* hex characters */
#define VIGIL_FEED_SESSION_MAX 256   /* the least recently used goes */
#define VIGIL_FEED_SESSION_IDLE_MS (60 * 60 * 1000)
#define VIGIL_FEED_SESSION_LIFETIME_MS (12 * 60 * 60 * 1000)

/*
 * Whether got[0..got_len) equals the NUL-terminated expected, in time
 * that depends only on the lengths. expected NULL never matches.
 */
bool vigil_feed_token_equal(const char *expected, const char *got,
                            size_t got_len);

/*
 * Finds the token of an Authorization header value "Bearer <token>" (the
 * scheme case-insensitive). Returns false when header is NULL or not a
 * bearer credential; *tok points into header.
 */
bool vigil_feed_bearer(const char *header, const char **tok, size_t *len);

/*
 * The decision for a request that needs `need`: 0 allowed, 401 missing
 * or wrong credentials, 403 writes asked for while no admin token is
 * configured. authorization is the header value (NULL: none);
 * session_ok says whether the request carried a valid session cookie.
 * Pure; any thread.
 */
int vigil_feed_authorize(const char *read_token, const char *admin_token,
                         enum vigil_feed_access need, const char *authorization,
                         bool session_ok);

struct vigil_feed_sessions;

/* An empty session table; NULL when out of memory. */
struct vigil_feed_sessions *vigil_feed_sessions_create(void);
void vigil_feed_sessions_destroy(struct vigil_feed_sessions *s);

/*
 * A new random session id (hex, NUL-terminated) in out, valid for
 * VIGIL_FEED_SESSION_LIFETIME_MS and dropped after
 * VIGIL_FEED_SESSION_IDLE_MS unused. Returns 0, or -1 when the system has
 * no randomness. Any thread.
 */
int vigil_feed_session_new(struct vigil_feed_sessions *s, int64_t now_ms,
                           char out[VIGIL_FEED_SESSION_ID_LEN + 1]);

/* Whether id[0..len) is a live session; using it refreshes its idle
 * time. Any thread. */
bool vigil_feed_session_check(struct vigil_feed_sessions *s, const char *id,
                              size_t len, int64_t now_ms);

/* Ends the session id[0..len) if it exists. Any thread. */
void vigil_feed_session_drop(struct vigil_feed_sessions *s, const char *id,
                             size_t len);

#endif
