/* mremap and sigtimedwait against Linux. Build: musl-gcc -static -O2 -o sigmem sigmem.c */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "probe.h"

/* Signals reach a process that never leaves user mode: a handler interrupts a busy loop,
 * and SIGKILL ends one. */
static volatile sig_atomic_t alarmed;
static void on_alarm(int sig) { (void)sig; alarmed = 1; }

static void cpu_bound(void) {
    signal(SIGALRM, on_alarm);
    struct itimerval it = { { 0, 0 }, { 0, 100000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    while (!alarmed)
        ;
    printf("busy loop interrupted by SIGALRM: %d\n", alarmed);
    pid_t child = fork();
    if (child == 0)
        for (;;)
            ;
    struct timespec pause = { 0, 100000000 };
    nanosleep(&pause, NULL);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    printf("busy child killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}
int main(void) {
    char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(p, "kept across mremap");
    char *q = mremap(p, 4096, 3 * 4096, MREMAP_MAYMOVE);
    printf("mremap grow: %s, tail writable: %d\n", q == MAP_FAILED ? "failed" : q, (q[3 * 4096 - 1] = 1));
    char *r = mremap(q, 3 * 4096, 4096, 0);
    printf("mremap shrink same address: %d\n", r == q);
    printf("mremap bad flags: %s\n", mremap(r, 4096, 8192, 0x100) == MAP_FAILED && errno == EINVAL ? "EINVAL" : "?");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR1);
    siginfo_t info;
    int sig = sigtimedwait(&set, &info, NULL);
    printf("sigtimedwait got %d (SIGUSR1=%d) code %d\n", sig, SIGUSR1, info.si_code);
    struct timespec ts = { 0, 50000000 };
    printf("sigtimedwait timeout: %s\n", sigtimedwait(&set, &info, &ts) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    cpu_bound();
    return probe_end();
}
