#include "indicator.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_doc.h"

const char *vigil_indicator_kind_name(enum vigil_indicator_kind k)
{
    return k == VIGIL_INDICATOR_PERFORMANCE ? "performance" : "effectiveness";
}

static const char *const severities[] = {"info", "low",      "medium",
                                         "high", "critical", NULL};

bool vigil_indicator_severity_valid(const char *s)
{
    for (size_t i = 0; severities[i]; i++)
        if (strcmp(s, severities[i]) == 0)
            return true;
    return false;
}

/* ---- Freeing ---- */

static void free_test(struct vigil_indicator_test *t)
{
    free(t->name);
    for (size_t i = 0; i < t->n_series; i++) {
        free(t->series[i].name);
        vigil_expr_destroy(t->series[i].query);
        vigil_series_fini(&t->series[i].points);
    }
    free(t->series);
    free(t->expects);
}

static void free_indicator(struct vigil_indicator *ind)
{
    free(ind->id);
    free(ind->name);
    free(ind->information_need);
    free(ind->entity);
    free(ind->owner);
    free(ind->data_source);
    vigil_expr_destroy(ind->value);
    free(ind->unit);
    free(ind->target_text);
    free(ind->decision);
    free(ind->recover_text);
    vigil_expr_destroy(ind->samples);
    free(ind->severity);
    free(ind->recommendation);
    for (size_t i = 0; i < ind->n_labels; i++) {
        free(ind->labels[i].key);
        free(ind->labels[i].value);
    }
    free(ind->labels);
    for (size_t i = 0; i < ind->n_tests; i++)
        free_test(&ind->tests[i]);
    free(ind->tests);
    free(ind->file);
}

void vigil_indicator_set_destroy(struct vigil_indicator_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        free_indicator(&set->v[i]);
    free(set->v);
    free(set);
}

const struct vigil_indicator *
vigil_indicator_set_find(const struct vigil_indicator_set *set, const char *id)
{
    for (size_t i = 0; set && i < set->n; i++)
        if (strcmp(set->v[i].id, id) == 0)
            return &set->v[i];
    return NULL;
}

/* ---- Loading ---- */

struct loader {
    struct vigil_yaml y;
    const char *text; /* the file's bytes, for expression columns */
    size_t len;
    const struct vigil_indicator_options *opts;
    struct vigil_indicator_set *set;
    size_t cap;
    bool oom;
};

/*
 * The file position of byte col (1-based) of a scalar's text. libfyaml
 * gives the token's start and end in the input; walking the input and
 * the scalar's text side by side skips what the text does not have
 * (quotes, folded line breaks and indentation), so a column lands on its
 * byte even in a multi-line scalar. Falls back to the node's mark.
 */
static void scalar_pos(const struct loader *ld, struct fy_node *node, int col,
                       int *line, int *c)
{
    vigil_yaml_mark(node, line, c);
    struct fy_token *t = node ? fy_node_get_scalar_token(node) : NULL;
    if (!t || col < 1)
        return;
    const struct fy_mark *s = fy_token_start_mark(t);
    const struct fy_mark *e = fy_token_end_mark(t);
    size_t tlen;
    const char *text = fy_token_get_text(t, &tlen);
    if (!s || !e || !text || e->input_pos > ld->len ||
        s->input_pos > e->input_pos)
        return;
    size_t i = s->input_pos, j = 0, want = (size_t)col - 1;
    int l = s->line + 1, cc = s->column + 1;
    while (j < tlen && i < e->input_pos) {
        bool same = ld->text[i] == text[j];
        if (j == want && same)
            break;
        if (same)
            j++;
        if (ld->text[i] == '\n') {
            l++;
            cc = 1;
        } else {
            cc++;
        }
        i++;
    }
    /* A column past the text (an unclosed call) stays past it. */
    if (j < want)
        cc += (int)(want - j);
    *line = l;
    *c = cc;
}

__attribute__((format(printf, 4, 5))) static void
error_at(struct loader *ld, struct fy_node *node, int col, const char *fmt, ...)
{
    int line, c;
    scalar_pos(ld, node, col, &line, &c);
    va_list ap;
    va_start(ap, fmt);
    vigil_diags_vadd(ld->y.diags, ld->y.file, line, c, fmt, ap);
    va_end(ap);
    ld->y.errors++;
}

/* A required, non-empty text. */
static int get_text(struct loader *ld, struct fy_node *node, const char *what,
                    char **out)
{
    if (!node)
        return 0;
    if (vigil_yaml_str(&ld->y, node, what, out) < 0)
        return -1;
    if (!**out) {
        vigil_yaml_error(&ld->y, node, "%s must not be empty", what);
        return -1;
    }
    return 0;
}

/* Checks an expression's counters and windows. */
static void check_expr(struct loader *ld, struct fy_node *node,
                       const char *what, const struct vigil_expr *e)
{
    const struct vigil_indicator_options *o = ld->opts;
    if (o && o->counter_kind) {
        struct vigil_expr_error err;
        if (vigil_expr_check_counters(e, o->counter_kind, o->counter_ctx,
                                      &err) < 0)
            error_at(ld, node, err.col, "%s: %s", what, err.msg);
    }
    uint64_t reach = vigil_expr_max_reach_ms(e);
    if (o && o->retention_ms && reach > o->retention_ms) {
        char a[48], b[48];
        vigil_expr_format_duration(reach, a, sizeof(a));
        vigil_expr_format_duration(o->retention_ms, b, sizeof(b));
        vigil_yaml_error(&ld->y, node,
                         "%s reads %s back (window + offset) but counters "
                         "are kept %s (retention)",
                         what, a, b);
    }
    if (ld->set->max_reach_ms < reach)
        ld->set->max_reach_ms = reach;
}

static int compile_expr(struct loader *ld, struct fy_node *node,
                        const char *what, struct vigil_expr **out)
{
    size_t len;
    const char *src = vigil_yaml_scalar(&ld->y, node, what, &len);
    if (!src)
        return -1;
    struct vigil_expr_error err;
    *out = vigil_expr_compile(src, len, &err);
    if (!*out) {
        error_at(ld, node, err.col, "%s: %s", what, err.msg);
        return -1;
    }
    check_expr(ld, node, what, *out);
    return 0;
}

static int parse_threshold(struct loader *ld, struct fy_node *node,
                           const char *what, struct vigil_threshold *th,
                           char **text)
{
    size_t len;
    const char *s = vigil_yaml_scalar(&ld->y, node, what, &len);
    if (!s)
        return -1;
    struct vigil_expr_error err;
    if (vigil_threshold_parse(s, len, th, &err) < 0) {
        error_at(ld, node, err.col, "%s: %s", what, err.msg);
        return -1;
    }
    if (text) {
        *text = strndup(s, len);
        if (!*text) {
            ld->oom = true;
            return -1;
        }
    }
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * When src is a top-level ratio(a, b) or pct(a, b) call, the span of b
 * (its offset and length in src); else false.
 */
static bool denominator_span(const char *src, size_t len, size_t *off,
                             size_t *n)
{
    size_t i = 0;
    while (i < len && is_blank(src[i]))
        i++;
    size_t name = i;
    while (i < len && (src[i] == '_' || (src[i] >= 'a' && src[i] <= 'z')))
        i++;
    size_t nlen = i - name;
    bool ok = (nlen == 5 && memcmp(src + name, "ratio", 5) == 0) ||
              (nlen == 3 && memcmp(src + name, "pct", 3) == 0);
    while (i < len && is_blank(src[i]))
        i++;
    if (!ok || i >= len || src[i] != '(')
        return false;
    i++;
    int depth = 0;
    size_t args = 1, second = 0, end = 0;
    for (; i < len; i++) {
        char c = src[i];
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (depth == 0) {
                end = i;
                break;
            }
            depth--;
        } else if (c == ',' && depth == 0) {
            args++;
            second = i + 1;
        }
    }
    if (end == 0 || args != 2)
        return false;
    for (size_t k = end + 1; k < len; k++)
        if (!is_blank(src[k]))
            return false;
    *off = second;
    *n = end - second;
    return true;
}

static int parse_decision(struct loader *ld, struct fy_node *node,
                          struct vigil_indicator *ind)
{
    if (!vigil_yaml_is_map(&ld->y, node, "decision"))
        return -1;
    int count = fy_node_mapping_item_count(node);
    if (count <= 0) {
        vigil_yaml_error(&ld->y, node,
                         "decision needs at least one entry (breach, warn "
                         "or ok)");
        return -1;
    }
    ind->decision = calloc((size_t)count, sizeof(*ind->decision));
    if (!ind->decision) {
        ld->oom = true;
        return -1;
    }
    int rc = 0;
    unsigned seen = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(node, &it)) != NULL) {
        struct fy_node *kn = fy_node_pair_key(p);
        size_t klen = 0;
        const char *key = kn ? fy_node_get_scalar(kn, &klen) : NULL;
        enum vigil_state st;
        if (!key || vigil_state_parse(key, klen, &st) < 0 ||
            st == VIGIL_STATE_NO_DATA) {
            vigil_yaml_error(&ld->y, kn,
                             "decision: '%.*s' is not a state; use breach, "
                             "warn or ok",
                             key ? (int)klen : 0, key ? key : "");
            rc = -1;
            continue;
        }
        if (seen & VIGIL_STATE_BIT(st)) {
            vigil_yaml_error(&ld->y, kn, "decision: '%s' given twice",
                             vigil_state_name(st));
            rc = -1;
            continue;
        }
        seen |= VIGIL_STATE_BIT(st);
        struct vigil_decision *d = &ind->decision[ind->n_decision];
        d->state = st;
        char what[32];
        snprintf(what, sizeof(what), "decision %s", vigil_state_name(st));
        if (parse_threshold(ld, fy_node_pair_value(p), what, &d->when, NULL) <
            0) {
            rc = -1;
            continue;
        }
        ind->n_decision++;
    }
    return rc;
}

static int parse_page(struct loader *ld, struct fy_node *node,
                      struct vigil_indicator *ind)
{
    ind->page = VIGIL_STATE_BIT(VIGIL_STATE_BREACH);
    if (!node)
        return 0;
    if (!vigil_yaml_is_seq(&ld->y, node, "page"))
        return -1;
    ind->page = 0;
    int rc = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &it)) != NULL) {
        size_t len;
        const char *s = vigil_yaml_scalar(&ld->y, item, "page entry", &len);
        enum vigil_state st;
        if (!s)
            rc = -1;
        else if (vigil_state_parse(s, len, &st) < 0) {
            vigil_yaml_error(&ld->y, item,
                             "page: '%.*s' is not a state; use ok, warn, "
                             "breach or no_data",
                             (int)len, s);
            rc = -1;
        } else {
            ind->page |= VIGIL_STATE_BIT(st);
        }
    }
    return rc;
}

static int parse_labels(struct loader *ld, struct fy_node *node,
                        struct vigil_indicator *ind)
{
    if (!node)
        return 0;
    if (!vigil_yaml_is_map(&ld->y, node, "labels"))
        return -1;
    int count = fy_node_mapping_item_count(node);
    if (count <= 0)
        return 0;
    ind->labels = calloc((size_t)count, sizeof(*ind->labels));
    if (!ind->labels) {
        ld->oom = true;
        return -1;
    }
    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(node, &it)) != NULL) {
        struct vigil_indicator_label *l = &ind->labels[ind->n_labels];
        if (vigil_yaml_str(&ld->y, fy_node_pair_key(p), "label name", &l->key) <
            0) {
            rc = -1;
            continue;
        }
        if (vigil_yaml_str(&ld->y, fy_node_pair_value(p), "label value",
                           &l->value) < 0) {
            free(l->key);
            l->key = NULL;
            rc = -1;
            continue;
        }
        ind->n_labels++;
    }
    return rc;
}

/* ---- Tests ---- */

static bool is_counter_name(const char *s, size_t len)
{
    if (len == 0 || len > VIGIL_EXPR_MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = (c >= '0' && c <= '9') || c == '.';
        if (!(alpha || (i > 0 && digit)))
            return false;
    }
    return true;
}

static bool expr_reads_counter(const struct vigil_expr *e, const char *name)
{
    size_t n = 0;
    const char *const *v = e ? vigil_expr_counters(e, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            return true;
    return false;
}

static bool expr_has_query(const struct vigil_expr *e,
                           const struct vigil_expr_query *q)
{
    size_t n = e ? vigil_expr_query_count(e) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct vigil_expr_query *x = vigil_expr_query(e, i);
        if (x->kind == q->kind && strcmp(x->counter, q->counter) == 0 &&
            x->window_ms == q->window_ms && x->offset_ms == q->offset_ms &&
            (x->kind != VIGIL_EXPR_Q_PCTL || x->p == q->p))
            return true;
    }
    return false;
}

static int parse_series(struct loader *ld, struct fy_node *node,
                        const struct vigil_indicator *ind,
                        struct vigil_indicator_test *t)
{
    if (!vigil_yaml_is_map(&ld->y, node, "series"))
        return -1;
    int count = fy_node_mapping_item_count(node);
    if (count <= 0) {
        vigil_yaml_error(&ld->y, node,
                         "series must name at least one "
                         "counter");
        return -1;
    }
    t->series = calloc((size_t)count, sizeof(*t->series));
    if (!t->series) {
        ld->oom = true;
        return -1;
    }
    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(node, &it)) != NULL) {
        struct fy_node *kn = fy_node_pair_key(p);
        struct fy_node *vn = fy_node_pair_value(p);
        struct vigil_indicator_series *s = &t->series[t->n_series];
        size_t klen;
        const char *key = vigil_yaml_scalar(&ld->y, kn, "series name", &klen);
        if (!key) {
            rc = -1;
            continue;
        }
        vigil_yaml_mark(kn, &s->line, &s->col);
        if (is_counter_name(key, klen)) {
            s->name = strndup(key, klen);
            if (!s->name) {
                ld->oom = true;
                return -1;
            }
            if (!expr_reads_counter(ind->value, s->name) &&
                !expr_reads_counter(ind->samples, s->name)) {
                vigil_yaml_error(&ld->y, kn,
                                 "series '%s': the indicator does not read "
                                 "this counter",
                                 s->name);
                free(s->name);
                s->name = NULL;
                rc = -1;
                continue;
            }
        } else {
            struct vigil_expr_error err;
            s->query = vigil_expr_compile(key, klen, &err);
            if (!s->query) {
                error_at(ld, kn, err.col, "series name: %s", err.msg);
                rc = -1;
                continue;
            }
            if (vigil_expr_query_count(s->query) != 1 ||
                !expr_has_query(ind->value, vigil_expr_query(s->query, 0))) {
                if (vigil_expr_query_count(s->query) != 1 ||
                    !expr_has_query(ind->samples,
                                    vigil_expr_query(s->query, 0))) {
                    vigil_yaml_error(&ld->y, kn,
                                     "series '%.*s' must be a counter name "
                                     "or one query the indicator reads "
                                     "(such as count(c, 5m))",
                                     (int)klen, key);
                    vigil_expr_destroy(s->query);
                    s->query = NULL;
                    rc = -1;
                    continue;
                }
            }
            s->name = strndup(key, klen);
            if (!s->name) {
                vigil_expr_destroy(s->query);
                s->query = NULL;
                ld->oom = true;
                return -1;
            }
        }
        size_t vlen;
        const char *v = vigil_yaml_scalar(&ld->y, vn, "series", &vlen);
        struct vigil_expr_error err;
        if (!v || vigil_series_parse(&s->points, v, vlen, &err) < 0) {
            if (v)
                error_at(ld, vn, err.col, "series: %s", err.msg);
            free(s->name);
            s->name = NULL;
            vigil_expr_destroy(s->query);
            s->query = NULL;
            rc = -1;
            continue;
        }
        t->n_series++;
    }
    return rc;
}

/* "<state>" or "none". */
static int parse_opt_state(struct loader *ld, struct fy_node *node,
                           const char *what, bool *on, enum vigil_state *st)
{
    size_t len;
    const char *s = vigil_yaml_scalar(&ld->y, node, what, &len);
    if (!s)
        return -1;
    if (len == 4 && memcmp(s, "none", 4) == 0) {
        *on = false;
        return 0;
    }
    if (vigil_state_parse(s, len, st) < 0) {
        vigil_yaml_error(&ld->y, node,
                         "%s must be ok, warn, breach, no_data or none", what);
        return -1;
    }
    *on = true;
    return 0;
}

static int parse_expect(struct loader *ld, struct fy_node *node,
                        struct vigil_indicator_expect *x)
{
    struct fy_node *at, *state, *pending, *recovering, *flapping, *event,
        *value;
    const struct vigil_yaml_key keys[] = {
        {"at", &at, true},
        {"state", &state, false},
        {"pending", &pending, false},
        {"recovering", &recovering, false},
        {"flapping", &flapping, false},
        {"event", &event, false},
        {"value", &value, false},
        {NULL, NULL, false},
    };
    int rc = vigil_yaml_map(&ld->y, node, "expect", keys);
    vigil_yaml_mark(node, &x->line, &x->col);
    if (rc < 0 && !at)
        return -1;
    if (at && vigil_yaml_duration(&ld->y, at, "at", &x->at_ms) < 0)
        rc = -1;
    if (at && x->at_ms > VIGIL_EXPR_MAX_WINDOW_MS) {
        vigil_yaml_error(&ld->y, at, "at must be at most 400d");
        rc = -1;
    }
    if (state) {
        size_t len;
        const char *s = vigil_yaml_scalar(&ld->y, state, "state", &len);
        if (!s || vigil_state_parse(s, len, &x->state) < 0) {
            if (s)
                vigil_yaml_error(&ld->y, state,
                                 "state must be ok, warn, breach or no_data");
            rc = -1;
        } else {
            x->has_state = true;
        }
    }
    if (pending) {
        x->has_pending = true;
        if (parse_opt_state(ld, pending, "pending", &x->pending,
                            &x->pending_state) < 0)
            rc = -1;
    }
    if (recovering) {
        x->has_recovering = true;
        if (parse_opt_state(ld, recovering, "recovering", &x->recovering,
                            &x->recovering_state) < 0)
            rc = -1;
    }
    if (flapping) {
        x->has_flapping = true;
        if (vigil_yaml_bool(&ld->y, flapping, "flapping", &x->flapping) < 0)
            rc = -1;
    }
    if (event) {
        size_t len;
        const char *s = vigil_yaml_scalar(&ld->y, event, "event", &len);
        bool found = false;
        for (int k = VIGIL_EVENT_NONE; s && k <= VIGIL_EVENT_CHANGED; k++) {
            const char *n = vigil_event_kind_name((enum vigil_event_kind)k);
            if (strlen(n) == len && memcmp(n, s, len) == 0) {
                x->event = (enum vigil_event_kind)k;
                found = true;
            }
        }
        if (s && !found)
            vigil_yaml_error(&ld->y, event,
                             "event must be opened, resolved, changed or "
                             "none");
        if (!found)
            rc = -1;
        x->has_event = true;
    }
    if (value) {
        size_t len;
        const char *s = vigil_yaml_scalar(&ld->y, value, "value", &len);
        x->has_value = true;
        if (!s)
            rc = -1;
        else if (len == 1 && s[0] == '_')
            x->value_is_none = true;
        else if (vigil_yaml_double(&ld->y, value, "value", &x->value) < 0)
            rc = -1;
    }
    if (rc == 0 && !x->has_state && !x->has_pending && !x->has_recovering &&
        !x->has_flapping && !x->has_event && !x->has_value) {
        vigil_yaml_error(&ld->y, node,
                         "expect: give at least one of state, pending, "
                         "recovering, flapping, event, value");
        rc = -1;
    }
    return rc;
}

static int parse_test(struct loader *ld, struct fy_node *node,
                      const struct vigil_indicator *ind,
                      struct vigil_indicator_test *t)
{
    struct fy_node *name, *interval, *series, *expect;
    const struct vigil_yaml_key keys[] = {
        {"name", &name, false},    {"interval", &interval, false},
        {"series", &series, true}, {"expect", &expect, true},
        {NULL, NULL, false},
    };
    vigil_yaml_mark(node, &t->line, &t->col);
    int rc = vigil_yaml_map(&ld->y, node, "test", keys);
    if (name && vigil_yaml_str(&ld->y, name, "name", &t->name) < 0)
        rc = -1;
    t->interval_ms = ind->frequency_ms;
    if (interval) {
        if (vigil_yaml_duration(&ld->y, interval, "interval", &t->interval_ms) <
            0)
            rc = -1;
        else if (t->interval_ms == 0) {
            vigil_yaml_error(&ld->y, interval, "interval must be above 0");
            rc = -1;
        }
    }
    if (series && parse_series(ld, series, ind, t) < 0)
        rc = -1;
    if (!expect)
        return -1;
    if (!vigil_yaml_is_seq(&ld->y, expect, "expect"))
        return -1;
    int count = fy_node_sequence_item_count(expect);
    if (count <= 0) {
        vigil_yaml_error(&ld->y, expect, "expect needs at least one entry");
        return -1;
    }
    t->expects = calloc((size_t)count, sizeof(*t->expects));
    if (!t->expects) {
        ld->oom = true;
        return -1;
    }
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(expect, &it)) != NULL) {
        struct vigil_indicator_expect *x = &t->expects[t->n_expects];
        if (parse_expect(ld, item, x) < 0) {
            rc = -1;
            continue;
        }
        if (ind->frequency_ms &&
            x->at_ms / ind->frequency_ms >= VIGIL_INDICATOR_MAX_TEST_STEPS) {
            vigil_yaml_error(&ld->y, item,
                             "at is more than %d evaluations away",
                             VIGIL_INDICATOR_MAX_TEST_STEPS);
            rc = -1;
            continue;
        }
        t->n_expects++;
    }
    return rc;
}

static int parse_tests(struct loader *ld, struct fy_node *node,
                       struct vigil_indicator *ind)
{
    if (!node)
        return 0;
    if (!vigil_yaml_is_seq(&ld->y, node, "tests"))
        return -1;
    int count = fy_node_sequence_item_count(node);
    if (count <= 0)
        return 0;
    ind->tests = calloc((size_t)count, sizeof(*ind->tests));
    if (!ind->tests) {
        ld->oom = true;
        return -1;
    }
    int rc = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(node, &it)) != NULL) {
        struct vigil_indicator_test *t = &ind->tests[ind->n_tests++];
        if (parse_test(ld, item, ind, t) < 0)
            rc = -1;
    }
    return rc;
}

/* ---- One indicator ---- */

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > VIGIL_INDICATOR_MAX_ID)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static int parse_duration_opt(struct loader *ld, struct fy_node *node,
                              const char *what, uint64_t *ms)
{
    if (!node)
        return 0;
    return vigil_yaml_duration(&ld->y, node, what, ms);
}

/* The sample count for min_samples: samples:, or the denominator. */
static int parse_samples(struct loader *ld, struct fy_node *value_node,
                         struct fy_node *samples_node,
                         struct vigil_indicator *ind)
{
    if (samples_node)
        return compile_expr(ld, samples_node, "samples", &ind->samples);
    if (ind->params.min_samples <= 0 || !ind->value)
        return 0;
    const char *src = vigil_expr_source(ind->value);
    size_t off, n;
    if (!denominator_span(src, strlen(src), &off, &n)) {
        vigil_yaml_error(&ld->y, value_node,
                         "min_samples needs samples: (an expression giving "
                         "the sample count) unless value is ratio(a, b) or "
                         "pct(a, b), whose b is the count");
        return -1;
    }
    struct vigil_expr_error err;
    ind->samples = vigil_expr_compile(src + off, n, &err);
    if (!ind->samples) {
        /* It compiled as part of value, so only memory can fail here. */
        error_at(ld, value_node, (int)off + err.col, "value: %s", err.msg);
        return -1;
    }
    return 0;
}

static int parse_indicator(struct loader *ld, struct fy_node *node,
                           struct vigil_indicator *ind)
{
    struct fy_node *id, *name, *need, *kind, *entity, *owner, *source, *freq,
        *value, *unit, *target, *decision, *for_, *recover, *clear_for,
        *min_samples, *samples, *no_data, *flap_changes, *flap_window, *page,
        *severity, *recommendation, *labels, *tests;
    const struct vigil_yaml_key keys[] = {
        {"id", &id, true},
        {"name", &name, true},
        {"information_need", &need, true},
        {"kind", &kind, true},
        {"entity", &entity, true},
        {"owner", &owner, true},
        {"data_source", &source, true},
        {"frequency", &freq, true},
        {"value", &value, true},
        {"unit", &unit, true},
        {"target", &target, true},
        {"decision", &decision, true},
        {"for", &for_, false},
        {"recover", &recover, false},
        {"clear_for", &clear_for, false},
        {"min_samples", &min_samples, false},
        {"samples", &samples, false},
        {"no_data", &no_data, false},
        {"flap_changes", &flap_changes, false},
        {"flap_window", &flap_window, false},
        {"page", &page, false},
        {"severity", &severity, false},
        {"recommendation", &recommendation, false},
        {"labels", &labels, false},
        {"tests", &tests, false},
        {NULL, NULL, false},
    };
    vigil_yaml_mark(node, &ind->line, &ind->col);
    ind->file = strdup(ld->y.file);
    if (!ind->file) {
        ld->oom = true;
        return -1;
    }
    ind->params.no_data = VIGIL_NO_DATA_NO_DATA;
    int rc = vigil_yaml_map(&ld->y, node, "indicator", keys);
    if (rc < 0 && !fy_node_is_mapping(node))
        return -1;

    if (get_text(ld, id, "id", &ind->id) < 0)
        rc = -1;
    else if (ind->id && !valid_id(ind->id)) {
        vigil_yaml_error(&ld->y, id,
                         "id '%s' must be 1 to %d of A-Z a-z 0-9 _ . -",
                         ind->id, VIGIL_INDICATOR_MAX_ID);
        rc = -1;
    }
    if (get_text(ld, name, "name", &ind->name) < 0 ||
        get_text(ld, need, "information_need", &ind->information_need) < 0 ||
        get_text(ld, entity, "entity", &ind->entity) < 0 ||
        get_text(ld, owner, "owner", &ind->owner) < 0 ||
        get_text(ld, source, "data_source", &ind->data_source) < 0 ||
        get_text(ld, unit, "unit", &ind->unit) < 0)
        rc = -1;
    if (kind) {
        size_t len;
        const char *s = vigil_yaml_scalar(&ld->y, kind, "kind", &len);
        if (s && len == 11 && memcmp(s, "performance", 11) == 0)
            ind->kind = VIGIL_INDICATOR_PERFORMANCE;
        else if (s && len == 13 && memcmp(s, "effectiveness", 13) == 0)
            ind->kind = VIGIL_INDICATOR_EFFECTIVENESS;
        else {
            if (s)
                vigil_yaml_error(&ld->y, kind,
                                 "kind must be performance or effectiveness");
            rc = -1;
        }
    }
    if (freq) {
        if (vigil_yaml_duration(&ld->y, freq, "frequency", &ind->frequency_ms) <
            0)
            rc = -1;
        else if (ind->frequency_ms < VIGIL_INDICATOR_MIN_FREQUENCY_MS) {
            vigil_yaml_error(&ld->y, freq, "frequency must be at least 1s");
            ind->frequency_ms = 0;
            rc = -1;
        }
    }
    if (value && compile_expr(ld, value, "value", &ind->value) < 0)
        rc = -1;
    if (target && parse_threshold(ld, target, "target", &ind->target,
                                  &ind->target_text) < 0)
        rc = -1;
    if (decision && parse_decision(ld, decision, ind) < 0)
        rc = -1;
    ind->params.decision = ind->decision;
    ind->params.n_decision = ind->n_decision;
    if (recover) {
        if (parse_threshold(ld, recover, "recover", &ind->params.recover,
                            &ind->recover_text) < 0)
            rc = -1;
        ind->params.has_recover = ind->recover_text != NULL;
        bool has_breach = false;
        for (size_t i = 0; i < ind->n_decision; i++)
            has_breach |= ind->decision[i].state == VIGIL_STATE_BREACH;
        if (decision && ind->recover_text && !has_breach) {
            vigil_yaml_error(&ld->y, recover,
                             "recover needs a breach entry in decision");
            rc = -1;
        }
    }
    if (parse_duration_opt(ld, for_, "for", &ind->params.for_ms) < 0 ||
        parse_duration_opt(ld, clear_for, "clear_for",
                           &ind->params.clear_for_ms) < 0)
        rc = -1;
    if (min_samples) {
        if (vigil_yaml_double(&ld->y, min_samples, "min_samples",
                              &ind->params.min_samples) < 0)
            rc = -1;
        else if (ind->params.min_samples < 0) {
            vigil_yaml_error(&ld->y, min_samples,
                             "min_samples must not be negative");
            rc = -1;
        }
    }
    if (samples && !min_samples) {
        vigil_yaml_error(&ld->y, samples,
                         "samples is only used with "
                         "min_samples");
        rc = -1;
    }
    if (parse_samples(ld, value, samples, ind) < 0)
        rc = -1;
    if (no_data) {
        size_t len;
        const char *s = vigil_yaml_scalar(&ld->y, no_data, "no_data", &len);
        if (!s ||
            vigil_no_data_policy_parse(s, len, &ind->params.no_data) < 0) {
            if (s)
                vigil_yaml_error(&ld->y, no_data,
                                 "no_data must be keep, ok, no_data or "
                                 "breach");
            rc = -1;
        }
    }
    if ((flap_changes == NULL) != (flap_window == NULL)) {
        vigil_yaml_error(&ld->y, flap_changes ? flap_changes : flap_window,
                         "flap_changes and flap_window go together");
        rc = -1;
    } else if (flap_changes) {
        long long n;
        if (vigil_yaml_int(&ld->y, flap_changes, "flap_changes", 1,
                           VIGIL_ISTATE_MAX_FLAPS - 1, &n) < 0)
            rc = -1;
        else
            ind->params.flap_changes = (unsigned)n;
        if (vigil_yaml_duration(&ld->y, flap_window, "flap_window",
                                &ind->params.flap_window_ms) < 0)
            rc = -1;
        else if (ind->params.flap_window_ms == 0) {
            vigil_yaml_error(&ld->y, flap_window,
                             "flap_window must be above 0");
            rc = -1;
        }
    }
    if (parse_page(ld, page, ind) < 0)
        rc = -1;
    if (severity) {
        if (vigil_yaml_str(&ld->y, severity, "severity", &ind->severity) < 0)
            rc = -1;
        else if (!vigil_indicator_severity_valid(ind->severity)) {
            vigil_yaml_error(&ld->y, severity,
                             "severity must be info, low, medium, high or "
                             "critical");
            rc = -1;
        }
    } else {
        ind->severity = strdup("medium");
    }
    if (recommendation) {
        if (vigil_yaml_str(&ld->y, recommendation, "recommendation",
                           &ind->recommendation) < 0)
            rc = -1;
    } else {
        ind->recommendation = strdup("");
    }
    if (!ind->severity || !ind->recommendation)
        ld->oom = true;
    if (parse_labels(ld, labels, ind) < 0)
        rc = -1;
    /* Tests need a sound indicator to refer to. */
    if (rc == 0 && parse_tests(ld, tests, ind) < 0)
        rc = -1;
    return rc;
}

static struct vigil_indicator *new_indicator(struct loader *ld)
{
    struct vigil_indicator_set *set = ld->set;
    if (set->n == ld->cap) {
        size_t cap = ld->cap ? ld->cap * 2 : 16;
        struct vigil_indicator *v = realloc(set->v, cap * sizeof(*v));
        if (!v) {
            ld->oom = true;
            return NULL;
        }
        set->v = v;
        ld->cap = cap;
    }
    struct vigil_indicator *ind = &set->v[set->n++];
    memset(ind, 0, sizeof(*ind));
    return ind;
}

/* Loads one file's indicators into ld->set; -1 when it has problems. */
static int load_text(struct loader *ld, const char *name, const char *text,
                     size_t len, struct vigil_diags *diags)
{
    ld->text = text;
    ld->len = len;
    if (vigil_yaml_load_string(&ld->y, name, text, len, diags) < 0)
        return -1;
    struct fy_node *root = vigil_yaml_root(&ld->y);
    struct fy_node *list, *pack, *description;
    const struct vigil_yaml_key keys[] = {
        {"indicators", &list, true},
        {"pack", &pack, false},
        {"description", &description, false},
        {NULL, NULL, false},
    };
    if (!root) {
        vigil_diags_add(diags, name, 1, 1,
                        "indicator file: missing required key 'indicators'");
        ld->y.errors++;
        goto done;
    }
    vigil_yaml_map(&ld->y, root, "indicator file", keys);
    if (!list || !vigil_yaml_is_seq(&ld->y, list, "indicators"))
        goto done;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
        struct vigil_indicator *ind = new_indicator(ld);
        if (!ind)
            break;
        parse_indicator(ld, item, ind);
        if (ld->oom)
            break;
    }
done:;
    int rc = ld->y.errors ? -1 : 0;
    vigil_yaml_fini(&ld->y);
    return rc;
}

static void check_duplicates(struct vigil_indicator_set *set,
                             struct vigil_diags *diags, bool *failed)
{
    for (size_t i = 1; i < set->n; i++) {
        if (!set->v[i].id)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (set->v[j].id && strcmp(set->v[i].id, set->v[j].id) == 0) {
                vigil_diags_add(diags, set->v[i].file, set->v[i].line,
                                set->v[i].col,
                                "duplicate indicator id '%s' (first defined "
                                "at %s:%d:%d)",
                                set->v[i].id, set->v[j].file, set->v[j].line,
                                set->v[j].col);
                *failed = true;
                break;
            }
        }
    }
}

/* Reads a whole file, at most VIGIL_INDICATOR_MAX_FILE bytes. */
static char *read_file(const char *path, size_t *len, struct vigil_diags *diags)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        vigil_diags_add(diags, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        goto err_oom;
    for (;;) {
        if (n == cap) {
            if (cap >= VIGIL_INDICATOR_MAX_FILE) {
                vigil_diags_add(diags, path, 0, 0,
                                "file is larger than %u bytes",
                                VIGIL_INDICATOR_MAX_FILE);
                goto err_free_buf;
            }
            char *more = realloc(buf, cap * 2);
            if (!more)
                goto err_oom;
            buf = more;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        vigil_diags_add(diags, path, 0, 0, "cannot read: %s", strerror(errno));
        goto err_free_buf;
    }
    fclose(f);
    *len = n;
    return buf;

err_oom:
    vigil_diags_add(diags, path, 0, 0, "out of memory");
err_free_buf:
    free(buf);
    fclose(f);
    return NULL;
}

static struct vigil_indicator_set *
load(const char *const *paths, const struct vigil_indicator_source *srcs,
     size_t n, const struct vigil_indicator_options *opts,
     struct vigil_diags *diags)
{
    struct loader ld = {.opts = opts};
    ld.set = calloc(1, sizeof(*ld.set));
    if (!ld.set) {
        vigil_diags_add(diags, NULL, 0, 0, "out of memory");
        return NULL;
    }
    bool failed = false;
    for (size_t i = 0; i < n && !ld.oom; i++) {
        if (paths) {
            size_t len;
            char *text = read_file(paths[i], &len, diags);
            if (!text) {
                failed = true;
                continue;
            }
            if (load_text(&ld, paths[i], text, len, diags) < 0)
                failed = true;
            free(text);
        } else if (load_text(&ld, srcs[i].name, srcs[i].text, srcs[i].len,
                             diags) < 0) {
            failed = true;
        }
    }
    if (ld.oom) {
        vigil_diags_add(diags, NULL, 0, 0, "out of memory");
        failed = true;
    }
    check_duplicates(ld.set, diags, &failed);
    if (failed) {
        vigil_indicator_set_destroy(ld.set);
        return NULL;
    }
    return ld.set;
}

struct vigil_indicator_set *
vigil_indicator_set_load(const char *const *paths, size_t n,
                         const struct vigil_indicator_options *opts,
                         struct vigil_diags *diags)
{
    return load(paths, NULL, n, opts, diags);
}

struct vigil_indicator_set *vigil_indicator_set_load_sources(
    const struct vigil_indicator_source *srcs, size_t n,
    const struct vigil_indicator_options *opts, struct vigil_diags *diags)
{
    return load(NULL, srcs, n, opts, diags);
}
