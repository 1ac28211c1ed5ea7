/* Unix permissions after dropping root: owner/group/other bits, the sticky bit, chmod and
 * chown rules, setuid rules, access(2). Checked against Linux.
 * Build: musl-gcc -static -O2 -o perms perms.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *res(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EACCES: return "EACCES"; case EPERM: return "EPERM"; case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST"; case EINVAL: return "EINVAL";
    default: { static char b[32]; snprintf(b, sizeof b, "errno %d", errno); return b; }
    }
}
#define T(label, expr) do { errno = 0; long r_ = (long)(expr); printf("%-36s %s\n", label, res(r_)); } while (0)

static void make(const char *path, int mode, gid_t gid) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    write(fd, "data\n", 5);
    close(fd);
    chown(path, 0, gid);
    chmod(path, mode);
}

static void print_resids(void) {
    uid_t r, e, s;
    gid_t rg, eg, sg;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    printf("resuid %d %d %d resgid %d %d %d\n", r, e, s, rg, eg, sg);
}

/* setreuid/setregid: an unprivileged real ID may become only the real or effective one (not
 * the saved one), and the saved ID follows the new effective ID when the real ID is set or
 * the effective ID moves away from the old real one. */
static void show_setre_rules(void) {
    pid_t pid = fork();
    if (pid == 0) {
        T("setresgid(100, 200, 300)", setresgid(100, 200, 300));
        T("setresuid(1000, 2000, 3000)", setresuid(1000, 2000, 3000));
        T("setreuid(saved, -1)", setreuid(3000, -1));
        T("setregid(saved, -1)", setregid(300, -1));
        T("setreuid(-1, real)", setreuid(-1, 1000));
        T("setregid(-1, real)", setregid(-1, 100));
        print_resids();
        T("setreuid(-1, saved)", setreuid(-1, 3000));
        T("setregid(-1, saved)", setregid(-1, 300));
        print_resids();
        T("setreuid(effective, -1)", setreuid(3000, -1));
        T("setregid(effective, -1)", setregid(300, -1));
        print_resids();
        T("setreuid(-1, old real)", setreuid(-1, 1000));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("setre child exit %d\n", WEXITSTATUS(status));
}

int main(void) {
    mkdir("/tmp/p", 0755);
    make("/tmp/p/secret", 0600, 0);
    make("/tmp/p/public", 0644, 0);
    make("/tmp/p/group", 0640, 100);
    make("/tmp/p/script", 0644, 0);
    mkdir("/tmp/shared", 0777);
    chmod("/tmp/shared", 01777);
    make("/tmp/shared/rootfile", 0666, 0);
    pid_t pid = fork();
    if (pid == 0) {
        T("setgid(100)", setgid(100));
        T("setuid(1000)", setuid(1000));
        printf("ids %d %d %d %d\n", getuid(), geteuid(), getgid(), getegid());
        T("open secret for reading", open("/tmp/p/secret", O_RDONLY));
        T("open public for reading", open("/tmp/p/public", O_RDONLY));
        T("open public for writing", open("/tmp/p/public", O_WRONLY));
        T("open group file for reading", open("/tmp/p/group", O_RDONLY));
        T("create in root's directory", open("/tmp/p/new", O_CREAT | O_WRONLY, 0644));
        T("create in sticky directory", open("/tmp/shared/mine", O_CREAT | O_WRONLY, 0644));
        struct stat st;
        stat("/tmp/shared/mine", &st);
        printf("new file owner %u group %u mode %o\n", st.st_uid, st.st_gid, st.st_mode & 07777);
        T("unlink root's file in sticky dir", unlink("/tmp/shared/rootfile"));
        T("rename root's file in sticky dir", rename("/tmp/shared/rootfile", "/tmp/shared/x"));
        T("unlink own file in sticky dir", unlink("/tmp/shared/mine"));
        T("unlink in root's directory", unlink("/tmp/p/public"));
        T("chmod someone else's file", chmod("/tmp/p/public", 0777));
        T("mkdir in sticky directory", mkdir("/tmp/shared/d", 0755));
        T("chmod own directory", chmod("/tmp/shared/d", 0700));
        T("chown own directory to root", chown("/tmp/shared/d", 0, 0));
        T("chgrp own directory to own group", chown("/tmp/shared/d", -1, 100));
        T("chgrp own directory to another group", chown("/tmp/shared/d", -1, 0));
        T("rmdir own directory", rmdir("/tmp/shared/d"));
        T("mount a tmpfs", mount("none", "/tmp/shared", "tmpfs", 0, NULL));
        T("umount /proc", umount2("/proc", 0));
        T("umount a missing path", umount2("/nonexistent", 0));
        T("reboot (power off)", reboot(RB_POWER_OFF));
        T("reboot with bad magic", syscall(SYS_reboot, 0, 0, 0, 0));
        T("access secret R_OK", access("/tmp/p/secret", R_OK));
        T("access public R_OK", access("/tmp/p/public", R_OK));
        T("access public W_OK", access("/tmp/p/public", W_OK));
        char *argv[] = { "script", NULL };
        T("execve a file without x bits", execve("/tmp/p/script", argv, NULL));
        T("truncate someone else's file", truncate("/tmp/p/public", 0));
        T("setuid(0) back to root", setuid(0));
        T("setresuid(1000, 1000, 1000)", setresuid(1000, 1000, 1000));
        T("mknod a device", mknod("/tmp/shared/dev", S_IFCHR | 0600, 0x0103));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    T("root opens secret", open("/tmp/p/secret", O_RDONLY));
    show_setre_rules();
    T("root executes no-x file", execve("/tmp/p/script", (char *[]){ "s", NULL }, NULL));
    return probe_end();
}
