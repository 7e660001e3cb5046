#include "matcher.h"

#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "rule_set_priv.h"

/*
 * Field lookups go through an index built once per event: every name a
 * rule or a condition looks up has a slot (the set's fields first, slot f
 * for set->fields[f], then the names only conditions use), and one pass
 * over the event's fields finds each slot's field through a small hash
 * table of the slot names. That replaces a linear search over the event's
 * fields for every name. The last field of a name wins, as for
 * vigil_event_find().
 */
struct vigil_matcher {
    struct vigil_rule_set *set;
    struct vigil_regex_ctx *rx;
    struct vigil_prefilter_scratch *pf; /* NULL without prefilter */
    uint64_t *cand;                     /* candidate rules, one bit each */
    size_t words;
    struct vigil_sv *values;     /* per field of the set, when a candidate's */
    struct vigil_sv *caps;       /* captures of the rule being tried */
    struct vigil_sv *slot_names; /* borrowed from the set's rules */
    size_t n_slots;
    uint32_t *table;     /* hash of slot names: slot + 1, 0 empty */
    uint32_t table_mask; /* table size - 1 (a power of two) */
    size_t name_max;     /* longest slot name */
    uint64_t keys[4];    /* bit name_key(): some slot name has that key */
    uint32_t *cond_slot; /* per field condition, by cond_base */
    size_t *cond_base;   /* per rule: its first condition's index */
    int32_t *slot_field; /* per slot: the event's field, -1 absent */
    size_t indexed;      /* ev->n_fields when slot_field was filled */
    uint32_t *present;   /* the set's fields the event has */
    size_t n_present;
};

/* A byte of a field name's length, first and last bytes: most names no
 * rule looks up are told apart by a bit test on it. */
static inline uint32_t name_key(const char *p, size_t len)
{
    if (len == 0)
        return 0;
    return ((uint32_t)len * 7u + (uint32_t)(unsigned char)p[0] * 3u +
            (uint32_t)(unsigned char)p[len - 1]) &
           255u;
}

/* Cheap hash of a field name: its length and three of its bytes. */
static inline uint32_t name_hash(const char *p, size_t len)
{
    if (len == 0)
        return 0;
    uint32_t h = (uint32_t)len * 0x9E3779B1u;
    h ^= (uint32_t)(unsigned char)p[0] * 0x85EBCA77u;
    h ^= (uint32_t)(unsigned char)p[len - 1] * 0xC2B2AE3Du;
    h ^= (uint32_t)(unsigned char)p[len / 2] * 0x27D4EB2Fu;
    return h ^ (h >> 15);
}

/* The slot of name, or -1. */
static inline int32_t slot_find(const struct vigil_matcher *m,
                                struct vigil_sv name)
{
    if (name.len > m->name_max)
        return -1;
    uint32_t key = name_key(name.ptr, name.len);
    if (!(m->keys[key / 64] >> (key % 64) & 1))
        return -1;
    for (uint32_t h = name_hash(name.ptr, name.len) & m->table_mask;;
         h = (h + 1) & m->table_mask) {
        uint32_t s = m->table[h];
        if (s == 0)
            return -1;
        if (vigil_sv_eq(m->slot_names[s - 1], name))
            return (int32_t)(s - 1);
    }
}

/* The slot of name, added when new; -1 when out of memory. */
static int32_t slot_add(struct vigil_matcher *m, struct vigil_sv name,
                        size_t *cap)
{
    for (size_t s = 0; s < m->n_slots; s++) {
        if (vigil_sv_eq(m->slot_names[s], name))
            return (int32_t)s;
    }
    if (m->n_slots == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct vigil_sv *n = realloc(m->slot_names, c * sizeof(*n));
        if (!n)
            return -1;
        m->slot_names = n;
        *cap = c;
    }
    m->slot_names[m->n_slots] = name;
    return (int32_t)m->n_slots++;
}

/* Slots for the set's fields and every field condition; the hash table. */
static int build_index(struct vigil_matcher *m)
{
    const struct vigil_rule_set *set = m->set;
    size_t cap = 0, n_conds = 0;
    for (size_t f = 0; f < set->n_fields; f++) {
        if (slot_add(m, set->fields[f].name, &cap) != (int32_t)f)
            return -1; /* the set's fields are distinct */
    }
    m->cond_base =
        calloc(set->n_rules ? set->n_rules : 1, sizeof(*m->cond_base));
    if (!m->cond_base)
        return -1;
    for (size_t i = 0; i < set->n_rules; i++) {
        m->cond_base[i] = n_conds;
        n_conds += set->rules[i]->n_when + set->rules[i]->n_unless;
    }
    m->cond_slot = calloc(n_conds ? n_conds : 1, sizeof(*m->cond_slot));
    if (!m->cond_slot)
        return -1;
    for (size_t i = 0; i < set->n_rules; i++) {
        const struct vigil_rule *r = set->rules[i];
        for (size_t k = 0; k < r->n_when + r->n_unless; k++) {
            const struct vigil_cond *c =
                k < r->n_when ? &r->when[k] : &r->unless[k - r->n_when];
            if (c->ref.kind != VIGIL_REF_FIELD)
                continue;
            int32_t s = slot_add(m, c->ref.name, &cap);
            if (s < 0)
                return -1;
            m->cond_slot[m->cond_base[i] + k] = (uint32_t)s;
        }
    }
    size_t size = 16;
    while (size < m->n_slots * 4)
        size *= 2;
    m->table = calloc(size, sizeof(*m->table));
    m->slot_field = calloc(m->n_slots ? m->n_slots : 1, sizeof(*m->slot_field));
    if (!m->table || !m->slot_field)
        return -1;
    m->table_mask = (uint32_t)(size - 1);
    for (size_t s = 0; s < m->n_slots; s++) {
        struct vigil_sv name = m->slot_names[s];
        if (name.len > m->name_max)
            m->name_max = name.len;
        uint32_t key = name_key(name.ptr, name.len);
        m->keys[key / 64] |= UINT64_C(1) << (key % 64);
        uint32_t h = name_hash(name.ptr, name.len) & m->table_mask;
        while (m->table[h])
            h = (h + 1) & m->table_mask;
        m->table[h] = (uint32_t)s + 1;
    }
    return 0;
}

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
    m->present = calloc(set->n_fields ? set->n_fields : 1, sizeof(*m->present));
    m->caps =
        calloc(set->max_captures ? set->max_captures : 1, sizeof(*m->caps));
    if (!m->rx || !m->cand || !m->values || !m->present || !m->caps ||
        build_index(m) < 0)
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
    free(m->present);
    free(m->caps);
    free(m->slot_names);
    free(m->table);
    free(m->cond_slot);
    free(m->cond_base);
    free(m->slot_field);
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

/*
 * Finds the field of every slot in ev (one pass over its fields), and
 * lists the set's fields that ev has.
 */
static void index_event(struct vigil_matcher *m, const struct vigil_event *ev)
{
    size_t n_fields = m->set->n_fields;
    for (size_t s = 0; s < m->n_slots; s++)
        m->slot_field[s] = -1;
    m->n_present = 0;
    for (size_t i = 0; i < ev->n_fields; i++) {
        int32_t s = slot_find(m, ev->fields[i].name);
        if (s < 0)
            continue;
        if ((size_t)s < n_fields && m->slot_field[s] < 0)
            m->present[m->n_present++] = (uint32_t)s;
        m->slot_field[s] = (int32_t)i;
    }
    m->indexed = ev->n_fields;
}

/* The value of the field in slot s, as field_value(). */
static int slot_value(struct vigil_matcher *m, struct vigil_event *ev,
                      uint32_t s, struct vigil_sv *out)
{
    /* A callback that added fields: index again (shadowing may differ). */
    if (m->indexed != ev->n_fields)
        index_event(m, ev);
    int32_t i = m->slot_field[s];
    if (i < 0 || vigil_event_value(ev, &ev->fields[i], out) < 0)
        return -1;
    if (!out->ptr)
        *out = (struct vigil_sv){"", 0};
    return 0;
}

/* 1 when c holds, 0 when not, VIGIL_REGEX_LIMIT when a limit was hit. */
static int cond_holds(struct vigil_matcher *m, struct vigil_event *ev,
                      const struct vigil_cond *c, uint32_t slot)
{
    struct vigil_sv v;
    if (c->ref.kind == VIGIL_REF_CAPTURE) {
        v = m->caps[c->ref.capture];
        if (!v.ptr)
            return 0;
    } else if (slot_value(m, ev, slot, &v) < 0) {
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
    const uint32_t *slots = m->cond_slot + m->cond_base[r->index];
    for (size_t i = 0; i < r->n_when; i++) {
        if ((r->when[i].ref.kind == VIGIL_REF_CAPTURE) != on_captures)
            continue;
        int h = cond_holds(m, ev, &r->when[i], slots[i]);
        if (h != 1)
            return h;
    }
    slots += r->n_when;
    for (size_t i = 0; i < r->n_unless; i++) {
        if ((r->unless[i].ref.kind == VIGIL_REF_CAPTURE) != on_captures)
            continue;
        int h = cond_holds(m, ev, &r->unless[i], slots[i]);
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

/*
 * Looks up every field the rules run on and marks the candidates: only
 * rules whose field the event has and could be read (values[f] is set for
 * every candidate's field).
 */
static void find_candidates(struct vigil_matcher *m, struct vigil_event *ev)
{
    const struct vigil_rule_set *set = m->set;
    memset(m->cand, 0, m->words * sizeof(*m->cand));
    index_event(m, ev);
    for (size_t k = 0; k < m->n_present; k++) {
        uint32_t f = m->present[k];
        struct vigil_sv v;
        if (slot_value(m, ev, f, &v) < 0)
            continue;
        m->values[f] = v;
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
