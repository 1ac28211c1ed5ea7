# The ext2 workload: mounts the disk the harness attaches (an mke2fs image with 1 KiB
# blocks, from ext2_disk::write_source_tree), reads what the host wrote, then creates,
# appends, renames, links, truncates, writes sparse and large files (through triple-indirect
# blocks), removes, syncs and unmounts; the page-cache probe (pagecache.c) runs in /tmp and
# on the disk. The harness then runs e2fsck -fn on the image and
# compares the tree it reads with debugfs against Linux's run on an identical image.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt
mount -t ext2 /dev/vda /mnt; echo "mount $?"
/bin/pagecache /tmp /mnt
mkdir -p /again; mount -t ext2 /dev/vda /again; echo "mounted twice: $?"
cat /again/hello.txt; umount /again; echo "umount one of two: $?"
grep ' /mnt ' /proc/mounts | cut -d' ' -f1-3
cd /mnt || exit 1
echo "== what the host wrote"
ls -a | tr '\n' ' '; echo
stat -c '%n %A %u:%g %s %Y' hello.txt docs/readme link
cat hello.txt docs/readme docs/deep/er/still
readlink link; cat link
stat -c '%n %h %s %b %f' hello.txt hello.hard empty big.bin emptydir many
sha256sum big.bin
ls many | wc -l; cat many/entry-299
stat -f -c 'type %t bsize %S blocks %b free %f files %c ffree %d' .
echo "== create, append, rename, link"
echo first > new.txt; echo second >> new.txt; cat new.txt
mkdir -p d1/d2; mv new.txt d1/d2/moved.txt; ls d1/d2; cat d1/d2/moved.txt
ln d1/d2/moved.txt hard; ln -s d1/d2/moved.txt soft; readlink soft; cat soft
stat -c '%n %h %s' hard d1 d1/d2
mv d1/d2 top; ls top; stat -c '%n %h' d1 top; cat top/../hard
mv hello.txt docs/readme 2>&1; cat docs/readme
mkdir nonempty; touch nonempty/x; mv top nonempty 2>/dev/null; echo "mv onto non-empty dir: $?"
rmdir nonempty 2>/dev/null; echo "rmdir non-empty: $?"
echo "== truncate and sparse"
cp big.bin cut.bin; truncate -s 1000000 cut.bin; sha256sum cut.bin; stat -c '%s %b' cut.bin
truncate -s 5000000 cut.bin; stat -c '%s %b' cut.bin; tail -c 100 cut.bin | od -An -tx1 | sort -u
dd if=/dev/zero of=sparse bs=1 count=1 seek=100000000 conv=notrunc 2>/dev/null
stat -c '%s %b' sparse; dd if=sparse bs=4096 skip=1000 count=1 2>/dev/null | od -An -tx1 | sort -u
echo tail >> sparse; tail -c 6 sparse
echo "== large (through triple-indirect blocks)"
yes 'cocoon writes a large file through the page cache ' | head -c 209715200 > large
stat -c '%s %b' large; sha256sum large
echo "== deep directories: .. and the working directory's path"
mkdir -p deep/a/b/c; cd deep/a/b/c; pwd; cd ..; pwd; cd ../../..; pwd; cd /mnt
echo "== open and unlinked"
echo "still here" > gone; exec 3< gone; rm gone; ls gone 2>/dev/null; echo "ls gone: $?"; cat <&3; exec 3<&-
echo "== remove"
rm -r many; rm hard empty; rmdir emptydir; ls | tr '\n' ' '; echo
stat -f -c 'type %t bsize %S blocks %b free %f files %c ffree %d' .
sync; echo "sync $?"
cd /
umount /mnt; echo "umount $?"
mount -t ext2 -o ro /dev/vda /mnt; echo "mount ro $?"
touch /mnt/nope 2>/dev/null; echo "touch on ro: $?"
echo x > /mnt/hello.hard 2>/dev/null; echo "write on ro: $?"
cat /mnt/soft; sha256sum /mnt/large | cut -c1-16
umount /mnt; echo "umount $?"
echo '==== SCRIPT END ===='
