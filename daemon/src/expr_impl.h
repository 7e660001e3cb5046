/*
 * expr_impl: the inside of a compiled expression, shared by expr.c (the
 * compiler) and expr_eval.c (the evaluator). Not for other modules.
 */
#ifndef VIGIL_EXPR_IMPL_H
#define VIGIL_EXPR_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "expr.h"

/* Postfix code: each op pops its operands and pushes one value. */
enum op_code {
    OP_NUM,   /* push num */
    OP_QUERY, /* push the result in slot */
    OP_RATE,  /* push the result in slot divided by num (window, s) */
    OP_NEG,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_EQ,
    OP_NE,
    OP_RATIO,
    OP_PCT,
};

struct op {
    enum op_code code;
    uint32_t slot;
    double num;
};

struct vigil_expr {
    char *src; /* NUL-terminated copy of the source */
    struct op *ops;
    size_t n_ops;
    struct vigil_expr_query *queries;
    size_t n_queries;
    char **counters; /* distinct names; queries point into these */
    size_t n_counters;
    uint64_t max_reach_ms;
    long offenders; /* slot, or -1 */
};

#endif
