//! The network interfaces the drivers found, named as Linux names them (eth0, eth1, ...), for
//! the network stack to pick up. Registration happens once, at boot; nothing is ever removed
//! (a failed device stays, with its link down).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use crate::device::virtio::net::VirtioNet;

/// A registered interface.
#[allow(dead_code, reason = "read by the network stack, which is being built (network-design §2)")]
#[derive(Clone)]
pub struct NetDevice {
    /// Its name: `eth` and its index.
    pub name: String,
    /// The driver.
    pub device: Arc<VirtioNet>,
}

static DEVICES: SpinLock<Vec<NetDevice>> = SpinLock::new(Vec::new());

/// Registers `device` under the next free name and returns the name.
pub fn register(device: Arc<VirtioNet>) -> String {
    let mut devices = DEVICES.lock();
    let name = alloc::format!("eth{}", devices.len());
    devices.push(NetDevice { name: name.clone(), device });
    name
}

/// Returns the interface called `name`.
pub fn by_name(name: &str) -> Option<Arc<VirtioNet>> {
    DEVICES.lock().iter().find(|d| d.name == name).map(|d| d.device.clone())
}

/// Returns every interface, in registration order.
#[allow(dead_code, reason = "for the network stack, which is being built (network-design §2)")]
pub fn all() -> Vec<NetDevice> {
    DEVICES.lock().clone()
}
