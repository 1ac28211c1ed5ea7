/* /proc/sys checked against Linux: the files' types and modes, their values where they do
 * not depend on the machine, and writes as Linux's handlers take them (decimal, hex and
 * octal, white space, trailing garbage, ranges, a second value, a write at a later offset),
 * with the limits they set enforced: fs.pipe-max-size (F_SETPIPE_SZ, unprivileged),
 * fs.nr_open (RLIMIT_NOFILE), kernel.pid_max (new PIDs), vm.max_map_count (area splits),
 * vm.overcommit_memory (a mapping larger than memory), kernel.hostname/domainname (uname),
 * net.core.somaxconn; an unprivileged writer. Run as root. Deterministic output only.
 * Build: musl-gcc -static -O2 -o sysctl sysctl.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
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
    case EISDIR: return "EISDIR";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EAGAIN: return "EAGAIN";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    default: return "other";
    }
}

/* The file's first line, without its newline ("<errno>" if it cannot be read). */
static const char *get(const char *name) {
    static char buf[256];
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(buf, sizeof buf, "<%s>", err(-1));
        return buf;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        snprintf(buf, sizeof buf, "<%s>", err(-1));
        return buf;
    }
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    return buf;
}

static void show(const char *name) {
    const char *value = get(name);
    printf("%s = %s\n", name, value);
}

/* Writes `text` (of `len` bytes) at offset 0 in one write; prints the result and the value. */
static void put_n(const char *name, const char *text, size_t len) {
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        printf("write %s: open %s\n", name, err(-1));
        return;
    }
    ssize_t n = write(fd, text, len);
    const char *e = err(n);
    close(fd);
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(len > 40 ? 40 : len), text);
    for (char *c = shown; *c; c++)
        if (*c == '\n') *c = '|';
    if (n >= 0)
        printf("write %s '%s': %zd of %zu -> %s\n", name, shown, n, len, get(name));
    else
        printf("write %s '%s': %s -> %s\n", name, shown, e, get(name));
}

static void put(const char *name, const char *text) {
    put_n(name, text, strlen(text));
}

static void kind(const char *path) {
    struct stat st;
    int r = stat(path, &st);
    if (r != 0) {
        printf("stat %s: %s\n", path, err(-1));
        return;
    }
    printf("stat %s: %s %o uid %u\n", path, S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other",
           st.st_mode & 07777, st.st_uid);
}

int main(void) {
    /* The tree. */
    const char *paths[] = {"/proc/sys", "/proc/sys/kernel", "/proc/sys/kernel/random", "/proc/sys/fs",
                           "/proc/sys/vm", "/proc/sys/net/core", "/proc/sys/fs/nr_open",
                           "/proc/sys/kernel/ostype", "/proc/sys/kernel/random/boot_id",
                           "/proc/sys/kernel/hostname", "/proc/sys/vm/max_map_count", "/proc/sys/nope",
                           "/proc/sys/kernel/nope", "/proc/sys/fs/nr_open/x"};
    for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) kind(paths[i]);

    /* Values that do not depend on the machine. */
    const char *fixed[] = {"fs/nr_open", "fs/pipe-max-size", "kernel/cap_last_cap", "kernel/ngroups_max",
                           "kernel/ostype", "kernel/pid_max", "kernel/hostname", "kernel/domainname",
                           "kernel/random/entropy_avail", "kernel/random/poolsize", "kernel/tainted",
                           "net/core/somaxconn", "vm/max_map_count", "vm/overcommit_memory",
                           "kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/sem",
                           "kernel/shmall", "kernel/shmmax", "kernel/shmmni"};
    for (unsigned i = 0; i < sizeof fixed / sizeof *fixed; i++) show(fixed[i]);
    /* Values that do: their shape. */
    char boot[64], again[64], u1[64], u2[64];
    snprintf(boot, sizeof boot, "%s", get("kernel/random/boot_id"));
    snprintf(again, sizeof again, "%s", get("kernel/random/boot_id"));
    snprintf(u1, sizeof u1, "%s", get("kernel/random/uuid"));
    snprintf(u2, sizeof u2, "%s", get("kernel/random/uuid"));
    printf("boot_id: %zu chars, dash at 8 13 18 23: %d, version %c, stable %d\n", strlen(boot),
           boot[8] == '-' && boot[13] == '-' && boot[18] == '-' && boot[23] == '-', boot[14],
           strcmp(boot, again) == 0);
    printf("uuid: %zu chars, version %c, variant in 89ab: %d, fresh on each read %d\n", strlen(u1), u1[14],
           strchr("89ab", u1[19]) != NULL, strcmp(u1, u2) != 0);
    struct utsname un;
    uname(&un);
    printf("osrelease is uname's release: %d\n", strcmp(get("kernel/osrelease"), un.release) == 0);
    printf("version is uname's version: %d\n", strcmp(get("kernel/version"), un.version) == 0);
    printf("threads-max >= 20: %d\n", atoi(get("kernel/threads-max")) >= 20);

    /* How writes are read. */
    put("vm/max_map_count", "70000\n");
    put("vm/max_map_count", "0x10000");
    put("vm/max_map_count", "010");
    put("vm/max_map_count", "  4242  \n");
    put("vm/max_map_count", "12abc");
    put("vm/max_map_count", "\n");
    put("vm/max_map_count", "");
    put("vm/max_map_count", "-1");
    put("vm/max_map_count", "2147483648");
    put("vm/max_map_count", "99999999999999999999999");
    put("vm/max_map_count", "300 400\n");
    put("vm/max_map_count", "+5");
    put("vm/max_map_count", "0x");
    put("vm/max_map_count", "65530\n");
    {
        /* A second write on the same open file, at offset 3: ignored. */
        int fd = open("/proc/sys/vm/max_map_count", O_WRONLY);
        ssize_t a = write(fd, "777", 3);
        ssize_t b = write(fd, "888", 3);
        off_t at = lseek(fd, 0, SEEK_CUR);
        close(fd);
        printf("two writes: %zd %zd at %ld -> %s\n", a, b, (long)at, get("vm/max_map_count"));
        int rfd = open("/proc/sys/vm/max_map_count", O_RDWR);
        ssize_t c = pwrite(rfd, "999", 3, 1);
        ssize_t d = pwrite(rfd, "65530", 5, 0);
        close(rfd);
        printf("pwrite at 1: %zd, at 0: %zd -> %s\n", c, d, get("vm/max_map_count"));
    }
    put("fs/nr_open", "63");
    put("fs/nr_open", "64");
    put("fs/nr_open", "2147483584");
    put("fs/nr_open", "2147483585");
    put("fs/nr_open", "4096");
    {
        struct rlimit rl = {5000, 5000};
        int r = setrlimit(RLIMIT_NOFILE, &rl);
        printf("setrlimit NOFILE 5000 over nr_open 4096 as root: %s\n", err(r));
        rl.rlim_cur = rl.rlim_max = 4096;
        r = setrlimit(RLIMIT_NOFILE, &rl);
        printf("setrlimit NOFILE 4096: %s\n", err(r));
        rl.rlim_cur = 1024;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    put("fs/nr_open", "1048576");
    put("fs/pipe-max-size", "5000");
    put("fs/pipe-max-size", "0");
    put("fs/pipe-max-size", "-1");
    put("fs/pipe-max-size", "2147483648");
    put("fs/pipe-max-size", "2147483649");
    put("fs/pipe-max-size", "65536");
    {
        int p[2];
        pipe(p);
        pid_t pid = fork();
        if (pid == 0) {
            setuid(65534);
            int r = fcntl(p[0], F_SETPIPE_SZ, 131072);
            printf("unprivileged F_SETPIPE_SZ 128 KiB over 64 KiB: %s\n", err(r));
            r = fcntl(p[0], F_SETPIPE_SZ, 40000);
            printf("unprivileged F_SETPIPE_SZ 40000: %s %d\n", err(r), r);
            fflush(stdout);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        int r = fcntl(p[0], F_SETPIPE_SZ, 131072);
        printf("root F_SETPIPE_SZ 128 KiB: %s %d\n", err(r), r);
        close(p[0]);
        close(p[1]);
    }
    put("fs/pipe-max-size", "1048576");
    put("kernel/pid_max", "300");
    put("kernel/pid_max", "301");
    put("kernel/pid_max", "4194304");
    put("kernel/pid_max", "4194305");
    put("kernel/pid_max", "1000");
    {
        int below = 1;
        for (int i = 0; i < 20; i++) {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            if (pid < 0 || pid >= 1000) below = 0;
            waitpid(pid, NULL, 0);
        }
        printf("20 children below pid_max 1000: %d\n", below);
    }
    put("kernel/pid_max", "32768");
    {
        /* Not lowered: under Linux, its own kernel threads count too. */
        char threads[32];
        snprintf(threads, sizeof threads, "%s", get("kernel/threads-max"));
        const char *tries[] = {"0", "1073741824", "-5", "1073741823", threads};
        for (int i = 0; i < 5; i++) {
            int fd = open("/proc/sys/kernel/threads-max", O_WRONLY);
            ssize_t n = write(fd, tries[i], strlen(tries[i]));
            const char *e = err(n);
            close(fd);
            printf("write kernel/threads-max %s: %s, now %s\n", i == 4 ? "(as it was)" : tries[i], e,
                   strcmp(get("kernel/threads-max"), threads) == 0 ? "as it was" : get("kernel/threads-max"));
        }
    }
    put("kernel/tainted", "0");
    put("kernel/tainted", "x");
    put("net/core/somaxconn", "-1");
    put("net/core/somaxconn", "2147483647");
    put("net/core/somaxconn", "128");
    put("net/core/somaxconn", "4096");
    put("vm/overcommit_memory", "3");
    put("vm/overcommit_memory", "-1");
    put("vm/overcommit_memory", "1");
    {
        size_t huge = (size_t)64 << 30;
        void *m = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("64 GiB private writable mapping, overcommit 1: %s\n", err(m == MAP_FAILED ? -1 : 0));
        if (m != MAP_FAILED) munmap(m, huge);
        put("vm/overcommit_memory", "0");
        m = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("64 GiB private writable mapping, overcommit 0: %s\n", err(m == MAP_FAILED ? -1 : 0));
        if (m != MAP_FAILED) munmap(m, huge);
    }
    {
        /* max_map_count below what the process has: no new area, no split. */
        char *region = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        put("vm/max_map_count", "1");
        void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("mmap over max_map_count: %s\n", err(m == MAP_FAILED ? -1 : 0));
        int r = mprotect(region + 4096, 4096, PROT_READ);
        printf("mprotect split over max_map_count: %s\n", err(r));
        put("vm/max_map_count", "65530");
        r = mprotect(region + 4096, 4096, PROT_READ);
        printf("and under it again: %s\n", err(r));
        munmap(region, 4 * 4096);
    }
    /* The System V IPC limits, and that they hold. */
    put("kernel/msgmax", "-1");
    put("kernel/msgmax", "100");
    {
        int q = msgget(IPC_PRIVATE, 0600);
        struct { long type; char text[200]; } m = {1, {0}};
        int r = msgsnd(q, &m, 101, IPC_NOWAIT);
        printf("msgsnd of 101 bytes over msgmax 100: %s\n", err(r));
        r = msgsnd(q, &m, 100, IPC_NOWAIT);
        printf("msgsnd of 100 bytes: %s\n", err(r));
        msgctl(q, IPC_RMID, NULL);
    }
    put("kernel/msgmax", "8192");
    put("kernel/msgmni", "32769");
    put("kernel/msgmni", "0");
    {
        int q = msgget(IPC_PRIVATE, 0600);
        printf("msgget with msgmni 0: %s\n", err(q));
    }
    put("kernel/msgmni", "32000");
    put("kernel/sem", "250 256000 32 128\n");
    put("kernel/sem", "100");
    put("kernel/sem", "1 2 3 40000");
    {
        int s = semget(IPC_PRIVATE, 2, 0600);
        printf("semget of 2 with semmsl 1: %s\n", err(s));
    }
    put("kernel/sem", "32000 1024000000 500 32000");
    put("kernel/shmmax", "18446744073709551615");
    put("kernel/shmmax", "-1");
    put("kernel/shmmax", "8192");
    {
        int s = shmget(IPC_PRIVATE, 8193, 0600);
        printf("shmget of 8193 bytes over shmmax 8192: %s\n", err(s));
    }
    put("kernel/shmmax", "18446744073692774399");
    put("kernel/shmmni", "32768");
    put("kernel/shmmni", "32769");
    put("kernel/shmmni", "4096");
    put("kernel/hostname", "cvm\n");
    uname(&un);
    printf("uname nodename: %s\n", un.nodename);
    put("kernel/hostname", "a-name-longer-than-sixty-four-bytes-is-cut-at-sixty-four-bytes-by-linux");
    put("kernel/hostname", "two\nlines");
    put("kernel/hostname", "");
    put("kernel/domainname", "example.org");
    uname(&un);
    printf("uname domainname: %s\n", un.domainname);
    put("kernel/domainname", "(none)");
    put("kernel/hostname", "(none)");

    /* Read-only files, directories, a stranger. */
    put("kernel/ostype", "BSD");
    put("kernel/random/boot_id", "x");
    {
        int fd = open("/proc/sys/kernel", O_WRONLY);
        printf("open a directory for writing: %s\n", err(fd));
        int r = unlink("/proc/sys/kernel/hostname");
        printf("unlink a sysctl: %s\n", err(r));
        r = chmod("/proc/sys/kernel/hostname", 0666);
        printf("chmod a sysctl: %s\n", err(r));
    }
    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
        printf("unprivileged open for writing: %s\n", err(fd));
        fd = open("/proc/sys/kernel/hostname", O_RDONLY);
        printf("unprivileged open for reading: %s\n", err(fd));
        printf("unprivileged read: %s\n", get("kernel/pid_max"));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return probe_end();
}
