//! rtnetlink's codec (`kernel/src/net/netlink_proto.rs`), tested on the host: how a buffer
//! splits into messages, what each request decodes to, the errno of every malformed one,
//! what the replies look like byte by byte, and that no input makes it panic.
#![forbid(unsafe_code)]

extern crate alloc;

#[path = "../../kernel/src/net/netlink_proto.rs"]
#[allow(dead_code, reason = "the tests use part of the file")]
mod netlink_proto;

use netlink_proto::*;
use proptest::prelude::*;

/// A request: header (with its length filled in) and payload.
fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(payload);
    out
}

fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::from(((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(align(out.len()), 0);
    out
}

fn decode(buf: &[u8]) -> Result<Request, NlError> {
    let all = messages(buf);
    assert_eq!(all.len(), 1, "one message in {buf:?}");
    Request::decode(&all[0])
}

mod framing {
    use super::*;

    #[test]
    fn messages_follow_each_other_at_aligned_offsets() {
        let mut buf = message(RTM_GETLINK, NLM_F_REQUEST, 1, &[0; 5]);
        buf.resize(align(buf.len()), 0);
        buf.extend(message(RTM_GETADDR, NLM_F_REQUEST, 2, &[]));
        let all = messages(&buf);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].header.seq, all[0].payload.len()), (1, 5));
        assert_eq!((all[1].header.kind, all[1].payload.len()), (RTM_GETADDR, 0));
    }

    #[test]
    fn a_header_shorter_than_itself_or_longer_than_the_buffer_ends_the_walk() {
        let mut short = message(RTM_GETLINK, NLM_F_REQUEST, 1, &[]);
        short[0] = 15;
        assert!(messages(&short).is_empty());
        let mut long = message(RTM_GETLINK, NLM_F_REQUEST, 1, &[]);
        long[0] = 200;
        assert!(messages(&long).is_empty());
        assert!(messages(b"0123456789").is_empty());
    }

    #[test]
    fn an_attribute_claiming_more_than_is_left_ends_the_list() {
        let mut buf = attr(IFLA_IFNAME, b"eth0\0");
        buf.extend_from_slice(&[200, 0, 3, 0, 1, 2]);
        let all = attributes(&buf);
        assert_eq!(all, vec![(IFLA_IFNAME, &b"eth0\0"[..])]);
    }
}

mod requests {
    use super::*;

    fn ifinfo(index: i32, flags: u32, change: u32) -> Vec<u8> {
        let mut out = vec![0u8; 4];
        out.extend_from_slice(&index.to_ne_bytes());
        out.extend_from_slice(&flags.to_ne_bytes());
        out.extend_from_slice(&change.to_ne_bytes());
        out
    }

    #[test]
    fn a_link_dump_needs_no_body() {
        let got = decode(&message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &[]));
        assert_eq!(got, Ok(Request::GetLink { dump: true, index: 0, name: None }));
    }

    #[test]
    fn set_link_reads_index_flags_change_name_and_mtu() {
        let mut body = ifinfo(0, 1, 1);
        body.extend(attr(IFLA_IFNAME, b"eth0\0"));
        body.extend(attr(IFLA_MTU, &1500u32.to_ne_bytes()));
        let got = decode(&message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 3, &body));
        assert_eq!(
            got,
            Ok(Request::SetLink {
                index: 0,
                name: Some("eth0".into()),
                flags: 1,
                change: 1,
                mtu: Some(1500),
                create: false
            })
        );
    }

    #[test]
    fn a_link_request_shorter_than_ifinfomsg_is_einval() {
        let got = decode(&message(RTM_SETLINK, NLM_F_REQUEST, 1, &[0; 8]));
        assert_eq!(got, Err(NlError(EINVAL)));
    }

    #[test]
    fn a_name_of_sixteen_bytes_is_einval() {
        let mut body = ifinfo(0, 0, 0);
        body.extend(attr(IFLA_IFNAME, b"0123456789abcdef"));
        assert_eq!(decode(&message(RTM_GETLINK, NLM_F_REQUEST, 1, &body)), Err(NlError(EINVAL)));
    }

    #[test]
    fn new_addr_reads_prefix_index_and_addresses() {
        let mut body = vec![AF_INET, 24, 0, 0];
        body.extend_from_slice(&2u32.to_ne_bytes());
        body.extend(attr(IFA_LOCAL, &[10, 0, 2, 15]));
        body.extend(attr(IFA_ADDRESS, &[10, 0, 2, 15]));
        let Ok(Request::Addr { add: true, req }) =
            decode(&message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE, 1, &body))
        else {
            panic!("not an address request")
        };
        assert_eq!((req.prefix_len, req.index), (24, 2));
        assert_eq!(req.local.as_deref(), Some(&[10, 0, 2, 15][..]));
    }

    #[test]
    fn an_address_attribute_shorter_than_an_address_is_erange() {
        let mut body = vec![AF_INET, 24, 0, 0, 2, 0, 0, 0];
        body.extend(attr(IFA_LOCAL, &[10, 0]));
        assert_eq!(decode(&message(RTM_NEWADDR, NLM_F_REQUEST, 1, &body)), Err(NlError(ERANGE)));
    }

    #[test]
    fn an_address_change_of_no_known_family_is_eopnotsupp_before_its_length_is_checked() {
        let got = decode(&message(RTM_NEWADDR, NLM_F_REQUEST, 1, &[0; 4]));
        assert_eq!(got, Err(NlError(EOPNOTSUPP)));
        let got = decode(&message(RTM_NEWADDR, NLM_F_REQUEST, 1, &[AF_INET, 0, 0]));
        assert_eq!(got, Err(NlError(EINVAL)));
    }

    #[test]
    fn new_route_takes_rta_table_over_rtm_table() {
        let mut body = vec![AF_INET, 0, 0, 0, RT_TABLE_UNSPEC, 3, 0, 1, 0, 0, 0, 0];
        body.extend(attr(RTA_GATEWAY, &[10, 0, 2, 2]));
        body.extend(attr(RTA_TABLE, &254u32.to_ne_bytes()));
        let flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
        let Ok(Request::Route { add: true, req }) = decode(&message(RTM_NEWROUTE, flags, 1, &body))
        else {
            panic!("not a route request")
        };
        assert_eq!((req.table, req.protocol, req.kind, req.exclusive), (254, 3, 1, true));
        assert_eq!(req.gateway.as_deref(), Some(&[10, 0, 2, 2][..]));
    }

    #[test]
    fn an_unknown_type_is_eopnotsupp() {
        assert_eq!(decode(&message(0x7ff0, NLM_F_REQUEST, 1, &[])), Err(NlError(EOPNOTSUPP)));
    }
}

mod replies {
    use super::*;

    fn request(seq: u32) -> Vec<u8> {
        message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, &[0; 16])
    }

    #[test]
    fn an_ack_echoes_only_the_header_and_is_capped() {
        let buf = request(9);
        let msg = messages(&buf)[0];
        let mut w = Writer::new(9, 1234);
        w.error(0, &msg);
        let out = w.finish();
        let header = Header::parse(&out).unwrap();
        assert_eq!(
            header,
            Header { len: 36, kind: NLMSG_ERROR, flags: NLM_F_CAPPED, seq: 9, pid: 1234 }
        );
        assert_eq!(&out[16..20], &0i32.to_ne_bytes());
        assert_eq!(&out[20..36], &buf[..16]);
    }

    #[test]
    fn an_error_echoes_the_whole_request_with_the_negated_errno() {
        let buf = request(9);
        let mut w = Writer::new(9, 1);
        w.error(19, &messages(&buf)[0]);
        let out = w.finish();
        assert_eq!(Header::parse(&out).unwrap().len, 16 + 4 + 32);
        assert_eq!(&out[16..20], &(-19i32).to_ne_bytes());
        assert_eq!(&out[20..], &buf[..]);
    }

    #[test]
    fn done_carries_a_zero_and_multi() {
        let mut w = Writer::new(5, 7);
        w.done();
        let out = w.finish();
        assert_eq!(
            Header::parse(&out).unwrap(),
            Header { len: 20, kind: NLMSG_DONE, flags: NLM_F_MULTI, seq: 5, pid: 7 }
        );
    }

    #[test]
    fn a_route_message_has_the_main_table_and_its_attributes() {
        let route = RouteInfo {
            family: AF_INET,
            dst_len: 24,
            protocol: 2,
            scope: 253,
            kind: 1,
            dst: Some(vec![10, 0, 2, 0]),
            gateway: None,
            prefsrc: Some(vec![10, 0, 2, 15]),
            oif: 2,
            priority: 0,
        };
        let mut w = Writer::new(1, 1);
        w.route(&route, NLM_F_MULTI);
        let out = w.finish();
        assert_eq!(&out[16..24], &[AF_INET, 24, 0, 0, RT_TABLE_MAIN, 2, 253, 1]);
        let attrs = attributes(&out[28..]);
        let kinds: Vec<u16> = attrs.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![RTA_TABLE, RTA_DST, RTA_PREFSRC, RTA_OIF]);
        assert_eq!(attrs[1].1, &[10, 0, 2, 0]);
    }

    #[test]
    fn a_link_message_round_trips_through_the_request_decoder() {
        let link = LinkInfo {
            index: 2,
            name: "eth0".into(),
            arp_type: 1,
            flags: 0x11043,
            mtu: 1500,
            min_mtu: 68,
            max_mtu: 1500,
            qdisc: "fq_codel",
            txqlen: 1000,
            operstate: 6,
            carrier: true,
            address: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            broadcast: [0xff; 6],
            stats: LinkStats::default(),
        };
        let mut w = Writer::new(1, 1);
        w.link(&link, 0);
        let mut out = w.finish();
        // Read back as if it were a request: same layout (ifinfomsg and attributes).
        out[6] = NLM_F_REQUEST as u8;
        assert_eq!(
            decode(&out),
            Ok(Request::SetLink {
                index: 2,
                name: Some("eth0".into()),
                flags: 0x11043,
                change: 0,
                mtu: Some(1500),
                create: false
            })
        );
        let attrs = attributes(&out[32..]);
        assert!(attrs.contains(&(IFLA_ADDRESS, &[0x52, 0x54, 0, 0x12, 0x34, 0x56][..])));
        assert!(attrs.contains(&(IFLA_QDISC, &b"fq_codel\0"[..])));
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
        for msg in messages(&buf) {
            let _ = Request::decode(&msg);
            let mut w = Writer::new(msg.header.seq, 1);
            w.error(22, &msg);
            prop_assert!(w.finish().len() >= 36);
        }
        let _ = attributes(&buf);
    }

    #[test]
    fn a_valid_header_with_arbitrary_body_never_panics(
        kind in 0u16..130,
        flags in any::<u16>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let buf = message(kind, flags, 1, &body);
        let all = messages(&buf);
        prop_assert_eq!(all.len(), 1);
        let _ = Request::decode(&all[0]);
    }
}
