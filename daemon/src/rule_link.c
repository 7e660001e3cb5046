/*
 * rule_link: the checks that need every file of a set at once (duplicate
 * rule ids, one kind per counter, pair start/end rules and their keys)
 * and the per-rule counter specs that result.
 */
#include <stdlib.h>
#include <string.h>

#include "rule_load.h"

void vigil_ref_fini(struct vigil_ref *ref)
{
    free((char *)ref->name.ptr);
    memset(ref, 0, sizeof(*ref));
}

void vigil_count_draft_fini(struct vigil_count_draft *d)
{
    free(d->counter);
    free(d->start);
    free(d->end);
    free(d->key);
    vigil_ref_fini(&d->ref);
    memset(d, 0, sizeof(*d));
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, c * size);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

int vigil_loader_add_rule(struct vigil_loader *l, struct vigil_rule *r,
                          struct vigil_rule_file *lf, struct fy_node *id)
{
    size_t cap = l->cap_rules;
    if (grow((void **)&l->rules, &cap, l->n_rules, sizeof(*l->rules)) < 0)
        return -1;
    cap = l->cap_rules;
    if (grow((void **)&l->rule_files, &cap, l->n_rules,
             sizeof(*l->rule_files)) < 0)
        return -1;
    cap = l->cap_rules;
    if (grow((void **)&l->rule_ids, &cap, l->n_rules, sizeof(*l->rule_ids)) < 0)
        return -1;
    l->cap_rules = cap;
    r->index = l->n_rules;
    l->rules[l->n_rules] = r;
    l->rule_files[l->n_rules] = lf;
    l->rule_ids[l->n_rules] = id;
    l->n_rules++;
    return 0;
}

int vigil_loader_add_count(struct vigil_loader *l,
                           const struct vigil_count_draft *d)
{
    if (grow((void **)&l->counts, &l->cap_counts, l->n_counts,
             sizeof(*l->counts)) < 0)
        return -1;
    l->counts[l->n_counts++] = *d;
    return 0;
}

void vigil_loader_fini(struct vigil_loader *l)
{
    for (size_t i = 0; i < l->n_counts; i++)
        vigil_count_draft_fini(&l->counts[i]);
    free(l->counts);
    for (size_t i = 0; i < l->n_rules; i++)
        vigil_rule_free(l->rules[i]);
    free(l->rules);
    free(l->rule_files);
    free(l->rule_ids);
    for (size_t i = 0; i < l->n_counters; i++) {
        free(l->counters[i]->name);
        free(l->counters[i]);
    }
    free(l->counters);
    for (size_t i = 0; i < l->n_files; i++) {
        if (l->files[i].parsed)
            vigil_yaml_fini(&l->files[i].y);
        free(l->files[i].text);
    }
    free(l->files);
    memset(l, 0, sizeof(*l));
}

static struct vigil_rule *find_rule(struct vigil_loader *l, const char *id)
{
    for (size_t i = 0; i < l->n_rules; i++) {
        if (l->rules[i]->id && strcmp(l->rules[i]->id, id) == 0)
            return l->rules[i];
    }
    return NULL;
}

static void check_ids(struct vigil_loader *l)
{
    for (size_t i = 1; i < l->n_rules; i++) {
        const char *id = l->rules[i]->id;
        for (size_t j = 0; id && j < i; j++) {
            const struct vigil_rule *first = l->rules[j];
            if (!first->id || strcmp(first->id, id) != 0)
                continue;
            vigil_yaml_error(&l->rule_files[i]->y, l->rule_ids[i],
                             "duplicate rule id '%s' (first defined at "
                             "%s:%d:%d)",
                             id, first->file, first->line, first->col);
            break;
        }
    }
}

/* Adds a spec to r; ref is moved into it. Reports a counter fed twice. */
static int add_spec(struct vigil_count_draft *d, struct vigil_rule *r,
                    const struct vigil_counter *c, enum vigil_pair_role role,
                    struct vigil_ref *ref, struct fy_node *where)
{
    for (size_t i = 0; i < r->n_counts; i++) {
        if (r->counts[i].counter == c) {
            vigil_yaml_error(&d->file->y, where,
                             "rule '%s' feeds counter '%s' twice", r->id,
                             c->name);
            vigil_ref_fini(ref);
            return -1;
        }
    }
    struct vigil_count_spec *s =
        realloc(r->counts, (r->n_counts + 1) * sizeof(*s));
    if (!s) {
        vigil_yaml_error(&d->file->y, where, "out of memory");
        vigil_ref_fini(ref);
        return -1;
    }
    r->counts = s;
    s[r->n_counts++] = (struct vigil_count_spec){c, role, *ref};
    memset(ref, 0, sizeof(*ref));
    return 0;
}

/* Resolves a pair's start or end rule and the key within it. */
static int pair_end(struct vigil_loader *l, struct vigil_count_draft *d,
                    struct vigil_counter *c, const char *id,
                    struct fy_node *node, enum vigil_pair_role role)
{
    const char *what = role == VIGIL_PAIR_START ? "start" : "end";
    struct vigil_rule *r = find_rule(l, id);
    if (!r) {
        vigil_yaml_error(&d->file->y, node, "pair %s: no rule with id '%s'",
                         what, id);
        return -1;
    }
    if (role == VIGIL_PAIR_START)
        c->start = r;
    else
        c->end = r;
    struct vigil_ref ref;
    if (vigil_rule_ref_resolve(&d->file->y, d->key_node, r, "pair key", d->key,
                               strlen(d->key), &ref) < 0)
        return -1;
    return add_spec(d, r, c, role, &ref, node);
}

static bool same_pair(const struct vigil_count_draft *a,
                      const struct vigil_count_draft *b)
{
    return strcmp(a->start, b->start) == 0 && strcmp(a->end, b->end) == 0 &&
           strcmp(a->key, b->key) == 0 && a->within_ms == b->within_ms;
}

int vigil_loader_link(struct vigil_loader *l)
{
    int rc = 0;
    unsigned before = 0;
    for (size_t i = 0; i < l->n_files; i++)
        before += l->files[i].y.errors;
    check_ids(l);

    /* first[i]: the draft that defined counter i. */
    struct vigil_count_draft **first =
        calloc(l->n_counts ? l->n_counts : 1, sizeof(*first));
    l->counters = calloc(l->n_counts ? l->n_counts : 1, sizeof(*l->counters));
    if (!first || !l->counters) {
        free(first);
        l->failed = true;
        return -1;
    }
    for (size_t i = 0; i < l->n_counts; i++) {
        struct vigil_count_draft *d = &l->counts[i];
        bool pair = d->kind == VIGIL_COUNT_PAIR;
        if (pair && (!d->start || !d->end || !d->key))
            continue; /* already reported */
        if (pair && strcmp(d->start, d->end) == 0) {
            vigil_yaml_error(&d->file->y, d->end_node,
                             "pair start and end must be different rules");
            continue;
        }
        struct vigil_counter *c = NULL;
        size_t k = 0;
        for (; k < l->n_counters; k++) {
            /* counters[0..n_counters) are all set (below) */
            // NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
            if (strcmp(l->counters[k]->name, d->counter) == 0) {
                c = l->counters[k];
                break;
            }
        }
        if (c && c->kind != d->kind) {
            const struct vigil_count_draft *f = first[k];
            int line, col;
            vigil_yaml_mark(f->counter_node, &line, &col);
            vigil_yaml_error(&d->file->y, d->counter_node,
                             "counter '%s' is a %s counter here but a %s "
                             "counter in rule '%s' at %s:%d:%d; a counter "
                             "has exactly one kind",
                             d->counter, vigil_count_kind_name(d->kind),
                             vigil_count_kind_name(c->kind), f->rule->id,
                             f->file->y.file, line, col);
            continue;
        }
        if (c && pair) {
            const struct vigil_count_draft *f = first[k];
            if (!same_pair(d, f)) {
                int line, col;
                vigil_yaml_mark(f->counter_node, &line, &col);
                vigil_yaml_error(&d->file->y, d->counter_node,
                                 "pair counter '%s' is already defined with "
                                 "another start, end, key or within at "
                                 "%s:%d:%d",
                                 d->counter, f->file->y.file, line, col);
            }
            continue; /* the first definition feeds its rules */
        }
        if (!c) {
            c = calloc(1, sizeof(*c));
            if (!c || !(c->name = strdup(d->counter))) {
                free(c);
                l->failed = true;
                rc = -1;
                break;
            }
            c->kind = d->kind;
            c->index = l->n_counters;
            first[l->n_counters] = d;
            l->counters[l->n_counters++] = c;
        }
        if (!pair) {
            add_spec(d, d->rule, c, VIGIL_PAIR_NONE, &d->ref, d->counter_node);
            continue;
        }
        c->within_ms = d->within_ms;
        pair_end(l, d, c, d->start, d->start_node, VIGIL_PAIR_START);
        pair_end(l, d, c, d->end, d->end_node, VIGIL_PAIR_END);
    }
    free(first);

    unsigned after = 0;
    for (size_t i = 0; i < l->n_files; i++)
        after += l->files[i].y.errors;
    return rc < 0 || after > before ? -1 : 0;
}
