#include "ack.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * KEYS: state hash, breaches stream. ARGV: episode ("" = the open one),
 * by, at (ms), comment, indicator. Replies {0} when there is no such
 * open episode, {1, episode} when acked now, {2, episode, by, at} when it
 * had been acked already.
 */
static const char ack_script[] =
    "local h = redis.call('HMGET', KEYS[1], 'episode', 'state', "
    "'ack_episode', 'acked_by', 'acked_at')\n"
    "local ep = h[1]\n"
    "if not ep or ep == '' then return {0} end\n"
    "if ARGV[1] ~= '' and ARGV[1] ~= ep then return {0} end\n"
    "if h[3] == ep then return {2, ep, h[4] or '', h[5] or ''} end\n"
    "redis.call('HSET', KEYS[1], 'ack_episode', ep, 'acked_by', ARGV[2], "
    "'acked_at', ARGV[3], 'ack_comment', ARGV[4])\n"
    "redis.call('XADD', KEYS[2], '*', 'indicator', ARGV[5], 'event', "
    "'acked', 'state', h[2] or '', 'episode', ep, 'dedup', "
    "ARGV[5] .. ':' .. ep, 'by', ARGV[2], 'at', ARGV[3], 'comment', "
    "ARGV[4])\n"
    "return {1, ep}\n";

__attribute__((format(printf, 3, 4))) static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool parse_ms(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int vigil_ack_parse_id(const char *id, char *indicator, size_t size,
                       int64_t *episode_ms)
{
    const char *colon = strrchr(id, ':');
    size_t ilen = colon ? (size_t)(colon - id) : strlen(id);
    *episode_ms = INT64_MIN;
    if (ilen == 0 || ilen > 128 || ilen >= size)
        return -1;
    for (size_t i = 0; i < ilen; i++)
        if (!id_char(id[i]))
            return -1;
    if (colon && !parse_ms(colon + 1, strlen(colon + 1), episode_ms))
        return -1;
    memcpy(indicator, id, ilen);
    indicator[ilen] = '\0';
    return 0;
}

static void copy_str(char *dst, size_t size, const redisReply *r)
{
    size_t n = 0;
    if (r && r->type == REDIS_REPLY_STRING)
        n = r->len < size - 1 ? r->len : size - 1;
    if (n)
        memcpy(dst, r->str, n);
    dst[n] = '\0';
}

static int64_t reply_ms(const redisReply *r)
{
    int64_t v = 0;
    if (r && r->type == REDIS_REPLY_STRING && parse_ms(r->str, r->len, &v))
        return v;
    return 0;
}

int vigil_ack_breach(redisContext *c, const char *ns, const char *id,
                     const char *by, const char *comment, int64_t now_ms,
                     struct vigil_ack_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int64_t episode;
    if (vigil_ack_parse_id(id, out->indicator, sizeof(out->indicator),
                           &episode) < 0) {
        set_err(err, errlen,
                "'%s' is neither an indicator id nor <indicator>:<episode ms>",
                id);
        return VIGIL_ACK_INVALID;
    }
    if (!by || !by[0] || strlen(by) >= sizeof(out->by)) {
        set_err(err, errlen, "an ack needs an author (1 to 255 bytes)");
        return VIGIL_ACK_INVALID;
    }
    char state[512], breaches[256], ep[24] = "", at[24];
    snprintf(state, sizeof(state), "vigil:{%s}:state:%s", ns, out->indicator);
    snprintf(breaches, sizeof(breaches), "vigil:{%s}:breaches", ns);
    if (episode != INT64_MIN)
        snprintf(ep, sizeof(ep), "%" PRId64, episode);
    snprintf(at, sizeof(at), "%" PRId64, now_ms);
    const char *cm = comment ? comment : "";
    const char *argv[] = {"EVAL", ack_script, "2", state, breaches,
                          ep,     by,         at,  cm,    out->indicator};
    size_t lens[10];
    for (size_t i = 0; i < 10; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, 10, argv, lens);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        if (!r)
            set_err(err, errlen, "redis: %s", c->errstr);
        else
            set_err(err, errlen, "redis: %s",
                    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        if (r)
            freeReplyObject(r);
        return -1;
    }
    long long code = r->element[0]->integer;
    int rc = 0;
    if (code == 0) {
        set_err(err, errlen, "%s has no open breach%s", out->indicator,
                episode != INT64_MIN ? " with that episode" : "");
        rc = VIGIL_ACK_NOT_OPEN;
    } else {
        out->episode_ms = r->elements > 1 ? reply_ms(r->element[1]) : 0;
        if (code == 2 && r->elements >= 4) {
            out->already = true;
            copy_str(out->by, sizeof(out->by), r->element[2]);
            out->at_ms = reply_ms(r->element[3]);
        } else {
            snprintf(out->by, sizeof(out->by), "%s", by);
            out->at_ms = now_ms;
        }
    }
    freeReplyObject(r);
    return rc;
}
