//! The virtio-net driver against QEMU's user networking (slirp), which answers ARP for its
//! gateway 10.0.2.2 as a router would. The harness attaches the NIC and says so with
//! `ktest.net=user`; without it the tests skip, with it a missing NIC fails them.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::bus::virtio::VirtioPciDevice;
use ostd::bus::virtio::spec::DEVICE_TYPE_NET;

use super::net::{TxError, VirtioNet};

/// The address slirp gives the guest.
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
/// slirp's gateway (and host) address.
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];
/// The MAC slirp answers with for its own addresses: 52:55 and the IPv4 address.
const GATEWAY_MAC: [u8; 6] = [0x52, 0x55, 10, 0, 2, 2];
/// How long slirp gets to answer (TCG is slow; this is a bound, not an expected time).
const REPLY_WAIT_NS: u64 = 2_000_000_000;

const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;

/// The NIC the tests share (claimed once: claims last for the boot), or `None` (skip) when the
/// harness attached none.
pub(crate) fn test_nic(test: &str) -> Option<Arc<VirtioNet>> {
    static NIC: spin::Once<Option<Arc<VirtioNet>>> = spin::Once::new();
    let expected = ostd::boot::boot_info().cmdline.value("ktest.net") == Some("user");
    // Claimed outside `call_once`: a test that panics inside it would leave the `Once`
    // running, and the next test would spin on it instead of failing.
    let nic = match NIC.get() {
        Some(nic) => nic,
        None => {
            let claimed = VirtioPciDevice::claim(DEVICE_TYPE_NET).map(|found| {
                let device = found.unwrap_or_else(|e| panic!("{e}"));
                VirtioNet::new(device).unwrap_or_else(|e| panic!("{e}"))
            });
            NIC.call_once(|| claimed)
        }
    };
    match nic {
        Some(nic) => Some(nic.clone()),
        None if expected => panic!("ktest.net=user, but no unclaimed virtio-net is attached"),
        None => {
            ostd::early_println!("ktest {test}: skipped: no virtio-net");
            None
        }
    }
}

/// An Ethernet broadcast carrying an ARP request (RFC 826) from `mac`/10.0.2.15 for the MAC
/// of `target`.
fn arp_request(mac: [u8; 6], target: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]); // destination: broadcast
    f.extend_from_slice(&mac); // source
    f.extend_from_slice(&ETHERTYPE_ARP);
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]); // Ethernet, IPv4, hlen 6, plen 4
    f.extend_from_slice(&ARP_REQUEST.to_be_bytes());
    f.extend_from_slice(&mac); // sender hardware address
    f.extend_from_slice(&GUEST_IP); // sender protocol address
    f.extend_from_slice(&[0; 6]); // target hardware address: unknown
    f.extend_from_slice(&target);
    f
}

/// An ARP reply as the wire carries it.
#[derive(Debug, PartialEq, Eq)]
struct ArpReply {
    eth_destination: [u8; 6],
    eth_source: [u8; 6],
    sender_mac: [u8; 6],
    sender_ip: [u8; 4],
    target_mac: [u8; 6],
    target_ip: [u8; 4],
}

/// Reads `frame` as an Ethernet/IPv4 ARP reply; `None` for any other frame (slirp also sends
/// IPv6 router advertisements, say).
fn arp_reply(frame: &[u8]) -> Option<ArpReply> {
    let six = |at: usize| -> [u8; 6] { frame[at..at + 6].try_into().expect("six bytes") };
    let four = |at: usize| -> [u8; 4] { frame[at..at + 4].try_into().expect("four bytes") };
    if frame.len() < 42 || frame[12..14] != ETHERTYPE_ARP {
        return None;
    }
    assert_eq!(frame[14..20], [0, 1, 0x08, 0x00, 6, 4], "an ARP frame for Ethernet and IPv4");
    if u16::from_be_bytes([frame[20], frame[21]]) != ARP_REPLY {
        return None;
    }
    Some(ArpReply {
        eth_destination: six(0),
        eth_source: six(6),
        sender_mac: six(22),
        sender_ip: four(28),
        target_mac: six(32),
        target_ip: four(38),
    })
}

/// Sends `frame`, waiting (bounded) while every transmit buffer is with the device.
fn send(nic: &VirtioNet, frame: &[u8]) {
    let deadline = ostd::time::monotonic_ns() + REPLY_WAIT_NS;
    loop {
        match nic.transmit(frame) {
            Ok(()) => return,
            Err(TxError::Busy) => {
                assert!(ostd::time::monotonic_ns() < deadline, "no transmit buffer came back");
                nic.wait(Some(deadline));
            }
            Err(e) => panic!("transmit: {e:?}"),
        }
    }
}

/// Receives until `want` ARP replies from the gateway have come, for at most `ns`; returns the
/// replies (other frames are skipped).
fn gateway_replies(nic: &VirtioNet, want: usize, ns: u64) -> Vec<ArpReply> {
    let deadline = ostd::time::monotonic_ns() + ns;
    let mut replies = Vec::new();
    while replies.len() < want {
        while let Some(frame) = nic.receive() {
            if let Some(reply) = arp_reply(&frame).filter(|r| r.sender_ip == GATEWAY_IP) {
                replies.push(reply);
            }
        }
        if replies.len() >= want || ostd::time::monotonic_ns() >= deadline {
            break;
        }
        nic.wait(Some(deadline));
    }
    replies
}

ostd::ktest! {
    fn virtio_net_asks_slirp_for_the_gateway_mac_over_arp_and_gets_the_reply() {
        let Some(nic) = test_nic("virtio_net_asks_slirp_for_the_gateway_mac") else { return };
        assert!(nic.link_up(), "slirp's link is up");
        let mac = nic.mac();
        assert!(mac[0] & 1 == 0 && mac != [0; 6], "a unicast MAC: {mac:02x?}");
        let before = nic.counters();

        send(&nic, &arp_request(mac, GATEWAY_IP));
        let replies = gateway_replies(&nic, 1, REPLY_WAIT_NS);
        let reply = replies.first().unwrap_or_else(|| {
            panic!("no ARP reply from 10.0.2.2 within 2 s; counters {:?}", nic.counters())
        });
        assert_eq!(
            *reply,
            ArpReply {
                eth_destination: mac,
                eth_source: GATEWAY_MAC,
                sender_mac: GATEWAY_MAC,
                sender_ip: GATEWAY_IP,
                target_mac: mac,
                target_ip: GUEST_IP,
            }
        );
        let after = nic.counters();
        assert_eq!(after.tx_packets - before.tx_packets, 1);
        assert_eq!(after.tx_bytes - before.tx_bytes, 42);
        assert!(after.rx_packets > before.rx_packets && after.rx_bytes >= before.rx_bytes + 42);
        assert_eq!((after.rx_errors, after.rx_dropped, after.tx_dropped), (0, 0, 0));
        assert_eq!(nic.failure(), None);
    }

    fn virtio_net_refuses_frames_shorter_than_a_header_or_longer_than_1514_bytes() {
        let Some(nic) = test_nic("virtio_net_refuses_frames_of_bad_length") else { return };
        assert!(nic.readiness().can_transmit, "a transmit buffer is free");
        let before = nic.counters();
        assert_eq!(nic.transmit(&[0; 13]), Err(TxError::BadLength { len: 13 }));
        assert_eq!(nic.transmit(&[0; 1515]), Err(TxError::BadLength { len: 1515 }));
        let after = nic.counters();
        assert_eq!(after.tx_errors - before.tx_errors, 2);
        assert_eq!(after.tx_packets, before.tx_packets);
    }

    fn virtio_net_recycles_its_buffers_past_both_queue_sizes() {
        let Some(nic) = test_nic("virtio_net_recycles_its_buffers") else { return };
        // More requests than transmit buffers (128) and more replies than receive buffers
        // (256): both free lists must come back around, and the receive budget be drained
        // over several rounds.
        const ROUNDS: usize = 300;
        let mac = nic.mac();
        let request = arp_request(mac, GATEWAY_IP);
        let before = nic.counters();
        let mut replies = 0;
        for _ in 0..ROUNDS {
            send(&nic, &request);
            // Take replies as they come, so slirp's queue never overflows.
            while let Some(frame) = nic.receive() {
                replies += usize::from(arp_reply(&frame).is_some_and(|r| r.sender_ip == GATEWAY_IP));
            }
        }
        replies += gateway_replies(&nic, ROUNDS - replies.min(ROUNDS), 5 * REPLY_WAIT_NS).len();
        let after = nic.counters();
        assert_eq!(after.tx_packets - before.tx_packets, ROUNDS as u64);
        assert_eq!(replies, ROUNDS, "every request answered once; counters {after:?}");
        assert_eq!((after.rx_errors, after.rx_dropped, after.tx_dropped), (0, 0, 0));
        assert_eq!(nic.failure(), None);
    }
}
