/*
 * decode: payload bytes -> struct vigil_event (event.h), zero-copy.
 *
 * Formats:
 *  - JSON objects (jsmn). Every value becomes a field named by its dotted
 *    path: {"host": {"name": "x"}} -> host.name. A nested object is also a
 *    field of its own (kind OBJECT, its raw text), added before its
 *    members; arrays are one field each (kind ARRAY, raw text), their
 *    elements are validated but not flattened. Strings keep their escapes
 *    (`escaped` set only when the value holds a backslash). `message` is
 *    the conventional text field. The JSON is checked strictly: one object,
 *    nothing but whitespace around it, RFC 8259 grammar, UTF-8 strings
 *    (raw control characters in strings are tolerated, as shippers emit
 *    them).
 *  - syslog lines, RFC 3164 (`<PRI>Mmm dd hh:mm:ss host tag[pid]: msg`,
 *    PRI and host optional, an RFC 3339 timestamp accepted in place of the
 *    BSD one) and RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD
 *    MSG`). Fields: @timestamp (the raw timestamp text), host.name,
 *    process.name, process.pid, syslog.facility and syslog.severity (when
 *    PRI is present), for 5424 also syslog.msgid, syslog.structured_data
 *    (raw) and syslog.sd.<SD-ID>.<PARAM> per parameter; NILVALUE "-"
 *    fields are left out. The whole line is `message`.
 *  - raw lines: the whole line is `message`.
 *  - auto: JSON when the first non-blank byte is '{', else syslog when the
 *    line has a syslog header, else raw. The explicit `syslog` format also
 *    takes a line without a header as raw (with a note, see vigil_decode).
 * Text lines lose their trailing "\n" / "\r\n".
 *
 * Every field value is valid UTF-8 once unescaped (vigil_event_value):
 * payloads that are not are rejected, so matchers may skip UTF-8 checks.
 *
 * A struct vigil_decoder belongs to one worker thread (it owns the token
 * buffer); create one per thread. Decoding allocates nothing in steady
 * state: the token buffer and the event's fields and scratch are reused.
 */
#ifndef VIGIL_DECODE_H
#define VIGIL_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/*
 * jsmn tokens one JSON payload may need (one per key, value and array
 * element); more is rejected as "too many fields". 16384 tokens are 320 KiB
 * per decoder at most; the buffer starts small and grows on demand.
 */
#define VIGIL_DECODE_MAX_TOKENS 16384

enum vigil_event_format {
    VIGIL_FORMAT_AUTO,
    VIGIL_FORMAT_JSON,
    VIGIL_FORMAT_SYSLOG,
    VIGIL_FORMAT_RAW,
};

/* Parses "auto", "json", "syslog", "raw"; -1 for anything else. */
int vigil_event_format_parse(const char *s, enum vigil_event_format *out);

/*
 * A decoder outside this module (a decoder plugin, plugin_loader.h): adds
 * the fields of data[0..len) to ev, which vigil_decode has reset to data
 * with time_ms set to the fallback time (the decoder may set another).
 * Returns 0, or -1 with *reason a static string. Called on the decoder's
 * thread; ctx is the one given in the options.
 */
typedef int (*vigil_decode_fn)(void *ctx, const char *data, size_t len,
                               struct vigil_event *ev, const char **reason);

struct vigil_decode_options {
    enum vigil_event_format format;
    const char *time_field; /* borrowed; NULL or "" = no time field */
    size_t max_bytes;       /* larger payloads are rejected; 0 = no limit */
};

struct vigil_decoder;

/*
 * NULL when out of memory. opts is copied; time_field stays borrowed and
 * must outlive the decoder. Any thread; the decoder is then used by one.
 */
struct vigil_decoder *
vigil_decoder_create(const struct vigil_decode_options *opts);
void vigil_decoder_destroy(struct vigil_decoder *d);

/*
 * Makes d decode with fn (ctx borrowed, passed to it) instead of its
 * format; fn NULL goes back to the format. Call before d is used.
 */
void vigil_decoder_set_custom(struct vigil_decoder *d, vigil_decode_fn fn,
                              void *ctx);

/*
 * Decodes data[0..len) into ev (which is reset first; views borrow data,
 * so data must outlive the use of ev). ev->time_ms is taken from the time
 * field (RFC 3339, epoch seconds or epoch milliseconds: vigil_parse_time)
 * or the syslog header, else fallback_ms (the Kafka timestamp, or now).
 * An RFC 3164 timestamp has no year and no zone: it is read as UTC in the
 * year of fallback_ms, or the year before when that would put it more than
 * a day after fallback_ms (or on a Feb 29 that year lacks), or the year
 * after when that is at most a day ahead (a sender's "Jan  1 00:00:10"
 * seen at 23:59:50 on Dec 31).
 *
 * With a custom decoder (vigil_decoder_set_custom) the event's fields are the
 * custom decoder's; the time is the time field's when the event has it and it
 * parses, else the custom decoder's, else fallback_ms.
 *
 * Returns 0 with *reason NULL, or 0 with *reason a static note when
 * something was tolerated: "unparsable time field" (the time field or
 * syslog timestamp is present but unusable, so time_ms is fallback_ms) or
 * "no syslog header" (format syslog, decoded as raw). Callers may count
 * notes; the event is fine.
 *
 * Returns -1 with *reason set to a static, human-readable string that the
 * caller counts and puts in the dead-letter header; ev then has no fields:
 *   "message too large"   len > max_bytes (or > INT_MAX for JSON)
 *   "invalid JSON"        grammar error, or an empty payload as JSON
 *   "truncated JSON"      the object is not closed
 *   "not a JSON object"   the top-level value is not an object
 *   "trailing data after JSON"
 *   "not UTF-8"           a JSON string, or a text line, is not UTF-8
 *   "too deeply nested"   more than VIGIL_EVENT_MAX_DEPTH levels
 *   "too many fields"     more than VIGIL_EVENT_MAX_FIELDS fields or
 *                         VIGIL_DECODE_MAX_TOKENS tokens
 *   "out of memory"
 * Thread: the decoder's.
 */
int vigil_decode(struct vigil_decoder *d, const char *data, size_t len,
                 int64_t fallback_ms, struct vigil_event *ev,
                 const char **reason);

/*
 * Parses a timestamp, without regard to the process time zone:
 *  - RFC 3339 / ISO 8601 "YYYY-MM-DD(T| )hh:mm:ss", an optional fraction
 *    ('.' or ',', truncated to ms) and an optional zone "Z" or "±hh:mm"
 *    or "±hhmm" (none = UTC);
 *  - a non-negative integer or decimal of epoch seconds (< 1e11) or else
 *    epoch milliseconds (up to 18 integer digits).
 * Returns 0 and *ms, or -1 (nothing else accepted, no surrounding blanks).
 */
int vigil_parse_time(const char *s, size_t len, int64_t *ms);

#endif
