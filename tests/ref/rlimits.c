/* Resource limits checked against Linux: getrlimit/setrlimit/prlimit64 (defaults, order of
 * errors, who may raise or read what, another process's limits), /proc/self/limits, and the
 * limits enforced: FSIZE (writes cut short, EFBIG and SIGXFSZ, truncate), DATA (private
 * writable mappings, brk), AS (every mapping), NPROC (fork as an unprivileged user), MEMLOCK
 * (EPERM at 0, ENOMEM past it), CPU (SIGXCPU, then SIGKILL at the hard limit); inherited by
 * fork. Deterministic output only.
 * Build: musl-gcc -static -O2 -o rlimits rlimits.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case ENOMEM: return "ENOMEM";
    case EFBIG: return "EFBIG";
    case EAGAIN: return "EAGAIN";
    default: return "other";
    }
}

static void lim(const char *what, unsigned long long v) {
    if (v == RLIM_INFINITY)
        printf(" %s unlimited", what);
    else
        printf(" %s %llu", what, v);
}

static void show(int resource) {
    struct rlimit rl;
    int r = getrlimit(resource, &rl);
    printf("resource %d: %s", resource, err(r));
    if (r == 0) {
        lim("soft", rl.rlim_cur);
        lim("hard", rl.rlim_max);
    }
    printf("\n");
}

static long raw_prlimit(pid_t pid, int resource, const struct rlimit *new, struct rlimit *old) {
    return syscall(SYS_prlimit64, pid, resource, new, old);
}

static int set(int resource, rlim_t soft, rlim_t hard) {
    struct rlimit rl = {soft, hard};
    return setrlimit(resource, &rl);
}

static void in_child(const char *what, void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

static volatile sig_atomic_t xfsz, xcpu;
static void on_xfsz(int sig) { (void)sig; xfsz++; }
static void on_xcpu(int sig) { (void)sig; xcpu++; }

static void file_size(void) {
    signal(SIGXFSZ, on_xfsz);
    set(RLIMIT_FSIZE, 10000, RLIM_INFINITY);
    int fd = open("/tmp/big", O_CREAT | O_TRUNC | O_RDWR, 0644);
    static char buf[20000];
    long r = write(fd, buf, sizeof buf);
    printf("  write of 20000 under 10000: %ld\n", r);
    r = write(fd, buf, 1);
    printf("  write at the limit: %s, SIGXFSZ %d\n", err(r), xfsz);
    r = write(fd, buf, 0);
    printf("  empty write at the limit: %s, SIGXFSZ %d\n", err(r), xfsz);
    r = pwrite(fd, buf, 10, 9995);
    printf("  pwrite of 10 at 9995: %ld\n", r);
    r = ftruncate(fd, 20000);
    printf("  ftruncate to 20000: %s, SIGXFSZ %d\n", err(r), xfsz);
    r = ftruncate(fd, 5000);
    printf("  ftruncate to 5000: %s\n", err(r));
    r = truncate("/tmp/big", 10000);
    printf("  truncate to 10000: %s\n", err(r));
    r = truncate("/tmp/big", 10001);
    printf("  truncate to 10001: %s, SIGXFSZ %d\n", err(r), xfsz);
    int p[2];
    pipe(p);
    r = write(p[1], buf, 15000);
    printf("  a pipe is not bound: %ld\n", r);
    signal(SIGXFSZ, SIG_DFL);
    fflush(stdout);
    lseek(fd, 0, SEEK_END);
    write(fd, buf, 1);
    printf("  survived SIGXFSZ\n");
}

static void data_and_as(void) {
    set(RLIMIT_DATA, 1 << 20, RLIM_INFINITY);
    void *m = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("  private writable 2 MiB under DATA 1 MiB: %s\n", err(m == MAP_FAILED ? -1 : 0));
    m = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("  private writable 256 KiB: %s\n", err(m == MAP_FAILED ? -1 : 0));
    m = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    printf("  shared writable 2 MiB: %s\n", err(m == MAP_FAILED ? -1 : 0));
    m = mmap(NULL, 2 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("  private read-only 2 MiB: %s\n", err(m == MAP_FAILED ? -1 : 0));
    void *b = sbrk(2 << 20);
    printf("  sbrk of 2 MiB: %s\n", err(b == (void *)-1 ? -1 : 0));
    b = sbrk(4096);
    printf("  sbrk of a page: %s\n", err(b == (void *)-1 ? -1 : 0));
    set(RLIMIT_DATA, 0, 64 << 20);
    m = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("  DATA soft 0 under hard 64 MiB (the exception): %s\n", err(m == MAP_FAILED ? -1 : 0));
    set(RLIMIT_DATA, RLIM_INFINITY, RLIM_INFINITY);
    set(RLIMIT_AS, 64 << 20, RLIM_INFINITY);
    m = mmap(NULL, 100 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("  100 MiB under AS 64 MiB: %s\n", err(m == MAP_FAILED ? -1 : 0));
    m = mmap(NULL, 16 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("  16 MiB: %s\n", err(m == MAP_FAILED ? -1 : 0));
    void *g = mremap(m, 16 << 20, 80 << 20, MREMAP_MAYMOVE);
    printf("  mremap to 80 MiB: %s\n", err(g == MAP_FAILED ? -1 : 0));
    m = mmap(m, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("  MAP_FIXED over itself: %s\n", err(m == MAP_FAILED ? -1 : 0));
}

static void processes(void) {
    setuid(65534);
    set(RLIMIT_NPROC, 1, 1);
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    printf("  fork with NPROC 1 as nobody: %s\n", err(pid));
    if (pid > 0) waitpid(pid, NULL, 0);
    struct rlimit rl = {2, 2};
    printf("  raise NPROC hard as nobody: %s\n", err(setrlimit(RLIMIT_NPROC, &rl)));
}

static void processes2(void) {
    setuid(65534);
    set(RLIMIT_NPROC, 2, 2);
    int p[2];
    pipe(p);
    pid_t first = fork();
    if (first == 0) {
        char c;
        read(p[0], &c, 1);
        _exit(0);
    }
    printf("  first fork with NPROC 2: %s\n", err(first));
    pid_t second = fork();
    if (second == 0) _exit(0);
    printf("  second fork: %s\n", err(second));
    write(p[1], "x", 1);
    waitpid(first, NULL, 0);
    if (second > 0) waitpid(second, NULL, 0);
}

static void memlock(void) {
    setuid(65534);
    static char page[8192] __attribute__((aligned(4096)));
    /* Lowered only: an unprivileged caller cannot raise a hard limit again. */
    set(RLIMIT_MEMLOCK, 4096, 4096);
    printf("  mlock of a page under one page: %s\n", err(mlock(page, 4096)));
    printf("  mlock of two pages: %s\n", err(mlock(page, 8192)));
    munlock(page, 4096);
    set(RLIMIT_MEMLOCK, 0, 0);
    printf("  mlock under MEMLOCK 0: %s\n", err(mlock(page, 4096)));
}

static void cpu_soft(void) {
    set(RLIMIT_CPU, 1, RLIM_INFINITY);
    for (volatile unsigned long i = 0;; i++) {}
}

static void cpu_hard(void) {
    signal(SIGXCPU, on_xcpu);
    set(RLIMIT_CPU, 1, 2);
    fflush(stdout);
    for (volatile unsigned long i = 0; !xcpu; i++) {}
    printf("  SIGXCPU caught\n");
    struct rlimit rl;
    getrlimit(RLIMIT_CPU, &rl);
    printf("  soft limit moved on: %llu\n", (unsigned long long)rl.rlim_cur);
    fflush(stdout);
    for (volatile unsigned long i = 0;; i++) {}
}

static void as_nobody(void) {
    setuid(65534);
    struct rlimit rl;
    long r = raw_prlimit(1, RLIMIT_NOFILE, NULL, &rl);
    printf("  read init's limits: %s\n", err(r));
    r = raw_prlimit(getppid(), RLIMIT_NOFILE, NULL, &rl);
    printf("  read root parent's limits: %s\n", err(r));
    r = raw_prlimit(0, RLIMIT_NOFILE, NULL, &rl);
    printf("  read own: %s\n", err(r));
    rl.rlim_max = 8192;
    r = setrlimit(RLIMIT_NOFILE, &rl);
    printf("  raise NOFILE hard: %s\n", err(r));
    rl.rlim_max = 100;
    rl.rlim_cur = 100;
    r = setrlimit(RLIMIT_NOFILE, &rl);
    printf("  lower NOFILE: %s\n", err(r));
    rl.rlim_max = 200;
    r = setrlimit(RLIMIT_NOFILE, &rl);
    printf("  raise it again: %s\n", err(r));
    r = set(RLIMIT_CORE, 100, 50);
    printf("  soft above hard: %s\n", err(r));
}

/* RLIMIT_SIGPENDING: queued signals counted per real user; sigqueue and tgkill beyond the
 * limit are EAGAIN for a real-time signal, a standard one stays pending without details;
 * kill is not held back. In a user of its own, so nothing else is counted. */
static void pending_signals(void) {
    if (setresgid(4242, 4242, 4242) || setresuid(4242, 4242, 4242)) {
        printf("  setresuid failed\n");
        return;
    }
    set(RLIMIT_SIGPENDING, 10, 10);
    sigset_t set_;
    sigemptyset(&set_);
    sigaddset(&set_, SIGRTMIN + 1);
    sigaddset(&set_, SIGRTMIN + 2);
    sigaddset(&set_, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set_, NULL);
    int ok = 0, again = 0, other = 0;
    for (int i = 0; i < 14; i++) {
        union sigval v = {.sival_int = i};
        if (sigqueue(getpid(), SIGRTMIN + 1, v) == 0) ok++;
        else if (errno == EAGAIN) again++;
        else other++;
    }
    printf("  sigqueue x14: ok %d, EAGAIN %d, other %d\n", ok, again, other);
    long t = syscall(SYS_tgkill, getpid(), getpid(), SIGRTMIN + 1);
    printf("  tgkill over the limit: %s\n", err(t));
    int kills = 0;
    for (int i = 0; i < 3; i++) kills += kill(getpid(), SIGRTMIN + 2) == 0;
    printf("  kill x3 over the limit: %d ok\n", kills);
    union sigval v = {.sival_int = 99};
    printf("  sigqueue SIGUSR1 over the limit: %s\n", err(sigqueue(getpid(), SIGUSR1, v)));
    struct timespec zero = {0, 0};
    siginfo_t si;
    int got[3] = {0, 0, 0}, usr1_code = -99, usr1_value = -99;
    int sig;
    while ((sig = sigtimedwait(&set_, &si, &zero)) > 0) {
        if (sig == SIGRTMIN + 1) got[0]++;
        else if (sig == SIGRTMIN + 2) got[1]++;
        else if (sig == SIGUSR1) {
            got[2]++;
            usr1_code = si.si_code;
            usr1_value = si.si_value.sival_int;
        }
    }
    printf("  taken: RT+1 %d, RT+2 %d, SIGUSR1 %d (code %d value %d)\n", got[0], got[1], got[2],
           usr1_code, usr1_value);
    printf("  sigqueue after they were taken: %s\n", err(sigqueue(getpid(), SIGRTMIN + 1, v)));
}

int main(void) {
    /* Fixed the two that depend on memory, so that everything below is deterministic. */
    set(RLIMIT_NPROC, 1000, 1000);
    set(RLIMIT_SIGPENDING, 500, 500);
    for (int i = 0; i < 17; i++) show(i);
    printf("getrlimit to a bad pointer: %s\n", err(getrlimit(RLIMIT_CORE, (void *)8)));
    printf("setrlimit from a bad pointer: %s\n", err(setrlimit(RLIMIT_CORE, (void *)8)));
    printf("setrlimit of resource 16: %s\n", err(set(16, 1, 1)));
    printf("prlimit64 of resource 99 in pid 999999: %s\n", err(raw_prlimit(999999, 99, NULL, NULL)));
    struct rlimit rl = {5, 10}, old;
    long r = raw_prlimit(0, RLIMIT_CORE, &rl, &old);
    printf("prlimit64 sets and returns the old: %s", err(r));
    lim("old soft", old.rlim_cur);
    lim("old hard", old.rlim_max);
    printf("\n");
    show(RLIMIT_CORE);
    rl.rlim_cur = 0;
    rl.rlim_max = RLIM_INFINITY;
    printf("root raises a hard limit: %s\n", err(setrlimit(RLIMIT_CORE, &rl)));
    rl.rlim_cur = rl.rlim_max = 2000000;
    printf("NOFILE past nr_open as root: %s\n", err(setrlimit(RLIMIT_NOFILE, &rl)));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    rl.rlim_cur = 7;
    rl.rlim_max = 9;
    r = raw_prlimit(child, RLIMIT_CORE, &rl, NULL);
    printf("prlimit64 on a child: %s\n", err(r));
    r = raw_prlimit(child, RLIMIT_CORE, NULL, &old);
    printf("read back:");
    lim("soft", old.rlim_cur);
    lim("hard", old.rlim_max);
    printf(" %s\n", err(r));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    set(RLIMIT_CORE, 0, RLIM_INFINITY);
    in_child("as nobody", as_nobody);

    FILE *f = fopen("/proc/self/limits", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) printf("%s", line);
    if (f) fclose(f);
    set(RLIMIT_STACK, 4 << 20, 16 << 20);
    fflush(stdout);
    if (fork() == 0) {
        f = fopen("/proc/self/limits", "r");
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "Max stack", 9)) printf("child's %s", line);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);

    in_child("FSIZE", file_size);
    in_child("DATA and AS", data_and_as);
    in_child("NPROC 1", processes);
    in_child("NPROC 2", processes2);
    in_child("MEMLOCK", memlock);
    in_child("CPU soft limit, no handler", cpu_soft);
    in_child("CPU soft and hard limits", cpu_hard);
    in_child("SIGPENDING", pending_signals);
    return probe_end();
}
