/* Inet sockets over loopback: TCP listen/connect/accept and echo, non-blocking connect,
 * ECONNREFUSED, EADDRINUSE/EADDRNOTAVAIL, shutdown, EPIPE and SIGPIPE, resets, UDP
 * send/receive (peek, truncation, the connected filter), names, options, timeouts,
 * poll/epoll readiness, and AF_INET6 on ::1 and through v4-mapped addresses. Deterministic output only: never a port the kernel chose (only
 * whether two agree, or lie in the ephemeral range), never a timing.
 * Build: musl-gcc -static -O2 -o inet inet.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

/* SIOCOUTQ is linux/sockios.h's name for TIOCOUTQ; musl has no linux/ headers. */
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif

static volatile int sigpipes;

static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

static void report(const char *what, long r) {
    if (r < 0)
        printf("%-48s -1 %s\n", what, strerror(errno));
    else
        printf("%-48s %ld\n", what, r);
}

static struct sockaddr_in loopback(unsigned short port) {
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static struct sockaddr_in name_of(int fd, int peer) {
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof a;
    if (peer)
        getpeername(fd, (struct sockaddr *)&a, &len);
    else
        getsockname(fd, (struct sockaddr *)&a, &len);
    return a;
}

static unsigned short port_of(int fd) {
    return ntohs(name_of(fd, 0).sin_port);
}

static void print_name(const char *what, int fd, int peer) {
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                 : getsockname(fd, (struct sockaddr *)&a, &len);
    if (r < 0) {
        printf("%-48s -1 %s\n", what, strerror(errno));
        return;
    }
    printf("%-48s family %d addr %s len %u port-set %d\n", what, a.sin_family, inet_ntoa(a.sin_addr),
           len, a.sin_port != 0);
}

/* Linux hands loopback segments and datagrams on from a softirq, which under load (from
 * ksoftirqd) may run a moment after the sending call returns: wait until data, a FIN or a
 * reset has arrived, so that what is printed next does not depend on timing. */
static void wait_for_input(int fd) {
    struct pollfd arrived = { .fd = fd, .events = POLLIN };
    poll(&arrived, 1, 5000);
}

static void print_revents(const char *what, int fd, short events) {
    struct pollfd p = { fd, events, 0 };
    int n = poll(&p, 1, 0);
    printf("%-48s %d:%s%s%s%s%s\n", what, n, p.revents & POLLIN ? " IN" : "",
           p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
           p.revents & POLLERR ? " ERR" : "", p.revents & POLLRDHUP ? " RDHUP" : "");
}

static int int_option(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -errno;
    return v;
}

static void print_so_error(const char *what, int fd) {
    int e = int_option(fd, SOL_SOCKET, SO_ERROR);
    printf("%-48s %s\n", what, e ? strerror(e) : "0");
}

/* A listener on 127.0.0.1 and a port of the kernel's choosing. */
static int listener(int backlog) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, backlog);
    return s;
}

/* Connects a new socket to `server` (blocking) and returns it; *accepted gets the other end. */
static int connected(int server, int *accepted) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port_of(server));
    connect(c, (struct sockaddr *)&a, sizeof a);
    *accepted = accept(server, NULL, NULL);
    return c;
}

/* A port nothing listens on: bound by a socket that is then closed. */
static unsigned short dead_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    unsigned short port = port_of(s);
    close(s);
    return port;
}

static void creation(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    report("socket stream", s >= 0 ? 0 : -1);
    printf("SO_TYPE %d SO_PROTOCOL %d SO_DOMAIN %d\n", int_option(s, SOL_SOCKET, SO_TYPE),
           int_option(s, SOL_SOCKET, SO_PROTOCOL), int_option(s, SOL_SOCKET, SO_DOMAIN));
    print_name("unbound getsockname", s, 0);
    print_name("unbound getpeername", s, 1);
    print_revents("fresh stream poll", s, POLLIN | POLLOUT | POLLRDHUP);
    char c;
    report("recv on fresh stream", recv(s, &c, 1, MSG_DONTWAIT));
    report("send on fresh stream", send(s, "x", 1, MSG_NOSIGNAL));
    report("shutdown fresh stream", shutdown(s, SHUT_RDWR));
    report("accept on fresh stream", accept(s, NULL, NULL));
    close(s);
    report("socket seqpacket", socket(AF_INET, SOCK_SEQPACKET, 0));
    report("socket stream with UDP protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    report("socket dgram with TCP protocol", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    int u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    printf("udp SO_TYPE %d SO_PROTOCOL %d\n", int_option(u, SOL_SOCKET, SO_TYPE),
           int_option(u, SOL_SOCKET, SO_PROTOCOL));
    close(u);
    int sv[2];
    report("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));
}

static void binding(void) {
    int a = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = loopback(0);
    report("bind 127.0.0.1:0", bind(a, (struct sockaddr *)&addr, sizeof addr));
    unsigned short port = port_of(a);
    printf("ephemeral port in 32768..60999 %d\n", port >= 32768 && port <= 60999);
    print_name("bound getsockname", a, 0);
    report("bind again", bind(a, (struct sockaddr *)&addr, sizeof addr));
    int b = socket(AF_INET, SOCK_STREAM, 0);
    addr = loopback(port);
    report("bind same port", bind(b, (struct sockaddr *)&addr, sizeof addr));
    struct sockaddr_in any = { 0 };
    any.sin_family = AF_INET;
    any.sin_port = htons(port);
    report("bind same port on 0.0.0.0", bind(b, (struct sockaddr *)&any, sizeof any));
    struct sockaddr_in far = loopback(0);
    far.sin_addr.s_addr = inet_addr("10.1.2.3");
    report("bind 10.1.2.3", bind(b, (struct sockaddr *)&far, sizeof far));
    report("bind short address", bind(b, (struct sockaddr *)&addr, 8));
    close(a);
    report("bind the port once its owner closed", bind(b, (struct sockaddr *)&addr, sizeof addr));
    close(b);

    int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    addr = loopback(0);
    bind(r1, (struct sockaddr *)&addr, sizeof addr);
    addr = loopback(port_of(r1));
    report("SO_REUSEADDR: bind same port", bind(r2, (struct sockaddr *)&addr, sizeof addr));
    report("SO_REUSEADDR: first listens", listen(r1, 1));
    report("SO_REUSEADDR: second listens", listen(r2, 1));
    int r3 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(r3, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    report("SO_REUSEADDR: bind a listening port", bind(r3, (struct sockaddr *)&addr, sizeof addr));
    close(r1);
    close(r2);
    close(r3);

    /* SO_REUSEPORT: sockets that all set it share a port, listening too. A fixed port: an
     * ephemeral one follows other rules on Linux. */
    int p1 = socket(AF_INET, SOCK_STREAM, 0), p2 = socket(AF_INET, SOCK_STREAM, 0);
    printf("SO_REUSEPORT default %d\n", int_option(p1, SOL_SOCKET, SO_REUSEPORT));
    setsockopt(p1, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    setsockopt(p2, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    printf("SO_REUSEPORT set %d\n", int_option(p1, SOL_SOCKET, SO_REUSEPORT));
    addr = loopback(47001);
    report("SO_REUSEPORT: first binds", bind(p1, (struct sockaddr *)&addr, sizeof addr));
    report("SO_REUSEPORT: second binds", bind(p2, (struct sockaddr *)&addr, sizeof addr));
    report("SO_REUSEPORT: first listens", listen(p1, 1));
    report("SO_REUSEPORT: second listens", listen(p2, 1));
    int p3 = socket(AF_INET, SOCK_STREAM, 0);
    report("SO_REUSEPORT: a socket without it", bind(p3, (struct sockaddr *)&addr, sizeof addr));
    report("SO_REUSEPORT: connect", connect(p3, (struct sockaddr *)&addr, sizeof addr));
    struct pollfd both[2] = { { .fd = p1, .events = POLLIN }, { .fd = p2, .events = POLLIN } };
    int ready = poll(both, 2, 5000);
    printf("SO_REUSEPORT: one listener has it %d\n", ready == 1);
    close(p1);
    close(p2);
    close(p3);
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(u1, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    setsockopt(u2, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    report("SO_REUSEPORT: UDP binds", bind(u1, (struct sockaddr *)&addr, sizeof addr));
    report("SO_REUSEPORT: UDP binds again", bind(u2, (struct sockaddr *)&addr, sizeof addr));
    close(u1);
    close(u2);

    int l = socket(AF_INET, SOCK_STREAM, 0);
    report("listen unbound (autobinds)", listen(l, 1));
    port = port_of(l);
    printf("listener got a port %d\n", port != 0);
    print_name("autobound getsockname", l, 0);
    close(l);
}

static void echo(void) {
    int server = listener(4);
    printf("SO_ACCEPTCONN listener %d\n", int_option(server, SOL_SOCKET, SO_ACCEPTCONN));
    print_revents("idle listener poll", server, POLLIN | POLLOUT);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port_of(server));
    report("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    print_revents("listener with a pending connection", server, POLLIN | POLLOUT);
    struct sockaddr_in peer = { 0 };
    socklen_t len = sizeof peer;
    int s = accept(server, (struct sockaddr *)&peer, &len);
    report("accept", s >= 0 ? 0 : -1);
    printf("accept peer: family %d addr %s len %u\n", peer.sin_family, inet_ntoa(peer.sin_addr), len);
    printf("accept peer port is the client's %d\n", ntohs(peer.sin_port) == port_of(c));
    printf("client's peer port is the server's %d\n",
           ntohs(name_of(c, 1).sin_port) == port_of(server));
    printf("accepted socket's port is the server's %d\n", port_of(s) == port_of(server));
    print_name("client getsockname", c, 0);
    print_name("client getpeername", c, 1);
    print_name("accepted getpeername", s, 1);
    printf("SO_ACCEPTCONN client %d accepted %d\n", int_option(c, SOL_SOCKET, SO_ACCEPTCONN),
           int_option(s, SOL_SOCKET, SO_ACCEPTCONN));
    print_revents("connected idle poll", s, POLLIN | POLLOUT | POLLRDHUP);
    report("client writes hello", write(c, "hello", 5));
    wait_for_input(s);
    print_revents("server with data", s, POLLIN | POLLOUT | POLLRDHUP);
    char buf[64];
    int avail = -1;
    report("FIONREAD on the server", ioctl(s, FIONREAD, &avail));
    printf("FIONREAD %d\n", avail);
    report("FIONREAD on a listener", ioctl(server, FIONREAD, &avail));
    report("server peeks 3", recv(s, buf, 3, MSG_PEEK));
    report("server reads", read(s, buf, sizeof buf));
    report("server echoes", write(s, buf, 5));
    memset(buf, 0, sizeof buf);
    report("client reads echo", read(c, buf, sizeof buf));
    printf("echo is %s\n", buf);
    report("recv empty DONTWAIT", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    int outq = -1;
    report("SIOCOUTQ on an idle connection", ioctl(c, SIOCOUTQ, &outq));
    printf("SIOCOUTQ %d\n", outq);
    report("recv of 0 bytes DONTWAIT", recv(c, buf, 0, MSG_DONTWAIT));
    send(c, "abc", 3, 0);
    send(c, "def", 3, 0);
    report("MSG_WAITALL of 6 after two sends", recv(s, buf, 6, MSG_WAITALL));
    report("listen on a connected socket", listen(c, 1));
    report("connect a connected socket", connect(c, (struct sockaddr *)&a, sizeof a));
    report("accept on a connected socket", accept(c, NULL, NULL));
    report("recv on a listener", recv(server, buf, 1, MSG_DONTWAIT));
    int fl = fcntl(server, F_GETFL);
    fcntl(server, F_SETFL, fl | O_NONBLOCK);
    report("accept with none pending (nonblocking)", accept(server, NULL, NULL));
    fcntl(server, F_SETFL, fl);
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    connect(c2, (struct sockaddr *)&a, sizeof a);
    int s2 = accept4(server, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4 nonblock %d cloexec %d\n", !!(fcntl(s2, F_GETFL) & O_NONBLOCK),
           !!(fcntl(s2, F_GETFD) & FD_CLOEXEC));
    report("nonblocking accepted: read", read(s2, buf, 1));

    /* A blocking read that a child's later write ends. */
    pid_t child = fork();
    if (child == 0) {
        usleep(50000);
        write(c2, "late", 4);
        _exit(0);
    }
    fcntl(s2, F_SETFL, 0);
    report("blocking read until the child writes", read(s2, buf, sizeof buf));
    waitpid(child, NULL, 0);
    close(c2);
    close(s2);
    close(c);
    close(s);
    close(server);
}

static void nonblocking_connect(void) {
    int server = listener(4);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = loopback(port_of(server));
    report("nonblocking connect", connect(c, (struct sockaddr *)&a, sizeof a));
    struct pollfd p = { c, POLLOUT, 0 };
    report("poll for POLLOUT", poll(&p, 1, 2000));
    print_revents("connected (nonblocking) poll", c, POLLOUT);
    print_so_error("SO_ERROR after connect", c);
    report("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
    int s = accept(server, NULL, NULL);
    report("accept it", s >= 0 ? 0 : -1);
    close(s);
    close(c);
    close(server);
}

static void refused(void) {
    unsigned short port = dead_port();
    struct sockaddr_in a = loopback(port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    report("connect to a closed port", connect(c, (struct sockaddr *)&a, sizeof a));
    print_so_error("SO_ERROR after refused connect", c);
    print_name("getpeername after refused", c, 1);
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    report("nonblocking connect to a closed port", connect(c, (struct sockaddr *)&a, sizeof a));
    struct pollfd p = { c, POLLOUT, 0 };
    poll(&p, 1, 2000);
    print_revents("refused poll", c, POLLIN | POLLOUT | POLLRDHUP);
    print_so_error("SO_ERROR", c);
    print_so_error("SO_ERROR again", c);
    print_revents("refused poll after SO_ERROR", c, POLLIN | POLLOUT | POLLRDHUP);
    report("connect again after SO_ERROR took the error", connect(c, (struct sockaddr *)&a, sizeof a));
    report("and again: a new attempt", connect(c, (struct sockaddr *)&a, sizeof a));
    poll(&p, 1, 2000);
    report("connect after the new attempt failed", connect(c, (struct sockaddr *)&a, sizeof a));
    close(c);
}

static void shutdowns(void) {
    int server = listener(4), s;
    int c = connected(server, &s);
    char buf[16];
    report("shutdown bad how", shutdown(c, 7));
    report("client SHUT_WR", shutdown(c, SHUT_WR));
    report("server reads EOF", read(s, buf, sizeof buf));
    wait_for_input(s);
    print_revents("server after peer SHUT_WR", s, POLLIN | POLLOUT | POLLRDHUP);
    print_revents("client after own SHUT_WR", c, POLLIN | POLLOUT | POLLRDHUP);
    report("client sends after SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL));
    report("server still writes", write(s, "back", 4));
    report("client still reads", read(c, buf, sizeof buf));
    report("server SHUT_WR too", shutdown(s, SHUT_WR));
    report("client reads EOF", read(c, buf, sizeof buf));
    print_revents("client after both shut", c, POLLIN | POLLOUT | POLLRDHUP);
    print_revents("server after both shut", s, POLLIN | POLLOUT | POLLRDHUP);
    print_name("server getpeername after both shut", s, 1);
    close(c);
    close(s);

    c = connected(server, &s);
    report("client SHUT_RD", shutdown(c, SHUT_RD));
    report("client reads after SHUT_RD", recv(c, buf, sizeof buf, MSG_DONTWAIT));
    print_revents("client after SHUT_RD", c, POLLIN | POLLOUT | POLLRDHUP);
    report("client still sends after SHUT_RD", send(c, "y", 1, 0));
    report("server receives it", recv(s, buf, sizeof buf, 0));
    close(c);
    close(s);

    int l = listener(4);
    report("listener SHUT_RDWR", shutdown(l, SHUT_RDWR));
    printf("SO_ACCEPTCONN after shutdown %d\n", int_option(l, SOL_SOCKET, SO_ACCEPTCONN));
    close(l);
    close(server);
}

static void pipes_and_resets(void) {
    int server = listener(4), s;
    int c = connected(server, &s);
    char buf[16];
    close(s);
    report("read after peer close", read(c, buf, sizeof buf));
    wait_for_input(c);
    print_revents("after peer close", c, POLLIN | POLLOUT | POLLRDHUP);
    report("first write after peer close", write(c, "abc", 3));
    sigpipes = 0;
    report("second write after peer close", write(c, "abc", 3));
    printf("SIGPIPE count %d\n", sigpipes);
    report("MSG_NOSIGNAL send", send(c, "abc", 3, MSG_NOSIGNAL));
    printf("SIGPIPE count %d\n", sigpipes);
    report("read after the reset", read(c, buf, sizeof buf));
    print_revents("after the reset", c, POLLIN | POLLOUT | POLLRDHUP);
    close(c);

    c = connected(server, &s);
    write(c, "unread", 6);
    close(s);
    wait_for_input(c);
    print_revents("peer closed with unread data", c, POLLIN | POLLOUT | POLLRDHUP);
    report("read after reset", read(c, buf, sizeof buf));
    report("read again", read(c, buf, sizeof buf));
    print_name("getpeername after reset", c, 1);
    sigpipes = 0;
    report("write after reset", write(c, "x", 1));
    printf("SIGPIPE count %d\n", sigpipes);
    close(c);

    int l = listener(4);
    int pending = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port_of(l));
    connect(pending, (struct sockaddr *)&a, sizeof a);
    close(l);
    report("read when the listener closed unaccepted", read(pending, buf, sizeof buf));
    close(pending);
    close(server);
}

static void options(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    printf("TCP_NODELAY default %d\n", int_option(s, IPPROTO_TCP, TCP_NODELAY));
    report("set TCP_NODELAY", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on));
    printf("TCP_NODELAY %d\n", int_option(s, IPPROTO_TCP, TCP_NODELAY));
    report("set SO_KEEPALIVE", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on));
    printf("SO_KEEPALIVE %d\n", int_option(s, SOL_SOCKET, SO_KEEPALIVE));
    printf("SO_REUSEADDR default %d\n", int_option(s, SOL_SOCKET, SO_REUSEADDR));
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    printf("SO_REUSEADDR %d\n", int_option(s, SOL_SOCKET, SO_REUSEADDR));
    report("set TCP_NODELAY with short length", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, 2));
    printf("TCP_USER_TIMEOUT default %d\n", int_option(s, IPPROTO_TCP, TCP_USER_TIMEOUT));
    int ms = 5000, negative = -1;
    report("set TCP_USER_TIMEOUT 5000", setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms));
    printf("TCP_USER_TIMEOUT %d\n", int_option(s, IPPROTO_TCP, TCP_USER_TIMEOUT));
    report("set TCP_USER_TIMEOUT -1", setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &negative, sizeof negative));
    struct timeval tv = { 0, 100000 }, got = { 9, 9 };
    socklen_t len = sizeof got;
    report("set SO_RCVTIMEO", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &got, &len);
    printf("SO_RCVTIMEO %ld.%06ld len %u\n", (long)got.tv_sec, (long)got.tv_usec, len);
    struct timeval bad = { 0, 2000000 };
    report("set SO_SNDTIMEO with 2e6 usec", setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &bad, sizeof bad));
    report("set SO_SNDTIMEO short", setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, 8));
    close(s);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    report("TCP_NODELAY on UDP", setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on));
    printf("get TCP_NODELAY on UDP %d\n", int_option(u, IPPROTO_TCP, TCP_NODELAY));
    close(u);

    int server = listener(4);
    int c = connected(server, &s);
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4];
    report("recv past SO_RCVTIMEO", recv(c, buf, sizeof buf, 0));
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    printf("TCP_NODELAY on a connection %d\n", int_option(c, IPPROTO_TCP, TCP_NODELAY));
    close(c);
    close(s);

    /* SO_LINGER: kept as set (the time survives switching it off); on with no time, close
     * resets the connection, which the peer reads as ECONNRESET. */
    c = connected(server, &s);
    struct linger lg = { 0 };
    len = sizeof lg;
    getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &len);
    printf("SO_LINGER default %d %d len %u\n", lg.l_onoff, lg.l_linger, len);
    struct linger set = { 1, 7 };
    report("set SO_LINGER 1 7", setsockopt(c, SOL_SOCKET, SO_LINGER, &set, sizeof set));
    set = (struct linger){ 0, 3 };
    report("set SO_LINGER 0 3", setsockopt(c, SOL_SOCKET, SO_LINGER, &set, sizeof set));
    getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &len);
    printf("SO_LINGER %d %d\n", lg.l_onoff, lg.l_linger);
    report("set SO_LINGER short", setsockopt(c, SOL_SOCKET, SO_LINGER, &set, 4));
    set = (struct linger){ 1, 0 };
    setsockopt(c, SOL_SOCKET, SO_LINGER, &set, sizeof set);
    write(c, "x", 1);
    close(c);
    char one;
    report("peer reads after a lingering-0 close", read(s, &one, 1));
    report("peer reads again", read(s, &one, 1));
    close(s);
    close(server);
}

static void epolling(void) {
    int server = listener(4), s;
    int c = connected(server, &s);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = 7 }, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    report("epoll idle", epoll_wait(ep, out, 4, 0));
    write(c, "x", 1);
    int n = epoll_wait(ep, out, 4, 1000);
    printf("epoll after write: %d events %#x data %u\n", n, n > 0 ? out[0].events : 0,
           n > 0 ? out[0].data.u32 : 0);
    char b;
    read(s, &b, 1);
    shutdown(c, SHUT_WR);
    n = epoll_wait(ep, out, 4, 1000);
    printf("epoll after peer SHUT_WR: %d events %#x\n", n, n > 0 ? out[0].events : 0);
    close(ep);
    close(c);
    close(s);
    close(server);
}

static void datagrams(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    print_revents("fresh udp poll", a, POLLIN | POLLOUT | POLLRDHUP);
    struct sockaddr_in addr = loopback(0);
    report("udp bind", bind(a, (struct sockaddr *)&addr, sizeof addr));
    struct sockaddr_in to = loopback(port_of(a));
    report("udp sendto", sendto(b, "hello", 5, 0, (struct sockaddr *)&to, sizeof to));
    printf("sender got a port %d\n", port_of(b) != 0);
    print_name("sender getsockname", b, 0);
    wait_for_input(a);
    print_revents("udp with a datagram", a, POLLIN | POLLOUT);
    char buf[64];
    struct sockaddr_in from = { 0 };
    socklen_t len = sizeof from;
    report("udp peek", recvfrom(a, buf, 2, MSG_PEEK, (struct sockaddr *)&from, &len));
    len = sizeof from;
    report("udp recvfrom", recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    printf("from: family %d addr %s len %u is the sender %d\n", from.sin_family,
           inet_ntoa(from.sin_addr), len, ntohs(from.sin_port) == port_of(b));
    report("udp recv empty DONTWAIT", recv(a, buf, sizeof buf, MSG_DONTWAIT));
    sendto(b, "0123456789", 10, 0, (struct sockaddr *)&to, sizeof to);
    wait_for_input(a);
    int avail = -1;
    ioctl(a, FIONREAD, &avail);
    printf("udp FIONREAD with a 10-byte datagram queued %d\n", avail);
    report("udp recv 4 of 10 with MSG_TRUNC", recv(a, buf, 4, MSG_TRUNC));
    sendto(b, "abcdef", 6, 0, (struct sockaddr *)&to, sizeof to);
    struct msghdr m = { 0 };
    struct iovec iov = { buf, 3 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    report("udp recvmsg of 6 into 3", recvmsg(a, &m, 0));
    printf("msg_flags MSG_TRUNC %d\n", (m.msg_flags & MSG_TRUNC) != 0);
    sendto(b, "", 0, 0, (struct sockaddr *)&to, sizeof to);
    report("udp empty datagram", recv(a, buf, sizeof buf, 0));
    report("udp send without address", send(b, "x", 1, 0));
    print_name("unconnected udp getpeername", b, 1);
    static char big[65600];
    report("udp sendto 65508 bytes", sendto(b, big, 65508, 0, (struct sockaddr *)&to, sizeof to));
    report("udp sendto 65507 bytes", sendto(b, big, 65507, 0, (struct sockaddr *)&to, sizeof to));
    report("udp receives it", recv(a, big, sizeof big, 0));
    report("listen on udp", listen(a, 1));
    report("accept on udp", accept(a, NULL, NULL));
    report("udp shutdown unconnected", shutdown(a, SHUT_RD));

    /* Connected: the default destination, and the only source. */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in bto = loopback(0);
    bind(c, (struct sockaddr *)&bto, sizeof bto);
    struct sockaddr_in cto = loopback(port_of(c));
    int d = socket(AF_INET, SOCK_DGRAM, 0);
    report("udp connect", connect(d, (struct sockaddr *)&cto, sizeof cto));
    print_name("connected udp getsockname", d, 0);
    print_name("connected udp getpeername", d, 1);
    report("udp send when connected", send(d, "to-c", 4, 0));
    report("peer receives", recv(c, buf, sizeof buf, 0));
    struct sockaddr_in dto = loopback(port_of(d));
    sendto(a, "stranger", 8, 0, (struct sockaddr *)&dto, sizeof dto);
    sendto(c, "friend", 6, 0, (struct sockaddr *)&dto, sizeof dto);
    memset(buf, 0, sizeof buf);
    report("connected udp receives", recv(d, buf, sizeof buf, 0));
    printf("it is %s\n", buf);
    report("and nothing else", recv(d, buf, sizeof buf, MSG_DONTWAIT));
    report("udp shutdown connected SHUT_WR", shutdown(d, SHUT_WR));
    report("udp send after SHUT_WR", send(d, "x", 1, MSG_NOSIGNAL));

    struct timeval tv = { 0, 50000 };
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    report("udp recv past SO_RCVTIMEO", recv(c, buf, sizeof buf, 0));
    close(a);
    close(b);
    close(c);
    close(d);
}

/* A few MB each way between two processes: blocking sends that fill the window, and reads
 * that a writer in another process ends. */
static void bulk(void) {
    int server = listener(4), s;
    int c = connected(server, &s);
    enum { TOTAL = 4 << 20 };
    pid_t child = fork();
    if (child == 0) {
        static unsigned char chunk[65536];
        for (long sent = 0; sent < TOTAL;) {
            for (unsigned i = 0; i < sizeof chunk; i++)
                chunk[i] = (unsigned char)((sent + i) * 7);
            long n = write(c, chunk, sizeof chunk);
            if (n <= 0)
                _exit(1);
            sent += n;
        }
        shutdown(c, SHUT_WR);
        _exit(0);
    }
    close(c);
    static unsigned char buf[50000];
    long got = 0, bad = 0, n;
    while ((n = read(s, buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++)
            bad += buf[i] != (unsigned char)((got + i) * 7);
        got += n;
    }
    int status;
    waitpid(child, &status, 0);
    printf("bulk: received %ld bytes, %ld wrong, writer exit %d\n", got, bad, WEXITSTATUS(status));
    close(s);
    close(server);
}

static struct sockaddr_in6 loopback6(const char *text, unsigned short port) {
    struct sockaddr_in6 a = { 0 };
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, text, &a.sin6_addr);
    return a;
}

static unsigned short port6_of(int fd) {
    struct sockaddr_in6 a = { 0 };
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin6_port);
}

static void print_name6(const char *what, int fd, int peer) {
    struct sockaddr_in6 a = { 0 };
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                 : getsockname(fd, (struct sockaddr *)&a, &len);
    if (r < 0) {
        printf("%-48s -1 %s\n", what, strerror(errno));
        return;
    }
    char text[64];
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    printf("%-48s family %d addr %s len %u port-set %d flow %u scope %u\n", what, a.sin6_family,
           text, len, a.sin6_port != 0, a.sin6_flowinfo, a.sin6_scope_id);
}

static void ipv6(void) {
    int server = socket(AF_INET6, SOCK_STREAM, 0);
    report("socket AF_INET6 stream", server >= 0 ? 0 : -1);
    printf("IPV6_V6ONLY default %d\n", int_option(server, IPPROTO_IPV6, IPV6_V6ONLY));
    struct sockaddr_in6 a = loopback6("::1", 0);
    report("bind [::1]:0", bind(server, (struct sockaddr *)&a, sizeof a));
    print_name6("bound getsockname", server, 0);
    report("listen", listen(server, 4));
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    a = loopback6("::1", port6_of(server));
    report("connect [::1]", connect(c, (struct sockaddr *)&a, sizeof a));
    int s = accept(server, NULL, NULL);
    print_name6("client getsockname", c, 0);
    print_name6("client getpeername", c, 1);
    print_name6("accepted getpeername", s, 1);
    report("v6 client writes", write(c, "six", 3));
    char buf[16] = { 0 };
    report("v6 server reads", read(s, buf, sizeof buf));
    printf("got %s\n", buf);
    close(s);
    close(c);
    struct sockaddr_in v4 = loopback(port6_of(server));
    int c4 = socket(AF_INET, SOCK_STREAM, 0);
    report("AF_INET connect to a [::1] listener", connect(c4, (struct sockaddr *)&v4, sizeof v4));
    close(c4);
    close(server);

    /* A dual-stack listener on [::] takes IPv4 clients, reported v4-mapped. */
    server = socket(AF_INET6, SOCK_STREAM, 0);
    a = loopback6("::", 0);
    report("bind [::]:0", bind(server, (struct sockaddr *)&a, sizeof a));
    listen(server, 4);
    print_name6("dual-stack listener getsockname", server, 0);
    c4 = socket(AF_INET, SOCK_STREAM, 0);
    v4 = loopback(port6_of(server));
    report("AF_INET connect to [::]", connect(c4, (struct sockaddr *)&v4, sizeof v4));
    struct sockaddr_in6 peer = { 0 };
    socklen_t len = sizeof peer;
    s = accept(server, (struct sockaddr *)&peer, &len);
    char text[64];
    inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof text);
    printf("accepted v4 peer as %s len %u\n", text, len);
    print_name6("accepted getsockname", s, 0);
    report("v4 client writes", write(c4, "four", 4));
    report("dual-stack side reads", read(s, buf, sizeof buf));
    close(s);
    close(c4);
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    a = loopback6("::ffff:127.0.0.1", port6_of(server));
    report("AF_INET6 connect to v4-mapped 127.0.0.1", connect(c6, (struct sockaddr *)&a, sizeof a));
    print_name6("v4-mapped client getsockname", c6, 0);
    s = accept(server, NULL, NULL);
    close(s);
    close(c6);
    close(server);

    int only = socket(AF_INET6, SOCK_STREAM, 0);
    int on = 1;
    report("set IPV6_V6ONLY", setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on));
    printf("IPV6_V6ONLY %d\n", int_option(only, IPPROTO_IPV6, IPV6_V6ONLY));
    a = loopback6("::ffff:127.0.0.1", 0);
    report("V6ONLY bind v4-mapped", bind(only, (struct sockaddr *)&a, sizeof a));
    a = loopback6("::ffff:127.0.0.1", 9);
    report("V6ONLY connect v4-mapped", connect(only, (struct sockaddr *)&a, sizeof a));
    close(only);
    int four = socket(AF_INET, SOCK_STREAM, 0);
    printf("IPV6_V6ONLY on AF_INET %d\n", int_option(four, IPPROTO_IPV6, IPV6_V6ONLY));
    close(four);

    /* What asyncio's create_server(host=None) binds: 0.0.0.0:P and a V6ONLY [::]:P, both
     * listening; each family's clients reach their own listener. */
    int l4 = socket(AF_INET, SOCK_STREAM, 0), l6 = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    struct sockaddr_in any4 = { .sin_family = AF_INET, .sin_port = htons(47002) };
    report("dual pair: bind 0.0.0.0", bind(l4, (struct sockaddr *)&any4, sizeof any4));
    a = loopback6("::", 47002);
    report("dual pair: bind V6ONLY [::]", bind(l6, (struct sockaddr *)&a, sizeof a));
    report("dual pair: v4 listens", listen(l4, 4));
    report("dual pair: v6 listens", listen(l6, 4));
    c4 = socket(AF_INET, SOCK_STREAM, 0);
    v4 = loopback(47002);
    report("dual pair: v4 client connects", connect(c4, (struct sockaddr *)&v4, sizeof v4));
    c6 = socket(AF_INET6, SOCK_STREAM, 0);
    a = loopback6("::1", 47002);
    report("dual pair: v6 client connects", connect(c6, (struct sockaddr *)&a, sizeof a));
    struct pollfd listeners[2] = { { .fd = l4, .events = POLLIN }, { .fd = l6, .events = POLLIN } };
    poll(listeners, 2, 5000);
    poll(listeners, 2, 1000);
    printf("dual pair: v4 listener has one %d, v6 listener has one %d\n",
           !!(listeners[0].revents & POLLIN), !!(listeners[1].revents & POLLIN));
    int n4 = accept(l4, NULL, NULL);
    struct sockaddr_in6 from6 = { 0 };
    len = sizeof from6;
    int n6 = accept(l6, (struct sockaddr *)&from6, &len);
    inet_ntop(AF_INET6, &from6.sin6_addr, text, sizeof text);
    printf("dual pair: the v6 listener's client is %s\n", text);
    close(n4);
    close(n6);
    close(c4);
    close(c6);
    close(l4);
    close(l6);

    int u = socket(AF_INET6, SOCK_DGRAM, 0), w = socket(AF_INET6, SOCK_DGRAM, 0);
    a = loopback6("::1", 0);
    report("udp6 bind [::1]:0", bind(u, (struct sockaddr *)&a, sizeof a));
    a = loopback6("::1", port6_of(u));
    report("udp6 sendto", sendto(w, "dgram6", 6, 0, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in6 from = { 0 };
    len = sizeof from;
    report("udp6 recvfrom", recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof text);
    printf("from %s len %u is the sender %d\n", text, len, ntohs(from.sin6_port) == port6_of(w));
    report("udp6 sendto short sockaddr_in6", sendto(w, "x", 1, 0, (struct sockaddr *)&a, 20));
    close(u);
    close(w);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, on_sigpipe);
    creation();
    binding();
    echo();
    nonblocking_connect();
    refused();
    shutdowns();
    pipes_and_resets();
    options();
    epolling();
    datagrams();
    ipv6();
    bulk();
    return probe_end();
}
