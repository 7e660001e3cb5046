/*
 * feed_json: what the HTTP feed says, as JSON (docs/API.md).
 *
 * A published snapshot is copied once into an immutable, reference-
 * counted struct vigil_feed_item; the feed's table holds the newest item
 * per indicator, and readers take references so that no lock is held
 * while a response is rendered. The renderers turn items and Redis stream
 * entries (hist:<id>, breaches, findings) into cJSON objects, so that the
 * JSON API, the SSE stream, its replay and the Redis channel all say the
 * same thing.
 */
#ifndef VIGIL_FEED_JSON_H
#define VIGIL_FEED_JSON_H

#include <cJSON.h>
#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evaluator.h"
#include "indicator.h"

struct vigil_feed_offender {
    char *key; /* owned, NUL-terminated */
    double count;
};

/* One evaluation of one indicator, copied from a snapshot. */
struct vigil_feed_item {
    _Atomic unsigned refs;
    const struct vigil_indicator *ind; /* borrowed from the indicator set */
    int64_t at_ms;
    enum vigil_eval_outcome outcome;
    bool has_value;
    double value;
    enum vigil_state state;
    int64_t since_ms;
    struct vigil_istate_view view;   /* zero when the snapshot had none */
    struct vigil_istate_event event; /* kind NONE: no transition */
    struct vigil_feed_offender *top; /* owned */
    size_t n_top;
};

/* A copy of *s with one reference; NULL when out of memory. Any thread
 * (s is borrowed for the call). */
struct vigil_feed_item *
vigil_feed_item_create(const struct vigil_indicator_snapshot *s);

/* A copy of it for the indicator ind (another set's definition with the
 * same id), with one reference; NULL when out of memory. */
struct vigil_feed_item *
vigil_feed_item_rebind(const struct vigil_feed_item *it,
                       const struct vigil_indicator *ind);

/* Takes one more reference; returns it. Any thread. */
struct vigil_feed_item *vigil_feed_item_ref(struct vigil_feed_item *it);

/* Drops a reference; the last frees the item. NULL is fine. */
void vigil_feed_item_unref(struct vigil_feed_item *it);

/* Which parts an indicator object has. */
enum vigil_feed_json_flags {
    VIGIL_FEED_JSON_TRANSITION = 1, /* "transition": the item's event */
};

/*
 * The indicator object of GET /api/v1/indicators and of `event:
 * indicator`: the definition (id, name, unit, target, owner, kind,
 * entity, severity, ...) and, from item (NULL: never evaluated: value and
 * state null), value, state, since, pending, recovering, evaluated_at and
 * top offenders. Returns NULL when out of memory (cJSON_Delete it).
 */
cJSON *vigil_feed_json_indicator(const struct vigil_indicator *ind,
                                 const struct vigil_feed_item *item,
                                 unsigned flags);

/* The breach object of an item's transition (the same shape as
 * vigil_feed_json_breach() gives for its breaches entry), with id as its
 * "id" (NULL: none). NULL when out of memory or there is no transition. */
cJSON *vigil_feed_json_transition(const struct vigil_feed_item *item,
                                  const char *id);

/* A Redis stream ID: <ms>-<seq>. */
struct vigil_feed_sid {
    uint64_t ms;
    uint64_t seq;
};

/* Parses "<ms>-<seq>" (or "<ms>", seq 0) from s[0..len). */
bool vigil_feed_sid_parse(const char *s, size_t len,
                          struct vigil_feed_sid *out);

/* <0, 0, >0 like strcmp. */
int vigil_feed_sid_cmp(struct vigil_feed_sid a, struct vigil_feed_sid b);

/* Formats "<ms>-<seq>" into buf (at least 48 bytes). */
void vigil_feed_sid_format(struct vigil_feed_sid s, char *buf, size_t n);

/* Whether r is a stream entry: [id, [field, value, ...]] of strings. */
bool vigil_feed_json_is_entry(const redisReply *r);

/*
 * A sample of hist:<id> from its stream entry: {"id", "t" (epoch ms of
 * the entry), "value" (null: no data), "state"}. NULL for a malformed
 * entry or out of memory.
 */
cJSON *vigil_feed_json_sample(const redisReply *entry);

/*
 * A record of the breaches stream: {"id", "at", "indicator", "name" (when
 * set knows the indicator; set may be NULL), "event", "state",
 * "previous", "value", "since", "previous_since", "duration_ms",
 * "severity", "episode", "dedup"}; times as ISO 8601 UTC, values as
 * numbers, any other field (acks) kept as a string. NULL for a malformed
 * entry or out of memory.
 */
cJSON *vigil_feed_json_breach(const redisReply *entry,
                              const struct vigil_indicator_set *set);

/*
 * The `event: indicator` object of a replayed hist:<id> entry (SSE
 * Last-Event-ID): the keys of vigil_feed_json_indicator(ind, item,
 * VIGIL_FEED_JSON_TRANSITION), filled from the entry (value, state,
 * since, pending, recovering, top as the evaluator wrote them;
 * evaluated_at is the entry id's time; what an entry written by an older
 * version lacks stays null, top []), transition from breach (the
 * breaches entry of the evaluation's transition, or NULL: null), plus
 * "replayed": true. set may be NULL. NULL for a malformed entry or out of
 * memory.
 */
cJSON *vigil_feed_json_replayed(const struct vigil_indicator *ind,
                                const redisReply *entry,
                                const redisReply *breach,
                                const struct vigil_indicator_set *set);

/*
 * A finding: {"id", "at", "recorded", every other field as a string}:
 * "at" is the entry's own "at" field (the event time, ISO 8601 UTC) when
 * it holds one, else the id's time; "recorded" is always the id's time.
 * Entry fields named id or recorded are ignored. NULL for a malformed
 * entry or out of memory.
 */
cJSON *vigil_feed_json_finding(const redisReply *entry);

/* Epoch ms as "2023-11-14T22:13:20Z" into buf (at least 32 bytes); ""
 * for VIGIL_ISTATE_NEVER. */
void vigil_feed_json_time(int64_t ms, char *buf, size_t n);

#endif
