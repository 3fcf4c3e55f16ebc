#!/usr/bin/env bash
# demo.sh: build focker's default image (busybox-static, offline) into a store under
# build/demo, make a bundle from it (an overlay rootfs) and run a real container in it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
top=$(cd "$here/../.." && pwd)
demo="$top/build/demo"
fk() { "$FOCKER" --root "$demo/state" --storage-root "$demo/store" "$@"; }
fk image build-default >/dev/null
[ ! -d "$demo/bundle" ] || fk unbundle "$demo/bundle" 2>/dev/null || rm -rf "$demo/bundle"
fk bundle focker/busybox "$demo/bundle" >/dev/null
trap 'fk unbundle "$demo/bundle"' EXIT
edit_config "$demo/bundle" "c['process']['args'] = ['sh', '-c', 'echo hello from a focker container; echo hostname: \$(hostname); echo pid: \$\$; ps']; c['hostname'] = 'focker-demo'"
fk run --bundle "$demo/bundle" "demo-$$"
