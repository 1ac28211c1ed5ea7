#!/bin/sh
# Builds the benchmark initramfs (gzip'd cpio newc) of static binaries and prints its path.
#
# Usage: mkimage.sh OUT_DIR [VMLINUZ]
# Contents: /init (static C: boot marker, then the script), /bench.sh, /fio.sh (the storage
# rows, run with benchmode=fio), /bin/lmb (the microbenchmarks), /bin/hello, and Debian's
# static busybox with its applets as symlinks. Given the vmlinuz of an unpacked Linux package
# (fetch-linux.sh), its virtio-blk modules go to /lib/ref-modules for fio.sh to insmod under
# Linux (the same list as tests::reference::VIRTIO_BLK_MODULES). fio itself is not in the
# image: it comes on a disk (fetch-fio.sh).
set -eu

out=${1:?usage: mkimage.sh OUT_DIR [VMLINUZ]}
vmlinuz=${2:-}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
root="$out/root"
rm -rf "$root"
mkdir -p "$root/bin" "$root/sbin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/usr/bin" "$root/usr/sbin"

CC=${CC:-musl-gcc}
CFLAGS="-static -O2 -Wall -Wextra -Werror"
$CC $CFLAGS -o "$root/init" "$src/init.c"
$CC $CFLAGS -o "$root/bin/hello" "$src/hello.c"
$CC $CFLAGS -o "$root/bin/lmb" "$src/main.c" "$src/sys.c" "$src/proc.c" "$src/mem.c" "$src/sock.c"
cp "$src/bench.sh" "$root/bench.sh"
cp "$src/fio.sh" "$root/fio.sh"
chmod 755 "$root/bench.sh" "$root/fio.sh"
if [ -n "$vmlinuz" ]; then
    version=${vmlinuz##*/vmlinuz-}
    kernel=$(dirname "$(dirname "$vmlinuz")")/lib/modules/$version/kernel
    mkdir -p "$root/lib/ref-modules"
    for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_modern_dev \
        virtio/virtio_pci_legacy_dev virtio/virtio_pci block/virtio_blk; do
        cp "$kernel/drivers/$m.ko" "$root/lib/ref-modules/"
    done
fi

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$out/bench.cpio.gz"
echo "$out/bench.cpio.gz"
