# shellcheck shell=bash
# stack.sh — a private LeadOps stack on one machine: its own redis-server and the four
# services (ingest, scoring, routing, reporting) on free 127.0.0.1 ports.
#
# Sourced by deploy/leadops and by the end-to-end tests. Sourcing only defines functions and
# a few variables; nothing starts until a function is called. Every function is safe under
# `set -euo pipefail` and returns non-zero with a one-line reason on stderr when it fails.
#
# State lives in a run dir (default $STACK_REPO/.run/<name>):
#   ports.env        STACK_PORT_*=N lines (plain KEY=VALUE, safe to source), so a later shell
#                    (`deploy/leadops status`, `down`) finds the stack again
#   env              `export LEADOPS_...` lines for the stack's ports (`. .run/up/env`)
#   NAME.pid         the pid of NAME (redis, ingest, scoring, routing, reporting, gen, ...)
#   NAME.start       its start time (field 22 of /proc/PID/stat), so a recycled pid is never
#                    mistaken for ours
#   NAME.log         its stdout and stderr
#   redis/           Redis' data dir (appendonly files)
#
# Processes are only ever signalled by their recorded pid, after checking the start time.
# Everything binds 127.0.0.1 only.
#
# Typical use in a test:
#   . deploy/stack.sh
#   stack_init "$(mktemp -d)"        # or: stack_init my-test  ->  .run/my-test
#   trap stack_stop_all EXIT
#   stack_start_all
#   stack_env                        # exports LEADOPS_* for leadopsctl
#   build/bin/leadopsctl gen --count 100 --rate 200 --send "$(stack_endpoint ingest)"
#   stack_kill scoring; stack_start_service scoring
#   stack_json_num "$(stack_summary)" scored
#
# Variables a caller may set before stack_init / stack_start_*:
#   STACK_REPO            repository root (default: the parent of this file's directory)
#   STACK_BIN_DIR         where leadops-* live (default $LEADOPS_BIN, which CTest sets for
#                         e2e tests, else $STACK_REPO/build/bin)
#   STACK_CONFIG          config file (default $STACK_REPO/deploy/leadops.yaml)
#   STACK_REDIS_FSYNC     always | everysec | no (default everysec)
#   STACK_WRAPPER         command prefix for services, e.g. "valgrind --error-exitcode=99"
#   STACK_NICE            the services' nice level, added to the caller's, and the batch
#                         scheduling policy (default 5; 0: neither; Redis keeps the
#                         caller's): on cores they share, Redis goes first
#   STACK_READY_TIMEOUT   seconds to wait for a process to become ready (default 30)
#   STACK_STOP_TIMEOUT    seconds between SIGTERM and SIGKILL (default 5)
#   STACK_QUIET=1         no "starting ..." lines on stderr
#   STACK_SHARED_WORK=1   the scoring and routing hops bound by their senders (">tcp://"):
#                         several scoring and routing instances may connect and share them

_STACK_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${STACK_REPO:=$(dirname "$_STACK_SH_DIR")}"

# The services, in the order they are started; stopped in reverse.
STACK_SERVICES=(reporting routing scoring ingest)
# Port keys: one free port each. Names match the config paths they override.
STACK_PORT_KEYS=(REDIS INGEST SCORING ROUTING COMMANDS EVENTS HTTP_INGEST HTTP_REPORTING)
# Pids of processes this shell started, keyed by run dir and name, for their exit status.
declare -gA _STACK_CHILD=()
_STACK_STATUS=

_stack_say() {
    [[ ${STACK_QUIET:-0} == 1 ]] || printf '%s\n' "$*" >&2
}

_stack_err() {
    printf 'stack: %s\n' "$*" >&2
    return 1
}

_stack_need_dir() {
    [[ -n ${STACK_DIR:-} ]] || _stack_err "no run dir: call stack_init [NAME|DIR] first"
}

_stack_valid_name() {
    [[ $1 =~ ^[a-z][a-z0-9_-]*$ ]] || _stack_err "bad process name '$1' (use lower case letters, digits, - and _)"
}

# stack_init [NAME|DIR] — selects the run dir: a NAME gives $STACK_REPO/.run/NAME, anything
# with a '/' is a directory. Creates it and loads its ports.env when there is one.
stack_init() {
    local arg=${1:-default}
    if [[ $arg == */* ]]; then
        STACK_DIR=$arg
    else
        _stack_valid_name "$arg" || return 1
        STACK_DIR=$STACK_REPO/.run/$arg
    fi
    mkdir -p "$STACK_DIR" || _stack_err "cannot create run dir $STACK_DIR" || return 1
    STACK_DIR=$(cd "$STACK_DIR" && pwd)
    local key
    for key in "${STACK_PORT_KEYS[@]}"; do
        unset "STACK_PORT_$key"
    done
    STACK_REDIS_DIR=
    if [[ -f $STACK_DIR/redis.dir ]]; then
        STACK_REDIS_DIR=$(<"$STACK_DIR/redis.dir")
    fi
    if [[ -f $STACK_DIR/ports.env ]]; then
        stack_load || return 1
    fi
    return 0
}

# stack_load — reads $STACK_DIR/ports.env (written by stack_alloc_ports). It is parsed, not
# sourced: only STACK_PORT_<KEY>=<number> and STACK_REDIS_FSYNC=<word> lines are taken.
stack_load() {
    _stack_need_dir || return 1
    local file=$STACK_DIR/ports.env key value
    [[ -r $file ]] || _stack_err "no $file: this stack was never started" || return 1
    while IFS='=' read -r key value; do
        case $key in
            STACK_PORT_*)
                [[ ${key#STACK_PORT_} =~ ^[A-Z_]+$ && $value =~ ^[0-9]+$ ]] || continue
                printf -v "$key" '%s' "$value"
                ;;
            STACK_REDIS_FSYNC)
                [[ $value =~ ^(always|everysec|no)$ ]] && STACK_REDIS_FSYNC=$value
                ;;
        esac
    done <"$file"
    return 0
}

_stack_save() {
    _stack_need_dir || return 1
    local key var out=$STACK_DIR/ports.env envs=$STACK_DIR/env line
    {
        printf '# LeadOps stack ports, written by deploy/stack.sh; read by deploy/leadops status.\n'
        for key in "${STACK_PORT_KEYS[@]}"; do
            var=STACK_PORT_$key
            [[ -n ${!var:-} ]] && printf '%s=%s\n' "$var" "${!var}"
        done
        printf 'STACK_REDIS_FSYNC=%s\n' "${STACK_REDIS_FSYNC:-everysec}"
    } >"$out.tmp" && mv "$out.tmp" "$out" || _stack_err "cannot write $out" || return 1
    {
        printf '# . this file to point leadopsctl (or anything else) at this stack.\n'
        while IFS= read -r line; do
            printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"
        done < <(_stack_env_lines)
    } >"$envs.tmp" && mv "$envs.tmp" "$envs" || _stack_err "cannot write $envs" || return 1
    return 0
}

# stack_free_port — prints a TCP port that nothing on this machine uses, chosen at random
# below the kernel's ephemeral range (so outgoing connections never take it later), not
# listed in /proc/net/tcp{,6} (or `ss` where /proc is missing) in any state, and claimed
# for 10 minutes in a per-user directory so that concurrent stacks (ctest -j) and repeated
# calls never get the same port.
stack_free_port() {
    local eph_lo=32768 eph_hi=60999 lo hi
    if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
        read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range || true
    fi
    if ((eph_lo - 1 - 15000 >= 2000)); then
        lo=15000 hi=$((eph_lo - 1))
    elif ((65535 - eph_hi >= 2000)); then
        lo=$((eph_hi + 1)) hi=65535
    else
        lo=10000 hi=65535
    fi

    local -A used=()
    local file addr rest port_hex seen_proc=0
    for file in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $file ]] || continue
        seen_proc=1
        while read -r _ addr rest; do
            port_hex=${addr##*:}
            [[ $port_hex =~ ^[0-9A-Fa-f]{4}$ ]] && used[$((16#$port_hex))]=1
        done <"$file"
    done
    if ((!seen_proc)) && command -v ss >/dev/null 2>&1; then
        while read -r _ _ _ addr rest; do
            [[ ${addr##*:} =~ ^[0-9]+$ ]] && used[${addr##*:}]=1
        done < <(ss -Htan 2>/dev/null)
    fi

    local claims uid
    uid=$(id -u)
    claims=${TMPDIR:-/tmp}/leadops-port-claims.$uid
    if mkdir -p "$claims" 2>/dev/null && chmod 700 "$claims" 2>/dev/null && [[ -w $claims ]]; then
        find "$claims" -mindepth 1 -maxdepth 1 -mmin +10 -exec rm -rf {} + 2>/dev/null || true
    else
        claims=
    fi

    local try port
    for ((try = 0; try < 500; try++)); do
        port=$(((RANDOM << 15 | RANDOM) % (hi - lo + 1) + lo))
        [[ -n ${used[$port]:-} ]] && continue
        if [[ -n $claims ]]; then
            mkdir "$claims/$port" 2>/dev/null || continue
        fi
        printf '%s\n' "$port"
        return 0
    done
    _stack_err "no free port found in $lo-$hi after 500 tries"
}

# stack_alloc_ports [--fresh] — gives every port key without a port a free one (with --fresh:
# every key a new one) and writes ports.env and env. Ports already set are kept, so a
# restarted Redis or service comes back where its peers expect it.
# shellcheck disable=SC2120 # --fresh is optional
stack_alloc_ports() {
    _stack_need_dir || return 1
    local key var port
    for key in "${STACK_PORT_KEYS[@]}"; do
        var=STACK_PORT_$key
        [[ ${1:-} == --fresh ]] && unset "$var"
        [[ -n ${!var:-} ]] && continue
        port=$(stack_free_port) || return 1
        printf -v "$var" '%s' "$port"
    done
    _stack_save
}

_stack_have_ports() {
    local key var
    for key in "${STACK_PORT_KEYS[@]}"; do
        var=STACK_PORT_$key
        [[ -n ${!var:-} ]] || return 1
    done
}

# stack_port KEY — prints the port of KEY: redis, ingest, scoring, routing, commands, events,
# http_ingest, http_reporting.
stack_port() {
    local var=STACK_PORT_${1^^}
    var=${var//-/_}
    [[ -n ${!var:-} ]] || _stack_err "no port for '$1' (known: ${STACK_PORT_KEYS[*],,}); call stack_init and stack_alloc_ports" || return 1
    printf '%s\n' "${!var}"
}

# stack_endpoint NAME — prints the ZeroMQ endpoint tcp://127.0.0.1:PORT of ingest, scoring,
# routing, commands or events.
stack_endpoint() {
    local port
    port=$(stack_port "$1") || return 1
    printf 'tcp://127.0.0.1:%s\n' "$port"
}

# stack_url ingest|reporting — prints the base HTTP URL of that service.
stack_url() {
    local port
    port=$(stack_port "http_$1") || return 1
    printf 'http://127.0.0.1:%s\n' "$port"
}

_stack_env_lines() {
    [[ -n ${STACK_PORT_REDIS:-} ]] && printf 'LEADOPS_REDIS_HOST=127.0.0.1\nLEADOPS_REDIS_PORT=%s\n' "$STACK_PORT_REDIS"
    local key var shared
    for key in INGEST SCORING ROUTING COMMANDS EVENTS; do
        var=STACK_PORT_$key
        # STACK_SHARED_WORK=1: the work hops are bound by their senders (">tcp://"), so that
        # several scoring and routing instances can each connect and share the work.
        shared=
        [[ ${STACK_SHARED_WORK:-0} == 1 && ($key == SCORING || $key == ROUTING) ]] && shared='>'
        [[ -n ${!var:-} ]] && printf 'LEADOPS_ENDPOINTS_%s=%stcp://127.0.0.1:%s\n' "$key" "$shared" "${!var}"
    done
    [[ -n ${STACK_PORT_HTTP_INGEST:-} ]] && printf 'LEADOPS_HTTP_INGEST_LISTEN=127.0.0.1:%s\n' "$STACK_PORT_HTTP_INGEST"
    [[ -n ${STACK_PORT_HTTP_REPORTING:-} ]] && printf 'LEADOPS_HTTP_REPORTING_LISTEN=127.0.0.1:%s\n' "$STACK_PORT_HTTP_REPORTING"
    return 0
}

# stack_env — exports LEADOPS_REDIS_*, LEADOPS_ENDPOINTS_* and LEADOPS_HTTP_* for the stack's
# ports into the calling shell, so leadopsctl and hand-started services join this stack.
stack_env() {
    _stack_have_ports || _stack_err "no ports yet: call stack_init and stack_alloc_ports (or stack_start_all)" || return 1
    local line
    while IFS= read -r line; do
        export "${line?}"
    done < <(_stack_env_lines)
}

# --- processes -----------------------------------------------------------------------------

_stack_starttime() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    local -a fields
    read -ra fields <<<"${stat##*) }"
    printf '%s\n' "${fields[19]}"
}

# True when PID runs (not a zombie) and, where /proc tells, started at START.
_stack_proc_ok() {
    local pid=$1 start=${2:-}
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ -r /proc/$pid/stat ]] || return 0
    local stat
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
    local -a fields
    read -ra fields <<<"${stat##*) }"
    [[ ${fields[0]} != Z ]] || return 1
    [[ -z $start || ${fields[19]} == "$start" ]]
}

# stack_pid NAME — prints NAME's recorded pid (alive or not); fails when none is recorded.
stack_pid() {
    _stack_need_dir || return 1
    local file=$STACK_DIR/$1.pid pid
    [[ -r $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$pid"
}

# stack_is_alive NAME — true when NAME's recorded process is running.
stack_is_alive() {
    local pid start=
    pid=$(stack_pid "$1") || return 1
    [[ -r $STACK_DIR/$1.start ]] && start=$(<"$STACK_DIR/$1.start")
    _stack_proc_ok "$pid" "$start"
}

# stack_names — prints the names with a pid file in the run dir, in stop order: extra
# processes (a generator) first, then ingest, scoring, routing, reporting, redis.
stack_names() {
    _stack_need_dir || return 1
    local file name known=" redis ${STACK_SERVICES[*]} "
    for file in "$STACK_DIR"/*.pid; do
        [[ -e $file ]] || continue
        name=${file##*/}
        name=${name%.pid}
        [[ $known == *" $name "* ]] || printf '%s\n' "$name"
    done
    local i
    for ((i = ${#STACK_SERVICES[@]} - 1; i >= 0; i--)); do
        [[ -e $STACK_DIR/${STACK_SERVICES[i]}.pid ]] && printf '%s\n' "${STACK_SERVICES[i]}"
    done
    [[ -e $STACK_DIR/redis.pid ]] && printf 'redis\n'
    return 0
}

# stack_spawn NAME COMMAND [ARGS...] — starts COMMAND in the background in its own session
# (Ctrl-C in the terminal does not reach it: the caller stops it), stdin from /dev/null,
# stdout and stderr appended to NAME.log, with the stack's LEADOPS_* environment. Records
# its pid and start time. Does not wait for readiness.
stack_spawn() {
    _stack_need_dir || return 1
    local name=$1
    shift
    _stack_valid_name "$name" || return 1
    (($# > 0)) || _stack_err "stack_spawn $name: no command" || return 1
    if stack_is_alive "$name"; then
        _stack_err "$name is already running (pid $(stack_pid "$name")); stop it first (stack_stop $name)"
        return 1
    fi
    local pidfile=$STACK_DIR/$name.pid log=$STACK_DIR/$name.log
    rm -f "$pidfile" "$STACK_DIR/$name.start"
    local -a session=() envs=()
    command -v setsid >/dev/null 2>&1 && session=(setsid)
    local line
    while IFS= read -r line; do
        envs+=("$line")
    done < <(_stack_env_lines)
    printf '=== %s stack: starting %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$*" >>"$log"
    # The pid is written by the process itself right before exec, so it is right even when
    # setsid has to fork.
    # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell.
    ${session[@]+"${session[@]}"} env ${envs[@]+"${envs[@]}"} \
        sh -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
        </dev/null >>"$log" 2>&1 &
    _STACK_CHILD[$STACK_DIR/$name]=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s $pidfile ]] && break
        sleep 0.05
    done
    [[ -s $pidfile ]] || _stack_err "$name did not start (no pid after 5 s): see $log" || return 1
    local pid start
    pid=$(<"$pidfile")
    start=$(_stack_starttime "$pid") && printf '%s\n' "$start" >"$STACK_DIR/$name.start"
    return 0
}

# stack_log_tail NAME [LINES] — prints to stderr, indented, the last lines (default 20) that
# NAME logged since its latest start.
stack_log_tail() {
    _stack_need_dir || return 1
    local log=$STACK_DIR/$1.log
    [[ -r $log ]] || return 0
    awk '/^=== .* stack: starting / { n = 0; next } { line[n++] = $0 }
         END { for (i = (n > max ? n - max : 0); i < n; i++) print "    | " line[i] }' \
        max="${2:-20}" "$log" >&2
}

_stack_died() {
    _stack_err "$1 exited during start-up; last lines of $STACK_DIR/$1.log:"
    stack_log_tail "$1"
    return 1
}

# stack_wait_until SECONDS COMMAND [ARGS...] — runs COMMAND every 0.1 s until it succeeds
# (returns 0) or SECONDS pass (returns 1).
stack_wait_until() {
    local limit=$1
    shift
    local deadline=$((SECONDS + limit))
    while true; do
        "$@" && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# Waits until NAME passes CHECK..., failing fast with its log when it dies.
_stack_wait_ready() {
    local name=$1
    shift
    local deadline=$((SECONDS + ${STACK_READY_TIMEOUT:-30}))
    while true; do
        stack_is_alive "$name" || { _stack_died "$name"; return 1; }
        "$@" && return 0
        if ((SECONDS >= deadline)); then
            _stack_err "$name is not ready after ${STACK_READY_TIMEOUT:-30} s; last lines of $STACK_DIR/$name.log:"
            stack_log_tail "$name"
            return 1
        fi
        sleep 0.1
    done
}

# stack_http_get PORT PATH — prints the body of GET http://127.0.0.1:PORT/PATH; fails unless
# the answer is 2xx. Uses curl, or bash's /dev/tcp where curl is missing.
stack_http_get() {
    local port=$1 path=$2
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 3 "http://127.0.0.1:$port$path" 2>/dev/null
        return
    fi
    local status line body='' fd
    { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&"$fd"
    IFS= read -r -t 3 status <&"$fd" || { exec {fd}<&-; return 1; }
    while IFS= read -r -t 3 line <&"$fd"; do
        [[ $line == $'\r' || -z $line ]] && break
    done
    while IFS= read -r -t 3 line <&"$fd"; do
        body+=$line$'\n'
    done
    [[ -n $line ]] && body+=$line
    exec {fd}<&-
    [[ $status =~ ^HTTP/[0-9.]+\ 2[0-9][0-9] ]] || return 1
    printf '%s' "$body"
}

_stack_redis_ping() {
    local port=$1 reply='' fd
    if command -v redis-cli >/dev/null 2>&1; then
        reply=$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) || return 1
    else
        { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
        printf 'PING\r\n' >&"$fd"
        IFS= read -r -t 2 reply <&"$fd" || true
        exec {fd}<&-
        reply=${reply#+}
        reply=${reply%$'\r'}
    fi
    [[ $reply == PONG ]]
}

# stack_redis_cli [ARGS...] — redis-cli against the stack's Redis.
stack_redis_cli() {
    local port
    port=$(stack_port redis) || return 1
    redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# stack_start_redis [DIR [FSYNC]] — starts a private redis-server on 127.0.0.1 (its port is
# kept across restarts of the same stack, so a restarted Redis comes back where the services
# expect it), data in DIR (default $STACK_DIR/redis, or the DIR of its last start),
# appendonly yes, appendfsync FSYNC (always|everysec|no; default $STACK_REDIS_FSYNC or
# everysec), no RDB snapshots, in the foreground of its own session. Returns once it answers
# PING with PONG (so after it has loaded its append-only file).
# Without stack_init, DIR becomes the run dir too.
# shellcheck disable=SC2120 # both arguments are optional
stack_start_redis() {
    local data_dir=${1:-} fsync=${2:-${STACK_REDIS_FSYNC:-everysec}}
    if [[ -z ${STACK_DIR:-} ]]; then
        stack_init "${data_dir:-default}" || return 1
    fi
    data_dir=${data_dir:-${STACK_REDIS_DIR:-$STACK_DIR/redis}}
    case $fsync in
        always | everysec | no) ;;
        *) _stack_err "appendfsync must be always, everysec or no, not '$fsync'" || return 1 ;;
    esac
    command -v redis-server >/dev/null 2>&1 ||
        _stack_err "redis-server not found: install it (apt-get install redis-server redis-tools) or run deploy/leadops demo, which does" ||
        return 1
    mkdir -p "$data_dir" || _stack_err "cannot create $data_dir" || return 1
    data_dir=$(cd "$data_dir" && pwd)
    STACK_REDIS_DIR=$data_dir
    STACK_REDIS_FSYNC=$fsync
    printf '%s\n' "$data_dir" >"$STACK_DIR/redis.dir"

    local fresh_port=0
    if [[ -z ${STACK_PORT_REDIS:-} ]]; then
        STACK_PORT_REDIS=$(stack_free_port) || return 1
        fresh_port=1
    fi
    for _ in 1 2 3; do
        _stack_save || return 1
        _stack_say "starting redis on 127.0.0.1:$STACK_PORT_REDIS (dir $data_dir, appendfsync $fsync)"
        stack_spawn redis redis-server --bind 127.0.0.1 --port "$STACK_PORT_REDIS" \
            --dir "$data_dir" --appendonly yes --appendfsync "$fsync" --save '' \
            --daemonize no --protected-mode yes || return 1
        if _stack_wait_ready redis _stack_redis_ping "$STACK_PORT_REDIS" 2>/dev/null; then
            return 0
        fi
        # Another process may have taken a freshly chosen port in the meantime: try another.
        if ((fresh_port)) && ! stack_is_alive redis &&
            grep -q 'Address already in use' "$STACK_DIR/redis.log" 2>/dev/null; then
            STACK_PORT_REDIS=$(stack_free_port) || return 1
            continue
        fi
        break
    done
    stack_stop redis 2>/dev/null || true
    _stack_err "redis did not answer PING on 127.0.0.1:$STACK_PORT_REDIS; last lines of $STACK_DIR/redis.log:"
    stack_log_tail redis
    return 1
}

# stack_start_service NAME — starts $STACK_BIN_DIR/leadops-NAME --config $STACK_CONFIG with the
# stack's LEADOPS_* overrides, stderr to NAME.log, and waits until it is ready: ingest and
# reporting answer GET /healthz; scoring and routing are still alive after a moment.
stack_start_service() {
    local name=${1:-}
    case $name in
        ingest | scoring | routing | reporting) ;;
        *) _stack_err "unknown service '$name' (ingest, scoring, routing or reporting)" || return 1 ;;
    esac
    _stack_need_dir || return 1
    local bin_dir=${STACK_BIN_DIR:-${LEADOPS_BIN:-$STACK_REPO/build/bin}} config=${STACK_CONFIG:-$STACK_REPO/deploy/leadops.yaml}
    local bin=$bin_dir/leadops-$name
    [[ -x $bin ]] || _stack_err "$bin not found: build first (deploy/leadops build, or cmake -S . -B build && cmake --build build)" || return 1
    [[ -r $config ]] || _stack_err "config $config not readable (set STACK_CONFIG)" || return 1
    _stack_have_ports || stack_alloc_ports || return 1

    # Below Redis: every lead passes through Redis three times, so when the services and
    # Redis share the cores, Redis going first keeps the latency tail short (README: "The
    # pipeline benchmark"): a lower priority, and the batch policy, under which a service
    # waking up does not preempt Redis in the middle of its work.
    local -a wrapper=() extra=()
    local nice_level=${STACK_NICE:-5}
    [[ $nice_level =~ ^[0-9]+$ ]] || _stack_err "STACK_NICE must be 0..19, not '$nice_level'" || return 1
    if ((nice_level > 0)); then
        wrapper=(nice -n "$nice_level")
        command -v chrt >/dev/null && wrapper=(chrt --batch 0 "${wrapper[@]}")
    fi
    [[ -n ${STACK_WRAPPER:-} ]] && read -ra extra <<<"$STACK_WRAPPER"
    wrapper+=(${extra[@]+"${extra[@]}"})
    case $name in
        ingest) _stack_say "starting ingest: zmq $(stack_endpoint ingest), http $(stack_url ingest)" ;;
        scoring) _stack_say "starting scoring: zmq $(stack_endpoint scoring)" ;;
        routing) _stack_say "starting routing: zmq $(stack_endpoint routing), commands $(stack_endpoint commands)" ;;
        reporting) _stack_say "starting reporting: events $(stack_endpoint events), http $(stack_url reporting)" ;;
    esac
    stack_spawn "$name" ${wrapper[@]+"${wrapper[@]}"} "$bin" --config "$config" || return 1
    case $name in
        ingest) _stack_wait_ready ingest stack_http_get "$STACK_PORT_HTTP_INGEST" /healthz >/dev/null ;;
        reporting) _stack_wait_ready reporting stack_http_get "$STACK_PORT_HTTP_REPORTING" /healthz >/dev/null ;;
        *)
            # No health endpoint: a service that cannot read its config, reach Redis or bind
            # its socket exits at once, so being alive after a moment is the signal.
            sleep "${STACK_SETTLE:-0.5}"
            stack_is_alive "$name" || { _stack_died "$name"; return 1; }
            ;;
    esac
}

# stack_start_all — Redis, then reporting, routing, scoring and ingest (consumers before
# producers, so nothing published at start-up goes unheard). Allocates ports on first use.
stack_start_all() {
    _stack_need_dir || return 1
    _stack_have_ports || stack_alloc_ports || return 1
    stack_start_redis || return 1
    local name
    for name in "${STACK_SERVICES[@]}"; do
        stack_start_service "$name" || return 1
    done
}

# stack_stop NAME — SIGTERM to NAME's recorded pid, SIGKILL after STACK_STOP_TIMEOUT (5) s.
# Returns 0 when it ended on SIGTERM (with status 0, where this shell started it and so
# knows), 1 when it had to be killed or exited with another status. Not running: 0.
stack_stop() {
    _stack_need_dir || return 1
    local name=$1 pid start='' limit=${STACK_STOP_TIMEOUT:-5}
    pid=$(stack_pid "$name") || return 0
    [[ -r $STACK_DIR/$name.start ]] && start=$(<"$STACK_DIR/$name.start")
    if ! _stack_proc_ok "$pid" "$start"; then
        _stack_reap "$name" "$pid"
        rm -f "$STACK_DIR/$name.pid" "$STACK_DIR/$name.start"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + limit)) rc=0
    # stderr off: bash would print a "Terminated" job notice for a process that SIGTERM ends.
    {
        while _stack_proc_ok "$pid" "$start" && ((SECONDS < deadline)); do
            sleep 0.05
        done
        _stack_proc_ok "$pid" "$start" || _stack_reap "$name" "$pid"
    } 2>/dev/null
    if _stack_proc_ok "$pid" "$start"; then
        {
            kill -KILL "$pid"
            stack_wait_until 5 _stack_not_running "$pid" "$start"
            _stack_reap "$name" "$pid"
        } 2>/dev/null || true
        _stack_err "$name (pid $pid) did not stop within $limit s of SIGTERM: killed it"
        rc=1
    fi
    if ((rc == 0)) && [[ -n $_STACK_STATUS && $_STACK_STATUS != 0 ]]; then
        _stack_err "$name (pid $pid) exited with status $_STACK_STATUS on SIGTERM; see $STACK_DIR/$name.log"
        rc=1
    fi
    rm -f "$STACK_DIR/$name.pid" "$STACK_DIR/$name.start"
    return "$rc"
}

_stack_not_running() {
    ! _stack_proc_ok "$1" "$2"
}

# Sets _STACK_STATUS to the exit status of NAME when this shell started it as PID (and so
# can wait for it), else to "". Never call it in $(...): a subshell cannot wait for it.
_stack_reap() {
    local key=$STACK_DIR/$1 status=0
    _STACK_STATUS=
    [[ ${_STACK_CHILD[$key]:-} == "$2" ]] || return 0
    unset "_STACK_CHILD[$key]"
    wait "$2" 2>/dev/null || status=$?
    # 127: not our child after all (another shell started it).
    ((status == 127)) || _STACK_STATUS=$status
    return 0
}

# stack_wait NAME [SECONDS] — waits for NAME to exit by itself. Returns its exit status when
# this shell started it (0 when unknown), or 124 when it still runs after SECONDS.
stack_wait() {
    _stack_need_dir || return 1
    local name=$1 limit=${2:-}
    local pid start=
    pid=$(stack_pid "$name") || return 0
    [[ -r $STACK_DIR/$name.start ]] && start=$(<"$STACK_DIR/$name.start")
    if [[ -n $limit ]]; then
        stack_wait_until "$limit" _stack_not_running "$pid" "$start" || return 124
    else
        while _stack_proc_ok "$pid" "$start"; do sleep 0.1; done
    fi
    _stack_reap "$name" "$pid"
    rm -f "$STACK_DIR/$name.pid" "$STACK_DIR/$name.start"
    return "${_STACK_STATUS:-0}"
}

# stack_kill NAME — SIGKILL to NAME's recorded pid (a crash, for chaos tests); returns once
# it is gone.
stack_kill() {
    _stack_need_dir || return 1
    local name=$1 pid start=
    pid=$(stack_pid "$name") || return 0
    [[ -r $STACK_DIR/$name.start ]] && start=$(<"$STACK_DIR/$name.start")
    local gone=1
    if _stack_proc_ok "$pid" "$start"; then
        # stderr off: bash would print its own "Killed" job notice.
        {
            kill -KILL "$pid" || true
            stack_wait_until 5 _stack_not_running "$pid" "$start" || gone=0
            _stack_reap "$name" "$pid"
        } 2>/dev/null
        ((gone)) || _stack_err "$name (pid $pid) still runs 5 s after SIGKILL" || return 1
    fi
    _stack_reap "$name" "$pid"
    rm -f "$STACK_DIR/$name.pid" "$STACK_DIR/$name.start"
    return 0
}

# stack_stop_all — stops everything this run dir recorded (see stack_names for the order),
# Redis last. Returns 1 when any of them had to be killed or exited badly.
stack_stop_all() {
    [[ -n ${STACK_DIR:-} ]] || return 0
    local name rc=0 names
    names=$(stack_names) || return 1
    for name in $names; do
        stack_stop "$name" || rc=1
    done
    return "$rc"
}

# --- reporting ---------------------------------------------------------------------------

# stack_summary — prints reporting's GET /v1/summary JSON.
stack_summary() {
    local port
    port=$(stack_port http_reporting) || return 1
    stack_http_get "$port" /v1/summary
}

# stack_json_num JSON KEY — prints the number after "KEY": in JSON (the first one; keys in
# /v1/summary are unique, nested ones included), or nothing when absent or not a number.
stack_json_num() {
    local json=$1 key=$2
    json=${json//$'\n'/ }
    if [[ $json =~ \"$key\"[[:space:]]*:[[:space:]]*(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?) ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
    fi
}
