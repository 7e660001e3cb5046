/*
 * yaml_scalar: where inside a YAML file a byte of a scalar's value came
 * from, so that an error found in a value (a regex that PCRE2 rejects at
 * offset 17) points at the exact line and column of the file.
 *
 * A scalar's value differs from its source text: quotes, '' in
 * single-quoted scalars, escapes in double-quoted ones, line folding,
 * block indentation. The mapping replays those rules over the source and
 * checks its own result against the value libfyaml parsed: it is exact for
 * plain, single-quoted and double-quoted scalars (a byte produced by an
 * escape maps to the escape's backslash), best effort for block scalars
 * (| and >), and falls back to the scalar's start whenever the replay does
 * not reproduce the value.
 */
#ifndef VIGIL_YAML_SCALAR_H
#define VIGIL_YAML_SCALAR_H

#include <libfyaml.h>
#include <stddef.h>

/*
 * Maps offset, a byte offset into the value of scalar node (as given by
 * fy_node_get_scalar), to a 1-based line and column (in characters) of
 * src[0..src_len), the text the document was parsed from (borrowed). An
 * offset at or past the end of the value maps to the end of the scalar.
 * Sets both to 0 when node is not a scalar.
 */
void vigil_yaml_scalar_pos(const char *src, size_t src_len,
                           struct fy_node *node, size_t offset, int *line,
                           int *col);

#endif
