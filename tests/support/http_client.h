/*
 * http_client: libcurl helpers for tests of the HTTP feed: one blocking
 * request with its status, headers and body; an SSE client driven
 * through curl's multi interface, so that a test can keep a stream open
 * while it publishes on the same thread; and a minimal WebSocket client
 * (RFC 6455, text frames, ws:// on loopback) to drive a browser over the
 * Chrome DevTools protocol.
 */
#ifndef VIGIL_TEST_HTTP_CLIENT_H
#define VIGIL_TEST_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct vigil_test_http {
    long status; /* 0 when the request failed */
    char *body;  /* NUL-terminated; owned */
    size_t len;
    char *headers; /* every response header line; owned */
};

/*
 * Sends method to url with headers (NULL-terminated "Name: value" list,
 * may be NULL) and body (NULL: none), waits up to 10 s. Returns 0 (also
 * for 4xx/5xx: see out->status) or -1 when no response arrived. Free with
 * vigil_test_http_free().
 */
int vigil_test_http_request(const char *method, const char *url,
                            const char *const *headers, const char *body,
                            struct vigil_test_http *out);

void vigil_test_http_free(struct vigil_test_http *r);

/* The value of response header name (case-insensitive) copied into buf,
 * or NULL when absent. */
const char *vigil_test_http_header(const struct vigil_test_http *r,
                                   const char *name, char *buf, size_t n);

struct vigil_test_sse;

/* Opens a GET stream (nothing is read until _wait). NULL on error. */
struct vigil_test_sse *vigil_test_sse_open(const char *url,
                                           const char *const *headers);

/*
 * Runs the transfer until the text received since the last _consume
 * contains needle, for at most timeout_ms. Returns whether it does.
 */
bool vigil_test_sse_wait(struct vigil_test_sse *s, const char *needle,
                         int timeout_ms);

/* The text received so far (since the last _consume). */
const char *vigil_test_sse_text(const struct vigil_test_sse *s);

/* Forgets the text received so far. */
void vigil_test_sse_consume(struct vigil_test_sse *s);

/* The response status (0 before the headers arrived). */
long vigil_test_sse_status(const struct vigil_test_sse *s);

/* Whether the server ended the stream. */
bool vigil_test_sse_ended(const struct vigil_test_sse *s);

/* Aborts the transfer and frees s; NULL is fine. */
void vigil_test_sse_close(struct vigil_test_sse *s);

struct vigil_test_ws;

/* Connects to ws://HOST:PORT/PATH and completes the opening handshake.
 * NULL (printed) on error. */
struct vigil_test_ws *vigil_test_ws_connect(const char *url);

/* Sends text[0..len) as one masked text frame. 0 or -1. */
int vigil_test_ws_send(struct vigil_test_ws *w, const char *text, size_t len);

/* Receives the next whole text message (continuations joined; control
 * frames skipped) within timeout_ms. Returns a heap NUL-terminated
 * string (free()) or NULL on timeout, close or error. */
char *vigil_test_ws_recv(struct vigil_test_ws *w, int timeout_ms);

/* Closes the connection and frees w; NULL is fine. */
void vigil_test_ws_close(struct vigil_test_ws *w);

#endif
