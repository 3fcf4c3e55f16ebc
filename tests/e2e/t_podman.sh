# t_podman.sh: podman 4.3 (Debian's, with conmon) driving focker as its OCI runtime, for the
# flows users run every day.  podman's storage, run state, tmp dir, network config and
# events log all live under $E2E_TMP/pm; containers go in their own cgroup parent, removed
# at the end; the one test that needs a bridge network runs podman inside a throwaway
# network namespace.  The image is a busybox-static rootfs imported with `podman import`.
# Sourced by run.sh.  Host-only in vm/ (it tests the client protocol, not the kernel).
# shellcheck shell=bash

PM_DIR=${E2E_TMP:-/tmp}/pm
PM_IMAGE=localhost/focker-e2e-busybox:latest
# this run's own cgroup parent: other runs of this suite on the machine have theirs
PM_CGPARENT=$(printf %s "${E2E_TMP##*.}" | tr -cd 'A-Za-z0-9')
PM_CGPARENT=/focker-e2e-podman-${PM_CGPARENT:-$$}

pm() {
  CONTAINERS_CONF="$PM_DIR/containers.conf" podman --root "$PM_DIR/storage" \
    --runroot "$PM_DIR/run" --tmpdir "$PM_DIR/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file "$@"
}

# pm_ready: podman installed (from apt when missing), its config and the image, made once
# per run and shared by the tests.  Skips when podman cannot be had.
pm_ready() {
  command -v podman >/dev/null ||
    { timeout 300 apt-get install -y -qq podman >/dev/null 2>&1 && command -v podman >/dev/null; } ||
    skip "podman is not installed and apt-get install podman failed"
  [ -f "$PM_DIR/ready" ] && return 0
  mkdir -p "$PM_DIR/tmp" "$PM_DIR/cni" "$PM_DIR/rootfs/bin" "$PM_DIR/rootfs/tmp" "$PM_DIR/www"
  # conmon always goes in /libpod_parent/conmon (cgroupfs): ours to remove if it is new
  [ -n "$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null)" ] || touch "$PM_DIR/own-libpod-parent"
  # root lacks CAP_SYS_RESOURCE here: podman's default limits (nofile and nproc 1048576)
  # are above the hard limits and no runtime could set them; ask for what the host allows
  # (conmon starts the runtime with nproc at most 32768)
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  cat >"$PM_DIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PM_DIR/events.log"
runtime = "focker"
[engine.runtimes]
focker = ["$FOCKER"]
[network]
network_config_dir = "$PM_DIR/cni"
EOF
  cp "$BUSYBOX" "$PM_DIR/rootfs/bin/busybox"
  for app in $("$BUSYBOX" --list); do
    [ -e "$PM_DIR/rootfs/bin/$app" ] || ln -s busybox "$PM_DIR/rootfs/bin/$app"
  done
  echo hello-web >"$PM_DIR/www/index.html"
  # the same podman as a command, for script(1) and unshare(1)
  printf '#!/bin/sh\nexec env CONTAINERS_CONF=%s podman --root %s --runroot %s --tmpdir %s --storage-driver vfs --cgroup-manager cgroupfs --events-backend file "$@"\n' \
    "$PM_DIR/containers.conf" "$PM_DIR/storage" "$PM_DIR/run" "$PM_DIR/tmp" >"$PM_DIR/pm"
  chmod +x "$PM_DIR/pm"
  tar -C "$PM_DIR/rootfs" -cf "$PM_DIR/busybox.tar" . &&
    pm import "$PM_DIR/busybox.tar" "$PM_IMAGE" >/dev/null 2>&1 ||
    { echo "    podman import failed"; return 1; }
  touch "$PM_DIR/ready"
}

# pm_cleanup: every container of the test's podman gone, and the cgroup parent removed.
pm_cleanup() {
  pm rm -af -t 0 >/dev/null 2>&1
  local d
  for d in /sys/fs/cgroup/*"$PM_CGPARENT" /sys/fs/cgroup/*/*"$PM_CGPARENT"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  if [ -f "$PM_DIR/own-libpod-parent" ]; then
    for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
  return 0
}

# pm_left: what a podman test may not leave: focker state of podman's containers, their
# cgroups, processes running our image's commands.
pm_left() {
  local left=""
  [ -n "$(pm ps -aq 2>/dev/null)" ] && left="$left containers"
  local m
  for m in $(cgroup_mounts); do # podman's cgroupfs names: <parent>/libpod-<id>
    compgen -G "$m$PM_CGPARENT/libpod-*" >/dev/null && { left="$left cgroups"; break; }
  done
  [ -z "$left" ] || echo "    podman left:$left"
  [ -z "$left" ]
}

pm_run() { pm run --cgroup-parent "$PM_CGPARENT" "$@"; }

test_podman_run_rm_echo_and_exit_codes() {
  pm_ready || return 1
  trap pm_cleanup EXIT
  local out rc
  out=$(pm_run --rm --network none "$PM_IMAGE" echo hello from focker 2>&1) || { echo "    $out"; return 1; }
  assert_eq "$out" "hello from focker" || return 1
  pm_run --rm --network none "$PM_IMAGE" sh -c 'exit 42' >/dev/null 2>&1
  rc=$?
  assert_eq "$rc" 42 "exit status of the container" || return 1
  # a missing command is podman's 127, from the runtime's error
  out=$(pm_run --rm --network none "$PM_IMAGE" no-such-command 2>&1)
  rc=$?
  assert_eq "$rc" 127 "for a missing command" || return 1
  assert_contains "$out" "no-such-command" || return 1
  pm_left
}

test_podman_detached_pause_update_kill_stop_restart_rm() {
  pm_ready || return 1
  trap pm_cleanup EXIT
  local id st cg
  id=$(pm_run -d --name pm-d1 --network none "$PM_IMAGE" \
    sh -c 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done' 2>&1) ||
    { echo "    run -d: $id"; return 1; }
  st=$(pm inspect -f '{{.State.Status}}' pm-d1)
  assert_eq "$st" running || return 1
  assert_eq "$("$FOCKER" state "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" running ||
    return 1
  pm pause pm-d1 >/dev/null || return 1
  assert_eq "$(pm inspect -f '{{.State.Status}}' pm-d1)" paused || return 1
  assert_eq "$(cat /sys/fs/cgroup/freezer"$PM_CGPARENT"/libpod-"$id"/freezer.state)" FROZEN || return 1
  pm unpause pm-d1 >/dev/null || return 1
  assert_eq "$(pm inspect -f '{{.State.Status}}' pm-d1)" running || return 1
  pm update --memory 64m pm-d1 >/dev/null || return 1
  cg=/sys/fs/cgroup/memory"$PM_CGPARENT"/libpod-"$id"/memory.limit_in_bytes
  assert_eq "$(cat "$cg")" 67108864 "in $cg" || return 1
  pm kill -s USR1 pm-d1 >/dev/null || return 1
  for _ in $(seq 50); do pm logs pm-d1 2>&1 | grep -q got-usr1 && break; sleep 0.1; done
  assert_contains "$(pm logs pm-d1 2>&1)" got-usr1 || return 1
  pm stop -t 1 pm-d1 >/dev/null 2>&1 || return 1
  assert_eq "$(pm inspect -f '{{.State.Status}}' pm-d1)" exited || return 1
  pm restart -t 1 pm-d1 >/dev/null 2>&1 || return 1
  assert_eq "$(pm inspect -f '{{.State.Status}}' pm-d1)" running || return 1
  pm rm -f -t 0 pm-d1 >/dev/null || return 1
  [ ! -e "/run/focker/$id" ] || { echo "    focker state of $id left"; return 1; }
  pm_left
}

test_podman_exec() {
  pm_ready || return 1
  trap pm_cleanup EXIT
  local out rc
  pm_run -d --name pm-e1 --network none "$PM_IMAGE" sleep 1000 >/dev/null || return 1
  out=$(pm exec pm-e1 echo in-the-container 2>&1) || { echo "    exec: $out"; return 1; }
  assert_eq "$out" in-the-container || return 1
  pm exec pm-e1 sh -c 'exit 7' >/dev/null 2>&1
  rc=$?
  assert_eq "$rc" 7 "exit status of exec" || return 1
  out=$(pm exec --user 1000 --workdir /tmp -e A=B pm-e1 sh -c 'echo $(id -u) $(pwd) $A' 2>&1)
  assert_eq "$out" "1000 /tmp B" || return 1
  # the exec'd process shares the init's pid namespace
  out=$(pm exec pm-e1 sh -c 'cat /proc/1/cmdline | tr "\0" " "' 2>&1)
  assert_eq "$out" "sleep 1000 " || return 1
  pm exec -d pm-e1 sleep 5 >/dev/null 2>&1 || { echo "    exec -d failed"; return 1; }
  out=$(on_pty 24 80 "" "$PM_DIR/pm" exec -t pm-e1 sh -c 'tty; exit 3')
  assert_contains "$out" /dev/pts/ || return 1
  assert_contains "$out" "EXIT 3" || return 1
  pm rm -f -t 0 pm-e1 >/dev/null || return 1
  pm_left
}

test_podman_run_it_gets_a_terminal() {
  pm_ready || return 1
  trap pm_cleanup EXIT
  local out
  out=$(on_pty 24 80 "" "$PM_DIR/pm" run -it --rm --cgroup-parent "$PM_CGPARENT" --network none \
    "$PM_IMAGE" sh -c 'tty; exit 5')
  assert_contains "$out" /dev/pts/ || return 1
  assert_contains "$out" "EXIT 5" || return 1
  pm_left
}

test_podman_privileged_uidmap_and_network_modes() {
  pm_ready || return 1
  trap pm_cleanup EXIT
  local out
  # privileged: the host's devices, every capability
  out=$(pm_run --rm --privileged --network none "$PM_IMAGE" sh -c 'ls /dev | wc -l; grep CapEff /proc/self/status' 2>&1) ||
    { echo "    --privileged: $out"; return 1; }
  [ "$(echo "$out" | head -1)" -gt 20 ] || { echo "    --privileged sees few devices: $out"; return 1; }
  assert_contains "$out" "$(grep CapBnd /proc/self/status | sed "s/CapBnd/CapEff/")" || return 1
  # a user namespace with the given map
  out=$(pm_run --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 --network none "$PM_IMAGE" \
    cat /proc/self/uid_map 2>&1) || { echo "    --uidmap: $out"; return 1; }
  assert_eq "$(echo $out)" "0 100000 65536" || return 1
  # --network none: only lo; --network host: the host's links
  out=$(pm_run --rm --network none "$PM_IMAGE" sh -c 'ls /sys/class/net' 2>&1)
  assert_eq "$(echo $out)" lo || return 1
  out=$(pm_run --rm --network host "$PM_IMAGE" sh -c 'ls /sys/class/net | wc -l' 2>&1)
  assert_eq "$out" "$(ls /sys/class/net | wc -l)" "links with --network host" || return 1
  pm_left
}

# -p 8080:80 needs podman's bridge network (CNI: a bridge, a veth, iptables DNAT): made in a
# throwaway network namespace, where the request to 127.0.0.1:8080 goes too.
test_podman_publish_port_serves_http() {
  pm_ready || return 1
  command -v unshare >/dev/null || skip "no unshare(1)"
  trap pm_cleanup EXIT
  local out
  out=$(unshare -n sh -c "ip link set lo up
    $PM_DIR/pm run -d --name pm-web --cgroup-parent $PM_CGPARENT -p 8080:80 \
      -v $PM_DIR/www:/www:ro $PM_IMAGE httpd -f -p 80 -h /www >/dev/null || exit 1
    for i in \$(seq 50); do
      python3 -c 'import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:8080/index.html\", timeout=2).read().decode())' 2>/dev/null && break
      sleep 0.1
    done
    $PM_DIR/pm rm -f -t 0 pm-web >/dev/null" 2>&1)
  assert_contains "$out" hello-web || return 1
  pm_left
}

# An image built by podman (buildah, with focker running its RUN steps), whose upper layers
# delete a file and replace a directory: saved as an oci-archive, loaded by focker and run,
# the deleted file and the replaced directory's old content are absent (whiteout and opaque
# directory), what the layers kept is there.
test_podman_built_image_with_whiteouts_runs_under_focker() {
  pm_ready || return 1
  trap pm_cleanup EXIT
  local ctx="$E2E_TMP/pmbuild" store="$E2E_TMP/pmstore" out
  mkdir -p "$ctx"
  cat >"$ctx/Containerfile" <<EOF2
FROM $PM_IMAGE
RUN mkdir -p /data/keep /data/opq && echo 1 >/data/gone && echo 2 >/data/keep/k && echo 3 >/data/opq/old
RUN rm /data/gone && rm -rf /data/opq && mkdir /data/opq && echo 4 >/data/opq/new
EOF2
  out=$(pm build -q --cgroup-parent "$PM_CGPARENT" -t localhost/focker-e2e-wh:1 "$ctx" 2>&1) ||
    { echo "    podman build: $out"; return 1; }
  pm save -q --format oci-archive -o "$E2E_TMP/wh.tar" localhost/focker-e2e-wh:1 >/dev/null 2>&1 ||
    { echo "    podman save failed"; return 1; }
  pm rmi -f localhost/focker-e2e-wh:1 >/dev/null 2>&1
  "$FOCKER" --storage-root "$store" load "$E2E_TMP/wh.tar" >/dev/null || return 1
  out=$("$FOCKER" --root "$ROOT" --storage-root "$store" run --rm --network none \
    localhost/focker-e2e-wh:1 sh -c 'cat /data/keep/k /data/opq/new; ls /data /data/opq | tr "\n" " "' 2>&1) ||
    { echo "    $out"; return 1; }
  assert_eq "$out" "2
4
/data: keep opq  /data/opq: new " || return 1
  pm_left
}
