/*
 * payload: the bodies vigil sends, built with cJSON from outbox
 * notifications (docs/NOTIFICATIONS.md has every field):
 *   - PagerDuty Events API v2 (one event per notification),
 *   - Alertmanager's POST /api/v2/alerts (an array of alerts),
 *   - vigil's own webhook JSON (also the exec notifier's stdin),
 *   - a Slack incoming-webhook message,
 *   - one text line (the log notifier, summaries).
 *
 * Pure functions: no clock (env->now_ms), no I/O. Every returned string is
 * heap memory the caller frees with free(); NULL means out of memory.
 * Any thread.
 */
#ifndef VIGIL_PAYLOAD_H
#define VIGIL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "notification.h"

/* PagerDuty's limit on payload.summary. */
#define VIGIL_PAYLOAD_SUMMARY_MAX 1024

struct vigil_payload_env {
    const char *source;        /* who sends: "vigil@<host>"; borrowed */
    const char *dashboard_url; /* base URL of the dashboard; "" or NULL:
                                  no links */
    int64_t now_ms;            /* epoch ms, for Alertmanager's times */
    uint64_t am_valid_ms;      /* a firing alert's endsAt = now + this */
};

/*
 * The PagerDuty event for n: routing_key, event_action (trigger or
 * resolve), dedup_key (n->dedup) and, for a trigger, payload (summary of
 * at most 1024 bytes, severity mapped to critical/error/warning/info,
 * source, timestamp, component, group, class, custom_details) and links.
 */
char *vigil_payload_pagerduty(const struct vigil_notification *n,
                              const char *routing_key,
                              const struct vigil_payload_env *env);

/*
 * The Alertmanager alerts for v[0..n): labels alertname (the indicator
 * id), severity, state and the indicator's labels; annotations; startsAt
 * (the episode's start); endsAt (now for a resolve, now + am_valid_ms
 * while firing); generatorURL. A trigger that moves an open episode from
 * one paged state to another also ends the alert of the previous state.
 */
char *vigil_payload_alertmanager(const struct vigil_notification *const *v,
                                 size_t n, const struct vigil_payload_env *env);

/* vigil's webhook JSON: {"version":1,"source",...,"notifications":[...]}. */
char *vigil_payload_webhook(const struct vigil_notification *const *v, size_t n,
                            const struct vigil_payload_env *env);

/* A Slack incoming-webhook message: text plus one coloured attachment per
 * notification; channel may be NULL (the webhook's own). */
char *vigil_payload_slack(const struct vigil_notification *const *v, size_t n,
                          const char *channel,
                          const struct vigil_payload_env *env);

/*
 * The one-line summary ("[BREACH] KPI-1 Name: 52 unit (target < 20)")
 * into buf (NUL-terminated, cut at a UTF-8 boundary when too long).
 */
void vigil_payload_summary(const struct vigil_notification *n, char *buf,
                           size_t size);

/* PagerDuty's severity for a vigil severity: critical, error, warning or
 * info. */
const char *vigil_payload_pd_severity(const char *severity);

#endif
