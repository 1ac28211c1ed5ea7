#!/bin/sh
# Boots the bzImage as an AMD SEV-SNP guest under KVM, with the kernel, initrd and command
# line measured into the launch digest (kernel-hashes=on), so that a verifier can predict it.
# NOT RUN HERE: this machine has no SNP hardware and no KVM (every boot here is QEMU TCG);
# the script follows QEMU's SEV documentation (docs/system/i386/amd-memory-encryption.rst)
# for QEMU >= 9.1.
#   run-snp.sh BZIMAGE [extra qemu args...]
# Environment: MEM (default 2G), CMDLINE (default "console=ttyS0"), INITRD, SNP_OVMF (AMD's
#              SEV OVMF built from OvmfPkg/AmdSev/AmdSevX64.dsc, which checks the kernel
#              hashes), CBITPOS (default 51), CPU (default EPYC-v4); DISK, DISK_RO, NET,
#              HOSTFWD (devices.sh).
# Host: an SEV-SNP-enabled host kernel and firmware (EPYC 7003 or later). In the cloud:
# Azure DCasv5/ECasv5, GCP N2D confidential VMs with SEV-SNP (the cloud boots its own
# firmware there).
#
# OSTD's SNP paths (ostd/src/tee/snp: C-bit, GHCB, CPUID page, #VC, PVALIDATE, page-state
# change, guest requests) are written to AMD's GHCB and SNP firmware ABI specifications on
# the host-tested logic of ostd/tee-abi/src/snp, and have never run. One vCPU: the kernel has
# one GHCB. A failure before the console ends the guest with a GHCB termination request
# (reason set 1, codes in ostd/src/tee/snp/mod.rs `fatal`), which KVM reports on the host.
set -eu
bz=$1
shift
ovmf=${SNP_OVMF:-/usr/share/ovmf/OVMF.amdsev.fd}
[ -r "$ovmf" ] || { echo "run-snp: no SEV OVMF at $ovmf (set SNP_OVMF=...)" >&2; exit 2; }
mem=${MEM:-2G}
set -- -accel kvm -cpu "${CPU:-EPYC-v4}" -smp 1 -m "$mem" -nographic -no-reboot \
    -machine q35,confidential-guest-support=sev0,memory-backend=ram0 \
    -object "memory-backend-memfd,id=ram0,size=$mem,share=true,prealloc=false" \
    -object "sev-snp-guest,id=sev0,cbitpos=${CBITPOS:-51},reduced-phys-bits=1,kernel-hashes=on" \
    -bios "$ovmf" -serial mon:stdio -net none \
    -kernel "$bz" -append "${CMDLINE:-console=ttyS0}" ${INITRD:+-initrd "$INITRD"} "$@"
CONFIDENTIAL=1
. "$(dirname "$0")/devices.sh"
exec qemu-system-x86_64 "$@"
