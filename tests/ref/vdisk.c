/*
 * A virtio disk (/dev/vda, 8 MiB, sector k starting with k as a little-endian u64) against
 * Linux 6.1: stat, the BLK* ioctls, lseek's limits, reads and writes across sector boundaries
 * and at the end of the disk, and the errors of each.
 */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "probe.h"

/* <linux/fs.h>, which musl does not ship. */
#define BLKROGET _IO(0x12, 94)
#define BLKGETSIZE _IO(0x12, 96)
#define BLKFLSBUF _IO(0x12, 97)
#define BLKSSZGET _IO(0x12, 104)
#define BLKPBSZGET _IO(0x12, 123)
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)

#define DISK (8L * 1024 * 1024)

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

int main(void) {
	struct stat st;
	int r = stat("/dev/vda", &st);
	printf("stat: %s blk=%d major=%u minor=%u size=%ld mode=%o\n", err(r), S_ISBLK(st.st_mode),
	       major(st.st_rdev), minor(st.st_rdev), (long)st.st_size, st.st_mode & 07777);
	int fd = open("/dev/vda", O_RDWR);
	printf("open: %s\n", err(fd));
	uint64_t size = 0; unsigned long sectors = 0; int ssz = 0, pbsz = 0, ro = -1;
	printf("BLKGETSIZE64: %s %llu\n", err(ioctl(fd, BLKGETSIZE64, &size)), (unsigned long long)size);
	printf("BLKGETSIZE: %s %lu\n", err(ioctl(fd, BLKGETSIZE, &sectors)), sectors);
	printf("BLKSSZGET: %s %d\n", err(ioctl(fd, BLKSSZGET, &ssz)), ssz);
	printf("BLKPBSZGET: %s %d\n", err(ioctl(fd, BLKPBSZGET, &pbsz)), pbsz);
	printf("BLKROGET: %s %d\n", err(ioctl(fd, BLKROGET, &ro)), ro);
	printf("unknown ioctl: %s\n", err(ioctl(fd, _IO(0x12, 250), 0)));
	printf("seek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
	long s = lseek(fd, 1, SEEK_END);
	printf("seek past end: %ld %s\n", s, err(s));
	s = lseek(fd, -1, SEEK_SET);
	printf("seek negative: %ld %s\n", s, err(s));
	s = lseek(fd, 4096, 4 /* SEEK_HOLE */);
	printf("seek hole: %ld %s\n", s, err(s));
	s = lseek(fd, DISK, 3 /* SEEK_DATA */);
	printf("seek data at end: %ld %s\n", s, err(s));
	unsigned char buf[1024];
	long n = pread(fd, buf, 8, 7 * 512);
	uint64_t k; memcpy(&k, buf, 8);
	printf("sector 7 starts with: %ld %llu\n", n, (unsigned long long)k);
	n = pread(fd, buf, 600, 512 * 3 + 500);
	printf("read across sectors: %ld %u %u %u\n", n, buf[12], buf[13], buf[20]);
	n = pread(fd, buf, sizeof buf, DISK - 100);
	printf("read across the end: %ld\n", n);
	n = pread(fd, buf, sizeof buf, DISK);
	printf("read at the end: %ld %s\n", n, err(n));
	n = pwrite(fd, "hello", 5, 510);
	printf("write across sectors: %ld %s\n", n, err(n));
	memset(buf, 0, sizeof buf);
	n = pread(fd, buf, 16, 504);
	printf("read back: %ld %.5s first=%u\n", n, buf + 6, buf[0]);
	n = pwrite(fd, "xyz", 3, DISK - 2);
	printf("write across the end: %ld %s\n", n, err(n));
	n = pwrite(fd, "x", 1, DISK);
	printf("write at the end: %ld %s\n", n, err(n));
	printf("fsync: %s\n", err(fsync(fd)));
	printf("BLKFLSBUF: %s\n", err(ioctl(fd, BLKFLSBUF, 0)));
	close(fd);
	fd = open("/dev/vda", O_RDONLY);
	n = write(fd, "x", 1);
	printf("write on O_RDONLY: %ld %s\n", n, err(n));
	close(fd);
	return probe_end();
}
