#include "synth.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const users[] = {
    "alice",  "bob",    "carol",  "dave",    "erin",    "frank",   "grace",
    "heidi",  "ivan",   "judy",   "mallory", "oscar",   "peggy",   "trent",
    "victor", "walter", "deploy", "backup",  "ansible", "postgres"};
static const char *const guessed[] = {"root",    "admin",  "test", "oracle",
                                      "ubuntu",  "guest",  "user", "pi",
                                      "ftpuser", "support"};
static const char *const paths[] = {
    "/",        "/login",         "/api/v1/orders", "/api/v1/users",
    "/admin",   "/static/app.js", "/wp-login.php",  "/health",
    "/reports", "/api/v1/search"};
static const char *const malware[] = {
    "Win.Trojan.Emotet-9953364-0", "Eicar-Signature",
    "Unix.Malware.Mirai-7135851-0", "Trojan:Win32/Wacatac.B!ml",
    "Doc.Downloader.Qakbot-9982113-0"};
static const char *const cves[] = {"CVE-2024-3094",  "CVE-2023-4966",
                                   "CVE-2024-6387",  "CVE-2023-44487",
                                   "CVE-2024-21762", "CVE-2022-22965"};

/* xorshift64*: small, fast and good enough for synthetic data. */
static uint64_t next_u64(struct vigil_synth *s)
{
    uint64_t x = s->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static unsigned pick(struct vigil_synth *s, unsigned n)
{
    return (unsigned)(next_u64(s) % n);
}

#define PICK(s, arr) (arr)[pick((s), sizeof(arr) / sizeof((arr)[0]))]

/* Calm and burst modes: the site as `vigild demo` shows it. */
static bool calm(const struct vigil_synth *s)
{
    return s->mode != VIGIL_SYNTH_STEADY;
}

/* On a calm site, the few people who mistype their password. */
static const char *fumbler(struct vigil_synth *s)
{
    return users[pick(s, 4)];
}

void vigil_synth_init(struct vigil_synth *s, uint64_t seed)
{
    s->state = seed ? seed : 0x9E3779B97F4A7C15ULL;
    s->mode = VIGIL_SYNTH_STEADY;
    s->serial = 0;
    s->quarantines = 0;
    s->quarantine_ms = 0;
}

struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    if (o->len >= o->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
    if (o->len >= o->size)
        o->len = o->size - 1;
}

static void syslog_header(struct out *o, int64_t now_ms, const char *host,
                          const char *proc, unsigned pid)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    put(o, "%s %2d %02d:%02d:%02d %s %s[%u]: ", mon[tm.tm_mon], tm.tm_mday,
        tm.tm_hour, tm.tm_min, tm.tm_sec, host, proc, pid);
}

static void iso_time(char *buf, size_t size, int64_t now_ms)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03uZ", (unsigned)(now_ms % 1000) % 1000u);
}

/* A public-looking source address; burst sources come from a small set. */
static void src_ip(struct vigil_synth *s, char *buf, size_t size)
{
    if (s->mode == VIGIL_SYNTH_BURST && pick(s, 10) < 8) {
        snprintf(buf, size, "185.220.101.%u", 10 + pick(s, 4));
        return;
    }
    switch (pick(s, 4)) {
    case 0:
        snprintf(buf, size, "2001:db8:%x::%x", pick(s, 0xffff),
                 1 + pick(s, 0xfff));
        break;
    default:
        snprintf(buf, size, "%u.%u.%u.%u", 23 + pick(s, 180), pick(s, 256),
                 pick(s, 256), 1 + pick(s, 254));
        break;
    }
}

static void host(struct vigil_synth *s, char *buf, size_t size,
                 const char *prefix, unsigned n)
{
    snprintf(buf, size, "%s-%02u", prefix, 1 + pick(s, n));
}

static void gen_sshd(struct vigil_synth *s, struct out *o, int64_t now)
{
    char h[32], ip[64];
    host(s, h, sizeof(h), "bastion", 2);
    src_ip(s, ip, sizeof(ip));
    unsigned pid = 1000 + pick(s, 60000);
    unsigned port = 1024 + pick(s, 64000);
    syslog_header(o, now, h, "sshd", pid);
    if (s->mode == VIGIL_SYNTH_CALM) {
        /* Keys for the admins, a password now and then, one mistyped. */
        unsigned r = pick(s, 40);
        if (r == 0)
            put(o, "Failed password for %s from %s port %u ssh2", fumbler(s),
                ip, port);
        else if (r < 25)
            put(o,
                "Accepted publickey for %s from %s port %u ssh2: ED25519 "
                "SHA256:Jx5kq0m1xR3tOq7xJdU1nCq1o2mZxk3b9vYdUQe0xSg",
                PICK(s, users), ip, port);
        else
            put(o, "Accepted password for %s from %s port %u ssh2",
                PICK(s, users), ip, port);
        return;
    }
    unsigned r = s->mode == VIGIL_SYNTH_BURST ? pick(s, 3) : pick(s, 10);
    switch (r) {
    case 0:
    case 1:
        put(o, "Failed password for invalid user %s from %s port %u ssh2",
            PICK(s, guessed), ip, port);
        break;
    case 2:
        /* Attackers guess accounts every server has. */
        put(o, "Failed password for %s from %s port %u ssh2",
            s->mode == VIGIL_SYNTH_BURST ? PICK(s, guessed) : PICK(s, users),
            ip, port);
        break;
    case 3:
        put(o, "Invalid user %s from %s port %u", PICK(s, guessed), ip, port);
        break;
    case 4:
        put(o,
            "Accepted publickey for %s from %s port %u ssh2: ED25519 "
            "SHA256:Jx5kq0m1xR3tOq7xJdU1nCq1o2mZxk3b9vYdUQe0xSg",
            PICK(s, users), ip, port);
        break;
    default:
        put(o, "Accepted password for %s from %s port %u ssh2", PICK(s, users),
            ip, port);
        break;
    }
}

static void gen_sudo(struct vigil_synth *s, struct out *o, int64_t now)
{
    static const char *const cmds[] = {
        "/usr/bin/systemctl restart nginx", "/usr/bin/apt-get upgrade -y",
        "/usr/bin/journalctl -u sshd", "/bin/cat /etc/shadow",
        "/usr/sbin/iptables -L -n"};
    char h[32];
    host(s, h, sizeof(h), "db", 4);
    o->len = 0;
    syslog_header(o, now, h, "sudo", 2000 + pick(s, 30000));
    /* sudo logs without a pid; drop "[pid]" for realism. */
    char *b = strchr(o->buf, '[');
    if (b) {
        o->len = (size_t)(b - o->buf);
        put(o, ": ");
    }
    if (calm(s) && pick(s, 400) == 0) {
        const char *u = fumbler(s);
        put(o,
            "%8s : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/%s ; "
            "USER=root ; COMMAND=%s",
            u, u, PICK(s, cmds));
    } else if (!calm(s) && pick(s, 20) == 0)
        put(o,
            "%8s : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/%s ; "
            "USER=root ; COMMAND=%s",
            PICK(s, users), PICK(s, users), PICK(s, cmds));
    else
        put(o, "%8s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=%s",
            PICK(s, users), PICK(s, users), PICK(s, cmds));
}

static void gen_web(struct vigil_synth *s, struct out *o, int64_t now)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const unsigned codes[] = {200, 200, 200, 200, 200, 200,
                                     304, 302, 404, 401, 403, 500};
    char ip[64];
    src_ip(s, ip, sizeof(ip));
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    put(o,
        "%s - %s [%02d/%s/%04d:%02d:%02d:%02d +0000] \"%s %s HTTP/1.1\" "
        "%u %u \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0\"",
        ip, pick(s, 4) == 0 ? PICK(s, users) : "-", tm.tm_mday, mon[tm.tm_mon],
        tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
        pick(s, 5) == 0 ? "POST" : "GET", PICK(s, paths), PICK(s, codes),
        200 + pick(s, 40000));
}

static void gen_firewall(struct vigil_synth *s, struct out *o, int64_t now)
{
    static const unsigned ports[] = {22, 23, 445, 3389, 1433, 5900, 8080};
    char h[32], ip[64];
    host(s, h, sizeof(h), "fw", 2);
    src_ip(s, ip, sizeof(ip));
    syslog_header(o, now, h, "kernel", 0);
    char *b = strchr(o->buf, '[');
    if (b) {
        o->len = (size_t)(b - o->buf);
        put(o, ": ");
    }
    put(o,
        "[%5u.%06u] IPTABLES-DROP: IN=eth0 OUT= "
        "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%s "
        "DST=192.0.2.%u LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=%u DF "
        "PROTO=TCP SPT=%u DPT=%u WINDOW=29200 RES=0x00 SYN URGP=0",
        pick(s, 99999), pick(s, 999999), ip, 1 + pick(s, 254), pick(s, 65535),
        1024 + pick(s, 64000), PICK(s, ports));
}

static void gen_windows(struct vigil_synth *s, struct out *o, int64_t now)
{
    static const unsigned codes[] = {4624, 4624, 4624, 4624, 4624,
                                     4625, 4625, 4672, 4672, 4720,
                                     4728, 4732, 4756, 7045, 1102};
    char ts[40], ip[64];
    iso_time(ts, sizeof(ts), now);
    src_ip(s, ip, sizeof(ip));
    unsigned code = PICK(s, codes);
    if (code == 1102 && pick(s, 20) != 0)
        code = 4624; /* audit-log clearing is rare */
    /* A calm site clears no audit log, and only its fumblers fail. */
    const char *user = NULL;
    if (calm(s) && (code == 1102 || (code == 4625 && pick(s, 10) != 0)))
        code = 4624;
    if (calm(s) && code == 4625)
        user = fumbler(s);
    put(o,
        "{\"@timestamp\":\"%s\",\"event\":{\"code\":\"%u\",\"provider\":"
        "\"Microsoft-Windows-Security-Auditing\",\"outcome\":\"%s\"},"
        "\"host\":{\"name\":\"ws-%03u.corp.example\"},\"winlog\":{"
        "\"channel\":\"Security\",\"event_id\":%u,\"event_data\":{"
        "\"TargetUserName\":\"%s\",\"TargetDomainName\":\"CORP\","
        "\"IpAddress\":\"%s\",\"LogonType\":\"%u\"}},\"message\":"
        "\"Windows Security event %u\"}",
        ts, code, code == 4625 ? "failure" : "success", 1 + pick(s, 200), code,
        user ? user : PICK(s, users), ip, pick(s, 2) ? 3u : 10u, code);
}

static void gen_av(struct vigil_synth *s, struct out *o, int64_t now)
{
    char h[32];
    snprintf(h, sizeof(h), "ws-%03u", 1 + pick(s, 200));
    unsigned r = pick(s, 10);
    if (calm(s)) {
        /* Every detection is quarantined by the next antivirus event,
         * stamped with the detection's time: both land in one bucket. */
        if (s->quarantines > 0) {
            s->quarantines--;
            now = s->quarantine_ms;
            r = 9;
        } else if (r >= 7 && pick(s, 4) == 0) {
            s->quarantines++;
            s->quarantine_ms = now;
            r = 7;
        } else {
            r = 0;
        }
    }
    if (r < 7) {
        syslog_header(o, now, h, "freshclam", 300 + pick(s, 9000));
        put(o,
            "daily.cld updated (version: %u, sigs: %u, f-level: 90, "
            "builder: raynman)",
            27300 + pick(s, 50), 2060000 + pick(s, 9000));
    } else if (r < 9) {
        syslog_header(o, now, h, "clamd", 300 + pick(s, 9000));
        put(o, "/home/%s/Downloads/invoice_%u.doc: %s FOUND", PICK(s, users),
            pick(s, 9999), PICK(s, malware));
    } else {
        syslog_header(o, now, h, "clamd", 300 + pick(s, 9000));
        put(o,
            "/home/%s/Downloads/invoice_%u.doc: moved to "
            "'/var/lib/clamav/quarantine/invoice_%u.doc'",
            PICK(s, users), pick(s, 9999), pick(s, 9999));
    }
}

static void gen_vuln(struct vigil_synth *s, struct out *o, int64_t now)
{
    char ts[40], asset[32];
    iso_time(ts, sizeof(ts), now);
    if (calm(s)) {
        /* A fixed estate: one critical finding per asset, found and
         * fixed in turn, keyed so that the fix pairs with the finding. */
        unsigned a = pick(s, 8), c = pick(s, 6);
        bool critical = (a + c) % 6 == 0;
        unsigned cvss = critical ? 90 + pick(s, 11) : 40 + pick(s, 50);
        put(o,
            "{\"@timestamp\":\"%s\",\"scanner\":\"openvas\",\"vuln\":{"
            "\"id\":\"%s\",\"key\":\"web-%02u:%s\",\"cvss\":%u.%u,"
            "\"status\":\"%s\"},\"asset\":\"web-%02u\"}",
            ts, cves[c], a + 1, cves[c], cvss / 10, cvss % 10,
            pick(s, 2) ? "fixed" : "open", a + 1);
        return;
    }
    host(s, asset, sizeof(asset), "web", 8);
    unsigned cvss10 = 40 + pick(s, 61);
    put(o,
        "{\"@timestamp\":\"%s\",\"scanner\":\"openvas\",\"vuln\":{\"id\":"
        "\"%s\",\"cvss\":%u.%u,\"status\":\"%s\"},\"asset\":\"%s\"}",
        ts, PICK(s, cves), cvss10 / 10, cvss10 % 10,
        pick(s, 3) == 0 ? "fixed" : "open", asset);
}

static void gen_change(struct vigil_synth *s, struct out *o, int64_t now)
{
    char ts[40], h[32];
    iso_time(ts, sizeof(ts), now);
    host(s, h, sizeof(h), "db", 4);
    if (calm(s) ? pick(s, 100) == 0 : pick(s, 5) == 0)
        put(o,
            "{\"@timestamp\":\"%s\",\"event\":{\"action\":\"config-change\"}"
            ",\"host\":{\"name\":\"%s\"},\"user\":{\"name\":\"%s\"},"
            "\"message\":\"configuration changed without ticket\"}",
            ts, h, PICK(s, users));
    else
        put(o,
            "{\"@timestamp\":\"%s\",\"event\":{\"action\":\"config-change\"}"
            ",\"host\":{\"name\":\"%s\"},\"user\":{\"name\":\"%s\"},"
            "\"change\":{\"ticket\":\"CHG-%05u\"},\"message\":"
            "\"configuration changed\"}",
            ts, h, PICK(s, users), pick(s, 99999));
}

static void gen_incident(struct vigil_synth *s, struct out *o, int64_t now)
{
    static const char *const actions[] = {"opened", "contained", "closed"};
    char ts[40];
    iso_time(ts, sizeof(ts), now);
    /* Ids reuse a small window so that opened, contained, closed pair up. */
    unsigned base = (unsigned)(s->serial / 64);
    unsigned id = base + pick(s, 8);
    const char *action = PICK(s, actions);
    put(o,
        "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"incident\","
        "\"action\":\"%s\"},\"incident\":{\"id\":\"INC-%06u\","
        "\"severity\":\"%s\"},\"message\":\"incident INC-%06u %s\"}",
        ts, action, id, pick(s, 4) ? "medium" : "high", id, action);
}

static void gen_heartbeat(struct vigil_synth *s, struct out *o, int64_t now)
{
    char ts[40];
    iso_time(ts, sizeof(ts), now);
    put(o,
        "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"heartbeat\"},"
        "\"agent\":{\"name\":\"agent-%03u\",\"version\":\"8.13.2\"}}",
        ts, 1 + pick(s, 50));
}

static void gen_phishing(struct vigil_synth *s, struct out *o, int64_t now)
{
    static const char *const msgs[] = {
        "Email Sent",   "Email Sent",   "Email Sent",     "Email Opened",
        "Email Opened", "Clicked Link", "Submitted Data", "Email Reported"};
    char ts[40];
    iso_time(ts, sizeof(ts), now);
    if (calm(s)) {
        /* A trained staff of 400: few click, many report. */
        unsigned r = pick(s, 100);
        const char *m = r < 60   ? "Email Sent"
                        : r < 86 ? "Email Opened"
                        : r < 98 ? "Email Reported"
                        : r < 99 ? "Clicked Link"
                                 : "Submitted Data";
        put(o,
            "{\"@timestamp\":\"%s\",\"campaign_id\":%u,\"email\":"
            "\"staff%03u@corp.example\",\"message\":\"%s\",\"source\":"
            "\"gophish\"}",
            ts, 1 + pick(s, 12), 1 + pick(s, 400), m);
        return;
    }
    put(o,
        "{\"@timestamp\":\"%s\",\"campaign_id\":%u,\"email\":"
        "\"%s@corp.example\",\"message\":\"%s\",\"source\":\"gophish\"}",
        ts, 1 + pick(s, 12), PICK(s, users), PICK(s, msgs));
}

typedef void (*gen_fn)(struct vigil_synth *, struct out *, int64_t);

/* Weights per mille of the everyday mix, by kind. */
static const struct {
    gen_fn fn;
    unsigned weight;
} mix[VIGIL_SYNTH_N_KINDS] = {
    [VIGIL_SYNTH_SSHD] = {gen_sshd, 180},
    [VIGIL_SYNTH_SUDO] = {gen_sudo, 80},
    [VIGIL_SYNTH_WEB] = {gen_web, 250},
    [VIGIL_SYNTH_FIREWALL] = {gen_firewall, 150},
    [VIGIL_SYNTH_WINDOWS] = {gen_windows, 120},
    [VIGIL_SYNTH_AV] = {gen_av, 60},
    [VIGIL_SYNTH_VULN] = {gen_vuln, 30},
    [VIGIL_SYNTH_CHANGE] = {gen_change, 30},
    [VIGIL_SYNTH_INCIDENT] = {gen_incident, 30},
    [VIGIL_SYNTH_HEARTBEAT] = {gen_heartbeat, 50},
    [VIGIL_SYNTH_PHISHING] = {gen_phishing, 20},
};

double vigil_synth_share(enum vigil_synth_kind kind)
{
    if (kind <= VIGIL_SYNTH_ANY || kind >= VIGIL_SYNTH_N_KINDS)
        return kind == VIGIL_SYNTH_ANY ? 1.0 : 0.0;
    return mix[kind].weight / 1000.0;
}

size_t vigil_synth_next_kind(struct vigil_synth *s, enum vigil_synth_kind kind,
                             int64_t now_ms, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    buf[0] = '\0';
    s->serial++;
    if (kind > VIGIL_SYNTH_ANY && kind < VIGIL_SYNTH_N_KINDS) {
        mix[kind].fn(s, &o, now_ms);
        return o.len;
    }
    if (s->mode == VIGIL_SYNTH_BURST && pick(s, 10) < 7) {
        gen_sshd(s, &o, now_ms);
        return o.len;
    }
    unsigned r = pick(s, 1000);
    for (size_t i = VIGIL_SYNTH_ANY + 1; i < VIGIL_SYNTH_N_KINDS; i++) {
        if (r < mix[i].weight) {
            mix[i].fn(s, &o, now_ms);
            return o.len;
        }
        r -= mix[i].weight;
    }
    gen_heartbeat(s, &o, now_ms);
    return o.len;
}

size_t vigil_synth_next(struct vigil_synth *s, int64_t now_ms, char *buf,
                        size_t size)
{
    return vigil_synth_next_kind(s, VIGIL_SYNTH_ANY, now_ms, buf, size);
}
