/* Hostile user code against the CPU state the kernel keeps: direction and alignment flags
 * across syscalls, page faults and signals; single-stepping across SYSCALL; int3, int N and
 * int 0x80; segment loads with bad selectors and accesses through non-canonical addresses;
 * XMM/x87/MXCSR across signals and fork, and FP state edited in a signal frame.
 *
 * Left out because Linux cannot be the reference under QEMU TCG: `lretq` and `iretq` in user
 * mode (QEMU pops their frame with supervisor accesses, which SMAP refuses, and Linux 6.1
 * oopses), and reserved MXCSR bits in a signal frame (QEMU's FXRSTOR/XRSTOR accepts them, so
 * Linux returns with MXCSR 0xffffffff where hardware gives SIGSEGV; ours gives SIGSEGV). Every case runs in a child, so a
 * wrecked register or a fatal signal stays there; each prints what it saw (values, signal,
 * si_code, the trap number and error code in the signal frame, code offsets) and nothing
 * that differs between boots. Build: musl-gcc -static -O2 -o hostile-cpu hostile-cpu.c */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include "probe.h"

#define DF 0x400UL
#define TF 0x100UL
#define AC 0x40000UL

static long raw3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

/* ---- running a case in a child ---- */

static sigjmp_buf jump;
static volatile int got_sig, got_code;
static volatile unsigned long got_addr, got_rip, got_trapno, got_err;

static void on_fault(int sig, siginfo_t *si, void *ucv) {
    /* A handler inherits AC (Linux clears only DF, TF and RF): clear it before C code runs
     * unaligned accesses, since siglongjmp does not restore the flags. */
    __asm__ volatile("pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq" : : : "memory", "cc");
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = (unsigned long)si->si_addr;
    got_rip = uc->uc_mcontext.gregs[REG_RIP];
    got_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    got_err = uc->uc_mcontext.gregs[REG_ERR];
    siglongjmp(jump, 1);
}

static void catch_faults(void) {
    static char altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    sigaltstack(&ss, NULL);
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE };
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Runs `f` in a child that catches faults; prints `name: ` and either what `f` printed (it
 * returns normally) or the signal it took. `base` names the code `f` runs: a faulting rip
 * (and si_addr) is printed as an offset from it. */
static const char *current;
static void run(const char *name, void (*f)(void), const void *base) {
    current = name;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        catch_faults();
        if (sigsetjmp(jump, 1) == 0) {
            f();
        } else {
            long rip = (long)(got_rip - (unsigned long)base);
            long addr = (long)(got_addr - (unsigned long)base);
            printf("%s: signal %d code %#x trapno %lu err %#lx", name, got_sig, got_code, got_trapno, got_err);
            if (base && rip >= 0 && rip < 4096)
                printf(" rip +%ld", rip);
            if (got_addr == 0)
                printf(" addr 0\n");
            else if (base && addr >= 0 && addr < 4096)
                printf(" addr +%ld\n", addr);
            else
                printf(" addr %#lx\n", got_addr);
        }
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    probe_checks++; /* the child printed this case's line */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("%s: child %s %d\n", name, WIFSIGNALED(status) ? "killed by signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* ---- DF and AC ---- */

static const char message[] = "direction flag set across a copy";

/* write() then read() through a pipe into a fresh page with DF set; the flags after each
 * syscall are returned. */
static void df_syscalls(void) {
    int p[2];
    pipe(p);
    char *fresh = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned long after_write, after_read;
    long w, r;
    __asm__ volatile("std\n\tsyscall\n\tpushfq\n\tpopq %1\n\tcld"
                     : "=a"(w), "=r"(after_write)
                     : "a"(SYS_write), "D"(p[1]), "S"(message), "d"(sizeof message)
                     : "rcx", "r11", "memory");
    __asm__ volatile("std\n\tsyscall\n\tpushfq\n\tpopq %1\n\tcld"
                     : "=a"(r), "=r"(after_read)
                     : "a"(SYS_read), "D"(p[0]), "S"(fresh + 4090), "d"(sizeof message)
                     : "rcx", "r11", "memory");
    int zeros = 1;
    for (int i = 0; i < 8192; i++)
        if ((i < 4090 || i >= 4090 + (int)sizeof message) && fresh[i])
            zeros = 0;
    printf("DF across write/read into a fresh page: wrote %ld read %ld, same bytes %d, rest zero %d, DF kept %d/%d\n", w, r,
           memcmp(fresh + 4090, message, sizeof message) == 0, zeros, !!(after_write & DF), !!(after_read & DF));
}

/* Stores into fresh anonymous pages with DF set: single stores, then `rep stosb` running
 * backwards across two fresh pages (each fault taken with DF set, mid-instruction). */
static void df_page_faults(void) {
    unsigned char *m = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned long flags;
    __asm__ volatile("std\n\tmovb $0x5a, 100(%1)\n\tmovq $-1, 8192+8(%1)\n\tpushfq\n\tpopq %0\n\tcld" : "=r"(flags) : "r"(m) : "memory");
    void *dst = m + 4 * 4096 - 1 - 100;
    unsigned long count = 4096 + 200;
    __asm__ volatile("std\n\trep stosb\n\tcld" : "+D"(dst), "+c"(count) : "a"(0xa5) : "memory");
    int bad = 0;
    for (int i = 0; i < 4 * 4096; i++) {
        int want = 0;
        if (i == 100)
            want = 0x5a;
        else if (i >= 8192 + 8 && i < 8192 + 16)
            want = 0xff;
        if (i > 4 * 4096 - 1 - 100 - 4096 - 200 && i <= 4 * 4096 - 1 - 100)
            want = 0xa5;
        if (m[i] != want)
            bad++;
    }
    printf("DF across page faults: DF kept %d, rep stosb left count %lu, wrong bytes %d\n", !!(flags & DF), count, bad);
    /* Copy-on-write after fork, faulted with DF set. */
    memset(m, 0x11, 4096);
    pid_t pid = fork();
    if (pid == 0) {
        __asm__ volatile("std\n\tmovb $0x22, 2000(%0)\n\tcld" : : "r"(m) : "memory");
        int wrong = 0;
        for (int i = 0; i < 4096; i++)
            wrong += m[i] != (i == 2000 ? 0x22 : 0x11);
        printf("DF across a copy-on-write fault: wrong bytes %d\n", wrong);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("parent's page after the child's write: byte %#x\n", m[2000]);
}

static volatile unsigned long handler_flags;
static void note_flags(int sig) {
    (void)sig;
    unsigned long f;
    __asm__ volatile("pushfq\n\tpopq %0" : "=r"(f));
    handler_flags = f;
}

/* DF and AC set when a signal arrives: the handler runs with both clear, and both come back. */
static void flags_across_signal(void) {
    signal(SIGUSR1, note_flags);
    unsigned long after;
    long pid = getpid();
    __asm__ volatile("pushfq\n\torq $0x40000, (%%rsp)\n\tpopfq\n\tstd\n\tsyscall\n\tpushfq\n\tpopq %0\n\tcld\n\t"
                     "pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq"
                     : "=r"(after)
                     : "a"(SYS_kill), "D"(pid), "S"(SIGUSR1)
                     : "rcx", "r11", "memory");
    printf("signal with DF and AC set: handler DF %d AC %d; after return DF %d AC %d\n", !!(handler_flags & DF),
           !!(handler_flags & AC), !!(after & DF), !!(after & AC));
}

/* AC set: an unaligned load in user mode (Linux sets CR0.AM). */
static void ac_unaligned(void) {
    static char buf[16] __attribute__((aligned(16)));
    unsigned v;
    __asm__ volatile("pushfq\n\torq $0x40000, (%%rsp)\n\tpopfq\n\tmovl 1(%1), %0\n\t"
                     "pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq"
                     : "=r"(v)
                     : "r"(buf)
                     : "memory");
    printf("AC set, unaligned load: no fault (%u)\n", v);
}

/* ---- single-stepping ---- */

extern char step_start[], step_end[];
__asm__(".text\n"
        "step_code:\n"
        "    pushfq\n"
        "    orq $0x100, (%rsp)\n"
        "    popfq\n"
        "step_start:\n"
        "    movl $39, %eax\n"
        "    syscall\n"
        "    nop\n"
        "    movl $39, %eax\n"
        "    syscall\n"
        "    pushfq\n"
        "    andq $~0x100, (%rsp)\n"
        "    popfq\n"
        "step_end:\n"
        "    ret\n");
extern void step_code(void);

static volatile int traps;
static volatile long trap_rip[32];
static volatile int trap_code[32];
static void on_trap(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    ucontext_t *uc = ucv;
    if (traps < 32) {
        trap_rip[traps] = uc->uc_mcontext.gregs[REG_RIP] - (long)step_start;
        trap_code[traps] = si->si_code;
    }
    traps++;
}

static void single_step(void) {
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, NULL);
    step_code();
    printf("single-step across syscall: %d traps:", traps);
    for (int i = 0; i < traps && i < 32; i++)
        printf(" +%ld/%d", trap_rip[i], trap_code[i]);
    printf("\n");
}

/* ---- int3, int N, int 0x80 ---- */

static long int_result;
#define INT_CASE(fn, insn)                                                                        \
    static void fn(void) {                                                                        \
        long r;                                                                                   \
        __asm__ volatile(insn : "=a"(r) : "a"(20L) : "memory");                                   \
        int_result = r;                                                                           \
        printf("%s: returned\n", #fn);                                                            \
    }
INT_CASE(int3, "int3")
INT_CASE(int_3, "int $3")
INT_CASE(int_4, "int $4")
INT_CASE(int_1, "int $1")
INT_CASE(int_0d, "int $0x0d")
INT_CASE(int_0e, "int $0x0e")
INT_CASE(int_20, "int $0x20")
INT_CASE(int_81, "int $0x81")
INT_CASE(int_ff, "int $0xff")
INT_CASE(ud2, "ud2")
INT_CASE(hlt, "hlt")
INT_CASE(cli, "cli")
INT_CASE(inb, "inb $0x80, %%al")

/* int 0x80 from 64-bit code with eax=20 (i386 getpid). */
static void int80_getpid(void) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    printf("int 0x80 eax=20: %s\n", r == getpid() ? "returned the pid" : "returned something else");
}

/* ---- far returns, iretq, segment loads ---- */

/* int 0x80 write (i386 4) from a static buffer, and a number i386 does not have; the
 * registers other than rax come back as they were. */
static void int80_write(void) {
    static const char line[] = "int 0x80: written through the i386 gate\n";
    fflush(stdout);
    long r;
    register unsigned long r8_ __asm__("r8") = 8, r9_ __asm__("r9") = 9, r10_ __asm__("r10") = 10, r11_ __asm__("r11") = 11;
    unsigned long rdi = 12, rsi = 13, rbx = 1, rcx = (unsigned long)line, rdx = sizeof line - 1;
    __asm__ volatile("int $0x80"
                     : "=a"(r), "+r"(r8_), "+r"(r9_), "+r"(r10_), "+r"(r11_), "+D"(rdi), "+S"(rsi), "+b"(rbx), "+c"(rcx), "+d"(rdx)
                     : "a"(4L)
                     : "memory");
    printf("int 0x80 eax=4: returned %ld, registers kept %d\n", r,
           r8_ == 8 && r9_ == 9 && r10_ == 10 && r11_ == 11 && rdi == 12 && rsi == 13 && rbx == 1 && rcx == (unsigned long)line && rdx == sizeof line - 1);
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(100000L) : "memory");
    printf("int 0x80 eax=100000: %ld\n", r);
}

/* ---- non-canonical addresses in registers ---- */

/* A load through a non-canonical address: #GP. */
static void noncanonical_load(void) {
    unsigned long v;
    __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0x8000000000000000UL) : "memory");
    printf("%s: loaded\n", current);
}

/* A push with a non-canonical stack pointer: #SS (the handler runs on the alternate stack). */
static void noncanonical_push(void) {
    __asm__ volatile("movq %%rsp, %%rbx\n\tmovq %0, %%rsp\n\tpushq $1\n\tmovq %%rbx, %%rsp"
                     : : "r"(0x8000000000000000UL) : "rbx", "memory");
    printf("%s: pushed\n", current);
}

/* A jump to a non-canonical address: #GP with rip still at the jump. */
static void noncanonical_jump(void) {
    __asm__ volatile("jmp *%0" : : "r"(0x8000000000000000UL));
    printf("%s: jumped\n", current);
}

static unsigned short my_cs(void) { unsigned short s; __asm__("movw %%cs, %0" : "=r"(s)); return s; }
static unsigned short my_ss(void) { unsigned short s; __asm__("movw %%ss, %0" : "=r"(s)); return s; }

static unsigned long seg_sel;
static int seg_reg;
static void do_seg_load(void) {
    unsigned long fs_base = 0;
    raw3(SYS_arch_prctl, 0x1003, (long)&fs_base, 0);
    unsigned short sel = seg_sel;
    switch (seg_reg) {
    case 0: __asm__ volatile("movw %0, %%ds" : : "r"(sel)); break;
    case 1: __asm__ volatile("movw %0, %%es" : : "r"(sel)); break;
    case 2:
        /* musl's TLS is %fs-relative: put the base back (raw syscall) before any C code. */
        __asm__ volatile("movw %w0, %%fs\n\tmovl $158, %%eax\n\tmovl $0x1002, %%edi\n\tmovq %1, %%rsi\n\tsyscall"
                         : : "r"(sel), "r"(fs_base) : "rax", "rdi", "rsi", "rcx", "r11", "memory");
        break;
    case 3: __asm__ volatile("movw %0, %%gs" : : "r"(sel)); break;
    case 4: __asm__ volatile("movw %0, %%ss" : : "r"(sel)); break;
    }
    printf("%s: loaded\n", current);
}

/* ---- XMM, x87 and MXCSR ---- */

static unsigned char xmm_in[256] __attribute__((aligned(16))), xmm_out[256] __attribute__((aligned(16)));
static long double x87_out[3];

#define LOAD_XMM(p)                                                                               \
    __asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\tmovdqu 32(%0), %%xmm2\n\t"   \
                     "movdqu 48(%0), %%xmm3\n\tmovdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"  \
                     "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\tmovdqu 128(%0), %%xmm8\n\t"\
                     "movdqu 144(%0), %%xmm9\n\tmovdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"\
                     "movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\tmovdqu 224(%0), %%xmm14\n\t"\
                     "movdqu 240(%0), %%xmm15" : : "r"(p) : "memory")
#define LOAD_XMM_STR(p)                                                                           \
    "movdqu 0(" p "), %%xmm0\n\tmovdqu 16(" p "), %%xmm1\n\tmovdqu 32(" p "), %%xmm2\n\t"             \
    "movdqu 48(" p "), %%xmm3\n\tmovdqu 64(" p "), %%xmm4\n\tmovdqu 80(" p "), %%xmm5\n\t"            \
    "movdqu 96(" p "), %%xmm6\n\tmovdqu 112(" p "), %%xmm7\n\tmovdqu 128(" p "), %%xmm8\n\t"          \
    "movdqu 144(" p "), %%xmm9\n\tmovdqu 160(" p "), %%xmm10\n\tmovdqu 176(" p "), %%xmm11\n\t"       \
    "movdqu 192(" p "), %%xmm12\n\tmovdqu 208(" p "), %%xmm13\n\tmovdqu 224(" p "), %%xmm14\n\t"      \
    "movdqu 240(" p "), %%xmm15\n\t"
#define XMM_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
    "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define STORE_XMM(p)                                                                              \
    "movdqu %%xmm0, 0(" p ")\n\tmovdqu %%xmm1, 16(" p ")\n\tmovdqu %%xmm2, 32(" p ")\n\t"             \
    "movdqu %%xmm3, 48(" p ")\n\tmovdqu %%xmm4, 64(" p ")\n\tmovdqu %%xmm5, 80(" p ")\n\t"            \
    "movdqu %%xmm6, 96(" p ")\n\tmovdqu %%xmm7, 112(" p ")\n\tmovdqu %%xmm8, 128(" p ")\n\t"          \
    "movdqu %%xmm9, 144(" p ")\n\tmovdqu %%xmm10, 160(" p ")\n\tmovdqu %%xmm11, 176(" p ")\n\t"       \
    "movdqu %%xmm12, 192(" p ")\n\tmovdqu %%xmm13, 208(" p ")\n\tmovdqu %%xmm14, 224(" p ")\n\t"      \
    "movdqu %%xmm15, 240(" p ")\n\t"

static unsigned handler_mxcsr;
static unsigned short handler_fcw;
static unsigned char handler_xmm[256] __attribute__((aligned(16)));
static void clobber(int sig) {
    (void)sig;
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(handler_mxcsr), "=m"(handler_fcw));
    __asm__ volatile("movq %0, %%rax\n\t" STORE_XMM("%%rax") : : "r"(handler_xmm) : "rax", "memory");
    unsigned char junk[256];
    memset(junk, 0xee, sizeof junk);
    LOAD_XMM(junk);
    unsigned m = 0x7f80;
    unsigned short cw = 0x0c7f;
    __asm__ volatile("ldmxcsr %0\n\tfninit\n\tfldcw %1\n\tfldz\n\tfldz\n\tfldz\n\tfldz" : : "m"(m), "m"(cw));
}

static void fill_patterns(void) {
    for (int i = 0; i < 256; i++)
        xmm_in[i] = (unsigned char)(i * 7 + 3);
}

/* Patterns in xmm0-15, three x87 registers and a non-default MXCSR and FCW; kill(self)
 * through a raw syscall; the handler sees the initial state and clobbers everything. */
static void fp_across_signal(void) {
    fill_patterns();
    signal(SIGUSR1, clobber);
    unsigned mxcsr = 0x3f80 | 0x8040 /* RC down, FTZ, DAZ */, mxcsr_after;
    unsigned short fcw = 0x027f, fcw_after;
    long pid = getpid();
    __asm__ volatile("ldmxcsr %0\n\tfldcw %1\n\tfld1\n\tfldpi\n\tfldl2e" : : "m"(mxcsr), "m"(fcw));
    long nr = SYS_kill;
    __asm__ volatile("movq %4, %%rdx\n\t" LOAD_XMM_STR("%%rdx") "syscall\n\t"
                     "movq %3, %%rdx\n\t" STORE_XMM("%%rdx")
                     : "+a"(nr)
                     : "D"(pid), "S"(SIGUSR1), "r"(xmm_out), "r"(xmm_in)
                     : "rcx", "r11", "rdx", "memory", XMM_CLOBBERS);
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1\n\tfstpt %2\n\tfstpt %3\n\tfstpt %4"
                     : "=m"(mxcsr_after), "=m"(fcw_after), "=m"(x87_out[0]), "=m"(x87_out[1]), "=m"(x87_out[2]));
    int same = 0, handler_zero = 0;
    for (int r = 0; r < 16; r++) {
        same += memcmp(xmm_in + 16 * r, xmm_out + 16 * r, 16) == 0;
        static const unsigned char zero[16];
        handler_zero += memcmp(handler_xmm + 16 * r, zero, 16) == 0;
    }
    printf("FP across a signal: handler MXCSR %#x FCW %#x, zeroed xmm %d/16; after: xmm %d/16, MXCSR %#x FCW %#x, x87 %d %d %d\n",
           handler_mxcsr, handler_fcw, handler_zero, same, mxcsr_after, fcw_after, x87_out[0] == 1.4426950408889634074L,
           x87_out[1] > 3.14159L && x87_out[1] < 3.1416L, x87_out[2] == 1.0L);
}

/* The same registers across a raw fork: both sides keep them. */
static void fp_across_fork(void) {
    fill_patterns();
    unsigned mxcsr = 0x5f80, mxcsr_after;
    __asm__ volatile("ldmxcsr %0\n\tfldpi" : : "m"(mxcsr));
    long pid = SYS_fork;
    __asm__ volatile("movq %2, %%rdx\n\t" LOAD_XMM_STR("%%rdx") "syscall\n\t"
                     "movq %1, %%rdx\n\t" STORE_XMM("%%rdx")
                     : "+a"(pid)
                     : "r"(xmm_out), "r"(xmm_in)
                     : "rcx", "r11", "rdx", "memory", XMM_CLOBBERS);
    __asm__ volatile("stmxcsr %0\n\tfstpt %1" : "=m"(mxcsr_after), "=m"(x87_out[0]));
    int same = 0;
    for (int r = 0; r < 16; r++)
        same += memcmp(xmm_in + 16 * r, xmm_out + 16 * r, 16) == 0;
    /* The parent prints after the child has ended: the two would race for the line order. */
    if (pid != 0)
        waitpid(pid, NULL, 0);
    printf("FP across fork (%s): xmm %d/16, MXCSR %#x, x87 %d\n", pid == 0 ? "child" : "parent", same, mxcsr_after,
           x87_out[0] > 3.14159L && x87_out[0] < 3.1416L);
    fflush(stdout);
    if (pid == 0)
        _exit(0);
}

/* The handler edits the FP state (or the pointer to it) in its frame before returning. */
static int fp_edit;
static void edit_fpstate(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    unsigned char junk[256];
    memset(junk, 0xee, sizeof junk);
    LOAD_XMM(junk);
    switch (fp_edit) {
    case 0: uc->uc_mcontext.fpregs->mxcsr = 0xffffffff; break;
    case 1: uc->uc_mcontext.fpregs->mxcsr = 0x10000 | 0x1f80; break;
    case 2: uc->uc_mcontext.fpregs->mxcsr = 0xffff; break;
    case 3: uc->uc_mcontext.fpregs = NULL; break;
    case 4: uc->uc_mcontext.fpregs = (void *)0xffff800000000000UL; break;
    case 5: uc->uc_mcontext.fpregs->cwd = 0xffff; break;
    }
}

static void fp_sigreturn(void) {
    struct sigaction sa = { 0 };
    sa.sa_sigaction = edit_fpstate;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    fill_patterns();
    long pid = getpid();
    long nr = SYS_kill;
    __asm__ volatile("movq %4, %%rdx\n\t" LOAD_XMM_STR("%%rdx") "syscall\n\t"
                     "movq %3, %%rdx\n\t" STORE_XMM("%%rdx")
                     : "+a"(nr)
                     : "D"(pid), "S"(SIGUSR1), "r"(xmm_out), "r"(xmm_in)
                     : "rcx", "r11", "rdx", "memory", XMM_CLOBBERS);
    unsigned mxcsr;
    unsigned short fcw;
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
    static const unsigned char zero[16];
    int same = 0, zeroed = 0;
    for (int r = 0; r < 16; r++) {
        same += memcmp(xmm_in + 16 * r, xmm_out + 16 * r, 16) == 0;
        zeroed += memcmp(zero, xmm_out + 16 * r, 16) == 0;
    }
    printf("%s: back, MXCSR %#x FCW %#x, xmm kept %d/16 zeroed %d/16\n", current, mxcsr, fcw, same, zeroed);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    run("DF/syscalls", df_syscalls, 0);
    run("DF/page faults", df_page_faults, 0);
    run("DF+AC/signal", flags_across_signal, 0);
    run("AC/unaligned", ac_unaligned, 0);
    run("TF/syscall", single_step, 0);

    struct { const char *name; void (*f)(void); } ints[] = {
        { "int3", int3 }, { "int $3", int_3 }, { "int $4", int_4 }, { "int $1", int_1 }, { "int $0x0d", int_0d },
        { "int $0x0e", int_0e }, { "int $0x20", int_20 }, { "int $0x81", int_81 }, { "int $0xff", int_ff },
        { "ud2", ud2 }, { "hlt", hlt }, { "cli", cli }, { "inb", inb },
    };
    for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++)
        run(ints[i].name, ints[i].f, (void *)ints[i].f);
    run("int 0x80", int80_getpid, 0);
    run("int 0x80 write", int80_write, 0);
    run("non-canonical load", noncanonical_load, 0);
    run("non-canonical push", noncanonical_push, 0);
    run("non-canonical jump", noncanonical_jump, (void *)noncanonical_jump);

    unsigned long cs = my_cs(), ss = my_ss();
    const char *regs[] = { "ds", "es", "fs", "gs", "ss" };
    struct { const char *name; unsigned long sel; } sels[] = {
        { "null", 0 }, { "null rpl3", 3 }, { "own ss", ss }, { "own cs", cs }, { "0x08", 0x0b }, { "0x10", 0x13 },
        { "LDT 0x07", 0x07 }, { "0xfffb", 0xfffb }, { "own ss, rpl0", ss & ~3UL },
    };
    for (int r = 0; r < 5; r++)
        for (unsigned i = 0; i < sizeof sels / sizeof sels[0]; i++) {
            char name[80];
            snprintf(name, sizeof name, "mov %s to %s", sels[i].name, regs[r]);
            seg_reg = r;
            seg_sel = sels[i].sel;
            run(name, do_seg_load, 0);
        }

    run("FP/signal", fp_across_signal, 0);
    run("FP/fork", fp_across_fork, 0);
    const char *edits[] = { "MXCSR 0xffffffff", "MXCSR bit 16", "MXCSR 0xffff", "fpstate NULL", "fpstate kernel address", "FCW 0xffff" };
    for (fp_edit = 2; fp_edit < 6; fp_edit++) {
        char name[80];
        snprintf(name, sizeof name, "sigreturn with %s", edits[fp_edit]);
        run(name, fp_sigreturn, 0);
    }
    return probe_end();
}
