#!/usr/bin/env bash
# test_ops.sh — the live operations view through the running stack: `leadopsctl report ops
# --json` and GET /v1/ops both show
#  - the four services up, each with the build's version (their heartbeats);
#  - a new lead over HTTP counted under its source and the channel "http" (last 24 h), and
#    under the grade scoring gave it (as the lead hash holds it);
#  - a rejected POST counted under its reason, with a dead letter;
# and the text report prints the services and the rejects.
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup ops
e2e_start
P=$E2E_PREFIX
RUN=$(date +%s%N | tail -c 9)
VERSION=$("$E2E_CTL" --version 2>&1 | awk '{print $2}')

# flat JSON — the view on one line, spaces dropped, for regex checks.
flat() {
    tr -d ' \n' <<<"$1"
}

# check_view WHERE JSON — the checks both views must pass.
check_view() {
    local where=$1 json
    json=$(flat "$2")
    local service up=0
    for service in ingest scoring routing reporting; do
        if [[ $json =~ \{[^{}]*\"name\":\"$service\"[^{}]*\} ]]; then
            local entry=${BASH_REMATCH[0]}
            [[ $entry == *'"up":true'* && $entry == *"\"version\":\"$VERSION\""* ]] && ((up++))
        fi
    done
    e2e_expect "$where: 4 services up with version $VERSION" "$up" -eq 4
    local day=
    [[ $json =~ \"last_24h\":\{(([^{}]|\{[^{}]*\})*)\} ]] && day=${BASH_REMATCH[1]}
    [[ $day =~ \"by_channel\":\{([^}]*)\} ]]
    e2e_expect "$where: last 24 h by channel" "${BASH_REMATCH[1]:-}" = '"http":1'
    [[ $day =~ \"by_source\":\{([^}]*)\} ]]
    e2e_expect "$where: last 24 h by source" "${BASH_REMATCH[1]:-}" = '"referral":1'
    [[ $json =~ \"grades\":\{([^}]*)\} ]]
    e2e_expect "$where: grades" "${BASH_REMATCH[1]:-}" = "\"$GRADE\":1"
    [[ $json =~ \"rejects\":\{([^}]*)\} ]]
    e2e_expect "$where: rejects by reason" "${BASH_REMATCH[1]:-}" = "\"${REASON// /}\":1"
    [[ $json =~ \"deadletter\":([0-9]+) ]]
    e2e_expect "$where: dead letters" "${BASH_REMATCH[1]:-}" -eq 1
}

LEAD=ops-$RUN
e2e_post /v1/leads '{"lead_id":"'"$LEAD"'","email":"'"$LEAD"'@acme-'"$RUN"'.com","company":"Acme","country":"DE","industry":"software","company_size":250,"title":"CTO","source":"referral"}'
e2e_expect "the lead is accepted" "$HTTP_CODE" = 202
e2e_wait_lead "$LEAD" 'assigned|queued|nurture|scored' 5000 || e2e_fail "the lead was not scored"
GRADE=$(e2e_hget "lead:$LEAD" grade)
[[ -n $GRADE ]] || GRADE=none

e2e_post /v1/leads '{"lead_id":'
e2e_expect "a broken body is rejected" "$HTTP_CODE" = 400
REASON=$(e2e_redis HKEYS "$P:rejects" | head -1)
[[ -n $REASON ]] || e2e_fail "no reject reason recorded"

# Heartbeats come every second: give every service time for its first.
sleep 1.5
"$E2E_CTL" report ops --json >"$E2E_WORK/ops.json" 2>&1 || e2e_fail "report ops --json failed"
check_view "report ops --json" "$(cat "$E2E_WORK/ops.json")"

e2e_http GET "$E2E_REPORTING_URL/v1/ops"
e2e_expect "GET /v1/ops" "$HTTP_CODE" = 200
check_view "GET /v1/ops" "$HTTP_BODY"

"$E2E_CTL" report ops >"$E2E_WORK/ops.txt" 2>&1 || e2e_fail "report ops failed"
e2e_expect "report ops prints 4 services up" "$(grep -cE "^(ingest|scoring|routing|reporting) .* up +$VERSION" "$E2E_WORK/ops.txt")" -eq 4
e2e_expect "report ops prints the reject" "$(grep -c "^Rejects .*$REASON 1" "$E2E_WORK/ops.txt")" -eq 1

# A service that stops is down: its last beat ages past 3 s.
stack_stop ingest >/dev/null 2>&1 || e2e_fail "ingest did not stop"
sleep 3.5
"$E2E_CTL" report ops --json >"$E2E_WORK/ops2.json" 2>&1
json=$(flat "$(cat "$E2E_WORK/ops2.json")")
[[ $json =~ \{[^{}]*\"name\":\"ingest\"[^{}]*\} ]]
e2e_expect "a stopped ingest is down" "$([[ ${BASH_REMATCH[0]:-} == *'"up":false'* ]] && echo down)" = down

e2e_finish
