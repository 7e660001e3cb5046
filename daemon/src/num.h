/*
 * num: numbers out of length-delimited text (Redis replies, captures,
 * stream fields), which is not NUL-terminated. Pure functions, any
 * thread.
 */
#ifndef VIGIL_NUM_H
#define VIGIL_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether s[0..len) is exactly a decimal int64: an optional '-', then
 * digits, nothing else, no overflow. Sets *out only when true. */
bool vigil_num_i64(const char *s, size_t len, int64_t *out);

/* Whether s[0..len) is exactly a finite number as strtod reads it
 * (at most 63 bytes). Sets *out only when true. */
bool vigil_num_double(const char *s, size_t len, double *out);

#endif
