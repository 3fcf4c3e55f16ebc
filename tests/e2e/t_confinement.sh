# t_confinement.sh: capabilities, seccomp, no_new_privs, keyring, and the attacks that must
# fail (sourced by run.sh).  Checks are made from inside the container (/proc/self/status)
# and on the host (nothing escaped).

# mask_of CAPS...: the hex mask /proc/self/status shows for the capability names
mask_of() {
  python3 - "$@" <<'PY'
import sys
names = ["CHOWN","DAC_OVERRIDE","DAC_READ_SEARCH","FOWNER","FSETID","KILL","SETGID","SETUID",
 "SETPCAP","LINUX_IMMUTABLE","NET_BIND_SERVICE","NET_BROADCAST","NET_ADMIN","NET_RAW","IPC_LOCK",
 "IPC_OWNER","SYS_MODULE","SYS_RAWIO","SYS_CHROOT","SYS_PTRACE","SYS_PACCT","SYS_ADMIN","SYS_BOOT",
 "SYS_NICE","SYS_RESOURCE","SYS_TIME","SYS_TTY_CONFIG","MKNOD","LEASE","AUDIT_WRITE","AUDIT_CONTROL",
 "SETFCAP","MAC_OVERRIDE","MAC_ADMIN","SYSLOG","WAKE_ALARM","BLOCK_SUSPEND","AUDIT_READ","PERFMON",
 "BPF","CHECKPOINT_RESTORE"]
m = 0
for a in sys.argv[1:]:
    m |= 1 << names.index(a[4:])
print("%016x" % m)
PY
}

# the seccomp object of a fixture, as JSON text
fixture_seccomp() {
  python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['linux']['seccomp']))" "$FIXTURES/$1"
}

test_status_shows_caps_nnp_and_seccomp_of_the_config() {
  make_bundle "$E2E_TMP/b" '["sh","-c","grep -E \"^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):\" /proc/self/status"]'
  local sc
  sc=$(fixture_seccomp podman-resources-security.json)
  edit_config "$E2E_TMP/b" "c['process']['noNewPrivileges'] = True; c['linux']['seccomp'] = json.loads('''$sc''')"
  local caps want_bnd out
  caps=$(python3 -c "import json; print(' '.join(json.load(open('$E2E_TMP/b/config.json'))['process']['capabilities']['bounding']))")
  want_bnd=$(mask_of $caps)
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_contains "$out" "CapBnd:	$want_bnd" || return 1
  assert_contains "$out" "CapEff:	$want_bnd" || return 1
  assert_contains "$out" "NoNewPrivs:	1" || return 1
  assert_contains "$out" "Seccomp:	2" || return 1
}

test_caps_for_a_non_root_user_with_ambient() {
  make_bundle "$E2E_TMP/b" '["sh","-c","id -u; grep -E \"^Cap(Eff|Bnd|Amb):\" /proc/self/status"]'
  edit_config "$E2E_TMP/b" "c['process']['user'] = {'uid': 1000, 'gid': 1000}; c['process']['capabilities'] = {'bounding': ['CAP_NET_BIND_SERVICE','CAP_KILL'], 'effective': ['CAP_NET_BIND_SERVICE'], 'permitted': ['CAP_NET_BIND_SERVICE'], 'inheritable': ['CAP_NET_BIND_SERVICE'], 'ambient': ['CAP_NET_BIND_SERVICE']}"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1) || return 1
  assert_contains "$out" "1000" || return 1
  assert_contains "$out" "CapEff:	$(mask_of CAP_NET_BIND_SERVICE)" || return 1
  assert_contains "$out" "CapBnd:	$(mask_of CAP_NET_BIND_SERVICE CAP_KILL)" || return 1
  assert_contains "$out" "CapAmb:	$(mask_of CAP_NET_BIND_SERVICE)"
}

# A sysctl with /proc/sys among the readonlyPaths (every default config has it; buildah's
# RUN steps set net.ipv4.ping_group_range): the value is written before /proc/sys turns
# read-only, and the container cannot change it afterwards.
test_sysctl_is_set_before_proc_sys_turns_read_only() {
  make_bundle "$E2E_TMP/b" '["sh","-c","cat /proc/sys/net/ipv4/ping_group_range; (echo 1 2 >/proc/sys/net/ipv4/ping_group_range) 2>/dev/null && echo writable; exit 0"]'
  edit_config "$E2E_TMP/b" "c['linux']['sysctl'] = {'net.ipv4.ping_group_range': '0 0'}
if '/proc/sys' not in c['linux'].setdefault('readonlyPaths', []): c['linux']['readonlyPaths'].append('/proc/sys')"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1 2>&1) || { echo "    $out"; return 1; }
  assert_eq "$(printf '%s' "$out" | tr -s ' \t' ' ')" "0 0"
}

test_unknown_capability_is_refused_naming_it() {
  make_bundle "$E2E_TMP/b" '["true"]'
  edit_config "$E2E_TMP/b" "c['process']['capabilities']['bounding'].append('CAP_TEST')"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    CAP_TEST accepted"; return 1; }
  assert_contains "$out" "CAP_TEST"
}

test_seccomp_denied_syscall_returns_the_configured_errno() {
  make_bundle "$E2E_TMP/b" '["sh","-c","mkdir /tmp/x; echo after"]'
  edit_config "$E2E_TMP/b" "c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['mkdir','mkdirat'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 95}]}"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1 2>&1) || return 1
  assert_contains "$out" "not supported" || return 1
  assert_contains "$out" "after" || return 1
  [ -e "$E2E_TMP/b/rootfs/tmp/x" ] && { echo "    mkdir was not filtered"; return 1; }
  return 0
}

test_podman_seccomp_profile_loads_and_denies_with_its_errno() {
  # chroot is denied (EPERM) by podman's profile; with CAP_SYS_CHROOT it would succeed
  make_bundle "$E2E_TMP/b" '["sh","-c","chroot / true && echo chroot-ok; echo alive"]'
  edit_config "$E2E_TMP/b" "[c['process']['capabilities'][k].append('CAP_SYS_CHROOT') for k in ('bounding','effective','permitted')]"
  local out sc
  out=$(fk run --bundle "$E2E_TMP/b" c1 2>&1) || return 1
  assert_contains "$out" "chroot-ok" "(control run without seccomp)" || return 1
  sc=$(fixture_seccomp podman-resources-security.json)
  edit_config "$E2E_TMP/b" "c['linux']['seccomp'] = json.loads('''$sc''')"
  out=$(fk run --bundle "$E2E_TMP/b" c1 2>&1) || return 1
  assert_contains "$out" "Operation not permitted" || return 1
  case "$out" in *chroot-ok*) echo "    chroot was not denied"; return 1 ;; esac
  assert_contains "$out" "alive"
}

test_new_session_keyring_unless_no_new_keyring() {
  make_bundle "$E2E_TMP/b" '["sh","-c","cat /proc/keys"]'
  edit_config "$E2E_TMP/b" "c['linux']['maskedPaths'] = [p for p in c['linux']['maskedPaths'] if p != '/proc/keys']"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" kr1) || return 1
  assert_contains "$out" "keyring   kr1:" || return 1
  out=$(fk run --no-new-keyring --bundle "$E2E_TMP/b" kr2) || return 1
  case "$out" in *"kr2:"*) echo "    --no-new-keyring made a keyring"; return 1 ;; esac
  return 0
}

test_attack_cwd_through_a_leaked_host_fd_fails() {
  # runc CVE-2024-21626: a leaked fd to a host dir, and process.cwd through /proc/self/fd
  mkdir -p "$E2E_TMP/outside" && echo secret >"$E2E_TMP/outside/hostfile"
  make_bundle "$E2E_TMP/b" '["sh","-c","cat hostfile ../hostfile 2>/dev/null; pwd"]'
  local fd out
  for fd in 3 4 5 6 7 8 9; do
    edit_config "$E2E_TMP/b" "c['process']['cwd'] = '/proc/self/fd/$fd'"
    out=$( (exec 3<"$E2E_TMP/outside" 4<"$E2E_TMP/outside" 5<"$E2E_TMP/outside" 6<"$E2E_TMP/outside" 7<"$E2E_TMP/outside" 8<"$E2E_TMP/outside" 9<"$E2E_TMP/outside"; fk run --bundle "$E2E_TMP/b" c1 2>&1) )
    case "$out" in *secret*) echo "    escaped through fd $fd: $out"; return 1 ;; esac
    fk delete --force c1 >/dev/null 2>&1
  done
  return 0
}

test_attack_leaked_host_fd_is_not_visible_inside() {
  mkdir -p "$E2E_TMP/outside"
  make_bundle "$E2E_TMP/b" '["sh","-c","ls /proc/self/fd | tr \"\\n\" \" \""]'
  local out
  out=$( (exec 5<"$E2E_TMP/outside" 9<"$E2E_TMP/outside"; fk run --bundle "$E2E_TMP/b" c1) ) || return 1
  assert_eq "$out" "0 1 2 3 " "(only stdio and ls' own fd)"
}

test_attack_mount_over_mnt_symlinked_to_host_root() {
  local marker="focker-escape-$$" t
  for t in / ../../.. ; do
    make_bundle "$E2E_TMP/b" '["true"]'
    rm -rf "$E2E_TMP/b/rootfs/mnt" && ln -s "$t" "$E2E_TMP/b/rootfs/mnt"
    edit_config "$E2E_TMP/b" "c['mounts'] += [{'destination':'/mnt/$marker','type':'tmpfs','source':'tmpfs','options':[]}]"
    fk run --bundle "$E2E_TMP/b" c1 >/dev/null 2>&1
    if [ -e "/$marker" ] || [ -e "$E2E_TMP/$marker" ]; then
      rmdir "/$marker" "$E2E_TMP/$marker" 2>/dev/null
      echo "    mount point created on the host through /mnt -> $t"
      return 1
    fi
    fk delete --force c1 >/dev/null 2>&1
    rm -rf "$E2E_TMP/b"
  done
  return 0
}

test_attack_proc_on_a_symlink_is_refused() {
  # runc CVE-2019-16884: /proc must be a real directory, never a symlink to elsewhere
  mkdir -p "$E2E_TMP/outside"
  make_bundle "$E2E_TMP/b" '["true"]'
  rmdir "$E2E_TMP/b/rootfs/proc" && ln -s /tmp "$E2E_TMP/b/rootfs/proc"
  local out
  out=$(fk run --bundle "$E2E_TMP/b" c1 2>&1) && { echo "    proc mounted over a symlink"; return 1; }
  assert_contains "$out" "/proc" || return 1
  grep -q " $E2E_TMP/b/rootfs/tmp proc" /proc/self/mounts && { echo "    proc mounted at the symlink target"; return 1; }
  return 0
}

test_attack_init_is_not_dumpable_before_start() {
  # in a user namespace a dumpable init's /proc files belong to its mapped root (100000):
  # non-dumpable keeps them root's, so nothing in the container can open them
  make_bundle "$E2E_TMP/b" '["true"]'
  chmod 755 "$E2E_TMP" && chown -R 100000:100000 "$E2E_TMP/b/rootfs"
  edit_config "$E2E_TMP/b" "c['linux']['namespaces'].append({'type':'user'}); c['linux']['uidMappings'] = [{'containerID':0,'hostID':100000,'size':65536}]; c['linux']['gidMappings'] = [{'containerID':0,'hostID':100000,'size':65536}]; c['mounts'] = [m for m in c['mounts'] if m['type'] not in ('sysfs','cgroup','mqueue')]"
  fk create --bundle "$E2E_TMP/b" c1 || return 1
  local pid owner
  pid=$(fk state c1 | python3 -c "import json,sys; print(json.load(sys.stdin)['pid'])")
  owner=$(stat -c %u "/proc/$pid/environ")
  fk delete --force c1
  assert_eq "$owner" 0 "(owner of /proc/PID/environ of the created init)"
}
