#!/usr/bin/env bash
# test_bad_input.sh — bad input is answered, not fatal (DESIGN.md invariant 5):
#  - HTTP: invalid JSON, a non-object, missing lead_id, no email and no company, an unknown
#    activity type, a wrongly typed field, a bad email -> 400 with a reason; a mixed array ->
#    207; a body over ingest.max_body_bytes (made small for this stack) -> 413;
#  - ZeroMQ: a garbage frame and an oversized frame (raw, over /dev/tcp) and an invalid lead
#    via leadopsctl send -> a REJECTED ack with a reason;
#  - the "rejected" counter (/v1/summary, /metrics) and the dead-letter stream rise by the
#    number of rejections; every service is still running and a good lead is still assigned;
#  - a config file with an error makes leadops-routing exit 2 naming FILE:LINE: key.
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup bad_input
MAX_BODY=4096
export LEADOPS_INGEST_MAX_BODY_BYTES=$MAX_BODY
e2e_start
P=$E2E_PREFIX
RUN=$(date +%s%N | tail -c 9)

metrics_rejected() {
    curl -fsS --max-time 5 "$E2E_REPORTING_URL/metrics" 2>/dev/null |
        awk '/^leadops_rejected_total[{ ]/ { s += $NF } END { print s + 0 }'
}
summary_rejected() {
    e2e_json_num "$(stack_summary)" rejected
}

rej0=$(summary_rejected)
dead0=$(e2e_redis XLEN "$P:deadletter")
bus0=$(metrics_rejected)
e2e_log "before: rejected=$rej0 (summary), $bus0 (metrics, bus), dead letters $dead0; ingest.max_body_bytes=$MAX_BODY"
REJECTS=0 # rejections that must be counted

# expect_reject DESC PATH BODY CODE REASON-REGEX — POSTs BODY and checks the answer.
expect_reject() {
    local desc=$1 path=$2 body=$3 code=$4 reason_re=$5 reason
    e2e_post "$path" "$body"
    reason=$(e2e_json_str "$HTTP_BODY" reason)
    [[ -n $reason ]] || reason=$(e2e_json_str "$HTTP_BODY" error)
    if [[ $HTTP_CODE == "$code" && $reason =~ $reason_re ]]; then
        e2e_ok "$desc -> $HTTP_CODE \"$reason\""
    else
        e2e_fail "$desc: expected $code with a reason matching /$reason_re/, got $HTTP_CODE $HTTP_BODY"
    fi
}

e2e_log "HTTP: each bad request gets a 4xx and a reason"
expect_reject "invalid JSON" /v1/leads '{"lead_id": "x", "email": ' 400 'invalid JSON'
expect_reject "a JSON number, not an object" /v1/leads '42' 400 'JSON'
expect_reject "lead without lead_id" /v1/leads '{"email":"a@b.com","company":"Acme"}' 400 'lead_id'
expect_reject "lead with an empty lead_id" /v1/leads '{"lead_id":"","email":"a@b.com"}' 400 'lead_id'
expect_reject "lead without email and company" /v1/leads '{"lead_id":"nocontact-'"$RUN"'","country":"DE"}' 400 'email.*company'
expect_reject "activity of an unknown type" /v1/activities '{"lead_id":"x-'"$RUN"'","type":"teleport"}' 400 "unknown activity type 'teleport'"
expect_reject "activity without lead_id" /v1/activities '{"type":"page_view"}' 400 'lead_id'
expect_reject "company_size that is not a number" /v1/leads '{"lead_id":"t-'"$RUN"'","company":"A","company_size":"big"}' 400 'company_size'
expect_reject "an email that is not an address" /v1/leads '{"lead_id":"e-'"$RUN"'","email":"not-an-email"}' 400 'email'
expect_reject "event_id that is not a string" /v1/leads '{"event_id":7,"lead_id":"n-'"$RUN"'","company":"A"}' 400 'event_id'
REJECTS=$((REJECTS + 10))
# Issue 3's list: invalid UTF-8, deep nesting, times, amounts.
expect_reject "invalid UTF-8" /v1/leads $'{"lead_id":"u-'"$RUN"$'","company":"Ac\xff\xfeme"}' 400 'invalid JSON'
expect_reject "an unparseable date" /v1/leads '{"lead_id":"d-'"$RUN"'","company":"A","created_at":"yesterday"}' 400 'created_at'
expect_reject "a date far in the future" /v1/leads '{"lead_id":"f-'"$RUN"'","company":"A","created_at":"2999-01-01T00:00:00Z"}' 400 'in the future'
expect_reject "a negative deal value" /v1/activities '{"lead_id":"x-'"$RUN"'","type":"deal_won","value":-10}' 400 'must not be negative'
REJECTS=$((REJECTS + 4))
nothing=$(e2e_lead "t-$RUN")$(e2e_lead "e-$RUN")$(e2e_lead "nocontact-$RUN")
e2e_expect "no rejected lead reached the lead state" "$nothing" = ""

e2e_post /v1/leads '[{"lead_id":"mix-ok-'"$RUN"'","company":"Acme","country":"DE"},{"lead_id":"mix-bad-'"$RUN"'"}]'
e2e_expect "an array with one good and one bad lead -> 207" "$HTTP_CODE" = 207
e2e_expect "... 1 accepted, 1 rejected" "$(e2e_json_num "$HTTP_BODY" accepted)/$(e2e_json_num "$HTTP_BODY" rejected)" = 1/1
REJECTS=$((REJECTS + 1))

head -c $((MAX_BODY + 100)) /dev/zero | tr '\0' ' ' >"$E2E_WORK/big.json"
printf '{"lead_id":"big-%s","company":"Acme"}' "$RUN" >>"$E2E_WORK/big.json"
e2e_http POST "$E2E_INGEST_URL/v1/leads" "@$E2E_WORK/big.json"
e2e_expect "a body of $(wc -c <"$E2E_WORK/big.json") bytes (limit $MAX_BODY) -> 413" "$HTTP_CODE" = 413
e2e_log "413 answer: $HTTP_BODY"
e2e_expect "... and the lead in it was not taken" "$(e2e_lead "big-$RUN")" = ""
e2e_http GET "$E2E_INGEST_URL/v1/leads"
e2e_expect "GET /v1/leads on ingest -> 405" "$HTTP_CODE" = 405
e2e_http POST "$E2E_INGEST_URL/v1/nothing" '{}'
e2e_expect "POST to an unknown path -> 404" "$HTTP_CODE" = 404

e2e_log "ZeroMQ: raw frames to ingest's ROUTER (as a DEALER peer), and leadopsctl send"
ingest_port=$(stack_port ingest)
printf 'this is not a protobuf envelope \x01\x02\xff' >"$E2E_WORK/garbage.bin"
if reply=$(e2e_zmtp_send "$ingest_port" "$E2E_WORK/garbage.bin"); then
    e2e_expect "a garbage frame is answered with a reason" "$reply" =~ 'malformed envelope'
else
    e2e_fail "no ZeroMQ reply to a garbage frame"
fi
head -c $((MAX_BODY + 1)) /dev/zero | tr '\0' 'x' >"$E2E_WORK/oversized.bin"
if reply=$(e2e_zmtp_send "$ingest_port" "$E2E_WORK/oversized.bin"); then
    e2e_expect "a $((MAX_BODY + 1))-byte frame is answered with a reason" "$reply" =~ "frame of $((MAX_BODY + 1)) bytes exceeds ingest.max_body_bytes"
else
    e2e_fail "no ZeroMQ reply to an oversized frame"
fi
REJECTS=$((REJECTS + 2))
printf '{"kind":"lead","lead_id":"zmq-bad-%s","country":"DE"}\n' "$RUN" >"$E2E_WORK/bad.jsonl"
rc=0
"$E2E_CTL" send "$E2E_WORK/bad.jsonl" >"$E2E_WORK/send.out" 2>&1 || rc=$?
e2e_expect "leadopsctl send of a lead without email/company exits 1" "$rc" -eq 1
e2e_expect "... reporting 1 rejected" "$(grep -c ': 0 accepted, 0 duplicates, 1 rejected' "$E2E_WORK/send.out" || true)" -eq 1
e2e_expect "... printing the reason" "$(grep -c 'a lead needs an identity' "$E2E_WORK/send.out" || true)" -eq 1
REJECTS=$((REJECTS + 1))
# Invalid JSON is refused by leadopsctl itself and never sent: not counted by ingest.
printf '{"kind":"lead", "lead_id": \n' >"$E2E_WORK/unreadable.jsonl"
rc=0
"$E2E_CTL" send "$E2E_WORK/unreadable.jsonl" >"$E2E_WORK/send2.out" 2>&1 || rc=$?
e2e_expect "leadopsctl send of an unreadable line exits 1 and says so" "$rc/$(grep -c '1 unreadable lines' "$E2E_WORK/send2.out" || true)" = 1/1

e2e_log "counters: $REJECTS rejections must be counted"
# The oversized HTTP body (413) is bad input like the others: counted too.
REJECTS=$((REJECTS + 1))
e2e_expect "/v1/summary rejected rose by $REJECTS, the 413 included" "$(($(summary_rejected) - rej0))" -eq "$REJECTS"
dead=$(($(e2e_redis XLEN "$P:deadletter") - dead0))
e2e_expect "the dead-letter stream grew by the counted rejections" "$dead" -ge "$REJECTS"
# The bus is asynchronous: poll /metrics for a few seconds.
deadline=$((SECONDS + 10))
while bus=$(metrics_rejected) && ((bus - bus0 < REJECTS && SECONDS < deadline)); do sleep 0.1; done
e2e_expect "/metrics leadops_rejected_total (sum over reasons) rose by $REJECTS" "$((bus - bus0))" -ge "$REJECTS"
stat_metric=$(curl -fsS --max-time 5 "$E2E_REPORTING_URL/metrics" | sed -n 's/^leadops_stats_total{stat="rejected"} //p')
e2e_expect "/metrics leadops_stats_total{stat=\"rejected\"} equals the summary" "$stat_metric" = "$(summary_rejected)"
reasons=$(curl -fsS --max-time 5 "$E2E_REPORTING_URL/metrics" | grep -c '^leadops_rejected_total{reason=' || true)
e2e_log "/metrics has $reasons distinct rejection reasons"
# Dead letters must never carry personal fields (keys.h): send invalid JSON whose error
# message would quote an email address.
e2e_post /v1/leads '{"lead_id":"pii-'"$RUN"'","email" "jo@pii.io"}'
e2e_expect "invalid JSON with an email right after a key -> 400" "$HTTP_CODE" = 400
e2e_log "its answer: $HTTP_BODY"
dead_letters=$(e2e_redis XRANGE "$P:deadletter" - +)
if [[ $dead_letters == *jo@pii.io* ]]; then
    e2e_fail "a dead letter quotes an email address of the refused input: $(e2e_redis XREVRANGE "$P:deadletter" + - COUNT 1 | sed -n 3p)"
else
    e2e_ok "no dead letter carries the email address (last reason stored: \"$(e2e_redis XREVRANGE "$P:deadletter" + - COUNT 1 | sed -n 3p)\")"
fi
deadline=$((SECONDS + 10))
while bus=$(metrics_rejected) && ((bus - bus0 < REJECTS + 1 && SECONDS < deadline)); do sleep 0.1; done
metrics=$(curl -fsS --max-time 5 "$E2E_REPORTING_URL/metrics")
if [[ $metrics == *jo@pii.io* ]]; then
    e2e_fail "/metrics quotes an email address of a refused input: $(grep -m1 'jo@pii' <<<"$metrics")"
else
    e2e_ok "/metrics does not quote the email address"
fi

e2e_log "still alive, and a good lead still gets assigned"
for name in ingest scoring routing reporting; do
    if stack_is_alive "$name"; then e2e_ok "$name still runs"; else e2e_fail "$name died"; fi
done
GOOD=good-$RUN
e2e_post /v1/leads '{"lead_id":"'"$GOOD"'","email":"cto@good-'"$RUN"'.com","company":"Good","industry":"software","company_size":300,"title":"CTO","country":"US"}'
e2e_expect "a good lead afterwards -> 202" "$HTTP_CODE" = 202
t0=$(e2e_now_ms)
if e2e_wait_lead "$GOOD" assigned 5000; then
    e2e_ok "the good lead is assigned to $(e2e_json_str "$E2E_LEAD" rep) ($(($(e2e_now_ms) - t0)) ms after its 202)"
else
    e2e_fail "the good lead is not assigned after 5 s (status '$E2E_LEAD_STATUS')"
fi
e2e_expect "the mixed array's good lead was processed too" "$(e2e_json_str "$(e2e_lead "mix-ok-$RUN")" status)" =~ '^(scored|assigned|queued)$'

e2e_log "a config file with an error: leadops-routing exits 2 naming FILE:LINE: key"
BAD=$E2E_WORK/bad-config.yaml
cp "$E2E_CONFIG" "$BAD"
line=$(grep -n 'id: rep-boris' "$BAD" | head -n 1 | cut -d: -f1)
[[ -n $line ]] || e2e_fatal "no rep-boris line in $E2E_CONFIG"
sed -i "${line}s/capacity: *[0-9]*/capacity: lots/" "$BAD"
e2e_log "line $line now: $(sed -n "${line}p" "$BAD")"
rc=0
timeout 20 "$LEADOPS_BIN/leadops-routing" --config "$BAD" >"$E2E_WORK/bad.out" 2>"$E2E_WORK/bad.err" || rc=$?
e2e_log "stderr: $(head -n 1 "$E2E_WORK/bad.err")"
e2e_expect "leadops-routing exits 2" "$rc" -eq 2
e2e_expect "stderr names $BAD:$line: and the key" "$(head -n 1 "$E2E_WORK/bad.err")" =~ "$BAD:$line: [^ ]*capacity: "
rc=0
LEADOPS_ROUTING_REPS_0_CAPACITY=lots timeout 20 "$LEADOPS_BIN/leadops-routing" --config "$E2E_CONFIG" >/dev/null 2>"$E2E_WORK/env.err" || rc=$?
e2e_expect "a bad LEADOPS_ROUTING_REPS_0_CAPACITY makes it exit 2" "$rc" -eq 2
e2e_expect "... naming the variable" "$(head -n 1 "$E2E_WORK/env.err")" =~ 'LEADOPS_ROUTING_REPS_0_CAPACITY'
e2e_expect "the running routing is unaffected" "$(stack_is_alive routing && echo alive)" = alive
e2e_finish
