#!/usr/bin/env bash
# fetch.sh: download Debian 12's cloud kernels and unpack them under build/vm/, no install.
#
# Usage: vm/fetch.sh SERIES...   (SERIES: 6.1 or 6.12)
# For each series, resolves the current package name from its meta-package
# (linux-image-cloud-amd64 for 6.1, linux-image-6.12-cloud-amd64 for 6.12), `apt-get
# download`s it once into build/vm/debs/ and `dpkg -x`es it into build/vm/k/SERIES/.
# Prints "SERIES KERNEL-RELEASE" per series.  Idempotent: a series already unpacked at the
# current version is not fetched again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${VM_OUT:-$here/../build/vm}
mkdir -p "$out/debs" "$out/k"

meta_of() {
  case $1 in
  6.1) echo linux-image-cloud-amd64 ;;
  6.12) echo linux-image-6.12-cloud-amd64 ;;
  *) echo "fetch: unknown kernel series $1" >&2; return 1 ;;
  esac
}

for series in "$@"; do
  meta=$(meta_of "$series")
  pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-/ {print $2; exit}')
  [ -n "$pkg" ] || { echo "fetch: cannot resolve $meta (apt-get update?)" >&2; exit 1; }
  dest="$out/k/$series"
  if [ ! -f "$dest/.pkg" ] || [ "$(cat "$dest/.pkg")" != "$pkg" ]; then
    deb=$(ls "$out/debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
      (cd "$out/debs" && apt-get download -q "$pkg" >&2)
      deb=$(ls "$out/debs/${pkg}_"*.deb | head -1)
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    dpkg -x "$deb" "$dest"
    echo "$pkg" >"$dest/.pkg"
  fi
  krel=$(ls "$dest/lib/modules" | head -1)
  echo "$series $krel"
done
