/*
 * http_receiver: a small HTTP/1.1 server on 127.0.0.1 (a free port) for
 * the notifier tests. A thread accepts one connection at a time, reads
 * one request (headers and a Content-Length body), records it, and
 * answers from a script: by default 202 with an empty body; scripted
 * answers are used in order, one per request (status, an optional
 * Retry-After, a body, or a hang: no answer, the connection is closed
 * after hang_ms). Every answer closes the connection.
 *
 * All functions may be called from the test's thread while the receiver
 * runs; strings returned are heap copies (free them). Stop it from the
 * test's .fini (NULL is fine).
 */
#ifndef VIGIL_TEST_HTTP_RECEIVER_H
#define VIGIL_TEST_HTTP_RECEIVER_H

#include <stddef.h>

struct vigil_test_http_receiver;

/* Starts listening; NULL on error (printed). */
struct vigil_test_http_receiver *vigil_test_http_receiver_start(void);

/* Stops the thread, closes the socket, frees r. */
void vigil_test_http_receiver_stop(struct vigil_test_http_receiver *r);

/* "http://127.0.0.1:PORT", owned by r. */
const char *
vigil_test_http_receiver_url(const struct vigil_test_http_receiver *r);

/*
 * Queues the answer for the next unanswered request: status (e.g. 500),
 * retry_after_s (> 0 adds "Retry-After: N"), body (NULL: empty), or with
 * hang_ms > 0 no answer at all (the request is recorded with status 0).
 */
void vigil_test_http_receiver_script(struct vigil_test_http_receiver *r,
                                     int status, unsigned retry_after_s,
                                     const char *body, unsigned hang_ms);

/* Requests received so far. */
size_t vigil_test_http_receiver_count(struct vigil_test_http_receiver *r);

/* Request i's method + path ("POST /x"), body, or a header's value
 * (case-insensitive name); NULL when there is no such request/header. */
char *vigil_test_http_receiver_request_line(struct vigil_test_http_receiver *r,
                                            size_t i);
char *vigil_test_http_receiver_body(struct vigil_test_http_receiver *r,
                                    size_t i);
char *vigil_test_http_receiver_header(struct vigil_test_http_receiver *r,
                                      size_t i, const char *name);

/* The status request i was answered with (0: no answer), -1: none. */
int vigil_test_http_receiver_status(struct vigil_test_http_receiver *r,
                                    size_t i);

#endif
