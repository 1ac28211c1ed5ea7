/* Hostile ELF files against Linux: execve of a few hundred corrupted executables.
 * Build: musl-gcc -static -O2 -o badelf badelf.c
 *
 * The cases are made at run time, in /tmp, from two valid programs: this very binary (a
 * musl static ET_EXEC with four PT_LOADs; run as `badelf child` it exits 42) and a tiny
 * hand-made static-PIE (one RWX PT_LOAD whose code exits 43), which also serves as the
 * interpreter (PT_INTERP) of the cases that have one. Each case is exec'd in a forked child;
 * the line says how it ended: the errno of execve, the exit status, or the signal. The first
 * cases are written out one by one; the rest are random corruptions of header fields from a
 * fixed seed, so every run (and either kernel) sees the same files. The last few cases are
 * execve's argument limits. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned char *base;      /* this binary */
static size_t base_len;
static int checks;

/* ---- the tiny static-PIE: exit_group(43) ---- */

static const unsigned char exit43[] = {
    0xbf, 0x2b, 0, 0, 0,             /* mov edi, 43 */
    0xb8, 0xe7, 0, 0, 0,             /* mov eax, 231 (exit_group) */
    0x0f, 0x05,                      /* syscall */
};
#define TINY_CODE (64 + 56)
#define TINY_LEN (TINY_CODE + sizeof exit43)

static size_t make_tiny(unsigned char *b) {
    memset(b, 0, TINY_LEN);
    Elf64_Ehdr eh = { 0 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = TINY_CODE;
    eh.e_phoff = 64;
    eh.e_ehsize = 64;
    eh.e_phentsize = 56;
    eh.e_phnum = 1;
    eh.e_shentsize = 64;
    Elf64_Phdr ph = { PT_LOAD, PF_R | PF_W | PF_X, 0, 0, 0, TINY_LEN, TINY_LEN, 0x1000 };
    memcpy(b, &eh, sizeof eh);
    memcpy(b + 64, &ph, sizeof ph);
    memcpy(b + TINY_CODE, exit43, sizeof exit43);
    return TINY_LEN;
}

/* ---- field access on a file image (no alignment assumed) ---- */

static Elf64_Ehdr eh_get(const unsigned char *b) { Elf64_Ehdr e; memcpy(&e, b, sizeof e); return e; }
static void eh_put(unsigned char *b, const Elf64_Ehdr *e) { memcpy(b, e, sizeof *e); }
static Elf64_Phdr ph_get(const unsigned char *b, int i) {
    Elf64_Ehdr e = eh_get(b);
    Elf64_Phdr p;
    memcpy(&p, b + e.e_phoff + (size_t)i * 56, sizeof p);
    return p;
}
static void ph_put(unsigned char *b, int i, const Elf64_Phdr *p) {
    Elf64_Ehdr e = eh_get(b);
    memcpy(b + e.e_phoff + (size_t)i * 56, p, sizeof *p);
}
/* The index of the n-th program header of type `type` in the base binary, or -1. */
static int nth(const unsigned char *b, unsigned type, int n) {
    Elf64_Ehdr e = eh_get(b);
    for (int i = 0; i < e.e_phnum; i++)
        if (ph_get(b, i).p_type == type && n-- == 0)
            return i;
    return -1;
}

/* ---- running one case ---- */

static const char *errname(int e) {
    static const struct { int e; const char *n; } t[] = {
        { ENOEXEC, "ENOEXEC" }, { EINVAL, "EINVAL" }, { ENOMEM, "ENOMEM" }, { ELIBBAD, "ELIBBAD" },
        { ENOENT, "ENOENT" }, { EACCES, "EACCES" }, { EIO, "EIO" }, { ENOTDIR, "ENOTDIR" },
        { E2BIG, "E2BIG" }, { EFAULT, "EFAULT" }, { ELOOP, "ELOOP" }, { ENAMETOOLONG, "ENAMETOOLONG" },
        { ETXTBSY, "ETXTBSY" }, { EPERM, "EPERM" }, { EOVERFLOW, "EOVERFLOW" }, { EISDIR, "EISDIR" },
    };
    static char buf[16];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].e == e)
            return t[i].n;
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

static void write_file(const char *path, const unsigned char *b, size_t n, mode_t mode) {
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, b, n) != (ssize_t)n) {
        printf("cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    close(fd);
}

/* Execs `path` in a child; returns a description of how it ended. */
static const char *outcome(const char *path) {
    static char buf[64];
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { "badelf-case", "child", NULL };
        char *envp[] = { NULL };
        /* What a corrupted program prints is not the point (and would cut our lines). */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execve(path, argv, envp);
        int e = errno;
        if (write(p[1], &e, sizeof e)) {}
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    ssize_t got = read(p[0], &e, sizeof e);
    close(p[0]);
    int status = 0;
    for (int waited = 0;; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (waited == 1000) { /* 10 s */
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return "timeout";
        }
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    if (got == sizeof e)
        snprintf(buf, sizeof buf, "execve %s", errname(e));
    else if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sizeof buf, "signal %d", WTERMSIG(status));
    else
        snprintf(buf, sizeof buf, "status %#x", status);
    return buf;
}

static void run(const char *what, const unsigned char *b, size_t n) {
    write_file("/tmp/case", b, n, 0755);
    printf("case %d %s: %s\n", ++checks, what, outcome("/tmp/case"));
    fflush(stdout);
}

/* A working copy of the base binary with room for additions. */
static unsigned char *work;
static size_t work_cap;
static size_t fresh(void) {
    memcpy(work, base, base_len);
    memset(work + base_len, 0, work_cap - base_len);
    return base_len;
}
static unsigned char tiny[4096];
static size_t fresh_tiny(void) {
    memset(tiny, 0, sizeof tiny);
    return make_tiny(tiny);
}

/* Turns header `idx` of the base into a PT_INTERP naming `path` (stored at the file's end,
 * NUL included unless `nul` is 0); returns the new length. */
static size_t add_interp(size_t len, int idx, const char *path, int nul) {
    Elf64_Phdr ph = ph_get(work, idx);
    size_t n = strlen(path) + (nul ? 1 : 0);
    memcpy(work + len, path, strlen(path) + 1);
    ph.p_type = PT_INTERP;
    ph.p_flags = PF_R;
    ph.p_offset = len;
    ph.p_vaddr = ph.p_paddr = 0;
    ph.p_filesz = ph.p_memsz = n;
    ph.p_align = 1;
    ph_put(work, idx, &ph);
    return len + n;
}

/* ---- the explicit cases ---- */

static void header_cases(void) {
    size_t n;
    Elf64_Ehdr e;
    char what[96];

    run("unchanged", base, base_len);
    n = fresh_tiny();
    run("tiny static-pie unchanged", tiny, n);

    static const size_t cuts[] = { 0, 1, 3, 4, 16, 63, 64, 65, 64 + 56, 64 + 6 * 56 - 1, 64 + 6 * 56, 0x1000 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(what, sizeof what, "truncated to %zu bytes", cuts[i]);
        run(what, base, cuts[i]);
    }
    run("only the magic", (const unsigned char *)"\177ELF", 4);

    for (int i = 0; i < 4; i++) {
        fresh();
        work[i] ^= 0x20;
        snprintf(what, sizeof what, "e_ident[%d] wrong", i);
        run(what, work, base_len);
    }
    static const struct { int at; unsigned char v; } idents[] = {
        { EI_CLASS, ELFCLASS32 }, { EI_CLASS, ELFCLASSNONE }, { EI_CLASS, 7 }, { EI_DATA, ELFDATA2MSB },
        { EI_DATA, 0 }, { EI_VERSION, 0 }, { EI_VERSION, 9 }, { EI_OSABI, 97 }, { EI_ABIVERSION, 3 }, { 15, 0xff },
    };
    for (size_t i = 0; i < sizeof idents / sizeof idents[0]; i++) {
        fresh();
        work[idents[i].at] = idents[i].v;
        snprintf(what, sizeof what, "e_ident[%d]=%d", idents[i].at, idents[i].v);
        run(what, work, base_len);
    }

#define FIELD_CASES(field, ...)                                                               \
    do {                                                                                      \
        static const uint64_t vals[] = { __VA_ARGS__ };                                       \
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {                           \
            n = fresh();                                                                      \
            e = eh_get(work);                                                                 \
            e.field = vals[i];                                                                \
            eh_put(work, &e);                                                                 \
            snprintf(what, sizeof what, #field "=%#llx", (unsigned long long)vals[i]);        \
            run(what, work, n);                                                               \
        }                                                                                     \
    } while (0)
    FIELD_CASES(e_type, 0, 1, 3, 4, 0xfe00, 0xff00, 0xffff);
    FIELD_CASES(e_machine, 0, 3, 40, 62 + 256, 183, 0xffff);
    FIELD_CASES(e_version, 0, 2, 0xffffffff);
    FIELD_CASES(e_ehsize, 0, 1, 52, 63, 65, 0xffff);
    FIELD_CASES(e_phentsize, 0, 1, 32, 48, 55, 57, 64, 112, 0xffff);
    FIELD_CASES(e_phnum, 0, 1, 2, 3, 7, 8, 72, 73, 74, 0x100, 0xffff);
    FIELD_CASES(e_phoff, 0, 1, 8, 56, 65, 0x1000, 0xfffffffff000, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff);
    FIELD_CASES(e_shoff, 0, 1, 0xffffffffffffffff);
    FIELD_CASES(e_shentsize, 0, 1, 0xffff);
    FIELD_CASES(e_shnum, 0, 0xffff);
    FIELD_CASES(e_shstrndx, 0xffff, 0xfffe);
    FIELD_CASES(e_flags, 1, 0xffffffff);
    FIELD_CASES(e_entry, 0, 1, 0x400000, 0x7ffffffff000, 0xffff800000000000, 0xffffffffffffffff);

    /* The program headers moved to the end of the file, at odd offsets. */
    static const size_t shifts[] = { 0, 1, 3, 7 };
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
        n = fresh();
        e = eh_get(work);
        size_t at = base_len + shifts[i];
        memcpy(work + at, base + e.e_phoff, e.e_phnum * 56);
        e.e_phoff = at;
        eh_put(work, &e);
        snprintf(what, sizeof what, "program headers at the end, offset %% 8 = %zu", at % 8);
        run(what, work, at + e.e_phnum * 56);
        snprintf(what, sizeof what, "program headers at the end, offset %% 8 = %zu, cut short", at % 8);
        run(what, work, at + e.e_phnum * 56 - 1);
    }
}

#define PH_CASE(idx, field, value, desc)                                                      \
    do {                                                                                      \
        n = fresh();                                                                          \
        Elf64_Phdr ph = ph_get(work, idx);                                                    \
        ph.field = (value);                                                                   \
        ph_put(work, idx, &ph);                                                               \
        snprintf(what, sizeof what, "%s " #field "=%#llx", desc, (unsigned long long)(value)); \
        run(what, work, n);                                                                   \
    } while (0)

static void segment_cases(void) {
    size_t n;
    char what[96];
    static const char *names[] = { "load0 (headers)", "load1 (text)", "load2 (rodata)", "load3 (data)" };
    for (int l = 0; l < 4; l++) {
        int i = nth(base, PT_LOAD, l);
        Elf64_Phdr o = ph_get(base, i);
        const char *d = names[l];
        PH_CASE(i, p_type, PT_NULL, d);
        PH_CASE(i, p_type, PT_NOTE, d);
        PH_CASE(i, p_filesz, o.p_memsz + 1, d);
        PH_CASE(i, p_memsz, o.p_filesz - 1, d);
        PH_CASE(i, p_memsz, 0, d);
        PH_CASE(i, p_filesz, 0, d);
        PH_CASE(i, p_filesz, base_len - o.p_offset + 0x3000, d);
        PH_CASE(i, p_offset, o.p_offset + 1, d);
        PH_CASE(i, p_offset, o.p_offset + 0x1000, d);
        PH_CASE(i, p_offset, 0xfffffffffffff000, d);
        PH_CASE(i, p_offset, (base_len + 0xfff) & ~0xfffull, d);
        PH_CASE(i, p_vaddr, 0xfffffffffffff000, d);
        PH_CASE(i, p_vaddr, 0x7ffff000 + (o.p_vaddr & 0xfff), d);
        PH_CASE(i, p_vaddr, o.p_vaddr + 0x10000, d);
        PH_CASE(i, p_memsz, 0xffffffffffff0000, d);
        PH_CASE(i, p_memsz, 0x100000000000, d);
        PH_CASE(i, p_flags, 0, d);
        PH_CASE(i, p_flags, PF_R | PF_W | PF_X, d);
        PH_CASE(i, p_align, 0, d);
        PH_CASE(i, p_align, 3, d);
        PH_CASE(i, p_align, 0x8000000000000000, d);
        PH_CASE(i, p_paddr, 0xffffffffffffffff, d);
    }
    int data = nth(base, PT_LOAD, 3);
    Elf64_Phdr o = ph_get(base, data);
    PH_CASE(data, p_memsz, o.p_memsz + 0x1000000, "data bss +16 MiB");
    PH_CASE(data, p_filesz, o.p_memsz, "data filesz = memsz");

    /* Overlapping segments: text laid over the headers' page, data over the text. */
    int text = nth(base, PT_LOAD, 1);
    Elf64_Phdr t = ph_get(base, text);
    PH_CASE(nth(base, PT_LOAD, 0), p_vaddr, t.p_vaddr, "load0 onto text");
    PH_CASE(text, p_vaddr, t.p_vaddr - 0x1000, "text onto load0");
    PH_CASE(data, p_vaddr, t.p_vaddr + (o.p_vaddr & 0xfff), "data onto text");
    PH_CASE(nth(base, PT_LOAD, 2), p_vaddr, t.p_vaddr, "rodata onto text");

    /* Other header types, and the stack header. */
    int stack = nth(base, PT_GNU_STACK, 0);
    PH_CASE(stack, p_type, PT_LOAD, "gnu_stack");
    PH_CASE(stack, p_flags, PF_R | PF_W | PF_X, "gnu_stack");
    PH_CASE(stack, p_type, PT_DYNAMIC, "gnu_stack");
    PH_CASE(stack, p_type, PT_PHDR, "gnu_stack");
    PH_CASE(stack, p_type, PT_TLS, "gnu_stack");
    PH_CASE(stack, p_type, PT_LOPROC, "gnu_stack");
    PH_CASE(stack, p_type, PT_GNU_PROPERTY, "gnu_stack");
    PH_CASE(stack, p_type, PT_SHLIB, "gnu_stack");
}

/* The tiny static-PIE, corrupted. */
static void tiny_cases(void) {
    size_t n;
    char what[96];
#define TINY_CASE(field, value)                                                               \
    do {                                                                                      \
        n = fresh_tiny();                                                                     \
        Elf64_Phdr ph;                                                                        \
        memcpy(&ph, tiny + 64, sizeof ph);                                                    \
        ph.field = (value);                                                                   \
        memcpy(tiny + 64, &ph, sizeof ph);                                                    \
        snprintf(what, sizeof what, "tiny " #field "=%#llx", (unsigned long long)(value));    \
        run(what, tiny, n);                                                                   \
    } while (0)
    TINY_CASE(p_flags, PF_R | PF_X);
    TINY_CASE(p_flags, PF_R);
    TINY_CASE(p_vaddr, 0x1000);
    TINY_CASE(p_vaddr, 0x7ffffffff000);
    TINY_CASE(p_vaddr, 0xfffffffffffff000);
    TINY_CASE(p_memsz, 0);
    TINY_CASE(p_memsz, 0x1000000);
    TINY_CASE(p_memsz, 0xffffffffffffffff);
    TINY_CASE(p_filesz, 0);
    TINY_CASE(p_filesz, 0x1000);
    TINY_CASE(p_offset, 1);
    TINY_CASE(p_offset, 0x1000);
    TINY_CASE(p_align, 0x200000);
    TINY_CASE(p_align, 0x10000000000);
    TINY_CASE(p_type, PT_INTERP);
    n = fresh_tiny();
    tiny[16] = ET_EXEC; /* at vaddr 0 */
    run("tiny as ET_EXEC at 0", tiny, n);
}

/* PT_INTERP: bad paths, and interpreters that are not what they should be. */
static void interp_cases(void) {
    size_t n;
    char what[96];
    int stack = nth(base, PT_GNU_STACK, 0);
    int relro = nth(base, PT_GNU_RELRO, 0);

    n = fresh_tiny();
    write_file("/tmp/interp", tiny, n, 0755);
    write_file("/tmp/interp-noexec", tiny, n, 0644);
    write_file("/tmp/interp-text", (const unsigned char *)"just text\n", 10, 0755);
    write_file("/tmp/interp-script", (const unsigned char *)"#!/bin/sh\nexit 3\n", 17, 0755);
    write_file("/tmp/interp-magic", (const unsigned char *)"\177ELF", 4, 0755);
    write_file("/tmp/interp-empty", (const unsigned char *)"", 0, 0755);
    mkdir("/tmp/interp-dir", 0755);

    static const char *paths[] = {
        "/tmp/interp", "/tmp/missing", "/tmp/interp-noexec", "/tmp/interp-text", "/tmp/interp-script",
        "/tmp/interp-magic", "/tmp/interp-empty", "/tmp/interp-dir", "/tmp/interp/x", "", "/",
        "/tmp/case",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        n = add_interp(fresh(), stack, paths[i], 1);
        snprintf(what, sizeof what, "interp \"%s\"", paths[i]);
        run(what, work, n);
    }
    n = add_interp(fresh(), stack, "/tmp/interp", 0);
    run("interp without its NUL", work, n);
    n = add_interp(fresh(), stack, "/tmp/interp", 1);
    {
        Elf64_Phdr ph = ph_get(work, stack);
        memcpy(work + ph.p_offset, "/tmp/interp\0garbage", 20);
        ph.p_filesz = 20;
        ph_put(work, stack, &ph);
        run("interp with a NUL inside", work, ph.p_offset + 20);
    }
    n = fresh();
    memset(work + n, 'a', 5000);
    work[n + 4999] = 0;
    {
        Elf64_Phdr ph = ph_get(work, stack);
        ph.p_type = PT_INTERP, ph.p_offset = n, ph.p_filesz = 4097;
        ph_put(work, stack, &ph);
        run("interp of 4097 bytes", work, n + 4097);
        ph.p_filesz = 4096;
        ph_put(work, stack, &ph);
        work[n + 4095] = 0;
        run("interp of 4096 bytes (ENAMETOOLONG?)", work, n + 4096);
        ph.p_filesz = 1;
        ph_put(work, stack, &ph);
        work[n] = 0;
        run("interp of 1 byte", work, n + 1);
        ph.p_filesz = 0;
        ph_put(work, stack, &ph);
        run("interp of 0 bytes", work, n + 1);
    }
    n = add_interp(fresh(), stack, "/tmp/interp", 1);
    {
        Elf64_Phdr ph = ph_get(work, stack);
        ph.p_offset = 0xfffffffffffffff0;
        ph_put(work, stack, &ph);
        run("interp at offset -16", work, n);
        ph.p_offset = n + 100;
        ph_put(work, stack, &ph);
        run("interp past the end of the file", work, n);
        ph.p_offset = n - 5;
        ph_put(work, stack, &ph);
        run("interp crossing the end of the file", work, n);
    }
    n = add_interp(fresh(), stack, "/tmp/interp", 1);
    n = add_interp(n, relro, "/tmp/missing", 1);
    run("two interps, the first good", work, n);
    n = add_interp(fresh(), stack, "/tmp/missing", 1);
    n = add_interp(n, relro, "/tmp/interp", 1);
    run("two interps, the first missing", work, n);

    /* The interpreter itself corrupted (/tmp/interp-bad). */
#define BAD_INTERP(desc, stmt)                                                                \
    do {                                                                                      \
        size_t tn = fresh_tiny();                                                             \
        Elf64_Ehdr te = eh_get(tiny);                                                         \
        Elf64_Phdr tp;                                                                        \
        memcpy(&tp, tiny + 64, sizeof tp);                                                    \
        stmt;                                                                                 \
        eh_put(tiny, &te);                                                                    \
        memcpy(tiny + 64, &tp, sizeof tp);                                                    \
        write_file("/tmp/interp-bad", tiny, tn, 0755);                                        \
        n = add_interp(fresh(), stack, "/tmp/interp-bad", 1);                                 \
        run("interpreter " desc, work, n);                                                    \
    } while (0)
    BAD_INTERP("unchanged", (void)0);
    BAD_INTERP("e_machine=3", te.e_machine = 3);
    BAD_INTERP("e_type=ET_REL", te.e_type = ET_REL);
    BAD_INTERP("e_type=ET_EXEC", te.e_type = ET_EXEC; tp.p_vaddr = 0x20000000; te.e_entry += 0x20000000);
    BAD_INTERP("e_type=ET_CORE", te.e_type = ET_CORE);
    BAD_INTERP("e_phentsize=55", te.e_phentsize = 55);
    BAD_INTERP("e_phnum=0", te.e_phnum = 0);
    BAD_INTERP("e_phnum=200", te.e_phnum = 200);
    BAD_INTERP("e_phoff past the end", te.e_phoff = 4096);
    BAD_INTERP("e_ident class 32", te.e_ident[EI_CLASS] = ELFCLASS32);
    BAD_INTERP("e_entry=-1", te.e_entry = 0xffffffffffffffff);
    BAD_INTERP("e_entry=0x7ffffffff000", te.e_entry = 0x7ffffffff000);
    BAD_INTERP("no PT_LOAD", tp.p_type = PT_NOTE);
    BAD_INTERP("own PT_INTERP", tp.p_type = PT_INTERP);
    BAD_INTERP("filesz > memsz", tp.p_memsz = tp.p_filesz - 1);
    BAD_INTERP("memsz=0", tp.p_memsz = 0);
    BAD_INTERP("read-only segment", tp.p_flags = PF_R | PF_X);
    BAD_INTERP("p_vaddr huge", tp.p_vaddr = 0xfffffffffffff000);
    BAD_INTERP("p_memsz huge", tp.p_memsz = 0xfffffffffffff000);
    BAD_INTERP("p_offset unaligned", tp.p_offset = 1);
    BAD_INTERP("bss of 1 MiB", tp.p_memsz = 0x100000);
    {
        /* An interpreter with a PT_INTERP of its own, naming a missing file. */
        size_t tn = fresh_tiny();
        Elf64_Ehdr te = eh_get(tiny);
        Elf64_Phdr tp;
        memcpy(&tp, tiny + 64, sizeof tp);
        te.e_phnum = 2;
        te.e_phoff = tn;
        memcpy(tiny + tn, &tp, sizeof tp);
        Elf64_Phdr ip = { PT_INTERP, PF_R, tn + 112, 0, 0, 13, 13, 1 };
        memcpy(tiny + tn + 56, &ip, sizeof ip);
        memcpy(tiny + tn + 112, "/tmp/missing", 13);
        eh_put(tiny, &te);
        write_file("/tmp/interp-bad", tiny, tn + 125, 0755);
        n = add_interp(fresh(), stack, "/tmp/interp-bad", 1);
        run("interpreter with its own PT_INTERP", work, n);
    }
}

/* A static-PIE with a PT_INTERP (/tmp/interp): Linux places such a program itself, aligned
 * to its largest p_align, and runs the interpreter (exit 43). */
static void pie_interp_cases(void) {
    char what[96];
    static const uint64_t aligns[] = { 0x1000, 0x200000, 0x40000000, 3, 0x8000000000000000 };
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        size_t tn = fresh_tiny();
        Elf64_Ehdr te = eh_get(tiny);
        Elf64_Phdr tp;
        memcpy(&tp, tiny + 64, sizeof tp);
        tp.p_align = aligns[i];
        te.e_phnum = 2;
        te.e_phoff = tn;
        memcpy(tiny + tn, &tp, sizeof tp);
        Elf64_Phdr ip = { PT_INTERP, PF_R, tn + 112, 0, 0, 12, 12, 1 };
        memcpy(tiny + tn + 56, &ip, sizeof ip);
        memcpy(tiny + tn + 112, "/tmp/interp", 12);
        eh_put(tiny, &te);
        snprintf(what, sizeof what, "static-pie with an interpreter, p_align=%#llx", (unsigned long long)aligns[i]);
        run(what, tiny, tn + 124);
    }
}

/* ---- seeded random corruption of header fields ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t interesting(uint64_t orig, size_t len) {
    static const uint64_t v[] = {
        0, 1, 2, 0x38, 0x40, 0xfff, 0x1000, 0x1001, 0x10000, 0x400000, 0x7ffff000,
        0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, 0xfffffffffffff000,
        0xffffffffffffffff,
    };
    switch (next() % 6) {
    case 0: return orig + 1;
    case 1: return orig - 1;
    case 2: return len + (next() % 3) - 1;
    case 3: {
        /* Not bits 47..55: Linux in QEMU (-cpu max) has five-level paging, so its user
         * space reaches 2^56, and ours ends at 2^47. */
        int bit = next() % 55;
        return orig ^ (1ull << (bit < 47 ? bit : bit + 9));
    }
    default: return v[next() % (sizeof v / sizeof v[0])];
    }
}

static void random_cases(int count) {
    char what[128];
    for (int c = 0; c < count; c++) {
        int use_tiny = next() % 4 == 0;
        unsigned char *b = use_tiny ? tiny : work;
        size_t n = use_tiny ? fresh_tiny() : fresh();
        int changes = 1 + next() % 3;
        int w = snprintf(what, sizeof what, "random %d (%s):", c, use_tiny ? "tiny" : "base");
        for (int k = 0; k < changes; k++) {
            Elf64_Ehdr e = eh_get(b);
            int phnum = e.e_phnum;
            int kind = next() % 10;
            if (kind < 2) {
                /* a header field: e_type, e_machine, e_phoff, e_phentsize, e_phnum */
                int f = next() % 5;
                uint64_t v;
                switch (f) {
                case 0: v = e.e_type = (uint16_t)(next() % 3 ? 2 + next() % 2 : interesting(e.e_type, n)); break;
                case 1: v = e.e_machine = (uint16_t)(next() % 2 ? 62 : interesting(62, n)); break;
                case 2: v = e.e_phoff = interesting(e.e_phoff, n); break;
                case 3: v = e.e_phentsize = (uint16_t)interesting(56, n); break;
                default: v = e.e_phnum = (uint16_t)interesting(e.e_phnum, n); break;
                }
                eh_put(b, &e);
                w += snprintf(what + w, sizeof what - w, " eh%d=%#llx", f, (unsigned long long)v);
            } else if (kind < 9 && phnum > 0 && e.e_phoff + 56ull * phnum <= n) {
                /* a program header field */
                int i = next() % phnum;
                Elf64_Phdr p = ph_get(b, i);
                int f = next() % 6;
                uint64_t v;
                switch (f) {
                case 0: v = p.p_type = next() % 2 ? PT_LOAD : (uint32_t)(next() % 8); break;
                case 1:
                    /* Not PF_X alone: with protection keys (QEMU's -cpu max has them) Linux
                     * maps that execute-only, which we cannot. */
                    v = p.p_flags = next() % 8;
                    if (v == PF_X)
                        v = p.p_flags = PF_R | PF_X;
                    break;
                case 2: v = p.p_offset = interesting(p.p_offset, n); break;
                case 3: v = p.p_vaddr = interesting(p.p_vaddr, n); break;
                case 4: v = p.p_filesz = interesting(p.p_filesz, n); break;
                default: v = p.p_memsz = interesting(p.p_memsz, n); break;
                }
                ph_put(b, i, &p);
                w += snprintf(what + w, sizeof what - w, " ph%d.%d=%#llx", i, f, (unsigned long long)v);
            } else {
                size_t cut = next() % (n + 1);
                n = cut;
                w += snprintf(what + w, sizeof what - w, " cut=%zu", cut);
            }
        }
        run(what, b, n);
    }
}

/* execve's other untrusted input: one argument of MAX_ARG_STRLEN (NUL included) or more is
 * E2BIG, and so are arguments past a quarter of the 8 MiB stack limit. */
static int exec_args(char **args) {
    char *envp[] = { NULL };
    pid_t pid = fork();
    if (pid == 0) {
        execve("/bin/badelf", args, envp);
        _exit(errno);
    }
    int status;
    waitpid(pid, &status, 0);
    return WEXITSTATUS(status);
}

static void argument_cases(void) {
    static const size_t lens[] = { 131071, 131072, 131073 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *s = malloc(lens[i] + 1);
        memset(s, 'a', lens[i]);
        s[lens[i]] = 0;
        char *args[] = { "badelf-case", "child", s, NULL };
        int r = exec_args(args);
        printf("case %d argument of %zu bytes: %s\n", ++checks, lens[i], r == 42 ? "exit 42" : errname(r));
        free(s);
    }
    char *big = malloc(100001);
    memset(big, 'b', 100000);
    big[100000] = 0;
    for (int n = 19; n <= 22; n++) {
        char *args[26] = { "badelf-case" };
        args[1] = "child";
        for (int i = 2; i < n + 2; i++)
            args[i] = big;
        args[n + 2] = NULL;
        int r = exec_args(args);
        printf("case %d %d arguments of 100000 bytes: %s\n", ++checks, n, r == 42 ? "exit 42" : errname(r));
    }
    free(big);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return 42;
    FILE *f = fopen(argv[0], "rb");
    if (!f) {
        printf("cannot open %s\n", argv[0]);
        return 1;
    }
    base = malloc(1 << 20);
    base_len = fread(base, 1, 1 << 20, f);
    fclose(f);
    work_cap = base_len + 16384;
    work = malloc(work_cap);
    header_cases();
    segment_cases();
    tiny_cases();
    interp_cases();
    pie_interp_cases();
    random_cases(200);
    argument_cases();
    printf("checks: %d\n", checks);
    return 0;
}
