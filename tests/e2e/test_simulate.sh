#!/usr/bin/env bash
# test_simulate.sh — `leadopsctl simulate`, the what-if replay, end to end:
#  1. bad input gives a clear error and exit status: a missing history file, a ragged row and a
#     bad date (named FILE:LINE), a missing column, redis-server not on PATH, a bad config;
#     a small history replays, every row accounted for; ^C stops it cleanly (exit 130, its
#     private Redis and temp dir gone);
#  2. with the Maven CRM data (LEADOPS_DATA_DIR/maven_crm, else /work/shared/data/maven_crm;
#     skipped with 77 when absent): deploy/maven.yaml against deploy/maven-compare.yaml on
#     the whole pipeline exits 0; in both runs assigned + waiting + not routed + skipped =
#     the file's rows; the rep table lists all 35 agents and the queue table the 4 queues;
#     every Gini is in [0, 1]; no rep ever holds more open leads than its capacity; the same
#     seed gives the same figures; and a "live" Redis that the environment points at is never
#     touched (simulate runs on a private redis-server of its own).
# Needs only leadopsctl, redis-server and redis-cli: no services.
set -uo pipefail # not -e: see lib.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
E2E_NAME=simulate

command -v redis-server >/dev/null 2>&1 || e2e_skip "redis-server is not installed"
command -v redis-cli >/dev/null 2>&1 || e2e_skip "redis-cli is not installed"
BIN=${LEADOPS_BIN:-$E2E_REPO/build/bin}
CTL=$BIN/leadopsctl
[[ -x $CTL ]] || e2e_skip "$CTL not built (set LEADOPS_BIN)"
DEPLOY=$E2E_REPO/deploy
WORK=$(mktemp -d "${TMPDIR:-/tmp}/leadops-simulate-test.XXXXXX")
# simulate makes its temp dir under TMPDIR: here, so that a leftover would show.
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
LIVE_PID=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    [[ -n $LIVE_PID ]] && kill "$LIVE_PID" 2>/dev/null && wait "$LIVE_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# expect_error WHAT RC PATTERN CMD... — CMD must exit RC with stderr matching PATTERN (grep -E).
expect_error() {
    local what=$1 want=$2 pattern=$3 rc=0
    shift 3
    "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    if ((rc == want)) && grep -Eq -- "$pattern" "$WORK/err"; then
        e2e_ok "$what: $(head -1 "$WORK/err")"
    else
        e2e_fail "$what: exit $rc (want $want), stderr: $(head -3 "$WORK/err")"
    fi
}

# check_accounting LABEL OUT ROWS — the "LABEL CONFIG: rows R = assigned A + waiting W +
# not_routed N + skipped S" line of OUT adds up, with R = ROWS.
check_accounting() {
    local label=$1 out=$2 rows=$3 line
    line=$(grep -E "^$label [^ ]+: rows " "$out" | head -1)
    if [[ $line =~ rows\ ([0-9]+)\ =\ assigned\ ([0-9]+)\ \+\ waiting\ ([0-9]+)\ \+\ not_routed\ ([0-9]+)\ \+\ skipped\ ([0-9]+) ]]; then
        local r=${BASH_REMATCH[1]} sum=$((BASH_REMATCH[2] + BASH_REMATCH[3] + BASH_REMATCH[4] + BASH_REMATCH[5]))
        e2e_expect "$label: assigned + waiting + not routed + skipped = rows" "$sum" -eq "$r"
        e2e_expect "$label: every row of the history read" "$r" -eq "$rows"
    else
        e2e_fail "$label: no accounting line in the output: $(head -3 "$out")"
    fi
}

# --- 1. bad input, a small history, ^C ----------------------------------------------------

HEADER=opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value
{
    echo "$HEADER"
    echo "S1,Moses Frase,GTX Basic,Cancity,Won,2017-03-01,2017-03-20,550"
    echo "S2,Anna Snelling,MG Special,Betasoloin,Lost,2017-03-02,2017-04-02,0"
    echo "S3,Boris Faz,GTX Pro,,Engaging,2017-03-04,,"
    echo "S4,Carl Lin,GTK 500,,Prospecting,,,"
} >"$WORK/small.csv"
sed '4s/,$//' "$WORK/small.csv" >"$WORK/ragged.csv"
sed '3s/2017-03-02/2017-02-30/' "$WORK/small.csv" >"$WORK/baddate.csv"
cut -d, -f1-5,7- "$WORK/small.csv" >"$WORK/nocolumn.csv"

expect_error "missing history file" 1 "$WORK/nope.csv: No such file" \
    "$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$WORK/nope.csv"
expect_error "ragged row" 1 "ragged.csv:4: 7 fields, the header has 8" \
    "$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$WORK/ragged.csv"
expect_error "bad date" 1 "baddate.csv:3: .2017-02-30. is not a date" \
    "$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$WORK/baddate.csv"
expect_error "missing column" 1 "nocolumn.csv:1: no column .engage_date." \
    "$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$WORK/nocolumn.csv"
expect_error "missing accounts file" 1 "$WORK/nope-accounts.csv: No such file" \
    "$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$WORK/small.csv" \
    --accounts "$WORK/nope-accounts.csv"
expect_error "redis-server not on PATH" 1 "redis-server not found on PATH" \
    env -u LEADOPS_REDIS_SERVER PATH="$WORK/empty-path" "$CTL" simulate \
    --config "$DEPLOY/maven.yaml" --history "$WORK/small.csv"
printf 'routing:\n  queues:\n    - {name: q, strategy: fastest}\n' >"$WORK/bad.yaml"
expect_error "bad config" 2 "bad.yaml:3" \
    "$CTL" simulate --config "$WORK/bad.yaml" --history "$WORK/small.csv"
expect_error "no --history" 2 "--config and --history are required" \
    "$CTL" simulate --config "$DEPLOY/maven.yaml"

rc=0
"$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$WORK/small.csv" >"$WORK/small.out" \
    2>"$WORK/small.err" || rc=$?
e2e_expect "small history: exit status" "$rc" -eq 0
check_accounting config "$WORK/small.out" 4
e2e_expect "small history: the row without an engage_date skipped" \
    "$(grep -c 'skipped 1 (no engage_date)' "$WORK/small.out")" -eq 1

# ^C: a run stopped half-way leaves no Redis and no temp dir behind.
DATA=${LEADOPS_DATA_DIR:-/work/shared/data}/maven_crm
if [[ -r $DATA/sales_pipeline.csv ]]; then
    "$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$DATA/sales_pipeline.csv" \
        >/dev/null 2>"$WORK/int.err" &
    pid=$!
    sleep 1.5
    kill -INT "$pid"
    rc=0
    wait "$pid" || rc=$?
    e2e_expect "^C: exit status" "$rc" -eq 130
    e2e_expect "^C: says so" "$(grep -c 'interrupted; the private Redis is stopped' "$WORK/int.err")" -eq 1
    e2e_expect "^C: no temp dir left" "$(find "$TMPDIR" -mindepth 1 | wc -l)" -eq 0
fi

# --- 2. the Maven CRM pipeline ------------------------------------------------------------

[[ -r $DATA/sales_pipeline.csv && -r $DATA/sales_teams.csv && -r $DATA/accounts.csv ]] ||
    e2e_skip "no Maven CRM data in $DATA (set LEADOPS_DATA_DIR to the folder holding maven_crm/)"
ROWS=$(($(wc -l <"$DATA/sales_pipeline.csv") - 1))

# A "live" Redis the environment points at: simulate must not even connect to it.
for _ in 1 2 3 4 5; do
    LIVE_PORT=$((20000 + RANDOM % 20000))
    redis-server --port "$LIVE_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$WORK" --loglevel warning >/dev/null 2>&1 &
    LIVE_PID=$!
    for _ in $(seq 50); do
        redis-cli -p "$LIVE_PORT" ping >/dev/null 2>&1 && break 2
        kill -0 "$LIVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$LIVE_PID" 2>/dev/null
    wait "$LIVE_PID" 2>/dev/null
    LIVE_PID=
done
[[ -n $LIVE_PID ]] || e2e_fatal "could not start the live redis-server"
live_connections() {
    redis-cli -p "$LIVE_PORT" info stats | tr -d '\r' | sed -n 's/^total_connections_received://p'
}
before=$(live_connections)
export LEADOPS_REDIS_HOST=127.0.0.1 LEADOPS_REDIS_PORT=$LIVE_PORT

start=$SECONDS
rc=0
"$CTL" simulate --config "$DEPLOY/maven.yaml" --compare "$DEPLOY/maven-compare.yaml" \
    --history "$DATA/sales_pipeline.csv" --teams "$DATA/sales_teams.csv" \
    --accounts "$DATA/accounts.csv" >"$WORK/cmp.out" 2>"$WORK/cmp.err" || rc=$?
e2e_log "compare run: $((SECONDS - start)) s"
e2e_expect "compare: exit status" "$rc" -eq 0
((rc == 0)) || e2e_fatal "compare failed: $(tail -5 "$WORK/cmp.err")"
check_accounting A "$WORK/cmp.out" "$ROWS"
check_accounting B "$WORK/cmp.out" "$ROWS"

missing=0
while IFS=, read -r agent _; do
    [[ $agent == sales_agent ]] && continue
    slug=$(printf '%s' "$agent" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g')
    grep -Eq "^$slug +" "$WORK/cmp.out" || { e2e_fail "agent $agent ($slug) not in the table"; missing=$((missing + 1)); }
done <"$DATA/sales_teams.csv"
e2e_expect "all 35 agents in the rep table" "$missing" -eq 0
queues=$(awk '/^queue +strategy/ {on = 1; next} on && NF == 0 {exit} on {print $1}' "$WORK/cmp.out")
e2e_expect "the queue table lists 3+ queues" "$(printf '%s\n' "$queues" | grep -c .)" -ge 3
e2e_expect "the office and shared queues" "$(printf '%s\n' "$queues" | tr '\n' ' ')" = "central east west shared "
# Gini: the figures with three decimals on the queue rows, A and B.
ginis=$(awk '/^queue +strategy/ {on = 1; next} on && NF == 0 {exit}
    on {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9][0-9][0-9]$/) print $i}' "$WORK/cmp.out")
e2e_expect "a Gini per queue and run" "$(printf '%s\n' "$ginis" | grep -c .)" -eq 8
e2e_expect "every Gini in [0, 1]" "$(printf '%s\n' "$ginis" | awk '$1 < 0 || $1 > 1' | wc -l)" -eq 0
e2e_expect "one summary line" "$(grep -c '^simulate: A .* | B ' "$WORK/cmp.out")" -eq 1

# The same seed gives the same figures; JSON: no rep holds more than its capacity.
rc=0
"$CTL" simulate --config "$DEPLOY/maven.yaml" --history "$DATA/sales_pipeline.csv" \
    --teams "$DATA/sales_teams.csv" --accounts "$DATA/accounts.csv" --json \
    >"$WORK/a.json" 2>"$WORK/a.err" || rc=$?
e2e_expect "JSON run: exit status" "$rc" -eq 0
summary_a=$(sed -n 's/^simulate: A \(.*\) | B .*/\1/p' "$WORK/cmp.out" | sed 's/; [0-9.]* s$//')
summary_json=$(sed -n 's/^simulate: \(.*\)/\1/p' "$WORK/a.err" | sed 's/; [0-9.]* s$//')
e2e_expect "same seed, same figures" "$summary_json" = "$summary_a"
over=$(awk '/"capacity":/ {gsub(/[^0-9]/, "", $2); cap = $2}
    /"open_peak":/ {gsub(/[^0-9]/, "", $2); if (cap != "" && $2 + 0 > cap + 0) n++; cap = ""}
    END {print n + 0}' "$WORK/a.json")
e2e_expect "no rep over its capacity" "$over" -eq 0
e2e_expect "35 reps in the JSON" "$(grep -c '"capacity":' "$WORK/a.json")" -eq 35

after=$(live_connections)
e2e_expect "the live Redis saw no connection but this test's" "$after" -eq $((before + 1))
e2e_expect "the live Redis holds no key" "$(redis-cli -p "$LIVE_PORT" dbsize)" -eq 0
e2e_expect "no temp dir left" "$(find "$TMPDIR" -mindepth 1 | wc -l)" -eq 0
e2e_finish
