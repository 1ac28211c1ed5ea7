# Runs the inotify probe's event sections (tests/ref/inotify.c) on the ext2 disk the harness
# attaches (mounted at /mnt), then unmounts it under Debian's inotifywait (IN_UNMOUNT).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt
mount -t ext2 /dev/vda /mnt; echo "mount $?"
/bin/inotify /mnt/in
echo "exit $?"

# Waits (at most 10 s) until file $1 holds a line matching $2.
wait_for() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
touch /mnt/watched
inotifywait -e unmount /mnt/watched >/tmp/unmount.log 2>/tmp/unmount.err &
waiter=$!
wait_for /tmp/unmount.err established
umount /mnt; echo "umount $?"
wait $waiter
echo "inotifywait exit $?"
cat /tmp/unmount.err /tmp/unmount.log
echo '==== SCRIPT END ===='
