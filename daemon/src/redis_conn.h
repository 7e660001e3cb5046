/*
 * redis_conn: a blocking hiredis connection made the way vigil.yaml says
 * (TCP or unix socket, timeouts, AUTH, SELECT). Every module that talks to
 * Redis synchronously connects through here.
 */
#ifndef VIGIL_REDIS_CONN_H
#define VIGIL_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "config.h"

/*
 * Connects with r's connect timeout, sets its command timeout on the
 * context, authenticates and selects the database. Returns the context
 * (free with redisFree) or NULL with the reason in err. Any thread.
 */
redisContext *vigil_redis_connect(const struct vigil_config_redis *r, char *err,
                                  size_t errlen);

#endif
