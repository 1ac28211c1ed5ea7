//! Whatever sits at RIP, and whatever the host answers, decoding and applying end in a value
//! or an error, never a panic, and what they return stays within the bytes given.
//! Covers every two-byte opening (with and without room for the rest) and a deterministic
//! stream of pseudo-random 15-byte strings cut at every length.
#![forbid(unsafe_code)]

use tee_abi::insn::{
    MAX_INSN_LEN, MmioAccess, PortIo, Regs, apply_read, decode_mmio, decode_port_io, value_to_write,
};

/// A fixed xorshift64 stream: the same "random" bytes on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Decodes `bytes` both ways and exercises whatever comes out with hostile values.
fn exercise(bytes: &[u8], random: &mut XorShift) {
    let mut regs = Regs { gprs: [0; 16], rip: random.next(), rflags: random.next() };
    for gpr in &mut regs.gprs {
        *gpr = random.next();
    }
    let limit = bytes.len().min(MAX_INSN_LEN);
    if let Ok(insn) = decode_mmio(bytes) {
        assert!(usize::from(insn.len.get()) <= limit, "{bytes:02x?}");
        match insn.access {
            MmioAccess::Read(read) => apply_read(&read, random.next(), &mut regs),
            MmioAccess::Write(write) => {
                let value = value_to_write(&write, &regs);
                assert_eq!(value & !write.size().mask(), 0, "{bytes:02x?}");
            }
        }
        insn.len.advance_rip(&mut regs);
    }
    if let Ok(insn) = decode_port_io(bytes) {
        assert!(usize::from(insn.len.get()) <= limit, "{bytes:02x?}");
        // The instruction agrees with what it says a truthful exit would claim.
        let exit = insn.expected_exit(&regs);
        let operation = insn.check(&exit, &regs).expect("consistent with itself");
        match operation {
            PortIo::In(port_in) => port_in.apply(random.next(), &mut regs),
            PortIo::Out(port_out) => {
                let _ = port_out.value(&regs);
            }
            PortIo::String(string) => {
                let batch = string.next_batch(&regs, random.next() % 64);
                for index in 0..batch.count() {
                    assert!(batch.element_offset(index).is_some());
                }
                let _ = string.complete(batch, &mut regs);
            }
        }
    }
}

#[test]
fn every_two_byte_opening_is_handled() {
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    let tail = [0x44, 0x24, 0x08, 0x78, 0x56, 0x34, 0x12, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45];
    for first in 0..=255u8 {
        for second in 0..=255u8 {
            let mut bytes = vec![first, second];
            exercise(&bytes, &mut random);
            bytes.extend_from_slice(&tail);
            exercise(&bytes, &mut random);
        }
    }
}

#[test]
fn random_strings_cut_at_every_length_are_handled() {
    let mut random = XorShift(0x0123_4567_89ab_cdef);
    for _ in 0..4_000 {
        let mut bytes = [0u8; MAX_INSN_LEN + 2];
        for byte in &mut bytes {
            *byte = random.next() as u8;
        }
        // Skew towards the opcodes that matter, so that many strings decode.
        bytes[0] =
            [0x66, 0x48, 0x4c, 0x8b, 0x89, 0xc7, 0x0f, 0xf3, 0x67, 0x65][bytes[0] as usize % 10];
        for len in 0..=bytes.len() {
            exercise(&bytes[..len], &mut random);
        }
    }
}

#[test]
fn nothing_past_fifteen_bytes_is_looked_at() {
    let mut random = XorShift(42);
    for _ in 0..2_000 {
        let mut bytes = [0u8; 20];
        for byte in &mut bytes {
            *byte = random.next() as u8;
        }
        let mut changed = bytes;
        changed[MAX_INSN_LEN..].fill(0x90);
        assert_eq!(decode_mmio(&bytes), decode_mmio(&changed), "{bytes:02x?}");
        assert_eq!(decode_port_io(&bytes), decode_port_io(&changed), "{bytes:02x?}");
    }
}
