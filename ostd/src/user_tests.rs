//! User mode on the machine: entering ring 3, syscalls, interrupts and faults from user
//! code, with user XMM state preserved across all of them.

use alloc::sync::Arc;

use crate::mm::{Frame, PAGE_SIZE, PageFaultInfo, PageFlags, VmError, VmSpace};
use crate::user::{ReturnReason, UserContext, UserMode};

// Position-independent user programs, copied into user pages by the tests.
core::arch::global_asm!(
    ".section .user_blobs, \"a\"",
    // rdi = TSC cycles to spin with interrupts arriving; exits with rdi = 0 if every XMM
    // register kept both halves across the spin and a syscall, else 1.
    "user_xmm_test:",
    "    mov r12, rdi",
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "    movabs rax, 0x0123456789ab0000 + \\n",
    "    movq xmm\\n, rax",
    "    pshufd xmm\\n, xmm\\n, 0x44",
    ".endr",
    "    rdtsc",
    "    shl rdx, 32",
    "    or rax, rdx",
    "    mov r14, rax",
    "2:",
    "    rdtsc",
    "    shl rdx, 32",
    "    or rax, rdx",
    "    sub rax, r14",
    "    cmp rax, r12",
    "    jb 2b",
    "    mov eax, 1000",
    "    syscall",
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "    movabs rbx, 0x0123456789ab0000 + \\n",
    "    movq rax, xmm\\n",
    "    cmp rax, rbx",
    "    jne 3f",
    "    movhlps xmm\\n, xmm\\n",
    "    movq rax, xmm\\n",
    "    cmp rax, rbx",
    "    jne 3f",
    ".endr",
    "    xor edi, edi",
    "    jmp 4f",
    "3:",
    "    mov edi, 1",
    "4:",
    "    mov eax, 1001",
    "    syscall",
    "    ud2",
    "user_xmm_test_end:",
    // rdi = an address to write 0x77 to and read back; exits with what it read.
    "user_touch_test:",
    "    mov qword ptr [rdi], 0x77",
    "    mov rdi, [rdi]",
    "    mov eax, 1001",
    "    syscall",
    "    ud2",
    "user_touch_test_end:",
    ".section .text",
);

unsafe extern "C" {
    static user_xmm_test: u8;
    static user_xmm_test_end: u8;
    static user_touch_test: u8;
    static user_touch_test_end: u8;
}

const CODE: u64 = 0x40_0000;
const STACK_TOP: u64 = 0x7fff_0000;
const DEMAND: u64 = 0x1000_0000;

fn blob(start: *const u8, end: *const u8) -> &'static [u8] {
    // SAFETY: both symbols delimit one blob in the read-only `.user_blobs` section.
    unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) }
}

/// A space with `code` mapped at CODE and one stack page below STACK_TOP.
fn space_with(code: &[u8]) -> Arc<VmSpace> {
    assert!(code.len() <= PAGE_SIZE);
    let space = VmSpace::new().unwrap();
    let page = Frame::alloc_zeroed().unwrap();
    page.write_bytes(0, code);
    space.map(CODE, page, PageFlags::READ | PageFlags::EXEC).unwrap();
    space
        .map(
            STACK_TOP - PAGE_SIZE as u64,
            Frame::alloc_zeroed().unwrap(),
            PageFlags::READ | PageFlags::WRITE,
        )
        .unwrap();
    space.set_page_fault_handler(alloc::boxed::Box::new(
        |space: &VmSpace, info: &PageFaultInfo| {
            if (DEMAND..DEMAND + 0x10_0000).contains(&info.addr) && !info.present {
                let page = info.addr & !(PAGE_SIZE as u64 - 1);
                space
                    .map(page, Frame::alloc_zeroed().ok_or(())?, PageFlags::READ | PageFlags::WRITE)
                    .map_err(|_| ())
            } else {
                Err(())
            }
        },
    ));
    Arc::new(space)
}

fn context(rdi: u64) -> UserContext {
    let mut ctx = UserContext::default();
    (ctx.rip, ctx.rsp, ctx.rdi) = (CODE, STACK_TOP, rdi);
    ctx
}

crate::ktest! {
    fn user_xmm_state_survives_syscalls_and_interrupts() {
        let code = blob(&raw const user_xmm_test, &raw const user_xmm_test_end);
        let space = space_with(code);
        // 250 ms: dozens of 10 ms ticks even when a busy host delays some of them.
        let spin_cycles = crate::time::tsc_hz() / 4;
        let mut user = UserMode::new(space, context(spin_cycles));
        let ticks_before = crate::time::ticks();
        loop {
            match user.execute() {
                ReturnReason::Syscall if user.context().syscall_number() == 1000 => {
                    // Kernel code that uses SSE registers heavily, between entry and exit.
                    let text = alloc::format!("{:.6} {:.3}", core::f64::consts::PI * 2.5, 1.0f64 / 3.0);
                    assert_eq!(text, "7.853982 0.333");
                    user.context_mut().set_syscall_return(0);
                }
                ReturnReason::Syscall if user.context().syscall_number() == 1001 => break,
                other => panic!(
                    "unexpected return from user mode: {other:?} at rip {:#x}",
                    user.context().rip
                ),
            }
        }
        assert_eq!(user.context().rdi, 0, "user code saw an XMM register change");
        assert!(
            crate::time::ticks() >= ticks_before + 2,
            "no timer interrupts arrived while in user mode"
        );
    }

    fn user_page_fault_is_resolved_by_the_space_handler() {
        let code = blob(&raw const user_touch_test, &raw const user_touch_test_end);
        let space = space_with(code);
        let mut user = UserMode::new(space.clone(), context(DEMAND + 0x123 * 8));
        assert_eq!(user.execute(), ReturnReason::Syscall);
        assert_eq!(user.context().rdi, 0x77);
        assert!(space.translate(DEMAND + 0x123 * 8).is_some(), "the handler did not map the page");

        // Outside the demand region the fault comes back to the kernel, with its address.
        let mut user = UserMode::new(space, context(0xdead_0000));
        match user.execute() {
            ReturnReason::PageFault(info) => {
                assert_eq!(info.addr, 0xdead_0000);
                assert!(info.user && !info.present);
            }
            other => panic!("expected a page fault, got {other:?}"),
        }
        crate::mm::deactivate_user_space();
    }

    fn kernel_copies_to_user_space_fault_in_pages_or_fail_cleanly() {
        let space = space_with(&[0xcc]);
        space.activate();
        // A kernel-mode fault on a demand page is handled, and the copy completes.
        space.write_bytes(DEMAND + 4090, b"across a page").unwrap();
        let mut back = [0u8; 13];
        space.read_bytes(DEMAND + 4090, &mut back).unwrap();
        assert_eq!(&back, b"across a page");
        // An unmapped address outside the handler's region is an error, not a panic.
        assert_eq!(space.read_bytes(0x5000_0000, &mut back), Err(VmError::Fault(0x5000_0000)));
        assert_eq!(
            space.write_bytes(u64::MAX - 3, b"wrap"),
            Err(VmError::BadAddress(u64::MAX - 3))
        );
        crate::mm::deactivate_user_space();
    }

    fn user_copies_of_every_length_and_alignment_stop_exactly_at_the_first_bad_byte() {
        let space = space_with(&[0xcc]);
        space.activate();
        let pattern: alloc::vec::Vec<u8> =
            (0..64u8).map(|i| i.wrapping_mul(37).wrapping_add(1)).collect();
        // Whole copies: the eight-byte steps and the byte tail together move every byte, and
        // nothing next to the range.
        let base = STACK_TOP - PAGE_SIZE as u64;
        for offset in 0..8u64 {
            for len in 0..=40usize {
                space.write_bytes(base, &[0u8; 64]).unwrap();
                space.write_bytes(base + offset, &pattern[..len]).unwrap();
                let mut back = [0u8; 64];
                space.read_bytes(base, &mut back).unwrap();
                let mut expected = [0u8; 64];
                expected[offset as usize..offset as usize + len].copy_from_slice(&pattern[..len]);
                assert_eq!(back, expected, "copy of {len} bytes at offset {offset}");
            }
        }
        // Copies that run off the mapped stack page into nothing: every byte before the
        // boundary is copied and the error names the boundary, whatever the alignment (a
        // fault inside an eight-byte step must not lose the bytes before it).
        for before in [1u64, 3, 7, 8, 13, 16, 21] {
            let start = STACK_TOP - before;
            let mut back = [0u8; 64];
            assert_eq!(
                space.write_bytes(start, &pattern[..40]),
                Err(VmError::Fault(STACK_TOP)),
                "write {before} bytes before the end"
            );
            space.read_bytes(start, &mut back[..before as usize]).unwrap();
            assert_eq!(&back[..before as usize], &pattern[..before as usize]);
            let mut into = [0xeeu8; 40];
            assert_eq!(
                space.read_bytes(start, &mut into),
                Err(VmError::Fault(STACK_TOP)),
                "read {before} bytes before the end"
            );
            assert_eq!(&into[..before as usize], &pattern[..before as usize]);
        }
        crate::mm::deactivate_user_space();
    }

    fn kernel_writes_to_copy_on_write_user_pages_go_through_the_fault_handler() {
        use core::sync::atomic::{AtomicUsize, Ordering};
        const PAGE: u64 = 0x30_0000;
        let parent = VmSpace::new().unwrap();
        let frame = Frame::alloc_zeroed().unwrap();
        frame.write_bytes(0, b"parent data");
        parent.map(PAGE, frame.clone(), PageFlags::READ | PageFlags::WRITE).unwrap();
        let child = Arc::new(parent.fork_cow().unwrap());
        static COPIES: AtomicUsize = AtomicUsize::new(0);
        COPIES.store(0, Ordering::Relaxed);
        child.set_page_fault_handler(alloc::boxed::Box::new(
            |space: &VmSpace, info: &PageFaultInfo| {
                if info.addr & !(PAGE_SIZE as u64 - 1) != PAGE || !info.present || info.user {
                    return Err(());
                }
                COPIES.fetch_add(1, Ordering::Relaxed);
                let copy = Frame::alloc_zeroed().ok_or(())?;
                copy.copy_from(&space.clone_frame_at(PAGE).ok_or(())?);
                space
                    .replace(PAGE, copy, PageFlags::READ | PageFlags::WRITE)
                    .map(drop)
                    .map_err(|_| ())
            },
        ));
        child.activate();
        // With CR0.WP on, the kernel's write faults on the shared read-only entry, and the
        // handler gives the child its own copy; the parent's page is untouched.
        child.write_bytes(PAGE + 7, b"CHILD").unwrap();
        assert_eq!(
            COPIES.load(Ordering::Relaxed),
            1,
            "the write did not go through the fault handler"
        );
        let mut back = [0u8; 12];
        child.read_bytes(PAGE, &mut back).unwrap();
        assert_eq!(&back, b"parent CHILD");
        let mut original = [0u8; 11];
        frame.read_bytes(0, &mut original);
        assert_eq!(&original, b"parent data", "the kernel wrote through a read-only user entry");
        // A read-only page the handler refuses to copy is a clean failure, not a write.
        let read_only = Frame::alloc_zeroed().unwrap();
        child.map(PAGE + 0x1000, read_only.clone(), PageFlags::READ).unwrap();
        assert_eq!(child.write_bytes(PAGE + 0x1000, b"x"), Err(VmError::Fault(PAGE + 0x1000)));
        // The fault fixup leaves through CLAC: SMAP is back in force.
        assert!(
            !x86_64::registers::rflags::read()
                .contains(x86_64::registers::rflags::RFlags::ALIGNMENT_CHECK)
        );
        let mut byte = [0xffu8];
        read_only.read_bytes(0, &mut byte);
        assert_eq!(byte, [0]);
        crate::mm::deactivate_user_space();
    }

    fn a_copy_that_runs_into_an_unmapped_page_stops_at_its_first_byte() {
        // The copy loop moves 64-byte blocks; a fault inside one restarts it byte by byte,
        // so the fault is reported at the first unmapped byte and every byte before it is
        // copied, wherever the hole falls (within the first block, on a block boundary,
        // after whole blocks, at an odd offset).
        const PAGE: u64 = 0x60_0000;
        let space = Arc::new(VmSpace::new().unwrap());
        let frame = Frame::alloc_zeroed().unwrap();
        space.map(PAGE, frame.clone(), PageFlags::READ | PageFlags::WRITE).unwrap();
        space.activate();
        let hole = PAGE + PAGE_SIZE as u64;
        let data: alloc::vec::Vec<u8> = (0..4096u32).map(|i| (i * 7 + 1) as u8).collect();
        for before in [1usize, 13, 63, 64, 65, 100, 256, 1000, 3003] {
            let start = hole - before as u64;
            frame.fill_zero();
            let len = before + 500;
            assert_eq!(space.write_bytes(start, &data[..len]), Err(VmError::Fault(hole)));
            let mut landed = alloc::vec![0u8; before];
            frame.read_bytes(PAGE_SIZE - before, &mut landed);
            assert!(landed == data[..before], "{before} bytes before the hole were not all written");
            let mut back = alloc::vec![0u8; len];
            assert_eq!(space.read_bytes(start, &mut back), Err(VmError::Fault(hole)));
            assert!(back[..before] == data[..before], "{before} bytes before the hole not read");
        }
        let mut whole = alloc::vec![0u8; 4096];
        space.read_bytes(PAGE, &mut whole).unwrap();
        crate::mm::deactivate_user_space();
    }

    fn vm_space_map_protect_unmap_translate() {
        let space = VmSpace::new().unwrap();
        let frame = Frame::alloc_zeroed().unwrap();
        let paddr = frame.paddr();
        space.map(0x20_0000, frame, PageFlags::READ | PageFlags::WRITE).unwrap();
        assert_eq!(
            space.translate(0x20_0010),
            Some((paddr + 0x10, PageFlags::READ | PageFlags::WRITE | PageFlags::USER))
        );
        assert_eq!(
            space.map(0x20_0000, Frame::alloc_zeroed().unwrap(), PageFlags::READ),
            Err(VmError::AlreadyMapped(0x20_0000))
        );
        space.protect(0x20_0000, PageFlags::READ).unwrap();
        assert_eq!(
            space.translate(0x20_0000).map(|(_, f)| f),
            Some(PageFlags::READ | PageFlags::USER)
        );
        let back = space.unmap(0x20_0000).unwrap();
        assert_eq!(back.paddr(), paddr);
        assert_eq!(back.ref_count(), 1);
        assert_eq!(space.translate(0x20_0000), None);
        assert_eq!(space.unmap(0x20_0000).map(|_| ()), Err(VmError::NotMapped(0x20_0000)));
        assert_eq!(
            space.map(0x20_0001, Frame::alloc_zeroed().unwrap(), PageFlags::READ),
            Err(VmError::BadAddress(0x20_0001))
        );
        assert_eq!(
            space.map(crate::mm::USER_END, Frame::alloc_zeroed().unwrap(), PageFlags::READ),
            Err(VmError::BadAddress(crate::mm::USER_END))
        );
    }

    fn dropping_a_vm_space_frees_its_frames_and_tables() {
        let before = crate::mm::frame_stats().free;
        {
            let space = VmSpace::new().unwrap();
            for i in 0..10 {
                space
                    .map(
                        0x100_0000 + i * 0x20_0000,
                        Frame::alloc_zeroed().unwrap(),
                        PageFlags::READ,
                    )
                    .unwrap();
            }
            assert!(crate::mm::frame_stats().free < before - 10);
        }
        assert_eq!(crate::mm::frame_stats().free, before);
    }
}
