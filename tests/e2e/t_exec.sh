# t_exec.sh: `focker exec`, console sockets and terminals attached to focker's own (sourced
# by run.sh).  Namespaces and confinement are compared between the exec'd process (read from
# inside, /proc/self) and the container's init (read from the host, /proc/PID).

# start_sleeper [PYTHON]: container c1 running `sleep 1000`, config edited by PYTHON
start_sleeper() {
  make_bundle "$E2E_TMP/b" '["sleep","1000"]'
  [ -z "${1:-}" ] || edit_config "$E2E_TMP/b" "$1"
  fk run -d --bundle "$E2E_TMP/b" c1
}

init_pid() {
  fk state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}

# ns_links PID|self NAMES...: "name:[inode]" lines
ns_of_init() {
  local pid=$1 n
  shift
  for n in "$@"; do readlink "/proc/$pid/ns/$n"; done
}

userns_config="c['linux']['namespaces'].append({'type':'user'}); c['linux']['uidMappings']=[{'containerID':0,'hostID':100000,'size':65536}]; c['linux']['gidMappings']=[{'containerID':0,'hostID':100000,'size':65536}]"

test_exec_joins_every_namespace_of_the_init() {
  start_sleeper || return 1
  local names="pid mnt uts ipc net cgroup user" inside want
  inside=$(fk exec c1 sh -c "for n in $names; do readlink /proc/self/ns/\$n; done") || return 1
  want=$(ns_of_init "$(init_pid c1)" $names)
  assert_eq "$inside" "$want" || return 1
  # and not the host's
  [ "$(readlink /proc/self/ns/pid)" != "$(echo "$inside" | head -1)" ] || { echo "    host pid ns"; return 1; }
  fk delete --force c1
}

test_exec_joins_a_user_namespace_container() {
  make_bundle "$E2E_TMP/b" '["sleep","1000"]'
  # as podman does for --uidmap: the rootfs belongs to the mapped root (host uid 100000)
  chmod 755 "$E2E_TMP" && chown -R 100000:100000 "$E2E_TMP/b/rootfs"
  edit_config "$E2E_TMP/b" "$userns_config"
  fk run -d --bundle "$E2E_TMP/b" c1 || return 1
  local names="user pid mnt uts ipc net" inside want
  inside=$(fk exec c1 sh -c "for n in $names; do readlink /proc/self/ns/\$n; done; cat /proc/self/uid_map; id -u") || return 1
  want=$(ns_of_init "$(init_pid c1)" $names)
  assert_contains "$inside" "$want" || return 1
  assert_contains "$inside" "100000" || return 1
  assert_eq "$(echo "$inside" | tail -1)" 0 "uid inside" || return 1
  fk delete --force c1
}

test_exec_exit_codes_propagate() {
  start_sleeper || return 1
  local rc=0
  fk exec c1 sh -c 'exit 7' || rc=$?
  assert_eq "$rc" 7 "exit code" || return 1
  rc=0
  fk exec c1 sh -c 'kill -9 $$' || rc=$?
  assert_eq "$rc" 137 "killed by SIGKILL" || return 1
  rc=0
  fk exec c1 /no/such/program 2>"$E2E_TMP/err" || rc=$?
  [ "$rc" != 0 ] || { echo "    a missing program succeeded"; return 1; }
  assert_contains "$(cat "$E2E_TMP/err")" "/no/such/program" || return 1
  fk delete --force c1
}

test_exec_detach_writes_the_pid_file() {
  start_sleeper || return 1
  local pid init
  fk exec --detach --pid-file "$E2E_TMP/e.pid" c1 sleep 1000 || return 1
  pid=$(cat "$E2E_TMP/e.pid")
  init=$(init_pid c1)
  [ -d "/proc/$pid" ] || { echo "    pid $pid not running"; return 1; }
  assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 1000 " || return 1
  assert_eq "$(readlink "/proc/$pid/ns/pid")" "$(readlink "/proc/$init/ns/pid")" || return 1
  assert_eq "$(cat "/proc/$pid/cgroup")" "$(cat "/proc/$init/cgroup")" "cgroup" || return 1
  # nothing but a temporary file was written next to it, and it is gone
  assert_eq "$(ls "$E2E_TMP" | grep -c 'e.pid')" 1 || return 1
  fk delete --force c1
  [ ! -d "/proc/$pid" ] || { echo "    exec'd process survived delete --force"; return 1; }
}

test_exec_env_cwd_user_flags() {
  start_sleeper || return 1
  local out
  out=$(fk exec --env FOO=bar --env HOME=/tmp --cwd /tmp --user 1000:1001 --additional-gids 50 \
    c1 sh -c 'echo "$FOO $HOME $(pwd) $(id -u) $(id -g) $(id -G)"') || return 1
  assert_eq "$out" "bar /tmp /tmp 1000 1001 1001 50" || return 1
  fk delete --force c1
}

test_exec_podman_style_process_json() {
  start_sleeper || return 1
  local out pid
  out=$(fk exec --process "$FIXTURES/podman-exec-process.json" c1) || return 1
  assert_eq "$out" "exec-hi" || return 1
  out=$(fk exec --process "$FIXTURES/containerd-exec-process.json" c1) || return 1
  assert_eq "$out" "exec-hi" || return 1
  # podman's exact form: --pid-file, --process, --detach
  fk --log-format=json --log "$E2E_TMP/log" exec --pid-file "$E2E_TMP/e.pid" \
    --process "$FIXTURES/podman-exec-process.json" --detach c1 >"$E2E_TMP/out" || return 1
  pid=$(cat "$E2E_TMP/e.pid")
  [ "$pid" -gt 1 ] || return 1
  fk delete --force c1
}

test_exec_confinement_matches_the_container() {
  local sc
  sc=$(python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['linux']['seccomp']))" "$FIXTURES/podman-resources-security.json")
  start_sleeper "c['process']['noNewPrivileges'] = True; c['linux']['seccomp'] = json.loads('''$sc''')" || return 1
  local fields='^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):'
  local inside want
  inside=$(fk exec c1 grep -E "$fields" /proc/self/status) || return 1
  want=$(grep -E "$fields" "/proc/$(init_pid c1)/status")
  assert_eq "$inside" "$want" || return 1
  assert_contains "$inside" "Seccomp:	2" || return 1
  # --cap adds to what the container has
  inside=$(fk exec --cap CAP_SYS_ADMIN c1 grep CapEff /proc/self/status) || return 1
  [ "$inside" != "$(echo "$want" | grep CapEff)" ] || { echo "    --cap changed nothing"; return 1; }
  fk delete --force c1
}

test_exec_cgroup_flag_runs_in_sub_cgroups() {
  start_sleeper || return 1
  local dirs d out mem
  # the container's directory in every hierarchy
  dirs=$(pid_cgroups "$(init_pid c1)")
  [ -n "$dirs" ] || { fk delete --force c1; skip "no cgroup for the container"; }
  for d in $dirs; do
    mkdir "$d/s"
    # a v1 cpuset starts empty: no process may join it until it has cpus and mems
    if [ -e "$d/cpuset.cpus" ]; then
      cat "$d/cpuset.cpus" >"$d/s/cpuset.cpus"
      cat "$d/cpuset.mems" >"$d/s/cpuset.mems"
    fi
  done
  mem=$(echo "$dirs" | grep '/memory/' | head -1)
  [ -z "$mem" ] || mkdir "$mem/m"
  # a failure below must not leave them: the container's cgroups could not be removed
  # shellcheck disable=SC2064
  trap "rmdir $(printf '%s/s ' $dirs) ${mem:+$mem/m} 2>/dev/null" EXIT
  # seen from the container's cgroup namespace, rooted at its cgroup
  out=$(fk exec --cgroup s c1 cat /proc/self/cgroup)
  local rc=$?
  if [ -n "$mem" ] && [ $rc = 0 ]; then
    local out2
    out2=$(fk exec --cgroup memory:m --cgroup s c1 cat /proc/self/cgroup) || rc=1
  fi
  for d in $dirs; do rmdir "$d/s"; done
  [ -z "$mem" ] || rmdir "$mem/m"
  [ $rc = 0 ] || return 1
  [ -z "$(echo "$out" | grep -v ':/s$')" ] || { echo "    not all in /s: $out"; return 1; }
  if [ -n "$mem" ]; then
    assert_contains "$out2" ":memory:/m" || return 1
    assert_contains "$out2" ":pids:/s" || return 1
  fi
  out=$(one_line_error fk exec --cgroup nope c1 true) || { echo "$out"; return 1; }
  assert_contains "$out" "--cgroup nope" || return 1
  fk delete --force c1 || return 1
  # shellcheck disable=SC2086
  assert_eq "$(cgroups_left $dirs)" "" "cgroups left"
}

# one_line_error CMD...: fails, with exactly one line on stderr; prints it
one_line_error() {
  local rc=0
  "$@" 2>"$E2E_TMP/err" >/dev/null || rc=$?
  [ "$rc" != 0 ] || { echo "    succeeded: $*"; return 1; }
  assert_eq "$(wc -l <"$E2E_TMP/err")" 1 "stderr lines" || return 1
  cat "$E2E_TMP/err"
}

test_exec_refuses_created_paused_and_stopped() {
  make_bundle "$E2E_TMP/b" '["sleep","1000"]'
  local out
  fk create --bundle "$E2E_TMP/b" c1 || return 1
  out=$(one_line_error fk exec c1 true) || { echo "$out"; return 1; }
  assert_contains "$out" "container c1 is not running: created" || return 1
  fk start c1 || return 1
  if fk pause c1 2>/dev/null; then
    out=$(one_line_error fk exec c1 true) || { echo "$out"; return 1; }
    assert_contains "$out" "container c1 is paused" || return 1
    fk resume c1 || return 1
  fi
  fk kill c1 KILL || return 1
  for _ in $(seq 100); do fk state c1 | grep -q '"stopped"' && break; sleep 0.05; done
  out=$(one_line_error fk exec c1 true) || { echo "$out"; return 1; }
  assert_contains "$out" "container c1 is not running: stopped" || return 1
  out=$(one_line_error fk exec nope true) || { echo "$out"; return 1; }
  assert_contains "$out" "container nope does not exist" || return 1
  fk delete --force c1
}

# console_receiver SOCKET OUT: in the background, accept one connection on SOCKET, take the
# pty master passed over it, type a command, and copy what the pty says to OUT until EOF
# (create's console socket is tested in t_lifecycle.sh)
console_receiver() {
  rm -f "$1" "$2"
  python3 - "$1" "$2" <<'EOF' &
import os, socket, sys, select, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 64, 1)
master = fds[0]
os.write(master, b"tty; stty size; exit\n")
data, deadline = b"", time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 1)
    if not r:
        continue
    try:
        d = os.read(master, 4096)
    except OSError:
        break
    if not d:
        break
    data += d
open(out, "wb").write(data)
EOF
  receiver=$!
  for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
  return 1
}

test_exec_tty_with_a_console_socket() {
  start_sleeper || return 1
  local receiver out
  console_receiver "$E2E_TMP/exec-console.sock" "$E2E_TMP/pty.out" || return 1
  fk exec --tty --detach --console-socket "$E2E_TMP/exec-console.sock" c1 sh || { kill "$receiver"; return 1; }
  wait "$receiver" || return 1
  rm -f "$E2E_TMP/exec-console.sock"
  out=$(cat "$E2E_TMP/pty.out")
  assert_contains "$out" "/dev/pts/" || return 1
  fk delete --force c1
}

test_run_terminal_attaches_to_our_pty_and_restores_it() {
  make_bundle "$E2E_TMP/b" '["sh"]'
  edit_config "$E2E_TMP/b" "c['process']['terminal'] = True"
  local out before after
  out=$(on_pty 33 97 $'tty; stty size; exit 5\r' sh -c \
    "stty -g; $FOCKER --root $ROOT run --bundle $E2E_TMP/b c1; echo rc=\$?; stty -g") || return 1
  assert_contains "$out" "/dev/pts/0" || return 1
  assert_contains "$out" "33 97" || return 1
  assert_contains "$out" "rc=5" || return 1
  # the terminal settings before and after are the same (raw mode was undone)
  before=$(echo "$out" | tr -d '\r' | grep -E '^[0-9a-f]+(:[0-9a-f]+){10,}$' | head -1)
  after=$(echo "$out" | tr -d '\r' | grep -E '^[0-9a-f]+(:[0-9a-f]+){10,}$' | tail -1)
  [ -n "$before" ] || { echo "    no stty -g output: $out"; return 1; }
  assert_eq "$after" "$before" "termios after run" || return 1
}

test_exec_tty_attaches_to_our_pty() {
  start_sleeper || return 1
  local out
  out=$(on_pty 40 120 $'stty size; tty; exit 3\r' "$FOCKER" --root "$ROOT" exec -t c1 sh) || return 1
  assert_contains "$out" "40 120" || return 1
  assert_contains "$out" "/dev/pts/" || return 1
  assert_contains "$out" "EXIT 3" || return 1
  fk delete --force c1
}

test_terminal_with_stdin_not_a_tty_copies_both_ways() {
  make_bundle "$E2E_TMP/b" '["sh"]'
  edit_config "$E2E_TMP/b" "c['process']['terminal'] = True"
  local out rc=0
  out=$(echo 'echo piped-$((6*7)); exit 4' | fk run --bundle "$E2E_TMP/b" c1) || rc=$?
  assert_eq "$rc" 4 "exit status" || return 1
  assert_contains "$out" "piped-42" || return 1
  start_sleeper || return 1
  rc=0
  out=$(echo 'echo exec-$((6*7)); exit 6' | fk exec -t c1 sh) || rc=$?
  assert_eq "$rc" 6 "exit status" || return 1
  assert_contains "$out" "exec-42" || return 1
  out=$(one_line_error fk exec -t -d c1 sh) || { echo "$out"; return 1; }
  assert_contains "$out" "console-socket" || return 1
  fk delete --force c1
}

# bad exec command lines (t_badinput.sh's checks): one line naming the problem, nothing
# changed, no process left
test_exec_bad_input_fails_with_one_line() {
  start_sleeper || return 1
  echo '{"args": ["true"], "cwd": "relative"' >"$E2E_TMP/bad.json"
  echo '{"args": [], "cwd": "/"}' >"$E2E_TMP/empty.json"
  bad_expect "expects a container id" exec || return 1
  bad_expect "expects a command" exec c1 || return 1
  bad_expect "not both" exec --process "$E2E_TMP/bad.json" c1 true || return 1
  bad_expect "--user" exec --user abc c1 true || return 1
  bad_expect "--user" exec --user 1:x c1 true || return 1
  bad_expect "--additional-gids" exec --additional-gids x c1 true || return 1
  bad_expect "--preserve-fds" exec --preserve-fds x c1 true || return 1
  bad_expect "unknown option --bogus" exec --bogus c1 true || return 1
  bad_expect "--env" exec --env NOEQUALS c1 true || return 1
  bad_expect "--cwd" exec --cwd relative c1 true || return 1
  bad_expect "CAP_NOPE" exec --cap CAP_NOPE c1 true || return 1
  bad_expect "--cgroup ../up" exec --cgroup ../up c1 true || return 1
  bad_expect "missing.json" exec --process "$E2E_TMP/missing.json" c1 || return 1
  bad_expect "bad.json" exec --process "$E2E_TMP/bad.json" c1 || return 1
  bad_expect "args" exec --process "$E2E_TMP/empty.json" c1 || return 1
  bad_expect "console-socket" exec -t -d c1 sh || return 1
  bad_expect "console socket $E2E_TMP/none" exec -t --console-socket "$E2E_TMP/none" c1 sh || return 1
  bad_expect "/no/such/program" exec c1 /no/such/program || return 1
  bad_expect "invalid container id" exec ../x true || return 1
  bad_expect "container nope does not exist" exec nope true || return 1
  fk delete --force c1
}

test_exec_inherited_fds_reach_the_process_only_when_preserved() {
  start_sleeper || return 1
  local out
  # fds 3, 4 and 5 open in focker, as podman's conmon may leave them
  out=$(fk exec c1 ls /proc/self/fd 3<"$E2E_TMP/b/config.json" 4<&3 5<&3) || return 1
  # ls's own directory fd is 3
  assert_eq "$(echo $out)" "0 1 2 3" "fds seen by the process" || return 1
  out=$(fk exec --preserve-fds 2 c1 ls /proc/self/fd 3<"$E2E_TMP/b/config.json" 4<&3 5<&3) || return 1
  assert_eq "$(echo $out)" "0 1 2 3 4 5" "fds with --preserve-fds 2" || return 1
  fk delete --force c1
}
