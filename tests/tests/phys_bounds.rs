//! Host tests of ostd's bounds arithmetic for windows onto physical memory
//! (`ostd/src/mm/phys_bounds.rs`). ostd itself builds only for the bare-metal target, so the
//! file is compiled here on its own; it uses nothing but `core`, and this crate's
//! `forbid(unsafe_code)` also proves it holds no `unsafe`.
#![forbid(unsafe_code)]

#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
#[path = "../../ostd/src/mm/phys_bounds.rs"]
mod phys_bounds;

use phys_bounds::{
    IO_WINDOW_SLOTS, LEGACY_END, PAGE, PhysSpan, RegionUse, WINDOW_SPAN, WindowError,
    WindowPurpose, access, check_loaded, check_window, fits, io_window_reach, page_ceil,
    page_floor,
};
use proptest::prelude::*;

fn span(start: u64, end: u64) -> PhysSpan {
    PhysSpan::from_bounds(start, end).unwrap()
}

/// QEMU q35 with 512 MiB under SeaBIOS, as PVH reports it.
fn q35() -> Vec<(PhysSpan, RegionUse)> {
    vec![
        (span(0, 0x9fc00), RegionUse::Usable),
        (span(0x9fc00, 0xa0000), RegionUse::Reserved),
        (span(0xf0000, 0x10_0000), RegionUse::Reserved),
        (span(0x10_0000, 0x1ffe_0000), RegionUse::Usable),
        (span(0x1ffe_0000, 0x2000_0000), RegionUse::Reserved),
        (span(0xb000_0000, 0xc000_0000), RegionUse::Reserved),
        (span(0xfed1_c000, 0xfed2_0000), RegionUse::Reserved),
        (span(0xfeff_c000, 0xff00_0000), RegionUse::Reserved),
        (span(0xfffc_0000, 0x1_0000_0000), RegionUse::Reserved),
    ]
}

const IMAGE: (u64, u64) = (0x10_0000, 0x23_a000);

/// The I/O window's reach with QEMU's default 40-bit physical addresses: 1 TiB, two slots.
const REACH: u64 = 1 << 40;

fn check(paddr: u64, len: u64, purpose: WindowPurpose) -> Result<PhysSpan, WindowError> {
    check_window(paddr, len, purpose, REACH, span(IMAGE.0, IMAGE.1), q35())
}

mod fixed_cases {
    use super::*;

    #[test]
    fn the_q35_devices_map() {
        assert_eq!(
            check(0xb000_0000, 8 << 20, WindowPurpose::Device),
            Ok(span(0xb000_0000, 0xb080_0000))
        );
        assert_eq!(
            check(0xfee0_0000, 4096, WindowPurpose::Device),
            Ok(span(0xfee0_0000, 0xfee0_1000))
        );
        assert_eq!(
            check(0xfec0_0000, 0x20, WindowPurpose::Device),
            Ok(span(0xfec0_0000, 0xfec0_1000))
        );
    }

    #[test]
    fn firmware_tables_in_reserved_memory_and_the_bios_area_map() {
        assert!(check(0x1ffe_1000, 36, WindowPurpose::Firmware).is_ok());
        assert!(check(0xe0000, 0x20000, WindowPurpose::Firmware).is_ok());
        assert!(check(0xf5a20, 36, WindowPurpose::Firmware).is_ok());
    }

    #[test]
    fn a_window_in_pml4_slot_511_is_refused() {
        // IO_OFFSET + paddr lands in slot 511 (the kernel image) for paddr = 0x3f80_0000_0000 + x.
        let paddr = 0x3f80_0000_0000 + IMAGE.0;
        assert!(matches!(
            check(paddr, 4096, WindowPurpose::Device),
            Err(WindowError::BeyondWindow { .. })
        ));
        assert!(matches!(
            check(paddr, 36, WindowPurpose::Firmware),
            Err(WindowError::BeyondWindow { .. })
        ));
    }

    #[test]
    fn a_window_ending_exactly_at_the_limit_is_accepted_and_one_byte_more_is_not() {
        assert_eq!(check(REACH - 4096, 4096, WindowPurpose::Device), Ok(span(REACH - 4096, REACH)));
        assert_eq!(
            check(REACH - 4096, 4097, WindowPurpose::Device),
            Err(WindowError::BeyondWindow { range: span(REACH - 4096, REACH + 1), reach: REACH })
        );
    }

    #[test]
    fn a_64_bit_bar_where_ovmf_puts_it_maps_above_the_first_slot() {
        // OVMF places 64-bit BARs from 896 GiB up; QEMU's CPUs report 40 physical-address bits.
        assert_eq!(
            check(0xe0_0000_0000, 0x4000, WindowPurpose::Device),
            Ok(span(0xe0_0000_0000, 0xe0_0000_4000))
        );
    }

    #[test]
    fn the_io_window_reaches_as_far_as_the_cpu_addresses_and_no_further_than_its_slots() {
        assert_eq!(io_window_reach(40), 1 << 40);
        assert_eq!(io_window_reach(45), IO_WINDOW_SLOTS * WINDOW_SPAN);
        assert_eq!(io_window_reach(52), IO_WINDOW_SLOTS * WINDOW_SPAN);
        assert_eq!(io_window_reach(255), IO_WINDOW_SLOTS * WINDOW_SPAN);
        // A width no CPU reports still leaves the devices under 4 GiB reachable.
        assert_eq!(io_window_reach(0), 1 << 32);
    }

    #[test]
    fn a_wrapping_range_is_named_as_such() {
        assert_eq!(
            check(u64::MAX - 10, 36, WindowPurpose::Firmware),
            Err(WindowError::Wraps { paddr: u64::MAX - 10, len: 36 })
        );
        let e = check(u64::MAX, 2, WindowPurpose::Device).unwrap_err();
        assert_eq!(
            e.to_string(),
            "0xffffffffffffffff + 0x2 wraps past the end of the address space"
        );
    }

    #[test]
    fn a_crafted_mcfg_base_on_ram_is_refused_naming_the_region() {
        let e = check(0x0100_0000, 8 << 20, WindowPurpose::Device).unwrap_err();
        assert_eq!(
            e,
            WindowError::OverlapsRam {
                range: span(0x0100_0000, 0x0180_0000),
                region: span(0x10_0000, 0x1ffe_0000),
                purpose: WindowPurpose::Device
            }
        );
        assert_eq!(
            e.to_string(),
            "device window 0x1000000..0x1800000 overlaps RAM 0x100000..0x1ffe0000 in the memory map"
        );
    }

    #[test]
    fn a_firmware_table_in_allocator_ram_is_refused() {
        let e = check(0x0200_0000, 36, WindowPurpose::Firmware).unwrap_err();
        assert!(
            e.to_string().starts_with("firmware table 0x2000000..0x2000024 lies in usable RAM"),
            "{e}"
        );
    }

    #[test]
    fn the_kernel_image_is_refused_even_where_the_map_does_not_call_it_ram() {
        let regions = [(span(0, 1 << 32), RegionUse::Reserved)];
        let image = span(0x0400_0000, 0x0500_0000);
        let e = check_window(0x04ff_f000, 0x2000, WindowPurpose::Firmware, REACH, image, regions)
            .unwrap_err();
        assert_eq!(e, WindowError::OverlapsKernel { range: span(0x04ff_f000, 0x0500_1000), image });
    }

    #[test]
    fn a_device_window_sharing_a_page_with_ram_is_refused() {
        // The bytes miss RAM, but the page that maps them does not.
        assert!(matches!(
            check(0x1ffd_fff0, 8, WindowPurpose::Device),
            Err(WindowError::OverlapsRam { .. })
        ));
    }

    #[test]
    fn an_empty_window_is_refused() {
        assert_eq!(
            check(0xb000_0000, 0, WindowPurpose::Device),
            Err(WindowError::Empty { paddr: 0xb000_0000 })
        );
    }

    #[test]
    fn accesses_must_be_in_bounds_and_aligned_at_their_address() {
        assert_eq!(access(0x1000, 8, 4, 4), Some(0x1004));
        assert_eq!(access(0x1000, 8, 8, 1), None);
        assert_eq!(
            access(0x1002, 8, 0, 4),
            None,
            "offset 0 of a window at an odd address is unaligned"
        );
        assert_eq!(access(0x1000, 8, usize::MAX - 1, 4), None, "offset + size wraps");
        assert!(fits(8, 4, 4) && !fits(8, 5, 4) && !fits(8, usize::MAX, 2));
    }

    #[test]
    fn an_initrd_in_usable_ram_is_taken_as_is() {
        let image = span(IMAGE.0, IMAGE.1);
        assert_eq!(
            check_loaded(0x1f00_0000, 0x12345, image, q35()),
            Ok(span(0x1f00_0000, 0x1f01_2345))
        );
    }

    #[test]
    fn an_initrd_over_the_kernel_image_is_refused() {
        let image = span(IMAGE.0, IMAGE.1);
        let e = check_loaded(0x20_0000, 0x10_0000, image, q35()).unwrap_err();
        assert_eq!(e, WindowError::OverlapsKernel { range: span(0x20_0000, 0x30_0000), image });
        assert_eq!(
            e.to_string(),
            "0x200000..0x300000 overlaps the kernel image 0x100000..0x23a000"
        );
    }

    #[test]
    fn an_initrd_that_wraps_leaves_ram_or_passes_the_direct_map_is_refused() {
        let image = span(IMAGE.0, IMAGE.1);
        assert!(matches!(
            check_loaded(u64::MAX - 4, 16, image, q35()),
            Err(WindowError::Wraps { .. })
        ));
        assert!(matches!(
            check_loaded(0x1ffd_0000, 0x20000, image, q35()),
            Err(WindowError::NotInUsableRam { .. })
        ));
        let high = [(span(0, 1 << 40), RegionUse::Usable)];
        assert!(matches!(
            check_loaded(WINDOW_SPAN - 8, 16, span(0, 0x1000), high),
            Err(WindowError::BeyondWindow { .. })
        ));
        assert_eq!(
            check_loaded(0x1f00_0000, 0, image, q35()),
            Err(WindowError::Empty { paddr: 0x1f00_0000 })
        );
    }

    #[test]
    fn a_usable_region_at_the_top_of_the_address_space_has_no_whole_pages() {
        // Rounding its start up used to wrap to 0, handing the allocator every frame below.
        assert_eq!(span(u64::MAX - 100, u64::MAX).whole_pages(), None);
        assert_eq!(span(0x1001, 0x3fff).whole_pages(), Some(span(0x2000, 0x3000)));
        assert_eq!(span(0x1001, 0x2fff).whole_pages(), None);
    }

    #[test]
    fn page_rounding_saturates_at_the_top() {
        assert_eq!(page_ceil(u64::MAX), None);
        assert_eq!(page_ceil(u64::MAX - PAGE + 1), Some(u64::MAX - PAGE + 1));
        assert_eq!(PhysSpan::new(u64::MAX - 5, 3).unwrap().pages(), None);
    }
}

fn region_use() -> impl Strategy<Value = RegionUse> {
    prop_oneof![
        Just(RegionUse::Usable),
        Just(RegionUse::AcpiReclaimable),
        Just(RegionUse::Reserved)
    ]
}

/// Addresses near the interesting edges as well as anywhere.
fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..(1 << 33),
        (WINDOW_SPAN - (1 << 20))..(WINDOW_SPAN + (1 << 20)),
        (u64::MAX - (1 << 20))..=u64::MAX,
    ]
}

fn memory_map() -> impl Strategy<Value = Vec<(PhysSpan, RegionUse)>> {
    prop::collection::vec((0u64..(1 << 34), 0u64..(1 << 30), region_use()), 0..12)
        .prop_map(|v| v.into_iter().map(|(s, l, k)| (span(s, s + l), k)).collect())
}

proptest! {
    #[test]
    fn page_floor_and_ceil_bracket_the_address(a in addr()) {
        let lo = page_floor(a);
        prop_assert!(lo <= a && a - lo < PAGE && lo.is_multiple_of(PAGE));
        match page_ceil(a) {
            Some(hi) => prop_assert!(hi >= a && hi - a < PAGE && hi % PAGE == 0),
            None => prop_assert!(a > u64::MAX - PAGE + 1),
        }
    }

    #[test]
    fn whole_pages_lie_inside_and_lose_less_than_a_page_at_each_end(
        start in addr(),
        end in addr(),
    ) {
        let Some(span) = PhysSpan::from_bounds(start.min(end), start.max(end)) else {
            return Ok(());
        };
        match span.whole_pages() {
            Some(p) => {
                prop_assert!(span.contains(p) && !p.is_empty());
                prop_assert!(p.start() % PAGE == 0 && p.end() % PAGE == 0);
                prop_assert!(p.start() - span.start() < PAGE && span.end() - p.end() < PAGE);
            }
            // No aligned page fits: the span is short, or sits in the last partial page.
            None => prop_assert!(
                page_ceil(span.start())
                    .is_none_or(|s| s.checked_add(PAGE).is_none_or(|e| e > span.end()))
            ),
        }
    }

    #[test]
    fn span_new_never_wraps(start in addr(), len in addr()) {
        match PhysSpan::new(start, len) {
            Some(s) => prop_assert!(s.start() == start && s.len() == len && s.end() >= s.start()),
            None => prop_assert!(start.checked_add(len).is_none()),
        }
    }

    #[test]
    fn an_accepted_window_is_page_aligned_below_the_limit_and_clear_of_ram_and_image(
        paddr in addr(),
        len in prop_oneof![0u64..0x10_000, any::<u64>()],
        device in any::<bool>(),
        map in memory_map(),
        image_start in 0u64..(1 << 32),
        image_len in 1u64..(64 << 20),
        phys_bits in any::<u8>(),
    ) {
        let purpose = if device { WindowPurpose::Device } else { WindowPurpose::Firmware };
        let image = span(image_start, image_start + image_len);
        let reach = io_window_reach(phys_bits);
        let Ok(pages) = check_window(paddr, len, purpose, reach, image, map.iter().copied())
        else {
            return Ok(());
        };
        // Whatever was accepted covers the request, in whole pages, below the window limit:
        // the I/O window address IO_OFFSET + pages.end() stays in the I/O window's slots.
        prop_assert!(pages.start() <= paddr && paddr + len <= pages.end());
        prop_assert!(
            pages.start() % PAGE == 0
                && pages.end() % PAGE == 0
                && pages.end() - pages.start() < len + 2 * PAGE
        );
        prop_assert!(pages.end() <= reach && reach <= IO_WINDOW_SLOTS * WINDOW_SPAN);
        prop_assert!(!pages.overlaps(image));
        for (region, kind) in &map {
            match (purpose, kind) {
                (_, RegionUse::Reserved) => {}
                (WindowPurpose::Device, _) => {
                    prop_assert!(!pages.overlaps(*region), "{pages} vs {region}")
                }
                (WindowPurpose::Firmware, RegionUse::AcpiReclaimable) => {}
                (WindowPurpose::Firmware, RegionUse::Usable) => {
                    if region.end() > LEGACY_END {
                        let above = span(region.start().max(LEGACY_END), region.end());
                        prop_assert!(!pages.overlaps(above), "{pages} vs {above}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_refusal_is_explained_by_the_inputs(
        paddr in addr(),
        len in prop_oneof![0u64..0x10_000, any::<u64>()],
        map in memory_map(),
    ) {
        let image = span(0x10_0000, 0x40_0000);
        if let Err(e) =
            check_window(paddr, len, WindowPurpose::Device, REACH, image, map.iter().copied())
        {
            match e {
                WindowError::Wraps { .. } => prop_assert!(paddr.checked_add(len).is_none()),
                WindowError::Empty { .. } => prop_assert_eq!(len, 0),
                WindowError::BeyondWindow { range, reach } => {
                    prop_assert_eq!(reach, REACH);
                    prop_assert!(page_ceil(range.end()).is_none_or(|e| e > REACH))
                }
                WindowError::OverlapsKernel { .. } => {}
                WindowError::OverlapsRam { region, .. } => prop_assert!(
                    map.iter().any(|(r, k)| *r == region && *k != RegionUse::Reserved)
                ),
                WindowError::NoPageTables { .. } | WindowError::NotInUsableRam { .. } => {
                    prop_assert!(false, "check_window never reports {e:?}")
                }
            }
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn an_accepted_initrd_is_inside_one_usable_region_below_the_limit_and_off_the_image(
        paddr in addr(),
        len in prop_oneof![0u64..(1 << 28), any::<u64>()],
        map in memory_map(),
        image_start in 0u64..(1 << 32),
        image_len in 1u64..(64 << 20),
    ) {
        let image = span(image_start, image_start + image_len);
        if let Ok(range) = check_loaded(paddr, len, image, map.iter().copied()) {
            prop_assert_eq!((range.start(), range.len()), (paddr, len));
            prop_assert!(len > 0 && range.end() <= WINDOW_SPAN && !range.overlaps(image));
            prop_assert!(map.iter().any(|(r, k)| *k == RegionUse::Usable && r.contains(range)));
        }
    }

    #[test]
    fn access_stays_inside_the_window_and_is_aligned(
        base in addr(),
        len in 0usize..0x10_000,
        offset in prop_oneof![0usize..0x10_000, any::<usize>()],
        size in prop_oneof![Just(1usize), Just(2), Just(4), Just(8)],
    ) {
        if let Some(a) = access(base, len, offset, size) {
            prop_assert!(offset + size <= len);
            prop_assert_eq!(a, base + offset as u64);
            prop_assert_eq!(a % size as u64, 0);
        }
    }
}
