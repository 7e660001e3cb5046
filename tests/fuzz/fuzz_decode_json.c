/*
 * libFuzzer target for the JSON decoder (decode.h).
 *
 * Beyond "no crash, no sanitizer report" it checks the decoder's contract:
 * a rejected event has no fields and a reason; an accepted one has views
 * inside the payload, values that unescape to valid UTF-8, and the same
 * fields in the same order as cJSON finds in the same bytes (cJSON is the
 * differential oracle); decoding twice into the reused event gives the
 * same result. A violation aborts, which libFuzzer reports as a crash.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FALLBACK INT64_C(1717243200000)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* An independent UTF-8 check (Unicode table 3-7), as the oracle. */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned min;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static bool inside(struct vigil_sv v, const char *p, size_t n)
{
    return v.len == 0 || (v.ptr >= p && v.ptr + v.len <= p + n);
}

static bool has_nul(struct vigil_sv v)
{
    return v.len && memchr(v.ptr, '\0', v.len) != NULL;
}

struct oracle {
    struct vigil_event *ev;
    size_t next; /* index of the next field to compare */
    bool skip;   /* a difference cJSON cannot express; stop comparing */
    char name[4096];
};

/* Members of obj, named under o->name[0..plen) unless top. */
static void compare_members(struct oracle *o, const cJSON *obj, size_t plen,
                            bool top);

/* Compares cJSON item (named o->name[0..nlen)) with the next field. */
static void compare_item(struct oracle *o, const cJSON *item, size_t nlen)
{
    if (o->skip)
        return;
    CHECK(o->next < o->ev->n_fields);
    struct vigil_field *f = &o->ev->fields[o->next++];
    struct vigil_sv value;
    CHECK(vigil_event_value(o->ev, f, &value) == 0);
    if (has_nul(f->name) || has_nul(value)) {
        o->skip = true; /* cJSON's C strings stop at NUL */
        return;
    }
    CHECK(f->name.len == nlen && memcmp(f->name.ptr, o->name, nlen) == 0);
    if (cJSON_IsString(item)) {
        CHECK(f->kind == VIGIL_FIELD_STRING);
        CHECK(strlen(item->valuestring) == value.len &&
              memcmp(item->valuestring, value.ptr, value.len) == 0);
    } else if (cJSON_IsNumber(item)) {
        CHECK(f->kind == VIGIL_FIELD_NUMBER);
        char buf[512];
        if (value.len < sizeof(buf)) {
            memcpy(buf, value.ptr, value.len);
            buf[value.len] = '\0';
            CHECK(strtod(buf, NULL) == item->valuedouble);
        }
    } else if (cJSON_IsBool(item)) {
        CHECK(f->kind == VIGIL_FIELD_BOOL);
        CHECK((value.len == 4) == cJSON_IsTrue(item));
    } else if (cJSON_IsNull(item)) {
        CHECK(f->kind == VIGIL_FIELD_NULL);
    } else if (cJSON_IsArray(item)) {
        CHECK(f->kind == VIGIL_FIELD_ARRAY);
        CHECK(value.len >= 2 && value.ptr[0] == '[' &&
              value.ptr[value.len - 1] == ']');
    } else if (cJSON_IsObject(item)) {
        CHECK(f->kind == VIGIL_FIELD_OBJECT);
        CHECK(value.len >= 2 && value.ptr[0] == '{' &&
              value.ptr[value.len - 1] == '}');
        compare_members(o, item, nlen, false);
    } else {
        CHECK(!"unknown cJSON type");
    }
}

static void compare_members(struct oracle *o, const cJSON *obj, size_t plen,
                            bool top)
{
    for (const cJSON *c = obj->child; c && !o->skip; c = c->next) {
        size_t klen = strlen(c->string);
        size_t nlen = top ? klen : plen + 1 + klen;
        if (nlen >= sizeof(o->name)) {
            o->skip = true;
            return;
        }
        if (!top)
            o->name[plen] = '.';
        memcpy(o->name + (top ? 0 : plen + 1), c->string, klen);
        compare_item(o, c, nlen);
    }
}

/*
 * cJSON refuses lone UTF-16 surrogates in \u escapes, which the decoder
 * accepts (and unescapes to U+FFFD): no comparison for those payloads.
 */
static bool has_surrogate_escape(const char *p, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++) {
        if (p[i] == '\\' && p[i + 1] == 'u' && (p[i + 2] | 0x20) == 'd')
            return true;
    }
    return false;
}

static void check_against_cjson(struct vigil_event *ev, const char *p, size_t n)
{
    if (has_surrogate_escape(p, n))
        return;
    /* cJSON wants the NUL inside the length to reject trailing bytes. */
    char *z = malloc(n + 1);
    CHECK(z);
    memcpy(z, p, n);
    z[n] = '\0';
    cJSON *root = cJSON_ParseWithLengthOpts(z, n + 1, NULL, true);
    CHECK(root != NULL);
    CHECK(cJSON_IsObject(root));
    struct oracle o = {.ev = ev};
    compare_members(&o, root, 0, true);
    if (!o.skip)
        CHECK(o.next == ev->n_fields);
    cJSON_Delete(root);
    free(z);
}

static void check_event(struct vigil_event *ev, int rc, const char *reason,
                        const char *p, size_t n)
{
    if (rc != 0) {
        CHECK(rc == -1 && reason && ev->n_fields == 0);
        CHECK(ev->time_ms == FALLBACK);
        return;
    }
    CHECK(!reason || strcmp(reason, "unparsable time field") == 0);
    CHECK(ev->n_fields <= VIGIL_EVENT_MAX_FIELDS);
    for (size_t i = 0; i < ev->n_fields; i++) {
        struct vigil_field *f = &ev->fields[i];
        struct vigil_sv v;
        CHECK(inside(f->value, p, n));
        CHECK(f->kind != VIGIL_FIELD_STRING ||
              f->escaped == (memchr(f->value.ptr, '\\', f->value.len) != NULL));
        CHECK(vigil_event_value(ev, f, &v) == 0);
        CHECK(utf8_valid((const unsigned char *)v.ptr, v.len));
        CHECK(utf8_valid((const unsigned char *)f->name.ptr, f->name.len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct vigil_decode_options opts = {VIGIL_FORMAT_JSON, "@timestamp", 0};
    struct vigil_decoder *d = vigil_decoder_create(&opts);
    CHECK(d);
    struct vigil_event ev;
    vigil_event_init(&ev);

    const char *reason;
    int rc = vigil_decode(d, p, size, FALLBACK, &ev, &reason);
    check_event(&ev, rc, reason, p, size);
    if (rc == 0)
        check_against_cjson(&ev, p, size);

    /* Same verdict, time and field count when the event is reused. */
    size_t n_fields = ev.n_fields;
    int64_t time_ms = ev.time_ms;
    const char *reason2;
    CHECK(vigil_decode(d, p, size, FALLBACK, &ev, &reason2) == rc);
    CHECK(reason2 == reason && ev.n_fields == n_fields &&
          ev.time_ms == time_ms);

    /* The same bytes as a time value must not crash either. */
    int64_t ms;
    (void)vigil_parse_time(p, size, &ms);

    vigil_event_fini(&ev);
    vigil_decoder_destroy(d);
    return 0;
}
