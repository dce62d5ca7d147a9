#!/usr/bin/env bash
# test_routing_cmds.sh — rep commands, accounts and the routing audit through the real
# services:
#  1. `leadopsctl account import` makes rep-darcel the owner of a company's domain; a lead
#     from that domain (americas, owner_first) goes to rep-darcel;
#  2. `rep accept` marks it accepted; `rep reject` moves it to the other americas rep and the
#     reply lists that assignment; accepting it again is refused (exit 1, with the reason);
#  3. `leadopsctl explain` shows rep-darcel passed over as already_tried; GET
#     /v1/leads/ID/audit answers 200 with the decisions (404 for an unknown lead);
#  4. `rep reassign`, `rep caps`, `rep away` do what they say; bad arguments exit 2.
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup routing_cmds
e2e_start
P=$E2E_PREFIX
RUN=$(date +%s%N | tail -c 9)
DOMAIN=acme-$RUN.com
LEAD=cmds-$RUN

# ---- 1. an account owner gets its account's lead ------------------------------------------
e2e_log "1. accounts: $DOMAIN belongs to rep-darcel"
printf 'domain,name,owner\nhttps://www.%s/,Acme %s,rep-darcel\nnot a domain,Broken,rep-darcel\n' \
    "${DOMAIN^^}" "$RUN" >"$E2E_WORK/accounts.csv"
"$E2E_CTL" account import "$E2E_WORK/accounts.csv" >"$E2E_WORK/import.out" 2>&1
e2e_expect "account import exits 1 (a row skipped)" "$?" -eq 1
e2e_expect "the bad row is named by its line" "$(grep -c 'accounts.csv:3: skipped: "not a domain" is not a domain' "$E2E_WORK/import.out")" -eq 1
e2e_expect "the summary counts it" "$(grep -c '2 rows, 1 imported, 1 skipped' "$E2E_WORK/import.out")" -eq 1
e2e_expect "the domain is stored normalized" "$(e2e_hget "account:$DOMAIN" owner)" = rep-darcel

e2e_post /v1/leads "{\"lead_id\":\"$LEAD\",\"email\":\"ada@$DOMAIN\",\"company\":\"Acme\",\"country\":\"US\",\"industry\":\"software\",\"company_size\":250,\"title\":\"CTO\",\"source\":\"referral\",\"first_name\":\"T\"}"
e2e_expect "POST /v1/leads answers 202" "$HTTP_CODE" = 202
if ! e2e_wait_lead "$LEAD" assigned 5000; then
    e2e_fatal "lead $LEAD not assigned after 5 s (status '$E2E_LEAD_STATUS')"
fi
e2e_expect "the lead went to its account's owner" "$(e2e_json_str "$E2E_LEAD" rep)" = rep-darcel
e2e_expect "... as the account's lead" "$(e2e_hget "lead:$LEAD" account)" = "Acme $RUN"

# ---- 2. accept, reject ---------------------------------------------------------------------
e2e_log "2. rep-darcel accepts, then rejects the lead"
out=$("$E2E_CTL" rep accept rep-darcel "$LEAD" 2>&1)
e2e_expect "rep accept exits 0" "$?" -eq 0
e2e_expect "... and prints the answer" "$out" = "ok: accepted"
e2e_expect "the lead is accepted" "$(e2e_hget "lead:$LEAD" accepted)" = 1

out=$("$E2E_CTL" rep reject rep-darcel "$LEAD" --reason "not my territory" 2>&1)
e2e_expect "rep reject exits 0" "$?" -eq 0
e2e_expect "... and lists the new assignment" "$out" =~ "assigned $LEAD \\(queue americas\\) to rep-cecily: account owner rep-darcel already_tried"
e2e_expect "the lead is with rep-cecily" "$(e2e_hget "lead:$LEAD" rep)" = rep-cecily

out=$("$E2E_CTL" rep accept rep-darcel "$LEAD" 2>&1)
e2e_expect "accepting a lead it no longer holds exits 1" "$?" -eq 1
e2e_expect "... saying why" "$out" =~ "refused: lead $LEAD is not open with rep rep-darcel"

# ---- 3. explain and the audit API ----------------------------------------------------------
e2e_log "3. explain and GET /v1/leads/ID/audit"
out=$("$E2E_CTL" explain "$LEAD" 2>&1)
e2e_expect "explain exits 0" "$?" -eq 0
e2e_expect "it shows the route to the owner" "$(grep -c "→ rep-darcel: account owner$" <<<"$out")" -eq 1
e2e_expect "it shows the rejection" "$(grep -c "taken from rep-darcel: rejected by rep-darcel: not my territory" <<<"$out")" -eq 1
e2e_expect "rep-darcel was passed over as already tried" "$(grep -c "✗ rep-darcel  *already_tried (account owner)" <<<"$out")" -eq 1
e2e_expect "rep-cecily was chosen" "$(grep -c "→ rep-cecily: " <<<"$out")" -eq 1
e2e_expect "the accept is there too" "$(grep -c "accepted by rep-darcel" <<<"$out")" -eq 1

e2e_http GET "$E2E_REPORTING_URL/v1/leads/$LEAD/audit"
e2e_expect "GET /v1/leads/ID/audit answers 200" "$HTTP_CODE" = 200
e2e_expect "... for the lead" "$(e2e_json_str "$HTTP_BODY" lead_id)" = "$LEAD"
e2e_expect "... with 3 decisions (route, accept, rejected)" "$(grep -c '"op":' <<<"$HTTP_BODY")" -eq 3
e2e_expect "... the rejection among them" "$(grep -c '"op": "rejected"' <<<"$HTTP_BODY")" -eq 1
e2e_http GET "$E2E_REPORTING_URL/v1/leads/nobody-$RUN/audit"
e2e_expect "an unknown lead's audit answers 404" "$HTTP_CODE" = 404
"$E2E_CTL" explain "nobody-$RUN" >/dev/null 2>&1
e2e_expect "explain of an unknown lead exits 1" "$?" -eq 1

# ---- 4. reassign, caps, away, usage errors --------------------------------------------------
e2e_log "4. reassign, caps, away"
out=$("$E2E_CTL" rep reassign "$LEAD" --to rep-darcel --by e2e 2>&1)
e2e_expect "rep reassign exits 0" "$?" -eq 0
e2e_expect "... and lists the assignment" "$out" =~ "assigned $LEAD \\(queue americas\\) to rep-darcel: reassigned by e2e"
e2e_expect "the lead is back with rep-darcel" "$(e2e_hget "lead:$LEAD" rep)" = rep-darcel

"$E2E_CTL" rep caps rep-cecily --daily 5 --weekly 20 >/dev/null 2>&1
e2e_expect "rep caps exits 0" "$?" -eq 0
e2e_expect "the caps are set" "$(e2e_hget rep:rep-cecily daily_cap)/$(e2e_hget rep:rep-cecily weekly_cap)" = 5/20
"$E2E_CTL" rep away rep-cecily >/dev/null 2>&1
e2e_expect "rep away exits 0" "$?" -eq 0
e2e_expect "rep-cecily is away" "$(e2e_hget rep:rep-cecily status)" = away

"$E2E_CTL" rep caps rep-cecily --daily 5 >/dev/null 2>&1
e2e_expect "rep caps without --weekly exits 2" "$?" -eq 2
"$E2E_CTL" rep close rep-darcel "$LEAD" --outcome maybe >/dev/null 2>&1
e2e_expect "rep close with an unknown outcome exits 2" "$?" -eq 2
out=$("$E2E_CTL" rep close rep-darcel "$LEAD" --outcome won 2>&1)
e2e_expect "rep close --outcome won exits 0" "$?" -eq 0
e2e_expect "the lead is closed, won" "$(e2e_hget "lead:$LEAD" status)/$(e2e_hget "lead:$LEAD" outcome)" = closed/won
e2e_finish
