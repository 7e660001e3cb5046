/* backoff: the retry schedule (capped exponential, equal jitter). */
#include <criterion/criterion.h>

#include "backoff.h"

static const struct vigil_backoff b = {.base_ms = 1000, .cap_ms = 300000};

Test(backoff, doubles_from_the_base_up_to_the_cap)
{
    uint64_t want[] = {1000,  2000,   4000,   8000,   16000,  32000,
                       64000, 128000, 256000, 300000, 300000, 300000};
    for (unsigned k = 1; k <= 12; k++)
        cr_expect_eq(vigil_backoff_full(&b, k), want[k - 1], "retry %u", k);
    cr_expect_eq(vigil_backoff_full(&b, 1000000), 300000);
}

Test(backoff, jitter_stays_between_half_and_the_full_delay)
{
    uint64_t state = 42;
    for (unsigned k = 1; k <= 12; k++) {
        uint64_t full = vigil_backoff_full(&b, k);
        for (int i = 0; i < 200; i++) {
            uint64_t d =
                vigil_backoff_delay(&b, k, vigil_backoff_random(&state));
            cr_assert_geq(d, full - full / 2);
            cr_assert_leq(d, full);
        }
    }
}

Test(backoff, extreme_random_numbers_give_the_bounds)
{
    cr_expect_eq(vigil_backoff_delay(&b, 3, 0), 2000);
    cr_expect_eq(vigil_backoff_delay(&b, 3, 2000), 4000);
    cr_expect_eq(vigil_backoff_delay(&b, 3, 2001), 2000);
}

Test(backoff, jitter_spreads_retries)
{
    uint64_t state = 7, first = 0;
    bool differ = false;
    for (int i = 0; i < 20; i++) {
        uint64_t d = vigil_backoff_delay(&b, 5, vigil_backoff_random(&state));
        if (i == 0)
            first = d;
        else
            differ = differ || d != first;
    }
    cr_expect(differ);
}

Test(backoff, random_state_zero_is_repaired)
{
    uint64_t s = 0;
    uint64_t a = vigil_backoff_random(&s);
    cr_expect_neq(s, 0);
    cr_expect_neq(a, 0);
}
