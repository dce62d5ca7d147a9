#!/usr/bin/env bash
# test_plan.sh — planning and commissions on the Maven CRM pipeline (LEADOPS_DATA_DIR/maven_crm,
# else ../shared/data; skipped with 77 when absent), imported into a stack running
# deploy/maven.yaml (35 agents in office queues plus a shared one, 5 leads a day and 20 a week
# each) with two commission plans added:
#  1. `leadopsctl report plan` prints, per queue, the demand forecast for 8 weeks against the
#     capacity, the gap, a chart and advice, with the MAPE of a back-test; the Maven history
#     has opportunities, not routed leads, so every queue is planned on its reps' opportunities
#     (all 8,300 with an engage date, each rep's split over its two queues); the capacity is the
#     weekly cap shared out (central 11 reps x 20 / 2 = 110); the history spans the file's
#     first engage date to its last close date; won and lost deals are the file's; --weeks
#     changes the horizon and a bad count is refused;
#  2. GET /v1/plan answers the same as JSON (400 for a bad weeks);
#  3. `report commissions` for March 2017 pays one agent what the tiers give on the file's
#     deals (worked out here with awk), every won deal of the month is under a plan, and
#     GET /v1/commissions agrees (400 for a bad date).
set -uo pipefail # not -e: see lib.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATA=
for dir in "${LEADOPS_DATA_DIR:-}" "$E2E_REPO/../shared/data" /work/shared/data; do
    if [[ -n $dir && -r $dir/maven_crm/sales_pipeline.csv ]]; then
        DATA=$dir
        break
    fi
done
[[ -n $DATA ]] || e2e_skip "no maven_crm/sales_pipeline.csv (set LEADOPS_DATA_DIR)"
PIPELINE=$DATA/maven_crm/sales_pipeline.csv

e2e_setup plan
"$E2E_CTL" report plan --help >/dev/null 2>&1 || e2e_skip "leadopsctl has no 'report plan' command"

# deploy/maven.yaml with its commissions section replaced by two plans: premium GTX
# products, and everything else.
CONFIG=$E2E_WORK/maven-plan.yaml
awk '/^commissions:/ { skip = 1; next } /^[a-z]/ { skip = 0 } !skip' "$E2E_REPO/deploy/maven.yaml" >"$CONFIG"
cat >>"$CONFIG" <<'EOF'
commissions:
  period: month
  plans:
    - {name: gtx-premium, rate: 0.06, quota: 20000, products: [GTX Plus Pro, GTXPro],
       accelerators: [{above: 1.0, rate: 0.09}, {above: 1.5, rate: 0.12}]}
    - {name: standard, rate: 0.05, quota: 15000,
       accelerators: [{above: 1.0, rate: 0.08}, {above: 2.0, rate: 0.10}]}
EOF
STACK_CONFIG=$CONFIG
E2E_CONFIG=$CONFIG
export STACK_CONFIG
e2e_start
P=$E2E_PREFIX
ctl() {
    "$E2E_CTL" --config "$CONFIG" "$@"
}

# kpi_sum METRIC — the sum of every "<rep>|METRIC" field over the KPI day hashes.
kpi_sum() {
    e2e_redis EVAL "local n = 0
        for _, day in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
            local fields = redis.call('HGETALL', ARGV[1] .. day)
            for i = 1, #fields, 2 do
                if string.sub(fields[i], -#ARGV[2] - 1) == '|' .. ARGV[2] then
                    n = n + tonumber(fields[i + 1])
                end
            end
        end
        return n" 1 "$P:kpi:days" "$P:kpi:d:" "$1"
}

# ---- the file's own answers ----------------------------------------------------------------
# Columns: opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value
read -r WON LOST ENGAGED OPEN FIRST_ENGAGE LAST_CLOSE < <(awk -F, 'NR > 1 {
        won += $5 == "Won"; lost += $5 == "Lost"; open += $5 == "Engaging" || $5 == "Prospecting"
        if ($6 != "") { engaged++; if (first == "" || $6 < first) first = $6 }
        if ($7 > last) last = $7
    } END { print won, lost, engaged, open, first, last }' "$PIPELINE")
e2e_log "the file: $WON won, $LOST lost, $ENGAGED with an engage date, $OPEN open; engaged from $FIRST_ENGAGE, closed until $LAST_CLOSE"

t0=$(e2e_now_ms)
ctl import "$PIPELINE" --map "$E2E_REPO/deploy/mappings/maven_pipeline.yaml" --max >"$E2E_WORK/import.out" 2>&1
e2e_expect "the pipeline imports (exit 0)" "$?" -eq 0
deadline=$((SECONDS + 120))
while (($(e2e_redis XLEN "$P:deals") < WON + LOST || $(kpi_sum opportunities) < OPEN)) && ((SECONDS < deadline)); do
    sleep 0.2
done
e2e_expect "every won and lost deal is in the deal stream" "$(e2e_redis XLEN "$P:deals")" -eq $((WON + LOST))
e2e_expect "every open opportunity counts in the KPIs" "$(kpi_sum opportunities)" -eq "$OPEN"
e2e_log "imported and applied in $(($(e2e_now_ms) - t0)) ms"

# ---- 1. report plan ------------------------------------------------------------------------
e2e_log "1. leadopsctl report plan"
ctl report plan >"$E2E_WORK/plan.out" 2>&1
e2e_expect "report plan exits 0" "$?" -eq 0
sed 's/^/    /' "$E2E_WORK/plan.out"
PLAN=$E2E_WORK/plan.out
e2e_expect "the history runs from the first engage date to the last close" \
    "$(grep -c "^history: $FIRST_ENGAGE \.\. $LAST_CLOSE " "$PLAN")" -eq 1
e2e_expect "the untimed prospects (imported today) are left out of the history" \
    "$(grep -c "^  left out: $(date -u +%Y-%m-%d) " "$PLAN")" -eq 1
e2e_expect "a CRM snapshot: closed deals count as opportunities on the day they opened" \
    "$(grep -c "^opportunities: .*snapshot.*; $OPEN created, $((WON + LOST)) closed deals" "$PLAN")" -eq 1
# queue NAME REPS CAPACITY: one queue's section.
queue() {
    local name=$1 reps=$2 capacity=$3 section rows
    section=$(awk -v q="queue $name:" 'index($0, q) == 1 { on = 1; print; next }
        on && /^queue / { on = 0 } on && /^revenue/ { on = 0 } on' "$PLAN")
    e2e_expect "$name: planned on its reps' opportunities (no lead history)" \
        "$(grep -c "^queue $name: no lead history: opportunities" <<<"$section")" -eq 1
    e2e_expect "$name: $reps reps, all shared with the shared queue" \
        "$(grep -c "^  $reps reps ($reps shared" <<<"$section")" -eq 1
    e2e_expect "$name: the back-test prints a numeric MAPE" \
        "$(grep -cE '^  back-test: refitted without the last 8 weeks \(from [0-9-]+\): MAPE [0-9]+\.[0-9]% over [0-9] weeks' <<<"$section")" -eq 1
    rows=$(grep -cE '^  20[0-9]{2}-[0-9]{2}-[0-9]{2} +[0-9]+\.[0-9] +[0-9]+\.[0-9] +-?[0-9]+\.[0-9]$' <<<"$section")
    e2e_expect "$name: 8 weeks of forecast, capacity and gap" "$rows" -eq 8
    e2e_expect "$name: capacity $capacity a week (weekly caps of 20, split over two queues)" \
        "$(grep -cE "^  20[0-9-]{8} +[0-9.]+ +$capacity +-?[0-9.]+$" <<<"$section")" -eq 8
    e2e_expect "$name: the gap is forecast minus capacity" \
        "$(awk '/^  20[0-9-]{8} +[0-9.]+ +[0-9.]+ +-?[0-9.]+$/ { d = $2 - $3 - $4; if (d > 0.11 || d < -0.11) bad++ } END { print bad + 0 }' <<<"$section")" -eq 0
    e2e_expect "$name: a chart of forecast against capacity, a bar a week" \
        "$(grep -cE '^  20[0-9-]{8} [#!]*\.*\|' <<<"$section")" -eq 8
    e2e_expect "$name: advice" "$(grep -cE '^  advice: (capacity covers|short by)' <<<"$section")" -eq 1
}
queue central 11 110.0
queue east 12 120.0
queue west 12 120.0
queue shared 35 350.0
e2e_expect "revenue: the file's won and lost deals" "$(grep -c "^revenue: $WON won, $LOST lost" "$PLAN")" -eq 1
e2e_expect "revenue: a numeric MAPE of the monthly forecast" \
    "$(grep -cE '^  forecast error: MAPE [0-9]+\.[0-9]% over [0-9]+ months' "$PLAN")" -eq 1

ctl report plan --json >"$E2E_WORK/plan.json" 2>&1
total=$(grep -o '"history_total": [0-9.]*' "$E2E_WORK/plan.json" | awk '{ s += $2 } END { printf "%.0f", s }')
e2e_expect "--json: the queues share out every opportunity with an engage date" "$total" -eq "$ENGAGED"
ctl report plan --weeks 3 >"$E2E_WORK/plan3.out" 2>&1
e2e_expect "--weeks 3: 3 weeks per queue" \
    "$(grep -cE '^  20[0-9-]{8} +[0-9]+\.[0-9] +[0-9]+\.[0-9] +-?[0-9]+\.[0-9]$' "$E2E_WORK/plan3.out")" -eq 12
ctl report plan --weeks 0 >"$E2E_WORK/bad.out" 2>&1
e2e_expect "--weeks 0 is refused (exit 2)" "$?" -eq 2

# ---- 2. the API ----------------------------------------------------------------------------
e2e_log "2. GET /v1/plan"
e2e_http GET "$E2E_REPORTING_URL/v1/plan?weeks=4"
e2e_expect "GET /v1/plan?weeks=4: 200" "$HTTP_CODE" = 200
e2e_expect "... 4 weeks for each of the 4 queues" "$(grep -c '"capacity":' <<<"$HTTP_BODY")" -eq 16
e2e_expect "... with a MAPE per queue and one for revenue" \
    "$(grep -cE '"mape": [0-9]+\.[0-9]+' <<<"$HTTP_BODY")" -eq 5
e2e_expect "... the same first forecast as leadopsctl" \
    "$(grep -o '"forecast": [0-9.]*' <<<"$HTTP_BODY" | head -n 1 | awk '{ printf "%.1f", $2 }')" = \
    "$(grep -E '^  20[0-9-]{8} ' "$PLAN" | head -n 1 | awk '{ print $2 }')"
e2e_http GET "$E2E_REPORTING_URL/v1/plan?weeks=zero"
e2e_expect "GET /v1/plan?weeks=zero: 400" "$HTTP_CODE" = 400

# ---- 3. commissions ------------------------------------------------------------------------
e2e_log "3. leadopsctl report commissions, March 2017"
AGENT="Darcel Schlecht"
want=$(awk -F, -v agent="$AGENT" '
    function tiered(v, rate, quota, a1, r1, a2, r2,   c) {
        if (v <= a1 * quota) return v * rate
        c = a1 * quota * rate
        if (v <= a2 * quota) return c + (v - a1 * quota) * r1
        return c + (a2 - a1) * quota * r1 + (v - a2 * quota) * r2
    }
    NR > 1 && $2 == agent && $5 == "Won" && substr($7, 1, 7) == "2017-03" {
        if ($3 == "GTX Plus Pro" || $3 == "GTXPro") premium += $8; else standard += $8
    }
    END {
        c = tiered(premium, 0.06, 20000, 1.0, 0.09, 1.5, 0.12)
        printf "%.2f", c + tiered(standard, 0.05, 15000, 1.0, 0.08, 2.0, 0.10)
    }' "$PIPELINE")
march=$(awk -F, 'NR > 1 && $5 == "Won" && substr($7, 1, 7) == "2017-03" { n++; v += $8 }
    END { printf "%d %.2f", n, v }' "$PIPELINE")
ctl report commissions --from 2017-03 --to 2017-03 >"$E2E_WORK/comm.out" 2>&1
e2e_expect "report commissions exits 0" "$?" -eq 0
head -n 12 "$E2E_WORK/comm.out" | sed 's/^/    /'
got=$(awk '$1 == "darcel-schlecht" { print $NF }' "$E2E_WORK/comm.out")
e2e_expect "$AGENT's commission is what the tiers give on the file's deals" "$got" = "$want"
e2e_expect "every won deal of March 2017 is under a plan (TOTAL: deals and value)" \
    "$(awk '$1 == "TOTAL" { print $2, $3 }' "$E2E_WORK/comm.out")" = "$march"
e2e_expect "the deals behind it are listed" \
    "$(grep -cE '^      2017-03-[0-9]{2}  maven-' "$E2E_WORK/comm.out")" -eq "${march%% *}"
e2e_expect "no won deal falls under no plan" "$(grep -c 'fall under no plan' "$E2E_WORK/comm.out")" -eq 0
e2e_http GET "$E2E_REPORTING_URL/v1/commissions?from=2017-03-01&to=2017-03-31"
e2e_expect "GET /v1/commissions: 200" "$HTTP_CODE" = 200
e2e_expect "... the same total won value" \
    "$(tr -d '\n ' <<<"$HTTP_BODY" | grep -o '"totals":{[^}]*}' | grep -o '"won_value":[0-9.]*' | awk -F: '{ printf "%.2f", $2 }')" = "${march#* }"
e2e_http GET "$E2E_REPORTING_URL/v1/commissions?from=2017-02-30"
e2e_expect "GET /v1/commissions with a bad date: 400" "$HTTP_CODE" = 400
e2e_finish
