#include "http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct sock {
    ev_io io;
    curl_socket_t fd;
    struct vigil_http *h;
    struct sock *next, *prev;
};

struct transfer {
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char resp[VIGIL_HTTP_BODY_KEEP + 1];
    size_t resp_len;
    char error[CURL_ERROR_SIZE];
    vigil_http_done_fn done;
    void *ctx;
    struct transfer *next, *prev;
};

struct vigil_http {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer;
    struct sock *socks;
    struct transfer *transfers;
    size_t in_flight;
    char *user_agent;
};

static void check_done(struct vigil_http *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode code = msg->data.result;
        struct vigil_http_response r = {.curl_code = (int)code};
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
        curl_off_t ra = 0;
        if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
            ra > 0 && ra < 86400)
            r.retry_after_ms = (uint64_t)ra * 1000;
        t->resp[t->resp_len] = '\0';
        r.body = t->resp;
        r.body_len = t->resp_len;
        if (code != CURLE_OK && !t->error[0])
            snprintf(t->error, sizeof(t->error), "%s",
                     curl_easy_strerror(code));
        r.error = t->error;
        curl_multi_remove_handle(h->multi, t->easy);
        if (t->prev)
            t->prev->next = t->next;
        else
            h->transfers = t->next;
        if (t->next)
            t->next->prev = t->prev;
        h->in_flight--;
        t->done(t->ctx, &r);
        curl_easy_cleanup(t->easy);
        curl_slist_free_all(t->headers);
        free(t->body);
        free(t);
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct sock *s = w->data;
    struct vigil_http *h = s->h;
    int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_done(h);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_http *h = w->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static void free_sock(struct vigil_http *h, struct sock *s)
{
    ev_io_stop(h->loop, &s->io);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
    (void)easy;
    struct vigil_http *h = userp;
    struct sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(h->multi, fd, NULL);
            free_sock(h, s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->fd = fd;
        s->h = h;
        s->next = h->socks;
        if (h->socks)
            h->socks->prev = s;
        h->socks = s;
        s->io.data = s;
        curl_multi_assign(h->multi, fd, s);
    } else {
        ev_io_stop(h->loop, &s->io);
    }
    int events = (what & CURL_POLL_IN ? EV_READ : 0) |
                 (what & CURL_POLL_OUT ? EV_WRITE : 0);
    ev_io_init(&s->io, on_io, fd, events);
    s->io.data = s;
    ev_io_start(h->loop, &s->io);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct vigil_http *h = userp;
    ev_timer_stop(h->loop, &h->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&h->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(h->loop, &h->timer);
    }
    return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t n = size * nmemb;
    size_t room = VIGIL_HTTP_BODY_KEEP - t->resp_len;
    size_t take = n < room ? n : room;
    memcpy(t->resp + t->resp_len, data, take);
    t->resp_len += take;
    return n; /* the rest is read and dropped */
}

struct vigil_http *vigil_http_create(struct ev_loop *loop,
                                     const char *user_agent)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct vigil_http *h = calloc(1, sizeof(*h));
    if (!h)
        goto err_global;
    h->user_agent = strdup(user_agent ? user_agent : "vigil");
    if (!h->user_agent)
        goto err_free;
    h->multi = curl_multi_init();
    if (!h->multi)
        goto err_free_ua;
    h->loop = loop;
    ev_timer_init(&h->timer, on_timer, 0., 0.);
    h->timer.data = h;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;

err_free_ua:
    free(h->user_agent);
err_free:
    free(h);
err_global:
    curl_global_cleanup();
    return NULL;
}

void vigil_http_destroy(struct vigil_http *h)
{
    if (!h)
        return;
    while (h->transfers) {
        struct transfer *t = h->transfers;
        h->transfers = t->next;
        curl_multi_remove_handle(h->multi, t->easy);
        curl_easy_cleanup(t->easy);
        curl_slist_free_all(t->headers);
        free(t->body);
        free(t);
    }
    curl_multi_cleanup(h->multi);
    while (h->socks) /* free_sock unlinks the head: h->socks moves on */
        free_sock(h, h->socks); // NOLINT(clang-analyzer-unix.Malloc)
    ev_timer_stop(h->loop, &h->timer);
    free(h->user_agent);
    free(h);
    curl_global_cleanup();
}

size_t vigil_http_in_flight(const struct vigil_http *h)
{
    return h->in_flight;
}

static bool setup_easy(struct vigil_http *h, struct transfer *t,
                       const struct vigil_http_request *req)
{
    uint64_t timeout = req->timeout_ms ? req->timeout_ms : 10000;
    uint64_t connect = timeout < 5000 ? timeout : 5000;
    bool ok =
        curl_easy_setopt(t->easy, CURLOPT_URL, req->url) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https") ==
            CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)timeout) ==
            CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)connect) ==
            CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_POST, 1L) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)req->body_len) ==
            CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_USERAGENT, h->user_agent) ==
            CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_cb) ==
            CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error) == CURLE_OK &&
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t) == CURLE_OK;
    return ok;
}

int vigil_http_post(struct vigil_http *h, const struct vigil_http_request *req,
                    vigil_http_done_fn done, void *ctx)
{
    struct transfer *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    t->done = done;
    t->ctx = ctx;
    t->body = malloc(req->body_len + 1);
    if (!t->body)
        goto err_free;
    memcpy(t->body, req->body, req->body_len);
    t->body[req->body_len] = '\0';
    struct curl_slist *l =
        curl_slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue" round trip. */
    l = l ? curl_slist_append(l, "Expect:") : NULL;
    for (size_t i = 0; l && req->headers && req->headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(l, req->headers[i]);
        if (!n) {
            curl_slist_free_all(l);
            l = NULL;
        }
        l = n;
    }
    if (!l)
        goto err_free_body;
    t->headers = l;
    t->easy = curl_easy_init();
    if (!t->easy)
        goto err_free_headers;
    if (!setup_easy(h, t, req))
        goto err_free_easy;
    if (curl_multi_add_handle(h->multi, t->easy) != CURLM_OK)
        goto err_free_easy;
    t->next = h->transfers;
    if (h->transfers)
        h->transfers->prev = t;
    h->transfers = t;
    h->in_flight++;
    return 0;

err_free_easy:
    curl_easy_cleanup(t->easy);
err_free_headers:
    curl_slist_free_all(t->headers);
err_free_body:
    free(t->body);
err_free:
    free(t);
    return -1;
}
