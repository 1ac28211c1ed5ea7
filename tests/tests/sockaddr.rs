//! Host tests of socket addresses (`kernel/src/net/addr.rs`): byte-literal `sockaddr_un`,
//! `sockaddr_in` and `sockaddr_in6` fixtures, a test per rejection with the errno Linux gives
//! for it, v4-mapped IPv6 addresses, and round trips over arbitrary addresses. The file uses
//! only `core` and `alloc`; this crate's `forbid(unsafe_code)` also proves it holds no
//! `unsafe`.
#![forbid(unsafe_code)]

extern crate alloc;

#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
#[path = "../../kernel/src/net/addr.rs"]
mod addr;

use addr::{
    AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, AF_UNSPEC, AddrError, Family, SOCKADDR_IN_LEN,
    SOCKADDR_IN6_LEN, SOCKADDR_UN_LEN, SockAddr, UnixAddr, family_field, v4_mapped, v4_unmapped,
};
use proptest::prelude::*;

/// A `sockaddr_un` of `len` bytes: the family, then `name`, then zeros.
fn sockaddr_un(name: &[u8], len: usize) -> Vec<u8> {
    let mut raw = vec![1, 0];
    raw.extend_from_slice(name);
    raw.resize(len, 0);
    raw
}

/// 127.0.0.1 port 8080 as a `sockaddr_in`.
const LOOPBACK_8080: [u8; 16] = [2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];

/// fe80::1 port 443, flow label 0x12345, scope 3, as a `sockaddr_in6`.
const LINK_LOCAL_443: [u8; 28] = [
    10, 0, 0x01, 0xbb, // family, port
    0, 0x01, 0x23, 0x45, // flowinfo (big-endian)
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // address
    3, 0, 0, 0, // scope id (native-endian)
];

fn link_local_443() -> SockAddr {
    let mut addr = [0u8; 16];
    addr[0] = 0xfe;
    addr[1] = 0x80;
    addr[15] = 1;
    SockAddr::V6 { addr, port: 443, flowinfo: 0x12345, scope_id: 3 }
}

mod families {
    use super::*;

    #[test]
    fn the_numbers_are_linux_s() {
        assert_eq!((AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK), (0, 1, 2, 10, 16));
        for family in [Family::Unix, Family::Inet, Family::Inet6, Family::Netlink] {
            assert_eq!(Family::from_raw(family.raw()), Some(family));
        }
    }

    #[test]
    fn families_without_a_layout_are_unknown() {
        for raw in [AF_UNSPEC, 3, 9, 17, 0xffff] {
            assert_eq!(Family::from_raw(raw), None, "family {raw}");
        }
    }

    #[test]
    fn a_netlink_address_is_port_and_groups_and_needs_twelve_bytes() {
        let mut raw = Vec::from(AF_NETLINK.to_ne_bytes());
        raw.extend_from_slice(&[0, 0]);
        raw.extend_from_slice(&1234u32.to_ne_bytes());
        raw.extend_from_slice(&5u32.to_ne_bytes());
        let addr = SockAddr::parse(Family::Netlink, &raw).unwrap();
        assert_eq!(addr, SockAddr::Netlink { pid: 1234, groups: 5 });
        assert_eq!(addr.to_bytes(), raw);
        assert_eq!(
            SockAddr::parse(Family::Netlink, &raw[..8]),
            Err(AddrError::Length { family: Family::Netlink, len: 8 })
        );
    }

    #[test]
    fn the_family_field_needs_two_bytes() {
        assert_eq!(family_field(&[]), None);
        assert_eq!(family_field(&[2]), None);
        assert_eq!(family_field(&[0, 0, 9]), Some(AF_UNSPEC));
        assert_eq!(family_field(&LOOPBACK_8080), Some(AF_INET));
    }
}

mod unix {
    use super::*;

    fn parse(raw: &[u8]) -> Result<SockAddr, AddrError> {
        SockAddr::parse(Family::Unix, raw)
    }

    #[test]
    fn a_path_runs_to_the_first_nul() {
        let raw = sockaddr_un(b"/tmp/s\0junk", SOCKADDR_UN_LEN);
        assert_eq!(parse(&raw), Ok(SockAddr::Unix(UnixAddr::Path("/tmp/s".into()))));
    }

    #[test]
    fn a_path_without_a_nul_runs_to_the_end() {
        let path = "p".repeat(108);
        let raw = sockaddr_un(path.as_bytes(), SOCKADDR_UN_LEN);
        assert_eq!(parse(&raw), Ok(SockAddr::Unix(UnixAddr::Path(path))));
    }

    #[test]
    fn a_path_is_written_back_with_its_nul() {
        let addr = SockAddr::Unix(UnixAddr::Path("/tmp/s".into()));
        assert_eq!(addr.to_bytes(), b"\x01\x00/tmp/s\x00");
    }

    #[test]
    fn an_abstract_name_keeps_every_byte_after_the_leading_nul() {
        let raw = sockaddr_un(b"\0ab\0c", 7);
        let addr = parse(&raw).unwrap();
        assert_eq!(addr, SockAddr::Unix(UnixAddr::Abstract(b"ab\0c".to_vec())));
        assert_eq!(addr.to_bytes(), raw);
    }

    #[test]
    fn the_bare_family_is_unnamed_and_is_written_back_bare() {
        let addr = parse(&[1, 0]).unwrap();
        assert_eq!(addr, SockAddr::Unix(UnixAddr::Unnamed));
        assert_eq!(addr.to_bytes(), [1, 0]);
    }

    #[test]
    fn lengths_outside_2_to_110_are_einval_before_the_copy() {
        for len in [0, 1, 111, 128, usize::MAX] {
            let want = Err(AddrError::Length { family: Family::Unix, len });
            assert_eq!(SockAddr::check_len(Family::Unix, len), want, "len {len}");
        }
        for len in [2, 3, 110] {
            assert_eq!(SockAddr::check_len(Family::Unix, len), Ok(()), "len {len}");
        }
        assert_eq!(parse(&[1]), Err(AddrError::Length { family: Family::Unix, len: 1 }));
        let long = sockaddr_un(b"/x", SOCKADDR_UN_LEN + 1);
        assert_eq!(parse(&long), Err(AddrError::Length { family: Family::Unix, len: 111 }));
    }

    #[test]
    fn another_family_is_refused() {
        assert_eq!(
            parse(&LOOPBACK_8080),
            Err(AddrError::WrongFamily { socket: Family::Unix, got: AF_INET })
        );
        assert_eq!(
            parse(&[0, 0, b'/', b'x']),
            Err(AddrError::WrongFamily { socket: Family::Unix, got: AF_UNSPEC })
        );
    }

    #[test]
    fn a_path_that_is_not_utf8_is_refused() {
        assert_eq!(parse(&sockaddr_un(b"/tmp/\xff", 8)), Err(AddrError::PathNotUtf8));
    }
}

mod v4 {
    use super::*;

    fn parse(raw: &[u8]) -> Result<SockAddr, AddrError> {
        SockAddr::parse(Family::Inet, raw)
    }

    #[test]
    fn port_and_address_are_big_endian() {
        assert_eq!(parse(&LOOPBACK_8080), Ok(SockAddr::V4 { addr: [127, 0, 0, 1], port: 8080 }));
    }

    #[test]
    fn it_is_written_back_as_16_bytes_with_zero_padding() {
        let addr = SockAddr::V4 { addr: [127, 0, 0, 1], port: 8080 };
        assert_eq!(addr.to_bytes(), LOOPBACK_8080);
        assert_eq!(addr.to_bytes().len(), SOCKADDR_IN_LEN);
    }

    #[test]
    fn padding_and_trailing_bytes_are_ignored() {
        let mut raw = LOOPBACK_8080.to_vec();
        raw[8..].fill(0xaa);
        raw.resize(128, 0xbb);
        assert_eq!(parse(&raw), parse(&LOOPBACK_8080));
    }

    #[test]
    fn fewer_than_16_bytes_are_einval() {
        for len in [0, 1, 2, 8, 15] {
            let want = Err(AddrError::Length { family: Family::Inet, len });
            assert_eq!(parse(&LOOPBACK_8080[..len]), want, "len {len}");
        }
    }

    #[test]
    fn more_than_sockaddr_storage_is_einval_before_the_copy() {
        assert_eq!(SockAddr::check_len(Family::Inet, 128), Ok(()));
        assert_eq!(SockAddr::check_len(Family::Inet, 0), Ok(()), "parse checks the minimum");
        let too_long = AddrError::Length { family: Family::Inet, len: 129 };
        assert_eq!(SockAddr::check_len(Family::Inet, 129), Err(too_long));
        let mut raw = LOOPBACK_8080.to_vec();
        raw.resize(129, 0);
        assert_eq!(parse(&raw), Err(too_long));
    }

    #[test]
    fn another_family_is_eafnosupport() {
        let mut raw = LOOPBACK_8080;
        raw[0] = AF_INET6 as u8;
        assert_eq!(
            parse(&raw),
            Err(AddrError::WrongFamily { socket: Family::Inet, got: AF_INET6 })
        );
        raw[0] = AF_UNSPEC as u8;
        assert_eq!(parse(&raw), Err(AddrError::WrongFamily { socket: Family::Inet, got: 0 }));
    }

    #[test]
    fn the_length_is_checked_before_the_family() {
        let raw = sockaddr_un(b"/x", 4);
        assert_eq!(parse(&raw), Err(AddrError::Length { family: Family::Inet, len: 4 }));
    }
}

mod v6 {
    use super::*;

    fn parse(raw: &[u8]) -> Result<SockAddr, AddrError> {
        SockAddr::parse(Family::Inet6, raw)
    }

    #[test]
    fn port_and_flow_are_big_endian_and_the_scope_native() {
        assert_eq!(parse(&LINK_LOCAL_443), Ok(link_local_443()));
    }

    #[test]
    fn it_is_written_back_as_28_bytes() {
        assert_eq!(link_local_443().to_bytes(), LINK_LOCAL_443);
        assert_eq!(link_local_443().to_bytes().len(), SOCKADDR_IN6_LEN);
    }

    #[test]
    fn the_rfc_2133_length_of_24_bytes_has_scope_0() {
        let SockAddr::V6 { scope_id, port, .. } = parse(&LINK_LOCAL_443[..24]).unwrap() else {
            panic!("not V6")
        };
        assert_eq!((scope_id, port), (0, 443));
        let SockAddr::V6 { scope_id, .. } = parse(&LINK_LOCAL_443[..27]).unwrap() else {
            panic!("not V6")
        };
        assert_eq!(scope_id, 0, "a partial scope id is not read");
    }

    #[test]
    fn fewer_than_24_bytes_are_einval_even_for_a_whole_sockaddr_in() {
        assert_eq!(
            parse(&LINK_LOCAL_443[..23]),
            Err(AddrError::Length { family: Family::Inet6, len: 23 })
        );
        assert_eq!(
            parse(&LOOPBACK_8080),
            Err(AddrError::Length { family: Family::Inet6, len: 16 })
        );
    }

    #[test]
    fn another_family_is_eafnosupport() {
        let mut raw = LINK_LOCAL_443;
        raw[0] = AF_INET as u8;
        assert_eq!(
            parse(&raw),
            Err(AddrError::WrongFamily { socket: Family::Inet6, got: AF_INET })
        );
    }

    #[test]
    fn more_than_sockaddr_storage_is_einval_before_the_copy() {
        let want = Err(AddrError::Length { family: Family::Inet6, len: 129 });
        assert_eq!(SockAddr::check_len(Family::Inet6, 129), want);
        assert_eq!(SockAddr::check_len(Family::Inet6, 128), Ok(()));
    }
}

mod v4_mapped {
    use super::*;

    const MAPPED: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1];

    #[test]
    fn an_ipv4_address_maps_to_ffff_prefixed_ipv6() {
        assert_eq!(v4_mapped([192, 0, 2, 1]), MAPPED);
        assert_eq!(v4_unmapped(&MAPPED), Some([192, 0, 2, 1]));
    }

    #[test]
    fn other_ipv6_addresses_carry_no_ipv4_address() {
        let loopback = {
            let mut a = [0u8; 16];
            a[15] = 1;
            a
        };
        let v4_compatible = {
            let mut a = MAPPED;
            a[10] = 0;
            a[11] = 0;
            a
        };
        let translated = {
            // ::ffff:0:192.0.2.1 (RFC 2765), one zero word too many for v4-mapped.
            let mut a = [0u8; 16];
            a[8] = 0xff;
            a[9] = 0xff;
            a[12..].copy_from_slice(&[192, 0, 2, 1]);
            a
        };
        for v6 in [loopback, v4_compatible, translated, [0xff; 16]] {
            assert_eq!(v4_unmapped(&v6), None, "{v6:x?}");
        }
    }

    #[test]
    fn an_ipv4_peer_reported_to_an_inet6_socket_is_v4_mapped() {
        let v4 = SockAddr::V4 { addr: [192, 0, 2, 1], port: 80 };
        let v6 = v4.clone().into_v6();
        assert_eq!(v6, SockAddr::V6 { addr: MAPPED, port: 80, flowinfo: 0, scope_id: 0 });
        let mut raw = vec![10, 0, 0, 80, 0, 0, 0, 0];
        raw.extend_from_slice(&MAPPED);
        raw.extend_from_slice(&[0; 4]);
        assert_eq!(v6.to_bytes(), raw);
        assert_eq!(v6.unmap_v4(), v4);
    }

    #[test]
    fn addresses_that_are_not_v4_mapped_stay_as_they_are() {
        assert_eq!(link_local_443().unmap_v4(), link_local_443());
        assert_eq!(link_local_443().into_v6(), link_local_443());
        let unix = SockAddr::Unix(UnixAddr::Abstract(b"x".to_vec()));
        assert_eq!(unix.clone().into_v6().unmap_v4(), unix);
    }
}

mod round_trips {
    use super::*;

    fn any_unix() -> impl Strategy<Value = UnixAddr> {
        prop_oneof![
            Just(UnixAddr::Unnamed),
            "[^\0]{1,100}"
                .prop_filter("fits sun_path", |p| p.len() <= 108)
                .prop_map(UnixAddr::Path),
            proptest::collection::vec(any::<u8>(), 0..=107).prop_map(UnixAddr::Abstract),
        ]
    }

    proptest! {
        #[test]
        fn any_v4_address_survives_encoding(addr: [u8; 4], port: u16) {
            let a = SockAddr::V4 { addr, port };
            prop_assert_eq!(SockAddr::parse(Family::Inet, &a.to_bytes()), Ok(a));
        }

        #[test]
        fn any_v6_address_survives_encoding(
            addr: [u8; 16], port: u16, flowinfo: u32, scope_id: u32,
        ) {
            let a = SockAddr::V6 { addr, port, flowinfo, scope_id };
            prop_assert_eq!(SockAddr::parse(Family::Inet6, &a.to_bytes()), Ok(a));
        }

        #[test]
        fn any_v4_address_survives_mapping(addr: [u8; 4]) {
            prop_assert_eq!(v4_unmapped(&v4_mapped(addr)), Some(addr));
        }

        /// What getsockname writes, passed back to bind with `addrlen` at most 110 as a
        /// caller would, names the same socket.
        #[test]
        fn any_unix_address_survives_encoding(name in any_unix()) {
            let a = SockAddr::Unix(name);
            let raw = a.to_bytes();
            let fit = &raw[..raw.len().min(SOCKADDR_UN_LEN)];
            prop_assert_eq!(SockAddr::parse(Family::Unix, fit), Ok(a));
        }

        /// Whatever the bytes, parsing either refuses them or gives an address whose encoding
        /// parses to itself.
        #[test]
        fn any_accepted_bytes_reencode_to_the_same_address(
            raw in proptest::collection::vec(any::<u8>(), 0..140),
            family in prop_oneof![Just(Family::Unix), Just(Family::Inet), Just(Family::Inet6)],
        ) {
            let mut raw = raw;
            if let Some(field) = raw.get_mut(..2) {
                field.copy_from_slice(&family.raw().to_ne_bytes()); // past the family check
            }
            if let Ok(a) = SockAddr::parse(family, &raw) {
                let again = a.to_bytes();
                let fit = &again[..again.len().min(SOCKADDR_UN_LEN)];
                prop_assert_eq!(SockAddr::parse(family, fit), Ok(a));
            }
        }
    }
}
