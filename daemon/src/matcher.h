/*
 * matcher: runs every rule of a shared rule set on one event.
 *
 * For each distinct field the rules look at, Vectorscan (when built in
 * and enabled for the set) names the candidate rules; PCRE2 confirms each
 * candidate on the field's value and extracts its named captures; then
 * the rule's when/unless conditions are checked. Every rule that matches
 * is reported, in rule-set order (no first-match-wins). Without the
 * prefilter every rule whose field is present is a candidate; the results
 * are identical either way.
 *
 * A struct vigil_matcher holds the per-thread state (Vectorscan scratch,
 * PCRE2 match data and JIT stack) and a reference to its rule set: create
 * one per worker thread and per rule set (after a reload, create a new
 * one over the new set).
 */
#ifndef VIGIL_MATCHER_H
#define VIGIL_MATCHER_H

#include <stddef.h>

#include "event.h"
#include "rule_set.h"

/* One rule that matched one event. */
struct vigil_match {
    const struct vigil_rule *rule;
    struct vigil_sv subject; /* the value of rule->field the pattern ran on */
    /*
     * rule->n_captures values, in the order of rule->captures; ptr is NULL
     * for a group that did not participate (an empty capture that did has
     * a non-NULL ptr and len 0). Views into subject.
     */
    const struct vigil_sv *captures;
};

/*
 * Called for each matching rule. Everything in m is borrowed until the
 * callback returns (views stay valid until the event is reset). Return 0
 * to go on, a negative value to stop vigil_matcher_run() with it.
 */
typedef int (*vigil_match_fn)(const struct vigil_match *m, void *user);

struct vigil_matcher;

/*
 * Creates matching state over set (takes a reference of its own). NULL
 * when out of memory. The matcher belongs to the calling thread.
 */
struct vigil_matcher *vigil_matcher_create(struct vigil_rule_set *set);
void vigil_matcher_destroy(struct vigil_matcher *m);

/* The set m matches with (borrowed). */
struct vigil_rule_set *vigil_matcher_rule_set(const struct vigil_matcher *m);

/*
 * Runs every rule on ev and calls cb for each one that matches. Values
 * with JSON escapes are unescaped into ev's scratch, hence ev is not
 * const. A rule whose pattern or condition hits a PCRE2 limit does not
 * match and is counted (vigil_rule_set_limit_hits()). Returns the number
 * of matching rules, or the negative value cb stopped with.
 */
int vigil_matcher_run(struct vigil_matcher *m, struct vigil_event *ev,
                      vigil_match_fn cb, void *user);

/*
 * The value ref names for match m: the capture (from m) or the event
 * field (unescaped via vigil_event_value(), so ev is the event m was
 * found in). Returns 0 and *out, or -1 when the capture did not
 * participate, the field is missing, or its escapes are invalid.
 */
int vigil_match_ref(const struct vigil_match *m, struct vigil_event *ev,
                    const struct vigil_ref *ref, struct vigil_sv *out);

#endif
