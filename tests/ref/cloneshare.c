/* Processes that share tables without being threads, checked against Linux: clone's
 * CLONE_FILES (descriptors opened, closed, dup'ed and marked close-on-exec in one are seen
 * by the other; execve copies the table before closing its close-on-exec descriptors),
 * CLONE_FS (cwd, umask and chroot shared; setns into a mount namespace refused while
 * shared), CLONE_SIGHAND (dispositions shared, masks and pending signals not; execve
 * copies them before resetting the caught ones), CLONE_VM without CLONE_VFORK (stores,
 * mmap and munmap seen by the other; the exit or execve of one leaves the other's memory),
 * unshare(2) of the shared tables, /proc/PID/fd of a sharing child, and the flag checks.
 * The two processes take turns through waitpid and pipes. Deterministic output only.
 * Build: musl-gcc -static -O2 -o cloneshare cloneshare.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#define STACK_SIZE (64 * 1024)

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    default: return "other";
    }
}

/* What a child reports: written by the child, printed by the parent after waitpid. */
static char *report;
static char *self_path;

/* Runs `fn(arg)` in a new process made with `flags` (exit signal SIGCHLD) on a stack of
 * its own; returns its PID. */
static pid_t spawn(int (*fn)(void *), void *arg, int flags) {
    char *stack =
        mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fflush(stdout);
    return clone(fn, stack + STACK_SIZE, flags | SIGCHLD, arg);
}

/* Waits for `pid`; returns its exit code (or 128 + the signal). */
static int reap(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(report + strlen(report), 4096 - strlen(report), fmt, ap);
    va_end(ap);
}

static int getfd(int fd) {
    int r = fcntl(fd, F_GETFD);
    return r < 0 ? -errno : r;
}

/* ---- the flag checks ---- */

static void flag_checks(void) {
    struct { const char *name; long flags; } cases[] = {
        {"CLONE_SIGHAND without CLONE_VM", CLONE_SIGHAND},
        {"CLONE_THREAD without CLONE_SIGHAND", CLONE_THREAD | CLONE_VM},
        {"CLONE_NEWNS|CLONE_FS", CLONE_NEWNS | CLONE_FS},
        {"CLONE_NEWUSER|CLONE_FS", CLONE_NEWUSER | CLONE_FS},
        {"CLONE_THREAD|CLONE_SIGHAND without CLONE_VM", CLONE_THREAD | CLONE_SIGHAND},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long r = syscall(SYS_clone, cases[i].flags | SIGCHLD, 0, 0, 0, 0);
        if (r == 0) _exit(0);
        printf("clone %s: %s\n", cases[i].name, err(r));
    }
}

/* ---- CLONE_FILES ---- */

struct files_arg { int go[2], done[2]; int closed, kept; };

/* Waits for the parent's turn, then reports what it sees of the parent's changes, then
 * makes its own. */
static int files_child(void *p) {
    struct files_arg *a = p;
    char c;
    if (read(a->go[0], &c, 1) != 1) return 1;
    say("child sees parent's close: %s; parent's cloexec flag: %d\n",
        getfd(a->closed) == -EBADF ? "EBADF" : "open", getfd(a->kept));
    int fd = open("/dev/null", O_RDONLY);
    dup2(fd, 40);
    fcntl(40, F_SETFD, FD_CLOEXEC);
    close(a->kept);
    say("child opened %d and dup2'ed it to %d\n", fd, 40);
    return 0;
}

static void files_checks(void) {
    struct files_arg a;
    pipe(a.go);
    a.closed = open("/dev/null", O_RDONLY);
    a.kept = open("/dev/null", O_RDONLY);
    report[0] = 0;
    pid_t pid = spawn(files_child, &a, CLONE_FILES);
    /* The parent's turn: open one, close one, mark another close-on-exec. */
    int opened = open("/dev/zero", O_RDONLY);
    close(a.closed);
    fcntl(a.kept, F_SETFD, FD_CLOEXEC);
    char path[64], link[64] = "";
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, opened);
    ssize_t n = readlink(path, link, sizeof link - 1);
    printf("CLONE_FILES: the child's /proc/PID/fd shows the parent's new fd: %s %s\n",
           err(n), n > 0 ? link : "");
    write(a.go[1], "g", 1);
    int code = reap(pid);
    printf("CLONE_FILES: child exit %d; child said:\n%s", code, report);
    printf("CLONE_FILES: parent sees child's dup2 to 40: %s, its flags %d\n",
           getfd(40) >= 0 ? "open" : "EBADF", getfd(40));
    printf("CLONE_FILES: parent sees child's close of %d: %s\n", a.kept,
           getfd(a.kept) == -EBADF ? "EBADF" : "open");
    close(40);
    close(opened);
    close(a.go[0]);
    close(a.go[1]);
}

/* With shared memory too, the child's report comes back. */
static void files_vm_checks(void) {
    struct files_arg a;
    pipe(a.go);
    a.closed = open("/dev/null", O_RDONLY);
    a.kept = open("/dev/null", O_RDONLY);
    report[0] = 0;
    pid_t pid = spawn(files_child, &a, CLONE_FILES | CLONE_VM);
    close(a.closed);
    fcntl(a.kept, F_SETFD, FD_CLOEXEC);
    write(a.go[1], "g", 1);
    int code = reap(pid);
    printf("CLONE_FILES|CLONE_VM: child exit %d; child said:\n%s", code, report);
    close(40);
    close(a.go[0]);
    close(a.go[1]);
}

/* execve in a process whose table is shared: the table is copied first, and only the copy
 * loses its close-on-exec descriptors. */
static int exec_child(void *p) {
    char **argv = p;
    execv(self_path, argv);
    return 99;
}

static void files_exec_checks(void) {
    int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int plain = open("/dev/null", O_RDONLY);
    char a1[16], a2[16];
    snprintf(a1, sizeof a1, "%d", cloexec);
    snprintf(a2, sizeof a2, "%d", plain);
    char *argv[] = {self_path, "exec-files", a1, a2, NULL};
    pid_t pid = spawn(exec_child, argv, CLONE_FILES);
    int code = reap(pid);
    printf("CLONE_FILES execve: child exit %d (1 cloexec closed, 2 plain open, 4 own table)\n",
           code);
    printf("CLONE_FILES execve: parent's cloexec fd: %s, flags %d\n",
           getfd(cloexec) >= 0 ? "open" : "EBADF", getfd(cloexec));
    printf("CLONE_FILES execve: parent's fd 50 after the child's dup2 there: %s\n",
           getfd(50) >= 0 ? "open" : "EBADF");
    close(cloexec);
    close(plain);
}

/* The program the execve above runs. */
static int exec_files_main(char **argv) {
    int cloexec = atoi(argv[2]), plain = atoi(argv[3]);
    int code = 0;
    if (getfd(cloexec) == -EBADF) code |= 1;
    if (getfd(plain) >= 0) code |= 2;
    /* Its own table now: what it opens the parent does not see. */
    if (dup2(0, 50) == 50) code |= 4;
    return code;
}

/* RLIMIT_NOFILE stays each process's own over a shared table. */
static int nofile_child(void *p) {
    (void)p;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 10;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    const char *dup2_result = err(dup2(0, 20));
    const char *dupfd_result = err(fcntl(0, F_DUPFD, 15));
    say("child RLIMIT_NOFILE %ld: dup2 to 20 %s, F_DUPFD from 15 %s\n", (long)rl.rlim_cur,
        dup2_result, dupfd_result);
    return 0;
}

static void nofile_checks(void) {
    struct rlimit rl;
    report[0] = 0;
    pid_t pid = spawn(nofile_child, NULL, CLONE_FILES | CLONE_VM);
    int code = reap(pid);
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("CLONE_FILES RLIMIT_NOFILE: child exit %d; %sparent's soft limit %ld, dup2 to 20 %s\n",
           code, report, (long)rl.rlim_cur, err(dup2(0, 20)));
    close(20);
}

/* ---- unshare(CLONE_FILES) ---- */

static int unshare_files_child(void *p) {
    int *fd = p;
    say("child unshare(CLONE_FILES): %s\n", err(unshare(CLONE_FILES)));
    close(*fd);
    return 0;
}

static void unshare_files_checks(void) {
    int fd = open("/dev/null", O_RDONLY);
    report[0] = 0;
    pid_t pid = spawn(unshare_files_child, &fd, CLONE_FILES | CLONE_VM);
    int code = reap(pid);
    printf("unshare CLONE_FILES: child exit %d; %s", code, report);
    printf("unshare CLONE_FILES: parent's fd after the child closed its copy: %s\n",
           getfd(fd) >= 0 ? "open" : "EBADF");
    close(fd);
}

/* close_range in a process sharing its table: CLOSE_RANGE_UNSHARE closes in a copy. */
static int close_range_child(void *p) {
    int *fds = p;
    const char *plain = err(syscall(SYS_close_range, fds[0], fds[0], 0));
    const char *unshared = err(syscall(SYS_close_range, fds[1], fds[1], 2));
    say("child close_range: %s, with CLOSE_RANGE_UNSHARE: %s\n", plain, unshared);
    return 0;
}

static void close_range_checks(void) {
    int fds[2] = {open("/dev/null", O_RDONLY), open("/dev/null", O_RDONLY)};
    report[0] = 0;
    int code = reap(spawn(close_range_child, fds, CLONE_FILES | CLONE_VM));
    printf("close_range: child exit %d; %sparent's fds: plain %s, unshared %s\n", code, report,
           getfd(fds[0]) >= 0 ? "open" : "EBADF", getfd(fds[1]) >= 0 ? "open" : "EBADF");
    close(fds[0]);
    close(fds[1]);
}

/* ---- CLONE_FS ---- */

static int fs_child(void *p) {
    (void)p;
    chdir("/tmp");
    umask(027);
    return 0;
}

static int fs_unshare_child(void *p) {
    (void)p;
    say("child unshare(CLONE_FS): %s\n", err(unshare(CLONE_FS)));
    chdir("/proc");
    umask(077);
    return 0;
}

static int fs_setns_child(void *p) {
    (void)p;
    int ns = open("/proc/self/ns/mnt", O_RDONLY);
    say("child setns(CLONE_NEWNS) sharing its fs: %s\n", err(setns(ns, CLONE_NEWNS)));
    close(ns);
    return 0;
}

static int fs_chroot_child(void *p) {
    return chroot(p) == 0 ? 0 : 1;
}

static void fs_checks(void) {
    char cwd[256];
    chdir("/");
    umask(022);
    pid_t pid = spawn(fs_child, NULL, 0);
    reap(pid);
    getcwd(cwd, sizeof cwd);
    mode_t old = umask(022);
    printf("no CLONE_FS: parent cwd %s, umask %03o\n", cwd, old);
    pid = spawn(fs_child, NULL, CLONE_FS);
    reap(pid);
    getcwd(cwd, sizeof cwd);
    old = umask(022);
    printf("CLONE_FS: parent cwd %s, umask %03o\n", cwd, old);
    report[0] = 0;
    pid = spawn(fs_unshare_child, NULL, CLONE_FS | CLONE_VM);
    reap(pid);
    getcwd(cwd, sizeof cwd);
    old = umask(022);
    printf("CLONE_FS then unshare: %sparent cwd %s, umask %03o\n", report, cwd, old);
    report[0] = 0;
    pid = spawn(fs_setns_child, NULL, CLONE_FS | CLONE_VM);
    reap(pid);
    int ns = open("/proc/self/ns/mnt", O_RDONLY);
    printf("CLONE_FS: %sparent setns(CLONE_NEWNS) after the child ended: %s\n", report,
           err(setns(ns, CLONE_NEWNS)));
    close(ns);
    chdir("/");
    /* chroot in a helper process, so that this one keeps its root. */
    mkdir("/tmp/cs_root", 0755);
    close(open("/tmp/cs_root/marker", O_CREAT | O_WRONLY, 0644));
    fflush(stdout);
    pid_t helper = fork();
    if (helper == 0) {
        pid_t c = spawn(fs_chroot_child, "/tmp/cs_root", CLONE_FS);
        int code = reap(c);
        _exit(code == 0 && access("/marker", F_OK) == 0 ? 0 : 1);
    }
    printf("CLONE_FS: the child's chroot is the parent's: %s\n",
           reap(helper) == 0 ? "yes" : "no");
    unlink("/tmp/cs_root/marker");
    rmdir("/tmp/cs_root");
}

/* A set-user-ID program run by a process that shares its fs with another gains nothing. */
static int setuid_exec_child(void *p) {
    char *argv[] = {p, "euid", NULL};
    execv(p, argv);
    return 99;
}

static void setuid_checks(void) {
    const char *copy = "/tmp/cs_suid";
    char buf[65536];
    int in = open(self_path, O_RDONLY), out = open(copy, O_CREAT | O_TRUNC | O_WRONLY, 0755);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    close(out);
    chmod(copy, 04755);
    fflush(stdout);
    pid_t helper = fork();
    if (helper == 0) {
        if (setresuid(1000, 1000, 1000) != 0) _exit(90);
        int alone = reap(spawn(setuid_exec_child, (void *)copy, 0));
        int shared = reap(spawn(setuid_exec_child, (void *)copy, CLONE_FS));
        _exit(alone * 16 + shared);
    }
    int code = reap(helper);
    printf("set-user-ID root program as uid 1000: euid 0 alone: %d, sharing its fs: %d\n",
           code / 16, code % 16);
    unlink(copy);
}

/* ---- CLONE_SIGHAND ---- */

static void on_usr1(int sig) { (void)sig; }

static int exit_at_once(void *p) {
    (void)p;
    return 0;
}

static int sighand_child(void *p) {
    (void)p;
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &sa, NULL);
    /* Its mask and its pending signals are its own. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGURG);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGURG);
    const char *sighand = err(unshare(CLONE_SIGHAND));
    const char *vm = err(unshare(CLONE_VM));
    say("child unshare(CLONE_SIGHAND): %s, unshare(CLONE_VM): %s\n", sighand, vm);
    return 0;
}

static void sighand_checks(void) {
    struct sigaction sa;
    report[0] = 0;
    pid_t pid = spawn(sighand_child, NULL, CLONE_SIGHAND | CLONE_VM);
    int code = reap(pid);
    printf("CLONE_SIGHAND: child exit %d; %s", code, report);
    sigaction(SIGUSR1, NULL, &sa);
    printf("CLONE_SIGHAND: parent's SIGUSR1 is the child's handler: %s\n",
           sa.sa_handler == on_usr1 ? "yes" : "no");
    sigaction(SIGUSR2, NULL, &sa);
    printf("CLONE_SIGHAND: parent's SIGUSR2 ignored: %s\n",
           sa.sa_handler == SIG_IGN ? "yes" : "no");
    sigset_t set;
    sigprocmask(SIG_BLOCK, NULL, &set);
    printf("CLONE_SIGHAND: parent blocks SIGURG: %s\n", sigismember(&set, SIGURG) ? "yes" : "no");
    sigpending(&set);
    printf("CLONE_SIGHAND: parent has SIGURG pending: %s\n",
           sigismember(&set, SIGURG) ? "yes" : "no");
    /* execve in a process sharing dispositions: its copy is reset, the parent's is not. */
    char *argv[] = {self_path, "exec-sighand", NULL};
    /* Flags and masks go at execve too, on ignored and default signals alike. */
    struct sigaction flagged = {0};
    flagged.sa_handler = SIG_IGN;
    flagged.sa_flags = SA_RESTART;
    sigaddset(&flagged.sa_mask, SIGTERM);
    sigaction(SIGUSR2, &flagged, NULL);
    flagged.sa_handler = SIG_DFL;
    flagged.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    sigaction(SIGCHLD, &flagged, NULL);
    pid = spawn(exec_child, argv, CLONE_SIGHAND | CLONE_VM);
    code = reap(pid);
    printf("CLONE_SIGHAND execve: child exit %d (1 SIGUSR1 default, 2 SIGUSR2 ignored, 4 its flags "
           "and mask cleared, 8 SIGCHLD's too)\n", code);
    signal(SIGCHLD, SIG_DFL);
    sigaction(SIGUSR1, NULL, &sa);
    printf("CLONE_SIGHAND execve: parent's SIGUSR1 still handled: %s\n",
           sa.sa_handler == on_usr1 ? "yes" : "no");
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    printf("unshare(CLONE_SIGHAND) with the child gone: %s\n", err(unshare(CLONE_SIGHAND)));
    /* The dispositions stay shared with an ended child until it is reaped, even if a pidfd
     * still names it. */
    pid = spawn(exit_at_once, NULL, CLONE_SIGHAND | CLONE_VM);
    int pidfd = syscall(SYS_pidfd_open, pid, 0);
    siginfo_t info;
    waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
    printf("unshare(CLONE_SIGHAND) with the child ended: %s\n", err(unshare(CLONE_SIGHAND)));
    reap(pid);
    printf("unshare(CLONE_SIGHAND) with the child reaped, its pidfd open: %s\n",
           err(unshare(CLONE_SIGHAND)));
    close(pidfd);
}

static int exec_sighand_main(void) {
    struct sigaction sa;
    int code = 0;
    sigaction(SIGUSR1, NULL, &sa);
    if (sa.sa_handler == SIG_DFL) code |= 1;
    sigaction(SIGUSR2, NULL, &sa);
    if (sa.sa_handler == SIG_IGN) code |= 2;
    if (sa.sa_flags == 0 && sigisemptyset(&sa.sa_mask)) code |= 4;
    sigaction(SIGCHLD, NULL, &sa);
    if (sa.sa_handler == SIG_DFL && sa.sa_flags == 0 && sigisemptyset(&sa.sa_mask)) code |= 8;
    return code;
}

/* ---- CLONE_VM ---- */

static volatile int shared_value;
static char *volatile child_map;
static char *parent_map;

static int vm_child(void *p) {
    (void)p;
    stack_t ss;
    sigaltstack(NULL, &ss);
    say("child's alternate signal stack disabled: %s\n", ss.ss_flags & SS_DISABLE ? "yes" : "no");
    shared_value = 42;
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 'c';
    child_map = m;
    munmap(parent_map, 4096);
    say("child unshare(CLONE_VM): %s\n", err(unshare(CLONE_VM)));
    return 0;
}

static int vm_exec_child(void *p) {
    shared_value = 7;
    return exec_child(p);
}

static int vm_wait_child(void *p) {
    char c;
    read(*(int *)p, &c, 1);
    return 0;
}

/* Returns the VmSize line of /proc/`pid`/status, read without allocating. */
static const char *vm_size(const char *pid) {
    static char buf[2][4096];
    static int which;
    char path[64];
    char *b = buf[which++ & 1];
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, b, 4095);
    close(fd);
    b[n > 0 ? n : 0] = 0;
    char *line = strstr(b, "VmSize:");
    if (!line) return "none";
    *strchr(line, '\n') = 0;
    return line;
}

/* The child of a process that ends first: it goes on with the memory they shared. */
static int vm_orphan_child(void *p) {
    int *fds = p;
    char c;
    close(fds[1]);
    /* EOF once the parent has ended (its copy of the write end goes with it). */
    read(fds[0], &c, 1);
    shared_value = 5;
    child_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    child_map[0] = (char)(shared_value + 1);
    char out = child_map[0];
    write(fds[2], &out, 1);
    return 0;
}

static void vm_checks(void) {
    int pipefd[2];
    stack_t ss = {.ss_sp = malloc(SIGSTKSZ), .ss_size = SIGSTKSZ};
    sigaltstack(&ss, NULL);
    parent_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    parent_map[0] = 'p';
    report[0] = 0;
    shared_value = 0;
    pid_t pid = spawn(vm_child, NULL, CLONE_VM);
    int code = reap(pid);
    printf("CLONE_VM: child exit %d; %s", code, report);
    printf("CLONE_VM: parent sees the child's store: %d\n", shared_value);
    printf("CLONE_VM: parent reads the child's mmap: %c\n", child_map ? child_map[0] : '?');
    pipe(pipefd);
    printf("CLONE_VM: parent's page after the child's munmap: %s\n",
           err(write(pipefd[1], parent_map, 1)));
    printf("unshare(CLONE_VM) with the child gone: %s\n", err(unshare(CLONE_VM)));
    /* /proc/PID/status of a child sharing the memory shows the same space. */
    int go[2];
    pipe(go);
    pid = spawn(vm_wait_child, &go[0], CLONE_VM);
    char child_pid[16];
    snprintf(child_pid, sizeof child_pid, "%d", pid);
    const char *mine = vm_size("self"), *theirs = vm_size(child_pid);
    printf("CLONE_VM: the child's VmSize is the parent's: %s\n",
           strcmp(mine, theirs) == 0 ? "yes" : "no");
    write(go[1], "g", 1);
    reap(pid);
    close(go[0]);
    close(go[1]);
    /* The child executes a program: the parent's memory stays. */
    char *argv[] = {self_path, "exit3", NULL};
    shared_value = 0;
    pid = spawn(vm_exec_child, argv, CLONE_VM);
    code = reap(pid);
    printf("CLONE_VM execve: child exit %d; parent sees %d, its page %c\n", code, shared_value,
           child_map[0]);
    /* The parent ends first: a helper clones a child sharing its memory and exits. */
    int fds[3], res[2];
    pipe(fds);
    pipe(res);
    fds[2] = res[1];
    fflush(stdout);
    pid_t helper = fork();
    if (helper == 0) {
        close(res[0]);
        spawn(vm_orphan_child, fds, CLONE_VM);
        _exit(0);
    }
    close(fds[0]);
    close(fds[1]);
    close(res[1]);
    reap(helper);
    char c = 0;
    ssize_t n = read(res[0], &c, 1);
    printf("CLONE_VM: the child after its parent ended: read %zd, value %d\n", n, c);
    close(res[0]);
    close(pipefd[0]);
    close(pipefd[1]);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
}

/* ---- vfork: the child runs in the parent's memory, which sleeps until it lets go ---- */

static volatile int vfork_value, handler_saw = -1;

static void on_usr1_vfork(int sig) {
    (void)sig;
    handler_saw = vfork_value;
}

static void vfork_checks(void) {
    signal(SIGUSR1, on_usr1_vfork);
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        vfork_value = 1;
        kill(getppid(), SIGUSR1);
        vfork_value = 2;
        _exit(0);
    }
    int code = reap(pid);
    printf("vfork: child exit %d; parent sees the child's store: %d; its signal's handler ran "
           "after the child: saw %d\n", code, vfork_value, handler_saw);
    signal(SIGUSR1, SIG_DFL);
}

/* ---- kcmp: what a child shares, as the kernel compares it ---- */

static int kcmp_wait_child(void *p) {
    char c;
    read(*(int *)p, &c, 1);
    return 0;
}

/* The thread says it runs on `thread_up`, and waits on `thread_go`. */
static int thread_up[2], thread_go[2];
static volatile pid_t thread_tid;

static void *kcmp_thread(void *p) {
    char c;
    (void)p;
    thread_tid = gettid();
    write(thread_up[1], "t", 1);
    read(thread_go[0], &c, 1);
    return NULL;
}

static const char *same(long r) {
    if (r < 0) return err(r);
    return r == 0 ? "same" : r <= 2 ? "differ" : "other";
}

static void kcmp_checks(void) {
    struct { const char *name; int flags; } cases[] = {
        {"fork", 0},
        {"CLONE_FILES|CLONE_FS", CLONE_FILES | CLONE_FS},
        {"CLONE_VM|CLONE_SIGHAND", CLONE_VM | CLONE_SIGHAND},
    };
    const char *kinds[] = {"vm", "files", "fs", "sighand"};
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int go[2];
        pipe(go);
        pid_t pid = spawn(kcmp_wait_child, &go[0], cases[i].flags);
        pid_t me = getpid();
        char line[256];
        int at = snprintf(line, sizeof line, "kcmp %s:", cases[i].name);
        for (int k = 0; k < 4; k++)
            at += snprintf(line + at, sizeof line - at, " %s %s", kinds[k],
                           same(syscall(SYS_kcmp, me, pid, k + 1, 0, 0)));
        printf("%s\n", line);
        write(go[1], "g", 1);
        reap(pid);
        close(go[0]);
        close(go[1]);
    }
    int fd = open("/dev/null", O_RDONLY), dupd = dup(fd), other = open("/dev/null", O_RDONLY);
    pid_t me = getpid();
    printf("kcmp file: dup %s, another open %s, bad fd %s\n",
           same(syscall(SYS_kcmp, me, me, 0, fd, dupd)),
           same(syscall(SYS_kcmp, me, me, 0, fd, other)),
           same(syscall(SYS_kcmp, me, me, 0, fd, 999)));
    printf("kcmp errors: bad type %s, no such pid %s\n", same(syscall(SYS_kcmp, me, me, 99, 0, 0)),
           same(syscall(SYS_kcmp, me, 999999, 1, 0, 0)));
    long a = syscall(SYS_kcmp, me, 1, 2, 0, 0), b = syscall(SYS_kcmp, 1, me, 2, 0, 0);
    printf("kcmp order: antisymmetric %s\n",
           (a == 1 && b == 2) || (a == 2 && b == 1) ? "yes" : "no");
    /* A thread is named by its TID. */
    pthread_t t;
    char c;
    pipe(thread_up);
    pipe(thread_go);
    pthread_create(&t, NULL, kcmp_thread, NULL);
    read(thread_up[0], &c, 1);
    printf("kcmp with a thread's TID: vm %s\n", same(syscall(SYS_kcmp, me, thread_tid, 1, 0, 0)));
    write(thread_go[1], "g", 1);
    pthread_join(t, NULL);
    close(thread_go[0]);
    close(thread_go[1]);
    close(thread_up[0]);
    close(thread_up[1]);
    fflush(stdout);
    pid_t helper = fork();
    if (helper == 0) {
        if (setresuid(1000, 1000, 1000) != 0) _exit(90);
        _exit(syscall(SYS_kcmp, getpid(), 1, 1, 0, 0) < 0 && errno == EPERM ? 1 : 0);
    }
    printf("kcmp as uid 1000 on init: EPERM %s\n", reap(helper) == 1 ? "yes" : "no");
    close(fd);
    close(dupd);
    close(other);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-files") == 0) return exec_files_main(argv);
    if (argc > 1 && strcmp(argv[1], "exec-sighand") == 0) return exec_sighand_main();
    if (argc > 1 && strcmp(argv[1], "exit3") == 0) return 3;
    if (argc > 1 && strcmp(argv[1], "euid") == 0) return geteuid() == 0;
    self_path = argv[0];
    report = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    flag_checks();
    files_checks();
    files_vm_checks();
    files_exec_checks();
    nofile_checks();
    unshare_files_checks();
    close_range_checks();
    fs_checks();
    setuid_checks();
    sighand_checks();
    vm_checks();
    vfork_checks();
    kcmp_checks();
    return probe_end();
}
