/* PID namespaces checked against Linux: unshare(CLONE_NEWPID) (the caller stays, its next
 * child is the new namespace's init, pid 1, with getppid 0), a second unshare (EINVAL),
 * numbers inside (getpid, gettid, getppid, fork's return, wait's and waitid's, kill's
 * si_pid, set_tid_address), init's protection (a signal it has no handler for is ignored
 * from inside, SIGKILL from outside kills it), init's end taking the namespace down (its
 * children are killed, and fork into it answers ENOMEM), /proc mounted inside (self, the
 * listing, status's NSpid, stat), /proc/PID/status NSpid seen from outside, /proc/PID/ns/pid
 * and pid_for_children, NS_GET_PARENT, setns into a PID namespace (for the children only,
 * EINVAL for one above), and clone(CLONE_NEWPID).
 * Build: musl-gcc -static -O2 -o pidns pidns.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#define NS_GET_PARENT 0xb702

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case ENOMEM: return "ENOMEM";
    case ECHILD: return "ECHILD";
    case EBADF: return "EBADF";
    case EDEADLK: return "EDEADLK";
    default: return "other";
    }
}

static unsigned long long ns_ino(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* The NSpid line of a /proc status file, tabs shown as spaces, with the numbers rebased:
 * the first is shown as "outer" when there are two (it differs between kernels). */
static void show_nspid(const char *who, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: open %s: %s\n", who, path, err(-1));
        return;
    }
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "NSpid:", 6) != 0) continue;
        int numbers[8], count = 0;
        char *p = line + 6;
        while (count < 8) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            numbers[count++] = (int)v;
            p = end;
        }
        if (count == 2)
            printf("%s: NSpid has 2 numbers, inner %d\n", who, numbers[1]);
        else if (count == 1)
            printf("%s: NSpid has 1 number, %d\n", who, numbers[0]);
        else
            printf("%s: NSpid has %d numbers\n", who, count);
    }
    fclose(f);
}

static volatile int usr1_from = -1;

static void on_usr1(int sig, siginfo_t *info, void *ctx) {
    (void)sig;
    (void)ctx;
    usr1_from = info->si_pid;
}

/* The numeric entries of /proc, sorted (small counts only). */
static void list_proc(const char *who) {
    DIR *d = opendir("/proc");
    int pids[64], count = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && count < 64)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') pids[count++] = atoi(e->d_name);
    if (d) closedir(d);
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (pids[j] < pids[i]) {
                int t = pids[i];
                pids[i] = pids[j];
                pids[j] = t;
            }
    char out[256] = "";
    for (int i = 0; i < count; i++) snprintf(out + strlen(out), sizeof out - strlen(out), " %d", pids[i]);
    printf("%s: /proc lists%s\n", who, out);
}

/* The namespace's init: reports to `report`, then keeps `hold` open in a child that
 * pauses, and pauses itself until killed from outside. */
static void init_main(int report, int hold, int go) {
    char byte;
    read(go, &byte, 1);
    printf("init: getpid %d getppid %d gettid %ld set_tid_address %ld\n", getpid(), getppid(),
           syscall(SYS_gettid), syscall(SYS_set_tid_address, NULL));
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    printf("init: kill(1, SIGTERM) %s, still here\n", err(kill(1, SIGTERM)));
    printf("init: kill(1, 0) %s, kill(2, 0) %s\n", err(kill(1, 0)), err(kill(2, 0)));
    /* A PI futex word holds the owner's TID as this namespace numbers it. */
    static unsigned lock_word;
    long locked = syscall(SYS_futex, &lock_word, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0);
    printf("init: TRYLOCK_PI %s, word %u\n", err(locked), lock_word);
    long again = syscall(SYS_futex, &lock_word, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0);
    printf("init: TRYLOCK_PI again %s\n", err(again));
    long unlocked = syscall(SYS_futex, &lock_word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
    printf("init: UNLOCK_PI %s, word %u\n", err(unlocked), lock_word);
    int turn[2];
    pipe(turn);
    pid_t h = fork();
    if (h == 0) {
        read(turn[0], &byte, 1);
        printf("second: getpid %d getppid %d\n", getpid(), getppid());
        printf("second: kill(1, SIGUSR1) %s\n", err(kill(1, SIGUSR1)));
        printf("second: kill(-1, 0) %s\n", err(kill(-1, 0)));
        _exit(7);
    }
    printf("init: fork returned %d\n", h);
    write(turn[1], "g", 1);
    siginfo_t si = {0};
    int w = waitid(P_PID, h, &si, WEXITED | WNOWAIT);
    printf("init: waitid %s si_pid %d status %d\n", err(w), si.si_pid, si.si_status);
    int status;
    pid_t got = waitpid(-1, &status, 0);
    printf("init: waitpid %d exit %d, SIGUSR1 from %d\n", got, WEXITSTATUS(status), usr1_from);
    printf("init: waitpid again %s\n", err(waitpid(-1, NULL, WNOHANG)));
    /* /proc as this namespace sees it, in a mount namespace of its own. */
    if (unshare(CLONE_NEWNS) == 0 && mount("proc", "/proc", "proc", 0, NULL) == 0) {
        char self[32] = "";
        ssize_t n = readlink("/proc/self", self, sizeof self - 1);
        if (n > 0) self[n] = 0;
        printf("init: /proc/self -> %s\n", self);
        list_proc("init");
        show_nspid("init", "/proc/1/status");
        FILE *f = fopen("/proc/self/stat", "r");
        int pid = -1, ppid = -1;
        char comm[64];
        char state;
        if (f) {
            fscanf(f, "%d %63s %c %d", &pid, comm, &state, &ppid);
            fclose(f);
        }
        printf("init: /proc/self/stat pid %d ppid %d\n", pid, ppid);
    } else {
        printf("init: mount proc failed: %s\n", err(-1));
    }
    int own = open("/proc/self/ns/pid", O_RDONLY);
    printf("init: NS_GET_PARENT of own %s\n", err(ioctl(own, NS_GET_PARENT)));
    close(own);
    fflush(stdout);
    pid_t holder = fork();
    if (holder == 0) {
        close(report);
        pause();
        _exit(0);
    }
    close(hold);
    char ready = 'r';
    write(report, &ready, 1);
    for (;;) pause();
}

static void child_main(void) {
    unsigned long long before = ns_ino("/proc/self/ns/pid");
    printf("child: unshare(NEWPID) %s\n", err(unshare(CLONE_NEWPID)));
    printf("child: own pid ns unchanged %d, pid_for_children new %d\n",
           ns_ino("/proc/self/ns/pid") == before,
           ns_ino("/proc/self/ns/pid_for_children") != before);
    printf("child: unshare(NEWPID) again %s\n", err(unshare(CLONE_NEWPID)));
    pid_t me = getpid();
    int report[2], hold[2], go[2];
    pipe(report);
    pipe(hold);
    pipe(go);
    fflush(stdout);
    pid_t init = fork();
    if (init == 0) {
        close(report[0]);
        close(hold[0]);
        init_main(report[1], hold[1], go[0]);
        _exit(0);
    }
    close(report[1]);
    close(hold[1]);
    printf("child: getpid unchanged %d, init's number here > 1 %d\n", getpid() == me, init > 1);
    write(go[1], "g", 1);
    char c;
    printf("child: init ready %zd\n", read(report[0], &c, 1));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", init);
    show_nspid("child sees init", path);
    snprintf(path, sizeof path, "/proc/%d/ns/pid", init);
    printf("child: init's pid ns is my pid_for_children %d\n",
           ns_ino(path) == ns_ino("/proc/self/ns/pid_for_children"));
    int fd = open(path, O_RDONLY);
    int parent = (int)ioctl(fd, NS_GET_PARENT);
    struct stat st;
    printf("child: NS_GET_PARENT %s, is my pid ns %d\n", err(parent),
           parent >= 0 && fstat(parent, &st) == 0 && st.st_ino == ns_ino("/proc/self/ns/pid"));
    /* setns into the new namespace changes nothing for the caller; back up is EINVAL. */
    printf("child: setns(init's pid ns) %s\n", err(setns(fd, CLONE_NEWPID)));
    close(fd);
    printf("child: kill(init, SIGTERM) %s (ignored: no handler)\n", err(kill(init, SIGTERM)));
    printf("child: kill(init, SIGKILL) %s\n", err(kill(init, SIGKILL)));
    int status;
    pid_t got = waitpid(init, &status, 0);
    printf("child: waitpid(init) same %d, killed by %d\n", got == init,
           WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    ssize_t n = read(hold[0], &c, 1);
    printf("child: init's other child gone (EOF) %d\n", n == 0);
    pid_t again = fork();
    if (again == 0) _exit(0);
    printf("child: fork into the dead namespace %s\n", err(again));
    printf("child: setns(own pid ns) %s\n", err(setns(parent, CLONE_NEWPID)));
    close(parent);
    again = fork();
    if (again == 0) _exit(0);
    printf("child: fork after it %s, getpid of it visible %d\n", err(again), kill(again, 0) == 0);
    waitpid(again, NULL, 0);
}

static void clone_main(void) {
    fflush(stdout);
    long pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        printf("clone child: getpid %d getppid %d\n", getpid(), getppid());
        fflush(stdout);
        _exit(3);
    }
    int status;
    pid_t got = waitpid((pid_t)pid, &status, 0);
    printf("clone(NEWPID) %s, waitpid same %d exit %d\n", err(pid), got == pid,
           WEXITSTATUS(status));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t c = fork();
    if (c == 0) {
        child_main();
        _exit(0);
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        clone_main();
        _exit(0);
    }
    waitpid(c, NULL, 0);
    if (setuid(65534) == 0) printf("nobody: unshare(NEWPID) %s\n", err(unshare(CLONE_NEWPID)));
    return probe_end();
}
