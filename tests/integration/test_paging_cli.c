/*
 * `vigild ack` and `vigild silence` against a real redis-server, through
 * the vigild binary.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_server.h"
#include "support.h"

static struct {
    struct vigil_test_redis *redis;
    redisContext *rc;
    char *dir;
    char *config;
} fx;

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    fx.redis = vigil_test_redis_start(NULL);
    cr_assert_not_null(fx.redis);
    fx.rc = vigil_test_redis_connect(fx.redis, 2000);
    cr_assert_not_null(fx.rc);
    fx.dir = vigil_test_tmpdir("vigil-paging-cli");
    cr_assert_not_null(fx.dir);
    char text[1024];
    snprintf(text, sizeof(text),
             "redis:\n  url: \"%s\"\n  namespace: cli\n"
             "rules: [\"%s/config/good/rules/*.yaml\"]\n",
             vigil_test_redis_url(fx.redis), VIGIL_TESTS_DIR);
    fx.config = vigil_test_write_file(fx.dir, "vigil.yaml", text);
    cr_assert_not_null(fx.config);
}

static void teardown(void)
{
    if (fx.rc)
        redisFree(fx.rc);
    vigil_test_redis_stop(fx.redis);
    if (fx.dir)
        vigil_test_rm_rf(fx.dir);
    free(fx.dir);
    free(fx.config);
}

TestSuite(paging_cli, .init = setup, .fini = teardown, .timeout = 60);

struct run {
    int status;
    char *out;
    char *err;
};

/* vigild <cmd> -c <config> args... (NULL-terminated). */
static struct run vigild(const char *cmd, ...)
{
    char *argv[24] = {(char *)VIGILD_PATH, (char *)cmd, "-c", fx.config};
    size_t n = 4;
    va_list ap;
    va_start(ap, cmd);
    for (const char *a = va_arg(ap, const char *); a;
         a = va_arg(ap, const char *)) {
        cr_assert_lt(n, 23);
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;
    struct run r = {0};
    r.status = vigil_test_run(argv, NULL, &r.out, &r.err);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void open_breach(const char *id, const char *episode)
{
    redisReply *r = redisCommand(fx.rc,
                                 "HSET vigil:{cli}:state:%s state breach "
                                 "episode %s",
                                 id, episode);
    cr_assert_not_null(r);
    freeReplyObject(r);
}

static char *hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(fx.rc, "HGET %s %s", key, field);
    cr_assert_not_null(r);
    char *s = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return s;
}

Test(paging_cli, ack_records_who_and_when_once)
{
    open_breach("KPI-A", "1700000000000");
    struct run r =
        vigild("ack", "--by", "alice", "--comment", "on it", "KPI-A", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(
        strncmp(r.out, "acknowledged KPI-A:1700000000000 by alice at ", 45), 0,
        "%s", r.out);
    run_free(&r);
    char *by = hget("vigil:{cli}:state:KPI-A", "acked_by");
    char *ep = hget("vigil:{cli}:state:KPI-A", "ack_episode");
    char *at = hget("vigil:{cli}:state:KPI-A", "acked_at");
    cr_expect_str_eq(by, "alice");
    cr_expect_str_eq(ep, "1700000000000");
    cr_expect(at && strlen(at) >= 13);
    free(by);
    free(ep);
    free(at);

    redisReply *x = redisCommand(fx.rc, "XRANGE vigil:{cli}:breaches - +");
    cr_assert_not_null(x);
    cr_assert_eq(x->elements, 1);
    const redisReply *f = x->element[0]->element[1];
    char flat[1024] = "";
    for (size_t i = 0; i < f->elements; i++) {
        strncat(flat, f->element[i]->str, sizeof(flat) - strlen(flat) - 2);
        strncat(flat, "|", sizeof(flat) - strlen(flat) - 1);
    }
    cr_expect(strstr(flat, "event|acked|") != NULL, "%s", flat);
    cr_expect(strstr(flat, "by|alice|") != NULL, "%s", flat);
    cr_expect(strstr(flat, "dedup|KPI-A:1700000000000|") != NULL, "%s", flat);
    cr_expect(strstr(flat, "comment|on it|") != NULL, "%s", flat);
    freeReplyObject(x);

    /* By dedup key, again: already acked, nothing new recorded. */
    setenv("USER", "carol", 1);
    r = vigild("ack", "KPI-A:1700000000000", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(strncmp(r.out,
                         "already acknowledged KPI-A:1700000000000 by "
                         "alice",
                         49),
                 0, "%s", r.out);
    run_free(&r);
    x = redisCommand(fx.rc, "XLEN vigil:{cli}:breaches");
    cr_expect_eq(x->integer, 1);
    freeReplyObject(x);
}

Test(paging_cli, ack_of_no_open_breach_fails)
{
    open_breach("KPI-B", "1700000000000");
    struct run r = vigild("ack", "--by", "bob", "KPI-B:1600000000000", NULL);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "no open breach") != NULL, "%s", r.err);
    run_free(&r);
    r = vigild("ack", "--by", "bob", "KPI-NONE", NULL);
    cr_expect_eq(r.status, 1);
    run_free(&r);
    r = vigild("ack", "--by", "bob", "not an id", NULL);
    cr_expect_eq(r.status, 2);
    run_free(&r);
    r = vigild("ack", NULL);
    cr_expect_eq(r.status, 2);
    run_free(&r);
}

Test(paging_cli, silence_add_list_expire)
{
    struct run r = vigild("silence", "add", "--match", "indicator=KPI-A",
                          "--match", "team=identity", "--for", "2h", "--author",
                          "alice", "--reason", "maintenance", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char id[64] = "";
    sscanf(r.out, "%63s", id);
    cr_assert_eq(strlen(id), 16, "%s", r.out);
    run_free(&r);

    r = vigild("silence", "list", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, id) != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "active") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "indicator=KPI-A,team=identity") != NULL, "%s",
              r.out);
    run_free(&r);

    r = vigild("silence", "list", "--json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *j = cJSON_Parse(r.out);
    cr_assert_not_null(j, "%s", r.out);
    const cJSON *s0 =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "silences"), 0);
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(s0, "id")->valuestring,
                     id);
    cr_expect_str_eq(
        cJSON_GetObjectItemCaseSensitive(s0, "status")->valuestring, "active");
    cr_expect_str_eq(
        cJSON_GetObjectItemCaseSensitive(s0, "author")->valuestring, "alice");
    cr_expect_str_eq(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(s0, "matchers"), "team")
            ->valuestring,
        "identity");
    cJSON_Delete(j);
    run_free(&r);

    r = vigild("silence", "expire", id, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    r = vigild("silence", "list", NULL);
    cr_expect(strstr(r.out, id) == NULL, "%s", r.out);
    run_free(&r);
    r = vigild("silence", "list", "--all", NULL);
    cr_expect(strstr(r.out, "expired") != NULL, "%s", r.out);
    run_free(&r);
    r = vigild("silence", "expire", "0123456789abcdef", NULL);
    cr_expect_eq(r.status, 1);
    run_free(&r);
}

Test(paging_cli, silence_add_refuses_incomplete_silences)
{
    struct run r =
        vigild("silence", "add", "--for", "1h", "--author", "a", NULL);
    cr_expect_eq(r.status, 2, "no matcher");
    run_free(&r);
    r = vigild("silence", "add", "--match", "a=b", "--for", "1h", "--until",
               "2030-01-01T00:00:00Z", "--author", "a", NULL);
    cr_expect_eq(r.status, 2, "both --for and --until");
    run_free(&r);
    r = vigild("silence", "add", "--match", "a=b", "--until",
               "2001-01-01T00:00:00Z", "--author", "a", NULL);
    cr_expect_eq(r.status, 2, "ends in the past");
    run_free(&r);
    r = vigild("silence", "add", "--match", "ab", "--for", "1h", "--author",
               "a", NULL);
    cr_expect_eq(r.status, 2, "matcher without =");
    run_free(&r);
    r = vigild("silence", "frobnicate", NULL);
    cr_expect_eq(r.status, 2);
    run_free(&r);
}
