/*
 * ack: acknowledging a breach (docs/NOTIFICATIONS.md "Acknowledging").
 * An ack names the breach by its dedup key "<indicator>:<episode ms>" or
 * by the indicator id (its open breach). One Lua script checks that the
 * episode is still open and, atomically, writes `ack_episode`,
 * `acked_by`, `acked_at` (epoch ms) and `ack_comment` into the state
 * hash vigil:{ns}:state:<id> and appends {indicator, event=acked, state,
 * episode, dedup, by, at, comment} to vigil:{ns}:breaches. An acked
 * episode is not repeated (route `repeat`); a new episode is not acked.
 *
 * Used by `vigild ack` and the HTTP feed; blocking, on a context owned by
 * the caller. Any thread with its own context.
 */
#ifndef VIGIL_ACK_H
#define VIGIL_ACK_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_ACK_NOT_OPEN (-2) /* no such open breach */
#define VIGIL_ACK_INVALID (-3)  /* the id or author is malformed */

struct vigil_ack_result {
    char indicator[129];
    int64_t episode_ms; /* the acked episode (epoch ms) */
    bool already;       /* it had been acked before: by, at_ms say by whom */
    char by[256];
    int64_t at_ms;
};

/*
 * Acks the breach `id` for `by` (not empty) at now_ms with an optional
 * comment (NULL: none). Returns 0 with *out filled (also when it was
 * already acked: out->already), -1 on a Redis error, VIGIL_ACK_NOT_OPEN
 * when the indicator has no open paged episode (or not that one), or
 * VIGIL_ACK_INVALID; err gets the reason.
 */
int vigil_ack_breach(redisContext *c, const char *ns, const char *id,
                     const char *by, const char *comment, int64_t now_ms,
                     struct vigil_ack_result *out, char *err, size_t errlen);

/*
 * Splits an ack id into the indicator and the episode (INT64_MIN when
 * the id is a bare indicator id). 0, or -1 when the indicator part is not
 * 1..128 of A-Z a-z 0-9 _ . - or the episode is not a number.
 */
int vigil_ack_parse_id(const char *id, char *indicator, size_t size,
                       int64_t *episode_ms);

#endif
