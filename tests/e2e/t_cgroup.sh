# t_cgroup.sh: e2e tests of cgroups on this host (v1, v2 or hybrid): limits land in the
# cgroup files and are enforced, pause/resume, update, ps, kill --all, and no cgroup is left.
# Sourced by run.sh.  Container ids contain "focker" so leftovers are easy to find; the
# runner's `delete --force` removes a failed test's cgroups.
# shellcheck shell=bash disable=SC2016

# The container's directory for controller $1 (its v1 hierarchy, else cgroup2), as the
# state records it.
cg_dir() {
  python3 - "$ROOT/$2=state.json" "$1" <<'PY'
import json, sys
dirs = json.load(open(sys.argv[1]))["cgroup"]["dirs"]
v1 = [d["path"] for d in dirs if sys.argv[2] in d["controllers"].split(",")]
v2 = [d["path"] for d in dirs if d["controllers"] == ""]
print((v1 or v2)[0])
PY
}

# Nothing of this run left in any hierarchy (other runs may share the machine): run_cgroups
# looks at the top of each hierarchy, where focker's default cgroups are, for this root's.
assert_no_cgroup_left() {
  local left
  left=$(run_cgroups)
  assert_eq "$left" "" "cgroups left"
}

wait_status() {
  for _ in $(seq 200); do
    fk state "$1" 2>/dev/null | grep -q "\"status\": \"$2\"" && return 0
    sleep 0.02
  done
  echo "    $1 never became $2: $(fk state "$1" 2>&1 | grep status)"
  return 1
}

test_cgroup_limits_land_in_files_and_delete_removes_them() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'memory': {'limit': 67108864}, 'pids': {'limit': 20}, 'cpu': {'shares': 512, 'quota': 50000, 'period': 100000}}"
  fk create --bundle "$E2E_TMP/b" focker-cg1 </dev/null >/dev/null 2>&1 || return 1
  assert_eq "$(cat "$(cg_dir memory focker-cg1)/memory.limit_in_bytes" 2>/dev/null || cat "$(cg_dir memory focker-cg1)/memory.max")" 67108864 "memory limit" || return 1
  assert_eq "$(cat "$(cg_dir pids focker-cg1)/pids.max")" 20 "pids.max" || return 1
  local pid
  pid=$(fk state focker-cg1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
  grep -q "/$(root_parent)-focker-cg1\$" "/proc/$pid/cgroup" || { echo "    init not in its cgroup: $(cat /proc/"$pid"/cgroup)"; return 1; }
  fk delete --force focker-cg1 || return 1
  assert_no_cgroup_left
}

test_cgroup_container_sees_its_own_cgroup_read_only() {
  make_bundle "$E2E_TMP/b" '["sh","-c","cat /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; touch /sys/fs/cgroup/x 2>/dev/null && echo writable; exit 0"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'pids': {'limit': 33}}"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" focker-cg2) || { echo "    $out"; return 1; }
  # its cgroup namespace is rooted at its cgroup in every hierarchy
  assert_eq "$(echo "$out" | grep -c ':/$')" "$(grep -c . /proc/self/cgroup)" "root lines in [$out]" || return 1
  # its /sys/fs/cgroup shows its own limit, read-only
  assert_eq "$(echo "$out" | tail -n 1)" 33 "last line of [$out]" || return 1
  assert_no_cgroup_left
}

# Without a cgroup namespace (crun spec's default) the container sees each hierarchy whole,
# as a new mount of it would show it (focker binds the runtime's own mount where that is the
# hierarchy's root: the same view): read-only, its own cgroup listed, in /proc/self/mountinfo
# as a cgroup mount of the hierarchy's root.
test_cgroup_without_namespace_sees_whole_hierarchies_read_only() {
  make_bundle "$E2E_TMP/b" '["sh","-c","d=$(sed -n s/^[0-9]*:pids://p /proc/self/cgroup); [ -d /sys/fs/cgroup/pids$d ] && echo own-listed; touch /sys/fs/cgroup/pids/x 2>/dev/null && echo writable; grep \" /sys/fs/cgroup/pids \" /proc/self/mountinfo | cut -d\" \" -f4,6,9"]'
  edit_config "$E2E_TMP/b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'cgroup']"
  [ -d /sys/fs/cgroup/pids ] || skip "no v1 pids hierarchy"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" focker-cgh) || { echo "    $out"; return 1; }
  # the source field is the host mount's ("cgroup" here, the hierarchy's name where the
  # host mounted it so, as in the VMs): the hierarchy is bound from the runtime's mounts
  case "$out" in
  "own-listed
/ ro,nosuid,nodev,noexec,relatime "?*) ;;
  *) echo "    expected own-listed, / read-only: got [$out]"; return 1 ;;
  esac
  assert_no_cgroup_left
}

test_cgroup_pids_limit_stops_a_fork_bomb() {
  make_bundle "$E2E_TMP/b" '["sh","-c","for i in $(seq 40); do sleep 30 & done 2>/dev/null; sleep 30"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'pids': {'limit': 10}}"
  fk create --bundle "$E2E_TMP/b" focker-cg3 </dev/null >/dev/null 2>&1 && fk start focker-cg3 || return 1
  local dir cur
  dir=$(cg_dir pids focker-cg3)
  for _ in $(seq 100); do
    grep -q "max [1-9]" "$dir/pids.events" 2>/dev/null && break
    sleep 0.02
  done
  # the shell gives up at its first refused fork: the kernel said no at the limit
  grep -q "max [1-9]" "$dir/pids.events" || { echo "    no fork was refused: $(cat "$dir/pids.events")"; return 1; }
  cur=$(cat "$dir/pids.current")
  [ "$cur" -le 10 ] || { echo "    pids.current $cur above the limit"; return 1; }
  fk delete --force focker-cg3 || return 1
  assert_no_cgroup_left
}

test_cgroup_memory_limit_oom_kills() {
  make_bundle "$E2E_TMP/b" '["dd","if=/dev/zero","of=/dev/null","bs=200M","count=1"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'memory': {'limit': 33554432, 'swap': 33554432}}"
  local rc
  fk run --bundle "$E2E_TMP/b" focker-cg4 >/dev/null 2>&1
  rc=$?
  assert_eq "$rc" 137 "exit status of a process allocating past the limit" || return 1
  assert_no_cgroup_left
}

test_cgroup_pause_stops_progress_and_resume_restarts_it() {
  # The counter is written to a temporary file and renamed over /tmp/n, so a read never sees
  # the file between its truncation and the write: with `echo $i > /tmp/n`, a container
  # frozen (or, under I/O load, blocked in ext4's truncate) there left it empty for seconds.
  make_bundle "$E2E_TMP/b" '["sh","-c","i=0; while true; do i=$((i+1)); echo $i > /tmp/n.new; mv -f /tmp/n.new /tmp/n; done"]'
  fk create --bundle "$E2E_TMP/b" focker-cg5 </dev/null >/dev/null 2>&1 && fk start focker-cg5 || return 1
  local n="$E2E_TMP/b/rootfs/tmp/n" a b end
  for _ in $(seq 250); do [ -s "$n" ] && break; sleep 0.02; done
  fk pause focker-cg5 || return 1
  assert_contains "$(fk state focker-cg5)" '"status": "paused"' || return 1
  a=$(cat "$n")
  [ -n "$a" ] || { echo "    no counter written before pause"; return 1; }
  sleep 0.3
  b=$(cat "$n")
  assert_eq "$b" "$a" "counter moved while paused" || return 1
  fk resume focker-cg5 || return 1
  assert_contains "$(fk state focker-cg5)" '"status": "running"' || return 1
  # bounded by time, not by reads: a loaded host (or QEMU's TCG) may run the container seldom
  end=$((SECONDS + 20))
  while b=$(cat "$n"); [ "$b" = "$a" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.02; done
  [ "$b" != "$a" ] || { echo "    counter did not move after resume ($a)"; return 1; }
  # a paused container can be force-deleted
  fk pause focker-cg5 && fk delete --force focker-cg5 || return 1
  assert_no_cgroup_left
}

test_cgroup_update_changes_a_live_limit() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'pids': {'limit': 20}}"
  fk create --bundle "$E2E_TMP/b" focker-cg6 </dev/null >/dev/null 2>&1 && fk start focker-cg6 || return 1
  fk update --pids-limit 7 --memory 128m focker-cg6 || return 1
  assert_eq "$(cat "$(cg_dir pids focker-cg6)/pids.max")" 7 || return 1
  echo '{"pids": {"limit": 9}}' >"$E2E_TMP/res.json"
  fk update --resources "$E2E_TMP/res.json" focker-cg6 || return 1
  assert_eq "$(cat "$(cg_dir pids focker-cg6)/pids.max")" 9 || return 1
  echo '{"pids": {"limit": 11}}' | fk update --resources - focker-cg6 || return 1
  assert_eq "$(cat "$(cg_dir pids focker-cg6)/pids.max")" 11 || return 1
  # the state records what the container has now: later updates and events see it
  assert_eq "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["config"]["linux"]["resources"]; print(r["pids"]["limit"], r["memory"]["limit"])' "$ROOT/focker-cg6=state.json")" "11 134217728" || return 1
  fk delete --force focker-cg6 || return 1
  assert_no_cgroup_left
}

test_cgroup_ps_and_kill_all() {
  make_bundle "$E2E_TMP/b" '["sh","-c","sleep 100 & sleep 100"]'
  # no pid namespace: only the cgroup tells which processes are the container's
  edit_config "$E2E_TMP/b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'pid']"
  fk create --bundle "$E2E_TMP/b" focker-cg7 </dev/null >/dev/null 2>&1 && fk start focker-cg7 || return 1
  local pids n
  for _ in $(seq 100); do
    pids=$(fk ps --format json focker-cg7)
    n=$(echo "$pids" | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
    [ "$n" = 2 ] && break
    sleep 0.02
  done
  assert_eq "$n" 2 "processes in ps --format json: $pids" || return 1
  assert_contains "$(fk ps focker-cg7)" "sleep 100" || return 1
  fk kill --all focker-cg7 KILL || return 1
  wait_status focker-cg7 stopped || return 1
  for p in $(echo "$pids" | tr -d '[],' ); do
    [ -d "/proc/$p" ] && ! grep -q zombie "/proc/$p/status" 2>/dev/null && grep -q '^State:.*[RS]' "/proc/$p/status" 2>/dev/null && { echo "    $p survived kill --all"; return 1; }
  done
  fk delete focker-cg7 || return 1
  assert_no_cgroup_left
}

test_cgroup_systemd_flag_says_why() {
  make_bundle "$E2E_TMP/b" '["true"]'
  local out
  out=$("$FOCKER" --root "$ROOT" --systemd-cgroup create --bundle "$E2E_TMP/b" focker-cg8 2>&1) && { echo "    create succeeded"; return 1; }
  if [ -d /run/systemd/system ]; then
    assert_contains "$out" "systemd" || return 1
  else
    assert_contains "$out" "systemd is not running" || return 1
  fi
  assert_no_cgroup_left
}

test_cgroup_podman_resources_fixture_limits_visible() {
  make_bundle "$E2E_TMP/b" '["true"]'
  python3 - "$FIXTURES/podman-resources-security.json" "$E2E_TMP/b" "$(root_parent)" <<'PY' || return 1
import json, os, sys
src, bundle = sys.argv[1], sys.argv[2]
c = json.load(open(src))
c["root"] = {"path": os.path.join(bundle, "rootfs"), "readonly": False}
c["process"]["terminal"] = False
# v1 and hybrid hosts: one directory per controller; v2: one hierarchy with memory.max
c["process"]["args"] = ["sh", "-c", "if [ -d /sys/fs/cgroup/pids ]; then cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes; else cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max; fi"]
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if "path" not in n] + [{"type": "cgroup"}]
c["linux"]["cgroupsPath"] = "/%s-fixture/focker-cg9" % sys.argv[3]
c["mounts"] = [m for m in c["mounts"] if m.get("type") != "bind"]
json.dump(c, open(os.path.join(bundle, "config.json"), "w"))
PY
  local out
  out=$(fk run --bundle "$E2E_TMP/b" focker-cg9 2>&1) || { echo "    $out"; return 1; }
  assert_eq "$out" "50
67108864" || return 1
  assert_no_cgroup_left
}

# A device the rules do not allow cannot be opened (EPERM), though the container may make its
# node (mknod is allowed for every device, as runc does); /dev/null and a linux.devices node
# can (a node whose driver the kernel lacks opens with ENXIO or ENODEV, never EPERM: the
# cgroup check comes first).  Run through the host's own mechanism (v1 devices cgroup, or the
# BPF program on v2-only hosts), then with FOCKER_TEST_DEVICES_BPF=1, which puts the BPF
# program on a hybrid host's cgroup2 instead of using the v1 list.
test_cgroup_denied_device_cannot_be_opened() {
  make_bundle "$E2E_TMP/b" '["sh","-c","mknod /dev/lc c 10 237 || exit 9; (exec 3</dev/lc) 2>&1 && echo lc-open; (exec 3<>/dev/null) && echo null-open; (exec 3</dev/fuse) 2>&1 && echo fuse-open; cat /sys/fs/cgroup/devices/devices.list 2>/dev/null | head -n 1"]'
  edit_config "$E2E_TMP/b" "
for k in ['bounding', 'effective', 'permitted']: c['process']['capabilities'][k].append('CAP_MKNOD')
c['linux']['devices'] = [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229}]"
  local out bpf
  for bpf in 0 1; do
    out=$(FOCKER_TEST_DEVICES_BPF=$bpf fk run --bundle "$E2E_TMP/b" focker-cg10 2>&1) || { echo "    bpf=$bpf: $out"; return 1; }
    assert_contains "$out" "null-open" || return 1
    assert_contains "$out" "can't open /dev/lc: Operation not permitted" || return 1
    case "$out" in
    *lc-open* | *"/dev/fuse: Operation not permitted"*)
      echo "    bpf=$bpf: the rules were not applied: $out"
      return 1
      ;;
    esac
    # with the BPF program the v1 list (where there is one) allows everything: the program
    # alone refused the open
    if [ $bpf = 1 ] && [ -d /sys/fs/cgroup/unified ] && [ -d /sys/fs/cgroup/devices ]; then
      assert_contains "$out" "a *:* rwm" || return 1
    fi
  done
  assert_no_cgroup_left
}

# events: --stats prints one stats line with the limits; without it, stats every interval and
# an oom event when a process allocating past memory.limit is killed, and it ends by itself
# when the container stops.
test_cgroup_events_reports_stats_and_oom() {
  make_bundle "$E2E_TMP/b" '["sh","-c","sleep 1; dd if=/dev/zero of=/dev/null bs=200M count=1"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'memory': {'limit': 33554432, 'swap': 33554432}, 'pids': {'limit': 30}}"
  fk create --bundle "$E2E_TMP/b" focker-cg11 </dev/null >/dev/null 2>&1 || return 1
  local one out
  one=$(fk events --stats focker-cg11) || return 1
  assert_eq "$(echo "$one" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["type"], e["id"], e["data"]["memory"]["usage"]["limit"], e["data"]["pids"]["limit"])')" "stats focker-cg11 33554432 30" || return 1
  fk start focker-cg11 || return 1
  out=$(timeout 30 "$FOCKER" --root "$ROOT" events --interval 200ms focker-cg11) || { echo "    events failed or did not end: $out"; return 1; }
  assert_contains "$out" '{"type":"oom","id":"focker-cg11"}' || return 1
  assert_contains "$out" '{"type":"stats","id":"focker-cg11","data":{' || return 1
  out=$(fk events --stats focker-cg11 2>&1) && { echo "    events on a stopped container succeeded"; return 1; }
  assert_contains "$out" "not running" || return 1
  fk delete focker-cg11 || return 1
  assert_no_cgroup_left
}

# rdma: the limit goes to rdma.max, which the kernel takes only for an RDMA device it has.
# No RDMA device here (the name is made up): create must fail naming the field, whether the
# host lacks the controller or the device, and leave nothing.
test_cgroup_rdma_limit_is_applied_or_refused_by_name() {
  make_bundle "$E2E_TMP/b" '["true"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'rdma': {'focker_nodev0': {'hcaHandles': 2}}}"
  local out
  out=$(fk create --bundle "$E2E_TMP/b" focker-cg12 </dev/null 2>&1) && { echo "    create succeeded"; fk delete --force focker-cg12; return 1; }
  assert_contains "$out" "linux.resources.rdma" || return 1
  assert_no_cgroup_left
}

# A user-namespace container sees its own cgroup under /sys/fs/cgroup, read-only, with or
# without a cgroup namespace: where the kernel refuses to mount cgroupfs in the user
# namespace (no cgroup namespace; older kernels even with one) each hierarchy is a bind of
# the container's own directory, never the host's tree.
test_cgroup_user_namespace_sees_its_own_cgroup() {
  [ -e /proc/self/ns/user ] || skip "no user namespaces"
  make_bundle "$E2E_TMP/b" '["sh","-c","cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; touch /sys/fs/cgroup/x 2>/dev/null && echo writable; exit 0"]'
  chmod 755 "$E2E_TMP" && chown -R 100000:100000 "$E2E_TMP/b/rootfs"
  local cgns out
  for cgns in 0 1; do
    edit_config "$E2E_TMP/b" "
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] not in ('cgroup', 'user')] + [{'type': 'user'}] + ([{'type': 'cgroup'}] if $cgns else [])
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['mounts'] = [m for m in c['mounts'] if m['type'] not in ('sysfs', 'mqueue')]
c['linux']['resources'] = {'pids': {'limit': 17}}"
    out=$(fk run --bundle "$E2E_TMP/b" focker-cg13 2>&1) || { echo "    cgroupns=$cgns: $out"; return 1; }
    assert_eq "$out" 17 "cgroupns=$cgns: the container's pids.max, read-only" || return 1
  done
  assert_no_cgroup_left
}

# update with device rules replaces the device filter of a live container: a node denied at
# create opens after an update allows it (v1 list, then the BPF program, whose replacement
# queries, attaches and detaches on the real kernel).
test_cgroup_update_device_rules_of_a_live_container() {
  make_bundle "$E2E_TMP/b" '["sh","-c","mknod /dev/lc c 10 237 || exit 9; (exec 3</dev/lc) 2>/tmp/before; while [ ! -e /tmp/go ]; do sleep 0.05; done; (exec 3</dev/lc) 2>/tmp/after; echo done >/tmp/done; sleep 100"]'
  edit_config "$E2E_TMP/b" "
for k in ['bounding', 'effective', 'permitted']: c['process']['capabilities'][k].append('CAP_MKNOD')"
  local bpf r="$E2E_TMP/b/rootfs/tmp"
  for bpf in 0 1; do
    rm -f "$r/before" "$r/after" "$r/go" "$r/done"
    FOCKER_TEST_DEVICES_BPF=$bpf fk create --bundle "$E2E_TMP/b" focker-cg14 </dev/null >/dev/null 2>&1 && fk start focker-cg14 || return 1
    for _ in $(seq 250); do [ -e "$r/before" ] && break; sleep 0.02; done
    assert_contains "$(cat "$r/before")" "Operation not permitted" || return 1
    echo '{"devices": [{"allow": true, "type": "c", "major": 10, "minor": 237, "access": "rwm"}]}' \
      >"$E2E_TMP/upd.json"
    if [ "$bpf" = 0 ] && [ -e /sys/fs/cgroup/devices/devices.list ] && command -v strace >/dev/null; then
      # v1: a rule only added means only devices.allow is written; rewriting the list from
      # "deny all" would refuse every device to the container for a moment
      FOCKER_TEST_DEVICES_BPF=0 strace -f -qq -e trace=openat -e signal=none -o "$E2E_TMP/strace" \
        "$FOCKER" --root "$ROOT" update --resources "$E2E_TMP/upd.json" focker-cg14 || return 1
      if grep -q devices.deny "$E2E_TMP/strace"; then
        echo "    v1 update wrote devices.deny: $(grep devices.deny "$E2E_TMP/strace" | head -n 1)"
        return 1
      fi
      local list
      list=$(cat /sys/fs/cgroup/devices/focker-*-focker-cg14/devices.list /sys/fs/cgroup/devices/focker-focker-cg14/devices.list 2>/dev/null)
      printf '%s\n' "$list" | grep -qx 'c 10:237 rwm' \
        || { echo "    v1 update: c 10:237 not in devices.list"; return 1; }
      printf '%s\n' "$list" | grep -qx 'c 1:3 rwm' \
        || { echo "    v1 update: /dev/null left devices.list"; return 1; }
    else
      FOCKER_TEST_DEVICES_BPF=$bpf fk update --resources "$E2E_TMP/upd.json" focker-cg14 || return 1
    fi
    touch "$r/go"
    for _ in $(seq 250); do [ -e "$r/done" ] && break; sleep 0.02; done
    [ -e "$r/done" ] || { echo "    bpf=$bpf: the container did not try again"; return 1; }
    case "$(cat "$r/after")" in
    *"Operation not permitted"*) echo "    bpf=$bpf: still denied after update: $(cat "$r/after")"; return 1 ;;
    esac
    fk delete --force focker-cg14 || return 1
  done
  assert_no_cgroup_left
}
