#include <criterion/criterion.h>
#include <string.h>

#include "prefilter.h"

Test(prefilter, validates_utf8_strictly)
{
    cr_assert(vigil_utf8_valid("", 0));
    cr_assert(vigil_utf8_valid("plain ascii", 11));
    cr_assert(vigil_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    cr_assert(vigil_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    cr_assert_not(vigil_utf8_valid("\xff", 1));
    cr_assert_not(vigil_utf8_valid("\xc3", 1));             /* truncated */
    cr_assert_not(vigil_utf8_valid("\xc0\xaf", 2));         /* overlong */
    cr_assert_not(vigil_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    cr_assert_not(vigil_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    cr_assert_not(vigil_utf8_valid("\xf4\x90\x80\x80", 4)); /* too big */
    cr_assert_not(vigil_utf8_valid("\xe2\x82\x41", 3));     /* bad tail */
    cr_assert_not(vigil_utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

Test(prefilter, knows_whether_it_was_built_in)
{
#ifdef VIGIL_HAVE_VECTORSCAN
    cr_assert(vigil_prefilter_available());
#else
    cr_assert_not(vigil_prefilter_available());
#endif
}
