#include "replay_io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefilter.h"

int vigil_line_reader_init(struct vigil_line_reader *lr, int fd)
{
    memset(lr, 0, sizeof(*lr));
    lr->fd = fd;
    lr->cap = VIGIL_LINE_BUFFER;
    lr->buf = malloc(lr->cap);
    return lr->buf ? 0 : -1;
}

void vigil_line_reader_fini(struct vigil_line_reader *lr)
{
    free(lr->buf);
    lr->buf = NULL;
}

static void take(struct vigil_line_reader *lr, size_t end, size_t next,
                 const char **line, size_t *len)
{
    *line = lr->buf + lr->start;
    *len = end - lr->start;
    if (*len > 0 && (*line)[*len - 1] == '\r')
        (*len)--;
    lr->start = next;
}

int vigil_line_reader_next(struct vigil_line_reader *lr, const char **line,
                           size_t *len)
{
    for (;;) {
        char *nl = lr->end > lr->start
                       ? memchr(lr->buf + lr->start, '\n', lr->end - lr->start)
                       : NULL;
        if (nl) {
            size_t at = (size_t)(nl - lr->buf);
            take(lr, at, at + 1, line, len);
            if (!lr->skipping)
                return 1;
            lr->skipping = false; /* that was the tail of a long line */
            continue;
        }
        if (lr->eof) {
            if (lr->start == lr->end || lr->skipping)
                return 0;
            take(lr, lr->end, lr->end, line, len);
            return 1;
        }
        if (lr->start > 0) {
            memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
            lr->end -= lr->start;
            lr->start = 0;
        }
        if (lr->end == lr->cap) {
            if (lr->cap < VIGIL_LINE_MAX) {
                size_t cap =
                    lr->cap * 2 < VIGIL_LINE_MAX ? lr->cap * 2 : VIGIL_LINE_MAX;
                /* cap starts at VIGIL_LINE_BUFFER (> 0) and only grows */
                // NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI)
                char *b = realloc(lr->buf, cap);
                if (!b) {
                    errno = ENOMEM;
                    return -1;
                }
                lr->buf = b;
                lr->cap = cap;
            } else {
                bool reported = lr->skipping;
                lr->skipping = true;
                lr->start = lr->end = 0;
                if (!reported)
                    return VIGIL_LINE_TOO_LONG;
            }
        }
        ssize_t n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            lr->eof = true;
        lr->end += (size_t)n;
    }
}

int vigil_out_init(struct vigil_out *o, FILE *f)
{
    memset(o, 0, sizeof(*o));
    o->f = f;
    o->cap = 64 * 1024;
    o->buf = malloc(o->cap);
    return o->buf ? 0 : -1;
}

void vigil_out_fini(struct vigil_out *o)
{
    free(o->buf);
    o->buf = NULL;
}

static void drain(struct vigil_out *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->failed = true;
    o->len = 0;
}

void vigil_out_put(struct vigil_out *o, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (o->len + n > o->cap) {
        drain(o);
        if (n > o->cap) {
            if (fwrite(p, 1, n, o->f) != n)
                o->failed = true;
            return;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

void vigil_out_printf(struct vigil_out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->failed = true;
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        vigil_out_put(o, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        o->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    vigil_out_put(o, big, (size_t)n);
    free(big);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || len > n || !vigil_utf8_valid((const char *)p, len))
        return 0;
    return len;
}

void vigil_out_json_string(struct vigil_out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    vigil_out_put(o, "\"", 1);
    size_t run = 0; /* bytes of p[i - run .. i) to copy as they are */
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (k) {
                run += k;
                i += k;
                continue;
            }
        }
        vigil_out_put(o, (const char *)p + i - run, run);
        run = 0;
        char esc[8];
        const char *e = esc;
        size_t el = 2;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            if (c >= 0x80) {
                e = "\\ufffd";
                el = 6;
            } else {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                el = 6;
            }
        }
        vigil_out_put(o, e, el);
        i++;
    }
    vigil_out_put(o, (const char *)p + n - run, run);
    vigil_out_put(o, "\"", 1);
}

int vigil_out_flush(struct vigil_out *o)
{
    drain(o);
    if (fflush(o->f) != 0)
        o->failed = true;
    return o->failed ? -1 : 0;
}
