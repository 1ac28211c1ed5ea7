//! One VT-d remapping unit's registers (VT-d specification chapter 11), through [`IoMem`].
//!
//! Register-based invalidation only (no queued invalidation), legacy-mode root table, and
//! every wait for the hardware is a bounded spin that reports which bit never moved.

use crate::mm::{IoMem, WindowError};

const VER: usize = 0x00;
const CAP: usize = 0x08;
const ECAP: usize = 0x10;
const GCMD: usize = 0x18;
const GSTS: usize = 0x1c;
const RTADDR: usize = 0x20;
const CCMD: usize = 0x28;
const FSTS: usize = 0x34;
/// The register page; units with IOTLB or fault registers past it are refused.
const WINDOW: usize = 0x1000;

/// GCMD/GSTS bits.
const TE: u32 = 1 << 31;
const SRTP: u32 = 1 << 30;
const WBF: u32 = 1 << 27;

/// CCMD: invalidate, global granularity.
const CCMD_ICC: u64 = 1 << 63;
const CCMD_GLOBAL: u64 = 1 << 61;
/// IOTLB register: invalidate, with a granularity (1 global, 2 domain) at bits 61:60.
const IOTLB_IVT: u64 = 1 << 63;

/// FSTS bits: primary fault overflow (write 1 to clear), pending fault.
pub(super) const FSTS_PFO: u32 = 1 << 0;
pub(super) const FSTS_PPF: u32 = 1 << 1;

/// How many register reads a wait may take before the unit is given up on.
const SPIN_LIMIT: u32 = 10_000_000;

/// Why a unit could not be set up.
#[derive(Debug)]
pub(crate) enum RegsError {
    /// The register page could not be mapped.
    Window(WindowError),
    /// The unit's IOTLB or fault-recording registers lie past its register page.
    RegistersOutOfPage { iotlb: usize, frcd: usize },
    /// The hardware never set or cleared `what`.
    Timeout(&'static str),
}

impl core::fmt::Display for RegsError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Self::Window(e) => write!(f, "{e}"),
            Self::RegistersOutOfPage { iotlb, frcd } => {
                write!(
                    f,
                    "IOTLB registers at {iotlb:#x} or fault records at {frcd:#x} are past 4 KiB"
                )
            }
            Self::Timeout(what) => write!(f, "timed out waiting for {what}"),
        }
    }
}

/// A remapping unit's register page.
///
/// # Invariants
/// `iotlb + 16` and `frcd + 16 * records` are within the mapped page.
pub(super) struct Regs {
    mem: IoMem,
    cap: u64,
    ecap: u64,
    iotlb: usize,
    frcd: usize,
    records: usize,
    /// The persistent GCMD bits this driver has set (only TE).
    gcmd: u32,
}

impl Regs {
    /// Maps the unit at `base` and reads its capabilities.
    pub(super) fn map(base: u64) -> Result<Self, RegsError> {
        let mem = IoMem::map(base, WINDOW).map_err(RegsError::Window)?;
        let cap = mem.read::<u64>(CAP);
        let ecap = mem.read::<u64>(ECAP);
        let iotlb = ((ecap >> 8) & 0x3ff) as usize * 16;
        let frcd = ((cap >> 24) & 0x3ff) as usize * 16;
        let records = ((cap >> 40) & 0xff) as usize + 1;
        if iotlb + 16 > WINDOW || frcd + 16 * records > WINDOW {
            return Err(RegsError::RegistersOutOfPage { iotlb, frcd });
        }
        Ok(Self { mem, cap, ecap, iotlb, frcd, records, gcmd: 0 })
    }

    /// Returns the version register (major in bits 7:4, minor in 3:0).
    pub(super) fn version(&self) -> u32 {
        self.mem.read::<u32>(VER)
    }

    /// Returns CAP.SAGAW: bit 1 for 3-level (39-bit) tables, bit 2 for 4-level (48-bit).
    pub(super) fn sagaw(&self) -> u64 {
        (self.cap >> 8) & 0x1f
    }

    /// Returns whether the unit snoops the CPU's caches when it walks tables (ECAP.C); if
    /// not, table writes must be flushed to memory.
    pub(super) fn coherent(&self) -> bool {
        self.ecap & 1 != 0
    }

    /// Returns whether translation is on (GSTS.TES).
    pub(super) fn translating(&self) -> bool {
        self.mem.read::<u32>(GSTS) & TE != 0
    }

    fn wait(&self, reg: usize, bit: u64, set: bool, what: &'static str) -> Result<(), RegsError> {
        for _ in 0..SPIN_LIMIT {
            let value = if reg == GSTS {
                u64::from(self.mem.read::<u32>(reg))
            } else {
                self.mem.read::<u64>(reg)
            };
            if (value & bit != 0) == set {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err(RegsError::Timeout(what))
    }

    fn command(&self, bit: u32, what: &'static str) -> Result<(), RegsError> {
        self.mem.write::<u32>(GCMD, self.gcmd | bit);
        self.wait(GSTS, u64::from(bit), true, what)
    }

    /// Turns translation off, as firmware may have left it on.
    pub(super) fn disable_translation(&mut self) -> Result<(), RegsError> {
        self.gcmd &= !TE;
        self.mem.write::<u32>(GCMD, self.gcmd);
        self.wait(GSTS, u64::from(TE), false, "GSTS.TES to clear")
    }

    /// Points the unit at a legacy-mode root table and latches it (SRTP).
    pub(super) fn set_root_table(&self, paddr: u64) -> Result<(), RegsError> {
        self.mem.write::<u64>(RTADDR, paddr);
        self.command(SRTP, "GSTS.RTPS")
    }

    /// Drains the write buffer where the unit needs it (CAP.RWBF), so table writes are seen.
    pub(super) fn flush_write_buffer(&self) -> Result<(), RegsError> {
        if self.cap & (1 << 4) == 0 {
            return Ok(());
        }
        self.mem.write::<u32>(GCMD, self.gcmd | WBF);
        self.wait(GSTS, u64::from(WBF), false, "GSTS.WBFS to clear")
    }

    /// Invalidates every cached context entry.
    pub(super) fn invalidate_context_global(&self) -> Result<(), RegsError> {
        self.mem.write::<u64>(CCMD, CCMD_ICC | CCMD_GLOBAL);
        self.wait(CCMD, CCMD_ICC, false, "CCMD.ICC to clear")
    }

    /// Invalidates the IOTLB: everything (`domain` None) or one domain's translations.
    pub(super) fn invalidate_iotlb(&self, domain: Option<u16>) -> Result<(), RegsError> {
        let command = match domain {
            None => IOTLB_IVT | 1 << 60,
            Some(did) => IOTLB_IVT | 2 << 60 | u64::from(did) << 32,
        };
        self.mem.write::<u64>(self.iotlb + 8, command);
        self.wait(self.iotlb + 8, IOTLB_IVT, false, "IOTLB.IVT to clear")
    }

    /// Turns translation on (TE).
    pub(super) fn enable_translation(&mut self) -> Result<(), RegsError> {
        self.command(TE, "GSTS.TES")?;
        self.gcmd |= TE;
        Ok(())
    }

    /// Returns the fault status register.
    pub(super) fn fault_status(&self) -> u32 {
        self.mem.read::<u32>(FSTS)
    }

    /// Clears the primary-fault-overflow flag.
    pub(super) fn clear_overflow(&self) {
        self.mem.write::<u32>(FSTS, FSTS_PFO);
    }

    /// Returns how many fault-recording registers the unit has.
    pub(super) fn fault_records(&self) -> usize {
        self.records
    }

    /// Returns fault record `i` (0..records) as its low and high quadwords.
    pub(super) fn fault_record(&self, i: usize) -> (u64, u64) {
        let at = self.frcd + 16 * (i % self.records);
        (self.mem.read::<u64>(at), self.mem.read::<u64>(at + 8))
    }

    /// Clears fault record `i` (writes 1 to its F bit, bit 127).
    pub(super) fn clear_fault_record(&self, i: usize) {
        let at = self.frcd + 16 * (i % self.records);
        self.mem.write::<u32>(at + 12, 1 << 31);
    }
}
