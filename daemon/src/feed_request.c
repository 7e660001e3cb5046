#include "feed_request.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "feed_json.h"

bool vigil_feed_parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0;
    if (!*s)
        return false;
    while (*s) {
        if (!isdigit((unsigned char)*s))
            return false;
        int64_t n = 0;
        while (isdigit((unsigned char)*s)) {
            if (n > 1000000000LL)
                return false;
            n = n * 10 + (*s++ - '0');
        }
        int64_t unit;
        switch (*s) {
        case 's':
            unit = 1000;
            break;
        case 'm':
            unit = 60 * 1000;
            break;
        case 'h':
            unit = 3600 * 1000;
            break;
        case 'd':
            unit = 24 * 3600 * 1000;
            break;
        case 'w':
            unit = 7 * 24 * 3600 * 1000LL;
            break;
        default:
            return false;
        }
        s++;
        total += n * unit;
        if (total > 10LL * 365 * 24 * 3600 * 1000)
            return false;
    }
    *out = total;
    return true;
}

bool vigil_feed_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > 40)
        return false;
    if (s[0] == '-') {
        int64_t d;
        if (!vigil_feed_parse_duration(s + 1, &d))
            return false;
        *out = now_ms - d;
        return true;
    }
    struct vigil_feed_sid sid;
    if (strchr(s, '-') == NULL && vigil_feed_sid_parse(s, len, &sid) &&
        sid.ms < (uint64_t)INT64_MAX) {
        *out = (int64_t)sid.ms;
        return true;
    }
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return false;
    int64_t ms = 0;
    if (*end == '.') {
        end++;
        int digits = 0;
        while (isdigit((unsigned char)*end)) {
            if (digits < 3)
                ms = ms * 10 + (*end - '0');
            digits++;
            end++;
        }
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (strcmp(end, "Z") != 0)
        return false;
    *out = (int64_t)timegm(&tm) * 1000 + ms;
    return true;
}

bool vigil_feed_parse_limit(const char *s, unsigned def, unsigned max,
                            unsigned *out)
{
    *out = def;
    if (!s)
        return true;
    struct vigil_feed_sid n;
    if (strchr(s, '-') || !vigil_feed_sid_parse(s, strlen(s), &n) || n.ms == 0)
        return false;
    *out = n.ms > max ? max : (unsigned)n.ms;
    return true;
}

/* The body as a JSON object (an empty body is {}); NULL when malformed. */
static cJSON *body_json(const char *body, size_t len)
{
    if (len == 0)
        return cJSON_CreateObject();
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* A string member of at most max bytes, or def; false when wrong. */
static bool member(const cJSON *o, const char *key, size_t max, const char *def,
                   const char **out)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    *out = def;
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
        return false;
    *out = v->valuestring;
    return true;
}

int vigil_feed_ack_parse(const char *body, size_t len,
                         struct vigil_feed_ack_req *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = body_json(body, len);
    if (!j || !member(j, "author", 128, "api", &out->author) ||
        !member(j, "comment", 1024, "", &out->comment)) {
        cJSON_Delete(j);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->json = j;
    return 0;
}

void vigil_feed_ack_req_fini(struct vigil_feed_ack_req *r)
{
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

int vigil_feed_silence_parse(const char *body, size_t len, int64_t now_ms,
                             struct vigil_feed_silence_req *out,
                             const char **why)
{
    static const char usage[] =
        "body: {\"matcher\": {label: value, ...}, \"until\": time or "
        "\"duration\": \"2h\", \"author\": string, \"reason\": string}";
    memset(out, 0, sizeof(*out));
    out->matcher.v = out->kv;
    *why = usage;
    cJSON *j = len ? body_json(body, len) : NULL;
    const cJSON *m = j ? cJSON_GetObjectItem(j, "matcher") : NULL;
    const char *until_s = NULL, *duration_s = NULL;
    bool ok = j && cJSON_IsObject(m) && m->child &&
              member(j, "author", 128, "api", &out->author) &&
              member(j, "reason", 1024, "", &out->reason) &&
              member(j, "until", 40, NULL, &until_s) &&
              member(j, "duration", 40, NULL, &duration_s);
    const cJSON *e, *pairs = ok ? m : NULL;
    cJSON_ArrayForEach(e, pairs)
    {
        if (!cJSON_IsString(e) || !e->string ||
            out->matcher.n == VIGIL_FEED_MATCHER_MAX ||
            strlen(e->string) == 0 || strlen(e->string) > 128 ||
            strlen(e->valuestring) > 256) {
            ok = false;
            break;
        }
        out->kv[out->matcher.n++] =
            (struct vigil_config_kv){e->string, e->valuestring};
    }
    int64_t d = 0;
    if (ok && until_s) {
        ok = vigil_feed_parse_time(until_s, now_ms, &out->until_ms);
    } else if (ok && duration_s) {
        ok = vigil_feed_parse_duration(duration_s, &d);
        out->until_ms = now_ms + d;
    } else {
        ok = false;
    }
    if (ok && out->until_ms <= now_ms) {
        ok = false;
        *why = "until is past";
    }
    if (!ok) {
        cJSON_Delete(j);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->json = j;
    *why = NULL;
    return 0;
}

void vigil_feed_silence_req_fini(struct vigil_feed_silence_req *r)
{
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}
