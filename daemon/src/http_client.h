/*
 * http_client: outbound HTTP POSTs with libcurl's multi interface driven
 * by a libev loop (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION and
 * curl_multi_socket_action), so notifications never block the main loop.
 * TLS peers and host names are verified; only http and https are
 * allowed; redirects are not followed; every request has a total timeout.
 *
 * The client and its callbacks belong to the loop's thread. A completion
 * callback is always called from the loop, never from inside
 * vigil_http_post(); it may post again but must not destroy the client.
 */
#ifndef VIGIL_HTTP_CLIENT_H
#define VIGIL_HTTP_CLIENT_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

/* How much of a response body is kept (for error reports). */
#define VIGIL_HTTP_BODY_KEEP 4096

struct vigil_http_request {
    const char *url;
    const char *body; /* copied */
    size_t body_len;
    const char *const *headers; /* "Name: value", NULL-terminated; NULL ok;
                                   copied */
    uint64_t timeout_ms;        /* the whole request; 0: 10 s */
};

struct vigil_http_response {
    int curl_code;    /* CURLE_OK (0) when a response arrived */
    long status;      /* HTTP status; 0 without a response */
    const char *body; /* the first VIGIL_HTTP_BODY_KEEP bytes, NUL-ended */
    size_t body_len;
    const char *error;       /* transport error text, "" when none */
    uint64_t retry_after_ms; /* from Retry-After; 0 when absent */
};

/* Borrowed *r is valid until the callback returns. */
typedef void (*vigil_http_done_fn)(void *ctx,
                                   const struct vigil_http_response *r);

struct vigil_http;

/* A client on loop (borrowed, outlives the client). NULL on failure. */
struct vigil_http *vigil_http_create(struct ev_loop *loop,
                                     const char *user_agent);

/* Aborts every request without calling its callback and frees h. */
void vigil_http_destroy(struct vigil_http *h);

/*
 * Starts POSTing req; done(ctx, response) is called once when it ends
 * (answered, failed or timed out). Returns 0, or -1 when the request
 * could not be started (done is not called then).
 */
int vigil_http_post(struct vigil_http *h, const struct vigil_http_request *req,
                    vigil_http_done_fn done, void *ctx);

/* Requests under way. */
size_t vigil_http_in_flight(const struct vigil_http *h);

#endif
