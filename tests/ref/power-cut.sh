# The unclean power-off test (tests/src/power_cut.rs): writes files on the ext2 disk the
# harness attaches, fsyncs them and the directories that name them as a careful program
# would (busybox `sync FILE...` opens each and calls fsync on it), prints FSYNCED and changes
# more without syncing. The harness kills QEMU (SIGKILL) at a marker; e2fsck -fy must then
# leave the fsynced files intact. The names and contents here are power_cut::fsynced_files's;
# nothing in this script may call sync, syncfs or umount.
#
# `power_cut=` on the kernel command line (init's environment under both kernels) says where
# the cut comes: `fsync` kills at FSYNCED, and everything after it stays far below what a
# cache holds, so a disk that lacks the files shows a fsync that did not write them;
# `writeback` first writes more than a cache may hold (a quarter of the 256 MiB guest), so
# unsynced changes reach the disk on their own, then changes more and prints WRITTEN BACK,
# where the harness kills: a half-written disk.
case "$power_cut" in
fsync | writeback) ;;
*) echo "power_cut=$power_cut: expected fsync or writeback"; exit 1 ;;
esac
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt
mount -t ext2 /dev/vda /mnt || exit 1
cd /mnt || exit 1
seq 1 800000 > big.txt
echo 'a small fsynced file' > small.txt
mkdir newdir
echo 'a file in a new directory' > newdir/inner.txt
sync big.txt small.txt newdir/inner.txt newdir . || { echo "fsync failed: $?"; exit 1; }
echo "FSYNCED $(sha256sum big.txt | cut -d' ' -f1)"
# From here on nothing is synced. The metadata the fsynced files share changes: the
# directories' blocks, bitmaps, inode tables.
mv hello.txt newdir/hello-moved
rm -r many
echo 'unsynced' > newdir/unsynced.txt
if [ "$power_cut" = writeback ]; then
    dd if=/dev/zero of=unsynced.bin bs=1M count=96 2>/dev/null
    mv newdir/unsynced.txt unsynced-moved.txt
    mkdir unsynced-dir
    echo 'unsynced' > unsynced-dir/file
    echo "WRITTEN BACK"
fi
for n in $(seq 1 50); do
    seq $n $((n + 2000)) > newdir/unsynced-$n
    mv newdir/unsynced-$n unsynced-$n
done
while true; do sleep 1000; done
