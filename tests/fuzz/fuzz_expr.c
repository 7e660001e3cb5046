/*
 * libFuzzer target for the indicator expression language, the decision
 * criteria and the test-series notation: every input goes through all
 * three parsers. A compiled expression is evaluated on pseudo-random query
 * results, and each of its queries must format to text that compiles back
 * to the same query.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vigil_expr_key_count keys[] = {
    {"a", 1, 9}, {"b", 1, 7}, {"c", 1, 5}, {"d", 1, 3},
    {"e", 1, 2}, {"f", 1, 1}, {"g", 1, 1}, {"h", 1, 0},
};

static const double values[] = {0,     1,      -1,     0.5,      3,
                                1e308, -1e308, 1e-308, INFINITY, NAN};

static void check_round_trip(const struct vigil_expr_query *q)
{
    char text[600];
    size_t n = vigil_expr_query_format(q, text, sizeof(text));
    if (n >= sizeof(text))
        abort();
    struct vigil_expr_error err;
    struct vigil_expr *again = vigil_expr_compile(text, n, &err);
    if (!again || vigil_expr_query_count(again) != 1)
        abort();
    const struct vigil_expr_query *r = vigil_expr_query(again, 0);
    if (!vigil_expr_query_same(q, r) || r->k != q->k ||
        vigil_expr_query_hash(q) != vigil_expr_query_hash(r))
        abort();
    vigil_expr_destroy(again);
}

static void fuzz_expr(const uint8_t *data, size_t size)
{
    struct vigil_expr_error err;
    struct vigil_expr *e = vigil_expr_compile((const char *)data, size, &err);
    if (!e) {
        if (err.col < 0 || (size_t)err.col > size + 1 ||
            memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
            abort();
        return;
    }
    size_t nq = vigil_expr_query_count(e);
    size_t nc;
    const char *const *counters = vigil_expr_counters(e, &nc);
    for (size_t i = 0; i < nc; i++)
        if (!counters[i] || !counters[i][0])
            abort();
    struct vigil_expr_qresult *r = calloc(nq ? nq : 1, sizeof(*r));
    if (!r)
        abort();
    uint64_t seed = 0x9e3779b97f4a7c15ULL ^ size;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001b3ULL;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < nq; i++) {
            const struct vigil_expr_query *q = vigil_expr_query(e, i);
            if (round == 0)
                check_round_trip(q);
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            r[i].has_value = (seed & 7) != 0;
            r[i].value =
                values[(seed >> 3) % (sizeof(values) / sizeof(*values))];
            if (q->kind == VIGIL_EXPR_Q_TOPK) {
                r[i].top = keys;
                r[i].n_top = (seed >> 8) % (sizeof(keys) / sizeof(*keys) + 1);
            }
        }
        struct vigil_expr_value v;
        vigil_expr_eval(e, r, NULL, &v);
        if (v.has_value && !isfinite(v.value))
            abort();
        if (!v.has_value && v.value != 0)
            abort();
        if (v.n_top > VIGIL_EXPR_MAX_K || (v.n_top > 0) != (v.top != NULL))
            abort();
    }
    free(r);
    vigil_expr_destroy(e);
}

static void fuzz_threshold(const uint8_t *data, size_t size)
{
    struct vigil_threshold th;
    struct vigil_expr_error err;
    if (vigil_threshold_parse((const char *)data, size, &th, &err) < 0)
        return;
    if (!isfinite(th.value))
        abort();
    char text[600];
    struct vigil_threshold again;
    size_t n = vigil_threshold_format(&th, text, sizeof(text));
    if (n >= sizeof(text) || vigil_threshold_parse(text, n, &again, &err) < 0 ||
        again.op != th.op || again.value != th.value)
        abort();
    (void)vigil_threshold_holds(&th, th.value);
}

static void fuzz_series(const uint8_t *data, size_t size)
{
    struct vigil_series s;
    struct vigil_expr_error err;
    if (vigil_series_parse(&s, (const char *)data, size, &err) < 0)
        return;
    if (s.n > VIGIL_SERIES_MAX_POINTS)
        abort();
    for (size_t i = 0; i < s.n; i++)
        if (s.v[i].has_value && !isfinite(s.v[i].value))
            abort();
    vigil_series_fini(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_expr(data, size);
    fuzz_threshold(data, size);
    fuzz_series(data, size);
    return 0;
}
