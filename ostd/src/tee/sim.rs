//! The simulated TEE: the private/shared bookkeeping (a set of shared frame numbers), four
//! SHA-384 measurement registers with TDX's RTMR extend rule, reports signed with the
//! published development key in the form `attest verify --allow-sim` accepts
//! ([`tee_abi::sim`]), and a stand-in for unaccepted memory (`sim.unaccepted=MiB`): which of
//! its 2 MiB chunks were accepted, so that handing out an unaccepted frame is caught.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use spin::Once;
use tee_abi::sim::{REGISTER_COUNT, Register, SimReportBody};
use tee_abi::sim_snp::SnpLayoutBody;

use super::MrIndex;
use crate::mm::{PAGE_SIZE, Paddr};
use crate::sync::SpinLock;

static SHARED: SpinLock<BTreeSet<u64>> = SpinLock::new(BTreeSet::new());
static REGISTERS: SpinLock<[Register; REGISTER_COUNT]> = SpinLock::new([[0; 48]; REGISTER_COUNT]);
static LAUNCH: Once<[u8; 48]> = Once::new();

/// The most unaccepted memory the simulated TEE stands in for.
pub(super) const MAX_UNACCEPTED_MIB: u64 = 1024;
const CHUNK: u64 = 2 << 20;
const CHUNKS: usize = (MAX_UNACCEPTED_MIB * (1 << 20) / CHUNK) as usize;

/// The stand-in region and which of its chunks are accepted (a bitmap: this is used under
/// the frame allocator's lock, where nothing may allocate).
struct Unaccepted {
    start: u64,
    end: u64,
    accepted: [u64; CHUNKS / 64],
    accepted_chunks: u64,
}

static UNACCEPTED: SpinLock<Unaccepted> =
    SpinLock::new(Unaccepted { start: 0, end: 0, accepted: [0; CHUNKS / 64], accepted_chunks: 0 });

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

/// Returns a signed report binding `report_data`: with the registers as they are now, a
/// version-2 sim report; without them (`sim.registers=none`, the sim playing SEV-SNP), a
/// report in SNP's layout at `vmpl` ([`tee_abi::sim_snp`]), or `None` for a VMPL above 3.
pub(super) fn report(report_data: &[u8; 64], with_registers: bool, vmpl: u32) -> Option<Vec<u8>> {
    let measurement = LAUNCH.get().copied().unwrap_or([0; 48]);
    if with_registers {
        let body = SimReportBody {
            measurement,
            report_data: *report_data,
            registers: Some(registers()),
            debug: false,
        };
        return (vmpl == 0).then(|| body.sign());
    }
    let body = SnpLayoutBody { measurement, report_data: *report_data, vmpl, debug: false };
    body.sign()
}

/// Records `start..end` (2 MiB aligned, at most [`MAX_UNACCEPTED_MIB`]) as the memory that
/// stands in for unaccepted memory.
pub(super) fn note_unaccepted(start: u64, end: u64) {
    let mut u = UNACCEPTED.lock();
    (u.start, u.end) = (start, end.min(start + CHUNKS as u64 * CHUNK));
}

impl Unaccepted {
    /// Returns, for each stand-in chunk that `start..start + len` touches, the chunk's index
    /// and the first address of the range inside it.
    fn chunks(&self, start: u64, len: u64) -> impl Iterator<Item = (usize, u64)> + use<> {
        let (base, end) = (self.start, start.saturating_add(len).min(self.end));
        let mut at = start.max(base);
        core::iter::from_fn(move || {
            (at < end).then(|| {
                let chunk = ((at - base) / CHUNK) as usize;
                let here = at;
                at = base + (chunk as u64 + 1) * CHUNK;
                (chunk, here)
            })
        })
    }

    fn is_accepted(&self, chunk: usize) -> bool {
        self.accepted[chunk / 64] & (1 << (chunk % 64)) != 0
    }
}

/// Accepts `start..start + len`: marks the stand-in's chunks in it accepted.
pub(super) fn accept(start: u64, len: u64) {
    let mut u = UNACCEPTED.lock();
    for (chunk, _) in u.chunks(start, len) {
        if !u.is_accepted(chunk) {
            u.accepted[chunk / 64] |= 1 << (chunk % 64);
            u.accepted_chunks += 1;
        }
    }
}

/// Returns the first frame of `start..start + len` in the stand-in that was not accepted.
pub(super) fn first_unaccepted(start: u64, len: u64) -> Option<u64> {
    let u = UNACCEPTED.lock();
    u.chunks(start, len).find(|&(chunk, _)| !u.is_accepted(chunk)).map(|(_, at)| at)
}

/// Returns (chunks accepted, chunks in the stand-in).
pub(super) fn acceptance() -> (u64, u64) {
    let u = UNACCEPTED.lock();
    (u.accepted_chunks, (u.end - u.start) / CHUNK)
}
