//! Sockets and network interfaces: Unix-domain sockets, and inet sockets (TCP and UDP) on
//! smoltcp over the interfaces the stack keeps (lo today; the NICs the drivers found are
//! registered in `devices` for it).
//!
//! - `socket`: the family-independent seam the socket calls act on;
//! - `addr`: sockaddrs, parsed and formatted;
//! - `unix`: AF_UNIX;
//! - `inet`: the AF_INET open file, and its blocking rules;
//! - `tcp`, `udp`: the protocols' state, on smoltcp's sockets;
//! - `port`: the port tables;
//! - `stack`: the interfaces and the lock over all inet state; `lo`: the loopback device;
//! - `poll`: the task that keeps smoltcp's timers.

#[allow(
    dead_code,
    reason = "parts of the AF_INET6 forms wait for IPv6 sockets; the host tests use them"
)]
pub mod addr;
pub mod devices;
mod iface;
pub mod inet;
pub mod ipconfig;
mod lo;
mod poll;
mod port;
pub mod socket;
mod stack;
mod tcp;
mod test;
mod udp;
pub mod unix;
mod virtio_phy;

use ipconfig::IpConfig;

/// Brings the stack up (lo with 127.0.0.1/8 and ::1), starts the task that polls it, and
/// configures eth0 as the `ip=` kernel parameter says, if it says.
pub fn init() {
    stack::init();
    poll::init();
    if let Some(value) = ostd::boot::boot_info().cmdline.value("ip") {
        configure_eth0(value);
    }
}

/// Configures eth0 from an `ip=` value; a value that is refused, or no eth0, is reported
/// and leaves the interface unconfigured.
fn configure_eth0(value: &str) {
    let config = match ipconfig::parse(value) {
        Ok(IpConfig::Static(config)) => config,
        Ok(IpConfig::Off) => return,
        Ok(IpConfig::Dhcp { .. }) => {
            log::error!("ip={value}: DHCP is not supported yet; eth0 stays unconfigured");
            return;
        }
        Err(e) => {
            log::error!("{e}; eth0 stays unconfigured");
            return;
        }
    };
    let name = config.device.unwrap_or("eth0");
    let Some(nic) = devices::by_name(name).filter(|_| name == "eth0") else {
        log::error!("ip={value}: there is no {name} (only eth0 is configured this way)");
        return;
    };
    match stack::attach_eth0(virtio_phy::VirtioPhy::new(nic.clone()), &config) {
        Ok(()) => {
            poll::watch_nic(nic);
            log::info!("eth0: {value}");
        }
        Err(e) => log::error!("ip={value}: eth0 cannot be configured ({e:?})"),
    }
}
