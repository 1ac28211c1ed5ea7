/* prctl(2) checked against Linux: names, the parent-death signal, dumpable, keep-caps,
 * no-new-privs, capability queries, timer slack and timing, securebits, perf events, the
 * thread-ID address, THP_DISABLE, ambient capabilities, bad arguments and bad pointers, and
 * PR_SET_CHILD_SUBREAPER: orphans (running and already ended) go to the nearest subreaper,
 * which can wait for them; without one they go to init. Deterministic output only.
 * Build: musl-gcc -static -O2 -o prctl prctl.c */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#define PR_GET_THP_DISABLE 42
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_LOWER 3
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ECHILD: return "ECHILD";
    default: return "other";
    }
}

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: %s\n", what, err(r));
    else
        printf("%s: %ld\n", what, r);
}

#define P(what, ...) do { long r_ = prctl(__VA_ARGS__); show(what, r_); } while (0)

static void name(const char *set) {
    char got[32] = {0};
    prctl(PR_SET_NAME, set, 0, 0, 0);
    prctl(PR_GET_NAME, got, 0, 0, 0);
    printf("name '%s' reads back '%s'\n", set, got);
}

/* Orphans a grandchild and reports, through a pipe, the parent it then sees. */
static void orphan_test(const char *what, int subreaper, int already_ended) {
    int fds[2];
    pipe(fds);
    if (subreaper) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pid_t middle = getpid();
        pid_t grandchild = fork();
        if (grandchild == 0) {
            if (already_ended) _exit(42);
            close(fds[0]);
            /* Wait for the middle process to go, then report the new parent. */
            while (getppid() == middle) usleep(1000);
            pid_t ppid = getppid();
            write(fds[1], &ppid, sizeof ppid);
            _exit(43);
        }
        if (already_ended) {
            /* Let it end first (a zombie nobody reaps). */
            siginfo_t si;
            waitid(P_PID, grandchild, &si, WEXITED | WNOWAIT);
        }
        write(fds[1], &grandchild, sizeof grandchild);
        _exit(0);
    }
    close(fds[1]);
    pid_t grandchild;
    read(fds[0], &grandchild, sizeof grandchild);
    int status;
    waitpid(child, &status, 0);
    if (!already_ended) {
        pid_t ppid;
        read(fds[0], &ppid, sizeof ppid);
        printf("%s: the orphan's new parent is %s\n", what,
               ppid == getpid() ? "us" : ppid == 1 ? "init" : "someone else");
    }
    if (subreaper) {
        pid_t r = waitpid(grandchild, &status, 0);
        printf("%s: we reap it: %s, exit %d\n", what, r == grandchild ? "yes" : err(r), WEXITSTATUS(status));
    } else {
        pid_t r = waitpid(grandchild, &status, WNOHANG);
        printf("%s: waitpid for it: %s\n", what, err(r));
    }
    close(fds[0]);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

int main(void) {
    name("probe");
    name("a-very-long-process-name");
    name("");
    P("PR_GET_NAME to a bad pointer", PR_GET_NAME, (void *)8, 0, 0, 0);
    P("PR_SET_NAME from a bad pointer", PR_SET_NAME, (void *)8, 0, 0, 0);

    int sig = -1;
    P("PR_SET_PDEATHSIG 10", PR_SET_PDEATHSIG, 10, 0, 0, 0);
    P("PR_GET_PDEATHSIG", PR_GET_PDEATHSIG, &sig, 0, 0, 0);
    printf("pdeathsig %d\n", sig);
    P("PR_SET_PDEATHSIG 65", PR_SET_PDEATHSIG, 65, 0, 0, 0);
    P("PR_GET_PDEATHSIG to a bad pointer", PR_GET_PDEATHSIG, (void *)8, 0, 0, 0);
    P("PR_SET_PDEATHSIG 0", PR_SET_PDEATHSIG, 0, 0, 0, 0);

    P("PR_GET_DUMPABLE", PR_GET_DUMPABLE, 0, 0, 0, 0);
    P("PR_SET_DUMPABLE 2", PR_SET_DUMPABLE, 2, 0, 0, 0);
    P("PR_SET_DUMPABLE 0", PR_SET_DUMPABLE, 0, 0, 0, 0);
    P("PR_GET_DUMPABLE", PR_GET_DUMPABLE, 0, 0, 0, 0);
    P("PR_SET_DUMPABLE 1", PR_SET_DUMPABLE, 1, 0, 0, 0);
    P("PR_GET_KEEPCAPS", PR_GET_KEEPCAPS, 0, 0, 0, 0);
    P("PR_SET_KEEPCAPS 2", PR_SET_KEEPCAPS, 2, 0, 0, 0);
    P("PR_GET_NO_NEW_PRIVS", PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    P("PR_GET_NO_NEW_PRIVS with an argument", PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0);
    P("PR_SET_NO_NEW_PRIVS 2", PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0);
    P("PR_GET_SECCOMP", PR_GET_SECCOMP, 0, 0, 0, 0);
    P("PR_CAPBSET_READ 0", PR_CAPBSET_READ, 0, 0, 0, 0);
    P("PR_CAPBSET_READ 40", PR_CAPBSET_READ, 40, 0, 0, 0);
    P("PR_CAPBSET_READ 41", PR_CAPBSET_READ, 41, 0, 0, 0);
    P("PR_GET_TIMERSLACK", PR_GET_TIMERSLACK, 0, 0, 0, 0);
    P("PR_SET_TIMERSLACK 1000", PR_SET_TIMERSLACK, 1000, 0, 0, 0);
    P("PR_GET_TIMERSLACK", PR_GET_TIMERSLACK, 0, 0, 0, 0);
    P("PR_SET_TIMERSLACK 0 (default)", PR_SET_TIMERSLACK, 0, 0, 0, 0);
    P("PR_GET_TIMERSLACK", PR_GET_TIMERSLACK, 0, 0, 0, 0);
    P("PR_GET_TIMING", PR_GET_TIMING, 0, 0, 0, 0);
    P("PR_SET_TIMING statistical", PR_SET_TIMING, PR_TIMING_STATISTICAL, 0, 0, 0);
    P("PR_SET_TIMING timestamp", PR_SET_TIMING, PR_TIMING_TIMESTAMP, 0, 0, 0);
    P("PR_GET_SECUREBITS", PR_GET_SECUREBITS, 0, 0, 0, 0);
    P("PR_TASK_PERF_EVENTS_DISABLE", PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0);
    P("PR_TASK_PERF_EVENTS_ENABLE", PR_TASK_PERF_EVENTS_ENABLE, 0, 0, 0, 0);
    int *tid_address = NULL;
    P("PR_GET_TID_ADDRESS", PR_GET_TID_ADDRESS, &tid_address, 0, 0, 0);
    printf("tid address set: %d\n", tid_address != NULL);
    P("PR_GET_TID_ADDRESS to a bad pointer", PR_GET_TID_ADDRESS, (void *)8, 0, 0, 0);
    P("PR_GET_THP_DISABLE", PR_GET_THP_DISABLE, 0, 0, 0, 0);
    P("PR_SET_THP_DISABLE 1", PR_SET_THP_DISABLE, 1, 0, 0, 0);
    P("PR_SET_THP_DISABLE with arg3", PR_SET_THP_DISABLE, 1, 1, 0, 0);
    P("PR_GET_THP_DISABLE", PR_GET_THP_DISABLE, 0, 0, 0, 0);
    P("PR_GET_THP_DISABLE with arg2", PR_GET_THP_DISABLE, 1, 0, 0, 0);
    fflush(stdout);
    if (fork() == 0) {
        P("child's PR_GET_THP_DISABLE", PR_GET_THP_DISABLE, 0, 0, 0, 0);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    P("PR_SET_THP_DISABLE 0", PR_SET_THP_DISABLE, 0, 0, 0, 0);
    P("ambient IS_SET 0", PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0);
    P("ambient IS_SET 41", PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 41, 0, 0);
    P("ambient RAISE 0", PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 0, 0, 0);
    P("ambient LOWER 0", PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, 0, 0, 0);
    P("ambient CLEAR_ALL", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    P("ambient CLEAR_ALL with arg3", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0);
    P("ambient op 9", PR_CAP_AMBIENT, 9, 0, 0, 0);
    P("ambient IS_SET with arg4", PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 1, 0);
    P("option 1000", 1000, 0, 0, 0, 0);

    int sub = -1;
    P("PR_GET_CHILD_SUBREAPER", PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0);
    printf("subreaper %d\n", sub);
    P("PR_SET_CHILD_SUBREAPER 5", PR_SET_CHILD_SUBREAPER, 5, 0, 0, 0);
    P("PR_GET_CHILD_SUBREAPER", PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0);
    printf("subreaper %d\n", sub);
    P("PR_GET_CHILD_SUBREAPER to a bad pointer", PR_GET_CHILD_SUBREAPER, (void *)8, 0, 0, 0);
    fflush(stdout);
    if (fork() == 0) {
        prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0);
        printf("a child's subreaper flag: %d\n", sub);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    P("PR_SET_CHILD_SUBREAPER 0", PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    orphan_test("subreaper, running orphan", 1, 0);
    orphan_test("subreaper, ended orphan", 1, 1);
    orphan_test("no subreaper", 0, 0);

    /* The parent-death signal arrives when the parent ends. */
    signal(SIGUSR1, on_usr1);
    int fds[2];
    pipe(fds);
    fflush(stdout);
    pid_t middle = fork();
    if (middle == 0) {
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
            write(fds[1], "r", 1);
            while (!got_usr1) usleep(1000);
            int s = got_usr1;
            write(fds[1], &s, sizeof s);
            _exit(0);
        }
        char c;
        read(fds[0], &c, 1);
        _exit(0);
    }
    waitpid(middle, NULL, 0);
    int s = 0;
    read(fds[0], &s, sizeof s);
    printf("parent-death signal received: %d\n", s);
    return probe_end();
}
