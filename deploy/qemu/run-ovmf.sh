#!/bin/sh
# Boots the bzImage under OVMF (UEFI), through the Linux boot protocol's 64-bit EFI handover:
# the path TDVF and SEV OVMF take on confidential-computing hosts.
#   run-ovmf.sh BZIMAGE [extra qemu args...]
# Environment: MEM (default 512M), CMDLINE (default "console=ttyS0", plus "ip=dhcp" with
#              NET=user), INITRD, OVMF (firmware image); DISK, DISK_RO, IOMMU, NET, HOSTFWD
#              (devices.sh).
set -eu
bz=$1
shift
default_cmdline=console=ttyS0
[ "${NET:-none}" = user ] && default_cmdline="$default_cmdline ip=dhcp"
ovmf=${OVMF:-/usr/share/ovmf/OVMF.fd}
set -- -machine q35 -cpu max -m "${MEM:-512M}" -accel tcg -nographic -no-reboot \
    -bios "$ovmf" -serial mon:stdio -net none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$bz" -append "${CMDLINE:-$default_cmdline}" ${INITRD:+-initrd "$INITRD"} "$@"
. "$(dirname "$0")/devices.sh"
status=0
qemu-system-x86_64 "$@" || status=$?
case $status in
    33) exit 0 ;;
    35) echo "run-ovmf: the kernel reported failure" >&2; exit 1 ;;
    *) echo "run-ovmf: qemu exited with status $status" >&2; exit "$status" ;;
esac
