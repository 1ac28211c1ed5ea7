/* Threads, futexes and join, as musl's pthreads use them (clone with CLONE_THREAD,
 * CLONE_SETTLS, CLONE_CHILD_CLEARTID; futex wait/wake). Deterministic output only.
 * Build: musl-gcc -static -O2 -o threads threads.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "probe.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static __thread int tls_value;

static void *adder(void *arg) {
    tls_value = (int)(long)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    int own_tid = syscall(SYS_gettid) != getpid();
    return (void *)(long)(tls_value * 10 + own_tid);
}

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!ready)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return (void *)42;
}

/* Thread-directed signals (tgkill): only the target thread takes them, with SI_TKILL and
 * the sender's pid, as glibc's setxid broadcast requires. */
static volatile int handled_by_target, handled_code, handled_pid_ok;
static pid_t target_tid;

static void on_usr1(int sig, siginfo_t *info, void *ctx) {
    (void)sig; (void)ctx;
    handled_by_target = syscall(SYS_gettid) == target_tid;
    handled_code = info->si_code;
    handled_pid_ok = info->si_pid == getpid();
}

static void *signal_target(void *arg) {
    (void)arg;
    target_tid = syscall(SYS_gettid);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    while (!handled_code)
        usleep(1000);
    return NULL;
}

static void thread_directed_signals(void) {
    struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, pending;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    /* A signal for the blocked main thread stays pending there; no other thread takes it. */
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    sigpending(&pending);
    printf("main: SIGUSR1 pending %d\n", sigismember(&pending, SIGUSR1));
    int sig = 0;
    siginfo_t info;
    sig = sigwaitinfo(&usr1, &info);
    printf("main: sigwaitinfo %d code %d own pid %d\n", sig, info.si_code, info.si_pid == getpid());
    pthread_t t;
    pthread_create(&t, NULL, signal_target, NULL);
    while (!target_tid)
        usleep(1000);
    syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1);
    pthread_join(t, NULL);
    printf("target thread handled it %d, code %d, sender pid ok %d\n", handled_by_target, handled_code, handled_pid_ok);
    printf("tgkill with a foreign tgid: %ld\n", syscall(SYS_tgkill, getpid() + 1000, target_tid, 0));
}

int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, (void *)(i + 1));
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("thread %d returned %ld\n", i, (long)r);
    }
    printf("counter %ld\n", counter);
    pthread_t w;
    pthread_create(&w, NULL, waiter, NULL);
    usleep(50000);
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    void *r;
    pthread_join(w, &r);
    printf("waiter returned %ld\n", (long)r);
    printf("main tls %d\n", tls_value);
    thread_directed_signals();
    return probe_end();
}
