#include "plugin_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "prefilter.h"

#define NAME_MAX_LEN 64

struct vigil_plugin {
    /* This plugin's host table: host->log finds the plugin from it. */
    struct vigil_host_api host;
    struct vigil_plugins *registry;
    const struct vigil_plugin_v1 *desc;
    void *dl; /* dlopen handle; NULL when linked in */
    char *path;
    char *name;
    char *version;
    enum vigil_plugin_kind kind;
    void *state;
    bool initialised;
    pthread_mutex_t notify_lock; /* one notify at a time */
    _Atomic uint64_t errors;
    struct vigil_ratelimit rl;
};

struct vigil_plugins {
    struct vigil_plugin **v;
    size_t n;
    size_t cap;
    struct vigil_plugin **enrichers; /* into v, in loading order */
    size_t n_enrichers;
    char *config_dir;
    int64_t (*now_ms)(void *ctx);
    void *clock_ctx;
};

/* The host's view of an event during one decode or enrich call. */
struct vigil_plugin_event {
    struct vigil_event *ev;
    uintptr_t in_lo, in_hi;       /* the data being decoded */
    uintptr_t alloc_lo, alloc_hi; /* the last event_alloc block */
    const char *error;            /* why the first refused field was */
};

static const char R_DECODER[] = "rejected by the decoder plugin";
static const char R_UTF8[] = "not UTF-8";
static const char R_NAME[] = "empty field name";
static const char R_FIELDS[] = "too many fields";
static const char R_NOMEM[] = "out of memory";

/* ---- host table ------------------------------------------------------ */

static struct vigil_plugin *plugin_of(const struct vigil_host_api *host)
{
    return (struct vigil_plugin *)(void *)((char *)(uintptr_t)host -
                                           offsetof(struct vigil_plugin, host));
}

static void host_log(const struct vigil_host_api *host, int level,
                     const char *fmt, ...)
{
    struct vigil_plugin *p = plugin_of(host);
    if (level < VIGIL_LOG_DEBUG)
        level = VIGIL_LOG_DEBUG;
    if (level > VIGIL_LOG_ERROR)
        level = VIGIL_LOG_ERROR;
    if (!fmt || !vigil_log_enabled((enum vigil_log_level)level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vigil_log((enum vigil_log_level)level, "plugin %s: %s", p->name, msg);
}

static int64_t real_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t host_now_ms(const struct vigil_host_api *host)
{
    const struct vigil_plugins *r = plugin_of(host)->registry;
    return r->now_ms(r->clock_ctx);
}

static int host_parse_time(const char *s, size_t len, int64_t *ms)
{
    if (!s || !ms)
        return -1;
    return vigil_parse_time(s, len, ms);
}

static int field_text(struct vigil_plugin_event *pe,
                      const struct vigil_field *f, const char **value,
                      size_t *value_len)
{
    struct vigil_sv v;
    if (vigil_event_value(pe->ev, f, &v) < 0)
        return -1;
    *value = v.ptr ? v.ptr : "";
    *value_len = v.len;
    return 0;
}

static int host_event_get(struct vigil_plugin_event *pe, const char *name,
                          size_t name_len, const char **value,
                          size_t *value_len)
{
    if (!name || !value || !value_len)
        return -1;
    const struct vigil_field *f =
        vigil_event_find(pe->ev, (struct vigil_sv){name, name_len});
    if (!f)
        return -1;
    return field_text(pe, f, value, value_len);
}

static size_t host_event_count(struct vigil_plugin_event *pe)
{
    return pe->ev->n_fields;
}

static int host_event_at(struct vigil_plugin_event *pe, size_t i,
                         const char **name, size_t *name_len,
                         const char **value, size_t *value_len)
{
    if (i >= pe->ev->n_fields || !name || !name_len || !value || !value_len)
        return -1;
    const struct vigil_field *f = &pe->ev->fields[i];
    *name = f->name.ptr;
    *name_len = f->name.len;
    return field_text(pe, f, value, value_len);
}

static bool inside(uintptr_t lo, uintptr_t hi, const char *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    return lo < hi && a >= lo && a <= hi && n <= hi - a;
}

static int refuse(struct vigil_plugin_event *pe, const char *why)
{
    if (!pe->error)
        pe->error = why;
    return -1;
}

/* The bytes as a view the event may keep: in place, or copied. */
static const char *keep(struct vigil_plugin_event *pe, const char *p, size_t n)
{
    if (n == 0)
        return "";
    if (inside(pe->in_lo, pe->in_hi, p, n) ||
        inside(pe->alloc_lo, pe->alloc_hi, p, n))
        return p;
    return vigil_event_scratch(pe->ev, p, n);
}

static int host_event_add(struct vigil_plugin_event *pe, const char *name,
                          size_t name_len, const char *value, size_t value_len)
{
    if (!name || name_len == 0)
        return refuse(pe, R_NAME);
    if (!value) {
        if (value_len)
            return refuse(pe, R_NOMEM);
        value = "";
    }
    if (!vigil_utf8_valid(name, name_len) ||
        !vigil_utf8_valid(value, value_len))
        return refuse(pe, R_UTF8);
    if (pe->ev->n_fields >= VIGIL_EVENT_MAX_FIELDS)
        return refuse(pe, R_FIELDS);
    const char *n = keep(pe, name, name_len);
    const char *v = n ? keep(pe, value, value_len) : NULL;
    if (!n || !v)
        return refuse(pe, R_NOMEM);
    if (vigil_event_add(pe->ev, (struct vigil_sv){n, name_len},
                        (struct vigil_sv){v, value_len}, VIGIL_FIELD_STRING,
                        false) < 0)
        return refuse(pe, R_NOMEM);
    return 0;
}

static char *host_event_alloc(struct vigil_plugin_event *pe, size_t len)
{
    if (len > SIZE_MAX / 2)
        return NULL;
    char *p = vigil_event_scratch(pe->ev, NULL, len);
    if (p) {
        pe->alloc_lo = (uintptr_t)p;
        pe->alloc_hi = (uintptr_t)p + len + 1;
    }
    return p;
}

static void host_event_set_time(struct vigil_plugin_event *pe, int64_t ms)
{
    pe->ev->time_ms = ms;
}

static void host_init(struct vigil_plugin *p)
{
    p->host = (struct vigil_host_api){
        .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
        .struct_size = sizeof(struct vigil_host_api),
        .config_dir = p->registry->config_dir,
        .log = host_log,
        .now_ms = host_now_ms,
        .parse_time = host_parse_time,
        .event_get = host_event_get,
        .event_count = host_event_count,
        .event_at = host_event_at,
        .event_add = host_event_add,
        .event_alloc = host_event_alloc,
        .event_set_time = host_event_set_time,
    };
}

/* ---- registry ---------------------------------------------------------- */

struct vigil_plugins *
vigil_plugins_create(const struct vigil_plugins_options *opts)
{
    struct vigil_plugins *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    const char *dir = opts && opts->config_dir ? opts->config_dir : ".";
    r->config_dir = strdup(dir);
    if (!r->config_dir) {
        free(r);
        return NULL;
    }
    r->now_ms = opts && opts->now_ms ? opts->now_ms : real_now_ms;
    r->clock_ctx = opts ? opts->clock_ctx : NULL;
    return r;
}

static void plugin_free(struct vigil_plugin *p)
{
    if (p->initialised && p->desc->destroy)
        p->desc->destroy(p->state);
    if (p->dl)
        dlclose(p->dl);
    pthread_mutex_destroy(&p->notify_lock);
    free(p->path);
    free(p->name);
    free(p->version);
    free(p);
}

void vigil_plugins_destroy(struct vigil_plugins *r)
{
    if (!r)
        return;
    for (size_t i = r->n; i-- > 0;)
        plugin_free(r->v[i]);
    free(r->v);
    free(r->enrichers);
    free(r->config_dir);
    free(r);
}

const char *vigil_plugin_kind_name(enum vigil_plugin_kind kind)
{
    switch (kind) {
    case VIGIL_PLUGIN_DECODER:
        return "decoder";
    case VIGIL_PLUGIN_NOTIFIER:
        return "notifier";
    case VIGIL_PLUGIN_ENRICHER:
        return "enricher";
    }
    return "unknown";
}

static void report(struct vigil_diags *diags,
                   const struct vigil_plugin_source *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One diagnostic "<path>: <message>" at the plugin's place in the config. */
static void report(struct vigil_diags *diags,
                   const struct vigil_plugin_source *src, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vigil_diags_add(diags, src->file, src->pos.line, src->pos.col, "%s: %s",
                    src->path, msg);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* The name when it is [A-Za-z0-9_.-]{1,64}; reads at most 65 bytes. */
static bool valid_name(const char *s)
{
    size_t n = strnlen(s, NAME_MAX_LEN + 1);
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

/* A name that vigil.yaml would never resolve to a plugin of this kind. */
static const char *builtin_clash(enum vigil_plugin_kind kind, const char *name)
{
    if (kind == VIGIL_PLUGIN_DECODER) {
        enum vigil_event_format f;
        if (vigil_event_format_parse(name, &f) == 0)
            return "format";
    } else if (kind == VIGIL_PLUGIN_NOTIFIER) {
        for (int t = VIGIL_NOTIFIER_WEBHOOK; t <= VIGIL_NOTIFIER_PLUGIN; t++)
            if (strcmp(name, vigil_notifier_type_name(
                                 (enum vigil_notifier_type)t)) == 0)
                return "notifier type";
    }
    return NULL;
}

/*
 * The checks of the head of plugin_loader.h, in that order: nothing is read
 * before abi_major and struct_size have been checked.
 */
static int check_desc(const struct vigil_plugins *r,
                      const struct vigil_plugin_v1 *d,
                      const struct vigil_plugin_source *src,
                      struct vigil_diags *diags)
{
    if (d->abi_major != VIGIL_PLUGIN_ABI_MAJOR) {
        report(diags, src, "ABI major %u, this vigild speaks %d",
               (unsigned)d->abi_major, VIGIL_PLUGIN_ABI_MAJOR);
        return -1;
    }
    if (d->struct_size < sizeof(struct vigil_plugin_v1)) {
        report(diags, src, "struct too small (%u bytes, need at least %zu)",
               (unsigned)d->struct_size, sizeof(struct vigil_plugin_v1));
        return -1;
    }
    if (!d->name || !valid_name(d->name)) {
        report(diags, src,
               "the plugin name must be 1 to %d of A-Z a-z 0-9 _ . -",
               NAME_MAX_LEN);
        return -1;
    }
    if (!d->version) {
        report(diags, src, "plugin '%s' has no version", d->name);
        return -1;
    }
    const char *cb = NULL;
    bool have = false;
    switch (d->kind) {
    case VIGIL_PLUGIN_DECODER:
        cb = "decode", have = d->decode != NULL;
        break;
    case VIGIL_PLUGIN_NOTIFIER:
        cb = "notify", have = d->notify != NULL;
        break;
    case VIGIL_PLUGIN_ENRICHER:
        cb = "enrich", have = d->enrich != NULL;
        break;
    default:
        report(diags, src, "plugin '%s' has an unknown kind %u", d->name,
               (unsigned)d->kind);
        return -1;
    }
    if (!have) {
        report(diags, src, "missing %s callback", cb);
        return -1;
    }
    const char *clash = builtin_clash(d->kind, d->name);
    if (clash) {
        report(diags, src, "plugin name '%s' is a built-in %s", d->name, clash);
        return -1;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->v[i]->name, d->name) == 0) {
            report(diags, src, "duplicate plugin name '%s' (also in %s)",
                   d->name, r->v[i]->path);
            return -1;
        }
    }
    return 0;
}

/* The config map as the ABI's pairs; *out NULL when empty. */
static int kv_array(const struct vigil_config_map *m,
                    struct vigil_plugin_kv **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!m || m->n == 0)
        return 0;
    struct vigil_plugin_kv *kv = calloc(m->n, sizeof(*kv));
    if (!kv)
        return -1;
    for (size_t i = 0; i < m->n; i++)
        kv[i] = (struct vigil_plugin_kv){m->v[i].key, m->v[i].value};
    *out = kv;
    *n = m->n;
    return 0;
}

static int grow(struct vigil_plugin ***v, size_t *cap, size_t n)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 4;
    struct vigil_plugin **nv = realloc(*v, c * sizeof(*nv));
    if (!nv)
        return -1;
    *v = nv;
    *cap = c;
    return 0;
}

/* Checks d, initialises it and appends it; dl is closed on failure. */
static int add(struct vigil_plugins *r, const struct vigil_plugin_v1 *d,
               void *dl, const struct vigil_plugin_source *src,
               struct vigil_diags *diags)
{
    if (check_desc(r, d, src, diags) < 0)
        goto err_close;
    struct vigil_plugin *p = calloc(1, sizeof(*p));
    if (!p)
        goto err_nomem;
    if (pthread_mutex_init(&p->notify_lock, NULL) != 0) {
        free(p);
        goto err_nomem;
    }
    p->registry = r;
    p->desc = d;
    p->kind = (enum vigil_plugin_kind)d->kind;
    p->rl = (struct vigil_ratelimit)VIGIL_RATELIMIT_INIT(10000, 5);
    p->path = strdup(src->path);
    p->name = strdup(d->name);
    p->version = strdup(d->version);
    /* Both lists grow first, so that nothing can fail after init. */
    size_t n_enrichers_cap = r->n_enrichers + 1;
    struct vigil_plugin **en = NULL;
    if (p->kind == VIGIL_PLUGIN_ENRICHER) {
        en = realloc(r->enrichers, n_enrichers_cap * sizeof(*en));
        if (en)
            r->enrichers = en;
    }
    if (!p->path || !p->name || !p->version || grow(&r->v, &r->cap, r->n) < 0 ||
        (p->kind == VIGIL_PLUGIN_ENRICHER && !en))
        goto err_free_plugin;
    host_init(p);

    if (d->init) {
        struct vigil_plugin_kv *kv;
        size_t n_kv;
        if (kv_array(src->config, &kv, &n_kv) < 0)
            goto err_free_plugin;
        char err[512] = "";
        int rc = d->init(&p->host, kv, n_kv, &p->state, err, sizeof(err));
        free(kv);
        if (rc < 0) {
            err[sizeof(err) - 1] = '\0';
            report(diags, src, "plugin '%s': init failed: %s", p->name,
                   err[0] ? err : "no reason given");
            p->dl = NULL;
            plugin_free(p);
            goto err_close;
        }
    }
    p->initialised = true;
    p->dl = dl;
    r->v[r->n++] = p;
    if (p->kind == VIGIL_PLUGIN_ENRICHER)
        r->enrichers[r->n_enrichers++] = p;
    vigil_debug("plugin %s %s (%s) loaded from %s", p->name, p->version,
                vigil_plugin_kind_name(p->kind), p->path);
    return 0;

err_free_plugin:
    plugin_free(p);
err_nomem:
    report(diags, src, "out of memory");
err_close:
    if (dl)
        dlclose(dl);
    return -1;
}

int vigil_plugins_add(struct vigil_plugins *r,
                      const struct vigil_plugin_v1 *desc,
                      const struct vigil_plugin_source *src,
                      struct vigil_diags *diags)
{
    return add(r, desc, NULL, src, diags);
}

int vigil_plugins_open(struct vigil_plugins *r,
                       const struct vigil_plugin_source *src,
                       struct vigil_diags *diags)
{
    void *dl = dlopen(src->path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        report(diags, src, "cannot load: %s", e ? e : "unknown error");
        return -1;
    }
    dlerror();
    const struct vigil_plugin_v1 *d = dlsym(dl, VIGIL_PLUGIN_SYMBOL);
    if (!d) {
        report(diags, src, "not a vigil plugin: no symbol '%s'",
               VIGIL_PLUGIN_SYMBOL);
        dlclose(dl);
        return -1;
    }
    return add(r, d, dl, src, diags);
}

struct vigil_plugins *vigil_plugins_load(const struct vigil_config *cfg,
                                         struct vigil_diags *diags)
{
    struct vigil_plugins_options o = {.config_dir = cfg->base_dir};
    struct vigil_plugins *r = vigil_plugins_create(&o);
    if (!r) {
        vigil_diags_add(diags, cfg->file, 0, 0, "out of memory");
        return NULL;
    }
    bool failed = false;
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const struct vigil_config_plugin *cp = &cfg->plugins[i];
        struct vigil_plugin_source src = {
            .path = cp->path,
            .config = &cp->config,
            .file = cfg->file,
            .pos = cp->pos,
        };
        if (vigil_plugins_open(r, &src, diags) < 0)
            failed = true;
    }
    if (failed) {
        vigil_plugins_destroy(r);
        return NULL;
    }
    return r;
}

size_t vigil_plugins_count(const struct vigil_plugins *r)
{
    return r ? r->n : 0;
}

struct vigil_plugin *vigil_plugins_at(const struct vigil_plugins *r, size_t i)
{
    return r && i < r->n ? r->v[i] : NULL;
}

struct vigil_plugin *vigil_plugins_find(const struct vigil_plugins *r,
                                        enum vigil_plugin_kind kind,
                                        const char *name)
{
    for (size_t i = 0; r && name && i < r->n; i++)
        if (r->v[i]->kind == kind && strcmp(r->v[i]->name, name) == 0)
            return r->v[i];
    return NULL;
}

static const struct vigil_plugin *find_any(const struct vigil_plugins *r,
                                           const char *name)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (strcmp(r->v[i]->name, name) == 0)
            return r->v[i];
    return NULL;
}

const char *vigil_plugin_name(const struct vigil_plugin *p)
{
    return p->name;
}

const char *vigil_plugin_version(const struct vigil_plugin *p)
{
    return p->version;
}

const char *vigil_plugin_path(const struct vigil_plugin *p)
{
    return p->path;
}

enum vigil_plugin_kind vigil_plugin_kind(const struct vigil_plugin *p)
{
    return p->kind;
}

uint64_t vigil_plugin_errors(const struct vigil_plugin *p)
{
    return atomic_load_explicit(&p->errors, memory_order_relaxed);
}

/* ", "-separated names of r's plugins of kind into buf ("none" if none). */
static void names_of(const struct vigil_plugins *r, enum vigil_plugin_kind k,
                     char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; r && i < r->n; i++) {
        if (r->v[i]->kind != k)
            continue;
        int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                         r->v[i]->name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    if (!used)
        snprintf(buf, size, "none");
}

/* Reports that name, wanted as a plugin of kind k for what, is not one. */
static void check_name(const struct vigil_plugins *r, const char *what,
                       const char *name, enum vigil_plugin_kind k,
                       const char *file, struct vigil_config_pos pos,
                       struct vigil_diags *diags)
{
    const struct vigil_plugin *other = find_any(r, name);
    if (other) {
        vigil_diags_add(diags, file, pos.line, pos.col,
                        "%s: plugin '%s' (%s) is a %s, not a %s", what, name,
                        other->path, vigil_plugin_kind_name(other->kind),
                        vigil_plugin_kind_name(k));
        return;
    }
    char names[256];
    names_of(r, k, names, sizeof(names));
    vigil_diags_add(diags, file, pos.line, pos.col,
                    "%s: no %s plugin named '%s' is loaded (%ss: %s)", what,
                    vigil_plugin_kind_name(k), name, vigil_plugin_kind_name(k),
                    names);
}

int vigil_plugins_check_config(const struct vigil_plugins *r,
                               const struct vigil_config *cfg,
                               struct vigil_diags *diags)
{
    int rc = 0;
    const char *fmt = cfg->events.format_name;
    if (cfg->events.format_plugin && fmt &&
        !vigil_plugins_find(r, VIGIL_PLUGIN_DECODER, fmt)) {
        check_name(r, "events.format", fmt, VIGIL_PLUGIN_DECODER, cfg->file,
                   cfg->events.format_pos, diags);
        rc = -1;
    }
    for (size_t i = 0; i < cfg->n_notifiers; i++) {
        const struct vigil_config_notifier *n = &cfg->notifiers[i];
        if (n->type != VIGIL_NOTIFIER_PLUGIN || !n->type_name ||
            vigil_plugins_find(r, VIGIL_PLUGIN_NOTIFIER, n->type_name))
            continue;
        char what[64];
        snprintf(what, sizeof(what), "notifiers[%zu].type", i);
        check_name(r, what, n->type_name, VIGIL_PLUGIN_NOTIFIER, cfg->file,
                   n->type_pos, diags);
        rc = -1;
    }
    return rc;
}

/* ---- calls ------------------------------------------------------------- */

int vigil_plugins_pipeline_options(struct vigil_plugins *r,
                                   const struct vigil_config *cfg,
                                   struct vigil_pipeline_options *po)
{
    if (cfg->events.format_plugin) {
        struct vigil_plugin *p = vigil_plugins_find(r, VIGIL_PLUGIN_DECODER,
                                                    cfg->events.format_name);
        if (!p)
            return -1;
        po->decode_custom = vigil_plugin_decode;
        po->decode_ctx = p;
    }
    if (vigil_plugins_has_enrichers(r)) {
        po->enrich = vigil_plugins_enrich;
        po->enrich_ctx = r;
    }
    return 0;
}

int vigil_plugin_decode(void *ctx, const char *data, size_t len,
                        struct vigil_event *ev, const char **reason)
{
    struct vigil_plugin *p = ctx;
    struct vigil_plugin_event pe = {
        .ev = ev,
        .in_lo = (uintptr_t)data,
        .in_hi = (uintptr_t)data + len,
    };
    const char *why = NULL;
    if (p->desc->decode(p->state, data, len, &pe, &why) < 0) {
        *reason = why ? why : R_DECODER;
        return -1;
    }
    if (pe.error) {
        *reason = pe.error;
        return -1;
    }
    return 0;
}

bool vigil_plugins_has_enrichers(const struct vigil_plugins *r)
{
    return r && r->n_enrichers > 0;
}

int vigil_plugins_enrich(void *ctx, struct vigil_event *ev)
{
    struct vigil_plugins *r = ctx;
    int rc = 0;
    for (size_t i = 0; i < r->n_enrichers; i++) {
        struct vigil_plugin *p = r->enrichers[i];
        struct vigil_plugin_event pe = {
            .ev = ev,
            .in_lo = (uintptr_t)ev->data,
            .in_hi = (uintptr_t)ev->data + ev->len,
        };
        int erc = p->desc->enrich(p->state, &pe);
        if (erc < 0 || pe.error) {
            atomic_fetch_add_explicit(&p->errors, 1, memory_order_relaxed);
            vigil_log_rl(&p->rl, VIGIL_LOG_WARN, "plugin %s: enrich: %s",
                         p->name, pe.error ? pe.error : "failed");
            rc = -1;
        }
    }
    return rc;
}

int vigil_plugin_notify(struct vigil_plugin *p,
                        const struct vigil_config_notifier *n, const char *json,
                        size_t len, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (p->kind != VIGIL_PLUGIN_NOTIFIER) {
        snprintf(err, errlen, "plugin '%s' is not a notifier", p->name);
        return -1;
    }
    struct vigil_plugin_kv *headers = NULL, *config = NULL;
    size_t n_headers = 0, n_config = 0;
    if (kv_array(&n->headers, &headers, &n_headers) < 0 ||
        kv_array(&n->config, &config, &n_config) < 0) {
        free(headers);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct vigil_plugin_notification note = {
        .struct_size = sizeof(note),
        .timeout_ms =
            n->timeout_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)n->timeout_ms,
        .notifier = n->name ? n->name : "",
        .url = n->url,
        .headers = headers,
        .n_headers = n_headers,
        .config = config,
        .n_config = n_config,
        .json = json,
        .json_len = len,
    };
    pthread_mutex_lock(&p->notify_lock);
    int rc = p->desc->notify(p->state, &note, err, errlen);
    pthread_mutex_unlock(&p->notify_lock);
    err[errlen - 1] = '\0';
    free(headers);
    free(config);
    if (rc < 0) {
        atomic_fetch_add_explicit(&p->errors, 1, memory_order_relaxed);
        if (!err[0])
            snprintf(err, errlen, "plugin '%s' failed", p->name);
        return -1;
    }
    return 0;
}

int vigil_plugins_reload(struct vigil_plugins *r)
{
    int rc = 0;
    for (size_t i = 0; r && i < r->n; i++) {
        struct vigil_plugin *p = r->v[i];
        if (!p->desc->reload)
            continue;
        char err[512] = "";
        if (p->desc->reload(p->state, err, sizeof(err)) < 0) {
            err[sizeof(err) - 1] = '\0';
            vigil_error("plugin %s (%s): reload failed, keeping the previous "
                        "data: %s",
                        p->name, p->path, err[0] ? err : "no reason given");
            rc = -1;
        } else {
            vigil_info("plugin %s reloaded", p->name);
        }
    }
    return rc;
}
