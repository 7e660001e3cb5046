#include "redis_conn.h"

#include <stdio.h>
#include <sys/time.h>

static struct timeval ms_to_tv(uint64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* Runs one command; false (with err) unless Redis answered without error. */
static bool command_ok(redisContext *c, int argc, const char **argv, char *err,
                       size_t errlen)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(err, errlen, "%s: %s", argv[0], rep ? rep->str : c->errstr);
    freeReplyObject(rep);
    return ok;
}

redisContext *vigil_redis_connect(const struct vigil_config_redis *r, char *err,
                                  size_t errlen)
{
    struct timeval tv = ms_to_tv(r->connect_timeout_ms);
    redisContext *c = r->transport == VIGIL_REDIS_UNIX
                          ? redisConnectUnixWithTimeout(r->socket_path, tv)
                          : redisConnectWithTimeout(r->host, r->port, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        goto err_free;
    }
    redisSetTimeout(c, ms_to_tv(r->command_timeout_ms));
    if (r->password) {
        const char *auth[] = {"AUTH", r->username ? r->username : r->password,
                              r->password};
        if (!command_ok(c, r->username ? 3 : 2, auth, err, errlen))
            goto err_free;
    }
    if (r->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->db);
        const char *select[] = {"SELECT", db};
        if (!command_ok(c, 2, select, err, errlen))
            goto err_free;
    }
    return c;

err_free:
    if (c)
        redisFree(c);
    return NULL;
}
