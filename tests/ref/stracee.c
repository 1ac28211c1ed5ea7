/* The program the ptrace probe runs under Debian's strace (tests/ref/ptrace.sh): a few
 * getpid and write calls, a child that does the same, and exit_group. Its own and its child's
 * PIDs go to /tmp/stracee.pids by pwrite, which the trace leaves out, so the script can name
 * them in strace's output.
 * Build: musl-gcc -static -O2 -o stracee stracee.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

int main(void) {
    long me = syscall(SYS_getpid);
    write(1, "parent: hello\n", 14);
    pid_t child = fork();
    if (child == 0) {
        syscall(SYS_getpid);
        write(1, "child: hello\n", 13);
        _exit(3);
    }
    int status;
    waitpid(child, &status, 0);
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%ld %d\n", me, child);
    int fd = open("/tmp/stracee.pids", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pwrite(fd, buf, n, 0);
    close(fd);
    printf("parent: child exited %d\n", WEXITSTATUS(status));
    probe_end();
    return WEXITSTATUS(status) + 4;
}
