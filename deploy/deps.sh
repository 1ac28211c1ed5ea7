#!/bin/sh
# Installs (or names) the host packages the build, `make run` and `make test` need.
#
# On a fresh Debian machine, run as root, it installs what is missing with apt-get.
# Run as another user, it prints the exact apt-get line to run and exits non-zero.
set -eu

# command-or-file : Debian package that provides it
NEEDS="
qemu-system-x86_64:qemu-system-x86
/usr/share/ovmf/OVMF.fd:ovmf
/bin/busybox:busybox-static
cpio:cpio
objcopy:binutils
mke2fs:e2fsprogs
veritysetup:cryptsetup-bin
musl-gcc:musl-tools
/usr/include/linux/sev-guest.h:linux-libc-dev
debootstrap:debootstrap
/usr/sbin/ip:iproute2
/usr/sbin/sysctl:procps
redis-benchmark:redis-tools
iperf3:iperf3
inotifywait:inotify-tools
/usr/bin/strace:strace
/usr/bin/gdb:gdb
/sbin/losetup:mount
/usr/bin/unshare:util-linux
/usr/bin/nsenter:util-linux
"

missing=""
for entry in $NEEDS; do
    what=${entry%%:*}
    pkg=${entry#*:}
    case "$what" in
        /*) [ -e "$what" ] && continue ;;
        *) command -v "$what" >/dev/null 2>&1 && continue ;;
    esac
    case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done

# python3 with venv and ensurepip (the Kubernetes-manifest check installs its validator from
# PyPI into a virtualenv): Debian splits them into python3-venv.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing="$missing python3-venv"
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: install them with: sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
