#!/usr/bin/env bash
# test_pipeline.sh — end to end through the four real services:
#  1. a lead POSTed over HTTP and one sent as a protobuf envelope over ZeroMQ (leadopsctl
#     send) are both "assigned" with a rep in GET /v1/leads/{id} within one second;
#  2. an activity for a known lead raises its engagement and score; the same event id sent
#     again (activity or lead) answers "duplicate" and changes nothing;
#  3. capacity: with the americas reps' capacity made small, more americas leads than they
#     can hold leave no rep over capacity and the rest queued (status and waiting zset);
#     closing a lead of a full rep assigns that rep the best waiting lead at once.
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup pipeline
e2e_start
P=$E2E_PREFIX
RUN=$(date +%s%N | tail -c 9) # keeps ids unique per run, in case a redis is ever reused
LIMIT_MS=1000

# A lead with the given id, country and fit: "high" scores 55 (industry, size, title,
# source, company), "mid" 35 (industry, size, company). Both qualify (threshold 20).
lead_json() {
    local id=$1 country=$2 fit=${3:-high} extra=${4:-}
    local title='"title":"CTO","source":"referral",'
    [[ $fit == high ]] || title='"title":"Analyst","source":"chat",'
    printf '{%s"lead_id":"%s","email":"%s@acme-%s.com","company":"Acme %s","country":"%s","industry":"software","company_size":250,%s"first_name":"T"}' \
        "$extra" "$id" "$id" "$RUN" "$id" "$country" "$title"
}

# ---- 1. speed to assignment, HTTP and ZeroMQ ----------------------------------------------
e2e_log "1. a lead over HTTP and one over ZeroMQ are assigned within $LIMIT_MS ms"
HTTP_LEAD=http-$RUN
HTTP_EVENT=ev-http-$RUN
t0=$(e2e_now_ms)
e2e_post /v1/leads "$(lead_json "$HTTP_LEAD" DE high "\"event_id\":\"$HTTP_EVENT\",")"
e2e_expect "POST /v1/leads answers 202" "$HTTP_CODE" = 202
e2e_expect "the answer says accepted" "$(e2e_json_str "$HTTP_BODY" status)" = accepted
e2e_expect "the answer echoes the event id" "$(e2e_json_str "$HTTP_BODY" event_id)" = "$HTTP_EVENT"
e2e_expect "the answer names the lead" "$(e2e_json_str "$HTTP_BODY" lead_id)" = "$HTTP_LEAD"
if e2e_wait_lead "$HTTP_LEAD" assigned 5000; then
    ms=$(($(e2e_now_ms) - t0))
    rep=$(e2e_json_str "$E2E_LEAD" rep)
    e2e_log "HTTP lead $HTTP_LEAD assigned to $rep, observed $ms ms after the POST was sent (speed_to_lead_ms in Redis: $(e2e_json_num "$E2E_LEAD" speed_to_lead_ms))"
    e2e_expect "HTTP lead assigned within $LIMIT_MS ms" "$ms" -lt "$LIMIT_MS"
    e2e_expect "HTTP lead has a rep" "$rep" =~ '^rep-'
    e2e_expect "HTTP lead went to the emea queue (country DE)" "$(e2e_json_str "$E2E_LEAD" queue)" = emea
else
    e2e_fail "HTTP lead $HTTP_LEAD not assigned after 5 s (status '$E2E_LEAD_STATUS')"
fi

ZMQ_LEAD=zmq-$RUN
ZMQ_EVENT=ev-zmq-$RUN
lead_json "$ZMQ_LEAD" FR high "\"kind\":\"lead\",\"event_id\":\"$ZMQ_EVENT\"," >"$E2E_WORK/one.jsonl"
echo >>"$E2E_WORK/one.jsonl"
t0=$(e2e_now_ms)
if "$E2E_CTL" send "$E2E_WORK/one.jsonl" >"$E2E_WORK/send1.out" 2>&1; then
    e2e_ok "leadopsctl send of a one-line file exits 0: $(grep 'send:' "$E2E_WORK/send1.out")"
else
    e2e_fail "leadopsctl send failed: $(cat "$E2E_WORK/send1.out")"
fi
e2e_expect "leadopsctl send reports 1 accepted" "$(grep -c ': 1 accepted' "$E2E_WORK/send1.out" || true)" -eq 1
if e2e_wait_lead "$ZMQ_LEAD" assigned 5000; then
    ms=$(($(e2e_now_ms) - t0))
    rep=$(e2e_json_str "$E2E_LEAD" rep)
    e2e_log "ZeroMQ lead $ZMQ_LEAD assigned to $rep, observed $ms ms after leadopsctl send started (speed_to_lead_ms in Redis: $(e2e_json_num "$E2E_LEAD" speed_to_lead_ms))"
    e2e_expect "ZeroMQ lead assigned within $LIMIT_MS ms" "$ms" -lt "$LIMIT_MS"
    e2e_expect "ZeroMQ lead has a rep" "$rep" =~ '^rep-'
else
    e2e_fail "ZeroMQ lead $ZMQ_LEAD not assigned after 5 s (status '$E2E_LEAD_STATUS')"
fi

# ---- 2. an activity raises the score; duplicates change nothing ---------------------------
e2e_log "2. an activity raises the score; a re-sent event id is a duplicate and changes nothing"
before=$(e2e_lead "$HTTP_LEAD")
score0=$(e2e_json_num "$before" score)
ACT_EVENT=ev-act-$RUN
ACT='{"event_id":"'$ACT_EVENT'","lead_id":"'$HTTP_LEAD'","type":"demo_request","channel":"web"}'
e2e_post /v1/activities "$ACT"
e2e_expect "POST /v1/activities answers 202" "$HTTP_CODE" = 202
e2e_expect "the activity is accepted" "$(e2e_json_str "$HTTP_BODY" status)" = accepted
deadline=$(($(e2e_now_ms) + 5000))
while true; do
    after=$(e2e_lead "$HTTP_LEAD")
    [[ $(e2e_json_num "$after" activities) == 1 ]] && break
    (($(e2e_now_ms) < deadline)) || break
    sleep 0.02
done
score1=$(e2e_json_num "$after" score)
stored1=$(e2e_hget "lead:$HTTP_LEAD" score) # as of the last event: the view's score decays
engagement1=$(e2e_json_num "$after" engagement)
e2e_log "score of $HTTP_LEAD: $score0 -> $score1 (engagement ${engagement1:-null}, activities $(e2e_json_num "$after" activities))"
e2e_expect "the lead counts 1 activity" "$(e2e_json_num "$after" activities)" -eq 1
# Engagement decays (half-life 14 days): 25 points are 25 to within a thousandth for a while.
e2e_expect "a demo_request raises the score by 25" "$(awk -v a="$score0" -v b="$score1" 'BEGIN { d = b - a - 25; print (d < 0.001 && d > -0.001) ? "yes" : a " -> " b }')" = yes
e2e_expect "engagement is 25" "$(awk -v e="${engagement1:-0}" 'BEGIN { d = e - 25; print (d < 0.001 && d > -0.001) ? 25 : e }')" = 25
e2e_expect "the lead stays assigned to the same rep" "$(e2e_json_str "$after" status)/$(e2e_json_str "$after" rep)" = "assigned/$(e2e_json_str "$before" rep)"

dups0=$(e2e_stat duplicates)
journal0=$(e2e_redis XLEN "$P:journal")
e2e_post /v1/activities "$ACT"
e2e_expect "the same activity event id again answers 202" "$HTTP_CODE" = 202
e2e_expect "... with status duplicate" "$(e2e_json_str "$HTTP_BODY" status)" = duplicate
e2e_post /v1/leads "$(lead_json "$HTTP_LEAD" DE high "\"event_id\":\"$HTTP_EVENT\",")"
e2e_expect "the same lead event id again answers status duplicate" "$(e2e_json_str "$HTTP_BODY" status)" = duplicate
e2e_expect "... naming the lead" "$(e2e_json_str "$HTTP_BODY" lead_id)" = "$HTTP_LEAD"
zmq_before=$(e2e_lead "$ZMQ_LEAD")
zmq_updated=$(e2e_hget "lead:$ZMQ_LEAD" updated_at)
if "$E2E_CTL" send "$E2E_WORK/one.jsonl" >"$E2E_WORK/send2.out" 2>&1; then
    e2e_ok "leadopsctl send of the same file again exits 0: $(grep 'send:' "$E2E_WORK/send2.out")"
else
    e2e_fail "leadopsctl send (again) failed: $(cat "$E2E_WORK/send2.out")"
fi
e2e_expect "re-sent over ZeroMQ: 0 accepted, 1 duplicate" "$(grep -c ': 0 accepted, 1 duplicates' "$E2E_WORK/send2.out" || true)" -eq 1
# Anything a duplicate could have set off (scoring, routing) would be done well within this.
sleep 0.5
again=$(e2e_lead "$HTTP_LEAD")
e2e_expect "score unchanged after the duplicates" "$(e2e_hget "lead:$HTTP_LEAD" score)" = "$stored1"
e2e_expect "activity count unchanged" "$(e2e_json_num "$again" activities)" -eq 1
e2e_expect "status, rep and assigned_at unchanged" \
    "$(e2e_json_str "$again" status)/$(e2e_json_str "$again" rep)/$(e2e_json_num "$again" assigned_at)" = \
    "$(e2e_json_str "$after" status)/$(e2e_json_str "$after" rep)/$(e2e_json_num "$after" assigned_at)"
zmq_after=$(e2e_lead "$ZMQ_LEAD")
e2e_expect "the ZeroMQ lead is unchanged (status/rep/score/assigned_at/updated)" \
    "$(e2e_json_str "$zmq_after" status)/$(e2e_json_str "$zmq_after" rep)/$(e2e_json_num "$zmq_after" score)/$(e2e_json_num "$zmq_after" assigned_at)/$(e2e_hget "lead:$ZMQ_LEAD" updated_at)" = \
    "$(e2e_json_str "$zmq_before" status)/$(e2e_json_str "$zmq_before" rep)/$(e2e_json_num "$zmq_before" score)/$(e2e_json_num "$zmq_before" assigned_at)/$zmq_updated"
e2e_expect "the journal did not grow" "$(e2e_redis XLEN "$P:journal")" -eq "$journal0"
e2e_expect "the duplicates counter rose by 3" "$(e2e_stat duplicates)" -eq $((dups0 + 3))
e2e_expect "the lead's rep still holds it once (open count = lead set)" \
    "$(e2e_hget "rep:$(e2e_json_str "$again" rep)" open)" -eq "$(e2e_redis SCARD "$P:rep:$(e2e_json_str "$again" rep):leads")"

# ---- 2b. identity: the same person under another lead id updates the first lead ----------
e2e_log "2b. a lead with a known email (another lead id) is merged into the first lead"
FIRST="first-$RUN"
SECOND="second-$RUN"
e2e_post /v1/leads '{"lead_id":"'"$FIRST"'","email":"Pat.Lee@merge-'"$RUN"'.example","company":"MergeCo","country":"JP","title":"engineer"}'
e2e_expect "the first lead is new" "$(e2e_json_str "$HTTP_BODY" outcome)" = new
e2e_post /v1/leads '{"lead_id":"'"$SECOND"'","email":"pat.lee@merge-'"$RUN"'.example","title":"CTO","city":"Osaka"}'
e2e_expect "the second answers merged" "$(e2e_json_str "$HTTP_BODY" outcome)" = merged
e2e_expect "... into the first lead's id" "$(e2e_json_str "$HTTP_BODY" lead_id)" = "$FIRST"
e2e_post /v1/activities '{"lead_id":"'"$SECOND"'","type":"form_fill"}'
e2e_expect "an activity for the second id lands on the first lead" "$(e2e_json_str "$HTTP_BODY" lead_id)" = "$FIRST"
if e2e_wait_lead "$FIRST" 'assigned|queued' 2000 &&
    deadline=$(($(e2e_now_ms) + 2000)) &&
    while [[ $(e2e_json_num "$(e2e_lead "$FIRST")" activities) != 1 ]] && (($(e2e_now_ms) < deadline)); do sleep 0.02; done; then
    merged=$(e2e_lead "$FIRST")
    e2e_expect "the newer title won" "$(e2e_json_str "$merged" title)" = CTO
    e2e_expect "the company the second lacked was kept" "$(e2e_json_str "$merged" company)" = MergeCo
    e2e_expect "the city the first lacked was added" "$(e2e_json_str "$merged" city)" = Osaka
    e2e_expect "one activity on the one lead" "$(e2e_json_num "$merged" activities)" -eq 1
    # History: the stage change when the first lead qualified, then the merge's field changes.
    e2e_expect "the field changes are in the lead's history" "$(e2e_redis LRANGE "$P:lead:$FIRST:history" 0 -1 | grep -c '"title"')" -eq 1
    e2e_expect "so is its stage change" "$(e2e_redis LRANGE "$P:lead:$FIRST:history" 0 -1 | grep -c '"stage":\["lead","mql"\]')" -eq 1
    e2e_lead "$SECOND" >/dev/null
    e2e_expect "GET /v1/leads/$SECOND shows the first lead" "$(e2e_json_str "$HTTP_BODY" lead_id)/$(e2e_json_str "$HTTP_BODY" merged_from)" = "$FIRST/$SECOND"
    e2e_expect "no second lead hash" "$(e2e_redis EXISTS "$P:lead:$SECOND")" -eq 0
else
    e2e_fail "the merged lead $FIRST was not routed within 2 s (status ${E2E_LEAD_STATUS:-none})"
fi

# ---- 2c. large and deep bodies under the default limit (1 MiB) -----------------------------
e2e_log "2c. JSON nested 10,000 deep and a 100 MB body are refused; ingest keeps serving"
deep=$(printf '%.0s[' {1..10000})$(printf '%.0s]' {1..10000})
e2e_post /v1/leads "$deep"
e2e_expect "10,000-deep JSON -> 400" "$HTTP_CODE" = 400
e2e_expect "... saying why" "$(e2e_json_str "$HTTP_BODY" error)" != ""
t0=$(e2e_now_ms)
code=$(head -c 100000000 /dev/zero | curl -sS --max-time 60 -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary @- "$E2E_INGEST_URL/v1/leads" 2>/dev/null || true)
e2e_expect "a 100 MB body -> 413 (in $(($(e2e_now_ms) - t0)) ms)" "$code" = 413
e2e_http GET "$E2E_INGEST_URL/healthz"
e2e_expect "ingest still answers" "$HTTP_CODE" = 200

# ---- 3. capacity, queueing, and a close that pulls the next waiting lead ------------------
e2e_log "3. capacity: americas reps made small, then more americas leads than they hold"
# americas is worked by rep-cecily (americas, general) and rep-darcel (americas).
"$E2E_CTL" rep capacity rep-cecily 2 >/dev/null || e2e_fail "leadopsctl rep capacity rep-cecily 2 failed"
"$E2E_CTL" rep capacity rep-darcel 1 >/dev/null || e2e_fail "leadopsctl rep capacity rep-darcel 1 failed"
e2e_expect "rep-darcel's capacity is 1 in Redis" "$(e2e_hget rep:rep-darcel capacity)" -eq 1
free=$((2 - $(e2e_hget rep:rep-cecily open) + 1 - $(e2e_hget rep:rep-darcel open)))
e2e_log "americas has $free free slots; sending $((free + 3)) americas leads (US, CA, BR), one at a time"
ids=()
for ((i = 1; i <= free + 3; i++)); do
    country=(US CA BR)
    id=am-$RUN-$i
    fit=mid
    ((i == free + 3)) && fit=high # the last one, newest but best: it must be pulled first
    e2e_post /v1/leads "$(lead_json "$id" "${country[i % 3]}" "$fit")"
    [[ $HTTP_CODE == 202 ]] || e2e_fail "POST of $id answered $HTTP_CODE: $HTTP_BODY"
    e2e_wait_lead "$id" 'assigned|queued' 5000 || e2e_fail "lead $id neither assigned nor queued after 5 s (status '$E2E_LEAD_STATUS')"
    ids+=("$id")
done
assigned=() queued=()
for id in "${ids[@]}"; do
    case $(e2e_hget "lead:$id" status) in
        assigned) assigned+=("$id") ;;
        queued) queued+=("$id") ;;
        *) e2e_fail "lead $id has status '$(e2e_hget "lead:$id" status)'" ;;
    esac
done
e2e_log "assigned: ${assigned[*]:-none}; queued: ${queued[*]:-none}"
e2e_expect "leads assigned = free americas slots" "${#assigned[@]}" -eq "$free"
e2e_expect "leads queued = the overflow" "${#queued[@]}" -eq 3
e2e_check_capacity
e2e_expect "rep-cecily is full" "$(e2e_hget rep:rep-cecily open)" -eq 2
e2e_expect "rep-darcel is full" "$(e2e_hget rep:rep-darcel open)" -eq 1
for id in ${queued[@]+"${queued[@]}"}; do
    if [[ -n $(e2e_redis ZSCORE "$P:queue:americas:waiting" "$id") ]]; then
        e2e_ok "queued lead $id is in $P:queue:americas:waiting (queue field: $(e2e_hget "lead:$id" queue))"
    else
        e2e_fail "queued lead $id is not in $P:queue:americas:waiting"
    fi
done
e2e_expect "the americas waiting zset holds exactly the queued leads" "$(e2e_redis ZCARD "$P:queue:americas:waiting")" -eq 3
summary=$(stack_summary)
e2e_expect "/v1/summary shows 3 waiting" "$(e2e_json_num "$summary" waiting)" -eq 3

best=$(e2e_redis ZRANGE "$P:queue:americas:waiting" 0 0)
e2e_expect "the best waiting lead is the high-score one, though newest" "$best" = "${ids[-1]}"
victim=$(e2e_redis SRANDMEMBER "$P:rep:rep-darcel:leads")
e2e_log "closing $victim of full rep-darcel; expecting $best to be assigned to rep-darcel at once"
if "$E2E_CTL" rep close rep-darcel "$victim" --outcome won >"$E2E_WORK/close.out" 2>&1; then
    e2e_ok "leadopsctl rep close exits 0: $(tr '\n' ' ' <"$E2E_WORK/close.out")"
else
    e2e_fail "leadopsctl rep close failed: $(cat "$E2E_WORK/close.out")"
fi
# No waiting: the command's reply comes after the assignment was made.
e2e_expect "the closed lead is closed, outcome won" "$(e2e_hget "lead:$victim" status)/$(e2e_hget "lead:$victim" outcome)" = closed/won
e2e_expect "the best waiting lead is assigned right away" "$(e2e_hget "lead:$best" status)" = assigned
e2e_expect "... to rep-darcel" "$(e2e_hget "lead:$best" rep)" = rep-darcel
e2e_expect "the close reply lists the assignment" "$(grep -c "assigned $best (queue americas) to rep-darcel" "$E2E_WORK/close.out" || true)" -eq 1
e2e_expect "it left the waiting zset" "$(e2e_redis ZSCORE "$P:queue:americas:waiting" "$best")" = ""
e2e_expect "2 leads still wait" "$(e2e_redis ZCARD "$P:queue:americas:waiting")" -eq 2
e2e_expect "rep-darcel is full again (open 1)" "$(e2e_hget rep:rep-darcel open)" -eq 1
view=$(e2e_lead "$best")
e2e_expect "GET /v1/leads shows it assigned to rep-darcel" "$(e2e_json_str "$view" status)/$(e2e_json_str "$view" rep)" = assigned/rep-darcel
e2e_check_capacity
e2e_log "counters: $(tr -d ' \n' <<<"$(stack_summary)" | sed 's/,"speed_to_lead_ms.*//')"
e2e_finish
