use super::*;

use crate::socket::tcp::Socket;

impl InterfaceInner {
    pub(crate) fn process_tcp<'frame>(
        &mut self,
        sockets: &mut SocketSet,
        handled_by_raw_socket: bool,
        ip_repr: IpRepr,
        ip_payload: &'frame [u8],
    ) -> Option<Packet<'frame>> {
        let (src_addr, dst_addr) = (ip_repr.src_addr(), ip_repr.dst_addr());

        // Per RFC 1122 §3.2.1.3, the unspecified address must never appear as a source
        // or destination in any IP datagram. Drop such TCP segments early to avoid
        // creating sockets with unspecified peers (which would later panic on egress).
        // This is not done at the iface level because it might be useful with
        // UDP or raw sockets, but it's definitely not useful for TCP.
        if src_addr.is_unspecified() || dst_addr.is_unspecified() {
            return None;
        }

        let tcp_packet = check!(TcpPacket::new_checked(ip_payload));
        let tcp_repr = check!(TcpRepr::parse(
            &tcp_packet,
            &src_addr,
            &dst_addr,
            &self.caps.checksum
        ));

        // cocoon patch: a segment with an ACK can only be taken by a socket of its exact
        // 4-tuple (a listener refuses it), and live sockets do not share one: the socket
        // that took the last such segment of this hash is asked first, and the walk over
        // every socket is left for a miss.
        let cache = (tcp_repr.ack_number.is_some())
            .then(|| tcp_ingress_slot(&ip_repr, &tcp_repr));
        let mut taken = None;
        let mut process = |item: &mut crate::iface::socket_set::Item<'_>| {
            let tcp_socket = Socket::downcast_mut(&mut item.socket)?;
            if !tcp_socket.accepts(self, &ip_repr, &tcp_repr) {
                return None;
            }
            let reply = tcp_socket
                .process(self, &ip_repr, &tcp_repr)
                .map(|(ip, tcp)| Packet::new(ip, IpPayload::Tcp(tcp)));
            Some((item.meta.handle, reply))
        };
        if let Some(slot) = cache {
            let hinted = sockets.tcp_ingress[slot].checked_sub(1);
            if let Some(item) = hinted.and_then(|index| sockets.item_mut_at(index as usize)) {
                // A socket closing after its application closed it (an orphan finishing its
                // FIN exchange, or TIME-WAIT) may share its 4-tuple with a new connection
                // on the same port: for those the walk decides, as upstream.
                let closing = Socket::downcast_mut(&mut item.socket).is_some_and(|t| {
                    matches!(
                        t.state(),
                        crate::socket::tcp::State::FinWait1
                            | crate::socket::tcp::State::FinWait2
                            | crate::socket::tcp::State::Closing
                            | crate::socket::tcp::State::TimeWait
                            | crate::socket::tcp::State::LastAck
                    )
                });
                if !closing {
                    taken = process(item);
                }
            }
        }
        if taken.is_none() {
            taken = sockets.items_mut().find_map(&mut process);
        }
        // The socket that took the segment is touched (its egress hint ends).
        if let Some((handle, reply)) = taken {
            if let Some(slot) = cache {
                sockets.tcp_ingress[slot] = u32::try_from(handle.0 + 1).unwrap_or(0);
            }
            sockets.touch(handle.0);
            return reply;
        }

        if tcp_repr.control == TcpControl::Rst
            || ip_repr.dst_addr().is_unspecified()
            || ip_repr.src_addr().is_unspecified()
            || handled_by_raw_socket
        {
            // Never reply to a TCP RST packet with another TCP RST packet.
            // Never send a TCP RST packet with unspecified addresses.
            // Never send a TCP RST when packet has been handled by raw socket.
            None
        } else {
            // The packet wasn't handled by a socket, send a TCP RST packet.
            let (ip, tcp) = tcp::Socket::rst_reply(&ip_repr, &tcp_repr);
            Some(Packet::new(ip, IpPayload::Tcp(tcp)))
        }
    }
}

/// cocoon patch: the slot of `SocketSet::tcp_ingress` for a segment's addresses and ports.
fn tcp_ingress_slot(ip_repr: &IpRepr, tcp_repr: &TcpRepr) -> usize {
    let mut h = u32::from(tcp_repr.src_port).wrapping_mul(0x9e37_79b1)
        ^ u32::from(tcp_repr.dst_port).wrapping_mul(0x85eb_ca6b);
    let addr = match ::core::net::IpAddr::from(ip_repr.src_addr()) {
        ::core::net::IpAddr::V4(a) => u128::from(a.to_bits()),
        ::core::net::IpAddr::V6(a) => a.to_bits(),
    };
    for word in [addr as u32, (addr >> 32) as u32, (addr >> 64) as u32, (addr >> 96) as u32] {
        h = (h ^ word).wrapping_mul(0x0100_0193);
    }
    (h >> 24) as usize % crate::iface::socket_set::TCP_INGRESS_SLOTS
}
