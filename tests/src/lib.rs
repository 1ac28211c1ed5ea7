//! Integration-test support: source policy checks and QEMU boots.
#![forbid(unsafe_code)]

pub mod bad_initrd;
pub mod bench;
pub mod container_attest;
pub mod container_boot;
pub mod container_services;
pub mod cpython;
pub mod debian_workout;
pub mod deploy_manifests;
pub mod ext2_disk;
pub mod host_checks;
pub mod ktests;
pub mod layer;
pub mod measured_boot;
pub mod net_clients;
pub mod net_services;
pub mod power_cut;
pub mod probes;
pub mod qemu;
pub mod reference;
pub mod secret_release;
pub mod sev_guest;
pub mod sim_evidence;
pub mod stress;
pub mod trinity;
pub mod unsafe_policy;
