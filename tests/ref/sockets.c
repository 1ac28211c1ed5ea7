/* Unix-domain sockets: socketpair of each type, bind/listen/connect/accept by path and by
 * abstract name, SCM_RIGHTS, shutdown, peeking and truncation, poll readiness, and the
 * errnos of misuse. Deterministic output only (no pids, inode numbers or addresses).
 * Build: musl-gcc -static -O2 -o sockets sockets.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static void report(const char *what, long r) {
    if (r < 0)
        printf("%-44s -1 %s\n", what, strerror(errno));
    else
        printf("%-44s %ld\n", what, r);
}

static socklen_t address(struct sockaddr_un *a, const char *path, int abstract) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) {
        strcpy(a->sun_path + 1, path);
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
    }
    strcpy(a->sun_path, path);
    return sizeof *a;
}

static void pairs(void) {
    int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
    const char *names[] = { "stream", "dgram", "seqpacket" };
    for (int i = 0; i < 3; i++) {
        int sv[2];
        char buf[64], line[80];
        report(names[i], socketpair(AF_UNIX, types[i], 0, sv));
        write(sv[0], "one", 3);
        write(sv[0], "two", 3);
        snprintf(line, sizeof line, "%s: first read", names[i]);
        report(line, read(sv[1], buf, sizeof buf));
        int type = 0;
        socklen_t len = sizeof type;
        getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
        printf("%s: SO_TYPE %d len %u\n", names[i], type, len);
        struct ucred cred;
        len = sizeof cred;
        getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len);
        printf("%s: peer is me %d uid %u\n", names[i], cred.pid == getpid(), cred.uid);
        close(sv[0]);
        snprintf(line, sizeof line, "%s: read after peer close", names[i]);
        report(line, recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
        snprintf(line, sizeof line, "%s: read again", names[i]);
        report(line, recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
        snprintf(line, sizeof line, "%s: send to closed peer", names[i]);
        report(line, send(sv[1], "x", 1, MSG_NOSIGNAL));
        close(sv[1]);
    }
}

static void peek_and_truncate(void) {
    int sv[2];
    char buf[8];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[0], "datagram", 8, 0);
    report("dgram peek 4", recv(sv[1], buf, 4, MSG_PEEK));
    report("dgram truncating recv with MSG_TRUNC", recv(sv[1], buf, 3, MSG_TRUNC));
    report("dgram now empty (DONTWAIT)", recv(sv[1], buf, 3, MSG_DONTWAIT));
    struct msghdr m = { 0 };
    struct iovec iov = { buf, 2 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    send(sv[0], "abc", 3, 0);
    report("recvmsg of 3 into 2", recvmsg(sv[1], &m, 0));
    printf("msg_flags MSG_TRUNC %d\n", (m.msg_flags & MSG_TRUNC) != 0);
    close(sv[0]);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    send(sv[0], "stream", 6, 0);
    report("stream peek 3", recv(sv[1], buf, 3, MSG_PEEK));
    report("stream read after peek", recv(sv[1], buf, sizeof buf, 0));
    close(sv[0]);
    close(sv[1]);
}

static void readiness(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct pollfd p = { sv[1], POLLIN | POLLOUT, 0 };
    poll(&p, 1, 0);
    printf("fresh: in %d out %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
    write(sv[0], "x", 1);
    poll(&p, 1, 0);
    printf("data: in %d out %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
    shutdown(sv[0], SHUT_WR);
    char c;
    read(sv[1], &c, 1);
    poll(&p, 1, 0);
    printf("peer shut write: in %d out %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT));
    report("read after SHUT_WR", read(sv[1], &c, 1));
    report("peer writes after own SHUT_WR", send(sv[0], "y", 1, MSG_NOSIGNAL));
    close(sv[0]);
    poll(&p, 1, 0);
    printf("peer closed: in %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLHUP));
    close(sv[1]);
    int big[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, big);
    static char chunk[4096];
    long total = 0;
    while (write(big[0], chunk, sizeof chunk) > 0)
        total += sizeof chunk;
    printf("nonblocking stream fills, then %s (filled %s)\n", strerror(errno), total > 0 ? "some" : "none");
    close(big[0]);
    close(big[1]);
}

static void listen_connect(int abstract) {
    const char *path = abstract ? "cocoon-probe" : "/tmp/probe.sock";
    const char *tag = abstract ? "abstract" : "path";
    char line[80];
    struct sockaddr_un a, got;
    socklen_t alen = address(&a, path, abstract), glen;
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(line, sizeof line, "%s: bind", tag);
    report(line, bind(server, (struct sockaddr *)&a, alen));
    if (!abstract) {
        struct stat st;
        stat(path, &st);
        printf("%s: node is a socket %d\n", tag, S_ISSOCK(st.st_mode));
        int again = socket(AF_UNIX, SOCK_STREAM, 0);
        report("path: bind over existing node", bind(again, (struct sockaddr *)&a, alen));
        close(again);
        report("path: open the socket node", open(path, O_RDONLY));
    }
    snprintf(line, sizeof line, "%s: bind twice", tag);
    report(line, bind(server, (struct sockaddr *)&a, alen));
    int early = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(line, sizeof line, "%s: connect before listen", tag);
    report(line, connect(early, (struct sockaddr *)&a, alen));
    close(early);
    snprintf(line, sizeof line, "%s: listen", tag);
    report(line, listen(server, 4));
    glen = sizeof got;
    getsockname(server, (struct sockaddr *)&got, &glen);
    printf("%s: getsockname len %u\n", tag, glen);
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, alen) != 0)
            _exit(1);
        write(c, "ping", 4);
        char buf[8];
        ssize_t n = read(c, buf, sizeof buf);
        _exit(n == 4 && memcmp(buf, "pong", 4) == 0 ? 0 : 2);
    }
    glen = sizeof got;
    int conn = accept(server, (struct sockaddr *)&got, &glen);
    printf("%s: accepted %d, peer address len %u\n", tag, conn >= 0, glen);
    char buf[8];
    report("server read", read(conn, buf, sizeof buf));
    write(conn, "pong", 4);
    int status;
    waitpid(child, &status, 0);
    printf("%s: client exit %d\n", tag, WEXITSTATUS(status));
    glen = sizeof got;
    report("getpeername of accepted", getpeername(conn, (struct sockaddr *)&got, &glen));
    glen = sizeof got;
    getsockname(conn, (struct sockaddr *)&got, &glen);
    printf("%s: accepted socket's own name len %u\n", tag, glen);
    close(conn);
    close(server);
    int late = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(line, sizeof line, "%s: connect after server closed", tag);
    report(line, connect(late, (struct sockaddr *)&a, alen));
    close(late);
    if (!abstract)
        unlink(path);
}

static void datagrams_by_name(void) {
    struct sockaddr_un a, from;
    socklen_t alen = address(&a, "/tmp/dgram.sock", 0), flen = sizeof from;
    int receiver = socket(AF_UNIX, SOCK_DGRAM, 0);
    report("dgram: bind receiver", bind(receiver, (struct sockaddr *)&a, alen));
    int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    report("dgram: sendto by path", sendto(sender, "hi", 2, 0, (struct sockaddr *)&a, alen));
    char buf[8];
    report("dgram: recvfrom", recvfrom(receiver, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen));
    printf("dgram: unnamed sender's address len %u\n", flen);
    close(receiver);
    report("dgram: sendto a closed receiver", sendto(sender, "hi", 2, 0, (struct sockaddr *)&a, alen));
    close(sender);
    unlink("/tmp/dgram.sock");
}

static void pass_fd(void) {
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    char data = 'F';
    struct iovec iov = { &data, 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[1], sizeof(int));
    report("sendmsg with SCM_RIGHTS", sendmsg(sv[0], &m, 0));
    close(p[1]);
    char got_data = 0;
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } in;
    struct iovec in_iov = { &got_data, 1 };
    struct msghdr r = { .msg_iov = &in_iov, .msg_iovlen = 1, .msg_control = in.buf, .msg_controllen = sizeof in.buf };
    report("recvmsg", recvmsg(sv[1], &r, 0));
    struct cmsghdr *rc = CMSG_FIRSTHDR(&r);
    int passed = -1;
    if (rc && rc->cmsg_type == SCM_RIGHTS)
        memcpy(&passed, CMSG_DATA(rc), sizeof(int));
    printf("got '%c', a descriptor %d, controllen %zu\n", got_data, passed >= 0, (size_t)r.msg_controllen);
    write(passed, "through", 7);
    close(passed);
    char buf[16];
    report("read the pipe through the passed end", read(p[0], buf, sizeof buf));
    report("then EOF (all write ends closed)", read(p[0], buf, sizeof buf));
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
}

static void misuse(void) {
    struct sockaddr_un a;
    socklen_t alen = address(&a, "/tmp/none.sock", 0);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    report("connect to a missing path", connect(s, (struct sockaddr *)&a, alen));
    close(open("/tmp/plain", O_CREAT | O_WRONLY, 0644));
    alen = address(&a, "/tmp/plain", 0);
    report("connect to a regular file", connect(s, (struct sockaddr *)&a, alen));
    char c;
    report("recv on an unconnected stream", recv(s, &c, 1, MSG_DONTWAIT));
    report("send on an unconnected stream", send(s, "x", 1, MSG_NOSIGNAL));
    report("getpeername unconnected", getpeername(s, (struct sockaddr *)&a, &alen));
    report("listen on unbound stream", listen(s, 1));
    report("accept on non-listening", accept(s, NULL, NULL));
    report("shutdown unconnected", shutdown(s, SHUT_RDWR));
    report("shutdown bad how", shutdown(s, 7));
    report("socket bad type", socket(AF_UNIX, 99, 0));
    report("socket bad protocol", socket(AF_UNIX, SOCK_STREAM, 7));
    int p[2];
    pipe(p);
    alen = sizeof a;
    report("getsockname on a pipe", getsockname(p[0], (struct sockaddr *)&a, &alen));
    close(p[0]);
    close(p[1]);
    report("bind with short address", bind(s, (struct sockaddr *)&a, 1));
    a.sun_family = AF_INET;
    report("bind with wrong family", bind(s, (struct sockaddr *)&a, sizeof a));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    report("dgram send without destination", send(d, "x", 1, 0));
    report("listen on dgram", listen(d, 1));
    close(d);
    close(s);
    unlink("/tmp/plain");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pairs();
    peek_and_truncate();
    readiness();
    listen_connect(0);
    listen_connect(1);
    datagrams_by_name();
    pass_fd();
    misuse();
    return probe_end();
}
