#!/usr/bin/env bash
# coverage.sh: `make coverage` = the unit tests built with gcov ($B/tobj-coverage, B=build), run, then
# an lcov HTML report under build/coverage/ and one summary line per area:
#   coverage: core/ lines 84.1% (target 90%), branches 61.0% (target 75%)
# Reports, never fails on the percentages (the targets are issue 9's; CI prints them).
# Exit status: that of the unit tests.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
out=$B/coverage
LINE_TARGET=${COVERAGE_LINE_TARGET:-90}
BRANCH_TARGET=${COVERAGE_BRANCH_TARGET:-75}
rc_opts=(--rc lcov_branch_coverage=1)

command -v lcov >/dev/null || { echo "coverage: lcov not installed, skipped"; exit 0; }
# stale counters from an earlier run would add up
find "$B/tobj-coverage" -name '*.gcda' -delete 2>/dev/null
make -s check COVERAGE=1
status=$?
rm -rf "$out"
mkdir -p "$out"
lcov -q "${rc_opts[@]}" --capture --directory "$B/tobj-coverage" --base-directory . \
  --output-file "$out/all.info" 2>"$out/lcov.log" || { cat "$out/lcov.log"; exit 1; }
summary() { # summary NAME INFO -> "lines P% (h/n), branches P% (h/n)"
  lcov "${rc_opts[@]}" --summary "$2" 2>&1 | awk -v name="$1" -v lt="$LINE_TARGET" -v bt="$BRANCH_TARGET" '
    /lines\.*:/    { l = $2; lh = $3 "/" $5 ")" }
    /branches\.*:/ { b = $2; bh = $3 "/" $5 ")" }
    END { printf "coverage: %-9s lines %s %s (target %s%%), branches %s %s (target %s%%)\n",
                 name, l, lh, lt, b, bh, bt }'
}
for area in core sys-fake; do
  lcov -q "${rc_opts[@]}" --extract "$out/all.info" "$PWD/$area/*" \
    --output-file "$out/$area.info" 2>>"$out/lcov.log"
  summary "$area/" "$out/$area.info"
done
lcov -q "${rc_opts[@]}" --extract "$out/all.info" "$PWD/core/*" "$PWD/sys-fake/*" "$PWD/sys/*" \
  --output-file "$out/report.info" 2>>"$out/lcov.log"
genhtml -q --branch-coverage --legend --output-directory "$out/html" "$out/report.info" \
  >>"$out/lcov.log" 2>&1 && echo "coverage: report in $out/html/index.html"
exit $status
