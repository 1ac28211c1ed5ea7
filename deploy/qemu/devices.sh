# Sourced by run-pvh.sh and run-ovmf.sh after they set their arguments: appends the devices
# the environment asks for, with the same flags as tests/src/qemu.rs (`disk_args`).
#   DISK=path      a raw image as a modern virtio-blk disk (the guest's vda)
#   DISK_RO=1      attach it read-only
#   IOMMU=1        QEMU's Intel IOMMU (intremap=off); the disk must then go through it
#   NET=user       a modern virtio-net NIC on QEMU's user networking (slirp: the guest is
#                  10.0.2.15, the host 10.0.2.2, DNS 10.0.2.3); the guest's eth0 with ip=dhcp
#   HOSTFWD="tcp:127.0.0.1:8080-:80 ..."  host ports forwarded to the guest (NET=user)
#   CONFIDENTIAL=1 set by run-tdx.sh and run-snp.sh: devices may reach shared memory only,
#                  so they use the platform's DMA rules (virtio's ACCESS_PLATFORM)
access_platform=
if [ -n "${IOMMU:-}" ]; then
    set -- "$@" -device intel-iommu,intremap=off
    access_platform=,iommu_platform=on
fi
[ -n "${CONFIDENTIAL:-}" ] && access_platform=,iommu_platform=on
if [ -n "${DISK:-}" ]; then
    case $DISK in
        *,*) echo "devices.sh: DISK must not contain a comma: $DISK" >&2; exit 2 ;;
    esac
    set -- "$@" -drive "file=$DISK,if=none,id=disk0,format=raw${DISK_RO:+,readonly=on}" \
        -device "virtio-blk-pci,drive=disk0,disable-legacy=on$access_platform"
fi
case ${NET:-none} in
    none) ;;
    user)
        netdev=user,id=n0
        for rule in ${HOSTFWD:-}; do
            netdev="$netdev,hostfwd=$rule"
        done
        set -- "$@" -netdev "$netdev" \
            -device "virtio-net-pci,netdev=n0,disable-legacy=on$access_platform"
        ;;
    *) echo "devices.sh: NET must be user or none, not $NET" >&2; exit 2 ;;
esac
