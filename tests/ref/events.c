/* FIFOs, eventfd, epoll and timerfd, checked against Linux. Deterministic output only.
 * Build: musl-gcc -static -O2 -o events events.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <poll.h>
#include <time.h>
#include <sys/select.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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

/* timerfd: expiry counts, nonblocking reads, periodic timers, gettime, bad arguments, and
 * readiness through poll and epoll. Times are chosen so that no line depends on timing. */
static void timerfd_cases(void) {
    printf("timerfd bad clock: %s\n", timerfd_create(42, 0) < 0 && errno == EINVAL ? "EINVAL" : "?");
    printf("timerfd bad flags: %s\n", timerfd_create(CLOCK_MONOTONIC, 1) < 0 && errno == EINVAL ? "EINVAL" : "?");
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("timerfd cloexec: %d\n", (fcntl(t, F_GETFD) & FD_CLOEXEC) != 0);
    uint64_t n = 0;
    printf("disarmed read: %s\n", read(t, &n, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    printf("short read: %s\n", read(t, &n, 4) < 0 && errno == EINVAL ? "EINVAL" : "?");
    printf("write: %s\n", write(t, &n, 8) < 0 && errno == EINVAL ? "EINVAL" : "?");
    /* Armed far ahead first, so that a slow (emulated) machine cannot let it expire before
     * timerfd_gettime looks; then re-armed at 20 ms for the expiry below. */
    struct itimerspec far = { .it_value = { 60, 0 } }, its = { .it_value = { 0, 20 * 1000 * 1000 } }, old;
    printf("settime: %d\n", timerfd_settime(t, 0, &far, NULL));
    timerfd_gettime(t, &old);
    printf("armed: %d interval %ld\n", old.it_value.tv_sec > 0 && old.it_value.tv_sec <= 60, (long)old.it_interval.tv_nsec);
    timerfd_settime(t, 0, &its, NULL);
    struct pollfd pfd = { .fd = t, .events = POLLIN };
    int ready = poll(&pfd, 1, 5000);
    printf("poll: %d revents %d\n", ready, pfd.revents);
    ssize_t got_bytes = read(t, &n, 8);
    printf("one-shot read: %zd %llu\n", got_bytes, (unsigned long long)n);
    printf("read again: %s\n", read(t, &n, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    timerfd_gettime(t, &old);
    printf("after one-shot: %ld %ld\n", (long)old.it_value.tv_sec, (long)old.it_value.tv_nsec);
    /* A periodic timer that ran for a while has counted several expiries. */
    struct itimerspec every = { .it_interval = { 0, 5 * 1000 * 1000 }, .it_value = { 0, 5 * 1000 * 1000 } };
    timerfd_settime(t, 0, &every, NULL);
    usleep(100 * 1000);
    read(t, &n, 8);
    printf("periodic expiries >= 2: %d\n", n >= 2);
    /* A blocking read waits for the next expiry. */
    int b = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec abs = { .it_value = { now.tv_sec, now.tv_nsec } };
    abs.it_value.tv_nsec += 30 * 1000 * 1000;
    if (abs.it_value.tv_nsec >= 1000000000) { abs.it_value.tv_sec++; abs.it_value.tv_nsec -= 1000000000; }
    printf("absolute settime: %d\n", timerfd_settime(b, TFD_TIMER_ABSTIME, &abs, NULL));
    got_bytes = read(b, &n, 8);
    printf("blocking read: %zd %llu\n", got_bytes, (unsigned long long)n);
    /* Disarming drops unread expiries; old value comes back. */
    timerfd_settime(t, 0, &every, NULL);
    usleep(20 * 1000);
    struct itimerspec off = { 0 };
    timerfd_settime(t, 0, &off, &old);
    printf("old interval: %ld\n", (long)old.it_interval.tv_nsec);
    printf("after disarm: %s\n", read(t, &n, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    /* epoll sees it too. */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 5 };
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    its.it_value.tv_nsec = 10 * 1000 * 1000;
    timerfd_settime(t, 0, &its, NULL);
    struct epoll_event got = { 0 };
    int events = epoll_wait(ep, &got, 1, 5000);
    printf("epoll: %d data %llu\n", events, (unsigned long long)got.data.u64);
    /* Bad arguments. */
    struct itimerspec bad = { .it_value = { 0, 1000000000 } };
    printf("bad nsec: %s\n", timerfd_settime(t, 0, &bad, NULL) < 0 && errno == EINVAL ? "EINVAL" : "?");
    printf("bad settime flags: %s\n", timerfd_settime(t, 8, &its, NULL) < 0 && errno == EINVAL ? "EINVAL" : "?");
    printf("settime on an epoll fd: %s\n", timerfd_settime(ep, 0, &its, NULL) < 0 && errno == EINVAL ? "EINVAL" : "?");
    printf("gettime on a bad fd: %s\n", timerfd_gettime(999, &old) < 0 && errno == EBADF ? "EBADF" : "?");
    printf("settime from a bad pointer: %s\n", timerfd_settime(t, 0, (void *)8, NULL) < 0 && errno == EFAULT ? "EFAULT" : "?");
    close(t);
    close(b);
    close(ep);
}

/* Prints what one epoll_wait (timeout 0) reports: the count, then each event's data and
 * bits (IN, OUT, HUP), in the order reported. */
static void show_wait(const char *what, int ep) {
    struct epoll_event out[4];
    int k = epoll_wait(ep, out, 4, 0);
    printf("%s: %d", what, k);
    for (int i = 0; i < k; i++)
        printf(" [%llu%s%s%s]", (unsigned long long)out[i].data.u64,
               out[i].events & EPOLLIN ? " IN" : "", out[i].events & EPOLLOUT ? " OUT" : "",
               out[i].events & EPOLLHUP ? " HUP" : "");
    printf("\n");
}

/* Edge-triggered epoll: an event once per change, not while the file stays ready. */
static void edge_triggered_cases(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 1 };
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    show_wait("et pipe empty", ep);
    write(p[1], "a", 1);
    show_wait("et pipe after a write", ep);
    show_wait("et pipe again, no new write", ep);
    write(p[1], "b", 1);
    show_wait("et pipe after a second write", ep);
    char c;
    read(p[0], &c, 1);
    show_wait("et pipe after a partial read", ep);
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    show_wait("et pipe after EPOLL_CTL_MOD", ep);
    read(p[0], &c, 1);
    show_wait("et pipe drained", ep);
    write(p[1], "c", 1);
    show_wait("et pipe refilled", ep);
    close(p[1]);
    show_wait("et pipe writer closed", ep);
    close(p[0]);
    close(ep);

    /* Two connected sockets, each watched for IN and OUT edge-triggered: writable once. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    ep = epoll_create1(0);
    struct epoll_event both = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
    for (int i = 0; i < 2; i++) {
        both.data.u64 = 10 + i;
        epoll_ctl(ep, EPOLL_CTL_ADD, sv[i], &both);
    }
    show_wait("et unix pair", ep);
    show_wait("et unix pair again", ep);
    write(sv[0], "x", 1);
    show_wait("et unix pair after a write", ep);
    close(sv[0]);
    close(sv[1]);
    close(ep);

    /* The same over TCP on loopback (CPython's test_epoll.test_control_and_wait). */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 1);
    getsockname(l, (struct sockaddr *)&a, &alen);
    int cl = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(cl, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("et tcp: connect failed: %s\n", strerror(errno));
        return;
    }
    int sv2 = accept(l, NULL, NULL);
    ep = epoll_create1(0);
    both.data.u64 = 20;
    epoll_ctl(ep, EPOLL_CTL_ADD, cl, &both);
    both.data.u64 = 21;
    epoll_ctl(ep, EPOLL_CTL_ADD, sv2, &both);
    struct epoll_event out[4];
    int k = epoll_wait(ep, out, 4, 1000);
    unsigned long long seen = 0;
    for (int i = 0; i < k; i++)
        seen |= (out[i].events & EPOLLOUT ? 1ull : 0) << (out[i].data.u64 - 20);
    printf("et tcp first wait: both writable %s\n", seen == 3 ? "yes" : "no");
    k = epoll_wait(ep, out, 4, 100);
    printf("et tcp second wait: %d\n", k);
    write(cl, "hello", 5);
    k = epoll_wait(ep, out, 4, 1000);
    int in_at_server = 0;
    for (int i = 0; i < k; i++)
        if (out[i].data.u64 == 21 && (out[i].events & EPOLLIN)) in_at_server = 1;
    printf("et tcp after a write: server readable %d\n", in_at_server);
    close(cl);
    close(sv2);
    close(l);
    close(ep);
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
    timerfd_cases();
    edge_triggered_cases();
    return probe_end();
}
