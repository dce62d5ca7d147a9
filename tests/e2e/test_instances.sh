#!/usr/bin/env bash
# test_instances.sh — two scoring and two routing instances share the work through ZeroMQ
# and stay correct through Redis. The work hops are bound by their senders (">tcp://", set by
# STACK_SHARED_WORK=1): ingest binds its PUSH and both scoring instances connect; each
# scoring instance binds its own PUSH to routing and both routing instances connect to both
# (an endpoint list; the second routing has its own commands endpoint). A 3000-event synthetic stream (leadopsctl gen --seed 11) is sent at 1500/s.
# Checks:
#  - every event acknowledged, journaled once and applied once (stats, journal, in flight);
#  - each instance did part of the work (its "stopping:" line on SIGTERM), and the two
#    scoring instances' applied counts add up to the events;
#  - every lead that qualified is assigned or waiting; no lead in two reps' sets; no rep
#    over capacity; the assigned counter equals the assigned leads.
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${E2E_INSTANCES_COUNT:-3000}
RATE=${E2E_INSTANCES_RATE:-1500}
e2e_setup instances
export STACK_SHARED_WORK=1
# Room for every lead that qualifies: assignments, not waiting, are what is shared.
export LEADOPS_ROUTING_REPS_0_CAPACITY=1000 LEADOPS_ROUTING_REPS_1_CAPACITY=1000 \
    LEADOPS_ROUTING_REPS_2_CAPACITY=1000 LEADOPS_ROUTING_REPS_3_CAPACITY=1000 LEADOPS_ROUTING_REPS_4_CAPACITY=1000
e2e_start
P=$E2E_PREFIX
BIN=${LEADOPS_BIN:-$E2E_REPO/build/bin}
e2e_expect "ingest's PUSH to scoring is bound by ingest (shared work)" "$LEADOPS_ENDPOINTS_SCORING" =~ '^>tcp://'

# Each scoring instance binds its own PUSH to routing; each routing instance connects to both.
routing1=${LEADOPS_ENDPOINTS_ROUTING#>}
routing2=tcp://127.0.0.1:$(stack_free_port) || e2e_fatal "no free port"
commands2=tcp://127.0.0.1:$(stack_free_port) || e2e_fatal "no free port"
stack_spawn scoring2 env LEADOPS_ENDPOINTS_ROUTING=">$routing2" "$BIN/leadops-scoring" --config "$E2E_CONFIG" ||
    e2e_fatal "cannot start a second scoring"
stack_stop routing || e2e_fatal "routing did not stop"
stack_spawn routing env LEADOPS_ENDPOINTS_ROUTING=">$routing1,$routing2" "$BIN/leadops-routing" --config "$E2E_CONFIG" ||
    e2e_fatal "cannot restart routing on both scoring instances"
stack_spawn routing2 env LEADOPS_ENDPOINTS_ROUTING=">$routing1,$routing2" LEADOPS_ENDPOINTS_COMMANDS="$commands2" \
    "$BIN/leadops-routing" --config "$E2E_CONFIG" || e2e_fatal "cannot start a second routing"
sleep 1
for name in scoring scoring2 routing routing2; do
    stack_is_alive "$name" || { stack_log_tail "$name"; e2e_fatal "$name is not running"; }
done
e2e_log "two scoring (pids $(stack_pid scoring), $(stack_pid scoring2)) and two routing instances (pids $(stack_pid routing), $(stack_pid routing2); the second's commands on $commands2)"

STREAM=$E2E_WORK/stream.jsonl
"$E2E_CTL" gen --count "$COUNT" --seed 11 >"$STREAM" || e2e_fatal "leadopsctl gen failed"
rc=0
"$E2E_CTL" send "$STREAM" --rate "$RATE" >"$E2E_WORK/send.out" 2>&1 || rc=$?
e2e_expect "leadopsctl send exits 0 (every event acknowledged)" "$rc" -eq 0

e2e_wait_drained 30
e2e_expect "inflight:scoring drained" "$E2E_IN_SCORING" -eq 0
e2e_expect "inflight:routing drained" "$E2E_IN_ROUTING" -eq 0
e2e_expect "the journal holds each event once" "$(e2e_redis XLEN "$P:journal")" -eq "$COUNT"
e2e_expect "scoring applied each event once (stats scored)" "$(e2e_stat scored)" -eq "$COUNT"

# Lead states: qualified leads are assigned or waiting; each assigned lead is in its rep's set.
grep '"kind":"lead"' "$STREAM" | sed -n 's/.*"lead_id":"\([^"]*\)".*/\1/p' | sort -u >"$E2E_WORK/lead_ids"
sed "s/^/HMGET $P:lead:/; s/\$/ qualified status rep stage/" "$E2E_WORK/lead_ids" | e2e_redis |
    paste -d'\t' - - - - | paste "$E2E_WORK/lead_ids" - >"$E2E_WORK/state.tsv"
read -r qualified assigned bad < <(awk -F'\t' '
    $2 == "1" { q++; if ($3 == "assigned") a++; else if ($3 != "queued" && $3 != "closed" && !($3 == "nurture" && $5 == "lead")) b++ }
    END { print q + 0, a + 0, b + 0 }' "$E2E_WORK/state.tsv")
e2e_log "$(wc -l <"$E2E_WORK/lead_ids") leads, $qualified qualified, $assigned assigned"
e2e_expect "some leads qualified and were assigned" "$assigned" -gt 100
e2e_expect "every qualified lead is assigned or waiting" "$bad" -eq 0
e2e_check_capacity
e2e_expect "the reps' open leads add up to the assigned leads (none held twice)" "$E2E_OPEN_SUM" -eq "$assigned"
e2e_expect "the assigned counter equals the assigned leads" "$(e2e_stat assigned)" -eq "$assigned"

# Each instance's share, from the line it logs when it stops.
for name in scoring2 scoring routing2 routing; do
    stack_stop "$name" || e2e_fail "$name did not stop on SIGTERM"
done
share() { sed -n "s/.*stopping: $2 \([0-9][0-9]*\).*/\1/p" "$STACK_DIR/$1.log" | tail -n 1; }
s1=$(share scoring applied) s2=$(share scoring2 applied)
r1=$(share routing assigned) r2=$(share routing2 assigned)
e2e_log "applied by scoring ${s1:-?} and scoring2 ${s2:-?}; assigned by routing ${r1:-?} and routing2 ${r2:-?}"
e2e_expect "the first scoring instance applied events" "${s1:-0}" -gt 0
e2e_expect "the second scoring instance applied events" "${s2:-0}" -gt 0
e2e_expect "together they applied each event once" "$((${s1:-0} + ${s2:-0}))" -eq "$COUNT"
e2e_expect "the first routing instance assigned leads" "${r1:-0}" -gt 0
e2e_expect "the second routing instance assigned leads" "${r2:-0}" -gt 0
e2e_expect "together they made every assignment" "$((${r1:-0} + ${r2:-0}))" -eq "$assigned"

e2e_finish
