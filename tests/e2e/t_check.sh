# t_check.sh: `focker check` on the real kernel: it agrees with what the kernel shows, its
# JSON parses, and an image rootfs's libc ABI note is read.
# shellcheck shell=bash

test_check_agrees_with_the_kernel() {
  local out
  out=$("$FOCKER" check) || { echo "    check failed on a host that runs the suite: $out"; return 1; }
  assert_contains "$out" "namespace.mnt      ok" || return 1
  assert_contains "$out" "kernel             ok       $(uname -r | cut -d. -f1,2)" || return 1
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    assert_contains "$out" "cgroup             ok       v2" || return 1
  else
    assert_contains "$out" "v1 controllers" || return 1
  fi
  if grep -qw overlay /proc/filesystems; then
    assert_contains "$out" "overlay            ok" || return 1
  else
    assert_contains "$out" "overlay            warn" || return 1
  fi
}

test_check_json_and_image_abi_note() {
  local json
  json=$("$FOCKER" check --format json /) || return 1
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
items = {i["name"]: i for i in d["items"]}
assert d["ok"] is True, d
assert items["namespace.pid"]["required"] is True
libc = items["image.libc"]
assert libc["status"] == "ok" and "needs Linux 3.2.0" in libc["detail"], libc
' "$json" || { echo "    unexpected json: $json"; return 1; }
  "$FOCKER" check --format yaml >/dev/null 2>&1 && { echo "    bad --format accepted"; return 1; }
  "$FOCKER" check "$E2E_TMP/no-such-rootfs" >/dev/null 2>&1 && { echo "    missing rootfs accepted"; return 1; }
  return 0
}
