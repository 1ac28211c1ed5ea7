#!/bin/busybox sh
# The storage rows of the benchmark image (benchmode=fio): Debian's fio on an ext2 disk.
#
# The host attaches two disks: /dev/vda, a fresh empty ext2 filesystem (4 KiB blocks) for this
# boot alone, mounted at /mnt; /dev/vdb, read-only, holding fio and the libraries it loads
# (tests/bench/fetch-fio.sh), mounted at /opt/fio. Under Linux the virtio modules are loaded
# from /lib/ref-modules first (Debian's cloud kernel builds virtio_blk as a module).
#
# Each row is one fio job (psync: pread/pwrite, one job, queue depth 1) on a 256 MiB file, run
# after /mnt is unmounted and mounted again so that it starts with nothing of the file cached.
# Writes end with fsync (end_fsync=1), so buffered writes are counted until they reach the
# disk. Random rows do a fixed number of I/Os at seeded random offsets over the whole file.
# After the fio rows, lmbench's file rows run on the same disk (`/bin/lmb files`, rows named
# `*_ext2`). Each fio row prints one line: `BENCH-FIO name=NAME status=S {fio's JSON on one line}`, or
# `BENCH-FAIL name=NAME what=fio status=S ...` with fio's stderr if it wrote no JSON; fio's
# stderr on success is printed as `BENCH-FIO-STDERR name=NAME ...`.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
/bin/busybox --install -s 2>/dev/null

size=${fiosize:-256M}
random_io=${fiorandom:-16M}

for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt /opt/fio /tmp
echo BENCH-START
if ! mount -t ext2 -o ro /dev/vdb /opt/fio 2>/tmp/mount.err; then
    echo "BENCH-FAIL name=fio what=mount-fio-disk $(tr '\n' ' ' < /tmp/mount.err)"
elif ! mount -t ext2 /dev/vda /mnt 2>/tmp/mount.err; then
    echo "BENCH-FAIL name=fio what=mount-test-disk $(tr '\n' ' ' < /tmp/mount.err)"
else
    fio() {
        /opt/fio/lib/ld-linux-x86-64.so.2 --library-path /opt/fio/lib /opt/fio/bin/fio "$@"
    }
    # row NAME FILE RW BS DIRECT [more fio options]
    row() {
        name=$1 file=$2 rw=$3 bs=$4 direct=$5
        shift 5
        cd /
        if ! umount /mnt 2>/tmp/mount.err || ! mount -t ext2 /dev/vda /mnt 2>>/tmp/mount.err; then
            echo "BENCH-FAIL name=$name what=remount $(tr '\n' ' ' < /tmp/mount.err)"
            return
        fi
        rm -f /tmp/fio.json /tmp/fio.err
        fio --name="$name" --filename="/mnt/$file" --ioengine=psync --rw="$rw" --bs="$bs" \
            --direct="$direct" --size="$size" --numjobs=1 --iodepth=1 --fallocate=none \
            --randrepeat=1 --clocksource=clock_gettime --gtod_reduce=1 --disk_util=0 \
            --runtime=120 --eta=never --output-format=json --output=/tmp/fio.json "$@" 2>/tmp/fio.err
        status=$?
        if [ -s /tmp/fio.json ]; then
            echo "BENCH-FIO name=$name status=$status $(tr -d '\n' < /tmp/fio.json)"
            [ -s /tmp/fio.err ] && echo "BENCH-FIO-STDERR name=$name $(head -c 400 /tmp/fio.err | tr '\n' ' ')"
        else
            echo "BENCH-FAIL name=$name what=fio status=$status $(head -c 400 /tmp/fio.err | tr '\n' ' ')"
        fi
    }
    for mode in direct buffered; do
        direct=0
        [ $mode = direct ] && direct=1
        file=fio-$mode.dat
        rm -f "/mnt/$file"
        row fio_seq_write_1m_$mode "$file" write 1M $direct --end_fsync=1
        row fio_seq_read_1m_$mode "$file" read 1M $direct
        row fio_rand_read_4k_$mode "$file" randread 4k $direct --io_size="$random_io"
        row fio_rand_write_4k_$mode "$file" randwrite 4k $direct --io_size="$random_io" --end_fsync=1
        rm -f "/mnt/$file"
    done
    # lmbench's file rows (tests/bench/sys.c and mem.c) on the ext2 disk, named *_ext2.
    cd /
    if umount /mnt 2>/tmp/mount.err && mount -t ext2 /dev/vda /mnt 2>>/tmp/mount.err; then
        LMB_DIR=/mnt LMB_SUFFIX=_ext2 /bin/lmb files
    else
        echo "BENCH-FAIL name=lmb_files_ext2 what=remount $(tr '\n' ' ' < /tmp/mount.err)"
    fi
    cd /
    umount /mnt
    umount /opt/fio
fi
echo BENCH-DONE
/bin/busybox poweroff -f
