#!/bin/sh
# Builds the Debian guest image: debootstrap --variant=minbase bookworm plus ./packages,
# cached under target/debian/ and rebuilt only when the package list changes, packed with
# ./init as a gzip'd cpio initramfs.
#   mkimage.sh OUT [EXTRA_DIR]
# EXTRA_DIR's files are added to this image only (tests put their scripts and an rdinit there).
set -eu
out=$1
extra=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
cache=$here/../../target/debian
mkdir -p "$cache" "$(dirname "$out")"
rootfs=$cache/rootfs
packages=$(grep -v '^#' "$here/packages" | tr '\n' ',' | sed 's/,$//')
stamp="bookworm minbase $packages"
if [ ! -f "$rootfs/.cocoon-packages" ] || [ "$(cat "$rootfs/.cocoon-packages")" != "$stamp" ]; then
    command -v debootstrap >/dev/null || { echo "mkimage: install debootstrap (apt-get install debootstrap)" >&2; exit 1; }
    rm -rf "$rootfs.tmp"
    echo "mkimage: debootstrap --variant=minbase --include=$packages bookworm (once)" >&2
    debootstrap --variant=minbase --include="$packages" bookworm "$rootfs.tmp" >&2
    rm -rf "$rootfs"
    mv "$rootfs.tmp" "$rootfs"
    echo "$stamp" > "$rootfs/.cocoon-packages"
fi
cp "$here/init" "$rootfs/init"
chmod 755 "$rootfs/init"
if [ -n "$extra" ]; then
    (cd "$extra" && find . -type f) > "$cache/extra-files"
    cp -a "$extra"/. "$rootfs"/
fi
[ -s "$rootfs/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "$rootfs/etc/hosts"
# The image lives in guest RAM: leave out package caches, documentation and translations.
(cd "$rootfs" && find . -xdev \( -path ./var/cache/apt -o -path ./var/lib/apt/lists -o -path ./usr/share/doc \
    -o -path ./usr/share/man -o -path ./usr/share/locale -o -path ./usr/share/info \) -prune -o -print |
    LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 -n) > "$out.tmp"
mv "$out.tmp" "$out"
if [ -n "$extra" ]; then
    (cd "$rootfs" && xargs rm -f < "$cache/extra-files")
fi
