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

/*
 * Compiles the database of one field. Patterns Vectorscan rejects are
 * marked unfiltered; a database-wide failure marks all of them.
 */
static int build_field(struct vigil_rule_set *set, size_t fi,
                       struct pf_field *out)
{
    const struct vigil_rule_field *f = &set->fields[fi];
    const char **exprs = calloc(f->n_rules, sizeof(*exprs));
    unsigned *flags = calloc(f->n_rules, sizeof(*flags));
    unsigned *ids = calloc(f->n_rules, sizeof(*ids));
    out->unfiltered = calloc(f->n_rules, sizeof(*out->unfiltered));
    int rc = -1;
    if (!exprs || !flags || !ids || !out->unfiltered)
        goto out_free;

    unsigned n = 0;
    for (size_t i = 0; i < f->n_rules; i++) {
        struct vigil_rule *r = set->rules[f->rules[i]];
        size_t len;
        const char *pat = vigil_regex_pattern(r->re, &len);
        const char *why = NULL;
        hs_expr_info_t *info = NULL;
        hs_compile_error_t *err = NULL;
        unsigned fl = BASE_FLAGS;
        if (strlen(pat) != len) {
            why = "pattern contains a NUL byte";
        } else if (hs_expression_info(pat, fl, &info, &err) != HS_SUCCESS) {
            why = err ? err->message : "rejected";
        } else if (info->min_width == 0) {
            fl |= HS_FLAG_ALLOWEMPTY;
        }
        if (why) {
            int m = mark_unfiltered(r, why);
            hs_free_compile_error(err);
            if (m < 0)
                goto out_free;
            out->unfiltered[out->n_unfiltered++] = r->index;
            continue;
        }
        free(info);
        exprs[n] = pat;
        flags[n] = fl;
        ids[n] = (unsigned)r->index;
        n++;
    }

    /* A pattern can pass alone and still fail in the database: drop it. */
    while (n > 0) {
        hs_compile_error_t *err = NULL;
        if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL,
                             &out->db, &err) == HS_SUCCESS)
            break;
        out->db = NULL;
        int bad = err->expression;
        unsigned from = bad >= 0 && (unsigned)bad < n ? (unsigned)bad : 0;
        unsigned to = bad >= 0 && (unsigned)bad < n ? (unsigned)bad + 1 : n;
        for (unsigned k = from; k < to; k++) {
            if (mark_unfiltered(set->rules[ids[k]], err->message) < 0) {
                hs_free_compile_error(err);
                goto out_free;
            }
            out->unfiltered[out->n_unfiltered++] = ids[k];
        }
        hs_free_compile_error(err);
        memmove(exprs + from, exprs + to, (n - to) * sizeof(*exprs));
        memmove(flags + from, flags + to, (n - to) * sizeof(*flags));
        memmove(ids + from, ids + to, (n - to) * sizeof(*ids));
        n -= to - from;
    }
    rc = 0;

out_free:
    free(exprs);
    free(flags);
    free(ids);
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
                          const char *data, size_t len, uint64_t *cand)
{
    const struct pf_field *f = &pf->fields[field];
    for (size_t i = 0; i < f->n_unfiltered; i++)
        set_bit(cand, f->unfiltered[i]);
    if (!f->db)
        return;
    if (!data)
        data = "";
    /* HS_FLAG_UTF8 is undefined on broken UTF-8: let PCRE2 decide. */
    if (len > UINT32_MAX || !vigil_utf8_valid(data, len) ||
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
                          const char *data, size_t len, uint64_t *cand)
{
    (void)pf;
    (void)s;
    (void)data;
    (void)len;
    (void)cand;
    (void)field;
}

#endif
