#!/usr/bin/env bash
# run-all.sh: `make test` = the unit tests (under ASan+UBSan, then valgrind) and, as root, the e2e suite
# on this kernel; closes with one "N passed, N failed" line summing both.
set -uo pipefail
cd "$(dirname "$0")/.."
total_p=0
total_f=0
tally() {
  local line p f
  line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  p=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  total_p=$((total_p + ${p:-0}))
  total_f=$((total_f + ${f:-1}))
}
log=$(mktemp)
# every C file as .clang-format says (make format fixes it); a failure counts as one
if make -s format-check >"$log" 2>&1; then
  echo "format: 1 passed, 0 failed"
else
  head -5 "$log"
  echo "format: 0 passed, 1 failed (run make format)"
  total_f=$((total_f + 1))
fi
make check 2>&1 | tee "$log"
tally "$log"
make check VALGRIND=1 2>&1 | tee "$log"
tally "$log"
# coverage: the unit tests once more under gcov; only the summary is printed (issue 9's
# targets are reported, not enforced yet), and the pass/fail tally stays with the runs above
make -s coverage 2>&1 | grep '^coverage:'
if [ "$(id -u)" = 0 ]; then
  make e2e 2>&1 | tee "$log"
  tally "$log"
  # kept for `VM_HOST_E2E_LOG=build/e2e-host.log make vm-check` (.ci/run): the host's row
  # of the kernel matrix without running the suite twice
  mkdir -p build && cp "$log" build/e2e-host.log
else
  echo "e2e: skipped (needs root)"
fi
rm -f "$log"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
