//! `TCB_VERSION`: the 64-bit word naming the security version of each SNP firmware component.
//!
//! The report carries four of them (current, reported, committed, launch). Their byte layout
//! depends on the processor generation:
//!
//! ```text
//! byte:        0           1           2     3     4 5   6    7
//! Milan/Genoa: bootloader  tee         reserved (4)      snp  microcode
//! Turin:       fmc         bootloader  tee   snp   reserved   microcode
//! ```
//! The report does not say which layout it uses. This crate keeps the raw word in
//! [`TcbVersion`] and decodes it only with an explicit [`TcbLayout`]. For a report of version
//! 3 or later, [`super::AttestationReport::tcb_layout`] derives the layout from the CPUID
//! family in the report (family 0x19 → legacy, 0x1A → Turin). A version-2 report is taken to
//! be legacy: firmware that knows Turin writes version 3 or later. Anything else is left to
//! the caller, who has to know the machine (e.g. from the VCEK's product name).

use core::fmt;

/// How to read the bytes of a [`TcbVersion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcbLayout {
    /// Milan and Genoa (Zen 3/Zen 4): bootloader, tee, 4 reserved bytes, snp, microcode.
    Legacy,
    /// Turin (Zen 5): fmc, bootloader, tee, snp, 3 reserved bytes, microcode.
    Turin,
}

/// An AMD EPYC generation that supports SEV-SNP, as identified by CPUID family and model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// Zen 3 (family 0x19, models 0x00–0x0F).
    Milan,
    /// Zen 4 (family 0x19, models 0x10–0x1F and 0xA0–0xAF).
    Genoa,
    /// Zen 5 (family 0x1A, models 0x00–0x11).
    Turin,
}

impl Generation {
    /// Identifies the generation from the CPUID family and model a v3+ report carries.
    /// Returns `None` for combinations not listed on the variants.
    pub fn from_cpuid(family: u8, model: u8) -> Option<Self> {
        match (family, model) {
            (0x19, 0x00..=0x0F) => Some(Self::Milan),
            (0x19, 0x10..=0x1F | 0xA0..=0xAF) => Some(Self::Genoa),
            (0x1A, 0x00..=0x11) => Some(Self::Turin),
            _ => None,
        }
    }

    /// Returns the TCB layout this generation's firmware uses.
    pub fn tcb_layout(self) -> TcbLayout {
        match self {
            Self::Milan | Self::Genoa => TcbLayout::Legacy,
            Self::Turin => TcbLayout::Turin,
        }
    }

    /// Returns the product name AMD's key distribution service uses ("Milan", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Milan => "Milan",
            Self::Genoa => "Genoa",
            Self::Turin => "Turin",
        }
    }
}

/// A raw `TCB_VERSION` word, as it appears in the report (little-endian `u64`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcbVersion(pub u64);

/// The named security version numbers inside a [`TcbVersion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcbParts {
    /// SVN of the FMC firmware; only Turin has one.
    pub fmc: Option<u8>,
    /// SVN of the PSP bootloader.
    pub bootloader: u8,
    /// SVN of the PSP operating system.
    pub tee: u8,
    /// SVN of the SNP firmware.
    pub snp: u8,
    /// Lowest microcode patch level across all cores.
    pub microcode: u8,
}

impl TcbVersion {
    /// Splits the word into named SVNs according to `layout`.
    pub fn decode(self, layout: TcbLayout) -> TcbParts {
        let b = self.0.to_le_bytes();
        match layout {
            TcbLayout::Legacy => {
                TcbParts { fmc: None, bootloader: b[0], tee: b[1], snp: b[6], microcode: b[7] }
            }
            TcbLayout::Turin => TcbParts {
                fmc: Some(b[0]),
                bootloader: b[1],
                tee: b[2],
                snp: b[3],
                microcode: b[7],
            },
        }
    }

    /// Returns `true` if the bytes `layout` calls reserved are all zero.
    pub fn reserved_is_zero(self, layout: TcbLayout) -> bool {
        let b = self.0.to_le_bytes();
        match layout {
            TcbLayout::Legacy => b[2..6] == [0; 4],
            TcbLayout::Turin => b[4..7] == [0; 3],
        }
    }
}

impl TcbParts {
    /// Packs the SVNs into a word with `layout`; `fmc` is dropped for the legacy layout.
    pub fn encode(self, layout: TcbLayout) -> TcbVersion {
        let b = match layout {
            TcbLayout::Legacy => [self.bootloader, self.tee, 0, 0, 0, 0, self.snp, self.microcode],
            TcbLayout::Turin => [
                self.fmc.unwrap_or(0),
                self.bootloader,
                self.tee,
                self.snp,
                0,
                0,
                0,
                self.microcode,
            ],
        };
        TcbVersion(u64::from_le_bytes(b))
    }
}

impl fmt::Debug for TcbVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcbVersion({:#018x})", self.0)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn milan_word_decodes_bootloader_tee_snp_microcode() {
        // reported_tcb of the virtee Milan report: bytes 03 00 00 00 00 00 08 73.
        let t = TcbVersion(u64::from_le_bytes([3, 0, 0, 0, 0, 0, 8, 0x73]));
        let p = t.decode(TcbLayout::Legacy);
        assert_eq!(p, TcbParts { fmc: None, bootloader: 3, tee: 0, snp: 8, microcode: 0x73 });
        assert_eq!(p.encode(TcbLayout::Legacy), t);
        assert!(t.reserved_is_zero(TcbLayout::Legacy));
    }

    #[test]
    fn turin_word_puts_fmc_first_and_snp_in_byte_3() {
        let t = TcbVersion(u64::from_le_bytes([1, 2, 3, 4, 0, 0, 0, 0x50]));
        let p = t.decode(TcbLayout::Turin);
        assert_eq!(p, TcbParts { fmc: Some(1), bootloader: 2, tee: 3, snp: 4, microcode: 0x50 });
        assert_eq!(p.encode(TcbLayout::Turin), t);
        assert!(!t.reserved_is_zero(TcbLayout::Legacy));
    }

    #[test]
    fn cpuid_family_and_model_name_the_generation() {
        assert_eq!(Generation::from_cpuid(0x19, 0x01), Some(Generation::Milan));
        assert_eq!(Generation::from_cpuid(0x19, 0x11), Some(Generation::Genoa));
        assert_eq!(Generation::from_cpuid(0x1A, 0x02), Some(Generation::Turin));
        assert_eq!(Generation::from_cpuid(0x17, 0x31), None);
    }
}
