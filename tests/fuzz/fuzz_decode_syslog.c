/*
 * libFuzzer target for the text decoders (syslog, raw, auto).
 *
 * Each input is decoded as syslog, auto and raw, with a fallback time
 * picked by the input's length among edge values (year boundaries, far
 * past and future), and the contract is checked: text lines always decode
 * unless they are not UTF-8; `message` is the whole line without its line
 * ending; header fields are valid UTF-8 views into the line (or into the
 * event's scratch for unescaped structured data); the syslog and auto
 * formats agree on lines that are not JSON. A violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static const int64_t fallbacks[] = {
    INT64_C(1717243200000), /* 2024-06-01T12:00:00Z */
    INT64_C(1735689590000), /* 2024-12-31T23:59:50Z */
    INT64_C(1709164800000), /* 2024-02-29T00:00:00Z */
    INT64_C(1740787200000), /* 2025-03-01T00:00:00Z */
    0,
    -1,
    INT64_MIN,
    INT64_MAX,
    INT64_C(253402300799999), /* 9999-12-31T23:59:59.999Z */
};

/* An independent UTF-8 check (Unicode table 3-7), as the oracle. */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned min;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static size_t line_length(const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    return n;
}

static bool is_note(const char *reason)
{
    return !reason || strcmp(reason, "unparsable time field") == 0 ||
           strcmp(reason, "no syslog header") == 0;
}

/* Checks one text decode; returns the number of fields. */
static size_t check_text(struct vigil_event *ev, int rc, const char *reason,
                         const char *p, size_t n, int64_t fallback, bool syslog)
{
    size_t line = line_length(p, n);
    bool valid = utf8_valid((const unsigned char *)p, line);
    if (!valid) {
        CHECK(rc == -1 && strcmp(reason, "not UTF-8") == 0);
        CHECK(ev->n_fields == 0 && ev->time_ms == fallback);
        return 0;
    }
    if (rc != 0) {
        /* Only structured data can hold enough parameters. */
        CHECK(syslog && strcmp(reason, "too many fields") == 0);
        CHECK(ev->n_fields == 0);
        return 0;
    }
    CHECK(is_note(reason));
    CHECK(ev->n_fields >= 1);
    const struct vigil_field *m =
        vigil_event_find(ev, (struct vigil_sv){"message", 7});
    CHECK(m && m->kind == VIGIL_FIELD_STRING && !m->escaped);
    CHECK(m->value.len == line && (line == 0 || m->value.ptr == p));
    if (!syslog) {
        CHECK(ev->n_fields == 1 && ev->time_ms == fallback && !reason);
        return 1;
    }
    for (size_t i = 0; i < ev->n_fields; i++) {
        const struct vigil_field *f = &ev->fields[i];
        struct vigil_sv v;
        CHECK(!f->escaped);
        CHECK(f->kind == VIGIL_FIELD_STRING || f->kind == VIGIL_FIELD_NUMBER);
        CHECK(vigil_event_value(ev, f, &v) == 0);
        CHECK(utf8_valid((const unsigned char *)v.ptr, v.len));
        CHECK(utf8_valid((const unsigned char *)f->name.ptr, f->name.len));
        CHECK(f->name.len > 0);
    }
    if (ev->n_fields == 1)
        CHECK(ev->time_ms == fallback);
    return ev->n_fields;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    int64_t fallback =
        fallbacks[size % (sizeof(fallbacks) / sizeof(*fallbacks))];
    struct vigil_event ev;
    vigil_event_init(&ev);

    struct vigil_decode_options opts = {VIGIL_FORMAT_SYSLOG, "@timestamp", 0};
    struct vigil_decoder *sys = vigil_decoder_create(&opts);
    opts.format = VIGIL_FORMAT_AUTO;
    struct vigil_decoder *aut = vigil_decoder_create(&opts);
    opts.format = VIGIL_FORMAT_RAW;
    struct vigil_decoder *raw = vigil_decoder_create(&opts);
    CHECK(sys && aut && raw);

    const char *reason;
    int rc = vigil_decode(sys, p, size, fallback, &ev, &reason);
    size_t n_sys = check_text(&ev, rc, reason, p, size, fallback, true);
    int64_t t_sys = ev.time_ms;
    int rc_sys = rc;

    rc = vigil_decode(raw, p, size, fallback, &ev, &reason);
    check_text(&ev, rc, reason, p, size, fallback, false);

    /* auto: JSON after blanks and '{', else exactly what syslog gives. */
    size_t i = 0;
    while (i < size &&
           (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    rc = vigil_decode(aut, p, size, fallback, &ev, &reason);
    if (i < size && p[i] == '{') {
        CHECK(rc == 0 || (reason && ev.n_fields == 0));
    } else {
        CHECK(rc == rc_sys && ev.n_fields == n_sys && ev.time_ms == t_sys);
        CHECK(!reason || strcmp(reason, "no syslog header") != 0);
    }

    vigil_decoder_destroy(raw);
    vigil_decoder_destroy(aut);
    vigil_decoder_destroy(sys);
    vigil_event_fini(&ev);
    return 0;
}
