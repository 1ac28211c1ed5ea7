/* Small calls that answered ENOSYS, checked against Linux: personality (query, set, kept
 * by fork), getcpu, iopl/ioperm (argument errors; refused to an unprivileged caller),
 * setfsuid/setfsgid (the old value always, who may change it, what it changes: owners of new
 * files, access checks, /proc/self/status, reset by setuid), and chroot (errors in Linux's
 * order, the new root, kept by fork). Run as root. Deterministic output only.
 * Build: musl-gcc -static -O2 -o smallcalls smallcalls.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/personality.h>
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
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

/* The Uid: or Gid: line of /proc/self/status. */
static void status_line(const char *what, const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) {
            printf("%s: %s", what, line);
            break;
        }
    if (f) fclose(f);
}

static void owner_of_new_file(const char *what, const char *path) {
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        printf("%s: %s\n", what, err(-1));
    } else {
        printf("%s: %u:%u\n", what, st.st_uid, st.st_gid);
    }
    if (fd >= 0) close(fd);
    unlink(path);
}

int main(void) {
    /* personality */
    printf("personality query: %#lx\n", (long)personality(0xffffffff));
    printf("set ADDR_NO_RANDOMIZE returns: %#lx\n", (long)personality(ADDR_NO_RANDOMIZE));
    printf("query after: %#lx\n", (long)personality(0xffffffff));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child query: %#lx\n", (long)personality(0xffffffff));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("set back returns: %#lx\n", (long)personality(0));

    /* getcpu (the reference runs one CPU) */
    unsigned cpu = 7, node = 7;
    const char *got = err(syscall(SYS_getcpu, &cpu, &node, NULL));
    printf("getcpu: %s cpu %u node %u\n", got, cpu, node);
    printf("getcpu with nulls: %s\n", err(syscall(SYS_getcpu, NULL, NULL, NULL)));
    printf("getcpu bad pointer: %s\n", err(syscall(SYS_getcpu, (void *)8, NULL, NULL)));

    /* iopl, ioperm */
    printf("iopl 4: %s\n", err(syscall(SYS_iopl, 4)));
    printf("iopl 0: %s\n", err(syscall(SYS_iopl, 0)));
    printf("ioperm past 65535: %s\n", err(syscall(SYS_ioperm, 65535, 2, 1)));
    printf("ioperm empty range: %s\n", err(syscall(SYS_ioperm, 0x80, 0, 1)));
    printf("ioperm off: %s\n", err(syscall(SYS_ioperm, 0x80, 1, 0)));

    /* setfsuid and setfsgid as root; the files are root's, made before. */
    close(open("/tmp/root-only", O_CREAT | O_WRONLY, 0600));
    mkdir("/tmp/closed", 0700);
    printf("setfsuid query: %d\n", setfsuid(-1));
    printf("setfsuid 1000 returns: %d\n", setfsuid(1000));
    printf("setfsgid 100 returns: %d\n", setfsgid(100));
    printf("query: %d %d\n", setfsuid(-1), setfsgid(-1));
    status_line("status", "Uid:");
    status_line("status", "Gid:");
    owner_of_new_file("new file owner", "/tmp/fsuid-file");
    printf("read a 0600 root file: %s\n", err(open("/tmp/root-only", O_RDONLY)));
    printf("setfsuid 0 returns: %d\n", setfsuid(0));
    printf("setfsgid 0 returns: %d\n", setfsgid(0));
    printf("read it again: %s\n", err(open("/tmp/root-only", O_RDONLY)));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setfsuid(1234);
        setresgid(100, 100, 100);
        setresuid(1000, 1000, 1000);
        status_line("after setresuid", "Uid:");
        status_line("after setresgid", "Gid:");
        printf("unprivileged setfsuid 0 returns: %d\n", setfsuid(0));
        printf("query: %d\n", setfsuid(-1));
        printf("iopl 3: %s\n", err(syscall(SYS_iopl, 3)));
        printf("iopl 0: %s\n", err(syscall(SYS_iopl, 0)));
        printf("ioperm on: %s\n", err(syscall(SYS_ioperm, 0x80, 1, 1)));
        printf("chroot unprivileged: %s\n", err(chroot("/tmp")));
        printf("chroot without search permission: %s\n", err(chroot("/tmp/closed")));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    rmdir("/tmp/closed");
    unlink("/tmp/root-only");

    /* chroot */
    printf("chroot missing: %s\n", err(chroot("/nonexistent")));
    close(open("/tmp/plain", O_CREAT | O_WRONLY, 0644));
    printf("chroot a file: %s\n", err(chroot("/tmp/plain")));
    printf("chroot through a file: %s\n", err(chroot("/tmp/plain/x")));
    printf("chroot bad pointer: %s\n", err(chroot((char *)8)));
    mkdir("/tmp/jail", 0755);
    mkdir("/tmp/jail/etc", 0755);
    int fd = open("/tmp/jail/etc/inside", O_CREAT | O_WRONLY, 0644);
    write(fd, "inside the jail\n", 16);
    close(fd);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        printf("chroot /tmp/jail: %s\n", err(chroot("/tmp/jail")));
        char buf[64] = {0};
        int f = open("/etc/inside", O_RDONLY);
        read(f, buf, sizeof buf - 1);
        printf("/etc/inside: %s", buf);
        printf("/tmp/plain from inside: %s\n", err(open("/tmp/plain", O_RDONLY)));
        printf("chdir / then ..: %s %s\n", err(chdir("/")), err(chdir("..")));
        printf("/etc/inside after ..: %s\n", err(open("/etc/inside", O_RDONLY)));
        fflush(stdout);
        pid_t grandchild = fork();
        if (grandchild == 0) {
            printf("grandchild sees the jail: %s\n", err(open("/etc/inside", O_RDONLY)));
            fflush(stdout);
            _exit(0);
        }
        waitpid(grandchild, NULL, 0);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("parent's root unchanged: %s\n", err(open("/tmp/plain", O_RDONLY)));
    unlink("/tmp/jail/etc/inside");
    rmdir("/tmp/jail/etc");
    rmdir("/tmp/jail");
    unlink("/tmp/plain");
    return probe_end();
}
