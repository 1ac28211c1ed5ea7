/* File handles checked against Linux: name_to_handle_at (EOVERFLOW with the needed size
 * written back, EINVAL for a size over MAX_HANDLE_SZ or bad flags, EFAULT, EOPNOTSUPP on
 * proc, AT_EMPTY_PATH, the mount id) and open_by_handle_at (EPERM unprivileged, EINVAL,
 * EBADF, ESTALE for a changed generation, another filesystem or a deleted file, the handle
 * type ext2 checks and tmpfs ignores, directories, O_PATH, a lease on the file) on a tmpfs
 * and on ext2, then on the in-memory root and devtmpfs: the handle sizes and types, and
 * whether the inode number sits where Linux puts it, not the random generation. Then
 * acct(2): EPERM unprivileged, the path errors, the records (struct acct_v3) written at
 * each exit while accounting is on and by acct(NULL), and an unmount ending accounting.
 * Build: musl-gcc -static -O2 -o handles handles.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

struct handle {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char f_handle[128];
};

static const char *err(long r) {
    if (r != -1) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    case ESTALE: return "ESTALE";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EISDIR: return "EISDIR";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOTDIR: return "ENOTDIR";
    default: return "other";
    }
}

static long to_handle(int dirfd, const char *path, struct handle *h, int *mount_id, int flags) {
    return syscall(SYS_name_to_handle_at, dirfd, path, h, mount_id, flags);
}

static long by_handle(int mount_fd, struct handle *h, int flags) {
    return syscall(SYS_open_by_handle_at, mount_fd, h, flags);
}

static uint32_t word(const struct handle *h, int i) {
    uint32_t w;
    memcpy(&w, h->f_handle + 4 * i, 4);
    return w;
}

/* The mount id /proc/self/mountinfo gives the mount at `point` (the last listed). */
static int mountinfo_id(const char *point) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[512], mp[256];
    int id, found = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%d %*d %*s %*s %255s", &id, mp) == 2 && !strcmp(mp, point)) found = id;
    }
    if (f) fclose(f);
    return found;
}

static void check_fs(const char *dir, int ext2) {
    char file[256], sub[256];
    snprintf(file, sizeof file, "%s/hfile", dir);
    snprintf(sub, sizeof sub, "%s/hdir", dir);
    printf("== %s\n", ext2 ? "ext2" : "tmpfs");
    unlink(file);
    rmdir(sub);
    int w = open(file, O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(w, "handle", 6);
    close(w);
    mkdir(sub, 0755);
    struct stat st;
    stat(file, &st);

    struct handle h;
    int mid = -1;
    h.handle_bytes = 0;
    const char *r = err(to_handle(AT_FDCWD, file, &h, &mid, 0));
    printf("size 0: %s needed %u type %d mount id matches %d\n", r, h.handle_bytes, h.handle_type,
           mid == mountinfo_id(dir));
    h.handle_bytes = 4;
    r = err(to_handle(AT_FDCWD, file, &h, &mid, 0));
    printf("size 4: %s needed %u type %d\n", r, h.handle_bytes, h.handle_type);
    h.handle_bytes = 6;
    r = err(to_handle(AT_FDCWD, file, &h, &mid, 0));
    printf("size 6: %s needed %u\n", r, h.handle_bytes);
    h.handle_bytes = 129;
    printf("size 129: %s\n", err(to_handle(AT_FDCWD, file, &h, &mid, 0)));
    h.handle_bytes = 128;
    printf("bad flags: %s\n", err(to_handle(AT_FDCWD, file, &h, &mid, 1)));
    printf("bad handle pointer: %s\n", err(to_handle(AT_FDCWD, file, (void *)8, &mid, 0)));
    printf("missing file: %s\n", err(to_handle(AT_FDCWD, "/tmp/no/such", &h, &mid, 0)));
    h.handle_bytes = 128;
    mid = -1;
    r = err(to_handle(AT_FDCWD, file, &h, &mid, 0));
    printf("size 128: %s", r);
    uint64_t ino = ext2 ? word(&h, 0) : word(&h, 1) | (uint64_t)word(&h, 2) << 32;
    printf(" bytes %u type %d inode number in place %d mount id matches %d\n", h.handle_bytes,
           h.handle_type, ino == st.st_ino, mid == mountinfo_id(dir));
    struct handle again = {.handle_bytes = 128};
    int fd = open(file, O_RDONLY);
    r = err(to_handle(fd, "", &again, &mid, AT_EMPTY_PATH));
    printf("AT_EMPTY_PATH: %s same handle %d\n", r, again.handle_bytes == h.handle_bytes &&
                                    !memcmp(again.f_handle, h.f_handle, h.handle_bytes));
    close(fd);
    struct handle dh = {.handle_bytes = 128};
    r = err(to_handle(AT_FDCWD, sub, &dh, &mid, 0));
    printf("directory: %s bytes %u type %d\n", r, dh.handle_bytes, dh.handle_type);

    int mfd = open(dir, O_RDONLY | O_DIRECTORY);
    fd = by_handle(mfd, &h, O_RDONLY);
    char buf[16] = "";
    struct stat fst;
    fstat(fd, &fst);
    int got = (int)read(fd, buf, sizeof buf);
    printf("open_by_handle_at O_RDONLY: %s reads \"%.*s\" same inode %d\n", err(fd), got, buf,
           fst.st_ino == st.st_ino);
    close(fd);
    fd = by_handle(mfd, &h, O_WRONLY | O_APPEND);
    long wrote = write(fd, "!", 1);
    printf("O_WRONLY|O_APPEND: %s writes %ld\n", err(fd), wrote);
    close(fd);
    fd = by_handle(mfd, &h, O_PATH);
    printf("O_PATH: %s\n", err(fd));
    close(fd);
    fd = by_handle(mfd, &dh, O_RDONLY | O_DIRECTORY);
    printf("directory O_RDONLY|O_DIRECTORY: %s\n", err(fd));
    close(fd);
    printf("directory O_RDWR: %s\n", err(by_handle(mfd, &dh, O_RDWR)));
    printf("file O_DIRECTORY: %s\n", err(by_handle(mfd, &h, O_RDONLY | O_DIRECTORY)));
    printf("bad mount fd: %s\n", err(by_handle(99, &h, O_RDONLY)));
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    printf("mount fd on proc: %s\n", err(by_handle(proc, &h, O_RDONLY)));
    close(proc);
    chdir(dir);
    fd = by_handle(AT_FDCWD, &h, O_RDONLY);
    printf("AT_FDCWD in the filesystem: %s\n", err(fd));
    close(fd);
    chdir("/");
    struct handle bad = h;
    bad.handle_bytes = 0;
    printf("handle_bytes 0: %s\n", err(by_handle(mfd, &bad, O_RDONLY)));
    bad.handle_bytes = 129;
    printf("handle_bytes 129: %s\n", err(by_handle(mfd, &bad, O_RDONLY)));
    printf("bad handle pointer: %s\n", err(by_handle(mfd, (void *)8, O_RDONLY)));
    bad = h;
    bad.handle_type = 99;
    fd = by_handle(mfd, &bad, O_RDONLY);
    printf("handle_type 99: %s\n", err(fd));
    if (fd >= 0) close(fd);
    bad = h;
    bad.handle_bytes = 4;
    printf("handle cut to 4 bytes: %s\n", err(by_handle(mfd, &bad, O_RDONLY)));
    bad = h;
    bad.f_handle[ext2 ? 4 : 0] ^= 0x5a;
    printf("generation changed: %s\n", err(by_handle(mfd, &bad, O_RDONLY)));

    pid_t child = fork();
    if (child == 0) {
        setuid(65534);
        struct handle mine = {.handle_bytes = 128};
        printf("as nobody: name_to_handle_at %s", err(to_handle(AT_FDCWD, file, &mine, &mid, 0)));
        printf(", open_by_handle_at %s\n", err(by_handle(mfd, &h, O_RDONLY)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);

    /* A lease on this filesystem's file, broken by a non-blocking writer. */
    signal(SIGIO, SIG_IGN);
    int leased = open(file, O_RDONLY);
    printf("F_SETLEASE F_WRLCK: %s\n", err(fcntl(leased, F_SETLEASE, F_WRLCK)));
    child = fork();
    if (child == 0) _exit(open(file, O_WRONLY | O_NONBLOCK) < 0 && errno == EWOULDBLOCK);
    int status;
    waitpid(child, &status, 0);
    printf("writer with O_NONBLOCK gets EWOULDBLOCK: %d\n", WEXITSTATUS(status));
    printf("F_GETLEASE: %d\n", fcntl(leased, F_GETLEASE));
    close(leased);

    unlink(file);
    printf("deleted file: %s\n", err(by_handle(mfd, &h, O_RDONLY)));
    rmdir(sub);
    close(mfd);
}

/* struct acct_v3 (linux/acct.h). */
struct acct_v3 {
    char ac_flag, ac_version;
    uint16_t ac_tty;
    uint32_t ac_exitcode, ac_uid, ac_gid, ac_pid, ac_ppid, ac_btime;
    float ac_etime;
    uint16_t ac_utime, ac_stime, ac_mem, ac_io, ac_rw, ac_minflt, ac_majflt, ac_swaps;
    char ac_comm[16];
};

static long acct_(const char *path) {
    return syscall(SYS_acct, path);
}

/* A child named `name` that ends by `how`: an exit code, -1 for nobody's exit(0), or -2
 * for SIGKILL. Returns its pid, reaped. */
static pid_t accounted(const char *name, int how) {
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_NAME, name);
        if (how == -1) {
            setgid(65534);
            setuid(65534);
            _exit(0);
        }
        if (how == -2) raise(SIGKILL);
        _exit(how);
    }
    waitpid(pid, NULL, 0);
    return pid;
}

static void check_acct(void) {
    const char *log = "/tmp/acct.log";
    printf("== acct\n");
    pid_t child = fork();
    if (child == 0) {
        setuid(65534);
        printf("acct as nobody: %s\n", err(acct_(log)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("acct(NULL) while off: %s\n", err(acct_(NULL)));
    printf("acct of a missing file: %s\n", err(acct_("/tmp/no/such")));
    printf("acct of a directory: %s\n", err(acct_("/tmp")));
    printf("acct of /dev/null: %s\n", err(acct_("/dev/null")));
    printf("acct of a bad pointer: %s\n", err(acct_((void *)8)));
    close(open(log, O_CREAT | O_TRUNC | O_WRONLY, 0600));
    printf("acct on: %s\n", err(acct_(log)));
    pid_t pids[3];
    pids[0] = accounted("acct-exit3", 3);
    pids[1] = accounted("acct-nobody", -1);
    pids[2] = accounted("acct-killed", -2);
    printf("acct off: %s\n", err(acct_(NULL)));
    accounted("acct-after", 0);
    struct stat st;
    stat(log, &st);
    printf("file size %lld: %lld records, remainder %lld\n", (long long)st.st_size,
           (long long)st.st_size / 64, (long long)st.st_size % 64);
    int fd = open(log, O_RDONLY);
    struct acct_v3 r;
    for (int i = 0; i < 4 && read(fd, &r, sizeof r) == sizeof r; i++) {
        /* The last record is the caller's own, written when accounting stops. */
        pid_t pid = i < 3 ? pids[i] : getpid(), ppid = i < 3 ? getpid() : getppid();
        printf("record: version %d comm %.16s exitcode %u uid %u gid %u AFORK %d AXSIG %d pid %d "
               "ppid %d\n",
               r.ac_version, r.ac_comm, r.ac_exitcode, r.ac_uid, r.ac_gid, r.ac_flag & 1,
               !!(r.ac_flag & 0x10),
               r.ac_pid == (uint32_t)pid, r.ac_ppid == (uint32_t)ppid);
    }
    close(fd);
    unlink(log);

    /* Unmounting the accounting file's filesystem stops accounting. */
    mkdir("/tmp/acctfs", 0755);
    mount("tmpfs", "/tmp/acctfs", "tmpfs", 0, "");
    close(open("/tmp/acctfs/log", O_CREAT | O_WRONLY, 0600));
    printf("acct on a tmpfs: %s\n", err(acct_("/tmp/acctfs/log")));
    accounted("acct-tmpfs", 0);
    printf("umount it: %s\n", err(umount("/tmp/acctfs")));
    printf("acct(NULL) after: %s\n", err(acct_(NULL)));
    rmdir("/tmp/acctfs");
}

int main(int argc, char **argv) {
    (void)argc;
    mkdir("/tmp/hdl", 0755);
    printf("mount tmpfs: %s\n", err(mount("tmpfs", "/tmp/hdl", "tmpfs", 0, "")));
    check_fs("/tmp/hdl", 0);
    if (argv[1]) check_fs(argv[1], 1);

    struct handle h = {.handle_bytes = 128};
    int mid;
    /* The initramfs root and devtmpfs are tmpfs-like; sysfs and proc have no handles. */
    const char *others[] = {"/bin/handles", "/", "/dev/null", "/sys/kernel", "/proc/version"};
    for (int i = 0; i < 5; i++) {
        h.handle_bytes = 128;
        const char *r = err(to_handle(AT_FDCWD, others[i], &h, &mid, 0));
        printf("%s: %s bytes %u type %d\n", others[i], r, h.handle_bytes, h.handle_type);
    }
    h.handle_bytes = 128;
    to_handle(AT_FDCWD, "/dev/null", &h, &mid, 0);
    int devfd = open("/dev", O_RDONLY | O_DIRECTORY), rootfd = open("/", O_RDONLY | O_DIRECTORY);
    int fd = by_handle(devfd, &h, O_WRONLY);
    printf("/dev/null by handle: %s writes %ld\n", err(fd), fd < 0 ? -1L : (long)write(fd, "x", 1));
    close(fd);
    printf("/dev/null's handle on /: %s\n", err(by_handle(rootfd, &h, O_WRONLY)));
    close(devfd);
    close(rootfd);
    /* A tmpfs handle on the ext2 filesystem, and the other way round. */
    struct handle t = {.handle_bytes = 128}, e = {.handle_bytes = 128};
    int w = open("/tmp/hdl/cross", O_CREAT | O_RDWR, 0644);
    close(w);
    to_handle(AT_FDCWD, "/tmp/hdl/cross", &t, &mid, 0);
    if (argv[1]) {
        char p[256];
        snprintf(p, sizeof p, "%s/cross", argv[1]);
        close(open(p, O_CREAT | O_RDWR, 0644));
        to_handle(AT_FDCWD, p, &e, &mid, 0);
        int tm = open("/tmp/hdl", O_RDONLY | O_DIRECTORY), em = open(argv[1], O_RDONLY | O_DIRECTORY);
        printf("tmpfs handle on ext2: %s\n", err(by_handle(em, &t, O_RDONLY)));
        printf("ext2 handle on tmpfs: %s\n", err(by_handle(tm, &e, O_RDONLY)));
        close(tm);
        close(em);
        unlink(p);
    }
    unlink("/tmp/hdl/cross");
    printf("umount: %s\n", err(umount("/tmp/hdl")));
    check_acct();
    return probe_end();
}
