/*
 * log: one line per message on stderr, as text or as JSON lines. The
 * process-wide settings are written once by vigil_log_setup() before any
 * thread starts and only read afterwards, so every thread may log.
 *
 * Repeated messages from hot paths (bad events, Redis outages) go through
 * a struct vigil_ratelimit owned by the caller: at most `burst` lines per
 * `interval_ms`, then one summary of how many were suppressed.
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum vigil_log_level {
    VIGIL_LOG_DEBUG,
    VIGIL_LOG_INFO,
    VIGIL_LOG_WARN,
    VIGIL_LOG_ERROR,
};

enum vigil_log_format {
    VIGIL_LOG_TEXT,
    VIGIL_LOG_JSON,
};

/* Sets the minimum level and the format; call before starting threads. */
void vigil_log_setup(enum vigil_log_level min, enum vigil_log_format fmt);

/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int vigil_log_level_parse(const char *s, enum vigil_log_level *out);

/* Parses "text" or "json"; -1 when unknown. */
int vigil_log_format_parse(const char *s, enum vigil_log_format *out);

bool vigil_log_enabled(enum vigil_log_level level);

void vigil_log(enum vigil_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct vigil_ratelimit {
    uint64_t interval_ms;
    unsigned burst;
    _Atomic uint64_t window_start_ms;
    _Atomic unsigned in_window;
    _Atomic unsigned suppressed;
};

#define VIGIL_RATELIMIT_INIT(interval_ms_, burst_)                             \
    {                                                                          \
        .interval_ms = (interval_ms_), .burst = (burst_)                       \
    }

/* Logs like vigil_log() unless rl's budget for this interval is spent. */
void vigil_log_rl(struct vigil_ratelimit *rl, enum vigil_log_level level,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define vigil_debug(...) vigil_log(VIGIL_LOG_DEBUG, __VA_ARGS__)
#define vigil_info(...) vigil_log(VIGIL_LOG_INFO, __VA_ARGS__)
#define vigil_warn(...) vigil_log(VIGIL_LOG_WARN, __VA_ARGS__)
#define vigil_error(...) vigil_log(VIGIL_LOG_ERROR, __VA_ARGS__)

#endif
