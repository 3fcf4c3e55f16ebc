#!/bin/sh
# probe.sh: what this kernel offers a container runtime, tried for real (root).
#
# Prints one line per feature: "@@FEATURE name pass|fail|skip reason".  "skip" means the
# kernel or host lacks the feature (the reason says which); "fail" means it is present but
# did not work.  Leaves nothing behind: network probes run in a new network namespace,
# the cgroup probe removes its cgroup, and the host's cgroup tree is only changed when
# PROBE_MAY_ENABLE=1 (set inside the VMs).  Runs under busybox sh and dash.
say() { echo "@@FEATURE $1 $2 $3"; }
has_fs() { grep -qw "$1" /proc/filesystems; }
tmp=$(mktemp -d /tmp/focker-probe.XXXXXX)
trap 'umount -R "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

ns_probe() {
  if unshare -m -u -i -n -p -f true 2>/dev/null; then
    say namespaces pass "mount uts ipc net pid"
  else
    say namespaces fail "unshare -m -u -i -n -p failed"
  fi
  if [ ! -e /proc/self/ns/user ]; then
    say userns skip "kernel built without CONFIG_USER_NS"
  elif [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null)" = 0 ]; then
    say userns skip "user.max_user_namespaces=0"
  elif unshare -U -r true 2>/dev/null; then
    say userns pass "unshare -U -r"
  else
    say userns fail "unshare -U -r failed"
  fi
}

overlay_probe() {
  if ! has_fs overlay; then
    say overlay skip "no overlay in /proc/filesystems (module missing)"
    return
  fi
  mkdir -p "$tmp/o/l" "$tmp/o/u" "$tmp/o/w" "$tmp/o/m"
  if unshare -m sh -c "mount -t overlay ov -o lowerdir=$tmp/o/l,upperdir=$tmp/o/u,workdir=$tmp/o/w $tmp/o/m" 2>/dev/null; then
    say overlay pass "mounted lower+upper"
  else
    say overlay fail "overlay mount failed"
  fi
}

pivot_probe() {
  mkdir -p "$tmp/p"
  if unshare -m sh -c "mount --make-rprivate / && mount -t tmpfs t $tmp/p && mkdir $tmp/p/old && cd $tmp/p && pivot_root . old" 2>/dev/null; then
    say pivot_root pass "into a tmpfs"
  else
    say pivot_root fail "pivot_root into a tmpfs failed (is / the initramfs?)"
  fi
}

seccomp_probe() {
  a=/proc/sys/kernel/seccomp/actions_avail
  if [ ! -r $a ]; then
    say seccomp skip "no $a (CONFIG_SECCOMP_FILTER off)"
  elif grep -qw errno $a && grep -qw kill_process $a; then
    say seccomp pass "$(tr ' ' ',' <$a)"
  else
    say seccomp fail "actions: $(cat $a)"
  fi
}

# cgroup_probe: put a shell in a cgroup with pids.max=1; a fork there must fail.
cgroup_probe() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    base=/sys/fs/cgroup mode=v2
    if ! grep -qw pids $base/cgroup.subtree_control; then
      if [ "${PROBE_MAY_ENABLE:-0}" = 1 ]; then
        echo +pids >$base/cgroup.subtree_control 2>/dev/null
      fi
      grep -qw pids $base/cgroup.subtree_control || {
        say cgroup_limits skip "v2: pids not enabled in the root's subtree_control"
        return
      }
    fi
  elif [ -d /sys/fs/cgroup/pids ]; then
    base=/sys/fs/cgroup/pids mode=v1
  else
    say cgroup_limits skip "no pids controller mounted"
    return
  fi
  d=$base/focker-probe.$$
  mkdir "$d" || { say cgroup_limits fail "$mode: mkdir $d"; return; }
  echo 1 >"$d/pids.max"
  out=$(sh -c "echo \$\$ >$d/cgroup.procs && { /bin/true & wait; } 2>&1 && echo forked" 2>&1)
  rmdir "$d" 2>/dev/null
  case $out in
  *forked*) say cgroup_limits fail "$mode: fork succeeded under pids.max=1" ;;
  *) say cgroup_limits pass "$mode: pids.max=1 stopped a fork" ;;
  esac
}

net_probe() {
  unshare -n sh -c '
    if ip link add fp0 type veth peer name fp1 2>/dev/null; then
      echo "@@FEATURE veth pass pair created"
    else
      echo "@@FEATURE veth skip veth link type missing (module veth)"
    fi
    if ip link add fpbr type bridge 2>/dev/null; then
      echo "@@FEATURE bridge pass bridge created"
    else
      echo "@@FEATURE bridge skip bridge link type missing (module bridge)"
    fi
    if ! command -v nft >/dev/null; then
      echo "@@FEATURE nftables skip nft not installed"
    elif nft add table ip fockerprobe 2>/dev/null; then
      echo "@@FEATURE nftables pass table created"
    else
      echo "@@FEATURE nftables skip nf_tables missing (module nf_tables)"
    fi'
  # focker's own bridge, veth and dnat rules, in a throwaway network and mount namespace
  if [ ! -x build/focker ]; then
    say nft_publish skip "build/focker not built"
  elif out=$(unshare -n -m --propagation private sh -c "
      build/focker --root $tmp/r --storage-root $tmp/s network attach -p 8080:80 probe >/dev/null &&
      build/focker --root $tmp/r --storage-root $tmp/s network detach probe" 2>&1); then
    say nft_publish pass "network attach -p 8080:80 and detach"
  else
    say nft_publish skip "$(echo "$out" | tail -1)"
  fi
}

ns_probe
overlay_probe
pivot_probe
seccomp_probe
cgroup_probe
net_probe
