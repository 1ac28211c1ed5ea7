/* POSIX message queues, checked against Linux 6.1 through the raw system calls (mq_open,
 * mq_unlink, mq_timedsend, mq_timedreceive, mq_notify, mq_getsetattr): names, attributes and
 * the fs.mqueue limits, the per-user byte budget, priorities, sizes, full and empty queues,
 * absolute timeouts, blocking across fork and its wake order, EINTR and SA_RESTART,
 * notification by signal (si_code, si_value, si_pid) and its rules, the descriptor as a file
 * (read, poll, fstat, dup, fork, close-on-exec), and permissions as nobody. Deterministic
 * output only: PIDs are printed as who they are.
 * Build: musl-gcc -static -O2 -o mqueue mqueue.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

struct attr { long flags, maxmsg, msgsize, curmsgs, pad[4]; };

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    case EFAULT: return "EFAULT";
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case EBADF: return "EBADF";
    case EBUSY: return "EBUSY";
    case EMFILE: return "EMFILE";
    case EMSGSIZE: return "EMSGSIZE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTSOCK: return "ENOTSOCK";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static const char *err(long r) {
    return r == -1 ? name(errno) : "ok";
}

static void *const BAD = (void *)8;

static long mqopen(const char *n, int oflag, int mode, void *attr) {
    return syscall(SYS_mq_open, n, oflag, mode, attr);
}
static long mqunlink(const char *n) { return syscall(SYS_mq_unlink, n); }
static long mqsend(int fd, const void *p, size_t n, unsigned prio, const void *ts) {
    return syscall(SYS_mq_timedsend, fd, p, n, prio, ts);
}
static long mqrecv(int fd, void *p, size_t n, unsigned *prio, const void *ts) {
    return syscall(SYS_mq_timedreceive, fd, p, n, prio, ts);
}
static long mqnotify(int fd, const void *ev) { return syscall(SYS_mq_notify, fd, ev); }
static long mqattr(int fd, const void *new, void *old) {
    return syscall(SYS_mq_getsetattr, fd, new, old);
}

static long open_with(const char *n, int oflag, long maxmsg, long msgsize) {
    struct attr a = { .maxmsg = maxmsg, .msgsize = msgsize };
    return mqopen(n, oflag, 0600, &a);
}

static void show_attr(const char *what, int fd) {
    struct attr a;
    memset(&a, 0x55, sizeof a);
    long r = mqattr(fd, NULL, &a);
    int e = errno;
    if (r == -1) {
        printf("%s: getattr %s\n", what, name(e));
        return;
    }
    printf("%s: flags %#lo maxmsg %ld msgsize %ld curmsgs %ld pad %ld %ld %ld %ld\n", what,
           a.flags, a.maxmsg, a.msgsize, a.curmsgs, a.pad[0], a.pad[1], a.pad[2], a.pad[3]);
}

static int send_text(int fd, const char *text, unsigned prio) {
    return mqsend(fd, text, strlen(text), prio, NULL);
}

/* Receives one message into a buffer of `size` and prints it. */
static void recv_show(const char *what, int fd, size_t size) {
    static char buf[1 << 16];
    unsigned prio = 12345;
    long r = mqrecv(fd, buf, size, &prio, NULL);
    int e = errno;
    if (r == -1)
        printf("%s: %s\n", what, name(e));
    else
        printf("%s: %ld bytes \"%.*s\" prio %u\n", what, r, (int)r, buf, prio);
}

static struct timespec from_now(long ms) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static void sleep_ms(long ms) {
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    long r = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return r < 0 ? -1 : 0;
}

static void show_file(const char *path) {
    char buf[64] = "";
    int fd = open(path, O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    printf("%s: %s\n", path, n < 0 ? "unreadable" : (buf[n] = 0, buf));
}

/* Prints the status line that read(2) gives, the owner's PID named. */
static void show_status(const char *what, int fd) {
    char buf[128] = "";
    lseek(fd, 0, SEEK_SET);
    long n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    if (n < 0) {
        printf("%s: read %s\n", what, name(e));
        return;
    }
    buf[n] = 0;
    char *pid = strstr(buf, "NOTIFY_PID:");
    if (pid) {
        int p = atoi(pid + 11);
        if (p == getpid())
            snprintf(pid + 11, 16, "self\n");
        else if (p != 0)
            snprintf(pid + 11, 16, "other\n");
    }
    printf("%s: %ld bytes: %s", what, n, buf);
}

static void show_poll(const char *what, int fd) {
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    int r = poll(&p, 1, 0);
    printf("%s: poll %d revents %#x\n", what, r, p.revents);
}

/* waitpid, again when a notification's signal interrupts it. */
static int reap(pid_t pid) {
    int status = -1;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    return status;
}

/* Runs `child` in a forked child as nobody (or as root) and returns its exit status. */
static int as_child(int (*child)(void), int nobody) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (nobody && (setgid(65534) || setuid(65534)))
            _exit(99);
        fflush(stdout);
        _exit(child());
    }
    int status = reap(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static void names(void) {
    char longname[300], huge[5000];
    memset(longname, 'q', sizeof longname);
    memset(huge, 'q', sizeof huge);
    huge[sizeof huge - 1] = 0;
    printf("empty name: %s\n", err(mqopen("", O_RDWR | O_CREAT, 0600, NULL)));
    printf("name with '/': %s\n", err(mqopen("a/b", O_RDWR | O_CREAT, 0600, NULL)));
    printf("name '.': %s\n", err(mqopen(".", O_RDWR | O_CREAT, 0600, NULL)));
    printf("name '..': %s\n", err(mqopen("..", O_RDWR | O_CREAT, 0600, NULL)));
    longname[256] = 0;
    printf("256-byte name: %s\n", err(mqopen(longname, O_RDWR | O_CREAT, 0600, NULL)));
    printf("unlink 256-byte name: %s\n", err(mqunlink(longname)));
    longname[255] = 0;
    long fd = mqopen(longname, O_RDWR | O_CREAT, 0600, NULL);
    printf("255-byte name: %s\n", err(fd));
    printf("unlink it: %s\n", err(mqunlink(longname)));
    close(fd);
    printf("5000-byte name: %s\n", err(mqopen(huge, O_RDWR | O_CREAT, 0600, NULL)));
    printf("bad name pointer: %s\n", err(mqopen(BAD, O_RDWR | O_CREAT, 0600, NULL)));
    printf("missing, no O_CREAT: %s\n", err(mqopen("missing", O_RDWR, 0, NULL)));
    printf("unlink missing: %s\n", err(mqunlink("missing")));
    printf("unlink '': %s\n", err(mqunlink("")));
    printf("unlink 'a/b': %s\n", err(mqunlink("a/b")));
    printf("unlink bad pointer: %s\n", err(mqunlink(BAD)));
    printf("bad attr pointer, no O_CREAT: %s\n", err(mqopen("missing", O_RDWR, 0, BAD)));
    printf("bad attr pointer, O_CREAT: %s\n", err(mqopen("q", O_RDWR | O_CREAT, 0600, BAD)));
}

static void attributes(void) {
    umask(022);
    long fd = mqopen("q", O_RDWR | O_CREAT | O_EXCL, 0777, NULL);
    printf("create default: %s\n", err(fd));
    show_attr("default", fd);
    printf("FD_CLOEXEC: %d\n", fcntl(fd, F_GETFD));
    printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL));
    struct stat st;
    fstat(fd, &st);
    printf("fstat: mode %#o size %ld nlink %ld uid %d\n", st.st_mode, (long)st.st_size,
           (long)st.st_nlink, st.st_uid);
    printf("O_CREAT|O_EXCL again: %s\n", err(mqopen("q", O_RDWR | O_CREAT | O_EXCL, 0600, NULL)));
    long again = open_with("q", O_RDWR | O_CREAT, 2, 16);
    printf("O_CREAT on existing: %s\n", err(again));
    show_attr("existing keeps its attributes", again);
    close(again);
    printf("access mode 3 on existing: %s\n", err(mqopen("q", 3, 0, NULL)));
    printf("unlink: %s\n", err(mqunlink("q")));
    show_attr("unlinked but open", fd);
    fstat(fd, &st);
    printf("fstat after unlink: nlink %ld\n", (long)st.st_nlink);
    printf("open after unlink: %s\n", err(mqopen("q", O_RDWR, 0, NULL)));
    close(fd);

    struct { long maxmsg, msgsize; } cases[] = {
        { 0, 16 }, { 16, 0 }, { -1, 16 }, { 16, -5 }, { 11, 16 }, { 65536, 16 }, { 65537, 16 },
        { 4, 16 * 1024 * 1024 }, { 4, 16 * 1024 * 1024 + 1 }, { 1, 1 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long q = open_with("a", O_RDWR | O_CREAT | O_EXCL, cases[i].maxmsg, cases[i].msgsize);
        int e = errno;
        printf("root maxmsg %ld msgsize %ld: %s\n", cases[i].maxmsg, cases[i].msgsize,
               q == -1 ? name(e) : "ok");
        if (q >= 0) {
            show_attr("  made", q);
            mqunlink("a");
            close(q);
        }
    }
    long q = open_with("a", 3 | O_CREAT, 1, 8);
    printf("create with access mode 3: %s\n", err(q));
    printf("  send: %s\n", err(send_text(q, "x", 0)));
    printf("  receive: %s\n", err(mqrecv(q, (char[8]){0}, 8, NULL, NULL)));
    show_attr("  attr", q);
    close(q);
    mqunlink("a");
}

static int nobody_limits(void) {
    struct { long maxmsg, msgsize; } cases[] = { { 10, 8192 }, { 11, 16 }, { 4, 8193 }, { 0, 16 } };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long q = open_with("n", O_RDWR | O_CREAT | O_EXCL, cases[i].maxmsg, cases[i].msgsize);
        int e = errno;
        printf("nobody maxmsg %ld msgsize %ld: %s\n", cases[i].maxmsg, cases[i].msgsize,
               q == -1 ? name(e) : "ok");
        if (q >= 0) {
            struct stat st;
            fstat(q, &st);
            printf("  owner %d mode %#o\n", st.st_uid, st.st_mode);
            mqunlink("n");
            close(q);
        }
    }
    return 0;
}

static int nobody_create_one(void) {
    long q = open_with("n", O_RDWR | O_CREAT | O_EXCL, 20, 16);
    printf("nobody maxmsg 20 msgsize 16: %s\n", err(q));
    mqunlink("n");
    q = mqopen("n", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    int e = errno;
    printf("nobody default: %s\n", q == -1 ? name(e) : "ok");
    if (q >= 0)
        show_attr("  default", q);
    mqunlink("n");
    q = open_with("n", O_RDWR | O_CREAT | O_EXCL, 0, 16);
    printf("nobody bad attributes: %s\n", err(q));
    mqunlink("n");
    return 0;
}

static void sysctls(void) {
    static const char *files[] = {
        "/proc/sys/fs/mqueue/msg_max", "/proc/sys/fs/mqueue/msgsize_max",
        "/proc/sys/fs/mqueue/msg_default", "/proc/sys/fs/mqueue/msgsize_default",
        "/proc/sys/fs/mqueue/queues_max",
    };
    for (unsigned i = 0; i < 5; i++)
        show_file(files[i]);
    as_child(nobody_limits, 1);
    printf("msg_max 0: %s\n", err(write_file(files[0], "0")));
    printf("msg_max 65537: %s\n", err(write_file(files[0], "65537")));
    printf("msgsize_max 127: %s\n", err(write_file(files[1], "127")));
    printf("msgsize_default 16777217: %s\n", err(write_file(files[3], "16777217")));
    printf("msg_max 20: %s\n", err(write_file(files[0], "20")));
    printf("msg_default 30: %s\n", err(write_file(files[2], "30")));
    as_child(nobody_create_one, 1);
    long q = mqopen("r", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    show_attr("root default with msg_default 30 > msg_max 20", q);
    close(q);
    mqunlink("r");
    write_file(files[0], "10");
    write_file(files[2], "10");
    printf("queues_max -1: %s\n", err(write_file(files[4], "-1")));
    show_file(files[4]);
    printf("queues_max 0: %s\n", err(write_file(files[4], "0")));
    as_child(nobody_create_one, 1);
    q = mqopen("r", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    printf("root past queues_max: %s\n", err(q));
    close(q);
    mqunlink("r");
    write_file(files[4], "256");
    for (unsigned i = 0; i < 5; i++)
        show_file(files[i]);
}

/* RLIMIT_MSGQUEUE (819200 bytes by default) is charged per real user with what each queue
 * may hold plus the kernel's bookkeeping: 82880 bytes for 10 messages of 8192. */
static void budget(void) {
    struct rlimit { unsigned long cur, max; } rl;
    syscall(SYS_prlimit64, 0, 12, NULL, &rl);
    printf("RLIMIT_MSGQUEUE: %lu %lu\n", rl.cur, rl.max);
    long fds[12];
    char n[8];
    int made = 0;
    long last = 0;
    for (int i = 0; i < 12; i++) {
        snprintf(n, sizeof n, "b%d", i);
        fds[i] = mqopen(n, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
        if (fds[i] < 0) {
            last = errno;
            break;
        }
        made++;
    }
    printf("default queues within the budget: %d, then %s\n", made, name(last));
    long big = open_with("big", O_RDWR | O_CREAT, 1000, 8192);
    printf("root queue of 8 MB: %s\n", err(big));
    if (big >= 0) {
        close(big);
        mqunlink("big");
    }
    snprintf(n, sizeof n, "b%d", 0);
    mqunlink(n);
    long again = mqopen("b-again", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    printf("unlinked but open still counts: %s\n", err(again));
    close(fds[0]);
    again = mqopen("b-again", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    printf("after its last close: %s\n", err(again));
    close(again);
    mqunlink("b-again");
    for (int i = 1; i < made; i++) {
        snprintf(n, sizeof n, "b%d", i);
        mqunlink(n);
        close(fds[i]);
    }
}

static void messages(void) {
    long fd = open_with("m", O_RDWR | O_CREAT | O_EXCL, 8, 64);
    const char *texts[] = { "one", "two", "three", "four", "five", "six" };
    unsigned prios[] = { 1, 5, 1, 5, 0, 32767 };
    for (int i = 0; i < 6; i++)
        printf("send %s prio %u: %s\n", texts[i], prios[i], err(send_text(fd, texts[i], prios[i])));
    printf("send prio 32768: %s\n", err(send_text(fd, "x", 32768)));
    printf("send prio -1: %s\n", err(send_text(fd, "x", (unsigned)-1)));
    printf("send empty: %s\n", err(mqsend(fd, "", 0, 3, NULL)));
    show_attr("seven queued", fd);
    show_status("status", fd);
    show_poll("not full", fd);
    for (int i = 0; i < 7; i++)
        recv_show("receive", fd, 64);
    show_poll("empty", fd);
    printf("send 65 bytes: %s\n", err(mqsend(fd, (char[65]){0}, 65, 0, NULL)));
    printf("send 64 bytes: %s\n", err(mqsend(fd, (char[65]){0}, 64, 0, NULL)));
    recv_show("receive into 63", fd, 63);
    recv_show("receive into 64", fd, 64);
    printf("send bad buffer: %s\n", err(mqsend(fd, BAD, 4, 0, NULL)));
    printf("send bad buffer, 0 bytes: %s\n", err(mqsend(fd, BAD, 0, 0, NULL)));
    recv_show("the empty one", fd, 64);
    send_text(fd, "lost", 0);
    printf("receive into bad buffer: %s\n", err(mqrecv(fd, BAD, 64, NULL, NULL)));
    show_attr("after it", fd);
    send_text(fd, "lost too", 0);
    char buf[64];
    printf("receive with bad prio pointer: %s\n", err(mqrecv(fd, buf, 64, BAD, NULL)));
    show_attr("after it", fd);
    send_text(fd, "no prio", 9);
    long r = mqrecv(fd, buf, 64, NULL, NULL);
    printf("receive without prio pointer: %ld\n", r);
    for (int i = 0; i < 8; i++)
        send_text(fd, "fill", i);
    show_poll("full", fd);
    show_status("full", fd);
    long ro = mqopen("m", O_RDONLY | O_NONBLOCK, 0, NULL);
    long wo = mqopen("m", O_WRONLY, 0, NULL);
    printf("send on O_RDONLY: %s\n", err(send_text(ro, "x", 0)));
    printf("receive on O_WRONLY: %s\n", err(mqrecv(wo, buf, 64, NULL, NULL)));
    printf("send on O_RDONLY, too big: %s\n", err(mqsend(ro, buf, 65, 0, NULL)));
    printf("send on O_WRONLY, too big, bad prio: %s\n", err(mqsend(wo, buf, 65, 40000, NULL)));
    int pipefd[2];
    pipe(pipefd);
    printf("send on a pipe: %s\n", err(send_text(pipefd[1], "x", 0)));
    printf("receive on a pipe: %s\n", err(mqrecv(pipefd[0], buf, 64, NULL, NULL)));
    printf("send on fd -1: %s\n", err(send_text(-1, "x", 0)));
    printf("getattr on a pipe: %s\n", err(mqattr(pipefd[0], NULL, (struct attr[1]){0})));
    printf("notify on a pipe: %s\n", err(mqnotify(pipefd[0], NULL)));
    printf("read on O_WRONLY: %s\n", err(read(wo, buf, 64)));
    printf("write on O_RDWR: %s\n", err(write(fd, "x", 1)));
    printf("write on O_RDONLY: %s\n", err(write(ro, "x", 1)));
    struct attr nb = { .flags = O_NONBLOCK };
    struct attr old;
    printf("set O_NONBLOCK: %s\n", err(mqattr(fd, &nb, &old)));
    printf("  old flags %#lo\n", old.flags);
    show_attr("  now", fd);
    printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL));
    printf("send to a full queue: %s\n", err(send_text(fd, "x", 0)));
    struct attr bad = { .flags = O_NONBLOCK | O_RDWR };
    printf("set flags O_NONBLOCK|O_RDWR: %s\n", err(mqattr(fd, &bad, NULL)));
    printf("set flags from bad pointer: %s\n", err(mqattr(fd, BAD, NULL)));
    printf("get flags into bad pointer: %s\n", err(mqattr(fd, NULL, BAD)));
    printf("set bad flags on a pipe: %s\n", err(mqattr(pipefd[0], &bad, NULL)));
    long d = dup(fd);
    struct attr block = { .flags = 0 };
    mqattr(d, &block, NULL);
    show_attr("O_NONBLOCK cleared on a dup", fd);
    printf("fcntl O_NONBLOCK: %d\n", fcntl(fd, F_SETFL, O_NONBLOCK));
    show_attr("after fcntl", d);
    mqattr(d, &block, NULL);
    close(d);
    for (int i = 0; i < 8; i++)
        mqrecv(ro, buf, 64, NULL, NULL);
    printf("receive from empty, O_NONBLOCK: %s\n", err(mqrecv(ro, buf, 64, NULL, NULL)));
    close(ro);
    close(wo);
    close(pipefd[0]);
    close(pipefd[1]);
    close(fd);
    mqunlink("m");
}

static void timeouts(void) {
    long fd = open_with("t", O_RDWR | O_CREAT | O_EXCL, 1, 16);
    char buf[16];
    struct timespec t = from_now(100);
    printf("receive, 100 ms: %s\n", err(mqrecv(fd, buf, 16, NULL, &t)));
    struct timespec past = { 1, 0 };
    printf("receive, long past: %s\n", err(mqrecv(fd, buf, 16, NULL, &past)));
    struct timespec bad_ns = { 1, 1000000000 }, neg = { -1, 0 };
    printf("receive, nsec 1e9: %s\n", err(mqrecv(fd, buf, 16, NULL, &bad_ns)));
    printf("receive, negative: %s\n", err(mqrecv(fd, buf, 16, NULL, &neg)));
    printf("receive, bad pointer: %s\n", err(mqrecv(fd, buf, 16, NULL, BAD)));
    printf("receive, nsec 1e9 on a pipe: %s\n", err(mqrecv(0, buf, 16, NULL, &bad_ns)));
    printf("send, bad timeout and prio: %s\n", err(mqsend(fd, "x", 1, 40000, BAD)));
    printf("send, not waiting, nsec 1e9: %s\n", err(mqsend(fd, "x", 1, 0, &bad_ns)));
    printf("send, not waiting, past: %s\n", err(mqsend(fd, "x", 1, 0, &past)));
    t = from_now(100);
    printf("send to full, 100 ms: %s\n", err(mqsend(fd, "y", 1, 0, &t)));
    printf("send to full, long past: %s\n", err(mqsend(fd, "y", 1, 0, &past)));
    t = from_now(100);
    long r = mqrecv(fd, buf, 16, NULL, &t);
    printf("receive, not waiting: %ld\n", r);
    close(fd);
    mqunlink("t");
}

static int blocked_fd;

static int child_send_later(void) {
    sleep_ms(200);
    return send_text(blocked_fd, "late", 7) == 0 ? 0 : 1;
}

static int child_receive(void) {
    char buf[16];
    long r = mqrecv(blocked_fd, buf, 16, NULL, NULL);
    return r < 0 ? 200 : buf[0];
}

static void blocking(void) {
    long fd = open_with("w", O_RDWR | O_CREAT | O_EXCL, 2, 16);
    blocked_fd = fd;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_send_later());
    char buf[16];
    unsigned prio;
    long r = mqrecv(fd, buf, 16, &prio, NULL);
    printf("blocked receive: %ld \"%.*s\" prio %u\n", r, (int)(r > 0 ? r : 0), buf, prio);
    int status;
    status = reap(pid);
    printf("sender exit %d\n", WEXITSTATUS(status));

    /* Two receivers asleep: the first to sleep gets the first message. */
    pid_t a = fork();
    if (a == 0)
        _exit(child_receive());
    sleep_ms(200);
    pid_t b = fork();
    if (b == 0)
        _exit(child_receive());
    sleep_ms(200);
    show_status("two receivers waiting", fd);
    send_text(fd, "A", 0);
    send_text(fd, "B", 9);
    int sa, sb;
    sa = reap(a);
    sb = reap(b);
    printf("first receiver got %c, second %c\n", WEXITSTATUS(sa), WEXITSTATUS(sb));
    show_attr("after them", fd);

    /* Two senders asleep on a full queue: a receive lets the first one in. */
    send_text(fd, "1", 1);
    send_text(fd, "2", 2);
    a = fork();
    if (a == 0)
        _exit(mqsend(fd, "a", 1, 0, NULL) == 0 ? 0 : 1);
    sleep_ms(200);
    b = fork();
    if (b == 0)
        _exit(mqsend(fd, "b", 1, 5, NULL) == 0 ? 0 : 1);
    sleep_ms(200);
    show_poll("full with senders", fd);
    recv_show("receive", fd, 16);
    sa = reap(a);
    printf("first sender done: %d\n", WEXITSTATUS(sa));
    show_attr("after it", fd);
    recv_show("receive", fd, 16);
    sb = reap(b);
    printf("second sender done: %d\n", WEXITSTATUS(sb));
    for (int i = 0; i < 2; i++)
        recv_show("receive", fd, 16);
    close(fd);
    mqunlink("w");
}

static volatile int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void interrupts(void) {
    long fd = open_with("i", O_RDWR | O_CREAT | O_EXCL, 1, 16);
    char buf[16];
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval { struct timeval i, v; } it = { { 0, 0 }, { 0, 100000 } };
    syscall(SYS_setitimer, ITIMER_REAL, &it, NULL);
    printf("receive, interrupted: %s (alarms %d)\n", err(mqrecv(fd, buf, 16, NULL, NULL)), alarms);
    send_text(fd, "full", 0);
    syscall(SYS_setitimer, ITIMER_REAL, &it, NULL);
    printf("send, interrupted: %s (alarms %d)\n", err(send_text(fd, "x", 0)), alarms);
    mqrecv(fd, buf, 16, NULL, NULL);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    blocked_fd = fd;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(400);
        _exit(send_text(fd, "after restart", 0) == 0 ? 0 : 1);
    }
    syscall(SYS_setitimer, ITIMER_REAL, &it, NULL);
    long r = mqrecv(fd, buf, 16, NULL, NULL);
    printf("receive with SA_RESTART: %ld \"%.*s\" (alarms %d)\n", r, (int)(r > 0 ? r : 0), buf,
           alarms);
    reap(pid);
    close(fd);
    mqunlink("i");
}

static volatile int got_sig, got_code, got_value, got_pid, got_uid;
static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
    got_pid = si->si_pid;
    got_uid = si->si_uid;
}

static void show_signal(const char *what, pid_t sender) {
    printf("%s: sig %d code %d value %d from %s uid %d\n", what, got_sig, got_code, got_value,
           got_pid == sender ? "the sender" : got_pid == getpid() ? "self" : "someone else",
           got_uid);
    got_sig = got_code = got_value = got_pid = got_uid = 0;
}

static int child_send_one(void) {
    return send_text(blocked_fd, "n", 0) == 0 ? 0 : 1;
}

static int child_unregister(void) {
    printf("child removes another's registration: %s\n", err(mqnotify(blocked_fd, NULL)));
    struct sigevent ev = { .sigev_notify = SIGEV_NONE };
    printf("child registers: %s\n", err(mqnotify(blocked_fd, &ev)));
    return 0;
}

static void notification(void) {
    struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
    sigaction(SIGUSR1, &sa, NULL);
    long fd = open_with("n", O_RDWR | O_CREAT | O_EXCL, 4, 16);
    blocked_fd = fd;
    char buf[16];
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
    ev.sigev_value.sival_int = 42;
    show_status("before", fd);
    printf("register: %s\n", err(mqnotify(fd, &ev)));
    show_status("registered", fd);
    printf("register again: %s\n", err(mqnotify(fd, &ev)));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_send_one());
    reap(pid);
    show_signal("message on an empty queue", pid);
    show_status("after the signal", fd);
    printf("register: %s\n", err(mqnotify(fd, &ev)));
    send_text(fd, "second", 0);
    show_signal("message on a non-empty queue", 0);
    show_status("still registered", fd);
    mqrecv(fd, buf, 16, NULL, NULL);
    mqrecv(fd, buf, 16, NULL, NULL);
    send_text(fd, "self", 0);
    show_signal("own message", getpid());
    mqrecv(fd, buf, 16, NULL, NULL);

    /* A waiting receiver takes the message: nobody is told. */
    printf("register: %s\n", err(mqnotify(fd, &ev)));
    pid = fork();
    if (pid == 0)
        _exit(child_receive());
    sleep_ms(200);
    send_text(fd, "r", 0);
    int status;
    status = reap(pid);
    printf("receiver got %c\n", WEXITSTATUS(status));
    show_signal("with a receiver waiting", 0);
    show_status("still registered", fd);

    /* Another process can neither remove nor replace it. */
    as_child(child_unregister, 0);
    show_status("after the child", fd);
    printf("remove: %s\n", err(mqnotify(fd, NULL)));
    show_status("removed", fd);
    printf("remove again: %s\n", err(mqnotify(fd, NULL)));

    /* Closing any descriptor of the queue ends the registration. */
    mqnotify(fd, &ev);
    long d = dup(fd);
    close(d);
    show_status("after closing a dup", fd);
    /* But a child's close does not. */
    mqnotify(fd, &ev);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(fd);
        _exit(0);
    }
    reap(pid);
    show_status("after a child's close", fd);
    mqnotify(fd, NULL);

    struct sigevent none = { .sigev_notify = SIGEV_NONE };
    printf("SIGEV_NONE: %s\n", err(mqnotify(fd, &none)));
    show_status("SIGEV_NONE", fd);
    printf("then SIGEV_SIGNAL: %s\n", err(mqnotify(fd, &ev)));
    send_text(fd, "x", 0);
    show_status("SIGEV_NONE after a message", fd);
    mqrecv(fd, buf, 16, NULL, NULL);

    struct sigevent zero = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = 0 };
    printf("signal 0: %s\n", err(mqnotify(fd, &zero)));
    show_status("signal 0", fd);
    send_text(fd, "x", 0);
    show_status("signal 0 after a message", fd);
    mqrecv(fd, buf, 16, NULL, NULL);

    struct sigevent bad = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = 65 };
    printf("signal 65: %s\n", err(mqnotify(fd, &bad)));
    bad.sigev_signo = -1;
    printf("signal -1: %s\n", err(mqnotify(fd, &bad)));
    bad.sigev_notify = 4;
    bad.sigev_signo = SIGUSR1;
    printf("SIGEV_THREAD_ID: %s\n", err(mqnotify(fd, &bad)));
    bad.sigev_notify = 77;
    printf("sigev_notify 77 on a pipe: %s\n", err(mqnotify(0, &bad)));
    printf("bad sigevent pointer: %s\n", err(mqnotify(fd, BAD)));
    printf("fd -1: %s\n", err(mqnotify(-1, &ev)));
    char cookie[32] = "cookie";
    struct sigevent th = { .sigev_notify = SIGEV_THREAD };
    th.sigev_value.sival_ptr = BAD;
    th.sigev_signo = -1;
    printf("SIGEV_THREAD, bad cookie: %s\n", err(mqnotify(fd, &th)));
    th.sigev_value.sival_ptr = cookie;
    printf("SIGEV_THREAD, fd -1: %s\n", err(mqnotify(fd, &th)));
    th.sigev_signo = fd;
    printf("SIGEV_THREAD, not a socket: %s\n", err(mqnotify(fd, &th)));
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    th.sigev_signo = sv[0];
    printf("SIGEV_THREAD, a unix socket: %s\n", err(mqnotify(fd, &th)));
    close(sv[0]);
    close(sv[1]);

    /* Notifying respects kill's permission rule: nobody cannot signal root. */
    mqnotify(fd, &ev);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (setuid(65534))
            _exit(99);
        _exit(send_text(fd, "from nobody", 0) == 0 ? 0 : 1);
    }
    status = reap(pid);
    printf("nobody's send: %d\n", WEXITSTATUS(status));
    show_signal("nobody's message", pid);
    show_status("after nobody's message", fd);
    close(fd);
    mqunlink("n");
}

static int nobody_opens(void) {
    printf("nobody opens 0600 O_RDONLY: %s\n", err(mqopen("p600", O_RDONLY, 0, NULL)));
    printf("nobody opens 0644 O_RDONLY: %s\n", err(mqopen("p644", O_RDONLY, 0, NULL)));
    printf("nobody opens 0644 O_WRONLY: %s\n", err(mqopen("p644", O_WRONLY, 0, NULL)));
    printf("nobody opens 0644 O_RDWR: %s\n", err(mqopen("p644", O_RDWR, 0, NULL)));
    printf("nobody opens 0646 O_WRONLY: %s\n", err(mqopen("p646", O_WRONLY, 0, NULL)));
    printf("nobody opens 0600 O_CREAT|O_EXCL: %s\n",
           err(mqopen("p600", O_RDONLY | O_CREAT | O_EXCL, 0, NULL)));
    printf("nobody opens 0600 mode 3: %s\n", err(mqopen("p600", 3, 0, NULL)));
    printf("nobody unlinks root's: %s\n", err(mqunlink("p644")));
    long q = mqopen("mine", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    printf("nobody creates: %s\n", err(q));
    printf("nobody unlinks its own: %s\n", err(mqunlink("mine")));
    return 0;
}

static void permissions(void) {
    umask(0);
    long a = mqopen("p600", O_RDWR | O_CREAT, 0600, NULL);
    long b = mqopen("p644", O_RDWR | O_CREAT, 0644, NULL);
    long c = mqopen("p646", O_RDWR | O_CREAT, 0646, NULL);
    as_child(nobody_opens, 1);
    long mine = open_with("theirs", O_RDWR | O_CREAT, 1, 8);
    close(mine);
    printf("root opens 0600: %s\n", err(mqopen("p600", O_RDWR, 0, NULL)));
    printf("root unlinks: %s %s %s %s\n", err(mqunlink("p600")), err(mqunlink("p644")),
           err(mqunlink("p646")), err(mqunlink("theirs")));
    close(a);
    close(b);
    close(c);
}

static void inheritance(void) {
    long fd = open_with("f", O_RDWR | O_CREAT | O_EXCL, 4, 16);
    long flags = fcntl(fd, F_GETFD);
    printf("close-on-exec: %ld\n", flags & FD_CLOEXEC);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(send_text(fd, "from child", 1) == 0 ? 0 : 1);
    reap(pid);
    recv_show("parent receives the child's", fd, 16);
    show_poll("empty", fd);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    pid = fork();
    if (pid == 0) {
        sleep_ms(200);
        _exit(send_text(fd, "wake", 0) == 0 ? 0 : 1);
    }
    int r = poll(&p, 1, 5000);
    printf("poll woken by a send: %d revents %#x\n", r, p.revents);
    reap(pid);
    close(fd);
    mqunlink("f");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    names();
    attributes();
    sysctls();
    budget();
    messages();
    timeouts();
    blocking();
    interrupts();
    notification();
    permissions();
    inheritance();
    return probe_end();
}
