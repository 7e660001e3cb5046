#include "rule_set.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_load.h"

static const char *const severity_names[] = {"info", "low", "medium", "high",
                                             "critical"};

const char *vigil_severity_name(enum vigil_severity s)
{
    return (unsigned)s < 5 ? severity_names[s] : "?";
}

int vigil_severity_parse(const char *s, size_t len, enum vigil_severity *out)
{
    for (unsigned i = 0; i < 5; i++) {
        if (strlen(severity_names[i]) == len &&
            memcmp(severity_names[i], s, len) == 0) {
            *out = (enum vigil_severity)i;
            return 0;
        }
    }
    return -1;
}

const char *vigil_count_kind_name(enum vigil_count_kind k)
{
    static const char *const names[] = {"plain", "by", "distinct", "sum",
                                        "pair"};
    return (unsigned)k < 5 ? names[k] : "?";
}

static void conds_free(struct vigil_cond *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vigil_ref_fini(&c[i].ref);
        free(c[i].exact);
        vigil_regex_destroy(c[i].re);
    }
    free(c);
}

void vigil_rule_free(struct vigil_rule *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->title);
    free(r->pack);
    free(r->field);
    vigil_regex_destroy(r->re);
    for (size_t i = 0; i < r->n_captures; i++) {
        free(r->captures[i].name);
        free(r->captures[i].groups);
    }
    free(r->captures);
    conds_free(r->when, r->n_when);
    conds_free(r->unless, r->n_unless);
    for (size_t i = 0; i < r->n_counts; i++)
        vigil_ref_fini(&r->counts[i].ref);
    free(r->counts);
    vigil_strv_free(r->tags);
    for (size_t i = 0; i < r->n_tests; i++) {
        struct vigil_rule_test *t = &r->tests[i];
        free(t->text);
        for (size_t k = 0; k < t->n_expects; k++) {
            vigil_ref_fini(&t->expects[k].ref);
            free(t->expects[k].value);
        }
        free(t->expects);
    }
    free(r->tests);
    free(r->file);
    free(r->unfiltered);
    free(r);
}

static void set_destroy(struct vigil_rule_set *set)
{
    vigil_prefilter_destroy(set->prefilter);
    for (size_t i = 0; i < set->n_rules; i++)
        vigil_rule_free(set->rules[i]);
    free(set->rules);
    for (size_t i = 0; i < set->n_counters; i++) {
        free(set->counters[i]->name);
        free(set->counters[i]);
    }
    free(set->counters);
    for (size_t i = 0; i < set->n_fields; i++) {
        free((char *)set->fields[i].name.ptr);
        free(set->fields[i].rules);
    }
    free(set->fields);
    free(set->limit_hits);
    free(set->matches);
    free(set);
}

/* Groups the rules by the field their pattern runs on. */
static int build_fields(struct vigil_rule_set *set)
{
    set->fields = calloc(set->n_rules ? set->n_rules : 1, sizeof(*set->fields));
    if (!set->fields)
        return -1;
    for (size_t i = 0; i < set->n_rules; i++) {
        struct vigil_rule *r = set->rules[i];
        struct vigil_sv name = {r->field, strlen(r->field)};
        size_t f = 0;
        while (f < set->n_fields && !vigil_sv_eq(set->fields[f].name, name))
            f++;
        if (f == set->n_fields) {
            char *copy = strdup(r->field);
            if (!copy)
                return -1;
            set->fields[f].name = (struct vigil_sv){copy, name.len};
            set->n_fields++;
        }
        r->field_index = f;
        set->fields[f].n_rules++;
    }
    for (size_t f = 0; f < set->n_fields; f++) {
        /* A field is listed once a rule reads it: n_rules >= 1. */
        set->fields[f].rules =
            calloc(set->fields[f].n_rules + 1, sizeof(*set->fields[f].rules));
        if (!set->fields[f].rules)
            return -1;
        set->fields[f].n_rules = 0;
    }
    for (size_t i = 0; i < set->n_rules; i++) {
        struct vigil_rule_field *f = &set->fields[set->rules[i]->field_index];
        f->rules[f->n_rules++] = i;
    }
    return 0;
}

struct vigil_rule_set *
vigil_rule_set_assemble(struct vigil_rule **rules, size_t n_rules,
                        struct vigil_counter **counters, size_t n_counters,
                        const struct vigil_rule_set_options *opts,
                        struct vigil_diags *diags)
{
    struct vigil_rule_set *set = calloc(1, sizeof(*set));
    if (!set) {
        for (size_t i = 0; i < n_rules; i++)
            vigil_rule_free(rules[i]);
        free(rules);
        for (size_t i = 0; i < n_counters; i++) {
            free(counters[i]->name);
            free(counters[i]);
        }
        free(counters);
        goto err_oom;
    }
    atomic_init(&set->refs, 1);
    set->rules = rules;
    set->n_rules = n_rules;
    set->counters = counters;
    set->n_counters = n_counters;
    if (opts)
        set->limits = opts->limits;
    vigil_regex_limits_resolve(&set->limits);
    for (size_t i = 0; i < n_rules; i++) {
        uint32_t g = vigil_regex_capture_count(rules[i]->re);
        if (g > set->max_groups)
            set->max_groups = g;
        if (rules[i]->n_captures > set->max_captures)
            set->max_captures = rules[i]->n_captures;
    }
    set->limit_hits = calloc(n_rules ? n_rules : 1, sizeof(*set->limit_hits));
    set->matches = calloc(n_rules ? n_rules : 1, sizeof(*set->matches));
    if (!set->limit_hits || !set->matches || build_fields(set) < 0)
        goto err_destroy;
    for (size_t i = 0; i < n_rules; i++) {
        atomic_init(&set->limit_hits[i], 0);
        atomic_init(&set->matches[i], 0);
    }

    set->prefilter_why = "disabled by option";
    if (!(opts && opts->no_prefilter)) {
        set->prefilter = vigil_prefilter_build(set, &set->prefilter_why);
        if (!set->prefilter && vigil_prefilter_available())
            goto err_destroy; /* out of memory */
    }
    return set;

err_destroy:
    set_destroy(set);
err_oom:
    vigil_diags_add(diags, NULL, 0, 0, "out of memory while building rules");
    return NULL;
}

/* Links the loaded files and builds the set, or reports why not. */
static struct vigil_rule_set *finish(struct vigil_loader *l,
                                     const struct vigil_rule_set_options *opts)
{
    /* Linking runs even after errors, to report every problem at once. */
    bool failed = vigil_loader_link(l) < 0 || l->failed;
    for (size_t i = 0; i < l->n_files; i++)
        failed |= l->files[i].y.errors > 0;
    if (failed) {
        vigil_loader_fini(l);
        return NULL;
    }
    struct vigil_rule **rules = l->rules;
    struct vigil_counter **counters = l->counters;
    size_t n_rules = l->n_rules, n_counters = l->n_counters;
    l->rules = NULL;
    l->n_rules = 0;
    l->counters = NULL;
    l->n_counters = 0;
    struct vigil_diags *diags = l->diags;
    vigil_loader_fini(l);
    return vigil_rule_set_assemble(rules, n_rules, counters, n_counters, opts,
                                   diags);
}

struct vigil_rule_set *
vigil_rule_set_load(const char *const *paths, size_t n,
                    const struct vigil_rule_set_options *opts,
                    struct vigil_diags *diags)
{
    struct vigil_loader l = {.diags = diags};
    l.files = calloc(n ? n : 1, sizeof(*l.files));
    if (!l.files) {
        vigil_diags_add(diags, NULL, 0, 0, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct vigil_rule_file *lf = &l.files[l.n_files++];
        if (vigil_rule_file_read(lf, paths[i], diags) < 0) {
            l.failed = true;
            continue;
        }
        vigil_rule_file_load(&l, lf, paths[i]);
    }
    return finish(&l, opts);
}

struct vigil_rule_set *
vigil_rule_set_load_sources(const struct vigil_rule_source *srcs, size_t n,
                            const struct vigil_rule_set_options *opts,
                            struct vigil_diags *diags)
{
    struct vigil_loader l = {.diags = diags};
    l.files = calloc(n ? n : 1, sizeof(*l.files));
    if (!l.files) {
        vigil_diags_add(diags, NULL, 0, 0, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct vigil_rule_file *lf = &l.files[l.n_files++];
        lf->text = malloc(srcs[i].len + 1);
        if (!lf->text) {
            vigil_diags_add(diags, srcs[i].name, 0, 0, "out of memory");
            l.failed = true;
            continue;
        }
        if (srcs[i].len)
            memcpy(lf->text, srcs[i].text, srcs[i].len);
        lf->text[srcs[i].len] = '\0';
        lf->len = srcs[i].len;
        vigil_rule_file_load(&l, lf, srcs[i].name);
    }
    return finish(&l, opts);
}

static bool in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return true;
    }
    return false;
}

int vigil_rule_paths_expand(const char *const *globs, size_t n,
                            const char *base_dir, char ***out,
                            struct vigil_diags *diags)
{
    size_t count = 0, cap = 16;
    bool failed = false, oom = false;
    char **v = calloc(cap + 1, sizeof(*v));
    oom = !v;
    for (size_t i = 0; !oom && i < n; i++) {
        char *pattern = NULL;
        if (globs[i][0] != '/' && base_dir && base_dir[0]) {
            size_t len = strlen(base_dir) + strlen(globs[i]) + 2;
            pattern = malloc(len);
            if (pattern)
                snprintf(pattern, len, "%s/%s", base_dir, globs[i]);
        } else {
            pattern = strdup(globs[i]);
        }
        if (!pattern) {
            oom = true;
            break;
        }
        glob_t g;
        int grc = glob(pattern, 0, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            vigil_diags_add(diags, NULL, 0, 0, "no rule file matches '%s'",
                            pattern);
            failed = true;
        } else if (grc != 0) {
            vigil_diags_add(diags, NULL, 0, 0, "cannot expand '%s'", pattern);
            failed = true;
        }
        for (size_t k = 0; grc == 0 && !oom && k < g.gl_pathc; k++) {
            if (in_list(v, count, g.gl_pathv[k]))
                continue;
            if (count == cap) {
                char **nv = realloc(v, (2 * cap + 1) * sizeof(*v));
                if (!nv) {
                    oom = true;
                    break;
                }
                v = nv;
                cap *= 2;
            }
            v[count] = strdup(g.gl_pathv[k]);
            if (!v[count])
                oom = true;
            else
                v[++count] = NULL;
        }
        if (grc == 0)
            globfree(&g);
        free(pattern);
    }
    if (oom)
        vigil_diags_add(diags, NULL, 0, 0, "out of memory");
    if (oom || failed) {
        vigil_strv_free(v);
        return -1;
    }
    *out = v;
    return 0;
}

struct vigil_rule_set *vigil_rule_set_ref(struct vigil_rule_set *set)
{
    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    return set;
}

void vigil_rule_set_unref(struct vigil_rule_set *set)
{
    if (set &&
        atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) == 1)
        set_destroy(set);
}

size_t vigil_rule_set_size(const struct vigil_rule_set *set)
{
    return set->n_rules;
}

const struct vigil_rule *vigil_rule_set_rule(const struct vigil_rule_set *set,
                                             size_t i)
{
    return i < set->n_rules ? set->rules[i] : NULL;
}

const struct vigil_rule *vigil_rule_set_find(const struct vigil_rule_set *set,
                                             const char *id)
{
    for (size_t i = 0; i < set->n_rules; i++) {
        if (strcmp(set->rules[i]->id, id) == 0)
            return set->rules[i];
    }
    return NULL;
}

size_t vigil_rule_set_counter_count(const struct vigil_rule_set *set)
{
    return set->n_counters;
}

const struct vigil_counter *
vigil_rule_set_counter(const struct vigil_rule_set *set, size_t i)
{
    return i < set->n_counters ? set->counters[i] : NULL;
}

const struct vigil_counter *
vigil_rule_set_find_counter(const struct vigil_rule_set *set, const char *name)
{
    for (size_t i = 0; i < set->n_counters; i++) {
        if (strcmp(set->counters[i]->name, name) == 0)
            return set->counters[i];
    }
    return NULL;
}

const struct vigil_regex_limits *
vigil_rule_set_limits(const struct vigil_rule_set *set)
{
    return &set->limits;
}

bool vigil_rule_set_has_prefilter(const struct vigil_rule_set *set)
{
    return set->prefilter != NULL;
}

size_t vigil_rule_set_unfiltered(const struct vigil_rule_set *set,
                                 struct vigil_diags *notes)
{
    if (!set->prefilter) {
        if (notes && set->n_rules)
            vigil_diags_add(notes, NULL, 0, 0,
                            "all %zu rules are matched with PCRE2 alone (%s)",
                            set->n_rules, set->prefilter_why);
        return set->n_rules;
    }
    size_t n = 0;
    for (size_t i = 0; i < set->n_rules; i++) {
        const struct vigil_rule *r = set->rules[i];
        if (!r->unfiltered)
            continue;
        n++;
        if (notes)
            vigil_diags_add(notes, r->file, r->line, r->col,
                            "rule %s: PCRE2 confirms this pattern on every "
                            "event (%s)",
                            r->id, r->unfiltered);
    }
    return n;
}

uint64_t vigil_rule_set_limit_hits(const struct vigil_rule_set *set, size_t i)
{
    if (i >= set->n_rules)
        return 0;
    return atomic_load_explicit(&set->limit_hits[i], memory_order_relaxed);
}

void vigil_rule_set_count_match(struct vigil_rule_set *set, size_t i)
{
    if (i < set->n_rules)
        atomic_fetch_add_explicit(&set->matches[i], 1, memory_order_relaxed);
}

uint64_t vigil_rule_set_matches(const struct vigil_rule_set *set, size_t i)
{
    if (i >= set->n_rules)
        return 0;
    return atomic_load_explicit(&set->matches[i], memory_order_relaxed);
}
