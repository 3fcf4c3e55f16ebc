# t_lifecycle.sh: e2e tests of the OCI lifecycle, mounts, namespaces, process setup, hooks
# and the configs real clients write.  Sourced by run.sh; every test_* function is a test.
# shellcheck shell=bash disable=SC2016

test_run_prints_output_and_exit_status() {
  make_bundle "$E2E_TMP/b" '["sh","-c","echo hello; exit 3"]'
  local out rc
  out=$(fk run --bundle "$E2E_TMP/b" c1)
  rc=$?
  assert_eq "$out" "hello" && assert_eq "$rc" 3
}

# Device nodes get the config's mode whatever the caller's umask (0666 by default), a
# config device replaces a default node at its path, and a directory made on the way for one
# gets the caller's umask.
test_device_nodes_ignore_the_umask_and_replace_defaults() {
  make_bundle "$E2E_TMP/b" '["sh","-c","stat -c %a:%F /dev/null /dev/zero /dev/sub/fuse; stat -c %a /dev/sub"]'
  edit_config "$E2E_TMP/b" "c['linux'].setdefault('devices', []).extend([{'path': '/dev/sub/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 432}, {'path': '/dev/null', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 384}])"
  local out
  out=$(umask 027 && fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_eq "$out" "600:character special file
666:character special file
660:character special file
750"
}

test_run_reports_death_by_signal_as_128_plus_n() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  fk run --bundle "$E2E_TMP/b" c1 &
  local runner=$!
  for _ in $(seq 200); do
    fk state c1 2>/dev/null | grep -q '"status": "running"' && break
    sleep 0.02
  done
  fk kill c1 KILL || return 1
  wait $runner
  assert_eq "$?" 137
}

test_lifecycle_create_start_state_kill_delete() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  fk create --bundle "$E2E_TMP/b" --pid-file "$E2E_TMP/pid" c1 || return 1
  local st pid
  st=$(fk state c1)
  assert_contains "$st" '"status": "created"' || return 1
  pid=$(cat "$E2E_TMP/pid")
  assert_contains "$st" "\"pid\": $pid" || return 1
  fk start c1 || return 1
  assert_contains "$(fk state c1)" '"status": "running"' || return 1
  assert_contains "$(cat /proc/"$pid"/cmdline | tr '\0' ' ')" "sleep 100" || return 1
  fk kill c1 SIGKILL || return 1
  for _ in $(seq 100); do
    fk state c1 | grep -q stopped && break
    sleep 0.02
  done
  assert_contains "$(fk state c1)" '"status": "stopped"' || return 1
  assert_contains "$(fk state c1)" '"pid": 0' || return 1
  fk delete c1 || return 1
  fk state c1 2>/dev/null && { echo "    state still answers after delete"; return 1; }
  return 0
}

test_process_does_not_run_before_start() {
  make_bundle "$E2E_TMP/b" '["touch","/tmp/ran"]'
  fk create --bundle "$E2E_TMP/b" c1 || return 1
  sleep 0.2
  [ -e "$E2E_TMP/b/rootfs/tmp/ran" ] && { echo "    process ran before start"; return 1; }
  fk start c1 || return 1
  for _ in $(seq 100); do [ -e "$E2E_TMP/b/rootfs/tmp/ran" ] && break; sleep 0.02; done
  [ -e "$E2E_TMP/b/rootfs/tmp/ran" ] || { echo "    process did not run after start"; return 1; }
  # the file appears before touch exits: wait for stopped, then a plain delete must work
  for _ in $(seq 100); do fk state c1 | grep -q '"status": "stopped"' && break; sleep 0.02; done
  fk delete c1
}

test_state_is_stopped_after_init_exits_unwaited() {
  make_bundle "$E2E_TMP/b" '["true"]'
  fk create --bundle "$E2E_TMP/b" c1 && fk start c1 || return 1
  for _ in $(seq 100); do
    fk state c1 | grep -q '"status": "stopped"' && break
    sleep 0.02
  done
  assert_contains "$(fk state c1)" '"status": "stopped"' && fk delete c1
}

test_delete_refuses_live_container_without_force() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  fk create --bundle "$E2E_TMP/b" c1 || return 1
  local err
  err=$(fk delete c1 2>&1) && { echo "    delete of a created container succeeded"; return 1; }
  assert_contains "$err" "not stopped: created" || return 1
  fk start c1 || return 1
  fk delete c1 2>/dev/null && { echo "    delete of a running container succeeded"; return 1; }
  fk delete --force c1
}

test_delete_force_on_missing_id_succeeds() {
  fk delete --force does-not-exist || return 1
  fk delete does-not-exist 2>/dev/null && { echo "    delete of a missing id succeeded"; return 1; }
  return 0
}

test_start_twice_fails() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  fk create --bundle "$E2E_TMP/b" c1 && fk start c1 || return 1
  local err
  err=$(fk start c1 2>&1) && { echo "    second start succeeded"; return 1; }
  assert_contains "$err" "not in created state" && fk delete --force c1
}

test_duplicate_id_is_refused() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  fk create --bundle "$E2E_TMP/b" c1 || return 1
  local err
  err=$(fk create --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    duplicate create succeeded"; return 1; }
  assert_contains "$err" "already exists" || return 1
  assert_contains "$(fk state c1)" '"status": "created"' && fk delete --force c1
}

test_namespaces_hostname_and_pid1() {
  make_bundle "$E2E_TMP/b" '["sh","-c","echo $(hostname) $$ $(readlink /proc/self/ns/uts) $(readlink /proc/self/ns/mnt)"]'
  edit_config "$E2E_TMP/b" "c['hostname'] = 'box1'"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  set -- $out
  assert_eq "$1" box1 || return 1
  assert_eq "$2" 1 "(pid of the container's first process)" || return 1
  [ "$3" != "$(readlink /proc/self/ns/uts)" ] || { echo "    uts namespace shared with host"; return 1; }
  [ "$4" != "$(readlink /proc/self/ns/mnt)" ] || { echo "    mount namespace shared with host"; return 1; }
}

test_no_host_fd_reaches_the_container() {
  make_bundle "$E2E_TMP/b" '["sh","-c","ls /proc/self/fd | tr \"\\n\" \" \""]'
  local out
  out=$( (exec 7</dev/null 8>"$E2E_TMP/x"; fk run --bundle "$E2E_TMP/b" c1) ) || return 1
  # 0 1 2 and the fd ls uses to read the directory
  assert_eq "$out" "0 1 2 3 " || return 1
}

test_preserve_fds_passes_exactly_n() {
  make_bundle "$E2E_TMP/b" '["sh","-c","cat <&3; ls /proc/self/fd | tr \"\\n\" \" \""]'
  echo preserved >"$E2E_TMP/in"
  local out
  out=$( (exec 3<"$E2E_TMP/in" 4</dev/null; fk run --preserve-fds 1 --bundle "$E2E_TMP/b" c1) ) || return 1
  assert_eq "$out" "preserved
0 1 2 3 4 " "(fd 3 preserved, 4 is ls' own)" || return 1
  # a gap: --preserve-fds 3 with fds 3 and 5 open and 4 closed.  focker's own fds (its state
  # directory, the lock file) land in the gap; the container gets 3 and 5, nothing at 4
  edit_config "$E2E_TMP/b" "c['process']['args'] = ['sh', '-c', 'readlink /proc/self/fd/3; readlink /proc/self/fd/5; readlink /proc/self/fd/4 || echo no fd 4']"
  out=$( (exec 3<"$E2E_TMP/in" 5</dev/null 4<&-; fk run --preserve-fds 3 --bundle "$E2E_TMP/b" c1 2>/dev/null) ) || return 1
  assert_eq "$out" "$E2E_TMP/in
/dev/null
no fd 4" "fds 3, 4 and 5 in the container" || return 1
}

test_readonly_root_and_masked_paths() {
  make_bundle "$E2E_TMP/b" '["sh","-c","touch /x 2>/dev/null && echo writable; cat /etc/secret; ls /secretdir; echo 1 >/proc/sys/kernel/domainname 2>/dev/null && echo procsys-writable; echo done"]'
  echo hidden >"$E2E_TMP/b/rootfs/etc/secret"
  mkdir -p "$E2E_TMP/b/rootfs/secretdir" && touch "$E2E_TMP/b/rootfs/secretdir/file"
  edit_config "$E2E_TMP/b" "c['root']['readonly'] = True; c['linux']['maskedPaths'] += ['/etc/secret', '/secretdir']"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1 2>/dev/null) || return 1
  assert_eq "$out" "done"
}

test_mounts_bind_tmpfs_and_options() {
  mkdir -p "$E2E_TMP/data" && echo content >"$E2E_TMP/data/f"
  make_bundle "$E2E_TMP/b" '["sh","-c","cat /data/f; touch /data/g 2>/dev/null || echo ro; touch /scratch/a && echo tmpfs-ok; grep -c \" /scratch tmpfs\" /proc/mounts"]'
  edit_config "$E2E_TMP/b" "c['mounts'] += [{'destination':'/data','type':'bind','source':'$E2E_TMP/data','options':['rbind','ro']},{'destination':'/scratch','type':'tmpfs','source':'tmpfs','options':['nosuid','size=1m']}]"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_eq "$out" "content
ro
tmpfs-ok
1" || return 1
  [ -e "$E2E_TMP/data/g" ] && { echo "    read-only bind was writable"; return 1; }
  return 0
}

test_mount_destination_symlink_cannot_escape_rootfs() {
  make_bundle "$E2E_TMP/b" '["true"]'
  mkdir -p "$E2E_TMP/outside"
  ln -s "$E2E_TMP/outside" "$E2E_TMP/b/rootfs/evil"
  edit_config "$E2E_TMP/b" "c['mounts'] += [{'destination':'/evil/sub','type':'tmpfs','source':'tmpfs','options':[]}]"
  fk run --bundle "$E2E_TMP/b" c1 || return 1
  [ -e "$E2E_TMP/outside/sub" ] && { echo "    mount point created outside the rootfs"; return 1; }
  [ -d "$E2E_TMP/b/rootfs$E2E_TMP/outside/sub" ] || { echo "    symlink not resolved inside the rootfs"; return 1; }
  return 0
}

test_default_devices_and_dev_links() {
  make_bundle "$E2E_TMP/b" '["sh","-c","for d in null zero full random urandom tty; do [ -c /dev/$d ] || echo missing $d; done; readlink /dev/fd; echo x >/dev/null && echo ok"]'
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_eq "$out" "/proc/self/fd
ok"
}

test_process_user_env_cwd_rlimits() {
  make_bundle "$E2E_TMP/b" '["sh","-c","id -u; id -g; id -G; echo $FOO; pwd; ulimit -n; umask"]'
  edit_config "$E2E_TMP/b" "c['process']['user'] = {'uid': 1000, 'gid': 1001, 'additionalGids': [5, 7], 'umask': 63}; c['process']['env'].append('FOO=bar'); c['process']['cwd'] = '/work/dir'; c['process']['rlimits'] = [{'type':'RLIMIT_NOFILE','soft':512,'hard':512}]"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_eq "$(echo $out)" "1000 1001 1001 5 7 bar /work/dir 512 0077"
}

test_user_namespace_maps_root() {
  make_bundle "$E2E_TMP/b" '["sh","-c","id -u; cat /proc/self/uid_map"]'
  # as podman does for --uidmap: the rootfs belongs to the mapped root (host uid 100000)
  chmod 755 "$E2E_TMP" && chown -R 100000:100000 "$E2E_TMP/b/rootfs"
  edit_config "$E2E_TMP/b" "c['linux']['namespaces'].append({'type':'user'}); c['linux']['uidMappings'] = [{'containerID':0,'hostID':100000,'size':65536}]; c['linux']['gidMappings'] = [{'containerID':0,'hostID':100000,'size':65536}]"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_eq "$(echo $out)" "0 0 100000 65536"
}

test_join_existing_namespace_by_path() {
  make_bundle "$E2E_TMP/b" '["readlink","/proc/self/ns/uts"]'
  unshare --uts sleep 30 &
  local holder=$!
  sleep 0.1
  edit_config "$E2E_TMP/b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'uts'] + [{'type':'uts','path':'/proc/$holder/ns/uts'}]; c.pop('hostname', None)"
  local out want
  want=$(readlink /proc/$holder/ns/uts)
  out=$(fk run --bundle "$E2E_TMP/b" c1)
  kill $holder; wait $holder 2>/dev/null
  assert_eq "$out" "$want"
}

test_hooks_get_state_and_failing_hook_undoes_create() {
  make_bundle "$E2E_TMP/b" '["true"]'
  cat >"$E2E_TMP/hook.sh" <<EOF
#!/bin/sh
cat >"$E2E_TMP/hook-\$1.json"
EOF
  chmod +x "$E2E_TMP/hook.sh"
  # startContainer's path resolves in the container (runtime-spec), the others' on the host
  edit_config "$E2E_TMP/b" "c['hooks'] = {k: [{'path':'$E2E_TMP/hook.sh','args':['hook.sh',k]}] for k in ['prestart','createRuntime','createContainer','poststart','poststop']}; c['hooks']['startContainer'] = [{'path':'/bin/sh','args':['sh','-c','cat >/tmp/hook-startContainer.json']}]"
  fk run --bundle "$E2E_TMP/b" c1 || return 1
  for k in prestart createRuntime createContainer poststart poststop; do
    assert_contains "$(cat "$E2E_TMP/hook-$k.json" 2>/dev/null)" '"id":"c1"' || { echo "    hook $k"; return 1; }
  done
  assert_contains "$(cat "$E2E_TMP/b/rootfs/tmp/hook-startContainer.json")" '"status":"created"' || return 1
  assert_contains "$(cat "$E2E_TMP/hook-poststop.json")" '"status":"stopped"' || return 1
  edit_config "$E2E_TMP/b" "c['hooks'] = {'prestart': [{'path':'/bin/false'}]}"
  local err
  err=$(fk run --bundle "$E2E_TMP/b" c2 2>&1) && { echo "    failing hook did not fail create"; return 1; }
  assert_contains "$err" "hooks.prestart[0]: /bin/false exited with status 1"
}

test_hook_timeout_kills_it() {
  make_bundle "$E2E_TMP/b" '["true"]'
  edit_config "$E2E_TMP/b" "c['hooks'] = {'createRuntime': [{'path':'/bin/sleep','args':['sleep','30'],'timeout':1}]}"
  local err
  err=$(fk run --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    hung hook did not fail create"; return 1; }
  assert_contains "$err" "timed out after 1 s"
}

test_bad_config_is_one_clear_line_and_leaves_nothing() {
  make_bundle "$E2E_TMP/b" '["true"]'
  edit_config "$E2E_TMP/b" "c['linux']['namespaces'].append({'type':'nett'})"
  local err
  err=$(fk create --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    bad config accepted"; return 1; }
  assert_contains "$err" 'unknown namespace "nett"' || return 1
  assert_eq "$(echo "$err" | wc -l)" 1 || return 1
  echo '{"ociVersion": "1.0.2",' >"$E2E_TMP/b/config.json"
  err=$(fk create --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    malformed config accepted"; return 1; }
  assert_contains "$err" "config.json" || return 1
  [ -n "$(ls -A "$ROOT" 2>/dev/null | grep -E '^\.?c1(=|$)')" ] && { echo "    state left"; return 1; }
  return 0
}

test_missing_rootfs_and_missing_executable_fail_cleanly() {
  make_bundle "$E2E_TMP/b" '["/bin/nonexistent"]'
  local err
  err=$(fk create --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    missing executable accepted"; return 1; }
  assert_contains "$err" "/bin/nonexistent" || return 1
  edit_config "$E2E_TMP/b" "c['root']['path'] = 'nope'"
  err=$(fk create --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    missing rootfs accepted"; return 1; }
  assert_contains "$err" "nope" || return 1
  [ -n "$(ls -A "$ROOT" 2>/dev/null | grep -E '^\.?c1(=|$)')" ] && { echo "    state left"; return 1; }
  return 0
}

test_log_json_format_both_forms() {
  make_bundle "$E2E_TMP/b" '["true"]'
  "$FOCKER" --root "$ROOT" --log "$E2E_TMP/log1" --log-format json start nope 2>/dev/null
  "$FOCKER" --root="$ROOT" --log="$E2E_TMP/log2" --log-format=json start nope 2>/dev/null
  for f in log1 log2; do
    python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).readline()); assert d['level']=='error' and 'nope' in d['msg'], d" "$E2E_TMP/$f" || return 1
  done
}

test_kill_accepts_signal_forms() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  fk create --bundle "$E2E_TMP/b" c1 && fk start c1 || return 1
  fk kill c1 CONT && fk kill c1 SIGCONT && fk kill c1 18 && fk kill c1 cont || return 1
  fk kill c1 NOTASIGNAL 2>/dev/null && { echo "    bad signal accepted"; return 1; }
  fk kill c1 || return 1 # SIGTERM by default; pid 1 ignores it without a handler
  fk kill c1 9 && fk delete --force c1
}

test_kill_all_reaches_every_process() {
  # the init ignores SIGTERM (pid 1, no handler); its child, a plain process, does not
  make_bundle "$E2E_TMP/b" '["sh","-c","sleep 100 & echo $! >/tmp/child; wait"]'
  fk create --bundle "$E2E_TMP/b" c1 && fk start c1 || return 1
  for _ in $(seq 100); do [ -s "$E2E_TMP/b/rootfs/tmp/child" ] && break; sleep 0.02; done
  local pid
  pid=$(fk state c1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
  local child
  child=$(pgrep -P "$pid" sleep)
  [ -n "$child" ] || { echo "    no child process found"; return 1; }
  fk kill --all c1 TERM || return 1
  for _ in $(seq 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.02; done
  kill -0 "$child" 2>/dev/null && { echo "    kill --all missed the child"; return 1; }
  fk delete --force c1
}

test_list_table_and_json() {
  make_bundle "$E2E_TMP/b" '["sleep","100"]'
  fk create --bundle "$E2E_TMP/b" c1 || return 1
  assert_contains "$(fk list)" "c1" || return 1
  fk list --format json | python3 -c "import json,sys; l=json.load(sys.stdin); assert l[0]['id']=='c1' and l[0]['status']=='created', l" || return 1
  assert_eq "$(fk list -q)" "c1" && fk delete --force c1
}

test_spec_and_features() {
  mkdir -p "$E2E_TMP/s"
  (cd "$E2E_TMP/s" && "$FOCKER" spec) || return 1
  (cd "$E2E_TMP/s" && "$FOCKER" spec 2>/dev/null) && { echo "    spec overwrote config.json"; return 1; }
  python3 -c "import json,sys; c=json.load(open(sys.argv[1])); assert c['ociVersion'] and c['process']['args']" "$E2E_TMP/s/config.json" || return 1
  "$FOCKER" features | python3 -c "import json,sys; f=json.load(sys.stdin); assert 'mount' in f['linux']['namespaces']"
}

test_terminal_pty_goes_to_console_socket() {
  make_bundle "$E2E_TMP/b" '["sh","-c","tty; [ -t 0 ] && [ -t 1 ] && echo on-a-tty; stty size"]'
  edit_config "$E2E_TMP/b" "c['process']['terminal'] = True; c['process']['consoleSize'] = {'height': 40, 'width': 120}"
  python3 - "$E2E_TMP/console.sock" >"$E2E_TMP/console.out" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
conn, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(conn, 16, 1)
out = b""
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.write(out.decode().replace("\r", ""))
EOF
  local receiver=$!
  for _ in $(seq 100); do [ -S "$E2E_TMP/console.sock" ] && break; sleep 0.02; done
  fk run --console-socket "$E2E_TMP/console.sock" --bundle "$E2E_TMP/b" c1 || return 1
  wait $receiver
  assert_eq "$(cat "$E2E_TMP/console.out")" "/dev/pts/0
on-a-tty
40 120" || return 1
  local err
  err=$(fk create --bundle "$E2E_TMP/b" c2 2>&1) && { echo "    terminal without console socket accepted"; return 1; }
  assert_contains "$err" "--console-socket"
}

test_checkpoint_probe_is_unsupported() {
  "$FOCKER" checkpoint --help >/dev/null 2>&1 && { echo "    checkpoint claims support"; return 1; }
  return 0
}

# The configs podman 4.3 and containerd 1.6 wrote, with the rootfs, namespace paths and bind
# sources rewritten for this host.
run_fixture() {
  local name=$1 chown_to_map=${2:-}
  make_bundle "$E2E_TMP/b" '["true"]'
  python3 - "$FIXTURES/$name" "$E2E_TMP/b" <<'EOF' || return 1
import json, os, sys
src, bundle = sys.argv[1], sys.argv[2]
c = json.load(open(src))
c["root"]["path"] = os.path.join(bundle, "rootfs")
c["root"]["readonly"] = False
c["process"]["args"] = ["sh", "-c", "echo fixture-ok"]
c["process"]["terminal"] = False
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if "path" not in n]
if not any(n["type"] == "mount" for n in c["linux"]["namespaces"]):
    c["linux"]["namespaces"].append({"type": "mount"})
for i, m in enumerate(c.get("mounts", [])):
    if m.get("type") == "bind" or "bind" in m.get("options", []) or "rbind" in m.get("options", []):
        if not os.path.exists(m["source"]):
            p = os.path.join(bundle, "src%d" % i)
            if m["destination"] in ("/dev/shm",):
                os.makedirs(p, exist_ok=True)
            else:
                open(p, "w").close()
            m["source"] = p
json.dump(c, open(os.path.join(bundle, "config.json"), "w"))
EOF
  if [ -n "$chown_to_map" ]; then
    local host
    host=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['linux']['uidMappings'][0]['hostID'])" "$E2E_TMP/b/config.json")
    chown -R "$host:$host" "$E2E_TMP/b/rootfs"
  fi
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_eq "$out" "fixture-ok"
}

test_podman_run_echo_config_runs() { run_fixture podman-run-echo.json; }
test_podman_resources_security_config_runs() { run_fixture podman-resources-security.json; }
test_podman_privileged_config_runs() { run_fixture podman-privileged.json; }
test_podman_uidmap_config_runs() { chmod 755 "$E2E_TMP"; run_fixture podman-uidmap.json 1; }
test_podman_network_host_config_runs() { run_fixture podman-network-host.json; }
test_containerd_run_config_runs() { run_fixture containerd-run.json; }
test_containerd_privileged_config_runs() { run_fixture containerd-privileged.json; }
test_containerd_resources_config_runs() { run_fixture containerd-resources.json; }


# DESIGN.md: a bundle crun's (or runc's) `spec` makes runs under focker.  Their defaults list
# ambient capabilities without inheritable ones, which runc and crun accept.
run_other_runtime_spec() {
  local rt=$1
  command -v "$rt" >/dev/null || skip "$rt is not installed"
  make_bundle "$E2E_TMP/b" '["true"]'
  rm "$E2E_TMP/b/config.json"
  (cd "$E2E_TMP/b" && "$rt" spec) || return 1
  edit_config "$E2E_TMP/b" "c['process']['terminal'] = False; c['process']['args'] = ['sh', '-c', 'grep CapEff /proc/self/status']"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_contains "$out" "CapEff:"
}

test_crun_spec_bundle_runs() { run_other_runtime_spec crun; }
test_runc_spec_bundle_runs() { run_other_runtime_spec runc; }

# focker ignores SIGPIPE (an EPIPE is an error it handles); the container's process must not
# inherit that: `yes | head` has to end.
test_container_process_gets_default_sigpipe() {
  make_bundle "$E2E_TMP/b" '["sh","-c","grep SigIgn /proc/self/status"]'
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  python3 -c "import sys; m=int(sys.argv[1].split()[1],16); sys.exit(1 if m & (1<<12) else 0)" "$out" || { echo "    SIGPIPE ignored in the container: $out"; return 1; }
}
