/* signalfd and queued signals checked against Linux: signalfd/signalfd4 (errors in Linux's
 * order, mask updates, SIGKILL/SIGSTOP left out), reading signalfd_siginfo records (the
 * thread's own signals first, several per read, EINVAL/EAGAIN/EFAULT, a blocking read woken
 * by another process, EINTR and SA_RESTART), poll/select/epoll readiness, a signalfd read
 * after fork (the reader's signals), rt_sigqueueinfo and rt_tgsigqueueinfo (EFAULT, E2BIG,
 * EPERM for a forged code, ESRCH, EINVAL, EPERM as nobody), real-time signals that queue
 * with their values (read by signalfd, sigtimedwait and an SA_SIGINFO handler) and standard
 * ones that do not. Deterministic output only.
 * Build: musl-gcc -static -O2 -o signalfd signalfd.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#define BAD_PTR ((void *)8)
#define RT_A 40
#define RT_B 41

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case E2BIG: return "E2BIG";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static long sfd4(int fd, const void *mask, size_t size, int flags) {
    return syscall(SYS_signalfd4, fd, mask, size, flags);
}

static long sfd3(int fd, const void *mask, size_t size) {
    return syscall(SYS_signalfd, fd, mask, size);
}

static long queueinfo(pid_t pid, int sig, const siginfo_t *info) {
    return syscall(SYS_rt_sigqueueinfo, pid, sig, info);
}

static long tgqueueinfo(pid_t tgid, pid_t tid, int sig, const siginfo_t *info) {
    return syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, info);
}

static siginfo_t queued_info(int code, int value) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = code;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = value;
    return si;
}

static uint64_t sigbit(int sig) {
    return 1ull << (sig - 1);
}

/* Prints one record: the fields that do not depend on pids, and whether the pid is `who`. */
static void show(const char *what, const struct signalfd_siginfo *s, pid_t who) {
    uint64_t rest = s->ssi_fd | s->ssi_tid | s->ssi_band | s->ssi_overrun | s->ssi_trapno |
                    s->ssi_status | s->ssi_utime | s->ssi_stime | s->ssi_addr |
                    s->ssi_addr_lsb | s->ssi_syscall | s->ssi_call_addr | s->ssi_arch;
    printf("%s: signo %u errno %d code %d pid %s uid %u int %d ptr %llx rest %llx\n", what,
           s->ssi_signo, s->ssi_errno, s->ssi_code, (pid_t)s->ssi_pid == who ? "sender" : "other",
           s->ssi_uid, s->ssi_int, (unsigned long long)s->ssi_ptr, (unsigned long long)rest);
}

/* Reads one record and prints it, or the error. */
static void read_one(const char *what, int fd, pid_t who) {
    struct signalfd_siginfo s;
    memset(&s, 0xaa, sizeof s);
    long r = read(fd, &s, sizeof s);
    int e = errno;
    if (r != (long)sizeof s) {
        errno = e;
        printf("%s: read %ld %s\n", what, r, err(r));
        return;
    }
    show(what, &s, who);
}

static void block(uint64_t set) {
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 8);
}

static void unblock(uint64_t set) {
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &set, NULL, 8);
}

static void errors(void) {
    uint64_t mask = sigbit(SIGUSR1);
    long r;
    r = sfd4(-1, &mask, 4, 0);
    printf("signalfd4 size 4: %s\n", err(r));
    r = sfd4(-1, &mask, 16, 0);
    printf("signalfd4 size 16: %s\n", err(r));
    r = sfd4(-1, BAD_PTR, 8, 0);
    printf("signalfd4 bad mask: %s\n", err(r));
    r = sfd4(-1, BAD_PTR, 8, 1);
    printf("signalfd4 bad mask and bad flags: %s\n", err(r));
    r = sfd4(-1, BAD_PTR, 4, 0);
    printf("signalfd4 bad mask and bad size: %s\n", err(r));
    r = sfd4(-1, &mask, 8, 1);
    printf("signalfd4 flags 1: %s\n", err(r));
    r = sfd4(-1, &mask, 8, O_APPEND);
    printf("signalfd4 O_APPEND: %s\n", err(r));
    r = sfd4(1000, &mask, 8, 0);
    printf("signalfd4 closed fd: %s\n", err(r));
    r = sfd4(-2, &mask, 8, 0);
    printf("signalfd4 fd -2: %s\n", err(r));
    r = sfd4(1000, &mask, 8, 1);
    printf("signalfd4 closed fd and bad flags: %s\n", err(r));
    int p[2];
    pipe(p);
    r = sfd4(p[0], &mask, 8, 0);
    printf("signalfd4 on a pipe: %s\n", err(r));
    close(p[0]);
    close(p[1]);
    r = sfd3(-1, &mask, 4);
    printf("signalfd size 4: %s\n", err(r));
    r = sfd3(-1, &mask, 8);
    printf("signalfd creates: %s\n", err(r));
    if (r >= 0) {
        int fl = fcntl(r, F_GETFL), fd_fl = fcntl(r, F_GETFD);
        printf("signalfd flags: accmode %d nonblock %d cloexec %d\n", fl & O_ACCMODE,
               !!(fl & O_NONBLOCK), fd_fl & FD_CLOEXEC);
        close(r);
    }
    r = sfd4(-1, &mask, 8, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd4 nonblock cloexec: %s\n", err(r));
    if (r >= 0) {
        int fl = fcntl(r, F_GETFL), fd_fl = fcntl(r, F_GETFD);
        printf("signalfd4 flags: accmode %d nonblock %d cloexec %d\n", fl & O_ACCMODE,
               !!(fl & O_NONBLOCK), fd_fl & FD_CLOEXEC);
        char small[127];
        long n = read(r, small, sizeof small);
        printf("read 127 bytes: %s\n", err(n));
        n = read(r, small, 0);
        printf("read 0 bytes: %s\n", err(n));
        struct signalfd_siginfo s;
        n = read(r, &s, sizeof s);
        printf("read nothing pending: %s\n", err(n));
        n = write(r, &s, sizeof s);
        printf("write: %s\n", err(n));
        close(r);
    }
}

static void reading(void) {
    uint64_t mask = sigbit(SIGUSR1) | sigbit(SIGUSR2) | sigbit(SIGKILL) | sigbit(SIGSTOP);
    int fd = sfd4(-1, &mask, 8, SFD_NONBLOCK);
    pid_t me = getpid();
    kill(me, SIGUSR1);
    read_one("kill", fd, me);
    read_one("after kill", fd, me);
    syscall(SYS_tgkill, me, syscall(SYS_gettid), SIGUSR2);
    read_one("tgkill", fd, me);

    /* The thread's own signal first, though its number is higher. */
    kill(me, SIGUSR1);
    syscall(SYS_tgkill, me, syscall(SYS_gettid), SIGUSR2);
    read_one("private first", fd, me);
    read_one("then shared", fd, me);

    /* Several per read; only as many as fit. */
    kill(me, SIGUSR1);
    kill(me, SIGUSR2);
    struct signalfd_siginfo recs[3];
    long n = read(fd, recs, 128 + 100);
    printf("read 228 bytes with two pending: %ld\n", n);
    n = read(fd, recs, sizeof recs);
    printf("read 384 bytes with one pending: %ld signo %u\n", n, recs[0].ssi_signo);
    kill(me, SIGUSR1);
    kill(me, SIGUSR2);
    n = read(fd, recs, sizeof recs);
    printf("read 384 bytes with two pending: %ld signos %u %u\n", n, recs[0].ssi_signo,
           recs[1].ssi_signo);

    /* A standard signal sent twice is pending once. */
    kill(me, SIGUSR1);
    kill(me, SIGUSR1);
    n = read(fd, recs, sizeof recs);
    printf("SIGUSR1 twice: %ld bytes\n", n);

    /* A new mask through the same descriptor; signals outside it stay pending. */
    uint64_t only2 = sigbit(SIGUSR2);
    long r = sfd4(fd, &only2, 8, 0);
    printf("new mask: %s same fd %d\n", err(r), r == fd);
    kill(me, SIGUSR1);
    read_one("outside the mask", fd, me);
    sigset_t pending;
    sigpending(&pending);
    printf("SIGUSR1 still pending: %d\n", sigismember(&pending, SIGUSR1));
    r = sfd3(fd, &mask, 8);
    printf("mask back through signalfd: %s same fd %d\n", err(r), r == fd);
    read_one("inside again", fd, me);

    /* A bad buffer: EFAULT (Linux has taken the signal by then). */
    kill(me, SIGUSR1);
    n = read(fd, BAD_PTR, 128);
    printf("read into a bad buffer: %s\n", err(n));
    read(fd, recs, sizeof recs);
    close(fd);
}

static volatile int handled;

static void count_handler(int sig) {
    (void)sig;
    handled++;
}

/* A signal that is not blocked is delivered as usual: nothing is left for the signalfd. */
static void unblocked(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_handler;
    sigaction(SIGUSR1, &sa, NULL);
    unblock(sigbit(SIGUSR1));
    uint64_t mask = sigbit(SIGUSR1);
    int fd = sfd4(-1, &mask, 8, SFD_NONBLOCK);
    handled = 0;
    kill(getpid(), SIGUSR1);
    printf("unblocked: handler ran %d\n", handled);
    read_one("unblocked", fd, getpid());
    block(sigbit(SIGUSR1));
    sa.sa_handler = SIG_DFL;
    sigaction(SIGUSR1, &sa, NULL);
    close(fd);
}

static void readiness(void) {
    uint64_t mask = sigbit(SIGUSR1) | sigbit(SIGUSR2);
    int fd = sfd4(-1, &mask, 8, SFD_NONBLOCK);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    int n = poll(&p, 1, 0);
    printf("poll, nothing pending: %d revents %x\n", n, p.revents);
    kill(getpid(), SIGUSR1);
    n = poll(&p, 1, 0);
    printf("poll, SIGUSR1 pending: %d revents %x\n", n, p.revents);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(fd, &rd);
    FD_SET(fd, &wr);
    struct timeval tv = {0, 0};
    n = select(fd + 1, &rd, &wr, NULL, &tv);
    printf("select: %d readable %d writable %d\n", n, FD_ISSET(fd, &rd), FD_ISSET(fd, &wr));
    read_one("poll's signal", fd, getpid());
    n = poll(&p, 1, 0);
    printf("poll after reading: %d revents %x\n", n, p.revents);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    long r = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll_ctl add: %s\n", err(r));
    struct epoll_event out[2];
    n = epoll_wait(ep, out, 2, 0);
    printf("epoll_wait, nothing pending: %d\n", n);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
    n = epoll_wait(ep, out, 2, 0);
    printf("epoll_wait, SIGUSR2 pending: %d events %x data %u\n", n, n > 0 ? out[0].events : 0,
           n > 0 ? out[0].data.u32 : 0);
    read_one("epoll's signal", fd, getpid());
    n = epoll_wait(ep, out, 2, 0);
    printf("epoll_wait after reading: %d\n", n);

    /* Woken while asleep in epoll_wait by a signal from another process. */
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        usleep(200000);
        siginfo_t si = queued_info(SI_QUEUE, 5);
        queueinfo(parent, SIGUSR2, &si);
        _exit(0);
    }
    n = epoll_wait(ep, out, 2, 5000);
    printf("epoll_wait woken: %d events %x\n", n, n > 0 ? out[0].events : 0);
    read_one("the child's signal", fd, child);
    waitpid(child, NULL, 0);
    close(ep);
    close(fd);
}

static void blocking(void) {
    uint64_t mask = sigbit(SIGUSR1);
    int fd = sfd4(-1, &mask, 8, 0);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        usleep(200000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    read_one("blocking read woken", fd, child);
    waitpid(child, NULL, 0);

    /* A signal outside the mask with a handler interrupts the read. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_handler;
    sigaction(SIGALRM, &sa, NULL);
    handled = 0;
    struct itimerval it = {{0, 0}, {0, 150000}};
    setitimer(ITIMER_REAL, &it, NULL);
    read_one("blocking read, SIGALRM", fd, 0);
    printf("handler ran %d\n", handled);

    /* With SA_RESTART the read goes on and takes the signal that comes later. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    handled = 0;
    child = fork();
    if (child == 0) {
        usleep(500000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &it, NULL);
    read_one("restarted read", fd, child);
    printf("handler ran %d\n", handled);
    waitpid(child, NULL, 0);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    close(fd);
}

/* A signalfd inherited across fork reads the reader's own signals. */
static void after_fork(void) {
    uint64_t mask = sigbit(SIGUSR1);
    int fd = sfd4(-1, &mask, 8, SFD_NONBLOCK);
    pid_t parent = getpid();
    kill(parent, SIGUSR1);
    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        char line[200];
        struct signalfd_siginfo s;
        long r = read(fd, &s, sizeof s);
        int len = snprintf(line, sizeof line, "child reads the parent's signal: %s\n", err(r));
        kill(getpid(), SIGUSR1);
        memset(&s, 0, sizeof s);
        r = read(fd, &s, sizeof s);
        len += snprintf(line + len, sizeof line - len, "child reads its own: %ld signo %u pid %s\n",
                        r, s.ssi_signo, (pid_t)s.ssi_pid == getpid() ? "self" : "other");
        write(p[1], line, len);
        _exit(0);
    }
    close(p[1]);
    char line[200] = {0};
    long got = 0, r;
    while ((r = read(p[0], line + got, sizeof line - 1 - got)) > 0) got += r;
    waitpid(child, NULL, 0);
    printf("%s", line);
    read_one("parent still has its own", fd, parent);
    close(p[0]);
    close(fd);
}

static void sigqueue_errors(void) {
    pid_t me = getpid();
    siginfo_t si = queued_info(SI_QUEUE, 1);
    long r;
    r = queueinfo(me, SIGUSR1, BAD_PTR);
    printf("rt_sigqueueinfo bad info: %s\n", err(r));
    r = queueinfo(99999, 99, BAD_PTR);
    printf("rt_sigqueueinfo bad info, pid and signal: %s\n", err(r));
    r = queueinfo(99999, SIGUSR1, &si);
    printf("rt_sigqueueinfo no such pid: %s\n", err(r));
    r = queueinfo(0, SIGUSR1, &si);
    printf("rt_sigqueueinfo pid 0: %s\n", err(r));
    r = queueinfo(-1, SIGUSR1, &si);
    printf("rt_sigqueueinfo pid -1: %s\n", err(r));
    r = queueinfo(99999, 65, &si);
    printf("rt_sigqueueinfo no such pid, signal 65: %s\n", err(r));
    r = queueinfo(me, 65, &si);
    printf("rt_sigqueueinfo signal 65: %s\n", err(r));
    r = queueinfo(me, -1, &si);
    printf("rt_sigqueueinfo signal -1: %s\n", err(r));
    r = queueinfo(me, 0, &si);
    printf("rt_sigqueueinfo signal 0: %s\n", err(r));

    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    int codes[] = {SI_USER, SI_TKILL, SI_KERNEL, 1, SI_QUEUE, SI_MESGQ, -100};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        siginfo_t c = queued_info(codes[i], 3);
        r = queueinfo(child, 0, &c);
        printf("rt_sigqueueinfo to a child, code %d: %s\n", codes[i], err(r));
    }
    siginfo_t big = queued_info(-100, 3);
    ((char *)&big)[100] = 1;
    r = queueinfo(child, 0, &big);
    printf("rt_sigqueueinfo unknown code, tail set: %s\n", err(r));
    big.si_code = SI_USER;
    r = queueinfo(child, 0, &big);
    printf("rt_sigqueueinfo code 0, tail set: %s\n", err(r));
    big.si_code = 0x90;
    r = queueinfo(child, 0, &big);
    printf("rt_sigqueueinfo code 0x90, tail set: %s\n", err(r));
    r = queueinfo(99999, 0, &big);
    printf("rt_sigqueueinfo code 0x90, tail set, no such pid: %s\n", err(r));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    /* As nobody: not to root's processes, but to itself. */
    pid_t root_child = fork();
    if (root_child == 0) {
        pause();
        _exit(0);
    }
    int p[2];
    pipe(p);
    child = fork();
    if (child == 0) {
        char line[300];
        int len = 0;
        setuid(65534);
        siginfo_t c = queued_info(SI_QUEUE, 9);
        r = queueinfo(root_child, SIGUSR1, &c);
        len += snprintf(line + len, sizeof line - len, "nobody to root: %s\n", err(r));
        r = queueinfo(root_child, 0, &c);
        len += snprintf(line + len, sizeof line - len, "nobody to root, signal 0: %s\n", err(r));
        r = tgqueueinfo(root_child, root_child, SIGUSR1, &c);
        len += snprintf(line + len, sizeof line - len, "nobody to root's thread: %s\n", err(r));
        uint64_t mask = sigbit(SIGUSR1);
        int fd = sfd4(-1, &mask, 8, SFD_NONBLOCK);
        c = queued_info(SI_QUEUE, 9);
        r = queueinfo(getpid(), SIGUSR1, &c);
        struct signalfd_siginfo s;
        memset(&s, 0, sizeof s);
        long n = read(fd, &s, sizeof s);
        len += snprintf(line + len, sizeof line - len,
                        "nobody to itself: %s read %ld code %d uid %u int %d\n", err(r), n,
                        s.ssi_code, s.ssi_uid, s.ssi_int);
        write(p[1], line, len);
        _exit(0);
    }
    close(p[1]);
    char line[300] = {0};
    long got = 0;
    while ((r = read(p[0], line + got, sizeof line - 1 - got)) > 0) got += r;
    waitpid(child, NULL, 0);
    printf("%s", line);
    close(p[0]);
    kill(root_child, SIGKILL);
    waitpid(root_child, NULL, 0);
}

/* Real-time signals queue, each with its value, and come out lowest number first, in the
 * order sent; a standard signal sent twice by sigqueue is pending once. */
static void queued(void) {
    uint64_t mask = sigbit(RT_A) | sigbit(RT_B) | sigbit(SIGUSR1);
    block(mask);
    int fd = sfd4(-1, &mask, 8, SFD_NONBLOCK);
    pid_t me = getpid();
    sigqueue(me, RT_B, (union sigval){.sival_int = 11});
    sigqueue(me, RT_B, (union sigval){.sival_int = 22});
    sigqueue(me, RT_A, (union sigval){.sival_int = 33});
    sigqueue(me, SIGUSR1, (union sigval){.sival_int = 44});
    sigqueue(me, SIGUSR1, (union sigval){.sival_int = 55});
    siginfo_t odd = queued_info(-100, 66);
    odd.si_errno = 7;
    long r = queueinfo(me, RT_B, &odd);
    printf("queue code -100 with errno 7: %s\n", err(r));
    sigset_t pending;
    sigpending(&pending);
    printf("pending: %d %d %d\n", sigismember(&pending, SIGUSR1), sigismember(&pending, RT_A),
           sigismember(&pending, RT_B));
    struct signalfd_siginfo recs[8];
    long n = read(fd, recs, sizeof recs);
    printf("read all: %ld bytes\n", n);
    for (long i = 0; i < n / 128; i++) show("queued", &recs[i], me);

    /* The pointer half of the value comes through too. */
    sigqueue(me, RT_A, (union sigval){.sival_ptr = (void *)0x123456789abcull});
    read_one("pointer value", fd, me);

    /* sigtimedwait sees the same. */
    sigqueue(me, RT_B, (union sigval){.sival_int = 77});
    sigqueue(me, RT_B, (union sigval){.sival_int = 88});
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, RT_B);
    struct timespec zero = {0, 0};
    for (int i = 0; i < 3; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int sig = sigtimedwait(&set, &si, &zero);
        int e = errno;
        errno = e;
        printf("sigtimedwait: %d %s code %d pid %s uid %u value %d errno %d\n", sig,
               err(sig), si.si_code, si.si_pid == me ? "self" : "other", si.si_uid,
               si.si_value.sival_int, si.si_errno);
    }
    close(fd);
}

static volatile int seen_values[8];
static volatile int seen_codes[8];
static volatile int seen;

static void info_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (seen < 8) {
        seen_values[seen] = si->si_value.sival_int;
        seen_codes[seen] = si->si_code * 100 + sig;
        seen++;
    }
}

static void handler_values(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(RT_A, &sa, NULL);
    sigaction(RT_B, &sa, NULL);
    block(sigbit(RT_A) | sigbit(RT_B));
    pid_t me = getpid();
    sigqueue(me, RT_B, (union sigval){.sival_int = 1});
    sigqueue(me, RT_A, (union sigval){.sival_int = 2});
    sigqueue(me, RT_B, (union sigval){.sival_int = 3});
    sigqueue(me, RT_A, (union sigval){.sival_int = 4});
    seen = 0;
    unblock(sigbit(RT_A) | sigbit(RT_B));
    printf("handler ran %d times:", seen);
    for (int i = 0; i < seen; i++) printf(" %d/%d", seen_codes[i], seen_values[i]);
    printf("\n");
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(RT_A, &sa, NULL);
    sigaction(RT_B, &sa, NULL);
    block(sigbit(RT_A) | sigbit(RT_B));
}

static int thread_pipe[2], go_pipe[2];
static int shared_fd;

static void *thread_reader(void *arg) {
    (void)arg;
    pid_t tid = syscall(SYS_gettid);
    write(thread_pipe[1], &tid, sizeof tid);
    char c;
    read(go_pipe[0], &c, 1);
    struct signalfd_siginfo s;
    memset(&s, 0, sizeof s);
    long n = read(shared_fd, &s, sizeof s);
    static char line[200];
    snprintf(line, sizeof line, "thread reads: %ld signo %u code %d int %d\n", n, s.ssi_signo,
             s.ssi_code, s.ssi_int);
    return line;
}

static void tg_queue(void) {
    pid_t me = getpid();
    pid_t self_tid = syscall(SYS_gettid);
    siginfo_t si = queued_info(SI_QUEUE, 5);
    long r;
    r = tgqueueinfo(me, self_tid, SIGUSR1, BAD_PTR);
    printf("rt_tgsigqueueinfo bad info: %s\n", err(r));
    r = tgqueueinfo(0, 0, SIGUSR1, BAD_PTR);
    printf("rt_tgsigqueueinfo bad info, tid 0: %s\n", err(r));
    r = tgqueueinfo(0, self_tid, SIGUSR1, &si);
    printf("rt_tgsigqueueinfo tgid 0: %s\n", err(r));
    r = tgqueueinfo(me, 0, SIGUSR1, &si);
    printf("rt_tgsigqueueinfo tid 0: %s\n", err(r));
    r = tgqueueinfo(me, -1, SIGUSR1, &si);
    printf("rt_tgsigqueueinfo tid -1: %s\n", err(r));
    r = tgqueueinfo(me + 1000, self_tid, SIGUSR1, &si);
    printf("rt_tgsigqueueinfo wrong tgid: %s\n", err(r));
    r = tgqueueinfo(me, 99999, SIGUSR1, &si);
    printf("rt_tgsigqueueinfo no such tid: %s\n", err(r));
    r = tgqueueinfo(me, self_tid, 65, &si);
    printf("rt_tgsigqueueinfo signal 65: %s\n", err(r));
    r = tgqueueinfo(me, self_tid, 0, &si);
    printf("rt_tgsigqueueinfo signal 0: %s\n", err(r));

    uint64_t mask = sigbit(RT_A) | sigbit(SIGUSR1);
    shared_fd = sfd4(-1, &mask, 8, SFD_NONBLOCK);
    siginfo_t own = queued_info(SI_USER, 6);
    r = tgqueueinfo(me, self_tid, SIGUSR1, &own);
    printf("rt_tgsigqueueinfo to itself, code 0: %s\n", err(r));
    read_one("own SI_USER", shared_fd, me);

    pipe(thread_pipe);
    pipe(go_pipe);
    pthread_t t;
    pthread_create(&t, NULL, thread_reader, NULL);
    pid_t tid;
    read(thread_pipe[0], &tid, sizeof tid);
    r = tgqueueinfo(me, tid, RT_A, &own);
    printf("rt_tgsigqueueinfo to another thread, code 0: %s\n", err(r));
    siginfo_t tk = queued_info(SI_TKILL, 6);
    r = tgqueueinfo(me, tid, RT_A, &tk);
    printf("rt_tgsigqueueinfo to another thread, SI_TKILL: %s\n", err(r));
    siginfo_t q = queued_info(SI_QUEUE, 8);
    r = tgqueueinfo(me, tid, RT_A, &q);
    printf("rt_tgsigqueueinfo to another thread: %s\n", err(r));
    read_one("main thread reads the other's", shared_fd, me);
    write(go_pipe[1], "g", 1);
    char *line;
    pthread_join(t, (void **)&line);
    printf("%s", line);

    /* rt_sigqueueinfo to the thread's id reaches the process (still readable once the
     * thread has ended, by whichever thread asks). */
    pthread_create(&t, NULL, thread_reader, NULL);
    read(thread_pipe[0], &tid, sizeof tid);
    q = queued_info(SI_QUEUE, 12);
    r = queueinfo(tid, RT_A, &q);
    printf("rt_sigqueueinfo to a thread id: %s\n", err(r));
    write(go_pipe[1], "g", 1);
    pthread_join(t, (void **)&line);
    printf("%s", line);
    close(shared_fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    block(sigbit(SIGUSR1) | sigbit(SIGUSR2) | sigbit(RT_A) | sigbit(RT_B));
    errors();
    reading();
    unblocked();
    readiness();
    blocking();
    after_fork();
    sigqueue_errors();
    queued();
    handler_values();
    tg_queue();
    return probe_end();
}
