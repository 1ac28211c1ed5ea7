/* Interface ioctls and rtnetlink, by their errnos: SIOCGIF* on AF_INET and AF_UNIX sockets,
 * unknown names and indexes, bad pointers, SIOCGIFCONF's sizes, the setters as root and as
 * an unprivileged user, routes by SIOCADDRT/SIOCDELRT; then a NETLINK_ROUTE socket: types and
 * protocols, bind and its port, a link dump read with MSG_PEEK|MSG_TRUNC, acknowledgements,
 * and malformed requests. Runs after netconf.sh configured eth0 as 10.0.2.15/24.
 * Deterministic output only (no counters, no pids).
 * Build: musl-gcc -static -O2 -o netconf netconf.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

/* musl has no linux/netlink.h or linux/rtnetlink.h: the few definitions used. */
#define NETLINK_ROUTE 0
struct sockaddr_nl { unsigned short nl_family, nl_pad; unsigned nl_pid, nl_groups; };
struct nlmsghdr { unsigned nlmsg_len; unsigned short nlmsg_type, nlmsg_flags; unsigned nlmsg_seq, nlmsg_pid; };
struct ifinfomsg { unsigned char ifi_family, pad; unsigned short ifi_type; int ifi_index; unsigned ifi_flags, ifi_change; };
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLM_F_REQUEST 1
#define NLM_F_MULTI 2
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define IFLA_IFNAME 3

static void report(const char *what, long r) {
    if (r < 0)
        printf("%-44s -1 %s\n", what, strerror(errno));
    else
        printf("%-44s %ld\n", what, r);
}

static struct ifreq named(const char *name) {
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strncpy(r.ifr_name, name, IFNAMSIZ - 1);
    return r;
}

static const char *in4(struct sockaddr *sa) {
    return inet_ntoa(((struct sockaddr_in *)sa)->sin_addr);
}

static void link_ioctls(int fd, const char *name) {
    struct ifreq r = named(name);
    char what[64];
    snprintf(what, sizeof what, "SIOCGIFINDEX %s", name);
    report(what, ioctl(fd, SIOCGIFINDEX, &r) < 0 ? -1 : r.ifr_ifindex);
    r = named(name);
    snprintf(what, sizeof what, "SIOCGIFFLAGS %s", name);
    report(what, ioctl(fd, SIOCGIFFLAGS, &r) < 0 ? -1 : (unsigned short)r.ifr_flags);
    r = named(name);
    snprintf(what, sizeof what, "SIOCGIFMTU %s", name);
    report(what, ioctl(fd, SIOCGIFMTU, &r) < 0 ? -1 : r.ifr_mtu);
    r = named(name);
    snprintf(what, sizeof what, "SIOCGIFHWADDR %s", name);
    if (ioctl(fd, SIOCGIFHWADDR, &r) < 0)
        report(what, -1);
    else {
        unsigned char *m = (unsigned char *)r.ifr_hwaddr.sa_data;
        printf("%-44s %d %02x:%02x:%02x:%02x:%02x:%02x\n", what, r.ifr_hwaddr.sa_family, m[0], m[1], m[2], m[3], m[4], m[5]);
    }
    static const struct { unsigned long cmd; const char *name; } addr_cmds[] = {
        { SIOCGIFADDR, "SIOCGIFADDR" }, { SIOCGIFNETMASK, "SIOCGIFNETMASK" },
        { SIOCGIFBRDADDR, "SIOCGIFBRDADDR" },
    };
    for (unsigned i = 0; i < sizeof addr_cmds / sizeof addr_cmds[0]; i++) {
        r = named(name);
        snprintf(what, sizeof what, "%s %s", addr_cmds[i].name, name);
        if (ioctl(fd, addr_cmds[i].cmd, &r) < 0)
            report(what, -1);
        else
            printf("%-44s %d %s\n", what, r.ifr_addr.sa_family, in4(&r.ifr_addr));
    }
}

static void as_nobody(int fd) {
    pid_t child = fork();
    if (child == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(1);
        struct ifreq r = named("eth0");
        r.ifr_flags = IFF_UP;
        report("nobody SIOCSIFFLAGS eth0", ioctl(fd, SIOCSIFFLAGS, &r));
        r = named("nosuch0");
        report("nobody SIOCSIFFLAGS nosuch0 (EPERM first)", ioctl(fd, SIOCSIFFLAGS, &r));
        r = named("eth0");
        report("nobody SIOCSIFMTU eth0", ioctl(fd, SIOCSIFMTU, &r));
        r = named("eth0");
        r.ifr_addr.sa_family = AF_INET;
        report("nobody SIOCSIFADDR eth0", ioctl(fd, SIOCSIFADDR, &r));
        struct rtentry rt;
        memset(&rt, 0, sizeof rt);
        report("nobody SIOCADDRT", ioctl(fd, SIOCADDRT, &rt));
        r = named("eth0");
        report("nobody SIOCGIFINDEX eth0", ioctl(fd, SIOCGIFINDEX, &r) < 0 ? -1 : r.ifr_ifindex);
        int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
        struct { struct nlmsghdr h; struct ifinfomsg i; } req;
        memset(&req, 0, sizeof req);
        req.h.nlmsg_len = sizeof req;
        req.h.nlmsg_type = RTM_NEWLINK;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        req.h.nlmsg_seq = 7;
        req.i.ifi_index = 2;
        req.i.ifi_flags = IFF_UP;
        req.i.ifi_change = IFF_UP;
        send(nl, &req, sizeof req, 0);
        char buf[256];
        long n = recv(nl, buf, sizeof buf, 0);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        if (n >= 20 && h->nlmsg_type == NLMSG_ERROR)
            printf("%-44s %d seq %u\n", "nobody RTM_NEWLINK: error", *(int *)(buf + 16), h->nlmsg_seq);
        else
            report("nobody RTM_NEWLINK reply", n);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
}

static void ifconf(int fd) {
    struct ifconf c;
    struct ifreq reqs[8];
    c.ifc_len = 0;
    c.ifc_buf = NULL;
    report("SIOCGIFCONF null buffer", ioctl(fd, SIOCGIFCONF, &c) < 0 ? -1 : c.ifc_len);
    c.ifc_len = sizeof reqs;
    c.ifc_req = reqs;
    report("SIOCGIFCONF room for 8", ioctl(fd, SIOCGIFCONF, &c) < 0 ? -1 : c.ifc_len);
    for (int i = 0; i < c.ifc_len / (int)sizeof(struct ifreq); i++)
        printf("  %s %s\n", reqs[i].ifr_name, in4(&reqs[i].ifr_addr));
    c.ifc_len = sizeof reqs[0] + 4;
    c.ifc_req = reqs;
    report("SIOCGIFCONF room for 1.1", ioctl(fd, SIOCGIFCONF, &c) < 0 ? -1 : c.ifc_len);
    report("SIOCGIFCONF bad pointer", ioctl(fd, SIOCGIFCONF, (void *)8));
}

static void routes(int fd) {
    struct rtentry rt;
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
    struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
    struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
    memset(&rt, 0, sizeof rt);
    dst->sin_family = gw->sin_family = mask->sin_family = AF_INET;
    dst->sin_addr.s_addr = inet_addr("10.7.0.0");
    mask->sin_addr.s_addr = inet_addr("255.255.0.0");
    gw->sin_addr.s_addr = inet_addr("10.0.2.2");
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    report("SIOCADDRT 10.7/16 via 10.0.2.2", ioctl(fd, SIOCADDRT, &rt));
    report("SIOCADDRT again", ioctl(fd, SIOCADDRT, &rt));
    report("SIOCDELRT", ioctl(fd, SIOCDELRT, &rt));
    report("SIOCDELRT again", ioctl(fd, SIOCDELRT, &rt));
    gw->sin_addr.s_addr = inet_addr("192.168.9.1");
    report("SIOCADDRT unreachable gateway", ioctl(fd, SIOCADDRT, &rt));
    dst->sin_addr.s_addr = inet_addr("10.7.0.1");
    gw->sin_addr.s_addr = inet_addr("10.0.2.2");
    report("SIOCADDRT host bits under the mask", ioctl(fd, SIOCADDRT, &rt));
    dst->sin_addr.s_addr = inet_addr("10.7.0.0");
    mask->sin_addr.s_addr = inet_addr("255.0.255.0");
    report("SIOCADDRT non-contiguous mask", ioctl(fd, SIOCADDRT, &rt));
    report("SIOCADDRT bad pointer", ioctl(fd, SIOCADDRT, (void *)8));
    rt.rt_dev = "nosuch0";
    mask->sin_addr.s_addr = inet_addr("255.255.0.0");
    report("SIOCADDRT unknown device", ioctl(fd, SIOCADDRT, &rt));
}

static int nl_request(int fd, unsigned short type, unsigned short flags, unsigned seq, int index, unsigned len) {
    struct { struct nlmsghdr h; struct ifinfomsg i; char attrs[32]; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = len ? len : sizeof req.h + sizeof req.i;
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = flags;
    req.h.nlmsg_seq = seq;
    req.i.ifi_index = index;
    return send(fd, &req, req.h.nlmsg_len, 0);
}

/* Reads one datagram and prints its messages: type, flags, seq, and for errors the errno,
 * for links the index and name. */
static void nl_show(int fd, const char *what) {
    char buf[8192];
    long n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
        report(what, -1);
        return;
    }
    printf("%s: %ld bytes\n", what, n > 0 ? 1L : 0L);
    for (long at = 0; at + 16 <= n;) {
        struct nlmsghdr *h = (struct nlmsghdr *)(buf + at);
        if (h->nlmsg_len < 16 || at + h->nlmsg_len > (unsigned long)n)
            break;
        printf("  type %u flags %#x seq %u", h->nlmsg_type, h->nlmsg_flags, h->nlmsg_seq);
        if (h->nlmsg_type == NLMSG_ERROR)
            printf(" error %d (echo len %u)", *(int *)(h + 1), h->nlmsg_len);
        if (h->nlmsg_type == RTM_NEWLINK) {
            struct ifinfomsg *i = (struct ifinfomsg *)(h + 1);
            printf(" index %d type %u flags %#x", i->ifi_index, i->ifi_type, i->ifi_flags);
            for (char *a = (char *)(i + 1); a + 4 <= (char *)h + h->nlmsg_len;) {
                unsigned short alen = *(unsigned short *)a, atype = *(unsigned short *)(a + 2);
                if (alen < 4)
                    break;
                if (atype == IFLA_IFNAME)
                    printf(" name %s", a + 4);
                a += (alen + 3) & ~3;
            }
        }
        printf("\n");
        at += (h->nlmsg_len + 3) & ~3;
    }
}

static void netlink(void) {
    report("netlink SOCK_STREAM", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
    report("netlink protocol 31", socket(AF_NETLINK, SOCK_RAW, 31));
    int dg = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    report("netlink SOCK_DGRAM", dg < 0 ? -1 : 0);
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct sockaddr_nl a = { AF_NETLINK, 0, 0, 0 };
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("%-44s %u len %u\n", "port before bind", a.nl_pid, len);
    report("bind short address", bind(fd, (struct sockaddr *)&a, 8));
    struct sockaddr_in wrong = { .sin_family = AF_INET };
    report("bind AF_INET address", bind(fd, (struct sockaddr *)&wrong, sizeof wrong));
    a.nl_pid = 0;
    report("bind", bind(fd, (struct sockaddr *)&a, sizeof a));
    len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("%-44s %d\n", "port is the pid", a.nl_pid == (unsigned)getpid());
    struct sockaddr_nl b = { AF_NETLINK, 0, 0, 0 };
    len = sizeof b;
    nl_request(dg, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, 0);
    getsockname(dg, (struct sockaddr *)&b, &len);
    printf("%-44s %d\n", "second socket's port is negative", (int)b.nl_pid < 0);
    struct sockaddr_nl taken = { AF_NETLINK, 0, a.nl_pid, 0 };
    int third = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    report("bind a taken port", bind(third, (struct sockaddr *)&taken, sizeof taken));
    close(third);

    report("dump request", nl_request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 11, 0, 0));
    struct iovec none = { NULL, 0 };
    struct msghdr peek = { .msg_iov = &none, .msg_iovlen = 1 };
    long full = recvmsg(fd, &peek, MSG_PEEK | MSG_TRUNC);
    printf("%-44s %d truncated %d\n", "peek with MSG_TRUNC gives the size", full > 100, !!(peek.msg_flags & MSG_TRUNC));
    struct sockaddr_nl from;
    char buf[8192];
    struct iovec io = { buf, sizeof buf };
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &io, .msg_iovlen = 1 };
    long n = recvmsg(fd, &m, 0);
    printf("%-44s %d from port %u len %u\n", "the dump", n == full, from.nl_pid, m.msg_namelen);
    for (long at = 0; at + 16 <= n;) {
        struct nlmsghdr *h = (struct nlmsghdr *)(buf + at);
        printf("  type %u flags %#x seq %u ours %d\n", h->nlmsg_type, h->nlmsg_flags, h->nlmsg_seq, h->nlmsg_pid == a.nl_pid);
        at += (h->nlmsg_len + 3) & ~3;
    }
    report("nothing more (no ack after a dump)", recv(fd, buf, sizeof buf, MSG_DONTWAIT));

    nl_request(fd, RTM_GETLINK, NLM_F_REQUEST, 12, 2, 0);
    nl_show(fd, "get link 2");
    nl_request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 13, 99, 0);
    nl_show(fd, "get link 99");
    nl_request(fd, RTM_GETLINK, NLM_F_REQUEST, 14, 0, 0);
    nl_show(fd, "get link without index or name");
    nl_request(fd, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 15, 1, 0);
    nl_show(fd, "new link on lo, no change, ack");
    nl_request(fd, RTM_NEWLINK, NLM_F_REQUEST, 16, 1, 0);
    report("the same without ack: nothing", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
    nl_request(fd, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK, 17, 0, 20);
    nl_show(fd, "new address, 4 bytes of body");
    nl_request(fd, 0x7ff0, NLM_F_REQUEST | NLM_F_ACK, 18, 0, 0);
    nl_show(fd, "unknown type");
    nl_request(fd, NLMSG_DONE, NLM_F_REQUEST | NLM_F_ACK, 19, 0, 0);
    nl_show(fd, "control message with ack");
    nl_request(fd, RTM_GETLINK, NLM_F_ACK, 20, 1, 0);
    nl_show(fd, "not a request, with ack");
    report("header of 10 bytes", send(fd, "0123456789", 10, 0));
    report("  answered", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
    char big[64] = { 0 };
    *(unsigned *)big = 1000;
    report("header claiming 1000 bytes of 64", send(fd, big, sizeof big, 0));
    report("  answered", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
    struct sockaddr_nl peer = { AF_NETLINK, 0, 12345, 0 };
    report("sendto another port", sendto(fd, big, 16, 0, (struct sockaddr *)&peer, sizeof peer));
    nl_request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 21, 0, 0);
    report("short read of a dump", recv(fd, buf, 20, 0));
    report("  its rest is gone", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
    close(fd);
    close(dg);
}

int main(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    link_ioctls(fd, "lo");
    link_ioctls(fd, "eth0");
    link_ioctls(fd, "nosuch0");
    struct ifreq r = named("");
    r.ifr_ifindex = 1;
    report("SIOCGIFNAME 1", ioctl(fd, SIOCGIFNAME, &r));
    printf("  %s\n", r.ifr_name);
    r.ifr_ifindex = 2;
    ioctl(fd, SIOCGIFNAME, &r);
    printf("  2 is %s\n", r.ifr_name);
    r.ifr_ifindex = 99;
    report("SIOCGIFNAME 99", ioctl(fd, SIOCGIFNAME, &r));
    report("SIOCGIFINDEX bad pointer", ioctl(fd, SIOCGIFINDEX, (void *)8));
    r = named("eth0");
    report("SIOCGIFTXQLEN eth0", ioctl(fd, SIOCGIFTXQLEN, &r) < 0 ? -1 : r.ifr_qlen);
    ifconf(fd);

    int ux = socket(AF_UNIX, SOCK_DGRAM, 0);
    r = named("eth0");
    report("unix SIOCGIFINDEX eth0", ioctl(ux, SIOCGIFINDEX, &r) < 0 ? -1 : r.ifr_ifindex);
    r = named("eth0");
    report("unix SIOCGIFADDR eth0", ioctl(ux, SIOCGIFADDR, &r));
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    report("unix SIOCADDRT", ioctl(ux, SIOCADDRT, &rt));
    report("pipe SIOCGIFINDEX", ioctl(0, SIOCGIFINDEX, &r));

    r = named("eth0");
    r.ifr_addr.sa_family = AF_INET6;
    report("SIOCSIFADDR AF_INET6 address", ioctl(fd, SIOCSIFADDR, &r));
    r = named("eth0");
    r.ifr_netmask.sa_family = AF_INET;
    ((struct sockaddr_in *)&r.ifr_netmask)->sin_addr.s_addr = inet_addr("255.0.255.0");
    report("SIOCSIFNETMASK non-contiguous", ioctl(fd, SIOCSIFNETMASK, &r));
    r = named("eth0");
    r.ifr_mtu = 1500;
    report("SIOCSIFMTU eth0 1500", ioctl(fd, SIOCSIFMTU, &r));
    r = named("eth0");
    r.ifr_mtu = 70000;
    report("SIOCSIFMTU eth0 70000", ioctl(fd, SIOCSIFMTU, &r));
    r = named("eth0");
    r.ifr_mtu = 20;
    report("SIOCSIFMTU eth0 20", ioctl(fd, SIOCSIFMTU, &r));
    routes(fd);
    as_nobody(fd);
    netlink();
    return probe_end();
}
