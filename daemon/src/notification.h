/*
 * notification: one entry of the outbox stream vigil:{ns}:outbox
 * (docs/INDICATORS.md "What is stored"), parsed into owned strings for the
 * notifiers, the routes and the silences. Every field comes from Redis
 * and is treated as hostile: explicit lengths, bounded sizes, numbers
 * checked.
 *
 * Pure data; no I/O. Any thread, one notification per thread at a time.
 */
#ifndef VIGIL_NOTIFICATION_H
#define VIGIL_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vigil_notify_action {
    VIGIL_NOTIFY_TRIGGER,
    VIGIL_NOTIFY_RESOLVE,
};

/* Times that are absent are VIGIL_NOTIFICATION_NO_TIME. */
#define VIGIL_NOTIFICATION_NO_TIME INT64_MIN

struct vigil_notification_label {
    char *name;
    char *value;
};

struct vigil_notification {
    char id[48]; /* the outbox stream id, "" when not from a stream */
    enum vigil_notify_action action;
    /* Owned, NUL-terminated, never NULL after a successful parse. */
    char *dedup;     /* "<indicator>:<episode ms>" */
    char *indicator; /* indicator id */
    char *event;     /* opened / resolved / changed */
    char *state;     /* the new state */
    char *previous;  /* the state left */
    char *severity;  /* info / low / medium / high / critical */
    char *name;
    char *unit;
    char *target; /* the target criterion as written ("< 20") */
    char *owner;
    char *recommendation;
    char *offenders;  /* JSON [{"key","count"}], "[]" when none */
    char *value_text; /* as stored; "" = no data */
    bool has_value;
    double value;
    int64_t since_ms;    /* when the new state was entered (epoch ms) */
    int64_t episode_ms;  /* when the paged episode opened (epoch ms) */
    int64_t duration_ms; /* how long the previous state lasted */
    struct vigil_notification_label *labels; /* label.<name> fields */
    size_t n_labels;
    unsigned repeat; /* 0: the transition itself; n: the n-th repeat */
    int route;       /* a repeat's route index; -1: route normally */
};

/*
 * Parses the field/value pairs of one stream entry: fields[i] with
 * lens[i] bytes, n entries (field, value, field, value, ...). Unknown
 * fields are ignored; `action`, `dedup`, `indicator` and `state` are
 * required, anything else defaults to "" (offenders to "[]"). Values
 * longer than 64 KiB, or more than 64 labels, are refused. On success
 * *out owns its strings (free with _fini) and 0 is returned; on error -1
 * with the reason in err (nothing to free).
 */
int vigil_notification_parse(struct vigil_notification *out,
                             const char *const *fields, const size_t *lens,
                             size_t n, char *err, size_t errlen);

/* Frees what *n owns and zeroes it; a zeroed struct is fine. */
void vigil_notification_fini(struct vigil_notification *n);

/* A deep copy of src into *dst; 0, or -1 when out of memory. */
int vigil_notification_copy(struct vigil_notification *dst,
                            const struct vigil_notification *src);

/*
 * The value that routes and silences match `key` against: `severity`,
 * `indicator`, `state` (for a resolve, the paged state that ends, i.e.
 * `previous`), `action`, `dedup`, or else the label of that name. NULL
 * when there is none. Borrowed from n.
 */
const char *vigil_notification_match_value(const struct vigil_notification *n,
                                           const char *key);

/* The label's value, or NULL. Borrowed from n. */
const char *vigil_notification_label(const struct vigil_notification *n,
                                     const char *name);

/* "trigger" or "resolve". */
const char *vigil_notify_action_name(enum vigil_notify_action a);

/*
 * Formats epoch ms as RFC 3339 UTC with milliseconds
 * ("2023-11-14T22:13:20.000Z") into buf; "" for NO_TIME.
 */
void vigil_notification_time(int64_t ms, char *buf, size_t n);

#endif
