#include "batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Latest event time a batch takes: 9999-12-31, well inside 2^53 ms. */
#define MAX_TS_MS INT64_C(253402300799999)

/*
 * Open addressing with linear probing. A slot is used when its gen is the
 * table's current one, so emptying the table is one increment.
 */
struct slot {
    uint32_t gen;
    uint32_t idx;
};

struct table {
    struct slot *slots;
    uint32_t mask; /* capacity - 1, capacity a power of two */
    uint32_t gen;
};

struct counter {
    struct vigil_counter_def def; /* name owned */
};

struct finding {
    size_t first;
    size_t n;
};

struct ffield {
    size_t name_off, name_len;
    size_t value_off, value_len;
};

struct vigil_batch {
    struct counter *counters;
    size_t n_counters;
    int64_t retention_s;
    int64_t cutoff_ms; /* updates before this are late */
    uint64_t seed;

    struct vigil_batch_group *groups;
    uint32_t n_groups, cap_groups;
    struct table group_table;

    struct vigil_batch_entry *entries;
    uint32_t n_entries, cap_entries;
    struct table entry_table;

    char *bytes; /* interned keys */
    size_t n_bytes, cap_bytes;

    struct vigil_batch_partition *parts;
    size_t n_parts, cap_parts;
    char **topics; /* interned topic names, kept across batches */
    size_t n_topics, cap_topics;

    /* Findings: fields [first, first + n) of ffields, bytes in fbytes. */
    struct finding *findings;
    size_t n_findings, cap_findings, max_findings;
    struct ffield *ffields;
    size_t n_ffields, cap_ffields;
    char *fbytes;
    size_t n_fbytes, cap_fbytes;

    struct vigil_batch_stats stats;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

static uint64_t hash_bytes(uint64_t seed, const char *p, size_t n)
{
    uint64_t h = seed ^ (n * UINT64_C(0x9e3779b97f4a7c15));
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ mix64(w)) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t w = 0;
        memcpy(&w, p, n);
        h = (h ^ mix64(w)) * UINT64_C(0x9e3779b97f4a7c15);
    }
    return mix64(h);
}

static int grow(void **p, size_t elem, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int grow32(void **p, size_t elem, uint32_t *cap, size_t need)
{
    if (need > UINT32_MAX - 1)
        return -1;
    size_t c = *cap;
    if (grow(p, elem, &c, need) < 0)
        return -1;
    *cap = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
    return 0;
}

static void table_clear(struct table *t)
{
    if (++t->gen == 0) {
        /* Wrapped: old generations could look current again. */
        memset(t->slots, 0, ((size_t)t->mask + 1) * sizeof(*t->slots));
        t->gen = 1;
    }
}

/* Slot of hash h: the used slot whose idx satisfies eq, or the free slot
 * where it goes. */
#define TABLE_FIND(t, h, eq_expr, out)                                         \
    do {                                                                       \
        uint32_t i_ = (uint32_t)(h) & (t)->mask;                               \
        for (;;) {                                                             \
            struct slot *s_ = &(t)->slots[i_];                                 \
            if (s_->gen != (t)->gen) {                                         \
                (out) = s_;                                                    \
                break;                                                         \
            }                                                                  \
            uint32_t idx = s_->idx;                                            \
            if (eq_expr) {                                                     \
                (out) = s_;                                                    \
                break;                                                         \
            }                                                                  \
            i_ = (i_ + 1) & (t)->mask;                                         \
        }                                                                      \
    } while (0)

/*
 * Makes room for `n` items in total at a load factor of at most 1/2,
 * rehashing the `hashes` of items 0..n_items-1 (stride bytes apart).
 */
static int table_reserve(struct table *t, size_t n, const void *items,
                         size_t stride, uint32_t n_items)
{
    size_t cap = (size_t)t->mask + 1;
    if (t->slots && n * 2 <= cap)
        return 0;
    if (!t->slots)
        cap = 16;
    while (n * 2 > cap)
        cap *= 2;
    if (cap > (size_t)UINT32_MAX + 1)
        return -1;
    struct slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -1;
    free(t->slots);
    t->slots = slots;
    t->mask = (uint32_t)(cap - 1);
    t->gen = 1;
    for (uint32_t k = 0; k < n_items; k++) {
        uint64_t h;
        memcpy(&h, (const char *)items + (size_t)k * stride, sizeof(h));
        uint32_t i = (uint32_t)h & t->mask;
        while (slots[i].gen == t->gen)
            i = (i + 1) & t->mask;
        slots[i].gen = t->gen;
        slots[i].idx = k;
    }
    return 0;
}

/*
 * Reserves room for up to `groups` new groups, `entries` new entries and
 * `bytes` new key bytes, so that the inserts of one update cannot fail
 * half way.
 */
static int reserve(struct vigil_batch *b, uint32_t groups, uint32_t entries,
                   size_t bytes)
{
    size_t ng = (size_t)b->n_groups + groups;
    size_t ne = (size_t)b->n_entries + entries;
    if (grow32((void **)&b->groups, sizeof(*b->groups), &b->cap_groups, ng) <
            0 ||
        grow32((void **)&b->entries, sizeof(*b->entries), &b->cap_entries, ne) <
            0 ||
        grow((void **)&b->bytes, 1, &b->cap_bytes, b->n_bytes + bytes) < 0)
        return -1;
    if (b->n_bytes + bytes > UINT32_MAX)
        return -1;
    /* The hash is each struct's first member. */
    if (table_reserve(&b->group_table, ng, b->groups, sizeof(*b->groups),
                      b->n_groups) < 0 ||
        table_reserve(&b->entry_table, ne, b->entries, sizeof(*b->entries),
                      b->n_entries) < 0)
        return -1;
    return 0;
}

/* The group (counter, role, bucket); creates it. Room must be reserved. */
static uint32_t group_get(struct vigil_batch *b, uint32_t counter,
                          enum vigil_batch_role role, int64_t bucket)
{
    uint64_t h = mix64(b->seed ^ ((uint64_t)counter << 3 | (uint64_t)role)) ^
                 mix64((uint64_t)bucket + b->seed);
    struct slot *s;
    TABLE_FIND(&b->group_table, h,
               b->groups[idx].hash == h && b->groups[idx].bucket == bucket &&
                   b->groups[idx].counter == counter &&
                   b->groups[idx].role == (uint32_t)role,
               s);
    if (s->gen == b->group_table.gen)
        return s->idx;
    uint32_t gi = b->n_groups++;
    b->groups[gi] = (struct vigil_batch_group){
        .hash = h,
        .bucket = bucket,
        .counter = counter,
        .role = role,
        .first = VIGIL_BATCH_NONE,
    };
    s->gen = b->group_table.gen;
    s->idx = gi;
    return gi;
}

/* The entry of key in group gi; creates it. Room must be reserved. */
static struct vigil_batch_entry *entry_get(struct vigil_batch *b, uint32_t gi,
                                           struct vigil_sv key)
{
    uint64_t h = hash_bytes(b->groups[gi].hash, key.ptr, key.len);
    struct slot *s;
    TABLE_FIND(&b->entry_table, h,
               b->entries[idx].hash == h && b->entries[idx].group == gi &&
                   b->entries[idx].key_len == key.len &&
                   (key.len == 0 || memcmp(b->bytes + b->entries[idx].key_off,
                                           key.ptr, key.len) == 0),
               s);
    if (s->gen == b->entry_table.gen)
        return &b->entries[s->idx];
    struct vigil_batch_group *g = &b->groups[gi];
    uint32_t ei = b->n_entries++;
    struct vigil_batch_entry *e = &b->entries[ei];
    *e = (struct vigil_batch_entry){
        .hash = h,
        .group = gi,
        .next = g->first,
        .key_off = (uint32_t)b->n_bytes,
        .key_len = (uint32_t)key.len,
        .start = VIGIL_BATCH_NO_TIME,
        .end = VIGIL_BATCH_NO_TIME,
        .trail = VIGIL_BATCH_NO_TIME,
        .end_group = VIGIL_BATCH_NONE,
    };
    if (key.len)
        memcpy(b->bytes + b->n_bytes, key.ptr, key.len);
    b->n_bytes += key.len;
    g->first = ei;
    g->n_entries++;
    s->gen = b->entry_table.gen;
    s->idx = ei;
    return e;
}

static bool name_is_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 200)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

struct vigil_batch *vigil_batch_create(const struct vigil_batch_config *cfg,
                                       const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = "out of memory";
    if (cfg->retention_s <= 0 || cfg->retention_s > INT64_C(1) << 31) {
        *why = "retention must be between 1 s and 2^31 s";
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_counters; i++) {
        const struct vigil_counter_def *d = &cfg->counters[i];
        if (!name_is_valid(d->name)) {
            *why = "counter name must be 1 to 200 of [A-Za-z0-9_.-]";
            return NULL;
        }
        if (d->resolution_s <= 0 || d->resolution_s > INT64_C(1) << 31) {
            *why = "counter resolution must be between 1 s and 2^31 s";
            return NULL;
        }
        if ((unsigned)d->kind > VIGIL_COUNTER_PAIR) {
            *why = "unknown counter kind";
            return NULL;
        }
        if (d->kind == VIGIL_COUNTER_PAIR && d->within_ms < 0) {
            *why = "pair within must not be negative";
            return NULL;
        }
    }
    if (cfg->n_counters >= UINT32_MAX >> 3) {
        *why = "too many counters";
        return NULL;
    }

    struct vigil_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->retention_s = cfg->retention_s;
    b->max_findings = cfg->max_findings;
    b->counters =
        calloc(cfg->n_counters ? cfg->n_counters : 1, sizeof(*b->counters));
    if (!b->counters)
        goto err_free_batch;
    for (size_t i = 0; i < cfg->n_counters; i++) {
        b->counters[i].def = cfg->counters[i];
        b->counters[i].def.name = strdup(cfg->counters[i].name);
        if (!b->counters[i].def.name)
            goto err_free_counters;
        b->n_counters = i + 1;
    }
    if (getrandom(&b->seed, sizeof(b->seed), GRND_NONBLOCK) !=
        (ssize_t)sizeof(b->seed))
        b->seed = (uint64_t)(uintptr_t)b ^ UINT64_C(0x5851f42d4c957f2d);
    if (reserve(b, 16, 16, 256) < 0)
        goto err_free_counters;
    vigil_batch_reset(b, 0);
    return b;

err_free_counters:
    vigil_batch_destroy(b);
    return NULL;
err_free_batch:
    free(b);
    return NULL;
}

void vigil_batch_destroy(struct vigil_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_counters; i++)
        free((char *)b->counters[i].def.name);
    free(b->counters);
    free(b->groups);
    free(b->group_table.slots);
    free(b->entries);
    free(b->entry_table.slots);
    free(b->bytes);
    free(b->parts);
    for (size_t i = 0; i < b->n_topics; i++)
        free(b->topics[i]);
    free(b->topics);
    free(b->findings);
    free(b->ffields);
    free(b->fbytes);
    free(b);
}

void vigil_batch_reset(struct vigil_batch *b, int64_t now_ms)
{
    b->n_groups = 0;
    b->n_entries = 0;
    b->n_bytes = 0;
    b->n_parts = 0;
    b->n_findings = 0;
    b->n_ffields = 0;
    b->n_fbytes = 0;
    table_clear(&b->group_table);
    table_clear(&b->entry_table);
    b->cutoff_ms = now_ms - b->retention_s * 1000;
    b->stats = (struct vigil_batch_stats){0};
}

int64_t vigil_batch_bucket(int64_t ts_ms, int64_t resolution_s)
{
    int64_t s = ts_ms / 1000;
    if (ts_ms % 1000 < 0)
        s--;
    int64_t q = s / resolution_s;
    if (s % resolution_s < 0)
        q--;
    return q * resolution_s;
}

unsigned vigil_batch_bin(int64_t duration_ms)
{
    if (duration_ms < 4)
        return duration_ms < 0 ? 0 : (unsigned)duration_ms;
    unsigned e =
        63u - (unsigned)__builtin_clzll((unsigned long long)duration_ms);
    return 4 * (e - 1) + (unsigned)(duration_ms >> (e - 2)) - 4;
}

int64_t vigil_batch_bin_low(unsigned bin)
{
    if (bin < 4)
        return bin;
    unsigned e = bin / 4 + 1;
    return (int64_t)(4 + bin % 4) << (e - 2);
}

/*
 * Common checks of an update: a counter of this kind, a sane time, not
 * late. Returns 0 to go on, VIGIL_BATCH_LATE, or -1.
 */
static int admit(struct vigil_batch *b, uint32_t counter,
                 enum vigil_counter_kind kind, int64_t ts_ms, size_t key_len)
{
    if (counter >= b->n_counters || b->counters[counter].def.kind != kind ||
        ts_ms < 0 || ts_ms > MAX_TS_MS || key_len > VIGIL_BATCH_MAX_KEY)
        return -1;
    if (ts_ms < b->cutoff_ms) {
        b->stats.late++;
        return VIGIL_BATCH_LATE;
    }
    return 0;
}

static int64_t bucket_of(const struct vigil_batch *b, uint32_t counter,
                         int64_t ts_ms)
{
    return vigil_batch_bucket(ts_ms, b->counters[counter].def.resolution_s);
}

int vigil_batch_count(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                      int64_t n)
{
    int rc = admit(b, counter, VIGIL_COUNTER_COUNT, ts_ms, 0);
    if (rc != 0)
        return rc;
    if (reserve(b, 1, 0, 0) < 0)
        return -1;
    struct vigil_batch_group *g = &b->groups[group_get(
        b, counter, VIGIL_ROLE_COUNT, bucket_of(b, counter, ts_ms))];
    int64_t sum;
    if (__builtin_add_overflow(g->count, n, &sum))
        return -1;
    g->count = sum;
    b->stats.added++;
    return 0;
}

int vigil_batch_count_key(struct vigil_batch *b, uint32_t counter,
                          int64_t ts_ms, struct vigil_sv key, int64_t n)
{
    int rc = admit(b, counter, VIGIL_COUNTER_BY_KEY, ts_ms, key.len);
    if (rc != 0)
        return rc;
    if (reserve(b, 1, 1, key.len) < 0)
        return -1;
    uint32_t gi =
        group_get(b, counter, VIGIL_ROLE_BY_KEY, bucket_of(b, counter, ts_ms));
    struct vigil_batch_entry *e = entry_get(b, gi, key);
    int64_t sum;
    if (__builtin_add_overflow(e->count, n, &sum))
        return -1;
    e->count = sum;
    b->stats.added++;
    return 0;
}

int vigil_batch_distinct(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                         struct vigil_sv value)
{
    int rc = admit(b, counter, VIGIL_COUNTER_DISTINCT, ts_ms, value.len);
    if (rc != 0)
        return rc;
    if (reserve(b, 1, 1, value.len) < 0)
        return -1;
    uint32_t gi = group_get(b, counter, VIGIL_ROLE_DISTINCT,
                            bucket_of(b, counter, ts_ms));
    entry_get(b, gi, value);
    b->stats.added++;
    return 0;
}

int vigil_batch_sum(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                    double value)
{
    if (!isfinite(value))
        return -1;
    int rc = admit(b, counter, VIGIL_COUNTER_SUM, ts_ms, 0);
    if (rc != 0)
        return rc;
    if (reserve(b, 2, 0, 0) < 0)
        return -1;
    int64_t bucket = bucket_of(b, counter, ts_ms);
    struct vigil_batch_group *s =
        &b->groups[group_get(b, counter, VIGIL_ROLE_SUM, bucket)];
    double sum = s->sum + value;
    if (!isfinite(sum) || s->count == INT64_MAX)
        return -1;
    s->sum = sum;
    s->count++; /* mirrors the SUM_COUNT group, for the overflow check */
    b->groups[group_get(b, counter, VIGIL_ROLE_SUM_COUNT, bucket)].count++;
    b->stats.added++;
    return 0;
}

int vigil_batch_pair_start(struct vigil_batch *b, uint32_t counter,
                           int64_t ts_ms, struct vigil_sv key)
{
    int rc = admit(b, counter, VIGIL_COUNTER_PAIR, ts_ms, key.len);
    if (rc != 0)
        return rc;
    if (reserve(b, 1, 1, key.len) < 0)
        return -1;
    uint32_t gi = group_get(b, counter, VIGIL_ROLE_PAIR_OPEN, 0);
    struct vigil_batch_entry *e = entry_get(b, gi, key);
    /* Before the first end a start competes with the one in Redis; after
     * it, with the batch's own trailing start. The earliest start wins. */
    int64_t *slot = e->end == VIGIL_BATCH_NO_TIME ? &e->start : &e->trail;
    if (*slot == VIGIL_BATCH_NO_TIME || ts_ms < *slot)
        *slot = ts_ms;
    b->stats.added++;
    return 0;
}

/* The PAIR_STATS fields of one completed pair: count, sum, within, bin. */
static void pair_record(struct vigil_batch *b, uint32_t gi, int64_t d,
                        int64_t within_ms)
{
    char bin[16];
    int n = 0;
    unsigned v = vigil_batch_bin(d);
    char rev[12];
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    bin[0] = 'b';
    for (int i = 0; i < n; i++)
        bin[1 + i] = rev[n - 1 - i];
    struct vigil_batch_entry *sum = entry_get(b, gi, VIGIL_SV("sum"));
    entry_get(b, gi, VIGIL_SV("count"))->count++;
    /* Saturates rather than fail half way; Redis' HINCRBY would refuse
     * such a sum anyway. */
    if (__builtin_add_overflow(sum->count, d, &sum->count))
        sum->count = INT64_MAX; /* d >= 0: only ever overflows upwards */
    if (d <= within_ms)
        entry_get(b, gi, VIGIL_SV("within"))->count++;
    entry_get(b, gi, (struct vigil_sv){bin, (size_t)n + 1})->count++;
}

int vigil_batch_pair_end(struct vigil_batch *b, uint32_t counter, int64_t ts_ms,
                         struct vigil_sv key)
{
    int rc = admit(b, counter, VIGIL_COUNTER_PAIR, ts_ms, key.len);
    if (rc != 0)
        return rc;
    /* Open group and entry, stats group, its four fields. */
    if (reserve(b, 2, 5, key.len + 24) < 0)
        return -1;
    uint32_t oi = group_get(b, counter, VIGIL_ROLE_PAIR_OPEN, 0);
    uint32_t si = group_get(b, counter, VIGIL_ROLE_PAIR_STATS,
                            bucket_of(b, counter, ts_ms));
    struct vigil_batch_entry *e = entry_get(b, oi, key);
    if (e->end == VIGIL_BATCH_NO_TIME) {
        /* Resolved against Redis' open start by the script. */
        e->end = ts_ms;
        e->end_group = si;
    } else if (e->trail != VIGIL_BATCH_NO_TIME) {
        int64_t d = ts_ms - e->trail;
        e->trail = VIGIL_BATCH_NO_TIME;
        pair_record(b, si, d < 0 ? 0 : d, b->counters[counter].def.within_ms);
    }
    /* else: an end without an open start is ignored. */
    b->stats.added++;
    return 0;
}

int vigil_batch_offset(struct vigil_batch *b, const char *topic,
                       int32_t partition, int64_t expected, int64_t next)
{
    if (!topic || !*topic || partition < 0 || expected < VIGIL_OFFSET_UNSET ||
        next < 0)
        return -1;
    for (size_t i = 0; i < b->n_parts; i++) {
        struct vigil_batch_partition *p = &b->parts[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            p->next = next;
            return 0;
        }
    }
    const char *name = NULL;
    for (size_t i = 0; i < b->n_topics && !name; i++)
        if (strcmp(b->topics[i], topic) == 0)
            name = b->topics[i];
    if (grow((void **)&b->parts, sizeof(*b->parts), &b->cap_parts,
             b->n_parts + 1) < 0)
        return -1;
    if (!name) {
        if (grow((void **)&b->topics, sizeof(*b->topics), &b->cap_topics,
                 b->n_topics + 1) < 0)
            return -1;
        char *copy = strdup(topic);
        if (!copy)
            return -1;
        b->topics[b->n_topics++] = copy;
        name = copy;
    }
    b->parts[b->n_parts++] = (struct vigil_batch_partition){
        .topic = name,
        .partition = partition,
        .expected = expected,
        .next = next,
    };
    return 0;
}

/* How many bytes of v a finding keeps: at most the limit, and never the
 * first bytes of a UTF-8 character without the rest. */
static size_t finding_value_len(struct vigil_sv v)
{
    if (!v.ptr)
        return 0;
    size_t n = v.len;
    if (n <= VIGIL_BATCH_FINDING_VALUE_MAX)
        return n;
    n = VIGIL_BATCH_FINDING_VALUE_MAX;
    /* v.ptr[n] is the first byte cut: while it continues a character,
     * that character's first bytes go too. */
    while (n > 0 && ((unsigned char)v.ptr[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int vigil_batch_finding(struct vigil_batch *b,
                        const struct vigil_batch_field *fields, size_t n)
{
    if (n == 0 || n > VIGIL_BATCH_FINDING_FIELDS_MAX)
        return -1;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fields[i].name.ptr || fields[i].name.len == 0 ||
            fields[i].name.len > VIGIL_BATCH_FINDING_NAME_MAX)
            return -1;
        bytes += fields[i].name.len + finding_value_len(fields[i].value);
    }
    if (b->n_findings >= b->max_findings ||
        grow((void **)&b->findings, sizeof(*b->findings), &b->cap_findings,
             b->n_findings + 1) < 0 ||
        grow((void **)&b->ffields, sizeof(*b->ffields), &b->cap_ffields,
             b->n_ffields + n) < 0 ||
        grow((void **)&b->fbytes, 1, &b->cap_fbytes, b->n_fbytes + bytes) < 0) {
        b->stats.findings_dropped++;
        return VIGIL_BATCH_DROPPED;
    }
    b->findings[b->n_findings++] = (struct finding){b->n_ffields, n};
    for (size_t i = 0; i < n; i++) {
        struct vigil_sv name = fields[i].name;
        size_t vlen = finding_value_len(fields[i].value);
        struct ffield *f = &b->ffields[b->n_ffields++];
        f->name_off = b->n_fbytes;
        f->name_len = name.len;
        memcpy(b->fbytes + b->n_fbytes, name.ptr, name.len);
        b->n_fbytes += name.len;
        f->value_off = b->n_fbytes;
        f->value_len = vlen;
        if (vlen)
            memcpy(b->fbytes + b->n_fbytes, fields[i].value.ptr, vlen);
        b->n_fbytes += vlen;
    }
    return 0;
}

size_t vigil_batch_n_findings(const struct vigil_batch *b)
{
    return b->n_findings;
}

size_t vigil_batch_finding_fields(const struct vigil_batch *b, size_t i)
{
    return i < b->n_findings ? b->findings[i].n : 0;
}

struct vigil_batch_field vigil_batch_finding_field(const struct vigil_batch *b,
                                                   size_t i, size_t j)
{
    if (i >= b->n_findings || j >= b->findings[i].n)
        return (struct vigil_batch_field){{NULL, 0}, {NULL, 0}};
    const struct ffield *f = &b->ffields[b->findings[i].first + j];
    return (struct vigil_batch_field){
        {b->fbytes + f->name_off, f->name_len},
        {b->fbytes + f->value_off, f->value_len},
    };
}

struct vigil_batch_stats vigil_batch_stats(const struct vigil_batch *b)
{
    return b->stats;
}

int64_t vigil_batch_retention(const struct vigil_batch *b)
{
    return b->retention_s;
}

size_t vigil_batch_n_counters(const struct vigil_batch *b)
{
    return b->n_counters;
}

const struct vigil_counter_def *vigil_batch_counter(const struct vigil_batch *b,
                                                    uint32_t counter)
{
    return counter < b->n_counters ? &b->counters[counter].def : NULL;
}

size_t vigil_batch_n_groups(const struct vigil_batch *b)
{
    return b->n_groups;
}

const struct vigil_batch_group *
vigil_batch_group_at(const struct vigil_batch *b, size_t i)
{
    return i < b->n_groups ? &b->groups[i] : NULL;
}

const struct vigil_batch_entry *
vigil_batch_entry_at(const struct vigil_batch *b, uint32_t i)
{
    return i < b->n_entries ? &b->entries[i] : NULL;
}

struct vigil_sv vigil_batch_entry_key(const struct vigil_batch *b,
                                      const struct vigil_batch_entry *e)
{
    return (struct vigil_sv){b->bytes + e->key_off, e->key_len};
}

size_t vigil_batch_n_partitions(const struct vigil_batch *b)
{
    return b->n_parts;
}

const struct vigil_batch_partition *
vigil_batch_partition_at(const struct vigil_batch *b, size_t i)
{
    return i < b->n_parts ? &b->parts[i] : NULL;
}

bool vigil_batch_is_empty(const struct vigil_batch *b)
{
    return b->n_groups == 0 && b->n_parts == 0 && b->n_findings == 0;
}
