/* File leases (fcntl F_SETLEASE/F_GETLEASE) checked against Linux: the errors (bad type,
 * not a regular file, O_PATH, conflicting opens, F_UNLCK with no lease, leases disabled,
 * not the owner), /proc/sys/fs/lease-break-time and leases-enable, read and write leases
 * broken by other processes' opens and truncate (SIGIO, or F_SETSIG's signal with si_fd),
 * O_NONBLOCK openers (EWOULDBLOCK), blocked openers released by a downgrade or unlock or by
 * the break time running out, F_GETLEASE's target type during a break, the owner and signal
 * reset when the lease goes, the lease going with its open file description, and the LEASE
 * lines of /proc/locks. Signals are blocked and collected with sigtimedwait, and children
 * report through their exit status, so nothing depends on timing.
 * Build: musl-gcc -static -O2 -o leases leases.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

static const char *path = "/tmp/lease.probe";
static int sig;

static const char *err(long r) {
    if (r != -1) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    default: return "other";
    }
}

static const char *type(int t) {
    return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : err(t);
}

static const char *names[] = {"ok", "EINVAL", "EAGAIN", "EACCES", "EBADF", "EINTR", "other"};

static int code(long r) {
    const char *e = err(r);
    for (int i = 0; i < 7; i++)
        if (!strcmp(e, names[i])) return i;
    return 6;
}

/* Runs `open(path, flags)` (or truncate when flags is -1) in a child; returns its pid.
 * Its exit status is the index of the result in `names`. */
static pid_t opener(int flags) {
    pid_t pid = fork();
    if (pid == 0) {
        long r = flags == -1 ? truncate(path, 0) : open(path, flags);
        _exit(code(r));
    }
    return pid;
}

static void expect_signal(const char *what, int fd);
static void no_signal(const char *what);
static void breaker(const char *what, pid_t opener);
static void reap(const char *what, pid_t pid);

static void on_usr1(int s) { (void)s; }

/* As opener, with a SIGUSR1 handler installed first: SA_RESTART if `restart`. */
static pid_t interruptible_opener(int flags, int restart) {
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
        sigaction(SIGUSR1, &sa, NULL);
        long r = flags == -1 ? truncate(path, 0) : open(path, flags);
        _exit(code(r));
    }
    return pid;
}

/* A blocked opener or truncate, interrupted by a signal: EINTR, or (SA_RESTART) waiting
 * again until the lease is given up. */
static void interrupted(const char *what, int fd, int flags, int restart) {
    char label[128];
    printf("F_RDLCK: %s\n", err(fcntl(fd, F_SETLEASE, F_RDLCK)));
    pid_t child = interruptible_opener(flags, restart);
    expect_signal(what, fd);
    snprintf(label, sizeof label, "%s, blocked", what);
    breaker(label, child);
    kill(child, SIGUSR1);
    if (restart) {
        /* The restarted call waits again: listed again once the handler has run. */
        usleep(100000);
        snprintf(label, sizeof label, "%s, restarted", what);
        breaker(label, child);
        no_signal("no second break signal");
        printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(fd, F_SETLEASE, F_UNLCK)));
        reap(what, child);
    } else {
        reap(what, child);
        printf("F_GETLEASE after: %s\n", type(fcntl(fd, F_GETLEASE)));
        printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(fd, F_SETLEASE, F_UNLCK)));
    }
}

static void reap(const char *what, pid_t pid) {
    int status;
    waitpid(pid, &status, 0);
    printf("%s: %s\n", what, WIFEXITED(status) ? names[WEXITSTATUS(status) % 7] : "killed");
}

/* Waits up to 10 s for the lease-break signal; prints which it was. */
static void expect_signal(const char *what, int fd) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigaddset(&set, SIGIO);
    struct timespec wait = {10, 0};
    siginfo_t si;
    int got = sigtimedwait(&set, &si, &wait);
    if (got < 0) {
        printf("%s: no signal\n", what);
        return;
    }
    if (got == SIGIO)
        printf("%s: SIGIO code %d\n", what, si.si_code);
    else
        printf("%s: F_SETSIG's signal code %d band %#lx fd-matches %d\n", what, si.si_code,
               (long)si.si_band, si.si_fd == fd);
}

/* Collects pending signals without waiting. */
static void no_signal(const char *what) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigaddset(&set, SIGIO);
    struct timespec zero = {0, 0};
    siginfo_t si;
    int n = 0;
    while (sigtimedwait(&set, &si, &zero) > 0) n++;
    printf("%s: %d signal(s)\n", what, n);
}

/* The LEASE lines of /proc/locks, pid and device normalized. */
static void proc_locks(const char *what, ino_t ino) {
    FILE *f = fopen("/proc/locks", "r");
    if (!f) {
        printf("%s: no /proc/locks\n", what);
        return;
    }
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char cls[16], state[16], kind[16], dev[64], end[32];
        long long id, start;
        int pid;
        if (sscanf(line, "%lld: %15s %15s %15s %d %63s %lld %31s", &id, cls, state, kind, &pid,
                   dev, &start, end) != 8 || strcmp(cls, "LEASE")) {
            continue;
        }
        char *colon = strrchr(dev, ':');
        int same = colon && strtoull(colon + 1, NULL, 10) == (unsigned long long)ino;
        /* The text after the number up to the pid, spacing and all. */
        char *text = strchr(line, ' ') + 1, *after = strstr(text, kind) + strlen(kind) + 1;
        printf("%s: [%.*s] self %d file %d %lld %s\n", what, (int)(after - text), text,
               pid == getpid(), same, start, end);
        n++;
    }
    fclose(f);
    if (n == 0) printf("%s: no lease\n", what);
}

/* Waits (at most 5 s) until /proc/locks lists `count` blocked openers, and prints their
 * lines; `opener` is the first one's pid. */
static void breakers(const char *what, pid_t opener, int count) {
    char lines[4][160];
    int n = 0;
    for (int tries = 0; tries < 500 && n < count; tries++) {
        FILE *f = fopen("/proc/locks", "r");
        char line[256];
        n = 0;
        while (f && fgets(line, sizeof line, f) && n < 4) {
            char *arrow = strstr(line, "->");
            if (!arrow) continue;
            char cls[16], state[16], kind[16], dev[64], end[32];
            long long start;
            int pid;
            if (sscanf(arrow, "-> %15s %15s %15s %d %63s %lld %31s", cls, state, kind, &pid, dev,
                       &start, end) != 7)
                continue;
            /* The text from the number's end up to the pid, spacing and all. */
            char *from = strchr(line, ':') + 1, *digits = strstr(line, " <none>");
            while (digits && digits > arrow && digits[-1] >= '0' && digits[-1] <= '9') digits--;
            int upto = digits ? (int)(digits - from) : 0;
            snprintf(lines[n++], sizeof lines[0], "[%.*s] first opener %d %s %lld %s", upto, from,
                     pid == opener, dev, start, end);
        }
        if (f) fclose(f);
        if (n < count) usleep(10000);
    }
    if (n < count) printf("%s: %d blocked openers listed\n", what, n);
    for (int i = 0; i < n && n >= count; i++) printf("%s: %s\n", what, lines[i]);
}

static void breaker(const char *what, pid_t opener) {
    breakers(what, opener, 1);
}

static void sysctl(const char *name, const char *value) {
    char p[128], buf[32] = "";
    snprintf(p, sizeof p, "/proc/sys/fs/%s", name);
    int fd = open(p, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("fs.%s: %s", name, n > 0 ? buf : "unreadable");
    if (value) {
        fd = open(p, O_WRONLY);
        long w = write(fd, value, strlen(value));
        close(fd);
        printf(", set to %s: %s", value, err(w));
    }
    printf("\n");
}

int main(void) {
    sig = SIGRTMIN + 2;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigaddset(&set, SIGIO);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int setup = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(setup, "lease", 5);
    close(setup);
    struct stat st;
    stat(path, &st);

    sysctl("lease-break-time", NULL);
    sysctl("leases-enable", NULL);

    /* Errors. */
    int rd = open(path, O_RDONLY);
    printf("F_GETLEASE with none: %s\n", type(fcntl(rd, F_GETLEASE)));
    printf("F_SETLEASE type 5: %s\n", err(fcntl(rd, F_SETLEASE, 5)));
    printf("F_SETLEASE F_UNLCK with none: %s\n", err(fcntl(rd, F_SETLEASE, F_UNLCK)));
    printf("F_SETLEASE on a bad fd: %s\n", err(fcntl(99, F_SETLEASE, F_RDLCK)));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    printf("F_SETLEASE on a directory: %s\n", err(fcntl(dir, F_SETLEASE, F_RDLCK)));
    close(dir);
    int pipes[2];
    pipe(pipes);
    printf("F_SETLEASE on a pipe: %s\n", err(fcntl(pipes[0], F_SETLEASE, F_RDLCK)));
    close(pipes[0]);
    close(pipes[1]);
    int procfile = open("/proc/version", O_RDONLY);
    printf("F_SETLEASE on /proc/version: %s\n", err(fcntl(procfile, F_SETLEASE, F_RDLCK)));
    printf("F_GETLEASE there: %s\n", type(fcntl(procfile, F_GETLEASE)));
    fcntl(procfile, F_SETLEASE, F_UNLCK);
    close(procfile);
    int devnull = open("/dev/null", O_RDONLY);
    printf("F_SETLEASE on /dev/null: %s\n", err(fcntl(devnull, F_SETLEASE, F_RDLCK)));
    close(devnull);
    int opath = open(path, O_PATH);
    printf("F_SETLEASE on O_PATH: %s\n", err(fcntl(opath, F_SETLEASE, F_RDLCK)));
    printf("F_GETLEASE on O_PATH: %s\n", err(fcntl(opath, F_GETLEASE)));
    int rd2 = open(path, O_RDONLY);
    printf("F_WRLCK with another reader open: %s\n", err(fcntl(rd, F_SETLEASE, F_WRLCK)));
    close(rd2);
    int rw = open(path, O_RDWR);
    printf("F_RDLCK on an O_RDWR fd: %s\n", err(fcntl(rw, F_SETLEASE, F_RDLCK)));
    printf("F_WRLCK on O_RDWR with a reader open: %s\n", err(fcntl(rw, F_SETLEASE, F_WRLCK)));
    printf("F_RDLCK on O_RDONLY with a writer open: %s\n", err(fcntl(rd, F_SETLEASE, F_RDLCK)));
    close(rw);
    close(opath);
    printf("F_WRLCK on O_RDONLY, alone: %s\n", err(fcntl(rd, F_SETLEASE, F_WRLCK)));
    printf("F_RDLCK over it: %s\n", err(fcntl(rd, F_SETLEASE, F_RDLCK)));
    printf("F_GETLEASE: %s\n", type(fcntl(rd, F_GETLEASE)));
    printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_UNLCK)));
    rw = open(path, O_RDWR);
    printf("F_WRLCK on O_RDWR, alone but for a reader: %s\n", err(fcntl(rw, F_SETLEASE, F_WRLCK)));
    close(rd);
    printf("F_WRLCK on O_RDWR, alone: %s\n", err(fcntl(rw, F_SETLEASE, F_WRLCK)));
    printf("F_RDLCK over it: %s\n", err(fcntl(rw, F_SETLEASE, F_RDLCK)));
    printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(rw, F_SETLEASE, F_UNLCK)));
    close(rw);
    rd = open(path, O_RDONLY);
    sysctl("leases-enable", "0");
    printf("F_RDLCK with leases disabled: %s\n", err(fcntl(rd, F_SETLEASE, F_RDLCK)));
    sysctl("leases-enable", "1");
    pid_t child = fork();
    if (child == 0) {
        setuid(65534);
        int r = open(path, O_RDONLY);
        _exit(code(fcntl(r, F_SETLEASE, F_RDLCK)));
    }
    reap("F_RDLCK as nobody on root's file", child);

    /* A read lease: readers pass, a writer breaks it. */
    printf("F_RDLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_RDLCK)));
    printf("F_GETLEASE: %s\n", type(fcntl(rd, F_GETLEASE)));
    printf("owner is us: %d\n", fcntl(rd, F_GETOWN) == getpid());
    proc_locks("read lease", st.st_ino);
    int other = open(path, O_RDONLY);
    printf("a second F_RDLCK from another description: %s\n", err(fcntl(other, F_SETLEASE, F_RDLCK)));
    printf("then F_WRLCK there: %s\n", err(fcntl(other, F_SETLEASE, F_WRLCK)));
    printf("its F_UNLCK: %s\n", err(fcntl(other, F_SETLEASE, F_UNLCK)));
    /* A second read lease, a child's: /proc/locks lists both. */
    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    pid_t second = fork();
    if (second == 0) {
        int mine = open(path, O_RDONLY);
        char c = fcntl(mine, F_SETLEASE, F_RDLCK) == 0 ? 'y' : 'n';
        write(ready[1], &c, 1);
        read(done[0], &c, 1);
        _exit(0);
    }
    char answer = 0;
    read(ready[0], &answer, 1);
    printf("a child's read lease: %c\n", answer);
    proc_locks("two read leases", st.st_ino);
    write(done[1], "x", 1);
    waitpid(second, NULL, 0);
    proc_locks("the child gone", st.st_ino);
    reap("child opens O_RDONLY", opener(O_RDONLY));
    no_signal("after a reader");
    reap("child opens O_WRONLY|O_NONBLOCK", opener(O_WRONLY | O_NONBLOCK));
    expect_signal("break by a writer", rd);
    printf("F_GETLEASE while breaking: %s\n", type(fcntl(rd, F_GETLEASE)));
    proc_locks("breaking", st.st_ino);
    printf("another F_RDLCK while a writer waits: %s\n", err(fcntl(other, F_SETLEASE, F_RDLCK)));
    close(other);
    reap("child opens O_RDWR|O_NONBLOCK again", opener(O_RDWR | O_NONBLOCK));
    no_signal("a second breaker");
    printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_UNLCK)));
    printf("F_GETLEASE after: %s\n", type(fcntl(rd, F_GETLEASE)));
    printf("owner after: %d\n", fcntl(rd, F_GETOWN));
    reap("child opens O_WRONLY|O_NONBLOCK with no lease", opener(O_WRONLY | O_NONBLOCK));

    /* A write lease with F_SETSIG: a blocked reader, released by a downgrade; a blocked
     * writer, released by an unlock. */
    printf("F_SETSIG: %s\n", err(fcntl(rd, F_SETSIG, sig)));
    printf("F_WRLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_WRLCK)));
    printf("F_GETLEASE: %s\n", type(fcntl(rd, F_GETLEASE)));
    proc_locks("write lease", st.st_ino);
    child = opener(O_RDONLY);
    expect_signal("break by a reader", rd);
    printf("F_GETLEASE while breaking: %s\n", type(fcntl(rd, F_GETLEASE)));
    breaker("blocked reader in /proc/locks", child);
    proc_locks("with a blocked reader", st.st_ino);
    printf("F_WRLCK again while a reader waits: %s\n", err(fcntl(rd, F_SETLEASE, F_WRLCK)));
    printf("F_SETLEASE F_RDLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_RDLCK)));
    reap("blocked reader", child);
    printf("F_GETLEASE after: %s\n", type(fcntl(rd, F_GETLEASE)));
    proc_locks("downgraded", st.st_ino);
    child = opener(O_WRONLY);
    expect_signal("break by a writer", rd);
    printf("F_GETLEASE while breaking: %s\n", type(fcntl(rd, F_GETLEASE)));
    breaker("blocked writer in /proc/locks", child);
    printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_UNLCK)));
    reap("blocked writer", child);
    printf("F_GETSIG after: %d\n", fcntl(rd, F_GETSIG));
    printf("owner after: %d\n", fcntl(rd, F_GETOWN));

    /* Two waiting readers are both listed under the lease (in an order that varies on
     * Linux: a reader waiting for a downgrade re-queues at every tick). */
    printf("F_WRLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_WRLCK)));
    pid_t first = opener(O_RDONLY);
    expect_signal("break by a reader", rd);
    breaker("one waiting", first);
    pid_t second_reader = opener(O_RDONLY);
    breakers("two readers waiting", -1, 2);
    printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_UNLCK)));
    reap("first reader", first);
    reap("second reader", second_reader);

    /* truncate(2) breaks a lease as a writer. */
    printf("F_RDLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_RDLCK)));
    child = opener(-1);
    expect_signal("break by truncate", rd);
    printf("F_GETLEASE while breaking: %s\n", type(fcntl(rd, F_GETLEASE)));
    printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_UNLCK)));
    reap("blocked truncate", child);

    /* A signal interrupts a waiting open or truncate; SA_RESTART restarts it. */
    interrupted("open interrupted", rd, O_WRONLY, 0);
    interrupted("open with SA_RESTART", rd, O_WRONLY, 1);
    interrupted("truncate interrupted", rd, -1, 0);
    interrupted("truncate with SA_RESTART", rd, -1, 1);

    /* The holder's own conflicting open breaks its lease too. */
    printf("F_WRLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_WRLCK)));
    printf("own open O_RDONLY|O_NONBLOCK: %s\n", err(open(path, O_RDONLY | O_NONBLOCK)));
    expect_signal("own break", rd);
    printf("F_GETLEASE: %s\n", type(fcntl(rd, F_GETLEASE)));
    printf("F_SETLEASE F_UNLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_UNLCK)));

    /* The break time running out: downgraded, then removed, by force. */
    sysctl("lease-break-time", "1");
    printf("F_WRLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_WRLCK)));
    child = opener(O_RDONLY);
    expect_signal("break by a reader", rd);
    reap("reader after the break time", child);
    printf("F_GETLEASE: %s\n", type(fcntl(rd, F_GETLEASE)));
    proc_locks("downgraded by force", st.st_ino);
    child = opener(O_WRONLY);
    expect_signal("break by a writer", rd);
    reap("writer after the break time", child);
    printf("F_GETLEASE: %s\n", type(fcntl(rd, F_GETLEASE)));
    printf("owner after: %d\n", fcntl(rd, F_GETOWN));
    proc_locks("removed by force", st.st_ino);
    sysctl("lease-break-time", "45");

    /* The lease belongs to the open file description. */
    printf("F_RDLCK: %s\n", err(fcntl(rd, F_SETLEASE, F_RDLCK)));
    int dup = fcntl(rd, F_DUPFD, 10);
    close(rd);
    printf("F_GETLEASE through a dup: %s\n", type(fcntl(dup, F_GETLEASE)));
    proc_locks("dup kept", st.st_ino);
    /* A forked child shares the description, and so the lease. */
    pid_t sharer = fork();
    if (sharer == 0) {
        int seen = fcntl(dup, F_GETLEASE);
        long r = fcntl(dup, F_SETLEASE, F_WRLCK);
        _exit(seen == F_RDLCK && r == 0 ? 0 : 1);
    }
    int status;
    waitpid(sharer, &status, 0);
    printf("child saw F_RDLCK and upgraded it: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("F_GETLEASE after the child's F_WRLCK: %s\n", type(fcntl(dup, F_GETLEASE)));
    printf("owner is still us: %d\n", fcntl(dup, F_GETOWN) == getpid());
    proc_locks("after the child", st.st_ino);
    reap("child opens O_RDONLY|O_NONBLOCK", opener(O_RDONLY | O_NONBLOCK));
    expect_signal("break of the shared lease", dup);
    printf("F_SETLEASE F_RDLCK: %s\n", err(fcntl(dup, F_SETLEASE, F_RDLCK)));
    close(dup);
    proc_locks("description closed", st.st_ino);
    reap("child opens O_WRONLY|O_NONBLOCK", opener(O_WRONLY | O_NONBLOCK));
    no_signal("end");
    unlink(path);
    return probe_end();
}
