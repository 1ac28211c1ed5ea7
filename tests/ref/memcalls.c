/* Memory calls checked against Linux: madvise's advice (DONTNEED zeroes private anonymous
 * pages and re-reads file pages, FREE, WILLNEED, REMOVE punches a shared file, the
 * errors), mmap's MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_GROWSDOWN, MAP_NORESERVE,
 * MAP_SHARED_VALIDATE's unknown flags, mincore, msync's checks, and remap_file_pages.
 * Deterministic output only.
 * Build: musl-gcc -static -O2 -o memcalls memcalls.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case EBUSY: return "EBUSY";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    default: return "other";
    }
}

static long mret(void *p) { return p == MAP_FAILED ? -1 : 0; }

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *a = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 'x', 4 * page);
    long adv = madvise(a, page, MADV_DONTNEED);
    printf("DONTNEED on private anonymous: %s, then reads %d\n", err(adv), a[0]);
    printf("  the next page keeps %c\n", a[page]);
    long freed = madvise(a + page, page, MADV_FREE);
    printf("FREE: %s, the page reads %s\n", err(freed), a[page] == 'x' || a[page] == 0 ? "x or 0" : "other");
    printf("WILLNEED: %s\n", err(madvise(a, 4 * page, MADV_WILLNEED)));
    printf("SEQUENTIAL: %s, RANDOM: %s, NORMAL: %s\n", err(madvise(a, page, MADV_SEQUENTIAL)),
           err(madvise(a, page, MADV_RANDOM)), err(madvise(a, page, MADV_NORMAL)));
    printf("DONTFORK: %s, DOFORK: %s\n", err(madvise(a, page, MADV_DONTFORK)), err(madvise(a, page, MADV_DOFORK)));
    printf("MERGEABLE: %s, UNMERGEABLE: %s\n", err(madvise(a, page, MADV_MERGEABLE)), err(madvise(a, page, MADV_UNMERGEABLE)));
    printf("HUGEPAGE: %s, NOHUGEPAGE: %s\n", err(madvise(a, page, MADV_HUGEPAGE)), err(madvise(a, page, MADV_NOHUGEPAGE)));
    printf("DONTDUMP: %s, DODUMP: %s\n", err(madvise(a, page, MADV_DONTDUMP)), err(madvise(a, page, MADV_DODUMP)));
    printf("COLD: %s, PAGEOUT: %s\n", err(madvise(a, page, MADV_COLD)), err(madvise(a, page, MADV_PAGEOUT)));
    printf("POPULATE_READ: %s, POPULATE_WRITE: %s\n", err(madvise(a, page, MADV_POPULATE_READ)),
           err(madvise(a, page, MADV_POPULATE_WRITE)));
    printf("REMOVE on private anonymous: %s\n", err(madvise(a, page, MADV_REMOVE)));
    printf("advice 99: %s\n", err(madvise(a, page, 99)));
    printf("misaligned start: %s\n", err(madvise(a + 1, page, MADV_DONTNEED)));
    printf("length 0: %s\n", err(madvise(a, 0, MADV_DONTNEED)));
    printf("unaligned length: %s\n", err(madvise(a, 10, MADV_NORMAL)));
    printf("negative length: %s\n", err(madvise(a, (size_t)-page, MADV_NORMAL)));
    munmap(a + 2 * page, page);
    printf("over a hole: %s\n", err(madvise(a, 4 * page, MADV_NORMAL)));
    printf("DONTNEED over a hole: %s\n", err(madvise(a, 4 * page, MADV_DONTNEED)));
    printf("WILLNEED over a hole: %s\n", err(madvise(a, 4 * page, MADV_WILLNEED)));
    printf("entirely unmapped: %s\n", err(madvise(a + 2 * page, page, MADV_NORMAL)));
    mlock(a, page);
    printf("DONTNEED on locked memory: %s\n", err(madvise(a, page, MADV_DONTNEED)));
    munlock(a, page);

    /* A file mapping: DONTNEED drops private changes, the file's data comes back. */
    int fd = open("/tmp/mc-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char buf[4096];
    memset(buf, 'f', sizeof buf);
    for (int i = 0; i < 4; i++) write(fd, buf, sizeof buf);
    char *priv = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    priv[0] = 'p';
    adv = madvise(priv, page, MADV_DONTNEED);
    printf("DONTNEED on a private file mapping: %s, reads %c\n", err(adv), priv[0]);
    char *shared = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    shared[page] = 's';
    adv = madvise(shared, 2 * page, MADV_DONTNEED);
    printf("DONTNEED on a shared file mapping: %s, reads %c\n", err(adv), shared[page]);
    printf("REMOVE on a shared file mapping: %s\n", err(madvise(shared + page, page, MADV_REMOVE)));
    pread(fd, buf, 4, page);
    printf("  the file there reads %d %d, size %ld\n", buf[0], buf[3], (long)lseek(fd, 0, SEEK_END));
    printf("REMOVE on a private file mapping: %s\n", err(madvise(priv, page, MADV_REMOVE)));
    printf("FREE on a shared file mapping: %s\n", err(madvise(shared, page, MADV_FREE)));
    munmap(priv, 4 * page);

    /* MAP_FIXED_NOREPLACE. */
    char *b = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *r = mmap(b, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("FIXED_NOREPLACE over a mapping: %s\n", err(mret(r)));
    munmap(b + page, page);
    r = mmap(b + page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("FIXED_NOREPLACE in a hole: %s, at the address asked: %d\n", err(mret(r)), r == b + page);
    r = mmap(b + page / 2, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("FIXED_NOREPLACE misaligned: %s\n", err(mret(r)));

    /* MAP_POPULATE, MAP_NORESERVE, MAP_GROWSDOWN, MAP_SHARED_VALIDATE. */
    char *pop = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    unsigned char vec[8];
    printf("POPULATE: %s, mincore says resident: %d\n", err(mret(pop)),
           mincore(pop, 4 * page, vec) == 0 && (vec[0] & vec[1] & vec[2] & vec[3] & 1));
    char *lazy = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("untouched, mincore says resident: %d\n", mincore(lazy, 4 * page, vec) == 0 && (vec[0] & 1));
    lazy[0] = 1;
    vec[0] = 0;
    mincore(lazy, page, vec);
    printf("touched once, mincore says resident: %d\n", vec[0] & 1);
    printf("mincore misaligned: %s\n", err(mincore(lazy + 1, page, vec)));
    printf("mincore unmapped: %s\n", err(mincore(b + 4 * page * 1000, page, vec)));
    printf("mincore bad vector: %s\n", err(mincore(lazy, page, (unsigned char *)8)));
    char *nores = mmap(NULL, 1UL << 40, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("1 TiB with NORESERVE: %s\n", err(mret(nores)));
    if (nores != MAP_FAILED) munmap(nores, 1UL << 40);
    char *grow = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    printf("GROWSDOWN: %s\n", err(mret(grow)));
    r = mmap(NULL, page, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x80, -1, 0);
    printf("SHARED_VALIDATE with an unknown flag: %s\n", err(mret(r)));
    r = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | 0x80, -1, 0);
    printf("PRIVATE with an unknown flag: %s\n", err(mret(r)));
    r = mmap(NULL, page, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("SHARED|PRIVATE (SHARED_VALIDATE) anonymous: %s\n", err(mret(r)));

    /* msync. */
    printf("msync: %s\n", err(msync(shared, page, MS_SYNC)));
    printf("msync ASYNC|SYNC: %s\n", err(msync(shared, page, MS_SYNC | MS_ASYNC)));
    printf("msync misaligned: %s\n", err(msync(shared + 1, page, MS_SYNC)));
    printf("msync unknown flag: %s\n", err(msync(shared, page, 8)));
    printf("msync unmapped: %s\n", err(msync(b + 4 * page * 1000, page, MS_SYNC)));
    printf("msync INVALIDATE of locked: %s\n", (mlock(shared, page), err(msync(shared, page, MS_INVALIDATE))));
    munlock(shared, page);

    /* remap_file_pages: the first page of the mapping now shows the file's third page. */
    memset(buf, 'c', 4096);
    pwrite(fd, buf, 4096, 2 * page);
    printf("remap_file_pages: %s\n", err(syscall(SYS_remap_file_pages, shared, page, 0, 2, 0)));
    printf("  the first page reads %c, the second (removed above) %d\n", shared[0], shared[page]);
    printf("remap_file_pages with prot: %s\n", err(syscall(SYS_remap_file_pages, shared, page, PROT_READ, 0, 0)));
    printf("remap_file_pages of private memory: %s\n", err(syscall(SYS_remap_file_pages, pop, page, 0, 0, 0)));
    printf("remap_file_pages past the area: %s\n", err(syscall(SYS_remap_file_pages, shared, 8 * page, 0, 0, 0)));
    printf("remap_file_pages of nothing: %s\n", err(syscall(SYS_remap_file_pages, shared, 0, 0, 0, 0)));

    /* fallocate's modes on tmpfs. */
    printf("fallocate PUNCH_HOLE without KEEP_SIZE: %s\n", err(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, page)));
    printf("fallocate PUNCH_HOLE|KEEP_SIZE: %s\n", err(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * page + 100, 200)));
    pread(fd, buf, 4096, 2 * page);
    printf("  the file reads %c %d %d %c, size %ld\n", buf[99], buf[100], buf[299], buf[300], (long)lseek(fd, 0, SEEK_END));
    printf("  the mapping reads %d\n", shared[150]);
    printf("fallocate ZERO_RANGE: %s\n", err(fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, page)));
    printf("fallocate COLLAPSE_RANGE|KEEP_SIZE: %s\n", err(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, page)));
    printf("fallocate COLLAPSE_RANGE: %s\n", err(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, page)));
    printf("fallocate mode 0x80: %s\n", err(fallocate(fd, 0x80, 0, page)));
    printf("fallocate PUNCH|ZERO: %s\n", err(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, page)));
    printf("fallocate KEEP_SIZE past the end: %s, size %ld\n", err(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 100 * page)), (long)lseek(fd, 0, SEEK_END));
    close(fd);

    /* Shared anonymous memory: REMOVE zeroes it for every process. */
    long r2;
    char *sa = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sa, 'a', 2 * page);
    r2 = madvise(sa, page, MADV_REMOVE);
    printf("REMOVE on shared anonymous: %s, reads %d then %c\n", err(r2), sa[0], sa[page]);
    printf("FREE on shared anonymous: %s\n", err(madvise(sa, page, MADV_FREE)));
    printf("WIPEONFORK on shared anonymous: %s\n", err(madvise(sa, page, MADV_WIPEONFORK)));
    char *ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("POPULATE_WRITE on read-only memory: %s\n", err(madvise(ro, page, MADV_POPULATE_WRITE)));
    char *none = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("POPULATE_READ on PROT_NONE memory: %s\n", err(madvise(none, page, MADV_POPULATE_READ)));
    printf("HWPOISON as root: %s\n", err(madvise(none, page, 100)) [0] == 'E' ? "an error" : "ok");

    /* DONTFORK and WIPEONFORK: what a child of fork gets. */
    char *keep = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(keep, 'k', 3 * page);
    printf("DONTFORK: %s, WIPEONFORK: %s\n", err(madvise(keep, page, MADV_DONTFORK)),
           err(madvise(keep + page, page, MADV_WIPEONFORK)));
    fflush(stdout);
    if (fork() == 0) {
        unsigned char v;
        printf("  in the child: the DONTFORK page is mapped: %d, the WIPEONFORK page reads %d, the third %c\n",
               mincore(keep, page, &v) == 0, keep[page], keep[2 * page]);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    printf("  in the parent: %c %c %c\n", keep[0], keep[page], keep[2 * page]);
    printf("DOFORK: %s, KEEPONFORK: %s\n", err(madvise(keep, page, MADV_DOFORK)), err(madvise(keep + page, page, MADV_KEEPONFORK)));
    fflush(stdout);
    if (fork() == 0) {
        printf("  in the next child: %c %c %c\n", keep[0], keep[page], keep[2 * page]);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    return probe_end();
}
