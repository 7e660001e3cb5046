/*
 * expr: a hand-written recursive-descent parser that compiles an
 * indicator expression straight into postfix code over a value stack,
 * plus the table of distinct queries that code reads.
 *
 * Grammar (lowest precedence first; comparisons do not chain):
 *   expr    = sum [ ("<" | "<=" | ">" | ">=" | "==" | "!=") sum ]
 *   sum     = product { ("+" | "-") product }
 *   product = unary { ("*" | "/") unary }
 *   unary   = "-" unary | primary
 *   primary = NUMBER | "(" expr ")" | NAME "(" args ")"
 */
#include "expr.h"
#include "expr_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_doc.h"

enum tok_kind {
    T_END,
    T_NUM,
    T_DUR,
    T_NAME,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_ASSIGN,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_EQ,
    T_NE,
};

struct token {
    enum tok_kind kind;
    size_t start; /* byte offset in the source */
    size_t len;
    double num;  /* T_NUM */
    uint64_t ms; /* T_DUR */
};

/* What a function's positional arguments are. */
enum arg_kind {
    A_COUNTER = 'c',
    A_WINDOW = 'w',
    A_K = 'k',
    A_P = 'p',
    A_EXPR = 'e',
};

struct function {
    const char *name;
    const char *args; /* one enum arg_kind per positional argument */
    int kind;         /* enum vigil_expr_query_kind, or -1 */
    enum op_code op;  /* OP_QUERY, OP_RATE, OP_RATIO or OP_PCT */
    const char *usage;
};

static const struct function functions[] = {
    {"count", "cw", VIGIL_EXPR_Q_COUNT, OP_QUERY,
     "count(counter, window[, offset=D])"},
    {"rate", "cw", VIGIL_EXPR_Q_COUNT, OP_RATE,
     "rate(counter, window[, offset=D])"},
    {"top", "cw", VIGIL_EXPR_Q_TOPK, OP_QUERY,
     "top(counter, window[, offset=D])"},
    {"topk", "cwk", VIGIL_EXPR_Q_TOPK, OP_QUERY,
     "topk(counter, window, k[, offset=D])"},
    {"distinct", "cw", VIGIL_EXPR_Q_DISTINCT, OP_QUERY,
     "distinct(counter, window[, offset=D])"},
    {"sum", "cw", VIGIL_EXPR_Q_SUM, OP_QUERY,
     "sum(counter, window[, offset=D])"},
    {"avg", "cw", VIGIL_EXPR_Q_AVG, OP_QUERY,
     "avg(counter, window[, offset=D])"},
    {"pctl", "cwp", VIGIL_EXPR_Q_PCTL, OP_QUERY,
     "pctl(counter, window, p[, offset=D])"},
    {"within", "cw", VIGIL_EXPR_Q_WITHIN, OP_QUERY,
     "within(counter, window[, offset=D])"},
    {"open", "c", VIGIL_EXPR_Q_OPEN, OP_QUERY, "open(counter)"},
    {"ratio", "ee", -1, OP_RATIO, "ratio(a, b)"},
    {"pct", "ee", -1, OP_PCT, "pct(a, b)"},
};

#define N_FUNCTIONS (sizeof(functions) / sizeof(functions[0]))

struct parser {
    const char *s;
    size_t len;
    size_t pos; /* where the lexer continues */
    struct token tok;
    int depth;
    size_t stack; /* values on the stack after the code emitted so far */
    size_t ops_cap, queries_cap, counters_cap;
    struct vigil_expr *e;
    struct vigil_expr_error *err;
};

static int fail(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    va_end(ap);
    p->err->col = (int)at + 1;
    return -1;
}

static int fail_oom(struct parser *p)
{
    snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
    p->err->col = 0;
    return -1;
}

static bool is_name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.';
}

/* Describes the current token for messages: "'+'", "end of expression". */
static void describe(const struct parser *p, char *buf, size_t size)
{
    if (p->tok.kind == T_END)
        snprintf(buf, size, "end of expression");
    else
        snprintf(buf, size, "'%.*s'", (int)(p->tok.len > 40 ? 40 : p->tok.len),
                 p->s + p->tok.start);
}

/* A number or duration: a run of [0-9A-Za-z._] starting with a digit. */
static int lex_number(struct parser *p, size_t start)
{
    size_t i = start;
    while (i < p->len && (is_name_char(p->s[i])))
        i++;
    size_t n = i - start;
    const char *t = p->s + start;
    size_t d = 0;
    bool letters = false;
    while (d < n && isdigit((unsigned char)t[d]))
        d++;
    if (d < n && t[d] == '.') {
        size_t frac = ++d;
        while (d < n && isdigit((unsigned char)t[d]))
            d++;
        if (d == frac)
            d = n + 1; /* "1." is not a number */
    }
    for (size_t j = 0; j < n; j++)
        letters |= isalpha((unsigned char)t[j]) != 0;
    p->tok.start = start;
    p->tok.len = n;
    p->pos = i;
    if (d == n) {
        char buf[64];
        if (n >= sizeof(buf))
            return fail(p, start, "number '%.20s...' is too long", t);
        memcpy(buf, t, n);
        buf[n] = '\0';
        double v = strtod(buf, NULL);
        if (!isfinite(v))
            return fail(p, start, "number '%s' is out of range", buf);
        p->tok.kind = T_NUM;
        p->tok.num = v;
        return 0;
    }
    if (letters && vigil_parse_duration(t, n, &p->tok.ms) == 0) {
        p->tok.kind = T_DUR;
        return 0;
    }
    if (letters)
        return fail(p, start,
                    "invalid duration '%.*s' (use whole units such as "
                    "250ms, 10s, 5m, 4h, 1d, 1w or 1h30m)",
                    (int)(n > 40 ? 40 : n), t);
    return fail(p, start, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), t);
}

/* Reads the next token into p->tok. */
static int next(struct parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
    size_t at = p->pos;
    p->tok = (struct token){.kind = T_END, .start = at, .len = 0};
    if (at >= p->len)
        return 0;
    char c = p->s[at];
    char c2 = at + 1 < p->len ? p->s[at + 1] : '\0';
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)c2)))
        return lex_number(p, at);
    if (is_name_start(c)) {
        size_t i = at;
        while (i < p->len && is_name_char(p->s[i]))
            i++;
        if (i - at > VIGIL_EXPR_MAX_NAME)
            return fail(p, at, "name longer than %d bytes",
                        VIGIL_EXPR_MAX_NAME);
        p->tok.kind = T_NAME;
        p->tok.len = i - at;
        p->pos = i;
        return 0;
    }
    static const struct {
        char s[3];
        enum tok_kind kind;
    } ops[] = {{"<=", T_LE},    {">=", T_GE},    {"==", T_EQ},
               {"!=", T_NE},    {"<", T_LT},     {">", T_GT},
               {"(", T_LPAREN}, {")", T_RPAREN}, {",", T_COMMA},
               {"=", T_ASSIGN}, {"+", T_PLUS},   {"-", T_MINUS},
               {"*", T_STAR},   {"/", T_SLASH}};
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        size_t n = strlen(ops[k].s);
        if (at + n <= p->len && memcmp(p->s + at, ops[k].s, n) == 0) {
            p->tok.kind = ops[k].kind;
            p->tok.len = n;
            p->pos = at + n;
            return 0;
        }
    }
    if (c == '!')
        return fail(p, at, "unexpected '!' (did you mean '!='?)");
    if (isprint((unsigned char)c))
        return fail(p, at, "unexpected character '%c'", c);
    return fail(p, at, "unexpected byte 0x%02x", (unsigned)(unsigned char)c);
}

/* The first non-blank character after the current token, or '\0'. */
static char peek_char(const struct parser *p, size_t *at)
{
    size_t i = p->pos;
    while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t' ||
                          p->s[i] == '\n' || p->s[i] == '\r'))
        i++;
    if (at)
        *at = i;
    return i < p->len ? p->s[i] : '\0';
}

/* Whether the current token is a name followed by '=' (not '=='). */
static bool at_named_arg(const struct parser *p)
{
    size_t at;
    if (p->tok.kind != T_NAME || peek_char(p, &at) != '=')
        return false;
    return !(at + 1 < p->len && p->s[at + 1] == '=');
}

static int emit(struct parser *p, struct op op)
{
    if (p->e->n_ops == p->ops_cap) {
        size_t cap = p->ops_cap ? p->ops_cap * 2 : 16;
        struct op *v = realloc(p->e->ops, cap * sizeof(*v));
        if (!v)
            return fail_oom(p);
        p->e->ops = v;
        p->ops_cap = cap;
    }
    p->e->ops[p->e->n_ops++] = op;
    if (op.code == OP_NUM || op.code == OP_QUERY || op.code == OP_RATE)
        p->stack++;
    else if (op.code != OP_NEG)
        p->stack--;
    if (p->stack > VIGIL_EXPR_MAX_STACK)
        return fail(p, p->tok.start, "expression too complex");
    return 0;
}

static int enter(struct parser *p, size_t at)
{
    if (++p->depth > VIGIL_EXPR_MAX_DEPTH)
        return fail(p, at, "expression nested too deeply (more than %d levels)",
                    VIGIL_EXPR_MAX_DEPTH);
    return 0;
}

static int parse_expr(struct parser *p);

/* Levenshtein distance of two short names, capped at 9. */
static size_t distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[16];
    if (na >= 15 || nb >= 15)
        return 9;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static int unknown_function(struct parser *p, const struct token *name)
{
    const char *s = p->s + name->start;
    size_t n = name->len;
    int shown = (int)(n > 40 ? 40 : n);
    for (size_t i = 0; i < N_FUNCTIONS; i++) {
        const char *f = functions[i].name;
        if (f[0] == s[0] && distance(s, n, f, strlen(f)) <= 2)
            return fail(p, name->start,
                        "unknown function '%.*s' (did you mean '%s'?)", shown,
                        s, f);
    }
    return fail(p, name->start, "unknown function '%.*s'", shown, s);
}

static int wrong_arity(struct parser *p, const struct function *f,
                       const struct token *name)
{
    size_t n = strlen(f->args);
    return fail(p, name->start, "%s() takes %zu argument%s: %s", f->name, n,
                n == 1 ? "" : "s", f->usage);
}

static int add_counter(struct parser *p, const char *s, size_t n,
                       const char **out)
{
    struct vigil_expr *e = p->e;
    for (size_t i = 0; i < e->n_counters; i++) {
        if (strlen(e->counters[i]) == n && memcmp(e->counters[i], s, n) == 0) {
            *out = e->counters[i];
            return 0;
        }
    }
    if (e->n_counters == p->counters_cap) {
        size_t cap = p->counters_cap ? p->counters_cap * 2 : 4;
        char **v = realloc(e->counters, cap * sizeof(*v));
        if (!v)
            return fail_oom(p);
        e->counters = v;
        p->counters_cap = cap;
    }
    char *copy = strndup(s, n);
    if (!copy)
        return fail_oom(p);
    e->counters[e->n_counters++] = copy;
    *out = copy;
    return 0;
}

/* Finds or adds q (its counter already interned); *slot gets its index. */
static int add_query(struct parser *p, const struct vigil_expr_query *q,
                     uint32_t *slot)
{
    struct vigil_expr *e = p->e;
    for (size_t i = 0; i < e->n_queries; i++) {
        struct vigil_expr_query *o = &e->queries[i];
        if (vigil_expr_query_same(o, q)) {
            if (q->k > o->k)
                o->k = q->k;
            *slot = (uint32_t)i;
            return 0;
        }
    }
    if (e->n_queries == p->queries_cap) {
        size_t cap = p->queries_cap ? p->queries_cap * 2 : 4;
        struct vigil_expr_query *v = realloc(e->queries, cap * sizeof(*v));
        if (!v)
            return fail_oom(p);
        e->queries = v;
        p->queries_cap = cap;
    }
    *slot = (uint32_t)e->n_queries;
    e->queries[e->n_queries++] = *q;
    return 0;
}

/* offset=D, the current token being the name "offset" or another name. */
static int parse_named(struct parser *p, const struct function *f,
                       struct vigil_expr_query *q, bool *seen)
{
    struct token name = p->tok;
    if (name.len != 6 || memcmp(p->s + name.start, "offset", 6) != 0)
        return fail(p, name.start,
                    "unknown named argument '%.*s' (only offset= is allowed)",
                    (int)(name.len > 40 ? 40 : name.len), p->s + name.start);
    if (strchr(f->args, A_WINDOW) == NULL)
        return fail(p, name.start, "%s() takes no offset=", f->name);
    if (*seen)
        return fail(p, name.start, "offset= given twice");
    *seen = true;
    /* Past the name, then past '='. */
    if (next(p) < 0)
        return -1;
    if (next(p) < 0)
        return -1;
    if (p->tok.kind != T_DUR)
        return fail(p, p->tok.start, "offset= needs a duration such as 1d");
    if (p->tok.ms > VIGIL_EXPR_MAX_WINDOW_MS)
        return fail(p, p->tok.start, "offset longer than 400d");
    q->offset_ms = p->tok.ms;
    return next(p);
}

/* One positional argument of a data function (counter, window, k, p). */
static int parse_data_arg(struct parser *p, const struct function *f, size_t i,
                          struct vigil_expr_query *q)
{
    const struct token t = p->tok;
    switch ((enum arg_kind)f->args[i]) {
    case A_COUNTER:
        if (t.kind != T_NAME || peek_char(p, NULL) == '(')
            return fail(p, t.start, "%s() needs a counter name as argument %zu",
                        f->name, i + 1);
        if (add_counter(p, p->s + t.start, t.len, &q->counter) < 0)
            return -1;
        break;
    case A_WINDOW:
        if (t.kind == T_NUM)
            return fail(p, t.start,
                        "window must be a duration such as 5m, not a number");
        if (t.kind != T_DUR)
            return fail(p, t.start,
                        "%s() needs a window such as 5m as argument %zu",
                        f->name, i + 1);
        if (t.ms == 0)
            return fail(p, t.start, "window must be longer than 0");
        if (t.ms > VIGIL_EXPR_MAX_WINDOW_MS)
            return fail(p, t.start, "window longer than 400d");
        q->window_ms = t.ms;
        break;
    case A_K:
        if (t.kind != T_NUM || t.num < 1 || t.num > VIGIL_EXPR_MAX_K ||
            t.num != floor(t.num))
            return fail(p, t.start, "k must be a whole number from 1 to %d",
                        VIGIL_EXPR_MAX_K);
        q->k = (unsigned)t.num;
        break;
    case A_P:
        if (t.kind != T_NUM || t.num > 100)
            return fail(p, t.start, "p must be a number from 0 to 100");
        q->p = t.num;
        break;
    case A_EXPR:
        break;
    }
    return next(p);
}

/* After an argument: a ')' stays, a ',' must be followed by another one. */
static int after_arg(struct parser *p, const struct function *f)
{
    if (p->tok.kind == T_RPAREN)
        return 0;
    if (p->tok.kind != T_COMMA)
        return fail(p, p->tok.start, "expected ',' or ')' (%s)", f->usage);
    if (next(p) < 0)
        return -1;
    if (p->tok.kind == T_RPAREN || p->tok.kind == T_COMMA ||
        p->tok.kind == T_END)
        return fail(p, p->tok.start, "expected an argument after ','");
    return 0;
}

/* A call of a function that reads a counter; p->tok is the '('. */
static int parse_data_call(struct parser *p, const struct function *f,
                           const struct token *name)
{
    size_t nargs = strlen(f->args);
    struct vigil_expr_query q = {.kind = (enum vigil_expr_query_kind)f->kind,
                                 .col = (int)name->start + 1};
    if (f->kind == VIGIL_EXPR_Q_TOPK)
        q.k = VIGIL_EXPR_TOP_OFFENDERS;
    bool named = false;
    size_t i = 0;
    if (next(p) < 0)
        return -1;
    while (p->tok.kind != T_RPAREN) {
        if (at_named_arg(p)) {
            if (parse_named(p, f, &q, &named) < 0)
                return -1;
        } else {
            if (i >= nargs)
                return wrong_arity(p, f, name);
            if (named)
                return fail(p, p->tok.start, "offset= must come last");
            if (parse_data_arg(p, f, i++, &q) < 0)
                return -1;
        }
        if (after_arg(p, f) < 0)
            return -1;
    }
    if (i != nargs)
        return wrong_arity(p, f, name);
    uint32_t slot;
    if (add_query(p, &q, &slot) < 0)
        return -1;
    double seconds = (double)q.window_ms / 1000.0;
    return emit(p, (struct op){.code = f->op, .slot = slot, .num = seconds});
}

/* ratio(a, b) and pct(a, b); p->tok is the '('. */
static int parse_expr_call(struct parser *p, const struct function *f,
                           const struct token *name)
{
    size_t nargs = strlen(f->args);
    size_t i = 0;
    if (next(p) < 0)
        return -1;
    while (p->tok.kind != T_RPAREN) {
        if (i >= nargs)
            return wrong_arity(p, f, name);
        if (at_named_arg(p))
            return fail(p, p->tok.start, "%s() takes no named arguments",
                        f->name);
        if (parse_expr(p) < 0)
            return -1;
        i++;
        if (after_arg(p, f) < 0)
            return -1;
    }
    if (i != nargs)
        return wrong_arity(p, f, name);
    return emit(p, (struct op){.code = f->op});
}

static int parse_call(struct parser *p)
{
    struct token name = p->tok;
    const struct function *f = NULL;
    for (size_t i = 0; i < N_FUNCTIONS && !f; i++)
        if (strlen(functions[i].name) == name.len &&
            memcmp(functions[i].name, p->s + name.start, name.len) == 0)
            f = &functions[i];
    if (!f)
        return unknown_function(p, &name);
    if (enter(p, name.start) < 0 || next(p) < 0) /* the name; now at '(' */
        return -1;
    int rc = f->kind < 0 ? parse_expr_call(p, f, &name)
                         : parse_data_call(p, f, &name);
    if (rc < 0)
        return -1;
    p->depth--;
    return next(p); /* the ')' */
}

static int parse_primary(struct parser *p)
{
    char what[64];
    switch (p->tok.kind) {
    case T_NUM: {
        double v = p->tok.num;
        if (emit(p, (struct op){.code = OP_NUM, .num = v}) < 0)
            return -1;
        return next(p);
    }
    case T_LPAREN: {
        size_t open = p->tok.start;
        if (enter(p, open) < 0 || next(p) < 0 || parse_expr(p) < 0)
            return -1;
        if (p->tok.kind != T_RPAREN)
            return fail(p, p->tok.start,
                        "expected ')' to close the '(' at column %zu",
                        open + 1);
        p->depth--;
        return next(p);
    }
    case T_NAME:
        if (peek_char(p, NULL) == '(')
            return parse_call(p);
        return fail(
            p, p->tok.start,
            "'%.*s' alone is not a value: read counters through a "
            "function such as count(%.*s, 5m)",
            (int)(p->tok.len > 40 ? 40 : p->tok.len), p->s + p->tok.start,
            (int)(p->tok.len > 40 ? 40 : p->tok.len), p->s + p->tok.start);
    case T_DUR:
        return fail(p, p->tok.start,
                    "a duration is only allowed as a window or offset=");
    default:
        describe(p, what, sizeof(what));
        return fail(p, p->tok.start,
                    "expected a number, a function or '(', found %s", what);
    }
}

static int parse_unary(struct parser *p)
{
    if (p->tok.kind != T_MINUS)
        return parse_primary(p);
    if (enter(p, p->tok.start) < 0 || next(p) < 0 || parse_unary(p) < 0)
        return -1;
    p->depth--;
    return emit(p, (struct op){.code = OP_NEG});
}

static int parse_product(struct parser *p)
{
    if (parse_unary(p) < 0)
        return -1;
    while (p->tok.kind == T_STAR || p->tok.kind == T_SLASH) {
        enum op_code code = p->tok.kind == T_STAR ? OP_MUL : OP_DIV;
        if (next(p) < 0 || parse_unary(p) < 0 ||
            emit(p, (struct op){.code = code}) < 0)
            return -1;
    }
    return 0;
}

static int parse_sum(struct parser *p)
{
    if (parse_product(p) < 0)
        return -1;
    while (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS) {
        enum op_code code = p->tok.kind == T_PLUS ? OP_ADD : OP_SUB;
        if (next(p) < 0 || parse_product(p) < 0 ||
            emit(p, (struct op){.code = code}) < 0)
            return -1;
    }
    return 0;
}

static bool comparison(enum tok_kind k, enum op_code *code)
{
    switch (k) {
    case T_LT:
        *code = OP_LT;
        return true;
    case T_LE:
        *code = OP_LE;
        return true;
    case T_GT:
        *code = OP_GT;
        return true;
    case T_GE:
        *code = OP_GE;
        return true;
    case T_EQ:
        *code = OP_EQ;
        return true;
    case T_NE:
        *code = OP_NE;
        return true;
    default:
        return false;
    }
}

static int parse_expr(struct parser *p)
{
    enum op_code code;
    if (parse_sum(p) < 0)
        return -1;
    if (p->tok.kind == T_ASSIGN)
        return fail(p, p->tok.start, "unexpected '=' (compare with '==')");
    if (!comparison(p->tok.kind, &code))
        return 0;
    if (next(p) < 0 || parse_sum(p) < 0 ||
        emit(p, (struct op){.code = code}) < 0)
        return -1;
    if (comparison(p->tok.kind, &code))
        return fail(p, p->tok.start,
                    "comparisons do not chain; add parentheses");
    return 0;
}

/* Reach, offenders: what callers ask of a whole expression. */
static void finish(struct vigil_expr *e)
{
    e->offenders = -1;
    for (size_t i = 0; i < e->n_queries; i++) {
        const struct vigil_expr_query *q = &e->queries[i];
        if (q->window_ms + q->offset_ms > e->max_reach_ms)
            e->max_reach_ms = q->window_ms + q->offset_ms;
    }
    if (e->n_ops == 1 && e->ops[0].code == OP_QUERY &&
        e->queries[e->ops[0].slot].kind == VIGIL_EXPR_Q_TOPK) {
        e->offenders = e->ops[0].slot;
        return;
    }
    for (size_t i = 0; i < e->n_queries; i++) {
        const struct vigil_expr_query *q = &e->queries[i];
        if (q->kind != VIGIL_EXPR_Q_TOPK || q->offset_ms != 0)
            continue;
        if (e->offenders >= 0) {
            e->offenders = -1;
            return;
        }
        e->offenders = (long)i;
    }
}

struct vigil_expr *vigil_expr_compile(const char *src, size_t len,
                                      struct vigil_expr_error *err)
{
    struct vigil_expr_error ignored = {0};
    struct parser p = {.s = src, .len = len, .err = err ? err : &ignored};
    p.err->col = 0;
    p.err->msg[0] = '\0';
    if (len > VIGIL_EXPR_MAX_LEN) {
        fail(&p, VIGIL_EXPR_MAX_LEN, "expression longer than %d bytes",
             VIGIL_EXPR_MAX_LEN);
        return NULL;
    }
    p.e = calloc(1, sizeof(*p.e));
    if (!p.e) {
        fail_oom(&p);
        return NULL;
    }
    p.e->src = strndup(src, len);
    if (!p.e->src || strlen(p.e->src) != len) {
        if (p.e->src)
            fail(&p, strlen(p.e->src), "unexpected byte 0x00");
        else
            fail_oom(&p);
        goto err_destroy;
    }
    if (next(&p) < 0)
        goto err_destroy;
    if (p.tok.kind == T_END) {
        fail(&p, 0, "empty expression");
        goto err_destroy;
    }
    if (parse_expr(&p) < 0)
        goto err_destroy;
    if (p.tok.kind != T_END) {
        char what[64];
        describe(&p, what, sizeof(what));
        if (p.tok.kind == T_RPAREN)
            fail(&p, p.tok.start, "unmatched ')'");
        else
            fail(&p, p.tok.start,
                 "unexpected %s: expected an operator or the end", what);
        goto err_destroy;
    }
    finish(p.e);
    return p.e;

err_destroy:
    vigil_expr_destroy(p.e);
    return NULL;
}

void vigil_expr_destroy(struct vigil_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_counters; i++)
        free(e->counters[i]);
    free(e->counters);
    free(e->queries);
    free(e->ops);
    free(e->src);
    free(e);
}
