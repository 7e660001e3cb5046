/*
 * notifier_teams, loaded from the built shared object, posting to a tiny
 * HTTP listener on 127.0.0.1 that this test runs in a thread: the cards it
 * builds from vigil's webhook JSON, the request, and every failure the
 * host must hear about (HTTP errors, the connector's 200-with-error, the
 * time budget, bad settings).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugin_loader.h"

/* One-connection HTTP listener. */
struct listener {
    int fd;
    int port;
    const char *reply; /* whole response; NULL: read, never answer */
    char request[8192];
    size_t len;
    pthread_t thread;
};

static struct listener srv;
static struct vigil_plugins *reg;
static struct vigil_plugin *teams;

/* Reads headers and a Content-Length body into srv.request. */
static void read_request(int c)
{
    size_t want = 0;
    while (srv.len < sizeof(srv.request) - 1) {
        ssize_t n =
            read(c, srv.request + srv.len, sizeof(srv.request) - 1 - srv.len);
        if (n <= 0)
            break;
        srv.len += (size_t)n;
        srv.request[srv.len] = '\0';
        char *end = strstr(srv.request, "\r\n\r\n");
        if (!end)
            continue;
        if (!want) {
            const char *cl = strstr(srv.request, "Content-Length: ");
            want = (size_t)(end + 4 - srv.request) +
                   (cl ? strtoul(cl + 16, NULL, 10) : 0);
        }
        if (srv.len >= want)
            break;
    }
}

static void *serve(void *arg)
{
    (void)arg;
    int c = accept(srv.fd, NULL, NULL);
    if (c < 0)
        return NULL;
    read_request(c);
    if (srv.reply) {
        size_t off = 0, n = strlen(srv.reply);
        while (off < n) {
            ssize_t w = write(c, srv.reply + off, n - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    } else {
        /* Never answer: wait until the client gives up and closes. */
        char b[256];
        while (read(c, b, sizeof(b)) > 0)
            ;
    }
    close(c);
    return NULL;
}

static void listen_once(const char *reply)
{
    memset(&srv, 0, sizeof(srv));
    srv.reply = reply;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(srv.fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(srv.fd, 1), 0);
    cr_assert_eq(getsockname(srv.fd, (struct sockaddr *)&a, &alen), 0);
    srv.port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

static void setup(void)
{
    reg = vigil_plugins_create(NULL);
    struct vigil_diags d = {0};
    struct vigil_plugin_source src = {.path = VIGIL_PLUGIN_PATH_NOTIFIER_TEAMS};
    cr_assert_eq(vigil_plugins_open(reg, &src, &d), 0, "%s",
                 d.n ? d.v[0].msg : "");
    vigil_diags_fini(&d);
    teams = vigil_plugins_find(reg, VIGIL_PLUGIN_NOTIFIER, "teams");
    srv.fd = -1;
}

static void teardown(void)
{
    if (srv.fd >= 0) {
        shutdown(srv.fd, SHUT_RDWR);
        pthread_join(srv.thread, NULL);
        close(srv.fd);
    }
    vigil_plugins_destroy(reg);
}

TestSuite(plugin_teams, .init = setup, .fini = teardown);

static const char note[] =
    "{\"indicator\":{\"id\":\"KPI-AC-01\",\"name\":\"SSH brute-force "
    "pressure\",\"unit\":\"failures per source per 5m\",\"target\":\"< 20\","
    "\"owner\":\"soc-lead\"},\"state\":\"breach\",\"previous\":\"warn\","
    "\"value\":57,\"since\":\"2024-06-01T12:00:00Z\",\"severity\":\"high\","
    "\"top\":[{\"key\":\"194.117.26.69\",\"count\":57},{\"key\":\"5.6.7.8\","
    "\"count\":31}],\"recommendation\":\"Block the top sources at the "
    "perimeter.\",\"dashboard\":\"http://vigil.example/#KPI-AC-01\"}";

static int notify(const char *url, const char *card, const char *json,
                  unsigned timeout_ms, char *err, size_t errlen)
{
    struct vigil_config_kv h[] = {{"X-Vigil-Team", "soc"}};
    struct vigil_config_kv c[] = {{"card", (char *)card}};
    struct vigil_config_notifier n = {
        .name = "soc-teams",
        .url = (char *)url,
        .timeout_ms = timeout_ms,
        .headers = {h, 1},
        .config = {c, card ? 1 : 0},
    };
    return vigil_plugin_notify(teams, &n, json, strlen(json), err, errlen);
}

static char *url(void)
{
    char *u = NULL;
    cr_assert(asprintf(&u, "http://127.0.0.1:%d/webhook/abc", srv.port) > 0);
    return u;
}

static const char *body_of(void)
{
    const char *b = strstr(srv.request, "\r\n\r\n");
    cr_assert_not_null(b, "%s", srv.request);
    return b + 4;
}

static void finish(void)
{
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    srv.fd = -1;
}

Test(plugin_teams, posts_an_adaptive_card_built_from_the_webhook_json)
{
    listen_once("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n");
    char *u = url();
    char err[256];
    cr_assert_eq(notify(u, NULL, note, 5000, err, sizeof(err)), 0, "%s", err);
    finish();
    cr_assert_eq(strncmp(srv.request, "POST /webhook/abc HTTP/1.1\r\n", 28), 0,
                 "%s", srv.request);
    cr_assert(strstr(srv.request, "\r\nContent-Type: application/json\r\n"));
    cr_assert(strstr(srv.request, "\r\nX-Vigil-Team: soc\r\n"));
    cr_assert_str_eq(
        body_of(),
        "{\"type\":\"message\",\"attachments\":[{\"contentType\":"
        "\"application/vnd.microsoft.card.adaptive\",\"contentUrl\":null,"
        "\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/"
        "adaptive-card.json\",\"type\":\"AdaptiveCard\",\"version\":\"1.4\","
        "\"body\":[{\"type\":\"TextBlock\",\"text\":\"[BREACH] KPI-AC-01 SSH "
        "brute-force pressure\",\"wrap\":true,\"weight\":\"Bolder\",\"size\":"
        "\"Medium\",\"color\":\"Attention\"},{\"type\":\"FactSet\",\"facts\":"
        "[{\"title\":\"State\",\"value\":\"warn -> breach\"},{\"title\":"
        "\"Value\",\"value\":\"57 failures per source per 5m\"},{\"title\":"
        "\"Target\",\"value\":\"< 20\"},{\"title\":\"Since\",\"value\":"
        "\"2024-06-01T12:00:00Z\"},{\"title\":\"Severity\",\"value\":"
        "\"high\"},{\"title\":\"Owner\",\"value\":\"soc-lead\"},{\"title\":"
        "\"Top offenders\",\"value\":\"194.117.26.69 (57), 5.6.7.8 (31)\"}]},"
        "{\"type\":\"TextBlock\",\"text\":\"Block the top sources at the "
        "perimeter.\",\"wrap\":true}],\"actions\":[{\"type\":"
        "\"Action.OpenUrl\",\"title\":\"Open dashboard\",\"url\":"
        "\"http://vigil.example/#KPI-AC-01\"}]}}]}");
    free(u);
}

Test(plugin_teams, posts_a_message_card_when_configured)
{
    listen_once("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                "Connection: close\r\n\r\n1");
    char *u = url();
    char err[256];
    const char *resolved = "{\"indicator\":\"KPI-1\",\"state\":\"ok\","
                           "\"value\":3,\"top_offenders\":[[\"a\",2],\"b\"]}";
    cr_assert_eq(notify(u, "messagecard", resolved, 5000, err, sizeof(err)), 0,
                 "%s", err);
    finish();
    cr_assert_str_eq(
        body_of(),
        "{\"@type\":\"MessageCard\",\"@context\":\"https://schema.org/"
        "extensions\",\"summary\":\"[OK] KPI-1\",\"themeColor\":\"107C10\","
        "\"title\":\"[OK] KPI-1\",\"sections\":[{\"facts\":[{\"name\":"
        "\"State\",\"value\":\"ok\"},{\"name\":\"Value\",\"value\":\"3\"},"
        "{\"name\":\"Top offenders\",\"value\":\"a (2), b\"}]}]}");
    free(u);
}

Test(plugin_teams, reports_an_http_error_with_the_receivers_words)
{
    listen_once("HTTP/1.1 400 Bad Request\r\nContent-Length: 20\r\n"
                "Connection: close\r\n\r\nSummary is required.");
    char *u = url();
    char err[256];
    cr_assert_eq(notify(u, NULL, note, 5000, err, sizeof(err)), -1);
    finish();
    cr_assert_str_eq(err, "HTTP 400: Summary is required.");
    cr_assert_eq(vigil_plugin_errors(teams), 1);
    free(u);
}

Test(plugin_teams, treats_the_connectors_200_with_an_error_as_a_failure)
{
    const char *reply = "HTTP/1.1 200 OK\r\nContent-Length: 72\r\n"
                        "Connection: close\r\n\r\n"
                        "Webhook message delivery failed with error: "
                        "Microsoft Teams endpoint 429";
    listen_once(reply);
    char *u = url();
    char err[256];
    cr_assert_eq(notify(u, NULL, note, 5000, err, sizeof(err)), -1);
    finish();
    cr_assert_str_eq(err, "HTTP 200: Webhook message delivery failed with "
                          "error: Microsoft Teams endpoint 429");
    free(u);
}

Test(plugin_teams, gives_up_within_the_budget)
{
    listen_once(NULL);
    char *u = url();
    char err[256];
    cr_assert_eq(notify(u, NULL, note, 200, err, sizeof(err)), -1);
    cr_assert_eq(strncmp(err, "POST failed: ", 13), 0, "%s", err);
    cr_assert(strstr(err, "timed out"), "%s", err);
    finish();
    free(u);
}

Test(plugin_teams, refuses_bad_settings_and_bad_notifications)
{
    char err[256];
    cr_assert_eq(notify(NULL, NULL, note, 1000, err, sizeof(err)), -1);
    cr_assert_str_eq(err,
                     "notifier 'soc-teams': no url (the Teams webhook URL)");
    cr_assert_eq(
        notify("http://127.0.0.1:1/", "html", note, 1000, err, sizeof(err)),
        -1);
    cr_assert_str_eq(err, "notifier 'soc-teams': config card: 'html' (card: "
                          "adaptive or messagecard)");
    cr_assert_eq(
        notify("http://127.0.0.1:1/", NULL, "[1,2]", 1000, err, sizeof(err)),
        -1);
    cr_assert_str_eq(err, "the notification is not a JSON object");
    cr_assert_eq(
        notify("ftp://127.0.0.1/x", NULL, note, 1000, err, sizeof(err)), -1);
    cr_assert_eq(strncmp(err, "POST failed: ", 13), 0, "%s", err);
}
