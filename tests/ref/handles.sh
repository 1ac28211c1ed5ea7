# Runs the file-handle probe (tests/ref/handles.c) on a tmpfs it mounts and on the ext2 disk
# the harness attaches (mounted at /mnt): name_to_handle_at, open_by_handle_at, acct.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt
mount -t ext2 /dev/vda /mnt; echo "mount $?"
/bin/handles /mnt
echo "exit $?"
umount /mnt; echo "umount $?"
echo '==== SCRIPT END ===='
