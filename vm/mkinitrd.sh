#!/usr/bin/env bash
# mkinitrd.sh: build the initramfs for one unpacked kernel series.
#
# Usage: vm/mkinitrd.sh SERIES   (after vm/fetch.sh SERIES)
# Writes build/vm/initrd-SERIES.cpio.gz: busybox-static, vm/init (stage 1) and vm/init2
# (stage 2, run after switch_root), and the kernel modules the VM needs (virtio, virtiofs,
# overlay, veth, bridge, nf_tables with NAT) with their dependencies.  Modules shipped as
# .ko.xz are decompressed first (busybox modprobe reads plain .ko), and `depmod -b` writes
# the modules.dep the package does not ship.  The VM reaches everything else (python3, the
# focker binary, the tests) through the host's root shared read-only over virtiofs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${VM_OUT:-$here/../build/vm}
series=$1
kdir="$out/k/$series"
krel=$(ls "$kdir/lib/modules" | head -1)
busybox=${BUSYBOX:-/bin/busybox}
MODULES="virtio_pci virtiofs overlay veth bridge nf_tables nft_nat nft_chain_nat nft_masq nft_ct
  nf_nat nf_conntrack nft_fib_inet nft_reject_inet br_netfilter"

# Decompress once, then index the whole tree so --show-depends can resolve the closure.
if [ ! -f "$kdir/.depmod" ]; then
  find "$kdir/lib/modules" -name '*.ko.xz' -exec xz -d -f {} +
  depmod -b "$kdir" "$krel"
  touch "$kdir/.depmod"
fi

stage=$(mktemp -d "$out/initrd.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules/"$krel"}
cp "$busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
cp "$here/init2" "$stage/init2"
chmod +x "$stage/init" "$stage/init2"
for m in $MODULES; do
  modprobe -d "$kdir" -S "$krel" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r ko; do
  rel=${ko#"$kdir"/}
  mkdir -p "$stage/$(dirname "$rel")"
  cp "$ko" "$stage/$rel"
done
cp "$kdir/lib/modules/$krel/modules.order" "$kdir/lib/modules/$krel/modules.builtin" \
  "$kdir/lib/modules/$krel/modules.builtin.modinfo" \
  "$stage/lib/modules/$krel/" 2>/dev/null || true
depmod -b "$stage" "$krel"
echo "$MODULES" | tr -s ' \n' ' ' >"$stage/modules"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd-$series.cpio.gz"
echo "$out/initrd-$series.cpio.gz"
