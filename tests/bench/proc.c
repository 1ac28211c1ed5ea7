/*
 * Processes, context switches and pipes, after lmbench's lat_proc, lat_ctx, lat_pipe and bw_pipe.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* In the child: stdout to /dev/null (lmbench's hello writes a line), then exec. */
static void child_exec(char *const argv[])
{
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0)
		dup2(null, 1);
	execv(argv[0], argv);
	_exit(127);
}

static int spawn_wait(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!argv)
			_exit(0);
		child_exec(argv);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

static int b_spawn(void *ctx, uint64_t n)
{
	while (n--)
		if (spawn_wait(ctx) < 0)
			return -1;
	return 0;
}

/* Two pipes between parent and child; the child echoes each word back. */
struct pair {
	int to_child[2], to_parent[2];
	pid_t child;
};

static int pair_start(struct pair *p)
{
	if (pipe(p->to_child) < 0 || pipe(p->to_parent) < 0)
		return -1;
	p->child = fork();
	if (p->child < 0)
		return -1;
	if (p->child == 0) {
		close(p->to_child[1]);
		close(p->to_parent[0]);
		int w;
		while (read(p->to_child[0], &w, sizeof w) == sizeof w)
			if (write(p->to_parent[1], &w, sizeof w) != sizeof w)
				break;
		_exit(0);
	}
	close(p->to_child[0]);
	close(p->to_parent[1]);
	return 0;
}

static void pair_stop(struct pair *p)
{
	close(p->to_child[1]);
	close(p->to_parent[0]);
	waitpid(p->child, 0, 0);
}

static int b_roundtrip(void *ctx, uint64_t n)
{
	struct pair *p = ctx;
	int w = 0;
	while (n--) {
		if (write(p->to_child[1], &w, sizeof w) != sizeof w)
			return -1;
		if (read(p->to_parent[0], &w, sizeof w) != sizeof w)
			return -1;
	}
	return 0;
}

/* lat_ctx's overhead: the same write+read through one pipe in one process. */
static int b_self_pipe(void *ctx, uint64_t n)
{
	int *fds = ctx;
	int w = 0;
	while (n--) {
		if (write(fds[1], &w, sizeof w) != sizeof w)
			return -1;
		if (read(fds[0], &w, sizeof w) != sizeof w)
			return -1;
	}
	return 0;
}

#define PIPE_CHUNK 65536
#define PIPE_TOTAL (16u << 20)

/* bw_pipe: the child writes PIPE_TOTAL bytes in 64 KB chunks, the parent reads them. */
static double pipe_bw(void)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	static char buf[PIPE_CHUNK];
	memset(buf, 'p', sizeof buf);
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		for (unsigned done = 0; done < PIPE_TOTAL; done += PIPE_CHUNK)
			if (write(fds[1], buf, PIPE_CHUNK) != PIPE_CHUNK)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	uint64_t got = 0;
	ssize_t r;
	while ((r = read(fds[0], buf, sizeof buf)) > 0)
		got += (uint64_t)r;
	close(fds[0]);
	waitpid(pid, 0, 0);
	uint64_t dt = now_ns() - t0;
	if (got != PIPE_TOTAL || dt == 0)
		return -1;
	return (double)got / 1e6 / ((double)dt / 1e9);
}

void bench_proc(void)
{
	run_lat("fork_exit", b_spawn, 0);
	static char *hello[] = { "/bin/hello", 0 };
	run_lat("fork_execve", b_spawn, hello);
	static char *sh[] = { "/bin/sh", "-c", "/bin/hello", 0 };
	run_lat("fork_sh_c", b_spawn, sh);

	struct pair p;
	if (pair_start(&p) < 0) {
		report_fail("pipe_latency", "pipe/fork");
	} else {
		double rt = measure_us(b_roundtrip, &p);
		pair_stop(&p);
		int self[2];
		double overhead = pipe(self) == 0 ? measure_us(b_self_pipe, self) : -1;
		if (rt < 0 || overhead < 0) {
			report_fail("pipe_latency", "run");
		} else {
			report("pipe_latency", "us", rt);
			/* lat_ctx -s 0 2: half a round trip (one switch) less one pipe write+read. */
			double ctx = rt / 2 - overhead;
			report("ctx_switch_2p", "us", ctx > 0 ? ctx : 0);
		}
	}

	double bw[3];
	int ok = 1;
	for (int i = 0; i < 3; i++)
		ok &= (bw[i] = pipe_bw()) > 0;
	if (ok)
		report("pipe_bandwidth", "MB/s", median(bw, 3));
	else
		report_fail("pipe_bandwidth", "run");
}
