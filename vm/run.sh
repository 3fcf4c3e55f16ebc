#!/usr/bin/env bash
# run.sh: boot one Debian kernel under QEMU (TCG) and run the e2e suite inside it.
#
# Usage: vm/run.sh SERIES CGROUP-MODE [LOG]    e.g. vm/run.sh 6.1 v1 build/vm/6.1-v1.log
# Needs root (virtiofsd shares the host's root; the guest mounts it read-only), after
# vm/fetch.sh and vm/mkinitrd.sh for SERIES.  The VM gets no network (-nic none), one CPU
# (faster than two on a 2-core host under TCG), panic=-1 and -no-reboot, and a host-side
# timeout (VM_TIMEOUT seconds, default 1500).  The serial console is written to LOG;
# virtiofsd and QEMU are stopped by pid, and the socket directory removed, on every exit.
# FOCKER_VM_ENOSYS=1 also runs the suite with openat2/clone3/mount_setattr failing ENOSYS;
# FOCKER_VM_TESTS=test_a,test_b runs only those tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${VM_OUT:-$repo/build/vm}
series=$1 cg=$2
log=${3:-$out/$series-$cg.log}
kdir="$out/k/$series"
kernel=$(ls "$kdir"/boot/vmlinuz-* | head -1)
initrd="$out/initrd-$series.cpio.gz"
virtiofsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
[ -f "$initrd" ] || { echo "vm: $initrd missing (vm/mkinitrd.sh $series)" >&2; exit 1; }

sockdir=$(mktemp -d /tmp/focker-vm.XXXXXX)
vpid="" qpid=""
cleanup() {
  set +e
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
  [ -n "$vpid" ] && kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null
  rm -rf "$sockdir"
}
trap cleanup EXIT

"$virtiofsd" --socket-path="$sockdir/fs.sock" -o source=/ -o sandbox=chroot -o cache=always \
  -o log_level=err 2>"$sockdir/virtiofsd.log" &
vpid=$!
for _ in $(seq 50); do [ -S "$sockdir/fs.sock" ] && break; sleep 0.1; done
[ -S "$sockdir/fs.sock" ] || { echo "vm: virtiofsd did not start: $(cat "$sockdir/virtiofsd.log")" >&2; exit 1; }

append="console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init focker.repo=$repo focker.cgroup=$cg"
[ -n "${FOCKER_VM_ENOSYS:-}" ] && append="$append focker.enosys=$FOCKER_VM_ENOSYS"
[ -n "${FOCKER_VM_TESTS:-}" ] && append="$append focker.tests=$FOCKER_VM_TESTS"
[ "$cg" = v1 ] && append="$append systemd.unified_cgroup_hierarchy=0"
mem=${VM_MEM:-1G}
timeout -k 5 "${VM_TIMEOUT:-1500}" qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp 1 \
  -m "$mem" -object memory-backend-memfd,id=mem,size="$mem",share=on -numa node,memdev=mem \
  -chardev socket,id=fs,path="$sockdir/fs.sock" -device vhost-user-fs-pci,chardev=fs,tag=hostroot \
  -kernel "$kernel" -initrd "$initrd" -append "$append" \
  -nic none -display none -monitor none -serial "file:$log" -no-reboot &
qpid=$!
rc=0
wait "$qpid" || rc=$?
qpid=""
if [ "$rc" = 124 ]; then echo "vm: $series $cg timed out" >&2; fi
grep -q '^@@VM-END e2e' "$log" || { echo "vm: $series $cg: no e2e result (rc $rc)" >&2; exit 1; }
