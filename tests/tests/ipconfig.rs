//! The `ip=` kernel parameter (`kernel/src/net/ipconfig.rs`), tested on the host: Linux's
//! forms, the defaults it fills in, and a named error for every bad field.
#![forbid(unsafe_code)]

#[path = "../../kernel/src/net/ipconfig.rs"]
mod ipconfig;

use ipconfig::{IpConfig, IpConfigError, StaticConfig, parse, parse_ipv4};
use proptest::prelude::*;

fn static_of(value: &str) -> StaticConfig<'_> {
    match parse(value) {
        Ok(IpConfig::Static(s)) => s,
        other => panic!("{value}: {other:?}"),
    }
}

#[test]
fn one_word_forms() {
    assert_eq!(parse("off"), Ok(IpConfig::Off));
    assert_eq!(parse("none"), Ok(IpConfig::Off));
    for word in ["dhcp", "on", "any", "both"] {
        assert_eq!(parse(word), Ok(IpConfig::Dhcp { device: None, hostname: None }), "{word}");
    }
    assert_eq!(parse("rarp"), Err(IpConfigError::UnsupportedAutoconf("rarp")));
}

#[test]
fn the_usual_static_line() {
    let s = static_of("10.0.2.15::10.0.2.2:255.255.255.0::eth0:off");
    assert_eq!(s.client, [10, 0, 2, 15]);
    assert_eq!(s.prefix_len, 24);
    assert_eq!(s.gateway, Some([10, 0, 2, 2]));
    assert_eq!(s.device, Some("eth0"));
    assert_eq!(s.hostname, None);
    assert_eq!(s.dns, [None, None]);
}

#[test]
fn every_field_and_trailing_fields_left_out() {
    let s = static_of(
        "192.168.1.5:192.168.1.1:192.168.1.1:255.255.255.0:box:eth1:none:1.1.1.1:8.8.8.8:9.9.9.9",
    );
    assert_eq!((s.hostname, s.device), (Some("box"), Some("eth1")));
    assert_eq!(s.dns, [Some([1, 1, 1, 1]), Some([8, 8, 8, 8])]);
    // Only the client: static, netmask from the class, no gateway.
    let s = static_of("10.1.2.3");
    assert_eq!((s.prefix_len, s.gateway), (8, None));
    assert_eq!(static_of("172.16.0.9").prefix_len, 16);
    assert_eq!(static_of("192.0.2.7").prefix_len, 24);
}

#[test]
fn no_client_or_an_autoconf_word_means_dhcp() {
    assert_eq!(
        parse("::::myhost:eth0:dhcp"),
        Ok(IpConfig::Dhcp { device: Some("eth0"), hostname: Some("myhost") })
    );
    assert_eq!(parse(":::::eth0:"), Ok(IpConfig::Dhcp { device: Some("eth0"), hostname: None }));
    assert_eq!(parse("10.0.2.15::::::dhcp"), Ok(IpConfig::Dhcp { device: None, hostname: None }));
    assert_eq!(parse(":::::eth0:off"), Ok(IpConfig::Off));
    assert_eq!(parse(":::::eth0:bootp"), Err(IpConfigError::UnsupportedAutoconf("bootp")));
}

#[test]
fn bad_fields_are_named() {
    assert_eq!(
        parse("10.0.2.256::::::off"),
        Err(IpConfigError::NotAnAddress { field: "client", value: "10.0.2.256" })
    );
    assert_eq!(
        parse("10.0.2.15::gw:::::"),
        Err(IpConfigError::NotAnAddress { field: "gateway", value: "gw" })
    );
    assert_eq!(
        parse("10.0.2.15:::255.0.255.0:::off"),
        Err(IpConfigError::BadNetmask([255, 0, 255, 0]))
    );
    assert_eq!(
        parse("10.0.2.15::10.0.3.1:255.255.255.0::eth0:off"),
        Err(IpConfigError::GatewayOffSubnet {
            gateway: [10, 0, 3, 1],
            client: [10, 0, 2, 15],
            prefix_len: 24
        })
    );
    assert_eq!(parse("1:2:3:4:5:6:7:8:9:10:11"), Err(IpConfigError::TooManyFields));
    let message = parse("10.0.2.15::10.0.3.1:255.255.255.0::eth0:off").unwrap_err().to_string();
    assert!(message.contains("10.0.3.1") && message.contains("10.0.2.15/24"), "{message}");
}

#[test]
fn addresses_an_interface_cannot_have_are_refused() {
    for (value, addr) in [
        ("0.0.0.0:::255.0.0.0:::off", [0, 0, 0, 0]),
        ("255.255.255.255::::::off", [255; 4]),
        ("224.0.0.1::::::off", [224, 0, 0, 1]),
        ("127.0.0.1::::::off", [127, 0, 0, 1]),
        ("10.0.2.0:::255.255.255.0:::off", [10, 0, 2, 0]),
        ("10.0.2.255:::255.255.255.0:::off", [10, 0, 2, 255]),
    ] {
        assert_eq!(
            parse(value),
            Err(IpConfigError::NotUnicast { field: "client", value: addr }),
            "{value}"
        );
    }
    // A /31 or /32 has no network or broadcast address to avoid.
    assert_eq!(static_of("10.0.2.0:::255.255.255.254:::off").prefix_len, 31);
    assert_eq!(static_of("10.0.2.255:::255.255.255.255:::off").prefix_len, 32);
    assert_eq!(
        parse("10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:224.0.0.251"),
        Err(IpConfigError::NotUnicast { field: "dns0", value: [224, 0, 0, 251] })
    );
}

#[test]
fn dotted_quads_are_strict() {
    assert_eq!(parse_ipv4("1.2.3.4"), Some([1, 2, 3, 4]));
    for bad in
        ["1.2.3", "1.2.3.4.5", "1..3.4", "+1.2.3.4", "1.2.3.4 ", "0x1.2.3.4", "1.2.3.1000", ""]
    {
        assert_eq!(parse_ipv4(bad), None, "{bad:?}");
    }
}

proptest! {
    /// Whatever the command line holds, parsing answers (never panics), and a static answer
    /// has a unicast client on a subnet that also holds its gateway.
    #[test]
    fn any_value_is_answered(value in "[0-9a-z.:]{0,60}") {
        if let Ok(IpConfig::Static(s)) = parse(&value) {
            prop_assert!(s.prefix_len <= 32);
            prop_assert!(s.client != [0; 4] && s.client[0] != 127 && s.client[0] < 224);
            if let Some(gw) = s.gateway {
                let mask = u32::MAX.checked_shl(32 - u32::from(s.prefix_len)).unwrap_or(0);
                prop_assert_eq!(u32::from_be_bytes(gw) & mask, u32::from_be_bytes(s.client) & mask);
            }
        }
    }
}
