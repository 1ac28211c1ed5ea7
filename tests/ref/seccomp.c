/* seccomp checked against Linux: seccomp(2)'s operations and their errors, filters that
 * Linux refuses (length, privilege, every verifier rule), verdicts (ERRNO with its cap,
 * TRAP with SIGSYS's siginfo, KILL_THREAD, KILL_PROCESS, TRACE and USER_NOTIF without a
 * tracer, LOG, ALLOW), precedence across filters, what a filter sees (number, arch, the
 * arguments, the i386 ABI through int 0x80, LEN), inheritance by fork, threads and execve,
 * TSYNC, strict mode, PR_GET_SECCOMP and /proc/self/status. Every filter is installed in a
 * child. Deterministic output only.
 * Build: musl-gcc -static -O2 -o seccomp seccomp.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case ENOSYS: return "ENOSYS";
    case ESRCH: return "ESRCH";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case E2BIG: return "E2BIG";
    default: {
        static char b[32];
        snprintf(b, sizeof b, "errno %d", errno);
        return b;
    }
    }
}

static long sc(unsigned op, unsigned flags, void *args) {
    return syscall(SYS_seccomp, op, flags, args);
}

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_ARG0 BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ALLOW RET(SECCOMP_RET_ALLOW)

/* Installs `n` instructions with `flags`; returns seccomp's result. */
static long install(struct sock_filter *insns, unsigned short n, unsigned flags) {
    struct sock_fprog prog = {n, insns};
    return sc(SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* A filter giving `verdict` to syscall `nr` and allowing the rest. */
static long only(int nr, unsigned verdict) {
    struct sock_filter f[] = {LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), RET(verdict), ALLOW};
    return install(f, 4, 0);
}

/* Runs `body` in a child and prints how the child ended. */
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
        printf("%s: killed by signal %d%s\n", what, WTERMSIG(status), WCOREDUMP(status) ? " (core)" : "");
}

static void nnp(void) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void call(const char *what, long r) {
    printf("  %s: %s\n", what, err(r));
}

static void status_lines(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "NoNewPrivs:", 11) || !strncmp(line, "Seccomp", 7)) printf("  %s", line);
    if (f) fclose(f);
}

static void unprivileged_without_nnp(void) {
    setuid(65534);
    call("filter without no_new_privs", only(SYS_getppid, SECCOMP_RET_ERRNO | 1));
    nnp();
    call("filter with no_new_privs", only(SYS_getppid, SECCOMP_RET_ERRNO | 1));
    errno = 0;
    call("getppid", syscall(SYS_getppid));
}

static void bad_filters(void) {
    nnp();
    struct sock_filter ok[] = {ALLOW};
    struct sock_fprog prog = {0, ok};
    call("length 0", sc(SECCOMP_SET_MODE_FILTER, 0, &prog));
    static struct sock_filter big[4097];
    for (int i = 0; i < 4097; i++) big[i] = (struct sock_filter)ALLOW;
    call("length 4097", install(big, 4097, 0));
    call("length 4096", install(big, 4096, 0));
    call("fprog at a bad address", sc(SECCOMP_SET_MODE_FILTER, 0, (void *)8));
    prog.len = 1;
    prog.filter = (void *)8;
    call("instructions at a bad address", sc(SECCOMP_SET_MODE_FILTER, 0, &prog));
    call("unknown flag", install(ok, 1, 1 << 10));
    call("TSYNC with NEW_LISTENER", install(ok, 1, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_NEW_LISTENER));
    call("WAIT_KILLABLE_RECV alone", install(ok, 1, 1 << 5));
    struct {
        const char *what;
        struct sock_filter f[3];
        unsigned short n;
    } cases[] = {
        {"no return at the end", {LD_NR}, 1},
        {"load past the data", {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), ALLOW}, 2},
        {"unaligned load", {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), ALLOW}, 2},
        {"byte load", {BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), ALLOW}, 2},
        {"indirect load", {BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0), ALLOW}, 2},
        {"jump past the end", {BPF_STMT(BPF_JMP | BPF_JA, 1), ALLOW}, 2},
        {"conditional jump past the end", {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), ALLOW}, 2},
        {"division by zero", {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), ALLOW}, 2},
        {"shift by 32", {BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), ALLOW}, 2},
        {"modulo", {BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), ALLOW}, 2},
        {"memory cell 16", {BPF_STMT(BPF_ST, 16), ALLOW}, 2},
        {"cell loaded before stored", {BPF_STMT(BPF_LD | BPF_MEM, 2), ALLOW}, 2},
        {"unknown opcode", {BPF_STMT(0xff, 0), ALLOW}, 2},
        {"return X", {BPF_STMT(BPF_RET | BPF_X, 0)}, 1},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) call(cases[i].what, install(cases[i].f, cases[i].n, 0));
    printf("  mode after refusals: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
}

static void errno_verdicts(void) {
    nnp();
    call("ERRNO(EPERM) on getppid", only(SYS_getppid, SECCOMP_RET_ERRNO | EPERM));
    call("getppid", syscall(SYS_getppid));
    call("getpid still", syscall(SYS_getpid));
    call("ERRNO(5000) on dup", only(SYS_dup, SECCOMP_RET_ERRNO | 5000));
    call("dup", syscall(SYS_dup, 0));
    call("ERRNO(0) on umask", only(SYS_umask, SECCOMP_RET_ERRNO | 0));
    long r = syscall(SYS_umask, 022);
    printf("  umask returns %ld\n", r);
    call("TRACE on getuid", only(SYS_getuid, SECCOMP_RET_TRACE | 7));
    call("getuid", syscall(SYS_getuid));
    call("USER_NOTIF on getgid", only(SYS_getgid, SECCOMP_RET_USER_NOTIF));
    call("getgid", syscall(SYS_getgid));
    call("LOG on getegid", only(SYS_getegid, SECCOMP_RET_LOG));
    call("getegid", syscall(SYS_getegid));
    call("unknown action on geteuid", only(SYS_geteuid, 0x7fe00000));
    /* Precedence: the lowest action wins; among equals, the newest filter. */
    call("ERRNO(1) on sched_yield", only(SYS_sched_yield, SECCOMP_RET_ERRNO | 1));
    call("ERRNO(2) on sched_yield", only(SYS_sched_yield, SECCOMP_RET_ERRNO | 2));
    call("sched_yield", syscall(SYS_sched_yield));
    call("LOG on sched_yield", only(SYS_sched_yield, SECCOMP_RET_LOG));
    call("sched_yield", syscall(SYS_sched_yield));
    printf("  PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    status_lines();
    call("strict mode now", prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0));
    call("seccomp strict now", sc(SECCOMP_SET_MODE_STRICT, 0, NULL));
    fflush(stdout);
    /* Inherited by fork. */
    pid_t pid = fork();
    if (pid == 0) {
        call("child's getppid", syscall(SYS_getppid));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void arguments_and_arch(void) {
    nnp();
    /* close(4242) fails with EBADF's neighbour ENOTTY; close of anything else runs. */
    struct sock_filter by_arg[] = {
        LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close, 0, 3), LD_ARG0,
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4242, 0, 1), RET(SECCOMP_RET_ERRNO | ENOTTY), ALLOW};
    call("filter on close's first argument", install(by_arg, 6, 0));
    errno = 0;
    call("close(4242)", syscall(SYS_close, 4242));
    call("close(4243)", syscall(SYS_close, 4243));
    /* i386 calls: the filter sees their arch and number. */
    struct sock_filter by_arch[] = {
        LD_ARCH, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 3), LD_NR,
        BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO), BPF_STMT(BPF_RET | BPF_A, 0), ALLOW};
    call("filter: i386 calls fail with their number", install(by_arch, 6, 0));
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory"); /* i386 getpid */
    printf("  int 0x80 getpid: %ld\n", r);
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(64) : "memory"); /* i386 getppid */
    printf("  int 0x80 getppid: %ld\n", r);
    call("64-bit getpid", syscall(SYS_getpid) > 0 ? 0 : -1);
    /* LEN, scratch memory and X. */
    struct sock_filter with_len[] = {
        LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 5), BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        BPF_STMT(BPF_ST, 5), BPF_STMT(BPF_LDX | BPF_MEM, 5), BPF_STMT(BPF_MISC | BPF_TXA, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 64), ALLOW};
    call("filter using LEN", install(with_len, 8, 0));
    call("getppid", syscall(SYS_getppid));
}

static void sigsys(int sig, siginfo_t *si, void *uc) {
    ucontext_t *u = uc;
    printf("  SIGSYS %d: code %d errno %d syscall %d arch %#x call_addr set %d rax %lld\n", sig, si->si_code,
           si->si_errno, si->si_syscall, si->si_arch, si->si_call_addr != NULL,
           (long long)u->uc_mcontext.gregs[REG_RAX]);
}

static void trap(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    nnp();
    call("TRAP(77) on getppid", only(SYS_getppid, SECCOMP_RET_TRAP | 77));
    long r = syscall(SYS_getppid);
    printf("  getppid after the handler: %ld\n", r);
    /* Blocked or ignored, SIGSYS still comes: the default action. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fflush(stdout);
    syscall(SYS_getppid);
    printf("  survived a blocked SIGSYS\n");
}

static void kill_process(void) {
    nnp();
    only(SYS_getppid, SECCOMP_RET_KILL_PROCESS);
    syscall(SYS_getppid);
    printf("  survived KILL_PROCESS\n");
}

static void kill_thread_alone(void) {
    nnp();
    only(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    syscall(SYS_getppid);
    printf("  survived KILL_THREAD\n");
}

static void *thread_calls_getppid(void *arg) {
    (void)arg;
    syscall(SYS_getppid);
    return (void *)1;
}

static void kill_one_thread(void) {
    nnp();
    only(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    pthread_t t;
    pthread_create(&t, NULL, thread_calls_getppid, NULL);
    sleep(1);
    printf("  the process outlived its killed thread\n");
    fflush(stdout);
    _exit(3);
}

static volatile int go;

static void *thread_waits(void *arg) {
    (void)arg;
    while (!go) usleep(1000);
    long r = syscall(SYS_getppid);
    return (void *)(r < 0 ? (long)errno : 0L);
}

static void *thread_installs(void *arg) {
    (void)arg;
    only(SYS_sched_yield, SECCOMP_RET_ERRNO | 1);
    while (!go) usleep(1000);
    return NULL;
}

static void tsync(void) {
    nnp();
    pthread_t t;
    pthread_create(&t, NULL, thread_waits, NULL);
    call("TSYNC ERRNO(EPERM) on getppid", only(SYS_getppid, SECCOMP_RET_ERRNO | EPERM) == 0 ? 0 : -1);
    struct sock_filter f[] = {LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
                              RET(SECCOMP_RET_ERRNO | EPERM), ALLOW};
    call("TSYNC of a second filter", install(f, 4, SECCOMP_FILTER_FLAG_TSYNC));
    go = 1;
    void *res;
    pthread_join(t, &res);
    printf("  the other thread's getppid: errno %ld\n", (long)res);
    /* A thread with filters of its own cannot be synchronised. */
    go = 0;
    pthread_t u;
    pthread_create(&u, NULL, thread_installs, NULL);
    usleep(100000);
    long r = install(f, 4, SECCOMP_FILTER_FLAG_TSYNC);
    printf("  TSYNC against a diverged thread returns a thread id: %d\n", r > 0 && r != getpid());
    call("and with TSYNC_ESRCH", install(f, 4, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH));
    go = 1;
    pthread_join(u, NULL);
}

/* In strict mode only write(2) itself prints: musl's stdio writes with writev. */
static void strict_write(void) {
    fflush(stdout);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0) return;
    write(1, "  write in strict mode\n", 23);
    syscall(SYS_getpid);
    write(1, "  survived getpid in strict mode\n", 33);
}

static void strict_exit(void) {
    fflush(stdout);
    if (sc(SECCOMP_SET_MODE_STRICT, 0, NULL) != 0) return;
    write(1, "  seccomp strict: ok\n", 21);
    syscall(SYS_exit, 7);
}

static void strict_then_filter(void) {
    nnp();
    call("filter", only(SYS_getppid, SECCOMP_RET_ERRNO | 1));
    fflush(stdout);
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
    printf("  strict after filter refused, mode %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
}

static void exec_keeps(void) {
    nnp();
    only(SYS_getppid, SECCOMP_RET_ERRNO | EPERM);
    execl("/proc/self/exe", "seccomp", "after-exec", (char *)NULL);
    printf("  exec failed\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "after-exec")) {
        call("after execve, getppid", syscall(SYS_getppid));
        status_lines();
        fflush(stdout);
        return 0;
    }
    unsigned actions[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
                          SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW, 0x12340000, SECCOMP_RET_ERRNO | 5};
    for (unsigned i = 0; i < sizeof actions / sizeof *actions; i++) {
        long r = sc(SECCOMP_GET_ACTION_AVAIL, 0, &actions[i]);
        printf("action %#x available: %s\n", actions[i], err(r));
    }
    call("GET_ACTION_AVAIL with flags", sc(SECCOMP_GET_ACTION_AVAIL, 1, &actions[0]));
    call("GET_ACTION_AVAIL at a bad address", sc(SECCOMP_GET_ACTION_AVAIL, 0, (void *)8));
    struct seccomp_notif_sizes sizes;
    long r = sc(SECCOMP_GET_NOTIF_SIZES, 0, &sizes);
    printf("notif sizes: %s %u %u %u\n", err(r), sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data);
    call("GET_NOTIF_SIZES with flags", sc(SECCOMP_GET_NOTIF_SIZES, 1, &sizes));
    call("unknown operation", sc(9, 0, NULL));
    call("strict with flags", sc(SECCOMP_SET_MODE_STRICT, 1, NULL));
    call("strict with arguments", sc(SECCOMP_SET_MODE_STRICT, 0, &sizes));
    call("PR_SET_SECCOMP mode 3", prctl(PR_SET_SECCOMP, 3, 0, 0, 0));
    printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    status_lines();
    in_child("unprivileged", unprivileged_without_nnp);
    in_child("refused filters", bad_filters);
    in_child("ERRNO and friends", errno_verdicts);
    in_child("arguments and arch", arguments_and_arch);
    in_child("TRAP", trap);
    in_child("KILL_PROCESS", kill_process);
    in_child("KILL_THREAD, one thread", kill_thread_alone);
    in_child("KILL_THREAD, two threads", kill_one_thread);
    in_child("TSYNC", tsync);
    in_child("strict mode, getpid", strict_write);
    in_child("strict mode, exit", strict_exit);
    in_child("strict after a filter", strict_then_filter);
    in_child("execve keeps filters", exec_keeps);
    return probe_end();
}
