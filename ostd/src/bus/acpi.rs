//! The few ACPI tables the core needs: MCFG (PCI ECAM), MADT (IOAPIC base), for TSC
//! calibration FADT (the PM timer's port) and HPET (its MMIO base), DMAR (the IOMMU; kept as
//! a checked copy for [`crate::iommu`] to parse), and CCEL (the firmware's CC event log, with
//! a copy of its log area, which measured boot extends).
//!
//! Not the `acpi` crate: it would bring a table-mapping handler trait and AML types for two
//! lookups of a handful of fields. Tables are copied out of firmware memory through
//! [`IoMem`] and checked (signature, length bounds, checksum) before any field is used.
//! Under a TEE these tables come from the host's firmware configuration and are measured,
//! so a lie is visible to the verifier; here they are still only data.

use alloc::vec::Vec;

use spin::Once;

use crate::boot::BootInfo;
use crate::mm::{IoMem, WindowError};

/// One PCI segment's ECAM window from MCFG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcamRegion {
    /// Physical base of bus 0 (of `start_bus` when it is not 0, per the spec's formula).
    pub base: u64,
    /// PCI segment group.
    pub segment: u16,
    /// First bus decoded.
    pub start_bus: u8,
    /// Last bus decoded.
    pub end_bus: u8,
}

#[derive(Default)]
struct Tables {
    ecam: Vec<EcamRegion>,
    ioapic_base: Option<u64>,
    pm_timer: Option<PmTimerBlock>,
    hpet_base: Option<u64>,
    dmar: Option<Vec<u8>>,
    ccel: Option<FirmwareEventLog>,
    revision: u8,
}

/// The firmware's CC event log: the CCEL table and a copy of the log area it names.
#[derive(Debug)]
pub struct FirmwareEventLog {
    /// The CCEL table (checksum verified), as the firmware made it.
    pub table: Vec<u8>,
    /// The log area's bytes (LAML of them from LASA, at most [`MAX_CCEL_LOG`]), copied once:
    /// the firmware's events, then padding.
    pub log: Vec<u8>,
}

/// The most of a firmware log area copied (TDVF reserves 64 KiB; the host sets LAML).
pub const MAX_CCEL_LOG: usize = 1 << 20;

/// The ACPI PM timer's I/O port, from FADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PmTimerBlock {
    /// The 32-bit I/O port the counter is read from.
    pub port: u16,
    /// Counter width: 24, or 32 when FADT sets TMR_VAL_EXT.
    pub bits: u8,
}

static TABLES: Once<Tables> = Once::new();
const MAX_TABLE: usize = 64 * 1024;

/// Returns the ECAM windows (empty when there is no MCFG, e.g. on QEMU's `pc` machine).
pub fn ecam_regions() -> &'static [EcamRegion] {
    TABLES.get().map_or(&[], |t| &t.ecam)
}

/// Returns the IOAPIC base from MADT.
pub(crate) fn ioapic_base() -> Option<u64> {
    TABLES.get().and_then(|t| t.ioapic_base)
}

/// Returns the PM timer from FADT.
pub(crate) fn pm_timer() -> Option<PmTimerBlock> {
    TABLES.get().and_then(|t| t.pm_timer)
}

/// Returns the HPET's MMIO base from the HPET table.
pub(crate) fn hpet_base() -> Option<u64> {
    TABLES.get().and_then(|t| t.hpet_base)
}

/// Returns a copy of the DMAR table (signature, length and checksum checked), if there is one.
pub(crate) fn dmar() -> Option<&'static [u8]> {
    TABLES.get().and_then(|t| t.dmar.as_deref())
}

/// Returns the firmware's CC event log (TDVF's CCEL), if ACPI has one.
pub fn ccel() -> Option<&'static FirmwareEventLog> {
    TABLES.get().and_then(|t| t.ccel.as_ref())
}

/// Copies the log area a CCEL table names (LAML at offset 40, LASA at 48).
fn copy_ccel(table: Vec<u8>) -> Option<FirmwareEventLog> {
    let field = |at: usize| table.get(at..at + 8)?.try_into().ok().map(u64::from_le_bytes);
    let (laml, lasa) = (field(40)?, field(48)?);
    let len = match usize::try_from(laml) {
        Ok(len) if len <= MAX_CCEL_LOG => len,
        _ => {
            log::warn!("acpi: CCEL log area of {laml} bytes is over {MAX_CCEL_LOG}; ignored");
            return None;
        }
    };
    let mem = match IoMem::map_firmware(lasa, len) {
        Ok(mem) => mem,
        Err(e) => {
            log::warn!("acpi: CCEL log area at {lasa:#x}: {e}");
            return None;
        }
    };
    let mut log = alloc::vec![0u8; len];
    mem.read_bytes(0, &mut log);
    Some(FirmwareEventLog { table, log })
}

/// Returns the ACPI revision of the RSDP (0 when no ACPI was found).
pub fn revision() -> u8 {
    TABLES.get().map_or(0, |t| t.revision)
}

/// Why a firmware table was not used.
#[derive(Debug)]
enum TableError {
    /// Its address lies where no firmware table may (see [`crate::mm::WindowPurpose::Firmware`]).
    Window(WindowError),
    /// The header's length is below the header size or above the bound.
    BadLength(usize),
    /// The bytes do not sum to zero.
    BadChecksum,
}

impl core::fmt::Display for TableError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Self::Window(e) => write!(f, "{e}"),
            Self::BadLength(len) => write!(f, "length {len} is outside 36..={MAX_TABLE}"),
            Self::BadChecksum => write!(f, "checksum mismatch"),
        }
    }
}

fn copy_table(paddr: u64, max: usize) -> Result<Vec<u8>, TableError> {
    let header = IoMem::map_firmware(paddr, 36).map_err(TableError::Window)?;
    let mut h = [0u8; 36];
    header.read_bytes(0, &mut h);
    let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
    if !(36..=max).contains(&len) {
        return Err(TableError::BadLength(len));
    }
    let mem = IoMem::map_firmware(paddr, len).map_err(TableError::Window)?;
    let mut table = alloc::vec![0u8; len];
    mem.read_bytes(0, &mut table);
    if table.iter().fold(0u8, |s, &b| s.wrapping_add(b)) != 0 {
        return Err(TableError::BadChecksum);
    }
    Ok(table)
}

fn find_rsdp(info: &BootInfo) -> Option<u64> {
    if let Some(p) = info.rsdp {
        return Some(p);
    }
    // Legacy BIOS: scan 0xe0000..0x100000 on 16-byte boundaries for "RSD PTR ".
    let bios = match IoMem::map_firmware(0xe0000, 0x20000) {
        Ok(bios) => bios,
        Err(e) => {
            log::warn!("acpi: cannot scan the BIOS area for the RSDP: {e}");
            return None;
        }
    };
    (0..0x20000).step_by(16).find_map(|off| {
        let mut sig = [0u8; 8];
        bios.read_bytes(off, &mut sig);
        (&sig == b"RSD PTR ").then_some(0xe0000 + off as u64)
    })
}

/// Reads the tables, once: later calls return at once (`time` calls this before `bus` does,
/// to find the PM timer and the HPET).
pub(crate) fn init(info: &BootInfo) {
    TABLES.call_once(|| {
        let mut tables = Tables::default();
        let Some(rsdp_addr) = find_rsdp(info) else {
            log::info!("acpi: no RSDP");
            return tables;
        };
        let rsdp_mem = match IoMem::map_firmware(rsdp_addr, 36) {
            Ok(mem) => mem,
            Err(e) => {
                log::warn!("acpi: ignoring the RSDP: {e}");
                return tables;
            }
        };
        let mut rsdp = [0u8; 36];
        rsdp_mem.read_bytes(0, &mut rsdp);
        if &rsdp[0..8] != b"RSD PTR " || rsdp[..20].iter().fold(0u8, |s, &b| s.wrapping_add(b)) != 0
        {
            log::warn!("acpi: RSDP at {rsdp_addr:#x} is invalid");
            return tables;
        }
        tables.revision = rsdp[15];
        let xsdt = u64::from_le_bytes(rsdp[24..32].try_into().unwrap_or_default());
        let (root, entry_size) = if tables.revision >= 2 && xsdt != 0 {
            (xsdt, 8)
        } else {
            (u64::from(u32::from_le_bytes(rsdp[16..20].try_into().unwrap_or_default())), 4)
        };
        let root_table = match copy_table(root, MAX_TABLE) {
            Ok(table) => table,
            Err(e) => {
                log::warn!("acpi: root table at {root:#x} is unusable: {e}");
                return tables;
            }
        };
        for entry in root_table[36..].chunks_exact(entry_size) {
            let addr = if entry_size == 8 {
                u64::from_le_bytes(entry.try_into().unwrap_or_default())
            } else {
                u64::from(u32::from_le_bytes(entry.try_into().unwrap_or_default()))
            };
            let table = match copy_table(addr, MAX_TABLE) {
                Ok(table) => table,
                Err(e) => {
                    log::warn!("acpi: skipping the table at {addr:#x}: {e}");
                    continue;
                }
            };
            match &table[0..4] {
                b"MCFG" => parse_mcfg(&table, &mut tables),
                b"APIC" => parse_madt(&table, &mut tables),
                b"FACP" => tables.pm_timer = parse_fadt_pm_timer(&table),
                b"HPET" => tables.hpet_base = parse_hpet_base(&table),
                b"DMAR" if tables.dmar.is_none() => tables.dmar = Some(table),
                b"CCEL" if tables.ccel.is_none() && table.len() == 56 => {
                    tables.ccel = copy_ccel(table);
                }
                _ => {}
            }
        }
        tables
    });
}

fn parse_mcfg(table: &[u8], tables: &mut Tables) {
    for e in table.get(44..).unwrap_or(&[]).chunks_exact(16) {
        tables.ecam.push(EcamRegion {
            base: u64::from_le_bytes(e[0..8].try_into().unwrap_or_default()),
            segment: u16::from_le_bytes([e[8], e[9]]),
            start_bus: e[10],
            end_bus: e[11],
        });
    }
}

fn parse_madt(table: &[u8], tables: &mut Tables) {
    let mut off = 44;
    while off + 2 <= table.len() {
        let (ty, len) = (table[off], table[off + 1] as usize);
        if len < 2 || off + len > table.len() {
            break;
        }
        if ty == 1 && len >= 12 && tables.ioapic_base.is_none() {
            tables.ioapic_base = Some(u64::from(u32::from_le_bytes(
                table[off + 4..off + 8].try_into().unwrap_or_default(),
            )));
        }
        off += len;
    }
}

/// Reads PM_TMR_BLK (offset 76), PM_TMR_LEN (91, must be 4) and TMR_VAL_EXT (flags at 112,
/// bit 8). The 32-bit X_PM_TMR_BLK is not read: every FADT that has it also fills PM_TMR_BLK
/// with the same I/O port.
fn parse_fadt_pm_timer(table: &[u8]) -> Option<PmTimerBlock> {
    let port = u32::from_le_bytes(table.get(76..80)?.try_into().ok()?);
    if *table.get(91)? != 4 || port == 0 || port > 0xfffc {
        return None;
    }
    let flags = table.get(112..116).map_or(0, |f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]));
    Some(PmTimerBlock { port: port as u16, bits: if flags & (1 << 8) != 0 { 32 } else { 24 } })
}

/// Reads the HPET's base address: a Generic Address Structure at offset 40 whose address
/// space (byte 40) must be system memory (0); the address is bytes 44..52.
fn parse_hpet_base(table: &[u8]) -> Option<u64> {
    let gas = table.get(40..52)?;
    let base = u64::from_le_bytes(gas[4..12].try_into().ok()?);
    (gas[0] == 0 && base != 0 && base % 1024 == 0).then_some(base)
}
