#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
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

Test(synth, next_kind_writes_only_that_source)
{
    struct vigil_synth s;
    vigil_synth_init(&s, 5);
    char buf[2048];
    for (int i = 0; i < 500; i++) {
        size_t n =
            vigil_synth_next_kind(&s, VIGIL_SYNTH_SUDO, NOW, buf, sizeof(buf));
        buf[n] = '\0';
        cr_assert_not_null(strstr(buf, " sudo: "), "%s", buf);
        n = vigil_synth_next_kind(&s, VIGIL_SYNTH_HEARTBEAT, NOW, buf,
                                  sizeof(buf));
        buf[n] = '\0';
        cr_assert_not_null(strstr(buf, "\"heartbeat\""), "%s", buf);
    }
    cr_assert_float_eq(vigil_synth_share(VIGIL_SYNTH_SUDO), 0.08, 1e-9);
    cr_assert_float_eq(vigil_synth_share(VIGIL_SYNTH_ANY), 1.0, 1e-9);
}

Test(synth, calm_site_clears_no_audit_log_and_few_fumblers_fail)
{
    struct vigil_synth s;
    vigil_synth_init(&s, 11);
    s.mode = VIGIL_SYNTH_CALM;
    char buf[2048];
    int sshd = 0, failed = 0;
    char failing[8][32];
    int n_failing = 0;
    for (int i = 0; i < 50000; i++) {
        size_t n = vigil_synth_next(&s, NOW, buf, sizeof(buf));
        buf[n] = '\0';
        cr_assert_null(strstr(buf, "\"event_id\":1102"), "%s", buf);
        if (!strstr(buf, "sshd["))
            continue;
        sshd++;
        const char *f = strstr(buf, "Failed password for ");
        if (!f)
            continue;
        failed++;
        char user[32];
        cr_assert_eq(sscanf(f, "Failed password for %31s", user), 1);
        bool seen = false;
        for (int k = 0; k < n_failing; k++)
            seen |= strcmp(failing[k], user) == 0;
        if (!seen) {
            cr_assert_lt(n_failing, 8, "too many failing accounts");
            memcpy(failing[n_failing++], user, sizeof(user));
        }
    }
    cr_assert_gt(sshd, 5000);
    cr_assert_lt(failed * 20, sshd, "%d of %d sshd lines fail", failed, sshd);
    cr_assert_leq(n_failing, 4);
}

Test(synth, calm_detections_are_all_quarantined)
{
    struct vigil_synth s;
    vigil_synth_init(&s, 13);
    s.mode = VIGIL_SYNTH_CALM;
    char buf[2048];
    int found = 0, moved = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n =
            vigil_synth_next_kind(&s, VIGIL_SYNTH_AV, NOW, buf, sizeof(buf));
        buf[n] = '\0';
        found += strstr(buf, " FOUND") != NULL;
        moved += strstr(buf, ": moved to '") != NULL;
    }
    cr_assert_gt(found, 100);
    cr_assert(moved == found || moved + 1 == found, "%d found, %d moved", found,
              moved);
}
