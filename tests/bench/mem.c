/*
 * Memory and files, after lmbench's lat_pagefault, lat_mmap, bw_file_rd and lat_fs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define PAGE 4096
#define FAULT_BYTES (8u << 20)
#define MMAP_BYTES (1u << 20)
#define READ_BYTES (8u << 20)
#define READ_CHUNK 65536
#define FS_FILES 200

/* Time per page of touching every page of a fresh mapping (the mapping itself not timed). */
static double fault_us(int fd)
{
	double per[5];
	for (int rep = 0; rep < 5; rep++) {
		int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
		volatile char *p = mmap(0, FAULT_BYTES, fd < 0 ? PROT_READ | PROT_WRITE : PROT_READ, flags, fd, 0);
		if (p == MAP_FAILED)
			return -1;
		uint64_t t0 = now_ns();
		char sink = 0;
		for (unsigned off = 0; off < FAULT_BYTES; off += PAGE) {
			if (fd < 0)
				p[off] = 1;
			else
				sink += p[off];
		}
		per[rep] = (double)(now_ns() - t0) / 1000.0 / (FAULT_BYTES / PAGE);
		(void)sink;
		munmap((void *)p, FAULT_BYTES);
	}
	return median(per, 5);
}

/* lat_mmap: map 1 MB of a file, touch one byte every 16 KB, unmap. */
static int b_mmap(void *ctx, uint64_t n)
{
	int fd = *(int *)ctx;
	while (n--) {
		volatile char *p = mmap(0, MMAP_BYTES, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return -1;
		for (unsigned off = 0; off < MMAP_BYTES; off += 16384)
			(void)p[off];
		munmap((void *)p, MMAP_BYTES);
	}
	return 0;
}

/* bw_file_rd io_only: read the whole (cached) file in 64 KB chunks, from an open descriptor. */
static double file_read_bw(int fd)
{
	static char buf[READ_CHUNK];
	double bw[5];
	for (int rep = 0; rep < 5; rep++) {
		if (lseek(fd, 0, SEEK_SET) < 0)
			return -1;
		uint64_t got = 0, t0 = now_ns();
		ssize_t r;
		while ((r = read(fd, buf, sizeof buf)) > 0)
			got += (uint64_t)r;
		uint64_t dt = now_ns() - t0;
		if (got != READ_BYTES || dt == 0)
			return -1;
		bw[rep] = (double)got / 1e6 / ((double)dt / 1e9);
	}
	return median(bw, 5);
}

/* lat_fs: create FS_FILES files of `size` bytes in a fresh directory, then delete them. */
static int fs_round(unsigned size, double *create_us, double *delete_us)
{
	static char data[10240];
	char dir[128], path[160];
	memset(data, 'f', sizeof data);
	snprintf(dir, sizeof dir, "%s/lmb-fs", lmb_dir);
	if (mkdir(dir, 0755) < 0)
		return -1;
	uint64_t t0 = now_ns();
	for (int i = 0; i < FS_FILES; i++) {
		snprintf(path, sizeof path, "%s/%d", dir, i);
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return -1;
		if (size && write(fd, data, size) != (ssize_t)size)
			return -1;
		close(fd);
	}
	uint64_t t1 = now_ns();
	for (int i = 0; i < FS_FILES; i++) {
		snprintf(path, sizeof path, "%s/%d", dir, i);
		if (unlink(path) < 0)
			return -1;
	}
	uint64_t t2 = now_ns();
	rmdir(dir);
	*create_us = (double)(t1 - t0) / 1000.0 / FS_FILES;
	*delete_us = (double)(t2 - t1) / 1000.0 / FS_FILES;
	return 0;
}

static void fs_bench(unsigned size, const char *create_name, const char *delete_name)
{
	double c[5], d[5];
	for (int rep = 0; rep < 5; rep++) {
		if (fs_round(size, &c[rep], &d[rep]) < 0) {
			report_fail(create_name, "create/unlink");
			return;
		}
	}
	report(create_name, "us", median(c, 5));
	report(delete_name, "us", median(d, 5));
}

static void report_or_fail(const char *name, const char *unit, double v)
{
	if (v < 0)
		report_fail(name, "run");
	else
		report(name, unit, v);
}

/* The rows on a file's data, and creating and deleting files (in lmb_dir). */
void bench_file_data(void)
{
	const char *big = scratch_file(FAULT_BYTES);
	int fd = big ? open(big, O_RDONLY) : -1;
	if (fd < 0) {
		report_fail("pagefault_file", "scratch file");
	} else {
		report_or_fail("pagefault_file", "us", fault_us(fd));
		run_lat("mmap_munmap_1m", b_mmap, &fd);
		report_or_fail("file_read_bandwidth", "MB/s", file_read_bw(fd));
		close(fd);
	}

	fs_bench(0, "fs_create_0k", "fs_delete_0k");
	fs_bench(10240, "fs_create_10k", "fs_delete_10k");
}

void bench_mem(void)
{
	report_or_fail("pagefault_anon", "us", fault_us(-1));
	bench_file_data();
}
