/* clone3(2) and clone(2)'s process options checked against Linux: struct clone_args' size
 * and argument checks, exit signals (SIGCHLD, none, another) with wait's __WALL and
 * __WCLONE, CLONE_PIDFD, CLONE_PARENT, CLONE_VFORK's wait, CLONE_CLEAR_SIGHAND, set_tid,
 * and the refusals (namespaces as nobody, CLONE_INTO_CGROUP). Deterministic output only.
 * Build: musl-gcc -static -O2 -o clone clone.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define CLONE_PIDFD_ 0x1000
#define CLONE_CLEAR_SIGHAND_ 0x100000000ULL
#define CLONE_INTO_CGROUP_ 0x200000000ULL
#define WALL_ 0x40000000
#define WCLONE_ 0x80000000

struct args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
        cgroup;
    uint64_t extra;
};

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ECHILD: return "ECHILD";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static long clone3_(struct args *a, size_t size) { return syscall(SYS_clone3, a, size); }

/* clone3 that the child leaves at once with `code`; returns the parent's result. */
static long spawn(struct args *a, size_t size, int code) {
    fflush(stdout);
    long r = clone3_(a, size);
    if (r == 0) _exit(code);
    return r;
}

static void refusals(void) {
    struct args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    printf("size 63: %s\n", err(clone3_(&a, 63)));
    printf("size 4097: %s\n", err(clone3_(&a, 4097)));
    printf("bad pointer: %s\n", err(clone3_((struct args *)8, 88)));
    a.extra = 1;
    printf("size 96, a field we do not know: %s\n", err(clone3_(&a, 96)));
    a.extra = 0;
    a.exit_signal = 65;
    printf("exit signal 65: %s\n", err(clone3_(&a, 88)));
    a.exit_signal = 1ULL << 32 | SIGCHLD;
    printf("exit signal with high bits: %s\n", err(clone3_(&a, 88)));
    a.exit_signal = SIGCHLD;
    a.flags = SIGCHLD;
    printf("a signal in the flags: %s\n", err(clone3_(&a, 88)));
    a.flags = 0x400000; /* CLONE_DETACHED */
    printf("CLONE_DETACHED: %s\n", err(clone3_(&a, 88)));
    a.flags = CLONE_PARENT;
    printf("CLONE_PARENT with an exit signal: %s\n", err(clone3_(&a, 88)));
    a.flags = CLONE_CLEAR_SIGHAND_ | CLONE_SIGHAND | CLONE_VM;
    printf("CLEAR_SIGHAND with SIGHAND: %s\n", err(clone3_(&a, 88)));
    a.flags = 1ULL << 40;
    printf("an unknown flag: %s\n", err(clone3_(&a, 88)));
    a.flags = 0;
    a.stack = 0x10000;
    printf("a stack without a size: %s\n", err(clone3_(&a, 88)));
    a.stack = 0;
    a.stack_size = 4096;
    printf("a size without a stack: %s\n", err(clone3_(&a, 88)));
    a.stack_size = 0;
    a.set_tid_size = 1;
    printf("set_tid_size without set_tid: %s\n", err(clone3_(&a, 88)));
    pid_t tids[2] = {30000, 30001};
    a.set_tid = (uintptr_t)tids;
    a.set_tid_size = 0;
    printf("set_tid without a size: %s\n", err(clone3_(&a, 88)));
    a.set_tid_size = 33;
    printf("set_tid_size 33: %s\n", err(clone3_(&a, 88)));
    a.set_tid_size = 2;
    printf("set_tid_size 2 (one PID namespace): %s\n", err(clone3_(&a, 88)));
    a.set_tid_size = 0;
    a.set_tid = 0;
    a.flags = CLONE_INTO_CGROUP_;
    printf("INTO_CGROUP in a 64-byte struct: %s\n", err(clone3_(&a, 64)));
    a.cgroup = 1ULL << 31;
    printf("INTO_CGROUP with cgroup 2^31: %s\n", err(clone3_(&a, 88)));
    a.flags = CLONE_PIDFD_ | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    a.exit_signal = 0;
    a.cgroup = 0;
    printf("PIDFD with THREAD: %s\n", err(clone3_(&a, 88)));
    a.flags = CLONE_THREAD | CLONE_VM;
    printf("THREAD without SIGHAND: %s\n", err(clone3_(&a, 88)));
    a.flags = CLONE_SIGHAND;
    printf("SIGHAND without VM: %s\n", err(clone3_(&a, 88)));
    a.flags = CLONE_NEWNS | CLONE_FS;
    printf("NEWNS with FS: %s\n", err(clone3_(&a, 88)));
    int pidfd = -1;
    printf("clone PIDFD|PARENT_SETTID: %s\n",
           err(syscall(SYS_clone, CLONE_PIDFD_ | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0)));
    fflush(stdout);
    if (fork() == 0) {
        setuid(65534);
        struct args n;
        memset(&n, 0, sizeof n);
        n.exit_signal = SIGCHLD;
        n.flags = CLONE_NEWUTS;
        printf("nobody: NEWUTS: %s\n", err(clone3_(&n, 88)));
        n.flags = CLONE_NEWPID;
        printf("nobody: NEWPID: %s\n", err(clone3_(&n, 88)));
        n.flags = 0;
        pid_t want = 30002;
        n.set_tid = (uintptr_t)&want;
        n.set_tid_size = 1;
        printf("nobody: set_tid: %s\n", err(clone3_(&n, 88)));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
}

static void exit_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) > 0) {}

    struct args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    long pid = spawn(&a, 88, 7);
    int status = 0;
    long r = waitpid(pid, &status, 0);
    printf("clone3 like fork: waitpid %s, exit %d\n", r == pid ? "ok" : err(r), WEXITSTATUS(status));
    siginfo_t si;
    printf("  SIGCHLD came: %d\n", sigtimedwait(&set, &si, &zero) == SIGCHLD);

    a.exit_signal = 0;
    pid = spawn(&a, 88, 8);
    usleep(100000);
    printf("exit signal 0: waitpid without __WALL: %s\n", err(waitpid(pid, &status, WNOHANG)));
    r = waitpid(pid, &status, __WALL);
    printf("  with __WALL: %s, exit %d\n", r == pid ? "ok" : err(r), WEXITSTATUS(status));
    printf("  a signal came: %d\n", sigtimedwait(&set, &si, &zero) > 0);

    a.exit_signal = SIGUSR1;
    pid = spawn(&a, 88, 9);
    r = waitpid(-1, &status, 0);
    printf("exit signal SIGUSR1: waitpid(-1) without __WCLONE: %s\n", err(r));
    r = waitpid(pid, &status, __WCLONE);
    printf("  with __WCLONE: %s, exit %d\n", r == pid ? "ok" : err(r), WEXITSTATUS(status));
    printf("  SIGUSR1 came: %d, si_code %d\n", sigtimedwait(&set, &si, &zero) == SIGUSR1, si.si_code);

    /* waitid takes the same options. */
    pid = spawn(&a, 88, 10);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    r = waitid(P_PID, pid, &info, WEXITED | WALL_);
    printf("waitid __WALL on a clone child: %s, status %d\n", err(r), info.si_status);
    sigtimedwait(&set, &si, &zero);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void pidfds(void) {
    struct args a;
    memset(&a, 0, sizeof a);
    int pidfd = -1;
    a.flags = CLONE_PIDFD_;
    a.pidfd = (uintptr_t)&pidfd;
    a.exit_signal = SIGCHLD;
    long pid = spawn(&a, 88, 11);
    printf("CLONE_PIDFD: a descriptor %d, close-on-exec %d\n", pidfd > 2, (fcntl(pidfd, F_GETFD) & FD_CLOEXEC) != 0);
    struct pollfd p = {pidfd, POLLIN, 0};
    int n = poll(&p, 1, 5000);
    printf("  it polls readable when the child ends: %d\n", n == 1 && (p.revents & POLLIN));
    int status;
    waitpid(pid, &status, 0);
    close(pidfd);
    a.pidfd = 8;
    printf("CLONE_PIDFD to a bad address: %s\n", err(clone3_(&a, 88)));
    fflush(stdout);
    pid = syscall(SYS_clone, CLONE_PIDFD_ | SIGCHLD, 0, &pidfd, 0, 0);
    if (pid == 0) _exit(12);
    printf("clone CLONE_PIDFD: a descriptor %d\n", pidfd > 2);
    waitpid(pid, &status, 0);
    close(pidfd);
}

static void parents(void) {
    int fds[2];
    pipe(fds);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        struct args a;
        memset(&a, 0, sizeof a);
        a.flags = CLONE_PARENT;
        long r = clone3_(&a, 88);
        if (r == 0) {
            usleep(100000);
            _exit(13);
        }
        write(fds[1], &r, sizeof r);
        _exit(0);
    }
    long sibling;
    read(fds[0], &sibling, sizeof sibling);
    int status;
    waitpid(child, &status, 0);
    long r = waitpid(sibling, &status, 0);
    printf("CLONE_PARENT: the sibling is our child: %s, exit %d\n", r == sibling ? "ok" : err(r), WEXITSTATUS(status));
    close(fds[0]);
    close(fds[1]);
}

static void vfork_wait(void) {
    int fds[2];
    pipe(fds);
    struct args a;
    memset(&a, 0, sizeof a);
    /* CLONE_VFORK without CLONE_VM: the child runs on a copy of this stack, so it may use
     * this function's variables; the parent still waits for it. */
    a.flags = CLONE_VFORK;
    a.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = clone3_(&a, 88);
    if (pid == 0) {
        struct timespec t = {0, 100000000};
        syscall(SYS_nanosleep, &t, NULL);
        syscall(SYS_write, fds[1], "v", 1);
        syscall(SYS_exit, 14);
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char c = 0;
    long n = read(fds[0], &c, 1);
    printf("CLONE_VFORK: the child had finished before the parent went on: %d\n", n == 1 && c == 'v');
    int status;
    waitpid(pid, &status, 0);
    printf("  exit %d\n", WEXITSTATUS(status));
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        execl("/bin/true-does-not-exist", "x", (char *)0);
        _exit(15);
    }
    waitpid(pid, &status, 0);
    printf("vfork whose exec failed: exit %d\n", WEXITSTATUS(status));
    close(fds[0]);
    close(fds[1]);
}

static void on_usr2(int sig) { (void)sig; }

static void clear_sighand(void) {
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, on_usr2);
    struct args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_CLEAR_SIGHAND_;
    a.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = clone3_(&a, 88);
    if (pid == 0) {
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        int ign = sa.sa_handler == SIG_IGN;
        sigaction(SIGUSR2, NULL, &sa);
        printf("CLEAR_SIGHAND: the ignored signal stays ignored %d, the caught one is default %d\n", ign,
               sa.sa_handler == SIG_DFL);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

static void set_tids(void) {
    struct args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    pid_t want = 30003;
    a.set_tid = (uintptr_t)&want;
    a.set_tid_size = 1;
    fflush(stdout);
    long pid = clone3_(&a, 88);
    if (pid == 0) _exit(getpid() == 30003 ? 16 : 17);
    int status;
    waitpid(pid, &status, 0);
    printf("set_tid 30003: %s, the child's pid is it: %d\n", err(pid), WEXITSTATUS(status) == 16);
    want = getpid();
    printf("set_tid of a live pid: %s\n", err(clone3_(&a, 88)));
    want = 0;
    printf("set_tid 0: %s\n", err(clone3_(&a, 88)));
    want = 1 << 30;
    printf("set_tid past pid_max: %s\n", err(clone3_(&a, 88)));
    a.set_tid = 8;
    printf("set_tid at a bad address: %s\n", err(clone3_(&a, 88)));
    a.set_tid = 0;
    a.set_tid_size = 0;
    a.flags = CLONE_INTO_CGROUP_;
    a.cgroup = 99;
    printf("INTO_CGROUP with a bad descriptor: %s\n", err(clone3_(&a, 88)));
}

int main(void) {
    refusals();
    exit_signals();
    pidfds();
    parents();
    vfork_wait();
    clear_sighand();
    set_tids();
    return probe_end();
}
