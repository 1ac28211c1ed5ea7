//! Running user code.
//!
//! [`UserMode::execute`] enters ring 3 with a [`UserContext`] and returns when user code
//! makes a syscall or takes an exception. Interrupts that arrive meanwhile are handled
//! inside `execute` (and may preempt the task); the kernel only sees what it must act on.
//! The user's registers, XMM state included, are saved into the context on every entry to
//! the kernel, before any Rust runs, and restored on the way back; kernel code reads and
//! writes them as plain fields.

use alloc::sync::Arc;

use x86_64::registers::model_specific::FsBase;

use crate::mm::{PageFaultInfo, USER_END, VmSpace};
use crate::trap::exception_name;

mod debug_regs;
pub use debug_regs::{DR6_RESERVED, DR6_SINGLE_STEP, DebugRegisters};

/// The FS base last loaded on this (the only) CPU; u64::MAX forces the first write.
static LAST_FS_BASE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(u64::MAX);

const EXIT_SYSCALL: u64 = 1;
const EXIT_TRAP: u64 = 2;
/// The debug exception (#DB): single-step, hardware breakpoints, int1.
const DEBUG_VECTOR: u64 = 1;

/// RFLAGS bits user code may set: CF PF AF ZF SF TF DF OF AC ID (not IF, IOPL, NT, VM...).
const USER_RFLAGS_MASK: u64 = 0x0025_0fd5;
const RFLAGS_IF: u64 = 0x200;
const RFLAGS_RESERVED_1: u64 = 0x2;

/// The FXSAVE image of the x87/SSE state.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct FpuState(pub [u8; 512]);

impl FpuState {
    /// The state of a fresh process: FCW 0x37f, MXCSR 0x1f80, all registers zero.
    pub const fn initial() -> Self {
        let mut bytes = [0u8; 512];
        bytes[0] = 0x7f;
        bytes[1] = 0x03;
        bytes[24] = 0x80;
        bytes[25] = 0x1f;
        bytes[28] = 0xff; // MXCSR_MASK as FXSAVE reports it
        bytes[29] = 0xff;
        Self(bytes)
    }

    /// Returns XMM register `n` (0..16).
    pub fn xmm(&self, n: usize) -> u128 {
        u128::from_le_bytes(self.0[160 + 16 * n..176 + 16 * n].try_into().unwrap_or_default())
    }

    /// Returns MXCSR.
    pub fn mxcsr(&self) -> u32 {
        u32::from_le_bytes(self.0[24..28].try_into().unwrap_or_default())
    }

    /// Returns whether MXCSR has only bits the CPU accepts (FXRSTOR of any other value
    /// takes #GP).
    pub fn mxcsr_is_valid(&self) -> bool {
        self.mxcsr() & !mxcsr_mask() == 0
    }

    /// Keeps only MXCSR bits the CPU accepts, so restoring this image cannot fault in the
    /// kernel (call after filling it from user memory, e.g. in sigreturn).
    pub fn sanitize(&mut self) {
        let mxcsr = self.mxcsr() & mxcsr_mask();
        self.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    }
}

/// The MXCSR bits this CPU accepts (FXSAVE's MXCSR_MASK; 0 there means the architectural
/// default, 0xffbf: no DAZ). FXRSTOR of any other bit is #GP, in kernel mode.
fn mxcsr_mask() -> u32 {
    static MASK: spin::Once<u32> = spin::Once::new();
    *MASK.call_once(|| {
        #[repr(C, align(16))]
        struct Area([u8; 512]);
        let mut area = Area([0; 512]);
        // SAFETY: FXSAVE64 writes exactly 512 bytes at a 16-byte-aligned address: `area` is
        // that, exclusively borrowed here. It reads CPU state only.
        unsafe {
            core::arch::asm!(
                "fxsave64 [{}]",
                in(reg) area.0.as_mut_ptr(),
                options(nostack, preserves_flags)
            )
        };
        match u32::from_le_bytes([area.0[28], area.0[29], area.0[30], area.0[31]]) {
            0 => 0xffbf,
            mask => mask,
        }
    })
}

/// User-mode registers.
#[derive(Clone)]
#[repr(C, align(16))]
#[allow(missing_docs)]
pub struct UserContext {
    /// x87/SSE state (FXSAVE layout).
    pub fpu: FpuState,
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    /// The vector of the last trap (set by the entry code).
    pub trap_vector: u64,
    /// Its error code.
    pub error_code: u64,
    /// CR2 at the last trap (the fault address for page faults).
    pub fault_addr: u64,
    exit_kind: u64,
    /// The FS base (user TLS pointer), loaded on every entry to user mode.
    pub fs_base: u64,
    /// The hardware breakpoints and watchpoints user code runs with.
    pub debug: DebugRegisters,
    /// What the last debug exception reported (DR6 in positive polarity: [`DR6_SINGLE_STEP`]
    /// and bit i for breakpoint i that fired), set on every debug exception from user mode.
    pub debug_status: u64,
}

// The layout is shared with trap/entry.S.
const _: () = {
    assert!(core::mem::offset_of!(UserContext, rax) == 512);
    assert!(core::mem::offset_of!(UserContext, rsp) == 568);
    assert!(core::mem::offset_of!(UserContext, r15) == 632);
    assert!(core::mem::offset_of!(UserContext, rip) == 640);
    assert!(core::mem::offset_of!(UserContext, trap_vector) == 656);
    assert!(core::mem::offset_of!(UserContext, exit_kind) == 680);
};

impl Default for UserContext {
    fn default() -> Self {
        Self {
            fpu: FpuState::initial(),
            rax: 0,
            rbx: 0,
            rcx: 0,
            rdx: 0,
            rsi: 0,
            rdi: 0,
            rbp: 0,
            rsp: 0,
            r8: 0,
            r9: 0,
            r10: 0,
            r11: 0,
            r12: 0,
            r13: 0,
            r14: 0,
            r15: 0,
            rip: 0,
            rflags: RFLAGS_IF | RFLAGS_RESERVED_1,
            trap_vector: 0,
            error_code: 0,
            fault_addr: 0,
            exit_kind: 0,
            fs_base: 0,
            debug: DebugRegisters { addr: [0; 4], control: 0 },
            debug_status: 0,
        }
    }
}

impl UserContext {
    /// Returns the syscall number (rax at the time of `syscall`).
    pub fn syscall_number(&self) -> u64 {
        self.rax
    }

    /// Returns the six syscall arguments (rdi, rsi, rdx, r10, r8, r9).
    pub fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }

    /// Sets the syscall return value.
    pub fn set_syscall_return(&mut self, value: u64) {
        self.rax = value;
    }
}

/// Why [`UserMode::execute`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnReason {
    /// User code executed `syscall`.
    Syscall,
    /// User code executed `int $0x80`, the i386 syscall gate (number in eax, arguments in
    /// ebx, ecx, edx, esi, edi, ebp).
    LegacySyscall,
    /// User code took a page fault the address space could not resolve.
    PageFault(PageFaultInfo),
    /// User code took another exception (vector, error code).
    Exception {
        /// The vector.
        vector: u8,
        /// The CPU's error code, or 0.
        error_code: u64,
    },
    /// The context could not be entered (non-canonical instruction or stack pointer).
    BadContext,
    /// The kernel asked for the task back ([`crate::task::interrupt`]): user code was
    /// running (or preempted) when something it must act on arrived, such as a signal.
    Interrupted,
}

impl ReturnReason {
    /// Returns a human-readable name for an exception vector.
    pub fn exception_name(vector: u8) -> &'static str {
        exception_name(u64::from(vector))
    }
}

/// The right to run user code with one address space and one register set.
///
/// `!Send`: it is used on the task that created it, which it keeps (so that each return
/// to user mode need not look the running task up).
pub struct UserMode {
    space: Arc<VmSpace>,
    /// Whether the task's address-space slot holds `space` (it is set on the first
    /// `execute` after `new` or `set_vm_space`; nothing else changes it while the task runs).
    space_published: bool,
    task: Arc<crate::task::Task>,
    context: alloc::boxed::Box<UserContext>,
    _not_send: core::marker::PhantomData<*const ()>,
}

fn is_canonical_user(addr: u64) -> bool {
    addr < USER_END
}

unsafe extern "C" {
    fn ostd_enter_user(ctx: *mut UserContext);
}

impl UserMode {
    /// Prepares to run `context` in `space`.
    pub fn new(space: Arc<VmSpace>, context: UserContext) -> Self {
        let task = crate::task::current();
        Self {
            space,
            space_published: false,
            task,
            context: alloc::boxed::Box::new(context),
            _not_send: core::marker::PhantomData,
        }
    }

    /// Returns the registers.
    pub fn context(&self) -> &UserContext {
        &self.context
    }

    /// Returns the registers for changing.
    pub fn context_mut(&mut self) -> &mut UserContext {
        &mut self.context
    }

    /// Returns the address space.
    pub fn vm_space(&self) -> &Arc<VmSpace> {
        &self.space
    }

    /// Switches to another address space (after `execve`).
    pub fn set_vm_space(&mut self, space: Arc<VmSpace>) {
        self.space = space;
        self.space_published = false;
    }

    /// Runs user code until a syscall or an exception the kernel must handle.
    ///
    /// Page faults the address space's handler resolves are retried without returning.
    /// From the first call on, the current task keeps this address space: it is reloaded
    /// whenever the task is switched back in, so the kernel may copy to and from user memory
    /// while handling the syscall, even after sleeping.
    pub fn execute(&mut self) -> ReturnReason {
        let task = &self.task;
        if !self.space_published {
            *task.vm_space.lock() = Some(self.space.clone());
            self.space_published = true;
        }
        if !self.space.is_active() {
            self.space.activate();
        }
        loop {
            let ctx = &mut *self.context;
            if !is_canonical_user(ctx.rip)
                || !is_canonical_user(ctx.rsp)
                || !is_canonical_user(ctx.fs_base)
            {
                return ReturnReason::BadContext;
            }
            ctx.rflags = (ctx.rflags & USER_RFLAGS_MASK) | RFLAGS_IF | RFLAGS_RESERVED_1;
            ctx.fpu.sanitize();
            crate::task::preempt_point();
            x86_64::instructions::interrupts::disable();
            // User mode runs with interrupts on: entering it inside a SpinLock or a
            // DisabledIrqGuard would let a timer preempt the lock holder (a deadlock).
            assert_eq!(
                crate::sync::save_nesting().depth(),
                0,
                "UserMode::execute with a SpinLock or DisabledIrqGuard held"
            );
            // A request made while the task ran in user mode, or while it was preempted there,
            // is answered before going back (checked with interrupts off, so none slips in
            // between): a CPU-bound program still gets its signals.
            if task.take_interrupt() {
                x86_64::instructions::interrupts::enable();
                return ReturnReason::Interrupted;
            }
            // WRMSR is slow (and traps under a TEE): write FS base only when it changes.
            if LAST_FS_BASE.swap(ctx.fs_base, core::sync::atomic::Ordering::Relaxed) != ctx.fs_base
            {
                FsBase::write(x86_64::VirtAddr::new(ctx.fs_base));
            }
            let entered = crate::time::monotonic_ns();
            // The user's breakpoints are on only between here and the return below.
            let armed = debug_regs::arm(&ctx.debug);
            // rip, rsp and fs_base are user addresses and rflags is sanitised, so iretq cannot
            // fault in the kernel and user code runs with IF set at CPL 3. The kernel state
            // the entry clobbers is restored by `return_from_user` before we resume.
            // SAFETY: interrupts are off (the entry code requires it); `ctx` is a live,
            // exclusively borrowed UserContext whose layout matches entry.S (asserted above).
            unsafe { ostd_enter_user(ctx) };
            if armed {
                debug_regs::disarm();
            }
            if ctx.exit_kind == EXIT_TRAP && ctx.trap_vector == DEBUG_VECTOR {
                ctx.debug_status = debug_regs::take_status(&ctx.debug, &mut ctx.rflags);
            }
            // Back from user mode with interrupts still off. User code can change the FS
            // base behind the kernel's back: loading any selector into FS (even a null one,
            // on Intel and QEMU) reloads the base from the descriptor. Keep what the CPU has,
            // as Linux does when it saves a task's FS base, so the next entry neither trusts
            // a stale cache nor undoes the program's own change.
            let fs_base = FsBase::read().as_u64();
            ctx.fs_base = fs_base;
            LAST_FS_BASE.store(fs_base, core::sync::atomic::Ordering::Relaxed);
            task.add_user_ns(crate::time::monotonic_ns().saturating_sub(entered));
            match ctx.exit_kind {
                EXIT_SYSCALL => {
                    x86_64::instructions::interrupts::enable();
                    return ReturnReason::Syscall;
                }
                EXIT_TRAP => {}
                other => panic!("user exit kind {other} is neither syscall nor trap"),
            }
            let vector = ctx.trap_vector;
            if vector == u64::from(crate::trap::irq::LEGACY_SYSCALL_VECTOR) {
                x86_64::instructions::interrupts::enable();
                return ReturnReason::LegacySyscall;
            }
            // Before interrupts come back on: the TDX module holds further #VEs until the
            // handler has read this one's information.
            if vector == crate::tee::ve_glue::VE_VECTOR && crate::tee::ve_glue::handle_user(ctx) {
                x86_64::instructions::interrupts::enable();
                continue;
            }
            if vector == crate::tee::ve_glue::VC_VECTOR
                && crate::tee::ve_glue::handle_vc_user(ctx, |va, buf| {
                    self.space.read_bytes(va, buf).is_ok()
                })
            {
                x86_64::instructions::interrupts::enable();
                continue;
            }
            if vector >= 32 {
                crate::trap::irq::dispatch(vector as u8);
                crate::task::preempt_after_irq();
                x86_64::instructions::interrupts::enable();
                continue;
            }
            x86_64::instructions::interrupts::enable();
            if vector == 14 {
                let info = crate::trap::page_fault_info_pub(ctx.fault_addr, ctx.error_code);
                if self.space.handle_page_fault(&info).is_ok() {
                    continue;
                }
                return ReturnReason::PageFault(info);
            }
            return ReturnReason::Exception { vector: vector as u8, error_code: ctx.error_code };
        }
    }
}
