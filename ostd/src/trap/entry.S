/* Trap, interrupt and syscall entry and exit.
 *
 * Every IDT vector runs on an IST stack, and every stub lands in trap_common:
 *   - From kernel mode, the trampoline moves the hardware frame to the interrupted stack,
 *     128 bytes below its stack pointer (past the red zone the prebuilt core uses), and
 *     continues there. Nested traps therefore each get their own frame, and the IST stack is
 *     free again as soon as the move is done.
 *     The one exception is a page fault on a kernel stack's guard page: that stack is exhausted,
 *     so trap_kernel_page_fault reports it from a stack of its own instead.
 *   - From user mode, it saves the user registers (GPRs, then FXSAVE of XMM/x87 state) into
 *     the current UserContext and returns from ostd_enter_user, on the task's kernel stack.
 * SYSCALL does the same as a user-mode trap, without the hardware frame.
 *
 * Rust code needs DF clear (the SysV ABI) and AC clear (with SMAP on, AC set would let the
 * kernel touch user pages anywhere). The CPU clears neither on a trap or interrupt gate, and a
 * user program or a user-copy routine can leave either set, so every path into Rust first loads
 * RFLAGS with only its reserved bit (IF is already clear there); iretq restores what was
 * interrupted.
 *
 * Offsets below are the contract with trap/frame.rs (TrapFrame), user.rs (UserContext) and
 * cpu/local.rs (PerCpu); each of those files asserts them at compile time.
 */

.set PCPU_SCRATCH, 8
.set PCPU_KERNEL_RSP, 16
.set PCPU_USER_CTX, 24

.set UC_FX, 0
.set UC_RAX, 512
.set UC_RBX, 520
.set UC_RCX, 528
.set UC_RDX, 536
.set UC_RSI, 544
.set UC_RDI, 552
.set UC_RBP, 560
.set UC_RSP, 568
.set UC_R8, 576
.set UC_R9, 584
.set UC_R10, 592
.set UC_R11, 600
.set UC_R12, 608
.set UC_R13, 616
.set UC_R14, 624
.set UC_R15, 632
.set UC_RIP, 640
.set UC_RFLAGS, 648
.set UC_VECTOR, 656
.set UC_ERROR, 664
.set UC_CR2, 672
.set UC_EXIT, 680

.set EXIT_SYSCALL, 1
.set EXIT_TRAP, 2

.set USER_SS, 0x2b
/* Only the always-one bit: IF, TF, DF and AC clear. */
.set RFLAGS_KERNEL, 0x2
.set USER_CS, 0x33

.section .text.trap_entry, "ax"

/* 256 stubs of 16 bytes each: push a dummy error code where the CPU pushes none, push the
 * vector, and jump to the common trampoline. */
.balign 16
.global ostd_trap_stubs
ostd_trap_stubs:
.set vec, 0
.rept 256
    .balign 16
    .if vec == 8
        jmp trap_double_fault
    .elseif (vec == 2) || (vec == 18)
        pushq $0
        pushq $vec
        jmp trap_fatal_event
    .else
        .if (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
        .else
            pushq $0
        .endif
        pushq $vec
        jmp trap_common
    .endif
    .set vec, vec + 1
.endr

/* On the IST stack: vector, error, rip, cs, rflags, rsp, ss. */
trap_common:
    testb $3, 24(%rsp)
    jnz trap_from_user
    cmpq $14, (%rsp)
    je trap_kernel_page_fault

    /* Kernel mode: move the 7-word frame below the interrupted red zone. */
trap_from_kernel:
    pushq %rax
    pushq %rbx
    movq 56(%rsp), %rax
    subq $128, %rax
    andq $-16, %rax
    subq $56, %rax
    movq 16(%rsp), %rbx
    movq %rbx, 0(%rax)
    movq 24(%rsp), %rbx
    movq %rbx, 8(%rax)
    movq 32(%rsp), %rbx
    movq %rbx, 16(%rax)
    movq 40(%rsp), %rbx
    movq %rbx, 24(%rax)
    movq 48(%rsp), %rbx
    movq %rbx, 32(%rax)
    movq 56(%rsp), %rbx
    movq %rbx, 40(%rax)
    movq 64(%rsp), %rbx
    movq %rbx, 48(%rax)
    movq 8(%rsp), %rbx
    movq %rbx, -8(%rax)
    movq (%rsp), %rbx
    leaq -8(%rax), %rsp
    popq %rax

    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rbx
    /* A frame record for backtraces: (interrupted rbp, interrupted rip). */
    pushq 136(%rbx)
    pushq 64(%rbx)
    movq %rsp, %rbp
    subq $512, %rsp
    andq $-16, %rsp
    fxsave64 (%rsp)
    movq %rbx, %rdi
    pushq $RFLAGS_KERNEL
    popfq
    call ostd_trap_from_kernel
    fxrstor64 (%rsp)
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

trap_from_user:
    swapgs
    movq %rax, %gs:PCPU_SCRATCH
    movq %gs:PCPU_USER_CTX, %rax
    movq %rbx, UC_RBX(%rax)
    movq %rcx, UC_RCX(%rax)
    movq %rdx, UC_RDX(%rax)
    movq %rsi, UC_RSI(%rax)
    movq %rdi, UC_RDI(%rax)
    movq %rbp, UC_RBP(%rax)
    movq %r8, UC_R8(%rax)
    movq %r9, UC_R9(%rax)
    movq %r10, UC_R10(%rax)
    movq %r11, UC_R11(%rax)
    movq %r12, UC_R12(%rax)
    movq %r13, UC_R13(%rax)
    movq %r14, UC_R14(%rax)
    movq %r15, UC_R15(%rax)
    movq %gs:PCPU_SCRATCH, %rbx
    movq %rbx, UC_RAX(%rax)
    movq 0(%rsp), %rbx
    movq %rbx, UC_VECTOR(%rax)
    movq 8(%rsp), %rbx
    movq %rbx, UC_ERROR(%rax)
    movq 16(%rsp), %rbx
    movq %rbx, UC_RIP(%rax)
    movq 32(%rsp), %rbx
    movq %rbx, UC_RFLAGS(%rax)
    movq 40(%rsp), %rbx
    movq %rbx, UC_RSP(%rax)
    movq %cr2, %rbx
    movq %rbx, UC_CR2(%rax)
    fxsave64 UC_FX(%rax)
    movq $EXIT_TRAP, UC_EXIT(%rax)
    jmp return_from_user

/* SYSCALL: rcx = user rip, r11 = user rflags, IF/TF/DF/AC cleared by SFMASK. */
.global ostd_syscall_entry
ostd_syscall_entry:
    swapgs
    movq %rax, %gs:PCPU_SCRATCH
    movq %gs:PCPU_USER_CTX, %rax
    movq %rbx, UC_RBX(%rax)
    movq %rcx, UC_RCX(%rax)
    movq %rdx, UC_RDX(%rax)
    movq %rsi, UC_RSI(%rax)
    movq %rdi, UC_RDI(%rax)
    movq %rbp, UC_RBP(%rax)
    movq %rsp, UC_RSP(%rax)
    movq %r8, UC_R8(%rax)
    movq %r9, UC_R9(%rax)
    movq %r10, UC_R10(%rax)
    movq %r11, UC_R11(%rax)
    movq %r12, UC_R12(%rax)
    movq %r13, UC_R13(%rax)
    movq %r14, UC_R14(%rax)
    movq %r15, UC_R15(%rax)
    movq %rcx, UC_RIP(%rax)
    movq %r11, UC_RFLAGS(%rax)
    movq %gs:PCPU_SCRATCH, %rbx
    movq %rbx, UC_RAX(%rax)
    fxsave64 UC_FX(%rax)
    movq $EXIT_SYSCALL, UC_EXIT(%rax)
    jmp return_from_user

/* Back on the kernel stack saved by ostd_enter_user, with the kernel's FP control state. */
return_from_user:
    movq %gs:PCPU_KERNEL_RSP, %rsp
    pushq $RFLAGS_KERNEL
    popfq
    fninit
    ldmxcsr kernel_mxcsr(%rip)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* fn ostd_enter_user(ctx: *mut UserContext): runs user code until the next syscall or trap,
 * then returns (through return_from_user). Interrupts must be off. */
.global ostd_enter_user
ostd_enter_user:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %gs:PCPU_KERNEL_RSP
    movq %rdi, %gs:PCPU_USER_CTX
    fxrstor64 UC_FX(%rdi)
    pushq $USER_SS
    pushq UC_RSP(%rdi)
    pushq UC_RFLAGS(%rdi)
    pushq $USER_CS
    pushq UC_RIP(%rdi)
    movq UC_RAX(%rdi), %rax
    movq UC_RBX(%rdi), %rbx
    movq UC_RCX(%rdi), %rcx
    movq UC_RDX(%rdi), %rdx
    movq UC_RSI(%rdi), %rsi
    movq UC_RBP(%rdi), %rbp
    movq UC_R8(%rdi), %r8
    movq UC_R9(%rdi), %r9
    movq UC_R10(%rdi), %r10
    movq UC_R11(%rdi), %r11
    movq UC_R12(%rdi), %r12
    movq UC_R13(%rdi), %r13
    movq UC_R14(%rdi), %r14
    movq UC_R15(%rdi), %r15
    movq UC_RDI(%rdi), %rdi
    swapgs
    iretq

/* A kernel-mode page fault. One in the kernel-stack area (mm/kstack.rs: PML4 slot 448, so
 * CR2 >> 39, shifted arithmetically, is {kstack_pml4_index}) hit a guard page: the
 * interrupted stack is exhausted, or a stale stack pointer was used. Moving the frame onto that
 * stack would fault again, so build the TrapFrame here on the IST stack and report from a stack
 * of its own (ostd_kernel_stack_fault never returns). Any other page fault goes the usual way. */
trap_kernel_page_fault:
    pushq %rax
    movq %cr2, %rax
    sarq $39, %rax
    cmpq ${kstack_pml4_index}, %rax
    popq %rax
    jne trap_from_kernel
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    leaq stack_fault_stack_top(%rip), %rsp
    pushq $RFLAGS_KERNEL
    popfq
    call ostd_kernel_stack_fault
1:
    hlt
    jmp 1b

/* Double fault: stay on the IST stack and report. */
trap_double_fault:
    pushq $8
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    andq $-16, %rsp
    pushq $RFLAGS_KERNEL
    popfq
    call ostd_double_fault
1:
    hlt
    jmp 1b

/* NMI and machine check: neither is masked by clearing IF, so either can arrive inside the
 * few instructions where the kernel runs with the user's stack pointer (after SYSCALL, before
 * the switch to the kernel stack) or the user's GS base (around each swapgs). The kernel-mode
 * trampoline would then move its frame onto a user-chosen stack, and Rust would find its per-CPU
 * block at the user's GS. So these stay on their own IST stack, never move the frame, never
 * read GS, and only report and stop: the host sends NMIs, and this kernel has no use for them. */
trap_fatal_event:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    andq $-16, %rsp
    pushq $RFLAGS_KERNEL
    popfq
    call ostd_fatal_event
1:
    hlt
    jmp 1b

.section .rodata.kernel_mxcsr, "a"
.balign 4
kernel_mxcsr:
    .long 0x1f80

/* The stack ostd_kernel_stack_fault reports from: the faulting task's stack is exhausted, and
 * the IST stack holds the TrapFrame (and would be reused by any nested trap). */
.section .bss.stack_fault_stack, "aw", @nobits
.balign 16
    .skip 32 * 1024
stack_fault_stack_top:
