#!/usr/bin/env bash
# test_kill_restart.sh — nothing lost, nothing twice, capacity holds, while services die
# (DESIGN.md invariants 1-4). A 6000-event synthetic stream (leadopsctl gen --seed 42) is
# sent over ZeroMQ at 1500/s; while it runs scoring, routing and ingest are each SIGKILLed
# and restarted, at moments picked at random among the accepted-event counts. Then scoring
# and routing are each stalled (SIGSTOP, SIGCONT) past two redelivery periods,
# so that they receive events twice. Checks:
#  - the producer got every event acknowledged (exit 0); each event was journaled and scored
#    exactly once (counters, journal length, activity counts per lead);
#  - both in-flight sets drain; every lead of the file exists; every lead that qualified is
#    assigned or queued (waiting in its queue's zset), every other lead is "scored" and
#    below the threshold;
#  - no rep over capacity; the reps' open counts add up to the assigned leads, each held by
#    its rep; the assigned counter equals the assigned leads.
# E2E_KILL_SEED=N repeats the kill moments of an earlier run (printed at the start).
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${E2E_KILL_COUNT:-6000}
RATE=${E2E_KILL_RATE:-1500}
e2e_setup kill_restart
# Redelivery after 1 s instead of 3 (the sample config): recovery is quicker, and a stall of
# a few seconds makes the senders re-send what the stalled receiver already holds.
REDELIVERY_MS=1000
export LEADOPS_INGEST_REDELIVERY_MS=$REDELIVERY_MS LEADOPS_SCORING_REDELIVERY_MS=$REDELIVERY_MS
# Three times the sample capacities (40 40 40 40 30): the reps fill up only late in the stream
# (about 840 of its 866 leads qualify), so leads are both assigned and queued while the
# services are killed and stalled.
export LEADOPS_ROUTING_REPS_0_CAPACITY=120 LEADOPS_ROUTING_REPS_1_CAPACITY=120 \
    LEADOPS_ROUTING_REPS_2_CAPACITY=120 LEADOPS_ROUTING_REPS_3_CAPACITY=120 LEADOPS_ROUTING_REPS_4_CAPACITY=90
e2e_start
P=$E2E_PREFIX
THRESHOLD=$(e2e_stage_enter mql)
[[ $THRESHOLD =~ ^[0-9.]+$ ]] || e2e_fatal "cannot read the mql stage's enter threshold (scoring.stages) from $E2E_CONFIG"

STREAM=$E2E_WORK/stream.jsonl
"$E2E_CTL" gen --count "$COUNT" --seed 42 >"$STREAM" || e2e_fatal "leadopsctl gen failed"
events=$(grep -c . "$STREAM")
activities=$(grep -c '"kind":"activity"' "$STREAM" || true)
grep '"kind":"lead"' "$STREAM" | sed -n 's/.*"lead_id":"\([^"]*\)".*/\1/p' | sort -u >"$E2E_WORK/lead_ids"
sed -n 's/.*"lead_id":"\([^"]*\)".*/\1/p' "$STREAM" | sort -u >"$E2E_WORK/all_ids"
leads=$(wc -l <"$E2E_WORK/lead_ids")
e2e_log "stream: $events events ($leads distinct leads, $activities activities, $(wc -l <"$E2E_WORK/all_ids") lead ids in all); qualify threshold $THRESHOLD"
e2e_expect "the stream has $COUNT events" "$events" -eq "$COUNT"

# Kill moments: when ingest has accepted this many events (random within a window each).
KILL_SEED=${E2E_KILL_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$KILL_SEED
victims=(scoring routing ingest)
# Early enough that two kill-restart cycles (a second or two each on a loaded machine) fit
# before the ingest kill, which stalls the producer (it re-sends after 5 s) and so can never
# come after the end of the send.
at=($((COUNT * 8 / 100 + RANDOM % (COUNT * 10 / 100)))  # scoring:  8-18 %
    $((COUNT * 25 / 100 + RANDOM % (COUNT * 13 / 100))) # routing: 25-38 %
    $((COUNT * 45 / 100 + RANDOM % (COUNT * 15 / 100)))) # ingest:  45-60 %
e2e_log "kill seed $KILL_SEED: SIGKILL scoring at ${at[0]}, routing at ${at[1]}, ingest at ${at[2]} accepted events"

accepted_now() {
    local a b
    {
        read -r a
        read -r b
    } < <(e2e_redis HMGET "$P:stats" ingested_leads ingested_activities)
    echo $((${a:-0} + ${b:-0}))
}

t_start=$(e2e_now_ms)
stack_spawn producer "$E2E_CTL" send "$STREAM" --rate "$RATE" || e2e_fatal "cannot start leadopsctl send"
kills=0
for i in 0 1 2; do
    name=${victims[i]}
    deadline=$((SECONDS + 90))
    while n=$(accepted_now) && ((n < at[i])); do
        stack_is_alive producer || break
        ((SECONDS < deadline)) || break
        sleep 0.05
    done
    if ! stack_is_alive producer; then
        e2e_fail "the producer ended before the $name kill (at $n accepted events)"
        break
    fi
    ((n >= at[i])) || e2e_fatal "ingest did not reach ${at[i]} accepted events within 90 s (at $n)"
    old=$(stack_pid "$name")
    # Frozen first (SIGSTOP) for a random moment, so that work piles up in its sockets and
    # the SIGKILL surely loses messages in flight: the redelivery paths must recover them.
    freeze_ms=$((50 + RANDOM % 200))
    stack_is_alive "$name" || e2e_fatal "$name is not running before its kill"
    kill -STOP "$old"
    sleep "$(printf '0.%03d' "$freeze_ms")"
    stack_kill "$name" || e2e_fatal "could not SIGKILL $name"
    t_kill=$(e2e_now_ms)
    # scoring and routing have no health check: stack.sh waits STACK_SETTLE s and checks that
    # they still run. A short settle keeps the restarts within the send; the end of the test
    # checks again that every service runs.
    if ! STACK_SETTLE=0.2 stack_start_service "$name" 2>"$E2E_WORK/restart.err"; then
        cat "$E2E_WORK/restart.err"
        e2e_fatal "$name did not restart"
    fi
    kills=$((kills + 1))
    e2e_log "SIGKILLed $name (pid $old, frozen $freeze_ms ms before) at $n accepted events, $((t_kill - t_start)) ms into the send; restarted as pid $(stack_pid "$name") in $(($(e2e_now_ms) - t_kill)) ms"
done

# Stalls, right after the ingest restart while the producer still sends: routing and scoring
# stopped (SIGSTOP) together; scoring resumed (SIGCONT) after longer than two redelivery
# periods, routing as long again later. Meanwhile ingest re-sends to scoring, and then
# scoring to routing, what the stopped receiver holds unprocessed: both receive events twice,
# and must still apply each once.
stall_ms=$((2 * REDELIVERY_MS + 500))
stall_s=$((stall_ms / 1000)).$(printf %03d $((stall_ms % 1000)))
stalls=0
stack_is_alive producer || e2e_log "note: the producer finished before the stalls"
if ! stack_is_alive scoring || ! stack_is_alive routing; then
    e2e_fatal "scoring or routing is not running before the stalls"
fi
scoring_pid=$(stack_pid scoring) routing_pid=$(stack_pid routing)
kill -STOP "$routing_pid" "$scoring_pid"
t_stall=$(e2e_now_ms)
sleep "$stall_s"
kill -CONT "$scoring_pid"
e2e_log "stalled scoring (pid $scoring_pid) for $stall_ms ms from $((t_stall - t_start)) ms into the send; now $(accepted_now) accepted events"
sleep "$stall_s"
kill -CONT "$routing_pid"
stalls=2
e2e_log "stalled routing (pid $routing_pid) for $(($(e2e_now_ms) - t_stall)) ms"

rc=0
stack_wait producer 180 || rc=$?
t_sent=$(e2e_now_ms)
summary_line=$(grep 'send:' "$STACK_DIR/producer.log" | tail -n 1 || true)
e2e_log "producer: ${summary_line:-no summary line} (exit $rc, $((t_sent - t_start)) ms)"
e2e_expect "leadopsctl send exits 0 (every event acknowledged)" "$rc" -eq 0
num_before() { sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p" <<<"$summary_line"; }
sent=$(sed -n 's/^send: \([0-9]*\) sent.*/\1/p' <<<"$summary_line")
accepted=$(num_before accepted)
duplicates=$(num_before duplicates)
rejected=$(num_before rejected)
resends=$(num_before resends)
e2e_expect "the producer sent every event once (resends not counted)" "${sent:-0}" -eq "$COUNT"
e2e_expect "accepted + duplicates = events" "$((${accepted:-0} + ${duplicates:-0}))" -eq "$COUNT"
e2e_expect "nothing rejected" "${rejected:-x}" -eq 0

# In flight between the services: drains by redelivery (3 s timers) after the restarts.
e2e_wait_drained 30
e2e_log "in flight after $(($(e2e_now_ms) - t_sent)) ms: scoring $E2E_IN_SCORING, routing $E2E_IN_ROUTING"
e2e_expect "inflight:scoring drained within 30 s" "$E2E_IN_SCORING" -eq 0
e2e_expect "inflight:routing drained within 30 s" "$E2E_IN_ROUTING" -eq 0
e2e_expect "no message left for re-sending (inflight:scoring:msg)" "$(e2e_redis HLEN "$P:inflight:scoring:msg")" -eq 0

e2e_log "exactly once: counters and journal"
ingested=$(accepted_now)
e2e_expect "ingest journaled each event once (ingested_leads + ingested_activities)" "$ingested" -eq "$COUNT"
e2e_expect "the journal holds each event once" "$(e2e_redis XLEN "$P:journal")" -eq "$COUNT"
e2e_expect "scoring applied each event once (stats scored)" "$(e2e_stat scored)" -eq "$COUNT"
e2e_expect "stats duplicates = the producer's duplicates" "$(e2e_stat duplicates)" -eq "${duplicates:-0}"

e2e_log "lead state of the $leads leads of the stream"
# One HMGET per lead, pipelined; raw replies, one line per field (empty for nil).
FIELDS=(has_lead status qualified score rep queue activities queued_at stage)
sed "s/^/HMGET $P:lead:/; s/\$/ ${FIELDS[*]}/" "$E2E_WORK/all_ids" | e2e_redis >"$E2E_WORK/state.raw"
dashes=()
for _ in "${FIELDS[@]}"; do dashes+=(-); done
paste -d'\t' "${dashes[@]}" <"$E2E_WORK/state.raw" | paste "$E2E_WORK/all_ids" - >"$E2E_WORK/state.tsv"
e2e_expect "one state row per lead id" "$(wc -l <"$E2E_WORK/state.tsv")" -eq "$(wc -l <"$E2E_WORK/all_ids")"
# Columns: 1 id, 2 has_lead, 3 status, 4 qualified, 5 score, 6 rep, 7 queue, 8 activities,
# 9 queued_at, 10 stage.
awk -F'\t' -v t="$THRESHOLD" -v leads="$E2E_WORK/lead_ids" -v out="$E2E_WORK" '
    BEGIN { while ((getline id < leads) > 0) is_lead[id] = 1 }
    {
        acts += $8
        if (!($1 in is_lead)) next
        n++
        if ($2 != "1") { missing++; print $1 > (out "/bad.missing"); next }
        st[$3]++
        if ($4 == "1") {
            q++
            # A lead that fell back below mql after it qualified waits in nurture.
            if ($3 != "assigned" && $3 != "queued" && $3 != "closed" && !($3 == "nurture" && $10 == "lead")) { qbad++; print $1, $3, $10 > (out "/bad.qualified") }
        } else {
            if ($3 != "scored") { ubad++; print $1, $3 > (out "/bad.unqualified") }
            if ($5 + 0 >= t + 0) { tbad++; print $1, $5 > (out "/bad.threshold") }
        }
        if ($9 != "") ever_queued++
        if ($3 == "assigned") {
            if ($6 == "") { nrep++; print $1 > (out "/bad.norep") }
            print "SISMEMBER '"$P"':rep:" $6 ":leads " $1 > (out "/held.cmds")
        }
        if ($3 == "queued") print "ZSCORE '"$P"':queue:" $7 ":waiting " $1 > (out "/waiting.cmds")
    }
    END {
        printf "n=%d missing=%d qualified=%d assigned=%d queued=%d closed=%d scored=%d other=%d qbad=%d ubad=%d tbad=%d norep=%d acts=%d ever_queued=%d\n",
            n, missing, q, st["assigned"], st["queued"], st["closed"], st["scored"],
            n - missing - st["assigned"] - st["queued"] - st["closed"] - st["scored"], qbad, ubad, tbad, nrep, acts, ever_queued
    }' "$E2E_WORK/state.tsv" >"$E2E_WORK/tally"
tally=$(<"$E2E_WORK/tally")
e2e_log "tally: $tally"
t() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$tally"; }
show() { [[ -s $E2E_WORK/$1 ]] && printf ' (e.g. %s)' "$(head -n 3 "$E2E_WORK/$1" | tr '\n' ';')"; return 0; }
e2e_expect "every lead of the stream exists in Redis" "$(t missing)$(show bad.missing)" = 0
e2e_expect "$P:leads holds every lead of the stream" "$(e2e_redis ZCARD "$P:leads")" -eq "$leads"
e2e_expect "every qualified lead is assigned, queued or closed (or in nurture, below mql again)" "$(t qbad)$(show bad.qualified)" = 0
e2e_expect "every unqualified lead has status scored" "$(t ubad)$(show bad.unqualified)" = 0
e2e_expect "no unqualified lead scores at or above $THRESHOLD" "$(t tbad)$(show bad.threshold)" = 0
e2e_expect "every assigned lead names its rep" "$(t norep)$(show bad.norep)" = 0
e2e_expect "each activity was applied once (sum of the leads' activity counts)" "$(t acts)" -eq "$activities"
assigned=$(t assigned) queued=$(t queued) qualified=$(t qualified)
e2e_expect "stats qualified = qualified leads" "$(e2e_stat qualified)" -eq "$qualified"

if [[ -s $E2E_WORK/held.cmds ]]; then
    held=$(e2e_redis <"$E2E_WORK/held.cmds" | grep -c '^1$' || true)
else
    held=0
fi
e2e_expect "each assigned lead is in its rep's lead set" "$held" -eq "$assigned"
if [[ -s $E2E_WORK/waiting.cmds ]]; then
    waiting_found=$(e2e_redis <"$E2E_WORK/waiting.cmds" | grep -c . || true)
else
    waiting_found=0
fi
e2e_expect "each queued lead is in its queue's waiting zset" "$waiting_found" -eq "$queued"
waiting_total=0
for q in $(e2e_redis SMEMBERS "$P:queues"); do
    waiting_total=$((waiting_total + $(e2e_redis ZCARD "$P:queue:$q:waiting")))
done
e2e_expect "the waiting zsets hold exactly the queued leads" "$waiting_total" -eq "$queued"

e2e_check_capacity
e2e_expect "sum of the reps' open counts = assigned leads" "$E2E_OPEN_SUM" -eq "$assigned"
e2e_expect "stats assigned = assigned leads + closed (none closed)" "$(e2e_stat assigned)" -eq $((assigned + $(t closed)))
e2e_expect "stats queued = leads ever queued (queued_at set), $queued of them still waiting" "$(e2e_stat queued)" -eq "$(t ever_queued)"

for name in ingest scoring routing reporting; do
    stack_is_alive "$name" || e2e_fail "$name is not running at the end"
done
e2e_log "COUNTS: events sent $sent, accepted $accepted, duplicates on resend $duplicates, resends $resends;" \
    "leads $leads, qualified $qualified, assigned $assigned, queued $queued, scored-only $(t scored);" \
    "kills done $kills, stalls $stalls (seed $KILL_SEED); send took $((t_sent - t_start)) ms"
redelivered() { awk -v w="$2" '$0 ~ "re-sent [0-9]+ " w { for (i = 1; i < NF; i++) if ($i == "re-sent") s += $(i + 1) } END { print s + 0 }' "$STACK_DIR/$1.log"; }
e2e_log "redelivered after the kills: ingest -> scoring $(redelivered ingest events), scoring -> routing $(redelivered scoring "qualified leads")"
e2e_expect "three kills done while the producer ran" "$kills" -eq 3
e2e_finish
