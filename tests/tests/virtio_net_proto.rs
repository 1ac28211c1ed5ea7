//! Host tests of the virtio-net wire protocol (`kernel/src/device/virtio/net_proto.rs`):
//! byte-literal fixtures, a test per rejection, and properties over arbitrary header and
//! config bytes. The file uses only `core`; this crate's `forbid(unsafe_code)` also proves it
//! holds no `unsafe`.
#![forbid(unsafe_code)]

#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
#[path = "../../kernel/src/device/virtio/net_proto.rs"]
mod net_proto;

use net_proto::{
    BUFFER_LEN, CONFIG_LEN, Features, HEADER_LEN, MAX_FRAME_LEN, MIN_FRAME_LEN, Mac, MacOrigin,
    MissingFeature, NetConfig, RxFrame, RxViolation, TX_HEADER, feature,
};
use proptest::prelude::*;

/// A received header: flags, gso_type, num_buffers; the offload fields zero.
fn header(flags: u8, gso_type: u8, num_buffers: u16) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = flags;
    h[1] = gso_type;
    h[10..12].copy_from_slice(&num_buffers.to_le_bytes());
    h
}

/// The header QEMU writes without a vnet-header peer (slirp): all zero.
const QEMU_HEADER: [u8; HEADER_LEN] = [0; HEADER_LEN];

fn features(bits: u64) -> Features {
    Features::negotiate(feature::VERSION_1 | bits, false).unwrap()
}

/// A config copy: mac, then status (le16).
fn config(mac: [u8; 6], status: u16) -> [u8; CONFIG_LEN] {
    let mut c = [0u8; CONFIG_LEN];
    c[..6].copy_from_slice(&mac);
    c[6..].copy_from_slice(&status.to_le_bytes());
    c
}

/// QEMU's default MAC for the first NIC.
const QEMU_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/// "Random" bytes for the generated address, with both low bits of the first byte set, so the
/// test sees them changed.
const RANDOM: [u8; 6] = [0xff, 0x11, 0x22, 0x33, 0x44, 0x55];

mod features {
    use super::*;

    #[test]
    fn the_driver_keeps_only_mac_status_version_1_and_access_platform() {
        // What QEMU 7.2's virtio-net-pci offers with -netdev user and iommu_platform=on:
        // MAC, STATUS, MRG_RXBUF, CTRL_VQ/RX/VLAN (17-19), GUEST_ANNOUNCE (21), CTRL_MAC_ADDR
        // (23), INDIRECT_DESC (28), EVENT_IDX (29), VERSION_1, ACCESS_PLATFORM.
        let offered = feature::MAC
            | feature::STATUS
            | feature::MRG_RXBUF
            | feature::CTRL_VQ
            | (1 << 18)
            | (1 << 19)
            | (1 << 21)
            | (1 << 23)
            | (1 << 28)
            | (1 << 29)
            | feature::VERSION_1
            | feature::ACCESS_PLATFORM;
        let f = Features::negotiate(offered, true).unwrap();
        let want = feature::MAC | feature::STATUS | feature::VERSION_1 | feature::ACCESS_PLATFORM;
        assert_eq!(f.bits(), want);
        assert!(f.has(feature::MAC) && f.has(feature::STATUS) && !f.has(feature::MRG_RXBUF));
    }

    #[test]
    fn no_offload_merge_or_control_queue_is_ever_taken() {
        let f = Features::negotiate(u64::MAX, true).unwrap();
        for never in [
            feature::CSUM,
            feature::GUEST_CSUM,
            feature::GUEST_TSO4,
            feature::MRG_RXBUF,
            feature::CTRL_VQ,
        ] {
            assert!(!f.has(never), "bit {} taken", never.trailing_zeros());
        }
    }

    #[test]
    fn the_bit_numbers_are_the_spec_s() {
        let bits = [
            feature::CSUM,
            feature::GUEST_CSUM,
            feature::MAC,
            feature::GUEST_TSO4,
            feature::MRG_RXBUF,
            feature::STATUS,
            feature::CTRL_VQ,
            feature::VERSION_1,
            feature::ACCESS_PLATFORM,
        ];
        assert_eq!(bits.map(u64::trailing_zeros), [0, 1, 5, 7, 15, 16, 17, 32, 33]);
    }

    #[test]
    fn a_legacy_only_device_is_refused() {
        let got = Features::negotiate(feature::MAC | feature::STATUS, false);
        assert_eq!(got, Err(MissingFeature { name: "VERSION_1", bit: 32 }));
    }

    #[test]
    fn access_platform_is_required_only_when_asked() {
        assert!(Features::negotiate(feature::VERSION_1, false).is_ok());
        let got = Features::negotiate(feature::VERSION_1, true);
        assert_eq!(got, Err(MissingFeature { name: "ACCESS_PLATFORM", bit: 33 }));
    }
}

mod frames {
    use super::*;

    #[test]
    fn the_sizes_are_the_spec_s() {
        assert_eq!((HEADER_LEN, MIN_FRAME_LEN, MAX_FRAME_LEN, BUFFER_LEN), (12, 14, 1514, 1526));
    }

    #[test]
    fn the_tx_header_is_twelve_zero_bytes() {
        assert_eq!(TX_HEADER, [0; 12]);
    }

    #[test]
    fn qemu_s_header_with_an_arp_reply_parses() {
        // slirp's ARP reply is 64 bytes (padded); QEMU leaves num_buffers unwritten (0).
        let frame = RxFrame::parse(&QEMU_HEADER, 12 + 64).unwrap();
        assert_eq!(frame.len(), 64);
        assert_eq!(frame.range(), 12..76);
    }

    #[test]
    fn num_buffers_1_is_accepted_as_the_spec_says() {
        assert_eq!(RxFrame::parse(&header(0, 0, 1), 12 + 60).unwrap().len(), 60);
    }

    #[test]
    fn the_offload_fields_are_ignored() {
        let mut h = QEMU_HEADER;
        h[2..10].copy_from_slice(&[0xff; 8]);
        assert_eq!(RxFrame::parse(&h, 12 + 100).unwrap().len(), 100);
    }

    #[test]
    fn the_shortest_and_longest_frames_are_accepted() {
        assert_eq!(RxFrame::parse(&QEMU_HEADER, 12 + 14).unwrap().range(), 12..26);
        assert_eq!(RxFrame::parse(&QEMU_HEADER, 1526).unwrap().range(), 12..1526);
    }

    #[test]
    fn fewer_bytes_than_the_header_are_rejected() {
        for written in [0, 1, 11] {
            let got = RxFrame::parse(&QEMU_HEADER, written);
            assert_eq!(got, Err(RxViolation::ShortHeader { written }));
        }
    }

    #[test]
    fn any_flag_is_rejected() {
        // NEEDS_CSUM, DATA_VALID, RSC_INFO, and a bit no spec names.
        for flags in [1, 2, 4, 0x80] {
            let got = RxFrame::parse(&header(flags, 0, 1), 12 + 60);
            assert_eq!(got, Err(RxViolation::Flags(flags)));
        }
    }

    #[test]
    fn a_gso_type_other_than_none_is_rejected() {
        // TCPV4, UDP, TCPV6, UDP_L4, ECN with TCPV4.
        for gso in [1, 3, 4, 5, 0x81] {
            let got = RxFrame::parse(&header(0, gso, 1), 12 + 60);
            assert_eq!(got, Err(RxViolation::GsoType(gso)));
        }
    }

    #[test]
    fn num_buffers_above_1_is_rejected() {
        for n in [2, 0x100, u16::MAX] {
            let got = RxFrame::parse(&header(0, 0, n), 12 + 60);
            assert_eq!(got, Err(RxViolation::NumBuffers(n)));
        }
    }

    #[test]
    fn a_frame_shorter_than_an_ethernet_header_is_rejected() {
        for len in [0, 1, 13] {
            let got = RxFrame::parse(&QEMU_HEADER, 12 + len);
            assert_eq!(got, Err(RxViolation::FrameLength { len }));
        }
    }

    #[test]
    fn a_frame_longer_than_1514_bytes_is_rejected() {
        for written in [1527, 65536, u32::MAX] {
            let got = RxFrame::parse(&QEMU_HEADER, written);
            assert_eq!(got, Err(RxViolation::FrameLength { len: written - 12 }));
        }
    }

    #[test]
    fn violations_are_checked_in_the_order_documented() {
        // Everything wrong at once: the length of the header comes first, then flags.
        let bad = header(1, 1, 9);
        assert_eq!(RxFrame::parse(&bad, 5), Err(RxViolation::ShortHeader { written: 5 }));
        assert_eq!(RxFrame::parse(&bad, 3000), Err(RxViolation::Flags(1)));
        assert_eq!(RxFrame::parse(&header(0, 1, 9), 3000), Err(RxViolation::GsoType(1)));
        assert_eq!(RxFrame::parse(&header(0, 0, 9), 3000), Err(RxViolation::NumBuffers(9)));
    }

    #[test]
    fn each_violation_names_the_field_and_value() {
        let say = |v: RxViolation| v.to_string();
        assert!(say(RxViolation::ShortHeader { written: 3 }).contains("3 bytes"));
        assert!(say(RxViolation::Flags(2)).contains("flags 0x2"));
        assert!(say(RxViolation::GsoType(4)).contains("gso_type 4"));
        assert!(say(RxViolation::NumBuffers(7)).contains("num_buffers 7"));
        assert!(say(RxViolation::FrameLength { len: 2 }).contains("2-byte frame"));
    }
}

mod config {
    use super::*;

    #[test]
    fn the_device_mac_is_used_when_agreed_unicast_and_non_zero() {
        let c = NetConfig::parse(&config(QEMU_MAC, 1), features(feature::MAC), RANDOM);
        assert_eq!(c.mac(), Mac(QEMU_MAC));
        assert_eq!(c.mac_origin(), MacOrigin::Device);
    }

    #[test]
    fn without_the_mac_feature_a_generated_address_is_used() {
        let c = NetConfig::parse(&config(QEMU_MAC, 1), features(0), RANDOM);
        assert_eq!(c.mac(), Mac([0xfe, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(c.mac_origin(), MacOrigin::NotOffered);
    }

    #[test]
    fn a_group_device_mac_is_replaced() {
        let broadcast = [0xff; 6];
        let c = NetConfig::parse(&config(broadcast, 1), features(feature::MAC), RANDOM);
        assert_eq!(c.mac(), Mac::locally_administered(RANDOM));
        assert_eq!(c.mac_origin(), MacOrigin::DeviceMulticast);
        let ipv4_multicast = [0x01, 0x00, 0x5e, 0, 0, 1];
        let c = NetConfig::parse(&config(ipv4_multicast, 1), features(feature::MAC), RANDOM);
        assert_eq!(c.mac_origin(), MacOrigin::DeviceMulticast);
    }

    #[test]
    fn a_zero_device_mac_is_replaced() {
        let c = NetConfig::parse(&config([0; 6], 1), features(feature::MAC), RANDOM);
        assert_eq!(c.mac(), Mac::locally_administered(RANDOM));
        assert_eq!(c.mac_origin(), MacOrigin::DeviceZero);
    }

    #[test]
    fn a_generated_address_is_unicast_and_locally_administered_whatever_the_bytes() {
        assert_eq!(Mac::locally_administered([0; 6]), Mac([2, 0, 0, 0, 0, 0]));
        assert_eq!(Mac::locally_administered([0xff; 6]), Mac([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff]));
        assert_eq!(Mac::locally_administered([0x53, 1, 2, 3, 4, 5]).0[0], 0x52);
    }

    #[test]
    fn the_link_follows_bit_0_of_status_when_status_was_agreed() {
        let f = features(feature::MAC | feature::STATUS);
        assert!(NetConfig::parse(&config(QEMU_MAC, 1), f, RANDOM).link_up());
        assert!(!NetConfig::parse(&config(QEMU_MAC, 0), f, RANDOM).link_up());
        assert!(net_proto::link_up([1, 0], f));
        assert!(!net_proto::link_up([0, 1], f), "status is little-endian");
    }

    #[test]
    fn without_status_the_link_is_assumed_up() {
        assert!(NetConfig::parse(&config(QEMU_MAC, 0), features(feature::MAC), RANDOM).link_up());
        assert!(net_proto::link_up([0, 0], features(0)));
    }

    #[test]
    fn status_bits_other_than_link_up_are_ignored() {
        let f = features(feature::STATUS);
        assert!(!net_proto::link_up(0xfffe_u16.to_le_bytes(), f));
        assert!(net_proto::link_up(0x0003_u16.to_le_bytes(), f), "LINK_UP | ANNOUNCE");
    }

    #[test]
    fn a_mac_displays_as_colon_separated_hex() {
        assert_eq!(Mac(QEMU_MAC).to_string(), "52:54:00:12:34:56");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Whatever header and length the device gives, parsing never panics, and accepts exactly
    /// the buffers the rules allow; an accepted frame lies inside the buffer, after the header.
    #[test]
    fn any_header_and_length_give_a_frame_inside_the_buffer_or_a_named_violation(
        raw in prop_oneof![
            Just(QEMU_HEADER),
            (0u8..3, 0u8..3, 0u16..3).prop_map(|(f, g, n)| header(f, g, n)),
            any::<[u8; HEADER_LEN]>(),
        ],
        written in prop_oneof![0u32..1600, any::<u32>()],
    ) {
        let num_buffers = u16::from_le_bytes([raw[10], raw[11]]);
        let valid = written as usize >= HEADER_LEN
            && raw[0] == 0
            && raw[1] == 0
            && num_buffers <= 1
            && (MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&(written as usize - HEADER_LEN));
        match RxFrame::parse(&raw, written) {
            Ok(frame) => {
                prop_assert!(valid);
                prop_assert_eq!(frame.range().start, HEADER_LEN);
                prop_assert_eq!(frame.range().end as u64, u64::from(written));
                prop_assert!(frame.range().end <= BUFFER_LEN);
                prop_assert_eq!(frame.len(), frame.range().len());
            }
            Err(_) => prop_assert!(!valid),
        }
    }

    /// Whatever config bytes and features the device gives, the MAC in use is unicast and
    /// non-zero, it is the device's exactly when MAC was agreed and the device's is usable,
    /// and the link state is the status bit (or up without STATUS).
    #[test]
    fn any_config_gives_a_unicast_non_zero_mac_and_the_status_link(
        raw in any::<[u8; CONFIG_LEN]>(),
        offered in any::<u64>(),
        random in any::<[u8; 6]>(),
    ) {
        let Ok(f) = Features::negotiate(offered, false) else { return Ok(()) };
        let c = NetConfig::parse(&raw, f, random);
        prop_assert!(c.mac().is_unicast() && !c.mac().is_zero());
        let device = Mac([raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]]);
        let usable = f.has(feature::MAC) && device.is_unicast() && !device.is_zero();
        prop_assert_eq!(c.mac_origin() == MacOrigin::Device, usable);
        prop_assert_eq!(c.mac(), if usable { device } else { Mac::locally_administered(random) });
        let up = !f.has(feature::STATUS) || raw[6] & 1 == 1;
        prop_assert_eq!(c.link_up(), up);
    }
}
