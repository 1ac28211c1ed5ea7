/*
 * Sockets, after lmbench's lat_unix, bw_unix, lat_tcp and bw_tcp: a child echoes (latency) or
 * sinks (bandwidth) over a Unix stream socketpair or a TCP connection on 127.0.0.1.
 * tcp_epoll_50 is our own, in the shape of redis-benchmark against redis-server: 50 TCP
 * connections over loopback, one request in flight on each, both ends waiting in
 * level-triggered epoll; its figure is the time per request.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define CHUNK 65536
#define TOTAL (16u << 20)

/* Returns two connected stream sockets: a Unix socketpair, or TCP over loopback. */
static int connect_pair(int tcp, int sv[2])
{
	if (!tcp)
		return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		goto fail;
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof a) < 0)
		goto fail;
	sv[1] = accept(l, 0, 0);
	if (sv[1] < 0)
		goto fail;
	int one = 1;
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	close(l);
	return 0;
fail:
	close(l);
	return -1;
}

static int b_echo(void *ctx, uint64_t n)
{
	int fd = *(int *)ctx;
	int w = 0;
	while (n--) {
		if (write(fd, &w, sizeof w) != sizeof w || read(fd, &w, sizeof w) != sizeof w)
			return -1;
	}
	return 0;
}

static double latency(int tcp)
{
	int sv[2];
	if (connect_pair(tcp, sv) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(sv[0]);
		int w;
		while (read(sv[1], &w, sizeof w) == sizeof w)
			if (write(sv[1], &w, sizeof w) != sizeof w)
				break;
		_exit(0);
	}
	close(sv[1]);
	double us = measure_us(b_echo, &sv[0]);
	close(sv[0]);
	waitpid(pid, 0, 0);
	return us;
}

static double bandwidth(int tcp)
{
	static char buf[CHUNK];
	double bw[3];
	for (int rep = 0; rep < 3; rep++) {
		int sv[2];
		if (connect_pair(tcp, sv) < 0)
			return -1;
		uint64_t t0 = now_ns();
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			close(sv[1]);
			memset(buf, 's', sizeof buf);
			for (unsigned done = 0; done < TOTAL;) {
				ssize_t w = write(sv[0], buf, CHUNK);
				if (w <= 0)
					_exit(1);
				done += (unsigned)w;
			}
			_exit(0);
		}
		close(sv[0]);
		uint64_t got = 0;
		ssize_t r;
		while ((r = read(sv[1], buf, sizeof buf)) > 0)
			got += (uint64_t)r;
		close(sv[1]);
		waitpid(pid, 0, 0);
		uint64_t dt = now_ns() - t0;
		if (got < TOTAL || dt == 0)
			return -1;
		bw[rep] = (double)got / 1e6 / ((double)dt / 1e9);
	}
	return median(bw, 3);
}

#define CONNS 50

/* The client side of tcp_epoll_50: its connections and the epoll instance watching them. */
struct epoll_clients {
	int fd[CONNS];
	int ep;
};

/* Runs `n` requests, keeping one in flight on each connection. */
static int b_epoll50(void *ctx, uint64_t n)
{
	struct epoll_clients *c = ctx;
	uint64_t sent = 0, done = 0;
	int w = 0;
	for (int i = 0; i < CONNS && sent < n; i++, sent++)
		if (write(c->fd[i], &w, sizeof w) != sizeof w)
			return -1;
	struct epoll_event ev[CONNS];
	while (done < n) {
		int k = epoll_wait(c->ep, ev, CONNS, -1);
		if (k < 0)
			return -1;
		for (int j = 0; j < k; j++) {
			int fd = ev[j].data.fd;
			if (read(fd, &w, sizeof w) != sizeof w)
				return -1;
			done++;
			if (sent < n) {
				if (write(fd, &w, sizeof w) != sizeof w)
					return -1;
				sent++;
			}
		}
	}
	return 0;
}

/* Adds `fd` to `ep` for input, level-triggered. */
static int watch(int ep, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static double epoll50(void)
{
	struct epoll_clients c;
	int server[CONNS];
	for (int i = 0; i < CONNS; i++) {
		int sv[2];
		if (connect_pair(1, sv) < 0)
			return -1;
		c.fd[i] = sv[0];
		server[i] = sv[1];
	}
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The server: echoes each request until every client has closed. */
		int ep = epoll_create1(0), open = CONNS, w;
		for (int i = 0; i < CONNS; i++)
			if (close(c.fd[i]) < 0 || watch(ep, server[i]) < 0)
				_exit(1);
		struct epoll_event ev[CONNS];
		while (open > 0) {
			int k = epoll_wait(ep, ev, CONNS, -1);
			if (k < 0)
				_exit(1);
			for (int j = 0; j < k; j++) {
				int fd = ev[j].data.fd;
				if (read(fd, &w, sizeof w) != sizeof w) {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, 0);
					close(fd);
					open--;
				} else if (write(fd, &w, sizeof w) != sizeof w) {
					_exit(1);
				}
			}
		}
		_exit(0);
	}
	c.ep = epoll_create1(0);
	for (int i = 0; i < CONNS; i++)
		if (close(server[i]) < 0 || watch(c.ep, c.fd[i]) < 0)
			return -1;
	double us = measure_us(b_epoll50, &c);
	for (int i = 0; i < CONNS; i++)
		close(c.fd[i]);
	close(c.ep);
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? us : -1;
}

static void one(const char *name, const char *unit, double v)
{
	if (v < 0)
		report_fail(name, "socket");
	else
		report(name, unit, v);
}

void bench_sock(void)
{
	one("unix_latency", "us", latency(0));
	one("unix_bandwidth", "MB/s", bandwidth(0));
	one("tcp_latency", "us", latency(1));
	one("tcp_bandwidth", "MB/s", bandwidth(1));
	one("tcp_epoll_50", "us", epoll50());
}
