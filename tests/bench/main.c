/*
 * lmb: the microbenchmarks, one static binary. `lmb` runs every group; `lmb GROUP...` runs the
 * named groups (sys, proc, mem, sock).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* Wall time one repetition should take at least, in ns. */
#define TARGET_NS 25000000ull
#define REPS 5

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double measure_us(bench_fn fn, void *ctx)
{
	uint64_t n = 1;
	for (;;) {
		uint64_t t0 = now_ns();
		if (fn(ctx, n) < 0)
			return -1;
		uint64_t dt = now_ns() - t0;
		if (dt >= TARGET_NS)
			break;
		if (n > (1ull << 32))
			return -1; /* The clock does not move (or the operation is free). */
		/* Grow towards the target, at most 16x a step. */
		uint64_t next = dt ? n * TARGET_NS / dt + 1 : n * 16;
		n = next > n * 16 ? n * 16 : next < n * 2 ? n * 2 : next;
	}
	double per[REPS];
	for (int i = 0; i < REPS; i++) {
		uint64_t t0 = now_ns();
		if (fn(ctx, n) < 0)
			return -1;
		per[i] = (double)(now_ns() - t0) / 1000.0 / (double)n;
	}
	return median(per, REPS);
}

const char *lmb_dir = "/tmp";
const char *lmb_suffix = "";

void report(const char *name, const char *unit, double value)
{
	printf("BENCH name=%s%s unit=%s value=%.4g\n", name, lmb_suffix, unit, value);
	fflush(stdout);
}

void report_fail(const char *name, const char *what)
{
	printf("BENCH-FAIL name=%s%s what=%s errno=%s\n", name, lmb_suffix, what, strerror(errno));
	fflush(stdout);
}

void run_lat(const char *name, bench_fn fn, void *ctx)
{
	double us = measure_us(fn, ctx);
	if (us < 0)
		report_fail(name, "run");
	else
		report(name, "us", us);
}

const char *scratch_file(uint64_t size)
{
	static char path[160];
	snprintf(path, sizeof path, "%s/lmb-%llu", lmb_dir, (unsigned long long)size);
	if (access(path, F_OK) == 0)
		return path;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return 0;
	static char buf[65536];
	memset(buf, 'x', sizeof buf);
	for (uint64_t done = 0; done < size;) {
		uint64_t chunk = size - done < sizeof buf ? size - done : sizeof buf;
		if (write(fd, buf, chunk) != (ssize_t)chunk) {
			close(fd);
			return 0;
		}
		done += chunk;
	}
	close(fd);
	return path;
}

/* Smallest step of CLOCK_MONOTONIC seen in a busy loop (a coarse clock spoils short reps). */
static uint64_t clock_step_ns(void)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 20; i++) {
		uint64_t t0 = now_ns(), t1, spins = 0;
		while ((t1 = now_ns()) == t0)
			if (++spins > 10000000)
				return 0; /* The clock does not move. */
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	return best;
}

/* For the host's clock check: the guest's monotonic time, compared with when the line arrives. */
static void clock_line(int with_step)
{
	if (with_step)
		printf("BENCH-CLOCK mono_ns=%llu step_ns=%llu\n", (unsigned long long)now_ns(),
		       (unsigned long long)clock_step_ns());
	else
		printf("BENCH-CLOCK mono_ns=%llu\n", (unsigned long long)now_ns());
	fflush(stdout);
}

/* The file rows of sys and mem alone (on a disk: LMB_DIR=/mnt LMB_SUFFIX=_ext2). */
static void bench_files(void)
{
	bench_file_meta();
	bench_file_data();
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} groups[] = { { "sys", bench_sys },     { "proc", bench_proc },
		       { "mem", bench_mem },     { "sock", bench_sock },
		       { "files", bench_files } };
	int ngroups = sizeof groups / sizeof groups[0];
	if (getenv("LMB_DIR"))
		lmb_dir = getenv("LMB_DIR");
	if (getenv("LMB_SUFFIX"))
		lmb_suffix = getenv("LMB_SUFFIX");
	setvbuf(stdout, 0, _IOLBF, 0);
	clock_line(1);
	for (int g = 0; g < ngroups; g++) {
		/* Without arguments: every group but "files" (whose rows the others already run). */
		int wanted = argc < 2 && strcmp(groups[g].name, "files") != 0;
		for (int a = 1; a < argc; a++)
			wanted |= strcmp(argv[a], groups[g].name) == 0;
		if (wanted)
			groups[g].run();
	}
	clock_line(0);
	return 0;
}
