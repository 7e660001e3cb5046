/*
 * decode: JSON (jsmn), syslog and raw lines into struct vigil_event.
 *
 * JSON costs one pass over the payload for UTF-8 (and backslashes and
 * brackets), jsmn's pass, and a walk over the tokens. jsmn only tokenizes,
 * and leniently (it accepts `{"a" 1,,}`), so the walk checks the grammar
 * itself: the tokens tile the payload in document order, and every gap
 * between two tokens must be whitespace around exactly the separator the
 * grammar expects there; primitives are checked against the number and
 * literal grammar. Nothing is allocated per event once the token buffer
 * and the event's fields and scratch have grown to the traffic.
 *
 * Text lines are scanned once for UTF-8; the syslog header is parsed in
 * place, its fields are views into the line.
 */
#include "decode.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define JSMN_STATIC
#define JSMN_PARENT_LINKS /* O(1) ',' and O(depth) '}' instead of O(n) */
#include <jsmn.h>

#define TOKENS_INITIAL 128

/*
 * Above this many '{' and '[' bytes a JSON payload's depth is checked
 * before jsmn sees it (json_too_deep). Below, jsmn's work is at most
 * about this number squared: harmless.
 */
#define DEPTH_PRECHECK_OPENS 64

struct vigil_decoder {
    enum vigil_event_format format;
    struct vigil_sv time_field; /* len 0: none */
    size_t max_bytes;
    vigil_decode_fn custom;
    void *custom_ctx;
    jsmntok_t *toks; /* owned, grows up to VIGIL_DECODE_MAX_TOKENS */
    unsigned cap_toks;
};

static const char R_TOO_LARGE[] = "message too large";
static const char R_INVALID[] = "invalid JSON";
static const char R_TRUNCATED[] = "truncated JSON";
static const char R_NOT_OBJECT[] = "not a JSON object";
static const char R_TRAILING[] = "trailing data after JSON";
static const char R_UTF8[] = "not UTF-8";
static const char R_DEEP[] = "too deeply nested";
static const char R_FIELDS[] = "too many fields";
static const char R_NOMEM[] = "out of memory";
static const char N_TIME[] = "unparsable time field";
static const char N_NO_HEADER[] = "no syslog header";

int vigil_event_format_parse(const char *s, enum vigil_event_format *out)
{
    static const struct {
        const char *name;
        enum vigil_event_format format;
    } names[] = {
        {"auto", VIGIL_FORMAT_AUTO},
        {"json", VIGIL_FORMAT_JSON},
        {"syslog", VIGIL_FORMAT_SYSLOG},
        {"raw", VIGIL_FORMAT_RAW},
    };
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].format;
            return 0;
        }
    }
    return -1;
}

struct vigil_decoder *
vigil_decoder_create(const struct vigil_decode_options *opts)
{
    struct vigil_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->toks = malloc(TOKENS_INITIAL * sizeof(*d->toks));
    if (!d->toks)
        goto err_free_decoder;
    d->cap_toks = TOKENS_INITIAL;
    d->format = opts->format;
    d->max_bytes = opts->max_bytes;
    if (opts->time_field && opts->time_field[0])
        d->time_field =
            (struct vigil_sv){opts->time_field, strlen(opts->time_field)};
    return d;

err_free_decoder:
    free(d);
    return NULL;
}

void vigil_decoder_destroy(struct vigil_decoder *d)
{
    if (!d)
        return;
    free(d->toks);
    free(d);
}

void vigil_decoder_set_custom(struct vigil_decoder *d, vigil_decode_fn fn,
                              void *ctx)
{
    d->custom = fn;
    d->custom_ctx = ctx;
}

/* ---- time ---------------------------------------------------------- */

#define MS_PER_DAY INT64_C(86400000)

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date, by counting in
 * 400-year eras of 146097 days, with years starting on March 1 so that
 * the leap day falls at the end of a year.
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2)
        y--;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;              /* [0, 399] */
    int64_t mp = m > 2 ? m - 3 : m + 9;       /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The calendar year that epoch-ms t falls in (UTC). */
static int64_t year_of(int64_t t)
{
    int64_t days = floor_div(t, MS_PER_DAY);
    int64_t y = 1970 + floor_div(days, 366);
    while (days_from_civil(y, 1, 1) > days)
        y--;
    while (days_from_civil(y + 1, 1, 1) <= days)
        y++;
    return y;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* n digits at s as a number; -1 when any is not a digit. */
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Milliseconds of a fraction's digits (truncated); its length in *n. */
static int fraction_ms(const char *s, size_t len, size_t *n)
{
    int ms = 0;
    size_t i = 0;
    while (i < len && is_digit(s[i])) {
        if (i < 3)
            ms = ms * 10 + (s[i] - '0');
        i++;
    }
    for (size_t k = i; k < 3; k++)
        ms *= 10;
    *n = i;
    return ms;
}

struct civil {
    int64_t year;
    int month, day, hour, min, sec, ms;
};

static int civil_to_ms(const struct civil *c, int64_t *out)
{
    if (c->month < 1 || c->month > 12 || c->day < 1 ||
        c->day > days_in_month(c->year, c->month) || c->hour > 23 ||
        c->min > 59 || c->sec > 60)
        return -1;
    int64_t s = days_from_civil(c->year, c->month, c->day) * 86400 +
                c->hour * 3600 + c->min * 60 + c->sec;
    *out = s * 1000 + c->ms;
    return 0;
}

static int parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    struct civil c = {0};
    if (len < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    int y = digits(s, 4);
    c.month = digits(s + 5, 2);
    c.day = digits(s + 8, 2);
    c.hour = digits(s + 11, 2);
    c.min = digits(s + 14, 2);
    c.sec = digits(s + 17, 2);
    if (y < 0 || c.month < 0 || c.day < 0 || c.hour < 0 || c.min < 0 ||
        c.sec < 0)
        return -1;
    c.year = y;
    size_t i = 19;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        size_t n;
        c.ms = fraction_ms(s + i + 1, len - i - 1, &n);
        if (n == 0)
            return -1;
        i += 1 + n;
    }
    int offset_min = 0;
    if (i < len) {
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            int sign = s[i] == '-' ? -1 : 1;
            int oh, om;
            if (len - i == 6 && s[i + 3] == ':') {
                oh = digits(s + i + 1, 2);
                om = digits(s + i + 4, 2);
            } else if (len - i == 5) {
                oh = digits(s + i + 1, 2);
                om = digits(s + i + 3, 2);
            } else {
                return -1;
            }
            if (oh < 0 || om < 0 || oh > 23 || om > 59)
                return -1;
            offset_min = sign * (oh * 60 + om);
            i = len;
        } else {
            return -1;
        }
    }
    if (i != len || civil_to_ms(&c, ms) < 0)
        return -1;
    *ms -= (int64_t)offset_min * 60000;
    return 0;
}

static int parse_epoch(const char *s, size_t len, int64_t *ms)
{
    int64_t v = 0;
    size_t i = 0;
    while (i < len && is_digit(s[i])) {
        if (i == 18)
            return -1;
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (i == 0)
        return -1;
    int frac = 0;
    if (i < len) {
        size_t n;
        if (s[i] != '.')
            return -1;
        frac = fraction_ms(s + i + 1, len - i - 1, &n);
        if (n == 0 || i + 1 + n != len)
            return -1;
    }
    /* Below 1e11 it is seconds (until year 5138), else milliseconds. */
    *ms = v < INT64_C(100000000000) ? v * 1000 + frac : v;
    return 0;
}

int vigil_parse_time(const char *s, size_t len, int64_t *ms)
{
    if (len >= 5 && s[4] == '-')
        return parse_rfc3339(s, len, ms);
    return parse_epoch(s, len, ms);
}

/* ---- UTF-8 --------------------------------------------------------- */

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* The high bit of each byte of w that is zero, exactly. */
static uint64_t zero_bytes(uint64_t w)
{
    uint64_t low7 = ~HIGHS;
    return ~(((w & low7) + low7) | w | low7);
}

/* The number of bytes of w whose high bit is set (no popcount insn). */
static size_t high_count(uint64_t w)
{
    return (size_t)((((w >> 7) & ONES) * ONES) >> 56);
}

/*
 * Whether s[0..n) is UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF); *backslash tells whether it holds a '\\'; with opens, it
 * also counts the bytes '{' and '[' (in strings too). ASCII runs are
 * checked sixteen bytes at a time with SSE2 (eight without).
 */
static bool utf8_scan(const char *s, size_t n, bool *backslash, size_t *opens)
{
    const unsigned char *p = (const unsigned char *)s;
    bool bs = false;
    size_t i = 0, open = 0;
#ifdef __SSE2__
    const __m128i v_bs = _mm_set1_epi8('\\');
    const __m128i v_open = _mm_set1_epi8('{');
    const __m128i v_bit5 = _mm_set1_epi8(0x20);
    __m128i any_bs = _mm_setzero_si128();
    __m128i counts = _mm_setzero_si128(); /* per byte lane, < 255 */
    __m128i sums = _mm_setzero_si128();   /* two 64-bit lanes */
    unsigned rounds = 0;
#endif
    while (i < n) {
#ifdef __SSE2__
        if (n - i >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            if (_mm_movemask_epi8(v) == 0) {
                any_bs = _mm_or_si128(any_bs, _mm_cmpeq_epi8(v, v_bs));
                if (opens) {
                    /* '[' is 0x5B, '{' 0x7B: both are 0x7B with bit 5 set. */
                    __m128i o = _mm_cmpeq_epi8(_mm_or_si128(v, v_bit5), v_open);
                    counts = _mm_sub_epi8(counts, o);
                    if (++rounds == 255) {
                        sums = _mm_add_epi64(
                            sums, _mm_sad_epu8(counts, _mm_setzero_si128()));
                        counts = _mm_setzero_si128();
                        rounds = 0;
                    }
                }
                i += 16;
                continue;
            }
        }
        /*
         * Fewer than 16 bytes left after at least 16: the last 16 bytes,
         * of which the first were checked already (i is at a character
         * boundary). Only their tail lanes count.
         */
        if (n - i < 16 && n >= 16) {
            unsigned tail = 0xFFFFu & ~(0xFFFFu >> (n - i));
            __m128i v =
                _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
            if ((_mm_movemask_epi8(v) & (int)tail) == 0) {
                if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, v_bs)) & (int)tail)
                    bs = true;
                if (opens) {
                    unsigned o = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
                                     _mm_or_si128(v, v_bit5), v_open)) &
                                 tail;
                    for (; o; o &= o - 1)
                        open++;
                }
                break; /* all n bytes are checked */
            }
        }
#endif
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((w & HIGHS) == 0) {
                if (zero_bytes(w ^ (ONES * '\\')))
                    bs = true;
                /* '[' is 0x5B, '{' 0x7B: both are 0x7B with bit 5 set. */
                if (opens)
                    open += high_count(
                        zero_bytes((w | (ONES * 0x20)) ^ (ONES * '{')));
                i += 8;
                continue;
            }
        }
        unsigned c = p[i];
        if (c < 0x80) {
            if (c == '\\')
                bs = true;
            else if (c == '{' || c == '[')
                open++;
            i++;
            continue;
        }
        size_t need;
        unsigned min2 = 0x80, max2 = 0xBF; /* bounds of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                min2 = 0xA0;
            else if (c == 0xED)
                max2 = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                min2 = 0x90;
            else if (c == 0xF4)
                max2 = 0x8F;
        } else {
            return false;
        }
        if (n - i - 1 < need || p[i + 1] < min2 || p[i + 1] > max2)
            return false;
        for (size_t k = 2; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        }
        i += need + 1;
    }
#ifdef __SSE2__
    if (_mm_movemask_epi8(any_bs))
        bs = true;
    if (opens) {
        uint64_t lanes[2];
        sums = _mm_add_epi64(sums, _mm_sad_epu8(counts, _mm_setzero_si128()));
        _mm_storeu_si128((__m128i *)(void *)lanes, sums);
        open += (size_t)(lanes[0] + lanes[1]);
    }
#endif
    *backslash = bs;
    if (opens)
        *opens = open;
    return true;
}

/*
 * Whether the JSON text nests deeper than VIGIL_EVENT_MAX_DEPTH, by a
 * byte scan that skips strings. jsmn closes a bracket by walking up from
 * the last token, so hostile nesting costs it depth squared: a payload
 * with many brackets is checked here first.
 */
static bool json_too_deep(const char *s, size_t n)
{
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '"':
            for (i++; i < n && s[i] != '"'; i++) {
                if (s[i] == '\\')
                    i++;
            }
            break;
        case '{':
        case '[':
            if (++depth > VIGIL_EVENT_MAX_DEPTH)
                return true;
            break;
        case '}':
        case ']':
            depth--;
            break;
        default:
            break;
        }
    }
    return false;
}

/* ---- JSON ---------------------------------------------------------- */

struct json_walk {
    struct vigil_event *ev;
    const char *js;
    bool any_backslash; /* anywhere in js */
    const jsmntok_t *t;
    int n; /* tokens */
    const char *reason;
};

static int walk_fail(struct json_walk *w, const char *reason)
{
    w->reason = reason;
    return -1;
}

static bool is_json_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool gap_blanks(const char *js, int from, int to, char sep)
{
    if (from > to)
        return false;
    while (from < to && is_json_ws(js[from]))
        from++;
    if (sep) {
        if (from == to || js[from] != sep)
            return false;
        from++;
        while (from < to && is_json_ws(js[from]))
            from++;
    }
    return from == to;
}

/* Whether a string token holds an escape. */
static inline bool escaped(const struct json_walk *w, const jsmntok_t *t)
{
    return w->any_backslash &&
           memchr(w->js + t->start, '\\', (size_t)(t->end - t->start));
}

/* js[from..to) is blanks around exactly one sep (none when sep is 0). */
static inline bool gap_ok(const char *js, int from, int to, char sep)
{
    /* Compact JSON first: nothing, or just the separator. */
    if (to - from == (sep != 0))
        return !sep || js[from] == sep;
    return gap_blanks(js, from, to, sep);
}

/* Where a token's text starts and ends, quotes included. */
static int raw_start(const jsmntok_t *t)
{
    return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static int raw_end(const jsmntok_t *t)
{
    return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

/* An RFC 8259 number, or -1. */
static int number_ok(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == '-')
        i++;
    if (i < n && p[i] == '0') {
        i++;
    } else if (i < n && p[i] >= '1' && p[i] <= '9') {
        while (i < n && is_digit(p[i]))
            i++;
    } else {
        return -1;
    }
    if (i < n && p[i] == '.') {
        size_t start = ++i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == start)
            return -1;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t start = i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == start)
            return -1;
    }
    return i == n ? 0 : -1;
}

/* The kind of a primitive token's text, or -1 when it is not JSON. */
static int primitive_kind(const char *p, size_t n)
{
    switch (p[0]) {
    case 't':
        return n == 4 && memcmp(p, "true", 4) == 0 ? VIGIL_FIELD_BOOL : -1;
    case 'f':
        return n == 5 && memcmp(p, "false", 5) == 0 ? VIGIL_FIELD_BOOL : -1;
    case 'n':
        return n == 4 && memcmp(p, "null", 4) == 0 ? VIGIL_FIELD_NULL : -1;
    default:
        return number_ok(p, n) == 0 ? VIGIL_FIELD_NUMBER : -1;
    }
}

static inline int walk_add(struct json_walk *w, struct vigil_sv name, int start,
                           int end, enum vigil_field_kind kind, bool escaped)
{
    if (w->ev->n_fields >= VIGIL_EVENT_MAX_FIELDS)
        return walk_fail(w, R_FIELDS);
    struct vigil_sv v = {w->js + start, (size_t)(end - start)};
    if (vigil_event_add(w->ev, name, v, kind, escaped) < 0)
        return walk_fail(w, R_NOMEM);
    return 0;
}

/* The dotted name of key (a string token) under prefix (NULL: top). */
static int walk_name(struct json_walk *w, const struct vigil_sv *prefix,
                     const jsmntok_t *key, bool escaped, struct vigil_sv *out)
{
    struct vigil_sv k = {w->js + key->start, (size_t)(key->end - key->start)};
    if (escaped) {
        struct vigil_field tmp = {.value = k, .escaped = true};
        if (vigil_event_value(w->ev, &tmp, &k) < 0)
            return walk_fail(w, R_INVALID);
    }
    if (!prefix) {
        *out = k;
        return 0;
    }
    size_t len = prefix->len + 1 + k.len;
    char *s = vigil_event_scratch(w->ev, NULL, len);
    if (!s)
        return walk_fail(w, R_NOMEM);
    memcpy(s, prefix->ptr, prefix->len);
    s[prefix->len] = '.';
    if (k.len)
        memcpy(s + prefix->len + 1, k.ptr, k.len);
    *out = (struct vigil_sv){s, len};
    return 0;
}

static int walk_value(struct json_walk *w, int *i, int depth,
                      const struct vigil_sv *name);

/* A string or primitive at token *i, as for walk_value. */
static inline int walk_leaf(struct json_walk *w, int *i,
                            const struct vigil_sv *name)
{
    const jsmntok_t *t = &w->t[*i];
    int kind = VIGIL_FIELD_STRING;
    bool esc = false;
    if (t->size != 0 || t->end < t->start)
        return walk_fail(w, R_INVALID);
    if (t->type == JSMN_STRING) {
        esc = escaped(w, t);
    } else {
        kind = primitive_kind(w->js + t->start, (size_t)(t->end - t->start));
        if (kind < 0)
            return walk_fail(w, R_INVALID);
    }
    if (name && walk_add(w, *name, t->start, t->end,
                         (enum vigil_field_kind)kind, esc) < 0)
        return -1;
    (*i)++;
    return 0;
}

/*
 * The object at token *i, at nesting depth `depth` (the top level is 1).
 * With emit, its members become fields named under prefix (NULL: the top
 * level); without, they are only checked. Leaves *i past the object.
 */
static int walk_object(struct json_walk *w, int *i, int depth,
                       const struct vigil_sv *prefix, bool emit)
{
    if (depth > VIGIL_EVENT_MAX_DEPTH)
        return walk_fail(w, R_DEEP);
    const jsmntok_t *obj = &w->t[*i];
    int pos = obj->start + 1;
    (*i)++;
    for (int k = 0; k < obj->size; k++) {
        if (*i + 1 >= w->n)
            return walk_fail(w, R_INVALID);
        const jsmntok_t *key = &w->t[*i];
        const jsmntok_t *val = &w->t[*i + 1];
        if (key->type != JSMN_STRING || key->size != 1 ||
            !gap_ok(w->js, pos, key->start - 1, k ? ',' : 0) ||
            !gap_ok(w->js, key->end + 1, raw_start(val), ':'))
            return walk_fail(w, R_INVALID);
        struct vigil_sv name;
        if (emit && walk_name(w, prefix, key, escaped(w, key), &name) < 0)
            return -1;
        (*i)++;
        int rc = val->type == JSMN_STRING || val->type == JSMN_PRIMITIVE
                     ? walk_leaf(w, i, emit ? &name : NULL)
                     : walk_value(w, i, depth, emit ? &name : NULL);
        if (rc < 0)
            return -1;
        pos = raw_end(val);
    }
    if (!gap_ok(w->js, pos, obj->end - 1, 0))
        return walk_fail(w, R_INVALID);
    return 0;
}

/* The array at token *i: checked, never flattened. */
static int walk_array(struct json_walk *w, int *i, int depth)
{
    if (depth > VIGIL_EVENT_MAX_DEPTH)
        return walk_fail(w, R_DEEP);
    const jsmntok_t *arr = &w->t[*i];
    int pos = arr->start + 1;
    (*i)++;
    for (int k = 0; k < arr->size; k++) {
        if (*i >= w->n)
            return walk_fail(w, R_INVALID);
        const jsmntok_t *el = &w->t[*i];
        if (!gap_ok(w->js, pos, raw_start(el), k ? ',' : 0))
            return walk_fail(w, R_INVALID);
        if (walk_value(w, i, depth, NULL) < 0)
            return -1;
        pos = raw_end(el);
    }
    if (!gap_ok(w->js, pos, arr->end - 1, 0))
        return walk_fail(w, R_INVALID);
    return 0;
}

/*
 * The value at token *i inside a container at `depth`; a field named
 * *name unless name is NULL (inside arrays).
 */
static int walk_value(struct json_walk *w, int *i, int depth,
                      const struct vigil_sv *name)
{
    const jsmntok_t *t = &w->t[*i];
    if (t->end < t->start)
        return walk_fail(w, R_INVALID);
    switch (t->type) {
    case JSMN_OBJECT:
        if (name &&
            walk_add(w, *name, t->start, t->end, VIGIL_FIELD_OBJECT, false) < 0)
            return -1;
        return walk_object(w, i, depth + 1, name, name != NULL);
    case JSMN_ARRAY:
        if (name &&
            walk_add(w, *name, t->start, t->end, VIGIL_FIELD_ARRAY, false) < 0)
            return -1;
        return walk_array(w, i, depth + 1);
    case JSMN_STRING:
    case JSMN_PRIMITIVE:
        return walk_leaf(w, i, name);
    default:
        return walk_fail(w, R_INVALID);
    }
}

/* Tokenizes data into d->toks, growing it up to the bound; count or -1. */
static int json_tokenize(struct vigil_decoder *d, const char *data, size_t len,
                         const char **reason)
{
    jsmn_parser p;
    jsmn_init(&p);
    for (;;) {
        int r = jsmn_parse(&p, data, len, d->toks, d->cap_toks);
        if (r >= 0)
            return (int)p.toknext;
        if (r == JSMN_ERROR_PART) {
            *reason = R_TRUNCATED;
            return -1;
        }
        if (r != JSMN_ERROR_NOMEM) {
            *reason = R_INVALID;
            return -1;
        }
        if (d->cap_toks >= VIGIL_DECODE_MAX_TOKENS) {
            *reason = R_FIELDS;
            return -1;
        }
        /* jsmn resumes where it ran out of tokens. */
        unsigned cap = d->cap_toks * 2;
        if (cap > VIGIL_DECODE_MAX_TOKENS)
            cap = VIGIL_DECODE_MAX_TOKENS;
        jsmntok_t *t = realloc(d->toks, cap * sizeof(*t));
        if (!t) {
            *reason = R_NOMEM;
            return -1;
        }
        d->toks = t;
        d->cap_toks = cap;
    }
}

static int decode_json(struct vigil_decoder *d, const char *data, size_t len,
                       struct vigil_event *ev, const char **reason)
{
    /* jsmn keeps offsets in int. */
    if (len > INT_MAX) {
        *reason = R_TOO_LARGE;
        return -1;
    }
    /*
     * One pass over the whole payload: string tokens start and end at
     * ASCII quotes, so they are UTF-8 when the payload is, and need no
     * search for escapes when the payload has no backslash.
     */
    bool any_backslash;
    size_t opens;
    if (!utf8_scan(data, len, &any_backslash, &opens)) {
        *reason = R_UTF8;
        return -1;
    }
    if (opens > DEPTH_PRECHECK_OPENS && json_too_deep(data, len)) {
        *reason = R_DEEP;
        return -1;
    }
    int n = json_tokenize(d, data, len, reason);
    if (n < 0)
        return -1;
    if (n == 0) {
        *reason = R_INVALID;
        return -1;
    }
    const jsmntok_t *top = &d->toks[0];
    if (top->type != JSMN_OBJECT) {
        *reason = R_NOT_OBJECT;
        return -1;
    }
    if (!gap_ok(data, 0, top->start, 0)) {
        *reason = R_INVALID;
        return -1;
    }
    struct json_walk w = {ev, data, any_backslash, d->toks, n, NULL};
    int i = 0;
    if (walk_object(&w, &i, 1, NULL, true) < 0) {
        *reason = w.reason;
        return -1;
    }
    /* jsmn stops at a NUL byte: check the tail byte by byte. */
    if (i != n || !gap_ok(data, top->end, (int)len, 0)) {
        *reason = R_TRAILING;
        return -1;
    }
    return 0;
}

/* Sets ev->time_ms from field f; a note when f is present but unusable. */
static void json_time(struct vigil_event *ev, const struct vigil_field *f,
                      const char **reason)
{
    struct vigil_sv v;
    int64_t ms;
    if (f->kind == VIGIL_FIELD_NULL)
        return;
    if ((f->kind == VIGIL_FIELD_STRING || f->kind == VIGIL_FIELD_NUMBER) &&
        vigil_event_value(ev, f, &v) == 0 &&
        vigil_parse_time(v.ptr, v.len, &ms) == 0) {
        ev->time_ms = ms;
        return;
    }
    *reason = N_TIME;
}

/* ---- syslog -------------------------------------------------------- */

/* Static text of small numbers, so PRI parts need no scratch. */
static const char small_numbers[24][3] = {
    "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",  "10", "11",
    "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23"};

static struct vigil_sv small_number(int v)
{
    return (struct vigil_sv){small_numbers[v], v < 10 ? 1u : 2u};
}

struct text {
    struct vigil_event *ev;
    const char *p; /* the line */
    size_t n;      /* its length */
    size_t i;      /* cursor */
    int64_t fallback;
    const char *note;
};

static int text_add(struct text *x, struct vigil_sv name, struct vigil_sv v,
                    enum vigil_field_kind kind)
{
    if (x->ev->n_fields >= VIGIL_EVENT_MAX_FIELDS ||
        vigil_event_add(x->ev, name, v, kind, false) < 0)
        return -1;
    return 0;
}

static struct vigil_sv text_sv(const struct text *x, size_t from, size_t to)
{
    return (struct vigil_sv){x->p + from, to - from};
}

/* The index of the next ' ' from x->i, or x->n. */
static size_t token_end(const struct text *x)
{
    const char *sp = memchr(x->p + x->i, ' ', x->n - x->i);
    return sp ? (size_t)(sp - x->p) : x->n;
}

/* "<PRI>" at the cursor: 0..191, no leading zeros. -1 when absent. */
static int parse_pri(struct text *x)
{
    if (x->i >= x->n || x->p[x->i] != '<')
        return -1;
    size_t j = x->i + 1;
    int v = 0;
    size_t start = j;
    while (j < x->n && is_digit(x->p[j]) && j - start < 3)
        v = v * 10 + (x->p[j++] - '0');
    if (j == start || j >= x->n || x->p[j] != '>' || v > 191 ||
        (x->p[start] == '0' && j - start > 1))
        return -1;
    x->i = j + 1;
    return v;
}

static bool all_digits(struct vigil_sv v)
{
    if (v.len == 0)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit(v.ptr[i]))
            return false;
    }
    return true;
}

static int add_pid(struct text *x, struct vigil_sv pid)
{
    return text_add(x, VIGIL_SV("process.pid"), pid,
                    all_digits(pid) ? VIGIL_FIELD_NUMBER : VIGIL_FIELD_STRING);
}

/*
 * Splits a 3164 tag token "name[pid]:", "name[pid]" or "name:" into its
 * parts (pid empty when absent). False when the token is not a tag.
 */
static bool split_tag(struct vigil_sv tok, struct vigil_sv *name,
                      struct vigil_sv *pid)
{
    size_t n = tok.len;
    bool colon = n > 0 && tok.ptr[n - 1] == ':';
    if (colon)
        n--;
    if (n == 0)
        return false;
    const char *lb = memchr(tok.ptr, '[', n);
    if (lb) {
        size_t name_len = (size_t)(lb - tok.ptr);
        if (name_len == 0 || tok.ptr[n - 1] != ']' || n - name_len < 3 ||
            memchr(lb + 1, '[', n - name_len - 2) ||
            memchr(lb + 1, ']', n - name_len - 2))
            return false;
        *name = (struct vigil_sv){tok.ptr, name_len};
        *pid = (struct vigil_sv){lb + 1, n - name_len - 2};
        return true;
    }
    if (!colon || memchr(tok.ptr, ']', n))
        return false;
    *name = (struct vigil_sv){tok.ptr, n};
    *pid = (struct vigil_sv){NULL, 0};
    return true;
}

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/*
 * "Mmm dd hh:mm:ss[.fff]" at the cursor (day space- or zero-padded, or
 * one digit). Fills c (year unset) and moves past it; -1 when absent.
 */
static int parse_bsd_time(struct text *x, struct civil *c)
{
    const char *p = x->p + x->i;
    size_t n = x->n - x->i;
    if (n < 14 || p[3] != ' ')
        return -1;
    c->month = 0;
    for (int m = 0; m < 12; m++) {
        if (memcmp(p, months[m], 3) == 0)
            c->month = m + 1;
    }
    if (!c->month)
        return -1;
    size_t i = 4;
    if (p[i] == ' ')
        i++;
    if (!is_digit(p[i]))
        return -1;
    c->day = p[i++] - '0';
    if (is_digit(p[i]))
        c->day = c->day * 10 + (p[i++] - '0');
    if (n - i < 9 || p[i] != ' ' || p[i + 3] != ':' || p[i + 6] != ':')
        return -1;
    c->hour = digits(p + i + 1, 2);
    c->min = digits(p + i + 4, 2);
    c->sec = digits(p + i + 7, 2);
    if (c->hour < 0 || c->min < 0 || c->sec < 0)
        return -1;
    i += 9;
    c->ms = 0;
    if (i < n && p[i] == '.') {
        size_t k;
        c->ms = fraction_ms(p + i + 1, n - i - 1, &k);
        if (k == 0)
            return -1;
        i += 1 + k;
    }
    if (i < n && p[i] != ' ')
        return -1;
    x->i += i;
    return 0;
}

/*
 * A 3164 time has no year: the latest of next year, this year and last
 * year (of fallback) that is at most a day ahead of fallback. Next year
 * only wins across New Year with a fast sender clock; last year when the
 * date is still to come this year, or is a Feb 29 this year lacks.
 */
static void bsd_time(struct text *x, struct civil *c)
{
    /* Years 0..9998 only: keeps the arithmetic far from overflow. */
    if (x->fallback < 0 || x->fallback >= INT64_C(253370764800000)) {
        x->note = N_TIME;
        return;
    }
    int64_t year = year_of(x->fallback);
    /* Next year's date is at most a day ahead only on its Jan 1. */
    int64_t first = c->month == 1 && c->day == 1 ? year + 1 : year;
    for (c->year = first; c->year >= year - 1; c->year--) {
        int64_t ms;
        if (civil_to_ms(c, &ms) == 0 && ms <= x->fallback + MS_PER_DAY) {
            x->ev->time_ms = ms;
            return;
        }
    }
    x->note = N_TIME;
}

static void skip_spaces(struct text *x)
{
    while (x->i < x->n && x->p[x->i] == ' ')
        x->i++;
}

/*
 * RFC 3164 after the optional PRI; -1 when there is no header. An RFC 3339
 * timestamp instead of the BSD one makes a header only after a PRI or
 * before a tag: "2024-01-02T03:04:05Z started" is an application's line.
 */
static int parse_3164(struct text *x, bool pri)
{
    size_t ts_start = x->i;
    struct civil c;
    bool iso = false;
    if (parse_bsd_time(x, &c) < 0) {
        size_t e = token_end(x);
        int64_t ms;
        if (e - x->i < 19 || x->p[x->i + 4] != '-' ||
            vigil_parse_time(x->p + x->i, e - x->i, &ms) < 0)
            return -1;
        x->ev->time_ms = ms;
        x->i = e;
        iso = true;
    } else {
        bsd_time(x, &c);
    }
    if (text_add(x, VIGIL_SV("@timestamp"), text_sv(x, ts_start, x->i),
                 VIGIL_FIELD_STRING) < 0)
        return -2;
    skip_spaces(x);
    struct vigil_sv name, pid;
    size_t e = token_end(x);
    struct vigil_sv tok = text_sv(x, x->i, e);
    bool tag = split_tag(tok, &name, &pid);
    if (!tag && tok.len) {
        if (text_add(x, VIGIL_SV("host.name"), tok, VIGIL_FIELD_STRING) < 0)
            return -2;
        x->i = e;
        skip_spaces(x);
        e = token_end(x);
        tag = split_tag(text_sv(x, x->i, e), &name, &pid);
    }
    if (!tag)
        return iso && !pri ? -1 : 0;
    if (text_add(x, VIGIL_SV("process.name"), name, VIGIL_FIELD_STRING) < 0)
        return -2;
    if (pid.len && add_pid(x, pid) < 0)
        return -2;
    return 0;
}

/* A 5424 header token: 1..max printable ASCII bytes; NULL view for "-". */
static int header_token(struct text *x, size_t max, struct vigil_sv *out)
{
    size_t e = token_end(x);
    if (e == x->i || e - x->i > max || e == x->n)
        return -1;
    for (size_t k = x->i; k < e; k++) {
        unsigned char ch = (unsigned char)x->p[k];
        if (ch < 33 || ch > 126)
            return -1;
    }
    *out = text_sv(x, x->i, e);
    if (out->len == 1 && out->ptr[0] == '-')
        *out = (struct vigil_sv){NULL, 0};
    x->i = e + 1;
    return 0;
}

/* An SD-NAME (SD-ID or PARAM-NAME) at the cursor, 1..32 bytes. */
static int sd_name(struct text *x, struct vigil_sv *out)
{
    size_t s = x->i;
    while (x->i < x->n && x->i - s <= 32) {
        unsigned char ch = (unsigned char)x->p[x->i];
        if (ch < 33 || ch > 126 || ch == '=' || ch == ']' || ch == '"')
            break;
        x->i++;
    }
    if (x->i == s || x->i - s > 32)
        return -1;
    *out = text_sv(x, s, x->i);
    return 0;
}

/* The field syslog.sd.<id>.<param> = value (unescaping \" \\ \]). */
static int sd_param(struct text *x, struct vigil_sv id, struct vigil_sv param,
                    struct vigil_sv value, bool escaped)
{
    static const char prefix[] = "syslog.sd.";
    size_t plen = sizeof(prefix) - 1;
    size_t len = plen + id.len + 1 + param.len;
    char *name = vigil_event_scratch(x->ev, NULL, len);
    if (!name)
        return -1;
    memcpy(name, prefix, plen);
    memcpy(name + plen, id.ptr, id.len);
    name[plen + id.len] = '.';
    memcpy(name + plen + id.len + 1, param.ptr, param.len);
    if (escaped) {
        char *v = vigil_event_scratch(x->ev, NULL, value.len);
        if (!v)
            return -1;
        size_t o = 0;
        for (size_t k = 0; k < value.len; k++) {
            if (value.ptr[k] == '\\' && k + 1 < value.len &&
                (value.ptr[k + 1] == '"' || value.ptr[k + 1] == '\\' ||
                 value.ptr[k + 1] == ']'))
                k++;
            v[o++] = value.ptr[k];
        }
        v[o] = '\0';
        value = (struct vigil_sv){v, o};
    }
    return text_add(x, (struct vigil_sv){name, len}, value, VIGIL_FIELD_STRING);
}

/*
 * STRUCTURED-DATA at the cursor ("-" or one or more [id param="v"...]).
 * With emit, adds its fields. -1 when malformed, -2 when out of fields.
 */
static int parse_sd(struct text *x, bool emit)
{
    size_t start = x->i;
    if (x->i < x->n && x->p[x->i] == '-') {
        x->i++;
        return 0;
    }
    if (x->i >= x->n || x->p[x->i] != '[')
        return -1;
    while (x->i < x->n && x->p[x->i] == '[') {
        struct vigil_sv id, param;
        x->i++;
        if (sd_name(x, &id) < 0)
            return -1;
        while (x->i < x->n && x->p[x->i] == ' ') {
            x->i++;
            if (sd_name(x, &param) < 0 || x->n - x->i < 2 ||
                x->p[x->i] != '=' || x->p[x->i + 1] != '"')
                return -1;
            x->i += 2;
            size_t vs = x->i;
            bool escaped = false;
            while (x->i < x->n && x->p[x->i] != '"') {
                if (x->p[x->i] == '\\' && x->i + 1 < x->n) {
                    escaped = true;
                    x->i++;
                }
                x->i++;
            }
            if (x->i >= x->n)
                return -1;
            if (emit &&
                sd_param(x, id, param, text_sv(x, vs, x->i), escaped) < 0)
                return -2;
            x->i++;
        }
        if (x->i >= x->n || x->p[x->i] != ']')
            return -1;
        x->i++;
    }
    if (emit && text_add(x, VIGIL_SV("syslog.structured_data"),
                         text_sv(x, start, x->i), VIGIL_FIELD_STRING) < 0)
        return -2;
    return 0;
}

/* RFC 5424 after "<PRI>1 "; -1 when the header is malformed. */
static int parse_5424(struct text *x)
{
    struct vigil_sv ts, host, app, procid, msgid;
    if (header_token(x, 64, &ts) < 0 || header_token(x, 255, &host) < 0 ||
        header_token(x, 48, &app) < 0 || header_token(x, 128, &procid) < 0 ||
        header_token(x, 32, &msgid) < 0)
        return -1;
    /* Check the structured data before adding any field. */
    size_t sd_at = x->i;
    if (parse_sd(x, false) < 0 || (x->i < x->n && x->p[x->i] != ' '))
        return -1;
    x->i = sd_at;
    if (ts.len) {
        int64_t ms;
        if (vigil_parse_time(ts.ptr, ts.len, &ms) == 0)
            x->ev->time_ms = ms;
        else
            x->note = N_TIME;
        if (text_add(x, VIGIL_SV("@timestamp"), ts, VIGIL_FIELD_STRING) < 0)
            return -2;
    }
    if ((host.len &&
         text_add(x, VIGIL_SV("host.name"), host, VIGIL_FIELD_STRING) < 0) ||
        (app.len &&
         text_add(x, VIGIL_SV("process.name"), app, VIGIL_FIELD_STRING) < 0) ||
        (procid.len && add_pid(x, procid) < 0) ||
        (msgid.len &&
         text_add(x, VIGIL_SV("syslog.msgid"), msgid, VIGIL_FIELD_STRING) < 0))
        return -2;
    return parse_sd(x, true) < 0 ? -2 : 0;
}

/*
 * The syslog header of the line, as fields. Returns 0, -1 when the line
 * has no syslog header (no field added, time untouched), -2 when fields
 * ran out.
 */
static int parse_syslog(struct text *x)
{
    int pri = parse_pri(x);
    int rc;
    if (pri >= 0 && x->n - x->i >= 2 && x->p[x->i] >= '1' &&
        x->p[x->i] <= '9' &&
        (x->p[x->i + 1] == ' ' ||
         (is_digit(x->p[x->i + 1]) && x->n - x->i >= 3 &&
          x->p[x->i + 2] == ' '))) {
        x->i += x->p[x->i + 1] == ' ' ? 2 : 3;
        rc = parse_5424(x);
    } else {
        rc = parse_3164(x, pri >= 0);
    }
    if (rc == -1) {
        x->ev->n_fields = 0;
        x->ev->time_ms = x->fallback;
        x->note = NULL;
        return -1;
    }
    if (rc < 0)
        return rc;
    if (pri >= 0 && (text_add(x, VIGIL_SV("syslog.facility"),
                              small_number(pri >> 3), VIGIL_FIELD_NUMBER) < 0 ||
                     text_add(x, VIGIL_SV("syslog.severity"),
                              small_number(pri & 7), VIGIL_FIELD_NUMBER) < 0))
        return -2;
    return 0;
}

static int decode_text(const char *data, size_t len, bool syslog,
                       bool strict_syslog, int64_t fallback_ms,
                       struct vigil_event *ev, const char **reason)
{
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    bool unused;
    if (!utf8_scan(data, len, &unused, NULL)) {
        *reason = R_UTF8;
        return -1;
    }
    struct text x = {ev, data, len, 0, fallback_ms, NULL};
    if (syslog) {
        int rc = parse_syslog(&x);
        if (rc == -2) {
            *reason = R_FIELDS;
            return -1;
        }
        if (rc == -1 && strict_syslog)
            x.note = N_NO_HEADER;
    }
    if (text_add(&x, VIGIL_SV("message"), (struct vigil_sv){data, len},
                 VIGIL_FIELD_STRING) < 0) {
        *reason = R_FIELDS;
        return -1;
    }
    *reason = x.note;
    return 0;
}

int vigil_decode(struct vigil_decoder *d, const char *data, size_t len,
                 int64_t fallback_ms, struct vigil_event *ev,
                 const char **reason)
{
    const char *unused;
    if (!reason)
        reason = &unused;
    *reason = NULL;
    if (!data)
        data = "";
    vigil_event_reset(ev, data, len);
    ev->time_ms = fallback_ms;
    if (d->max_bytes && len > d->max_bytes) {
        *reason = R_TOO_LARGE;
        return -1;
    }
    enum vigil_event_format format = d->format;
    if (format == VIGIL_FORMAT_AUTO) {
        size_t i = 0;
        while (i < len && is_json_ws(data[i]))
            i++;
        format =
            i < len && data[i] == '{' ? VIGIL_FORMAT_JSON : VIGIL_FORMAT_AUTO;
    }
    int rc;
    if (d->custom || format == VIGIL_FORMAT_JSON) {
        rc = d->custom ? d->custom(d->custom_ctx, data, len, ev, reason)
                       : decode_json(d, data, len, ev, reason);
        if (rc == 0 && d->time_field.len) {
            const struct vigil_field *f = vigil_event_find(ev, d->time_field);
            if (f)
                json_time(ev, f, reason);
        }
    } else {
        rc =
            decode_text(data, len, format != VIGIL_FORMAT_RAW,
                        format == VIGIL_FORMAT_SYSLOG, fallback_ms, ev, reason);
    }
    /* decode_json and decode_text refuse what is not UTF-8. */
    ev->utf8 = rc == 0;
    if (rc < 0) {
        ev->n_fields = 0;
        ev->time_ms = fallback_ms;
    }
    return rc;
}
