/* dnotify (fcntl F_NOTIFY) checked against Linux: the errors, DN_MULTISHOT alone (what
 * CPython's test_fcntl_64_bit does), one-shot and multi-shot requests, which operation
 * sends which DN_* event, F_SETSIG's siginfo (POLL_MSG, band, fd) and plain SIGIO, and the
 * end of a request when its descriptor is closed. Signals are blocked and collected with
 * sigtimedwait after each operation, so nothing depends on timing.
 * Build: musl-gcc -static -O2 -o dnotify dnotify.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTDIR: return "ENOTDIR";
    default: return "other";
    }
}

static int sig;

/* Collects the pending notifications: how many, and the details of the first. */
static void collect(const char *what) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigaddset(&set, SIGIO);
    struct timespec zero = {0, 0};
    siginfo_t si, first;
    int n = 0;
    while (sigtimedwait(&set, &si, &zero) > 0) {
        if (n++ == 0) first = si;
    }
    if (n == 0) {
        printf("%s: no signal\n", what);
        return;
    }
    printf("%s: %d signal(s), %s code %d", what, n, first.si_signo == SIGIO ? "SIGIO" : "F_SETSIG's",
           first.si_code);
    if (first.si_signo != SIGIO) printf(" band %#lx fd-matches %d", (long)first.si_band, first.si_fd > 2);
    printf("\n");
}

int main(void) {
    sig = SIGRTMIN + 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigaddset(&set, SIGIO);
    sigprocmask(SIG_BLOCK, &set, NULL);
    mkdir("/tmp/dn", 0755);
    int file = open("/tmp/dn-file", O_CREAT | O_RDWR, 0644);
    printf("F_NOTIFY on a file: %s\n", err(fcntl(file, F_NOTIFY, DN_CREATE)));
    int path = open("/tmp/dn", O_PATH | O_DIRECTORY);
    printf("F_NOTIFY on an O_PATH directory: %s\n", err(fcntl(path, F_NOTIFY, DN_CREATE)));
    printf("F_NOTIFY on a bad fd: %s\n", err(fcntl(99, F_NOTIFY, DN_CREATE)));
    int dir = open("/tmp/dn", O_RDONLY | O_DIRECTORY);
    printf("F_NOTIFY DN_MULTISHOT alone: %s\n", err(fcntl(dir, F_NOTIFY, DN_MULTISHOT)));
    printf("F_NOTIFY 0: %s\n", err(fcntl(dir, F_NOTIFY, 0)));
    printf("F_GETOWN before: %d\n", fcntl(dir, F_GETOWN));

    printf("F_SETSIG: %s\n", err(fcntl(dir, F_SETSIG, sig)));
    printf("F_NOTIFY DN_CREATE (one shot): %s\n", err(fcntl(dir, F_NOTIFY, DN_CREATE)));
    printf("F_GETOWN is us: %d\n", fcntl(dir, F_GETOWN) == getpid());
    close(open("/tmp/dn/a", O_CREAT | O_WRONLY, 0644));
    collect("create a");
    close(open("/tmp/dn/b", O_CREAT | O_WRONLY, 0644));
    collect("create b (the one shot is spent)");

    printf("F_NOTIFY everything, multishot: %s\n",
           err(fcntl(dir, F_NOTIFY, DN_ACCESS | DN_MODIFY | DN_CREATE | DN_DELETE | DN_RENAME | DN_ATTRIB | DN_MULTISHOT)));
    int a = open("/tmp/dn/a", O_RDWR);
    collect("open a");
    write(a, "x", 1);
    collect("write a");
    char c;
    pread(a, &c, 1, 0);
    collect("read a");
    fchmod(a, 0600);
    collect("chmod a");
    close(a);
    collect("close a");
    rename("/tmp/dn/a", "/tmp/dn/c");
    collect("rename a to c");
    unlink("/tmp/dn/b");
    collect("unlink b");
    mkdir("/tmp/dn/sub", 0755);
    collect("mkdir sub");
    close(open("/tmp/dn/sub/deep", O_CREAT | O_WRONLY, 0644));
    collect("create in a subdirectory");
    chmod("/tmp/dn", 0775);
    collect("chmod the directory itself");
    close(open("/tmp/dn-other", O_CREAT | O_WRONLY, 0644));
    collect("create outside it");

    printf("F_NOTIFY DN_DELETE only: %s\n", err(fcntl(dir, F_NOTIFY, DN_DELETE | DN_MULTISHOT)));
    close(open("/tmp/dn/d", O_CREAT | O_WRONLY, 0644));
    collect("create d (not asked for)");
    unlink("/tmp/dn/d");
    collect("unlink d");

    printf("F_SETSIG 0 (SIGIO): %s\n", err(fcntl(dir, F_SETSIG, 0)));
    printf("F_NOTIFY DN_CREATE: %s\n", err(fcntl(dir, F_NOTIFY, DN_CREATE | DN_MULTISHOT)));
    close(open("/tmp/dn/e", O_CREAT | O_WRONLY, 0644));
    collect("create e");

    int dup = fcntl(dir, F_DUPFD, 10);
    close(dup);
    close(open("/tmp/dn/f", O_CREAT | O_WRONLY, 0644));
    collect("create f after closing a dup");
    close(dir);
    close(open("/tmp/dn/g", O_CREAT | O_WRONLY, 0644));
    collect("create g after closing the descriptor");
    return probe_end();
}
