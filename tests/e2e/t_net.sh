# t_net.sh: container networking (bridge, veth, IPAM, published ports), issue 7.
#
# Every test runs inside net_sandbox (lib.sh): a network namespace that plays the host and
# another that plays another host, so no link, rule or packet touches this machine's
# network.  ip and nft are used only to look at the state focker made.

# net_ctr ID [attach options]: attach ID, then create and start busybox httpd serving
# "hello from ID" on port 80 in a bundle that joins the attached namespace.
net_ctr() {
  local id=$1 b="$E2E_TMP/$1"
  shift
  NET_CTRS="$NET_CTRS $id"
  fkn network attach "$@" "$id" >"$b.json"
  make_bundle "$b" '["httpd", "-f", "-p", "80", "-h", "/www"]'
  mkdir -p "$b/rootfs/www"
  echo "hello from $id" >"$b/rootfs/www/index.html"
  edit_config "$b" "
import json
a = json.load(open('$b.json'))
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']
c['linux']['namespaces'].append({'type': 'network', 'path': a['netns']})
for dst, src in (('/etc/hosts', 'hosts'), ('/etc/resolv.conf', 'resolvConf'), ('/etc/hostname', 'hostnameFile')):
    c['mounts'].append({'destination': dst, 'type': 'bind', 'source': a[src], 'options': ['bind', 'ro']})
c['hostname'] = a['hostname']"
  fk create --bundle "$b" "$id"
  fk start "$id"
}

net_ip() { python3 -c "import json; print(json.load(open('$E2E_TMP/$1.json'))['ip'])"; }

# in a container: busybox nc (busybox's static wget crashes in glibc's resolver), the body
# is the last line of the answer
nc_get() {
  local out
  out=$("$FOCKER" --root "$ROOT" exec "$1" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $2 $3") || return 1
  [ -n "$out" ] && echo "$out" | tail -1
}
wget_ctr() { get nc_get "$@"; }

net_two_published() {
  net_ctr web1 -p 8080:80 --hostname web-one
  net_ctr web2 -p 8081:80
  local ip1 ip2
  ip1=$(net_ip web1)
  ip2=$(net_ip web2)
  [ "$ip1" != "$ip2" ] || { echo "same address $ip1"; return 1; }
  assert_contains "$(ip -o link show master focker0)" "$(python3 -c "import json; print(json.load(open('$E2E_TMP/web1.json'))['veth'])")"
  # from the other host, on the host's address
  assert_eq "$(wget_other http://10.99.0.1:8080/)" "hello from web1"
  assert_eq "$(wget_other http://10.99.0.1:8081/)" "hello from web2"
  # from the host itself: loopback, its own address, the bridge address
  assert_eq "$(wget_host http://127.0.0.1:8080/)" "hello from web1"
  assert_eq "$(wget_host http://127.0.0.1:8081/)" "hello from web2"
  assert_eq "$(wget_host http://10.99.0.1:8081/)" "hello from web2"
  assert_eq "$(wget_host http://172.17.0.1:8080/)" "hello from web1"
  # container to container through the host's published port (hairpin), and by address
  assert_eq "$(wget_ctr web1 10.99.0.1 8081)" "hello from web2"
  assert_eq "$(wget_ctr web2 10.99.0.1 8080)" "hello from web1"
  assert_eq "$(wget_ctr web1 "$ip2" 80)" "hello from web2"
  # the container's own files
  assert_contains "$(fk exec web1 cat /etc/hosts)" "$ip1	web-one"
  assert_eq "$(fk exec web1 hostname)" "web-one"
  assert_eq "$(fk exec web1 ip route | grep default)" "default via 172.17.0.1 dev eth0 "
  fk delete --force web1
  fk delete --force web2
  fkn network detach web1
  fkn network detach web2
  net_assert_clean
}

test_net_two_containers_published_reachable_everywhere() {
  net_sandbox net_two_published
}

net_conflict() {
  net_ctr web1 -p 8080:80
  local before out rc=0
  before=$(nft list table ip focker)
  out=$(fkn network attach -p 8080:9000 other 2>&1) || rc=$?
  [ "$rc" != 0 ] || { echo "attach of a published port succeeded"; return 1; }
  assert_eq "$(echo "$out" | wc -l)" 1 "one line: $out"
  assert_contains "$out" "host port 8080/tcp is already published by container web1"
  assert_eq "$(nft list table ip focker)" "$before" "rules changed"
  [ ! -e "$ROOT/.network/netns/other" ] || { echo "netns file left"; return 1; }
  assert_eq "$(fkn network inspect | grep -c '"id"')" 1 "a lease was left"
  # another protocol or host address on the same port is fine
  fkn network attach -p 8080:80/udp other >/dev/null
  NET_CTRS="$NET_CTRS other"
  fkn network detach other
  assert_eq "$(wget_host http://127.0.0.1:8080/)" "hello from web1"
  fk delete --force web1
  fkn network detach web1
  net_assert_clean
}

test_net_published_port_conflict_fails_and_leaves_nothing() {
  net_sandbox net_conflict
}

# focker killed right after each kernel call of an attach: prune restores everything.
net_crash() {
  local n rc
  for n in $(seq 1 400); do
    rc=0
    (FOCKER_CRASH_AT=$n exec "$FOCKER" --root "$ROOT" --storage-root "$E2E_TMP/store" \
      network attach -p 8080:80 c1 >/dev/null 2>&1) 2>/dev/null || rc=$?
    [ "$rc" = 0 ] && break
    [ "$rc" = 137 ] || { echo "attach crashed at $n exited $rc"; return 1; }
    fkn network prune >/dev/null
    # killed after its last step: the attach is complete, and stays
    if fkn network inspect | grep -q '"complete": true'; then
      fkn network detach c1
    fi
    net_assert_clean || { echo "after a crash at call $n"; return 1; }
  done
  [ "$rc" = 0 ] || { echo "attach never completed"; return 1; }
  echo "attach completes after $((n - 1)) crash points"
  # a complete attach survives prune, and detach cleans it
  fkn network prune >/dev/null
  assert_eq "$(fkn network inspect | grep -c '"complete": true')" 1
  fkn network detach c1
  net_assert_clean
}

test_net_crash_at_every_call_of_attach_then_prune_restores() {
  net_sandbox net_crash
}

# udp_ask [nsenter args --] HOST PORT: send "ping", print the answer (retried 5 s)
udp_once() {
  python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.sendto(b'ping', (sys.argv[1], int(sys.argv[2])))
sys.stdout.write(s.recvfrom(100)[0].decode().strip())" "$@"
}

# busybox has no udp server: a python one answers "pong" in the attached namespace itself
# (what is tested is the namespace's plumbing and the dnat rule, not a container)
net_udp() {
  local ns
  NET_CTRS="$NET_CTRS dns"
  fkn network attach -p 5353:5353/udp dns >"$E2E_TMP/dns.json"
  ns=$(python3 -c "import json; print(json.load(open('$E2E_TMP/dns.json'))['netns'])")
  nsenter --net="$ns" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 5353))
while True:
    d, a = s.recvfrom(100)
    s.sendto(b'pong', a)" &
  local server=$!
  NET_PIDS="${NET_PIDS:-} $server"
  assert_eq "$(get udp_once 127.0.0.1 5353)" "pong"
  assert_eq "$(get nsenter -t "$OTHER" -n python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.sendto(b'ping', ('10.99.0.1', 5353))
print(s.recvfrom(100)[0].decode().strip())")" "pong"
  # the tcp port of the same number is not published
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', 5353), 1)" 2>/dev/null; then
    echo "tcp 5353 answered"
    return 1
  fi
  kill "$server"
  wait "$server" 2>/dev/null || true
  fkn network detach dns
  net_assert_clean
}

test_net_udp_port_published() {
  net_sandbox net_udp
}

# Attaches in parallel get distinct addresses (the lease file's lock), and parallel
# detaches leave nothing.
net_parallel() {
  local i pids=""
  for i in 1 2 3 4 5 6 7 8; do
    fkn network attach -p "$((8000 + i)):80" "p$i" >"$E2E_TMP/p$i.json" &
    pids="$pids $!"
  done
  for i in $pids; do wait "$i"; done
  assert_eq "$(cat "$E2E_TMP"/p*.json | grep '"ip"' | sort -u | wc -l)" 8 "distinct addresses"
  assert_eq "$(ip -o link show master focker0 | wc -l)" 8 "veths on the bridge"
  assert_eq "$(nft list chain ip focker prerouting | grep -c dnat)" 8 "dnat rules"
  pids=""
  for i in 1 2 3 4 5 6 7 8; do
    fkn network detach "p$i" &
    pids="$pids $!"
  done
  for i in $pids; do wait "$i"; done
  rm -f "$E2E_TMP"/p*.json
  net_assert_clean
}

test_net_concurrent_attaches_get_distinct_addresses() {
  net_sandbox net_parallel
}

# focker killed right after each kernel call of a detach: detach again finishes the job.
net_detach_crash() {
  local n rc
  for n in $(seq 1 400); do
    fkn network attach -p 8080:80 c1 >/dev/null
    rc=0
    (FOCKER_CRASH_AT=$n exec "$FOCKER" --root "$ROOT" --storage-root "$E2E_TMP/store" \
      network detach c1 >/dev/null 2>&1) 2>/dev/null || rc=$?
    if [ "$rc" = 0 ]; then
      net_assert_clean
      break
    fi
    [ "$rc" = 137 ] || { echo "detach crashed at $n exited $rc"; return 1; }
    fkn network detach c1 >/dev/null 2>&1 || true
    net_assert_clean || { echo "after a crash at call $n of detach"; return 1; }
  done
  [ "$rc" = 0 ] || { echo "detach never completed"; return 1; }
  echo "detach completes after $((n - 1)) crash points"
}

test_net_crash_at_every_call_of_detach_then_detach_finishes() {
  net_sandbox net_detach_crash
}

# Bad command lines: one line each, non-zero, no link, lease or namespace made.
net_bad_input() {
  local out rc line
  while IFS='|' read -r args want; do
    rc=0
    # shellcheck disable=SC2086
    out=$(fkn network $args 2>&1) || rc=$?
    [ "$rc" != 0 ] || { echo "network $args succeeded"; return 1; }
    assert_eq "$(echo "$out" | wc -l)" 1 "one line for network $args: $out"
    assert_contains "$out" "$want"
  done <<'BAD'
attach -p 80 c1|publish 80: not [IP:]HOST:CTR[/tcp|udp]
attach -p 8080:80/sctp c1|protocol "sctp" is not tcp or udp
attach -p 8080:0 c1|port "0" is not 1 to 65535
attach --hostname a/b c1|hostname "a/b"
attach --network host c1|network "host": only "bridge" exists
attach --subnet 10.0.0.0/31 c1|subnet "10.0.0.0/31"
attach ../x|invalid container id "../x"
attach|expected one ID
detach nope|container nope is not attached
inspect other|no network "other"
frobnicate|unknown or malformed subcommand "frobnicate"
BAD
  if ip link show focker0 >/dev/null 2>&1; then
    echo "focker0 was made"
    return 1
  fi
  [ ! -e "$ROOT/.network/netns" ] || [ -z "$(ls -A "$ROOT/.network/netns")" ] || { echo "netns left"; return 1; }
  net_assert_clean
}

test_net_bad_input_fails_with_one_line_and_changes_nothing() {
  net_sandbox net_bad_input
}
