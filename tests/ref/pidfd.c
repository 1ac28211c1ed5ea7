/*
 * pidfds against Linux 6.1: pidfd_open, poll on a pidfd, pidfd_send_signal and waitid(P_PIDFD)
 * with a pidfd and with another kind of file (EBADF); and /proc: the exe link, stat, the mount.
 */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "probe.h"
int main(void) {
	pid_t c = fork();
	if (c == 0) { pause(); _exit(3); }
	int fd = syscall(SYS_pidfd_open, c, 0);
	printf("pidfd_open: %s\n", fd >= 0 ? "ok" : strerror(errno));
	struct pollfd p = { fd, POLLIN, 0 };
	printf("poll before: %d\n", poll(&p, 1, 0));
	int nf = open("/proc/self/status", O_RDONLY);
	long r = syscall(SYS_pidfd_send_signal, nf, SIGKILL, 0, 0);
	printf("send on non-pidfd: %ld %s\n", r, r ? strerror(errno) : "");
	r = syscall(SYS_pidfd_send_signal, fd, SIGKILL, 0, 0);
	printf("send: %ld\n", r);
	siginfo_t si; memset(&si, 0, sizeof si);
	r = waitid(3 /* P_PIDFD */, fd, &si, WEXITED);
	printf("waitid: %ld pid_match=%d code=%d status=%d\n", r, si.si_pid == c, si.si_code, si.si_status);
	r = waitid(3, nf, &si, WEXITED | WNOHANG);
	printf("waitid non-pidfd: %ld %s\n", r, r ? strerror(errno) : "");
	char buf[64]; ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n > 0) buf[n] = 0;
	printf("exe: %s\n", n > 0 ? buf : strerror(errno));
	FILE *f = fopen("/proc/self/stat", "r");
	int pid = 0; if (f && fscanf(f, "%d", &pid) == 1) {}
	printf("proc stat pid matches: %d\n", pid == getpid());
	return probe_end();
}
