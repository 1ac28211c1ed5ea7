#!/bin/sh
# Boots what `images build --out DIR` made: DIR/rootfs.ext2 as a read-only disk (the kernel
# checks every block against the hash tree after the filesystem, whose root hash is in
# DIR/cmdline) and DIR/cmdline, as a plain VM, a TDX guest or an SNP guest.
#   run-image.sh DIR [plain|tdx|snp] [extra qemu args...]
# Environment: KERNEL (default DIR/kernel, as `images build --kernel` copied it: the PVH ELF
#              for plain, the bzImage for tdx and snp), MEM, NET, HOSTFWD (devices.sh), and
#              TDVF or SNP_OVMF, CBITPOS, CPU for run-tdx.sh and run-snp.sh.
# plain runs here (QEMU TCG); tdx and snp are NOT RUN HERE (no TDX or SNP hardware, no KVM):
# they hand over to run-tdx.sh and run-snp.sh, which say what the host needs. Under SNP the
# firmware measures the command line with the kernel (kernel-hashes=on), so the launch
# digest covers the root hash, and through it every byte of the disk.
set -eu
dir=${1:?usage: run-image.sh DIR [plain|tdx|snp] [qemu args...]}
mode=${2:-plain}
[ $# -ge 2 ] && shift 2 || shift 1
for f in rootfs.ext2 cmdline; do
    [ -r "$dir/$f" ] || { echo "run-image: no $dir/$f (run images build --out $dir first)" >&2; exit 2; }
done
kernel=${KERNEL:-$dir/kernel}
[ -r "$kernel" ] || { echo "run-image: no kernel at $kernel (images build --kernel, or KERNEL=)" >&2; exit 2; }
DISK=$dir/rootfs.ext2
DISK_RO=1
CMDLINE=$(cat "$dir/cmdline")
export DISK DISK_RO CMDLINE
here=$(dirname "$0")
case $mode in
    plain) MEM=${MEM:-1G} exec "$here/run-pvh.sh" "$kernel" "$@" ;;
    tdx) exec "$here/run-tdx.sh" "$kernel" "$@" ;;
    snp) exec "$here/run-snp.sh" "$kernel" "$@" ;;
    *) echo "run-image: mode must be plain, tdx or snp, not $mode" >&2; exit 2 ;;
esac
