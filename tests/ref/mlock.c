/* mlock, munlock, mlock2, mlockall, munlockall, checked against Linux: what is counted as
 * locked (VmLck), rounding to pages, holes (ENOMEM), flags (EINVAL), MCL_FUTURE, unmapping
 * a locked range, no inheritance by fork, and RLIMIT_MEMLOCK's default 8 MiB for an
 * unprivileged caller. Deterministic output only (sizes as differences).
 * Build: musl-gcc -static -O2 -o mlock mlock.c */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    default: return "other";
    }
}

static long vmlck(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmLck: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static long base;
static void show(const char *what) { printf("%s: VmLck +%ld kB\n", what, vmlck() - base); }

int main(void) {
    const size_t K = 1024;
    base = vmlck();
    char *p = mmap(NULL, 256 * K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mlock nothing: %s\n", err(mlock(p, 0)));
    printf("mlock 64 KiB: %s\n", err(mlock(p, 64 * K)));
    show("after");
    printf("mlock it again: %s\n", err(mlock(p, 64 * K)));
    show("after");
    printf("munlock the middle 16 KiB: %s\n", err(munlock(p + 16 * K, 16 * K)));
    show("after");
    printf("mlock 10 bytes at +100 KiB+100: %s\n", err(mlock(p + 100 * K + 100, 10)));
    show("after (one page)");
    printf("mlock across a page edge: %s\n", err(mlock(p + 128 * K - 1, 2)));
    show("after (two pages)");
    printf("mlock2 bad flags: %s\n", err(syscall(SYS_mlock2, p, 4096, 2)));
    printf("mlock2 MLOCK_ONFAULT: %s\n", err(syscall(SYS_mlock2, p + 200 * K, 8 * K, 1)));
    show("after");
    printf("mlock whole range as root: %s\n", err(mlock(p, 256 * K)));
    show("after");
    printf("mlock length -1: %s\n", err(syscall(SYS_mlock, p, (size_t)-1)));
    printf("munlock wrapping: %s\n", err(syscall(SYS_munlock, p + 4096, (size_t)-8192)));
    munmap(p + 192 * K, 64 * K);
    show("after unmapping 64 KiB of it");
    printf("mlock over the hole: %s\n", err(mlock(p, 256 * K)));
    printf("munlock over the hole: %s\n", err(munlock(p, 256 * K)));
    show("after the two (each changed what lies before the hole)");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        base = 0;
        show("child");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("munlock all of it: %s\n", err(munlock(p, 192 * K)));
    show("after");

    printf("mlockall 0: %s\n", err(mlockall(0)));
    printf("mlockall MCL_ONFAULT: %s\n", err(mlockall(MCL_ONFAULT)));
    printf("mlockall 8: %s\n", err(mlockall(8)));
    printf("mlockall MCL_FUTURE: %s\n", err(mlockall(MCL_FUTURE)));
    long before = vmlck();
    char *q = mmap(NULL, 128 * K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("a new mapping under MCL_FUTURE: VmLck +%ld kB\n", vmlck() - before);
    printf("munlockall: %s\n", err(munlockall()));
    show("after");
    munmap(q, 128 * K);

    /* An unprivileged caller under the default RLIMIT_MEMLOCK (8 MiB). */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        char *big = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        base = vmlck();
        printf("user: mlock 4 MiB: %s\n", err(mlock(big, 4 << 20)));
        printf("user: mlock 6 MiB more: %s\n", err(mlock(big + (4 << 20), 6 << 20)));
        printf("user: mlock the same 4 MiB again: %s\n", err(mlock(big, 4 << 20)));
        printf("user: mlock 4 MiB more: %s\n", err(mlock(big + (4 << 20), 4 << 20)));
        show("user: after");
        printf("user: mlockall MCL_CURRENT (16 MiB mapped): %s\n", err(mlockall(MCL_CURRENT)));
        printf("user: munlockall: %s\n", err(munlockall()));
        show("user: after");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return probe_end();
}
