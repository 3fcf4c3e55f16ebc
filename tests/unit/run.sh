#!/usr/bin/env bash
# run.sh: run the cmocka unit test binaries given as arguments, optionally under
# $FOCKER_TEST_RUN (valgrind), and print a closing "unit: N passed, N failed" line.  A binary
# that crashes or reports errors (ASan, valgrind) without cmocka counting a failure counts as
# one failure, so a crash can never pass.
set -uo pipefail
passed=0
failed=0
for t in "$@"; do
  out=$(${FOCKER_TEST_RUN:-} "$t" 2>&1)
  rc=$?
  p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  p=${p:-0}
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
  fi
  if [ "$f" -ne 0 ]; then
    echo "$out" | grep -v '^\[ RUN      \]\|^\[       OK \]'
    echo "FAIL $(basename "$t") ($p passed, $f failed, exit $rc)"
  else
    echo "ok   $(basename "$t") ($p passed)"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "${FOCKER_TEST_LABEL:-unit}: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
