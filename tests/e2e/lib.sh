# lib.sh: helpers for the end-to-end tests (sourced by tests/e2e/run.sh and vm/ runs).
#
# Every test gets a fresh bundle built from busybox-static and its own --root, under one
# temporary directory that the runner removes at exit, after `delete --force` of whatever a
# failed test left.  Leftover checks look at mounts, state dirs and processes, so a test that
# passes but leaks still fails.

FOCKER=${FOCKER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/focker}
BUSYBOX=${BUSYBOX:-/bin/busybox}
E2E_TMP=${E2E_TMP:-}

e2e_init() {
  E2E_TMP=$(mktemp -d /tmp/focker-e2e.XXXXXX)
  ROOT="$E2E_TMP/state"
}

# make_bundle DIR ARGS_JSON: a busybox rootfs and the config `focker spec` writes, with
# terminal off and the given process.args.
make_bundle() {
  local dir=$1 args=$2
  # The busybox tree is built once per run and copied: 400 `ln` processes per bundle cost
  # minutes under QEMU's TCG (vm/), one `cp -a` does not.
  local tpl="${E2E_TMP:-$(dirname "$dir")}/.rootfs-template"
  if [ ! -d "$tpl" ]; then
    mkdir -p "$tpl.new/bin" "$tpl.new/tmp" "$tpl.new/etc" "$tpl.new/proc" "$tpl.new/sys" "$tpl.new/dev"
    cp "$BUSYBOX" "$tpl.new/bin/busybox"
    (cd "$tpl.new/bin" && for app in $("$BUSYBOX" --list); do
      [ -e "$app" ] || "$BUSYBOX" ln -s busybox "$app"
    done)
    mv "$tpl.new" "$tpl"
  fi
  mkdir -p "$dir"
  cp -a "$tpl" "$dir/rootfs"
  (cd "$dir" && "$FOCKER" spec)
  edit_config "$dir" "c['process']['terminal'] = False; c['process']['args'] = $args; c['root']['readonly'] = False"
}

# edit_config DIR PYTHON: run python statements on the parsed config as `c`.
edit_config() {
  python3 - "$1/config.json" "$2" <<'EOF'
import json, sys
path, code = sys.argv[1], sys.argv[2]
c = json.load(open(path))
exec(code)
json.dump(c, open(path, "w"), indent=1)
EOF
}

fk() { "$FOCKER" --root "$ROOT" "$@"; }

# skip REASON: end this test as skipped (exit 77; run.sh prints "skip test_x: REASON").  For
# what the kernel or host lacks (a controller, a module, a sysctl), never for a bug.  Tests
# run in a subshell, so the exit ends only the test.
skip() {
  echo "$*"
  exit 77
}

# kernel_at_least MAJOR MINOR: the running kernel is that version or newer.
kernel_at_least() {
  local v maj min
  v=$(uname -r)
  maj=${v%%.*}
  min=${v#*.}
  min=${min%%[!0-9]*}
  [ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

# Mounts under our temporary directory (there must be none after a container is deleted).
leftover_mounts() { grep -c " $E2E_TMP" /proc/self/mounts || true; }

# The host's mount table, for before/after comparisons, without what another e2e run on the
# same machine may mount meanwhile: its own temporary directory's mounts and the network
# namespaces its podman makes.  focker mounts neither for this run's containers.
host_mounts() {
  awk -v mine="$E2E_TMP" '
    $2 ~ /^\/run\/netns\/netns-/ { next }
    $2 ~ /^\/tmp\/focker-e2e\./ && index($2, mine) != 1 { next }
    # containerd mounts a snapshot at /tmp/containerd-mountN while it unpacks; one whose
    # layers are in the temp dir of another run belongs to that run
    $2 ~ /^\/tmp\/containerd-mount/ && $4 ~ /\/tmp\/focker-e2e\./ && index($4, mine) == 0 { next }
    { print }' /proc/self/mounts
}

# root_parent [ROOT]: the prefix of the default cgroups of a runtime root ($ROOT when none
# given): /focker-<FNV-1a of --root>-<id>.  Unique per run, unlike a glob on the id alone
# (other runs of this suite on the machine use the same ids).  In bash, byte by byte: a
# python start-up per call cost 0.5 s on a loaded host, and bad_expect asks once a case.
root_parent() {
  local s=${1:-$ROOT} h=2166136261 i c LC_ALL=C
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%d' "'${s:i:1}"
    h=$((((h ^ (c & 255)) * 16777619) & 0xffffffff))
  done
  printf 'focker-%08x\n' "$h"
}

# run_cgroups [ROOT]: the default cgroups of a runtime root ($ROOT), sorted.  focker makes
# them one level deep (/focker-<hash>-<id>), so the top of each hierarchy is looked at (a
# glob: two directory reads each) rather than the whole tree walked.
run_cgroups() {
  local pfx
  pfx=$(root_parent "${1:-$ROOT}")
  compgen -G "/sys/fs/cgroup/$pfx-*" | sort
  compgen -G "/sys/fs/cgroup/*/$pfx-*" | sort
  return 0
}

# cgroup_mounts: the mount point of each cgroup hierarchy (v1 and v2) mounted at its root in
# this mount namespace, one a line.
cgroup_mounts() {
  [ -n "${CGROUP_MOUNTS:-}" ] && { echo "$CGROUP_MOUNTS"; return 0; }
  awk '{ for (i = 7; $i != "-"; i++) ; if (($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") && $4 == "/") print $5 }' \
    /proc/self/mountinfo
}
# read once: they do not change during a run, and a check after every crash point asks
CGROUP_MOUNTS=$(cgroup_mounts)

# pid_cgroups PID: the cgroup dirs of process PID, one a line: each line of /proc/PID/cgroup
# under its hierarchy's mount point (a hierarchy's root, no container's own, left out).  Read
# while the container runs; check with cgroups_left that they are gone after its delete.
pid_cgroups() {
  awk -F: 'NR == FNR {
      n = split($0, f, " "); for (i = 7; f[i] != "-"; i++) ;
      if (f[4] != "/") next
      if (f[i + 1] == "cgroup2") mnt[""] = f[5]
      else if (f[i + 1] == "cgroup") { k = split(f[i + 3], o, ","); for (j = 1; j <= k; j++) mnt[o[j]] = f[5] }
      next }
    { split($2, c, ","); key = $2 == "" ? "" : c[1]
      if ((key in mnt) && $3 != "/") print mnt[key] $3 }' /proc/self/mountinfo "/proc/$1/cgroup" | sort
}

# default_cgroups ID [ROOT]: where focker makes container ID's cgroups when its config names
# no cgroupsPath: /<root_parent ROOT>-<ID> in every mounted hierarchy (those it made no dir in
# too, so a superset).  Exact paths: checking them reads no other cgroup of the machine.
default_cgroups() {
  local m p
  p=$(root_parent "${2:-$ROOT}")
  for m in $(cgroup_mounts); do echo "$m/$p-$1"; done
}

# cgroups_left DIR...: those of the DIRs that still exist, one a line (nothing when all are
# gone).
cgroups_left() {
  local d
  for d in "$@"; do [ -e "$d" ] && echo "$d"; done
  return 0
}

# cgroups_not_in PID DIRS: the cgroups of PID (pid_cgroups) missing from DIRS (one a line):
# nothing when DIRS covers all of them (and PID has a cgroup of its own).  Checks that the
# paths a test looks at after a delete are where the kernel put the container.
cgroups_not_in() {
  local own
  own=$(pid_cgroups "$1" 2>/dev/null)
  [ -n "$own" ] || { echo "no cgroup of its own for pid [$1]"; return 0; }
  echo "$own" | grep -vxF -f <(printf '%s\n' "$2") || true
}

# default_cgroups_hold ID: container ID created from $E2E_TMP/b has its cgroups among
# default_cgroups ID, and after delete --force none is left; prints what is wrong.  Run once
# before a test relies on default_cgroups to find what other containers leave.
default_cgroups_hold() {
  local w
  fk create --bundle "$E2E_TMP/b" "$1" >/dev/null || { echo "create $1 failed"; return 0; }
  w=$(cgroups_not_in "$(state_pid "$1")" "$(default_cgroups "$1")")
  fk delete --force "$1" || echo "delete --force $1 failed"
  [ -n "$w" ] && echo "cgroups of $1 not where looked for: $w"
  # shellcheck disable=SC2046 # one path a word
  w=$(cgroups_left $(default_cgroups "$1"))
  [ -n "$w" ] && echo "cgroups of $1 left after delete --force: $w"
  return 0
}

# state_pid ID: the init pid of runtime container ID (from `focker state`).
state_pid() { fk state "$1" | sed -n 's/^ *"pid": \([0-9]*\),$/\1/p'; }

assert_eq() {
  if [ "$1" != "$2" ]; then
    echo "    expected [$2], got [$1] ${3:-}"
    return 1
  fi
}

assert_contains() {
  case "$1" in
  *"$2"*) return 0 ;;
  *)
    echo "    expected output to contain [$2], got [$1]"
    return 1
    ;;
  esac
}

assert_not_contains() {
  case "$1" in
  *"$2"*)
    echo "    expected output without [$2], got [$1]"
    return 1
    ;;
  esac
}

assert_nothing_left() {
  local m
  m=$(leftover_mounts)
  assert_eq "$m" 0 "mounts left under $E2E_TMP" || return 1
  if [ -d "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ]; then
    echo "    state left: $(ls -A "$ROOT")"
    return 1
  fi
}

# Force-delete everything under ROOT (used between tests and at exit).
cleanup_root() {
  local id
  [ -d "${ROOT:-}" ] || return 0
  for id in $(ls -A "$ROOT" 2>/dev/null); do
    case $id in *=*) continue ;; esac # a container's file other than its lock file
    "$FOCKER" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
  done
}

# on_pty ROWS COLS INPUT CMD...: run CMD on a new pty of that size, type INPUT after a
# moment, print everything the pty showed and then "EXIT <status>"
on_pty() {
  python3 - "$@" <<'EOF'
import os, pty, sys, struct, fcntl, termios, select, time
rows, cols, inp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[4], sys.argv[4:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
out, sent, deadline = b"", False, time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        if not sent and inp:
            os.write(fd, inp.encode())
            sent = True
        continue
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("\nEXIT", os.waitstatus_to_exitcode(st))
EOF
}

# ---- the network sandbox (t_net.sh, t_runnet.sh) ----
#
# A new network namespace plays the host, in a new private mount namespace (the netns files
# focker bind-mounts vanish with it), so no link, rule or packet touches this machine's
# network.  A second namespace, linked to the first by a veth (10.99.0.1 <-> 10.99.0.2),
# plays another host.  Traffic goes only to addresses inside these namespaces.

NET_T_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fkn() { "$FOCKER" --root "$ROOT" --storage-root "$E2E_TMP/store" "$@"; }

# net_sandbox CODE: run CODE (a test file's function, with arguments) in the sandbox, every
# t_*.sh sourced, with net_setup before and net_teardown after, whatever happens.
net_sandbox() {
  command -v nft >/dev/null || skip "the nft CLI (package nftables) is needed to check rules"
  E2E_TMP=$E2E_TMP ROOT=$ROOT FOCKER=$FOCKER BUSYBOX=$BUSYBOX \
    unshare -n -m --propagation private bash -c \
    ". '$NET_T_DIR/lib.sh'; for f in '$NET_T_DIR'/t_*.sh; do . \"\$f\"; done; net_setup || exit \$?; trap net_teardown EXIT; set -e; $1"
}

NET_CTRS=""
net_setup() {
  ip link set lo up
  ip link add fkprobe type bridge 2>/dev/null || skip "no bridge support (module bridge)"
  ip link del fkprobe
  ip link add vhost type veth peer name vother 2>/dev/null || skip "no veth support (module veth)"
  nft -f - 2>/dev/null <<'NFT' || skip "no nf_tables NAT (modules nf_tables nft_nat nft_chain_nat nft_fib_ipv4 nft_masq)"
table ip fkprobe {
  chain p { type nat hook prerouting priority -100; fib daddr type local tcp dport 1 dnat to 10.0.0.1:2; }
  chain o { type nat hook postrouting priority 100; masquerade; }
}
NFT
  nft delete table ip fkprobe
  # With br_netfilter, bridged replies pass conntrack and hairpin works without focker's
  # masquerade rule; off (in this namespace only), the test checks that rule.
  if [ -f /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    echo 0 >/proc/sys/net/bridge/bridge-nf-call-iptables
  fi
  unshare -n sleep 600 &
  OTHER=$!
  for _ in $(seq 50); do
    [ "$(readlink /proc/$OTHER/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.05
  done
  ip link set vother netns "$OTHER"
  ip addr add 10.99.0.1/24 dev vhost
  ip link set vhost up
  nsenter -t "$OTHER" -n sh -c 'ip link set lo up; ip addr add 10.99.0.2/24 dev vother; ip link set vother up'
}

net_teardown() {
  set +e
  local id
  for id in $NET_CTRS; do
    fk delete --force "$id" >/dev/null 2>&1 || true
    fkn network detach "$id" >/dev/null 2>&1 || true
    rm -rf "${E2E_TMP:?}/$id" "$E2E_TMP/$id.json"
  done
  for id in ${NET_PIDS:-}; do
    kill "$id" 2>/dev/null
    wait "$id" 2>/dev/null
  done
  if [ -n "${OTHER:-}" ]; then
    kill "$OTHER" 2>/dev/null
    wait "$OTHER" 2>/dev/null
  fi
  # the directories focker keeps its netns files and container files in, once empty
  rmdir "$ROOT/.network/netns" "$ROOT/.network/files" "$ROOT/.network" 2>/dev/null || true
  rmdir "$ROOT" 2>/dev/null || true
}

# get [nsenter args --] URL: the page, retried while httpd starts (5 s at most)
get() {
  local i out
  for i in $(seq 25); do
    if out=$("$@" 2>/dev/null); then
      echo "$out"
      return 0
    fi
    sleep 0.2
  done
  echo "no answer from: $*" >&2
  return 1
}
# (the host's static busybox wget crashes on the host's NSS config; python fetches instead)
http_get() { python3 -c "import sys, urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=2).read().decode())" "$1"; }
wget_host() { get http_get "$1"; }
wget_other() { get nsenter -t "$OTHER" -n python3 -c "import sys, urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=2).read().decode())" "$1"; }
# Nothing of focker's per-container state: no fk* link, no lease, no netns file, no dnat rule.
# NET_STORE: the storage root whose leases count (default: t_net.sh's).
net_assert_clean() {
  local links leases store=${NET_STORE:-$E2E_TMP/store}
  links=$(ip -o link show | grep -c ' fk[0-9a-f]\{8\}' || true)
  assert_eq "$links" 0 "veths left: $(ip -o link show | grep ' fk' || true)" || return 1
  leases=$(python3 -c "import json; print(len(json.load(open('$store/net/leases.json'))['leases']))" 2>/dev/null || echo 0)
  assert_eq "$leases" 0 "leases left: $(cat "$store/net/leases.json" 2>/dev/null)" || return 1
  assert_eq "$(ls -A "$ROOT/.network/netns" 2>/dev/null | wc -l)" 0 "netns files left" || return 1
  assert_eq "$(ls -A "$ROOT/.network/files" 2>/dev/null | wc -l)" 0 "container files left" || return 1
  assert_eq "$(grep -c "$E2E_TMP" /proc/self/mounts || true)" 0 "mounts left" || return 1
  assert_eq "$(nft list table ip focker 2>/dev/null | grep -c dnat || true)" 0 "dnat rules left" || return 1
}
