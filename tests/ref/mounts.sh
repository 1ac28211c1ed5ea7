# Runs the mount probe (tests/ref/mounts.c), then makes an ext2 image on a tmpfs with Debian's
# mke2fs, attaches it with Debian's losetup, mounts it, writes, unmounts and detaches it, and
# mounts it again with busybox's mount -o loop (which detaches itself at umount). Linux gets
# its loop module, which the harness puts in /lib/ref-modules; our kernel has loop built in.
[ -e /lib/ref-modules/loop.ko ] && insmod /lib/ref-modules/loop.ko 2>/dev/null
i=0
while { [ ! -b /dev/loop0 ] || [ ! -c /dev/loop-control ]; } && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
mkdir -p /mnt
# Linux reports refused mount options on the console; only the errno is compared.
{ echo 1 > /proc/sys/kernel/printk; } 2>/dev/null
/bin/mounts
echo "exit $?"
mkdir -p /mnt/img /mnt/e
mount -t tmpfs -o size=8m img /mnt/img
dd if=/dev/zero of=/mnt/img/disk.img bs=1024 count=4096 2>/dev/null
/sbin/mke2fs -q -F -t ext2 -b 1024 -E nodiscard /mnt/img/disk.img 4096
echo "mke2fs: $?"
dev=$(/sbin/losetup -f --show /mnt/img/disk.img)
echo "losetup -f --show: $? $dev"
mount -t ext2 "$dev" /mnt/e
echo "mount: $?"
grep " /mnt/e " /proc/mounts
echo hello > /mnt/e/hello
mkdir /mnt/e/dir
seq 1 2000 > /mnt/e/dir/numbers
ls /mnt/e
umount /mnt/img
echo "umount of the image's tmpfs while attached: $?"
umount /mnt/e
echo "umount: $?"
/sbin/losetup -d "$dev"
echo "losetup -d: $?"
/sbin/losetup -d "$dev" 2>&1
echo "losetup -d again: $?"
mount -o loop -t ext2 /mnt/img/disk.img /mnt/e
echo "mount -o loop: $?"
grep " /mnt/e " /proc/mounts
cat /mnt/e/hello
md5sum < /mnt/e/dir/numbers
cd /mnt/e && echo data > f && mkdir d full && echo x > full/x && ln -s f l && mknod null c 1 3
cd /
exec 3>> /mnt/e/hello
# (The remount fails with EBUSY on both; busybox then tries a mount.ext2 helper, and its
# exit status is 255 on Linux, 111 here: its spawn() learns of the helper's failed exec
# through memory a vfork child shares with its parent, which our vfork does not share.
# Only the message is compared.)
mount -o remount,ro /mnt/e 2>&1 || echo "remount ro while open for writing: failed"
exec 3>&-
mount -o remount,ro /mnt/e
echo "remount ro: $?"
grep " /mnt/e " /proc/mounts
/bin/mounts erofs /mnt/e
mount -o remount,rw /mnt/e
echo "remount rw: $?"
rm -r /mnt/e/f /mnt/e/d /mnt/e/full /mnt/e/l /mnt/e/null
echo more >> /mnt/e/hello
umount /mnt/e
echo "umount: $?"
/sbin/losetup /dev/loop0 > /dev/null 2>&1
echo "loop0 after umount (autoclear): $?"
mount -o loop,ro -t ext2 /mnt/img/disk.img /mnt/e
echo "mount -o loop,ro: $?"
grep " /mnt/e " /proc/mounts
cat /mnt/e/hello
umount /mnt/e
umount /mnt/img
echo "umount image tmpfs: $?"
# A large image on a tmpfs: the default limit is half of RAM (less than 300 MB in this 512 MB
# guest, on Linux as here), a size= option lets it past.
mkdir -p /mnt/big
mount -t tmpfs big /mnt/big
dd if=/dev/zero of=/mnt/big/img bs=1M count=300 2>&1 | grep -o "No space left on device"
size=$(stat -c %s /mnt/big/img)
[ "$size" -gt 200000000 ] && [ "$size" -lt 300000000 ] && echo "default tmpfs: more than 200 MB"
rm /mnt/big/img
umount /mnt/big
mount -t tmpfs -o size=400m big /mnt/big
dd if=/dev/zero of=/mnt/big/img bs=1M count=300 2>/dev/null
echo "dd 300 MB into size=400m: $?"
stat -c %s /mnt/big/img
rm /mnt/big/img
umount /mnt/big
echo "umount big: $?"
echo '==== SCRIPT END ===='
