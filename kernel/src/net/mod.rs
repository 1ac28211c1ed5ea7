//! Sockets and network interfaces: Unix-domain sockets, inet sockets (TCP and UDP) on
//! smoltcp over lo and eth0, netlink sockets, and the interfaces' configuration.
//!
//! - `socket`: the family-independent seam the socket calls act on;
//! - `addr`: sockaddrs, parsed and formatted;
//! - `unix`: AF_UNIX;
//! - `inet`: the AF_INET open file, and its blocking rules;
//! - `tcp`, `udp`: the protocols' state, on smoltcp's sockets;
//! - `port`: the port tables;
//! - `stack`: the interfaces and the lock over all inet state; `lo`: the loopback device;
//!   `iface`: the smoltcp interfaces, following `config`;
//! - `poll`: the task that keeps smoltcp's timers;
//! - `config`: links up or down, IPv4 addresses, the main route table (pure);
//! - `links`: the interfaces as users see them (flags, counters, addresses, routes);
//! - `netlink`, `rtnetlink`, `netlink_proto`: AF_NETLINK sockets, what rtnetlink does, and
//!   its wire format (pure);
//! - `ioctl`: the SIOCGIF*/SIOCSIF*/SIOCADDRT ioctls; `procfs`: /proc/net;
//! - `ipconfig`: the `ip=` parameter (pure); `dhcp`: `ip=dhcp`'s client.

#[allow(
    dead_code,
    reason = "parts of the AF_INET6 forms wait for IPv6 sockets; the host tests use them"
)]
pub mod addr;
pub mod config;
pub mod devices;
mod dhcp;
mod iface;
pub mod inet;
pub mod ioctl;
pub mod ipconfig;
mod links;
mod lo;
pub mod namespace;
pub mod netlink;
#[allow(dead_code, reason = "the host tests use the whole codec; the kernel only part of it")]
mod netlink_proto;
mod poll;
mod port;
pub mod procfs;
mod rtnetlink;
pub mod socket;
mod stack;
mod tcp;
mod test;
mod udp;
pub mod unix;
mod unix_queue;
mod unix_tests;
mod virtio_phy;

/// The largest listen backlog (Linux's net.core.somaxconn: 4096 unless set, from 0 to
/// INT_MAX).
pub static SOMAXCONN: crate::sysctl::IntTunable =
    crate::sysctl::IntTunable::new(4096, 0, i32::MAX as i64);

use core::sync::atomic::{AtomicBool, Ordering};

use config::{ETH0_INDEX, RT_SCOPE_UNIVERSE, RTPROT_BOOT, Route, V4Addr};
use ipconfig::IpConfig;

/// How long boot waits for a DHCP lease before it goes on without one (the client keeps
/// asking). Linux's ipconfig gives up after a comparable series of retries.
const DHCP_BOOT_WAIT_MS: u64 = 10_000;

/// Set once `ip=` configured eth0 (it makes /proc/net/pnp exist).
static AUTOCONFIG: AtomicBool = AtomicBool::new(false);

/// Brings the stack up (lo with 127.0.0.1/8 and ::1), starts the task that polls it,
/// attaches eth0 (down, as Linux's driver leaves it) when there is a NIC, and configures it
/// as the `ip=` kernel parameter says, if it says.
pub fn init() {
    stack::init();
    poll::init();
    if let Some(nic) = devices::by_name("eth0") {
        match stack::attach_eth0(virtio_phy::VirtioPhy::new(nic.clone())) {
            Ok(()) => poll::watch_nic(nic),
            Err(e) => log::error!("eth0 cannot be attached ({e:?})"),
        }
    }
    if let Some(value) = ostd::boot::boot_info().cmdline.value("ip") {
        configure_eth0(value);
    }
}

/// Returns whether `ip=` configured eth0.
pub fn ip_autoconfig_used() -> bool {
    AUTOCONFIG.load(Ordering::Acquire)
}

/// Returns the DHCP lease eth0 holds.
fn stack_lease() -> Option<config::Lease> {
    stack::peek(|s| dhcp::lease(&s.ifaces))
}

/// Configures eth0 from an `ip=` value; a value that is refused, or no eth0, is reported
/// and leaves the interface unconfigured.
fn configure_eth0(value: &str) {
    let parsed = match ipconfig::parse(value) {
        Ok(IpConfig::Off) => return,
        Ok(parsed) => parsed,
        Err(e) => {
            log::error!("{e}; eth0 stays unconfigured");
            return;
        }
    };
    let device = match &parsed {
        IpConfig::Static(c) => c.device,
        IpConfig::Dhcp { device, .. } => *device,
        IpConfig::Off => None,
    };
    let name = device.unwrap_or("eth0");
    if name != "eth0" || !stack::peek(|s| s.ifaces.eth0.is_some()) {
        log::error!("ip={value}: there is no {name} (only eth0 is configured this way)");
        return;
    }
    AUTOCONFIG.store(true, Ordering::Release);
    match parsed {
        IpConfig::Static(c) => match apply_static(c.client, c.prefix_len, c.gateway) {
            Ok(()) => log::info!("eth0: {value}"),
            Err(e) => log::error!("ip={value}: eth0 cannot be configured ({e:?})"),
        },
        IpConfig::Dhcp { .. } => start_dhcp_and_wait(),
        IpConfig::Off => {}
    }
}

/// Brings eth0 up with `client`/`prefix_len` and a default route through `gateway`.
fn apply_static(
    client: [u8; 4],
    prefix_len: u8,
    gateway: Option<[u8; 4]>,
) -> Result<(), config::ConfigError> {
    stack::configure(|i| {
        let broadcast =
            (u32::from_be_bytes(client) | !config::prefix_mask(prefix_len)).to_be_bytes();
        let addr = V4Addr {
            local: client,
            prefix_len,
            broadcast: (prefix_len < 31).then_some(broadcast),
            dynamic: false,
        };
        i.config.add_addr(ETH0_INDEX, addr)?;
        i.config.set_up(ETH0_INDEX, true)?;
        if let Some(gw) = gateway {
            let default = Route {
                dst: [0; 4],
                prefix_len: 0,
                gateway: Some(gw),
                oif: ETH0_INDEX,
                protocol: RTPROT_BOOT,
                scope: RT_SCOPE_UNIVERSE,
                priority: 0,
                prefsrc: None,
            };
            i.config.add_route(default, false)?;
        }
        Ok(())
    })
}

/// Brings eth0 up with a DHCP client and waits (a bounded time) for its first lease, as
/// Linux's ipconfig does before it mounts a root that may be on the network.
fn start_dhcp_and_wait() {
    stack::configure(|i| {
        let _ = i.config.set_up(ETH0_INDEX, true);
        dhcp::start(i);
    });
    let deadline = ostd::time::monotonic_ns() + DHCP_BOOT_WAIT_MS * 1_000_000;
    while stack_lease().is_none() {
        if ostd::time::monotonic_ns() >= deadline {
            log::warn!("eth0: no DHCP lease after {DHCP_BOOT_WAIT_MS} ms; going on, still asking");
            return;
        }
        ostd::task::sleep_ms(10);
    }
}
