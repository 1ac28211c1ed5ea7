# Runs the extended-attribute probe (tests/ref/xattr.c) on the ext2 disk the harness
# attaches (mounted at /mnt), and on tmpfs.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt
mount -t ext2 /dev/vda /mnt; echo "mount $?"
mount -t tmpfs tmpfs /tmp 2>/dev/null
/bin/xattr /mnt
echo "exit $?"
umount /mnt; echo "umount $?"
echo '==== SCRIPT END ===='
