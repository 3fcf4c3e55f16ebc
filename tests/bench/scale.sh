#!/usr/bin/env bash
# scale.sh: many detached containers with networking, one after another (issue 7, item 5).
#
# Run by `make bench-scale` (root).  Everything happens in a throwaway network and mount
# namespace (unshare -n -m), so focker0, the veths and the nft table never touch this host's
# network, with its own runtime root and store in a temp dir.  It
#   1. starts BENCH_SCALE_N (100) `focker run -d -p PORT:80 focker/busybox sleep 3600`, one
#      after another, and prints the median time of the first 10 and of the last 10;
#   2. prints the memory one idle container costs: the proportional set size (PSS, from
#      /proc/PID/smaps_rollup) of its monitor and its processes, and its cgroup's memory
#      use, averaged over the N;
#   3. removes them all (`rm -f`), then times `focker run --rm --network bridge IMAGE true`
#      against `podman run --rm` of the same image (podman with its default runtime, in its
#      own storage under the temp dir, --network none since its bridge needs CNI plugins
#      configured: a floor for podman), BENCH_SCALE_ITERS (10) times each, interleaved.
# Targets (issue 7): last 10 no slower than 1.2x the first 10; under 1 MiB per container;
# focker run --rm at most 0.2x podman's.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
focker=${FOCKER:-$top/build/focker}
n=${BENCH_SCALE_N:-100}
iters=${BENCH_SCALE_ITERS:-10}
say () { printf 'bench-scale: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { say "needs root: skipped"; exit 77; }
[ -x "$focker" ] || { say "$focker is not built"; exit 2; }

if [ -z "${BENCH_SCALE_INSIDE:-}" ]; then
  tmp=$(mktemp -d /tmp/focker-bench-scale.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  BENCH_SCALE_INSIDE=1 TMPDIR_BENCH=$tmp FOCKER=$focker \
    unshare -n -m --propagation private "$0" "$@"
  exit $?
fi

tmp=$TMPDIR_BENCH
ip link set lo up
fk () { "$focker" --root "$tmp/run" --storage-root "$tmp/store" "$@"; }
ids=()
cleanup () {
  set +e
  for id in "${ids[@]}"; do fk rm -f "$id" >/dev/null 2>&1; done
  ip link del focker0 2>/dev/null
  nft delete table ip focker 2>/dev/null
}
trap cleanup EXIT

fk image build-default >/dev/null
median () { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now () { date +%s%N; }
ms () { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f\n", (b - a) / 1e6}'; }

: >"$tmp/first"; : >"$tmp/last"
for i in $(seq "$n"); do
  t0=$(now)
  id=$(fk run -d -p "$((20000 + i)):80" focker/busybox sleep 3600)
  t1=$(now)
  ids+=("$id")
  if [ "$i" -le 10 ]; then ms "$t0" "$t1" >>"$tmp/first"; fi
  if [ "$i" -gt $((n - 10)) ]; then ms "$t0" "$t1" >>"$tmp/last"; fi
done
first=$(median <"$tmp/first")
last=$(median <"$tmp/last")
say "$n containers with bridge networking and a published port each"
say "run -d: first 10 median ${first} ms, last 10 median ${last} ms, last/first $(awk -v a="$last" -v b="$first" 'BEGIN {printf "%.2f", a / b}') (target <= 1.2)"

# memory per idle container: PSS of the monitor and of the container's processes (every
# process whose cgroup path names the container), and the cgroup's own count
pss_kb () { awk '/^Pss:/ {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
total_pss=0
total_cg=0
for id in "${ids[@]}"; do
  for p in $(grep -l "$id" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3); do
    total_pss=$((total_pss + $(pss_kb "$p")))
  done
  mon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("MonitorPid") or "")' \
    "$tmp/store/containers/$id/state.json" 2>/dev/null || true)
  [ -n "$mon" ] && [ -d "/proc/$mon" ] && total_pss=$((total_pss + $(pss_kb "$mon")))
  f=$(ls -d /sys/fs/cgroup/memory/*"$id"*/memory.usage_in_bytes /sys/fs/cgroup/*"$id"*/memory.current 2>/dev/null | head -n 1 || true)
  [ -n "$f" ] && total_cg=$((total_cg + $(cat "$f") / 1024))
done
say "idle container: $((total_pss / n)) KiB PSS (monitor and processes), $((total_cg / n)) KiB in its memory cgroup (target < 1024 KiB)"

t0=$(now)
for id in "${ids[@]}"; do fk rm -f "$id" >/dev/null; done
t1=$(now)
say "rm -f of $n: $(ms "$t0" "$t1") ms in all"
ids=()

# focker run --rm (overlay + netns + veth) against podman run --rm of the same image
have_podman=0
if command -v podman >/dev/null; then
  pmd=$tmp/pm
  mkdir -p "$pmd/tmp"
  # podman's default rlimits (nofile and nproc 1048576) are above the hard limits where root
  # lacks CAP_SYS_RESOURCE: ask for what this host allows, as focker's own defaults do
  nproc=$(ulimit -Hu)
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
    "$(ulimit -Hn)" "$(ulimit -Hn)" "$nproc" "$nproc" >"$pmd/containers.conf"
  pm () { CONTAINERS_CONF=$pmd/containers.conf podman --root "$pmd/storage" --runroot "$pmd/run" \
    --tmpdir "$pmd/tmp" --storage-driver overlay --cgroup-manager cgroupfs --events-backend none "$@"; }
  fk save focker/busybox -o "$tmp/img.tar" >/dev/null
  pm_rt=()
  if pm load -q -i "$tmp/img.tar" >/dev/null 2>&1; then
    # its default runtime (crun), or runc where crun refuses the host (crun 1.8 and a hybrid
    # cgroup layout)
    for rt in "" runc; do
      [ -n "$rt" ] && pm_rt=(--runtime "$rt")
      if pm run "${pm_rt[@]}" --rm --network none localhost/focker/busybox true >/dev/null 2>&1; then
        have_podman=1
        break
      fi
    done
  fi
  [ "$have_podman" = 1 ] || say "podman cannot run the image here: its column is skipped"
fi
: >"$tmp/f.t"; : >"$tmp/p.t"
for _ in $(seq "$iters"); do
  t0=$(now)
  fk run --rm focker/busybox true
  t1=$(now)
  ms "$t0" "$t1" >>"$tmp/f.t"
  if [ "$have_podman" = 1 ]; then
    pm run "${pm_rt[@]}" --rm --network none localhost/focker/busybox true
    t2=$(now)
    ms "$t1" "$t2" >>"$tmp/p.t"
  fi
done
f=$(median <"$tmp/f.t")
say "focker run --rm (bridge) median ${f} ms"
if [ "$have_podman" = 1 ]; then
  p=$(median <"$tmp/p.t")
  say "podman${pm_rt[1]:+ (runtime ${pm_rt[1]})} run --rm (--network none) median ${p} ms; focker/podman $(awk -v a="$f" -v b="$p" 'BEGIN {printf "%.2f", a / b}') (target <= 0.2)"
  pm system reset -f >/dev/null 2>&1 || true
fi
