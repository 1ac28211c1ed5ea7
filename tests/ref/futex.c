/* Futex additions checked against Linux: set_robust_list/get_robust_list (lengths, other
 * threads and processes, permissions, bad pointers); robust mutexes whose owner ends — a
 * thread, and a process holding a process-shared mutex in shared memory — leave
 * EOWNERDEAD to the next locker, which wakes if it was waiting; FUTEX_WAKE_OP's operations,
 * comparisons, shifted operands, errors and wake counts. Deterministic output only.
 * Build: musl-gcc -static -O2 -o futex futex.c */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case ENOSYS: return "ENOSYS";
    case EAGAIN: return "EAGAIN";
    default: return "other";
    }
}

static const char *mutex_err(int r) {
    switch (r) {
    case 0: return "0";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EBUSY: return "EBUSY";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

static long futex(uint32_t *uaddr, int op, uint32_t val, long val2, uint32_t *uaddr2, uint32_t val3) {
    return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

static pthread_mutex_t robust;

static void *hold_and_exit(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL;
}

static uint32_t words[2];
static volatile int waiting;

static void *wait_on(void *arg) {
    uint32_t *w = arg;
    waiting++;
    futex(w, FUTEX_WAIT_PRIVATE, *w, 0, NULL, 0);
    return NULL;
}

/* WAKE_OP with nobody waiting: the result and the word after. */
static void wake_op(const char *what, uint32_t start, uint32_t encoded) {
    words[1] = start;
    long r = futex(&words[0], FUTEX_WAKE_OP_PRIVATE, 1, 1, &words[1], encoded);
    printf("%s: %s %ld, word %#x\n", what, err(r), r < 0 ? 0 : r, words[1]);
}

int main(void) {
    /* The list head. */
    struct robust_list_head *head = NULL;
    size_t len = 0;
    long r = syscall(SYS_get_robust_list, 0, &head, &len);
    printf("get_robust_list(0): %s len %zu head set %d\n", err(r), len, head != NULL);
    struct robust_list_head mine = {{&mine.list}, 0, NULL};
    r = syscall(SYS_set_robust_list, &mine, 23);
    printf("set_robust_list len 23: %s\n", err(r));
    r = syscall(SYS_set_robust_list, &mine, sizeof mine);
    printf("set_robust_list: %s\n", err(r));
    r = syscall(SYS_get_robust_list, 0, &head, &len);
    printf("reads it back: %s %d\n", err(r), head == &mine);
    r = syscall(SYS_get_robust_list, getpid(), &head, &len);
    printf("by our own pid: %s %d\n", err(r), head == &mine);
    r = syscall(SYS_get_robust_list, 999999, &head, &len);
    printf("an unknown thread: %s\n", err(r));
    r = syscall(SYS_get_robust_list, 0, (void *)8, &len);
    printf("head to a bad pointer: %s\n", err(r));
    r = syscall(SYS_get_robust_list, 0, &head, (void *)8);
    printf("length to a bad pointer: %s\n", err(r));
    r = syscall(SYS_set_robust_list, NULL, sizeof mine);
    printf("set_robust_list(NULL): %s\n", err(r));
    fflush(stdout);
    pid_t parent = getpid();
    if (fork() == 0) {
        setuid(65534);
        r = syscall(SYS_get_robust_list, parent, &head, &len);
        printf("another user's list: %s\n", err(r));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);

    /* A thread dies holding a robust mutex. */
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);
    pthread_t t;
    pthread_create(&t, NULL, hold_and_exit, NULL);
    pthread_join(t, NULL);
    int e = pthread_mutex_lock(&robust);
    printf("lock after the owner thread ended: %s\n", mutex_err(e));
    e = pthread_mutex_consistent(&robust);
    printf("consistent: %s\n", mutex_err(e));
    pthread_mutex_unlock(&robust);
    e = pthread_mutex_lock(&robust);
    printf("lock again: %s\n", mutex_err(e));
    pthread_mutex_unlock(&robust);

    /* A process dies holding a process-shared robust mutex; we wait on it meanwhile. */
    pthread_mutex_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(shared, &attr);
    int go[2];
    pipe(go);
    fflush(stdout);
    pid_t holder = fork();
    if (holder == 0) {
        pthread_mutex_lock(shared);
        write(go[1], "x", 1);
        usleep(200000);
        _exit(0);
    }
    char c;
    read(go[0], &c, 1);
    e = pthread_mutex_trylock(shared);
    printf("trylock while the other process holds it: %s\n", mutex_err(e));
    e = pthread_mutex_lock(shared);
    printf("blocking lock, its holder then ended: %s\n", mutex_err(e));
    waitpid(holder, NULL, 0);
    pthread_mutex_unlock(shared);
    e = pthread_mutex_lock(shared);
    printf("unlocked without consistent, then lock: %s\n", mutex_err(e));

    /* FUTEX_WAKE_OP. */
#define OP(op, oparg, cmp, cmparg) FUTEX_OP(op, oparg, cmp, cmparg)
    wake_op("SET 5, EQ 7 (old 7)", 7, OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 7));
    wake_op("ADD 3, NE 0", 10, OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_NE, 0));
    wake_op("OR 0xf0, LT 1", 0x0f, OP(FUTEX_OP_OR, 0xf0, FUTEX_OP_CMP_LT, 1));
    wake_op("ANDN 1, LE 5", 5, OP(FUTEX_OP_ANDN, 1, FUTEX_OP_CMP_LE, 5));
    wake_op("XOR 0xff, GT -1", 1, OP(FUTEX_OP_XOR, 0xff, FUTEX_OP_CMP_GT, -1));
    wake_op("ADD -1, GE 0 (old 0)", 0, OP(FUTEX_OP_ADD, -1, FUTEX_OP_CMP_GE, 0));
    wake_op("SET 1<<4 (shifted), EQ 0", 0, OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_EQ, 0));
    wake_op("op 6", 3, (6u << 28));
    wake_op("cmp 9 (the op still happens)", 3, OP(FUTEX_OP_ADD, 1, 9, 0));
    r = futex(&words[0], FUTEX_WAKE_OP_PRIVATE, 1, 1, (uint32_t *)8, 0);
    printf("second word at a bad address: %s\n", err(r));
    r = futex(&words[0], FUTEX_WAKE_OP_PRIVATE, 1, 1, (uint32_t *)((char *)&words[1] + 1), 0);
    printf("misaligned second word: %s\n", err(r));
    /* With a waiter on each word: both woken when the comparison holds. */
    words[0] = 0;
    words[1] = 0;
    pthread_t a, b;
    pthread_create(&a, NULL, wait_on, &words[0]);
    pthread_create(&b, NULL, wait_on, &words[1]);
    long woke = 0;
    while (woke < 2) {
        r = futex(&words[0], FUTEX_WAKE_OP_PRIVATE, 1, 1, &words[1], OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 0));
        if (r < 0) break;
        woke += r;
        if (woke < 2) usleep(1000);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("two waiters woken by WAKE_OP: %ld\n", woke);
    return probe_end();
}
