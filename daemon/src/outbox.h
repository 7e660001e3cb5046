/*
 * outbox: the Redis side of notification delivery (DESIGN.md section 6,
 * docs/NOTIFICATIONS.md "Delivery"). The evaluators append one entry per
 * paged transition to the stream vigil:{ns}:outbox; the pagers of every
 * daemon share the consumer group `notifiers` on it:
 *   - XGROUP CREATE ... 0 MKSTREAM once (an existing group is fine);
 *   - XREADGROUP > for new entries, each consumer under its own name;
 *   - XACK only after every notifier the entry routes to is done with it;
 *   - XAUTOCLAIM of entries idle for longer than min-idle (their consumer
 *     died), and XCLAIM JUSTID on the entries a live consumer still holds
 *     (backing off), so that they are never idle long enough to be taken;
 *   - XTRIM MINID of entries older than the retention and than every
 *     pending entry;
 *   - permanent delivery failures appended to vigil:{ns}:breaches
 *     (event notification_failed);
 *   - repeat schedules in the sorted set vigil:{ns}:repeats, member
 *     "<route>|<dedup>|<outbox id>|<n>", score the due time (epoch ms).
 *     A due repeat is taken by one script that checks the breach is still
 *     open and not acked, and appends a copy of the entry (fields repeat =
 *     n, route = <route>, value refreshed) to the outbox.
 *
 * All calls are blocking, on a context owned by the caller; they return 0
 * or -1 with the reason in vigil_outbox_error(). Loop thread only.
 */
#ifndef VIGIL_OUTBOX_H
#define VIGIL_OUTBOX_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notification.h"

#define VIGIL_OUTBOX_GROUP "notifiers"

/* One stream entry as read. */
struct vigil_outbox_entry {
    char id[48];
    bool valid; /* false: unparsable, error says why */
    char error[128];
    struct vigil_notification n; /* when valid */
};

struct vigil_outbox_batch {
    struct vigil_outbox_entry *v;
    size_t n;
};

void vigil_outbox_batch_fini(struct vigil_outbox_batch *b);

struct vigil_outbox;

/* For namespace ns and consumer name (both copied). NULL on OOM. */
struct vigil_outbox *vigil_outbox_create(const char *ns, const char *consumer);
void vigil_outbox_destroy(struct vigil_outbox *o);
const char *vigil_outbox_error(const struct vigil_outbox *o);
const char *vigil_outbox_consumer(const struct vigil_outbox *o);

/* Creates the consumer group (from the stream's start) if it is missing. */
int vigil_outbox_ensure_group(struct vigil_outbox *o, redisContext *c);

/* Up to count entries: from ">" those never delivered to anyone, from
 * "0" this consumer's own pending ones (after a restart under the same
 * name). */
int vigil_outbox_read(struct vigil_outbox *o, redisContext *c, const char *from,
                      size_t count, struct vigil_outbox_batch *out);

/*
 * Claims up to count entries idle for at least min_idle_ms (XAUTOCLAIM)
 * starting at *cursor ("0-0" to begin; updated, "0-0" again when the
 * scan wrapped). Entries deleted from the stream are dropped from the
 * pending list by Redis and not returned.
 */
int vigil_outbox_claim(struct vigil_outbox *o, redisContext *c,
                       uint64_t min_idle_ms, size_t count, char cursor[48],
                       struct vigil_outbox_batch *out);

/*
 * Marks this consumer alive for lease_ms: SET vigil:{ns}:pager:<consumer>
 * PX lease_ms. A consumer whose lease ran out is taken for dead by
 * vigil_outbox_claim_dead.
 */
int vigil_outbox_heartbeat(struct vigil_outbox *o, redisContext *c,
                           uint64_t lease_ms);

/*
 * Claims for this consumer up to count pending entries of the other
 * consumers of the group whose lease (vigil_outbox_heartbeat) is gone,
 * each idle for at least min_idle_ms (XCLAIM: of two pagers claiming at
 * once, one gets an entry). Consumers without a lease and with nothing
 * pending are removed from the group. So a pager killed with kill -9 has
 * its entries delivered by another one a lease later, not after
 * vigil_outbox_claim's long min-idle.
 */
int vigil_outbox_claim_dead(struct vigil_outbox *o, redisContext *c,
                            uint64_t min_idle_ms, size_t count,
                            struct vigil_outbox_batch *out);

/* XACK of ids[0..n). */
int vigil_outbox_ack(struct vigil_outbox *o, redisContext *c,
                     const char *const *ids, size_t n);

/* Resets the idle time of ids[0..n) held by this consumer. */
int vigil_outbox_touch(struct vigil_outbox *o, redisContext *c,
                       const char *const *ids, size_t n);

/* Appends a notification_failed record for n to the breaches stream. */
int vigil_outbox_record_failure(struct vigil_outbox *o, redisContext *c,
                                const struct vigil_notification *n,
                                const char *notifier, long status,
                                const char *detail, int64_t now_ms);

/* Trims entries older than now_ms - keep_ms and than every pending one. */
int vigil_outbox_trim(struct vigil_outbox *o, redisContext *c, int64_t now_ms,
                      uint64_t keep_ms);

/* (Re)schedules the repeat of (route, n's dedup) from outbox entry id at
 * due_ms, replacing an earlier schedule of that pair. */
int vigil_outbox_schedule_repeat(struct vigil_outbox *o, redisContext *c,
                                 size_t route,
                                 const struct vigil_notification *n,
                                 const char *id, int64_t due_ms);

/* Drops every repeat schedule of dedup. */
int vigil_outbox_cancel_repeats(struct vigil_outbox *o, redisContext *c,
                                const char *dedup);

/* The interval of route r in ms (0: no repeat), for the next schedule. */
typedef uint64_t (*vigil_outbox_repeat_fn)(void *ctx, size_t route);

/*
 * Fires up to max due repeats at now_ms: each becomes a new outbox entry
 * (by exactly one caller, even with many pagers) and is scheduled again
 * after repeat(ctx, route). *fired gets how many entries were appended.
 */
int vigil_outbox_fire_repeats(struct vigil_outbox *o, redisContext *c,
                              int64_t now_ms, size_t max,
                              vigil_outbox_repeat_fn repeat, void *ctx,
                              size_t *fired);

/* The epoch ms part of a stream id, or -1. */
int64_t vigil_outbox_id_ms(const char *id);

#endif
