#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vigil_regex {
    pcre2_code *code;
    char *pattern; /* NUL-terminated copy */
    size_t len;
    uint32_t captures;
    bool jit;
    uint32_t name_count;
    uint32_t name_entry_size;
    PCRE2_SPTR name_table;
};

struct vigil_regex_ctx {
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack; /* NULL when JIT is unavailable */
    pcre2_match_data *md;       /* group offsets of vigil_regex_match() */
    uint32_t md_pairs;
    const PCRE2_SIZE *ov;      /* md's offset vector (md_pairs pairs) */
    pcre2_match_data *test_md; /* one pair: vigil_regex_test() */
    bool md_valid;             /* md holds a successful match */
    uint64_t limit_hits;
};

void vigil_regex_limits_resolve(struct vigil_regex_limits *lim)
{
    if (!lim->match_limit)
        lim->match_limit = VIGIL_REGEX_DEFAULT_MATCH_LIMIT;
    if (!lim->depth_limit)
        lim->depth_limit = VIGIL_REGEX_DEFAULT_DEPTH_LIMIT;
    if (!lim->heap_limit_kb)
        lim->heap_limit_kb = VIGIL_REGEX_DEFAULT_HEAP_LIMIT_KB;
    if (!lim->jit_stack_kb)
        lim->jit_stack_kb = VIGIL_REGEX_DEFAULT_JIT_STACK_KB;
}

static void set_error(struct vigil_regex_error *err, size_t offset,
                      const char *msg)
{
    err->offset = offset;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
}

struct vigil_regex *vigil_regex_compile(const char *pattern, size_t len,
                                        struct vigil_regex_error *err)
{
    struct vigil_regex *re = calloc(1, sizeof(*re));
    if (!re) {
        set_error(err, 0, "out of memory");
        return NULL;
    }
    re->pattern = malloc(len + 1);
    if (!re->pattern) {
        set_error(err, 0, "out of memory");
        goto err_free_re;
    }
    if (len)
        memcpy(re->pattern, pattern, len);
    re->pattern[len] = '\0';
    re->len = len;

    /*
     * UTF mode with MATCH_INVALID_UTF: characters are code points for
     * patterns and events alike, and an event with broken UTF-8 can still
     * be matched (the broken bytes match nothing). \C would split
     * characters, so it is refused.
     */
    int code;
    PCRE2_SIZE offset;
    re->code = pcre2_compile((PCRE2_SPTR)re->pattern, len,
                             PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
                                 PCRE2_NEVER_BACKSLASH_C,
                             &code, &offset, NULL);
    if (!re->code) {
        PCRE2_UCHAR buf[sizeof(err->msg)];
        if (pcre2_get_error_message(code, buf, sizeof(buf)) < 0)
            snprintf((char *)buf, sizeof(buf), "PCRE2 error %d", code);
        set_error(err, offset, (const char *)buf);
        goto err_free_pattern;
    }
    /* JIT is an optimisation: where it is unavailable, interpret. */
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->captures);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &re->name_count);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE,
                       &re->name_entry_size);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &re->name_table);
    return re;

err_free_pattern:
    free(re->pattern);
err_free_re:
    free(re);
    return NULL;
}

void vigil_regex_destroy(struct vigil_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re->pattern);
    free(re);
}

const char *vigil_regex_pattern(const struct vigil_regex *re, size_t *len)
{
    if (len)
        *len = re->len;
    return re->pattern;
}

uint32_t vigil_regex_capture_count(const struct vigil_regex *re)
{
    return re->captures;
}

bool vigil_regex_is_jit(const struct vigil_regex *re)
{
    return re->jit;
}

size_t vigil_regex_name_count(const struct vigil_regex *re)
{
    return re->name_count;
}

const char *vigil_regex_name(const struct vigil_regex *re, size_t i,
                             uint32_t *group)
{
    if (i >= re->name_count)
        return NULL;
    /* Each entry: the group number in two bytes, then the name. */
    PCRE2_SPTR e = re->name_table + i * re->name_entry_size;
    if (group)
        *group = ((uint32_t)e[0] << 8) | e[1];
    return (const char *)(e + 2);
}

struct vigil_regex_ctx *
vigil_regex_ctx_create(const struct vigil_regex_limits *lim,
                       uint32_t max_captures)
{
    struct vigil_regex_limits l = {0};
    if (lim)
        l = *lim;
    vigil_regex_limits_resolve(&l);

    struct vigil_regex_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    ctx->mctx = pcre2_match_context_create(NULL);
    if (!ctx->mctx)
        goto err_free_ctx;
    pcre2_set_match_limit(ctx->mctx, l.match_limit);
    pcre2_set_depth_limit(ctx->mctx, l.depth_limit);
    pcre2_set_heap_limit(ctx->mctx, l.heap_limit_kb);

    /* Without JIT support this fails harmlessly: matches interpret. */
    size_t max_stack = (size_t)l.jit_stack_kb * 1024;
    size_t start_stack = max_stack < 32 * 1024 ? max_stack : 32 * 1024;
    ctx->jit_stack = pcre2_jit_stack_create(start_stack, max_stack, NULL);
    if (ctx->jit_stack)
        pcre2_jit_stack_assign(ctx->mctx, NULL, ctx->jit_stack);

    ctx->md_pairs = max_captures + 1;
    ctx->md = pcre2_match_data_create(ctx->md_pairs, NULL);
    if (!ctx->md)
        goto err_free_stack;
    ctx->ov = pcre2_get_ovector_pointer(ctx->md);
    ctx->test_md = pcre2_match_data_create(1, NULL);
    if (!ctx->test_md)
        goto err_free_md;
    return ctx;

err_free_md:
    pcre2_match_data_free(ctx->md);
err_free_stack:
    pcre2_jit_stack_free(ctx->jit_stack);
    pcre2_match_context_free(ctx->mctx);
err_free_ctx:
    free(ctx);
    return NULL;
}

void vigil_regex_ctx_destroy(struct vigil_regex_ctx *ctx)
{
    if (!ctx)
        return;
    pcre2_match_data_free(ctx->test_md);
    pcre2_match_data_free(ctx->md);
    pcre2_jit_stack_free(ctx->jit_stack);
    pcre2_match_context_free(ctx->mctx);
    free(ctx);
}

static bool is_limit(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

static int run(struct vigil_regex_ctx *ctx, const struct vigil_regex *re,
               pcre2_match_data *md, const char *subject, size_t len)
{
    /* PCRE2 wants a valid pointer even for an empty subject. */
    if (!subject)
        subject = "";
    /*
     * For JIT code pcre2_match() only forwards to pcre2_jit_match() after
     * checks that cannot fail here (no options, and no UTF check with
     * PCRE2_MATCH_INVALID_UTF): call it directly.
     */
    int rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)subject, len, 0, 0,
                                       md, ctx->mctx)
                     : pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, md,
                                   ctx->mctx);
    /* rc == 0: matched, but md has too few pairs (only for tests). */
    if (rc >= 0)
        return VIGIL_REGEX_MATCH;
    if (rc == PCRE2_ERROR_NOMATCH)
        return VIGIL_REGEX_NOMATCH;
    if (is_limit(rc)) {
        ctx->limit_hits++;
        return VIGIL_REGEX_LIMIT;
    }
    return VIGIL_REGEX_ERROR;
}

int vigil_regex_match(struct vigil_regex_ctx *ctx, const struct vigil_regex *re,
                      const char *subject, size_t len)
{
    ctx->md_valid = false;
    if (re->captures + 1 > ctx->md_pairs) {
        pcre2_match_data *md = pcre2_match_data_create(re->captures + 1, NULL);
        if (!md)
            return VIGIL_REGEX_ERROR;
        pcre2_match_data_free(ctx->md);
        ctx->md = md;
        ctx->md_pairs = re->captures + 1;
        ctx->ov = pcre2_get_ovector_pointer(md);
    }
    int rc = run(ctx, re, ctx->md, subject, len);
    ctx->md_valid = rc == VIGIL_REGEX_MATCH;
    return rc;
}

int vigil_regex_test(struct vigil_regex_ctx *ctx, const struct vigil_regex *re,
                     const char *subject, size_t len)
{
    return run(ctx, re, ctx->test_md, subject, len);
}

bool vigil_regex_group(const struct vigil_regex_ctx *ctx, uint32_t g,
                       size_t *start, size_t *end)
{
    if (!ctx->md_valid || g >= ctx->md_pairs)
        return false;
    const PCRE2_SIZE *ov = ctx->ov;
    if (ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
        return false; /* unset, or \K moved the start past the end */
    *start = ov[2 * g];
    *end = ov[2 * g + 1];
    return true;
}

uint64_t vigil_regex_ctx_limit_hits(const struct vigil_regex_ctx *ctx)
{
    return ctx->limit_hits;
}
