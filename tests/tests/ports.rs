//! Host tests of the port tables (`kernel/src/net/port.rs`): bind(2)'s conflicts with and
//! without SO_REUSEADDR, listening, release, and the ephemeral range, with `[u8; 4]`
//! addresses standing in for smoltcp's.
#![forbid(unsafe_code)]

extern crate alloc;

#[path = "../../kernel/src/net/port.rs"]
mod port;

use port::{Local, PortAddr, PortError, PortTable, Reuse, Wildcard};

const NONE: Reuse = Reuse::NONE;
const ADDR: Reuse = Reuse { addr: true, port: false };
const PORT: Reuse = Reuse { addr: false, port: true };
use proptest::prelude::*;

/// An address of either family, standing in for smoltcp's.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Addr {
    V4([u8; 4]),
    V6(u8),
}

impl PortAddr for Addr {
    fn is_v4(&self) -> bool {
        matches!(self, Addr::V4(_))
    }
}

const LOCALHOST: Local<Addr> = Local::At(Addr::V4([127, 0, 0, 1]));
const OTHER: Local<Addr> = Local::At(Addr::V4([127, 0, 0, 2]));
const LOCALHOST6: Local<Addr> = Local::At(Addr::V6(1));
/// The wildcard of a dual-stack AF_INET6 socket.
const ANY: Local<Addr> = Local::Any(Wildcard::Dual);
const ANY4: Local<Addr> = Local::Any(Wildcard::V4);
const ANY6_ONLY: Local<Addr> = Local::Any(Wildcard::V6Only);

fn tcp() -> PortTable<Addr> {
    PortTable::new(true, 0)
}

#[test]
fn a_port_bound_twice_on_one_address_is_in_use() {
    let mut t = tcp();
    assert_eq!(t.bind(1, LOCALHOST, 8080, NONE), Ok(8080));
    assert_eq!(t.bind(2, LOCALHOST, 8080, NONE), Err(PortError::InUse));
}

#[test]
fn the_wildcard_overlaps_every_address_both_ways() {
    let mut t = tcp();
    t.bind(1, LOCALHOST, 8080, NONE).unwrap();
    assert_eq!(t.bind(2, ANY, 8080, NONE), Err(PortError::InUse));
    let mut t = tcp();
    t.bind(1, ANY, 8080, NONE).unwrap();
    assert_eq!(t.bind(2, OTHER, 8080, NONE), Err(PortError::InUse));
}

#[test]
fn different_addresses_share_a_port() {
    let mut t = tcp();
    t.bind(1, LOCALHOST, 8080, NONE).unwrap();
    assert_eq!(t.bind(2, OTHER, 8080, NONE), Ok(8080));
}

#[test]
fn reuse_addr_on_both_shares_a_port_until_one_listens() {
    let mut t = tcp();
    t.bind(1, LOCALHOST, 8080, ADDR).unwrap();
    assert_eq!(t.bind(2, LOCALHOST, 8080, ADDR), Ok(8080));
    assert_eq!(t.listen(1, 8080), Ok(()));
    assert_eq!(t.listen(2, 8080), Err(PortError::InUse));
    assert_eq!(t.bind(3, LOCALHOST, 8080, ADDR), Err(PortError::InUse));
}

#[test]
fn reuse_addr_on_one_side_only_is_not_enough() {
    let mut t = tcp();
    t.bind(1, LOCALHOST, 8080, NONE).unwrap();
    assert_eq!(t.bind(2, LOCALHOST, 8080, ADDR), Err(PortError::InUse));
}

#[test]
fn reuse_port_on_both_shares_a_port_even_listening() {
    let mut t = tcp();
    t.bind(1, ANY, 8080, PORT).unwrap();
    assert_eq!(t.bind(2, ANY, 8080, PORT), Ok(8080));
    assert_eq!(t.listen(1, 8080), Ok(()));
    assert_eq!(t.listen(2, 8080), Ok(()));
    assert_eq!(t.bind(3, LOCALHOST, 8080, PORT), Ok(8080), "a third with the option joins");
}

#[test]
fn reuse_port_on_one_side_only_is_not_enough() {
    let mut t = tcp();
    t.bind(1, ANY, 8080, PORT).unwrap();
    assert_eq!(t.bind(2, ANY, 8080, NONE), Err(PortError::InUse));
    assert_eq!(t.bind(3, ANY, 8080, ADDR), Err(PortError::InUse));
}

#[test]
fn a_reuse_port_listener_still_excludes_reuse_addr_company() {
    let mut t = tcp();
    t.bind(1, ANY, 8080, Reuse { addr: true, port: true }).unwrap();
    t.listen(1, 8080).unwrap();
    assert_eq!(t.bind(2, ANY, 8080, ADDR), Err(PortError::InUse));
}

#[test]
fn a_v4_wildcard_and_a_v6_only_wildcard_coexist_listening() {
    // What asyncio's create_server(host=None) binds: 0.0.0.0:P and [::]:P with V6ONLY.
    let mut t = tcp();
    t.bind(1, ANY4, 8080, ADDR).unwrap();
    assert_eq!(t.bind(2, ANY6_ONLY, 8080, ADDR), Ok(8080));
    assert_eq!(t.listen(1, 8080), Ok(()));
    assert_eq!(t.listen(2, 8080), Ok(()));
}

#[test]
fn a_dual_stack_wildcard_covers_both_families() {
    let mut t = tcp();
    t.bind(1, ANY, 8080, NONE).unwrap();
    assert_eq!(t.bind(2, ANY4, 8080, NONE), Err(PortError::InUse));
    assert_eq!(t.bind(3, ANY6_ONLY, 8080, NONE), Err(PortError::InUse));
    assert_eq!(t.bind(4, LOCALHOST6, 8080, NONE), Err(PortError::InUse));
}

#[test]
fn a_wildcard_covers_only_its_family_s_addresses() {
    let mut t = tcp();
    t.bind(1, ANY4, 8080, NONE).unwrap();
    assert_eq!(t.bind(2, LOCALHOST6, 8080, NONE), Ok(8080));
    assert_eq!(t.bind(3, LOCALHOST, 8080, NONE), Err(PortError::InUse));
    let mut t = tcp();
    t.bind(1, ANY6_ONLY, 9090, NONE).unwrap();
    assert_eq!(t.bind(2, LOCALHOST, 9090, NONE), Ok(9090));
    assert_eq!(t.bind(3, LOCALHOST6, 9090, NONE), Err(PortError::InUse));
}

#[test]
fn an_autobound_port_covers_both_families() {
    let mut t = tcp();
    let port = t.bind(1, Local::AUTOBOUND, 0, NONE).unwrap();
    assert_eq!(t.bind(2, ANY4, port, NONE), Err(PortError::InUse));
    assert_eq!(t.bind(3, ANY6_ONLY, port, NONE), Err(PortError::InUse));
}

#[test]
fn udp_listening_does_not_exclude_reuse() {
    let mut t: PortTable<Addr> = PortTable::new(false, 0);
    t.bind(1, LOCALHOST, 53, ADDR).unwrap();
    t.listen(1, 53).unwrap();
    assert_eq!(t.bind(2, LOCALHOST, 53, ADDR), Ok(53));
}

#[test]
fn a_released_port_can_be_bound_again() {
    let mut t = tcp();
    t.bind(1, LOCALHOST, 8080, NONE).unwrap();
    t.release(1, 8080);
    assert_eq!(t.bind(2, LOCALHOST, 8080, NONE), Ok(8080));
}

#[test]
fn a_listener_that_stopped_no_longer_blocks_reuse() {
    let mut t = tcp();
    t.bind(1, LOCALHOST, 8080, ADDR).unwrap();
    t.listen(1, 8080).unwrap();
    t.unlisten(1, 8080);
    assert_eq!(t.bind(2, LOCALHOST, 8080, ADDR), Ok(8080));
}

#[test]
fn ephemeral_ports_come_from_32768_to_60999_and_are_never_shared() {
    let mut t: PortTable<Addr> = PortTable::new(true, u16::MAX);
    let a = t.bind(1, ANY, 0, ADDR).unwrap();
    let b = t.bind(2, ANY, 0, ADDR).unwrap();
    assert!((32768..=60999).contains(&a) && (32768..=60999).contains(&b));
    assert_ne!(a, b);
}

#[test]
fn the_ephemeral_range_runs_out() {
    let mut t = tcp();
    for owner in 0..(60999 - 32768 + 1) {
        t.bind(owner, LOCALHOST, 0, NONE).unwrap();
    }
    assert_eq!(t.bind(u64::MAX, LOCALHOST, 0, NONE), Err(PortError::NoEphemeral));
}

proptest! {
    #[test]
    fn no_two_live_bindings_without_reuse_overlap(
        ops in proptest::collection::vec((0u64..6, 0u8..3, 1u16..4, any::<bool>()), 1..60),
    ) {
        let mut t = tcp();
        let mut live: Vec<(u64, Local<Addr>, u16)> = Vec::new();
        for (owner, which, port, release) in ops {
            let addr = [ANY, LOCALHOST, OTHER][which as usize];
            if release {
                t.release(owner, port);
                live.retain(|&(o, _, p)| !(o == owner && p == port));
            } else if t.bind(owner, addr, port, NONE).is_ok() {
                live.push((owner, addr, port));
            }
        }
        for (i, a) in live.iter().enumerate() {
            for b in &live[i + 1..] {
                let overlap = a.1 == ANY || b.1 == ANY || a.1 == b.1;
                prop_assert!(!(a.2 == b.2 && overlap), "{a:?} and {b:?}");
            }
        }
    }
}
