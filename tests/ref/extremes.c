/* Arguments at the edges of their types, against Linux: timeouts of centuries, interval
 * timers that never come back, an alternate signal stack that wraps past 2^64, signal
 * frames that cannot fit, a seek to the top of off_t, ranges that wrap. The kernel must
 * answer each with an error or a result, never with an arithmetic overflow (or a hang) of
 * its own.
 * Build: musl-gcc -static -O2 -o extremes extremes.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

static void report(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
}

/* Runs `body` in a child and says how the child ended. */
static void in_child(const char *what, void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: killed by %s\n", what, strsignal(WTERMSIG(status)));
    else
        printf("%s: exit %d\n", what, WEXITSTATUS(status));
}

static volatile sig_atomic_t caught;
static void on_signal(int sig) { (void)sig; caught++; }

static void wrapping_altstack(void) {
    stack_t ss = { .ss_sp = (void *)0xfffffffffffff000ul, .ss_size = 0x10000, .ss_flags = 0 };
    report("sigaltstack(wrapping)", sigaltstack(&ss, NULL));
    stack_t old;
    report("sigaltstack(query)", sigaltstack(NULL, &old));
    printf("  old flags %d size %#zx\n", old.ss_flags, old.ss_size);
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK };
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1); /* the frame cannot be written at the wrapped top: SIGSEGV */
    printf("  handler ran %d times\n", caught);
}

static void sigreturn_at_top(void) {
    __asm__ volatile("mov $-1, %%rsp\n\tmov $15, %%eax\n\tsyscall\n\tud2" ::: "memory");
}

static long pid_for_tiny_stack;
static void signal_on_tiny_stack(void) {
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGUSR1, &sa, NULL);
    pid_for_tiny_stack = getpid();
    /* kill(getpid(), SIGUSR1) with rsp near zero: no room for the signal frame. */
    __asm__ volatile("mov %0, %%rdi\n\tmov $10, %%esi\n\tmov $62, %%eax\n\tmov $0x100, %%rsp\n\tsyscall\n\tud2"
                     :: "r"(pid_for_tiny_stack) : "rdi", "rsi", "rax", "memory");
}

static void interval_of_centuries(void) {
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { LONG_MAX, 0 }, { 0, 1000 } };
    report("setitimer(interval LONG_MAX s)", setitimer(ITIMER_REAL, &it, NULL));
    struct timespec pause = { 0, 50000000 };
    nanosleep(&pause, NULL);
    printf("  SIGALRM caught %d time(s)\n", caught);
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
}

static void posix_timer_of_centuries(void) {
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGUSR2, &sa, NULL);
    struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };
    timer_t t;
    report("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &t));
    struct itimerspec its = { { LONG_MAX, 999999999 }, { 0, 1000000 } };
    report("timer_settime(interval LONG_MAX s)", timer_settime(t, 0, &its, NULL));
    struct timespec pause = { 0, 50000000 };
    nanosleep(&pause, NULL);
    printf("  SIGUSR2 caught %d time(s)\n", caught);
    timer_delete(t);
}

int main(void) {
    int p[2];
    pipe(p);
    write(p[1], "x", 1);

    struct pollfd pfd = { .fd = p[0], .events = POLLIN };
    struct timespec forever = { LONG_MAX, 999999999 };
    report("ppoll(ready, LONG_MAX s)", ppoll(&pfd, 1, &forever, NULL));
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    report("pselect(ready, LONG_MAX s)", pselect(p[0] + 1, &rd, NULL, NULL, &forever, NULL));
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = { LONG_MAX, 999999 };
    report("select(ready, LONG_MAX s)", select(p[0] + 1, &rd, NULL, NULL, &tv));
    int word = 1;
    report("futex_wait(mismatch, LONG_MAX s)", syscall(SYS_futex, &word, 0 /* FUTEX_WAIT */, 2, &forever, NULL, 0));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    report("sigtimedwait(pending, LONG_MAX s)", sigtimedwait(&set, NULL, &forever));
    sigprocmask(SIG_UNBLOCK, &set, NULL);

    int fd = open("/tmp/extremes", O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "hello", 5);
    report("lseek(LLONG_MAX, SEEK_SET)", lseek(fd, LLONG_MAX, SEEK_SET) == LLONG_MAX ? 1 : -1);
    report("lseek(+1, SEEK_CUR) past LLONG_MAX", lseek(fd, 1, SEEK_CUR));
    report("mmap(anon, len 2^64 - 4096)", mmap(NULL, (size_t)-4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
    report("mprotect(len 2^64 - 4096)", mprotect((void *)0x10000, (size_t)-4096, PROT_READ));
    report("munmap(wrapping)", munmap((void *)0xfffffffffffff000ul, 8192));
    report("madvise(len 2^64 - 4096)", madvise((void *)0x10000, (size_t)-4096, MADV_DONTNEED));
    close(fd);

    in_child("signal on a wrapping altstack", wrapping_altstack);
    in_child("rt_sigreturn with rsp = 2^64 - 1", sigreturn_at_top);
    in_child("signal with rsp near 0", signal_on_tiny_stack);
    in_child("interval timer of LONG_MAX s", interval_of_centuries);
    in_child("POSIX timer of LONG_MAX s", posix_timer_of_centuries);
    printf("done\n");
    return probe_end();
}
