#include <criterion/criterion.h>
#include <string.h>

#include "yaml_scalar.h"

/* Position of byte offset of the value of key "k" in the document text. */
static void pos(const char *text, size_t offset, int *line, int *col)
{
    struct fy_document *d =
        fy_document_build_from_string(NULL, text, strlen(text));
    cr_assert_not_null(d, "%s", text);
    struct fy_node *v =
        fy_node_mapping_lookup_by_string(fy_document_root(d), "k", FY_NT);
    cr_assert_not_null(v);
    vigil_yaml_scalar_pos(text, strlen(text), v, offset, line, col);
    fy_document_destroy(d);
}

#define ASSERT_POS(text, offset, want_line, want_col)                          \
    do {                                                                       \
        int l_, c_;                                                            \
        pos(text, offset, &l_, &c_);                                           \
        cr_assert(l_ == (want_line) && c_ == (want_col),                       \
                  "offset %d: got %d:%d, want %d:%d", (int)(offset), l_, c_,   \
                  want_line, want_col);                                        \
    } while (0)

Test(yaml_scalar, maps_plain_scalars_one_to_one)
{
    ASSERT_POS("k: abcdef\n", 0, 1, 4);
    ASSERT_POS("k: abcdef\n", 3, 1, 7);
    ASSERT_POS("k: abcdef\n", 6, 1, 10); /* at the end */
    ASSERT_POS("k: abcdef\n", 99, 1, 10);
}

Test(yaml_scalar, counts_columns_in_characters)
{
    /* "é" is two bytes and one column. */
    ASSERT_POS("k: \xc3\xa9x\n", 2, 1, 5);
}

Test(yaml_scalar, undoes_single_quote_doubling)
{
    /* Value "it's x": offset 5 ('x') is column 11 in the source. */
    ASSERT_POS("k: 'it''s x'\n", 5, 1, 11);
    ASSERT_POS("k: 'it''s x'\n", 2, 1, 7);
}

Test(yaml_scalar, maps_escapes_to_their_backslash)
{
    /* Value "\tA\\z": bytes 0 (\t), 1 (A from \x41), 2 (\), 3 (z). */
    const char *t = "k: \"\\tA\\\\z\\x41!\"\n";
    ASSERT_POS(t, 0, 1, 5);
    ASSERT_POS(t, 1, 1, 7);
    ASSERT_POS(t, 2, 1, 8);
    ASSERT_POS(t, 3, 1, 10);
    ASSERT_POS(t, 4, 1, 11); /* \x41 */
    ASSERT_POS(t, 5, 1, 15); /* ! */
    /* \u00e9 gives two bytes, both at the backslash. */
    ASSERT_POS("k: \"\\u00e9z\"\n", 1, 1, 5);
    ASSERT_POS("k: \"\\u00e9z\"\n", 2, 1, 11);
}

Test(yaml_scalar, follows_line_folding)
{
    /* Plain, folded onto two lines: "abc def". */
    ASSERT_POS("k: abc\n  def\n", 4, 2, 3);
    /* An empty line becomes a newline: "abc\ndef". */
    ASSERT_POS("k: abc\n\n  def\n", 4, 3, 3);
    /* Double-quoted with an escaped line break: "abcdef". */
    ASSERT_POS("k: \"abc\\\n  def\"\n", 3, 2, 3);
    /* CRLF line ends. */
    ASSERT_POS("k: abc\r\n  def\r\n", 4, 2, 3);
    /* Bare CRs in a block scalar end lines too (and never loop). */
    ASSERT_POS("k: |\n  \r\r\r\n  d(e\n", 3, 5, 3);
}

Test(yaml_scalar, maps_block_scalars_line_by_line)
{
    ASSERT_POS("k: |\n  abc\n  def\n", 4, 3, 3);
    ASSERT_POS("k: |\n  abc\n  def\n", 1, 2, 4);
    ASSERT_POS("k: >\n  abc\n  def\n", 4, 3, 3);
    ASSERT_POS("k: |\n    abc\n    d\n", 4, 3, 5);
}
