#include "prefilter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_set_priv.h"

#ifdef VIGIL_HAVE_VECTORSCAN
#include <hs/hs.h>
#endif

bool vigil_utf8_valid(const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* beyond U+10FFFF */
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        }
        i += n + 1;
    }
    return true;
}

/* Bytes of the UTF-8 character that starts with c (1 for ASCII or junk). */
static size_t char_len(unsigned char c)
{
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/*
 * Skips a character class starting at p[i] == '['; returns the index after
 * its ']', or 0 when it does not end or holds \Q.
 */
static size_t skip_class(const char *p, size_t len, size_t i)
{
    i++;
    if (i < len && p[i] == '^')
        i++;
    if (i < len && p[i] == ']')
        i++; /* a leading ']' is a member */
    while (i < len) {
        if (p[i] == '\\') {
            if (i + 1 >= len || p[i + 1] == 'Q' || p[i + 1] == 'E')
                return 0;
            i += 2;
        } else if (p[i] == '[' && i + 1 < len && p[i + 1] == ':') {
            const char *end = memmem(p + i + 2, len - i - 2, ":]", 2);
            if (!end)
                return 0;
            i = (size_t)(end - p) + 2;
        } else if (p[i] == ']') {
            return i + 1;
        } else {
            i++;
        }
    }
    return 0;
}

/*
 * Skips a group starting at p[i] == '('; returns the index after its ')',
 * or 0 when it does not end or holds \Q.
 */
static size_t skip_group(const char *p, size_t len, size_t i)
{
    size_t depth = 0;
    while (i < len) {
        if (p[i] == '\\') {
            if (i + 1 >= len || p[i + 1] == 'Q' || p[i + 1] == 'E')
                return 0;
            i += 2;
        } else if (p[i] == '[') {
            i = skip_class(p, len, i);
            if (!i)
                return 0;
        } else if (p[i] == '(') {
            /* Comments and extended mode may hold unbalanced parentheses. */
            if (i + 2 < len && p[i + 1] == '?') {
                if (p[i + 2] == '#')
                    return 0;
                bool x = false;
                size_t k = i + 2;
                for (;
                     k < len && (is_alnum(p[k]) || p[k] == '-' || p[k] == '^');
                     k++)
                    x = x || p[k] == 'x';
                if (x && k < len && (p[k] == ':' || p[k] == ')'))
                    return 0;
            }
            depth++;
            i++;
        } else if (p[i] == ')') {
            i++;
            if (--depth == 0)
                return i;
        } else {
            i++;
        }
    }
    return 0;
}

enum quant { Q_NONE, Q_OPTIONAL, Q_REQUIRED };

/* Reads a quantifier at p[*i], if any, with its lazy/possessive suffix. */
static enum quant read_quant(const char *p, size_t len, size_t *i)
{
    enum quant q = Q_NONE;
    size_t j = *i;
    if (j >= len)
        return Q_NONE;
    if (p[j] == '?' || p[j] == '*') {
        q = Q_OPTIONAL;
        j++;
    } else if (p[j] == '+') {
        q = Q_REQUIRED;
        j++;
    } else if (p[j] == '{') {
        /* {n}, {n,} or {n,m}; anything else is a literal '{'. */
        size_t k = j + 1, n = 0, digits = 0;
        while (k < len && p[k] >= '0' && p[k] <= '9') {
            n = n * 10 + (size_t)(p[k] - '0');
            if (n > 65535)
                n = 65535;
            k++;
            digits++;
        }
        if (!digits)
            return Q_NONE;
        if (k < len && p[k] == ',') {
            k++;
            while (k < len && p[k] >= '0' && p[k] <= '9')
                k++;
        }
        if (k >= len || p[k] != '}')
            return Q_NONE;
        q = n == 0 ? Q_OPTIONAL : Q_REQUIRED;
        j = k + 1;
    } else {
        return Q_NONE;
    }
    if (j < len && (p[j] == '?' || p[j] == '+'))
        j++;
    *i = j;
    return q;
}

/*
 * Reads one escape at p[*i] == '\\'. Returns 1 and the literal character
 * (*lit, *lit_len) for an escaped non-alphanumeric, 0 for any other atom
 * it knows (classes like \d, assertions like \b, \x.., \p{..}), or -1 for
 * one it does not follow.
 */
static int read_escape(const char *p, size_t len, size_t *i, const char **lit,
                       size_t *lit_len)
{
    size_t j = *i + 1;
    if (j >= len)
        return -1;
    char e = p[j];
    if (!is_alnum(e)) {
        *lit = p + j;
        *lit_len = char_len((unsigned char)e);
        if (j + *lit_len > len)
            return -1;
        *i = j + *lit_len;
        return 1;
    }
    j++;
    switch (e) {
    case 'x':
    case 'o':
    case 'p':
    case 'P':
        if (j < len && p[j] == '{') {
            const char *end = memchr(p + j, '}', len - j);
            if (!end)
                return -1;
            j = (size_t)(end - p) + 1;
        } else if (e == 'x') {
            for (int k = 0; k < 2 && j < len &&
                            strchr("0123456789abcdefABCDEF", p[j]) && p[j];
                 k++)
                j++;
        } else if (e == 'p' || e == 'P') {
            j++; /* \pL */
        } else {
            return -1;
        }
        break;
    case 'd':
    case 'D':
    case 's':
    case 'S':
    case 'w':
    case 'W':
    case 'b':
    case 'B':
    case 'A':
    case 'z':
    case 'Z':
    case 'G':
    case 'h':
    case 'H':
    case 'v':
    case 'V':
    case 'R':
    case 'X':
    case 'K':
    case 't':
    case 'n':
    case 'r':
    case 'f':
    case 'e':
    case 'a':
        break;
    default:
        return -1; /* backreferences, \g, \k, \c, \N, \Q, \E, octal */
    }
    *i = j;
    return 0;
}

/* Where group p[i] == '(' ... p[end - 1] == ')' keeps its body, or 0 when
 * the group is one whose body need not be in the subject as written
 * (lookarounds, inline options other than a caseless group, conditionals,
 * comments, callouts). *ci is set for (?i:...). */
static size_t group_body(const char *p, size_t i, size_t end, bool *ci)
{
    if (p[i + 1] != '?')
        return i + 1; /* a plain capturing group */
    const char *g = p + i + 2;
    if (*g == ':' || *g == '>' || *g == '|')
        return i + 3;
    if (*g == 'i' && g[1] == ':') {
        *ci = true;
        return i + 4;
    }
    if ((*g == '<' && g[1] != '=' && g[1] != '!') || *g == '\'' ||
        (*g == 'P' && g[1] == '<')) {
        char close = *g == '\'' ? '\'' : '>';
        const char *c = memchr(g, close, (size_t)(p + end - g));
        return c ? (size_t)(c - p) + 1 : 0;
    }
    return 0;
}

/* A set of literals of which every match holds one. */
struct litset {
    struct vigil_prefilter_literal v[VIGIL_PREFILTER_MAX_LITERALS];
    size_t n;
    size_t min; /* shortest member; 0 for the empty set */
};

static bool litset_better(const struct litset *a, const struct litset *b)
{
    return a->min > b->min || (a->min == b->min && a->n < b->n);
}

/* Every set an alternative requires, when the caller collects them. */
struct choices {
    struct litset *v;
    size_t n, max;
    char *store; /* bytes of the sets spelled out from alternations */
    size_t store_len, store_cap;
};

static void note_choice(struct choices *c, const struct litset *s)
{
    if (c && s->n > 0 && s->min >= VIGIL_PREFILTER_MIN_LITERAL && c->n < c->max)
        c->v[c->n++] = *s;
}

/*
 * A group of plain alternatives right after a run, such as " (401|403)":
 * every match holds the run, one alternative, and the run after the
 * group, back to back; spelled out, they make a set of longer literals
 * than any of the three alone.
 */
struct fork {
    bool active;
    size_t pre, pre_end; /* the run before, in buf */
    const char *body;    /* the alternatives, as in the pattern */
    size_t body_len;
};

/* True when p[0..n) is alternatives of plain characters only, at most
 * VIGIL_PREFILTER_MAX_LITERALS of them, none empty. */
static bool plain_alternatives(const char *p, size_t n)
{
    size_t alts = 1, cur = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '|') {
            if (cur == 0)
                return false;
            alts++;
            cur = 0;
        } else if (strchr("\\.^$?*+()[]{}#", p[i]) ||
                   (unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x80) {
            return false;
        } else {
            cur++;
        }
    }
    return cur > 0 && alts <= VIGIL_PREFILTER_MAX_LITERALS;
}

/* Notes the set run-before + alternative + run-after (buf[suf..suf_end)). */
static void note_fork(struct choices *c, const struct fork *f, const char *buf,
                      size_t suf, size_t suf_end)
{
    size_t pre = f->pre_end - f->pre, post = suf_end - suf;
    size_t need = f->body_len * (pre + post + 1) + pre + post;
    if (!c || c->store_len + need > c->store_cap)
        return;
    struct litset s = {.n = 0, .min = SIZE_MAX};
    const char *a = f->body, *end = f->body + f->body_len;
    while (a < end) {
        const char *bar = memchr(a, '|', (size_t)(end - a));
        size_t m = (size_t)((bar ? bar : end) - a);
        char *w = c->store + c->store_len;
        memcpy(w, buf + f->pre, pre);
        memcpy(w + pre, a, m);
        memcpy(w + pre + m, buf + suf, post);
        s.v[s.n++] = (struct vigil_prefilter_literal){w, pre + m + post, false};
        c->store_len += pre + m + post;
        if (pre + m + post < s.min)
            s.min = pre + m + post;
        a = bar ? bar + 1 : end;
    }
    note_choice(c, &s);
}

/* True when a caseless run can stand for what PCRE2 matches: ASCII only
 * (the case variants of other characters are not spelled out here). */
static bool ascii_only(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return false;
    return true;
}

/* Takes the run buf[run..end) as best when it is better. */
static void consider_run(char *buf, size_t run, size_t end, bool ci,
                         struct litset *best, struct choices *all)
{
    struct litset r = {.n = 1, .min = end - run};
    r.v[0] = (struct vigil_prefilter_literal){buf + run, end - run, ci};
    if (r.min == 0 || (ci && !ascii_only(buf + run, end - run)))
        return;
    note_choice(all, &r);
    if (best->n == 0 || litset_better(&r, best))
        *best = r;
}

/*
 * The literals of p[0..len), appended to buf at *o; depth bounds the
 * groups followed, ci says the text is matched caselessly. Returns 0 and
 * *out (with out->n == 0 when some alternative has none of
 * VIGIL_PREFILTER_MIN_LITERAL bytes), or -1 when the pattern uses
 * something this reading does not follow. With all, every set the
 * pattern requires is also noted there when it has a single alternative
 * (else all->n is 0).
 */
static int literals_of(const char *p, size_t len, char *buf, size_t *o,
                       int depth, bool ci, struct litset *out,
                       struct choices *all)
{
    out->n = 0;
    out->min = SIZE_MAX;
    struct litset best = {.n = 0, .min = 0};
    size_t run = *o; /* where the current run starts in buf */
    size_t i = 0;
    struct fork fork = {.active = false};
    for (;;) {
        bool end_alt = i >= len || p[i] == '|';
        if (end_alt) {
            consider_run(buf, run, *o, ci, &best, all);
            if (fork.active)
                note_fork(all, &fork, buf, run, *o);
            fork.active = false;
            if (all && i < len)
                all->n = 0, all = NULL; /* several alternatives */
            if (best.min < VIGIL_PREFILTER_MIN_LITERAL ||
                out->n + best.n > VIGIL_PREFILTER_MAX_LITERALS) {
                out->n = 0;
                return 0;
            }
            for (size_t k = 0; k < best.n; k++)
                out->v[out->n++] = best.v[k];
            if (best.min < out->min)
                out->min = best.min;
            if (i >= len)
                return 0;
            i++;
            run = *o;
            best = (struct litset){.n = 0, .min = 0};
            continue;
        }
        const char *lit = NULL;
        size_t lit_len = 0;
        struct litset group = {.n = 0, .min = 0};
        struct fork next_fork = {.active = false};
        char c = p[i];
        if (c == '\\') {
            if (read_escape(p, len, &i, &lit, &lit_len) < 0)
                return -1;
        } else if (c == '.' || c == '^' || c == '$') {
            i++;
        } else if (c == '[') {
            i = skip_class(p, len, i);
            if (!i)
                return -1;
        } else if (c == '(') {
            if (i + 1 < len && p[i + 1] == '*')
                return -1; /* a verb such as (*UCP) */
            if (i + 1 < len && p[i + 1] == '?') {
                /* (?i) and friends change the rest of the pattern. */
                size_t k = i + 2;
                while (k < len &&
                       (is_alnum(p[k]) || p[k] == '-' || p[k] == '^'))
                    k++;
                if (k < len && p[k] == ')' && k > i + 2 &&
                    !(p[i + 2] >= '0' && p[i + 2] <= '9') && p[i + 2] != 'R')
                    return -1;
            }
            size_t end = skip_group(p, len, i);
            if (!end)
                return -1;
            bool group_ci = ci;
            size_t body = depth > 0 ? group_body(p, i, end, &group_ci) : 0;
            size_t q_at = end;
            /* The run ends here, before the group's literals follow it
             * in buf. */
            consider_run(buf, run, *o, ci, &best, all);
            enum quant gq = read_quant(p, len, &q_at);
            if (all && body && !ci && !group_ci && gq == Q_NONE &&
                plain_alternatives(p + body, end - 1 - body))
                next_fork =
                    (struct fork){true, run, *o, p + body, end - 1 - body};
            if (body && gq != Q_OPTIONAL &&
                literals_of(p + body, end - 1 - body, buf, o, depth - 1,
                            group_ci, &group, NULL) < 0)
                return -1;
            run = *o;
            i = end;
        } else if (c == ')' || c == '*' || c == '+' || c == '?') {
            return -1; /* not a pattern PCRE2 compiled */
        } else if (c == '{') {
            /* A quantifier without an atom, or a literal '{' whose reading
             * differs between PCRE2 versions ("{,3}"): not followed. */
            return -1;
        } else {
            lit = p + i;
            lit_len = char_len((unsigned char)c);
            if (i + lit_len > len)
                return -1;
            i += lit_len;
        }
        enum quant q = read_quant(p, len, &i);
        if (lit && q != Q_OPTIONAL) {
            memmove(buf + *o, lit, lit_len);
            *o += lit_len;
        }
        if (!lit || q != Q_NONE) {
            /* The run ends: a non-literal atom, or a repeated or optional
             * character (what follows need not be adjacent). */
            consider_run(buf, run, *o, ci, &best, all);
            if (fork.active)
                note_fork(all, &fork, buf, run, *o);
            fork.active = false;
            note_choice(all, &group);
            if (group.n > 0 && (best.n == 0 || litset_better(&group, &best)))
                best = group;
            run = *o;
        }
        if (next_fork.active)
            fork = next_fork;
    }
}

size_t vigil_prefilter_literals(const char *p, size_t len, char *buf,
                                size_t cap,
                                struct vigil_prefilter_literal *lits,
                                size_t max)
{
    if (cap < len)
        return 0;
    size_t o = 0;
    struct litset set;
    if (literals_of(p, len, buf, &o, 4, false, &set, NULL) < 0 || set.n > max)
        return 0;
    memcpy(lits, set.v, set.n * sizeof(*lits));
    return set.n;
}

#ifdef VIGIL_HAVE_VECTORSCAN

static void set_bit(uint64_t *bits, size_t i)
{
    bits[i / 64] |= UINT64_C(1) << (i % 64);
}

/* Marks every rule of field as a candidate. */
static void all_of_field(const struct vigil_rule_set *set, size_t field,
                         uint64_t *cand)
{
    const struct vigil_rule_field *f = &set->fields[field];
    for (size_t i = 0; i < f->n_rules; i++)
        set_bit(cand, f->rules[i]);
}

struct pf_field {
    hs_database_t *db; /* NULL when no pattern of the field is filtered */
    size_t *unfiltered;
    size_t n_unfiltered;
};

struct vigil_prefilter {
    const struct vigil_rule_set *set; /* the set owns the prefilter */
    struct pf_field *fields;
    size_t n_fields;
};

struct vigil_prefilter_scratch {
    hs_scratch_t *scratch;
};

bool vigil_prefilter_available(void)
{
    return true;
}

static int mark_unfiltered(struct vigil_rule *r, const char *why)
{
    free(r->unfiltered);
    size_t n = strlen("vectorscan: ") + strlen(why) + 1;
    r->unfiltered = malloc(n);
    if (!r->unfiltered)
        return -1;
    snprintf(r->unfiltered, n, "vectorscan: %s", why);
    return 0;
}

/*
 * No HS_FLAG_SINGLEMATCH: Vectorscan 5.4.9 loses single-match literals in
 * a database that also holds an end-anchored pattern ("b" is never
 * reported in "a" x 100 + "b a" next to "a$"), and a prefilter must never
 * miss. Repeated reports only set the same bit again.
 */
static const unsigned BASE_FLAGS = HS_FLAG_PREFILTER | HS_FLAG_UTF8;

/* Most alternatives whose literals stand for one pattern. */
#define MAX_LITERALS VIGIL_PREFILTER_MAX_LITERALS

/* Writes [cC] + more + ']' at e; returns its length (at most 14). */
static size_t write_class(char *e, char lower, const char *more)
{
    size_t o = 0;
    e[o++] = '[';
    e[o++] = lower;
    e[o++] = (char)(lower - 0x20);
    while (*more)
        e[o++] = *more++;
    e[o++] = ']';
    return o;
}

/*
 * A literal as a Vectorscan expression: ASCII punctuation and control
 * bytes escaped, the rest (letters, digits, UTF-8) as is. NULL when out of
 * memory; free() it.
 */

static char *literal_expression(const struct vigil_prefilter_literal *l)
{
    char *e = malloc(14 * l->len + 1);
    if (!e)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < l->len; i++) {
        unsigned char c = (unsigned char)l->ptr[i];
        if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            e[o++] = '\\';
            e[o++] = 'x';
            e[o++] = hex[c >> 4];
            e[o++] = hex[c & 15];
        } else if (l->caseless && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
            /* [kK\x{212A}]: PCRE2's caseless k and s also match the
             * Kelvin sign and the long s. */
            const char *more = (c | 0x20) == 'k'   ? "\\x{212A}"
                               : (c | 0x20) == 's' ? "\\x{17F}"
                                                   : "";
            o += write_class(e + o, (char)(c | 0x20), more);
        } else {
            if (c < 0x80 && !is_alnum((char)c))
                e[o++] = '\\';
            e[o++] = (char)c;
        }
    }
    e[o] = '\0';
    return e;
}

/* Expressions of one field's database, with what each stands for. */
struct exprs {
    const char **expr;
    unsigned *flags;
    unsigned *ids;
    char **owned; /* literal expressions, freed after compiling */
    size_t n, n_owned, cap;
};

static int exprs_add(struct exprs *x, const char *expr, unsigned flags,
                     unsigned id, bool owned)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        const char **e = realloc(x->expr, cap * sizeof(*e));
        if (e)
            x->expr = e;
        unsigned *f = realloc(x->flags, cap * sizeof(*f));
        if (f)
            x->flags = f;
        unsigned *d = realloc(x->ids, cap * sizeof(*d));
        if (d)
            x->ids = d;
        char **o = realloc(x->owned, cap * sizeof(*o));
        if (o)
            x->owned = o;
        if (!e || !f || !d || !o)
            return -1;
        x->cap = cap;
    }
    x->expr[x->n] = expr;
    x->flags[x->n] = flags;
    x->ids[x->n] = id;
    x->n++;
    if (owned)
        x->owned[x->n_owned++] = (char *)expr;
    return 0;
}

static void exprs_fini(struct exprs *x)
{
    for (size_t i = 0; i < x->n_owned; i++)
        free(x->owned[i]);
    free(x->expr);
    free(x->flags);
    free(x->ids);
    free(x->owned);
}

/* Most literal sets one rule may choose from. */
#define MAX_CHOICES 16

/* The literal sets a rule may be prefiltered with (one of them is
 * enough: every match holds a member of each). */
struct rule_choices {
    char *buf;   /* the literals' bytes */
    char *store; /* and those of spelled-out alternations */
    size_t store_cap;
    struct litset v[MAX_CHOICES];
    size_t n;
    size_t pick; /* the one chosen */
};

/* Fills rc from rule r's pattern; rc->n == 0 when it has no literals.
 * -1 when out of memory. */
static int rule_choices(const struct vigil_rule *r, struct rule_choices *rc)
{
    size_t len;
    const char *pat = vigil_regex_pattern(r->re, &len);
    rc->n = 0;
    rc->pick = 0;
    rc->buf = malloc(len + 1);
    rc->store_cap = 4 * (len + 1);
    rc->store = malloc(rc->store_cap);
    if (!rc->buf || !rc->store)
        return -1;
    if (strlen(pat) != len)
        return 0;
    size_t o = 0;
    struct litset best;
    struct choices all = {rc->v, 0, MAX_CHOICES, rc->store, 0, rc->store_cap};
    if (literals_of(pat, len, rc->buf, &o, 4, false, &best, &all) < 0 ||
        best.n == 0) {
        rc->n = 0;
        return 0;
    }
    rc->n = all.n;
    if (rc->n == 0) { /* several alternatives: one literal each */
        rc->v[0] = best;
        rc->n = 1;
    }
    return 0;
}

static bool ci_contains(const struct vigil_prefilter_literal *hay,
                        const struct vigil_prefilter_literal *needle)
{
    if (needle->len > hay->len)
        return false;
    for (size_t i = 0; i + needle->len <= hay->len; i++) {
        size_t k = 0;
        while (k < needle->len) {
            unsigned char a = (unsigned char)hay->ptr[i + k];
            unsigned char b = (unsigned char)needle->ptr[k];
            if (a != b && !(a < 0x80 && b < 0x80 && (a | 0x20) == (b | 0x20) &&
                            (a | 0x20) >= 'a' && (a | 0x20) <= 'z'))
                break;
            k++;
        }
        if (k == needle->len)
            return true;
    }
    return false;
}

/* Whether rule r requires text holding a member of s (ignoring case, to
 * be safe): its events would make the rule of s a candidate. */
static bool holds(const struct rule_choices *r, const struct litset *s)
{
    for (size_t c = 0; c < r->n; c++)
        for (size_t k = 0; k < r->v[c].n; k++)
            for (size_t m = 0; m < s->n; m++)
                if (ci_contains(&r->v[c].v[k], &s->v[m]))
                    return true;
    return false;
}

/*
 * What choosing set c costs rule self: for each other rule of the field
 * whose events hold a member of c (each makes self a candidate), one,
 * plus one for every other set of self those events hold as well (PCRE2
 * then gets that much further before it fails).
 */
static size_t share_cost(const struct rule_choices *all, size_t n_rules,
                         size_t self, size_t c)
{
    const struct rule_choices *me = &all[self];
    size_t cost = 0;
    for (size_t r = 0; r < n_rules; r++) {
        if (r == self || !holds(&all[r], &me->v[c]))
            continue;
        cost++;
        for (size_t d = 0; d < me->n; d++)
            cost += d != c && holds(&all[r], &me->v[d]);
    }
    return cost;
}

/*
 * Picks each rule's literal set: the one whose sharing by sibling rules
 * of the field costs least (share_cost: a literal such as "PROTO=" that
 * every firewall line holds makes each firewall rule a candidate on every
 * firewall line, where PCRE2 matches most of the pattern before it
 * fails; "(?i:accept|allow)", also held by sshd's "Accepted" lines, costs
 * less, as PCRE2 fails those at once), then the longest.
 */
static void pick_choices(struct rule_choices *all, size_t n_rules)
{
    for (size_t r = 0; r < n_rules; r++) {
        size_t best_cost = SIZE_MAX;
        for (size_t c = 0; c < all[r].n; c++) {
            size_t cost = share_cost(all, n_rules, r, c);
            if (cost < best_cost ||
                (cost == best_cost &&
                 litset_better(&all[r].v[c], &all[r].v[all[r].pick]))) {
                best_cost = cost;
                all[r].pick = c;
            }
        }
    }
}

/*
 * Adds the expressions that prefilter rule r: its chosen required
 * literals when it has some (exact, and far cheaper to scan for than the
 * pattern in prefilter mode, whose automata cost several times more per
 * byte on the shipped packs), else the pattern in prefilter mode. *why is
 * set when Vectorscan cannot take the pattern. -1 when out of memory.
 */
static int add_rule(struct exprs *x, const struct vigil_rule *r,
                    const struct rule_choices *rc, const char **why,
                    hs_compile_error_t **err)
{
    size_t len;
    const char *pat = vigil_regex_pattern(r->re, &len);
    if (strlen(pat) != len) {
        *why = "pattern contains a NUL byte";
        return 0;
    }
    if (rc->n > 0) {
        const struct litset *s = &rc->v[rc->pick];
        /* x owns each e once exprs_add succeeded (x->owned). */
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
        for (size_t i = 0; i < s->n; i++) {
            char *e = literal_expression(&s->v[i]);
            if (!e ||
                exprs_add(x, e, HS_FLAG_UTF8, (unsigned)r->index, true) < 0) {
                free(e);
                return -1;
            }
        }
        return 0;
    }

    hs_expr_info_t *info = NULL;
    unsigned fl = BASE_FLAGS;
    if (hs_expression_info(pat, fl, &info, err) != HS_SUCCESS) {
        *why = *err ? (*err)->message : "rejected";
        return 0;
    }
    if (info->min_width == 0)
        fl |= HS_FLAG_ALLOWEMPTY;
    free(info);
    return exprs_add(x, pat, fl, (unsigned)r->index, false);
}

/* Records that rule id is confirmed on every event of its field. */
static int add_unfiltered(struct vigil_rule_set *set, struct pf_field *out,
                          unsigned id, const char *why)
{
    struct vigil_rule *r = set->rules[id];
    bool listed = r->unfiltered != NULL;
    if (mark_unfiltered(r, why) < 0)
        return -1;
    if (!listed)
        out->unfiltered[out->n_unfiltered++] = id;
    return 0;
}

/*
 * Compiles the database of one field. Patterns Vectorscan rejects are
 * marked unfiltered; a database-wide failure marks all of them.
 */
static int build_field(struct vigil_rule_set *set, size_t fi,
                       struct pf_field *out)
{
    const struct vigil_rule_field *f = &set->fields[fi];
    struct exprs x = {0};
    int rc = -1;
    struct rule_choices *choices = calloc(f->n_rules, sizeof(*choices));
    out->unfiltered = calloc(f->n_rules, sizeof(*out->unfiltered));
    if (!out->unfiltered || !choices)
        goto out_free;
    for (size_t i = 0; i < f->n_rules; i++)
        if (rule_choices(set->rules[f->rules[i]], &choices[i]) < 0)
            goto out_free;
    pick_choices(choices, f->n_rules);

    for (size_t i = 0; i < f->n_rules; i++) {
        const char *why = NULL;
        hs_compile_error_t *err = NULL;
        int a = add_rule(&x, set->rules[f->rules[i]], &choices[i], &why, &err);
        if (a == 0 && why)
            a = add_unfiltered(set, out, (unsigned)f->rules[i], why);
        hs_free_compile_error(err);
        if (a < 0)
            goto out_free;
    }

    /* A pattern can pass alone and still fail in the database: drop it
     * (with every other expression of its rule). */
    while (x.n > 0) {
        hs_compile_error_t *err = NULL;
        if (hs_compile_multi(x.expr, x.flags, x.ids, (unsigned)x.n,
                             HS_MODE_BLOCK, NULL, &out->db, &err) == HS_SUCCESS)
            break;
        out->db = NULL;
        int bad = err->expression;
        bool one = bad >= 0 && (size_t)bad < x.n;
        for (size_t k = 0; k < x.n; k++) {
            if (one && x.ids[k] != x.ids[bad])
                continue;
            if (add_unfiltered(set, out, x.ids[k], err->message) < 0) {
                hs_free_compile_error(err);
                goto out_free;
            }
        }
        hs_free_compile_error(err);
        size_t m = 0;
        for (size_t k = 0; k < x.n; k++) {
            if (set->rules[x.ids[k]]->unfiltered)
                continue;
            x.expr[m] = x.expr[k];
            x.flags[m] = x.flags[k];
            x.ids[m] = x.ids[k];
            m++;
        }
        x.n = m;
    }
    rc = 0;

out_free:
    for (size_t i = 0; choices && i < f->n_rules; i++) {
        free(choices[i].buf);
        free(choices[i].store);
    }
    free(choices);
    exprs_fini(&x);
    return rc;
}

struct vigil_prefilter *vigil_prefilter_build(struct vigil_rule_set *set,
                                              const char **why)
{
    struct vigil_prefilter *pf = calloc(1, sizeof(*pf));
    if (!pf)
        goto err_oom;
    pf->set = set;
    pf->fields = calloc(set->n_fields ? set->n_fields : 1, sizeof(*pf->fields));
    if (!pf->fields)
        goto err_free_pf;
    pf->n_fields = set->n_fields;
    for (size_t i = 0; i < set->n_fields; i++) {
        if (build_field(set, i, &pf->fields[i]) < 0)
            goto err_destroy;
    }
    return pf;

err_destroy:
    vigil_prefilter_destroy(pf);
    goto err_oom;
err_free_pf:
    free(pf);
err_oom:
    *why = "out of memory while building the Vectorscan databases";
    return NULL;
}

void vigil_prefilter_destroy(struct vigil_prefilter *pf)
{
    if (!pf)
        return;
    for (size_t i = 0; i < pf->n_fields; i++) {
        hs_free_database(pf->fields[i].db);
        free(pf->fields[i].unfiltered);
    }
    free(pf->fields);
    free(pf);
}

struct vigil_prefilter_scratch *
vigil_prefilter_scratch_create(const struct vigil_prefilter *pf)
{
    struct vigil_prefilter_scratch *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    for (size_t i = 0; i < pf->n_fields; i++) {
        if (pf->fields[i].db &&
            hs_alloc_scratch(pf->fields[i].db, &s->scratch) != HS_SUCCESS) {
            vigil_prefilter_scratch_destroy(s);
            return NULL;
        }
    }
    return s;
}

void vigil_prefilter_scratch_destroy(struct vigil_prefilter_scratch *s)
{
    if (!s)
        return;
    hs_free_scratch(s->scratch);
    free(s);
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
                    unsigned flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    set_bit(ctx, id);
    return 0;
}

void vigil_prefilter_scan(const struct vigil_prefilter *pf,
                          struct vigil_prefilter_scratch *s, size_t field,
                          const char *data, size_t len, bool utf8,
                          uint64_t *cand)
{
    const struct pf_field *f = &pf->fields[field];
    for (size_t i = 0; i < f->n_unfiltered; i++)
        set_bit(cand, f->unfiltered[i]);
    if (!f->db)
        return;
    if (!data)
        data = "";
    /* HS_FLAG_UTF8 is undefined on broken UTF-8: let PCRE2 decide. */
    if (len > UINT32_MAX || (!utf8 && !vigil_utf8_valid(data, len)) ||
        hs_scan(f->db, data, (unsigned)len, 0, s->scratch, on_match, cand) !=
            HS_SUCCESS)
        all_of_field(pf->set, field, cand);
}

#else /* !VIGIL_HAVE_VECTORSCAN */

bool vigil_prefilter_available(void)
{
    return false;
}

struct vigil_prefilter *vigil_prefilter_build(struct vigil_rule_set *set,
                                              const char **why)
{
    (void)set;
    *why = "vigild was built without Vectorscan";
    return NULL;
}

void vigil_prefilter_destroy(struct vigil_prefilter *pf)
{
    (void)pf;
}

struct vigil_prefilter_scratch *
vigil_prefilter_scratch_create(const struct vigil_prefilter *pf)
{
    (void)pf;
    return NULL;
}

void vigil_prefilter_scratch_destroy(struct vigil_prefilter_scratch *s)
{
    (void)s;
}

void vigil_prefilter_scan(const struct vigil_prefilter *pf,
                          struct vigil_prefilter_scratch *s, size_t field,
                          const char *data, size_t len, bool utf8,
                          uint64_t *cand)
{
    (void)pf;
    (void)s;
    (void)data;
    (void)len;
    (void)utf8;
    (void)cand;
    (void)field;
}

#endif
