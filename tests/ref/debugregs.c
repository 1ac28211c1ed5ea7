/* What gdb uses besides PEEK/POKE, checked against Linux: the debug registers in struct user
 * (PTRACE_PEEKUSER/POKEUSER of u_debugreg: defaults, EIO for DR4/DR5, EINVAL for a kernel
 * address, a misaligned watch or a bad type, all-or-nothing DR7), a write watchpoint and an
 * instruction breakpoint firing (SIGTRAP with TRAP_HWBKPT, DR6 saying which, the instruction
 * breakpoint not firing again on resume), DR6 after a single step, int1's TRAP_BRKPT; and
 * /proc/PID/mem (reads, writes into data and text, EIO at an unmapped address, a read cut
 * at the end of a mapping), /proc/PID/task and /proc/PID/auxv. Prints only what is the same on both kernels (no addresses).
 * Build: musl-gcc -static -O2 -o debugregs debugregs.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

/* A word the child writes, aligned for a 4-byte watch. */
static volatile uint32_t watched __attribute__((aligned(8)));
static char *two_pages;

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static long pt(long req, pid_t pid, long addr, long data) {
    errno = 0;
    return syscall(SYS_ptrace, req, pid, addr, data);
}

#define DR(n) ((long)offsetof(struct user, u_debugreg) + 8 * (n))

static unsigned long peek_dr(pid_t pid, int n) {
    unsigned long value = 0;
    long r = pt(PTRACE_PEEKUSER, pid, DR(n), (long)&value);
    return r < 0 ? 0xdeadul : value;
}

static long poke_dr(pid_t pid, int n, unsigned long value) {
    return pt(PTRACE_POKEUSER, pid, DR(n), (long)value);
}

__attribute__((noinline)) static int target(int n) {
    __asm__ volatile("" ::: "memory");
    return n * 3;
}

static int child(void) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    watched = 7;
    int r = target(5);
    raise(SIGSTOP);
    return r == 15 && watched == 7 ? 0 : 1;
}

/* Continues `pid` and reports the stop: the signal, si_code, and whether rip is `expect`. */
static void cont_and_show(const char *what, pid_t pid, unsigned long expect) {
    int status = 0;
    pt(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &status, 0);
    if (!WIFSTOPPED(status)) {
        printf("%s: not stopped (status %#x)\n", what, status);
        return;
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
    struct user_regs_struct regs;
    pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    printf("%s: stopped sig %d code %d, rip %s, DR6 %#lx\n", what, WSTOPSIG(status), si.si_code,
           expect == 0 ? "-" : regs.rip == expect ? "at the breakpoint" : "elsewhere",
           peek_dr(pid, 6));
}

static void debug_registers(pid_t pid) {
    for (int n = 0; n < 8; n++) printf("DR%d initially %#lx\n", n, peek_dr(pid, n));
    printf("POKE DR4: %s, DR5: %s\n", err(poke_dr(pid, 4, 0)), err(poke_dr(pid, 5, 0)));
    /* Each slot starts with no breakpoint behind it; a first write registers one. Where
     * user space ends depends on the paging mode (Linux under QEMU's la57 takes addresses up
     * to 1 << 56): only addresses that are user or kernel ones in both modes are tried. */
    const char *e = err(poke_dr(pid, 0, 0xffffffff81000000ul));
    printf("POKE DR0 kernel address: %s\n", e);
    e = err(poke_dr(pid, 0, 0x7fff00000000ul));
    printf("POKE DR0 user address: %s\n", e);
    e = err(poke_dr(pid, 0, 0xffffffff81000000ul));
    printf("then a kernel address: %s, DR0 reads %s\n", e,
           peek_dr(pid, 0) == 0x7fff00000000ul ? "the user address" : "another");
    /* A watch of 4 bytes at an odd address: the address is taken, DR7 refuses it. */
    e = err(poke_dr(pid, 0, (unsigned long)&watched + 1));
    printf("POKE DR0 odd address: %s\n", e);
    e = err(poke_dr(pid, 7, 0xd0001));
    printf("DR7 write 4 bytes there: %s, DR7 now %#lx\n", e, peek_dr(pid, 7));
    poke_dr(pid, 0, (unsigned long)&watched);
    e = err(poke_dr(pid, 7, 0x20001));
    printf("DR7 I/O type: %s\n", e);
    e = err(poke_dr(pid, 7, 0xc0001));
    printf("DR7 execute 4 bytes: %s\n", e);
    poke_dr(pid, 1, 0);
    e = err(poke_dr(pid, 7, 0xd0004));
    printf("DR7 slot 1 enabled at address 0: %s, DR7 now %#lx\n", e, peek_dr(pid, 7));
    e = err(poke_dr(pid, 1, 0xffffffff81000000ul));
    printf("POKE DR1 (enabled) kernel address: %s\n", e);
    e = err(poke_dr(pid, 1, (unsigned long)&watched + 2));
    printf("POKE DR1 (enabled, execute) odd address: %s, DR1 reads %s\n", e,
           peek_dr(pid, 1) == (unsigned long)&watched + 2 ? "the new address" : "the old one");
    poke_dr(pid, 1, (unsigned long)&watched);
    e = err(poke_dr(pid, 7, 0xd00004));
    printf("DR7 slot 1 write 4 bytes: %s\n", e);
    e = err(poke_dr(pid, 1, (unsigned long)&watched + 2));
    printf("POKE DR1 (enabled, 4 bytes) misaligned: %s, DR1 reads %s\n", e,
           peek_dr(pid, 1) == (unsigned long)&watched + 2 ? "the new address" : "the old one");
    e = err(poke_dr(pid, 7, 0x2000));
    printf("DR7 with general detect: %s, reads %#lx\n", e, peek_dr(pid, 7));
    e = err(poke_dr(pid, 7, 0x300));
    printf("DR7 with LE and GE: %s, reads %#lx\n", e, peek_dr(pid, 7));
    e = err(poke_dr(pid, 6, 0x1234));
    printf("POKE DR6: %s, reads %#lx\n", e, peek_dr(pid, 6));
    /* The real thing: watch writes to `watched` (DR0) and break on target() (DR1). */
    poke_dr(pid, 7, 0);
    poke_dr(pid, 0, (unsigned long)&watched);
    poke_dr(pid, 1, (unsigned long)&target);
    printf("DR7 write watch and instruction breakpoint: %s\n", err(poke_dr(pid, 7, 0xd0005)));
    printf("DR0 reads back %s, DR1 %s\n",
           peek_dr(pid, 0) == (unsigned long)&watched ? "the address" : "something else",
           peek_dr(pid, 1) == (unsigned long)&target ? "the address" : "something else");
    cont_and_show("write watchpoint", pid, 0);
    unsigned long value = 0;
    pt(PTRACE_PEEKDATA, pid, (long)&watched, (long)&value);
    printf("watched after the write: %u\n", (uint32_t)value);
    poke_dr(pid, 6, 0);
    cont_and_show("instruction breakpoint", pid, (unsigned long)&target);
    /* Resumed at the breakpoint, the instruction runs (RF): the next stop is the SIGSTOP. */
    cont_and_show("after the breakpoint", pid, 0);
    poke_dr(pid, 7, 0);
    int status = 0;
    pt(PTRACE_SINGLESTEP, pid, 0, 0);
    waitpid(pid, &status, 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
    printf("single step: sig %d code %d, DR6 %#lx\n", WSTOPSIG(status), si.si_code,
           peek_dr(pid, 6));
}

static void proc_mem(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDWR);
    printf("open /proc/PID/mem: %s\n", err(fd));
    uint32_t word = 0;
    errno = 0;
    long r = pread(fd, &word, sizeof word, (off_t)(uintptr_t)&watched);
    printf("pread watched: %ld %s, %u\n", r, err(r), word);
    word = 99;
    r = pwrite(fd, &word, sizeof word, (off_t)(uintptr_t)&watched);
    unsigned long value = 0;
    pt(PTRACE_PEEKDATA, pid, (long)&watched, (long)&value);
    printf("pwrite watched: %ld %s, PEEKDATA sees %u\n", r, err(r), (uint32_t)value);
    word = 7;
    pwrite(fd, &word, sizeof word, (off_t)(uintptr_t)&watched);
    /* Text is not writable by the program; through mem it is, as ptrace's pokes. */
    unsigned char code[4], same[4];
    pread(fd, code, sizeof code, (off_t)(uintptr_t)&target);
    r = pwrite(fd, code, sizeof code, (off_t)(uintptr_t)&target);
    pread(fd, same, sizeof same, (off_t)(uintptr_t)&target);
    printf("pwrite into text: %ld %s, %s\n", r, err(r), memcmp(code, same, 4) ? "differs" : "same");
    char buf[8192];
    r = pread(fd, buf, 16, 0x1000);
    printf("pread unmapped: %ld %s\n", r, err(r));
    r = pwrite(fd, buf, 16, 0x1000);
    printf("pwrite unmapped: %ld %s\n", r, err(r));
    r = pread(fd, buf, sizeof buf, (off_t)(uintptr_t)two_pages);
    printf("pread across the end of a mapping: %ld, first byte %d\n", r, buf[0]);
    errno = 0;
    off_t at = lseek(fd, (off_t)(uintptr_t)&watched, SEEK_SET);
    r = read(fd, &word, sizeof word);
    printf("lseek and read: %s, %ld, %u\n", at == (off_t)(uintptr_t)&watched ? "ok" : "moved",
           r, word);
    close(fd);
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    int entries = 0, is_pid = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (e->d_name[0] == '.') continue;
        entries++;
        is_pid = atoi(e->d_name) == pid;
    }
    if (dir) closedir(dir);
    printf("/proc/PID/task: %d entries, the thread is the process: %s\n", entries,
           is_pid ? "yes" : "no");
    snprintf(path, sizeof path, "/proc/%d/task/%d/mem", pid, pid);
    fd = open(path, O_RDONLY);
    word = 0;
    r = pread(fd, &word, sizeof word, (off_t)(uintptr_t)&watched);
    printf("pread /proc/PID/task/TID/mem: %ld, %u\n", r, word);
    close(fd);
    /* The child runs this same program: its entry point and program headers are ours. */
    snprintf(path, sizeof path, "/proc/%d/auxv", pid);
    fd = open(path, O_RDONLY);
    unsigned long auxv[128];
    memset(auxv, 0, sizeof auxv);
    r = read(fd, auxv, sizeof auxv);
    close(fd);
    int entry = 0, phdr = 0, pagesz = 0, ends = 0;
    for (long i = 0; i + 1 < r / 8; i += 2) {
        if (auxv[i] == AT_ENTRY) entry = auxv[i + 1] == getauxval(AT_ENTRY);
        if (auxv[i] == AT_PHDR) phdr = auxv[i + 1] == getauxval(AT_PHDR);
        if (auxv[i] == AT_PAGESZ) pagesz = auxv[i + 1] == 4096;
        if (auxv[i] == AT_NULL) ends = i + 2 == r / 8;
    }
    printf("/proc/PID/auxv: %s, AT_ENTRY %s, AT_PHDR %s, AT_PAGESZ %s, ends with AT_NULL %s\n",
           r > 0 && r % 16 == 0 ? "pairs" : "odd size", entry ? "ours" : "other",
           phdr ? "ours" : "other", pagesz ? "4096" : "other", ends ? "yes" : "no");
}

static volatile int trap_code = -1;

static void on_trap(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    trap_code = si->si_code;
}

/* int1 (icebp), untraced: a SIGTRAP whose si_code says neither step nor breakpoint. */
static void icebp(void) {
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_trap;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGTRAP, &sa, NULL);
        __asm__ volatile(".byte 0xf1");
        _exit(trap_code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("int1: SIGTRAP si_code %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    two_pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    two_pages[0] = 42;
    munmap(two_pages + 4096, 4096);
    pid_t pid = fork();
    if (pid == 0) _exit(child());
    int status;
    waitpid(pid, &status, 0);
    printf("== debug registers\n");
    debug_registers(pid);
    printf("== /proc/PID/mem and /proc/PID/task\n");
    proc_mem(pid);
    pt(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &status, 0);
    printf("child: %s %d\n", WIFEXITED(status) ? "exited" : "other", WEXITSTATUS(status));
    icebp();
    return probe_end();
}
