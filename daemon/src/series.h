/*
 * series: the synthetic-series notation of indicator and rule tests, after
 * promtool's: "0+10x30" (0, 10, ..., 300: a start, then 30 steps of +10),
 * "100-10x5" (steps down), "5x3" (5 5 5 5), "1 2 3", "_" (missing),
 * "_x5" (5 missing), and any mix separated by blanks:
 * "1+0x10 100x5 _x3". What a point means (a counter's value per step) is
 * up to the test runner. No I/O; any thread.
 */
#ifndef VIGIL_SERIES_H
#define VIGIL_SERIES_H

#include <stdbool.h>
#include <stddef.h>

#include "expr.h"

/* Largest number of points one series may expand to. */
#define VIGIL_SERIES_MAX_POINTS 100000

struct vigil_series_point {
    bool has_value; /* false: missing ("_") */
    double value;   /* 0 when missing */
};

struct vigil_series {
    struct vigil_series_point *v; /* owned; free with vigil_series_fini */
    size_t n;
};

/*
 * Parses text[0..len) into *s (overwritten; caller's storage). Returns 0,
 * or -1 with *err (1-based column in text) and *s empty.
 */
int vigil_series_parse(struct vigil_series *s, const char *text, size_t len,
                       struct vigil_expr_error *err);

/* Frees the points; *s is empty afterwards. */
void vigil_series_fini(struct vigil_series *s);

#endif
