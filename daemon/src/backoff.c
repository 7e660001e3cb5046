#include "backoff.h"

uint64_t vigil_backoff_full(const struct vigil_backoff *b, unsigned attempt)
{
    uint64_t d = b->base_ms ? b->base_ms : 1;
    for (unsigned i = 1; i < attempt && d < b->cap_ms; i++)
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    return d < b->cap_ms ? d : b->cap_ms;
}

uint64_t vigil_backoff_delay(const struct vigil_backoff *b, unsigned attempt,
                             uint64_t r)
{
    uint64_t full = vigil_backoff_full(b, attempt);
    uint64_t half = full / 2;
    return full - half + r % (half + 1);
}

uint64_t vigil_backoff_random(uint64_t *state)
{
    uint64_t x = *state ? *state : 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
