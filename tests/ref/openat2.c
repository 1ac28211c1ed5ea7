/* openat2(2) checked against Linux: struct open_how's size rules, every argument check
 * (EINVAL where openat ignores), and each RESOLVE_* restriction on absolute paths, `..`,
 * absolute and relative symlinks, magic links and mount crossings. Deterministic output.
 * Build: musl-gcc -static -O2 -o openat2 openat2.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "probe.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct how {
    uint64_t flags, mode, resolve;
    uint64_t extra; /* a newer struct's field */
};

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case EFAULT: return "EFAULT";
    case EXDEV: return "EXDEV";
    case ELOOP: return "ELOOP";
    case ENOENT: return "ENOENT";
    case EAGAIN: return "EAGAIN";
    case ENOTDIR: return "ENOTDIR";
    case EBADF: return "EBADF";
    case EISDIR: return "EISDIR";
    default: return "other";
    }
}

static long open2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve, size_t size) {
    struct how h = {flags, mode, resolve, 0};
    return syscall(SYS_openat2, dirfd, path, &h, size);
}

/* Opens and says what came back: the error, or what the file holds / what it is. */
static void try(const char *what, int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
    long fd = open2(dirfd, path, flags, 0, resolve, 24);
    if (fd < 0) {
        printf("%s: %s\n", what, err(fd));
        return;
    }
    struct stat st;
    fstat(fd, &st);
    char buf[32] = "";
    if (S_ISREG(st.st_mode) && !(flags & O_PATH)) {
        long n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
    }
    printf("%s: ok, %s \"%s\"\n", what, S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "symlink" : "file", buf);
    close(fd);
}

int main(void) {
    mkdir("/tmp/o2", 0755);
    mkdir("/tmp/o2/d", 0755);
    mkdir("/tmp/o2/d/s", 0755);
    mkdir("/tmp/o2/d/m", 0755);
    int f = open("/tmp/o2/d/f", O_CREAT | O_WRONLY, 0644);
    write(f, "in d", 4);
    close(f);
    f = open("/tmp/o2/f", O_CREAT | O_WRONLY, 0644);
    write(f, "above d", 7);
    close(f);
    symlink("/tmp/o2/d/f", "/tmp/o2/d/abs");
    symlink("f", "/tmp/o2/d/rel");
    symlink("../f", "/tmp/o2/d/up");
    symlink("s", "/tmp/o2/d/ls");
    mount("tmpfs", "/tmp/o2/d/m", "tmpfs", 0, NULL);
    f = open("/tmp/o2/d/m/inner", O_CREAT | O_WRONLY, 0644);
    write(f, "mounted", 7);
    close(f);
    int d = open("/tmp/o2/d", O_PATH | O_DIRECTORY);
    int m = open("/tmp/o2/d/m", O_PATH | O_DIRECTORY);
    int file = open("/tmp/o2/d/f", O_RDONLY);

    printf("size 23: %s\n", err(open2(d, "f", O_RDONLY, 0, 0, 23)));
    printf("size 4097: %s\n", err(open2(d, "f", O_RDONLY, 0, 0, 4097)));
    try("size 24", d, "f", O_RDONLY, 0);
    long r = open2(d, "f", O_RDONLY, 0, 0, 32);
    printf("size 32, zero beyond: %s\n", err(r));
    if (r >= 0) close(r);
    struct how h = {O_RDONLY, 0, 0, 1};
    printf("size 32, a field we do not know: %s\n", err(syscall(SYS_openat2, d, "f", &h, 32)));
    printf("a bad struct pointer: %s\n", err(syscall(SYS_openat2, d, "f", (void *)8, 24)));
    printf("a bad path pointer: %s\n", err(open2(d, (const char *)8, O_RDONLY, 0, 0, 24)));
    printf("an unknown flag: %s\n", err(open2(d, "f", O_RDONLY | (1ULL << 40), 0, 0, 24)));
    printf("flag 040000000: %s\n", err(open2(d, "f", 040000000, 0, 0, 24)));
    printf("an unknown resolve flag: %s\n", err(open2(d, "f", O_RDONLY, 0, 0x40, 24)));
    printf("BENEATH with IN_ROOT: %s\n", err(open2(d, "f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT, 24)));
    printf("a mode without O_CREAT: %s\n", err(open2(d, "f", O_RDONLY, 0644, 0, 24)));
    printf("O_CREAT with a file type in the mode: %s\n", err(open2(d, "new", O_CREAT | O_WRONLY, 0100644, 0, 24)));
    printf("O_PATH with O_RDWR: %s\n", err(open2(d, "f", O_PATH | O_RDWR, 0, 0, 24)));
    try("O_PATH with O_CLOEXEC and O_NOFOLLOW", d, "f", O_PATH | O_CLOEXEC | O_NOFOLLOW, 0);
    printf("O_TMPFILE read-only: %s\n", err(open2(d, ".", O_TMPFILE | O_RDONLY, 0600, 0, 24)));
    printf("CACHED with O_CREAT: %s\n", err(open2(d, "new", O_CREAT | O_WRONLY, 0644, RESOLVE_CACHED, 24)));
    printf("CACHED with O_TRUNC: %s\n", err(open2(d, "f", O_TRUNC | O_WRONLY, 0, RESOLVE_CACHED, 24)));
    try("CACHED", d, "f", O_RDONLY, RESOLVE_CACHED);
    r = open2(d, "created", O_CREAT | O_WRONLY, 0640, 0, 24);
    struct stat st;
    fstat(r, &st);
    printf("O_CREAT with mode 0640: %s, mode %o\n", err(r), st.st_mode & 07777 & ~022);
    close(r);
    printf("a file as dirfd: %s\n", err(open2(file, "f", O_RDONLY, 0, 0, 24)));
    printf("a file as dirfd, IN_ROOT: %s\n", err(open2(file, "f", O_RDONLY, 0, RESOLVE_IN_ROOT, 24)));
    printf("a bad dirfd, IN_ROOT: %s\n", err(open2(99, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT, 24)));

    const char *paths[] = {"f", "s/../f", "../f", "/tmp/o2/d/f", "abs", "rel", "up", "ls/../f", "m/inner", "m", ".", "..", "/f", "../../f"};
    struct { const char *name; uint64_t resolve; } scopes[] = {
        {"none", 0},
        {"BENEATH", RESOLVE_BENEATH},
        {"IN_ROOT", RESOLVE_IN_ROOT},
        {"NO_SYMLINKS", RESOLVE_NO_SYMLINKS},
        {"NO_MAGICLINKS", RESOLVE_NO_MAGICLINKS},
        {"NO_XDEV", RESOLVE_NO_XDEV},
    };
    char what[96];
    for (unsigned s = 0; s < sizeof scopes / sizeof scopes[0]; s++) {
        for (unsigned p = 0; p < sizeof paths / sizeof paths[0]; p++) {
            snprintf(what, sizeof what, "%s %s", scopes[s].name, paths[p]);
            try(what, d, paths[p], O_RDONLY, scopes[s].resolve);
        }
    }
    try("NO_SYMLINKS rel, O_PATH|O_NOFOLLOW", d, "rel", O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
    try("NO_SYMLINKS rel, O_NOFOLLOW", d, "rel", O_RDONLY | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
    try("NO_XDEV from the mount's root: inner", m, "inner", O_RDONLY, RESOLVE_NO_XDEV);
    try("NO_XDEV from the mount's root: ../f", m, "../f", O_RDONLY, RESOLVE_NO_XDEV);
    try("BENEATH from the mount's root: ../f", m, "../f", O_RDONLY, RESOLVE_BENEATH);
    try("IN_ROOT from the mount's root: ../inner", m, "../inner", O_RDONLY, RESOLVE_IN_ROOT);
    try("NO_XDEV, AT_FDCWD absolute", AT_FDCWD, "/tmp/o2/f", O_RDONLY, RESOLVE_NO_XDEV);
    try("BENEATH, AT_FDCWD", AT_FDCWD, "tmp/o2/f", O_RDONLY, RESOLVE_BENEATH);

    /* Magic links: /proc/self/fd/N leads to the open file itself. */
    int procfd = open("/proc/self/fd", O_PATH | O_DIRECTORY);
    char name[16];
    snprintf(name, sizeof name, "%d", file);
    try("magic link, no restriction", procfd, name, O_RDONLY, 0);
    try("magic link, NO_MAGICLINKS", procfd, name, O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("magic link, NO_SYMLINKS", procfd, name, O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("magic link, BENEATH", procfd, name, O_RDONLY, RESOLVE_BENEATH);
    try("magic link, IN_ROOT", procfd, name, O_RDONLY, RESOLVE_IN_ROOT);
    try("magic link, NO_MAGICLINKS with O_PATH|O_NOFOLLOW", procfd, name, O_PATH | O_NOFOLLOW, RESOLVE_NO_MAGICLINKS);
    umount("/tmp/o2/d/m");
    return probe_end();
}
