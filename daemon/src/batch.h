/*
 * batch: the in-memory aggregation of one worker's batch of events before
 * it goes to Redis in one atomic script (counter_store.h, DESIGN.md
 * sections 1 and 6).
 *
 * A batch folds every counter update into ONE delta per (counter, bucket,
 * key): a plain count becomes one INCRBY per bucket, a by-key count one
 * HINCRBY per key and bucket, distinct values one PFADD per bucket with
 * each value once, a sum one INCRBYFLOAT plus one INCRBY of the number of
 * summed values, and a pair's starts and ends one folded state change per
 * key. It also records, per Kafka partition, the offset the worker resumed
 * from (the fence) and the offset after the batch, and the findings of
 * the batch (matches of `record: true` rules, each a list of string
 * fields), which go to Redis in the same script as the counters.
 *
 * Buckets are epoch seconds aligned to the counter's resolution, from
 * event time: bucket = floor(ts / resolution) * resolution. Events older
 * than the retention (relative to the clock given to vigil_batch_reset)
 * are late: counted and dropped, never written.
 *
 * A struct vigil_batch belongs to one worker thread and is reused for
 * every batch: after the first batches it allocates nothing more except
 * when a batch is larger than every earlier one.
 */
#ifndef VIGIL_BATCH_H
#define VIGIL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum vigil_counter_kind {
    VIGIL_COUNTER_COUNT,    /* plain count per bucket */
    VIGIL_COUNTER_BY_KEY,   /* per-key counts per bucket */
    VIGIL_COUNTER_DISTINCT, /* HyperLogLog of values per bucket */
    VIGIL_COUNTER_SUM,      /* sum and number of values per bucket */
    VIGIL_COUNTER_PAIR,     /* durations between a start and an end */
};

/* What a counter is; the batch copies every field. */
struct vigil_counter_def {
    const char *name; /* [A-Za-z0-9_.-]+, used in Redis key names */
    enum vigil_counter_kind kind;
    int64_t resolution_s; /* bucket width, seconds, > 0 */
    int64_t within_ms;    /* pair only: a pair inside this is "within" */
};

struct vigil_batch_config {
    const struct vigil_counter_def *counters; /* borrowed during _create */
    size_t n_counters;                        /* counter id = index */
    int64_t retention_s; /* bucket key lifetime and lateness cutoff, > 0 */
    /* Findings one batch holds (vigil_batch_finding); more are dropped
     * and counted. 0: the batch holds none. */
    size_t max_findings;
};

/*
 * Which Redis key a group of updates goes to (docs/REDIS.md has the
 * layout). One counter uses one or two roles, depending on its kind.
 */
enum vigil_batch_role {
    VIGIL_ROLE_COUNT,      /* c:<counter>:<bucket> string, INCRBY count */
    VIGIL_ROLE_BY_KEY,     /* c:<counter>:<bucket> hash, entries HINCRBY */
    VIGIL_ROLE_SUM,        /* c:<counter>:<bucket> string, INCRBYFLOAT sum */
    VIGIL_ROLE_SUM_COUNT,  /* n:<counter>:<bucket> string, INCRBY count */
    VIGIL_ROLE_DISTINCT,   /* d:<counter>:<bucket> HLL, entries PFADD */
    VIGIL_ROLE_PAIR_STATS, /* p:<counter>:<bucket> hash, entries HINCRBY */
    VIGIL_ROLE_PAIR_OPEN,  /* p:<counter>:open hash, entries pair folds */
};

#define VIGIL_BATCH_NONE UINT32_MAX   /* end of an entry list */
#define VIGIL_BATCH_NO_TIME INT64_MIN /* an absent pair time */

/* One Redis key's worth of updates: read-only view for the store. */
struct vigil_batch_group {
    uint64_t hash;
    int64_t bucket; /* epoch s; 0 for VIGIL_ROLE_PAIR_OPEN */
    uint32_t counter;
    uint32_t role;  /* enum vigil_batch_role */
    int64_t count;  /* COUNT, SUM_COUNT: the delta (SUM: same, unused) */
    double sum;     /* SUM: the delta */
    uint32_t first; /* first entry (keys, values) or VIGIL_BATCH_NONE */
    uint32_t n_entries;
};

/*
 * One key inside a group: a hash field with its delta (BY_KEY,
 * PAIR_STATS), a distinct value (DISTINCT), or a pair key's folded starts
 * and ends (PAIR_OPEN).
 *
 * A pair key's events of a batch, in arrival order, fold into: `start`,
 * the earliest start before the first end; `end`, the time of the first
 * end; `trail`, the open start left after the first end; pairs that both
 * start and end after the first end are already counted in the batch's
 * PAIR_STATS groups. The store resolves the first end against the start
 * kept in Redis (see counter_script.lua).
 */
struct vigil_batch_entry {
    uint64_t hash;
    uint32_t group;   /* index of its group */
    uint32_t next;    /* next entry of the same group or VIGIL_BATCH_NONE */
    uint32_t key_off; /* key bytes: vigil_batch_entry_key() */
    uint32_t key_len;
    int64_t count;      /* BY_KEY, PAIR_STATS: the delta */
    int64_t start;      /* PAIR_OPEN: epoch ms or VIGIL_BATCH_NO_TIME */
    int64_t end;        /* PAIR_OPEN: epoch ms or VIGIL_BATCH_NO_TIME */
    int64_t trail;      /* PAIR_OPEN: epoch ms or VIGIL_BATCH_NO_TIME */
    uint32_t end_group; /* PAIR_OPEN with an end: the PAIR_STATS group of
                           the end's bucket; else VIGIL_BATCH_NONE */
};

/* One partition of the batch, in the order they were first noted. */
struct vigil_batch_partition {
    const char *topic; /* owned by the batch, valid until _destroy */
    int32_t partition;
    int64_t expected; /* offset resumed from; VIGIL_OFFSET_UNSET if none */
    int64_t next;     /* offset after the batch */
};

#define VIGIL_OFFSET_UNSET (-1)

/* Longest key, distinct value or pair key a batch takes, in bytes. */
#define VIGIL_BATCH_MAX_KEY 1024

/* vigil_batch_count() & co.: the event was older than the retention. */
#define VIGIL_BATCH_LATE 1

struct vigil_batch_stats {
    uint64_t added; /* updates folded into the batch */
    uint64_t late;  /* updates dropped as older than the retention */
    /* Findings not held: beyond max_findings, or out of memory. */
    uint64_t findings_dropped;
};

/* vigil_batch_finding(): the finding was not held (counted). */
#define VIGIL_BATCH_DROPPED 2

/* Longest finding value kept, in bytes: longer ones are cut at a UTF-8
 * character boundary at or below it. */
#define VIGIL_BATCH_FINDING_VALUE_MAX 256
/* Longest field name, and most fields, of one finding. */
#define VIGIL_BATCH_FINDING_NAME_MAX 128
#define VIGIL_BATCH_FINDING_FIELDS_MAX 64

/* One field of a finding. */
struct vigil_batch_field {
    struct vigil_sv name;
    struct vigil_sv value;
};

struct vigil_batch;

/*
 * Creates an empty batch for these counters (all copied). Returns NULL
 * when out of memory or when the config is invalid (a bad counter name,
 * resolution or retention); then *why, if given, says which (static).
 * The lateness clock starts at 0 (nothing is late) until _reset.
 */
struct vigil_batch *vigil_batch_create(const struct vigil_batch_config *cfg,
                                       const char **why);
void vigil_batch_destroy(struct vigil_batch *b);

/*
 * Empties the batch for the next one (keeps its memory) and sets the
 * clock for lateness: updates with ts_ms < now_ms - retention are late.
 */
void vigil_batch_reset(struct vigil_batch *b, int64_t now_ms);

/*
 * Folds one update into the batch; ts_ms is the event time in epoch ms,
 * keys and values are copied (at most VIGIL_BATCH_MAX_KEY bytes).
 *
 * Each returns 0 when folded, VIGIL_BATCH_LATE when dropped as late (also
 * counted in the stats; a positive value because it is an outcome, not a
 * failure), or -1 when not folded: unknown counter id, a counter of
 * another kind, a key too long, a value not finite, a delta that
 * overflows, or out of memory. A failed call leaves the batch as if it had
 * not been made.
 */
int vigil_batch_count(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                      int64_t n);
int vigil_batch_count_key(struct vigil_batch *b, uint32_t counter,
                          int64_t ts_ms, struct vigil_sv key, int64_t n);
int vigil_batch_distinct(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                         struct vigil_sv value);
int vigil_batch_sum(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                    double value);
int vigil_batch_pair_start(struct vigil_batch *b, uint32_t counter,
                           int64_t ts_ms, struct vigil_sv key);
int vigil_batch_pair_end(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                         struct vigil_sv key);

/*
 * Holds one finding: fields[0..n) in that order, names and values copied
 * (values cut to VIGIL_BATCH_FINDING_VALUE_MAX bytes). A value may be
 * empty; a NULL value pointer counts as empty.
 *
 * Returns 0 when held, VIGIL_BATCH_DROPPED when the batch already holds
 * max_findings or memory ran out (counted in the stats' findings_dropped;
 * an outcome, not a failure), or -1 for invalid fields (n of 0 or above
 * VIGIL_BATCH_FINDING_FIELDS_MAX, a name empty or above
 * VIGIL_BATCH_FINDING_NAME_MAX bytes); the batch is then unchanged.
 */
int vigil_batch_finding(struct vigil_batch *b,
                        const struct vigil_batch_field *fields, size_t n);

/*
 * Notes that the batch covers this partition: `expected` is the offset
 * the worker resumed from (the one it last wrote to Redis or sought to;
 * VIGIL_OFFSET_UNSET when Redis had none), `next` the offset after the
 * batch's last message of the partition. The first call per partition in
 * a batch fixes `expected`; every call sets `next`. topic is copied.
 * Returns 0, or -1 when out of memory or an argument is invalid.
 */
int vigil_batch_offset(struct vigil_batch *b, const char *topic,
                       int32_t partition, int64_t expected, int64_t next);

/* Read-only views for the store and for tests; valid until the next
 * change of the batch. */
struct vigil_batch_stats vigil_batch_stats(const struct vigil_batch *b);
int64_t vigil_batch_retention(const struct vigil_batch *b); /* seconds */
size_t vigil_batch_n_counters(const struct vigil_batch *b);
const struct vigil_counter_def *vigil_batch_counter(const struct vigil_batch *b,
                                                    uint32_t counter);
size_t vigil_batch_n_groups(const struct vigil_batch *b);
const struct vigil_batch_group *
vigil_batch_group_at(const struct vigil_batch *b, size_t i);
const struct vigil_batch_entry *
vigil_batch_entry_at(const struct vigil_batch *b, uint32_t i);
struct vigil_sv vigil_batch_entry_key(const struct vigil_batch *b,
                                      const struct vigil_batch_entry *e);
size_t vigil_batch_n_partitions(const struct vigil_batch *b);
const struct vigil_batch_partition *
vigil_batch_partition_at(const struct vigil_batch *b, size_t i);

/* The findings of the batch, in the order they were held; field j of
 * finding i (j < vigil_batch_finding_fields(b, i)). Views valid until the
 * next change of the batch. */
size_t vigil_batch_n_findings(const struct vigil_batch *b);
size_t vigil_batch_finding_fields(const struct vigil_batch *b, size_t i);
struct vigil_batch_field vigil_batch_finding_field(const struct vigil_batch *b,
                                                   size_t i, size_t j);

/* True when the batch holds no updates, partitions nor findings. */
bool vigil_batch_is_empty(const struct vigil_batch *b);

/* The bucket (epoch s) of ts_ms at this resolution: floor division. */
int64_t vigil_batch_bucket(int64_t ts_ms, int64_t resolution_s);

/*
 * The duration histogram bin of a pair's duration in ms (negative counts
 * as 0): bins 0..3 hold 0..3 ms; above, four bins per power of two, bin
 * 4 * (e - 1) + m for d in [(4 + m) * 2^(e-2), (5 + m) * 2^(e-2)), e =
 * floor(log2 d). vigil_batch_bin_low() gives a bin's lower bound.
 */
unsigned vigil_batch_bin(int64_t duration_ms);
int64_t vigil_batch_bin_low(unsigned bin);

#endif
