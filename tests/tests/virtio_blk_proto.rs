//! Host tests of the virtio-blk wire protocol (`kernel/src/device/virtio/blk_proto.rs`):
//! byte-literal fixtures for each encoding, a test per rejection, and properties over
//! arbitrary device bytes. The file uses only `core`; this crate's `forbid(unsafe_code)`
//! also proves it holds no `unsafe`.
#![forbid(unsafe_code)]

#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
#[path = "../../kernel/src/device/virtio/blk_proto.rs"]
mod blk_proto;

use blk_proto::{
    BlkConfig, CONFIG_LEN, Features, MAX_CAPACITY, MissingFeature, RangeError, RequestHeader,
    RequestType, SEG_MAX_CAP, SIZE_MAX_CAP, SectorRange, Status, Violation, feature,
};
use proptest::prelude::*;

/// A config space copy: capacity, size_max, seg_max, geometry (ignored), blk_size.
fn config(capacity: u64, size_max: u32, seg_max: u32, blk_size: u32) -> [u8; CONFIG_LEN] {
    let mut c = [0u8; CONFIG_LEN];
    c[0..8].copy_from_slice(&capacity.to_le_bytes());
    c[8..12].copy_from_slice(&size_max.to_le_bytes());
    c[12..16].copy_from_slice(&seg_max.to_le_bytes());
    c[16..20].copy_from_slice(&[0xff; 4]);
    c[20..24].copy_from_slice(&blk_size.to_le_bytes());
    c
}

fn all_features() -> Features {
    Features::negotiate(u64::MAX, true).unwrap()
}

fn disk(capacity: u64, blk_size: u32) -> BlkConfig {
    BlkConfig::parse(&config(capacity, 65536, 126, blk_size), all_features()).unwrap()
}

fn violation(field: &'static str, value: u64) -> Violation {
    Violation { field, value }
}

mod features {
    use super::*;

    #[test]
    fn the_driver_keeps_only_the_bits_it_understands() {
        // What QEMU's virtio-blk-pci offers with iommu_platform=on, plus bits we ignore.
        let offered = feature::VERSION_1
            | feature::ACCESS_PLATFORM
            | feature::SEG_MAX
            | feature::BLK_SIZE
            | feature::FLUSH
            | (1 << 4) // GEOMETRY
            | (1 << 10) // TOPOLOGY
            | (1 << 28); // EVENT_IDX
        let f = Features::negotiate(offered, true).unwrap();
        let want = feature::VERSION_1
            | feature::ACCESS_PLATFORM
            | feature::SEG_MAX
            | feature::BLK_SIZE
            | feature::FLUSH;
        assert_eq!(f.bits(), want);
        assert!(f.has(feature::FLUSH) && !f.has(feature::RO) && !f.has(feature::SIZE_MAX));
    }

    #[test]
    fn the_bit_numbers_are_the_spec_s() {
        let bits = [
            feature::SIZE_MAX,
            feature::SEG_MAX,
            feature::RO,
            feature::BLK_SIZE,
            feature::FLUSH,
            feature::VERSION_1,
            feature::ACCESS_PLATFORM,
        ];
        assert_eq!(bits.map(u64::trailing_zeros), [1, 2, 5, 6, 9, 32, 33]);
    }

    #[test]
    fn a_legacy_only_device_is_refused() {
        let got = Features::negotiate(feature::FLUSH, false);
        assert_eq!(got, Err(MissingFeature { name: "VERSION_1", bit: 32 }));
    }

    #[test]
    fn access_platform_is_required_only_when_asked() {
        assert!(Features::negotiate(feature::VERSION_1, false).is_ok());
        let got = Features::negotiate(feature::VERSION_1, true);
        assert_eq!(got, Err(MissingFeature { name: "ACCESS_PLATFORM", bit: 33 }));
    }
}

mod config {
    use super::*;

    #[test]
    fn a_qemu_config_parses() {
        // 64 MiB disk, seg_max 126, blk_size 512 (QEMU's defaults).
        let raw = [
            0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, // capacity 131072
            0x00, 0x00, 0x00, 0x00, // size_max 0 (not offered)
            0x7e, 0x00, 0x00, 0x00, // seg_max 126
            0x00, 0x04, 0x10, 0x20, // geometry
            0x00, 0x02, 0x00, 0x00, // blk_size 512
            0x00, 0x00, 0x00, 0x00, // topology, ignored
        ];
        let f = feature::VERSION_1 | feature::SEG_MAX | feature::BLK_SIZE | feature::FLUSH;
        let c = BlkConfig::parse(&raw, Features::negotiate(f, false).unwrap()).unwrap();
        assert_eq!(c.capacity(), 131072);
        assert_eq!((c.block_size(), c.seg_max(), c.size_max()), (512, 126, SIZE_MAX_CAP));
        assert!(c.flush() && !c.read_only());
    }

    #[test]
    fn fields_without_their_feature_are_ignored_and_take_defaults() {
        let raw = config(8, 0, 0, 3);
        let c = BlkConfig::parse(&raw, Features::negotiate(feature::VERSION_1, false).unwrap());
        let c = c.unwrap();
        assert_eq!((c.block_size(), c.seg_max(), c.size_max()), (512, 1, SIZE_MAX_CAP));
        assert!(!c.flush() && !c.read_only());
    }

    #[test]
    fn read_only_comes_from_the_feature() {
        let f = Features::negotiate(feature::VERSION_1 | feature::RO, false).unwrap();
        assert!(BlkConfig::parse(&config(8, 0, 0, 0), f).unwrap().read_only());
    }

    #[test]
    fn large_seg_max_and_size_max_are_capped() {
        let c = BlkConfig::parse(&config(8, u32::MAX, u32::MAX, 4096), all_features()).unwrap();
        assert_eq!((c.seg_max(), c.size_max()), (SEG_MAX_CAP, SIZE_MAX_CAP));
    }

    #[test]
    fn a_short_copy_is_rejected() {
        let got = BlkConfig::parse(&[0; CONFIG_LEN - 1], all_features());
        assert_eq!(got, Err(violation("config length", 23)));
    }

    #[test]
    fn a_capacity_that_overflows_in_bytes_is_rejected() {
        assert!(BlkConfig::parse(&config(MAX_CAPACITY, 4096, 1, 512), all_features()).is_ok());
        let got = BlkConfig::parse(&config(MAX_CAPACITY + 1, 4096, 1, 512), all_features());
        assert_eq!(got, Err(violation("capacity", MAX_CAPACITY + 1)));
    }

    #[test]
    fn a_block_size_that_is_not_a_power_of_two_in_512_to_4096_is_rejected() {
        for bad in [0, 256, 511, 513, 1536, 8192, u32::MAX] {
            let got = BlkConfig::parse(&config(8, 65536, 1, bad), all_features());
            assert_eq!(got, Err(violation("blk_size", bad.into())), "blk_size {bad}");
        }
        for good in [512, 1024, 2048, 4096] {
            assert_eq!(disk(8, good).block_size(), good);
        }
    }

    #[test]
    fn a_zero_seg_max_is_rejected() {
        let got = BlkConfig::parse(&config(8, 65536, 0, 512), all_features());
        assert_eq!(got, Err(violation("seg_max", 0)));
    }

    #[test]
    fn a_size_max_below_the_block_size_is_rejected() {
        let got = BlkConfig::parse(&config(8, 2048, 1, 4096), all_features());
        assert_eq!(got, Err(violation("size_max", 2048)));
    }
}

mod sector_range {
    use super::*;

    #[test]
    fn a_range_inside_the_disk_is_accepted() {
        let r = SectorRange::new(6, 2, &disk(8, 512)).unwrap();
        assert_eq!((r.start(), r.count(), r.end(), r.bytes()), (6, 2, 8, 1024));
    }

    #[test]
    fn an_empty_range_is_rejected() {
        assert_eq!(SectorRange::new(0, 0, &disk(8, 512)), Err(RangeError::Empty));
    }

    #[test]
    fn a_range_past_the_end_is_rejected() {
        let got = SectorRange::new(7, 2, &disk(8, 512));
        assert_eq!(got, Err(RangeError::PastEnd { start: 7, count: 2, capacity: 8 }));
    }

    #[test]
    fn a_range_whose_end_overflows_is_rejected() {
        let got = SectorRange::new(u64::MAX, 2, &disk(MAX_CAPACITY, 512));
        let capacity = MAX_CAPACITY;
        assert_eq!(got, Err(RangeError::PastEnd { start: u64::MAX, count: 2, capacity }));
    }

    #[test]
    fn a_range_off_the_block_grid_is_rejected() {
        let d = disk(64, 4096);
        assert!(SectorRange::new(8, 16, &d).is_ok());
        let got = SectorRange::new(4, 8, &d);
        assert_eq!(got, Err(RangeError::Unaligned { start: 4, count: 8, block_sectors: 8 }));
        assert!(SectorRange::new(8, 4, &d).is_err());
    }
}

mod requests {
    use super::*;

    #[test]
    fn a_read_header_is_type_0_and_the_start_sector() {
        let r = SectorRange::new(0x0102_0304, 8, &disk(1 << 40, 512)).unwrap();
        assert_eq!(
            RequestHeader::read(&r).encode(),
            [0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0]
        );
    }

    #[test]
    fn a_write_header_is_type_1() {
        let r = SectorRange::new(0x1_0000_0000, 1, &disk(1 << 40, 512)).unwrap();
        let h = RequestHeader::write(&r);
        assert_eq!((h.kind(), h.sector()), (RequestType::Out, 1 << 32));
        assert_eq!(h.encode(), [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn flush_and_get_id_headers_are_types_4_and_8_at_sector_0() {
        assert_eq!(
            RequestHeader::flush().encode(),
            [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            RequestHeader::get_id().encode(),
            [8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(blk_proto::GET_ID_LEN, 20);
    }

    #[test]
    fn status_bytes_0_1_2_decode_and_every_other_is_a_violation() {
        assert_eq!(Status::decode(0), Ok(Status::Ok));
        assert_eq!(Status::decode(1), Ok(Status::IoErr));
        assert_eq!(Status::decode(2), Ok(Status::Unsupported));
        for b in 3..=u8::MAX {
            assert_eq!(Status::decode(b), Err(violation("status", b.into())));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Whatever bytes and features the device gives, parsing never panics, and a config it
    /// accepts keeps every value in its range.
    #[test]
    fn any_config_bytes_parse_to_a_config_in_range_or_a_named_violation(
        raw in prop::collection::vec(any::<u8>(), 0..40),
        offered in any::<u64>(),
        tweak in prop_oneof![Just(None), (512u32..=4096).prop_map(Some)],
    ) {
        let mut raw = raw;
        if let (Some(bs), true) = (tweak, raw.len() >= CONFIG_LEN) {
            raw[20..24].copy_from_slice(&bs.to_le_bytes());
        }
        let Ok(f) = Features::negotiate(offered, false) else { return Ok(()) };
        match BlkConfig::parse(&raw, f) {
            Ok(c) => {
                prop_assert!(c.capacity() <= MAX_CAPACITY);
                prop_assert!(c.block_size().is_power_of_two());
                prop_assert!((512..=4096).contains(&c.block_size()));
                prop_assert!((1..=SEG_MAX_CAP).contains(&c.seg_max()));
                prop_assert!((c.block_size()..=SIZE_MAX_CAP).contains(&c.size_max()));
            }
            Err(v) => prop_assert!(
                ["config length", "capacity", "blk_size", "seg_max", "size_max"]
                    .contains(&v.field)
            ),
        }
    }

    /// A range is made exactly when it is non-empty, on the block grid and inside the disk,
    /// and then its end and byte length are exact (no overflow).
    #[test]
    fn a_sector_range_is_made_only_inside_the_disk(
        capacity in prop_oneof![0..1u64 << 20, 0..=MAX_CAPACITY],
        start in prop_oneof![0..1u64 << 20, any::<u64>()],
        count in prop_oneof![0..1u64 << 10, any::<u64>()],
        blk_shift in 0u32..=3,
    ) {
        let d = disk(capacity, 512 << blk_shift);
        let grid = 1u64 << blk_shift;
        let fits = count > 0
            && u128::from(start) + u128::from(count) <= u128::from(capacity)
            && start % grid == 0
            && count % grid == 0;
        match SectorRange::new(start, count, &d) {
            Ok(r) => {
                prop_assert!(fits);
                prop_assert_eq!(u128::from(r.end()), u128::from(start) + u128::from(count));
                prop_assert_eq!(u128::from(r.bytes()), u128::from(count) * 512);
            }
            Err(_) => prop_assert!(!fits),
        }
    }
}
