#include "matcher.h"

#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "rule_set_priv.h"

enum { VALUE_UNKNOWN, VALUE_PRESENT, VALUE_ABSENT };

struct vigil_matcher {
    struct vigil_rule_set *set;
    struct vigil_regex_ctx *rx;
    struct vigil_prefilter_scratch *pf; /* NULL without prefilter */
    uint64_t *cand;                     /* candidate rules, one bit each */
    size_t words;
    struct vigil_sv *values; /* per field of the set */
    uint8_t *state;          /* per field: VALUE_* */
    struct vigil_sv *caps;   /* captures of the rule being tried */
};

struct vigil_matcher *vigil_matcher_create(struct vigil_rule_set *set)
{
    struct vigil_matcher *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->set = vigil_rule_set_ref(set);
    m->rx = vigil_regex_ctx_create(&set->limits, set->max_groups);
    m->words = (set->n_rules + 63) / 64;
    m->cand = calloc(m->words ? m->words : 1, sizeof(*m->cand));
    m->values = calloc(set->n_fields ? set->n_fields : 1, sizeof(*m->values));
    m->state = calloc(set->n_fields ? set->n_fields : 1, sizeof(*m->state));
    m->caps =
        calloc(set->max_captures ? set->max_captures : 1, sizeof(*m->caps));
    if (!m->rx || !m->cand || !m->values || !m->state || !m->caps)
        goto err_destroy;
    if (set->prefilter) {
        m->pf = vigil_prefilter_scratch_create(set->prefilter);
        if (!m->pf)
            goto err_destroy;
    }
    return m;

err_destroy:
    vigil_matcher_destroy(m);
    return NULL;
}

void vigil_matcher_destroy(struct vigil_matcher *m)
{
    if (!m)
        return;
    vigil_prefilter_scratch_destroy(m->pf);
    vigil_regex_ctx_destroy(m->rx);
    free(m->cand);
    free(m->values);
    free(m->state);
    free(m->caps);
    vigil_rule_set_unref(m->set);
    free(m);
}

struct vigil_rule_set *vigil_matcher_rule_set(const struct vigil_matcher *m)
{
    return m->set;
}

static int field_value(struct vigil_event *ev, struct vigil_sv name,
                       struct vigil_sv *out)
{
    const struct vigil_field *f = vigil_event_find(ev, name);
    if (!f || vigil_event_value(ev, f, out) < 0)
        return -1;
    if (!out->ptr)
        *out = (struct vigil_sv){"", 0};
    return 0;
}

int vigil_match_ref(const struct vigil_match *m, struct vigil_event *ev,
                    const struct vigil_ref *ref, struct vigil_sv *out)
{
    switch (ref->kind) {
    case VIGIL_REF_CAPTURE:
        if (ref->capture >= m->rule->n_captures ||
            !m->captures[ref->capture].ptr)
            return -1;
        *out = m->captures[ref->capture];
        return 0;
    case VIGIL_REF_FIELD:
        return field_value(ev, ref->name, out);
    default:
        return -1;
    }
}

/* 1 when c holds, 0 when not, VIGIL_REGEX_LIMIT when a limit was hit. */
static int cond_holds(struct vigil_matcher *m, struct vigil_event *ev,
                      const struct vigil_cond *c)
{
    struct vigil_sv v;
    if (c->ref.kind == VIGIL_REF_CAPTURE) {
        v = m->caps[c->ref.capture];
        if (!v.ptr)
            return 0;
    } else if (field_value(ev, c->ref.name, &v) < 0) {
        return 0;
    }
    if (!c->re)
        return v.len == c->exact_len && memcmp(v.ptr, c->exact, v.len) == 0;
    int rc = vigil_regex_test(m->rx, c->re, v.ptr, v.len);
    return rc == VIGIL_REGEX_LIMIT ? rc : rc == VIGIL_REGEX_MATCH;
}

/*
 * Checks the conditions on captures (after the pattern matched) or the
 * others (before, as a cheap reject): 1 pass, 0 fail, or the limit.
 */
static int conds_pass(struct vigil_matcher *m, struct vigil_event *ev,
                      const struct vigil_rule *r, bool on_captures)
{
    for (size_t i = 0; i < r->n_when; i++) {
        if ((r->when[i].ref.kind == VIGIL_REF_CAPTURE) != on_captures)
            continue;
        int h = cond_holds(m, ev, &r->when[i]);
        if (h != 1)
            return h;
    }
    for (size_t i = 0; i < r->n_unless; i++) {
        if ((r->unless[i].ref.kind == VIGIL_REF_CAPTURE) != on_captures)
            continue;
        int h = cond_holds(m, ev, &r->unless[i]);
        if (h != 0)
            return h == 1 ? 0 : h;
    }
    return 1;
}

static void count_limit(struct vigil_matcher *m, const struct vigil_rule *r)
{
    atomic_fetch_add_explicit(&m->set->limit_hits[r->index], 1,
                              memory_order_relaxed);
}

/* Confirms one candidate; true when it matches (captures in m->caps). */
static bool try_rule(struct vigil_matcher *m, struct vigil_event *ev,
                     const struct vigil_rule *r, struct vigil_sv subject)
{
    int h = conds_pass(m, ev, r, false);
    if (h == VIGIL_REGEX_LIMIT)
        count_limit(m, r);
    if (h != 1)
        return false;
    int rc = vigil_regex_match(m->rx, r->re, subject.ptr, subject.len);
    if (rc == VIGIL_REGEX_LIMIT)
        count_limit(m, r);
    if (rc != VIGIL_REGEX_MATCH)
        return false;
    for (size_t i = 0; i < r->n_captures; i++) {
        const struct vigil_capture_def *c = &r->captures[i];
        m->caps[i] = (struct vigil_sv){NULL, 0};
        for (uint32_t k = 0; k < c->n_groups; k++) {
            size_t s, e;
            if (vigil_regex_group(m->rx, c->groups[k], &s, &e)) {
                m->caps[i] = (struct vigil_sv){subject.ptr + s, e - s};
                break;
            }
        }
    }
    h = conds_pass(m, ev, r, true);
    if (h == VIGIL_REGEX_LIMIT)
        count_limit(m, r);
    return h == 1;
}

/* Looks up every field the rules run on and marks the candidates. */
static void find_candidates(struct vigil_matcher *m, struct vigil_event *ev)
{
    const struct vigil_rule_set *set = m->set;
    memset(m->cand, 0, m->words * sizeof(*m->cand));
    for (size_t f = 0; f < set->n_fields; f++) {
        struct vigil_sv v;
        if (field_value(ev, set->fields[f].name, &v) < 0) {
            m->state[f] = VALUE_ABSENT;
            continue;
        }
        m->values[f] = v;
        m->state[f] = VALUE_PRESENT;
        if (set->prefilter) {
            vigil_prefilter_scan(set->prefilter, m->pf, f, v.ptr, v.len,
                                 ev->utf8, m->cand);
            continue;
        }
        const struct vigil_rule_field *rf = &set->fields[f];
        for (size_t i = 0; i < rf->n_rules; i++)
            m->cand[rf->rules[i] / 64] |= UINT64_C(1) << (rf->rules[i] % 64);
    }
}

int vigil_matcher_run(struct vigil_matcher *m, struct vigil_event *ev,
                      vigil_match_fn cb, void *user)
{
    const struct vigil_rule_set *set = m->set;
    find_candidates(m, ev);
    int matched = 0;
    for (size_t w = 0; w < m->words; w++) {
        uint64_t bits = m->cand[w];
        while (bits) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            const struct vigil_rule *r = set->rules[i];
            if (m->state[r->field_index] != VALUE_PRESENT)
                continue;
            struct vigil_sv subject = m->values[r->field_index];
            if (!try_rule(m, ev, r, subject))
                continue;
            matched++;
            struct vigil_match match = {r, subject, m->caps};
            int rc = cb ? cb(&match, user) : 0;
            if (rc < 0)
                return rc;
        }
    }
    return matched;
}
