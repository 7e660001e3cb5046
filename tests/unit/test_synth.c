#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <string.h>

#include "synth.h"

#define NOW 1763900000000LL

Test(synth, same_seed_gives_same_events)
{
    struct vigil_synth a, b;
    vigil_synth_init(&a, 7);
    vigil_synth_init(&b, 7);
    char x[2048], y[2048];
    for (int i = 0; i < 1000; i++) {
        size_t n = vigil_synth_next(&a, NOW + i, x, sizeof(x));
        size_t m = vigil_synth_next(&b, NOW + i, y, sizeof(y));
        cr_assert_eq(n, m);
        cr_assert(memcmp(x, y, n) == 0);
    }
}

Test(synth, json_events_are_valid_json_and_lines_have_no_newline)
{
    struct vigil_synth s;
    vigil_synth_init(&s, 1);
    char buf[2048];
    int json = 0;
    for (int i = 0; i < 5000; i++) {
        size_t n = vigil_synth_next(&s, NOW + i * 10, buf, sizeof(buf));
        cr_assert_gt(n, 20);
        cr_assert_lt(n, sizeof(buf));
        cr_assert_null(memchr(buf, '\n', n));
        if (buf[0] == '{') {
            cJSON *j = cJSON_ParseWithLength(buf, n);
            cr_assert_not_null(j, "invalid JSON: %.*s", (int)n, buf);
            cJSON_Delete(j);
            json++;
        }
    }
    cr_assert_gt(json, 1000);
}

Test(synth, burst_is_mostly_failed_ssh_logins_from_few_sources)
{
    struct vigil_synth s;
    vigil_synth_init(&s, 3);
    s.mode = VIGIL_SYNTH_BURST;
    char buf[2048];
    int failed = 0, attacker = 0;
    for (int i = 0; i < 1000; i++) {
        size_t n = vigil_synth_next(&s, NOW, buf, sizeof(buf));
        buf[n] = '\0';
        if (strstr(buf, "sshd[") && strstr(buf, "Failed password")) {
            failed++;
            if (strstr(buf, "from 185.220.101.1"))
                attacker++;
        }
    }
    cr_assert_gt(failed, 500);
    cr_assert_gt(attacker, failed / 2);
}
