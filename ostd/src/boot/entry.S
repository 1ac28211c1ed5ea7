/* Boot entry points, up to the first instruction of Rust.
 *
 * Two ways in, one way out:
 *   pvh_start32        32-bit protected mode, paging off, no stack (PVH: `qemu -kernel kernel.elf`).
 *                      PVH loads the ELF at its link address, so absolute addresses are valid here.
 *   efi_handover64     64-bit mode under UEFI boot services, identity-mapped, at any 4 KiB-aligned
 *                      address (Linux boot protocol 2.12+, 64-bit EFI handover: OVMF, TDVF, SEV OVMF).
 *                      Calls GetMemoryMap and ExitBootServices on the firmware's page tables.
 *   boot_common64      position-independent: builds page tables that map the higher half onto the
 *                      physical place the image actually occupies, switches to the boot stack and
 *                      calls `ostd_boot_entry(protocol, arg0, arg1, arg2, load_offset, entry_tsc)`.
 *
 * Everything in .boot runs before the higher half exists, so it may only use RIP-relative
 * references to other .boot symbols (and movabs for higher-half ones).
 *
 * Names in braces are constants that boot/mod.rs passes to global_asm!, most from efi.rs.
 */

.set BOOT_PROTO_PVH, 1
.set BOOT_PROTO_EFI_HANDOVER, 2

.set PTE_PRESENT, 1
.set PTE_WRITABLE, 2
.set PTE_HUGE, 0x80

.set KERNEL_LMA, 0x100000
/* Number of 4 KiB page-table pages that map the image; 16 cover 32 MiB of virtual space. */
.set KERNEL_PT_PAGES, 16

.section .boot.entry, "ax"
.code32
.global pvh_start32
pvh_start32:
    cli
    cld
    /* ebx holds the physical address of hvm_start_info. */
    mov esi, ebx
    rdtsc
    mov [boot_entry_tsc], eax
    mov [boot_entry_tsc + 4], edx

    /* A throwaway identity map of the first GiB, just enough to enter long mode. */
    lea edi, [pvh_pml4]
    xor eax, eax
    mov ecx, 3 * 1024
    rep stosd
    lea eax, [pvh_pdpt + PTE_PRESENT + PTE_WRITABLE]
    mov [pvh_pml4], eax
    lea eax, [pvh_pd + PTE_PRESENT + PTE_WRITABLE]
    mov [pvh_pdpt], eax
    xor ecx, ecx
1:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_PRESENT + PTE_WRITABLE + PTE_HUGE
    mov [pvh_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jne 1b

    mov eax, cr4
    or eax, 1 << 5                      /* PAE */
    mov cr4, eax
    lea eax, [pvh_pml4]
    mov cr3, eax
    mov ecx, 0xc0000080                 /* EFER */
    rdmsr
    or eax, 1 << 8                      /* LME (NXE waits for the CPUID check in cpu::init_bsp) */
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 0)        /* PG, PE */
    mov cr0, eax

    lgdt [boot_gdt_desc]
    push 0x08
    lea eax, [pvh_start64]
    push eax
    retf

.code64
pvh_start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov edi, BOOT_PROTO_PVH
    mov esi, esi                        /* zero-extend the start_info address */
    xor edx, edx
    xor ecx, ecx
    jmp boot_common64

/* The 64-bit EFI handover entry sits at image offset 0x200 + handover_offset; the bzImage
 * builder reads this symbol to fill in handover_offset. OVMF calls it as
 * handover(image_handle: rdi, system_table: rsi, boot_params: rdx), never to return. */
/* At image offset 0x240, so handover_offset (entry - 0x200) is 0x40: non-zero, which some
 * loaders require before they use the handover path. */
.balign 512
.skip 64
.global efi_handover64
efi_handover64:
    cli
    cld
    mov r8, rdx
    rdtsc
    mov [rip + boot_entry_tsc], eax
    mov [rip + boot_entry_tsc + 4], edx
    /* rbx, r12-r14 are callee-saved in the EFI (Microsoft x64) ABI: they survive the calls. */
    mov r12, rdi                        /* image handle */
    mov r13, rsi                        /* EFI system table */
    mov r14, r8                         /* boot_params */

    /* SEV-SNP: is it on, and which address bit is its encryption bit (the C-bit)? Asked
     * here, under boot services, where the firmware's #VC handler still answers CPUID (SNP
     * OVMF answers from the CPUID page the PSP checked at launch; tee::snp checks the bit
     * against that page again). SEV_STATUS exists only where the SEV leaf says SEV does;
     * elsewhere reading it would #GP. Only SNP is recorded: without SNP nothing is. */
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x8000001f
    jb 7f
    mov eax, 0x8000001f
    cpuid
    test eax, 2                         /* SEV supported */
    jz 7f
    mov r8d, ebx                        /* EBX[5:0]: the C-bit's position */
    mov ecx, {msr_sev_status}
    rdmsr
    test eax, {sev_status_snp}
    jz 7f
    shl rdx, 32
    or rax, rdx
    mov [rip + boot_sev_status], rax
    mov ecx, r8d
    and ecx, 0x3f
    mov eax, 1
    shl rax, cl
    mov [rip + boot_c_bit], rax
7:

    /* Leave boot services here, before boot_common64 switches to our page tables. Boot
     * services (and the ExitBootServices notifications they run, such as OVMF's virtio
     * drivers resetting their devices through 64-bit BARs far above 4 GiB) assume the
     * firmware's own page tables, which identity-map everything the firmware may touch; ours
     * map only the first 4 GiB. So every call into the firmware happens on its page tables
     * and its stack, and efi.rs only reads the outcome from efi_exit_record afterwards. */
    lea rbx, [rip + efi_exit_record]
    xor eax, eax
    mov [rbx + {exit_failed_call}], rax
    mov [rbx + {exit_status}], rax
    lea rax, [rip + efi_memory_map]
    mov [rbx + {exit_map}], rax
    movabs rax, {st_signature}
    mov rcx, [r13]
    cmp rcx, rax
    jne efi_bad_system_table
    mov r15, [r13 + {st_boot_services}]
    and rsp, -16
    sub rsp, 48                         /* shadow space (32), 5th argument, keeps 16-alignment */
    mov ebp, 2                          /* attempts: the map may change once under us */
efi_exit_attempt:
    /* GetMemoryMap(&size, map, &key, &desc_size, &desc_version) */
    mov qword ptr [rbx + {exit_map_size}], {map_buf_size}
    lea rcx, [rbx + {exit_map_size}]
    lea rdx, [rip + efi_memory_map]
    lea r8, [rbx + {exit_map_key}]
    lea r9, [rbx + {exit_desc_size}]
    lea rax, [rbx + {exit_desc_version}]
    mov [rsp + 32], rax
    call [r15 + {bs_get_memory_map}]
    test rax, rax
    jnz efi_get_memory_map_failed
    /* ExitBootServices(image_handle, key) */
    mov rcx, r12
    mov rdx, [rbx + {exit_map_key}]
    call [r15 + {bs_exit_boot_services}]
    test rax, rax
    jz efi_exited
    dec ebp
    jnz efi_exit_attempt
    mov qword ptr [rbx + {exit_failed_call}], {failed_exit_boot_services}
    mov [rbx + {exit_status}], rax
    jmp efi_exited
efi_bad_system_table:
    mov qword ptr [rbx + {exit_failed_call}], {failed_signature}
    mov [rbx + {exit_status}], rcx
    jmp efi_exited
efi_get_memory_map_failed:
    mov qword ptr [rbx + {exit_failed_call}], {failed_get_memory_map}
    mov [rbx + {exit_status}], rax
efi_exited:
    /* EDK2's RestoreTpl may have enabled interrupts; the firmware's handlers are gone. */
    cli
    mov rcx, r14                        /* arg2: boot_params */
    mov rdx, r13                        /* arg1: EFI system table */
    mov rsi, rbx                        /* arg0: efi_exit_record */
    mov edi, BOOT_PROTO_EFI_HANDOVER
    jmp boot_common64

/* In: edi = protocol, rsi/rdx/rcx = protocol arguments; identity-mapped; no usable stack. */
boot_common64:
    mov r12, rdi
    mov r13, rsi
    mov r14, rdx
    mov r15, rcx

    /* rbx = load offset: where the image really is minus where it was linked. */
    lea rbx, [rip + __image_lma_start]
    sub rbx, KERNEL_LMA
    /* r11 = the SEV-SNP C-bit (0 elsewhere), set in every entry: all of this is private. */
    mov r11, [rip + boot_c_bit]

    /* Zero the boot page tables (they are NOLOAD and the firmware may have left anything). */
    lea rdi, [rip + boot_pml4]
    lea rcx, [rip + boot_page_tables_end]
    sub rcx, rdi
    shr rcx, 3
    xor eax, eax
    rep stosq

    /* Identity and direct map of the first 4 GiB: boot_pdpt_low[0..4] -> boot_pd_low, 2 MiB pages. */
    lea rdi, [rip + boot_pd_low]
    xor ecx, ecx
2:
    mov rax, rcx
    shl rax, 21
    or rax, PTE_PRESENT + PTE_WRITABLE + PTE_HUGE
    or rax, r11
    mov [rdi + rcx * 8], rax
    inc ecx
    cmp ecx, 4 * 512
    jne 2b
    lea rsi, [rip + boot_pdpt_low]
    xor ecx, ecx
3:
    mov rax, rcx
    shl rax, 12
    add rax, rdi
    or rax, PTE_PRESENT + PTE_WRITABLE
    or rax, r11
    mov [rsi + rcx * 8], rax
    inc ecx
    cmp ecx, 4
    jne 3b
    lea rdi, [rip + boot_pml4]
    lea rax, [rsi + PTE_PRESENT + PTE_WRITABLE]
    or rax, r11
    mov [rdi], rax                      /* PML4[0]: identity */
    mov [rdi + 256 * 8], rax            /* PML4[256]: direct map at 0xffff800000000000 */

    /* Higher half: PML4[511] -> boot_pdpt_high; [510] -> boot_pd_kernel -> boot_pt_kernel[..],
     * virtual 0xffffffff80000000 + p maps physical p + load offset, for p >= KERNEL_LMA. */
    lea rax, [rip + boot_pdpt_high + PTE_PRESENT + PTE_WRITABLE]
    or rax, r11
    mov [rdi + 511 * 8], rax
    lea rsi, [rip + boot_pdpt_high]
    lea rax, [rip + boot_pd_kernel + PTE_PRESENT + PTE_WRITABLE]
    or rax, r11
    mov [rsi + 510 * 8], rax
    lea rsi, [rip + boot_pd_kernel]
    lea rdi, [rip + boot_pt_kernel]
    xor ecx, ecx
4:
    mov rax, rcx
    shl rax, 12
    add rax, rdi
    or rax, PTE_PRESENT + PTE_WRITABLE
    or rax, r11
    mov [rsi + rcx * 8], rax
    inc ecx
    cmp ecx, KERNEL_PT_PAGES
    jne 4b
    mov ecx, KERNEL_LMA >> 12
5:
    mov rax, rcx
    shl rax, 12
    add rax, rbx
    or rax, PTE_PRESENT + PTE_WRITABLE
    or rax, r11
    mov [rdi + rcx * 8], rax
    inc ecx
    cmp ecx, KERNEL_PT_PAGES * 512
    jne 5b
    /* The boot GHCB is the one page the host shares: its higher-half entry has no C-bit.
     * tee::snp makes the page itself shared before anything touches it (not even .bss
     * zeroing does: it lives in .boot.bss). rdi still points at boot_pt_kernel. */
    lea rax, [rip + boot_ghcb]
    sub rax, rbx
    shr rax, 12
    mov rcx, r11
    not rcx
    and [rdi + rax * 8], rcx

    /* SSE for the prebuilt core: CR0.EM=0, CR0.MP=1, CR4.OSFXSR=1, CR4.OSXMMEXCPT=1. */
    mov rax, cr0
    and rax, ~(1 << 2)
    or rax, 1 << 1
    mov cr0, rax
    mov rax, cr4
    or rax, (1 << 9) | (1 << 10)
    mov cr4, rax
    /* The boot tables use no NX bit; EFER.NXE, CR0.WP, SMEP, SMAP and UMIP are turned on in
     * Rust (cpu::init_bsp), on both paths, once CPUID says the CPU has them. */

    lea rax, [rip + boot_pml4]
    mov cr3, rax

    /* Now the higher half exists. Zero .bss, take the boot stack, enter Rust. */
    movabs rdi, offset __bss_start
    movabs rcx, offset __bss_end
    sub rcx, rdi
    xor eax, eax
    rep stosb
    fninit
    movabs rsp, offset boot_stack_top
    xor ebp, ebp

    mov rdi, r12
    mov rsi, r13
    mov rdx, r14
    mov rcx, r15
    mov r8, rbx
    mov r9, [rip + boot_entry_tsc]
    movabs rax, offset ostd_boot_entry
    call rax
6:
    hlt
    jmp 6b

.section .boot.data, "aw"
.balign 8
boot_entry_tsc:
    .quad 0
/* SEV_STATUS and the C-bit mask when SEV-SNP is on, zeros otherwise (read by tee::snp). */
.global boot_sev_status
boot_sev_status:
    .quad 0
.global boot_c_bit
boot_c_bit:
    .quad 0
.balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff                /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff                /* 0x10: data */
boot_gdt_end:
boot_gdt_desc:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

/* PVH ELF note: XEN_ELFNOTE_PHYS32_ENTRY (18), the 32-bit physical entry point. */
.section .note.Xen, "a"
.balign 4
    .long 4                                 /* name size */
    .long 4                                 /* desc size */
    .long 18                                /* type */
    .asciz "Xen"
    .long pvh_start32

.section .boot.bss, "aw", @nobits
.balign 4096
pvh_pml4:       .skip 4096
pvh_pdpt:       .skip 4096
pvh_pd:         .skip 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pd_low:    .skip 4 * 4096
boot_pdpt_high: .skip 4096
boot_pd_kernel: .skip 4096
boot_pt_kernel: .skip KERNEL_PT_PAGES * 4096
boot_page_tables_end:
/* The first GHCB under SEV-SNP (tee::snp): page-aligned, outside .bss (zeroing .bss would
 * write it while it is still private), mapped without the C-bit in the higher half. */
.balign 4096
.global boot_ghcb
boot_ghcb:      .skip 4096
/* Filled by efi_handover64 and read by efi.rs (the layout is in efi.rs, `exit_record`). */
.balign 8
efi_exit_record: .skip {exit_record_len}
.balign 16
efi_memory_map: .skip {map_buf_size}

.section .bss.boot_stack, "aw", @nobits
.balign 4096
.global boot_stack_bottom
boot_stack_bottom:
    .skip 128 * 1024
.global boot_stack_top
boot_stack_top:
