#!/bin/busybox sh
# The benchmark image's script, run by /init (which has already printed the boot marker).
# With benchmode=mem on the kernel command line (passed to init's environment) it only proves
# that a busybox shell script runs, for the minimum-memory bisection; with benchmode=fio it runs
# the storage rows instead (/fio.sh).
/bin/busybox mkdir -p /proc /sys /tmp /dev
/bin/busybox mount -t proc proc /proc 2>/dev/null
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
[ -e /dev/null ] || /bin/busybox mknod /dev/null c 1 3
[ -e /dev/zero ] || /bin/busybox mknod /dev/zero c 1 5
if [ "$benchmode" = mem ]; then
    echo BENCH-SCRIPT-OK
    /bin/busybox poweroff -f
fi
if [ "$benchmode" = fio ]; then
    exec /bin/busybox sh /fio.sh
fi
/bin/busybox ip link set lo up 2>/dev/null || /bin/busybox ifconfig lo 127.0.0.1 up 2>/dev/null
echo BENCH-START
/bin/lmb
echo BENCH-DONE
/bin/busybox poweroff -f
