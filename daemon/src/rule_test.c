#include "rule_test.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "matcher.h"

/* A bounded message buffer: output past its end is cut, never overflows. */
struct msg {
    char buf[2048];
    size_t len;
};

static void put(struct msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct msg *m, const char *fmt, ...)
{
    if (m->len >= sizeof(m->buf) - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->buf + m->len, sizeof(m->buf) - m->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len += (size_t)n < sizeof(m->buf) - m->len
                      ? (size_t)n
                      : sizeof(m->buf) - m->len - 1;
}

/* A value as text, control characters escaped (it may come from a log). */
static void put_value(struct msg *m, struct vigil_sv v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (c < 0x20 || c == 0x7f)
            put(m, "\\x%02x", c);
        else
            put(m, "%c", c);
    }
}

struct probe {
    const struct vigil_rule *rule;
    const struct vigil_rule_test *test;
    struct vigil_event *ev;
    bool matched;
    bool values_ok;
    bool *failed;   /* per expectation of the test */
    struct msg got; /* the values that differ, or all captures */
};

static int on_match(const struct vigil_match *m, void *user)
{
    struct probe *p = user;
    if (m->rule != p->rule)
        return 0;
    p->matched = true;
    p->values_ok = true;
    if (!p->test->expect_match) {
        for (size_t i = 0; i < m->rule->n_captures; i++) {
            if (!m->captures[i].ptr)
                continue;
            put(&p->got, "%s%s=", p->got.len ? " " : "",
                m->rule->captures[i].name);
            put_value(&p->got, m->captures[i]);
        }
        return 0;
    }
    for (size_t i = 0; i < p->test->n_expects; i++) {
        const struct vigil_expect *e = &p->test->expects[i];
        struct vigil_sv v;
        bool set = vigil_match_ref(m, p->ev, &e->ref, &v) == 0;
        if (set && v.len == e->value_len && memcmp(v.ptr, e->value, v.len) == 0)
            continue;
        p->values_ok = false;
        p->failed[i] = true;
        put(&p->got, "%s%s", p->got.len ? " " : "", e->ref.name.ptr);
        if (set) {
            put(&p->got, "=");
            put_value(&p->got, v);
        } else {
            put(&p->got, " unset");
        }
    }
    return 0;
}

/* What the test expected, for the message. */
static void put_expected(struct msg *out, const struct vigil_rule_test *t,
                         const struct probe *p)
{
    if (!t->expect_match) {
        put(out, "expected no match");
        return;
    }
    if (t->n_expects == 0 || !p->matched) {
        put(out, "expected a match");
        for (size_t i = 0; i < t->n_expects; i++) {
            put(out, "%s%s=", i ? " " : " with ", t->expects[i].ref.name.ptr);
            put_value(out, (struct vigil_sv){t->expects[i].value,
                                             t->expects[i].value_len});
        }
        return;
    }
    /* Only the expectations that failed. */
    put(out, "expected");
    for (size_t i = 0; i < t->n_expects; i++) {
        if (!p->failed[i])
            continue;
        put(out, " %s=", t->expects[i].ref.name.ptr);
        put_value(out, (struct vigil_sv){t->expects[i].value,
                                         t->expects[i].value_len});
    }
}

static bool run_one(struct vigil_matcher *m, struct vigil_decoder *dec,
                    struct vigil_event *ev, const struct vigil_rule *r,
                    const struct vigil_rule_test *t, FILE *out)
{
    struct msg msg = {.len = 0};
    const char *reason = NULL;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    if (vigil_decode(dec, t->text, t->text_len, now_ms, ev, &reason) < 0) {
        fprintf(out, "%s:%d: rule %s: test line does not decode: %s\n", r->file,
                t->line, r->id, reason ? reason : "?");
        return false;
    }
    const struct vigil_rule_set *set = vigil_matcher_rule_set(m);
    uint64_t hits = vigil_rule_set_limit_hits(set, r->index);
    struct probe p = {.rule = r, .test = t, .ev = ev};
    p.failed = calloc(t->n_expects ? t->n_expects : 1, sizeof(*p.failed));
    if (!p.failed) {
        fprintf(out, "%s:%d: rule %s: out of memory\n", r->file, t->line,
                r->id);
        return false;
    }
    vigil_matcher_run(m, ev, on_match, &p);
    bool pass = t->expect_match ? p.matched && p.values_ok : !p.matched;
    if (pass)
        goto out_free;
    put_expected(&msg, t, &p);
    if (t->expect_match && !p.matched)
        put(&msg, ", got no match");
    else if (!t->expect_match)
        put(&msg, ", got a match%s%s%s", p.got.len ? " (" : "", p.got.buf,
            p.got.len ? ")" : "");
    else
        put(&msg, ", got %s", p.got.buf);
    if (vigil_rule_set_limit_hits(set, r->index) != hits)
        put(&msg, " (a pattern hit a PCRE2 limit)");
    fprintf(out, "%s:%d: rule %s: %s\n", r->file, t->line, r->id, msg.buf);
out_free:
    free(p.failed);
    return pass;
}

int vigil_rule_test_run(struct vigil_rule_set *set, FILE *out,
                        struct vigil_rule_test_summary *sum)
{
    struct vigil_decode_options opts = {.format = VIGIL_FORMAT_AUTO,
                                        .time_field = "@timestamp"};
    struct vigil_decoder *dec = vigil_decoder_create(&opts);
    struct vigil_matcher *m = vigil_matcher_create(set);
    int rc = -1;
    if (!dec || !m)
        goto out_free;
    struct vigil_event ev;
    vigil_event_init(&ev);
    rc = 0;
    for (size_t i = 0; i < vigil_rule_set_size(set); i++) {
        const struct vigil_rule *r = vigil_rule_set_rule(set, i);
        for (size_t k = 0; k < r->n_tests; k++) {
            sum->tests++;
            if (!run_one(m, dec, &ev, r, &r->tests[k], out)) {
                sum->failed++;
                rc = 1;
            }
        }
    }
    vigil_event_fini(&ev);
out_free:
    vigil_matcher_destroy(m);
    vigil_decoder_destroy(dec);
    return rc;
}
