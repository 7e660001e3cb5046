/*
 * yaml_doc: the one place where vigil reads YAML (config, rule packs,
 * indicator files). It wraps libfyaml so that every problem, from a syntax
 * error to a wrong type or an unknown key, lands in a struct vigil_diags as
 * "file:line:col: message", and loaders can keep going to report them all.
 *
 * Nodes (struct fy_node) are borrowed from the document and live until
 * vigil_yaml_fini(). Strings returned by the getters are heap copies owned
 * by the caller unless said otherwise.
 */
#ifndef VIGIL_YAML_DOC_H
#define VIGIL_YAML_DOC_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct vigil_yaml {
    struct fy_document *doc;
    char *file;                /* as given, used in messages; owned */
    struct vigil_diags *diags; /* borrowed; where problems go */
    unsigned errors;           /* problems reported through this document */
};

/*
 * Parses the file at path. On a syntax error every libfyaml error is added
 * to diags and -1 is returned; y is then already finalised. diags is
 * borrowed for the lifetime of y.
 */
int vigil_yaml_load_file(struct vigil_yaml *y, const char *path,
                         struct vigil_diags *diags);

/*
 * Same from memory; name is used as the file name in messages. text is
 * copied, so it need not outlive y. A NUL byte or invalid UTF-8 is an
 * error (for files too) rather than a silently shortened document.
 */
int vigil_yaml_load_string(struct vigil_yaml *y, const char *name,
                           const char *text, size_t len,
                           struct vigil_diags *diags);

void vigil_yaml_fini(struct vigil_yaml *y);

/* The document's root node, or NULL for an empty document. */
struct fy_node *vigil_yaml_root(const struct vigil_yaml *y);

/* 1-based line and column where node starts (0, 0 when node is NULL). */
void vigil_yaml_mark(struct fy_node *node, int *line, int *col);

/* Adds "file:line:col: message" for node and counts it in y->errors. */
void vigil_yaml_error(struct vigil_yaml *y, struct fy_node *node,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Schema for one mapping. vigil_yaml_map() fills *out with the value node
 * of each known key (NULL when absent), reports unknown keys, keys that
 * are not scalars, and missing required keys. what names the mapping in
 * messages ("rule", "kafka"). A table ends with a NULL name. Returns 0 when
 * the mapping was well-formed, -1 otherwise (values still filled in).
 */
struct vigil_yaml_key {
    const char *name;
    struct fy_node **out;
    bool required;
};

int vigil_yaml_map(struct vigil_yaml *y, struct fy_node *map, const char *what,
                   const struct vigil_yaml_key *keys);

/* Type checks and conversions; each reports its own error on node. */
bool vigil_yaml_is_map(struct vigil_yaml *y, struct fy_node *node,
                       const char *what);
bool vigil_yaml_is_seq(struct vigil_yaml *y, struct fy_node *node,
                       const char *what);

/*
 * Borrowed view of a scalar's text (not NUL-terminated). Reports an error
 * and returns NULL for a mapping or sequence.
 */
const char *vigil_yaml_scalar(struct vigil_yaml *y, struct fy_node *node,
                              const char *what, size_t *len);

/* Heap copy of a scalar, NUL-terminated; free() it. */
int vigil_yaml_str(struct vigil_yaml *y, struct fy_node *node, const char *what,
                   char **out);

/* Decimal integer in [min, max]. */
int vigil_yaml_int(struct vigil_yaml *y, struct fy_node *node, const char *what,
                   long long min, long long max, long long *out);

/* Floating-point number (finite). */
int vigil_yaml_double(struct vigil_yaml *y, struct fy_node *node,
                      const char *what, double *out);

/* true/false (also yes/no, on/off). */
int vigil_yaml_bool(struct vigil_yaml *y, struct fy_node *node,
                    const char *what, bool *out);

/* Duration such as 250ms, 10s, 5m, 4h, 7d, 1w, or combined (1h30m); ms. */
int vigil_yaml_duration(struct vigil_yaml *y, struct fy_node *node,
                        const char *what, uint64_t *ms);

/*
 * One string or a sequence of strings, as a NULL-terminated heap array of
 * heap strings (free with vigil_strv_free). *n gets the count when n is
 * not NULL.
 */
int vigil_yaml_strv(struct vigil_yaml *y, struct fy_node *node,
                    const char *what, char ***out, size_t *n);

void vigil_strv_free(char **v);

/*
 * Parses a duration string ("10s", "1h30m", "250ms"); no YAML involved.
 * Returns 0 and *ms, or -1 for anything else (including overflow).
 */
int vigil_parse_duration(const char *s, size_t len, uint64_t *ms);

#endif
