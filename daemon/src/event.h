/*
 * event: one decoded event as views into the message it came from.
 *
 * A decoder (decode.h) fills a struct vigil_event from a payload without
 * copying it: every field's value is a {ptr, len} view into the payload,
 * still JSON-escaped when `escaped` is set. Only what cannot be a view is
 * written to the event's scratch arena: dotted names of nested JSON
 * fields, values unescaped on demand (vigil_event_value), fields added by
 * enrichers. Everything borrowed from the payload is valid while the
 * payload is; everything in scratch until the next vigil_event_reset().
 *
 * A struct vigil_event belongs to one worker thread and is reused for
 * every message it decodes.
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed string view; not NUL-terminated. */
struct vigil_sv {
    const char *ptr;
    size_t len;
};

#define VIGIL_SV(lit) ((struct vigil_sv){(lit), sizeof(lit) - 1})

static inline bool vigil_sv_eq(struct vigil_sv a, struct vigil_sv b)
{
    return a.len == b.len &&
           (a.len == 0 || __builtin_memcmp(a.ptr, b.ptr, a.len) == 0);
}

enum vigil_field_kind {
    VIGIL_FIELD_STRING,
    VIGIL_FIELD_NUMBER,
    VIGIL_FIELD_BOOL,
    VIGIL_FIELD_NULL,
    VIGIL_FIELD_OBJECT, /* value is the raw JSON text of the object */
    VIGIL_FIELD_ARRAY,  /* value is the raw JSON text of the array */
};

struct vigil_field {
    struct vigil_sv name;  /* dotted path, e.g. "host.name" */
    struct vigil_sv value; /* raw text; strings without their quotes */
    uint8_t kind;          /* enum vigil_field_kind */
    bool escaped;          /* value holds JSON escapes: see _value() */
};

/* Limits that keep a hostile event from exhausting memory. */
#define VIGIL_EVENT_MAX_FIELDS 512
#define VIGIL_EVENT_MAX_DEPTH 16

struct vigil_event {
    const char *data; /* the payload, borrowed */
    size_t len;
    int64_t time_ms;            /* event time, epoch ms (decoder or fallback) */
    struct vigil_field *fields; /* owned; n_fields used */
    size_t n_fields;
    size_t cap_fields;
    /*
     * Every value is valid UTF-8 once unescaped: set by the decoder after
     * it checked, cleared by vigil_event_reset() and vigil_event_add(), so
     * that the matcher need not check again.
     */
    bool utf8;
    /*
     * Owned arena of fixed blocks: bytes copied into it never move until
     * the next reset, so views into it stay valid.
     */
    struct vigil_scratch *scratch;
};

/* Storage is the caller's; _fini frees what the event owns. */
void vigil_event_init(struct vigil_event *ev);
void vigil_event_fini(struct vigil_event *ev);

/* Forgets the fields and scratch of the previous message (keeps memory). */
void vigil_event_reset(struct vigil_event *ev, const char *data, size_t len);

/*
 * Appends a field (views are borrowed: the caller keeps them valid as long
 * as the event is used). Returns -1 beyond VIGIL_EVENT_MAX_FIELDS or when
 * out of memory. A later field with the same name shadows an earlier one
 * for vigil_event_find().
 */
static inline int vigil_event_add(struct vigil_event *ev, struct vigil_sv name,
                                  struct vigil_sv value,
                                  enum vigil_field_kind kind, bool escaped);

/* vigil_event_add() when the fields array is full: grows it, then adds. */
int vigil_event_add_grow(struct vigil_event *ev, struct vigil_sv name,
                         struct vigil_sv value, enum vigil_field_kind kind,
                         bool escaped);

/* Inline: decoders add every field of every event through it. */
static inline int vigil_event_add(struct vigil_event *ev, struct vigil_sv name,
                                  struct vigil_sv value,
                                  enum vigil_field_kind kind, bool escaped)
{
    if (ev->n_fields == ev->cap_fields)
        return vigil_event_add_grow(ev, name, value, kind, escaped);
    ev->utf8 = false;
    ev->fields[ev->n_fields++] =
        (struct vigil_field){name, value, (uint8_t)kind, escaped};
    return 0;
}

/*
 * Copies len bytes into the scratch arena and NUL-terminates them; with
 * bytes NULL it only reserves len + 1 bytes. NULL when out of memory.
 */
char *vigil_event_scratch(struct vigil_event *ev, const char *bytes,
                          size_t len);

/* The field with this dotted name (last one added wins), or NULL. */
const struct vigil_field *vigil_event_find(const struct vigil_event *ev,
                                           struct vigil_sv name);

/*
 * The field's value as plain text: the view itself when not escaped,
 * otherwise the JSON string unescaped into scratch (valid until the next
 * reset). Returns -1 when the escapes are invalid.
 */
int vigil_event_value(struct vigil_event *ev, const struct vigil_field *f,
                      struct vigil_sv *out);

#endif
