/* tee(2) and vmsplice(2) checked against Linux: errors in Linux's order, data duplicated
 * but left in the source pipe, partial lengths, non-blocking and blocking waits, EPIPE with
 * SIGPIPE, FIFOs opened O_RDWR, vectors in and out, and a vmsplice larger than the pipe.
 * Buffers larger than a page are page-aligned: Linux fills a pipe by pages, so an
 * unaligned buffer fits fewer bytes (this kernel's pipes count bytes). Deterministic
 * output only.
 * Build: musl-gcc -static -O2 -o splice splice.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

static const char *err(long r) {
    static char buf[32];
    if (r >= 0) {
        snprintf(buf, sizeof buf, "%ld", r);
        return buf;
    }
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EFAULT: return "EFAULT";
    case ESPIPE: return "ESPIPE";
    default: return "other";
    }
}

static volatile int sigpipes;
static void on_pipe(int sig) { (void)sig; sigpipes++; }

/* Reads what the pipe holds now (non-blocking), as text. */
static void drain(const char *what, int fd) {
    char buf[256];
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    long n = read(fd, buf, sizeof buf - 1);
    fcntl(fd, F_SETFL, flags);
    if (n < 0) {
        printf("  %s holds: %s\n", what, err(n));
        return;
    }
    buf[n] = 0;
    printf("  %s holds: \"%s\"\n", what, buf);
}

static void tee_errors(void) {
    int a[2], b[2];
    pipe(a);
    pipe(b);
    int file = open("/tmp/splice-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(file, "data", 4);
    lseek(file, 0, SEEK_SET);
    printf("tee with an unknown flag: %s\n", err(tee(a[0], b[1], 4, 0x10)));
    printf("tee of length 0 between bad fds: %s\n", err(tee(-1, -1, 0, 0)));
    printf("tee from a bad fd: %s\n", err(tee(-1, b[1], 4, 0)));
    printf("tee to a bad fd: %s\n", err(tee(a[0], 99, 4, 0)));
    printf("tee from a write end: %s\n", err(tee(a[1], b[1], 4, 0)));
    printf("tee to a read end: %s\n", err(tee(a[0], b[0], 4, 0)));
    printf("tee from a file: %s\n", err(tee(file, b[1], 4, 0)));
    printf("tee to a file: %s\n", err(tee(a[0], file, 4, 0)));
    printf("tee within one pipe: %s\n", err(tee(a[0], a[1], 4, 0)));
    printf("tee from an empty pipe, SPLICE_F_NONBLOCK: %s\n", err(tee(a[0], b[1], 4, SPLICE_F_NONBLOCK)));
    fcntl(b[1], F_SETFL, O_NONBLOCK);
    printf("tee from an empty pipe, output O_NONBLOCK: %s\n", err(tee(a[0], b[1], 4, 0)));
    fcntl(b[1], F_SETFL, 0);
    close(file);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

static void tee_data(void) {
    int a[2], b[2];
    pipe(a);
    pipe(b);
    write(a[1], "hello", 5);
    printf("tee of 5 bytes: %s\n", err(tee(a[0], b[1], 100, 0)));
    printf("tee of 3 more: %s\n", err(tee(a[0], b[1], 3, 0)));
    drain("the output", b[0]);
    drain("the input", a[0]);

    /* The input's writer gone and nothing left: 0. */
    close(a[1]);
    printf("tee from an empty pipe with no writer: %s\n", err(tee(a[0], b[1], 4, 0)));
    close(a[0]);

    /* The output's reader gone: EPIPE and SIGPIPE. */
    pipe(a);
    write(a[1], "x", 1);
    close(b[0]);
    long r = tee(a[0], b[1], 1, 0);
    printf("tee to a pipe with no reader: %s, SIGPIPE %d\n", err(r), sigpipes);
    close(b[1]);

    /* A full output: EAGAIN without waiting. */
    pipe(b);
    fcntl(b[1], F_SETFL, O_NONBLOCK);
    long filled = 0, n;
    char chunk[4096];
    memset(chunk, 'f', sizeof chunk);
    while ((n = write(b[1], chunk, sizeof chunk)) > 0) filled += n;
    printf("output filled with %ld bytes\n", filled);
    printf("tee to a full pipe, SPLICE_F_NONBLOCK: %s\n", err(tee(a[0], b[1], 1, SPLICE_F_NONBLOCK)));
    close(b[0]);
    close(b[1]);

    /* A blocking tee waits for the input's first data. */
    pipe(b);
    char buf[8];
    read(a[0], buf, 1);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(50000);
        write(a[1], "late", 4);
        _exit(0);
    }
    printf("tee waiting for data: %s\n", err(tee(a[0], b[1], 100, 0)));
    waitpid(child, NULL, 0);
    drain("the output", b[0]);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);

    /* FIFOs opened O_RDWR are pipes too. */
    mkfifo("/tmp/splice-fifo", 0600);
    int fifo = open("/tmp/splice-fifo", O_RDWR);
    pipe(b);
    write(fifo, "fifo", 4);
    printf("tee from a FIFO: %s\n", err(tee(fifo, b[1], 10, 0)));
    drain("the output", b[0]);
    drain("the FIFO", fifo);
    close(fifo);
    unlink("/tmp/splice-fifo");
    close(b[0]);
    close(b[1]);
}

static void vmsplice_checks(void) {
    int p[2];
    pipe(p);
    char x[] = "ab", y[] = "cd";
    struct iovec two[2] = {{x, 2}, {y, 2}};
    int file = open("/tmp/splice-file", O_RDWR);
    printf("vmsplice with an unknown flag: %s\n", err(vmsplice(p[1], two, 2, 0x10)));
    printf("vmsplice to a bad fd: %s\n", err(vmsplice(-1, two, 2, 0)));
    printf("vmsplice to a file: %s\n", err(vmsplice(file, two, 2, 0)));
    struct iovec none[1] = {{x, 0}};
    printf("vmsplice of nothing to a file: %s\n", err(vmsplice(file, none, 1, 0)));
    printf("vmsplice of 1025 vectors: %s\n", err(vmsplice(p[1], two, 1025, 0)));
    printf("vmsplice with a bad vector array: %s\n", err(vmsplice(p[1], (struct iovec *)8, 1, 0)));
    struct iovec bad[1] = {{(void *)0xffff800000000000, 4}};
    printf("vmsplice of a kernel address: %s\n", err(vmsplice(p[1], bad, 1, 0)));
    close(file);

    printf("vmsplice of two vectors into a pipe: %s\n", err(vmsplice(p[1], two, 2, 0)));
    drain("the pipe", p[0]);
    write(p[1], "xyz", 3);
    char r1[2], r2[5];
    struct iovec out[2] = {{r1, 2}, {r2, 5}};
    long n = vmsplice(p[0], out, 2, 0);
    printf("vmsplice out of a pipe into two vectors: %s: \"%.2s\" \"%.1s\"\n", err(n), r1, r2);
    printf("vmsplice out of an empty pipe, SPLICE_F_NONBLOCK: %s\n", err(vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK)));
    close(p[1]);
    printf("vmsplice out of an empty pipe with no writer: %s\n", err(vmsplice(p[0], out, 2, 0)));
    close(p[0]);

    pipe(p);
    close(p[0]);
    n = vmsplice(p[1], two, 2, 0);
    printf("vmsplice into a pipe with no reader: %s, SIGPIPE %d\n", err(n), sigpipes);
    close(p[1]);

    /* More than the pipe holds: what fits, without waiting for the rest. */
    pipe(p);
    size_t big = 100000;
    char *mem = mmap(NULL, big + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(mem, 'm', big);
    struct iovec large[1] = {{mem, big}};
    printf("vmsplice of %zu bytes into an empty pipe: %s\n", big, err(vmsplice(p[1], large, 1, 0)));
    printf("again, SPLICE_F_NONBLOCK: %s\n", err(vmsplice(p[1], large, 1, SPLICE_F_NONBLOCK)));
    long got = 0;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    while ((n = read(p[0], mem, 4096)) > 0) got += n;
    printf("the pipe held %ld bytes\n", got);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    signal(SIGPIPE, on_pipe);
    tee_errors();
    tee_data();
    vmsplice_checks();
    return probe_end();
}
