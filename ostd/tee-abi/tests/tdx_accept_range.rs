//! Accepting a range against a simulated TDX module. The module's behaviour is the ABI
//! spec's (TDG.MEM.PAGE.ACCEPT): an accept at a level larger than the host's mapping of
//! that page answers TDX_PAGE_SIZE_MISMATCH (0xC0000B0B00000000), a page accepted before
//! answers TDX_PAGE_ALREADY_ACCEPTED (0x00000B0A00000000), anything else succeeds.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use tee_abi::tdx::TdxError;
use tee_abi::tdx::accept_range::RangeAcceptor;
use tee_abi::tdx::gpa::{Gpa, GpaWidth, PageLevel};
use tee_abi::tdx::status::TdxStatus;

const PAGE: u64 = 0x1000;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const SIZE_MISMATCH: u64 = 0xC000_0B0B_0000_0000;
const ALREADY_ACCEPTED: u64 = 0x0000_0B0A_0000_0000;

/// A host mapping: the largest level the host used at each 2 MiB region, and the pages
/// the guest has accepted (4 KiB granularity).
struct Module {
    mapped: Box<dyn Fn(u64) -> PageLevel>,
    accepted: BTreeSet<u64>,
    calls: Vec<(u64, PageLevel)>,
}

impl Module {
    fn accept(&mut self, rcx: u64) -> TdxStatus {
        let level = match rcx & 7 {
            0 => PageLevel::Size4K,
            1 => PageLevel::Size2M,
            2 => PageLevel::Size1G,
            other => panic!("level {other}"),
        };
        let gpa = rcx & !0xfff;
        self.calls.push((gpa, level));
        let pages: Vec<u64> = (gpa..gpa + level.size()).step_by(PAGE as usize).collect();
        if pages.iter().any(|&page| level > (self.mapped)(page)) {
            return TdxStatus::from_raw(SIZE_MISMATCH);
        }
        if pages.iter().all(|page| self.accepted.contains(page)) {
            return TdxStatus::from_raw(ALREADY_ACCEPTED);
        }
        for page in pages {
            assert!(self.accepted.insert(page), "page {page:#x} accepted twice");
        }
        TdxStatus::from_raw(0)
    }
}

fn run(module: &mut Module, start: u64, end: u64) -> Result<(), TdxError> {
    let shared = GpaWidth::Bits48.shared_bit();
    let mut acceptor = RangeAcceptor::new(Gpa::new(start), Gpa::new(end), shared)?;
    while let Some(regs) = acceptor.next_call() {
        assert_eq!(regs.rax, 6);
        let status = module.accept(regs.rcx);
        acceptor.on_status(status)?;
    }
    Ok(())
}

#[test]
fn aligned_gigabyte_on_a_gigabyte_mapping_is_one_call() {
    let mut module = Module {
        mapped: Box::new(|_| PageLevel::Size1G),
        accepted: BTreeSet::new(),
        calls: Vec::new(),
    };
    run(&mut module, GIB, 2 * GIB).unwrap();
    assert_eq!(module.calls, [(GIB, PageLevel::Size1G)]);
}

#[test]
fn unaligned_edges_use_smaller_pages() {
    let mut module = Module {
        mapped: Box::new(|_| PageLevel::Size1G),
        accepted: BTreeSet::new(),
        calls: Vec::new(),
    };
    run(&mut module, 2 * MIB - PAGE, 4 * MIB + PAGE).unwrap();
    assert_eq!(
        module.calls,
        [
            (2 * MIB - PAGE, PageLevel::Size4K),
            (2 * MIB, PageLevel::Size2M),
            (4 * MIB, PageLevel::Size4K)
        ]
    );
}

#[test]
fn size_mismatch_falls_back_then_climbs_again() {
    // The host mapped [2 MiB, 4 MiB) with 4 KiB pages, the rest with 2 MiB pages.
    let mut module = Module {
        mapped: Box::new(|gpa| {
            if (2 * MIB..4 * MIB).contains(&gpa) { PageLevel::Size4K } else { PageLevel::Size2M }
        }),
        accepted: BTreeSet::new(),
        calls: Vec::new(),
    };
    run(&mut module, 0, 6 * MIB).unwrap();
    assert_eq!(module.calls[0], (0, PageLevel::Size2M));
    assert_eq!(module.calls[1], (2 * MIB, PageLevel::Size2M));
    assert_eq!(module.calls[2], (2 * MIB, PageLevel::Size4K));
    assert_eq!(module.calls[513], (4 * MIB - PAGE, PageLevel::Size4K));
    assert_eq!(module.calls[514], (4 * MIB, PageLevel::Size2M));
    assert_eq!(module.calls.len(), 515);
    assert_eq!(module.accepted.len() as u64, 6 * MIB / PAGE);
}

#[test]
fn nested_fallback_from_a_gigabyte_down_to_4k_and_back() {
    // In [1 GiB, 2 GiB) the host used 2 MiB pages, except 4 KiB pages at 1 GiB + 10 MiB.
    let odd = GIB + 10 * MIB;
    let mut module = Module {
        mapped: Box::new(move |gpa| {
            if (odd..odd + 2 * MIB).contains(&gpa) { PageLevel::Size4K } else { PageLevel::Size2M }
        }),
        accepted: BTreeSet::new(),
        calls: Vec::new(),
    };
    run(&mut module, GIB, 2 * GIB + 2 * MIB).unwrap();
    // 1 GiB refused, 512 tries at 2 MiB (one refused), 512 at 4 KiB, then 2 MiB past 2 GiB.
    assert_eq!(module.calls[0], (GIB, PageLevel::Size1G));
    assert_eq!(module.calls.len(), 1 + 512 + 512 + 1);
    assert_eq!(module.calls.last(), Some(&(2 * GIB, PageLevel::Size2M)));
    let small = module.calls.iter().filter(|(_, level)| *level == PageLevel::Size4K).count();
    assert_eq!(small, 512);
    assert_eq!(module.accepted.len() as u64, (GIB + 2 * MIB) / PAGE);
}

#[test]
fn already_accepted_pages_are_fine_and_other_errors_stop() {
    let mut module = Module {
        mapped: Box::new(|_| PageLevel::Size4K),
        accepted: [0x3000].into_iter().collect(),
        calls: Vec::new(),
    };
    run(&mut module, 0x2000, 0x5000).unwrap();
    assert_eq!(module.accepted.len(), 3);

    let shared = GpaWidth::Bits48.shared_bit();
    let mut acceptor = RangeAcceptor::new(Gpa::new(0), Gpa::new(0x2000), shared).unwrap();
    // Busy: the same call again.
    acceptor.on_status(TdxStatus::from_raw(0x8000_0200_0000_0000)).unwrap();
    assert_eq!(acceptor.next_page(), Some((Gpa::new(0), PageLevel::Size4K)));
    // A size mismatch at 4 KiB has nowhere to go.
    assert!(acceptor.on_status(TdxStatus::from_raw(SIZE_MISMATCH)).is_err());
    assert!(acceptor.on_status(TdxStatus::from_raw(0xC000_0100_0000_0000)).is_err());
}

#[test]
fn range_is_checked() {
    let shared = GpaWidth::Bits48.shared_bit();
    assert!(RangeAcceptor::new(Gpa::new(0x800), Gpa::new(0x2000), shared).is_err());
    assert!(RangeAcceptor::new(Gpa::new(0x2000), Gpa::new(0x1000), shared).is_err());
    assert!(RangeAcceptor::new(Gpa::new(0), Gpa::new((1 << 47) + PAGE), shared).is_err());
    let done = RangeAcceptor::new(Gpa::new(0x2000), Gpa::new(0x2000), shared).unwrap();
    assert_eq!(done.next_call(), None);
    let top = RangeAcceptor::new(Gpa::new((1 << 47) - PAGE), Gpa::new(1 << 47), shared);
    assert!(top.unwrap().next_call().is_some());
}

proptest! {
    #[test]
    fn every_page_accepted_exactly_once_whatever_the_host_mapping(
        levels in prop::collection::vec(0u8..3, 8),
        start_page in 0u64..(4 * GIB / PAGE),
        len_pages in 0u64..(3 * MIB / PAGE),
    ) {
        // One host level per 1 GiB region over the first 8 GiB; a 1 GiB mapping is only
        // possible where the region is 1 GiB aligned, which every region here is.
        let mapped = move |gpa: u64| match levels[(gpa / GIB) as usize % 8] {
            0 => PageLevel::Size4K,
            1 => PageLevel::Size2M,
            _ => PageLevel::Size1G,
        };
        let mut module = Module {
            mapped: Box::new(mapped),
            accepted: BTreeSet::new(),
            calls: Vec::new(),
        };
        let start = start_page * PAGE;
        let end = start + len_pages * PAGE;
        run(&mut module, start, end).unwrap();
        let expected: BTreeSet<u64> = (start..end).step_by(PAGE as usize).collect();
        prop_assert_eq!(&module.accepted, &expected);
        for &(gpa, level) in &module.calls {
            prop_assert!(gpa >= start && gpa + level.size() <= end);
        }
    }
}
