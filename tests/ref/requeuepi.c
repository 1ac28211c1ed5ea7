/* FUTEX_WAIT_REQUEUE_PI and FUTEX_CMP_REQUEUE_PI checked against Linux: the errors of both
 * (EINVAL for the same address, a wake count other than 1, a negative requeue count, a
 * waiter of another kind or for another PI word; EAGAIN for val3 or val; EFAULT; ENOSYS for
 * FUTEX_CLOCK_REALTIME on CMP_REQUEUE_PI; EDEADLK and ESRCH from the PI word), plain wakes
 * and requeues refusing a requeue-PI waiter, a requeue that takes a free lock for the first
 * waiter (with and without FUTEX_WAITERS), one that queues waiters behind the owner (they
 * get the lock one after the other from UNLOCK_PI), a timeout before and after the requeue,
 * and a signal before the requeue (the wait goes on) and after it (EAGAIN).
 * Deterministic output only: the threads are sequenced by what can be seen without waking
 * them (a FUTEX_WAKE on the condition word is EINVAL while a requeue-PI waiter sleeps
 * there, 0 when nobody does), words are printed as whose TID they hold and which bits.
 * Build: musl-gcc -static -O2 -o requeuepi requeuepi.c */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

#ifndef FUTEX_WAIT_REQUEUE_PI
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#endif
#define PRIV FUTEX_PRIVATE_FLAG

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    case EDEADLK: return "EDEADLK";
    case ESRCH: return "ESRCH";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINTR: return "EINTR";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

static long futex(void *uaddr, int op, uint32_t val, uintptr_t val2, void *uaddr2, uint32_t val3) {
    return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

/* A result as a number or an errno name. */
static const char *res(long r) {
    static char buf[8][32];
    static int at;
    char *b = buf[at++ % 8];
    if (r < 0) return err(r);
    snprintf(b, 32, "%ld", r);
    return b;
}

static uint32_t cond, pi, pi2;
static pid_t main_tid;
static volatile pid_t tids[2];

/* Whose TID a word holds (main, t0, t1, 0 or other) and its flag bits. */
static const char *who(uint32_t w) {
    static char buf[4][64];
    static int at;
    char *b = buf[at++ % 4];
    uint32_t tid = w & FUTEX_TID_MASK;
    const char *name = tid == 0                   ? "0"
                       : tid == (uint32_t)main_tid ? "main"
                       : tid == (uint32_t)tids[0]  ? "t0"
                       : tid == (uint32_t)tids[1]  ? "t1"
                                                   : "other";
    snprintf(b, 64, "%s%s%s", name, w & FUTEX_WAITERS ? "|WAITERS" : "",
             w & FUTEX_OWNER_DIED ? "|OWNER_DIED" : "");
    return b;
}

static uint64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct timespec at_ns(uint64_t ns) {
    struct timespec ts = {ns / 1000000000ull, ns % 1000000000ull};
    return ts;
}

/* What each waiter thread does, and what it saw. */
struct job {
    int slot;
    int lock_first;       /* LOCK_PI on pi before waiting (EDEADLK case) */
    int plain_wait;       /* FUTEX_WAIT instead (a waiter of the wrong kind) */
    uint64_t timeout_ms;  /* absolute monotonic deadline from now, 0 for none */
    void *target;         /* the PI word */
    long result;
    int error;
    uint32_t word_after;  /* the PI word right after the wait returned */
    long unlock;          /* UNLOCK_PI after a successful wait */
    int unlock_error;
    volatile int go;      /* set by main when the waiter may give the lock back */
};

static volatile int handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static void *waiter(void *arg) {
    struct job *j = arg;
    tids[j->slot] = syscall(SYS_gettid);
    if (j->lock_first) futex(j->target, FUTEX_LOCK_PI | PRIV, 0, 0, NULL, 0);
    struct timespec ts;
    void *timeout = NULL;
    if (j->timeout_ms) {
        ts = at_ns(now_ns(CLOCK_MONOTONIC) + j->timeout_ms * 1000000ull);
        timeout = &ts;
    }
    if (j->plain_wait)
        j->result = futex(&cond, FUTEX_WAIT | PRIV, 0, 0, NULL, 0);
    else
        j->result = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, (uintptr_t)timeout, j->target, 0);
    j->error = errno;
    j->word_after = *(volatile uint32_t *)j->target;
    while (!j->go) sched_yield();
    j->unlock = -2;
    if (j->result == 0 && !j->plain_wait) {
        j->unlock = futex(j->target, FUTEX_UNLOCK_PI | PRIV, 0, 0, NULL, 0);
        j->unlock_error = errno;
    } else if (j->lock_first) {
        j->unlock = futex(j->target, FUTEX_UNLOCK_PI | PRIV, 0, 0, NULL, 0);
        j->unlock_error = errno;
    }
    return NULL;
}

static pthread_t start(struct job *j) {
    pthread_t t;
    tids[j->slot] = 0;
    j->go = 0;
    pthread_create(&t, NULL, waiter, j);
    while (!tids[j->slot]) sched_yield();
    return t;
}

/* Waits until `n` requeue-PI waiters... one at least: a wake on cond is EINVAL then. */
static void until_queued(void) {
    for (;;) {
        long r = futex(&cond, FUTEX_WAKE_BITSET | PRIV, 1, 0, NULL, FUTEX_BITSET_MATCH_ANY);
        if (r < 0 && errno == EINVAL) return;
        sched_yield();
    }
}

static void finish_as(const char *what, pthread_t t, struct job *j, int show_now) {
    j->go = 1;
    pthread_join(t, NULL);
    errno = j->error;
    printf("%s: wait %s, word then %s", what, res(j->result), who(j->word_after));
    if (j->unlock != -2) {
        errno = j->unlock_error;
        printf(", unlock %s", res(j->unlock));
    }
    if (show_now) printf(", word now %s", who(*(volatile uint32_t *)j->target));
    printf("\n");
}

static void finish(const char *what, pthread_t t, struct job *j) {
    finish_as(what, t, j, 1);
}

/* Prints `what`, the result `r` of a call made before, and the PI word as it is now (a
 * separate statement: the call's arguments would be evaluated in no fixed order). */
static void after(const char *what, long r) {
    const char *shown = res(r);
    printf("%s: %s, word %s\n", what, shown, who(pi));
}

static long cmp_requeue_pi(int flags, void *u1, uint32_t nr_wake, uint32_t nr_requeue, void *u2,
                           uint32_t val3) {
    return futex(u1, FUTEX_CMP_REQUEUE_PI | flags, nr_wake, nr_requeue, u2, val3);
}

static void errors(void) {
    char *unmapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(unmapped, 4096);
    long r;
    r = cmp_requeue_pi(PRIV, &cond, 1, 0, &cond, 0);
    printf("cmp_requeue_pi same address: %s\n", err(r));
    r = cmp_requeue_pi(PRIV, &cond, 2, 0, &pi, 0);
    printf("cmp_requeue_pi nr_wake 2: %s\n", err(r));
    r = cmp_requeue_pi(PRIV, &cond, 0, 0, &pi, 0);
    printf("cmp_requeue_pi nr_wake 0: %s\n", err(r));
    r = cmp_requeue_pi(PRIV, &cond, 1, 0x80000000u, &pi, 0);
    printf("cmp_requeue_pi negative nr_requeue: %s\n", err(r));
    r = cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 5);
    printf("cmp_requeue_pi val3 differs: %s\n", res(r));
    r = cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0);
    printf("cmp_requeue_pi nobody waits: %s, pi word %s\n", res(r), who(pi));
    r = cmp_requeue_pi(PRIV, &cond, 1, 0, unmapped, 0);
    printf("cmp_requeue_pi unmapped uaddr2: %s\n", res(r));
    r = cmp_requeue_pi(PRIV, unmapped, 1, 0, &pi, 0);
    printf("cmp_requeue_pi unmapped uaddr: %s\n", res(r));
    r = cmp_requeue_pi(0, &cond, 1, 0, unmapped, 0);
    printf("cmp_requeue_pi shared, unmapped uaddr2: %s\n", res(r));
    r = cmp_requeue_pi(PRIV, (char *)&cond + 1, 1, 0, &pi, 0);
    printf("cmp_requeue_pi misaligned: %s\n", res(r));
    r = cmp_requeue_pi(PRIV | FUTEX_CLOCK_REALTIME, &cond, 1, 0, &pi, 0);
    printf("cmp_requeue_pi CLOCK_REALTIME: %s\n", res(r));
    r = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, 0, &cond, 0);
    printf("wait_requeue_pi same address: %s\n", res(r));
    r = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV, 1, 0, &pi, 0);
    printf("wait_requeue_pi val differs: %s\n", res(r));
    r = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, 0, (char *)&pi + 2, 0);
    printf("wait_requeue_pi misaligned uaddr2: %s\n", res(r));
    r = futex(unmapped, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, 0, &pi, 0);
    printf("wait_requeue_pi unmapped uaddr: %s\n", res(r));
    r = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, (uintptr_t)unmapped, &pi, 0);
    printf("wait_requeue_pi unmapped timeout: %s\n", res(r));
    struct timespec bad = {0, 1000000000};
    r = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, (uintptr_t)&bad, &pi, 0);
    printf("wait_requeue_pi invalid timeout: %s\n", res(r));
    struct timespec past = at_ns(now_ns(CLOCK_MONOTONIC) + 20000000ull);
    r = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, (uintptr_t)&past, &pi, 0);
    printf("wait_requeue_pi monotonic timeout: %s\n", res(r));
    struct timespec real = at_ns(now_ns(CLOCK_REALTIME) + 20000000ull);
    r = futex(&cond, FUTEX_WAIT_REQUEUE_PI | PRIV | FUTEX_CLOCK_REALTIME, 0, (uintptr_t)&real, &pi,
              0);
    printf("wait_requeue_pi realtime timeout: %s, pi word %s\n", res(r), who(pi));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    main_tid = syscall(SYS_gettid);
    long r;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    errors();

    /* A free lock: the requeue takes it for the waiter, which returns owning it. */
    struct job j0 = {.slot = 0, .target = &pi};
    pthread_t t0 = start(&j0);
    until_queued();
    printf("wake on cond with a requeue-pi waiter: %s\n",
           res(futex(&cond, FUTEX_WAKE | PRIV, 1, 0, NULL, 0)));
    printf("plain cmp_requeue with one: %s\n",
           res(futex(&cond, FUTEX_CMP_REQUEUE | PRIV, 1, 1, &pi2, 0)));
    printf("cmp_requeue_pi to another pi word: %s\n", res(cmp_requeue_pi(PRIV, &cond, 1, 1, &pi2, 0)));
    printf("cmp_requeue_pi shared flag: %s\n", res(cmp_requeue_pi(0, &cond, 1, 0, &pi, 0)));
    after("cmp_requeue_pi free lock", cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0));
    finish("free lock", t0, &j0);

    /* The same with nr_requeue 1: FUTEX_WAITERS is set for the others to come. */
    t0 = start(&j0);
    until_queued();
    after("cmp_requeue_pi free lock, nr_requeue 1", cmp_requeue_pi(PRIV, &cond, 1, 1, &pi, 0));
    finish("free lock, nr_requeue 1", t0, &j0);

    /* An owned lock: both waiters are queued behind main and get it in turn. */
    after("main lock_pi", futex(&pi, FUTEX_LOCK_PI | PRIV, 0, 0, NULL, 0));
    struct job j1 = {.slot = 1, .target = &pi};
    t0 = start(&j0);
    until_queued();
    pthread_t t1 = start(&j1);
    /* t0 was queued first: a requeue of one moves it (t1 may not sleep yet). */
    after("cmp_requeue_pi owned lock, nr_requeue 0", cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0));
    until_queued();
    printf("t1 still on cond: yes\n");
    after("cmp_requeue_pi owned lock, nr_requeue 1", cmp_requeue_pi(PRIV, &cond, 1, 1, &pi, 0));
    printf("wake on cond now: %s\n", res(futex(&cond, FUTEX_WAKE | PRIV, 1, 0, NULL, 0)));
    printf("main unlock_pi: %s\n", res(futex(&pi, FUTEX_UNLOCK_PI | PRIV, 0, 0, NULL, 0)));
    finish_as("queued first", t0, &j0, 0);
    finish("queued second", t1, &j1);

    /* A timeout after the requeue: ETIMEDOUT, the lock still main's. */
    futex(&pi, FUTEX_LOCK_PI | PRIV, 0, 0, NULL, 0);
    j0.timeout_ms = 1500;
    t0 = start(&j0);
    until_queued();
    after("cmp_requeue_pi before the timeout", cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0));
    finish("timeout after requeue", t0, &j0);
    after("main unlock_pi", futex(&pi, FUTEX_UNLOCK_PI | PRIV, 0, 0, NULL, 0));
    j0.timeout_ms = 0;

    /* A signal before the requeue: the handler runs and the wait goes on. */
    handled = 0;
    t0 = start(&j0);
    until_queued();
    pthread_kill(t0, SIGUSR1);
    while (!handled) sched_yield();
    until_queued();
    printf("after the handler, still waiting: yes\n");
    printf("cmp_requeue_pi: %s\n", res(cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0)));
    finish("signal before requeue", t0, &j0);

    /* A signal after the requeue: EAGAIN, without the lock. */
    futex(&pi, FUTEX_LOCK_PI | PRIV, 0, 0, NULL, 0);
    handled = 0;
    t0 = start(&j0);
    until_queued();
    after("cmp_requeue_pi owned", cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0));
    pthread_kill(t0, SIGUSR1);
    finish("signal after requeue", t0, &j0);
    printf("handler ran: %d\n", handled);
    after("main unlock_pi", futex(&pi, FUTEX_UNLOCK_PI | PRIV, 0, 0, NULL, 0));

    /* The first waiter owns the PI word: EDEADLK; it times out. */
    j0.lock_first = 1;
    j0.timeout_ms = 1500;
    t0 = start(&j0);
    until_queued();
    after("cmp_requeue_pi to the waiter's own lock", cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0));
    finish("waiter owning the lock", t0, &j0);
    j0.lock_first = 0;
    j0.timeout_ms = 0;

    /* The PI word names a thread that does not exist: ESRCH, FUTEX_WAITERS left. */
    pi = 0x3fff0000;
    t0 = start(&j0);
    until_queued();
    r = cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0);
    printf("cmp_requeue_pi, owner gone: %s, word %08x\n", res(r), pi);
    pi = 0;
    printf("cmp_requeue_pi once free: %s\n", res(cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0)));
    finish("owner gone, then free", t0, &j0);

    /* A plain FUTEX_WAIT waiter: CMP_REQUEUE_PI refuses it. */
    j0.plain_wait = 1;
    t0 = start(&j0);
    while ((r = cmp_requeue_pi(PRIV, &cond, 1, 0, &pi, 0)) == 0) sched_yield();
    printf("cmp_requeue_pi with a plain waiter: %s\n", res(r));
    printf("wake it: %s\n", res(futex(&cond, FUTEX_WAKE | PRIV, 1, 0, NULL, 0)));
    j0.go = 1;
    pthread_join(t0, NULL);
    printf("plain waiter: %s\n", res(j0.result));
    return probe_end();
}
