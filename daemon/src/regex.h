/*
 * regex: the PCRE2 wrapper every rule pattern and condition goes through.
 *
 * Patterns are compiled once (UTF mode with PCRE2_MATCH_INVALID_UTF, so
 * hostile bytes never make a match fail with an error: invalid sequences
 * simply cannot match), JIT-compiled when the platform allows, and shared
 * read-only by every thread. All mutable matching state (match data, JIT
 * stack, match context with the limits) lives in a struct vigil_regex_ctx
 * that belongs to one thread.
 *
 * A match that hits the match limit, the depth limit, the heap limit or
 * the JIT stack limit returns VIGIL_REGEX_LIMIT: the caller counts it
 * (per rule) and treats it as no match, so a pathological pattern never
 * stalls a worker.
 */
#ifndef VIGIL_REGEX_H
#define VIGIL_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits applied to every match; zero fields take the defaults below. */
struct vigil_regex_limits {
    uint32_t match_limit;   /* PCRE2 match limit (backtracking steps) */
    uint32_t depth_limit;   /* PCRE2 depth limit (interpreter only) */
    uint32_t heap_limit_kb; /* PCRE2 heap limit (interpreter only), KiB */
    uint32_t jit_stack_kb;  /* largest JIT stack of a thread, KiB */
};

/* The same defaults as vigil.yaml's matching section (config.c). */
#define VIGIL_REGEX_DEFAULT_MATCH_LIMIT 100000u
#define VIGIL_REGEX_DEFAULT_DEPTH_LIMIT 10000u
#define VIGIL_REGEX_DEFAULT_HEAP_LIMIT_KB 65536u
#define VIGIL_REGEX_DEFAULT_JIT_STACK_KB 1024u

/* Fills in the defaults for every zero field of *lim. */
void vigil_regex_limits_resolve(struct vigil_regex_limits *lim);

/* Why a pattern did not compile: PCRE2's message and its byte offset. */
struct vigil_regex_error {
    size_t offset; /* byte offset into the pattern where PCRE2 stopped */
    char msg[160];
};

struct vigil_regex;

/*
 * Compiles pattern[0..len) (need not be NUL-terminated; may contain NUL).
 * Returns the compiled pattern (free with vigil_regex_destroy), or NULL
 * with *err filled in (offset 0 and "out of memory" when allocation
 * failed). Thread-safe; the result may be shared by every thread.
 */
struct vigil_regex *vigil_regex_compile(const char *pattern, size_t len,
                                        struct vigil_regex_error *err);

void vigil_regex_destroy(struct vigil_regex *re);

/* The pattern text as compiled (NUL-terminated copy owned by re). */
const char *vigil_regex_pattern(const struct vigil_regex *re, size_t *len);

/* Number of capturing groups (named or not). */
uint32_t vigil_regex_capture_count(const struct vigil_regex *re);

/* True when the pattern runs as JIT code. */
bool vigil_regex_is_jit(const struct vigil_regex *re);

/*
 * Named groups, in PCRE2's name-table order (sorted by name; a name used
 * by several groups under (?J) appears once per group). Returns the
 * number of entries; vigil_regex_name() gives entry i's NUL-terminated
 * name (borrowed from re) and its group number.
 */
size_t vigil_regex_name_count(const struct vigil_regex *re);
const char *vigil_regex_name(const struct vigil_regex *re, size_t i,
                             uint32_t *group);

enum vigil_regex_result {
    VIGIL_REGEX_NOMATCH = 0,
    VIGIL_REGEX_MATCH = 1,
    VIGIL_REGEX_ERROR = -1, /* out of memory or an unexpected PCRE2 error */
    VIGIL_REGEX_LIMIT = -2, /* match, depth, heap or JIT stack limit hit */
};

/* Per-thread matching state. */
struct vigil_regex_ctx;

/*
 * Creates matching state for one thread with the given limits (NULL:
 * defaults) and room for max_captures groups (it grows when a pattern
 * needs more). NULL when out of memory.
 */
struct vigil_regex_ctx *
vigil_regex_ctx_create(const struct vigil_regex_limits *lim,
                       uint32_t max_captures);
void vigil_regex_ctx_destroy(struct vigil_regex_ctx *ctx);

/*
 * Runs re on subject[0..len) and keeps the offsets of every group in ctx
 * until the next vigil_regex_match() on the same ctx. Returns a
 * enum vigil_regex_result. Only the thread owning ctx may call it.
 */
int vigil_regex_match(struct vigil_regex_ctx *ctx, const struct vigil_regex *re,
                      const char *subject, size_t len);

/*
 * Like vigil_regex_match() but keeps no group offsets, so the offsets of
 * the last vigil_regex_match() stay valid (conditions are tested between
 * a rule's match and the use of its captures).
 */
int vigil_regex_test(struct vigil_regex_ctx *ctx, const struct vigil_regex *re,
                     const char *subject, size_t len);

/*
 * Byte offsets of group g (0 = the whole match) of the last successful
 * vigil_regex_match(). Returns false when the group did not participate.
 */
bool vigil_regex_group(const struct vigil_regex_ctx *ctx, uint32_t g,
                       size_t *start, size_t *end);

/* How many matches on ctx hit a limit so far (this thread only). */
uint64_t vigil_regex_ctx_limit_hits(const struct vigil_regex_ctx *ctx);

#endif
