/*
 * report_writer: writing reports to files, and the periodic reports of
 * the daemon (vigil.yaml `reports:` with a `period`, docs/REPORTS.md).
 *
 * When a period (weekly: Monday 00:00 UTC to Monday; monthly: the 1st to
 * the 1st) has ended, the daemon writes its report in every configured
 * format into the configured directory as <report id>.<md|html|json>,
 * records it in the hash vigil:{ns}:reports (report id -> JSON: period,
 * generated_at, due, definitions hash, files, writer) and announces it
 * through the configured notifier. With several daemons exactly one
 * writes: each check is
 *   1. HEXISTS reports <id>: done already -> nothing to do;
 *   2. SET vigil:{ns}:reports:lock:<id> <owner> NX PX 600000: held by
 *      another daemon -> nothing to do now;
 *   3. HEXISTS again (the holder may have finished between 1 and 2);
 *   4. collect, write the files (temporary file + rename), HSET the
 *      record, release the lock (only if still ours).
 * A write that fails (directory missing or not writable, disk full) is
 * logged with the path and errno text, counted, the lock released, and
 * retried with a backoff (1 min doubling to 1 h); the daemon carries on.
 *
 * Loop thread only; the check blocks on Redis and the disk while it
 * writes a report (once per period).
 */
#ifndef VIGIL_REPORT_WRITER_H
#define VIGIL_REPORT_WRITER_H

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "report.h"

/* Parses "md", "html", "json" into a VIGIL_REPORT_FORMAT_* bit. */
int vigil_report_format_parse(const char *s, unsigned *format);

/* "md", "html", "json" for one bit. */
const char *vigil_report_format_ext(unsigned format);

/* Renders r in one format to out; 0 or -1 on a write error. */
int vigil_report_write(const struct vigil_report *r, unsigned format,
                       FILE *out);

/*
 * Renders r into path through a temporary file in the same folder that
 * is fsync'ed and renamed over path. 0, or -1 with "path: reason" in err
 * (nothing is left behind then).
 */
int vigil_report_write_file(const struct vigil_report *r, unsigned format,
                            const char *path, char *err, size_t errlen);

struct vigil_report_writer_config {
    const struct vigil_config *cfg;      /* borrowed, must outlive the writer */
    redisContext *(*connect)(void *ctx); /* a new connection, or NULL */
    void *connect_ctx;
    const char *owner;            /* lock value ("host:pid"); copied */
    struct ev_loop *loop;         /* NULL: no timer, no announcement */
    int64_t (*now_ms)(void *ctx); /* NULL: the wall clock */
    void *now_ctx;
    double interval_s; /* how often to check; 0: 60 */
};

enum vigil_report_tick {
    VIGIL_REPORT_TICK_IDLE,    /* not due: written already or backing off */
    VIGIL_REPORT_TICK_LOCKED,  /* another writer holds the lock */
    VIGIL_REPORT_TICK_WRITTEN, /* this writer wrote and recorded it */
    VIGIL_REPORT_TICK_FAILED,  /* Redis or the files failed; counted */
};

struct vigil_report_writer_stats {
    uint64_t written;
    uint64_t failures;     /* Redis errors, write errors */
    uint64_t write_errors; /* of which files that could not be written */
    char last_error[512];
};

struct vigil_report_writer;

/* NULL when out of memory or cfg has no periodic reports. */
struct vigil_report_writer *
vigil_report_writer_create(const struct vigil_report_writer_config *c);

/* Starts the timer (first check after one second). */
void vigil_report_writer_start(struct vigil_report_writer *w);

/* Stops the timer, drops an announcement under way, frees w. NULL ok. */
void vigil_report_writer_destroy(struct vigil_report_writer *w);

/* One check at now_ms (see above). Blocking. */
enum vigil_report_tick vigil_report_writer_tick(struct vigil_report_writer *w,
                                                int64_t now_ms);

void vigil_report_writer_stats(const struct vigil_report_writer *w,
                               struct vigil_report_writer_stats *out);

#endif
