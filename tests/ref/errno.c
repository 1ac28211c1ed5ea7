/* Passes bad pointers, huge lengths, negative fds and invalid flags to syscalls and prints
 * the errno name each one returns. Run under Linux and under cocoon: the outputs must match.
 * Raw syscall(2) throughout, so libc wrappers cannot hide the kernel's answer.
 * Build: musl-gcc -static -O2 -o errno errno.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "probe.h"

static const char *name(int e) {
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case ESRCH: return "ESRCH";
    case EINTR: return "EINTR"; case EIO: return "EIO"; case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG"; case ENOEXEC: return "ENOEXEC"; case EBADF: return "EBADF";
    case ECHILD: return "ECHILD"; case EAGAIN: return "EAGAIN"; case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST"; case EXDEV: return "EXDEV"; case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR"; case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE"; case ENOTTY: return "ENOTTY"; case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC"; case ESPIPE: return "ESPIPE"; case EROFS: return "EROFS";
    case EPIPE: return "EPIPE"; case ERANGE: return "ERANGE"; case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS"; case ENOTEMPTY: return "ENOTEMPTY"; case ELOOP: return "ELOOP";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: { static char buf[32]; snprintf(buf, sizeof buf, "errno %d", e); return buf; }
    }
}

#define T(label, ...) do { errno = 0; long r_ = syscall(__VA_ARGS__); \
    printf("%-44s %s\n", label, r_ < 0 ? name(errno) : "ok"); } while (0)

#define BAD ((void *)8)

int main(void) {
    static char buf[8192];
    static char longpath[6000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    int zero = open("/dev/zero", O_RDONLY);
    int root = open("/", O_RDONLY | O_DIRECTORY);
    int pfd[2];
    pipe(pfd);
    mkdir("/tmp/e", 0755);
    mkdir("/tmp/e/full", 0755);
    close(open("/tmp/e/full/f", O_CREAT | O_WRONLY, 0644));
    close(open("/tmp/e/plain", O_CREAT | O_WRONLY, 0644));
    int rdonly = open("/tmp/e/plain", O_RDONLY);

    T("read negative fd", SYS_read, -1, buf, 1);
    T("read fd never opened", SYS_read, 1000, buf, 1);
    T("read into NULL", SYS_read, zero, NULL, 1);
    T("read into kernel address", SYS_read, zero, (void *)0xffff800000000000UL, 8);
    T("read directory", SYS_read, root, buf, 1);
    T("read zero bytes", SYS_read, zero, buf, 0);
    T("write negative fd", SYS_write, -1, buf, 1);
    T("write from bad pointer", SYS_write, pfd[1], BAD, 5);
    T("write to read-only fd", SYS_write, rdonly, buf, 1);
    T("open NULL path", SYS_open, NULL, O_RDONLY);
    T("open missing file", SYS_open, "/nonexistent", O_RDONLY);
    T("open empty path", SYS_open, "", O_RDONLY);
    T("open through a file", SYS_open, "/tmp/e/plain/x", O_RDONLY);
    T("open path too long", SYS_open, longpath, O_RDONLY);
    T("open directory for writing", SYS_open, "/", O_WRONLY);
    T("open O_CREAT|O_EXCL existing", SYS_open, "/tmp/e/plain", O_CREAT | O_EXCL | O_WRONLY, 0644);
    T("open O_DIRECTORY on a file", SYS_open, "/tmp/e/plain", O_RDONLY | O_DIRECTORY);
    T("openat bad dirfd", SYS_openat, -5, "x", O_RDONLY);
    T("openat file as dirfd", SYS_openat, rdonly, "x", O_RDONLY);
    T("close negative fd", SYS_close, -1);
    T("close fd never opened", SYS_close, 9999);
    T("stat NULL path", SYS_stat, NULL, buf);
    T("stat into NULL", SYS_stat, "/", NULL);
    T("stat missing", SYS_stat, "/nonexistent", buf);
    T("fstat negative fd", SYS_fstat, -1, buf);
    T("fstat into bad pointer", SYS_fstat, zero, BAD);
    T("newfstatat bad flags", SYS_newfstatat, AT_FDCWD, "/", buf, 0x12345);
    T("lseek negative fd", SYS_lseek, -1, 0, SEEK_SET);
    T("lseek on a pipe", SYS_lseek, pfd[0], 0, SEEK_SET);
    T("lseek bad whence", SYS_lseek, rdonly, 0, 99);
    T("lseek before start", SYS_lseek, rdonly, -1L, SEEK_SET);
    T("mmap zero length", SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    T("mmap no sharing type", SYS_mmap, 0, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0);
    T("mmap bad fd", SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, -1, 0);
    T("mmap unaligned offset", SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, rdonly, 5);
    T("mmap fixed unaligned", SYS_mmap, 0x100001, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    T("mmap directory", SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, root, 0);
    T("munmap unaligned", SYS_munmap, 1, 4096);
    T("munmap zero length", SYS_munmap, 0x100000, 0);
    T("mprotect unaligned", SYS_mprotect, 1, 4096, PROT_READ);
    T("mprotect bad prot", SYS_mprotect, 0x100000, 4096, 0x100);
    T("rt_sigaction signal 0", SYS_rt_sigaction, 0, NULL, NULL, 8);
    T("rt_sigaction SIGKILL", SYS_rt_sigaction, SIGKILL, buf, NULL, 8);
    T("rt_sigaction signal 65", SYS_rt_sigaction, 65, NULL, NULL, 8);
    T("rt_sigaction bad sigsetsize", SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4);
    T("rt_sigaction bad act pointer", SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8);
    T("rt_sigprocmask bad how", SYS_rt_sigprocmask, 99, buf, NULL, 8);
    T("rt_sigprocmask bad size", SYS_rt_sigprocmask, SIG_BLOCK, buf, NULL, 3);
    T("kill missing pid", SYS_kill, 99999, 0);
    T("kill bad signal", SYS_kill, getpid(), 999);
    T("dup negative fd", SYS_dup, -1);
    T("dup2 negative fd", SYS_dup2, -1, 5);
    T("dup3 same fd", SYS_dup3, 1, 1, 0);
    T("dup3 bad flags", SYS_dup3, 1, 5, 123);
    T("pipe into NULL", SYS_pipe, NULL);
    T("pipe2 bad flags", SYS_pipe2, pfd, 12345);
    T("fcntl negative fd", SYS_fcntl, -1, F_GETFD);
    T("fcntl bad command", SYS_fcntl, 1, 9999);
    T("getcwd buffer too small", SYS_getcwd, buf, 1);
    T("getcwd into NULL", SYS_getcwd, NULL, 100);
    T("chdir missing", SYS_chdir, "/nonexistent");
    T("chdir to a file", SYS_chdir, "/tmp/e/plain");
    T("mkdir existing", SYS_mkdir, "/tmp/e", 0755);
    T("mkdir under missing parent", SYS_mkdir, "/nonexistent/x", 0755);
    T("rmdir non-empty", SYS_rmdir, "/tmp/e/full");
    T("rmdir a file", SYS_rmdir, "/tmp/e/plain");
    T("unlink a directory", SYS_unlink, "/tmp/e");
    T("unlink missing", SYS_unlink, "/nonexistent");
    T("rename missing", SYS_rename, "/nonexistent", "/tmp/y");
    T("rename dir into itself", SYS_rename, "/tmp/e", "/tmp/e/full/inside");
    T("rename file over dir", SYS_rename, "/tmp/e/plain", "/tmp/e/full");
    T("link a directory", SYS_link, "/tmp/e", "/tmp/e2");
    T("symlink empty target", SYS_symlink, "", "/tmp/s");
    T("readlink not a link", SYS_readlink, "/tmp/e/plain", buf, 100);
    T("readlink zero size", SYS_readlink, "/tmp/e/plain", buf, 0);
    T("wait4 without children", SYS_wait4, -1, NULL, 0, NULL);
    T("wait4 bad options", SYS_wait4, -1, NULL, 0x12345, NULL);
    T("nanosleep NULL", SYS_nanosleep, NULL, NULL);
    { struct timespec ts = { 0, 2000000000 }; T("nanosleep bad nsec", SYS_nanosleep, &ts, NULL); }
    T("clock_gettime bad clock", SYS_clock_gettime, 999, buf);
    T("clock_gettime into NULL", SYS_clock_gettime, CLOCK_MONOTONIC, NULL);
    T("getrandom bad flags", SYS_getrandom, buf, 16, 0xff);
    T("getrandom into NULL", SYS_getrandom, NULL, 16, 0);
    T("uname into NULL", SYS_uname, NULL);
    T("execve missing", SYS_execve, "/nonexistent", NULL, NULL);
    T("execve directory", SYS_execve, "/tmp", NULL, NULL);
    T("execve non-executable", SYS_execve, "/tmp/e/plain", NULL, NULL);
    T("execve NULL path", SYS_execve, NULL, NULL, NULL);
    T("ioctl unknown request", SYS_ioctl, zero, 0x12345678, 0);
    T("getdents64 negative fd", SYS_getdents64, -1, buf, sizeof buf);
    T("getdents64 on a file", SYS_getdents64, rdonly, buf, sizeof buf);
    T("getdents64 tiny buffer", SYS_getdents64, root, buf, 1);
    T("truncate negative length", SYS_truncate, "/tmp/e/plain", -1L);
    T("ftruncate read-only fd", SYS_ftruncate, rdonly, 0);
    T("prlimit64 bad resource", SYS_prlimit64, 0, 999, NULL, buf);
    T("sched_getaffinity tiny mask", SYS_sched_getaffinity, 0, 1, buf);
    T("arch_prctl bad code", SYS_arch_prctl, 0x9999, 0);
    T("utimensat missing", SYS_utimensat, AT_FDCWD, "/nonexistent", NULL, 0);
    T("faccessat bad mode", SYS_faccessat, AT_FDCWD, "/tmp/e/plain", 8);
    T("select negative nfds", SYS_select, -1, NULL, NULL, NULL, NULL);
    T("poll NULL with nfds 1", SYS_poll, NULL, 1, 0);
    T("syscall 999", 999);
    T("sethostname 65 bytes", SYS_sethostname, "0123456789012345678901234567890123456789012345678901234567890123x", 65);
    T("sethostname negative length", SYS_sethostname, "x", -1);
    T("sethostname from NULL", SYS_sethostname, NULL, 4);
    T("sethostname 64 bytes", SYS_sethostname, "0123456789012345678901234567890123456789012345678901234567890123", 64);
    T("setdomainname cocoon.test", SYS_setdomainname, "cocoon.test!", 11);
    struct utsname_raw { char f[6][65]; } u;
    syscall(SYS_uname, &u);
    printf("uname nodename %s domainname %s\n", u.f[1], u.f[5]);
    T("sethostname probe", SYS_sethostname, "probe", 5);
    syscall(SYS_uname, &u);
    printf("uname nodename %s\n", u.f[1]);
    if (fork() == 0) {
        setuid(65534);
        T("sethostname as nobody", SYS_sethostname, "x", 1);
        _exit(0);
    }
    wait(NULL);
    return probe_end();
}
