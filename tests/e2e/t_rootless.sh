# t_rootless.sh: e2e tests of focker run by a plain uid (rootless): `spec --rootless`
# bundles run, the lifecycle works, the default runtime root is $XDG_RUNTIME_DIR/focker, no
# cgroup is made (none is delegated here) and a config asking for limits fails with one
# line.  The runner is root; each test runs focker as uid 65534 (or, for subordinate ids,
# a user /etc/subuid already lists) through setpriv, with a bundle and runtime dir that uid
# owns.  A user made with useradd (subordinate ids in /etc/subuid, newuidmap from the uidmap
# package) runs a bundle mapping its range from a runtime dir of its own, and rootless
# podman with focker as its runtime; the user face's image commands are refused with one
# line.  Sourced by run.sh.
# shellcheck shell=bash

RL_UID=65534

# Skip unless this host lets a plain uid make a user namespace.
rl_need_userns() {
  local v
  command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
  v=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)
  [ "$v" != 0 ] || skip "user.max_user_namespaces=0: no user namespaces"
  v=$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)
  [ "$v" = 0 ] || skip "kernel.apparmor_restrict_unprivileged_userns=1: no unprivileged user namespaces"
  v=$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)
  [ "$v" = 1 ] || skip "kernel.unprivileged_userns_clone=0: no unprivileged user namespaces"
  rl_as "$RL_UID" unshare --user true 2>/dev/null || skip "uid $RL_UID cannot create a user namespace here"
}

# rl_as UID CMD...: run CMD as a bare uid (its gid the same number), no groups, no
# capabilities, with XDG_RUNTIME_DIR=$E2E_TMP/xdg.
rl_as() {
  local uid=$1
  shift
  setpriv --reuid "$uid" --regid "$uid" --clear-groups --inh-caps=-all \
    env XDG_RUNTIME_DIR="$E2E_TMP/xdg" "$@"
}

rl_fk() { rl_as "$RL_UID" "$FOCKER" "$@"; }

# rl_bundle UID ARGS_JSON: $E2E_TMP/b owned by UID, its config written by `focker spec
# --rootless` run as UID (so it maps UID to root), terminal off, the given process.args;
# a runtime dir for UID.
rl_bundle() {
  local uid=$1 args=$2
  make_bundle "$E2E_TMP/b" "$args"
  rm "$E2E_TMP/b/config.json"
  chmod 755 "$E2E_TMP"
  mkdir -p "$E2E_TMP/xdg"
  chmod 700 "$E2E_TMP/xdg"
  chown -R "$uid:$uid" "$E2E_TMP/b" "$E2E_TMP/xdg"
  (cd "$E2E_TMP/b" && rl_as "$uid" "$FOCKER" spec --rootless) || return 1
  edit_config "$E2E_TMP/b" "c['process']['terminal'] = False; c['process']['args'] = $args; c['root']['readonly'] = False"
}

# Remove what a rootless test left under the runtime dir (as its owner), then the dir; say
# if anything was there.
rl_nothing_left() {
  local uid=$1 id left=""
  if [ -d "$E2E_TMP/xdg/focker" ]; then
    for id in $(ls -A "$E2E_TMP/xdg/focker"); do
      left="$left $id"
      rl_as "$uid" "$FOCKER" delete --force "$id" >/dev/null 2>&1
    done
  fi
  rm -rf "$E2E_TMP/xdg"
  assert_eq "$left" "" "rootless state left"
}

test_rootless_spec_run_prints_and_exits_with_its_status() {
  rl_need_userns
  rl_bundle $RL_UID '["sh","-c","id -u; id -g; cat /proc/self/uid_map; echo hi >/tmp/f && cat /tmp/f; exit 3"]'
  local out rc=0
  out=$(rl_fk run --bundle "$E2E_TMP/b" rl1 2>&1) || rc=$?
  assert_eq "$rc" 3 "exit status ($out)" || { rl_nothing_left $RL_UID; return 1; }
  assert_eq "$(echo $out)" "0 0 0 $RL_UID 1 hi" || { rl_nothing_left $RL_UID; return 1; }
  # the default root is $XDG_RUNTIME_DIR/focker, and nothing is left in it
  [ -d "$E2E_TMP/xdg/focker" ] || { echo "    no $E2E_TMP/xdg/focker"; return 1; }
  rl_nothing_left $RL_UID || return 1
  assert_eq "$(run_cgroups "$E2E_TMP/xdg/focker")" "" "cgroups left"
}

test_rootless_lifecycle_without_a_cgroup() {
  rl_need_userns
  rl_bundle $RL_UID '["sleep","30"]'
  local out st want
  rl_fk create --bundle "$E2E_TMP/b" rl2 </dev/null || return 1
  st=$(rl_fk state rl2) || return 1
  assert_contains "$st" '"status": "created"' || { rl_nothing_left $RL_UID; return 1; }
  rl_fk start rl2 || { rl_nothing_left $RL_UID; return 1; }
  assert_contains "$(rl_fk state rl2)" '"status": "running"' || { rl_nothing_left $RL_UID; return 1; }
  # list's OWNER: the user owning the state (runc's: its name in /etc/passwd), not root
  out=$(rl_fk list | awk '$1 == "rl2" {print $NF}')
  want=$(awk -F: -v u=$RL_UID '$3 == u {print $1; exit}' /etc/passwd)
  assert_eq "$out" "${want:-#$RL_UID}" "OWNER in list" || { rl_nothing_left $RL_UID; return 1; }
  out=$(rl_fk exec rl2 id -u 2>&1)
  assert_eq "$out" 0 "exec" || { rl_nothing_left $RL_UID; return 1; }
  # the cgroup commands say there is no cgroup; kill --all still works
  for c in pause ps "update --pids-limit 5"; do
    out=$(rl_fk $c rl2 2>&1) && { echo "    $c succeeded"; rl_nothing_left $RL_UID; return 1; }
    assert_contains "$out" "container rl2 has no cgroup" || { rl_nothing_left $RL_UID; return 1; }
  done
  rl_fk kill --all rl2 KILL || { rl_nothing_left $RL_UID; return 1; }
  for _ in $(seq 100); do
    rl_fk state rl2 | grep -q '"status": "stopped"' && break
    sleep 0.02
  done
  assert_contains "$(rl_fk state rl2)" '"status": "stopped"' || { rl_nothing_left $RL_UID; return 1; }
  rl_fk delete rl2 || { rl_nothing_left $RL_UID; return 1; }
  assert_eq "$(ls -A "$E2E_TMP/xdg/focker")" "" "state left after delete" || { rl_nothing_left $RL_UID; return 1; }
  rl_nothing_left $RL_UID
}

test_rootless_resources_fail_with_one_line() {
  rl_need_userns
  rl_bundle $RL_UID '["true"]'
  edit_config "$E2E_TMP/b" "c['linux']['resources'] = {'pids': {'limit': 10}}"
  local out
  out=$(rl_fk run --bundle "$E2E_TMP/b" rl3 2>&1) && { echo "    run succeeded"; rl_nothing_left $RL_UID; return 1; }
  assert_eq "$(echo "$out" | wc -l)" 1 "one line: $out" || { rl_nothing_left $RL_UID; return 1; }
  assert_contains "$out" "linux.resources: running rootless, and no cgroup is delegated to this user" || { rl_nothing_left $RL_UID; return 1; }
  edit_config "$E2E_TMP/b" "del c['linux']['resources']; c['linux']['cgroupsPath'] = '/rl3'"
  out=$(rl_fk run --bundle "$E2E_TMP/b" rl3 2>&1) && { echo "    run succeeded"; rl_nothing_left $RL_UID; return 1; }
  assert_contains "$out" 'linux.cgroupsPath: "/rl3" cannot be made' || { rl_nothing_left $RL_UID; return 1; }
  edit_config "$E2E_TMP/b" "del c['linux']['cgroupsPath']; c['process']['user']['additionalGids'] = [5]"
  out=$(rl_fk run --bundle "$E2E_TMP/b" rl3 2>&1) && { echo "    run succeeded"; rl_nothing_left $RL_UID; return 1; }
  assert_contains "$out" "process.user.additionalGids: cannot be set rootless" || { rl_nothing_left $RL_UID; return 1; }
  rl_nothing_left $RL_UID
}

test_rootless_needs_a_runtime_root() {
  command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
  local out
  out=$(setpriv --reuid $RL_UID --regid $RL_UID --clear-groups env -u XDG_RUNTIME_DIR "$FOCKER" list 2>&1) && { echo "    list succeeded"; return 1; }
  assert_contains "$out" "set XDG_RUNTIME_DIR or pass --root DIR" || return 1
  # --rootless false: the root's default, which this uid cannot use (a fresh VM has none:
  # `list` of a missing root is an empty list, so make it as root would)
  local made=""
  [ -d /run/focker ] || { mkdir -m 0700 /run/focker 2>/dev/null && made=1; }
  if [ -d /run/focker ]; then
    out=$(rl_fk --rootless false list 2>&1) && { [ -n "$made" ] && rmdir /run/focker; echo "    list succeeded"; return 1; }
    [ -n "$made" ] && rmdir /run/focker
    assert_contains "$out" "runtime root /run/focker" || return 1
  fi
  out=$(rl_fk --rootless maybe list 2>&1) && { echo "    list succeeded"; return 1; }
  assert_contains "$out" '--rootless: "maybe" is not true, false or auto'
}

# More than the caller's own id goes through newuidmap/newgidmap, which map what
# /etc/subuid and /etc/subgid give the caller and refuse the rest.
test_rootless_subordinate_ids_through_newuidmap() {
  rl_need_userns
  command -v newuidmap >/dev/null && command -v newgidmap >/dev/null || skip "no newuidmap/newgidmap (package uidmap)"
  local maps='[{"containerID":0,"hostID":%s,"size":1},{"containerID":1,"hostID":%s,"size":%s}]'
  local user start count uid gid out
  # refused: uid 65534 has no subordinate ids
  rl_bundle $RL_UID '["cat","/proc/self/uid_map"]'
  edit_config "$E2E_TMP/b" "c['linux']['uidMappings'] = $(printf "$maps" $RL_UID 100000 1000)"
  out=$(rl_fk run --bundle "$E2E_TMP/b" rl4 2>&1) && { echo "    run succeeded: $out"; rl_nothing_left $RL_UID; return 1; }
  assert_contains "$out" "linux.uidMappings: $(command -v newuidmap) exited with status 1" || { rl_nothing_left $RL_UID; return 1; }
  rl_nothing_left $RL_UID || return 1
  rm -rf "$E2E_TMP/b"
  # granted: a user this host's /etc/subuid and /etc/subgid already list, or else uid 65534
  # with ranges that only a private mount namespace sees (this test's file bound over
  # /etc/subuid and /etc/subgid there): the host's files are never edited
  local wrap=()
  # under no_new_privs (build/enosys's seccomp filter sets it) setuid newuidmap gains nothing
  grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status \
    && skip "no_new_privs is set: a setuid newuidmap cannot write the maps"
  IFS=: read -r user start count < <(grep -v '^#' /etc/subuid 2>/dev/null | head -1)
  if ! { [ -n "$user" ] && uid=$(id -u "$user" 2>/dev/null) && gid=$(id -g "$user") \
    && [ "$uid" = "$gid" ] && grep -q "^$user:$start:$count" /etc/subgid 2>/dev/null; }; then
    [ -f /etc/subuid ] && [ -f /etc/subgid ] || skip "no /etc/subuid and /etc/subgid to bind over"
    uid=$RL_UID start=300000 count=65536
    printf '%s:%s:%s\n' "$uid" "$start" "$count" >"$E2E_TMP/subid"
    chmod 644 "$E2E_TMP/subid"
    # shellcheck disable=SC2016
    wrap=(unshare -m --propagation private sh -c
      'mount --bind "$1" /etc/subuid && mount --bind "$1" /etc/subgid && shift && exec "$@"'
      sh "$E2E_TMP/subid")
  fi
  rl_bundle "$uid" '["sh","-c","cat /proc/self/uid_map /proc/self/gid_map; id -G"]'
  edit_config "$E2E_TMP/b" "c['linux']['uidMappings'] = $(printf "$maps" "$uid" "$start" "$count"); c['linux']['gidMappings'] = $(printf "$maps" "$uid" "$start" "$count"); c['process']['user']['additionalGids'] = [5]"
  out=$("${wrap[@]}" setpriv --reuid "$uid" --regid "$uid" --clear-groups --inh-caps=-all \
    env XDG_RUNTIME_DIR="$E2E_TMP/xdg" "$FOCKER" run --bundle "$E2E_TMP/b" rl5 2>&1) \
    || { echo "    $out"; rl_nothing_left "$uid"; return 1; }
  assert_eq "$(echo $out)" "0 $uid 1 1 $start $count 0 $uid 1 1 $start $count 0 5" || { rl_nothing_left "$uid"; return 1; }
  rl_nothing_left "$uid"
}

# The user face (`run IMAGE` and the commands that unpack or mount an image) is root's: a
# plain user gets one line saying so, and no store is made.
test_rootless_user_face_images_refused_with_one_line() {
  command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
  mkdir -p "$E2E_TMP/xdg"
  chmod 755 "$E2E_TMP"
  chmod 700 "$E2E_TMP/xdg"
  chown "$RL_UID:$RL_UID" "$E2E_TMP/xdg"
  local args out rc
  for args in "run --rm focker/busybox true" "create focker/busybox" "run -d focker/busybox" \
    "pull localhost:1/x" "import $E2E_TMP/none.tar x" "load -i $E2E_TMP/none.tar" \
    "image build-default" "bundle focker/busybox $E2E_TMP/xdg/b"; do
    rc=0
    # shellcheck disable=SC2086
    out=$(rl_fk --storage-root "$E2E_TMP/xdg/store" $args 2>&1) || rc=$?
    [ "$rc" != 0 ] || { echo "    $args succeeded: $out"; rl_nothing_left $RL_UID; return 1; }
    assert_eq "$(echo "$out" | wc -l)" 1 "one line from $args: $out" || { rl_nothing_left $RL_UID; return 1; }
    assert_contains "$out" "running rootless, images are not supported" || { rl_nothing_left $RL_UID; return 1; }
    [ ! -e "$E2E_TMP/xdg/store" ] || { echo "    $args made a store"; rl_nothing_left $RL_UID; return 1; }
  done
  rl_nothing_left $RL_UID
}

# What a podman-rootless user has: a login with subordinate ids in /etc/subuid and
# /etc/subgid (useradd gives them), a home and a runtime dir of its own, newuidmap and
# newgidmap.  rl_user_make makes the user (useradd, a name unique to this run) and sets
# RL_USER, RL_USER_UID, RL_USER_GID (its primary group: newuidmap wants the caller's gid to
# be it), RL_SUBUID and RL_SUBGID ("start count"), RL_XDG and RL_HOME; everything is removed
# on any exit of the test (rl_user_cleanup): its containers, its processes (by pid: podman's
# pause process outlives its commands), the user and its files.
rl_user_make() {
  rl_need_userns
  command -v newuidmap >/dev/null && command -v newgidmap >/dev/null || skip "no newuidmap/newgidmap (package uidmap)"
  command -v useradd >/dev/null && command -v userdel >/dev/null || skip "no useradd/userdel (package passwd)"
  grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status \
    && skip "no_new_privs is set: a setuid newuidmap cannot write the maps"
  # useradd locks /etc/passwd by making /etc/passwd.lock: a read-only /etc (the VM runs)
  # cannot take a user
  local probe=/etc/.focker-e2e-probe.$$
  if ! (: >"$probe") 2>/dev/null; then skip "/etc is not writable: useradd cannot add a user"; fi
  rm -f "$probe"
  RL_USER=fkrl$$$RANDOM RL_XDG=$E2E_TMP/xdg-user RL_HOME=$E2E_TMP/home-user
  trap rl_user_cleanup EXIT
  useradd -M -N -d "$RL_HOME" -s /usr/sbin/nologin "$RL_USER" || { echo "    useradd failed"; return 1; }
  RL_USER_UID=$(id -u "$RL_USER") && RL_USER_GID=$(id -g "$RL_USER") || return 1
  RL_SUBUID=$(grep "^$RL_USER:" /etc/subuid | cut -d: -f2,3 | tr : ' ')
  RL_SUBGID=$(grep "^$RL_USER:" /etc/subgid | cut -d: -f2,3 | tr : ' ')
  [ -n "$RL_SUBUID" ] && [ -n "$RL_SUBGID" ] || skip "useradd gave no subordinate ids (SUB_UID_COUNT in /etc/login.defs)"
  chmod 755 "$E2E_TMP"
  mkdir -p "$RL_XDG" "$RL_HOME"
  chmod 700 "$RL_XDG" "$RL_HOME"
  chown "$RL_USER_UID:$RL_USER_GID" "$RL_XDG" "$RL_HOME"
}

# rl_user CMD...: CMD as the user, with its groups, home, runtime dir and name.
rl_user() {
  setpriv --reuid "$RL_USER_UID" --regid "$RL_USER_GID" --init-groups --inh-caps=-all \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RL_HOME" XDG_RUNTIME_DIR="$RL_XDG" \
    USER="$RL_USER" LOGNAME="$RL_USER" "$@"
}

rl_user_cleanup() {
  local id pid
  [ -n "${RL_USER_UID:-}" ] || { userdel "$RL_USER" 2>/dev/null; return 0; }
  if [ -d "$RL_XDG/focker" ]; then
    for id in $(ls -A "$RL_XDG/focker"); do
      case $id in *=*) continue ;; esac
      rl_user "$FOCKER" --root "$RL_XDG/focker" delete --force "$id" >/dev/null 2>&1
    done
  fi
  for pid in $(ps -o pid= -u "$RL_USER_UID"); do kill -9 "$pid" 2>/dev/null; done
  for pid in $(ps -o pid= -u "$RL_USER_UID"); do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  userdel "$RL_USER" 2>/dev/null
  rm -rf "$RL_XDG" "$RL_HOME" "$E2E_TMP/b"
}

test_rootless_subuid_user_runs_a_bundle_from_its_runtime_dir() {
  rl_user_make || return 1
  local start count gstart gcount uid=$RL_USER_UID gid=$RL_USER_GID out st
  read -r start count <<<"$RL_SUBUID"
  read -r gstart gcount <<<"$RL_SUBGID"
  rl_bundle "$uid" '["sh","-c","cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/f; chown 1000:1000 /tmp/f; chmod 1777 /tmp"]'
  local maps='[{"containerID":0,"hostID":%s,"size":1},{"containerID":1,"hostID":%s,"size":%s}]'
  # CAP_CHOWN (not in spec's runc-like default set; podman's has it)
  edit_config "$E2E_TMP/b" "c['linux']['uidMappings'] = $(printf "$maps" "$uid" "$start" "$count"); c['linux']['gidMappings'] = $(printf "$maps" "$gid" "$gstart" "$gcount"); [c['process']['capabilities'][k].append('CAP_CHOWN') for k in ('bounding', 'effective', 'permitted')]"
  out=$(rl_user "$FOCKER" --root "$RL_XDG/focker" run --bundle "$E2E_TMP/b" rl6 2>&1) || { echo "    run: $out"; return 1; }
  assert_eq "$(echo $out)" "0 $uid 1 1 $start $count 0 $gid 1 1 $gstart $gcount 0" || return 1
  # uid 1000 in the container is the user's subordinate id start+999 on the host
  assert_eq "$(stat -c %u:%g "$E2E_TMP/b/rootfs/tmp/f")" "$((start + 999)):$((gstart + 999))" "owner of a file chowned to 1000:1000" || return 1
  # the lifecycle with those maps: exec as another container user, list, kill, delete
  edit_config "$E2E_TMP/b" "c['process']['args'] = ['sleep', '30']"
  rl_user "$FOCKER" --root "$RL_XDG/focker" create --bundle "$E2E_TMP/b" rl7 </dev/null || return 1
  rl_user "$FOCKER" --root "$RL_XDG/focker" start rl7 || return 1
  out=$(rl_user "$FOCKER" --root "$RL_XDG/focker" exec --user 1000:1000 rl7 sh -c 'id -u; id -g; touch /tmp/g' 2>&1)
  assert_eq "$(echo $out)" "1000 1000" "exec --user 1000:1000" || return 1
  assert_eq "$(stat -c %u:%g "$E2E_TMP/b/rootfs/tmp/g")" "$((start + 999)):$((gstart + 999))" "owner of exec's file" || return 1
  st=$(rl_user "$FOCKER" --root "$RL_XDG/focker" list | awk '$1 == "rl7" {print $3, $NF}')
  assert_eq "$st" "running $RL_USER" "list" || return 1
  rl_user "$FOCKER" --root "$RL_XDG/focker" kill rl7 KILL || return 1
  rl_user "$FOCKER" --root "$RL_XDG/focker" delete --force rl7 || return 1
  assert_eq "$(ls -A "$RL_XDG/focker")" "" "state left in the runtime dir" || return 1
  assert_eq "$(run_cgroups "$RL_XDG/focker")" "" "cgroups left"
}

# Rootless podman with focker as its runtime: podman calls it as root of podman's own user
# namespace (the user's id and subordinate ids), where focker must act rootless (runc's
# rule: euid 0 in a user namespace, $USER not root): its root in $XDG_RUNTIME_DIR/focker,
# no cgroup.  The image is a busybox rootfs imported with `podman import`.
test_rootless_podman_user_runs_focker_as_its_runtime() {
  command -v podman >/dev/null || skip "podman is not installed"
  rl_user_make || return 1
  local pm=(podman --root "$RL_HOME/storage" --runroot "$RL_XDG/run" --storage-driver vfs
    --cgroup-manager cgroupfs --events-backend file --runtime "$FOCKER") out rc=0 start count
  read -r start count <<<"$RL_SUBUID"
  make_bundle "$E2E_TMP/b" '["true"]'
  tar -C "$E2E_TMP/b/rootfs" -cf "$RL_HOME/rootfs.tar" . && chown "$RL_USER_UID" "$RL_HOME/rootfs.tar" || return 1
  out=$(cd "$RL_HOME" && rl_user "${pm[@]}" import rootfs.tar localhost/rl-busybox 2>&1) || { echo "    podman import: $out"; return 1; }
  out=$(cd "$RL_HOME" && rl_user "${pm[@]}" run --rm --network none localhost/rl-busybox sh -c 'id -u; cat /proc/self/uid_map' 2>&1 | grep -v 'is not a shared mount') ||
    { echo "    podman run: $out"; return 1; }
  assert_eq "$(echo $out)" "0 0 $RL_USER_UID 1 1 $start $count" || return 1
  out=$(cd "$RL_HOME" && rl_user "${pm[@]}" run --rm --network none localhost/rl-busybox sh -c 'exit 42' 2>&1) || rc=$?
  assert_eq "$rc" 42 "exit status ($out)" || return 1
  # focker kept its state in the user's runtime dir, and left nothing there
  [ -d "$RL_XDG/focker" ] || { echo "    no $RL_XDG/focker"; return 1; }
  assert_eq "$(ls -A "$RL_XDG/focker")" "" "state left in the runtime dir"
}
