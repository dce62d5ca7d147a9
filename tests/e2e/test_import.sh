#!/usr/bin/env bash
# test_import.sh — `leadopsctl import` against the real services:
#  1. a small CRM export (tests/e2e/fixtures/import_small.csv: BOM, CRLF, quoted commas, quotes
#     and a line break) imports its good rows; the bad ones are reported as FILE:LINE: reason
#     (a type error, a ragged row, and a row ingest rejects) and make it exit 1; importing it
#     again changes nothing (every good row a duplicate); --dry-run prints the JSON it would send;
#  2. pacing: --rate N and --speed Kx take the time they should; a row out of time order is
#     reported under --speed;
#  3. with the real data sets (LEADOPS_DATA_DIR, else ../shared/data; skipped when absent):
#     the Olist MQL file gives exactly 8,000 leads, importing it again still 8,000 (8,000
#     duplicates), the closed-deals file attaches 842 deal_won activities to their leads; the
#     Maven pipeline imports every row. Prints the import rates.
set -uo pipefail # not -e: see lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup import
e2e_start
P=$E2E_PREFIX
FIXTURES=$E2E_REPO/tests/e2e/fixtures
MAPPINGS=$E2E_REPO/deploy/mappings

# count_leads PATTERN FIELD [VALUE] — lead hashes (not their :acts lists) matching PATTERN that have FIELD (equal to
# VALUE when given), counted inside Redis.
count_leads() {
    e2e_redis EVAL "local n = 0
        for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
            local v = redis.call('TYPE', key).ok == 'hash' and redis.call('HGET', key, ARGV[2])
            if v and (ARGV[3] == '' or v == ARGV[3]) then n = n + 1 end
        end
        return n" 0 "$P:lead:$1" "$2" "${3:-}"
}

# sum_leads PATTERN FIELD — the sum of FIELD over the lead hashes matching PATTERN.
sum_leads() {
    e2e_redis EVAL "local n = 0
        for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
            if redis.call('TYPE', key).ok == 'hash' then
                n = n + (tonumber(redis.call('HGET', key, ARGV[2])) or 0)
            end
        end
        return n" 0 "$P:lead:$1" "$2"
}

# wait_for WANT TIMEOUT_S COMMAND ARGS... — runs COMMAND (count_leads, sum_leads) until it
# prints at least WANT; prints the last figure.
wait_for() {
    local want=$1 deadline=$((SECONDS + $2)) n
    shift 2
    while n=$("$@") && ((n < want && SECONDS < deadline)); do sleep 0.1; done
    printf '%s\n' "$n"
}

# run_import OUT ARGS... — runs leadopsctl import, output (both streams) in OUT; sets RC.
run_import() {
    local out=$1
    shift
    RC=0
    "$E2E_CTL" import "$@" >"$out" 2>&1 || RC=$?
}

# summary_num OUT WORD — the number before WORD in the summary line ("8000 duplicates").
summary_num() {
    grep '^import ' "$1" | tail -n 1 | grep -o "[0-9]* $2" | head -n 1 | cut -d' ' -f1
}

# ---- 1. a small export ----------------------------------------------------------------------
e2e_log "1. the fixture: 6 rows, 3 good, 3 bad (a type error, a ragged row, a rejected row)"
SMALL=$FIXTURES/import_small.csv
run_import "$E2E_WORK/small.out" "$SMALL" --map "$FIXTURES/import_small.yaml"
sed 's/^/    /' "$E2E_WORK/small.out"
e2e_expect "import exits 1 (bad rows)" "$RC" -eq 1
e2e_expect "summary: 6 rows, 4 sent, 3 accepted, 1 rejected, 2 bad rows" \
    "$(summary_num "$E2E_WORK/small.out" rows)/$(summary_num "$E2E_WORK/small.out" sent)/$(summary_num "$E2E_WORK/small.out" accepted)/$(summary_num "$E2E_WORK/small.out" rejected)/$(summary_num "$E2E_WORK/small.out" 'bad rows')" = 6/4/3/1/2
# e2e_expect on a count of matching lines: the whole output as "actual" would be noise.
reported() {
    grep -cE "$1" "$E2E_WORK/small.out"
}
e2e_expect "line 5 reported: a type error" "$(reported "import_small.csv:5: fields.company_size \(column Employees\): 'many' is not an integer$")" -eq 1
e2e_expect "line 6 reported: a ragged row" "$(reported 'import_small.csv:6: 5 fields, the header has 8$')" -eq 1
e2e_expect "line 7 reported: rejected by ingest, with its reason" "$(reported 'import_small.csv:7: rejected by ingest: event time is [0-9]+ s in the future')" -eq 1
n=$(wait_for 3 10 count_leads 'e2e-imp-*' lead)
e2e_expect "3 leads reached the lead state" "$n" -eq 3
lead=$(e2e_lead e2e-imp-c-1)
e2e_expect "c-1: the quoted company with its comma" "$(e2e_json_str "$lead" company)" = 'Acme, Inc.'
e2e_expect "c-1: Germany renamed to DE" "$(e2e_json_str "$lead" country)" = DE
e2e_expect "c-1: the line break inside quotes kept" "$(e2e_json_str "$lead" notes)" = 'first line\r\nsecond line'
e2e_expect "c-1: source_system and source_id from the mapping" "$(e2e_json_str "$lead" source_system)/$(e2e_json_str "$lead" source_id)" = e2ecrm/c-1
e2e_expect "c-2: doubled quotes read as one" "$(e2e_json_str "$(e2e_lead e2e-imp-c-2)" notes)" = 'said \"hi\"'
e2e_expect "c-5 (rejected) and c-3 (bad) are not leads" "$(e2e_lead e2e-imp-c-5)$(e2e_lead e2e-imp-c-3)" = ''
ingested=$(e2e_stat ingested_leads)

run_import "$E2E_WORK/small2.out" "$SMALL" --map "$FIXTURES/import_small.yaml"
e2e_expect "importing it again: 0 accepted, 3 duplicates" \
    "$(summary_num "$E2E_WORK/small2.out" accepted)/$(summary_num "$E2E_WORK/small2.out" duplicates)" = 0/3
e2e_expect "... and ingested_leads did not move" "$(e2e_stat ingested_leads)" -eq "$ingested"

run_import "$E2E_WORK/dry.out" "$SMALL" --map "$FIXTURES/import_small.yaml" --dry-run
e2e_expect "--dry-run prints the 4 rows that map (JSON lines)" "$(grep -c '^{"kind":"lead"' "$E2E_WORK/dry.out")" -eq 4
e2e_expect "... and sends nothing" "$(e2e_stat ingested_leads)" -eq "$ingested"

printf 'contact_id,Email\nx-1,a@b.example\n' >"$E2E_WORK/other.csv"
run_import "$E2E_WORK/nomatch.out" "$E2E_WORK/other.csv" --map "$FIXTURES/import_small.yaml"
e2e_expect "a mapping naming a column the file lacks: exit 2" "$RC" -eq 2
e2e_expect "... naming the mapping's FILE:LINE, key and column" "$(<"$E2E_WORK/nomatch.out")" =~ "import_small.yaml:8: time: column 'Created' is not in the header"

# ---- 2. pacing ------------------------------------------------------------------------------
e2e_log "2. pacing: --rate and --speed"
{
    printf 'contact_id,Company,Created\n'
    for i in 0 1 2 3 4 5 6 7 8 9 10; do # every 6 minutes from 10:00 to 11:00
        printf 'p-%s,Pace %s,2024-05-01 %02d:%02d\n' "$i" "$i" $((10 + i * 6 / 60)) $((i * 6 % 60))
    done
    printf 'p-late,Late,2024-05-01 10:00\n' # before the row above it
} >"$E2E_WORK/paced.csv"
sed -e 's/e2e-imp-/e2e-pace-/' -e '/^  \(email\|company_size\|country\|source\|attributes\)/d' \
    -e '/^    /d' "$FIXTURES/import_small.yaml" >"$E2E_WORK/paced.yaml"
t0=$(e2e_now_ms)
run_import "$E2E_WORK/rate.out" "$E2E_WORK/paced.csv" --map "$E2E_WORK/paced.yaml" --rate 10
ms=$(($(e2e_now_ms) - t0))
e2e_expect "--rate 10: 12 rows take at least 1.0 s ($ms ms)" "$ms" -ge 1000
e2e_expect "... all 12 accepted, exit 0" "$RC/$(summary_num "$E2E_WORK/rate.out" accepted)" = 0/12
# 60 minutes of file time at 3600x: one second.
t0=$(e2e_now_ms)
run_import "$E2E_WORK/speed.out" "$E2E_WORK/paced.csv" --map "$E2E_WORK/paced.yaml" --speed 3600x
ms=$(($(e2e_now_ms) - t0))
e2e_expect "--speed 3600x: an hour of file time takes about 1 s ($ms ms)" "$ms" -ge 950
e2e_expect "... and not much more" "$ms" -lt 4000
e2e_expect "... the out-of-order row is reported with its line" "$(grep -c 'paced.csv:13: out of time order' "$E2E_WORK/speed.out")" -eq 1
e2e_expect "... and counted; every row a duplicate of the --rate run" \
    "$(summary_num "$E2E_WORK/speed.out" 'out of time order')/$(summary_num "$E2E_WORK/speed.out" duplicates)" = 1/12

# ---- 3. the real data sets ------------------------------------------------------------------
DATA=
for dir in "${LEADOPS_DATA_DIR:-}" "$E2E_REPO/../shared/data" /work/shared/data; do
    if [[ -n $dir && -d $dir/olist_mql ]]; then
        DATA=$dir
        break
    fi
done
if [[ -z $DATA ]]; then
    e2e_log "3. skipped: no data dir (set LEADOPS_DATA_DIR to the folder holding olist_mql/)"
    e2e_finish
fi
e2e_log "3. the real data sets in $DATA"
MQL=$DATA/olist_mql/olist_marketing_qualified_leads_dataset.csv
DEALS=$DATA/olist_mql/olist_closed_deals_dataset.csv
PIPELINE=$DATA/maven_crm/sales_pipeline.csv
ingested0=$(e2e_stat ingested_leads)
t0=$(e2e_now_ms)
run_import "$E2E_WORK/mql.out" "$MQL" --map "$MAPPINGS/olist_mql.yaml" --max
e2e_log "$(grep '^import ' "$E2E_WORK/mql.out")"
e2e_expect "Olist MQLs: exit 0, 8000 accepted" "$RC/$(summary_num "$E2E_WORK/mql.out" accepted)" = 0/8000
n=$(wait_for 8000 120 count_leads 'olist-*' lead)
e2e_log "Olist MQLs: 8000 rows acknowledged and applied in $(($(e2e_now_ms) - t0)) ms"
e2e_expect "exactly 8000 Olist leads in Redis" "$n" -eq 8000
e2e_expect "ingested_leads rose by 8000" "$(($(e2e_stat ingested_leads) - ingested0))" -eq 8000

run_import "$E2E_WORK/mql2.out" "$MQL" --map "$MAPPINGS/olist_mql.yaml"
e2e_log "$(grep '^import ' "$E2E_WORK/mql2.out")"
e2e_expect "again: 8000 duplicates, 0 accepted, exit 0" \
    "$RC/$(summary_num "$E2E_WORK/mql2.out" duplicates)/$(summary_num "$E2E_WORK/mql2.out" accepted)" = 0/8000/0
e2e_expect "still exactly 8000 Olist leads" "$(count_leads 'olist-*' lead)" -eq 8000
e2e_expect "... and ingested_leads still +8000" "$(($(e2e_stat ingested_leads) - ingested0))" -eq 8000

t0=$(e2e_now_ms)
run_import "$E2E_WORK/deals.out" "$DEALS" --map "$MAPPINGS/olist_closed_deals.yaml"
e2e_log "$(grep '^import ' "$E2E_WORK/deals.out")"
e2e_expect "closed deals: exit 0, 842 accepted" "$RC/$(summary_num "$E2E_WORK/deals.out" accepted)" = 0/842
n=$(wait_for 842 60 count_leads 'olist-*' act:deal_won 1)
e2e_log "closed deals: 842 rows acknowledged and applied in $(($(e2e_now_ms) - t0)) ms"
e2e_expect "842 Olist leads with one deal_won" "$n" -eq 842
e2e_expect "... all of them leads from the MQL file" "$(count_leads 'olist-*' act:deal_won)" -eq 842
e2e_expect "... still 8000 Olist leads (no deal made a lead of its own)" "$(count_leads 'olist-*' lead)" -eq 8000

if [[ -r $PIPELINE ]]; then
    run_import "$E2E_WORK/maven.out" "$PIPELINE" --map "$MAPPINGS/maven_pipeline.yaml" --max
    e2e_log "$(grep '^import ' "$E2E_WORK/maven.out")"
    e2e_expect "Maven pipeline: exit 0, 8800 accepted" "$RC/$(summary_num "$E2E_WORK/maven.out" accepted)" = 0/8800
    n=$(wait_for 4238 60 sum_leads 'maven-*' act:deal_won)
    e2e_expect "Maven: the 4238 won deals of the file on their leads" "$n" -eq 4238
    e2e_expect "... and the 2473 lost ones" "$(sum_leads 'maven-*' act:deal_lost)" -eq 2473
else
    e2e_log "Maven pipeline: skipped ($PIPELINE not there)"
fi
e2e_finish
