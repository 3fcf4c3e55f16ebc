# t_runnet.sh: `focker run IMAGE` on the bridge network (issue 7): published ports reachable
# from the host (127.0.0.1 too) and from another host, two containers on one container port,
# ps and inspect, a port clash, and rm -f, run --rm, a killed monitor and a failed run leaving
# no veth, lease, rule, netns file or record.  Every test runs in lib.sh's net_sandbox, with
# its own image store (focker image build-default, offline) made before it enters.

rn() { "$FOCKER" --root "$ROOT" --storage-root "$E2E_TMP/rnstore" "$@"; }

rn_init() {
  if [ ! -d "$E2E_TMP/rnstore/containers" ]; then
    "$FOCKER" --storage-root "$E2E_TMP/rnstore" image build-default >/dev/null || return 1
    mkdir -p "$E2E_TMP/rnstore/containers"
  fi
}

# rn_sandbox FN: FN in the sandbox; whatever it leaves is removed there (rm -f of a bridge
# container outside the sandbox would change this machine's rules).
rn_sandbox() {
  rn_init || return 1
  net_sandbox "trap 'rn_cleanup; net_teardown' EXIT; NET_STORE=\$E2E_TMP/rnstore; $1"
}

rn_cleanup() {
  local id
  for id in $(ls "$E2E_TMP/rnstore/containers" 2>/dev/null); do
    [ "$id" = names ] || rn rm -f "$id" >/dev/null 2>&1 || true
  done
}

# rn_web NAME HOSTPORT: a detached busybox httpd serving "hello from NAME" on port 80 of the
# container, published on HOSTPORT; prints the id.
rn_web() {
  mkdir -p "$E2E_TMP/www-$1"
  echo "hello from $1" >"$E2E_TMP/www-$1/index.html"
  rn run -d --name "$1" -p "$2:80" -v "$E2E_TMP/www-$1:/www:ro" focker/busybox httpd -f -p 80 -h /www
}

rn_field() { rn inspect "$1" | python3 -c "import json, sys; print(json.load(sys.stdin)[0]$2)"; }

# Nothing of any container: no record or name, and nothing of the network.
rn_nothing_left() {
  assert_eq "$(ls "$E2E_TMP/rnstore/containers" | grep -v '^names$')" "" "records left" || return 1
  assert_eq "$(ls -A "$E2E_TMP/rnstore/containers/names")" "" "names left" || return 1
  net_assert_clean
}

rn_published() {
  local id1 ip1 ip2 out rc=0
  id1=$(rn_web one 8080)
  rn_web two 8081 >/dev/null
  # from the host: loopback, its own address and the bridge's; from the other host
  assert_eq "$(wget_host http://127.0.0.1:8080/)" "hello from one"
  assert_eq "$(wget_host http://127.0.0.1:8081/)" "hello from two"
  assert_eq "$(wget_host http://172.17.0.1:8081/)" "hello from two"
  assert_eq "$(wget_other http://10.99.0.1:8080/)" "hello from one"
  assert_eq "$(wget_other http://10.99.0.1:8081/)" "hello from two"
  # distinct addresses, recorded as docker does and the ones eth0 has
  ip1=$(rn_field one '["NetworkSettings"]["IPAddress"]')
  ip2=$(rn_field two '["NetworkSettings"]["IPAddress"]')
  [ "$ip1" != "$ip2" ] || { echo "same address $ip1"; return 1; }
  assert_contains "$(rn exec one ip -o -4 addr show eth0)" "inet $ip1/16"
  assert_eq "$(rn_field one '["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]')" 8080
  assert_eq "$(rn_field one '["NetworkSettings"]["Gateway"]')" 172.17.0.1
  assert_contains "$(rn exec one cat /etc/hosts)" "$ip1	${id1:0:12}"
  # container to container by address
  assert_eq "$(get rn exec one sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $ip2 80 | tail -1")" "hello from two"
  out=$(rn ps)
  assert_contains "$(echo "$out" | grep ' one$')" "0.0.0.0:8080->80/tcp"
  assert_contains "$(echo "$out" | grep ' two$')" "0.0.0.0:8081->80/tcp"
  # the columns line up as docker's do: PORTS and NAMES start where their headers start
  for name in one two; do
    assert_eq "$(python3 -c 'import sys; h, r = sys.argv[1].split("\n")[0], sys.argv[2]
print(r.index("0.0.0.0") == h.index("PORTS"), r.rindex(" ") + 1 == h.index("NAMES"))' \
      "$out" "$(echo "$out" | grep " $name\$")")" "True True" "ps columns: $out"
  done
  assert_contains "$(rn ps --format json)" '"Ports": "0.0.0.0:8080->80/tcp"'
  # a host port another container publishes: one line, status 125, nothing of it left
  out=$(rn run --rm --name clash -p 8080:90 focker/busybox true 2>&1) || rc=$?
  assert_eq "$rc" 125 "status of a clashing run"
  assert_eq "$(echo "$out" | wc -l)" 1 "one line: $out"
  assert_contains "$out" "host port 8080/tcp is already published by container ${id1:0:12}"
  assert_eq "$(ls "$E2E_TMP/rnstore/containers" | grep -vc '^names$')" 2 "a record was left"
  assert_eq "$(ip -o link show master focker0 | wc -l)" 2 "veths on the bridge"
  assert_eq "$(wget_host http://127.0.0.1:8080/)" "hello from one"
  rn rm -f one two >/dev/null
  rn_nothing_left
}

test_runnet_published_ports_reachable_ps_inspect_clash_rm() {
  rn_sandbox rn_published
}

rn_lifecycles() {
  local id pid out
  # bridge is the default: eth0 with an address of the bridge's subnet, then nothing left
  out=$(rn run --rm -p 8080:80 focker/busybox ip -o -4 addr show eth0)
  assert_contains "$out" "inet 172.17.0."
  rn_nothing_left
  # -d --rm: the monitor removes it, network included
  id=$(rn run -d --rm -p 8080:80 focker/busybox sleep 0.3)
  for _ in $(seq 50); do
    [ -d "$E2E_TMP/rnstore/containers/$id" ] || break
    sleep 0.1
  done
  rn_nothing_left
  # created, never started; then started twice (the namespace lives until rm)
  rn create --name later -p 8082:80 focker/busybox sh -c 'ip -o -4 addr show eth0' >/dev/null
  assert_eq "$(ip -o link show master focker0 | wc -l)" 1 "veth of a created container"
  assert_contains "$(rn start -a later)" "inet 172.17.0."
  assert_contains "$(rn start -a later)" "inet 172.17.0."
  # what a reboot does to it (the runtime root emptied, the lease kept): start attaches again
  id=$(rn_field later '["Id"]')
  local ns end
  ns=$(stat -L -c %i "$ROOT/.network/netns/$id")
  umount "$ROOT/.network/netns/$id" # the namespace goes, and the veth with it
  rm -rf "$ROOT/.network/netns/$id" "$ROOT/.network/files/$id"
  # ... but not at once: the kernel frees a namespace (and the veth pairs in it) from a
  # workqueue after its last reference is dropped, later still on a loaded host or under
  # TCG.  Wait for it (5 s at most); a veth still there then is a namespace someone holds.
  end=$((SECONDS + 5))
  while [ -n "$(ip -o link show master focker0)" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
  assert_eq "$(ip -o link show master focker0 | wc -l)" 0 "veth 5 s after the namespace went (held by pids: $(
    find -L /proc/[0-9]*/ns/net -maxdepth 0 -inum "$ns" 2>/dev/null | cut -d/ -f3 | tr '\n' ' '))"
  assert_contains "$(rn start -a later)" "inet 172.17.0."
  assert_contains "$(nft list chain ip focker prerouting)" "dport 8082"
  rn rm later >/dev/null
  rn_nothing_left
  # its monitor killed: rm -f still removes the network
  id=$(rn run -d --name victim -p 8083:80 focker/busybox sleep 100)
  pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["MonitorPid"])' \
    "$E2E_TMP/rnstore/containers/$id/state.json")
  kill -9 "$pid"
  rn rm -f victim >/dev/null
  rn_nothing_left
  # a run that fails after the attach (no such command): nothing left either
  rn run --rm -p 8084:80 focker/busybox no-such-command 2>/dev/null && return 1
  rn run -d -p 8084:80 focker/busybox no-such-command 2>/dev/null && return 1
  rn_nothing_left
}

test_runnet_rm_force_rm_flag_killed_monitor_and_failures_leave_nothing() {
  rn_sandbox rn_lifecycles
}

# 20 `run -d -p` at once: 20 distinct addresses and ports; then 50 `run --rm -p` at once
# beside them (issue 9), each exiting 0 or failing with one line, each with an address no
# other has; then 20 `rm -f` at once leave nothing: no record, veth, lease, rule, netns
# file, runtime state or cgroup of this root.  Host-only (`concurrent`: too slow for TCG).
rn_parallel() {
  local i pids="" ips ok=0 out
  for i in $(seq 20); do
    rn run -d --name "p$i" -p "$((9000 + i)):80" focker/busybox sleep 100 >"$E2E_TMP/p$i.id" 2>&1 &
    pids="$pids $!"
  done
  for i in $pids; do wait "$i" || { cat "$E2E_TMP"/p*.id; return 1; }; done
  ips=$(for i in $(seq 20); do rn_field "p$i" '["NetworkSettings"]["IPAddress"]'; done)
  assert_eq "$(echo "$ips" | sort -u | grep -c '^172\.17\.')" 20 "distinct addresses: $ips"
  assert_eq "$(rn ps | grep -c '0.0.0.0:90[0-9][0-9]->80/tcp')" 20 "ports in ps"
  assert_eq "$(ip -o link show master focker0 | wc -l)" 20 "veths on the bridge"
  assert_eq "$(nft list chain ip focker prerouting | grep -c dnat)" 20 "dnat rules"
  # each --rm container writes its address to /ips/N and stays until all 50 have (30 s at
  # most): the 50 hold their addresses at one moment, so no two may have the same
  local -a rpids=()
  mkdir -p "$E2E_TMP/ips"
  for i in $(seq 50); do
    rn run --rm -p "$((9100 + i)):80" -v "$E2E_TMP/ips:/ips" focker/busybox sh -c \
      "ip -o -4 addr show eth0 >/ips/$i.tmp && mv /ips/$i.tmp /ips/$i; n=0
       while [ \$(ls /ips | grep -vc tmp) -lt 50 ] && [ \$n -lt 300 ]; do sleep 0.1; n=\$((n + 1)); done" \
      >"$E2E_TMP/r$i.out" 2>&1 &
    rpids+=($!)
  done
  for i in $(seq 50); do
    if wait "${rpids[$((i - 1))]}"; then
      ok=$((ok + 1))
      local ip
      ip=$(sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p' "$E2E_TMP/ips/$i" 2>/dev/null)
      [ -n "$ip" ] || { echo "run --rm $i: no address: $(cat "$E2E_TMP/r$i.out")"; return 1; }
      if echo "$ips" | grep -qx "$ip"; then
        echo "run --rm $i got $ip, which another container had at the same time"
        return 1
      fi
      ips="$ips
$ip"
    else
      out=$(cat "$E2E_TMP/r$i.out")
      assert_eq "$(echo "$out" | wc -l)" 1 "(run --rm $i failed with more than one line)"
      assert_contains "$out" "focker: "
    fi
  done
  [ "$ok" -ge 40 ] || { echo "only $ok of 50 run --rm succeeded: $(cat "$E2E_TMP"/r*.out | sort | uniq -c)"; return 1; }
  echo "$ok of 50 run --rm succeeded, with distinct addresses" >&2
  pids=""
  for i in $(seq 20); do
    rn rm -f "p$i" >/dev/null &
    pids="$pids $!"
  done
  for i in $pids; do wait "$i"; done
  rm -rf "$E2E_TMP"/p*.id "$E2E_TMP"/r*.out "$E2E_TMP/ips"
  rn_nothing_left
  assert_eq "$(ls -A "$ROOT" | grep -vx .network)" "" "runtime state left"
  assert_eq "$(run_cgroups)" "" "cgroups left"
}

test_runnet_concurrent_fifty_run_rm_beside_twenty_run_d_distinct_addresses_nothing_leaked() {
  rn_sandbox rn_parallel
}

# `run -d -p` killed right after its kernel call N (FOCKER_CRASH_AT, sys/crash.c), for every
# RN_CRASH_STEP-th N until it completes: `rm -f` of the name, then of every record left (a
# kill before the name was taken), leaves no record, veth, lease, rule or netns file.  The
# monitor it forked runs on (another process, not counted) and rm -f stops it.
rn_crash() {
  local n rc id step=${RN_CRASH_STEP:-3} points=0
  for ((n = 1; n <= 2000; n += step)); do
    rc=0
    FOCKER_CRASH_AT=$n rn run -d --name "c$n" -p 8080:80 focker/busybox sleep 100 \
      >/dev/null 2>&1 </dev/null || rc=$?
    rn rm -f "c$n" >/dev/null 2>&1 || true
    for id in "$E2E_TMP"/rnstore/containers/*; do
      [ ! -e "$id" ] || [ "${id##*/}" = names ] || rn rm -f "${id##*/}" >/dev/null
    done
    rn_nothing_left || { echo "run -d -p killed after call $n, then rm -f"; return 1; }
    [ "$rc" = 137 ] || break
    points=$((points + 1))
  done
  [ "$rc" = 0 ] || { echo "run -d -p at call $n: exit $rc, neither completed nor killed"; return 1; }
  [ "$points" -gt 20 ] || { echo "completed after $points crash points: the crash hook is not working"; return 1; }
  echo "run -d -p: $points crash points (every ${step}th call), all cleaned up by rm -f"
}

test_runnet_crash_at_every_call_of_run_then_rm_force_leaves_nothing() {
  rn_sandbox rn_crash
}

# A host whose forward chain drops by default (here a table of its own in the sandbox, as
# iptables-nft's FORWARD policy DROP makes one): published ports still answer on the host
# itself (locally generated, never forwarded), not from another host, until the rules the
# README gives are in the table that drops.  An accept in focker's own table would not do:
# nf_tables ends only that chain on an accept, and the other table's drop still applies.
rn_forward_drop() {
  local out
  nft -f - <<'NFT'
table ip hostfw {
  chain forward { type filter hook forward priority 0; policy drop; }
}
NFT
  rn_web one 8080 >/dev/null
  assert_eq "$(wget_host http://127.0.0.1:8080/)" "hello from one"
  out=$(nsenter -t "$OTHER" -n python3 -c "import urllib.request as u; u.urlopen('http://10.99.0.1:8080/', timeout=1)" 2>&1) &&
    { echo "    reached through a forward policy of drop"; return 1; }
  assert_contains "$out" "timed out"
  nft add rule ip hostfw forward iifname focker0 accept
  nft add rule ip hostfw forward oifname focker0 accept
  assert_eq "$(wget_other http://10.99.0.1:8080/)" "hello from one"
  nft delete table ip hostfw
  rn rm -f one >/dev/null
  rn_nothing_left
}

test_runnet_forward_drop_policy_needs_the_readme_accept_rules() {
  rn_sandbox rn_forward_drop
}
