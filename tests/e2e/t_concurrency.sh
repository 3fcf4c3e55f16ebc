# t_concurrency.sh: concurrent commands on shared containers.  Eight workers run
# create/start/kill/delete/state/list commands on a pool of 200 container ids while a reader
# parses every state.json it can find, over and over.  Each worker creates the ids of its
# stretch of the pool in turn (every id is in two workers' stretches, reached at different
# times), and between two creates runs a random command on an id it or its neighbour created
# lately, so commands collide on live containers.  Afterwards: every id was created, no
# state.json was ever torn (nor any `state` or `list --format json` output), no command
# crashed, every failure is one of the expected races with a clear message, and after
# `delete --force` of the pool nothing is left (state dir, process, mount, cgroup).  Bounded in
# time (CONC_SECONDS).  Sourced by run.sh.
# shellcheck shell=bash

CONC_WORKERS=${CONC_WORKERS:-8}
CONC_IDS=${CONC_IDS:-200}
CONC_SECONDS=${CONC_SECONDS:-150}
CONC_SLEEP=$((100000 + RANDOM)) # unique per run: other runs of this suite may overlap

# What a command may say when another worker got there first.
CONC_EXPECTED_ERRORS='already exists|does not exist|not stopped|not in created state|still being created|deleted while being created|is not running|no such process'

conc_worker() {
  local w=$1 end=$2 i id op rc k
  local log="$E2E_TMP/conc/w$w.log"
  # this worker's stretch: CONC_IDS / CONC_WORKERS * 2 ids from its own start
  local base=$((w * CONC_IDS / CONC_WORKERS)) len=$((2 * CONC_IDS / CONC_WORKERS))
  for ((i = 0; i < 2 * len && SECONDS < end; i++)); do
    k=$((i / 2))
    if ((i % 2 == 0)); then
      op="create --bundle $E2E_TMP/b conc$CONC_SLEEP-$(((base + k) % CONC_IDS))"
    else
      id="conc$CONC_SLEEP-$(((base + k - RANDOM % 12 + CONC_IDS) % CONC_IDS))"
      case $((RANDOM % 7)) in
      0 | 1) op="start $id" ;;
      2) op="kill $id KILL" ;;
      3) op="delete $id" ;;
      4) op="delete --force $id" ;;
      5) op="state $id" ;;
      6) op="list --format json" ;;
      esac
    fi
    # shellcheck disable=SC2086
    "$FOCKER" --root "$ROOT" $op >"$E2E_TMP/conc/w$w.out" 2>"$E2E_TMP/conc/w$w.err" </dev/null
    rc=$?
    case "$op" in
    state* | list*)
      if [ $rc -eq 0 ] &&
        ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$E2E_TMP/conc/w$w.out" 2>/dev/null; then
        echo "BAD output of $op: $(head -c 200 "$E2E_TMP/conc/w$w.out")" >>"$log"
      fi
      ;;
    esac
    echo "$rc|$op|$(head -c 300 "$E2E_TMP/conc/w$w.err" | tr '\n' '~')" >>"$log"
  done
}

# Parse every state.json under ROOT until the stop file appears; print "READ N TORN M".
conc_reader() {
  python3 - "$ROOT" "$E2E_TMP/conc/stop" <<'EOF'
import glob, json, os, sys
root, stop = sys.argv[1], sys.argv[2]
n = torn = 0
while not os.path.exists(stop):
    for f in glob.glob(root + "/*=state.json"):
        try:
            with open(f) as fh:
                s = fh.read()
        except OSError:
            continue
        n += 1
        try:
            json.loads(s)
        except ValueError:
            torn += 1
            print("torn %s: %r" % (f, s[:120]), file=sys.stderr)
print("READ %d TORN %d" % (n, torn))
EOF
}

test_concurrent_commands_never_tear_state_and_leave_nothing() {
  make_bundle "$E2E_TMP/b" "[\"sleep\",\"$CONC_SLEEP\"]"
  mkdir -p "$E2E_TMP/conc"
  # a private copy of the binary: a rebuild during the run must not fail the commands
  local bin=$FOCKER
  local FOCKER="$E2E_TMP/conc/focker"
  cp "$bin" "$FOCKER" || return 1
  local before_mounts end w pids=() reader failed=0 ref=conc$CONC_SLEEP-ref
  before_mounts=$(host_mounts)
  # the pool's cgroups are looked for where the kernel puts those of one like them
  w=$(default_cgroups_hold "$ref")
  [ -n "$w" ] && { echo "    $w"; return 1; }
  end=$((SECONDS + CONC_SECONDS))
  conc_reader >"$E2E_TMP/conc/reader" 2>&1 &
  reader=$!
  for ((w = 0; w < CONC_WORKERS; w++)); do
    conc_worker "$w" "$end" &
    pids+=($!)
  done
  wait "${pids[@]}"
  touch "$E2E_TMP/conc/stop"
  wait "$reader"

  local total ok crashed unexpected op
  cat "$E2E_TMP"/conc/w*.log >"$E2E_TMP/conc/all"
  total=$(grep -c '|' "$E2E_TMP/conc/all")
  ok=$(grep -c '^0|' "$E2E_TMP/conc/all")
  echo "    $total commands ($ok succeeded) by $CONC_WORKERS workers; reader: $(cat "$E2E_TMP/conc/reader" | tail -1)" >&2
  local created
  created=$(grep '^0|create' "$E2E_TMP/conc/all" | sed 's/.* //' | sort -u | wc -l)
  if [ "$created" -ne "$CONC_IDS" ]; then
    echo "    $created of $CONC_IDS containers created (out of time after $CONC_SECONDS s?)"
    failed=1
  fi
  for op in start kill delete state list; do
    if ! grep -q "^0|$op" "$E2E_TMP/conc/all"; then
      echo "    no $op succeeded: the test did not exercise it"
      failed=1
    fi
  done
  if grep -q '^BAD' "$E2E_TMP/conc/all"; then
    grep '^BAD' "$E2E_TMP/conc/all" | head -5 | sed 's/^/    /'
    failed=1
  fi
  crashed=$(grep -E '^(1[3-9][0-9]|2[0-9][0-9])\|' "$E2E_TMP/conc/all")
  if [ -n "$crashed" ]; then
    echo "    commands died: $(echo "$crashed" | head -5)"
    failed=1
  fi
  # every failure: exactly one line (the ~ is a newline), naming an expected race
  unexpected=$(grep -v '^0|' "$E2E_TMP/conc/all" | grep -v '^BAD' |
    grep -vE "^[0-9]+\|[^|]*\|focker: [^~]*($CONC_EXPECTED_ERRORS)[^~]*~$")
  if [ -n "$unexpected" ]; then
    echo "    unexpected failures:"
    echo "$unexpected" | sort | uniq | head -20 | sed 's/^/      /'
    failed=1
  fi
  if ! grep -q 'TORN 0$' "$E2E_TMP/conc/reader"; then
    echo "    torn state.json seen: $(head -5 "$E2E_TMP/conc/reader")"
    failed=1
  fi

  # every state.json the workers left parses
  python3 -c '
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*=state.json"):
    try:
        json.load(open(f))
    except ValueError as e:
        print("    %s does not parse: %s" % (f, e))
        sys.exit(1)' "$ROOT" || failed=1

  # clean up the pool, then nothing may be left
  local id left
  for ((w = 0; w < CONC_IDS; w++)); do
    fk delete --force "conc$CONC_SLEEP-$w" >/dev/null 2>"$E2E_TMP/conc/err" ||
      { echo "    delete --force conc$CONC_SLEEP-$w: $(cat "$E2E_TMP/conc/err")"; failed=1; }
  done
  [ -n "$(ls -A "$ROOT" 2>/dev/null)" ] && { echo "    state left: $(ls -A "$ROOT")"; failed=1; }
  printf '%s\n' "$CONC_SLEEP" "$ROOT" >"$E2E_TMP/conc/pat"
  for _ in $(seq 50); do
    left=$(grep -lasF -f "$E2E_TMP/conc/pat" /proc/[0-9]*/cmdline 2>/dev/null)
    [ -z "$left" ] && break
    sleep 0.05
  done
  [ -n "$left" ] && { echo "    processes left: $left"; failed=1; }
  [ "$(host_mounts)" != "$before_mounts" ] && { echo "    the host's mounts changed"; failed=1; }
  # shellcheck disable=SC2046 # one path a word
  left=$(for ((w = 0; w < CONC_IDS; w++)); do cgroups_left $(default_cgroups "conc$CONC_SLEEP-$w"); done)
  [ -n "$left" ] && { echo "    cgroups left: $(echo "$left" | head -3)"; failed=1; }
  return $failed
}

# A command that waited on a container's lock while another deleted it must not then act on
# the id by name: the id may already name a new container.  Reproduced step by step: hold
# the lock file of an abandoned create, let `delete --force` queue on it, replace the file by
# a new container, release.  The new container must survive (the CI failure of 2026-11-23:
# a stale delete --force removed the state and killed the init of a create in progress).
test_stale_lock_waiter_leaves_a_new_container_alone() {
  command -v flock >/dev/null || skip "no flock(1)"
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  mkdir -p "$ROOT" "$E2E_TMP/lk"
  : >"$ROOT/s1"
  mkfifo "$E2E_TMP/lk/held" "$E2E_TMP/lk/go"
  flock -x "$ROOT/s1" sh -c "echo > '$E2E_TMP/lk/held'; read _ < '$E2E_TMP/lk/go'" &
  local holder=$! del ino waited=0 failed=0
  read -r _ <"$E2E_TMP/lk/held"
  ino=$(stat -c %i "$ROOT/s1")
  fk delete --force s1 2>"$E2E_TMP/lk/err" &
  del=$!
  for _ in $(seq 200); do
    grep -qE -- "-> FLOCK .*:$ino " /proc/locks && { waited=1; break; }
    sleep 0.02
  done
  mv "$ROOT/s1" "$E2E_TMP/lk/old"
  fk create --bundle "$E2E_TMP/b" s1 || failed=1
  echo >"$E2E_TMP/lk/go"
  wait "$holder"
  wait "$del" || { echo "    delete --force failed: $(cat "$E2E_TMP/lk/err")"; failed=1; }
  [ $waited = 1 ] || { echo "    delete --force never queued on the lock"; failed=1; }
  local st
  st=$(fk state s1 2>&1) || { echo "    the new container is gone: $st"; failed=1; }
  [ $failed = 1 ] || assert_contains "$st" '"created"' || failed=1
  fk delete --force s1 || failed=1
  return $failed
}
