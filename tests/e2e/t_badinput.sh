# t_badinput.sh: the bad input sweep.  Table-driven: wrong flags, missing and malformed files,
# unknown ids, ids with `/` or `..`, oversized values, config fields of the wrong type.  Every
# case must exit non-zero, print nothing on stdout and exactly one line on stderr that names
# the problem (an expected substring), and change nothing: no state dir, no mount (the whole
# of /proc/self/mounts compared), no process, no cgroup.  Sourced by run.sh.
# shellcheck shell=bash

# bad_expect EXPECT CMD...: run CMD (a focker command line, without the binary) and check it.
bad_expect() {
  local expect=$1 rc lines
  shift
  local before_root before_mounts before_cgroups
  before_root=$(ls -A "$ROOT" 2>/dev/null)
  before_mounts=$(host_mounts)
  # this run's cgroups (a live container of the calling test has its own: compared, not
  # required to be none)
  before_cgroups=$(run_cgroups)
  "$FOCKER" --root "$ROOT" "$@" >"$E2E_TMP/bad-out" 2>"$E2E_TMP/bad-err" </dev/null
  rc=$?
  local what="focker $(echo "$*" | cut -c1-120)"
  if [ "$rc" -eq 0 ]; then
    echo "    $what: succeeded"
    return 1
  fi
  if [ "$rc" -gt 125 ]; then
    echo "    $what: died with status $rc: $(cat "$E2E_TMP/bad-err")"
    return 1
  fi
  if [ -s "$E2E_TMP/bad-out" ]; then
    echo "    $what: printed on stdout: $(head -c 200 "$E2E_TMP/bad-out")"
    return 1
  fi
  lines=$(wc -l <"$E2E_TMP/bad-err")
  if [ "$lines" -ne 1 ]; then
    echo "    $what: $lines lines on stderr, expected one: $(head -c 400 "$E2E_TMP/bad-err")"
    return 1
  fi
  case "$(cat "$E2E_TMP/bad-err")" in
  *"$expect"*) ;;
  *)
    echo "    $what: expected a line naming [$expect], got: $(head -c 300 "$E2E_TMP/bad-err")"
    return 1
    ;;
  esac
  if [ "$(ls -A "$ROOT" 2>/dev/null)" != "$before_root" ]; then
    echo "    $what: the state root changed: $(ls -A "$ROOT" | tr '\n' ' ')"
    return 1
  fi
  if [ "$(host_mounts)" != "$before_mounts" ]; then
    echo "    $what: the host's mounts changed"
    return 1
  fi
  # the pattern from a file, so that grep's own command line does not match
  printf '%s\n' "$ROOT" >"$E2E_TMP/bad-pat" # every focker of this run has it (--root)
  local procs
  for _ in 1 2 3; do # a second look: a short-lived process of this shell may match once
    procs=$(grep -lasF -f "$E2E_TMP/bad-pat" /proc/[0-9]*/cmdline 2>/dev/null | grep -v "/proc/$$/")
    [ -z "$procs" ] && break
    sleep 0.05
  done
  if [ -n "$procs" ]; then
    echo "    $what: left a process: $(for p in $procs; do tr '\0' ' ' <"$p"; echo; done 2>/dev/null)"
    return 1
  fi
  if [ "$(run_cgroups)" != "$before_cgroups" ]; then
    echo "    $what: left a cgroup"
    return 1
  fi
}

# The command-line cases: EXPECT | ARGS (split on spaces).  B is the bundle.
bad_cli_table() {
  cat <<'EOF'
unknown global option --bogus|--bogus list
--log-format: unknown format "xml"|--log-format xml list
unknown command "frobnicate"|frobnicate
create: unknown option --bogus|create --bogus --bundle B bad-c1
option --pid-file needs a value|create --bundle B bad-c1 --pid-file
option --bundle needs a value|create bad-c1 --bundle
expects exactly one container id|create --bundle B
expects exactly one container id|create --bundle B bad-c1 bad-c2
--preserve-fds: not a count: "abc"|create --bundle B --preserve-fds abc bad-c1
--preserve-fds: not a count: "-1"|create --bundle B --preserve-fds -1 bad-c1
--preserve-fds: not a count|create --bundle B --preserve-fds 99999999999999999999 bad-c1
invalid container id "../bad-c1"|create --bundle B ../bad-c1
invalid container id "bad/c1"|create --bundle B bad/c1
invalid container id ".."|create --bundle B ..
invalid container id "."|state .
an id may not begin with "."|create --bundle B .bad-c1
an id may not begin with "."|delete --force .network
invalid container id "/bad-c1"|delete --force /bad-c1
invalid container id "bad-c1/.."|kill bad-c1/.. KILL
container nope does not exist|start nope
container nope does not exist|state nope
container nope does not exist|kill nope KILL
container nope does not exist|delete nope
unknown signal "SIGFOO"|kill nope SIGFOO
unknown signal "99999"|kill nope 99999
kill: expects 1 to 2 arguments|kill
delete: expects 1 argument|delete
list: unknown option --bogus|list --bogus
--interval: "0s" is not a duration|events --interval 0s nope
--interval: "abc" is not a duration|events --interval abc nope
--interval: "5" is not a duration|events --interval 5 nope
events: expects 1 argument|events
container nope does not exist|events nope
container nope does not exist|events --stats nope
config.json|create --bundle /nonexistent/bundle bad-c1
config.json|create --bundle nonexistent-relative bad-c1
--console-socket given but process.terminal is false|create --bundle B --console-socket /tmp/none bad-c1
EOF
}

test_bad_command_lines_fail_with_one_clear_line_and_change_nothing() {
  make_bundle "$E2E_TMP/b" '["true"]'
  local expect args failed=0
  cd "$E2E_TMP" || return 1
  while IFS='|' read -r expect args; do
    # shellcheck disable=SC2086
    set -- ${args//B/$E2E_TMP/b}
    bad_expect "$expect" "$@" || failed=1
  done < <(bad_cli_table)
  # an id far over the 1024-character limit
  bad_expect "invalid container id" create --bundle "$E2E_TMP/b" "$(printf 'a%.0s' $(seq 3000))" || failed=1
  bad_expect "invalid container id" state "" || failed=1
  return $failed
}

# The config cases: EXPECT | python statements on the parsed config `c`.
bad_config_table() {
  cat <<'EOF'
process.args|c['process']['args'] = 'sh'
process.args|c['process']['args'] = []
process.args|c['process']['args'] = [1, 2]
process|c['process'] = 5
process.env|c['process']['env'] = 'A=B'
process.env|c['process']['env'] = [7]
process.cwd|c['process']['cwd'] = 'relative'
process.cwd|c['process']['cwd'] = 3
process.user.uid|c['process']['user']['uid'] = '0'
process.user.uid|c['process']['user']['uid'] = -1
process.user.uid|c['process']['user']['uid'] = 2**40
process.rlimits|c['process']['rlimits'] = [{'type': 'RLIMIT_BOGUS', 'hard': 1, 'soft': 1}]
process.rlimits|c['process']['rlimits'] = 'x'
process.terminal|c['process']['terminal'] = 'yes'
ociVersion|c['ociVersion'] = 1
root.path|c['root']['path'] = 7
root.path|c['root']['path'] = 'no-such-rootfs'
root|c['root'] = 'rootfs'
hostname|c['hostname'] = 12
hostname|c['hostname'] = 'h' * 100000
mounts|c['mounts'] = {}
mounts[0].destination|c['mounts'][0]['destination'] = 5
mounts[0]|c['mounts'][0] = 'proc'
linux.namespaces|c['linux']['namespaces'] = [{'type': 'nett'}]
linux.namespaces|c['linux']['namespaces'] = 'pid'
linux.namespaces|c['linux']['namespaces'] = [{'type': 'pid'}]
linux.uidMappings|c['linux']['uidMappings'] = [{'containerID': 'a', 'hostID': 0, 'size': 1}]
linux.maskedPaths|c['linux']['maskedPaths'] = [1]
linux.resources.memory.limit|c['linux'].setdefault('resources', {})['memory'] = {'limit': 'big'}
linux.resources.pids.limit|c['linux'].setdefault('resources', {})['pids'] = {'limit': 'many'}
linux.sysctl|c['linux']['sysctl'] = {'kernel.x': 1}
annotations|c['annotations'] = {'a': 1}
hooks|c['hooks'] = {'prestart': [{'args': ['x']}]}
--console-socket|c['process']['terminal'] = True
EOF
}

test_bad_configs_fail_with_one_line_naming_the_field_and_change_nothing() {
  make_bundle "$E2E_TMP/b" '["true"]'
  cp "$E2E_TMP/b/config.json" "$E2E_TMP/config.good"
  local expect code failed=0
  while IFS='|' read -r expect code; do
    cp "$E2E_TMP/config.good" "$E2E_TMP/b/config.json"
    edit_config "$E2E_TMP/b" "$code" || return 1
    bad_expect "$expect" create --bundle "$E2E_TMP/b" bad-c1 || { echo "      (config: $code)"; failed=1; }
  done < <(bad_config_table)
  return $failed
}

test_bad_config_files_fail_with_one_clear_line_and_change_nothing() {
  make_bundle "$E2E_TMP/b" '["true"]'
  local failed=0
  printf '{"ociVersion": "1.0.2", "process": ' >"$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  : >"$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  printf '[1, 2, 3]' >"$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  printf '\x00\xff\xfe garbage' >"$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  # far larger than any real config: must be refused, not read into memory whole
  head -c 20000000 /dev/zero | tr '\0' ' ' >"$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  rm -f "$E2E_TMP/b/config.json"
  mkdir "$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  rmdir "$E2E_TMP/b/config.json"
  ln -s config.json "$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  rm -f "$E2E_TMP/b/config.json"
  bad_expect "config.json" create --bundle "$E2E_TMP/b" bad-c1 || failed=1
  # a state.json that is not one: state, kill, start must say so; delete --force cleans up
  mkdir -p "$ROOT"
  : >"$ROOT/bad-c1"
  printf '{"id": 5' >"$ROOT/bad-c1=state.json"
  bad_expect "state.json" state bad-c1 || failed=1
  bad_expect "state.json" start bad-c1 || failed=1
  bad_expect "state.json" kill bad-c1 KILL || failed=1
  fk delete --force bad-c1 || { echo "    delete --force of a corrupt state failed"; failed=1; }
  [ -n "$(ls -A "$ROOT" | grep '^bad-c1')" ] && { echo "    corrupt state left after delete --force"; failed=1; }
  # an older focker's state directory: refused, said so, left alone
  mkdir -p "$ROOT/bad-c2"
  printf '{"id": "bad-c2", "pid": 1}' >"$ROOT/bad-c2/state.json"
  bad_expect "older focker" state bad-c2 || failed=1
  bad_expect "older focker" delete --force bad-c2 || failed=1
  rm -rf "$ROOT/bad-c2"
  return $failed
}
