# t_crash.sh: crash safety.  Each test kills a focker command with SIGKILL right after its
# kernel call N (FOCKER_CRASH_AT=N, sys/crash.c), for N = 1, 2, 3 ... until the command
# completes, and after every point checks that `delete --force ID` brings the host back to
# exactly its prior state: no state dir, no process of the container, no mount (the whole of
# /proc/self/mounts compared), no cgroup.  Only the focker process's own calls are counted:
# the container init is its clone child and follows it through its parent-death signal.
# Sourced by run.sh.
# shellcheck shell=bash

# At most this many points per command (create makes ~250 calls); CRASH_STEP > 1 tests every
# CRASH_STEP-th point only (faster local runs).
CRASH_MAX=${CRASH_MAX:-600}
CRASH_STEP=${CRASH_STEP:-1}
# The container's `sleep` argument, unique per run: how its processes are recognised (other
# runs of this suite may be going on at the same time).
CRASH_SLEEP=$((200000 + RANDOM))

crash_bundle() {
  make_bundle "$E2E_TMP/b" "[\"sleep\",\"$CRASH_SLEEP\"]"
  printf '%s\n' "$CRASH_SLEEP" >"$E2E_TMP/crash-pat"
}

# crash_leftovers ID: print what the container left on the host (nothing when clean).
crash_leftovers() {
  local id=$1 procs i state
  # the lock file <id>, its siblings <id>=..., temporary files .<id>=...
  state=$(ls -A "$ROOT" 2>/dev/null | grep -E "^\.?$id(=|\$)" | tr '\n' ' ')
  [ -n "$state" ] && echo "state left in $ROOT: $state"
  printf '%s\n' "$ROOT" >>"$E2E_TMP/crash-pat" # in the init's command line (--root)
  # the init before exec carries the id in its command line, the user process the sleep
  # argument; a pattern file keeps grep itself from matching
  for i in $(seq 100); do
    procs=$(grep -lasF -f "$E2E_TMP/crash-pat" /proc/[0-9]*/cmdline 2>/dev/null | grep -v "/proc/$$/")
    [ -z "$procs" ] && break
    sleep 0.02 # a parent-death signal is delivered at once, but dying takes a moment
  done
  sed -i '$d' "$E2E_TMP/crash-pat"
  [ -n "$procs" ] && echo "processes left: $(echo "$procs" | tr '\n' ' ')"
  host_mounts >"$E2E_TMP/crash-mounts-now"
  if ! diff -q "$E2E_TMP/crash-mounts" "$E2E_TMP/crash-mounts-now" >/dev/null; then
    echo "mounts changed: $(diff "$E2E_TMP/crash-mounts" "$E2E_TMP/crash-mounts-now" | grep '^[<>]' | tr '\n' ' ')"
  fi
  local cg
  # shellcheck disable=SC2046 # one path a word
  cg=$(cgroups_left $(default_cgroups "$id"))
  [ -n "$cg" ] && echo "cgroups left: $(echo "$cg" | tr '\n' ' ')"
  return 0
}

# crash_check ID N CMD: after a crash at point N of CMD, delete --force must succeed and
# leave nothing.
crash_check() {
  local id=$1 n=$2 cmd=$3 out left
  if [ -n "${CRASH_USER:-}" ]; then
    crash_user_check "$id" "$n" "$cmd"
    return
  fi
  if ! out=$(fk delete --force "$id" 2>&1); then
    echo "    $cmd killed after call $n: delete --force $id failed: $out"
    return 1
  fi
  left=$(crash_leftovers "$id")
  if [ -n "$left" ]; then
    echo "    $cmd killed after call $n, then delete --force: $left"
    return 1
  fi
}

# crash_loop CMD SETUP RUN: for N = 1, CRASH_STEP+1 ...: SETUP ID (prepare), RUN ID (the
# command, with FOCKER_CRASH_AT set), check.  Stops when RUN completes without being killed.
crash_loop() {
  local cmd=$1 setup=$2 run=$3 n rc id points=0 out
  # a private copy of the binary: a rebuild during the loop must not fail it
  local bin=$FOCKER
  local FOCKER="$E2E_TMP/crash-focker"
  cp "$bin" "$FOCKER" || return 1
  host_mounts >"$E2E_TMP/crash-mounts"
  # a container's cgroups are looked for where the kernel put those of one like it
  out=$(default_cgroups_hold "crash$CRASH_SLEEP-ref")
  [ -n "$out" ] && { echo "    $out"; return 1; }
  for ((n = 1; n <= CRASH_MAX; n += CRASH_STEP)); do
    id="crash$CRASH_SLEEP-$cmd-$n" # unique per run
    # output to a file, not $(...): a started container holds its stdout open
    if ! $setup "$id" >"$E2E_TMP/crash-out" 2>&1 </dev/null; then
      echo "    setup for $cmd at $n failed: $(cat "$E2E_TMP/crash-out")"
      return 1
    fi
    FOCKER_CRASH_AT=$n $run "$id" >"$E2E_TMP/crash-out" 2>&1 </dev/null
    rc=$?
    out=$(cat "$E2E_TMP/crash-out")
    crash_check "$id" "$n" "$cmd" || return 1
    if [ "$rc" -ne 137 ]; then
      if [ "$rc" -ne 0 ]; then
        echo "    $cmd with FOCKER_CRASH_AT=$n: exit $rc, neither completed nor killed: $out"
        return 1
      fi
      if [ "$points" -lt 5 ]; then
        echo "    $cmd completed after $points crash points: the crash hook is not working"
        return 1
      fi
      echo "    $cmd: $points crash points, all cleaned up by delete --force" >&2
      return 0
    fi
    points=$((points + 1))
  done
  echo "    $cmd: still being killed after $CRASH_MAX calls; raise CRASH_MAX"
  return 1
}

crash_nothing() { :; }
crash_create() { fk create --bundle "$E2E_TMP/b" "$1" >/dev/null; }
crash_create_start() { fk create --bundle "$E2E_TMP/b" "$1" && fk start "$1"; }
crash_start() { fk start "$1"; }
crash_delete_force() { fk delete --force "$1"; }
crash_run_detached() { fk run --detach --bundle "$E2E_TMP/b" "$1" >/dev/null; }

test_crash_at_every_call_of_create_leaves_nothing_after_delete_force() {
  crash_bundle
  crash_loop create crash_nothing crash_create
}

test_crash_at_every_call_of_start_leaves_nothing_after_delete_force() {
  crash_bundle
  crash_loop start crash_create crash_start
}

test_crash_at_every_call_of_delete_leaves_nothing_after_delete_force() {
  crash_bundle
  crash_loop delete crash_create_start crash_delete_force
}

test_crash_at_every_call_of_run_leaves_nothing_after_delete_force() {
  crash_bundle
  crash_loop run crash_nothing crash_run_detached
}

# exec killed after each of its kernel calls: the joiner and the new
# process wait on pipes from focker and exit at EOF, so delete --force leaves nothing
crash_exec_detached() { fk exec --detach "$1" sleep "$CRASH_SLEEP" >/dev/null; }

test_crash_at_every_call_of_exec_leaves_nothing_after_delete_force() {
  crash_bundle
  crash_loop exec crash_run_detached crash_exec_detached
}

# The user face: `run -d IMAGE` killed after each of its kernel calls, then `rm -f NAME` (which
# may say "no such container" when the kill came before the name was taken) must leave no
# record, name, mount, runtime state, cgroup or process.  The monitor it forked is not
# counted (another process) and runs on; rm -f must stop it too.
crash_user_run() { fr run -d --name "$1" focker/busybox sleep "$CRASH_SLEEP" >/dev/null; }

crash_user_check() {
  local name=$1 n=$2 cmd=$3 out left id ids pid
  ids=$(ls "$URS/containers" 2>/dev/null | grep -v '^names$')
  # a running one: its cgroups are where the check after rm -f looks
  for id in $ids; do
    pid=$(state_pid "$id" 2>/dev/null)
    [ -n "$pid" ] && [ "$pid" != 0 ] || continue
    out=$(cgroups_not_in "$pid" "$(default_cgroups "$id")")
    [ -z "$out" ] || { echo "    cgroups of $id not where looked for: $out"; return 1; }
    CRASH_USER_CG_SEEN=1
  done
  if ! out=$(fr rm -f "$name" 2>&1) && [ "${out#*no such container}" = "$out" ]; then
    echo "    $cmd killed after call $n: rm -f $name failed: $out"
    return 1
  fi
  # a record whose name was never written: rm -f by id, as a user would after ps -a
  for id in $(ls "$URS/containers" 2>/dev/null | grep -v '^names$'); do
    fr rm -f "$id" >/dev/null 2>&1
  done
  left=$(crash_leftovers "$name"; ur_nothing_left 2>&1)
  for id in $ids; do # a record's runtime container has its id
    # shellcheck disable=SC2046 # one path a word
    [ -n "$(cgroups_left $(default_cgroups "$id"))" ] && left="$left cgroup of $id"
  done
  if [ -n "$left" ]; then
    echo "    $cmd killed after call $n, then rm -f: $left"
    return 1
  fi
}

test_crash_at_every_call_of_user_run_detached_leaves_nothing_after_rm_force() {
  ur_init || return 1
  crash_bundle # for crash_loop's check of where cgroups are
  CRASH_USER_CG_SEEN=0
  CRASH_USER=1 crash_loop user-run crash_nothing crash_user_run || return 1
  assert_eq "$CRASH_USER_CG_SEEN" 1 "a running container's cgroups seen"
}
