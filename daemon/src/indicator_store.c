#include "indicator_store.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

/*
 * The read script: one query over one counter's buckets b0, b0 + res,
 * ..., b1 (docs/REDIS.md, "Reading a window"). ARGV: op, key prefix
 * "vigil:{ns}:", counter, counter kind, b0, b1, res, k or p. Replies {}
 * for no data, {value} or, for topk, {value, key1, count1, ...}; numbers
 * as strings (a Lua number would be truncated to an integer reply).
 * KEYS[1] is the counter's first key, for routing only: every key of a
 * deployment shares the {ns} hash tag, so the keys the script builds are
 * in the same slot.
 */
static const char read_script[] =
    "local op, pre, c, ck = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local b0, b1, res = tonumber(ARGV[5]), tonumber(ARGV[6]), "
    "tonumber(ARGV[7])\n"
    "local arg = tonumber(ARGV[8])\n"
    "local function fmt(x) return string.format('%.17g', x) end\n"
    "if op == 'open' then\n"
    "  return {fmt(redis.call('HLEN', pre .. 'p:' .. c .. ':open'))}\n"
    "end\n"
    "if op == 'distinct' then\n"
    "  local keys = {}\n"
    "  for b = b0, b1, res do\n"
    "    local k = pre .. 'd:' .. c .. ':' .. string.format('%d', b)\n"
    "    if redis.call('EXISTS', k) == 1 then keys[#keys + 1] = k end\n"
    "  end\n"
    "  if #keys == 0 then return {'0'} end\n"
    "  if #keys <= 1000 then return {fmt(redis.call('PFCOUNT', "
    "unpack(keys)))} end\n"
    "  local tmp = pre .. 'tmp:distinct'\n"
    "  redis.call('DEL', tmp)\n"
    "  for i = 1, #keys, 1000 do\n"
    "    redis.call('PFMERGE', tmp, tmp, unpack(keys, i, math.min(i + 999, "
    "#keys)))\n"
    "  end\n"
    "  local n = redis.call('PFCOUNT', tmp)\n"
    "  redis.call('DEL', tmp)\n"
    "  return {fmt(n)}\n"
    "end\n"
    "local n, sum, within = 0, 0, 0\n"
    "local per, bins = {}, {}\n"
    "for b = b0, b1, res do\n"
    "  local bs = string.format('%d', b)\n"
    "  if ck == 'pair' then\n"
    "    local k = pre .. 'p:' .. c .. ':' .. bs\n"
    "    if op == 'pctl' then\n"
    "      local all = redis.call('HGETALL', k)\n"
    "      for i = 1, #all, 2 do\n"
    "        local f = all[i]\n"
    "        if string.sub(f, 1, 1) == 'b' then\n"
    "          local bi = tonumber(string.sub(f, 2))\n"
    "          local x = tonumber(all[i + 1]) or 0\n"
    "          if bi then bins[bi] = (bins[bi] or 0) + x; n = n + x end\n"
    "        end\n"
    "      end\n"
    "    else\n"
    "      local v = redis.call('HMGET', k, 'count', 'sum', 'within')\n"
    "      n = n + (tonumber(v[1]) or 0)\n"
    "      sum = sum + (tonumber(v[2]) or 0)\n"
    "      within = within + (tonumber(v[3]) or 0)\n"
    "    end\n"
    "  elseif ck == 'by' then\n"
    "    local k = pre .. 'c:' .. c .. ':' .. bs\n"
    "    if op == 'topk' then\n"
    "      local all = redis.call('HGETALL', k)\n"
    "      for i = 1, #all, 2 do\n"
    "        local x = tonumber(all[i + 1]) or 0\n"
    "        per[all[i]] = (per[all[i]] or 0) + x\n"
    "      end\n"
    "    else\n"
    "      for _, x in ipairs(redis.call('HVALS', k)) do\n"
    "        n = n + (tonumber(x) or 0)\n"
    "      end\n"
    "    end\n"
    "  else\n"
    "    local v = redis.call('GET', pre .. 'c:' .. c .. ':' .. bs)\n"
    "    if v then n = n + (tonumber(v) or 0) end\n"
    "  end\n"
    "end\n"
    "if op == 'topk' then\n"
    "  local list = {}\n"
    "  for key, x in pairs(per) do list[#list + 1] = {key, x} end\n"
    "  table.sort(list, function(a, b)\n"
    "    if a[2] ~= b[2] then return a[2] > b[2] end\n"
    "    return a[1] < b[1]\n"
    "  end)\n"
    "  local out = {list[1] and fmt(list[1][2]) or '0'}\n"
    "  for i = 1, math.min(arg, #list) do\n"
    "    out[#out + 1] = list[i][1]\n"
    "    out[#out + 1] = fmt(list[i][2])\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "if op == 'within' then return {fmt(within)} end\n"
    "if op == 'avg' then\n"
    "  if n == 0 then return {} end\n"
    "  return {fmt(sum / n / 1000)}\n"
    "end\n"
    "if op == 'pctl' then\n"
    "  if n == 0 then return {} end\n"
    "  local want = math.max(1, math.ceil(arg / 100 * n))\n"
    "  local idx = {}\n"
    "  for bi, _ in pairs(bins) do idx[#idx + 1] = bi end\n"
    "  table.sort(idx)\n"
    "  local function low(i)\n"
    "    if i < 4 then return i end\n"
    "    return (4 + i % 4) * 2 ^ (math.floor(i / 4) - 1)\n"
    "  end\n"
    "  local run = 0\n"
    "  for _, bi in ipairs(idx) do\n"
    "    run = run + bins[bi]\n"
    "    if run >= want then\n"
    "      local mid = bi\n"
    "      if bi >= 4 then mid = (low(bi) + low(bi + 1)) / 2 end\n"
    "      return {fmt(mid / 1000)}\n"
    "    end\n"
    "  end\n"
    "  return {}\n"
    "end\n"
    "return {fmt(n)}\n";

/*
 * The compare-and-set script. KEYS: state, hist, breaches, outbox.
 * ARGV: expected version, now (ms), min interval (ms), history MINID,
 * then four groups, each a pair count and that many field/value pairs:
 * the state hash, the history entry, the breaches entry (0: none), the
 * outbox entry (0: none). Replies {1, new version} when written, {0,
 * stored version} when the version moved, {2, stored version} when the
 * stored evaluation is less than min interval old.
 */
static const char cas_script[] =
    "local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') or 0\n"
    "if v ~= tonumber(ARGV[1]) then return {0, v} end\n"
    "local now, minint = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "if minint > 0 then\n"
    "  local last = tonumber(redis.call('HGET', KEYS[1], 'last_eval') or "
    "'')\n"
    "  if last and now >= last and now - last < minint then return {2, v} "
    "end\n"
    "end\n"
    "local i = 5\n"
    "local function take()\n"
    "  local n = tonumber(ARGV[i])\n"
    "  local t = {}\n"
    "  for j = 1, 2 * n do t[j] = ARGV[i + j] end\n"
    "  i = i + 1 + 2 * n\n"
    "  return t\n"
    "end\n"
    "local st, hist, br, ob = take(), take(), take(), take()\n"
    "redis.call('HSET', KEYS[1], 'version', v + 1, unpack(st))\n"
    "redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[4], '*', unpack(hist))\n"
    "if #br > 0 then redis.call('XADD', KEYS[3], '*', unpack(br)) end\n"
    "if #ob > 0 then redis.call('XADD', KEYS[4], '*', unpack(ob)) end\n"
    "return {1, v + 1}\n";

#define DEFAULT_HIST_MS (30ULL * 86400000ULL)

struct vigil_indicator_store {
    char *prefix; /* "vigil:{ns}:" */
    vigil_expr_counter_kind_fn counter_kind;
    void *counter_ctx;
    int64_t res_s;
    int64_t (*counter_resolution)(void *ctx, const char *name);
    uint64_t hist_ms;
    uint64_t min_interval_ms;
    char read_sha[41];
    char cas_sha[41];
    bool loaded;
    char err[256];
};

__attribute__((format(printf, 2, 3))) static void
set_error(struct vigil_indicator_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

struct vigil_indicator_store *
vigil_indicator_store_create(const struct vigil_indicator_store_config *cfg)
{
    if (!cfg->ns || !cfg->ns[0] || cfg->resolution_s <= 0)
        return NULL;
    for (const char *p = cfg->ns; *p; p++)
        if (*p == '{' || *p == '}' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return NULL;
    struct vigil_indicator_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    size_t n = strlen(cfg->ns) + 16;
    s->prefix = malloc(n);
    if (!s->prefix) {
        free(s);
        return NULL;
    }
    snprintf(s->prefix, n, "vigil:{%s}:", cfg->ns);
    s->counter_kind = cfg->counter_kind;
    s->counter_ctx = cfg->counter_ctx;
    s->res_s = cfg->resolution_s;
    s->counter_resolution = cfg->counter_resolution;
    s->hist_ms =
        cfg->hist_retention_ms ? cfg->hist_retention_ms : DEFAULT_HIST_MS;
    s->min_interval_ms = cfg->min_interval_ms;
    return s;
}

void vigil_indicator_store_destroy(struct vigil_indicator_store *s)
{
    if (!s)
        return;
    free(s->prefix);
    free(s);
}

const char *vigil_indicator_store_error(const struct vigil_indicator_store *s)
{
    return s->err;
}

void vigil_indicator_eval_fini(struct vigil_indicator_eval *evals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < evals[i].n_top; k++)
            free((char *)evals[i].top[k].key);
        free(evals[i].top);
        evals[i].top = NULL;
        evals[i].n_top = 0;
    }
}

/* ---- Script loading ---- */

static int load_one(struct vigil_indicator_store *s, redisContext *ctx,
                    const char *script, char sha[41])
{
    const char *argv[] = {"SCRIPT", "LOAD", script};
    size_t argvlen[] = {6, 4, strlen(script)};
    redisReply *r = redisCommandArgv(ctx, 3, argv, argvlen);
    if (!r) {
        set_error(s, "redis: %s", ctx->errstr);
        return -1;
    }
    int rc = -1;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(sha, r->str, 40);
        sha[40] = '\0';
        rc = 0;
    } else {
        set_error(s, "SCRIPT LOAD: %s",
                  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

static int load_scripts(struct vigil_indicator_store *s, redisContext *ctx)
{
    if (load_one(s, ctx, read_script, s->read_sha) < 0 ||
        load_one(s, ctx, cas_script, s->cas_sha) < 0)
        return -1;
    s->loaded = true;
    return 0;
}

static bool is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* ---- Queries ---- */

static const char *op_name(enum vigil_expr_query_kind k)
{
    switch (k) {
    case VIGIL_EXPR_Q_COUNT:
        return "count";
    case VIGIL_EXPR_Q_TOPK:
        return "topk";
    case VIGIL_EXPR_Q_DISTINCT:
        return "distinct";
    case VIGIL_EXPR_Q_SUM:
        return "sum";
    case VIGIL_EXPR_Q_AVG:
        return "avg";
    case VIGIL_EXPR_Q_PCTL:
        return "pctl";
    case VIGIL_EXPR_Q_WITHIN:
        return "within";
    case VIGIL_EXPR_Q_OPEN:
        return "open";
    }
    return "?";
}

static const char *kind_word(unsigned bit)
{
    switch (bit) {
    case VIGIL_EXPR_ON_PLAIN:
        return "plain";
    case VIGIL_EXPR_ON_BY:
        return "by";
    case VIGIL_EXPR_ON_DISTINCT:
        return "distinct";
    case VIGIL_EXPR_ON_SUM:
        return "sum";
    case VIGIL_EXPR_ON_PAIR:
        return "pair";
    }
    return NULL;
}

/* A distinct query of the tick, with the buffers of its command. */
struct uq {
    const struct vigil_expr_query *q;
    bool sent; /* false: unknown counter, answered no data */
    char b0[24], b1[24], res[24], arg[32], key[512];
    redisReply *reply;
    struct vigil_expr_qresult result;
    struct vigil_expr_key_count *top; /* views into reply */
};

/* Floor division for negative times too. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void append_query(struct vigil_indicator_store *s, redisContext *ctx,
                         struct uq *u, int64_t now_ms)
{
    const struct vigil_expr_query *q = u->q;
    unsigned kind =
        s->counter_kind ? s->counter_kind(s->counter_ctx, q->counter) : 0;
    const char *ck = kind_word(kind);
    if (!ck || !(vigil_expr_query_accepts(q->kind) & kind)) {
        u->sent = false;
        return;
    }
    int64_t res = s->res_s;
    if (s->counter_resolution) {
        int64_t own = s->counter_resolution(s->counter_ctx, q->counter);
        if (own > 0)
            res = own;
    }
    int64_t end_s = floor_div(now_ms - (int64_t)q->offset_ms, 1000);
    int64_t last = floor_div(end_s, res) * res;
    int64_t wsec = (int64_t)((q->window_ms + 999) / 1000);
    int64_t k = (wsec + res - 1) / res;
    if (k < 1)
        k = 1;
    int64_t first = last - (k - 1) * res;
    snprintf(u->b0, sizeof(u->b0), "%" PRId64, first);
    snprintf(u->b1, sizeof(u->b1), "%" PRId64, last);
    snprintf(u->res, sizeof(u->res), "%" PRId64, res);
    if (q->kind == VIGIL_EXPR_Q_PCTL)
        snprintf(u->arg, sizeof(u->arg), "%.17g", q->p);
    else
        snprintf(u->arg, sizeof(u->arg), "%u", q->k);
    snprintf(u->key, sizeof(u->key), "%sc:%s:%s", s->prefix, q->counter, u->b1);
    const char *argv[] = {"EVALSHA", s->read_sha, "1", u->key, op_name(q->kind),
                          s->prefix, q->counter,  ck,  u->b0,  u->b1,
                          u->res,    u->arg};
    size_t argvlen[12];
    for (int i = 0; i < 12; i++)
        argvlen[i] = strlen(argv[i]);
    redisAppendCommandArgv(ctx, 12, argv, argvlen);
    u->sent = true;
}

/* Fills u->result from u->reply; malformed answers are no data. */
static int parse_query_reply(struct uq *u)
{
    memset(&u->result, 0, sizeof(u->result));
    const redisReply *r = u->reply;
    if (!u->sent) {
        return 0;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return 0;
    if (r->elements == 0)
        return 0; /* no data (avg, pctl of nothing) */
    const redisReply *v = r->element[0];
    if (v->type != REDIS_REPLY_STRING ||
        !vigil_num_double(v->str, v->len, &u->result.value))
        return 0;
    u->result.has_value = true;
    if (u->q->kind == VIGIL_EXPR_Q_TOPK && r->elements >= 3) {
        size_t n = (r->elements - 1) / 2;
        u->top = calloc(n, sizeof(*u->top));
        if (!u->top)
            return -1;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const redisReply *k = r->element[1 + 2 * i];
            const redisReply *c = r->element[2 + 2 * i];
            double cnt;
            if (k->type != REDIS_REPLY_STRING ||
                c->type != REDIS_REPLY_STRING ||
                !vigil_num_double(c->str, c->len, &cnt))
                continue;
            u->top[m++] = (struct vigil_expr_key_count){k->str, k->len, cnt};
        }
        u->result.top = u->top;
        u->result.n_top = m;
    }
    return 0;
}

/* ---- State hash ---- */

static void fmt_time(char *buf, size_t n, int64_t t)
{
    if (t == VIGIL_ISTATE_NEVER)
        buf[0] = '\0';
    else
        snprintf(buf, n, "%" PRId64, t);
}

static int64_t parse_time(const char *s, size_t len)
{
    int64_t t;
    return vigil_num_i64(s, len, &t) ? t : VIGIL_ISTATE_NEVER;
}

static bool field_is(const redisReply *f, const char *name)
{
    return strlen(name) == f->len && memcmp(f->str, name, f->len) == 0;
}

int vigil_indicator_state_parse(const redisReply *r, struct vigil_istate *st)
{
    vigil_istate_init(st);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        return -1;
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return -1;
        const char *s = v->str;
        size_t len = v->len;
        enum vigil_state state;
        int64_t n;
        if (field_is(f, "state") && vigil_state_parse(s, len, &state) == 0)
            st->state = state;
        else if (field_is(f, "raw") && vigil_state_parse(s, len, &state) == 0)
            st->raw = state;
        else if (field_is(f, "since"))
            st->since_ms = parse_time(s, len);
        else if (field_is(f, "value"))
            st->has_value = vigil_num_double(s, len, &st->value);
        else if (field_is(f, "last_eval"))
            st->last_eval_ms = parse_time(s, len);
        else if (field_is(f, "version") && vigil_num_i64(s, len, &n) && n >= 0)
            st->version = (uint64_t)n;
        else if (field_is(f, "warn_run"))
            st->warn_run_ms = parse_time(s, len);
        else if (field_is(f, "breach_run"))
            st->breach_run_ms = parse_time(s, len);
        else if (field_is(f, "ok_run"))
            st->ok_run_ms = parse_time(s, len);
        else if (field_is(f, "calm_run"))
            st->calm_run_ms = parse_time(s, len);
        else if (field_is(f, "nodata_run"))
            st->nodata_run_ms = parse_time(s, len);
        else if (field_is(f, "episode"))
            st->episode_ms = parse_time(s, len);
        else if (field_is(f, "flapping"))
            st->flapping = len == 1 && s[0] == '1';
        else if (field_is(f, "flaps")) {
            st->n_flaps = 0;
            size_t a = 0;
            while (a < len && st->n_flaps < VIGIL_ISTATE_MAX_FLAPS) {
                size_t b = a;
                while (b < len && s[b] != ',')
                    b++;
                int64_t t;
                if (vigil_num_i64(s + a, b - a, &t))
                    st->flaps[st->n_flaps++] = t;
                a = b + 1;
            }
        }
    }
    if (!st->has_value)
        st->value = 0;
    return 0;
}

/* Growing argv for one command; strings are copied. */
struct args {
    char **v;
    size_t *len;
    size_t n, cap;
    bool oom;
};

static void args_add(struct args *a, const char *s, size_t len)
{
    if (a->oom)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->v, cap * sizeof(*v));
        size_t *l = v ? realloc(a->len, cap * sizeof(*l)) : NULL;
        if (v)
            a->v = v;
        if (!v || !l) {
            a->oom = true;
            return;
        }
        a->len = l;
        a->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c) {
        a->oom = true;
        return;
    }
    memcpy(c, s, len);
    c[len] = '\0';
    a->v[a->n] = c;
    a->len[a->n++] = len;
}

static void args_str(struct args *a, const char *s)
{
    args_add(a, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void args_fmt(struct args *a,
                                                           const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    args_add(a, buf,
             n < 0                     ? 0
             : (size_t)n < sizeof(buf) ? (size_t)n
                                       : sizeof(buf) - 1);
}

static void args_time(struct args *a, int64_t t)
{
    char buf[32];
    fmt_time(buf, sizeof(buf), t);
    args_str(a, buf);
}

static void args_value(struct args *a, bool has, double v)
{
    if (has)
        args_fmt(a, "%.17g", v);
    else
        args_str(a, "");
}

static void args_free(struct args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    free(a->len);
    memset(a, 0, sizeof(*a));
}

/* Sets the pair count at index at (reserved with a "0"). */
static void args_count_at(struct args *a, size_t at, size_t pairs)
{
    if (a->oom)
        return;
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%zu", pairs);
    char *c = strdup(buf);
    if (!c) {
        a->oom = true;
        return;
    }
    free(a->v[at]);
    a->v[at] = c;
    a->len[at] = (size_t)n;
}

static void state_pairs(struct args *a, const struct vigil_istate *st,
                        const struct vigil_istate_view *view)
{
    size_t at = a->n;
    args_str(a, "0");
    size_t start = a->n;
    args_str(a, "state");
    args_str(a, vigil_state_name(st->state));
    args_str(a, "since");
    args_time(a, st->since_ms);
    args_str(a, "raw");
    args_str(a, vigil_state_name(st->raw));
    args_str(a, "value");
    args_value(a, st->has_value, st->value);
    args_str(a, "last_eval");
    args_time(a, st->last_eval_ms);
    args_str(a, "pending");
    args_str(a, view->pending ? vigil_state_name(view->pending_state) : "");
    args_str(a, "pending_since");
    args_time(a, view->pending_since_ms);
    args_str(a, "recovering");
    args_str(a,
             view->recovering ? vigil_state_name(view->recovering_state) : "");
    args_str(a, "recovering_since");
    args_time(a, view->recovering_since_ms);
    args_str(a, "warn_run");
    args_time(a, st->warn_run_ms);
    args_str(a, "breach_run");
    args_time(a, st->breach_run_ms);
    args_str(a, "ok_run");
    args_time(a, st->ok_run_ms);
    args_str(a, "calm_run");
    args_time(a, st->calm_run_ms);
    args_str(a, "nodata_run");
    args_time(a, st->nodata_run_ms);
    args_str(a, "episode");
    args_time(a, st->episode_ms);
    args_str(a, "flapping");
    args_str(a, st->flapping ? "1" : "0");
    char flaps[VIGIL_ISTATE_MAX_FLAPS * 21 + 1];
    size_t off = 0;
    flaps[0] = '\0';
    for (size_t i = 0; i < st->n_flaps && off < sizeof(flaps); i++)
        off += (size_t)snprintf(flaps + off, sizeof(flaps) - off, "%s%" PRId64,
                                i ? "," : "", st->flaps[i]);
    args_str(a, "flaps");
    args_str(a, flaps);
    args_count_at(a, at, (a->n - start) / 2);
}

static char *offenders_json(const struct vigil_expr_key_count *top, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        char *key = strndup(top[i].key, top[i].key_len);
        if (!o || !key) {
            cJSON_Delete(o);
            free(key);
            break;
        }
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddNumberToObject(o, "count", top[i].count);
        cJSON_AddItemToArray(arr, o);
        free(key);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

/*
 * The hist:<id> entry of an evaluation: value and state (what reports and
 * /history read), and what the live `event: indicator` frame shows
 * besides, so that a replayed frame (feed_stream.c) equals it: since,
 * pending and recovering while they hold, the first offenders when there
 * are any, the transition's kind when there is one. Kept small: the
 * optional fields are absent, not empty, when they do not apply.
 */
static void hist_pairs(struct args *a, const struct vigil_indicator_eval *e)
{
    size_t at = a->n;
    args_str(a, "0");
    size_t start = a->n;
    args_str(a, "value");
    args_value(a, e->state.has_value, e->state.value);
    args_str(a, "state");
    args_str(a, vigil_state_name(e->state.state));
    args_str(a, "since");
    args_time(a, e->state.since_ms);
    if (e->view.pending) {
        args_str(a, "pending");
        args_str(a, vigil_state_name(e->view.pending_state));
        args_str(a, "pending_since");
        args_time(a, e->view.pending_since_ms);
    }
    if (e->view.recovering) {
        args_str(a, "recovering");
        args_str(a, vigil_state_name(e->view.recovering_state));
        args_str(a, "recovering_since");
        args_time(a, e->view.recovering_since_ms);
    }
    if (e->n_top > 0) {
        size_t n = e->n_top < VIGIL_INDICATOR_STORE_HIST_TOP
                       ? e->n_top
                       : VIGIL_INDICATOR_STORE_HIST_TOP;
        char *top = offenders_json(e->top, n);
        if (top) {
            args_str(a, "top");
            args_str(a, top);
            free(top);
        }
    }
    if (e->event.kind != VIGIL_EVENT_NONE) {
        args_str(a, "event");
        args_str(a, vigil_event_kind_name(e->event.kind));
    }
    args_count_at(a, at, (a->n - start) / 2);
}

/* The CAS command of one indicator's evaluation. */
static void build_cas(struct vigil_indicator_store *s, struct args *a,
                      const struct vigil_indicator *ind, uint64_t expected,
                      int64_t now_ms, const struct vigil_indicator_eval *e)
{
    char key[600];
    args_str(a, "EVALSHA");
    args_str(a, s->cas_sha);
    args_str(a, "4");
    snprintf(key, sizeof(key), "%sstate:%s", s->prefix, ind->id);
    args_str(a, key);
    snprintf(key, sizeof(key), "%shist:%s", s->prefix, ind->id);
    args_str(a, key);
    snprintf(key, sizeof(key), "%sbreaches", s->prefix);
    args_str(a, key);
    snprintf(key, sizeof(key), "%soutbox", s->prefix);
    args_str(a, key);
    args_fmt(a, "%" PRIu64, expected);
    args_fmt(a, "%" PRId64, now_ms);
    args_fmt(a, "%" PRIu64, s->min_interval_ms);
    int64_t minid = now_ms - (int64_t)s->hist_ms;
    args_fmt(a, "%" PRId64, minid > 0 ? minid : 0);

    state_pairs(a, &e->state, &e->view);

    hist_pairs(a, e);

    const struct vigil_istate_event *ev = &e->event;
    if (ev->kind == VIGIL_EVENT_NONE) {
        args_str(a, "0");
        args_str(a, "0");
        return;
    }
    int64_t duration = ev->since_ms - ev->previous_since_ms;
    if (ev->previous_since_ms == VIGIL_ISTATE_NEVER || duration < 0)
        duration = 0;
    char *top = offenders_json(e->top, e->n_top);
    size_t at = a->n;
    args_str(a, "0");
    size_t start = a->n;
    args_str(a, "indicator");
    args_str(a, ind->id);
    args_str(a, "event");
    args_str(a, vigil_event_kind_name(ev->kind));
    args_str(a, "state");
    args_str(a, vigil_state_name(ev->state));
    args_str(a, "previous");
    args_str(a, vigil_state_name(ev->previous));
    args_str(a, "value");
    args_value(a, ev->has_value, ev->value);
    args_str(a, "since");
    args_time(a, ev->since_ms);
    args_str(a, "previous_since");
    args_time(a, ev->previous_since_ms);
    args_str(a, "duration_ms");
    args_fmt(a, "%" PRId64, duration);
    args_str(a, "severity");
    args_str(a, ind->severity);
    if (ev->notify) {
        args_str(a, "episode");
        args_time(a, ev->episode_ms);
    }
    size_t breach_end = a->n;
    args_count_at(a, at, (breach_end - start) / 2);
    if (!ev->notify) {
        args_str(a, "0");
        free(top);
        return;
    }
    /* The outbox entry: the breaches entry plus what a notifier needs. */
    size_t oat = a->n;
    args_str(a, "0");
    size_t ostart = a->n;
    for (size_t i = start; i < breach_end && !a->oom; i++)
        args_add(a, a->v[i], a->len[i]);
    bool resolve = !(ind->page & VIGIL_STATE_BIT(ev->state));
    args_str(a, "action");
    args_str(a, resolve ? "resolve" : "trigger");
    args_str(a, "dedup");
    args_fmt(a, "%s:%" PRId64, ind->id, ev->episode_ms);
    args_str(a, "name");
    args_str(a, ind->name);
    args_str(a, "unit");
    args_str(a, ind->unit);
    args_str(a, "target");
    args_str(a, ind->target_text);
    args_str(a, "owner");
    args_str(a, ind->owner);
    args_str(a, "recommendation");
    args_str(a, ind->recommendation);
    args_str(a, "offenders");
    args_str(a, top ? top : "[]");
    for (size_t i = 0; i < ind->n_labels; i++) {
        char f[300];
        snprintf(f, sizeof(f), "label.%s", ind->labels[i].key);
        args_str(a, f);
        args_str(a, ind->labels[i].value);
    }
    args_count_at(a, oat, (a->n - ostart) / 2);
    free(top);
}

/* ---- One tick ---- */

static size_t find_or_add(struct uq *uqs, size_t *n,
                          const struct vigil_expr_query *q)
{
    for (size_t i = 0; i < *n; i++) {
        const struct vigil_expr_query *x = uqs[i].q;
        if (vigil_expr_query_same(x, q)) {
            /* top and topk share a query asking for the largest k. */
            if (q->kind == VIGIL_EXPR_Q_TOPK && q->k > x->k)
                uqs[i].q = q;
            return i;
        }
    }
    uqs[*n].q = q;
    return (*n)++;
}

static bool topk_same_but_k(const struct vigil_expr_query *a,
                            const struct vigil_expr_query *b)
{
    return a->kind == VIGIL_EXPR_Q_TOPK && b->kind == VIGIL_EXPR_Q_TOPK &&
           strcmp(a->counter, b->counter) == 0 &&
           a->window_ms == b->window_ms && a->offset_ms == b->offset_ms;
}

static size_t find_or_add_any(struct uq *uqs, size_t *n,
                              const struct vigil_expr_query *q)
{
    for (size_t i = 0; i < *n; i++) {
        if (topk_same_but_k(uqs[i].q, q)) {
            if (q->k > uqs[i].q->k)
                uqs[i].q = q;
            return i;
        }
    }
    return find_or_add(uqs, n, q);
}

static void free_uqs(struct uq *uqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (uqs[i].reply)
            freeReplyObject(uqs[i].reply);
        free(uqs[i].top);
    }
    free(uqs);
}

/* Fills out[i].top with owned copies of v's offenders. */
static void copy_offenders(struct vigil_indicator_eval *e,
                           const struct vigil_expr_value *v)
{
    if (!v->n_top)
        return;
    e->top = calloc(v->n_top, sizeof(*e->top));
    if (!e->top)
        return;
    for (size_t k = 0; k < v->n_top; k++) {
        char *key = malloc(v->top[k].key_len + 1);
        if (!key)
            break;
        memcpy(key, v->top[k].key, v->top[k].key_len);
        key[v->top[k].key_len] = '\0';
        e->top[e->n_top++] = (struct vigil_expr_key_count){
            key, v->top[k].key_len, v->top[k].count};
    }
}

static int fetch(struct vigil_indicator_store *s, redisContext *ctx,
                 const struct vigil_indicator *const *inds, size_t n,
                 int64_t now_ms, struct uq *uqs, size_t nu, redisReply **states,
                 bool *retry)
{
    *retry = false;
    for (size_t i = 0; i < nu; i++)
        append_query(s, ctx, &uqs[i], now_ms);
    char key[600];
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%sstate:%s", s->prefix, inds[i]->id);
        const char *argv[] = {"HGETALL", key};
        size_t argvlen[] = {7, strlen(key)};
        redisAppendCommandArgv(ctx, 2, argv, argvlen);
    }
    int rc = 0;
    for (size_t i = 0; i < nu; i++) {
        if (!uqs[i].sent)
            continue;
        void *r = NULL;
        if (redisGetReply(ctx, &r) != REDIS_OK) {
            set_error(s, "redis: %s", ctx->errstr);
            return -1;
        }
        uqs[i].reply = r;
        if (is_noscript(r))
            *retry = true;
    }
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(ctx, &r) != REDIS_OK) {
            set_error(s, "redis: %s", ctx->errstr);
            return -1;
        }
        states[i] = r;
    }
    return rc;
}

int vigil_indicator_store_evaluate(struct vigil_indicator_store *s,
                                   redisContext *ctx,
                                   const struct vigil_indicator *const *inds,
                                   size_t n, int64_t now_ms,
                                   struct vigil_indicator_eval *out)
{
    memset(out, 0, n * sizeof(*out));
    s->err[0] = '\0';
    if (n == 0)
        return 0;
    if (!s->loaded && load_scripts(s, ctx) < 0)
        return -1;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += vigil_expr_query_count(inds[i]->value);
        if (inds[i]->samples)
            total += vigil_expr_query_count(inds[i]->samples);
    }
    struct uq *uqs = calloc(total + 1, sizeof(*uqs));
    size_t *maps = calloc(total + 1, sizeof(*maps));
    redisReply **states = calloc(n, sizeof(*states));
    struct vigil_expr_qresult *results = calloc(total + 1, sizeof(*results));
    int rc = -1;
    size_t nu = 0, m = 0;
    if (!uqs || !maps || !states || !results) {
        set_error(s, "out of memory");
        goto done;
    }
    /* Slot maps: value's slots, then samples' slots, per indicator. */
    for (size_t i = 0; i < n; i++) {
        const struct vigil_expr *es[2] = {inds[i]->value, inds[i]->samples};
        for (int e = 0; e < 2; e++) {
            if (!es[e])
                continue;
            size_t qn = vigil_expr_query_count(es[e]);
            for (size_t k = 0; k < qn; k++)
                maps[m++] =
                    find_or_add_any(uqs, &nu, vigil_expr_query(es[e], k));
        }
    }
    bool retry;
    for (int attempt = 0;; attempt++) {
        if (fetch(s, ctx, inds, n, now_ms, uqs, nu, states, &retry) < 0)
            goto done;
        if (!retry)
            break;
        for (size_t i = 0; i < nu; i++) {
            if (uqs[i].reply)
                freeReplyObject(uqs[i].reply);
            uqs[i].reply = NULL;
        }
        for (size_t i = 0; i < n; i++) {
            freeReplyObject(states[i]);
            states[i] = NULL;
        }
        if (attempt > 0 || load_scripts(s, ctx) < 0) {
            if (!s->err[0])
                set_error(s, "read script: NOSCRIPT after SCRIPT LOAD");
            goto done;
        }
    }
    for (size_t i = 0; i < nu; i++) {
        if (parse_query_reply(&uqs[i]) < 0) {
            set_error(s, "out of memory");
            goto done;
        }
        results[i] = uqs[i].result;
    }

    /* Step every state machine and send every CAS in one pipeline. */
    m = 0;
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        const struct vigil_indicator *ind = inds[i];
        struct vigil_indicator_eval *e = &out[i];
        if (vigil_indicator_state_parse(states[i], &e->state) < 0 &&
            states[i]->type != REDIS_REPLY_ARRAY) {
            set_error(s, "state of %s: unexpected reply", ind->id);
            goto done;
        }
        struct vigil_expr_value v, smp = {0};
        vigil_expr_eval(ind->value, results, maps + m, &v);
        m += vigil_expr_query_count(ind->value);
        if (ind->samples) {
            vigil_expr_eval(ind->samples, results, maps + m, &smp);
            m += vigil_expr_query_count(ind->samples);
        }
        e->has_value = v.has_value;
        e->value = v.value;
        copy_offenders(e, &v);
        uint64_t expected = e->state.version;
        vigil_istate_step(&e->state, &ind->params, ind->page, now_ms,
                          v.has_value, v.value, smp.has_value, smp.value,
                          &e->event, &e->view);
        struct args a = {0};
        build_cas(s, &a, ind, expected, now_ms, e);
        if (a.oom) {
            args_free(&a);
            set_error(s, "out of memory");
            goto done;
        }
        redisAppendCommandArgv(ctx, (int)a.n, (const char **)a.v, a.len);
        args_free(&a);
        sent++;
    }
    rc = 0;
    for (size_t i = 0; i < sent; i++) {
        struct vigil_indicator_eval *e = &out[i];
        void *rv = NULL;
        if (redisGetReply(ctx, &rv) != REDIS_OK) {
            set_error(s, "redis: %s", ctx->errstr);
            rc = -1;
            break;
        }
        redisReply *r = rv;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_INTEGER &&
            r->element[1]->type == REDIS_REPLY_INTEGER) {
            long long code = r->element[0]->integer;
            if (code == 1) {
                e->outcome = VIGIL_EVAL_RECORDED;
                e->state.version = (uint64_t)r->element[1]->integer;
            } else {
                /* Nothing written: report the state as it was read. */
                e->outcome = code == 2 ? VIGIL_EVAL_SKIPPED : VIGIL_EVAL_LOST;
                vigil_indicator_state_parse(states[i], &e->state);
                vigil_istate_view(&e->state, &inds[i]->params, &e->view);
                memset(&e->event, 0, sizeof(e->event));
            }
        } else {
            if (is_noscript(r))
                s->loaded = false;
            set_error(s, "state of %s: %s", inds[i]->id,
                      r->type == REDIS_REPLY_ERROR ? r->str
                                                   : "unexpected reply");
            e->outcome = VIGIL_EVAL_FAILED;
            memset(&e->event, 0, sizeof(e->event));
            rc = -1;
        }
        freeReplyObject(r);
    }
done:
    if (states) {
        for (size_t i = 0; i < n; i++)
            if (states[i])
                freeReplyObject(states[i]);
    }
    free(states);
    if (uqs)
        free_uqs(uqs, nu);
    free(maps);
    free(results);
    return rc;
}

int vigil_indicator_store_read_states(struct vigil_indicator_store *s,
                                      redisContext *ctx, const char *const *ids,
                                      size_t n, struct vigil_istate *states,
                                      bool *found)
{
    char key[600];
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%sstate:%s", s->prefix, ids[i]);
        const char *argv[] = {"HGETALL", key};
        size_t argvlen[] = {7, strlen(key)};
        redisAppendCommandArgv(ctx, 2, argv, argvlen);
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        void *rv = NULL;
        if (redisGetReply(ctx, &rv) != REDIS_OK) {
            set_error(s, "redis: %s", ctx->errstr);
            return -1;
        }
        redisReply *r = rv;
        found[i] = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
        if (vigil_indicator_state_parse(r, &states[i]) < 0) {
            set_error(s, "state of %s: unexpected reply", ids[i]);
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}
