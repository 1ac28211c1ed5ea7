//! The simulated TEE: the private/shared bookkeeping (a set of shared frame numbers), four
//! SHA-384 measurement registers with TDX's RTMR extend rule, and reports signed with the
//! published development key in the form `attest verify --allow-sim` accepts
//! ([`tee_abi::sim`]).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use spin::Once;
use tee_abi::sim::{REGISTER_COUNT, Register, SimReportBody};

use super::MrIndex;
use crate::mm::{PAGE_SIZE, Paddr};
use crate::sync::SpinLock;

static SHARED: SpinLock<BTreeSet<u64>> = SpinLock::new(BTreeSet::new());
static REGISTERS: SpinLock<[Register; REGISTER_COUNT]> = SpinLock::new([[0; 48]; REGISTER_COUNT]);
static LAUNCH: Once<[u8; 48]> = Once::new();

/// Records what a real TEE's firmware would have measured at launch.
pub(super) fn init(cmdline: &[u8]) {
    LAUNCH.call_once(|| tee_abi::sim::launch_measurement(cmdline));
}

pub(super) fn mark_shared(paddr: Paddr, count: usize) {
    let mut set = SHARED.lock();
    for i in 0..count as u64 {
        set.insert(paddr / PAGE_SIZE as u64 + i);
    }
}

pub(super) fn mark_private(paddr: Paddr, count: usize) {
    let mut set = SHARED.lock();
    for i in 0..count as u64 {
        set.remove(&(paddr / PAGE_SIZE as u64 + i));
    }
}

pub(super) fn is_shared(paddr: Paddr, len: usize) -> bool {
    let set = SHARED.lock();
    let Some(end) = paddr.checked_add(len.max(1) as u64) else { return false };
    let first = paddr / PAGE_SIZE as u64;
    let last = (end - 1) / PAGE_SIZE as u64;
    (first..=last).all(|f| set.contains(&f))
}

pub(super) fn extend(index: MrIndex, digest: &[u8; 48]) {
    let mut registers = REGISTERS.lock();
    let register = &mut registers[index.as_usize()];
    *register = tee_abi::sim::extend(register, digest);
}

pub(super) fn registers() -> [Register; REGISTER_COUNT] {
    *REGISTERS.lock()
}

/// Returns a signed version-2 report binding `report_data` and the registers as they are now.
pub(super) fn report(report_data: &[u8; 64]) -> Vec<u8> {
    let body = SimReportBody {
        measurement: LAUNCH.get().copied().unwrap_or([0; 48]),
        report_data: *report_data,
        registers: Some(registers()),
        debug: false,
    };
    body.sign()
}
