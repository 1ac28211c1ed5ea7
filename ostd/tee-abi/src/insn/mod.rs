//! The instruction behind a #VE (TDX) or #VC (SEV-SNP) exit: what access it makes, and how
//! the host's answer changes the registers.
//!
//! In a confidential guest the hypervisor cannot read the guest's registers or memory, so
//! when an instruction touches MMIO or an I/O port the CPU does not exit to the host but
//! raises an exception in the guest (#VE under TDX for an EPT violation on a shared GPA or
//! for port I/O; #VC under SNP for a nested page fault on MMIO or for IOIO). The guest's
//! handler must find out what the instruction meant to do, ask the host to do just that
//! (TDVMCALL or GHCB), and finish the instruction itself. Everything about that which is not
//! touching hardware is here, tested on the host.
//!
//! # The handler's flow
//! OSTD's handler (not in this crate):
//! 1. Copies the trap frame's general-purpose registers, RIP and RFLAGS into a [`Regs`], and
//!    up to [`MAX_INSN_LEN`] bytes from RIP (fewer if the next page is not mapped: a too
//!    short copy becomes [`DecodeError::Truncated`]). The bytes are untrusted in the sense
//!    that anything can be there; every outcome is a value or a [`DecodeError`], never a
//!    panic.
//! 2. MMIO (the exit gives the guest-physical address and, under SNP, nothing else):
//!    - [`decode_mmio`] gives an [`MmioInsn`]: a [`MmioAccess::Read`] or
//!      [`MmioAccess::Write`] of 1, 2, 4 or 8 bytes, and the instruction's length.
//!    - For a write, [`value_to_write`] is what to send the host.
//!    - For a read, the host's answer goes through [`apply_read`], which keeps only the
//!      access's bytes of it (the host is not trusted to zero the rest), extends it as MOVZX
//!      or MOVSX would, and writes the destination with x86's partial-register rules.
//!    - [`InsnLen::advance_rip`] then retires the instruction.
//! 3. Port I/O (the exit says port, size, direction, string, REP):
//!    - [`decode_port_io`] decodes the instruction into a [`PortIoInsn`];
//!      [`PortIoInsn::check`] compares it with the exit's claim ([`PortIoExit`]) and says
//!      which field differs ([`PortIoMismatch`]) or what to perform ([`PortIo`]).
//!    - IN: [`PortIn::apply`] puts the host's answer into AL/AX/EAX. OUT:
//!      [`PortOut::value`] is what to send. Then [`InsnLen::advance_rip`].
//!    - INS/OUTS: [`StringIo::next_batch`] says how many elements and at which offsets
//!      ([`StringBatch::element_offset`]); the handler copies them between guest memory and
//!      the host, then [`StringIo::complete`] steps RSI/RDI and RCX and, once nothing is left,
//!      moves RIP (otherwise the instruction runs again and exits again for the rest).
//! 4. Copies the [`Regs`] back into the trap frame and returns to the instruction after.
//!
//! Anything not recognised is refused with an error naming it; the handler reports it and
//! does not resume the context as if the access had happened.

mod decode;
mod mmio;
mod port_io;
mod regs;
mod string_io;

pub use decode::{DecodeError, InsnLen, MAX_INSN_LEN, decode_instruction};
pub use iced_x86::Mnemonic;
pub use mmio::{
    Extend, MmioAccess, MmioInsn, MmioRead, MmioWrite, WriteValue, apply_read, decode_mmio,
    decode_mmio_with_address, value_to_write,
};
pub use port_io::{
    IoDirection, PortIn, PortIo, PortIoExit, PortIoInsn, PortIoMismatch, PortOperand, PortOut,
    StringForm, decode_port_io,
};
pub use regs::{Gpr, HighByte, RFLAGS_DF, RegOperand, Regs, Width};
pub use string_io::{AddrSize, Segment, StringBatch, StringIo, StringProgress};
