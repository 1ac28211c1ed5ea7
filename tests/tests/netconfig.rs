//! The interface configuration (`kernel/src/net/config.rs`), tested on the host: addresses,
//! connected routes, gateways that must be reachable, what taking a link down or removing
//! its last address takes away, Linux's order of the main table, and /proc/net/pnp.
#![forbid(unsafe_code)]

extern crate alloc;

#[path = "../../kernel/src/net/config.rs"]
#[allow(dead_code, reason = "the tests use part of the file")]
mod config;

use config::*;

fn addr(local: [u8; 4], prefix_len: u8) -> V4Addr {
    V4Addr { local, prefix_len, broadcast: None, dynamic: false }
}

fn via(dst: [u8; 4], prefix_len: u8, gateway: [u8; 4]) -> Route {
    Route {
        dst,
        prefix_len,
        gateway: Some(gateway),
        oif: 0,
        protocol: RTPROT_BOOT,
        scope: RT_SCOPE_UNIVERSE,
        priority: 0,
        prefsrc: None,
    }
}

/// eth0 up with 10.0.2.15/24.
fn configured() -> NetConfig {
    let mut c = NetConfig::new();
    c.add_eth0();
    c.add_addr(ETH0_INDEX, addr([10, 0, 2, 15], 24)).unwrap();
    c.set_up(ETH0_INDEX, true).unwrap();
    c
}

#[test]
fn eth0_starts_down_without_addresses_and_lo_up_with_127_0_0_1() {
    let mut c = NetConfig::new();
    assert_eq!(c.indexes(), vec![LO_INDEX]);
    c.add_eth0();
    assert_eq!(c.indexes(), vec![LO_INDEX, ETH0_INDEX]);
    assert!(!c.link(ETH0_INDEX).unwrap().up);
    assert_eq!(c.lo.addrs, vec![addr([127, 0, 0, 1], 8)]);
    assert!(c.main_table().is_empty(), "lo's routes are in the local table");
}

#[test]
fn an_address_on_an_up_link_gives_a_connected_route() {
    let c = configured();
    let table = c.main_table();
    assert_eq!(table.len(), 1);
    assert_eq!((table[0].dst, table[0].prefix_len), ([10, 0, 2, 0], 24));
    assert_eq!((table[0].protocol, table[0].scope), (RTPROT_KERNEL, RT_SCOPE_LINK));
    assert_eq!(table[0].prefsrc, Some([10, 0, 2, 15]));
}

#[test]
fn the_same_address_twice_is_eexist_and_unknown_links_enodev() {
    let mut c = configured();
    assert_eq!(c.add_addr(ETH0_INDEX, addr([10, 0, 2, 15], 24)), Err(ConfigError::Exists));
    assert_eq!(c.add_addr(7, addr([10, 0, 2, 16], 24)), Err(ConfigError::NoDevice));
    assert_eq!(c.del_addr(ETH0_INDEX, [10, 0, 2, 99], None), Err(ConfigError::NoAddress));
}

#[test]
fn a_gateway_must_be_on_a_connected_subnet() {
    let mut c = configured();
    assert_eq!(c.add_route(via([0; 4], 0, [192, 168, 1, 1]), true), Err(ConfigError::Unreachable));
    c.add_route(via([0; 4], 0, [10, 0, 2, 2]), true).unwrap();
    assert_eq!(c.add_route(via([0; 4], 0, [10, 0, 2, 2]), true), Err(ConfigError::Exists));
    assert_eq!(c.route_to([8, 8, 8, 8]), Some((ETH0_INDEX, Some([10, 0, 2, 2]))));
    assert_eq!(c.route_to([10, 0, 2, 3]), Some((ETH0_INDEX, None)));
    assert_eq!(c.route_to([10, 0, 2, 15]), Some((LO_INDEX, None)));
}

#[test]
fn host_bits_in_a_destination_are_einval() {
    let mut c = configured();
    assert_eq!(c.add_route(via([10, 9, 0, 1], 16, [10, 0, 2, 2]), true), Err(ConfigError::Invalid));
}

#[test]
fn the_main_table_lists_by_destination_then_longer_prefix_first() {
    let mut c = configured();
    c.add_route(via([10, 9, 0, 0], 16, [10, 0, 2, 2]), true).unwrap();
    c.add_route(via([10, 0, 0, 0], 8, [10, 0, 2, 2]), true).unwrap();
    c.add_route(via([0; 4], 0, [10, 0, 2, 2]), true).unwrap();
    let order: Vec<([u8; 4], u8)> = c.main_table().iter().map(|r| (r.dst, r.prefix_len)).collect();
    assert_eq!(
        order,
        vec![([0; 4], 0), ([10, 0, 0, 0], 8), ([10, 0, 2, 0], 24), ([10, 9, 0, 0], 16)]
    );
}

#[test]
fn taking_a_link_down_drops_its_routes_but_keeps_its_addresses() {
    let mut c = configured();
    c.add_route(via([0; 4], 0, [10, 0, 2, 2]), true).unwrap();
    c.set_up(ETH0_INDEX, false).unwrap();
    assert!(c.main_table().is_empty());
    assert!(!c.is_local([10, 0, 2, 15]), "a down link's address is not this host's");
    c.set_up(ETH0_INDEX, true).unwrap();
    assert_eq!(c.main_table().len(), 1, "only the connected route comes back");
}

#[test]
fn removing_the_last_address_drops_every_route_through_the_link() {
    let mut c = configured();
    c.add_route(via([0; 4], 0, [10, 0, 2, 2]), true).unwrap();
    c.set_primary(ETH0_INDEX, Some(addr([10, 0, 2, 16], 8))).unwrap();
    let table = c.main_table();
    assert_eq!(table.len(), 1, "{table:?}");
    assert_eq!(table[0].prefix_len, 8);
}

#[test]
fn a_new_netmask_moves_a_subnet_broadcast_with_it() {
    let mut c = configured();
    let with_broadcast = V4Addr { broadcast: Some([10, 255, 255, 255]), ..addr([10, 0, 2, 16], 8) };
    c.set_primary(ETH0_INDEX, Some(with_broadcast)).unwrap();
    c.set_primary_mask(ETH0_INDEX, [255, 255, 255, 0]).unwrap();
    let primary = &c.link(ETH0_INDEX).unwrap().addrs[0];
    assert_eq!((primary.prefix_len, primary.broadcast), (24, Some([10, 0, 2, 255])));
    assert_eq!(c.set_primary_mask(ETH0_INDEX, [255, 0, 255, 0]), Err(ConfigError::Invalid));
}

#[test]
fn masks_and_classes_are_linuxs() {
    assert_eq!(mask_prefix([255, 255, 255, 0]), Some(24));
    assert_eq!(mask_prefix([0, 0, 0, 0]), Some(0));
    assert_eq!(mask_prefix([255, 255, 255, 255]), Some(32));
    assert_eq!(mask_prefix([255, 0, 255, 0]), None);
    assert_eq!(class_prefix([10, 0, 2, 15]), Some(8));
    assert_eq!(class_prefix([172, 16, 0, 1]), Some(16));
    assert_eq!(class_prefix([192, 168, 0, 1]), Some(24));
    assert_eq!(class_prefix([224, 0, 0, 1]), None);
    assert_eq!(class_prefix([0, 0, 0, 0]), Some(0));
}

#[test]
fn pnp_without_a_lease_is_manual_and_with_one_names_the_servers() {
    assert_eq!(pnp_text(None), "#MANUAL\n");
    let lease = Lease {
        address: [10, 0, 2, 15],
        prefix_len: 24,
        router: Some([10, 0, 2, 2]),
        dns: vec![[10, 0, 2, 3]],
        server: [10, 0, 2, 2],
    };
    assert_eq!(pnp_text(Some(&lease)), "#PROTO: DHCP\nnameserver 10.0.2.3\nbootserver 10.0.2.2\n");
}
