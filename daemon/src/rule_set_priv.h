/*
 * rule_set_priv: the inside of struct vigil_rule_set, shared by the
 * modules that build it (rule_load.c, rule_set.c, prefilter.c) and the one
 * that reads it on the hot path (matcher.c). Nothing else includes this.
 */
#ifndef VIGIL_RULE_SET_PRIV_H
#define VIGIL_RULE_SET_PRIV_H

#include <stdatomic.h>

#include "prefilter.h"
#include "rule_set.h"

/* A distinct event field that one or more patterns run on. */
struct vigil_rule_field {
    struct vigil_sv name; /* NUL-terminated, owned */
    size_t *rules;        /* indices of the rules on this field */
    size_t n_rules;
};

struct vigil_rule_set {
    _Atomic unsigned long refs;
    struct vigil_rule **rules;
    size_t n_rules;
    struct vigil_counter **counters;
    size_t n_counters;
    struct vigil_rule_field *fields;
    size_t n_fields;
    struct vigil_regex_limits limits;
    uint32_t max_groups;          /* largest capture count of any pattern */
    size_t max_captures;          /* largest n_captures of any rule */
    _Atomic uint64_t *limit_hits; /* per rule */
    _Atomic uint64_t *matches;    /* per rule */
    struct vigil_prefilter *prefilter; /* NULL: PCRE2 alone */
    const char *prefilter_why;         /* static: why there is none */
};

/* Frees one rule and everything it owns. */
void vigil_rule_free(struct vigil_rule *r);

/*
 * Takes the rules of a successful load (ownership of the array and every
 * rule and counter) and finishes the set: distinct fields, limits, the
 * Vectorscan prefilter. NULL when out of memory (everything freed).
 */
struct vigil_rule_set *
vigil_rule_set_assemble(struct vigil_rule **rules, size_t n_rules,
                        struct vigil_counter **counters, size_t n_counters,
                        const struct vigil_rule_set_options *opts,
                        struct vigil_diags *diags);

#endif
