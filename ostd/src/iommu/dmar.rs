//! The ACPI DMAR table (Intel VT-d specification, chapter 8): which remapping hardware
//! units exist, where their registers are, and which devices each one covers.
//!
//! Pure: no `unsafe` and no hardware, so the host tests run it (`tests/tests/dmar.rs`
//! includes this file). The input is a copy of the table, already checked for its ACPI
//! signature, length and checksum by `bus::acpi`; every length inside it is still checked
//! here before use, so a hostile table gives an error or a shorter list, never a panic or
//! an endless loop. Only DRHD structures are kept; every other remapping structure (RMRR,
//! ATSR, RHSA, ANDD, SATC) is skipped by its length.

use alloc::vec::Vec;

/// The ACPI header (36 bytes), host address width, flags and 10 reserved bytes.
const HEADER_LEN: usize = 48;
/// A remapping structure's header: type and length, two `u16`s.
const STRUCT_HEADER_LEN: usize = 4;
/// The fixed part of a DRHD structure, before its device scopes.
const DRHD_LEN: usize = 16;
/// The fixed part of a device scope, before its path.
const SCOPE_LEN: usize = 6;
/// Remapping structure type 0: DMA Remapping Hardware Unit Definition.
const TYPE_DRHD: u16 = 0;
/// Device scope type 1: a PCI endpoint.
const SCOPE_PCI_ENDPOINT: u8 = 1;
/// DRHD flag: the unit covers every PCI device of its segment not claimed by another unit.
const DRHD_INCLUDE_PCI_ALL: u8 = 1 << 0;

/// A parsed DMAR table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dmar {
    /// The widest DMA address the platform supports, in bits (the table's field plus one).
    pub host_address_width: u8,
    /// The table's flags byte (bit 0 INTR_REMAP, bit 1 X2APIC_OPT_OUT, bit 2
    /// DMA_CTRL_PLATFORM_OPT_IN).
    pub flags: u8,
    /// The remapping hardware units, in table order.
    pub units: Vec<Drhd>,
}

/// One DMA remapping hardware unit (a DRHD structure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drhd {
    /// Physical base of the unit's register set (4 KiB aligned).
    pub register_base: u64,
    /// The PCI segment the unit belongs to.
    pub segment: u16,
    /// Whether the unit covers every device of its segment that no other unit lists.
    pub include_pci_all: bool,
    /// The devices (or bridges, I/O APICs, HPETs) the unit lists explicitly.
    pub scopes: Vec<DeviceScope>,
}

/// One device scope of a DRHD: a device named by a path from a start bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceScope {
    /// 1 PCI endpoint, 2 PCI sub-hierarchy, 3 I/O APIC, 4 HPET, 5 ACPI namespace device.
    pub kind: u8,
    /// The I/O APIC id, HPET number or ACPI device number (for those kinds).
    pub enumeration_id: u8,
    /// The bus the path starts on.
    pub start_bus: u8,
    /// (device, function) hops from `start_bus`.
    pub path: Vec<(u8, u8)>,
}

/// Why a DMAR table was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DmarError {
    /// The table is shorter than the part being read.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// The bytes it needs.
        need: usize,
        /// The bytes left.
        got: usize,
    },
    /// The signature is not "DMAR".
    BadSignature([u8; 4]),
    /// A structure's length is below its own header or runs past its container.
    BadLength {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// The length it claims.
        len: usize,
    },
    /// A DRHD's register base is zero or not 4 KiB aligned.
    BadRegisterBase(u64),
}

impl core::fmt::Display for DmarError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Self::Truncated { what, offset, need, got } => {
                write!(f, "{what} at {offset:#x} needs {need} bytes, {got} left")
            }
            Self::BadSignature(sig) => write!(f, "signature {sig:?} is not DMAR"),
            Self::BadLength { what, offset, len } => {
                write!(f, "{what} at {offset:#x} has a bad length {len}")
            }
            Self::BadRegisterBase(base) => write!(f, "register base {base:#x} is not usable"),
        }
    }
}

fn slice<'a>(
    b: &'a [u8],
    what: &'static str,
    offset: usize,
    need: usize,
) -> Result<&'a [u8], DmarError> {
    let got = b.len().saturating_sub(offset);
    b.get(offset..).and_then(|rest| rest.get(..need)).ok_or(DmarError::Truncated {
        what,
        offset,
        need,
        got,
    })
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

impl Dmar {
    /// Parses a copied DMAR table. The length used is the slice's, not the header's (the
    /// caller copied exactly the header's length).
    ///
    /// # Errors
    /// The signature is wrong, or a structure is truncated or has an impossible length.
    pub fn parse(table: &[u8]) -> Result<Self, DmarError> {
        let header = slice(table, "DMAR header", 0, HEADER_LEN)?;
        let signature = [header[0], header[1], header[2], header[3]];
        if &signature != b"DMAR" {
            return Err(DmarError::BadSignature(signature));
        }
        let mut dmar = Dmar {
            host_address_width: header[36].saturating_add(1),
            flags: header[37],
            units: Vec::new(),
        };
        let mut off = HEADER_LEN;
        while off < table.len() {
            let head = slice(table, "remapping structure", off, STRUCT_HEADER_LEN)?;
            let (kind, len) = (u16_at(head, 0), usize::from(u16_at(head, 2)));
            // A zero (or header-short) length would loop forever; past the end, truncate.
            if len < STRUCT_HEADER_LEN {
                return Err(DmarError::BadLength { what: "remapping structure", offset: off, len });
            }
            let body = slice(table, "remapping structure", off, len)?;
            if kind == TYPE_DRHD {
                dmar.units.push(parse_drhd(body, off)?);
            }
            off += len;
        }
        Ok(dmar)
    }
}

impl Dmar {
    /// Returns whether a unit is sure to translate the DMA of PCI function `bus:device.function`
    /// of `segment`: a unit of that segment has INCLUDE_PCI_ALL, or lists the function as an
    /// endpoint directly on its start bus. Conservative: a function behind a bridge (a path
    /// of several hops, which needs the bridges' bus numbers to follow) or under a
    /// sub-hierarchy scope gives `false` even if a unit covers it; `true` is never wrong.
    pub fn translates(&self, segment: u16, bus: u8, device: u8, function: u8) -> bool {
        self.units.iter().filter(|u| u.segment == segment).any(|u| {
            u.include_pci_all
                || u.scopes.iter().any(|s| {
                    s.kind == SCOPE_PCI_ENDPOINT
                        && s.start_bus == bus
                        && s.path[..] == [(device, function)]
                })
        })
    }
}

fn parse_drhd(body: &[u8], offset: usize) -> Result<Drhd, DmarError> {
    let fixed = slice(body, "DRHD", 0, DRHD_LEN)?;
    let mut base = [0u8; 8];
    base.copy_from_slice(&fixed[8..16]);
    let register_base = u64::from_le_bytes(base);
    if register_base == 0 || !register_base.is_multiple_of(4096) {
        return Err(DmarError::BadRegisterBase(register_base));
    }
    let mut scopes = Vec::new();
    let mut off = DRHD_LEN;
    while off < body.len() {
        let head = slice(body, "device scope", off, 2)?;
        let len = usize::from(head[1]);
        if len < SCOPE_LEN || !(len - SCOPE_LEN).is_multiple_of(2) {
            return Err(DmarError::BadLength { what: "device scope", offset: offset + off, len });
        }
        let scope = slice(body, "device scope", off, len).map_err(|_| DmarError::BadLength {
            what: "device scope",
            offset: offset + off,
            len,
        })?;
        scopes.push(DeviceScope {
            kind: scope[0],
            enumeration_id: scope[4],
            start_bus: scope[5],
            path: scope[SCOPE_LEN..].chunks_exact(2).map(|p| (p[0], p[1])).collect(),
        });
        off += len;
    }
    Ok(Drhd {
        register_base,
        segment: u16_at(fixed, 6),
        include_pci_all: fixed[4] & DRHD_INCLUDE_PCI_ALL != 0,
        scopes,
    })
}
