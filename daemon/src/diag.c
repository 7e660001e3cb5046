#include "diag.h"

#include <stdlib.h>
#include <string.h>

void vigil_diags_init(struct vigil_diags *d)
{
    memset(d, 0, sizeof(*d));
}

void vigil_diags_fini(struct vigil_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
    }
    free(d->v);
    memset(d, 0, sizeof(*d));
}

static int diags_reserve(struct vigil_diags *d, size_t extra)
{
    if (d->n + extra <= d->cap)
        return 0;
    size_t cap = d->cap ? d->cap * 2 : 8;
    while (cap < d->n + extra)
        cap *= 2;
    struct vigil_diag *v = realloc(d->v, cap * sizeof(*v));
    if (!v)
        return -1;
    d->v = v;
    d->cap = cap;
    return 0;
}

void vigil_diags_vadd(struct vigil_diags *d, const char *file, int line,
                      int col, const char *fmt, va_list ap)
{
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        return;
    char *f = file ? strdup(file) : NULL;
    if ((file && !f) || diags_reserve(d, 1) < 0) {
        free(f);
        free(msg);
        return;
    }
    d->v[d->n++] = (struct vigil_diag){f, line, col, msg};
}

void vigil_diags_add(struct vigil_diags *d, const char *file, int line, int col,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vigil_diags_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

void vigil_diags_move(struct vigil_diags *dst, struct vigil_diags *src)
{
    if (diags_reserve(dst, src->n) < 0)
        return;
    memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
    dst->n += src->n;
    free(src->v);
    memset(src, 0, sizeof(*src));
}

void vigil_diag_format(const struct vigil_diag *e, char *buf, size_t size)
{
    if (e->file && e->line > 0 && e->col > 0)
        snprintf(buf, size, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
    else if (e->file && e->line > 0)
        snprintf(buf, size, "%s:%d: %s", e->file, e->line, e->msg);
    else if (e->file)
        snprintf(buf, size, "%s: %s", e->file, e->msg);
    else
        snprintf(buf, size, "%s", e->msg);
}

void vigil_diags_print(const struct vigil_diags *d, FILE *out)
{
    char buf[4096];
    for (size_t i = 0; i < d->n; i++) {
        vigil_diag_format(&d->v[i], buf, sizeof(buf));
        fprintf(out, "%s\n", buf);
    }
}
