#include <criterion/criterion.h>
#include <string.h>

#include "event.h"

Test(event, finds_last_field_with_name)
{
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, "x", 1);
    vigil_event_add(&ev, VIGIL_SV("user"), VIGIL_SV("alice"),
                    VIGIL_FIELD_STRING, false);
    vigil_event_add(&ev, VIGIL_SV("user"), VIGIL_SV("bob"), VIGIL_FIELD_STRING,
                    false);
    const struct vigil_field *f = vigil_event_find(&ev, VIGIL_SV("user"));
    cr_assert_not_null(f);
    cr_assert_eq(f->value.len, 3);
    cr_assert(memcmp(f->value.ptr, "bob", 3) == 0);
    cr_assert_null(vigil_event_find(&ev, VIGIL_SV("use")));
    vigil_event_fini(&ev);
}

Test(event, unescapes_json_strings_on_demand)
{
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, "x", 1);
    vigil_event_add(&ev, VIGIL_SV("m"),
                    VIGIL_SV("a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00"),
                    VIGIL_FIELD_STRING, true);
    struct vigil_sv v;
    cr_assert_eq(vigil_event_value(&ev, &ev.fields[0], &v), 0);
    cr_assert_eq(v.len, strlen("a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80"));
    cr_assert(memcmp(v.ptr, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80", v.len) == 0);
    vigil_event_fini(&ev);
}

Test(event, rejects_bad_escapes)
{
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, "x", 1);
    vigil_event_add(&ev, VIGIL_SV("m"), VIGIL_SV("bad\\x"), VIGIL_FIELD_STRING,
                    true);
    vigil_event_add(&ev, VIGIL_SV("n"), VIGIL_SV("short\\u12"),
                    VIGIL_FIELD_STRING, true);
    struct vigil_sv v;
    cr_assert_eq(vigil_event_value(&ev, &ev.fields[0], &v), -1);
    cr_assert_eq(vigil_event_value(&ev, &ev.fields[1], &v), -1);
    vigil_event_fini(&ev);
}

Test(event, scratch_views_survive_growth_and_reset_reuses_memory)
{
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, "x", 1);
    char *first = vigil_event_scratch(&ev, "first", 5);
    for (int i = 0; i < 2000; i++)
        cr_assert_not_null(vigil_event_scratch(&ev, "0123456789", 10));
    char big[10000];
    memset(big, 'b', sizeof(big));
    cr_assert_not_null(vigil_event_scratch(&ev, big, sizeof(big)));
    cr_assert_str_eq(first, "first");
    vigil_event_reset(&ev, "y", 1);
    cr_assert_eq(ev.n_fields, 0);
    cr_assert_str_eq(vigil_event_scratch(&ev, "again", 5), "again");
    vigil_event_fini(&ev);
}

Test(event, refuses_fields_beyond_the_limit)
{
    struct vigil_event ev;
    vigil_event_init(&ev);
    vigil_event_reset(&ev, "x", 1);
    for (int i = 0; i < VIGIL_EVENT_MAX_FIELDS; i++)
        cr_assert_eq(vigil_event_add(&ev, VIGIL_SV("f"), VIGIL_SV("v"),
                                     VIGIL_FIELD_STRING, false),
                     0);
    cr_assert_eq(vigil_event_add(&ev, VIGIL_SV("f"), VIGIL_SV("v"),
                                 VIGIL_FIELD_STRING, false),
                 -1);
    vigil_event_fini(&ev);
}
