#!/usr/bin/env bash
# test_routing_reload.sh — routing takes a changed config without a restart (SIGHUP), and keeps
# the running one when the new file is broken:
#  1. a rep's capacity changed in the file, a new rep added: both in force after SIGHUP, same
#     pid; the new rep gets leads;
#  2. a file with an unknown key, then one with a time zone that does not exist: each refused
#     with file:line and the reason in the log; the running config stays and leads are still
#     routed.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_setup routing_reload
W=$E2E_WORK
P=$E2E_PREFIX
RUN=$(date +%s%N | tail -c 9)

CONFIG=$W/leadops.yaml
cp "$E2E_CONFIG" "$CONFIG"
E2E_CONFIG=$CONFIG
STACK_CONFIG=$CONFIG
export STACK_CONFIG
e2e_start
ROUTING_PID=$(stack_pid routing)

hup_and_wait() { # PATTERN — SIGHUP routing, wait until its log has PATTERN one more time
    local before
    before=$(grep -c -- "$1" "$STACK_DIR/routing.log")
    kill -HUP "$ROUTING_PID"
    stack_wait_until 5 bash -c "[ \$(grep -c -- '$1' '$STACK_DIR/routing.log') -gt $before ]"
}
lead() { # ID COUNTRY — a lead that qualifies at once (fit 55)
    e2e_post /v1/leads "{\"lead_id\":\"$1\",\"email\":\"$1@acme-$RUN.com\",\"company\":\"Acme\",\"country\":\"$2\",\"industry\":\"software\",\"company_size\":800,\"title\":\"CTO\",\"source\":\"referral\"}"
}

# ---- 1. a good change is taken --------------------------------------------------------------
e2e_expect "rep-elease starts with the file's capacity" "$(e2e_hget rep:rep-elease capacity)" = 30
sed -i 's/\(id: rep-elease,.*capacity: \)30/\15/' "$CONFIG"
sed -i '/id: rep-elease,/{n;s/$/\n    - { id: rep-fiona, name: Fiona New, capacity: 7, queues: [general], status: online }/}' "$CONFIG"
grep -q 'rep-fiona' "$CONFIG" || e2e_fatal "could not add a rep to $CONFIG"
if hup_and_wait 'reload: '; then
    e2e_ok "routing logged the reload: $(grep 'reload: ' "$STACK_DIR/routing.log" | tail -n 1 | cut -c1-160)"
else
    e2e_fail "no reload in the routing log within 5 s"
fi
e2e_expect "rep-elease's capacity is the new one" "$(e2e_hget rep:rep-elease capacity)" = 5
e2e_expect "rep-fiona exists with its capacity" "$(e2e_hget rep:rep-fiona capacity)" = 7
e2e_expect "rep-fiona works the general queue" "$(e2e_redis ZSCORE "$P:queue:general:rr" rep-fiona)" =~ '^[0-9.]+$'
e2e_expect "routing was not restarted" "$(stack_pid routing)" = "$ROUTING_PID"
for i in 1 2 3 4; do lead "g$i-$RUN" JP; done
for i in 1 2 3 4; do e2e_wait_lead "g$i-$RUN" assigned 5000 || e2e_fail "g$i not assigned"; done
fiona=$(e2e_redis SCARD "$P:rep:rep-fiona:leads")
e2e_expect "the new rep got leads of the general queue" "$fiona" -ge 1

# ---- 2. broken files are refused, the running config stays ---------------------------------
cp "$CONFIG" "$W/good.yaml"
sed -i 's/^routing:$/routing:\n  bogus_key: 1/' "$CONFIG"
if hup_and_wait 'reload refused'; then
    line=$(grep 'reload refused' "$STACK_DIR/routing.log" | tail -n 1)
    e2e_expect "the refusal names file:line and the key" "$line" =~ "leadops\\.yaml:[0-9]+: routing\\.bogus_key: unknown key"
else
    e2e_fail "no refusal in the routing log within 5 s"
fi
cp "$W/good.yaml" "$CONFIG"
sed -i 's/\(id: rep-fiona,.*\) }/\1, timezone: Mars\/Olympus }/' "$CONFIG"
if hup_and_wait 'reload refused'; then
    line=$(grep 'reload refused' "$STACK_DIR/routing.log" | tail -n 1)
    e2e_expect "a time zone that does not exist is refused" "$line" =~ 'timezone: "Mars/Olympus" is not a time zone'
else
    e2e_fail "no refusal of the bad time zone within 5 s"
fi
e2e_expect "rep-elease keeps the running capacity" "$(e2e_hget rep:rep-elease capacity)" = 5
lead "after-$RUN" DE
e2e_wait_lead "after-$RUN" assigned 5000 && e2e_ok "leads are still routed after the refused reloads" ||
    e2e_fail "a lead after the refused reloads was not assigned (status $E2E_LEAD_STATUS)"
e2e_expect "routing still runs (same pid)" "$(stack_pid routing)" = "$ROUTING_PID"
e2e_finish
