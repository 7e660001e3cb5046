#include "http_client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
