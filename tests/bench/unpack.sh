#!/usr/bin/env bash
# unpack.sh: unpacking one large multi-file layer, focker against `tar -xzf` and `umoci unpack`
# of the same layer, as ratios (issue 6).
#
# Run by `make bench-unpack` (root).  The layer is a gzip tarball of about BENCH_UNPACK_MB (128)
# MB and up to BENCH_UNPACK_FILES (6700) entries taken from this host's /usr (the size and count
# of a debootstrap minbase root, which needs a mirror to build), made once and kept in
# BENCH_UNPACK_CACHE (/var/tmp/focker-bench-layer.tar.gz), outside the repository.  An OCI
# layout holding it as a one-layer image is made in a temp dir.  Then, interleaved,
# BENCH_UNPACK_ITERS (5) times each, into empty directories:
#   focker    `focker load` of that layout into an empty store: the blob copied, hashed and
#             fsync'd, the layer unpacked through the seam (every entry checked) and fsync'd,
#             the name recorded: what a user waits for;
#   tar       `tar -xzf` of the same file: unpacking only, no hashing, no fsync;
#   umoci     `umoci unpack` of the same layout into a bundle (skipped when umoci is missing).
# With FOCKER_BASE=/path/to/another/focker (main's build, say), that build's load is timed too,
# in the same rounds, before or after focker's in turn (each round starts by removing the last
# round's trees, and on an ext4 without a journal the first creator after a mass delete pays
# most: see CONTRIBUTING.md).
# Prints min/median/p90 of each and the ratios of the medians; only the ratios mean anything.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
focker=${FOCKER:-$top/build/focker}
iters=${BENCH_UNPACK_ITERS:-5}
mb=${BENCH_UNPACK_MB:-128}
files=${BENCH_UNPACK_FILES:-6700}
cache=${BENCH_UNPACK_CACHE:-/var/tmp/focker-bench-layer.tar.gz}
say () { printf 'bench-unpack: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { say "needs root (device nodes, owners): skipped"; exit 77; }
[ -x "$focker" ] || { say "$focker is not built"; exit 2; }
tmp=$(mktemp -d /tmp/focker-bench-unpack.XXXXXX)
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$tmp"' EXIT

if [ ! -s "$cache" ]; then
  say "making the layer once: $cache"
  python3 - "$cache.tmp" "$mb" "$files" <<'EOF'
import os, sys, tarfile
out, mb, maxn = sys.argv[1], int(sys.argv[2]) << 20, int(sys.argv[3])
total = n = 0
with tarfile.open(out, "w:gz", compresslevel=6) as t:
    for top in ("/usr/lib", "/usr/share", "/usr/bin", "/usr/include"):
        for root, dirs, names in os.walk(top):
            dirs.sort()
            for name in [""] + sorted(names):
                p = os.path.join(root, name) if name else root
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if not (os.path.isdir(p) or os.path.islink(p) or os.path.isfile(p)):
                    continue
                if total + st.st_size > mb or n >= maxn:
                    break
                try:
                    t.add(p, arcname=p.lstrip("/"), recursive=False)
                except OSError:
                    continue
                n += 1
                if not os.path.islink(p) and os.path.isfile(p):
                    total += st.st_size
            if total >= mb or n >= maxn:
                break
        if total >= mb or n >= maxn:
            break
print("%d entries, %d MB" % (n, total >> 20))
EOF
  mv "$cache.tmp" "$cache"
fi

# a one-layer OCI image of the cached layer
python3 - "$tmp/layout" "$cache" <<'EOF'
import gzip, hashlib, json, os, shutil, sys
out, layer = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256")
def put_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    d = h.hexdigest()
    shutil.copyfile(path, out + "/blobs/sha256/" + d)
    return "sha256:" + d, os.path.getsize(path)
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(out + "/blobs/sha256/" + d, "wb").write(b)
    return "sha256:" + d, len(b)
h = hashlib.sha256()
with gzip.open(layer, "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
ld, ls = put_file(layer)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + h.hexdigest()]}}).encode()
c, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": cs},
                  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                              "digest": ld, "size": ls}]}).encode()
m, ms = put(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": m, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
          open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
entries=$(tar -tzf "$cache" | wc -l)
say "layer: $entries entries, $(( $(stat -c %s "$cache") >> 20 )) MB gzip, $(( $(gzip -l "$cache" | awk 'NR==2 {print $2}') >> 20 )) MB plain"

have_umoci=0
command -v umoci >/dev/null && have_umoci=1
[ "$have_umoci" = 1 ] || say "umoci is not installed: its column is skipped"

median () { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# min/median/p90 of a file of times, so a loaded host's noise shows
spread () {
  sort -n "$1" | awk '{a[NR]=$1} END {p=int(NR*0.9+0.999); if (p<1) p=1; if (p>NR) p=NR;
                                   printf "min %s median %s p90 %s", a[1], a[int((NR+1)/2)], a[p]}'
}
now () { date +%s.%N; }
lap () { awk -v a="$2" -v b="$1" 'BEGIN {printf "%.3f\n", a - b}'; }
: >"$tmp/focker.t"; : >"$tmp/tar.t"; : >"$tmp/umoci.t"; : >"$tmp/base.t"
base_load () {
  [ -n "${FOCKER_BASE:-}" ] || return 0
  local b0 b1
  b0=$(now)
  "$FOCKER_BASE" --storage-root "$tmp/basestore" load "$tmp/layout" >/dev/null
  b1=$(now)
  lap "$b0" "$b1" >>"$tmp/base.t"
}
for i in $(seq "$iters"); do
  rm -rf "$tmp/store" "$tmp/basestore" "$tmp/tar" "$tmp/umoci"
  sync
  [ $((i % 2)) = 1 ] || base_load
  t0=$(now)
  "$focker" --storage-root "$tmp/store" load "$tmp/layout" >/dev/null
  t1=$(now)
  [ $((i % 2)) = 0 ] || base_load
  t1b=$(now)
  mkdir "$tmp/tar"
  tar -xzf "$cache" -C "$tmp/tar"
  t2=$(now)
  lap "$t0" "$t1" >>"$tmp/focker.t"
  lap "$t1b" "$t2" >>"$tmp/tar.t"
  if [ "$have_umoci" = 1 ]; then
    t3=$(now)
    umoci unpack --image "$tmp/layout:bench" "$tmp/umoci" >/dev/null 2>&1
    t4=$(now)
    lap "$t3" "$t4" >>"$tmp/umoci.t"
  fi
done
f=$(median <"$tmp/focker.t")
t=$(median <"$tmp/tar.t")
say "focker load  $(spread "$tmp/focker.t") s"
say "tar -xzf     $(spread "$tmp/tar.t") s ($iters runs each, interleaved)"
say "ratio focker/tar (medians): $(awk -v a="$f" -v b="$t" 'BEGIN {printf "%.2f", a / b}') (target <= 1)"
if [ -n "${FOCKER_BASE:-}" ]; then
  fb=$(median <"$tmp/base.t")
  say "FOCKER_BASE  $(spread "$tmp/base.t") s"
  say "ratio focker/FOCKER_BASE: $(awk -v a="$f" -v b="$fb" 'BEGIN {printf "%.2f", a / b}')"
fi
if [ "$have_umoci" = 1 ]; then
  u=$(median <"$tmp/umoci.t")
  say "umoci unpack $(spread "$tmp/umoci.t") s"
  say "ratio focker/umoci: $(awk -v a="$f" -v b="$u" 'BEGIN {printf "%.2f", a / b}') (target <= 0.33)"
fi
