//! rtnetlink (NETLINK_ROUTE): what the kernel does with the requests a netlink socket
//! sends, and the datagrams it answers with.
//!
//! Each request gets Linux's answer: a dump is one datagram of NLM_F_MULTI messages ended
//! by NLMSG_DONE (and no acknowledgement, even with NLM_F_ACK); a GET of one link is an
//! RTM_NEWLINK; a change is acknowledged (NLMSG_ERROR with 0) when NLM_F_ACK asks; any
//! error is an NLMSG_ERROR carrying the errno and the request. Changes need root (EPERM
//! first, before the message is read, as `rtnetlink_rcv_msg` checks).

use alloc::vec::Vec;

use super::config::{ConfigError, RT_SCOPE_UNIVERSE, Route, V4Addr};
use super::links::{self, IFF_UP};
use super::netlink_proto::{
    AF_INET, AF_UNSPEC, AddrRequest, EINVAL, EOPNOTSUPP, Message, NLM_F_ACK, NLM_F_MULTI,
    NLM_F_REQUEST, NLMSG_MIN_TYPE, RT_TABLE_MAIN, RT_TABLE_UNSPEC, Request, RouteRequest, Writer,
    messages,
};
use super::stack;

/// `EPERM`, `ENODEV`, `EEXIST`.
const EPERM: i32 = 1;
const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
/// `RTN_UNICAST`.
const RTN_UNICAST: u8 = 1;

/// What a handled request leaves to send besides an acknowledgement.
enum Answer {
    /// Nothing: acknowledge if asked.
    Done,
    /// The writer holds a reply; acknowledge after it if asked.
    Reply,
    /// The writer holds a dump's messages; end it with NLMSG_DONE and never acknowledge.
    Dump,
}

/// Handles every request in `buf`, sent from port `portid`; `privileged` callers may change
/// the configuration. Returns the datagrams to queue on the socket, in order.
pub fn handle(buf: &[u8], portid: u32, privileged: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for message in messages(buf) {
        let header = message.header;
        let ack = header.flags & NLM_F_ACK != 0;
        if header.flags & NLM_F_REQUEST == 0 || header.kind < NLMSG_MIN_TYPE {
            // Not a request, or a control message: skipped, acknowledged if asked.
            if ack {
                out.push(error_reply(0, &message, portid));
            }
            continue;
        }
        let mut writer = Writer::new(header.seq, portid);
        match execute(&message, &mut writer, privileged) {
            Ok(Answer::Dump) => {
                // Linux 6.1 ends a dump in a datagram of its own.
                if !writer.is_empty() {
                    out.push(writer.finish());
                }
                let mut done = Writer::new(header.seq, portid);
                done.done();
                out.push(done.finish());
            }
            Ok(answer) => {
                if matches!(answer, Answer::Reply) {
                    out.push(writer.finish());
                }
                if ack {
                    out.push(error_reply(0, &message, portid));
                }
            }
            Err(errno) => out.push(error_reply(errno, &message, portid)),
        }
    }
    out
}

fn error_reply(errno: i32, message: &Message<'_>, portid: u32) -> Vec<u8> {
    let mut writer = Writer::new(message.header.seq, portid);
    writer.error(errno, message);
    writer.finish()
}

/// Returns whether an rtnetlink type is a GET (`RTM_GET*` are 2 modulo 4 from RTM_BASE).
fn is_get(kind: u16) -> bool {
    kind >= NLMSG_MIN_TYPE && (kind - NLMSG_MIN_TYPE) % 4 == 2
}

fn execute(message: &Message<'_>, w: &mut Writer, privileged: bool) -> Result<Answer, i32> {
    if !is_get(message.header.kind) && message.header.kind <= 123 && !privileged {
        return Err(EPERM);
    }
    match Request::decode(message).map_err(|e| e.0)? {
        Request::GetLink { dump: true, .. } => {
            for link in links::all() {
                w.link(&link, NLM_F_MULTI);
            }
            Ok(Answer::Dump)
        }
        Request::GetLink { index, name, .. } => {
            let link = find_link(index, name.as_deref())?;
            w.link(&link, 0);
            Ok(Answer::Reply)
        }
        Request::SetLink { index, name, flags, change, mtu, create } => {
            let link = match find_link(index, name.as_deref()) {
                Ok(link) => link,
                // Only existing links can be changed; this kernel creates none.
                Err(ENODEV) if create => return Err(EOPNOTSUPP),
                Err(e) => return Err(e),
            };
            if mtu.is_some_and(|m| m != link.mtu) {
                return Err(EINVAL);
            }
            if flags != 0 || change != 0 {
                let combined =
                    if change == 0 { flags } else { (flags & change) | (link.flags & !change) };
                let up = combined & IFF_UP != 0;
                stack::configure(|i| i.config.set_up(link.index, up))
                    .map_err(ConfigError::errno)?;
            }
            Ok(Answer::Done)
        }
        Request::DelLink => Err(EOPNOTSUPP),
        Request::GetAddr { family, .. } => {
            for addr in links::addresses(family) {
                w.addr(&addr, NLM_F_MULTI);
            }
            Ok(Answer::Dump)
        }
        Request::Addr { add, req } => change_addr(add, &req).map(|()| Answer::Done),
        Request::GetRoute { family } => {
            if family == AF_INET || family == AF_UNSPEC {
                for route in links::routes() {
                    w.route(&route, NLM_F_MULTI);
                }
            }
            Ok(Answer::Dump)
        }
        Request::Route { add, req } => change_route(add, &req).map(|()| Answer::Done),
        Request::Unsupported => Err(EOPNOTSUPP),
    }
}

/// Finds a link by index (when positive) or by name, as `rtnl_getlink` does.
fn find_link(index: i32, name: Option<&str>) -> Result<super::netlink_proto::LinkInfo, i32> {
    let found = match (index, name) {
        (i, _) if i > 0 => links::by_index(i as u32),
        (_, Some(name)) => links::by_name(name),
        _ => return Err(EINVAL),
    };
    found.ok_or(ENODEV)
}

/// Checks the family of an address or route change: IPv4 only (IPv6 configuration is not
/// kept yet; other families have no handler, which Linux answers with EOPNOTSUPP too).
fn check_family(family: u8) -> Result<(), i32> {
    match family {
        AF_INET => Ok(()),
        _ => Err(EOPNOTSUPP),
    }
}

fn ipv4(bytes: &Option<Vec<u8>>) -> Option<[u8; 4]> {
    bytes.as_deref().and_then(|b| b.try_into().ok())
}

fn change_addr(add: bool, req: &AddrRequest) -> Result<(), i32> {
    check_family(req.family)?;
    let local = ipv4(&req.local).or(ipv4(&req.address));
    if add {
        let local = match local {
            Some(l) if req.prefix_len <= 32 => l,
            _ => return Err(EINVAL),
        };
        if links::by_index(req.index).is_none() {
            return Err(ENODEV);
        }
        if local == [0; 4] {
            // Linux accepts 0.0.0.0 and keeps nothing.
            return Ok(());
        }
        let addr =
            V4Addr { local, prefix_len: req.prefix_len, broadcast: req.broadcast, dynamic: false };
        stack::configure(|i| i.config.add_addr(req.index, addr)).map_err(|e| match e {
            ConfigError::Exists => EEXIST,
            e => e.errno(),
        })
    } else {
        if links::by_index(req.index).is_none() {
            return Err(ENODEV);
        }
        let prefix = req.address.is_some().then_some(req.prefix_len);
        let local = local.ok_or(ConfigError::NoAddress.errno())?;
        stack::configure(|i| i.config.del_addr(req.index, local, prefix))
            .map(|_| ())
            .map_err(ConfigError::errno)
    }
}

fn change_route(add: bool, req: &RouteRequest) -> Result<(), i32> {
    check_family(req.family)?;
    if req.table != u32::from(RT_TABLE_MAIN) && req.table != u32::from(RT_TABLE_UNSPEC) {
        // Only the main table is kept.
        return Err(EOPNOTSUPP);
    }
    if req.dst_len > 32 {
        return Err(EINVAL);
    }
    let dst = ipv4(&req.dst).unwrap_or([0; 4]);
    let gateway = ipv4(&req.gateway).filter(|g| *g != [0; 4]);
    if !add {
        return stack::configure(|i| i.config.del_route(dst, req.dst_len, gateway, req.oif))
            .map_err(ConfigError::errno);
    }
    if req.kind != RTN_UNICAST {
        return Err(EOPNOTSUPP);
    }
    let route = Route {
        dst,
        prefix_len: req.dst_len,
        gateway,
        oif: req.oif.unwrap_or(0),
        protocol: req.protocol,
        scope: if gateway.is_some() { RT_SCOPE_UNIVERSE } else { req.scope },
        priority: req.priority.unwrap_or(0),
        prefsrc: ipv4(&req.prefsrc),
    };
    stack::configure(|i| i.config.add_route(route, req.exclusive)).map_err(ConfigError::errno)
}
