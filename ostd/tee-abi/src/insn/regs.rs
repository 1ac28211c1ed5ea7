//! The interrupted context's registers, by value, and how x86 writes a part of a register.
//!
//! The #VE/#VC handler copies the general-purpose registers, RIP and RFLAGS out of its trap
//! frame into [`Regs`], lets this module change them, and copies them back. Writing a part of
//! a register follows the 64-bit-mode rules of the Intel SDM (vol. 1, 3.4.1.1):
//! - a 32-bit destination zero-extends into the whole 64-bit register;
//! - an 8- or 16-bit destination keeps the other bits;
//! - AH, CH, DH and BH (only encodable without a REX prefix) are bits 8..16 of RAX, RCX, RDX
//!   and RBX, and a write to them keeps the other bits.

/// A general-purpose register, numbered as the instruction encoding numbers it
/// (ModRM.reg / ModRM.rm / SIB fields, extended by REX.R / REX.B / REX.X).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs, reason = "the variants are the architectural register names")]
pub enum Gpr {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl Gpr {
    /// All sixteen, in encoding order (so `ALL[n].index() == n`).
    pub const ALL: [Gpr; 16] = [
        Gpr::Rax,
        Gpr::Rcx,
        Gpr::Rdx,
        Gpr::Rbx,
        Gpr::Rsp,
        Gpr::Rbp,
        Gpr::Rsi,
        Gpr::Rdi,
        Gpr::R8,
        Gpr::R9,
        Gpr::R10,
        Gpr::R11,
        Gpr::R12,
        Gpr::R13,
        Gpr::R14,
        Gpr::R15,
    ];

    /// The register's encoding number, 0..16, which is also its slot in [`Regs::gprs`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The register with encoding number `index`, if there is one (`index < 16`).
    pub fn from_index(index: usize) -> Option<Gpr> {
        Gpr::ALL.get(index).copied()
    }
}

/// How many bytes an operand has: 1, 2, 4 or 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Width {
    /// 8 bits.
    Byte,
    /// 16 bits.
    Word,
    /// 32 bits.
    Dword,
    /// 64 bits.
    Qword,
}

impl Width {
    /// The width in bytes.
    pub const fn bytes(self) -> u8 {
        match self {
            Width::Byte => 1,
            Width::Word => 2,
            Width::Dword => 4,
            Width::Qword => 8,
        }
    }

    /// The width of `bytes` bytes, if it is 1, 2, 4 or 8.
    pub const fn from_bytes(bytes: u64) -> Option<Width> {
        match bytes {
            1 => Some(Width::Byte),
            2 => Some(Width::Word),
            4 => Some(Width::Dword),
            8 => Some(Width::Qword),
            _ => None,
        }
    }

    /// The mask of the low `self.bytes()` bytes.
    pub const fn mask(self) -> u64 {
        match self {
            Width::Byte => 0xff,
            Width::Word => 0xffff,
            Width::Dword => 0xffff_ffff,
            Width::Qword => u64::MAX,
        }
    }

    /// `value` with every bit above this width cleared.
    pub const fn truncate(self, value: u64) -> u64 {
        value & self.mask()
    }

    /// The low `self.bytes()` bytes of `value` read as a signed number, widened to 64 bits.
    pub const fn sign_extend(self, value: u64) -> u64 {
        match self {
            Width::Byte => value as u8 as i8 as i64 as u64,
            Width::Word => value as u16 as i16 as i64 as u64,
            Width::Dword => value as u32 as i32 as i64 as u64,
            Width::Qword => value,
        }
    }
}

/// The legacy high-byte registers: bits 8..16 of RAX, RCX, RDX and RBX. Encodable only in
/// an instruction without a REX prefix (with one, the same encodings mean SPL, BPL, SIL, DIL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "the variants are the architectural register names")]
pub enum HighByte {
    Ah,
    Ch,
    Dh,
    Bh,
}

impl HighByte {
    /// The 64-bit register this byte is part of.
    pub const fn gpr(self) -> Gpr {
        match self {
            HighByte::Ah => Gpr::Rax,
            HighByte::Ch => Gpr::Rcx,
            HighByte::Dh => Gpr::Rdx,
            HighByte::Bh => Gpr::Rbx,
        }
    }
}

/// A register operand: which bits of which register an instruction reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegOperand {
    /// The low `width` bytes of `gpr` (AL, SPL, R9W, EAX, R15, ...).
    Low {
        /// The register.
        gpr: Gpr,
        /// How many of its low bytes.
        width: Width,
    },
    /// AH, CH, DH or BH.
    High(HighByte),
}

impl RegOperand {
    /// The operand's width (1 for a high byte).
    pub const fn width(self) -> Width {
        match self {
            RegOperand::Low { width, .. } => width,
            RegOperand::High(_) => Width::Byte,
        }
    }

    /// The 64-bit register the operand is part of.
    pub const fn gpr(self) -> Gpr {
        match self {
            RegOperand::Low { gpr, .. } => gpr,
            RegOperand::High(high) => high.gpr(),
        }
    }
}

/// Bit 10 of RFLAGS, the direction flag: string instructions step down when it is set.
pub const RFLAGS_DF: u64 = 1 << 10;

/// The interrupted context's general-purpose registers, RIP and RFLAGS, as plain values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    /// RAX..R15, indexed by [`Gpr::index`].
    pub gprs: [u64; 16],
    /// The instruction pointer: the faulting instruction's address on entry.
    pub rip: u64,
    /// The flags; only DF ([`RFLAGS_DF`]) matters here.
    pub rflags: u64,
}

impl Regs {
    /// The whole 64-bit value of `gpr`.
    pub const fn gpr(&self, gpr: Gpr) -> u64 {
        self.gprs[gpr.index()]
    }

    /// Sets all 64 bits of `gpr`.
    pub const fn set_gpr(&mut self, gpr: Gpr, value: u64) {
        self.gprs[gpr.index()] = value;
    }

    /// The value of `operand`, zero-extended to 64 bits (AH reads as bits 8..16 of RAX,
    /// shifted down).
    pub const fn read(&self, operand: RegOperand) -> u64 {
        match operand {
            RegOperand::Low { gpr, width } => width.truncate(self.gpr(gpr)),
            RegOperand::High(high) => (self.gpr(high.gpr()) >> 8) & 0xff,
        }
    }

    /// Writes the low `operand.width()` bytes of `value` into `operand`, as an x86
    /// instruction with that destination would: 32-bit writes clear bits 32..64, 8- and
    /// 16-bit writes (high bytes included) keep every other bit. Bits of `value` above the
    /// operand's width are ignored.
    pub const fn write(&mut self, operand: RegOperand, value: u64) {
        let gpr = operand.gpr();
        let old = self.gpr(gpr);
        let new = match operand {
            RegOperand::Low { width: Width::Qword, .. } => value,
            RegOperand::Low { width: Width::Dword, .. } => Width::Dword.truncate(value),
            RegOperand::Low { width, .. } => (old & !width.mask()) | width.truncate(value),
            RegOperand::High(_) => (old & !0xff00) | ((value & 0xff) << 8),
        };
        self.set_gpr(gpr, new);
    }

    /// Whether RFLAGS.DF is set (string instructions step down).
    pub const fn direction_flag(&self) -> bool {
        self.rflags & RFLAGS_DF != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: u64 = 0x1122_3344_5566_7788;

    fn regs_with(gpr: Gpr, value: u64) -> Regs {
        let mut regs = Regs::default();
        regs.set_gpr(gpr, value);
        regs
    }

    #[test]
    fn dword_write_zero_extends() {
        let mut regs = regs_with(Gpr::R9, OLD);
        regs.write(RegOperand::Low { gpr: Gpr::R9, width: Width::Dword }, 0xdead_beef);
        assert_eq!(regs.gpr(Gpr::R9), 0x0000_0000_dead_beef);
    }

    #[test]
    fn dword_write_ignores_upper_bits_of_value() {
        let mut regs = regs_with(Gpr::Rax, OLD);
        regs.write(RegOperand::Low { gpr: Gpr::Rax, width: Width::Dword }, 0xffff_ffff_0000_0001);
        assert_eq!(regs.gpr(Gpr::Rax), 1);
    }

    #[test]
    fn word_write_keeps_other_bits() {
        let mut regs = regs_with(Gpr::Rsi, OLD);
        regs.write(RegOperand::Low { gpr: Gpr::Rsi, width: Width::Word }, 0xabcd_ef01);
        assert_eq!(regs.gpr(Gpr::Rsi), 0x1122_3344_5566_ef01);
    }

    #[test]
    fn byte_write_keeps_other_bits() {
        let mut regs = regs_with(Gpr::Rdi, OLD);
        regs.write(RegOperand::Low { gpr: Gpr::Rdi, width: Width::Byte }, 0x1ff);
        assert_eq!(regs.gpr(Gpr::Rdi), 0x1122_3344_5566_77ff);
    }

    #[test]
    fn high_byte_write_touches_bits_8_to_16_only() {
        let mut regs = regs_with(Gpr::Rbx, OLD);
        regs.write(RegOperand::High(HighByte::Bh), 0xa5);
        assert_eq!(regs.gpr(Gpr::Rbx), 0x1122_3344_5566_a588);
        let mut regs = regs_with(Gpr::Rcx, OLD);
        regs.write(RegOperand::High(HighByte::Ch), 0x1234);
        assert_eq!(regs.gpr(Gpr::Rcx), 0x1122_3344_5566_3488);
    }

    #[test]
    fn qword_write_replaces_everything() {
        let mut regs = regs_with(Gpr::R15, OLD);
        regs.write(RegOperand::Low { gpr: Gpr::R15, width: Width::Qword }, 0x8000_0000_0000_0001);
        assert_eq!(regs.gpr(Gpr::R15), 0x8000_0000_0000_0001);
    }

    #[test]
    fn writes_touch_no_other_register() {
        let mut regs = Regs { gprs: [OLD; 16], rip: 7, rflags: 2 };
        regs.write(RegOperand::High(HighByte::Dh), 0);
        regs.write(RegOperand::Low { gpr: Gpr::R8, width: Width::Dword }, 0);
        for gpr in Gpr::ALL {
            if gpr != Gpr::Rdx && gpr != Gpr::R8 {
                assert_eq!(regs.gpr(gpr), OLD, "{gpr:?}");
            }
        }
        assert_eq!((regs.rip, regs.rflags), (7, 2));
    }

    #[test]
    fn reads_take_the_named_bits() {
        let regs = regs_with(Gpr::Rax, OLD);
        assert_eq!(regs.read(RegOperand::Low { gpr: Gpr::Rax, width: Width::Byte }), 0x88);
        assert_eq!(regs.read(RegOperand::High(HighByte::Ah)), 0x77);
        assert_eq!(regs.read(RegOperand::Low { gpr: Gpr::Rax, width: Width::Word }), 0x7788);
        assert_eq!(regs.read(RegOperand::Low { gpr: Gpr::Rax, width: Width::Dword }), 0x5566_7788);
        assert_eq!(regs.read(RegOperand::Low { gpr: Gpr::Rax, width: Width::Qword }), OLD);
    }

    #[test]
    fn sign_extension_per_width() {
        assert_eq!(Width::Byte.sign_extend(0x1280), 0xffff_ffff_ffff_ff80);
        assert_eq!(Width::Byte.sign_extend(0x7f), 0x7f);
        assert_eq!(Width::Word.sign_extend(0xffff_8000), 0xffff_ffff_ffff_8000);
        assert_eq!(Width::Dword.sign_extend(0x8000_0000), 0xffff_ffff_8000_0000);
        assert_eq!(Width::Qword.sign_extend(0x8000_0000), 0x8000_0000);
    }

    #[test]
    fn widths_from_bytes() {
        assert_eq!(Width::from_bytes(4), Some(Width::Dword));
        assert_eq!(Width::from_bytes(3), None);
        assert_eq!(Width::from_bytes(16), None);
        assert_eq!(Gpr::from_index(15), Some(Gpr::R15));
        assert_eq!(Gpr::from_index(16), None);
    }
}
