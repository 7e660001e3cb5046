#include "yaml_scalar.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The value rebuilt from the source, with each byte's source offset. */
struct replay {
    const char *s;
    size_t end;   /* end of the scalar's source span */
    char *out;    /* rebuilt value */
    size_t *from; /* source offset of each byte of out */
    size_t n;
    size_t cap;
    size_t keep; /* bytes of out that trailing-space trimming must keep */
};

static void emit(struct replay *r, char c, size_t from)
{
    if (r->n < r->cap) {
        r->out[r->n] = c;
        r->from[r->n] = from;
        r->n++;
    }
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Skips a line break ("\n", "\r\n" or "\r") at i; the index after it. */
static size_t skip_break(const struct replay *r, size_t i)
{
    if (i < r->end && r->s[i] == '\r' && i + 1 < r->end && r->s[i + 1] == '\n')
        return i + 2;
    if (i < r->end && (r->s[i] == '\n' || r->s[i] == '\r'))
        return i + 1;
    return i;
}

/*
 * Line folding inside flow scalars (plain and quoted): at the break at i,
 * trailing blanks are dropped, one break becomes a space, and n more
 * (empty lines) become n newlines. With escaped set (a backslash before
 * the break in a double-quoted scalar) the break itself adds nothing.
 * Returns the index of the first content byte of the next line.
 */
static size_t fold(struct replay *r, size_t i, bool escaped)
{
    while (!escaped && r->n > r->keep && is_blank(r->out[r->n - 1]))
        r->n--;
    size_t brk = i;
    i = skip_break(r, i);
    size_t empty = 0;
    for (;;) {
        while (i < r->end && is_blank(r->s[i]))
            i++;
        size_t j = skip_break(r, i);
        if (j == i)
            break;
        empty++;
        brk = i;
        i = j;
    }
    if (empty == 0 && !escaped)
        emit(r, ' ', brk);
    for (size_t k = 0; k < empty; k++)
        emit(r, '\n', brk);
    r->keep = r->n;
    return i;
}

static void utf8_emit(struct replay *r, uint32_t cp, size_t from)
{
    if (cp < 0x80) {
        emit(r, (char)cp, from);
    } else if (cp < 0x800) {
        emit(r, (char)(0xC0 | (cp >> 6)), from);
        emit(r, (char)(0x80 | (cp & 0x3F)), from);
    } else if (cp < 0x10000) {
        emit(r, (char)(0xE0 | (cp >> 12)), from);
        emit(r, (char)(0x80 | ((cp >> 6) & 0x3F)), from);
        emit(r, (char)(0x80 | (cp & 0x3F)), from);
    } else {
        emit(r, (char)(0xF0 | (cp >> 18)), from);
        emit(r, (char)(0x80 | ((cp >> 12) & 0x3F)), from);
        emit(r, (char)(0x80 | ((cp >> 6) & 0x3F)), from);
        emit(r, (char)(0x80 | (cp & 0x3F)), from);
    }
}

/* One escape of a double-quoted scalar at i (the backslash); next index. */
static size_t escape(struct replay *r, size_t i)
{
    size_t at = i++;
    if (i >= r->end)
        return i;
    char c = r->s[i++];
    static const char simple_in[] = "0abtnvfre \"/\\\t";
    static const char simple_out[] = "\0\a\b\t\n\v\f\r\x1b \"/\\\t";
    const char *p = memchr(simple_in, c, sizeof(simple_in) - 1);
    if (p) {
        emit(r, simple_out[p - simple_in], at);
    } else if (c == 'N' || c == '_' || c == 'L' || c == 'P') {
        uint32_t cp = c == 'N'   ? 0x85
                      : c == '_' ? 0xA0
                      : c == 'L' ? 0x2028
                                 : 0x2029;
        utf8_emit(r, cp, at);
    } else if (c == 'x' || c == 'u' || c == 'U') {
        int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int k = 0; k < digits && i < r->end; k++, i++) {
            char h = r->s[i];
            int v = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : 0;
            cp = cp << 4 | (uint32_t)v;
        }
        utf8_emit(r, cp > 0x10FFFF ? 0xFFFD : cp, at);
    } else if (c == '\n' || c == '\r') {
        return fold(r, i - 1, true);
    }
    r->keep = r->n;
    return i;
}

static void replay_flow(struct replay *r, size_t i, int style)
{
    while (i < r->end) {
        char c = r->s[i];
        if (c == '\n' || c == '\r') {
            i = fold(r, i, false);
        } else if (style == FYNS_SINGLE_QUOTED && c == '\'' && i + 1 < r->end &&
                   r->s[i + 1] == '\'') {
            emit(r, '\'', i);
            i += 2;
        } else if (style == FYNS_DOUBLE_QUOTED && c == '\\') {
            i = escape(r, i);
        } else {
            emit(r, c, i);
            i++;
        }
    }
}

/* Block scalars: the span starts at the first content line. */
static void replay_block(struct replay *r, size_t i, bool folded)
{
    /* Indentation of the first non-empty line. */
    size_t indent = 0;
    for (size_t k = i; k < r->end;) {
        size_t sp = 0;
        while (k + sp < r->end && r->s[k + sp] == ' ')
            sp++;
        if (k + sp < r->end && r->s[k + sp] != '\n' && r->s[k + sp] != '\r') {
            indent = sp;
            break;
        }
        size_t next = skip_break(r, k + sp);
        if (next == k + sp)
            break;
        k = next;
    }
    bool prev_normal = false; /* previous content line folds */
    size_t pending = 0;       /* breaks not yet emitted */
    size_t pending_at = i;
    while (i < r->end) {
        size_t sp = 0;
        while (sp < indent && i + sp < r->end && r->s[i + sp] == ' ')
            sp++;
        size_t start = i + sp;
        size_t e = start;
        while (e < r->end && r->s[e] != '\n' && r->s[e] != '\r')
            e++;
        bool empty = e == start;
        if (!empty) {
            bool normal = !is_blank(r->s[start]);
            if (folded && prev_normal && normal && pending == 1) {
                emit(r, ' ', pending_at);
            } else {
                size_t k = folded && prev_normal && normal ? 1 : 0;
                for (; k < pending; k++)
                    emit(r, '\n', pending_at);
            }
            for (size_t k = start; k < e; k++)
                emit(r, r->s[k], k);
            prev_normal = normal;
            pending = 0;
        }
        size_t next = skip_break(r, e);
        if (next == e)
            break;
        pending++;
        pending_at = e;
        i = next;
    }
    for (size_t k = 0; k < pending; k++)
        emit(r, '\n', pending_at);
}

/* Line and column of src[to], counted from a known mark at src[from]. */
static void advance(const char *src, size_t from, size_t to, int *line,
                    int *col)
{
    for (size_t i = from; i < to; i++) {
        bool bare_cr = src[i] == '\r' && (i + 1 >= to || src[i + 1] != '\n');
        if (src[i] == '\n' || bare_cr) {
            (*line)++;
            *col = 1;
        } else if ((src[i] & 0xC0) != 0x80 && src[i] != '\r') {
            (*col)++;
        }
    }
}

void vigil_yaml_scalar_pos(const char *src, size_t src_len,
                           struct fy_node *node, size_t offset, int *line,
                           int *col)
{
    *line = 0;
    *col = 0;
    struct fy_token *t = node ? fy_node_get_scalar_token(node) : NULL;
    const struct fy_mark *sm = t ? fy_token_start_mark(t) : NULL;
    const struct fy_mark *em = t ? fy_token_end_mark(t) : NULL;
    size_t vlen;
    const char *value = node ? fy_node_get_scalar(node, &vlen) : NULL;
    if (!sm || !em || !value)
        return;
    *line = sm->line + 1;
    *col = sm->column + 1;
    size_t begin = sm->input_pos, end = em->input_pos;
    if (begin > end || end > src_len)
        return;
    if (offset >= vlen) {
        *line = em->line + 1;
        *col = em->column + 1;
        return;
    }

    struct replay r = {.s = src, .end = end, .cap = 2 * (end - begin) + 8};
    r.out = malloc(r.cap);
    r.from = malloc(r.cap * sizeof(*r.from));
    if (!r.out || !r.from)
        goto out_free;
    int style = fy_node_get_style(node);
    if (style == FYNS_LITERAL || style == FYNS_FOLDED)
        replay_block(&r, begin, style == FYNS_FOLDED);
    else
        replay_flow(&r, begin, style);
    /* Trust the replay only as far as it reproduces the value. */
    if (r.n > offset && memcmp(r.out, value, offset + 1) == 0)
        advance(src, begin, r.from[offset], line, col);

out_free:
    free(r.out);
    free(r.from);
}
