/*
 * series: expands the test-series notation. One term per blank-separated
 * word:
 *   term  = "_" [ "x" COUNT ]                 COUNT missing points (1 without
 * x) | NUM [ ("+" | "-") UNUM ] "x" COUNT  COUNT + 1 points, stepping | NUM one
 * point
 */
#include "series.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    const char *s;
    size_t len;
    size_t i;
    struct vigil_expr_error *err;
};

static int fail(struct cursor *c, size_t at, const char *msg)
{
    c->err->col = (int)at + 1;
    snprintf(c->err->msg, sizeof(c->err->msg), "%s", msg);
    return -1;
}

static bool at_end_of_term(const struct cursor *c)
{
    return c->i >= c->len || c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
           c->s[c->i] == '\n' || c->s[c->i] == '\r';
}

/* [sign] digits [. digits] (a sign only when signed is true). */
static int number(struct cursor *c, bool sign, double *out)
{
    size_t start = c->i;
    if (sign && c->i < c->len && (c->s[c->i] == '-' || c->s[c->i] == '+'))
        c->i++;
    size_t digits = c->i;
    while (c->i < c->len && isdigit((unsigned char)c->s[c->i]))
        c->i++;
    bool valid = c->i > digits;
    if (c->i < c->len && c->s[c->i] == '.') {
        size_t frac = ++c->i;
        while (c->i < c->len && isdigit((unsigned char)c->s[c->i]))
            c->i++;
        valid = c->i > frac;
    }
    if (!valid)
        return fail(c, start, "expected a number or '_'");
    char buf[64];
    if (c->i - start >= sizeof(buf))
        return fail(c, start, "number too long");
    memcpy(buf, c->s + start, c->i - start);
    buf[c->i - start] = '\0';
    *out = strtod(buf, NULL);
    if (!isfinite(*out))
        return fail(c, start, "number out of range");
    return 0;
}

/* "x" COUNT, the current character being the 'x'. */
static int repeat(struct cursor *c, size_t *count)
{
    size_t start = ++c->i;
    size_t n = 0;
    while (c->i < c->len && isdigit((unsigned char)c->s[c->i])) {
        n = n * 10 + (size_t)(c->s[c->i++] - '0');
        if (n > VIGIL_SERIES_MAX_POINTS)
            return fail(c, start, "repeat count too large");
    }
    if (c->i == start)
        return fail(c, start, "expected a repeat count after 'x'");
    *count = n;
    return 0;
}

static int append(struct cursor *c, struct vigil_series *s, size_t *cap,
                  size_t at, size_t n, bool has_value, double start,
                  double step)
{
    if (n > VIGIL_SERIES_MAX_POINTS - s->n)
        return fail(c, at, "series longer than 100000 points");
    if (s->n + n > *cap) {
        size_t want = *cap ? *cap : 16;
        while (want < s->n + n)
            want *= 2;
        struct vigil_series_point *v = realloc(s->v, want * sizeof(*v));
        if (!v) {
            c->err->col = 0;
            snprintf(c->err->msg, sizeof(c->err->msg), "out of memory");
            return -1;
        }
        s->v = v;
        *cap = want;
    }
    for (size_t k = 0; k < n; k++) {
        double v = has_value ? start + step * (double)k : 0;
        if (!isfinite(v))
            return fail(c, at, "number out of range");
        s->v[s->n++] = (struct vigil_series_point){has_value, v};
    }
    return 0;
}

static int term(struct cursor *c, struct vigil_series *s, size_t *cap)
{
    size_t at = c->i;
    size_t count = 0;
    if (c->s[c->i] == '_') {
        c->i++;
        if (c->i < c->len && c->s[c->i] == 'x') {
            if (repeat(c, &count) < 0)
                return -1;
        } else {
            count = 1;
        }
        if (!at_end_of_term(c))
            return fail(c, c->i, "unexpected character after '_'");
        return append(c, s, cap, at, count, false, 0, 0);
    }
    double start, step = 0;
    if (number(c, true, &start) < 0)
        return -1;
    bool stepped = false;
    if (c->i < c->len && (c->s[c->i] == '+' || c->s[c->i] == '-')) {
        bool down = c->s[c->i++] == '-';
        if (number(c, false, &step) < 0)
            return -1;
        if (down)
            step = -step;
        stepped = true;
    }
    if (c->i < c->len && c->s[c->i] == 'x') {
        if (repeat(c, &count) < 0)
            return -1;
        count++; /* the start, then count steps */
    } else if (stepped) {
        return fail(c, c->i, "expected 'x' and a count after the step");
    } else {
        count = 1;
    }
    if (!at_end_of_term(c))
        return fail(c, c->i, "unexpected character in series");
    return append(c, s, cap, at, count, true, start, step);
}

int vigil_series_parse(struct vigil_series *s, const char *text, size_t len,
                       struct vigil_expr_error *err)
{
    struct vigil_expr_error ignored = {0};
    struct cursor c = {.s = text, .len = len, .err = err ? err : &ignored};
    size_t cap = 0, terms = 0;
    *s = (struct vigil_series){0};
    for (;;) {
        while (c.i < len && at_end_of_term(&c))
            c.i++;
        if (c.i >= len)
            break;
        if (term(&c, s, &cap) < 0)
            goto err_free_points;
        terms++;
    }
    if (terms == 0) {
        fail(&c, 0, "empty series");
        goto err_free_points;
    }
    return 0;

err_free_points:
    vigil_series_fini(s);
    return -1;
}

void vigil_series_fini(struct vigil_series *s)
{
    free(s->v);
    *s = (struct vigil_series){0};
}
