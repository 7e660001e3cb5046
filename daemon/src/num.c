#include "num.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool vigil_num_i64(const char *s, size_t len, int64_t *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof(buf))
        return false;
    if (s[0] != '-' && (s[0] < '0' || s[0] > '9'))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end != buf + len || end == buf)
        return false;
    *out = v;
    return true;
}

bool vigil_num_double(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v))
        return false;
    *out = v;
    return true;
}
