#!/usr/bin/env bash
# Soak test of vigild run: a real redis-server (unix socket, temp folder),
# librdkafka's mock cluster fed at a steady rate by bench_soak_feed, and
# vigild run with two workers, one indicator, the log notifier and the
# HTTP feed. Every VIGIL_SOAK_RELOAD_SECONDS (the first after half of it)
# the rule file is changed and vigild gets SIGHUP. At the end the feed stops, vigild must catch up
# (stored offsets = events produced) and exit 0 on SIGTERM.
#
# Reported and checked (docs/RELIABILITY.md):
#   RSS      start (after warm-up) and end; fails when
#            end > start + start * RSS_PCT / 100 + RSS_SLACK_KB
#   fds      open descriptors start and end; fails when end > start + FD_SLACK
#   keys     Redis bucket keys (c:, d:, n:, p:): each must carry a TTL no
#            longer than the retention, and there may be no more than
#            counters * (elapsed / resolution + 2); other keys <= 16
#   reloads  each SIGHUP must log "reloaded:" (none may fail)
#
# Knobs (environment):
#   VIGIL_SOAK_SECONDS         length of the run (default 1800; ./tests/run.sh
#                              uses 120)
#   VIGIL_SOAK_RATE            events per second (default 2000)
#   VIGIL_SOAK_RELOAD_SECONDS  SIGHUP period (default 60)
#   VIGIL_SOAK_RSS_PCT         allowed RSS growth, percent (default 20)
#   VIGIL_SOAK_RSS_SLACK_KB    allowed RSS growth on top, KiB (default 16384)
#   VIGIL_SOAK_FD_SLACK        allowed fd growth (default 4)
#   VIGIL_BUILD_DIR            the test build (default build-test): the
#                              feeder is <build>/tests/bench/bench_soak_feed
#   VIGIL_SOAK_VIGILD          vigild to soak (default: the release build
#                              <build>-release/daemon/vigild when present,
#                              else <build>/daemon/vigild)
#   VIGIL_SOAK_KEEP            1: keep the temp folder (logs) afterwards
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${VIGIL_BUILD_DIR:-build-test}
[[ "$build" == /* ]] || build="$root/$build"
seconds=${VIGIL_SOAK_SECONDS:-1800}
rate=${VIGIL_SOAK_RATE:-2000}
reload_every=${VIGIL_SOAK_RELOAD_SECONDS:-60}
rss_pct=${VIGIL_SOAK_RSS_PCT:-20}
rss_slack_kb=${VIGIL_SOAK_RSS_SLACK_KB:-16384}
fd_slack=${VIGIL_SOAK_FD_SLACK:-4}
feeder="$build/tests/bench/bench_soak_feed"
vigild=${VIGIL_SOAK_VIGILD:-}
if [[ -z "$vigild" ]]; then
  vigild="$build-release/daemon/vigild"
  [[ -x "$vigild" ]] || vigild="$build/daemon/vigild"
fi
for f in "$feeder" "$vigild"; do
  [[ -x "$f" ]] || { echo "soak: $f not built" >&2; exit 1; }
done
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "soak: redis-server/redis-cli not found (deploy/install-deps.sh --test)" >&2
  exit 1
fi
# An ASan build of vigild: a small quarantine, or RSS measures ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=4"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-soak.XXXXXX")
redis_pid="" feed_pid="" vigild_pid=""
cleanup() {
  for p in $vigild_pid $feed_pid $redis_pid; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [[ "${VIGIL_SOAK_KEEP:-0}" == 1 ]]; then echo "soak: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "soak: FAIL: $*"; [[ -f "$tmp/vigild.log" ]] && tail -n 20 "$tmp/vigild.log"; exit 1; }

sock="$tmp/redis.sock"
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save "" \
  --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" &
redis_pid=$!
rcli() { redis-cli -s "$sock" "$@"; }
for _ in $(seq 100); do [[ "$(rcli ping 2>/dev/null)" == PONG ]] && break; sleep 0.1; done
[[ "$(rcli ping 2>/dev/null)" == PONG ]] || fail "redis-server does not answer"

t_start=$(date +%s) # the first event's time: buckets start here
"$feeder" --out "$tmp" --rate "$rate" --partitions 4 >"$tmp/feed.out" 2>"$tmp/feed.log" &
feed_pid=$!
for _ in $(seq 100); do [[ -s "$tmp/bootstraps" ]] && break; sleep 0.1; done
[[ -s "$tmp/bootstraps" ]] || fail "the feeder did not start"

# Two rule files that the reloads alternate between (3 and 4 counters).
rules_a='pack: soak
rules:
  - id: soak.fail
    title: login failure
    severity: low
    match: '"'"'login failed user=(?<user>\S+) src=(?<src>\S+)'"'"'
    count:
      - counter: fails
      - counter: fails_by_src
        by: src
      - counter: failed_users
        distinct: user
'
rules_b="$rules_a"'  - id: soak.ok
    title: login ok
    severity: info
    match: '"'"'login ok'"'"'
    count:
      - counter: oks
'
max_counters=4
printf '%s' "$rules_a" >"$tmp/rules.yaml"
cat >"$tmp/kpi.yaml" <<'EOF'
indicators:
  - id: KPI-SOAK-01
    name: Login failures
    information_need: Are logins failing?
    kind: effectiveness
    entity: Soak hosts
    owner: soc
    data_source: events
    frequency: 5s
    value: count(fails, 5m)
    unit: failures per 5 minutes
    target: "< 1000000000"
    decision:
      breach: ">= 1000000000"
      ok: "< 1000000000"
EOF
cat >"$tmp/vigil.yaml" <<EOF
kafka:
  brokers: "$(cat "$tmp/bootstraps")"
  topics: ["events"]
  group: "vigil-soak"
  workers: 2
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
redis:
  url: "unix://$sock"
  namespace: "soak"
events:
  format: json
  resolution: 10s
http:
  listen: "127.0.0.1:0"
rules: ["rules.yaml"]
indicators: ["kpi.yaml"]
notifiers:
  - name: log
    type: log
route:
  - notify: [log]
EOF
resolution=10
"$vigild" check -c "$tmp/vigil.yaml" >/dev/null || fail "vigild check refuses the soak config"

"$vigild" run -c "$tmp/vigil.yaml" >"$tmp/vigild.log" 2>&1 &
vigild_pid=$!
offsets() { rcli hvals 'vigil:{soak}:offsets:vigil-soak' | awk '{s += $1} END {print s + 0}'; }
produced() { cat "$tmp/produced" 2>/dev/null || echo 0; }
alive() { kill -0 "$vigild_pid" 2>/dev/null || fail "vigild exited"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$vigild_pid/status"; }
fds() { find "/proc/$vigild_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }

for _ in $(seq 600); do alive; [[ $(offsets) -gt 0 ]] && break; sleep 0.1; done
[[ $(offsets) -gt 0 ]] || fail "vigild consumed nothing in 60 s"
t0=$(date +%s)
warmup=$((seconds / 6 < 20 ? seconds / 6 : 20))
sleep "$warmup"
alive
rss0=$(rss_kb) fd0=$(fds)
echo "soak: vigild $vigild, ${seconds}s at $rate events/s, reload every ${reload_every}s"
echo "soak: start (after ${warmup}s): RSS $rss0 KiB, $fd0 fds"

reloads=0
next_reload=$((t0 + reload_every / 2))
while (( $(date +%s) < t0 + seconds )); do
  alive
  if (( $(date +%s) >= next_reload )); then
    reloads=$((reloads + 1))
    if ((reloads % 2)); then printf '%s' "$rules_b" >"$tmp/rules.yaml"
    else printf '%s' "$rules_a" >"$tmp/rules.yaml"; fi
    kill -HUP "$vigild_pid"
    next_reload=$((next_reload + reload_every))
  fi
  sleep 1
done
alive
rss1=$(rss_kb) fd1=$(fds)
counted=$(offsets)
lag=$(($(produced) - counted))
echo "soak: end (${seconds}s): RSS $rss1 KiB, $fd1 fds, lag $lag events"

# Stop the feed, let vigild catch up, stop it cleanly.
kill -USR1 "$feed_pid"
sleep 0.5
total=$(produced)
for _ in $(seq 600); do alive; [[ $(offsets) -ge $total ]] && break; sleep 0.1; done
done_offsets=$(offsets)
kill -TERM "$vigild_pid"
status=0
for _ in $(seq 150); do kill -0 "$vigild_pid" 2>/dev/null || break; sleep 0.1; done
wait "$vigild_pid" || status=$?
vigild_pid=""

# Redis: bucket keys with their TTL, and every other key.
elapsed=$(($(date +%s) - t_start))
# The retention vigild gives bucket keys: the longest window (5 min) plus
# an hour, at least VIGIL_DEFAULT_RETENTION_S (26 h, daemon/src/measures.h).
retention=93600
buckets=0 other=0 no_ttl=0 too_long=0
while read -r key; do
  case "$key" in
    'vigil:{soak}:'[cdnp]:*)
      buckets=$((buckets + 1))
      ttl=$(rcli ttl "$key")
      ((ttl < 0)) && no_ttl=$((no_ttl + 1))
      ((ttl > retention)) && too_long=$((too_long + 1))
      ;;
    *) other=$((other + 1)); echo "soak: key $key" >>"$tmp/keys.txt" ;;
  esac
done < <(rcli --scan --pattern '*')
bucket_bound=$((max_counters * (elapsed / resolution + 2)))
reloaded=$(grep -c 'reloaded:' "$tmp/vigild.log")
reload_failed=$(grep -c 'reload failed' "$tmp/vigild.log")
rss_bound=$((rss0 + rss0 * rss_pct / 100 + rss_slack_kb))

echo "soak: events $total, counted up to offset sum $done_offsets, reloads $reloaded of $reloads"
echo "soak: RSS $rss0 -> $rss1 KiB (bound $rss_bound), fds $fd0 -> $fd1 (bound $((fd0 + fd_slack)))"
echo "soak: redis bucket keys $buckets (bound $bucket_bound, $no_ttl without TTL, $too_long beyond ${retention}s), other keys $other"

[[ $status -eq 0 ]] || fail "vigild exited $status on SIGTERM"
((done_offsets == total)) || fail "vigild did not catch up: $done_offsets of $total"
((reloaded == reloads && reload_failed == 0)) || fail "reloads: $reloaded logged, $reload_failed failed, $reloads sent"
((rss1 <= rss_bound)) || fail "RSS grew from $rss0 to $rss1 KiB"
((fd1 <= fd0 + fd_slack)) || fail "descriptors grew from $fd0 to $fd1"
((no_ttl == 0 && too_long == 0)) || fail "bucket keys without a TTL within the retention"
((buckets <= bucket_bound)) || fail "$buckets bucket keys, more than $bucket_bound"
((other <= 16)) || { cat "$tmp/keys.txt"; fail "$other non-bucket keys"; }
echo "soak: ok"
