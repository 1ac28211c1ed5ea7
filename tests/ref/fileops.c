/* File operations beyond read/write: flock between descriptions and processes, pipe sizes,
 * close_range, copy_file_range, splice, memfd_create, lseek SEEK_DATA/SEEK_HOLE, fallocate,
 * preadv/pwritev, RLIMIT_NOFILE, utimensat's special times, O_ASYNC and F_SETOWN (what nginx
 * sets on its master-worker socketpairs). Deterministic output only.
 * Build: musl-gcc -static -O2 -o fileops fileops.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static void report(const char *what, long r) {
    if (r < 0)
        printf("%-44s -1 %s\n", what, strerror(errno));
    else
        printf("%-44s %ld\n", what, r);
}

static void locks(void) {
    int a = open("/tmp/lockfile", O_CREAT | O_RDWR, 0644);
    int b = open("/tmp/lockfile", O_RDWR);
    int dup_a = dup(a);
    report("flock(a, LOCK_SH)", flock(a, LOCK_SH));
    report("flock(b, LOCK_SH|LOCK_NB)", flock(b, LOCK_SH | LOCK_NB));
    report("flock(b, LOCK_EX|LOCK_NB) while a shares", flock(b, LOCK_EX | LOCK_NB));
    report("flock(b, LOCK_UN)", flock(b, LOCK_UN));
    report("flock(a, LOCK_EX|LOCK_NB) converts", flock(a, LOCK_EX | LOCK_NB));
    report("flock(dup of a, LOCK_EX|LOCK_NB): same lock", flock(dup_a, LOCK_EX | LOCK_NB));
    pid_t child = fork();
    if (child == 0) {
        int c = open("/tmp/lockfile", O_RDWR);
        int r = flock(c, LOCK_EX | LOCK_NB);
        _exit(r == 0 ? 0 : errno == EWOULDBLOCK ? 1 : 2);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child's own description finds it locked: exit %d\n", WEXITSTATUS(status));
    close(a);
    report("still held through the dup: b tries", flock(b, LOCK_EX | LOCK_NB));
    close(dup_a);
    report("last descriptor closed: b takes it", flock(b, LOCK_EX | LOCK_NB));
    report("flock bad operation", flock(b, 3));
    close(b);
    unlink("/tmp/lockfile");
}

static void pipes(void) {
    int p[2];
    pipe(p);
    report("F_GETPIPE_SZ default", fcntl(p[0], F_GETPIPE_SZ));
    report("F_SETPIPE_SZ 5000 (rounds up)", fcntl(p[1], F_SETPIPE_SZ, 5000));
    report("F_GETPIPE_SZ after", fcntl(p[0], F_GETPIPE_SZ));
    report("F_SETPIPE_SZ 0 (minimum one page)", fcntl(p[1], F_SETPIPE_SZ, 0));
    int f = open("/tmp", O_RDONLY);
    report("F_GETPIPE_SZ on a directory", fcntl(f, F_GETPIPE_SZ));
    close(f);
    static char big[8192];
    fcntl(p[1], F_SETPIPE_SZ, 8192);
    write(p[1], big, sizeof big);
    report("shrink below queued data", fcntl(p[1], F_SETPIPE_SZ, 4096));
    close(p[0]);
    close(p[1]);
}

static void ranges(void) {
    int fds[6];
    for (int i = 0; i < 6; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    report("close_range(fds[1], fds[3], 0)", syscall(SYS_close_range, fds[1], fds[3], 0));
    report("fds[2] closed", fcntl(fds[2], F_GETFD));
    report("fds[4] open", fcntl(fds[4], F_GETFD));
    report("close_range CLOEXEC on fds[4..5]", syscall(SYS_close_range, fds[4], fds[5], 4));
    report("fds[5] FD_CLOEXEC", fcntl(fds[5], F_GETFD));
    report("close_range first > last", syscall(SYS_close_range, 9, 3, 0));
    report("close_range bad flags", syscall(SYS_close_range, 3, 9, 64));
    close(fds[0]);
    close(fds[4]);
    close(fds[5]);
}

static void copies(void) {
    int src = open("/tmp/src", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(src, "0123456789abcdef", 16);
    int dst = open("/tmp/dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
    loff_t in_off = 4;
    report("copy_file_range 8 from offset 4", copy_file_range(src, &in_off, dst, NULL, 8, 0));
    printf("in_off now %lld\n", (long long)in_off);
    char buf[32] = { 0 };
    pread(dst, buf, sizeof buf - 1, 0);
    printf("dst holds '%s'\n", buf);
    report("copy_file_range with flags", copy_file_range(src, NULL, dst, NULL, 1, 1));
    int p[2];
    pipe(p);
    report("copy_file_range to a pipe", copy_file_range(src, &in_off, p[1], NULL, 1, 0));
    lseek(src, 0, SEEK_SET);
    report("splice file -> pipe", splice(src, NULL, p[1], NULL, 6, 0));
    report("file position after splice", lseek(src, 0, SEEK_CUR));
    loff_t off = 0;
    report("splice with an offset on the pipe", splice(p[0], &off, dst, NULL, 6, 0));
    off = 100;
    report("splice pipe -> file at 100", splice(p[0], NULL, dst, &off, 6, 0));
    memset(buf, 0, sizeof buf);
    pread(dst, buf, 6, 100);
    printf("dst at 100 '%s', off now %lld\n", buf, (long long)off);
    report("splice between two files", splice(src, NULL, dst, NULL, 1, 0));
    close(p[0]);
    close(p[1]);
    report("SEEK_DATA 3", lseek(src, 3, SEEK_DATA));
    report("SEEK_HOLE 3", lseek(src, 3, SEEK_HOLE));
    report("SEEK_DATA past the end", lseek(src, 16, SEEK_DATA));
    report("fallocate grows to 64", fallocate(src, 0, 0, 64));
    report("size after fallocate", lseek(src, 0, SEEK_END));
    report("fallocate KEEP_SIZE to 128", fallocate(src, FALLOC_FL_KEEP_SIZE, 0, 128));
    report("size after KEEP_SIZE", lseek(src, 0, SEEK_END));
    report("fallocate zero length", fallocate(src, 0, 0, 0));
    char a[4] = "wxyz", b[4];
    struct iovec w = { a, 4 }, r = { b, 4 };
    report("pwritev at 2", pwritev(src, &w, 1, 2));
    report("preadv at 2", preadv(src, &r, 1, 2));
    printf("read back '%.4s', position %ld\n", b, (long)lseek(src, 0, SEEK_CUR));
    close(src);
    close(dst);
    unlink("/tmp/src");
    unlink("/tmp/dst");
}

/* What a MAP_SHARED file mapping writes reaches the file: after msync, after munmap, and
 * when a child that never unmapped exits. Bytes past the end of the file stay out of it. */
static void shared_file_mappings(void) {
    int fd = open("/tmp/mapped", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "aaaaaaaaaa", 10);
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(m, "cc", 2);
    report("msync", msync(m, 4096, MS_SYNC));
    char buf[16] = { 0 };
    pread(fd, buf, 10, 0);
    printf("file after msync '%s'\n", buf);
    memcpy(m + 2, "dd", 2);
    memcpy(m + 20, "past the end", 12);
    report("munmap", munmap(m, 4096));
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 10, 0);
    printf("file after munmap '%s', size %ld\n", buf, (long)lseek(fd, 0, SEEK_END));
    pid_t child = fork();
    if (child == 0) {
        char *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        c[9] = 'Z';
        _exit(0);
    }
    waitpid(child, NULL, 0);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 10, 0);
    printf("file after the child exited '%s'\n", buf);
    report("msync with MS_SYNC|MS_ASYNC", msync(m, 4096, MS_SYNC | MS_ASYNC));
    close(fd);
    unlink("/tmp/mapped");
}

/* Deleting entries while listing the directory (rm -r, closing fds found in /proc/self/fd)
 * must not make readdir skip the others. */
static void delete_while_listing(void) {
    mkdir("/tmp/many", 0755);
    char path[300];
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof path, "/tmp/many/entry-with-a-long-name-%03d", i);
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }
    DIR *d = opendir("/tmp/many");
    struct dirent *e;
    int seen = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/tmp/many/%s", e->d_name);
        unlink(path);
        seen++;
    }
    closedir(d);
    printf("listed and deleted %d entries\n", seen);
    report("rmdir (empty now)", rmdir("/tmp/many"));
    int fds[40];
    for (int i = 0; i < 40; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    d = opendir("/proc/self/fd");
    int closed = 0;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (fd >= fds[0] && fd <= fds[39]) {
            close(fd);
            closed++;
        }
    }
    closedir(d);
    printf("closed %d descriptors found in /proc/self/fd\n", closed);
}

static void memfd_and_limits(void) {
    int m = memfd_create("probe", MFD_CLOEXEC);
    report("memfd_create", m >= 0 ? 0 : -1);
    report("memfd FD_CLOEXEC", fcntl(m, F_GETFD));
    report("memfd write", write(m, "memory", 6));
    report("memfd size", lseek(m, 0, SEEK_END));
    report("memfd_create bad flags", memfd_create("x", 0x100));
    close(m);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("RLIMIT_NOFILE %lu %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
    struct rlimit small = { 8, rl.rlim_max };
    report("setrlimit NOFILE 8", setrlimit(RLIMIT_NOFILE, &small));
    int last = 0;
    while ((last = dup(0)) >= 0 && last < 100)
        ;
    printf("dup stops with %s\n", strerror(errno));
    report("dup2 to fd 8 (at the limit)", dup2(0, 8));
    for (int fd = 3; fd < 8; fd++)
        close(fd);
    report("setrlimit NOFILE back", setrlimit(RLIMIT_NOFILE, &rl));
    struct rlimit too_big = { rl.rlim_max, 1 << 21 };
    report("setrlimit NOFILE above nr_open", setrlimit(RLIMIT_NOFILE, &too_big));
}

/* utimensat: a time before 1970, UTIME_OMIT keeping one time, UTIME_NOW, and bad nanoseconds. */
static void file_times(void) {
    const char *path = "/tmp/fileops-times";
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    report("create times file", fd < 0 ? -1 : 0);
    struct timespec set[2] = { { 1000, 5 }, { -86400, 123456789 } };
    report("utimensat atime 1000s, mtime -1 day", utimensat(AT_FDCWD, path, set, 0));
    struct stat st;
    fstat(fd, &st);
    printf("times: atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit_atime[2] = { { 7, UTIME_OMIT }, { 2000, 0 } };
    report("utimensat UTIME_OMIT atime, mtime 2000s", utimensat(AT_FDCWD, path, omit_atime, 0));
    fstat(fd, &st);
    printf("times: atime %ld mtime %ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
    report("utimensat UTIME_NOW atime", utimensat(AT_FDCWD, path, now, 0));
    fstat(fd, &st);
    printf("atime moved to now: %d, mtime kept: %d\n", st.st_atim.tv_sec > 1000, st.st_mtim.tv_sec == 2000);
    struct timespec bad[2] = { { 0, 1000000000 }, { 0, 0 } };
    report("utimensat nsec 1e9", utimensat(AT_FDCWD, path, bad, 0));
    struct timespec negative_nsec[2] = { { 0, 0 }, { 0, -1 } };
    report("utimensat nsec -1", utimensat(AT_FDCWD, path, negative_nsec, 0));
    close(fd);
    unlink(path);
}

/* FIOASYNC and F_SETFL's O_ASYNC, and the owner F_SETOWN records per open file description
 * (a dup sees it). Pids vary between kernels, so owners are printed relative to ours. */
static void async_owners(void) {
    int sv[2], p[2], on = 1, off = 0;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    report("socketpair ioctl(FIOASYNC, 1)", ioctl(sv[0], FIOASYNC, &on));
    printf("F_GETFL has O_ASYNC: %d\n", (fcntl(sv[0], F_GETFL) & O_ASYNC) != 0);
    report("ioctl(FIOASYNC, 0)", ioctl(sv[0], FIOASYNC, &off));
    printf("F_GETFL has O_ASYNC after off: %d\n", (fcntl(sv[0], F_GETFL) & O_ASYNC) != 0);
    report("pipe F_SETFL O_ASYNC|O_NONBLOCK", fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK));
    printf("pipe F_GETFL async %d nonblock %d\n", (fcntl(p[0], F_GETFL) & O_ASYNC) != 0,
           (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    report("ioctl(FIOASYNC) bad pointer", ioctl(sv[0], FIOASYNC, (int *)8));
    report("F_GETOWN before F_SETOWN", fcntl(sv[0], F_GETOWN));
    report("F_SETOWN getpid()", fcntl(sv[0], F_SETOWN, getpid()));
    printf("F_GETOWN is getpid(): %d\n", fcntl(sv[0], F_GETOWN) == getpid());
    int copy = dup(sv[0]);
    printf("a dup sees the owner: %d\n", fcntl(copy, F_GETOWN) == getpid());
    printf("the peer has none: %ld\n", (long)fcntl(sv[1], F_GETOWN));
    report("F_SETOWN -getpgrp()", fcntl(sv[0], F_SETOWN, -getpgrp()));
    printf("F_GETOWN is -getpgrp(): %d\n", fcntl(copy, F_GETOWN) == -getpgrp());
    report("F_SETOWN a pid that does not exist", fcntl(sv[0], F_SETOWN, 4000000));
    report("F_SETOWN INT_MIN", fcntl(sv[0], F_SETOWN, -2147483647 - 1));
    report("F_SETOWN 0", fcntl(sv[0], F_SETOWN, 0));
    report("F_GETOWN after clearing", fcntl(copy, F_GETOWN));
    close(copy);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    locks();
    pipes();
    ranges();
    copies();
    shared_file_mappings();
    delete_while_listing();
    memfd_and_limits();
    file_times();
    async_owners();
    return probe_end();
}
