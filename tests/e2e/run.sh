#!/usr/bin/env bash
# run.sh: end-to-end tests of the real focker binary on the real kernel (needs root).
#
# Each test_* function builds what it needs under $E2E_TMP, drives the CLI as podman or
# containerd would, and must leave nothing behind (checked after every test).  Prints one
# line per test and a closing "N passed, N failed, N skipped" line (a test calls `skip REASON`
# when the kernel lacks what it needs); exit status 0 only if none failed.
# Exit 77 (skipped) when not root.  Run a subset with: tests/e2e/run.sh test_name ...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
FIXTURES=${FIXTURES:-$here/../fixtures/oci}

if [ "$(id -u)" != 0 ]; then
  echo "e2e: needs root, skipped"
  exit 77
fi
[ -x "$FOCKER" ] || { echo "e2e: $FOCKER not built"; exit 1; }
[ -x "$BUSYBOX" ] || { echo "e2e: $BUSYBOX missing (apt-get install busybox-static)"; exit 1; }

e2e_init
trap 'cleanup_root; umount -R "$E2E_TMP" 2>/dev/null; rm -rf "$E2E_TMP"' EXIT

# Every tests/e2e/t_*.sh file holds test_* functions (one file per area, so work on one area
# does not touch another's file).
for f in "$here"/t_*.sh; do
  # shellcheck disable=SC1090
  . "$f"
done

# ---------------------------------------------------------------------------------------
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  mapfile -t tests < <(declare -F | awk '{print $3}' | grep '^test_')
fi
# Bridge networking belongs in a sandbox network namespace (t_net.sh, t_runnet.sh): a test
# after which focker0 exists here, where it did not before, fails (and it is removed).
host_bridge() { [ -e /sys/class/net/focker0 ]; }
bridge_before=0
host_bridge && bridge_before=1
passed=0
failed=0
skipped=0
for t in "${tests[@]}"; do
  rm -rf "$E2E_TMP/b" "$E2E_TMP"/hook* "$E2E_TMP/data" "$E2E_TMP/outside" "$E2E_TMP/s"
  rc=0
  t0=${EPOCHREALTIME/./}
  # Output goes through a file, not $(...): a process a failed test leaks (a container that
  # escaped its cleanup) would hold a pipe open and hang the whole run.
  ("$t") >"$E2E_TMP/.out" 2>&1 || rc=$?
  out=$(cat "$E2E_TMP/.out")
  # how long the test took, as "(1.2 s)": CI's time budget is spent test by test
  us=$((${EPOCHREALTIME/./} - t0))
  took="($((us / 1000000)).$((us / 100000 % 10)) s)"
  if [ "$bridge_before" = 0 ] && host_bridge; then
    rc=1
    out="$out
    made focker0 in this machine's network namespace (use --network none, or a sandbox)"
    ip link del focker0 2>/dev/null
    nft delete table ip focker 2>/dev/null
  fi
  # A test that called skip (exit 77: the kernel or host lacks what it needs) must still
  # leave nothing behind.
  if [ "$rc" = 77 ] && out2=$(assert_nothing_left 2>&1); then
    echo "skip $t: $(echo "$out" | tail -1)"
    skipped=$((skipped + 1))
  elif [ "$rc" = 0 ] && out2=$(assert_nothing_left 2>&1); then
    echo "ok   $t $took"
    passed=$((passed + 1))
  else
    echo "FAIL $t $took"
    [ -n "${out:-}" ] && echo "$out" | sed 's/^/    /'
    [ -n "${out2:-}" ] && echo "$out2"
    failed=$((failed + 1))
  fi
  out="" out2=""
  cleanup_root
done
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
