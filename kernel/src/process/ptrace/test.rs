//! In-kernel tests of the register view a tracer gets (struct user, user_regs_struct, the
//! debug registers).

use ostd::user::UserContext;

use super::user_area::{REGS_SIZE, TF, USER_SIZE, peek_user, poke_user, regs_bytes, set_regs};
use crate::error::Errno;

/// struct user_regs_struct offsets used below.
const ORIG_RAX: u64 = 15 * 8;
const RIP: u64 = 16 * 8;
const CS: u64 = 17 * 8;
const EFLAGS: u64 = 18 * 8;
const FS_BASE: u64 = 21 * 8;
const DEBUGREG0: u64 = 848;

ostd::ktest! {
    fn peek_user_refuses_unaligned_offsets_and_offsets_past_the_kernels_struct_user() {
        let ctx = UserContext::default();
        assert_eq!(peek_user(&ctx, 0, 3), Err(Errno::EIO));
        assert_eq!(peek_user(&ctx, 0, USER_SIZE), Err(Errno::EIO));
        // libc's struct user ends at the debug registers; the kernel's goes two words on.
        assert_eq!(peek_user(&ctx, 0, 912), Ok(0));
        assert_eq!(peek_user(&ctx, 0, DEBUGREG0), Ok(0));
    }

    fn peek_user_reads_orig_rax_and_the_user_code_selector() {
        let mut ctx = UserContext::default();
        ctx.rip = 0x401000;
        assert_eq!(peek_user(&ctx, 59, ORIG_RAX), Ok(59));
        assert_eq!(peek_user(&ctx, 59, RIP), Ok(0x401000));
        assert_eq!(peek_user(&ctx, 59, CS), Ok(0x33));
    }

    fn poke_user_refuses_kernel_selectors_bases_past_user_space_and_other_words() {
        let mut ctx = UserContext::default();
        let mut orig = 0;
        assert_eq!(poke_user(&mut ctx, &mut orig, CS, 0x30), Err(Errno::EIO));
        assert_eq!(poke_user(&mut ctx, &mut orig, CS, 0x33), Ok(()));
        assert_eq!(poke_user(&mut ctx, &mut orig, FS_BASE, 0xffff_8000_0000_0000), Err(Errno::EIO));
        assert_eq!(poke_user(&mut ctx, &mut orig, 736, 0), Err(Errno::EIO)); // u_tsize
        assert_eq!(
            poke_user(&mut ctx, &mut orig, DEBUGREG0, 0xffff_ffff_8100_0000),
            Err(Errno::EINVAL)
        );
        assert_eq!(poke_user(&mut ctx, &mut orig, ORIG_RAX, u64::MAX), Ok(()));
        assert_eq!(orig, u64::MAX);
    }

    fn eflags_takes_only_the_flags_a_tracer_may_change() {
        let mut ctx = UserContext::default();
        let before = ctx.rflags;
        let mut orig = 0;
        assert_eq!(poke_user(&mut ctx, &mut orig, EFLAGS, u64::MAX), Ok(()));
        // IF, IOPL and the reserved bits stay the kernel's; CF and TF may be set.
        assert_eq!(ctx.rflags & 0x200, before & 0x200);
        assert_eq!(ctx.rflags & 0x3000, before & 0x3000);
        assert_ne!(ctx.rflags & 1, 0);
        assert_ne!(ctx.rflags & TF, 0);
    }

    fn setregs_of_getregs_changes_nothing() {
        let mut ctx = UserContext::default();
        ctx.rax = 1;
        ctx.rdi = 2;
        ctx.r15 = 3;
        ctx.rsp = 0x7fff_0000;
        ctx.fs_base = 0x1000;
        let bytes = regs_bytes(&ctx, 39);
        assert_eq!(bytes.len(), REGS_SIZE);
        let mut copy = UserContext::default();
        let mut orig = 0;
        assert_eq!(set_regs(&mut copy, &mut orig, &bytes), Ok(()));
        assert_eq!(regs_bytes(&copy, orig), bytes);
    }

    fn debug_registers_read_as_linux_shows_them_and_dr4_dr5_take_no_writes() {
        let mut ctx = UserContext::default();
        let mut orig = 0;
        assert_eq!(peek_user(&ctx, 0, DEBUGREG0 + 6 * 8), Ok(0xffff_0ff0));
        assert_eq!(poke_user(&mut ctx, &mut orig, DEBUGREG0 + 4 * 8, 0), Err(Errno::EIO));
        assert_eq!(poke_user(&mut ctx, &mut orig, DEBUGREG0 + 5 * 8, 0), Err(Errno::EIO));
        assert_eq!(poke_user(&mut ctx, &mut orig, DEBUGREG0 + 6 * 8, 0), Ok(()));
        assert_eq!(peek_user(&ctx, 0, DEBUGREG0 + 6 * 8), Ok(0));
    }

    fn dr7_is_all_or_nothing_and_refuses_misaligned_io_and_long_execute_breakpoints() {
        let mut ctx = UserContext::default();
        let mut orig = 0;
        let dr7 = DEBUGREG0 + 7 * 8;
        assert_eq!(poke_user(&mut ctx, &mut orig, DEBUGREG0, 0x1001), Ok(()));
        // Slot 0, write, 4 bytes at an odd address.
        assert_eq!(poke_user(&mut ctx, &mut orig, dr7, 0xd_0001), Err(Errno::EINVAL));
        assert_eq!(peek_user(&ctx, 0, dr7), Ok(0));
        assert_eq!(poke_user(&mut ctx, &mut orig, dr7, 0x2_0001), Err(Errno::EINVAL)); // I/O
        assert_eq!(poke_user(&mut ctx, &mut orig, dr7, 0xc_0001), Err(Errno::EINVAL));
        assert_eq!(poke_user(&mut ctx, &mut orig, DEBUGREG0, 0x1000), Ok(()));
        assert_eq!(poke_user(&mut ctx, &mut orig, dr7, 0xd_0001), Ok(()));
        assert_eq!(ctx.debug.control, 0xd_0001);
        // Enabled, the slot's address must stay aligned to its length.
        assert_eq!(poke_user(&mut ctx, &mut orig, DEBUGREG0, 0x1002), Err(Errno::EINVAL));
        assert_eq!(ctx.debug.addr[0], 0x1000);
    }
}
