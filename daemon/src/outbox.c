#include "outbox.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 512

/* See outbox.h; ARGV: member, now, episode, entry id, n, route, next due
 * ('0': none), member prefix, n + 1. KEYS: repeats, outbox, state. */
static const char fire_script[] =
    "local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
    "if not s or tonumber(s) > tonumber(ARGV[2]) then return 0 end\n"
    "redis.call('ZREM', KEYS[1], ARGV[1])\n"
    "local h = redis.call('HMGET', KEYS[3], 'episode', 'ack_episode', "
    "'value')\n"
    "if h[1] ~= ARGV[3] or h[2] == ARGV[3] then return 1 end\n"
    "local e = redis.call('XRANGE', KEYS[2], ARGV[4], ARGV[4])\n"
    "if #e == 0 then return 1 end\n"
    "local f, out = e[1][2], {}\n"
    "for i = 1, #f, 2 do\n"
    "  local k, v = f[i], f[i + 1]\n"
    "  if k == 'value' and h[3] then v = h[3] end\n"
    "  if k ~= 'repeat' and k ~= 'route' then\n"
    "    out[#out + 1] = k\n"
    "    out[#out + 1] = v\n"
    "  end\n"
    "end\n"
    "out[#out + 1] = 'repeat'\n"
    "out[#out + 1] = ARGV[5]\n"
    "out[#out + 1] = 'route'\n"
    "out[#out + 1] = ARGV[6]\n"
    "local id = redis.call('XADD', KEYS[2], '*', unpack(out))\n"
    "if ARGV[7] ~= '0' then\n"
    "  redis.call('ZADD', KEYS[1], ARGV[7], ARGV[8] .. id .. '|' .. ARGV[9])\n"
    "end\n"
    "return 2\n";

/* KEYS: repeats. ARGV: pattern, 'prefix' or 'find', score, member ('':
 * only remove). */
static const char schedule_script[] =
    "local all = redis.call('ZRANGE', KEYS[1], 0, -1)\n"
    "for _, m in ipairs(all) do\n"
    "  local hit\n"
    "  if ARGV[2] == 'prefix' then\n"
    "    hit = string.sub(m, 1, #ARGV[1]) == ARGV[1]\n"
    "  else\n"
    "    hit = string.find(m, ARGV[1], 1, true) ~= nil\n"
    "  end\n"
    "  if hit then redis.call('ZREM', KEYS[1], m) end\n"
    "end\n"
    "if ARGV[4] ~= '' then redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4]) "
    "end\n"
    "return 0\n";

struct vigil_outbox {
    char *prefix; /* "vigil:{ns}:" */
    char *stream, *breaches, *repeats;
    char *consumer;
    char err[256];
};

__attribute__((format(printf, 2, 3))) static void
set_error(struct vigil_outbox *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->err, sizeof(o->err), fmt, ap);
    va_end(ap);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

struct vigil_outbox *vigil_outbox_create(const char *ns, const char *consumer)
{
    struct vigil_outbox *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    size_t n = strlen(ns) + 16;
    o->prefix = malloc(n);
    if (o->prefix)
        snprintf(o->prefix, n, "vigil:{%s}:", ns);
    o->stream = o->prefix ? join(o->prefix, "outbox") : NULL;
    o->breaches = o->prefix ? join(o->prefix, "breaches") : NULL;
    o->repeats = o->prefix ? join(o->prefix, "repeats") : NULL;
    o->consumer = strdup(consumer);
    if (!o->stream || !o->breaches || !o->repeats || !o->consumer) {
        vigil_outbox_destroy(o);
        return NULL;
    }
    return o;
}

void vigil_outbox_destroy(struct vigil_outbox *o)
{
    if (!o)
        return;
    free(o->prefix);
    free(o->stream);
    free(o->breaches);
    free(o->repeats);
    free(o->consumer);
    free(o);
}

const char *vigil_outbox_error(const struct vigil_outbox *o)
{
    return o->err;
}

const char *vigil_outbox_consumer(const struct vigil_outbox *o)
{
    return o->consumer;
}

/* Runs argv; returns the reply, or NULL after setting the error (an
 * error reply is freed and counts as a failure). */
static redisReply *command(struct vigil_outbox *o, redisContext *c, int argc,
                           const char **argv)
{
    size_t lens[32];
    for (int i = 0; i < argc && i < 32; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) {
        set_error(o, "redis: %s", c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_error(o, "redis: %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int vigil_outbox_ensure_group(struct vigil_outbox *o, redisContext *c)
{
    const char *argv[] = {"XGROUP",           "CREATE", o->stream,
                          VIGIL_OUTBOX_GROUP, "0",      "MKSTREAM"};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, 6, argv, lens);
    if (!r) {
        set_error(o, "redis: %s", c->errstr);
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
        set_error(o, "redis: XGROUP CREATE: %s", r->str);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

void vigil_outbox_batch_fini(struct vigil_outbox_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        vigil_notification_fini(&b->v[i].n);
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

/* Appends the entries of an array of [id, [field, value, ...]]. */
static int take_entries(struct vigil_outbox_batch *b, const redisReply *arr)
{
    if (!arr || arr->type != REDIS_REPLY_ARRAY)
        return 0;
    struct vigil_outbox_entry *v =
        realloc(b->v, (b->n + arr->elements + 1) * sizeof(*v));
    if (!v)
        return -1;
    b->v = v;
    for (size_t i = 0; i < arr->elements; i++) {
        const redisReply *e = arr->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[0]->len >= sizeof(v[0].id))
            continue; /* a deleted entry (nil) or junk */
        struct vigil_outbox_entry *x = &b->v[b->n];
        memset(x, 0, sizeof(*x));
        memcpy(x->id, e->element[0]->str, e->element[0]->len);
        const redisReply *f = e->element[1];
        const char *fields[MAX_FIELDS];
        size_t lens[MAX_FIELDS];
        size_t nf = 0;
        bool ok = f->type == REDIS_REPLY_ARRAY && f->elements <= MAX_FIELDS;
        for (size_t k = 0; ok && k < f->elements; k++) {
            const redisReply *s = f->element[k];
            ok = s->type == REDIS_REPLY_STRING;
            if (ok) {
                fields[nf] = s->str;
                lens[nf++] = s->len;
            }
        }
        if (!ok)
            snprintf(x->error, sizeof(x->error), "not a flat field list");
        else
            x->valid =
                vigil_notification_parse(&x->n, fields, lens, nf, x->error,
                                         sizeof(x->error)) == 0;
        b->n++;
    }
    return 0;
}

int vigil_outbox_read(struct vigil_outbox *o, redisContext *c, const char *from,
                      size_t count, struct vigil_outbox_batch *out)
{
    memset(out, 0, sizeof(*out));
    char n[24];
    snprintf(n, sizeof(n), "%zu", count);
    const char *argv[] = {"XREADGROUP", "GROUP",   VIGIL_OUTBOX_GROUP,
                          o->consumer,  "COUNT",   n,
                          "STREAMS",    o->stream, from};
    redisReply *r = command(o, c, 9, argv);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *s = r->element[i];
            if (s->type == REDIS_REPLY_ARRAY && s->elements == 2)
                rc = take_entries(out, s->element[1]);
        }
    }
    freeReplyObject(r);
    if (rc < 0)
        set_error(o, "out of memory");
    return rc;
}

int vigil_outbox_claim(struct vigil_outbox *o, redisContext *c,
                       uint64_t min_idle_ms, size_t count, char cursor[48],
                       struct vigil_outbox_batch *out)
{
    memset(out, 0, sizeof(*out));
    char idle[24], n[24];
    snprintf(idle, sizeof(idle), "%" PRIu64, min_idle_ms);
    snprintf(n, sizeof(n), "%zu", count);
    const char *argv[] = {"XAUTOCLAIM", o->stream, VIGIL_OUTBOX_GROUP,
                          o->consumer,  idle,      cursor,
                          "COUNT",      n};
    redisReply *r = command(o, c, 8, argv);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < 48) {
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        rc = take_entries(out, r->element[1]);
    } else {
        set_error(o, "redis: unexpected XAUTOCLAIM reply");
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* "vigil:{ns}:pager:<consumer>" into buf; false when it does not fit. */
static bool lease_key(const struct vigil_outbox *o, const char *consumer,
                      char *buf, size_t len)
{
    int n = snprintf(buf, len, "%spager:%s", o->prefix, consumer);
    return n > 0 && (size_t)n < len;
}

int vigil_outbox_heartbeat(struct vigil_outbox *o, redisContext *c,
                           uint64_t lease_ms)
{
    char key[512], ms[24];
    if (!lease_key(o, o->consumer, key, sizeof(key))) {
        set_error(o, "consumer name too long");
        return -1;
    }
    snprintf(ms, sizeof(ms), "%" PRIu64, lease_ms);
    const char *argv[] = {"SET", key, "1", "PX", ms};
    redisReply *r = command(o, c, 5, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* The integer after `name` in a flat XINFO map, or -1. */
static long long info_int(const redisReply *m, const char *name)
{
    for (size_t i = 0; i + 1 < m->elements; i += 2) {
        const redisReply *k = m->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return m->element[i + 1]->type == REDIS_REPLY_INTEGER
                       ? m->element[i + 1]->integer
                       : -1;
    }
    return -1;
}

static const char *info_str(const redisReply *m, const char *name)
{
    for (size_t i = 0; i + 1 < m->elements; i += 2) {
        const redisReply *k = m->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return m->element[i + 1]->type == REDIS_REPLY_STRING
                       ? m->element[i + 1]->str
                       : NULL;
    }
    return NULL;
}

/* Claims up to count pending entries of the dead consumer `name`. */
static int claim_from(struct vigil_outbox *o, redisContext *c, const char *name,
                      uint64_t min_idle_ms, size_t count,
                      struct vigil_outbox_batch *out)
{
    char n[24], idle[24];
    snprintf(n, sizeof(n), "%zu", count);
    snprintf(idle, sizeof(idle), "%" PRIu64, min_idle_ms);
    const char *pargv[] = {"XPENDING", o->stream, VIGIL_OUTBOX_GROUP, "-", "+",
                           n,          name};
    redisReply *p = command(o, c, 7, pargv);
    if (!p)
        return -1;
    const char *argv[5 + 64];
    int argc = 0;
    argv[argc++] = "XCLAIM";
    argv[argc++] = o->stream;
    argv[argc++] = VIGIL_OUTBOX_GROUP;
    argv[argc++] = o->consumer;
    argv[argc++] = idle;
    for (size_t i = 0; p->type == REDIS_REPLY_ARRAY && i < p->elements &&
                       argc < (int)(sizeof(argv) / sizeof(argv[0]));
         i++) {
        const redisReply *e = p->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
            e->element[0]->type == REDIS_REPLY_STRING)
            argv[argc++] = e->element[0]->str;
    }
    int rc = 0;
    if (argc > 5) {
        size_t lens[5 + 64];
        for (int i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        redisReply *r = redisCommandArgv(c, argc, argv, lens);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            set_error(o, "redis: XCLAIM: %s",
                      r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
            rc = -1;
        } else if (take_entries(out, r) < 0) {
            set_error(o, "out of memory");
            rc = -1;
        }
        freeReplyObject(r);
    }
    freeReplyObject(p);
    return rc;
}

int vigil_outbox_claim_dead(struct vigil_outbox *o, redisContext *c,
                            uint64_t min_idle_ms, size_t count,
                            struct vigil_outbox_batch *out)
{
    memset(out, 0, sizeof(*out));
    if (count > 64)
        count = 64;
    const char *argv[] = {"XINFO", "CONSUMERS", o->stream, VIGIL_OUTBOX_GROUP};
    redisReply *r = command(o, c, 4, argv);
    if (!r)
        return -1;
    int rc = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements &&
                       rc == 0 && out->n < count;
         i++) {
        const redisReply *m = r->element[i];
        if (m->type != REDIS_REPLY_ARRAY)
            continue;
        const char *name = info_str(m, "name");
        long long pending = info_int(m, "pending");
        char key[512];
        if (!name || strcmp(name, o->consumer) == 0 ||
            !lease_key(o, name, key, sizeof(key)))
            continue;
        const char *eargv[] = {"EXISTS", key};
        redisReply *e = command(o, c, 2, eargv);
        if (!e) {
            rc = -1;
            break;
        }
        bool alive = e->type == REDIS_REPLY_INTEGER && e->integer > 0;
        freeReplyObject(e);
        if (alive)
            continue;
        if (pending > 0) {
            rc = claim_from(o, c, name, min_idle_ms, count - out->n, out);
        } else if (pending == 0) {
            const char *dargv[] = {"XGROUP", "DELCONSUMER", o->stream,
                                   VIGIL_OUTBOX_GROUP, name};
            redisReply *d = command(o, c, 5, dargv);
            if (!d)
                rc = -1;
            freeReplyObject(d);
        }
    }
    freeReplyObject(r);
    if (rc < 0)
        vigil_outbox_batch_fini(out);
    return rc;
}

/* Runs `head... ids[0..n)` in chunks. */
static int with_ids(struct vigil_outbox *o, redisContext *c, const char **head,
                    int nhead, const char *const *ids, size_t n,
                    const char *tail)
{
    const char *argv[32];
    for (size_t i = 0; i < n;) {
        int argc = 0;
        for (int k = 0; k < nhead; k++)
            argv[argc++] = head[k];
        while (i < n && argc < 30)
            argv[argc++] = ids[i++];
        if (tail)
            argv[argc++] = tail;
        redisReply *r = command(o, c, argc, argv);
        if (!r)
            return -1;
        freeReplyObject(r);
    }
    return 0;
}

int vigil_outbox_ack(struct vigil_outbox *o, redisContext *c,
                     const char *const *ids, size_t n)
{
    const char *head[] = {"XACK", o->stream, VIGIL_OUTBOX_GROUP};
    return with_ids(o, c, head, 3, ids, n, NULL);
}

int vigil_outbox_touch(struct vigil_outbox *o, redisContext *c,
                       const char *const *ids, size_t n)
{
    const char *head[] = {"XCLAIM", o->stream, VIGIL_OUTBOX_GROUP, o->consumer,
                          "0"};
    return with_ids(o, c, head, 5, ids, n, "JUSTID");
}

int vigil_outbox_record_failure(struct vigil_outbox *o, redisContext *c,
                                const struct vigil_notification *n,
                                const char *notifier, long status,
                                const char *detail, int64_t now_ms)
{
    char st[24], at[24];
    snprintf(st, sizeof(st), "%ld", status);
    snprintf(at, sizeof(at), "%" PRId64, now_ms);
    const char *argv[] = {"XADD",
                          o->breaches,
                          "*",
                          "indicator",
                          n->indicator,
                          "event",
                          "notification_failed",
                          "action",
                          vigil_notify_action_name(n->action),
                          "dedup",
                          n->dedup,
                          "notifier",
                          notifier,
                          "status",
                          st,
                          "detail",
                          detail,
                          "at",
                          at};
    redisReply *r = command(o, c, 19, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int64_t vigil_outbox_id_ms(const char *id)
{
    int64_t v = 0;
    size_t i = 0;
    for (; id[i] >= '0' && id[i] <= '9' && i < 19; i++)
        v = v * 10 + (id[i] - '0');
    return i > 0 && (id[i] == '-' || id[i] == '\0') ? v : -1;
}

int vigil_outbox_trim(struct vigil_outbox *o, redisContext *c, int64_t now_ms,
                      uint64_t keep_ms)
{
    const char *argv[] = {"XPENDING", o->stream, VIGIL_OUTBOX_GROUP};
    redisReply *r = command(o, c, 3, argv);
    if (!r)
        return -1;
    char minid[48];
    int64_t cut = now_ms - (int64_t)keep_ms;
    snprintf(minid, sizeof(minid), "%" PRId64 "-0", cut > 0 ? cut : 0);
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[1]->len < sizeof(minid)) {
        char low[48];
        memcpy(low, r->element[1]->str, r->element[1]->len);
        low[r->element[1]->len] = '\0';
        int64_t lm = vigil_outbox_id_ms(low);
        if (lm >= 0 && lm < cut)
            snprintf(minid, sizeof(minid), "%s", low);
    }
    freeReplyObject(r);
    const char *t[] = {"XTRIM", o->stream, "MINID", "~", minid};
    r = command(o, c, 5, t);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

static int schedule(struct vigil_outbox *o, redisContext *c,
                    const char *pattern, const char *mode, const char *score,
                    const char *member)
{
    const char *argv[] = {"EVAL", schedule_script, "1",   o->repeats, pattern,
                          mode,   score,           member};
    redisReply *r = command(o, c, 8, argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int vigil_outbox_schedule_repeat(struct vigil_outbox *o, redisContext *c,
                                 size_t route,
                                 const struct vigil_notification *n,
                                 const char *id, int64_t due_ms)
{
    char prefix[512], member[600], score[24];
    snprintf(prefix, sizeof(prefix), "%zu|%s|", route, n->dedup);
    snprintf(member, sizeof(member), "%s%s|1", prefix, id);
    snprintf(score, sizeof(score), "%" PRId64, due_ms);
    return schedule(o, c, prefix, "prefix", score, member);
}

int vigil_outbox_cancel_repeats(struct vigil_outbox *o, redisContext *c,
                                const char *dedup)
{
    char pattern[512];
    snprintf(pattern, sizeof(pattern), "|%s|", dedup);
    return schedule(o, c, pattern, "find", "0", "");
}

/* Fires one member "<route>|<dedup>|<id>|<n>"; returns 1 when an entry
 * was appended, 0 when not, -1 on error. */
static int fire_one(struct vigil_outbox *o, redisContext *c, const char *member,
                    size_t mlen, int64_t now_ms, vigil_outbox_repeat_fn repeat,
                    void *ctx)
{
    char m[600];
    if (mlen >= sizeof(m))
        return 0;
    memcpy(m, member, mlen);
    m[mlen] = '\0';
    char *p1 = strchr(m, '|');
    char *p3 = strrchr(m, '|');
    char *p2 = p3 && p3 > m ? memrchr(m, '|', (size_t)(p3 - m)) : NULL;
    if (!p1 || !p2 || p1 == p2)
        return 0;
    char *colon = memrchr(p1 + 1, ':', (size_t)(p2 - p1 - 1));
    if (!colon)
        return 0;
    char route[24], indicator[256], episode[24], id[48], n[16], n1[16];
    char prefix[512], due[24], state[512], now[24];
    unsigned long rt = strtoul(m, NULL, 10);
    unsigned long cnt = strtoul(p3 + 1, NULL, 10);
    snprintf(route, sizeof(route), "%lu", rt);
    snprintf(indicator, sizeof(indicator), "%.*s", (int)(colon - p1 - 1),
             p1 + 1);
    snprintf(episode, sizeof(episode), "%.*s", (int)(p2 - colon - 1),
             colon + 1);
    snprintf(id, sizeof(id), "%.*s", (int)(p3 - p2 - 1), p2 + 1);
    snprintf(n, sizeof(n), "%lu", cnt);
    snprintf(n1, sizeof(n1), "%lu", cnt + 1);
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(p2 - m + 1), m);
    uint64_t every = repeat ? repeat(ctx, rt) : 0;
    if (every)
        snprintf(due, sizeof(due), "%" PRId64, now_ms + (int64_t)every);
    else
        snprintf(due, sizeof(due), "0");
    snprintf(state, sizeof(state), "%sstate:%s", o->prefix, indicator);
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    const char *argv[] = {"EVAL", fire_script, "3", o->repeats, o->stream,
                          state,  m,           now, episode,    id,
                          n,      route,       due, prefix,     n1};
    redisReply *r = command(o, c, 15, argv);
    if (!r)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER && r->integer == 2;
    freeReplyObject(r);
    return rc;
}

int vigil_outbox_fire_repeats(struct vigil_outbox *o, redisContext *c,
                              int64_t now_ms, size_t max,
                              vigil_outbox_repeat_fn repeat, void *ctx,
                              size_t *fired)
{
    *fired = 0;
    char now[24], lim[24];
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    snprintf(lim, sizeof(lim), "%zu", max);
    const char *argv[] = {"ZRANGEBYSCORE", o->repeats, "-inf", now,
                          "LIMIT",         "0",        lim};
    redisReply *r = command(o, c, 7, argv);
    if (!r)
        return -1;
    int rc = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *m = r->element[i];
        if (m->type != REDIS_REPLY_STRING)
            continue;
        int f = fire_one(o, c, m->str, m->len, now_ms, repeat, ctx);
        if (f < 0) {
            rc = -1;
            break;
        }
        *fired += (size_t)f;
    }
    freeReplyObject(r);
    return rc;
}
