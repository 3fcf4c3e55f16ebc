#!/usr/bin/env bash
# demo.sh: build focker's default image (busybox-static, offline) into a store under
# build/demo, run a real container from an OCI bundle made from it (an overlay rootfs), then
# the docker-like way: `focker run -d -p PORT:80` of busybox httpd serving a page, fetched
# from 127.0.0.1:PORT, and removed.  As root on a fresh machine this makes focker's bridge
# focker0 and its nf_tables table `ip focker` (kept, as docker0 is).  DEMO_PORT (default
# 8080) is the host port.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
top=$(cd "$here/../.." && pwd)
demo=${DEMO_DIR:-$top/build/demo}
port=${DEMO_PORT:-8080}
fk() { "$FOCKER" --root "$demo/state" --storage-root "$demo/store" "$@"; }
fk image build-default >/dev/null
[ ! -d "$demo/bundle" ] || fk unbundle "$demo/bundle" 2>/dev/null || rm -rf "$demo/bundle"
fk rm -f demo-web >/dev/null 2>&1 || true
fk bundle focker/busybox "$demo/bundle" >/dev/null
trap 'fk rm -f demo-web >/dev/null 2>&1 || true; fk unbundle "$demo/bundle"' EXIT
edit_config "$demo/bundle" "c['process']['args'] = ['sh', '-c', 'echo hello from a focker container; echo hostname: \$(hostname); echo pid: \$\$; ps']; c['hostname'] = 'focker-demo'"
fk run --bundle "$demo/bundle" "demo-$$"

mkdir -p "$demo/www"
echo "hello from focker run, published on port $port" >"$demo/www/index.html"
echo "+ focker run -d --name demo-web -p $port:80 -v $demo/www:/www:ro focker/busybox httpd -f -p 80 -h /www"
fk run -d --name demo-web -p "$port:80" -v "$demo/www:/www:ro" focker/busybox httpd -f -p 80 -h /www
fk ps
echo "+ curl http://127.0.0.1:$port/"
fetched=0
for _ in $(seq 25); do
  if command -v curl >/dev/null; then
    curl -fsS "http://127.0.0.1:$port/" 2>/dev/null && fetched=1 && break
  else
    python3 -c "import sys, urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=2).read().decode())" \
      "http://127.0.0.1:$port/" 2>/dev/null && fetched=1 && break
  fi
  sleep 0.2
done
[ "$fetched" = 1 ] || { echo "demo: no answer on 127.0.0.1:$port" >&2; exit 1; }
fk rm -f demo-web
