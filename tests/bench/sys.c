/*
 * Syscalls, files, signals and select, after lmbench's lat_syscall, lat_sig and lat_select.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static int b_null(void *ctx, uint64_t n)
{
	(void)ctx;
	while (n--)
		getppid();
	return 0;
}

static int b_read(void *ctx, uint64_t n)
{
	int fd = *(int *)ctx;
	char c;
	while (n--)
		if (read(fd, &c, 1) != 1)
			return -1;
	return 0;
}

static int b_write(void *ctx, uint64_t n)
{
	int fd = *(int *)ctx;
	char c = 0;
	while (n--)
		if (write(fd, &c, 1) != 1)
			return -1;
	return 0;
}

static int b_stat(void *ctx, uint64_t n)
{
	struct stat st;
	while (n--)
		if (stat((const char *)ctx, &st) < 0)
			return -1;
	return 0;
}

static int b_fstat(void *ctx, uint64_t n)
{
	struct stat st;
	while (n--)
		if (fstat(*(int *)ctx, &st) < 0)
			return -1;
	return 0;
}

static int b_open_close(void *ctx, uint64_t n)
{
	while (n--) {
		int fd = open((const char *)ctx, O_RDONLY);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static volatile sig_atomic_t caught;

static void on_usr1(int sig)
{
	(void)sig;
	caught++;
}

static int b_sig_install(void *ctx, uint64_t n)
{
	(void)ctx;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	while (n--)
		if (sigaction(SIGUSR1, &sa, 0) < 0)
			return -1;
	return 0;
}

static int b_sig_catch(void *ctx, uint64_t n)
{
	(void)ctx;
	pid_t me = getpid();
	while (n--)
		if (kill(me, SIGUSR1) < 0)
			return -1;
	return 0;
}

static sigjmp_buf fault_jmp;
static volatile char *fault_page;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/* A write to a read-only mapping of a file, caught by a SIGSEGV handler that jumps back. */
static int b_prot(void *ctx, uint64_t n)
{
	(void)ctx;
	for (volatile uint64_t i = 0; i < n; i++) {
		if (sigsetjmp(fault_jmp, 1) == 0) {
			*fault_page = 1;
			return -1; /* The write went through: no fault. */
		}
	}
	return 0;
}

struct sel {
	int nfds;
	fd_set set;
};

static int b_select(void *ctx, uint64_t n)
{
	struct sel *s = ctx;
	while (n--) {
		fd_set r = s->set;
		struct timeval tv = { 0, 0 };
		if (select(s->nfds, &r, 0, 0, &tv) < 0)
			return -1;
	}
	return 0;
}

/* The rows on a file's metadata: stat, fstat, open_close (in lmb_dir). */
void bench_file_meta(void)
{
	const char *file = scratch_file(4096);
	int fd = file ? open(file, O_RDONLY) : -1;
	if (fd < 0) {
		report_fail("stat", "scratch file");
		return;
	}
	run_lat("stat", b_stat, (void *)file);
	run_lat("fstat", b_fstat, &fd);
	run_lat("open_close", b_open_close, (void *)file);
	close(fd);
}

void bench_sys(void)
{
	const char *file = scratch_file(4096);
	run_lat("null_syscall", b_null, 0);

	int zero = open("/dev/zero", O_RDONLY);
	if (zero < 0)
		report_fail("read_dev_zero", "open /dev/zero");
	else
		run_lat("read_dev_zero", b_read, &zero);
	int null = open("/dev/null", O_WRONLY);
	if (null < 0)
		report_fail("write_dev_null", "open /dev/null");
	else
		run_lat("write_dev_null", b_write, &null);

	bench_file_meta();
	int fd = file ? open(file, O_RDONLY) : -1;

	run_lat("sig_install", b_sig_install, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
	run_lat("sig_catch", b_sig_catch, 0);

	void *page = fd >= 0 ? mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	sa.sa_handler = on_segv;
	if (page == MAP_FAILED || sigaction(SIGSEGV, &sa, 0) < 0) {
		report_fail("prot_fault", "mmap or sigaction");
	} else {
		fault_page = page;
		run_lat("prot_fault", b_prot, 0);
		signal(SIGSEGV, SIG_DFL);
		munmap(page, 4096);
	}

	/* lmbench's lat_select -n 100 file: 100 descriptors of a regular file. */
	struct sel s = { 0 };
	FD_ZERO(&s.set);
	int ok = fd >= 0;
	for (int i = 0; ok && i < 100; i++) {
		int d = dup(fd);
		if (d < 0 || d >= FD_SETSIZE) {
			ok = 0;
			break;
		}
		FD_SET(d, &s.set);
		if (d + 1 > s.nfds)
			s.nfds = d + 1;
	}
	if (ok)
		run_lat("select_100_fds", b_select, &s);
	else
		report_fail("select_100_fds", "dup");
	for (int d = 0; d < s.nfds; d++)
		if (FD_ISSET(d, &s.set))
			close(d);
	if (fd >= 0)
		close(fd);
	if (zero >= 0)
		close(zero);
	if (null >= 0)
		close(null);
}
