/* ptrace checked against Linux: PTRACE_TRACEME and the SIGTRAP after exec, PEEK/POKE of
 * data and of the user area, GETREGS/SETREGS (a syscall's argument and result changed),
 * syscall stops with TRACESYSGOOD and PTRACE_GET_SYSCALL_INFO, signal-delivery stops
 * (injected, suppressed, replaced), fork/exec/exit events with GETEVENTMSG, ATTACH and
 * SEIZE/INTERRUPT on a sleeping child, /proc/PID/status TracerPid, single-stepping, the
 * tracer's exit (with and without EXITKILL) and the errors. Prints only what is the same
 * on both kernels (no addresses, no pids).
 * Build: musl-gcc -static -O2 -o ptrace ptrace.c */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

struct syscall_info {
    uint8_t op;
    uint8_t pad[3];
    uint32_t arch;
    uint64_t ip, sp;
    union {
        struct { uint64_t nr, args[6]; } entry;
        struct { int64_t rval; uint8_t is_error; } exit;
    };
};

static struct user_regs_struct status_scratch;

/* A word the tracer reads and changes in the traced copy of this program. */
volatile uint64_t magic = 0x1122334455667788ull;

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EIO: return "EIO";
    case ECHILD: return "ECHILD";
    case EBUSY: return "EBUSY";
    default: return "other";
    }
}

static long pt(long req, pid_t pid, long addr, long data) {
    errno = 0;
    return syscall(SYS_ptrace, req, pid, addr, data);
}

/* Waits for `pid` and prints what happened, as Linux encodes it. Returns the status. */
static int wait_show(const char *what, pid_t pid) {
    int status = 0, flags = __WALL;
    if (pid < 0) { /* -pid: that child, with WUNTRACED */
        pid = -pid;
        flags |= WUNTRACED;
    }
    pid_t got = waitpid(pid, &status, flags);
    if (got != pid) {
        printf("%s: waitpid %s\n", what, err(got));
        return -1;
    }
    if (WIFSTOPPED(status))
        printf("%s: stopped sig %d event %d (status %#x)\n", what, WSTOPSIG(status), status >> 16,
               status);
    else if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d\n", what, WTERMSIG(status));
    else
        printf("%s: status %#x\n", what, status);
    return status;
}

static void show_siginfo(const char *what, pid_t pid, pid_t who) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long r = pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
    if (r < 0) {
        printf("%s: GETSIGINFO %s\n", what, err(r));
        return;
    }
    printf("%s: siginfo signo %d code %#x pid is %s\n", what, si.si_signo, si.si_code,
           si.si_pid == who ? "tracee" : si.si_pid == getpid() ? "tracer" : si.si_pid ? "other" : "0");
}

static pid_t status_tracer(pid_t pid, char *state, size_t n) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *t = strstr(buf, "TracerPid:");
    char *s = strstr(buf, "State:");
    if (s && state) {
        s += 6;
        while (*s == '\t' || *s == ' ') s++;
        size_t i = 0;
        while (s[i] && s[i] != '\n' && i + 1 < n) { state[i] = s[i]; i++; }
        state[i] = 0;
    }
    return t ? atoi(t + 10) : -1;
}

/* ---- the programs the traced children exec ---- */

static int exec_child(void) {
    char buf[64];
    long pid = syscall(SYS_getpid);
    int n = snprintf(buf, sizeof buf, "child: getpid says %s, magic %#llx\n",
                     pid == 12345 ? "12345" : "its pid", (unsigned long long)magic);
    syscall(SYS_write, 1, buf, n);
    syscall(SYS_write, 1, "hello\n", 6);
    syscall(SYS_write, 1, "\n", 1);
    return 3;
}

static void run_self(const char *mode) {
    char *argv[] = {"ptrace", (char *)mode, NULL};
    char *envp[] = {NULL};
    execve("/proc/self/exe", argv, envp);
    _exit(99);
}

/* ---- checks ---- */

static void traceme_and_syscalls(void) {
    pid_t pid = fork();
    if (pid == 0) {
        long r1 = pt(PTRACE_TRACEME, 0, 0, 0);
        long r2 = pt(PTRACE_TRACEME, 0, 0, 0);
        printf("child: TRACEME %s, again %s\n", err(r1), err(r2));
        fflush(stdout);
        run_self("exec-child");
    }
    wait_show("after exec", pid);
    show_siginfo("exec trap", pid, pid);
    struct user_regs_struct regs;
    long r = pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    printf("GETREGS %s: orig_rax %lld rax %lld\n", err(r), (long long)regs.orig_rax,
           (long long)regs.rax);
    long word = 0;
    r = pt(PTRACE_PEEKDATA, pid, (long)&magic, (long)&word);
    printf("PEEKDATA %s: %#lx\n", err(r), word);
    r = pt(PTRACE_PEEKTEXT, pid, 0, (long)&word);
    printf("PEEKTEXT at 0: %s\n", err(r));
    r = pt(PTRACE_POKEDATA, pid, (long)&magic, 0x5566);
    printf("POKEDATA %s\n", err(r));
    r = pt(PTRACE_POKEDATA, pid, 8, 0x5566);
    printf("POKEDATA at 8: %s\n", err(r));
    r = pt(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, orig_rax), (long)&word);
    printf("PEEKUSER orig_rax %s: %ld\n", err(r), word);
    r = pt(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, cs), (long)&word);
    printf("PEEKUSER cs %s: %#lx\n", err(r), word);
    r = pt(PTRACE_PEEKUSER, pid, 3, (long)&word);
    printf("PEEKUSER unaligned: %s\n", err(r));
    r = pt(PTRACE_PEEKUSER, pid, sizeof(struct user), (long)&word);
    printf("PEEKUSER at libc's sizeof(struct user): %s\n", err(r));
    r = pt(PTRACE_PEEKUSER, pid, sizeof(struct user) + 16, (long)&word);
    printf("PEEKUSER past the kernel's struct user: %s\n", err(r));
    r = pt(PTRACE_PEEKUSER, pid, offsetof(struct user, u_debugreg), (long)&word);
    printf("PEEKUSER debugreg0 %s: %ld\n", err(r), word);
    r = pt(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, cs), 0x30);
    printf("POKEUSER cs 0x30: %s\n", err(r));
    r = pt(PTRACE_POKEUSER, pid, offsetof(struct user, u_tsize), 0);
    printf("POKEUSER u_tsize: %s\n", err(r));
    r = pt(PTRACE_SETOPTIONS, pid, 0, 0x80000000);
    printf("SETOPTIONS bad: %s\n", err(r));
    r = pt(0x9999, pid, 0, 0);
    printf("unknown request: %s\n", err(r));
    r = pt(PTRACE_CONT, pid, 0, 65);
    printf("CONT with signal 65: %s\n", err(r));
    r = pt(PTRACE_INTERRUPT, pid, 0, 0);
    printf("INTERRUPT without SEIZE: %s\n", err(r));
    struct syscall_info si;
    r = pt(PTRACE_GET_SYSCALL_INFO, pid, sizeof si, (long)&si);
    printf("GET_SYSCALL_INFO outside a syscall stop: %ld op %d arch %#x\n", r, si.op, si.arch);
    r = pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
    printf("SETOPTIONS TRACESYSGOOD %s\n", err(r));
    /* Follow the syscalls: print each one's number at entry; change getpid's result and
     * write's length. */
    int writes = 0;
    for (int n = 0; n < 64; n++) {
        pt(PTRACE_SYSCALL, pid, 0, 0);
        int status;
        if (waitpid(pid, &status, 0) != pid) break;
        if (!WIFSTOPPED(status)) {
            printf("syscalls: ended, %s %d\n", WIFEXITED(status) ? "exit" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            return;
        }
        if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
            printf("syscalls: stop %#x\n", status);
            continue;
        }
        memset(&si, 0, sizeof si);
        long size = pt(PTRACE_GET_SYSCALL_INFO, pid, sizeof si, (long)&si);
        unsigned long msg = 0;
        pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
        pt(PTRACE_GETREGS, pid, 0, (long)&regs);
        if (si.op == 1) {
            printf("entry %lld (size %ld, msg %lu, args match %s)\n", (long long)si.entry.nr, size,
                   msg, si.entry.args[0] == regs.rdi && si.entry.args[2] == regs.rdx ? "yes" : "no");
            if (si.entry.nr == SYS_write && ++writes == 2) {
                regs.rdx = 3;
                r = pt(PTRACE_SETREGS, pid, 0, (long)&regs);
                printf("  SETREGS write count 6 -> 3: %s\n", err(r));
            }
            if (si.entry.nr == SYS_write && writes == 3) {
                r = pt(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, orig_rax), -1);
                printf("  POKEUSER orig_rax -1 (skip the call): %s\n", err(r));
            }
        } else if (si.op == 2) {
            if (si.exit.rval == pid)
                printf("exit: its pid (size %ld, msg %lu)\n", size, msg);
            else
                printf("exit %s%lld (size %ld, msg %lu)\n", si.exit.is_error ? "error " : "",
                       (long long)si.exit.rval, size, msg);
            if (regs.orig_rax == SYS_getpid) {
                regs.rax = 12345;
                r = pt(PTRACE_SETREGS, pid, 0, (long)&regs);
                printf("  SETREGS getpid result -> 12345: %s\n", err(r));
            }
        } else {
            printf("syscall stop op %d\n", si.op);
        }
    }
    pt(PTRACE_KILL, pid, 0, 0);
    wait_show("runaway", pid);
}

static void on_usr1(int sig) { (void)sig; static const char m[] = "child: SIGUSR1 handler\n"; write(1, m, sizeof m - 1); }
static void on_usr2(int sig) { (void)sig; static const char m[] = "child: SIGUSR2 handler\n"; write(1, m, sizeof m - 1); }

static void signals(void) {
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGUSR1, on_usr1);
        signal(SIGUSR2, on_usr2);
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        write(1, "child: after SIGSTOP\n", 21);
        kill(getpid(), SIGUSR1); /* injected as is */
        kill(getpid(), SIGUSR2); /* suppressed */
        write(1, "child: after suppressed SIGUSR2\n", 32);
        kill(getpid(), SIGUSR1); /* replaced by SIGUSR2 */
        signal(SIGINT, SIG_IGN);
        kill(getpid(), SIGINT); /* ignored, but the tracer sees it */
        write(1, "child: after ignored SIGINT\n", 28);
        kill(getpid(), SIGUSR1); /* replaced by SIGTERM: fatal */
        write(1, "child: not reached\n", 19);
        _exit(0);
    }
    wait_show("raise(SIGSTOP)", pid);
    show_siginfo("SIGSTOP", pid, pid);
    /* The child prints as soon as it runs: report the call after its next stop. */
    long r = pt(PTRACE_CONT, pid, 0, 0);
    wait_show("kill SIGUSR1", pid);
    printf("CONT suppressing SIGSTOP: %s\n", err(r));
    show_siginfo("SIGUSR1", pid, pid);
    pt(PTRACE_CONT, pid, 0, SIGUSR1);
    wait_show("kill SIGUSR2", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("kill SIGUSR1 again", pid);
    pt(PTRACE_CONT, pid, 0, SIGUSR2);
    wait_show("ignored SIGINT", pid);
    show_siginfo("SIGINT", pid, pid);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("SIGUSR1 to replace", pid);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = 4242;
    r = pt(PTRACE_SETSIGINFO, pid, 0, (long)&si);
    printf("SETSIGINFO %s\n", err(r));
    memset(&si, 0, sizeof si);
    pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
    printf("GETSIGINFO after SETSIGINFO: signo %d code %d pid %d\n", si.si_signo, si.si_code,
           si.si_pid);
    uint64_t mask = 0;
    r = pt(0x420a /* PTRACE_GETSIGMASK */, pid, 8, (long)&mask);
    printf("GETSIGMASK %s: %#llx\n", err(r), (unsigned long long)mask);
    r = pt(0x420a, pid, 4, (long)&mask);
    printf("GETSIGMASK of 4 bytes: %s\n", err(r));
    mask = ~0ull;
    r = pt(0x420b /* PTRACE_SETSIGMASK */, pid, 8, (long)&mask);
    pt(0x420a, pid, 8, (long)&mask);
    printf("SETSIGMASK all %s: now %#llx\n", err(r), (unsigned long long)mask);
    mask = 0;
    pt(0x420b, pid, 8, (long)&mask);
    pt(PTRACE_CONT, pid, 0, SIGTERM);
    wait_show("SIGTERM injected", pid);
}

static pid_t sleeper(int fds[2]);

static void group_stops(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        write(1, "child: after its group stop\n", 28);
        _exit(0);
    }
    wait_show("raise(SIGSTOP)", pid);
    pt(PTRACE_CONT, pid, 0, SIGSTOP);
    wait_show("group stop", pid);
    show_siginfo("group stop", pid, pid);
    long r = pt(PTRACE_LISTEN, pid, 0, 0);
    printf("LISTEN without SEIZE: %s\n", err(r));
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("after the group stop", pid);

    int fds[2];
    pid = sleeper(fds);
    r = pt(PTRACE_SEIZE, pid, 0, 0);
    printf("SEIZE %s\n", err(r));
    kill(pid, SIGSTOP);
    wait_show("SIGSTOP to a seized tracee", pid);
    pt(PTRACE_CONT, pid, 0, SIGSTOP);
    wait_show("seized group stop", pid);
    show_siginfo("seized group stop", pid, pid);
    r = pt(PTRACE_LISTEN, pid, 0, 0);
    printf("LISTEN %s\n", err(r));
    r = pt(PTRACE_GETREGS, pid, 0, (long)&status_scratch);
    printf("GETREGS while listening: %s\n", err(r));
    kill(pid, SIGCONT);
    wait_show("after SIGCONT", pid);
    show_siginfo("after SIGCONT", pid, getpid());
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("SIGCONT delivery", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    write(fds[1], "\x24", 1);
    wait_show("seized sleeper", pid);
    close(fds[1]);
}

/* A signal given with PTRACE_SYSCALL at a syscall stop is sent to the tracee (from the
 * kernel), and comes back as a signal-delivery stop. */
static void signal_at_syscall_stop(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        _exit(0);
    }
    wait_show("raise(SIGSTOP)", pid);
    struct user_regs_struct regs;
    pt(PTRACE_SYSCALL, pid, 0, 0);
    wait_show("entry", pid);
    pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    printf("syscall %lld\n", (long long)regs.orig_rax);
    pt(PTRACE_SYSCALL, pid, 0, SIGUSR2);
    wait_show("exit", pid);
    pt(PTRACE_SYSCALL, pid, 0, 0);
    wait_show("then", pid);
    show_siginfo("then", pid, pid);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("end", pid);
}

/* Detaching from a group stop leaves the process stopped until SIGCONT; a parent that is
 * not the tracer hears of the group stop. */
static void detach_in_group_stop(void) {
    int fds[2];
    pid_t pid = sleeper(fds);
    pt(PTRACE_ATTACH, pid, 0, 0);
    wait_show("attached", pid);
    pt(PTRACE_CONT, pid, 0, SIGSTOP);
    wait_show("group stop", pid);
    long r = pt(PTRACE_DETACH, pid, 0, 0);
    printf("DETACH in the group stop: %s\n", err(r));
    usleep(100000);
    char state[64];
    status_tracer(pid, state, sizeof state);
    printf("after DETACH: State %s\n", state);
    kill(pid, SIGCONT);
    usleep(100000);
    status_tracer(pid, state, sizeof state);
    printf("after SIGCONT: State %s\n", state);
    write(fds[1], "\x25", 1);
    wait_show("sleeper", pid);
    close(fds[1]);

    pid = sleeper(fds);
    pid_t tracer = fork();
    if (tracer == 0) {
        int ok = pt(PTRACE_ATTACH, pid, 0, 0) == 0;
        int st;
        ok = ok && waitpid(pid, &st, 0) == pid && st == 0x137f;
        ok = ok && pt(PTRACE_CONT, pid, 0, SIGSTOP) == 0;
        ok = ok && waitpid(pid, &st, 0) == pid && st == 0x137f;
        ok = ok && pt(PTRACE_DETACH, pid, 0, 0) == 0;
        _exit(ok ? 0 : 1);
    }
    wait_show("its tracer, a sibling", tracer);
    wait_show("sleeper, as its parent sees it (WUNTRACED)", -pid);
    kill(pid, SIGCONT);
    write(fds[1], "\x26", 1);
    wait_show("sleeper", pid);
    close(fds[1]);
}

/* SECCOMP_RET_TRACE: the tracer that asked for PTRACE_O_TRACESECCOMP stops the call,
 * reads the filter's data, and runs it as another call or skips it. */
static void seccomp_trace(void) {
    pid_t pid = fork();
    if (pid == 0) {
        struct sock_filter code[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x42),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {4, code};
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(90);
        long a = syscall(SYS_getppid);
        long b = syscall(SYS_getppid);
        long c = syscall(SYS_getppid);
        printf("child: getppid as getpid %s, skipped %ld, untraced %s\n",
               a == getpid() ? "is its pid" : "other", b, c == -1 && errno == ENOSYS ? "ENOSYS" : "other");
        fflush(stdout);
        _exit(0);
    }
    wait_show("raise(SIGSTOP)", pid);
    pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("seccomp stop", pid);
    unsigned long msg = 0;
    pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
    struct {
        struct syscall_info i;
        uint32_t ret_data;
    } si;
    memset(&si, 0, sizeof si);
    long size = pt(PTRACE_GET_SYSCALL_INFO, pid, sizeof si, (long)&si);
    struct user_regs_struct regs;
    pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    printf("message %#lx; syscall info size %ld op %d nr %lld data %#x; rax %lld orig_rax %lld\n",
           msg, size, si.i.op, (long long)si.i.entry.nr, *(uint32_t *)((char *)&si + 80),
           (long long)regs.rax, (long long)regs.orig_rax);
    regs.orig_rax = SYS_getpid;
    pt(PTRACE_SETREGS, pid, 0, (long)&regs);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("seccomp stop again", pid);
    pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    regs.orig_rax = -1;
    regs.rax = 777;
    pt(PTRACE_SETREGS, pid, 0, (long)&regs);
    pt(PTRACE_SETOPTIONS, pid, 0, 0);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("seccomp tracee", pid);
}

/* PTRACE_PEEKSIGINFO: the tracee's queued signals, without taking them. */
static void peek_siginfo(void) {
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, 40);
        sigprocmask(SIG_BLOCK, &set, NULL);
        union sigval v1 = {.sival_int = 101}, v2 = {.sival_int = 102};
        sigqueue(getpid(), 40, v1);
        sigqueue(getpid(), 40, v2);
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGUSR1);
        _exit(0);
    }
    wait_show("raise(SIGUSR1)", pid);
    struct { uint64_t off; uint32_t flags; int32_t nr; } args = {0, 1, 8};
    siginfo_t infos[8];
    memset(infos, 0, sizeof infos);
    long n = pt(0x4209 /* PTRACE_PEEKSIGINFO */, pid, (long)&args, (long)infos);
    printf("PEEKSIGINFO shared: %ld", n);
    for (long i = 0; i < n && i < 8; i++)
        printf(" [signo %d code %d value %d]", infos[i].si_signo, infos[i].si_code,
               infos[i].si_value.sival_int);
    printf("\n");
    args.off = 1;
    n = pt(0x4209, pid, (long)&args, (long)infos);
    printf("from index 1: %ld, value %d\n", n, infos[0].si_value.sival_int);
    args.off = 5;
    n = pt(0x4209, pid, (long)&args, (long)infos);
    printf("from index 5: %ld\n", n);
    args.off = 0;
    args.flags = 0;
    n = pt(0x4209, pid, (long)&args, (long)infos);
    printf("the thread's own: %ld\n", n);
    args.flags = 2;
    n = pt(0x4209, pid, (long)&args, (long)infos);
    printf("flags 2: %s\n", err(n));
    args.flags = 1;
    args.nr = -1;
    n = pt(0x4209, pid, (long)&args, (long)infos);
    printf("nr -1: %s\n", err(n));
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("end", pid);
}

static void events(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        pid_t g = fork();
        if (g == 0) _exit(7);
        int st;
        waitpid(g, &st, 0);
        printf("child: its child exited %d\n", WEXITSTATUS(st));
        fflush(stdout);
        run_self("exit5");
    }
    wait_show("raise(SIGSTOP)", pid);
    long r = pt(PTRACE_SETOPTIONS, pid, 0,
                PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT);
    printf("SETOPTIONS fork|exec|exit: %s\n", err(r));
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("fork", pid);
    unsigned long msg = 0;
    r = pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
    pid_t g = (pid_t)msg;
    printf("GETEVENTMSG %s: new pid is %s\n", err(r), g > pid ? "above the child's" : "odd");
    wait_show("new child", g);
    show_siginfo("new child", g, 0);
    char state[64];
    pid_t tracer = status_tracer(g, state, sizeof state);
    printf("new child TracerPid is %s, State %s\n", tracer == getpid() ? "me" : "other", state);
    pt(PTRACE_CONT, g, 0, 0);
    wait_show("new child exit event", g);
    pt(PTRACE_GETEVENTMSG, g, 0, (long)&msg);
    printf("exit event message %#lx\n", msg);
    pt(PTRACE_CONT, g, 0, 0);
    wait_show("new child (traced, not mine)", g);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("its child's end", pid);
    show_siginfo("SIGCHLD", pid, g);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("exec", pid);
    pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
    printf("exec event message is %s\n", (pid_t)msg == pid ? "its pid" : "other");
    show_siginfo("exec event", pid, pid);
    pt(PTRACE_CONT, pid, 0, 0);
    /* waitid reports a ptrace stop even without WSTOPPED, with the whole code. */
    siginfo_t wi;
    memset(&wi, 0, sizeof wi);
    long wr = waitid(P_PID, pid, &wi, WEXITED | WNOWAIT | __WALL);
    printf("waitid WEXITED|WNOWAIT: %s, si_code %d si_status %#x pid is %s\n", err(wr), wi.si_code,
           wi.si_status, wi.si_pid == pid ? "tracee" : "other");
    wait_show("exit event", pid);
    pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
    printf("exit event message %#lx\n", msg);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("end", pid);
}

static void vfork_event(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        pid_t g = vfork();
        if (g == 0) _exit(6);
        int st;
        waitpid(g, &st, 0);
        _exit(WEXITSTATUS(st) + 10);
    }
    wait_show("raise(SIGSTOP)", pid);
    pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEVFORK);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("vfork", pid);
    unsigned long msg = 0;
    pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
    pid_t g = (pid_t)msg;
    wait_show("vfork child", g);
    pt(PTRACE_CONT, g, 0, 0);
    wait_show("vfork child end", g);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("its child's end", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("end", pid);
}

/* A child that sleeps in read() until the parent writes a byte, then exits with it. */
static pid_t sleeper(int fds[2]) {
    if (pipe(fds) < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        unsigned char c = 0;
        long n = read(fds[0], &c, 1);
        _exit(n == 1 ? c : 100);
    }
    close(fds[0]);
    usleep(100000);
    return pid;
}

static void attach_seize(void) {
    int fds[2];
    pid_t pid = sleeper(fds);
    char state[64];
    printf("before ATTACH: TracerPid %d\n", status_tracer(pid, NULL, 0));
    long r = pt(PTRACE_ATTACH, pid, 0, 0);
    printf("ATTACH %s\n", err(r));
    wait_show("attached", pid);
    show_siginfo("attach stop", pid, pid);
    pid_t tracer = status_tracer(pid, state, sizeof state);
    printf("TracerPid is %s, State %s\n", tracer == getpid() ? "me" : "other", state);
    r = pt(PTRACE_ATTACH, pid, 0, 0);
    printf("ATTACH again: %s\n", err(r));
    r = pt(PTRACE_SEIZE, pid, 0, 0);
    printf("SEIZE a tracee: %s\n", err(r));
    r = pt(PTRACE_DETACH, pid, 0, 0);
    printf("DETACH %s\n", err(r));
    r = pt(PTRACE_CONT, pid, 0, 0);
    printf("CONT after DETACH: %s\n", err(r));
    usleep(50000);
    printf("after DETACH: TracerPid %d\n", status_tracer(pid, NULL, 0));
    write(fds[1], "\x21", 1);
    wait_show("detached sleeper", pid);
    close(fds[1]);

    pid = sleeper(fds);
    r = pt(PTRACE_SEIZE, pid, 1, 0);
    printf("SEIZE with addr: %s\n", err(r));
    r = pt(PTRACE_SEIZE, pid, 0, 0x40000000);
    printf("SEIZE bad options: %s\n", err(r));
    r = pt(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD);
    printf("SEIZE %s\n", err(r));
    int status;
    r = waitpid(pid, &status, WNOHANG | __WALL);
    printf("after SEIZE, waitpid WNOHANG: %ld\n", r);
    r = pt(PTRACE_GETREGS, pid, 0, (long)&status);
    printf("GETREGS on a running tracee: %s\n", err(r));
    r = pt(PTRACE_INTERRUPT, pid, 0, 0);
    printf("INTERRUPT %s\n", err(r));
    wait_show("interrupted", pid);
    show_siginfo("interrupt stop", pid, pid);
    pt(PTRACE_SYSCALL, pid, 0, 0);
    wait_show("restarted read, entry", pid);
    struct user_regs_struct regs;
    pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    printf("syscall %lld\n", (long long)regs.orig_rax);
    pt(PTRACE_SYSCALL, pid, 0, 0);
    write(fds[1], "\x22", 1);
    wait_show("read, exit", pid);
    pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    printf("read returned %lld\n", (long long)regs.rax);
    r = pt(PTRACE_DETACH, pid, 0, 0);
    printf("DETACH %s\n", err(r));
    wait_show("seized sleeper", pid);
    close(fds[1]);
}

/* PTRACE_INTERRUPT of a child in pause(): the call goes on after the stop. */
static void interrupt_pause(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(50);
    }
    usleep(100000);
    long r = pt(PTRACE_SEIZE, pid, 0, 0);
    printf("SEIZE %s\n", err(r));
    pt(PTRACE_INTERRUPT, pid, 0, 0);
    wait_show("interrupted in pause", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    usleep(100000);
    int status;
    r = waitpid(pid, &status, WNOHANG | __WALL);
    printf("still in pause after CONT: %s\n", r == 0 ? "yes" : "no");
    pt(PTRACE_DETACH, pid, 0, 0);
    kill(pid, SIGKILL);
    wait_show("paused child", pid);
}

/* PTRACE_INTERRUPT of a child in nanosleep(): the sleep goes on after the stop. */
static void interrupt_nanosleep(void) {
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 400000000};
        int r = nanosleep(&ts, NULL);
        _exit(r == 0 ? 51 : 52);
    }
    usleep(100000);
    long r = pt(PTRACE_SEIZE, pid, 0, 0);
    printf("SEIZE %s\n", err(r));
    pt(PTRACE_INTERRUPT, pid, 0, 0);
    wait_show("interrupted in nanosleep", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    int status;
    r = waitpid(pid, &status, WNOHANG | __WALL);
    printf("still asleep right after CONT: %s\n", r == 0 ? "yes" : "no");
    wait_show("sleeper (51: nanosleep returned 0)", pid);
}

static void *thread_body(void *arg) {
    (void)arg;
    write(1, "child's thread: runs\n", 21);
    return (void *)7;
}

/* A traced process with a second thread (not traced without PTRACE_O_TRACECLONE): the
 * tracer sees the main thread's signal stop, and the process runs to its end. */
static void threaded_tracee(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        pthread_t t;
        void *ret = NULL;
        if (pthread_create(&t, NULL, thread_body, NULL) == 0) pthread_join(t, &ret);
        raise(SIGUSR1);
        _exit((int)(long)ret);
    }
    wait_show("raise(SIGSTOP)", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("raise(SIGUSR1) after the thread", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("threaded tracee", pid);
}

static void single_step(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pt(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        volatile int x = 0;
        for (int i = 0; i < 100; i++) x += i;
        _exit(x == 4950 ? 0 : 1);
    }
    wait_show("raise(SIGSTOP)", pid);
    struct user_regs_struct regs;
    pt(PTRACE_GETREGS, pid, 0, (long)&regs);
    unsigned long long rip = regs.rip;
    int moved = 0, traps = 0;
    for (int i = 0; i < 5; i++) {
        pt(PTRACE_SINGLESTEP, pid, 0, 0);
        int status;
        waitpid(pid, &status, 0);
        if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP) traps++;
        pt(PTRACE_GETREGS, pid, 0, (long)&regs);
        if (regs.rip != rip) moved++;
        rip = regs.rip;
    }
    printf("SINGLESTEP: %d SIGTRAP stops, rip moved %d times, TF seen %s\n", traps, moved,
           regs.eflags & 0x100 ? "yes" : "no");
    pt(PTRACE_CONT, pid, 0, 0);
    wait_show("stepped child", pid);
}

static void tracer_exit(int exitkill) {
    int fds[2];
    pid_t pid = sleeper(fds);
    pid_t tracer = fork();
    if (tracer == 0) {
        long r = pt(PTRACE_SEIZE, pid, 0, exitkill ? PTRACE_O_EXITKILL : 0);
        pt(PTRACE_INTERRUPT, pid, 0, 0);
        int st;
        waitpid(pid, &st, __WALL);
        _exit(r == 0 && WIFSTOPPED(st) ? 0 : 1);
    }
    wait_show(exitkill ? "tracer with EXITKILL" : "tracer", tracer);
    usleep(50000);
    printf("tracee's TracerPid after its tracer exited: %d\n", status_tracer(pid, NULL, 0));
    write(fds[1], "\x23", 1);
    wait_show("its tracee", pid);
    close(fds[1]);
}

static long vm_rw(int write, pid_t pid, const struct iovec *l, unsigned long ln,
                  const struct iovec *r, unsigned long rn, unsigned long flags) {
    errno = 0;
    return syscall(write ? SYS_process_vm_writev : SYS_process_vm_readv, pid, l, ln, r, rn, flags);
}

static void process_vm(void) {
    int fds[2];
    pid_t pid = sleeper(fds);
    uint64_t word = 0;
    uint32_t halves[2] = {0, 0};
    struct iovec l = {&word, 8}, r = {(void *)&magic, 8};
    long n = vm_rw(0, pid, &l, 1, &r, 1, 0);
    printf("process_vm_readv %s %ld: %#llx\n", err(n), n, (unsigned long long)word);
    struct iovec l2[2] = {{&halves[0], 4}, {&halves[1], 4}};
    n = vm_rw(0, pid, l2, 2, &r, 1, 0);
    printf("into two halves %s %ld: %#x %#x\n", err(n), n, halves[0], halves[1]);
    n = vm_rw(0, pid, &l, 1, &r, 1, 1);
    printf("flags 1: %s\n", err(n));
    n = vm_rw(0, 999999, &l, 1, &r, 1, 0);
    printf("no such pid: %s\n", err(n));
    struct iovec empty = {&word, 0};
    n = vm_rw(0, 999999, &empty, 1, &r, 1, 0);
    printf("nothing to copy, no such pid: %s %ld\n", err(n), n);
    struct iovec r0 = {(void *)8, 8};
    n = vm_rw(0, pid, &l, 1, &r0, 1, 0);
    printf("remote address 8: %s\n", err(n));
    uint64_t two[2] = {0, 0};
    struct iovec l16 = {two, 16}, rpart[2] = {{(void *)&magic, 8}, {(void *)8, 8}};
    n = vm_rw(0, pid, &l16, 1, rpart, 2, 0);
    printf("then a bad remote element: %s %ld\n", err(n), n);
    n = vm_rw(0, pid, &l, 1025, &r, 1, 0);
    printf("1025 local elements: %s\n", err(n));
    word = 0x99;
    n = vm_rw(1, pid, &l, 1, &r, 1, 0);
    word = 0;
    vm_rw(0, pid, &l, 1, &r, 1, 0);
    printf("process_vm_writev %s %ld: now %#llx, here still %#llx\n", err(n), n,
           (unsigned long long)word, (unsigned long long)magic);
    struct iovec rtext = {(void *)&process_vm, 8};
    n = vm_rw(1, pid, &l, 1, &rtext, 1, 0);
    printf("process_vm_writev to its text: %s\n", err(n));
    pid_t nobody = fork();
    if (nobody == 0) {
        if (setgid(65534) || setuid(65534)) _exit(9);
        long m = vm_rw(0, pid, &l, 1, &r, 1, 0);
        _exit(m < 0 && errno == EPERM ? 0 : 1);
    }
    wait_show("as nobody, EPERM reading root's process (0: yes)", nobody);
    write(fds[1], "\x27", 1);
    wait_show("sleeper", pid);
    close(fds[1]);
}

static void errors(void) {
    long r = pt(PTRACE_ATTACH, getpid(), 0, 0);
    printf("ATTACH self: %s\n", err(r));
    r = pt(PTRACE_ATTACH, 999999, 0, 0);
    printf("ATTACH no such pid: %s\n", err(r));
    r = pt(PTRACE_ATTACH, 0, 0, 0);
    printf("ATTACH pid 0: %s\n", err(r));
    int fds[2];
    pid_t pid = sleeper(fds);
    r = pt(PTRACE_CONT, pid, 0, 0);
    printf("CONT a child not traced: %s\n", err(r));
    r = pt(PTRACE_KILL, pid, 0, 0);
    printf("KILL a child not traced: %s\n", err(r));
    pid_t nobody = fork();
    if (nobody == 0) {
        if (setgid(65534) || setuid(65534)) _exit(9);
        long a = pt(PTRACE_ATTACH, getppid(), 0, 0);
        int e1 = errno;
        long b = pt(PTRACE_ATTACH, 1, 0, 0);
        int e2 = errno;
        long c = pt(PTRACE_SEIZE, pid, 0, 0);
        int e3 = errno;
        _exit((a < 0 && e1 == EPERM ? 1 : 0) | (b < 0 && e2 == EPERM ? 2 : 0) |
              (c < 0 && e3 == EPERM ? 4 : 0));
    }
    int st;
    waitpid(nobody, &st, 0);
    printf("as nobody, EPERM attaching to root's process, init, root's child: %#x\n",
           WEXITSTATUS(st));
    pid_t zombie = fork();
    if (zombie == 0) _exit(0);
    usleep(100000);
    r = pt(PTRACE_ATTACH, zombie, 0, 0);
    printf("ATTACH a zombie: %s\n", err(r));
    r = pt(PTRACE_SEIZE, zombie, 0, 0);
    printf("SEIZE a zombie: %s\n", err(r));
    wait_show("zombie", zombie);
    r = pt(PTRACE_ATTACH, pid, 0, 0);
    printf("ATTACH %s\n", err(r));
    wait_show("attached", pid);
    r = pt(PTRACE_KILL, pid, 0, 0);
    printf("KILL %s\n", err(r));
    wait_show("killed tracee", pid);
    close(fds[1]);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) return exec_child();
    if (argc > 1 && strcmp(argv[1], "exit5") == 0) return 5;
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    printf("== TRACEME, exec, PEEK/POKE, syscall stops\n");
    traceme_and_syscalls();
    printf("== signal-delivery stops\n");
    signals();
    printf("== a signal given at a syscall stop\n");
    signal_at_syscall_stop();
    printf("== group stops\n");
    group_stops();
    printf("== DETACH in a group stop\n");
    detach_in_group_stop();
    printf("== PEEKSIGINFO\n");
    peek_siginfo();
    printf("== SECCOMP_RET_TRACE\n");
    seccomp_trace();
    printf("== fork, exec and exit events\n");
    events();
    printf("== vfork event\n");
    vfork_event();
    printf("== ATTACH and SEIZE a sleeping child\n");
    attach_seize();
    printf("== INTERRUPT in pause()\n");
    interrupt_pause();
    printf("== INTERRUPT in nanosleep()\n");
    interrupt_nanosleep();
    printf("== a threaded tracee\n");
    threaded_tracee();
    printf("== single-step\n");
    single_step();
    printf("== the tracer exits\n");
    tracer_exit(0);
    tracer_exit(1);
    printf("== process_vm_readv and process_vm_writev\n");
    process_vm();
    printf("== errors\n");
    errors();
    return probe_end();
}
