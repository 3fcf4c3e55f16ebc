# t_pull.sh: pull and push against a real registry: Debian's docker-registry, started by each
# test on 127.0.0.1 with a free port and its storage and config under $E2E_TMP/pull, stopped
# by pid at the end (EXIT trap, also on failure).  Push the default image and pull it back
# and run it, pull by digest, an index with two platforms (written with curl), a missing
# image, a pull killed half way then resumed (through a throttling proxy that logs the Range
# asked for), htpasswd Basic auth (--creds and an auth file), images moved by skopeo both
# ways, a registry that speaks only TLS (self-signed, its key under $PD/tls, removed on
# exit), and one that also asks for a client certificate; and, host-only (issue 9), four pulls of one image at once and a pull killed
# after each of its calls that change the store.  Skipped (with the reason) where docker-registry is missing or does not answer.

pull_init() {
  PD="$E2E_TMP/pull"
  STORE="$PD/store"
  REG_PID="" PROXY_PID="" TOKEN_PID=""
  pull_cleanup
  rm -rf "$PD"
  mkdir -p "$PD"
  trap 'pull_cleanup' EXIT
  command -v docker-registry >/dev/null || skip "docker-registry is not installed"
  command -v curl >/dev/null || skip "curl is not installed"
  local helper=${FOCKER_FETCH:-$(dirname "$FOCKER")/focker-fetch}
  [ -x "$helper" ] || skip "focker-fetch is not built next to $FOCKER"
  # a dynamic program: where its libraries are missing (a bare VM root), it cannot run
  echo '{"method":"GET","url":"http://127.0.0.1:1/"}' | "$helper" >/dev/null 2>&1 ||
    skip "$helper cannot run here: $(echo '{}' | "$helper" 2>&1 | head -1)"
}

pull_cleanup() {
  local m
  [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
  [ -n "${REG_PID:-}" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  [ -n "${TOKEN_PID:-}" ] && kill "$TOKEN_PID" 2>/dev/null && wait "$TOKEN_PID" 2>/dev/null
  REG_PID="" PROXY_PID="" TOKEN_PID=""
  [ -z "${PD:-}" ] || rm -rf "$PD/tls"
  for m in $(awk -v p="${PD:-/nonexistent}" 'index($2, p) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  return 0
}

fkp() { "$FOCKER" --root "$ROOT" --storage-root "$STORE" "$@"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# reg_start [htpasswd FILE | token REALM CERT | tls CERT KEY [CLIENT_CA CLIENT_CERT CLIENT_KEY]]: a
# registry on 127.0.0.1:$PORT (speaking only TLS with `tls`, and asking for a client certificate
# signed by CLIENT_CA when given one, which the readiness probe presents); REG is its host:port.
reg_start() {
  local scheme=http probe=()
  PORT=$(free_port)
  REG="127.0.0.1:$PORT"
  mkdir -p "$PD/reg"
  {
    echo "version: 0.1"
    echo "log: {level: error, accesslog: {disabled: true}}"
    echo "storage: {filesystem: {rootdirectory: $PD/reg/data}, delete: {enabled: true}}"
    if [ "${1:-}" = tls ]; then
      scheme=https
      if [ -n "${4:-}" ]; then
        echo "http: {addr: \"$REG\", tls: {certificate: $2, key: $3, clientcas: [$4]}}"
        probe=(--cert "$5" --key "$6")
      else
        echo "http: {addr: \"$REG\", tls: {certificate: $2, key: $3}}"
      fi
    else
      echo "http: {addr: \"$REG\"}"
    fi
    if [ "${1:-}" = htpasswd ]; then
      echo "auth: {htpasswd: {realm: focker-test, path: $2}}"
    elif [ "${1:-}" = token ]; then
      echo "auth: {token: {realm: \"$2\", service: focker-test, issuer: focker-test-issuer, rootcertbundle: $3}}"
    fi
  } >"$PD/reg/config.yml"
  docker-registry serve "$PD/reg/config.yml" >"$PD/reg/log" 2>&1 &
  REG_PID=$!
  wait_http "$scheme://$REG/v2/" "$REG_PID" "${probe[@]}" ||
    skip "docker-registry does not answer on $REG: $(tail -1 "$PD/reg/log")"
}

# wait_http URL PID [CURL_ARG...]: up to 5 s for URL to answer (any certificate), while PID
# lives.
wait_http() {
  for _ in $(seq 50); do
    curl -sk -o /dev/null "${@:3}" "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# run_pulled IMAGE ID SCRIPT: IMAGE bundled in $PD/b, `sh -c SCRIPT` run there as container
# ID, the bundle removed (also when the run fails); prints the container's output.
run_pulled() {
  local out rc=0
  fkp bundle "$1" "$PD/b" >/dev/null || return 1
  RUN_SCRIPT=$3 edit_config "$PD/b" \
    "c['process']['args'] = ['sh', '-c', __import__('os').environ['RUN_SCRIPT']]"
  out=$(fkp run --bundle "$PD/b" "$2") || rc=1
  fkp unbundle "$PD/b" || rc=1
  printf '%s\n' "$out"
  return $rc
}

# nothing_pulled: no temporary and no blob in the store.
nothing_pulled() {
  local left
  left=$(find "$STORE/blobs" "$STORE/layers" -mindepth 1 -not -name sha256 2>/dev/null)
  [ -z "$left" ] || { echo "    left in the store: $left"; return 1; }
}

test_pull_push_round_trip_then_run() {
  pull_init
  reg_start
  fkp image build-default >/dev/null || return 1
  local id digest out
  id=$(fkp images -q | head -1)
  digest=$(fkp push -q focker/busybox "$REG/focker/busybox:1") || return 1
  fkp rmi focker/busybox >/dev/null && fkp gc >/dev/null || return 1
  out=$(fkp pull "$REG/focker/busybox:1" 2>"$PD/err") || { cat "$PD/err"; return 1; }
  assert_contains "$(cat "$PD/err")" "pulled $REG/focker/busybox:1" || return 1
  out=$(run_pulled "$REG/focker/busybox:1" pulled1 'echo hello from a pulled image') || return 1
  assert_eq "$out" "hello from a pulled image" || return 1
  # again: every blob is there, nothing fetched
  out=$(fkp pull "$REG/focker/busybox:1" 2>&1 >/dev/null) || return 1
  assert_contains "$out" "exists" || return 1
  # by digest: the same image under NAME@DIGEST
  out=$(fkp pull -q "$REG/focker/busybox@$digest") || return 1
  fkp images --format json | python3 -c "
import json, sys
names = [i['name'] for i in json.load(sys.stdin)]
assert '$REG/focker/busybox@$digest' in names, names" || return 1
  fkp inspect "$REG/focker/busybox@$digest" >/dev/null || return 1
}

test_pull_of_an_index_picks_the_platform() {
  pull_init
  reg_start
  fkp image build-default >/dev/null || return 1
  busybox_layer_tar "$PD/small.tar"
  fkp import "$PD/small.tar" other >/dev/null || return 1
  local a b ida idb
  a=$(fkp push -q focker/busybox "$REG/multi/app:amd") || return 1
  b=$(fkp push -q other "$REG/multi/app:arm") || return 1
  ida=$(fkp inspect focker/busybox | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  idb=$(fkp inspect other | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  python3 - "$a" "$b" "$(stat -c %s "$STORE/blobs/sha256/${a#sha256:}")" \
    "$(stat -c %s "$STORE/blobs/sha256/${b#sha256:}")" >"$PD/index.json" <<'EOF2'
import json, sys
a, b, sa, sb = sys.argv[1:]
m = "application/vnd.oci.image.manifest.v1+json"
print(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": m, "digest": b, "size": int(sb), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
    {"mediaType": m, "digest": a, "size": int(sa), "platform": {"os": "linux", "architecture": "amd64"}}]}))
EOF2
  curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
    --data-binary "@$PD/index.json" "http://$REG/v2/multi/app/manifests/multi" || return 1
  fkp rmi focker/busybox other >/dev/null && fkp gc >/dev/null || return 1
  local got
  got=$(fkp pull -q "$REG/multi/app:multi") || return 1
  assert_eq "$got" "$ida" "(the host's platform)" || return 1
  got=$(fkp pull -q --platform linux/arm64 "$REG/multi/app:multi") || return 1
  assert_eq "$got" "$idb" "(--platform linux/arm64)" || return 1
  got=$(fkp pull -q --platform linux/s390x "$REG/multi/app:multi" 2>&1) && return 1
  assert_contains "$got" "no image for linux/s390x" || return 1
}

# Four pulls of one image (three layers) at once into a store that does not exist yet: each
# succeeds or fails with one line; every blob has its digest, nothing temporary is left,
# index.json names the image once, and each layer was unpacked once: the pulls' mkdirat
# calls (FOCKER_TRACE) add up to one pull that unpacks them all and three that unpack
# nothing.  gc then removes no blob or layer, and the image runs.
test_pull_concurrent_four_share_blobs_and_layers() {
  pull_init
  reg_start
  pull_three_layers four/app:1 || return 1
  local ref="$REG/four/app:1" i pids=() ok=0 out mk one none
  for i in 1 2 3 4; do
    FOCKER_TRACE=1 "$FOCKER" --root "$ROOT" --storage-root "$STORE" pull -q "$ref" \
      >"$PD/o$i" 2>"$PD/t$i" &
    pids+=($!)
  done
  for i in 1 2 3 4; do
    if wait "${pids[$((i - 1))]}"; then
      ok=$((ok + 1))
    else
      out=$(grep -v '^focker\[[0-9]*\] ' "$PD/t$i")
      assert_eq "$(echo "$out" | wc -l)" 1 "(pull $i failed with: $out)" || return 1
      assert_contains "$out" "focker: " || return 1
    fi
  done
  [ "$ok" -gt 0 ] || { echo "    no pull succeeded: $(cat "$PD"/o*)"; return 1; }
  echo "    $ok of 4 pulls succeeded" >&2
  mk=$(cat "$PD"/t[1-4] | grep -c ': mkdirat = ')
  # the same pull alone: unpacking every layer, then with every layer there
  fkp rmi "$ref" >/dev/null && fkp gc >/dev/null || return 1
  FOCKER_TRACE=1 fkp pull -q "$ref" 2>"$PD/t-one" >/dev/null || return 1
  FOCKER_TRACE=1 fkp pull -q "$ref" 2>"$PD/t-none" >/dev/null || return 1
  one=$(grep -c ': mkdirat = ' "$PD/t-one")
  none=$(grep -c ': mkdirat = ' "$PD/t-none")
  [ "$one" -gt "$none" ] || { echo "    a pull that unpacks makes no more mkdirat calls ($one, $none)"; return 1; }
  assert_eq "$mk" "$((one + (ok - 1) * none))" "(mkdirat calls of $ok pulls at once: $one unpacking all, $none unpacking none)" || return 1
  store_snapshot >"$PD/before-gc" || return 1
  assert_eq "$(ls "$STORE/layers/sha256" | wc -l)" 3 "(layers)" || return 1
  assert_eq "$(ls "$STORE/blobs/sha256" | wc -l)" 5 "(blobs: manifest, config, three layers)" || return 1
  assert_eq "$(find "$STORE" -name '.*tmp*')" "" "(temporaries left)" || return 1
  python3 -c '
import json, sys
names = [m["annotations"]["org.opencontainers.image.ref.name"] for m in json.load(open(sys.argv[1]))["manifests"]]
assert names.count(sys.argv[2]) == 1, names' "$STORE/index.json" "$ref" || return 1
  out=$(fkp gc) || return 1
  assert_contains "$out" "removed 0 blobs, 0 layers" || return 1
  # gc removes the pull- locks and the ended pulls' records (unsynced/), nothing else
  assert_eq "$(store_snapshot | grep -Ev '^(locks/pull-|unsynced/)')" \
    "$(grep -Ev '^(locks/pull-|unsynced/)' "$PD/before-gc")" "(gc changed the store)" || return 1
  assert_eq "$(ls "$STORE/unsynced")" "" "(records left by gc)" || return 1
  out=$(run_pulled "$ref" pullfour1 'cat /etc/one') || return 1
  assert_eq "$out" "one" || return 1
}

# busybox_layer_tar FILE: a small rootfs (busybox and sh) as a tarball.
busybox_layer_tar() {
  mkdir -p "$PD/small/bin"
  cp "$BUSYBOX" "$PD/small/bin/busybox"
  ln -sf busybox "$PD/small/bin/sh"
  tar -C "$PD/small" -cf "$1" .
}

test_pull_of_a_missing_image_fails_and_leaves_nothing() {
  pull_init
  reg_start
  local out lines
  out=$(fkp pull "$REG/no/such:tag" 2>&1) && { echo "    pull of a missing repo succeeded"; return 1; }
  lines=$(echo "$out" | wc -l)
  assert_eq "$lines" 1 "(one line: $out)" || return 1
  assert_contains "$out" "404" || return 1
  assert_contains "$out" "no/such:tag" || return 1
  nothing_pulled || return 1
  assert_eq "$(fkp images -q)" "" || return 1
  # a registry that is not there: one line too
  out=$(fkp pull "127.0.0.1:$(free_port)/x:1" 2>&1) && return 1
  assert_eq "$(echo "$out" | wc -l)" 1 "($out)" || return 1
}

# A proxy passing bytes to the registry at about 4 MB/s, logging each request's first line
# and Range header to $PD/proxy.log.
proxy_start() {
  PPORT=$(free_port)
  python3 - "$PPORT" "$PORT" "$PD/proxy.log" >/dev/null 2>&1 <<'EOF2' &
import asyncio, sys
lport, rport, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
async def pipe(r, w, slow, logit):
    first = True
    try:
        while True:
            data = await r.read(16384)
            if not data:
                break
            if logit:
                with open(log, "a") as f:
                    for line in data.split(b"\r\n"):
                        if line.startswith((b"GET", b"HEAD", b"Range:", b"range:")):
                            f.write(line.decode() + "\n")
            w.write(data)
            await w.drain()
            if slow:
                await asyncio.sleep(0.004)
    except Exception:
        pass
    w.close()
async def handle(cr, cw):
    rr, rw = await asyncio.open_connection("127.0.0.1", rport)
    await asyncio.gather(pipe(cr, rw, False, True), pipe(rr, cw, True, False))
async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", lport)
    async with s:
        await s.serve_forever()
asyncio.run(main())
EOF2
  PROXY_PID=$!
  wait_http "http://127.0.0.1:$PPORT/v2/" "$PROXY_PID" || { echo "    the proxy did not start"; return 1; }
}

test_pull_killed_half_way_resumes_with_a_range() {
  pull_init
  reg_start
  mkdir -p "$PD/big"
  head -c 24000000 /dev/urandom >"$PD/big/blob"
  tar -C "$PD/big" -cf "$PD/big.tar" blob
  fkp import "$PD/big.tar" big >/dev/null || return 1
  fkp push -q big "$REG/big/img:1" >/dev/null || return 1
  fkp rmi big >/dev/null && fkp gc >/dev/null || return 1
  proxy_start || return 1
  local pid part size
  # focker itself in the background (not through fkp: $! would be a subshell)
  "$FOCKER" --root "$ROOT" --storage-root "$STORE" pull -q "127.0.0.1:$PPORT/big/img:1" \
    >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    part=$(find "$STORE/blobs" -maxdepth 1 -name '.tmp-pull-*' -size +2000k | head -1)
    [ -n "$part" ] && break
    sleep 0.05
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  [ -n "$part" ] || { echo "    no partial download seen"; return 1; }
  sleep 0.3 # the helper dies with focker (PR_SET_PDEATHSIG): the file stops growing
  size=$(stat -c %s "$part")
  sleep 0.3
  assert_eq "$(stat -c %s "$part")" "$size" "(the partial file still grows)" || return 1
  fkp pull -q "127.0.0.1:$PPORT/big/img:1" >/dev/null || return 1
  grep -q "^Range: bytes=$size-" "$PD/proxy.log" ||
    { echo "    no Range: bytes=$size- asked:"; cat "$PD/proxy.log"; return 1; }
  nothing_left=$(find "$STORE/blobs" -maxdepth 1 -name '.tmp-*')
  assert_eq "$nothing_left" "" "(temporaries left)" || return 1
  fkp inspect "127.0.0.1:$PPORT/big/img:1" >/dev/null || return 1
}

test_pull_and_push_with_basic_auth() {
  pull_init
  command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) is not installed"
  htpasswd -Bbn user secret >"$PD/htpasswd"
  reg_start htpasswd "$PD/htpasswd"
  fkp image build-default >/dev/null || return 1
  local out
  out=$(fkp push -q focker/busybox "$REG/auth/app:1" 2>&1) && return 1
  assert_contains "$out" "password" || return 1
  fkp push -q --creds user:secret focker/busybox "$REG/auth/app:1" >/dev/null || return 1
  fkp rmi focker/busybox >/dev/null && fkp gc >/dev/null || return 1
  out=$(fkp pull -q --creds user:wrong "$REG/auth/app:1" 2>&1) && return 1
  assert_contains "$out" "authentication failed" || return 1
  nothing_pulled || return 1
  printf '{"auths": {"%s": {"auth": "%s"}}}' "$REG" "$(printf user:secret | base64)" >"$PD/auth.json"
  REGISTRY_AUTH_FILE="$PD/auth.json" fkp pull -q "$REG/auth/app:1" >/dev/null || return 1
}

# token_server_start: a token service on 127.0.0.1:$TPORT/token, as docker's: Basic auth
# user:secret, a JWT (RS256, signed by openssl with a self-signed key whose certificate goes
# in the x5c header and the registry's rootcertbundle) granting the scope asked for.
token_server_start() {
  TPORT=$(free_port)
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PD/key.pem" -out "$PD/cert.pem" -days 1 \
    -subj /CN=focker-token >/dev/null 2>&1 || skip "openssl cannot make a key"
  python3 - "$TPORT" "$PD" >"$PD/token.log" 2>&1 <<'EOF2' &
import base64, http.server, json, subprocess, sys, time, urllib.parse
port, d = int(sys.argv[1]), sys.argv[2]
der = subprocess.run(["openssl", "x509", "-in", d + "/cert.pem", "-outform", "DER"], capture_output=True).stdout
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"user:secret").decode():
            self.send_response(401); self.end_headers(); return
        access = []
        for sc in q.get("scope", []):
            typ, name, actions = sc.split(":")
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        head = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "focker-test-issuer", "sub": "user", "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(now), "access": access}
        signing = b64u(json.dumps(head).encode()) + "." + b64u(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", d + "/key.pem"],
                             input=signing.encode(), capture_output=True).stdout
        body = json.dumps({"token": signing + "." + b64u(sig)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF2
  TOKEN_PID=$!
  wait_http "http://127.0.0.1:$TPORT/token" "$TOKEN_PID" ||
    { echo "    the token server did not start"; return 1; }
}

test_pull_and_push_with_a_bearer_token() {
  pull_init
  command -v openssl >/dev/null || skip "openssl is not installed"
  token_server_start || return 1
  reg_start token "http://127.0.0.1:$TPORT/token" "$PD/cert.pem"
  fkp image build-default >/dev/null || return 1
  local out
  out=$(fkp push -q focker/busybox "$REG/tok/app:1" 2>&1) && return 1
  assert_contains "$out" "token" || return 1
  fkp push -q --creds user:secret focker/busybox "$REG/tok/app:1" >/dev/null || return 1
  fkp rmi focker/busybox >/dev/null && fkp gc >/dev/null || return 1
  fkp pull -q --creds user:secret "$REG/tok/app:1" >/dev/null || return 1
  fkp inspect "$REG/tok/app:1" >/dev/null || return 1
}

test_pull_and_push_interoperate_with_skopeo() {
  pull_init
  command -v skopeo >/dev/null || skip "skopeo is not installed"
  reg_start
  busybox_layer_tar "$PD/small.tar"
  fkp import "$PD/small.tar" small >/dev/null || return 1
  fkp save small -o "$PD/small.oci.tar" || return 1
  # skopeo pushes, focker pulls and runs
  skopeo --insecure-policy copy -q --dest-tls-verify=false "oci-archive:$PD/small.oci.tar" \
    "docker://$REG/sk/small:1" || return 1
  fkp pull -q "$REG/sk/small:1" >/dev/null || return 1
  local out
  out=$(run_pulled "$REG/sk/small:1" sk1 'echo skopeo') || return 1
  assert_eq "$out" "skopeo" || return 1
  # focker pushes, skopeo reads it back whole
  fkp push -q small "$REG/fk/small:2" >/dev/null || return 1
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG/fk/small:2" \
    "oci:$PD/back:small" || return 1
  [ -s "$PD/back/index.json" ] || return 1
}

# A local registry that speaks only TLS, with a self-signed certificate for 127.0.0.1 (made
# here; curl checks that it verifies against itself): focker asks it over plain HTTP, gets
# the 400 a TLS server answers, and goes on over https.  Without --tls-verify=false the
# certificate is refused: one line naming the registry and both ways out (--cert-dir,
# --tls-verify=false), nothing stored.  With --cert-dir holding the certificate the pull
# verifies TLS and succeeds; so does one with --tls-verify=false.  skopeo pushes with the
# certificate trusted (--dest-cert-dir).
test_pull_from_a_local_tls_registry() {
  pull_init
  command -v openssl >/dev/null || skip "openssl is not installed"
  command -v skopeo >/dev/null || skip "skopeo is not installed"
  mkdir -p "$PD/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -keyout "$PD/tls/key.pem" -out "$PD/tls/ca.crt" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || skip "openssl cannot make a certificate"
  reg_start tls "$PD/tls/ca.crt" "$PD/tls/key.pem"
  curl -sf --cacert "$PD/tls/ca.crt" -o /dev/null "https://$REG/v2/" ||
    { echo "    the registry's certificate does not verify against itself"; return 1; }
  busybox_layer_tar "$PD/small.tar"
  fkp import "$PD/small.tar" small >/dev/null && fkp save small -o "$PD/small.oci.tar" || return 1
  fkp rmi small >/dev/null && fkp gc >/dev/null || return 1
  skopeo --insecure-policy copy -q --dest-cert-dir "$PD/tls" "oci-archive:$PD/small.oci.tar" \
    "docker://$REG/tls/small:1" || return 1
  bad_expect "$REG" --storage-root "$STORE" pull "$REG/tls/small:1" || return 1
  assert_contains "$(cat "$E2E_TMP/bad-err")" certificate || return 1
  assert_contains "$(cat "$E2E_TMP/bad-err")" "--cert-dir DIR" || return 1
  assert_contains "$(cat "$E2E_TMP/bad-err")" "--tls-verify=false" || return 1
  nothing_pulled || return 1
  assert_eq "$(fkp images -q)" "" "(images after the refused pull)" || return 1
  fkp pull -q --cert-dir "$PD/tls" "$REG/tls/small:1" >/dev/null || return 1
  local out
  out=$(run_pulled "$REG/tls/small:1" tls1 'echo over tls') || return 1
  assert_eq "$out" "over tls" || return 1
  fkp rmi "$REG/tls/small:1" >/dev/null && fkp gc >/dev/null || return 1
  nothing_pulled || return 1
  fkp pull -q --tls-verify=false "$REG/tls/small:1" >/dev/null || return 1
}

# A local TLS registry that asks for a client certificate (docker-registry's
# http.tls.clientcas; the client's key under $PD/tls, removed on exit).  With only the CA in
# --cert-dir, push and pull fail with one line saying the registry asks for a client
# certificate and where NAME.cert and NAME.key go, nothing stored; a NAME.cert without its
# NAME.key is refused naming the file; with the pair beside the CA both succeed.
test_pull_and_push_with_a_client_certificate() {
  pull_init
  command -v openssl >/dev/null || skip "openssl is not installed"
  local t=$PD/tls ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1)
  mkdir -p "$t/ca-only" "$t/half" "$t/pair"
  openssl req -x509 "${ec[@]}" -keyout "$t/key.pem" -out "$t/ca.crt" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || skip "openssl cannot make a certificate"
  openssl req -x509 "${ec[@]}" -keyout "$t/client-ca.key" -out "$t/client-ca.crt" \
    -subj /CN=focker-client-ca >/dev/null 2>&1 || return 1
  openssl req "${ec[@]}" -keyout "$t/pair/me.key" -subj /CN=focker-client 2>/dev/null |
    openssl x509 -req -CA "$t/client-ca.crt" -CAkey "$t/client-ca.key" -days 1 \
      -out "$t/pair/me.cert" >/dev/null 2>&1 || return 1
  cp "$t/ca.crt" "$t/ca-only/" && cp "$t/ca.crt" "$t/pair/" && cp "$t/ca.crt" "$t/pair/me.cert" "$t/half/"
  reg_start tls "$t/ca.crt" "$t/key.pem" "$t/client-ca.crt" "$t/pair/me.cert" "$t/pair/me.key"
  busybox_layer_tar "$PD/small.tar"
  fkp import "$PD/small.tar" small >/dev/null || return 1
  bad_expect "the registry asks for a client certificate" --storage-root "$STORE" \
    push -q --cert-dir "$t/ca-only" small "$REG/mtls/small:1" || return 1
  assert_contains "$(cat "$E2E_TMP/bad-err")" "NAME.cert with its NAME.key in --cert-dir DIR" || return 1
  bad_expect "$t/half/me.cert: a client certificate without its key me.key" \
    --storage-root "$STORE" push -q --cert-dir "$t/half" small "$REG/mtls/small:1" || return 1
  fkp push -q --cert-dir "$t/pair" small "$REG/mtls/small:1" >/dev/null || return 1
  fkp rmi small >/dev/null && fkp gc >/dev/null || return 1
  bad_expect "the registry asks for a client certificate" --storage-root "$STORE" \
    pull --cert-dir "$t/ca-only" "$REG/mtls/small:1" || return 1
  nothing_pulled || return 1
  assert_eq "$(fkp images -q)" "" "(images after the refused pull)" || return 1
  fkp pull -q --cert-dir "$t/pair" "$REG/mtls/small:1" >/dev/null || return 1
  assert_eq "$(fkp images -q | wc -l)" 1 "(images after the pull)" || return 1
}

# Bad command lines: one line each, nothing fetched or written (no registry needed: each is
# refused before any request).
test_pull_bad_input() {
  pull_init
  local S=(--storage-root "$STORE")
  bad_expect 'image reference "Bad/Name"' "${S[@]}" pull Bad/Name || return 1
  bad_expect 'image reference "r.io/a:-x"' "${S[@]}" pull r.io/a:-x || return 1
  bad_expect 'is not a sha256 digest' "${S[@]}" pull r.io/a@sha256:12 || return 1
  bad_expect '--platform "linux": not OS/ARCH' "${S[@]}" pull --platform linux 127.0.0.1:1/a || return 1
  bad_expect '--tls-verify: "maybe"' "${S[@]}" pull --tls-verify=maybe r.io/a || return 1
  bad_expect '--creds: not USER:PASSWORD' "${S[@]}" pull --creds nopass r.io/a || return 1
  bad_expect 'usage: focker pull' "${S[@]}" pull || return 1
  bad_expect 'usage: focker push' "${S[@]}" push only-one || return 1
  bad_expect '--platform is for pull' "${S[@]}" push --platform linux/amd64 a 127.0.0.1:1/b || return 1
  bad_expect 'give a tag, not a digest' "${S[@]}" push a "127.0.0.1:1/b@sha256:$(printf '%064d' 0)" || return 1
  printf '{"auths": {"127.0.0.1:1": {"auth": "!!"}}}' >"$PD/bad-auth.json"
  bad_expect 'not base64' "${S[@]}" pull --authfile "$PD/bad-auth.json" 127.0.0.1:1/a || return 1
  FOCKER_FETCH=/nonexistent/focker-fetch bad_expect 'registry helper /nonexistent/focker-fetch' \
    "${S[@]}" pull 127.0.0.1:1/a || return 1
  nothing_pulled || return 1
}

# pull_three_layers REF: push to $REG/REF an image of three layers (busybox and sh; /etc/one;
# /etc/d/two), from a store of its own ($PD/src): the store under test holds only what the
# test puts there.  oci_layout is t_image.sh's.
pull_three_layers() {
  mkdir -p "$PD/l1/etc" "$PD/l2/etc/d"
  busybox_layer_tar "$PD/l0.tar"
  echo one >"$PD/l1/etc/one"
  echo two >"$PD/l2/etc/d/two"
  tar -C "$PD/l1" -cf "$PD/l1.tar" .
  tar -C "$PD/l2" -cf "$PD/l2.tar" .
  oci_layout "$PD/layout" three/layers:1 "$PD/l0.tar" "$PD/l1.tar" "$PD/l2.tar"
  tar -C "$PD/layout" -cf "$PD/three.tar" .
  "$FOCKER" --storage-root "$PD/src" load "$PD/three.tar" >/dev/null || return 1
  "$FOCKER" --storage-root "$PD/src" push -q three/layers:1 "$REG/$1" >/dev/null
}

# store_snapshot: every path in the store with its type, mode, owner (and a file's size, a
# symlink's target), then index.json; fails naming a blob whose content does not have its
# name's digest.  (No python: this runs twice per crash point.)
store_snapshot() {
  local torn
  torn=$(cd "$STORE/blobs/sha256" && find . -type f -printf '%P\n' | xargs -r sha256sum |
    awk '$1 != substr($2, 1) {print $2}')
  [ -z "$torn" ] || { echo "blobs without their digest: $torn" >&2; return 1; }
  find "$STORE" -mindepth 1 \( -type d -printf '%P d %m %U:%G\n' \) -o \
    -printf '%P %y %m %U:%G %s %l\n' | LC_ALL=C sort
  cat "$STORE/index.json"
}

# The calls after which a pull can leave the store in a state the call before did not: a
# name made, renamed or removed (openat makes temporaries and lock files).  Not counted:
# reads, polls, pipes and helper processes; write, fchmod, fchownat and utimensat (they
# change only the content of a temporary whose creation is a point already); flock and
# fsync (a lock dies with its process, and a file is as visible before its fsync as after:
# this test kills processes, it does not cut the power).
PULL_CRASH_CALLS=openat,mkdirat,renameat,unlinkat,symlinkat,linkat,mknodat

# pull_crash_point CALLS N: pull $PREF killed after its call N (counting only CALLS; all
# when empty); 1 when it completed.  After a kill, either (every 4th point: what a user
# does) pull again, which must succeed, or gc; then gc must leave exactly $PD/prior or
# $PD/complete, and the store is put back to $PD/prior.  Failures: a line, exit status 2.
pull_crash_point() {
  local calls=$1 n=$2 rc=0 again=0 state
  FOCKER_CRASH_CALLS=$calls FOCKER_CRASH_AT=$n fkp pull -q "$PREF" >"$PD/crash-out" 2>&1 || rc=$?
  [ $rc = 0 ] && return 1
  if [ $rc != 137 ]; then
    echo "    pull with FOCKER_CRASH_AT=$n (${calls:-all calls}): exit $rc, neither killed nor done: $(cat "$PD/crash-out")"
    return 2
  fi
  PULL_POINTS=$((PULL_POINTS + 1))
  if [ $((PULL_POINTS % 4)) = 0 ]; then
    again=1
    fkp pull -q "$PREF" >"$PD/crash-out" 2>&1 ||
      { echo "    pull killed after call $n (${calls:-all}), then pull again: $(cat "$PD/crash-out")"; return 2; }
  fi
  fkp gc >"$PD/crash-out" 2>&1 || { echo "    pull killed after call $n (${calls:-all}), then gc: $(cat "$PD/crash-out")"; return 2; }
  state=$(store_snapshot 2>&1) || { echo "    pull killed after call $n (${calls:-all}), then gc: $state"; return 2; }
  if [ "$state" = "$(cat "$PD/complete")" ]; then
    fkp rmi "$PREF" >/dev/null && fkp gc >/dev/null || return 2
    state=$(store_snapshot 2>&1)
  elif [ $again = 1 ]; then
    echo "    pull killed after call $n (${calls:-all}), then pull again and gc: not the complete store: $(diff <(echo "$state") "$PD/complete" | head -5)"
    return 2
  fi
  if [ "$state" != "$(cat "$PD/prior")" ]; then
    echo "    pull killed after call $n (${calls:-all}), then gc: neither the prior nor the pulled store: $(diff <(echo "$state") "$PD/prior" | head -5)"
    return 2
  fi
}

# pull_crash_sweep CALLS STEP: points N = 1, 1+STEP, ... until a pull completes; with a
# STEP > 1, then the last point before it (a bisection between the last kill and the
# completion).  Prints how many points were killed.
pull_crash_sweep() {
  local calls=$1 step=$2 n rc lo hi mid
  PULL_POINTS=0
  for ((n = 1; n <= 3000; n += step)); do
    pull_crash_point "$calls" "$n"
    rc=$?
    [ $rc = 2 ] && return 1
    [ $rc = 1 ] && break
  done
  [ $rc = 1 ] || { echo "    pull still killed at call $n"; return 1; }
  fkp rmi "$PREF" >/dev/null && fkp gc >/dev/null || return 1
  lo=$((n - step)) hi=$n
  while [ $((hi - lo)) -gt 1 ]; do
    mid=$(((lo + hi) / 2))
    pull_crash_point "$calls" "$mid"
    rc=$?
    [ $rc = 2 ] && return 1
    if [ $rc = 1 ]; then
      hi=$mid
      fkp rmi "$PREF" >/dev/null && fkp gc >/dev/null || return 1
    else
      lo=$mid
    fi
  done
  [ "$PULL_POINTS" -gt 10 ] || { echo "    pull completed after $PULL_POINTS points: the crash hook is not working"; return 1; }
  echo "    pull killed at $PULL_POINTS points (${calls:-all calls}, every ${step}th, and the last, $lo), each time gc or a second pull left the prior or the pulled store" >&2
}

# pull (an image of three layers, into a store holding another image) killed with SIGKILL
# right after its kernel calls: after every call that changes the store or takes a lock
# (FOCKER_CRASH_CALLS, sys/crash.c), and after every PULL_CRASH_STEP-th of all its calls
# (its downloads' reads and polls are hundreds).  Each time gc, or a second pull then gc,
# leaves the store exactly as it was before or as a complete pull leaves it: no blob under
# its digest that does not have it, no half-unpacked layer or temporary, no stale lock,
# index.json whole.  Then the image runs.  The focker-fetch helper writes no name in the
# store (focker names and verifies what it downloads) and dies with focker
# (PR_SET_PDEATHSIG): only focker's calls are points.
test_crash_at_every_call_of_pull_leaves_the_prior_or_the_pulled_store() {
  pull_init
  reg_start
  pull_three_layers crash/three:1 || return 1
  PREF="$REG/crash/three:1"
  # a private copy of the binary: a rebuild during the loop must not fail it (the helper
  # stays where it is: it runs as nobody, who cannot reach into $PD)
  cp "$FOCKER" "$PD/focker" || return 1
  local FOCKER_FETCH=${FOCKER_FETCH:-$(dirname "$FOCKER")/focker-fetch}
  export FOCKER_FETCH
  local FOCKER="$PD/focker"
  # gc: the record of build-default's names goes (every point ends with a gc)
  fkp image build-default >/dev/null && fkp gc >/dev/null || return 1
  store_snapshot >"$PD/prior" || return 1
  fkp pull -q "$PREF" >/dev/null && fkp gc >/dev/null || return 1
  store_snapshot >"$PD/complete" || return 1
  fkp rmi "$PREF" >/dev/null && fkp gc >/dev/null || return 1
  assert_eq "$(store_snapshot)" "$(cat "$PD/prior")" "(pull, rmi and gc)" || return 1
  pull_crash_sweep "$PULL_CRASH_CALLS" 1 || return 1
  pull_crash_sweep "" "${PULL_CRASH_STEP:-40}" || return 1
  fkp pull -q "$PREF" >/dev/null || return 1
  local out
  out=$(run_pulled "$PREF" pullcrash1 'cat /etc/one /etc/d/two') || return 1
  assert_eq "$(echo $out)" "one two" || return 1
}

# The registry helper, running as nobody with the client key and credentials in its memory,
# is not dumpable: another nobody process cannot ptrace it or read /proc/PID/mem (its /proc
# files are root's).  Run by hand here as nobody, waiting for its request on a fifo.
test_pull_helper_is_not_dumpable() {
  local helper=${FOCKER_FETCH:-$(dirname "$FOCKER")/focker-fetch} pid owner="" i
  [ -x "$helper" ] || skip "focker-fetch is not built next to $FOCKER"
  command -v setpriv >/dev/null || skip "setpriv is not installed"
  echo '{}' | "$helper" >/dev/null 2>&1
  [ $? -ne 127 ] || skip "$helper cannot run here"
  mkfifo "$E2E_TMP/req"
  setpriv --reuid 65534 --regid 65534 --clear-groups "$helper" <"$E2E_TMP/req" >/dev/null 2>&1 &
  pid=$!
  exec 9>"$E2E_TMP/req"
  for i in $(seq 1 100); do
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$helper")" ]; then
      owner=$(stat -c %u "/proc/$pid/mem" 2>/dev/null)
      [ "$owner" = 0 ] && break
    fi
    sleep 0.02
  done
  exec 9>&-
  wait "$pid" 2>/dev/null
  assert_eq "$owner" 0 "owner of the nobody helper's /proc/PID/mem" || return 1
}
