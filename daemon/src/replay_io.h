/*
 * replay_io: the fast plumbing of `vigild replay`: a line reader over a
 * file descriptor with one large, reused buffer (no allocation per line),
 * and a buffered writer with a JSON string escaper that always yields
 * valid JSON, whatever bytes a log line holds.
 *
 * Both belong to the calling thread.
 */
#ifndef VIGIL_REPLAY_IO_H
#define VIGIL_REPLAY_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define VIGIL_LINE_BUFFER (1u << 20) /* bytes read at once, at least */
#define VIGIL_LINE_MAX (16u << 20)   /* longer lines are skipped */
#define VIGIL_LINE_TOO_LONG 2        /* vigil_line_reader_next(): skipped */

struct vigil_line_reader {
    int fd;     /* borrowed */
    char *buf;  /* owned */
    size_t cap; /* grows up to VIGIL_LINE_MAX for long lines */
    size_t start;
    size_t end;
    bool eof;
    bool skipping; /* inside a line longer than VIGIL_LINE_MAX */
};

/* Reads from fd (not closed by the reader). -1 when out of memory. */
int vigil_line_reader_init(struct vigil_line_reader *lr, int fd);
void vigil_line_reader_fini(struct vigil_line_reader *lr);

/*
 * The next line, without its "\n" or "\r\n": *line is borrowed until the
 * next call. Returns 1, VIGIL_LINE_TOO_LONG once for a line longer than
 * VIGIL_LINE_MAX (its bytes are skipped), 0 at the end, -1 on a read error
 * (errno set). A last line without "\n" is a line.
 */
int vigil_line_reader_next(struct vigil_line_reader *lr, const char **line,
                           size_t *len);

/* A buffered writer; a write error is remembered for vigil_out_flush(). */
struct vigil_out {
    FILE *f; /* borrowed */
    char *buf;
    size_t len;
    size_t cap;
    bool failed;
};

int vigil_out_init(struct vigil_out *o, FILE *f);
/* Frees the buffer without flushing it (zeroed storage is fine). */
void vigil_out_fini(struct vigil_out *o);

void vigil_out_put(struct vigil_out *o, const char *p, size_t n);
void vigil_out_printf(struct vigil_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Writes p[0..n) as a JSON string with its quotes: '"', '\\' and control
 * characters escaped, valid UTF-8 kept, each byte of invalid UTF-8
 * written as \ufffd.
 */
void vigil_out_json_string(struct vigil_out *o, const char *p, size_t n);

/* Writes what is buffered; -1 when any write so far failed. */
int vigil_out_flush(struct vigil_out *o);

#endif
