//! The CC event log where Linux shows it: `/sys/firmware/acpi/tables/CCEL` (the ACPI table)
//! and `/sys/firmware/acpi/tables/data/CCEL` (the log it points at).
//!
//! The log is one log: under TDX the firmware's events (TDVF's CCEL, when `measure` could
//! adopt it) followed by the kernel's measured-boot events (`super::measure`), so that
//! replaying it reproduces the registers the firmware and the kernel extended; extends
//! written to `rtmr3:sha384` from user space are not logged (as on Linux, whose tsm-mr
//! leaves the log to user space). Linux's data/CCEL is the whole log area, padding included;
//! here it is the log without padding (every TCG2 parser stops at the end of the data either
//! way), so with a firmware table its LAML and LASA describe the firmware's area, not this.
//!
//! Without a firmware CCEL (`tee=sim`, SEV-SNP, no TEE) the table is the kernel's own:
//! OEM ID "COCOON", CC type 0 (ACPI defines 1 for SEV and 2 for TDX; 0 claims neither), LASA
//! 0 (the log has no guest-physical home a reader could map) and LAML the log's length.

use alloc::vec::Vec;

use tee::eventlog::CcelTable;

/// The CCEL table: the firmware's, or the kernel's own (see the module docs).
pub fn table() -> Vec<u8> {
    if let Some(firmware) = ostd::bus::acpi::ccel() {
        return firmware.table.clone();
    }
    CcelTable {
        revision: 1,
        oem_id: *b"COCOON",
        oem_table_id: *b"COCOONEL",
        oem_revision: 1,
        creator_id: *b"CCON",
        creator_revision: 1,
        cc_type: 0,
        cc_subtype: 0,
        reserved: 0,
        laml: super::measure::log_bytes().len() as u64,
        lasa: 0,
    }
    .to_bytes()
}

/// The event log: the firmware's events, then the kernel's.
pub fn log() -> Vec<u8> {
    super::measure::log_bytes()
}

ostd::ktest! {
    fn the_ccel_files_are_a_valid_table_and_a_log_that_replays() {
        let table = CcelTable::parse(&table()).unwrap();
        let log = tee::eventlog::EventLog::parse(&log()).unwrap();
        if ostd::bus::acpi::ccel().is_none() {
            assert_eq!(table.cc_type, 0);
            assert_eq!(table.laml, log.to_bytes().unwrap().len() as u64);
        }
        assert!(log.events.iter().any(|e| e.event.starts_with(b"cocoon.cmdline ")));
        if let Ok(registers) = ostd::tee::measurement_registers() {
            let replayed = tee::eventlog::replay_rtmrs(&log).unwrap();
            assert_eq!(replayed[super::measure::REGISTER], registers[super::measure::REGISTER]);
        }
    }
}
