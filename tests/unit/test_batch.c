#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"

enum { C_PLAIN, C_BY_SRC, C_USERS, C_BYTES, C_CONTAIN, C_MINUTE };

static const struct vigil_counter_def defs[] = {
    {.name = "auth_failures", .kind = VIGIL_COUNTER_COUNT, .resolution_s = 10},
    {.name = "by_src", .kind = VIGIL_COUNTER_BY_KEY, .resolution_s = 10},
    {.name = "users", .kind = VIGIL_COUNTER_DISTINCT, .resolution_s = 10},
    {.name = "bytes", .kind = VIGIL_COUNTER_SUM, .resolution_s = 10},
    {.name = "contain",
     .kind = VIGIL_COUNTER_PAIR,
     .resolution_s = 60,
     .within_ms = 1000},
    {.name = "per_minute", .kind = VIGIL_COUNTER_COUNT, .resolution_s = 60},
};

#define T0 INT64_C(1699999980000) /* ms; a multiple of 10 s and 60 s */

static struct vigil_batch *new_batch(void)
{
    const char *why = NULL;
    struct vigil_batch_config cfg = {
        .counters = defs,
        .n_counters = sizeof(defs) / sizeof(defs[0]),
        .retention_s = 3600,
    };
    struct vigil_batch *b = vigil_batch_create(&cfg, &why);
    cr_assert_not_null(b, "%s", why);
    vigil_batch_reset(b, T0);
    return b;
}

static const struct vigil_batch_group *find_group(const struct vigil_batch *b,
                                                  uint32_t counter,
                                                  enum vigil_batch_role role,
                                                  int64_t bucket)
{
    for (size_t i = 0; i < vigil_batch_n_groups(b); i++) {
        const struct vigil_batch_group *g = vigil_batch_group_at(b, i);
        if (g->counter == counter && g->role == (uint32_t)role &&
            g->bucket == bucket)
            return g;
    }
    return NULL;
}

static const struct vigil_batch_entry *
find_entry(const struct vigil_batch *b, const struct vigil_batch_group *g,
           const char *key)
{
    for (uint32_t e = g->first; e != VIGIL_BATCH_NONE;) {
        const struct vigil_batch_entry *en = vigil_batch_entry_at(b, e);
        struct vigil_sv k = vigil_batch_entry_key(b, en);
        if (k.len == strlen(key) && memcmp(k.ptr, key, k.len) == 0)
            return en;
        e = en->next;
    }
    return NULL;
}

static struct vigil_sv sv(const char *s)
{
    return (struct vigil_sv){s, strlen(s)};
}

Test(batch, aligns_buckets_to_the_resolution_by_floor_division)
{
    cr_assert_eq(vigil_batch_bucket(T0, 10), T0 / 1000);
    cr_assert_eq(vigil_batch_bucket(T0 + 9999, 10), T0 / 1000);
    cr_assert_eq(vigil_batch_bucket(T0 + 10000, 10), T0 / 1000 + 10);
    cr_assert_eq(vigil_batch_bucket(T0 + 59999, 60), T0 / 1000);
    cr_assert_eq(vigil_batch_bucket(0, 60), 0);
    cr_assert_eq(vigil_batch_bucket(-1, 60), -60);
    cr_assert_eq(vigil_batch_bucket(-60000, 60), -60);
    cr_assert_eq(vigil_batch_bucket(-60001, 60), -120);
}

Test(batch, merges_plain_counts_into_one_delta_per_bucket)
{
    struct vigil_batch *b = new_batch();
    for (int i = 0; i < 5; i++)
        cr_assert_eq(vigil_batch_count(b, C_PLAIN, T0 + i * 1000, 1), 0);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, T0 + 10000, 3), 0);
    cr_assert_eq(vigil_batch_count(b, C_MINUTE, T0 + 10000, 2), 0);
    cr_assert_eq(vigil_batch_count(b, C_MINUTE, T0 + 59000, 1), 0);

    cr_assert_eq(vigil_batch_n_groups(b), 3);
    const struct vigil_batch_group *g =
        find_group(b, C_PLAIN, VIGIL_ROLE_COUNT, T0 / 1000);
    cr_assert_not_null(g);
    cr_assert_eq(g->count, 5);
    g = find_group(b, C_PLAIN, VIGIL_ROLE_COUNT, T0 / 1000 + 10);
    cr_assert_eq(g->count, 3);
    g = find_group(b, C_MINUTE, VIGIL_ROLE_COUNT, T0 / 1000);
    cr_assert_eq(g->count, 3);
    cr_assert_eq(vigil_batch_stats(b).added, 8);
    vigil_batch_destroy(b);
}

Test(batch, merges_per_key_counts_and_keeps_keys_apart)
{
    struct vigil_batch *b = new_batch();
    const char *ips[] = {"10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.10",
                         "10.0.0.1"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, T0, sv(ips[i]), 1), 0);
    cr_assert_eq(
        vigil_batch_count_key(b, C_BY_SRC, T0 + 10000, sv("10.0.0.1"), 4), 0);
    /* An empty key is a key like any other. */
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, T0, sv(""), 1), 0);

    const struct vigil_batch_group *g =
        find_group(b, C_BY_SRC, VIGIL_ROLE_BY_KEY, T0 / 1000);
    cr_assert_eq(g->n_entries, 4);
    cr_assert_eq(find_entry(b, g, "10.0.0.1")->count, 3);
    cr_assert_eq(find_entry(b, g, "10.0.0.2")->count, 1);
    cr_assert_eq(find_entry(b, g, "10.0.0.10")->count, 1);
    cr_assert_eq(find_entry(b, g, "")->count, 1);
    g = find_group(b, C_BY_SRC, VIGIL_ROLE_BY_KEY, T0 / 1000 + 10);
    cr_assert_eq(g->n_entries, 1);
    cr_assert_eq(find_entry(b, g, "10.0.0.1")->count, 4);
    vigil_batch_destroy(b);
}

Test(batch, keeps_each_distinct_value_once_per_bucket)
{
    struct vigil_batch *b = new_batch();
    const char *users[] = {"root", "admin", "root", "root", "Root"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(vigil_batch_distinct(b, C_USERS, T0, sv(users[i])), 0);
    cr_assert_eq(vigil_batch_distinct(b, C_USERS, T0 + 10000, sv("root")), 0);
    const struct vigil_batch_group *g =
        find_group(b, C_USERS, VIGIL_ROLE_DISTINCT, T0 / 1000);
    cr_assert_eq(g->n_entries, 3);
    cr_assert_not_null(find_entry(b, g, "root"));
    cr_assert_not_null(find_entry(b, g, "Root"));
    cr_assert_not_null(find_entry(b, g, "admin"));
    g = find_group(b, C_USERS, VIGIL_ROLE_DISTINCT, T0 / 1000 + 10);
    cr_assert_eq(g->n_entries, 1);
    vigil_batch_destroy(b);
}

Test(batch, sums_values_and_counts_them_for_averages)
{
    struct vigil_batch *b = new_batch();
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, T0, 1.5), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, T0 + 1, 2.5), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, T0 + 2, -1), 0);
    const struct vigil_batch_group *s =
        find_group(b, C_BYTES, VIGIL_ROLE_SUM, T0 / 1000);
    const struct vigil_batch_group *n =
        find_group(b, C_BYTES, VIGIL_ROLE_SUM_COUNT, T0 / 1000);
    cr_assert_float_eq(s->sum, 3.0, 1e-12);
    cr_assert_eq(n->count, 3);
    cr_assert_eq(vigil_batch_n_groups(b), 2);
    vigil_batch_destroy(b);
}

Test(batch, drops_and_counts_late_events)
{
    struct vigil_batch *b = new_batch();
    int64_t cutoff = T0 - 3600 * 1000;
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, cutoff - 1, 1),
                 VIGIL_BATCH_LATE);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, cutoff - 1, sv("x"), 1),
                 VIGIL_BATCH_LATE);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, 0, sv("x")),
                 VIGIL_BATCH_LATE);
    cr_assert_eq(vigil_batch_n_groups(b), 0);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, cutoff, 1), 0);
    struct vigil_batch_stats st = vigil_batch_stats(b);
    cr_assert_eq(st.late, 3);
    cr_assert_eq(st.added, 1);
    /* Future events are not late. */
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, T0 + 86400000, 1), 0);
    vigil_batch_destroy(b);
}

Test(batch, refuses_wrong_kinds_and_bad_input_without_changing_anything)
{
    struct vigil_batch *b = new_batch();
    char big[VIGIL_BATCH_MAX_KEY + 1];
    memset(big, 'k', sizeof(big));
    cr_assert_eq(vigil_batch_count(b, C_BY_SRC, T0, 1), -1);
    cr_assert_eq(vigil_batch_count_key(b, C_PLAIN, T0, sv("x"), 1), -1);
    cr_assert_eq(vigil_batch_distinct(b, C_BYTES, T0, sv("x")), -1);
    cr_assert_eq(vigil_batch_pair_start(b, C_USERS, T0, sv("x")), -1);
    cr_assert_eq(vigil_batch_count(b, 99, T0, 1), -1);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, -1, 1), -1);
    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, T0,
                                       (struct vigil_sv){big, sizeof(big)}, 1),
                 -1);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, T0, NAN), -1);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, T0, INFINITY), -1);
    cr_assert_eq(vigil_batch_n_groups(b), 0);

    cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, T0,
                                       (struct vigil_sv){big, sizeof(big) - 1},
                                       1),
                 0);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, T0, INT64_MAX), 0);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, T0, 1), -1);
    cr_assert_eq(find_group(b, C_PLAIN, VIGIL_ROLE_COUNT, T0 / 1000)->count,
                 INT64_MAX);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, T0, 1e308), 0);
    cr_assert_eq(vigil_batch_sum(b, C_BYTES, T0, 1e308), -1);
    cr_assert_eq(find_group(b, C_BYTES, VIGIL_ROLE_SUM_COUNT, T0 / 1000)->count,
                 1);
    vigil_batch_destroy(b);
}

Test(batch, folds_a_pair_key_into_start_first_end_and_trailing_start)
{
    struct vigil_batch *b = new_batch();
    /* Two starts before the first end: the earliest wins. */
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, T0 + 5000, sv("i1")), 0);
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, T0 + 3000, sv("i1")), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, T0 + 65000, sv("i1")), 0);
    /* After the first end: a start and end complete inside the batch. */
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, T0 + 70000, sv("i1")), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, T0 + 70500, sv("i1")), 0);
    /* An end with nothing open in the batch is ignored. */
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, T0 + 71000, sv("i1")), 0);
    /* And a start that stays open. */
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, T0 + 80000, sv("i1")), 0);
    /* Another key: only a start. */
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, T0 + 1000, sv("i2")), 0);

    const struct vigil_batch_group *open =
        find_group(b, C_CONTAIN, VIGIL_ROLE_PAIR_OPEN, 0);
    cr_assert_eq(open->n_entries, 2);
    const struct vigil_batch_entry *e = find_entry(b, open, "i1");
    cr_assert_eq(e->start, T0 + 3000);
    cr_assert_eq(e->end, T0 + 65000);
    cr_assert_eq(e->trail, T0 + 80000);
    const struct vigil_batch_group *stats =
        vigil_batch_group_at(b, e->end_group);
    cr_assert_eq(stats->role, VIGIL_ROLE_PAIR_STATS);
    cr_assert_eq(stats->bucket, T0 / 1000 + 60);
    /* The in-batch pair (500 ms, inside `within` of 1000 ms). */
    cr_assert_eq(find_entry(b, stats, "count")->count, 1);
    cr_assert_eq(find_entry(b, stats, "sum")->count, 500);
    cr_assert_eq(find_entry(b, stats, "within")->count, 1);
    char bin[16];
    snprintf(bin, sizeof(bin), "b%u", vigil_batch_bin(500));
    cr_assert_eq(find_entry(b, stats, bin)->count, 1);
    cr_assert_eq(stats->n_entries, 4);

    e = find_entry(b, open, "i2");
    cr_assert_eq(e->start, T0 + 1000);
    cr_assert_eq(e->end, VIGIL_BATCH_NO_TIME);
    cr_assert_eq(e->trail, VIGIL_BATCH_NO_TIME);
    cr_assert_eq(e->end_group, VIGIL_BATCH_NONE);
    vigil_batch_destroy(b);
}

Test(batch, counts_a_pair_beyond_within_without_within)
{
    struct vigil_batch *b = new_batch();
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, T0, sv("k")), 0);
    cr_assert_eq(vigil_batch_pair_start(b, C_CONTAIN, T0 + 1000, sv("k")), 0);
    cr_assert_eq(vigil_batch_pair_end(b, C_CONTAIN, T0 + 3000, sv("k")), 0);
    const struct vigil_batch_group *stats =
        find_group(b, C_CONTAIN, VIGIL_ROLE_PAIR_STATS, T0 / 1000);
    cr_assert_eq(find_entry(b, stats, "count")->count, 1);
    cr_assert_eq(find_entry(b, stats, "sum")->count, 2000);
    cr_assert_null(find_entry(b, stats, "within"));
    vigil_batch_destroy(b);
}

Test(batch, histogram_bins_are_contiguous_and_ordered)
{
    cr_assert_eq(vigil_batch_bin(-5), 0);
    for (int64_t d = 0; d < 4; d++)
        cr_assert_eq(vigil_batch_bin(d), (unsigned)d);
    cr_assert_eq(vigil_batch_bin(4), 4);
    cr_assert_eq(vigil_batch_bin(7), 7);
    cr_assert_eq(vigil_batch_bin(8), 8);
    cr_assert_eq(vigil_batch_bin(9), 8);
    cr_assert_eq(vigil_batch_bin(10), 9);
    cr_assert_eq(vigil_batch_bin(16), 12);
    for (int64_t d = 1; d < 100000; d += 1 + d / 50) {
        unsigned bin = vigil_batch_bin(d);
        cr_assert_leq(vigil_batch_bin_low(bin), d);
        cr_assert_gt(vigil_batch_bin_low(bin + 1), d);
        cr_assert_geq(bin, vigil_batch_bin(d - 1));
    }
    /* Bounded: a year in ms stays under 200 bins. */
    cr_assert_lt(vigil_batch_bin(INT64_C(365) * 86400 * 1000), 200);
}

Test(batch, records_partitions_with_the_first_expected_and_last_next)
{
    struct vigil_batch *b = new_batch();
    cr_assert_eq(vigil_batch_offset(b, "events", 0, VIGIL_OFFSET_UNSET, 1), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 1, 40, 41), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 0, 5, 7), 0);
    cr_assert_eq(vigil_batch_offset(b, "other", 0, 3, 9), 0);
    cr_assert_eq(vigil_batch_offset(b, "events", 1, 41, 45), 0);
    cr_assert_eq(vigil_batch_offset(b, "", 0, 0, 1), -1);
    cr_assert_eq(vigil_batch_offset(b, "events", -1, 0, 1), -1);
    cr_assert_eq(vigil_batch_n_partitions(b), 3);
    const struct vigil_batch_partition *p = vigil_batch_partition_at(b, 0);
    cr_assert_str_eq(p->topic, "events");
    cr_assert_eq(p->partition, 0);
    cr_assert_eq(p->expected, VIGIL_OFFSET_UNSET);
    cr_assert_eq(p->next, 7);
    p = vigil_batch_partition_at(b, 1);
    cr_assert_eq(p->expected, 40);
    cr_assert_eq(p->next, 45);
    p = vigil_batch_partition_at(b, 2);
    cr_assert_str_eq(p->topic, "other");
    cr_assert(!vigil_batch_is_empty(b));
    vigil_batch_destroy(b);
}

Test(batch, reset_empties_the_batch_and_it_aggregates_again)
{
    struct vigil_batch *b = new_batch();
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, T0, sv("a"), 1), 0);
        cr_assert_eq(vigil_batch_count_key(b, C_BY_SRC, T0, sv("a"), 1), 0);
        cr_assert_eq(vigil_batch_offset(b, "events", 0, round, round + 1), 0);
        const struct vigil_batch_group *g =
            find_group(b, C_BY_SRC, VIGIL_ROLE_BY_KEY, T0 / 1000);
        cr_assert_eq(g->n_entries, 1);
        cr_assert_eq(find_entry(b, g, "a")->count, 2);
        cr_assert_eq(vigil_batch_n_groups(b), 1);
        cr_assert_eq(vigil_batch_partition_at(b, 0)->expected, round);
        vigil_batch_reset(b, T0);
        cr_assert(vigil_batch_is_empty(b));
        cr_assert_eq(vigil_batch_stats(b).added, 0);
    }
    /* The clock moves the lateness cutoff. */
    vigil_batch_reset(b, T0 + 7200 * 1000);
    cr_assert_eq(vigil_batch_count(b, C_PLAIN, T0, 1), VIGIL_BATCH_LATE);
    vigil_batch_destroy(b);
}

Test(batch, keeps_exact_counts_across_table_growth)
{
    struct vigil_batch *b = new_batch();
    char key[32];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20000; i++) {
            int n = snprintf(key, sizeof(key), "key-%d", i % 5000);
            cr_assert_eq(
                vigil_batch_count_key(b, C_BY_SRC, T0,
                                      (struct vigil_sv){key, (size_t)n}, 1),
                0);
        }
        const struct vigil_batch_group *g =
            find_group(b, C_BY_SRC, VIGIL_ROLE_BY_KEY, T0 / 1000);
        cr_assert_eq(g->n_entries, 5000);
        int64_t total = 0;
        for (uint32_t e = g->first; e != VIGIL_BATCH_NONE;) {
            const struct vigil_batch_entry *en = vigil_batch_entry_at(b, e);
            cr_assert_eq(en->count, 4);
            total += en->count;
            e = en->next;
        }
        cr_assert_eq(total, 20000);
        vigil_batch_reset(b, T0);
    }
    vigil_batch_destroy(b);
}

Test(batch, rejects_invalid_configs_with_a_reason)
{
    struct vigil_counter_def bad[] = {
        {.name = "has:colon", .kind = VIGIL_COUNTER_COUNT, .resolution_s = 10},
    };
    struct vigil_batch_config cfg = {
        .counters = bad, .n_counters = 1, .retention_s = 60};
    const char *why = NULL;
    cr_assert_null(vigil_batch_create(&cfg, &why));
    cr_assert_not_null(why);
    bad[0].name = "ok";
    bad[0].resolution_s = 0;
    cr_assert_null(vigil_batch_create(&cfg, &why));
    bad[0].resolution_s = 10;
    cfg.retention_s = 0;
    cr_assert_null(vigil_batch_create(&cfg, &why));
    cfg.retention_s = 60;
    struct vigil_batch *b = vigil_batch_create(&cfg, &why);
    cr_assert_not_null(b);
    vigil_batch_destroy(b);
}

/* ---- findings ---- */

static struct vigil_batch *new_batch_findings(size_t max_findings)
{
    const char *why = NULL;
    struct vigil_batch_config cfg = {
        .counters = defs,
        .n_counters = sizeof(defs) / sizeof(defs[0]),
        .retention_s = 3600,
        .max_findings = max_findings,
    };
    struct vigil_batch *b = vigil_batch_create(&cfg, &why);
    cr_assert_not_null(b, "%s", why);
    vigil_batch_reset(b, T0);
    return b;
}

static struct vigil_batch_field fld(const char *name, const char *value)
{
    return (struct vigil_batch_field){{name, strlen(name)},
                                      {value, strlen(value)}};
}

static void assert_field(const struct vigil_batch *b, size_t i, size_t j,
                         const char *name, const char *value)
{
    struct vigil_batch_field f = vigil_batch_finding_field(b, i, j);
    cr_assert_eq(f.name.len, strlen(name), "finding %zu field %zu", i, j);
    cr_assert_eq(memcmp(f.name.ptr, name, f.name.len), 0);
    cr_assert_eq(f.value.len, strlen(value), "finding %zu field %zu: %.*s", i,
                 j, (int)f.value.len, f.value.ptr);
    cr_assert_eq(memcmp(f.value.ptr, value, f.value.len), 0);
}

Test(batch, holds_findings_in_order_with_their_fields_copied)
{
    struct vigil_batch *b = new_batch_findings(10);
    char ip[16] = "203.0.113.7";
    struct vigil_batch_field one[] = {fld("rule", "sshd.auth_failure"),
                                      fld("src_ip", ip), fld("user", "")};
    cr_assert_eq(vigil_batch_finding(b, one, 3), 0);
    memcpy(ip, "xxxxxxxxxxx", 11); /* the batch has its own copy */
    struct vigil_batch_field two[] = {fld("rule", "av.clamav_detection")};
    cr_assert_eq(vigil_batch_finding(b, two, 1), 0);

    cr_assert_eq(vigil_batch_n_findings(b), 2);
    cr_assert_eq(vigil_batch_finding_fields(b, 0), 3);
    cr_assert_eq(vigil_batch_finding_fields(b, 1), 1);
    assert_field(b, 0, 0, "rule", "sshd.auth_failure");
    assert_field(b, 0, 1, "src_ip", "203.0.113.7");
    assert_field(b, 0, 2, "user", "");
    assert_field(b, 1, 0, "rule", "av.clamav_detection");
    cr_assert_null(vigil_batch_finding_field(b, 1, 1).name.ptr);
    cr_assert_null(vigil_batch_finding_field(b, 2, 0).name.ptr);
    cr_assert_not(vigil_batch_is_empty(b), "findings alone are something");
    cr_assert_eq(vigil_batch_stats(b).findings_dropped, 0);

    vigil_batch_reset(b, T0);
    cr_assert_eq(vigil_batch_n_findings(b), 0);
    cr_assert(vigil_batch_is_empty(b));
    vigil_batch_destroy(b);
}

Test(batch, counts_findings_beyond_its_cap_as_dropped_never_holds_them)
{
    struct vigil_batch *b = new_batch_findings(3);
    struct vigil_batch_field f[] = {fld("rule", "r")};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(vigil_batch_finding(b, f, 1), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(vigil_batch_finding(b, f, 1), VIGIL_BATCH_DROPPED);
    cr_assert_eq(vigil_batch_n_findings(b), 3);
    cr_assert_eq(vigil_batch_stats(b).findings_dropped, 5);
    /* The next batch starts from nothing, with room again. */
    vigil_batch_reset(b, T0);
    cr_assert_eq(vigil_batch_stats(b).findings_dropped, 0);
    cr_assert_eq(vigil_batch_finding(b, f, 1), 0);
    vigil_batch_destroy(b);

    /* Without a cap set, a batch holds none and counts each. */
    b = new_batch(); /* max_findings 0 */
    cr_assert_eq(vigil_batch_finding(b, f, 1), VIGIL_BATCH_DROPPED);
    cr_assert_eq(vigil_batch_n_findings(b), 0);
    cr_assert_eq(vigil_batch_stats(b).findings_dropped, 1);
    vigil_batch_destroy(b);
}

Test(batch, cuts_long_finding_values_at_a_utf8_character_boundary)
{
    struct vigil_batch *b = new_batch_findings(4);
    char v[400];
    memset(v, 'a', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    struct vigil_batch_field f[] = {fld("msg", v)};
    cr_assert_eq(vigil_batch_finding(b, f, 1), 0);
    struct vigil_batch_field got = vigil_batch_finding_field(b, 0, 0);
    cr_assert_eq(got.value.len, VIGIL_BATCH_FINDING_VALUE_MAX);

    /* "é" (2 bytes) straddling the limit goes whole. */
    memset(v, 'a', sizeof(v) - 1);
    v[VIGIL_BATCH_FINDING_VALUE_MAX - 1] = (char)0xC3;
    v[VIGIL_BATCH_FINDING_VALUE_MAX] = (char)0xA9;
    f[0] = fld("msg", v);
    cr_assert_eq(vigil_batch_finding(b, f, 1), 0);
    got = vigil_batch_finding_field(b, 1, 0);
    cr_assert_eq(got.value.len, VIGIL_BATCH_FINDING_VALUE_MAX - 1);
    cr_assert_eq(got.value.ptr[got.value.len - 1], 'a');

    /* A value exactly at the limit is kept whole; NULL is empty. */
    v[VIGIL_BATCH_FINDING_VALUE_MAX] = '\0';
    struct vigil_batch_field g[] = {fld("msg", v), {{"none", 4}, {NULL, 7}}};
    cr_assert_eq(vigil_batch_finding(b, g, 2), 0);
    cr_assert_eq(vigil_batch_finding_field(b, 2, 0).value.len,
                 VIGIL_BATCH_FINDING_VALUE_MAX);
    cr_assert_eq(vigil_batch_finding_field(b, 2, 1).value.len, 0);
    vigil_batch_destroy(b);
}

Test(batch, rejects_findings_with_invalid_fields_and_stays_unchanged)
{
    struct vigil_batch *b = new_batch_findings(4);
    struct vigil_batch_field f[VIGIL_BATCH_FINDING_FIELDS_MAX + 1];
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        f[i] = fld("k", "v");
    cr_assert_eq(vigil_batch_finding(b, f, 0), -1);
    cr_assert_eq(vigil_batch_finding(b, f, VIGIL_BATCH_FINDING_FIELDS_MAX + 1),
                 -1);
    cr_assert_eq(vigil_batch_finding(b, f, VIGIL_BATCH_FINDING_FIELDS_MAX), 0);
    char name[VIGIL_BATCH_FINDING_NAME_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    struct vigil_batch_field bad[] = {fld("rule", "r"), fld(name, "v")};
    cr_assert_eq(vigil_batch_finding(b, bad, 2), -1);
    bad[1] = fld("", "v");
    cr_assert_eq(vigil_batch_finding(b, bad, 2), -1);
    cr_assert_eq(vigil_batch_n_findings(b), 1);
    cr_assert_eq(vigil_batch_stats(b).findings_dropped, 0);
    vigil_batch_destroy(b);
}
