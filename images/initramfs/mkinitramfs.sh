#!/bin/sh
# Builds the default initramfs (Debian's static busybox and images/initramfs/init) as a
# gzip'd cpio newc archive.
#   mkinitramfs.sh OUT
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/sbin" "$work/usr/bin" "$work/usr/sbin" "$work/dev" "$work/proc" "$work/sys" "$work/tmp" "$work/etc"
cp /bin/busybox "$work/bin/busybox"
cp "$here/init" "$work/init"
chmod 755 "$work/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$work/etc/passwd"
printf 'root:x:0:\n' > "$work/etc/group"
mkdir -p "$(dirname "$out")"
(cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n) > "$out.tmp"
mv "$out.tmp" "$out"
