/*
 * Shared file mappings against Linux 6.1, in each directory given (tests/ref/ext2.sh runs it
 * in /tmp, which is in memory, and on the ext2 disk): a store through a MAP_SHARED mapping is
 * seen by read(), a write() is seen through the mapping, two mappings of one file and a
 * forked child's mapping see each other, truncation zeroes what it cuts off, msync and
 * munmap leave the data in the file, and exec sees what was written before it. On the disk,
 * O_DIRECT transfers agree with buffered I/O and mappings.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "probe.h"

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

static void probe_dir(const char *dir) {
	char path[256], buf[64];
	printf("== in %s\n", dir);
	snprintf(path, sizeof path, "%s/pagecache.data", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	printf("open: %s\n", err(fd));
	printf("write: %ld\n", (long)write(fd, "hello, page cache", 17));
	printf("ftruncate 3 pages: %s\n", err(ftruncate(fd, 3 * 4096)));
	char *a = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *b = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("mmap twice: %d %d\n", a != MAP_FAILED, b != MAP_FAILED);
	printf("mapping holds: %.17s\n", a);
	memcpy(a + 7, "PAGE", 4);
	memset(buf, 0, sizeof buf);
	printf("pread after a store: %ld %.17s\n", (long)pread(fd, buf, 17, 0), buf);
	printf("the other mapping: %.17s\n", b);
	printf("pwrite: %ld\n", (long)pwrite(fd, "WRITTEN", 7, 4096 + 10));
	printf("mapping after pwrite: %.7s\n", a + 4096 + 10);
	pid_t child = fork();
	if (child == 0) {
		memcpy(b + 2 * 4096, "from the child", 14);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	printf("child's store, through a: %.14s\n", a + 2 * 4096);
	memset(buf, 0, sizeof buf);
	printf("child's store, by pread: %ld %.14s\n", (long)pread(fd, buf, 14, 2 * 4096), buf);
	printf("msync: %s\n", err(msync(a, 3 * 4096, MS_SYNC)));
	/* Cut the file inside the second page: the rest of that page reads as zeros once the
	 * file grows again. */
	printf("ftruncate 4096+12: %s\n", err(ftruncate(fd, 4096 + 12)));
	printf("ftruncate 2 pages: %s\n", err(ftruncate(fd, 2 * 4096)));
	memset(buf, 1, sizeof buf);
	long got = pread(fd, buf, 8, 4096 + 10);
	printf("pread across the cut: %ld %.2s %d %d\n", got, buf, buf[2], buf[7]);
	printf("mapping across the cut: %.2s %d\n", a + 4096 + 10, a[4096 + 14]);
	printf("munmap: %s %s\n", err(munmap(a, 3 * 4096)), err(munmap(b, 3 * 4096)));
	close(fd);
	/* What the mappings wrote is in the file for a new open. */
	fd = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	printf("reopened: %ld %.17s\n", (long)pread(fd, buf, 17, 0), buf);
	struct stat st;
	fstat(fd, &st);
	printf("size: %ld\n", (long)st.st_size);
	/* A shared mapping only read leaves the file's times alone (nothing is written back);
	 * a store made before an mprotect to read-only still reaches the file, which stays on
	 * the disk for the host's comparison of both disks' trees. */
	close(fd);
	fd = open(path, O_RDWR);
	struct stat before, after;
	fstat(fd, &before);
	sleep(1);
	char *r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("read through a shared mapping: %.5s\n", r);
	munmap(r, 4096);
	fstat(fd, &after);
	printf("its mtime: %s\n",
	       before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec
	               ? "unchanged" : "changed");
	close(fd);
	snprintf(path, sizeof path, "%s/pagecache.kept", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ftruncate(fd, 4096);
	r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memcpy(r, "stored, then mprotected", 23);
	printf("mprotect read-only: %s\n", err(mprotect(r, 4096, PROT_READ)));
	printf("munmap: %s\n", err(munmap(r, 4096)));
	memset(buf, 0, sizeof buf);
	printf("pread: %ld %.23s\n", (long)pread(fd, buf, 23, 0), buf);
	close(fd);
	snprintf(path, sizeof path, "%s/pagecache.data", dir);
	fd = open(path, O_RDONLY);
	/* A private mapping's stores stay private. */
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	p[0] = 'X';
	memset(buf, 0, sizeof buf);
	printf("private store, pread: %ld %.5s, mapping %.5s\n", (long)pread(fd, buf, 5, 0), buf, p);
	munmap(p, 4096);
	close(fd);
	/* exec sees a script written just before. */
	snprintf(path, sizeof path, "%s/pagecache.sh", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	const char *script = "#!/bin/sh\necho script ran\n";
	printf("write script: %ld\n", (long)write(fd, script, strlen(script)));
	close(fd);
	fflush(stdout);
	child = fork();
	if (child == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	waitpid(child, &status, 0);
	printf("exec status: %d\n", WEXITSTATUS(status));
	unlink(path);
	snprintf(path, sizeof path, "%s/pagecache.data", dir);
	printf("unlink: %s\n", err(unlink(path)));
}

/* A checksum of n bytes, to compare contents in one line. */
static unsigned long sum(const unsigned char *p, size_t n) {
	unsigned long h = 1469598103934665603UL;
	for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211UL;
	return h;
}

/* O_DIRECT on a disk file: alignment errors, large transfers, and coherence with buffered
 * I/O and shared mappings in both directions (Linux writes back and invalidates its page
 * cache around direct I/O; the bytes a program sees are the same). */
static void direct_io(const char *dir) {
	char path[256];
	printf("== O_DIRECT in %s\n", dir);
	snprintf(path, sizeof path, "%s/direct.data", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	int plain = open(path, O_RDWR);
	printf("open: %s, F_GETFL has O_DIRECT: %d\n", err(fd), (fcntl(fd, F_GETFL) & O_DIRECT) != 0);
	const size_t mib = 1 << 20;
	unsigned char *buf, *back;
	if (posix_memalign((void **)&buf, 4096, 3 * mib) || posix_memalign((void **)&back, 4096, 3 * mib)) return;
	for (size_t i = 0; i < 3 * mib; i++) buf[i] = (unsigned char)(i * 31 + i / 4096);
	printf("unaligned buffer: %s\n", err(pwrite(fd, buf + 1, 4096, 0)));
	printf("unaligned length: %s\n", err(pwrite(fd, buf, 100, 0)));
	printf("unaligned offset: %s\n", err(pwrite(fd, buf, 4096, 100)));
	printf("unaligned read: %s\n", err(pread(fd, back + 8, 4096, 0)));
	printf("empty unaligned read: %ld\n", (long)pread(fd, back + 8, 0, 3));
	printf("3 MiB direct write: %ld\n", (long)pwrite(fd, buf, 3 * mib, 0));
	memset(back, 0, 3 * mib);
	long got = pread(plain, back, 3 * mib, 0);
	printf("buffered read sees it: %ld %d\n", got, memcmp(back, buf, 3 * mib) == 0);
	memset(back, 0, 3 * mib);
	got = pread(fd, back, 3 * mib, 0);
	printf("direct read: %ld %d\n", got, memcmp(back, buf, 3 * mib) == 0);
	/* A buffered write not yet synced is what a direct read returns. */
	printf("buffered write: %ld\n", (long)pwrite(plain, "buffered bytes", 14, 4096 + 10));
	pread(fd, back, 8192, 0);
	printf("direct read sees it: %.14s\n", (char *)back + 4096 + 10);
	/* A direct write over cached pages is what a buffered read returns. */
	pread(plain, back, 8192, 0);
	memset(buf, 'D', 4096);
	pwrite(fd, buf, 4096, 4096);
	pread(plain, back, 8192, 0);
	printf("buffered read after direct write: %c%c %lx\n", back[4096], back[8191], sum(back, 8192));
	/* A hole and the end of the file. */
	printf("ftruncate: %s\n", err(ftruncate(plain, 5 * mib + 1000)));
	memset(back, 0xee, mib);
	got = pread(fd, back, mib, 3 * mib + 4096);
	printf("direct read of the hole: %ld sum %lx\n", got, sum(back, mib));
	printf("direct read across the end: %ld\n", (long)pread(fd, back, 8192, 5 * mib));
	printf("direct read past the end: %ld\n", (long)pread(fd, back, 4096, 6 * mib));
	/* Shared mappings: stores are seen by direct reads, direct writes by the mapping. */
	char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, plain, 0);
	memcpy(map + 100, "stored through the mapping", 26);
	pread(fd, back, 4096, 0);
	printf("direct read sees the store: %.26s\n", (char *)back + 100);
	memset(buf, 'M', 4096);
	pwrite(fd, buf, 4096, 0);
	printf("mapping sees the direct write: %c%c\n", map[0], map[4095]);
	munmap(map, 8192);
	/* A direct read into a shared mapping of another file on the same disk, whose pages
	 * are not cached: the copy faults them in from the disk while the read is under way. */
	char other_path[256];
	snprintf(other_path, sizeof other_path, "%s/direct.mapped", dir);
	int other = open(other_path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	memset(buf, 'O', 8192);
	printf("direct write of the mapped file: %ld\n", (long)pwrite(other, buf, 8192, 0));
	char *into = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, other, 0);
	got = pread(fd, into, 8192, 0);
	printf("direct read into its mapping: %ld %c%c\n", got, into[0], into[8191]);
	munmap(into, 8192);
	close(other);
	printf("unlink the mapped file: %s\n", err(unlink(other_path)));
	char *none = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("direct read into PROT_NONE memory: %s\n", err(pread(fd, none, 4096, 0)));
	munmap(none, 8192);
	/* read() with the file position: a short read at the end leaves it unaligned. */
	lseek(fd, 5 * mib, SEEK_SET);
	long at_end = read(fd, back, 4096);
	long after = read(fd, back, 4096);
	printf("read at the end: %ld, then (unaligned position, past the end): %ld\n", at_end, after);
	lseek(fd, 100, SEEK_SET);
	printf("read at an unaligned position inside: %s\n", err(read(fd, back, 4096)));
	printf("unaligned buffer inside: %s\n", err(pread(fd, back + 8, 4096, 0)));
	printf("fsync: %s\n", err(fsync(fd)));
	pread(plain, back, 3 * mib, 0);
	printf("whole file sum: %lx\n", sum(back, 3 * mib));
	close(fd);
	close(plain);
	printf("unlink: %s\n", err(unlink(path)));
	free(buf);
	free(back);
}

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++)
		probe_dir(argv[i]);
	/* The last directory is the disk's (tmpfs refuses O_DIRECT on Linux 6.1). */
	if (argc > 1)
		direct_io(argv[argc - 1]);
	return probe_end();
}
