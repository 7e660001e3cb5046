#include "indicator_test.h"

#include <stdlib.h>
#include <string.h>

static bool query_matches(const struct vigil_expr_query *a,
                          const struct vigil_expr_query *b)
{
    return a->kind == b->kind && strcmp(a->counter, b->counter) == 0 &&
           a->window_ms == b->window_ms && a->offset_ms == b->offset_ms &&
           (a->kind != VIGIL_EXPR_Q_PCTL || a->p == b->p);
}

/* The series answering q: a query-keyed one first, else the counter's. */
static const struct vigil_indicator_series *
find_series(const struct vigil_indicator_test *t,
            const struct vigil_expr_query *q)
{
    for (size_t i = 0; i < t->n_series; i++) {
        const struct vigil_indicator_series *s = &t->series[i];
        if (s->query && query_matches(vigil_expr_query(s->query, 0), q))
            return s;
    }
    for (size_t i = 0; i < t->n_series; i++) {
        const struct vigil_indicator_series *s = &t->series[i];
        if (!s->query && strcmp(s->name, q->counter) == 0)
            return s;
    }
    return NULL;
}

static void answer(const struct vigil_indicator_test *t,
                   const struct vigil_expr_query *q, uint64_t now,
                   struct vigil_expr_qresult *r)
{
    memset(r, 0, sizeof(*r));
    const struct vigil_indicator_series *s = find_series(t, q);
    if (!s) {
        /* An empty window: 0, but a mean of nothing is no data. */
        r->has_value =
            q->kind != VIGIL_EXPR_Q_AVG && q->kind != VIGIL_EXPR_Q_PCTL;
        return;
    }
    uint64_t i = now / t->interval_ms;
    if (i < s->points.n && s->points.v[i].has_value) {
        r->has_value = true;
        r->value = s->points.v[i].value;
    }
}

/* Evaluates e at now; results has room for its queries. */
static void evaluate(const struct vigil_expr *e,
                     const struct vigil_indicator_test *t, uint64_t now,
                     struct vigil_expr_qresult *results,
                     struct vigil_expr_value *out)
{
    size_t n = vigil_expr_query_count(e);
    for (size_t i = 0; i < n; i++)
        answer(t, vigil_expr_query(e, i), now, &results[i]);
    vigil_expr_eval(e, results, NULL, out);
}

static void fail_line(FILE *out, const struct vigil_indicator *ind,
                      const struct vigil_indicator_test *t, size_t ti,
                      const struct vigil_indicator_expect *x, const char *what)
{
    if (!out)
        return;
    char at[48];
    vigil_expr_format_duration(x->at_ms, at, sizeof(at));
    if (t->name)
        fprintf(out, "%s:%d:%d: %s: test '%s': at %s: %s\n", ind->file, x->line,
                x->col, ind->id, t->name, at, what);
    else
        fprintf(out, "%s:%d:%d: %s: test %zu: at %s: %s\n", ind->file, x->line,
                x->col, ind->id, ti + 1, at, what);
}

static const char *opt_state(bool on, enum vigil_state s)
{
    return on ? vigil_state_name(s) : "none";
}

static unsigned check(FILE *out, const struct vigil_indicator *ind,
                      const struct vigil_indicator_test *t, size_t ti,
                      const struct vigil_indicator_expect *x,
                      const struct vigil_istate *st,
                      const struct vigil_istate_view *view,
                      const struct vigil_istate_event *ev)
{
    unsigned failed = 0;
    char msg[256];
    char val[64];
    if (st->has_value)
        snprintf(val, sizeof(val), "%g", st->value);
    else
        snprintf(val, sizeof(val), "no data");
    if (x->has_state && st->state != x->state) {
        snprintf(msg, sizeof(msg), "state is %s (value %s), expected %s",
                 vigil_state_name(st->state), val, vigil_state_name(x->state));
        fail_line(out, ind, t, ti, x, msg);
        failed++;
    }
    if (x->has_pending &&
        (view->pending != x->pending ||
         (x->pending && view->pending_state != x->pending_state))) {
        snprintf(msg, sizeof(msg), "pending is %s (value %s), expected %s",
                 opt_state(view->pending, view->pending_state), val,
                 opt_state(x->pending, x->pending_state));
        fail_line(out, ind, t, ti, x, msg);
        failed++;
    }
    if (x->has_recovering &&
        (view->recovering != x->recovering ||
         (x->recovering && view->recovering_state != x->recovering_state))) {
        snprintf(msg, sizeof(msg), "recovering is %s (value %s), expected %s",
                 opt_state(view->recovering, view->recovering_state), val,
                 opt_state(x->recovering, x->recovering_state));
        fail_line(out, ind, t, ti, x, msg);
        failed++;
    }
    if (x->has_flapping && st->flapping != x->flapping) {
        snprintf(msg, sizeof(msg), "flapping is %s, expected %s",
                 st->flapping ? "true" : "false",
                 x->flapping ? "true" : "false");
        fail_line(out, ind, t, ti, x, msg);
        failed++;
    }
    if (x->has_event && ev->kind != x->event) {
        snprintf(msg, sizeof(msg), "event is %s (state %s), expected %s",
                 vigil_event_kind_name(ev->kind), vigil_state_name(st->state),
                 vigil_event_kind_name(x->event));
        fail_line(out, ind, t, ti, x, msg);
        failed++;
    }
    if (x->has_value) {
        bool ok = x->value_is_none ? !st->has_value
                                   : st->has_value && st->value == x->value;
        if (!ok) {
            char want[64];
            if (x->value_is_none)
                snprintf(want, sizeof(want), "no data");
            else
                snprintf(want, sizeof(want), "%g", x->value);
            snprintf(msg, sizeof(msg), "value is %s, expected %s", val, want);
            fail_line(out, ind, t, ti, x, msg);
            failed++;
        }
    }
    return failed;
}

unsigned vigil_indicator_test_run(const struct vigil_indicator *ind,
                                  const struct vigil_indicator_test *t,
                                  FILE *out)
{
    size_t ti = (size_t)(t - ind->tests);
    uint64_t f = ind->frequency_ms;
    uint64_t last = 0;
    for (size_t i = 0; i < t->n_expects; i++)
        if (t->expects[i].at_ms > last)
            last = t->expects[i].at_ms;
    size_t nq = vigil_expr_query_count(ind->value);
    size_t ns = ind->samples ? vigil_expr_query_count(ind->samples) : 0;
    struct vigil_expr_qresult *results = calloc(nq + ns + 1, sizeof(*results));
    if (!results) {
        if (out)
            fprintf(out, "%s: out of memory\n", ind->id);
        return 1;
    }
    struct vigil_istate st;
    vigil_istate_init(&st);
    unsigned failed = 0;
    for (uint64_t k = 0; k <= last / f; k++) {
        uint64_t now = k * f;
        struct vigil_expr_value v, s = {0};
        evaluate(ind->value, t, now, results, &v);
        if (ind->samples)
            evaluate(ind->samples, t, now, results + nq, &s);
        struct vigil_istate_event ev;
        struct vigil_istate_view view;
        vigil_istate_step(&st, &ind->params, ind->page, (int64_t)now,
                          v.has_value, v.value, s.has_value, s.value, &ev,
                          &view);
        for (size_t i = 0; i < t->n_expects; i++) {
            const struct vigil_indicator_expect *x = &t->expects[i];
            if (x->at_ms / f == k)
                failed += check(out, ind, t, ti, x, &st, &view, &ev);
        }
    }
    free(results);
    return failed;
}

int vigil_indicator_tests_run(const struct vigil_indicator_set *set, FILE *out,
                              unsigned *passed, unsigned *failed)
{
    int rc = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct vigil_indicator *ind = &set->v[i];
        for (size_t j = 0; j < ind->n_tests; j++) {
            if (vigil_indicator_test_run(ind, &ind->tests[j], out) == 0) {
                (*passed)++;
            } else {
                (*failed)++;
                rc = -1;
            }
        }
    }
    return rc;
}
