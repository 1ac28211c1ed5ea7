/* Corners where the call existed but answered wrongly (issue 17's list), checked against
 * Linux: set-group-ID directories, chown clearing set-ID bits, chmod's set-group-ID rule,
 * search permission on path components, block-device nodes, renameat2's flags, SIGBUS past
 * a mapped file's end, CLOCK_REALTIME timers, settimeofday's checks, vectored I/O on tmpfs,
 * F_GETFL, *at calls with dirfd -1, select's remaining time, POLLRDNORM, shared /dev/zero
 * mappings, epoll and O_PATH. Deterministic output only.
 * Build: musl-gcc -static -O2 -o corners corners.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EROFS: return "EROFS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static void mode_of(const char *what, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("%s: %s\n", what, err(-1));
        return;
    }
    printf("%s: mode %o uid %u gid %u\n", what, st.st_mode & 07777, st.st_uid, st.st_gid);
}

static void as_user(const char *what, void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setgroups(0, NULL);
        setgid(1000);
        setuid(1000);
        body();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("%s: status %d\n", what, status);
}

static void user_checks(void) {
    printf("  chmod root's file: %s\n", err(chmod("/tmp/c/rootfile", 0777)));
    printf("  open root's 0600 file: %s\n", err(open("/tmp/c/rootfile", O_RDONLY)));
    printf("  stat through a 0700 directory: %s\n", err(stat("/tmp/c/private/inside", &(struct stat){0})));
    printf("  access through it: %s\n", err(access("/tmp/c/private/inside", F_OK)));
    printf("  unlink in root's 0755 directory: %s\n", err(unlink("/tmp/c/rootfile")));
    printf("  rename in it: %s\n", err(rename("/tmp/c/rootfile", "/tmp/c/x")));
    printf("  link into it: %s\n", err(link("/tmp/c/mine", "/tmp/c/x")));
    /* chmod +s by a non-member of the file's group drops the set-group-ID bit. */
    printf("  chmod 2755 of own file with root's group: %s\n", err(chmod("/tmp/c/mine", 02755)));
    mode_of("  then", "/tmp/c/mine");
}

static sigjmp_buf jump;
static void on_bus(int sig) { siglongjmp(jump, sig); }

int main(void) {
    mkdir("/tmp/c", 0755);
    /* A set-group-ID directory hands its group to new files and its bit to new directories. */
    mkdir("/tmp/c/sgid", 0755);
    chown("/tmp/c/sgid", 0, 100);
    chmod("/tmp/c/sgid", 02775);
    close(open("/tmp/c/sgid/file", O_CREAT | O_WRONLY, 0644));
    mkdir("/tmp/c/sgid/sub", 0755);
    mode_of("file in a set-gid directory", "/tmp/c/sgid/file");
    mode_of("directory in it", "/tmp/c/sgid/sub");
    /* chown clears set-user-ID, and set-group-ID with group execute. */
    close(open("/tmp/c/suid", O_CREAT | O_WRONLY, 0644));
    chmod("/tmp/c/suid", 06755);
    printf("chown: %s\n", err(chown("/tmp/c/suid", 1000, 1000)));
    mode_of("after chown", "/tmp/c/suid");
    chmod("/tmp/c/suid", 06745);
    chown("/tmp/c/suid", -1, -1);
    mode_of("after chown -1 -1 (no group execute)", "/tmp/c/suid");
    mkdir("/tmp/c/sdir", 0755);
    chmod("/tmp/c/sdir", 02755);
    chown("/tmp/c/sdir", 1000, 1000);
    mode_of("a directory after chown", "/tmp/c/sdir");

    close(open("/tmp/c/rootfile", O_CREAT | O_WRONLY, 0600));
    mkdir("/tmp/c/private", 0700);
    close(open("/tmp/c/private/inside", O_CREAT | O_WRONLY, 0644));
    close(open("/tmp/c/mine", O_CREAT | O_WRONLY, 0644));
    chown("/tmp/c/mine", 1000, 0);
    as_user("unprivileged checks", user_checks);

    printf("mknod of a block device: %s\n", err(mknod("/tmp/c/blk", S_IFBLK | 0600, makedev(7, 0))));
    mode_of("  it", "/tmp/c/blk");
    printf("mknod of a character device: %s\n", err(mknod("/tmp/c/chr", S_IFCHR | 0600, makedev(1, 3))));
    printf("mknod of a FIFO: %s\n", err(mknod("/tmp/c/fifo", S_IFIFO | 0600, 0)));

    int a = open("/tmp/c/a", O_CREAT | O_WRONLY, 0644);
    write(a, "aaa", 3);
    close(a);
    int b = open("/tmp/c/b", O_CREAT | O_WRONLY, 0644);
    write(b, "bbbbb", 5);
    close(b);
    long r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/a", AT_FDCWD, "/tmp/c/b", 1 /* NOREPLACE */);
    printf("RENAME_NOREPLACE onto a file: %s\n", err(r));
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/a", AT_FDCWD, "/tmp/c/new", 1);
    printf("RENAME_NOREPLACE to a new name: %s\n", err(r));
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/new", AT_FDCWD, "/tmp/c/b", 2 /* EXCHANGE */);
    printf("RENAME_EXCHANGE: %s\n", err(r));
    struct stat sa, sb;
    stat("/tmp/c/new", &sa);
    stat("/tmp/c/b", &sb);
    printf("  sizes after: new %ld b %ld\n", (long)sa.st_size, (long)sb.st_size);
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/new", AT_FDCWD, "/tmp/c/none", 2);
    printf("RENAME_EXCHANGE with a missing target: %s\n", err(r));
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/new", AT_FDCWD, "/tmp/c/b", 3);
    printf("NOREPLACE|EXCHANGE: %s\n", err(r));
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/new", AT_FDCWD, "/tmp/c/b", 8);
    printf("an unknown rename flag: %s\n", err(r));
    mkdir("/tmp/c/d1", 0755);
    mkdir("/tmp/c/d1/sub", 0755);
    mkdir("/tmp/c/d2", 0755);
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/d1/sub", AT_FDCWD, "/tmp/c/d2", 2);
    printf("RENAME_EXCHANGE of a directory with its parent's sibling: %s\n", err(r));
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/d1", AT_FDCWD, "/tmp/c/d1/sub", 2);
    printf("RENAME_EXCHANGE of a directory with its own child: %s\n", err(r));
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/d1/sub", AT_FDCWD, "/tmp/c/b", 2);
    printf("RENAME_EXCHANGE of a subdirectory with a file: %s\n", err(r));
    struct stat d1, cdir, now_b, now_sub;
    stat("/tmp/c/d1", &d1);
    stat("/tmp/c", &cdir);
    stat("/tmp/c/b", &now_b);
    int sub_there = stat("/tmp/c/d1/sub", &now_sub) == 0;
    printf("  links: d1 %ld, c %ld; b is a directory: %d, d1/sub is a file: %d\n", (long)d1.st_nlink,
           (long)cdir.st_nlink, S_ISDIR(now_b.st_mode) ? 1 : 0, sub_there && S_ISREG(now_sub.st_mode));
    link("/tmp/c/new", "/tmp/c/hard");
    r = syscall(SYS_renameat2, AT_FDCWD, "/tmp/c/new", AT_FDCWD, "/tmp/c/hard", 2);
    printf("RENAME_EXCHANGE of two links to one file: %s\n", err(r));

    /* SIGBUS past the end of a mapped file. */
    int f = open("/tmp/c/short", O_CREAT | O_RDWR, 0644);
    write(f, "hello", 5);
    char *m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, f, 0);
    signal(SIGBUS, on_bus);
    int sig = sigsetjmp(jump, 1);
    if (sig == 0) {
        volatile char c = m[4096];
        (void)c;
        printf("read past the end: no signal\n");
    } else {
        printf("read past the end: signal %d\n", sig);
    }
    printf("read within the last page: %c\n", m[4]);
    munmap(m, 8192);
    close(f);

    timer_t t;
    printf("timer_create(CLOCK_REALTIME): %s\n", err(timer_create(CLOCK_REALTIME, NULL, &t)));
    struct timeval tv = {1, 1000000};
    printf("settimeofday with 1000000 us: %s\n", err(settimeofday(&tv, NULL)));
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    printf("settimeofday before 1970: %s\n", err(settimeofday(&tv, NULL)));

    f = open("/tmp/c/vec", O_CREAT | O_RDWR, 0644);
    struct iovec iov[2] = {{"abc", 3}, {"defg", 4}};
    printf("pwritev on tmpfs: %ld\n", (long)pwritev(f, iov, 2, 10));
    char x[3], y[4];
    struct iovec rv[2] = {{x, 3}, {y, 4}};
    printf("preadv on tmpfs: %ld %.3s %.4s\n", (long)preadv(f, rv, 2, 10), x, y);
    close(f);

    f = open("/tmp/c/vec", O_RDWR | O_APPEND | O_NONBLOCK);
    printf("F_GETFL of O_RDWR|O_APPEND|O_NONBLOCK: %#x\n", fcntl(f, F_GETFL));
    close(f);
    f = open("/tmp/c/vec", O_WRONLY | O_SYNC | O_CLOEXEC);
    printf("F_GETFL of O_WRONLY|O_SYNC|O_CLOEXEC: %#x\n", fcntl(f, F_GETFL));
    close(f);
    f = open("/tmp/c", O_PATH);
    printf("F_GETFL of O_PATH: %#x\n", fcntl(f, F_GETFL));
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    printf("epoll_ctl ADD of an O_PATH fd: %s\n", err(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev)));
    close(f);

    printf("openat(-1, absolute): %s\n", err(openat(-1, "/tmp/c/vec", O_RDONLY)));
    printf("openat(-1, relative): %s\n", err(openat(-1, "tmp/c/vec", O_RDONLY)));
    printf("fstatat(-1, absolute): %s\n", err(fstatat(-1, "/tmp/c/vec", &sa, 0)));
    printf("mkdirat(-1, absolute): %s\n", err(mkdirat(-1, "/tmp/c/at", 0755)));
    printf("unlinkat(-1, absolute): %s\n", err(unlinkat(-1, "/tmp/c/at", AT_REMOVEDIR)));

    int p[2];
    pipe(p);
    write(p[1], "x", 1);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval left = {0, 500000};
    select(p[0] + 1, &rs, NULL, NULL, &left);
    printf("select's remaining time written back: %d\n", left.tv_sec == 0 && left.tv_usec > 0 && left.tv_usec < 500000);
    left.tv_sec = 0;
    left.tv_usec = 20000;
    FD_ZERO(&rs);
    FD_SET(p[1], &rs);
    int n = select(p[1] + 1, &rs, NULL, NULL, &left);
    printf("select timing out: %d, left %ld.%06ld\n", n, (long)left.tv_sec, (long)left.tv_usec);
    struct pollfd pf = {p[0], POLLIN | POLLRDNORM | POLLOUT, 0};
    poll(&pf, 1, 0);
    printf("poll of a readable pipe: %#x\n", pf.revents);
    pf.fd = p[1];
    pf.events = POLLOUT | POLLWRNORM | POLLIN;
    poll(&pf, 1, 0);
    printf("poll of a writable pipe: %#x\n", pf.revents);

    int z = open("/dev/zero", O_RDWR);
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
    printf("shared /dev/zero mapping: %s\n", err(shared == MAP_FAILED ? -1 : 0));
    if (shared != MAP_FAILED) {
        fflush(stdout);
        if (fork() == 0) {
            shared[0] = 42;
            _exit(0);
        }
        wait(NULL);
        printf("  the parent sees the child's store: %d\n", shared[0]);
    }

    int zr = open("/dev/zero", O_RDONLY);
    void *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, zr, 0);
    printf("writable shared /dev/zero mapping through O_RDONLY: %s\n", err(ro == MAP_FAILED ? -1 : 0));
    int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, zr, 0);
    printf("private /dev/zero mapping through O_RDONLY: %s\n", err(priv == MAP_FAILED ? -1 : 0));
    if (priv != MAP_FAILED) {
        priv[1] = 7;
        printf("  reads %d %d\n", priv[0], priv[1]);
    }
    return probe_end();
}
