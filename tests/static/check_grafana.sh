#!/usr/bin/env bash
# check_grafana.sh — static checks of deploy/grafana/leadops-dashboard.json, no Grafana needed:
#   1. it is valid JSON (jq, python3 or node, whichever is installed; not checked without);
#   2. every metric a query names is a family leadops-reporting's /metrics exports: the list
#      metrics_family_names[] in services/reporting/metrics.c (test_metrics checks that list
#      against what metrics_render prints), histogram series as <family>_bucket/_sum/_count;
#   3. every datasource is the ${DS_PROMETHEUS} input the dashboard declares, so it imports
#      into any Grafana;
#   4. with promtool (Debian package prometheus): every query parses as PromQL (Grafana's
#      $__rate_interval read as 5m), through `promtool check rules`.
set -euo pipefail

repo=${LEADOPS_TEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$repo"
dashboard=deploy/grafana/leadops-dashboard.json
metrics_c=services/reporting/metrics.c
passed=0
failed=0
pass() {
    printf 'ok: %s\n' "$*"
    passed=$((passed + 1))
}
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failed=$((failed + 1))
}
[[ -r $dashboard ]] || { fail "$dashboard is missing"; exit 1; }

# 1. JSON.
if command -v jq >/dev/null 2>&1; then
    if out=$(jq empty "$dashboard" 2>&1); then pass "valid JSON (jq)"; else fail "not valid JSON: $out"; fi
elif command -v python3 >/dev/null 2>&1; then
    if out=$(python3 -m json.tool "$dashboard" 2>&1 >/dev/null); then pass "valid JSON (python3)"; else fail "not valid JSON: $out"; fi
elif command -v node >/dev/null 2>&1; then
    if out=$(node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$dashboard" 2>&1); then
        pass "valid JSON (node)"
    else
        fail "not valid JSON: $out"
    fi
else
    echo "skip: no jq, python3 or node to parse JSON with; JSON validity not checked"
fi

# 2. Metric names against the exported families.
mapfile -t families < <(sed -n '/metrics_family_names\[\] = {/,/};/p' "$metrics_c" | grep -o '"leadops_[a-z0-9_]*"' | tr -d '"')
((${#families[@]} >= 10)) || fail "could not read metrics_family_names[] from $metrics_c (${#families[@]} names)"
is_family() {
    local name=$1 family
    for family in "${families[@]}"; do [[ $name == "$family" ]] && return 0; done
    return 1
}
mapfile -t exprs < <(grep -o '"expr": *"\([^"\\]\|\\.\)*"' "$dashboard" | sed 's/^"expr": *"//; s/"$//; s/\\"/"/g')
((${#exprs[@]} > 0)) || fail "no query (\"expr\") in $dashboard"
unknown=()
used=()
for name in $(printf '%s\n' "${exprs[@]}" | grep -o 'leadops_[a-z0-9_]*' | sort -u); do
    base=$name
    if ! is_family "$base"; then
        base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$name")
        is_family "$base" || { unknown+=("$name"); continue; }
    fi
    used+=("$base")
done
if ((${#unknown[@]})); then
    fail "queries name metrics /metrics does not export: ${unknown[*]} (exported: ${families[*]})"
else
    pass "${#exprs[@]} queries name only exported metrics ($(printf '%s\n' "${used[@]}" | sort -u | wc -l) of ${#families[@]} families used)"
fi

# 3. Datasources.
# shellcheck disable=SC2016 # a literal ${DS_PROMETHEUS}
others=$(grep -o '"uid": *"[^"]*"' "$dashboard" | grep -v '"\${DS_PROMETHEUS}"' | grep -vc '"leadops-ops"' || true)
if grep -q '"name": *"DS_PROMETHEUS"' "$dashboard" && ((others == 0)); then
    pass "every datasource is the \${DS_PROMETHEUS} input"
else
    fail "datasources other than \${DS_PROMETHEUS} ($others), or no DS_PROMETHEUS input"
fi

# 4. PromQL.
if command -v promtool >/dev/null 2>&1; then
    rules=$(mktemp "${TMPDIR:-/tmp}/leadops-grafana-rules.XXXXXX")
    trap 'rm -f "$rules"' EXIT
    {
        printf 'groups:\n  - name: leadops-dashboard\n    rules:\n'
        i=0
        for expr in "${exprs[@]}"; do
            i=$((i + 1))
            expr=${expr//\$__rate_interval/5m}
            printf '      - record: leadops:dashboard_query_%d\n        expr: %s\n' "$i" "'${expr//\'/\'\'}'"
        done
    } >"$rules"
    if out=$(promtool check rules "$rules" 2>&1); then
        pass "every query is valid PromQL (promtool check rules)"
    else
        fail "promtool check rules: $out"
    fi
else
    echo "skip: promtool not installed (apt-get install prometheus); PromQL not parsed"
fi

echo "check_grafana: $passed passed, $failed failed"
((failed == 0))
