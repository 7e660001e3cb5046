#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The only process-wide state of vigil: written by vigil_log_setup() before
 * threads exist, read-only afterwards.
 */
static struct {
    enum vigil_log_level min;
    enum vigil_log_format fmt;
} log_settings = {VIGIL_LOG_INFO, VIGIL_LOG_TEXT};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vigil_log_setup(enum vigil_log_level min, enum vigil_log_format fmt)
{
    log_settings.min = min;
    log_settings.fmt = fmt;
}

int vigil_log_level_parse(const char *s, enum vigil_log_level *out)
{
    for (int i = 0; i <= VIGIL_LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum vigil_log_level)i;
            return 0;
        }
    }
    return -1;
}

int vigil_log_format_parse(const char *s, enum vigil_log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = VIGIL_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = VIGIL_LOG_JSON;
    else
        return -1;
    return 0;
}

bool vigil_log_enabled(enum vigil_log_level level)
{
    return level >= log_settings.min;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Appends s to buf as the body of a JSON string. */
static size_t json_escape(char *buf, size_t size, size_t at, const char *s)
{
    for (; *s && at + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[at++] = '\\';
            buf[at++] = (char)c;
        } else if (c < 0x20) {
            at += (size_t)snprintf(buf + at, size - at, "\\u%04x", c);
        } else {
            buf[at++] = (char)c;
        }
    }
    return at;
}

static void log_write(enum vigil_log_level level, const char *fmt, va_list ap)
{
    char msg[2048];
    char line[4608];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t w = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, sizeof(when) - w, ".%03ldZ", ts.tv_nsec / 1000000);

    size_t n;
    if (log_settings.fmt == VIGIL_LOG_JSON) {
        n = (size_t)snprintf(line, sizeof(line),
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", when,
                             level_names[level]);
        n = json_escape(line, sizeof(line), n, msg);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
    } else {
        n = (size_t)snprintf(line, sizeof(line), "%s %-5s %s\n", when,
                             level_names[level], msg);
    }
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    /* One write per line keeps lines from threads whole. */
    ssize_t rc = write(STDERR_FILENO, line, n);
    (void)rc;
}

void vigil_log(enum vigil_log_level level, const char *fmt, ...)
{
    if (!vigil_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_write(level, fmt, ap);
    va_end(ap);
}

void vigil_log_rl(struct vigil_ratelimit *rl, enum vigil_log_level level,
                  const char *fmt, ...)
{
    if (!vigil_log_enabled(level))
        return;
    uint64_t now = now_ms();
    uint64_t start = atomic_load(&rl->window_start_ms);
    if (now - start >= rl->interval_ms &&
        atomic_compare_exchange_strong(&rl->window_start_ms, &start, now)) {
        unsigned dropped = atomic_exchange(&rl->suppressed, 0);
        atomic_store(&rl->in_window, 0);
        if (dropped)
            vigil_log(level, "(%u similar messages suppressed)", dropped);
    }
    if (atomic_fetch_add(&rl->in_window, 1) >= rl->burst) {
        atomic_fetch_add(&rl->suppressed, 1);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    log_write(level, fmt, ap);
    va_end(ap);
}
