#!/usr/bin/env bash
# bench.sh: focker vs crun vs runc on a busybox-static bundle running /bin/true, as ratios.
#
# Run by `make bench` (root).  It compiles tests/bench/measure.c into build/bench/, builds a
# throw-away bundle in a temp dir and lets measure run `RUNTIME run` for each runtime,
# interleaved per iteration, then (BENCH_SPLIT=1, the default) create+start+delete as three
# timed steps.  measure, not this script, does the timing, so no shell is in the measured
# path.  Only ratios mean anything: absolute times depend on the machine and are never
# asserted.
#
# Why it is built this way:
# - Every runtime gets its own --root state dir under the temp dir and every run a fresh
#   container id with a prefix unique to this bench (fbench-PID-), so the EXIT trap can
#   `delete --force` leftovers and remove leftover cgroups knowing they are ours.
# - On a hybrid cgroup host (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified) crun 1.8
#   refuses to run unless cgroup2's cgroup.controllers reads empty.  measure -m binds
#   /dev/null over it in a private mount namespace once, for all runtimes alike, so the
#   comparison stays fair and no per-run shell or unshare is added.
# - focker is probed with one run first; if it is missing or fails on the bundle this says
#   so, still reports crun vs runc, and exits non-zero.
#
# - BENCH_FLOOR=1 adds tests/bench/floor.c to the `run` comparison: the same kernel work
#   (namespaces, mounts, pivot_root, cgroups, state file) with no runtime around it,
#   so focker/floor is focker's own overhead and floor/crun the best ratio this host allows.
#
# - FOCKER_BASE=/path/to/another/focker (main's build, say) adds that build as runtime
#   "base", in the same interleaved rounds: focker/base is what a change gained.
#
# Environment: BENCH_ITERS (30), BENCH_WARMUP (3), BENCH_SPLIT (1), BENCH_FLOOR (0), FOCKER
# (build/focker), FOCKER_BASE, CRUN, RUNC, BUSYBOX (paths; default from PATH and /bin/busybox), CC (cc),
# BENCH_HIDE_CGROUP2 (auto; 0 never, 1 always), BENCH_OUT (build/bench: where measure and floor
# are built; `make bench` passes $(B)/bench and $(B)/focker).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
iters=${BENCH_ITERS:-30}
warmup=${BENCH_WARMUP:-3}
split=${BENCH_SPLIT:-1}
focker=${FOCKER:-$top/build/focker}
crun=${CRUN:-$(command -v crun || true)}
runc=${RUNC:-$(command -v runc || true)}
busybox=${BUSYBOX:-/bin/busybox}
out=${BENCH_OUT:-$top/build/bench}
measure=$out/measure
controllers=/sys/fs/cgroup/unified/cgroup.controllers

say () { printf 'bench: %s\n' "$*"; }
fail () { printf 'bench: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || fail "needs root (runs containers)"
[[ $iters =~ ^[0-9]+$ && $iters -ge 1 ]] || fail "BENCH_ITERS must be a positive integer"
[[ $warmup =~ ^[0-9]+$ ]] || fail "BENCH_WARMUP must be a non-negative integer"
[ -x "$busybox" ] || fail "no busybox at $busybox (apt-get install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
  fail "$busybox is dynamically linked; the bundle needs busybox-static"
fi

# Hide cgroup2's controllers on a hybrid host (see the header).
case ${BENCH_HIDE_CGROUP2:-auto} in
  0) hide= ;;
  1) hide=$controllers ;;
  *)
    hide=
    if [ -e "$controllers" ] && [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
      hide=$controllers
    fi
    ;;
esac

mkdir -p "$out"
"${CC:-cc}" -O2 -Wall -Wextra -D_GNU_SOURCE -o "$measure" "$here/measure.c" -lm
floor=
if [ "${BENCH_FLOOR:-0}" = 1 ]; then
  floor=$out/floor
  "${CC:-cc}" -O2 -static -Wall -Wextra -o "$floor" "$here/floor.c"
fi

work=$(mktemp -d /tmp/focker-bench.XXXXXX)
prefix="fbench-$$-"
bundle=$work/bundle

# Run "$@" where crun can work: in a private mount namespace with $hide bound to /dev/null.
# shellcheck disable=SC2016,SC2317 # $0 and $@ are for the inner sh; called from the trap
in_ns () {
  if [ -n "$hide" ]; then
    unshare -m --propagation private sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$hide" "$@"
  else
    "$@"
  fi
}

# shellcheck disable=SC2317 # reached through the trap
cleanup () {
  local status=$? name bin root id d pid
  trap - EXIT INT TERM
  set +e
  # Containers: whatever a runtime still lists or keeps state for, if it is ours.
  for name in focker base crun runc; do
    case $name in
      focker) bin=$focker ;;
      base) bin=${FOCKER_BASE:-} ;;
      crun) bin=$crun ;;
      runc) bin=$runc ;;
    esac
    root=$work/state-$name
    if [ ! -d "$root" ] || [ -z "$bin" ] || [ ! -x "$bin" ]; then
      continue
    fi
    { in_ns "$bin" --root "$root" list -q 2>/dev/null; ls -1 "$root"; } | sort -u |
      while read -r id; do
        case $id in
          "$prefix"*) in_ns "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 ;;
        esac
      done
  done
  # Cgroups: only ones whose names carry our prefix; kill what is left in them, then rmdir
  # depth-first.
  while read -r d; do
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
      kill -KILL "$pid" 2>/dev/null
    done
    for _ in 1 2 3 4 5; do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$d" ] || break
      sleep 0.1
    done
    if [ -d "$d" ]; then
      printf 'bench: could not remove cgroup %s\n' "$d" >&2
      status=1
    fi
  done < <(find /sys/fs/cgroup -type d -name "*$prefix*" -prune 2>/dev/null)
  # Mounts: the runtimes mount in their own namespaces, so nothing should be here.
  if grep -q " $work" /proc/self/mounts; then
    printf 'bench: mounts left under %s:\n' "$work" >&2
    grep " $work" /proc/self/mounts >&2
    status=1
  else
    case $work in
      /tmp/focker-bench.*) rm -rf -- "$work" ;;
    esac
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The bundle: busybox-static as /bin/busybox, sh and true as symlinks, the runtime's default
# spec with args ["/bin/true"] and no terminal.
mkdir -p "$bundle/rootfs/bin"
cp "$busybox" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/sh"
ln -s busybox "$bundle/rootfs/bin/true"
if [ -n "$crun" ]; then
  (cd "$bundle" && "$crun" spec)
elif [ -n "$runc" ]; then
  (cd "$bundle" && "$runc" spec)
else
  fail "neither crun nor runc found; nothing to compare against"
fi
if command -v python3 >/dev/null; then
  python3 - "$bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    c = json.load(f)
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
with open(path, "w") as f:
    json.dump(c, f, indent=1)
EOF
elif command -v jq >/dev/null; then
  jq '.process.args = ["/bin/true"] | .process.terminal = false' "$bundle/config.json" \
    >"$bundle/config.new"
  mv "$bundle/config.new" "$bundle/config.json"
else
  sed -i 's/"terminal": true/"terminal": false/; s/^\(\s*\)"sh"$/\1"\/bin\/true"/' \
    "$bundle/config.json"
fi
grep -q '"/bin/true"' "$bundle/config.json" || fail "could not set args in config.json"

# Which runtimes take part.  focker goes first: the ratios are first/other.
names=()
bins=()
status=0
focker_problem=
if [ ! -x "$focker" ]; then
  focker_problem="$focker does not exist or is not executable (run make first)"
else
  mkdir -p "$work/state-focker"
  if ! "$measure" -n 1 -w 0 -i "${prefix}probe-" ${hide:+-m "$hide"} -r focker \
    -s "run=$focker --root $work/state-focker run --bundle $bundle @ID@" >/dev/null; then
    focker_problem="$focker failed on the bundle (its output is above)"
  else
    names+=(focker)
    bins+=("$focker")
  fi
fi
if [ -n "$focker_problem" ]; then
  say "FOCKER NOT BENCHMARKED: $focker_problem"
  say "reporting crun vs runc only; exit status will be 1"
  status=1
fi
if [ -n "${FOCKER_BASE:-}" ]; then
  [ -x "$FOCKER_BASE" ] || fail "FOCKER_BASE=$FOCKER_BASE is not an executable"
  names+=(base)
  bins+=("$FOCKER_BASE")
fi
for name in crun runc; do
  bin=${!name}
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    say "$name not found; leaving it out"
    status=1
    continue
  fi
  names+=("$name")
  bins+=("$bin")
done
[ ${#names[@]} -ge 1 ] || fail "no runtime to measure"

versions=
for i in "${!names[@]}"; do
  v=$("${bins[$i]}" --version 2>/dev/null | head -n1 | grep -o '[0-9][0-9.a-z+~-]*' | head -n1 || true)
  versions+="${versions:+, }${names[$i]} ${v:-?}"
done
if [ -n "$hide" ]; then
  say "runtimes: $versions; $hide hidden (hybrid cgroup host)"
else
  say "runtimes: $versions"
fi

# run: one step per runtime.
args=()
for i in "${!names[@]}"; do
  root=$work/state-${names[$i]}
  mkdir -p "$root"
  args+=(-r "${names[$i]}" -s "run=${bins[$i]} --root $root run --bundle $bundle @ID@")
done
if [ -n "$floor" ]; then
  mkdir -p "$work/state-floor"
  args+=(-r floor -s "run=$floor --root $work/state-floor run --bundle $bundle @ID@")
fi
echo
say "/bin/true in a busybox bundle, $iters runs each after $warmup warm-ups, interleaved"
"$measure" -n "$iters" -w "$warmup" -i "$prefix" ${hide:+-m "$hide"} "${args[@]}"

# create + start + delete as separate timed steps.  delete --force: /bin/true may or may not
# have exited when delete comes, and a plain delete of a running container fails.
if [ "$split" = 1 ]; then
  args=()
  for i in "${!names[@]}"; do
    b=${bins[$i]}
    root=$work/state-${names[$i]}
    args+=(-r "${names[$i]}"
      -s "create=$b --root $root create --bundle $bundle @ID@"
      -s "start=$b --root $root start @ID@"
      -s "delete=$b --root $root delete --force @ID@")
  done
  echo
  say "create + start + delete --force, $iters runs each after $warmup warm-ups, interleaved"
  "$measure" -n "$iters" -w "$warmup" -i "${prefix}s-" ${hide:+-m "$hide"} "${args[@]}"
fi

exit "$status"
