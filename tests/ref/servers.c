/* What Debian's servers and their clients do with sockets (tests/src/net_services.rs runs the
 * programs): a dual-stack [::] listener takes the IPv4 port too, and hiredis's refused
 * non-blocking connect watched by epoll (redis-benchmark's event loop). Not here yet: an
 * IPV6_V6ONLY [::] listener next to a 0.0.0.0 one on the same port (redis-server's default
 * `bind * -::*`), which Linux allows and this kernel refuses with EADDRINUSE.
 * Deterministic output only. Build: musl-gcc -static -O2 -o servers servers.c */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "probe.h"

static void report(const char *what, long r) {
    if (r < 0)
        printf("%-52s -1 %s\n", what, strerror(errno));
    else
        printf("%-52s %ld\n", what, r);
}

static struct sockaddr_in any4(unsigned short port) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    return a;
}

static struct sockaddr_in6 any6(unsigned short port) {
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
    return a;
}

static int v6_socket(int v6only) {
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    return s;
}

static int v4_socket(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    return s;
}

/* A dual-stack [::] listener holds the IPv4 port as well, in either order. */
static void dual_stack_listeners(void) {
    struct sockaddr_in a4 = any4(6379);
    struct sockaddr_in6 a6 = any6(6379);
    int four = v4_socket();
    report("bind 0.0.0.0:6379", bind(four, (struct sockaddr *)&a4, sizeof a4));
    report("listen", listen(four, 511));
    int both = v6_socket(0);
    report("bind [::]:6379 dual-stack after it", bind(both, (struct sockaddr *)&a6, sizeof a6));
    close(both);
    close(four);
    a6 = any6(6381);
    both = v6_socket(0);
    report("bind [::]:6381 dual-stack", bind(both, (struct sockaddr *)&a6, sizeof a6));
    report("listen", listen(both, 16));
    four = v4_socket();
    a4 = any4(6381);
    report("bind 0.0.0.0:6381 after it", bind(four, (struct sockaddr *)&a4, sizeof a4));
    close(four);
    close(both);
}

/* hiredis's non-blocking connect, watched for EPOLLOUT by redis-benchmark's event loop. */
static void refused_under_epoll(int register_first) {
    struct sockaddr_in a = any4(6390);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ep = epoll_create1(0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c };
    if (register_first)
        report("epoll_ctl ADD EPOLLOUT before connect", epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
    report("nonblocking connect to a closed port", connect(c, (struct sockaddr *)&a, sizeof a));
    if (!register_first)
        report("epoll_ctl ADD EPOLLOUT after connect", epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
    struct epoll_event got = { 0 };
    report("epoll_wait", epoll_wait(ep, &got, 1, 3000));
    printf("events OUT %d ERR %d HUP %d IN %d\n", !!(got.events & EPOLLOUT),
           !!(got.events & EPOLLERR), !!(got.events & EPOLLHUP), !!(got.events & EPOLLIN));
    report("write after the refusal", write(c, "PING\r\n", 6));
    report("write again (SIGPIPE ignored)", write(c, "PING\r\n", 6));
    close(c);
    close(ep);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    dual_stack_listeners();
    refused_under_epoll(1);
    refused_under_epoll(0);
    return probe_end();
}
