/* System V shared memory, checked against Linux: keys and IPC_PRIVATE, create/exclusive/
 * permission errors, attach (anywhere, at an address, SHM_RND, SHM_REMAP, read-only),
 * sharing across fork, IPC_STAT fields, IPC_SET, IPC_RMID while attached, detach errors,
 * IPC_INFO/SHM_INFO, and /proc/sysvipc/shm. Deterministic output only.
 * Build: musl-gcc -static -O2 -o sysvshm sysvshm.c */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r != -1) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EIDRM: return "EIDRM";
    case ENOMEM: return "ENOMEM";
    case ENOSPC: return "ENOSPC";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static sigjmp_buf jump;
static void on_segv(int sig) { (void)sig; siglongjmp(jump, 1); }

/* Whether a store at p faults. */
static int store_faults(volatile char *p) {
    struct sigaction sa = { .sa_handler = on_segv }, old;
    sigaction(SIGSEGV, &sa, &old);
    int faulted = 0;
    if (sigsetjmp(jump, 1) == 0) *p = 1; else faulted = 1;
    sigaction(SIGSEGV, &old, NULL);
    return faulted;
}

static unsigned long nattch(int id) {
    struct shmid_ds ds;
    return shmctl(id, IPC_STAT, &ds) == 0 ? ds.shm_nattch : 999;
}

int main(void) {
    key_t key = 0x5eed;
    printf("missing key: %s\n", err(shmget(key, 4096, 0600)));
    printf("zero size: %s\n", err(shmget(IPC_PRIVATE, 0, 0600)));
    printf("huge size: %s\n", err(shmget(IPC_PRIVATE, (size_t)1 << 62, 0600)));
    int id = shmget(key, 10000, IPC_CREAT | 0640);
    printf("create: %s\n", err(id));
    printf("same key: %d\n", shmget(key, 0, 0) == id);
    printf("smaller size: %d\n", shmget(key, 5000, 0) == id);
    printf("larger size: %s\n", err(shmget(key, 20000, 0)));
    printf("exclusive: %s\n", err(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600)));
    int priv = shmget(IPC_PRIVATE, 4096, 0600), priv2 = shmget(IPC_PRIVATE, 4096, 0600);
    printf("private ids differ: %d\n", priv >= 0 && priv2 >= 0 && priv != priv2);

    struct shmid_ds ds;
    printf("stat: %s\n", err(shmctl(id, IPC_STAT, &ds)));
    printf("key %#x size %zu mode %o nattch %lu cpid-is-me %d lpid %d uid %d cuid %d\n",
           ds.shm_perm.__key, ds.shm_segsz, ds.shm_perm.mode, (unsigned long)ds.shm_nattch,
           ds.shm_cpid == getpid(), ds.shm_lpid, ds.shm_perm.uid, ds.shm_perm.cuid);
    printf("times: atime %ld dtime %ld ctime set %d\n", (long)ds.shm_atime, (long)ds.shm_dtime,
           ds.shm_ctime > 0);

    /* Attach anywhere, write, attach again elsewhere: same memory. */
    char *a = shmat(id, NULL, 0);
    printf("attach: %s\n", a == (void *)-1 ? err(-1) : "ok");
    char *b = shmat(id, NULL, SHM_RDONLY);
    printf("attach read-only: %s\n", b == (void *)-1 ? err(-1) : "ok");
    strcpy(a, "shared bytes");
    a[9999] = 'z';
    printf("seen through the second attachment: %s %c\n", b, b[9999]);
    printf("past the size, in the last page: %d\n", a[12287]);
    printf("nattch after two attaches: %lu\n", nattch(id));
    shmctl(id, IPC_STAT, &ds);
    printf("after attach: lpid-is-me %d atime set %d\n", ds.shm_lpid == getpid(), ds.shm_atime > 0);
    printf("store into read-only attachment faults: %d\n", store_faults(b));

    /* fork shares it (and counts the child's attachments). */
    pid_t child = fork();
    if (child == 0) {
        strcpy(a, "from the child");
        _exit(nattch(id) == 4 ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child saw 4 attachments: %d; parent reads: %s\n", WEXITSTATUS(status) == 0, a);
    printf("nattch after child exit: %lu\n", nattch(id));

    /* Detach errors and detach. */
    printf("detach unaligned: %s\n", err(shmdt(a + 1)));
    printf("detach not attached: %s\n", err(shmdt((void *)0x100000)));
    printf("detach inside: %s\n", err(shmdt(a + 4096)));
    printf("detach: %s\n", err(shmdt(b)));
    printf("nattch: %lu\n", nattch(id));
    shmctl(id, IPC_STAT, &ds);
    printf("dtime set %d\n", ds.shm_dtime > 0);
    printf("detach twice: %s\n", err(shmdt(b)));

    /* Attach at an address: SHM_RND, unaligned, occupied, SHM_REMAP. */
    char *area = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, 8 * 4096);
    printf("unaligned without SHM_RND: %s\n", shmat(id, area + 100, 0) == (void *)-1 ? err(-1) : "ok");
    char *r = shmat(id, area + 100, SHM_RND);
    printf("SHM_RND rounds down: %d %s\n", r == area, r);
    char *busy = mmap(area + 5 * 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("occupied: %s\n", shmat(id, busy, 0) == (void *)-1 ? err(-1) : "ok");
    char *re = shmat(id, busy, SHM_REMAP);
    printf("SHM_REMAP: %d %s\n", re == busy, re);
    printf("SHM_REMAP without address: %s\n", shmat(id, NULL, SHM_REMAP) == (void *)-1 ? err(-1) : "ok");
    printf("nattch: %lu\n", nattch(id));
    /* munmap of part of an attachment splits it; shmdt takes both pieces. */
    munmap(re + 4096, 4096);
    printf("nattch after split: %lu\n", nattch(id));
    const char *split = err(shmdt(re));
    printf("detach split: %s nattch %lu\n", split, nattch(id));
    shmdt(r);

    /* IPC_SET, permissions. */
    ds.shm_perm.mode = 0604;
    printf("set: %s\n", err(shmctl(id, IPC_SET, &ds)));
    shmctl(id, IPC_STAT, &ds);
    printf("mode after set: %o\n", ds.shm_perm.mode);
    printf("bad id: %s\n", err(shmctl(id + 1000, IPC_STAT, &ds)));
    printf("negative id: %s\n", err(shmctl(-1, IPC_STAT, &ds)));
    printf("bad command: %s\n", err(shmctl(id, 99, &ds)));
    printf("stat to a bad pointer: %s\n", err(shmctl(id, IPC_STAT, (void *)8)));
    printf("attach bad id: %s\n", shmat(id + 1000, NULL, 0) == (void *)-1 ? err(-1) : "ok");

    child = fork();
    if (child == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(9);
        const char *get = err(shmget(key, 0, 0600));
        const char *get_ro = err(shmget(key, 0, 0400));
        const char *rw = shmat(id, NULL, 0) == (void *)-1 ? err(-1) : "ok";
        char *ro = shmat(id, NULL, SHM_RDONLY);
        const char *set = err(shmctl(id, IPC_SET, &ds));
        const char *rmid = err(shmctl(id, IPC_RMID, NULL));
        printf("other user: get %s, get ro %s, attach %s, attach ro %s (%s), set %s, rmid %s\n",
               get, get_ro, rw, ro == (void *)-1 ? err(-1) : "ok", ro == (void *)-1 ? "" : ro, set, rmid);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, &status, 0);

    /* IPC_RMID while attached: the key goes, the memory stays until the last detach. */
    char *last = shmat(id, NULL, 0);
    printf("rmid: %s\n", err(shmctl(id, IPC_RMID, NULL)));
    shmctl(id, IPC_STAT, &ds);
    printf("after rmid: key %#x dest %d nattch %lu\n", ds.shm_perm.__key,
           (ds.shm_perm.mode & SHM_DEST) != 0, (unsigned long)ds.shm_nattch);
    printf("key gone: %s\n", err(shmget(key, 0, 0)));
    printf("still readable: %s\n", last);
    char *again = shmat(id, NULL, 0);
    printf("attach after rmid: %s\n", again == (void *)-1 ? err(-1) : "ok");
    shmdt(again);
    shmdt(last);
    printf("attached once more: %lu\n", nattch(id));
    shmdt(a);
    printf("gone after last detach: %s\n", err(shmctl(id, IPC_STAT, &ds)));
    int fresh = shmget(key, 4096, IPC_CREAT | 0600);
    printf("key reusable: %s, new id differs %d\n", err(fresh), fresh != id);

    /* IPC_INFO, SHM_INFO, SHM_STAT. */
    struct shminfo info;
    long maxidx = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
    printf("IPC_INFO: %d shmmin %lu shmmni %lu shmmax-big %d\n", maxidx >= 0,
           (unsigned long)info.shmmin, (unsigned long)info.shmmni, info.shmmax > (1UL << 40));
    struct shm_info sinfo;
    long max2 = shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo);
    printf("SHM_INFO: same max %d used %d\n", max2 == maxidx, sinfo.used_ids);
    int found = 0;
    for (long i = 0; i <= maxidx; i++) {
        int sid = shmctl(i, SHM_STAT, &ds);
        if (sid == fresh) found = 1;
    }
    printf("SHM_STAT finds the new one: %d\n", found);

    /* /proc/sysvipc/shm lists the segments. */
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    char line[512];
    int rows = 0;
    if (f) {
        if (fgets(line, sizeof line, f)) printf("header: %s", line);
        while (fgets(line, sizeof line, f)) rows++;
        fclose(f);
    }
    printf("proc rows: %d\n", rows);

    shmctl(fresh, IPC_RMID, NULL);
    shmctl(priv, IPC_RMID, NULL);
    shmctl(priv2, IPC_RMID, NULL);
    printf("all removed: %d\n", shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0 && sinfo.used_ids == 0);
    return probe_end();
}
