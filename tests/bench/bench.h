/*
 * Shared timing harness of the microbenchmarks (lmbench definitions, our own code).
 *
 * Each benchmark prints one line: `BENCH name=NAME unit=us value=V` for latencies,
 * `unit=MB/s` for bandwidths; a benchmark that cannot run prints `BENCH-FAIL name=NAME ...`.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

/* A benchmark body: runs `n` iterations of the measured operation; returns 0, or -1 on error. */
typedef int (*bench_fn)(void *ctx, uint64_t n);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

/*
 * Calibrates an iteration count so that one repetition takes at least the target time,
 * then runs 5 repetitions and returns the median time per iteration in microseconds
 * (a negative value on error).
 */
double measure_us(bench_fn fn, void *ctx);

/* Where scratch files go ($LMB_DIR, default /tmp), and what every row name gets appended
 * ($LMB_SUFFIX, default none: "_ext2" when the file rows run on a disk). */
extern const char *lmb_dir;
extern const char *lmb_suffix;

/* Prints a BENCH line. */
void report(const char *name, const char *unit, double value);

/* Prints a BENCH-FAIL line with errno's text. */
void report_fail(const char *name, const char *what);

/* measure_us + report (or report_fail). */
void run_lat(const char *name, bench_fn fn, void *ctx);

/* Median of `n` doubles (sorts them in place). */
double median(double *v, int n);

/* The groups of benchmarks (one source file each). */
void bench_sys(void);
void bench_proc(void);
void bench_mem(void);
void bench_sock(void);
/* The file rows of sys and mem, for running them alone in another directory. */
void bench_file_meta(void);
void bench_file_data(void);

/* A scratch file of `size` bytes in lmb_dir; returns its path. */
const char *scratch_file(uint64_t size);

#endif
