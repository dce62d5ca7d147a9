# shellcheck shell=bash
# lib.sh — shared helpers for the end-to-end tests (tests/e2e/test_*.sh).
#
# A test sources this file, calls e2e_setup NAME (a private run dir under a mktemp dir, an
# EXIT trap that stops everything the test started) and e2e_start (a private redis and the
# four services on free ports, via deploy/stack.sh). It then checks with e2e_ok / e2e_fail /
# e2e_expect and ends with e2e_finish, which exits 0 when every check passed, 1 otherwise.
# A missing tool or binary makes the test exit 77 (skipped).
#
# Environment (CTest sets the first two):
#   LEADOPS_BIN               directory of leadops-* and leadopsctl
#   LEADOPS_TEST_SOURCE_DIR   repository root (default: two levels above this file)
#   E2E_KEEP=1                keep the work dir (logs, redis data) even when the test passed
#   E2E_STRICT=1              known service issues (e2e_known_issue) fail the test
#   E2E_TRACE=PATH            bash xtrace of the test to PATH.NAME.PID
#
# Only curl, redis-cli, redis-server, coreutils and bash are used: no python, no jq.
#
# The tests run WITHOUT `set -e` (every step that matters is checked explicitly): with bash 5.2,
# `{ v=$(<FILE); } 2>/dev/null || return 1` exits a `set -e` shell when FILE is missing, even
# inside `if !` or `||`, and deploy/stack.sh reads /proc/PID/stat that way while it polls a
# process that is exiting (stack_stop, stack_kill, stack_is_alive): a test under `set -e`
# would die at random in those calls. e2e_setup turns errexit off for that reason.

_E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=${LEADOPS_TEST_SOURCE_DIR:-$(cd "$_E2E_LIB_DIR/../.." && pwd)}
E2E_NAME=${E2E_NAME:-e2e}
E2E_FAILURES=0
E2E_CHECKS=0
E2E_WORK=
E2E_PREFIX=${LEADOPS_REDIS_PREFIX:-leadops}
E2E_CONFIG=${STACK_CONFIG:-$E2E_REPO/deploy/leadops.yaml}

e2e_log() {
    printf '[%s %s] %s\n' "$E2E_NAME" "$(date +%H:%M:%S.%3N)" "$*"
}

e2e_skip() {
    printf '[%s] SKIP: %s\n' "$E2E_NAME" "$*"
    exit 77
}

# e2e_ok MSG / e2e_fail MSG — one check passed / failed (the test goes on; e2e_finish
# decides the exit status).
e2e_ok() {
    E2E_CHECKS=$((E2E_CHECKS + 1))
    printf '[%s]   ok: %s\n' "$E2E_NAME" "$*"
}

e2e_fail() {
    E2E_CHECKS=$((E2E_CHECKS + 1))
    E2E_FAILURES=$((E2E_FAILURES + 1))
    printf '[%s] FAIL: %s\n' "$E2E_NAME" "$*"
}

# e2e_expect DESC ACTUAL OP EXPECTED — compares two integers (OP: -eq -ne -lt -le -gt -ge)
# or two strings (OP: = !=, or =~ for a bash regex) and records one check.
e2e_expect() {
    local desc=$1 actual=$2 op=$3 expected=$4 good=0
    case $op in
        -eq | -ne | -lt | -le | -gt | -ge)
            if [[ $actual =~ ^-?[0-9]+$ && $expected =~ ^-?[0-9]+$ ]] && test "$actual" "$op" "$expected"; then
                good=1
            fi
            ;;
        =) [[ $actual == "$expected" ]] && good=1 ;;
        !=) [[ $actual != "$expected" ]] && good=1 ;;
        =~) [[ $actual =~ $expected ]] && good=1 ;;
        *) e2e_fail "e2e_expect: bad operator '$op'"; return 0 ;;
    esac
    if ((good)); then
        e2e_ok "$desc ($actual $op $expected)"
    else
        e2e_fail "$desc: got '$actual', expected $op '$expected'"
    fi
    return 0
}

# e2e_known_issue MSG — a check that fails because of a service bug already reported: it is
# printed as KNOWN ISSUE and does not fail the test, unless E2E_STRICT=1.
e2e_known_issue() {
    if [[ ${E2E_STRICT:-0} == 1 ]]; then
        e2e_fail "$* (known issue; E2E_STRICT=1)"
    else
        E2E_KNOWN=$((${E2E_KNOWN:-0} + 1))
        printf '[%s] KNOWN ISSUE (not counted; E2E_STRICT=1 makes it fail): %s\n' "$E2E_NAME" "$*"
    fi
}

# e2e_fatal MSG — a failure the test cannot go on after: records it and exits.
e2e_fatal() {
    e2e_fail "$*"
    e2e_finish
}

e2e_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed"
    done
}

# e2e_setup NAME — checks the prerequisites, makes the work dir and the run dir, sources
# deploy/stack.sh and installs the EXIT trap.
e2e_setup() {
    E2E_NAME=$1
    set +e # see the note at the top
    if [[ -n ${E2E_TRACE:-} ]]; then
        exec {E2E_TRACE_FD}>>"$E2E_TRACE.$E2E_NAME.$$"
        BASH_XTRACEFD=$E2E_TRACE_FD
        PS4='+ ${EPOCHREALTIME:-} ${BASH_SOURCE[0]##*/}:$LINENO: '
        set -x
    fi
    e2e_need curl redis-cli redis-server date od timeout mktemp awk sed grep sort
    [[ -r $E2E_REPO/deploy/stack.sh ]] || e2e_skip "no $E2E_REPO/deploy/stack.sh"
    if [[ -z ${LEADOPS_BIN:-} ]]; then
        [[ -x $E2E_REPO/build/bin/leadops-ingest ]] || e2e_skip "LEADOPS_BIN is not set and $E2E_REPO/build/bin has no binaries"
        LEADOPS_BIN=$E2E_REPO/build/bin
    fi
    local bin
    for bin in leadops-ingest leadops-scoring leadops-routing leadops-reporting leadopsctl; do
        [[ -x $LEADOPS_BIN/$bin ]] || e2e_skip "$LEADOPS_BIN/$bin not built"
    done
    export LEADOPS_BIN
    # shellcheck disable=SC2034 # used by the tests
    E2E_CTL=$LEADOPS_BIN/leadopsctl
    E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/leadops-$E2E_NAME.XXXXXX")
    # shellcheck source=../../deploy/stack.sh
    . "$E2E_REPO/deploy/stack.sh"
    STACK_QUIET=${STACK_QUIET:-1}
    STACK_CONFIG=$E2E_CONFIG
    export STACK_CONFIG
    stack_init "$E2E_WORK/run" || e2e_skip "stack_init failed"
    trap _e2e_on_exit EXIT
    trap 'exit 130' INT TERM
    e2e_log "work dir $E2E_WORK, binaries $LEADOPS_BIN"
}

_e2e_on_exit() {
    local rc=$?
    trap - EXIT
    set +e # clean up as much as possible, whatever fails
    if [[ -n ${STACK_DIR:-} ]]; then
        local name
        # A process a test stopped (SIGSTOP) would not see SIGTERM.
        for name in $(stack_names 2>/dev/null); do
            stack_is_alive "$name" && kill -CONT "$(stack_pid "$name")" 2>/dev/null
        done
        if ((E2E_FAILURES > 0 || rc != 0)); then
            for name in ingest scoring routing reporting; do
                [[ -s $STACK_DIR/$name.log ]] || continue
                printf '[%s] last lines of %s.log:\n' "$E2E_NAME" "$name"
                stack_log_tail "$name" 15 2>&1
            done
        fi
        if ! stack_stop_all 2>"$E2E_WORK/stop.err"; then
            printf '[%s] FAIL: not every process stopped cleanly on SIGTERM:\n' "$E2E_NAME"
            sed 's/^/    /' "$E2E_WORK/stop.err"
            ((rc == 0 || rc == 77)) && rc=1
        fi
    fi
    if [[ -n $E2E_WORK && -d $E2E_WORK ]]; then
        if ((rc == 0 || rc == 77)) && [[ ${E2E_KEEP:-0} != 1 ]]; then
            rm -rf "$E2E_WORK"
        else
            printf '[%s] kept %s (logs in run/)\n' "$E2E_NAME" "$E2E_WORK"
        fi
    fi
    exit "$rc"
}

# e2e_finish — prints the tally and exits 0 (all checks passed) or 1.
e2e_finish() {
    if ((E2E_FAILURES == 0)); then
        printf '[%s] PASS: %d checks in %d s%s\n' "$E2E_NAME" "$E2E_CHECKS" "$SECONDS" \
            "$( ((${E2E_KNOWN:-0})) && printf ' (%d known issues)' "$E2E_KNOWN")"
        exit 0
    fi
    printf '[%s] FAILED: %d of %d checks in %d s\n' "$E2E_NAME" "$E2E_FAILURES" "$E2E_CHECKS" "$SECONDS"
    exit 1
}

# e2e_start — starts redis and the four services; exports LEADOPS_* so leadopsctl joins this
# stack; sets E2E_INGEST_URL, E2E_REPORTING_URL.
e2e_start() {
    if ! stack_start_all 2>"$E2E_WORK/start.err"; then
        cat "$E2E_WORK/start.err"
        e2e_fatal "the stack did not start"
    fi
    stack_env || e2e_fatal "stack_env failed"
    E2E_INGEST_URL=$(stack_url ingest)
    E2E_REPORTING_URL=$(stack_url reporting)
    e2e_log "stack up: redis :$(stack_port redis), ingest $E2E_INGEST_URL $(stack_endpoint ingest), reporting $E2E_REPORTING_URL, commands $(stack_endpoint commands)"
}

e2e_now_ms() {
    date +%s%3N
}

# --- HTTP ----------------------------------------------------------------------------------

# e2e_http METHOD URL [BODY|@FILE] — sets HTTP_CODE and HTTP_BODY (never fails).
e2e_http() {
    local method=$1 url=$2 out
    local -a data=()
    [[ $# -ge 3 ]] && data=(-H 'Content-Type: application/json' --data-binary "$3")
    out=$(curl -sS --max-time 10 -X "$method" ${data[@]+"${data[@]}"} -w '\n%{http_code}' "$url" 2>&1) || true
    HTTP_CODE=${out##*$'\n'}
    HTTP_BODY=${out%$'\n'*}
    [[ $HTTP_CODE =~ ^[0-9]{3}$ ]] || HTTP_CODE=000
}

# e2e_post PATH BODY — POST to ingest (PATH /v1/leads or /v1/activities).
e2e_post() {
    e2e_http POST "$E2E_INGEST_URL$1" "$2"
}

# e2e_lead ID — prints GET /v1/leads/ID of reporting (empty when not 200).
e2e_lead() {
    e2e_http GET "$E2E_REPORTING_URL/v1/leads/$1"
    [[ $HTTP_CODE == 200 ]] && printf '%s\n' "$HTTP_BODY"
    return 0
}

# e2e_json_str JSON KEY — the first string value of "KEY" (empty when absent or null).
e2e_json_str() {
    local json=${1//$'\n'/ } key=$2
    if [[ $json =~ \"$key\"[[:space:]]*:[[:space:]]*\"(([^\"\\]|\\.)*)\" ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
    fi
}

# e2e_json_num JSON KEY — the first number value of "KEY" (empty when absent or null).
e2e_json_num() {
    stack_json_num "$1" "$2"
}

# e2e_wait_lead ID REGEX TIMEOUT_MS — polls GET /v1/leads/ID until its status matches REGEX
# (anchored). Sets E2E_LEAD (the last answer) and E2E_LEAD_STATUS; returns 1 on timeout.
e2e_wait_lead() {
    local id=$1 want=$2 deadline=$(($(e2e_now_ms) + $3))
    while true; do
        E2E_LEAD=$(e2e_lead "$id")
        E2E_LEAD_STATUS=$(e2e_json_str "$E2E_LEAD" status)
        [[ $E2E_LEAD_STATUS =~ ^($want)$ ]] && return 0
        (($(e2e_now_ms) < deadline)) || return 1
        sleep 0.02
    done
}

# --- Redis ---------------------------------------------------------------------------------

# e2e_redis ARGS... — redis-cli against the stack's redis (raw output).
e2e_redis() {
    stack_redis_cli "$@"
}

# e2e_hget KEY-SUFFIX FIELD — HGET <prefix>:SUFFIX FIELD.
e2e_hget() {
    stack_redis_cli HGET "$E2E_PREFIX:$1" "$2"
}

# e2e_stat NAME — a counter of <prefix>:stats (0 when absent).
e2e_stat() {
    local v
    v=$(e2e_hget stats "$1")
    printf '%s\n' "${v:-0}"
}

# e2e_wait_drained SECONDS — waits until nothing is in flight between the services (both
# in-flight sets empty), at most SECONDS. Sets E2E_IN_SCORING and E2E_IN_ROUTING (what is
# left); returns 1 on timeout.
e2e_wait_drained() {
    local deadline=$((SECONDS + $1))
    while true; do
        E2E_IN_SCORING=$(e2e_redis ZCARD "$E2E_PREFIX:inflight:scoring")
        E2E_IN_ROUTING=$(e2e_redis ZCARD "$E2E_PREFIX:inflight:routing")
        ((E2E_IN_SCORING == 0 && E2E_IN_ROUTING == 0)) && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# e2e_check_capacity — one check per rep: open <= capacity, and the rep's lead set has
# exactly `open` members. Prints the table; sets E2E_OPEN_SUM.
e2e_check_capacity() {
    local rep open capacity members bad=0 table=''
    E2E_OPEN_SUM=0
    for rep in $(stack_redis_cli SMEMBERS "$E2E_PREFIX:reps" | sort); do
        {
            read -r open
            read -r capacity
        } < <(stack_redis_cli HMGET "$E2E_PREFIX:rep:$rep" open capacity)
        members=$(stack_redis_cli SCARD "$E2E_PREFIX:rep:$rep:leads")
        table+=" $rep=$open/$capacity"
        E2E_OPEN_SUM=$((E2E_OPEN_SUM + ${open:-0}))
        if ! [[ $open =~ ^[0-9]+$ && $capacity =~ ^[0-9]+$ ]] || ((open > capacity)); then
            e2e_fail "rep $rep holds $open open leads, capacity $capacity"
            bad=1
        fi
        if [[ $members != "$open" ]]; then
            e2e_fail "rep $rep: open=$open but its lead set has $members members"
            bad=1
        fi
    done
    ((bad)) || e2e_ok "no rep over capacity; open counts match the reps' lead sets (open/capacity:$table)"
}

# e2e_config_get KEY — the first "KEY: value" scalar of the config file (comments dropped).
e2e_config_get() {
    sed -n "s/^[[:space:]]*$1:[[:space:]]*\([^#[:space:]]*\).*/\1/p" "$E2E_CONFIG" | head -n 1
}

# e2e_stage_enter NAME — the score at which a lead enters stage NAME (scoring.stages).
e2e_stage_enter() {
    sed -n "s/.*name:[[:space:]]*$1,[[:space:]]*enter:[[:space:]]*\([-0-9.]*\).*/\1/p" "$E2E_CONFIG" | head -n 1
}

# --- raw ZeroMQ (ZMTP 3.0, NULL mechanism) over bash's /dev/tcp ----------------------------

# e2e_zmtp_send PORT FILE — connects to a ROUTER on 127.0.0.1:PORT as a DEALER, sends one
# message [empty delimiter, contents of FILE] (a raw frame, no validation on our side) and
# prints the reply's last frame with non-printable bytes as '.'. Fails when no reply comes
# within 5 s. Used to send frames leadopsctl would never produce (garbage, oversized).
# shellcheck disable=SC2059 # printf formats built from hex bytes, on purpose
e2e_zmtp_send() (
    local port=$1 file=$2 fd size header len
    trap '' PIPE
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || exit 1
    # Greeting: signature, version 3.0, mechanism "NULL" (20 bytes), as-server 0, filler.
    # Then our READY command with Socket-Type DEALER.
    {
        printf '\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x03\x00NULL'
        printf '\x00%.0s' {1..48}
        printf '\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER'
    } >&"$fd" || exit 1
    # libzmq drops a message that arrives in the same read as the handshake, so read the
    # peer's greeting (64 bytes) and READY command (2-byte header, then the body) first.
    # dd bs=1 never reads past what it is asked for.
    _e2e_read_exact "$fd" 64 >/dev/null || exit 1
    header=$(_e2e_read_exact "$fd" 2 | od -An -tu1) || exit 1
    read -r _ len <<<"$header"
    [[ $len =~ ^[0-9]+$ ]] || exit 1
    _e2e_read_exact "$fd" "$len" >/dev/null || exit 1
    size=$(wc -c <"$file")
    {
        printf '\x01\x00' # empty delimiter, more
        if ((size < 256)); then
            printf '\x00'"\\x$(printf %02x "$size")"
        else
            printf '\x02'
            local i
            for ((i = 56; i >= 0; i -= 8)); do
                printf "\\x$(printf %02x $(((size >> i) & 255)))"
            done
        fi
        cat "$file"
    } >&"$fd" || exit 1
    # The reply: [empty delimiter][envelope]; each frame a flags byte, then a 1- or 8-byte size.
    local frame=0 flags more=1
    while ((more)); do
        header=$(_e2e_read_exact "$fd" 1 | od -An -tu1) || exit 1
        flags=$((header))
        if ((flags & 2)); then
            len=0
            for b in $(_e2e_read_exact "$fd" 8 | od -An -tu1); do len=$((len * 256 + b)); done
        else
            len=$(($(_e2e_read_exact "$fd" 1 | od -An -tu1)))
        fi
        more=$((flags & 1))
        frame=$((frame + 1))
        if ((more)); then
            _e2e_read_exact "$fd" "$len" >/dev/null || exit 1
        else
            _e2e_read_exact "$fd" "$len" | tr -c '[:print:]' '.'
            echo
        fi
    done
    exec {fd}<&-
)

# shellcheck disable=SC2059 # idem
_e2e_read_exact() {
    local fd=$1 n=$2 got
    ((n == 0)) && return 0
    # timeout: a peer that never answers must not hang the test.
    got=$(timeout 5 dd bs=1 count="$n" status=none <&"$fd" | od -An -v -tx1 | tr -d ' \n')
    ((${#got} == 2 * n)) || return 1
    # Re-emit the bytes (od above only checked the count).
    local i out=''
    for ((i = 0; i < ${#got}; i += 2)); do out+="\\x${got:i:2}"; done
    printf "$out"
}
