/* POSIX record locks and OFD locks through fcntl, checked against Linux: F_GETLK's answer
 * (type, range, whether the pid is the holder's), conflicts between processes, conversion
 * and splitting of one's own locks, l_whence and negative lengths, the argument errors
 * (EINVAL, EOVERFLOW, EBADF), release when *any* descriptor of the file is closed, F_SETLKW
 * waiting for a release, EDEADLK, EINTR, locks not inherited by fork, OFD locks (per open
 * file description, conflicting within one process, l_pid -1, released with the
 * description), and /proc/locks. Deterministic output only: pids are printed as "holder"
 * or "other", orderings are forced with pipes.
 * Build: musl-gcc -static -O2 -o locks locks.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *path = "/tmp/locks.probe";

static const char *err(long r) {
    if (r != -1) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EDEADLK: return "EDEADLK";
    case EINTR: return "EINTR";
    case EOVERFLOW: return "EOVERFLOW";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    default: return "other";
    }
}

static const char *type_name(short t) {
    return t == F_RDLCK ? "RD" : t == F_WRLCK ? "WR" : t == F_UNLCK ? "UN" : "??";
}

static int lock(int fd, int cmd, short type, short whence, off_t start, off_t len) {
    struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) for `type` on [start, start+len): what is in the way. */
static void probe(const char *what, int fd, int cmd, short type, off_t start, off_t len,
                  pid_t holder) {
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len,
                        .l_pid = 0 };
    int r = fcntl(fd, cmd, &fl);
    if (r == -1) {
        printf("%s: %s\n", what, err(r));
        return;
    }
    const char *who = fl.l_pid == holder ? "holder" : fl.l_pid == -1 ? "-1"
                      : fl.l_pid == 0 ? "0" : "other";
    printf("%s: %s whence=%d start=%lld len=%lld pid=%s\n", what, type_name(fl.l_type),
           fl.l_whence, (long long)fl.l_start, (long long)fl.l_len, who);
}

/* Runs `body` in a child with its own descriptor of the file; waits for it. */
static void in_child(void (*body)(int fd, pid_t parent)) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_RDWR);
        body(fd, parent);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void child_sees_write_lock(int fd, pid_t parent) {
    probe("child getlk wr 10..19", fd, F_GETLK, F_WRLCK, 10, 10, parent);
    probe("child getlk rd 60..69", fd, F_GETLK, F_RDLCK, 60, 10, parent);
    printf("child setlk wr 10..19: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10)));
    printf("child setlk rd 60..69: %s\n", err(lock(fd, F_SETLK, F_RDLCK, SEEK_SET, 60, 10)));
    probe("child getlk wr 55..64 (own lock)", fd, F_GETLK, F_WRLCK, 55, 10, parent);
}

static void child_after_conversion(int fd, pid_t parent) {
    probe("child getlk rd 20..29", fd, F_GETLK, F_RDLCK, 20, 10, parent);
    probe("child getlk rd 0..29", fd, F_GETLK, F_RDLCK, 0, 30, parent);
    probe("child getlk wr 20..29", fd, F_GETLK, F_WRLCK, 20, 10, parent);
    probe("child getlk rd 30..59", fd, F_GETLK, F_RDLCK, 30, 30, parent);
    probe("child getlk wr 5..9 (hole)", fd, F_GETLK, F_WRLCK, 5, 5, parent);
    probe("child getlk wr 0..4", fd, F_GETLK, F_WRLCK, 0, 5, parent);
}

static void child_sees_nothing(int fd, pid_t parent) {
    probe("child getlk wr whole file", fd, F_GETLK, F_WRLCK, 0, 0, parent);
}

static void child_sees_ofd(int fd, pid_t parent) {
    probe("child getlk wr 200..209", fd, F_GETLK, F_WRLCK, 200, 10, parent);
    probe("child ofd getlk wr 200..209", fd, F_OFD_GETLK, F_WRLCK, 200, 10, parent);
    printf("child ofd setlk rd 200: %s\n", err(lock(fd, F_OFD_SETLK, F_RDLCK, SEEK_SET, 200, 1)));
}

static volatile int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

/* /proc/locks, with pids and device:inode normalized, sorted (Linux lists newest first). */
static void proc_locks(const char *what, pid_t self) {
    FILE *f = fopen("/proc/locks", "r");
    if (!f) {
        printf("%s: no /proc/locks\n", what);
        return;
    }
    char line[256], out[16][160];
    int n = 0;
    while (n < 16 && fgets(line, sizeof line, f)) {
        char cls[16], adv[16], kind[16], dev[64], end[32];
        long long id, start;
        int pid;
        if (sscanf(line, "%lld: %15s %15s %15s %d %63s %lld %31s", &id, cls, adv, kind, &pid,
                   dev, &start, end) != 8) {
            snprintf(out[n++], sizeof out[0], "unparsed");
            continue;
        }
        snprintf(out[n++], sizeof out[0], "%s %s %s %s %lld %s", cls, adv, kind,
                 pid == self ? "self" : pid == -1 ? "-1" : "other", start, end);
    }
    fclose(f);
    qsort(out, n, sizeof out[0], (int (*)(const void *, const void *))strcmp);
    printf("%s: %d lines\n", what, n);
    for (int i = 0; i < n; i++) printf("  %s\n", out[i]);
}

int main(void) {
    pid_t self = getpid();
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char block[300];
    memset(block, 'x', sizeof block);
    write(fd, block, sizeof block);

    /* Nothing locked: only l_type changes. */
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 7, .l_len = 3,
                        .l_pid = 12345 };
    printf("getlk unlocked: %s\n", err(fcntl(fd, F_GETLK, &fl)));
    printf("  -> %s whence=%d start=%lld len=%lld pid=%s\n", type_name(fl.l_type), fl.l_whence,
           (long long)fl.l_start, (long long)fl.l_len, fl.l_pid == 12345 ? "unchanged" : "changed");

    /* Argument errors. */
    printf("bad type: %s\n", err(lock(fd, F_SETLK, 7, SEEK_SET, 0, 1)));
    printf("getlk F_UNLCK: %s\n", err(lock(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1)));
    printf("bad whence: %s\n", err(lock(fd, F_SETLK, F_WRLCK, 9, 0, 1)));
    printf("negative start: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1)));
    printf("length before 0: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 3, -4)));
    printf("end past OFFSET_MAX: %s\n",
           err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 0x7fffffffffffff00LL, 0x1000)));
    printf("start past OFFSET_MAX: %s\n",
           err(lock(fd, F_SETLK, F_WRLCK, SEEK_END, 0x7fffffffffffff00LL, 1)));
    printf("bad pointer: %s\n", err(fcntl(fd, F_SETLK, (void *)8)));
    printf("closed fd: %s\n", err(lock(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
    printf("write lock on O_RDONLY: %s\n", err(lock(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    printf("read lock on O_WRONLY: %s\n", err(lock(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
    printf("unlock on O_RDONLY: %s\n", err(lock(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1)));
    close(ro);
    close(wo);

    /* A write lock on 0..49; another process sees it and cannot take it. */
    printf("setlk wr 0..49: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 50)));
    in_child(child_sees_write_lock);
    probe("own getlk after child exit", fd, F_GETLK, F_WRLCK, 60, 10, self);

    /* Converting the middle to a read lock splits it; unlocking 5..9 leaves a hole. */
    printf("setlk rd 20..29: %s\n", err(lock(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10)));
    printf("unlock 5..9: %s\n", err(lock(fd, F_SETLK, F_UNLCK, SEEK_SET, 5, 5)));
    in_child(child_after_conversion);
    proc_locks("/proc/locks after the split", self);

    /* l_whence SEEK_CUR and SEEK_END, and a negative length. */
    lseek(fd, 100, SEEK_SET);
    printf("setlk wr cur+10 len 5: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, 10, 5)));
    printf("setlk wr end-10 len -5: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_END, -10, -5)));
    printf("setlk rd end to EOF: %s\n", err(lock(fd, F_SETLK, F_RDLCK, SEEK_END, 0, 0)));
    proc_locks("/proc/locks with whence", self);

    /* Closing another descriptor of the file drops every lock of the process on it. */
    int other = open(path, O_RDONLY);
    close(other);
    in_child(child_sees_nothing);
    proc_locks("/proc/locks after closing another fd", self);

    /* F_SETLKW waits until the holder lets go. */
    int go[2], done[2];
    pipe(go);
    pipe(done);
    printf("setlk wr 0..9: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
    fflush(stdout);
    pid_t waiter = fork();
    if (waiter == 0) {
        int cfd = open(path, O_RDWR);
        char c;
        write(go[1], "g", 1);
        int r = lock(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 5, 1);
        /* Only after the parent's unlock, which it announced first. */
        read(done[0], &c, 1);
        printf("child setlkw wr 5: %s (after the unlock)\n", err(r));
        fflush(stdout);
        _exit(0);
    }
    char c;
    read(go[0], &c, 1);
    usleep(200000);
    printf("parent unlocks 0..9\n");
    fflush(stdout);
    lock(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
    write(done[1], "d", 1);
    waitpid(waiter, NULL, 0);

    /* Deadlock: the child holds byte 1 and waits for byte 0, which this process holds. */
    printf("setlk wr 0: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    fflush(stdout);
    pid_t peer = fork();
    if (peer == 0) {
        int cfd = open(path, O_RDWR);
        lock(cfd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
        write(go[1], "g", 1);
        int r = lock(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        read(done[0], &c, 1);
        printf("child setlkw wr 0: %s\n", err(r));
        fflush(stdout);
        _exit(0);
    }
    read(go[0], &c, 1);
    usleep(300000);
    printf("setlkw wr 1 (cycle): %s\n", err(lock(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1)));
    printf("setlk wr 1 (no wait): %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1)));
    fflush(stdout);
    lock(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
    write(done[1], "d", 1);
    waitpid(peer, NULL, 0);
    printf("after the child exits, setlk wr 1: %s\n",
           err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1)));

    /* A signal ends F_SETLKW with EINTR (no SA_RESTART). */
    fflush(stdout);
    pid_t holder = fork();
    if (holder == 0) {
        int cfd = open(path, O_RDWR);
        lock(cfd, F_SETLK, F_WRLCK, SEEK_SET, 50, 1);
        write(go[1], "g", 1);
        read(done[0], &c, 1);
        _exit(0);
    }
    read(go[0], &c, 1);
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    printf("setlkw wr 50 held elsewhere, alarm: %s\n",
           err(lock(fd, F_SETLKW, F_WRLCK, SEEK_SET, 50, 1)));
    write(done[1], "d", 1);
    waitpid(holder, NULL, 0);
    printf("setlk wr 50 once it exits: %s\n", err(lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 50, 1)));
    lock(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

    /* With SA_RESTART the wait goes on after the handler, until the holder exits. */
    fflush(stdout);
    holder = fork();
    if (holder == 0) {
        int cfd = open(path, O_RDWR);
        lock(cfd, F_SETLK, F_WRLCK, SEEK_SET, 60, 1);
        write(go[1], "g", 1);
        sleep(2);
        _exit(0);
    }
    read(go[0], &c, 1);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    alarms = 0;
    alarm(1);
    const char *restarted = err(lock(fd, F_SETLKW, F_WRLCK, SEEK_SET, 60, 1));
    printf("setlkw wr 60 with SA_RESTART: %s, handler ran %d time(s)\n", restarted, alarms);
    waitpid(holder, NULL, 0);
    lock(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

    /* OFD locks: owned by the open file description. */
    int a = open(path, O_RDWR), b = open(path, O_RDWR);
    printf("ofd setlk with l_pid set: %s\n", err(({
        struct flock f2 = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1,
                            .l_pid = 1 };
        fcntl(a, F_OFD_SETLK, &f2);
    })));
    printf("ofd setlk wr 200..209 on a: %s\n", err(lock(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 200, 10)));
    printf("ofd setlk rd 205 on b: %s\n", err(lock(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 205, 1)));
    printf("posix setlk rd 205 on b: %s\n", err(lock(b, F_SETLK, F_RDLCK, SEEK_SET, 205, 1)));
    probe("ofd getlk on b", b, F_OFD_GETLK, F_RDLCK, 200, 10, self);
    probe("posix getlk on b", b, F_GETLK, F_RDLCK, 200, 10, self);
    probe("ofd getlk on a (own)", a, F_OFD_GETLK, F_RDLCK, 200, 10, self);
    int a2 = dup(a);
    printf("ofd setlk rd 200 on a dup: %s\n", err(lock(a2, F_OFD_SETLK, F_RDLCK, SEEK_SET, 200, 1)));
    in_child(child_sees_ofd);
    proc_locks("/proc/locks with an OFD lock", self);
    close(b);
    probe("after closing b, ofd getlk on a dup", a2, F_OFD_GETLK, F_WRLCK, 200, 10, self);
    close(a);
    probe("after closing a, its dup still holds (getlk from fd)", fd, F_OFD_GETLK, F_WRLCK, 200,
          10, self);
    close(a2);
    probe("after closing the dup", fd, F_OFD_GETLK, F_WRLCK, 200, 10, self);
    /* flock is a lock of its own kind: listed as FLOCK, and no obstacle to record locks. */
    int f1 = open(path, O_RDWR), f2 = open(path, O_RDWR);
    printf("flock ex on f1: %s\n", err(flock(f1, LOCK_EX | LOCK_NB)));
    printf("flock sh on f2: %s\n", err(flock(f2, LOCK_SH | LOCK_NB)));
    printf("posix setlk wr over it: %s\n", err(lock(f2, F_SETLK, F_WRLCK, SEEK_SET, 0, 0)));
    proc_locks("/proc/locks with flock", self);
    close(f2);
    close(f1);
    proc_locks("/proc/locks at the end", self);

    /* An O_PATH descriptor locks nothing; a bad flock command is EINVAL before EBADF. */
    int op = open(path, O_PATH);
    printf("O_PATH setlk: %s\n", err(lock(op, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
    printf("O_PATH getlk: %s\n", err(lock(op, F_GETLK, F_RDLCK, SEEK_SET, 0, 1)));
    printf("O_PATH flock: %s\n", err(flock(op, LOCK_SH | LOCK_NB)));
    printf("O_PATH setsig: %s\n", err(fcntl(op, F_SETSIG, SIGUSR1)));
    close(op);
    printf("flock bad command on a bad fd: %s\n", err(flock(99, 77)));
    /* Locks on a device go with its description too. */
    int n1 = open("/dev/null", O_RDWR), n2 = open("/dev/null", O_RDWR);
    printf("ofd lock /dev/null: %s\n", err(lock(n1, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 0)));
    printf("flock /dev/null: %s\n", err(flock(n1, LOCK_EX | LOCK_NB)));
    printf("second description, while held: %s %s\n",
           err(lock(n2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 0)), err(flock(n2, LOCK_EX | LOCK_NB)));
    close(n1);
    printf("after closing the first: %s ", err(lock(n2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 0)));
    printf("%s\n", err(flock(n2, LOCK_EX | LOCK_NB)));
    close(n2);

    /* The asynchronous-I/O owner and signal of a description (F_SETSIG, F_*OWN_EX). */
    int o = open(path, O_RDWR), o2 = dup(o);
    struct f_owner_ex ex = { .type = 9, .pid = 9 };
    printf("getsig fresh: %d\n", fcntl(o, F_GETSIG));
    printf("setsig 65: %s\n", err(fcntl(o, F_SETSIG, 65)));
    const char *r = err(fcntl(o, F_SETSIG, SIGUSR1));
    printf("setsig SIGUSR1: %s, getsig on the dup: %d\n", r, fcntl(o2, F_GETSIG));
    printf("getown_ex fresh: %s", err(fcntl(o, F_GETOWN_EX, &ex)));
    printf(" type %d pid %s\n", ex.type, ex.pid == 0 ? "0" : "other");
    fcntl(o, F_SETOWN, self);
    fcntl(o, F_GETOWN_EX, &ex);
    printf("after setown pid: type %d pid %s\n", ex.type, ex.pid == self ? "self" : "other");
    ex = (struct f_owner_ex){ .type = 3, .pid = self };
    printf("setown_ex type 3: %s\n", err(fcntl(o, F_SETOWN_EX, &ex)));
    ex = (struct f_owner_ex){ .type = F_OWNER_PID, .pid = 999999 };
    printf("setown_ex missing pid: %s\n", err(fcntl(o, F_SETOWN_EX, &ex)));
    ex = (struct f_owner_ex){ .type = F_OWNER_TID, .pid = gettid() };
    r = err(fcntl(o, F_SETOWN_EX, &ex));
    printf("setown_ex tid: %s, getown is the tid: %s\n", r,
           fcntl(o2, F_GETOWN) == gettid() ? "yes" : "no");
    ex = (struct f_owner_ex){ .type = F_OWNER_PGRP, .pid = getpgrp() };
    r = err(fcntl(o, F_SETOWN_EX, &ex));
    printf("setown_ex pgrp: %s, getown is -pgrp: %s\n", r,
           fcntl(o, F_GETOWN) == -getpgrp() ? "yes" : "no");
    printf("getown_ex bad pointer: %s\n", err(fcntl(o, F_GETOWN_EX, (void *)8)));
    fcntl(o, F_SETOWN, 0);
    fcntl(o, F_GETOWN_EX, &ex);
    printf("after setown 0: type %d pid %d\n", ex.type, ex.pid);
    close(o2);
    close(o);

    close(fd);
    unlink(path);
    return probe_end();
}
