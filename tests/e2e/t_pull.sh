# t_pull.sh: pull and push against a real registry: Debian's docker-registry, started by each
# test on 127.0.0.1 with a free port and its storage and config under $E2E_TMP/pull, stopped
# by pid at the end (EXIT trap, also on failure).  Push the default image and pull it back
# and run it, pull by digest, an index with two platforms (written with curl), a missing
# image, a pull killed half way then resumed (through a throttling proxy that logs the Range
# asked for), htpasswd Basic auth (--creds and an auth file), and images moved by skopeo
# both ways.  Skipped (with the reason) where docker-registry is missing or does not answer.

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
  for m in $(awk -v p="${PD:-/nonexistent}" 'index($2, p) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  return 0
}

fkp() { "$FOCKER" --root "$ROOT" --storage-root "$STORE" "$@"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# reg_start [htpasswd FILE | token REALM CERT]: a registry on 127.0.0.1:$PORT; REG is its host:port.
reg_start() {
  PORT=$(free_port)
  REG="127.0.0.1:$PORT"
  mkdir -p "$PD/reg"
  {
    echo "version: 0.1"
    echo "log: {level: error, accesslog: {disabled: true}}"
    echo "storage: {filesystem: {rootdirectory: $PD/reg/data}, delete: {enabled: true}}"
    echo "http: {addr: \"$REG\"}"
    if [ "${1:-}" = htpasswd ]; then
      echo "auth: {htpasswd: {realm: focker-test, path: $2}}"
    elif [ "${1:-}" = token ]; then
      echo "auth: {token: {realm: \"$2\", service: focker-test, issuer: focker-test-issuer, rootcertbundle: $3}}"
    fi
  } >"$PD/reg/config.yml"
  docker-registry serve "$PD/reg/config.yml" >"$PD/reg/log" 2>&1 &
  REG_PID=$!
  wait_http "http://$REG/v2/" "$REG_PID" ||
    skip "docker-registry does not answer on $REG: $(tail -1 "$PD/reg/log")"
}

# wait_http URL PID: up to 5 s for URL to answer, while PID lives.
wait_http() {
  for _ in $(seq 50); do
    curl -s -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
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
  fkp bundle "$REG/focker/busybox:1" "$PD/b" >/dev/null || return 1
  edit_config "$PD/b" "c['process']['args'] = ['sh', '-c', 'echo hello from a pulled image']"
  out=$(fkp run --bundle "$PD/b" pulled1) || return 1
  fkp unbundle "$PD/b" || return 1
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

# Two pulls of one image at once into one store: both succeed, the blobs and the layer are
# stored once (locks/pull-<hex>, the per-layer lock), nothing temporary is left.
test_pull_two_at_once_share_blobs_and_layers() {
  pull_init
  reg_start
  fkp image build-default >/dev/null || return 1
  fkp push -q focker/busybox "$REG/two/app:1" >/dev/null || return 1
  fkp push -q focker/busybox "$REG/two/app:2" >/dev/null || return 1
  fkp rmi focker/busybox >/dev/null && fkp gc >/dev/null || return 1
  local p1 p2 rc1=0 rc2=0
  "$FOCKER" --root "$ROOT" --storage-root "$STORE" pull -q "$REG/two/app:1" >"$PD/o1" 2>&1 &
  p1=$!
  "$FOCKER" --root "$ROOT" --storage-root "$STORE" pull -q "$REG/two/app:2" >"$PD/o2" 2>&1 &
  p2=$!
  wait "$p1" || rc1=$?
  wait "$p2" || rc2=$?
  assert_eq "$rc1/$rc2" "0/0" "($(cat "$PD/o1" "$PD/o2"))" || return 1
  assert_eq "$(cat "$PD/o1")" "$(cat "$PD/o2")" "(one image id)" || return 1
  assert_eq "$(ls "$STORE/layers/sha256" | wc -l)" 1 "(layers)" || return 1
  assert_eq "$(ls "$STORE/blobs/sha256" | wc -l)" 3 "(blobs: manifest, config, layer)" || return 1
  nothing_pulled_tmp=$(find "$STORE/blobs" "$STORE/layers" -maxdepth 1 -name '.tmp-*')
  assert_eq "$nothing_pulled_tmp" "" "(temporaries left)" || return 1
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
  fkp bundle "$REG/sk/small:1" "$PD/b" >/dev/null || return 1
  edit_config "$PD/b" "c['process']['args'] = ['sh', '-c', 'echo skopeo']"
  local out
  out=$(fkp run --bundle "$PD/b" sk1) || return 1
  fkp unbundle "$PD/b" || return 1
  assert_eq "$out" "skopeo" || return 1
  # focker pushes, skopeo reads it back whole
  fkp push -q small "$REG/fk/small:2" >/dev/null || return 1
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG/fk/small:2" \
    "oci:$PD/back:small" || return 1
  [ -s "$PD/back/index.json" ] || return 1
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
