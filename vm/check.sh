#!/usr/bin/env bash
# check.sh: `make vm-check`: the e2e suite and the feature probes on this host's kernel and
# under QEMU on Debian's 6.1 (cgroup v1 and v2) and 6.12 (cgroup v2) cloud kernels, then
# the kernel x feature matrix in build/vm-matrix.md and build/vm-matrix.json.
#
# Needs root, qemu-system-x86 (with its virtiofsd), cpio, kmod, xz-utils and apt's index of
# Debian 12.  Runs VM_JOBS runs at a time (default 2: one per core of a CI runner; each VM
# has one CPU).  VM_RUNS overrides the list ("6.1:v1 6.1:v2 6.12:v2"; "host" is the host).
# VM_HOST_E2E_LOG=FILE takes the host's e2e results from FILE (the output of tests/e2e/run.sh
# on this host with this build, as `make test` leaves it in build/e2e-host.log) instead of
# running the suite on the host a second time.
# The host also runs the suite under build/enosys (openat2, clone3 and mount_setattr fail
# with ENOSYS: the old-kernel fallbacks); VM_ENOSYS=0 turns that off.
# Exit status: 0 when no cell of the matrix failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${VM_OUT:-$repo/build/vm}
runs=${VM_RUNS:-host 6.1:v1 6.1:v2 6.12:v2}
jobs=${VM_JOBS:-2}
if [ "$(id -u)" != 0 ]; then
  echo "vm-check: needs root, skipped"
  exit 77
fi
for b in focker enosys; do
  [ -x "$repo/build/$b" ] || { echo "vm-check: build/$b not built (make vm-check)"; exit 1; }
done
mkdir -p "$out"
series=$(for r in $runs; do [ "$r" = host ] || echo "${r%%:*}"; done | sort -u)
# shellcheck disable=SC2086
[ -z "$series" ] || "$here/fetch.sh" $series
for s in $series; do "$here/mkinitrd.sh" "$s" >/dev/null; done

# host_run LOG: what init2 does in a VM, on this kernel.
host_run() {
  local cg=v1
  [ -f /sys/fs/cgroup/cgroup.controllers ] && cg=v2
  [ "$cg" = v1 ] && [ -d /sys/fs/cgroup/unified ] && cg=hybrid
  {
    echo "@@VM-KERNEL $(uname -r) cgroup=$cg"
    echo "@@VM-BEGIN probe"
    "$here/probe.sh" 2>&1
    echo "@@VM-END probe rc=$?"
    echo "@@VM-BEGIN check"
    "$repo/build/focker" check --format json 2>&1
    echo "@@VM-END check rc=$?"
    echo "@@VM-BEGIN e2e"
    rc=0
    if [ -n "${VM_HOST_E2E_LOG:-}" ]; then
      # The suite already ran on this kernel with this binary (CI: `make test` just before,
      # tests/run-all.sh keeps its log): its results are the host's row, not a second run.
      grep -E '^(ok  |FAIL|skip|e2e: )' "$VM_HOST_E2E_LOG" || rc=1
      grep -q '^e2e: [0-9]* passed, 0 failed' "$VM_HOST_E2E_LOG" || rc=1
    else
      # The VMs have a timeout (vm/run.sh); the host run gets the same, so a test that hangs
      # cannot hang CI: the matrix then shows the tests that did run and no summary.
      timeout -k 10 "${VM_TIMEOUT:-1500}" "$repo/tests/e2e/run.sh" 2>&1 || rc=$?
    fi
    echo "@@VM-END e2e rc=$rc"
    # The fallbacks of kernels older than 5.3/5.6/5.12, exercised on this one, by the tests
    # the VMs run (vm/hostonly.sh: the others, which ran above, test focker, not the kernel).
    if [ "${VM_ENOSYS:-1}" = 1 ]; then
      echo "@@VM-BEGIN e2e-enosys"
      local crash tests
      crash=$("$here/hostonly.sh" "$repo")
      tests=$(grep -ho '^test_[a-z0-9_]*' "$repo"/tests/e2e/t_*.sh | grep -vxF "$crash" || true)
      for t in $crash; do echo "skip $t: ran without ENOSYS above"; done
      rc=0
      # shellcheck disable=SC2086
      timeout -k 10 "${VM_TIMEOUT:-1500}" "$repo/build/enosys" "$repo/tests/e2e/run.sh" $tests 2>&1 || rc=$?
      echo "@@VM-END e2e-enosys rc=$rc"
    fi
  } >"$1"
}

logs=()
pids=()
start=$(date +%s)
for r in $runs; do
  if [ "$r" = host ]; then
    log="$out/host.log"
  else
    log="$out/${r%%:*}-${r#*:}.log"
  fi
  (
    t0=$(date +%s)
    if [ "$r" = host ]; then host_run "$log"; else "$here/run.sh" "${r%%:*}" "${r#*:}" "$log"; fi
    echo "vm-check: $r done in $(($(date +%s) - t0)) s"
  ) &
  pids+=($!)
  logs+=("$log")
  echo "vm-check: started $r (log $log)"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
for p in "${pids[@]}"; do wait "$p" || true; done
echo "vm-check: all runs done in $(($(date +%s) - start)) s"
python3 "$here/matrix.py" "$repo/build/vm-matrix" "${logs[@]}"
