#include "feed_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vigil_feed_buf_init(struct vigil_feed_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void vigil_feed_buf_fini(struct vigil_feed_buf *b)
{
    free(b->data);
    vigil_feed_buf_init(b);
}

static bool reserve(struct vigil_feed_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra >= (size_t)-1 / 2 - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
    return true;
}

void vigil_feed_buf_add(struct vigil_feed_buf *b, const char *s, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void vigil_feed_buf_str(struct vigil_feed_buf *b, const char *s)
{
    vigil_feed_buf_add(b, s, strlen(s));
}

void vigil_feed_buf_fmt(struct vigil_feed_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        vigil_feed_buf_add(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *vigil_feed_buf_take(struct vigil_feed_buf *b, size_t *len)
{
    if (b->failed || !reserve(b, 0)) {
        vigil_feed_buf_fini(b);
        return NULL;
    }
    char *p = b->data;
    if (len)
        *len = b->len;
    vigil_feed_buf_init(b);
    return p;
}
