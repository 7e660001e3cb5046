/*
 * expr_eval: everything done with a compiled expression (evaluation,
 * accessors, query identity, formatting, the counter check) and the
 * decision criteria.
 */
#include "expr.h"
#include "expr_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vigil_expr_source(const struct vigil_expr *e)
{
    return e->src;
}

size_t vigil_expr_query_count(const struct vigil_expr *e)
{
    return e->n_queries;
}

const struct vigil_expr_query *vigil_expr_query(const struct vigil_expr *e,
                                                size_t i)
{
    return i < e->n_queries ? &e->queries[i] : NULL;
}

const char *const *vigil_expr_counters(const struct vigil_expr *e, size_t *n)
{
    if (n)
        *n = e->n_counters;
    return (const char *const *)e->counters;
}

uint64_t vigil_expr_max_reach_ms(const struct vigil_expr *e)
{
    return e->max_reach_ms;
}

long vigil_expr_offenders_slot(const struct vigil_expr *e)
{
    return e->offenders;
}

struct value {
    bool ok;
    double v;
};

static struct value binary(enum op_code code, struct value a, struct value b)
{
    struct value none = {false, 0};
    if (!a.ok || !b.ok)
        return none;
    switch (code) {
    case OP_ADD:
        return (struct value){true, a.v + b.v};
    case OP_SUB:
        return (struct value){true, a.v - b.v};
    case OP_MUL:
        return (struct value){true, a.v * b.v};
    case OP_DIV:
    case OP_RATIO:
        return b.v == 0 ? none : (struct value){true, a.v / b.v};
    case OP_PCT:
        return b.v == 0 ? none : (struct value){true, 100.0 * a.v / b.v};
    case OP_LT:
        return (struct value){true, a.v < b.v};
    case OP_LE:
        return (struct value){true, a.v <= b.v};
    case OP_GT:
        return (struct value){true, a.v > b.v};
    case OP_GE:
        return (struct value){true, a.v >= b.v};
    case OP_EQ:
        return (struct value){true, a.v == b.v};
    case OP_NE:
        return (struct value){true, a.v != b.v};
    default:
        return none;
    }
}

void vigil_expr_eval(const struct vigil_expr *e,
                     const struct vigil_expr_qresult *results,
                     const size_t *map, struct vigil_expr_value *out)
{
    /* Compiled expressions never read below the stack (expr.c checks the
     * depth); zeroed so that no path can see garbage. */
    struct value stack[VIGIL_EXPR_MAX_STACK] = {{0}};
    size_t sp = 0;
    for (size_t i = 0; i < e->n_ops; i++) {
        const struct op *op = &e->ops[i];
        const struct vigil_expr_qresult *r;
        switch (op->code) {
        case OP_NUM:
            stack[sp++] = (struct value){true, op->num};
            break;
        case OP_QUERY:
        case OP_RATE:
            r = &results[map ? map[op->slot] : op->slot];
            stack[sp].ok = r->has_value;
            stack[sp].v = op->code == OP_RATE ? r->value / op->num : r->value;
            sp++;
            break;
        case OP_NEG:
            stack[sp - 1].v = -stack[sp - 1].v;
            break;
        default:
            sp--;
            stack[sp - 1] = binary(op->code, stack[sp - 1], stack[sp]);
            break;
        }
        /* Infinity and NaN (from the data or an overflow) are no data. */
        if (sp > 0 && stack[sp - 1].ok && !isfinite(stack[sp - 1].v))
            stack[sp - 1] = (struct value){false, 0};
    }
    *out = (struct vigil_expr_value){0};
    if (sp == 1 && stack[0].ok) {
        out->has_value = true;
        out->value = stack[0].v;
    }
    if (e->offenders >= 0) {
        const struct vigil_expr_query *q = &e->queries[e->offenders];
        const struct vigil_expr_qresult *r =
            &results[map ? map[e->offenders] : (size_t)e->offenders];
        if (r->top && r->n_top > 0) {
            out->top = r->top;
            out->n_top = r->n_top < q->k ? r->n_top : q->k;
        }
    }
}

static const char *const kind_names[] = {
    [VIGIL_EXPR_Q_COUNT] = "count",       [VIGIL_EXPR_Q_TOPK] = "topk",
    [VIGIL_EXPR_Q_DISTINCT] = "distinct", [VIGIL_EXPR_Q_SUM] = "sum",
    [VIGIL_EXPR_Q_AVG] = "avg",           [VIGIL_EXPR_Q_PCTL] = "pctl",
    [VIGIL_EXPR_Q_WITHIN] = "within",     [VIGIL_EXPR_Q_OPEN] = "open",
};

const char *vigil_expr_query_kind_name(enum vigil_expr_query_kind kind)
{
    if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
        return "?";
    return kind_names[kind];
}

unsigned vigil_expr_query_accepts(enum vigil_expr_query_kind kind)
{
    switch (kind) {
    case VIGIL_EXPR_Q_COUNT:
        return VIGIL_EXPR_ON_PLAIN | VIGIL_EXPR_ON_BY | VIGIL_EXPR_ON_PAIR;
    case VIGIL_EXPR_Q_TOPK:
        return VIGIL_EXPR_ON_BY;
    case VIGIL_EXPR_Q_DISTINCT:
        return VIGIL_EXPR_ON_DISTINCT;
    case VIGIL_EXPR_Q_SUM:
        return VIGIL_EXPR_ON_SUM;
    case VIGIL_EXPR_Q_AVG:
    case VIGIL_EXPR_Q_PCTL:
    case VIGIL_EXPR_Q_WITHIN:
    case VIGIL_EXPR_Q_OPEN:
        return VIGIL_EXPR_ON_PAIR;
    }
    return 0;
}

static const char *counter_kind_name(unsigned bit)
{
    switch (bit) {
    case VIGIL_EXPR_ON_PLAIN:
        return "a plain count";
    case VIGIL_EXPR_ON_BY:
        return "a per-key count (by:)";
    case VIGIL_EXPR_ON_DISTINCT:
        return "a distinct count";
    case VIGIL_EXPR_ON_SUM:
        return "a sum";
    case VIGIL_EXPR_ON_PAIR:
        return "a pair";
    default:
        return "an unknown kind";
    }
}

/* "a per-key count (by:) or a pair": what a query kind needs, in words. */
static void needs(unsigned mask, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (unsigned bit = 1; bit <= VIGIL_EXPR_ON_PAIR; bit <<= 1) {
        if (!(mask & bit))
            continue;
        mask &= ~bit;
        const char *sep = at == 0 ? "" : mask ? ", " : " or ";
        int n =
            snprintf(buf + at, size - at, "%s%s", sep, counter_kind_name(bit));
        if (n < 0 || (size_t)n >= size - at)
            return;
        at += (size_t)n;
    }
}

int vigil_expr_check_counters(const struct vigil_expr *e,
                              vigil_expr_counter_kind_fn lookup, void *ctx,
                              struct vigil_expr_error *err)
{
    for (size_t i = 0; i < e->n_queries; i++) {
        const struct vigil_expr_query *q = &e->queries[i];
        unsigned kind = lookup(ctx, q->counter);
        unsigned accepts = vigil_expr_query_accepts(q->kind);
        if (kind == 0) {
            err->col = q->col;
            snprintf(err->msg, sizeof(err->msg), "unknown counter '%s'",
                     q->counter);
            return -1;
        }
        if (!(kind & accepts)) {
            char want[120];
            needs(accepts, want, sizeof(want));
            err->col = q->col;
            /* The column is the call's: name the function written there. */
            const char *fn = e->src + q->col - 1;
            size_t n = 0;
            while (isalpha((unsigned char)fn[n]))
                n++;
            snprintf(err->msg, sizeof(err->msg),
                     "%.*s() needs %s counter; '%s' is %s", (int)n, fn, want,
                     q->counter, counter_kind_name(kind));
            return -1;
        }
    }
    return 0;
}

bool vigil_expr_query_same(const struct vigil_expr_query *a,
                           const struct vigil_expr_query *b)
{
    return a->kind == b->kind && a->window_ms == b->window_ms &&
           a->offset_ms == b->offset_ms && a->p == b->p &&
           strcmp(a->counter, b->counter) == 0;
}

uint64_t vigil_expr_query_hash(const struct vigil_expr_query *q)
{
    /* FNV-1a over the fields vigil_expr_query_same() compares. */
    uint64_t h = 1469598103934665603ULL;
    uint64_t parts[4] = {(uint64_t)q->kind, q->window_ms, q->offset_ms,
                         (uint64_t)(q->p * 1000.0)};
    for (size_t i = 0; i < 4; i++)
        for (unsigned k = 0; k < 64; k += 8) /* low byte first */
            h = (h ^ ((parts[i] >> k) & 0xffu)) * 1099511628211ULL;
    for (const char *c = q->counter; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    return h;
}

/* Appends to buf like snprintf and advances *at even past size. */
static void put(char *buf, size_t size, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t size, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*at < size ? buf + *at : NULL,
                      *at < size ? size - *at : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *at += (size_t)n;
}

/* The shortest text without exponent that reads back as the same double. */
static void put_number(char *buf, size_t size, size_t *at, double v)
{
    char tmp[400];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v && !strchr(tmp, 'e')) {
            put(buf, size, at, "%s", tmp);
            return;
        }
    }
    /* Very small or large: plain decimals, which the parsers read back. */
    for (int prec = 0; prec <= 70; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*f", prec, v);
        if (strtod(tmp, NULL) == v) {
            put(buf, size, at, "%s", tmp);
            return;
        }
    }
    put(buf, size, at, "%.17g", v);
}

size_t vigil_expr_format_duration(uint64_t ms, char *buf, size_t size)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000},
                 {"m", 60000},     {"s", 1000},     {"ms", 1}};
    size_t at = 0;
    if (size > 0)
        buf[0] = '\0';
    if (ms == 0)
        put(buf, size, &at, "0s");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms >= units[i].ms) {
            put(buf, size, &at, "%llu%s",
                (unsigned long long)(ms / units[i].ms), units[i].unit);
            ms %= units[i].ms;
        }
    }
    return at;
}

size_t vigil_expr_query_format(const struct vigil_expr_query *q, char *buf,
                               size_t size)
{
    char d[48];
    size_t at = 0;
    if (size > 0)
        buf[0] = '\0';
    put(buf, size, &at, "%s(%s", vigil_expr_query_kind_name(q->kind),
        q->counter);
    if (q->kind != VIGIL_EXPR_Q_OPEN) {
        vigil_expr_format_duration(q->window_ms, d, sizeof(d));
        put(buf, size, &at, ", %s", d);
    }
    if (q->kind == VIGIL_EXPR_Q_TOPK)
        put(buf, size, &at, ", %u", q->k);
    if (q->kind == VIGIL_EXPR_Q_PCTL) {
        put(buf, size, &at, ", ");
        put_number(buf, size, &at, q->p);
    }
    if (q->offset_ms > 0) {
        vigil_expr_format_duration(q->offset_ms, d, sizeof(d));
        put(buf, size, &at, ", offset=%s", d);
    }
    put(buf, size, &at, ")");
    return at;
}

/* ---- Decision criteria ---- */

static const char *const op_names[] = {
    [VIGIL_THRESHOLD_LT] = "<",  [VIGIL_THRESHOLD_LE] = "<=",
    [VIGIL_THRESHOLD_GT] = ">",  [VIGIL_THRESHOLD_GE] = ">=",
    [VIGIL_THRESHOLD_EQ] = "==", [VIGIL_THRESHOLD_NE] = "!=",
};

const char *vigil_threshold_op_name(enum vigil_threshold_op op)
{
    if ((size_t)op >= sizeof(op_names) / sizeof(op_names[0]))
        return "?";
    return op_names[op];
}

static int th_fail(struct vigil_expr_error *err, size_t at, const char *msg)
{
    err->col = (int)at + 1;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    return -1;
}

static size_t skip_blanks(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

int vigil_threshold_parse(const char *s, size_t len, struct vigil_threshold *th,
                          struct vigil_expr_error *err)
{
    static const struct {
        char s[3];
        enum vigil_threshold_op op;
    } ops[] = {{"<=", VIGIL_THRESHOLD_LE}, {">=", VIGIL_THRESHOLD_GE},
               {"==", VIGIL_THRESHOLD_EQ}, {"!=", VIGIL_THRESHOLD_NE},
               {"<", VIGIL_THRESHOLD_LT},  {">", VIGIL_THRESHOLD_GT}};
    struct vigil_expr_error ignored;
    if (!err)
        err = &ignored;
    size_t i = skip_blanks(s, len, 0);
    size_t k = 0;
    while (k < sizeof(ops) / sizeof(ops[0]) &&
           !(i + strlen(ops[k].s) <= len &&
             memcmp(s + i, ops[k].s, strlen(ops[k].s)) == 0))
        k++;
    if (k == sizeof(ops) / sizeof(ops[0])) {
        if (i < len && s[i] == '=')
            return th_fail(err, i, "'=' is not a comparison; use '=='");
        return th_fail(err, i,
                       "expected a comparison (<, <=, >, >=, == or !=) "
                       "and a number, such as \"< 20\"");
    }
    th->op = ops[k].op;
    i = skip_blanks(s, len, i + strlen(ops[k].s));
    size_t start = i;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    size_t digits = i;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    bool valid = i > digits;
    if (i < len && s[i] == '.') {
        size_t frac = ++i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        valid = i > frac; /* "1." is not a number, ".5" is */
    }
    if (!valid || i - start >= 64)
        return th_fail(err, start, "expected a number after the comparison");
    char buf[64];
    memcpy(buf, s + start, i - start);
    buf[i - start] = '\0';
    th->value = strtod(buf, NULL);
    if (!isfinite(th->value))
        return th_fail(err, start, "number out of range");
    i = skip_blanks(s, len, i);
    if (i < len)
        return th_fail(err, i, "unexpected text after the number");
    return 0;
}

bool vigil_threshold_holds(const struct vigil_threshold *th, double value)
{
    switch (th->op) {
    case VIGIL_THRESHOLD_LT:
        return value < th->value;
    case VIGIL_THRESHOLD_LE:
        return value <= th->value;
    case VIGIL_THRESHOLD_GT:
        return value > th->value;
    case VIGIL_THRESHOLD_GE:
        return value >= th->value;
    case VIGIL_THRESHOLD_EQ:
        return value == th->value;
    case VIGIL_THRESHOLD_NE:
        return value != th->value;
    }
    return false;
}

size_t vigil_threshold_format(const struct vigil_threshold *th, char *buf,
                              size_t size)
{
    size_t at = 0;
    if (size > 0)
        buf[0] = '\0';
    put(buf, size, &at, "%s ", vigil_threshold_op_name(th->op));
    put_number(buf, size, &at, th->value);
    return at;
}
