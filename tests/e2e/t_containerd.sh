# t_containerd.sh: containerd 1.6 (Debian's) with its runc v2 shim driving focker through
# `ctr run --runc-binary`: the path Kubernetes takes through a RuntimeClass.  Each test
# starts its own containerd (root, state and sockets under $E2E_TMP/ctd, stopped by pid);
# focker's state for the shim goes under $E2E_TMP too (--runc-root), and so do ctr's IO
# fifos (--fifo-dir).  The containerd namespace is this run's own (focker-e2e-<suffix of
# $E2E_TMP>): the cgroups the shim asks for are /<namespace>/<id>, so another run of this
# suite on the machine (same container ids) has other cgroups, and the checks look only at
# this run's.  The image is a busybox-static rootfs made into an OCI archive here and
# imported with `ctr image import` once per run (containerd's root, with its namespace,
# content and snapshots, goes with $E2E_TMP).  ctd_stop runs on every test's exit, failed
# or not.  Sourced by run.sh.  Host-only in vm/ (it tests the client protocol, not the
# kernel).
# shellcheck shell=bash

CTD_DIR=${E2E_TMP:-/tmp}/ctd
CTD_IMAGE=localhost/focker-e2e-busybox:latest
CTD_NS=$(printf %s "${E2E_TMP##*.}" | tr -cd 'A-Za-z0-9')
CTD_NS=focker-e2e-${CTD_NS:-$$}

ctr_() { ctr -a "$CTD_DIR/s/ctd.sock" -n "$CTD_NS" "$@"; }
ctr_run() { ctr_ run --fifo-dir "$CTD_DIR/fifo" --runc-binary "$FOCKER" --runc-root "$CTD_DIR/runc" "$@"; }
ctr_exec() { ctr_ task exec --fifo-dir "$CTD_DIR/fifo" "$@"; }

# ctd_archive OUT: an OCI image archive (one layer: busybox and its applet links).
ctd_archive() {
  local rootfs="$CTD_DIR/rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  cp "$BUSYBOX" "$rootfs/bin/busybox"
  for app in $("$BUSYBOX" --list); do
    [ -e "$rootfs/bin/$app" ] || ln -s busybox "$rootfs/bin/$app"
  done
  python3 - "$rootfs" "$1" <<'EOF'
import hashlib, io, json, sys, tarfile
rootfs, out = sys.argv[1], sys.argv[2]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    t.add(rootfs, arcname=".")
layer = layer.getvalue()
def blob(data, media):
    return {"mediaType": media, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}, data
ldesc, ldata = blob(layer, "application/vnd.oci.image.layer.v1.tar")
config = json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": [ldesc["digest"]]}}).encode()
cdesc, cdata = blob(config, "application/vnd.oci.image.config.v1+json")
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": cdesc, "layers": [ldesc]}).encode()
mdesc, mdata = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
mdesc["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
index = json.dumps({"schemaVersion": 2, "manifests": [mdesc]}).encode()
with tarfile.open(out, "w") as t:
    def add(name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", index)
    for d, data in ((ldesc, ldata), (cdesc, cdata), (mdesc, mdata)):
        add("blobs/sha256/" + d["digest"].split(":")[1], data)
EOF
}

# ctd_start: containerd installed (from apt when missing) and running with our config; the
# image imported once per run.  Skips when containerd cannot be had.
ctd_start() {
  command -v containerd >/dev/null && command -v ctr >/dev/null ||
    { timeout 300 apt-get install -y -qq containerd >/dev/null 2>&1 && command -v ctr >/dev/null; } ||
    skip "containerd is not installed and apt-get install containerd failed"
  mkdir -p "$CTD_DIR/root" "$CTD_DIR/s" "$CTD_DIR/runc" "$CTD_DIR/fifo"
  rm -rf "$CTD_DIR/state"
  cat >"$CTD_DIR/config.toml" <<EOF
version = 2
root = "$CTD_DIR/root"
state = "$CTD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_DIR/s/ctd.sock"
[ttrpc]
  address = "$CTD_DIR/s/ttrpc.sock"
[debug]
  address = "$CTD_DIR/s/debug.sock"
EOF
  containerd --config "$CTD_DIR/config.toml" >"$CTD_DIR/log" 2>&1 &
  echo $! >"$CTD_DIR/pid"
  for _ in $(seq 100); do
    ctr_ version >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctr_ version >/dev/null 2>&1 || { echo "    containerd did not start: $(tail -3 "$CTD_DIR/log")"; return 1; }
  if [ ! -f "$CTD_DIR/image.tar" ]; then
    ctd_archive "$CTD_DIR/image.tar.new" && mv "$CTD_DIR/image.tar.new" "$CTD_DIR/image.tar" || return 1
  fi
  ctr_ image ls -q | grep -qxF "$CTD_IMAGE" ||
    ctr_ image import --base-name "${CTD_IMAGE%:*}" "$CTD_DIR/image.tar" >/dev/null ||
    { echo "    ctr image import failed"; return 1; }
}

# ctd_shims: the pids of the shims (and ctr clients) of this run's containerd: those whose
# command line names its socket (the pattern is not the path itself, so that grep does not
# find its own command line).
ctd_shims() {
  grep -laE -- "${CTD_DIR//./[.]}/s/ctd[.]sock" /proc/[0-9]*/cmdline 2>/dev/null |
    sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p'
}

# ctd_sockets PID...: the unix sockets those processes listen on under /run/containerd (a
# shim's ttrpc socket, which it removes itself only when it exits cleanly).
ctd_sockets() {
  local pid inodes=""
  for pid in "$@"; do
    inodes="$inodes $(ls -l "/proc/$pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')"
  done
  awk -v want="$inodes" 'BEGIN { n = split(want, a, " "); for (i = 1; i <= n; i++) w[a[i]] = 1 }
    $7 in w && $8 ~ /^\/run\/containerd\// { print $8 }' /proc/net/unix
}

# ctd_stop: everything a containerd test made is gone, whatever state the test left it in:
# tasks and containers (with their snapshots) of our namespace, shims still running (killed
# by pid, their sockets removed), focker's containers for the shim (delete --force: their
# processes and cgroups), containerd itself (by pid), mounts under $CTD_DIR, cgroups of our
# namespace, the runtime state and fifos.  What stays until the run ends is the root (the
# imported image, in $E2E_TMP).
ctd_stop() {
  local c pids socks id pid
  if [ -f "$CTD_DIR/pid" ] && kill -0 "$(cat "$CTD_DIR/pid")" 2>/dev/null; then
    for c in $(ctr_ task ls -q 2>/dev/null); do
      ctr_ task kill -s KILL "$c" >/dev/null 2>&1
      ctr_ task delete -f "$c" >/dev/null 2>&1
    done
    for c in $(ctr_ container ls -q 2>/dev/null); do ctr_ container rm "$c" >/dev/null 2>&1; done
  fi
  pids=$(ctd_shims)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    socks=$(ctd_sockets $pids)
    for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
    for pid in $pids; do
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    # shellcheck disable=SC2086
    [ -z "$socks" ] || rm -f $socks
  fi
  for id in $(ls -A "$CTD_DIR/runc/$CTD_NS" 2>/dev/null); do
    case $id in *=*) continue ;; esac
    "$FOCKER" --root "$CTD_DIR/runc/$CTD_NS" delete --force "$id" >/dev/null 2>&1
  done
  if [ -f "$CTD_DIR/pid" ]; then
    pid=$(cat "$CTD_DIR/pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    rm -f "$CTD_DIR/pid"
  fi
  # the shims' mounts of the container rootfs, if a task was left half-deleted
  grep -o " $CTD_DIR/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
  # cgroups of our namespace (/<namespace>/<id> in each hierarchy), deepest first
  local m
  for m in $(cgroup_mounts); do
    [ -d "$m/$CTD_NS" ] && find "$m/$CTD_NS" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$CTD_DIR/state" "$CTD_DIR/fifo" "$CTD_DIR/runc"
  return 0
}

# ctd_left: focker state, cgroups, tasks, shims or fifos of our namespace left.
ctd_left() {
  local left=""
  [ -n "$(ls -A "$CTD_DIR/runc/$CTD_NS" 2>/dev/null)" ] && left="$left focker-state"
  # shellcheck disable=SC2046
  [ -n "$(cgroups_left $(cgroup_mounts | sed "s|\$|/$CTD_NS|"))" ] && left="$left cgroups"
  [ -n "$(ctr_ task ls -q 2>/dev/null)" ] && left="$left tasks"
  [ -n "$(ctr_ container ls -q 2>/dev/null)" ] && left="$left containers"
  for _ in $(seq 20); do # a shim exits just after the delete it answered
    [ -z "$(ctd_shims)" ] && break
    sleep 0.1
  done
  [ -n "$(ctd_shims)" ] && left="$left shims"
  [ -n "$(ls -A "$CTD_DIR/fifo" 2>/dev/null)" ] && left="$left fifos"
  [ -z "$left" ] || echo "    containerd left:$left"
  [ -z "$left" ]
}

test_containerd_run_rm_and_exit_codes() {
  trap ctd_stop EXIT
  ctd_start || return 1
  local out rc
  out=$(ctr_run --rm "$CTD_IMAGE" ct-r1 echo hello from focker 2>&1) || { echo "    $out"; return 1; }
  assert_eq "$out" "hello from focker" || return 1
  ctr_run --rm "$CTD_IMAGE" ct-r2 sh -c 'exit 42' >/dev/null 2>&1
  rc=$?
  assert_eq "$rc" 42 "exit status through ctr" || return 1
  # the shim hands create an fd of its own (3+): the container must not have it
  out=$(ctr_run --rm "$CTD_IMAGE" ct-r3 sh -c 'ls /proc/self/fd | tr "\n" " "' 2>&1)
  assert_eq "$out" "0 1 2 3 " "fds in the container (3 is ls's own directory)" || return 1
  ctd_left
}

test_containerd_detached_ps_pause_kill_delete() {
  trap ctd_stop EXIT
  ctd_start || return 1
  local out pid
  ctr_run -d "$CTD_IMAGE" ct-d1 sh -c 'sleep 1000 & sleep 1000' >/dev/null 2>&1 || { echo "    run -d failed"; return 1; }
  out=$(ctr_ task ps ct-d1 2>&1) || { echo "    task ps: $out"; return 1; }
  [ "$(echo "$out" | tail -n +2 | wc -l)" -ge 2 ] || { echo "    task ps lists too few: $out"; return 1; }
  ctr_ task pause ct-d1 || return 1
  assert_contains "$(ctr_ task ls)" PAUSED || return 1
  ctr_ task resume ct-d1 || return 1
  assert_contains "$(ctr_ task ls)" RUNNING || return 1
  pid=$(ctr_ task ls | awk '$1 == "ct-d1" {print $2}')
  # kill --all reaches the init's children too
  ctr_ task kill --all -s KILL ct-d1 || return 1
  for _ in $(seq 50); do ctr_ task ls | grep -q "ct-d1.*STOPPED" && break; sleep 0.1; done
  assert_contains "$(ctr_ task ls)" STOPPED || return 1
  # the shim deletes, then deletes --force the deleted container: both must succeed
  ctr_ task delete ct-d1 >/dev/null || { echo "    task delete failed: $(tail -3 "$CTD_DIR/log")"; return 1; }
  ctr_ container rm ct-d1 || return 1
  kill -0 "$pid" 2>/dev/null && { echo "    init $pid still alive"; return 1; }
  ctd_left
}

test_containerd_task_exec() {
  trap ctd_stop EXIT
  ctd_start || return 1
  local out rc
  ctr_run -d "$CTD_IMAGE" ct-e1 sleep 1000 >/dev/null 2>&1 || { echo "    run -d failed"; return 1; }
  out=$(ctr_exec --exec-id e1 ct-e1 sh -c 'echo in-the-container; cat /proc/1/cmdline | tr "\0" " "' 2>&1) ||
    { echo "    task exec: $out"; return 1; }
  assert_eq "$out" "in-the-container
sleep 1000 " || return 1
  ctr_exec --exec-id e2 ct-e1 sh -c 'exit 9' >/dev/null 2>&1
  rc=$?
  assert_eq "$rc" 9 "exit status of task exec" || return 1
  out=$(on_pty 24 80 "" ctr -a "$CTD_DIR/s/ctd.sock" -n "$CTD_NS" task exec --fifo-dir "$CTD_DIR/fifo" -t --exec-id e3 ct-e1 tty)
  assert_contains "$out" /dev/pts/ || return 1
  ctr_ task kill -s KILL ct-e1 && ctr_ task delete ct-e1 >/dev/null 2>&1
  for _ in $(seq 50); do ctr_ task ls -q | grep -qx ct-e1 || break; ctr_ task delete ct-e1 >/dev/null 2>&1; sleep 0.1; done
  ctr_ container rm ct-e1 || return 1
  ctd_left
}

test_containerd_tty_limits_privileged_net_host() {
  trap ctd_stop EXIT
  ctd_start || return 1
  local out cg
  out=$(on_pty 24 80 "" ctr -a "$CTD_DIR/s/ctd.sock" -n "$CTD_NS" run -t --rm --fifo-dir "$CTD_DIR/fifo" --runc-binary "$FOCKER" \
    --runc-root "$CTD_DIR/runc" "$CTD_IMAGE" ct-t1 tty)
  assert_contains "$out" /dev/pts/ || return 1
  # the limits land in the container's cgroup (containerd: /<namespace>/<id>)
  out=$(ctr_run --rm --memory-limit 67108864 --cpus 0.5 "$CTD_IMAGE" ct-l1 sh -c \
    "cat /proc/self/cgroup | grep -m1 memory" 2>&1) || { echo "    $out"; return 1; }
  assert_contains "$out" "/$CTD_NS/ct-l1" || return 1
  ctr_run -d --memory-limit 67108864 --cpus 0.5 "$CTD_IMAGE" ct-l2 sleep 100 >/dev/null 2>&1 || return 1
  if [ -d /sys/fs/cgroup/memory ]; then
    cg=/sys/fs/cgroup/memory/$CTD_NS/ct-l2/memory.limit_in_bytes
    assert_eq "$(cat "$cg")" 67108864 "in $cg" || return 1
    assert_eq "$(cat /sys/fs/cgroup/cpu/$CTD_NS/ct-l2/cpu.cfs_quota_us)" 50000 "cpu quota" || return 1
  else
    assert_eq "$(cat /sys/fs/cgroup/$CTD_NS/ct-l2/memory.max)" 67108864 || return 1
  fi
  ctr_ task kill -s KILL ct-l2 && sleep 0.2 && ctr_ task delete ct-l2 >/dev/null 2>&1
  ctr_ container rm ct-l2
  out=$(ctr_run --rm --privileged "$CTD_IMAGE" ct-p1 sh -c 'ls /dev | wc -l' 2>&1)
  [ "$out" -gt 20 ] || { echo "    --privileged sees few devices: $out"; return 1; }
  out=$(ctr_run --rm --net-host "$CTD_IMAGE" ct-n1 sh -c 'ls /sys/class/net | wc -l' 2>&1)
  assert_eq "$out" "$(ls /sys/class/net | wc -l)" "links with --net-host" || return 1
  ctd_left
}
