#!/usr/bin/env bash
# test_kpi.sh — rep KPIs and conversion by origin on real data with known answers, through the
# running stack (deploy/maven.yaml: the Maven agents as reps, teams = their managers):
#  1. Olist: the 8,000 MQLs and the 842 closed deals imported; GET /v1/conversion gives per
#     origin the leads and won deals the two files give (joined here with awk), and overall
#     842 of 8,000 = 10.5%; GET /v1/kpi/reps gives each sales rep (sr_id) exactly the won
#     deals the closed-deals file gives. Importing the deals again (all duplicates) and
#     restarting reporting change none of it.
#  2. Maven: the 8,800 opportunities of sales_pipeline.csv imported; `leadopsctl report reps
#     --from 2016-01-01 --to 2018-12-31` prints each agent's deals won and lost, win rate and
#     won revenue as awk computes them from the file, and --json each team's (manager's) won
#     revenue; `report ops` prints the live figures.
# Skipped (77) without the data (LEADOPS_DATA_DIR, else ../shared/data, else /work/shared/data).
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATA=
for dir in "${LEADOPS_DATA_DIR:-}" "$E2E_REPO/../shared/data" /work/shared/data; do
    if [[ -n $dir && -r $dir/olist_mql/olist_closed_deals_dataset.csv &&
        -r $dir/maven_crm/sales_pipeline.csv ]]; then
        DATA=$dir
        break
    fi
done
[[ -n $DATA ]] || e2e_skip "no data dir with olist_mql/ and maven_crm/ (set LEADOPS_DATA_DIR)"
MQL=$DATA/olist_mql/olist_marketing_qualified_leads_dataset.csv
DEALS=$DATA/olist_mql/olist_closed_deals_dataset.csv
PIPELINE=$DATA/maven_crm/sales_pipeline.csv
TEAMS=$DATA/maven_crm/sales_teams.csv
MAPPINGS=$E2E_REPO/deploy/mappings

E2E_CONFIG=$E2E_REPO/deploy/maven.yaml
e2e_setup kpi
e2e_start

# run_ctl OUT ARGS... — leadopsctl with the stack's config (its reps and teams), both streams
# in OUT; sets RC.
run_ctl() {
    local out=$1
    shift
    RC=0
    "$E2E_CTL" --config "$E2E_CONFIG" "$@" >"$out" 2>&1 || RC=$?
}

# api PATH OUT — GET PATH of reporting into OUT; fails the check when not 200.
api() {
    e2e_http GET "$E2E_REPORTING_URL$1"
    printf '%s\n' "$HTTP_BODY" >"$2"
    [[ $HTTP_CODE == 200 ]] || e2e_fail "GET $1: HTTP $HTTP_CODE: $HTTP_BODY"
}

# section FILE NAME — the lines of the top-level array NAME of a pretty-printed view.
section() {
    awk -v name="$2" '$0 ~ "^  \"" name "\": \\[" {on = 1; next} on && /^  \]/ {exit} on' "$1"
}

# fields FIELD... — from a section on stdin, one line per object: the values of FIELDs
# (object-level keys, 6 spaces deep) in order, space-separated.
fields() {
    awk -v want="$*" '
        BEGIN { n = split(want, names, " ") }
        /^    \{/ { delete got }
        /^      "/ {
            key = $1; gsub(/[":]/, "", key)
            value = $0; sub(/^ *"[^"]*": */, "", value); sub(/,$/, "", value); gsub(/"/, "", value)
            got[key] = value
        }
        /^    \}/ {
            line = ""
            for (i = 1; i <= n; i++) line = line (i > 1 ? " " : "") got[names[i]]
            print line
        }'
}

# wait_overall FIELD WANT TIMEOUT_S — polls /v1/conversion until overall FIELD reaches WANT.
wait_overall() {
    local deadline=$((SECONDS + $3)) n=
    while ((SECONDS < deadline)); do
        e2e_http GET "$E2E_REPORTING_URL/v1/conversion"
        n=$(e2e_json_num "${HTTP_BODY#*\"overall\"}" "$1")
        [[ $n == "$2" ]] && break
        sleep 0.2
    done
    printf '%s\n' "${n:-none}"
}

# ---- 1. Olist: conversion by origin, won deals per rep ------------------------------------
e2e_log "1. Olist MQLs and closed deals from $DATA/olist_mql"
t0=$(e2e_now_ms)
run_ctl "$E2E_WORK/mql.out" import "$MQL" --map "$MAPPINGS/olist_mql.yaml" --max
e2e_expect "MQL import: exit 0" "$RC" -eq 0
run_ctl "$E2E_WORK/deals.out" import "$DEALS" --map "$MAPPINGS/olist_closed_deals.yaml" --max
e2e_expect "closed-deals import: exit 0" "$RC" -eq 0
e2e_expect "leads counted by origin: 8000" "$(wait_overall leads 8000 90)" = 8000
e2e_expect "won deals counted by origin: 842" "$(wait_overall won 842 60)" = 842
e2e_log "imported and counted in $(($(e2e_now_ms) - t0)) ms"

api /v1/conversion "$E2E_WORK/conversion.json"
overall=$(sed -n '/"overall"/,$p' "$E2E_WORK/conversion.json")
e2e_expect "overall rate 842 / 8000" "$(e2e_json_num "$overall" rate)" = 0.10525
e2e_expect "... printed as 10.5%" "$(awk -v r="$(e2e_json_num "$overall" rate)" 'BEGIN { printf "%.1f%%", 100 * r }')" = 10.5%
# Expected per origin: the mapping renames other_publicities to other, and an unknown or
# empty origin leaves the source empty, which counts as "unknown".
awk -F, 'NR == FNR { if (FNR > 1) won[$1] = 1; next }
    FNR > 1 {
        o = $4; if (o == "other_publicities") o = "other"; if (o == "" || o == "unknown") o = "unknown"
        leads[o]++; if ($1 in won) wins[o]++
    }
    END { for (o in leads) printf "%s %d %d\n", o, leads[o], wins[o] }' "$DEALS" "$MQL" |
    sort >"$E2E_WORK/origins.expected"
section "$E2E_WORK/conversion.json" origins | fields origin leads won | sort >"$E2E_WORK/origins.actual"
if cmp -s "$E2E_WORK/origins.expected" "$E2E_WORK/origins.actual"; then
    e2e_ok "leads and won deals per origin as the files give them ($(wc -l <"$E2E_WORK/origins.actual") origins: $(tr '\n' ';' <"$E2E_WORK/origins.actual"))"
else
    e2e_fail "per origin (origin leads won), expected vs API: $(diff "$E2E_WORK/origins.expected" "$E2E_WORK/origins.actual" | tr '\n' ' ')"
fi

# Won deals per sales rep (sr_id); the deals fall between 2017-12 and 2018-11.
awk -F, 'FNR > 1 { n[$4]++ } END { for (r in n) printf "%s %d\n", r, n[r] }' "$DEALS" |
    sort >"$E2E_WORK/olist_reps.expected"
api "/v1/kpi/reps?from=2017-01-01&to=2018-12-31" "$E2E_WORK/olist_kpi.json"
section "$E2E_WORK/olist_kpi.json" reps | fields rep won | awk '$2 > 0' | sort >"$E2E_WORK/olist_reps.actual"
if cmp -s "$E2E_WORK/olist_reps.expected" "$E2E_WORK/olist_reps.actual"; then
    e2e_ok "won deals per rep (sr_id) as the file gives them: $(wc -l <"$E2E_WORK/olist_reps.actual") reps, $(awk '{ s += $2 } END { print s }' "$E2E_WORK/olist_reps.actual") deals"
else
    e2e_fail "won deals per rep, expected vs API: $(diff "$E2E_WORK/olist_reps.expected" "$E2E_WORK/olist_reps.actual" | head -20 | tr '\n' ' ')"
fi
e2e_http GET "$E2E_REPORTING_URL/v1/kpi/reps"
e2e_expect "GET /v1/kpi/reps without a period: the last 30 days" "$HTTP_CODE/$(e2e_json_num "$HTTP_BODY" days)" = 200/30
e2e_http GET "$E2E_REPORTING_URL/v1/kpi/reps?from=2018-13-01"
e2e_expect "a bad date: 400 with the reason" "$HTTP_CODE $(e2e_json_str "$HTTP_BODY" error)" =~ "^400 from: '2018-13-01' is not a date"

# Exactly once: the same deals again are duplicates and change nothing; a restarted
# reporting service answers the same figures (they live in Redis).
run_ctl "$E2E_WORK/deals2.out" import "$DEALS" --map "$MAPPINGS/olist_closed_deals.yaml" --max
e2e_expect "the deals again: 842 duplicates" "$(grep '^import ' "$E2E_WORK/deals2.out" | grep -o '[0-9]* duplicates')" = "842 duplicates"
sleep 1
stack_stop reporting || e2e_fail "reporting did not stop cleanly"
stack_start_service reporting 2>>"$E2E_WORK/start.err" || e2e_fatal "reporting did not restart"
api /v1/conversion "$E2E_WORK/conversion2.json"
e2e_expect "after the duplicates and a restart of reporting: the same conversion figures" \
    "$(cmp -s "$E2E_WORK/conversion.json" "$E2E_WORK/conversion2.json" && echo same || diff "$E2E_WORK/conversion.json" "$E2E_WORK/conversion2.json" | head -5)" = same
api "/v1/kpi/reps?from=2017-01-01&to=2018-12-31" "$E2E_WORK/olist_kpi2.json"
e2e_expect "... and the same rep KPIs" \
    "$(cmp -s "$E2E_WORK/olist_kpi.json" "$E2E_WORK/olist_kpi2.json" && echo same || echo differ)" = same

# ---- 2. Maven: each agent's win rate and won revenue --------------------------------------
e2e_log "2. the Maven pipeline from $PIPELINE"
if ! "$E2E_CTL" report reps --help >/dev/null 2>&1; then
    e2e_fatal "leadopsctl has no 'report' command (the dispatcher in services/ctl/main.c)"
fi
t0=$(e2e_now_ms)
run_ctl "$E2E_WORK/maven.out" import "$PIPELINE" --map "$MAPPINGS/maven_pipeline.yaml" --max
e2e_expect "Maven import: exit 0, 8800 accepted" "$RC/$(grep '^import ' "$E2E_WORK/maven.out" | grep -o '[0-9]* accepted')" = "0/8800 accepted"
# agent -> won lost "win%" won_value, rep ids slugged as the mapping slugs sales_agent.
awk -F, 'FNR > 1 && ($5 == "Won" || $5 == "Lost") {
        r = tolower($2); gsub(/[^a-z0-9]+/, "-", r); gsub(/^-|-$/, "", r)
        if ($5 == "Won") { won[r]++; value[r] += $8 } else lost[r]++; seen[r] = 1
    }
    END { for (r in seen) printf "%s %d %d %.1f%% %.0f\n", r, won[r], lost[r],
                                 100 * won[r] / (won[r] + lost[r]), value[r] }' "$PIPELINE" |
    sort >"$E2E_WORK/maven.expected"
# The totals hold the Olist deals too (842 won, in the same years).
want_won=$(awk '{ s += $2 } END { print s + 842 }' "$E2E_WORK/maven.expected")
want_lost=$(awk '{ s += $3 } END { print s }' "$E2E_WORK/maven.expected")
deadline=$((SECONDS + 60))
while :; do
    run_ctl "$E2E_WORK/maven_kpi.json" report reps --from 2016-01-01 --to 2018-12-31 --json
    got=$(sed -n '/^  "totals"/,/^  }/p' "$E2E_WORK/maven_kpi.json" | grep -E '^    "(won|lost)":' | tr -d ' ,\n')
    [[ $got == "\"lost\":$want_lost\"won\":$want_won" || $got == "\"won\":$want_won\"lost\":$want_lost" ]] && break
    ((SECONDS < deadline)) || break
    sleep 0.3
done
e2e_expect "all deals counted: $want_won won (with Olist's 842), $want_lost lost" "$got" = "\"lost\":$want_lost\"won\":$want_won"
e2e_log "Maven imported and counted in $(($(e2e_now_ms) - t0)) ms"

run_ctl "$E2E_WORK/maven_kpi.txt" report reps --from 2016-01-01 --to 2018-12-31
e2e_expect "report reps: exit 0" "$RC" -eq 0
sed 's/^/    /' "$E2E_WORK/maven_kpi.txt" | head -n 45
# Rep rows: the rep id in the first 20 columns, the team in the next 18, then the figures
# CALLS EMAILS MTGS DEMOS PROPS OPPS WON LOST WIN% "WON VALUE" ...; the Maven agents only
# (the Olist reps are there too).
awk 'NR == FNR { agent[$1] = 1; next }
    /^REP / { on = 1; next } on && /^TOTAL/ { exit }
    on { rep = substr($0, 1, 20); gsub(/ /, "", rep); split(substr($0, 41), f, " ")
         if (rep in agent) printf "%s %d %d %s %s\n", rep, f[7], f[8], f[9], f[10] }' \
    "$E2E_WORK/maven.expected" "$E2E_WORK/maven_kpi.txt" | sort >"$E2E_WORK/maven.actual"
if cmp -s "$E2E_WORK/maven.expected" "$E2E_WORK/maven.actual"; then
    e2e_ok "report reps: each agent's won, lost, win rate and won revenue as the file gives them ($(wc -l <"$E2E_WORK/maven.actual") agents)"
else
    e2e_fail "per agent (won lost win% revenue), expected vs report: $(diff "$E2E_WORK/maven.expected" "$E2E_WORK/maven.actual" | head -20 | tr '\n' ' ')"
fi
# Teams: each manager's won revenue (sales_teams.csv: sales_agent, manager, ...).
awk -F, 'NR == FNR { if (FNR > 1) team[$1] = $2; next }
    FNR > 1 && $5 == "Won" { value[team[$2]] += $8 }
    END { for (t in value) printf "%s|%.0f\n", t, value[t] }' "$TEAMS" "$PIPELINE" |
    sort >"$E2E_WORK/teams.expected"
section "$E2E_WORK/maven_kpi.json" teams | awk '
    /^    \{/ { team = ""; value = "" }
    /^      "team":/ { team = $0; sub(/^[^:]*: "/, "", team); sub(/",?$/, "", team) }
    /^      "won_value":/ { value = $2; sub(/,$/, "", value) }
    /^    \}/ { if (value > 0) printf "%s|%.0f\n", team, value }' | sort >"$E2E_WORK/teams.actual"
if cmp -s "$E2E_WORK/teams.expected" "$E2E_WORK/teams.actual"; then
    e2e_ok "each team's (manager's) won revenue as the files give it ($(wc -l <"$E2E_WORK/teams.actual") teams)"
else
    e2e_fail "per team, expected vs report: $(diff "$E2E_WORK/teams.expected" "$E2E_WORK/teams.actual" | tr '\n' ' ')"
fi
order=$(section "$E2E_WORK/maven_kpi.json" leaderboard | fields rep |
    awk 'NR == FNR { agent[$1] = 1; next } $1 in agent' "$E2E_WORK/maven.expected" - | tr '\n' ' ')
e2e_expect "the leaderboard ranks the agents by won revenue" "$order" = \
    "$(sort -k5,5nr -k2,2nr "$E2E_WORK/maven.expected" | cut -d' ' -f1 | tr '\n' ' ')"
e2e_expect "quartiles: top and bottom side by side" "$(grep -c 'Top quartile against bottom quartile' "$E2E_WORK/maven_kpi.txt")" -eq 1

run_ctl "$E2E_WORK/ops.txt" report ops
e2e_expect "report ops: exit 0 with intake, SLA, queues and reps" \
    "$RC $(grep -cE '^(Intake|SLA|QUEUE|REP) ' "$E2E_WORK/ops.txt")" = "0 4"
sed 's/^/    /' "$E2E_WORK/ops.txt" | head -n 12
run_ctl "$E2E_WORK/ops.json" report ops --json
e2e_expect "report ops --json: the 8000 Olist leads in its intake" "$(e2e_json_num "$(<"$E2E_WORK/ops.json")" ingested_leads)" = 8000
e2e_finish
