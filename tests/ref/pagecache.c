/*
 * Shared file mappings against Linux 6.1, in each directory given (tests/ref/ext2.sh runs it
 * in /tmp, which is in memory, and on the ext2 disk): a store through a MAP_SHARED mapping is
 * seen by read(), a write() is seen through the mapping, two mappings of one file and a
 * forked child's mapping see each other, truncation zeroes what it cuts off, msync and
 * munmap leave the data in the file, and exec sees what was written before it.
 */
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

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++)
		probe_dir(argv[i]);
	return probe_end();
}
