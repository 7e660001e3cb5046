/* feed_json: what the feed says about indicators, samples, breaches and
 * findings, and Redis stream IDs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "feed_json.h"

static const char yaml[] = "indicators:\n"
                           "  - id: KPI-BF\n"
                           "    name: SSH brute-force pressure\n"
                           "    information_need: Are passwords guessed?\n"
                           "    data_source: sshd\n"
                           "    kind: effectiveness\n"
                           "    entity: Bastion hosts\n"
                           "    owner: soc-lead\n"
                           "    frequency: 15s\n"
                           "    value: top(fails_by_src, 5m)\n"
                           "    unit: failures per source per 5m\n"
                           "    target: \"< 20\"\n"
                           "    decision: { breach: \">= 50\", ok: \"< 50\" }\n"
                           "    severity: high\n"
                           "    labels: { team: identity }\n";

static struct vigil_indicator_set *set;

static void load(void)
{
    struct vigil_indicator_source src = {"t.yaml", yaml, strlen(yaml)};
    struct vigil_diags d;
    vigil_diags_init(&d);
    set = vigil_indicator_set_load_sources(&src, 1, NULL, &d);
    if (!set)
        vigil_diags_print(&d, stderr);
    vigil_diags_fini(&d);
    cr_assert_not_null(set);
}

static void unload(void)
{
    vigil_indicator_set_destroy(set);
}

TestSuite(feed_json, .init = load, .fini = unload);

/* ---- fake stream entries ---- */

struct fake {
    redisReply entry, id, fields;
    redisReply kv[32];
    redisReply *kvp[32];
    redisReply *top[2];
};

static void str(redisReply *r, const char *s)
{
    memset(r, 0, sizeof(*r));
    r->type = REDIS_REPLY_STRING;
    r->str = (char *)s;
    r->len = strlen(s);
}

/* [id, [k, v, ...]] over the NULL-terminated pairs. */
static redisReply *entry(struct fake *f, const char *id, const char *const *kv)
{
    memset(f, 0, sizeof(*f));
    size_t n = 0;
    while (kv[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        str(&f->kv[i], kv[i]);
        f->kvp[i] = &f->kv[i];
    }
    str(&f->id, id);
    f->fields.type = REDIS_REPLY_ARRAY;
    f->fields.elements = n;
    f->fields.element = f->kvp;
    f->top[0] = &f->id;
    f->top[1] = &f->fields;
    f->entry.type = REDIS_REPLY_ARRAY;
    f->entry.elements = 2;
    f->entry.element = f->top;
    return &f->entry;
}

static const char *jstr(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

/* ---- stream IDs ---- */

Test(feed_json, stream_ids_parse_with_or_without_a_sequence)
{
    struct vigil_feed_sid s;
    cr_assert(vigil_feed_sid_parse("1700000000000-3", 15, &s));
    cr_assert_eq(s.ms, 1700000000000ULL);
    cr_assert_eq(s.seq, 3);
    cr_assert(vigil_feed_sid_parse("42", 2, &s));
    cr_assert_eq(s.ms, 42);
    cr_assert_eq(s.seq, 0);
}

Test(feed_json, malformed_stream_ids_are_refused)
{
    struct vigil_feed_sid s;
    const char *bad[] = {"",    "-",   "1-",    "-1",
                         "a-1", "1-b", "1-2-3", "99999999999999999999999",
                         "1 -2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(vigil_feed_sid_parse(bad[i], strlen(bad[i]), &s), "%s",
                      bad[i]);
}

Test(feed_json, stream_ids_compare_by_time_then_sequence_and_round_trip)
{
    struct vigil_feed_sid a = {5, 9}, b = {6, 0}, c = {6, 1};
    cr_assert_lt(vigil_feed_sid_cmp(a, b), 0);
    cr_assert_lt(vigil_feed_sid_cmp(b, c), 0);
    cr_assert_gt(vigil_feed_sid_cmp(c, a), 0);
    cr_assert_eq(vigil_feed_sid_cmp(c, c), 0);
    char buf[48];
    vigil_feed_sid_format(c, buf, sizeof(buf));
    cr_assert_str_eq(buf, "6-1");
}

Test(feed_json, times_are_iso_8601_utc_and_never_is_empty)
{
    char buf[40];
    vigil_feed_json_time(1700000000000LL, buf, sizeof(buf));
    cr_assert_str_eq(buf, "2023-11-14T22:13:20Z");
    vigil_feed_json_time(VIGIL_ISTATE_NEVER, buf, sizeof(buf));
    cr_assert_str_eq(buf, "");
}

/* ---- indicators ---- */

Test(feed_json, a_never_evaluated_indicator_has_its_definition_and_null_state)
{
    cJSON *o = vigil_feed_json_indicator(&set->v[0], NULL, 0);
    cr_assert_not_null(o);
    cr_assert_str_eq(jstr(o, "id"), "KPI-BF");
    cr_assert_str_eq(jstr(o, "name"), "SSH brute-force pressure");
    cr_assert_str_eq(jstr(o, "unit"), "failures per source per 5m");
    cr_assert_str_eq(jstr(o, "target"), "< 20");
    cr_assert_str_eq(jstr(o, "owner"), "soc-lead");
    cr_assert_str_eq(jstr(o, "kind"), "effectiveness");
    cr_assert_str_eq(jstr(o, "entity"), "Bastion hosts");
    cr_assert_str_eq(jstr(o, "severity"), "high");
    cr_assert_str_eq(jstr(cJSON_GetObjectItem(o, "labels"), "team"),
                     "identity");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "value")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "state")));
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(o, "top")));
    cr_assert_null(cJSON_GetObjectItem(o, "transition"));
    cJSON_Delete(o);
}

static struct vigil_feed_item *breach_item(void)
{
    struct vigil_expr_key_count top[] = {{"203.0.113.7", 11, 60},
                                         {"198.51.100.2", 12, 30}};
    struct vigil_istate_view view = {.pending = true,
                                     .pending_state = VIGIL_STATE_BREACH,
                                     .pending_since_ms = 1700000000000LL};
    struct vigil_istate_event ev = {
        .kind = VIGIL_EVENT_OPENED,
        .state = VIGIL_STATE_BREACH,
        .previous = VIGIL_STATE_OK,
        .since_ms = 1700000060000LL,
        .previous_since_ms = 1700000000000LL,
        .has_value = true,
        .value = 60,
        .notify = true,
        .episode_ms = 1700000060000LL,
    };
    struct vigil_indicator_snapshot snap = {
        .ind = &set->v[0],
        .at_ms = 1700000060000LL,
        .has_value = true,
        .value = 60,
        .state = VIGIL_STATE_BREACH,
        .since_ms = 1700000060000LL,
        .view = &view,
        .event = &ev,
        .top = top,
        .n_top = 2,
    };
    struct vigil_feed_item *it = vigil_feed_item_create(&snap);
    cr_assert_not_null(it);
    return it;
}

Test(feed_json, an_item_copies_the_snapshot_including_top_offenders)
{
    struct vigil_feed_item *it = breach_item();
    cr_assert_eq(it->n_top, 2);
    cr_assert_str_eq(it->top[0].key, "203.0.113.7");
    cr_assert_eq(it->top[1].count, 30);
    cr_assert_eq(vigil_feed_item_ref(it), it);
    vigil_feed_item_unref(it);
    vigil_feed_item_unref(it);
}

Test(feed_json, an_evaluated_indicator_has_value_state_since_and_top)
{
    struct vigil_feed_item *it = breach_item();
    cJSON *o =
        vigil_feed_json_indicator(&set->v[0], it, VIGIL_FEED_JSON_TRANSITION);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "value")), 60);
    cr_assert_str_eq(jstr(o, "state"), "breach");
    cr_assert_str_eq(jstr(o, "since"), "2023-11-14T22:14:20Z");
    cr_assert_str_eq(jstr(cJSON_GetObjectItem(o, "pending"), "state"),
                     "breach");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "recovering")));
    cJSON *top = cJSON_GetObjectItem(o, "top");
    cr_assert_eq(cJSON_GetArraySize(top), 2);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(top, 0), "key"), "203.0.113.7");
    cJSON *tr = cJSON_GetObjectItem(o, "transition");
    cr_assert_str_eq(jstr(tr, "event"), "opened");
    cr_assert_str_eq(jstr(tr, "previous"), "ok");
    cr_assert_str_eq(jstr(tr, "dedup"), "KPI-BF:1700000060000");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(tr, "duration_ms")),
                 60000);
    cJSON_Delete(o);
    vigil_feed_item_unref(it);
}

Test(feed_json, a_rebound_item_points_at_the_new_definition_with_its_own_top)
{
    struct vigil_feed_item *it = breach_item();
    struct vigil_feed_item *c = vigil_feed_item_rebind(it, &set->v[0]);
    cr_assert_not_null(c);
    cr_assert_neq(c->top, it->top);
    cr_assert_str_eq(c->top[1].key, "198.51.100.2");
    cr_assert_eq(c->value, 60);
    vigil_feed_item_unref(it);
    cr_assert_str_eq(c->top[0].key, "203.0.113.7");
    vigil_feed_item_unref(c);
}

Test(feed_json, no_transition_renders_as_null)
{
    struct vigil_indicator_snapshot snap = {.ind = &set->v[0],
                                            .state = VIGIL_STATE_OK};
    struct vigil_feed_item *it = vigil_feed_item_create(&snap);
    cr_assert_null(vigil_feed_json_transition(it, NULL));
    cJSON *o =
        vigil_feed_json_indicator(&set->v[0], it, VIGIL_FEED_JSON_TRANSITION);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "transition")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "value")));
    cJSON_Delete(o);
    vigil_feed_item_unref(it);
}

/* ---- stream entries ---- */

Test(feed_json, a_history_sample_has_time_value_and_state)
{
    struct fake f;
    const char *kv[] = {"value", "12.5", "state", "warn", NULL};
    cJSON *o = vigil_feed_json_sample(entry(&f, "1700000000000-0", kv));
    cr_assert_not_null(o);
    cr_assert_str_eq(jstr(o, "id"), "1700000000000-0");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "t")),
                 1700000000000.0);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "value")), 12.5);
    cr_assert_str_eq(jstr(o, "state"), "warn");
    cJSON_Delete(o);
}

Test(feed_json, an_empty_sample_value_is_null_data)
{
    struct fake f;
    const char *kv[] = {"value", "", "state", "no_data", NULL};
    cJSON *o = vigil_feed_json_sample(entry(&f, "5-1", kv));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "value")));
    cJSON_Delete(o);
}

Test(feed_json, malformed_entries_are_refused)
{
    struct fake f;
    const char *kv[] = {"value", "1", NULL};
    cr_assert_null(vigil_feed_json_sample(entry(&f, "not-an-id", kv)));
    redisReply *e = entry(&f, "1-0", kv);
    f.fields.elements = 1; /* odd field count */
    cr_assert_not(vigil_feed_json_is_entry(e));
    cr_assert_null(vigil_feed_json_breach(e, set));
    redisReply nil = {.type = REDIS_REPLY_NIL};
    cr_assert_not(vigil_feed_json_is_entry(&nil));
    cr_assert_null(vigil_feed_json_finding(&nil));
}

Test(feed_json, a_breach_record_has_times_numbers_dedup_and_every_key)
{
    struct fake f;
    const char *kv[] = {"indicator",
                        "KPI-BF",
                        "event",
                        "opened",
                        "state",
                        "breach",
                        "previous",
                        "ok",
                        "value",
                        "60",
                        "since",
                        "1700000060000",
                        "previous_since",
                        "1700000000000",
                        "episode",
                        "1700000060000",
                        NULL};
    cJSON *o = vigil_feed_json_breach(entry(&f, "1700000060000-0", kv), set);
    cr_assert_str_eq(jstr(o, "id"), "1700000060000-0");
    cr_assert_str_eq(jstr(o, "at"), "2023-11-14T22:14:20Z");
    cr_assert_str_eq(jstr(o, "name"), "SSH brute-force pressure");
    cr_assert_str_eq(jstr(o, "since"), "2023-11-14T22:14:20Z");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "value")), 60);
    cr_assert_str_eq(jstr(o, "dedup"), "KPI-BF:1700000060000");
    /* Keys the record lacks are there, as null. */
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "duration_ms")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "severity")));
    cJSON_Delete(o);
}

Test(feed_json, an_ack_record_keeps_its_other_fields_as_strings)
{
    struct fake f;
    const char *kv[] = {"indicator", "KPI-GONE", "event", "acked",
                        "by",        "alice",    NULL};
    cJSON *o = vigil_feed_json_breach(entry(&f, "7-0", kv), set);
    cr_assert_str_eq(jstr(o, "event"), "acked");
    cr_assert_str_eq(jstr(o, "by"), "alice");
    /* An indicator the set does not know has no name. */
    cr_assert_null(cJSON_GetObjectItem(o, "name"));
    cJSON_Delete(o);
}

Test(feed_json, a_finding_has_its_fields_and_cannot_override_id)
{
    struct fake f;
    const char *kv[] = {"rule",   "sshd.auth_failure", "id", "forged",
                        "src_ip", "203.0.113.7",       NULL};
    cJSON *o = vigil_feed_json_finding(entry(&f, "1700000000000-2", kv));
    cr_assert_str_eq(jstr(o, "id"), "1700000000000-2");
    cr_assert_str_eq(jstr(o, "rule"), "sshd.auth_failure");
    cr_assert_str_eq(jstr(o, "src_ip"), "203.0.113.7");
    cJSON_Delete(o);
}

static void strip_replay_only(cJSON *o)
{
    cJSON_DeleteItemFromObject(o, "replayed");
    cJSON_DeleteItemFromObject(o, "evaluated_at");
    cJSON *tr = cJSON_GetObjectItem(o, "transition");
    if (cJSON_IsObject(tr))
        cJSON_DeleteItemFromObject(tr, "id");
}

Test(feed_json, a_replayed_hist_entry_says_what_the_live_frame_said)
{
    struct vigil_feed_item *it = breach_item();
    cJSON *live =
        vigil_feed_json_indicator(&set->v[0], it, VIGIL_FEED_JSON_TRANSITION);
    /* What indicator_store.c writes for that evaluation. */
    struct fake h, b;
    const char *hist[] = {"value",
                          "60",
                          "state",
                          "breach",
                          "since",
                          "1700000060000",
                          "pending",
                          "breach",
                          "pending_since",
                          "1700000000000",
                          "top",
                          "[{\"key\":\"203.0.113.7\",\"count\":60},"
                          "{\"key\":\"198.51.100.2\",\"count\":30}]",
                          "event",
                          "opened",
                          NULL};
    const char *breach[] = {"indicator",
                            "KPI-BF",
                            "event",
                            "opened",
                            "state",
                            "breach",
                            "previous",
                            "ok",
                            "value",
                            "60",
                            "since",
                            "1700000060000",
                            "previous_since",
                            "1700000000000",
                            "duration_ms",
                            "60000",
                            "severity",
                            "high",
                            "episode",
                            "1700000060000",
                            NULL};
    cJSON *rep =
        vigil_feed_json_replayed(&set->v[0], entry(&h, "1700000060003-0", hist),
                                 entry(&b, "1700000060003-0", breach), set);
    cr_assert_not_null(rep);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(rep, "replayed")));
    cr_assert_str_eq(jstr(rep, "evaluated_at"), "2023-11-14T22:14:20Z");
    cr_assert_str_eq(jstr(cJSON_GetObjectItem(rep, "transition"), "id"),
                     "1700000060003-0");
    strip_replay_only(live);
    strip_replay_only(rep);
    char *ls = cJSON_PrintUnformatted(live), *rs = cJSON_PrintUnformatted(rep);
    cr_assert(cJSON_Compare(live, rep, true), "live:\n%s\nreplayed:\n%s", ls,
              rs);
    free(ls);
    free(rs);
    cJSON_Delete(live);
    cJSON_Delete(rep);
    vigil_feed_item_unref(it);
}

Test(feed_json, a_replayed_entry_of_an_older_version_has_nulls_not_guesses)
{
    struct fake h;
    const char *old[] = {"value",       "3",          "state", "ok", "top",
                         "{\"not\":1}", "recovering", "bogus", NULL};
    cJSON *rep = vigil_feed_json_replayed(
        &set->v[0], entry(&h, "1700000060003-0", old), NULL, NULL);
    cr_assert_not_null(rep);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(rep, "value")), 3);
    cr_assert_str_eq(jstr(rep, "state"), "ok");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(rep, "since")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(rep, "pending")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(rep, "recovering")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(rep, "transition")));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rep, "top")), 0);
    cJSON_Delete(rep);
}

Test(feed_json, a_finding_is_at_its_event_time_and_recorded_at_its_id)
{
    struct fake f;
    const char *kv[] = {"rule",     "av.clamav_detection",
                        "at",       "2023-11-14T22:00:00Z",
                        "recorded", "forged",
                        "offset",   "41",
                        NULL};
    cJSON *o = vigil_feed_json_finding(entry(&f, "1700000000000-2", kv));
    cr_assert_str_eq(jstr(o, "at"), "2023-11-14T22:00:00Z");
    cr_assert_str_eq(jstr(o, "recorded"), "2023-11-14T22:13:20Z");
    cr_assert_str_eq(jstr(o, "offset"), "41");
    cJSON_Delete(o);
    /* Without a usable at of its own: the id's time. */
    const char *bad[] = {"rule", "r", "at", "yesterday", NULL};
    o = vigil_feed_json_finding(entry(&f, "1700000000000-2", bad));
    cr_assert_str_eq(jstr(o, "at"), "2023-11-14T22:13:20Z");
    cJSON_Delete(o);
}
