#include "http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sink {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t add = size * n;
    char *d = realloc(s->data, s->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + s->len, p, add);
    s->len += add;
    d[s->len] = '\0';
    s->data = d;
    return add;
}

static struct curl_slist *header_list(const char *const *headers)
{
    struct curl_slist *l = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        l = curl_slist_append(l, headers[i]);
    return l;
}

int vigil_test_http_request(const char *method, const char *url,
                            const char *const *headers, const char *body,
                            struct vigil_test_http *out)
{
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    struct sink b = {0}, h = {0};
    struct curl_slist *l = header_list(headers);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(l);
    out->body = b.data ? b.data : strdup("");
    out->len = b.len;
    out->headers = h.data ? h.data : strdup("");
    return rc == CURLE_OK ? 0 : -1;
}

void vigil_test_http_free(struct vigil_test_http *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

const char *vigil_test_http_header(const struct vigil_test_http *r,
                                   const char *name, char *buf, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            if (vl >= n)
                vl = n - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        p = eol ? eol + 2 : p + len;
    }
    return NULL;
}

struct vigil_test_sse {
    CURLM *m;
    CURL *e;
    struct curl_slist *headers;
    struct sink text;
    bool ended;
};

struct vigil_test_sse *vigil_test_sse_open(const char *url,
                                           const char *const *headers)
{
    struct vigil_test_sse *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->m = curl_multi_init();
    s->e = curl_easy_init();
    if (!s->m || !s->e) {
        vigil_test_sse_close(s);
        return NULL;
    }
    s->headers = header_list(headers);
    curl_easy_setopt(s->e, CURLOPT_URL, url);
    curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->e, CURLOPT_WRITEDATA, &s->text);
    curl_easy_setopt(s->e, CURLOPT_NOSIGNAL, 1L);
    curl_multi_add_handle(s->m, s->e);
    return s;
}

bool vigil_test_sse_wait(struct vigil_test_sse *s, const char *needle,
                         int timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    while (mono_ms() <= deadline) {
        int running = 0;
        curl_multi_perform(s->m, &running);
        if (s->text.data && strstr(s->text.data, needle))
            return true;
        if (!running) {
            s->ended = true;
            return false;
        }
        curl_multi_poll(s->m, NULL, 0, 20, NULL);
    }
    return s->text.data && strstr(s->text.data, needle);
}

const char *vigil_test_sse_text(const struct vigil_test_sse *s)
{
    return s->text.data ? s->text.data : "";
}

void vigil_test_sse_consume(struct vigil_test_sse *s)
{
    free(s->text.data);
    s->text.data = NULL;
    s->text.len = 0;
}

long vigil_test_sse_status(const struct vigil_test_sse *s)
{
    long status = 0;
    curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

bool vigil_test_sse_ended(const struct vigil_test_sse *s)
{
    return s->ended;
}

void vigil_test_sse_close(struct vigil_test_sse *s)
{
    if (!s)
        return;
    if (s->m && s->e)
        curl_multi_remove_handle(s->m, s->e);
    if (s->e)
        curl_easy_cleanup(s->e);
    if (s->m)
        curl_multi_cleanup(s->m);
    curl_slist_free_all(s->headers);
    free(s->text.data);
    free(s);
}

/* ---- WebSocket (RFC 6455), just enough for the DevTools protocol ---- */

struct vigil_test_ws {
    int fd;
    unsigned char *in; /* bytes received and not yet parsed */
    size_t in_len, in_cap;
};

static int send_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads more bytes into w->in, waiting until deadline (monotonic ms). */
static int ws_fill(struct vigil_test_ws *w, long long deadline)
{
    long long left = deadline - mono_ms();
    if (left <= 0)
        return -1;
    struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)left);
    if (pr <= 0)
        return -1;
    if (w->in_cap - w->in_len < 65536) {
        size_t cap = w->in_cap ? w->in_cap * 2 : 131072;
        unsigned char *p = realloc(w->in, cap);
        if (!p)
            return -1;
        w->in = p;
        w->in_cap = cap;
    }
    ssize_t k = recv(w->fd, w->in + w->in_len, w->in_cap - w->in_len, 0);
    if (k <= 0)
        return -1;
    w->in_len += (size_t)k;
    return 0;
}

static void ws_drop(struct vigil_test_ws *w, size_t n)
{
    memmove(w->in, w->in + n, w->in_len - n);
    w->in_len -= n;
}

struct vigil_test_ws *vigil_test_ws_connect(const char *url)
{
    char host[64];
    int port = 0;
    int off = 0;
    if (sscanf(url, "ws://%63[^:]:%d%n", host, &port, &off) != 2 ||
        url[off] != '/') {
        fprintf(stderr, "ws: bad url %s\n", url);
        return NULL;
    }
    const char *path = url + off;
    struct vigil_test_ws *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    if (w->fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "ws: cannot connect to %s: %s\n", url, strerror(errno));
        goto err_close;
    }
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
    if (n < 0 || (size_t)n >= sizeof(req) || send_all(w->fd, req, (size_t)n))
        goto err_close;
    long long deadline = mono_ms() + 10000;
    unsigned char *end = NULL;
    while (!end) {
        if (ws_fill(w, deadline) < 0) {
            fprintf(stderr, "ws: no handshake answer from %s\n", url);
            goto err_close;
        }
        end = memmem(w->in, w->in_len, "\r\n\r\n", 4);
    }
    if (w->in_len < 12 || memcmp(w->in + 8, " 101", 4) != 0) {
        fprintf(stderr, "ws: handshake refused: %.*s\n", (int)(end - w->in),
                (const char *)w->in);
        goto err_close;
    }
    ws_drop(w, (size_t)(end - w->in) + 4);
    return w;

err_close:
    vigil_test_ws_close(w);
    return NULL;
}

int vigil_test_ws_send(struct vigil_test_ws *w, const char *text, size_t len)
{
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = 0x81; /* FIN, text */
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(hdr + h, mask, 4);
    h += 4;
    unsigned char *body = malloc(len + 1);
    if (!body)
        return -1;
    for (size_t i = 0; i < len; i++)
        body[i] = (unsigned char)text[i] ^ mask[i % 4];
    int rc = send_all(w->fd, hdr, h) == 0 && send_all(w->fd, body, len) == 0
                 ? 0
                 : -1;
    free(body);
    return rc;
}

char *vigil_test_ws_recv(struct vigil_test_ws *w, int timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    struct sink msg = {0};
    for (;;) {
        /* One frame: header, extended length, (no mask from a server). */
        while (w->in_len < 2)
            if (ws_fill(w, deadline) < 0)
                goto err_free;
        unsigned op = w->in[0] & 0x0f;
        bool fin = w->in[0] & 0x80;
        uint64_t len = w->in[1] & 0x7f;
        size_t h = 2;
        size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
        while (w->in_len < h + ext)
            if (ws_fill(w, deadline) < 0)
                goto err_free;
        if (ext) {
            len = 0;
            for (size_t i = 0; i < ext; i++)
                len = len << 8 | w->in[h + i];
            h += ext;
        }
        if (len > (64u << 20))
            goto err_free;
        while (w->in_len < h + len)
            if (ws_fill(w, deadline) < 0)
                goto err_free;
        if (op == 0x8)
            goto err_free; /* close */
        if (op == 0x1 || op == 0x0) {
            if (on_data((char *)w->in + h, 1, (size_t)len, &msg) != len)
                goto err_free;
        }
        ws_drop(w, h + (size_t)len);
        if (fin && (op == 0x1 || op == 0x0))
            return msg.data ? msg.data : strdup("");
    }

err_free:
    free(msg.data);
    return NULL;
}

void vigil_test_ws_close(struct vigil_test_ws *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->in);
    free(w);
}
