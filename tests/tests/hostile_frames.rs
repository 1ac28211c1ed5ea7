//! Frames from the host are untrusted input to the kernel's TCP/IP stack: smoltcp, built with
//! the kernel's features, configured as eth0 is on slirp (10.0.2.15/24 via 10.0.2.2), with a
//! listener, a connection under way, a bound UDP socket and a DHCP client, is fed arbitrary
//! frames and mangled valid ones. None may panic it, and afterwards it still answers a valid
//! frame (a SYN to a closed port gets its reset; a SYN to the listener its SYN-ACK, checked
//! once, so the harness is known to reach the stack).
#![forbid(unsafe_code)]

use std::collections::VecDeque;

use proptest::prelude::*;
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, HardwareAddress, IpAddress, IpCidr, IpProtocol, Ipv4Address, Ipv4Packet,
    Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const HOST_MAC: [u8; 6] = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
const GUEST_IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
const HOST_IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
const LISTEN_PORT: u16 = 80;
/// A port nobody listens on.
const CLOSED_PORT: u16 = 9;

/// A NIC whose receive queue the test fills and whose transmissions it counts.
#[derive(Default)]
struct FrameFeeder {
    rx: VecDeque<Vec<u8>>,
    sent: Vec<Vec<u8>>,
    /// Skip checksum checks: a hostile host computes right checksums over wrong contents,
    /// so what lies behind the checksums is tested as if every one were right.
    trust_checksums: bool,
}

struct RxToken(Vec<u8>);
struct TxToken<'a>(&'a mut Vec<Vec<u8>>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0u8; len];
        let r = f(&mut frame);
        self.0.push(frame);
        r
    }
}

impl Device for FrameFeeder {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((RxToken(frame), TxToken(&mut self.sent)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.sent))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = 1514;
        caps.medium = Medium::Ethernet;
        if self.trust_checksums {
            caps.checksum = phy::ChecksumCapabilities::ignored();
        }
        caps
    }
}

/// eth0 as the kernel configures it on slirp, with sockets in every state a frame could
/// meet: listening, connecting, a bound UDP port, and DHCP asking.
struct Guest {
    iface: Interface,
    device: FrameFeeder,
    sockets: SocketSet<'static>,
    now: Instant,
}

impl Guest {
    fn new(trust_checksums: bool) -> Self {
        let mut device = FrameFeeder { trust_checksums, ..FrameFeeder::default() };
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(GUEST_MAC)));
        config.random_seed = 7;
        let now = Instant::from_millis(1);
        let mut iface = Interface::new(config, &mut device, now);
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(GUEST_IP), 24)).unwrap();
        });
        iface.routes_mut().add_default_ipv4_route(HOST_IP).unwrap();
        let mut sockets = SocketSet::new(Vec::new());
        let tcp_socket = || {
            tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 4096]),
                tcp::SocketBuffer::new(vec![0; 4096]),
            )
        };
        let mut listener = tcp_socket();
        listener.listen(LISTEN_PORT).unwrap();
        sockets.add(listener);
        let mut client = tcp_socket();
        client.connect(iface.context(), (HOST_IP, 8080), 49152).unwrap();
        sockets.add(client);
        let mut udp_socket = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 4096]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 4096]),
        );
        udp_socket.bind(53).unwrap();
        sockets.add(udp_socket);
        sockets.add(dhcpv4::Socket::new());
        let mut guest = Self { iface, device, sockets, now };
        // The host's ARP reply, so that answers to it go out at once (not after an ARP
        // request of their own).
        guest.deliver(arp_reply(), 1);
        guest
    }

    /// Delivers one frame and polls, time moving on by `ms`.
    fn deliver(&mut self, frame: Vec<u8>, ms: u64) {
        self.device.rx.push_back(frame);
        self.now += Duration::from_millis(ms);
        self.iface.poll(self.now, &mut self.device, &mut self.sockets);
    }

    /// Returns whether a TCP segment to `port` that `is_answer` accepts went out since
    /// `since` transmissions.
    fn sent_to(&self, since: usize, port: u16, is_answer: fn(&TcpPacket<&[u8]>) -> bool) -> bool {
        self.device.sent[since..].iter().any(|f| {
            let Ok(eth) = EthernetFrame::new_checked(&f[..]) else { return false };
            let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else { return false };
            let Ok(seg) = TcpPacket::new_checked(ip.payload()) else { return false };
            seg.dst_port() == port && is_answer(&seg)
        })
    }

    /// Checks that the stack still answers: a SYN to a closed port gets a reset (whatever
    /// state the hostile frames left the listener in).
    fn still_answers(&mut self, src_port: u16) -> bool {
        let since = self.device.sent.len();
        self.deliver(tcp_frame(src_port, CLOSED_PORT, TcpControl::Syn, &[]), 1);
        self.sent_to(since, src_port, |seg| seg.rst())
    }
}

/// A valid TCP segment from the host to the guest, as an Ethernet frame.
fn tcp_frame(src_port: u16, dst_port: u16, control: TcpControl, payload: &[u8]) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port,
        dst_port,
        control,
        seq_number: TcpSeqNumber(1000),
        ack_number: None,
        window_len: 8192,
        window_scale: None,
        max_seg_size: Some(1460),
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload,
    };
    let ip = Ipv4Repr {
        src_addr: HOST_IP,
        dst_addr: GUEST_IP,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress(HOST_MAC),
        dst_addr: EthernetAddress(GUEST_MAC),
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut frame = vec![0u8; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let mut e = EthernetFrame::new_unchecked(&mut frame);
    eth.emit(&mut e);
    let mut p = Ipv4Packet::new_unchecked(e.payload_mut());
    ip.emit(&mut p, &phy::ChecksumCapabilities::default());
    let mut t = TcpPacket::new_unchecked(p.payload_mut());
    tcp.emit(
        &mut t,
        &IpAddress::Ipv4(HOST_IP),
        &IpAddress::Ipv4(GUEST_IP),
        &phy::ChecksumCapabilities::default(),
    );
    frame
}

/// An Ethernet frame from the host to the guest carrying `payload`.
fn ethernet(ethertype: EthernetProtocol, payload: &[u8]) -> Vec<u8> {
    let eth = EthernetRepr {
        src_addr: EthernetAddress(HOST_MAC),
        dst_addr: EthernetAddress(GUEST_MAC),
        ethertype,
    };
    let mut frame = vec![0u8; eth.buffer_len() + payload.len()];
    let mut e = EthernetFrame::new_unchecked(&mut frame);
    eth.emit(&mut e);
    e.payload_mut().copy_from_slice(payload);
    frame
}

/// A valid IPv4 header from the host to the guest, protocol `proto`, before `payload`.
fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: HOST_IP,
        dst_addr: GUEST_IP,
        next_header: IpProtocol::from(proto),
        payload_len: payload.len(),
        hop_limit: 64,
    };
    let mut packet = vec![0u8; ip.buffer_len() + payload.len()];
    let mut p = Ipv4Packet::new_unchecked(&mut packet);
    ip.emit(&mut p, &phy::ChecksumCapabilities::default());
    p.payload_mut().copy_from_slice(payload);
    packet
}

/// The host's ARP reply to the guest: 10.0.2.2 is at HOST_MAC.
fn arp_reply() -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Reply,
        source_hardware_addr: EthernetAddress(HOST_MAC),
        source_protocol_addr: HOST_IP,
        target_hardware_addr: EthernetAddress(GUEST_MAC),
        target_protocol_addr: GUEST_IP,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress(HOST_MAC),
        dst_addr: EthernetAddress(GUEST_MAC),
        ethertype: EthernetProtocol::Arp,
    };
    let mut frame = vec![0u8; eth.buffer_len() + arp.buffer_len()];
    let mut e = EthernetFrame::new_unchecked(&mut frame);
    eth.emit(&mut e);
    arp.emit(&mut ArpPacket::new_unchecked(e.payload_mut()));
    frame
}

/// A valid frame of one of the kinds the stack parses, as a seed for mangling.
fn seed_frame(kind: u8, port: u16) -> Vec<u8> {
    match kind % 3 {
        0 => tcp_frame(port, LISTEN_PORT, TcpControl::Syn, &[]),
        1 => tcp_frame(port, LISTEN_PORT, TcpControl::Psh, b"GET / HTTP/1.0\r\n\r\n"),
        _ => tcp_frame(port, LISTEN_PORT, TcpControl::Rst, &[]),
    }
}

#[test]
fn valid_syns_are_answered_with_a_syn_ack_or_a_reset() {
    let mut guest = Guest::new(false);
    let since = guest.device.sent.len();
    guest.deliver(tcp_frame(40000, LISTEN_PORT, TcpControl::Syn, &[]), 1);
    assert!(guest.sent_to(since, 40000, |s| s.syn() && s.ack()), "the harness reaches the stack");
    assert!(guest.still_answers(40001));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_frames_do_not_panic_and_leave_the_stack_working(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1600), 1..24),
        trust_checksums in any::<bool>(),
    ) {
        let mut guest = Guest::new(trust_checksums);
        for frame in frames {
            guest.deliver(frame, 3);
        }
        prop_assert!(guest.still_answers(40001));
    }

    #[test]
    fn arbitrary_payloads_behind_valid_headers_do_not_panic(
        bodies in proptest::collection::vec(
            (0u8..3, 0u8..4, proptest::collection::vec(any::<u8>(), 0..1500)),
            1..24,
        ),
        trust_checksums in any::<bool>(),
    ) {
        // Random bytes reach past the Ethernet check (to ARP, IPv4, IPv6), and past a valid
        // IPv4 header (to TCP, UDP, ICMP and an unknown protocol).
        let mut guest = Guest::new(trust_checksums);
        for (ethertype, proto, body) in bodies {
            let frame = match ethertype {
                0 => ethernet(EthernetProtocol::Arp, &body),
                1 => ethernet(EthernetProtocol::Ipv6, &body),
                _ => ethernet(EthernetProtocol::Ipv4, &ipv4([6, 17, 1, 253][proto as usize], &body)),
            };
            guest.deliver(frame, 2);
        }
        prop_assert!(guest.still_answers(40003));
    }

    #[test]
    fn mangled_valid_frames_do_not_panic(
        edits in proptest::collection::vec(
            (any::<u8>(), any::<u16>(), any::<u8>(), 0usize..80, any::<u8>(), any::<bool>()),
            1..32,
        ),
        trust_checksums in any::<bool>(),
    ) {
        let mut guest = Guest::new(trust_checksums);
        for (kind, port, _, at, value, truncate) in edits {
            let mut frame = seed_frame(kind, port.max(1));
            // One byte of the headers replaced (lengths, offsets, flags, checksums), or the
            // frame cut short there.
            let at = at.min(frame.len() - 1);
            if truncate {
                frame.truncate(at);
            } else {
                frame[at] = value;
            }
            guest.deliver(frame, 5);
        }
        prop_assert!(guest.still_answers(40002));
    }
}
