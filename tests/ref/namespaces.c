/* Namespaces checked against Linux: /proc/PID/ns (links, their inode numbers, stat and
 * fstat of them), the nsfs ioctls (NS_GET_NSTYPE, NS_GET_USERNS, NS_GET_PARENT,
 * NS_GET_OWNER_UID), unshare(2) and setns(2) with their errors, and what the UTS, IPC and
 * mount namespaces divide: the host name (uname, /proc/sys/kernel/hostname), System V
 * message queues, semaphores and shared memory and POSIX message queues (keys, IDs,
 * /proc/sysvipc), and mounts (a tmpfs mounted or unmounted in a child's namespace, seen or
 * not by its parent; setns back moves the working directory to the root), and the network
 * (a new one's lo is down without an address; its own ports and abstract Unix names). Namespaces made
 * with clone(2) too. Only namespaces this kernel builds are asked for.
 * Build: musl-gcc -static -O2 -o namespaces namespaces.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#define NS_GET_USERNS 0xb701
#define NS_GET_PARENT 0xb702
#define NS_GET_NSTYPE 0xb703
#define NS_GET_OWNER_UID 0xb704

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    case ENOENT: return "ENOENT";
    case ENOTTY: return "ENOTTY";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENOSYS: return "ENOSYS";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EADDRINUSE: return "EADDRINUSE";
    default: return "other";
    }
}

/* The inode number in a /proc/.../ns link's text, or 0. */
static unsigned long long link_ino(const char *path, char *kind, size_t kind_len) {
    char buf[128];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) return 0;
    buf[n] = 0;
    char *open = strchr(buf, '[');
    if (!open || buf[n - 1] != ']' || open[-1] != ':') return 0;
    if (kind) {
        size_t len = (size_t)(open - 1 - buf);
        if (len >= kind_len) len = kind_len - 1;
        memcpy(kind, buf, len);
        kind[len] = 0;
    }
    return strtoull(open + 1, NULL, 10);
}

static unsigned long long self_ns(const char *name) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
    return link_ino(path, NULL, 0);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void links(void) {
    DIR *d = opendir("/proc/self/ns");
    if (!d) {
        printf("opendir ns: %s\n", err(-1));
        return;
    }
    char *names[32];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 32)
        if (e->d_name[0] != '.') names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, count, sizeof names[0], cmp_str);
    for (int i = 0; i < count; i++) {
        char path[64], kind[32];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        unsigned long long ino = link_ino(path, kind, sizeof kind);
        struct stat st, lst;
        int s = stat(path, &st), l = lstat(path, &lst);
        int fixed = strcmp(kind, "mnt") != 0 && strcmp(kind, "net") != 0;
        printf("ns/%s -> %s:[%llu] stat=%s ino_matches=%d mode=%o link=%s %s\n", names[i], kind,
               fixed ? ino : 0ULL, err(s), s == 0 && st.st_ino == ino,
               s == 0 ? st.st_mode : 0, err(l), l == 0 && S_ISLNK(lst.st_mode) ? "symlink" : "-");
        free(names[i]);
    }
    struct stat st;
    printf("ns dir mode %o\n", stat("/proc/self/ns", &st) == 0 ? st.st_mode : 0);
    printf("mnt and net numbered apart: %d\n", self_ns("mnt") != self_ns("net"));
}

static void ioctls(void) {
    const char *names[] = {"uts", "ipc", "mnt", "pid", "user", "net", "cgroup", "time"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            printf("open %s: %s\n", names[i], err(-1));
            continue;
        }
        struct stat st;
        int f = fstat(fd, &st);
        printf("%s: fstat %s mode %o ino_matches %d\n", names[i], err(f), st.st_mode,
               st.st_ino == self_ns(names[i]));
        long type = ioctl(fd, NS_GET_NSTYPE);
        printf("%s: NS_GET_NSTYPE %#lx\n", names[i], type);
        long parent = ioctl(fd, NS_GET_PARENT);
        printf("%s: NS_GET_PARENT %s\n", names[i], err(parent));
        unsigned uid = 77;
        long owner = ioctl(fd, NS_GET_OWNER_UID, &uid);
        printf("%s: NS_GET_OWNER_UID %s uid %u\n", names[i], err(owner), uid);
        long user = ioctl(fd, NS_GET_USERNS);
        if (user >= 0) {
            struct stat ust;
            fstat((int)user, &ust);
            printf("%s: NS_GET_USERNS is my user ns %d, cloexec %d\n", names[i],
                   ust.st_ino == self_ns("user"), (fcntl((int)user, F_GETFD) & FD_CLOEXEC) != 0);
            close((int)user);
        } else {
            printf("%s: NS_GET_USERNS %s\n", names[i], err(user));
        }
        char buf[8];
        const char *read_err = err(read(fd, buf, sizeof buf));
        printf("%s: read %s, ioctl 0xb7ff %s\n", names[i], read_err, err(ioctl(fd, 0xb7ff)));
        char fdpath[64], target[64] = "";
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(fdpath, target, sizeof target - 1);
        char *colon = n > 0 ? strchr(target, ':') : NULL;
        if (colon) *colon = 0;
        printf("%s: fd link kind %s\n", names[i], n > 0 ? target : err(n));
        close(fd);
    }
}

static int run_child(void (*f)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        f();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return status;
}

static void as_nobody(void) {
    if (setuid(65534) != 0) {
        printf("setuid failed\n");
        return;
    }
    printf("nobody: unshare(NEWUTS) %s\n", err(unshare(CLONE_NEWUTS)));
    printf("nobody: unshare(NEWIPC) %s\n", err(unshare(CLONE_NEWIPC)));
    printf("nobody: unshare(NEWNS) %s\n", err(unshare(CLONE_NEWNS)));
    printf("nobody: unshare(0) %s\n", err(unshare(0)));
    int fd = open("/proc/self/ns/uts", O_RDONLY);
    printf("nobody: setns(own uts) %s\n", err(setns(fd, CLONE_NEWUTS)));
    close(fd);
    long r = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    printf("nobody: clone(NEWUTS) %s\n", err(r));
}

static void unshare_errors(void) {
    printf("unshare(0) %s\n", err(unshare(0)));
    printf("unshare(CSIGNAL bit) %s\n", err(unshare(0x1)));
    printf("unshare(CLONE_PTRACE) %s\n", err(unshare(0x2000)));
    printf("unshare(CLONE_FILES|CLONE_FS|CLONE_SYSVSEM) %s\n",
           err(unshare(CLONE_FILES | CLONE_FS | CLONE_SYSVSEM)));
    printf("setns(-1) %s\n", err(setns(-1, 0)));
    int fd = open("/proc/self/status", O_RDONLY);
    printf("setns(regular file) %s\n", err(setns(fd, 0)));
    close(fd);
    fd = open("/proc/self/ns/uts", O_RDONLY);
    printf("setns(uts fd, NEWIPC) %s\n", err(setns(fd, CLONE_NEWIPC)));
    printf("setns(uts fd, 0) %s\n", err(setns(fd, 0)));
    printf("setns(uts fd, NEWUTS) %s\n", err(setns(fd, CLONE_NEWUTS)));
    printf("setns(uts fd, -1) %s\n", err(setns(fd, -1)));
    close(fd);
    fd = open("/proc/self/ns/user", O_RDONLY);
    printf("setns(own user ns) %s\n", err(setns(fd, 0)));
    close(fd);
    fd = open("/proc/self/ns/pid", O_RDONLY);
    printf("setns(own pid ns) %s\n", err(setns(fd, 0)));
    close(fd);
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    printf("setns(pidfd, 0) %s\n", err(setns(pidfd, 0)));
    printf("setns(pidfd, 1) %s\n", err(setns(pidfd, 1)));
    printf("setns(pidfd, NEWUTS|NEWIPC) %s\n", err(setns(pidfd, CLONE_NEWUTS | CLONE_NEWIPC)));
    close(pidfd);
    run_child(as_nobody);
}

static void show_uname(const char *who) {
    struct utsname u;
    uname(&u);
    char proc[80] = "";
    int fd = open("/proc/sys/kernel/hostname", O_RDONLY);
    ssize_t n = read(fd, proc, sizeof proc - 1);
    close(fd);
    if (n > 0) proc[n - 1] = 0;
    printf("%s: nodename %s domainname %s /proc/sys/kernel/hostname %s\n", who, u.nodename,
           u.domainname, proc);
}

static int outer_uts_fd;

static void uts_child(void) {
    unsigned long long before = self_ns("uts");
    printf("child: unshare(NEWUTS) %s\n", err(unshare(CLONE_NEWUTS)));
    printf("child: uts link changed %d, ipc unchanged %d\n", self_ns("uts") != before,
           self_ns("ipc") != 0);
    show_uname("child (copied)");
    sethostname("inner", 5);
    setdomainname("innerdomain", 11);
    show_uname("child (renamed)");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/uts", getppid());
    printf("child: parent's uts link is the old one %d\n", link_ino(path, NULL, 0) == before);
    printf("child: setns(outer) %s\n", err(setns(outer_uts_fd, CLONE_NEWUTS)));
    printf("child: back in the outer uts %d\n", self_ns("uts") == before);
    show_uname("child (back)");
}

static void uts_clone_child(void) {
    sethostname("cloned", 6);
    show_uname("clone child");
}

static void uts(void) {
    sethostname("outer", 5);
    setdomainname("outerdomain", 11);
    outer_uts_fd = open("/proc/self/ns/uts", O_RDONLY);
    run_child(uts_child);
    show_uname("parent");
    fflush(stdout);
    char stack[16384];
    (void)stack;
    long pid = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        uts_clone_child();
        fflush(stdout);
        _exit(0);
    }
    printf("clone(NEWUTS|SIGCHLD) %s\n", err(pid));
    waitpid((pid_t)pid, NULL, 0);
    show_uname("parent after clone");
    long bad = syscall(SYS_clone, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD, 0, 0, 0, 0);
    if (bad == 0) _exit(0);
    printf("clone(NEWIPC|SYSVSEM) %s\n", err(bad));
    long thread = syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0);
    if (thread == 0) _exit(0);
    printf("clone(NEWNS|FS) %s\n", err(thread));
    close(outer_uts_fd);
}

#define KEY1 0x4e530001
#define KEY2 0x4e530002

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF) lines += c == '\n';
    fclose(f);
    return lines;
}

static int outer_ipc_fd;

static long read_long(const char *path) {
    char buf[32] = "";
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static void write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    write(fd, text, strlen(text));
    close(fd);
}

static void ipc_child(void) {
    printf("child: unshare(NEWIPC) %s\n", err(unshare(CLONE_NEWIPC)));
    long msgmax = read_long("/proc/sys/kernel/msgmax");
    printf("child: kernel.msgmax %ld (the default), shmmni %ld\n", msgmax,
           read_long("/proc/sys/kernel/shmmni"));
    write_text("/proc/sys/kernel/shmmni", "77");
    printf("child: msgget(KEY1) %s\n", err(msgget(KEY1, 0)));
    printf("child: shmget(KEY1) %s\n", err(shmget(KEY1, 0, 0)));
    printf("child: semget(KEY1) %s\n", err(semget(KEY1, 0, 0)));
    mqd_t q = mq_open("/nsq", O_RDONLY);
    printf("child: mq_open(/nsq) %s\n", err(q));
    int m = msgget(KEY2, IPC_CREAT | 0600);
    printf("child: msgget(KEY2, CREAT) %s id %d\n", err(m), m);
    int s = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    printf("child: shmget(PRIVATE) %s id %d\n", err(s), s);
    int sem = semget(KEY2, 1, IPC_CREAT | 0600);
    printf("child: semget(KEY2, CREAT) %s id %d\n", err(sem), sem);
    printf("child: /proc/sysvipc lines msg %d shm %d sem %d\n", count_lines("/proc/sysvipc/msg"),
           count_lines("/proc/sysvipc/shm"), count_lines("/proc/sysvipc/sem"));
    struct msqid_ds ds;
    printf("child: msgctl(IPC_INFO) max index %d\n", msgctl(0, IPC_INFO, &ds));
    mqd_t mine = mq_open("/nsq", O_CREAT | O_RDWR, 0600, NULL);
    printf("child: mq_open(/nsq, CREAT) %s\n", err(mine));
    char *p = shmat(s, NULL, 0);
    printf("child: shmat %s\n", p == (void *)-1 ? err(-1) : "ok");
    printf("child: setns(outer ipc) %s\n", err(setns(outer_ipc_fd, CLONE_NEWIPC)));
    printf("child: msgget(KEY1) back outside %s\n", err(msgget(KEY1, 0)));
    printf("child: msgget(KEY2) back outside %s\n", err(msgget(KEY2, 0)));
    /* The segment attached in the other namespace stays mapped. */
    p[0] = 'x';
    char wrote = p[0];
    const char *detached = err(shmdt(p));
    printf("child: still attached, wrote %c, shmdt %s\n", wrote, detached);
}

static void ipc(void) {
    int m = msgget(KEY1, IPC_CREAT | 0600);
    int s = shmget(KEY1, 4096, IPC_CREAT | 0600);
    int sem = semget(KEY1, 1, IPC_CREAT | 0600);
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 16};
    mqd_t q = mq_open("/nsq", O_CREAT | O_RDWR, 0600, &attr);
    printf("parent: made msg %s shm %s sem %s mq %s\n", err(m), err(s), err(sem), err(q));
    int lines[3] = {count_lines("/proc/sysvipc/msg"), count_lines("/proc/sysvipc/shm"),
                    count_lines("/proc/sysvipc/sem")};
    outer_ipc_fd = open("/proc/self/ns/ipc", O_RDONLY);
    long msgmax = read_long("/proc/sys/kernel/msgmax");
    long shmmni = read_long("/proc/sys/kernel/shmmni");
    write_text("/proc/sys/kernel/msgmax", "1234");
    printf("ipc child status %d\n", run_child(ipc_child));
    long msgmax_now = read_long("/proc/sys/kernel/msgmax");
    printf("parent: kernel.msgmax %ld, shmmni unchanged %d\n", msgmax_now,
           read_long("/proc/sys/kernel/shmmni") == shmmni);
    char text[32];
    snprintf(text, sizeof text, "%ld", msgmax);
    write_text("/proc/sys/kernel/msgmax", text);
    printf("parent: msgget(KEY1) %s, msgget(KEY2) %s\n", err(msgget(KEY1, 0)),
           err(msgget(KEY2, 0)));
    printf("parent: /proc/sysvipc unchanged %d %d %d\n",
           count_lines("/proc/sysvipc/msg") == lines[0],
           count_lines("/proc/sysvipc/shm") == lines[1],
           count_lines("/proc/sysvipc/sem") == lines[2]);
    struct mq_attr got = {0};
    const char *got_err = err(mq_getattr(q, &got));
    printf("parent: mq_getattr %s maxmsg %ld\n", got_err, got.mq_maxmsg);
    msgctl(m, IPC_RMID, NULL);
    shmctl(s, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    mq_close(q);
    mq_unlink("/nsq");
    close(outer_ipc_fd);
}

#define DIR_A "/tmp/ns-a"
#define DIR_B "/tmp/ns-b"

static int mounted_in(const char *table, const char *dir) {
    FILE *f = fopen(table, "r");
    if (!f) return -1;
    char line[512];
    int found = 0;
    size_t len = strlen(dir);
    while (fgets(line, sizeof line, f)) {
        char *at = strstr(line, dir);
        if (at && at > line && at[-1] == ' ' && at[len] == ' ') found++;
    }
    fclose(f);
    return found;
}

static int mounted(const char *dir) {
    return mounted_in("/proc/self/mounts", dir);
}

static int outer_mnt_fd;

static void mnt_child(void) {
    printf("child: unshare(NEWNS) %s\n", err(unshare(CLONE_NEWNS)));
    printf("child: mount tmpfs on A %s\n", err(mount("nsfs-test", DIR_A, "tmpfs", 0, "size=1m")));
    int fd = open(DIR_A "/f", O_CREAT | O_WRONLY, 0600);
    printf("child: file in A %s, mounted A %d B %d\n", err(fd), mounted(DIR_A), mounted(DIR_B));
    close(fd);
    char table[64];
    snprintf(table, sizeof table, "/proc/%d/mountinfo", getppid());
    int parent_a = mounted_in(table, DIR_A);
    snprintf(table, sizeof table, "/proc/%d/mountinfo", getpid());
    printf("child: parent's mountinfo has A %d, own has A %d\n", parent_a, mounted_in(table, DIR_A));
    printf("child: sees B's file %s\n", err(access(DIR_B "/g", F_OK)));
    printf("child: umount B %s\n", err(umount(DIR_B)));
    printf("child: B's file after umount %s, mounted B %d\n", err(access(DIR_B "/g", F_OK)),
           mounted(DIR_B));
    chdir(DIR_A);
    printf("child: setns(outer mnt) %s\n", err(setns(outer_mnt_fd, CLONE_NEWNS)));
    char cwd[128];
    printf("child: cwd after setns %s\n", getcwd(cwd, sizeof cwd) ? cwd : err(-1));
    printf("child: back outside: A's file %s, B's file %s, mounted A %d B %d\n",
           err(access(DIR_A "/f", F_OK)), err(access(DIR_B "/g", F_OK)), mounted(DIR_A),
           mounted(DIR_B));
}

static void mnt(void) {
    mkdir(DIR_A, 0755);
    mkdir(DIR_B, 0755);
    printf("parent: mount tmpfs on B %s\n", err(mount("nsfs-test", DIR_B, "tmpfs", 0, NULL)));
    close(open(DIR_B "/g", O_CREAT | O_WRONLY, 0600));
    outer_mnt_fd = open("/proc/self/ns/mnt", O_RDONLY);
    int status = run_child(mnt_child);
    printf("child status %d\n", status);
    printf("parent: A's file %s, B's file %s, mounted A %d B %d\n", err(access(DIR_A "/f", F_OK)),
           err(access(DIR_B "/g", F_OK)), mounted(DIR_A), mounted(DIR_B));
    const char *umount_b = err(umount(DIR_B));
    printf("parent: umount B %s, umount A %s\n", umount_b, err(umount(DIR_A)));
    close(outer_mnt_fd);
}


static int outer_net_fd;
static int outer_port;

static int tcp_to(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    const char *e = err(r);
    close(s);
    return r == 0 ? 0 : (strcmp(e, "ENETUNREACH") == 0 ? 1 : strcmp(e, "ECONNREFUSED") == 0 ? 2 : 3);
}

static const char *connect_result(int port) {
    static const char *names[] = {"ok", "ENETUNREACH", "ECONNREFUSED", "other"};
    return names[tcp_to(port)];
}

static void lo_flags(const char *who) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    printf("%s: lo flags %s up %d\n", who, err(r), (ifr.ifr_flags & IFF_UP) != 0);
    strcpy(ifr.ifr_name, "eth0");
    printf("%s: eth0 %s\n", who, err(ioctl(s, SIOCGIFFLAGS, &ifr)));
    close(s);
}

static void net_child(void) {
    unsigned long long before = self_ns("net");
    const char *unshared = err(unshare(CLONE_NEWNET));
    printf("child: unshare(NEWNET) %s, net link changed %d\n", unshared, self_ns("net") != before);
    lo_flags("child");
    printf("child: connect to 127.0.0.1 %s\n", connect_result(outer_port));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(outer_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    printf("child: bind 127.0.0.1 before lo is up %s\n", err(bind(s, (struct sockaddr *)&a, sizeof a)));
    close(s);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    ioctl(u, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    printf("child: lo up %s\n", err(ioctl(u, SIOCSIFFLAGS, &ifr)));
    close(u);
    lo_flags("child");
    printf("child: connect to the parent's port %s\n", connect_result(outer_port));
    s = socket(AF_INET, SOCK_STREAM, 0);
    printf("child: bind the parent's port %s\n", err(bind(s, (struct sockaddr *)&a, sizeof a)));
    const char *listened = err(listen(s, 1));
    printf("child: listen %s, connect %s\n", listened, connect_result(outer_port));
    close(s);
    int un = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua = {.sun_family = AF_UNIX};
    memcpy(ua.sun_path, "\0nsprobe", 8);
    socklen_t ulen = offsetof(struct sockaddr_un, sun_path) + 8;
    printf("child: connect to the parent's abstract name %s\n",
           err(connect(un, (struct sockaddr *)&ua, ulen)));
    close(un);
    un = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("child: bind the same abstract name %s\n", err(bind(un, (struct sockaddr *)&ua, ulen)));
    close(un);
    printf("child: setns(outer net) %s\n", err(setns(outer_net_fd, CLONE_NEWNET)));
    printf("child: back outside, connect %s\n", connect_result(outer_port));
}

static void net(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 8);
    socklen_t len = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &len);
    outer_port = ntohs(a.sin_port);
    int un = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua = {.sun_family = AF_UNIX};
    memcpy(ua.sun_path, "\0nsprobe", 8);
    printf("parent: abstract bind %s listen %s\n",
           err(bind(un, (struct sockaddr *)&ua, offsetof(struct sockaddr_un, sun_path) + 8)),
           err(listen(un, 1)));
    outer_net_fd = open("/proc/self/ns/net", O_RDONLY);
    run_child(net_child);
    lo_flags("parent");
    printf("parent: connect to own port %s\n", connect_result(outer_port));
    close(outer_net_fd);
    close(l);
    close(un);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    links();
    ioctls();
    unshare_errors();
    uts();
    ipc();
    mnt();
    net();
    return probe_end();
}
