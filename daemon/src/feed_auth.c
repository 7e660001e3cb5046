#include "feed_auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

bool vigil_feed_token_equal(const char *expected, const char *got,
                            size_t got_len)
{
    if (!expected || !got)
        return false;
    size_t exp_len = strlen(expected);
    /* Walk the presented bytes whatever they are; a length mismatch is
     * folded into the same accumulator. */
    volatile unsigned char diff = exp_len != got_len;
    for (size_t i = 0; i < got_len; i++) {
        unsigned char e = exp_len ? (unsigned char)expected[i % exp_len] : 0;
        diff |= (unsigned char)(e ^ (unsigned char)got[i]);
    }
    return exp_len > 0 && diff == 0;
}

bool vigil_feed_bearer(const char *header, const char **tok, size_t *len)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *p = header + 7;
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return false;
    *tok = p;
    *len = n;
    return true;
}

int vigil_feed_authorize(const char *read_token, const char *admin_token,
                         enum vigil_feed_access need, const char *authorization,
                         bool session_ok)
{
    if (need == VIGIL_FEED_PUBLIC)
        return 0;
    if (need == VIGIL_FEED_ADMIN && !admin_token)
        return 403;
    const char *tok = NULL;
    size_t len = 0;
    bool has = vigil_feed_bearer(authorization, &tok, &len);
    bool is_admin = has && vigil_feed_token_equal(admin_token, tok, len);
    bool is_read = has && vigil_feed_token_equal(read_token, tok, len);
    if (need == VIGIL_FEED_ADMIN)
        return is_admin ? 0 : 401;
    if (!read_token || is_read || is_admin || session_ok)
        return 0;
    return 401;
}

struct session {
    char id[VIGIL_FEED_SESSION_ID_LEN + 1]; /* "" when free */
    int64_t created_ms;
    int64_t used_ms;
};

struct vigil_feed_sessions {
    pthread_mutex_t mu;
    struct session v[VIGIL_FEED_SESSION_MAX];
};

struct vigil_feed_sessions *vigil_feed_sessions_create(void)
{
    struct vigil_feed_sessions *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void vigil_feed_sessions_destroy(struct vigil_feed_sessions *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static bool expired(const struct session *e, int64_t now_ms)
{
    return now_ms - e->created_ms > VIGIL_FEED_SESSION_LIFETIME_MS ||
           now_ms - e->used_ms > VIGIL_FEED_SESSION_IDLE_MS;
}

int vigil_feed_session_new(struct vigil_feed_sessions *s, int64_t now_ms,
                           char out[VIGIL_FEED_SESSION_ID_LEN + 1])
{
    unsigned char raw[VIGIL_FEED_SESSION_ID_LEN / 2];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[VIGIL_FEED_SESSION_ID_LEN] = '\0';
    pthread_mutex_lock(&s->mu);
    size_t slot = 0;
    for (size_t i = 0; i < VIGIL_FEED_SESSION_MAX; i++) {
        struct session *e = &s->v[i];
        if (!e->id[0] || expired(e, now_ms)) {
            slot = i;
            break;
        }
        if (e->used_ms < s->v[slot].used_ms)
            slot = i;
    }
    memcpy(s->v[slot].id, out, VIGIL_FEED_SESSION_ID_LEN + 1);
    s->v[slot].created_ms = now_ms;
    s->v[slot].used_ms = now_ms;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

bool vigil_feed_session_check(struct vigil_feed_sessions *s, const char *id,
                              size_t len, int64_t now_ms)
{
    if (len != VIGIL_FEED_SESSION_ID_LEN)
        return false;
    bool ok = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < VIGIL_FEED_SESSION_MAX; i++) {
        struct session *e = &s->v[i];
        if (!e->id[0] || !vigil_feed_token_equal(e->id, id, len))
            continue;
        if (expired(e, now_ms)) {
            e->id[0] = '\0';
            break;
        }
        e->used_ms = now_ms;
        ok = true;
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void vigil_feed_session_drop(struct vigil_feed_sessions *s, const char *id,
                             size_t len)
{
    if (len != VIGIL_FEED_SESSION_ID_LEN)
        return;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < VIGIL_FEED_SESSION_MAX; i++)
        if (s->v[i].id[0] && vigil_feed_token_equal(s->v[i].id, id, len))
            s->v[i].id[0] = '\0';
    pthread_mutex_unlock(&s->mu);
}
