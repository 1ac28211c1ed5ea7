#!/bin/sh
# Boots the kernel ELF through PVH under SeaBIOS: the fast development loop.
#   run-pvh.sh KERNEL_ELF [extra qemu args...]
# Environment: MEM (default 512M), CMDLINE (default "console=ttyS0", plus "ip=dhcp" with
#              NET=user), INITRD (optional), MACHINE (default q35); DISK, DISK_RO, IOMMU,
#              NET, HOSTFWD (devices.sh).
# The kernel leaves through isa-debug-exit: status 33 means success, 35 failure.
set -eu
elf=$1
shift
default_cmdline=console=ttyS0
[ "${NET:-none}" = user ] && default_cmdline="$default_cmdline ip=dhcp"
set -- -machine "${MACHINE:-q35}" -cpu max -m "${MEM:-512M}" -accel tcg -nographic -no-reboot \
    -serial mon:stdio -net none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$elf" -append "${CMDLINE:-$default_cmdline}" ${INITRD:+-initrd "$INITRD"} "$@"
. "$(dirname "$0")/devices.sh"
status=0
qemu-system-x86_64 "$@" || status=$?
case $status in
    33) exit 0 ;;
    35) echo "run-pvh: the kernel reported failure" >&2; exit 1 ;;
    *) echo "run-pvh: qemu exited with status $status" >&2; exit "$status" ;;
esac
