/*
 * rule_set: rule packs (rules/packs/ files, DESIGN.md section 4) loaded,
 * validated and compiled into one immutable, reference-counted set.
 *
 * Loading reports every problem it finds, each as "file:line:col:
 * message", and yields a set only when there was none. A set is never
 * modified after loading (apart from its atomic limit-hit counters), so
 * every worker thread may read it at once; a reload builds a new set and
 * swaps it in, and the old one goes away with its last reference.
 *
 * Matching lives in matcher.h: one struct vigil_matcher per thread over a
 * shared set. The pipeline reads the counter definitions from here: every
 * rule lists the counters it feeds (struct vigil_count_spec), each with the
 * capture or event field that gives the key, the distinct value or the
 * number to add (resolve it with vigil_match_ref(), matcher.h).
 *
 * References (by, distinct, sum, pair key, when/unless keys, test
 * expectations) name either a named capture of the rule's pattern or an
 * event field; rules/README.md gives the grammar:
 *   - word characters only (src_ip): a named capture, which the pattern
 *     must define;
 *   - "field:" prefix (field:user): the event field after the prefix;
 *   - anything else (host.name, @timestamp): an event field.
 */
#ifndef VIGIL_RULE_SET_H
#define VIGIL_RULE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "event.h"
#include "regex.h"

enum vigil_severity {
    VIGIL_SEVERITY_INFO,
    VIGIL_SEVERITY_LOW,
    VIGIL_SEVERITY_MEDIUM,
    VIGIL_SEVERITY_HIGH,
    VIGIL_SEVERITY_CRITICAL,
};

/* "info" ... "critical". */
const char *vigil_severity_name(enum vigil_severity s);

/* Parses a severity name; -1 for anything else. */
int vigil_severity_parse(const char *s, size_t len, enum vigil_severity *out);

enum vigil_count_kind {
    VIGIL_COUNT_PLAIN,    /* one per matching event and bucket */
    VIGIL_COUNT_BY,       /* per-key counts (key = ref) */
    VIGIL_COUNT_DISTINCT, /* cardinality of ref's values */
    VIGIL_COUNT_SUM,      /* sum of ref's numeric values */
    VIGIL_COUNT_PAIR,     /* time between a start and an end event */
};

/* "plain", "by", "distinct", "sum", "pair". */
const char *vigil_count_kind_name(enum vigil_count_kind k);

enum vigil_ref_kind {
    VIGIL_REF_NONE,
    VIGIL_REF_CAPTURE, /* a named capture of the rule's pattern */
    VIGIL_REF_FIELD,   /* an event field by dotted path */
};

struct vigil_ref {
    enum vigil_ref_kind kind;
    uint32_t capture;     /* CAPTURE: index into the rule's captures[] */
    struct vigil_sv name; /* capture name or field path (NUL-terminated) */
};

/* A named capture of a rule's pattern. */
struct vigil_capture_def {
    char *name;
    uint32_t *groups; /* PCRE2 group numbers with this name ((?J) allows
                         several); the first that participated wins */
    uint32_t n_groups;
};

enum vigil_pair_role {
    VIGIL_PAIR_NONE,  /* not a pair counter */
    VIGIL_PAIR_START, /* this rule's events open a pair */
    VIGIL_PAIR_END,   /* this rule's events complete a pair */
};

/* A counter: a name with exactly one kind, fed by one or more rules. */
struct vigil_counter {
    char *name;
    enum vigil_count_kind kind;
    size_t index; /* in the set: vigil_rule_set_counter(set, index) */
    /* PAIR only: */
    const struct vigil_rule *start;
    const struct vigil_rule *end;
    uint64_t within_ms; /* pairs completed within this count for within() */
};

/* How one rule feeds one counter. */
struct vigil_count_spec {
    const struct vigil_counter *counter;
    enum vigil_pair_role role; /* PAIR counters only */
    struct vigil_ref ref;      /* by, distinct, sum, pair key; NONE: plain */
};

/* One when/unless condition: ref's value equals exact, or matches re. */
struct vigil_cond {
    struct vigil_ref ref;
    char *exact; /* NUL-terminated; NULL when re is set */
    size_t exact_len;
    struct vigil_regex *re;
};

/* One expectation of a test: ref's value must equal value. */
struct vigil_expect {
    struct vigil_ref ref;
    char *value;
    size_t value_len;
};

/* An inline test (tests: in the rule file). */
struct vigil_rule_test {
    int line; /* position of the test entry in the rule's file */
    int col;
    char *text; /* the event line */
    size_t text_len;
    bool expect_match;
    struct vigil_expect *expects;
    size_t n_expects;
};

struct vigil_rule {
    size_t index; /* in the set, in load order (files, then rules) */
    char *id;
    char *title;
    char *pack;
    enum vigil_severity severity;
    char *field;        /* dotted path the pattern runs on */
    size_t field_index; /* which distinct field of the set */
    struct vigil_regex *re;
    struct vigil_capture_def *captures; /* in pattern order */
    size_t n_captures;
    struct vigil_cond *when; /* all must hold */
    size_t n_when;
    struct vigil_cond *unless; /* none may hold */
    size_t n_unless;
    struct vigil_count_spec *counts;
    size_t n_counts;
    bool record;
    char **tags; /* NULL-terminated */
    size_t n_tags;
    struct vigil_rule_test *tests;
    size_t n_tests;
    char *file; /* where the rule is defined */
    int line;
    int col;
    /*
     * Why Vectorscan cannot prefilter this pattern, so that PCRE2 confirms
     * it on every event of its field; NULL when it can, and also when the
     * whole set has no prefilter (see vigil_rule_set_has_prefilter()).
     */
    char *unfiltered;
};

struct vigil_rule_set_options {
    struct vigil_regex_limits limits; /* zero fields: defaults */
    bool no_prefilter; /* PCRE2 alone even when built with Vectorscan */
};

/* One rule file already in memory (tests, fuzzing). */
struct vigil_rule_source {
    const char *name; /* used in messages */
    const char *text;
    size_t len;
};

struct vigil_rule_set;

/*
 * Loads the rule files at paths[0..n) into one set. Every problem goes to
 * diags; NULL when there was any (or when out of memory). opts may be
 * NULL (defaults). The set starts with one reference, the caller's. Any
 * thread; the result may be shared by all.
 */
struct vigil_rule_set *
vigil_rule_set_load(const char *const *paths, size_t n,
                    const struct vigil_rule_set_options *opts,
                    struct vigil_diags *diags);

/* Same from memory (texts are borrowed for the call only). */
struct vigil_rule_set *
vigil_rule_set_load_sources(const struct vigil_rule_source *srcs, size_t n,
                            const struct vigil_rule_set_options *opts,
                            struct vigil_diags *diags);

struct vigil_config;

/*
 * Loads the rule files a config lists (cfg->rule_files) with its matching
 * settings (match and depth limits, whether to prefilter). Like
 * vigil_rule_set_load() otherwise; cfg is borrowed for the call.
 */
struct vigil_rule_set *
vigil_rule_set_load_config(const struct vigil_config *cfg,
                           struct vigil_diags *diags);

/* The rule set options a config asks for. */
void vigil_rule_set_options_from_config(const struct vigil_config *cfg,
                                        struct vigil_rule_set_options *out);

/*
 * Expands glob patterns (relative ones against base_dir, NULL = the
 * current folder) into a sorted, de-duplicated, NULL-terminated list of
 * paths (free with vigil_strv_free). A pattern that matches no file is an
 * error in diags. Returns 0, or -1.
 */
int vigil_rule_paths_expand(const char *const *globs, size_t n,
                            const char *base_dir, char ***out,
                            struct vigil_diags *diags);

/* Takes one more reference; returns set. Any thread. */
struct vigil_rule_set *vigil_rule_set_ref(struct vigil_rule_set *set);

/* Drops a reference; the last one frees the set. NULL is fine. */
void vigil_rule_set_unref(struct vigil_rule_set *set);

size_t vigil_rule_set_size(const struct vigil_rule_set *set);

/* Rule i (load order); borrowed for the set's lifetime. */
const struct vigil_rule *vigil_rule_set_rule(const struct vigil_rule_set *set,
                                             size_t i);

/* The rule with this id, or NULL. */
const struct vigil_rule *vigil_rule_set_find(const struct vigil_rule_set *set,
                                             const char *id);

size_t vigil_rule_set_counter_count(const struct vigil_rule_set *set);
const struct vigil_counter *
vigil_rule_set_counter(const struct vigil_rule_set *set, size_t i);
const struct vigil_counter *
vigil_rule_set_find_counter(const struct vigil_rule_set *set, const char *name);

/* The limits matchers of this set use (defaults filled in). */
const struct vigil_regex_limits *
vigil_rule_set_limits(const struct vigil_rule_set *set);

/* True when Vectorscan prefilters (some of) the set's patterns. */
bool vigil_rule_set_has_prefilter(const struct vigil_rule_set *set);

/*
 * Rules whose pattern PCRE2 confirms on every event of their field (see
 * struct vigil_rule's unfiltered), as a note per rule in diags ("file:
 * line:col: rule X: ..."). With the prefilter disabled or not built, one
 * note says so instead of listing every rule. Returns how many rules.
 */
size_t vigil_rule_set_unfiltered(const struct vigil_rule_set *set,
                                 struct vigil_diags *notes);

/*
 * How many matches of rule i stopped at a PCRE2 limit (match, depth,
 * heap, JIT stack), summed over every thread (for
 * vigil_regex_limit_hits_total{rule}). Any thread.
 */
uint64_t vigil_rule_set_limit_hits(const struct vigil_rule_set *set, size_t i);

/* Counts one match of rule i (relaxed atomic; any thread), and reads the
 * count summed over every thread (vigil_rule_matches_total{rule}). The
 * counts live in the set: a reloaded set starts again from 0. */
void vigil_rule_set_count_match(struct vigil_rule_set *set, size_t i);
uint64_t vigil_rule_set_matches(const struct vigil_rule_set *set, size_t i);

#endif
