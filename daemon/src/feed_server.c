#include "feed_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "feed_dashboard.h"
#include "feed_priv.h"

static const char csp_api[] = "default-src 'none'; frame-ancestors 'none'";
static const char csp_page[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'";

int64_t vigil_feed_now(const struct vigil_feed *f)
{
    if (f->cfg.now_ms)
        return f->cfg.now_ms(f->cfg.now_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- responses ---- */

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *resp,
                             const char *content_type, const char *csp)
{
    if (!resp)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy",
                            "same-origin");
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result vigil_feed_reply_response(struct MHD_Connection *c,
                                          unsigned status,
                                          struct MHD_Response *r,
                                          const char *content_type)
{
    return queue(c, status, r, content_type, csp_api);
}

enum MHD_Result vigil_feed_reply(struct MHD_Connection *c, unsigned status,
                                 const char *content_type, char *body,
                                 size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : (void *)"",
        body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r)
        free(body);
    return queue(c, status, r, content_type, csp_api);
}

enum MHD_Result vigil_feed_reply_json(struct MHD_Connection *c, unsigned status,
                                      cJSON *json)
{
    char *s = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!s)
        return vigil_feed_reply(c, 500, "text/plain; charset=utf-8",
                                strdup("out of memory\n"), 14);
    size_t n = strlen(s);
    /* A trailing newline, for curl users. */
    char *body = realloc(s, n + 2);
    if (body) {
        body[n] = '\n';
        body[n + 1] = '\0';
        n++;
    } else {
        body = s;
    }
    return vigil_feed_reply(c, status, "application/json", body, n);
}

enum MHD_Result vigil_feed_reply_error(struct MHD_Connection *c,
                                       unsigned status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddStringToObject(o, "error", msg);
    return vigil_feed_reply_json(c, status, o);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
                                  const char *text)
{
    char *s = strdup(text);
    return vigil_feed_reply(c, status, "text/plain; charset=utf-8", s,
                            s ? strlen(s) : 0);
}

/* ---- /healthz, /readyz ---- */

static enum MHD_Result serve_ready(struct vigil_feed *f,
                                   struct MHD_Connection *c)
{
    char why[256] = "";
    if (f->cfg.ready && !f->cfg.ready(f->cfg.ready_ctx, why, sizeof(why))) {
        char msg[300];
        snprintf(msg, sizeof(msg), "not ready: %s\n",
                 why[0] ? why : "workers not ready");
        return reply_text(c, 503, msg);
    }
    if (f->cfg.connect) {
        redisContext *rc = vigil_feed_pool_get(f);
        redisReply *r = rc ? redisCommand(rc, "PING") : NULL;
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        vigil_feed_pool_put(f, rc, ok);
        if (!ok)
            return reply_text(c, 503, "not ready: redis unreachable\n");
    }
    return reply_text(c, 200, "ready\n");
}

/* ---- /metrics ---- */

struct samples {
    struct vigil_feed_lag_sample *lags;
    size_t n_lags, cap_lags;
    struct vigil_feed_notification_sample *notes;
    size_t n_notes, cap_notes;
};

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, nc * size);
    if (!p)
        return false;
    *v = p;
    *cap = nc;
    return true;
}

static void on_lag(void *ectx, const char *topic, int32_t partition,
                   int64_t lag)
{
    struct samples *s = ectx;
    if (!grow((void **)&s->lags, &s->cap_lags, s->n_lags, sizeof(*s->lags)))
        return;
    char *t = strdup(topic ? topic : "");
    if (!t)
        return;
    s->lags[s->n_lags++] = (struct vigil_feed_lag_sample){t, partition, lag};
    /* cppcheck-suppress memleak ; t is kept in s->lags, freed with it */
}

static void on_notification(void *ectx, const char *notifier,
                            const char *result, uint64_t count)
{
    struct samples *s = ectx;
    if (!grow((void **)&s->notes, &s->cap_notes, s->n_notes, sizeof(*s->notes)))
        return;
    char *n = strdup(notifier ? notifier : "");
    char *r = strdup(result ? result : "");
    if (!n || !r) {
        free(n);
        free(r);
        return;
    }
    s->notes[s->n_notes++] =
        (struct vigil_feed_notification_sample){n, r, count};
    /* cppcheck-suppress memleak ; n and r are kept in s->notes */
}

static void samples_free(struct samples *s)
{
    for (size_t i = 0; i < s->n_lags; i++)
        free((char *)s->lags[i].topic);
    for (size_t i = 0; i < s->n_notes; i++) {
        free((char *)s->notes[i].notifier);
        free((char *)s->notes[i].result);
    }
    free(s->lags);
    free(s->notes);
}

static enum MHD_Result serve_metrics(struct vigil_feed *f,
                                     struct MHD_Connection *c)
{
    struct vigil_feed_metrics m = {.flush = f->cfg.flush_seconds};
    const struct vigil_pipeline_stats *ps = f->cfg.pipeline_stats;
    if (ps) {
        m.has_pipeline = true;
        m.events = atomic_load_explicit(&ps->events, memory_order_relaxed);
        m.decode_errors =
            atomic_load_explicit(&ps->decode_errors, memory_order_relaxed);
        m.findings = atomic_load_explicit(&ps->findings, memory_order_relaxed);
        m.findings_dropped =
            atomic_load_explicit(&ps->findings_dropped, memory_order_relaxed);
    }
    pthread_mutex_lock(&f->rules_mu);
    struct vigil_rule_set *rules =
        f->rules ? vigil_rule_set_ref(f->rules) : NULL;
    pthread_mutex_unlock(&f->rules_mu);
    struct samples s = {0};
    struct vigil_feed_buf out;
    vigil_feed_buf_init(&out);
    struct vigil_feed_item **t = vigil_feed_table_copy(f);
    size_t n_rules = rules ? vigil_rule_set_size(rules) : 0;
    struct vigil_feed_rule_sample *rs = calloc(n_rules + 1, sizeof(*rs));
    struct vigil_feed_indicator_sample *is = calloc(f->set->n + 1, sizeof(*is));
    if (!t || !rs || !is)
        goto out;
    for (size_t i = 0; i < n_rules; i++) {
        rs[i].rule = vigil_rule_set_rule(rules, i)->id;
        rs[i].limit_hits = vigil_rule_set_limit_hits(rules, i);
        rs[i].has_matches = true;
        rs[i].matches = vigil_rule_set_matches(rules, i);
    }
    m.rules = rs;
    m.n_rules = n_rules;
    for (size_t i = 0; i < f->set->n; i++) {
        is[i].id = f->set->v[i].id;
        if (t[i]) {
            is[i].evaluated = true;
            is[i].has_value = t[i]->has_value;
            is[i].value = t[i]->value;
            is[i].state = t[i]->state;
        }
    }
    m.indicators = is;
    m.n_indicators = f->set->n;
    if (f->cfg.kafka_lag) {
        f->cfg.kafka_lag(f->cfg.metrics_ctx, on_lag, &s);
        m.has_lag = true;
        m.lags = s.lags;
        m.n_lags = s.n_lags;
    }
    if (f->cfg.notifications) {
        f->cfg.notifications(f->cfg.metrics_ctx, on_notification, &s);
        m.notifications = s.notes;
        m.n_notifications = s.n_notes;
    }
    if (f->cfg.reloads) {
        f->cfg.reloads(f->cfg.metrics_ctx, &m.reloads_ok, &m.reloads_failed);
        m.has_reloads = true;
    }
    vigil_feed_metrics_render(&m, &out);

out:
    free(rs);
    free(is);
    vigil_feed_table_free(f, t);
    samples_free(&s);
    vigil_rule_set_unref(rules);
    size_t len = 0;
    char *text = vigil_feed_buf_take(&out, &len);
    if (!text)
        return reply_text(c, 500, "out of memory\n");
    return vigil_feed_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                            text, len);
}

/* ---- sessions and the dashboard ---- */

static enum MHD_Result serve_session(struct vigil_feed *f,
                                     struct MHD_Connection *c, bool create)
{
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
                                                     VIGIL_FEED_SESSION_COOKIE);
    if (!create) {
        if (cookie)
            vigil_feed_session_drop(f->sessions, cookie, strlen(cookie));
        struct MHD_Response *r = MHD_create_response_from_buffer(
            0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE,
                                    VIGIL_FEED_SESSION_COOKIE
                                    "=; Path=/; HttpOnly; SameSite=Strict; "
                                    "Max-Age=0");
        return queue(c, 204, r, NULL, csp_api);
    }
    if (!f->read_token)
        return vigil_feed_reply_json(
            c, 200, cJSON_Parse("{\"session\":false,\"open\":true}"));
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (vigil_feed_authorize(f->read_token, f->admin_token, VIGIL_FEED_READ,
                             auth, false) != 0)
        return vigil_feed_reply_error(c, 401,
                                      "a read or admin token is needed");
    char id[VIGIL_FEED_SESSION_ID_LEN + 1];
    if (vigil_feed_session_new(f->sessions, vigil_feed_now(f), id) < 0)
        return vigil_feed_reply_error(c, 500, "no randomness");
    char cookie_hdr[200];
    snprintf(cookie_hdr, sizeof(cookie_hdr),
             "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
             VIGIL_FEED_SESSION_COOKIE, id,
             VIGIL_FEED_SESSION_LIFETIME_MS / 1000);
    char *body = strdup("{\"session\":true,\"open\":false}\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(
        body ? strlen(body) : 0, body ? body : (void *)"",
        body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie_hdr);
    else
        free(body);
    return queue(c, 200, r, "application/json", csp_api);
}

static enum MHD_Result serve_asset(struct MHD_Connection *c, const char *path)
{
    const struct vigil_feed_asset *a = vigil_feed_dashboard_asset(path);
    if (!a)
        return vigil_feed_reply_error(c, 404, "not found");
    struct MHD_Response *r = MHD_create_response_from_buffer(
        a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    return queue(c, 200, r, a->content_type, csp_page);
}

/* ---- dispatch ---- */

struct feed_req {
    struct vigil_feed_route route;
    struct vigil_feed_buf body;
    bool too_large;
    bool url_too_long;
};

static bool session_ok(struct vigil_feed *f, struct MHD_Connection *c)
{
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
                                                     VIGIL_FEED_SESSION_COOKIE);
    return cookie &&
           vigil_feed_session_check(f->sessions, cookie, strlen(cookie),
                                    vigil_feed_now(f));
}

static enum MHD_Result dispatch_locked(struct vigil_feed *f,
                                       struct MHD_Connection *c,
                                       struct feed_req *rq)
{
    const struct vigil_feed_route *r = &rq->route;
    if (rq->url_too_long)
        return vigil_feed_reply_error(c, 414, "path too long");
    if (r->endpoint == VIGIL_FEED_NOT_FOUND)
        return vigil_feed_reply_error(c, 404, "not found");
    if (r->endpoint == VIGIL_FEED_BAD_METHOD) {
        char *s = strdup("{\"error\":\"method not allowed\"}\n");
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            s ? strlen(s) : 0, s ? s : (void *)"",
            s ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
        else
            free(s);
        return queue(c, 405, resp, "application/json", csp_api);
    }
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    bool session =
        r->access == VIGIL_FEED_READ && f->read_token && session_ok(f, c);
    int rc = vigil_feed_authorize(f->read_token, f->admin_token, r->access,
                                  auth, session);
    if (rc == 403)
        return vigil_feed_reply_error(c, 403,
                                      "writes are disabled: no admin token");
    if (rc != 0) {
        char *s = strdup("{\"error\":\"unauthorized\"}\n");
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            s ? strlen(s) : 0, s ? s : (void *)"",
            s ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                    "Bearer realm=\"vigil\"");
        else
            free(s);
        return queue(c, 401, resp, "application/json", csp_api);
    }
    if (rq->too_large)
        return vigil_feed_reply_error(c, 413, "request body too large");

    switch (r->endpoint) {
    case VIGIL_FEED_DASHBOARD:
        return serve_asset(c, "/");
    case VIGIL_FEED_ASSET:
        return serve_asset(c, r->arg);
    case VIGIL_FEED_HEALTHZ:
        return reply_text(c, 200, "ok\n");
    case VIGIL_FEED_READYZ:
        return serve_ready(f, c);
    case VIGIL_FEED_METRICS:
        return serve_metrics(f, c);
    case VIGIL_FEED_STREAM:
        return vigil_feed_stream(f, c);
    case VIGIL_FEED_SESSION_NEW:
        return serve_session(f, c, true);
    case VIGIL_FEED_SESSION_END:
        return serve_session(f, c, false);
    default:
        return vigil_feed_api(f, c, r, rq->body.data ? rq->body.data : "",
                              rq->body.len);
    }
}

/* Every handler reads the indicator set: a reload waits for it. */
static enum MHD_Result dispatch(struct vigil_feed *f, struct MHD_Connection *c,
                                struct feed_req *rq)
{
    pthread_rwlock_rdlock(&f->set_lock);
    enum MHD_Result rc = dispatch_locked(f, c, rq);
    pthread_rwlock_unlock(&f->set_lock);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct vigil_feed *f = cls;
    struct feed_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        vigil_feed_buf_init(&rq->body);
        *con_cls = rq;
        if (strlen(url) > FEED_URL_MAX)
            rq->url_too_long = true;
        else
            vigil_feed_route(method, url, &rq->route);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (rq->body.len + *upload_size > FEED_BODY_MAX)
            rq->too_large = true;
        else
            vigil_feed_buf_add(&rq->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(f, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct feed_req *rq = *con_cls;
    if (!rq)
        return;
    vigil_feed_buf_fini(&rq->body);
    free(rq);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct vigil_feed *f = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    vigil_log_rl(&f->rl, VIGIL_LOG_WARN, "feed: http: %s", msg);
}

/* ---- lifecycle ---- */

static bool sockaddr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
               in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static struct addrinfo *resolve(const char *host)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host && host[0] ? host : NULL, "0", &hints, &res) != 0)
        return NULL;
    return res;
}

bool vigil_feed_host_is_loopback(const char *host)
{
    struct addrinfo *res = resolve(host);
    if (!res)
        return false;
    bool all = true;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (!sockaddr_is_loopback(a->ai_addr))
            all = false;
    freeaddrinfo(res);
    return all;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

struct vigil_feed *vigil_feed_create(const struct vigil_feed_config *cfg,
                                     char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    if (!cfg->indicators) {
        snprintf(err, errlen, "feed: no indicator set");
        return NULL;
    }
    if (!cfg->read_token && !vigil_feed_host_is_loopback(cfg->host)) {
        snprintf(err, errlen,
                 "http.listen: '%s' is not a loopback address: set "
                 "http.read_token to serve anything but 127.0.0.1/::1",
                 cfg->host ? cfg->host : "");
        vigil_error("%s", err);
        return NULL;
    }
    if (cfg->ns && (strlen(cfg->ns) > 100 || strpbrk(cfg->ns, "{}"))) {
        snprintf(err, errlen, "feed: bad namespace");
        return NULL;
    }
    struct vigil_feed *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    bool oom = false;
    f->cfg = *cfg;
    f->host = dup_or_null(cfg->host ? cfg->host : "127.0.0.1", &oom);
    f->read_token = dup_or_null(cfg->read_token, &oom);
    f->admin_token = dup_or_null(cfg->admin_token, &oom);
    f->ns = dup_or_null(cfg->ns ? cfg->ns : "default", &oom);
    f->set = cfg->indicators;
    f->table = calloc(f->set->n + 1, sizeof(*f->table));
    f->queue = calloc(FEED_QUEUE_MAX, sizeof(*f->queue));
    f->sessions = vigil_feed_sessions_create();
    if (oom || !f->table || !f->queue || !f->sessions)
        goto err_free_feed;
    f->cfg.host = f->host;
    f->cfg.read_token = f->read_token;
    f->cfg.admin_token = f->admin_token;
    f->cfg.ns = f->ns;
    f->cfg.rules = NULL;
    if (!f->cfg.heartbeat_ms)
        f->cfg.heartbeat_ms = 15000;
    if (f->cfg.heartbeat_ms > 30000)
        f->cfg.heartbeat_ms = 30000;
    if (!f->cfg.max_connections)
        f->cfg.max_connections = 128;
    if (!f->cfg.replay_max_events)
        f->cfg.replay_max_events = 2000;
    snprintf(f->prefix, sizeof(f->prefix), "vigil:{%s}:", f->ns);
    snprintf(f->channel, sizeof(f->channel), "vigil:{%s}:feed", f->ns);
    f->rl = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(10000, 5);
    f->next_seq = 1;
    pthread_mutex_init(&f->mu, NULL);
    /* Writer first: a reload must not wait behind a stream of readers. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&f->set_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&f->rules_mu, NULL);
    pthread_mutex_init(&f->pool_mu, NULL);
    pthread_cond_init(&f->pump_cv, NULL);
    /* SSE waits time out on the monotonic clock (heartbeats). */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->ring_cv, &ca);
    pthread_condattr_destroy(&ca);
    f->rules = cfg->rules ? vigil_rule_set_ref(cfg->rules) : NULL;
    return f;

err_free_feed:
    vigil_feed_sessions_destroy(f->sessions);
    free(f->queue);
    free(f->table);
    free(f->host);
    free(f->read_token);
    free(f->admin_token);
    free(f->ns);
    free(f);
    return NULL;
}

int vigil_feed_start(struct vigil_feed *f, char *err, size_t errlen)
{
    struct addrinfo *res = resolve(f->host);
    if (!res) {
        snprintf(err, errlen, "http.listen: cannot resolve '%s'", f->host);
        return -1;
    }
    struct sockaddr_storage ss;
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    uint16_t port = (uint16_t)f->cfg.port;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    }
    if (vigil_feed_pump_start(f) < 0) {
        snprintf(err, errlen, "feed: cannot start the pump thread");
        return -1;
    }
    f->mhd = MHD_start_daemon(
        flags, port, NULL, NULL, on_request, f, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, f, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, f,
        MHD_OPTION_CONNECTION_LIMIT, f->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
    if (!f->mhd) {
        snprintf(err, errlen, "http.listen: cannot listen on %s:%d", f->host,
                 f->cfg.port);
        vigil_feed_pump_stop(f);
        return -1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(f->mhd, MHD_DAEMON_INFO_BIND_PORT);
    f->port = info ? info->port : f->cfg.port;
    vigil_info("feed: listening on http://%s%s%s:%d/ (%s)",
               strchr(f->host, ':') ? "[" : "", f->host,
               strchr(f->host, ':') ? "]" : "", f->port,
               f->read_token ? "read token required" : "open reads");
    return 0;
}

int vigil_feed_add_connection(struct vigil_feed *f, int fd)
{
    struct sockaddr_in peer = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (!f->mhd || MHD_add_connection(f->mhd, fd, (struct sockaddr *)&peer,
                                      sizeof(peer)) != MHD_YES) {
        close(fd);
        return -1;
    }
    return 0;
}

int vigil_feed_port(const struct vigil_feed *f)
{
    return f->port;
}

void vigil_feed_publish(struct vigil_feed *f,
                        const struct vigil_indicator_snapshot *snap)
{
    if (!f || !snap || !snap->ind)
        return;
    const struct vigil_indicator *ind = snap->ind;
    size_t i;
    if (ind >= f->set->v && ind < f->set->v + f->set->n) {
        i = (size_t)(ind - f->set->v);
    } else {
        ind = vigil_indicator_set_find(f->set, snap->ind->id);
        if (!ind)
            return;
        i = (size_t)(ind - f->set->v);
    }
    struct vigil_feed_item *it = vigil_feed_item_create(snap);
    if (!it) {
        vigil_log_rl(&f->rl, VIGIL_LOG_WARN, "feed: out of memory");
        return;
    }
    it->ind = ind;
    pthread_mutex_lock(&f->mu);
    struct vigil_feed_item *old = f->table[i];
    f->table[i] = vigil_feed_item_ref(it);
    vigil_feed_pump_push(f, it);
    pthread_mutex_unlock(&f->mu);
    vigil_feed_item_unref(old);
}

void vigil_feed_set_rules(struct vigil_feed *f, struct vigil_rule_set *rules)
{
    struct vigil_rule_set *ref = rules ? vigil_rule_set_ref(rules) : NULL;
    pthread_mutex_lock(&f->rules_mu);
    struct vigil_rule_set *old = f->rules;
    f->rules = ref;
    pthread_mutex_unlock(&f->rules_mu);
    vigil_rule_set_unref(old);
}

void vigil_feed_swap(struct vigil_feed *f, struct vigil_rule_set *rules,
                     const struct vigil_indicator_set *indicators)
{
    static const struct vigil_indicator_set none = {0};
    if (!f)
        return;
    const struct vigil_indicator_set *set = indicators ? indicators : &none;
    struct vigil_feed_item **table = calloc(set->n + 1, sizeof(*table));
    pthread_rwlock_wrlock(&f->set_lock);
    pthread_mutex_lock(&f->mu);
    struct vigil_feed_item **old = f->table;
    size_t n_old = f->set->n;
    if (!table) {
        /* Keep the old array (large enough for an empty set). */
        vigil_log_rl(&f->rl, VIGIL_LOG_WARN,
                     "feed: out of memory: no indicators until the next "
                     "reload");
        set = &none;
        table = old;
        old = NULL;
        for (size_t i = 0; i < n_old; i++) {
            vigil_feed_item_unref(table[i]);
            table[i] = NULL;
        }
    }
    for (size_t j = 0; old && j < set->n; j++) {
        for (size_t i = 0; i < n_old; i++) {
            if (old[i] && strcmp(old[i]->ind->id, set->v[j].id) == 0) {
                table[j] = vigil_feed_item_rebind(old[i], &set->v[j]);
                break;
            }
        }
    }
    /* Queued evaluations point into the old set. */
    for (size_t i = 0; i < f->n_queue; i++)
        vigil_feed_item_unref(f->queue[i]);
    f->n_queue = 0;
    f->set = set;
    f->table = table;
    pthread_mutex_unlock(&f->mu);
    pthread_rwlock_unlock(&f->set_lock);
    for (size_t i = 0; old && i < n_old; i++)
        vigil_feed_item_unref(old[i]);
    free(old);
    vigil_feed_set_rules(f, rules);
}

void vigil_feed_stop(struct vigil_feed *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_broadcast(&f->ring_cv);
    pthread_cond_broadcast(&f->pump_cv);
    pthread_mutex_unlock(&f->mu);
    if (f->mhd) {
        MHD_stop_daemon(f->mhd);
        f->mhd = NULL;
    }
    vigil_feed_pump_stop(f);
}

void vigil_feed_destroy(struct vigil_feed *f)
{
    if (!f)
        return;
    vigil_feed_stop(f);
    vigil_feed_stream_fini(f);
    for (size_t i = 0; i < f->set->n; i++)
        vigil_feed_item_unref(f->table[i]);
    for (size_t i = 0; i < f->n_idle; i++)
        redisFree(f->idle[i]);
    vigil_rule_set_unref(f->rules);
    pthread_cond_destroy(&f->ring_cv);
    pthread_cond_destroy(&f->pump_cv);
    pthread_mutex_destroy(&f->pool_mu);
    pthread_mutex_destroy(&f->rules_mu);
    pthread_mutex_destroy(&f->mu);
    pthread_rwlock_destroy(&f->set_lock);
    vigil_feed_sessions_destroy(f->sessions);
    free(f->queue);
    free(f->table);
    free(f->host);
    free(f->read_token);
    free(f->admin_token);
    free(f->ns);
    free(f);
}
