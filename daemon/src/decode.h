/*
 * decode: payload bytes -> struct vigil_event (event.h), zero-copy.
 *
 * Formats: JSON objects (jsmn; nested objects flattened to dotted names,
 * "host": {"name": "x"} -> host.name), syslog lines (RFC 3164 and RFC
 * 5424: the header fills @timestamp, host.name, process.name, process.pid;
 * the whole line stays in `message`), raw lines (the whole line is
 * `message`), and auto (JSON when the first non-blank byte is '{', else
 * syslog when the line has a syslog header, else raw).
 *
 * A struct vigil_decoder belongs to one worker thread (it owns the token
 * buffer); create one per thread.
 */
#ifndef VIGIL_DECODE_H
#define VIGIL_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum vigil_event_format {
    VIGIL_FORMAT_AUTO,
    VIGIL_FORMAT_JSON,
    VIGIL_FORMAT_SYSLOG,
    VIGIL_FORMAT_RAW,
};

/* Parses "auto", "json", "syslog", "raw"; -1 for anything else. */
int vigil_event_format_parse(const char *s, enum vigil_event_format *out);

struct vigil_decode_options {
    enum vigil_event_format format;
    const char *time_field; /* borrowed; NULL or "" = no time field */
    size_t max_bytes;       /* larger payloads are rejected; 0 = no limit */
};

struct vigil_decoder;

/* NULL when out of memory. opts is copied (time_field stays borrowed). */
struct vigil_decoder *
vigil_decoder_create(const struct vigil_decode_options *opts);
void vigil_decoder_destroy(struct vigil_decoder *d);

/*
 * Decodes data[0..len) into ev (which is reset first; views borrow data).
 * ev->time_ms is taken from the time field (RFC 3339, epoch seconds or
 * epoch milliseconds) or the syslog header, else fallback_ms (the Kafka
 * timestamp, or now).
 *
 * Returns 0, or -1 with *reason set to a static, human-readable string
 * ("invalid JSON", "too many fields", "message too large", "not UTF-8"...)
 * that the caller counts and puts in the dead-letter header.
 */
int vigil_decode(struct vigil_decoder *d, const char *data, size_t len,
                 int64_t fallback_ms, struct vigil_event *ev,
                 const char **reason);

/*
 * Parses a timestamp: RFC 3339 / ISO 8601 with optional fraction and
 * zone, or an integer/decimal of epoch seconds (< 1e11) or milliseconds.
 * Returns 0 and *ms, or -1.
 */
int vigil_parse_time(const char *s, size_t len, int64_t *ms);

#endif
