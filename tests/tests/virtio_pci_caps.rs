//! Host tests for virtio's PCI vendor capabilities (`ostd/src/bus/virtio/pci_caps.rs`):
//! QEMU's layout parses, and every region a device can lie about is checked against its BAR.
#![forbid(unsafe_code)]

#[path = "../../ostd/src/bus/virtio/spec.rs"]
#[allow(dead_code, reason = "the transport uses the rest of the constants")]
mod spec;

#[path = "../../ostd/src/bus/virtio/pci_caps.rs"]
mod pci_caps;

use pci_caps::{Region, VirtioCapError, VirtioRegions};
use proptest::prelude::*;
use spec::cfg_type::{COMMON, DEVICE, ISR, NOTIFY, PCI};

/// A `virtio_pci_cap` (20 bytes with a multiplier for notify, 16 otherwise).
fn cap(cfg_type: u8, bar: u8, offset: u32, length: u32, multiplier: Option<u32>) -> Vec<u8> {
    let mut bytes = vec![0x09, 0, 0, cfg_type, bar, 0, 0, 0];
    bytes.extend(offset.to_le_bytes());
    bytes.extend(length.to_le_bytes());
    if let Some(m) = multiplier {
        bytes.extend(m.to_le_bytes());
    }
    bytes[2] = bytes.len() as u8;
    bytes
}

/// QEMU 7.2's virtio-blk-pci: all four structures in a 16 KiB BAR 4, one page each.
fn qemu_caps() -> Vec<Vec<u8>> {
    vec![
        cap(COMMON, 4, 0x0000, 0x1000, None),
        cap(ISR, 4, 0x1000, 0x1000, None),
        cap(DEVICE, 4, 0x2000, 0x1000, None),
        cap(NOTIFY, 4, 0x3000, 0x1000, Some(4)),
        cap(PCI, 0, 0, 0, None),
    ]
}

const BARS: [Option<u64>; 6] = [None, Some(0x1000), None, None, Some(0x4000), None];

fn parse(caps: &[Vec<u8>], bars: &[Option<u64>; 6]) -> Result<VirtioRegions, VirtioCapError> {
    VirtioRegions::parse(
        caps.iter().enumerate().map(|(i, c)| (0x40 + 0x14 * i as u8, &c[..])),
        bars,
    )
}

#[test]
fn qemus_layout_parses_into_four_regions() {
    let regions = parse(&qemu_caps(), &BARS).unwrap();
    assert_eq!(regions.common, Region { bar: 4, offset: 0, length: 0x1000 });
    assert_eq!(regions.isr, Region { bar: 4, offset: 0x1000, length: 0x1000 });
    assert_eq!(regions.device, Some(Region { bar: 4, offset: 0x2000, length: 0x1000 }));
    assert_eq!(regions.notify, Region { bar: 4, offset: 0x3000, length: 0x1000 });
    assert_eq!(regions.notify_off_multiplier, 4);
    assert_eq!(regions.notify_offset(3), Ok(12));
}

#[test]
fn the_first_capability_of_a_type_wins() {
    let mut caps = qemu_caps();
    caps.push(cap(COMMON, 4, 0x3f00, 0x100, None));
    assert_eq!(parse(&caps, &BARS).unwrap().common.offset, 0);
}

#[test]
fn a_reserved_bar_or_unknown_type_is_ignored() {
    let mut caps = vec![cap(COMMON, 6, 0, 0x1000, None), cap(9, 4, 0, 0xffff_ffff, None)];
    caps.extend(qemu_caps());
    assert!(parse(&caps, &BARS).is_ok());
}

#[test]
fn a_region_past_its_bar_is_rejected() {
    let mut caps = qemu_caps();
    caps[2] = cap(DEVICE, 4, 0x3fff, 2, None);
    assert!(matches!(
        parse(&caps, &BARS),
        Err(VirtioCapError::OutsideBar { cfg_type: DEVICE, bar_len: 0x4000, .. })
    ));
}

#[test]
fn offset_plus_length_that_would_wrap_a_u32_is_rejected() {
    let mut caps = qemu_caps();
    caps[0] = cap(COMMON, 4, 0xffff_ff00, 0x1000, None);
    assert!(matches!(parse(&caps, &BARS), Err(VirtioCapError::OutsideBar { .. })));
}

#[test]
fn a_region_in_an_unusable_bar_is_rejected() {
    let mut caps = qemu_caps();
    caps[1] = cap(ISR, 2, 0, 1, None);
    assert_eq!(parse(&caps, &BARS), Err(VirtioCapError::NoSuchBar { cfg_type: ISR, bar: 2 }));
}

#[test]
fn a_missing_common_configuration_means_legacy_only() {
    let caps = qemu_caps()[1..].to_vec();
    assert_eq!(parse(&caps, &BARS), Err(VirtioCapError::Missing { cfg_type: COMMON }));
}

#[test]
fn a_short_common_configuration_is_rejected() {
    let mut caps = qemu_caps();
    caps[0] = cap(COMMON, 4, 0, 0x30, None);
    assert_eq!(
        parse(&caps, &BARS),
        Err(VirtioCapError::TooShort { cfg_type: COMMON, length: 0x30, need: 0x38 })
    );
}

#[test]
fn a_notify_capability_without_its_multiplier_is_truncated() {
    let mut caps = qemu_caps();
    caps[3] = cap(NOTIFY, 4, 0x3000, 0x1000, None);
    assert!(matches!(parse(&caps, &BARS), Err(VirtioCapError::Truncated { cap_len: 16, .. })));
}

#[test]
fn odd_or_non_power_of_two_multipliers_are_rejected() {
    for m in [1, 3, 6, 0x8000_0001] {
        let mut caps = qemu_caps();
        caps[3] = cap(NOTIFY, 4, 0x3000, 0x1000, Some(m));
        assert_eq!(parse(&caps, &BARS), Err(VirtioCapError::BadMultiplier(m)), "{m}");
    }
}

#[test]
fn a_misaligned_structure_is_rejected() {
    let mut caps = qemu_caps();
    caps[2] = cap(DEVICE, 4, 0x2001, 0x10, None);
    assert_eq!(
        parse(&caps, &BARS),
        Err(VirtioCapError::Misaligned { cfg_type: DEVICE, offset: 0x2001 })
    );
}

#[test]
fn a_capability_shorter_than_its_structure_is_truncated() {
    let mut caps = qemu_caps();
    caps[0].truncate(12);
    assert!(matches!(parse(&caps, &BARS), Err(VirtioCapError::Truncated { cap_len: 12, .. })));
}

#[test]
fn a_queue_notify_off_past_the_region_is_rejected_at_setup() {
    let regions = parse(&qemu_caps(), &BARS).unwrap();
    assert_eq!(regions.notify_offset(1023), Ok(4092));
    assert_eq!(
        regions.notify_offset(1024),
        Err(VirtioCapError::NotifyOutside {
            queue_notify_off: 1024,
            multiplier: 4,
            length: 0x1000
        })
    );
    assert!(regions.notify_offset(u16::MAX).is_err());
}

proptest! {
    /// Whatever the device puts in its capabilities, every region returned lies inside its
    /// BAR, and every notify offset returned leaves room for the 2-byte write.
    #[test]
    fn returned_regions_always_lie_inside_their_bars(
        raw in proptest::collection::vec(
            (1u8..=5, 0u8..8, any::<u32>(), any::<u32>(), any::<u32>()), 0..8),
        bars in proptest::array::uniform6(proptest::option::of(0u32..=24)),
        notify_offs in proptest::collection::vec(any::<u16>(), 4),
    ) {
        let bars = bars.map(|b| b.map(|s| 1u64 << s));
        let caps: Vec<Vec<u8>> = raw
            .iter()
            .map(|&(t, bar, off, len, m)| cap(t, bar, off, len, (t == NOTIFY).then_some(m)))
            .collect();
        if let Ok(r) = parse(&caps, &bars) {
            let regions = [Some(r.common), Some(r.notify), Some(r.isr), r.device];
            for region in regions.into_iter().flatten() {
                let bar_len = bars[usize::from(region.bar)].unwrap();
                prop_assert!(region.offset + region.length <= bar_len);
            }
            for off in notify_offs {
                if let Ok(at) = r.notify_offset(off) {
                    prop_assert!(at + 2 <= r.notify.length);
                }
            }
        }
    }
}
