/* adjtimex, clock_adjtime and settimeofday checked against Linux: the NTP state as read
 * after boot, each mode's effect on what is read back, the checks (EPERM, EINVAL, EFAULT,
 * EOPNOTSUPP) in Linux's order, ADJ_SETOFFSET stepping the clock, and the timezone.
 * Values that drift with time on Linux (maxerror grows by 500 us a second, adjtime's
 * offset is slewed away) are printed as ranges. Deterministic output only.
 * Build: musl-gcc -static -O2 -o adjtime adjtime.c */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
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
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "other";
    }
}

static long adj(struct timex *t) { return syscall(SYS_adjtimex, t); }

static void show(const char *what, long r, const struct timex *t) {
    printf("%s: %s\n", what, err(r));
    if (r < 0) return;
    printf("  offset %ld freq %ld esterror %ld status %#x constant %ld precision %ld\n", t->offset, t->freq,
           t->esterror, t->status, t->constant, t->precision);
    printf("  tolerance %ld tick %ld tai %d pps %ld %ld %d %ld %ld %ld %ld %ld\n", t->tolerance, t->tick, t->tai,
           t->ppsfreq, t->jitter, t->shift, t->stabil, t->jitcnt, t->calcnt, t->errcnt, t->stbcnt);
}

static long set(unsigned modes, struct timex *t) {
    t->modes = modes;
    return adj(t);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void as_nobody(void) {
    fflush(stdout);
    if (fork() == 0) {
        setuid(65534);
        struct timex t = {0};
        printf("nobody reads: %s\n", err(set(0, &t)));
        printf("nobody sets the frequency: %s\n", err(set(ADJ_FREQUENCY, &t)));
        printf("nobody sets a bad tick: %s\n", (t.tick = 1, err(set(ADJ_TICK, &t))));
        printf("nobody reads adjtime's offset: %s\n", err(set(ADJ_OFFSET_SS_READ, &t)));
        printf("nobody sets adjtime's offset: %s\n", err(set(ADJ_OFFSET_SINGLESHOT, &t)));
        printf("nobody steps the clock: %s\n", (t.time.tv_sec = 0, t.time.tv_usec = 0, err(set(ADJ_SETOFFSET, &t))));
        struct timeval tv = {1, 2000000};
        printf("nobody settimeofday with bad microseconds: %s\n", err(settimeofday(&tv, NULL)));
        gettimeofday(&tv, NULL);
        printf("nobody settimeofday: %s\n", err(settimeofday(&tv, NULL)));
        printf("nobody settimeofday of nothing: %s\n", err(syscall(SYS_settimeofday, NULL, NULL)));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
}

int main(void) {
    struct timex t;
    memset(&t, 0, sizeof t);
    long r = adj(&t);
    show("read after boot", r, &t);
    printf("  maxerror %ld\n", t.maxerror);
    memset(&t, 0, sizeof t);
    show("clock_adjtime(CLOCK_REALTIME)", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &t), &t);
    printf("clock_adjtime(CLOCK_MONOTONIC): %s\n", err(syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &t)));
    printf("clock_adjtime(CLOCK_TAI): %s\n", err(syscall(SYS_clock_adjtime, CLOCK_TAI, &t)));
    printf("clock_adjtime(100): %s\n", err(syscall(SYS_clock_adjtime, 100, &t)));
    printf("clock_adjtime(CLOCK_MONOTONIC) at a bad address: %s\n", err(syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, 8)));
    printf("adjtimex at a bad address: %s\n", err(syscall(SYS_adjtimex, 8)));
    as_nobody();

    memset(&t, 0, sizeof t);
    t.tick = 8999;
    printf("tick 8999: %s\n", err(set(ADJ_TICK, &t)));
    t.tick = 11001;
    printf("tick 11001: %s\n", err(set(ADJ_TICK, &t)));
    t.tick = 10500;
    show("tick 10500", set(ADJ_TICK, &t), &t);
    t.tick = 10000;
    set(ADJ_TICK, &t);
    t.freq = 65536;
    show("frequency 1 ppm", set(ADJ_FREQUENCY, &t), &t);
    t.freq = -655360;
    show("frequency -10 ppm", set(ADJ_FREQUENCY, &t), &t);
    t.freq = 40000000;
    show("frequency 610 ppm (clamped)", set(ADJ_FREQUENCY, &t), &t);
    t.freq = 0x7fffffffffffffffL / 65536000 + 1;
    printf("a frequency that overflows: %s\n", err(set(ADJ_FREQUENCY, &t)));
    t.freq = 0;
    set(ADJ_FREQUENCY, &t);
    t.constant = 3;
    show("time constant 3", set(ADJ_TIMECONST, &t), &t);
    t.constant = 30;
    show("time constant 30", set(ADJ_TIMECONST, &t), &t);
    t.constant = 37;
    show("TAI offset 37", set(ADJ_TAI, &t), &t);
    t.constant = 200000;
    show("TAI offset 200000 (ignored)", set(ADJ_TAI, &t), &t);
    t.constant = 0;
    set(ADJ_TAI, &t);
    t.esterror = 1234;
    show("esterror 1234", set(ADJ_ESTERROR, &t), &t);
    t.maxerror = 1000;
    r = set(ADJ_MAXERROR, &t);
    printf("maxerror 1000: %s, reads between 1000 and 2000: %d\n", err(r), t.maxerror >= 1000 && t.maxerror < 2000);
    t.status = STA_PLL | STA_NANO | STA_CLOCKERR;
    show("status PLL (NANO and CLOCKERR are the kernel's)", set(ADJ_STATUS, &t), &t);
    t.offset = 250;
    show("PLL offset 250", set(ADJ_OFFSET, &t), &t);
    t.status = 0;
    show("status 0 (PLL off)", set(ADJ_STATUS, &t), &t);
    t.offset = 250;
    show("offset without the PLL", set(ADJ_OFFSET, &t), &t);
    show("nanosecond mode", set(ADJ_NANO, &t), &t);
    printf("  time's fraction below a second: %d\n", t.time.tv_usec >= 0 && t.time.tv_usec < 1000000000);
    show("microsecond mode", set(ADJ_MICRO, &t), &t);
    t.status = STA_UNSYNC;
    show("status UNSYNC", set(ADJ_STATUS, &t), &t);
    t.esterror = 16000000;
    t.maxerror = 16000000;
    set(ADJ_ESTERROR | ADJ_MAXERROR, &t);

    t.offset = 5000;
    r = set(ADJ_OFFSET_SINGLESHOT, &t);
    printf("adjtime offset 5000: %s, previous %ld\n", err(r), t.offset);
    r = set(ADJ_OFFSET_SS_READ, &t);
    printf("adjtime offset read: %s, pending between 1 and 5000: %d\n", err(r), t.offset > 0 && t.offset <= 5000);
    t.offset = 0;
    set(ADJ_OFFSET_SINGLESHOT, &t);

    t.time.tv_sec = 0;
    t.time.tv_usec = 1000000;
    printf("step with 1000000 us: %s\n", err(set(ADJ_SETOFFSET, &t)));
    t.time.tv_usec = -1;
    printf("step with -1 us: %s\n", err(set(ADJ_SETOFFSET, &t)));
    t.time.tv_usec = 1000000;
    printf("step with 1000000 ns (ADJ_NANO): %s\n", err(set(ADJ_SETOFFSET | ADJ_NANO, &t)));
    t.time.tv_usec = 1000000000;
    printf("step with 10^9 ns (ADJ_NANO): %s\n", err(set(ADJ_SETOFFSET | ADJ_NANO, &t)));
    set(ADJ_MICRO, &t);
    double before = now_s();
    t.time.tv_sec = 100;
    t.time.tv_usec = 0;
    r = set(ADJ_SETOFFSET, &t);
    double after = now_s();
    printf("step forward 100 s: %s, moved by 100 s: %d\n", err(r), after - before > 99.5 && after - before < 101);
    t.time.tv_sec = -101;
    t.time.tv_usec = 0;
    set(ADJ_SETOFFSET, &t);
    double back = now_s();
    printf("step back 101 s: moved back: %d\n", back < before + 0.5);

    struct timeval tv = {1, 1000000};
    printf("settimeofday with 1000000 us: %s\n", err(settimeofday(&tv, NULL)));
    tv.tv_usec = -1;
    printf("settimeofday with -1 us: %s\n", err(settimeofday(&tv, NULL)));
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    printf("settimeofday before 1970: %s\n", err(settimeofday(&tv, NULL)));
    tv.tv_sec = 8277292036L;
    printf("settimeofday too far ahead: %s\n", err(settimeofday(&tv, NULL)));
    struct timespec ts = {8277292036L, 0};
    printf("clock_settime too far ahead: %s\n", err(clock_settime(CLOCK_REALTIME, &ts)));
    printf("settimeofday with a bad pointer: %s\n", err(syscall(SYS_settimeofday, 8, NULL)));
    printf("settimeofday with a bad timezone pointer: %s\n", err(syscall(SYS_settimeofday, NULL, 8)));
    struct timezone tz = {901, 0};
    printf("timezone 901 minutes west: %s\n", err(syscall(SYS_settimeofday, NULL, &tz)));
    tz.tz_minuteswest = -60;
    tz.tz_dsttime = 1;
    printf("timezone 60 minutes east: %s\n", err(syscall(SYS_settimeofday, NULL, &tz)));
    struct timezone got = {0, 0};
    syscall(SYS_gettimeofday, &tv, &got);
    printf("  gettimeofday's timezone: %d %d\n", got.tz_minuteswest, got.tz_dsttime);
    tz.tz_minuteswest = 0;
    tz.tz_dsttime = 0;
    syscall(SYS_settimeofday, NULL, &tz);
    gettimeofday(&tv, NULL);
    printf("settimeofday to now: %s\n", err(settimeofday(&tv, NULL)));
    memset(&t, 0, sizeof t);
    show("read at the end", adj(&t), &t);
    return probe_end();
}
