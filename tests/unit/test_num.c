#include <criterion/criterion.h>
#include <string.h>

#include "num.h"

static bool i64(const char *s, int64_t *out)
{
    return vigil_num_i64(s, strlen(s), out);
}

static bool dbl(const char *s, double *out)
{
    return vigil_num_double(s, strlen(s), out);
}

Test(num, reads_whole_decimal_integers_with_a_sign)
{
    int64_t v = 0;
    cr_assert(i64("0", &v) && v == 0);
    cr_assert(i64("-17", &v) && v == -17);
    cr_assert(i64("9223372036854775807", &v) && v == INT64_MAX);
    cr_assert(i64("-9223372036854775808", &v) && v == INT64_MIN);
    /* Only the given bytes count: "12" out of "123". */
    cr_assert(vigil_num_i64("123", 2, &v) && v == 12);
}

Test(num, rejects_integers_that_are_not_exactly_one)
{
    int64_t v = 42;
    const char *bad[] = {"",
                         "-",
                         "+1",
                         " 1",
                         "1 ",
                         "1x",
                         "0x10",
                         "1.5",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "123456789012345678901234"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(i64(bad[i], &v), "accepted '%s'", bad[i]);
    cr_assert_eq(v, 42, "*out changed on failure");
}

Test(num, reads_finite_numbers)
{
    double v = 0;
    cr_assert(dbl("2.5", &v) && v == 2.5);
    cr_assert(dbl("-1e3", &v) && v == -1000);
    cr_assert(dbl("7", &v) && v == 7);
    cr_assert(vigil_num_double("0.25xyz", 4, &v) && v == 0.25);
}

Test(num, rejects_non_finite_or_trailing_or_overlong_numbers)
{
    double v = 42;
    const char *bad[] = {"",
                         "inf",
                         "-inf",
                         "nan",
                         "1e999",
                         "1.5x",
                         "1,5",
                         "0.0000000000000000000000000000000000000000000000000"
                         "000000000000000000001"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(dbl(bad[i], &v), "accepted '%s'", bad[i]);
    cr_assert_eq(v, 42, "*out changed on failure");
}
