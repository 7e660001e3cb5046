#include "event.h"

#include <stdlib.h>
#include <string.h>

/* Blocks never move, so views into them stay valid until the reset. */
struct vigil_scratch_block {
    struct vigil_scratch_block *next;
    size_t used;
    size_t size;
    char data[];
};

struct vigil_scratch {
    struct vigil_scratch_block *head;  /* block being filled */
    struct vigil_scratch_block *spare; /* kept from earlier events */
};

#define SCRATCH_BLOCK 4096

void vigil_event_init(struct vigil_event *ev)
{
    memset(ev, 0, sizeof(*ev));
}

static void blocks_free(struct vigil_scratch_block *b)
{
    while (b) {
        struct vigil_scratch_block *next = b->next;
        free(b);
        b = next;
    }
}

void vigil_event_fini(struct vigil_event *ev)
{
    if (ev->scratch) {
        blocks_free(ev->scratch->head);
        blocks_free(ev->scratch->spare);
        free(ev->scratch);
    }
    free(ev->fields);
    memset(ev, 0, sizeof(*ev));
}

void vigil_event_reset(struct vigil_event *ev, const char *data, size_t len)
{
    ev->utf8 = false;
    ev->data = data;
    ev->len = len;
    ev->time_ms = 0;
    ev->n_fields = 0;
    struct vigil_scratch *s = ev->scratch;
    if (!s)
        return;
    /* Keep one standard block for reuse; oversized ones go back. */
    while (s->head) {
        struct vigil_scratch_block *b = s->head;
        s->head = b->next;
        if (b->size == SCRATCH_BLOCK && !s->spare) {
            b->next = NULL;
            b->used = 0;
            s->spare = b;
        } else {
            free(b);
        }
    }
}

int vigil_event_add_grow(struct vigil_event *ev, struct vigil_sv name,
                         struct vigil_sv value, enum vigil_field_kind kind,
                         bool escaped)
{
    ev->utf8 = false;
    if (ev->n_fields == ev->cap_fields) {
        if (ev->cap_fields >= VIGIL_EVENT_MAX_FIELDS)
            return -1;
        size_t cap = ev->cap_fields ? ev->cap_fields * 2 : 32;
        if (cap > VIGIL_EVENT_MAX_FIELDS)
            cap = VIGIL_EVENT_MAX_FIELDS;
        struct vigil_field *f = realloc(ev->fields, cap * sizeof(*f));
        if (!f)
            return -1;
        ev->fields = f;
        ev->cap_fields = cap;
    }
    ev->fields[ev->n_fields++] =
        (struct vigil_field){name, value, (uint8_t)kind, escaped};
    return 0;
}

char *vigil_event_scratch(struct vigil_event *ev, const char *bytes, size_t len)
{
    if (!ev->scratch) {
        ev->scratch = calloc(1, sizeof(*ev->scratch));
        if (!ev->scratch)
            return NULL;
    }
    struct vigil_scratch *s = ev->scratch;
    struct vigil_scratch_block *b = s->head;
    if (!b || b->size - b->used < len + 1) {
        if (len + 1 <= SCRATCH_BLOCK && s->spare) {
            b = s->spare;
            s->spare = NULL;
        } else {
            size_t size = len + 1 > SCRATCH_BLOCK ? len + 1 : SCRATCH_BLOCK;
            b = malloc(sizeof(*b) + size);
            if (!b)
                return NULL;
            b->size = size;
        }
        b->used = 0;
        b->next = s->head;
        s->head = b;
    }
    char *out = b->data + b->used;
    if (bytes && len)
        memcpy(out, bytes, len);
    out[len] = '\0';
    b->used += len + 1;
    return out;
}

const struct vigil_field *vigil_event_find(const struct vigil_event *ev,
                                           struct vigil_sv name)
{
    for (size_t i = ev->n_fields; i-- > 0;) {
        if (vigil_sv_eq(ev->fields[i].name, name))
            return &ev->fields[i];
    }
    return NULL;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* JSON-unescapes in into out (at most as long as in); -1 when invalid. */
static int json_unescape(const char *in, size_t len, char *out, size_t *olen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '\\') {
            out[o++] = in[i];
            continue;
        }
        if (++i >= len)
            return -1;
        switch (in[i]) {
        case '"':
        case '\\':
        case '/':
            out[o++] = in[i];
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (len - i - 1 < 4 || hex4(in + i + 1, &cp) < 0)
                return -1;
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && len - i - 1 >= 6 &&
                in[i + 1] == '\\' && in[i + 2] == 'u') {
                unsigned lo;
                if (hex4(in + i + 3, &lo) == 0 && lo >= 0xDC00 &&
                    lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* lone surrogate */
            /* \uXXXX is 6 bytes in, at most 4 out: never overruns. */
            o += utf8_put(out + o, cp);
            break;
        }
        default:
            return -1;
        }
    }
    *olen = o;
    return 0;
}

int vigil_event_value(struct vigil_event *ev, const struct vigil_field *f,
                      struct vigil_sv *out)
{
    if (!f->escaped) {
        *out = f->value;
        return 0;
    }
    char *buf = vigil_event_scratch(ev, NULL, f->value.len);
    if (!buf)
        return -1;
    size_t n;
    if (json_unescape(f->value.ptr, f->value.len, buf, &n) < 0)
        return -1;
    buf[n] = '\0';
    *out = (struct vigil_sv){buf, n};
    return 0;
}
