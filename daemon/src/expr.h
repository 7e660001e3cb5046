/*
 * expr: the indicator expression language (DESIGN.md section 5) and the
 * decision criteria ("< 20", ">= 50"). No I/O and no Redis here.
 *
 * Data and arithmetic are kept apart. Compiling an expression yields the
 * list of distinct QUERIES it needs (function kind, counter, window,
 * offset, k or p), each with a slot index. The caller fetches the queries
 * of many indicators in one pipelined round trip, puts the answers in an
 * array of struct vigil_expr_qresult, and evaluates the expression from
 * that array. The full semantics (what each query must return, how "no
 * data" propagates) are in docs/EXPRESSIONS.md.
 *
 * A compiled struct vigil_expr is immutable: any number of threads may
 * read and evaluate it at the same time.
 */
#ifndef VIGIL_EXPR_H
#define VIGIL_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hostile-input limits; exceeding one is a compile error. */
#define VIGIL_EXPR_MAX_LEN 4096  /* bytes of source */
#define VIGIL_EXPR_MAX_DEPTH 32  /* nested parentheses, calls, unary minus */
#define VIGIL_EXPR_MAX_STACK 128 /* evaluation stack entries */
#define VIGIL_EXPR_MAX_NAME 200  /* bytes of a counter name */
#define VIGIL_EXPR_MAX_K 100     /* largest k of topk() */
/* Longest window, and longest offset, a function may name: 400 days. */
#define VIGIL_EXPR_MAX_WINDOW_MS (400ULL * 86400000ULL)
/* How many offenders top(c, W) asks for (its value is still the largest). */
#define VIGIL_EXPR_TOP_OFFENDERS 5

/* A problem in an expression, threshold or series; col is 1-based bytes. */
struct vigil_expr_error {
    int col;       /* 0 when no column applies (out of memory) */
    char msg[200]; /* NUL-terminated, without the column */
};

/*
 * What a query asks of the counter store. rate() and count() share
 * VIGIL_EXPR_Q_COUNT (rate divides by the window), top() and topk() share
 * VIGIL_EXPR_Q_TOPK (k is the largest asked for).
 */
enum vigil_expr_query_kind {
    VIGIL_EXPR_Q_COUNT,    /* events (or pairs completed) in the window */
    VIGIL_EXPR_Q_TOPK,     /* largest per-key count, plus the top k keys */
    VIGIL_EXPR_Q_DISTINCT, /* distinct values in the window (HyperLogLog) */
    VIGIL_EXPR_Q_SUM,      /* sum of a numeric field in the window */
    VIGIL_EXPR_Q_AVG,      /* mean pair duration in the window, seconds */
    VIGIL_EXPR_Q_PCTL,     /* p-th percentile of pair durations, seconds */
    VIGIL_EXPR_Q_WITHIN,   /* pairs completed inside the pair's `within` */
    VIGIL_EXPR_Q_OPEN,     /* pairs started and not (yet) ended; no window */
};

/* Counter kinds, as bits, for vigil_expr_query_accepts(). */
#define VIGIL_EXPR_ON_PLAIN (1u << 0)    /* count: */
#define VIGIL_EXPR_ON_BY (1u << 1)       /* count: with by: */
#define VIGIL_EXPR_ON_DISTINCT (1u << 2) /* distinct: */
#define VIGIL_EXPR_ON_SUM (1u << 3)      /* sum: */
#define VIGIL_EXPR_ON_PAIR (1u << 4)     /* pair: */

struct vigil_expr_query {
    enum vigil_expr_query_kind kind;
    const char *counter; /* NUL-terminated; owned by the expression */
    uint64_t window_ms;  /* > 0; 0 for VIGIL_EXPR_Q_OPEN */
    uint64_t offset_ms;  /* the window ends this long before now; often 0 */
    unsigned k;          /* VIGIL_EXPR_Q_TOPK: keys wanted (1..MAX_K) */
    double p;            /* VIGIL_EXPR_Q_PCTL: percentile, 0..100 */
    int col;             /* column of its first use in the source */
};

/* One key of a per-key top list. */
struct vigil_expr_key_count {
    const char *key; /* not NUL-terminated; borrowed */
    size_t key_len;
    double count;
};

/*
 * The answer to one query, filled by the caller (the counter store). For
 * VIGIL_EXPR_Q_TOPK, value is the largest count (0 for an empty window)
 * and top the largest keys, largest first, at most k of them. Pointers are
 * borrowed by vigil_expr_eval() and must outlive its result.
 */
struct vigil_expr_qresult {
    bool has_value; /* false: no data */
    double value;
    const struct vigil_expr_key_count *top; /* VIGIL_EXPR_Q_TOPK only */
    size_t n_top;
};

/* The value of an expression. */
struct vigil_expr_value {
    bool has_value; /* false: no data (also for a non-finite result) */
    double value;   /* 0 when !has_value */
    /*
     * The offenders (see vigil_expr_offenders_slot()), borrowed from the
     * query results; NULL and 0 when the expression has none.
     */
    const struct vigil_expr_key_count *top;
    size_t n_top;
};

struct vigil_expr;

/*
 * Compiles src[0..len) (no NUL needed). Returns the expression, owned by
 * the caller (free with vigil_expr_destroy), or NULL with *err filled: the
 * 1-based column of the problem in src and a message. Any thread.
 */
struct vigil_expr *vigil_expr_compile(const char *src, size_t len,
                                      struct vigil_expr_error *err);

void vigil_expr_destroy(struct vigil_expr *e);

/* The source text, NUL-terminated; owned by e. */
const char *vigil_expr_source(const struct vigil_expr *e);

/* Number of distinct queries; their slots are 0..n-1. */
size_t vigil_expr_query_count(const struct vigil_expr *e);

/* Query in slot i (< vigil_expr_query_count); owned by e. */
const struct vigil_expr_query *vigil_expr_query(const struct vigil_expr *e,
                                                size_t i);

/*
 * Distinct counter names the expression reads, in order of first use;
 * the array and strings are owned by e. *n gets the count.
 */
const char *const *vigil_expr_counters(const struct vigil_expr *e, size_t *n);

/*
 * The longest span of past any query reads, window + offset, in ms (0 for
 * an expression that reads no window). Bucket retention must cover it.
 */
uint64_t vigil_expr_max_reach_ms(const struct vigil_expr *e);

/*
 * Slot of the query whose per-key list comes with the value as offenders,
 * or -1: the top-level function when it is top/topk, otherwise the only
 * top/topk query without offset, if there is exactly one.
 */
long vigil_expr_offenders_slot(const struct vigil_expr *e);

/*
 * Evaluates e from query results. results[map[i]] answers slot i; map
 * may be NULL, then results[i] answers slot i (map lets a caller that
 * deduplicated queries across many expressions pass its shared array).
 * Never fails: problems in the data come out as no data. Any thread.
 */
void vigil_expr_eval(const struct vigil_expr *e,
                     const struct vigil_expr_qresult *results,
                     const size_t *map, struct vigil_expr_value *out);

/* The function name of a query kind ("count", "topk", ...). */
const char *vigil_expr_query_kind_name(enum vigil_expr_query_kind kind);

/* Which counter kinds (VIGIL_EXPR_ON_* bits) a query kind can read. */
unsigned vigil_expr_query_accepts(enum vigil_expr_query_kind kind);

/*
 * Looks up a counter for vigil_expr_check_counters(): returns its kind as
 * one VIGIL_EXPR_ON_* bit, or 0 when there is no such counter.
 */
typedef unsigned (*vigil_expr_counter_kind_fn)(void *ctx, const char *name);

/*
 * Checks that every counter the expression reads exists and that each
 * function can read its kind. Returns 0, or -1 with *err about the first
 * problem (column of the function call). Any thread.
 */
int vigil_expr_check_counters(const struct vigil_expr *e,
                              vigil_expr_counter_kind_fn lookup, void *ctx,
                              struct vigil_expr_error *err);

/* Same identity, same answer: for deduplicating across expressions. */
bool vigil_expr_query_same(const struct vigil_expr_query *a,
                           const struct vigil_expr_query *b);
uint64_t vigil_expr_query_hash(const struct vigil_expr_query *q);

/*
 * Writes q as source text ("count(c, 5m, offset=1d)") into buf (always
 * NUL-terminated when size > 0). Returns the length it needed, like
 * snprintf.
 */
size_t vigil_expr_query_format(const struct vigil_expr_query *q, char *buf,
                               size_t size);

/* Writes a duration as the shortest combination ("1h30m", "250ms", "0s"). */
size_t vigil_expr_format_duration(uint64_t ms, char *buf, size_t size);

/* ---- Decision criteria ---- */

enum vigil_threshold_op {
    VIGIL_THRESHOLD_LT,
    VIGIL_THRESHOLD_LE,
    VIGIL_THRESHOLD_GT,
    VIGIL_THRESHOLD_GE,
    VIGIL_THRESHOLD_EQ,
    VIGIL_THRESHOLD_NE,
};

struct vigil_threshold {
    enum vigil_threshold_op op;
    double value; /* finite */
};

/*
 * Parses a criterion such as "< 20", ">= 50", "== 0", "> -1.5" from
 * s[0..len). Returns 0, or -1 with *err (column in s). Any thread.
 */
int vigil_threshold_parse(const char *s, size_t len, struct vigil_threshold *th,
                          struct vigil_expr_error *err);

/* Whether value satisfies th ("==" and "!=" compare exactly). */
bool vigil_threshold_holds(const struct vigil_threshold *th, double value);

/* The operator as text ("<", ">=", ...). */
const char *vigil_threshold_op_name(enum vigil_threshold_op op);

/* Writes th as "op value" ("< 20", ">= 99.5"); like snprintf. */
size_t vigil_threshold_format(const struct vigil_threshold *th, char *buf,
                              size_t size);

#endif
