/*
 * backoff: the retry schedule of notification deliveries. Capped
 * exponential backoff with "equal jitter": before retry number k (1 = the
 * first retry) the full delay is d = min(cap, base * 2^(k-1)) and the wait
 * is uniformly in [d - d/2, d], so retries of many deliveries spread out but
 * never come sooner than half the schedule.
 *
 * Pure functions; the random numbers come from the caller (a xorshift
 * state it owns), so tests inject them. Any thread.
 */
#ifndef VIGIL_BACKOFF_H
#define VIGIL_BACKOFF_H

#include <stdint.h>

struct vigil_backoff {
    uint64_t base_ms; /* the first retry's full delay, > 0 */
    uint64_t cap_ms;  /* no full delay exceeds this, >= base_ms */
};

/* The full (unjittered) delay before retry `attempt` (>= 1), in ms. */
uint64_t vigil_backoff_full(const struct vigil_backoff *b, unsigned attempt);

/* The jittered delay before retry `attempt`, in ms, from the random
 * 64-bit number r: full - full/2 + r % (full/2 + 1). */
uint64_t vigil_backoff_delay(const struct vigil_backoff *b, unsigned attempt,
                             uint64_t r);

/* The next number of a xorshift64* generator; *state must not be 0 (it
 * is set to 1 if it is). */
uint64_t vigil_backoff_random(uint64_t *state);

#endif
