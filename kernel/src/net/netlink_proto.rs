//! rtnetlink's wire format: the `nlmsghdr` framing, route attributes (`rtattr`), the
//! requests a caller sends (decoded into [`Request`]) and the messages the kernel answers
//! with (encoded from [`LinkInfo`], [`AddrInfo`] and [`RouteInfo`]).
//!
//! Everything a caller sends is untrusted. [`messages`] walks a buffer as Linux's
//! `netlink_rcv_skb` does: a header shorter than 16 bytes, or longer than what is left,
//! ends the walk silently. [`Request::decode`] then reads the fixed part and the
//! attributes of one message; what is too short or malformed is an errno ([`NlError`]), and
//! no input makes it panic (the host tests feed it arbitrary bytes).
//!
//! Layouts are x86-64's: native-endian (little) integers, 4-byte alignment
//! (`NLMSG_ALIGN`, `RTA_ALIGN`); addresses in attributes are in network order.
//!
//! This file uses only `core` and `alloc`, so the host tests (`tests/tests/netlink_proto.rs`)
//! include it as it is.

use alloc::string::String;
use alloc::vec::Vec;

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_NOOP`, `NLMSG_ERROR`, `NLMSG_DONE`: the control messages.
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
/// Types below this are control messages, which requests never are.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

/// `nlmsg_flags` bits.
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
/// On an acknowledgement: the original message is not echoed after the header.
pub const NLM_F_CAPPED: u16 = 0x100;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_REPLACE: u16 = 0x100;

/// The rtnetlink message types.
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_SETLINK: u16 = 19;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;
/// The last type Linux 6.1 knows (RTM_MAX, rounded up to a group of four).
const RTM_MAX: u16 = 123;

/// `AF_UNSPEC`, `AF_INET`, `AF_INET6`, as the one-byte family fields hold them.
pub const AF_UNSPEC: u8 = 0;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// Link attributes (`IFLA_*`).
pub const IFLA_ADDRESS: u16 = 1;
pub const IFLA_BROADCAST: u16 = 2;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
pub const IFLA_QDISC: u16 = 6;
pub const IFLA_STATS: u16 = 7;
pub const IFLA_TXQLEN: u16 = 13;
pub const IFLA_OPERSTATE: u16 = 16;
pub const IFLA_LINKMODE: u16 = 17;
pub const IFLA_STATS64: u16 = 23;
pub const IFLA_GROUP: u16 = 27;
pub const IFLA_PROMISCUITY: u16 = 30;
pub const IFLA_NUM_TX_QUEUES: u16 = 31;
pub const IFLA_NUM_RX_QUEUES: u16 = 32;
pub const IFLA_CARRIER: u16 = 33;
pub const IFLA_MIN_MTU: u16 = 50;
pub const IFLA_MAX_MTU: u16 = 51;
pub const IFLA_ALT_IFNAME: u16 = 53;

/// Address attributes (`IFA_*`).
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_LABEL: u16 = 3;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_CACHEINFO: u16 = 6;
pub const IFA_FLAGS: u16 = 8;

/// Route attributes (`RTA_*`).
pub const RTA_DST: u16 = 1;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_TABLE: u16 = 15;

/// `RT_TABLE_UNSPEC`, `RT_TABLE_MAIN`.
pub const RT_TABLE_UNSPEC: u8 = 0;
pub const RT_TABLE_MAIN: u8 = 254;

/// The attribute type bits (`NLA_TYPE_MASK`: without NESTED and NET_BYTEORDER).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The errnos this codec answers with (positive; the reply carries them negated).
pub const EINVAL: i32 = 22;
pub const ERANGE: i32 = 34;
pub const EOPNOTSUPP: i32 = 95;

/// Why a request was refused: the errno Linux answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlError(pub i32);

/// A `struct nlmsghdr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The length of the message, header included.
    pub len: u32,
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// The sending port (0: the kernel).
    pub pid: u32,
}

impl Header {
    /// Reads a header from the first 16 bytes of `raw` (`None` when shorter).
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let raw = raw.get(..NLMSG_HDRLEN)?;
        Some(Self {
            len: u32_at(raw, 0)?,
            kind: u16_at(raw, 4)?,
            flags: u16_at(raw, 6)?,
            seq: u32_at(raw, 8)?,
            pid: u32_at(raw, 12)?,
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.len.to_ne_bytes());
        out.extend_from_slice(&self.kind.to_ne_bytes());
        out.extend_from_slice(&self.flags.to_ne_bytes());
        out.extend_from_slice(&self.seq.to_ne_bytes());
        out.extend_from_slice(&self.pid.to_ne_bytes());
    }
}

/// One message of a buffer a caller sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub header: Header,
    /// The bytes after the header, up to `header.len`.
    pub payload: &'a [u8],
}

/// Splits `buf` into its messages, as Linux's `netlink_rcv_skb` walks it: each starts at
/// the previous one's aligned end; a header that claims less than itself, or more than is
/// left, ends the walk (the rest is ignored, without an error).
pub fn messages(buf: &[u8]) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    let mut rest = buf;
    while let Some(header) = Header::parse(rest) {
        let len = header.len as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            break;
        }
        out.push(Message { header, payload: &rest[NLMSG_HDRLEN..len] });
        rest = rest.get(align(len)..).unwrap_or(&[]);
    }
    out
}

/// Rounds `len` up to netlink's 4-byte alignment.
pub fn align(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Returns the attributes in `buf` as (type, payload) pairs, in order. A trailing piece too
/// short to be an attribute, or an attribute that claims more than is left, ends the list
/// (Linux's non-strict parse warns of "bytes leftover" and goes on).
pub fn attributes(buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = buf;
    while let (Some(len), Some(kind)) = (u16_at(rest, 0), u16_at(rest, 2)) {
        let len = usize::from(len);
        if len < 4 || len > rest.len() {
            break;
        }
        out.push((kind & NLA_TYPE_MASK, &rest[4..len]));
        rest = rest.get(align(len)..).unwrap_or(&[]);
    }
    out
}

/// What a caller asked of rtnetlink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// RTM_GETLINK: every link (`dump`) or the one named by index or name.
    GetLink { dump: bool, index: i32, name: Option<String> },
    /// RTM_NEWLINK on an existing link, or RTM_SETLINK: change its flags (`flags` under
    /// the mask `change`; a zero mask means all of `flags`) and its MTU.
    SetLink {
        index: i32,
        name: Option<String>,
        flags: u32,
        change: u32,
        mtu: Option<u32>,
        create: bool,
    },
    /// RTM_DELLINK.
    DelLink,
    /// RTM_GETADDR dump, of one family or (AF_UNSPEC) all.
    GetAddr { family: u8, index: u32 },
    /// RTM_NEWADDR (`add`) or RTM_DELADDR.
    Addr { add: bool, req: AddrRequest },
    /// RTM_GETROUTE dump.
    GetRoute { family: u8 },
    /// RTM_NEWROUTE (`add`) or RTM_DELROUTE.
    Route { add: bool, req: RouteRequest },
    /// A non-dump GETADDR or GETROUTE (`ip route get`), which is not answered yet.
    Unsupported,
}

/// The fields of an RTM_NEWADDR/RTM_DELADDR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrRequest {
    pub family: u8,
    pub prefix_len: u8,
    pub scope: u8,
    pub index: u32,
    /// IFA_LOCAL: the interface's own address.
    pub local: Option<Vec<u8>>,
    /// IFA_ADDRESS: the peer's on point-to-point links, else the same as `local`.
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<[u8; 4]>,
    pub label: Option<String>,
}

/// The fields of an RTM_NEWROUTE/RTM_DELROUTE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteRequest {
    pub family: u8,
    pub dst_len: u8,
    /// RTA_TABLE if given, else `rtm_table`.
    pub table: u32,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    pub dst: Option<Vec<u8>>,
    pub gateway: Option<Vec<u8>>,
    pub oif: Option<u32>,
    pub prefsrc: Option<Vec<u8>>,
    pub priority: Option<u32>,
    /// NLM_F_EXCL: fail if the route exists.
    pub exclusive: bool,
}

impl Request {
    /// Decodes one request. Messages that are not requests are the caller's business
    /// (see [`messages`]); here `message` has NLM_F_REQUEST and a type of at least
    /// [`NLMSG_MIN_TYPE`].
    ///
    /// # Errors
    /// EOPNOTSUPP for a type rtnetlink does not have (or that this kernel does not
    /// answer); EINVAL when the fixed part is short; ERANGE for an attribute shorter than
    /// its type; EINVAL for a name that is no string.
    pub fn decode(message: &Message<'_>) -> Result<Self, NlError> {
        let Message { header, payload } = *message;
        let dump = header.flags & NLM_F_DUMP == NLM_F_DUMP;
        match header.kind {
            RTM_GETLINK if dump => Ok(Self::GetLink { dump, index: 0, name: None }),
            RTM_GETLINK | RTM_NEWLINK | RTM_SETLINK => {
                let fixed = payload.get(..16).ok_or(NlError(EINVAL))?;
                let index = u32_at(fixed, 4).unwrap_or(0) as i32;
                let flags = u32_at(fixed, 8).unwrap_or(0);
                let change = u32_at(fixed, 12).unwrap_or(0);
                let mut name = None;
                let mut mtu = None;
                for (kind, value) in attributes(&payload[16..]) {
                    match kind {
                        IFLA_IFNAME | IFLA_ALT_IFNAME => name = Some(c_string(value)?),
                        IFLA_MTU => mtu = Some(u32_of(value)?),
                        _ => {}
                    }
                }
                if header.kind == RTM_GETLINK {
                    return Ok(Self::GetLink { dump, index, name });
                }
                let create = header.kind == RTM_NEWLINK && header.flags & NLM_F_CREATE != 0;
                Ok(Self::SetLink { index, name, flags, change, mtu, create })
            }
            RTM_DELLINK => Ok(Self::DelLink),
            RTM_GETADDR if dump => Ok(Self::GetAddr {
                family: payload.first().copied().unwrap_or(AF_UNSPEC),
                index: payload.get(4..8).and_then(|b| u32_at(b, 0)).unwrap_or(0),
            }),
            RTM_GETROUTE if dump => {
                Ok(Self::GetRoute { family: payload.first().copied().unwrap_or(AF_UNSPEC) })
            }
            RTM_GETADDR | RTM_GETROUTE => Ok(Self::Unsupported),
            RTM_NEWADDR | RTM_DELADDR => {
                check_handled_family(payload)?;
                let fixed = payload.get(..8).ok_or(NlError(EINVAL))?;
                let mut req = AddrRequest {
                    family: fixed[0],
                    prefix_len: fixed[1],
                    scope: fixed[3],
                    index: u32_at(fixed, 4).unwrap_or(0),
                    ..AddrRequest::default()
                };
                let width = address_width(req.family);
                for (kind, value) in attributes(&payload[8..]) {
                    match kind {
                        IFA_LOCAL => req.local = Some(address_of(value, width)?),
                        IFA_ADDRESS => req.address = Some(address_of(value, width)?),
                        IFA_BROADCAST => req.broadcast = Some(ipv4_of(value)?),
                        IFA_LABEL => req.label = Some(c_string(value)?),
                        _ => {}
                    }
                }
                Ok(Self::Addr { add: header.kind == RTM_NEWADDR, req })
            }
            RTM_NEWROUTE | RTM_DELROUTE => {
                check_handled_family(payload)?;
                let fixed = payload.get(..12).ok_or(NlError(EINVAL))?;
                let mut req = RouteRequest {
                    family: fixed[0],
                    dst_len: fixed[1],
                    table: u32::from(fixed[4]),
                    protocol: fixed[5],
                    scope: fixed[6],
                    kind: fixed[7],
                    exclusive: header.flags & NLM_F_EXCL != 0,
                    ..RouteRequest::default()
                };
                let width = address_width(req.family);
                for (kind, value) in attributes(&payload[12..]) {
                    match kind {
                        RTA_DST => req.dst = Some(address_of(value, width)?),
                        RTA_GATEWAY => req.gateway = Some(address_of(value, width)?),
                        RTA_PREFSRC => req.prefsrc = Some(address_of(value, width)?),
                        RTA_OIF => req.oif = Some(u32_of(value)?),
                        RTA_PRIORITY => req.priority = Some(u32_of(value)?),
                        RTA_TABLE => req.table = u32_of(value)?,
                        _ => {}
                    }
                }
                Ok(Self::Route { add: header.kind == RTM_NEWROUTE, req })
            }
            kind if kind > RTM_MAX => Err(NlError(EOPNOTSUPP)),
            _ => Err(NlError(EOPNOTSUPP)),
        }
    }
}

/// Refuses an address or route change of a family without a handler (EOPNOTSUPP), which
/// Linux checks before the message's length: its handlers are found by family first.
fn check_handled_family(payload: &[u8]) -> Result<(), NlError> {
    match payload.first() {
        Some(&AF_INET) | Some(&AF_INET6) => Ok(()),
        _ => Err(NlError(EOPNOTSUPP)),
    }
}

/// Returns how many bytes an address of `family` has (4 for anything but AF_INET6, so a
/// request of an unexpected family still decodes, and is refused by family later).
fn address_width(family: u8) -> usize {
    if family == AF_INET6 { 16 } else { 4 }
}

fn address_of(value: &[u8], width: usize) -> Result<Vec<u8>, NlError> {
    value.get(..width).map(Vec::from).ok_or(NlError(ERANGE))
}

fn ipv4_of(value: &[u8]) -> Result<[u8; 4], NlError> {
    value.get(..4).and_then(|v| v.try_into().ok()).ok_or(NlError(ERANGE))
}

fn u32_of(value: &[u8]) -> Result<u32, NlError> {
    u32_at(value, 0).ok_or(NlError(ERANGE))
}

/// Reads a NUL-terminated (or unterminated) name of at most 15 bytes, as IFNAMSIZ allows.
fn c_string(value: &[u8]) -> Result<String, NlError> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    if end >= 16 {
        return Err(NlError(EINVAL));
    }
    core::str::from_utf8(&value[..end]).map(String::from).map_err(|_| NlError(EINVAL))
}

fn u16_at(raw: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(raw.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(raw: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(raw.get(at..at + 4)?.try_into().ok()?))
}

/// The packet and byte counts of a link (`struct rtnl_link_stats64`'s first fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

/// A link, as RTM_NEWLINK describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// `ifi_type`: ARPHRD_LOOPBACK or ARPHRD_ETHER.
    pub arp_type: u16,
    /// `ifi_flags`: IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ...
    pub flags: u32,
    pub mtu: u32,
    pub min_mtu: u32,
    pub max_mtu: u32,
    pub qdisc: &'static str,
    pub txqlen: u32,
    /// IF_OPER_UNKNOWN (0), IF_OPER_DOWN (2), IF_OPER_UP (6).
    pub operstate: u8,
    pub carrier: bool,
    pub address: [u8; 6],
    pub broadcast: [u8; 6],
    pub stats: LinkStats,
}

/// An address of a link, as RTM_NEWADDR describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    pub family: u8,
    pub prefix_len: u8,
    /// `ifa_flags` (IFA_F_PERMANENT for addresses that never expire).
    pub flags: u32,
    pub scope: u8,
    pub index: u32,
    /// 4 or 16 bytes.
    pub address: Vec<u8>,
    pub broadcast: Option<[u8; 4]>,
    /// IPv4 addresses have a label (the link's name); IPv6 ones do not.
    pub label: Option<String>,
    /// Seconds the address stays valid and preferred (`u32::MAX`: forever).
    pub valid_lft: u32,
    pub preferred_lft: u32,
}

/// A route of the main table, as RTM_NEWROUTE describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    pub family: u8,
    pub dst_len: u8,
    pub protocol: u8,
    pub scope: u8,
    /// `rtm_type`: RTN_UNICAST (1).
    pub kind: u8,
    pub dst: Option<Vec<u8>>,
    pub gateway: Option<Vec<u8>>,
    pub prefsrc: Option<Vec<u8>>,
    pub oif: u32,
    pub priority: u32,
}

/// Builds the messages of one reply datagram.
pub struct Writer {
    buf: Vec<u8>,
    seq: u32,
    pid: u32,
}

impl Writer {
    /// Starts a reply to the request numbered `seq` from port `pid`.
    pub fn new(seq: u32, pid: u32) -> Self {
        Self { buf: Vec::new(), seq, pid }
    }

    /// Returns the datagram.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Returns whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn begin(&mut self, kind: u16, flags: u16) -> usize {
        let start = self.buf.len();
        Header { len: 0, kind, flags, seq: self.seq, pid: self.pid }.emit(&mut self.buf);
        start
    }

    fn end(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
        self.pad();
    }

    fn pad(&mut self) {
        let padded = align(self.buf.len());
        self.buf.resize(padded, 0);
    }

    fn attr(&mut self, kind: u16, value: &[u8]) {
        let len = (4 + value.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    fn attr_u32(&mut self, kind: u16, value: u32) {
        self.attr(kind, &value.to_ne_bytes());
    }

    fn attr_str(&mut self, kind: u16, value: &str) {
        let mut bytes = Vec::from(value.as_bytes());
        bytes.push(0);
        self.attr(kind, &bytes);
    }

    /// Adds an RTM_NEWLINK describing `link`.
    pub fn link(&mut self, link: &LinkInfo, flags: u16) {
        let start = self.begin(RTM_NEWLINK, flags);
        self.buf.extend_from_slice(&[AF_UNSPEC, 0]);
        self.buf.extend_from_slice(&link.arp_type.to_ne_bytes());
        self.buf.extend_from_slice(&link.index.to_ne_bytes());
        self.buf.extend_from_slice(&link.flags.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.attr_str(IFLA_IFNAME, &link.name);
        self.attr_u32(IFLA_TXQLEN, link.txqlen);
        self.attr(IFLA_OPERSTATE, &[link.operstate]);
        self.attr(IFLA_LINKMODE, &[0]);
        self.attr_u32(IFLA_MTU, link.mtu);
        self.attr_u32(IFLA_MIN_MTU, link.min_mtu);
        self.attr_u32(IFLA_MAX_MTU, link.max_mtu);
        self.attr_u32(IFLA_GROUP, 0);
        self.attr_u32(IFLA_PROMISCUITY, 0);
        self.attr_u32(IFLA_NUM_TX_QUEUES, 1);
        self.attr_u32(IFLA_NUM_RX_QUEUES, 1);
        self.attr(IFLA_CARRIER, &[u8::from(link.carrier)]);
        self.attr_str(IFLA_QDISC, link.qdisc);
        self.attr(IFLA_ADDRESS, &link.address);
        self.attr(IFLA_BROADCAST, &link.broadcast);
        let s = link.stats;
        let counts = [
            s.rx_packets,
            s.tx_packets,
            s.rx_bytes,
            s.tx_bytes,
            s.rx_errors,
            s.tx_errors,
            s.rx_dropped,
            s.tx_dropped,
        ];
        // rtnl_link_stats64: 25 counters, the first eight kept, the rest zero.
        let mut stats64 = Vec::with_capacity(25 * 8);
        let mut stats32 = Vec::with_capacity(24 * 4);
        for i in 0..25 {
            let v = counts.get(i).copied().unwrap_or(0);
            stats64.extend_from_slice(&v.to_ne_bytes());
            if i < 24 {
                stats32.extend_from_slice(&(v as u32).to_ne_bytes());
            }
        }
        self.attr(IFLA_STATS64, &stats64);
        self.attr(IFLA_STATS, &stats32);
        self.end(start);
    }

    /// Adds an RTM_NEWADDR describing `addr`.
    pub fn addr(&mut self, addr: &AddrInfo, flags: u16) {
        let start = self.begin(RTM_NEWADDR, flags);
        let low_flags = (addr.flags & 0xff) as u8;
        self.buf.extend_from_slice(&[addr.family, addr.prefix_len, low_flags, addr.scope]);
        self.buf.extend_from_slice(&addr.index.to_ne_bytes());
        self.attr(IFA_ADDRESS, &addr.address);
        if addr.family == AF_INET {
            self.attr(IFA_LOCAL, &addr.address);
        }
        if let Some(broadcast) = addr.broadcast {
            self.attr(IFA_BROADCAST, &broadcast);
        }
        if let Some(label) = &addr.label {
            self.attr_str(IFA_LABEL, label);
        }
        self.attr_u32(IFA_FLAGS, addr.flags);
        let mut cache = Vec::with_capacity(16);
        for v in [addr.preferred_lft, addr.valid_lft, 0, 0] {
            cache.extend_from_slice(&v.to_ne_bytes());
        }
        self.attr(IFA_CACHEINFO, &cache);
        self.end(start);
    }

    /// Adds an RTM_NEWROUTE describing `route` (of the main table).
    pub fn route(&mut self, route: &RouteInfo, flags: u16) {
        let start = self.begin(RTM_NEWROUTE, flags);
        self.buf.extend_from_slice(&[
            route.family,
            route.dst_len,
            0,
            0,
            RT_TABLE_MAIN,
            route.protocol,
            route.scope,
            route.kind,
        ]);
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.attr_u32(RTA_TABLE, u32::from(RT_TABLE_MAIN));
        if let Some(dst) = &route.dst {
            self.attr(RTA_DST, dst);
        }
        if route.priority != 0 {
            self.attr_u32(RTA_PRIORITY, route.priority);
        }
        if let Some(src) = &route.prefsrc {
            self.attr(RTA_PREFSRC, src);
        }
        if let Some(gateway) = &route.gateway {
            self.attr(RTA_GATEWAY, gateway);
        }
        self.attr_u32(RTA_OIF, route.oif);
        self.end(start);
    }

    /// Adds the NLMSG_DONE that ends a dump.
    pub fn done(&mut self) {
        let start = self.begin(NLMSG_DONE, NLM_F_MULTI);
        self.buf.extend_from_slice(&0i32.to_ne_bytes());
        self.end(start);
    }

    /// Adds the NLMSG_ERROR that answers `request`: an acknowledgement when `errno` is 0
    /// (the request's header only), else the error and the whole request, as Linux's
    /// `netlink_ack` does.
    pub fn error(&mut self, errno: i32, request: &Message<'_>) {
        let flags = if errno == 0 { NLM_F_CAPPED } else { 0 };
        let start = self.begin(NLMSG_ERROR, flags);
        self.buf.extend_from_slice(&(-errno).to_ne_bytes());
        request.header.emit(&mut self.buf);
        if errno != 0 {
            self.buf.extend_from_slice(request.payload);
        }
        self.end(start);
    }
}
