# Runs the block-device probe (tests/ref/vdisk.c) on a virtio disk the harness attaches:
# 8 MiB, sector k starting with k as a little-endian u64. Linux needs its virtio modules,
# which the harness puts in /lib/ref-modules; on our kernel insmod fails and the disk is there.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ls -l /dev/vda | cut -c1-10
dd if=/dev/vda bs=4096 skip=100 count=4 2>/dev/null | sha256sum
/bin/vdisk
echo "exit $?"
dd if=/dev/vda bs=512 count=2048 2>/dev/null | sha256sum
echo '==== SCRIPT END ===='
