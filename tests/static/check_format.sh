#!/usr/bin/env bash
# The C sources follow .clang-format (clang-format 14, Debian 12). Fails listing the files
# that differ; fix them with: clang-format -i FILE...
set -euo pipefail
root=${LEADOPS_TEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root"
if ! command -v clang-format >/dev/null 2>&1; then
    echo "check_format: clang-format not installed (apt-get install clang-format); skipped"
    exit 77
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.c' '*.h')
else
    mapfile -t files < <(find common services tests -name '*.[ch]' | sort)
fi
bad=()
for file in "${files[@]}"; do
    [ -f "$file" ] || continue
    if ! clang-format --dry-run --Werror "$file" >/dev/null 2>&1; then
        bad+=("$file")
    fi
done
if ((${#bad[@]})); then
    echo "check_format: ${#bad[@]} of ${#files[@]} files are not formatted:"
    printf '  %s\n' "${bad[@]}"
    echo "fix with: clang-format -i ${bad[*]}"
    exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
