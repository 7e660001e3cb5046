#include "counter_store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter_script.h"
#include "num.h"

/* PFADD/HMGET/HSET chunk of the script (CHUNK there). */
#define SCRIPT_CHUNK 512

/*
 * The arguments of one command: their bytes back to back in buf, their
 * starts and lengths; argv is made from them once all are written, since
 * buf may move while it grows.
 */
struct args {
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t *lens;
    const char **argv;
    size_t n, cap_args;
    bool oom;
};

struct vigil_counter_store {
    char *ns;
    char *group;
    uint64_t findings_max_len;
    bool loaded; /* SCRIPT LOAD done on the synchronous path */
    struct args args;
    char err[256];
};

static void set_err(struct vigil_counter_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(struct vigil_counter_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

static bool ident_is_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 200)
        return false;
    for (; *s; s++)
        if (*s == '{' || *s == '}' || (unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

struct vigil_counter_store *
vigil_counter_store_create(const struct vigil_counter_store_config *cfg)
{
    if (!ident_is_valid(cfg->ns) || !ident_is_valid(cfg->group))
        return NULL;
    struct vigil_counter_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ns = strdup(cfg->ns);
    if (!s->ns)
        goto err_free_store;
    s->group = strdup(cfg->group);
    if (!s->group)
        goto err_free_ns;
    s->findings_max_len = cfg->findings_max_len
                              ? cfg->findings_max_len
                              : VIGIL_COUNTER_STORE_FINDINGS_MAX_LEN;
    return s;

err_free_ns:
    free(s->ns);
err_free_store:
    free(s);
    return NULL;
}

static void args_fini(struct args *a)
{
    free(a->buf);
    free(a->off);
    free(a->lens);
    free(a->argv);
}

void vigil_counter_store_destroy(struct vigil_counter_store *s)
{
    if (!s)
        return;
    args_fini(&s->args);
    free(s->group);
    free(s->ns);
    free(s);
}

const char *vigil_counter_store_error(const struct vigil_counter_store *s)
{
    return s->err;
}

const char *vigil_counter_store_script_sha(void)
{
    return VIGIL_COUNTER_SCRIPT_SHA1;
}

const char *vigil_counter_store_script(size_t *len)
{
    *len = sizeof(vigil_counter_script);
    return (const char *)vigil_counter_script;
}

void vigil_flush_result_fini(struct vigil_flush_result *r)
{
    free(r->stored);
    memset(r, 0, sizeof(*r));
}

/* ---- argument building ------------------------------------------------ */

static void args_reset(struct args *a)
{
    a->len = 0;
    a->n = 0;
    a->oom = false;
}

static bool args_room(struct args *a, size_t bytes)
{
    if (a->oom)
        return false;
    if (a->n == a->cap_args) {
        size_t cap = a->cap_args ? a->cap_args * 2 : 256;
        size_t *off = realloc(a->off, cap * sizeof(*off));
        if (off)
            a->off = off;
        size_t *lens = realloc(a->lens, cap * sizeof(*lens));
        if (lens)
            a->lens = lens;
        if (!off || !lens) {
            a->oom = true;
            return false;
        }
        a->cap_args = cap;
    }
    if (a->len + bytes > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + bytes)
            cap *= 2;
        char *buf = realloc(a->buf, cap);
        if (!buf) {
            a->oom = true;
            return false;
        }
        a->buf = buf;
        a->cap = cap;
    }
    return true;
}

/* Starts a new argument of up to `bytes` bytes; returns where to write. */
static char *args_begin(struct args *a, size_t bytes)
{
    if (!args_room(a, bytes))
        return NULL;
    a->off[a->n] = a->len;
    a->lens[a->n] = 0;
    a->n++;
    return a->buf + a->len;
}

static void args_end(struct args *a, size_t used)
{
    a->lens[a->n - 1] = used;
    a->len += used;
}

static void push(struct args *a, const char *p, size_t n)
{
    char *w = args_begin(a, n);
    if (!w)
        return;
    if (n)
        memcpy(w, p, n);
    args_end(a, n);
}

static void push_str(struct args *a, const char *str)
{
    push(a, str, strlen(str));
}

/* Writes v in decimal at w (room for 20 bytes); returns the length. */
static size_t fmt_i64(char *w, int64_t v)
{
    char rev[20];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        w[len++] = '-';
    while (n)
        w[len++] = rev[--n];
    return len;
}

static void push_i64(struct args *a, int64_t v)
{
    char *w = args_begin(a, 20);
    if (w)
        args_end(a, fmt_i64(w, v));
}

static void push_double(struct args *a, double v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), "%.17g", v);
    push(a, tmp, n > 0 ? (size_t)n : 0);
}

/* Pushes a time or "" when absent. */
static void push_time(struct args *a, int64_t t)
{
    if (t == VIGIL_BATCH_NO_TIME)
        push(a, "", 0);
    else
        push_i64(a, t);
}

/* Writes the strings of several parts as one argument. */
static void push_join(struct args *a, const char *const *parts, size_t n,
                      int64_t tail)
{
    size_t len = 20;
    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]);
    char *w = args_begin(a, len);
    if (!w)
        return;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        memcpy(w + used, parts[i], l);
        used += l;
    }
    if (tail != INT64_MIN)
        used += fmt_i64(w + used, tail);
    args_end(a, used);
}

static int args_finish(struct vigil_counter_store *s,
                       struct vigil_counter_store_cmd *cmd)
{
    struct args *a = &s->args;
    if (!a->oom && a->n > (size_t)INT32_MAX)
        a->oom = true;
    if (!a->oom) {
        const char **argv = realloc(a->argv, a->cap_args * sizeof(*argv));
        if (argv)
            a->argv = argv;
        else
            a->oom = true;
    }
    if (a->oom) {
        set_err(s, "out of memory building a Redis command");
        return -1;
    }
    for (size_t i = 0; i < a->n; i++)
        a->argv[i] = a->buf + a->off[i];
    cmd->argc = (int)a->n;
    cmd->argv = a->argv;
    cmd->argvlen = a->lens;
    cmd->bytes = a->len;
    return 0;
}

static const char *role_prefix(uint32_t role)
{
    switch (role) {
    case VIGIL_ROLE_SUM_COUNT:
        return "n";
    case VIGIL_ROLE_DISTINCT:
        return "d";
    case VIGIL_ROLE_PAIR_STATS:
    case VIGIL_ROLE_PAIR_OPEN:
        return "p";
    default:
        return "c";
    }
}

static void push_group_key(struct vigil_counter_store *s,
                           const struct vigil_batch *b,
                           const struct vigil_batch_group *g)
{
    const char *name = vigil_batch_counter(b, g->counter)->name;
    const char *parts[] = {"vigil:{", s->ns, "}:", role_prefix(g->role),
                           ":",       name,  ":",  "open"};
    if (g->role == VIGIL_ROLE_PAIR_OPEN)
        push_join(&s->args, parts, 8, INT64_MIN);
    else
        push_join(&s->args, parts, 7, g->bucket);
}

static size_t chunks(size_t n)
{
    return (n + SCRIPT_CHUNK - 1) / SCRIPT_CHUNK;
}

int vigil_counter_store_build(struct vigil_counter_store *s,
                              const struct vigil_batch *b,
                              struct vigil_counter_store_cmd *cmd)
{
    struct args *a = &s->args;
    size_t ng = vigil_batch_n_groups(b);
    size_t np = vigil_batch_n_partitions(b);
    size_t nf = vigil_batch_n_findings(b);
    size_t n_keys = 1 + ng + (nf > 0);
    size_t calls = 0;
    args_reset(a);

    push_str(a, "EVALSHA");
    push_str(a, VIGIL_COUNTER_SCRIPT_SHA1);
    push_i64(a, (int64_t)n_keys);

    /* KEYS: the offsets hash, then group i is KEYS[i + 2], then the
     * findings stream when the batch has findings. */
    const char *okey[] = {"vigil:{", s->ns, "}:offsets:", s->group};
    push_join(a, okey, 4, INT64_MIN);
    for (size_t i = 0; i < ng; i++)
        push_group_key(s, b, vigil_batch_group_at(b, i));
    calls += ng; /* EXPIRE */
    if (nf > 0) {
        const char *fkey[] = {"vigil:{", s->ns, "}:findings"};
        push_join(a, fkey, 3, INT64_MIN);
    }

    push_str(a, "1");
    push_i64(a, vigil_batch_retention(b));
    push_i64(a, (int64_t)np);
    for (size_t i = 0; i < np; i++) {
        const struct vigil_batch_partition *p = vigil_batch_partition_at(b, i);
        const char *field[] = {p->topic, ":"};
        push_join(a, field, 2, p->partition);
        push_i64(a, p->expected);
        push_i64(a, p->next);
    }
    if (np)
        calls += chunks(np) + chunks(2 * np); /* HMGET, HSET */

    for (size_t i = 0; i < ng; i++) {
        const struct vigil_batch_group *g = vigil_batch_group_at(b, i);
        int64_t k = (int64_t)i + 2;
        switch (g->role) {
        case VIGIL_ROLE_COUNT:
        case VIGIL_ROLE_SUM_COUNT:
            push_str(a, "I");
            push_i64(a, k);
            push_i64(a, g->count);
            calls++;
            break;
        case VIGIL_ROLE_SUM:
            push_str(a, "F");
            push_i64(a, k);
            push_double(a, g->sum);
            calls++;
            break;
        case VIGIL_ROLE_BY_KEY:
        case VIGIL_ROLE_PAIR_STATS:
        case VIGIL_ROLE_DISTINCT:
            if (g->n_entries == 0)
                break; /* only named by a pair's end; the script may
                          write it */
            push_str(a, g->role == VIGIL_ROLE_DISTINCT ? "D" : "H");
            push_i64(a, k);
            push_i64(a, g->n_entries);
            for (uint32_t e = g->first; e != VIGIL_BATCH_NONE;) {
                const struct vigil_batch_entry *en = vigil_batch_entry_at(b, e);
                struct vigil_sv key = vigil_batch_entry_key(b, en);
                push(a, key.ptr, key.len);
                if (g->role != VIGIL_ROLE_DISTINCT)
                    push_i64(a, en->count);
                e = en->next;
            }
            calls += g->role == VIGIL_ROLE_DISTINCT ? chunks(g->n_entries)
                                                    : g->n_entries;
            break;
        case VIGIL_ROLE_PAIR_OPEN: {
            int64_t within = vigil_batch_counter(b, g->counter)->within_ms;
            for (uint32_t e = g->first; e != VIGIL_BATCH_NONE;) {
                const struct vigil_batch_entry *en = vigil_batch_entry_at(b, e);
                struct vigil_sv key = vigil_batch_entry_key(b, en);
                push_str(a, "P");
                push_i64(a, k);
                push_i64(a, en->end_group == VIGIL_BATCH_NONE
                                ? 0
                                : (int64_t)en->end_group + 2);
                push_i64(a, within);
                push(a, key.ptr, key.len);
                push_time(a, en->start);
                push_time(a, en->end);
                push_time(a, en->trail);
                calls += en->end == VIGIL_BATCH_NO_TIME ? 2 : 6;
                e = en->next;
            }
            break;
        }
        default:
            break;
        }
    }
    for (size_t i = 0; i < nf; i++) {
        size_t m = vigil_batch_finding_fields(b, i);
        push_str(a, "X");
        push_i64(a, (int64_t)ng + 2);
        push_i64(a, (int64_t)s->findings_max_len);
        push_i64(a, (int64_t)m);
        for (size_t j = 0; j < m; j++) {
            struct vigil_batch_field f = vigil_batch_finding_field(b, i, j);
            push(a, f.name.ptr, f.name.len);
            push(a, f.value.ptr, f.value.len);
        }
        calls++;
    }
    if (args_finish(s, cmd) < 0)
        return -1;
    cmd->n_keys = n_keys;
    cmd->script_calls = calls;
    return 0;
}

int vigil_counter_store_build_load(struct vigil_counter_store *s,
                                   struct vigil_counter_store_cmd *cmd)
{
    args_reset(&s->args);
    push_str(&s->args, "SCRIPT");
    push_str(&s->args, "LOAD");
    push(&s->args, (const char *)vigil_counter_script,
         sizeof(vigil_counter_script));
    if (args_finish(s, cmd) < 0)
        return -1;
    cmd->n_keys = 0;
    cmd->script_calls = 0;
    return 0;
}

/* ---- replies ------------------------------------------------------------ */

int vigil_counter_store_parse_load(struct vigil_counter_store *s,
                                   const redisReply *reply)
{
    if (!reply) {
        set_err(s, "SCRIPT LOAD: no reply");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        set_err(s, "SCRIPT LOAD: %.*s", (int)reply->len, reply->str);
        return -1;
    }
    if (reply->type != REDIS_REPLY_STRING ||
        reply->len != strlen(VIGIL_COUNTER_SCRIPT_SHA1) ||
        memcmp(reply->str, VIGIL_COUNTER_SCRIPT_SHA1, reply->len) != 0) {
        set_err(s, "SCRIPT LOAD: unexpected reply");
        return -1;
    }
    return 0;
}

int vigil_counter_store_parse_reply(struct vigil_counter_store *s,
                                    const struct vigil_batch *b,
                                    const redisReply *reply,
                                    struct vigil_flush_result *res)
{
    res->accepted = false;
    res->failed_ops = 0;
    res->first_error[0] = '\0';
    res->n_stored = 0;
    if (!reply) {
        set_err(s, "EVALSHA: no reply");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        set_err(s, "EVALSHA: %.*s", (int)reply->len, reply->str);
        if (reply->len >= 8 && memcmp(reply->str, "NOSCRIPT", 8) == 0)
            return VIGIL_COUNTER_STORE_NOSCRIPT;
        return -1;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER)
        goto malformed;
    if (reply->element[0]->integer == 1) {
        if (reply->elements != 3 ||
            reply->element[1]->type != REDIS_REPLY_INTEGER ||
            reply->element[2]->type != REDIS_REPLY_STRING)
            goto malformed;
        res->accepted = true;
        res->failed_ops = reply->element[1]->integer;
        snprintf(res->first_error, sizeof(res->first_error), "%.*s",
                 (int)reply->element[2]->len, reply->element[2]->str);
        return 0;
    }
    size_t np = vigil_batch_n_partitions(b);
    if (reply->element[0]->integer != 0 || reply->elements != 1 + np)
        goto malformed;
    if (res->cap_stored < np) {
        struct vigil_stored_offset *v = realloc(res->stored, np * sizeof(*v));
        if (!v) {
            set_err(s, "out of memory reading a rejection");
            return -1;
        }
        res->stored = v;
        res->cap_stored = np;
    }
    for (size_t i = 0; i < np; i++) {
        const redisReply *e = reply->element[1 + i];
        const struct vigil_batch_partition *p = vigil_batch_partition_at(b, i);
        int64_t stored = VIGIL_OFFSET_UNSET;
        if (e->type != REDIS_REPLY_STRING)
            goto malformed;
        if (e->len > 0 && !vigil_num_i64(e->str, e->len, &stored)) {
            set_err(s, "offset of %s:%" PRId32 " in Redis is not a number",
                    p->topic, p->partition);
            return -1;
        }
        res->stored[i] = (struct vigil_stored_offset){
            .topic = p->topic,
            .partition = p->partition,
            .expected = p->expected,
            .stored = stored,
        };
    }
    res->n_stored = np;
    return 0;

malformed:
    set_err(s, "EVALSHA: malformed reply");
    return -1;
}

/* ---- synchronous transport ---------------------------------------------- */

static redisReply *send_cmd(struct vigil_counter_store *s, redisContext *ctx,
                            const struct vigil_counter_store_cmd *cmd)
{
    redisReply *r = redisCommandArgv(ctx, cmd->argc, cmd->argv, cmd->argvlen);
    if (!r)
        set_err(s, "Redis: %s", ctx->errstr[0] ? ctx->errstr : "no reply");
    return r;
}

static int load_script(struct vigil_counter_store *s, redisContext *ctx)
{
    struct vigil_counter_store_cmd cmd;
    if (vigil_counter_store_build_load(s, &cmd) < 0)
        return -1;
    redisReply *r = send_cmd(s, ctx, &cmd);
    if (!r)
        return -1;
    int rc = vigil_counter_store_parse_load(s, r);
    freeReplyObject(r);
    if (rc == 0)
        s->loaded = true;
    return rc;
}

int vigil_counter_store_flush(struct vigil_counter_store *s, redisContext *ctx,
                              const struct vigil_batch *b,
                              struct vigil_flush_result *res)
{
    s->err[0] = '\0';
    if (!s->loaded && load_script(s, ctx) < 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        struct vigil_counter_store_cmd cmd;
        if (vigil_counter_store_build(s, b, &cmd) < 0)
            return -1;
        redisReply *r = send_cmd(s, ctx, &cmd);
        if (!r)
            return -1;
        int rc = vigil_counter_store_parse_reply(s, b, r, res);
        freeReplyObject(r);
        if (rc != VIGIL_COUNTER_STORE_NOSCRIPT)
            return rc;
        s->loaded = false;
        if (attempt > 0 || load_script(s, ctx) < 0)
            return -1;
    }
}

redisContext *vigil_counter_store_connect(const char *host, int port,
                                          int timeout_ms, char *errbuf,
                                          size_t errlen)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000,
                         .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(host, port, tv);
    if (!ctx) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    if (ctx->err || redisSetTimeout(ctx, tv) != REDIS_OK) {
        snprintf(errbuf, errlen, "%s:%d: %s", host, port,
                 ctx->errstr[0] ? ctx->errstr : "cannot set timeout");
        redisFree(ctx);
        return NULL;
    }
    return ctx;
}

int vigil_counter_store_get_offsets(redisContext *ctx, const char *ns,
                                    const char *group, const char *topic,
                                    const int32_t *partitions, size_t n,
                                    int64_t *offsets)
{
    if (n == 0)
        return 0;
    if (!ident_is_valid(ns) || !ident_is_valid(group) || !topic)
        return -1;
    struct args a = {0};
    const char *okey[] = {"vigil:{", ns, "}:offsets:", group};
    push_str(&a, "HMGET");
    push_join(&a, okey, 4, INT64_MIN);
    for (size_t i = 0; i < n; i++) {
        const char *field[] = {topic, ":"};
        push_join(&a, field, 2, partitions[i]);
    }
    int rc = -1;
    if (a.oom || a.n > (size_t)INT32_MAX)
        goto out_free_args;
    const char **argv = malloc(a.n * sizeof(*argv));
    if (!argv)
        goto out_free_args;
    for (size_t i = 0; i < a.n; i++)
        argv[i] = a.buf + a.off[i];
    redisReply *r = redisCommandArgv(ctx, (int)a.n, argv, a.lens);
    if (!r)
        goto out_free_argv;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == n) {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const redisReply *e = r->element[i];
            offsets[i] = VIGIL_OFFSET_UNSET;
            if (e->type == REDIS_REPLY_STRING) {
                if (!vigil_num_i64(e->str, e->len, &offsets[i]))
                    rc = -1;
            } else if (e->type != REDIS_REPLY_NIL) {
                rc = -1;
            }
        }
    }
    freeReplyObject(r);
out_free_argv:
    free(argv);
out_free_args:
    args_fini(&a);
    return rc;
}
