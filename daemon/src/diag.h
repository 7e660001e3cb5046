/*
 * diag: errors as data. Loaders (config, rules, indicators) never print or
 * stop at the first problem; they append every problem they find to a
 * struct vigil_diags, each with the file, line and column it concerns, and
 * the caller decides how to show them ("file:line:col: message").
 */
#ifndef VIGIL_DIAG_H
#define VIGIL_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct vigil_diag {
    char *file; /* owned; may be NULL when no file is concerned */
    int line;   /* 1-based; 0 when unknown */
    int col;    /* 1-based; 0 when unknown */
    char *msg;  /* owned */
};

struct vigil_diags {
    struct vigil_diag *v;
    size_t n;
    size_t cap;
};

/* Zero-initialised storage is a valid empty list; _init is a convenience. */
void vigil_diags_init(struct vigil_diags *d);

/* Frees every entry; the list is empty and reusable afterwards. */
void vigil_diags_fini(struct vigil_diags *d);

/*
 * Appends one problem. file is copied (NULL allowed). On allocation failure
 * the entry is dropped, which loses a message but never the fact that
 * loading failed: callers must also track failure themselves.
 */
void vigil_diags_add(struct vigil_diags *d, const char *file, int line, int col,
                     const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void vigil_diags_vadd(struct vigil_diags *d, const char *file, int line,
                      int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* Moves every entry of src to the end of dst; src is left empty. */
void vigil_diags_move(struct vigil_diags *dst, struct vigil_diags *src);

/*
 * Writes one line per entry as "file:line:col: message" (parts that are
 * unknown are left out), in the order they were added.
 */
void vigil_diags_print(const struct vigil_diags *d, FILE *out);

/* Formats entry i into buf like vigil_diags_print does, without newline. */
void vigil_diag_format(const struct vigil_diag *e, char *buf, size_t size);

#endif
