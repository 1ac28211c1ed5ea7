#!/bin/sh
# Builds the benchmark initramfs (gzip'd cpio newc) of static binaries and prints its path.
#
# Usage: mkimage.sh OUT_DIR
# Contents: /init (static C: boot marker, then the script), /bench.sh, /bin/lmb (the
# microbenchmarks), /bin/hello, and Debian's static busybox with its applets as symlinks.
set -eu

out=${1:?usage: mkimage.sh OUT_DIR}
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
chmod 755 "$root/bench.sh"

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$out/bench.cpio.gz"
echo "$out/bench.cpio.gz"
