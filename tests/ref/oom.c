/* Running out: of address space, of memory, of threads, of argument space. Against Linux.
 * Build: musl-gcc -static -O2 -o oom oom.c
 *
 * Every case runs in a child, which prints what it observed; the parent prints how the child
 * ended. Nothing printed depends on how much memory the machine has. The kernel's own
 * "Out of memory: Killed process" line (both kernels print one) is not part of the output
 * that is compared. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int checks;

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    case E2BIG: return "E2BIG";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

static void show(const char *what, int err) {
    printf("%s: %s\n", what, err_name(err));
    checks++;
}

/* Runs `body` in a child and prints how the child ended. */
static void in_child(const char *name, void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", name, WTERMSIG(status));
    else
        printf("%s: exited %d\n", name, WEXITSTATUS(status));
    checks++;
}

#define MAX_REGIONS 4096
static void *region_at[MAX_REGIONS];
static size_t region_len[MAX_REGIONS];
static int regions;

/* The largest PROT_NONE anonymous mapping that can be made now, by bisection. */
static size_t largest_mappable(void) {
    size_t lo = 0, hi = (size_t)1 << 48;
    while (hi - lo > 4096) {
        size_t mid = (lo + (hi - lo) / 2) & ~(size_t)4095;
        void *p = mmap(0, mid, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            hi = mid;
        } else {
            munmap(p, mid);
            lo = mid;
        }
    }
    return lo;
}

/* Fills the whole address space with PROT_NONE mappings, largest first. */
static int fill_address_space(void) {
    size_t len;
    while ((len = largest_mappable()) != 0 && regions < MAX_REGIONS) {
        void *p = mmap(0, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -1;
        region_at[regions] = p;
        region_len[regions++] = len;
    }
    return regions < MAX_REGIONS ? 0 : -1;
}

static void *thread_returns(void *arg) { return arg; }

static void address_space_full(void) {
    printf("address space filled: %s\n", fill_address_space() == 0 ? "yes" : "no");
    checks++;
    errno = 0;
    void *m = malloc(50000);
    show("malloc(50000) when full", m ? 0 : errno);
    void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mmap(4096) when full", p == MAP_FAILED ? errno : 0);
    pthread_t t;
    show("pthread_create when full", pthread_create(&t, NULL, thread_returns, NULL));
    /* Give back all but 64 KiB of the largest region, away from the break: malloc works. */
    munmap((char *)region_at[0] + 65536, region_len[0] - 65536);
    errno = 0;
    m = malloc(10000);
    show("malloc(10000) after 64 KiB came free", m ? 0 : errno);
    for (int i = 1; i < regions; i++)
        munmap(region_at[i], region_len[i]);
    munmap(region_at[0], 65536);
    m = malloc(1 << 20);
    show("malloc(1 MiB) after everything came free", m ? 0 : errno);
}

static void huge_mappings(void) {
    size_t tib = (size_t)1 << 40;
    void *p = mmap(0, tib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mmap 1 TiB private writable", p == MAP_FAILED ? errno : 0);
    p = mmap(0, tib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    show("mmap 1 TiB private writable, MAP_NORESERVE", p == MAP_FAILED ? errno : 0);
    if (p != MAP_FAILED) {
        ((char *)p)[tib / 2] = 1;
        show("munmap of it", munmap(p, tib) ? errno : 0);
    }
    p = mmap(0, tib, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mmap 1 TiB PROT_NONE", p == MAP_FAILED ? errno : 0);
    if (p != MAP_FAILED)
        show("mprotect 1 TiB to PROT_READ", mprotect(p, tib, PROT_READ) ? errno : 0);
    void *q = mmap(0, tib, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    show("mmap 1 TiB shared anonymous", q == MAP_FAILED ? errno : 0);
    if (p != MAP_FAILED)
        show("munmap 1 TiB", munmap(p, tib) ? errno : 0);
    /* Page after page: one area on Linux (merged), never "too many mappings". */
    int failed = 0;
    for (int i = 0; i < 100000 && !failed; i++)
        failed = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED;
    show("100000 one-page mappings", failed ? errno : 0);
}

/* Touches fresh memory until something gives. */
static void touch_until_killed_mmap(void) {
    for (;;) {
        char *p = mmap(0, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap failed before the memory ran out\n");
            return;
        }
        for (size_t i = 0; i < (16 << 20); i += 4096)
            p[i] = 1;
    }
}

static void touch_until_killed_brk(void) {
    for (;;) {
        char *p = sbrk(1 << 20);
        if (p == (void *)-1) {
            printf("sbrk failed before the memory ran out\n");
            return;
        }
        for (size_t i = 0; i < (1 << 20); i += 4096)
            p[i] = 1;
    }
}

static void memory_is_back(void) {
    size_t len = 64 << 20;
    char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        show("64 MiB after the OOM kill", errno);
        return;
    }
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    show("64 MiB after the OOM kill", 0);
}

static void *thread_waits(void *arg) {
    pthread_barrier_wait(arg);
    return NULL;
}

static void threads_until_failure(void) {
    static pthread_t threads[100000];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 16384);
    int n = 0, err = 0;
    /* Each thread first waits on a barrier that is never complete, so none ends early. */
    pthread_barrier_t never;
    pthread_barrier_init(&never, NULL, 100001);
    while (n < 100000 && (err = pthread_create(&threads[n], &attr, thread_waits, &never)) == 0)
        n++;
    show("threads until failure", err);
    printf("more than 100 threads before it: %s\n", n > 100 ? "yes" : "no");
    checks++;
    _exit(0); /* the waiting threads go with the process */
}

static void arguments_too_big(void) {
    /* More than a quarter of the 8 MiB stack limit in the environment: E2BIG. */
    size_t n = 64, len = 64 * 1024;
    char **env = calloc(n + 1, sizeof *env);
    for (size_t i = 0; i < n; i++) {
        env[i] = malloc(len);
        memset(env[i], 'x', len - 1);
        env[i][0] = 'V';
        env[i][1] = '=';
        env[i][len - 1] = 0;
    }
    char *argv[] = { "true", NULL };
    execve("/bin/true", argv, env);
    show("execve with 4 MiB of environment", errno);
    /* One string longer than MAX_ARG_STRLEN (32 pages). */
    char *big = malloc(200 * 1024);
    memset(big, 'y', 200 * 1024 - 1);
    big[200 * 1024 - 1] = 0;
    char *argv2[] = { "true", big, NULL };
    char *env2[] = { NULL };
    execve("/bin/true", argv2, env2);
    show("execve with a 200 KiB argument", errno);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    in_child("address space full", address_space_full);
    in_child("huge mappings", huge_mappings);
    in_child("touching mmap'd memory until the memory runs out", touch_until_killed_mmap);
    in_child("memory back", memory_is_back);
    in_child("touching the break until the memory runs out", touch_until_killed_brk);
    in_child("memory back again", memory_is_back);
    in_child("threads", threads_until_failure);
    in_child("arguments", arguments_too_big);
    printf("checks: %d\n", checks);
    return 0;
}
