/*
 * prefilter: the Vectorscan side of matching. One multi-pattern database
 * per distinct event field, compiled in prefilter mode (HS_FLAG_PREFILTER,
 * which may report a superset of the true matches but never misses one)
 * and UTF-8 mode (HS_FLAG_UTF8, like PCRE2's UTF mode):
 * a rule it reports is only a candidate, and PCRE2 confirms it. Patterns
 * Vectorscan cannot take even in prefilter mode become "unfiltered": they
 * are candidates on every event that has their field.
 *
 * Without VIGIL_HAVE_VECTORSCAN every function still exists:
 * vigil_prefilter_build() yields no prefilter and PCRE2 does all the work.
 *
 * The prefilter is immutable and shared; a struct vigil_prefilter_scratch
 * belongs to one thread.
 */
#ifndef VIGIL_PREFILTER_H
#define VIGIL_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vigil_rule_set;
struct vigil_prefilter;

/* A literal of vigil_prefilter_literals(): bytes, not NUL-terminated;
 * caseless when it came from a (?i:...) group (ASCII only then: PCRE2 may
 * also match its letters' other cases, K and S included). */
struct vigil_prefilter_literal {
    const char *ptr;
    size_t len;
    bool caseless;
};
struct vigil_prefilter_scratch;

/* True when vigild was built with Vectorscan. */
bool vigil_prefilter_available(void);

/*
 * Builds the databases for every field of set (its rules and fields must
 * be in place) and records in each rule that Vectorscan cannot take why
 * (rule->unfiltered). Returns the prefilter (free with
 * vigil_prefilter_destroy), or NULL without Vectorscan or on failure, in
 * which case every rule is unfiltered and *why says why (static text).
 */
struct vigil_prefilter *vigil_prefilter_build(struct vigil_rule_set *set,
                                              const char **why);

void vigil_prefilter_destroy(struct vigil_prefilter *pf);

/* Per-thread scanning state; NULL when out of memory. */
struct vigil_prefilter_scratch *
vigil_prefilter_scratch_create(const struct vigil_prefilter *pf);
void vigil_prefilter_scratch_destroy(struct vigil_prefilter_scratch *s);

/*
 * Sets in the bitmap cand (one bit per rule index) the candidate rules of
 * field for value data[0..len): those Vectorscan reports plus the field's
 * unfiltered rules. When the value is not valid UTF-8 (Vectorscan's UTF-8
 * mode must not see it) or the scan fails, every rule of the field is a
 * candidate, so the result is never short of a true match. utf8 says the
 * caller knows the value is valid UTF-8 (a decoded event's, event.h), so
 * it is not checked again.
 */
void vigil_prefilter_scan(const struct vigil_prefilter *pf,
                          struct vigil_prefilter_scratch *s, size_t field,
                          const char *data, size_t len, bool utf8,
                          uint64_t *cand);

/*
 * Required literals: fills lits[0..n) with byte strings such that every
 * subject a PCRE2 match of pattern[0..len) (UTF mode, no options) is found
 * in holds at least one of them. For each top-level alternative, of the
 * runs of plain characters it must match and the literal sets of the
 * groups it must match (read the same way, a few levels deep), the one
 * whose shortest member is longest; each member at least
 * VIGIL_PREFILTER_MIN_LITERAL bytes. (?i:...) groups give caseless
 * literals. The bytes are written to buf (cap >=
 * len) and lits point into it. Returns n (1..max), or 0 when some
 * alternative has no such literal, more than max are needed, or the
 * pattern uses a construct this reading does not follow (inline options,
 * \Q...\E, backreferences, verbs): then the pattern needs Vectorscan's
 * own prefilter mode. Pure; any thread.
 */
#define VIGIL_PREFILTER_MIN_LITERAL 4
#define VIGIL_PREFILTER_MAX_LITERALS 16
size_t vigil_prefilter_literals(const char *pattern, size_t len, char *buf,
                                size_t cap,
                                struct vigil_prefilter_literal *lits,
                                size_t max);

/* True when data[0..len) is well-formed UTF-8 (no overlongs, surrogates). */
bool vigil_utf8_valid(const char *data, size_t len);

#endif
