#!/usr/bin/env bash
# test_dashboard.sh — the reporting service's live dashboard in Debian's headless Chromium,
# against a running stack whose API needs a bearer token (security.http_tokens):
#  1. the page and its script are served without a token, the API is not; /v1/stream is a
#     Server-Sent Events stream of snapshots;
#  2. Chromium opens /dashboard?token=T and stays on it while leads arrive (leadopsctl gen)
#     with the americas reps away (their leads wait) and one rep's capacity small; once the
#     pipeline is quiet the page must be live over SSE, its charts drawn with data (time
#     series, queue bars with a waiting reason, one utilization bar per rep, speed-to-lead
#     bars, leaderboard), and its figures equal to GET /v1/summary's (assigned, waiting);
#     the token must be gone from the address bar and the header show the four services
#     up (GET /v1/ops);
#  3. a screenshot (1366 x 900) is kept and its path printed (copied to
#     $LEADOPS_TEST_ARTIFACTS when CTest sets it, else kept in the work dir);
#  4. /metrics passes `promtool check metrics` (skipped without promtool), and the bus
#     counters (leadops_events_total) are the same after a restart of reporting, which the
#     page survives (it is live again by itself).
# Chromium runs with the flags the issue names (--headless --no-sandbox --disable-gpu
# --no-first-run --disable-background-networking) and is driven over --remote-debugging-pipe
# (the DevTools protocol, NUL-separated JSON on fds 3 and 4): --dump-dom and --screenshot
# return at the load event, before any live data arrives, and --virtual-time-budget does
# not wait for a stream. Skipped (77) when chromium is not installed.
set -uo pipefail # not -e: see lib.sh
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

CHROMIUM=${CHROMIUM:-}
if [[ -z $CHROMIUM ]]; then
    for candidate in chromium chromium-browser google-chrome; do
        command -v "$candidate" >/dev/null 2>&1 && CHROMIUM=$candidate && break
    done
fi
[[ -n $CHROMIUM ]] || e2e_skip "chromium is not installed (apt-get install chromium)"
e2e_need base64 tr mkfifo

e2e_setup dashboard
TOKEN=dash-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
sed "s/^\([[:space:]]*http_tokens:\).*/\1 [\"$TOKEN\"]/" "$E2E_CONFIG" >"$E2E_WORK/leadops.yaml"
grep -q "http_tokens: \[\"$TOKEN\"\]" "$E2E_WORK/leadops.yaml" || e2e_fatal "could not set security.http_tokens in a copy of $E2E_CONFIG"
E2E_CONFIG=$E2E_WORK/leadops.yaml
STACK_CONFIG=$E2E_CONFIG
export STACK_CONFIG
e2e_start
URL=$E2E_REPORTING_URL
AUTH="Authorization: Bearer $TOKEN"

api() { curl -fsS --max-time 5 -H "$AUTH" "$URL$1"; }
summary_num() { stack_json_num "$(api /v1/summary)" "$1"; }

# expect_figure DESC PAGE API — a figure on the page equals the API's, and is a number.
expect_figure() {
    if [[ $3 =~ ^[0-9]+$ ]]; then
        e2e_expect "$1" "$2" = "$3"
    else
        e2e_fail "$1: the API gave no number ('$3')"
    fi
}

# ---- DevTools over a pipe -------------------------------------------------------------------

CDP_ID=0
CDP_SESSION=
CHROME_PID=
CDP_FD=

# shellcheck disable=SC2317 # run by the EXIT trap
_dashboard_exit() {
    local rc=$?
    if [[ -n $CHROME_PID ]] && kill -0 "$CHROME_PID" 2>/dev/null; then
        kill "$CHROME_PID" 2>/dev/null
        wait "$CHROME_PID" 2>/dev/null
    fi
    (exit "$rc")
    _e2e_on_exit
}
trap _dashboard_exit EXIT

# cdp_start — starts Chromium with the DevTools protocol on fds 3 (commands) and 4 (replies).
cdp_start() {
    mkfifo "$E2E_WORK/cdp.in" || return 1
    : >"$E2E_WORK/cdp.out"
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
        --disable-dev-shm-usage --hide-scrollbars --window-size=1366,900 \
        --user-data-dir="$E2E_WORK/chromium-profile" --remote-debugging-pipe about:blank \
        3<"$E2E_WORK/cdp.in" 4>"$E2E_WORK/cdp.out" 2>"$E2E_WORK/chromium.log" &
    CHROME_PID=$!
    exec {CDP_FD}>"$E2E_WORK/cdp.in"
}

# cdp METHOD [PARAMS_JSON] [browser] — sends one command (to the page's session unless the
# third argument is "browser") and sets CDP_REPLY to its reply line; fails on an error
# reply or after 20 s without one. Never call it in $(...): the id counter would not move.
cdp() {
    local method=$1 params=${2:-'{}'} to_page='' i
    CDP_ID=$((CDP_ID + 1))
    CDP_REPLY=
    [[ ${3:-} != browser && -n $CDP_SESSION ]] && to_page=",\"sessionId\":\"$CDP_SESSION\""
    printf '{"id":%d%s,"method":"%s","params":%s}\0' "$CDP_ID" "$to_page" "$method" "$params" >&"$CDP_FD" || return 1
    for ((i = 0; i < 200; i++)); do
        CDP_REPLY=$(tr '\0' '\n' <"$E2E_WORK/cdp.out" | grep -m1 "^{\"id\":$CDP_ID,")
        if [[ -n $CDP_REPLY ]]; then
            [[ $CDP_REPLY != *'"error":'* ]]
            return
        fi
        kill -0 "$CHROME_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# page_eval EXPR — sets PAGE_VALUE to the value of a JavaScript expression that yields a
# string without quotes or backslashes.
page_eval() {
    PAGE_VALUE=
    cdp Runtime.evaluate "{\"expression\":$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$/"/'),\"returnByValue\":true}" || return 1
    PAGE_VALUE=$(sed -n 's/.*"result":{"type":"string","value":"\([^"]*\)"}.*/\1/p' <<<"$CDP_REPLY")
}

# page_figures — one line "key=value ..." of what the page shows.
FIGURES_JS='(() => {
  const q = (s) => document.querySelectorAll(s).length;
  const v = (id) => { const n = document.getElementById(id); return n ? n.dataset.value : "none"; };
  const flow = document.querySelector("#chart-flow polyline[data-series=ingested]");
  return ["state=" + document.getElementById("conn-state").dataset.state,
    "updates=" + document.getElementById("live-updates").dataset.count,
    "assigned=" + v("stat-assigned"), "waiting=" + v("stat-waiting"),
    "ingested=" + v("stat-ingested"),
    "flow_lines=" + q("#chart-flow polyline[data-series]"),
    "flow_points=" + (flow ? flow.dataset.points : 0),
    "queue_bars=" + q("#chart-queues rect.bar"),
    "americas_bars=" + q("#chart-queues rect.bar[data-queue=americas]"),
    "rep_bars=" + q("#chart-reps rect.fill"),
    "stl_bars=" + q("#chart-stl rect.bar"),
    "leader_bars=" + q("#chart-leaders rect.bar"),
    "plan=" + (q("#chart-plan rect.bar") ? "chart" : "note"),
    "services_up=" + q("#services .svc[data-up=true]"),
    "token_in_url=" + (location.href.indexOf("token=") >= 0)].join(" ");
})()'
page_figures() {
    page_eval "$(tr '\n' ' ' <<<"$FIGURES_JS")"
    FIGURES=$PAGE_VALUE
}

# fig NAME — a value of the last page_figures line.
fig() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$FIGURES"; }

# ---- 1. what needs a token -------------------------------------------------------------------

e2e_log "1. the page is open, the API needs the token, /v1/stream streams snapshots"
for path in / /dashboard /dashboard/app.js /dashboard/style.css; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL$path")
    e2e_expect "GET $path without a token" "$code" = 200
done
e2e_expect "the page links its own script, no CDN" "$(curl -fsS "$URL/" | grep -c 'src="/dashboard/app.js"')/$(curl -fsS "$URL/" | grep -c 'https\?://')" = 1/0
e2e_expect "GET /v1/summary without a token" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/summary")" = 401
e2e_expect "GET /v1/stream without a token" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/v1/stream")" = 401
e2e_expect "GET /v1/summary with the token" "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$URL/v1/summary")" = 200
curl -sN --max-time 2.5 -H "$AUTH" -D "$E2E_WORK/stream.head" "$URL/v1/stream" >"$E2E_WORK/stream.txt" 2>/dev/null
e2e_expect "/v1/stream is text/event-stream" "$(grep -ci '^content-type: text/event-stream' "$E2E_WORK/stream.head")" -eq 1
e2e_expect "/v1/stream sent a snapshot at once and one a second (2.5 s)" "$(grep -c '^event: snapshot$' "$E2E_WORK/stream.txt")" -ge 3
e2e_expect "each snapshot has the summary, queues and reps" "$(grep '^data: ' "$E2E_WORK/stream.txt" | grep -c '"summary":.*"queues":.*"reps":')" -ge 3

# ---- 2. the page in Chromium, live ------------------------------------------------------------

e2e_log "2. Chromium on /dashboard?token=... while leads arrive"
for rep in rep-cecily rep-darcel; do
    "$E2E_CTL" rep away "$rep" >/dev/null 2>&1 || e2e_fail "leadopsctl rep away $rep failed"
done
"$E2E_CTL" rep capacity rep-elease 6 >/dev/null 2>&1 || e2e_fail "leadopsctl rep capacity failed"
cdp_start || e2e_fatal "cannot start $CHROMIUM"
cdp Target.getTargets '{}' browser || e2e_fatal "Chromium does not answer on the DevTools pipe; see $E2E_WORK/chromium.log"
target=$(grep -o '"targetId":"[^"]*","type":"page"' <<<"$CDP_REPLY" | head -n 1 | sed 's/"targetId":"\([^"]*\)".*/\1/')
[[ -n $target ]] || e2e_fatal "no page target in: ${CDP_REPLY:0:300}"
cdp Target.attachToTarget "{\"targetId\":\"$target\",\"flatten\":true}" browser || e2e_fatal "attachToTarget failed: $CDP_REPLY"
CDP_SESSION=$(sed -n 's/.*"sessionId":"\([^"]*\)".*/\1/p' <<<"$CDP_REPLY" | head -n 1)
cdp Emulation.setDeviceMetricsOverride '{"width":1366,"height":900,"deviceScaleFactor":1,"mobile":false}' ||
    e2e_fail "cannot set the window to 1366 x 900: $CDP_REPLY"
cdp Page.navigate "{\"url\":\"$URL/dashboard?token=$TOKEN\"}" || e2e_fatal "Page.navigate failed: $CDP_REPLY"

deadline=$((SECONDS + 15))
while page_figures && [[ $(fig state) != live && $SECONDS -lt $deadline ]]; do sleep 0.3; done
e2e_expect "the page went live over SSE with the token" "$(fig state)" = live

"$E2E_CTL" gen --count 400 --rate 100 --seed 42 --send >"$E2E_WORK/gen.out" 2>&1 ||
    e2e_fail "leadopsctl gen --send failed: $(tail -n 2 "$E2E_WORK/gen.out")"
e2e_log "$(grep '^gen:' "$E2E_WORK/gen.out" | head -n 1)"
# Quiet: the same assigned and waiting counts two seconds apart.
previous=
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    now="$(summary_num assigned)/$(summary_num waiting)/$(summary_num scored)"
    [[ $now == "$previous" ]] && break
    previous=$now
    sleep 2
done
sleep 2.5 # two more snapshots reach the page
page_figures
api_after="$(summary_num assigned)/$(summary_num waiting)"
e2e_log "page: $FIGURES"
e2e_log "API assigned/waiting: $api_after"
e2e_expect "the pipeline is quiet (assigned/waiting/scored unchanged for 2 s)" "$now" = "$previous"
e2e_expect "... and the API answers numbers" "$now" =~ '^[0-9]+/[0-9]+/[0-9]+$'
e2e_expect "still live over SSE" "$(fig state)" = live
e2e_expect "snapshots received (one a second)" "$(fig updates)" -ge 5
e2e_expect "leads were assigned" "$(summary_num assigned)" -gt 0
expect_figure "page stat-assigned equals GET /v1/summary assigned" "$(fig assigned)" "$(summary_num assigned)"
expect_figure "page stat-waiting equals GET /v1/summary waiting" "$(fig waiting)" "$(summary_num waiting)"
expect_figure "page stat-ingested equals GET /v1/summary ingested_leads" "$(fig ingested)" "$(summary_num ingested_leads)"
e2e_expect "time series: three lines drawn" "$(fig flow_lines)" -eq 3
e2e_expect "time series: points from the snapshots" "$(fig flow_points)" -ge 4
e2e_expect "americas leads wait (its reps are away)" "$(stack_json_num "$(api /v1/queues | tr -d '\n' | sed 's/.*"name": "americas",//')" waiting)" -gt 0
e2e_expect "queue chart: a waiting-reason bar for americas" "$(fig americas_bars)" -ge 1
reps=$(api /v1/reps | grep -c '"capacity":')
e2e_expect "GET /v1/reps lists reps" "$reps" -gt 0
e2e_expect "rep chart: one utilization bar per rep" "$(fig rep_bars)" -eq "$reps"
e2e_expect "speed-to-lead chart: p50, p90, p99 and mean" "$(fig stl_bars)" -eq 4
e2e_expect "leaderboard drawn" "$(fig leader_bars)" -ge 1
e2e_expect "the token is no longer in the address bar" "$(fig token_in_url)" = false
if [[ $(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$URL/v1/ops") == 200 ]]; then
    e2e_expect "header: the four services up (GET /v1/ops heartbeats)" "$(fig services_up)" -eq 4
else
    e2e_log "GET /v1/ops is not served: no service strip"
fi
e2e_log "forecast panel: $(fig plan) (GET /v1/plan: $(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$URL/v1/plan"))"

# ---- 3. the screenshot ------------------------------------------------------------------------

e2e_log "3. screenshot"
SHOT=$E2E_WORK/dashboard.png
cdp Page.captureScreenshot '{"format":"png"}' || e2e_fail "Page.captureScreenshot failed: ${CDP_REPLY:0:300}"
sed -n 's/.*"data":"\([^"]*\)".*/\1/p' <<<"$CDP_REPLY" | base64 -d >"$SHOT" 2>/dev/null
e2e_expect "the screenshot is a PNG" "$(od -An -N4 -tx1 "$SHOT" | tr -d ' \n')" = 89504e47
read -r -a ihdr < <(od -An -j16 -N8 -tu1 "$SHOT") # width and height, big-endian
e2e_expect "... of 1366 x 900" "$((ihdr[0] << 24 | ihdr[1] << 16 | ihdr[2] << 8 | ihdr[3])) x $((ihdr[4] << 24 | ihdr[5] << 16 | ihdr[6] << 8 | ihdr[7]))" = "1366 x 900"
e2e_expect "... with something drawn (over 30 KB)" "$(wc -c <"$SHOT")" -gt 30000
# The page's DOM as drawn, for a look after a failure (a DevTools reply: JSON-escaped).
cdp Runtime.evaluate '{"expression":"document.documentElement.outerHTML","returnByValue":true}' &&
    printf '%s\n' "$CDP_REPLY" >"$E2E_WORK/dashboard.dom.json"
if [[ -n ${LEADOPS_TEST_ARTIFACTS:-} ]] && mkdir -p "$LEADOPS_TEST_ARTIFACTS" && cp "$SHOT" "$LEADOPS_TEST_ARTIFACTS/dashboard.png"; then
    SHOT=$LEADOPS_TEST_ARTIFACTS/dashboard.png
else
    # shellcheck disable=SC2034 # read by lib.sh's exit trap
    E2E_KEEP=1 # keep the work dir, and the screenshot in it
fi
e2e_log "screenshot: $SHOT"

# ---- 4. /metrics, and a restart of reporting ------------------------------------------------

e2e_log "4. /metrics and a restart of reporting"
api /metrics >"$E2E_WORK/metrics.txt" || e2e_fail "GET /metrics failed"
if command -v promtool >/dev/null 2>&1; then
    if out=$(promtool check metrics <"$E2E_WORK/metrics.txt" 2>&1); then
        e2e_ok "promtool check metrics passes on /metrics ($(grep -c '^# TYPE' "$E2E_WORK/metrics.txt") families)"
    else
        e2e_fail "promtool check metrics: $out"
    fi
else
    e2e_log "SKIP: promtool is not installed (apt-get install prometheus); /metrics not checked"
fi
events_before=$(grep '^leadops_events_total{' "$E2E_WORK/metrics.txt")
e2e_expect "events by type were counted" "$(sed -n 's/^leadops_events_total{type="lead"} //p' <<<"$events_before")" -gt 0
stack_stop reporting || e2e_fail "reporting did not stop cleanly on SIGTERM"
stack_start_service reporting 2>"$E2E_WORK/restart.err" || e2e_fatal "reporting did not start again: $(cat "$E2E_WORK/restart.err")"
e2e_expect "leadops_events_total by type is the same after a restart of reporting" \
    "$(api /metrics | grep '^leadops_events_total{' | tr '\n' ' ')" = "$(tr '\n' ' ' <<<"$events_before")"
updates=$(fig updates)
deadline=$((SECONDS + 20))
while page_figures && [[ ! ($(fig state) == live && $(fig updates) -gt $updates) && $SECONDS -lt $deadline ]]; do sleep 0.5; done
e2e_expect "the page is live again after the restart, by itself" "$(fig state)" = live
expect_figure "... with figures equal to the API's" "$(fig assigned)" "$(summary_num assigned)"

cdp Browser.close '{}' browser
wait "$CHROME_PID" 2>/dev/null
CHROME_PID=
e2e_finish
