/*
 * tbprof: a QEMU TCG plugin that counts the guest instructions each translated block runs,
 * for finding where a guest spends its time under TCG (README, "Profiling under TCG").
 *
 * QEMU 7.2's plugin API, version 1. The few declarations it needs are written out here
 * (QEMU's header is not packaged by Debian); their shapes are those of the API, documented
 * in QEMU's docs/devel/tcg-plugins.rst.
 *
 * Argument: out=DIR. At exit it writes DIR/tbprof.PID: a first line "# " followed by QEMU's
 * command line (NUL bytes as spaces), then one line "VADDR INSTRUCTIONS" (hex, decimal) per
 * block that ran. A block translated again (after a flush) is counted on a line of its own;
 * the report adds them up by function.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                    void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* The generated code adds to a block's counter through its address, so counters never move:
 * they live in fixed-size chunks, and a full chunk is followed by a new one. */
#define CHUNK_BLOCKS 65536
struct block {
    uint64_t vaddr;
    uint64_t insns;
};
struct chunk {
    struct chunk *next;
    size_t used;
    struct block blocks[CHUNK_BLOCKS];
};
static struct chunk *first, *last;
static char out_dir[4096] = ".";

static struct block *new_block(void) {
    if (!last || last->used == CHUNK_BLOCKS) {
        struct chunk *c = calloc(1, sizeof *c);
        if (!c) abort();
        if (last) last->next = c; else first = c;
        last = c;
    }
    return &last->blocks[last->used++];
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    struct block *b = new_block();
    b->vaddr = qemu_plugin_tb_vaddr(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->insns,
                                             qemu_plugin_tb_n_insns(tb));
}

static void write_header(FILE *out) {
    fputs("# ", out);
    FILE *cmdline = fopen("/proc/self/cmdline", "r");
    int c;
    while (cmdline && (c = fgetc(cmdline)) != EOF) fputc(c == 0 || c == '\n' ? ' ' : c, out);
    if (cmdline) fclose(cmdline);
    fputc('\n', out);
}

static void on_exit_write(qemu_plugin_id_t id, void *userdata) {
    (void)id;
    (void)userdata;
    char path[4200];
    snprintf(path, sizeof path, "%s/tbprof.%d", out_dir, (int)getpid());
    FILE *out = fopen(path, "w");
    if (!out) {
        perror(path);
        return;
    }
    write_header(out);
    for (struct chunk *c = first; c; c = c->next)
        for (size_t i = 0; i < c->used; i++)
            if (c->blocks[i].insns)
                fprintf(out, "%llx %llu\n", (unsigned long long)c->blocks[i].vaddr,
                        (unsigned long long)c->blocks[i].insns);
    fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const struct qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "out=", 4) == 0) snprintf(out_dir, sizeof out_dir, "%s", argv[i] + 4);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_write, NULL);
    return 0;
}
