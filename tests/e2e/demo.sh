#!/usr/bin/env bash
# demo.sh: build a busybox-static bundle under build/demo and run a real container in it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
top=$(cd "$here/../.." && pwd)
demo="$top/build/demo"
rm -rf "$demo/bundle"
make_bundle "$demo/bundle" '["sh","-c","echo hello from a focker container; echo hostname: $(hostname); echo pid: $$; ps"]'
edit_config "$demo/bundle" "c['hostname'] = 'focker-demo'"
exec "$FOCKER" --root "$demo/state" run --bundle "$demo/bundle" "demo-$$"
