#include "notifier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "exec_runner.h"
#include "http_client.h"
#include "log.h"
#include "payload.h"
#include "plugin_loader.h"
#include "version.h"

#define DEFAULT_RESEND_MS 150000ULL
#define EX_DATAERR_CODE 65

/* A notifier plugin's delivery, on a thread of its own (it blocks). */
struct plugin_job {
    pthread_t thread;
    struct vigil_notifier *n;
    char *body;
    int rc;
    char err[256];
    atomic_bool done;
};

struct request {
    struct vigil_notifier *n;
    vigil_notifier_done_fn done; /* NULL: a re-post, nobody waits */
    void *ctx;
    struct vigil_exec *exec;
    struct plugin_job *job;
    ev_timer deferred;
    struct vigil_notifier_outcome out;
    struct request *next, *prev;
};

struct vigil_notifier {
    const struct vigil_config_notifier *cfg;
    struct ev_loop *loop;
    struct vigil_http *http;
    char *source;
    char *dashboard;
    char *url; /* where to POST */
    char **headers;
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;
    uint64_t am_resend_ms;
    ev_timer repost;
    struct vigil_notification *firing;
    size_t n_firing;
    struct request *requests;
    struct vigil_ratelimit rl;
    struct vigil_plugin *plugin; /* a notifier plugin's; NULL otherwise */
    ev_async plugin_wake;        /* a plugin job ended */
};

static int64_t now_ms(const struct vigil_notifier *n)
{
    if (n->now_ms)
        return n->now_ms(n->now_ctx);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void unlink_request(struct request *r)
{
    struct vigil_notifier *n = r->n;
    if (r->prev)
        r->prev->next = r->next;
    else
        n->requests = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

static struct request *new_request(struct vigil_notifier *n,
                                   vigil_notifier_done_fn done, void *ctx)
{
    struct request *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->n = n;
    r->done = done;
    r->ctx = ctx;
    r->out.status = -1;
    r->next = n->requests;
    if (n->requests)
        n->requests->prev = r;
    n->requests = r;
    return r;
}

static void finish(struct request *r)
{
    unlink_request(r);
    ev_timer_stop(r->n->loop, &r->deferred);
    if (r->done)
        r->done(r->ctx, &r->out);
    else if (r->out.result != VIGIL_DELIVERY_SENT)
        vigil_log_rl(&r->n->rl, VIGIL_LOG_WARN,
                     "notifier %s: re-post failed (status %ld): %s",
                     r->n->cfg->name, r->out.status, r->out.detail);
    free(r);
}

static void on_deferred(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    finish(w->data);
}

/* Completes r from the loop with its outcome. */
static void complete_later(struct request *r)
{
    ev_timer_init(&r->deferred, on_deferred, 0., 0.);
    r->deferred.data = r;
    ev_timer_start(r->n->loop, &r->deferred);
}

/* Copies text into detail, with control bytes as spaces. */
static void set_detail(struct vigil_notifier_outcome *o, const char *text,
                       size_t len)
{
    size_t n = len < sizeof(o->detail) - 1 ? len : sizeof(o->detail) - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        o->detail[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    o->detail[n] = '\0';
}

static void on_http(void *ctx, const struct vigil_http_response *resp)
{
    struct request *r = ctx;
    struct vigil_notifier_outcome *o = &r->out;
    o->status = resp->status;
    o->retry_after_ms = resp->retry_after_ms;
    if (resp->curl_code != 0) {
        o->result = VIGIL_DELIVERY_RETRY;
        o->status = -1;
        set_detail(o, resp->error, strlen(resp->error));
    } else {
        long s = resp->status;
        if (s >= 200 && s < 300)
            o->result = VIGIL_DELIVERY_SENT;
        else if (s == 429 || s == 408 || s >= 500)
            o->result = VIGIL_DELIVERY_RETRY;
        else
            o->result = VIGIL_DELIVERY_FAILED;
        set_detail(o, resp->body, resp->body_len);
    }
    finish(r);
}

static void on_exec(void *ctx, const struct vigil_exec_result *res)
{
    struct request *r = ctx;
    struct vigil_notifier_outcome *o = &r->out;
    r->exec = NULL;
    if (!res->started) {
        o->result = VIGIL_DELIVERY_FAILED;
        set_detail(o, res->error, strlen(res->error));
    } else if (res->exited) {
        o->status = res->status;
        o->result = res->status == 0                 ? VIGIL_DELIVERY_SENT
                    : res->status == EX_DATAERR_CODE ? VIGIL_DELIVERY_FAILED
                                                     : VIGIL_DELIVERY_RETRY;
        set_detail(o, res->output, res->output_len);
    } else {
        o->result = VIGIL_DELIVERY_RETRY;
        char buf[128];
        int w = snprintf(buf, sizeof(buf), "%s (signal %d)",
                         res->timed_out ? "timed out, killed" : "killed",
                         res->signal);
        set_detail(o, buf, w > 0 ? (size_t)w : 0);
    }
    finish(r);
}

static void *plugin_main(void *arg)
{
    struct plugin_job *j = arg;
    j->rc = vigil_plugin_notify(j->n->plugin, j->n->cfg, j->body,
                                strlen(j->body), j->err, sizeof(j->err));
    atomic_store(&j->done, true);
    ev_async_send(j->n->loop, &j->n->plugin_wake);
    return NULL;
}

/* Joins the thread of r's job and frees the job. */
static void plugin_join(struct request *r)
{
    pthread_join(r->job->thread, NULL);
    free(r->job->body);
    free(r->job);
    r->job = NULL;
}

/* Finishes every request whose plugin job ended. */
static void on_plugin_wake(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_notifier *n = w->data;
    for (struct request *r = n->requests, *next; r; r = next) {
        next = r->next;
        if (!r->job || !atomic_load(&r->job->done))
            continue;
        bool ok = r->job->rc == 0;
        r->out.result = ok ? VIGIL_DELIVERY_SENT : VIGIL_DELIVERY_RETRY;
        if (!ok)
            set_detail(&r->out, r->job->err, strlen(r->job->err));
        plugin_join(r);
        finish(r);
    }
}

/* Hands body (taken) to the notifier plugin on a thread of its own. */
static int plugin_send(struct vigil_notifier *n, struct request *r, char *body)
{
    if (!body)
        return -1;
    struct plugin_job *j = calloc(1, sizeof(*j));
    if (!j) {
        free(body);
        return -1;
    }
    j->n = n;
    j->body = body;
    if (pthread_create(&j->thread, NULL, plugin_main, j) != 0) {
        free(body);
        free(j);
        return -1;
    }
    r->job = j;
    return 0;
}

static int post(struct vigil_notifier *n, struct request *r, char *body)
{
    if (!body)
        return -1;
    struct vigil_http_request req = {
        .url = n->url,
        .body = body,
        .body_len = strlen(body),
        .headers = (const char *const *)n->headers,
        .timeout_ms = n->cfg->timeout_ms,
    };
    int rc = vigil_http_post(n->http, &req, on_http, r);
    free(body);
    return rc;
}

static struct vigil_payload_env payload_env(const struct vigil_notifier *n)
{
    uint64_t resend = n->am_resend_ms;
    return (struct vigil_payload_env){
        .source = n->source,
        .dashboard_url = n->dashboard,
        .now_ms = now_ms(n),
        .am_valid_ms = 4 * resend,
    };
}

/* Alertmanager: remember what fires, forget what resolves. */
static void track_firing(struct vigil_notifier *n,
                         const struct vigil_notification *x)
{
    size_t i = 0;
    while (i < n->n_firing && strcmp(n->firing[i].dedup, x->dedup) != 0)
        i++;
    if (i < n->n_firing) {
        vigil_notification_fini(&n->firing[i]);
        n->firing[i] = n->firing[--n->n_firing];
    }
    if (x->action == VIGIL_NOTIFY_RESOLVE)
        return;
    struct vigil_notification *f =
        realloc(n->firing, (n->n_firing + 1) * sizeof(*f));
    if (!f)
        return;
    n->firing = f;
    if (vigil_notification_copy(&f[n->n_firing], x) < 0)
        return;
    /* A re-post only re-asserts the current state's alert. */
    struct vigil_notification *c = &f[n->n_firing++];
    char *prev = strdup(c->state);
    if (prev) {
        free(c->previous);
        c->previous = prev;
    }
}

static void on_repost(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_notifier *n = w->data;
    if (n->n_firing == 0)
        return;
    const struct vigil_notification **v = calloc(n->n_firing, sizeof(*v));
    if (!v)
        return;
    for (size_t i = 0; i < n->n_firing; i++)
        v[i] = &n->firing[i];
    struct vigil_payload_env env = payload_env(n);
    struct request *r = new_request(n, NULL, NULL);
    if (r && post(n, r, vigil_payload_alertmanager(v, n->n_firing, &env)) < 0) {
        unlink_request(r);
        free(r);
    }
    free(v);
}

static void log_line(struct vigil_notifier *n,
                     const struct vigil_notification *x)
{
    char summary[VIGIL_PAYLOAD_SUMMARY_MAX + 1];
    vigil_payload_summary(x, summary, sizeof(summary));
    vigil_info("notification %s: %s %s %s owner=%s severity=%s", n->cfg->name,
               vigil_notify_action_name(x->action), x->dedup, summary, x->owner,
               x->severity);
}

/* A type this daemon cannot deliver with (a plugin that is not loaded). */
static void fail_unavailable(struct request *r)
{
    r->out.result = VIGIL_DELIVERY_FAILED;
    snprintf(r->out.detail, sizeof(r->out.detail),
             "notifier type '%s' is not available", r->n->cfg->type_name);
    complete_later(r);
}

int vigil_notifier_send(struct vigil_notifier *n,
                        const struct vigil_notification *const *v, size_t count,
                        vigil_notifier_done_fn done, void *ctx)
{
    if (count == 0 || (count > 1 && !vigil_notifier_groups(n)))
        return -1;
    struct request *r = new_request(n, done, ctx);
    if (!r)
        return -1;
    struct vigil_payload_env env = payload_env(n);
    const struct vigil_config_notifier *c = n->cfg;
    int rc = 0;
    switch (c->type) {
    case VIGIL_NOTIFIER_PAGERDUTY:
        rc = post(n, r, vigil_payload_pagerduty(v[0], c->routing_key, &env));
        break;
    case VIGIL_NOTIFIER_ALERTMANAGER:
        rc = post(n, r, vigil_payload_alertmanager(v, count, &env));
        if (rc == 0)
            for (size_t i = 0; i < count; i++)
                track_firing(n, v[i]);
        break;
    case VIGIL_NOTIFIER_WEBHOOK:
        rc = post(n, r, vigil_payload_webhook(v, count, &env));
        break;
    case VIGIL_NOTIFIER_SLACK:
        rc = post(n, r, vigil_payload_slack(v, count, c->channel, &env));
        break;
    case VIGIL_NOTIFIER_EXEC: {
        char *body = vigil_payload_webhook(v, count, &env);
        if (body)
            r->exec = vigil_exec_start(n->loop, c->argv, body, strlen(body),
                                       c->timeout_ms, on_exec, r);
        rc = body && r->exec ? 0 : -1;
        free(body);
        break;
    }
    case VIGIL_NOTIFIER_LOG:
        for (size_t i = 0; i < count; i++)
            log_line(n, v[i]);
        r->out.result = VIGIL_DELIVERY_SENT;
        complete_later(r);
        break;
    case VIGIL_NOTIFIER_PLUGIN:
        if (n->plugin)
            rc = plugin_send(n, r, vigil_payload_webhook(v, count, &env));
        else
            fail_unavailable(r);
        break;
    default:
        fail_unavailable(r);
        break;
    }
    if (rc < 0) {
        unlink_request(r);
        free(r);
    }
    return rc;
}

static int build_headers(struct vigil_notifier *n)
{
    const struct vigil_config_map *h = &n->cfg->headers;
    n->headers = calloc(h->n + 1, sizeof(*n->headers));
    if (!n->headers)
        return -1;
    for (size_t i = 0; i < h->n; i++) {
        size_t len = strlen(h->v[i].key) + strlen(h->v[i].value) + 3;
        n->headers[i] = malloc(len);
        if (!n->headers[i])
            return -1;
        snprintf(n->headers[i], len, "%s: %s", h->v[i].key, h->v[i].value);
    }
    return 0;
}

static char *alerts_url(const char *base)
{
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    size_t len = bl + sizeof("/api/v2/alerts");
    char *u = malloc(len);
    if (u)
        snprintf(u, len, "%.*s/api/v2/alerts", (int)bl, base);
    return u;
}

struct vigil_notifier *
vigil_notifier_create(const struct vigil_config_notifier *cfg,
                      const struct vigil_notifier_env *env)
{
    struct vigil_notifier *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->cfg = cfg;
    n->loop = env->loop;
    n->now_ms = env->now_ms;
    n->now_ctx = env->now_ctx;
    n->am_resend_ms = env->am_resend_ms ? env->am_resend_ms : DEFAULT_RESEND_MS;
    n->rl = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(60000, 5);
    n->source = strdup(env->source ? env->source : "vigil");
    n->dashboard = strdup(env->dashboard_url ? env->dashboard_url : "");
    if (!n->source || !n->dashboard || build_headers(n) < 0)
        goto err_destroy;
    bool http = cfg->type == VIGIL_NOTIFIER_PAGERDUTY ||
                cfg->type == VIGIL_NOTIFIER_ALERTMANAGER ||
                cfg->type == VIGIL_NOTIFIER_WEBHOOK ||
                cfg->type == VIGIL_NOTIFIER_SLACK;
    if (http) {
        if (!cfg->url)
            goto err_destroy;
        n->url = cfg->type == VIGIL_NOTIFIER_ALERTMANAGER ? alerts_url(cfg->url)
                                                          : strdup(cfg->url);
        n->http = vigil_http_create(env->loop, "vigil/" VIGIL_VERSION);
        if (!n->url || !n->http)
            goto err_destroy;
    }
    if (cfg->type == VIGIL_NOTIFIER_EXEC && (!cfg->argv || !cfg->argv[0]))
        goto err_destroy;
    ev_async_init(&n->plugin_wake, on_plugin_wake);
    n->plugin_wake.data = n;
    if (cfg->type == VIGIL_NOTIFIER_PLUGIN) {
        n->plugin = vigil_plugins_find(env->plugins, VIGIL_PLUGIN_NOTIFIER,
                                       cfg->type_name);
        if (n->plugin)
            ev_async_start(n->loop, &n->plugin_wake);
        else
            vigil_warn("notifier %s: no notifier plugin '%s' is loaded: its "
                       "notifications fail",
                       cfg->name, cfg->type_name);
    }
    double every = (double)n->am_resend_ms / 1000.;
    ev_timer_init(&n->repost, on_repost, every, every);
    n->repost.data = n;
    if (cfg->type == VIGIL_NOTIFIER_ALERTMANAGER)
        ev_timer_start(n->loop, &n->repost);
    return n;

err_destroy:
    vigil_notifier_destroy(n);
    return NULL;
}

void vigil_notifier_destroy(struct vigil_notifier *n)
{
    if (!n)
        return;
    ev_timer_stop(n->loop, &n->repost);
    if (n->plugin)
        ev_async_stop(n->loop, &n->plugin_wake);
    /* The client first: it aborts the transfers without callbacks. */
    vigil_http_destroy(n->http);
    while (n->requests) {
        struct request *r = n->requests;
        n->requests = r->next;
        ev_timer_stop(n->loop, &r->deferred);
        vigil_exec_cancel(r->exec);
        if (r->job) /* a plugin call cannot be cut short: it ends within
                       the notifier's timeout */
            plugin_join(r);
        free(r);
    }
    for (size_t i = 0; i < n->n_firing; i++)
        vigil_notification_fini(&n->firing[i]);
    free(n->firing);
    for (size_t i = 0; n->headers && n->headers[i]; i++)
        free(n->headers[i]);
    free(n->headers);
    free(n->url);
    free(n->source);
    free(n->dashboard);
    free(n);
}

const char *vigil_notifier_name(const struct vigil_notifier *n)
{
    return n->cfg->name;
}

bool vigil_notifier_groups(const struct vigil_notifier *n)
{
    return n->cfg->type == VIGIL_NOTIFIER_WEBHOOK ||
           n->cfg->type == VIGIL_NOTIFIER_SLACK;
}

size_t vigil_notifier_firing(const struct vigil_notifier *n)
{
    return n->n_firing;
}
