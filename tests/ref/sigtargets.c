/* SIGCONT, SIGSTOP and SIGKILL to every kind of target, and who may send them, against Linux.
 * Build: musl-gcc -static -O2 -o sigtargets sigtargets.c
 *
 * Each case prints what the sender observed (return values, errno names, wait statuses),
 * never a PID or a time. A kernel that hangs or dies on a case never prints the last line. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int checks;

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

static void report(const char *what, int ret) {
    printf("%s: %s\n", what, ret == 0 ? "ok" : err_name(errno));
    checks++;
}

static void nap_ms(long ms) {
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static pid_t sleeper(void) {
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

/* Describes how a child changed state, as waitpid reported it. */
static void show_wait(const char *what, pid_t pid, int flags) {
    int status = 0;
    pid_t got = waitpid(pid, &status, flags);
    if (got != pid)
        printf("%s: waitpid failed (%s)\n", what, err_name(errno));
    else if (WIFSTOPPED(status))
        printf("%s: stopped by %d\n", what, WSTOPSIG(status));
    else if (WIFCONTINUED(status))
        printf("%s: continued\n", what);
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d\n", what, WTERMSIG(status));
    else
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    checks++;
}

static void *thread_sleeps(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* A child with three threads, all asleep. */
static pid_t threaded_sleeper(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        for (int i = 0; i < 3; i++)
            pthread_create(&t, NULL, thread_sleeps, NULL);
        for (;;)
            pause();
    }
    nap_ms(100);
    return pid;
}

static void to_self(void) {
    report("kill(self, SIGCONT)", kill(getpid(), SIGCONT));
    report("kill(self, 0)", kill(getpid(), 0));
    report("raise(SIGCONT)", raise(SIGCONT));
}

static void to_sleeping_child(void) {
    pid_t c = sleeper();
    nap_ms(50);
    report("SIGCONT to a sleeping child", kill(c, SIGCONT));
    nap_ms(50);
    int status;
    printf("sleeping child still running after SIGCONT: %s\n", waitpid(c, &status, WNOHANG) == 0 ? "yes" : "no");
    checks++;
    report("SIGKILL to a sleeping child", kill(c, SIGKILL));
    show_wait("sleeping child", c, 0);
}

static void stop_continue_kill(void) {
    pid_t c = sleeper();
    report("SIGSTOP to a child", kill(c, SIGSTOP));
    show_wait("after SIGSTOP", c, WUNTRACED);
    report("SIGSTOP to a stopped child", kill(c, SIGSTOP));
    report("SIGCONT to a stopped child", kill(c, SIGCONT));
    show_wait("after SIGCONT", c, WCONTINUED);
    report("SIGCONT to a running child", kill(c, SIGCONT));
    report("SIGSTOP again", kill(c, SIGSTOP));
    show_wait("stopped again", c, WUNTRACED);
    report("SIGKILL to a stopped child", kill(c, SIGKILL));
    show_wait("killed while stopped", c, 0);
    report("SIGCONT to a reaped child", kill(c, SIGCONT));
}

static void child_stops_itself(void) {
    pid_t c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        _exit(7);
    }
    show_wait("child that raised SIGSTOP", c, WUNTRACED);
    report("SIGCONT to it", kill(c, SIGCONT));
    show_wait("after it continued", c, 0);
}

static void thread_group(void) {
    pid_t c = threaded_sleeper();
    report("SIGSTOP to a thread group", kill(c, SIGSTOP));
    show_wait("thread group", c, WUNTRACED);
    report("SIGCONT to the thread group", kill(c, SIGCONT));
    show_wait("thread group", c, WCONTINUED);
    report("SIGKILL to the thread group", kill(c, SIGKILL));
    show_wait("thread group", c, 0);

    c = threaded_sleeper();
    /* The main thread's id is the process id; a SIGKILL aimed at one thread kills them all. */
    report("tgkill(SIGKILL) to one thread", (int)syscall(SYS_tgkill, c, c, SIGKILL));
    show_wait("thread group after tgkill", c, 0);
}

static void process_group(void) {
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        sleeper();
        sleeper();
        for (;;)
            pause();
    }
    setpgid(leader, leader);
    nap_ms(100);
    report("SIGSTOP to a process group", kill(-leader, SIGSTOP));
    show_wait("group leader", leader, WUNTRACED);
    report("SIGCONT to the process group", kill(-leader, SIGCONT));
    show_wait("group leader", leader, WCONTINUED);
    report("SIGKILL to the process group", kill(-leader, SIGKILL));
    show_wait("group leader", leader, 0);
}

static void to_init(void) {
    /* Init has no handler for these: Linux never delivers them from inside. */
    pid_t c = fork();
    if (c == 0) {
        int a = kill(1, SIGKILL);
        int b = kill(1, SIGSTOP);
        int d = kill(1, SIGCONT);
        _exit((a == 0 && b == 0 && d == 0) ? 0 : 1);
    }
    show_wait("child that sent SIGKILL, SIGSTOP, SIGCONT to init", c, 0);
    nap_ms(50);
    report("init is still there", kill(1, 0));
}

static void unprivileged(void) {
    pid_t target = sleeper();
    pid_t c = fork();
    if (c == 0) {
        if (setuid(1000) != 0)
            _exit(99);
        report("as uid 1000: kill(root's child, SIGKILL)", kill(target, SIGKILL));
        report("as uid 1000: kill(root's child, 0)", kill(target, 0));
        report("as uid 1000: kill(init, SIGTERM)", kill(1, SIGTERM));
        report("as uid 1000: kill(self, 0)", kill(getpid(), 0));
        report("as uid 1000: kill(-1, SIGKILL)", kill(-1, SIGKILL));
        report("as uid 1000: tgkill(root's child, SIGKILL)", (int)syscall(SYS_tgkill, target, target, SIGKILL));
        printf("as uid 1000: checks %d\n", checks);
        fflush(stdout);
        _exit(0);
    }
    show_wait("uid-1000 child", c, 0);
    int status;
    printf("root's child survived the uid-1000 child: %s\n", waitpid(target, &status, WNOHANG) == 0 ? "yes" : "no");
    checks++;
    kill(target, SIGKILL);
    show_wait("root's child", target, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    to_self();
    to_sleeping_child();
    stop_continue_kill();
    child_stops_itself();
    thread_group();
    process_group();
    to_init();
    unprivileged();
    printf("checks: %d\n", checks);
    return 0;
}
