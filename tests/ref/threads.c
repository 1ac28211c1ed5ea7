/* Threads, futexes and join, as musl's pthreads use them (clone with CLONE_THREAD,
 * CLONE_SETTLS, CLONE_CHILD_CLEARTID; futex wait/wake). Deterministic output only.
 * Build: musl-gcc -static -O2 -o threads threads.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

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
    return 0;
}
