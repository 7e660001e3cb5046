#include "http_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEAD 65536
#define MAX_BODY (4 * 1024 * 1024)

struct answer {
    int status;
    unsigned retry_after_s;
    char *body;
    unsigned hang_ms;
};

struct request {
    char *line;
    char *head; /* the header lines */
    char *body;
    int status;
};

struct vigil_test_http_receiver {
    int fd;
    char url[64];
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    struct answer *script;
    size_t n_script, next_script;
    struct request *reqs;
    size_t n_reqs;
};

/* Reads until the end of the headers and the whole body; -1 on error. */
static int read_request(int c, char **head, char **body, size_t *body_len)
{
    char *buf = malloc(MAX_HEAD + 1);
    size_t len = 0;
    char *end = NULL;
    if (!buf)
        return -1;
    while (!end && len < MAX_HEAD) {
        ssize_t n = recv(c, buf + len, MAX_HEAD - len, 0);
        if (n <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end) {
        free(buf);
        return -1;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    size_t want = 0;
    for (char *p = buf; p < end;) {
        char *eol = strstr(p, "\r\n");
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            want = strtoul(p + 15, NULL, 10);
        p = eol + 2;
    }
    if (want > MAX_BODY) {
        free(buf);
        return -1;
    }
    char *b = malloc(want + 1);
    if (!b) {
        free(buf);
        return -1;
    }
    size_t have = len - head_len < want ? len - head_len : want;
    memcpy(b, buf + head_len, have);
    while (have < want) {
        ssize_t n = recv(c, b + have, want - have, 0);
        if (n <= 0) {
            free(buf);
            free(b);
            return -1;
        }
        have += (size_t)n;
    }
    b[want] = '\0';
    buf[head_len] = '\0';
    *head = buf;
    *body = b;
    *body_len = want;
    return 0;
}

static void serve(struct vigil_test_http_receiver *r, int c)
{
    char *head, *body;
    size_t body_len;
    if (read_request(c, &head, &body, &body_len) < 0)
        return;
    struct answer a = {.status = 202};
    pthread_mutex_lock(&r->mu);
    if (r->next_script < r->n_script)
        a = r->script[r->next_script++];
    struct request *v = realloc(r->reqs, (r->n_reqs + 1) * sizeof(*v));
    if (v) {
        r->reqs = v;
        char *eol = strstr(head, "\r\n");
        char *line = strndup(head, eol ? (size_t)(eol - head) : 0);
        char *sp = line ? strchr(line, ' ') : NULL;
        char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
        if (sp2)
            *sp2 = '\0'; /* drop " HTTP/1.1" */
        v[r->n_reqs++] =
            (struct request){line, head, body, a.hang_ms ? 0 : a.status};
    } else {
        free(head);
        free(body);
    }
    pthread_mutex_unlock(&r->mu);
    if (a.hang_ms) {
        for (unsigned t = 0; t < a.hang_ms && !atomic_load(&r->stop); t += 10)
            usleep(10000);
        return;
    }
    const char *text = a.body ? a.body : "";
    char hdr[256];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d Scripted\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n",
                     a.status, strlen(text));
    if (a.retry_after_s)
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Retry-After: %u\r\n",
                      a.retry_after_s);
    n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "\r\n");
    if (send(c, hdr, (size_t)n, MSG_NOSIGNAL) > 0 && text[0])
        send(c, text, strlen(text), MSG_NOSIGNAL);
}

static void *run(void *arg)
{
    struct vigil_test_http_receiver *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        serve(r, c);
        shutdown(c, SHUT_RDWR);
        close(c);
    }
    return NULL;
}

struct vigil_test_http_receiver *vigil_test_http_receiver_start(void)
{
    struct vigil_test_http_receiver *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(r->fd, 64) < 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &al) < 0) {
        perror("http_receiver");
        if (r->fd >= 0)
            close(r->fd);
        free(r);
        return NULL;
    }
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    pthread_mutex_init(&r->mu, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        close(r->fd);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    return r;
}

void vigil_test_http_receiver_stop(struct vigil_test_http_receiver *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->fd);
    for (size_t i = 0; i < r->n_reqs; i++) {
        free(r->reqs[i].line);
        free(r->reqs[i].head);
        free(r->reqs[i].body);
    }
    free(r->reqs);
    for (size_t i = 0; i < r->n_script; i++)
        free(r->script[i].body);
    free(r->script);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

const char *
vigil_test_http_receiver_url(const struct vigil_test_http_receiver *r)
{
    return r->url;
}

void vigil_test_http_receiver_script(struct vigil_test_http_receiver *r,
                                     int status, unsigned retry_after_s,
                                     const char *body, unsigned hang_ms)
{
    pthread_mutex_lock(&r->mu);
    struct answer *v = realloc(r->script, (r->n_script + 1) * sizeof(*v));
    if (v) {
        r->script = v;
        v[r->n_script++] = (struct answer){status, retry_after_s,
                                           body ? strdup(body) : NULL, hang_ms};
    }
    pthread_mutex_unlock(&r->mu);
}

size_t vigil_test_http_receiver_count(struct vigil_test_http_receiver *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_reqs;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static char *copy_field(struct vigil_test_http_receiver *r, size_t i, int which)
{
    char *out = NULL;
    pthread_mutex_lock(&r->mu);
    if (i < r->n_reqs) {
        const char *s = which == 0 ? r->reqs[i].line : r->reqs[i].body;
        out = s ? strdup(s) : NULL;
    }
    pthread_mutex_unlock(&r->mu);
    return out;
}

char *vigil_test_http_receiver_request_line(struct vigil_test_http_receiver *r,
                                            size_t i)
{
    return copy_field(r, i, 0);
}

char *vigil_test_http_receiver_body(struct vigil_test_http_receiver *r,
                                    size_t i)
{
    return copy_field(r, i, 1);
}

char *vigil_test_http_receiver_header(struct vigil_test_http_receiver *r,
                                      size_t i, const char *name)
{
    char *out = NULL;
    size_t nl = strlen(name);
    pthread_mutex_lock(&r->mu);
    for (const char *p = i < r->n_reqs ? r->reqs[i].head : NULL; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
            p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            out = strndup(v, (size_t)(eol - v));
            break;
        }
        p = eol + 2;
    }
    pthread_mutex_unlock(&r->mu);
    return out;
}

int vigil_test_http_receiver_status(struct vigil_test_http_receiver *r,
                                    size_t i)
{
    pthread_mutex_lock(&r->mu);
    int s = i < r->n_reqs ? r->reqs[i].status : -1;
    pthread_mutex_unlock(&r->mu);
    return s;
}
