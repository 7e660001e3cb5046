#include "report_writer.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "diag.h"
#include "indicator.h"
#include "log.h"
#include "notifier.h"
#include "report_calendar.h"

#define LOCK_MS "600000"
#define BACKOFF_MIN_MS 60000
#define BACKOFF_MAX_MS 3600000

int vigil_report_format_parse(const char *s, unsigned *format)
{
    if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
        *format = VIGIL_REPORT_FORMAT_MD;
    else if (strcmp(s, "html") == 0)
        *format = VIGIL_REPORT_FORMAT_HTML;
    else if (strcmp(s, "json") == 0)
        *format = VIGIL_REPORT_FORMAT_JSON;
    else
        return -1;
    return 0;
}

const char *vigil_report_format_ext(unsigned format)
{
    switch (format) {
    case VIGIL_REPORT_FORMAT_HTML:
        return "html";
    case VIGIL_REPORT_FORMAT_JSON:
        return "json";
    default:
        return "md";
    }
}

int vigil_report_write(const struct vigil_report *r, unsigned format, FILE *out)
{
    switch (format) {
    case VIGIL_REPORT_FORMAT_HTML:
        return vigil_report_write_html(r, out);
    case VIGIL_REPORT_FORMAT_JSON:
        return vigil_report_write_json(r, out);
    default:
        return vigil_report_write_md(r, out);
    }
}

int vigil_report_write_file(const struct vigil_report *r, unsigned format,
                            const char *path, char *err, size_t errlen)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(tmp);
        return -1;
    }
    int rc = vigil_report_write(r, format, f);
    int saved = errno;
    if (rc == 0 && fflush(f) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && fsync(fileno(f)) != 0) {
        rc = -1;
        saved = errno;
    }
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path,
                 saved ? strerror(saved) : "write error");
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* ---- the periodic writer ---- */

struct vigil_report_writer {
    const struct vigil_config *cfg;
    redisContext *(*connect)(void *ctx);
    void *connect_ctx;
    char *owner;
    struct ev_loop *loop;
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;
    double interval_s;
    redisContext *c;
    char prefix[160];
    ev_timer timer;
    bool started;
    struct vigil_notifier *notifier; /* announcements; NULL: none */
    int64_t next_try_ms;             /* backoff after a failure */
    int64_t backoff_ms;
    struct vigil_report_writer_stats stats;
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct vigil_report_writer *w = t->data;
    vigil_report_writer_tick(w, w->now_ms ? w->now_ms(w->now_ctx) : wall_ms());
}

struct vigil_report_writer *
vigil_report_writer_create(const struct vigil_report_writer_config *c)
{
    const struct vigil_config_reports *rc = &c->cfg->reports;
    if (rc->period == VIGIL_REPORT_PERIOD_NONE || !rc->directory)
        return NULL;
    struct vigil_report_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->cfg = c->cfg;
    w->connect = c->connect;
    w->connect_ctx = c->connect_ctx;
    w->owner = strdup(c->owner ? c->owner : "vigild");
    if (!w->owner) {
        free(w);
        return NULL;
    }
    w->loop = c->loop;
    w->now_ms = c->now_ms;
    w->now_ctx = c->now_ctx;
    w->interval_s = c->interval_s > 0 ? c->interval_s : 60.;
    snprintf(w->prefix, sizeof(w->prefix), "vigil:{%s}:", c->cfg->redis.ns);
    if (w->loop && rc->notifier) {
        struct vigil_notifier_env env = {
            .loop = w->loop,
            .source = w->owner,
        };
        w->notifier =
            vigil_notifier_create(&c->cfg->notifiers[rc->notifier_index], &env);
        if (!w->notifier)
            vigil_warn("reports: cannot create notifier '%s': reports will "
                       "not be announced",
                       rc->notifier);
    }
    ev_timer_init(&w->timer, on_timer, 1., w->interval_s);
    w->timer.data = w;
    return w;
}

void vigil_report_writer_start(struct vigil_report_writer *w)
{
    if (w && w->loop && !w->started) {
        ev_timer_start(w->loop, &w->timer);
        w->started = true;
    }
}

void vigil_report_writer_destroy(struct vigil_report_writer *w)
{
    if (!w)
        return;
    if (w->started)
        ev_timer_stop(w->loop, &w->timer);
    vigil_notifier_destroy(w->notifier);
    if (w->c)
        redisFree(w->c);
    free(w->owner);
    free(w);
}

void vigil_report_writer_stats(const struct vigil_report_writer *w,
                               struct vigil_report_writer_stats *out)
{
    *out = w->stats;
}

__attribute__((format(printf, 2, 3))) static enum vigil_report_tick
failed(struct vigil_report_writer *w, const char *fmt, ...)
{
    /* The arguments may include last_error itself. */
    char msg[sizeof(w->stats.last_error)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(w->stats.last_error, msg, sizeof(msg));
    w->stats.failures++;
    vigil_error("reports: %s (%" PRIu64 " failures so far; retrying in %" PRId64
                " s)",
                w->stats.last_error, w->stats.failures,
                (w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS) / 1000);
    return VIGIL_REPORT_TICK_FAILED;
}

/* A reply, or NULL after dropping the connection (error in last_error). */
static redisReply *command(struct vigil_report_writer *w, int argc,
                           const char **argv)
{
    redisReply *r = redisCommandArgv(w->c, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(w->stats.last_error, sizeof(w->stats.last_error),
                 "redis: %s: %s", argv[0],
                 r ? r->str : (w->c->errstr[0] ? w->c->errstr : "no reply"));
        if (r)
            freeReplyObject(r);
        else {
            redisFree(w->c);
            w->c = NULL;
        }
        return NULL;
    }
    return r;
}

/* 1 recorded, 0 not, -1 error. */
static int recorded(struct vigil_report_writer *w, const char *id)
{
    char key[200];
    snprintf(key, sizeof(key), "%sreports", w->prefix);
    const char *argv[] = {"HEXISTS", key, id};
    redisReply *r = command(w, 3, argv);
    if (!r)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return rc;
}

static void unlock(struct vigil_report_writer *w, const char *lock)
{
    static const char script[] =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then "
        "return redis.call('DEL', KEYS[1]) end return 0";
    const char *argv[] = {"EVAL", script, "1", lock, w->owner};
    redisReply *r = w->c ? command(w, 5, argv) : NULL;
    if (r)
        freeReplyObject(r);
}

static char *record_json(const struct vigil_report_writer *w,
                         const struct vigil_report *r, char paths[3][4096],
                         size_t n_paths)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char buf[40];
    cJSON_AddNumberToObject(o, "from_ms", (double)r->from_ms);
    cJSON_AddNumberToObject(o, "to_ms", (double)r->to_ms);
    vigil_report_format_time(r->from_ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, "from", buf);
    vigil_report_format_time(r->to_ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, "to", buf);
    vigil_report_format_time(r->generated_ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, "generated_at", buf);
    vigil_report_format_day(r->due_day, buf, sizeof(buf));
    cJSON_AddStringToObject(o, "due", buf);
    cJSON_AddStringToObject(o, "period",
                            vigil_report_period_name(w->cfg->reports.period));
    cJSON_AddStringToObject(o, "definitions", r->definitions_sha256);
    cJSON_AddNumberToObject(o, "non_conformances", (double)r->n_breaches);
    cJSON *files = cJSON_AddArrayToObject(o, "files");
    for (size_t i = 0; files && i < n_paths; i++)
        cJSON_AddItemToArray(files, cJSON_CreateString(paths[i]));
    cJSON_AddStringToObject(o, "writer", w->owner);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void on_announced(void *ctx, const struct vigil_notifier_outcome *o)
{
    (void)ctx;
    if (o->result == VIGIL_DELIVERY_SENT)
        vigil_info("reports: announcement sent");
    else
        vigil_warn("reports: announcement not delivered (status %ld): %s",
                   o->status, o->detail);
}

static void announce(struct vigil_report_writer *w,
                     const struct vigil_report *r, char paths[3][4096],
                     size_t n_paths)
{
    if (!w->notifier)
        return;
    const struct vigil_config_reports *rc = &w->cfg->reports;
    char dedup[200], name[300], target[64], rec[4096], due[16], from[40],
        to[40];
    vigil_report_format_day(r->due_day, due, sizeof(due));
    vigil_report_format_time(r->from_ms, from, sizeof(from));
    vigil_report_format_time(r->to_ms, to, sizeof(to));
    snprintf(dedup, sizeof(dedup), "report:%s", r->id);
    snprintf(name, sizeof(name), "%s %s to %s", rc->title, from, to);
    snprintf(target, sizeof(target), "due %s", due);
    size_t off = (size_t)snprintf(rec, sizeof(rec), "Written to");
    for (size_t i = 0; i < n_paths && off < sizeof(rec); i++)
        off += (size_t)snprintf(rec + off, sizeof(rec) - off, "%s %s",
                                i ? "," : "", paths[i]);
    for (size_t i = 0; i < rc->n_distribution && off < sizeof(rec); i++)
        off += (size_t)snprintf(rec + off, sizeof(rec) - off, "%s%s",
                                i ? ", " : "; distribute to ",
                                rc->distribution[i]);
    char value[32];
    snprintf(value, sizeof(value), "%zu", r->n_breaches);
    struct vigil_notification n = {
        .action = VIGIL_NOTIFY_TRIGGER,
        .dedup = dedup,
        .indicator = (char *)r->id,
        .event = "report",
        .state = "report",
        .previous = "",
        .severity = "info",
        .name = name,
        .unit = "non-conformances",
        .target = target,
        .owner = "",
        .recommendation = rec,
        .offenders = "[]",
        .value_text = value,
        .has_value = true,
        .value = (double)r->n_breaches,
        .since_ms = r->generated_ms,
        .episode_ms = r->generated_ms,
        .duration_ms = 0,
        .route = -1,
    };
    const struct vigil_notification *v[1] = {&n};
    if (vigil_notifier_send(w->notifier, v, 1, on_announced, w) < 0)
        vigil_warn("reports: cannot announce %s: out of memory", r->id);
}

/* Writes every format; fills paths. 0, or -1 (last_error set). */
static int write_files(struct vigil_report_writer *w,
                       const struct vigil_report *r, char paths[3][4096],
                       size_t *n_paths)
{
    const struct vigil_config_reports *rc = &w->cfg->reports;
    if (mkdir(rc->directory, 0755) != 0 && errno != EEXIST) {
        snprintf(w->stats.last_error, sizeof(w->stats.last_error),
                 "cannot create the report directory %s: %s", rc->directory,
                 strerror(errno));
        return -1;
    }
    static const unsigned formats[] = {VIGIL_REPORT_FORMAT_MD,
                                       VIGIL_REPORT_FORMAT_HTML,
                                       VIGIL_REPORT_FORMAT_JSON};
    *n_paths = 0;
    for (size_t i = 0; i < 3; i++) {
        if (!(rc->formats & formats[i]))
            continue;
        char *p = paths[*n_paths];
        snprintf(p, 4096, "%s/%s.%s", rc->directory, r->id,
                 vigil_report_format_ext(formats[i]));
        if (vigil_report_write_file(r, formats[i], p, w->stats.last_error,
                                    sizeof(w->stats.last_error)) < 0) {
            for (size_t k = 0; k < *n_paths; k++)
                unlink(paths[k]);
            return -1;
        }
        (*n_paths)++;
    }
    return 0;
}

static enum vigil_report_tick write_report(struct vigil_report_writer *w,
                                           const char *id, int64_t from_ms,
                                           int64_t to_ms, int64_t now_ms)
{
    const struct vigil_config *cfg = w->cfg;
    struct vigil_diags diags = {0};
    struct vigil_indicator_set *set =
        vigil_indicator_set_load((const char *const *)cfg->indicator_files,
                                 cfg->n_indicator_files, NULL, &diags);
    if (!set) {
        char line[512] = "out of memory";
        if (diags.n)
            vigil_diag_format(&diags.v[0], line, sizeof(line));
        vigil_diags_fini(&diags);
        return failed(w, "%s: cannot load the indicators: %s", id, line);
    }
    vigil_diags_fini(&diags);
    struct vigil_report_params p = {
        .cfg = cfg,
        .set = set,
        .from_ms = from_ms,
        .to_ms = to_ms,
        .now_ms = now_ms,
        .id = id,
    };
    char err[512];
    struct vigil_report *r = vigil_report_collect(w->c, &p, err, sizeof(err));
    if (!r) {
        vigil_indicator_set_destroy(set);
        if (w->c && w->c->err) {
            redisFree(w->c);
            w->c = NULL;
        }
        return failed(w, "%s: %s", id, err);
    }
    char paths[3][4096];
    size_t n_paths = 0;
    enum vigil_report_tick rc = VIGIL_REPORT_TICK_WRITTEN;
    if (write_files(w, r, paths, &n_paths) < 0) {
        w->stats.write_errors++;
        rc = failed(w, "%s: %s", id, w->stats.last_error);
        goto out;
    }
    char *json = record_json(w, r, paths, n_paths);
    char key[200];
    snprintf(key, sizeof(key), "%sreports", w->prefix);
    const char *argv[] = {"HSET", key, id, json ? json : "{}"};
    redisReply *rep = json ? command(w, 4, argv) : NULL;
    free(json);
    if (!rep) {
        for (size_t k = 0; k < n_paths; k++)
            unlink(paths[k]);
        rc = failed(w, "%s: cannot record the report: %s", id,
                    json ? w->stats.last_error : "out of memory");
        goto out;
    }
    freeReplyObject(rep);
    w->stats.written++;
    vigil_info("reports: wrote %s (%zu file%s in %s)", id, n_paths,
               n_paths == 1 ? "" : "s", cfg->reports.directory);
    announce(w, r, paths, n_paths);
out:
    vigil_report_destroy(r);
    vigil_indicator_set_destroy(set);
    return rc;
}

enum vigil_report_tick vigil_report_writer_tick(struct vigil_report_writer *w,
                                                int64_t now_ms)
{
    if (now_ms < w->next_try_ms)
        return VIGIL_REPORT_TICK_IDLE;
    int64_t from_ms, to_ms;
    if (vigil_report_period_last(w->cfg->reports.period, now_ms, &from_ms,
                                 &to_ms) < 0)
        return VIGIL_REPORT_TICK_IDLE;
    char a[16], b[16], id[160];
    vigil_report_format_day(vigil_report_day_of(from_ms), a, sizeof(a));
    vigil_report_format_day(vigil_report_day_of(to_ms - 1), b, sizeof(b));
    snprintf(id, sizeof(id), "MR-%s-%.10s-%.10s", w->cfg->redis.ns, a, b);

    enum vigil_report_tick rc;
    if (!w->c && !(w->c = w->connect(w->connect_ctx))) {
        rc = failed(w, "%s: redis unreachable", id);
        goto backoff;
    }
    int done = recorded(w, id);
    if (done != 0) {
        if (done > 0)
            return VIGIL_REPORT_TICK_IDLE;
        rc = failed(w, "%s: %s", id, w->stats.last_error);
        goto backoff;
    }
    char lock[400];
    snprintf(lock, sizeof(lock), "%sreports:lock:%s", w->prefix, id);
    const char *argv[] = {"SET", lock, w->owner, "NX", "PX", LOCK_MS};
    redisReply *r = command(w, 6, argv);
    if (!r) {
        rc = failed(w, "%s: %s", id, w->stats.last_error);
        goto backoff;
    }
    bool mine = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!mine)
        return VIGIL_REPORT_TICK_LOCKED;
    done = recorded(w, id);
    if (done != 0) {
        unlock(w, lock);
        if (done > 0)
            return VIGIL_REPORT_TICK_IDLE;
        rc = failed(w, "%s: %s", id, w->stats.last_error);
        goto backoff;
    }
    rc = write_report(w, id, from_ms, to_ms, now_ms);
    unlock(w, lock);
    if (rc == VIGIL_REPORT_TICK_WRITTEN) {
        w->backoff_ms = 0;
        w->next_try_ms = 0;
        return rc;
    }
backoff:
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (w->backoff_ms > BACKOFF_MAX_MS)
        w->backoff_ms = BACKOFF_MAX_MS;
    w->next_try_ms = now_ms + w->backoff_ms;
    return rc;
}
