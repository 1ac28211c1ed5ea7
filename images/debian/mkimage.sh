#!/bin/sh
# Builds the Debian guest image: debootstrap --variant=minbase bookworm plus ./packages,
# cached under target/debian/ and rebuilt only when the package list changes, packed with
# ./init as a gzip'd cpio initramfs, or (OUT ending in .img) as an ext2 root disk to boot
# with root=/dev/vda init=/init.
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
# Leave out package caches, documentation and translations (an initramfs lives in guest RAM).
pruned="./var/cache/apt ./var/lib/apt/lists ./usr/share/doc ./usr/share/man ./usr/share/locale ./usr/share/info"
case $out in
*.img)
    # An ext2 disk (4 KiB blocks) made by mke2fs from a hard-linked copy of the tree without
    # the pruned directories, with room to spare; same inputs, same bytes.
    stage=$cache/disk-stage
    rm -rf "$stage"
    cp -al "$rootfs" "$stage"
    for p in $pruned; do rm -rf "${stage:?}/$p"; done
    rm -f "$stage/.cocoon-packages"
    size=$(( $(du -sm "$stage" | cut -f1) * 3 / 2 + 256 ))M
    E2FSPROGS_FAKE_TIME=1700000000 /usr/sbin/mke2fs -q -t ext2 -b 4096 \
        -U c0c0a000-0000-4000-8000-00000000deb1 -E root_owner=0:0 -d "$stage" -F "$out.tmp" "$size"
    rm -rf "$stage"
    ;;
*)
    prune_args=""
    for p in $pruned; do prune_args="$prune_args -o -path $p"; done
    (cd "$rootfs" && find . -xdev \( -path ./nonexistent $prune_args \) -prune -o -print |
        LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 -n) > "$out.tmp"
    ;;
esac
mv "$out.tmp" "$out"
if [ -n "$extra" ]; then
    (cd "$rootfs" && xargs rm -f < "$cache/extra-files")
fi
