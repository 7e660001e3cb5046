/*
 * silence: muting notifications for a while (docs/NOTIFICATIONS.md
 * "Silences"). A silence has matchers (key = value, the keys of routes:
 * severity, indicator, state, action, dedup or a label name), a start, an
 * end, an author and a reason. While it is active, a notification that
 * every matcher holds for is recorded but not sent: the pager acks its
 * outbox entry with the result "silenced".
 *
 * Stored in the hash vigil:{ns}:silences, silence id -> JSON
 * {"matchers":{k:v,...},"starts":T,"ends":T,"created":T,"author":A,
 * "reason":R} with RFC 3339 UTC times. Expiring sets `ends` to now (the
 * record stays); expired silences are deleted a week after they end.
 *
 * The Redis functions take a blocking hiredis context owned by the caller
 * (the CLI, the pager, the HTTP feed) and return 0, -1 on a Redis or
 * protocol error, or a VIGIL_SILENCE_* code; err gets the reason. A
 * thread may use them on its own context.
 */
#ifndef VIGIL_SILENCE_H
#define VIGIL_SILENCE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notification.h"

#define VIGIL_SILENCE_NOT_FOUND (-2) /* no silence with that id */
#define VIGIL_SILENCE_INVALID (-3)   /* refused: see err */

/* A week: how long an expired silence is kept. */
#define VIGIL_SILENCE_KEEP_MS (7LL * 86400000LL)

struct vigil_silence_matcher {
    char *key;
    char *value;
};

struct vigil_silence {
    char id[40];
    struct vigil_silence_matcher *matchers; /* owned */
    size_t n_matchers;
    int64_t starts_ms, ends_ms, created_ms; /* epoch ms */
    char *author;                           /* owned */
    char *reason;                           /* owned, may be "" */
};

struct vigil_silence_list {
    struct vigil_silence *v; /* sorted by start, then id */
    size_t n;
};

/* Frees what s owns and zeroes it. */
void vigil_silence_fini(struct vigil_silence *s);
void vigil_silence_list_fini(struct vigil_silence_list *l);

/* Appends the matcher "key=value" (as written on the command line); 0,
 * or VIGIL_SILENCE_INVALID for a missing '=' or empty key, -1 OOM. */
int vigil_silence_add_matcher(struct vigil_silence *s, const char *kv);

/* Whether s is active at now_ms (starts <= now < ends). */
bool vigil_silence_is_active(const struct vigil_silence *s, int64_t now_ms);

/* Whether s is active at now_ms and every matcher holds for n. */
bool vigil_silence_matches(const struct vigil_silence *s,
                           const struct vigil_notification *n, int64_t now_ms);

/* The first silence of l that matches n at now_ms, or NULL. */
const struct vigil_silence *
vigil_silence_list_match(const struct vigil_silence_list *l,
                         const struct vigil_notification *n, int64_t now_ms);

/* The stored JSON of s (heap; free()), or NULL when out of memory. */
char *vigil_silence_to_json(const struct vigil_silence *s);

/* Parses the stored JSON json[0..len) of silence id into *s (free with
 * _fini). 0, or VIGIL_SILENCE_INVALID with the reason in err. */
int vigil_silence_from_json(struct vigil_silence *s, const char *id,
                            const char *json, size_t len, char *err,
                            size_t errlen);

/*
 * Stores s under a new random id (written to s->id), after checking it:
 * at least one matcher, an author, ends after starts and after now_ms.
 * s->created_ms is set to now_ms. Also deletes silences that ended more
 * than VIGIL_SILENCE_KEEP_MS ago.
 */
int vigil_silence_add(redisContext *c, const char *ns, struct vigil_silence *s,
                      int64_t now_ms, char *err, size_t errlen);

/* Ends silence id at now_ms (when it has not ended yet). 0, -1 or
 * VIGIL_SILENCE_NOT_FOUND. */
int vigil_silence_expire(redisContext *c, const char *ns, const char *id,
                         int64_t now_ms, char *err, size_t errlen);

/* Reads every stored silence into *out (free with _list_fini); entries
 * that do not parse are skipped. 0 or -1. */
int vigil_silence_load(redisContext *c, const char *ns,
                       struct vigil_silence_list *out, char *err,
                       size_t errlen);

/* Parses an absolute time: RFC 3339 UTC ("2024-05-16T09:00:00Z", optional
 * ".mmm") or epoch seconds. 0 and *ms, or -1. */
int vigil_silence_parse_time(const char *s, int64_t *ms);

#endif
