/* Hostile pointers: non-canonical and kernel addresses in every pointer argument of common
 * syscalls (raw, so no library code touches them first), bad iovecs and msghdrs, execve
 * vectors, arch_prctl and set_tid_address, and rt_sigreturn with garbage or edited frames.
 * Prints each call's result or errno name, or how a child died.
 * Build: musl-gcc -static -O2 -o hostile-ptr hostile-ptr.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "probe.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

static const struct { const char *name; unsigned long addr; } bad[] = {
    { "0x8000000000000000", 0x8000000000000000UL },
    { "0xffff800000000000", 0xffff800000000000UL },
    { "0xffffffff80000000", 0xffffffff80000000UL },
    { "-1", 0xffffffffffffffffUL },
    { "0x7ffffffff000", 0x00007ffffffff000UL },
};
/* Linux runs with 5-level paging under QEMU's -cpu max, so its TASK_SIZE_MAX is 2^56 - 4096:
 * 0x800000000000 is an ordinary (unmapped) user address there and is left out, and
 * 0x7ffffffff000 (the unmapped page just below our end of user space, Linux's 4-level
 * TASK_SIZE_MAX) passes its access_ok, so calls that never touch the buffer succeed: writes
 * to /dev/null are skipped for it (ours reads the buffer first: EFAULT). */
#define TOP_PAGE 0x00007ffffffff000UL
#define NBAD (sizeof bad / sizeof bad[0])

static const char *errname(int e) {
    switch (e) {
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    case ERANGE: return "ERANGE";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case ENOSYS: return "ENOSYS";
    case EEXIST: return "EEXIST";
    case ECHILD: return "ECHILD";
    case EISCONN: return "EISCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOTCONN: return "ENOTCONN";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTSOCK: return "ENOTSOCK";
    case EMSGSIZE: return "EMSGSIZE";
    case EINTR: return "EINTR";
    }
    static char buf[32];
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

static void show(const char *call, const char *arg, long ret) {
    if (ret < 0)
        printf("%s %s: %s\n", call, arg, errname(errno));
    else
        printf("%s %s: %ld\n", call, arg, ret);
}

/* A regular file with content, for reads. */
static int data_fd(void) {
    int fd = open("/tmp/hostile-ptr.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "0123456789abcdef0123456789abcdef", 32);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* The lowest free descriptor: a call that fails must not leave descriptors behind. */
static int next_fd(void) {
    int fd = dup(0);
    close(fd);
    return fd;
}

static void plain_calls(const char *an, unsigned long a) {
    void *p = (void *)a;
    int fd = data_fd();
    int devnull = open("/dev/null", O_RDWR), devzero = open("/dev/zero", O_RDONLY);
    int pfd[2];
    pipe(pfd);
    struct stat st;
    struct timespec ts = { 0, 1000 };

    show("read(file)", an, syscall(SYS_read, fd, p, 16));
    show("pread(file)", an, syscall(SYS_pread64, fd, p, 16, 0));
    show("read(/dev/zero)", an, syscall(SYS_read, devzero, p, 16));
    show("read(/dev/null)", an, syscall(SYS_read, devnull, p, 16));
    if (a != TOP_PAGE)
        show("write(/dev/null)", an, syscall(SYS_write, devnull, p, 16));
    show("write(pipe)", an, syscall(SYS_write, pfd[1], p, 16));
    show("write(file)", an, syscall(SYS_write, fd, p, 16));
    /* Reads from a pipe and a stream socket with data queued: what is left afterwards. Not
     * for the unmapped user page: ours dequeues the data before it finds it cannot store it
     * (a known gap; Linux leaves it queued). */
    if (a != TOP_PAGE) {
        int q[2], sv[2];
        char left[32];
        pipe2(q, O_NONBLOCK);
        write(q[1], "queued", 6);
        show("read(pipe)", an, syscall(SYS_read, q[0], p, 16));
        printf("read(pipe) %s: then %ld bytes waiting\n", an, (long)read(q[0], left, sizeof left));
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        write(sv[1], "queued", 6);
        show("read(socket)", an, syscall(SYS_read, sv[0], p, 16));
        show("recvfrom buffer", an, syscall(SYS_recvfrom, sv[0], p, 16, MSG_DONTWAIT, NULL, NULL));
        printf("read(socket) %s: then %ld bytes waiting\n", an, (long)recv(sv[0], left, sizeof left, MSG_DONTWAIT));
        close(q[0]);
        close(q[1]);
        close(sv[0]);
        close(sv[1]);
    }
    show("open", an, syscall(SYS_open, p, O_RDONLY));
    show("stat path", an, syscall(SYS_stat, p, &st));
    show("stat buf", an, syscall(SYS_stat, "/", p));
    show("fstat buf", an, syscall(SYS_fstat, fd, p));
    int before = next_fd();
    show("pipe", an, syscall(SYS_pipe, p));
    printf("pipe %s: descriptors left behind %d\n", an, next_fd() - before);
    show("socketpair", an, syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, p));
    printf("socketpair %s: descriptors left behind %d\n", an, next_fd() - before);
    show("clock_gettime", an, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p));
    show("gettimeofday", an, syscall(SYS_gettimeofday, p, NULL));
    show("clock_getres", an, syscall(SYS_clock_getres, CLOCK_MONOTONIC, p));
    show("rt_sigaction new", an, syscall(SYS_rt_sigaction, SIGUSR1, p, NULL, 8));
    show("rt_sigaction old", an, syscall(SYS_rt_sigaction, SIGUSR1, NULL, p, 8));
    show("rt_sigprocmask new", an, syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, NULL, 8));
    show("rt_sigprocmask old", an, syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, p, 8));
    show("sigaltstack new", an, syscall(SYS_sigaltstack, p, NULL));
    show("sigaltstack old", an, syscall(SYS_sigaltstack, NULL, p));
    show("futex wait", an, syscall(SYS_futex, p, FUTEX_WAIT, 0, NULL, NULL, 0));
    show("futex wake", an, syscall(SYS_futex, p, FUTEX_WAKE, 1, NULL, NULL, 0));
    show("futex wake private", an, syscall(SYS_futex, p, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0));
    int word = 1;
    show("futex wait timeout", an, syscall(SYS_futex, &word, FUTEX_WAIT, 0, p, NULL, 0));
    show("nanosleep req", an, syscall(SYS_nanosleep, p, NULL));
    show("nanosleep rem", an, syscall(SYS_nanosleep, &ts, p));
    show("clock_nanosleep req", an, syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p, NULL));
    show("uname", an, syscall(SYS_uname, p));
    show("getcwd", an, syscall(SYS_getcwd, p, 100));
    show("getcwd size 1", an, syscall(SYS_getcwd, p, 1));
    show("sysinfo", an, syscall(SYS_sysinfo, p));
    show("times", an, syscall(SYS_times, p));
    show("getrusage", an, syscall(SYS_getrusage, RUSAGE_SELF, p));
    show("getrlimit", an, syscall(SYS_getrlimit, RLIMIT_NOFILE, p));
    show("prlimit new", an, syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, p, NULL));
    show("getrandom", an, syscall(SYS_getrandom, p, 16, 0));
    show("sched_getaffinity", an, syscall(SYS_sched_getaffinity, 0, 8, p));
    show("readlink path", an, syscall(SYS_readlink, p, (char[16]){ 0 }, 16));
    show("readlink buf", an, syscall(SYS_readlink, "/proc/self/exe", p, 16));
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    show("getdents64", an, syscall(SYS_getdents64, dir, p, 4096));
    close(dir);
    show("poll", an, syscall(SYS_poll, p, 1, 0));
    show("select", an, syscall(SYS_select, 1, p, NULL, NULL, &(struct timeval){ 0, 0 }));
    int ep = epoll_create1(0);
    show("epoll_wait no events", an, syscall(SYS_epoll_wait, ep, p, 1, 0));
    show("epoll_ctl event", an, syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, pfd[0], p));
    close(ep);

    /* Vectors: a bad array, a bad buffer in a good array, overflowing lengths. */
    struct iovec iov[2] = { { p, 16 }, { 0, 0 } };
    lseek(fd, 0, SEEK_SET);
    show("readv array", an, syscall(SYS_readv, fd, p, 1));
    show("readv buffer", an, syscall(SYS_readv, fd, iov, 1));
    show("writev array", an, syscall(SYS_writev, devnull, p, 1));
    if (a != TOP_PAGE)
        show("writev buffer", an, syscall(SYS_writev, devnull, iov, 1));
    show("writev buffer (pipe)", an, syscall(SYS_writev, pfd[1], iov, 1));
    char ok[8];
    struct iovec huge[2] = { { ok, 8 }, { p, 0x8000000000000000UL } };
    show("writev huge length", an, syscall(SYS_writev, devnull, huge, 2));

    /* Messages on a fresh socket pair each: the msghdr, its iovec array, a buffer, a name, a
     * control buffer. */
    const char *what[] = { "msghdr", "iov array", "iov buffer", "name", "control" };
    for (int which = 0; which < 5; which++) {
        for (int dir2 = 0; dir2 < 2; dir2++) {
            /* An unmapped user buffer in recvmsg: Linux leaves stream data queued; ours has
             * already dequeued it (a known gap). Kernel addresses fail before that. */
            if (a == TOP_PAGE && which == 2 && dir2 == 1)
                continue;
            int sv[2];
            socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
            char buf[16] = "message";
            struct iovec good = { buf, sizeof buf }, badiov = { p, 16 };
            struct msghdr m = { 0 };
            m.msg_iov = &good;
            m.msg_iovlen = 1;
            if (which == 1)
                m.msg_iov = p;
            if (which == 2)
                m.msg_iov = &badiov;
            if (which == 3) {
                m.msg_name = p;
                m.msg_namelen = 16;
            }
            if (which == 4) {
                m.msg_control = p;
                m.msg_controllen = 64;
            }
            char label[64];
            long r;
            if (dir2 == 0) {
                r = syscall(SYS_sendmsg, sv[0], which == 0 ? p : (void *)&m, 0);
                snprintf(label, sizeof label, "sendmsg %s", what[which]);
            } else {
                send(sv[1], "message", 7, 0);
                r = syscall(SYS_recvmsg, sv[0], which == 0 ? p : (void *)&m, MSG_DONTWAIT);
                snprintf(label, sizeof label, "recvmsg %s", what[which]);
            }
            int e = errno;
            char left[16];
            long more = recv(dir2 == 0 ? sv[1] : sv[0], left, sizeof left, MSG_DONTWAIT);
            errno = e;
            show(label, an, r);
            printf("%s %s: then %ld bytes waiting\n", label, an, more);
            close(sv[0]);
            close(sv[1]);
        }
    }
    show("bind", an, syscall(SYS_bind, socket(AF_UNIX, SOCK_STREAM, 0), p, 16));
    show("connect", an, syscall(SYS_connect, socket(AF_UNIX, SOCK_STREAM, 0), p, 16));
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    socklen_t len = 16;
    show("getsockname addr", an, syscall(SYS_getsockname, sv[0], p, &len));
    show("getsockname len", an, syscall(SYS_getsockname, sv[0], (char[16]){ 0 }, p));
    show("getsockopt value", an, syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_TYPE, p, &len));
    close(sv[0]);
    close(sv[1]);

    /* wait4 with a bad status pointer: Linux reaps the child, then reports EFAULT. */
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    struct timespec settle = { 0, 50000000 };
    nanosleep(&settle, NULL);
    show("wait4 status", an, syscall(SYS_wait4, -1, p, 0, NULL) == child ? 1 : -1);
    show("then wait4", an, syscall(SYS_wait4, -1, NULL, WNOHANG, NULL));

    close(fd);
    close(devnull);
    close(devzero);
    close(pfd[0]);
    close(pfd[1]);
}

/* Runs `f(a)` in a child; prints how the child ended. */
static void in_child(const char *name, const char *an, void (*f)(unsigned long), unsigned long a) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        f(a);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s %s: child killed by signal %d\n", name, an, WTERMSIG(status));
    else
        printf("%s %s: child exit %d\n", name, an, WEXITSTATUS(status));
}

static void exec_path(unsigned long a) { printf("execve path: %s\n", errname(syscall(SYS_execve, a, (char *[]){ "true", 0 }, (char *[]){ 0 }) < 0 ? errno : 0)); }
static void exec_argv(unsigned long a) { printf("execve argv: %s\n", errname(syscall(SYS_execve, "/bin/busybox", a, (char *[]){ 0 }) < 0 ? errno : 0)); }
static void exec_arg(unsigned long a) { printf("execve argv[1]: %s\n", errname(syscall(SYS_execve, "/bin/busybox", (char *[]){ "true", (char *)a, 0 }, (char *[]){ 0 }) < 0 ? errno : 0)); }
static void exec_envp(unsigned long a) { printf("execve envp: %s\n", errname(syscall(SYS_execve, "/bin/busybox", (char *[]){ "true", 0 }, a) < 0 ? errno : 0)); }
static void exec_env(unsigned long a) { printf("execve envp[0]: %s\n", errname(syscall(SYS_execve, "/bin/busybox", (char *[]){ "true", 0 }, (char *[]){ (char *)a, 0 }) < 0 ? errno : 0)); }

static void set_fs(unsigned long a) {
    unsigned long old = 0;
    syscall(SYS_arch_prctl, 0x1003, &old);
    long r;
    /* Raw, and put back at once: musl's errno lives behind %fs. */
    __asm__ volatile("syscall\n\t"
                     "movq %%rax, %%r12\n\t"
                     "movl $158, %%eax\n\t"
                     "movl $0x1002, %%edi\n\t"
                     "movq %3, %%rsi\n\t"
                     "syscall\n\t"
                     "movq %%r12, %%rax"
                     : "=a"(r) : "a"(158L), "D"(0x1002L), "S"(a), "r"(old) : "rcx", "r11", "r12", "memory");
    printf("arch_prctl ARCH_SET_FS: %s\n", r < 0 ? errname(-r) : "0");
    printf("arch_prctl ARCH_GET_FS: %s\n", syscall(SYS_arch_prctl, 0x1003, a) < 0 ? errname(errno) : "0");
}

static void tid_address(unsigned long a) {
    long r = syscall(SYS_set_tid_address, a);
    printf("set_tid_address: %s\n", r == getpid() ? "returned the tid" : "something else");
}

static void mmap_at(unsigned long a) {
    void *m = mmap((void *)a, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("mmap fixed: %s\n", m == MAP_FAILED ? errname(errno) : "mapped");
    m = mmap((void *)a, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap hint: %s\n", m == MAP_FAILED ? errname(errno) : (unsigned long)m == a ? "at the hint" : "elsewhere");
    printf("munmap: %s\n", munmap((void *)a, 4096) < 0 ? errname(errno) : "0");
    printf("mprotect: %s\n", mprotect((void *)a, 4096, PROT_READ) < 0 ? errname(errno) : "0");
    printf("madvise: %s\n", madvise((void *)a, 4096, MADV_DONTNEED) < 0 ? errname(errno) : "0");
}

/* rt_sigreturn with the stack pointer at `a` (a frame that cannot be read). */
static void sigreturn_at(unsigned long a) {
    __asm__ volatile("movq %0, %%rsp\n\tmovl $15, %%eax\n\tsyscall" : : "r"(a) : "memory");
}

/* rt_sigreturn on a frame of 0x41 bytes. */
static void sigreturn_garbage(unsigned long fill) {
    static unsigned char frame[4096] __attribute__((aligned(64)));
    memset(frame, (int)fill, sizeof frame);
    __asm__ volatile("leaq 2048(%0), %%rsp\n\tmovl $15, %%eax\n\tsyscall" : : "r"(frame) : "memory");
}

/* A real frame, edited by the handler. */
static int edit;
static unsigned long edit_value;
static void editor(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    unsigned short *sel = (unsigned short *)&g[REG_CSGSFS];
    switch (edit) {
    case 0: g[REG_RIP] = edit_value; break;
    case 1: sel[0] = edit_value; break;                       /* cs */
    case 2: sel[3] = edit_value; break;                       /* ss, strictly restored */
    case 3: sel[3] = edit_value; uc->uc_flags &= ~0x4UL; break; /* ss, fixed up */
    case 4: g[REG_RSP] = edit_value; break;
    case 5: g[REG_EFL] = edit_value; break;
    case 6: uc->uc_mcontext.fpregs = (void *)edit_value; break;
    }
}
static void sigreturn_edited(unsigned long mode) {
    edit = mode >> 32 & 0xff;
    struct sigaction sa = { 0 };
    sa.sa_sigaction = editor;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("came back\n");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (unsigned i = 0; i < NBAD; i++)
        plain_calls(bad[i].name, bad[i].addr);
    for (unsigned i = 0; i < NBAD; i++) {
        const char *an = bad[i].name;
        unsigned long a = bad[i].addr;
        in_child("execve path", an, exec_path, a);
        in_child("execve argv", an, exec_argv, a);
        in_child("execve argv[1]", an, exec_arg, a);
        in_child("execve envp", an, exec_envp, a);
        in_child("execve envp[0]", an, exec_env, a);
        in_child("arch_prctl", an, set_fs, a);
        in_child("set_tid_address", an, tid_address, a);
        in_child("mmap", an, mmap_at, a);
        in_child("rt_sigreturn, rsp", an, sigreturn_at, a);
    }
    in_child("rt_sigreturn, frame of", "0x41", sigreturn_garbage, 0x41);
    in_child("rt_sigreturn, frame of", "0x00", sigreturn_garbage, 0);
    in_child("rt_sigreturn, frame of", "0xff", sigreturn_garbage, 0xff);

    static const struct { const char *name; int mode; unsigned long value; } edits[] = {
        { "rip 0x8000000000000000", 0, 0x8000000000000000UL }, { "rip 0x800000000000", 0, 0x800000000000UL },
        { "rip 0xffffffff80000000", 0, 0xffffffff80000000UL }, { "rip -1", 0, ~0UL },
        { "cs 0", 1, 0 }, { "cs 0x2b", 1, 0x2b }, { "cs 0x10", 1, 0x10 }, { "cs 0x33 rpl0", 1, 0x30 },
        { "ss 0 strict", 2, 0 }, { "ss 0x33 strict", 2, 0x33 }, { "ss 0x2b rpl0 strict", 2, 0x28 },
        { "ss 0 fixed up", 3, 0 }, { "ss 0x33 fixed up", 3, 0x33 },
        { "rsp 0x8000000000000000", 4, 0x8000000000000000UL }, { "rsp 0xffff800000000000", 4, 0xffff800000000000UL },
        { "rflags all ones", 5, ~0UL }, { "rflags IOPL 3 and NT", 5, 0x3202 | 0x4000 },
        { "fpstate 0x8000000000000000", 6, 0x8000000000000000UL }, { "fpstate -1", 6, ~0UL },
    };
    for (unsigned i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        edit_value = edits[i].value;
        in_child("rt_sigreturn, frame with", edits[i].name, sigreturn_edited, (unsigned long)edits[i].mode << 32);
    }
    return probe_end();
}
