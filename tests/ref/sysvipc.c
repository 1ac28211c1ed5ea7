/* System V message queues and semaphores, checked against Linux: msgget/msgsnd/msgrcv/msgctl
 * (keys, types, MSG_EXCEPT, MSG_NOERROR, MSG_COPY, full queues, blocking, EIDRM, EINTR,
 * permissions, IPC_STAT/IPC_SET/IPC_INFO/MSG_INFO/MSG_STAT), semget/semop/semtimedop/semctl
 * (limits, all-or-nothing operations, wait-for-zero, timeouts, wake order, SEM_UNDO at exit,
 * GETNCNT/GETZCNT, permissions, the info commands), and /proc/sysvipc/{msg,sem}. It leaves
 * one queue and one set for the script's ipcs. Deterministic output only.
 * Build: musl-gcc -static -O2 -o sysvipc sysvipc.c */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EIDRM: return "EIDRM";
    case ENOSPC: return "ENOSPC";
    case EFAULT: return "EFAULT";
    case E2BIG: return "E2BIG";
    case EAGAIN: return "EAGAIN";
    case ENOMSG: return "ENOMSG";
    case EINTR: return "EINTR";
    case ERANGE: return "ERANGE";
    case EFBIG: return "EFBIG";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static const char *err(long r) {
    return r == -1 ? name(errno) : "ok";
}

/* The raw calls, so that bad pointers reach the kernel as they are. */
static long msnd(int id, const void *p, size_t n, int f) { return syscall(SYS_msgsnd, id, p, n, f); }
static long mrcv(int id, void *p, size_t n, long t, int f) { return syscall(SYS_msgrcv, id, p, n, t, f); }
static long mctl(int id, int cmd, void *p) { return syscall(SYS_msgctl, id, cmd, p); }
static long sop(int id, struct sembuf *s, size_t n) { return syscall(SYS_semop, id, s, n); }
static long stop(int id, struct sembuf *s, size_t n, void *t) { return syscall(SYS_semtimedop, id, s, n, t); }
static long sctl(int id, int num, int cmd, unsigned long arg) { return syscall(SYS_semctl, id, num, cmd, arg); }

struct msg { long mtype; char text[8200]; };

static int send_text(int id, long type, const char *text, int flags) {
    struct msg m = { .mtype = type };
    size_t n = strlen(text);
    memcpy(m.text, text, n);
    return msnd(id, &m, n, flags);
}

/* Receives and prints what came: "type:text" or the error. */
static void show_rcv(const char *what, int id, size_t size, long type, int flags) {
    struct msg m;
    memset(&m, 0, sizeof m);
    long r = mrcv(id, &m, size, type, flags);
    int e = errno;
    if (r < 0) printf("%s: %s\n", what, name(e));
    else printf("%s: %ld:%.*s (%ld)\n", what, m.mtype, (int)r, m.text, r);
}

static void show_queue(const char *what, int id) {
    struct msqid_ds ds;
    long r = mctl(id, IPC_STAT, &ds);
    int e = errno;
    if (r < 0) { printf("%s: %s\n", what, name(e)); return; }
    printf("%s: qnum %lu cbytes %lu qbytes %lu mode %o lspid-me %d lrpid-me %d stime %d rtime %d\n",
           what, (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
           (unsigned long)ds.msg_qbytes, ds.msg_perm.mode, ds.msg_lspid == getpid(),
           ds.msg_lrpid == getpid(), ds.msg_stime > 0, ds.msg_rtime > 0);
}

static void on_alarm(int sig) { (void)sig; }

/* Arms a one-shot SIGALRM in `ms` milliseconds with a handler (SA_RESTART if asked). */
static void alarm_in(int ms, int restart) {
    struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void pause_ms(int ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Forks a child that tells the parent (through a pipe) it is about to block, runs `body`,
 * and exits with its errno (0 for success). The parent waits for the word and a moment. */
static pid_t child_blocking(int (*body)(int), int arg) {
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        write(p[1], "x", 1);
        close(p[1]);
        int r = body(arg);
        _exit(r < 0 ? errno : 0);
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    close(p[0]);
    pause_ms(150);
    return pid;
}

/* Waits for `pid` at most 5 seconds; returns its exit code, or -1 if it is still running
 * (then it is killed), -2 if it died of a signal. */
static int reap(pid_t pid) {
    for (int i = 0; i < 500; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
        pause_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static const char *outcome(int code) {
    if (code == -1) return "still blocked";
    if (code == -2) return "killed";
    return code == 0 ? "ok" : name(code);
}

/* Whether `pid` has ended (without waiting). */
static int ended(pid_t pid) {
    int status;
    return waitpid(pid, &status, WNOHANG) == pid;
}

static int g_id;

static int body_rcv7(int size) {
    struct msg m;
    long r = mrcv(g_id, &m, size, 7, 0);
    if (r >= 0 && (m.mtype != 7 || r != 5 || memcmp(m.text, "seven", 5) != 0)) return errno = ENOSYS, -1;
    return r < 0 ? -1 : 0;
}
static int body_snd(int size) {
    static struct msg m = { .mtype = 1 };
    return msnd(g_id, &m, size, 0);
}
static int body_rcv_alarm(int restart) {
    alarm_in(100, restart);
    struct msg m;
    return mrcv(g_id, &m, 100, 99, 0);
}
static int body_semop(int op) {
    struct sembuf s = { 0, (short)op, 0 };
    return sop(g_id, &s, 1);
}
static int body_semop_alarm(int restart) {
    alarm_in(100, restart);
    struct sembuf s = { 0, -1, 0 };
    return sop(g_id, &s, 1);
}
static int body_two_down(int unused) {
    (void)unused;
    struct sembuf s[2] = { { 0, -1, 0 }, { 1, -1, 0 } };
    return sop(g_id, s, 2);
}
static int body_down_then_overflow(int unused) {
    (void)unused;
    struct sembuf s[2] = { { 0, -1, 0 }, { 1, 32767, 0 } };
    return sop(g_id, s, 2);
}
static int body_complex(int unused) {
    (void)unused;
    struct sembuf s[2] = { { 0, -1, 0 }, { 1, 0, 0 } };
    return sop(g_id, s, 2);
}

/* A thread's SEM_UNDO belongs to its process: kept when the thread ends. */
static void *thread_undo(void *arg) {
    (void)arg;
    struct sembuf u = { 0, 1, SEM_UNDO };
    sop(g_id, &u, 1);
    return NULL;
}

/* Runs `body` as uid/gid 65534 in a child and prints what it returned. */
static void as_nobody(const char *what, long (*body)(int), int arg) {
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(99);
        long r = body(arg);
        _exit(r < 0 ? errno : 0);
    }
    int code = reap(pid);
    printf("nobody %s: %s\n", what, outcome(code));
}

static long nb_msgget(int key) { return msgget(key, 0); }
static long nb_msgget_r(int key) { return msgget(key, 0400); }
static long nb_msgsnd(int id) { return send_text(id, 1, "x", IPC_NOWAIT); }
static long nb_msgrcv(int id) { struct msg m; return mrcv(id, &m, 100, 0, IPC_NOWAIT); }
static long nb_msgstat(int id) { struct msqid_ds ds; return mctl(id, IPC_STAT, &ds); }
static long nb_msgstat_any(int id) { struct msqid_ds ds; return mctl(id % 32768, MSG_STAT_ANY, &ds) == id ? 0 : -1; }
static long nb_msgstat_idx(int id) { struct msqid_ds ds; return mctl(id % 32768, MSG_STAT, &ds); }
static long nb_msgrmid(int id) { return mctl(id, IPC_RMID, NULL); }
static long nb_msgset(int id) {
    struct msqid_ds ds;
    mctl(id, IPC_STAT, &ds);
    return mctl(id, IPC_SET, &ds);
}
static long nb_msgset_big(int id) {
    struct msqid_ds ds;
    mctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 16385;
    return mctl(id, IPC_SET, &ds);
}
static long nb_semget(int key) { return semget(key, 0, 0); }
static long nb_semop(int id) { struct sembuf s = { 0, 1, IPC_NOWAIT }; return sop(id, &s, 1); }
static long nb_semzero(int id) { struct sembuf s = { 0, 0, IPC_NOWAIT }; return sop(id, &s, 1); }
static long nb_getval(int id) { return sctl(id, 0, GETVAL, 0); }
static long nb_setval(int id) { return sctl(id, 0, SETVAL, 1); }
static long nb_semstat(int id) { struct semid_ds ds; return sctl(id, 0, IPC_STAT, (unsigned long)&ds); }
static long nb_semstat_any(int id) { struct semid_ds ds; return sctl(id % 32768, 0, SEM_STAT_ANY, (unsigned long)&ds) == id ? 0 : -1; }
static long nb_semrmid(int id) { return sctl(id, 0, IPC_RMID, 0); }

/* Checks that each line of /proc/sysvipc/`file` reads back with Linux's format, and prints
 * the header and the fields that do not change from run to run. */
static void show_proc(const char *file) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", file);
    FILE *f = fopen(path, "r");
    if (!f) { printf("%s: cannot open\n", path); return; }
    if (fgets(line, sizeof line, f)) printf("%s header: %s", file, line);
    while (fgets(line, sizeof line, f)) {
        char again[512];
        if (file[0] == 'm') {
            int key, id; unsigned mode; unsigned long cb, qn; unsigned lsp, lrp, u, g, cu, cg;
            unsigned long long st, rt, ct;
            sscanf(line, "%d %d %o %lu %lu %u %u %u %u %u %u %llu %llu %llu", &key, &id, &mode, &cb,
                   &qn, &lsp, &lrp, &u, &g, &cu, &cg, &st, &rt, &ct);
            snprintf(again, sizeof again,
                     "%10d %10d  %4o  %10lu %10lu %5u %5u %5u %5u %5u %5u %10llu %10llu %10llu\n",
                     key, id, mode, cb, qn, lsp, lrp, u, g, cu, cg, st, rt, ct);
            printf("msg line: format %d key %#x mode %o cbytes %lu qnum %lu uid %u cuid %u\n",
                   strcmp(again, line) == 0, key, mode, cb, qn, u, cu);
        } else {
            int key, id; unsigned mode, ns, u, g, cu, cg; unsigned long long ot, ct;
            sscanf(line, "%d %d %o %u %u %u %u %u %llu %llu", &key, &id, &mode, &ns, &u, &g, &cu,
                   &cg, &ot, &ct);
            snprintf(again, sizeof again, "%10d %10d  %4o %10u %5u %5u %5u %5u %10llu %10llu\n", key,
                     id, mode, ns, u, g, cu, cg, ot, ct);
            printf("sem line: format %d key %#x mode %o nsems %u uid %u otime %d\n",
                   strcmp(again, line) == 0, key, mode, ns, u, ot > 0);
        }
    }
    fclose(f);
}

static void message_queues(void) {
    key_t key = 0x51a1;
    printf("msgget missing: %s\n", err(msgget(key, 0600)));
    int id = msgget(key, IPC_CREAT | 0640);
    printf("msgget create: %s\n", err(id));
    printf("msgget same key: %d\n", msgget(key, 0) == id);
    printf("msgget same key, IPC_CREAT: %d\n", msgget(key, IPC_CREAT | 0600) == id);
    printf("msgget exclusive: %s\n", err(msgget(key, IPC_CREAT | IPC_EXCL | 0600)));
    int p1 = msgget(IPC_PRIVATE, 0600), p2 = msgget(IPC_PRIVATE, 0600);
    printf("private ids differ: %d\n", p1 >= 0 && p2 >= 0 && p1 != p2);
    mctl(p1, IPC_RMID, NULL);
    mctl(p2, IPC_RMID, NULL);
    show_queue("new queue", id);

    /* msgsnd's errors, in Linux's order. */
    struct msg m = { .mtype = 1 };
    printf("msgsnd bad id: %s\n", err(msnd(-1, &m, 1, 0)));
    printf("msgsnd unknown id: %s\n", err(msnd(id + 32768 * 5, &m, 1, 0)));
    printf("msgsnd type 0: %s\n", err(msnd(id, &(struct msg){ .mtype = 0 }, 1, 0)));
    printf("msgsnd type -5: %s\n", err(msnd(id, &(struct msg){ .mtype = -5 }, 1, 0)));
    printf("msgsnd over msgmax: %s\n", err(msnd(id, &m, 8193, 0)));
    printf("msgsnd negative size: %s\n", err(msnd(id, &m, (size_t)-1, 0)));
    printf("msgsnd bad pointer: %s\n", err(msnd(id, (void *)8, 1, 0)));
    printf("msgsnd bad pointer, bad id: %s\n", err(msnd(-1, (void *)8, 1, 0)));
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    struct msg *edge = (struct msg *)(pages + 4096 - sizeof(long));
    edge->mtype = 1;
    printf("msgsnd text unmapped: %s\n", err(msnd(id, edge, 16, 0)));
    printf("msgsnd empty text at the edge: %s\n", err(msnd(id, edge, 0, 0)));
    show_rcv("receive the empty one", id, 100, 0, IPC_NOWAIT);

    /* Types: exact, lowest up to -t, any, except. */
    send_text(id, 1, "one", 0);
    send_text(id, 3, "three", 0);
    send_text(id, 2, "two", 0);
    send_text(id, 2, "deux", 0);
    show_queue("four queued", id);
    show_rcv("type 2", id, 100, 2, IPC_NOWAIT);
    show_rcv("type -3", id, 100, -3, IPC_NOWAIT);
    show_rcv("type -1 (none)", id, 100, -1, IPC_NOWAIT);
    show_rcv("type 0", id, 100, 0, IPC_NOWAIT);
    send_text(id, 5, "five", 0);
    show_rcv("except 2", id, 100, 2, IPC_NOWAIT | MSG_EXCEPT);
    show_rcv("except 2 again (none)", id, 100, 2, IPC_NOWAIT | MSG_EXCEPT);
    show_rcv("last", id, 100, 0, IPC_NOWAIT);
    show_rcv("empty", id, 100, 0, IPC_NOWAIT);
    show_queue("after receiving", id);

    /* Too big for the buffer. */
    send_text(id, 4, "abcdefghij", 0);
    show_rcv("small buffer", id, 4, 0, IPC_NOWAIT);
    show_rcv("copy, small buffer", id, 4, 0, IPC_NOWAIT | MSG_COPY);
    show_rcv("copy, small buffer, MSG_NOERROR", id, 4, 0, IPC_NOWAIT | MSG_COPY | MSG_NOERROR);
    show_rcv("MSG_NOERROR", id, 4, 0, IPC_NOWAIT | MSG_NOERROR);
    show_queue("truncated one gone", id);

    /* MSG_COPY: by position, leaving the queue as it is. */
    send_text(id, 8, "first", 0);
    send_text(id, 9, "second", 0);
    show_rcv("copy 1", id, 100, 1, IPC_NOWAIT | MSG_COPY);
    show_rcv("copy 0", id, 100, 0, IPC_NOWAIT | MSG_COPY);
    show_rcv("copy 2 (none)", id, 100, 2, IPC_NOWAIT | MSG_COPY);
    show_rcv("copy -1", id, 100, -1, IPC_NOWAIT | MSG_COPY);
    show_rcv("copy without IPC_NOWAIT", id, 100, 0, MSG_COPY);
    show_rcv("copy with MSG_EXCEPT", id, 100, 0, IPC_NOWAIT | MSG_COPY | MSG_EXCEPT);
    show_queue("copies left both", id);
    printf("msgrcv bad buffer: %s\n", err(mrcv(id, (void *)8, 100, 0, IPC_NOWAIT)));
    show_queue("message lost to EFAULT", id);
    printf("msgrcv negative size: %s\n", err(mrcv(id, &m, (size_t)-1, 0, IPC_NOWAIT)));
    printf("msgrcv bad id: %s\n", err(mrcv(-1, &m, 100, 0, IPC_NOWAIT)));
    printf("msgrcv unknown id: %s\n", err(mrcv(id + 32768 * 5, &m, 100, 0, IPC_NOWAIT)));
    show_rcv("drain", id, 100, 0, IPC_NOWAIT);

    /* A full queue: by bytes, then by messages; IPC_SET changes the limit. */
    printf("fill 8192: %s\n", err(msnd(id, &m, 8192, IPC_NOWAIT)));
    printf("fill 8192: %s\n", err(msnd(id, &m, 8192, IPC_NOWAIT)));
    printf("full: %s\n", err(msnd(id, &m, 1, IPC_NOWAIT)));
    printf("full, empty message: %s\n", err(msnd(id, &m, 0, IPC_NOWAIT)));
    struct msqid_ds ds;
    mctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 20000;
    printf("raise qbytes as root: %s\n", err(mctl(id, IPC_SET, &ds)));
    printf("room now: %s\n", err(msnd(id, &m, 3000, IPC_NOWAIT)));
    show_queue("raised", id);
    as_nobody("raise qbytes", nb_msgset_big, id);
    while (mrcv(id, &m, 8192, 0, IPC_NOWAIT) >= 0) {}
    ds.msg_qbytes = 3;
    printf("qbytes 3: %s\n", err(mctl(id, IPC_SET, &ds)));
    printf("empty 1: %s\n", err(msnd(id, &m, 0, IPC_NOWAIT)));
    printf("empty 2: %s\n", err(msnd(id, &m, 0, IPC_NOWAIT)));
    printf("empty 3: %s\n", err(msnd(id, &m, 0, IPC_NOWAIT)));
    printf("empty 4 (three messages fill 3 bytes): %s\n", err(msnd(id, &m, 0, IPC_NOWAIT)));
    while (mrcv(id, &m, 8192, 0, IPC_NOWAIT) >= 0) {}
    ds.msg_qbytes = 16384;
    mctl(id, IPC_SET, &ds);

    /* Blocking: a receiver woken by a sender, a sender woken by a receiver. */
    g_id = id;
    pid_t c = child_blocking(body_rcv7, 100);
    send_text(id, 3, "three", 0);
    pause_ms(100);
    printf("receiver ignores type 3: %d\n", !ended(c));
    send_text(id, 7, "seven", 0);
    printf("receiver woken: %s\n", outcome(reap(c)));
    show_queue("handed over, type 3 left", id);
    show_rcv("drain", id, 100, 0, IPC_NOWAIT);
    c = child_blocking(body_rcv7, 2);
    send_text(id, 7, "seven", 0);
    printf("waiting receiver, buffer too small: %s\n", outcome(reap(c)));
    show_queue("the message stays", id);
    show_rcv("drain", id, 100, 0, IPC_NOWAIT);
    msnd(id, &m, 8192, 0);
    msnd(id, &m, 8192, 0);
    c = child_blocking(body_snd, 100);
    printf("sender blocked: %d\n", !ended(c));
    mrcv(id, &m, 8192, 0, IPC_NOWAIT);
    printf("sender woken: %s\n", outcome(reap(c)));
    show_queue("sender's message queued", id);
    while (mrcv(id, &m, 8192, 0, IPC_NOWAIT) >= 0) {}

    /* Signals: EINTR whether or not the handler asks for restarts. */
    c = child_blocking(body_rcv_alarm, 0);
    printf("msgrcv, signal: %s\n", outcome(reap(c)));
    c = child_blocking(body_rcv_alarm, 1);
    printf("msgrcv, signal with SA_RESTART: %s\n", outcome(reap(c)));

    /* Permissions, as an unprivileged user. */
    as_nobody("msgget 0640", nb_msgget, key);
    as_nobody("msgsnd", nb_msgsnd, id);
    as_nobody("msgrcv", nb_msgrcv, id);
    as_nobody("IPC_STAT", nb_msgstat, id);
    as_nobody("MSG_STAT", nb_msgstat_idx, id);
    as_nobody("MSG_STAT_ANY", nb_msgstat_any, id);
    as_nobody("IPC_SET", nb_msgset, id);
    as_nobody("IPC_RMID", nb_msgrmid, id);
    mctl(id, IPC_STAT, &ds);
    ds.msg_perm.mode = 0646;
    printf("IPC_SET mode 0646: %s\n", err(mctl(id, IPC_SET, &ds)));
    as_nobody("msgget 0400 of 0646", nb_msgget_r, key);
    as_nobody("msgsnd to 0646", nb_msgsnd, id);
    as_nobody("msgrcv from 0646", nb_msgrcv, id);
    ds.msg_perm.uid = 65534;
    printf("IPC_SET owner nobody: %s\n", err(mctl(id, IPC_SET, &ds)));
    as_nobody("IPC_SET as owner", nb_msgset, id);
    as_nobody("IPC_SET as owner, qbytes over msgmnb", nb_msgset_big, id);
    ds.msg_perm.uid = (uid_t)-1;
    printf("IPC_SET uid -1: %s\n", err(mctl(id, IPC_SET, &ds)));
    mctl(id, IPC_STAT, &ds);
    printf("owner uid %u cuid %u mode %o\n", ds.msg_perm.uid, ds.msg_perm.cuid, ds.msg_perm.mode);

    /* msgctl's other commands and errors. */
    struct msginfo info;
    long maxidx = mctl(0, IPC_INFO, &info);
    printf("IPC_INFO: max index is mine %d, msgmax %d msgmnb %d msgmni %d msgssz %d msgseg %d msgpool %d msgmap %d msgtql %d\n",
           maxidx == id % 32768, info.msgmax, info.msgmnb, info.msgmni, info.msgssz, info.msgseg,
           info.msgpool, info.msgmap, info.msgtql);
    send_text(id, 1, "abc", 0);
    send_text(id, 1, "de", 0);
    mctl(0, MSG_INFO, &info);
    printf("MSG_INFO: queues %d messages %d bytes %d\n", info.msgpool, info.msgmap, info.msgtql);
    printf("MSG_STAT by index: %d\n", mctl(id % 32768, MSG_STAT, &ds) == id);
    printf("MSG_STAT unused index: %s\n", err(mctl(id % 32768 + 1, MSG_STAT, &ds)));
    printf("IPC_INFO bad pointer: %s\n", err(mctl(0, IPC_INFO, (void *)8)));
    printf("IPC_STAT bad pointer: %s\n", err(mctl(id, IPC_STAT, (void *)8)));
    printf("IPC_SET bad pointer: %s\n", err(mctl(id, IPC_SET, (void *)8)));
    printf("IPC_SET bad pointer, bad id: %s\n", err(mctl(id + 32768 * 5, IPC_SET, (void *)8)));
    printf("unknown command: %s\n", err(mctl(id, 99, &ds)));
    printf("negative command: %s\n", err(mctl(id, -1, &ds)));
    printf("negative id: %s\n", err(mctl(-1, IPC_STAT, &ds)));
    printf("IPC_64 flag: %s\n", err(mctl(id, IPC_STAT | 0x100, &ds)));
    show_proc("msg");

    /* Removal wakes sleepers with EIDRM; the ID goes stale. */
    c = child_blocking(body_rcv7, 100);
    printf("IPC_RMID: %s\n", err(mctl(id, IPC_RMID, NULL)));
    printf("receiver after IPC_RMID: %s\n", outcome(reap(c)));
    printf("stale id: %s\n", err(mctl(id, IPC_STAT, &ds)));
    printf("remove again: %s\n", err(mctl(id, IPC_RMID, NULL)));
    id = msgget(IPC_PRIVATE, 0600);
    g_id = id;
    msnd(id, &m, 8192, 0);
    msnd(id, &m, 8192, 0);
    c = child_blocking(body_snd, 10);
    mctl(id, IPC_RMID, NULL);
    printf("sender after IPC_RMID: %s\n", outcome(reap(c)));
}

static void show_sems(const char *what, int id) {
    unsigned short v[4] = { 0 };
    long r = sctl(id, 0, GETALL, (unsigned long)v);
    int e = errno;
    if (r < 0) printf("%s: %s\n", what, name(e));
    else printf("%s: %u %u %u\n", what, v[0], v[1], v[2]);
}

static void semaphores(void) {
    key_t key = 0x5e1;
    printf("semget missing: %s\n", err(semget(key, 3, 0600)));
    printf("semget nsems -1: %s\n", err(semget(key, -1, IPC_CREAT | 0600)));
    printf("semget nsems 32001: %s\n", err(semget(key, 32001, IPC_CREAT | 0600)));
    printf("semget create nsems 0: %s\n", err(semget(key, 0, IPC_CREAT | 0600)));
    int id = semget(key, 3, IPC_CREAT | 0640);
    printf("semget create: %s\n", err(id));
    printf("semget same key, nsems 0: %d\n", semget(key, 0, 0) == id);
    printf("semget same key, nsems 2: %d\n", semget(key, 2, 0) == id);
    printf("semget same key, nsems 4: %s\n", err(semget(key, 4, 0)));
    printf("semget exclusive: %s\n", err(semget(key, 3, IPC_CREAT | IPC_EXCL | 0600)));
    printf("semget exclusive, nsems 99999: %s\n", err(semget(key, 99999, IPC_CREAT | IPC_EXCL | 0600)));
    struct semid_ds ds;
    sctl(id, 0, IPC_STAT, (unsigned long)&ds);
    printf("IPC_STAT: nsems %lu mode %o otime %ld ctime %d uid %u\n", (unsigned long)ds.sem_nsems,
           ds.sem_perm.mode, (long)ds.sem_otime, ds.sem_ctime > 0, ds.sem_perm.uid);
    show_sems("new set", id);

    /* semctl's values. */
    printf("SETVAL 5: %s\n", err(sctl(id, 0, SETVAL, 5)));
    printf("GETVAL: %ld\n", sctl(id, 0, GETVAL, 0));
    printf("GETPID is me: %d\n", sctl(id, 0, GETPID, 0) == getpid());
    printf("GETPID untouched: %ld\n", sctl(id, 1, GETPID, 0));
    printf("SETVAL 32767: %s\n", err(sctl(id, 1, SETVAL, 32767)));
    printf("SETVAL 32768: %s\n", err(sctl(id, 1, SETVAL, 32768)));
    printf("SETVAL -1: %s\n", err(sctl(id, 1, SETVAL, -1)));
    printf("SETVAL -1, bad id: %s\n", err(sctl(id + 32768 * 5, 1, SETVAL, -1)));
    printf("SETVAL semnum 3: %s\n", err(sctl(id, 3, SETVAL, 1)));
    printf("GETVAL semnum 3: %s\n", err(sctl(id, 3, GETVAL, 0)));
    printf("GETVAL semnum -1: %s\n", err(sctl(id, -1, GETVAL, 0)));
    printf("GETVAL unknown id: %s\n", err(sctl(id + 32768 * 5, 0, GETVAL, 0)));
    unsigned short vals[3] = { 1, 2, 3 };
    printf("SETALL: %s\n", err(sctl(id, 0, SETALL, (unsigned long)vals)));
    show_sems("GETALL", id);
    unsigned short bad[3] = { 1, 40000, 3 };
    printf("SETALL 40000: %s\n", err(sctl(id, 0, SETALL, (unsigned long)bad)));
    printf("SETALL bad pointer: %s\n", err(sctl(id, 0, SETALL, 8)));
    printf("GETALL bad pointer: %s\n", err(sctl(id, 0, GETALL, 8)));
    show_sems("unchanged", id);

    /* semop: errors in Linux's order, then all or nothing. */
    struct sembuf s[2] = { { 0, 1, 0 }, { 1, -5, IPC_NOWAIT } };
    printf("semop nsops 0: %s\n", err(sop(id, s, 0)));
    printf("semop negative id: %s\n", err(sop(-1, s, 1)));
    printf("semop nsops 501: %s\n", err(sop(id, s, 501)));
    printf("semop nsops 501, bad pointer: %s\n", err(sop(id, (void *)8, 501)));
    printf("semop bad pointer: %s\n", err(sop(id, (void *)8, 1)));
    struct sembuf far = { 3, 1, 0 };
    printf("semop sem_num 3: %s\n", err(sop(id, &far, 1)));
    printf("semop unknown id: %s\n", err(sop(id + 32768 * 5, s, 1)));
    printf("semop all or nothing: %s\n", err(sop(id, s, 2)));
    show_sems("nothing applied", id);
    s[1].sem_op = -2;
    printf("semop both: %s\n", err(sop(id, s, 2)));
    show_sems("both applied", id);
    struct sembuf dup[2] = { { 0, -2, IPC_NOWAIT }, { 0, -1, IPC_NOWAIT } };
    printf("semop same semaphore twice, too much: %s\n", err(sop(id, dup, 2)));
    dup[1].sem_op = 2;
    printf("semop same semaphore, down then up: %s\n", err(sop(id, dup, 2)));
    show_sems("after", id);
    struct sembuf zero = { 2, 0, IPC_NOWAIT };
    printf("wait for zero, nonzero: %s\n", err(sop(id, &zero, 1)));
    struct sembuf over = { 2, 32767, 0 };
    printf("past SEMVMX: %s\n", err(sop(id, &over, 1)));
    struct sembuf nowait_later[2] = { { 2, -1, 0 }, { 1, -9, IPC_NOWAIT } };
    printf("second op blocks with IPC_NOWAIT: %s\n", err(sop(id, nowait_later, 2)));
    show_sems("unchanged", id);
    sctl(id, 0, IPC_STAT, (unsigned long)&ds);
    printf("otime set: %d\n", ds.sem_otime > 0);

    /* semtimedop: the timeout, and where its checks come. */
    struct timespec t = { 0, 50000000 };
    struct sembuf take = { 1, -1, 0 };
    sctl(id, 1, SETVAL, 0);
    printf("semtimedop times out: %s\n", err(stop(id, &take, 1, &t)));
    struct timespec badt = { 0, 1000000000 };
    printf("semtimedop bad nsec: %s\n", err(stop(id, &take, 1, &badt)));
    struct timespec negt = { -1, 0 };
    printf("semtimedop negative: %s\n", err(stop(id, &take, 1, &negt)));
    printf("semtimedop bad nsec, sem_num 3: %s\n", err(stop(id, &far, 1, &badt)));
    printf("semtimedop bad nsec, nsops 501: %s\n", err(stop(id, &take, 501, &badt)));
    printf("semtimedop bad timeout pointer, nsops 0: %s\n", err(stop(id, &take, 0, (void *)8)));
    struct timespec zt = { 0, 0 };
    printf("semtimedop zero timeout: %s\n", err(stop(id, &take, 1, &zt)));
    struct sembuf give = { 1, 1, 0 };
    printf("semtimedop that need not wait: %s\n", err(stop(id, &give, 1, &t)));

    /* Sleepers: counted, woken by operations and by SETVAL, in Linux's order. */
    g_id = id;
    sctl(id, 0, SETVAL, 0);
    int woke;
    pid_t a = child_blocking(body_semop, -2);
    pid_t b = child_blocking(body_semop, -1);
    printf("GETNCNT 2: %ld GETZCNT %ld\n", sctl(id, 0, GETNCNT, 0), sctl(id, 0, GETZCNT, 0));
    struct sembuf up = { 0, 1, 0 };
    sop(id, &up, 1);
    woke = reap(b);
    printf("+1 wakes the second (needs 1): %s, first still asleep %d\n", outcome(woke), !ended(a));
    sop(id, &up, 1);
    pause_ms(100);
    printf("+1 (value 1): first still asleep %d, GETNCNT %ld\n", !ended(a), sctl(id, 0, GETNCNT, 0));
    sctl(id, 0, SETVAL, 2);
    woke = reap(a);
    printf("SETVAL 2 wakes the first: %s, value %ld\n", outcome(woke), sctl(id, 0, GETVAL, 0));
    a = child_blocking(body_semop, -1);
    b = child_blocking(body_semop, -1);
    sop(id, &up, 1);
    pause_ms(100);
    printf("two waiting for 1, +1: first woken %d, second asleep %d\n", ended(a), !ended(b));
    sop(id, &up, 1);
    printf("second woken: %s\n", outcome(reap(b)));
    sctl(id, 0, SETVAL, 3);
    a = child_blocking(body_semop, 0);
    printf("GETZCNT 1: %ld GETNCNT %ld\n", sctl(id, 0, GETZCNT, 0), sctl(id, 0, GETNCNT, 0));
    struct sembuf down3 = { 0, -3, 0 };
    sop(id, &down3, 1);
    printf("zero wakes the waiter for zero: %s\n", outcome(reap(a)));
    sctl(id, 1, SETVAL, 1);
    a = child_blocking(body_complex, 0);
    printf("complex waiter: GETNCNT(0) %ld GETZCNT(1) %ld GETNCNT(1) %ld\n", sctl(id, 0, GETNCNT, 0),
           sctl(id, 1, GETZCNT, 0), sctl(id, 1, GETNCNT, 0));
    sop(id, &up, 1);
    pause_ms(100);
    printf("complex waiter after +1 on 0: asleep %d, GETZCNT(1) %ld GETNCNT(0) %ld\n", !ended(a),
           sctl(id, 1, GETZCNT, 0), sctl(id, 0, GETNCNT, 0));
    sctl(id, 1, SETVAL, 0);
    printf("complex waiter after SETVAL 0 on 1: %s\n", outcome(reap(a)));
    show_sems("values", id);
    /* A single sleeper and a complex one share the set's list, first come first served. */
    sctl(id, 0, SETVAL, 0);
    sctl(id, 1, SETVAL, 1);
    a = child_blocking(body_semop, -1);
    b = child_blocking(body_two_down, 0);
    sop(id, &up, 1);
    pause_ms(100);
    printf("single first, complex second, +1: single woken %d, complex asleep %d\n", ended(a), !ended(b));
    sop(id, &up, 1);
    printf("complex woken: %s\n", outcome(reap(b)));
    sctl(id, 1, SETVAL, 1);
    b = child_blocking(body_two_down, 0);
    a = child_blocking(body_semop, -1);
    sop(id, &up, 1);
    pause_ms(100);
    printf("complex first, single second, +1: complex woken %d, single asleep %d\n", ended(b), !ended(a));
    sop(id, &up, 1);
    printf("single woken: %s\n", outcome(reap(a)));
    /* A sleeper whose retry fails gets the error. */
    sctl(id, 1, SETVAL, 1);
    a = child_blocking(body_down_then_overflow, 0);
    sop(id, &up, 1);
    woke = reap(a);
    printf("retry past SEMVMX: %s\n", outcome(woke));
    show_sems("values", id);
    sctl(id, 0, SETVAL, 0);
    a = child_blocking(body_semop_alarm, 0);
    printf("semop, signal: %s\n", outcome(reap(a)));
    a = child_blocking(body_semop_alarm, 1);
    printf("semop, signal with SA_RESTART: %s\n", outcome(reap(a)));
    printf("no sleepers left: %ld %ld\n", sctl(id, 0, GETNCNT, 0), sctl(id, 0, GETZCNT, 0));

    /* SEM_UNDO: given back at exit, cleared by SETVAL, clamped at zero. */
    sctl(id, 0, SETVAL, 1);
    pid_t c = fork();
    if (c == 0) {
        struct sembuf u[2] = { { 0, 2, SEM_UNDO }, { 1, 4, SEM_UNDO } };
        sop(id, u, 2);
        _exit(sctl(id, 0, GETVAL, 0));
    }
    int code = reap(c);
    printf("child saw %d; after its exit %ld %ld, GETPID is the child %d\n", code,
           sctl(id, 0, GETVAL, 0), sctl(id, 1, GETVAL, 0), sctl(id, 0, GETPID, 0) == c);
    c = fork();
    if (c == 0) {
        struct sembuf u = { 0, -1, SEM_UNDO };
        sop(id, &u, 1);
        sctl(id, 0, SETVAL, 5);
        _exit(0);
    }
    reap(c);
    printf("SETVAL cleared the undo: %ld\n", sctl(id, 0, GETVAL, 0));
    c = fork();
    if (c == 0) {
        struct sembuf u[2] = { { 0, 3, SEM_UNDO }, { 1, 1, SEM_UNDO } };
        sop(id, u, 2);
        _exit(0);
    }
    reap(c);
    printf("undo of a balanced child: %ld %ld\n", sctl(id, 0, GETVAL, 0), sctl(id, 1, GETVAL, 0));
    sctl(id, 0, SETVAL, 0);
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) {
        struct sembuf u = { 0, 3, SEM_UNDO };
        sop(id, &u, 1);
        write(p[1], "x", 1);
        pause_ms(300);
        _exit(0);
    }
    char ch;
    read(p[0], &ch, 1);
    struct sembuf take3 = { 0, -3, 0 };
    sop(id, &take3, 1);
    reap(c);
    printf("undo clamps at zero: %ld\n", sctl(id, 0, GETVAL, 0));
    struct sembuf range = { 2, 32767, SEM_UNDO };
    sctl(id, 2, SETVAL, 0);
    printf("undo +32767: %s\n", err(sop(id, &range, 1)));
    sctl(id, 2, SETVAL, 0);
    c = fork();
    if (c == 0) {
        struct sembuf u = { 2, 32767, SEM_UNDO };
        sop(id, &u, 1);
        sctl(id, 2, SETVAL, 0);
        struct sembuf v = { 2, 32767, 0 };
        sop(id, &v, 1);
        struct sembuf w = { 2, -32767, SEM_UNDO };
        long r = sop(id, &w, 1);
        _exit(r < 0 ? errno : 0);
    }
    printf("undo range after SETVAL: %s\n", outcome(reap(c)));
    sctl(id, 2, SETVAL, 0);
    c = fork();
    if (c == 0) {
        struct sembuf u = { 2, 30000, SEM_UNDO };
        sop(id, &u, 1);
        struct sembuf v = { 2, -30000, 0 };
        sop(id, &v, 1);
        struct sembuf w = { 2, 30000, SEM_UNDO };
        long r = sop(id, &w, 1);
        _exit(r < 0 ? errno : 0);
    }
    code = reap(c);
    printf("undo past -32768: %s, value %ld\n", outcome(code), sctl(id, 2, GETVAL, 0));
    sctl(id, 2, SETVAL, 0);

    sctl(id, 0, SETVAL, 0);
    c = fork();
    if (c == 0) {
        pthread_t t;
        pthread_create(&t, NULL, thread_undo, NULL);
        pthread_join(t, NULL);
        _exit(sctl(id, 0, GETVAL, 0));
    }
    code = reap(c);
    printf("a thread's undo outlives the thread: %d, given back at exit: %ld\n", code,
           sctl(id, 0, GETVAL, 0));

    /* Permissions, as an unprivileged user (mode 0640). */
    as_nobody("semget 0640", nb_semget, key);
    as_nobody("semop", nb_semop, id);
    as_nobody("semop wait-for-zero", nb_semzero, id);
    as_nobody("GETVAL", nb_getval, id);
    as_nobody("SETVAL", nb_setval, id);
    as_nobody("IPC_STAT", nb_semstat, id);
    as_nobody("SEM_STAT_ANY", nb_semstat_any, id);
    as_nobody("IPC_RMID", nb_semrmid, id);
    sctl(id, 0, IPC_STAT, (unsigned long)&ds);
    ds.sem_perm.mode = 0604;
    printf("IPC_SET mode 0604: %s\n", err(sctl(id, 0, IPC_SET, (unsigned long)&ds)));
    as_nobody("semop wait-for-zero, 0604", nb_semzero, id);
    as_nobody("GETVAL, 0604", nb_getval, id);
    as_nobody("semop, 0604", nb_semop, id);
    ds.sem_perm.gid = (gid_t)-1;
    printf("IPC_SET gid -1: %s\n", err(sctl(id, 0, IPC_SET, (unsigned long)&ds)));
    printf("IPC_SET bad pointer: %s\n", err(sctl(id, 0, IPC_SET, 8)));
    printf("IPC_STAT bad pointer: %s\n", err(sctl(id, 0, IPC_STAT, 8)));
    sctl(id, 0, IPC_STAT, (unsigned long)&ds);
    printf("mode now %o\n", ds.sem_perm.mode);

    /* The info commands. */
    struct seminfo si;
    long maxidx = sctl(0, 0, IPC_INFO, (unsigned long)&si);
    printf("IPC_INFO: max index mine %d semmap %d semmni %d semmns %d semmnu %d semmsl %d semopm %d semume %d semusz %d semvmx %d semaem %d\n",
           maxidx == id % 32768, si.semmap, si.semmni, si.semmns, si.semmnu, si.semmsl, si.semopm,
           si.semume, si.semusz, si.semvmx, si.semaem);
    sctl(0, 0, SEM_INFO, (unsigned long)&si);
    printf("SEM_INFO: sets %d semaphores %d\n", si.semusz, si.semaem);
    printf("SEM_STAT by index: %d\n", sctl(id % 32768, 0, SEM_STAT, (unsigned long)&ds) == id);
    printf("SEM_STAT unused index: %s\n", err(sctl(id % 32768 + 1, 0, SEM_STAT, (unsigned long)&ds)));
    printf("SEM_INFO bad pointer: %s\n", err(sctl(0, 0, SEM_INFO, 8)));
    printf("unknown command: %s\n", err(sctl(id, 0, 99, 0)));
    printf("negative id: %s\n", err(sctl(-1, 0, GETVAL, 0)));
    show_proc("sem");

    /* Removal wakes sleepers with EIDRM. */
    sctl(id, 0, SETVAL, 0);
    a = child_blocking(body_semop, -1);
    b = child_blocking(body_complex, 0);
    printf("IPC_RMID: %s\n", err(sctl(id, 0, IPC_RMID, 0)));
    printf("sleepers after IPC_RMID: %s %s\n", outcome(reap(a)), outcome(reap(b)));
    printf("stale id: %s\n", err(sctl(id, 0, GETVAL, 0)));
    printf("remove again: %s\n", err(sctl(id, 0, IPC_RMID, 0)));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    message_queues();
    semaphores();
    /* Left for the script's ipcs. */
    int q = msgget(0x1234abcd, IPC_CREAT | 0644);
    send_text(q, 1, "hello", 0);
    int s = semget(0x5eed5eed, 2, IPC_CREAT | 0600);
    printf("left for ipcs: %d %d\n", q >= 0, s >= 0);
    return probe_end();
}
