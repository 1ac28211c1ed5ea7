/* Priority-inheritance futexes checked against Linux: FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI
 * and UNLOCK_PI on raw words (errors and the word each leaves), the hand-over from owner to
 * waiter, an owner that ends holding the lock (with a waiter, and without), a signal
 * handler running while a thread waits (the wait goes on), a lock shared by two processes,
 * and musl's PTHREAD_PRIO_INHERIT mutexes, plain and robust. Deterministic output only:
 * words are printed as who owns them and which flag bits are set.
 * Build: musl-gcc -static -O2 -o pifutex pifutex.c */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case ENOSYS: return "ENOSYS";
    case EAGAIN: return "EAGAIN";
    case EDEADLK: return "EDEADLK";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINTR: return "EINTR";
    default: return "other";
    }
}

static long futex(uint32_t *uaddr, int op, long val2, const struct timespec *timeout) {
    (void)val2;
    return syscall(SYS_futex, uaddr, op, 0, timeout, NULL, 0);
}

static pid_t gettid_(void) { return syscall(SYS_gettid); }

/* Names the TIDs the probe knows, so that output does not depend on their values. */
static pid_t named_tid[8];
static const char *tid_name[8];
static int names;

static void name_tid(pid_t tid, const char *name) {
    named_tid[names] = tid;
    tid_name[names++] = name;
}

static void show_word(const char *what, uint32_t w) {
    uint32_t owner = w & FUTEX_TID_MASK;
    const char *name = owner ? "unknown" : "none";
    for (int i = 0; i < names; i++)
        if (named_tid[i] == (pid_t)owner) name = tid_name[i];
    printf("%s: owner %s%s%s\n", what, name, w & FUTEX_WAITERS ? " WAITERS" : "",
           w & FUTEX_OWNER_DIED ? " OWNER_DIED" : "");
}

static void check(const char *what, long r, uint32_t *w) {
    printf("%s: %s\n", what, err(r));
    if (w) show_word("  word", *w);
}

/* Waits (bounded) until someone has queued on *w in the kernel. */
static void until_waiters(volatile uint32_t *w) {
    for (int i = 0; i < 20000 && !(*w & FUTEX_WAITERS); i++) usleep(1000);
}

static struct timespec in_ms(clockid_t clock, long ms) {
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_nsec += ms * 1000000;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

static uint32_t word;

/* A thread that sleeps holding nothing until told to end. */
static volatile int sleeper_may_end;
static volatile pid_t sleeper_tid;

static void *sleeper(void *arg) {
    (void)arg;
    sleeper_tid = gettid_();
    while (!sleeper_may_end) usleep(1000);
    return NULL;
}

static void errors(void) {
    check("UNLOCK_PI of a free word", futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), &word);
    check("TRYLOCK_PI of a free word", futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL), &word);
    check("TRYLOCK_PI again", futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL), &word);
    check("LOCK_PI of one's own lock", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL), &word);
    check("UNLOCK_PI", futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), &word);
    check("LOCK_PI of a free word", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL), &word);
    check("UNLOCK_PI", futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), &word);

    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    while (!sleeper_tid) usleep(1000);
    name_tid(sleeper_tid, "sleeper");
    word = sleeper_tid;
    check("TRYLOCK_PI of the sleeper's lock", futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL), &word);
    word = sleeper_tid;
    struct timespec rt = in_ms(CLOCK_REALTIME, 30);
    check("LOCK_PI until a CLOCK_REALTIME time", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, &rt), &word);
    struct timespec mono = in_ms(CLOCK_MONOTONIC, 30);
    check("LOCK_PI2 until a CLOCK_MONOTONIC time", futex(&word, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG, 0, &mono), &word);
    rt = in_ms(CLOCK_REALTIME, 30);
    check("LOCK_PI2 with FUTEX_CLOCK_REALTIME",
          futex(&word, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0, &rt), &word);
    check("LOCK_PI with FUTEX_CLOCK_REALTIME",
          futex(&word, FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &rt), NULL);
    check("UNLOCK_PI of the sleeper's lock", futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), &word);
    struct timespec past = {0, 0};
    check("LOCK_PI until a time long past", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, &past), NULL);
    struct timespec bad = {0, 1000000000};
    check("LOCK_PI with tv_nsec of a second", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, &bad), NULL);
    check("LOCK_PI with a bad timeout pointer",
          futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, (struct timespec *)8), NULL);
    check("TRYLOCK_PI at a bad address", futex((uint32_t *)8, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL), NULL);
    check("UNLOCK_PI at a misaligned address",
          futex((uint32_t *)((char *)&word + 1), FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), NULL);
    sleeper_may_end = 1;
    pthread_join(t, NULL);

    word = 0x3ffffff0;
    check("LOCK_PI of a lock whose owner does not exist", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL), &word);
    word = FUTEX_OWNER_DIED;
    check("LOCK_PI of an ownerless lock whose owner died", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL), &word);
    check("UNLOCK_PI", futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), &word);
    word = FUTEX_WAITERS;
    check("TRYLOCK_PI of a free word with WAITERS", futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL), &word);
    check("UNLOCK_PI", futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), &word);
}

/* A waiter that records what it saw. */
struct waiter {
    const char *name;
    long result;
    int err;
    uint32_t word_then, word_after;
    volatile int started;
    pid_t tid;
};

static void *lock_and_unlock(void *arg) {
    struct waiter *w = arg;
    w->tid = gettid_();
    w->started = 1;
    w->result = futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL);
    w->err = errno;
    w->word_then = word;
    futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL);
    w->word_after = word;
    return NULL;
}

static void report(struct waiter *w) {
    errno = w->err;
    printf("%s's LOCK_PI: %s\n", w->name, err(w->result));
    show_word("  word once it held the lock", w->word_then);
    show_word("  word after its UNLOCK_PI", w->word_after);
}

static void handover(void) {
    word = 0;
    futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL);
    struct waiter w = {.name = "waiter"};
    pthread_t t;
    pthread_create(&t, NULL, lock_and_unlock, &w);
    while (!w.started) usleep(1000);
    name_tid(w.tid, "waiter");
    until_waiters(&word);
    show_word("with a waiter queued", word);
    check("UNLOCK_PI hands the lock over", futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL), NULL);
    pthread_join(t, NULL);
    report(&w);
    show_word("at the end", word);
}

/* Two waiters: each gets the lock once, and it ends free. */
static void *count_under_lock(void *arg) {
    int *count = arg;
    for (int i = 0; i < 200; i++) {
        if (futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL) != 0) return NULL;
        int v = *count;
        if (i % 50 == 0) sched_yield();
        *count = v + 1;
        futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL);
    }
    return NULL;
}

static void contention(void) {
    word = 0;
    int count = 0;
    pthread_t a, b;
    pthread_create(&a, NULL, count_under_lock, &count);
    pthread_create(&b, NULL, count_under_lock, &count);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("two threads counting under the kernel's lock: %d\n", count);
    show_word("at the end", word);
}

/* An owner that ends holding the lock. */
static volatile int owner_may_end, owner_holds;
static volatile pid_t owner_tid;

static void *hold_and_end(void *arg) {
    (void)arg;
    owner_tid = gettid_();
    futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL);
    owner_holds = 1;
    while (!owner_may_end) usleep(1000);
    return NULL;
}

static void owner_dies(void) {
    word = 0;
    owner_may_end = owner_holds = 0;
    pthread_t o, t;
    pthread_create(&o, NULL, hold_and_end, NULL);
    while (!owner_holds) usleep(1000);
    name_tid(owner_tid, "owner");
    struct waiter w = {.name = "orphaned waiter"};
    pthread_create(&t, NULL, lock_and_unlock, &w);
    until_waiters(&word);
    show_word("owner holds, a waiter queued", word);
    owner_may_end = 1;
    pthread_join(o, NULL);
    pthread_join(t, NULL);
    name_tid(w.tid, "orphaned waiter");
    report(&w);

    /* Nobody waits: the lock keeps naming its dead owner. */
    word = 0;
    owner_may_end = owner_holds = 0;
    pthread_create(&o, NULL, hold_and_end, NULL);
    while (!owner_holds) usleep(1000);
    name_tid(owner_tid, "second owner");
    owner_may_end = 1;
    pthread_join(o, NULL);
    show_word("its owner ended with nobody waiting", word);
    check("LOCK_PI then", futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL), &word);
}

/* A signal handler runs while a thread waits; the wait goes on (no EINTR). */
static volatile int handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static void signal_while_waiting(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    word = 0;
    futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL);
    struct waiter w = {.name = "signalled waiter"};
    pthread_t t;
    pthread_create(&t, NULL, lock_and_unlock, &w);
    while (!w.started) usleep(1000);
    name_tid(w.tid, "signalled waiter");
    until_waiters(&word);
    pthread_kill(t, SIGUSR1);
    for (int i = 0; i < 20000 && !handled; i++) usleep(1000);
    /* The handler ran; its LOCK_PI restarts and queues again. Give it time to (a host that
     * stalls the guest for a millisecond must not let the unlock below find no waiter). */
    usleep(20000);
    printf("handler ran while it waited: %d\n", handled);
    futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL);
    pthread_join(t, NULL);
    report(&w);
}

/* A lock in shared memory, taken by a child process while its parent holds it. */
static void across_processes(void) {
    uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shared = 0;
    check("parent LOCK_PI (shared)", futex(shared, FUTEX_LOCK_PI, 0, NULL), NULL);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        long r = futex(shared, FUTEX_LOCK_PI, 0, NULL);
        int ok = r == 0 && (*shared & FUTEX_TID_MASK) == (uint32_t)getpid();
        futex(shared, FUTEX_UNLOCK_PI, 0, NULL);
        _exit(ok ? 0 : 1);
    }
    until_waiters(shared);
    check("parent UNLOCK_PI with the child waiting", futex(shared, FUTEX_UNLOCK_PI, 0, NULL), NULL);
    int status;
    waitpid(child, &status, 0);
    printf("child took the lock and named itself: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    show_word("shared word at the end", *shared);
}

/* musl's PTHREAD_PRIO_INHERIT mutexes run on these calls. */
static pthread_mutex_t pi_mutex;
static int pi_count;

static void *count_with_mutex(void *arg) {
    (void)arg;
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&pi_mutex);
        int v = pi_count;
        if (i % 60 == 0) sched_yield();
        pi_count = v + 1;
        pthread_mutex_unlock(&pi_mutex);
    }
    return NULL;
}

static void *lock_mutex_and_end(void *arg) {
    (void)arg;
    pthread_mutex_lock(&pi_mutex);
    return NULL;
}

static void mutexes(void) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    printf("setprotocol PRIO_INHERIT: %d\n", pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT));
    pthread_mutex_init(&pi_mutex, &attr);
    pthread_t a, b;
    pthread_create(&a, NULL, count_with_mutex, NULL);
    pthread_create(&b, NULL, count_with_mutex, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("two threads counting under a PI mutex: %d\n", pi_count);
    pthread_mutex_destroy(&pi_mutex);

    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&pi_mutex, &attr);
    pthread_create(&a, NULL, lock_mutex_and_end, NULL);
    pthread_join(a, NULL);
    int r = pthread_mutex_lock(&pi_mutex);
    printf("robust PI mutex whose owner ended: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : r == 0 ? "0" : "other");
    int consistent = pthread_mutex_consistent(&pi_mutex);
    int unlocked = pthread_mutex_unlock(&pi_mutex);
    printf("  consistent: %d, unlock: %d\n", consistent, unlocked);
    printf("  lock again: %d\n", pthread_mutex_lock(&pi_mutex));
    pthread_mutex_unlock(&pi_mutex);
}

int main(void) {
    name_tid(gettid_(), "main");
    errors();
    handover();
    contention();
    owner_dies();
    signal_while_waiting();
    across_processes();
    mutexes();
    return probe_end();
}
