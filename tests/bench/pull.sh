#!/usr/bin/env bash
# pull.sh: `focker pull` against `skopeo copy` from one local registry, as a ratio (issue 6).
#
# Run by `make bench-pull` (root).  Starts Debian's docker-registry on 127.0.0.1 (a free port,
# storage in a temp dir, stopped by pid at exit), puts an image of BENCH_PULL_LAYERS (4)
# gzip layers of BENCH_PULL_MB (24) MB each in it with skopeo, then times, interleaved,
# BENCH_PULL_ITERS (5) times each: focker pulling it into an empty store (fetch, verify,
# unpack every layer, name it) and skopeo copying it to a new OCI layout directory (fetch and
# verify; skopeo does not unpack).  Prints min/median/p90 of each and focker/skopeo of the
# medians; only the ratio means anything.  Half of each layer is random, half text, so gzip
# has work to do.  Both tools reach the registry over plain HTTP: skopeo tries https
# (unverified) first because of --src-tls-verify=false, focker tries http first because the
# registry is local.  With FOCKER_BASE=/path/to/another/focker, that build is timed too, in
# the same rounds (an A/B of two builds).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
focker=${FOCKER:-$top/build/focker}
iters=${BENCH_PULL_ITERS:-5}
layers=${BENCH_PULL_LAYERS:-4}
mb=${BENCH_PULL_MB:-24}
say () { printf 'bench-pull: %s\n' "$*"; }

for tool in docker-registry skopeo curl python3; do
  command -v "$tool" >/dev/null || { say "$tool is not installed: skipped"; exit 77; }
done
[ -x "$focker" ] || { say "$focker is not built"; exit 2; }
tmp=$(mktemp -d /tmp/focker-bench-pull.XXXXXX)
reg_pid=""
cleanup () {
  if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null; wait "$reg_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap 'rc=$?; cleanup; exit $rc' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$tmp/config.yml" <<EOF2
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $tmp/reg}}
http: {addr: "$reg"}
EOF2
docker-registry serve "$tmp/config.yml" >"$tmp/reg.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://$reg/v2/" && break; sleep 0.1; done

# the image: an OCI layout made here, copied into the registry by skopeo
python3 - "$tmp/layout" "$layers" "$mb" <<'EOF2'
import gzip, hashlib, io, json, os, sys, tarfile
out, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out + "/blobs/sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(out + "/blobs/sha256/" + d, "wb").write(b)
    return "sha256:" + d, len(b)
text = b"".join(b"line %d of a text file that compresses well enough\n" % i for i in range(200000))
descs, diffs = [], []
for i in range(n):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for j, data in enumerate([os.urandom(mb << 19), (text * (1 + (mb << 19) // len(text)))[: mb << 19]]):
            ti = tarfile.TarInfo("layer%d/file%d" % (i, j)); ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    plain = raw.getvalue()
    diffs.append("sha256:" + hashlib.sha256(plain).hexdigest())
    d, size = put(gzip.compress(plain, 6))
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": size})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
c, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": cs},
                  "layers": descs}).encode()
m, ms = put(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": m, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
          open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF2
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$tmp/layout:bench" "docker://$reg/bench/img:1"
say "$layers layers of $mb MB (half random, half text), gzip, from $reg"

median () { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# min/median/p90 of a file of times, so a loaded host's noise shows
spread () {
  sort -n "$1" | awk '{a[NR]=$1} END {p=int(NR*0.9+0.999); if (p<1) p=1; if (p>NR) p=NR;
                                   printf "min %s median %s p90 %s", a[1], a[int((NR+1)/2)], a[p]}'
}
now () { date +%s.%N; }
: >"$tmp/focker.t"
: >"$tmp/skopeo.t"
: >"$tmp/base.t"
for i in $(seq "$iters"); do
  rm -rf "$tmp/store" "$tmp/out"
  t0=$(now)
  "$focker" --storage-root "$tmp/store" pull -q "$reg/bench/img:1" >/dev/null
  t1=$(now)
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$reg/bench/img:1" "oci:$tmp/out:x"
  t2=$(now)
  awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.3f\n", a - b}' >>"$tmp/focker.t"
  awk -v a="$t2" -v b="$t1" 'BEGIN {printf "%.3f\n", a - b}' >>"$tmp/skopeo.t"
  if [ -n "${FOCKER_BASE:-}" ]; then
    rm -rf "$tmp/store"
    t0=$(now)
    "$FOCKER_BASE" --storage-root "$tmp/store" pull -q "$reg/bench/img:1" >/dev/null
    t1=$(now)
    awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.3f\n", a - b}' >>"$tmp/base.t"
  fi
done
f=$(median <"$tmp/focker.t")
s=$(median <"$tmp/skopeo.t")
say "focker pull (with unpack) $(spread "$tmp/focker.t") s"
say "skopeo copy to an OCI dir  $(spread "$tmp/skopeo.t") s ($iters runs each, interleaved)"
[ -z "${FOCKER_BASE:-}" ] || say "FOCKER_BASE pull          $(spread "$tmp/base.t") s"
say "ratio focker/skopeo (medians): $(awk -v a="$f" -v b="$s" 'BEGIN {printf "%.2f", a / b}') (target <= 1)"
