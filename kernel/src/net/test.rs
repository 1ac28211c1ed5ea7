//! In-kernel tests of the inet sockets over lo: the stack, TCP's handshake, data and close,
//! and UDP, driven through the same calls the syscalls make.

use alloc::sync::Arc;

use super::addr::{Family, SockAddr};
use super::inet::InetSocket;
use super::socket::{IoFlags, SockType};
use crate::error::Errno;
use crate::fs::file::FileLike;

const NONBLOCKING: IoFlags = IoFlags { nonblocking: true, peek: false, wait_all: false };

fn loopback(port: u16) -> SockAddr {
    SockAddr::V4 { addr: [127, 0, 0, 1], port }
}

fn port_of(socket: &InetSocket) -> u16 {
    match socket.local_addr() {
        SockAddr::V4 { port, .. } => port,
        _ => 0,
    }
}

fn tcp(nonblocking: bool) -> Arc<InetSocket> {
    InetSocket::new(Family::Inet, SockType::Stream, 0, nonblocking).unwrap()
}

ostd::ktest! {
    fn tcp_over_lo_connects_echoes_and_ends_with_eof() {
        let server = tcp(false);
        server.bind(loopback(0)).unwrap();
        server.listen(4).unwrap();
        let port = port_of(&server);
        assert!((32768..=60999).contains(&port), "ephemeral port {port}");
        let client = tcp(false);
        client.connect(loopback(port)).unwrap();
        assert!(server.readiness().readable, "a connection waits for accept");
        let (conn, peer) = server.accept().unwrap();
        assert_eq!(peer, loopback(port_of(&client)));
        assert_eq!(client.write(b"ping").unwrap(), 4);
        let got = conn.receive(16, NONBLOCKING).unwrap();
        assert_eq!(got.data, b"ping");
        assert_eq!(conn.receive(16, NONBLOCKING).err(), Some(Errno::EAGAIN));
        drop(client);
        let got = conn.receive(16, NONBLOCKING).unwrap();
        assert!(got.data.is_empty(), "EOF once the client closed");
        assert!(conn.readiness().read_hangup);
    }

    fn tcp_connect_to_a_port_nobody_listens_on_is_refused() {
        let probe = tcp(false);
        probe.bind(loopback(0)).unwrap();
        let port = port_of(&probe);
        drop(probe);
        let client = tcp(false);
        assert_eq!(client.connect(loopback(port)).unwrap_err(), Errno::ECONNREFUSED);
        let nonblocking = tcp(true);
        assert_eq!(nonblocking.connect(loopback(port)).unwrap_err(), Errno::EINPROGRESS);
        assert!(nonblocking.readiness().error);
        assert_eq!(nonblocking.take_error(), Some(Errno::ECONNREFUSED));
        assert_eq!(nonblocking.take_error(), None);
    }

    fn tcp_bind_of_a_taken_port_is_eaddrinuse() {
        let a = tcp(false);
        a.bind(loopback(0)).unwrap();
        let b = tcp(false);
        assert_eq!(b.bind(loopback(port_of(&a))).unwrap_err(), Errno::EADDRINUSE);
        assert_eq!(
            b.bind(SockAddr::V4 { addr: [10, 9, 8, 7], port: 0 }).unwrap_err(),
            Errno::EADDRNOTAVAIL
        );
    }

    fn udp_over_lo_keeps_datagrams_and_reports_the_sender() {
        let a = InetSocket::new(Family::Inet, SockType::Dgram, 0, true).unwrap();
        let b = InetSocket::new(Family::Inet, SockType::Dgram, 0, true).unwrap();
        a.bind(loopback(0)).unwrap();
        let to = loopback(port_of(&a));
        assert_eq!(b.send(b"one", Some(to.clone()), IoFlags::default()).unwrap(), 3);
        assert_eq!(b.send(b"twelve bytes", Some(to), IoFlags::default()).unwrap(), 12);
        let got = a.receive(64, NONBLOCKING).unwrap();
        assert_eq!((got.data.as_slice(), got.from), (&b"one"[..], Some(loopback(port_of(&b)))));
        let got = a.receive(4, NONBLOCKING).unwrap();
        assert_eq!((got.data.len(), got.full_len, got.truncated), (4, 12, true));
        assert_eq!(a.receive(64, NONBLOCKING).err(), Some(Errno::EAGAIN));
    }
}

ostd::ktest! {
    fn tcp_over_eth0_reaches_slirp_and_hears_back() {
        let Some(nic) = crate::device::virtio::net_tests::test_nic("eth0 stack") else { return };
        super::stack::attach_eth0(super::virtio_phy::VirtioPhy::new(nic)).unwrap();
        super::apply_static([10, 0, 2, 15], 24, Some([10, 0, 2, 2])).unwrap();
        // slirp relays a connection to its host address to the host's loopback; nothing
        // listens on port 1 there, so the answer is a reset (or, at worst, a handshake).
        let client = tcp(true);
        let host = SockAddr::V4 { addr: [10, 0, 2, 2], port: 1 };
        assert_eq!(client.connect(host).unwrap_err(), Errno::EINPROGRESS);
        // No task polls eth0 in a ktest boot: poll until the attempt ends (ARP first).
        let deadline = ostd::time::monotonic_ns() + 5_000_000_000;
        while !client.readiness().writable && ostd::time::monotonic_ns() < deadline {
            super::stack::poll_now();
            ostd::task::sleep_ms(1);
        }
        let error = client.take_error();
        ostd::early_println!("eth0: connect to 10.0.2.2:1 ended with {error:?}");
        assert!(client.readiness().writable, "no answer from slirp through eth0");
        assert!(matches!(error, None | Some(Errno::ECONNREFUSED)), "{error:?}");
        drop(client);
        super::stack::detach_eth0();
    }
}

ostd::ktest! {
    fn a_handshake_nobody_answers_ends_with_etimedout() {
        let Some(nic) = crate::device::virtio::net_tests::test_nic("eth0 timeout") else { return };
        super::stack::attach_eth0(super::virtio_phy::VirtioPhy::new(nic)).unwrap();
        super::apply_static([10, 0, 2, 15], 24, Some([10, 0, 2, 2])).unwrap();
        // slirp answers ARP for its own addresses only: 10.0.2.99 never answers, and smoltcp
        // would wait for it for ever.
        let client = tcp(true);
        client.set_user_timeout(300).unwrap();
        assert_eq!(client.user_timeout(), Ok(300));
        let nobody = SockAddr::V4 { addr: [10, 0, 2, 99], port: 80 };
        assert_eq!(client.connect(nobody).unwrap_err(), Errno::EINPROGRESS);
        // No task polls eth0 in a ktest boot: poll until the attempt ends.
        let limit = ostd::time::monotonic_ns() + 10_000_000_000;
        while !client.readiness().writable && ostd::time::monotonic_ns() < limit {
            super::stack::poll_now();
            ostd::task::sleep_ms(5);
        }
        assert!(client.readiness().writable, "the handshake was never given up");
        assert_eq!(client.take_error(), Some(Errno::ETIMEDOUT));
        drop(client);
        super::stack::detach_eth0();
    }
}

ostd::ktest! {
    fn dhcp_on_eth0_gets_slirps_lease_and_default_route() {
        let Some(nic) = crate::device::virtio::net_tests::test_nic("eth0 DHCP") else { return };
        super::stack::attach_eth0(super::virtio_phy::VirtioPhy::new(nic)).unwrap();
        super::stack::configure(|i| {
            i.config.set_up(super::config::ETH0_INDEX, true).unwrap();
            super::dhcp::start(i);
        });
        // No task polls eth0 in a ktest boot: poll until the lease comes (DISCOVER, OFFER,
        // REQUEST, ACK with slirp).
        let deadline = ostd::time::monotonic_ns() + 10_000_000_000;
        while super::stack_lease().is_none() && ostd::time::monotonic_ns() < deadline {
            super::stack::poll_now();
            ostd::task::sleep_ms(1);
        }
        let lease = super::stack_lease().expect("no DHCP lease from slirp");
        assert_eq!((lease.address, lease.prefix_len), ([10, 0, 2, 15], 24));
        assert_eq!(lease.router, Some([10, 0, 2, 2]));
        assert_eq!(lease.dns, alloc::vec![[10, 0, 2, 3]]);
        let config = super::stack::peek(|s| s.ifaces.config.clone());
        let table = config.main_table();
        assert_eq!(table.len(), 2, "{table:?}");
        assert_eq!((table[0].prefix_len, table[0].gateway), (0, Some([10, 0, 2, 2])));
        assert_eq!((table[1].dst, table[1].prefix_len), ([10, 0, 2, 0], 24));
        assert!(config.is_local([10, 0, 2, 15]));
        let pnp = super::config::pnp_text(Some(&lease));
        assert_eq!(pnp, "#PROTO: DHCP\nnameserver 10.0.2.3\nbootserver 10.0.2.2\n");
        super::stack::detach_eth0();
    }
}

/// An Ethernet frame to our MAC carrying `ethertype` and `payload`.
fn ethernet(ethertype: [u8; 2], payload: &[u8]) -> alloc::vec::Vec<u8> {
    let mut frame = alloc::vec![0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 10, 0, 2, 2];
    frame.extend_from_slice(&ethertype);
    frame.extend_from_slice(payload);
    frame
}

/// A 20-byte TCP header from port 40000 to 6379 with `flags` (SYN 0x02, ACK 0x10).
fn tcp_header(flags: u8) -> [u8; 20] {
    [0x9c, 0x40, 0x18, 0xeb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]
}

/// An IPv4 packet 10.0.2.2 → 10.0.2.15 of `protocol` around `payload`.
fn ipv4(protocol: u8, payload: &[u8]) -> alloc::vec::Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let [hi, lo] = total.to_be_bytes();
    let mut packet = alloc::vec![0x45, 0, hi, lo, 0, 0, 0, 0, 64, protocol, 0, 0];
    packet.extend_from_slice(&[10, 0, 2, 2, 10, 0, 2, 15]);
    packet.extend_from_slice(payload);
    packet
}

ostd::ktest! {
    fn only_a_tcp_syn_without_ack_ends_an_eth0_receive_round() {
        use super::virtio_phy::is_connection_request;
        const IPV4: [u8; 2] = [0x08, 0x00];
        let syn = ethernet(IPV4, &ipv4(6, &tcp_header(0x02)));
        assert!(is_connection_request(&syn));
        assert!(!is_connection_request(&ethernet(IPV4, &ipv4(6, &tcp_header(0x12)))), "SYN-ACK");
        assert!(!is_connection_request(&ethernet(IPV4, &ipv4(6, &tcp_header(0x10)))), "ACK");
        assert!(!is_connection_request(&ethernet(IPV4, &ipv4(17, &tcp_header(0x02)))), "UDP");
        assert!(!is_connection_request(&ethernet([0x08, 0x06], &ipv4(6, &tcp_header(0x02)))), "ARP");
        assert!(!is_connection_request(&syn[..40]), "cut inside the TCP header");
        // IPv6: 40-byte header, payload length 20, next header TCP.
        let mut ipv6 = alloc::vec![0x60, 0, 0, 0, 0, 20, 6, 64];
        ipv6.extend_from_slice(&[0xfe; 32]);
        ipv6.extend_from_slice(&tcp_header(0x02));
        assert!(is_connection_request(&ethernet([0x86, 0xdd], &ipv6)));
    }
}
