/* ack: parsing the id of a breach (the Redis side is in integration). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "ack.h"

Test(ack, id_is_a_dedup_key_or_an_indicator)
{
    char ind[129];
    int64_t ep;
    cr_assert_eq(
        vigil_ack_parse_id("KPI-AC-02:1700000000000", ind, sizeof(ind), &ep),
        0);
    cr_expect_str_eq(ind, "KPI-AC-02");
    cr_expect_eq(ep, 1700000000000);
    cr_assert_eq(vigil_ack_parse_id("KPI.x_1", ind, sizeof(ind), &ep), 0);
    cr_expect_str_eq(ind, "KPI.x_1");
    cr_expect_eq(ep, INT64_MIN);
}

Test(ack, refuses_ids_that_cannot_name_a_breach)
{
    char ind[129];
    int64_t ep;
    const char *bad[] = {"",     ":123", "KPI:",   "KPI:12a",
                         "KP I", "a{b}", "KPI:1:2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(vigil_ack_parse_id(bad[i], ind, sizeof(ind), &ep), -1,
                     "%s", bad[i]);
    char longid[200];
    memset(longid, 'a', 199);
    longid[199] = '\0';
    cr_expect_eq(vigil_ack_parse_id(longid, ind, sizeof(ind), &ep), -1);
}
