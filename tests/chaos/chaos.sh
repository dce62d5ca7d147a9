#!/usr/bin/env bash
# chaos.sh — the chaos engine: DESIGN.md invariants 1-4 (nothing lost, assigned once, capacity
# holds, duplicates do nothing) under a steady stream of leads and activities while every
# service is SIGKILLed at random moments several times and Redis (AOF, appendfsync always)
# is SIGKILLed and restarted.
#
# What it does:
#  1. starts a private stack (tests/e2e/lib.sh, deploy/stack.sh) with Redis on appendfsync
#     always from the start, and redelivery after --redelivery-ms;
#  2. writes the stream first (`leadopsctl gen --seed S`), so every event is known, and mixes
#     in a --dup-share of its events a second time (same event_id): the copies of each block
#     of 1000 events are spread over the block two blocks later (more than the sender's window
#     of 512 unacknowledged events later), those of the last two blocks come at the end; and a
#     --merge-share of the leads once more, 200-1000 events later, as a new event under a new
#     lead id with the same email (an identity duplicate, which ingest must merge);
#  3. sends it with `leadopsctl send --rate N` (it re-sends on BUSY and after timeouts, and
#     exits 0 once every event is acknowledged) while, at seeded random moments, each of
#     ingest, scoring, routing and reporting is SIGKILLed --kills-per-service times (half the
#     time frozen with SIGSTOP for 50-250 ms first, so that messages pile up and are lost with
#     it) and restarted after 0.2-1.5 s, and Redis is SIGKILLed --redis-kills times and
#     restarted on the same port and data dir after 0.5-2 s; scoring and routing are each
#     stalled (SIGSTOP) --stalls-per-service times for 1.5-3 redelivery periods, so that their
#     senders re-send what they hold and they receive it twice; meanwhile reps close leads
#     (`leadopsctl rep close`, --close-rate per second), so freed capacity pulls waiting leads,
#     and every rep's open count is sampled against its capacity;
#  4. once the sender has exited 0 and both in-flight sets are empty (one atomic read), checks:
#     leads: every lead id of the stream resolves (<p>:alias:<id>) to a lead hash with
#       has_lead=1 ("lost" counts identities that do not), no identity (email: the generator's
#       leads have no source id) has two such hashes ("doubled"), every lead hash is scored,
#       every qualified lead is assigned (and in its rep's set), queued (and in its queue's
#       waiting zset) or closed, no unqualified lead scores at or above the threshold
#       ("unrouted"), and the activities on the leads add up to the stream's activities;
#     capacity: no rep over capacity, open = SCARD of its lead set, at the end and in every
#       sample taken during the run; the open counts add up to the assigned leads; no lead is
#       in two reps' sets, every member of a rep's set is assigned to that rep ("held twice");
#     journal: every event id of the stream exactly once, nothing else;
#     reporting API: /v1/summary counters agree with what Redis holds (ingested, scored,
#       duplicates, qualified, assigned, queued, closed, waiting), and GET /v1/leads/{id}
#       (merged ids included) names the right lead and status for a sample of leads.
#     activities scored before their lead event was accepted, whose lead event then merged
#     into another lead, count on that lead ("orphaned activities" in the line: 0).
#  5. prints one line:
#     chaos: events sent N, acknowledged N, duplicates re-sent N (answered duplicate N), kills:
#     ingest K scoring K routing K reporting K redis R, leads L, lost 0, doubled 0, unscored 0,
#     unrouted 0, capacity violations 0, journal duplicates 0, ...
#     and exits 0 only when every count that must be zero is zero and every check passed.
#
# usage: tests/chaos/chaos.sh [--duration S] [--rate N] [--seed S] [--kills-per-service K]
#                             [--stalls-per-service N] [--redis-kills R] [--dup-share F]
#                             [--merge-share F] [--close-rate N]
#                             [--redelivery-ms MS] [--name NAME]
# Environment: LEADOPS_BIN (binaries; default build/bin), E2E_KEEP=1 (keep the work dir),
# E2E_TRACE=PATH (xtrace), as for tests/e2e (lib.sh). Exit: 0 pass, 1 fail, 2 usage, 77 skip.
set -uo pipefail # not -e: see tests/e2e/lib.sh

CHAOS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

chaos_usage() {
    cat <<'EOF'
usage: tests/chaos/chaos.sh [OPTIONS]
Runs a private LeadOps stack (Redis with appendfsync always), streams synthetic leads and
activities into it with a share re-sent as duplicates, SIGKILLs every service at random
moments and Redis once, restarts them, then checks that every acknowledged event was
journaled once, every lead exists once, is scored and assigned or queued, and no rep ever
held more than its capacity. Prints the counts; exits 0 only when nothing was lost or doubled.
  --duration S           seconds of stream at --rate (default 30)
  --rate N               events per second sent, duplicates included (default 300)
  --seed S               seed of the stream, the duplicates and the kill moments (default:
                         random, printed; the same seed repeats a run's plan)
  --kills-per-service K  SIGKILLs of each of ingest, scoring, routing, reporting (default 2)
  --stalls-per-service N SIGSTOPs of scoring and of routing, each resumed (SIGCONT) after
                         1.5 to 3 redelivery periods, so that they receive messages twice
                         (default 1)
  --redis-kills R        SIGKILLs and restarts of Redis (default 1)
  --dup-share F          share of the events sent a second time, 0 to 0.9 (default 0.1)
  --merge-share F         share of the leads sent again later as a new event under a new
                         lead id with the same email, to be merged (default 0.05)
  --close-rate N         leads closed by their rep per second during the stream, freeing
                         capacity for waiting leads (default 2; 0: none)
  --redelivery-ms MS     ingest's and scoring's redelivery period (default 1000)
  --name NAME            the log prefix and work dir name (default chaos)
Environment: LEADOPS_BIN (default build/bin), E2E_KEEP=1 keeps the work dir.
EOF
}

chaos_die_usage() {
    printf 'chaos.sh: %s (see --help)\n' "$1" >&2
    exit 2
}

DURATION=30 RATE=300 SEED='' KILLS=2 STALLS=1 REDIS_KILLS=1 DUP_SHARE=0.1 CLOSE_RATE=2 REDELIVERY_MS=1000 MERGE_SHARE=0.05
CHAOS_NAME=chaos
while (($#)); do
    case $1 in
        --duration) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || chaos_die_usage "--duration takes whole seconds above 0"; DURATION=$2; shift ;;
        --rate) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || chaos_die_usage "--rate takes whole events per second above 0"; RATE=$2; shift ;;
        --seed) [[ ${2:-} =~ ^[0-9]{1,15}$ ]] || chaos_die_usage "--seed takes a number"; SEED=$2; shift ;;
        --kills-per-service) [[ ${2:-} =~ ^[0-9]+$ ]] || chaos_die_usage "--kills-per-service takes a number"; KILLS=$2; shift ;;
        --stalls-per-service) [[ ${2:-} =~ ^[0-9]+$ ]] || chaos_die_usage "--stalls-per-service takes a number"; STALLS=$2; shift ;;
        --redis-kills) [[ ${2:-} =~ ^[0-9]+$ ]] || chaos_die_usage "--redis-kills takes a number"; REDIS_KILLS=$2; shift ;;
        --dup-share)
            if ! [[ ${2:-} =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v f="$2" 'BEGIN { exit !(f <= 0.9) }'; then
                chaos_die_usage "--dup-share takes a share from 0 to 0.9, e.g. 0.1"
            fi
            DUP_SHARE=$2
            shift
            ;;
        --merge-share)
            if ! [[ ${2:-} =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v f="$2" 'BEGIN { exit !(f <= 1) }'; then
                chaos_die_usage "--merge-share takes a share from 0 to 1, e.g. 0.05"
            fi
            MERGE_SHARE=$2
            shift
            ;;
        --close-rate) [[ ${2:-} =~ ^[0-9]+(\.[0-9]+)?$ ]] || chaos_die_usage "--close-rate takes closes per second"; CLOSE_RATE=$2; shift ;;
        --redelivery-ms) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || chaos_die_usage "--redelivery-ms takes milliseconds"; REDELIVERY_MS=$2; shift ;;
        --name) [[ ${2:-} =~ ^[a-z][a-z0-9_-]*$ ]] || chaos_die_usage "--name takes a lower-case word"; CHAOS_NAME=$2; shift ;;
        -h | --help) chaos_usage; exit 0 ;;
        *) chaos_die_usage "unknown option '$1'" ;;
    esac
    shift
done
[[ -n $SEED ]] || SEED=$(((RANDOM << 15 | RANDOM) + 1))

# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$CHAOS_DIR/../e2e/lib.sh"
e2e_setup "$CHAOS_NAME"
W=$E2E_WORK
P=$E2E_PREFIX
T_BEGIN=$SECONDS

# --- helpers ---------------------------------------------------------------------------------

# Sets NOW (ms) without a fork.
now_ms() {
    local us=${EPOCHREALTIME//[!0-9]/}
    NOW=$((10#$us / 1000))
}

# rcli ARGS... — redis-cli against the stack, bounded in time (Redis may be down).
rcli() {
    timeout 30 redis-cli -h 127.0.0.1 -p "$(stack_port redis)" "$@"
}

ms_to_s() {
    printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# Every rep's open count against its capacity and its lead set, read atomically: the number
# of reps over capacity or whose open count differs from SCARD of their lead set.
CAPACITY_LUA='local bad = 0
for _, r in ipairs(redis.call("SMEMBERS", ARGV[1] .. ":reps")) do
  local h = redis.call("HMGET", ARGV[1] .. ":rep:" .. r, "open", "capacity")
  local open, cap = tonumber(h[1]) or 0, tonumber(h[2]) or 0
  local n = redis.call("SCARD", ARGV[1] .. ":rep:" .. r .. ":leads")
  if open > cap or open ~= n then bad = bad + 1 end
end
return bad'
# Both in-flight sets at one instant: scoring takes an event off inflight:scoring in the same
# script that puts its lead on inflight:routing, so 0 0 means nothing is on its way.
INFLIGHT_LUA='return {redis.call("ZCARD", ARGV[1] .. ":inflight:scoring"), redis.call("ZCARD", ARGV[1] .. ":inflight:routing")}'
# One page of the journal: "stream-id type event_id lead_id" per entry (not the envelopes).
JOURNAL_LUA='local out = {}
for _, e in ipairs(redis.call("XRANGE", KEYS[1], ARGV[1], "+", "COUNT", tonumber(ARGV[2]))) do
  local f, t, ev, l = e[2], "-", "-", "-"
  for j = 1, #f, 2 do
    if f[j] == "event_id" then ev = f[j + 1] elseif f[j] == "type" then t = f[j + 1]
    elseif f[j] == "lead_id" then l = f[j + 1] end
  end
  out[#out + 1] = e[1] .. " " .. t .. " " .. ev .. " " .. l
end
return out'

# --- the stack -------------------------------------------------------------------------------

export LEADOPS_INGEST_REDELIVERY_MS=$REDELIVERY_MS LEADOPS_SCORING_REDELIVERY_MS=$REDELIVERY_MS
# Acknowledged means "in Redis"; surviving a Redis SIGKILL takes appendfsync always (README,
# "Durability"), from the very start.
# shellcheck disable=SC2034 # read by deploy/stack.sh (stack_start_redis)
STACK_REDIS_FSYNC=always
e2e_start
e2e_expect "Redis runs with appendfsync always" "$(rcli CONFIG GET appendfsync | tail -n 1)" = always
THRESHOLD=$(e2e_stage_enter mql)
[[ $THRESHOLD =~ ^[0-9.]+$ ]] || e2e_fatal "cannot read the mql stage's enter threshold (scoring.stages) from $E2E_CONFIG"
mapfile -t REPS < <(rcli SMEMBERS "$P:reps" | sort)
((${#REPS[@]} > 0)) || e2e_fatal "routing wrote no reps to Redis"

# --- the stream ------------------------------------------------------------------------------

EVENTS=$(awk -v d="$DURATION" -v r="$RATE" -v s="$DUP_SHARE" 'BEGIN { printf "%d", d * r / (1 + s) + 0.5 }')
((EVENTS > 0)) || e2e_fatal "no events to send (--duration $DURATION --rate $RATE)"
"$E2E_CTL" gen --seed "$SEED" --count "$EVENTS" >"$W/gen.jsonl" 2>"$W/gen.err" ||
    e2e_fatal "leadopsctl gen failed: $(head -c 300 "$W/gen.err")"
# Identity duplicates: a --merge-share of the leads arrives a second time 200-1000 events
# later as a new event under a new lead id ("<id>-m") with the same email, as a second CRM
# would send it: ingest must merge it into the first lead (an alias), never make a second.
awk -v seed="$SEED" -v share="$MERGE_SHARE" '
    BEGIN { srand(seed + 3) }
    {
        print
        if ($0 ~ /"kind":"lead"/ && rand() < share) {
            copy = $0
            sub(/"event_id":"/, "&m", copy)
            sub(/"lead_id":"[^"]*/, "&-m", copy)
            at = NR + 200 + int(800 * rand())
            pending[at] = pending[at] copy "\n"
        }
        if (NR in pending) { printf "%s", pending[NR]; delete pending[NR] }
    }
    END { for (at in pending) printf "%s", pending[at] }' "$W/gen.jsonl" >"$W/stream.jsonl"
EVENTS=$(wc -l <"$W/stream.jsonl")
MERGE_COPIES=$((EVENTS - $(wc -l <"$W/gen.jsonl")))
# kind event_id lead_id email ("-" when absent), one line per event.
awk '
    function f(key,   s) {
        if (!match($0, "\"" key "\":\"[^\"]*\"")) return "-"
        s = substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
        return s == "" ? "-" : s
    }
    { print f("kind"), f("event_id"), f("lead_id"), f("email") }' "$W/stream.jsonl" >"$W/events.txt"
LEAD_EVENTS=$(awk '$1 == "lead"' "$W/events.txt" | wc -l)
ACTIVITIES=$(awk '$1 == "activity"' "$W/events.txt" | wc -l)
awk '$1 == "lead" { print $3 "\t" $4 }' "$W/events.txt" >"$W/leads.tsv"
awk '{ print $3 }' "$W/events.txt" | sort -u >"$W/all_ids"
awk '{ print $2 }' "$W/events.txt" | sort >"$W/event_ids"
IDENTITIES=$(cut -f2 "$W/leads.tsv" | sort -u | wc -l)
e2e_expect "the stream's event ids are distinct" "$(sort -u "$W/event_ids" | wc -l)" -eq "$EVENTS"
e2e_expect "every lead event has an email (the identity)" "$(awk -F'\t' '$2 == "-"' "$W/leads.tsv" | wc -l)" -eq 0
e2e_expect "each identity duplicate shares its email with an earlier lead" "$((LEAD_EVENTS - IDENTITIES))" -ge "$MERGE_COPIES"

# The send file: the stream in order, and a copy of a DUP_SHARE of its events (same event id)
# spread over the block of 1000 events two blocks after their own; the copies of the last
# two blocks at the end.
awk -v seed="$SEED" -v share="$DUP_SHARE" -v chunk=1000 -v dupfile="$W/dup_lines" '
    BEGIN { srand(seed) }
    { line[NR] = $0 }
    END {
        n = NR
        nchunks = int((n + chunk - 1) / chunk)
        for (i = 1; i <= n; i++)
            if (rand() < share) {
                c = int((i - 1) / chunk)
                d[c, ++nd[c]] = i
                print i > dupfile
            }
        for (c = 0; c < nchunks; c++) {
            src = c - 2
            pending = src >= 0 ? nd[src] + 0 : 0
            k = 0
            lo = c * chunk + 1
            hi = (c + 1) * chunk < n ? (c + 1) * chunk : n
            left = hi - lo + 1
            for (i = lo; i <= hi; i++) {
                print line[i]
                while (k < pending && rand() * left < pending - k)
                    print line[d[src, ++k]]
                left--
            }
        }
        for (c = (nchunks > 2 ? nchunks - 2 : 0); c < nchunks; c++)
            for (k = 1; k <= nd[c]; k++)
                print line[d[c, k]]
    }' "$W/stream.jsonl" >"$W/send.jsonl"
touch "$W/dup_lines"
DUPS=$(wc -l <"$W/dup_lines")
LINES=$(wc -l <"$W/send.jsonl")
e2e_expect "the send file holds the stream and its duplicates" "$LINES" -eq $((EVENTS + DUPS))
e2e_expect "the send file holds each event id of the stream" "$(sed -n 's/.*"event_id":"\([^"]*\)".*/\1/p' "$W/send.jsonl" | sort -u | wc -l)" -eq "$EVENTS"
SEND_MS=$((LINES * 1000 / RATE))

# The plan, from the seed alone, in time order: "at_ms kill victim restart_delay_ms freeze_ms"
# and "at_ms stall victim stall_ms 0". A stall (SIGSTOP, SIGCONT 1.5 to 3 redelivery periods
# later) makes the sender re-send what the stalled receiver holds unapplied: scoring and
# routing then receive messages twice, and must apply each once.
awk -v seed="$SEED" -v span="$SEND_MS" -v k="$KILLS" -v rk="$REDIS_KILLS" -v sk="$STALLS" \
    -v redelivery="$REDELIVERY_MS" 'BEGIN {
        srand(seed + 1)
        split("ingest scoring routing reporting", victims, " ")
        for (v = 1; v <= 4; v++)
            for (j = 0; j < k; j++) {
                at = int(span * (0.05 + 0.80 * rand()))
                delay = 200 + int(1300 * rand())
                freeze = rand() < 0.5 ? 50 + int(200 * rand()) : 0
                print at, "kill", victims[v], delay, freeze
            }
        for (j = 0; j < rk; j++)
            print int(span * (0.25 + 0.45 * rand())), "kill", "redis", 500 + int(1500 * rand()), 0
        for (v = 2; v <= 3; v++)
            for (j = 0; j < sk; j++)
                print int(span * (0.05 + 0.80 * rand())), "stall", victims[v], int(redelivery * (1.5 + 1.5 * rand())), 0
    }' | sort -n -k1,1 >"$W/plan"
mapfile -t PLAN <"$W/plan"
e2e_log "seed $SEED: $EVENTS events ($LEAD_EVENTS leads of $IDENTITIES identities, $MERGE_COPIES of them identity duplicates; $ACTIVITIES activities) + $DUPS duplicates = $LINES lines at $RATE/s (~$((SEND_MS / 1000)) s); $(grep -c ' kill ' "$W/plan") kills and $(grep -c ' stall ' "$W/plan") stalls planned; redelivery $REDELIVERY_MS ms; closes $CLOSE_RATE/s; qualify threshold $THRESHOLD"

# --- chaos -----------------------------------------------------------------------------------

declare -A DOWN_UNTIL=() KILLED_AT=() KILLS_DONE=() STALLED_UNTIL=() STALLS_DONE=()
for name in ingest scoring routing reporting redis; do KILLS_DONE[$name]=0 STALLS_DONE[$name]=0; done
UNEXPECTED=0 CAP_SAMPLES=0 CAP_SAMPLE_BAD=0 CLOSES_OK=0 CLOSES_TRIED=0 KILLS_LATE=0
RESTART_MAX_MS=0

redis_up() {
    [[ -z ${DOWN_UNTIL[redis]:-} ]]
}

# kill_victim NAME FREEZE_MS RESTART_DELAY_MS
kill_victim() {
    local name=$1 freeze=$2 delay=$3 pid how=SIGKILL
    if ! stack_is_alive "$name"; then
        e2e_fail "$name is not running when its kill is due"
        return 0
    fi
    pid=$(stack_pid "$name")
    if ((freeze > 0)); then
        kill -STOP "$pid" 2>/dev/null
        sleep "$(ms_to_s "$freeze")"
        how="SIGSTOP $freeze ms, SIGKILL"
    fi
    stack_kill "$name" 2>>"$W/chaos.err" || e2e_fatal "could not SIGKILL $name (pid $pid)"
    now_ms
    KILLED_AT[$name]=$NOW
    DOWN_UNTIL[$name]=$((NOW + delay))
    KILLS_DONE[$name]=$((KILLS_DONE[$name] + 1))
    stack_is_alive sender || KILLS_LATE=$((KILLS_LATE + 1))
    e2e_log "$how $name (pid $pid) at $(ms_to_s $((NOW - T0))) s, $(accepted_now) events ingested; restart in $delay ms"
}

# restart_victim NAME — 0 when it runs again (or must wait for Redis), 1 when it failed.
restart_victim() {
    local name=$1 took
    if [[ $name == redis ]]; then
        stack_start_redis 2>"$W/restart.err" || return 1
        local fsync
        fsync=$(rcli CONFIG GET appendfsync | tail -n 1)
        [[ $fsync == always ]] || e2e_fail "Redis restarted with appendfsync '$fsync', not always"
    else
        redis_up || return 0 # a service cannot start without Redis: after it
        STACK_SETTLE=0.3 stack_start_service "$name" 2>"$W/restart.err" || return 1
    fi
    now_ms
    took=$((NOW - KILLED_AT[$name]))
    ((took > RESTART_MAX_MS)) && RESTART_MAX_MS=$took
    unset "DOWN_UNTIL[$name]"
    e2e_log "restarted $name as pid $(stack_pid "$name"), $took ms after its kill"
    return 0
}

# stall_victim NAME MS — SIGSTOP now, SIGCONT after MS (in the main loop).
stall_victim() {
    local name=$1 ms=$2 pid
    if ! stack_is_alive "$name"; then
        e2e_fail "$name is not running when its stall is due"
        return 0
    fi
    pid=$(stack_pid "$name")
    kill -STOP "$pid" 2>/dev/null
    now_ms
    STALLED_UNTIL[$name]=$((NOW + ms))
    STALLS_DONE[$name]=$((STALLS_DONE[$name] + 1))
    e2e_log "SIGSTOP $name (pid $pid) at $(ms_to_s $((NOW - T0))) s for $ms ms"
}

accepted_now() {
    local a b
    {
        read -r a
        read -r b
    } < <(timeout 2 redis-cli -h 127.0.0.1 -p "$(stack_port redis)" HMGET "$P:stats" ingested_leads ingested_activities 2>/dev/null)
    [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] && echo $((a + b)) || echo '?'
}

# A rep closes one of its open leads (won): its freed capacity pulls a waiting lead.
close_one() {
    local rep=${REPS[RANDOM % ${#REPS[@]}]} lead
    lead=$(timeout 2 redis-cli -h 127.0.0.1 -p "$(stack_port redis)" SRANDMEMBER "$P:rep:$rep:leads" 2>/dev/null)
    [[ -n $lead ]] || return 0
    CLOSES_TRIED=$((CLOSES_TRIED + 1))
    if timeout 8 "$E2E_CTL" rep close "$rep" "$lead" --outcome won >>"$W/closes.log" 2>&1; then
        CLOSES_OK=$((CLOSES_OK + 1))
    fi
}

sample_capacity() {
    local bad
    bad=$(timeout 2 redis-cli -h 127.0.0.1 -p "$(stack_port redis)" EVAL "$CAPACITY_LUA" 0 "$P" 2>/dev/null)
    [[ $bad =~ ^[0-9]+$ ]] || return 0
    CAP_SAMPLES=$((CAP_SAMPLES + 1))
    if ((bad > 0)); then
        CAP_SAMPLE_BAD=$((CAP_SAMPLE_BAD + bad))
        CAP_SAMPLES_BAD_LOGGED=$((${CAP_SAMPLES_BAD_LOGGED:-0} + 1))
        ((CAP_SAMPLES_BAD_LOGGED > 3)) ||
            e2e_log "capacity sample: $bad rep(s) over capacity or with open != SCARD (all bad samples: capacity_samples.log)"
        rcli EVAL 'local o = {} for _, r in ipairs(redis.call("SMEMBERS", ARGV[1] .. ":reps")) do local h = redis.call("HMGET", ARGV[1] .. ":rep:" .. r, "open", "capacity") o[#o + 1] = r .. " open=" .. tostring(h[1]) .. " capacity=" .. tostring(h[2]) .. " scard=" .. redis.call("SCARD", ARGV[1] .. ":rep:" .. r .. ":leads") end return o' 0 "$P" >>"$W/capacity_samples.log" 2>&1
    fi
}

# Processes that died on their own (not killed by us): counted, logged, restarted.
check_alive() {
    local name
    for name in redis ingest scoring routing reporting; do
        [[ -n ${DOWN_UNTIL[$name]:-} ]] && continue
        stack_is_alive "$name" && continue
        UNEXPECTED=$((UNEXPECTED + 1))
        e2e_fail "$name exited by itself (not killed by the test); last lines of its log:"
        stack_log_tail "$name" 10 2>&1
        now_ms
        KILLED_AT[$name]=$NOW
        DOWN_UNTIL[$name]=$NOW
    done
}

stack_spawn sender "$E2E_CTL" send "$W/send.jsonl" --rate "$RATE" || e2e_fatal "cannot start leadopsctl send"
now_ms
T0=$NOW
NEXT_CLOSE=$T0
CLOSE_EVERY_MS=$(awk -v r="$CLOSE_RATE" 'BEGIN { printf "%d", (r > 0 ? 1000 / r : 0) }')
NEXT_CHECK=$T0 NEXT_STATUS=$((T0 + 5000))
# The sender re-sends for a while after kills; past this something is stuck.
LOOP_DEADLINE=$((T0 + SEND_MS * 3 + 180000))
plan_i=0
restart_failures=0
while true; do
    now_ms
    sender_alive=0
    stack_is_alive sender && sender_alive=1
    if ((!sender_alive && plan_i >= ${#PLAN[@]} && ${#DOWN_UNTIL[@]} == 0 && ${#STALLED_UNTIL[@]} == 0)); then
        break
    fi
    if ((NOW > LOOP_DEADLINE)); then
        e2e_fatal "the stream did not end within $(((LOOP_DEADLINE - T0) / 1000)) s (sender alive: $sender_alive, kills done $plan_i of ${#PLAN[@]}, down: ${!DOWN_UNTIL[*]})"
    fi
    # Stalls that are over.
    for name in "${!STALLED_UNTIL[@]}"; do
        ((NOW >= STALLED_UNTIL[$name])) || continue
        kill -CONT "$(stack_pid "$name")" 2>/dev/null
        unset "STALLED_UNTIL[$name]"
        e2e_log "SIGCONT $name after its stall"
    done
    # Restarts that are due; Redis first.
    for name in redis ingest scoring routing reporting; do
        [[ -n ${DOWN_UNTIL[$name]:-} ]] || continue
        ((NOW >= DOWN_UNTIL[$name])) || continue
        if ! restart_victim "$name"; then
            restart_failures=$((restart_failures + 1))
            e2e_log "restart of $name failed ($(head -n 3 "$W/restart.err" | tr '\n' ' ')); trying again"
            ((restart_failures < 20)) || e2e_fatal "$name does not restart: $(cat "$W/restart.err")"
            now_ms
            DOWN_UNTIL[$name]=$((NOW + 500))
        fi
    done
    # The next kill or stall, when due and its victim runs (neither down nor stalled).
    if ((plan_i < ${#PLAN[@]})); then
        read -r at action victim delay freeze <<<"${PLAN[plan_i]}"
        now_ms
        if ((NOW - T0 >= at)) && [[ -z ${DOWN_UNTIL[$victim]:-} && -z ${STALLED_UNTIL[$victim]:-} ]]; then
            if [[ $action == stall ]]; then
                stall_victim "$victim" "$delay"
            else
                kill_victim "$victim" "$freeze" "$delay"
            fi
            plan_i=$((plan_i + 1))
        fi
    fi
    now_ms
    if ((CLOSE_EVERY_MS > 0 && sender_alive && NOW >= NEXT_CLOSE)); then
        NEXT_CLOSE=$((NOW + CLOSE_EVERY_MS))
        [[ -z ${DOWN_UNTIL[routing]:-} && -z ${STALLED_UNTIL[routing]:-} ]] && redis_up && close_one
    fi
    if ((NOW >= NEXT_CHECK)); then
        NEXT_CHECK=$((NOW + 500))
        check_alive
        redis_up && sample_capacity
    fi
    if ((NOW >= NEXT_STATUS)); then
        NEXT_STATUS=$((NOW + 5000))
        e2e_log "t=$(((NOW - T0) / 1000)) s: $(accepted_now) of $EVENTS events ingested; kills and stalls done $plan_i of ${#PLAN[@]}; down: ${!DOWN_UNTIL[*]}; stalled: ${!STALLED_UNTIL[*]}; closes $CLOSES_OK"
    fi
    sleep 0.05
done
now_ms
T_SENT=$NOW
SENDER_RC=0
stack_wait sender 10 || SENDER_RC=$?
SUMMARY_LINE=$(grep '^send:' "$STACK_DIR/sender.log" | tail -n 1)
e2e_log "sender: ${SUMMARY_LINE:-no summary line} (exit $SENDER_RC, $(ms_to_s $((T_SENT - T0))) s)"
e2e_expect "leadopsctl send exits 0: every event acknowledged" "$SENDER_RC" -eq 0
sender_num() { sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p" <<<"$SUMMARY_LINE"; }
SENT=$(sed -n 's/^send: \([0-9]*\) sent.*/\1/p' <<<"$SUMMARY_LINE")
ACCEPTED=$(sender_num accepted)
ANSWERED_DUP=$(sender_num duplicates)
REJECTED=$(sender_num rejected)
RESENDS=$(sender_num resends)
SENT=${SENT:-0} ACCEPTED=${ACCEPTED:-0} ANSWERED_DUP=${ANSWERED_DUP:-0}
ACKED=$((ACCEPTED + ANSWERED_DUP))
e2e_expect "the sender sent every line once (resends apart)" "$SENT" -eq "$LINES"
e2e_expect "acknowledged (accepted + duplicate) = sent" "$ACKED" -eq "$SENT"
e2e_expect "nothing rejected" "${REJECTED:-x}" -eq 0
e2e_expect "every re-sent duplicate was answered DUPLICATE (answered >= re-sent)" "$ANSWERED_DUP" -ge "$DUPS"
e2e_expect "no event accepted twice (accepted <= distinct events)" "$ACCEPTED" -le "$EVENTS"

for name in redis ingest scoring routing reporting; do
    stack_is_alive "$name" || e2e_fatal "$name is not running after the stream"
done
# Drain: both in-flight sets empty at one instant.
deadline=$((SECONDS + 120))
inflight='? ?'
while true; do
    inflight=$(rcli EVAL "$INFLIGHT_LUA" 0 "$P" | tr '\n' ' ')
    [[ $inflight == '0 0 ' ]] && break
    ((SECONDS < deadline)) || break
    sleep 0.2
done
now_ms
e2e_log "in flight (scoring, routing) $(ms_to_s $((NOW - T_SENT))) s after the stream: $inflight"
e2e_expect "both in-flight sets drained within 120 s" "$inflight" = '0 0 '
e2e_expect "no message left for re-sending (inflight:scoring:msg)" "$(rcli HLEN "$P:inflight:scoring:msg")" -eq 0
check_alive

# --- checks: the journal ---------------------------------------------------------------------

: >"$W/journal.txt"
start=-
while true; do
    rcli EVAL "$JOURNAL_LUA" 1 "$P:journal" "$start" 5000 >"$W/journal.page" || e2e_fatal "cannot read the journal"
    cat "$W/journal.page" >>"$W/journal.txt"
    n=$(wc -l <"$W/journal.page")
    ((n < 5000)) && break
    start="($(tail -n 1 "$W/journal.page" | cut -d' ' -f1)"
done
# Journal duplicates: entries beyond the first of an event id; missing: stream events with no
# entry; foreign: entries of no stream event.
read -r J_ENTRIES J_DUPS J_MISSING J_FOREIGN < <(awk '
    FILENAME == ARGV[1] { want[$1] = 1; next }
    { n++; seen[$3]++; if (seen[$3] > 1) dups++; if (!($3 in want)) foreign++ }
    END { for (id in want) if (!(id in seen)) missing++; print n + 0, dups + 0, missing + 0, foreign + 0 }' \
    "$W/event_ids" "$W/journal.txt")
e2e_expect "the journal holds each acknowledged event once: duplicates" "$J_DUPS" -eq 0
e2e_expect "the journal holds each acknowledged event once: missing" "$J_MISSING" -eq 0
e2e_expect "the journal holds nothing but the stream's events" "$J_FOREIGN" -eq 0
e2e_expect "journal entries read = distinct events" "$J_ENTRIES" -eq "$EVENTS"
e2e_expect "journal length (XLEN) = distinct events" "$(rcli XLEN "$P:journal")" -eq "$EVENTS"

# --- checks: leads ---------------------------------------------------------------------------

sed "s/^/GET $P:alias:/" "$W/all_ids" | rcli >"$W/alias.raw"
paste "$W/all_ids" "$W/alias.raw" >"$W/alias.tsv"
e2e_expect "one alias answer per lead id" "$(wc -l <"$W/alias.raw")" -eq "$(wc -l <"$W/all_ids")"
# Every id of the stream and every id an alias names.
{ cat "$W/all_ids"; awk -F'\t' '$2 != "" { print $2 }' "$W/alias.tsv"; } | sort -u >"$W/state_ids"
FIELDS=(has_lead score status qualified rep queue queued_at activities stage)
sed "s/^/HMGET $P:lead:/; s/\$/ ${FIELDS[*]}/" "$W/state_ids" | rcli >"$W/state.raw"
dashes=()
for _ in "${FIELDS[@]}"; do dashes+=(-); done
paste -d'\t' "${dashes[@]}" <"$W/state.raw" | paste "$W/state_ids" - >"$W/state.tsv"
e2e_expect "one state row per lead id" "$(wc -l <"$W/state.tsv")" -eq "$(wc -l <"$W/state_ids")"
rm -f "$W"/bad.* "$W/held.cmds" "$W/waiting.cmds"
# state.tsv columns: 1 id, 2 has_lead, 3 score, 4 status, 5 qualified, 6 rep, 7 queue,
# 8 queued_at, 9 activities, 10 stage.
awk -F'\t' -v t="$THRESHOLD" -v p="$P" -v out="$W" '
    FILENAME == ARGV[1] { canon[$1] = $2 != "" ? $2 : $1; next }
    FILENAME == ARGV[2] {
        hl[$1] = $2; sc[$1] = $3; st[$1] = $4; q[$1] = $5; rep[$1] = $6; qu[$1] = $7
        qa[$1] = $8; acts[$1] = $9; stage[$1] = $10; ids[$1] = 1
        next
    }
    {
        if (!($2 in nid)) elist[++ne] = $2
        byemail[$2, ++nid[$2]] = $1
    }
    END {
        for (i = 1; i <= ne; i++) {
            e = elist[i]; lost_e = 0; nh = 0; split("", hs)
            for (j = 1; j <= nid[e]; j++) {
                id = byemail[e, j]; c = (id in canon) ? canon[id] : id
                if (hl[c] != "1") lost_e = 1
                else if (!(c in hs)) { hs[c] = 1; nh++ }
                if (id != c && hl[id] == "1" && !(id in hs)) { hs[id] = 1; nh++ }
            }
            if (lost_e) { lost++; print e > (out "/bad.lost") }
            if (nh > 1) { doubled++; print e > (out "/bad.doubled") }
            if (nid[e] > 1) merged_ids += nid[e] - 1
        }
        for (x in ids) {
            all_acts += acts[x]
            if (hl[x] != "1") { orphan_acts += acts[x]; continue }
            n++
            if (sc[x] == "") { unscored++; print x > (out "/bad.unscored") }
            s = st[x]
            cnt[s]++
            if (q[x] == "1") {
                qualified++
                # A lead that fell back below mql after it qualified waits in nurture.
                if (s != "assigned" && s != "queued" && s != "closed" && !(s == "nurture" && stage[x] == "lead")) { unrouted++; print x, s, stage[x] > (out "/bad.unrouted") }
            } else {
                if (s != "scored") { unrouted++; print x, "unqualified but", s > (out "/bad.unrouted") }
                if (sc[x] != "" && sc[x] + 0 >= t + 0) { unrouted++; print x, "unqualified at score", sc[x] > (out "/bad.unrouted") }
            }
            if (qa[x] != "") ever_queued++
            if (s == "assigned") {
                if (rep[x] == "") { unrouted++; print x, "assigned to no rep" > (out "/bad.unrouted") }
                else print "SISMEMBER " p ":rep:" rep[x] ":leads " x > (out "/held.cmds")
            }
            if (s == "queued") print "ZSCORE " p ":queue:" qu[x] ":waiting " x > (out "/waiting.cmds")
        }
        printf "identities=%d merged_ids=%d hashes=%d lost=%d doubled=%d unscored=%d unrouted=%d qualified=%d assigned=%d queued=%d closed=%d scored=%d ever_queued=%d acts=%d orphan_acts=%d\n",
            ne, merged_ids, n, lost, doubled, unscored, unrouted, qualified, cnt["assigned"], cnt["queued"],
            cnt["closed"], cnt["scored"], ever_queued, all_acts, orphan_acts
    }' "$W/alias.tsv" "$W/state.tsv" "$W/leads.tsv" >"$W/tally"
TALLY=$(<"$W/tally")
e2e_log "tally: $TALLY"
tl() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$TALLY"; }
show() { [[ -s $W/$1 ]] && printf ' (e.g. %s)' "$(head -n 3 "$W/$1" | tr '\n' ';')"; return 0; }
LEADS=$(tl identities) LOST=$(tl lost) DOUBLED=$(tl doubled) UNSCORED=$(tl unscored) UNROUTED=$(tl unrouted)
ASSIGNED=$(tl assigned) QUEUED=$(tl queued) CLOSED=$(tl closed) QUALIFIED=$(tl qualified)
e2e_expect "identities in the stream" "$LEADS" -eq "$IDENTITIES"
e2e_expect "leads lost (an acknowledged lead with no lead hash)$(show bad.lost)" "$LOST" -eq 0
e2e_expect "leads doubled (an identity with two lead hashes)$(show bad.doubled)" "$DOUBLED" -eq 0
e2e_expect "one lead hash per identity" "$(tl hashes)" -eq "$IDENTITIES"
e2e_expect "$P:leads holds one id per identity" "$(rcli ZCARD "$P:leads")" -eq "$IDENTITIES"
e2e_expect "ingest merged every lead event of a known identity (stats merged)" "$(v=$(rcli HGET "$P:stats" merged); echo "${v:-0}")" -eq $((LEAD_EVENTS - IDENTITIES))
e2e_expect "unscored leads$(show bad.unscored)" "$UNSCORED" -eq 0
held=0 waiting_found=0
if [[ -s $W/held.cmds ]]; then held=$(rcli <"$W/held.cmds" | grep -c '^1$'); fi
if [[ -s $W/waiting.cmds ]]; then waiting_found=$(rcli <"$W/waiting.cmds" | grep -c .); fi
e2e_expect "each assigned lead is in its rep's lead set" "$held" -eq "$ASSIGNED"
e2e_expect "each queued lead is in its queue's waiting zset" "$waiting_found" -eq "$QUEUED"
UNROUTED=$((UNROUTED + ASSIGNED - held + QUEUED - waiting_found))
waiting_total=0
for queue in $(rcli SMEMBERS "$P:queues"); do
    waiting_total=$((waiting_total + $(rcli ZCARD "$P:queue:$queue:waiting")))
done
e2e_expect "the waiting zsets hold exactly the queued leads" "$waiting_total" -eq "$QUEUED"
((waiting_total == QUEUED)) || UNROUTED=$((UNROUTED + 1))
e2e_expect "unrouted leads (qualified but not assigned, queued or closed; or unqualified at the threshold)$(show bad.unrouted)" "$UNROUTED" -eq 0
ACT_OFF=$(($(tl acts) - ACTIVITIES))
e2e_expect "the leads' activity counts add up to the stream's activities (each applied once)" "$(tl acts)" -eq "$ACTIVITIES"
ACT_OFF=${ACT_OFF#-}
ORPHAN_ACTS=$(tl orphan_acts)
# An activity scored before its lead event was accepted waits on a hash of its own; when the
# lead event then merges into another lead (same email), scoring folds them into that lead
# (README: "kept and counted when the lead arrives").
e2e_expect "no activity left on a hash without its lead" "$ORPHAN_ACTS" -eq 0

# --- checks: reps ----------------------------------------------------------------------------

CAP_BAD=0 OPEN_SUM=0 HELD_TWICE=0
: >"$W/rep_members"
cap_table=''
for rep in "${REPS[@]}"; do
    {
        read -r open
        read -r capacity
    } < <(rcli HMGET "$P:rep:$rep" open capacity)
    members=$(rcli SCARD "$P:rep:$rep:leads")
    rcli SMEMBERS "$P:rep:$rep:leads" | sed "s/^/$rep /" >>"$W/rep_members"
    cap_table+=" $rep=$open/$capacity"
    OPEN_SUM=$((OPEN_SUM + ${open:-0}))
    if ! [[ $open =~ ^[0-9]+$ && $capacity =~ ^[0-9]+$ ]] || ((open > capacity)); then
        e2e_fail "rep $rep holds $open open leads, capacity $capacity"
        CAP_BAD=$((CAP_BAD + 1))
    fi
    if [[ $members != "$open" ]]; then
        e2e_fail "rep $rep: open=$open but its lead set has $members members"
        CAP_BAD=$((CAP_BAD + 1))
    fi
done
e2e_log "reps (open/capacity):$cap_table; $CAP_SAMPLES capacity samples during the run, $CAP_SAMPLE_BAD bad"
e2e_expect "no rep over capacity, open = SCARD, at the end" "$CAP_BAD" -eq 0
e2e_expect "no rep over capacity, open = SCARD, in $CAP_SAMPLES samples during the run" "$CAP_SAMPLE_BAD" -eq 0
CAP_VIOLATIONS=$((CAP_BAD + CAP_SAMPLE_BAD))
e2e_expect "sum of the reps' open counts = assigned leads" "$OPEN_SUM" -eq "$ASSIGNED"
# Assigned once: no lead in two reps' sets; each member assigned to that very rep.
HELD_TWICE=$(awk -F'\t' '
    FILENAME == ARGV[1] { st[$1] = $4; rep[$1] = $6; next }
    { n[$2]++; if (n[$2] == 2) bad++; if (st[$2] != "assigned" || rep[$2] != $1) bad++ }
    END { print bad + 0 }' "$W/state.tsv" <(tr ' ' '\t' <"$W/rep_members"))
((OPEN_SUM == ASSIGNED)) || HELD_TWICE=$((HELD_TWICE + 1))
e2e_expect "no lead held twice; every rep's lead is assigned to that rep" "$HELD_TWICE" -eq 0

# --- checks: the reporting API ---------------------------------------------------------------

API_BAD=0
api_expect() { # DESC ACTUAL OP EXPECTED
    local before=$E2E_FAILURES
    e2e_expect "$@"
    ((E2E_FAILURES == before)) || API_BAD=$((API_BAD + 1))
}
SUMMARY=$(stack_summary) || e2e_fail "reporting did not answer /v1/summary"
sj() { local v; v=$(stack_json_num "$SUMMARY" "$1"); printf '%s\n' "${v:--1}"; }
api_expect "/v1/summary ingested_leads + ingested_activities = distinct events" $(($(sj ingested_leads) + $(sj ingested_activities))) -eq "$EVENTS"
api_expect "/v1/summary ingested_leads = lead events" "$(sj ingested_leads)" -eq "$LEAD_EVENTS"
api_expect "/v1/summary scored = distinct events (each applied once)" "$(sj scored)" -eq "$EVENTS"
api_expect "/v1/summary duplicates >= duplicates answered to the sender" "$(sj duplicates)" -ge "$ANSWERED_DUP"
api_expect "/v1/summary rejected = 0" "$(sj rejected)" -eq 0
api_expect "/v1/summary qualified = qualified leads" "$(sj qualified)" -eq "$QUALIFIED"
api_expect "/v1/summary assigned = assigned + closed leads" "$(sj assigned)" -eq $((ASSIGNED + CLOSED))
# A lead that fell below its queue's stage left the queue (unqueued) and may have come back.
api_expect "/v1/summary queued >= leads ever queued" "$(sj queued)" -ge "$(tl ever_queued)"
api_expect "/v1/summary queued <= leads ever queued + leads that left a queue" "$(sj queued)" -le $(($(tl ever_queued) + $(sj unqueued)))
api_expect "/v1/summary closed = closed leads" "$(sj closed)" -eq "$CLOSED"
api_expect "/v1/summary waiting = queued leads" "$(sj waiting)" -eq "$QUEUED"
api_sum_open=$(curl -fsS --max-time 10 "$E2E_REPORTING_URL/v1/reps" | grep -Eo '"open":[[:space:]]*[0-9]+' | awk -F: '{ s += $2 } END { print s + 0 }')
api_expect "/v1/reps open counts add up to the assigned leads" "$api_sum_open" -eq "$ASSIGNED"
# A sample of leads through GET /v1/leads/{id}: every merged id, and 20 others.
awk -F'\t' '$2 != "" { print $1 }' "$W/alias.tsv" | head -n 20 >"$W/api_ids"
awk -v seed="$SEED" 'BEGIN { srand(seed + 2) } { if (rand() < 0.05) print $1 }' "$W/leads.tsv" | head -n 20 >>"$W/api_ids"
api_checked=0 api_lead_bad=0
while read -r id; do
    want=$(awk -F'\t' -v id="$id" '$1 == id { print ($2 != "" ? $2 : $1) }' "$W/alias.tsv")
    want_status=$(awk -F'\t' -v id="$want" '$1 == id { print $4 }' "$W/state.tsv")
    body=$(e2e_lead "$id")
    got=$(e2e_json_str "$body" lead_id)
    got_status=$(e2e_json_str "$body" status)
    api_checked=$((api_checked + 1))
    if [[ $got != "$want" || $got_status != "$want_status" ]]; then
        api_lead_bad=$((api_lead_bad + 1))
        e2e_log "GET /v1/leads/$id: lead_id '$got' status '$got_status', Redis: '$want' '$want_status'"
    fi
done <"$W/api_ids"
api_expect "GET /v1/leads/{id} names the lead and status Redis holds ($api_checked leads, merged ids included)" "$api_lead_bad" -eq 0

# --- the counts ------------------------------------------------------------------------------

e2e_log "closes: $CLOSES_OK of $CLOSES_TRIED done; kills after the stream ended: $KILLS_LATE; slowest restart $RESTART_MAX_MS ms; sender resends ${RESENDS:-?}; qualified $QUALIFIED, assigned $ASSIGNED, queued $QUEUED, closed $CLOSED; merged lead ids $(tl merged_ids); redelivered: ingest->scoring $(awk '/re-sent [0-9]+ events/ { for (i = 1; i < NF; i++) if ($i == "re-sent") s += $(i + 1) } END { print s + 0 }' "$STACK_DIR/ingest.log"), scoring->routing $(awk '/re-sent [0-9]+ qualified/ { for (i = 1; i < NF; i++) if ($i == "re-sent") s += $(i + 1) } END { print s + 0 }' "$STACK_DIR/scoring.log")"
e2e_expect "every planned kill and stall was done" "$plan_i" -eq "${#PLAN[@]}"
e2e_expect "no process exited by itself" "$UNEXPECTED" -eq 0
now_ms
printf 'chaos: events sent %d, acknowledged %d, duplicates re-sent %d (answered duplicate %d), kills: ingest %d scoring %d routing %d reporting %d redis %d, stalls: scoring %d routing %d, leads %d, lost %d, doubled %d, unscored %d, unrouted %d, capacity violations %d, journal duplicates %d, journal missing %d, activities off %d, held twice %d, api mismatches %d, unexpected exits %d (seed %s, %d identity duplicates merged, %d orphaned activities, %d s)\n' \
    "$SENT" "$ACKED" "$DUPS" "$ANSWERED_DUP" "${KILLS_DONE[ingest]}" "${KILLS_DONE[scoring]}" \
    "${KILLS_DONE[routing]}" "${KILLS_DONE[reporting]}" "${KILLS_DONE[redis]}" \
    "${STALLS_DONE[scoring]}" "${STALLS_DONE[routing]}" "$LEADS" "$LOST" \
    "$DOUBLED" "$UNSCORED" "$UNROUTED" "$CAP_VIOLATIONS" "$J_DUPS" "$J_MISSING" "$ACT_OFF" \
    "$HELD_TWICE" "$API_BAD" "$UNEXPECTED" "$SEED" "$MERGE_COPIES" "$ORPHAN_ACTS" $((SECONDS - T_BEGIN))
e2e_finish
