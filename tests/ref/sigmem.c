/* mremap and sigtimedwait against Linux. Build: musl-gcc -static -O2 -o sigmem sigmem.c */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
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
    return 0;
}
