/* FIFOs, eventfd and epoll, checked against Linux. Deterministic output only.
 * Build: musl-gcc -static -O2 -o events events.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

/* select(2): readiness per set, descriptors past nfds ignored, a closed one is EBADF. */
static void select_cases(void) {
    int p[2];
    pipe(p);
    fd_set r, w;
    struct timeval zero = { 0, 0 };
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(p[0], &r); FD_SET(p[1], &w);
    int n = select(p[1] + 1, &r, &w, NULL, &zero);
    printf("select, empty pipe: %d read=%d write=%d\n", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
    write(p[1], "x", 1);
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(p[0], &r); FD_SET(p[1], &w);
    zero.tv_sec = 0; zero.tv_usec = 0;
    n = select(p[1] + 1, &r, &w, NULL, &zero);
    printf("select, one byte: %d read=%d write=%d\n", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    FD_SET(200, &r); /* past nfds: ignored, though 200 is not open */
    zero.tv_sec = 0; zero.tv_usec = 0;
    n = select(p[0] + 1, &r, NULL, NULL, &zero);
    printf("select, a closed fd past nfds: %d\n", n);
    FD_ZERO(&r);
    FD_SET(40, &r); /* within Linux's smallest descriptor table (64), so it is looked at */
    zero.tv_sec = 0; zero.tv_usec = 0;
    n = select(41, &r, NULL, NULL, &zero);
    printf("select, a closed fd: %d %s\n", n, n < 0 && errno == EBADF ? "EBADF" : "?");
    struct timeval tenth = { 0, 100000 };
    FD_ZERO(&r);
    read(p[0], (char[1]){0}, 1);
    FD_SET(p[0], &r);
    n = select(p[0] + 1, &r, NULL, NULL, &tenth);
    printf("select, timeout: %d read=%d\n", n, FD_ISSET(p[0], &r));
    close(p[0]);
    close(p[1]);
}

int main(void) {
    /* A named pipe between parent and child. */
    if (mkfifo("/tmp/fifo", 0600) != 0) { perror("mkfifo"); return 1; }
    struct stat st;
    stat("/tmp/fifo", &st);
    printf("fifo is a fifo: %d\n", S_ISFIFO(st.st_mode));
    printf("nonblocking writer without reader: %s\n", open("/tmp/fifo", O_WRONLY | O_NONBLOCK) < 0 && errno == ENXIO ? "ENXIO" : "?");
    pid_t child = fork();
    if (child == 0) {
        int w = open("/tmp/fifo", O_WRONLY);
        write(w, "through the fifo\n", 17);
        close(w);
        _exit(0);
    }
    int r = open("/tmp/fifo", O_RDONLY);
    char buf[64] = {0};
    ssize_t n, total = 0;
    while ((n = read(r, buf + total, sizeof buf - 1 - total)) > 0) total += n;
    printf("read %zd bytes: %s", total, buf);
    close(r);
    waitpid(child, NULL, 0);

    /* eventfd counter and semaphore modes. */
    int efd = eventfd(3, EFD_NONBLOCK);
    uint64_t v = 4;
    write(efd, &v, 8);
    read(efd, &v, 8);
    printf("eventfd read %llu\n", (unsigned long long)v);
    printf("eventfd empty read: %s\n", read(efd, &v, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    int sem = eventfd(2, EFD_SEMAPHORE);
    read(sem, &v, 8);
    printf("semaphore read %llu\n", (unsigned long long)v);

    /* epoll over a pipe and an eventfd. */
    int p[2];
    pipe(p);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 };
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    ev.data.u64 = 9;
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    printf("add twice: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0 && errno == EEXIST ? "EEXIST" : "?");
    struct epoll_event out[4];
    printf("ready before writes: %d\n", epoll_wait(ep, out, 4, 0));
    write(p[1], "x", 1);
    int k = epoll_wait(ep, out, 4, 1000);
    printf("ready after pipe write: %d data %llu\n", k, (unsigned long long)out[0].data.u64);
    v = 1;
    write(efd, &v, 8);
    k = epoll_wait(ep, out, 4, 1000);
    printf("ready after eventfd write: %d\n", k);
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
    k = epoll_wait(ep, out, 4, 1000);
    printf("after delete: %d data %llu\n", k, (unsigned long long)out[0].data.u64);
    close(p[1]);
    ev.data.u64 = 11;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    read(efd, &v, 8);
    k = epoll_wait(ep, out, 4, 1000);
    printf("hangup: %d events %s\n", k, (out[0].events & EPOLLHUP) ? "HUP" : "no HUP");
    int regular = open("/tmp/plain", O_CREAT | O_RDWR, 0600);
    printf("epoll on a regular file: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, regular, &ev) < 0 && errno == EPERM ? "EPERM" : "?");
    /* Nested epoll instances: a loop is ELOOP, an instance in itself EINVAL. */
    int outer = epoll_create1(0), inner = epoll_create1(0);
    struct epoll_event nested = { .events = EPOLLIN };
    printf("epoll in epoll: %d\n", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &nested));
    int loop = epoll_ctl(inner, EPOLL_CTL_ADD, outer, &nested);
    printf("epoll loop: %d %s\n", loop, loop < 0 && errno == ELOOP ? "ELOOP" : "?");
    int self = epoll_ctl(outer, EPOLL_CTL_ADD, outer, &nested);
    printf("epoll in itself: %d %s\n", self, self < 0 && errno == EINVAL ? "EINVAL" : "?");
    select_cases();
    return probe_end();
}
