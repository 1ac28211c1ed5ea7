//! String port I/O (INS, OUTS, with or without REP) as pure decisions: how many elements,
//! at which addresses, and the registers afterwards. OSTD does the memory copies.
//!
//! Architecturally (Intel SDM vol. 2, INS/OUTS and REP), one element moves per iteration:
//! INS stores to ES:rDI, OUTS loads from seg:rSI (DS unless overridden); after each, rDI or
//! rSI steps by the element size, up when RFLAGS.DF is clear and down when it is set. With
//! REP, rCX counts the iterations left and the instruction ends when it reaches 0 (at once if
//! it is 0 to begin with). With a 67 prefix the registers are ECX/ESI/EDI: they wrap at
//! 2^32, and writing them clears bits 32..64, like any 32-bit register write.
//!
//! The handler may move fewer elements than are left (the shared buffer is finite): then it
//! leaves RIP on the instruction, which runs again and exits again for the rest, exactly as
//! a REP instruction interrupted between iterations does.

use super::decode::InsnLen;
use super::port_io::{IoDirection, StringForm};
use super::regs::{Gpr, RegOperand, Regs, Width};

/// The address size of a string instruction in 64-bit mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrSize {
    /// With a 67 prefix: ECX, ESI, EDI.
    A32,
    /// The default: RCX, RSI, RDI.
    A64,
}

impl AddrSize {
    /// The width of the counter and pointer registers.
    pub const fn width(self) -> Width {
        match self {
            AddrSize::A32 => Width::Dword,
            AddrSize::A64 => Width::Qword,
        }
    }
}

/// A segment register. In 64-bit mode only FS and GS have a base the handler must add to an
/// offset to get a linear address; the others' bases are treated as 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variants are the architectural register names")]
pub enum Segment {
    Es,
    Cs,
    Ss,
    Ds,
    Fs,
    Gs,
}

/// An INS or OUTS, checked against the exit: the port, and how it walks memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringIo {
    port: u16,
    size: Width,
    direction: IoDirection,
    form: StringForm,
    len: InsnLen,
}

/// Whether the instruction is finished after a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a string instruction that is not done must be left to run again"]
pub enum StringProgress {
    /// Every element moved; RIP now points past the instruction.
    Done,
    /// Elements are left; RIP still points at the instruction, which runs (and exits) again.
    Again,
}

/// The elements one batch moves. Made by [`StringIo::next_batch`] and consumed by
/// [`StringIo::complete`], so a batch is accounted for once.
#[derive(Debug, PartialEq, Eq)]
pub struct StringBatch {
    /// Elements left before the batch.
    left: u64,
    count: u64,
    first: u64,
    size: Width,
    down: bool,
    addr_size: AddrSize,
}

impl StringBatch {
    /// How many elements this batch moves.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// The size of each element.
    pub const fn element_size(&self) -> Width {
        self.size
    }

    /// The offset in the segment of element `index` (the order the port sees them in), or
    /// `None` past the batch. Steps down from the first when DF is set, and wraps at the
    /// address size. An element that crosses the wrap is the handler's to refuse.
    pub const fn element_offset(&self, index: u64) -> Option<u64> {
        if index >= self.count {
            return None;
        }
        let distance = index.wrapping_mul(self.size.bytes() as u64);
        let offset = if self.down {
            self.first.wrapping_sub(distance)
        } else {
            self.first.wrapping_add(distance)
        };
        Some(self.addr_size.width().truncate(offset))
    }

    /// How many bytes the batch moves in all, if that fits in 64 bits.
    pub const fn total_bytes(&self) -> Option<u64> {
        self.count.checked_mul(self.size.bytes() as u64)
    }
}

impl StringIo {
    pub(crate) const fn new(
        port: u16,
        size: Width,
        direction: IoDirection,
        form: StringForm,
        len: InsnLen,
    ) -> StringIo {
        StringIo { port, size, direction, form, len }
    }

    /// The port number.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// The size of each element.
    pub const fn size(&self) -> Width {
        self.size
    }

    /// INS (in) or OUTS (out).
    pub const fn direction(&self) -> IoDirection {
        self.direction
    }

    /// The segment of the memory operand: add its base if it is FS or GS.
    pub const fn segment(&self) -> Segment {
        self.form.segment
    }

    /// Whether the instruction has a REP prefix.
    pub const fn rep(&self) -> bool {
        self.form.rep
    }

    /// RCX, RSI, RDI or ECX, ESI, EDI.
    pub const fn addr_size(&self) -> AddrSize {
        self.form.addr_size
    }

    /// rDI for INS, rSI for OUTS.
    const fn pointer(&self) -> RegOperand {
        let gpr = match self.direction {
            IoDirection::In => Gpr::Rdi,
            IoDirection::Out => Gpr::Rsi,
        };
        RegOperand::Low { gpr, width: self.form.addr_size.width() }
    }

    /// rCX.
    const fn counter(&self) -> RegOperand {
        RegOperand::Low { gpr: Gpr::Rcx, width: self.form.addr_size.width() }
    }

    /// How many elements are left to move: rCX with REP, else 1.
    pub const fn remaining(&self, regs: &Regs) -> u64 {
        if self.form.rep { regs.read(self.counter()) } else { 1 }
    }

    /// The next batch: as many elements as are left, but at most `max_elements` (0 makes an
    /// empty batch, which moves nothing and finishes only a REP with rCX = 0).
    pub const fn next_batch(&self, regs: &Regs, max_elements: u64) -> StringBatch {
        let left = self.remaining(regs);
        StringBatch {
            left,
            count: if left < max_elements { left } else { max_elements },
            first: regs.read(self.pointer()),
            size: self.size,
            down: regs.direction_flag(),
            addr_size: self.form.addr_size,
        }
    }

    /// Accounts for a batch whose elements the handler moved: steps the pointer register,
    /// counts rCX down (with REP), and moves RIP past the instruction when nothing is left.
    /// Everything is computed from the batch, i.e. from the registers it was made from.
    pub fn complete(&self, batch: StringBatch, regs: &mut Regs) -> StringProgress {
        let distance = batch.count.wrapping_mul(self.size.bytes().into());
        let moved = if batch.down {
            batch.first.wrapping_sub(distance)
        } else {
            batch.first.wrapping_add(distance)
        };
        regs.write(self.pointer(), moved);
        // `count <= left` by construction.
        let left = batch.left.saturating_sub(batch.count);
        if self.form.rep {
            regs.write(self.counter(), left);
        }
        if left == 0 {
            self.len.advance_rip(regs);
            StringProgress::Done
        } else {
            StringProgress::Again
        }
    }
}
