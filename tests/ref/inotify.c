/* inotify checked against Linux: inotify_init1's flags, inotify_add_watch's mask rules and
 * errors (EINVAL, EBADF, ENOENT, ENOTDIR, EEXIST, EACCES, EFAULT, ENOSPC), watch
 * descriptors (the same for the same inode, never reused), inotify_rm_watch and IN_IGNORED,
 * read (record layout, names padded with NULs to a multiple of 16, EINVAL for a buffer too
 * small for the next event, EAGAIN, EINTR, a blocking read woken by a child), FIONREAD,
 * poll; the events of every kind of VFS operation on tmpfs and their order (create, open,
 * write, read, close, chmod, chown, utimes, truncate, link, symlink, mknod, rename within
 * and across directories with one cookie, unlink, rmdir, getdents), IN_ISDIR, DELETE_SELF
 * and MOVE_SELF, coalescing of identical events, IN_ONESHOT, IN_MASK_ADD, IN_EXCL_UNLINK,
 * IN_Q_OVERFLOW, IN_UNMOUNT, and EMFILE past max_user_instances; events from the other syscalls that
 * reach the same operations (readv, writev, sendfile, copy_file_range, the f* and l*
 * attribute calls, O_PATH), epoll/select readiness, F_SETFL, and a large read on a
 * blocking instance that must return what is queued.
 * Deterministic output only: cookies are printed as "new" or "same", never their values.
 * Build: musl-gcc -static -O2 -o inotify inotify.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <unistd.h>
#include "probe.h"

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

/* Where the probe works: /tmp/in (tmpfs), or the directory given (on another filesystem,
 * where only the event sections run). */
static const char *dir = "/tmp/in";

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    case EFAULT: return "EFAULT";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EEXIST: return "EEXIST";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    case ENOTTY: return "ENOTTY";
    case ESPIPE: return "ESPIPE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "other";
    }
}

/* Prints `what: ok N` or `what: ERRNO`: the syscall ran first, its errno saved. */
static void show(const char *what, long r) {
    int saved = errno;
    errno = saved;
    if (r >= 0) printf("%s: ok %ld\n", what, r);
    else printf("%s: %s\n", what, err(r));
}

static const struct { unsigned bit; const char *name; } bits[] = {
    { IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
    { IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" },
    { IN_OPEN, "OPEN" }, { IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" },
    { IN_CREATE, "CREATE" }, { IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" },
    { IN_MOVE_SELF, "MOVE_SELF" }, { IN_UNMOUNT, "UNMOUNT" }, { IN_Q_OVERFLOW, "Q_OVERFLOW" },
    { IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
};

static void mask_names(unsigned mask, char *out, size_t size) {
    out[0] = 0;
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        if (mask & bits[i].bit) {
            if (out[0]) strncat(out, "|", size - strlen(out) - 1);
            strncat(out, bits[i].name, size - strlen(out) - 1);
            mask &= ~bits[i].bit;
        }
    }
    if (mask) {
        char rest[32];
        snprintf(rest, sizeof rest, "%s0x%x", out[0] ? "|" : "", mask);
        strncat(out, rest, size - strlen(out) - 1);
    }
}

static unsigned last_cookie;

/* Prints one event record; checks the name padding (NULs to the record's end). */
static void print_event(const struct inotify_event *e) {
    char names[160];
    mask_names(e->mask, names, sizeof names);
    const char *cookie = "0";
    if (e->cookie) {
        cookie = e->cookie == last_cookie ? "same" : "new";
        last_cookie = e->cookie;
    }
    int padded = 1;
    size_t name_len = e->len ? strnlen(e->name, e->len) : 0;
    for (size_t i = name_len; i < e->len; i++)
        if (e->name[i]) padded = 0;
    if (e->len)
        printf("  wd=%d %s cookie=%s name=%s len=%u%s\n", e->wd, names, cookie, e->name, e->len,
               padded ? "" : " BADPAD");
    else
        printf("  wd=%d %s cookie=%s\n", e->wd, names, cookie);
}

/* Reads and prints whatever is queued on a non-blocking instance. */
static void drain(const char *what, int fd) {
    char buf[4096] __attribute__((aligned(8)));
    printf("%s:\n", what);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN) printf("  read: %s\n", err(n));
            return;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            print_event(e);
            p += sizeof *e + e->len;
        }
    }
}

static int queued_bytes(int fd) {
    int n = -1;
    if (ioctl(fd, FIONREAD, &n) < 0) return -2;
    return n;
}

static void path_of(char *out, const char *name) {
    snprintf(out, 256, "%s/%s", dir, name);
}

static void errors(void) {
    show("init1 bad flag", inotify_init1(1));
    show("init1 IN_NONBLOCK|bad", inotify_init1(IN_NONBLOCK | 2));
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    show("init1 NONBLOCK|CLOEXEC", fd >= 0 ? 0 : -1);
    printf("  O_NONBLOCK=%d FD_CLOEXEC=%d O_RDONLY=%d\n", !!(fcntl(fd, F_GETFL) & O_NONBLOCK),
           !!(fcntl(fd, F_GETFD) & FD_CLOEXEC), (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    int plain = inotify_init();
    printf("init: O_NONBLOCK=%d FD_CLOEXEC=%d\n", !!(fcntl(plain, F_GETFL) & O_NONBLOCK),
           !!(fcntl(plain, F_GETFD) & FD_CLOEXEC));
    close(plain);

    char file[256], sub[256], link[256];
    path_of(file, "file");
    path_of(sub, "sub");
    path_of(link, "link");
    close(open(file, O_CREAT | O_WRONLY, 0644));
    mkdir(sub, 0755);
    symlink("file", link);

    show("add zero mask", inotify_add_watch(fd, file, 0));
    show("add zero mask bad fd", inotify_add_watch(99, file, 0));
    show("add only unknown bits", inotify_add_watch(fd, file, 0x00010000));
    show("add bad fd", inotify_add_watch(99, file, IN_MODIFY));
    int plainfile = open(file, O_RDONLY);
    show("add on a regular fd", inotify_add_watch(plainfile, file, IN_MODIFY));
    show("add MASK_ADD|MASK_CREATE", inotify_add_watch(fd, file, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    show("add MASK_ADD|MASK_CREATE bad fd", inotify_add_watch(99, file, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    show("add missing", inotify_add_watch(fd, "/tmp/in/missing", IN_MODIFY));
    show("add bad path pointer", inotify_add_watch(fd, (char *)8, IN_MODIFY));
    show("add empty path", inotify_add_watch(fd, "", IN_MODIFY));
    show("add ONLYDIR on a file", inotify_add_watch(fd, file, IN_MODIFY | IN_ONLYDIR));
    show("add ONLYDIR on a dir", inotify_add_watch(fd, sub, IN_MODIFY | IN_ONLYDIR));
    show("add file", inotify_add_watch(fd, file, IN_MODIFY));
    show("add file again", inotify_add_watch(fd, file, IN_ATTRIB));
    show("add via symlink", inotify_add_watch(fd, link, IN_ATTRIB));
    show("add symlink DONT_FOLLOW", inotify_add_watch(fd, link, IN_ATTRIB | IN_DONT_FOLLOW));
    show("add MASK_CREATE existing", inotify_add_watch(fd, file, IN_ATTRIB | IN_MASK_CREATE));
    show("add only ONLYDIR flag", inotify_add_watch(fd, sub, IN_ONLYDIR));
    show("add only ONESHOT flag", inotify_add_watch(fd, sub, IN_ONESHOT));
    show("add ISDIR|IGNORED bits", inotify_add_watch(fd, sub, IN_ISDIR | IN_IGNORED));
    show("rm bad fd", inotify_rm_watch(99, 1));
    show("rm on a regular fd", inotify_rm_watch(plainfile, 1));
    show("rm unknown wd", inotify_rm_watch(fd, 77));
    show("rm wd 0", inotify_rm_watch(fd, 0));
    show("rm wd -1", inotify_rm_watch(fd, -1));
    show("rm file watch", inotify_rm_watch(fd, 1));
    show("rm it again", inotify_rm_watch(fd, 1));
    drain("after rm", fd);
    show("add file anew", inotify_add_watch(fd, file, IN_MODIFY));

    /* Reading: buffer sizes, EAGAIN, FIONREAD, poll, write, lseek, an unknown ioctl. */
    char buf[256] __attribute__((aligned(8)));
    show("read empty", read(fd, buf, sizeof buf));
    show("read 0 bytes empty", read(fd, buf, 0));
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    show("poll empty", poll(&p, 1, 0));
    printf("  revents=0x%x\n", p.revents);
    printf("FIONREAD empty: %d\n", queued_bytes(fd));
    int wfd = open(file, O_WRONLY);
    write(wfd, "x", 1);
    printf("FIONREAD one event: %d\n", queued_bytes(fd));
    show("poll ready", poll(&p, 1, 0));
    printf("  revents=0x%x\n", p.revents);
    show("read 0 bytes", read(fd, buf, 0));
    show("read 15 bytes", read(fd, buf, 15));
    show("read bad buffer", read(fd, (char *)8, sizeof buf));
    show("read after EFAULT", read(fd, buf, sizeof buf));
    write(wfd, "x", 1);
    show("read 16 bytes", read(fd, buf, 16));
    close(wfd);
    show("write", write(fd, buf, 16));
    show("lseek", lseek(fd, 0, SEEK_SET));
    int dummy;
    show("ioctl TCGETS", ioctl(fd, 0x5401, &dummy));
    show("FIONREAD bad pointer", ioctl(fd, FIONREAD, (int *)8));

    /* A named event: 16-byte header plus the name padded to 16. */
    int dwd = inotify_add_watch(fd, dir, IN_CREATE);
    printf("dir watch: %d\n", dwd);
    char name[256];
    path_of(name, "n1");
    close(open(name, O_CREAT | O_WRONLY, 0644));
    path_of(name, "name-of-sixteen!");
    close(open(name, O_CREAT | O_WRONLY, 0644));
    printf("FIONREAD two names: %d\n", queued_bytes(fd));
    show("read 31 bytes", read(fd, buf, 31));
    show("read 32 bytes", read(fd, buf, 32));
    print_event((struct inotify_event *)buf);
    show("read 63 bytes", read(fd, buf, 63));
    show("read 64 bytes", read(fd, buf, 64));
    print_event((struct inotify_event *)buf);
    path_of(name, "a");
    close(open(name, O_CREAT | O_WRONLY, 0644));
    path_of(name, "bb");
    close(open(name, O_CREAT | O_WRONLY, 0644));
    show("read room for one and a half", read(fd, buf, 48));
    drain("rest", fd);
    close(plainfile);
    close(fd);
}

/* Watches the directory and a file in it while each kind of operation runs. */
static void operations(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    char sub[256], other[256], f[256], g[256], h[256];
    path_of(sub, "ops");
    mkdir(sub, 0755);
    snprintf(other, sizeof other, "%s/other", dir);
    mkdir(other, 0755);
    int dwd = inotify_add_watch(fd, sub, IN_ALL_EVENTS);
    int owd = inotify_add_watch(fd, other, IN_ALL_EVENTS);
    printf("watches: ops=%d other=%d\n", dwd, owd);
    snprintf(f, sizeof f, "%.200s/f", sub);
    snprintf(g, sizeof g, "%.200s/g", sub);
    snprintf(h, sizeof h, "%s/h", other);

    int w = open(f, O_CREAT | O_WRONLY, 0644);
    drain("creat", fd);
    int fwd = inotify_add_watch(fd, f, IN_ALL_EVENTS);
    printf("file watch: %d\n", fwd);
    write(w, "hello", 5);
    drain("write", fd);
    write(w, "a", 1);
    write(w, "b", 1);
    drain("two writes (coalesced)", fd);
    pwrite(w, "c", 1, 0);
    drain("pwrite", fd);
    write(w, "", 0);
    drain("empty write", fd);
    close(w);
    drain("close written", fd);
    int r = open(f, O_RDONLY);
    char buf[64];
    read(r, buf, 3);
    pread(r, buf, 2, 1);
    drain("open, read, pread", fd);
    read(r, buf, sizeof buf);
    read(r, buf, sizeof buf);
    drain("read to the end, then at the end", fd);
    close(r);
    drain("close read-only", fd);
    chmod(f, 0600);
    drain("chmod", fd);
    chown(f, 0, 0);
    drain("chown", fd);
    chown(f, -1, -1);
    drain("chown -1 -1", fd);
    truncate(f, 2);
    drain("truncate", fd);
    w = open(f, O_WRONLY | O_TRUNC);
    drain("open O_TRUNC", fd);
    ftruncate(w, 10);
    drain("ftruncate", fd);
    close(w);
    drain("close", fd);
    struct timespec both[2] = { { 1, 0 }, { 2, 0 } };
    utimensat(AT_FDCWD, f, both, 0);
    drain("utimensat both", fd);
    struct timespec only_m[2] = { { 0, UTIME_OMIT }, { 3, 0 } };
    utimensat(AT_FDCWD, f, only_m, 0);
    drain("utimensat mtime only", fd);
    struct timespec only_a[2] = { { 3, 0 }, { 0, UTIME_OMIT } };
    utimensat(AT_FDCWD, f, only_a, 0);
    drain("utimensat atime only", fd);
    struct timespec none[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
    utimensat(AT_FDCWD, f, none, 0);
    drain("utimensat omit both", fd);
    utimes(f, NULL);
    drain("utimes now", fd);
    char l[256];
    snprintf(l, sizeof l, "%s/hard", sub);
    link(f, l);
    drain("link", fd);
    unlink(l);
    drain("unlink one of two links", fd);
    snprintf(l, sizeof l, "%s/sym", sub);
    symlink("f", l);
    drain("symlink", fd);
    unlink(l);
    snprintf(l, sizeof l, "%s/fifo", sub);
    mknod(l, S_IFIFO | 0644, 0);
    drain("mknod fifo, unlink symlink", fd);
    unlink(l);
    snprintf(l, sizeof l, "%s/d", sub);
    mkdir(l, 0755);
    drain("unlink fifo, mkdir", fd);
    chmod(l, 0700);
    drain("chmod subdir", fd);
    DIR *d = opendir(sub);
    while (readdir(d)) {}
    closedir(d);
    drain("list the dir", fd);
    rename(f, g);
    drain("rename within the dir", fd);
    rename(g, h);
    drain("rename across dirs", fd);
    char moved[256];
    snprintf(moved, sizeof moved, "%s/d2", other);
    rename(l, moved);
    drain("rename a dir across dirs", fd);
    rmdir(moved);
    drain("rmdir", fd);
    /* Replacing a file by rename: the victim's watch sees ATTRIB, DELETE_SELF, IGNORED. */
    char victim[256];
    snprintf(victim, sizeof victim, "%s/victim", other);
    close(open(victim, O_CREAT | O_WRONLY, 0644));
    int vwd = inotify_add_watch(fd, victim, IN_ALL_EVENTS);
    printf("victim watch: %d\n", vwd);
    drain("create the victim", fd);
    /* RENAME_EXCHANGE: Linux reports two moves, each with its own cookie. */
    show("exchange across dirs", syscall(SYS_renameat2, AT_FDCWD, h, AT_FDCWD, victim, 2));
    drain("exchange across dirs", fd);
    show("exchange back", syscall(SYS_renameat2, AT_FDCWD, victim, AT_FDCWD, h, 2));
    drain("exchange back", fd);
    rename(h, victim);
    drain("rename over the victim", fd);
    unlink(victim);
    drain("unlink the file", fd);
    rmdir(other);
    drain("rmdir a watched dir", fd);
    show("rm the gone dir's wd", inotify_rm_watch(fd, owd));
    close(fd);
}

/* Open files and unlinking: DELETE_SELF waits for the last close; IN_EXCL_UNLINK. */
static void unlinked(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    char sub[256], f[256];
    path_of(sub, "ul");
    mkdir(sub, 0755);
    snprintf(f, sizeof f, "%.200s/f", sub);
    int w = open(f, O_CREAT | O_RDWR, 0644);
    int dwd = inotify_add_watch(fd, sub, IN_MODIFY | IN_CLOSE | IN_DELETE);
    int fwd = inotify_add_watch(fd, f, IN_MODIFY | IN_DELETE_SELF | IN_ATTRIB | IN_CLOSE);
    printf("watches: dir=%d file=%d\n", dwd, fwd);
    unlink(f);
    drain("unlink an open file", fd);
    write(w, "x", 1);
    drain("write to it", fd);
    close(w);
    drain("close it", fd);

    w = open(f, O_CREAT | O_RDWR, 0644);
    show("EXCL_UNLINK dir watch", inotify_add_watch(fd, sub, IN_MODIFY | IN_CLOSE | IN_DELETE | IN_EXCL_UNLINK));
    fwd = inotify_add_watch(fd, f, IN_MODIFY | IN_DELETE_SELF | IN_EXCL_UNLINK);
    printf("file watch: %d\n", fwd);
    write(w, "x", 1);
    unlink(f);
    write(w, "y", 1);
    close(w);
    drain("EXCL_UNLINK: write, unlink, write, close", fd);
    close(fd);
}

static void on_alarm(int sig) { (void)sig; }

/* The same operations reached through other syscalls, readiness, and the watched
 * directory's own events. */
static void variety(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    char sub[256], f[300], g[300], l[300], moved[300];
    path_of(sub, "var");
    mkdir(sub, 0755);
    snprintf(f, sizeof f, "%s/f", sub);
    snprintf(g, sizeof g, "%s/g", sub);
    snprintf(l, sizeof l, "%s/l", sub);
    int w = open(f, O_CREAT | O_RDWR, 0644);
    write(w, "0123456789", 10);
    int o = open(g, O_CREAT | O_RDWR, 0644);
    symlink("f", l);
    show("add with an unknown bit too", inotify_add_watch(fd, f, IN_ALL_EVENTS | 0x10000));
    show("add with an unknown bit, bad fd", inotify_add_watch(99, f, IN_MODIFY | 0x10000));
    show("add f", inotify_add_watch(fd, f, IN_ALL_EVENTS));
    /* g, the copies' destination, is watched by a second instance: Linux reports a
     * splice's writes as they happen and the read at the end, so one queue watching both
     * files would see MODIFY, ACCESS, MODIFY where ours sees ACCESS, MODIFY. */
    int out = inotify_init1(IN_NONBLOCK);
    int gwd = inotify_add_watch(out, g, IN_ALL_EVENTS);
    int lwd = inotify_add_watch(fd, l, IN_ALL_EVENTS | IN_DONT_FOLLOW);
    printf("watches: g=%d l=%d\n", gwd, lwd);

    char a[4], b[4];
    struct iovec iov[2] = { { a, 3 }, { b, 3 } };
    preadv(w, iov, 2, 0);
    drain("preadv two iovecs", fd);
    pwritev(w, iov, 2, 0);
    drain("pwritev two iovecs", fd);
    off_t off = 0;
    sendfile(o, w, &off, 4);
    drain("sendfile f to g", fd);
    drain("sendfile, g's instance", out);
    loff_t in_off = 0, out_off = 0;
    show("copy_file_range", copy_file_range(w, &in_off, o, &out_off, 5, 0));
    drain("copy_file_range f to g", fd);
    drain("copy_file_range, g's instance", out);
    fchmod(w, 0640);
    fchown(w, 0, 0);
    drain("fchmod, fchown", fd);
    struct timespec ts[2] = { { 5, 0 }, { 6, 0 } };
    futimens(w, ts);
    drain("futimens", fd);
    show("fallocate", fallocate(w, 0, 0, 100));
    drain("fallocate growing", fd);
    lchown(l, 0, 0);
    drain("lchown the symlink", fd);
    /* user. attributes: EOPNOTSUPP on tmpfs (Linux 6.1), IN_ATTRIB on ext2. */
    show("setxattr", setxattr(f, "user.a", "1", 1, 0));
    show("removexattr", removexattr(f, "user.a"));
    drain("setxattr, removexattr", fd);
    int p = open(f, O_PATH);
    close(p);
    drain("O_PATH open and close", fd);
    show("mkdirat existing", mkdirat(AT_FDCWD, f, 0755));
    show("renameat2 NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, f, AT_FDCWD, g, 1));
    show("linkat existing", linkat(AT_FDCWD, f, AT_FDCWD, g, 0));
    show("unlink missing", unlink("/nonexistent/missing"));
    drain("failed calls", fd);
    close(w);
    close(o);
    drain("closes", fd);
    drain("closes, g's instance", out);
    close(out);

    /* The directory's own watch, and its parent's. */
    int pwd = inotify_add_watch(fd, dir, IN_ATTRIB | IN_MOVE);
    int swd = inotify_add_watch(fd, sub, IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
    printf("watches: parent=%d dir=%d\n", pwd, swd);
    chmod(sub, 0700);
    drain("chmod the watched dir", fd);
    path_of(moved, "var2");
    rename(sub, moved);
    drain("rename the watched dir", fd);
    rename(moved, sub);
    drain("and back", fd);

    /* Readiness: epoll and select see the queue; F_SETFL turns blocking off and on. */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct epoll_event got;
    show("epoll empty", epoll_wait(ep, &got, 1, 0));
    chmod(sub, 0755);
    show("epoll after an event", epoll_wait(ep, &got, 1, 0));
    printf("  events=0x%x\n", got.events);
    show("epoll again (edge)", epoll_wait(ep, &got, 1, 0));
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    struct timeval zero = { 0, 0 };
    show("select ready", select(fd + 1, &rd, NULL, NULL, &zero));
    drain("the event", fd);
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    show("select empty", select(fd + 1, &rd, NULL, NULL, &zero));
    close(ep);
    int dupfd = dup(fd);
    close(fd);
    fcntl(dupfd, F_SETFL, 0);
    printf("F_SETFL 0: O_NONBLOCK=%d\n", !!(fcntl(dupfd, F_GETFL) & O_NONBLOCK));
    fcntl(dupfd, F_SETFL, O_NONBLOCK);
    chmod(sub, 0700);
    drain("through a dup, closed original", dupfd);
    show("read again", read(dupfd, moved, sizeof moved));
    close(dupfd);
}

/* A large read on a blocking instance returns what is queued (4096 records, 64 KiB) at
 * once rather than waiting for more. */
static void large_read(void) {
    int fd = inotify_init();
    char f[256];
    path_of(f, "large");
    int w = open(f, O_CREAT | O_RDWR, 0644);
    inotify_add_watch(fd, f, IN_MODIFY | IN_ACCESS);
    char c = 0;
    for (int i = 0; i < 4096; i++) {
        if (i % 2) pread(w, &c, 1, 0);
        else pwrite(w, &c, 1, 0);
    }
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    alarm(10);
    static char buf[200000] __attribute__((aligned(8)));
    show("read 200000 with 65536 queued", read(fd, buf, sizeof buf));
    alarm(0);
    close(w);
    close(fd);
}

/* Unmounting a tmpfs ends the watches on it: IN_UNMOUNT, IN_IGNORED. Two instances, so
 * that each queue's order is fixed. */
static void unmount(void) {
    char mnt[256], f[300];
    path_of(mnt, "mnt");
    mkdir(mnt, 0755);
    show("mount tmpfs", mount("tmpfs", mnt, "tmpfs", 0, NULL));
    snprintf(f, sizeof f, "%s/f", mnt);
    close(open(f, O_CREAT | O_WRONLY, 0644));
    int a = inotify_init1(IN_NONBLOCK), b = inotify_init1(IN_NONBLOCK);
    printf("watches: root=%d file=%d\n", inotify_add_watch(a, mnt, IN_CREATE),
           inotify_add_watch(b, f, IN_MODIFY));
    show("umount", umount(mnt));
    drain("the root's instance", a);
    drain("the file's instance", b);
    close(a);
    close(b);
}

/* IN_ONESHOT and IN_MASK_ADD. */
static void oneshot(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    char f[256];
    path_of(f, "once");
    int w = open(f, O_CREAT | O_WRONLY, 0644);
    int wd = inotify_add_watch(fd, f, IN_MODIFY | IN_ONESHOT);
    printf("oneshot watch: %d\n", wd);
    write(w, "a", 1);
    write(w, "b", 1);
    chmod(f, 0600);
    drain("two writes and a chmod", fd);
    show("rm the spent wd", inotify_rm_watch(fd, wd));
    wd = inotify_add_watch(fd, f, IN_MODIFY);
    printf("new watch: %d\n", wd);
    show("add ATTRIB with MASK_ADD", inotify_add_watch(fd, f, IN_ATTRIB | IN_MASK_ADD));
    write(w, "c", 1);
    chmod(f, 0644);
    drain("write and chmod", fd);
    show("replace with ATTRIB", inotify_add_watch(fd, f, IN_ATTRIB));
    write(w, "d", 1);
    chmod(f, 0600);
    drain("write and chmod", fd);
    show("MASK_ADD ONESHOT", inotify_add_watch(fd, f, IN_MODIFY | IN_MASK_ADD | IN_ONESHOT));
    write(w, "e", 1);
    chmod(f, 0644);
    drain("write and chmod", fd);
    close(w);
    /* Closing the instance drops its watches quietly; a second instance is unaffected. */
    int fd2 = inotify_init1(IN_NONBLOCK);
    printf("second instance wd: %d\n", inotify_add_watch(fd2, f, IN_ATTRIB));
    close(fd);
    chmod(f, 0600);
    drain("second instance", fd2);
    close(fd2);
}

/* More events than max_queued_events: one IN_Q_OVERFLOW ends the queue. */
static void overflow(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    char f[256];
    path_of(f, "many");
    int w = open(f, O_CREAT | O_RDWR, 0644);
    inotify_add_watch(fd, f, IN_MODIFY | IN_ACCESS);
    char c = 0;
    for (int i = 0; i < 16500; i++) {
        if (i % 2) pread(w, &c, 1, 0);
        else pwrite(w, &c, 1, 0);
    }
    printf("FIONREAD full: %d\n", queued_bytes(fd));
    static char buf[65536] __attribute__((aligned(8)));
    long events = 0, overflows = 0, others = 0, last_wd = 0;
    unsigned last_mask = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            events++;
            if (e->mask == IN_Q_OVERFLOW) overflows++;
            else if (e->mask != IN_MODIFY && e->mask != IN_ACCESS) others++;
            last_wd = e->wd;
            last_mask = e->mask;
            p += sizeof *e + e->len;
        }
    }
    printf("events=%ld overflows=%ld others=%ld last: wd=%ld mask=0x%x\n", events, overflows,
           others, last_wd, last_mask);
    pwrite(w, &c, 1, 0);
    drain("after draining", fd);
    close(w);
    close(fd);
}

static void on_signal(int sig) { (void)sig; }

/* A blocking read: woken by a child's write; interrupted by a signal. */
static void blocking(void) {
    int fd = inotify_init();
    char f[256];
    path_of(f, "block");
    close(open(f, O_CREAT | O_WRONLY, 0644));
    int wd = inotify_add_watch(fd, f, IN_CLOSE_WRITE);
    printf("blocking watch: %d\n", wd);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(200000);
        int w = open(f, O_WRONLY);
        write(w, "z", 1);
        close(w);
        _exit(0);
    }
    char buf[256] __attribute__((aligned(8)));
    ssize_t n = read(fd, buf, sizeof buf);
    show("blocking read", n);
    if (n > 0) print_event((struct inotify_event *)buf);
    waitpid(child, NULL, 0);

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_value = { 0, 200000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    show("read interrupted", read(fd, buf, sizeof buf));

    /* With SA_RESTART the read goes on after the handler, until the child's event. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        usleep(500000);
        int w = open(f, O_WRONLY);
        close(w);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &it, NULL);
    n = read(fd, buf, sizeof buf);
    show("read restarted", n);
    if (n > 0) print_event((struct inotify_event *)buf);
    waitpid(child, NULL, 0);
    close(fd);
}

/* Limits that need an unprivileged user: read permission, instances per user. */
static void unprivileged(void) {
    char f[256];
    path_of(f, "secret");
    close(open(f, O_CREAT | O_WRONLY, 0600));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        setuid(65534);
        int fd = inotify_init();
        show("nobody add on a 0600 file", inotify_add_watch(fd, f, IN_MODIFY));
        show("nobody add on /tmp/in", inotify_add_watch(fd, dir, IN_MODIFY));
        close(fd);
        int opened = 0;
        long r = 0;
        for (int i = 0; i < 200; i++) {
            r = inotify_init();
            if (r < 0) break;
            opened++;
        }
        printf("nobody instances: %d then %s\n", opened, err(r));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

/* max_user_watches: 8192 on Linux 6.1 in this guest. */
static void watch_limit(void) {
    char sub[256], f[300];
    path_of(sub, "w");
    mkdir(sub, 0755);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int fd = inotify_init();
        int added = 0, last = 0;
        long r = 0;
        for (int i = 0; i < 9000; i++) {
            snprintf(f, sizeof f, "%s/%d", sub, i);
            close(open(f, O_CREAT | O_WRONLY, 0644));
            r = inotify_add_watch(fd, f, IN_MODIFY);
            if (r < 0) break;
            last = r;
            added++;
        }
        printf("watches: %d (last wd %d) then %s\n", added, last, err(r));
        show("rm one", inotify_rm_watch(fd, 5));
        snprintf(f, sizeof f, "%s/%d", sub, added);
        show("add after rm", inotify_add_watch(fd, f, IN_MODIFY));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        dir = argv[1];
        mkdir(dir, 0755);
        operations();
        unlinked();
        variety();
        oneshot();
        return probe_end();
    }
    mkdir(dir, 0755);
    errors();
    operations();
    unlinked();
    variety();
    large_read();
    unmount();
    oneshot();
    overflow();
    blocking();
    unprivileged();
    watch_limit();
    return probe_end();
}
