#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher.h"
#include "rule_set.h"
#include "support.h"

static struct vigil_diags diags;

static void setup(void)
{
    vigil_diags_init(&diags);
}

static void teardown(void)
{
    vigil_diags_fini(&diags);
}

TestSuite(matcher, .init = setup, .fini = teardown);

static struct vigil_rule_set *
load_opts(const char *text, const struct vigil_rule_set_options *opts)
{
    struct vigil_rule_source src = {"m.yaml", text, strlen(text)};
    struct vigil_rule_set *set =
        vigil_rule_set_load_sources(&src, 1, opts, &diags);
    if (!set)
        vigil_diags_print(&diags, stderr);
    cr_assert_not_null(set);
    return set;
}

static struct vigil_rule_set *load(const char *text)
{
    return load_opts(text, NULL);
}

#define RULE(id, extra)                                                        \
    "  - id: " id "\n    title: t\n    severity: low\n" extra

/* Every match of one run, as "id{name=value,...}" joined by spaces. */
struct seen {
    char buf[4096];
    size_t len;
    int calls;
    int stop_after; /* 0: never */
};

static int collect(const struct vigil_match *m, void *user)
{
    struct seen *s = user;
    s->calls++;
    int n = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s%s{",
                     s->len ? " " : "", m->rule->id);
    s->len += (size_t)n;
    for (size_t i = 0; i < m->rule->n_captures; i++) {
        if (!m->captures[i].ptr)
            continue;
        n = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s=%.*s,",
                     m->rule->captures[i].name, (int)m->captures[i].len,
                     m->captures[i].ptr);
        s->len += (size_t)n;
    }
    s->len += (size_t)snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "}");
    if (s->stop_after && s->calls >= s->stop_after)
        return -7;
    return 0;
}

static void event_msg(struct vigil_event *ev, const char *msg)
{
    vigil_event_reset(ev, msg, strlen(msg));
    vigil_event_add(ev, VIGIL_SV("message"),
                    (struct vigil_sv){msg, strlen(msg)}, VIGIL_FIELD_STRING,
                    false);
}

static void field(struct vigil_event *ev, const char *name, const char *value)
{
    vigil_event_add(ev, (struct vigil_sv){name, strlen(name)},
                    (struct vigil_sv){value, strlen(value)}, VIGIL_FIELD_STRING,
                    false);
}

static const char *run(struct vigil_matcher *m, struct vigil_event *ev,
                       struct seen *s)
{
    memset(s, 0, sizeof(*s));
    int rc = vigil_matcher_run(m, ev, collect, s);
    cr_assert_eq(rc, s->calls);
    return s->buf;
}

Test(matcher, reports_every_matching_rule_in_set_order)
{
    struct vigil_rule_set *set =
        load("pack: p\nrules:\n" RULE("first", "    match: 'Failed'\n")
                 RULE("second", "    match: 'for (?<user>\\w+)'\n")
                     RULE("other", "    match: 'Accepted'\n")
                         RULE("third", "    match: 'from (?<ip>\\S+)'\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    event_msg(&ev, "Failed password for root from 1.2.3.4");
    cr_assert_str_eq(run(m, &ev, &s),
                     "first{} second{user=root,} third{ip=1.2.3.4,}");
    event_msg(&ev, "nothing at all");
    cr_assert_str_eq(run(m, &ev, &s), "");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, omits_captures_that_did_not_participate)
{
    struct vigil_rule_set *set = load("pack: p\nrules:\n" RULE(
        "r", "    match: 'user=(?<u>\\w+)(?:@(?<dom>[\\w.]+))?( x)?(?<e>)'\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    event_msg(&ev, "user=bob");
    cr_assert_str_eq(run(m, &ev, &s), "r{u=bob,e=,}");
    event_msg(&ev, "user=bob@example.org x");
    cr_assert_str_eq(run(m, &ev, &s), "r{u=bob,dom=example.org,e=,}");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, checks_when_and_unless_on_fields_and_captures)
{
    struct vigil_rule_set *set = load(
        "pack: p\nrules:\n" RULE("r", "    match: 'from (?<ip>\\S+)'\n"
                                      "    when: { host.name: '~^bastion-', "
                                      "'field:env': prod }\n"
                                      "    unless: { ip: '~^10\\.', "
                                      "'field:user': '=~svc' }\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    const char *msg = "login from 1.2.3.4";
    event_msg(&ev, msg);
    field(&ev, "host.name", "bastion-2");
    field(&ev, "env", "prod");
    cr_assert_str_eq(run(m, &ev, &s), "r{ip=1.2.3.4,}");
    field(&ev, "user", "~svc"); /* exact value with a leading ~ */
    cr_assert_str_eq(run(m, &ev, &s), "");
    field(&ev, "user", "svc");
    cr_assert_str_eq(run(m, &ev, &s), "r{ip=1.2.3.4,}");
    field(&ev, "env", "production"); /* exact, not a prefix */
    cr_assert_str_eq(run(m, &ev, &s), "");

    event_msg(&ev, "login from 10.0.0.1");
    field(&ev, "host.name", "bastion-2");
    field(&ev, "env", "prod");
    cr_assert_str_eq(run(m, &ev, &s), "");
    event_msg(&ev, msg); /* a missing when-field never holds */
    field(&ev, "env", "prod");
    cr_assert_str_eq(run(m, &ev, &s), "");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, runs_each_pattern_on_its_own_field)
{
    struct vigil_rule_set *set = load(
        "pack: p\nrules:\n" RULE("on_msg", "    match: 'root'\n")
            RULE("on_user", "    field: user.name\n    match: '^root$'\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    event_msg(&ev, "hello");
    field(&ev, "user.name", "root");
    cr_assert_str_eq(run(m, &ev, &s), "on_user{}");
    vigil_event_reset(&ev, "x", 1); /* no message field at all */
    field(&ev, "user.name", "root");
    cr_assert_str_eq(run(m, &ev, &s), "on_user{}");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, unescapes_json_values_before_matching)
{
    struct vigil_rule_set *set = load(
        "pack: p\nrules:\n" RULE("r", "    match: 'say \"(?<w>[^\"]+)\"'\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    const char raw[] = "say \\\"h\\u00e9\\\"";
    vigil_event_reset(&ev, raw, sizeof(raw) - 1);
    vigil_event_add(&ev, VIGIL_SV("message"), VIGIL_SV(raw), VIGIL_FIELD_STRING,
                    true);
    cr_assert_str_eq(run(m, &ev, &s), "r{w=h\xc3\xa9,}");
    /* Broken escapes: the field cannot be read, so nothing matches. */
    vigil_event_reset(&ev, "x", 1);
    vigil_event_add(&ev, VIGIL_SV("message"), VIGIL_SV("say \\q"),
                    VIGIL_FIELD_STRING, true);
    cr_assert_str_eq(run(m, &ev, &s), "");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, finds_fields_among_many_names_alike)
{
    /* Names of one length with the same first and last bytes, and one
     * longer than 64 bytes: the lookup must compare names, not hashes. */
    static const char long_name[] =
        "a.very.long.field.name.that.goes.on.and.on.past.sixty.four.bytes";
    struct vigil_rule_set *set = load(
        "pack: p\nrules:\n" RULE("mid", "    field: ab.c\n    match: '^x$'\n")
            RULE("long", "    field: a.very.long.field.name.that.goes.on.and."
                         "on.past.sixty.four.bytes\n    match: '^y$'\n")
                RULE("cond", "    field: aa.c\n    match: '^z$'\n"
                             "    when: { 'field:az.c': w }\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    char names[26][5];
    vigil_event_reset(&ev, "x", 1);
    for (int i = 0; i < 26; i++) {
        snprintf(names[i], sizeof(names[i]), "a%c.c", 'a' + i);
        field(&ev, names[i], i == 1 ? "x" : i == 0 ? "z" : "w");
    }
    field(&ev, long_name, "y");
    cr_assert_str_eq(run(m, &ev, &s), "mid{} long{} cond{}");
    /* The last field of a name wins, the pattern's and the condition's. */
    field(&ev, "ab.c", "not x");
    field(&ev, "az.c", "not w");
    cr_assert_str_eq(run(m, &ev, &s), "long{}");
    vigil_event_reset(&ev, "x", 1);
    field(&ev, "ab.", "x");
    field(&ev, "ab.cc", "x");
    field(&ev, "", "x");
    cr_assert_str_eq(run(m, &ev, &s), "");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

/* Adds env=prod to the event the first time it is called. */
static int add_env(const struct vigil_match *m, void *user)
{
    struct vigil_event *ev = user;
    (void)m;
    if (!vigil_event_find(ev, VIGIL_SV("env")))
        field(ev, "env", "prod");
    return 0;
}

Test(matcher, conditions_see_fields_added_during_the_run)
{
    struct vigil_rule_set *set =
        load("pack: p\nrules:\n" RULE("first", "    match: 'x'\n")
                 RULE("second", "    match: 'x'\n"
                                "    when: { 'field:env': prod }\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    event_msg(&ev, "x");
    cr_assert_eq(vigil_matcher_run(m, &ev, add_env, &ev), 2);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

/*
 * (a+)+$ on "a" x 30000 + tail: with tail "b" Vectorscan alone proves that
 * there is no match, so PCRE2 only runs without the prefilter; with tail
 * "b a" both paths run PCRE2, which gives up at the match limit.
 */
static void limit_case(bool prefilter, const char *tail)
{
    struct vigil_rule_set_options opts = {.no_prefilter = !prefilter};
    struct vigil_rule_set *set =
        load_opts("pack: p\nrules:\n" RULE("slow", "    match: '(a+)+$'\n")
                      RULE("fast", "    match: 'b'\n"),
                  &opts);
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    size_t n = 30000;
    char *msg = malloc(n + strlen(tail) + 1);
    memset(msg, 'a', n);
    memcpy(msg + n, tail, strlen(tail) + 1);
    event_msg(&ev, msg);
    struct seen s;
    cr_assert_str_eq(run(m, &ev, &s), "fast{}");
    cr_assert_eq(vigil_rule_set_limit_hits(set, 0), 1);
    cr_assert_eq(vigil_rule_set_limit_hits(set, 1), 0);
    cr_assert_str_eq(run(m, &ev, &s), "fast{}");
    cr_assert_eq(vigil_rule_set_limit_hits(set, 0), 2);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
    free(msg);
}

Test(matcher, counts_a_limit_hit_as_no_match_and_goes_on)
{
    limit_case(false, "b");
    limit_case(true, "b a");
    limit_case(false, "b a");
}

Test(matcher, counts_limit_hits_of_conditions)
{
    struct vigil_rule_set *set = load(
        "pack: p\nrules:\n" RULE("r", "    match: 'x'\n"
                                      "    when: { field:blob: '~(a+)+$' }\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    size_t n = 30000;
    char *blob = malloc(n + 2);
    memset(blob, 'a', n);
    memcpy(blob + n, "b", 2);
    event_msg(&ev, "x");
    field(&ev, "blob", blob);
    struct seen s;
    cr_assert_str_eq(run(m, &ev, &s), "");
    cr_assert_eq(vigil_rule_set_limit_hits(set, 0), 1);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
    free(blob);
}

Test(matcher, callback_can_stop_the_run)
{
    struct vigil_rule_set *set =
        load("pack: p\nrules:\n" RULE("a", "    match: 'x'\n")
                 RULE("b", "    match: 'x'\n") RULE("c", "    match: 'x'\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    event_msg(&ev, "x");
    struct seen s = {.stop_after = 2};
    cr_assert_eq(vigil_matcher_run(m, &ev, collect, &s), -7);
    cr_assert_eq(s.calls, 2);
    cr_assert_eq(vigil_matcher_run(m, &ev, NULL, NULL), 3);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, takes_the_group_that_participated_for_duplicate_names)
{
    struct vigil_rule_set *set = load("pack: p\nrules:\n" RULE(
        "r", "    match: '(?J)(?:from (?<ip>\\S+)|rhost=(?<ip>\\S+))'\n"));
    const struct vigil_rule *r = vigil_rule_set_rule(set, 0);
    cr_assert_eq(r->n_captures, 1);
    cr_assert_eq(r->captures[0].n_groups, 2);
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    event_msg(&ev, "auth failure; rhost=5.6.7.8");
    cr_assert_str_eq(run(m, &ev, &s), "r{ip=5.6.7.8,}");
    event_msg(&ev, "failure from 1.1.1.1");
    cr_assert_str_eq(run(m, &ev, &s), "r{ip=1.1.1.1,}");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

struct ref_check {
    struct vigil_event *ev;
    int checked;
};

static int check_refs(const struct vigil_match *m, void *user)
{
    struct ref_check *c = user;
    const struct vigil_rule *r = m->rule;
    struct vigil_sv v;
    cr_assert_eq(r->n_counts, 3);
    cr_assert_eq(vigil_match_ref(m, c->ev, &r->counts[0].ref, &v), 0);
    cr_assert_eq(v.len, 7);
    cr_assert(memcmp(v.ptr, "1.2.3.4", 7) == 0);
    cr_assert_eq(vigil_match_ref(m, c->ev, &r->counts[1].ref, &v), 0);
    cr_assert(vigil_sv_eq(v, VIGIL_SV("h\xc3\xa9")));
    /* The optional capture did not participate. */
    cr_assert_eq(vigil_match_ref(m, c->ev, &r->counts[2].ref, &v), -1);
    struct vigil_ref missing = {.kind = VIGIL_REF_FIELD,
                                .name = VIGIL_SV("no.such")};
    cr_assert_eq(vigil_match_ref(m, c->ev, &missing, &v), -1);
    c->checked++;
    return 0;
}

Test(matcher, match_ref_resolves_captures_and_unescaped_fields)
{
    struct vigil_rule_set *set = load(
        "pack: p\nrules:\n" RULE("r", "    match: 'from (?<ip>\\S+)( "
                                      "port (?<port>\\d+))?'\n"
                                      "    count:\n"
                                      "      - { counter: a, by: ip }\n"
                                      "      - { counter: b, by: host.name }\n"
                                      "      - { counter: c, sum: port }\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    event_msg(&ev, "from 1.2.3.4");
    vigil_event_add(&ev, VIGIL_SV("host.name"), VIGIL_SV("h\\u00e9"),
                    VIGIL_FIELD_STRING, true);
    struct ref_check c = {&ev, 0};
    cr_assert_eq(vigil_matcher_run(m, &ev, check_refs, &c), 1);
    cr_assert_eq(c.checked, 1);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, matches_values_with_broken_utf8)
{
    const char *rules =
        "pack: p\nrules:\n" RULE("r", "    match: 'user=(?<u>\\w+)'\n")
            RULE("any", "    match: '.'\n");
    struct vigil_rule_set *set = load(rules);
    struct vigil_matcher *m = vigil_matcher_create(set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    struct seen s;
    event_msg(&ev, "\xff\xfe user=bob \xc3");
    cr_assert_str_eq(run(m, &ev, &s), "r{u=bob,} any{}");
    event_msg(&ev, "\xff");
    cr_assert_str_eq(run(m, &ev, &s), "");
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    vigil_rule_set_unref(set);
}

Test(matcher, keeps_its_rule_set_alive)
{
    struct vigil_rule_set *set =
        load("pack: p\nrules:\n" RULE("r", "    match: 'x'\n"));
    struct vigil_matcher *m = vigil_matcher_create(set);
    vigil_rule_set_unref(set); /* the matcher still holds one */
    cr_assert_eq(vigil_matcher_rule_set(m), set);
    struct vigil_event ev;
    vigil_event_init(&ev);
    event_msg(&ev, "x");
    cr_assert_eq(vigil_matcher_run(m, &ev, NULL, NULL), 1);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
}

/*
 * The prefilter must never change a result: a deterministic corpus of a
 * few hundred generated rules (plus the fixtures) and lines, matched with
 * Vectorscan + PCRE2 and with PCRE2 alone, must give the same rules and
 * captures for every line.
 */

static const char *const templates[] = {
    "%s",
    "(?i)%s",
    "\\b%s\\b",
    "%s (?<arg>\\S+)",
    "(?<pre>\\w+) %s",
    "^%s",
    "%s$",
    "%s.{0,20}?(?<num>\\d+)",
    "(?:from |rhost=)(?<ip>\\d+\\.\\d+\\.\\d+\\.\\d+)",
    "user=(?<u>[a-z]+)(?:@(?<dom>[a-z.]+))?",
    "(?<w>\\w+) \\k<w>",
    "%s(?=[0-9])",
    "(?<=%s)\\d+",
    "%s\\K\\w+",
    "(?|(%s)|(x%s))",
    "(?:%s)*",
    "^$",
    "[\xc3\xa9]+%s?",
    "(?i)\xc3\x89%s",
    "%s\\s+\\S+\\s+(?<third>\\S+)",
    "(?s)%s.+end",
    "(?m)^%s",
    "(?>%s+)x",
    "%s{2,}",
    "\\p{Lu}{2,}",
    "[^ ]+@[^ ]+",
    "(?<word>\\w+\\s?)+%s!",
    "(?<a>%s)|(?<b>port \\d+)",
    "%s[^\\n]*$",
    ".",
};

static const char *const vocab[] = {
    "sshd",
    "Failed",
    "password",
    "root",
    "admin",
    "GET",
    "POST",
    "error",
    "denied",
    "from",
    "port",
    "kernel",
    "ab",
    "aa",
    "token",
    "end",
    "user",
    "x",
    "ssh2",
    "ERROR",
    "Accepted",
    "bob",
    "10.0.0.1",
    "\xc3\x89\x43OLE",
    "\xc3\xa9t\xc3\xa9",
    "na\xc3\xafve",
};

#define N_VOCAB (sizeof(vocab) / sizeof(vocab[0]))

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Appends printf output to a growing heap string. */
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    while (*len + (size_t)n + 1 > *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *buf = realloc(*buf, *cap);
        cr_assert_not_null(*buf);
    }
    va_start(ap, fmt);
    vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

/* Copies tpl into out with every "%s" replaced by w. */
static void subst(const char *tpl, const char *w, char *out, size_t size)
{
    size_t o = 0, wl = strlen(w);
    for (const char *p = tpl; *p && o + wl + 1 < size; p++) {
        if (p[0] == '%' && p[1] == 's') {
            memcpy(out + o, w, wl);
            o += wl;
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* The generated rule pack as YAML. */
static char *generate_rules(size_t *n_rules)
{
    uint64_t seed = 42;
    char *y = NULL;
    size_t len = 0, cap = 0, n = 0;
    append(&y, &len, &cap, "pack: gen\nrules:\n");
    size_t nt = sizeof(templates) / sizeof(templates[0]);
    for (size_t t = 0; t < nt; t++) {
        for (int k = 0; k < 10; k++) {
            const char *w = vocab[rng_next(&seed) % N_VOCAB];
            char pat[256];
            subst(templates[t], w, pat, sizeof(pat));
            append(&y, &len, &cap,
                   "  - id: g.%zu\n    title: t\n    severity: low\n", n++);
            unsigned pick = (unsigned)(rng_next(&seed) % 10);
            if (pick == 0)
                append(&y, &len, &cap, "    field: user\n");
            else if (pick == 1)
                append(&y, &len, &cap, "    field: host.name\n");
            else if (pick == 2)
                append(&y, &len, &cap, "    when: { host.name: '~^web' }\n");
            else if (pick == 3)
                append(&y, &len, &cap, "    unless: { 'field:user': root }\n");
            append(&y, &len, &cap, "    match: '");
            for (const char *p = pat; *p; p++) {
                if (*p == '\'')
                    append(&y, &len, &cap, "''");
                else
                    append(&y, &len, &cap, "%c", *p);
            }
            append(&y, &len, &cap, "'\n");
        }
    }
    *n_rules = n;
    return y;
}

struct corpus {
    char **lines;
    size_t n;
};

static void corpus_add(struct corpus *c, const char *text, size_t len)
{
    c->lines = realloc(c->lines, (c->n + 1) * sizeof(*c->lines));
    c->lines[c->n++] = strndup(text, len);
}

static void corpus_build(struct corpus *c, const struct vigil_rule_set *fix)
{
    uint64_t seed = 7;
    static const char *const extra[] = {
        "from 10.1.2.3",
        "rhost=192.168.0.9",
        "user=bob@example.org",
        "user=eve",
        "port 22",
        "x1",
        "ab12",
        "\xff\xfe",
        "end",
        "\n",
        "!",
        "aa aa",
        "AB CD",
        "a@b",
        "bob bob",
    };
    size_t ne = sizeof(extra) / sizeof(extra[0]);
    for (int i = 0; i < 600; i++) {
        char line[512];
        size_t len = 0;
        int words = (int)(rng_next(&seed) % 12);
        for (int k = 0; k < words; k++) {
            const char *w = rng_next(&seed) % 3
                                ? vocab[rng_next(&seed) % N_VOCAB]
                                : extra[rng_next(&seed) % ne];
            int n = snprintf(line + len, sizeof(line) - len, "%s%s",
                             k ? " " : "", w);
            if (n < 0 || (size_t)n >= sizeof(line) - len)
                break;
            len += (size_t)n;
        }
        corpus_add(c, line, len);
    }
    for (size_t i = 0; fix && i < vigil_rule_set_size(fix); i++) {
        const struct vigil_rule *r = vigil_rule_set_rule(fix, i);
        for (size_t t = 0; t < r->n_tests; t++)
            corpus_add(c, r->tests[t].text, r->tests[t].text_len);
    }
}

static void corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    free(c->lines);
}

static void corpus_event(struct vigil_event *ev, const struct corpus *c,
                         size_t i)
{
    static const char *const users[] = {"root", "bob", "aa", "ssh2", ""};
    static const char *const hosts[] = {"web-1", "db-2", "webserver", "x"};
    event_msg(ev, c->lines[i]);
    field(ev, "user", users[i % 5]);
    field(ev, "host.name", hosts[i % 4]);
}

/* Runs set over the corpus: per-line results and per-rule match counts. */
static char **corpus_run(struct vigil_rule_set *set, const struct corpus *c,
                         size_t *counts)
{
    struct vigil_matcher *m = vigil_matcher_create(set);
    cr_assert_not_null(m);
    struct vigil_event ev;
    vigil_event_init(&ev);
    char **out = calloc(c->n, sizeof(*out));
    struct seen *s = malloc(sizeof(*s));
    for (size_t i = 0; i < c->n; i++) {
        corpus_event(&ev, c, i);
        memset(s, 0, sizeof(*s));
        cr_assert_geq(vigil_matcher_run(m, &ev, collect, s), 0);
        out[i] = strdup(s->buf);
        for (const char *p = s->buf; (p = strstr(p, "g.")) != NULL; p++) {
            if (p == s->buf || p[-1] == ' ')
                counts[strtoul(p + 2, NULL, 10)]++;
        }
    }
    free(s);
    vigil_event_fini(&ev);
    vigil_matcher_destroy(m);
    return out;
}

static struct vigil_rule_set *corpus_set(const char *gen, bool prefilter)
{
    char *paths[2];
    struct vigil_rule_source src[3];
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "incidents.yaml" : "sshd.yaml";
        cr_assert(
            asprintf(&paths[i], "%s/rules/good/%s", VIGIL_TESTS_DIR, name) > 0);
        size_t len = 0;
        char *text = vigil_test_read_file(paths[i], &len);
        cr_assert_not_null(text);
        src[i] = (struct vigil_rule_source){paths[i], text, len};
    }
    src[2] = (struct vigil_rule_source){"gen.yaml", gen, strlen(gen)};
    struct vigil_rule_set_options opts = {.no_prefilter = !prefilter};
    /* Generated rules first, so that rule index i is "g.i". */
    struct vigil_rule_source order[3] = {src[2], src[0], src[1]};
    struct vigil_rule_set *set =
        vigil_rule_set_load_sources(order, 3, &opts, &diags);
    if (!set)
        vigil_diags_print(&diags, stderr);
    cr_assert_not_null(set);
    for (int i = 0; i < 2; i++) {
        free((char *)src[i].text);
        free(paths[i]);
    }
    return set;
}

Test(matcher, prefilter_and_pcre2_alone_agree_on_a_corpus)
{
    size_t n_gen;
    char *gen = generate_rules(&n_gen);
    struct vigil_rule_set *with = corpus_set(gen, true);
    struct vigil_rule_set *without = corpus_set(gen, false);
    struct corpus c = {0};
    corpus_build(&c, with);
    cr_assert_geq(n_gen, 250);
    cr_assert_geq(c.n, 600);

    size_t *ca = calloc(n_gen, sizeof(*ca)), *cb = calloc(n_gen, sizeof(*cb));
    char **a = corpus_run(with, &c, ca);
    char **b = corpus_run(without, &c, cb);
    size_t matched_lines = 0;
    for (size_t i = 0; i < c.n; i++) {
        cr_assert_str_eq(a[i], b[i], "line %zu '%s'", i, c.lines[i]);
        matched_lines += a[i][0] != '\0';
    }
    size_t rules_hit = 0;
    for (size_t i = 0; i < n_gen; i++) {
        cr_assert_eq(ca[i], cb[i]);
        rules_hit += ca[i] > 0;
    }
    /* The corpus must exercise most rules, or equality proves little. */
    cr_assert_geq(rules_hit, n_gen * 6 / 10, "%zu of %zu", rules_hit, n_gen);
    cr_assert_geq(matched_lines, c.n * 9 / 10);
#ifdef VIGIL_HAVE_VECTORSCAN
    cr_assert(vigil_rule_set_has_prefilter(with));
    size_t unfiltered = vigil_rule_set_unfiltered(with, NULL);
    cr_assert(unfiltered > 0 && unfiltered < n_gen / 4, "%zu", unfiltered);
#endif
    cr_assert_not(vigil_rule_set_has_prefilter(without));

    for (size_t i = 0; i < c.n; i++) {
        free(a[i]);
        free(b[i]);
    }
    free(a);
    free(b);
    free(ca);
    free(cb);
    corpus_free(&c);
    vigil_rule_set_unref(with);
    vigil_rule_set_unref(without);
    free(gen);
}

struct worker {
    struct vigil_rule_set *set;
    const struct corpus *c;
    size_t *counts;
    char **out;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->out = corpus_run(w->set, w->c, w->counts);
    return NULL;
}

Test(matcher, one_rule_set_serves_several_threads)
{
    size_t n_gen;
    char *gen = generate_rules(&n_gen);
    struct vigil_rule_set *set = corpus_set(gen, true);
    struct corpus c = {0};
    corpus_build(&c, set);
    size_t *ref = calloc(n_gen, sizeof(*ref));
    char **want = corpus_run(set, &c, ref);

    enum { THREADS = 4 };
    struct worker w[THREADS];
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){set, &c, calloc(n_gen, sizeof(size_t)), NULL};
        cr_assert_eq(pthread_create(&tid[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        for (size_t k = 0; k < c.n; k++) {
            cr_assert_str_eq(w[i].out[k], want[k]);
            free(w[i].out[k]);
        }
        cr_assert(memcmp(w[i].counts, ref, n_gen * sizeof(size_t)) == 0);
        free(w[i].out);
        free(w[i].counts);
    }
    for (size_t k = 0; k < c.n; k++)
        free(want[k]);
    free(want);
    free(ref);
    corpus_free(&c);
    vigil_rule_set_unref(set);
    free(gen);
}
