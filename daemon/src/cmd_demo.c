/*
 * vigild demo: the whole product on embedded defaults (DESIGN.md section
 * 2). An in-process Kafka (librdkafka's mock cluster on 127.0.0.1), a
 * redis-server started on a free port in a temp dir, the shipped rule and
 * indicator packs, a week of synthetic history written through the
 * pipeline into Redis (so that every indicator has data from its first
 * evaluation), the full daemon with its HTTP feed, and a synthetic SIEM
 * feed produced through Kafka with a scripted brute-force burst, so that
 * an indicator breaches, pages the local log notifier, and later
 * recovers. A table of the indicators is printed every 10 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "counter_store.h"
#include "daemon.h"
#include "log.h"
#include "measures.h"
#include "pipeline.h"
#include "redis_conn.h"
#include "synth.h"

#define DEMO_TOPIC "security-events"
#define DEMO_PARTITIONS 4
#define BURST_START_S 20
#define BURST_LENGTH_S 60
#define ATTACK_RATE 30 /* failed SSH logins a second during the burst */
#define TABLE_EVERY_S 10.0
#define HISTORY_BATCH 20000 /* events per batch script */
#define DAY_S 86400

struct demo_indicator {
    const struct vigil_indicator *ind;
    bool has_value;
    double value;
    enum vigil_state state;
    char next[48]; /* "breach in 45s", "ok in 3m": pending or recovering */
};

struct demo {
    /* options */
    const char *http;
    double duration_s;
    unsigned rate;
    /* resources */
    char *dir;
    pid_t redis_pid;
    int redis_port;
    rd_kafka_t *kafka; /* producer that owns the mock cluster */
    pthread_t producer;
    bool producer_started;
    _Atomic bool stop;
    _Atomic uint64_t produced;
    /* SIGINT and SIGTERM are blocked outside the daemon's loop, so that
     * Ctrl-C during setup or cleanup still ends with everything removed;
     * this is the mask to go back to. */
    sigset_t unblocked;
    /* terminal table */
    ev_timer table;
    struct demo_indicator *inds;
    size_t n_inds;
};

static const char demo_usage[] =
    "usage: vigild demo [--http ADDR] [--duration S] [--rate N]\n"
    "\n"
    "Runs vigil on embedded defaults: an in-process Kafka, a local\n"
    "redis-server, the shipped rules and indicators with a week of\n"
    "synthetic history, and a synthetic SIEM feed with a brute-force\n"
    "attack after 20 s. Ctrl-C stops it and cleans up.\n"
    "\n"
    "  --http ADDR     dashboard address (default 127.0.0.1:8089)\n"
    "  --duration S    stop after S seconds (default: until Ctrl-C)\n"
    "  --rate N        events per second of the steady feed (default 500)\n";

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The shipped rules: $VIGIL_RULES_DIR, next to the build tree, or the
 * installed copy. */
static int find_rules_dir(char *out, size_t size)
{
    const char *env = getenv("VIGIL_RULES_DIR");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *dir = NULL;
    if (n > 0) {
        exe[n] = '\0';
        dir = strrchr(exe, '/');
        if (dir)
            *dir = '\0';
    }
    const char *candidates[] = {env, NULL, NULL, "/usr/share/vigil/rules",
                                "/usr/local/share/vigil/rules"};
    char c1[PATH_MAX + 16], c2[PATH_MAX + 16];
    if (dir) {
        snprintf(c1, sizeof(c1), "%s/../../rules", exe);
        snprintf(c2, sizeof(c2), "%s/../rules", exe);
        candidates[1] = c1;
        candidates[2] = c2;
    }
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (!candidates[i])
            continue;
        char probe[PATH_MAX + 32];
        snprintf(probe, sizeof(probe), "%s/packs", candidates[i]);
        struct stat st;
        if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode) &&
            realpath(candidates[i], probe) && strlen(probe) < size) {
            memcpy(out, probe, strlen(probe) + 1);
            return 0;
        }
    }
    return -1;
}

static bool redis_ping(int port)
{
    struct vigil_config_redis r = {.transport = VIGIL_REDIS_TCP,
                                   .host = "127.0.0.1",
                                   .port = port,
                                   .connect_timeout_ms = 200,
                                   .command_timeout_ms = 200};
    char err[128];
    redisContext *c = vigil_redis_connect(&r, err, sizeof(err));
    if (!c)
        return false;
    redisReply *rep = redisCommand(c, "PING");
    bool ok = rep && rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    redisFree(c);
    return ok;
}

/* Whether an executable called name is on $PATH. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char probe[PATH_MAX];
        int n = snprintf(probe, sizeof(probe), "%.*s/%s", (int)len,
                         len ? path : ".", name);
        if (n > 0 && (size_t)n < sizeof(probe) && access(probe, X_OK) == 0)
            return true;
        path += len + (colon ? 1 : 0);
    }
    return false;
}

static const char no_redis[] =
    "vigild demo: redis-server is not installed (or not on PATH).\n"
    "Install it with:  sudo apt-get install redis-server\n"
    "(or run ./deploy/install-deps.sh, which installs everything vigil "
    "needs)\n";

static int start_redis(struct demo *d)
{
    if (!on_path("redis-server")) {
        fputs(no_redis, stderr);
        return -1;
    }
    d->redis_port = free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", d->redis_port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        /* The demo blocks SIGINT and SIGTERM while it sets up; an exec
         * would pass that on. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d->dir,
               "--daemonize", "no", "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    d->redis_pid = pid;
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            d->redis_pid = 0;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                fputs(no_redis, stderr);
            else
                fprintf(stderr, "vigild demo: redis-server exited at "
                                "start\n");
            return -1;
        }
        if (redis_ping(d->redis_port))
            return 0;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "vigild demo: redis-server does not answer\n");
    return -1;
}

static void stop_redis(struct demo *d)
{
    if (d->redis_pid <= 0)
        return;
    kill(d->redis_pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(d->redis_pid, NULL, WNOHANG) == d->redis_pid) {
            d->redis_pid = 0;
            return;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(d->redis_pid, SIGKILL);
    waitpid(d->redis_pid, NULL, 0);
    d->redis_pid = 0;
}

static int start_kafka(struct demo *d, char *bootstraps, size_t size)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err,
                          sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err)) !=
            RD_KAFKA_CONF_OK ||
        /* Not the notice that the mock cluster replaced the brokers. */
        rd_kafka_conf_set(conf, "log_level", "4", err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
        fprintf(stderr, "vigild demo: kafka: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    d->kafka = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!d->kafka) {
        fprintf(stderr, "vigild demo: kafka: %s\n", err);
        return -1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(d->kafka);
    if (!mc || rd_kafka_mock_topic_create(mc, DEMO_TOPIC, DEMO_PARTITIONS, 1) !=
                   RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "vigild demo: cannot create the mock topic\n");
        return -1;
    }
    snprintf(bootstraps, size, "%s", rd_kafka_mock_cluster_bootstraps(mc));
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void produce(struct demo *d, const char *buf, size_t n)
{
    /* The mock cluster takes what the queue holds; a full queue only
     * drops synthetic events, which the table's count shows. */
    if (rd_kafka_producev(d->kafka, RD_KAFKA_V_TOPIC(DEMO_TOPIC),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_VALUE((void *)buf, n),
                          RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR)
        atomic_fetch_add(&d->produced, 1);
}

/*
 * The synthetic SIEM, on its own thread: a calm site at --rate events a
 * second and, from BURST_START_S for BURST_LENGTH_S, a brute-force
 * attack on the bastions on top (ATTACK_RATE failed SSH logins a second,
 * mostly from four sources).
 */
static void *produce_feed(void *arg)
{
    struct demo *d = arg;
    struct vigil_synth site, attacker;
    vigil_synth_init(&site, (uint64_t)time(NULL));
    site.mode = VIGIL_SYNTH_CALM;
    vigil_synth_init(&attacker, (uint64_t)time(NULL) ^ 0x5bd1e995u);
    attacker.mode = VIGIL_SYNTH_BURST;
    char buf[2048];
    struct timespec start, last;
    clock_gettime(CLOCK_MONOTONIC, &start);
    last = start;
    double credit = 0, attack_credit = 0; /* events due, not sent yet */
    bool burst = false;
    while (!atomic_load(&d->stop)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double t = (double)(now.tv_sec - start.tv_sec) +
                   (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        double dt = (double)(now.tv_sec - last.tv_sec) +
                    (double)(now.tv_nsec - last.tv_nsec) / 1e9;
        last = now;
        bool in_burst =
            t >= BURST_START_S && t < BURST_START_S + BURST_LENGTH_S;
        if (in_burst != burst) {
            burst = in_burst;
            vigil_info("demo: brute-force attack on the bastions %s",
                       burst ? "starts" : "ends");
        }
        credit += dt * d->rate;
        if (burst)
            attack_credit += dt * ATTACK_RATE;
        while (credit >= 1 && !atomic_load(&d->stop)) {
            produce(d, buf,
                    vigil_synth_next(&site, wall_ms(), buf, sizeof(buf)));
            credit -= 1;
        }
        while (attack_credit >= 1 && !atomic_load(&d->stop)) {
            produce(d, buf,
                    vigil_synth_next_kind(&attacker, VIGIL_SYNTH_SSHD,
                                          wall_ms(), buf, sizeof(buf)));
            attack_credit -= 1;
        }
        rd_kafka_poll(d->kafka, 0);
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    rd_kafka_flush(d->kafka, 2000);
    return NULL;
}

static void on_snapshot(void *ctx, const struct vigil_indicator_snapshot *s)
{
    struct demo *d = ctx;
    for (size_t i = 0; i < d->n_inds; i++) {
        if (d->inds[i].ind == s->ind) {
            struct demo_indicator *x = &d->inds[i];
            x->has_value = s->has_value;
            x->value = s->value;
            x->state = s->state;
            x->next[0] = '\0';
            const struct vigil_istate_view *v = s->view;
            uint64_t need = 0;
            enum vigil_state to = s->state;
            int64_t since = 0;
            if (v && v->pending) {
                need = s->ind->params.for_ms;
                to = v->pending_state;
                since = v->pending_since_ms;
            } else if (v && v->recovering) {
                need = s->ind->params.clear_for_ms;
                to = v->recovering_state;
                since = v->recovering_since_ms;
            }
            if (to != s->state) {
                int64_t left = (int64_t)need - (s->at_ms - since);
                left = left > 0 ? (left + 999) / 1000 : 0;
                if (left >= 120)
                    snprintf(x->next, sizeof(x->next), "%s in %lldm",
                             vigil_state_name(to), (long long)(left / 60));
                else
                    snprintf(x->next, sizeof(x->next), "%s in %llds",
                             vigil_state_name(to), (long long)left);
            }
        }
    }
}

static void print_table(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct demo *d = t->data;
    printf("\n%-10s %-8s %10s  %-16s %s   (%llu events produced)\n",
           "indicator", "state", "value", "next", "name",
           (unsigned long long)atomic_load(&d->produced));
    for (size_t i = 0; i < d->n_inds; i++) {
        const struct demo_indicator *x = &d->inds[i];
        char value[32] = "-";
        if (x->has_value)
            snprintf(value, sizeof(value),
                     fabs(x->value) >= 1e4 && fabs(x->value) < 1e12 ? "%.0f"
                                                                    : "%.4g",
                     x->value);
        printf("%-10s %-8s %10s  %-16s %s\n", x->ind->id,
               vigil_state_name(x->state), value, x->next, x->ind->name);
    }
    fflush(stdout);
}

static void on_start(struct ev_loop *loop, void *ctx)
{
    struct demo *d = ctx;
    printf("\nvigil demo is running. Dashboard: http://%s/\n"
           "  JSON API: http://%s/api/v1/indicators   metrics: "
           "http://%s/metrics\n"
           "  pages go to the 'console' log notifier, printed below\n\n",
           d->http, d->http, d->http);
    fflush(stdout);
    ev_timer_init(&d->table, print_table, TABLE_EVERY_S, TABLE_EVERY_S);
    d->table.data = d;
    ev_timer_start(loop, &d->table);
    if (pthread_create(&d->producer, NULL, produce_feed, d) == 0)
        d->producer_started = true;
    /* The loop watches SIGINT and SIGTERM now (every other thread keeps
     * them blocked). */
    pthread_sigmask(SIG_SETMASK, &d->unblocked, NULL);
}

static void block_stop_signals(sigset_t *old)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, old);
}

static void on_stop(struct ev_loop *loop, void *ctx)
{
    struct demo *d = ctx;
    block_stop_signals(NULL);
    ev_timer_stop(loop, &d->table);
}

/*
 * A stretch of the past that the demo's SIEM "sent" before the demo
 * began: from_s down to to_s seconds before the start, events of kind at
 * per_s a second (0: the kind's share of --rate, as live).
 */
struct history_slice {
    int64_t from_s;
    int64_t to_s;
    enum vigil_synth_kind kind;
    double per_s;
};

/*
 * Without history, indicators over 24 h, 7 d or against yesterday or
 * last week would start without data (or in breach, like the log-source
 * silence before the first event lands), and those evaluated every 15 min
 * or hour would show nothing for the length of a demo.
 */
static const struct history_slice history[] = {
    /* A thin week for the 24 h and 7 d windows: anti-malware, changes,
     * incidents, vulnerabilities, phishing. */
    {7 * DAY_S + 3600, 900, VIGIL_SYNTH_ANY, 1.0 / 30},
    /* The quarter hour before the start, for the 5 min to 1 h windows. */
    {900, 0, VIGIL_SYNTH_ANY, 10},
    /* Yesterday around this time: the sources reporting then. */
    {DAY_S + 900, DAY_S - 300, VIGIL_SYNTH_ANY, 10},
    /* Privileged commands at the live rate in the last hour and in the
     * same hour last week (and the half hour after it), so that the
     * week-over-week ratio starts near 1 and stays there for 30 min. */
    {3600, 0, VIGIL_SYNTH_SUDO, 0},
    {7 * DAY_S + 3600, 7 * DAY_S - 1800, VIGIL_SYNTH_SUDO, 0},
};

static int flush_history(struct vigil_counter_store *store, redisContext *rc,
                         struct vigil_pipeline *p, int64_t now,
                         struct vigil_flush_result *res)
{
    if (!vigil_batch_is_empty(p->batch) &&
        (vigil_counter_store_flush(store, rc, p->batch, res) < 0 ||
         !res->accepted)) {
        fprintf(stderr, "vigild demo: history: redis: %s\n",
                vigil_counter_store_error(store));
        return -1;
    }
    vigil_batch_reset(p->batch, now);
    return 0;
}

/*
 * Writes the history slices through the same pipeline as the workers
 * (decode, match, aggregate, one batch script) into Redis, before the
 * daemon starts. Main thread. Returns 0 or -1 (reported).
 */
static int write_history(const struct demo *d, const struct vigil_config *cfg,
                         struct vigil_rule_set *rules,
                         const struct vigil_indicator_set *inds)
{
    struct vigil_pipeline_stats stats = {0};
    struct vigil_pipeline p;
    struct vigil_pipeline_options po = {
        .decode = {.format = cfg->events.format,
                   .time_field = cfg->events.time_field,
                   .max_bytes = cfg->kafka.max_message_bytes},
        .retention_s = vigil_measures_retention_s(inds),
        .resolution_s = (int64_t)(cfg->events.resolution_ms / 1000),
    };
    const char *why = NULL;
    if (vigil_pipeline_init(&p, rules, &po, &stats, &why) < 0) {
        fprintf(stderr, "vigild demo: history: %s\n", why);
        return -1;
    }
    int rc = -1;
    struct vigil_flush_result res = {0};
    struct vigil_counter_store_config sc = {.ns = cfg->redis.ns,
                                            .group = cfg->kafka.group};
    struct vigil_counter_store *store = vigil_counter_store_create(&sc);
    char err[256] = "out of memory";
    redisContext *redis =
        store ? vigil_redis_connect(&cfg->redis, err, sizeof(err)) : NULL;
    if (!redis) {
        fprintf(stderr, "vigild demo: history: %s\n", err);
        goto out;
    }
    struct vigil_synth s;
    vigil_synth_init(&s, 2026);
    s.mode = VIGIL_SYNTH_CALM;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t now = wall_ms();
    vigil_batch_reset(p.batch, now);
    uint64_t total = 0;
    size_t in_batch = 0;
    char buf[2048];
    for (size_t i = 0; i < sizeof(history) / sizeof(history[0]); i++) {
        const struct history_slice *h = &history[i];
        double per_s = h->per_s > 0
                           ? h->per_s
                           : (double)d->rate * vigil_synth_share(h->kind);
        int64_t n = (int64_t)((double)(h->from_s - h->to_s) * per_s);
        double step_ms = 1000.0 / per_s;
        for (int64_t k = 0; k < n; k++) {
            int64_t t = now - h->from_s * 1000 + (int64_t)((double)k * step_ms);
            size_t len =
                vigil_synth_next_kind(&s, h->kind, t, buf, sizeof(buf));
            const char *reason;
            vigil_pipeline_feed(&p, buf, len, t, &reason);
            if (++in_batch == HISTORY_BATCH) {
                if (flush_history(store, redis, &p, now, &res) < 0)
                    goto out;
                in_batch = 0;
            }
        }
        total += (uint64_t)n;
    }
    if (flush_history(store, redis, &p, now, &res) < 0)
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("vigil demo: wrote a week of history into Redis (%llu events, "
           "%.1f s)\n",
           (unsigned long long)total,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    fflush(stdout);
    rc = 0;
out:
    if (redis)
        redisFree(redis);
    vigil_flush_result_fini(&res);
    vigil_counter_store_destroy(store);
    vigil_pipeline_fini(&p);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int parse_demo_options(int argc, char **argv, struct demo *d)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'h'},
        {"duration", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, '?'},
        {NULL, 0, NULL, 0},
    };
    d->http = "127.0.0.1:8089";
    d->rate = 500;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'h':
            d->http = optarg;
            break;
        case 'd':
            d->duration_s = strtod(optarg, &end);
            if (*end || d->duration_s <= 0) {
                fprintf(stderr, "vigild demo: --duration takes seconds\n");
                return -1;
            }
            break;
        case 'r': {
            unsigned long r = strtoul(optarg, &end, 10);
            if (*end || r == 0 || r > 1000000) {
                fprintf(stderr, "vigild demo: --rate takes 1..1000000\n");
                return -1;
            }
            d->rate = (unsigned)r;
            break;
        }
        default:
            return -1;
        }
    }
    return 0;
}

/* The demo's vigil.yaml, in memory. */
static struct vigil_config *demo_config(const struct demo *d,
                                        const char *bootstraps,
                                        const char *rules_dir,
                                        struct vigil_diags *diags)
{
    char *text = NULL;
    int n = asprintf(&text,
                     "kafka:\n"
                     "  brokers: \"%s\"\n"
                     "  topics: [\"" DEMO_TOPIC "\"]\n"
                     "  group: vigil-demo\n"
                     "  workers: 1\n"
                     "redis:\n"
                     "  url: \"redis://127.0.0.1:%d/0\"\n"
                     "  namespace: demo\n"
                     "rules: [\"%s/packs/*.yaml\"]\n"
                     "indicators: [\"%s/indicators/*.yaml\"]\n"
                     "http:\n"
                     "  listen: \"%s\"\n"
                     "notifiers:\n"
                     "  - name: console\n"
                     "    type: log\n"
                     "route:\n"
                     "  - match: {}\n"
                     "    notify: [console]\n",
                     bootstraps, d->redis_port, rules_dir, rules_dir, d->http);
    if (n < 0)
        return NULL;
    struct vigil_config *cfg =
        vigil_config_load_string("demo.yaml", text, (size_t)n, d->dir, diags);
    free(text);
    return cfg;
}

int vigil_cmd_demo(int argc, char **argv)
{
    struct demo d = {0};
    if (parse_demo_options(argc, argv, &d) < 0) {
        fputs(demo_usage, stderr);
        return 2;
    }
    char rules_dir[PATH_MAX];
    if (find_rules_dir(rules_dir, sizeof(rules_dir)) < 0) {
        fprintf(stderr, "vigild demo: cannot find the shipped rules; set "
                        "VIGIL_RULES_DIR to the rules/ folder\n");
        return 1;
    }
    /* Threads started from here on (librdkafka's, the workers) inherit
     * the block: the signals go to the main thread. */
    block_stop_signals(&d.unblocked);
    const char *tmpdir = getenv("TMPDIR");
    if (asprintf(&d.dir, "%s/vigil-demo.XXXXXX", tmpdir ? tmpdir : "/tmp") <
            0 ||
        !mkdtemp(d.dir)) {
        fprintf(stderr, "vigild demo: cannot create a temp dir: %s\n",
                strerror(errno));
        free(d.dir);
        pthread_sigmask(SIG_SETMASK, &d.unblocked, NULL);
        return 1;
    }

    int rc = 1;
    struct vigil_diags diags = {0};
    struct vigil_config *cfg = NULL;
    struct vigil_rule_set *rules = NULL;
    struct vigil_indicator_set *inds = NULL;
    char bootstraps[512];
    if (start_redis(&d) < 0 ||
        start_kafka(&d, bootstraps, sizeof(bootstraps)) < 0)
        goto out;
    cfg = demo_config(&d, bootstraps, rules_dir, &diags);
    if (cfg)
        rules = vigil_rule_set_load_config(cfg, &diags);
    if (rules)
        inds = vigil_measures_load_indicators(cfg, rules, &diags);
    if (!inds) {
        vigil_diags_print(&diags, stderr);
        goto out;
    }
    d.n_inds = inds->n;
    d.inds = calloc(inds->n ? inds->n : 1, sizeof(*d.inds));
    for (size_t i = 0; d.inds && i < inds->n; i++)
        d.inds[i] = (struct demo_indicator){.ind = &inds->v[i],
                                            .state = VIGIL_STATE_NO_DATA};

    printf("vigil demo: Kafka (mock) at %s, topic %s with %d partitions\n"
           "            redis-server at 127.0.0.1:%d (temp dir %s)\n"
           "            %zu rules, %zu indicators, %u events/s, brute-force "
           "burst at %d s\n"
           "Ctrl-C stops the demo and removes everything it started.\n",
           bootstraps, DEMO_TOPIC, DEMO_PARTITIONS, d.redis_port, d.dir,
           vigil_rule_set_size(rules), inds->n, d.rate, BURST_START_S);
    fflush(stdout);
    if (write_history(&d, cfg, rules, inds) < 0)
        goto out;
    struct vigil_daemon_options opts = {
        .duration_s = d.duration_s,
        .on_start = on_start,
        .on_stop = on_stop,
        .on_snapshot = on_snapshot,
        .ctx = &d,
    };
    rc = vigil_daemon_run(cfg, rules, inds, &opts);

out:
    atomic_store(&d.stop, true);
    if (d.producer_started)
        pthread_join(d.producer, NULL);
    if (d.kafka)
        rd_kafka_destroy(d.kafka);
    stop_redis(&d);
    free(d.inds);
    vigil_indicator_set_destroy(inds);
    if (rules)
        vigil_rule_set_unref(rules);
    vigil_config_destroy(cfg);
    vigil_diags_fini(&diags);
    nftw(d.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d.dir);
    /* A Ctrl-C that came during setup or cleanup takes effect now. */
    pthread_sigmask(SIG_SETMASK, &d.unblocked, NULL);
    return rc;
}
