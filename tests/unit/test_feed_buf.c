/* feed_buf: the growable buffer of the feed's response bodies. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "feed_buf.h"

Test(feed_buf, appends_strings_bytes_and_formatted_text)
{
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    vigil_feed_buf_str(&b, "event: ");
    vigil_feed_buf_add(&b, "indicator\0junk", 9);
    vigil_feed_buf_fmt(&b, " %d-%s", 7, "x");
    size_t len;
    char *s = vigil_feed_buf_take(&b, &len);
    cr_assert_str_eq(s, "event: indicator 7-x");
    cr_assert_eq(len, strlen(s));
    cr_assert_eq(b.len, 0);
    free(s);
}

Test(feed_buf, formats_text_longer_than_its_stack_buffer)
{
    char big[5000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    vigil_feed_buf_fmt(&b, "<%s>", big);
    char *s = vigil_feed_buf_take(&b, NULL);
    cr_assert_eq(strlen(s), sizeof(big) + 1);
    cr_assert_eq(s[0], '<');
    cr_assert_eq(s[sizeof(big)], '>');
    free(s);
}

Test(feed_buf, an_empty_buffer_takes_as_an_empty_string)
{
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    size_t len = 99;
    char *s = vigil_feed_buf_take(&b, &len);
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "");
    cr_assert_eq(len, 0);
    free(s);
}

Test(feed_buf, a_failed_buffer_takes_as_null_and_frees_its_contents)
{
    struct vigil_feed_buf b;
    vigil_feed_buf_init(&b);
    vigil_feed_buf_str(&b, "partial");
    b.failed = true;
    vigil_feed_buf_str(&b, "more");
    cr_assert_null(vigil_feed_buf_take(&b, NULL));
    cr_assert_null(b.data);
}
