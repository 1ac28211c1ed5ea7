#!/bin/sh
# Boots the bzImage as an Intel TDX guest (a TD) under KVM, with TDVF as its firmware.
# NOT RUN HERE: this machine has no TDX hardware and no KVM (every boot here is QEMU TCG);
# the script follows QEMU's TDX documentation (docs/system/i386/tdx.rst) for QEMU >= 10.1.
#   run-tdx.sh BZIMAGE [extra qemu args...]
# Environment: MEM (default 2G), CMDLINE (default "console=ttyS0"), INITRD, TDVF (the TD
#              firmware: OVMF built with TDX support, e.g. Ubuntu's
#              /usr/share/ovmf/OVMF.inteltdx.fd); DISK, DISK_RO, NET, HOSTFWD (devices.sh).
# Host: a TDX-enabled host kernel and KVM (Intel's or your distribution's TDX host stack),
# Sapphire Rapids or later with TDX enabled in the BIOS. In the cloud: GCP C3 confidential
# VMs with TDX, Azure DCesv5/ECesv5 (the cloud boots its own firmware: there, give the
# bzImage and command line to the provider's confidential-VM image flow instead).
#
# What the guest does under TDX today (ostd/src/tee/tdx): TDG.VP.INFO at boot (the shared
# bit), port I/O through TDG.VP.VMCALL (the console works from the first byte), the #VE
# handler (CPUID, HLT, MSRs, port I/O, MMIO), shared-pool conversion (MapGPA, accept),
# lazy acceptance of unaccepted memory, RTMR extend, TDREPORT and GetQuote.
set -eu
bz=$1
shift
tdvf=${TDVF:-/usr/share/ovmf/OVMF.inteltdx.fd}
[ -r "$tdvf" ] || { echo "run-tdx: no TDVF at $tdvf (set TDVF=...)" >&2; exit 2; }
set -- -accel kvm -cpu host -smp 1 -m "${MEM:-2G}" -nographic -no-reboot \
    -machine q35,kernel-irqchip=split,confidential-guest-support=tdx0 \
    -object tdx-guest,id=tdx0 -bios "$tdvf" -serial mon:stdio -net none \
    -kernel "$bz" -append "${CMDLINE:-console=ttyS0}" ${INITRD:+-initrd "$INITRD"} "$@"
CONFIDENTIAL=1
. "$(dirname "$0")/devices.sh"
exec qemu-system-x86_64 "$@"
