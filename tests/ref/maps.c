/* /proc/self/maps checked against Linux: the line of each kind of area, as Linux 6.1's
 * show_map_vma writes it. Private and shared file mappings at an offset, mprotect splitting
 * a file mapping (the offset of each piece), a private and a shared anonymous area (Linux
 * names the shared one "/dev/zero (deleted)"), a file unlinked while mapped ("(deleted)"),
 * a System V segment, mremap moving or growing a file mapping, the heap after brk, the
 * stack and the program's own segments; PR_SET_VMA_ANON_NAME is EINVAL.
 * Deterministic output only: every test mapping goes inside a PROT_NONE reservation of its
 * own, so its lines are found by address and printed with addresses relative to the
 * reservation; device and inode numbers are printed as whether they match stat(2). The
 * [vvar], [vdso] and [vsyscall] lines are never printed (this kernel has no vDSO). The
 * probe allocates nothing (musl's malloc may take heap pages with brk).
 * Build: musl-gcc -static -O2 -o maps maps.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#define PG 4096UL
#define FILE_PAGES 8

static char maps[1 << 16];
static size_t maps_len;

static void read_maps(void) {
    int fd = open("/proc/self/maps", O_RDONLY);
    maps_len = 0;
    if (fd < 0) return;
    for (;;) {
        ssize_t n = read(fd, maps + maps_len, sizeof maps - 1 - maps_len);
        if (n <= 0) break;
        maps_len += n;
    }
    maps[maps_len] = 0;
    close(fd);
}

/* One parsed line. */
struct line {
    unsigned long start, end, offset;
    char perms[5];
    unsigned major, minor;
    unsigned long ino;
    int name_col; /* where the name starts, -1 if there is none */
    const char *name;
    int name_len;
    int trailing_space; /* a line without a name ends with one space */
};

/* Parses the line at *at and moves past it; 0 at the end. */
static int next_line(const char **at, struct line *l) {
    const char *s = *at;
    if (!*s) return 0;
    const char *nl = strchr(s, '\n');
    if (!nl) nl = s + strlen(s);
    int used = 0;
    memset(l, 0, sizeof *l);
    sscanf(s, "%lx-%lx %4s %lx %x:%x %lu %n", &l->start, &l->end, l->perms, &l->offset,
           &l->major, &l->minor, &l->ino, &used);
    l->name_col = -1;
    if (used > 0 && s + used < nl) {
        l->name_col = used;
        l->name = s + used;
        l->name_len = (int)(nl - (s + used));
    }
    l->trailing_space = nl > s && nl[-1] == ' ';
    *at = *nl ? nl + 1 : nl;
    return 1;
}

/* The lines overlapping base..base+len, printed relative to base. `st` (may be NULL) is the
 * file the named lines should match by device and inode. */
static void show_range(const char *what, void *base_ptr, unsigned long len, const struct stat *st) {
    unsigned long base = (unsigned long)base_ptr;
    const char *at = maps;
    struct line l;
    read_maps();
    while (next_line(&at, &l)) {
        if (l.end <= base || l.start >= base + len) continue;
        /* Clipped to the reservation: a neighbour's PROT_NONE area may merge with it. */
        unsigned long from = l.start > base ? l.start - base : 0;
        unsigned long to = l.end < base + len ? l.end - base : len;
        printf("%s: +%lx-+%lx %s %08lx", what, from, to, l.perms, l.offset);
        if (l.name_col < 0) {
            printf(" %02x:%02x %lu%s\n", l.major, l.minor, l.ino, l.trailing_space ? " [sp]" : "");
        } else if (st) {
            printf(" dev=%s ino=%s col=%d %.*s\n",
                   l.major == major(st->st_dev) && l.minor == minor(st->st_dev) ? "stat" : "other",
                   l.ino == st->st_ino ? "stat" : "other", l.name_col, l.name_len, l.name);
        } else {
            printf(" %02x:%02x ino=%s col=%d %.*s\n", l.major, l.minor, l.ino ? "n" : "0",
                   l.name_col, l.name_len, l.name);
        }
    }
}

/* A PROT_NONE reservation of `pages` pages: each test maps inside its own. */
static char *reserve(unsigned long pages) {
    char *p = mmap(NULL, pages * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static const char *ok(void *p) {
    return p == MAP_FAILED ? strerror(errno) : "ok";
}

static int make_file(const char *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char page[PG];
    for (int i = 0; i < FILE_PAGES; i++) {
        memset(page, 'a' + i, sizeof page);
        if (write(fd, page, sizeof page) != (ssize_t)sizeof page) printf("write failed\n");
    }
    return fd;
}

static void file_mappings(void) {
    const char *path = "/tmp/maps-file";
    int fd = make_file(path);
    struct stat st;
    fstat(fd, &st);

    char *r = reserve(8);
    void *p = mmap(r + 2 * PG, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * PG);
    printf("private at offset 2 pages: %s\n", ok(p));
    show_range("private", r, 8 * PG, &st);

    r = reserve(8);
    p = mmap(r + 2 * PG, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, PG);
    printf("shared at offset 1 page: %s\n", ok(p));
    show_range("shared", r, 8 * PG, &st);

    /* mprotect in the middle: three pieces, each with its own offset. */
    r = reserve(10);
    p = mmap(r + 2 * PG, 6 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
    printf("private for mprotect: %s\n", ok(p));
    printf("mprotect middle: %d\n", mprotect(r + 4 * PG, 2 * PG, PROT_READ));
    show_range("split", r, 10 * PG, &st);
    printf("mprotect back: %d\n", mprotect(r + 4 * PG, 2 * PG, PROT_READ | PROT_WRITE));
    show_range("merged", r, 10 * PG, &st);
    printf("munmap second page: %d\n", munmap(r + 3 * PG, PG));
    show_range("unmapped", r, 10 * PG, &st);

    /* Paths are relative to the reader's root: a child that reads this process's maps
     * after a chroot to /tmp sees /maps-file (and the program, outside its root, whole). */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/maps", (int)getppid());
        int mfd = open(path, O_RDONLY);
        int rooted = chroot("/tmp") == 0 && chdir("/") == 0;
        ssize_t n = mfd < 0 ? -1 : read(mfd, maps, sizeof maps - 1);
        maps[n > 0 ? n : 0] = 0;
        int inside = 0, outside = 0;
        for (char *l = maps; *l;) {
            char *nl = strchr(l, '\n');
            if (!nl) break;
            *nl = 0;
            size_t len = strlen(l);
            inside |= len >= 10 && !strcmp(l + len - 10, "/maps-file") && !strstr(l, "/tmp/");
            outside |= len >= 10 && !strcmp(l + len - 10, " /bin/maps");
            l = nl + 1;
        }
        printf("chrooted reader: chroot %s, /maps-file %s, /bin/maps %s\n", rooted ? "ok" : "failed",
               inside ? "seen" : "not seen", outside ? "seen" : "not seen");
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);

    /* mremap: the moved (or grown) mapping keeps its file offset. */
    p = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 3 * PG);
    void *q = mremap(p, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    printf("mremap grow: %s\n", ok(q));
    if (q != MAP_FAILED) show_range("mremap", q, 4 * PG, &st);
    close(fd);
}

static void deleted_file(void) {
    const char *path = "/tmp/maps-gone";
    int fd = make_file(path);
    struct stat st;
    fstat(fd, &st);
    char *r = reserve(4);
    void *p = mmap(r + PG, PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    printf("map then unlink: %s %d\n", ok(p), unlink(path));
    close(fd);
    fstat(fd, &st); /* EBADF: st keeps the values from before */
    show_range("deleted", r, 4 * PG, &st);
}

static void anonymous(void) {
    char *r = reserve(6);
    void *p = mmap(r + PG, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    printf("anonymous: %s\n", ok(p));
    show_range("anon", r, 6 * PG, NULL);

    r = reserve(6);
    p = mmap(r + PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1,
             0);
    printf("shared anonymous: %s\n", ok(p));
    show_range("shanon", r, 6 * PG, NULL);

    /* PR_SET_VMA_ANON_NAME would show [anon:NAME]: Debian's 6.1 has no CONFIG_ANON_VMA_NAME
     * (EINVAL), nor has this kernel. */
    r = reserve(6);
    p = mmap(r + PG, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
             0);
    long named = prctl(0x53564d41, 0, (unsigned long)r + PG, 2 * PG, (unsigned long)"probe name");
    printf("PR_SET_VMA_ANON_NAME: %s\n", named == 0 ? "ok" : strerror(errno));
    show_range("named", r, 6 * PG, NULL);

    int id = shmget(IPC_PRIVATE, 2 * PG, IPC_CREAT | 0600);
    r = reserve(6);
    p = shmat(id, r + 2 * PG, SHM_REMAP);
    printf("shmat: %s\n", p == (void *)-1 ? strerror(errno) : "ok");
    if (p != (void *)-1) {
        struct stat st = {0};
        st.st_dev = makedev(0, 1);
        st.st_ino = id;
        show_range("sysv", r, 6 * PG, &st);
        /* the key is printed in the name: IPC_PRIVATE is 0 */
        shmdt(p);
    }
    shmctl(id, IPC_RMID, NULL);
}

static void heap(void) {
    unsigned long start = syscall(SYS_brk, 0);
    unsigned long want = start + 3 * PG + 100;
    unsigned long got = syscall(SYS_brk, want);
    printf("brk grow: %s\n", got == want ? "ok" : "refused");
    const char *at = maps;
    struct line l;
    read_maps();
    while (next_line(&at, &l)) {
        if (l.name_col < 0 || l.name_len != 6 || memcmp(l.name, "[heap]", 6)) continue;
        printf("heap: %s %08lx %02x:%02x %lu col=%d [heap] start=%s end=%s\n", l.perms, l.offset,
               l.major, l.minor, l.ino, l.name_col,
               l.start == (start & ~(PG - 1)) ? "brk" : "other",
               l.end == ((want + PG - 1) & ~(PG - 1)) ? "brk" : "other");
    }
    syscall(SYS_brk, start);
    read_maps();
    at = maps;
    int heaps = 0;
    while (next_line(&at, &l)) heaps += l.name_col >= 0 && !memcmp(l.name, "[heap]", 6);
    printf("heap lines after shrinking back: %d\n", heaps);
}

static void stack_and_program(void) {
    struct stat st;
    int have_exe = stat("/proc/self/exe", &st) == 0;
    char exe[256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    unsigned long sp = (unsigned long)&st;
    const char *at = maps;
    struct line l;
    read_maps();
    while (next_line(&at, &l)) {
        if (l.name_col < 0) continue;
        int is_exe = (size_t)l.name_len == strlen(exe) && !memcmp(l.name, exe, l.name_len);
        if (l.name_len == 7 && !memcmp(l.name, "[stack]", 7)) {
            printf("stack: %s %08lx %02x:%02x %lu col=%d [stack] holds sp: %s\n", l.perms,
                   l.offset, l.major, l.minor, l.ino, l.name_col,
                   l.start <= sp && sp < l.end ? "yes" : "no");
        } else if (is_exe && have_exe) {
            printf("program: %s %08lx dev=%s ino=%s col=%d %.*s\n", l.perms, l.offset,
                   l.major == major(st.st_dev) && l.minor == minor(st.st_dev) ? "stat" : "other",
                   l.ino == st.st_ino ? "stat" : "other", l.name_col, l.name_len, l.name);
        }
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    file_mappings();
    deleted_file();
    anonymous();
    heap();
    stack_and_program();
    unlink("/tmp/maps-file");
    return probe_end();
}
