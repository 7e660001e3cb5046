#include "silence.h"

#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MAX_MATCHERS 32

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

static void key_of(char *buf, size_t n, const char *ns)
{
    snprintf(buf, n, "vigil:{%s}:silences", ns);
}

void vigil_silence_fini(struct vigil_silence *s)
{
    for (size_t i = 0; i < s->n_matchers; i++) {
        free(s->matchers[i].key);
        free(s->matchers[i].value);
    }
    free(s->matchers);
    free(s->author);
    free(s->reason);
    memset(s, 0, sizeof(*s));
}

void vigil_silence_list_fini(struct vigil_silence_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        vigil_silence_fini(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int add_matcher(struct vigil_silence *s, const char *k, size_t kl,
                       const char *v, size_t vl)
{
    if (s->n_matchers >= MAX_MATCHERS)
        return VIGIL_SILENCE_INVALID;
    struct vigil_silence_matcher *m =
        realloc(s->matchers, (s->n_matchers + 1) * sizeof(*m));
    if (!m)
        return -1;
    s->matchers = m;
    char *key = strndup(k, kl), *value = strndup(v, vl);
    if (!key || !value) {
        free(key);
        free(value);
        return -1;
    }
    m[s->n_matchers++] = (struct vigil_silence_matcher){key, value};
    return 0;
}

int vigil_silence_add_matcher(struct vigil_silence *s, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return VIGIL_SILENCE_INVALID;
    return add_matcher(s, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1));
}

bool vigil_silence_is_active(const struct vigil_silence *s, int64_t now_ms)
{
    return s->starts_ms <= now_ms && now_ms < s->ends_ms;
}

bool vigil_silence_matches(const struct vigil_silence *s,
                           const struct vigil_notification *n, int64_t now_ms)
{
    if (!vigil_silence_is_active(s, now_ms) || s->n_matchers == 0)
        return false;
    for (size_t i = 0; i < s->n_matchers; i++) {
        const char *v = vigil_notification_match_value(n, s->matchers[i].key);
        if (!v || strcmp(v, s->matchers[i].value) != 0)
            return false;
    }
    return true;
}

const struct vigil_silence *
vigil_silence_list_match(const struct vigil_silence_list *l,
                         const struct vigil_notification *n, int64_t now_ms)
{
    for (size_t i = 0; i < l->n; i++)
        if (vigil_silence_matches(&l->v[i], n, now_ms))
            return &l->v[i];
    return NULL;
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[40];
    vigil_notification_time(ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}

char *vigil_silence_to_json(const struct vigil_silence *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *m = root ? cJSON_AddObjectToObject(root, "matchers") : NULL;
    if (!m) {
        cJSON_Delete(root);
        return NULL;
    }
    for (size_t i = 0; i < s->n_matchers; i++)
        cJSON_AddStringToObject(m, s->matchers[i].key, s->matchers[i].value);
    add_time(root, "starts", s->starts_ms);
    add_time(root, "ends", s->ends_ms);
    add_time(root, "created", s->created_ms);
    cJSON_AddStringToObject(root, "author", s->author ? s->author : "");
    cJSON_AddStringToObject(root, "reason", s->reason ? s->reason : "");
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

int vigil_silence_parse_time(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    if (len == 0 || len > 40)
        return -1;
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        digits = digits && s[i] >= '0' && s[i] <= '9';
    if (digits) {
        if (len > 12)
            return -1;
        *ms = (int64_t)strtoll(s, NULL, 10) * 1000;
        return 0;
    }
    int y, mo, d, h, mi, sec, frac = 0, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
               &used) != 6)
        return -1;
    const char *p = s + used;
    if (*p == '.') {
        int scale = 100;
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (strcmp(p, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60 || y < 1970)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *ms = (int64_t)t * 1000 + frac;
    return 0;
}

static int json_time(const cJSON *root, const char *key, int64_t *ms)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsString(v))
        return -1;
    return vigil_silence_parse_time(v->valuestring, ms);
}

static char *json_string(const cJSON *root, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    return strdup(cJSON_IsString(v) ? v->valuestring : "");
}

int vigil_silence_from_json(struct vigil_silence *s, const char *id,
                            const char *json, size_t len, char *err,
                            size_t errlen)
{
    memset(s, 0, sizeof(*s));
    if (strlen(id) >= sizeof(s->id)) {
        set_err(err, errlen, "silence id too long");
        return VIGIL_SILENCE_INVALID;
    }
    snprintf(s->id, sizeof(s->id), "%s", id);
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "matchers");
    int rc = VIGIL_SILENCE_INVALID;
    if (!cJSON_IsObject(m)) {
        set_err(err, errlen, "silence %s: no matchers object", id);
        goto out;
    }
    const cJSON *x;
    cJSON_ArrayForEach(x, m)
    {
        if (!cJSON_IsString(x) || !x->string) {
            set_err(err, errlen, "silence %s: a matcher is not a string", id);
            goto out;
        }
        int r = add_matcher(s, x->string, strlen(x->string), x->valuestring,
                            strlen(x->valuestring));
        if (r < 0) {
            rc = r;
            set_err(err, errlen, "silence %s: too many matchers", id);
            goto out;
        }
    }
    if (json_time(root, "starts", &s->starts_ms) < 0 ||
        json_time(root, "ends", &s->ends_ms) < 0) {
        set_err(err, errlen, "silence %s: bad starts or ends", id);
        goto out;
    }
    if (json_time(root, "created", &s->created_ms) < 0)
        s->created_ms = s->starts_ms;
    s->author = json_string(root, "author");
    s->reason = json_string(root, "reason");
    if (!s->author || !s->reason) {
        rc = -1;
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc != 0)
        vigil_silence_fini(s);
    return rc;
}

static int reply_error(redisContext *c, redisReply *r, char *err, size_t errlen)
{
    if (!r)
        set_err(err, errlen, "redis: %s", c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        set_err(err, errlen, "redis: %s", r->str);
    else
        set_err(err, errlen, "redis: unexpected reply");
    if (r)
        freeReplyObject(r);
    return -1;
}

/* HSET key id json. */
static int store(redisContext *c, const char *ns, const struct vigil_silence *s,
                 char *err, size_t errlen)
{
    char key[256];
    key_of(key, sizeof(key), ns);
    char *json = vigil_silence_to_json(s);
    if (!json) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    const char *argv[] = {"HSET", key, s->id, json};
    size_t lens[] = {4, strlen(key), strlen(s->id), strlen(json)};
    redisReply *r = redisCommandArgv(c, 4, argv, lens);
    free(json);
    if (!r || r->type != REDIS_REPLY_INTEGER)
        return reply_error(c, r, err, errlen);
    freeReplyObject(r);
    return 0;
}

static int compare(const void *a, const void *b)
{
    const struct vigil_silence *x = a, *y = b;
    if (x->starts_ms != y->starts_ms)
        return x->starts_ms < y->starts_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

int vigil_silence_load(redisContext *c, const char *ns,
                       struct vigil_silence_list *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char key[256];
    key_of(key, sizeof(key), ns);
    const char *argv[] = {"HGETALL", key};
    size_t lens[] = {7, strlen(key)};
    redisReply *r = redisCommandArgv(c, 2, argv, lens);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        return reply_error(c, r, err, errlen);
    out->v = calloc(r->elements / 2 + 1, sizeof(*out->v));
    if (!out->v) {
        freeReplyObject(r);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            f->len >= sizeof(out->v[0].id) || memchr(f->str, '\0', f->len))
            continue;
        char id[sizeof(out->v[0].id)];
        memcpy(id, f->str, f->len);
        id[f->len] = '\0';
        char why[128];
        if (vigil_silence_from_json(&out->v[out->n], id, v->str, v->len, why,
                                    sizeof(why)) == 0)
            out->n++;
    }
    freeReplyObject(r);
    qsort(out->v, out->n, sizeof(*out->v), compare);
    return 0;
}

/* Deletes silences that ended more than the keep time before now. */
static void collect_garbage(redisContext *c, const char *ns, int64_t now_ms)
{
    struct vigil_silence_list l;
    char err[128];
    if (vigil_silence_load(c, ns, &l, err, sizeof(err)) < 0)
        return;
    char key[256];
    key_of(key, sizeof(key), ns);
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].ends_ms + VIGIL_SILENCE_KEEP_MS > now_ms)
            continue;
        const char *argv[] = {"HDEL", key, l.v[i].id};
        size_t lens[] = {4, strlen(key), strlen(l.v[i].id)};
        redisReply *r = redisCommandArgv(c, 3, argv, lens);
        if (r)
            freeReplyObject(r);
    }
    vigil_silence_list_fini(&l);
}

int vigil_silence_add(redisContext *c, const char *ns, struct vigil_silence *s,
                      int64_t now_ms, char *err, size_t errlen)
{
    if (s->n_matchers == 0) {
        set_err(err, errlen, "a silence needs at least one matcher");
        return VIGIL_SILENCE_INVALID;
    }
    if (!s->author || !s->author[0]) {
        set_err(err, errlen, "a silence needs an author");
        return VIGIL_SILENCE_INVALID;
    }
    if (s->ends_ms <= s->starts_ms || s->ends_ms <= now_ms) {
        set_err(err, errlen,
                "a silence must end after it starts and after "
                "now");
        return VIGIL_SILENCE_INVALID;
    }
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        set_err(err, errlen, "getrandom: %s", strerror(errno));
        return -1;
    }
    size_t off = 0;
    for (size_t i = 0; i < sizeof(rnd); i++)
        off +=
            (size_t)snprintf(s->id + off, sizeof(s->id) - off, "%02x", rnd[i]);
    s->created_ms = now_ms;
    if (store(c, ns, s, err, errlen) < 0)
        return -1;
    collect_garbage(c, ns, now_ms);
    return 0;
}

int vigil_silence_expire(redisContext *c, const char *ns, const char *id,
                         int64_t now_ms, char *err, size_t errlen)
{
    char key[256];
    key_of(key, sizeof(key), ns);
    const char *argv[] = {"HGET", key, id};
    size_t lens[] = {4, strlen(key), strlen(id)};
    redisReply *r = redisCommandArgv(c, 3, argv, lens);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL))
        return reply_error(c, r, err, errlen);
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        set_err(err, errlen, "no silence with id '%s'", id);
        return VIGIL_SILENCE_NOT_FOUND;
    }
    struct vigil_silence s;
    int rc = vigil_silence_from_json(&s, id, r->str, r->len, err, errlen);
    freeReplyObject(r);
    if (rc < 0)
        return rc;
    if (s.ends_ms > now_ms) {
        s.ends_ms = now_ms;
        if (s.starts_ms > now_ms)
            s.starts_ms = now_ms;
        rc = store(c, ns, &s, err, errlen);
    }
    vigil_silence_fini(&s);
    return rc;
}
