/*
 * feed_buf: a growable byte buffer for the HTTP feed's response bodies
 * (metrics text, SSE frames). Once an allocation fails the buffer is
 * marked failed and every later append is a no-op, so a caller checks
 * once at the end. Belongs to one thread.
 */
#ifndef VIGIL_FEED_BUF_H
#define VIGIL_FEED_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct vigil_feed_buf {
    char *data; /* NUL-terminated when len > 0; owned */
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed: the contents are incomplete */
};

/* An empty buffer (no allocation yet). */
void vigil_feed_buf_init(struct vigil_feed_buf *b);

/* Frees the contents; the buffer is empty again. */
void vigil_feed_buf_fini(struct vigil_feed_buf *b);

/* Appends s[0..len). */
void vigil_feed_buf_add(struct vigil_feed_buf *b, const char *s, size_t len);

/* Appends a NUL-terminated string. */
void vigil_feed_buf_str(struct vigil_feed_buf *b, const char *s);

/* Appends printf-style text. */
void vigil_feed_buf_fmt(struct vigil_feed_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands the contents over (free() them) and empties the buffer; NULL when
 * an allocation failed (the contents are then freed). *len gets the
 * length when len is not NULL. */
char *vigil_feed_buf_take(struct vigil_feed_buf *b, size_t *len);

#endif
