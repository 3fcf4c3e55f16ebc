# t_run.sh: `focker run IMAGE` and the docker-like commands on the real kernel: output and
# exit codes of a foreground run, -d with its monitor, logs (-f), ps, stop timing and the
# image's StopSignal, rm -f, --rm both ways, wait, inspect, each run flag seen applied inside
# the container, a killed monitor, and bad input that must leave nothing.  One image store per
# e2e run (focker image build-default, offline); every test removes its containers, and
# ur_nothing_left checks records, names, mounts and monitors.

ur_init() {
  URS="$E2E_TMP/urstore"
  if [ ! -d "$URS/containers" ]; then
    "$FOCKER" --storage-root "$URS" image build-default >/dev/null || return 1
  fi
  trap 'ur_cleanup' EXIT
}

# run and create IMAGE get --network none first (a later --network wins): bridge networking,
# the default, would make focker0 and nf_tables rules in this machine's network namespace.
# It is tested in a sandbox namespace, in t_runnet.sh.  The OCI forms (--bundle) get nothing.
fr() {
  case "${1:-} $*" in
  *" --bundle"* | *" -b "*) "$FOCKER" --root "$ROOT" --storage-root "$URS" "$@" ;;
  "run "* | "create "*)
    local verb=$1
    shift
    "$FOCKER" --root "$ROOT" --storage-root "$URS" "$verb" --network none "$@"
    ;;
  *) "$FOCKER" --root "$ROOT" --storage-root "$URS" "$@" ;;
  esac
}

ur_cleanup() {
  local id
  for id in $(ls "$URS/containers" 2>/dev/null); do
    [ "$id" = names ] && continue
    fr rm -f "$id" >/dev/null 2>&1 || true
  done
}

# The monitor pid of a container (from its state.json).
ur_monitor() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("MonitorPid", 0))' \
    "$URS/containers/$1/state.json"
}

ur_full_id() { fr inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

# Nothing of any user container: no record, no name, no mount, no runtime state, no monitor.
ur_nothing_left() {
  local left
  left=$(ls "$URS/containers" 2>/dev/null | grep -v '^names$')
  assert_eq "$left" "" "records left" || return 1
  assert_eq "$(ls -A "$URS/containers/names" 2>/dev/null)" "" "names left" || return 1
  assert_eq "$(grep -c " $URS/" /proc/self/mounts)" 0 "mounts left" || return 1
  if [ -d "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ]; then
    echo "    runtime state left: $(ls -A "$ROOT")"
    return 1
  fi
}

# ur_wait_for COND_CMD...: up to 10 s for the command to succeed.
ur_wait_for() {
  local i
  for i in $(seq 100); do
    "$@" && return 0
    sleep 0.1
  done
  echo "    timed out waiting for: $*"
  return 1
}

test_run_foreground_output_exit_codes_and_logs() {
  ur_init || return 1
  local out err rc id
  out=$(fr run --name fg focker/busybox sh -c 'echo out; echo err >&2; exit 3' 2>"$E2E_TMP/err")
  rc=$?
  assert_eq "$rc" 3 "exit status of the container" || return 1
  assert_eq "$out" out || return 1
  assert_eq "$(cat "$E2E_TMP/err")" err || return 1
  # kept for logs afterwards, stdout and stderr apart
  assert_eq "$(fr logs fg 2>/dev/null)" out || return 1
  assert_eq "$(fr logs fg 2>&1 >/dev/null)" err || return 1
  assert_contains "$(fr ps -a)" "Exited (3)" || return 1
  assert_eq "$(fr wait fg)" 3 || return 1
  fr rm fg >/dev/null || return 1
  # docker's codes: 127 not found, 126 not executable, 125 focker's own error
  fr run --rm focker/busybox no-such-command 2>"$E2E_TMP/err"
  assert_eq "$?" 127 "for a missing command" || return 1
  assert_eq "$(wc -l <"$E2E_TMP/err")" 1 "one line: $(cat "$E2E_TMP/err")" || return 1
  fr run --rm focker/busybox /etc/passwd 2>/dev/null
  assert_eq "$?" 126 "for a file that is not executable" || return 1
  fr run --rm no/such-image true 2>"$E2E_TMP/err"
  assert_eq "$?" 125 "for a missing image" || return 1
  assert_contains "$(cat "$E2E_TMP/err")" "no/such-image" || return 1
  echo hello-stdin | fr run --rm -i focker/busybox cat >"$E2E_TMP/o" || return 1
  assert_eq "$(cat "$E2E_TMP/o")" hello-stdin "-i forwards stdin" || return 1
  ur_nothing_left
}

# -d -i: the container's stdin stays open (a pipe the monitor holds and never writes, as
# docker's is until an attach), so a process reading it waits instead of seeing EOF at once.
test_run_detached_interactive_keeps_stdin_open() {
  ur_init || return 1
  local id
  id=$(fr run -d -i focker/busybox sh -c 'cat; echo eof') || return 1
  sleep 0.5
  assert_contains "$(fr ps)" "${id:0:12}" "a -d -i container reading stdin still runs" || return 1
  assert_eq "$(fr logs "$id")" "" || return 1
  # and again after a start: the record says OpenStdin
  fr kill "$id" >/dev/null || return 1
  fr wait "$id" >/dev/null || return 1
  fr start "$id" >/dev/null || return 1
  sleep 0.5
  assert_contains "$(fr ps)" "${id:0:12}" "a started -d -i container still runs" || return 1
  fr rm -f "$id" >/dev/null || return 1
  # without -i, stdin is /dev/null: the same command ends at once
  id=$(fr run -d focker/busybox sh -c 'cat; echo eof') || return 1
  assert_eq "$(fr wait "$id")" 0 || return 1
  assert_eq "$(fr logs "$id")" eof || return 1
  fr rm "$id" >/dev/null || return 1
  ur_nothing_left
}

# start -ai (and start -i) pass our stdin to a container created with -i, as docker's do;
# start -a alone gives it none, and neither does -ai for a container created without -i.
test_run_start_attach_interactive_passes_stdin() {
  ur_init || return 1
  local out
  fr create -i --name sai focker/busybox sh -c 'read x; echo "got:$x"' >/dev/null || return 1
  out=$(echo hello | fr start -ai sai) || return 1
  assert_eq "$out" "got:hello" "start -ai" || return 1
  out=$(echo again | fr start --attach --interactive sai) || return 1
  assert_eq "$out" "got:again" "start --attach --interactive" || return 1
  out=$(echo more | fr start -i sai) || return 1
  assert_eq "$out" "got:more" "start -i" || return 1
  out=$(echo nothing | fr start -a sai) || return 1
  assert_eq "$out" "got:" "start -a without -i" || return 1
  fr create --name snoi focker/busybox sh -c 'read x; echo "got:$x"' >/dev/null || return 1
  out=$(echo hello | fr start -ai snoi) || return 1
  assert_eq "$out" "got:" "start -ai of a container created without -i" || return 1
  fr rm sai snoi >/dev/null || return 1
  ur_nothing_left
}

test_run_bad_input_fails_with_one_line_and_leaves_nothing() {
  ur_init || return 1
  fr run -d --name taken focker/busybox sleep 60 >/dev/null || return 1
  local args
  while IFS= read -r args; do
    eval "fr run --rm $args" >/dev/null 2>"$E2E_TMP/err"
    rc=$?
    [ "$rc" = 125 ] || { echo "    run $args: status $rc, expected 125"; return 1; }
    [ "$(wc -l <"$E2E_TMP/err")" = 1 ] || { echo "    run $args: $(cat "$E2E_TMP/err")"; return 1; }
  done <<'EOF'
--name taken focker/busybox true
-v data:/data focker/busybox true
-v /tmp focker/busybox true
--memory lots focker/busybox true
--cpus x focker/busybox true
--pids-limit -1 focker/busybox true
--cap-add CAP_FLY focker/busybox true
--security-opt apparmor=x focker/busybox true
--network overlay focker/busybox true
--network host -p 80 focker/busybox true
--network bridge -p 80 focker/busybox true
--network bridge -p 8080:80/sctp focker/busybox true
--mount type=volume,target=/x focker/busybox true
--no-such-flag focker/busybox true
-w relative focker/busybox true
missing/image true
EOF
  assert_contains "$(fr run --rm --name taken focker/busybox true 2>&1)" \
    'name "taken" is already in use' || return 1
  fr rm -f taken >/dev/null || return 1
  ur_nothing_left
}

test_run_detached_logs_follow_ps_stop_and_wait() {
  ur_init || return 1
  local id t0 t1
  id=$(fr run -d --name web focker/busybox sh -c \
    'echo started; trap "echo got-term; exit 7" TERM; while true; do sleep 0.1; done') || return 1
  assert_eq "${#id}" 64 "a full id printed" || return 1
  ur_wait_for sh -c "\"$FOCKER\" --root $ROOT --storage-root $URS logs web | grep -q started" || return 1
  assert_contains "$(fr ps)" "web" || return 1
  assert_contains "$(fr ps)" "Up " || return 1
  assert_eq "$(fr ps -q)" "${id:0:12}" || return 1
  fr logs -f web >"$E2E_TMP/follow" &
  local follower=$!
  sleep 0.3
  t0=$(date +%s%N)
  fr stop -t 5 web >/dev/null || return 1
  t1=$(date +%s%N)
  [ $(((t1 - t0) / 1000000)) -lt 3000 ] || { echo "    stop waited for the timeout"; return 1; }
  # logs -f ends by itself when the container exits
  ur_wait_for sh -c "! kill -0 $follower 2>/dev/null" || { kill $follower; return 1; }
  wait $follower
  assert_eq "$(cat "$E2E_TMP/follow")" "started
got-term" || return 1
  assert_eq "$(fr wait web)" 7 || return 1
  assert_contains "$(fr ps -a)" "Exited (7)" || return 1
  assert_eq "$(fr ps)" "$(fr ps | head -1)" "ps without -a lists no exited container" || return 1
  assert_eq "$(fr logs --tail 1 web)" got-term || return 1
  assert_contains "$(fr logs -t web | head -1)" "Z started" || return 1
  grep -q '"stream":"stdout","time":"' "$URS/containers/$id/log.json" || return 1
  fr rm web >/dev/null || return 1
  ur_nothing_left
}

test_run_stop_kills_after_the_timeout_and_honours_the_stop_signal() {
  ur_init || return 1
  local t0 t1 ms id
  fr run -d --name stubborn focker/busybox sh -c 'trap "" TERM; while true; do sleep 0.1; done' >/dev/null || return 1
  sleep 0.3
  t0=$(date +%s%N)
  fr stop -t 1 stubborn >/dev/null || return 1
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  [ "$ms" -ge 1000 ] && [ "$ms" -lt 5000 ] || { echo "    stop -t 1 took $ms ms"; return 1; }
  assert_eq "$(fr wait stubborn)" 137 "killed by SIGKILL" || return 1
  # the image's StopSignal (annotation in the bundle's config.json) is what stop sends first
  id=$(fr create --name usr1 focker/busybox sh -c 'trap "exit 11" USR1; trap "" TERM; while true; do sleep 0.1; done') || return 1
  edit_config "$URS/containers/$id/bundle" \
    "c.setdefault('annotations', {})['org.opencontainers.image.stopSignal'] = 'SIGUSR1'"
  fr start usr1 || return 1
  sleep 0.3
  fr stop -t 5 usr1 >/dev/null || return 1
  assert_eq "$(fr wait usr1)" 11 "stopped by SIGUSR1" || return 1
  fr rm stubborn usr1 >/dev/null || return 1
  ur_nothing_left
}

test_run_flags_are_applied_in_the_container() {
  ur_init || return 1
  local out
  mkdir -p "$E2E_TMP/vol" "$E2E_TMP/rovol"
  chmod 777 "$E2E_TMP/vol" # written by uid 1000
  echo ro-data >"$E2E_TMP/rovol/f"
  printf 'FROM_FILE=yes\n# comment\n' >"$E2E_TMP/envfile"
  out=$(fr run --rm -e A=1 --env-file "$E2E_TMP/envfile" -v "$E2E_TMP/vol:/vol" \
    -v "$E2E_TMP/rovol:/ro:ro" --mount type=tmpfs,target=/scratch -w /tmp -u 1000:1000 \
    --hostname box --memory 64m --cpus 0.5 --pids-limit 33 --cap-drop CAP_KILL \
    --security-opt no-new-privileges --read-only --network none focker/busybox sh -c '
    echo "env=$A,$FROM_FILE"; echo "cwd=$(pwd)"; echo "uid=$(id -u):$(id -g)"
    echo "host=$(hostname)"; echo written >/vol/w && echo "vol=ok"
    cat /ro/f; echo x >/ro/g 2>/dev/null || echo "ro=refused"
    touch /root-file 2>/dev/null || echo "rootfs=read-only"
    touch /scratch/f && echo "tmpfs=ok"
    grep -E "^(CapBnd|NoNewPrivs)" /proc/self/status
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null
    cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null
    cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null | head -1
    echo "links=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" ,)"
    cat /etc/hostname; grep -c box /etc/hosts') || { echo "$out"; return 1; }
  for want in "env=1,yes" "cwd=/tmp" "uid=1000:1000" "host=box" "vol=ok" "ro-data" \
    "ro=refused" "rootfs=read-only" "tmpfs=ok" "NoNewPrivs:	1" "67108864" "33" "50000" \
    "links=lo,"; do
    assert_contains "$out" "$want" || { echo "$out"; return 1; }
  done
  assert_eq "$(cat "$E2E_TMP/vol/w")" written || return 1
  # CAP_KILL is bit 5: the default set (docker's 14, 0xa80425fb) without it
  assert_contains "$out" "CapBnd:	00000000a80425db" || { echo "$out"; return 1; }
  # --network none (the default here): loopback is up (core/net's netlink), with 127.0.0.1
  out=$(fr run --rm focker/busybox sh -c 'ip -o addr show dev lo; ip -o link show dev lo
    ping -c 1 -W 2 127.0.0.1 >/dev/null && echo up') || return 1
  assert_contains "$out" "inet 127.0.0.1/8" "lo's address in --network none" || return 1
  assert_contains "$out" "<LOOPBACK,UP,LOWER_UP>" "lo is up in --network none" || return 1
  assert_contains "$out" up "loopback in --network none" || return 1
  # --network host: the host's interfaces and hostname; --entrypoint replaces the image's;
  # -p is discarded with a warning, as docker does, and the container runs
  out=$(fr run --rm --network host -p 8080:80 --entrypoint hostname focker/busybox 2>"$E2E_TMP/err") || {
    cat "$E2E_TMP/err"
    return 1
  }
  assert_eq "$out" "$(hostname)" || return 1
  assert_eq "$(cat "$E2E_TMP/err")" \
    "focker: warning: published ports are discarded when using host network mode" || return 1
  # so with --network none (fr's default here): one warning line, and the container runs
  out=$(fr run --rm -p 8080:80 focker/busybox echo ran 2>"$E2E_TMP/err") || {
    cat "$E2E_TMP/err"
    return 1
  }
  assert_eq "$out" ran || return 1
  assert_eq "$(cat "$E2E_TMP/err")" \
    "focker: warning: published ports (-p) are discarded with --network none" || return 1
  out=$(fr run --rm --cap-add SYS_ADMIN focker/busybox grep CapBnd /proc/self/status) || return 1
  assert_contains "$out" "00000000a82425fb" || return 1
  ur_nothing_left
}

test_run_rm_force_and_auto_remove_both_ways() {
  ur_init || return 1
  local id
  id=$(fr run -d --name victim focker/busybox sleep 100) || return 1
  fr rm victim 2>"$E2E_TMP/err"
  assert_eq "$?" 1 "rm of a running container without -f" || return 1
  assert_contains "$(cat "$E2E_TMP/err")" "rm -f" || return 1
  fr rm -f victim >/dev/null || return 1
  assert_eq "$(fr ps -aq)" "" || return 1
  # --rm in the foreground and detached: nothing stays once the container exited
  fr run --rm focker/busybox true || return 1
  id=$(fr run -d --rm focker/busybox sh -c 'sleep 0.3') || return 1
  ur_wait_for test ! -d "$URS/containers/$id" || return 1
  ur_nothing_left
}

test_run_monitor_survives_its_starter_and_a_killed_monitor_is_honest() {
  ur_init || return 1
  local id mon
  # started by a shell that exits at once, in its own session: the monitor stays
  id=$(setsid sh -c "\"$FOCKER\" --root $ROOT --storage-root $URS run -d --network none focker/busybox sh -c 'while true; do echo tick; sleep 0.2; done'") || return 1
  mon=$(ur_monitor "$id")
  [ "$mon" -gt 0 ] && kill -0 "$mon" || { echo "    no monitor"; return 1; }
  sleep 0.5
  kill -0 "$mon" || { echo "    the monitor died with its starter"; return 1; }
  assert_contains "$(fr logs "$id")" tick || return 1
  # a monitor killed with SIGKILL: ps says so, rm -f removes everything
  kill -9 "$mon"
  sleep 0.2
  assert_contains "$(fr ps)" "no monitor" || return 1
  fr rm -f "${id:0:8}" >/dev/null || return 1
  ur_nothing_left || return 1
  # and when the container is gone too, ps -a says the exit is unknown
  id=$(fr run -d focker/busybox sleep 100) || return 1
  mon=$(ur_monitor "$id")
  kill -9 "$mon"
  fr kill "$id" >/dev/null
  ur_wait_for sh -c "\"$FOCKER\" --root $ROOT --storage-root $URS ps -a | grep -q 'Exited (unknown)'" || return 1
  fr rm -f "$id" >/dev/null || return 1
  ur_nothing_left
}

test_run_create_start_attach_inspect_exec_and_kill() {
  ur_init || return 1
  local id out
  id=$(fr create --name later -e X=y focker/busybox sh -c 'echo hi-$X') || return 1
  assert_contains "$(fr ps -a)" "Created" || return 1
  assert_eq "$(fr start -a later)" "hi-y" || return 1
  assert_eq "$(fr logs later)" "hi-y" || return 1
  out=$(fr inspect later | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]
print(c["Id"], c["Name"], c["State"]["Status"], c["State"]["ExitCode"], c["Config"]["Image"], c["HostConfig"]["NetworkMode"])') || return 1
  assert_eq "$out" "$id later exited 0 focker/busybox none" || return 1
  fr create --name withvol -v "$E2E_TMP:/data:ro" focker/busybox true >/dev/null || return 1
  out=$(fr inspect withvol | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["Mounts"])') || return 1
  assert_eq "$out" "[{'Type': 'bind', 'Source': '$E2E_TMP', 'Destination': '/data', 'RW': False}]" || return 1
  fr rm withvol >/dev/null || return 1
  # inspect still inspects images
  assert_contains "$(fr inspect focker/busybox)" '"name": "focker/busybox:latest"' || return 1
  fr run -d --name live focker/busybox sleep 100 >/dev/null || return 1
  assert_eq "$(fr exec -w /tmp -e Q=r live sh -c 'echo $Q $(pwd)')" "r /tmp" || return 1
  out=$(fr ps --format json | python3 -c 'import json,sys; print([c["Names"] for c in json.load(sys.stdin)])')
  assert_eq "$out" "['live']" || return 1
  fr kill -s KILL live || return 1
  assert_eq "$(fr wait live)" 137 || return 1
  fr rm later live >/dev/null || return 1
  ur_nothing_left
}

# exec -u and run -u take docker's forms, resolved in the container's own /etc/passwd and
# /etc/group (names this host does not have), with the supplementary groups naming the user.
test_run_exec_user_names_resolve_in_the_container() {
  ur_init || return 1
  local out
  fr run -d --name users focker/busybox sleep 100 >/dev/null || return 1
  fr exec users sh -c 'echo "fkapp:x:4321:4322::/:/bin/sh" >>/etc/passwd
    printf "fkapp:x:4322:\nfkstaff:x:4377:fkapp\n" >>/etc/group' || return 1
  out=$(fr exec -u fkapp users sh -c 'echo $(id -u) $(id -g) $(id -G)') || return 1
  assert_eq "$out" "4321 4322 4322 4377" "exec -u NAME" || return 1
  out=$(fr exec --user fkapp:fkstaff users sh -c 'echo $(id -u) $(id -g) $(id -G)') || return 1
  assert_eq "$out" "4321 4377 4377" "exec -u NAME:GROUP" || return 1
  out=$(fr exec -u 4321:5 users sh -c 'echo $(id -u) $(id -g)') || return 1
  assert_eq "$out" "4321 5" "exec -u UID:GID" || return 1
  out=$(fr exec -u fkghost users true 2>&1)
  assert_eq "$?" 1 "exec -u of a missing name" || return 1
  assert_eq "$(echo "$out" | wc -l)" 1 "one line" || return 1
  assert_contains "$out" 'user "fkghost": no such user in the container' || return 1
  out=$(fr run --rm -u nobody focker/busybox sh -c 'echo $(id -u) $(id -g)') || return 1
  assert_eq "$out" "65534 65534" "run -u NAME" || return 1
  fr rm -f users >/dev/null || return 1
  ur_nothing_left
}

# exec -u reads the container's /etc/passwd as the container sees it: a volume bound over it
# exists only in the container's mount namespace, not under the state's rootfs path.
test_run_exec_user_sees_a_volume_over_etc_passwd() {
  ur_init || return 1
  local dir="$E2E_TMP/pwvol" out
  mkdir -p "$dir"
  printf 'root:x:0:0::/root:/bin/sh\nfkvol:x:4711:4712::/:/bin/sh\n' >"$dir/passwd"
  printf 'root:x:0:\nfkvol:x:4712:\nfkvolg:x:4713:fkvol\n' >"$dir/group"
  fr run -d --name pwvol -v "$dir/passwd:/etc/passwd:ro" -v "$dir/group:/etc/group:ro" \
    focker/busybox sleep 100 >/dev/null || return 1
  out=$(fr exec -u fkvol pwvol sh -c 'echo $(id -u) $(id -g) $(id -G)') || return 1
  assert_eq "$out" "4711 4712 4712 4713" "exec -u of a user only the volume lists" || return 1
  fr rm -f pwvol >/dev/null || return 1
  rm -rf "$dir"
  ur_nothing_left
}

test_run_signals_reach_the_container_and_tty_output_is_logged() {
  ur_init || return 1
  local pid rc id out
  # focker itself in the background (not the fr function's subshell), so the signal is focker's
  "$FOCKER" --root "$ROOT" --storage-root "$URS" run --rm --network none focker/busybox \
    sh -c 'trap "exit 9" INT; echo ready; while true; do sleep 0.1; done' >"$E2E_TMP/o" &
  pid=$!
  ur_wait_for grep -q ready "$E2E_TMP/o" || return 1
  kill -INT $pid
  wait $pid
  rc=$?
  assert_eq "$rc" 9 "SIGINT to focker reaches the container" || return 1
  # foreground -t: the container's terminal is ours, its status focker's
  out=$(on_pty 24 80 "" "$FOCKER" --root "$ROOT" --storage-root "$URS" run --rm -t --network none \
    focker/busybox sh -c 'tty; stty size; exit 4') || return 1
  assert_contains "$out" "/dev/pts/0" || return 1
  assert_contains "$out" "24 80" || return 1
  assert_contains "$out" "EXIT 4" || return 1
  # its output is logged too, as docker logs a tty container: one stream, stdout
  out=$(on_pty 24 80 "" "$FOCKER" --root "$ROOT" --storage-root "$URS" run --name fgtty -t \
    --network none focker/busybox sh -c 'echo fg-on-a-tty') || return 1
  assert_contains "$out" "fg-on-a-tty" || return 1
  assert_contains "$(fr logs fgtty)" "fg-on-a-tty" "logs of a foreground -t" || return 1
  assert_contains "$(cat "$URS/containers/$(ur_full_id fgtty)/log.json")" '"stream":"stdout"' || return 1
  fr rm fgtty >/dev/null || return 1
  # -it: what is typed on our terminal reaches the container's shell through the relay
  out=$(on_pty 24 80 "echo typed-\$((6*7)); exit 5
" "$FOCKER" --root "$ROOT" --storage-root "$URS" run --rm -it --network none focker/busybox sh) || return 1
  assert_contains "$out" "typed-42" || return 1
  assert_contains "$out" "EXIT 5" || return 1
  id=$(fr run -d -t focker/busybox sh -c 'tty; echo on-a-tty') || return 1
  assert_eq "$(fr wait "$id")" 0 || return 1
  assert_contains "$(fr logs "$id")" "/dev/pts/0" || return 1
  assert_contains "$(fr logs "$id")" "on-a-tty" || return 1
  fr rm "$id" >/dev/null || return 1
  ur_nothing_left
}

test_run_oci_forms_keep_runc_behaviour() {
  ur_init || return 1
  local out
  make_bundle "$E2E_TMP/b" '["echo", "from-the-bundle"]'
  # runc's `run ID` in a bundle directory: one operand, ./config.json, and no such image
  out=$(cd "$E2E_TMP/b" && "$FOCKER" --root "$ROOT" --storage-root "$URS" run oci1) || return 1
  assert_eq "$out" from-the-bundle || return 1
  # an image name there is the user face
  out=$(cd "$E2E_TMP/b" && fr run --rm focker/busybox echo from-the-image) || return 1
  assert_eq "$out" from-the-image || return 1
  # --bundle always means the OCI runtime; kill ID SIG and ps ID are runc's
  fr create --bundle "$E2E_TMP/b" oci2 || return 1
  assert_contains "$(fr state oci2)" '"status": "created"' || return 1
  assert_eq "$(fr ps -aq)" "" "a runtime container is not a user container" || return 1
  fr kill oci2 9 || return 1
  fr delete --force oci2 || return 1
  ur_nothing_left
}
