/* pivot_root(2) checked against Linux: EPERM without privilege, ENOENT and ENOTDIR for the
 * paths, EINVAL when the root is the in-memory root filesystem (Linux's rootfs is attached
 * nowhere), EBUSY for a new root or put_old on the root's own mount, then a pivot from a
 * chroot into a tmpfs onto another tmpfs: the working directory follows the root, the old
 * root shows at put_old until a lazy unmount takes it away. In a mount namespace of its own.
 * Build: musl-gcc -static -O2 -o pivot pivot.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EBUSY: return "EBUSY";
    default: return "other";
    }
}

static long pivot(const char *new_root, const char *put_old) {
    return syscall(SYS_pivot_root, new_root, put_old);
}

static void touch(const char *path) {
    close(open(path, O_CREAT | O_WRONLY, 0644));
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *who, const char *dir) {
    DIR *d = opendir(dir);
    char *names[32];
    int count = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && count < 32)
        if (e->d_name[0] != '.') names[count++] = strdup(e->d_name);
    if (d) closedir(d);
    qsort(names, count, sizeof names[0], cmp_str);
    char out[256] = "";
    for (int i = 0; i < count; i++) {
        snprintf(out + strlen(out), sizeof out - strlen(out), " %s", names[i]);
        free(names[i]);
    }
    printf("%s: %s holds%s\n", who, dir, out);
}

static void pivoting(void) {
    printf("unshare(NEWNS) %s\n", err(unshare(CLONE_NEWNS)));
    mkdir("/tmp/r1", 0755);
    printf("mount tmpfs r1 %s\n", err(mount("r1", "/tmp/r1", "tmpfs", 0, NULL)));
    mkdir("/tmp/r1/old", 0755);
    mkdir("/tmp/r1/new", 0755);
    touch("/tmp/r1/marker");
    touch("/tmp/file");
    printf("pivot_root(missing) %s\n", err(pivot("/tmp/missing", "/tmp/r1/old")));
    printf("pivot_root(a file) %s\n", err(pivot("/tmp/file", "/tmp/r1/old")));
    printf("pivot_root(r1, r1/old) from the initial root %s\n", err(pivot("/tmp/r1", "/tmp/r1/old")));
    /* A working directory outside the root reads as unreachable (musl: ENOENT). */
    char cwd[128];
    const char *rooted = err(chroot("/tmp/r1"));
    printf("chroot r1 %s, cwd outside %s\n", rooted, getcwd(cwd, sizeof cwd) ? cwd : err(-1));
    printf("chdir / %s\n", err(chdir("/")));
    printf("mount tmpfs new %s\n", err(mount("r2", "/new", "tmpfs", 0, NULL)));
    mkdir("/new/old", 0755);
    touch("/new/inner");
    printf("pivot_root(/old, /old) %s\n", err(pivot("/old", "/old")));
    printf("pivot_root(/new, /old) %s\n", err(pivot("/new", "/old")));
    printf("pivot_root(/new, /new/old) %s\n", err(pivot("/new", "/new/old")));
    printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : err(-1));
    list("after", "/");
    list("after", "/old");
    printf("/inner %s, /old/marker %s, /marker %s\n", err(access("/inner", F_OK)),
           err(access("/old/marker", F_OK)), err(access("/marker", F_OK)));
    const char *up = err(chdir("/old/.."));
    printf("chdir /old/.. %s, cwd %s\n", up, getcwd(cwd, sizeof cwd) ? cwd : err(-1));
    printf("umount2(/old, MNT_DETACH) %s\n", err(umount2("/old", MNT_DETACH)));
    list("detached", "/old");
    printf("/old/marker %s\n", err(access("/old/marker", F_OK)));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        printf("nobody: pivot_root %s\n", err(pivot("/tmp", "/tmp")));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0) {
        pivoting();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child status %d\n", status);
    struct stat st;
    printf("own root unchanged: /tmp/r1 there %s\n", err(stat("/tmp/r1", &st)));
    return probe_end();
}
